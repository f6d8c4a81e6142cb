/*
** arena.c — bump allocation over env blocks (the concept is in arena.h).
**
** Allocation is a pointer bump in the current block.  When the request
** does not fit, a new block is started, twice the size of the last one up
** to ARENA_BLOCK_MAX (the old tail is wasted: at most a quarter of that
** block); a request over a quarter of the next block's size gets a
** dedicated block and the current block keeps serving small requests.
*/
#include "arena.h"

#include <assert.h>

#include "env.h"

/* Block header; the payload follows it (8 bytes, so it stays aligned). */
struct arena_block {
  arena_block *pNext;           /* older block, or NULL                 */
};

/* Round n up to a multiple of ARENA_ALIGN. */
static size_t arena_round(size_t n){
  return (n + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
}

/* Publish the usage after a change (invariant 2). */
static void arena_publish(arena *p){
  atomic_store_explicit(&p->nUsage, p->nTotal - p->nLeft, memory_order_relaxed);
}

/* A new block with nByte usable bytes, linked at the head of the list. */
static uint8_t *arena_new_block(arena *p, size_t nByte){
  size_t nTotal = sizeof(arena_block) + nByte;
  arena_block *pBlock = (arena_block*)env_malloc(p->pEnv, nTotal);
  if( pBlock == NULL ) return NULL;
  pBlock->pNext = p->pBlock;
  p->pBlock = pBlock;
  p->nTotal += nTotal;
  return (uint8_t*)(pBlock + 1);
}

void arena_init(arena *p, lsm_env *pEnv){
  p->pEnv = pEnv;
  p->pCur = NULL;
  p->nLeft = 0;
  p->pBlock = NULL;
  p->nNext = ARENA_BLOCK_MIN;
  p->nTotal = 0;
  atomic_init(&p->nUsage, 0);
}

void *arena_alloc(arena *p, size_t n){
  uint8_t *pRet;
  assert( n > 0 );
  n = arena_round(n);
  if( n > p->nLeft ){
    if( n > p->nNext / 4 ){
      /* Big: its own block; the current block keeps its free tail. */
      pRet = arena_new_block(p, n);
      arena_publish(p);
      return pRet;
    }
    pRet = arena_new_block(p, p->nNext);
    if( pRet == NULL ) return NULL;
    p->pCur = pRet;
    p->nLeft = p->nNext;
    if( p->nNext < ARENA_BLOCK_MAX ) p->nNext *= 2;
  }
  pRet = p->pCur;
  p->pCur += n;
  p->nLeft -= n;
  arena_publish(p);
  return pRet;
}

size_t arena_usage(const arena *p){
  return atomic_load_explicit(&((arena*)p)->nUsage, memory_order_relaxed);
}

void arena_free(arena *p){
  arena_block *pBlock = p->pBlock;
  while( pBlock ){
    arena_block *pNext = pBlock->pNext;
    env_free(p->pEnv, pBlock);
    pBlock = pNext;
  }
  arena_init(p, p->pEnv);
}
