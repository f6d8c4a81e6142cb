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

uint64_t compaction_file_target(const lsm_options *pOpt){
  uint64_t n = pOpt->memtable_bytes / 2;
  if( n < 256 * 1024 ) n = 256 * 1024;
  if( n > 16 * 1024 * 1024 ) n = 16 * 1024 * 1024;
  /* Tiered merges whole runs, so its tables can be larger: four times
  ** fewer of them to keep open (max_open_tables), to search per level
  ** and to list in the manifest. */
  if( pOpt->compaction == LSM_COMPACTION_TIERED ) n *= 4;
  return n;
}

uint64_t compaction_level_target(const lsm_options *pOpt, int iLevel){
  /* Level 1 is 2.5 memtables (LevelDB's 10 MiB for its 4 MiB buffer): a
  ** level-0 compaction (4 memtables) then rewrites at most as much of
  ** level 1 as it brings, so it finishes before level 0 fills again. */
  uint64_t n = pOpt->memtable_bytes > UINT64_MAX / 5 ? UINT64_MAX : pOpt->memtable_bytes * 5 / 2;
  int i;
  if( n < 256 * 1024 ) n = 256 * 1024;
  for(i = 1; i < iLevel; i++){
    /* Saturate: level_ratio 8 took level 16 past 2^64, and the target
    ** wrapped to 0, which made every table there "over target". */
    if( n > UINT64_MAX / (uint64_t)pOpt->level_ratio ) return UINT64_MAX;
    n *= (uint64_t)pOpt->level_ratio;
  }
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
    rc = table_open(pEnv, pJob->pCache, pJob->zDir, &mf, &pTable);
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

static int version_total_files(version *pV){
  int n = 0, i;
  for(i = 0; i < LSM_MAX_LEVELS; i++) n += pV->anFile[i];
  return n;
}

/* Size the pick for up to nMax inputs. */
static int pick_alloc(version *pV, compaction_pick *pPick, int nMax){
  size_t nByte = (sizeof(table*) + sizeof(int)) * (size_t)(nMax ? nMax : 1);
  uint8_t *p = env_malloc(pV->pEnv, nByte);
  if( p == NULL ) return 0;
  memset(p, 0, nByte);
  pPick->apInput = (table**)p;
  pPick->aiMoveLevel = (int*)&pPick->apInput[nMax ? nMax : 1];
  return 1;
}

void compaction_pick_clear(lsm_env *pEnv, compaction_pick *pPick){
  env_free(pEnv, pPick->apInput);
  memset(pPick, 0, sizeof(*pPick));
}

static void pick_add(compaction_pick *pPick, table *p){
  pPick->apInput[pPick->nInput++] = p;
}

/* Add the tables of level iLevel overlapping [lo, hi]. */
static void pick_add_overlapping(version *pV, int iLevel, const uint8_t *pLo, size_t nLo,
                                 const uint8_t *pHi, size_t nHi, compaction_pick *pPick){
  int i;
  for(i = 0; i < pV->anFile[iLevel]; i++){
    table *p = pV->aapFile[iLevel][i];
    if( table_overlaps(p, pLo, nLo, pHi, nHi) ) pick_add(pPick, p);
  }
}

/* True if no two of the tables overlap. */
static int tables_disjoint(table **ap, int n){
  int i, j;
  for(i = 0; i < n; i++){
    const manifest_file *m = &ap[i]->meta;
    for(j = i + 1; j < n; j++){
      if( table_overlaps(ap[j], m->pSmallest, ikey_user_len(m->nSmallest),
                         m->pLargest, ikey_user_len(m->nLargest)) ) return 0;
    }
  }
  return 1;
}

/* Merge pFirst (and, for level 0, the rest of level 0) into iLevel + 1
** with what overlaps there; or move it if nothing overlaps. */
static int pick_down(version *pV, int iLevel, table *pFirst, compaction_pick *pPick){
  const uint8_t *pLo, *pHi;
  size_t nLo, nHi;
  int i;
  if( !pick_alloc(pV, pPick, version_total_files(pV)) ) return 0;
  if( iLevel == 0 ){
    /* Level-0 tables overlap each other: they go down together. */
    for(i = 0; i < pV->anFile[0]; i++) pick_add(pPick, pV->aapFile[0][i]);
  }else{
    pick_add(pPick, pFirst);
  }
  compaction_range(pPick->apInput, pPick->nInput, &pLo, &nLo, &pHi, &nHi);
  {
    int nOwn = pPick->nInput;
    pick_add_overlapping(pV, iLevel + 1, pLo, nLo, pHi, nHi, pPick);
    if( pPick->nInput == nOwn && tables_disjoint(pPick->apInput, nOwn) ){
      /* Nothing below overlaps and the inputs do not overlap each other
      ** (sequential inserts): move them, rewrite nothing. */
      pPick->eKind = COMPACTION_MOVE;
      for(i = 0; i < nOwn; i++) pPick->aiMoveLevel[i] = iLevel + 1;
      return 1;
    }
  }
  {
    pPick->eKind = COMPACTION_MERGE;
    pPick->iOutputLevel = iLevel + 1;
  }
  return 1;
}

static int table_is_tombstone_dense(const table *p){
  const manifest_file *m = &p->meta;
  return m->nEntries >= COMPACTION_TOMBSTONE_MIN_ENTRIES
      && (double)m->nTombstones >= COMPACTION_TOMBSTONE_RATIO * (double)m->nEntries;
}

static int pick_has(const compaction_pick *pPick, const table *p){
  int i;
  for(i = 0; i < pPick->nInput; i++) if( pPick->apInput[i] == p ) return 1;
  return 0;
}

/*
** The range compaction for a tombstone-dense table p at iLevel: every
** table of levels iLevel..bottom that overlaps the key range, the range
** growing until it is closed under overlap (so the outputs at the bottom
** stay disjoint from the tables left there).  0 if the tombstones are
** fewer than COMPACTION_DEAD_FRACTION of the live entries in the range:
** then the rewrite would not pay.
*/
static int pick_tombstone_chain(version *pV, int iLevel, table *p, compaction_pick *pPick){
  const uint8_t *pLo, *pHi;
  size_t nLo, nHi;
  uint64_t nDead = 0, nBelow = 0;
  int iL, j, iOut = iLevel, nBefore;
  if( !pick_alloc(pV, pPick, version_total_files(pV)) ) return 0;
  pick_add(pPick, p);
  do{
    nBefore = pPick->nInput;
    compaction_range(pPick->apInput, pPick->nInput, &pLo, &nLo, &pHi, &nHi);
    for(iL = iLevel; iL < LSM_MAX_LEVELS; iL++){
      for(j = 0; j < pV->anFile[iL]; j++){
        table *q = pV->aapFile[iL][j];
        if( !pick_has(pPick, q) && table_overlaps(q, pLo, nLo, pHi, nHi) ){
          pick_add(pPick, q);
          if( iL > iOut ) iOut = iL;
        }
      }
    }
  }while( pPick->nInput > nBefore );
  /* Tombstones against the live entries of every input, at any level: the
  ** bottom level need not hold most of the data (leveled sizes levels
  ** from the top). */
  for(j = 0; j < pPick->nInput; j++){
    const manifest_file *m = &pPick->apInput[j]->meta;
    nDead += m->nTombstones;
    nBelow += m->nEntries - m->nTombstones;
  }
  if( iOut > iLevel && (double)nDead < COMPACTION_DEAD_FRACTION * (double)nBelow ){
    compaction_pick_clear(pV->pEnv, pPick);
    return 0;
  }
  pPick->eKind = COMPACTION_MERGE;
  /* Never into level 0, whose tables are searched in file-number order:
  ** an output numbered after a flush that ran beside this compaction
  ** would hide that flush's newer data from lsm_get.  Level 1 takes it as
  ** it is: the range is closed under overlap, so no level-1 table
  ** overlaps it. */
  pPick->iOutputLevel = iOut > 0 ? iOut : 1;
  return 1;
}

static int deepest_level(version *pV){
  int i;
  for(i = LSM_MAX_LEVELS - 1; i > 0; i--) if( pV->anFile[i] ) return i;
  return 0;
}

/*
** Leveled (LevelDB/RocksDB): level 0 by table count, deeper levels by
** bytes over target; the level-i table with the least overlap in level
** i+1 per byte goes down (RocksDB's kMinOverlappingRatio), which keeps
** the bytes rewritten per byte moved, i.e. write amplification, low.
*/
static int pick_leveled(version *pV, const lsm_options *pOpt, compaction_pick *pPick){
  int iLevel, iBest = -1, i, iDeepest = deepest_level(pV);
  double bestScore = 0.0;
  table *pChosen = NULL;

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
  /* Level 0 goes first at the slowdown point (see COMPACTION_L0_PRIORITY):
  ** writers wait on level 0, never on deeper levels, which may run over
  ** target a while. */
  if( pV->anFile[0] >= COMPACTION_L0_PRIORITY ){
    iBest = 0;
    bestScore = (double)pV->anFile[0] / COMPACTION_L0_TRIGGER;
  }
  if( iBest >= 0 ){
    if( iBest > 0 ){
      double bestRatio = 0.0;
      for(i = 0; i < pV->anFile[iBest]; i++){
        table *p = pV->aapFile[iBest][i];
        double ratio = (double)overlap_bytes(pV, iBest + 1, p) / (double)(p->meta.nFileBytes + 1);
        if( pChosen == NULL || ratio < bestRatio ){ pChosen = p; bestRatio = ratio; }
      }
    }
    if( !pick_down(pV, iBest, pChosen, pPick) ) return 0;
    pPick->score = bestScore;
    pPick->zReason = iBest == 0 ? "level-0 table count" : "level size over target";
    return 1;
  }

  /* Deletion-triggered: a tombstone-dense table is merged with every
  ** table under its key range down to the bottom, in one compaction, so
  ** its tombstones meet the data they delete and both go.  Only when it
  ** pays: the tombstones must be at least COMPACTION_DEAD_FRACTION of the
  ** entries below them, so each byte rewritten reclaims at least 2/3 of
  ** a byte (a random 50% delete leaves tables alone; a 90% delete does
  ** not). */
  for(iLevel = 0; iLevel <= iDeepest; iLevel++){
    for(i = 0; i < pV->anFile[iLevel]; i++){
      table *p = pV->aapFile[iLevel][i];
      if( iLevel == 0 && iDeepest == 0 ) break;    /* nothing below to delete */
      if( table_is_tombstone_dense(p) && pick_tombstone_chain(pV, iLevel, p, pPick) ){
        pPick->score = 1.0;
        pPick->zReason = "tombstone-dense table";
        return 1;
      }
    }
  }
  return 0;
}

/*
** Tiered (Cassandra's size-tiered, kept in age order as RocksDB's
** universal compaction does).  Sorted runs, newest first: each level-0
** table, then the one run of each non-empty level 1..LSM_MAX_LEVELS-1.
** The runs in levels are kept packed at the bottom (levels 16, 15, ...),
** so a new run always has a free level above the older ones.  Rules, in
** order:
**   1. pack: if a free level lies below a run, move runs down (no I/O);
**   2. merge the newest window of >= COMPACTION_TIERED_MIN_RUNS
**      adjacent runs whose sizes are within [1/2, 3/2] of the window's
**      mean; a window holding level-0 tables holds every older one too,
**      so the output (at the level of the window's oldest run, or just
**      above the packed runs) stays in age order;
**   3. if level 0 has COMPACTION_TIERED_L0_RUNS tables and no window
**      was found, merge all of level 0;
**   (2, 3) when a level-0 merge finds every level taken, first merge the
**      adjacent pair of level runs that costs least, which frees one;
**   4. merge the newest level runs whose tombstones add up to at least
**      COMPACTION_DEAD_FRACTION of the oldest run's entries with it.
** Tombstones drop when the output is the oldest run (nothing below).
*/
typedef struct tier_run {
  int iLevel;             /* 0: a single level-0 table          */
  table *pTable;          /* level 0: the table                 */
  uint64_t nBytes;
  uint64_t nEntries, nTombstones;
} tier_run;

static int pick_tiered(version *pV, const lsm_options *pOpt, compaction_pick *pPick){
  tier_run aRun[64 + LSM_MAX_LEVELS];
  int nRun = 0, i, j, iLevel, nL0 = pV->anFile[0], iTop = LSM_MAX_LEVELS;
  int iStart = -1, iEnd = -1;
  (void)pOpt;

  /* 1. Pack the level runs at the bottom. */
  {
    int iTarget = LSM_MAX_LEVELS - 1, nMove = 0;
    for(iLevel = LSM_MAX_LEVELS - 1; iLevel >= 1; iLevel--){
      if( pV->anFile[iLevel] == 0 ) continue;
      if( iLevel != iTarget ) nMove += pV->anFile[iLevel];
      iTarget--;
    }
    if( nMove ){
      if( !pick_alloc(pV, pPick, nMove) ) return 0;
      iTarget = LSM_MAX_LEVELS - 1;
      for(iLevel = LSM_MAX_LEVELS - 1; iLevel >= 1; iLevel--){
        if( pV->anFile[iLevel] == 0 ) continue;
        if( iLevel != iTarget ){
          for(i = 0; i < pV->anFile[iLevel]; i++){
            pPick->aiMoveLevel[pPick->nInput] = iTarget;
            pick_add(pPick, pV->aapFile[iLevel][i]);
          }
        }
        iTarget--;
      }
      pPick->eKind = COMPACTION_MOVE;
      pPick->score = 1.0;
      pPick->zReason = "pack tiered runs";
      return 1;
    }
  }

  /* The runs, newest first. */
  for(i = 0; i < nL0 && nRun < 64; i++){
    const manifest_file *m = &pV->aapFile[0][i]->meta;
    aRun[nRun].iLevel = 0;
    aRun[nRun].pTable = pV->aapFile[0][i];
    aRun[nRun].nBytes = m->nFileBytes;
    aRun[nRun].nEntries = m->nEntries;
    aRun[nRun].nTombstones = m->nTombstones;
    nRun++;
  }
  nL0 = nRun;   /* beyond 64 level-0 tables, the oldest wait their turn */
  for(iLevel = 1; iLevel < LSM_MAX_LEVELS; iLevel++){
    if( pV->anFile[iLevel] == 0 ) continue;
    if( iLevel < iTop ) iTop = iLevel;
    memset(&aRun[nRun], 0, sizeof(aRun[nRun]));
    aRun[nRun].iLevel = iLevel;
    for(i = 0; i < pV->anFile[iLevel]; i++){
      const manifest_file *m = &pV->aapFile[iLevel][i]->meta;
      aRun[nRun].nBytes += m->nFileBytes;
      aRun[nRun].nEntries += m->nEntries;
      aRun[nRun].nTombstones += m->nTombstones;
    }
    nRun++;
  }

  /* 2. The newest window of similar-size runs. */
  for(i = 0; i < nRun && iStart < 0; i++){
    double sum = 0.0;
    for(j = i; j < nRun; j++){
      double mean;
      sum += (double)aRun[j].nBytes;
      mean = sum / (double)(j - i + 1);
      if( (double)aRun[j].nBytes < mean * 0.5 || (double)aRun[j].nBytes > mean * 1.5 ) break;
    }
    j--;    /* aRun[i..j] is the window */
    if( j - i + 1 >= COMPACTION_TIERED_MIN_RUNS ){
      /* Level-0 tables in the window must reach the oldest level-0 table. */
      if( i < nL0 && j < nL0 - 1 ) continue;
      if( i < nL0 && nL0 < pV->anFile[0] ) continue;
      iStart = i;
      iEnd = j;
    }
  }

  /* 3. Level 0 is full but its tables differ in size: merge them all
  ** (never only the newest 64: the older ones would sit above newer data). */
  if( iStart < 0 && pV->anFile[0] >= COMPACTION_TIERED_L0_RUNS ){
    if( nL0 < pV->anFile[0] ) return 0;
    iStart = 0;
    iEnd = nL0 - 1;
  }
  /* A window of level-0 tables needs a free level above the runs.  When
  ** every level is taken, first merge the adjacent pair of level runs
  ** that costs least (usually the two newest, smallest), which frees a
  ** level; packing then moves the runs down. */
  if( iStart >= 0 && aRun[iEnd].iLevel == 0 && iTop == 1 && nRun - nL0 >= 2 ){
    uint64_t bestCost = UINT64_MAX;
    for(i = nL0; i + 1 < nRun; i++){
      uint64_t cost = aRun[i].nBytes + aRun[i + 1].nBytes;
      if( cost < bestCost ){ bestCost = cost; iStart = i; }
    }
    iEnd = iStart + 1;
    pPick->zReason = "free a level for new runs";
  }

  /* 4. Runs whose tombstones add up to COMPACTION_DEAD_FRACTION of the
  ** oldest run's entries are merged with it (as for leveled: the rewrite
  ** must pay); the oldest run alone is rewritten when it is dense itself. */
  if( iStart < 0 ){
    uint64_t nDead = 0, nOldest = nRun > nL0 ? aRun[nRun - 1].nEntries : 0;
    /* Level-0 runs count too: a window always reaches the oldest run, so
    ** it holds every level-0 table older than its first. */
    for(i = nRun - 2; i >= 0 && nRun > nL0; i--){
      nDead += aRun[i].nTombstones;
      if( (double)nDead >= COMPACTION_DEAD_FRACTION * (double)nOldest
       && nDead >= COMPACTION_TOMBSTONE_MIN_ENTRIES ){
        iStart = i;
      }
    }
    if( iStart < 0 && nRun > nL0 && nOldest >= COMPACTION_TOMBSTONE_MIN_ENTRIES
     && (double)aRun[nRun - 1].nTombstones >= COMPACTION_TOMBSTONE_RATIO * (double)nOldest ){
      iStart = nRun - 1;
    }
    if( iStart >= 0 ) iEnd = nRun - 1;
    if( iStart < 0 ) return 0;
    pPick->zReason = "tombstone-dense run";
  }else if( pPick->zReason == NULL ){
    pPick->zReason = iEnd - iStart + 1 >= COMPACTION_TIERED_MIN_RUNS
                   ? "similar-size runs" : "level-0 table count";
  }

  if( !pick_alloc(pV, pPick, version_total_files(pV)) ) return 0;
  for(i = iStart; i <= iEnd; i++){
    if( aRun[i].iLevel == 0 ){
      pick_add(pPick, aRun[i].pTable);
    }else{
      for(j = 0; j < pV->anFile[aRun[i].iLevel]; j++) pick_add(pPick, pV->aapFile[aRun[i].iLevel][j]);
    }
  }
  pPick->eKind = COMPACTION_MERGE;
  pPick->iOutputLevel = aRun[iEnd].iLevel ? aRun[iEnd].iLevel : iTop - 1;
  pPick->score = 1.0;
  return 1;
}

int compaction_pick_next(version *pV, const lsm_options *pOpt, compaction_pick *pPick){
  memset(pPick, 0, sizeof(*pPick));
  if( pOpt->compaction == LSM_COMPACTION_TIERED ) return pick_tiered(pV, pOpt, pPick);
  return pick_leveled(pV, pOpt, pPick);
}
