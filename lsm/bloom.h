/*
** bloom.h — the Bloom filter of an SSTable (one per table, over user keys).
**
** A Bloom filter answers "is key x possibly in the table?" with no false
** negatives and a tunable rate of false positives, so that a point get can
** skip a table without reading any of its data blocks.
**
** Construction.  The filter is an array of 512-bit (64-byte, one cache
** line) blocks, all zero; n keys; k probes.  Each key x is hashed once
** with XXH3-64 (checksum_hash_key).  The high 32 bits pick the key's
** block (multiply-shift onto the block count); of the low 32 bits, bits
** 0..8 are h1 and bits 9..31 are h2, and the k bit positions within the
** block are
**
**     g_i(x) = (h1 + i * h2 + (i^3 - i) / 6) mod 512,     i = 0 .. k-1
**
** This is double hashing: two hash values stand in for k independent
** ones with the same asymptotic false-positive rate (A. Kirsch,
** M. Mitzenmacher, "Less Hashing, Same Performance: Building a Better
** Bloom Filter", ESA 2006 / Random Structures & Algorithms 33(2), 2008).
** The cubic term is their "enhanced double hashing" (P. C. Dillinger,
** P. Manolios, "Bloom Filters in Probabilistic Verification", FMCAD 2004):
** in a domain as small as 512 bits plain h1 + i*h2 lets two keys with the
** same h2 share k-1 bits, which measurably raises the rate (1.13% instead
** of 0.96% at 10 bits per key); the cubic term breaks that alignment.  A
** key is "maybe present" when all its k bits are set.  Keeping a key's
** bits in one cache line makes a probe cost one memory access instead of
** k: the "blocked Bloom filter" of Putze, Sanders and Singler (below),
** used by RocksDB's FastLocalBloom for the same reason.
**
** False-positive rate.  For a plain filter of m bits, n keys, k probes, a
** bit is still zero with probability (1 - 1/m)^(kn) ~ e^(-kn/m), so a key
** never inserted finds all its k bits set with probability
**
**     p = (1 - e^(-k n / m))^k
**
** (B. H. Bloom, "Space/Time Trade-offs in Hash Coding with Allowable
** Errors", CACM 13(7), 1970; derived with its minimum in A. Broder,
** M. Mitzenmacher, "Network Applications of Bloom Filters: A Survey",
** Internet Mathematics 1(4), 2004, section 2.1).  For c = m/n bits per key
** p is smallest at k = c ln 2, where p = 2^-k.  Blocking makes the load
** of a block random: the number of keys i in one B-bit block is Poisson
** with mean B/c, so
**
**     p_blocked = sum over i >= 0 of  Pois(i; B/c) * (1 - (1 - 1/B)^(k i))^k
**
** (F. Putze, P. Sanders, J. Singler, "Cache-, Hash- and Space-Efficient
** Bloom Filters", WEA 2007 / ACM JEA 14, 2009, section 3).  We use
** k = round(c ln 2) clamped to [1, 30] and B = 512.  At c = 10, k = 7:
** p = 0.82% unblocked, p_blocked = 0.96%; test_bloom measures the latter.
** (c = 8: 2.3%; c = 12: 0.41%; c = 16: 0.086%.)
**
** Layout: a plain bit array, bit j being bit (j & 7) of byte j >> 3,
** a multiple of BLOOM_BLOCK_BYTES long (at least one block); the SSTable
** stores the probe count beside it (see sst_writer.c).
**
** Thread safety: a built filter is immutable; probes need no locking.
**
** A growing filter (the memtable's, memtable.c) is the same blocked
** filter kept in 64-bit atomic words, bit j being bit (j & 63) of word
** j >> 6 (never stored, so its byte order does not matter), filled one key
** at a time by a single writer while readers probe it.  The writer sets
** bits with relaxed loads and stores (one writer: no bit is lost) and
** readers load with relaxed order; a reader is only promised the bits of
** keys added before something it synchronized with (in the store: the
** publication of the last sequence number under the store mutex), which
** is all a filter without false negatives needs: a key added later may
** or may not be seen, as the entry itself.
*/
#ifndef LSM_BLOOM_H
#define LSM_BLOOM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define BLOOM_MIN_PROBES  1
#define BLOOM_MAX_PROBES  30
#define BLOOM_BLOCK_BYTES 64      /* one cache line: 512 bits */

