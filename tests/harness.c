/*
** harness.c — the internal-key model, the iterator comparison and the
** failing iterator (contract in harness.h).
**
** Assertions in loops go through SEED_ASSERT, which costs nothing until
** it fails: ck_assert reports every passing check to the Check parent
** through a pipe, which a walk of thousands of steps would feel.
*/
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "ikey.h"
#include "lsm.h"
#include "merge_iter.h"

#define HARNESS_WALK_STEPS 40   /* next/prev steps after each seek        */
#define HARNESS_RANDOM_SEQ 5000 /* random seeks and gets aim below this seq */

/* ---------------------------------------------------------------- */
/* The model                                                         */
/* ---------------------------------------------------------------- */

static void *harness_malloc(size_t n){
  void *p = malloc(n ? n : 1);
  ck_assert_ptr_nonnull(p);
  return p;
}

void harness_model_add(harness_model *p, const void *pUser, size_t nUser, uint64_t seq, int type,
                       const void *pVal, size_t nVal){
  harness_entry *e;
  if( p->n == p->nAlloc ){
    p->nAlloc = p->nAlloc ? p->nAlloc * 2 : 64;
    p->a = realloc(p->a, p->nAlloc * sizeof(harness_entry));
    ck_assert_ptr_nonnull(p->a);
  }
  e = &p->a[p->n++];
  e->nKey = nUser + IKEY_TRAILER;
  e->pKey = harness_malloc(e->nKey);
  ikey_build(e->pKey, pUser, nUser, seq, type);
  e->nVal = nVal;
  e->pVal = harness_malloc(nVal);
  if( nVal ) memcpy(e->pVal, pVal, nVal);
}

static int harness_entry_cmp(const void *pA, const void *pB){
  const harness_entry *a = pA, *b = pB;
  return ikey_compare(a->pKey, a->nKey, b->pKey, b->nKey);
}

void harness_model_sort(harness_model *p){
  if( p->n ) qsort(p->a, p->n, sizeof(harness_entry), harness_entry_cmp);
}

void harness_model_clear(harness_model *p){
  size_t i;
  for(i = 0; i < p->n; i++){
    free(p->a[i].pKey);
    free(p->a[i].pVal);
  }
  free(p->a);
  memset(p, 0, sizeof(*p));
}

