/*
** test_block.c — data blocks against a sorted array of internal keys.
**
** Each test builds a block from random entries (several versions per
** user key, tombstones, shared prefixes, empty keys and values) and
** compares forward and backward iteration, seeks, random next/prev walks
** and the allocation-free block_get with the reference, a plain array
** sorted by ikey_compare.  Malformed blocks must be reported, never read
** past.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "coding.h"
#include "ikey.h"
#include "lsm.h"
#include "sst_format.h"
#include "testutil.h"

/* ---- reference: internal keys with values, sorted ---- */
typedef struct tent { uint8_t *pKey; size_t nKey; uint8_t *pVal; size_t nVal; } tent;
typedef struct tset { tent *a; size_t n, nAlloc; } tset;

static void tset_add(tset *p, const uint8_t *pUser, size_t nUser, uint64_t seq, int type,
                     const uint8_t *pVal, size_t nVal){
  tent *e;
  if( p->n == p->nAlloc ){
    p->nAlloc = p->nAlloc ? p->nAlloc * 2 : 64;
    p->a = realloc(p->a, p->nAlloc * sizeof(tent));
  }
  e = &p->a[p->n++];
  e->nKey = nUser + IKEY_TRAILER;
  e->pKey = malloc(e->nKey);
  ikey_build(e->pKey, pUser, nUser, seq, type);
  e->nVal = nVal;
  e->pVal = malloc(nVal ? nVal : 1);
  if( nVal ) memcpy(e->pVal, pVal, nVal);
}

static int tent_cmp(const void *a, const void *b){
  const tent *x = a, *y = b;
  return ikey_compare(x->pKey, x->nKey, y->pKey, y->nKey);
}

static void tset_free(tset *p){
  size_t i;
  for(i = 0; i < p->n; i++){ free(p->a[i].pKey); free(p->a[i].pVal); }
  free(p->a);
  memset(p, 0, sizeof(*p));
}

/* A random user key over a small alphabet, so that prefixes are shared. */
static size_t rand_user(test_rng *r, uint8_t *p, size_t nMax){
  size_t n = (size_t)rng_below(r, nMax + 1), i;
  for(i = 0; i < n; i++) p[i] = (uint8_t)("abc\x00\xff"[rng_below(r, 5)]);
  return n;
}

/* nUser random user keys with 1..nVer versions each, sorted. */
static void tset_random(tset *p, test_rng *r, int nUser, int nVer, size_t nKeyMax, size_t nValMax){
  uint8_t aUser[256], aVal[512];
  uint64_t seq = 1;
  int i, j;
  for(i = 0; i < nUser; i++){
    size_t nU = rand_user(r, aUser, nKeyMax);
    int nV = 1 + (int)rng_below(r, (uint64_t)nVer);
    for(j = 0; j < nV; j++){
      size_t nVal = (size_t)rng_below(r, nValMax + 1), k;
      int type = rng_below(r, 5) == 0 ? IKEY_DELETE : IKEY_VALUE;
      seq += 1 + rng_below(r, 3);
      if( type == IKEY_DELETE ) nVal = 0;
      for(k = 0; k < nVal; k++) aVal[k] = (uint8_t)rng_next(r);
      tset_add(p, aUser, nU, seq, type, aVal, nVal);
    }
  }
  qsort(p->a, p->n, sizeof(tent), tent_cmp);
  /* (user, seq) collisions are impossible: seq only grows. */
}

