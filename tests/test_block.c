/*
** test_block.c — data blocks against a sorted array of internal keys.
**
** Each test builds a block from random entries (several versions per
** user key, tombstones, shared prefixes, empty keys and values) and
** compares forward and backward iteration, seeks, random next/prev walks
** (harness_check_iter) and the allocation-free block_get with the
** reference, harness.h's array sorted by ikey_compare.  Malformed blocks
** must be reported, never read past.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "coding.h"
#include "harness.h"
#include "ikey.h"
#include "lsm.h"
#include "sst_format.h"
#include "testutil.h"

/* Build one block holding all of p; caller frees the returned copy. */
static uint8_t *build_block(const harness_model *p, size_t *pn){
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

/* Full comparison of a block built from p against p. */
static void check_block_against_model(const harness_model *p, test_rng *r, unsigned long long seed){
  size_t n;
  uint8_t *a = build_block(p, &n);
  block_view v;
  uint64_t nEntry = 0;
  int rc = LSM_OK, k;
  iter *it;

  ck_assert_int_eq(block_view_init(&v, a, n, "test", 0), LSM_OK);
  ck_assert_uint_eq(v.nRestart, (p->n + SST_RESTART_INTERVAL - 1) / SST_RESTART_INTERVAL);
  ck_assert_int_eq(block_check(lsm_env_default(), &v, &nEntry), LSM_OK);
  ck_assert_uint_eq(nEntry, p->n);

  /* Scans, seeks and walks. */
  it = block_iter_new(lsm_env_default(), a, n, &rc);
  ck_assert_ptr_nonnull(it);
  harness_check_iter(it, p, r, 300, seed);
  iter_close(it);

  /* Point gets at random snapshots. */
  for(k = 0; k < 500; k++){
    uint8_t aU[256];
    size_t nU, j, nVal = 0;
    uint64_t maxSeq, trailer = 0;
    const uint8_t *pVal = NULL;
    int bFound;
    nU = harness_get_target(p, r, aU, &maxSeq);
    j = harness_model_get(p, aU, nU, maxSeq);
    rc = block_get(&v, aU, nU, maxSeq, &bFound, &trailer, &pVal, &nVal);
    SEED_ASSERT(rc == LSM_OK, "get rc %d", seed, rc);
    SEED_ASSERT(bFound == (j < p->n), "get %d: found %d", seed, k, bFound);
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
    harness_model t = {0};
    harness_model_random(&t, &r, 1 + (int)rng_below(&r, 300), 1 + (int)rng_below(&r, 5),
                         1 + rng_below(&r, 40), rng_below(&r, 2) ? 8 : 200);
    check_block_against_model(&t, &r, seed);
    harness_model_clear(&t);
  }
}
END_TEST

START_TEST(block_with_one_entry_matches_the_model)
{
  unsigned long long seed = test_seed();
  test_rng r;
  harness_model t = {0};
  rng_init(&r, seed);
  harness_model_add(&t, "only", 4, 7, IKEY_VALUE, "v", 1);
  check_block_against_model(&t, &r, seed);
  harness_model_clear(&t);
}
END_TEST

START_TEST(block_with_empty_user_key_and_value_matches_the_model)
{
  unsigned long long seed = test_seed();
  test_rng r;
  harness_model t = {0};
  rng_init(&r, seed);
  harness_model_add(&t, NULL, 0, 9, IKEY_VALUE, NULL, 0);
  harness_model_add(&t, NULL, 0, 3, IKEY_DELETE, NULL, 0);
  harness_model_add(&t, "\0", 1, 5, IKEY_VALUE, "x", 1);
  harness_model_sort(&t);
  check_block_against_model(&t, &r, seed);
  harness_model_clear(&t);
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
  harness_model t = {0};
  block_view v;
  uint8_t *a;
  size_t n, i;
  uint32_t r;
  for(i = 0; i < 100; i++){
    char z[16];
    int nz = snprintf(z, sizeof(z), "key%03zu", i);
    harness_model_add(&t, z, (size_t)nz, 1, IKEY_VALUE, "v", 1);
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
  harness_model_clear(&t);
}
END_TEST

START_TEST(block_versions_of_one_key_are_found_by_snapshot)
{
  harness_model t = {0};
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
    harness_model_add(&t, "k", 1, s, s == 200 ? IKEY_DELETE : IKEY_VALUE, z,
                      s == 200 ? 0 : (size_t)nz);
  }
  harness_model_add(&t, "l", 1, 5, IKEY_VALUE, "L", 1);
  harness_model_sort(&t);
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
  harness_model_clear(&t);
}
END_TEST

/*
** Seeks and gets decide ties of a user key by the trailer, the varint
** each entry stores after its three lengths (block.c, block_decode: a
** fast path for a varint within its 10 bytes, the general one near the
** block's end): trailers of every varint length from 1 to 10 bytes
** (sequence numbers up to IKEY_MAX_SEQ), up to four versions per user
** key, restart keys among them.  Every entry is sought exactly, at the
** sequence number just above it and just below it, and got at its own
** sequence number and just below.
*/
START_TEST(block_seeks_and_gets_tie_break_on_trailers_of_every_length)
{
  static const uint64_t aSeqBase[] = {
    1, 100, 20000, 3000000, 400000000, 50000000000ull, 6000000000000ull,
    (1ull << 47) + 5, (1ull << 48) + 7, (1ull << 55) + 9, IKEY_MAX_SEQ - 40
  };
  unsigned long long seed = test_seed();
  test_rng r;
  harness_model t = {0};
  uint8_t *a;
  size_t n, i;
  int rc = LSM_OK;
  block_view v;
  iter *it;
  rng_init(&r, seed);
  for(i = 0; i < 40; i++){
    char z[16];
    int nz = snprintf(z, sizeof(z), "key%03zu", i), j, nVer = 1 + (int)(i % 4);
    for(j = 0; j < nVer; j++){
      uint64_t seq = aSeqBase[(i * 3 + (size_t)j * 5) % (sizeof(aSeqBase) / sizeof(aSeqBase[0]))]
                   + (uint64_t)j;
      int type = (i + (size_t)j) % 7 == 3 ? IKEY_DELETE : IKEY_VALUE;
      harness_model_add(&t, z, (size_t)nz, seq, type, z, type == IKEY_DELETE ? 0 : (size_t)nz);
    }
  }
  harness_model_sort(&t);
  check_block_against_model(&t, &r, seed);

  a = build_block(&t, &n);
  ck_assert_int_eq(block_view_init(&v, a, n, "test", 0), LSM_OK);
  it = block_iter_new(lsm_env_default(), a, n, &rc);
  ck_assert_ptr_nonnull(it);
  for(i = 0; i < t.n; i++){
    const harness_entry *e = &t.a[i];
    size_t nU = e->nKey - IKEY_TRAILER, nK, nVal, j;
    uint64_t seq = ikey_seq(e->pKey, e->nKey), d, trailer;
    uint8_t aK[64];
    const uint8_t *pVal;
    int bFound;
    /* Seeks to (user, seq + 1), (user, seq), (user, seq - 1): the first
    ** entry at or after each in internal-key order. */
    for(d = 0; d < 3; d++){
      uint64_t s = seq + 1 - d;
      if( s > IKEY_MAX_SEQ ) continue;
      ikey_build(aK, e->pKey, nU, s, IKEY_VALUE);
      iter_seek(it, aK, nU + IKEY_TRAILER);
      for(j = 0; j < t.n && ikey_compare(t.a[j].pKey, t.a[j].nKey, aK, nU + IKEY_TRAILER) < 0; j++){}
      ck_assert_int_eq(iter_status(it), LSM_OK);
      if( j == t.n ){
        ck_assert(!iter_valid(it));
        continue;
      }
      ck_assert(iter_valid(it));
      {
        const uint8_t *pK = iter_key(it, &nK);
        ck_assert_uint_eq(nK, t.a[j].nKey);
        ck_assert_mem_eq(pK, t.a[j].pKey, nK);
      }
    }
    /* Gets at seq and seq - 1. */
    for(d = 0; d < 2 && d <= seq; d++){
      j = harness_model_get(&t, e->pKey, nU, seq - d);
      ck_assert_int_eq(block_get(&v, e->pKey, nU, seq - d, &bFound, &trailer, &pVal, &nVal), LSM_OK);
      ck_assert_int_eq(bFound, j < t.n);
      if( bFound ){
        ck_assert_uint_eq(trailer, ikey_trailer(t.a[j].pKey, t.a[j].nKey));
        ck_assert_uint_eq(nVal, t.a[j].nVal);
      }
    }
  }
  iter_close(it);
  free(a);
  harness_model_clear(&t);
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

/* An entry whose lengths are one byte each and whose trailer varint runs
** on past its 10 bytes: the decoder's fast path (block_decode) reports it
** as the general path does, with the room left in the block above and
** below what the fast path needs. */
START_TEST(block_entry_with_an_overlong_trailer_is_reported)
{
  int nPad;
  for(nPad = 0; nPad <= 2; nPad++){
    uint8_t a[64];
    size_t n = 0;
    block_view v;
    uint8_t aU[1] = {'k'};
    const uint8_t *pVal = NULL;
    size_t nVal = 0;
    uint64_t trailer = 0;
    int bFound = 0, i;
    iter *it;
    int rc = LSM_OK;
    a[n++] = 0;                                  /* shared   */
    a[n++] = 1;                                  /* unshared */
    a[n++] = (uint8_t)nPad;                      /* value    */
    for(i = 0; i < 11; i++) a[n++] = 0x81;       /* trailer: 11 bytes, never ends */
    a[n++] = 'k';
    for(i = 0; i < nPad; i++) a[n++] = 'v';
    coding_put32(a + n, 0);                      /* restart 0 */
    coding_put32(a + n + 4, 1);                  /* one restart */
    n += 8;
    ck_assert_int_eq(block_view_init(&v, a, n, "/x/1.sst", 0), LSM_OK);
    ck_assert_int_eq(block_get(&v, aU, 1, 100, &bFound, &trailer, &pVal, &nVal), LSM_CORRUPT);
    ck_assert_int_eq(block_check(lsm_env_default(), &v, NULL), LSM_CORRUPT);
    it = block_iter_new(lsm_env_default(), a, n, &rc);
    ck_assert_int_eq(rc, LSM_OK);
    iter_first(it);
    ck_assert(!iter_valid(it));
    ck_assert_int_eq(iter_status(it), LSM_CORRUPT);
    iter_close(it);
  }
}
END_TEST

/* Garbage in any byte: every reader path returns LSM_OK or LSM_CORRUPT
** and stays inside the block (ASan checks the latter). */
START_TEST(block_garbage_is_reported_or_harmless_never_read_past)
{
  unsigned long long seed = test_seed();
  test_rng r;
  harness_model t = {0};
  uint8_t *a;
  size_t n;
  int round;
  rng_init(&r, seed);
  harness_model_random(&t, &r, 60, 3, 10, 20);
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
        size_t nU = harness_random_user(&r, aU, 10), nVal;
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
  harness_model_clear(&t);
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
  tcase_add_test(tc, block_seeks_and_gets_tie_break_on_trailers_of_every_length);
  tcase_add_test(tc, block_malformed_restart_array_is_reported);
  tcase_add_test(tc, block_entry_with_an_overlong_trailer_is_reported);
  tcase_add_test(tc, block_garbage_is_reported_or_harmless_never_read_past);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(block_suite)
