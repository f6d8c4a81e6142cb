/*
** merge_iter.c — k-way merge of sorted iterators (merge_iter.h).
**
** The merge yields the entries of all children ordered by (internal key,
** child index): forward ascends that order, reverse descends it, so a
** reverse walk is exactly a forward walk backwards, even over the equal
** internal keys only a corrupt store has.
**
** A binary heap holds the children that are valid: a min-heap in forward
** direction, a max-heap in reverse; its top is the current entry.  Next
** moves the top child and sifts it down (O(log k) comparisons, against
** the O(k) of a linear scan; k is ~20 with many level-0 files).  Each
** child's current key is cached next to it, so comparisons make no
** indirect calls.
**
** After a next the child that moved is usually still the smallest (most
** keys live in the last level), so the merge keeps the runner-up, the
** better of the top's two heap children (iRunner): while it is known, a
** next that leaves its child in front costs one comparison, not the two
** of a sift's first step.  It is known only while the heap below the top
** is unchanged since it was found: every rebuild or sift that moves an
** entry below the top forgets it (iRunner = 0).
**
** Direction switches follow LevelDB's MergingIterator: to go backwards
** from the current entry E, every other child is positioned at its last
** entry before E (seek to E's key, then one step back if that entry comes
** after E, or xLast if the seek ran off the end); the current child steps
** back itself.  Switching forwards is the mirror image.  Then the heap is
** rebuilt for the new direction.
**
** Errors: when a child becomes invalid its status is checked; the first
** error is kept (rc) and makes the merge invalid until it is closed.
*/
#include "merge_iter.h"

#include <assert.h>
#include <string.h>

#include "env.h"
#include "ikey.h"

typedef struct merge_child {
  iter *p;                      /* the child; owned                      */
  const uint8_t *pKey;          /* its current key (cached), if in heap  */
  size_t nKey;                  /* length of pKey                        */
} merge_child;

typedef struct merge_iter {
  iter base;                    /* must be first                         */
  lsm_env *pEnv;                /* allocator; borrowed                   */
  int rc;                       /* first child error; sticky             */
  int bReverse;                 /* 1: max-heap, walking backwards        */
  int nChild;                   /* entries in aChild                     */
  int nHeap;                    /* valid children, in aHeap[0..nHeap-1]  */
  int iRunner;                  /* heap position (1 or 2) of the better
                                ** child of the top; 0: not known       */
  merge_child *aChild;          /* the children (same allocation)        */
  int *aHeap;                   /* heap of indexes into aChild           */
} merge_iter;

/* Order of children a and b by (key, index): <0, 0 (a == b) or >0. */
static inline __attribute__((always_inline)) int child_cmp(const merge_iter *p, int a, int b){
  int c = ikey_compare_inline(p->aChild[a].pKey, p->aChild[a].nKey,
                              p->aChild[b].pKey, p->aChild[b].nKey);
  return c ? c : a - b;
}

/* Whether child a belongs above child b in the heap. */
static inline __attribute__((always_inline)) int heap_before(const merge_iter *p, int a, int b){
  int c = child_cmp(p, a, b);
  return p->bReverse ? c > 0 : c < 0;
}

/* Child i moved to key pKey (NULL: it became invalid): cache the key;
** 1 if it is valid.  An invalid child's status is collected into p->rc. */
static inline int child_set(merge_iter *p, int i, const uint8_t *pKey, size_t nKey){
  merge_child *pC = &p->aChild[i];
  if( pKey ){
    pC->pKey = pKey;
    pC->nKey = nKey;
    return 1;
  }
  if( p->rc == LSM_OK ) p->rc = iter_status(pC->p);
  return 0;
}

/* Refresh child i's cached key after it moved; 1 if it is valid. */
static int child_load(merge_iter *p, int i){
  merge_child *pC = &p->aChild[i];
  size_t n = 0;
  const uint8_t *pKey = iter_valid(pC->p) ? iter_key(pC->p, &n) : NULL;
  return child_set(p, i, pKey, n);
}

static void heap_sift_down(merge_iter *p, int iPos){
  int *a = p->aHeap;
  int n = p->nHeap;
  int x = a[iPos];
  for(;;){
    int iKid = 2 * iPos + 1;
    if( iKid >= n ) break;
    if( iKid + 1 < n && heap_before(p, a[iKid + 1], a[iKid]) ) iKid++;
    if( !heap_before(p, a[iKid], x) ) break;
    a[iPos] = a[iKid];
    iPos = iKid;
  }
  a[iPos] = x;
}

