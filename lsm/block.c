/*
** block.c — reads SSTable data blocks: views, point lookup, check and the
** iterator (format: see block_builder.c, which writes it).
**
** A block holds entries in internal-key order.  Only the user key is
** prefix-compressed: an entry stores how many leading bytes of the user
** key it shares with the previous entry's, the bytes that differ, and its
** trailer (seq << 8 | type) as a varint, so that a run of versions of one
** user key costs a few bytes each.  Restart points (entries with nothing
** shared) come every SST_RESTART_INTERVAL entries; their offsets end the
** block.
**
** Searching.  Both the point lookup and the iterator's seek binary-search
** the restart points, whose keys can be compared in place, then scan one
** interval (whose cache lines are prefetched together first).  The scan
** compares only what is new in each entry (block_scan_cmp): it tracks m,
** the length of the common prefix of the current key and the target.  An
** entry that shares s bytes with its predecessor is known to be smaller
** than the target when s > m (it keeps the byte where its predecessor
** fell short); otherwise only its own bytes from s on need comparing.  So
** block_get neither allocates nor copies key bytes, and a seek copies each
** entry's new bytes once.
**
** The iterator keeps the current internal key in its own buffer (prefix
** compression means it must be rebuilt entry by entry).  Stepping back
** re-decodes the previous restart interval once and caches it (aPrev).
*/
#include "block.h"

#include <assert.h>
#include <string.h>

#include "block_builder.h"
#include "coding.h"
#include "env.h"
#include "error.h"
#include "ikey.h"
#include "sst_format.h"

/* A key delta of at most this many bytes is copied as exactly this many
** (block_iter_load). */
#define BLOCK_COPY_BYTES 16

/* One decoded entry (pointers into the block). */
typedef struct block_entry {
  uint32_t nShared;          /* user-key bytes shared with the previous entry */
  uint32_t nUnshared;        /* user-key bytes stored here                    */
  uint32_t nVal;             /* value bytes                                   */
  uint64_t trailer;          /* (seq << 8) | type                             */
  const uint8_t *pDelta;     /* the nUnshared user-key bytes                  */
  const uint8_t *pVal;       /* the value                                     */
  uint32_t iNext;            /* offset of the following entry                 */
} block_entry;

/* ------------------------------------------------------------------ */
/* Shared helpers                                                       */
/* ------------------------------------------------------------------ */

/* Internal-key order of (a, ta) and (b, tb): user keys by memcmp (a
** proper prefix first), then trailers descending. */
static inline int block_cmp(const uint8_t *a, size_t na, uint64_t ta,
                            const uint8_t *b, size_t nb, uint64_t tb){
  size_t n = na < nb ? na : nb;
  size_t i = block_lcp(a, b, n);
  if( i < n ) return a[i] < b[i] ? -1 : 1;
  if( na != nb ) return na < nb ? -1 : 1;
  return ta > tb ? -1 : (ta < tb ? 1 : 0);
}

/*
** One step of a scan for the target (pUser, tTarget) that compares only
** what is new in each entry.  *pm is the length of the common prefix of
** the previous entry's user key and pUser; the entry shares s bytes with
** the previous one and adds (pDelta, u).  Returns < 0 if the entry sorts
** before the target, >= 0 if not (0: equal), and updates *pm.
** REQUIRES: the previous entry (if s > 0) sorted before the target.
*/
static inline int block_scan_cmp(size_t *pm, size_t s, const uint8_t *pDelta, size_t u,
                                 uint64_t trailer, const uint8_t *pUser, size_t nUser,
                                 uint64_t tTarget){
  size_t m = *pm, nKey = s + u, nRest;
  if( s > m ){
    /* The entry keeps byte m of its predecessor, where that one was
    ** smaller than pUser: it is smaller too, and m is unchanged. */
    return -1;
  }
  /* Its first s bytes equal pUser's: compare the new bytes. */
  nRest = nUser - s;
  m = s + block_lcp(pDelta, pUser + s, u < nRest ? u : nRest);
  *pm = m;
  if( m == nKey && m == nUser ) return trailer > tTarget ? -1 : (trailer < tTarget ? 1 : 0);
  if( m == nKey ) return -1;                    /* a proper prefix of pUser */
  if( m == nUser ) return 1;                    /* pUser is a proper prefix */
  return pDelta[m - s] < pUser[m] ? -1 : 1;
}

