/*
** db.c — the store's life cycle: lsm_open, lsm_close, lsm_destroy and
** the options; and the current view every reader and writer starts from.
** The store's parts and their lock order: see db_impl.h.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "db_impl.h"
#include "env.h"
#include "error.h"
#include "filename.h"
#include "merge_iter.h"

#define LSM_VERSION_STRING "lsm 0.1.0"

/* The readers the table cache may hold: max_open_tables, but, when
** readers read with xRead and so hold a descriptor each, at most half the
** process's file descriptor limit, so that the default does not use up a
** 1024-descriptor limit that SQLite and the store's own WALs and new
** tables share.  Mapped readers hold none (lsm.h, xMap). */
static int db_table_cache_capacity(const lsm_options *pOpt, const lsm_env *pEnv){
  struct rlimit lim;
  int n = pOpt->max_open_tables;
  int bMapped = pOpt->use_mmap && pEnv->xMap != NULL;
  if( !bMapped && getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY
   && lim.rlim_cur / 2 < (rlim_t)n ){
    n = (int)(lim.rlim_cur / 2);
    if( n < TABLE_CACHE_MIN_CAPACITY ) n = TABLE_CACHE_MIN_CAPACITY;
  }
  return n;
}


/* ------------------------------------------------------------------ */
/* fork()                                                              */
/* ------------------------------------------------------------------ */

/*
** A child of fork() gets a copy of its parent's stores without their
** threads, and their lock is its parent's: writing to one would corrupt
** it (the parent writes the same files), and closing one would join
** threads the child does not have.  Every child moves a process-wide
** generation counter; a store remembers the generation it was opened
** in, and refuses writes and close from any other.  The child opens the
** store itself instead, and gets LSM_BUSY while the parent holds it: its
** own open of LOCK is a new open file description, which flock(2) keeps
** out even though the child shares the parent's.
*/
static atomic_uint g_nForkGen;
static pthread_once_t g_forkOnce = PTHREAD_ONCE_INIT;

static void db_fork_child(void){
  atomic_fetch_add_explicit(&g_nForkGen, 1, memory_order_relaxed);
}

static void db_fork_init(void){
  (void)pthread_atfork(NULL, NULL, db_fork_child);
}

int db_check_process(lsm_db *pDb){
  if( atomic_load_explicit(&g_nForkGen, memory_order_relaxed) == pDb->iForkGen ){
    return LSM_OK;
  }
  return LSM_ERROR_MSG(LSM_MISUSE, "the store %s was opened before fork() by the parent of"
                       " this process: a child must open it itself", pDb->zDir);
}

/* ------------------------------------------------------------------ */
/* Views                                                               */
/* ------------------------------------------------------------------ */

void db_view_unref(db_view *p){
  int i;
  if( p == NULL ) return;
  if( atomic_fetch_sub_explicit(&p->nRef, 1, memory_order_acq_rel) != 1 ) return;
  memtable_unref(p->pMem);
  for(i = 0; i < p->nImm; i++) memtable_unref(p->apImm[i]);
  version_unref(p->pVersion);
  env_free(p->pEnv, p);
}

int db_view_install(lsm_db *pDb, memtable *pMem, memtable *const *apImm, int nImm,
                        version *pVersion){
  db_view *p = env_malloc(pDb->pEnv, sizeof(db_view));
  int i;
  mutex_assert_held(&pDb->mutex);
  if( p == NULL ) return LSM_NOMEM;
  atomic_init(&p->nRef, 1);
  p->pEnv = pDb->pEnv;
  p->pMem = pMem; memtable_ref(pMem);
  p->nImm = nImm;
  for(i = 0; i < nImm; i++){ p->apImm[i] = apImm[i]; memtable_ref(apImm[i]); }
  p->pVersion = pVersion; version_ref(pVersion);
  {
    db_view *pOld = pDb->pView;
    lsm_cursor *pSpare = pDb->pSpareCursor;
    pDb->pView = p;
    pDb->pSpareCursor = NULL;
    /* The spare reads pOld: a cursor opened from now on reads p.  Freeing
    ** it here does what db_view_unref(pOld) would do once no cursor
    ** reads pOld, plus its iterators' leaf locks (block cache). */
    db_cursor_free(pSpare);
    db_view_unref(pOld);
  }
  return LSM_OK;
}

