/*
** test_compress.c — block compression (compress.h): round trips, the 1/8
** rule, and a seeded fuzz of the decompression path.
**
** The fuzz takes valid compressed blocks of both kinds and damages them
** (flipped bytes, truncations, extensions, zeroed and copied runs, a
** changed size header, pure garbage), then decompresses: the answer must
** be LSM_OK with exactly the announced size or LSM_CORRUPT, never a
** crash or a read or write outside the buffers (the sanitizer build of
** `make test` runs it too; the output buffer is allocated to the exact
** size so ASan sees any overrun).  Bounded: a fixed number of cases.
** Replay a failure with LSM_TEST_SEED=<printed seed>.
*/
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "compress.h"
#include "lsm.h"
#include "testutil.h"

/* n bytes that compress: runs of words from a small vocabulary. */
static void fill_compressible(uint8_t *a, size_t n, test_rng *r){
  static const char *azWord[] = { "apple ", "banana ", "cherry ", "key000", "value=", "\x01\x02" };
  size_t i = 0;
  while( i < n ){
    const char *z = azWord[rng_below(r, 6)];
    size_t m = strlen(z);
    if( m > n - i ) m = n - i;
    memcpy(a + i, z, m);
    i += m;
    if( i < n && rng_below(r, 8) == 0 ) a[i++] = (uint8_t)rng_next(r);
  }
}

START_TEST(compressed_blocks_round_trip)
{
  unsigned long long seed = test_seed();
  static const int aType[] = { COMPRESS_LZ4, COMPRESS_ZSTD };
  test_rng r;
  size_t t;
  rng_init(&r, seed);
  for(t = 0; t < 2; t++){
    int k;
    for(k = 0; k < 200; k++){
      size_t n = 1 + rng_below(&r, 20000), nRaw = 0;
      uint8_t *a = malloc(n), *b;
      block_buf out = {0};
      int rc = LSM_OK;
      fill_compressible(a, n, &r);
      if( compress_block(lsm_env_default(), aType[t], a, n, &out, &rc) ){
        SEED_ASSERT(out.n <= n - n / 8, "stored %zu of %zu", seed, out.n, n);
        ck_assert_int_eq(compress_raw_size(out.a, out.n, 1 << 20, &nRaw), LSM_OK);
        ck_assert_uint_eq(nRaw, n);
        b = malloc(n);
        SEED_ASSERT(compress_uncompress(aType[t], out.a, out.n, b, n) == LSM_OK, "case %d", seed, k);
        ck_assert(memcmp(a, b, n) == 0);
        free(b);
      }else{
        SEED_ASSERT(n < 64, "a compressible block of %zu bytes was not compressed", seed, n);
      }
      ck_assert_int_eq(rc, LSM_OK);
      block_buf_free(lsm_env_default(), &out);
      free(a);
    }
  }
}
END_TEST

START_TEST(incompressible_blocks_are_left_raw)
{
  test_rng r;
  uint8_t a[4096];
  block_buf out = {0};
  size_t i;
  int rc = LSM_OK;
  rng_init(&r, 7);
  for(i = 0; i < sizeof(a); i++) a[i] = (uint8_t)rng_next(&r);
  ck_assert_int_eq(compress_block(lsm_env_default(), COMPRESS_LZ4, a, sizeof(a), &out, &rc), 0);
  ck_assert_int_eq(compress_block(lsm_env_default(), COMPRESS_ZSTD, a, sizeof(a), &out, &rc), 0);
  ck_assert_int_eq(rc, LSM_OK);
  block_buf_free(lsm_env_default(), &out);
}
END_TEST

START_TEST(damaged_compressed_blocks_decompress_to_corrupt_never_a_crash)
{
  unsigned long long seed = test_seed();
  static const int aType[] = { COMPRESS_LZ4, COMPRESS_ZSTD };
  int nCase = test_quick() ? 3000 : 20000, k, nOk = 0, nCorrupt = 0;
  test_rng r;
  rng_init(&r, seed);
  for(k = 0; k < nCase; k++){
    int eType = aType[k & 1];
    size_t n = 16 + rng_below(&r, 8000), nRaw = 0, nDamaged, i;
    uint8_t *a = malloc(n), *d, *b;
    block_buf out = {0};
    int rc = LSM_OK, nHit;
    fill_compressible(a, n, &r);
    if( !compress_block(lsm_env_default(), eType, a, n, &out, &rc) ){
      free(a);
      block_buf_free(lsm_env_default(), &out);
      continue;
    }
    nDamaged = out.n + 16;
    d = malloc(nDamaged);
    memcpy(d, out.a, out.n);
    nDamaged = out.n;
    switch( rng_below(&r, 6) ){
      case 0:                                   /* flip 1-4 bytes */
        for(nHit = 1 + (int)rng_below(&r, 4); nHit > 0; nHit--) d[rng_below(&r, nDamaged)] ^= (uint8_t)(1 + rng_below(&r, 255));
        break;
      case 1:                                   /* truncate */
        nDamaged = rng_below(&r, nDamaged);
        break;
      case 2:                                   /* extend with garbage */
        for(i = 0; i < 16; i++) d[nDamaged + i] = (uint8_t)rng_next(&r);
        nDamaged += 1 + rng_below(&r, 16);
        break;
      case 3: {                                 /* zero or copy a run */
        size_t at = rng_below(&r, nDamaged), m = 1 + rng_below(&r, 16);
        for(i = 0; i < m && at + i < nDamaged; i++) d[at + i] = rng_below(&r, 2) ? 0 : d[rng_below(&r, nDamaged)];
        break;
      }
      case 4:                                   /* a wrong size header */
        d[0] = (uint8_t)rng_next(&r);
        break;
      default:                                  /* garbage after the header */
        for(i = 1; i < nDamaged; i++) d[i] = (uint8_t)rng_next(&r);
        break;
    }
    rc = compress_raw_size(d, nDamaged, 1 << 16, &nRaw);
    if( rc == LSM_OK ){
      b = malloc(nRaw);                         /* exact: ASan sees overruns */
      rc = compress_uncompress(eType, d, nDamaged, b, nRaw);
      free(b);
    }
    SEED_ASSERT(rc == LSM_OK || rc == LSM_CORRUPT, "case %d: rc %d", seed, k, rc);
    if( rc == LSM_OK ) nOk++; else nCorrupt++;
    free(d);
    free(a);
    block_buf_free(lsm_env_default(), &out);
  }
  /* Most damage is caught by the decoders themselves. */
  ck_assert_int_gt(nCorrupt, nOk);
}
END_TEST

static Suite *compress_suite(void){
  Suite *s = suite_create("compress");
  TCase *tc = tcase_create("compress");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, compressed_blocks_round_trip);
  tcase_add_test(tc, incompressible_blocks_are_left_raw);
  tcase_add_test(tc, damaged_compressed_blocks_decompress_to_corrupt_never_a_crash);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(compress_suite)
