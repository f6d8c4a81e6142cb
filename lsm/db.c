/*
** db.c — the store: wires the memtables, the WAL, the versions and the
** worker together behind the API of lsm.h.
**
** Write path (group commit, after LevelDB): every writer queues a
** db_writer under db->mutex.  The writer at the head of the queue is the
** leader: it makes room (switching to a new memtable and WAL when the
** active one is full, stalling when level 0 backs up), takes the batches
** queued behind it, numbers them, appends one WAL record per batch,
** commits the WAL once for the group (one write, one sync), inserts the
** batches into the memtable, publishes the new last sequence number and
** wakes the others.  Only the leader touches the WAL and inserts into the
** memtable, so the skiplist sees one writer at a time.
**
** Read path: a reader pins a db_view (the active memtable, the immutable
** ones waiting to be flushed, and the current version) with one reference
** count, and reads at a sequence number: memtable, immutable memtables
** newest first, then SSTables newest to oldest.
**
** Up to DB_MAX_IMM full memtables wait for the flush thread, oldest
** flushed first; a writer waits only when all of them are still queued.
** One would do if flushes were always quick, but a flush shares the disk
** with compactions: writing and syncing a 4 MiB table took 60-70 ms at
** times, and a writer that filled the next memtable meanwhile waited
** that long (the slowest puts at 5M keys).
**
** Background work: with background=on, a flush thread turns the
** immutable memtable into a level-0 table as soon as there is one, and a
** compaction thread runs compactions; a long compaction therefore never
** delays a flush (writers wait on flushes).  With background=off the
** writer's thread does both.  A flush only adds a level-0 table and a
** compaction only removes the tables it picked, so each installs its edit
** on the current version (db_install) and the two run side by side.
**
** Locking rules (take them in this order, never the reverse):
**   - db->workMutex: held for a whole compaction (one at a time);
**   - db->flushMutex: held for a whole flush (one at a time);
**   - db->installMutex: held while a new version is built from the
**     current one, its manifest written and the view installed;
**   - db->mutex guards every field marked (M).  It is never held during
**     file I/O except the small WAL/manifest creations in make-room and
**     recovery.
**   - The leader writes the WAL and the memtable without db->mutex.
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "batch.h"
#include "compaction.h"
#include "db_iter.h"
#include "env.h"
#include "error.h"
#include "filename.h"
#include "ikey.h"
#include "manifest.h"
#include "memtable.h"
#include "merge_iter.h"
#include "version.h"
#include "wal.h"

#define LSM_VERSION_STRING "lsm 0.1.0"
#define DB_MEMORY_DIR "/memory"
#define DB_GROUP_MAX_BYTES (1u << 20)     /* batches one leader commits together */
/* A write that finds level 0 at COMPACTION_L0_SLOWDOWN tables sleeps this
** long once, giving the worker the CPU; short enough that the slowed
** writes stay under a millisecond (the p99.9 put-latency goal). */
#define DB_SLOWDOWN_MICROS 200
#define DB_COMPACTION_NICE 10     /* the compaction thread's nice value */
#define DB_MAX_IMM 2              /* immutable memtables waiting for a flush */

/* What a reader pins.  Immutable apart from nRef. */
typedef struct db_view {
  atomic_int nRef;
  lsm_env *pEnv;           /* allocator of this struct                 */
  memtable *pMem;          /* active memtable (a reference)           */
  memtable *apImm[DB_MAX_IMM];  /* immutable memtables, newest first   */
  int nImm;                /* how many                                 */
  version *pVersion;       /* SSTables                                 */
} db_view;

typedef struct db_writer db_writer;
struct db_writer {
  lsm_batch *pBatch;       /* NULL: a flush request                   */
  int bDone;               /* set by the leader that committed it     */
  int rc;
  pthread_cond_t cond;
  db_writer *pNext;
};

/*
** A snapshot pins the view it was taken in.  Everything it can read lies
** in that view (later writes to the same memtable have larger sequence
** numbers; later flushes and compactions make new tables, never change
** the pinned ones), so compactions need not know about snapshots.
*/
struct lsm_snapshot {
  lsm_db *pDb;
  uint64_t seq;            /* reads see seq <= this                    */
  db_view *pView;          /* pinned                                   */
};

struct lsm_cursor {
  lsm_db *pDb;
  db_view *pView;          /* pinned view                              */
  uint64_t seq;            /* snapshot sequence number                 */
  memtable *pBatchIndex;   /* reference to the overlaid batch's index  */
  db_iter *pIter;
};

typedef struct db_counters {
  atomic_uint_fast64_t nUserBytes, nWalBytes, nFlushBytes, nCompactionWritten, nCompactionRead;
  atomic_uint_fast64_t nFlushes, nCompactions;
  atomic_uint_fast64_t nGets, nGetProbes, nSeeks, nSeekProbes;
  atomic_uint_fast64_t nBloomChecks, nBloomNegatives, nBloomFalsePositives;
  atomic_uint_fast64_t nStalls, nStallMicros;
  atomic_uint_fast64_t anLevelRead[LSM_MAX_LEVELS], anLevelWritten[LSM_MAX_LEVELS];
  atomic_uint_fast64_t anLevelFromAbove[LSM_MAX_LEVELS];
} db_counters;

struct lsm_db {
  lsm_env *pEnv;            /* file system and allocator             */
  lsm_env *pOwnedEnv;       /* in-memory env owned by this db, or NULL */
  lsm_options opt;
  char *zDir;               /* store directory                        */
  int bMemory;              /* in-memory store: no WAL                */
  lsm_file *pLock;          /* held LOCK file                         */
  table_cache *pTableCache; /* open SSTable readers (max_open_tables)  */

  pthread_mutex_t mutex;
  pthread_cond_t cond;      /* (M) state changes: flush done, work done */
  pthread_cond_t workCond;  /* (M) the worker waits here for work       */
  pthread_mutex_t workMutex;    /* one compaction at a time             */
  pthread_mutex_t flushMutex;   /* one flush at a time                  */
  pthread_mutex_t installMutex; /* one version install at a time        */
  pthread_cond_t flushCond;     /* (M) the flush thread waits here      */

  db_view *pView;           /* (M) current view                       */
  uint64_t lastSeq;         /* (M) last sequence visible to readers   */
  uint64_t iNextFile;       /* (M) next file number                   */
  wal_writer *pWal;         /* leader-owned; swapped under (M)         */
  uint64_t iWalNumber;      /* (M) number of pWal's file               */
  uint64_t aiImmWal[DB_MAX_IMM]; /* (M) WAL of pView->apImm[i], or 0 (a
                            ** memtable recovered from older logs)      */
  db_writer *pWriterHead, *pWriterTail;  /* (M) write queue            */
  int nSnapshot;             /* (M) live snapshots                      */
  int nCursor;              /* (M) open cursors                        */
  int rcBackground;         /* (M) error of the last failed job        */
  int bWalBroken;           /* (M) a WAL write failed: rotate the WAL   */
  uint64_t nWalSize;        /* (M) pWal's bytes as of the last commit  */
  int rcFatal;              /* (M) a group is in the WAL but only partly in
                            ** the memtable: no more writes or flushes until
                            ** a reopen replays it whole                  */

  pthread_t worker;         /* compaction thread                       */
  pthread_t flusher;        /* flush thread                            */
  int bWorker;              /* both threads were started               */
  int bShutdown;            /* (M) worker must exit                    */
  int bWorkPending;         /* (M) worker should look for work         */

  db_counters stats;
};

static void stat_add(atomic_uint_fast64_t *p, uint64_t n){
  atomic_fetch_add_explicit(p, n, memory_order_relaxed);
}
static uint64_t stat_get(atomic_uint_fast64_t *p){
  return atomic_load_explicit(p, memory_order_relaxed);
}

static uint64_t now_micros(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

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

static void view_unref(db_view *p){
  int i;
  if( p == NULL ) return;
  if( atomic_fetch_sub_explicit(&p->nRef, 1, memory_order_acq_rel) != 1 ) return;
  memtable_unref(p->pMem);
  for(i = 0; i < p->nImm; i++) memtable_unref(p->apImm[i]);
  version_unref(p->pVersion);
  env_free(p->pEnv, p);
}

/* Replace the current view with one of (pMem, apImm[0..nImm), pVersion),
** taking new references to each.  REQUIRES db->mutex. */
static int view_install(lsm_db *pDb, memtable *pMem, memtable *const *apImm, int nImm,
                        version *pVersion){
  db_view *p = env_malloc(pDb->pEnv, sizeof(db_view));
  int i;
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
    view_unref(pOld);
  }
  return LSM_OK;
}

/* The current view with a new reference, and the last sequence number. */
static db_view *view_acquire(lsm_db *pDb, uint64_t *pSeq){
  db_view *p;
  pthread_mutex_lock(&pDb->mutex);
  p = pDb->pView;
  atomic_fetch_add_explicit(&p->nRef, 1, memory_order_relaxed);
  if( pSeq ) *pSeq = pDb->lastSeq;
  pthread_mutex_unlock(&pDb->mutex);
  return p;
}

/* The oldest sequence number a reader of the current version may read
** at.  Snapshots and cursors pin their own views (see lsm_snapshot), so
** this is the last sequence number.  REQUIRES mutex. */
static uint64_t smallest_snapshot(lsm_db *pDb){
  return pDb->lastSeq;
}

