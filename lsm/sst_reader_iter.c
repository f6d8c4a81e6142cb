/*
** sst_reader_iter.c — the iterator over every entry of one SSTable
** (iter.h), for merges, cursors and compactions.
**
** It walks the reader's index (sst_reader_impl.h) a block at a time: a
** block_iter moves inside the current block, and when it runs off either
** end the iterator fetches the next (or previous) block with
** sst_reader_load_block, so blocks are verified before use exactly as
** for a get.  A seek finds its block with the same index search as a get
** (find_block), then seeks inside it.  The iterator holds a reference
** on the reader and, unless the block is mapped, a block-cache handle on
** its current block: what key and value return stays valid until the
** next move or close.  The first error is sticky (status).
**
** A scan's blocks in the block cache: once the iterator has loaded more
** than SST_PASSING_AFTER blocks in a row by stepping off the one before
** (a scan, not a seek and the few rows after it), a block it misses
** enters the cache as passing (block_cache_insert_passing): evicted
** before the blocks gets and seeks looked up, so a scan of more blocks
** than the cache holds keeps what was cached instead of replacing it
** block by block with blocks it reads once.  The first few steps of each
** positioning fill the cache as usual, so that a short range read again
** and again (a LIMIT query, a small BETWEEN) stays cached like a get;
** except in the bulk level (SST_FILL_BULK, version.c), where three in four
** of those loads, drawn at random, enter as passing too.
** Past the same count an unmapped table's misses are read ahead, a run
** of blocks in one xRead (sst_reader_load_block_ahead; the buffer, ahead,
** is the iterator's: 64 KiB at most, freed at close), so gets and seeks,
** which never step that far, read one block at a time as before.
** Past it too, each block an unmapped table's scan loads fetches the
** next one's cache entry (prefetch_ahead).
**
** Thread safety: an iterator belongs to one thread at a time; any number
** of iterators may walk one reader at once.
*/
#include "sst_reader.h"

#include <assert.h>
#include <stdatomic.h>
#include <string.h>

#include "block.h"
#include "block_cache.h"
#include "env.h"
#include "ikey.h"
#include "iter.h"
#include "sst_reader_impl.h"

/* Blocks loaded by stepping, in a row, before a miss enters the cache as
** a scan's (passing): 4 blocks, 8 KiB at the in-database store's 2 KiB,
** about 70 rows of 100-byte values. */
#define SST_PASSING_AFTER 4

typedef struct sst_reader_it {
  iter base;                 /* iter.h methods                               */
  sst_reader *pReader;       /* a reference, released by close               */
  int iBlock;                /* block under blk; -1: none                    */
  block_handle *pBlock;      /* block iBlock's bytes (NULL: in the mapping
                             ** or in ahead)                                 */
  int eFill;                 /* how blocks use the block cache: SST_FILL*    */
  int nStepLoads;            /* blocks loaded by stepping since the last
                             ** positioning (first, last, seek)             */
  uint32_t bulkDraw;         /* SST_FILL_BULK: xorshift32 state that draws
                             ** the blocks entering the cache as SST_FILL's
                             ** do (random, not every n-th: a range read
                             ** again and again in n loads would otherwise
                             ** give every block the same turn each time) */
  block_iter blk;            /* position inside block iBlock                 */
  int rc;                    /* sticky error                                 */
  int iPrefetch;             /* block stages 2 and 3 fetch; -1: none         */
  int iFound;                /* the index search of prefetch stage 1, which
                             ** the seek of the same key takes instead of
                             ** searching again; -1: none                    */
  const uint8_t *pFoundKey;  /* the key it was found for (asserted)          */
  block_search search;       /* prefetch stage 0's index search              */
  sst_ahead ahead;           /* a scan's readahead (header comment)          */
} sst_reader_it;

/* Release the handle on the current block's bytes (pBlock is left
** dangling: the caller replaces it).  An iterator that does not fill the
** cache as SST_FILL_COLD (a compaction's input) leaves its blocks the
** first to be evicted (block_cache_release_cold). */
static void release_block(sst_reader_it *p){
  if( p->eFill == SST_FILL_COLD ) block_cache_release_cold(p->pBlock);
  else block_cache_release(p->pBlock);
}

