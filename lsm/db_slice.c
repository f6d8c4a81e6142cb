/*
** db_slice.c — a level-0 -> level-1 compaction run in key-range slices,
** one slice per compaction lsm_work runs (lsm_options.l0_slice_bytes).
**
** Why: the leveled policy merges all of level 0 (its tables overlap each
** other, so they go down together) with every level-1 table under them.
** With random keys that is the whole of level 1: for the SQLite
** extension's in-database tables (16 MiB memtable, level 1 up to 40 MiB)
** about 82 MB in and 81 MB out, 420-450 ms of CPU inside one user's
** COMMIT (README, "In-database COMMITs ...").  Cut by key range, the same
** merge becomes slices of about l0_slice_bytes of input each, run by
** successive COMMITs, possibly of other connections or processes.
**
** The set: the level-0 tables the pick chose (the oldest of level 0; all
** of it when picked).  The reached key R: every user key <= R has been
** merged into level 1.  Both are in the manifest (manifest.c, the slice
** section), written in the same manifest as each slice's tables, so a
** crash between slices leaves a store that reopens and goes on, and
** whichever connection makes the next COMMIT runs the next slice.
**
** A slice covers the user keys (R, E] (the first: (-inf, E]; the last:
** (R, +inf)).  It merges the set's entries in that range with the
** level-1 tables inside it and installs the outputs in place of those
** tables; the set stays in level 0, still read, until the last slice
** removes it in the same manifest change.  Every state in between is a
** valid tree:
**   - E is never inside a level-1 input (it is one's largest key, or lies
**     between two): the outputs of a slice are disjoint from the level-1
**     tables left, and level 1 stays sorted.  Level-1 tables outside the
**     set's key range are never inputs (as in the whole-level pick);
**   - a key <= R has the same newest version in the set and in level 1
**     (equal sequence numbers on two levels).  Gets stop at the set's
**     copy (level 0 is read first); a merging iterator yields both, in
**     child order (merge_iter.c orders equal internal keys by child), and
**     db_iter takes the first version of a user key and skips the rest,
**     forward, or keeps the newest, backwards: the two copies are one
**     version, so either is right.  A tombstone a slice drops (no deeper
**     level holds its key) stays in the set's copy until the set goes;
**     the older versions it hid went in the same slice;
**   - newer flushes stack on top of the set in level 0 and hide both
**     copies, as they hide any older level;
**   - no other compaction runs while a slicing is in progress
**     (db_work.c, db_compact_once): none could take a level-1 table
**     or a set table from under it, nor merge the two copies of an entry
**     (compaction_run would take them for damage).  lsm_compact finishes
**     the slicing first.
**
** Where E falls (slice_plan): the set's entries are not read to choose
** it.  Each set table's sparse index says where keys lie: the blocks
** whose separator is <= K hold only keys <= K, so the offset of the
** first block above K estimates the table's bytes of keys <= K
** (LevelDB's ApproximateOffsetOf).  The candidates for E, walked in
** order from R, are the set tables' separators and the level-1 inputs'
** largest keys, skipping any strictly inside a level-1 input; a slice
** takes the last candidate whose estimated input (the set's bytes in
** (R, K] plus the level-1 inputs up to K) is at most the budget, or the
** first candidate if even that is over it (a level-1 table is not split).
** The walk is one pass over the slice's index entries.  Of the cuts in
** budget, the last at the end of a level-1 input or of a level-2 table is
** taken when there is one: the slice's last output then ends where a
** table below ends, as whole-level merges cut their outputs at
** level-2 boundaries (compaction.c, merge_grandparent_cut).  Cut at index
** separators alone, every slice's end split a level-2 table's range
** between two level-1 tables, and the level-1 -> level-2 compactions
** wrote about twice the bytes (prof_write indb 1000000 overwrite: 116
** MB into level 2 against 60 MB whole).
**
** Directory stores keep whole-level compaction (l0_slice_bytes 0): their
** compactions run on a background thread, where no user waits on one.
*/
#include <string.h>

#include "db_impl.h"
#include "env.h"
#include "error.h"
#include "ikey.h"
#include "sst_reader.h"

void db_slice_state_clear(lsm_env *pEnv, db_slice_state *p){
  env_free(pEnv, p->aSet);
  env_free(pEnv, p->pReached);
  memset(p, 0, sizeof(*p));
}

