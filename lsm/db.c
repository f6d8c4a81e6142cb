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

/* The readers the table cache may hold: max_open_tables, but at most
** half the process's file descriptor limit (each reader holds one), so
** that the default does not use up a 1024-descriptor limit that SQLite
** and the store's own WALs and new tables share. */
static int db_table_cache_capacity(const lsm_options *pOpt){
  struct rlimit lim;
  int n = pOpt->max_open_tables;
  if( getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY
   && lim.rlim_cur / 2 < (rlim_t)n ){
    n = (int)(lim.rlim_cur / 2);
    if( n < TABLE_CACHE_MIN_CAPACITY ) n = TABLE_CACHE_MIN_CAPACITY;
  }
  return n;
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
    pDb->pView = p;
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
  p->max_open_tables = 1000;     /* LevelDB's max_open_files */
  p->block_cache_bytes = 8u << 20;  /* LevelDB's default block cache */
  p->use_mmap = 1;
  p->compression = LSM_COMPRESSION_LZ4;
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

/* Whether zDir is a directory holding no file but (possibly) LOCK. */
static int dir_is_empty(lsm_env *pEnv, const char *zDir, int *pbEmpty){
  char **azName = NULL;
  int nName = 0, i, rc;
  rc = pEnv->xListDir(pEnv, zDir, &azName, &nName);
  *pbEmpty = 1;
  for(i = 0; rc == LSM_OK && i < nName; i++){
    if( strcmp(azName[i], "LOCK") != 0 ) *pbEmpty = 0;
  }
  env_free(pEnv, azName);
  return rc;
}

int lsm_open(const char *zDir, const lsm_options *pOpt, lsm_db **ppDb){
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_env *pEnv;
  char *zLock = NULL, *zManifest = NULL;
  int rc = LSM_OK, bExists = 0, bIsDir = 0, bNew = 0;

  error_clear();
  if( ppDb == NULL ) return LSM_MISUSE;
  *ppDb = NULL;
  if( pOpt ) opt = *pOpt; else lsm_options_default(&opt);
  rc = check_options(&opt);
  if( rc != LSM_OK ) return rc;

  pDb = calloc(1, sizeof(lsm_db));
  if( pDb == NULL ) return LSM_NOMEM;
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
  pDb->zDir = env_strdup_rc(pEnv, zDir, &rc);
  if( rc == LSM_OK ) rc = table_cache_new(pEnv, db_table_cache_capacity(&pDb->opt), &pDb->pTableCache);
  if( rc == LSM_OK ){
    rc = table_cache_set_blocks(pDb->pTableCache, pDb->opt.block_cache_bytes, pDb->opt.use_mmap);
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
    }
  }
  if( rc == LSM_OK ){
    zLock = filename_path(pEnv, zDir, FILENAME_LOCK, 0, &rc);
    zManifest = filename_path(pEnv, zDir, FILENAME_MANIFEST, 0, &rc);
  }
  /* Refuse a directory that is not a store before making anything in it. */
  if( rc == LSM_OK ) rc = pEnv->xExists(pEnv, zManifest, &bExists, &bIsDir);
  if( rc == LSM_OK && !bExists ){
    int bEmpty = 0;
    rc = dir_is_empty(pEnv, zDir, &bEmpty);
    if( rc == LSM_OK && !bEmpty ){
      rc = LSM_ERROR_MSG(LSM_CANTOPEN,
          "%s is not an lsm store: the directory is not empty and has no MANIFEST", zDir);
    }
  }
  /* A hosted store's host holds the locks that matter (lsm.h). */
  if( rc == LSM_OK && !pDb->opt.hosted ){
    rc = pDb->opt.readonly ? env_lock_shared(pEnv, zLock, &pDb->pLock)
                           : pEnv->xLock(pEnv, zLock, &pDb->pLock);
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
    lsm_close(pDb);
    error_raise(rc, __LINE__, "%s", zMsg[0] ? zMsg : lsm_errstr(rc));
    return rc;
  }
  *ppDb = pDb;
  return LSM_OK;
}

int lsm_close(lsm_db *pDb){
  int rc = LSM_OK;
  lsm_env *pEnv;
  if( pDb == NULL ) return LSM_OK;
  mutex_lock(&pDb->mutex);
  if( pDb->nCursor > 0 || pDb->nSnapshot > 0 ){
    mutex_unlock(&pDb->mutex);
    return LSM_ERROR_MSG(LSM_MISUSE, "lsm_close: cursors or snapshots are still open");
  }
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
  db_view_unref(pDb->pView);
  table_cache_free(pDb->pTableCache);     /* the last table went with the view */
  if( pDb->pLock ) pEnv->xUnlock(pDb->pLock);
  if( pEnv ) env_free(pEnv, pDb->zDir);
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

int lsm_destroy(const char *zDir, lsm_env *pEnv){
  lsm_file *pLock = NULL;
  char **azName = NULL;
  char *zLock;
  int nName = 0, i, rc = LSM_OK, bExists = 0, bIsDir = 0, nOther = 0;
  error_clear();
  if( zDir == NULL ) return LSM_MISUSE;
  if( pEnv == NULL ) pEnv = lsm_env_default();
  rc = pEnv->xExists(pEnv, zDir, &bExists, &bIsDir);
  if( rc != LSM_OK || !bExists ) return rc;
  if( !bIsDir ) return LSM_ERROR_MSG(LSM_CANTOPEN, "%s is not a store directory", zDir);
  zLock = filename_path(pEnv, zDir, FILENAME_LOCK, 0, &rc);
  if( rc == LSM_OK ) rc = pEnv->xLock(pEnv, zLock, &pLock);
  if( rc == LSM_OK ) rc = pEnv->xListDir(pEnv, zDir, &azName, &nName);
  for(i = 0; rc == LSM_OK && i < nName; i++){
    uint64_t iNumber;
    int eType = filename_parse(azName[i], &iNumber);
    char *zPath;
    if( eType == 0 ){ nOther++; continue; }
    if( eType == FILENAME_LOCK ) continue;
    zPath = env_mprintf_rc(pEnv, &rc, "%s/%s", zDir, azName[i]);
    if( zPath ) rc = pEnv->xUnlink(pEnv, zPath);
    env_free(pEnv, zPath);
  }
  /* Unlink LOCK while still holding it, so no other opener can take a
  ** lock on a file that is about to disappear. */
  if( rc == LSM_OK ) rc = pEnv->xUnlink(pEnv, zLock);
  if( pLock ) pEnv->xUnlock(pLock);
  if( rc == LSM_OK && nOther == 0 ) rc = pEnv->xRmdir(pEnv, zDir);
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
