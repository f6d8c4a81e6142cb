/*
** registry.c — one engine per store directory in this process.
**
** Usage (what it makes true):
**
**     -- connection 1                     -- connection 2, same process
**     CREATE VIRTUAL TABLE kv USING lsm('kv.lsm');
**                                         CREATE VIRTUAL TABLE kv2 USING lsm('kv.lsm');
**     INSERT INTO kv VALUES ('a', 1);
**                                         SELECT value FROM kv2 WHERE key = 'a';  -- 1
**
** A store directory is locked by the process that opens it, so two
** connections (or two tables) of one process that name the same directory
** must share one lsm_db: this file keeps the process-wide list of open
** engines, keyed by the directory's realpath(3), each with a reference
** count (1 at open; +1 per table that connects to it; the last
** registry_close closes it, which joins its background thread).  Each
** table buffers its own transaction in its own lsm_batch, so sharing the
** engine shares only committed state, as two connections to one SQLite
** file do.  The first opener's options win, but for two: the strongest
** sync= asked by any table wins for the shared WAL (lsm_raise_sync), and
** a table asking another compaction= than the store is open with is an
** error naming both.  A later writable table cannot share a store opened
** read-only.  In-memory stores are private:
** they are in the list (so close finds them) and matched only by their
** keys, which name the connection, the database (its file) and a table
** name the store has had (registry_open_memory, registry_memory_key).
**
** fork(): a child process inherits the list but never shares its
** parent's engines (their threads stayed in the parent): an entry matches
** only in the process that opened it, so a child's table opens the store
** itself and gets SQLITE_BUSY while the parent holds it.  The mutex is
** held across fork() (pthread_atfork), so a child never inherits it
** locked by a thread it does not have.
**
** The same mutex guards a second list: every open lsm table of every
** connection, which the SQL functions (functions.c) search by name.
**
** A store locked by another process (LSM_BUSY) is retried for up to the
** connection's busy timeout (vtab.c reads it with PRAGMA busy_timeout),
** sleeping 1, 2, 4, ... up to 100 ms between tries, without the mutex.
**
** A CREATE rolled back removes the store it made (deferred.c), at the
** last registry_close of the engine: the undone table's instances stay in
** SQLite's transaction until it ends.  An open that shares the engine
** before then calls that off (the store is someone's again), and a store
** whose last sequence number is not 0 (anything was ever written) is
** never removed, whatever the caller believes (registry_store_is_blank).
**
** DROP TABLE removes the directory's files, so it runs here under the
** mutex, and only when the dropping table holds the last reference: no
** other connection can open the store half-removed.  It runs once SQLite
** has committed the DROP (deferred.c keeps the reference until then).
** Which files are the store's is the engine's knowledge: DROP closes the
** lsm_db and calls lsm_destroy, which removes only those files and then
** the directory if nothing else is left in it.
**
** Thread safety: every function takes registry_mutex; none calls back into
** SQLite while holding it.
*/
#include "ext.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct registry_entry registry_entry;
struct registry_entry {
  char *zKey;            /* realpath of the directory; NULL for an in-memory store */
  lsm_db *pDb;           /* the engine (owned: lsm_close at the last reference) */
  int nRef;              /* tables using it (starts at 1) */
  int bReadonly;         /* opened read-only (readonly=on, or a read-only database) */
  int eSync;             /* strongest sync= of its tables (LSM_SYNC_*) */
  int eCompaction;       /* compaction= it was opened with */
  pid_t pid;             /* process that opened it: only it shares it */
  char **azMemKey;       /* an in-memory store: the keys it is found by
                            (registry_memory_key): its table's name at CREATE
                            and every name a RENAME gave it since; none for a
                            directory, or once the table is gone */
  int nMemKey;           /* entries of azMemKey */
  int bPinned;           /* its connection holds one more reference (counted in
                            nRef), so that the rows outlive every instance of the
                            table until DROP TABLE or the connection closes */
  int bDestroyAtClose;   /* a directory store made by a CREATE that was rolled back
                            (deferred.c): the last registry_close removes it, unless
                            an open shares it first (registry_destroy_unused) */
  registry_entry *pNext; /* next open store */
};

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t registry_fork_once = PTHREAD_ONCE_INIT;
static registry_entry *registry_stores;    /* open engines */
static vtab_table *registry_tables;        /* open lsm tables, all connections */