size_t harness_model_lower(const harness_model *p, const uint8_t *pIkey, size_t nIkey){
  size_t lo = 0, hi = p->n;
  while( lo < hi ){
    size_t mid = (lo + hi) / 2;
    if( ikey_compare(p->a[mid].pKey, p->a[mid].nKey, pIkey, nIkey) < 0 ) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

size_t harness_model_get(const harness_model *p, const void *pUser, size_t nUser, uint64_t maxSeq){
  uint8_t *aT = harness_malloc(nUser + IKEY_TRAILER);
  size_t j;
  ikey_build(aT, pUser, nUser, maxSeq, IKEY_VALUE);
  j = harness_model_lower(p, aT, nUser + IKEY_TRAILER);
  free(aT);
  if( j < p->n && ikey_compare_user(p->a[j].pKey, p->a[j].nKey - IKEY_TRAILER, pUser, nUser) == 0 ){
    return j;
  }
  return p->n;
}

size_t harness_random_user(test_rng *r, uint8_t *p, size_t nMax){
  static const char *azPre[] = {"", "user", "user0", "item:", "\xff\xff"};
  const char *zPre = azPre[rng_below(r, 5)];
  size_t nPre = strlen(zPre), n, i;
  if( nPre > nMax ) nPre = nMax;
  memcpy(p, zPre, nPre);
  n = nPre + (size_t)rng_below(r, nMax - nPre + 1);
  for(i = nPre; i < n; i++) p[i] = (uint8_t)("abcd\x00\xff"[rng_below(r, 6)]);
  return n;
}

void harness_model_random(harness_model *p, test_rng *r, int nUser, int nVer, size_t nKeyMax,
                          size_t nValMax){
  uint8_t *aUser = harness_malloc(nKeyMax), *aVal = harness_malloc(nValMax);
  uint64_t seq = 1;
  int i, j;
  for(i = 0; i < nUser; i++){
    size_t nU = harness_random_user(r, aUser, nKeyMax);
    int nV = 1 + (int)rng_below(r, (uint64_t)nVer);
    for(j = 0; j < nV; j++){
      size_t nVal = (size_t)rng_below(r, nValMax + 1), k;
      int type = rng_below(r, 5) == 0 ? IKEY_DELETE : IKEY_VALUE;
      seq += 1 + rng_below(r, 3);          /* (user, seq) pairs never repeat */
      if( type == IKEY_DELETE ) nVal = 0;
      for(k = 0; k < nVal; k++) aVal[k] = (uint8_t)(seq + k * 7);
      harness_model_add(p, aUser, nU, seq, type, aVal, nVal);
    }
  }
  harness_model_sort(p);
  free(aUser);
  free(aVal);
}

size_t harness_get_target(const harness_model *p, test_rng *r, uint8_t *aU, uint64_t *pMaxSeq){
  size_t nU;
  *pMaxSeq = rng_below(r, HARNESS_RANDOM_SEQ);
  if( p->n && rng_below(r, 3) ){
    const harness_entry *e = &p->a[rng_below(r, p->n)];
    nU = e->nKey - IKEY_TRAILER;
    memcpy(aU, e->pKey, nU);
    if( rng_below(r, 2) ) *pMaxSeq = ikey_seq(e->pKey, e->nKey);
    else if( rng_below(r, 2) ) *pMaxSeq = IKEY_MAX_SEQ;
  }else{
    nU = harness_random_user(r, aU, HARNESS_RANDOM_USER);
  }
  return nU;
}

/* ---------------------------------------------------------------- */
/* Comparing an iterator with the model                              */
/* ---------------------------------------------------------------- */

void harness_assert_at(iter *it, const harness_model *p, size_t i, uint64_t seed){
  size_t nK, nV;
  const uint8_t *pK, *pV;
  SEED_ASSERT(iter_valid(it), "not valid at entry %zu of %zu (status %d)",
              (unsigned long long)seed, i, p->n, iter_status(it));
  pK = iter_key(it, &nK);
  pV = iter_value(it, &nV);
  SEED_ASSERT(nK == p->a[i].nKey && memcmp(pK, p->a[i].pKey, nK) == 0, "key %zu of %zu differs",
              (unsigned long long)seed, i, p->n);
  SEED_ASSERT(nV == p->a[i].nVal && (nV == 0 || memcmp(pV, p->a[i].pVal, nV) == 0),
              "value %zu of %zu differs", (unsigned long long)seed, i, p->n);
}

/* A seek target: a present key, the same user key at a random sequence
** number, or a random key; written to aT (room for the longest key). */
static size_t harness_seek_target(const harness_model *p, test_rng *r, uint8_t *aT){
  if( p->n && rng_below(r, 2) ){
    const harness_entry *e = &p->a[rng_below(r, p->n)];
    memcpy(aT, e->pKey, e->nKey);
    if( rng_below(r, 2) ) coding_put64(aT + e->nKey - IKEY_TRAILER, rng_next(r) >> 1);
    return e->nKey;
  }else{
    uint8_t aU[HARNESS_RANDOM_USER];
    size_t nU = harness_random_user(r, aU, sizeof(aU));
    return (size_t)(ikey_build(aT, aU, nU, rng_below(r, HARNESS_RANDOM_SEQ), (int)rng_below(r, 2)) - aT);
  }
}

void harness_check_iter(iter *it, const harness_model *p, test_rng *r, int nSeek, uint64_t seed){
  unsigned long long s = (unsigned long long)seed;
  size_t i, nMax = HARNESS_RANDOM_USER + IKEY_TRAILER;
  uint8_t *aT;
  int k;

  for(i = 0; i < p->n; i++) if( p->a[i].nKey > nMax ) nMax = p->a[i].nKey;
  aT = harness_malloc(nMax);

  /* Whole scans, forward and backward. */
  iter_first(it);
  for(i = 0; i < p->n; i++){ harness_assert_at(it, p, i, seed); iter_next(it); }
  SEED_ASSERT(!iter_valid(it), "valid past the end", s);
  iter_last(it);
  for(i = p->n; i-- > 0; ){ harness_assert_at(it, p, i, seed); iter_prev(it); }
  SEED_ASSERT(!iter_valid(it), "valid before the start", s);

  /* Seeks, each followed by a random walk (forward twice as often). */
  for(k = 0; k < nSeek; k++){
    size_t nT = harness_seek_target(p, r, aT), j;
    int iStep;
    j = harness_model_lower(p, aT, nT);
    iter_seek(it, aT, nT);
    if( j == p->n ){
      SEED_ASSERT(!iter_valid(it), "seek %d: past the end but valid", s, k);
      continue;
    }
    harness_assert_at(it, p, j, seed);
    for(iStep = 0; iStep < HARNESS_WALK_STEPS; iStep++){
      if( rng_below(r, 3) ){
        iter_next(it);
        if( ++j == p->n ) break;
      }else{
        iter_prev(it);
        if( j-- == 0 ) break;
      }
      harness_assert_at(it, p, j, seed);
    }
    if( iStep < HARNESS_WALK_STEPS ){
      SEED_ASSERT(!iter_valid(it), "seek %d step %d: valid off an end", s, k, iStep);
    }
  }
  SEED_ASSERT(iter_status(it) == LSM_OK, "status %d after the walks", s, iter_status(it));
  free(aT);
}

/* ---------------------------------------------------------------- */
/* Sorted sources                                                    */
/* ---------------------------------------------------------------- */

/* Up to 40 children: level 0 right after heavy writes holds 25 tables. */
#define HARNESS_MAX_MERGE 40

iter *harness_memtable_merge(memtable **apMem, int nMem){
  iter *apChild[HARNESS_MAX_MERGE], *pMerge;
  int i, rc = LSM_OK;
  ck_assert_int_le(nMem, HARNESS_MAX_MERGE);
  for(i = 0; i < nMem; i++){
    apChild[i] = memtable_iter(apMem[i], &rc);
    ck_assert_int_eq(rc, LSM_OK);
  }
  pMerge = merge_iter_new(lsm_env_default(), apChild, nMem, &rc);
  ck_assert_int_eq(rc, LSM_OK);
  return pMerge;
}

/* ---------------------------------------------------------------- */
/* The failing iterator                                              */
/* ---------------------------------------------------------------- */

typedef struct harness_fault_iter {
  iter base;                    /* must be first                      */
  iter *pInner;                 /* wrapped iterator; owned            */
  int nLeft;                    /* moves before the failure           */
  int rc;                       /* LSM_CORRUPT once failed            */
} harness_fault_iter;

static harness_fault_iter *hfi_of(iter *p){ return (harness_fault_iter*)p; }

static void hfi_move(harness_fault_iter *p){ if( p->nLeft-- <= 0 ) p->rc = LSM_CORRUPT; }
static void hfi_first(iter *p){ hfi_move(hfi_of(p)); iter_first(hfi_of(p)->pInner); }
static void hfi_last(iter *p){ hfi_move(hfi_of(p)); iter_last(hfi_of(p)->pInner); }
static void hfi_seek(iter *p, const uint8_t *k, size_t n){
  hfi_move(hfi_of(p));
  iter_seek(hfi_of(p)->pInner, k, n);
}
static void hfi_next(iter *p){ hfi_move(hfi_of(p)); iter_next(hfi_of(p)->pInner); }
static void hfi_prev(iter *p){ hfi_move(hfi_of(p)); iter_prev(hfi_of(p)->pInner); }
static int hfi_valid(iter *p){ return hfi_of(p)->rc == LSM_OK && iter_valid(hfi_of(p)->pInner); }
static const uint8_t *hfi_key(iter *p, size_t *pn){ return iter_key(hfi_of(p)->pInner, pn); }
static const uint8_t *hfi_value(iter *p, size_t *pn){ return iter_value(hfi_of(p)->pInner, pn); }
static int hfi_status(iter *p){ return hfi_of(p)->rc ? hfi_of(p)->rc : iter_status(hfi_of(p)->pInner); }
static void hfi_close(iter *p){ iter_close(hfi_of(p)->pInner); free(p); }
static void hfi_park(iter *p){ iter_park(hfi_of(p)->pInner); }

static const iter_methods harness_fault_iter_methods = {
  hfi_first, hfi_last, hfi_seek, hfi_next, hfi_prev, hfi_valid, hfi_key, hfi_value, hfi_status,
  hfi_close, hfi_park,
  NULL,                /* xStep: iter_step makes hfi_next's failure show */
  NULL                 /* xPrefetch */
};

iter *harness_fault_iter_new(iter *pInner, int nLeft){
  harness_fault_iter *p = harness_malloc(sizeof(*p));
  memset(p, 0, sizeof(*p));
  p->base.pMethods = &harness_fault_iter_methods;
  p->pInner = pInner;
  p->nLeft = nLeft;
  return &p->base;
}
