/*
** db_recover.c — opening a store's state: read the manifest (or write the
** first one), open its tables, replay the WALs it does not cover into a
** memtable, flush that memtable, start a new WAL and remove what no
** longer belongs (SSTables no manifest names, obsolete WALs, temporary
** files).  Runs in lsm_open before the background threads start.
*/
#include <stdlib.h>
#include <string.h>

#include "db_impl.h"
#include "env.h"
#include "error.h"
#include "filename.h"
#include "manifest.h"

/* Remove every file of the directory that the current state does not
** need: SSTables no version names (leftovers of an interrupted job), WALs
** older than iLogNumber, temporary files.  Called at open. */
static int db_remove_leftovers(lsm_db *pDb, version *pV, uint64_t iLogNumber){
  char **azName = NULL;
  int nName = 0, i, rc;
  rc = pDb->pEnv->xListDir(pDb->pEnv, pDb->zDir, &azName, &nName);
  for(i = 0; rc == LSM_OK && i < nName; i++){
    uint64_t iNumber;
    int eType = filename_parse(azName[i], &iNumber), bKeep = 1;
    if( eType == FILENAME_SST ){
      bKeep = version_has_file(pV, iNumber);
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
int db_recover(lsm_db *pDb, int bNew){
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
  pDb->flushedSeq = st.iLastSeq;   /* exact for a hosted store (lsm.h) */

  /* Replay the WALs numbered >= iLogNumber, oldest first. */
  if( rc == LSM_OK ) rc = memtable_new(pEnv, &pMem);
  /* A hosted store has no WAL: its host replays its own log (lsm.h). */
  if( rc == LSM_OK && !pDb->opt.hosted ) rc = pEnv->xListDir(pEnv, pDb->zDir, &azName, &nName);
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
    /* No thread runs yet: the lock is for the rules' sake. */
    mutex_lock(&pDb->mutex);
    if( pDb->opt.readonly ){
      rc = db_view_install(pDb, pMem, NULL, 0, pV);
    }else{
      rc = memtable_new(pEnv, &pActive);
      if( rc == LSM_OK ) rc = db_view_install(pDb, pActive, &pMem, memtable_entries(pMem) ? 1 : 0, pV);
      memtable_unref(pActive);
    }
    mutex_unlock(&pDb->mutex);
  }
  /* A hosted store writes only when its host asks (lsm_work), inside the
  ** host's transaction; what it has is already consistent. */
  if( rc == LSM_OK && !pDb->opt.readonly && !pDb->opt.hosted ){
    char *zPath;
    /* Older WALs are removed with the leftovers once the flush is in.  An
    ** in-memory store has no WAL (lsm.h): nothing could replay it, and it
    ** would keep every byte ever written. */
    pDb->aiImmWal[0] = 0;
    if( !pDb->bNoWal ){
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
        mutex_lock(&pDb->installMutex);
        version_ref(pDb->pView->pVersion);
        pV2 = pDb->pView->pVersion;
        rc = db_write_manifest(pDb, pV2, pDb->iWalNumber);
        version_unref(pV2);
        mutex_unlock(&pDb->installMutex);
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
