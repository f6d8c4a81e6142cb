/*
** table.c — the handle of one live SSTable: opening it, moving it to
** another level, its reference count and file lifetime, and reading it
** through the table cache.  See table.h for the lifetime rules.
*/
#include "table.h"

#include <assert.h>
#include <string.h>

#include "env.h"
#include "filename.h"
#include "ikey.h"

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

static void copy_bytes(lsm_env *pEnv, const uint8_t *p, size_t n, uint8_t **ppOut, int *pRc){
  *ppOut = env_malloc_rc(pEnv, n ? n : 1, pRc);
  if( *ppOut && n ) memcpy(*ppOut, p, n);
}

void table_meta_copy(lsm_env *pEnv, const manifest_file *pSrc, manifest_file *pDst, int *pRc){
  *pDst = *pSrc;
  pDst->pSmallest = pDst->pLargest = NULL;
  copy_bytes(pEnv, pSrc->pSmallest, pSrc->nSmallest, &pDst->pSmallest, pRc);
  copy_bytes(pEnv, pSrc->pLargest, pSrc->nLargest, &pDst->pLargest, pRc);
}

/* A table struct with one reference, a copy of *pMeta, the path zPath
** (taken: freed with the table) and no reader, not yet in the cache;
** NULL and *pRc on failure (zPath freed). */
static table *table_alloc(lsm_env *pEnv, table_cache *pCache, const manifest_file *pMeta,
                          char *zPath, int *pRc){
  table *p = env_malloc_rc(pEnv, sizeof(table), pRc);    /* zeroed: no reader, not listed */
  if( p == NULL ){
    env_free(pEnv, zPath);
    return NULL;
  }
  atomic_init(&p->nRef, 1);
  atomic_init(&p->bObsolete, 0);
  p->pEnv = pEnv;
  p->zPath = zPath;
  table_cache_slot_init(&p->slot, pCache, zPath);
  table_meta_copy(pEnv, pMeta, &p->meta, pRc);
  if( *pRc != LSM_OK ){
    table_unref(p);
    return NULL;
  }
  return p;
}

int table_new(lsm_env *pEnv, table_cache *pCache, const char *zDir, const manifest_file *pMeta,
              table **ppTable){
  int rc = LSM_OK;
  char *zPath = filename_path(pEnv, zDir, FILENAME_SST, pMeta->iNumber, &rc);
  *ppTable = zPath ? table_alloc(pEnv, pCache, pMeta, zPath, &rc) : NULL;
  return rc;
}

int table_open(lsm_env *pEnv, table_cache *pCache, const char *zDir, const manifest_file *pMeta,
               table **ppTable){
  return table_open_filled(pEnv, pCache, zDir, pMeta, 0, ppTable);
}

int table_open_written(lsm_env *pEnv, table_cache *pCache, const char *zDir, int iLevel,
                       uint64_t iNumber, const sst_meta *pMeta, uint64_t idBlocks,
                       table **ppTable){
  manifest_file mf;
  int rc;
  memset(&mf, 0, sizeof(mf));
  mf.iLevel = iLevel;
  mf.iNumber = iNumber;
  mf.nFileBytes = pMeta->nFileBytes;
  mf.nEntries = pMeta->nEntries;
  mf.nTombstones = pMeta->nTombstones;
  mf.nRawBytes = pMeta->nRawBytes;
  mf.pSmallest = pMeta->pSmallest; mf.nSmallest = pMeta->nSmallest;
  mf.pLargest = pMeta->pLargest; mf.nLargest = pMeta->nLargest;
  rc = table_open_filled(pEnv, pCache, zDir, &mf, idBlocks, ppTable);
  if( rc == LSM_OK ){
    sst_reader *pReader = table_reader(*ppTable, &rc);
    if( pReader ) rc = sst_reader_verify_mapped(pReader);
    sst_reader_unref(pReader);
    if( rc != LSM_OK ){
      table_unref(*ppTable);
      *ppTable = NULL;
    }
  }
  return rc;
}

int table_open_filled(lsm_env *pEnv, table_cache *pCache, const char *zDir,
                      const manifest_file *pMeta, uint64_t idBlocks, table **ppTable){
  table *p = NULL;
  sst_reader *pReader = NULL;
  int rc = table_new(pEnv, pCache, zDir, pMeta, &p);
  *ppTable = NULL;
  if( rc == LSM_OK && idBlocks != 0 ) p->slot.idBlocks = idBlocks;
  if( rc == LSM_OK ) rc = table_cache_open_reader(&p->slot, &pReader);
  if( rc != LSM_OK ){
    table_unref(p);
    return rc;
  }
  table_cache_insert(&p->slot, pReader);
  *ppTable = p;
  return LSM_OK;
}

