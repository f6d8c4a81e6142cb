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

#include "env.h"
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

void skiplist_search_start(const skiplist *pList, skiplist_search *pS){
  pS->p = pList->pHead;
  pS->pBigger = NULL;
  pS->iLevel = atomic_load_explicit(&((skiplist*)pList)->nHeight, memory_order_relaxed) - 1;
}

/*
** find_ge, resumable: walks level pS->iLevel and every level down to
** iLowest, and stops there (pS then names where the walk goes on).  A
** node passed while walking is < the key and stays so, and nodes inserted
** meanwhile are found by the later steps as by one walk (skiplist.h,
** "Thread safety"), so a walk cut into pieces finds what one walk would.
*/
skiplist_node *skiplist_search_down(const skiplist *pList, skiplist_search *pS,
                                    const uint8_t *pKey, size_t nKey, int iLowest){
  skiplist_node *p = pS->p, *pBigger = pS->pBigger;
  int i = pS->iLevel;
  search_target t;
  target_init(&t, pKey, nKey);
  (void)pList;
  while( i >= iLowest ){
    skiplist_node *pNext = node_next(p, i);
    prefetch_next_steps(p, pNext, i);
    if( pNext != NULL && pNext != pBigger && node_cmp(pNext, &t) < 0 ){
      p = pNext;
    }else{
      if( i == 0 ) return pNext;
      pBigger = pNext;
      i--;
    }
  }
  pS->p = p;
  pS->pBigger = pBigger;
  pS->iLevel = i;
  return NULL;
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

/* ------------------------------------------------------------------ */
/* The read index                                                      */
/* ------------------------------------------------------------------ */

/* Blocks of aWord per aGroupWord entry: 16 words, two cache lines. */
#define INDEX_GROUP 16
/* Every INDEX_STRIDE-th node of level 0 is sampled. */
#define INDEX_STRIDE 4
_Static_assert(SKIPLIST_INDEX_WALK_MAX == 2 * INDEX_STRIDE, "the walk bound is two strides");

struct skiplist_index {
  skiplist_index *pOlder;       /* the index this one replaced, or NULL  */
  uint64_t nEntries;            /* nodes in the list when built          */
  const uint8_t *pCommon;       /* a sampled key (node memory)           */
  size_t nCommon;               /* user-key bytes every sampled key has  */
  size_t n;                     /* sampled nodes                         */
  size_t nGroup;                /* entries of aGroupWord                 */
  uint64_t *aWord;              /* per sampled node: its user key's bytes
                                ** nCommon..+7, big-endian, zero-padded */
  uint64_t *aGroupWord;         /* per INDEX_GROUP of aWord: its last    */
  skiplist_node **apNode;       /* the sampled nodes                     */
};

/* Bytes n..n+7 of (p, np), big-endian, zero-padded: memcmp order. */
static uint64_t word_at(const uint8_t *p, size_t np, size_t n){
  uint64_t w = 0;
  size_t i;
  for(i = 0; i < 8; i++) w = (w << 8) | (n + i < np ? p[n + i] : 0);
  return w;
}

skiplist_index *skiplist_index_build(const skiplist *pList, lsm_env *pEnv){
  skiplist_index *p = NULL;
  skiplist_node *pNode, *pFirst = node_next(pList->pHead, 0), *pLast = NULL;
  size_t nAlloc = 0, nNode = 0, i, nA, nB;
  const uint8_t *a, *b;

  if( pFirst == NULL ) return NULL;
  p = env_malloc(pEnv, sizeof(*p));
  if( p == NULL ) return NULL;
  memset(p, 0, sizeof(*p));
  /* Sample level 0.  Nodes a writer adds meanwhile may or may not be
  ** seen: the index stays a sample of the list, in order. */
  for(pNode = pFirst; pNode; pNode = node_next(pNode, 0), nNode++){
    pLast = pNode;
    if( nNode % INDEX_STRIDE ) continue;
    if( p->n == nAlloc ){
      size_t nNew = nAlloc ? nAlloc * 2 : 1024;
      skiplist_node **apNew = env_realloc(pEnv, p->apNode, nNew * sizeof(skiplist_node*));
      if( apNew == NULL ) goto fail;
      p->apNode = apNew;
      nAlloc = nNew;
    }
    p->apNode[p->n++] = pNode;
  }
  p->nEntries = nNode;
  /* Trim the doubling's slack: the index is kept as long as the memtable. */
  if( p->n < nAlloc ){
    skiplist_node **apNew = env_realloc(pEnv, p->apNode, p->n * sizeof(skiplist_node*));
    if( apNew ) p->apNode = apNew;
  }
  /* Every key lies between the first and the last: they share this. */
  a = skiplist_node_key(pFirst, &nA);
  b = skiplist_node_key(pLast, &nB);
  nA -= IKEY_TRAILER;
  nB -= IKEY_TRAILER;
  while( p->nCommon < nA && p->nCommon < nB && a[p->nCommon] == b[p->nCommon] ) p->nCommon++;
  p->pCommon = a;
  p->nGroup = (p->n + INDEX_GROUP - 1) / INDEX_GROUP;
  p->aWord = env_malloc(pEnv, (p->n + p->nGroup) * sizeof(uint64_t));
  if( p->aWord == NULL ) goto fail;
  p->aGroupWord = p->aWord + p->n;
  for(i = 0; i < p->n; i++){
    size_t nKey;
    const uint8_t *pKey = skiplist_node_key(p->apNode[i], &nKey);
    p->aWord[i] = word_at(pKey, nKey - IKEY_TRAILER, p->nCommon);
  }
  for(i = 0; i < p->nGroup; i++){
    size_t iLast = i * INDEX_GROUP + INDEX_GROUP - 1;
    p->aGroupWord[i] = p->aWord[iLast < p->n ? iLast : p->n - 1];
  }
  return p;

fail:
  env_free(pEnv, p->apNode);
  env_free(pEnv, p);
  return NULL;
}

void skiplist_index_free(skiplist_index *p, lsm_env *pEnv){
  while( p ){
    skiplist_index *pOlder = p->pOlder;
    env_free(pEnv, p->aWord);
    env_free(pEnv, p->apNode);
    env_free(pEnv, p);
    p = pOlder;
  }
}

void skiplist_index_set_older(skiplist_index *p, skiplist_index *pOlder){
  p->pOlder = pOlder;
}

uint64_t skiplist_index_entries(const skiplist_index *p){
  return p->nEntries;
}

int skiplist_index_begin(const skiplist_index *p, const uint8_t *pKey, size_t nKey,
                         skiplist_index_search *pS){
  size_t nUser = ikey_user_len(nKey);
  size_t lo, hi;
  if( nUser < p->nCommon || memcmp(pKey, p->pCommon, p->nCommon) != 0 ) return 0;
  pS->w = word_at(pKey, nUser, p->nCommon);
  /* The first group whose last word is >= w holds the first such word. */
  lo = 0;
  hi = p->nGroup;
  while( lo < hi ){
    size_t mid = lo + (hi - lo) / 2;
    if( p->aGroupWord[mid] < pS->w ) lo = mid + 1;
    else hi = mid;
  }
  if( lo == p->nGroup ){
    pS->lo = pS->hi = p->n;             /* every word is < w */
    return 1;
  }
  pS->lo = lo * INDEX_GROUP;
  pS->hi = pS->lo + INDEX_GROUP < p->n ? pS->lo + INDEX_GROUP : p->n;
  __builtin_prefetch(&p->aWord[pS->lo]);
  __builtin_prefetch(&p->aWord[pS->hi - 1]);
  return 1;
}

void skiplist_index_find(const skiplist_index *p, const uint8_t *pKey, size_t nKey,
                         skiplist_index_search *pS){
  size_t lo = pS->lo, hi = pS->hi;
  /* The first sampled word >= w; the node before it has a smaller word,
  ** so a smaller key (word_at keeps memcmp order), and starts the walk. */
  while( lo < hi ){
    size_t mid = lo + (hi - lo) / 2;
    if( p->aWord[mid] < pS->w ) lo = mid + 1;
    else hi = mid;
  }
  if( lo < p->n && p->aWord[lo] == pS->w ){
    /* Sampled keys with the key's word (keys longer than the word that
    ** share it: URLs, "tenant:..." keys): the word cannot order them, so
    ** the full keys do.  [lo, hi) is every sample with word w (they are
    ** contiguous, the words being sorted); the first of them whose key is
    ** >= the key is found by comparing keys, so the walk from the sample
    ** before it passes at most INDEX_STRIDE nodes of the build's list.
    ** Without this the walk would start before the first sample with
    ** word w and pass every node that shares it. */
    search_target t;
    target_init(&t, pKey, nKey);
    hi = p->n;
    {
      size_t a = lo + 1;
      while( a < hi ){
        size_t mid = a + (hi - a) / 2;
        if( p->aWord[mid] <= pS->w ) a = mid + 1;
        else hi = mid;
      }
    }
    while( lo < hi ){
      size_t mid = lo + (hi - lo) / 2;
      if( node_cmp(p->apNode[mid], &t) < 0 ) lo = mid + 1;
      else hi = mid;
    }
  }
  pS->lo = lo;
  if( lo > 0 ) __builtin_prefetch(&p->apNode[lo - 1]);
}

skiplist_node *skiplist_index_start(const skiplist *pList, const skiplist_index *p,
                                    const skiplist_index_search *pS){
  skiplist_node *pStart = pS->lo > 0 ? p->apNode[pS->lo - 1] : pList->pHead;
  __builtin_prefetch(pStart);
  return pStart;
}

int skiplist_seek_ge_from(const skiplist_node *pStart, const uint8_t *pKey, size_t nKey,
                          skiplist_node **ppFound){
  const skiplist_node *p = pStart;
  search_target t;
  int nWalked;
  target_init(&t, pKey, nKey);
  for(nWalked = 1; nWalked <= SKIPLIST_INDEX_WALK_MAX; nWalked++){
    skiplist_node *pNext = node_next(p, 0);
    if( pNext != NULL ) __builtin_prefetch(node_next(pNext, 0));
    if( pNext == NULL || node_cmp(pNext, &t) >= 0 ){
      *ppFound = pNext;
      return nWalked;
    }
    p = pNext;
  }
  /* The gap was filled since the build (a stale index, or the key lies
  ** past the last sample among appended nodes): the caller searches the
  ** list instead of walking on. */
  return 0;
}