/* ---- fork: the mutex is never inherited locked ---- */

static void registry_fork_prepare(void){ pthread_mutex_lock(&registry_mutex); }
static void registry_fork_release(void){ pthread_mutex_unlock(&registry_mutex); }
static void registry_fork_init(void){
  (void)pthread_atfork(registry_fork_prepare, registry_fork_release, registry_fork_release);
}

/* ---- helpers (caller holds registry_mutex) ---- */

static registry_entry *registry_by_db(lsm_db *pDb){
  registry_entry *p;
  for(p = registry_stores; p && p->pDb != pDb; p = p->pNext){}
  return p;
}

static void registry_unlink(registry_entry *pEntry){
  registry_entry **pp;
  for(pp = &registry_stores; *pp != pEntry; pp = &(*pp)->pNext){}
  *pp = pEntry->pNext;
  sqlite3_free(pEntry->zKey);
  assert( pEntry->nMemKey == 0 );   /* keys only while pinned, and pinned is a reference */
  sqlite3_free(pEntry->azMemKey);
  sqlite3_free(pEntry);
}

/* Forget every key of an in-memory store: no table name finds it again. */
static void registry_forget_keys(registry_entry *pEntry){
  while( pEntry->nMemKey > 0 ) sqlite3_free(pEntry->azMemKey[--pEntry->nMemKey]);
}

/* The index of zKey among pEntry's keys, or -1. */
static int registry_key_index(const registry_entry *pEntry, const char *zKey){
  int i;
  for(i = 0; i < pEntry->nMemKey; i++){
    if( strcmp(pEntry->azMemKey[i], zKey) == 0 ) return i;
  }
  return -1;
}

/* Add zKey (taking ownership) to pEntry's keys; SQLITE_NOMEM frees it. */
static int registry_add_key(registry_entry *pEntry, char *zKey){
  char **aNew = sqlite3_realloc64(pEntry->azMemKey,
                                  sizeof(char*) * (sqlite3_uint64)(pEntry->nMemKey + 1));
  if( aNew == 0 ){
    sqlite3_free(zKey);
    return SQLITE_NOMEM;
  }
  pEntry->azMemKey = aNew;
  aNew[pEntry->nMemKey++] = zKey;
  return SQLITE_OK;
}

/* Drop the connection's reference of an in-memory store, if it holds it;
** the last reference closes it.  REQUIRES: no key finds it any more. */
static void registry_unpin(registry_entry *pEntry){
  assert( pEntry->nMemKey == 0 );
  if( !pEntry->bPinned ) return;
  pEntry->bPinned = 0;
  if( --pEntry->nRef == 0 ){
    lsm_db *pDb = pEntry->pDb;
    registry_unlink(pEntry);
    lsm_close(pDb);
  }
}

/* Remove zKey, which it holds, from pEntry's keys; a store that no key
** finds any more is let go (registry_unpin). */
static void registry_take_key(registry_entry *pEntry, const char *zKey){
  int iKey = registry_key_index(pEntry, zKey);
  assert( iKey >= 0 );
  sqlite3_free(pEntry->azMemKey[iKey]);
  pEntry->azMemKey[iKey] = pEntry->azMemKey[--pEntry->nMemKey];
  if( pEntry->nMemKey == 0 ) registry_unpin(pEntry);
}

/*
** The key of the in-memory store of table zTable of schema zDb on
** connection db: "<connection>/<database>/<table>", where <database> is
** "f:" and the database's file name, so that the store follows the file
** (DETACH and an ATTACH of another file under the same schema name must
** not find it), or, for a temporary or in-memory database (file name ""),
** "m:<schema>@<its sqlite3_file>": such a database is never seen again
** once detached, and the file object is its own for as long as it is
** attached.  The table name is folded to lower case, as SQLite compares
** names (ASCII only, as sqlite3_stricmp); the rest compares exactly.
*/
static char *registry_memory_key(sqlite3 *db, const char *zDb, const char *zTable){
  const char *zFile = sqlite3_db_filename(db, zDb);
  char *zPrefix, *zKey = 0, *z;
  if( zFile && zFile[0] ){
    zPrefix = sqlite3_mprintf("%p/f:%s/", (void*)db, zFile);
  }else{
    sqlite3_file *pFile = 0;
    (void)sqlite3_file_control(db, zDb, SQLITE_FCNTL_FILE_POINTER, &pFile);
    zPrefix = sqlite3_mprintf("%p/m:%s@%p/", (void*)db, zDb, (void*)pFile);
  }
  if( zPrefix ) zKey = sqlite3_mprintf("%s%s", zPrefix, zTable);
  if( zKey ){
    for(z = zKey + strlen(zPrefix); *z; z++){
      if( *z >= 'A' && *z <= 'Z' ) *z = (char)(*z - 'A' + 'a');
    }
  }
  sqlite3_free(zPrefix);
  return zKey;
}

