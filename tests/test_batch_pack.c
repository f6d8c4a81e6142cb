/*
** test_batch_pack.c — the stored form of a batch (lsm/batch_pack.c):
** round trips of both forms, the raw form being what hosts stored before
** it existed, and damaged stored bytes giving LSM_CORRUPT, never a crash.
**
** The fuzz damages valid compressed forms (flipped bytes, truncations,
** a changed size header, an unknown form byte), once with the stored
** checksum left as it was (the checksum must catch it) and once with the
** checksum recomputed over the damaged bytes (the decompressor and the
** batch decoder must then catch it, or give back a batch that decodes).
** Replay a failure with LSM_TEST_SEED=<printed seed>.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "coding.h"
#include "lsm.h"
#include "testutil.h"

/* A batch of nOp puts with keys "key%08d" and 100-byte values, half of
** each random, half 'v' (about 2:1 for LZ4), and a delete every 7th. */
static lsm_batch *batch_make(int nOp, test_rng *r){
  lsm_batch *p = 0;
  int i, j;
  ck_assert_int_eq(lsm_batch_new_env(NULL, &p), LSM_OK);
  for(i = 0; i < nOp; i++){
    char zKey[16];
    uint8_t aVal[100];
    snprintf(zKey, sizeof(zKey), "key%08d", i);
    for(j = 0; j < 100; j++) aVal[j] = j < 50 ? (uint8_t)rng_next(r) : 'v';
    if( i % 7 == 6 ){
      ck_assert_int_eq(lsm_batch_delete(p, zKey, strlen(zKey)), LSM_OK);
    }else{
      ck_assert_int_eq(lsm_batch_put(p, zKey, strlen(zKey), aVal, sizeof(aVal)), LSM_OK);
    }
  }
  return p;
}

/* pB holds exactly the operations of pA. */
static void assert_same_batch(const lsm_batch *pA, const lsm_batch *pB){
  ck_assert_uint_eq(lsm_batch_count(pA), lsm_batch_count(pB));
  ck_assert_uint_eq(lsm_batch_bytes(pA), lsm_batch_bytes(pB));
  ck_assert(memcmp(lsm_batch_data(pA), lsm_batch_data(pB), lsm_batch_bytes(pA)) == 0);
}

START_TEST(a_large_batch_is_stored_compressed_and_unpacks_whole)
{
  test_rng r;
  lsm_batch *pA, *pB = 0;
  lsm_packed_batch packed = {0};
  const uint8_t *a;
  rng_init(&r, test_seed());
  pA = batch_make(1000, &r);
  ck_assert_int_eq(lsm_batch_pack(pA, &packed), LSM_OK);
  a = packed.pData;
  /* Form byte 0x81, then the varint of the raw size, then LZ4. */
  ck_assert_uint_eq(a[0], 0x81);
  ck_assert_uint_lt(packed.nData, lsm_batch_bytes(pA) - lsm_batch_bytes(pA) / 8);
  ck_assert(packed.pData != lsm_batch_data(pA));
  ck_assert_uint_eq(packed.iSum, checksum_compute(packed.pData, packed.nData, CHECKSUM_SEED_BATCH));
  ck_assert_int_eq(lsm_batch_new_env(NULL, &pB), LSM_OK);
  ck_assert_int_eq(lsm_batch_unpack(pB, packed.pData, packed.nData, packed.iSum), LSM_OK);
  assert_same_batch(pA, pB);
  /* The buffer is reused by the next pack. */
  {
    void *pBuf = packed.pBuf;
    ck_assert_int_eq(lsm_batch_pack(pA, &packed), LSM_OK);
    ck_assert_ptr_eq(packed.pBuf, pBuf);
  }
  lsm_packed_free(&packed);
  ck_assert_ptr_null(packed.pBuf);
  lsm_batch_free(pA);
  lsm_batch_free(pB);
}
END_TEST

