/*
** test_memtable.c — memtable versions, snapshots, counters and iterators.
**
** The model is the list of every version added (user key, seq, type,
** value).  A get at (maxSeq, maxBatchSeq) must return what a brute-force
** scan of that list finds: the visible version with the largest seq.  The
** iterator must show the list sorted by internal key (harness.h: scans
** both ways, seeks and random walks).
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultenv.h"
#include "harness.h"
#include "ikey.h"
#include "lsm.h"
#include "memtable.h"
#include "testutil.h"

typedef struct mt_rec {
  uint8_t aKey[4];              /* user key                        */
  size_t nKey;                  /* its length (0..4)               */
  uint64_t seq;                 /* sequence number                 */
  int type;                     /* IKEY_VALUE or IKEY_DELETE       */
  char zVal[32];                /* value (NUL-terminated)          */
} mt_rec;

static void mt_random_key(test_rng *pRng, uint8_t *aKey, size_t *pnKey){
  size_t i;
  *pnKey = (size_t)rng_below(pRng, 4);
  for(i = 0; i < *pnKey; i++) aKey[i] = (uint8_t)('a' + rng_below(pRng, 3));
}

/*
** nRec random versions with unique sequence numbers; about one in eight
** is numbered in the batch range, one in four is a tombstone.  Added to
** pMem in a random order of sequence numbers.
*/
static mt_rec *mt_fill(memtable *pMem, test_rng *pRng, int nRec){
  mt_rec *a = (mt_rec*)calloc((size_t)nRec, sizeof(mt_rec));
  int i, nBatch = 0;
  for(i = 0; i < nRec; i++){
    mt_rec *r = &a[i];
    mt_random_key(pRng, r->aKey, &r->nKey);
    r->seq = rng_below(pRng, 8) == 0 ? IKEY_BATCH_SEQ + (uint64_t)nBatch++ : (uint64_t)i + 1;
    r->type = rng_below(pRng, 4) == 0 ? IKEY_DELETE : IKEY_VALUE;
    if( r->type == IKEY_VALUE ) snprintf(r->zVal, sizeof(r->zVal), "v%llu", (unsigned long long)r->seq);
    ck_assert_int_eq(memtable_add(pMem, r->seq, r->type, r->aKey, r->nKey,
                                  r->zVal, strlen(r->zVal)), LSM_OK);
  }
  return a;
}

/* The newest visible version of a key, by brute force; NULL if none. */
static const mt_rec *mt_model_get(const mt_rec *a, int n, const uint8_t *pKey, size_t nKey,
                                  uint64_t maxSeq, uint64_t maxBatchSeq){
  const mt_rec *pBest = NULL;
  int i;
  for(i = 0; i < n; i++){
    const mt_rec *r = &a[i];
    int bVisible = r->seq <= maxSeq || (r->seq >= IKEY_BATCH_SEQ && r->seq <= maxBatchSeq);
    if( bVisible && ikey_compare_user(r->aKey, r->nKey, pKey, nKey) == 0
     && (pBest == NULL || r->seq > pBest->seq) ){
      pBest = r;
    }
  }
  return pBest;
}

START_TEST(memtable_get_returns_newest_visible_version_at_random_snapshots){
  unsigned long long seed = test_seed();
  int nRec = test_scale(4000), i;
  memtable *pMem;
  mt_rec *a;
  test_rng rng;
  rng_init(&rng, seed);
  ck_assert_int_eq(memtable_new(lsm_env_default(), &pMem), LSM_OK);
  a = mt_fill(pMem, &rng, nRec);
  for(i = 0; i < nRec; i++){
    uint8_t aKey[4];
    size_t nKey;
    uint64_t maxSeq = rng_below(&rng, (uint64_t)nRec + 2);
    uint64_t maxBatchSeq = rng_below(&rng, 2) ? 0 : IKEY_BATCH_SEQ + rng_below(&rng, (uint64_t)nRec / 8 + 2);
    const mt_rec *pWant;
    int type = -1, bFound;
    const uint8_t *pVal = NULL;
    size_t nVal = 0;
    if( i % 16 == 0 ) maxSeq = IKEY_MAX_SEQ;     /* "everything" */
    mt_random_key(&rng, aKey, &nKey);
    pWant = mt_model_get(a, nRec, aKey, nKey, maxSeq, maxBatchSeq);
    bFound = memtable_get(pMem, aKey, nKey, maxSeq, maxBatchSeq, &type, &pVal, &nVal);
    SEED_ASSERT(bFound == (pWant != NULL), "get %d found=%d", seed, i, bFound);
    if( pWant ){
      SEED_ASSERT(type == pWant->type, "get %d type", seed, i);
      SEED_ASSERT(nVal == strlen(pWant->zVal) && memcmp(pVal, pWant->zVal, nVal) == 0,
                  "get %d value", seed, i);
    }
  }
  memtable_unref(pMem);
  free(a);
}
END_TEST

