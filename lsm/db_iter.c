/*
** db_iter.c — user keys at a snapshot over a stream of versions.
**
** The internal iterator yields every version of every key, newest first
** within a key (ikey.h).  This file follows LevelDB's DBIter:
**
**   Forward: the internal iterator rests ON the newest visible version of
**   the current key, so key and value are borrowed straight from it (the
**   key as find_next found it, pCur, so that reading it and stepping past
**   it ask the internal iterator nothing: a scan's rows cost one merge
**   key call less each).  To
**   advance, the current user key is saved and every entry with a user key
**   <= it is skipped; the first visible entry after that is either a value
**   (the new current entry) or a tombstone (its key is saved and skipped
**   too).
**
**   Reverse: the internal iterator rests just BEFORE the first version of
**   the current key (on the last entry of a smaller key, or invalid).  To
**   step back, entries are read backwards: for each user key, versions
**   come oldest first, so the last visible one read before the user key
**   changes is the newest; it is copied into aKey/aVal (the internal
**   iterator has moved past it).  A key whose newest visible version is a
**   tombstone is dropped.
**
**   Switching from forward to reverse steps the internal iterator back
**   until it leaves the current key; from reverse to forward steps it into
**   the current key's versions and skips them as a normal advance does.
**
** Bounds are checked on user keys: forward stops at the first key above
** the upper bound, reverse at the first below the lower bound; seeks start
** inside the bounds (an open bound is a seek to it that skips its key).
*/
#include "db_iter.h"

#include <assert.h>
#include <string.h>

#include "env.h"
#include "ikey.h"

/* A growable byte buffer. */
typedef struct byte_buf {
  uint8_t *a;                   /* bytes; owned                          */
  size_t n;                     /* bytes in use                          */
  size_t nAlloc;                /* bytes allocated                       */
} byte_buf;

/* One bound of the range. */
typedef struct key_bound {
  int bSet;                     /* 0: unbounded on this side             */
  int bOpen;                    /* 1: the bound itself is excluded       */
  byte_buf key;                 /* the bound (a user key)                */
} key_bound;

struct db_iter {
  lsm_env *pEnv;                /* allocator; borrowed                   */
  iter *pIter;                  /* internal iterator; owned              */
  uint64_t maxSeq;              /* versions <= this are visible          */
  uint64_t maxBatchSeq;         /* and [IKEY_BATCH_SEQ, this]; 0: none   */
  uint64_t hiSeq;               /* largest visible sequence number       */
  int bValid;                   /* positioned on a key                   */
  int bReverse;                 /* direction of the last move            */
  const uint8_t *pCur;          /* forward, bValid: the current user key,
                                ** borrowed from the internal iterator
                                ** (valid until it moves)               */
  size_t nCur;                  /* length of pCur                        */
  byte_buf key;                 /* forward: key to skip; reverse: current key */
  byte_buf val;                 /* reverse: current value                */
  byte_buf seek;                /* scratch for internal seek keys        */
  key_bound lower;              /* lower bound                           */
  key_bound upper;              /* upper bound                           */
};

/* ---- helpers ---- */

/* Room for n bytes.  The buffer is allocated even for n == 0, so that a
** borrowed key is never a NULL pointer. */
static int buf_reserve(lsm_env *pEnv, byte_buf *pBuf, size_t n){
  if( n > pBuf->nAlloc || pBuf->a == NULL ){
    size_t nNew = pBuf->nAlloc ? pBuf->nAlloc : 64;
    uint8_t *aNew;
    while( nNew < n ) nNew *= 2;
    aNew = (uint8_t*)env_realloc(pEnv, pBuf->a, nNew);
    if( aNew == NULL ) return LSM_NOMEM;
    pBuf->a = aNew;
    pBuf->nAlloc = nNew;
  }
  return LSM_OK;
}

static int buf_set(lsm_env *pEnv, byte_buf *pBuf, const void *p, size_t n){
  int rc = buf_reserve(pEnv, pBuf, n);
  if( rc == LSM_OK ){
    if( n ) memcpy(pBuf->a, p, n);
    pBuf->n = n;
  }
  return rc;
}