/* A seed for a new iterator's bulkDraw, never 0 (xorshift's fixed point).
** Each iterator gets the next one of a sequence shared by the process: with
** one constant seed every new iterator drew the same first draws, and the
** first three say "passing", so a cursor that builds its iterators anew
** for each statement (a read inside a write transaction, a second cursor
** open at once) never let a hot block of the bulk level be cached.  The
** sequence repeats from run to run where iterators are made in the same
** order (background=off). */
static uint32_t bulk_draw_seed(void){
  static _Atomic uint32_t nIters;
  uint32_t x = atomic_fetch_add_explicit(&nIters, 1, memory_order_relaxed) * 0x9e3779b9u;
  x ^= x >> 16;
  return x ? x : 0x9e3779b9u;
}

/* A scan that has just loaded block i will load the next one in its
** direction after this block's dozen or so rows: fetch that block's cache
** entry now (its slot line was fetched one block earlier) and the slot
** line of the one after it, so that neither lookup waits for memory.
** Without this each of a scan's block changes waited for two lines one
** after the other (the slot, then the entry's header and the block's
** last line): perf put 6% of an in-database scan's time in that lookup
** (README, "In-database scans: the next block's cache entry fetched
** ahead").  Only for a reader without a mapping (the
** in-database store's, mmap=off): a mapped directory store's scan misses
** its small cache on nearly every block and decompresses from the
** mapping, so there the lookup found nothing to fetch and the fetch cost
** its lock (two pairs of runs: no sign of a gain). */
static void prefetch_ahead(sst_reader *pReader, int i, int bForward){
  int iNext = bForward ? i + 1 : i - 1;
  int iAfter = bForward ? i + 2 : i - 2;
  if( iNext < 0 || iNext >= pReader->nBlock ) return;
  sst_reader_prefetch_block(pReader, iNext, 1);
  if( iAfter >= 0 && iAfter < pReader->nBlock ) sst_reader_prefetch_block(pReader, iAfter, 0);
}

/* Point blk at block i.  1 on success; 0: the iterator has failed.
** bStep: i is reached by stepping off the block before or after it;
** past SST_PASSING_AFTER such loads in a row a miss enters the cache as
** a scan's (header comment). */
static int set_block(sst_reader_it *p, int i, int bStep){
  block_view v;
  block_handle *h = NULL;
  int rc, bPassing, bScan;
  /* A positioning restarts the count even inside the current block (a
  ** cursor kept across seeks, as an inner join's, must not stay a scan's
  ** after one long range). */
  if( !bStep ) p->nStepLoads = 0;
  if( i == p->iBlock ) return 1;
  if( bStep ) p->nStepLoads++;
  bPassing = p->nStepLoads > SST_PASSING_AFTER;
  bScan = bPassing;
  if( p->eFill == SST_FILL_BULK && !bPassing ){
    uint32_t x = p->bulkDraw;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p->bulkDraw = x;
    bPassing = (x >> 8) % SST_BULK_KEEP_ONE_IN != 0;
  }
  if( bScan && (p->eFill == SST_FILL || p->eFill == SST_FILL_BULK) ){
    /* A scan's load (not a bulk level's positioning loads, which
    ** read one block each): read ahead. */
    rc = sst_reader_load_block_ahead(p->pReader, i, i > p->iBlock, &p->ahead, &v, &h);
  }else{
    rc = sst_reader_load_block(p->pReader, i,
                               p->eFill != SST_FILL && p->eFill != SST_FILL_BULK ? SST_LOAD_NOFILL
                               : bPassing ? SST_LOAD_PASSING : SST_LOAD_FILL, &v, &h);
  }
  if( rc ){
    p->rc = rc;
    p->iBlock = -1;
    p->blk.bValid = 0;
    return 0;
  }
  block_iter_set(&p->blk, &v);
  release_block(p);                    /* blk no longer points into it */
  if( bScan && p->pReader->aMap == NULL ) prefetch_ahead(p->pReader, i, i > p->iBlock);
  p->pBlock = h;
  p->iBlock = i;
  return 1;
}