db_view *db_view_acquire(lsm_db *pDb, uint64_t *pSeq){
  db_view *p;
  mutex_lock(&pDb->mutex);
  p = pDb->pView;
  atomic_fetch_add_explicit(&p->nRef, 1, memory_order_relaxed);
  if( pSeq ) *pSeq = pDb->lastSeq;
  mutex_unlock(&pDb->mutex);
  return p;
}

iter *db_merge_and_free(lsm_env *pEnv, iter **apIter, int nIter, int *pRc){
  iter *pMerge = NULL;
  int i;
  if( *pRc == LSM_OK ){
    pMerge = merge_iter_new(pEnv, apIter, nIter, pRc);
    nIter = 0;                 /* merge_iter_new owns them, even on failure */
  }
  for(i = 0; i < nIter; i++) iter_close(apIter[i]);
  env_free(pEnv, apIter);
  return pMerge;
}


void lsm_options_default(lsm_options *p){
  memset(p, 0, sizeof(*p));
  p->sync = LSM_SYNC_NORMAL;
  p->memtable_bytes = 4u << 20;
  p->block_bytes = 4096;
  p->bloom_bits = 10;
  p->compaction = LSM_COMPACTION_LEVELED;
  p->level_ratio = 10;
  p->background = 1;
  p->readonly = 0;
  p->create_if_missing = 1;
  p->max_open_tables = 10000;    /* mappings, not descriptors: lsm.h */
  p->table_cache_bytes = 64u << 20;
  /* RocksDB's default (LevelDB keeps 8 MiB).  Stores compress with lz4
  ** by default, and a compressed block that misses is decompressed again:
  ** callgrind, prof_sql dir 1000000 20000 seek (3 level-0, 5 level-1, 24
  ** level-2 tables), 64,304 instructions per seek with 8 MiB, 22,120 of
  ** them in LZ4_decompress_safe; 49,533 with 32 MiB, 9,136 in it. */
  p->block_cache_bytes = 32u << 20;
  p->use_mmap = 1;
  p->compression = LSM_COMPRESSION_LZ4;
}

int lsm_raise_sync(lsm_db *pDb, int eSync){
  int rc;
  if( pDb == NULL ) return LSM_MISUSE;
  error_clear();
  if( eSync < LSM_SYNC_OFF || eSync > LSM_SYNC_FULL ){
    return LSM_ERROR_MSG(LSM_MISUSE, "bad sync mode %d", eSync);
  }
  rc = db_check_process(pDb);
  if( rc != LSM_OK ) return rc;
  /* The next write leader hands it to the WAL (db_write); new WALs are
  ** opened with it. */
  mutex_lock(&pDb->mutex);
  if( eSync > pDb->opt.sync ) pDb->opt.sync = eSync;
  mutex_unlock(&pDb->mutex);
  return LSM_OK;
}

static int check_options(const lsm_options *p){
  if( p->sync < LSM_SYNC_OFF || p->sync > LSM_SYNC_FULL ) return LSM_ERROR_MSG(LSM_MISUSE, "bad sync mode %d", p->sync);
  if( p->memtable_bytes < 4096 ) return LSM_ERROR_MSG(LSM_MISUSE, "memtable_bytes must be at least 4096");
  if( p->block_bytes < 256 || p->block_bytes > (1 << 24) ) return LSM_ERROR_MSG(LSM_MISUSE, "block_bytes must be 256..16M");
  if( p->bloom_bits < 0 || p->bloom_bits > 64 ) return LSM_ERROR_MSG(LSM_MISUSE, "bloom_bits must be 0..64");
  if( p->level_ratio < 2 || p->level_ratio > 1000 ) return LSM_ERROR_MSG(LSM_MISUSE, "level_ratio must be 2..1000");
  if( p->max_open_tables < TABLE_CACHE_MIN_CAPACITY ){
    return LSM_ERROR_MSG(LSM_MISUSE, "max_open_tables must be at least %d", TABLE_CACHE_MIN_CAPACITY);
  }
  if( p->compression < LSM_COMPRESSION_NONE || p->compression > LSM_COMPRESSION_ZSTD ){
    return LSM_ERROR_MSG(LSM_MISUSE, "bad compression %d", p->compression);
  }
  if( p->compaction != LSM_COMPACTION_LEVELED && p->compaction != LSM_COMPACTION_TIERED ){
    return LSM_ERROR_MSG(LSM_MISUSE, "bad compaction style %d", p->compaction);
  }
  return LSM_OK;
}