/* The engine's message for rc from the call that just failed. */
static char *registry_errmsg(lsm_db *pDb, int rc){
  const char *z = lsm_errmsg(pDb);
  return sqlite3_mprintf("%s", (z && z[0]) ? z : lsm_errstr(rc));
}

/* lsm_destroy(zDir): LSM_OK, or its error with *pzErr saying which store
** could not be removed and why. */
static int registry_remove_files(const char *zDir, char **pzErr){
  int rc = lsm_destroy(zDir, NULL);
  if( rc != LSM_OK ){
    const char *z = lsm_errmsg(0);
    *pzErr = sqlite3_mprintf("cannot remove store %s: %s", zDir, (z && z[0]) ? z : lsm_errstr(rc));
  }
  return rc;
}

/* The canonical key of zDir into zOut (PATH_MAX bytes); 0 if it has none
** (the directory does not exist yet). */
static int registry_key(const char *zDir, char *zOut){
  return realpath(zDir, zOut) != NULL;
}

/* The open entry of directory zDir in this process, or NULL.  REQUIRES:
** registry_mutex held. */
static registry_entry *registry_by_dir(const char *zDir){
  char zKey[PATH_MAX];
  registry_entry *pEntry = 0;
  if( registry_key(zDir, zKey) ){
    pid_t pid = getpid();
    for(pEntry = registry_stores; pEntry; pEntry = pEntry->pNext){
      if( pEntry->zKey && pEntry->pid == pid && strcmp(pEntry->zKey, zKey) == 0 ) break;
    }
  }
  return pEntry;
}

/* ---- stores ---- */

/* One attempt of registry_open. */
static int registry_open_once(const char *zDir, const lsm_options *pOpt, lsm_db **ppDb,
                              char **pzErr){
  char zKey[PATH_MAX];
  registry_entry *pEntry = 0;
  lsm_db *pDb = 0;
  int rc = SQLITE_OK;

  *ppDb = 0;
  (void)pthread_once(&registry_fork_once, registry_fork_init);
  pthread_mutex_lock(&registry_mutex);
  if( zDir ) pEntry = registry_by_dir(zDir);
  if( pEntry ){
    static const char *azCompaction[] = { "leveled", "tiered" };
    if( pEntry->bReadonly && !pOpt->readonly ){
      *pzErr = sqlite3_mprintf("store %s is open read-only in this process"
                               " (readonly=on, or a read-only database)", zDir);
      rc = SQLITE_READONLY;
    }else if( pOpt->compaction != pEntry->eCompaction ){
      *pzErr = sqlite3_mprintf("store %s is open with compaction=%s in this process;"
                               " this table asks compaction=%s", zDir,
                               azCompaction[pEntry->eCompaction != 0],
                               azCompaction[pOpt->compaction != 0]);
      rc = SQLITE_ERROR;
    }else if( pOpt->sync > pEntry->eSync && !pEntry->bReadonly
           && (rc = lsm_raise_sync(pEntry->pDb, pOpt->sync)) != LSM_OK ){
      *pzErr = registry_errmsg(pEntry->pDb, rc);
    }else{
      if( pOpt->sync > pEntry->eSync ) pEntry->eSync = pOpt->sync;
      pEntry->nRef++;
      pEntry->bDestroyAtClose = 0;    /* in use again: never removed under a user */
      *ppDb = pEntry->pDb;
    }
    pthread_mutex_unlock(&registry_mutex);
    return rc;
  }

  pEntry = sqlite3_malloc(sizeof(*pEntry));
  if( pEntry == 0 ){
    rc = SQLITE_NOMEM;
  }else{
    memset(pEntry, 0, sizeof(*pEntry));
    rc = lsm_open(zDir, pOpt, &pDb);
    if( rc != LSM_OK ){
      *pzErr = registry_errmsg(0, rc);
    }else if( zDir ){
      pEntry->zKey = sqlite3_mprintf("%s", registry_key(zDir, zKey) ? zKey : zDir);
      if( pEntry->zKey == 0 ) rc = SQLITE_NOMEM;
    }
  }
  if( rc == SQLITE_OK ){
    pEntry->pDb = pDb;
    pEntry->nRef = 1;
    pEntry->bReadonly = pOpt->readonly;
    pEntry->eSync = pOpt->sync;
    pEntry->eCompaction = pOpt->compaction;
    pEntry->pid = getpid();
    pEntry->pNext = registry_stores;
    registry_stores = pEntry;
    *ppDb = pDb;
  }else{
    if( pDb ) lsm_close(pDb);
    sqlite3_free(pEntry);
  }
  pthread_mutex_unlock(&registry_mutex);
  return rc;
}