/* The worked example of lsm/batch_pack.c's header, byte for byte. */
START_TEST(batch_pack_compressed_form_is_exact)
{
  static const uint8_t aRawHead[] = { 0x01, 0x08, 0x6b, 0x65, 0x79, 0x30, 0x30, 0x30, 0x30,
                                      0x30, 0x28, 0x76 };
  lsm_batch *pA = 0, *pB = 0;
  lsm_packed_batch packed = {0};
  const uint8_t *a;
  int i;
  ck_assert_int_eq(lsm_batch_new_env(NULL, &pA), LSM_OK);
  for(i = 0; i < 4; i++){
    char zKey[16];
    snprintf(zKey, sizeof(zKey), "key%05d", i);
    ck_assert_int_eq(lsm_batch_put(pA, zKey, 8, "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv", 40), LSM_OK);
  }
  ck_assert_uint_eq(lsm_batch_bytes(pA), 204);
  ck_assert_int_eq(lsm_batch_pack(pA, &packed), LSM_OK);
  ck_assert_uint_eq(packed.nData, 204);
  ck_assert(memcmp(packed.pData, aRawHead, sizeof(aRawHead)) == 0);
  for(i = 4; i < 32; i++){
    char zKey[16];
    snprintf(zKey, sizeof(zKey), "key%05d", i % 4);
    ck_assert_int_eq(lsm_batch_put(pA, zKey, 8, "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv", 40), LSM_OK);
  }
  ck_assert_uint_eq(lsm_batch_bytes(pA), 1632);
  ck_assert_int_eq(lsm_batch_pack(pA, &packed), LSM_OK);
  a = packed.pData;
  ck_assert_uint_eq(a[0], 0x81);
  ck_assert_uint_eq(a[1], 0xe0);
  ck_assert_uint_eq(a[2], 0x0c);
  ck_assert_uint_lt(packed.nData, 1632 - 1632 / 8);
  ck_assert_int_eq(lsm_batch_new_env(NULL, &pB), LSM_OK);
  ck_assert_int_eq(lsm_batch_unpack(pB, packed.pData, packed.nData, packed.iSum), LSM_OK);
  assert_same_batch(pA, pB);
  lsm_packed_free(&packed);
  lsm_batch_free(pA);
  lsm_batch_free(pB);
}
END_TEST

START_TEST(small_and_incompressible_batches_are_stored_raw)
{
  test_rng r;
  lsm_batch *pA = 0, *pB = 0;
  lsm_packed_batch packed = {0};
  int i;
  rng_init(&r, test_seed());
  /* Small: under 256 bytes, not even tried. */
  pA = batch_make(2, &r);
  ck_assert_int_eq(lsm_batch_pack(pA, &packed), LSM_OK);
  ck_assert_ptr_eq(packed.pData, lsm_batch_data(pA));
  ck_assert_uint_eq(packed.nData, lsm_batch_bytes(pA));
  ck_assert_uint_eq(packed.iSum, lsm_batch_checksum(pA));
  lsm_batch_free(pA);
  /* Incompressible: random keys and values. */
  ck_assert_int_eq(lsm_batch_new_env(NULL, &pA), LSM_OK);
  for(i = 0; i < 200; i++){
    uint8_t aKey[24], aVal[200];
    size_t j;
    for(j = 0; j < sizeof(aKey); j++) aKey[j] = (uint8_t)rng_next(&r);
    for(j = 0; j < sizeof(aVal); j++) aVal[j] = (uint8_t)rng_next(&r);
    ck_assert_int_eq(lsm_batch_put(pA, aKey, sizeof(aKey), aVal, sizeof(aVal)), LSM_OK);
  }
  ck_assert_int_eq(lsm_batch_pack(pA, &packed), LSM_OK);
  ck_assert_ptr_eq(packed.pData, lsm_batch_data(pA));
  ck_assert_uint_eq(packed.iSum, lsm_batch_checksum(pA));
  ck_assert_int_eq(lsm_batch_new_env(NULL, &pB), LSM_OK);
  ck_assert_int_eq(lsm_batch_unpack(pB, packed.pData, packed.nData, packed.iSum), LSM_OK);
  assert_same_batch(pA, pB);
  /* The empty batch: nothing stored, nothing loaded. */
  lsm_batch_clear(pA);
  ck_assert_int_eq(lsm_batch_pack(pA, &packed), LSM_OK);
  ck_assert_uint_eq(packed.nData, 0);
  ck_assert_int_eq(lsm_batch_unpack(pB, packed.pData, packed.nData, packed.iSum), LSM_OK);
  ck_assert_uint_eq(lsm_batch_count(pB), 0);
  lsm_packed_free(&packed);
  lsm_batch_free(pA);
  lsm_batch_free(pB);
}
END_TEST

