/*
** merge_iter.c — k-way merge of sorted iterators (merge_iter.h).
**
** The merge yields the entries of all children ordered by (internal key,
** child index): forward ascends that order, reverse descends it, so a
** reverse walk is exactly a forward walk backwards, even over the equal
** internal keys only a corrupt store has.
**
** A tournament tree (a "tree of losers", Knuth 5.4.1) picks the current
** entry: the children are its leaves, each inner node keeps the child
** that lost the match played there, and the winner of the whole tree is
** the current entry (iWinner).  In forward direction the smaller (key,
** index) wins, in reverse the larger.  After a next only the moved
** child's matches are played again, from its leaf up to the root: one
** comparison per level, ceil(log2 k) in all, where a binary heap's sift
** made two per level (the heap this replaced spent about 280
** instructions per step with 12 sorted runs; level 0 right after heavy
** writes makes 25).  A child that ran off its end loses every match.
** The last child (the deepest level, which holds most keys and so wins
** most often) is given the shallowest leaf.  Each child's current key
** is cached next to it, so comparisons make no indirect calls.
**
** Direction switches follow LevelDB's MergingIterator: to go backwards
** from the current entry E, every other child is positioned at its last
** entry before E (seek to E's key, then one step back if that entry comes
** after E, or xLast if the seek ran off the end); the current child steps
** back itself.  Switching forwards is the mirror image.  Then every match
** is played again for the new direction (tree_rebuild).
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
  const uint8_t *pKey;          /* its current key (cached); NULL while
                                ** the child is invalid                  */
  size_t nKey;                  /* length of pKey                        */
} merge_child;

typedef struct merge_iter {
  iter base;                    /* must be first                         */
  lsm_env *pEnv;                /* allocator; borrowed                   */
  int rc;                       /* first child error; sticky             */
  int bReverse;                 /* 1: the larger entry wins (backwards)  */
  int nChild;                   /* entries in aChild                     */
  int iWinner;                  /* child of the current entry; -1 while
                                ** not positioned (new or parked)       */
  int nLive;                    /* valid children (pKey != NULL); only
                                ** set by tree_rebuild and a move of the
                                ** winner (no other child moves alone)  */
  merge_child *aChild;          /* the children (same allocation)        */
  int *aLoser;                  /* aLoser[n], 1 <= n < nChild: the child
                                ** that lost the match at inner node n
                                ** (node n plays nodes 2n and 2n+1;
                                ** positions nChild.. are the leaves)   */
} merge_iter;

/* Tree position of child i's leaf, and the child at leaf position n:
** the last child on the first (shallowest) leaf. */
#define MERGE_LEAF(p, i)  (2 * (p)->nChild - 1 - (i))
#define MERGE_CHILD_AT(p, n) (2 * (p)->nChild - 1 - (n))

/* Order of children a and b by (key, index): <0, 0 (a == b) or >0. */
static inline __attribute__((always_inline)) int child_cmp(const merge_iter *p, int a, int b){
  int c = ikey_compare_inline(p->aChild[a].pKey, p->aChild[a].nKey,
                              p->aChild[b].pKey, p->aChild[b].nKey);
  return c ? c : a - b;
}

/* Whether child a wins its match against child b: a valid child beats an
** invalid one (pKey NULL); of two valid ones the smaller (forward) or the
** larger (reverse) by (key, index). */
static inline __attribute__((always_inline)) int child_wins(const merge_iter *p, int a, int b){
  int c;
  if( p->aChild[b].pKey == NULL ) return 1;
  if( p->aChild[a].pKey == NULL ) return 0;
  c = child_cmp(p, a, b);
  return p->bReverse ? c > 0 : c < 0;
}

/* Child i moved to key pKey (NULL: it became invalid): cache the key
** (NULL for an invalid child); 1 if it is valid.  An invalid child's
** status is collected into p->rc. */
static inline int child_set(merge_iter *p, int i, const uint8_t *pKey, size_t nKey){
  merge_child *pC = &p->aChild[i];
  if( pKey ){
    pC->pKey = pKey;
    pC->nKey = nKey;
    return 1;
  }
  pC->pKey = NULL;
  pC->nKey = 0;
  if( p->rc == LSM_OK ) p->rc = iter_status(pC->p);
  return 0;
}

/* Child i, valid before, moved to pKey (NULL: off its end). */
static inline void child_moved(merge_iter *p, int i, const uint8_t *pKey, size_t nKey){
  if( !child_set(p, i, pKey, nKey) ) p->nLive--;
}

/* Refresh child i's cached key after it moved; 1 if it is valid. */
static int child_load(merge_iter *p, int i){
  merge_child *pC = &p->aChild[i];
  size_t n = 0;
  const uint8_t *pKey = iter_valid(pC->p) ? iter_key(pC->p, &n) : NULL;
  return child_set(p, i, pKey, n);
}

/* Play the matches of the subtree at position iNode (an inner node or a
** leaf) and return its winner; the losers are kept in aLoser. */
static int tree_play(merge_iter *p, int iNode){
  int a, b;
  if( iNode >= p->nChild ) return MERGE_CHILD_AT(p, iNode);
  a = tree_play(p, 2 * iNode);
  b = tree_play(p, 2 * iNode + 1);
  if( child_wins(p, a, b) ){
    p->aLoser[iNode] = b;
    return a;
  }
  p->aLoser[iNode] = a;
  return b;
}

