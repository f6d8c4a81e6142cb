/*
** batch.c — write batches: encoding, decoding, the lazily built read
** index, truncation for savepoints.
**
** Encoding (the payload of one WAL record), a sequence of operations:
**
**   OFFSET  SIZE    DESCRIPTION
**   0       1       type: 1 = put (IKEY_VALUE), 0 = delete (IKEY_DELETE)
**   1       v       key length, varint
**   1+v     nKey    key bytes
**   ...     w       value length, varint        (put only)
**   ...     nVal    value bytes                 (put only)
**
** The operation count is not stored: the WAL record's length delimits the
** payload.  Example, put("a","xy") then delete("a"):
**   01 01 61 02 78 79 | 00 01 61
*/
#include "batch.h"

#include <string.h>

#include "checksum.h"
#include "coding.h"
#include "env.h"
#include "error.h"
#include "ikey.h"

size_t batch_op_size(size_t nKey, size_t nVal){
  return 1 + CODING_MAX_VARINT64 * 2 + nKey + nVal;
}

/* Encode one operation at p; *ppKey and *ppVal get where its key and
** value lie in the encoding (*ppVal NULL for a delete). */
static size_t op_encode(uint8_t *p, int type, const void *pKey, size_t nKey,
                        const void *pVal, size_t nVal, const uint8_t **ppKey,
                        const uint8_t **ppVal){
  uint8_t *pStart = p;
  *p++ = (uint8_t)type;
  p = coding_put_varint(p, nKey);
  if( nKey ) memcpy(p, pKey, nKey);
  *ppKey = p;
  p += nKey;
  *ppVal = NULL;
  if( type == IKEY_VALUE ){
    p = coding_put_varint(p, nVal);
    if( nVal ) memcpy(p, pVal, nVal);
    *ppVal = p;
    p += nVal;
  }
  return (size_t)(p - pStart);
}

size_t batch_op_encode(uint8_t *p, int type, const void *pKey, size_t nKey,
                       const void *pVal, size_t nVal){
  const uint8_t *pKeyAt, *pValAt;
  return op_encode(p, type, pKey, nKey, pVal, nVal, &pKeyAt, &pValAt);
}

/* Decode the operation at p; NULL if malformed.  A key or value over the
** limits batch_add enforces is malformed too: no writer made it (a stored
** batch with a valid checksum can still be hand-made or damaged before it
** was summed), and accepted here it would fail every later flush. */
static const uint8_t *batch_op_decode(const uint8_t *p, const uint8_t *pEnd, int *pType,
                                      const uint8_t **ppKey, size_t *pnKey,
                                      const uint8_t **ppVal, size_t *pnVal){
  uint64_t n;
  int type;
  if( p >= pEnd ) return NULL;
  type = *p++;
  if( type != IKEY_VALUE && type != IKEY_DELETE ) return NULL;
  p = coding_get_varint64(p, pEnd, &n);
  if( p == NULL || n > (uint64_t)(pEnd - p) || n > LSM_MAX_KEY ) return NULL;
  *ppKey = p; *pnKey = (size_t)n; p += n;
  *ppVal = NULL; *pnVal = 0;
  if( type == IKEY_VALUE ){
    p = coding_get_varint64(p, pEnd, &n);
    if( p == NULL || n > (uint64_t)(pEnd - p) || n > LSM_MAX_VALUE ) return NULL;
    *ppVal = p; *pnVal = (size_t)n; p += n;
  }
  *pType = type;
  return p;
}

int batch_decode(const uint8_t *aRep, size_t nRep,
                 int (*xOp)(void*, int, const uint8_t*, size_t, const uint8_t*, size_t),
                 void *pCtx){
  const uint8_t *p = aRep, *pEnd = aRep + nRep;
  int rc = LSM_OK;
  while( rc == LSM_OK && p < pEnd ){
    int type;
    const uint8_t *pKey, *pVal, *pOp = p;
    size_t nKey, nVal;
    p = batch_op_decode(p, pEnd, &type, &pKey, &nKey, &pVal, &nVal);
    if( p == NULL ) return LSM_CORRUPT_BKPT("malformed batch at byte %zu", (size_t)(pOp - aRep));
    rc = xOp(pCtx, type, pKey, nKey, pVal, nVal);
  }
  return rc;
}

typedef struct apply_ctx { memtable *pMem; uint64_t seq; } apply_ctx;

static int apply_op(void *pCtx, int type, const uint8_t *pKey, size_t nKey,
                    const uint8_t *pVal, size_t nVal){
  apply_ctx *p = pCtx;
  return memtable_add(p->pMem, p->seq++, type, pKey, nKey, pVal, nVal);
}

int batch_apply(const uint8_t *aRep, size_t nRep, uint64_t seq, memtable *pMem,
                uint64_t *pnOp){
  apply_ctx ctx;
  int rc;
  ctx.pMem = pMem;
  ctx.seq = seq;
  rc = batch_decode(aRep, nRep, apply_op, &ctx);
  if( pnOp ) *pnOp = ctx.seq - seq;
  return rc;
}

