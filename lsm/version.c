/*
** version.c — versions (the live SSTables by level), tables, the level
** iterator and the point-lookup path through the levels.  See version.h
** for the lifetime rules and invariants.
*/
#include "version.h"

#include <string.h>

#include "env.h"
#include "error.h"
#include "filename.h"
#include "ikey.h"

/* ------------------------------------------------------------------ */
/* Tables                                                              */
/* ------------------------------------------------------------------ */

static int copy_bytes(lsm_env *pEnv, const uint8_t *p, size_t n, uint8_t **ppOut, int *pRc){
  *ppOut = env_malloc_rc(pEnv, n ? n : 1, pRc);
  if( *ppOut && n ) memcpy(*ppOut, p, n);
  return *pRc;
}

/* A table struct with one reference, a copy of *pMeta and no reader,
** not yet in the cache; NULL and *pRc on failure. */
static table *table_new(lsm_env *pEnv, table_cache *pCache, const manifest_file *pMeta, int *pRc){
  table *p = env_malloc_rc(pEnv, sizeof(table), pRc);    /* zeroed: no reader, not listed */
  if( p == NULL ) return NULL;
  atomic_init(&p->nRef, 1);
  atomic_init(&p->bObsolete, 0);
  p->pEnv = pEnv;
  p->pCache = pCache;
  p->meta = *pMeta;
  p->meta.pSmallest = p->meta.pLargest = NULL;
  copy_bytes(pEnv, pMeta->pSmallest, pMeta->nSmallest, &p->meta.pSmallest, pRc);
  copy_bytes(pEnv, pMeta->pLargest, pMeta->nLargest, &p->meta.pLargest, pRc);
  return p;
}

int table_open(lsm_env *pEnv, table_cache *pCache, const char *zDir, const manifest_file *pMeta,
               table **ppTable){
  int rc = LSM_OK;
  table *p = table_new(pEnv, pCache, pMeta, &rc);
  sst_reader *pReader = NULL;
  *ppTable = NULL;
  if( p == NULL ) return rc;
  p->zPath = filename_path(pEnv, zDir, FILENAME_SST, pMeta->iNumber, &rc);
  if( rc == LSM_OK ) rc = sst_reader_open(pEnv, p->zPath, &pReader);
  if( rc != LSM_OK ){
    table_unref(p);
    return rc;
  }
  table_cache_insert(p, pReader);
  *ppTable = p;
  return LSM_OK;
}

int table_move(table *pFrom, int iLevel, table **ppTable){
  lsm_env *pEnv = pFrom->pEnv;
  int rc = LSM_OK;
  table *p = table_new(pEnv, pFrom->pCache, &pFrom->meta, &rc);
  *ppTable = NULL;
  if( p == NULL ) return rc;
  p->meta.iLevel = iLevel;
  p->zPath = env_strdup_rc(pEnv, pFrom->zPath, &rc);
  table_ref(pFrom);
  p->pMovedFrom = pFrom;
  if( rc != LSM_OK ){
    table_unref(p);
    return rc;
  }
  *ppTable = p;
  return LSM_OK;
}

void table_ref(table *p){
  atomic_fetch_add_explicit(&p->nRef, 1, memory_order_relaxed);
}

void table_unref(table *p){
  lsm_env *pEnv;
  if( p == NULL ) return;
  if( atomic_fetch_sub_explicit(&p->nRef, 1, memory_order_acq_rel) != 1 ) return;
  pEnv = p->pEnv;
  table_cache_remove(p);
  if( p->pMovedFrom ){
    /* The file is the chain's (see table_move): pass obsolescence on. */
    if( atomic_load(&p->bObsolete) ) atomic_store(&p->pMovedFrom->bObsolete, 1);
    table_unref(p->pMovedFrom);
  }else if( atomic_load(&p->bObsolete) && p->zPath ){
    pEnv->xUnlink(pEnv, p->zPath);
  }
  env_free(pEnv, p->zPath);
  env_free(pEnv, p->meta.pSmallest);
  env_free(pEnv, p->meta.pLargest);
  env_free(pEnv, p);
}