static uint64_t registry_now_ms(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int registry_open(const char *zDir, const lsm_options *pOpt, int nBusyMs, lsm_db **ppDb,
                  char **pzErr){
  uint64_t tStart = registry_now_ms();
  int nSleepMs = 1;
  for(;;){
    int rc = registry_open_once(zDir, pOpt, ppDb, pzErr);
    uint64_t nWaited = registry_now_ms() - tStart;
    struct timespec ts;
    if( rc != SQLITE_BUSY || nWaited >= (uint64_t)(nBusyMs > 0 ? nBusyMs : 0) ) return rc;
    /* Locked by another process: wait as SQLite's own busy handler does,
    ** in growing steps up to 100 ms, never past the timeout. */
    sqlite3_free(*pzErr);
    *pzErr = 0;
    if( (uint64_t)nSleepMs > (uint64_t)nBusyMs - nWaited ) nSleepMs = (int)((uint64_t)nBusyMs - nWaited);
    ts.tv_sec = nSleepMs / 1000;
    ts.tv_nsec = (long)(nSleepMs % 1000) * 1000000L;
    nanosleep(&ts, NULL);
    nSleepMs = nSleepMs * 2 > 100 ? 100 : nSleepMs * 2;
  }
}

/*
** An in-memory store (':memory:') holds its rows in the engine only, and
** SQLite disconnects a table and connects it again whenever the schema
** changes (any ALTER TABLE): the engine must outlive the table's
** instances.  So each is keyed by its connection and table, and the
** connection holds a reference of its own (bPinned) until DROP TABLE
** (registry_unpin_memory) or the connection closes
** (registry_unpin_connection).  A new connection, or CREATE, starts a new
** empty store.
**
** Its keys.  SQLite calls xRename inside the ALTER's transaction and
** tells the table nothing if that is rolled back (to a savepoint too):
** the schema may end with either name.  So a RENAME adds the new name's
** key and the store keeps the old one; whichever name the table has when
** SQLite connects it again finds the rows.  A name stops finding the store
** when a table is made under it (CREATE: a new table starts empty), when
** another in-memory table is renamed to it (the schema then has no other
** table of that name), at DROP TABLE (every key goes) and at the
** connection's close.  Invariants: (1) a key names one store at most;
** (2) a store with keys is pinned, and one whose last key goes is unpinned.
*/
int registry_open_memory(sqlite3 *db, const char *zDb, const char *zTable, int bCreate,
                         const lsm_options *pOpt, lsm_db **ppDb, char **pzErr){
  char *zKey = registry_memory_key(db, zDb, zTable);
  registry_entry *pEntry = 0;
  lsm_options opt = *pOpt;
  lsm_db *pDb = 0;
  int rc;
  *ppDb = 0;
  if( zKey == 0 ) return SQLITE_NOMEM;
  (void)pthread_once(&registry_fork_once, registry_fork_init);
  pthread_mutex_lock(&registry_mutex);
  for(pEntry = registry_stores; pEntry; pEntry = pEntry->pNext){
    if( registry_key_index(pEntry, zKey) >= 0 ) break;
  }
  if( pEntry && bCreate ){
    /* A store of another table that had this name: the name of a table
    ** renamed since, or one whose RENAME to this name was rolled back.
    ** CREATE starts empty. */
    registry_take_key(pEntry, zKey);
    pEntry = 0;
  }
  if( pEntry ){
    pEntry->nRef++;
    *ppDb = pEntry->pDb;
    pthread_mutex_unlock(&registry_mutex);
    sqlite3_free(zKey);
    return SQLITE_OK;
  }
  pEntry = sqlite3_malloc(sizeof(*pEntry));
  if( pEntry ) memset(pEntry, 0, sizeof(*pEntry));
  opt.create_if_missing = 1;       /* never a store on disk to find */
  /* Nor one to protect: a table of a read-only database reads it empty
  ** and refuses writes itself (vtab_table.bReadonly); a read-only engine
  ** would look for a store that no in-memory file system holds. */
  opt.readonly = 0;
  rc = pEntry ? registry_add_key(pEntry, zKey) : SQLITE_NOMEM;
  zKey = 0;                        /* owned by pEntry, or freed */
  if( rc == SQLITE_OK ) rc = lsm_open(NULL, &opt, &pDb);
  if( rc == SQLITE_OK ){
    pEntry->pDb = pDb;
    pEntry->nRef = 2;                /* the table's, and the connection's pin */
    pEntry->bPinned = 1;
    pEntry->bReadonly = opt.readonly;
    pEntry->eSync = opt.sync;
    pEntry->eCompaction = opt.compaction;
    pEntry->pid = getpid();
    pEntry->pNext = registry_stores;
    registry_stores = pEntry;
    *ppDb = pDb;
  }else{
    if( rc != SQLITE_NOMEM ) *pzErr = registry_errmsg(0, rc);
    if( pDb ) lsm_close(pDb);
    if( pEntry ){
      registry_forget_keys(pEntry);
      sqlite3_free(pEntry->azMemKey);
    }
    sqlite3_free(pEntry);
  }
  pthread_mutex_unlock(&registry_mutex);
  sqlite3_free(zKey);
  return rc;
}

void registry_unpin_memory(lsm_db *pDb){
  registry_entry *pEntry;
  pthread_mutex_lock(&registry_mutex);
  pEntry = registry_by_db(pDb);
  if( pEntry ){
    registry_forget_keys(pEntry);
    registry_unpin(pEntry);
  }
  pthread_mutex_unlock(&registry_mutex);
}

int registry_rename_memory(lsm_db *pDb, sqlite3 *db, const char *zDb, const char *zNew){
  registry_entry *pEntry;
  char *zKey = registry_memory_key(db, zDb, zNew);
  int rc = zKey ? SQLITE_OK : SQLITE_NOMEM;
  pthread_mutex_lock(&registry_mutex);
  pEntry = registry_by_db(pDb);
  if( pEntry && pEntry->nMemKey > 0 && zKey && registry_key_index(pEntry, zKey) < 0 ){
    /* Another store that had the new name had it from a RENAME since
    ** undone or renamed again (the schema has no table of that name now):
    ** a key names one store at most. */
    registry_entry *pOther, *pNext;
    for(pOther = registry_stores; pOther; pOther = pNext){
      pNext = pOther->pNext;     /* registry_take_key may unlink pOther */
      if( pOther != pEntry && registry_key_index(pOther, zKey) >= 0 ){
        registry_take_key(pOther, zKey);
      }
    }
    rc = registry_add_key(pEntry, zKey);
    zKey = 0;
  }
  pthread_mutex_unlock(&registry_mutex);
  sqlite3_free(zKey);
  return rc;
}

void registry_unpin_connection(sqlite3 *db){
  char *zPrefix = sqlite3_mprintf("%p/", (void*)db);
  registry_entry *pEntry, *pNext;
  if( zPrefix == 0 ) return;
  pthread_mutex_lock(&registry_mutex);
  for(pEntry = registry_stores; pEntry; pEntry = pNext){
    pNext = pEntry->pNext;
    /* All the keys of a store name the same connection. */
    if( pEntry->nMemKey > 0 && strncmp(pEntry->azMemKey[0], zPrefix, strlen(zPrefix)) == 0 ){
      registry_forget_keys(pEntry);
      registry_unpin(pEntry);
    }
  }
  pthread_mutex_unlock(&registry_mutex);
  sqlite3_free(zPrefix);
}

int registry_refs(lsm_db *pDb){
  registry_entry *pEntry;
  int nRef;
  pthread_mutex_lock(&registry_mutex);
  pEntry = registry_by_db(pDb);
  nRef = pEntry ? pEntry->nRef - pEntry->bPinned : 0;
  pthread_mutex_unlock(&registry_mutex);
  return nRef;
}

/* p is an earlier instance of pTab's table (registry_earlier).  A
** shared batch tells instances of one table from other tables naming the
** same store, which have batches of their own, whatever their names (a
** RENAME in the transaction renames only the current instance). */
static int registry_is_earlier(const vtab_table *p, const vtab_table *pTab, const lsm_db *pLsm){
  return p != pTab && p->db == pTab->db && p->pTxn == pTab->pTxn
      && ((p->pLsm && p->pLsm == pLsm) || (p->pLsm == 0 && p->bEngineTaken));
}

/* The tables of the registry for which xWant(p, pTab) says yes, into a
** new array (sqlite3_free) of *pnOut. */
static int registry_collect(vtab_table *pTab, int (*xWant)(vtab_table*, vtab_table*),
                            vtab_table ***papOut, int *pnOut){
  vtab_table *p, **ap = 0;
  int n = 0, nAlloc = 0;
  pthread_mutex_lock(&registry_mutex);
  for(p = registry_tables; p; p = p->pNext){
    if( !xWant(p, pTab) ) continue;
    if( n == nAlloc ){
      vtab_table **apNew = sqlite3_realloc64(ap, sizeof(*ap) * (size_t)(nAlloc + 4));
      if( apNew == 0 ){
        pthread_mutex_unlock(&registry_mutex);
        sqlite3_free(ap);
        return SQLITE_NOMEM;
      }
      ap = apNew;
      nAlloc += 4;
    }
    ap[n++] = p;
  }
  pthread_mutex_unlock(&registry_mutex);
  *papOut = ap;
  *pnOut = n;
  return SQLITE_OK;
}

static int registry_want_earlier(vtab_table *p, vtab_table *pTab){
  return registry_is_earlier(p, pTab, pTab->pLsm);
}

int registry_earlier(vtab_table *pTab, vtab_table ***papOut, int *pnOut){
  *papOut = 0;
  *pnOut = 0;
  if( pTab->pLsm == 0 || pTab->pTxn == 0 ) return SQLITE_OK;
  return registry_collect(pTab, registry_want_earlier, papOut, pnOut);
}

static int registry_want_engine_user(vtab_table *p, vtab_table *pTab){
  return p != pTab && p->db == pTab->db && p->pLsm == pTab->pLsm;
}

int registry_engine_users(vtab_table *pTab, vtab_table ***papOut, int *pnOut){
  *papOut = 0;
  *pnOut = 0;
  if( pTab->pLsm == 0 ) return SQLITE_OK;
  return registry_collect(pTab, registry_want_engine_user, papOut, pnOut);
}

void registry_release_table(vtab_table *p){
  registry_entry *pEntry;
  pthread_mutex_lock(&registry_mutex);
  pEntry = p->pLsm ? registry_by_db(p->pLsm) : 0;
  if( pEntry ){
    assert( pEntry->nRef > 1 );   /* the DROP's own reference stays */
    pEntry->nRef--;
    p->pLsm = 0;
    p->bEngineTaken = 1;
  }
  pthread_mutex_unlock(&registry_mutex);
}

int registry_destroy(lsm_db *pDb, const char *zDir, char **pzErr){
  registry_entry *pEntry;
  int rc = SQLITE_OK;
  pthread_mutex_lock(&registry_mutex);
  pEntry = registry_by_db(pDb);
  if( pEntry == 0 || pEntry->nRef != 1 ){
    *pzErr = sqlite3_mprintf("cannot drop: store %s is in use by another connection",
                             zDir ? zDir : ":memory:");
    rc = SQLITE_MISUSE;
  }else{
    registry_unlink(pEntry);
    rc = lsm_close(pDb);
    if( rc != LSM_OK ){
      *pzErr = registry_errmsg(0, rc);
    }else if( zDir ){
      rc = registry_remove_files(zDir, pzErr);
    }
  }
  pthread_mutex_unlock(&registry_mutex);
  return rc;
}

/* Whether the store of pDb holds nothing anyone could have committed: its
** last sequence number is 0, as a CREATE that wrote nothing leaves it (a
** write takes a number, logged or flushed, and an open recovers the
** largest).  The last guard of a rolled-back CREATE's removal: whatever
** the bookkeeping says, a store that has ever held a row stays. */
static int registry_store_is_blank(lsm_db *pDb){
  uint64_t iLast = 1;
  return lsm_hosted_seq(pDb, &iLast, NULL) == LSM_OK && iLast == 0;
}

void registry_close(lsm_db *pDb){
  registry_entry *pEntry;
  char *zDestroy = 0, *zWhy = 0;
  if( pDb == 0 ) return;
  pthread_mutex_lock(&registry_mutex);
  pEntry = registry_by_db(pDb);
  if( pEntry && --pEntry->nRef == 0 ){
    int rc;
    if( pEntry->bDestroyAtClose ){
      zDestroy = sqlite3_mprintf("%s", pEntry->zKey);
      if( zDestroy && !registry_store_is_blank(pDb) ){
        zWhy = sqlite3_mprintf("it holds writes");
      }
    }
    registry_unlink(pEntry);
    lsm_close(pDb);
    if( zDestroy && !zWhy && (rc = lsm_destroy(zDestroy, NULL)) != LSM_OK ){
      zWhy = registry_errmsg(0, rc);
    }
  }
  pthread_mutex_unlock(&registry_mutex);
  if( zWhy ){
    sqlite3_log(SQLITE_WARNING, "lsm: the store %s of a CREATE rolled back stays: %s",
                zDestroy, zWhy);
  }
  sqlite3_free(zDestroy);
  sqlite3_free(zWhy);
}

/* registry_destroy_unused of a store no table of this process has open:
** open it for a moment to read its last sequence number, and remove it
** only if that is 0.  A store another process holds does not open (its
** lock) and stays.  REQUIRES: registry_mutex held, so that no open of
** this process can come between the look and the removal. */
static int registry_destroy_closed(const char *zKey, int eCompaction, char **pzErr){
  lsm_options opt;
  lsm_db *pDb = 0;
  int rc, bBlank = 0;
  lsm_options_default(&opt);
  opt.compaction = eCompaction;
  opt.create_if_missing = 0;
  opt.background = 0;             /* only looked at: no flush or compaction to start */
  rc = lsm_open(zKey, &opt, &pDb);
  if( rc == LSM_OK ) bBlank = registry_store_is_blank(pDb);
  if( pDb ) lsm_close(pDb);
  if( rc != LSM_OK ){
    *pzErr = sqlite3_mprintf("the store stays: it will not open (%s)", lsm_errstr(rc));
    return SQLITE_BUSY;
  }
  if( !bBlank ) return SQLITE_OK;
  return registry_remove_files(zKey, pzErr) == LSM_OK ? SQLITE_OK : SQLITE_IOERR;
}

int registry_destroy_unused(const char *zKey, sqlite3 *db, int eCompaction, char **pzErr){
  registry_entry *pEntry;
  int rc = SQLITE_OK;
  (void)pthread_once(&registry_fork_once, registry_fork_init);
  pthread_mutex_lock(&registry_mutex);
  pEntry = registry_by_dir(zKey);
  if( pEntry ){
    /* Only db's tables (the undone CREATE's instances) may hold it: any
    ** other reference (another connection's table) keeps the store. */
    vtab_table *p;
    int nMine = 0;
    for(p = registry_tables; p; p = p->pNext){
      if( p->db == db && p->pLsm == pEntry->pDb ) nMine++;
    }
    if( pEntry->nRef <= nMine && registry_store_is_blank(pEntry->pDb) ){
      pEntry->bDestroyAtClose = 1;
    }
  }else{
    rc = registry_destroy_closed(zKey, eCompaction, pzErr);
  }
  pthread_mutex_unlock(&registry_mutex);
  return rc;
}

int registry_destroy_pending(const char *zDir){
  registry_entry *pEntry;
  int bPending;
  (void)pthread_once(&registry_fork_once, registry_fork_init);
  pthread_mutex_lock(&registry_mutex);
  pEntry = registry_by_dir(zDir);
  bPending = pEntry && pEntry->bDestroyAtClose;
  pthread_mutex_unlock(&registry_mutex);
  return bPending;
}

/* ---- tables ---- */

void registry_add_table(vtab_table *pTab){
  pthread_mutex_lock(&registry_mutex);
  pTab->pNext = registry_tables;
  registry_tables = pTab;
  pthread_mutex_unlock(&registry_mutex);
}

void registry_remove_table(vtab_table *pTab){
  vtab_table **pp;
  pthread_mutex_lock(&registry_mutex);
  for(pp = &registry_tables; *pp && *pp != pTab; pp = &(*pp)->pNext){}
  if( *pp ) *pp = pTab->pNext;
  pthread_mutex_unlock(&registry_mutex);
}

vtab_table *registry_find_writing_store(sqlite3 *db, const char *zDb, const char *zTable){
  vtab_table *p, *pFound = 0;
  pthread_mutex_lock(&registry_mutex);
  for(p = registry_tables; p && !pFound; p = p->pNext){
    /* Not a table whose CREATE a ROLLBACK TO undid: its store is still
    ** "in a write" and has the name, but holds none of the table's rows. */
    if( p->db == db && p->pStore && !p->bCreateUndone && dbstore_in_write(p->pStore)
     && sqlite3_stricmp(dbstore_schema(p->pStore), zDb) == 0
     && sqlite3_stricmp(dbstore_table(p->pStore), zTable) == 0 ){
      pFound = p;
    }
  }
  pthread_mutex_unlock(&registry_mutex);
  return pFound;
}

vtab_table *registry_find_writing_table(sqlite3 *db, const char *zDb, const char *zTable,
                                       const char *zDir, const lsm_db *pLsm){
  vtab_table *p, *pFound = 0;
  pthread_mutex_lock(&registry_mutex);
  for(p = registry_tables; p && !pFound; p = p->pNext){
    /* The same engine (one per directory in the process; an in-memory
    ** store's DROP lets its rows go, and a table connected after that
    ** DROP was rolled back has a new, empty one, not the old batch), or
    ** an instance whose engine a DROP took that names this directory (a
    ** table created under the name after the DROP is another). */
    int bSameStore = (p->pLsm && p->pLsm == pLsm)
                  || (p->bEngineTaken && p->zDir && zDir && strcmp(p->zDir, zDir) == 0);
    if( p->db == db && p->pStore == 0 && bSameStore && !p->bCreateUndone && p->pTxn
     && p->pTxn->bInTxn
     && sqlite3_stricmp(p->zDb, zDb) == 0 && sqlite3_stricmp(p->zName, zTable) == 0 ){
      pFound = p;
    }
  }
  pthread_mutex_unlock(&registry_mutex);
  return pFound;
}

void registry_move_batch(vtab_batch *pOld, vtab_batch *pNew){
  vtab_table *p;
  pthread_mutex_lock(&registry_mutex);
  for(p = registry_tables; p; p = p->pNext){
    if( p->pTxn != pOld ) continue;
    p->pTxn = pNew;
    pNew->nRef++;
    pNew->nTables++;
    pOld->nTables--;
    pOld->nRef--;           /* never to 0: a cursor still holds it */
  }
  pthread_mutex_unlock(&registry_mutex);
}

vtab_table *registry_find_table(sqlite3 *db, const char *zDb, const char *zName){
  vtab_table *p;
  vtab_table *pBest = 0;
  int iBest = 99;
  pthread_mutex_lock(&registry_mutex);
  for(p = registry_tables; p; p = p->pNext){
    int iRank;
    if( p->db != db || sqlite3_stricmp(p->zName, zName) != 0 ) continue;
    if( zDb ){
      iRank = sqlite3_stricmp(p->zDb, zDb) == 0 ? 0 : 99;
    }else{
      iRank = sqlite3_stricmp(p->zDb, "temp") == 0 ? 0
            : sqlite3_stricmp(p->zDb, "main") == 0 ? 1 : 2;
    }
    if( iRank < iBest ){
      iBest = iRank;
      pBest = p;
    }
  }
  pthread_mutex_unlock(&registry_mutex);
  return pBest;
}