static uint64_t new_file_number(void *pCtx){
  lsm_db *pDb = pCtx;
  uint64_t n;
  pthread_mutex_lock(&pDb->mutex);
  n = pDb->iNextFile++;
  pthread_mutex_unlock(&pDb->mutex);
  return n;
}

/* ------------------------------------------------------------------ */
/* Manifest                                                            */
/* ------------------------------------------------------------------ */

/* Write the manifest for version pV.  REQUIRES installMutex;
** reads (M) fields under the mutex itself. */
static int db_write_manifest(lsm_db *pDb, version *pV, uint64_t iLogNumber){
  manifest_state st;
  int rc;
  memset(&st, 0, sizeof(st));
  pthread_mutex_lock(&pDb->mutex);
  st.iNextFile = pDb->iNextFile;
  st.iLastSeq = pDb->lastSeq;
  pthread_mutex_unlock(&pDb->mutex);
  st.iLogNumber = iLogNumber;
  st.eCompaction = pDb->opt.compaction;
  rc = version_to_manifest(pV, &st);
  if( rc == LSM_OK ) rc = manifest_write(pDb->pEnv, pDb->zDir, &st);
  manifest_state_clear(pDb->pEnv, &st);
  return rc;
}

/* Remove every file of the directory that the current state does not
** need: SSTables no version names (leftovers of an interrupted job), WALs
** older than iLogNumber, temporary files.  Called at open. */
static int db_remove_leftovers(lsm_db *pDb, version *pV, uint64_t iLogNumber){
  char **azName = NULL;
  int nName = 0, i, rc;
  rc = pDb->pEnv->xListDir(pDb->pEnv, pDb->zDir, &azName, &nName);
  for(i = 0; rc == LSM_OK && i < nName; i++){
    uint64_t iNumber;
    int eType = filename_parse(azName[i], &iNumber), bKeep = 1, iLevel, j;
    if( eType == FILENAME_SST ){
      bKeep = 0;
      for(iLevel = 0; iLevel < LSM_MAX_LEVELS && !bKeep; iLevel++){
        for(j = 0; j < pV->anFile[iLevel]; j++){
          if( pV->aapFile[iLevel][j]->meta.iNumber == iNumber ){ bKeep = 1; break; }
        }
      }
    }else if( eType == FILENAME_WAL ){
      bKeep = iNumber >= iLogNumber;
    }else if( eType == FILENAME_TMP || eType == FILENAME_MANIFEST_TMP ){
      bKeep = 0;
    }
    if( !bKeep ){
      char *zPath = env_mprintf_rc(pDb->pEnv, &rc, "%s/%s", pDb->zDir, azName[i]);
      if( zPath ) rc = pDb->pEnv->xUnlink(pDb->pEnv, zPath);
      env_free(pDb->pEnv, zPath);
    }
  }
  env_free(pDb->pEnv, azName);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Flush and compaction jobs                                           */
/* ------------------------------------------------------------------ */

static void job_setup(lsm_db *pDb, compaction_job *pJob, version *pV, iter *pInput, int iOutputLevel){
  int iLevel;
  memset(pJob, 0, sizeof(*pJob));
  pJob->pEnv = pDb->pEnv;
  pJob->zDir = pDb->zDir;
  pJob->pCache = pDb->pTableCache;
  pJob->sstOpt.block_bytes = pDb->opt.block_bytes;
  pJob->sstOpt.bloom_bits = pDb->opt.bloom_bits;
  pJob->pInput = pInput;
  pthread_mutex_lock(&pDb->mutex);
  pJob->smallestSnapshot = smallest_snapshot(pDb);
  pthread_mutex_unlock(&pDb->mutex);
  pJob->iOutputLevel = iOutputLevel;
  pJob->bBottom = 1;
  for(iLevel = iOutputLevel + 1; iLevel < LSM_MAX_LEVELS; iLevel++){
    if( pV->anFile[iLevel] ) pJob->bBottom = 0;
  }
  pJob->pVersion = pV;
  pJob->xNewFileNumber = new_file_number;
  pJob->pCtx = pDb;
}

/* True if a table of file iNumber is among ap (a moved table). */
static int table_number_in(uint64_t iNumber, table **ap, int n){
  int i;
  for(i = 0; i < n; i++) if( ap[i]->meta.iNumber == iNumber ) return 1;
  return 0;
}

static int db_install_locked(lsm_db*, table**, int, table**, int, int);

/* The oldest WAL whose records are not all in SSTables once the oldest
** bSkipOldest immutable memtables are: the manifest's log number.
** REQUIRES db->mutex. */
static uint64_t oldest_needed_wal(lsm_db *pDb, int bSkipOldest){
  int i;
  for(i = pDb->pView->nImm - 1 - (bSkipOldest ? 1 : 0); i >= 0; i--){
    if( pDb->aiImmWal[i] ) return pDb->aiImmWal[i];
  }
  return pDb->iWalNumber;
}

/*
** Install a new version: the current one minus apRemove plus apAdd (the
** current one, not the one the job started from: a flush may have added
** a level-0 table while a compaction ran; only the job that picked them
** removes tables, so apRemove are all still there).  Writes the
** manifest (without db->mutex), then publishes the version and marks the
** removed tables obsolete, except those whose file is re-added (moved to
** another level).  If bFlushDone, the immutable memtable is dropped from
** the view in the same step.  Takes installMutex.
*/
static int db_install(lsm_db *pDb, table **apRemove, int nRemove,
                      table **apAdd, int nAdd, int bFlushDone){
  int rc;
  pthread_mutex_lock(&pDb->installMutex);
  rc = db_install_locked(pDb, apRemove, nRemove, apAdd, nAdd, bFlushDone);
  pthread_mutex_unlock(&pDb->installMutex);
  pthread_mutex_lock(&pDb->mutex);
  pthread_cond_broadcast(&pDb->cond);     /* stalled writers look again */
  pthread_mutex_unlock(&pDb->mutex);
  return rc;
}

static int db_install_locked(lsm_db *pDb, table **apRemove, int nRemove,
                             table **apAdd, int nAdd, int bFlushDone){
  version *pNew = NULL, *pCur;
  uint64_t iLogNumber, iOldWal = 0;
  int rc, i;
  pthread_mutex_lock(&pDb->mutex);
  pCur = pDb->pView->pVersion;
  version_ref(pCur);
  pthread_mutex_unlock(&pDb->mutex);
  rc = version_apply(pCur, apRemove, nRemove, apAdd, nAdd, &pNew);
  version_unref(pCur);
  if( rc != LSM_OK ) return rc;
  pthread_mutex_lock(&pDb->mutex);
  /* Only the flush removes memtables, the oldest, under flushMutex: the
  ** flushed one is still apImm[nImm - 1] here. */
  iLogNumber = oldest_needed_wal(pDb, bFlushDone);
  if( bFlushDone ) iOldWal = pDb->aiImmWal[pDb->pView->nImm - 1];   /* 0 during recovery */
  pthread_mutex_unlock(&pDb->mutex);
  if( !pDb->bMemory ) rc = db_write_manifest(pDb, pNew, iLogNumber);
  if( rc == LSM_OK ){
    db_view *pView;
    pthread_mutex_lock(&pDb->mutex);
    pView = pDb->pView;
    rc = view_install(pDb, pView->pMem, pView->apImm, pView->nImm - (bFlushDone ? 1 : 0), pNew);
    if( rc == LSM_OK && bFlushDone ) pDb->aiImmWal[pDb->pView->nImm] = 0;
    pthread_mutex_unlock(&pDb->mutex);
  }
  if( rc == LSM_OK ){
    for(i = 0; i < nRemove; i++){
      if( !table_number_in(apRemove[i]->meta.iNumber, apAdd, nAdd) ){
        atomic_store(&apRemove[i]->bObsolete, 1);
      }
    }
    if( iOldWal ){
      int rc2 = LSM_OK;
      char *zWal = filename_path(pDb->pEnv, pDb->zDir, FILENAME_WAL, iOldWal, &rc2);
      if( zWal ) pDb->pEnv->xUnlink(pDb->pEnv, zWal);
      env_free(pDb->pEnv, zWal);
    }
  }
  version_unref(pNew);
  return rc;
}

/* Flush the oldest immutable memtable, if any, to a level-0 table.  Takes
** flushMutex: called by the flush thread, the writer (background=off),
** recovery and lsm_flush. */
static int db_flush_imm_locked(lsm_db *pDb);
static int db_flush_imm(lsm_db *pDb){
  int rc;
  pthread_mutex_lock(&pDb->flushMutex);
  rc = db_flush_imm_locked(pDb);
  pthread_mutex_unlock(&pDb->flushMutex);
  return rc;
}
static int db_flush_imm_locked(lsm_db *pDb){
  memtable *pImm;
  version *pV;
  iter *pInput = NULL;
  compaction_job job;
  compaction_result res;
  int rc = LSM_OK;

  pthread_mutex_lock(&pDb->mutex);
  if( pDb->rcFatal ){
    rc = pDb->rcFatal;
    pthread_mutex_unlock(&pDb->mutex);
    return rc;
  }
  pImm = pDb->pView->nImm ? pDb->pView->apImm[pDb->pView->nImm - 1] : NULL;
  pV = pDb->pView->pVersion;
  if( pImm ){ memtable_ref(pImm); version_ref(pV); }
  pthread_mutex_unlock(&pDb->mutex);
  if( pImm == NULL ) return LSM_OK;

  memset(&res, 0, sizeof(res));
  pInput = memtable_iter(pImm, &rc);
  if( rc == LSM_OK ){
    job_setup(pDb, &job, pV, pInput, 0);
    /* Always: a compaction running beside this flush may be about to
    ** install older data under these keys. */
    job.bKeepTombstones = 1;
    rc = compaction_run(&job, &res);
  }
  iter_close(pInput);
  if( rc == LSM_OK ){
    /* On failure the outputs stay on disk: the manifest may name them
    ** (renamed into place, then the directory sync failed).  The next
    ** open removes them if it does not. */
    rc = db_install(pDb, NULL, 0, res.apOut, res.nOut, 1);
  }
  if( rc == LSM_OK ){
    stat_add(&pDb->stats.nFlushes, 1);
    stat_add(&pDb->stats.nFlushBytes, res.nBytesWritten);
    stat_add(&pDb->stats.anLevelWritten[0], res.nBytesWritten);
    pthread_mutex_lock(&pDb->mutex);
    pthread_cond_broadcast(&pDb->cond);   /* stalled writers go on now */
    pthread_mutex_unlock(&pDb->mutex);
  }
  compaction_result_clear(pDb->pEnv, &res);
  memtable_unref(pImm);
  version_unref(pV);
  return rc;
}

/* Move tables to other levels without rewriting them: new table structs
** for the same files (the old ones are not obsolete: see db_install; the
** file's lifetime: see table_move). */
static int db_move_tables(lsm_db *pDb, table **apTable, const int *aiLevel, int n){
  table **apMoved = env_malloc(pDb->pEnv, sizeof(table*) * (size_t)n);
  int rc = apMoved ? LSM_OK : LSM_NOMEM, nMoved = 0, i;
  for(i = 0; rc == LSM_OK && i < n; i++){
    rc = table_move(apTable[i], aiLevel[i], &apMoved[nMoved]);
    if( rc == LSM_OK ) nMoved++;
  }
  if( rc == LSM_OK ) rc = db_install(pDb, apTable, n, apMoved, nMoved, 0);
  for(i = 0; i < nMoved; i++) table_unref(apMoved[i]);
  env_free(pDb->pEnv, apMoved);
  return rc;
}

/* One iterator over the first nIter iterators of apIter, which it takes
** (closed on error); frees the array.  NULL if *pRc holds an error. */
static iter *merge_and_free(lsm_env *pEnv, iter **apIter, int nIter, int *pRc){
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

/* Merge apInput (from levels iLevel and iLevel+1, or all levels for a
** full compaction) into iOutputLevel.  REQUIRES workMutex. */
static int db_merge_tables(lsm_db *pDb, version *pV, table **apInput, int nInput,
                           int iOutputLevel, lsm_compact_result *pResult){
  iter **apIter = NULL;
  iter *pMerge = NULL;
  compaction_job job;
  compaction_result res;
  uint64_t nRead = 0;
  int rc = LSM_OK, nIter = 0, i, j, iLevel;
  memset(&res, 0, sizeof(res));

  apIter = env_malloc_rc(pDb->pEnv, sizeof(iter*) * (size_t)(nInput + 1), &rc);
  /* L0 tables each get an iterator; tables of a sorted level share one. */
  for(iLevel = 0; rc == LSM_OK && iLevel < LSM_MAX_LEVELS; iLevel++){
    int nLevel = 0;
    for(i = 0; i < nInput; i++) if( apInput[i]->meta.iLevel == iLevel ) nLevel++;
    if( nLevel == 0 ) continue;
    if( iLevel == 0 ){
      for(i = 0; rc == LSM_OK && i < nInput; i++){
        if( apInput[i]->meta.iLevel != 0 ) continue;
        apIter[nIter] = table_iter(apInput[i], &rc);
        if( apIter[nIter] ) nIter++;
      }
    }else{
      table **ap = env_malloc_rc(pDb->pEnv, sizeof(table*) * (size_t)nLevel, &rc);
      int n = 0;
      if( ap ){
        /* apInput is in version order within a level, hence ascending. */
        for(j = 0; j < pV->anFile[iLevel]; j++){
          for(i = 0; i < nInput; i++){
            if( apInput[i] == pV->aapFile[iLevel][j] ){ ap[n++] = apInput[i]; break; }
          }
        }
        apIter[nIter] = level_iter_new(pDb->pEnv, ap, n, &rc);
        if( apIter[nIter] ) nIter++;
        env_free(pDb->pEnv, ap);
      }
    }
  }
  pMerge = merge_and_free(pDb->pEnv, apIter, nIter, &rc);

  if( rc == LSM_OK ){
    job_setup(pDb, &job, pV, pMerge, iOutputLevel);
    job.nTargetFileBytes = compaction_file_target(&pDb->opt);
    rc = compaction_run(&job, &res);
  }
  iter_close(pMerge);
  if( rc == LSM_OK ){
    /* On failure the outputs stay on disk (see db_flush_imm). */
    rc = db_install(pDb, apInput, nInput, res.apOut, res.nOut, 0);
  }
  if( rc == LSM_OK ){
    for(i = 0; i < nInput; i++){
      nRead += apInput[i]->meta.nFileBytes;
      if( apInput[i]->meta.iLevel < iOutputLevel ){
        stat_add(&pDb->stats.anLevelFromAbove[iOutputLevel], apInput[i]->meta.nFileBytes);
      }
    }
    stat_add(&pDb->stats.nCompactions, 1);
    stat_add(&pDb->stats.nCompactionRead, nRead);
    stat_add(&pDb->stats.nCompactionWritten, res.nBytesWritten);
    stat_add(&pDb->stats.anLevelRead[iOutputLevel], nRead);
    stat_add(&pDb->stats.anLevelWritten[iOutputLevel], res.nBytesWritten);
    if( pResult ){
      pResult->nEntriesAfter = 0;
      for(i = 0; i < res.nOut; i++) pResult->nEntriesAfter += res.apOut[i]->meta.nEntries;
      pResult->nBytesAfter = res.nBytesWritten;
      pResult->nTombstonesDropped = res.nTombstonesDropped;
    }
  }
  compaction_result_clear(pDb->pEnv, &res);
  return rc;
}

/* Run one compaction if the picker wants one.  *pbDid = 1 if it ran.
** REQUIRES workMutex. */
static int db_compact_once(lsm_db *pDb, int *pbDid){
  version *pV;
  compaction_pick pick;
  int rc = LSM_OK;
  *pbDid = 0;
  pthread_mutex_lock(&pDb->mutex);
  pV = pDb->pView->pVersion;
  version_ref(pV);
  pthread_mutex_unlock(&pDb->mutex);
  if( compaction_pick_next(pV, &pDb->opt, &pick) ){
    *pbDid = 1;
    if( pick.eKind == COMPACTION_MOVE ){
      rc = db_move_tables(pDb, pick.apInput, pick.aiMoveLevel, pick.nInput);
    }else{
      rc = db_merge_tables(pDb, pV, pick.apInput, pick.nInput, pick.iOutputLevel, NULL);
    }
    compaction_pick_clear(pDb->pEnv, &pick);
  }
  version_unref(pV);
  return rc;
}

/* Compact until nothing is due (or shutdown).  Takes workMutex. */
static int db_compact_all(lsm_db *pDb){
  int rc = LSM_OK, bDid = 1;
  pthread_mutex_lock(&pDb->workMutex);
  while( rc == LSM_OK && bDid ){
    pthread_mutex_lock(&pDb->mutex);
    bDid = !pDb->bShutdown;
    pthread_mutex_unlock(&pDb->mutex);
    if( bDid ) rc = db_compact_once(pDb, &bDid);
  }
  pthread_mutex_unlock(&pDb->workMutex);
  return rc;
}

/* Record a failed background job and wake every waiter. */
static void note_result(lsm_db *pDb, int rc){
  pthread_mutex_lock(&pDb->mutex);
  if( rc != LSM_OK ) pDb->rcBackground = rc;
  pthread_cond_broadcast(&pDb->cond);
  pthread_mutex_unlock(&pDb->mutex);
}

/* background=off: flush the immutable memtable, then compact until
** nothing is due, in the caller's thread. */
static int db_do_work(lsm_db *pDb){
  int rc = db_flush_imm(pDb);
  if( rc == LSM_OK ) rc = db_compact_all(pDb);
  note_result(pDb, rc);
  return rc;
}

/* Ask the compaction thread to look for work.  REQUIRES db->mutex. */
static void schedule_work(lsm_db *pDb){
  pDb->bWorkPending = 1;
  /* The threads' own conditions: waking db->cond here made a stalled
  ** writer and a waiting lsm_flush wake each other in turn. */
  pthread_cond_signal(&pDb->workCond);
}

/* Ask the flush thread to flush.  REQUIRES db->mutex. */
static void schedule_flush(lsm_db *pDb){
  pthread_cond_signal(&pDb->flushCond);
}

static void *worker_main(void *pArg){
  lsm_db *pDb = pArg;
  /* Compactions yield the CPU to writers and to the flush thread (a
  ** flush late by a few memtables stalls writers; a compaction late by a
  ** few seconds only grows level 0, which has room for it).  Linux
  ** applies a nice value to the calling thread alone. */
  (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), DB_COMPACTION_NICE);
  pthread_mutex_lock(&pDb->mutex);
  for(;;){
    while( !pDb->bShutdown && (!pDb->bWorkPending || pDb->rcBackground) ){
      pthread_cond_wait(&pDb->workCond, &pDb->mutex);
    }
    if( pDb->bShutdown ) break;
    pDb->bWorkPending = 0;
    pthread_mutex_unlock(&pDb->mutex);
    note_result(pDb, db_compact_all(pDb));
    pthread_mutex_lock(&pDb->mutex);
  }
  pthread_mutex_unlock(&pDb->mutex);
  return NULL;
}

static void *flusher_main(void *pArg){
  lsm_db *pDb = pArg;
  pthread_mutex_lock(&pDb->mutex);
  for(;;){
    while( !pDb->bShutdown && (pDb->pView->nImm == 0 || pDb->rcBackground) ){
      pthread_cond_wait(&pDb->flushCond, &pDb->mutex);
    }
    if( pDb->bShutdown ) break;
    pthread_mutex_unlock(&pDb->mutex);
    note_result(pDb, db_flush_imm(pDb));
    pthread_mutex_lock(&pDb->mutex);
    schedule_work(pDb);        /* level 0 grew: a compaction may be due */
  }
  pthread_mutex_unlock(&pDb->mutex);
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Write path                                                          */
/* ------------------------------------------------------------------ */

/* Switch to a new memtable (and WAL); the old one becomes the newest
** immutable one.  REQUIRES db->mutex, leader, nImm < DB_MAX_IMM. */
static int switch_memtable(lsm_db *pDb){
  memtable *pNew = NULL;
  wal_writer *pNewWal = NULL;
  uint64_t iNewWal = 0;
  int rc = memtable_new(pDb->pEnv, &pNew);
  if( rc == LSM_OK && !pDb->bMemory ){
    char *zPath;
    iNewWal = pDb->iNextFile++;
    zPath = filename_path(pDb->pEnv, pDb->zDir, FILENAME_WAL, iNewWal, &rc);
    if( rc == LSM_OK ) rc = wal_writer_open(pDb->pEnv, zPath, pDb->opt.sync, &pNewWal);
    /* With sync=full the new log's name must survive a power cut before
    ** the next manifest write: acknowledged commits live in it.  The other
    ** modes promise nothing across a power cut, and a killed process
    ** loses no directory entry. */
    if( rc == LSM_OK && pDb->opt.sync == LSM_SYNC_FULL ){
      rc = pDb->pEnv->xSyncDir(pDb->pEnv, pDb->zDir);
    }
    env_free(pDb->pEnv, zPath);
  }
  if( rc == LSM_OK ){
    db_view *pView = pDb->pView;
    memtable *apImm[DB_MAX_IMM];
    int i;
    apImm[0] = pView->pMem;
    for(i = 0; i < pView->nImm; i++) apImm[i + 1] = pView->apImm[i];
    rc = view_install(pDb, pNew, apImm, pView->nImm + 1, pView->pVersion);
  }
  if( rc != LSM_OK ){
    memtable_unref(pNew);
    if( pNewWal ) wal_writer_close(pNewWal);
    return rc;
  }
  memtable_unref(pNew);     /* the view holds it */
  memmove(&pDb->aiImmWal[1], &pDb->aiImmWal[0], sizeof(uint64_t) * (DB_MAX_IMM - 1));
  pDb->aiImmWal[0] = pDb->iWalNumber;
  if( pNewWal ){
    wal_writer *pOldWal = pDb->pWal;
    pDb->pWal = pNewWal;
    pDb->iWalNumber = iNewWal;
    pDb->nWalSize = 0;
    /* The old WAL must reach the OS before its memtable is flushed (its
    ** buffer may hold commits made with sync=off).  Closed last, when the
    ** switch can no longer fail: the store always has a log.  If the
    ** close fails, those commits live on in the memtable being flushed. */
    if( pOldWal ) rc = wal_writer_close(pOldWal);
  }
  return rc;
}

/*
** Make sure the active memtable has room, switching and flushing as
** needed; with bForce, switch even if it has room (lsm_flush).  Stalls
** (slowdown, then stop) when level 0 backs up.  REQUIRES db->mutex and
** the caller is the leader; may release and retake the mutex.
*/
static int make_room_for_write(lsm_db *pDb, int bForce){
  int bSlowed = 0;
  /* background=off flushes at once: never more than one memtable waits. */
  int nMaxImm = pDb->opt.background ? DB_MAX_IMM : 1;
  /* A failed WAL write may have left part of a record in the log: the
  ** log takes no more records, and the memtable (which does not hold the
  ** failed batch) is flushed so that the log becomes obsolete. */
  if( pDb->bWalBroken ) bForce = 1;
  for(;;){
    db_view *pView = pDb->pView;
    int nL0 = pView->pVersion->anFile[0];
    if( pDb->rcBackground ){
      /* Retry the failed job once: space may be back. */
      int rc = pDb->rcBackground;
      pDb->rcBackground = LSM_OK;
      if( pDb->opt.background ){
        schedule_flush(pDb);
        schedule_work(pDb);
        return rc;
      }
      pthread_mutex_unlock(&pDb->mutex);
      rc = db_do_work(pDb);
      pthread_mutex_lock(&pDb->mutex);
      if( rc != LSM_OK ){ pDb->rcBackground = LSM_OK; return rc; }
      continue;
    }
    if( pDb->opt.background && !bSlowed && nL0 >= COMPACTION_L0_SLOWDOWN ){
      uint64_t t0 = now_micros();
      pthread_mutex_unlock(&pDb->mutex);
      usleep(DB_SLOWDOWN_MICROS);
      pthread_mutex_lock(&pDb->mutex);
      stat_add(&pDb->stats.nStalls, 1);
      stat_add(&pDb->stats.nStallMicros, now_micros() - t0);
      bSlowed = 1;
      continue;
    }
    if( !bForce && memtable_bytes(pView->pMem) < pDb->opt.memtable_bytes ) return LSM_OK;
    if( bForce && memtable_entries(pView->pMem) == 0 && pView->nImm == 0
     && !pDb->bWalBroken ) return LSM_OK;
    if( pView->nImm >= nMaxImm || nL0 >= COMPACTION_L0_STOP ){
      if( pDb->opt.background ){
        uint64_t t0 = now_micros();
        if( pView->nImm ) schedule_flush(pDb);
        else schedule_work(pDb);
        pthread_cond_wait(&pDb->cond, &pDb->mutex);
        stat_add(&pDb->stats.nStalls, 1);
        stat_add(&pDb->stats.nStallMicros, now_micros() - t0);
      }else{
        int rc;
        pthread_mutex_unlock(&pDb->mutex);
        rc = db_do_work(pDb);
        pthread_mutex_lock(&pDb->mutex);
        if( rc != LSM_OK ){ pDb->rcBackground = LSM_OK; return rc; }
      }
      continue;
    }
    if( bForce && memtable_entries(pView->pMem) == 0 && !pDb->bWalBroken ) return LSM_OK;
    {
      int rc = switch_memtable(pDb);
      if( rc != LSM_OK ) return rc;
    }
    pDb->bWalBroken = 0;
    bForce = 0;
    if( pDb->opt.background ){
      schedule_flush(pDb);
    }else{
      int rc;
      pthread_mutex_unlock(&pDb->mutex);
      rc = db_do_work(pDb);
      pthread_mutex_lock(&pDb->mutex);
      if( rc != LSM_OK ){ pDb->rcBackground = LSM_OK; return rc; }
    }
  }
}

/*
** Queue pBatch (NULL: a flush request) and wait until a leader commits
** it, or lead.  See the file header.
*/
static int db_write(lsm_db *pDb, lsm_batch *pBatch){
  db_writer w;
  db_writer *pLast, *p;
  memtable *pMem;
  uint64_t seq, seqLogged = 0, nGroupBytes = 0;
  int rc, bLogFailed = 0, bApplyFailed = 0;

  if( pDb->opt.readonly ){
    return LSM_ERROR_MSG(LSM_READONLY, "the store %s was opened read-only", pDb->zDir);
  }
  memset(&w, 0, sizeof(w));
  w.pBatch = pBatch;
  pthread_cond_init(&w.cond, NULL);

  pthread_mutex_lock(&pDb->mutex);
  if( pDb->pWriterTail ) pDb->pWriterTail->pNext = &w;
  else pDb->pWriterHead = &w;
  pDb->pWriterTail = &w;
  while( !w.bDone && pDb->pWriterHead != &w ) pthread_cond_wait(&w.cond, &pDb->mutex);
  if( w.bDone ){
    pthread_mutex_unlock(&pDb->mutex);
    pthread_cond_destroy(&w.cond);
    return w.rc;
  }

  /* Leader. */
  rc = pDb->rcFatal ? pDb->rcFatal : make_room_for_write(pDb, pBatch == NULL);
  pLast = &w;
  seq = pDb->lastSeq + 1;
  if( rc == LSM_OK && pBatch ){
    /* Take the batches queued behind us, up to a limit, stopping at a flush request. */
    nGroupBytes = pBatch->nRep;
    for(p = w.pNext; p && p->pBatch && nGroupBytes + p->pBatch->nRep <= DB_GROUP_MAX_BYTES; p = p->pNext){
      nGroupBytes += p->pBatch->nRep;
      pLast = p;
    }
  }

  pMem = pDb->pView->pMem;
  memtable_ref(pMem);
  pthread_mutex_unlock(&pDb->mutex);

  if( rc == LSM_OK && pBatch ){
    uint64_t s = seq, nUser = 0;
    uint64_t nWalBefore = pDb->pWal ? wal_writer_bytes(pDb->pWal) : 0;
    for(p = &w; rc == LSM_OK; p = p->pNext){
      if( p->pBatch->nOp ){
        if( pDb->pWal ) rc = wal_writer_add(pDb->pWal, s, p->pBatch->aRep, p->pBatch->nRep);
        s += p->pBatch->nOp;
        nUser += p->pBatch->nUserBytes;
      }
      if( p == pLast ) break;
    }
    seqLogged = s - 1;      /* the log may hold records up to here */
    if( rc == LSM_OK && pDb->pWal ) rc = wal_writer_commit(pDb->pWal);
    bLogFailed = rc != LSM_OK;
    if( rc == LSM_OK ){
      if( pDb->pWal ) stat_add(&pDb->stats.nWalBytes, wal_writer_bytes(pDb->pWal) - nWalBefore);
      stat_add(&pDb->stats.nUserBytes, nUser);
    }
    s = seq;
    for(p = &w; rc == LSM_OK; p = p->pNext){
      if( p->pBatch->nOp ){
        rc = batch_apply(p->pBatch->aRep, p->pBatch->nRep, s, pMem, NULL);
        bApplyFailed = rc != LSM_OK;
        s += p->pBatch->nOp;
      }
      if( p == pLast ) break;
    }
    seq = s - 1;
  }

  memtable_unref(pMem);
  pthread_mutex_lock(&pDb->mutex);
  if( rc == LSM_OK && pBatch ) pDb->lastSeq = seq;
  /* A group that failed in the log may still be in it (a failed sync)
  ** and come back at recovery: never hand its numbers out again. */
  if( bLogFailed ){
    if( seqLogged > pDb->lastSeq ) pDb->lastSeq = seqLogged;
    if( pDb->pWal ) pDb->bWalBroken = 1;
  }
  /* Out of memory half-way through inserting a logged group: part of it
  ** would become visible.  Refuse writes until a reopen replays it. */
  if( bApplyFailed && !pDb->rcFatal ){
    pDb->rcFatal = rc;
    error_raise(rc, __LINE__, "a commit failed half-way into the memtable;"
                " close and reopen the store to recover it from the log");
  }
  if( pDb->pWal ) pDb->nWalSize = wal_writer_bytes(pDb->pWal);
  for(;;){
    p = pDb->pWriterHead;
    pDb->pWriterHead = p->pNext;
    if( pDb->pWriterHead == NULL ) pDb->pWriterTail = NULL;
    if( p != &w ){
      p->rc = rc;
      p->bDone = 1;
      pthread_cond_signal(&p->cond);
    }
    if( p == pLast ) break;
  }
  if( pDb->pWriterHead ) pthread_cond_signal(&pDb->pWriterHead->cond);
  pthread_mutex_unlock(&pDb->mutex);
  pthread_cond_destroy(&w.cond);
  return rc;
}

int lsm_write(lsm_db *pDb, lsm_batch *pBatch){
  if( pDb == NULL || pBatch == NULL ) return LSM_MISUSE;
  error_clear();
  if( pBatch->nOp == 0 ) return LSM_OK;
  return db_write(pDb, pBatch);
}

/* A one-operation batch on the stack: no allocation for small writes. */
static int db_write_one(lsm_db *pDb, int type, const void *pKey, size_t nKey,
                        const void *pVal, size_t nVal){
  uint8_t aBuf[512];
  lsm_batch b;
  int rc;
  if( pDb == NULL ) return LSM_MISUSE;
  error_clear();
  memset(&b, 0, sizeof(b));
  b.pEnv = pDb->pEnv;
  if( batch_op_size(nKey, nVal) <= sizeof(aBuf) ){
    b.aRep = aBuf;
    b.nAlloc = sizeof(aBuf);
    b.bStatic = 1;
  }
  rc = type == IKEY_VALUE ? lsm_batch_put(&b, pKey, nKey, pVal, nVal)
                          : lsm_batch_delete(&b, pKey, nKey);
  if( rc == LSM_OK ) rc = db_write(pDb, &b);
  if( !b.bStatic ) env_free(pDb->pEnv, b.aRep);
  return rc;
}

int lsm_put(lsm_db *pDb, const void *pKey, size_t nKey, const void *pVal, size_t nVal){
  return db_write_one(pDb, IKEY_VALUE, pKey, nKey, pVal, nVal);
}

int lsm_delete(lsm_db *pDb, const void *pKey, size_t nKey){
  return db_write_one(pDb, IKEY_DELETE, pKey, nKey, NULL, 0);
}

int lsm_batch_new(lsm_db *pDb, lsm_batch **ppBatch){
  int rc = LSM_OK;
  lsm_batch *p;
  if( pDb == NULL || ppBatch == NULL ) return LSM_MISUSE;
  p = env_malloc_rc(pDb->pEnv, sizeof(lsm_batch), &rc);
  if( p ) p->pEnv = pDb->pEnv;
  *ppBatch = p;
  return rc;
}

/* ------------------------------------------------------------------ */
/* Reads                                                               */
/* ------------------------------------------------------------------ */

/* Resolve what a read looks at: a view with a reference, the sequence
** number, and the batch's visible limit. */
static int read_setup(lsm_db *pDb, const lsm_read *pRead, db_view **ppView, uint64_t *pSeq,
                      memtable **ppBatchIndex, uint64_t *pMaxBatchSeq){
  *ppBatchIndex = NULL;
  *pMaxBatchSeq = 0;
  if( pRead && pRead->pSnapshot ){
    lsm_snapshot *pSnap = pRead->pSnapshot;
    if( pSnap->pDb != pDb ) return LSM_MISUSE;
    *ppView = pSnap->pView;
    atomic_fetch_add_explicit(&pSnap->pView->nRef, 1, memory_order_relaxed);
    *pSeq = pSnap->seq;
  }else{
    *ppView = view_acquire(pDb, pSeq);
  }
  if( pRead && pRead->pBatch ){
    lsm_batch *pB = pRead->pBatch;
    size_t nOps = pRead->nBatchOps > pB->nOp ? pB->nOp : pRead->nBatchOps;
    if( nOps > 0 ){
      int rc = batch_index(pB, ppBatchIndex);
      if( rc != LSM_OK ){
        view_unref(*ppView);
        *ppView = NULL;
        *ppBatchIndex = NULL;
        return rc;
      }
      memtable_ref(*ppBatchIndex);
      *pMaxBatchSeq = IKEY_BATCH_SEQ + nOps;
    }
  }
  return LSM_OK;
}

int lsm_get(lsm_db *pDb, const lsm_read *pRead, const void *pKey, size_t nKey,
            void **ppVal, size_t *pnVal){
  db_view *pView = NULL;
  memtable *pBatchIndex = NULL;
  sst_reader *pPinned = NULL;      /* the reader pVal points into, if any */
  uint64_t seq, maxBatchSeq;
  const uint8_t *pVal = NULL;
  size_t nVal = 0;
  int bFound = 0, type = IKEY_DELETE, rc, i;

  if( pDb == NULL || ppVal == NULL || pnVal == NULL ) return LSM_MISUSE;
  *ppVal = NULL;
  *pnVal = 0;
  rc = read_setup(pDb, pRead, &pView, &seq, &pBatchIndex, &maxBatchSeq);
  if( rc != LSM_OK ) return rc;
  stat_add(&pDb->stats.nGets, 1);

  if( pBatchIndex ){
    bFound = memtable_get(pBatchIndex, pKey, nKey, 0, maxBatchSeq, &type, &pVal, &nVal);
  }
  if( !bFound ) bFound = memtable_get(pView->pMem, pKey, nKey, seq, 0, &type, &pVal, &nVal);
  for(i = 0; !bFound && i < pView->nImm; i++){
    bFound = memtable_get(pView->apImm[i], pKey, nKey, seq, 0, &type, &pVal, &nVal);
  }
  if( !bFound ){
    version_get_stats vs = {0, 0, 0, 0};
    rc = version_get(pView->pVersion, pKey, nKey, seq, &bFound, &type, &pVal, &nVal,
                     &pPinned, &vs);
    stat_add(&pDb->stats.nGetProbes, (uint64_t)vs.nProbes);
    stat_add(&pDb->stats.nBloomChecks, (uint64_t)vs.nBloomChecks);
    stat_add(&pDb->stats.nBloomNegatives, (uint64_t)vs.nBloomNegatives);
    stat_add(&pDb->stats.nBloomFalsePositives, (uint64_t)vs.nBloomFalsePositives);
  }
  if( rc == LSM_OK ){
    if( !bFound || type != IKEY_VALUE ){
      rc = LSM_NOTFOUND;
    }else{
      uint8_t *pCopy = env_malloc(pDb->pEnv, nVal ? nVal : 1);
      if( pCopy == NULL ){
        rc = LSM_NOMEM;
      }else{
        if( nVal ) memcpy(pCopy, pVal, nVal);
        *ppVal = pCopy;
        *pnVal = nVal;
      }
    }
  }
  sst_reader_unref(pPinned);
  memtable_unref(pBatchIndex);
  view_unref(pView);
  return rc;
}

/* ---- snapshots ---- */

int lsm_snapshot_acquire(lsm_db *pDb, lsm_snapshot **ppSnap){
  lsm_snapshot *p;
  if( pDb == NULL || ppSnap == NULL ) return LSM_MISUSE;
  p = env_malloc(pDb->pEnv, sizeof(lsm_snapshot));
  if( p == NULL ) return LSM_NOMEM;
  p->pDb = pDb;
  p->pView = view_acquire(pDb, &p->seq);
  pthread_mutex_lock(&pDb->mutex);
  pDb->nSnapshot++;
  pthread_mutex_unlock(&pDb->mutex);
  *ppSnap = p;
  return LSM_OK;
}

void lsm_snapshot_release(lsm_snapshot *p){
  lsm_db *pDb;
  if( p == NULL ) return;
  pDb = p->pDb;
  pthread_mutex_lock(&pDb->mutex);
  pDb->nSnapshot--;
  pthread_mutex_unlock(&pDb->mutex);
  view_unref(p->pView);
  env_free(pDb->pEnv, p);
}

/* ---- cursors ---- */

int lsm_cursor_open(lsm_db *pDb, const lsm_read *pRead, lsm_cursor **ppCsr){
  lsm_cursor *pCsr;
  db_view *pView;
  iter **apIter = NULL;
  iter *pMerge = NULL;
  uint64_t maxBatchSeq = 0;
  int rc, nIter = 0, i;

  if( pDb == NULL || ppCsr == NULL ) return LSM_MISUSE;
  error_clear();
  *ppCsr = NULL;
  pCsr = env_malloc(pDb->pEnv, sizeof(lsm_cursor));
  if( pCsr == NULL ) return LSM_NOMEM;
  memset(pCsr, 0, sizeof(*pCsr));
  pCsr->pDb = pDb;
  rc = read_setup(pDb, pRead, &pCsr->pView, &pCsr->seq, &pCsr->pBatchIndex, &maxBatchSeq);
  if( rc == LSM_OK ){
    pView = pCsr->pView;
    apIter = env_malloc_rc(pDb->pEnv, sizeof(iter*)
                           * (size_t)(2 + DB_MAX_IMM + version_iter_count(pView->pVersion)), &rc);
    if( rc == LSM_OK && pCsr->pBatchIndex ){
      apIter[nIter] = memtable_iter(pCsr->pBatchIndex, &rc);
      if( apIter[nIter] ) nIter++;
    }
    if( rc == LSM_OK ){
      apIter[nIter] = memtable_iter(pView->pMem, &rc);
      if( apIter[nIter] ) nIter++;
    }
    for(i = 0; rc == LSM_OK && i < pView->nImm; i++){
      apIter[nIter] = memtable_iter(pView->apImm[i], &rc);
      if( apIter[nIter] ) nIter++;
    }
    if( rc == LSM_OK ) rc = version_add_iters(pView->pVersion, apIter, &nIter);
    pMerge = merge_and_free(pDb->pEnv, apIter, nIter, &rc);
  }
  if( rc == LSM_OK ){
    rc = db_iter_new(pDb->pEnv, pMerge, pCsr->seq, maxBatchSeq, &pCsr->pIter);
  }
  if( rc != LSM_OK ){
    lsm_cursor_close(pCsr);
    return rc;
  }
  pthread_mutex_lock(&pDb->mutex);
  pDb->nCursor++;
  pthread_mutex_unlock(&pDb->mutex);
  *ppCsr = pCsr;
  return LSM_OK;
}

int lsm_cursor_bounds(lsm_cursor *p, const void *pLower, size_t nLower, int bLowerOpen,
                      const void *pUpper, size_t nUpper, int bUpperOpen){
  if( p == NULL ) return LSM_MISUSE;
  return db_iter_bounds(p->pIter, pLower, nLower, bLowerOpen, pUpper, nUpper, bUpperOpen);
}

/* Seeks count toward read amplification: every sorted run is positioned. */
static void count_seek(lsm_cursor *p){
  stat_add(&p->pDb->stats.nSeeks, 1);
  stat_add(&p->pDb->stats.nSeekProbes, (uint64_t)version_iter_count(p->pView->pVersion));
}

int lsm_cursor_first(lsm_cursor *p){
  if( p == NULL ) return LSM_MISUSE;
  count_seek(p);
  return db_iter_first(p->pIter);
}
int lsm_cursor_last(lsm_cursor *p){
  if( p == NULL ) return LSM_MISUSE;
  count_seek(p);
  return db_iter_last(p->pIter);
}
int lsm_cursor_seek(lsm_cursor *p, const void *pKey, size_t nKey, int eSeek){
  if( p == NULL ) return LSM_MISUSE;
  count_seek(p);
  return eSeek == LSM_SEEK_LE ? db_iter_seek_le(p->pIter, pKey, nKey)
                              : db_iter_seek_ge(p->pIter, pKey, nKey);
}
int lsm_cursor_next(lsm_cursor *p){
  if( p == NULL || !db_iter_valid(p->pIter) ) return LSM_MISUSE;
  return db_iter_next(p->pIter);
}
int lsm_cursor_prev(lsm_cursor *p){
  if( p == NULL || !db_iter_valid(p->pIter) ) return LSM_MISUSE;
  return db_iter_prev(p->pIter);
}
int lsm_cursor_valid(lsm_cursor *p){
  return p && db_iter_valid(p->pIter);
}
int lsm_cursor_key(lsm_cursor *p, const void **ppKey, size_t *pnKey){
  if( p == NULL || !db_iter_valid(p->pIter) ) return LSM_MISUSE;
  *ppKey = db_iter_key(p->pIter, pnKey);
  return LSM_OK;
}
int lsm_cursor_value(lsm_cursor *p, const void **ppVal, size_t *pnVal){
  if( p == NULL || !db_iter_valid(p->pIter) ) return LSM_MISUSE;
  *ppVal = db_iter_value(p->pIter, pnVal);
  return LSM_OK;
}

void lsm_cursor_close(lsm_cursor *p){
  lsm_db *pDb;
  if( p == NULL ) return;
  pDb = p->pDb;
  if( p->pIter ){
    db_iter_close(p->pIter);
    pthread_mutex_lock(&pDb->mutex);
    pDb->nCursor--;
    pthread_mutex_unlock(&pDb->mutex);
  }
  memtable_unref(p->pBatchIndex);
  view_unref(p->pView);
  env_free(pDb->pEnv, p);
}

/* ------------------------------------------------------------------ */
/* Flush, compaction                                                   */
/* ------------------------------------------------------------------ */

/* Wait until every immutable memtable is flushed.  REQUIRES db->mutex. */
static int wait_for_flush(lsm_db *pDb){
  while( pDb->pView->nImm && pDb->rcBackground == LSM_OK ){
    schedule_flush(pDb);
    pthread_cond_wait(&pDb->cond, &pDb->mutex);
  }
  return pDb->rcBackground;
}

int lsm_flush(lsm_db *pDb){
  int rc;
  if( pDb == NULL ) return LSM_MISUSE;
  error_clear();
  rc = db_write(pDb, NULL);
  if( rc == LSM_OK && pDb->opt.background ){
    pthread_mutex_lock(&pDb->mutex);
    rc = wait_for_flush(pDb);
    pthread_mutex_unlock(&pDb->mutex);
  }
  return rc;
}

int lsm_compact(lsm_db *pDb, lsm_compact_result *pResult){
  lsm_compact_result res;
  version *pV;
  table **apInput = NULL;
  uint64_t t0 = now_micros();
  int rc, nInput = 0, iLevel, i;

  if( pDb == NULL ) return LSM_MISUSE;
  error_clear();
  memset(&res, 0, sizeof(res));
  if( pDb->opt.readonly ){
    return LSM_ERROR_MSG(LSM_READONLY, "the store %s was opened read-only", pDb->zDir);
  }
  rc = lsm_flush(pDb);
  if( rc != LSM_OK ) return rc;

  pthread_mutex_lock(&pDb->workMutex);
  pthread_mutex_lock(&pDb->mutex);
  pV = pDb->pView->pVersion;
  version_ref(pV);
  pthread_mutex_unlock(&pDb->mutex);
  for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++){
    nInput += pV->anFile[iLevel];
    for(i = 0; i < pV->anFile[iLevel]; i++){
      res.nBytesBefore += pV->aapFile[iLevel][i]->meta.nFileBytes;
      res.nEntriesBefore += pV->aapFile[iLevel][i]->meta.nEntries;
    }
  }
  if( nInput > 0 ){
    apInput = env_malloc_rc(pDb->pEnv, sizeof(table*) * (size_t)nInput, &rc);
    nInput = 0;
    for(iLevel = 0; rc == LSM_OK && iLevel < LSM_MAX_LEVELS; iLevel++){
      for(i = 0; i < pV->anFile[iLevel]; i++) apInput[nInput++] = pV->aapFile[iLevel][i];
    }
    if( rc == LSM_OK ){
      rc = db_merge_tables(pDb, pV, apInput, nInput, LSM_MAX_LEVELS - 1, &res);
    }
    env_free(pDb->pEnv, apInput);
  }
  version_unref(pV);
  pthread_mutex_unlock(&pDb->workMutex);
  res.nMillis = (now_micros() - t0) / 1000;
  if( pResult ) *pResult = res;
  return rc;
}

/* ------------------------------------------------------------------ */
/* Stats, files, check                                                 */
/* ------------------------------------------------------------------ */

int lsm_stats_get(lsm_db *pDb, lsm_stats *pS){
  db_view *pView;
  int iLevel, i;
  if( pDb == NULL || pS == NULL ) return LSM_MISUSE;
  memset(pS, 0, sizeof(*pS));
  pView = view_acquire(pDb, NULL);
  pS->nMemtableEntries = memtable_entries(pView->pMem);
  pS->nMemtableBytes = memtable_bytes(pView->pMem);
  for(i = 0; i < pView->nImm; i++){
    pS->nMemtableEntries += memtable_entries(pView->apImm[i]);
    pS->nMemtableBytes += memtable_bytes(pView->apImm[i]);
  }
  for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++){
    lsm_level_stats *pL = &pS->aLevel[iLevel];
    version *pV = pView->pVersion;
    for(i = 0; i < pV->anFile[iLevel]; i++){
      const manifest_file *m = &pV->aapFile[iLevel][i]->meta;
      pL->nFiles++;
      pL->nBytes += m->nFileBytes;
      pL->nEntries += m->nEntries;
      pL->nTombstones += m->nTombstones;
    }
    pL->nBytesReadByCompaction = stat_get(&pDb->stats.anLevelRead[iLevel]);
    pL->nBytesWrittenByCompaction = stat_get(&pDb->stats.anLevelWritten[iLevel]);
    pL->nBytesFromAbove = iLevel == 0 ? stat_get(&pDb->stats.nUserBytes)
                                      : stat_get(&pDb->stats.anLevelFromAbove[iLevel]);
    if( pL->nFiles || pL->nBytesWrittenByCompaction ) pS->nLevel = iLevel + 1;
    pS->nDiskBytes += pL->nBytes;
  }
  view_unref(pView);
  pthread_mutex_lock(&pDb->mutex);
  pS->nWalBytes = pDb->nWalSize;   /* the leader owns pWal: read its copy */
  pthread_mutex_unlock(&pDb->mutex);
  pS->nDiskBytes += pS->nWalBytes;
  pS->nUserBytesWritten = stat_get(&pDb->stats.nUserBytes);
  pS->nWalBytesWritten = stat_get(&pDb->stats.nWalBytes);
  pS->nFlushBytesWritten = stat_get(&pDb->stats.nFlushBytes);
  pS->nCompactionBytesWritten = stat_get(&pDb->stats.nCompactionWritten);
  pS->nCompactionBytesRead = stat_get(&pDb->stats.nCompactionRead);
  pS->nFlushes = stat_get(&pDb->stats.nFlushes);
  pS->nCompactions = stat_get(&pDb->stats.nCompactions);
  pS->nGets = stat_get(&pDb->stats.nGets);
  pS->nGetSstProbes = stat_get(&pDb->stats.nGetProbes);
  pS->nSeeks = stat_get(&pDb->stats.nSeeks);
  pS->nSeekSstProbes = stat_get(&pDb->stats.nSeekProbes);
  pS->nBloomChecks = stat_get(&pDb->stats.nBloomChecks);
  pS->nBloomNegatives = stat_get(&pDb->stats.nBloomNegatives);
  pS->nBloomFalsePositives = stat_get(&pDb->stats.nBloomFalsePositives);
  pS->nStalls = stat_get(&pDb->stats.nStalls);
  pS->nStallMicros = stat_get(&pDb->stats.nStallMicros);
  table_cache_stats(pDb->pTableCache, &pS->nTablesOpen, &pS->nTableCacheMisses);
  return LSM_OK;
}

