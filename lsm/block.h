/*
** block.h — SSTable data blocks: a builder, a search and an iterator
** (format: see block_builder.c, DATA BLOCK).  The builder and the byte
** buffer are block_builder.h, which this header includes; the view,
** search and iterator are block.c.
**
** A block is a run of entries in internal-key order.  Each entry shares a
** prefix of its user key with the entry before it; every
** SST_RESTART_INTERVAL entries a restart point stores the user key whole,
** and the block ends with the array of restart offsets, so a search can
** binary-search the restart points and then scan at most one interval.
** The checksum trailer after a block is the SSTable's business: the
** functions here see the block's contents only, already verified.
**
** Every decoder is bounds-checked against the block: a malformed block
** gives LSM_CORRUPT with a message naming the file and the block (the
** zPath/iBlock given to block_view_init), never a read outside it.
**
** Thread safety: a block_view and the bytes under it are immutable and
** may be searched by many threads.  A builder or an iterator belongs to
** one thread at a time.
*/
#ifndef LSM_BLOCK_H
#define LSM_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "block_builder.h"
#include "iter.h"
#include "lsm.h"

/* ---- reading ---- */
/* A parsed view of one block's contents.  Borrows the bytes and zPath. */
typedef struct block_view {
  const uint8_t *a;          /* block contents; entries start here          */
  uint32_t nEnd;             /* bytes of entries (the restart array follows) */
  uint32_t nRestart;         /* restart points                              */
  const uint8_t *aRestart;   /* nRestart fixed32 offsets                    */
  const char *zPath;         /* file, for messages                          */
  int iBlock;                /* block number in the file, for messages      */
} block_view;

/* Parse the restart array at the end of (a, n).  LSM_OK or LSM_CORRUPT. */
int block_view_init(block_view*, const uint8_t *a, size_t n, const char *zPath, int iBlock);

/* Fetch (a hint, nothing read) the lines of the restart keys a search of
** *v compares with, when there are few of them (<= 8): all at once. */
void block_view_prefetch_restarts(const block_view *v);

/*
** Point lookup without allocating: the first entry >= (pUser, trailer
** of maxSeq / IKEY_VALUE), i.e. the newest version of pUser with seq <=
** maxSeq if there is one.  On LSM_OK, *pbFound says whether that entry
** has user key pUser; if so *pTrailer and the value (borrowed from the
** block) are set.  *pbFound = 0 also when every entry is smaller.
*/
int block_get(const block_view*, const uint8_t *pUser, size_t nUser, uint64_t maxSeq,
              int *pbFound, uint64_t *pTrailer, const uint8_t **ppVal, size_t *pnVal);

/*
** Verify what a checksum cannot: restart offsets ascending and in
** bounds, each restart entry with no shared prefix, every entry decodes,
** keys strictly ascending, types known.  *pnEntry gets the entry count
** (may be NULL).  LSM_OK, LSM_CORRUPT or LSM_NOMEM.
*/
int block_check(lsm_env*, const block_view*, uint64_t *pnEntry);

/*
** The iterator over one block (iter.h contract).  It can be embedded and
** re-pointed at successive blocks (the SSTable iterator does that) or
** made standalone with block_iter_new.
**
** A block_iter points into itself (aKey may be aKeyInline): it must not
** be copied or moved once initialised.
**
** Reverse iteration: a prev that leaves the current restart interval
** decodes the whole previous interval once and caches its entries, so a
** backward scan costs about as much as a forward one.
*/
typedef struct block_prev {
  uint32_t iOff;            /* offset of the entry                     */
  uint32_t iNext;           /* offset of the entry after it            */
  size_t iKey;              /* its internal key in aPrevKey.a at iKey  */
  size_t nKey;              /* internal key bytes                      */
  const uint8_t *pVal;      /* value, borrowed from the block          */
  size_t nVal;              /* value bytes                             */
} block_prev;

typedef struct block_iter {
  iter base;                /* iter.h methods                                  */
  lsm_env *pEnv;            /* allocations                                     */
  block_view v;             /* the block; v.a == NULL: none                    */
  int bValid;               /* positioned on an entry                          */
  int rc;                   /* sticky error: LSM_OK or LSM_CORRUPT/LSM_NOMEM   */
  uint32_t iCur;            /* offset of the current entry                     */
  uint32_t iNext;           /* offset of the entry after it                    */
  uint8_t *aKey;            /* current internal key (user key + trailer):
                            ** aKeyInline, or env_malloc'd when longer        */
  size_t nKey;              /* its bytes                                       */
  size_t nKeyAlloc;         /* bytes available at aKey                         */
  uint8_t aKeyInline[64];   /* short keys need no allocation                   */
  const uint8_t *pVal;      /* current value, borrowed from the block          */
  size_t nVal;              /* its bytes                                       */
  block_prev *aPrev;        /* cached entries of one restart interval          */
  int nPrev;                /* entries in aPrev                                */
  int nPrevAlloc;           /* slots allocated                                 */
  int iPrev;                /* index of the current entry in aPrev, or -1      */
  block_buf prevKey;        /* keys of the cached entries                      */
  const uint8_t *pOwned;    /* standalone iterator: its own copy of the block  */
} block_iter;

/* Embedded use: init, then set a block (set may be called again). */
void block_iter_init(block_iter*, lsm_env*);
void block_iter_set(block_iter*, const block_view*);     /* unpositioned */
void block_iter_first(block_iter*);
void block_iter_last(block_iter*);
void block_iter_seek(block_iter*, const uint8_t *pIkey, size_t nIkey);
void block_iter_next(block_iter*);     /* REQUIRES valid */
void block_iter_prev(block_iter*);     /* REQUIRES valid */
static inline int block_iter_valid(const block_iter *p){ return p->bValid; }
void block_iter_clear(block_iter*);    /* free buffers; accepts any state */
void block_iter_park(block_iter*);     /* iter.h xPark, for embedded use */

/*
** A standalone iterator over a copy of block contents (a, n): for tests
** and tools.  NULL with *pRc on OOM or when the block does not parse.
*/
iter *block_iter_new(lsm_env*, const uint8_t *a, size_t n, int *pRc);

#endif
