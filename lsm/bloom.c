/*
** bloom.c — Bloom filter build and probe (formulas and sources: bloom.h).
**
** The k positions of a key are walked incrementally: start at h1 mod m and
** step by h2 mod m, wrapping at m, which is (h1 + i*h2) mod m without a
** multiplication or a division per probe.  Two divisions per key remain.
*/
#include "bloom.h"

#include <assert.h>
#include <math.h>

int bloom_probes(int nBitsPerKey){
  long k;
  assert( nBitsPerKey > 0 );
  k = lround((double)nBitsPerKey * M_LN2);
  if( k < BLOOM_MIN_PROBES ) k = BLOOM_MIN_PROBES;
  if( k > BLOOM_MAX_PROBES ) k = BLOOM_MAX_PROBES;
  return (int)k;
}

size_t bloom_bytes(uint64_t nKey, int nBitsPerKey){
  uint64_t nBits;
  assert( nBitsPerKey > 0 );
  nBits = nKey * (uint64_t)nBitsPerKey;
  if( nBits < BLOOM_MIN_BITS ) nBits = BLOOM_MIN_BITS;
  return (size_t)((nBits + 7) / 8);
}

void bloom_build(uint8_t *aBits, size_t nBytes, int nProbe,
                 const uint64_t *aHash, size_t nHash){
  uint64_t m = (uint64_t)nBytes * 8;
  size_t i;
  assert( nBytes > 0 && nProbe >= 1 && nProbe <= BLOOM_MAX_PROBES );
  for(i = 0; i < nHash; i++){
    uint64_t pos = (aHash[i] & 0xffffffffu) % m;
    uint64_t step = (aHash[i] >> 32) % m;
    int j;
    for(j = 0; j < nProbe; j++){
      aBits[pos >> 3] |= (uint8_t)(1u << (pos & 7));
      pos += step;
      if( pos >= m ) pos -= m;
    }
  }
}

int bloom_may_contain(const uint8_t *aBits, size_t nBytes, int nProbe, uint64_t hash){
  uint64_t m = (uint64_t)nBytes * 8;
  uint64_t pos, step;
  int j;
  assert( nBytes > 0 );
  pos = (hash & 0xffffffffu) % m;
  step = (hash >> 32) % m;
  for(j = 0; j < nProbe; j++){
    if( (aBits[pos >> 3] & (1u << (pos & 7))) == 0 ) return 0;
    pos += step;
    if( pos >= m ) pos -= m;
  }
  return 1;
}