/* k = round(nBitsPerKey * ln 2), clamped to [BLOOM_MIN_PROBES, BLOOM_MAX_PROBES].
** REQUIRES: nBitsPerKey > 0. */
int bloom_probes(int nBitsPerKey);

/* Bytes of the bit array for nKey keys at nBitsPerKey: nKey * nBitsPerKey
** bits rounded up to whole blocks, at least one block.
** REQUIRES: nBitsPerKey > 0. */
size_t bloom_bytes(uint64_t nKey, int nBitsPerKey);

/*
** Set the bits of every hash in aHash (hashes from checksum_hash_key)
** into aBits, nBytes long.  REQUIRES: aBits zeroed by the caller, nBytes a
** non-zero multiple of BLOOM_BLOCK_BYTES, 1 <= nProbe <= BLOOM_MAX_PROBES.
*/
void bloom_build(uint8_t *aBits, size_t nBytes, int nProbe,
                 const uint64_t *aHash, size_t nHash);

/* 0 if the key with this hash is certainly absent, 1 if it may be present.
** REQUIRES: nBytes a non-zero multiple of BLOOM_BLOCK_BYTES. */
int bloom_may_contain(const uint8_t *aBits, size_t nBytes, int nProbe, uint64_t hash);

/* A growing filter's words (see Thread safety above). */
typedef _Atomic uint64_t bloom_word;

/* The first word of hash's block in a growing filter of nBytes: the
** block bloom.c picks for a built filter. */
static inline size_t bloom_shared_block(size_t nBytes, uint64_t hash){
  uint64_t nBlock = nBytes / BLOOM_BLOCK_BYTES;
  return (size_t)(((hash >> 32) * nBlock) >> 32) * (BLOOM_BLOCK_BYTES / sizeof(uint64_t));
}

/* Writer only (one at a time): set the k bits of hash in aWord, nBytes
** long.  REQUIRES: nBytes a non-zero multiple of BLOOM_BLOCK_BYTES,
** 1 <= nProbe <= BLOOM_MAX_PROBES.  Inline, so that a caller's constant
** nProbe unrolls the loop (121 -> ~50 instructions per key at k = 6). */
static inline void bloom_add_shared(bloom_word *aWord, size_t nBytes, int nProbe, uint64_t hash){
  bloom_word *pBlock = aWord + bloom_shared_block(nBytes, hash);
  uint32_t pos = (uint32_t)hash & (BLOOM_BLOCK_BYTES * 8 - 1);
  uint32_t step = (uint32_t)hash >> 9;
  int j;
  for(j = 0; j < nProbe; j++){
    bloom_word *pW = &pBlock[pos >> 6];
    /* Load and store, not fetch_or: the single writer loses no bit, and
    ** a locked read-modify-write costs ~20 cycles per probe. */
    uint64_t w = atomic_load_explicit(pW, memory_order_relaxed);
    atomic_store_explicit(pW, w | ((uint64_t)1 << (pos & 63)), memory_order_relaxed);
    pos = (pos + step) & (BLOOM_BLOCK_BYTES * 8 - 1);
    step += (uint32_t)j + 1;
  }
}

/* Any thread: 0 if no key with this hash was added before what the caller
** synchronized with, 1 if one may have been.  Same REQUIRES. */
static inline int bloom_may_contain_shared(const bloom_word *aWord, size_t nBytes, int nProbe,
                                           uint64_t hash){
  const bloom_word *pBlock = aWord + bloom_shared_block(nBytes, hash);
  uint32_t pos = (uint32_t)hash & (BLOOM_BLOCK_BYTES * 8 - 1);
  uint32_t step = (uint32_t)hash >> 9;
  int j;
  for(j = 0; j < nProbe; j++){
    uint64_t w = atomic_load_explicit(&pBlock[pos >> 6], memory_order_relaxed);
    if( (w & ((uint64_t)1 << (pos & 63))) == 0 ) return 0;
    pos = (pos + step) & (BLOOM_BLOCK_BYTES * 8 - 1);
    step += (uint32_t)j + 1;
  }
  return 1;
}

#endif
