/*
** db_work.c — the store's background work: flush and compaction jobs,
** installing their results as a new version, the flush and compaction
** threads, and lsm_compact.
**
** A flush turns the oldest immutable memtable into one level-0 table; a
** compaction merges (or moves) the tables the picker chose.  Each
** installs its edit on the current version (db_install), not the one it
** started from, so the two run side by side: a flush only adds a level-0
** table and only the job that picked tables removes them.  Lock order and
** the rest of the store: see db_impl.h.
*/
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "db_impl.h"
#include "env.h"
#include "error.h"
#include "filename.h"
#include "manifest.h"

/* The oldest sequence number a reader of the current version may read
** at.  Snapshots and cursors pin their own views (see lsm_snapshot), so
** this is the last sequence number.  REQUIRES mutex. */
static uint64_t smallest_snapshot(lsm_db *pDb){
  mutex_assert_held(&pDb->mutex);
  return pDb->lastSeq;
}

static uint64_t new_file_number(void *pCtx){
  lsm_db *pDb = pCtx;
  uint64_t n;
  mutex_lock(&pDb->mutex);
  n = pDb->iNextFile++;
  mutex_unlock(&pDb->mutex);
  return n;
}

/* ------------------------------------------------------------------ */
/* Manifest                                                            */
/* ------------------------------------------------------------------ */