int table_move(table *pFrom, int iLevel, table **ppTable){
  lsm_env *pEnv = pFrom->pEnv;
  int rc = LSM_OK;
  char *zPath = env_strdup_rc(pEnv, pFrom->zPath, &rc);
  table *p = zPath ? table_alloc(pEnv, pFrom->slot.pCache, &pFrom->meta, zPath, &rc) : NULL;
  *ppTable = NULL;
  if( p == NULL ) return rc;
  p->meta.iLevel = iLevel;
  table_ref(pFrom);
  p->pMovedFrom = pFrom;
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
  table_cache_remove(&p->slot);
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

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

sst_reader *table_reader(table *p, int *pRc){
  /* A moved table reads through the table first opened for its file, so
  ** a file has one reader (one charge in the cache) however often it
  ** moved; the chain's references keep that table alive. */
  while( p->pMovedFrom ) p = p->pMovedFrom;
  return table_cache_reader(&p->slot, pRc);
}

iter *table_iter(table *p, int *pRc){
  return table_iter_fill(p, 1, pRc);
}

iter *table_iter_fill(table *p, int eFill, int *pRc){
  sst_reader *pReader = table_reader(p, pRc);
  iter *pIter = NULL;
  if( pReader ){
    pIter = sst_reader_iter_fill(pReader, eFill, pRc);     /* takes its own reference */
    sst_reader_unref(pReader);
  }
  return pIter;
}

int table_iter_retarget(iter *pIter, table *p, int *pRc){
  sst_reader *pReader = table_reader(p, pRc);
  if( pReader == NULL ) return 0;
  sst_reader_iter_retarget(pIter, pReader);      /* takes its own reference */
  sst_reader_unref(pReader);
  return 1;
}

void table_readers_if_open(table *const *apT, int n, sst_reader **apReader){
  table_cache_slot *apSlot[TABLE_READERS_MAX];
  int i;
  assert( n >= 0 && n <= TABLE_READERS_MAX );
  for(i = 0; i < n; i++){
    table *p = apT[i];
    while( p->pMovedFrom ) p = p->pMovedFrom;     /* as table_reader */
    apSlot[i] = &p->slot;
  }
  table_cache_readers_if_open(apSlot, n, apReader);
}

int table_get_from_reader(sst_reader *pReader, const void *pKey, size_t nKey, uint64_t hash,
                          uint64_t maxSeq, table_get_result *pRes){
  sst_probe probe = {0, 0, 0};
  int rc;
  rc = sst_reader_get_hashed(pReader, pKey, nKey, hash, maxSeq, &pRes->bFound, &pRes->type,
                             &pRes->pVal, &pRes->nVal, &pRes->pPinBlock, &probe);
  if( rc == LSM_OK && pRes->bFound ) pRes->pPinned = pReader;
  else sst_reader_unref(pReader);
  pRes->nBloomChecks += probe.bBloomChecked;
  pRes->nBloomNegatives += probe.bBloomNegative;
  pRes->nProbes += probe.bSearched;
  if( probe.bBloomChecked && !probe.bBloomNegative && !pRes->bFound ) pRes->nBloomFalsePositives++;
  return rc;
}

/* ------------------------------------------------------------------ */
/* Key range                                                           */
/* ------------------------------------------------------------------ */

const uint8_t *table_smallest_user(const table *p, size_t *pn){
  *pn = ikey_user_len(p->meta.nSmallest);
  return p->meta.pSmallest;
}

const uint8_t *table_largest_user(const table *p, size_t *pn){
  *pn = ikey_user_len(p->meta.nLargest);
  return p->meta.pLargest;
}

int table_may_contain(const table *p, const void *pKey, size_t nKey){
  return table_overlaps(p, pKey, nKey, pKey, nKey);
}

int table_overlaps(const table *p, const uint8_t *pLo, size_t nLo, const uint8_t *pHi, size_t nHi){
  size_t nSmall, nLarge;
  const uint8_t *pSmall = table_smallest_user(p, &nSmall);
  const uint8_t *pLarge = table_largest_user(p, &nLarge);
  return ikey_compare_user_inline(pLarge, nLarge, pLo, nLo) >= 0
      && ikey_compare_user_inline(pSmall, nSmall, pHi, nHi) <= 0;
}
