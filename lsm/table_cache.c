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
  int nOpen;                /* readers it holds (slots in the list)       */
  uint64_t nMisses;         /* opens made by table_cache_reader           */
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

/* Put p (holding pReader, the cache's reference) at the head.  If that
** puts the cache over capacity, one other slot leaves the list (the
** first from the tail without bRecent; flagged ones go back to the head,
** unflagged) and its reader is returned, for the caller to release once
** unlocked; else NULL.  p itself is skipped (its reader is being handed
** out).  Ends within two rounds of the list: after the first, every
** slot but p has its flag cleared, so the next one after p is taken. */
static sst_reader *lru_install(table_cache *pCache, table_cache_slot *p, sst_reader *pReader){
  sst_reader *pEvicted = NULL;
  assert( p->pReader == NULL );
  p->pReader = pReader;
  p->bRecent = 0;
  lru_push_front(pCache, p);
  pCache->nOpen++;
  while( pCache->nOpen > pCache->nCapacity ){
    table_cache_slot *pOld = pCache->pTail;
    lru_unlink(pCache, pOld);
    if( pOld == p || pOld->bRecent ){
      pOld->bRecent = 0;                 /* second chance */
      lru_push_front(pCache, pOld);
      continue;
    }
    pEvicted = pOld->pReader;
    pOld->pReader = NULL;
    pCache->nOpen--;
  }
  assert( pEvicted != pReader );
  return pEvicted;
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                            */
/* ------------------------------------------------------------------ */

int table_cache_new(lsm_env *pEnv, int nCapacity, table_cache **ppCache){
  int rc = LSM_OK;
  table_cache *p = env_malloc_rc(pEnv, sizeof(table_cache), &rc);   /* zeroed */
  assert( nCapacity >= 1 );
  *ppCache = p;
  if( p == NULL ) return rc;
  p->pEnv = pEnv;
  p->nCapacity = nCapacity;
  pthread_mutex_init(&p->mutex, NULL);
  return LSM_OK;
}

void table_cache_free(table_cache *p){
  if( p == NULL ) return;
  assert( p->nOpen == 0 && p->pHead == NULL && p->pTail == NULL );
  pthread_mutex_destroy(&p->mutex);
  env_free(p->pEnv, p);
}

/* ------------------------------------------------------------------ */
/* Operations                                                           */
/* ------------------------------------------------------------------ */

void table_cache_slot_init(table_cache_slot *pSlot, table_cache *pCache, const char *zPath){
  memset(pSlot, 0, sizeof(*pSlot));
  pSlot->pCache = pCache;
  pSlot->zPath = zPath;
}

void table_cache_insert(table_cache_slot *pSlot, sst_reader *pReader){
  table_cache *pCache = pSlot->pCache;
  sst_reader *pEvicted;
  pthread_mutex_lock(&pCache->mutex);
  pEvicted = lru_install(pCache, pSlot, pReader);
  pthread_mutex_unlock(&pCache->mutex);
  sst_reader_unref(pEvicted);
}

sst_reader *table_cache_reader(table_cache_slot *pSlot, int *pRc){
  table_cache *pCache = pSlot->pCache;
  sst_reader *pReader, *pNew = NULL, *pDrop = NULL;
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
  rc = sst_reader_open(pCache->pEnv, pSlot->zPath, &pNew);
  if( rc != LSM_OK ){
    *pRc = rc;
    return NULL;
  }
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
    pDrop = lru_install(pCache, pSlot, pNew);
  }
  pthread_mutex_unlock(&pCache->mutex);
  sst_reader_unref(pDrop);
  return pReader;
}

void table_cache_remove(table_cache_slot *pSlot){
  table_cache *pCache = pSlot->pCache;
  sst_reader *pReader;
  if( pCache == NULL ) return;
  pthread_mutex_lock(&pCache->mutex);
  pReader = pSlot->pReader;
  if( pReader ){
    lru_unlink(pCache, pSlot);
    pSlot->pReader = NULL;
    pCache->nOpen--;
  }
  pthread_mutex_unlock(&pCache->mutex);
  sst_reader_unref(pReader);
}

void table_cache_stats(table_cache *pCache, uint64_t *pnOpen, uint64_t *pnMisses){
  pthread_mutex_lock(&pCache->mutex);
  *pnOpen = (uint64_t)pCache->nOpen;
  *pnMisses = pCache->nMisses;
  pthread_mutex_unlock(&pCache->mutex);
}
