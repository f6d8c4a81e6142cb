/*
** arena.h — a bump allocator for memtable nodes.
**
** A memtable allocates many small pieces (skiplist nodes holding a key and
** a value) and frees them all at once when its last reference goes.  The
** arena carves them out of blocks obtained from the lsm_env, and freeing
** is one walk over its block lists.
**
**   block lists: pBlock    -> [next | bytes ...] -> [next | bytes ...] -> NULL
**                pStandard -> [next | ARENA_BLOCK_MAX bytes] -> ... -> NULL
**                pCur ... pCur + nLeft is still free in the current block
**
** Block sizes start at ARENA_BLOCK_MIN and double up to ARENA_BLOCK_MAX:
** a small memtable (a transaction's batch) costs 4 KiB, a full one asks
** the environment for memory once per MiB.  (With LevelDB's fixed 4 KiB
** blocks, freeing a flushed memtable gives thousands of small chunks back
** to malloc, which trims and refaults the heap: twice the insert cost in
** our memtable benchmark.)  A request larger than a quarter of the next
** block gets a block of its own, so the current block's tail is not
** wasted on it (LevelDB util/arena.cc).
**
** Pool: a store's memtables share an arena_pool, which keeps the
** standard blocks (ARENA_BLOCK_MAX payload) of a freed arena for the
** arenas that follow, up to a bound of bytes (one memtable's worth).
** Why: the first write to each 4 KiB page of fresh memory is a page
** fault, and on this project's virtual machine (a PVM guest) an
** anonymous page's first touch costs about 12 us of system time against
** 0.01 us for a page touched before (README, "Memtable blocks kept for
** the next memtable"); glibc gives much of a freed memtable's memory back
** to the kernel (a 1 MiB block may be a mapping of its own; a heap's free
** top is trimmed), so without the pool a new memtable faults much of its
** memory in afresh (measured there: 3,600 faults of the committing
** thread's 17,500 per million in-database rows).  An arena
** with a pool takes a pooled block for its next standard block whenever
** the pool holds one (skipping the rest of the doubling), and arena_free
** gives its standard blocks back; the bound says what the pool may hold
** while the store is idle, beside its active memtable.  The pool never
** raises the peak: a block is obtained from the environment only when
** the pool is empty, so the pooled and live blocks together never exceed
** the most the live arenas held at once.
**
** Thread safety: arena_alloc is called by one thread at a time (the
** memtable's single writer).  arena_usage may be read by any thread at
** any time (a relaxed atomic).  A pool is shared by any number of arenas
** and threads (its own mutex: an arena is freed by whichever thread drops
** its memtable's last reference).
**
** Invariants:
**   1. Every pointer returned is aligned to ARENA_ALIGN and stays valid
**      until arena_free.
**   2. arena_usage() only grows.  It is the bytes obtained from the
**      environment (blocks with their headers) less the free tail of the
**      current block: the memory the arena's contents hold.  Memory taken
**      from the environment is at most arena_usage() + ARENA_BLOCK_MAX.
*/
#ifndef LSM_ARENA_H
#define LSM_ARENA_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lsm.h"
#include "mutex.h"

#define ARENA_BLOCK_MIN 4096          /* first block's payload bytes     */
#define ARENA_BLOCK_MAX (1024 * 1024) /* largest standard block          */
#define ARENA_ALIGN 8           /* alignment of every allocation        */

typedef struct arena_block arena_block;

typedef struct arena_pool {
  checked_mutex mutex;          /* guards every field below             */
  lsm_env *pEnv;                /* where every attached arena's blocks
                                ** come from and its own go; borrowed   */
  size_t nMaxBytes;             /* bound on the bytes held (invariant 3)*/
  arena_block *pFree;           /* held blocks, a list                  */
  size_t nFree;                 /* blocks in pFree                      */
  int nArena;                   /* attached arenas not yet freed        */
  uint64_t nReused;             /* blocks handed back out, since init   */
} arena_pool;

typedef struct arena {
  lsm_env *pEnv;                /* where blocks come from; borrowed     */
  arena_pool *pPool;            /* where standard blocks come from first
                                ** and go back to, or NULL; borrowed    */
  uint8_t *pCur;                /* next free byte of the current block  */
  size_t nLeft;                 /* free bytes at pCur                   */
  arena_block *pBlock;          /* every other block, newest first      */
  arena_block *pStandard;       /* every block of ARENA_BLOCK_MAX bytes
                                ** (what a pool keeps), newest first     */
  size_t nNext;                 /* payload bytes of the next block      */
  size_t nTotal;                /* bytes obtained from pEnv so far      */
  _Atomic size_t nUsage;        /* nTotal - nLeft (invariant 2)         */
} arena;

/* An empty arena (no allocation made yet). */
void arena_init(arena*, lsm_env*);
/* The same, attached to pPool (NULL: none).  REQUIRES: pEnv is the
** pool's env. */
void arena_init_pooled(arena*, lsm_env*, arena_pool *pPool);
/* n bytes (n > 0), ARENA_ALIGN-aligned, uninitialised.  NULL on OOM. */
void *arena_alloc(arena*, size_t n);
/* Bytes held by the arena's contents (invariant 2); any thread. */
size_t arena_usage(const arena*);
/* Free every block, giving its standard blocks to its pool while the
** pool's bound allows.  The arena may be initialised again afterwards
** (unattached). */
void arena_free(arena*);

/* An empty pool of blocks from pEnv holding at most nMaxBytes (fewer
** than one block: it holds none). */
void arena_pool_init(arena_pool*, lsm_env *pEnv, size_t nMaxBytes);
/* Bytes the pool holds now (headers included); any thread. */
size_t arena_pool_bytes(arena_pool*);
/* Blocks the pool has handed to arenas since arena_pool_init. */
uint64_t arena_pool_reused(arena_pool*);
/* Free every held block.  REQUIRES: every arena attached to the pool has
** been freed (invariant 4). */
void arena_pool_destroy(arena_pool*);

#endif
