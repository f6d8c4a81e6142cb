/*
** checksum.c — XXH3 checksums and key hashes (see checksum.h).
*/
#include "checksum.h"

#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* Inputs of at least this many bytes go to the AVX2 copy where the
** processor has it; shorter ones stay here (no long-input loop to speed
** up, and no call through another file for a key or a footer). */
#define CHECKSUM_AVX2_MIN_BYTES 1024

#ifdef LSM_CHECKSUM_AVX2
# define checksum_use_avx2(n) ((n) >= CHECKSUM_AVX2_MIN_BYTES && __builtin_cpu_supports("avx2"))
#else
# define checksum_use_avx2(n) 0
#endif

uint64_t checksum_compute(const void *pData, size_t nData, uint64_t seed){
#ifdef LSM_CHECKSUM_AVX2
  if( checksum_use_avx2(nData) ) return checksum_avx2_compute(pData, nData, seed);
#endif
  return XXH3_64bits_withSeed(pData, nData, seed);
}

uint64_t checksum_compute2(const void *pA, size_t nA, const void *pB, size_t nB, uint64_t seed){
  XXH3_state_t state;
#ifdef LSM_CHECKSUM_AVX2
  if( checksum_use_avx2(nA + nB) ) return checksum_avx2_compute2(pA, nA, pB, nB, seed);
#endif
  /* Required, not cosmetic: xxhash 0.8.1's reset_withSeed reads state.seed
  ** before setting it and may skip building the secret, which gives wrong
  ** checksums for inputs over 240 bytes. */
  memset(&state, 0, sizeof(state));
  XXH3_64bits_reset_withSeed(&state, seed);
  XXH3_64bits_update(&state, pA, nA);
  XXH3_64bits_update(&state, pB, nB);
  return XXH3_64bits_digest(&state);
}

uint64_t checksum_hash_key(const void *pKey, size_t nKey){
  return XXH3_64bits(pKey, nKey);
}