/*
** Copy the current user key into p->key before the internal iterator
** steps past it: once per row of a scan.  A key of 8 to 32 bytes (most
** keys) is copied as 8-byte words into a buffer known to hold it, the
** last word ending at the key's last byte (no byte outside the key is
** read); others go through buf_set and memcpy.
*/
static inline int save_key(db_iter *p, const uint8_t *pKey, size_t nKey){
  uint8_t *a = p->key.a;
  if( nKey >= 8 && nKey <= 32 && nKey <= p->key.nAlloc && a != NULL ){
    size_t i;
    for(i = 0; i + 8 < nKey; i += 8) memcpy(a + i, pKey + i, 8);
    memcpy(a + nKey - 8, pKey + nKey - 8, 8);
    p->key.n = nKey;
    return LSM_OK;
  }
  return buf_set(p->pEnv, &p->key, pKey, nKey);
}

/*
** Whether user keys a and b are the same.  A forward walk needs no more
** than this to tell the key it skips from the next one: every entry the
** internal iterator reaches after p->key was saved has a user key >= it
** (internal-key order; a seek to an open bound starts at or after the
** bound; a switch from reverse starts on the current key's first
** version), so a different key is a greater one.  Keys of 8 bytes or
** more compare as 8-byte words, the last one ending at the last byte (no
** byte loop, no byte swap: an order needs both).
*/
static inline int same_user_key(const uint8_t *a, size_t na, const uint8_t *b, size_t nb){
  uint64_t x, y;
  size_t i;
  if( na != nb ) return 0;
  if( na < 8 ){
    for(i = 0; i < na; i++) if( a[i] != b[i] ) return 0;
    return 1;
  }
  for(i = 0; i + 8 < na; i += 8){
    memcpy(&x, a + i, 8);
    memcpy(&y, b + i, 8);
    if( x != y ) return 0;
  }
  memcpy(&x, a + na - 8, 8);
  memcpy(&y, b + na - 8, 8);
  return x == y;
}

static int is_visible(const db_iter *p, uint64_t seq){
  return seq <= p->maxSeq || (seq >= IKEY_BATCH_SEQ && seq <= p->maxBatchSeq);
}

/* Whether a user key lies beyond the upper / lower bound. */
static int above_upper(const db_iter *p, const uint8_t *pKey, size_t nKey){
  int c;
  if( !p->upper.bSet ) return 0;
  c = ikey_compare_user(pKey, nKey, p->upper.key.a, p->upper.key.n);
  return c > 0 || (c == 0 && p->upper.bOpen);
}
static int below_lower(const db_iter *p, const uint8_t *pKey, size_t nKey){
  int c;
  if( !p->lower.bSet ) return 0;
  c = ikey_compare_user(pKey, nKey, p->lower.key.a, p->lower.key.n);
  return c < 0 || (c == 0 && p->lower.bOpen);
}

/* Position the internal iterator at the first entry >= (user key, seq, type). */
static int seek_internal(db_iter *p, const void *pKey, size_t nKey,
                             uint64_t seq, int type){
  int rc = buf_reserve(p->pEnv, &p->seek, nKey + IKEY_TRAILER);
  if( rc != LSM_OK ) return rc;
  ikey_build(p->seek.a, pKey, nKey, seq, type);
  iter_seek(p->pIter, p->seek.a, nKey + IKEY_TRAILER);
  return LSM_OK;
}

/* The internal iterator is done or failed: become invalid, return status. */
static int stop_at_end(db_iter *p){
  p->bValid = 0;
  return iter_status(p->pIter);
}