/* After a block-level move: note an error, or step into the following
** (bForward) or preceding blocks while the position is off the block. */
static void settle(sst_reader_it *p, int bForward){
  while( !p->blk.bValid ){
    int i;
    if( p->blk.rc ){
      p->rc = p->blk.rc;
      return;
    }
    i = p->iBlock + (bForward ? 1 : -1);
    if( p->iBlock < 0 || i < 0 || i >= p->pReader->nBlock ) return;
    if( !set_block(p, i, 1) ) return;
    if( bForward ) block_iter_first(&p->blk);
    else block_iter_last(&p->blk);
  }
}

static void sst_reader_x_first(iter *pIter){
  sst_reader_it *p = (sst_reader_it*)pIter;
  p->iFound = -1;
  p->blk.bValid = 0;
  if( p->rc || p->pReader->nBlock == 0 ) return;
  if( !set_block(p, 0, 0) ) return;
  block_iter_first(&p->blk);
  settle(p, 1);
}

static void sst_reader_x_last(iter *pIter){
  sst_reader_it *p = (sst_reader_it*)pIter;
  p->iFound = -1;
  p->blk.bValid = 0;
  if( p->rc || p->pReader->nBlock == 0 ) return;
  if( !set_block(p, p->pReader->nBlock - 1, 0) ) return;
  block_iter_last(&p->blk);
  settle(p, 0);
}

static void sst_reader_x_seek(iter *pIter, const uint8_t *pIkey, size_t nIkey){
  sst_reader_it *p = (sst_reader_it*)pIter;
  int i;
  assert( nIkey >= IKEY_TRAILER );
  p->blk.bValid = 0;
  if( p->rc ) return;
  if( p->iFound >= 0 ){
    assert( p->pFoundKey == pIkey );
    i = p->iFound;
    p->iFound = -1;
  }else{
    i = find_block(p->pReader, pIkey, ikey_user_len(nIkey), ikey_trailer(pIkey, nIkey));
  }
  if( i >= p->pReader->nBlock ) return;
  if( !set_block(p, i, 0) ) return;
  block_iter_seek(&p->blk, pIkey, nIkey);
  settle(p, 1);
}

static void sst_reader_x_next(iter *pIter){
  sst_reader_it *p = (sst_reader_it*)pIter;
  block_iter_next(&p->blk);
  if( !p->blk.bValid ) settle(p, 1);
}

static const uint8_t *sst_reader_x_step(iter *pIter, size_t *pn){
  sst_reader_it *p = (sst_reader_it*)pIter;
  block_iter_next(&p->blk);
  if( !p->blk.bValid ){
    settle(p, 1);
    if( !p->blk.bValid ) return NULL;
  }
  *pn = p->blk.nKey;
  return p->blk.aKey;
}

static void sst_reader_x_prev(iter *pIter){
  sst_reader_it *p = (sst_reader_it*)pIter;
  block_iter_prev(&p->blk);
  if( !p->blk.bValid ) settle(p, 0);
}

static int sst_reader_x_valid(iter *pIter){
  return ((sst_reader_it*)pIter)->blk.bValid;
}

static const uint8_t *sst_reader_x_key(iter *pIter, size_t *pn){
  sst_reader_it *p = (sst_reader_it*)pIter;
  *pn = p->blk.nKey;
  return p->blk.aKey;
}

static const uint8_t *sst_reader_x_value(iter *pIter, size_t *pn){
  sst_reader_it *p = (sst_reader_it*)pIter;
  *pn = p->blk.nVal;
  return p->blk.pVal;
}

static int sst_reader_x_status(iter *pIter){
  return ((sst_reader_it*)pIter)->rc;
}

static void sst_reader_x_close(iter *pIter){
  sst_reader_it *p = (sst_reader_it*)pIter;
  sst_reader *pReader = p->pReader;
  block_iter_clear(&p->blk);
  release_block(p);
  sst_ahead_free(pReader->pEnv, &p->ahead);
  env_free(pReader->pEnv, p);
  sst_reader_unref(pReader);
}

/* Release the pinned block (set_block loads one again). */
static void sst_reader_x_park(iter *pIter){
  sst_reader_it *p = (sst_reader_it*)pIter;
  block_iter_park(&p->blk);
  release_block(p);
  /* A parked iterator holds a few KiB at most (iter.h): not the 64 KiB
  ** readahead buffer, nor one grown to a huge block.  blk no longer
  ** points into it (parked). */
  sst_ahead_free(p->pReader->pEnv, &p->ahead);
  p->pBlock = NULL;
  p->iBlock = -1;
  p->iFound = -1;
}

