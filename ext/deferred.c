/*
** deferred.c — DROP TABLE and ALTER TABLE RENAME of a directory store take
** effect on disk only once SQLite's transaction has committed.
**
** Usage (what it makes true):
**
**     CREATE VIRTUAL TABLE kv USING lsm('kv.lsm');
**     INSERT INTO kv VALUES (1, 'one');
**     BEGIN;
**     DROP TABLE kv;                 -- kv.lsm is marked, nothing removed
**     ROLLBACK;                      -- kv is back, with its row
**     DROP TABLE kv;                 -- fails "database is locked" (a reader in
**                                    -- rollback-journal mode): kv keeps its rows
**     DROP TABLE kv;                 -- commits: kv.lsm is removed now
**     SELECT * FROM lsm_pending;     -- this connection's changes still waiting
**
** SQLite runs xDestroy (OP_VDestroy) and xRename (OP_VRename) inside the
** statement, before it commits, and a COMMIT can still fail after them
** (SQLITE_BUSY from a reader, a commit hook, disk full), or the
** transaction can be rolled back.  The dropped table itself gets no
** xCommit or xRollback: SQLite forgets its sqlite3_vtab once xDestroy
** returns.  So xDestroy and xRename here only record what to do, and an
** eponymous virtual table of this file, lsm_pending, joins the
** transaction (xDestroy runs "INSERT INTO lsm_pending ..." on the same
** connection, which makes SQLite call lsm_pending's xBegin now and its
** xCommit or xRollback when the transaction ends, as for any table it
** wrote).  Its xCommit (SQLite has committed) does the change on disk;
** its xRollback, or an xRollbackTo of a savepoint opened before the
** change, forgets it.  What waits:
**
**   DROP of the last writable definition of a store: the store is marked
**     (the file DROPPING below, synced, in the store directory) and its
**     engine reference is kept, so the store stays locked by this process
**     and no other table opens it meanwhile.  At commit: OWNERS loses the
**     line, the store's files go (registry_destroy), then DROPPING, then
**     the directory if the store made it.  At rollback: DROPPING goes and
**     the reference is dropped; SQLite connects the table again.
**   DROP of one of several definitions: only its OWNERS line, at commit.
**   CREATE of a directory store inside a transaction: nothing at commit.
**     At rollback (ROLLBACK, or ROLLBACK TO a savepoint opened before it)
**     OWNERS loses the line the CREATE added, and a store the CREATE made
**     (its directory missing or empty before) is removed once no table
**     of the process uses it (registry_destroy_unused): only its files,
**     and the directory if the engine made it (MADEDIR).  A store that was
**     there before, or that another definition has claimed, stays; so
**     does one another table opened while the CREATE waited
**     (deferred_note_open), and one holding anything ever written.
**   Every op finds the store at its end through the realpath taken when
**   it was made (deferred_op.zKey), never through the path as typed.
**   RENAME: the OWNERS line takes the new name at commit.  No directory
**     moves: a store named by a path keeps it (the path is in the CREATE
**     statement), and a table made before the in-database default, whose
**     directory <database>-<table>.lsm is named after the table, keeps its
**     directory under the new name through the shadow table <new>_dir,
**     made in RENAME's own transaction (deferred_legacy_dir reads it).
**
** A crash.  Before SQLite's commit, the journal brings the table back;
** its next open finds DROPPING naming itself and removes it
** (deferred_check_marker).  After the commit, before the files went, the
** table is gone and DROPPING names it: a CREATE at that path removes the
** rest of the store first (the drop committed: the named table is no
** longer in its database), or, for another database's store, says what
** to do.  Opening a store marked by a drop that did commit is an error.
**
** DROPPING (text, UTF-8; written whole: DROPPING.tmp, fsync, rename,
** fsync of the directory):
**
**     OFFSET SIZE DESCRIPTION
**     0      13   "lsm-dropping "
**     13     16   XXH3-64 of the body, lower-case hex (lsm_batch_checksum
**                 of a batch holding one put: key "DROPPING", value body)
**     29     1    LF
**     30     ...  body: <made dir 0|1> TAB <database realpath, or empty>
**                 TAB <table name> LF
**
**     e.g. the store of table kv of /srv/app.db, which made its directory:
**       00000000: 6c73 6d2d 6472 6f70 7069 6e67 2031 6664  lsm-dropping 1fd
**       00000010: 3732 3733 6536 6630 3631 3034 660a 3109  7273e6f06104f.1.
**       00000020: 2f73 7276 2f61 7070 2e64 6209 6b76 0a    /srv/app.db.kv.
**     (magic; checksum 1fd7273e6f06104f; LF; "1" made dir; TAB; database;
**     TAB; table; LF)
**
** "made dir" says the store created its directory (MADEDIR was there), so
** that the directory goes too after the engine removed MADEDIR.
**
** Thread safety: the list of waiting changes is process-wide (another
** connection's CREATE must see a drop waiting at its path) and guarded by
** deferred_mutex; the work at commit runs without it.
*/
#include "ext.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFERRED_MARKER      "DROPPING"
#define DEFERRED_MAGIC       "lsm-dropping "
#define DEFERRED_MAGIC_BYTES 13
#define DEFERRED_MAX_BYTES   (PATH_MAX + 4096)  /* a larger file is not ours */

#define DEFERRED_DROP   1    /* remove the store (last definition) */
#define DEFERRED_LEAVE  2    /* drop one definition of a shared store: OWNERS only */
#define DEFERRED_RENAME 3    /* the OWNERS line takes a new name */
#define DEFERRED_CREATE 4    /* a CREATE: at rollback its OWNERS line goes, and the
                                store if the CREATE made it and no line is left */

typedef struct deferred_op deferred_op;
struct deferred_op {
  int eOp;               /* DEFERRED_* */
  sqlite3 *db;           /* the connection whose transaction it waits for */
  int iLevel;            /* savepoints open when it was made: ROLLBACK TO any
                            savepoint below iLevel undoes it */
  char *zDir;            /* store directory (sqlite3_free) */
  char *zKey;            /* its realpath when the op was made, or a copy of zDir
                            (sqlite3_free): every file the op touches at the end
                            is found through it, never through zDir again (a
                            relative zDir of an in-memory or TEMP database names
                            another directory once the working directory moves,
                            and a symlink may be pointed elsewhere) */
  int bKeyReal;          /* zKey is a realpath (else nothing is removed at rollback) */
  char *zDb;             /* the schema of the table (sqlite3_free) */
  char *zDbPath;         /* database realpath, or NULL (sqlite3_free) */
  char *zName;           /* the table name (DROP) or old name (RENAME) */
  char *zNew;            /* RENAME: the new name (sqlite3_free) */
  lsm_db *pLsm;          /* DROP: the engine reference kept until the end, or NULL */
  int bMarked;           /* DROP: DROPPING was written */
  int bMadeDir;          /* DROP: the store made its directory */
  int bNewStore;         /* CREATE: it made the store (vtab_table.bMadeStore) */
  int bClaimed;          /* CREATE: it added its OWNERS line */
  int eCompaction;       /* CREATE: the table's compaction= (a store must be opened
                            with its own to be looked at: registry_destroy_unused) */
  int bShared;           /* CREATE: a table other than this one opened the store
                            while the op waited (deferred_note_open): it may hold
                            someone's rows, so the rollback never removes it */
  deferred_op *pNext;    /* next waiting change, any connection */
};

