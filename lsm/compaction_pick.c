/*
** compaction_pick.c — what the two compaction policies share: the size
** of output tables, the tombstone-density rule, full compaction, and the
** pick's storage.  See compaction_pick.h.
*/
#include "compaction_pick.h"

#include <string.h>

#include "env.h"
#include "ikey.h"

uint64_t compaction_pick_file_target(const lsm_options *pOpt){
  uint64_t n = pOpt->memtable_bytes / 2;
  if( n < 256 * 1024 ) n = 256 * 1024;
  if( n > 16 * 1024 * 1024 ) n = 16 * 1024 * 1024;
  /* Tiered merges whole runs, so its tables can be larger: four times
  ** fewer of them to keep open (max_open_tables), to search per level
  ** and to list in the manifest. */
  if( pOpt->compaction == LSM_COMPACTION_TIERED ) n *= 4;
  return n;
}

int compaction_pick_tombstone_dense(uint64_t nEntries, uint64_t nTombstones){
  return nEntries >= COMPACTION_TOMBSTONE_MIN_ENTRIES
      && (double)nTombstones >= COMPACTION_TOMBSTONE_RATIO * (double)nEntries;
}

int compaction_pick_full(version *pV, const lsm_options *pOpt, compaction_pick *pPick){
  int iLevel, i;
  memset(pPick, 0, sizeof(*pPick));
  if( version_table_count(pV) == 0 ) return 0;
  if( !compaction_pick_alloc(pV, pPick, version_table_count(pV)) ) return 0;
  for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++){
    for(i = 0; i < version_level_count(pV, iLevel); i++){
      compaction_pick_add(pPick, version_table(pV, iLevel, i));
    }
  }
  pPick->eKind = COMPACTION_MERGE;
  pPick->iOutputLevel = LSM_MAX_LEVELS - 1;
  pPick->nTargetFileBytes = compaction_pick_file_target(pOpt);
  pPick->score = 1.0;
  pPick->zReason = "full compaction";
  return 1;
}

/* ------------------------------------------------------------------ */
/* The pick's storage                                                  */
/* ------------------------------------------------------------------ */

int compaction_pick_alloc(version *pV, compaction_pick *pPick, int nMax){
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

void compaction_pick_add(compaction_pick *pPick, table *p){
  pPick->apInput[pPick->nInput++] = p;
}

int compaction_pick_has(const compaction_pick *pPick, const table *p){
  int i;
  for(i = 0; i < pPick->nInput; i++) if( pPick->apInput[i] == p ) return 1;
  return 0;
}

void compaction_pick_range(table **ap, int n, const uint8_t **ppLo, size_t *pnLo,
                           const uint8_t **ppHi, size_t *pnHi){
  int i;
  *ppLo = *ppHi = NULL;
  *pnLo = *pnHi = 0;
  for(i = 0; i < n; i++){
    size_t nLo, nHi;
    const uint8_t *pLo = table_smallest_user(ap[i], &nLo);
    const uint8_t *pHi = table_largest_user(ap[i], &nHi);
    if( *ppLo == NULL || ikey_compare_user(pLo, nLo, *ppLo, *pnLo) < 0 ){
      *ppLo = pLo; *pnLo = nLo;
    }
    if( *ppHi == NULL || ikey_compare_user(pHi, nHi, *ppHi, *pnHi) > 0 ){
      *ppHi = pHi; *pnHi = nHi;
    }
  }
}