/* A copy of a slicing state: the set aSet[0..nSet) and the reached key
** (pReached, when bReached). */
static int slice_state_make(lsm_env *pEnv, const uint64_t *aSet, int nSet, int bReached,
                            const uint8_t *pReached, size_t nReached, db_slice_state *pOut){
  int rc = LSM_OK;
  memset(pOut, 0, sizeof(*pOut));
  pOut->aSet = env_malloc_rc(pEnv, sizeof(uint64_t) * (size_t)nSet, &rc);
  if( bReached ) pOut->pReached = env_malloc_rc(pEnv, nReached ? nReached : 1, &rc);
  if( rc != LSM_OK ){
    db_slice_state_clear(pEnv, pOut);
    return rc;
  }
  memcpy(pOut->aSet, aSet, sizeof(uint64_t) * (size_t)nSet);
  pOut->nSet = nSet;
  if( bReached ){
    if( nReached ) memcpy(pOut->pReached, pReached, nReached);
    pOut->nReached = nReached;
    pOut->bReached = 1;
  }
  return LSM_OK;
}

int db_slice_load(lsm_db *pDb, const manifest_state *pSt){
  db_slice_state st;
  int rc = LSM_OK;
  memset(&st, 0, sizeof(st));
  if( pSt->nSliceSet > 0 ){
    rc = slice_state_make(pDb->pEnv, pSt->aSliceSet, pSt->nSliceSet, pSt->bSliceReached,
                          pSt->pSliceReached, pSt->nSliceReached, &st);
  }
  if( rc == LSM_OK ){
    db_slice_state_clear(pDb->pEnv, &pDb->slice);
    pDb->slice = st;
    atomic_store(&pDb->stats.nSliceTables, (uint64_t)st.nSet);
  }
  return rc;
}

int db_slice_wanted(lsm_db *pDb, version *pV, const compaction_pick *pPick){
  uint64_t nBytes = 0, iNewestSet = 0;
  int i, nSet = 0;
  if( pDb->opt.l0_slice_bytes == 0 || pDb->opt.compaction != LSM_COMPACTION_LEVELED
   || pPick->eKind != COMPACTION_MERGE || pPick->iOutputLevel != 1 ){
    return 0;
  }
  for(i = 0; i < pPick->nInput; i++){
    const manifest_file *m = &pPick->apInput[i]->meta;
    if( m->iLevel > 1 ) return 0;
    if( m->iLevel == 0 ){
      nSet++;
      if( m->iNumber > iNewestSet ) iNewestSet = m->iNumber;
    }
    nBytes += m->nFileBytes;
  }
  if( nSet == 0 || nBytes <= pDb->opt.l0_slice_bytes ) return 0;
  /* The set must be the oldest of level 0: its entries reach level 1 a
  ** slice at a time, and a level-0 table older than one of them left
  ** above would then hide newer versions. */
  for(i = 0; i < version_level_count(pV, 0); i++){
    table *p = version_table(pV, 0, i);
    if( !compaction_pick_has(pPick, p) && p->meta.iNumber < iNewestSet ) return 0;
  }
  return 1;
}

int db_slice_verify(lsm_db *pDb, version *pV, const db_slice_state *pSt){
  int nL0 = version_level_count(pV, 0), nL1 = version_level_count(pV, 1), i, rc = LSM_OK;
  const manifest_file **apFile;
  const char *zFault;
  char zBuf[200];
  if( pSt->nSet == 0 ) return LSM_OK;
  apFile = env_malloc_rc(pDb->pEnv, sizeof(*apFile) * (size_t)(nL0 + nL1 + 1), &rc);
  if( rc != LSM_OK ) return rc;
  for(i = 0; i < nL0; i++) apFile[i] = &version_table(pV, 0, i)->meta;
  for(i = 0; i < nL1; i++) apFile[nL0 + i] = &version_table(pV, 1, i)->meta;
  zFault = manifest_slice_fault(pSt->aSet, pSt->nSet, pSt->bReached, pSt->pReached, pSt->nReached,
                                apFile, nL0 + nL1, zBuf, sizeof(zBuf));
  env_free(pDb->pEnv, apFile);
  if( zFault ) return LSM_CORRUPT_BKPT("%s: the compaction in slices: %s", pDb->zDir, zFault);
  return LSM_OK;
}

/* ------------------------------------------------------------------ */
/* Choosing the next slice                                             */
/* ------------------------------------------------------------------ */

/* One set table as the planner walks its index. */
typedef struct slice_source {
  sst_reader *pReader;          /* a reference                           */
  int iBlock;                   /* first block whose separator is above the
                                ** last candidate taken                   */
  int nBlock;
  uint64_t iBase;               /* offset of the first block above R       */
} slice_source;