int batch_apply_batch(const lsm_batch *pBatch, uint64_t seq, memtable *pMem){
  if( pBatch->bOne ){
    return memtable_add(pMem, seq, pBatch->eOneType, pBatch->pOneKey, pBatch->nOneKey,
                        pBatch->pOneVal, pBatch->nOneVal);
  }
  return batch_apply(pBatch->aRep, pBatch->nRep, seq, pMem, NULL);
}

void batch_init_static(lsm_batch *p, lsm_env *pEnv, uint8_t *aBuf, size_t nBuf){
  memset(p, 0, sizeof(*p));
  p->pEnv = pEnv;
  p->aRep = aBuf;
  p->nAlloc = nBuf;
  p->bStatic = 1;
}

static int batch_add(lsm_batch *p, int type, const void *pKey, size_t nKey,
                     const void *pVal, size_t nVal);

int batch_init_one(lsm_batch *p, lsm_env *pEnv, uint8_t *aBuf, size_t nBuf, int type,
                   const void *pKey, size_t nKey, const void *pVal, size_t nVal){
  if( nKey <= LSM_MAX_KEY && nVal <= LSM_MAX_VALUE && batch_op_size(nKey, nVal) <= nBuf ){
    /* batch_init_static and batch_add without their general cases. */
    p->pEnv = pEnv;
    p->aRep = aBuf;
    p->nAlloc = nBuf;
    p->bStatic = 1;
    p->pIndex = NULL;
    p->nIndexed = 0;
    p->iIndexedOff = 0;
    p->nRep = op_encode(aBuf, type, pKey, nKey, pVal, nVal, &p->pOneKey, &p->pOneVal);
    p->nOp = 1;
    p->nUserBytes = nKey + nVal;
    p->bOne = 1;
    p->eOneType = type;
    p->nOneKey = nKey;
    p->nOneVal = nVal;
    return LSM_OK;
  }
  /* Too big for aBuf (to the heap, decoded when applied), or at all. */
  batch_init_static(p, pEnv, aBuf, nBuf);
  return batch_add(p, type, pKey, nKey, pVal, nVal);
}

void batch_clear(lsm_batch *p){
  if( !p->bStatic ) env_free(p->pEnv, p->aRep);
  memtable_unref(p->pIndex);
  memset(p, 0, sizeof(*p));
}

int batch_index(lsm_batch *p, memtable **ppIndex){
  int rc = LSM_OK;
  const uint8_t *pEnd = p->aRep + p->nRep;
  if( p->pIndex == NULL ){
    rc = memtable_new(p->pEnv, &p->pIndex);
    if( rc != LSM_OK ) return rc;
    p->nIndexed = 0;
    p->iIndexedOff = 0;
  }
  while( rc == LSM_OK && p->nIndexed < p->nOp ){
    int type;
    const uint8_t *pKey, *pVal;
    size_t nKey, nVal;
    const uint8_t *pNext = batch_op_decode(p->aRep + p->iIndexedOff, pEnd, &type,
                                           &pKey, &nKey, &pVal, &nVal);
    if( pNext == NULL ) return LSM_CORRUPT_BKPT("malformed batch");
    rc = memtable_add(p->pIndex, IKEY_BATCH_SEQ + p->nIndexed + 1, type, pKey, nKey, pVal, nVal);
    if( rc == LSM_OK ){
      p->nIndexed++;
      p->iIndexedOff = (size_t)(pNext - p->aRep);
    }
  }
  *ppIndex = p->pIndex;
  return rc;
}

/* ---- public API ---- */

static int batch_add(lsm_batch *p, int type, const void *pKey, size_t nKey,
                     const void *pVal, size_t nVal){
  size_t nNeed;
  if( p == NULL ) return LSM_MISUSE;
  if( nKey > LSM_MAX_KEY ){
    return LSM_ERROR_MSG(LSM_TOOBIG, "key of %zu bytes is over the limit of %d", nKey, LSM_MAX_KEY);
  }
  if( nVal > LSM_MAX_VALUE ){
    return LSM_ERROR_MSG(LSM_TOOBIG, "value of %zu bytes is over the limit of %u", nVal, LSM_MAX_VALUE);
  }
  nNeed = batch_op_size(nKey, nVal);
  if( p->nRep + nNeed > p->nAlloc ){
    size_t nNew = p->nAlloc ? p->nAlloc * 2 : 256;
    uint8_t *aNew;
    while( nNew < p->nRep + nNeed ) nNew *= 2;
    if( p->bStatic ){
      /* Outgrew the caller's buffer: move to the heap. */
      aNew = env_malloc(p->pEnv, nNew);
      if( aNew == NULL ) return LSM_NOMEM;
      if( p->nRep ) memcpy(aNew, p->aRep, p->nRep);
      p->bStatic = 0;
    }else{
      aNew = env_realloc(p->pEnv, p->aRep, nNew);
      if( aNew == NULL ) return LSM_NOMEM;
    }
    p->aRep = aNew;
    p->nAlloc = nNew;
  }
  p->nRep += batch_op_encode(p->aRep + p->nRep, type, pKey, nKey, pVal, nVal);
  p->nOp++;
  p->bOne = 0;             /* no longer one operation as decoded */
  p->nUserBytes += nKey + nVal;
  return LSM_OK;
}