/* Never LSM_OK (said so that the compiler, inlining block_decode, knows
** its outputs are set whenever it returns LSM_OK). */
static int block_corrupt_entry(const block_view *v, uint32_t iOff, const char *zWhat){
  int rc = LSM_CORRUPT_BKPT("%s: block %d: %s at offset %u", v->zPath, v->iBlock, zWhat, iOff);
  return rc ? rc : LSM_CORRUPT;
}

/*
** Decode the entry at iOff, bounds-checked against the entries' end.
**
** Fast path (nearly every entry: keys and values under 128 bytes): the
** three lengths are one byte each and the trailer's varint, at most
** CODING_MAX_VARINT64 bytes, lies inside the entries, so no byte needs
** its own bounds check (coding_get_varint64_within).  It decodes the same
** bytes to the same fields as the general path, and fails where it does.
*/
static inline __attribute__((always_inline))
int block_decode(const block_view *v, uint32_t iOff, block_entry *e){
  const uint8_t *pEnd = v->a + v->nEnd;
  const uint8_t *p;
  if( iOff >= v->nEnd ) return block_corrupt_entry(v, iOff, "entry offset out of range");
  p = v->a + iOff;
  if( pEnd - p >= 3 + CODING_MAX_VARINT64 && (p[0] | p[1] | p[2]) < 0x80 ){
    e->nShared = p[0];
    e->nUnshared = p[1];
    e->nVal = p[2];
    p = coding_get_varint64_within(p + 3, &e->trailer);
  }else{
    p = coding_get_varint32(p, pEnd, &e->nShared);
    if( p ) p = coding_get_varint32(p, pEnd, &e->nUnshared);
    if( p ) p = coding_get_varint32(p, pEnd, &e->nVal);
    if( p ) p = coding_get_varint64(p, pEnd, &e->trailer);
  }
  if( p == NULL || (size_t)(pEnd - p) < (size_t)e->nUnshared + e->nVal ){
    return block_corrupt_entry(v, iOff, "truncated entry");
  }
  e->pDelta = p;
  e->pVal = p + e->nUnshared;
  e->iNext = (uint32_t)(e->pVal + e->nVal - v->a);
  return LSM_OK;
}

static inline uint32_t block_restart(const block_view *v, uint32_t i){
  return coding_get32(v->aRestart + 4 * (size_t)i);
}

/*
** Ask for the cache lines of restart interval i (at most 2 KiB of them) at
** once, before the scan walks it entry by entry: the misses then overlap
** instead of queueing one behind the other.
*/
static inline void block_prefetch_interval(const block_view *v, uint32_t i){
  uint32_t iStart = block_restart(v, i);
  uint32_t iEnd = i + 1 < v->nRestart ? block_restart(v, i + 1) : v->nEnd;
  uint32_t iOff;
  if( iEnd > v->nEnd || iEnd - iStart > 2048 ) iEnd = iStart + 2048 < v->nEnd ? iStart + 2048 : v->nEnd;
  for(iOff = iStart & ~63u; iOff < iEnd; iOff += 64) __builtin_prefetch(v->a + iOff);
}

void block_view_prefetch_restarts(const block_view *v){
  if( v->nRestart <= 8 ){
    /* A few restart keys (a 4 KiB block has about 3): fetch them all now,
    ** in parallel, rather than one per step of the search. */
    uint32_t i;
    for(i = 1; i < v->nRestart; i++){
      uint32_t iOff = block_restart(v, i);
      if( iOff < v->nEnd ) __builtin_prefetch(v->a + iOff);
    }
  }
}