/* Write the manifest for version pV.  REQUIRES installMutex;
** reads (M) fields under the mutex itself. */
int db_write_manifest(lsm_db *pDb, version *pV, uint64_t iLogNumber, const db_slice_state *pSlice){
  manifest_state st;
  int rc;
  mutex_assert_held(&pDb->installMutex);
  if( pSlice == NULL ) pSlice = &pDb->slice;
  memset(&st, 0, sizeof(st));
  mutex_lock(&pDb->mutex);
  st.iNextFile = pDb->iNextFile;
  /* A hosted store's host replays its log after this number (lsm.h). */
  st.iLastSeq = pDb->opt.hosted ? pDb->flushedSeq : pDb->lastSeq;
  mutex_unlock(&pDb->mutex);
  st.iLogNumber = iLogNumber;
  st.eCompaction = pDb->opt.compaction;
  rc = version_to_manifest(pV, &st);
  /* The slicing state is borrowed: not freed with st. */
  st.nSliceSet = pSlice->nSet;
  st.aSliceSet = pSlice->aSet;
  st.bSliceReached = pSlice->bReached;
  st.pSliceReached = pSlice->pReached;
  st.nSliceReached = pSlice->nReached;
  if( rc == LSM_OK ) rc = manifest_write(pDb->pEnv, pDb->zDir, &st);
  st.aSliceSet = NULL;
  st.pSliceReached = NULL;
  manifest_state_clear(pDb->pEnv, &st);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Flush and compaction jobs                                           */
/* ------------------------------------------------------------------ */

/* Where the store's jobs write: its directory, env, cache, table format
** options and file numbers. */
static void job_output(lsm_db *pDb, compaction_output *pOut){
  memset(pOut, 0, sizeof(*pOut));
  pOut->pEnv = pDb->pEnv;
  pOut->zDir = pDb->zDir;
  pOut->pCache = pDb->pTableCache;
  pOut->sstOpt.block_bytes = pDb->opt.block_bytes;
  pOut->sstOpt.bloom_bits = pDb->opt.bloom_bits;
  pOut->sstOpt.compression = pDb->opt.compression;
  /* A reader of a mapped file serves its raw blocks from the mapping and
  ** never looks for them in the cache: filling it would only take budget
  ** from blocks that are read. */
  pOut->bFillCache = pDb->opt.fill_cache_on_write
                     && !(pDb->opt.use_mmap && pDb->pEnv->xMap != NULL);
  pOut->xNewFileNumber = new_file_number;
  pOut->pCtx = pDb;
}

int db_job_init(lsm_db *pDb, compaction_job *pJob, version *pV,
                const compaction_pick *pPick, iter *pFlush){
  compaction_output out;
  uint64_t smallest;
  job_output(pDb, &out);
  mutex_lock(&pDb->mutex);
  smallest = smallest_snapshot(pDb);
  mutex_unlock(&pDb->mutex);
  return compaction_job_init(pJob, &out, pV, pPick, pFlush, smallest);
}

/* True if a table of file iNumber is among ap (a moved table). */
static int table_number_in(uint64_t iNumber, table **ap, int n){
  int i;
  for(i = 0; i < n; i++) if( ap[i]->meta.iNumber == iNumber ) return 1;
  return 0;
}

static int db_install_locked(lsm_db*, table**, int, table**, int, int, db_slice_state*);

/* The oldest WAL whose records are not all in SSTables once the oldest
** bSkipOldest immutable memtables are: the manifest's log number.
** REQUIRES db->mutex. */
static uint64_t oldest_needed_wal(lsm_db *pDb, int bSkipOldest){
  int i;
  mutex_assert_held(&pDb->mutex);
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
static int db_install_with(lsm_db *pDb, table **apRemove, int nRemove, table **apAdd,
                           int nAdd, int bFlushDone, db_slice_state *pSlice){
  int rc;
  mutex_lock(&pDb->installMutex);
  rc = db_install_locked(pDb, apRemove, nRemove, apAdd, nAdd, bFlushDone, pSlice);
  mutex_unlock(&pDb->installMutex);
  mutex_lock(&pDb->mutex);
  pthread_cond_broadcast(&pDb->cond);     /* stalled writers look again */
  mutex_unlock(&pDb->mutex);
  return rc;
}

static int db_install(lsm_db *pDb, table **apRemove, int nRemove,
                      table **apAdd, int nAdd, int bFlushDone){
  return db_install_with(pDb, apRemove, nRemove, apAdd, nAdd, bFlushDone, NULL);
}

int db_install_slice(lsm_db *pDb, table **apRemove, int nRemove, table **apAdd, int nAdd,
                     db_slice_state *pSlice){
  mutex_assert_held(&pDb->workMutex);
  return db_install_with(pDb, apRemove, nRemove, apAdd, nAdd, 0, pSlice);
}

/* pSlice: the new slicing state, moved into the store on success (NULL:
** unchanged). */
static int db_install_locked(lsm_db *pDb, table **apRemove, int nRemove,
                             table **apAdd, int nAdd, int bFlushDone, db_slice_state *pSlice){
  version *pNew = NULL, *pCur;
  uint64_t iLogNumber, iOldWal = 0;
  int rc, i;
  mutex_assert_held(&pDb->installMutex);
  mutex_lock(&pDb->mutex);
  pCur = pDb->pView->pVersion;
  version_ref(pCur);
  mutex_unlock(&pDb->mutex);
  rc = version_apply(pCur, apRemove, nRemove, apAdd, nAdd, &pNew);
  version_unref(pCur);
  if( rc != LSM_OK ) return rc;
  mutex_lock(&pDb->mutex);
  /* Only the flush removes memtables, the oldest, under flushMutex: the
  ** flushed one is still apImm[nImm - 1] here. */
  iLogNumber = oldest_needed_wal(pDb, bFlushDone);
  if( bFlushDone ){
    iOldWal = pDb->aiImmWal[pDb->pView->nImm - 1];   /* 0 during recovery */
    pDb->flushedSeq = pDb->aiImmLastSeq[pDb->pView->nImm - 1];
  }
  mutex_unlock(&pDb->mutex);
  if( !pDb->bMemory ) rc = db_write_manifest(pDb, pNew, iLogNumber, pSlice);
  if( rc == LSM_OK ){
    db_view *pView;
    mutex_lock(&pDb->mutex);
    pView = pDb->pView;
    rc = db_view_install(pDb, pView->pMem, pView->apImm, pView->nImm - (bFlushDone ? 1 : 0), pNew);
    if( rc == LSM_OK && bFlushDone ) pDb->aiImmWal[pDb->pView->nImm] = 0;
    mutex_unlock(&pDb->mutex);
  }
  if( rc == LSM_OK && pSlice ){
    /* The manifest says so now: the store's state follows. */
    db_slice_state_clear(pDb->pEnv, &pDb->slice);
    pDb->slice = *pSlice;
    atomic_store(&pDb->stats.nSliceTables, (uint64_t)pDb->slice.nSet);
    memset(pSlice, 0, sizeof(*pSlice));
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
int db_flush_imm(lsm_db *pDb){
  int rc;
  mutex_lock(&pDb->flushMutex);
  rc = db_flush_imm_locked(pDb);
  mutex_unlock(&pDb->flushMutex);
  return rc;
}
static int db_flush_imm_locked(lsm_db *pDb){
  memtable *pImm;
  version *pV;
  iter *pInput = NULL;
  compaction_job job;
  compaction_result res;
  int rc = LSM_OK;
  mutex_assert_held(&pDb->flushMutex);

  mutex_lock(&pDb->mutex);
  if( pDb->rcFatal ){
    rc = pDb->rcFatal;
    mutex_unlock(&pDb->mutex);
    return rc;
  }
  pImm = pDb->pView->nImm ? pDb->pView->apImm[pDb->pView->nImm - 1] : NULL;
  pV = pDb->pView->pVersion;
  if( pImm ){ memtable_ref(pImm); version_ref(pV); }
  mutex_unlock(&pDb->mutex);
  if( pImm == NULL ) return LSM_OK;

  memset(&res, 0, sizeof(res));
  memset(&job, 0, sizeof(job));
  /* A hosted store may have built this table on a thread already. */
  rc = db_flush_ahead_collect(pDb, pImm, &res);
  if( rc == LSM_OK && res.nOut == 0 ){
    pInput = memtable_iter(pImm, &rc);
    if( rc == LSM_OK ) rc = db_job_init(pDb, &job, pV, NULL, pInput);   /* takes pInput */
    if( rc == LSM_OK ) rc = compaction_run(&job, &res);
    compaction_job_clear(&job);
  }
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
    mutex_lock(&pDb->mutex);
    pthread_cond_broadcast(&pDb->cond);   /* stalled writers go on now */
    mutex_unlock(&pDb->mutex);
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

void db_count_merge(lsm_db *pDb, int iOut, uint64_t nRead, uint64_t nFromAbove,
                    uint64_t nWritten){
  stat_add(&pDb->stats.anLevelFromAbove[iOut], nFromAbove);
  stat_add(&pDb->stats.nCompactions, 1);
  stat_add(&pDb->stats.nCompactionRead, nRead);
  stat_add(&pDb->stats.nCompactionWritten, nWritten);
  stat_add(&pDb->stats.anLevelRead[iOut], nRead);
  stat_add(&pDb->stats.anLevelWritten[iOut], nWritten);
}

/* Merge the inputs of pPick (a COMPACTION_MERGE of version pV) into
** new tables and install them.  REQUIRES workMutex. */
static int db_merge_tables(lsm_db *pDb, version *pV, const compaction_pick *pPick,
                           lsm_compact_result *pResult){
  compaction_job job;
  compaction_result res;
  uint64_t nRead = 0;
  int iOut = pPick->iOutputLevel, rc, i;
  mutex_assert_held(&pDb->workMutex);
  memset(&res, 0, sizeof(res));

  rc = db_job_init(pDb, &job, pV, pPick, NULL);
  if( rc == LSM_OK ) rc = compaction_run(&job, &res);
  compaction_job_clear(&job);
  if( rc == LSM_OK ){
    /* On failure the outputs stay on disk (see db_flush_imm). */
    rc = db_install(pDb, pPick->apInput, pPick->nInput, res.apOut, res.nOut, 0);
  }
  if( rc == LSM_OK ){
    uint64_t nFromAbove = 0;
    for(i = 0; i < pPick->nInput; i++){
      const manifest_file *m = &pPick->apInput[i]->meta;
      nRead += m->nFileBytes;
      if( m->iLevel < iOut ) nFromAbove += m->nFileBytes;
    }
    db_count_merge(pDb, iOut, nRead, nFromAbove, res.nBytesWritten);
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

/* True if the current version's level 0 holds no table numbered above
** the oldest of pPick's inputs that is not an input: they are still the
** newest level-0 tables.  REQUIRES flushMutex (no flush installs
** meanwhile). */
static int level0_inputs_newest(lsm_db *pDb, const compaction_pick *pPick){
  version *pCur;
  uint64_t iOldest = UINT64_MAX;
  int i, bNewest = 1;
  mutex_assert_held(&pDb->flushMutex);
  for(i = 0; i < pPick->nInput; i++){
    if( pPick->apInput[i]->meta.iNumber < iOldest ) iOldest = pPick->apInput[i]->meta.iNumber;
  }
  mutex_lock(&pDb->mutex);
  pCur = pDb->pView->pVersion;
  for(i = 0; bNewest && i < version_level_count(pCur, 0); i++){
    uint64_t iNumber = version_table(pCur, 0, i)->meta.iNumber;
    bNewest = iNumber < iOldest || table_number_in(iNumber, pPick->apInput, pPick->nInput);
  }
  mutex_unlock(&pDb->mutex);
  return bNewest;
}

/* Run one compaction if the picker wants one.  *pbDid = 1 if it ran (or
** if level-0 tables to merge together were overtaken by a flush: the
** caller picks again).  REQUIRES workMutex. */
static int db_compact_once(lsm_db *pDb, int *pbDid){
  version *pV;
  compaction_pick pick;
  int rc = LSM_OK;
  mutex_assert_held(&pDb->workMutex);
  *pbDid = 0;
  mutex_lock(&pDb->mutex);
  pV = pDb->pView->pVersion;
  version_ref(pV);
  mutex_unlock(&pDb->mutex);
  if( pDb->slice.nSet > 0 ){
    /* No other compaction while a slicing is in progress: none may touch
    ** level 1 or the set (db_slice.c), and level 0 is the one that
    ** waits.  The slicing goes first. */
    *pbDid = 1;
    rc = db_slice_next(pDb, pV, NULL);
  }else if( compaction_next(pV, &pDb->opt, &pick) ){
    *pbDid = 1;
    if( pick.eKind == COMPACTION_MOVE ){
      rc = db_move_tables(pDb, pick.apInput, pick.aiMoveLevel, pick.nInput);
    }else if( pick.iOutputLevel == 0 ){
      /* Level-0 tables merged together: the output, numbered now, must be
      ** newer than every level-0 table numbered before it.  Holding
      ** flushMutex, no flush numbers or installs a table until the output
      ** is installed; one installed since the pick is newer than the
      ** inputs, and the pick is dropped (the next one sees it).  The
      ** inputs are a few flushes of tombstones: the flush thread waits
      ** that long, and writers only if two full memtables queue meanwhile. */
      mutex_lock(&pDb->flushMutex);
      if( level0_inputs_newest(pDb, &pick) ) rc = db_merge_tables(pDb, pV, &pick, NULL);
      mutex_unlock(&pDb->flushMutex);
    }else if( db_slice_wanted(pDb, pV, &pick) ){
      rc = db_slice_next(pDb, pV, &pick);
    }else{
      rc = db_merge_tables(pDb, pV, &pick, NULL);
    }
    compaction_pick_clear(pDb->pEnv, &pick);
  }
  version_unref(pV);
  return rc;
}

/* Compact until nothing is due (or shutdown).  Takes workMutex. */
static int db_compact_all(lsm_db *pDb){
  int rc = LSM_OK, bDid = 1;
  mutex_lock(&pDb->workMutex);
  while( rc == LSM_OK && bDid ){
    mutex_lock(&pDb->mutex);
    bDid = !pDb->bShutdown;
    mutex_unlock(&pDb->mutex);
    if( bDid ) rc = db_compact_once(pDb, &bDid);
  }
  mutex_unlock(&pDb->workMutex);
  return rc;
}

/* Record a failed background job (zJob names it) with its message, which
** lives in this thread's buffer, and wake every waiter. */
static void note_result(lsm_db *pDb, int rc, const char *zJob){
  mutex_lock(&pDb->mutex);
  if( rc != LSM_OK ){
    const char *zMsg = error_message();
    pDb->rcBackground = rc;
    snprintf(pDb->zBackgroundMsg, sizeof(pDb->zBackgroundMsg), "%s failed: %s", zJob,
             zMsg[0] ? zMsg : lsm_errstr(rc));
  }
  pthread_cond_broadcast(&pDb->cond);
  mutex_unlock(&pDb->mutex);
}

int db_background_error(lsm_db *pDb){
  mutex_assert_held(&pDb->mutex);
  if( pDb->rcBackground == LSM_OK ) return LSM_OK;
  return error_raise(pDb->rcBackground, __LINE__, "%s", pDb->zBackgroundMsg);
}

/* background=off: flush the immutable memtable, then compact until
** nothing is due, in the caller's thread. */
int db_do_work(lsm_db *pDb){
  int rc = db_flush_imm(pDb);
  const char *zJob = "flush";
  if( rc == LSM_OK ){
    rc = db_compact_all(pDb);
    zJob = "compaction";
  }
  note_result(pDb, rc, zJob);
  return rc;
}

/* Ask the compaction thread to look for work.  REQUIRES db->mutex. */
void db_schedule_work(lsm_db *pDb){
  mutex_assert_held(&pDb->mutex);
  pDb->bWorkPending = 1;
  /* The threads' own conditions: waking db->cond here made a stalled
  ** writer and a waiting lsm_flush wake each other in turn. */
  pthread_cond_signal(&pDb->workCond);
}

/* Ask the flush thread to flush.  REQUIRES db->mutex. */
void db_schedule_flush(lsm_db *pDb){
  mutex_assert_held(&pDb->mutex);
  pthread_cond_signal(&pDb->flushCond);
}

void *db_worker_main(void *pArg){
  lsm_db *pDb = pArg;
  /* Compactions yield the CPU to writers and to the flush thread (a
  ** flush late by a few memtables stalls writers; a compaction late by a
  ** few seconds only grows level 0, which has room for it).  Linux
  ** applies a nice value to the calling thread alone. */
  (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), DB_COMPACTION_NICE);
  mutex_lock(&pDb->mutex);
  for(;;){
    while( !pDb->bShutdown && (!pDb->bWorkPending || pDb->rcBackground) ){
      mutex_cond_wait(&pDb->workCond, &pDb->mutex);
    }
    if( pDb->bShutdown ) break;
    pDb->bWorkPending = 0;
    mutex_unlock(&pDb->mutex);
    error_clear();               /* no stale message for a job's failure */
    note_result(pDb, db_compact_all(pDb), "background compaction");
    mutex_lock(&pDb->mutex);
  }
  mutex_unlock(&pDb->mutex);
  return NULL;
}

void *db_flusher_main(void *pArg){
  lsm_db *pDb = pArg;
  mutex_lock(&pDb->mutex);
  for(;;){
    while( !pDb->bShutdown && (pDb->pView->nImm == 0 || pDb->rcBackground) ){
      mutex_cond_wait(&pDb->flushCond, &pDb->mutex);
    }
    if( pDb->bShutdown ) break;
    mutex_unlock(&pDb->mutex);
    error_clear();
    note_result(pDb, db_flush_imm(pDb), "background flush");
    mutex_lock(&pDb->mutex);
    db_schedule_work(pDb);        /* level 0 grew: a compaction may be due */
  }
  mutex_unlock(&pDb->mutex);
  return NULL;
}

int lsm_compact(lsm_db *pDb, lsm_compact_result *pResult){
  lsm_compact_result res;
  version *pV;
  compaction_pick pick;
  uint64_t t0 = now_micros();
  int rc, i;

  if( pDb == NULL ) return LSM_MISUSE;
  error_clear();
  memset(&res, 0, sizeof(res));
  if( pDb->opt.readonly ){
    return LSM_ERROR_MSG(LSM_READONLY, "the store %s was opened read-only", pDb->zDir);
  }
  rc = lsm_flush(pDb);
  if( rc != LSM_OK ) return rc;

  mutex_lock(&pDb->workMutex);
  /* A slicing in progress ends first: the full merge would meet the
  ** set's entries twice (in level 0 and in the slices' level-1 tables),
  ** and its manifest must not name a set that is gone. */
  while( rc == LSM_OK && pDb->slice.nSet > 0 ){
    mutex_lock(&pDb->mutex);
    pV = pDb->pView->pVersion;
    version_ref(pV);
    mutex_unlock(&pDb->mutex);
    rc = db_slice_next(pDb, pV, NULL);
    version_unref(pV);
  }
  if( rc != LSM_OK ){
    mutex_unlock(&pDb->workMutex);
    return rc;
  }
  mutex_lock(&pDb->mutex);
  pV = pDb->pView->pVersion;
  version_ref(pV);
  mutex_unlock(&pDb->mutex);
  if( compaction_pick_full(pV, &pDb->opt, &pick) ){
    for(i = 0; i < pick.nInput; i++){
      res.nBytesBefore += pick.apInput[i]->meta.nFileBytes;
      res.nEntriesBefore += pick.apInput[i]->meta.nEntries;
    }
    rc = db_merge_tables(pDb, pV, &pick, &res);
    compaction_pick_clear(pDb->pEnv, &pick);
  }else if( version_table_count(pV) > 0 ){
    rc = LSM_NOMEM;
  }
  version_unref(pV);
  mutex_unlock(&pDb->workMutex);
  res.nMillis = (now_micros() - t0) / 1000;
  if( pResult ) *pResult = res;
  return rc;
}

int lsm_work(lsm_db *pDb, int nMaxCompactions, int *pnDone){
  int rc = LSM_OK, nDone = 0, nFlushes = 0, bFull, bTwiceFull, nImm, bDid = 1;
  if( pDb == NULL ) return LSM_MISUSE;
  error_clear();
  if( pnDone ) *pnDone = 0;
  /* A child of fork() has none of the store's threads (a prepared flush's
  ** among them: it must not wait for it). */
  rc = db_check_process(pDb);
  if( rc != LSM_OK ) return rc;
  if( pDb->opt.readonly ) return LSM_OK;
  mutex_lock(&pDb->mutex);
  bFull = memtable_bytes(pDb->pView->pMem) >= pDb->opt.memtable_bytes;
  bTwiceFull = memtable_bytes(pDb->pView->pMem) >= 2 * pDb->opt.memtable_bytes;
  nImm = pDb->pView->nImm;
  mutex_unlock(&pDb->mutex);
  if( pDb->opt.hosted && nImm > 0
   && (bFull || (nMaxCompactions == 0 && !db_flush_ahead_running(pDb))) ){
    /* A memtable lsm_flush_ahead switched out: installed once its thread
    ** is done by a call that runs no compaction (nMaxCompactions 0; one
    ** that finds it still building leaves it), so that a call is either
    ** the host's flush or its compactions, never both unasked (the
    ** extension's COMMIT collects the log rows after its flush call
    ** only); or at once, waiting for the thread, by any call when the
    ** memtable has filled again.
    ** That full memtable is then left to the host's next lsm_flush_ahead
    ** (one flush per call; its table is built on the thread too), unless
    ** it holds twice memtable_bytes (a host whose lsm_flush_ahead keeps
    ** failing must not grow it without end). */
    while( rc == LSM_OK && nImm > 0 ){
      rc = db_flush_imm(pDb);
      mutex_lock(&pDb->mutex);
      nImm = rc == LSM_OK && pDb->rcFatal == LSM_OK ? pDb->pView->nImm : 0;
      mutex_unlock(&pDb->mutex);
    }
    if( rc == LSM_OK ) nFlushes = 1;
    bFull = bTwiceFull;
  }
  if( rc == LSM_OK && bFull ){
    /* Flushes every immutable memtable too. */
    rc = lsm_flush(pDb);
    if( rc == LSM_OK ) nFlushes = 1;
  }
  nDone = nFlushes;
  mutex_lock(&pDb->workMutex);
  while( rc == LSM_OK && bDid && nDone < nMaxCompactions + nFlushes ){
    rc = db_compact_once(pDb, &bDid);
    if( rc == LSM_OK && bDid ) nDone++;
  }
  mutex_unlock(&pDb->workMutex);
  if( pnDone ) *pnDone = nDone;
  return rc;
}
