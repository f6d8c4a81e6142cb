/*
** arena.h — a bump allocator for memtable nodes.
**
** A memtable allocates many small pieces (skiplist nodes holding a key and
** a value) and frees them all at once when its last reference goes.  The
** arena carves them out of blocks obtained from the lsm_env, so one
** allocation per ~4 KiB of entries reaches the environment, and freeing
** is one walk over the block list.
**
**   block list:  pBlock -> [next | bytes ...] -> [next | bytes ...] -> NULL
**                                ^ pCur ... pCur + nLeft is still free in the newest block
**
** A request larger than a quarter of a block gets a block of its own, so
** the tail of the current block is not wasted on it (LevelDB util/arena.cc).
**
** Thread safety: arena_alloc is called by one thread at a time (the
** memtable's single writer).  arena_usage may be read by any thread at
** any time (a relaxed atomic).
**
** Invariants:
**   1. Every pointer returned is aligned to ARENA_ALIGN and stays valid
**      until arena_free.
**   2. arena_usage() only grows, and is the sum of the block sizes (with
**      their headers) obtained from the environment.
*/
#ifndef LSM_ARENA_H
#define LSM_ARENA_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lsm.h"

#define ARENA_BLOCK 4096        /* bytes in a standard block            */
#define ARENA_ALIGN 8           /* alignment of every allocation        */

typedef struct arena_block arena_block;
typedef struct arena {
  lsm_env *pEnv;                /* where blocks come from; borrowed     */
  uint8_t *pCur;                /* next free byte of the current block  */
  size_t nLeft;                 /* free bytes at pCur                   */
  arena_block *pBlock;          /* every block, newest first            */
  _Atomic size_t nUsage;        /* bytes obtained from pEnv so far      */
} arena;

/* An empty arena (no allocation made yet). */
void arena_init(arena*, lsm_env*);
/* n bytes (n > 0), ARENA_ALIGN-aligned, uninitialised.  NULL on OOM. */
void *arena_alloc(arena*, size_t n);
/* Bytes obtained from the environment (blocks plus their headers). */
size_t arena_usage(const arena*);
/* Free every block.  The arena may be initialised again afterwards. */
void arena_free(arena*);

#endif