/*
** Binary search: the last restart point whose key is < (pUser, tTarget),
** or restart 0 if none is.  Restart entries must share nothing.
*/
static int block_find_restart(const block_view *v, const uint8_t *pUser, size_t nUser,
                              uint64_t tTarget, uint32_t *piRestart){
  uint32_t lo = 0, hi = v->nRestart - 1;
  assert( v->nRestart > 0 );
  block_view_prefetch_restarts(v);
  while( lo < hi ){
    uint32_t mid = lo + (hi - lo + 1) / 2;
    uint32_t iOff = block_restart(v, mid);
    block_entry e;
    int rc = block_decode(v, iOff, &e);
    if( rc ) return rc;
    if( e.nShared != 0 ) return block_corrupt_entry(v, iOff, "restart entry with a shared prefix");
    if( block_cmp(e.pDelta, e.nUnshared, e.trailer, pUser, nUser, tTarget) < 0 ){
      lo = mid;
    }else{
      hi = mid - 1;
    }
  }
  *piRestart = lo;
  block_prefetch_interval(v, lo);
  return LSM_OK;
}

/* ------------------------------------------------------------------ */
/* Views, point lookup, check                                           */
/* ------------------------------------------------------------------ */

int block_view_init(block_view *v, const uint8_t *a, size_t n, const char *zPath, int iBlock){
  uint32_t nRestart;
  memset(v, 0, sizeof(*v));
  v->zPath = zPath;
  v->iBlock = iBlock;
  if( n < 4 || n > 0xffffffffu ) goto corrupt;
  nRestart = coding_get32(a + n - 4);
  if( nRestart > (n - 4) / 4 ) goto corrupt;
  v->a = a;
  v->nRestart = nRestart;
  v->nEnd = (uint32_t)(n - 4 - 4 * (size_t)nRestart);
  v->aRestart = a + v->nEnd;
  if( (v->nEnd == 0) != (nRestart == 0) ) goto corrupt;
  return LSM_OK;

corrupt:
  v->a = NULL;
  return LSM_CORRUPT_BKPT("%s: block %d: bad restart array", zPath, iBlock);
}

int block_get(const block_view *v, const uint8_t *pUser, size_t nUser, uint64_t maxSeq,
              int *pbFound, uint64_t *pTrailer, const uint8_t **ppVal, size_t *pnVal){
  uint64_t tTarget = ikey_pack_trailer(maxSeq, IKEY_VALUE);
  uint32_t iRestart, iOff;
  size_t m = 0;              /* common prefix of the current key and pUser */
  size_t nPrev = 0;          /* user-key bytes of the previous entry       */
  int bFirst = 1;
  int rc;

  *pbFound = 0;
  if( v->nRestart == 0 ) return LSM_OK;
  rc = block_find_restart(v, pUser, nUser, tTarget, &iRestart);
  if( rc ) return rc;

  for(iOff = block_restart(v, iRestart); iOff < v->nEnd; ){
    block_entry e;
    int c;
    rc = block_decode(v, iOff, &e);
    if( rc ) return rc;
    if( bFirst ? e.nShared != 0 : e.nShared > nPrev ) return block_corrupt_entry(v, iOff, "bad shared prefix");
    c = block_scan_cmp(&m, e.nShared, e.pDelta, e.nUnshared, e.trailer, pUser, nUser, tTarget);
    if( c >= 0 ){
      /* The first entry >= the target: the answer if it is pUser's. */
      if( m == nUser && (size_t)e.nShared + e.nUnshared == nUser ){
        *pbFound = 1;
        *pTrailer = e.trailer;
        *ppVal = e.pVal;
        *pnVal = e.nVal;
      }
      return LSM_OK;
    }
    nPrev = (size_t)e.nShared + e.nUnshared;
    bFirst = 0;
    iOff = e.iNext;
  }
  return LSM_OK;
}

