/*
** block_cache.c — a byte-bounded LRU cache of decoded SSTable data
** blocks, shared by every reader of a store or of several stores (see block_cache.h for the
** contract, the handles and the invariants).
**
** How it works: a chained hash table on (reader id, block number) whose
** bucket count doubles when entries outnumber buckets, and a circular
** LRU list of the cached entries nobody uses (LevelDB's LRUCache keeps
** the same two lists: in use, and evictable).  An entry's bytes follow
** its header in one allocation.
*/
#include "block_cache.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "env.h"

struct block_handle {
  block_cache *pCache;        /* the cache it was offered to, or NULL      */
  lsm_env *pEnv;              /* allocator                                 */
  uint64_t id;                /* (C) reader id                             */
  uint32_t iBlock;            /* (C) block number                          */
  int nRef;                   /* (C) handles out; private: 1               */
  int bCached;                /* (C) in the hash table                     */
  block_handle *pHashNext;    /* (C) next in the bucket                    */
  block_handle *pLruPrev;     /* (C) LRU neighbours, when evictable        */
  block_handle *pLruNext;     /* (C)                                       */
  size_t n;                   /* bytes in use                              */
  size_t nAlloc;              /* bytes allocated after the header          */
  uint8_t a[];                /* the block                                 */
};                            /* (C): under pCache's mutex once offered    */

struct lsm_block_cache {
  lsm_env *pEnv;              /* allocator of the cache and its entries    */
  atomic_int nRef;            /* stores (and lsm_block_cache_new's caller)
                              ** holding it; freed at 0                    */
  pthread_mutex_t mutex;      /* guards everything below                   */
  uint64_t nCapacity;         /* budget, bytes                             */
  uint64_t nCharge;           /* charge of the cached entries              */
  uint64_t nEntries;          /* cached entries                            */
  uint64_t nHits, nMisses;    /* lookups                                   */
  block_handle **apBucket;    /* nBucket chains                            */
  uint64_t nBucket;           /* a power of two                            */
  block_handle lru;           /* list head: lru.pLruNext is the coldest    */
};

#define BLOCK_CACHE_MIN_BUCKETS 256

static atomic_uint_fast64_t g_nextId = 1;

static uint64_t charge(const block_handle *h){
  return (uint64_t)h->nAlloc + sizeof(block_handle);
}

static uint64_t hash_key(uint64_t id, uint32_t iBlock){
  uint64_t h = id * 0x9e3779b97f4a7c15ull ^ ((uint64_t)iBlock * 0xc2b2ae3d27d4eb4full);
  return h ^ (h >> 29);
}

static void lru_remove(block_handle *h){
  h->pLruNext->pLruPrev = h->pLruPrev;
  h->pLruPrev->pLruNext = h->pLruNext;
  h->pLruNext = h->pLruPrev = NULL;
}

/* Append as the most recently used (just before the head). */
static void lru_append(block_cache *p, block_handle *h){
  h->pLruNext = &p->lru;
  h->pLruPrev = p->lru.pLruPrev;
  h->pLruPrev->pLruNext = h;
  p->lru.pLruPrev = h;
}

/* Insert as the least recently used (the next to be evicted). */
static void lru_prepend(block_cache *p, block_handle *h){
  h->pLruPrev = &p->lru;
  h->pLruNext = p->lru.pLruNext;
  h->pLruNext->pLruPrev = h;
  p->lru.pLruNext = h;
}

static block_handle **bucket_find(block_cache *p, uint64_t id, uint32_t iBlock){
  block_handle **pp = &p->apBucket[hash_key(id, iBlock) & (p->nBucket - 1)];
  while( *pp && ((*pp)->id != id || (*pp)->iBlock != iBlock) ) pp = &(*pp)->pHashNext;
  return pp;
}

/* Double the buckets (silently keeps the old size on OOM). */
static void grow(block_cache *p){
  uint64_t nNew = p->nBucket * 2, i;
  block_handle **aNew = env_malloc(p->pEnv, (size_t)nNew * sizeof(block_handle*));
  if( aNew == NULL ) return;
  memset(aNew, 0, (size_t)nNew * sizeof(block_handle*));
  for(i = 0; i < p->nBucket; i++){
    block_handle *h = p->apBucket[i];
    while( h ){
      block_handle *pNext = h->pHashNext;
      uint64_t k = hash_key(h->id, h->iBlock) & (nNew - 1);
      h->pHashNext = aNew[k];
      aNew[k] = h;
      h = pNext;
    }
  }
  env_free(p->pEnv, p->apBucket);
  p->apBucket = aNew;
  p->nBucket = nNew;
}