iter *table_iter(table *p, int *pRc){
  sst_reader *pReader = table_cache_reader(p, pRc);
  iter *pIter = NULL;
  if( pReader ){
    pIter = sst_reader_iter(pReader, pRc);     /* takes its own reference */
    sst_reader_unref(pReader);
  }
  return pIter;
}

/* User-key range of a table. */
static const uint8_t *table_smallest_user(const table *p, size_t *pn){
  *pn = ikey_user_len(p->meta.nSmallest);
  return p->meta.pSmallest;
}
static const uint8_t *table_largest_user(const table *p, size_t *pn){
  *pn = ikey_user_len(p->meta.nLargest);
  return p->meta.pLargest;
}
static int table_may_contain(const table *p, const void *pKey, size_t nKey){
  size_t nLo, nHi;
  const uint8_t *pLo = table_smallest_user(p, &nLo);
  const uint8_t *pHi = table_largest_user(p, &nHi);
  return ikey_compare_user(pKey, nKey, pLo, nLo) >= 0
      && ikey_compare_user(pKey, nKey, pHi, nHi) <= 0;
}

/* ------------------------------------------------------------------ */
/* Versions                                                            */
/* ------------------------------------------------------------------ */

int version_new_empty(lsm_env *pEnv, version **ppVersion){
  int rc = LSM_OK;
  version *p = env_malloc_rc(pEnv, sizeof(version), &rc);
  *ppVersion = p;
  if( p ){
    atomic_init(&p->nRef, 1);
    p->pEnv = pEnv;
  }
  return rc;
}

void version_ref(version *p){
  atomic_fetch_add_explicit(&p->nRef, 1, memory_order_relaxed);
}

void version_unref(version *p){
  int iLevel, i;
  if( p == NULL ) return;
  if( atomic_fetch_sub_explicit(&p->nRef, 1, memory_order_acq_rel) != 1 ) return;
  for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++){
    for(i = 0; i < p->anFile[iLevel]; i++) table_unref(p->aapFile[iLevel][i]);
    env_free(p->pEnv, p->aapFile[iLevel]);
  }
  env_free(p->pEnv, p);
}

static int table_in(table *p, table **ap, int n){
  int i;
  for(i = 0; i < n; i++) if( ap[i] == p ) return 1;
  return 0;
}

/* Order of tables within a level: L0 newest (highest number) first;
** deeper levels by smallest key. */
static int table_order(int iLevel, const table *a, const table *b){
  if( iLevel == 0 ){
    return a->meta.iNumber > b->meta.iNumber ? -1 : (a->meta.iNumber < b->meta.iNumber);
  }
  return ikey_compare(a->meta.pSmallest, a->meta.nSmallest, b->meta.pSmallest, b->meta.nSmallest);
}

int version_apply(version *pBase, table **apRemove, int nRemove,
                  table **apAdd, int nAdd, version **ppNew){
  lsm_env *pEnv = pBase->pEnv;
  version *pNew = NULL;
  int rc = version_new_empty(pEnv, &pNew);
  int iLevel, i, j;
  *ppNew = NULL;
  for(iLevel = 0; rc == LSM_OK && iLevel < LSM_MAX_LEVELS; iLevel++){
    int nMax = pBase->anFile[iLevel];
    table **ap;
    int n = 0;
    for(i = 0; i < nAdd; i++) if( apAdd[i]->meta.iLevel == iLevel ) nMax++;
    if( nMax == 0 ) continue;
    ap = env_malloc_rc(pEnv, sizeof(table*) * (size_t)nMax, &rc);
    if( ap == NULL ) break;
    for(i = 0; i < pBase->anFile[iLevel]; i++){
      table *p = pBase->aapFile[iLevel][i];
      if( !table_in(p, apRemove, nRemove) ){ table_ref(p); ap[n++] = p; }
    }
    for(i = 0; i < nAdd; i++){
      if( apAdd[i]->meta.iLevel == iLevel ){ table_ref(apAdd[i]); ap[n++] = apAdd[i]; }
    }
    /* Insertion sort: levels hold tens of tables, and are mostly sorted. */
    for(i = 1; i < n; i++){
      table *p = ap[i];
      for(j = i; j > 0 && table_order(iLevel, ap[j - 1], p) > 0; j--) ap[j] = ap[j - 1];
      ap[j] = p;
    }
    pNew->aapFile[iLevel] = ap;
    pNew->anFile[iLevel] = n;
  }
  if( rc != LSM_OK ){
    version_unref(pNew);
    return rc;
  }
  *ppNew = pNew;
  return LSM_OK;
}

