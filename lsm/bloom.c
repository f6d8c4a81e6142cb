/*
** bloom.c — blocked Bloom filter build and probe (formulas, sources: bloom.h).
**
** A key's block is ((hash >> 32) * nBlock) >> 32, a multiply-shift that
** maps the high half of the hash evenly onto the blocks without a
** division.  Its k bits are walked incrementally inside the block: start
** at h1, step by h2, and grow the step by i + 1 after probe i, which sums
** to h1 + i*h2 + (i^3 - i)/6; positions wrap at 512.
*/
#include "bloom.h"

#include <assert.h>
#include <math.h>

#define BLOOM_BLOCK_BITS (BLOOM_BLOCK_BYTES * 8)

int bloom_probes(int nBitsPerKey){
  long k;
  assert( nBitsPerKey > 0 );
  k = lround((double)nBitsPerKey * M_LN2);
  if( k < BLOOM_MIN_PROBES ) k = BLOOM_MIN_PROBES;
  if( k > BLOOM_MAX_PROBES ) k = BLOOM_MAX_PROBES;
  return (int)k;
}

size_t bloom_bytes(uint64_t nKey, int nBitsPerKey){
  uint64_t nBits, nBlock;
  assert( nBitsPerKey > 0 );
  nBits = nKey * (uint64_t)nBitsPerKey;
  nBlock = (nBits + BLOOM_BLOCK_BITS - 1) / BLOOM_BLOCK_BITS;
  if( nBlock == 0 ) nBlock = 1;
  return (size_t)(nBlock * BLOOM_BLOCK_BYTES);
}

/* The block of hash in a filter of nBytes. */
static inline size_t bloom_block(size_t nBytes, uint64_t hash){
  uint64_t nBlock = nBytes / BLOOM_BLOCK_BYTES;
  return (size_t)(((hash >> 32) * nBlock) >> 32) * BLOOM_BLOCK_BYTES;
}

void bloom_build(uint8_t *aBits, size_t nBytes, int nProbe,
                 const uint64_t *aHash, size_t nHash){
  size_t i;
  assert( nBytes > 0 && nBytes % BLOOM_BLOCK_BYTES == 0 );
  assert( nProbe >= 1 && nProbe <= BLOOM_MAX_PROBES );
  for(i = 0; i < nHash; i++){
    uint8_t *pBlock = aBits + bloom_block(nBytes, aHash[i]);
    uint32_t pos = (uint32_t)aHash[i] & (BLOOM_BLOCK_BITS - 1);
    uint32_t step = (uint32_t)aHash[i] >> 9;
    int j;
    for(j = 0; j < nProbe; j++){
      pBlock[pos >> 3] |= (uint8_t)(1u << (pos & 7));
      pos = (pos + step) & (BLOOM_BLOCK_BITS - 1);
      step += (uint32_t)j + 1;
    }
  }
}

void bloom_prefetch(const uint8_t *aBits, size_t nBytes, uint64_t hash){
  const uint8_t *pBlock = aBits + bloom_block(nBytes, hash);
  /* A filter in a mapped table need not start on a cache line, so the
  ** block may span two. */
  __builtin_prefetch(pBlock);
  __builtin_prefetch(pBlock + BLOOM_BLOCK_BYTES - 1);
}

int bloom_may_contain(const uint8_t *aBits, size_t nBytes, int nProbe, uint64_t hash){
  const uint8_t *pBlock;
  uint32_t pos, step;
  int j;
  assert( nBytes > 0 && nBytes % BLOOM_BLOCK_BYTES == 0 );
  pBlock = aBits + bloom_block(nBytes, hash);
  pos = (uint32_t)hash & (BLOOM_BLOCK_BITS - 1);
  step = (uint32_t)hash >> 9;
  for(j = 0; j < nProbe; j++){
    if( (pBlock[pos >> 3] & (1u << (pos & 7))) == 0 ) return 0;
    pos = (pos + step) & (BLOOM_BLOCK_BITS - 1);
    step += (uint32_t)j + 1;
  }
  return 1;
}