/* The next slice: its inputs and where it ends. */
typedef struct slice_plan {
  table **apInput;              /* the set (level-0 order), then the level-1
                                ** inputs in key order; borrowed tables, an
                                ** owned array                            */
  int nSetInput, nInput;
  int bFinal;                   /* the last slice: no upper end           */
  uint8_t *pEnd; size_t nEnd;   /* !bFinal: E, the largest user key merged
                                ** (owned)                                */
  uint64_t nSetBytes;           /* estimated bytes of the set in range     */
  uint64_t nLevel1Bytes;        /* bytes of the level-1 inputs             */
} slice_plan;

/* A candidate end of the slice, with what the slice up to it takes. */
typedef struct slice_cut {
  const uint8_t *pKey; size_t nKey;   /* E (borrowed; NULL: none yet)     */
  int nLevel1;                  /* level-1 inputs wholly at or below E    */
  uint64_t nSetBytes, nLevel1Bytes;
} slice_cut;

static void slice_plan_clear(lsm_env *pEnv, slice_plan *p){
  env_free(pEnv, p->apInput);
  env_free(pEnv, p->pEnd);
  memset(p, 0, sizeof(*p));
}

/* User key compare of (a, na) against (b, nb). */
static int user_cmp(const uint8_t *a, size_t na, const uint8_t *b, size_t nb){
  return ikey_compare_user(a, na, b, nb);
}