/* One per connection: the pAux of the modules "lsm_pending" and "lsm",
** freed when every module registered with it is gone (the connection
** closes).  Loading the extension again on the connection registers the
** modules again with the same state, so tables connected before and
** after share it. */
struct deferred_conn {
  sqlite3 *db;           /* the connection */
  int nRef;              /* modules registered with it (2 per registration) */
  deferred_conn *pNext;  /* next connection's state (deferred_conns) */
  int nOpen;             /* savepoints open, as lsm_pending's methods saw them */
  int bJoining;          /* our own INSERT INTO lsm_pending is running */
  vtab_table *pDropped;  /* tables dropped in the open transaction,
                            linked by pNextDropped (deferred_keep_dropped);
                            only this connection's thread touches the list */
  int bJoined;           /* that INSERT reached pending_update */
  vtab_table *pCreated;  /* tables created in the open transaction, linked by
                            pNextCreated (deferred_track_created) */
  uint64_t iEvent;       /* savepoint openings and tracked CREATEs, counted */
  uint64_t *aOpenedAt;   /* aOpenedAt[i]: iEvent when savepoint i opened, for
                            i < nOpen (every savepoint since lsm_pending joined;
                            those open at its join count as opened then) */
  int nOpenedAlloc;      /* allocated entries of aOpenedAt */
};

static pthread_mutex_t deferred_mutex = PTHREAD_MUTEX_INITIALIZER;
static deferred_op *deferred_list;     /* every waiting change of this process */
static deferred_conn *deferred_conns;  /* every connection's state */

/* ---- helpers ---- */

static void deferred_op_free(deferred_op *p){
  if( p == 0 ) return;
  sqlite3_free(p->zDir);
  sqlite3_free(p->zKey);
  sqlite3_free(p->zDb);
  sqlite3_free(p->zDbPath);
  sqlite3_free(p->zName);
  sqlite3_free(p->zNew);
  sqlite3_free(p);
}

static char *deferred_key(const char *zDir){
  char zReal[PATH_MAX];
  return sqlite3_mprintf("%s", realpath(zDir, zReal) ? zReal : zDir);
}

/* zDir's realpath (sqlite3_free), or NULL if it has none or memory ran out. */
static char *deferred_realpath(const char *zDir){
  char zReal[PATH_MAX];
  return realpath(zDir, zReal) ? sqlite3_mprintf("%s", zReal) : 0;
}