int lsm_files(lsm_db *pDb, lsm_file_info **paFile, int *pnFile){
  db_view *pView;
  version *pV;
  size_t nByte = 0;
  int nFile = 0, iLevel, i, rc = LSM_OK;
  lsm_file_info *aFile;
  uint8_t *pKeys;
  if( pDb == NULL || paFile == NULL || pnFile == NULL ) return LSM_MISUSE;
  pView = view_acquire(pDb, NULL);
  pV = pView->pVersion;
  for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++){
    for(i = 0; i < pV->anFile[iLevel]; i++){
      const manifest_file *m = &pV->aapFile[iLevel][i]->meta;
      nFile++;
      nByte += m->nSmallest + m->nLargest;
    }
  }
  aFile = env_malloc_rc(pDb->pEnv, sizeof(lsm_file_info) * (size_t)(nFile + 1) + nByte, &rc);
  if( aFile ){
    pKeys = (uint8_t*)&aFile[nFile + 1];
    nFile = 0;
    for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++){
      for(i = 0; i < pV->anFile[iLevel]; i++){
        const manifest_file *m = &pV->aapFile[iLevel][i]->meta;
        lsm_file_info *f = &aFile[nFile++];
        f->iLevel = iLevel;
        f->iNumber = m->iNumber;
        f->nBytes = m->nFileBytes;
        f->nEntries = m->nEntries;
        f->nTombstones = m->nTombstones;
        filename_name(f->zName, FILENAME_SST, m->iNumber);
        f->nSmallest = ikey_user_len(m->nSmallest);
        f->pSmallest = pKeys;
        memcpy(pKeys, m->pSmallest, f->nSmallest);
        pKeys += f->nSmallest;
        f->nLargest = ikey_user_len(m->nLargest);
        f->pLargest = pKeys;
        memcpy(pKeys, m->pLargest, f->nLargest);
        pKeys += f->nLargest;
      }
    }
  }
  view_unref(pView);
  *paFile = aFile;
  *pnFile = aFile ? nFile : 0;
  return rc;
}

