/*
** table_cache.c — the bounded set of open SSTable readers of a store.
**
** See table_cache.h for the concept, the locking and the invariants.
** The list is threaded through the tables themselves (table.pLruPrev /
** pLruNext); no lookup structure is needed because the caller already
** has the table.  Recency is kept the CLOCK way (second chance): a hit
** only sets the table's bRecent flag, and eviction walks from the tail,
** moving each flagged table back to the head with its flag cleared,
** until it finds an unflagged one.  That approximates least recently
** used while a hit costs a lock, a flag store, a reference count
** increment and an unlock, instead of relinking the table at the head
** (which writes the cache lines of two neighbouring tables on every
** probe: measurable on readrandom).
*/
#include "table_cache.h"

#include <assert.h>
#include <pthread.h>

#include "env.h"
#include "version.h"

struct table_cache {
  lsm_env *pEnv;            /* allocator of this struct                   */
  pthread_mutex_t mutex;    /* guards the fields below and every table's
                            ** pReader, pLruPrev, pLruNext and bRecent  */
  int nCapacity;            /* most readers the cache holds               */
  int nOpen;                /* readers it holds (tables in the list)      */
  uint64_t nMisses;         /* opens made by table_cache_reader           */
  table *pHead;             /* where tables enter the list                 */
  table *pTail;             /* where eviction looks first                  */
};

/* ------------------------------------------------------------------ */
/* The list (REQUIRES the mutex)                                        */
/* ------------------------------------------------------------------ */

static void lru_unlink(table_cache *pCache, table *p){
  if( p->pLruPrev ) p->pLruPrev->pLruNext = p->pLruNext;
  else pCache->pHead = p->pLruNext;
  if( p->pLruNext ) p->pLruNext->pLruPrev = p->pLruPrev;
  else pCache->pTail = p->pLruPrev;
  p->pLruPrev = p->pLruNext = NULL;
}

static void lru_push_front(table_cache *pCache, table *p){
  p->pLruPrev = NULL;
  p->pLruNext = pCache->pHead;
  if( pCache->pHead ) pCache->pHead->pLruPrev = p;
  else pCache->pTail = p;
  pCache->pHead = p;
}

/* Put p (holding pReader, the cache's reference) at the head.  If that
** puts the cache over capacity, one other table leaves the list (the
** first from the tail without bRecent; flagged ones go back to the head,
** unflagged) and its reader is returned, for the caller to release once
** unlocked; else NULL.  p itself is skipped (its reader is being handed
** out).  Ends within two rounds of the list: after the first, every
** table but p has its flag cleared, so the next one after p is taken. */
static sst_reader *lru_install(table_cache *pCache, table *p, sst_reader *pReader){
  sst_reader *pEvicted = NULL;
  assert( p->pReader == NULL );
  p->pReader = pReader;
  p->bRecent = 0;
  lru_push_front(pCache, p);
  pCache->nOpen++;
  while( pCache->nOpen > pCache->nCapacity ){
    table *pOld = pCache->pTail;
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

void table_cache_insert(table *pTable, sst_reader *pReader){
  table_cache *pCache = pTable->pCache;
  sst_reader *pEvicted;
  pthread_mutex_lock(&pCache->mutex);
  pEvicted = lru_install(pCache, pTable, pReader);
  pthread_mutex_unlock(&pCache->mutex);
  sst_reader_unref(pEvicted);
}

sst_reader *table_cache_reader(table *pTable, int *pRc){
  table_cache *pCache = pTable->pCache;
  sst_reader *pReader, *pNew = NULL, *pDrop = NULL;
  int rc;

  if( *pRc != LSM_OK ) return NULL;
  /* Hit: the usual case. */
  pthread_mutex_lock(&pCache->mutex);
  pReader = pTable->pReader;
  if( pReader ){
    sst_reader_ref(pReader);
    if( !pTable->bRecent ) pTable->bRecent = 1;
  }
  pthread_mutex_unlock(&pCache->mutex);
  if( pReader ) return pReader;

  /* Miss: open unlocked, then install unless another thread did. */
  rc = sst_reader_open(pTable->pEnv, pTable->zPath, &pNew);
  if( rc != LSM_OK ){
    *pRc = rc;
    return NULL;
  }
  pthread_mutex_lock(&pCache->mutex);
  pCache->nMisses++;
  pReader = pTable->pReader;
  if( pReader ){
    sst_reader_ref(pReader);
    pTable->bRecent = 1;
    pDrop = pNew;
  }else{
    pReader = pNew;
    sst_reader_ref(pReader);                 /* the caller's; the cache keeps pNew's */
    pDrop = lru_install(pCache, pTable, pNew);
  }
  pthread_mutex_unlock(&pCache->mutex);
  sst_reader_unref(pDrop);
  return pReader;
}

void table_cache_remove(table *pTable){
  table_cache *pCache = pTable->pCache;
  sst_reader *pReader;
  if( pCache == NULL ) return;
  pthread_mutex_lock(&pCache->mutex);
  pReader = pTable->pReader;
  if( pReader ){
    lru_unlink(pCache, pTable);
    pTable->pReader = NULL;
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