/* Rebuild the tree from every child (after the children moved). */
static void tree_rebuild(merge_iter *p, int bReverse){
  int i;
  p->bReverse = bReverse;
  p->nLive = 0;
  for(i = 0; i < p->nChild; i++) p->nLive += child_load(p, i);
  p->iWinner = p->nChild > 1 ? tree_play(p, 1) : p->nChild - 1;
}

/* The winner moved, to key pKey (NULL: off its end): replay its matches
** from its leaf to the root; whoever wins each goes on up, the loser
** stays.  Only the winner's path changes, so every other match's loser
** is still right. */
static void tree_fix_winner(merge_iter *p, const uint8_t *pKey, size_t nKey){
  int w = p->iWinner;
  int iNode;
  child_moved(p, w, pKey, nKey);
  for(iNode = MERGE_LEAF(p, w) / 2; iNode >= 1; iNode /= 2){
    int x = p->aLoser[iNode];
    if( child_wins(p, x, w) ){
      p->aLoser[iNode] = w;
      w = x;
    }
  }
  p->iWinner = w;
}

/* Forward: the winner steps (iter.h xStep) and its matches are replayed.
** When it is the only valid child it wins every match whatever its key
** (an invalid child loses them all, and stays invalid until a
** repositioning rebuilds the tree), so there is nothing to replay: a
** scan of a settled store, one sorted run beside an empty memtable,
** steps that run alone (README, "Scanning rows: a lone sorted run, the
** record's first column"). */
static inline void winner_step_forward(merge_iter *p){
  size_t nKey = 0;
  const uint8_t *pKey = iter_step(p->aChild[p->iWinner].p, &nKey);
  if( p->nLive == 1 ){
    child_moved(p, p->iWinner, pKey, nKey);
    return;
  }
  tree_fix_winner(p, pKey, nKey);
}

static int merge_x_valid(iter *pIter){
  merge_iter *p = (merge_iter*)pIter;
  return p->rc == LSM_OK && p->iWinner >= 0 && p->aChild[p->iWinner].pKey != NULL;
}

static void merge_x_first(iter *pIter){
  merge_iter *p = (merge_iter*)pIter;
  int i;
  for(i = 0; i < p->nChild; i++) iter_first(p->aChild[i].p);
  tree_rebuild(p, 0);
}

static void merge_x_last(iter *pIter){
  merge_iter *p = (merge_iter*)pIter;
  int i;
  for(i = 0; i < p->nChild; i++) iter_last(p->aChild[i].p);
  tree_rebuild(p, 1);
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
  tree_rebuild(p, 0);
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
  iCur = p->iWinner;
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
    tree_rebuild(p, 0);
    return;
  }
  winner_step_forward(p);
}

static void merge_x_prev(iter *pIter){
  merge_iter *p = (merge_iter*)pIter;
  int iCur;
  assert( merge_x_valid(pIter) );
  iCur = p->iWinner;
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
    tree_rebuild(p, 1);
    return;
  }
  iter_prev(p->aChild[iCur].p);
  {
    merge_child *pC = &p->aChild[iCur];
    size_t nKey = 0;
    const uint8_t *pKey = iter_valid(pC->p) ? iter_key(pC->p, &nKey) : NULL;
    tree_fix_winner(p, pKey, nKey);
  }
}

static const uint8_t *merge_x_key(iter *pIter, size_t *pnKey){
  merge_iter *p = (merge_iter*)pIter;
  merge_child *pC = &p->aChild[p->iWinner];
  assert( merge_x_valid(pIter) );
  *pnKey = pC->nKey;
  return pC->pKey;
}

/* A scan's step (iter.h xStep): forward, the winner steps and its
** matches are replayed here, without merge_x_next's call. */
static const uint8_t *merge_x_step(iter *pIter, size_t *pnKey){
  merge_iter *p = (merge_iter*)pIter;
  const merge_child *pW;
  assert( merge_x_valid(pIter) );
  if( p->bReverse ) merge_x_next(pIter);
  else winner_step_forward(p);
  /* A step leaves a winner (iWinner >= 0), whose key is NULL when the
  ** merge ran off its end. */
  if( p->rc != LSM_OK ) return NULL;
  pW = &p->aChild[p->iWinner];
  *pnKey = pW->nKey;
  return pW->pKey;
}

static const uint8_t *merge_x_value(iter *pIter, size_t *pnVal){
  merge_iter *p = (merge_iter*)pIter;
  assert( merge_x_valid(pIter) );
  return iter_value(p->aChild[p->iWinner].p, pnVal);
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
  p->iWinner = -1;
}

static const iter_methods merge_iter_methods = {
  merge_x_first, merge_x_last, merge_x_seek, merge_x_next, merge_x_prev,
  merge_x_valid, merge_x_key, merge_x_value, merge_x_status, merge_x_close,
  merge_x_park, merge_x_step, merge_x_prefetch
};

iter *merge_iter_new(lsm_env *pEnv, iter **apChild, int nChild, int *pRc){
  size_t nByte = sizeof(merge_iter) + (size_t)nChild * (sizeof(merge_child) + sizeof(int));
  /* aLoser uses entries 1..nChild-1 of its nChild. */
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
  p->iWinner = -1;
  p->nLive = 0;
  p->aChild = (merge_child*)&p[1];
  p->aLoser = (int*)&p->aChild[nChild];
  for(i = 0; i < nChild; i++){
    p->aChild[i].p = apChild[i];
    p->aChild[i].pKey = NULL;
    p->aChild[i].nKey = 0;
  }
  return &p->base;
}