START_TEST(memtable_counts_entries_tombstones_and_bytes){
  memtable *pMem;
  size_t nBytes0;
  uint8_t aBig[10000];
  ck_assert_int_eq(memtable_new(lsm_env_default(), &pMem), LSM_OK);
  nBytes0 = memtable_bytes(pMem);
  ck_assert_uint_eq(memtable_entries(pMem), 0);
  ck_assert_uint_eq(memtable_tombstones(pMem), 0);
  ck_assert_int_eq(memtable_add(pMem, 1, IKEY_VALUE, "a", 1, "1", 1), LSM_OK);
  ck_assert_int_eq(memtable_add(pMem, 2, IKEY_DELETE, "a", 1, NULL, 0), LSM_OK);
  ck_assert_int_eq(memtable_add(pMem, 3, IKEY_VALUE, "", 0, "", 0), LSM_OK);
  ck_assert_uint_eq(memtable_entries(pMem), 3);
  ck_assert_uint_eq(memtable_tombstones(pMem), 1);
  ck_assert_uint_ge(memtable_bytes(pMem), nBytes0);
  memset(aBig, 'x', sizeof(aBig));
  ck_assert_int_eq(memtable_add(pMem, 4, IKEY_VALUE, "b", 1, aBig, sizeof(aBig)), LSM_OK);
  ck_assert_uint_ge(memtable_bytes(pMem), nBytes0 + sizeof(aBig));
  memtable_unref(pMem);
}
END_TEST

START_TEST(memtable_iterator_matches_model_on_random_walks){
  unsigned long long seed = test_seed();
  int nRec = test_scale(3000), i;
  memtable *pMem;
  mt_rec *a;
  iter *pIter;
  int rc = LSM_OK;
  test_rng rng;
  harness_model m = {0};
  rng_init(&rng, seed + 1);
  ck_assert_int_eq(memtable_new(lsm_env_default(), &pMem), LSM_OK);
  a = mt_fill(pMem, &rng, nRec);
  for(i = 0; i < nRec; i++){
    harness_model_add(&m, a[i].aKey, a[i].nKey, a[i].seq, a[i].type, a[i].zVal, strlen(a[i].zVal));
  }
  harness_model_sort(&m);
  pIter = memtable_iter(pMem, &rc);
  ck_assert_int_eq(rc, LSM_OK);
  ck_assert(!iter_valid(pIter));
  harness_check_iter(pIter, &m, &rng, nRec / 5, seed);
  iter_close(pIter);
  memtable_unref(pMem);
  harness_model_clear(&m);
  free(a);
}
END_TEST

START_TEST(memtable_iterator_keeps_memtable_alive_after_last_unref){
  memtable *pMem;
  iter *pIter;
  int rc = LSM_OK;
  size_t n;
  ck_assert_int_eq(memtable_new(lsm_env_default(), &pMem), LSM_OK);
  ck_assert_int_eq(memtable_add(pMem, 1, IKEY_VALUE, "k", 1, "v", 1), LSM_OK);
  pIter = memtable_iter(pMem, &rc);
  ck_assert_ptr_nonnull(pIter);
  memtable_unref(pMem);
  iter_first(pIter);
  ck_assert(iter_valid(pIter));
  ck_assert_int_eq(memcmp(iter_value(pIter, &n), "v", 1), 0);
  iter_close(pIter);                 /* frees the memtable (ASan checks) */
  memtable_unref(NULL);
}
END_TEST

START_TEST(memtable_add_reports_nomem_and_adds_nothing){
  faultenv *fe = faultenv_new(NULL);
  memtable *pMem;
  uint8_t aVal[3000];
  int i, rc = LSM_OK, nOk = 0;
  faultenv_fail(fe, FAULTENV_ALLOC, 1, 0, 1);
  ck_assert_int_eq(memtable_new(faultenv_env(fe), &pMem), LSM_NOMEM);
  ck_assert_ptr_null(pMem);
  faultenv_fail(fe, FAULTENV_ALLOC, 2, 0, 1);                       /* the arena's first block */
  ck_assert_int_eq(memtable_new(faultenv_env(fe), &pMem), LSM_NOMEM);
  faultenv_fail_clear(fe);
  ck_assert_int_eq(memtable_new(faultenv_env(fe), &pMem), LSM_OK);
  memset(aVal, 'x', sizeof(aVal));
  faultenv_fail(fe, FAULTENV_ALLOC, 4, 0, 1);                       /* three more succeed */
  for(i = 0; i < 10; i++){
    char zKey[8];
    snprintf(zKey, sizeof(zKey), "k%d", i);
    rc = memtable_add(pMem, (uint64_t)i + 1, IKEY_VALUE, zKey, strlen(zKey), aVal, sizeof(aVal));
    if( rc == LSM_OK ) nOk++;
    else ck_assert_int_eq(rc, LSM_NOMEM);
  }
  /* The first value fits the head block's tail; then one block each. */
  ck_assert_int_eq(nOk, 4);
  ck_assert_uint_eq(memtable_entries(pMem), (uint64_t)nOk);
  ck_assert_ptr_null(memtable_iter(pMem, &rc));
  ck_assert_int_eq(rc, LSM_NOMEM);
  faultenv_fail_clear(fe);
  memtable_unref(pMem);
  faultenv_free(fe);
}
END_TEST