/*
** What a store owns in its directory.  lsm_open creates the directory
** when it is missing, and then writes MADEDIR in it: lsm_destroy removes
** the directory only if that marker is there, so a directory the user
** made (an empty one adopted as a store) outlives the store.  An open
** that fails removes whatever it made: the directory (if it made it),
** the files of a store it was creating, a LOCK file it created.
*/
#define DB_MADEDIR_TEXT \
  "This directory was created by an lsm store: removing the store removes it.\n"

/* Create zDir/MADEDIR.  *pbMade is cleared if another opener (or an
** earlier creation a power cut undid half of) got there first. */
static int write_madedir(lsm_env *pEnv, const char *zDir, int *pbMade){
  lsm_file *pFile = NULL;
  int rc = LSM_OK, bExists = 0, bIsDir = 0;
  char *zPath = filename_path(pEnv, zDir, FILENAME_MADEDIR, 0, &rc);
  if( rc == LSM_OK ) rc = pEnv->xExists(pEnv, zPath, &bExists, &bIsDir);
  if( rc == LSM_OK && bExists ){
    *pbMade = 0;
  }else{
    if( rc == LSM_OK ) rc = pEnv->xOpen(pEnv, zPath, LSM_OPEN_WRITE | LSM_OPEN_EXCL, &pFile);
    if( rc == LSM_OK ) rc = pEnv->xAppend(pFile, DB_MADEDIR_TEXT, strlen(DB_MADEDIR_TEXT));
    if( pFile ){
      int rc2 = pEnv->xClose(pFile);
      if( rc == LSM_OK ) rc = rc2;
    }
  }
  env_free(pEnv, zPath);
  return rc;
}

/* Remove zDir/<name of eType, iNumber>; errors are ignored (cleanup). */
static void unlink_name(lsm_env *pEnv, const char *zDir, int eType, uint64_t iNumber){
  int rc = LSM_OK;
  char *zPath = filename_path(pEnv, zDir, eType, iNumber, &rc);
  if( zPath ) pEnv->xUnlink(pEnv, zPath);
  env_free(pEnv, zPath);
}

/*
** zDir has no MANIFEST: it may become a new store only if it holds
** nothing, or only what an interrupted creation by lsm_open left in a
** directory it made (MADEDIR, with LOCK or MANIFEST.tmp).  A LOCK without
** MADEDIR may be a user's file: such a directory is not a store, and
** nothing in it is touched.  *pbMarker: MADEDIR is there.
*/
static int dir_check_new(lsm_env *pEnv, const char *zDir, int *pbMarker){
  char **azName = NULL;
  int nName = 0, i, rc, bLock = 0, bOther = 0;
  *pbMarker = 0;
  rc = pEnv->xListDir(pEnv, zDir, &azName, &nName);
  for(i = 0; rc == LSM_OK && i < nName; i++){
    uint64_t iNumber;
    switch( filename_parse(azName[i], &iNumber) ){
      case FILENAME_MADEDIR:      *pbMarker = 1; break;
      case FILENAME_LOCK:
      case FILENAME_MANIFEST_TMP: bLock = 1; break;
      default:                    bOther = 1; break;
    }
  }
  env_free(pEnv, azName);
  if( rc == LSM_OK && bOther ){
    rc = LSM_ERROR_MSG(LSM_CANTOPEN,
        "%s is not an lsm store: the directory is not empty and has no MANIFEST", zDir);
  }else if( rc == LSM_OK && bLock && !*pbMarker ){
    rc = LSM_ERROR_MSG(LSM_CANTOPEN,
        "%s is not an lsm store: it holds a LOCK or MANIFEST.tmp file but no MANIFEST"
        " (remove them if creating a store there was interrupted)", zDir);
  }
  return rc;
}