static int deferred_fsync_dir(const char *zDir){
  int fd = open(zDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = -1;
  if( fd >= 0 ){
    rc = fsync(fd);
    close(fd);
  }
  return rc;
}

/* The checksum of a marker's body, as 16 hex digits into zOut (17 bytes). */
static int deferred_checksum(const char *zBody, char *zOut){
  lsm_batch *pBatch = 0;
  int rc = lsm_batch_new_env(0, &pBatch);
  if( rc == LSM_OK ) rc = lsm_batch_put(pBatch, DEFERRED_MARKER, strlen(DEFERRED_MARKER),
                                        zBody, strlen(zBody));
  if( rc == LSM_OK ){
    snprintf(zOut, 17, "%016llx", (unsigned long long)lsm_batch_checksum(pBatch));
  }
  lsm_batch_free(pBatch);
  return rc == LSM_OK ? SQLITE_OK : SQLITE_NOMEM;
}

/* Write zDir/DROPPING (format in the header), synced with its directory. */
static int deferred_mark(const char *zDir, int bMadeDir, const char *zDbPath,
                         const char *zName, char **pzErr){
  char zSum[17];
  char *zBody = sqlite3_mprintf("%d\t%s\t%s\n", bMadeDir, zDbPath ? zDbPath : "", zName);
  char *zText = 0;
  char *zPath = sqlite3_mprintf("%s/" DEFERRED_MARKER, zDir);
  char *zTmp = sqlite3_mprintf("%s/" DEFERRED_MARKER ".tmp", zDir);
  int rc = (zBody && zPath && zTmp) ? SQLITE_OK : SQLITE_NOMEM;
  int fd = -1;
  if( rc == SQLITE_OK ) rc = deferred_checksum(zBody, zSum);
  if( rc == SQLITE_OK ){
    zText = sqlite3_mprintf(DEFERRED_MAGIC "%s\n%s", zSum, zBody);
    if( zText == 0 ) rc = SQLITE_NOMEM;
  }
  if( rc == SQLITE_OK ){
    size_t nText = strlen(zText);
    (void)unlink(zTmp);     /* a leftover: created anew below, never through a link */
    fd = open(zTmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    int bFailed = fd < 0 || write(fd, zText, nText) != (ssize_t)nText || fsync(fd) != 0;
    int iErrno = errno;
    /* The descriptor is closed whatever failed before it (never leaked). */
    if( fd >= 0 && close(fd) != 0 && !bFailed ){ bFailed = 1; iErrno = errno; }
    if( !bFailed && (rename(zTmp, zPath) != 0 || deferred_fsync_dir(zDir) != 0) ){
      bFailed = 1;
      iErrno = errno;
    }
    if( bFailed ){
      *pzErr = sqlite3_mprintf("cannot write %s: %s", zPath, strerror(iErrno));
      rc = SQLITE_IOERR;
      if( fd >= 0 ) (void)unlink(zTmp);
    }
  }
  sqlite3_free(zBody);
  sqlite3_free(zText);
  sqlite3_free(zPath);
  sqlite3_free(zTmp);
  return rc;
}

/* Remove zDir/DROPPING (synced); 0 on success or if there is none. */
static int deferred_unmark(const char *zDir){
  char *zPath = sqlite3_mprintf("%s/" DEFERRED_MARKER, zDir);
  int rc = -1;
  if( zPath ){
    rc = unlink(zPath);
    if( rc != 0 && errno == ENOENT ) rc = 0;
    else if( rc == 0 ) (void)deferred_fsync_dir(zDir);
  }
  sqlite3_free(zPath);
  return rc;
}

/*
** Read zDir/DROPPING.  *pbExists = 0 if there is none.  Else *pbMadeDir,
** *pzDbPath ("" for a database without a file) and *pzName (sqlite3_free)
** are set; a file that fails its checksum or does not parse is
** SQLITE_CORRUPT with *pzErr.
*/
static int deferred_read_marker(const char *zDir, int *pbExists, int *pbMadeDir,
                                char **pzDbPath, char **pzName, char **pzErr){
  char *zPath = sqlite3_mprintf("%s/" DEFERRED_MARKER, zDir);
  char zText[DEFERRED_MAX_BYTES + 1];
  char zSum[17];
  FILE *pIn;
  size_t nText;
  int rc = SQLITE_OK;
  *pbExists = 0;
  *pzDbPath = *pzName = 0;
  if( zPath == 0 ) return SQLITE_NOMEM;
  pIn = fopen(zPath, "rb");
  if( pIn == 0 ){
    /* No directory there (or a file): the engine says what it is. */
    if( errno != ENOENT && errno != ENOTDIR ){
      *pzErr = sqlite3_mprintf("cannot read %s: %s", zPath, strerror(errno));
      rc = SQLITE_CANTOPEN;
    }
    sqlite3_free(zPath);
    return rc;
  }
  *pbExists = 1;
  nText = fread(zText, 1, DEFERRED_MAX_BYTES, pIn);
  fclose(pIn);
  zText[nText] = 0;
  {
    char *zBody = zText + DEFERRED_MAGIC_BYTES + 17;
    char *zTab1 = 0, *zTab2 = 0, *zLf = 0;
    int bOk = nText > DEFERRED_MAGIC_BYTES + 17 && nText < DEFERRED_MAX_BYTES
           && memcmp(zText, DEFERRED_MAGIC, DEFERRED_MAGIC_BYTES) == 0
           && zText[DEFERRED_MAGIC_BYTES + 16] == '\n'
           && strlen(zText) == nText;
    if( bOk ){
      rc = deferred_checksum(zBody, zSum);
      bOk = rc == SQLITE_OK && memcmp(zSum, zText + DEFERRED_MAGIC_BYTES, 16) == 0;
    }
    if( bOk ){
      zTab1 = strchr(zBody, '\t');
      zTab2 = zTab1 ? strchr(zTab1 + 1, '\t') : 0;
      zLf = zTab2 ? strchr(zTab2 + 1, '\n') : 0;
      bOk = zLf && zLf[1] == 0 && zTab1 == zBody + 1 && (zBody[0] == '0' || zBody[0] == '1');
    }
    if( rc != SQLITE_OK ){
      /* out of memory */
    }else if( !bOk ){
      *pzErr = sqlite3_mprintf("%s is damaged (it fails its checksum)", zPath);
      rc = SQLITE_CORRUPT;
    }else{
      *pbMadeDir = zBody[0] == '1';
      *pzDbPath = sqlite3_mprintf("%.*s", (int)(zTab2 - zTab1 - 1), zTab1 + 1);
      *pzName = sqlite3_mprintf("%.*s", (int)(zLf - zTab2 - 1), zTab2 + 1);
      if( *pzDbPath == 0 || *pzName == 0 ) rc = SQLITE_NOMEM;
    }
  }
  sqlite3_free(zPath);
  return rc;
}

static int deferred_file_exists(const char *zPath, int bDir){
  struct stat st;
  return stat(zPath, &st) == 0 && (bDir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
}

/* Remove what is left of a store whose DROP committed: its files
** (lsm_destroy takes the store's lock, so a store some process holds is
** SQLITE_BUSY and stays), then OWNERS, then DROPPING (last, so that a
** crash before leaves the store marked), then the directory if the store
** made it.  pLsm, if not NULL, is this process's last reference. */
static int deferred_remove(const char *zDir, lsm_db *pLsm, int bMadeDir, char **pzErr){
  int rc;
  if( pLsm ){
    rc = registry_destroy(pLsm, zDir, pzErr);
    /* Refused (another reference appeared since the DROP): this DROP's
    ** reference is still held and must go, or the store stays open and
    ** locked until the process exits.  The marker stays for recovery. */
    if( rc == SQLITE_MISUSE ) registry_close(pLsm);
  }else{
    rc = lsm_destroy(zDir, 0);
    if( rc != LSM_OK ){
      const char *z = lsm_errmsg(0);
      *pzErr = sqlite3_mprintf("cannot remove store %s: %s", zDir,
                               (z && z[0]) ? z : lsm_errstr(rc));
    }
  }
  if( rc == SQLITE_OK ) rc = owners_release_all(zDir, pzErr);
  if( rc == SQLITE_OK ){
    if( deferred_unmark(zDir) != 0 ){
      *pzErr = sqlite3_mprintf("cannot remove %s/" DEFERRED_MARKER ": %s", zDir, strerror(errno));
      rc = SQLITE_IOERR;
    }else if( bMadeDir ){
      (void)rmdir(zDir);    /* fails, harmlessly, if something else is in it */
    }
  }
  return rc;
}

/* SQLite committed: do op's change.  A failure can only be logged. */
static void deferred_apply(deferred_op *p){
  char *zErr = 0;
  int rc = SQLITE_OK, bLast = 1;
  switch( p->eOp ){
    case DEFERRED_DROP:
    case DEFERRED_LEAVE:
      rc = owners_release(p->zKey, p->zDbPath, p->zName, &bLast, &zErr);
      if( rc == SQLITE_OK && p->eOp == DEFERRED_DROP && bLast ){
        rc = deferred_remove(p->zKey, p->pLsm, p->bMadeDir, &zErr);
        p->pLsm = 0;
      }else if( rc == SQLITE_OK && p->bMarked ){
        /* Only a DROP that is not the store's last definition unmarks.
        ** If OWNERS could not be updated the DROP has still committed:
        ** the marker stays, so the committed-DROP recovery (a CREATE at
        ** this path removes the rest) applies, never the old rows. */
        (void)deferred_unmark(p->zKey);
      }
      break;
    case DEFERRED_RENAME:
      rc = owners_rename(p->zKey, p->zDbPath, p->zName, p->zNew, &zErr);
      break;
    case DEFERRED_CREATE:
      break;                /* the store and its OWNERS line stay */
  }
  if( rc != SQLITE_OK ){
    sqlite3_log(SQLITE_WARNING, "lsm: %s of table %s (store %s), committed: %s",
                p->eOp == DEFERRED_RENAME ? "RENAME" : "DROP TABLE", p->zName, p->zDir,
                zErr ? zErr : sqlite3_errstr(rc));
  }
  sqlite3_free(zErr);
  if( p->pLsm ) registry_close(p->pLsm);
  p->pLsm = 0;
}

/* A CREATE rolled back: its OWNERS line goes; the store goes too if the
** CREATE made it and no other definition has claimed it since, no other
** table has opened it while the CREATE waited (bShared: a table of an
** in-memory database writes no OWNERS line and may have closed since),
** nor uses it now, and it holds nothing ever written
** (registry_destroy_unused).  All at the realpath recorded at the CREATE. */
static void deferred_uncreate(deferred_op *p){
  char *zErr = 0;
  int nLeft = 0;
  int rc = owners_unclaim(p->zKey, p->bClaimed ? p->zDbPath : 0, p->zName, &nLeft, &zErr);
  if( rc == SQLITE_OK && p->bNewStore && p->bKeyReal && !p->bShared && nLeft == 0 ){
    rc = registry_destroy_unused(p->zKey, p->db, p->eCompaction, &zErr);
  }
  if( rc != SQLITE_OK ){
    sqlite3_log(SQLITE_WARNING, "lsm: CREATE VIRTUAL TABLE %s (store %s) rolled back: %s",
                p->zName, p->zDir, zErr ? zErr : sqlite3_errstr(rc));
  }
  sqlite3_free(zErr);
}

/* The transaction (or the savepoint) that made op was rolled back. */
static void deferred_undo(deferred_op *p){
  if( p->eOp == DEFERRED_CREATE ) deferred_uncreate(p);
  if( p->bMarked && deferred_unmark(p->zKey) != 0 ){
    sqlite3_log(SQLITE_WARNING, "lsm: DROP TABLE %s rolled back, but %s/" DEFERRED_MARKER
                " stays: %s", p->zName, p->zDir, strerror(errno));
  }
  if( p->pLsm ) registry_close(p->pLsm);
  p->pLsm = 0;
}

/* Take out of the list every op of db made at a level above iAboveLevel
** (-1: every op of db), newest first. */
static deferred_op *deferred_take(sqlite3 *db, int iAboveLevel){
  deferred_op **pp, *pTaken = 0, **ppTail = &pTaken;
  pthread_mutex_lock(&deferred_mutex);
  pp = &deferred_list;
  while( *pp ){
    deferred_op *p = *pp;
    if( p->db == db && p->iLevel > iAboveLevel ){
      *pp = p->pNext;
      p->pNext = 0;
      *ppTail = p;
      ppTail = &p->pNext;
    }else{
      pp = &p->pNext;
    }
  }
  pthread_mutex_unlock(&deferred_mutex);
  return pTaken;
}

/* The list is kept newest first: apply in the order made, undo newest
** first (a DROP of a table created in the same transaction lets go of its
** engine reference before the CREATE's undo asks who still holds it). */
static void deferred_finish(sqlite3 *db, int iAboveLevel, int bCommit){
  deferred_op *pAll = deferred_take(db, iAboveLevel);
  deferred_op *pRev = 0;
  if( !bCommit ){
    pRev = pAll;
    pAll = 0;
  }
  while( pAll ){
    deferred_op *p = pAll;
    pAll = p->pNext;
    p->pNext = pRev;
    pRev = p;
  }
  while( pRev ){
    deferred_op *p = pRev;
    pRev = p->pNext;
    if( bCommit ) deferred_apply(p); else deferred_undo(p);
    deferred_op_free(p);
  }
}

/* Make lsm_pending part of db's transaction, so that its xCommit or
** xRollback tells how it ended.  A table or view of main named
** lsm_pending hides the eponymous table from every statement (SQLite
** looks for an eponymous table only when no schema object has the name),
** and the INSERT would then write into the user's table and join nothing.
** So look first, and refuse with a message that says what to do; and
** check that the INSERT did reach pending_update. */
static int deferred_join(deferred_conn *pConn, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(pConn->db, "SELECT type FROM main.sqlite_schema"
                              " WHERE name = 'lsm_pending' COLLATE NOCASE", -1, &pStmt, 0);
  if( rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW ){
    *pzErr = sqlite3_mprintf("the %s main.lsm_pending hides lsm's own table lsm_pending,"
                             " which this needs: rename that %s",
                             sqlite3_column_text(pStmt, 0), sqlite3_column_text(pStmt, 0));
    rc = *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  if( pStmt && sqlite3_finalize(pStmt) != SQLITE_OK && rc == SQLITE_OK ){
    rc = sqlite3_errcode(pConn->db);
  }
  if( rc != SQLITE_OK ){
    if( *pzErr == 0 ) *pzErr = sqlite3_mprintf("%s", sqlite3_errmsg(pConn->db));
    return rc;
  }
  pConn->bJoining = 1;
  pConn->bJoined = 0;
  rc = sqlite3_exec(pConn->db, "INSERT INTO main.lsm_pending(op) VALUES (NULL)", 0, 0, 0);
  pConn->bJoining = 0;
  if( rc != SQLITE_OK ){
    *pzErr = sqlite3_mprintf("cannot join the transaction: %s", sqlite3_errmsg(pConn->db));
  }else if( !pConn->bJoined ){
    *pzErr = sqlite3_mprintf("cannot join the transaction: lsm_pending was not reached");
    rc = SQLITE_ERROR;
  }
  return rc;
}

static void deferred_add(deferred_conn *pConn, deferred_op *p){
  p->db = pConn->db;
  p->iLevel = pConn->nOpen;
  pthread_mutex_lock(&deferred_mutex);
  p->pNext = deferred_list;
  deferred_list = p;
  pthread_mutex_unlock(&deferred_mutex);
}

/* ---- tables dropped in the open transaction ----
**
** SQLite calls no method of a table after its xDestroy, yet a ROLLBACK TO
** a savepoint opened before the DROP brings the table back, and with it
** the writes the transaction made to it before that savepoint: they are
** only in the dropped instance's batch.  So the instance is kept (its
** store knows it is dropped: dbstore.c, bDropped; a directory store's
** DROP waits in the list above, and its xSync prepares nothing while it
** does, then takes an engine reference again) and lsm_pending, which
** SQLite does call, passes each savepoint, release, rollback-to, sync and
** end of the transaction on to it, as SQLite would have.  A ROLLBACK TO
** that undoes the DROP truncates the batch to the savepoint's mark and
** puts the store back in the transaction; the table's next instance then
** shares them (deferred_find_dropped, vtab_open_store), as an instance
** connected again after a schema change does; a COMMIT with no new
** instance still logs and applies the batch through the kept one.  The
** kept instance is freed when the transaction ends. */

/* Pass rc's message from a kept table to lsm_pending's. */
static int deferred_dropped_error(sqlite3_vtab *pTo, vtab_table *pFrom, int rc){
  if( rc != SQLITE_OK && pFrom->base.zErrMsg ){
    sqlite3_free(pTo->zErrMsg);
    pTo->zErrMsg = sqlite3_mprintf("%s", pFrom->base.zErrMsg);
  }
  return rc;
}

/* The transaction ended: end it for every kept table too (bCommit: SQLite
** committed), then free them through vtab.c's xDisconnect (SQLite will
** not call it: it forgot them at xDestroy). */
static void deferred_dropped_end(deferred_conn *pConn, int bCommit){
  while( pConn->pDropped ){
    vtab_table *p = pConn->pDropped;
    pConn->pDropped = p->pNextDropped;
    p->pNextDropped = 0;
    if( bCommit ) txn_commit(&p->base); else txn_rollback(&p->base);
    p->base.pModule->xDisconnect(&p->base);
  }
}

int deferred_keep_dropped(vtab_table *pTab){
  deferred_conn *pConn = pTab->pDeferred;
  char *zErr = 0;
  int rc;
  if( pConn == 0 ) return SQLITE_MISUSE;
  rc = deferred_join(pConn, &zErr);
  if( rc != SQLITE_OK ){
    /* The DROP goes on without keeping the table (the caller's choice);
    ** the reason goes to SQLite's error log. */
    sqlite3_log(rc, "lsm: DROP TABLE %s cannot keep the transaction's writes for a"
                " ROLLBACK TO: %s", pTab->zName, zErr ? zErr : "out of memory");
    sqlite3_free(zErr);
    return rc;
  }
  pTab->pNextDropped = pConn->pDropped;
  pConn->pDropped = pTab;
  return SQLITE_OK;
}

/* Whether a ROLLBACK TO has undone kept table p's DROP: its store is in
** the transaction again (dbstore.c), or, for a directory store, its
** deferred DROP is no longer waiting. */
static int deferred_dropped_is_back(vtab_table *p){
  if( p->pStore ) return dbstore_in_write(p->pStore);
  return p->pTxn && p->pTxn->bInTxn && !deferred_drop_waiting(p->zDir);
}

vtab_table *deferred_find_dropped(deferred_conn *pConn, const char *zDb, const char *zTable){
  vtab_table *p;
  if( pConn == 0 ) return 0;
  for(p = pConn->pDropped; p; p = p->pNextDropped){
    const char *zTabDb = p->pStore ? dbstore_schema(p->pStore) : p->zDb;
    const char *zTabName = p->pStore ? dbstore_table(p->pStore) : p->zName;
    if( deferred_dropped_is_back(p)
     && sqlite3_stricmp(zTabDb, zDb) == 0 && sqlite3_stricmp(zTabName, zTable) == 0 ){
      return p;
    }
  }
  return 0;
}

/* ---- tables created in the open transaction ----
**
** A CREATE is undone by a ROLLBACK TO a savepoint opened before it.  SQLite
** tells the new table nothing of such a savepoint, and after the ROLLBACK
** TO the name may belong to another table again (the one a DROP before the
** CREATE removed, brought back by the same ROLLBACK TO): a lookup by name
** cannot tell, and the undone table's writes would go into that table's
** shadow tables (its log row written over).  So the order is counted: each
** savepoint opening and each tracked CREATE takes the next iEvent; a
** ROLLBACK TO savepoint i undoes exactly the CREATEs counted after
** savepoint i opened. */

int deferred_track_created(vtab_table *pTab){
  deferred_conn *pConn = pTab->pDeferred;
  char *zErr = 0;
  int rc;
  if( pConn == 0 ) return 0;
  rc = deferred_join(pConn, &zErr);
  if( rc != SQLITE_OK ){
    sqlite3_log(rc, "lsm: CREATE VIRTUAL TABLE %s inside a transaction cannot follow its"
                " savepoints: %s", pTab->zName, zErr ? zErr : "out of memory");
    sqlite3_free(zErr);
    return 0;
  }
  pTab->iCreatedAt = ++pConn->iEvent;
  pTab->bCreateUndone = 0;
  pTab->pNextCreated = pConn->pCreated;
  pConn->pCreated = pTab;
  return 1;
}

void deferred_track_shared(vtab_table *pTab, const vtab_table *pOld){
  deferred_conn *pConn = pTab->pDeferred;
  pTab->bCreatedInTxn = pOld->bCreatedInTxn;
  pTab->bCreateUndone = pOld->bCreateUndone;
  if( pConn == 0 || pOld->iCreatedAt == 0 || pTab->iCreatedAt != 0 ) return;
  pTab->iCreatedAt = pOld->iCreatedAt;
  pTab->pNextCreated = pConn->pCreated;
  pConn->pCreated = pTab;
}

void deferred_forget_created(vtab_table *pTab){
  deferred_conn *pConn = pTab->pDeferred;
  vtab_table **pp;
  if( pConn == 0 || pTab->iCreatedAt == 0 ) return;
  for(pp = &pConn->pCreated; *pp && *pp != pTab; pp = &(*pp)->pNextCreated){}
  if( *pp ) *pp = pTab->pNextCreated;
  pTab->pNextCreated = 0;
  pTab->iCreatedAt = 0;
}

/* The transaction ended: no table is "created in it" any more. */
static void deferred_created_end(deferred_conn *pConn){
  while( pConn->pCreated ){
    vtab_table *p = pConn->pCreated;
    pConn->pCreated = p->pNextCreated;
    p->pNextCreated = 0;
    p->iCreatedAt = 0;
  }
}

/* ---- the eponymous table lsm_pending: one row per waiting change of
** this connection (op, tbl, store); written only by this file ---- */

typedef struct pending_vtab {
  sqlite3_vtab base;     /* base class: must be first */
  deferred_conn *pConn;  /* the connection's state */
} pending_vtab;

typedef struct pending_cursor {
  sqlite3_vtab_cursor base;  /* base class: must be first */
  char **azRow;          /* op, tbl, store per row (sqlite3_free each) */
  int nRow;              /* rows */
  int iRow;              /* current row */
} pending_cursor;

static int pending_connect(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                           sqlite3_vtab **ppVtab, char **pzErr){
  pending_vtab *pVtab;
  int rc;
  (void)argc; (void)argv; (void)pzErr;
  rc = sqlite3_declare_vtab(db, "CREATE TABLE x(op TEXT, tbl TEXT, store TEXT)");
  if( rc != SQLITE_OK ) return rc;
  pVtab = sqlite3_malloc(sizeof(*pVtab));
  if( pVtab == 0 ) return SQLITE_NOMEM;
  memset(pVtab, 0, sizeof(*pVtab));
  pVtab->pConn = pAux;
  *ppVtab = &pVtab->base;
  return SQLITE_OK;
}

static int pending_best_index(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  (void)pVtab;
  pInfo->estimatedCost = 10;
  pInfo->estimatedRows = 10;
  return SQLITE_OK;
}

static int pending_disconnect(sqlite3_vtab *pVtab){
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

static void pending_cursor_clear(pending_cursor *pCsr){
  int i;
  for(i = 0; i < pCsr->nRow * 3; i++) sqlite3_free(pCsr->azRow[i]);
  sqlite3_free(pCsr->azRow);
  pCsr->azRow = 0;
  pCsr->nRow = pCsr->iRow = 0;
}

static int pending_open(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor){
  pending_cursor *pCsr = sqlite3_malloc(sizeof(*pCsr));
  (void)pVtab;
  if( pCsr == 0 ) return SQLITE_NOMEM;
  memset(pCsr, 0, sizeof(*pCsr));
  *ppCursor = &pCsr->base;
  return SQLITE_OK;
}

static int pending_close(sqlite3_vtab_cursor *pCursor){
  pending_cursor_clear((pending_cursor*)pCursor);
  sqlite3_free(pCursor);
  return SQLITE_OK;
}

static int pending_filter(sqlite3_vtab_cursor *pCursor, int idxNum, const char *idxStr,
                          int argc, sqlite3_value **argv){
  pending_cursor *pCsr = (pending_cursor*)pCursor;
  sqlite3 *db = ((pending_vtab*)pCursor->pVtab)->pConn->db;
  deferred_op *p;
  int n = 0, rc = SQLITE_OK;
  (void)idxNum; (void)idxStr; (void)argc; (void)argv;
  pending_cursor_clear(pCsr);
  pthread_mutex_lock(&deferred_mutex);
  for(p = deferred_list; p; p = p->pNext) n += p->db == db;
  pCsr->azRow = sqlite3_malloc64(sizeof(char*) * 3 * (size_t)(n ? n : 1));
  if( pCsr->azRow == 0 ){
    rc = SQLITE_NOMEM;
  }else{
    for(p = deferred_list; p; p = p->pNext){
      char **az;
      if( p->db != db ) continue;
      az = &pCsr->azRow[pCsr->nRow * 3];
      az[0] = sqlite3_mprintf("%s", p->eOp == DEFERRED_RENAME ? "rename"
                                  : p->eOp == DEFERRED_CREATE ? "create" : "drop");
      az[1] = p->eOp == DEFERRED_RENAME ? sqlite3_mprintf("%s -> %s", p->zName, p->zNew)
                                        : sqlite3_mprintf("%s", p->zName);
      az[2] = sqlite3_mprintf("%s", p->zDir);
      pCsr->nRow++;
      if( !az[0] || !az[1] || !az[2] ) rc = SQLITE_NOMEM;
    }
  }
  pthread_mutex_unlock(&deferred_mutex);
  return rc;
}

static int pending_next(sqlite3_vtab_cursor *pCursor){
  ((pending_cursor*)pCursor)->iRow++;
  return SQLITE_OK;
}

static int pending_eof(sqlite3_vtab_cursor *pCursor){
  pending_cursor *pCsr = (pending_cursor*)pCursor;
  return pCsr->iRow >= pCsr->nRow;
}

static int pending_column(sqlite3_vtab_cursor *pCursor, sqlite3_context *ctx, int iCol){
  pending_cursor *pCsr = (pending_cursor*)pCursor;
  sqlite3_result_text(ctx, pCsr->azRow[pCsr->iRow * 3 + iCol], -1, SQLITE_TRANSIENT);
  return SQLITE_OK;
}

static int pending_rowid(sqlite3_vtab_cursor *pCursor, sqlite3_int64 *pRowid){
  *pRowid = ((pending_cursor*)pCursor)->iRow + 1;
  return SQLITE_OK;
}

/* Only deferred_join writes, to make the table part of the transaction. */
static int pending_update(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                          sqlite3_int64 *pRowid){
  pending_vtab *p = (pending_vtab*)pVtab;
  (void)argc; (void)argv; (void)pRowid;
  if( p->pConn->bJoining ){
    p->pConn->bJoined = 1;
    return SQLITE_OK;
  }
  sqlite3_free(pVtab->zErrMsg);
  pVtab->zErrMsg = sqlite3_mprintf("lsm_pending is read-only");
  return SQLITE_ERROR;
}

static int pending_begin(sqlite3_vtab *pVtab){
  ((pending_vtab*)pVtab)->pConn->nOpen = 0;
  return SQLITE_OK;
}

/* A kept dropped table logs its batch if a ROLLBACK TO brought it back
** (and nothing if not: its store is dropped). */
static int pending_sync(sqlite3_vtab *pVtab){
  deferred_conn *pConn = ((pending_vtab*)pVtab)->pConn;
  vtab_table *p;
  int rc = SQLITE_OK;
  for(p = pConn->pDropped; p && rc == SQLITE_OK; p = p->pNextDropped){
    if( p->pStore == 0 ){
      /* A directory store: its engine reference went with the DROP
      ** (deferred_drop); brought back, the table takes one again. */
      char *zErr = 0;
      if( !deferred_dropped_is_back(p) ) continue;
      if( p->pLsm == 0 ){
        rc = registry_open(p->zDir, &p->opt, 0, &p->pLsm, &zErr);
        if( rc != SQLITE_OK ){
          sqlite3_free(pVtab->zErrMsg);
          pVtab->zErrMsg = zErr;
          break;
        }
      }
    }
    rc = deferred_dropped_error(pVtab, p, txn_sync(&p->base));
  }
  return rc;
}

static int pending_commit(sqlite3_vtab *pVtab){
  deferred_conn *pConn = ((pending_vtab*)pVtab)->pConn;
  deferred_created_end(pConn);
  deferred_dropped_end(pConn, 1);
  deferred_finish(pConn->db, -1, 1);
  pConn->nOpen = 0;
  return SQLITE_OK;
}

static int pending_rollback(sqlite3_vtab *pVtab){
  deferred_conn *pConn = ((pending_vtab*)pVtab)->pConn;
  deferred_created_end(pConn);
  deferred_dropped_end(pConn, 0);
  deferred_finish(pConn->db, -1, 0);
  pConn->nOpen = 0;
  return SQLITE_OK;
}

static int pending_savepoint(sqlite3_vtab *pVtab, int iSavepoint){
  deferred_conn *pConn = ((pending_vtab*)pVtab)->pConn;
  vtab_table *p;
  int rc = SQLITE_OK, i;
  if( iSavepoint >= pConn->nOpenedAlloc ){
    int nNew = iSavepoint + 8;
    uint64_t *aNew = sqlite3_realloc64(pConn->aOpenedAt, sizeof(uint64_t) * (size_t)nNew);
    if( aNew == 0 ) return SQLITE_NOMEM;
    pConn->aOpenedAt = aNew;
    pConn->nOpenedAlloc = nNew;
  }
  /* Savepoints below iSavepoint not heard of were open when lsm_pending
  ** joined (SQLite then names only the innermost): opened by now. */
  pConn->iEvent++;
  for(i = pConn->nOpen < iSavepoint ? pConn->nOpen : iSavepoint; i <= iSavepoint; i++){
    pConn->aOpenedAt[i] = pConn->iEvent;
  }
  pConn->nOpen = iSavepoint + 1;
  for(p = pConn->pDropped; p && rc == SQLITE_OK; p = p->pNextDropped){
    rc = deferred_dropped_error(pVtab, p, txn_savepoint(&p->base, iSavepoint));
  }
  return rc;
}

/* Savepoints iSavepoint and above end: what was made in them now belongs
** to the savepoint around them. */
static int pending_release(sqlite3_vtab *pVtab, int iSavepoint){
  deferred_conn *pConn = ((pending_vtab*)pVtab)->pConn;
  deferred_op *p;
  if( iSavepoint < 0 ) iSavepoint = 0;
  pthread_mutex_lock(&deferred_mutex);
  for(p = deferred_list; p; p = p->pNext){
    if( p->db == pConn->db && p->iLevel > iSavepoint ) p->iLevel = iSavepoint;
  }
  pthread_mutex_unlock(&deferred_mutex);
  if( iSavepoint < pConn->nOpen ) pConn->nOpen = iSavepoint;
  {
    vtab_table *pDropped;
    for(pDropped = pConn->pDropped; pDropped; pDropped = pDropped->pNextDropped){
      txn_release(&pDropped->base, iSavepoint);
    }
  }
  return SQLITE_OK;
}

/* Back to the start of savepoint iSavepoint: undo what was made in it.
** -1 is the savepoint that opened the transaction (SAVEPOINT outside
** BEGIN): everything is undone. */
static int pending_rollback_to(sqlite3_vtab *pVtab, int iSavepoint){
  deferred_conn *pConn = ((pending_vtab*)pVtab)->pConn;
  vtab_table *p;
  /* -1 (SAVEPOINT outside BEGIN, rolled back to) undoes every CREATE of
  ** the transaction: the CREATEs were all made inside that savepoint. */
  if( iSavepoint < 0 || iSavepoint < pConn->nOpen ){
    for(p = pConn->pCreated; p; p = p->pNextCreated){
      if( (iSavepoint < 0 || p->iCreatedAt > pConn->aOpenedAt[iSavepoint])
       && !p->bCreateUndone ){
        p->bCreateUndone = 1;
        lsm_batch_truncate(p->pTxn->pBatch, 0);
        p->nMark = 0;
      }
    }
  }
  for(p = pConn->pDropped; p; p = p->pNextDropped) txn_rollback_to(&p->base, iSavepoint);
  deferred_finish(pConn->db, iSavepoint < 0 ? -1 : iSavepoint, 0);
  pConn->nOpen = iSavepoint < 0 ? 0 : iSavepoint + 1;
  return SQLITE_OK;
}

static sqlite3_module pending_module = {
  2,                  /* iVersion: savepoints */
  0,                  /* xCreate: none, eponymous only */
  pending_connect,    /* xConnect */
  pending_best_index, /* xBestIndex: a full scan of a short list */
  pending_disconnect, /* xDisconnect */
  0,                  /* xDestroy */
  pending_open,       /* xOpen */
  pending_close,      /* xClose */
  pending_filter,     /* xFilter: copy this connection's waiting changes */
  pending_next,       /* xNext */
  pending_eof,        /* xEof */
  pending_column,     /* xColumn */
  pending_rowid,      /* xRowid */
  pending_update,     /* xUpdate: deferred_join's INSERT only */
  pending_begin,      /* xBegin: joined the transaction */
  pending_sync,       /* xSync: kept dropped tables brought back log their writes */
  pending_commit,     /* xCommit: SQLite committed: do the waiting changes */
  pending_rollback,   /* xRollback: forget them */
  0,                  /* xFindFunction */
  0,                  /* xRename */
  pending_savepoint,  /* xSavepoint */
  pending_release,    /* xRelease */
  pending_rollback_to,/* xRollbackTo: forget those made in the savepoint */
  0                   /* xShadowName */
};

/* A module registered with the state goes.  When the connection closes,
** a transaction still open was rolled back (and lsm_pending's xRollback
** ran); anything left is undone. */
static void deferred_conn_unref(void *p){
  deferred_conn *pConn = p, **pp;
  int nRef;
  if( pConn == 0 ) return;
  pthread_mutex_lock(&deferred_mutex);
  nRef = --pConn->nRef;
  if( nRef == 0 ){
    for(pp = &deferred_conns; *pp && *pp != pConn; pp = &(*pp)->pNext){}
    if( *pp ) *pp = pConn->pNext;
  }
  pthread_mutex_unlock(&deferred_mutex);
  if( nRef > 0 ) return;
  deferred_created_end(pConn);
  deferred_dropped_end(pConn, 0);
  deferred_finish(pConn->db, -1, 0);
  registry_unpin_connection(pConn->db);   /* its in-memory stores (registry.c) */
  sqlite3_free(pConn->aOpenedAt);
  sqlite3_free(pConn);
}

/* ---- shared with extension.c and vtab.c ---- */

int deferred_register(sqlite3 *db, const sqlite3_module *pLsmModule){
  deferred_conn *pConn;
  int rc;
  pthread_mutex_lock(&deferred_mutex);
  for(pConn = deferred_conns; pConn && pConn->db != db; pConn = pConn->pNext){}
  if( pConn == 0 && (pConn = sqlite3_malloc(sizeof(*pConn))) != 0 ){
    memset(pConn, 0, sizeof(*pConn));
    pConn->db = db;
    pConn->pNext = deferred_conns;
    deferred_conns = pConn;
  }
  if( pConn ) pConn->nRef += 2;
  pthread_mutex_unlock(&deferred_mutex);
  if( pConn == 0 ) return SQLITE_NOMEM;
  /* Each destructor runs when its module goes, also when registering
  ** fails (then at once). */
  rc = sqlite3_create_module_v2(db, "lsm_pending", &pending_module, pConn, deferred_conn_unref);
  if( rc != SQLITE_OK ){
    deferred_conn_unref(pConn);     /* the reference "lsm" would have held */
    return rc;
  }
  return sqlite3_create_module_v2(db, "lsm", pLsmModule, pConn, deferred_conn_unref);
}

/* A new op of kind eOp for pTab (zNew: RENAME's new name, else NULL),
** with the connection already joined to the transaction, so that its
** xCommit or xRollback is sure to come.  NULL with *pRc set on failure
** (*pzErr says why when SQLite's join failed). */
static deferred_op *deferred_op_new(vtab_table *pTab, int eOp, const char *zNew,
                                    int *pRc, char **pzErr){
  deferred_op *p = sqlite3_malloc(sizeof(*p));
  int rc;
  if( p == 0 ){
    *pRc = SQLITE_NOMEM;
    return 0;
  }
  memset(p, 0, sizeof(*p));
  p->eOp = eOp;
  p->zDir = sqlite3_mprintf("%s", pTab->zDir);
  p->zKey = deferred_realpath(pTab->zDir);
  p->bKeyReal = p->zKey != 0;
  if( p->zKey == 0 ) p->zKey = sqlite3_mprintf("%s", pTab->zDir);
  p->zDb = sqlite3_mprintf("%s", pTab->zDb);
  p->zName = sqlite3_mprintf("%s", pTab->zName);
  p->zNew = zNew ? sqlite3_mprintf("%s", zNew) : 0;
  p->zDbPath = pTab->zDbPath ? sqlite3_mprintf("%s", pTab->zDbPath) : 0;
  if( !p->zDir || !p->zKey || !p->zDb || !p->zName || (zNew && !p->zNew)
   || (pTab->zDbPath && !p->zDbPath) ){
    deferred_op_free(p);
    *pRc = SQLITE_NOMEM;
    return 0;
  }
  rc = deferred_join(pTab->pDeferred, pzErr);
  if( rc != SQLITE_OK ){
    deferred_op_free(p);
    *pRc = rc;
    return 0;
  }
  return p;
}

/*
** The name OWNERS has for pTab: a RENAME earlier in the transaction
** changes OWNERS only at COMMIT (its op waits in the list, newest first),
** so a DROP after it must look for the name before it.  sqlite3_free.
*/
static char *deferred_owners_name(vtab_table *pTab){
  char *zName = sqlite3_mprintf("%s", pTab->zName);
  deferred_op *p;
  pthread_mutex_lock(&deferred_mutex);
  for(p = deferred_list; p && zName; p = p->pNext){
    if( p->eOp == DEFERRED_RENAME && p->db == pTab->pDeferred->db
     && strcmp(p->zDir, pTab->zDir) == 0 && sqlite3_stricmp(p->zNew, zName) == 0 ){
      sqlite3_free(zName);
      zName = sqlite3_mprintf("%s", p->zName);
    }
  }
  pthread_mutex_unlock(&deferred_mutex);
  return zName;
}

int deferred_drop(vtab_table *pTab, char **pzErr){
  deferred_op *p;
  int rc, bLast = 1;
  char zMade[PATH_MAX];
  char *zOwnersName;
  if( pTab->pDeferred == 0 ) return SQLITE_MISUSE;
  zOwnersName = deferred_owners_name(pTab);
  if( zOwnersName == 0 ) return SQLITE_NOMEM;
  rc = owners_release_check(pTab->zDir, pTab->zDbPath, zOwnersName, &bLast, pzErr);
  sqlite3_free(zOwnersName);
  if( rc != SQLITE_OK ) return rc;
  p = deferred_op_new(pTab, bLast ? DEFERRED_DROP : DEFERRED_LEAVE, 0, &rc, pzErr);
  if( p == 0 ) return rc;
  if( bLast && deferred_file_exists(pTab->zDir, 1) ){
    snprintf(zMade, sizeof(zMade), "%s/MADEDIR", pTab->zDir);
    p->bMadeDir = deferred_file_exists(zMade, 0);
    rc = deferred_mark(pTab->zDir, p->bMadeDir, pTab->zDbPath, pTab->zName, pzErr);
    if( rc != SQLITE_OK ){
      deferred_op_free(p);
      return rc;
    }
    p->bMarked = 1;
  }
  p->pLsm = pTab->pLsm;       /* the reference moves to the op */
  pTab->pLsm = 0;
  deferred_add(pTab->pDeferred, p);
  return SQLITE_OK;
}

int deferred_rename(vtab_table *pTab, const char *zNew, char **pzErr){
  deferred_op *p;
  int rc = SQLITE_OK;
  if( pTab->pDeferred == 0 ) return SQLITE_MISUSE;
  if( pTab->zDbPath == 0 ) return SQLITE_OK;      /* no OWNERS line */
  p = deferred_op_new(pTab, DEFERRED_RENAME, zNew, &rc, pzErr);
  if( p == 0 ) return rc;
  deferred_add(pTab->pDeferred, p);
  return SQLITE_OK;
}

int deferred_store_is_new(const char *zDir){
  DIR *pDir;
  struct dirent *pEnt;
  int bEmpty = 1;
  if( registry_destroy_pending(zDir) ) return 1;
  pDir = opendir(zDir);
  if( pDir == 0 ) return errno == ENOENT;
  while( bEmpty && (pEnt = readdir(pDir)) != 0 ){
    bEmpty = strcmp(pEnt->d_name, ".") == 0 || strcmp(pEnt->d_name, "..") == 0;
  }
  closedir(pDir);
  return bEmpty;
}

void deferred_create(vtab_table *pTab){
  deferred_op *p;
  char *zErr = 0;
  int rc = SQLITE_OK;
  if( pTab->pDeferred == 0 || pTab->zDir == 0 || pTab->pLsm == 0 ) return;
  if( !pTab->bMadeStore && !pTab->bClaimedOwners ) return;
  p = deferred_op_new(pTab, DEFERRED_CREATE, 0, &rc, &zErr);
  if( p == 0 ){
    sqlite3_log(rc, "lsm: CREATE VIRTUAL TABLE %s: a rollback of it will leave the store %s:"
                " %s", pTab->zName, pTab->zDir, zErr ? zErr : sqlite3_errstr(rc));
    sqlite3_free(zErr);
    return;
  }
  p->bNewStore = pTab->bMadeStore;
  p->bClaimed = pTab->bClaimedOwners;
  p->eCompaction = pTab->opt.compaction;
  deferred_add(pTab->pDeferred, p);
}

void deferred_note_open(vtab_table *pTab){
  deferred_op *p;
  char *zKey = 0;
  int bAny = 0;
  if( pTab->zDir == 0 ) return;
  pthread_mutex_lock(&deferred_mutex);
  for(p = deferred_list; p && !bAny; p = p->pNext) bAny = p->eOp == DEFERRED_CREATE;
  pthread_mutex_unlock(&deferred_mutex);
  if( !bAny ) return;
  /* Without a realpath (or memory) it cannot tell which CREATE it shares:
  ** every waiting CREATE keeps its store. */
  zKey = deferred_realpath(pTab->zDir);
  pthread_mutex_lock(&deferred_mutex);
  for(p = deferred_list; p; p = p->pNext){
    if( p->eOp != DEFERRED_CREATE ) continue;
    if( zKey && strcmp(p->zKey, zKey) != 0 ) continue;
    /* The CREATE's own table connected again (a schema change, a
    ** ROLLBACK TO) is not someone else. */
    if( p->db == pTab->db && sqlite3_stricmp(p->zDb, pTab->zDb) == 0
     && sqlite3_stricmp(p->zName, pTab->zName) == 0 ){
      continue;
    }
    p->bShared = 1;
  }
  pthread_mutex_unlock(&deferred_mutex);
  sqlite3_free(zKey);
}

int deferred_drop_waiting(const char *zDir){
  char *zKey = deferred_key(zDir);
  deferred_op *p;
  int bWaiting = 0;
  if( zKey == 0 ) return 0;
  pthread_mutex_lock(&deferred_mutex);
  for(p = deferred_list; p; p = p->pNext){
    if( (p->eOp == DEFERRED_DROP || p->eOp == DEFERRED_LEAVE) && strcmp(p->zKey, zKey) == 0 ){
      bWaiting = 1;
    }
  }
  pthread_mutex_unlock(&deferred_mutex);
  sqlite3_free(zKey);
  return bWaiting;
}

/* Whether table zName is in schema zDb of db, as this connection sees it. */
static int deferred_table_exists(sqlite3 *db, const char *zDb, const char *zName, int *pbExists){
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf("SELECT 1 FROM \"%w\".sqlite_schema WHERE type = 'table'"
                               " AND name = ?1 COLLATE NOCASE", zDb);
  int rc;
  *pbExists = 0;
  if( zSql == 0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if( rc == SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
    rc = sqlite3_step(pStmt);
    *pbExists = rc == SQLITE_ROW;
    rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? SQLITE_OK : rc;
  }
  sqlite3_finalize(pStmt);
  return rc;
}

int deferred_check_marker(vtab_table *pTab, int bCreate, int bLocked, char **pzErr){
  char *zMarkDb = 0, *zMarkName = 0;
  int bExists = 0, bMadeDir = 0, rc;
  int eState = 0;     /* 1: the DROP committed; 2: it did not; 0: cannot tell */
  if( !bLocked && deferred_drop_waiting(pTab->zDir) ){
    *pzErr = sqlite3_mprintf("lsm table %s: its store %s is being dropped by a transaction"
        " that has not ended: COMMIT or ROLLBACK it first", pTab->zName, pTab->zDir);
    return SQLITE_BUSY;
  }
  rc = deferred_read_marker(pTab->zDir, &bExists, &bMadeDir, &zMarkDb, &zMarkName, pzErr);
  if( rc != SQLITE_OK || !bExists ) return rc;
  if( zMarkDb[0] == 0 || !deferred_file_exists(zMarkDb, 0) ){
    /* Its database is gone (or never had a file): nothing can bring the
    ** table back. */
    eState = 1;
  }else if( pTab->zDbPath && strcmp(zMarkDb, pTab->zDbPath) == 0 ){
    int bThere = 0;
    rc = deferred_table_exists(pTab->db, pTab->zDb, zMarkName, &bThere);
    if( rc != SQLITE_OK ){
      *pzErr = sqlite3_mprintf("%s", sqlite3_errmsg(pTab->db));
    }else if( bCreate && sqlite3_stricmp(zMarkName, pTab->zName) == 0 ){
      eState = 1;       /* the name is free again: the table there is this new one */
    }else{
      eState = bThere ? 2 : 1;
    }
  }
  if( rc != SQLITE_OK ){
    /* *pzErr is set */
  }else if( !bLocked ){
    /* Before the store's lock: another process may be dropping it right
    ** now, and only a committed DROP's leftovers are removed, under the
    ** lock lsm_destroy takes (SQLITE_BUSY while someone holds it). */
    if( eState == 1 && bCreate ) rc = deferred_remove(pTab->zDir, 0, bMadeDir, pzErr);
  }else if( eState == 2 ){
    /* A DROP that never committed (its process died before the commit). */
    if( !pTab->opt.readonly ) (void)deferred_unmark(pTab->zDir);
  }else if( eState == 1 ){
    *pzErr = sqlite3_mprintf("lsm table %s: the store %s was dropped by DROP TABLE %s, which"
        " committed before its files were removed (a crash?): DROP TABLE %s here too, or"
        " CREATE a table at that path to remove the rest", pTab->zName, pTab->zDir,
        zMarkName, pTab->zName);
    rc = SQLITE_CANTOPEN;
  }else{
    *pzErr = sqlite3_mprintf("lsm table %s: the store %s is marked as dropped by table %s of"
        " database %s (its file " DEFERRED_MARKER "): open that database; if %s is gone"
        " there, remove the directory %s, else remove %s/" DEFERRED_MARKER,
        pTab->zName, pTab->zDir, zMarkName, zMarkDb, zMarkName, pTab->zDir, pTab->zDir);
    rc = SQLITE_CANTOPEN;
  }
  sqlite3_free(zMarkDb);
  sqlite3_free(zMarkName);
  return rc;
}

/* ---- a renamed table of the old default directory: <table>_dir ---- */

int deferred_is_shadow_name(const char *zSuffix){
  return sqlite3_stricmp(zSuffix, "dir") == 0;
}

int deferred_legacy_dir(sqlite3 *db, const char *zDb, const char *zTable, char **pzName){
  sqlite3_stmt *pStmt = 0;
  int bExists = 0, rc;
  char *zSql;
  *pzName = 0;
  zSql = sqlite3_mprintf("SELECT 1 FROM \"%w\".sqlite_schema WHERE type = 'table'"
                         " AND name = '%q_dir'", zDb, zTable);
  if( zSql == 0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  bExists = rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW;
  sqlite3_finalize(pStmt);
  pStmt = 0;
  if( rc != SQLITE_OK || !bExists ) return rc;
  zSql = sqlite3_mprintf("SELECT name FROM \"%w\".\"%w_dir\"", zDb, zTable);
  if( zSql == 0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if( rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW
   && sqlite3_column_type(pStmt, 0) == SQLITE_TEXT ){
    *pzName = sqlite3_mprintf("%s", (const char*)sqlite3_column_text(pStmt, 0));
    if( *pzName == 0 ) rc = SQLITE_NOMEM;
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* zNew NULL (DROP TABLE): only drop <table>_dir.  A table renamed back
** to the name its directory has needs no <table>_dir. */
int deferred_legacy_rename(vtab_table *pTab, const char *zDirName, const char *zNew){
  char *zSql;
  int rc;
  if( zNew == 0 || strcmp(zNew, zDirName) == 0 ){
    zSql = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\".\"%w_dir\"", pTab->zDb, pTab->zName);
  }else{
    zSql = sqlite3_mprintf(
        "DROP TABLE IF EXISTS \"%w\".\"%w_dir\";"
        "CREATE TABLE \"%w\".\"%w_dir\"(name TEXT NOT NULL);"
        "INSERT INTO \"%w\".\"%w_dir\"(name) VALUES (%Q);",
        pTab->zDb, pTab->zName, pTab->zDb, zNew, pTab->zDb, zNew, zDirName);
  }
  if( zSql == 0 ) return SQLITE_NOMEM;
  rc = sqlite3_exec(pTab->db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  return rc;
}
