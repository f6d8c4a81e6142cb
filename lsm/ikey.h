/*
** ikey.h — internal keys: a user key with its sequence number and type.
**
** Every sorted source below the public API (memtables, blocks, SSTables,
** merge iterators) orders internal keys, so that several versions of one
** user key sit next to each other, newest first.
**
**   OFFSET  SIZE  DESCRIPTION
**   0       n     user key bytes
**   n       8     trailer, little-endian uint64: (seq << 8) | type
**
** Order: user keys by memcmp (a proper prefix first), then trailer
** descending, i.e. larger sequence numbers first.  Sequence numbers are
** below 2^56.  Example: user key "ab", seq 5, IKEY_VALUE is the 10 bytes
**   61 62 | 01 05 00 00 00 00 00 00
*/
#ifndef LSM_IKEY_H
#define LSM_IKEY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "coding.h"

#define IKEY_DELETE 0          /* tombstone                       */
#define IKEY_VALUE  1          /* put                             */
#define IKEY_TRAILER 8         /* bytes after the user key        */
#define IKEY_MAX_SEQ ((1ull << 56) - 1)

/*
** Sequence numbers at or above IKEY_BATCH_SEQ are never written by
** commits: a batch read through by a cursor (a transaction's own writes)
** numbers its operations from here, so they are newer than any commit.
*/
#define IKEY_BATCH_SEQ (1ull << 55)

static inline uint64_t ikey_pack_trailer(uint64_t seq, int type){
  return (seq << 8) | (uint64_t)type;
}
/* Write user key + trailer into p (room for n + 8); returns p + n + 8. */
static inline uint8_t *ikey_build(uint8_t *p, const void *pUser, size_t nUser, uint64_t seq, int type){
  if( nUser ) memcpy(p, pUser, nUser);
  return coding_put64(p + nUser, ikey_pack_trailer(seq, type));
}
/* REQUIRES for the accessors: n >= IKEY_TRAILER (checked by the readers
** that decode internal keys from disk before they call these). */
static inline size_t ikey_user_len(size_t n){ return n - IKEY_TRAILER; }
static inline uint64_t ikey_trailer(const uint8_t *p, size_t n){
  return coding_get64(p + n - IKEY_TRAILER);
}
static inline uint64_t ikey_seq(const uint8_t *p, size_t n){ return ikey_trailer(p, n) >> 8; }
static inline int ikey_type(const uint8_t *p, size_t n){ return (int)(ikey_trailer(p, n) & 0xff); }

/* memcmp order on byte strings, a proper prefix first. */
static inline int ikey_compare_user(const void *a, size_t na, const void *b, size_t nb){
  size_t n = na < nb ? na : nb;
  int c = n ? memcmp(a, b, n) : 0;
  if( c ) return c;
  return na < nb ? -1 : (na > nb ? 1 : 0);
}

/*
** The same order without a call: eight bytes at a time (a big-endian load
** compares like memcmp), for the short keys of hot searches (skiplist
** steps, a get's key-range checks), where a call to memcmp costs more
** than the comparison of a 16-byte key.
*/
static inline int ikey_compare_user_inline(const void *pA, size_t na, const void *pB, size_t nb){
  const uint8_t *a = (const uint8_t*)pA, *b = (const uint8_t*)pB;
  size_t n = na < nb ? na : nb, i = 0;
  for(; i + 8 <= n; i += 8){
    uint64_t x, y;
    memcpy(&x, a + i, 8);
    memcpy(&y, b + i, 8);
    if( x != y ){
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      x = __builtin_bswap64(x);   /* so that the first byte is the most significant */
      y = __builtin_bswap64(y);
#endif
      return x < y ? -1 : 1;
    }
  }
  for(; i < n; i++){
    if( a[i] != b[i] ) return a[i] < b[i] ? -1 : 1;
  }
  return na < nb ? -1 : (na > nb ? 1 : 0);
}

/* Order of two internal keys of the same user key: newer (larger
** trailer) first. */
static inline int ikey_compare_trailers(const uint8_t *a, size_t na, const uint8_t *b, size_t nb){
  uint64_t ta = ikey_trailer(a, na), tb = ikey_trailer(b, nb);
  return ta > tb ? -1 : (ta < tb ? 1 : 0);
}

/* Order of two internal keys (see above). */
static inline int ikey_compare(const uint8_t *a, size_t na, const uint8_t *b, size_t nb){
  int c = ikey_compare_user(a, na - IKEY_TRAILER, b, nb - IKEY_TRAILER);
  return c ? c : ikey_compare_trailers(a, na, b, nb);
}

/* ikey_compare through ikey_compare_user_inline: for the merge, which
** compares on every step. */
static inline int ikey_compare_inline(const uint8_t *a, size_t na, const uint8_t *b, size_t nb){
  int c = ikey_compare_user_inline(a, na - IKEY_TRAILER, b, nb - IKEY_TRAILER);
  return c ? c : ikey_compare_trailers(a, na, b, nb);
}

#endif