/* What a host stored before the packed form existed: lsm_batch_data with
** lsm_batch_checksum, a batch of any size. */
START_TEST(bytes_stored_before_the_packed_form_unpack_unchanged)
{
  test_rng r;
  lsm_batch *pA, *pB = 0;
  rng_init(&r, test_seed());
  pA = batch_make(1000, &r);
  ck_assert_int_eq(lsm_batch_new_env(NULL, &pB), LSM_OK);
  ck_assert_int_eq(lsm_batch_unpack(pB, lsm_batch_data(pA), lsm_batch_bytes(pA),
                                    lsm_batch_checksum(pA)), LSM_OK);
  assert_same_batch(pA, pB);
  /* ... and a wrong checksum on them is caught. */
  ck_assert_int_eq(lsm_batch_unpack(pB, lsm_batch_data(pA), lsm_batch_bytes(pA),
                                    lsm_batch_checksum(pA) ^ 1), LSM_CORRUPT);
  ck_assert_uint_eq(lsm_batch_count(pB), 0);
  lsm_batch_free(pA);
  lsm_batch_free(pB);
}
END_TEST

START_TEST(damaged_stored_batches_unpack_to_corrupt_never_a_crash)
{
  unsigned long long seed = test_seed();
  test_rng r;
  lsm_batch *pA, *pB = 0;
  lsm_packed_batch packed = {0};
  int k, nCaughtBySum = 0, nCaughtByDecode = 0, nDecoded = 0;
  rng_init(&r, seed);
  pA = batch_make(300, &r);
  ck_assert_int_eq(lsm_batch_pack(pA, &packed), LSM_OK);
  ck_assert_uint_eq(((const uint8_t*)packed.pData)[0], 0x81);
  ck_assert_int_eq(lsm_batch_new_env(NULL, &pB), LSM_OK);
  for(k = 0; k < 400; k++){
    size_t n = packed.nData, i;
    uint8_t *d = malloc(n + 8);
    int eKind = (int)rng_below(&r, 4), rc;
    memcpy(d, packed.pData, n);
    switch( eKind ){
      case 0:                                   /* flip 1..4 bytes */
        for(i = 1 + rng_below(&r, 4); i > 0; i--) d[rng_below(&r, n)] ^= (uint8_t)(1 + rng_below(&r, 255));
        break;
      case 1:                                   /* truncate */
        n = rng_below(&r, n);
        break;
      case 2:                                   /* a size header that lies */
        d[1] = (uint8_t)rng_next(&r);
        d[2] = (uint8_t)rng_next(&r);
        break;
      default:                                  /* an unknown form */
        d[0] = (uint8_t)(0x82 + rng_below(&r, 0x7e));
        break;
    }
    if( n == packed.nData && memcmp(d, packed.pData, n) == 0 ){
      free(d);
      continue;                                 /* the damage undid itself */
    }
    /* The stored checksum no longer matches. */
    rc = lsm_batch_unpack(pB, d, n, packed.iSum);
    SEED_ASSERT(rc == LSM_CORRUPT, "case %d (kind %d): rc %d", seed, k, eKind, rc);
    ck_assert_uint_eq(lsm_batch_count(pB), 0);
    nCaughtBySum++;
    /* The checksum recomputed: the decoders must hold. */
    rc = lsm_batch_unpack(pB, d, n, checksum_compute(d, n, CHECKSUM_SEED_BATCH));
    SEED_ASSERT(rc == LSM_OK || rc == LSM_CORRUPT, "case %d (kind %d): rc %d", seed, k, eKind, rc);
    if( rc == LSM_OK ) nDecoded++; else nCaughtByDecode++;
    if( rc != LSM_OK ) ck_assert_uint_eq(lsm_batch_count(pB), 0);
    free(d);
  }
  ck_assert_int_gt(nCaughtBySum, 300);
  ck_assert_int_gt(nCaughtByDecode, nDecoded);
  lsm_packed_free(&packed);
  lsm_batch_free(pA);
  lsm_batch_free(pB);
}
END_TEST

