/*
** test_checksum.c — the XXH3 checksums give XXH3's answers whichever copy
** computes them: checksum.c's (SSE2 on x86-64), the AVX2 copy of
** checksum_avx2.c where the processor has it, and both split in two parts
** (checksum_compute2) at any point.  A difference would make every store
** written on one machine corrupt on another.
*/
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "testutil.h"

/* The reference: xxHash's own one-shot function, compiled here. */
#define XXH_INLINE_ALL
#include <xxhash.h>

/* Lengths around xxHash's internal boundaries (16, 128, 240 bytes, its
** 64-byte stripes and 1 KiB blocks, the AVX2 threshold) and a block's. */
static const size_t aLen[] = {
  0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 239, 240, 241, 255, 256, 1023, 1024, 1025,
  1088, 2047, 4095, 4096, 4097, 4105, 8191, 65536 + 13
};
#define N_LEN ((int)(sizeof(aLen) / sizeof(aLen[0])))

START_TEST(checksum_of_empty_input_is_xxh3s_known_answer)
{
  /* XXH3_64bits("") with seed 0, from xxHash's own test vectors. */
  ck_assert_uint_eq(checksum_compute("", 0, 0), 0x2D06800538D394C2ull);
}
END_TEST

START_TEST(checksum_equals_xxh3_at_every_length_and_split)
{
  uint64_t seed = test_seed();
  test_rng rng;
  uint8_t *a = malloc(aLen[N_LEN - 1]);
  int i, j;
  ck_assert_ptr_nonnull(a);
  rng_init(&rng, seed);
  for(i = 0; i < (int)aLen[N_LEN - 1]; i++) a[i] = (uint8_t)rng_next(&rng);
  for(i = 0; i < N_LEN; i++){
    size_t n = aLen[i];
    uint64_t want = XXH3_64bits_withSeed(a, n, CHECKSUM_SEED_BLOCK);
    size_t aSplit[] = { 0, 1, n / 2, n > 0 ? n - 1 : 0, n, (size_t)rng_below(&rng, n + 1) };
    SEED_ASSERT(checksum_compute(a, n, CHECKSUM_SEED_BLOCK) == want,
                "checksum_compute differs from XXH3 at %zu bytes", (unsigned long long)seed, n);
    for(j = 0; j < (int)(sizeof(aSplit) / sizeof(aSplit[0])); j++){
      size_t k = aSplit[j] <= n ? aSplit[j] : n;
      SEED_ASSERT(checksum_compute2(a, k, a + k, n - k, CHECKSUM_SEED_BLOCK) == want,
                  "checksum_compute2 differs from XXH3 at %zu bytes split at %zu",
                  (unsigned long long)seed, n, k);
    }
#ifdef LSM_CHECKSUM_AVX2
    if( __builtin_cpu_supports("avx2") ){
      size_t k = n / 3;
      SEED_ASSERT(checksum_avx2_compute(a, n, CHECKSUM_SEED_BLOCK) == want,
                  "the AVX2 copy differs from XXH3 at %zu bytes", (unsigned long long)seed, n);
      SEED_ASSERT(checksum_avx2_compute2(a, k, a + k, n - k, CHECKSUM_SEED_BLOCK) == want,
                  "the AVX2 copy of compute2 differs from XXH3 at %zu bytes",
                  (unsigned long long)seed, n);
    }
#endif
  }
  free(a);
}
END_TEST

static Suite *checksum_suite(void){
  Suite *s = suite_create("checksum");
  TCase *tc = tcase_create("checksum");
  tcase_add_test(tc, checksum_of_empty_input_is_xxh3s_known_answer);
  tcase_add_test(tc, checksum_equals_xxh3_at_every_length_and_split);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(checksum_suite)
