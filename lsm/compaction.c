/*
** compaction.c — the merge that flushes and compactions share, and the
** leveled picker.
**
** Policy (leveled, after LevelDB and RocksDB):
**   - level 0 is compacted into level 1 once it holds
**     COMPACTION_L0_TRIGGER tables: all of level 0 plus every level-1
**     table overlapping their key range (level-0 tables overlap each
**     other, so they move down together);
**   - level i >= 1 is compacted when it exceeds its target size, which is
**     10 x memtable size for level 1 and level_ratio (10) times the level
**     above for each deeper level.  Of its tables, the one whose overlap
**     with level i+1 is smallest relative to its own size goes down
**     (RocksDB's kMinOverlappingRatio), which keeps write amplification
**     low: the bytes rewritten per byte moved are smallest;
**   - scores: level 0 = tables / trigger, level i = bytes / target; the
**     highest score >= 1 runs first;
**   - a single input that overlaps nothing in the level below is moved by
**     editing the manifest, not rewritten.
*/
#include "compaction.h"

#include <string.h>

#include "env.h"
#include "error.h"
#include "filename.h"
#include "ikey.h"

#define COMPACTION_LEVEL_RATIO 10

uint64_t compaction_file_target(const lsm_options *pOpt){
  uint64_t n = pOpt->memtable_bytes / 2;
  if( n < 256 * 1024 ) n = 256 * 1024;
  if( n > 16 * 1024 * 1024 ) n = 16 * 1024 * 1024;
  return n;
}

uint64_t compaction_level_target(const lsm_options *pOpt, int iLevel){
  uint64_t n = pOpt->memtable_bytes * 10;
  int i;
  if( n < 1024 * 1024 ) n = 1024 * 1024;
  for(i = 1; i < iLevel; i++) n *= COMPACTION_LEVEL_RATIO;
  return n;
}

/* ------------------------------------------------------------------ */
/* The merge                                                           */
/* ------------------------------------------------------------------ */

typedef struct merge_state {
  const compaction_job *pJob;
  compaction_result *pRes;
  sst_writer *pWriter;          /* output being written, or NULL   */
  uint64_t iNumber;             /* its file number                 */
  char *zPath;                  /* its path                        */
  int nAlloc;                   /* slots in pRes->apOut            */
} merge_state;

static int merge_finish_output(merge_state *p){
  const compaction_job *pJob = p->pJob;
  lsm_env *pEnv = pJob->pEnv;
  sst_meta meta;
  manifest_file mf;
  table *pTable = NULL;
  int rc;
  memset(&meta, 0, sizeof(meta));
  rc = sst_writer_finish(p->pWriter, &meta);
  p->pWriter = NULL;
  if( rc == LSM_OK && p->pRes->nOut == p->nAlloc ){
    int nNew = p->nAlloc ? p->nAlloc * 2 : 8;
    table **apNew = env_realloc(pEnv, p->pRes->apOut, sizeof(table*) * (size_t)nNew);
    if( apNew == NULL ) rc = LSM_NOMEM;
    else{ p->pRes->apOut = apNew; p->nAlloc = nNew; }
  }
  if( rc == LSM_OK ){
    memset(&mf, 0, sizeof(mf));
    mf.iLevel = pJob->iOutputLevel;
    mf.iNumber = p->iNumber;
    mf.nFileBytes = meta.nFileBytes;
    mf.nEntries = meta.nEntries;
    mf.nTombstones = meta.nTombstones;
    mf.nRawBytes = meta.nRawBytes;
    mf.pSmallest = meta.pSmallest; mf.nSmallest = meta.nSmallest;
    mf.pLargest = meta.pLargest; mf.nLargest = meta.nLargest;
    rc = table_open(pEnv, pJob->zDir, &mf, &pTable);
  }
  if( rc == LSM_OK ){
    p->pRes->apOut[p->pRes->nOut++] = pTable;
    p->pRes->nBytesWritten += meta.nFileBytes;
  }else if( p->zPath ){
    pEnv->xUnlink(pEnv, p->zPath);
  }
  sst_meta_clear(pEnv, &meta);
  env_free(pEnv, p->zPath);
  p->zPath = NULL;
  return rc;
}

static int merge_open_output(merge_state *p){
  const compaction_job *pJob = p->pJob;
  int rc = LSM_OK;
  p->iNumber = pJob->xNewFileNumber(pJob->pCtx);
  p->zPath = filename_path(pJob->pEnv, pJob->zDir, FILENAME_SST, p->iNumber, &rc);
  if( rc == LSM_OK ) rc = sst_writer_open(pJob->pEnv, p->zPath, &pJob->sstOpt, &p->pWriter);
  return rc;
}

