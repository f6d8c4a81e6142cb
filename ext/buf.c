/*
** buf.c — the growable byte buffer the ext/ encoders append to.
**
** Usage (what it serves):
**
**     INSERT INTO kv VALUES ('apple', 'red');
**         -- vtab.c encodes the key into one ext_buf (keycodec.c) and the
**         -- value columns into another (record.c), then hands both to the
**         -- engine as pointer + length.
**
** An ext_buf starts zeroed ({0}); ext_buf_reserve grows it geometrically
** with sqlite3_realloc64, so appends are amortised O(1), and ext_buf_free
** releases it.  Memory comes from SQLite's allocator because the buffer
** belongs to the SQLite side of the extension (its bytes are copied by the
** engine before lsm_put returns).  A failed allocation leaves the buffer
** as it was and returns SQLITE_NOMEM.
*/
#include "ext.h"

#include <string.h>

#define BUF_MIN_ALLOC 64   /* first allocation, bytes */

int ext_buf_reserve(ext_buf *pBuf, size_t nMore){
  size_t nNeed;
  size_t nNew;
  uint8_t *pNew;
  if( nMore > SIZE_MAX - pBuf->n ) return SQLITE_NOMEM;
  nNeed = pBuf->n + nMore;
  if( nNeed <= pBuf->nAlloc ) return SQLITE_OK;
  nNew = pBuf->nAlloc ? pBuf->nAlloc : BUF_MIN_ALLOC;
  while( nNew < nNeed ){
    if( nNew > SIZE_MAX / 2 ){ nNew = nNeed; break; }
    nNew *= 2;
  }
  pNew = sqlite3_realloc64(pBuf->p, (sqlite3_uint64)nNew);
  if( pNew == NULL ) return SQLITE_NOMEM;
  pBuf->p = pNew;
  pBuf->nAlloc = nNew;
  return SQLITE_OK;
}

int ext_buf_append(ext_buf *pBuf, const void *p, size_t n){
  int rc;
  if( n == 0 ) return SQLITE_OK;
  rc = ext_buf_reserve(pBuf, n);
  if( rc != SQLITE_OK ) return rc;
  memcpy(pBuf->p + pBuf->n, p, n);
  pBuf->n += n;
  return SQLITE_OK;
}

void ext_buf_free(ext_buf *pBuf){
  sqlite3_free(pBuf->p);
  memset(pBuf, 0, sizeof(*pBuf));
}