int version_to_manifest(version *p, manifest_state *pState){
  lsm_env *pEnv = p->pEnv;
  int nFile = 0, iLevel, i, rc = LSM_OK;
  for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++) nFile += p->anFile[iLevel];
  pState->aFile = env_malloc_rc(pEnv, sizeof(manifest_file) * (size_t)(nFile ? nFile : 1), &rc);
  pState->nFile = 0;
  for(iLevel = 0; rc == LSM_OK && iLevel < LSM_MAX_LEVELS; iLevel++){
    for(i = 0; rc == LSM_OK && i < p->anFile[iLevel]; i++){
      const manifest_file *pSrc = &p->aapFile[iLevel][i]->meta;
      manifest_file *pDst = &pState->aFile[pState->nFile++];
      *pDst = *pSrc;
      pDst->iLevel = iLevel;
      pDst->pSmallest = pDst->pLargest = NULL;
      copy_bytes(pEnv, pSrc->pSmallest, pSrc->nSmallest, &pDst->pSmallest, &rc);
      copy_bytes(pEnv, pSrc->pLargest, pSrc->nLargest, &pDst->pLargest, &rc);
    }
  }
  return rc;
}

uint64_t version_level_bytes(version *p, int iLevel){
  uint64_t n = 0;
  int i;
  for(i = 0; i < p->anFile[iLevel]; i++) n += p->aapFile[iLevel][i]->meta.nFileBytes;
  return n;
}