/* ---- one writer, two readers ---- */

typedef struct mt_shared {
  memtable *pMem;               /* shared memtable                     */
  int nWrite;                   /* versions the writer adds            */
  _Atomic int bDone;            /* writer finished                     */
  int nBad;                     /* order violations a reader saw       */
  int nScan;                    /* scans a reader completed            */
} mt_shared;

static void *mt_writer(void *pArg){
  mt_shared *p = (mt_shared*)pArg;
  test_rng rng;
  int i;
  rng_init(&rng, test_seed() + 7);
  for(i = 0; i < p->nWrite; i++){
    uint8_t aKey[8];
    uint64_t x = rng_next(&rng);
    memcpy(aKey, &x, sizeof(aKey));
    if( memtable_add(p->pMem, (uint64_t)i + 1, IKEY_VALUE, aKey, sizeof(aKey), aKey, sizeof(aKey)) ){
      abort();
    }
  }
  atomic_store(&p->bDone, 1);
  return NULL;
}

typedef struct mt_reader { mt_shared *pShared; int nBad; int nScan; } mt_reader;

static void *mt_reader_main(void *pArg){
  mt_reader *pR = (mt_reader*)pArg;
  int rc = LSM_OK;
  iter *pIter = memtable_iter(pR->pShared->pMem, &rc);
  int bLast = 0;
  while( !bLast ){
    uint8_t aPrev[16];
    size_t nPrev = 0;
    bLast = atomic_load(&pR->pShared->bDone);
    for(iter_first(pIter); iter_valid(pIter); iter_next(pIter)){
      size_t nKey, nVal;
      const uint8_t *pKey = iter_key(pIter, &nKey);
      const uint8_t *pVal = iter_value(pIter, &nVal);
      /* Ordered, and every entry is complete: its value equals its key. */
      if( nKey != 16 || nVal != 8 || memcmp(pKey, pVal, 8) != 0 ) pR->nBad++;
      if( nPrev && ikey_compare(aPrev, nPrev, pKey, nKey) >= 0 ) pR->nBad++;
      memcpy(aPrev, pKey, 16);
      nPrev = 16;
    }
    pR->nScan++;
  }
  iter_close(pIter);
  return NULL;
}

START_TEST(memtable_readers_see_ordered_complete_entries_while_writer_adds){
  mt_shared s;
  mt_reader aR[2];
  pthread_t w, r[2];
  int i;
  memset(&s, 0, sizeof(s));
  s.nWrite = test_scale(100000);
  ck_assert_int_eq(memtable_new(lsm_env_default(), &s.pMem), LSM_OK);
  atomic_init(&s.bDone, 0);
  for(i = 0; i < 2; i++){
    aR[i].pShared = &s; aR[i].nBad = 0; aR[i].nScan = 0;
    ck_assert_int_eq(pthread_create(&r[i], NULL, mt_reader_main, &aR[i]), 0);
  }
  ck_assert_int_eq(pthread_create(&w, NULL, mt_writer, &s), 0);
  pthread_join(w, NULL);
  for(i = 0; i < 2; i++){
    pthread_join(r[i], NULL);
    ck_assert_int_eq(aR[i].nBad, 0);
    ck_assert_int_gt(aR[i].nScan, 0);
  }
  ck_assert_uint_eq(memtable_entries(s.pMem), (uint64_t)s.nWrite);
  memtable_unref(s.pMem);
}
END_TEST

static Suite *memtable_suite(void){
  Suite *s = suite_create("memtable");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, memtable_get_returns_newest_visible_version_at_random_snapshots);
  tcase_add_test(tc, memtable_counts_entries_tombstones_and_bytes);
  tcase_add_test(tc, memtable_iterator_matches_model_on_random_walks);
  tcase_add_test(tc, memtable_iterator_keeps_memtable_alive_after_last_unref);
  tcase_add_test(tc, memtable_add_reports_nomem_and_adds_nothing);
  tcase_add_test(tc, memtable_readers_see_ordered_complete_entries_while_writer_adds);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(memtable_suite)