/* Rebuild the heap from every valid child (after the children moved). */
static void heap_rebuild(merge_iter *p, int bReverse){
  int i;
  p->bReverse = bReverse;
  p->iRunner = 0;
  p->nHeap = 0;
  for(i = 0; i < p->nChild; i++){
    if( child_load(p, i) ) p->aHeap[p->nHeap++] = i;
  }
  for(i = p->nHeap / 2 - 1; i >= 0; i--) heap_sift_down(p, i);
}

/* The top child moved, to key pKey (NULL: off its end): restore the
** heap.  If it stays in front of the runner-up (found now if not known),
** it stays on top and nothing below it changed, so the runner-up stays
** known; else the heap is sifted. */
static void heap_fix_top(merge_iter *p, const uint8_t *pKey, size_t nKey){
  int *a = p->aHeap;
  if( !child_set(p, a[0], pKey, nKey) ){
    a[0] = a[--p->nHeap];
    p->iRunner = 0;
    if( p->nHeap > 1 ) heap_sift_down(p, 0);
    return;
  }
  if( p->nHeap < 2 ) return;
  if( p->iRunner == 0 ){
    p->iRunner = p->nHeap > 2 && heap_before(p, a[2], a[1]) ? 2 : 1;
  }
  assert( p->iRunner < p->nHeap );
  if( heap_before(p, a[0], a[p->iRunner]) ) return;
  /* The runner-up comes first: it goes on top, the moved child goes
  ** down from its place; what lies below the top has changed. */
  {
    int x = a[0], iPos = p->iRunner;
    a[0] = a[iPos];
    a[iPos] = x;
    p->iRunner = 0;
    heap_sift_down(p, iPos);
  }
}

static int merge_x_valid(iter *pIter){
  merge_iter *p = (merge_iter*)pIter;
  return p->rc == LSM_OK && p->nHeap > 0;
}

static void merge_x_first(iter *pIter){
  merge_iter *p = (merge_iter*)pIter;
  int i;
  for(i = 0; i < p->nChild; i++) iter_first(p->aChild[i].p);
  heap_rebuild(p, 0);
}

static void merge_x_last(iter *pIter){
  merge_iter *p = (merge_iter*)pIter;
  int i;
  for(i = 0; i < p->nChild; i++) iter_last(p->aChild[i].p);
  heap_rebuild(p, 1);
}

/* Seeks: each child's seek is a chain of dependent cache misses (index,
** block-cache slot, entry, block), and child after child they added up.
** The prefetch stages over every child first (iter.h, item 9) put the
** children's misses in flight together. */
static void merge_x_seek(iter *pIter, const uint8_t *pKey, size_t nKey){
  merge_iter *p = (merge_iter*)pIter;
  int i;
  if( p->nChild > 1 ){
    int iStage;
    for(iStage = 0; iStage < ITER_PREFETCH_STAGES; iStage++){
      for(i = 0; i < p->nChild; i++) iter_prefetch(p->aChild[i].p, pKey, nKey, iStage);
    }
  }
  for(i = 0; i < p->nChild; i++) iter_seek(p->aChild[i].p, pKey, nKey);
  heap_rebuild(p, 0);
}

static void merge_x_prefetch(iter *pIter, const uint8_t *pKey, size_t nKey, int iStage){
  merge_iter *p = (merge_iter*)pIter;
  int i;
  for(i = 0; i < p->nChild; i++) iter_prefetch(p->aChild[i].p, pKey, nKey, iStage);
}

static void merge_x_next(iter *pIter){
  merge_iter *p = (merge_iter*)pIter;
  int iCur;
  assert( merge_x_valid(pIter) );
  iCur = p->aHeap[0];
  if( p->bReverse ){
    /* Put every other child at its first entry after the current one.
    ** The current child does not move until the end, so its key stays
    ** valid through the loop. */
    const uint8_t *pKey = p->aChild[iCur].pKey;
    size_t nKey = p->aChild[iCur].nKey;
    int i;
    for(i = 0; i < p->nChild; i++){
      iter *pC = p->aChild[i].p;
      if( i == iCur ) continue;
      iter_seek(pC, pKey, nKey);
      if( iter_valid(pC) && i < iCur ){
        size_t n;
        const uint8_t *pK = iter_key(pC, &n);
        /* Same internal key from a lower index: it came before. */
        if( ikey_compare(pK, n, pKey, nKey) == 0 ) iter_next(pC);
      }
    }
    iter_next(p->aChild[iCur].p);
    heap_rebuild(p, 0);
    return;
  }
  {
    size_t nKey = 0;
    const uint8_t *pKey = iter_step(p->aChild[iCur].p, &nKey);
    heap_fix_top(p, pKey, nKey);
  }
}

