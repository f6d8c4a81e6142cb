/*
** checksum.c — XXH3 checksums and key hashes (see checksum.h).
*/
#include "checksum.h"

#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

uint64_t checksum_compute(const void *pData, size_t nData, uint64_t seed){
  return XXH3_64bits_withSeed(pData, nData, seed);
}

uint64_t checksum_compute2(const void *pA, size_t nA, const void *pB, size_t nB, uint64_t seed){
  XXH3_state_t state;
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