/*
** A failed lsm_open: remove what it made.  The names are built, not
** listed, because listing needs a file descriptor and the failure may
** have been that none was left (EMFILE).  Called with the lock still
** held (if it was taken); pDb is closed here.
*/
static void open_failed_cleanup(lsm_db *pDb, const char *zDir, int rc, int bMadeDir,
                                int bMarker, int bNew, int bLockMade){
  lsm_env *pEnv = pDb->pEnv;
  int bLocked = pDb->pLock != NULL;
  int bOurDir = rc != LSM_BUSY && (bMadeDir || (bNew && bMarker));
  if( bLocked && bNew ){
    /* Every store file in the directory is this creation's (or an
    ** interrupted one's): the directory held no other (dir_check_new). */
    static const int aNumbered[] = { FILENAME_WAL, FILENAME_SST, FILENAME_TMP };
    uint64_t i;
    size_t j;
    for(i = 1; i <= pDb->iNextFile; i++){
      for(j = 0; j < sizeof(aNumbered) / sizeof(aNumbered[0]); j++){
        unlink_name(pEnv, zDir, aNumbered[j], i);
      }
    }
    unlink_name(pEnv, zDir, FILENAME_MANIFEST, 0);
    unlink_name(pEnv, zDir, FILENAME_MANIFEST_TMP, 0);
  }
  /* LOCK goes while it is still held (as lsm_destroy does). */
  if( (bLocked && (bNew || bLockMade)) || (!bLocked && bMadeDir && rc != LSM_BUSY) ){
    unlink_name(pEnv, zDir, FILENAME_LOCK, 0);
  }
  if( pDb->bMemory ) bOurDir = 0;     /* its env goes with lsm_close */
  lsm_close(pDb);
  if( bOurDir ){
    unlink_name(pEnv, zDir, FILENAME_MADEDIR, 0);
    pEnv->xRmdir(pEnv, zDir);          /* fails, harmlessly, if not empty */
  }
}

