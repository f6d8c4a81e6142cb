/*
** table_cache.c — the bounded set of open SSTable readers of a store.
**
** See table_cache.h for the concept, the locking and the invariants.
** The list is threaded through the slots the tables embed
** (table_cache_slot.pLruPrev / pLruNext); no lookup structure is needed
** because the caller already has the slot.  Recency is kept the CLOCK way (second chance): a hit
** only sets the table's bRecent flag, and eviction walks from the tail,
** moving each flagged table back to the head with its flag cleared,
** until it finds an unflagged one.  That approximates least recently
** used while a hit costs a lock, a flag store, a reference count
** increment and an unlock, instead of relinking the table at the head
** (which writes the cache lines of two neighbouring slots on every
** probe: measurable on readrandom).
*/
#include "table_cache.h"

#include <assert.h>
#include <pthread.h>
#include <string.h>

#include "env.h"

struct table_cache {
  lsm_env *pEnv;            /* allocator of this struct; opens readers    */
  pthread_mutex_t mutex;    /* guards the fields below and every table's
                            ** slot's pReader, pLruPrev, pLruNext and
                            ** bRecent                                    */
  int nCapacity;            /* most readers the cache holds               */
  uint64_t nMaxBytes;       /* most heap they may be charged              */
  int nOpen;                /* readers it holds (slots in the list)       */
  uint64_t nBytes;          /* heap charged to them (sum of nCharge)      */
  uint64_t nMisses;         /* opens made by table_cache_reader           */
  block_cache *pBlocks;     /* data blocks of every reader (a reference), or NULL */
  block_cache_counts blockCounts; /* this store's lookups in pBlocks (under
                            ** pBlocks' mutex), for lsm_stats            */
  int bMap;                 /* readers map their files                    */
  table_cache_slot *pHead;  /* where slots enter the list                  */
  table_cache_slot *pTail;  /* where eviction looks first                  */
};

/* ------------------------------------------------------------------ */
/* The list (REQUIRES the mutex)                                        */
/* ------------------------------------------------------------------ */

static void lru_unlink(table_cache *pCache, table_cache_slot *p){
  if( p->pLruPrev ) p->pLruPrev->pLruNext = p->pLruNext;
  else pCache->pHead = p->pLruNext;
  if( p->pLruNext ) p->pLruNext->pLruPrev = p->pLruPrev;
  else pCache->pTail = p->pLruPrev;
  p->pLruPrev = p->pLruNext = NULL;
}

static void lru_push_front(table_cache *pCache, table_cache_slot *p){
  p->pLruPrev = NULL;
  p->pLruNext = pCache->pHead;
  if( pCache->pHead ) pCache->pHead->pLruPrev = p;
  else pCache->pTail = p;
  pCache->pHead = p;
}

/* Put p (holding pReader, the cache's reference, charged nCharge bytes)
** at the head.  The caller then calls trim. */
static void lru_install(table_cache *pCache, table_cache_slot *p, sst_reader *pReader,
                        size_t nCharge){
  assert( p->pReader == NULL );
  p->pReader = pReader;
  p->bRecent = 0;
  p->nCharge = nCharge;
  p->nBlocks = sst_reader_blocks(pReader);
  lru_push_front(pCache, p);
  pCache->nOpen++;
  pCache->nBytes += nCharge;
}

/* True while the cache holds more than its bounds allow. */
static int over_budget(const table_cache *pCache){
  return pCache->nOpen > pCache->nCapacity || pCache->nBytes > pCache->nMaxBytes;
}

#define TRIM_BATCH 16     /* readers evicted per lock hold */