/*
** Forward: from the internal position, whose key is pIkey (NULL: the
** internal iterator is invalid), find the first visible value of a user
** key that is not skipped (bSkipping: keys <= p->key are skipped) and
** not beyond the upper bound.  Entries are stepped over with iter_step,
** one call per entry.
*/
static int find_next_from(db_iter *p, int bSkipping, const uint8_t *pIkey, size_t nIkey){
  iter *pIter = p->pIter;
  assert( !p->bReverse );
  for(; pIkey; pIkey = iter_step(pIter, &nIkey)){
    size_t nUser = ikey_user_len(nIkey);
    if( !bSkipping || !same_user_key(pIkey, nUser, p->key.a, p->key.n) ){
      uint64_t trailer = ikey_trailer(pIkey, nIkey);
      if( above_upper(p, pIkey, nUser) ) break;
      if( is_visible(p, trailer >> 8) ){
        if( (trailer & 0xff) == IKEY_DELETE ){
          /* Hide this key: every older version of it is skipped. */
          int rc = buf_set(p->pEnv, &p->key, pIkey, nUser);
          if( rc != LSM_OK ){ p->bValid = 0; return rc; }
          bSkipping = 1;
        }else{
          assert( !below_lower(p, pIkey, nUser) );
          p->pCur = pIkey;
          p->nCur = nUser;
          p->bValid = 1;
          return LSM_OK;
        }
      }
    }
  }
  return stop_at_end(p);
}

/* find_next_from the internal iterator's current position. */
static int find_next(db_iter *p, int bSkipping){
  size_t nIkey = 0;
  const uint8_t *pIkey = iter_valid(p->pIter) ? iter_key(p->pIter, &nIkey) : NULL;
  return find_next_from(p, bSkipping, pIkey, nIkey);
}

/*
** Reverse: from the internal position (at or before the last version of
** the wanted key), collect the newest visible version of the greatest
** user key that has a live one, not below the lower bound.
*/
static int find_prev(db_iter *p){
  iter *pIter = p->pIter;
  int bFound = 0;               /* aKey/aVal hold a live candidate */
  assert( p->bReverse );
  while( iter_valid(pIter) ){
    size_t nIkey;
    const uint8_t *pIkey = iter_key(pIter, &nIkey);
    size_t nUser = ikey_user_len(nIkey);
    uint64_t trailer = ikey_trailer(pIkey, nIkey);
    if( bFound && ikey_compare_user(pIkey, nUser, p->key.a, p->key.n) < 0 ) break;
    if( below_lower(p, pIkey, nUser) ) break;
    if( is_visible(p, trailer >> 8) ){
      if( (trailer & 0xff) == IKEY_DELETE ){
        bFound = 0;
      }else{
        size_t nVal;
        const uint8_t *pVal = iter_value(pIter, &nVal);
        int rc = buf_set(p->pEnv, &p->key, pIkey, nUser);
        if( rc == LSM_OK ) rc = buf_set(p->pEnv, &p->val, pVal, nVal);
        if( rc != LSM_OK ){ p->bValid = 0; return rc; }
        bFound = 1;
      }
    }
    iter_prev(pIter);
  }
  if( !iter_valid(pIter) ){
    int rc = iter_status(pIter);
    if( rc != LSM_OK ){ p->bValid = 0; return rc; }
  }
  p->bValid = bFound;
  return LSM_OK;
}

/* Forward from the first key >= pKey (bOpen: > pKey), within bounds. */
static int seek_ge_bounded(db_iter *p, const void *pKey, size_t nKey, int bOpen){
  int rc;
  if( p->lower.bSet ){
    int c = ikey_compare_user(pKey, nKey, p->lower.key.a, p->lower.key.n);
    if( c < 0 || (c == 0 && p->lower.bOpen) ){
      pKey = p->lower.key.a;
      nKey = p->lower.key.n;
      bOpen = p->lower.bOpen;
    }
  }
  p->bReverse = 0;
  /* Versions newer than hiSeq are invisible: start below them. */
  rc = seek_internal(p, pKey, nKey, p->hiSeq, IKEY_VALUE);
  if( rc == LSM_OK && bOpen ) rc = buf_set(p->pEnv, &p->key, pKey, nKey);
  if( rc != LSM_OK ){ p->bValid = 0; return rc; }
  return find_next(p, bOpen);
}