/* Index of the first table in sorted level iLevel whose largest user key
** is >= pKey (anFile[iLevel] if none). */
static int level_find(version *p, int iLevel, const void *pKey, size_t nKey){
  int lo = 0, hi = p->anFile[iLevel];
  while( lo < hi ){
    int mid = (lo + hi) / 2;
    size_t n;
    const uint8_t *pHi = table_largest_user(p->aapFile[iLevel][mid], &n);
    if( ikey_compare_user(pHi, n, pKey, nKey) < 0 ) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

int version_key_may_exist_below(version *p, int iLevel, const uint8_t *pKey, size_t nKey){
  int i;
  for(i = iLevel + 1; i < LSM_MAX_LEVELS; i++){
    int j = level_find(p, i, pKey, nKey);
    if( j < p->anFile[i] && table_may_contain(p->aapFile[i][j], pKey, nKey) ) return 1;
  }
  return 0;
}

/* Get from one table.  When found, *ppPinned is the reader (a reference
** the caller releases); otherwise the reader is released here. */
static int table_get(table *pTable, const void *pKey, size_t nKey, uint64_t maxSeq,
                     int *pbFound, int *pType, const uint8_t **ppVal, size_t *pnVal,
                     sst_reader **ppPinned, version_get_stats *pStats){
  sst_probe probe = {0, 0, 0};
  int rc = LSM_OK;
  sst_reader *pReader = table_cache_reader(pTable, &rc);
  if( pReader == NULL ) return rc;
  rc = sst_reader_get(pReader, pKey, nKey, maxSeq, pbFound, pType, ppVal, pnVal, &probe);
  if( rc == LSM_OK && *pbFound ) *ppPinned = pReader;
  else sst_reader_unref(pReader);
  pStats->nBloomChecks += probe.bBloomChecked;
  pStats->nBloomNegatives += probe.bBloomNegative;
  pStats->nProbes += probe.bSearched;
  if( probe.bBloomChecked && !probe.bBloomNegative && !*pbFound ) pStats->nBloomFalsePositives++;
  return rc;
}

int version_get(version *p, const void *pKey, size_t nKey, uint64_t maxSeq,
                int *pbFound, int *pType, const uint8_t **ppVal, size_t *pnVal,
                sst_reader **ppPinned, version_get_stats *pStats){
  int iLevel, i, rc = LSM_OK;
  *pbFound = 0;
  *ppPinned = NULL;
  for(i = 0; i < p->anFile[0]; i++){
    table *pT = p->aapFile[0][i];
    if( !table_may_contain(pT, pKey, nKey) ) continue;
    rc = table_get(pT, pKey, nKey, maxSeq, pbFound, pType, ppVal, pnVal, ppPinned, pStats);
    if( rc != LSM_OK || *pbFound ) return rc;
  }
  for(iLevel = 1; iLevel < LSM_MAX_LEVELS; iLevel++){
    int j;
    if( p->anFile[iLevel] == 0 ) continue;
    j = level_find(p, iLevel, pKey, nKey);
    if( j >= p->anFile[iLevel] ) continue;
    if( !table_may_contain(p->aapFile[iLevel][j], pKey, nKey) ) continue;
    rc = table_get(p->aapFile[iLevel][j], pKey, nKey, maxSeq, pbFound, pType, ppVal, pnVal,
                   ppPinned, pStats);
    if( rc != LSM_OK || *pbFound ) return rc;
  }
  return rc;
}

/* ------------------------------------------------------------------ */
/* Level iterator                                                      */
/* ------------------------------------------------------------------ */

/*
** Walks the disjoint, ascending tables of one level as one sorted
** sequence, holding at most one table iterator open.  Invariant: when
** pCur is non-NULL it is the iterator of apTable[iCur].
*/
typedef struct level_iter {
  iter base;
  lsm_env *pEnv;
  table **apTable;        /* owned array; one reference per table   */
  int nTable;
  int iCur;               /* table of pCur                           */
  iter *pCur;             /* open table iterator or NULL             */
  int rc;                 /* first error                             */
} level_iter;

static int level_open_table(level_iter *p, int i){
  if( p->pCur && p->iCur == i ) return 1;
  iter_close(p->pCur);
  p->pCur = NULL;
  if( i < 0 || i >= p->nTable ) return 0;
  p->pCur = table_iter(p->apTable[i], &p->rc);
  p->iCur = i;
  return p->pCur != NULL;
}

static void level_check(level_iter *p){
  if( p->pCur && !iter_valid(p->pCur) && p->rc == LSM_OK ) p->rc = iter_status(p->pCur);
}

/* Move forward over exhausted tables. */
static void level_skip_forward(level_iter *p){
  while( p->rc == LSM_OK && p->pCur && !iter_valid(p->pCur) ){
    level_check(p);
    if( p->rc != LSM_OK || !level_open_table(p, p->iCur + 1) ) break;
    iter_first(p->pCur);
  }
}
static void level_skip_backward(level_iter *p){
  while( p->rc == LSM_OK && p->pCur && !iter_valid(p->pCur) ){
    level_check(p);
    if( p->rc != LSM_OK || !level_open_table(p, p->iCur - 1) ) break;
    iter_last(p->pCur);
  }
}

static void level_first(iter *pIter){
  level_iter *p = (level_iter*)pIter;
  if( level_open_table(p, 0) ){ iter_first(p->pCur); level_skip_forward(p); }
}
static void level_last(iter *pIter){
  level_iter *p = (level_iter*)pIter;
  if( level_open_table(p, p->nTable - 1) ){ iter_last(p->pCur); level_skip_backward(p); }
}
static void level_seek(iter *pIter, const uint8_t *pIkey, size_t nIkey){
  level_iter *p = (level_iter*)pIter;
  int lo = 0, hi = p->nTable;
  /* First table whose largest internal key >= target. */
  while( lo < hi ){
    int mid = (lo + hi) / 2;
    const manifest_file *m = &p->apTable[mid]->meta;
    if( ikey_compare(m->pLargest, m->nLargest, pIkey, nIkey) < 0 ) lo = mid + 1;
    else hi = mid;
  }
  if( level_open_table(p, lo) ){ iter_seek(p->pCur, pIkey, nIkey); level_skip_forward(p); }
}
static void level_next(iter *pIter){
  level_iter *p = (level_iter*)pIter;
  iter_next(p->pCur);
  level_skip_forward(p);
}
static void level_prev(iter *pIter){
  level_iter *p = (level_iter*)pIter;
  iter_prev(p->pCur);
  level_skip_backward(p);
}
static int level_valid(iter *pIter){
  level_iter *p = (level_iter*)pIter;
  return p->rc == LSM_OK && p->pCur && iter_valid(p->pCur);
}
static const uint8_t *level_key(iter *pIter, size_t *pn){
  return iter_key(((level_iter*)pIter)->pCur, pn);
}
static const uint8_t *level_value(iter *pIter, size_t *pn){
  return iter_value(((level_iter*)pIter)->pCur, pn);
}
static int level_status(iter *pIter){
  level_iter *p = (level_iter*)pIter;
  if( p->rc == LSM_OK && p->pCur ) return iter_status(p->pCur);
  return p->rc;
}
static void level_close(iter *pIter){
  level_iter *p = (level_iter*)pIter;
  int i;
  iter_close(p->pCur);
  for(i = 0; i < p->nTable; i++) table_unref(p->apTable[i]);
  env_free(p->pEnv, p->apTable);
  env_free(p->pEnv, p);
}

static const iter_methods level_methods = {
  level_first, level_last, level_seek, level_next, level_prev,
  level_valid, level_key, level_value, level_status, level_close,
};

iter *level_iter_new(lsm_env *pEnv, table **apTable, int nTable, int *pRc){
  level_iter *p = env_malloc_rc(pEnv, sizeof(level_iter), pRc);
  int i;
  if( p == NULL ) return NULL;
  p->base.pMethods = &level_methods;
  p->pEnv = pEnv;
  p->apTable = env_malloc_rc(pEnv, sizeof(table*) * (size_t)(nTable ? nTable : 1), pRc);
  if( p->apTable == NULL ){
    env_free(pEnv, p);
    return NULL;
  }
  for(i = 0; i < nTable; i++){ table_ref(apTable[i]); p->apTable[i] = apTable[i]; }
  p->nTable = nTable;
  return &p->base;
}

int version_iter_count(version *p){
  int n = p->anFile[0], iLevel;
  for(iLevel = 1; iLevel < LSM_MAX_LEVELS; iLevel++) n += p->anFile[iLevel] > 0;
  return n;
}

int version_add_iters(version *p, iter **apIter, int *pnIter){
  int rc = LSM_OK, i, iLevel;
  for(i = 0; rc == LSM_OK && i < p->anFile[0]; i++){
    iter *pIt = table_iter(p->aapFile[0][i], &rc);
    if( pIt ) apIter[(*pnIter)++] = pIt;
  }
  for(iLevel = 1; rc == LSM_OK && iLevel < LSM_MAX_LEVELS; iLevel++){
    iter *pIt;
    if( p->anFile[iLevel] == 0 ) continue;
    pIt = level_iter_new(p->pEnv, p->aapFile[iLevel], p->anFile[iLevel], &rc);
    if( pIt ) apIter[(*pnIter)++] = pIt;
  }
  return rc;
}