int lsm_batch_put(lsm_batch *p, const void *pKey, size_t nKey, const void *pVal, size_t nVal){
  return batch_add(p, IKEY_VALUE, pKey, nKey, pVal, nVal);
}

int lsm_batch_delete(lsm_batch *p, const void *pKey, size_t nKey){
  return batch_add(p, IKEY_DELETE, pKey, nKey, NULL, 0);
}

size_t lsm_batch_count(const lsm_batch *p){ return p ? p->nOp : 0; }
uint64_t lsm_batch_bytes(const lsm_batch *p){ return p ? p->nRep : 0; }

void lsm_batch_truncate(lsm_batch *p, size_t nOp){
  const uint8_t *pCur, *pEnd;
  size_t i;
  uint64_t nUser = 0;
  if( p == NULL || nOp >= p->nOp ) return;
  p->bOne = 0;
  pCur = p->aRep;
  pEnd = p->aRep + p->nRep;
  for(i = 0; i < nOp && pCur; i++){
    int type;
    const uint8_t *pKey, *pVal;
    size_t nKey, nVal;
    pCur = batch_op_decode(pCur, pEnd, &type, &pKey, &nKey, &pVal, &nVal);
    nUser += nKey + nVal;
  }
  p->nRep = pCur ? (size_t)(pCur - p->aRep) : 0;
  p->nOp = nOp;
  p->nUserBytes = nUser;
  if( p->nIndexed > nOp ){
    memtable_unref(p->pIndex);
    p->pIndex = NULL;
    p->nIndexed = 0;
    p->iIndexedOff = 0;
  }
}

int lsm_batch_new_env(lsm_env *pEnv, lsm_batch **ppBatch){
  int rc = LSM_OK;
  lsm_batch *p;
  if( ppBatch == NULL ) return LSM_MISUSE;
  if( pEnv == NULL ) pEnv = lsm_env_default();
  p = env_malloc_rc(pEnv, sizeof(lsm_batch), &rc);
  if( p ) p->pEnv = pEnv;
  *ppBatch = p;
  return rc;
}

uint64_t lsm_batch_checksum(const lsm_batch *p){
  return p ? checksum_compute(p->aRep, p->nRep, CHECKSUM_SEED_BATCH) : 0;
}

const void *lsm_batch_data(const lsm_batch *p){ return p ? p->aRep : NULL; }

/* batch_decode callback of lsm_batch_load: counts what it sees. */
static int batch_count_op(void *pCtx, int type, const uint8_t *pKey, size_t nKey,
                          const uint8_t *pVal, size_t nVal){
  uint64_t *a = pCtx;
  (void)type; (void)pKey; (void)pVal;
  a[0]++;
  a[1] += nKey + nVal;
  return LSM_OK;
}

int lsm_batch_load(lsm_batch *p, const void *pData, size_t nData){
  uint64_t aCount[2] = {0, 0};     /* operations, user bytes */
  int rc;
  if( p == NULL || (pData == NULL && nData) ) return LSM_MISUSE;
  lsm_batch_clear(p);
  rc = nData ? batch_decode(pData, nData, batch_count_op, aCount) : LSM_OK;
  if( rc != LSM_OK ) return rc;
  if( nData > p->nAlloc ){
    uint8_t *aNew = p->bStatic ? env_malloc(p->pEnv, nData)
                               : env_realloc(p->pEnv, p->aRep, nData);
    if( aNew == NULL ) return LSM_NOMEM;
    p->aRep = aNew;
    p->nAlloc = nData;
    p->bStatic = 0;
  }
  if( nData ) memcpy(p->aRep, pData, nData);
  p->nRep = nData;
  p->bOne = 0;
  p->nOp = (size_t)aCount[0];
  p->nUserBytes = aCount[1];
  return LSM_OK;
}

void lsm_batch_clear(lsm_batch *p){
  if( p == NULL ) return;
  lsm_batch_truncate(p, 0);
  memtable_unref(p->pIndex);
  p->pIndex = NULL;
  p->nIndexed = 0;
  p->iIndexedOff = 0;
}

void lsm_batch_free(lsm_batch *p){
  if( p == NULL ) return;
  memtable_unref(p->pIndex);
  if( !p->bStatic ) env_free(p->pEnv, p->aRep);
  env_free(p->pEnv, p);
}
