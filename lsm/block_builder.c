/*
** block_builder.c — writes an SSTable data block (the format below), and
** the growable byte buffer the SSTable writers build into.
**
** The builder takes entries in internal-key order and appends each to one
** buffer as it comes: the user key prefix-compressed against the previous
** entry's (the last user key is kept for that), the trailer as a varint.
** Every SST_RESTART_INTERVAL entries it starts a restart point (nothing
** shared) and notes its offset; finish appends the restart array.  The
** contract is in block_builder.h; block.c searches and iterates what it
** writes.
**
** DATA BLOCK (block.c reads it), as it is before compression; the file
** holds it raw or compressed, as its trailer's type says (sst_writer.c,
** DATA BLOCK TRAILER).  u32 is little-endian; a varint is coding.h's
** LEB128.
**
**   OFFSET  SIZE        DESCRIPTION
**   0       ...         entries, in internal-key order
**   E       4*R         restart array: R u32 offsets of restart entries
**   E+4R    4           u32 R, the number of restart points (R = 0 only
**                       in a block with no entries, never written)
**
** Block entry (one per key version):
**
**   OFFSET  SIZE        DESCRIPTION
**   0       varint      s: user-key bytes shared with the previous entry
**                       (0 at a restart point: every 16th entry, the 1st)
**   .       varint      u: user-key bytes that follow
**   .       varint      v: value bytes
**   .       varint      trailer: (seq << 8) | type, type 0 delete, 1 put
**   .       u           user key bytes s .. s+u-1
**   .       v           value
**
** The internal key is the user key (s bytes of the previous entry's user
** key, then the u new bytes) followed by the trailer as 8 bytes LE.
** Only the user key is prefix-compressed; the trailer is stored as a
** varint because a key's versions rarely share trailer bytes.
*/
#include "block_builder.h"

#include <assert.h>
#include <string.h>

#include "coding.h"
#include "env.h"
#include "ikey.h"
#include "sst_format.h"

/* The most a block entry header takes: three varint32 and a varint64. */
#define BLOCK_MAX_HEADER (3 * CODING_MAX_VARINT32 + CODING_MAX_VARINT64)

/* ------------------------------------------------------------------ */
/* Byte buffer                                                          */
/* ------------------------------------------------------------------ */

uint8_t *block_buf_grow(lsm_env *pEnv, block_buf *p, size_t n, int *pRc){
  if( *pRc ) return NULL;
  if( p->nAlloc - p->n < n ){
    size_t nNew = p->nAlloc ? p->nAlloc * 2 : 256;
    uint8_t *aNew;
    while( nNew - p->n < n ) nNew *= 2;
    aNew = env_realloc(pEnv, p->a, nNew);
    if( aNew == NULL ){
      *pRc = LSM_NOMEM;
      return NULL;
    }
    p->a = aNew;
    p->nAlloc = nNew;
  }
  return p->a + p->n;
}

void block_buf_varint(lsm_env *pEnv, block_buf *p, uint64_t v, int *pRc){
  uint8_t *pOut = block_buf_reserve(pEnv, p, CODING_MAX_VARINT64, pRc);
  if( pOut ) p->n = (size_t)(coding_put_varint(pOut, v) - p->a);
}

void block_buf_free(lsm_env *pEnv, block_buf *p){
  env_free(pEnv, p->a);
  memset(p, 0, sizeof(*p));
}

/* ------------------------------------------------------------------ */
/* Builder                                                              */
/* ------------------------------------------------------------------ */

void block_builder_init(block_builder *p, lsm_env *pEnv){
  memset(p, 0, sizeof(*p));
  p->pEnv = pEnv;
}

void block_builder_add(block_builder *p, const uint8_t *pIkey, size_t nIkey,
                       const uint8_t *pVal, size_t nVal, int *pRc){
  size_t nUser, nShared = 0, nUnshared;
  uint8_t *pOut;
  if( *pRc ) return;
  assert( !p->bFinished );
  assert( nIkey >= IKEY_TRAILER );
  nUser = ikey_user_len(nIkey);
  if( p->nEntry == 0 || p->nSinceRestart >= SST_RESTART_INTERVAL ){
    uint8_t *pR = block_buf_reserve(p->pEnv, &p->restart, 4, pRc);
    if( pR == NULL ) return;
    coding_put32(pR, (uint32_t)p->out.n);
    p->restart.n += 4;
    p->nSinceRestart = 0;
  }else{
    nShared = block_lcp(p->last.a, pIkey, p->last.n < nUser ? p->last.n : nUser);
  }
  nUnshared = nUser - nShared;
  pOut = block_buf_reserve(p->pEnv, &p->out, BLOCK_MAX_HEADER + nUnshared + nVal, pRc);
  if( pOut == NULL ) return;
  pOut = coding_put_varint(pOut, nShared);
  pOut = coding_put_varint(pOut, nUnshared);
  pOut = coding_put_varint(pOut, nVal);
  pOut = coding_put_varint(pOut, ikey_trailer(pIkey, nIkey));
  memcpy(pOut, pIkey + nShared, nUnshared);
  pOut += nUnshared;
  if( nVal ) memcpy(pOut, pVal, nVal);
  pOut += nVal;
  p->out.n = (size_t)(pOut - p->out.a);

  p->last.n = nShared;
  block_buf_append(p->pEnv, &p->last, pIkey + nShared, nUnshared, pRc);
  p->nSinceRestart++;
  p->nEntry++;
}

size_t block_builder_size(const block_builder *p){
  return p->out.n + p->restart.n + 4;
}

const uint8_t *block_builder_finish(block_builder *p, size_t *pn, int *pRc){
  uint8_t *pOut;
  assert( !p->bFinished );
  block_buf_append(p->pEnv, &p->out, p->restart.a, p->restart.n, pRc);
  pOut = block_buf_reserve(p->pEnv, &p->out, 4, pRc);
  if( pOut == NULL ) return NULL;
  coding_put32(pOut, (uint32_t)(p->restart.n / 4));
  p->out.n += 4;
  p->bFinished = 1;
  *pn = p->out.n;
  return p->out.a;
}

void block_builder_reset(block_builder *p){
  p->out.n = 0;
  p->restart.n = 0;
  p->last.n = 0;
  p->nSinceRestart = 0;
  p->nEntry = 0;
  p->bFinished = 0;
}

void block_builder_clear(block_builder *p){
  block_buf_free(p->pEnv, &p->out);
  block_buf_free(p->pEnv, &p->restart);
  block_buf_free(p->pEnv, &p->last);
}