int compaction_run(const compaction_job *pJob, compaction_result *pRes){
  lsm_env *pEnv = pJob->pEnv;
  iter *pIn = pJob->pInput;
  merge_state st;
  uint8_t *pPrevUser = NULL;     /* user key of the previous entry   */
  size_t nPrevUser = 0, nPrevAlloc = 0;
  int bHavePrev = 0;
  uint64_t lastSeqForKey = 0;    /* seq of the newer version of this key */
  int rc = LSM_OK;

  memset(pRes, 0, sizeof(*pRes));
  memset(&st, 0, sizeof(st));
  st.pJob = pJob;
  st.pRes = pRes;

  iter_first(pIn);
  while( rc == LSM_OK && iter_valid(pIn) ){
    size_t nKey, nVal, nUser;
    const uint8_t *pKey = iter_key(pIn, &nKey);
    const uint8_t *pVal = iter_value(pIn, &nVal);
    uint64_t seq;
    int type, bDrop = 0;
    if( nKey < IKEY_TRAILER ){ rc = LSM_CORRUPT_BKPT("internal key too short"); break; }
    nUser = ikey_user_len(nKey);
    seq = ikey_seq(pKey, nKey);
    type = ikey_type(pKey, nKey);
    pRes->nEntriesIn++;

    if( !bHavePrev || ikey_compare_user(pKey, nUser, pPrevUser, nPrevUser) != 0 ){
      /* First (newest) version of a new user key. */
      if( nUser > nPrevAlloc ){
        uint8_t *pNew = env_realloc(pEnv, pPrevUser, nUser * 2 + 16);
        if( pNew == NULL ){ rc = LSM_NOMEM; break; }
        pPrevUser = pNew;
        nPrevAlloc = nUser * 2 + 16;
      }
      if( nUser ) memcpy(pPrevUser, pKey, nUser);
      nPrevUser = nUser;
      bHavePrev = 1;
      lastSeqForKey = IKEY_MAX_SEQ + 1;     /* no newer version */
    }
    if( lastSeqForKey <= pJob->smallestSnapshot ){
      bDrop = 1;                            /* shadowed for every reader */
    }else if( type == IKEY_DELETE && !pJob->bKeepTombstones
           && seq <= pJob->smallestSnapshot
           && (pJob->bBottom || !version_key_may_exist_below(pJob->pVersion,
                                     pJob->iOutputLevel, pKey, nUser)) ){
      bDrop = 1;                            /* nothing older left to hide */
      pRes->nTombstonesDropped++;
    }
    lastSeqForKey = seq;

    if( !bDrop ){
      if( st.pWriter == NULL ) rc = merge_open_output(&st);
      if( rc == LSM_OK ) rc = sst_writer_add(st.pWriter, pKey, nKey, pVal, nVal);
      pRes->nEntriesOut++;
    }
    iter_next(pIn);

    /* Split outputs only between user keys, so that no user key spans
    ** two tables of a sorted level. */
    if( rc == LSM_OK && st.pWriter && pJob->nTargetFileBytes
     && sst_writer_bytes(st.pWriter) >= pJob->nTargetFileBytes && iter_valid(pIn) ){
      size_t nNext;
      const uint8_t *pNext = iter_key(pIn, &nNext);
      if( nNext >= IKEY_TRAILER
       && ikey_compare_user(pNext, ikey_user_len(nNext), pPrevUser, nPrevUser) != 0 ){
        rc = merge_finish_output(&st);
      }
    }
  }
  if( rc == LSM_OK ) rc = iter_status(pIn);
  if( rc == LSM_OK && st.pWriter ) rc = merge_finish_output(&st);
  if( st.pWriter ){
    sst_writer_abandon(st.pWriter);
    if( st.zPath ) pEnv->xUnlink(pEnv, st.zPath);
  }
  env_free(pEnv, st.zPath);
  env_free(pEnv, pPrevUser);
  if( rc != LSM_OK ){
    int i;
    for(i = 0; i < pRes->nOut; i++){
      atomic_store(&pRes->apOut[i]->bObsolete, 1);   /* unlinked at unref */
    }
    compaction_result_clear(pEnv, pRes);
  }
  return rc;
}

void compaction_result_clear(lsm_env *pEnv, compaction_result *p){
  int i;
  for(i = 0; i < p->nOut; i++) table_unref(p->apOut[i]);
  env_free(pEnv, p->apOut);
  p->apOut = NULL;
  p->nOut = 0;
}

/* ------------------------------------------------------------------ */
/* The picker                                                          */
/* ------------------------------------------------------------------ */

