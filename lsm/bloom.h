/*
** bloom.h — the Bloom filter of an SSTable (one per table, over user keys).
**
** A Bloom filter answers "is key x possibly in the table?" with no false
** negatives and a tunable rate of false positives, so that a point get can
** skip a table without reading any of its data blocks.
**
** Construction.  m bits, all zero; n keys; k probes.  Each key x is hashed
** once with XXH3-64 (checksum_hash_key); the low and high 32-bit halves
** are h1 and h2, and the k bit positions are
**
**     g_i(x) = (h1 + i * h2) mod m,     i = 0 .. k-1
**
** which is Kirsch-Mitzenmacher double hashing: two hash functions give
** the same asymptotic false-positive rate as k independent ones (A.
** Kirsch, M. Mitzenmacher, "Less Hashing, Same Performance: Building a
** Better Bloom Filter", ESA 2006 / Random Structures & Algorithms 33(2),
** 2008).  Setting the bits builds the filter; a key is "maybe present"
** when all k of its bits are set.
**
** False-positive rate.  After inserting n keys into m bits with k probes,
** a given bit is still zero with probability (1 - 1/m)^(kn) ~ e^(-kn/m),
** so a key that was never inserted finds all k bits set with probability
**
**     p = (1 - e^(-k n / m))^k
**
** (B. H. Bloom, "Space/Time Trade-offs in Hash Coding with Allowable
** Errors", CACM 13(7), 1970; the form above and its minimum are derived in
** A. Broder, M. Mitzenmacher, "Network Applications of Bloom Filters: A
** Survey", Internet Mathematics 1(4), 2004, section 2.1).  For b = m/n
** bits per key p is smallest at k = b ln 2, where p = 2^-k ~ 0.6185^b.
** We use k = round(b ln 2) clamped to [1, 30]: at b = 10, k = 7 and
** p = (1 - e^-0.7)^7 ~ 0.0082, i.e. about 0.82% (test_bloom measures it).
**
** Layout: the filter is a plain little-endian bit array, bit j being bit
** (j & 7) of byte j >> 3; the SSTable stores the probe count beside it
** (see sst_writer.c).  The filter never holds fewer than 64 bits.
**
** Thread safety: a built filter is immutable; probes need no locking.
*/
#ifndef LSM_BLOOM_H
#define LSM_BLOOM_H

#include <stddef.h>
#include <stdint.h>

#define BLOOM_MIN_PROBES 1
#define BLOOM_MAX_PROBES 30
#define BLOOM_MIN_BITS   64

/* k = round(nBitsPerKey * ln 2), clamped to [BLOOM_MIN_PROBES, BLOOM_MAX_PROBES].
** REQUIRES: nBitsPerKey > 0. */
int bloom_probes(int nBitsPerKey);

/* Bytes of the bit array for nKey keys at nBitsPerKey (at least
** BLOOM_MIN_BITS / 8).  REQUIRES: nBitsPerKey > 0. */
size_t bloom_bytes(uint64_t nKey, int nBitsPerKey);

/*
** Set the bits of every hash in aHash (hashes from checksum_hash_key)
** into aBits, nBytes long.  REQUIRES: aBits zeroed by the caller,
** nBytes > 0, 1 <= nProbe <= BLOOM_MAX_PROBES.
*/
void bloom_build(uint8_t *aBits, size_t nBytes, int nProbe,
                 const uint64_t *aHash, size_t nHash);

/* 0 if the key with this hash is certainly absent, 1 if it may be present.
** REQUIRES: nBytes > 0. */
int bloom_may_contain(const uint8_t *aBits, size_t nBytes, int nProbe, uint64_t hash);

#endif