/* Reverse from the last key <= pKey (bOpen: < pKey), within bounds. */
static int seek_le_bounded(db_iter *p, const void *pKey, size_t nKey, int bOpen){
  iter *pIter = p->pIter;
  int rc;
  if( p->upper.bSet ){
    int c = ikey_compare_user(pKey, nKey, p->upper.key.a, p->upper.key.n);
    if( c > 0 || (c == 0 && p->upper.bOpen) ){
      pKey = p->upper.key.a;
      nKey = p->upper.key.n;
      bOpen = p->upper.bOpen;
    }
  }
  p->bReverse = 1;
  if( bOpen ){
    /* The first version of pKey: what precedes it is < pKey. */
    rc = seek_internal(p, pKey, nKey, IKEY_MAX_SEQ, IKEY_VALUE);
  }else{
    /* The last possible version of pKey, then past it if present. */
    rc = seek_internal(p, pKey, nKey, 0, IKEY_DELETE);
    while( rc == LSM_OK && iter_valid(pIter) ){
      size_t nIkey;
      const uint8_t *pIkey = iter_key(pIter, &nIkey);
      if( ikey_compare_user(pIkey, ikey_user_len(nIkey), pKey, nKey) > 0 ) break;
      iter_next(pIter);
    }
  }
  if( rc != LSM_OK ){ p->bValid = 0; return rc; }
  /* Step onto the last entry < (or <=) pKey. */
  if( iter_valid(pIter) ){
    iter_prev(pIter);
  }else{
    rc = iter_status(pIter);
    if( rc != LSM_OK ){ p->bValid = 0; return rc; }
    iter_last(pIter);
  }
  return find_prev(p);
}

/* ---- public interface ---- */

int db_iter_new(lsm_env *pEnv, iter *pInternal, uint64_t maxSeq, uint64_t maxBatchSeq,
                db_iter **ppIter){
  int rc = LSM_OK;
  db_iter *p = (db_iter*)env_malloc_rc(pEnv, sizeof(db_iter), &rc);
  *ppIter = NULL;
  if( p == NULL ){
    iter_close(pInternal);
    return rc;
  }
  memset(p, 0, sizeof(*p));
  p->pEnv = pEnv;
  p->pIter = pInternal;
  db_iter_reset(p, maxSeq, maxBatchSeq);
  *ppIter = p;
  return LSM_OK;
}

void db_iter_reset(db_iter *p, uint64_t maxSeq, uint64_t maxBatchSeq){
  p->maxSeq = maxSeq;
  p->maxBatchSeq = maxBatchSeq;
  p->hiSeq = maxBatchSeq > maxSeq ? maxBatchSeq : maxSeq;
  if( p->hiSeq > IKEY_MAX_SEQ ) p->hiSeq = IKEY_MAX_SEQ;
  p->bValid = 0;
  p->bReverse = 0;
  p->lower.bSet = 0;
  p->upper.bSet = 0;
}

/* Free a buffer past ITER_PARK_KEEP_BYTES (a long key or value copied). */
static void buf_park(lsm_env *pEnv, byte_buf *pBuf){
  if( pBuf->nAlloc > ITER_PARK_KEEP_BYTES ){
    env_free(pEnv, pBuf->a);
    memset(pBuf, 0, sizeof(*pBuf));
  }
}

void db_iter_park(db_iter *p){
  iter_park(p->pIter);
  buf_park(p->pEnv, &p->key);
  buf_park(p->pEnv, &p->val);
  buf_park(p->pEnv, &p->seek);
  buf_park(p->pEnv, &p->lower.key);
  buf_park(p->pEnv, &p->upper.key);
  p->lower.bSet = 0;
  p->upper.bSet = 0;
  p->bValid = 0;
}

int db_iter_status(const db_iter *p){
  return iter_status(p->pIter);
}