/* Append a line to a growing report. */
static void report_add(lsm_env *pEnv, char **pz, const char *zLine){
  size_t nOld = *pz ? strlen(*pz) : 0, nLine = strlen(zLine);
  char *zNew = env_realloc(pEnv, *pz, nOld + nLine + 2);
  if( zNew == NULL ) return;
  memcpy(zNew + nOld, zLine, nLine);
  zNew[nOld + nLine] = '\n';
  zNew[nOld + nLine + 1] = 0;
  *pz = zNew;
}

int lsm_check(lsm_db *pDb, char **pzReport){
  db_view *pView;
  version *pV;
  char *zReport = NULL;
  int iLevel, i, nProblem = 0;
  if( pDb == NULL ) return LSM_MISUSE;
  error_clear();
  if( pzReport ) *pzReport = NULL;
  pView = view_acquire(pDb, NULL);
  pV = pView->pVersion;
  for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++){
    for(i = 0; i < pV->anFile[iLevel]; i++){
      table *pT = pV->aapFile[iLevel][i];
      int rc = LSM_OK;
      sst_reader *pReader = table_cache_reader(pT, &rc);
      if( rc == LSM_OK ) rc = sst_reader_check(pReader);
      if( rc != LSM_OK ){
        report_add(pDb->pEnv, &zReport, error_message());
        nProblem++;
      }
      if( pReader
       && (pT->meta.nEntries != sst_reader_entries(pReader)
           || pT->meta.nFileBytes != sst_reader_file_bytes(pReader)) ){
        char zLine[256];
        snprintf(zLine, sizeof(zLine), "%s: manifest and table disagree on size or entries", pT->zPath);
        report_add(pDb->pEnv, &zReport, zLine);
        nProblem++;
      }
      sst_reader_unref(pReader);
      if( iLevel > 0 && i > 0 ){
        table *pPrev = pV->aapFile[iLevel][i - 1];
        if( ikey_compare_user(pPrev->meta.pLargest, ikey_user_len(pPrev->meta.nLargest),
                              pT->meta.pSmallest, ikey_user_len(pT->meta.nSmallest)) >= 0 ){
          char zLine[256];
          snprintf(zLine, sizeof(zLine), "level %d: %s overlaps %s", iLevel, pPrev->zPath, pT->zPath);
          report_add(pDb->pEnv, &zReport, zLine);
          nProblem++;
        }
      }
    }
  }
  view_unref(pView);
  if( !pDb->bMemory ){
    manifest_state st;
    int rc;
    memset(&st, 0, sizeof(st));
    pthread_mutex_lock(&pDb->installMutex);     /* not while one is written */
    rc = manifest_read(pDb->pEnv, pDb->zDir, &st);
    pthread_mutex_unlock(&pDb->installMutex);
    if( rc != LSM_OK ){
      report_add(pDb->pEnv, &zReport, error_message());
      nProblem++;
    }
    manifest_state_clear(pDb->pEnv, &st);
  }
  if( nProblem ){
    if( pzReport ){
      *pzReport = zReport;
      zReport = NULL;
    }
    env_free(pDb->pEnv, zReport);
    return LSM_CORRUPT;
  }
  return LSM_OK;
}

