/*
** skiplist.c — search and insertion for the skiplist in skiplist.h.
**
** Every search walks from the head at the top level: move right while the
** successor's key is smaller than the target, else step down a level.
** Insertion records the last node visited at each level (apPrev), builds
** the new node's links from apPrev's successors, and publishes the node
** bottom-up with release stores, so a concurrent reader either misses the
** node or finds it complete (skiplist.h, "Thread safety").
**
** The insert's apPrev is the list's splice itself (skiplist.h, invariant
** 5): the search writes the new predecessors over it, and the insert
** then puts the new node at the levels it is linked at.  A key after the
** last one inserted searches from the splice (find_prev_after_splice);
** readers never see the splice, so it needs no ordering of its own.
*/
#include "skiplist.h"

#include <assert.h>
#include <string.h>

#include "ikey.h"
#include "lsm.h"

/* Successor of p at level i, as a reader sees it. */
static inline skiplist_node *node_next(const skiplist_node *p, int i){
  return atomic_load_explicit(&((skiplist_node*)p)->apNext[i], memory_order_acquire);
}

/*
** A search target: an internal key split into user key and trailer once,
** so that each comparison is one memcmp and at most one trailer load.
*/
typedef struct search_target {
  const uint8_t *pUser;         /* user key bytes                      */
  size_t nUser;                 /* user key length                     */
  uint64_t trailer;             /* seq << 8 | type                     */
} search_target;

/* Compare a node's key with the target (ikey_compare order). */
static inline int node_cmp(const skiplist_node *p, const search_target *pT){
  size_t n;
  const uint8_t *pNodeKey = skiplist_node_key(p, &n);
  int c = ikey_compare_user_inline(pNodeKey, n - IKEY_TRAILER, pT->pUser, pT->nUser);
  if( c == 0 ){
    uint64_t t = ikey_trailer(pNodeKey, n);
    c = t > pT->trailer ? -1 : (t < pT->trailer ? 1 : 0);
  }
  return c;
}

static void target_init(search_target *pT, const uint8_t *pKey, size_t nKey){
  assert( nKey >= IKEY_TRAILER );
  pT->pUser = pKey;
  pT->nUser = ikey_user_len(nKey);
  pT->trailer = ikey_trailer(pKey, nKey);
}

/*
** While pNext's key is compared, fetch both nodes the next comparison of a
** search at level i may need: the one after pNext (a step right) and p's
** successor a level down (a step down).  With random keys each is a cache
** miss; this overlaps it with the comparison.  Hints only: neither
** address is dereferenced here, and both links lie in lines already read.
*/
static inline void prefetch_next_steps(const skiplist_node *p, const skiplist_node *pNext, int i){
  if( pNext != NULL ) __builtin_prefetch(node_next(pNext, i));
  if( i > 0 ) __builtin_prefetch(node_next(p, i - 1));
}

/*
** The first node >= key, or NULL.  If apPrev is not NULL, apPrev[i] gets
** the last node < key at level i, for every level below the list height.
** A successor already found >= key at the level above needs no second
** comparison (pBigger).
*/
static skiplist_node *find_ge(const skiplist *pList, const search_target *pT,
                                 skiplist_node **apPrev){
  skiplist_node *p = pList->pHead;
  skiplist_node *pBigger = NULL;
  int i = atomic_load_explicit(&((skiplist*)pList)->nHeight, memory_order_relaxed) - 1;
  for(;;){
    skiplist_node *pNext = node_next(p, i);
    prefetch_next_steps(p, pNext, i);
    if( pNext != NULL && pNext != pBigger && node_cmp(pNext, pT) < 0 ){
      p = pNext;
    }else{
      if( apPrev ) apPrev[i] = p;
      if( i == 0 ) return pNext;
      pBigger = pNext;
      i--;
    }
  }
}

/*
** Writer only.  find_ge's apPrev for a key known to be greater than
** pList->pLast's, searched from the splice, whose entries it replaces
** with the new predecessors.  Why each level may start where it does:
** apSplice[i] (before this search) is the last node at level i with a key
** <= pLast's (invariant 5), so every node of level i between it and the
** new key is greater than pLast.  If the walk at level i moved right of
** apSplice[i], it stopped on such a node, which is then a better start
** for level i - 1 than apSplice[i - 1] (<= pLast); if it did not,
** apSplice[i - 1] is the better one (level i - 1 holds apSplice[i], so
** its last node <= pLast is not before it).  Either way the start is a
** node below the key, as the search from the head would pass it.
*/
static void find_prev_after_splice(skiplist *pList, const search_target *pT){
  skiplist_node **apSplice = pList->apSplice;
  skiplist_node *pBigger = NULL;
  int i = atomic_load_explicit(&pList->nHeight, memory_order_relaxed) - 1;
  skiplist_node *pOld = apSplice[i];      /* apSplice[i] before this search */
  skiplist_node *p = pOld;
  for(;;){
    skiplist_node *pNext = node_next(p, i);
    /* As find_ge: about half of random keys sort after the last insert
    ** and take this walk (a reviewer timed random fills of 120k entries
    ** about 10% slower without the prefetches; instruction counts do not
    ** see the misses). */
    prefetch_next_steps(p, pNext, i);
    if( pNext != NULL && pNext != pBigger && node_cmp(pNext, pT) < 0 ){
      p = pNext;
    }else{
      apSplice[i] = p;
      if( i == 0 ) return;
      pBigger = pNext;
      i--;
      if( p == pOld ) p = apSplice[i];
      pOld = apSplice[i];
    }
  }
}

/* A height in 1..SKIPLIST_MAX_HEIGHT: each extra level with p = 1/4. */
static int random_height(skiplist *pList){
  uint64_t x = pList->iRand;
  int h = 1;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  pList->iRand = x;
  while( h < SKIPLIST_MAX_HEIGHT && (x & (SKIPLIST_BRANCHING - 1)) == 0 ){
    h++;
    x >>= 2;
  }
  return h;
}