int block_check(lsm_env *pEnv, const block_view *v, uint64_t *pnEntry){
  block_buf prev = {0};      /* previous user key */
  uint64_t prevTrailer = 0;
  uint64_t nEntry = 0;
  uint32_t iOff = 0, iR = 0;
  int rc = LSM_OK;

  for(iR = 0; iR < v->nRestart; iR++){
    uint32_t r = block_restart(v, iR);
    if( r >= v->nEnd || (iR == 0 && r != 0) || (iR > 0 && r <= block_restart(v, iR - 1)) ){
      rc = LSM_CORRUPT_BKPT("%s: block %d: restart point %u out of order or range",
                            v->zPath, v->iBlock, iR);
      goto done;
    }
  }
  iR = 0;
  while( iOff < v->nEnd ){
    block_entry e;
    int type, c;
    rc = block_decode(v, iOff, &e);
    if( rc ) goto done;
    if( iR < v->nRestart && iOff == block_restart(v, iR) ){
      if( e.nShared != 0 ){
        rc = block_corrupt_entry(v, iOff, "restart entry with a shared prefix");
        goto done;
      }
      iR++;
    }else if( iR < v->nRestart && iOff > block_restart(v, iR) ){
      rc = block_corrupt_entry(v, iOff, "restart point inside an entry");
      goto done;
    }
    if( nEntry > 0 ? e.nShared > prev.n : e.nShared != 0 ){
      rc = block_corrupt_entry(v, iOff, "bad shared prefix");
      goto done;
    }
    type = (int)(e.trailer & 0xff);
    if( type != IKEY_VALUE && type != IKEY_DELETE ){
      rc = block_corrupt_entry(v, iOff, "unknown entry type");
      goto done;
    }
    if( nEntry > 0 ){
      /* The new key: prev[0..nShared) + delta; compare from nShared on. */
      size_t nNew = (size_t)e.nShared + e.nUnshared;
      size_t nCmp = e.nUnshared < prev.n - e.nShared ? e.nUnshared : prev.n - e.nShared;
      c = nCmp ? memcmp(e.pDelta, prev.a + e.nShared, nCmp) : 0;
      if( c == 0 ) c = nNew < prev.n ? -1 : (nNew > prev.n ? 1 : 0);
      if( c == 0 ) c = e.trailer < prevTrailer ? 1 : -1;   /* equal trailers: not ascending */
      if( c <= 0 ){
        rc = block_corrupt_entry(v, iOff, "keys out of order");
        goto done;
      }
    }
    prev.n = e.nShared;
    block_buf_append(pEnv, &prev, e.pDelta, e.nUnshared, &rc);
    if( rc ) goto done;
    prevTrailer = e.trailer;
    nEntry++;
    iOff = e.iNext;
  }
  if( iR != v->nRestart ){
    rc = LSM_CORRUPT_BKPT("%s: block %d: restart point %u is not an entry", v->zPath, v->iBlock, iR);
  }

done:
  block_buf_free(pEnv, &prev);
  if( rc == LSM_OK && pnEntry ) *pnEntry = nEntry;
  return rc;
}

/* ------------------------------------------------------------------ */
/* Iterator                                                             */
/* ------------------------------------------------------------------ */

static void block_iter_fail(block_iter *p, int rc){
  p->rc = rc;
  p->bValid = 0;
  p->iPrev = -1;
}

static int block_iter_key_room(block_iter *p, size_t n){
  if( n > p->nKeyAlloc ){
    size_t nNew = p->nKeyAlloc * 2;
    uint8_t *aNew;
    while( nNew < n ) nNew *= 2;
    if( p->aKey == p->aKeyInline ){
      aNew = env_malloc(p->pEnv, nNew);
      if( aNew ) memcpy(aNew, p->aKey, p->nKey);
    }else{
      aNew = env_realloc(p->pEnv, p->aKey, nNew);
    }
    if( aNew == NULL ) return LSM_NOMEM;
    p->aKey = aNew;
    p->nKeyAlloc = nNew;
  }
  return LSM_OK;
}

/*
** Make the entry at iOff current.  Its shared prefix comes from the key
** now in aKey, of which nPrevUser user-key bytes are valid (0: none, so
** the entry must share nothing).
*/
static inline __attribute__((always_inline))
int block_iter_load(block_iter *p, uint32_t iOff, size_t nPrevUser){
  block_entry e;
  size_t nUser;
  int rc = block_decode(&p->v, iOff, &e);
  if( rc ) return rc;
  if( e.nShared > nPrevUser ) return block_corrupt_entry(&p->v, iOff, "bad shared prefix");
  nUser = (size_t)e.nShared + e.nUnshared;
  if( nUser + IKEY_TRAILER > p->nKeyAlloc ){
    rc = block_iter_key_room(p, nUser + IKEY_TRAILER);
    if( rc ) return rc;
  }
  if( e.nUnshared <= BLOCK_COPY_BYTES && e.nShared + BLOCK_COPY_BYTES <= p->nKeyAlloc
   && (size_t)(p->v.aRestart + 4 * (size_t)p->v.nRestart + 4 - e.pDelta) >= BLOCK_COPY_BYTES ){
    /* A short delta (nearly every entry of a scan: a few bytes) is copied
    ** as a fixed BLOCK_COPY_BYTES bytes, two moves instead of a call to
    ** memcpy; the bytes read past it are still the block's (its restart
    ** array and count end it), those written past the key are aKey's
    ** spare room, overwritten by the trailer or unused. */
    memcpy(p->aKey + e.nShared, e.pDelta, BLOCK_COPY_BYTES);
  }else{
    memcpy(p->aKey + e.nShared, e.pDelta, e.nUnshared);
  }
  coding_put64(p->aKey + nUser, e.trailer);
  p->nKey = nUser + IKEY_TRAILER;
  p->iCur = iOff;
  p->iNext = e.iNext;
  p->pVal = e.pVal;
  p->nVal = e.nVal;
  p->bValid = 1;
  return LSM_OK;
}