/*
** The seek's chain of misses, cut into stages (iter.h, item 9):
**   0  the index group (aGroupWord, mostly cached); fetch its aWord lines;
**   1  the block, from those lines; fetch its cache slot (and, mapped,
**      its type byte);
**   2  fetch what the slot points to: the entry's header, the block's
**      first and last lines;
**   3  load the block (set_block: the lookup, or the read on a miss)
**      and fetch its restart keys' lines.
** The seek of the same key (the only call that may follow: iter.h) takes
** the block stage 1 found, which set_block then keeps.  Nothing is
** fetched for the block the iterator already holds.
*/
static void sst_reader_x_prefetch(iter *pIter, const uint8_t *pIkey, size_t nIkey, int iStage){
  sst_reader_it *p = (sst_reader_it*)pIter;
  sst_reader *pReader = p->pReader;
  size_t nUser = ikey_user_len(nIkey);
  if( p->rc ) return;
  switch( iStage ){
    case 0:
      find_block_begin(pReader, pIkey, nUser, &p->search);
      p->iPrefetch = -1;
      p->iFound = -1;
      break;
    case 1: {
      int i = find_block_end(pReader, pIkey, nUser, ikey_trailer(pIkey, nIkey), &p->search);
      p->iFound = i;
      p->pFoundKey = pIkey;
      if( i >= pReader->nBlock || i == p->iBlock ) break;
      p->iPrefetch = i;
      sst_reader_prefetch_block(pReader, i, 0);
      break;
    }
    case 2:
      if( p->iPrefetch >= 0 ) sst_reader_prefetch_block(pReader, p->iPrefetch, 1);
      break;
    default:
      if( p->iPrefetch >= 0 && set_block(p, p->iPrefetch, 0) ){
        block_view_prefetch_restarts(&p->blk.v);
      }
      p->iPrefetch = -1;
      break;
  }
}

static const iter_methods sst_reader_methods = {
  sst_reader_x_first, sst_reader_x_last, sst_reader_x_seek, sst_reader_x_next, sst_reader_x_prev,
  sst_reader_x_valid, sst_reader_x_key, sst_reader_x_value, sst_reader_x_status, sst_reader_x_close,
  sst_reader_x_park, sst_reader_x_step, sst_reader_x_prefetch
};

void sst_reader_iter_retarget(iter *pIter, sst_reader *pReader){
  sst_reader_it *p = (sst_reader_it*)pIter;
  sst_reader *pOld = p->pReader;
  assert( pIter->pMethods == &sst_reader_methods );
  assert( pReader->pEnv == pOld->pEnv );
  release_block(p);                    /* a block of the old reader */
  p->pBlock = NULL;
  p->iBlock = -1;                      /* set_block resets blk */
  p->blk.bValid = 0;
  p->rc = LSM_OK;
  p->iPrefetch = -1;                   /* blocks of the old reader */
  p->iFound = -1;
  p->ahead.iFirst = p->ahead.iEnd = 0;   /* blocks of the old reader */
  sst_reader_ref(pReader);
  p->pReader = pReader;
  sst_reader_unref(pOld);
}

iter *sst_reader_iter(sst_reader *pReader, int *pRc){
  return sst_reader_iter_fill(pReader, SST_FILL, pRc);
}

iter *sst_reader_iter_fill(sst_reader *pReader, int eFill, int *pRc){
  sst_reader_it *p = env_malloc(pReader->pEnv, sizeof(*p));   /* every field set below */
  if( p == NULL ){
    *pRc = LSM_NOMEM;
    return NULL;
  }
  p->base.pMethods = &sst_reader_methods;
  p->pReader = pReader;
  p->iBlock = -1;
  p->pBlock = NULL;
  p->eFill = eFill;
  p->nStepLoads = 0;
  p->bulkDraw = bulk_draw_seed();
  p->rc = LSM_OK;
  p->iPrefetch = -1;
  p->iFound = -1;
  p->pFoundKey = NULL;
  memset(&p->ahead, 0, sizeof(p->ahead));
  block_iter_init(&p->blk, pReader->pEnv);
  sst_reader_ref(pReader);
  return &p->base;
}
