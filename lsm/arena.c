/*
** arena.c — bump allocation over env blocks (the concept is in arena.h).
**
** Allocation is a pointer bump in the current block.  When the request
** does not fit, a new block is started, twice the size of the last one up
** to ARENA_BLOCK_MAX (the old tail is wasted: at most a quarter of that
** block); a request over a quarter of the next block's size gets a
** dedicated block and the current block keeps serving small requests.
** With a pool, a standard block is taken from the pool when it holds one
** (at ARENA_BLOCK_MAX, whatever the doubling had reached: the pooled
** block's pages are already touched, so its size costs nothing), and
** freeing gives standard blocks back under the pool's bound.
*/
#include "arena.h"

#include <assert.h>

#include "env.h"

/* Block header; the payload follows it (8 bytes, so it stays aligned;
** kept at one pointer so that a memtable's usage, which decides when it
** is full, is what it was before pools).  A block's size is known by the
** list it is on: arena.pStandard holds the ARENA_BLOCK_MAX ones. */
struct arena_block {
  arena_block *pNext;           /* older block on its list, or NULL     */
};

/* Round n up to a multiple of ARENA_ALIGN. */
static size_t arena_round(size_t n){
  return (n + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
}

/* Bytes a standard block takes from the environment. */
#define ARENA_STANDARD_TOTAL (sizeof(arena_block) + ARENA_BLOCK_MAX)

/* A held block for an arena of the pool, or NULL if it holds none. */
static arena_block *pool_take(arena_pool *pPool){
  arena_block *pBlock;
  mutex_lock(&pPool->mutex);
  pBlock = pPool->pFree;
  if( pBlock ){
    pPool->pFree = pBlock->pNext;
    pPool->nFree--;
    pPool->nReused++;
  }
  mutex_unlock(&pPool->mutex);
  return pBlock;
}

/* Keep pBlock (a standard block) if the bound allows: 1 if kept. */
static int pool_give(arena_pool *pPool, arena_block *pBlock){
  int bKept = 0;
  mutex_lock(&pPool->mutex);
  if( (pPool->nFree + 1) * ARENA_STANDARD_TOTAL <= pPool->nMaxBytes ){
    pBlock->pNext = pPool->pFree;
    pPool->pFree = pBlock;
    pPool->nFree++;
    bKept = 1;
  }
  mutex_unlock(&pPool->mutex);
  return bKept;
}

/* Publish the usage after a change (invariant 2). */
static void arena_publish(arena *p){
  atomic_store_explicit(&p->nUsage, p->nTotal - p->nLeft, memory_order_relaxed);
}

/* Link pBlock (nByte payload bytes) at the head of its list. */
static uint8_t *arena_link(arena *p, arena_block *pBlock, size_t nByte){
  arena_block **ppList = nByte == ARENA_BLOCK_MAX ? &p->pStandard : &p->pBlock;
  pBlock->pNext = *ppList;
  *ppList = pBlock;
  p->nTotal += sizeof(arena_block) + nByte;
  return (uint8_t*)(pBlock + 1);
}

/* A new block with nByte usable bytes, linked at the head of the list;
** the pool's when nByte is a standard block's and the pool holds one. */
static uint8_t *arena_new_block(arena *p, size_t nByte){
  arena_block *pBlock = NULL;
  if( p->pPool && nByte == ARENA_BLOCK_MAX ) pBlock = pool_take(p->pPool);
  if( pBlock == NULL ) pBlock = (arena_block*)env_malloc(p->pEnv, sizeof(arena_block) + nByte);
  if( pBlock == NULL ) return NULL;
  return arena_link(p, pBlock, nByte);
}

/* A pooled block as the next standard block, or NULL if the arena has no
** pool or it holds none.  Taken at ARENA_BLOCK_MAX whatever the doubling
** had reached: its pages are touched already, so its size costs nothing
** (and the arena's next blocks are standard ones too). */
static uint8_t *arena_pooled_block(arena *p){
  arena_block *pBlock = p->pPool ? pool_take(p->pPool) : NULL;
  if( pBlock == NULL ) return NULL;
  p->nNext = ARENA_BLOCK_MAX;
  return arena_link(p, pBlock, ARENA_BLOCK_MAX);
}

void arena_init(arena *p, lsm_env *pEnv){
  p->pEnv = pEnv;
  p->pPool = NULL;
  p->pCur = NULL;
  p->nLeft = 0;
  p->pBlock = NULL;
  p->pStandard = NULL;
  p->nNext = ARENA_BLOCK_MIN;
  p->nTotal = 0;
  atomic_init(&p->nUsage, 0);
}

void arena_init_pooled(arena *p, lsm_env *pEnv, arena_pool *pPool){
  arena_init(p, pEnv);
  if( pPool ){
    assert( pPool->pEnv == pEnv );
    mutex_lock(&pPool->mutex);
    pPool->nArena++;
    mutex_unlock(&pPool->mutex);
    p->pPool = pPool;
  }
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
    pRet = arena_pooled_block(p);
    if( pRet == NULL ) pRet = arena_new_block(p, p->nNext);
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
  pBlock = p->pStandard;
  while( pBlock ){
    arena_block *pNext = pBlock->pNext;
    if( p->pPool == NULL || !pool_give(p->pPool, pBlock) ) env_free(p->pEnv, pBlock);
    pBlock = pNext;
  }
  if( p->pPool ){
    mutex_lock(&p->pPool->mutex);
    assert( p->pPool->nArena > 0 );
    p->pPool->nArena--;
    mutex_unlock(&p->pPool->mutex);
  }
  arena_init(p, p->pEnv);
}

/* ---- the pool ---- */

void arena_pool_init(arena_pool *pPool, lsm_env *pEnv, size_t nMaxBytes){
  mutex_init(&pPool->mutex);
  pPool->pEnv = pEnv;
  pPool->nMaxBytes = nMaxBytes;
  pPool->pFree = NULL;
  pPool->nFree = 0;
  pPool->nArena = 0;
  pPool->nReused = 0;
}

size_t arena_pool_bytes(arena_pool *pPool){
  size_t n;
  mutex_lock(&pPool->mutex);
  n = pPool->nFree * ARENA_STANDARD_TOTAL;
  mutex_unlock(&pPool->mutex);
  return n;
}

uint64_t arena_pool_reused(arena_pool *pPool){
  uint64_t n;
  mutex_lock(&pPool->mutex);
  n = pPool->nReused;
  mutex_unlock(&pPool->mutex);
  return n;
}

void arena_pool_destroy(arena_pool *pPool){
  arena_block *pBlock = pPool->pFree;
  assert( pPool->nArena == 0 );
  while( pBlock ){
    arena_block *pNext = pBlock->pNext;
    env_free(pPool->pEnv, pBlock);
    pBlock = pNext;
  }
  pPool->pFree = NULL;
  pPool->nFree = 0;
  mutex_destroy(&pPool->mutex);
}
