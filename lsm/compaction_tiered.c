/*
** compaction_tiered.c — the size-tiered compaction policy (Cassandra's,
** kept in age order as RocksDB's universal compaction does).  Entry
** point: compaction_tiered_pick.
**
** Each level 1..LSM_MAX_LEVELS-1 holds at most one sorted run, so the
** level count bounds the runs the policy can keep before it must merge
** runs of unlike sizes to free a level (rule 2, 3 below).
*/
#include "compaction_tiered.h"

#include <string.h>

/* Similar-size runs a tiered merge takes (Cassandra's min_threshold is
** 4, its max_threshold 32).  A byte is rewritten about log_k(data /
** memtable) times for k runs per merge, as long as the levels can hold
** the k - 1 runs of each size that wait (else runs of unlike sizes must
** be merged to free a level): at 5M keys (~190 memtables) with 11 level
** runs, k = 4 rewrote each byte 2.2 times and k = 8 1.75 times; a
** simulation of the picker put k = 16 with 16 level runs 19% below
** k = 8, at the price of more runs per read. */
#define TIERED_MIN_RUNS 16
/* Level-0 tables merged into one run when no window of similar runs
** forms (they are the runs of one memtable each: a read checks each). */
#define TIERED_L0_RUNS 12
/* Writers stall only once level 0 is past the point where it is merged
** (compaction_pick.h), or they would sleep while nothing is due. */
_Static_assert(TIERED_L0_RUNS < COMPACTION_TIERED_L0_SLOWDOWN
               && TIERED_MIN_RUNS < COMPACTION_TIERED_L0_SLOWDOWN,
               "a tiered writer stalls only past level 0's merge point");

/*
** Sorted runs, newest first: each level-0 table, then the one run of each non-empty level 1..LSM_MAX_LEVELS-1.
** The runs in levels are kept packed at the bottom (levels 16, 15, ...),
** so a new run always has a free level above the older ones.  Rules, in
** order:
**   1. pack: if a free level lies below a run, move runs down (no I/O);
**   2. merge the newest window of >= TIERED_MIN_RUNS adjacent runs
**      whose sizes are within [1/2, 3/2] of the window's mean; a window holding level-0 tables holds every older one too,
**      so the output (at the level of the window's oldest run, or just
**      above the packed runs) stays in age order;
**   3. if level 0 has TIERED_L0_RUNS tables and no window was found,
**      merge all of level 0;
**   (2, 3) when a level-0 merge finds every level taken, first merge the
**      adjacent pair of level runs that costs least, which frees one;
**   4. merge the newest level runs whose tombstones add up to at least
**      COMPACTION_DEAD_FRACTION of the oldest run's entries with it.
** Tombstones drop when the output is the oldest run (nothing below: the
** rule is compaction_job_init's, compaction.c).
*/
typedef struct tier_run {
  int iLevel;             /* 0: a single level-0 table          */
  table *pTable;          /* level 0: the table                 */
  uint64_t nBytes;
  uint64_t nEntries, nTombstones;
} tier_run;

int compaction_tiered_pick(version *pV, const lsm_options *pOpt, compaction_pick *pPick){
  tier_run aRun[64 + LSM_MAX_LEVELS];
  int nRun = 0, i, j, iLevel, nL0 = version_level_count(pV, 0), iTop = LSM_MAX_LEVELS;
  int iStart = -1, iEnd = -1;
  (void)pOpt;

  /* 1. Pack the level runs at the bottom. */
  {
    int iTarget = LSM_MAX_LEVELS - 1, nMove = 0;
    for(iLevel = LSM_MAX_LEVELS - 1; iLevel >= 1; iLevel--){
      if( version_level_count(pV, iLevel) == 0 ) continue;
      if( iLevel != iTarget ) nMove += version_level_count(pV, iLevel);
      iTarget--;
    }
    if( nMove ){
      if( !compaction_pick_alloc(pV, pPick, nMove) ) return 0;
      iTarget = LSM_MAX_LEVELS - 1;
      for(iLevel = LSM_MAX_LEVELS - 1; iLevel >= 1; iLevel--){
        if( version_level_count(pV, iLevel) == 0 ) continue;
        if( iLevel != iTarget ){
          for(i = 0; i < version_level_count(pV, iLevel); i++){
            pPick->aiMoveLevel[pPick->nInput] = iTarget;
            compaction_pick_add(pPick, version_table(pV, iLevel, i));
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
    const manifest_file *m = &version_table(pV, 0, i)->meta;
    aRun[nRun].iLevel = 0;
    aRun[nRun].pTable = version_table(pV, 0, i);
    aRun[nRun].nBytes = m->nFileBytes;
    aRun[nRun].nEntries = m->nEntries;
    aRun[nRun].nTombstones = m->nTombstones;
    nRun++;
  }
  nL0 = nRun;   /* beyond 64 level-0 tables, the oldest wait their turn */
  for(iLevel = 1; iLevel < LSM_MAX_LEVELS; iLevel++){
    if( version_level_count(pV, iLevel) == 0 ) continue;
    if( iLevel < iTop ) iTop = iLevel;
    memset(&aRun[nRun], 0, sizeof(aRun[nRun]));
    aRun[nRun].iLevel = iLevel;
    for(i = 0; i < version_level_count(pV, iLevel); i++){
      const manifest_file *m = &version_table(pV, iLevel, i)->meta;
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
    if( j - i + 1 >= TIERED_MIN_RUNS ){
      /* Level-0 tables in the window must reach the oldest level-0 table. */
      if( i < nL0 && j < nL0 - 1 ) continue;
      if( i < nL0 && nL0 < version_level_count(pV, 0) ) continue;
      iStart = i;
      iEnd = j;
    }
  }

  /* 3. Level 0 is full but its tables differ in size: merge them all
  ** (never only the newest 64: the older ones would sit above newer data). */
  if( iStart < 0 && version_level_count(pV, 0) >= TIERED_L0_RUNS ){
    if( nL0 < version_level_count(pV, 0) ) return 0;
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
    if( iStart < 0 && nRun > nL0
     && compaction_pick_tombstone_dense(nOldest, aRun[nRun - 1].nTombstones) ){
      iStart = nRun - 1;
    }
    if( iStart >= 0 ) iEnd = nRun - 1;
    if( iStart < 0 ) return 0;
    pPick->zReason = "tombstone-dense run";
  }else if( pPick->zReason == NULL ){
    pPick->zReason = iEnd - iStart + 1 >= TIERED_MIN_RUNS
                   ? "similar-size runs" : "level-0 table count";
  }

  if( !compaction_pick_alloc(pV, pPick, version_table_count(pV)) ) return 0;
  for(i = iStart; i <= iEnd; i++){
    if( aRun[i].iLevel == 0 ){
      compaction_pick_add(pPick, aRun[i].pTable);
    }else{
      int iL = aRun[i].iLevel;
      for(j = 0; j < version_level_count(pV, iL); j++) compaction_pick_add(pPick, version_table(pV, iL, j));
    }
  }
  pPick->eKind = COMPACTION_MERGE;
  pPick->iOutputLevel = aRun[iEnd].iLevel ? aRun[iEnd].iLevel : iTop - 1;
  pPick->score = 1.0;
  return 1;
}