int lsm_open(const char *zDir, const lsm_options *pOpt, lsm_db **ppDb){
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_env *pEnv;
  char *zLock = NULL, *zManifest = NULL;
  int rc = LSM_OK, bExists = 0, bIsDir = 0, bNew = 0;
  int bMadeDir = 0;         /* this call created zDir (and MADEDIR)      */
  int bMarker = 0;          /* MADEDIR was there: an earlier lsm_open made zDir */
  int bLockExisted = 0, bLockMade = 0;   /* LOCK was there / this call made it */

  error_clear();
  if( ppDb == NULL ) return LSM_MISUSE;
  *ppDb = NULL;
  if( pOpt ) opt = *pOpt; else lsm_options_default(&opt);
  rc = check_options(&opt);
  if( rc != LSM_OK ) return rc;

  (void)pthread_once(&g_forkOnce, db_fork_init);
  pDb = calloc(1, sizeof(lsm_db));
  if( pDb == NULL ) return LSM_NOMEM;
  pDb->iForkGen = atomic_load_explicit(&g_nForkGen, memory_order_relaxed);
  mutex_init(&pDb->mutex);
  mutex_init(&pDb->workMutex);
  mutex_init(&pDb->flushMutex);
  mutex_init(&pDb->installMutex);
  pthread_cond_init(&pDb->flushCond, NULL);
  pthread_cond_init(&pDb->cond, NULL);
  pthread_cond_init(&pDb->workCond, NULL);
  pDb->opt = opt;
  if( zDir == NULL || strcmp(zDir, ":memory:") == 0 ){
    pDb->bMemory = 1;
    pDb->pOwnedEnv = lsm_env_memory();
    if( pDb->pOwnedEnv == NULL ){ lsm_close(pDb); return LSM_NOMEM; }
    zDir = DB_MEMORY_DIR;
    pDb->opt.readonly = 0;
    pDb->opt.hosted = 0;
  }
  /* A hosted store's host orders writers and decides when work runs. */
  if( pDb->opt.hosted ) pDb->opt.background = 0;
  pDb->bNoWal = pDb->bMemory || pDb->opt.hosted;
  pEnv = pDb->pEnv = pDb->pOwnedEnv ? pDb->pOwnedEnv : (opt.env ? opt.env : lsm_env_default());
  pDb->opt.env = pEnv;
  arena_pool_init(&pDb->memtablePool, pEnv, (size_t)pDb->opt.memtable_bytes + DB_ARENA_POOL_SLACK);
  pDb->zDir = env_strdup_rc(pEnv, zDir, &rc);
  if( rc == LSM_OK ) rc = table_cache_new(pEnv, db_table_cache_capacity(&pDb->opt, pEnv),
                                         pDb->opt.table_cache_bytes, &pDb->pTableCache);
  if( rc == LSM_OK ){
    rc = table_cache_set_blocks(pDb->pTableCache, pDb->opt.block_cache,
                                pDb->opt.block_cache_bytes, pDb->opt.use_mmap);
  }

  /* The directory: a store, an empty directory, or nothing yet. */
  if( rc == LSM_OK ) rc = pEnv->xExists(pEnv, zDir, &bExists, &bIsDir);
  if( rc == LSM_OK && bExists && !bIsDir ){
    rc = LSM_ERROR_MSG(LSM_CANTOPEN, "%s is a file, not a store directory", zDir);
  }
  if( rc == LSM_OK && !bExists ){
    if( !opt.create_if_missing || opt.readonly ){
      rc = LSM_ERROR_MSG(LSM_CANTOPEN, "store directory %s does not exist", zDir);
    }else{
      rc = pEnv->xMkdir(pEnv, zDir);
      if( rc == LSM_OK && !pDb->bMemory ){
        bMadeDir = 1;
        rc = write_madedir(pEnv, zDir, &bMadeDir);
      }
    }
  }
  if( rc == LSM_OK ){
    zLock = filename_path(pEnv, zDir, FILENAME_LOCK, 0, &rc);
    zManifest = filename_path(pEnv, zDir, FILENAME_MANIFEST, 0, &rc);
  }
  /* Refuse a directory that is not a store before making anything in it. */
  if( rc == LSM_OK ) rc = pEnv->xExists(pEnv, zManifest, &bExists, &bIsDir);
  if( rc == LSM_OK && !bExists ) rc = dir_check_new(pEnv, zDir, &bMarker);
  /* A hosted store's host holds the locks that matter (lsm.h). */
  if( rc == LSM_OK && !pDb->opt.hosted ){
    rc = pEnv->xExists(pEnv, zLock, &bLockExisted, &bIsDir);
    if( rc == LSM_OK ){
      rc = pDb->opt.readonly ? env_lock_shared(pEnv, zLock, &pDb->pLock)
                             : pEnv->xLock(pEnv, zLock, &pDb->pLock);
    }
    if( rc == LSM_OK ) bLockMade = !bLockExisted;
  }
  /* Under the lock: another process may have made the store meanwhile. */
  if( rc == LSM_OK ) rc = pEnv->xExists(pEnv, zManifest, &bExists, &bIsDir);
  if( rc == LSM_OK ) bNew = !bExists;
  if( rc == LSM_OK && bNew && opt.hosted && !opt.create_if_missing ){
    rc = LSM_CORRUPT_BKPT("%s: the store has no MANIFEST", zDir);
  }
  if( rc == LSM_OK ) rc = db_recover(pDb, bNew);
  if( rc == LSM_OK && pDb->opt.background && !pDb->opt.readonly ){
    if( pthread_create(&pDb->worker, NULL, db_worker_main, pDb) != 0 ){
      rc = LSM_ERROR_MSG(LSM_ERROR, "cannot start the background thread");
    }else if( pthread_create(&pDb->flusher, NULL, db_flusher_main, pDb) != 0 ){
      mutex_lock(&pDb->mutex);
      pDb->bShutdown = 1;
      pthread_cond_signal(&pDb->workCond);
      mutex_unlock(&pDb->mutex);
      pthread_join(pDb->worker, NULL);
      rc = LSM_ERROR_MSG(LSM_ERROR, "cannot start the background thread");
    }else{
      pDb->bWorker = 1;
      mutex_lock(&pDb->mutex);
      db_schedule_work(pDb);      /* recovery may have left compactions due */
      mutex_unlock(&pDb->mutex);
    }
  }
  if( rc == LSM_OK && bNew && !pDb->bMemory && !pDb->opt.readonly ){
    rc = pEnv->xSyncDir(pEnv, zDir);
  }
  env_free(pEnv, zLock);
  env_free(pEnv, zManifest);
  if( rc != LSM_OK ){
    char zMsg[512];
    snprintf(zMsg, sizeof(zMsg), "%s", error_message());
    open_failed_cleanup(pDb, zDir, rc, bMadeDir, bMarker, bNew, bLockMade);
    error_raise(rc, __LINE__, "%s", zMsg[0] ? zMsg : lsm_errstr(rc));
    return rc;
  }
  pDb->bOpened = 1;
  *ppDb = pDb;
  return LSM_OK;
}