/* Plan the slice after the reached key pSt (of the set pSt->aSet, which
** must be level-0 tables of pV) of about nBudget input bytes. */
static int slice_plan_make(lsm_db *pDb, version *pV, const db_slice_state *pSt,
                           uint64_t nBudget, slice_plan *pPlan){
  lsm_env *pEnv = pDb->pEnv;
  int nL0 = version_level_count(pV, 0), nL1 = version_level_count(pV, 1);
  slice_source *aSrc = NULL;
  int nL2 = version_level_count(pV, 2);
  const uint8_t *pLo, *pHi;
  size_t nLo, nHi;
  uint64_t nCostL1 = 0;
  slice_cut any, aligned;          /* the last cuts in budget: any, at a table's end */
  int rc = LSM_OK, i, j, nSrc = 0, iFirstL1, nL1In = 0, iL1, iL2;

  memset(pPlan, 0, sizeof(*pPlan));
  pPlan->apInput = env_malloc_rc(pEnv, sizeof(table*) * (size_t)(nL0 + nL1 + 1), &rc);
  aSrc = env_malloc_rc(pEnv, sizeof(slice_source) * (size_t)(pSt->nSet + 1), &rc);
  if( rc != LSM_OK ) goto plan_done;
  memset(aSrc, 0, sizeof(slice_source) * (size_t)(pSt->nSet + 1));

  /* The set, in level-0 order. */
  for(i = 0; i < nL0; i++){
    table *p = version_table(pV, 0, i);
    for(j = 0; j < pSt->nSet && pSt->aSet[j] != p->meta.iNumber; j++){}
    if( j < pSt->nSet ) pPlan->apInput[pPlan->nSetInput++] = p;
  }
  /* A state that breaks the rules (a damaged manifest) would drop keys:
  ** level-1 tables straddling R are skipped below, and the merge seeks
  ** past R. */
  rc = db_slice_verify(pDb, pV, pSt);
  if( rc != LSM_OK ) goto plan_done;
  pPlan->nInput = pPlan->nSetInput;

  /* The level-1 tables left to merge: those under the set's key range
  ** above R (every level-1 table is wholly above R or wholly at or below
  ** it: R was a cut), in key order. */
  compaction_pick_range(pPlan->apInput, pPlan->nSetInput, &pLo, &nLo, &pHi, &nHi);
  iFirstL1 = pPlan->nInput;
  for(i = 0; i < nL1; i++){
    table *p = version_table(pV, 1, i);
    size_t nLargest;
    const uint8_t *pLargest = table_largest_user(p, &nLargest);
    if( !table_overlaps(p, pLo, nLo, pHi, nHi) ) continue;
    if( pSt->bReached && user_cmp(pLargest, nLargest, pSt->pReached, pSt->nReached) <= 0 ) continue;
    pPlan->apInput[pPlan->nInput++] = p;
    nL1In++;
  }

  /* Where each set table's keys above R start. */
  for(i = 0; i < pPlan->nSetInput; i++){
    slice_source *pS = &aSrc[nSrc];
    pS->pReader = table_reader(pPlan->apInput[i], &rc);
    if( rc != LSM_OK ) goto plan_done;
    nSrc++;
    pS->nBlock = (int)sst_reader_blocks(pS->pReader);
    pS->iBlock = pSt->bReached ? sst_reader_index_after(pS->pReader, pSt->pReached, pSt->nReached) : 0;
    pS->iBase = sst_reader_index_offset(pS->pReader, pS->iBlock);
  }

  /* Walk the candidates for E in order (see the header). */
  iL1 = 0;
  iL2 = 0;
  while( iL2 < nL2 && pSt->bReached ){
    size_t n;
    const uint8_t *p = table_largest_user(version_table(pV, 2, iL2), &n);
    if( user_cmp(p, n, pSt->pReached, pSt->nReached) > 0 ) break;
    iL2++;
  }
  memset(&any, 0, sizeof(any));
  memset(&aligned, 0, sizeof(aligned));
  pPlan->bFinal = 1;
  for(;;){
    const uint8_t *pK = NULL;
    size_t nK = 0;
    uint64_t nSet = 0;
    int bAligned = 0;
    slice_cut cut;
    for(i = 0; i < nSrc; i++){
      if( aSrc[i].iBlock < aSrc[i].nBlock ){
        size_t n;
        const uint8_t *p = sst_reader_index_user_key(aSrc[i].pReader, aSrc[i].iBlock, &n);
        if( pK == NULL || user_cmp(p, n, pK, nK) < 0 ){ pK = p; nK = n; }
      }
    }
    if( iL1 < nL1In ){
      size_t n;
      const uint8_t *p = table_largest_user(pPlan->apInput[iFirstL1 + iL1], &n);
      if( pK == NULL || user_cmp(p, n, pK, nK) <= 0 ){ pK = p; nK = n; bAligned = 1; }
    }
    if( iL2 < nL2 ){
      size_t n;
      const uint8_t *p = table_largest_user(version_table(pV, 2, iL2), &n);
      int c = pK ? user_cmp(p, n, pK, nK) : -1;
      if( c < 0 ){ pK = p; nK = n; bAligned = 1; }
      else if( c == 0 ) bAligned = 1;
    }
    if( pK == NULL ) break;                 /* all of it fits: the last slice */
    for(i = 0; i < nSrc; i++){
      slice_source *pS = &aSrc[i];
      while( pS->iBlock < pS->nBlock ){
        size_t n;
        const uint8_t *p = sst_reader_index_user_key(pS->pReader, pS->iBlock, &n);
        if( user_cmp(p, n, pK, nK) > 0 ) break;
        pS->iBlock++;
      }
      nSet += sst_reader_index_offset(pS->pReader, pS->iBlock) - pS->iBase;
    }
    while( iL1 < nL1In ){
      table *p = pPlan->apInput[iFirstL1 + iL1];
      size_t n;
      const uint8_t *pLargest = table_largest_user(p, &n);
      if( user_cmp(pLargest, n, pK, nK) > 0 ) break;
      nCostL1 += p->meta.nFileBytes;
      iL1++;
    }
    while( iL2 < nL2 ){
      size_t n;
      const uint8_t *p = table_largest_user(version_table(pV, 2, iL2), &n);
      if( user_cmp(p, n, pK, nK) > 0 ) break;
      iL2++;
    }
    if( iL1 < nL1In ){
      size_t n;
      const uint8_t *pSmallest = table_smallest_user(pPlan->apInput[iFirstL1 + iL1], &n);
      if( user_cmp(pK, nK, pSmallest, n) >= 0 ) continue;   /* inside a level-1 input */
    }
    cut.pKey = pK;
    cut.nKey = nK;
    cut.nLevel1 = iL1;
    cut.nSetBytes = nSet;
    cut.nLevel1Bytes = nCostL1;
    if( nSet + nCostL1 > nBudget ){
      if( any.pKey == NULL ) any = cut;     /* the first cut is over budget */
      pPlan->bFinal = 0;
      break;
    }
    any = cut;
    if( bAligned ) aligned = cut;
  }
  if( pPlan->bFinal ){
    /* Everything left: the set's bytes to the end of its data blocks. */
    pPlan->nSetBytes = 0;
    for(i = 0; i < nSrc; i++){
      pPlan->nSetBytes += sst_reader_index_offset(aSrc[i].pReader, aSrc[i].nBlock) - aSrc[i].iBase;
    }
    pPlan->nLevel1Bytes = nCostL1;
  }else{
    /* The last cut in budget at a level-1 or level-2 table's end if there
    ** is one (see the header), else the last in budget. */
    const slice_cut *pCut = aligned.pKey ? &aligned : &any;
    pPlan->pEnd = env_malloc_rc(pEnv, pCut->nKey ? pCut->nKey : 1, &rc);
    if( rc != LSM_OK ) goto plan_done;
    if( pCut->nKey ) memcpy(pPlan->pEnd, pCut->pKey, pCut->nKey);
    pPlan->nEnd = pCut->nKey;
    pPlan->nInput = iFirstL1 + pCut->nLevel1;
    pPlan->nSetBytes = pCut->nSetBytes;
    pPlan->nLevel1Bytes = pCut->nLevel1Bytes;
  }

plan_done:
  for(i = 0; i < nSrc; i++) sst_reader_unref(aSrc[i].pReader);
  env_free(pEnv, aSrc);
  if( rc != LSM_OK ) slice_plan_clear(pEnv, pPlan);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Running it                                                          */
/* ------------------------------------------------------------------ */

int db_slice_next(lsm_db *pDb, version *pV, const compaction_pick *pPick){
  lsm_env *pEnv = pDb->pEnv;
  db_slice_state start, next;
  const db_slice_state *pSt = &pDb->slice;
  slice_plan plan;
  compaction_pick pick;
  compaction_job job;
  compaction_result res;
  uint64_t nBudget = pDb->opt.l0_slice_bytes ? pDb->opt.l0_slice_bytes : UINT64_MAX;
  int rc = LSM_OK, i, nRemove;

  mutex_assert_held(&pDb->workMutex);
  memset(&start, 0, sizeof(start));
  memset(&next, 0, sizeof(next));
  memset(&res, 0, sizeof(res));
  memset(&job, 0, sizeof(job));
  if( pPick ){
    /* A new slicing: the set is the pick's level-0 tables. */
    uint64_t *aSet = env_malloc_rc(pEnv, sizeof(uint64_t) * (size_t)pPick->nInput, &rc);
    int nSet = 0;
    if( rc != LSM_OK ) return rc;
    for(i = 0; i < pPick->nInput; i++){
      if( pPick->apInput[i]->meta.iLevel == 0 ) aSet[nSet++] = pPick->apInput[i]->meta.iNumber;
    }
    rc = slice_state_make(pEnv, aSet, nSet, 0, NULL, 0, &start);
    env_free(pEnv, aSet);
    if( rc != LSM_OK ) return rc;
    pSt = &start;
  }

  rc = slice_plan_make(pDb, pV, pSt, nBudget, &plan);
  if( rc == LSM_OK ){
    memset(&pick, 0, sizeof(pick));
    pick.eKind = COMPACTION_MERGE;
    pick.iOutputLevel = 1;
    pick.apInput = plan.apInput;
    pick.nInput = plan.nInput;
    pick.nTargetFileBytes = compaction_pick_file_target(&pDb->opt);
    pick.nMaxGrandparentBytes = pick.nTargetFileBytes * COMPACTION_GRANDPARENT_FILES;
    rc = db_job_init(pDb, &job, pV, &pick, NULL);
    if( rc == LSM_OK ){
      job.bAfter = pSt->bReached;
      job.pAfter = pSt->pReached;
      job.nAfter = pSt->nReached;
      job.bUpTo = !plan.bFinal;
      job.pUpTo = plan.pEnd;
      job.nUpTo = plan.nEnd;
      rc = compaction_run(&job, &res);
    }
    compaction_job_clear(&job);
  }
  if( rc == LSM_OK && !plan.bFinal ){
    rc = slice_state_make(pEnv, pSt->aSet, pSt->nSet, 1, plan.pEnd, plan.nEnd, &next);
  }
  if( rc == LSM_OK ){
    /* The last slice takes the set out of level 0 with its own tables;
    ** the others replace only the level-1 tables they merged. */
    table **apRemove = plan.bFinal ? plan.apInput : plan.apInput + plan.nSetInput;
    nRemove = plan.bFinal ? plan.nInput : plan.nInput - plan.nSetInput;
    /* On failure the outputs stay on disk (see db_flush_imm). */
    rc = db_install_slice(pDb, apRemove, nRemove, res.apOut, res.nOut, &next);
  }
  if( rc == LSM_OK ){
    db_count_merge(pDb, 1, plan.nSetBytes + plan.nLevel1Bytes, plan.nSetBytes, res.nBytesWritten);
  }
  compaction_result_clear(pEnv, &res);
  slice_plan_clear(pEnv, &plan);
  db_slice_state_clear(pEnv, &next);
  db_slice_state_clear(pEnv, &start);
  return rc;
}