/* The bytes of one put of an nKey-byte key ('k's) and the value "v",
** encoded as lsm_batch_data gives them; the type byte is taken from a
** batch the library built.  *pn: their length.  Caller frees. */
static uint8_t *batch_bytes_of_put(size_t nKey, size_t *pn){
  lsm_batch *pOne = 0;
  uint8_t *a = malloc(nKey + 32), *p;
  ck_assert_ptr_nonnull(a);
  ck_assert_int_eq(lsm_batch_new_env(NULL, &pOne), LSM_OK);
  ck_assert_int_eq(lsm_batch_put(pOne, "k", 1, "v", 1), LSM_OK);
  p = a;
  *p++ = ((const uint8_t*)lsm_batch_data(pOne))[0];
  p = coding_put_varint(p, nKey);
  memset(p, 'k', nKey);
  p += nKey;
  p = coding_put_varint(p, 1);
  *p++ = 'v';
  *pn = (size_t)(p - a);
  lsm_batch_free(pOne);
  return a;
}

/* A stored batch holding a key over LSM_MAX_KEY (a writer never makes
** one: lsm_batch_put refuses it) is corrupt when loaded, not accepted to
** fail every later flush; a key at the limit loads. */
START_TEST(a_stored_key_over_the_limit_is_corrupt)
{
  lsm_batch *p = 0;
  size_t n;
  uint8_t *a;
  ck_assert_int_eq(lsm_batch_new_env(NULL, &p), LSM_OK);
  a = batch_bytes_of_put(LSM_MAX_KEY, &n);
  ck_assert_int_eq(lsm_batch_load(p, a, n), LSM_OK);
  ck_assert_uint_eq(lsm_batch_count(p), 1);
  free(a);
  a = batch_bytes_of_put(LSM_MAX_KEY + 1, &n);
  ck_assert_int_eq(lsm_batch_load(p, a, n), LSM_CORRUPT);
  ck_assert_uint_eq(lsm_batch_count(p), 0);
  free(a);
  a = batch_bytes_of_put(70000, &n);
  ck_assert_int_eq(lsm_batch_load(p, a, n), LSM_CORRUPT);
  free(a);
  lsm_batch_free(p);
}
END_TEST

static Suite *batch_pack_suite(void){
  Suite *s = suite_create("batch_pack");
  TCase *tc = tcase_create("batch_pack");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, a_large_batch_is_stored_compressed_and_unpacks_whole);
  tcase_add_test(tc, batch_pack_compressed_form_is_exact);
  tcase_add_test(tc, small_and_incompressible_batches_are_stored_raw);
  tcase_add_test(tc, bytes_stored_before_the_packed_form_unpack_unchanged);
  tcase_add_test(tc, damaged_stored_batches_unpack_to_corrupt_never_a_crash);
  tcase_add_test(tc, a_stored_key_over_the_limit_is_corrupt);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(batch_pack_suite)
