/*
** arena.h — a bump allocator for memtable nodes.
**
** A memtable allocates many small pieces (skiplist nodes holding a key and
** a value) and frees them all at once when its last reference goes.  The
** arena carves them out of blocks obtained from the lsm_env, and freeing
** is one walk over the block list.
**
**   block list:  pBlock -> [next | bytes ...] -> [next | bytes ...] -> NULL
**                                ^ pCur ... pCur + nLeft is still free in the newest block
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
** Thread safety: arena_alloc is called by one thread at a time (the
** memtable's single writer).  arena_usage may be read by any thread at
** any time (a relaxed atomic).
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

#define ARENA_BLOCK_MIN 4096          /* first block's payload bytes     */
#define ARENA_BLOCK_MAX (1024 * 1024) /* largest standard block          */
#define ARENA_ALIGN 8           /* alignment of every allocation        */

typedef struct arena_block arena_block;
typedef struct arena {
  lsm_env *pEnv;                /* where blocks come from; borrowed     */
  uint8_t *pCur;                /* next free byte of the current block  */
  size_t nLeft;                 /* free bytes at pCur                   */
  arena_block *pBlock;          /* every block, newest first            */
  size_t nNext;                 /* payload bytes of the next block      */
  size_t nTotal;                /* bytes obtained from pEnv so far      */
  _Atomic size_t nUsage;        /* nTotal - nLeft (invariant 2)         */
} arena;

/* An empty arena (no allocation made yet). */
void arena_init(arena*, lsm_env*);
/* n bytes (n > 0), ARENA_ALIGN-aligned, uninitialised.  NULL on OOM. */
void *arena_alloc(arena*, size_t n);
/* Bytes held by the arena's contents (invariant 2); any thread. */
size_t arena_usage(const arena*);
/* Free every block.  The arena may be initialised again afterwards. */
void arena_free(arena*);

#endif
