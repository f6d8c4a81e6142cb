/*
** checksum.h — the engine's only use of xxHash.
**
** Every on-disk structure carries an XXH3-64 checksum computed with a seed
** that names the structure, so a valid block copied into the place of a
** WAL record (or vice versa) still fails verification.
*/
#ifndef LSM_CHECKSUM_H
#define LSM_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Seeds: ASCII tags, one per kind of checksummed structure. */
#define CHECKSUM_SEED_WAL       0x4c41572d4d534cull  /* "LSM-WAL"  */
#define CHECKSUM_SEED_BLOCK     0x4b4c422d4d534cull  /* "LSM-BLK"  */
#define CHECKSUM_SEED_FOOTER    0x544f462d4d534cull  /* "LSM-FOT"  */
#define CHECKSUM_SEED_MANIFEST  0x4e414d2d4d534cull  /* "LSM-MAN"  */
#define CHECKSUM_SEED_BATCH     0x5441422d4d534cull  /* "LSM-BAT": a host's log row */

uint64_t checksum_compute(const void *pData, size_t nData, uint64_t seed);

/* XXH3-64 of (pA,nA) followed by (pB,nB), without copying them together. */
uint64_t checksum_compute2(const void *pA, size_t nA, const void *pB, size_t nB, uint64_t seed);

/* The AVX2 builds of the two above (checksum_avx2.c), defined when the
** Makefile compiles that file with -mavx2 (x86-64) and sets
** LSM_CHECKSUM_AVX2.  REQUIRES: the processor has AVX2; checksum_compute
** and checksum_compute2 call them only then, so other callers need not. */
#ifdef LSM_CHECKSUM_AVX2
uint64_t checksum_avx2_compute(const void *pData, size_t nData, uint64_t seed);
uint64_t checksum_avx2_compute2(const void *pA, size_t nA, const void *pB, size_t nB,
                                uint64_t seed);
#endif

/* The 64-bit hash the Bloom filter uses (XXH3, seed 0). */
uint64_t checksum_hash_key(const void *pKey, size_t nKey);

#endif