/* Append the current entry to the reverse cache. */
static int block_iter_push(block_iter *p){
  block_prev *pPrev;
  int rc = LSM_OK;
  if( p->nPrev == p->nPrevAlloc ){
    int nNew = p->nPrevAlloc ? p->nPrevAlloc * 2 : SST_RESTART_INTERVAL;
    block_prev *aNew = env_realloc(p->pEnv, p->aPrev, sizeof(block_prev) * (size_t)nNew);
    if( aNew == NULL ) return LSM_NOMEM;
    p->aPrev = aNew;
    p->nPrevAlloc = nNew;
  }
  pPrev = &p->aPrev[p->nPrev];
  pPrev->iKey = p->prevKey.n;
  block_buf_append(p->pEnv, &p->prevKey, p->aKey, p->nKey, &rc);
  if( rc ) return rc;
  pPrev->iOff = p->iCur;
  pPrev->iNext = p->iNext;
  pPrev->nKey = p->nKey;
  pPrev->pVal = p->pVal;
  pPrev->nVal = p->nVal;
  p->nPrev++;
  return LSM_OK;
}

/* Make cached entry i current. */
static void block_iter_from_cache(block_iter *p, int i){
  const block_prev *pPrev = &p->aPrev[i];
  int rc = block_iter_key_room(p, pPrev->nKey);
  if( rc ){
    block_iter_fail(p, rc);
    return;
  }
  memcpy(p->aKey, p->prevKey.a + pPrev->iKey, pPrev->nKey);
  p->nKey = pPrev->nKey;
  p->iCur = pPrev->iOff;
  p->iNext = pPrev->iNext;
  p->pVal = pPrev->pVal;
  p->nVal = pPrev->nVal;
  p->iPrev = i;
  p->bValid = 1;
}

/*
** Decode the entries from restart offset iStart up to iStop (an entry
** boundary, or nEnd) into the cache; the last of them becomes current.
*/
static void block_iter_scan_back(block_iter *p, uint32_t iStart, uint32_t iStop){
  uint32_t iOff = iStart;
  size_t nPrevUser = 0;
  int rc = LSM_OK;
  p->nPrev = 0;
  p->prevKey.n = 0;
  p->iPrev = -1;
  do{
    rc = block_iter_load(p, iOff, nPrevUser);
    if( rc == LSM_OK ) rc = block_iter_push(p);
    if( rc == LSM_OK && p->iNext > iStop ){
      rc = block_corrupt_entry(&p->v, iOff, "entry crosses a restart point");
    }
    if( rc ){
      block_iter_fail(p, rc);
      return;
    }
    nPrevUser = p->nKey - IKEY_TRAILER;
    iOff = p->iNext;
  }while( iOff < iStop );
  p->iPrev = p->nPrev - 1;
}

void block_iter_init(block_iter *p, lsm_env *pEnv){
  memset(p, 0, sizeof(*p));
  p->pEnv = pEnv;
  p->aKey = p->aKeyInline;
  p->nKeyAlloc = sizeof(p->aKeyInline);
  p->iPrev = -1;
}

void block_iter_set(block_iter *p, const block_view *v){
  p->v = *v;
  p->bValid = 0;
  p->rc = LSM_OK;
  p->iPrev = -1;
}