/* First index with key >= (pK, nK). */
static size_t tset_lower(const tset *p, const uint8_t *pK, size_t nK){
  size_t lo = 0, hi = p->n;
  while( lo < hi ){
    size_t mid = (lo + hi) / 2;
    if( ikey_compare(p->a[mid].pKey, p->a[mid].nKey, pK, nK) < 0 ) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Build one block holding all of p; caller frees the returned copy. */
static uint8_t *build_block(const tset *p, size_t *pn){
  block_builder b;
  const uint8_t *a;
  uint8_t *pCopy;
  size_t i;
  int rc = LSM_OK;
  block_builder_init(&b, lsm_env_default());
  for(i = 0; i < p->n; i++){
    block_builder_add(&b, p->a[i].pKey, p->a[i].nKey, p->a[i].pVal, p->a[i].nVal, &rc);
  }
  ck_assert_uint_eq(block_builder_size(&b), b.out.n + b.restart.n + 4);
  a = block_builder_finish(&b, pn, &rc);
  ck_assert_int_eq(rc, LSM_OK);
  pCopy = malloc(*pn);
  memcpy(pCopy, a, *pn);
  block_builder_clear(&b);
  return pCopy;
}

static void assert_at(iter *it, const tset *p, size_t i, unsigned long long seed){
  size_t nK, nV;
  const uint8_t *pK, *pV;
  SEED_ASSERT(iter_valid(it), "not valid at entry %zu of %zu", seed, i, p->n);
  pK = iter_key(it, &nK);
  pV = iter_value(it, &nV);
  SEED_ASSERT(nK == p->a[i].nKey && memcmp(pK, p->a[i].pKey, nK) == 0, "key %zu differs", seed, i);
  SEED_ASSERT(nV == p->a[i].nVal && (nV == 0 || memcmp(pV, p->a[i].pVal, nV) == 0),
              "value %zu differs", seed, i);
}

/* Full comparison of a block built from p against p. */
static void check_block_against_model(const tset *p, test_rng *r, unsigned long long seed){
  size_t n, i;
  uint8_t *a = build_block(p, &n);
  block_view v;
  uint64_t nEntry = 0;
  int rc = LSM_OK, k;
  iter *it;

  ck_assert_int_eq(block_view_init(&v, a, n, "test", 0), LSM_OK);
  ck_assert_uint_eq(v.nRestart, (p->n + SST_RESTART_INTERVAL - 1) / SST_RESTART_INTERVAL);
  ck_assert_int_eq(block_check(lsm_env_default(), &v, &nEntry), LSM_OK);
  ck_assert_uint_eq(nEntry, p->n);

  it = block_iter_new(lsm_env_default(), a, n, &rc);
  ck_assert_ptr_nonnull(it);

  /* Forward, backward. */
  iter_first(it);
  for(i = 0; i < p->n; i++){ assert_at(it, p, i, seed); iter_next(it); }
  SEED_ASSERT(!iter_valid(it), "valid past the end", seed);
  iter_last(it);
  for(i = p->n; i-- > 0; ){ assert_at(it, p, i, seed); iter_prev(it); }
  SEED_ASSERT(!iter_valid(it), "valid before the start", seed);
  ck_assert_int_eq(iter_status(it), LSM_OK);

  /* Seeks to existing keys and to random ones, then a short random walk. */
  for(k = 0; k < 300; k++){
    uint8_t aT[300];
    size_t nT, j;
    int s;
    if( p->n && rng_below(r, 2) ){
      const tent *e = &p->a[rng_below(r, p->n)];
      memcpy(aT, e->pKey, e->nKey);
      nT = e->nKey;
    }else{
      uint8_t aU[256];
      size_t nU = rand_user(r, aU, 12);
      nT = (size_t)(ikey_build(aT, aU, nU, rng_below(r, 2000), (int)rng_below(r, 2)) - aT);
    }
    j = tset_lower(p, aT, nT);
    iter_seek(it, aT, nT);
    if( j == p->n ){
      SEED_ASSERT(!iter_valid(it), "seek past the end is valid", seed);
      continue;
    }
    assert_at(it, p, j, seed);
    for(s = 0; s < 20 && iter_valid(it); s++){
      if( rng_below(r, 2) ){
        iter_next(it);
        if( ++j == p->n ) break;
      }else{
        iter_prev(it);
        if( j-- == 0 ) break;
      }
      assert_at(it, p, j, seed);
    }
    if( s < 20 ) SEED_ASSERT(!iter_valid(it), "valid off an end", seed);
  }
  ck_assert_int_eq(iter_status(it), LSM_OK);
  iter_close(it);

  /* Point gets at random snapshots. */
  for(k = 0; k < 500; k++){
    uint8_t aU[256], aT[300];
    size_t nU, nT, j, nVal = 0;
    uint64_t maxSeq = rng_below(r, 2500), trailer = 0;
    const uint8_t *pVal = NULL;
    int bFound, bExpect;
    if( p->n && rng_below(r, 3) ){
      const tent *e = &p->a[rng_below(r, p->n)];
      nU = e->nKey - IKEY_TRAILER;
      memcpy(aU, e->pKey, nU);
      if( rng_below(r, 2) ) maxSeq = ikey_seq(e->pKey, e->nKey);
    }else{
      nU = rand_user(r, aU, 12);
    }
    nT = (size_t)(ikey_build(aT, aU, nU, maxSeq, IKEY_VALUE) - aT);
    j = tset_lower(p, aT, nT);
    bExpect = j < p->n && ikey_compare_user(p->a[j].pKey, p->a[j].nKey - IKEY_TRAILER, aU, nU) == 0;
    rc = block_get(&v, aU, nU, maxSeq, &bFound, &trailer, &pVal, &nVal);
    SEED_ASSERT(rc == LSM_OK, "get rc %d", seed, rc);
    SEED_ASSERT(bFound == bExpect, "get %d: found %d, expected %d", seed, k, bFound, bExpect);
    if( bFound ){
      SEED_ASSERT(trailer == ikey_trailer(p->a[j].pKey, p->a[j].nKey), "get: wrong version", seed);
      SEED_ASSERT(nVal == p->a[j].nVal && (nVal == 0 || memcmp(pVal, p->a[j].pVal, nVal) == 0),
                  "get: wrong value", seed);
    }
  }
  free(a);
}

START_TEST(block_random_entries_match_the_model)
{
  unsigned long long seed = test_seed();
  test_rng r;
  int round;
  rng_init(&r, seed);
  for(round = 0; round < test_scale(40); round++){
    tset t = {0};
    tset_random(&t, &r, 1 + (int)rng_below(&r, 300), 1 + (int)rng_below(&r, 5),
                1 + rng_below(&r, 40), rng_below(&r, 2) ? 8 : 200);
    check_block_against_model(&t, &r, seed);
    tset_free(&t);
  }
}
END_TEST

START_TEST(block_with_one_entry_matches_the_model)
{
  unsigned long long seed = test_seed();
  test_rng r;
  tset t = {0};
  rng_init(&r, seed);
  tset_add(&t, (const uint8_t*)"only", 4, 7, IKEY_VALUE, (const uint8_t*)"v", 1);
  check_block_against_model(&t, &r, seed);
  tset_free(&t);
}
END_TEST

START_TEST(block_with_empty_user_key_and_value_matches_the_model)
{
  unsigned long long seed = test_seed();
  test_rng r;
  tset t = {0};
  rng_init(&r, seed);
  tset_add(&t, NULL, 0, 9, IKEY_VALUE, NULL, 0);
  tset_add(&t, NULL, 0, 3, IKEY_DELETE, NULL, 0);
  tset_add(&t, (const uint8_t*)"\0", 1, 5, IKEY_VALUE, (const uint8_t*)"x", 1);
  qsort(t.a, t.n, sizeof(tent), tent_cmp);
  check_block_against_model(&t, &r, seed);
  tset_free(&t);
}
END_TEST

START_TEST(block_without_entries_is_empty)
{
  block_builder b;
  block_view v;
  const uint8_t *a, *pVal = NULL;
  size_t n, nVal = 0;
  uint64_t trailer = 0, nEntry = 9;
  int rc = LSM_OK, bFound = 1;
  iter *it;
  block_builder_init(&b, lsm_env_default());
  a = block_builder_finish(&b, &n, &rc);
  ck_assert_int_eq(rc, LSM_OK);
  ck_assert_uint_eq(n, 4);
  ck_assert_int_eq(block_view_init(&v, a, n, "test", 0), LSM_OK);
  ck_assert_int_eq(block_check(lsm_env_default(), &v, &nEntry), LSM_OK);
  ck_assert_uint_eq(nEntry, 0);
  ck_assert_int_eq(block_get(&v, (const uint8_t*)"k", 1, 100, &bFound, &trailer, &pVal, &nVal), LSM_OK);
  ck_assert_int_eq(bFound, 0);
  it = block_iter_new(lsm_env_default(), a, n, &rc);
  iter_first(it);
  ck_assert(!iter_valid(it));
  iter_last(it);
  ck_assert(!iter_valid(it));
  iter_seek(it, (const uint8_t*)"k\1\0\0\0\0\0\0\0", 9);
  ck_assert(!iter_valid(it));
  ck_assert_int_eq(iter_status(it), LSM_OK);
  iter_close(it);
  block_builder_clear(&b);
}
END_TEST

START_TEST(block_restart_points_come_every_sixteen_entries)
{
  tset t = {0};
  block_view v;
  uint8_t *a;
  size_t n, i;
  uint32_t r;
  for(i = 0; i < 100; i++){
    char z[16];
    int nz = snprintf(z, sizeof(z), "key%03zu", i);
    tset_add(&t, (const uint8_t*)z, (size_t)nz, 1, IKEY_VALUE, (const uint8_t*)"v", 1);
  }
  a = build_block(&t, &n);
  ck_assert_int_eq(block_view_init(&v, a, n, "test", 0), LSM_OK);
  ck_assert_uint_eq(v.nRestart, 7);           /* entries 0,16,...,96 */
  for(r = 0; r < v.nRestart; r++){
    /* A restart entry shares nothing: its first varint is 0. */
    uint32_t iOff = coding_get32(v.aRestart + 4 * r);
    ck_assert_uint_lt(iOff, v.nEnd);
    ck_assert_uint_eq(a[iOff], 0);
  }
  /* Entry 0 takes 12 bytes: s 0, u 6, v 1, trailer 257 (2 bytes), "key000",
  ** "v"; entry 1 ("key001") shares 5 bytes and stores 1. */
  ck_assert_uint_eq(a[12], 5);
  ck_assert_uint_eq(a[13], 1);
  free(a);
  tset_free(&t);
}
END_TEST

START_TEST(block_versions_of_one_key_are_found_by_snapshot)
{
  tset t = {0};
  block_view v;
  uint8_t *a;
  size_t n, nVal;
  uint64_t s, trailer;
  const uint8_t *pVal;
  int bFound;
  /* "k" at seqs 10, 20, ..., 400 (a delete at 200), then "l" at 5. */
  for(s = 10; s <= 400; s += 10){
    char z[8];
    int nz = snprintf(z, sizeof(z), "%llu", (unsigned long long)s);
    tset_add(&t, (const uint8_t*)"k", 1, s, s == 200 ? IKEY_DELETE : IKEY_VALUE,
             (const uint8_t*)z, s == 200 ? 0 : (size_t)nz);
  }
  tset_add(&t, (const uint8_t*)"l", 1, 5, IKEY_VALUE, (const uint8_t*)"L", 1);
  qsort(t.a, t.n, sizeof(tent), tent_cmp);
  a = build_block(&t, &n);
  ck_assert_int_eq(block_view_init(&v, a, n, "test", 0), LSM_OK);
  ck_assert_int_eq(block_get(&v, (const uint8_t*)"k", 1, 5, &bFound, &trailer, &pVal, &nVal), LSM_OK);
  ck_assert_int_eq(bFound, 0);                     /* older than every version */
  ck_assert_int_eq(block_get(&v, (const uint8_t*)"k", 1, 125, &bFound, &trailer, &pVal, &nVal), LSM_OK);
  ck_assert_int_eq(bFound, 1);
  ck_assert_uint_eq(trailer >> 8, 120);
  ck_assert_mem_eq(pVal, "120", 3);
  ck_assert_int_eq(block_get(&v, (const uint8_t*)"k", 1, 205, &bFound, &trailer, &pVal, &nVal), LSM_OK);
  ck_assert_uint_eq(trailer, ikey_pack_trailer(200, IKEY_DELETE));
  ck_assert_int_eq(block_get(&v, (const uint8_t*)"k", 1, IKEY_MAX_SEQ, &bFound, &trailer, &pVal, &nVal), LSM_OK);
  ck_assert_uint_eq(trailer >> 8, 400);
  ck_assert_int_eq(block_get(&v, (const uint8_t*)"l", 1, 4, &bFound, &trailer, &pVal, &nVal), LSM_OK);
  ck_assert_int_eq(bFound, 0);
  ck_assert_int_eq(block_get(&v, (const uint8_t*)"kk", 2, 999, &bFound, &trailer, &pVal, &nVal), LSM_OK);
  ck_assert_int_eq(bFound, 0);
  free(a);
  tset_free(&t);
}
END_TEST

START_TEST(block_malformed_restart_array_is_reported)
{
  uint8_t a[16];
  block_view v;
  memset(a, 0, sizeof(a));
  coding_put32(a + 12, 1000);                     /* more restarts than bytes */
  ck_assert_int_eq(block_view_init(&v, a, 16, "/x/1.sst", 3), LSM_CORRUPT);
  ck_assert_ptr_nonnull(strstr(lsm_errmsg(NULL), "/x/1.sst: block 3"));
  ck_assert_int_eq(block_view_init(&v, a, 3, "/x/1.sst", 3), LSM_CORRUPT);
  coding_put32(a + 12, 0);                        /* entries but no restart */
  ck_assert_int_eq(block_view_init(&v, a, 16, "/x/1.sst", 3), LSM_CORRUPT);
}
END_TEST

/* Garbage in any byte: every reader path returns LSM_OK or LSM_CORRUPT
** and stays inside the block (ASan checks the latter). */
START_TEST(block_garbage_is_reported_or_harmless_never_read_past)
{
  unsigned long long seed = test_seed();
  test_rng r;
  tset t = {0};
  uint8_t *a;
  size_t n;
  int round;
  rng_init(&r, seed);
  tset_random(&t, &r, 60, 3, 10, 20);
  a = build_block(&t, &n);
  for(round = 0; round < test_scale(3000); round++){
    uint8_t *b = malloc(n);
    block_view v;
    int nFlip = 1 + (int)rng_below(&r, 3), i, rc = LSM_OK;
    memcpy(b, a, n);
    for(i = 0; i < nFlip; i++) b[rng_below(&r, n)] ^= (uint8_t)(1 + rng_below(&r, 255));
    if( block_view_init(&v, b, n, "fuzz", 0) == LSM_OK ){
      iter *it = block_iter_new(lsm_env_default(), b, n, &rc);
      uint64_t nEntry;
      int k, bFound;
      rc = block_check(lsm_env_default(), &v, &nEntry);
      SEED_ASSERT(rc == LSM_OK || rc == LSM_CORRUPT, "check rc %d", seed, rc);
      for(k = 0; k < 20; k++){
        uint8_t aU[16];
        size_t nU = rand_user(&r, aU, 10), nVal;
        uint64_t trailer;
        const uint8_t *pVal;
        rc = block_get(&v, aU, nU, rng_below(&r, 1000), &bFound, &trailer, &pVal, &nVal);
        SEED_ASSERT(rc == LSM_OK || rc == LSM_CORRUPT, "get rc %d", seed, rc);
      }
      ck_assert_ptr_nonnull(it);
      for(iter_first(it), k = 0; iter_valid(it) && k < 1000; iter_next(it), k++){}
      for(iter_last(it), k = 0; iter_valid(it) && k < 1000; iter_prev(it), k++){}
      iter_seek(it, t.a[0].pKey, t.a[0].nKey);
      rc = iter_status(it);
      SEED_ASSERT(rc == LSM_OK || rc == LSM_CORRUPT, "iter rc %d", seed, rc);
      iter_close(it);
    }
    free(b);
  }
  free(a);
  tset_free(&t);
}
END_TEST

static Suite *block_suite(void){
  Suite *s = suite_create("block");
  TCase *tc = tcase_create("block");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, block_random_entries_match_the_model);
  tcase_add_test(tc, block_with_one_entry_matches_the_model);
  tcase_add_test(tc, block_with_empty_user_key_and_value_matches_the_model);
  tcase_add_test(tc, block_without_entries_is_empty);
  tcase_add_test(tc, block_restart_points_come_every_sixteen_entries);
  tcase_add_test(tc, block_versions_of_one_key_are_found_by_snapshot);
  tcase_add_test(tc, block_malformed_restart_array_is_reported);
  tcase_add_test(tc, block_garbage_is_reported_or_harmless_never_read_past);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(block_suite)