/* ------------------------------------------------------------------ */
/* Open and close                                                      */
/* ------------------------------------------------------------------ */

typedef struct replay_ctx {
  memtable *pMem;
  uint64_t lastSeq;
} replay_ctx;

static int replay_record(void *pCtx, uint64_t seq, const uint8_t *p, size_t n){
  replay_ctx *pR = pCtx;
  uint64_t nOp = 0;
  int rc = batch_apply(p, n, seq, pR->pMem, &nOp);
  if( rc == LSM_OK && nOp && seq + nOp - 1 > pR->lastSeq ) pR->lastSeq = seq + nOp - 1;
  return rc;
}

/* Sort helper for WAL numbers. */
static int cmp_u64(const void *a, const void *b){
  uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
  return x < y ? -1 : (x > y);
}

/*
** Recovery: read the manifest, open its tables, replay the WALs it does
** not cover, flush what they held, start a new WAL, remove leftovers.
*/
static int db_recover(lsm_db *pDb, int bNew){
  lsm_env *pEnv = pDb->pEnv;
  manifest_state st;
  version *pV = NULL, *pV2 = NULL;
  memtable *pMem = NULL;
  table **apTable = NULL;
  uint64_t *aWal = NULL;
  char **azName = NULL;
  int nName = 0, nWal = 0, nTable = 0, i, rc;

  memset(&st, 0, sizeof(st));
  if( bNew ){
    st.iNextFile = 1;
    st.eCompaction = pDb->opt.compaction;
    rc = pDb->opt.readonly ? LSM_ERROR_MSG(LSM_CANTOPEN, "%s is not a store and readonly=on", pDb->zDir)
                           : manifest_write(pEnv, pDb->zDir, &st);
  }else{
    rc = manifest_read(pEnv, pDb->zDir, &st);
  }
  if( rc == LSM_OK && st.eCompaction != pDb->opt.compaction ){
    rc = LSM_ERROR_MSG(LSM_ERROR,
        "the store %s was made with compaction=%s; open it with that option",
        pDb->zDir, st.eCompaction == LSM_COMPACTION_TIERED ? "tiered" : "leveled");
  }
  if( rc == LSM_OK ) rc = version_new_empty(pEnv, &pV);
  if( rc == LSM_OK && st.nFile ){
    apTable = env_malloc_rc(pEnv, sizeof(table*) * (size_t)st.nFile, &rc);
    for(i = 0; rc == LSM_OK && i < st.nFile; i++){
      rc = table_open(pEnv, pDb->pTableCache, pDb->zDir, &st.aFile[i], &apTable[nTable]);
      if( rc == LSM_OK ) nTable++;
    }
    if( rc == LSM_OK ) rc = version_apply(pV, NULL, 0, apTable, nTable, &pV2);
    for(i = 0; i < nTable; i++) table_unref(apTable[i]);
    env_free(pEnv, apTable);
    if( rc == LSM_OK ){ version_unref(pV); pV = pV2; }
  }
  pDb->iNextFile = st.iNextFile;
  pDb->lastSeq = st.iLastSeq;

  /* Replay the WALs numbered >= iLogNumber, oldest first. */
  if( rc == LSM_OK ) rc = memtable_new(pEnv, &pMem);
  if( rc == LSM_OK ) rc = pEnv->xListDir(pEnv, pDb->zDir, &azName, &nName);
  if( rc == LSM_OK ){
    aWal = env_malloc_rc(pEnv, sizeof(uint64_t) * (size_t)(nName + 1), &rc);
    for(i = 0; rc == LSM_OK && i < nName; i++){
      uint64_t iNum;
      if( filename_parse(azName[i], &iNum) == FILENAME_WAL && iNum >= st.iLogNumber ){
        aWal[nWal++] = iNum;
      }
      if( filename_parse(azName[i], &iNum) && iNum >= pDb->iNextFile ) pDb->iNextFile = iNum + 1;
    }
    if( aWal ) qsort(aWal, (size_t)nWal, sizeof(uint64_t), cmp_u64);
  }
  for(i = 0; rc == LSM_OK && i < nWal; i++){
    replay_ctx ctx;
    int bTorn = 0;
    char *zPath = filename_path(pEnv, pDb->zDir, FILENAME_WAL, aWal[i], &rc);
    ctx.pMem = pMem;
    ctx.lastSeq = pDb->lastSeq;
    /* Every log is replayed as "newest": an older log can legitimately end
    ** in a torn record when a write to it failed and the store moved on to
    ** a new log (see make_room_for_write); such a record was never
    ** acknowledged.  A bad record followed by a good one is still
    ** corruption. */
    if( rc == LSM_OK ) rc = wal_replay(pEnv, zPath, 1, replay_record, &ctx, &bTorn);
    if( rc == LSM_OK ) pDb->lastSeq = ctx.lastSeq;
    env_free(pEnv, zPath);
  }

  /* Publish the recovered state, then flush what the WALs held. */
  if( rc == LSM_OK ){
    memtable *pActive = NULL;
    if( pDb->opt.readonly ){
      rc = view_install(pDb, pMem, NULL, 0, pV);
    }else{
      rc = memtable_new(pEnv, &pActive);
      if( rc == LSM_OK ) rc = view_install(pDb, pActive, &pMem, memtable_entries(pMem) ? 1 : 0, pV);
      memtable_unref(pActive);
    }
  }
  if( rc == LSM_OK && !pDb->opt.readonly ){
    char *zPath;
    /* Older WALs are removed with the leftovers once the flush is in.  An
    ** in-memory store has no WAL (lsm.h): nothing could replay it, and it
    ** would keep every byte ever written. */
    pDb->aiImmWal[0] = 0;
    if( !pDb->bMemory ){
      pDb->iWalNumber = pDb->iNextFile++;
      zPath = filename_path(pEnv, pDb->zDir, FILENAME_WAL, pDb->iWalNumber, &rc);
      if( rc == LSM_OK ) rc = wal_writer_open(pEnv, zPath, pDb->opt.sync, &pDb->pWal);
      env_free(pEnv, zPath);
    }
    if( rc == LSM_OK ){
      /* No thread runs yet: the locks are for the rules' sake. */
      if( pDb->pView->nImm ){
        rc = db_flush_imm(pDb);
      }else{
        pthread_mutex_lock(&pDb->installMutex);
        version_ref(pDb->pView->pVersion);
        pV2 = pDb->pView->pVersion;
        rc = db_write_manifest(pDb, pV2, pDb->iWalNumber);
        version_unref(pV2);
        pthread_mutex_unlock(&pDb->installMutex);
      }
    }
    if( rc == LSM_OK ) rc = db_remove_leftovers(pDb, pDb->pView->pVersion, pDb->iWalNumber);
  }
  memtable_unref(pMem);
  version_unref(pV);
  env_free(pEnv, aWal);
  env_free(pEnv, azName);
  manifest_state_clear(pEnv, &st);
  return rc;
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
  pthread_mutex_init(&pDb->mutex, NULL);
  pthread_mutex_init(&pDb->workMutex, NULL);
  pthread_mutex_init(&pDb->flushMutex, NULL);
  pthread_mutex_init(&pDb->installMutex, NULL);
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
  }
  pEnv = pDb->pEnv = pDb->pOwnedEnv ? pDb->pOwnedEnv : (opt.env ? opt.env : lsm_env_default());
  pDb->opt.env = pEnv;
  pDb->zDir = env_strdup_rc(pEnv, zDir, &rc);
  if( rc == LSM_OK ) rc = table_cache_new(pEnv, db_table_cache_capacity(&pDb->opt), &pDb->pTableCache);

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
  if( rc == LSM_OK ){
    rc = pDb->opt.readonly ? env_lock_shared(pEnv, zLock, &pDb->pLock)
                           : pEnv->xLock(pEnv, zLock, &pDb->pLock);
  }
  /* Under the lock: another process may have made the store meanwhile. */
  if( rc == LSM_OK ) rc = pEnv->xExists(pEnv, zManifest, &bExists, &bIsDir);
  if( rc == LSM_OK ) bNew = !bExists;
  if( rc == LSM_OK ) rc = db_recover(pDb, bNew);
  if( rc == LSM_OK && pDb->opt.background && !pDb->opt.readonly ){
    if( pthread_create(&pDb->worker, NULL, worker_main, pDb) != 0 ){
      rc = LSM_ERROR_MSG(LSM_ERROR, "cannot start the background thread");
    }else if( pthread_create(&pDb->flusher, NULL, flusher_main, pDb) != 0 ){
      pthread_mutex_lock(&pDb->mutex);
      pDb->bShutdown = 1;
      pthread_cond_signal(&pDb->workCond);
      pthread_mutex_unlock(&pDb->mutex);
      pthread_join(pDb->worker, NULL);
      rc = LSM_ERROR_MSG(LSM_ERROR, "cannot start the background thread");
    }else{
      pDb->bWorker = 1;
      pthread_mutex_lock(&pDb->mutex);
      schedule_work(pDb);      /* recovery may have left compactions due */
      pthread_mutex_unlock(&pDb->mutex);
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
  pthread_mutex_lock(&pDb->mutex);
  if( pDb->nCursor > 0 || pDb->nSnapshot > 0 ){
    pthread_mutex_unlock(&pDb->mutex);
    return LSM_ERROR_MSG(LSM_MISUSE, "lsm_close: cursors or snapshots are still open");
  }
  pDb->bShutdown = 1;
  pthread_cond_broadcast(&pDb->cond);
  pthread_cond_signal(&pDb->workCond);
  pthread_cond_signal(&pDb->flushCond);
  pthread_mutex_unlock(&pDb->mutex);
  if( pDb->bWorker ){
    pthread_join(pDb->worker, NULL);
    pthread_join(pDb->flusher, NULL);
  }

  pEnv = pDb->pEnv;
  if( pDb->pWal ) rc = wal_writer_close(pDb->pWal);
  view_unref(pDb->pView);
  table_cache_free(pDb->pTableCache);     /* the last table went with the view */
  if( pDb->pLock ) pEnv->xUnlock(pDb->pLock);
  if( pEnv ) env_free(pEnv, pDb->zDir);
  pthread_mutex_destroy(&pDb->mutex);
  pthread_mutex_destroy(&pDb->workMutex);
  pthread_mutex_destroy(&pDb->flushMutex);
  pthread_mutex_destroy(&pDb->installMutex);
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