void block_iter_first(block_iter *p){
  int rc;
  p->iPrev = -1;
  p->bValid = 0;
  if( p->rc || p->v.nEnd == 0 ) return;
  rc = block_iter_load(p, 0, 0);
  if( rc ) block_iter_fail(p, rc);
}

void block_iter_last(block_iter *p){
  p->iPrev = -1;
  p->bValid = 0;
  if( p->rc || p->v.nEnd == 0 ) return;
  block_iter_scan_back(p, block_restart(&p->v, p->v.nRestart - 1), p->v.nEnd);
}

/*
** The scan decodes and compares each entry in place (block_scan_cmp) and
** builds a key only for the entry it stops at.  That entry's shared prefix
** is the target's own first bytes: block_scan_cmp returns "before the
** target" for any entry that shares more with its predecessor than the
** predecessor shares with the target.
*/
void block_iter_seek(block_iter *p, const uint8_t *pIkey, size_t nIkey){
  size_t nUser = ikey_user_len(nIkey);
  uint64_t tTarget = ikey_trailer(pIkey, nIkey);
  uint32_t iRestart;
  int rc;
  assert( nIkey >= IKEY_TRAILER );
  p->iPrev = -1;
  p->bValid = 0;
  if( p->rc || p->v.nEnd == 0 ) return;
  rc = block_find_restart(&p->v, pIkey, nUser, tTarget, &iRestart);
  if( rc == LSM_OK ){
    uint32_t iOff = block_restart(&p->v, iRestart);
    size_t m = 0, nPrevUser = 0;
    int bFirst = 1;
    block_entry e;
    while( (rc = block_decode(&p->v, iOff, &e)) == LSM_OK ){
      if( bFirst ? e.nShared != 0 : e.nShared > nPrevUser ){
        rc = block_corrupt_entry(&p->v, iOff, "bad shared prefix");
        break;
      }
      if( block_scan_cmp(&m, e.nShared, e.pDelta, e.nUnshared, e.trailer,
                         pIkey, nUser, tTarget) >= 0 ){
        /* The first entry >= the target. */
        size_t nKey = (size_t)e.nShared + e.nUnshared;
        if( nKey + IKEY_TRAILER > p->nKeyAlloc ){
          rc = block_iter_key_room(p, nKey + IKEY_TRAILER);
          if( rc ) break;
        }
        memcpy(p->aKey, pIkey, e.nShared);
        memcpy(p->aKey + e.nShared, e.pDelta, e.nUnshared);
        coding_put64(p->aKey + nKey, e.trailer);
        p->nKey = nKey + IKEY_TRAILER;
        p->iCur = iOff;
        p->iNext = e.iNext;
        p->pVal = e.pVal;
        p->nVal = e.nVal;
        p->bValid = 1;
        return;
      }
      if( e.iNext >= p->v.nEnd ) return;     /* every key is smaller */
      nPrevUser = (size_t)e.nShared + e.nUnshared;
      iOff = e.iNext;
      bFirst = 0;
    }
  }
  block_iter_fail(p, rc);
}

void block_iter_next(block_iter *p){
  int rc;
  assert( p->bValid );
  if( p->iPrev >= 0 && p->iPrev + 1 < p->nPrev ){
    block_iter_from_cache(p, p->iPrev + 1);
    return;
  }
  p->iPrev = -1;
  if( p->iNext >= p->v.nEnd ){
    p->bValid = 0;
    return;
  }
  rc = block_iter_load(p, p->iNext, p->nKey - IKEY_TRAILER);
  if( rc ) block_iter_fail(p, rc);
}

void block_iter_prev(block_iter *p){
  uint32_t iTarget, lo, hi;
  assert( p->bValid );
  if( p->iPrev > 0 ){
    block_iter_from_cache(p, p->iPrev - 1);
    return;
  }
  iTarget = p->iCur;
  if( iTarget == 0 ){
    p->iPrev = -1;
    p->bValid = 0;          /* stepped off the front */
    return;
  }
  /* The last restart point before the current entry. */
  lo = 0;
  hi = p->v.nRestart - 1;
  while( lo < hi ){
    uint32_t mid = lo + (hi - lo + 1) / 2;
    if( block_restart(&p->v, mid) < iTarget ) lo = mid;
    else hi = mid - 1;
  }
  if( block_restart(&p->v, lo) >= iTarget ){
    block_iter_fail(p, block_corrupt_entry(&p->v, iTarget, "no restart point before entry"));
    return;
  }
  block_iter_scan_back(p, block_restart(&p->v, lo), iTarget);
}