/* Take h out of the hash table (and the LRU list); REQUIRES cached.
** Returns 1 if it is now free to free (no references). */
static int uncache(block_cache *p, block_handle *h){
  block_handle **pp = bucket_find(p, h->id, h->iBlock);
  assert( h->bCached && *pp == h );
  *pp = h->pHashNext;
  h->pHashNext = NULL;
  h->bCached = 0;
  p->nCharge -= charge(h);
  p->nEntries--;
  if( h->nRef == 0 ){
    lru_remove(h);
    return 1;
  }
  return 0;
}

/* Unlink the coldest evictable entries until within budget; return them
** chained through pHashNext, to be freed unlocked. */
static block_handle *evict(block_cache *p){
  block_handle *pFree = NULL;
  while( p->nCharge > p->nCapacity && p->lru.pLruNext != &p->lru ){
    block_handle *h = p->lru.pLruNext;
    int bFree = uncache(p, h);
    assert( bFree );
    (void)bFree;
    h->pHashNext = pFree;
    pFree = h;
  }
  return pFree;
}

static void free_chain(block_handle *h){
  while( h ){
    block_handle *pNext = h->pHashNext;
    env_free(h->pEnv, h);
    h = pNext;
  }
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

int block_cache_new(lsm_env *pEnv, uint64_t nCapacity, block_cache **ppCache){
  int rc = LSM_OK;
  block_cache *p = env_malloc_rc(pEnv, sizeof(*p), &rc);     /* zeroed */
  *ppCache = NULL;
  if( p == NULL ) return rc;
  p->pEnv = pEnv;
  p->nCapacity = nCapacity;
  p->nBucket = BLOCK_CACHE_MIN_BUCKETS;
  p->apBucket = env_malloc_rc(pEnv, (size_t)p->nBucket * sizeof(block_handle*), &rc);
  if( rc ){
    env_free(pEnv, p);
    return rc;
  }
  p->lru.pLruNext = p->lru.pLruPrev = &p->lru;
  atomic_init(&p->nRef, 1);
  pthread_mutex_init(&p->mutex, NULL);
  *ppCache = p;
  return LSM_OK;
}

void block_cache_ref(block_cache *p){
  if( p ) atomic_fetch_add_explicit(&p->nRef, 1, memory_order_relaxed);
}

void block_cache_unref(block_cache *p){
  uint64_t i;
  if( p == NULL ) return;
  /* acq_rel: the freeing thread sees every other holder's last writes. */
  if( atomic_fetch_sub_explicit(&p->nRef, 1, memory_order_acq_rel) != 1 ) return;
  for(i = 0; i < p->nBucket; i++){
    block_handle *h = p->apBucket[i];
    while( h ){
      block_handle *pNext = h->pHashNext;
      assert( h->nRef == 0 );
      env_free(h->pEnv, h);
      h = pNext;
    }
  }
  pthread_mutex_destroy(&p->mutex);
  env_free(p->pEnv, p->apBucket);
  env_free(p->pEnv, p);
}

uint64_t block_cache_capacity(block_cache *p){
  uint64_t n;
  pthread_mutex_lock(&p->mutex);
  n = p->nCapacity;
  pthread_mutex_unlock(&p->mutex);
  return n;
}

void block_cache_set_capacity(block_cache *p, uint64_t nCapacity){
  block_handle *pFree;
  if( p == NULL ) return;
  pthread_mutex_lock(&p->mutex);
  p->nCapacity = nCapacity;
  pFree = evict(p);
  pthread_mutex_unlock(&p->mutex);
  free_chain(pFree);
}

int lsm_block_cache_new(uint64_t nCapacity, lsm_block_cache **ppCache){
  if( ppCache == NULL ) return LSM_MISUSE;
  return block_cache_new(lsm_env_default(), nCapacity, ppCache);
}

void lsm_block_cache_unref(lsm_block_cache *p){
  block_cache_unref(p);
}

void lsm_block_cache_set_capacity(lsm_block_cache *p, uint64_t nCapacity){
  block_cache_set_capacity(p, nCapacity);
}

uint64_t block_cache_new_id(void){
  return atomic_fetch_add_explicit(&g_nextId, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* Operations                                                          */
/* ------------------------------------------------------------------ */

block_handle *block_cache_lookup_counted(block_cache *p, block_cache_counts *pCounts,
                                         uint64_t id, uint32_t iBlock){
  block_handle *h;
  if( p == NULL ) return NULL;
  pthread_mutex_lock(&p->mutex);
  h = *bucket_find(p, id, iBlock);
  if( h ){
    if( h->nRef++ == 0 ) lru_remove(h);
    p->nHits++;
    if( pCounts ) pCounts->nHits++;
  }else{
    p->nMisses++;
    if( pCounts ) pCounts->nMisses++;
  }
  pthread_mutex_unlock(&p->mutex);
  return h;
}

block_handle *block_cache_lookup(block_cache *p, uint64_t id, uint32_t iBlock){
  return block_cache_lookup_counted(p, NULL, id, iBlock);
}

void block_cache_read_counts(block_cache *p, const block_cache_counts *pCounts,
                             block_cache_counts *pOut){
  memset(pOut, 0, sizeof(*pOut));
  if( p == NULL ) return;
  pthread_mutex_lock(&p->mutex);
  *pOut = *pCounts;
  pthread_mutex_unlock(&p->mutex);
}

block_handle *block_handle_alloc(block_cache *pCache, lsm_env *pEnv, size_t n){
  block_handle *h;
  if( pCache ) pEnv = pCache->pEnv;
  h = env_malloc(pEnv, sizeof(block_handle) + (n ? n : 1));
  if( h == NULL ) return NULL;
  memset(h, 0, sizeof(*h));
  h->pEnv = pEnv;
  h->nRef = 1;
  h->n = h->nAlloc = n;
  return h;
}

uint8_t *block_handle_buf(block_handle *h){
  return h->a;
}

void block_handle_set_size(block_handle *h, size_t n){
  assert( n <= h->nAlloc && h->pCache == NULL );
  h->n = n;
}

block_handle *block_cache_insert(block_cache *p, uint64_t id, uint32_t iBlock, block_handle *h){
  block_handle **pp, *pFree = NULL, *pOld;
  if( p == NULL ) return h;
  assert( h->pCache == NULL && h->nRef == 1 );
  pthread_mutex_lock(&p->mutex);
  pp = bucket_find(p, id, iBlock);
  pOld = *pp;
  if( pOld ){
    /* Another thread read it first: use that one. */
    if( pOld->nRef++ == 0 ) lru_remove(pOld);
  }else{
    h->pCache = p;
    h->id = id;
    h->iBlock = iBlock;
    h->bCached = 1;
    h->pHashNext = NULL;
    *pp = h;
    p->nCharge += charge(h);
    p->nEntries++;
    if( p->nEntries > p->nBucket ) grow(p);
    pFree = evict(p);
  }
  pthread_mutex_unlock(&p->mutex);
  free_chain(pFree);
  if( pOld ){
    env_free(h->pEnv, h);
    return pOld;
  }
  return h;
}

const uint8_t *block_handle_data(const block_handle *h, size_t *pn){
  *pn = h->n;
  return h->a;
}

/* Drop a reference; an entry left unused joins the LRU list at its cold
** end (bCold) or its hot end. */
static void release_to(block_handle *h, int bCold){
  block_cache *p;
  block_handle *pFree = NULL;
  int bFree;
  if( h == NULL ) return;
  p = h->pCache;
  if( p == NULL ){
    assert( h->nRef == 1 );
    env_free(h->pEnv, h);
    return;
  }
  pthread_mutex_lock(&p->mutex);
  assert( h->nRef > 0 );
  bFree = --h->nRef == 0 && !h->bCached;
  if( h->nRef == 0 && h->bCached ){
    if( bCold ) lru_prepend(p, h);
    else lru_append(p, h);
    pFree = evict(p);
  }
  pthread_mutex_unlock(&p->mutex);
  free_chain(pFree);
  if( bFree ) env_free(h->pEnv, h);
}

void block_cache_release(block_handle *h){
  release_to(h, 0);
}

void block_cache_release_cold(block_handle *h){
  release_to(h, 1);
}

void block_cache_erase(block_cache *p, uint64_t id, uint32_t nBlock){
  block_handle *pFree = NULL;
  uint32_t i;
  if( p == NULL || nBlock == 0 ) return;
  pthread_mutex_lock(&p->mutex);
  if( p->nEntries ){
    for(i = 0; i < nBlock; i++){
      block_handle *h = *bucket_find(p, id, i);
      if( h && uncache(p, h) ){
        h->pHashNext = pFree;
        pFree = h;
      }
    }
  }
  pthread_mutex_unlock(&p->mutex);
  free_chain(pFree);
}

void block_cache_get_stats(block_cache *p, block_cache_stats *pStats){
  memset(pStats, 0, sizeof(*pStats));
  if( p == NULL ) return;
  pthread_mutex_lock(&p->mutex);
  pStats->nCapacity = p->nCapacity;
  pStats->nCharge = p->nCharge;
  pStats->nEntries = p->nEntries;
  pStats->nHits = p->nHits;
  pStats->nMisses = p->nMisses;
  pthread_mutex_unlock(&p->mutex);
}
