/*
** block_builder.h — builds an SSTable data block (format: see
** block_builder.c, DATA BLOCK), and the growable byte buffer the SSTable
** writers build into.  block.h, the reader's contract, includes it.
**
** Thread safety: a builder or a buffer belongs to one thread at a time.
*/
#ifndef LSM_BLOCK_BUILDER_H
#define LSM_BLOCK_BUILDER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lsm.h"

/* ---- a growable byte buffer (env-allocated), shared by the SSTable code ---- */
typedef struct block_buf {
  uint8_t *a;        /* env_malloc'd bytes, or NULL  */
  size_t n;          /* bytes in use                 */
  size_t nAlloc;     /* bytes allocated              */
} block_buf;

/* Make room for n more bytes; returns a pointer to them (not yet counted
** in p->n), or NULL and *pRc = LSM_NOMEM.  No-op returning NULL if *pRc.
** Inline: the SSTable writer calls it several times per entry, and the
** room is nearly always there already; block_buf_grow does the rest. */
uint8_t *block_buf_grow(lsm_env*, block_buf*, size_t n, int *pRc);
static inline uint8_t *block_buf_reserve(lsm_env *pEnv, block_buf *p, size_t n, int *pRc){
  if( *pRc == 0 && p->nAlloc - p->n >= n ) return p->a + p->n;
  return block_buf_grow(pEnv, p, n, pRc);
}
/* Append n bytes (sticky rc). */
static inline void block_buf_append(lsm_env *pEnv, block_buf *p, const void *pData, size_t n,
                                    int *pRc){
  uint8_t *pOut = block_buf_reserve(pEnv, p, n, pRc);
  if( pOut ){
    if( n ) memcpy(pOut, pData, n);
    p->n += n;
  }
}
void block_buf_varint(lsm_env*, block_buf*, uint64_t v, int *pRc);
void block_buf_free(lsm_env*, block_buf*);

/* ---- builder ---- */
/*
** State machine: init -> (add* -> finish -> reset)* -> clear.
** add after finish (before reset) is misuse.
*/
typedef struct block_builder {
  lsm_env *pEnv;           /* allocations                                */
  block_buf out;           /* encoded entries, then the restart array    */
  block_buf restart;       /* restart offsets, fixed32 each              */
  block_buf last;          /* user key of the last entry added           */
  int nSinceRestart;       /* entries since the last restart point       */
  uint64_t nEntry;         /* entries in this block                      */
  int bFinished;           /* finish was called (and reset was not)      */
} block_builder;

void block_builder_init(block_builder*, lsm_env*);
/* REQUIRES: pIkey (nIkey >= IKEY_TRAILER) > the previous key added. */
void block_builder_add(block_builder*, const uint8_t *pIkey, size_t nIkey,
                       const uint8_t *pVal, size_t nVal, int *pRc);
/* Bytes the block would have if finished now. */
size_t block_builder_size(const block_builder*);
/* Append the restart array; returns the block's contents (borrowed: valid
** until reset or clear) in *pn bytes.  NULL with *pRc on OOM. */
const uint8_t *block_builder_finish(block_builder*, size_t *pn, int *pRc);
void block_builder_reset(block_builder*);   /* empty again, buffers kept  */
void block_builder_clear(block_builder*);   /* free the buffers           */

/* ---- shared with the reader (block.c) ---- */
/* Length of the common prefix of a and b, both at least n bytes.  The
** builder prefix-compresses a user key with it, the reader compares keys
** with it; inline, as both are hot loops. */
static inline size_t block_lcp(const uint8_t *a, const uint8_t *b, size_t n){
  size_t i = 0;
  while( i + 8 <= n ){
    uint64_t x, y;
    memcpy(&x, a + i, 8);
    memcpy(&y, b + i, 8);
    if( x != y ){
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      return i + ((size_t)__builtin_ctzll(x ^ y) >> 3);   /* first differing byte */
#else
      break;
#endif
    }
    i += 8;
  }
  while( i < n && a[i] == b[i] ) i++;
  return i;
}

#endif /* LSM_BLOCK_BUILDER_H */