void block_iter_clear(block_iter *p){
  if( p->aKey != p->aKeyInline ) env_free(p->pEnv, p->aKey);
  env_free(p->pEnv, p->aPrev);
  block_buf_free(p->pEnv, &p->prevKey);
  p->aKey = p->aKeyInline;
  p->nKeyAlloc = sizeof(p->aKeyInline);
  p->aPrev = NULL;
  p->nPrev = p->nPrevAlloc = 0;
  p->iPrev = -1;
  p->bValid = 0;
}

/* Unpositioned, the block forgotten (the caller may release it), and
** buffers past ITER_PARK_KEEP_BYTES freed (iter.h, xPark). */
void block_iter_park(block_iter *p){
  size_t nHeld = (p->aKey != p->aKeyInline ? p->nKeyAlloc : 0) + p->prevKey.nAlloc
               + (size_t)p->nPrevAlloc * sizeof(block_prev);
  if( nHeld > ITER_PARK_KEEP_BYTES ) block_iter_clear(p);
  memset(&p->v, 0, sizeof(p->v));
  p->nKey = 0;               /* no key: the next load copies no prefix */
  p->bValid = 0;
  p->iPrev = -1;
  p->nPrev = 0;
}

/* ---- the standalone iterator's iter.h methods ---- */

static void block_x_first(iter *p){ block_iter_first((block_iter*)p); }
static void block_x_last(iter *p){ block_iter_last((block_iter*)p); }
static void block_x_seek(iter *p, const uint8_t *k, size_t n){ block_iter_seek((block_iter*)p, k, n); }
static void block_x_next(iter *p){ block_iter_next((block_iter*)p); }
static void block_x_prev(iter *p){ block_iter_prev((block_iter*)p); }
static const uint8_t *block_x_step(iter *p, size_t *pn){
  block_iter *b = (block_iter*)p;
  block_iter_next(b);
  *pn = b->nKey;
  return b->bValid ? b->aKey : NULL;
}
static int block_x_valid(iter *p){ return ((block_iter*)p)->bValid; }
static const uint8_t *block_x_key(iter *p, size_t *pn){
  block_iter *b = (block_iter*)p;
  *pn = b->nKey;
  return b->aKey;
}
static const uint8_t *block_x_value(iter *p, size_t *pn){
  block_iter *b = (block_iter*)p;
  *pn = b->nVal;
  return b->pVal;
}
static int block_x_status(iter *p){ return ((block_iter*)p)->rc; }
static void block_x_close(iter *p){
  block_iter *b = (block_iter*)p;
  lsm_env *pEnv = b->pEnv;
  block_iter_clear(b);
  env_free(pEnv, (void*)b->pOwned);
  env_free(pEnv, b);
}

static const iter_methods block_iter_methods = {
  block_x_first, block_x_last, block_x_seek, block_x_next, block_x_prev,
  block_x_valid, block_x_key, block_x_value, block_x_status, block_x_close,
  NULL,                /* xPark: the block is the iterator's own copy */
  block_x_step,
  NULL                 /* xPrefetch: the block is already in memory */
};

iter *block_iter_new(lsm_env *pEnv, const uint8_t *a, size_t n, int *pRc){
  block_iter *p = NULL;
  uint8_t *pCopy = NULL;
  block_view v;
  int rc = LSM_OK;
  p = env_malloc_rc(pEnv, sizeof(*p), &rc);
  pCopy = env_malloc_rc(pEnv, n ? n : 1, &rc);
  if( rc ) goto fail;
  if( n ) memcpy(pCopy, a, n);
  rc = block_view_init(&v, pCopy, n, "block", 0);
  if( rc ) goto fail;
  block_iter_init(p, pEnv);
  p->base.pMethods = &block_iter_methods;
  p->pOwned = pCopy;
  block_iter_set(p, &v);
  return &p->base;

fail:
  env_free(pEnv, pCopy);
  env_free(pEnv, p);
  *pRc = rc;
  return NULL;
}