static void merge_x_prev(iter *pIter){
  merge_iter *p = (merge_iter*)pIter;
  int iCur;
  assert( merge_x_valid(pIter) );
  iCur = p->aHeap[0];
  if( !p->bReverse ){
    /* Put every other child at its last entry before the current one. */
    const uint8_t *pKey = p->aChild[iCur].pKey;
    size_t nKey = p->aChild[iCur].nKey;
    int i;
    for(i = 0; i < p->nChild; i++){
      iter *pC = p->aChild[i].p;
      if( i == iCur ) continue;
      iter_seek(pC, pKey, nKey);
      if( iter_valid(pC) ){
        size_t n;
        const uint8_t *pK = iter_key(pC, &n);
        int c = ikey_compare(pK, n, pKey, nKey);
        /* At or after the current entry (an equal key from a lower
        ** index comes before it and stays). */
        if( c > 0 || (c == 0 && i > iCur) ) iter_prev(pC);
      }else if( iter_status(pC) == LSM_OK ){
        iter_last(pC);
      }
    }
    iter_prev(p->aChild[iCur].p);
    heap_rebuild(p, 1);
    return;
  }
  iter_prev(p->aChild[iCur].p);
  {
    merge_child *pC = &p->aChild[iCur];
    size_t nKey = 0;
    const uint8_t *pKey = iter_valid(pC->p) ? iter_key(pC->p, &nKey) : NULL;
    heap_fix_top(p, pKey, nKey);
  }
}

static const uint8_t *merge_x_key(iter *pIter, size_t *pnKey){
  merge_iter *p = (merge_iter*)pIter;
  merge_child *pC = &p->aChild[p->aHeap[0]];
  assert( merge_x_valid(pIter) );
  *pnKey = pC->nKey;
  return pC->pKey;
}

static const uint8_t *merge_x_step(iter *pIter, size_t *pnKey){
  merge_x_next(pIter);
  return merge_x_valid(pIter) ? merge_x_key(pIter, pnKey) : NULL;
}

static const uint8_t *merge_x_value(iter *pIter, size_t *pnVal){
  merge_iter *p = (merge_iter*)pIter;
  assert( merge_x_valid(pIter) );
  return iter_value(p->aChild[p->aHeap[0]].p, pnVal);
}

static int merge_x_status(iter *pIter){
  return ((merge_iter*)pIter)->rc;
}

static void merge_x_close(iter *pIter){
  merge_iter *p = (merge_iter*)pIter;
  int i;
  for(i = 0; i < p->nChild; i++) iter_close(p->aChild[i].p);
  env_free(p->pEnv, p);
}

static void merge_x_park(iter *pIter){
  merge_iter *p = (merge_iter*)pIter;
  int i;
  for(i = 0; i < p->nChild; i++) iter_park(p->aChild[i].p);
  p->nHeap = 0;
  p->iRunner = 0;
}

static const iter_methods merge_iter_methods = {
  merge_x_first, merge_x_last, merge_x_seek, merge_x_next, merge_x_prev,
  merge_x_valid, merge_x_key, merge_x_value, merge_x_status, merge_x_close,
  merge_x_park, merge_x_step, merge_x_prefetch
};

iter *merge_iter_new(lsm_env *pEnv, iter **apChild, int nChild, int *pRc){
  size_t nByte = sizeof(merge_iter) + (size_t)nChild * (sizeof(merge_child) + sizeof(int));
  merge_iter *p = (merge_iter*)env_malloc_rc(pEnv, nByte, pRc);
  int i;
  if( p == NULL ){
    for(i = 0; i < nChild; i++) iter_close(apChild[i]);
    return NULL;
  }
  p->base.pMethods = &merge_iter_methods;
  p->pEnv = pEnv;
  p->rc = LSM_OK;
  p->bReverse = 0;
  p->nChild = nChild;
  p->nHeap = 0;
  p->iRunner = 0;
  p->aChild = (merge_child*)&p[1];
  p->aHeap = (int*)&p->aChild[nChild];
  for(i = 0; i < nChild; i++){
    p->aChild[i].p = apChild[i];
    p->aChild[i].pKey = NULL;
    p->aChild[i].nKey = 0;
  }
  return &p->base;
}
