/*
** iter.h — the one iterator contract every sorted source implements.
**
** Memtables, data blocks, SSTables, levels and the merge of all of them
** are read through this struct of function pointers, over internal keys
** (ikey.h) in ascending internal-key order.
**
** Contract:
**   1. A new iterator is not positioned (xValid is 0) until xFirst, xLast
**      or xSeek is called.
**   2. xSeek positions at the first entry >= the given internal key;
**      xSeekUser-style searches are built by the caller with
**      ikey_build(user, IKEY_MAX_SEQ, IKEY_VALUE), the smallest internal
**      key of a user key.
**   3. xNext / xPrev REQUIRE xValid; stepping off either end makes the
**      iterator invalid.
**   4. xKey / xValue REQUIRE xValid and return borrowed pointers, valid
**      until the iterator moves or is closed.
**   5. An error (a checksum failure, an I/O error) makes the iterator
**      invalid and xStatus returns its code; xStatus is LSM_OK otherwise.
**   6. xClose frees the iterator and everything it owns; it accepts an
**      iterator in any state.
**   7. xPark (NULL where there is nothing to let go) lets go of what a
**      position holds beyond ITER_PARK_KEEP_BYTES of buffers: pinned
**      blocks, long key copies.  The iterator is then unpositioned and
**      works as a new one; a kept cursor is parked so that it holds no
**      more than a few KiB and no block the cache could not evict.
**   8. xStep (NULL where not implemented: iter_step then makes the three
**      calls) is xNext followed by xValid and xKey in one call: it
**      returns the new current key, borrowed as from xKey, or NULL when
**      the iterator became invalid (xStatus says whether it failed).
**      REQUIRES xValid, as xNext.  A scan steps every sorted run below
**      the merge once per entry, and each layer (merge, level, SSTable)
**      asked its child for next, valid and key through three indirect
**      calls: xStep makes that one (README, "Scanning rows: one call per
**      step").
**   9. xPrefetch (NULL where a seek has nothing to fetch ahead) is a hint
**      that xSeek of the same key follows: it starts what that seek will
**      read, in ITER_PREFETCH_STAGES stages called in order (stage s + 1
**      reads lines stage s only fetched), so that a merge can run stage 0
**      of every child, then stage 1 of every child, and so on, then the
**      seeks, and its children's cache misses overlap instead of
**      following one another.  It never changes what the iterator
**      returns; an error it meets is the one the seek would meet (kept
**      and reported by xStatus after the seek).  It may leave the
**      iterator unpositioned (a level iterator opens the table the seek
**      will read; an SSTable iterator loads the block), so only the xSeek
**      of the same key may follow it.
**
** Naming: an implementation's methods are statics named <owner>_x_<op>
** (memtable_x_next, block_x_seek, sst_reader_x_key, level_x_first,
** merge_x_close), so that grep finds every xNext at once and they never
** clash with a module's own public <owner>_iter_* functions.
*/
#ifndef LSM_ITER_H
#define LSM_ITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct iter iter;
typedef struct iter_methods iter_methods;

struct iter_methods {
  void (*xFirst)(iter*);
  void (*xLast)(iter*);
  void (*xSeek)(iter*, const uint8_t *pIkey, size_t nIkey);
  void (*xNext)(iter*);
  void (*xPrev)(iter*);
  int (*xValid)(iter*);
  const uint8_t *(*xKey)(iter*, size_t *pnKey);
  const uint8_t *(*xValue)(iter*, size_t *pnVal);
  int (*xStatus)(iter*);
  void (*xClose)(iter*);
  void (*xPark)(iter*);
  const uint8_t *(*xStep)(iter*, size_t *pnKey);
  void (*xPrefetch)(iter*, const uint8_t *pIkey, size_t nIkey, int iStage);
};

/* Stages of xPrefetch (item 9). */
#define ITER_PREFETCH_STAGES 4

/* Buffers a parked iterator may keep for its next positioning. */
#define ITER_PARK_KEEP_BYTES 4096

/* Every iterator struct starts with this base. */
struct iter {
  const iter_methods *pMethods;
};

static inline void iter_first(iter *p){ p->pMethods->xFirst(p); }
static inline void iter_last(iter *p){ p->pMethods->xLast(p); }
static inline void iter_seek(iter *p, const uint8_t *k, size_t n){ p->pMethods->xSeek(p, k, n); }
static inline void iter_next(iter *p){ p->pMethods->xNext(p); }
static inline void iter_prev(iter *p){ p->pMethods->xPrev(p); }
static inline int iter_valid(iter *p){ return p->pMethods->xValid(p); }
static inline const uint8_t *iter_key(iter *p, size_t *pn){ return p->pMethods->xKey(p, pn); }
static inline const uint8_t *iter_value(iter *p, size_t *pn){ return p->pMethods->xValue(p, pn); }
static inline int iter_status(iter *p){ return p->pMethods->xStatus(p); }
static inline void iter_close(iter *p){ if( p ) p->pMethods->xClose(p); }
static inline void iter_park(iter *p){ if( p && p->pMethods->xPark ) p->pMethods->xPark(p); }
/* xNext, then the new key (*pn its bytes) or NULL if no longer valid. */
static inline const uint8_t *iter_step(iter *p, size_t *pn){
  const iter_methods *m = p->pMethods;
  if( m->xStep ) return m->xStep(p, pn);
  m->xNext(p);
  return m->xValid(p) ? m->xKey(p, pn) : NULL;
}

static inline void iter_prefetch(iter *p, const uint8_t *k, size_t n, int iStage){
  if( p->pMethods->xPrefetch ) p->pMethods->xPrefetch(p, k, n, iStage);
}

#endif