void compaction_range(table **ap, int n, const uint8_t **ppLo, size_t *pnLo,
                      const uint8_t **ppHi, size_t *pnHi){
  int i;
  *ppLo = *ppHi = NULL;
  *pnLo = *pnHi = 0;
  for(i = 0; i < n; i++){
    const manifest_file *m = &ap[i]->meta;
    size_t nLo = ikey_user_len(m->nSmallest), nHi = ikey_user_len(m->nLargest);
    if( *ppLo == NULL || ikey_compare_user(m->pSmallest, nLo, *ppLo, *pnLo) < 0 ){
      *ppLo = m->pSmallest; *pnLo = nLo;
    }
    if( *ppHi == NULL || ikey_compare_user(m->pLargest, nHi, *ppHi, *pnHi) > 0 ){
      *ppHi = m->pLargest; *pnHi = nHi;
    }
  }
}

static int table_overlaps(const table *p, const uint8_t *pLo, size_t nLo,
                          const uint8_t *pHi, size_t nHi){
  const manifest_file *m = &p->meta;
  return ikey_compare_user(m->pLargest, ikey_user_len(m->nLargest), pLo, nLo) >= 0
      && ikey_compare_user(m->pSmallest, ikey_user_len(m->nSmallest), pHi, nHi) <= 0;
}

/* Append to pPick the tables of level iLevel overlapping [lo, hi]. */
static int pick_add_overlapping(version *pV, int iLevel, const uint8_t *pLo, size_t nLo,
                                const uint8_t *pHi, size_t nHi, compaction_pick *pPick){
  int i;
  for(i = 0; i < pV->anFile[iLevel]; i++){
    table *p = pV->aapFile[iLevel][i];
    if( table_overlaps(p, pLo, nLo, pHi, nHi) ) pPick->apInput[pPick->nInput++] = p;
  }
  return LSM_OK;
}

static uint64_t overlap_bytes(version *pV, int iLevel, const table *p){
  const manifest_file *m = &p->meta;
  uint64_t n = 0;
  int i;
  for(i = 0; i < pV->anFile[iLevel]; i++){
    table *q = pV->aapFile[iLevel][i];
    if( table_overlaps(q, m->pSmallest, ikey_user_len(m->nSmallest),
                       m->pLargest, ikey_user_len(m->nLargest)) ){
      n += q->meta.nFileBytes;
    }
  }
  return n;
}

int compaction_pick_next(version *pV, const lsm_options *pOpt, compaction_pick *pPick){
  int iLevel, iBest = -1, i, nMax;
  double bestScore = 0.0;
  const uint8_t *pLo, *pHi;
  size_t nLo, nHi;
  memset(pPick, 0, sizeof(*pPick));

  for(iLevel = 0; iLevel < LSM_MAX_LEVELS - 1; iLevel++){
    double score;
    if( iLevel == 0 ){
      score = (double)pV->anFile[0] / COMPACTION_L0_TRIGGER;
    }else{
      score = (double)version_level_bytes(pV, iLevel)
            / (double)compaction_level_target(pOpt, iLevel);
    }
    if( score >= 1.0 && score > bestScore ){ bestScore = score; iBest = iLevel; }
  }
  if( iBest < 0 ) return 0;

  nMax = pV->anFile[iBest] + pV->anFile[iBest + 1];
  pPick->apInput = env_malloc(pV->pEnv, sizeof(table*) * (size_t)(nMax ? nMax : 1));
  if( pPick->apInput == NULL ) return 0;
  pPick->iLevel = iBest;
  pPick->iOutputLevel = iBest + 1;
  pPick->score = bestScore;

  if( iBest == 0 ){
    for(i = 0; i < pV->anFile[0]; i++) pPick->apInput[pPick->nInput++] = pV->aapFile[0][i];
  }else{
    table *pChosen = NULL;
    double bestRatio = 0.0;
    for(i = 0; i < pV->anFile[iBest]; i++){
      table *p = pV->aapFile[iBest][i];
      double ratio = (double)overlap_bytes(pV, iBest + 1, p) / (double)(p->meta.nFileBytes + 1);
      if( pChosen == NULL || ratio < bestRatio ){ pChosen = p; bestRatio = ratio; }
    }
    pPick->apInput[pPick->nInput++] = pChosen;
  }
  compaction_range(pPick->apInput, pPick->nInput, &pLo, &nLo, &pHi, &nHi);
  {
    int nBefore = pPick->nInput;
    pick_add_overlapping(pV, iBest + 1, pLo, nLo, pHi, nHi, pPick);
    pPick->bTrivialMove = (nBefore == 1 && pPick->nInput == 1);
  }
  return 1;
}