int skiplist_init(skiplist *pList, arena *pArena){
  size_t nByte = sizeof(skiplist_node) + SKIPLIST_MAX_HEIGHT * sizeof(skiplist_node*);
  skiplist_node *pHead = (skiplist_node*)arena_alloc(pArena, nByte);
  int i;
  if( pHead == NULL ) return LSM_NOMEM;
  pHead->nKey = 0;
  pHead->nHeight = SKIPLIST_MAX_HEIGHT;
  pHead->nVal = 0;
  for(i = 0; i < SKIPLIST_MAX_HEIGHT; i++) atomic_init(&pHead->apNext[i], NULL);
  pList->pArena = pArena;
  pList->pHead = pHead;
  atomic_init(&pList->nHeight, 1);
  pList->iRand = 0x2545F4914F6CDD1Dull;
  pList->pLast = NULL;
  for(i = 0; i < SKIPLIST_MAX_HEIGHT; i++) pList->apSplice[i] = pHead;
  return LSM_OK;
}

skiplist_node *skiplist_node_new(skiplist *pList, size_t nKey, size_t nVal){
  int h = random_height(pList);
  size_t nByte = sizeof(skiplist_node) + (size_t)h * sizeof(skiplist_node*) + nKey + nVal;
  skiplist_node *p;
  assert( nKey < (1u << 24) && nVal <= UINT32_MAX );
  p = (skiplist_node*)arena_alloc(pList->pArena, nByte);
  if( p == NULL ) return NULL;
  p->nKey = (uint32_t)nKey;
  p->nHeight = (uint32_t)h;
  p->nVal = (uint32_t)nVal;
  return p;
}

void skiplist_insert(skiplist *pList, skiplist_node *pNode){
  skiplist_node **apPrev = pList->apSplice;   /* the search renews the splice */
  size_t nKey;
  const uint8_t *pKey = skiplist_node_key(pNode, &nKey);
  int h = (int)pNode->nHeight;
  int nHeight = atomic_load_explicit(&pList->nHeight, memory_order_relaxed);
  int i;
  search_target t;

  target_init(&t, pKey, nKey);
  if( pList->pLast != NULL && node_cmp(pList->pLast, &t) < 0 ){
    /* After the list's last node, the splice is the key's place at every
    ** level as it is: each apSplice[i] is the last node of its level. */
    if( node_next(pList->pLast, 0) != NULL ) find_prev_after_splice(pList, &t);
  }else{
    find_ge(pList, &t, apPrev);
  }
  /* Invariant 1: equal keys are never inserted (and the search stopped
  ** before the first greater key; a check that costs nothing at the end
  ** of the list, one comparison elsewhere, as before the splice). */
  assert( node_next(apPrev[0], 0) == NULL || node_cmp(node_next(apPrev[0], 0), &t) > 0 );

  if( h > nHeight ){
    for(i = nHeight; i < h; i++) apPrev[i] = pList->pHead;
    /* Invariant 3: a reader seeing the new height early finds NULL head
    ** links there (or this node, once published) and steps down. */
    atomic_store_explicit(&pList->nHeight, h, memory_order_relaxed);
  }
  for(i = 0; i < h; i++){
    /* The node is not yet reachable: its own links need no barrier. */
    atomic_store_explicit(&pNode->apNext[i],
        atomic_load_explicit(&apPrev[i]->apNext[i], memory_order_relaxed),
        memory_order_relaxed);
    atomic_store_explicit(&apPrev[i]->apNext[i], pNode, memory_order_release);
    apPrev[i] = pNode;      /* invariant 5: the splice ends at the new node */
  }
  pList->pLast = pNode;
}

skiplist_node *skiplist_first(const skiplist *pList){
  return node_next(pList->pHead, 0);
}

skiplist_node *skiplist_last(const skiplist *pList){
  skiplist_node *p = pList->pHead;
  int i = atomic_load_explicit(&((skiplist*)pList)->nHeight, memory_order_relaxed) - 1;
  for(;;){
    skiplist_node *pNext = node_next(p, i);
    if( pNext != NULL ){
      p = pNext;
    }else if( i == 0 ){
      return p == pList->pHead ? NULL : p;
    }else{
      i--;
    }
  }
}

skiplist_node *skiplist_seek_ge(const skiplist *pList, const uint8_t *pKey, size_t nKey){
  search_target t;
  target_init(&t, pKey, nKey);
  return find_ge(pList, &t, NULL);
}

skiplist_node *skiplist_seek_user(const skiplist *pList, const void *pUser, size_t nUser,
                                  uint64_t trailer){
  search_target t;
  t.pUser = (const uint8_t*)pUser;
  t.nUser = nUser;
  t.trailer = trailer;
  return find_ge(pList, &t, NULL);
}

skiplist_node *skiplist_seek_lt(const skiplist *pList, const uint8_t *pKey, size_t nKey){
  skiplist_node *p = pList->pHead;
  skiplist_node *pBigger = NULL;
  int i = atomic_load_explicit(&((skiplist*)pList)->nHeight, memory_order_relaxed) - 1;
  search_target t;
  const search_target *pT = &t;
  target_init(&t, pKey, nKey);
  for(;;){
    skiplist_node *pNext = node_next(p, i);
    assert( p == pList->pHead || node_cmp(p, pT) < 0 );
    if( pNext != NULL && pNext != pBigger && node_cmp(pNext, pT) < 0 ){
      p = pNext;
    }else if( i == 0 ){
      return p == pList->pHead ? NULL : p;
    }else{
      pBigger = pNext;
      i--;
    }
  }
}
