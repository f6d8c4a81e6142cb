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
** A growing filter (the memtable's, memtable.c) is never stored, so it
** can trade rate for speed: it is blocked by one 64-bit word instead of a
** cache line (the "register-blocked" Bloom filter of H. Lang, T. Neumann,
** A. Kemper, P. Boncz, "Performance-Optimal Filtering: Bloom Overtakes
** Cuckoo at High Throughput", PVLDB 12(5), 2019), so that adding a key is
** one load and one store of a mask built in a register, and a probe one
** load and one comparison.  The high 32 bits of the hash pick the word
** (multiply-shift, as above); the low 30 bits are BLOOM_WORD_PROBES = 5
** fields of 6 bits, each one bit of the word.  Its rate is the blocked
** formula above with B = 64: at 5, 10, 18 and 37 bits per key 11.7%,
** 1.7%, 0.27% and 0.034% (512-bit blocks, k = 6: 11.9%, 0.96%, 0.066%,
** 0.002%); k = 5 is also what the 30 low bits give.
**
** Thread safety of a growing filter: its words are atomics, filled one
** key at a time by a single writer while readers probe them.  The writer
** ORs with a relaxed load and store (one writer: no bit is lost) and
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

/* Start loading the block bloom_may_contain will read for hash, without
** waiting for it (sst_reader_prefetch_get).
** REQUIRES: as bloom_may_contain. */
void bloom_prefetch(const uint8_t *aBits, size_t nBytes, uint64_t hash);

/* A growing filter's words (see Thread safety above). */
typedef _Atomic uint64_t bloom_word;

#define BLOOM_WORD_PROBES 5       /* bits per key in a growing filter */

/* The word of hash in a growing filter of nWord words, and the key's bits
** in it. */
static inline size_t bloom_word_index(size_t nWord, uint64_t hash){
  return (size_t)(((hash >> 32) * (uint64_t)nWord) >> 32);
}
static inline uint64_t bloom_word_mask(uint64_t hash){
  return ((uint64_t)1 << (hash & 63))
       | ((uint64_t)1 << ((hash >> 6) & 63))
       | ((uint64_t)1 << ((hash >> 12) & 63))
       | ((uint64_t)1 << ((hash >> 18) & 63))
       | ((uint64_t)1 << ((hash >> 24) & 63));
}

/* Writer only (one at a time): add the key with this hash to aWord, nWord
** words long.  REQUIRES: nWord > 0. */
static inline void bloom_word_add(bloom_word *aWord, size_t nWord, uint64_t hash){
  bloom_word *pW = &aWord[bloom_word_index(nWord, hash)];
  /* Load and store, not fetch_or: the single writer loses no bit, and a
  ** locked read-modify-write costs ~20 cycles. */
  uint64_t w = atomic_load_explicit(pW, memory_order_relaxed);
  atomic_store_explicit(pW, w | bloom_word_mask(hash), memory_order_relaxed);
}

/* Any thread: 0 if no key with this hash was added before what the caller
** synchronized with, 1 if one may have been.  REQUIRES: nWord > 0. */
static inline int bloom_word_may_contain(const bloom_word *aWord, size_t nWord, uint64_t hash){
  uint64_t m = bloom_word_mask(hash);
  return (atomic_load_explicit(&aWord[bloom_word_index(nWord, hash)], memory_order_relaxed) & m) == m;
}

#endif