int db_iter_bounds(db_iter *p, const void *pLower, size_t nLower, int bLowerOpen,
                   const void *pUpper, size_t nUpper, int bUpperOpen){
  int rc = LSM_OK;
  p->bValid = 0;
  p->lower.bSet = 0;
  p->upper.bSet = 0;
  if( pLower ){
    rc = buf_set(p->pEnv, &p->lower.key, pLower, nLower);
    p->lower.bSet = (rc == LSM_OK);
    p->lower.bOpen = bLowerOpen;
  }
  if( pUpper && rc == LSM_OK ){
    rc = buf_set(p->pEnv, &p->upper.key, pUpper, nUpper);
    p->upper.bSet = (rc == LSM_OK);
    p->upper.bOpen = bUpperOpen;
  }
  if( rc != LSM_OK ) p->lower.bSet = 0;
  return rc;
}

int db_iter_first(db_iter *p){
  if( p->lower.bSet ) return seek_ge_bounded(p, p->lower.key.a, p->lower.key.n, p->lower.bOpen);
  p->bReverse = 0;
  iter_first(p->pIter);
  return find_next(p, 0);
}

int db_iter_last(db_iter *p){
  if( p->upper.bSet ) return seek_le_bounded(p, p->upper.key.a, p->upper.key.n, p->upper.bOpen);
  p->bReverse = 1;
  iter_last(p->pIter);
  return find_prev(p);
}

int db_iter_seek_ge(db_iter *p, const void *pKey, size_t nKey){
  return seek_ge_bounded(p, pKey, nKey, 0);
}

int db_iter_seek_le(db_iter *p, const void *pKey, size_t nKey){
  return seek_le_bounded(p, pKey, nKey, 0);
}

int db_iter_next(db_iter *p){
  iter *pIter = p->pIter;
  assert( p->bValid );
  if( p->bReverse ){
    /* The internal iterator is just before the current key's versions:
    ** step into them; p->key already names the key to skip. */
    p->bReverse = 0;
    if( iter_valid(pIter) ){
      iter_next(pIter);
    }else{
      int rc = iter_status(pIter);
      if( rc != LSM_OK ){ p->bValid = 0; return rc; }
      iter_first(pIter);
    }
  }else{
    size_t nIkey = 0;
    const uint8_t *pIkey;
    int rc = save_key(p, p->pCur, p->nCur);
    if( rc != LSM_OK ){ p->bValid = 0; return rc; }
    pIkey = iter_step(pIter, &nIkey);
    return find_next_from(p, 1, pIkey, nIkey);
  }
  return find_next(p, 1);
}

int db_iter_prev(db_iter *p){
  iter *pIter = p->pIter;
  assert( p->bValid );
  if( !p->bReverse ){
    /* Step back out of the current key's versions. */
    size_t nIkey;
    const uint8_t *pIkey = iter_key(pIter, &nIkey);
    int rc = buf_set(p->pEnv, &p->key, pIkey, ikey_user_len(nIkey));
    if( rc != LSM_OK ){ p->bValid = 0; return rc; }
    p->bReverse = 1;
    for(;;){
      iter_prev(pIter);
      if( !iter_valid(pIter) ) return stop_at_end(p);
      pIkey = iter_key(pIter, &nIkey);
      if( ikey_compare_user(pIkey, ikey_user_len(nIkey), p->key.a, p->key.n) < 0 ) break;
    }
  }
  return find_prev(p);
}

int db_iter_valid(const db_iter *p){
  return p->bValid;
}

const uint8_t *db_iter_key(const db_iter *p, size_t *pnKey){
  assert( p->bValid );
  if( p->bReverse ){
    *pnKey = p->key.n;
    return p->key.a;
  }
  *pnKey = p->nCur;
  return p->pCur;
}

const uint8_t *db_iter_value(const db_iter *p, size_t *pnVal){
  assert( p->bValid );
  if( p->bReverse ){
    *pnVal = p->val.n;
    return p->val.a;
  }
  return iter_value(p->pIter, pnVal);
}

void db_iter_close(db_iter *p){
  if( p == NULL ) return;
  iter_close(p->pIter);
  env_free(p->pEnv, p->key.a);
  env_free(p->pEnv, p->val.a);
  env_free(p->pEnv, p->seek.a);
  env_free(p->pEnv, p->lower.key.a);
  env_free(p->pEnv, p->upper.key.a);
  env_free(p->pEnv, p);
}