/*
** Evict until the cache is within its bounds: from the tail, the first
** slot without bRecent leaves the list (flagged ones go back to the head,
** unflagged: a second chance).  pKeep, the slot whose reader is being
** handed out, is never evicted, so eviction also stops when it is alone.
** Evicted readers are released unlocked (a release may unmap a file and
** take the block cache's lock), TRIM_BATCH at a time: one install of a
** large reader can push out many small ones.  Each eviction ends within
** two rounds of the list: after the first, every slot but pKeep has its
** flag cleared.
*/
static void trim(table_cache *pCache, table_cache_slot *pKeep){
  sst_reader *aEvicted[TRIM_BATCH];
  int n, i;
  do{
    n = 0;
    pthread_mutex_lock(&pCache->mutex);
    while( n < TRIM_BATCH && pCache->nOpen > 1 && over_budget(pCache) ){
      table_cache_slot *pOld = pCache->pTail;
      lru_unlink(pCache, pOld);
      if( pOld == pKeep || pOld->bRecent ){
        pOld->bRecent = 0;
        lru_push_front(pCache, pOld);
        continue;
      }
      aEvicted[n++] = pOld->pReader;
      pOld->pReader = NULL;
      pCache->nOpen--;
      pCache->nBytes -= pOld->nCharge;
      pOld->nCharge = 0;
    }
    pthread_mutex_unlock(&pCache->mutex);
    for(i = 0; i < n; i++) sst_reader_unref(aEvicted[i]);
  }while( n == TRIM_BATCH );
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                            */
/* ------------------------------------------------------------------ */

int table_cache_new(lsm_env *pEnv, int nCapacity, uint64_t nMaxBytes, table_cache **ppCache){
  int rc = LSM_OK;
  table_cache *p = env_malloc_rc(pEnv, sizeof(table_cache), &rc);   /* zeroed */
  assert( nCapacity >= 1 );
  *ppCache = p;
  if( p == NULL ) return rc;
  p->pEnv = pEnv;
  p->nCapacity = nCapacity;
  p->nMaxBytes = nMaxBytes;
  pthread_mutex_init(&p->mutex, NULL);
  return LSM_OK;
}

void table_cache_free(table_cache *p){
  if( p == NULL ) return;
  assert( p->nOpen == 0 && p->pHead == NULL && p->pTail == NULL );
  pthread_mutex_destroy(&p->mutex);
  block_cache_unref(p->pBlocks);
  env_free(p->pEnv, p);
}

/* ------------------------------------------------------------------ */
/* Operations                                                           */
/* ------------------------------------------------------------------ */

void table_cache_slot_init(table_cache_slot *pSlot, table_cache *pCache, const char *zPath){
  memset(pSlot, 0, sizeof(*pSlot));
  pSlot->pCache = pCache;
  pSlot->zPath = zPath;
  pSlot->idBlocks = block_cache_new_id();
}

void table_cache_insert(table_cache_slot *pSlot, sst_reader *pReader){
  table_cache *pCache = pSlot->pCache;
  size_t nCharge = sst_reader_heap_bytes(pReader);
  pthread_mutex_lock(&pCache->mutex);
  lru_install(pCache, pSlot, pReader, nCharge);
  pthread_mutex_unlock(&pCache->mutex);
  trim(pCache, pSlot);
}

sst_reader *table_cache_reader(table_cache_slot *pSlot, int *pRc){
  table_cache *pCache = pSlot->pCache;
  sst_reader *pReader, *pNew = NULL, *pDrop = NULL;
  size_t nCharge;
  int rc;

  if( *pRc != LSM_OK ) return NULL;
  /* Hit: the usual case. */
  pthread_mutex_lock(&pCache->mutex);
  pReader = pSlot->pReader;
  if( pReader ){
    sst_reader_ref(pReader);
    if( !pSlot->bRecent ) pSlot->bRecent = 1;
  }
  pthread_mutex_unlock(&pCache->mutex);
  if( pReader ) return pReader;

  /* Miss: open unlocked, then install unless another thread did. */
  rc = table_cache_open_reader(pSlot, &pNew);
  if( rc != LSM_OK ){
    *pRc = rc;
    return NULL;
  }
  nCharge = sst_reader_heap_bytes(pNew);
  pthread_mutex_lock(&pCache->mutex);
  pCache->nMisses++;
  pReader = pSlot->pReader;
  if( pReader ){
    sst_reader_ref(pReader);
    pSlot->bRecent = 1;
    pDrop = pNew;
  }else{
    pReader = pNew;
    sst_reader_ref(pReader);                 /* the caller's; the cache keeps pNew's */
    lru_install(pCache, pSlot, pNew, nCharge);
  }
  pthread_mutex_unlock(&pCache->mutex);
  sst_reader_unref(pDrop);
  if( pDrop == NULL ) trim(pCache, pSlot);
  return pReader;
}

void table_cache_readers_if_open(table_cache_slot *const *apSlot, int n, sst_reader **apReader){
  table_cache *pCache;
  int i;
  if( n <= 0 ) return;
  pCache = apSlot[0]->pCache;
  pthread_mutex_lock(&pCache->mutex);
  for(i = 0; i < n; i++){
    table_cache_slot *pSlot = apSlot[i];
    assert( pSlot->pCache == pCache );
    apReader[i] = pSlot->pReader;
    if( apReader[i] ){
      sst_reader_ref(apReader[i]);
      if( !pSlot->bRecent ) pSlot->bRecent = 1;
    }
  }
  pthread_mutex_unlock(&pCache->mutex);
}

void table_cache_remove(table_cache_slot *pSlot){
  table_cache *pCache = pSlot->pCache;
  sst_reader *pReader;
  uint32_t nBlocks;
  if( pCache == NULL ) return;
  pthread_mutex_lock(&pCache->mutex);
  pReader = pSlot->pReader;
  if( pReader ){
    lru_unlink(pCache, pSlot);
    pSlot->pReader = NULL;
    pCache->nOpen--;
    pCache->nBytes -= pSlot->nCharge;
    pSlot->nCharge = 0;
  }
  nBlocks = pSlot->nBlocks;
  pthread_mutex_unlock(&pCache->mutex);
  sst_reader_unref(pReader);
  block_cache_erase(pCache->pBlocks, pSlot->idBlocks, nBlocks);
}

void table_cache_stats(table_cache *pCache, uint64_t *pnOpen, uint64_t *pnBytes,
                       uint64_t *pnMisses){
  pthread_mutex_lock(&pCache->mutex);
  *pnOpen = (uint64_t)pCache->nOpen;
  *pnBytes = pCache->nBytes;
  *pnMisses = pCache->nMisses;
  pthread_mutex_unlock(&pCache->mutex);
}

int table_cache_set_blocks(table_cache *pCache, block_cache *pShared, uint64_t nBlockBytes,
                           int bMap){
  assert( pCache->pBlocks == NULL && pCache->nOpen == 0 );
  pCache->bMap = bMap;
  if( pShared ){
    block_cache_ref(pShared);
    pCache->pBlocks = pShared;
    return LSM_OK;
  }
  return block_cache_new(pCache->pEnv, nBlockBytes, &pCache->pBlocks);
}

block_cache *table_cache_blocks(table_cache *pCache){
  return pCache->pBlocks;
}

void table_cache_block_counts(table_cache *pCache, block_cache_counts *pOut){
  block_cache_read_counts(pCache->pBlocks, &pCache->blockCounts, pOut);
}

int table_cache_open_reader(table_cache_slot *pSlot, sst_reader **ppReader){
  table_cache *pCache = pSlot->pCache;
  return sst_reader_open_shared(pCache->pEnv, pSlot->zPath, pCache->pBlocks,
                                &pCache->blockCounts, pCache->bMap,
                                pSlot->idBlocks, ppReader);
}