/* lsm_flush for lsm_close, twice if it fails: after a background flush
** failed, the first call only returns that error (and clears it, so that
** the job is tried again: db_write.c, make_room_for_write), and the
** flush thread stops at shutdown before trying; the second flushes.  With
** one call a close after a failed background flush lost the commits only
** the memtable held (a reviewer's driver: 31 of 32 in 4 runs of 5). */
static int close_flush(lsm_db *pDb){
  int rc = lsm_flush(pDb);
  if( rc != LSM_OK ) rc = lsm_flush(pDb);
  return rc;
}

int lsm_close(lsm_db *pDb){
  int rc = LSM_OK, rcFlush = LSM_OK;
  lsm_env *pEnv;
  if( pDb == NULL ) return LSM_OK;
  /* A child of fork() leaves its parent's store alone (its memory too:
  ** the parent's threads may have held its mutexes at the fork). */
  rc = db_check_process(pDb);
  if( rc != LSM_OK ) return rc;
  mutex_lock(&pDb->mutex);
  if( atomic_load(&pDb->nCursor) > 0 || pDb->nSnapshot > 0 || pDb->nPrepared > 0 ){
    mutex_unlock(&pDb->mutex);
    return LSM_ERROR_MSG(LSM_MISUSE, "lsm_close: cursors, snapshots or prepared batches"
                         " are still open");
  }
  {
    lsm_cursor *pSpare = pDb->pSpareCursor;
    pDb->pSpareCursor = NULL;
    mutex_unlock(&pDb->mutex);
    db_cursor_free(pSpare);
  }
  /* sync=off: the WAL's buffer may hold acknowledged commits; a
  ** sync=normal log written through a mapping is synced (wal_writer_finish).
  ** If that fails, a flush keeps them in an SSTable instead (and
  ** retires the log); close reports an error only if that fails too.
  ** REQUIRES (lsm.h): no other call on this db runs now, so this thread
  ** may use the WAL as the write leader would. */
  if( pDb->bOpened && pDb->pWal && wal_writer_finish(pDb->pWal) != LSM_OK ){
    rcFlush = close_flush(pDb);
  }else if( pDb->bOpened ){
    /* Commits applied without a log record (lsm_commit_prepared after a
    ** failed log write) live only in memory until a flush. */
    int bUnflushed;
    mutex_lock(&pDb->mutex);
    bUnflushed = pDb->seqUnlogged > pDb->flushedSeq;
    mutex_unlock(&pDb->mutex);
    if( bUnflushed ) rcFlush = close_flush(pDb);
  }
  /* A hosted store's flush being prepared goes unused: its memtable's
  ** batches are in the host's log. */
  db_flush_ahead_drop(pDb);
  mutex_lock(&pDb->mutex);
  pDb->bShutdown = 1;
  pthread_cond_broadcast(&pDb->cond);
  pthread_cond_signal(&pDb->workCond);
  pthread_cond_signal(&pDb->flushCond);
  mutex_unlock(&pDb->mutex);
  if( pDb->bWorker ){
    pthread_join(pDb->worker, NULL);
    pthread_join(pDb->flusher, NULL);
  }

  pEnv = pDb->pEnv;
  if( pDb->pWal ) rc = wal_writer_close(pDb->pWal);
  if( rcFlush != LSM_OK ) rc = rcFlush;
  db_view_unref(pDb->pView);
  table_cache_free(pDb->pTableCache);     /* the last table went with the view */
  if( pDb->pLock ) pEnv->xUnlock(pDb->pLock);
  if( pEnv ) env_free(pEnv, pDb->zDir);
  if( pEnv ) db_slice_state_clear(pEnv, &pDb->slice);
  /* After the view: the last memtable went with it (arena.h invariant 4). */
  if( pEnv ) arena_pool_destroy(&pDb->memtablePool);
  mutex_destroy(&pDb->mutex);
  mutex_destroy(&pDb->workMutex);
  mutex_destroy(&pDb->flushMutex);
  mutex_destroy(&pDb->installMutex);
  pthread_cond_destroy(&pDb->flushCond);
  pthread_cond_destroy(&pDb->cond);
  pthread_cond_destroy(&pDb->workCond);
  if( pDb->pOwnedEnv ) lsm_env_memory_free(pDb->pOwnedEnv);
  free(pDb);
  return rc;
}

/* Unlink zDir/<name of eType> (no number) into *pRc (sticky). */
static void unlink_name_rc(lsm_env *pEnv, const char *zDir, int eType, int *pRc){
  char *zPath = filename_path(pEnv, zDir, eType, 0, pRc);
  if( zPath ) *pRc = pEnv->xUnlink(pEnv, zPath);
  env_free(pEnv, zPath);
}

