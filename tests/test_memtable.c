/*
** test_memtable.c — memtable versions, snapshots, counters and iterators.
**
** The model is the list of every version added (user key, seq, type,
** value).  A get at (maxSeq, maxBatchSeq) must return what a brute-force
** scan of that list finds: the visible version with the largest seq.  The
** iterator must show the list sorted by internal key (harness.h: scans
** both ways, seeks and random walks).
**
** A filtered memtable (memtable.h) must answer exactly as an unfiltered
** one: every key added is found (no false negatives, also for a reader
** racing the writer), and a key never added is never found; how often
** its filter lets an absent key through is printed, not asserted tight.
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bloom.h"
#include "checksum.h"
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
  int bRuns;                    /* keys in ascending runs (appends from
                                ** the skiplist's splice), else random */
  _Atomic int bDone;            /* writer finished                     */
  int nBad;                     /* order violations a reader saw       */
  int nScan;                    /* scans a reader completed            */
} mt_shared;

static void *mt_writer(void *pArg){
  mt_shared *p = (mt_shared*)pArg;
  test_rng rng;
  int i;
  rng_init(&rng, test_seed() + 7);
  uint64_t x = 0;
  int nRunLeft = 0;
  for(i = 0; i < p->nWrite; i++){
    uint8_t aKey[8];
    if( !p->bRuns ){
      x = rng_next(&rng);
    }else if( nRunLeft-- > 0 ){
      x++;                        /* big-endian below: the next key up */
    }else{
      /* A new run from a random place, or one random key between runs. */
      x = rng_next(&rng) >> 8;
      nRunLeft = rng_below(&rng, 4) == 0 ? 0 : (int)rng_below(&rng, 5000);
    }
    {
      int b;
      for(b = 0; b < 8; b++) aKey[b] = (uint8_t)(x >> (56 - 8 * b));
    }
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

static void mt_run_readers_beside_writer(int bRuns){
  mt_shared s;
  mt_reader aR[2];
  pthread_t w, r[2];
  int i;
  memset(&s, 0, sizeof(s));
  s.nWrite = test_scale(100000);
  s.bRuns = bRuns;
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
    SEED_ASSERT(aR[i].nBad == 0, "reader %d saw %d bad entries (writer seed + 7, runs %d)",
                (unsigned long long)test_seed(), i, aR[i].nBad, bRuns);
    ck_assert_int_gt(aR[i].nScan, 0);
  }
  ck_assert_uint_eq(memtable_entries(s.pMem), (uint64_t)s.nWrite);
  memtable_unref(s.pMem);
}

START_TEST(memtable_readers_see_ordered_complete_entries_while_writer_adds){
  mt_run_readers_beside_writer(0);
}
END_TEST

/* Most adds append after the last one (the skiplist's splice). */
START_TEST(memtable_readers_see_ordered_complete_entries_while_writer_adds_in_runs){
  mt_run_readers_beside_writer(1);
}
END_TEST

/* ---- the filter ---- */

/* Key i of the filter tests: 16 decimal digits, as the benchmarks' keys. */
static void mt_digit_key(uint64_t i, char *zKey){
  snprintf(zKey, 17, "%016llu", (unsigned long long)i);
}

START_TEST(memtable_filtered_get_finds_every_key_and_rejects_absent_ones){
  unsigned long long seed = test_seed();
  int nKey = test_scale(2000), i, nPass = 0, nProbe = 0;
  memtable *pMem;
  test_rng rng;
  rng_init(&rng, seed + 11);
  /* 4 KiB of filter for 2000 keys: 16 bits per key. */
  ck_assert_int_eq(memtable_new_filtered(lsm_env_default(), 4096, &pMem), LSM_OK);
  ck_assert_uint_eq(memtable_filter_bytes(pMem), 4096);
  for(i = 0; i < nKey; i++){
    char zKey[17];
    mt_digit_key((uint64_t)i * 2, zKey);
    ck_assert_int_eq(memtable_add(pMem, (uint64_t)i + 1, i % 5 ? IKEY_VALUE : IKEY_DELETE,
                                  zKey, 16, zKey, 16), LSM_OK);
  }
  for(i = 0; i < 4 * nKey; i++){
    char zKey[17];
    uint64_t k = rng_below(&rng, (uint64_t)nKey * 2);
    int type = -1, bFound;
    const uint8_t *pVal = NULL;
    size_t nVal = 0;
    mt_digit_key(k, zKey);
    bFound = memtable_get(pMem, zKey, 16, IKEY_MAX_SEQ, 0, &type, &pVal, &nVal);
    if( k % 2 == 0 ){
      SEED_ASSERT(bFound, "key %llu added but not found", seed, (unsigned long long)k);
      SEED_ASSERT(type == ((k / 2) % 5 ? IKEY_VALUE : IKEY_DELETE), "key %llu type", seed,
                  (unsigned long long)k);
      if( type == IKEY_VALUE ){
        SEED_ASSERT(nVal == 16 && memcmp(pVal, zKey, 16) == 0, "key %llu value", seed,
                    (unsigned long long)k);
      }
    }else{
      SEED_ASSERT(!bFound, "key %llu never added but found", seed, (unsigned long long)k);
      nProbe++;
      nPass += memtable_may_contain(pMem, checksum_hash_key(zKey, 16));
    }
  }
  printf("memtable filter, 16 bits per key: %d of %d absent keys passed (%.3f%%)\n",
         nPass, nProbe, 100.0 * nPass / (nProbe ? nProbe : 1));
  /* The filter is consulted: most absent keys never reach the skiplist. */
  SEED_ASSERT(nPass * 10 < nProbe, "%d of %d absent keys passed the filter", seed, nPass, nProbe);
  memtable_unref(pMem);
}
END_TEST

START_TEST(memtable_without_a_filter_lets_every_key_through){
  memtable *pMem;
  ck_assert_int_eq(memtable_new_filtered(lsm_env_default(), BLOOM_BLOCK_BYTES - 1, &pMem), LSM_OK);
  ck_assert_uint_eq(memtable_filter_bytes(pMem), 0);
  ck_assert_int_eq(memtable_may_contain(pMem, checksum_hash_key("x", 1)), 1);
  memtable_unref(pMem);
  /* Sizes round down to whole blocks. */
  ck_assert_int_eq(memtable_new_filtered(lsm_env_default(), 3 * BLOOM_BLOCK_BYTES + 5, &pMem), LSM_OK);
  ck_assert_uint_eq(memtable_filter_bytes(pMem), 3 * BLOOM_BLOCK_BYTES);
  memtable_unref(pMem);
}
END_TEST

/*
** The store's shape: 16-byte keys, 100-byte values, a 4 MiB memtable and
** its 64 KiB filter (db_impl.h, DB_MEMTABLE_FILTER_FRACTION), filled
** until full.  The rate is printed at a quarter, half and all full; the
** assertion only says the filter is far better than none.
*/
START_TEST(memtable_filter_false_positive_rate_at_the_store_shape_is_printed){
  unsigned long long seed = test_seed();
  const size_t nBudget = 4u << 20;
  uint8_t aVal[100];
  memtable *pMem;
  uint64_t nAdded = 0;
  int iStage;
  test_rng rng;
  rng_init(&rng, seed + 13);
  memset(aVal, 'v', sizeof(aVal));
  ck_assert_int_eq(memtable_new_filtered(lsm_env_default(), nBudget / 64, &pMem), LSM_OK);
  for(iStage = 1; iStage <= 4; iStage *= 2){
    int i, nPass = 0, nProbe = test_scale(100000);
    while( memtable_bytes(pMem) < nBudget / 4 * (size_t)iStage ){
      char zKey[17];
      mt_digit_key(rng_below(&rng, 1000000000) * 2, zKey);
      ck_assert_int_eq(memtable_add(pMem, ++nAdded, IKEY_VALUE, zKey, 16, aVal, sizeof(aVal)),
                       LSM_OK);
    }
    for(i = 0; i < nProbe; i++){
      char zKey[17];
      mt_digit_key(rng_below(&rng, 1000000000) * 2 + 1, zKey);
      nPass += memtable_may_contain(pMem, checksum_hash_key(zKey, 16));
    }
    printf("memtable filter at %d/4 of 4 MiB: %llu keys, %.1f bits per key,"
           " %d of %d absent keys passed (%.3f%%)\n", iStage, (unsigned long long)nAdded,
           (double)memtable_filter_bytes(pMem) * 8 / (double)nAdded, nPass, nProbe,
           100.0 * nPass / nProbe);
    SEED_ASSERT(nPass * 20 < nProbe, "%d of %d absent keys passed at %d/4", seed, nPass, nProbe,
                iStage);
  }
  memtable_unref(pMem);
}
END_TEST

START_TEST(memtable_filter_allocation_failure_is_reported){
  faultenv *fe = faultenv_new(lsm_env_default());
  memtable *pMem = (memtable*)1;
  /* The memtable, the arena's first block, then the filter. */
  faultenv_fail(fe, FAULTENV_ALLOC, 3, 0, 1);
  ck_assert_int_eq(memtable_new_filtered(faultenv_env(fe), 4096, &pMem), LSM_NOMEM);
  ck_assert_ptr_null(pMem);
  faultenv_fail_clear(fe);
  ck_assert_int_eq(memtable_new_filtered(faultenv_env(fe), 4096, &pMem), LSM_OK);
  ck_assert_uint_eq(memtable_filter_bytes(pMem), 4096);
  memtable_unref(pMem);
  faultenv_free(fe);
}
END_TEST

/*
** A reader racing the writer, as the store's readers do: the writer adds
** key i at sequence i + 1, then publishes i + 1 with a release store (the
** store publishes its last sequence number under its mutex); a reader
** that loads n with acquire asks for keys below n at maxSeq n, the newest
** most often.  Every one must be found: a key's filter bits are set
** before its node is linked.
*/
typedef struct mt_race {
  memtable *pMem;               /* shared, filtered                    */
  int nWrite;                   /* keys the writer adds                */
  _Atomic uint64_t nPublished;  /* keys readers may ask for            */
  uint64_t seed;                /* of the readers' choices             */
} mt_race;

typedef struct mt_race_reader {
  mt_race *pRace;
  int iReader;                  /* seeds this reader's choices         */
  uint64_t nGet;                /* gets made                           */
  uint64_t nMiss;               /* published keys not found            */
  uint64_t iFirstMiss;          /* the first of them                   */
} mt_race_reader;

static void *mt_race_writer(void *pArg){
  mt_race *p = (mt_race*)pArg;
  int i;
  for(i = 0; i < p->nWrite; i++){
    char zKey[17];
    /* A scattered order, so that keys land all over the list. */
    mt_digit_key(((uint64_t)i * 2654435761u) % 4294967291u, zKey);
    if( memtable_add(p->pMem, (uint64_t)i + 1, IKEY_VALUE, zKey, 16, zKey, 16) ) abort();
    atomic_store_explicit(&p->nPublished, (uint64_t)i + 1, memory_order_release);
  }
  return NULL;
}

static void *mt_race_reader_main(void *pArg){
  mt_race_reader *pR = (mt_race_reader*)pArg;
  mt_race *p = pR->pRace;
  test_rng rng;
  rng_init(&rng, p->seed + (uint64_t)pR->iReader);
  for(;;){
    uint64_t n = atomic_load_explicit(&p->nPublished, memory_order_acquire), i;
    char zKey[17];
    int type, bFound;
    const uint8_t *pVal;
    size_t nVal;
    if( n == 0 ) continue;
    i = rng_below(&rng, 2) ? n - 1 : rng_below(&rng, n);
    mt_digit_key((i * 2654435761u) % 4294967291u, zKey);
    bFound = memtable_get(p->pMem, zKey, 16, n, 0, &type, &pVal, &nVal);
    pR->nGet++;
    if( !bFound || nVal != 16 || memcmp(pVal, zKey, 16) != 0 ){
      if( pR->nMiss++ == 0 ) pR->iFirstMiss = i;
    }
    if( n == (uint64_t)p->nWrite ) break;
  }
  return NULL;
}

START_TEST(memtable_filtered_reader_finds_every_published_key_while_writer_adds){
  unsigned long long seed = test_seed();
  mt_race race;
  mt_race_reader aR[2];
  pthread_t w, r[2];
  int i;
  memset(&race, 0, sizeof(race));
  race.nWrite = test_scale(100000);
  race.seed = seed;
  atomic_init(&race.nPublished, 0);
  /* A small filter (4 bits per key at the end), so readers pass it often
  ** and also read the skiplist while it grows. */
  ck_assert_int_eq(memtable_new_filtered(lsm_env_default(), (size_t)race.nWrite / 2, &race.pMem),
                   LSM_OK);
  for(i = 0; i < 2; i++){
    memset(&aR[i], 0, sizeof(aR[i]));
    aR[i].pRace = &race;
    aR[i].iReader = i;
    ck_assert_int_eq(pthread_create(&r[i], NULL, mt_race_reader_main, &aR[i]), 0);
  }
  ck_assert_int_eq(pthread_create(&w, NULL, mt_race_writer, &race), 0);
  pthread_join(w, NULL);
  for(i = 0; i < 2; i++){
    pthread_join(r[i], NULL);
    SEED_ASSERT(aR[i].nMiss == 0, "reader %d: %llu of %llu published keys not found (first: %llu)",
                seed, i, (unsigned long long)aR[i].nMiss, (unsigned long long)aR[i].nGet,
                (unsigned long long)aR[i].iFirstMiss);
    ck_assert_uint_gt(aR[i].nGet, 0);
  }
  memtable_unref(race.pMem);
}
END_TEST

/* ---- the read index ---- */

/* Key i of the read-index test: "r%06u", i even for the keys added. */
static size_t mt_index_key(uint32_t i, uint8_t *aKey){
  return (size_t)snprintf((char*)aKey, 8, "r%06u", i);
}

/*
** One seek as a merge runs it (every prefetch stage, then the seek) to
** the user key of i, checked against the keys added: the first even key
** >= i below nAdded * 2, or none.
*/
static void mt_index_seek_checked(iter *pIt, uint32_t i, uint32_t nAdded, unsigned long long seed){
  uint8_t aUser[8], aKey[16], aWant[8];
  size_t nUser = mt_index_key(i, aUser), nKey, nWant;
  uint32_t want = (i + 1) & ~1u;
  const uint8_t *pKey;
  int s;
  ikey_build(aKey, aUser, nUser, IKEY_MAX_SEQ, IKEY_VALUE);
  for(s = 0; s < ITER_PREFETCH_STAGES; s++) iter_prefetch(pIt, aKey, nUser + IKEY_TRAILER, s);
  iter_seek(pIt, aKey, nUser + IKEY_TRAILER);
  if( want >= nAdded * 2 ){
    ck_assert_msg(!iter_valid(pIt), "seed %llu: seek to %u found a key past the last", seed, i);
    return;
  }
  ck_assert_msg(iter_valid(pIt), "seed %llu: seek to %u found nothing", seed, i);
  pKey = iter_key(pIt, &nKey);
  nWant = mt_index_key(want, aWant);
  ck_assert_msg(ikey_compare_user(pKey, ikey_user_len(nKey), aWant, nWant) == 0,
                "seed %llu: seek to %u: found %.*s, want %.*s", seed, i,
                (int)ikey_user_len(nKey), (const char*)pKey, (int)nWant, (const char*)aWant);
}

/*
** The read index (memtable.c) is built by seeks that meet a memtable
** nobody writes to, and only then: while a writer adds between seeks
** none is built; a quiet spell of seeks builds one; the memtable growing
** by more than 1/16 makes it unusable and the next quiet spell builds a
** second.  Every seek, through the index or the list, finds the key the
** model says.
*/
START_TEST(quiet_seeks_build_the_read_index_and_writes_do_not){
  unsigned long long seed = test_seed();
  uint32_t nAdded = 0, i;
  memtable *pMem;
  iter *pIt;
  test_rng rng;
  int rc = LSM_OK;
  uint8_t aKey[8];

  rng_init(&rng, seed);
  ck_assert_int_eq(memtable_new(lsm_env_default(), &pMem), LSM_OK);
  for(; nAdded < 8192; nAdded++){
    ck_assert_int_eq(memtable_add(pMem, nAdded + 1, IKEY_VALUE, aKey,
                                  mt_index_key(nAdded * 2, aKey), "v", 1), LSM_OK);
  }
  pIt = memtable_iter(pMem, &rc);
  ck_assert_int_eq(rc, LSM_OK);

  /* A writer adds between seeks: no spell is quiet. */
  for(i = 0; i < 1024; i++){
    ck_assert_int_eq(memtable_add(pMem, nAdded + 1, IKEY_VALUE, aKey,
                                  mt_index_key(nAdded * 2, aKey), "v", 1), LSM_OK);
    nAdded++;
    mt_index_seek_checked(pIt, (uint32_t)rng_below(&rng, nAdded * 2 + 8), nAdded, seed);
  }
  ck_assert_int_eq(memtable_read_indexes_built(pMem), 0);

  /* Quiet: two checks a spell apart see the same count, and one builds. */
  for(i = 0; i < 1024; i++){
    mt_index_seek_checked(pIt, (uint32_t)rng_below(&rng, nAdded * 2 + 8), nAdded, seed);
  }
  ck_assert_int_eq(memtable_read_indexes_built(pMem), 1);

  /* Grown by more than 1/16: the index is stale, seeks still right; the
  ** next quiet spell builds a second one. */
  for(i = 0; i < nAdded / 8; i++){
    uint32_t n = nAdded + i;
    ck_assert_int_eq(memtable_add(pMem, n + 1, IKEY_VALUE, aKey,
                                  mt_index_key(n * 2, aKey), "v", 1), LSM_OK);
  }
  nAdded += nAdded / 8;
  for(i = 0; i < 1024; i++){
    mt_index_seek_checked(pIt, (uint32_t)rng_below(&rng, nAdded * 2 + 8), nAdded, seed);
  }
  ck_assert_int_eq(memtable_read_indexes_built(pMem), 2);

  iter_close(pIt);
  memtable_unref(pMem);
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
  tcase_add_test(tc, memtable_readers_see_ordered_complete_entries_while_writer_adds_in_runs);
  tcase_add_test(tc, memtable_filtered_get_finds_every_key_and_rejects_absent_ones);
  tcase_add_test(tc, memtable_without_a_filter_lets_every_key_through);
  tcase_add_test(tc, memtable_filter_false_positive_rate_at_the_store_shape_is_printed);
  tcase_add_test(tc, memtable_filter_allocation_failure_is_reported);
  tcase_add_test(tc, memtable_filtered_reader_finds_every_published_key_while_writer_adds);
  tcase_add_test(tc, quiet_seeks_build_the_read_index_and_writes_do_not);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(memtable_suite)