/* Which store files zDir holds: *pbManifest, *pbMarker (MADEDIR). */
static int dir_store_files(lsm_env *pEnv, const char *zDir, int *pbManifest, int *pbMarker){
  char **azName = NULL;
  int nName = 0, i, rc;
  *pbManifest = *pbMarker = 0;
  rc = pEnv->xListDir(pEnv, zDir, &azName, &nName);
  for(i = 0; rc == LSM_OK && i < nName; i++){
    uint64_t iNumber;
    int eType = filename_parse(azName[i], &iNumber);
    if( eType == FILENAME_MANIFEST ) *pbManifest = 1;
    if( eType == FILENAME_MADEDIR ) *pbMarker = 1;
  }
  env_free(pEnv, azName);
  return rc;
}

int lsm_destroy(const char *zDir, lsm_env *pEnv){
  lsm_file *pLock = NULL;
  char **azName = NULL;
  char *zLock;
  int nName = 0, i, rc = LSM_OK, bExists = 0, bIsDir = 0, nOther = 0;
  int bManifest = 0, bMarker = 0;
  error_clear();
  if( zDir == NULL ) return LSM_MISUSE;
  if( pEnv == NULL ) pEnv = lsm_env_default();
  rc = pEnv->xExists(pEnv, zDir, &bExists, &bIsDir);
  if( rc != LSM_OK || !bExists ) return rc;
  if( !bIsDir ) return LSM_ERROR_MSG(LSM_CANTOPEN, "%s is not a store directory", zDir);
  /* A directory with neither a manifest nor the marker lsm_open writes in
  ** a directory it makes is no store: nothing in it is the store's (a
  ** file named LOCK there is a user's), so nothing is removed. */
  rc = dir_store_files(pEnv, zDir, &bManifest, &bMarker);
  if( rc != LSM_OK || (!bManifest && !bMarker) ) return rc;
  zLock = filename_path(pEnv, zDir, FILENAME_LOCK, 0, &rc);
  if( rc == LSM_OK ) rc = pEnv->xLock(pEnv, zLock, &pLock);
  if( rc == LSM_OK ) rc = pEnv->xListDir(pEnv, zDir, &azName, &nName);
  /* What says "a store" goes last (MANIFEST, then MADEDIR after LOCK), so
  ** that a destroy interrupted at any unlink (a crash, an I/O error)
  ** leaves a directory the next lsm_destroy still recognises and
  ** finishes. */
  for(i = 0; rc == LSM_OK && i < nName; i++){
    uint64_t iNumber;
    int eType = filename_parse(azName[i], &iNumber);
    char *zPath;
    if( eType == 0 ){ nOther++; continue; }
    if( eType == FILENAME_LOCK || eType == FILENAME_MANIFEST || eType == FILENAME_MADEDIR ){
      continue;
    }
    zPath = env_mprintf_rc(pEnv, &rc, "%s/%s", zDir, azName[i]);
    if( zPath ) rc = pEnv->xUnlink(pEnv, zPath);
    env_free(pEnv, zPath);
  }
  if( rc == LSM_OK && bManifest ) unlink_name_rc(pEnv, zDir, FILENAME_MANIFEST, &rc);
  /* Unlink LOCK while still holding it, so no other opener can take a
  ** lock on a file that is about to disappear. */
  if( rc == LSM_OK ) rc = pEnv->xUnlink(pEnv, zLock);
  if( pLock ) pEnv->xUnlock(pLock);
  if( rc == LSM_OK && bMarker ) unlink_name_rc(pEnv, zDir, FILENAME_MADEDIR, &rc);
  /* The directory goes only if the store made it, and is now empty. */
  if( rc == LSM_OK && nOther == 0 && bMarker ) rc = pEnv->xRmdir(pEnv, zDir);
  env_free(pEnv, azName);
  env_free(pEnv, zLock);
  return rc;
}

void lsm_free(void *p){
  /* Every engine allocation handed to a caller comes from the env of its
  ** db; the default and memory envs both use malloc.  A custom env must
  ** also use malloc for this to hold (documented in lsm.h). */
  free(p);
}

const char *lsm_version(void){
  return LSM_VERSION_STRING;
}
