/*
** memtable.c — the write buffer: a skiplist of versions in an arena.
**
** Each memtable_add is one skiplist node holding the internal key (user
** key + trailer seq<<8|type) and the value inline (skiplist.h draws the
** node), so an add costs one bump allocation, two memcpy and one search.
** A get seeks to the newest version the reader may see and checks that it
** belongs to the same user key; an iterator walks level 0 forward and
** finds predecessors by searching again (the list has no back links), as
** LevelDB's MemTableIterator does.
**
** The filter (memtable.h) is a growing Bloom filter of atomic words
** (bloom.h), allocated apart from the arena (it is zeroed all at once and
** aligned to a cache line); a node's bits are set before skiplist_insert
** publishes it.
**
** The counters are written by the single writer and read by anyone, so
** they are relaxed atomics; the reference count is an atomic too.
*/
#include "memtable.h"

#include <assert.h>
#include <stdatomic.h>

#include "arena.h"
#include "bloom.h"
#include "checksum.h"
#include "env.h"
#include "ikey.h"
#include "skiplist.h"

struct memtable {
  lsm_env *pEnv;                /* allocator; borrowed                   */
  arena arena;                  /* every node of the list                */
  skiplist list;                /* the versions, in ikey order           */
  _Atomic int nRef;             /* references; freed at zero             */
  _Atomic uint64_t nEntry;      /* versions added, tombstones included   */
  _Atomic uint64_t nTomb;       /* of which tombstones                   */
  bloom_word *aFilter;          /* the filter's words, cache-line aligned
                                ** inside pFilterAlloc; NULL: none      */
  size_t nFilter;               /* filter words; 0 with no filter        */
  void *pFilterAlloc;           /* the allocation holding aFilter        */
  _Atomic(skiplist_index*) pIndex; /* read index, or NULL (below)       */
  _Atomic uint64_t nQuietSeeks; /* seeks without a usable index          */
  _Atomic uint64_t nEntryAtCheck; /* nEntry at the last quiet check      */
  atomic_flag bBuilding;        /* a reader is building an index         */
  _Atomic int nIndexBuilt;      /* indexes built (written under bBuilding) */
};

typedef struct memtable_cursor {
  iter base;                    /* must be first                         */
  memtable *pMem;               /* referenced for the iterator's life    */
  skiplist_node *pNode;         /* current entry, NULL when not valid    */
  int bSearching;               /* prefetch stages began search          */
  skiplist_search search;       /* the search they walk, level by level  */
  const skiplist_index *pIndex; /* or the read index they search, or NULL */
  skiplist_index_search iSearch;/* that search                           */
  skiplist_node *pStart;        /* the node it starts level 0 from       */
  const uint8_t *pSearchKey;    /* its key (asserted by the seek)        */
} memtable_cursor;

/* Bump a relaxed counter with a load and a store, not a locked
** read-modify-write, and return its new value: for counters only the
** writer updates, or hints where racing bumpers losing an increment is
** harmless (the read index's quiet count). */
static uint64_t counter_bump(_Atomic uint64_t *p){
  uint64_t n = atomic_load_explicit(p, memory_order_relaxed) + 1;
  atomic_store_explicit(p, n, memory_order_relaxed);
  return n;
}

/* Whether a version with sequence number seq is visible (memtable.h). */
static int is_visible(uint64_t seq, uint64_t maxSeq, uint64_t maxBatchSeq){
  return seq <= maxSeq || (seq >= IKEY_BATCH_SEQ && seq <= maxBatchSeq);
}

/* ---- iterator ---- */

static void memtable_x_first(iter *p){
  memtable_cursor *pIt = (memtable_cursor*)p;
  pIt->bSearching = 0;
  pIt->pNode = skiplist_first(&pIt->pMem->list);
}
static void memtable_x_last(iter *p){
  memtable_cursor *pIt = (memtable_cursor*)p;
  pIt->bSearching = 0;
  pIt->pNode = skiplist_last(&pIt->pMem->list);
}
/*
** The read index (skiplist.h).  A seek's search of a 16 MiB memtable
** visits about 25 nodes, most of them cache misses; the index finds a
** node of level 0 just below the key in about four.  It is built when
** seeks meet a memtable nobody writes to (the memtable a store keeps
** after its writers stop: every read right after a bulk load or
** overwrite), by the reader whose seek finds MEMTABLE_QUIET_SEEKS seeks
** in a row that saw no new entry, on a memtable of at least
** MEMTABLE_INDEX_MIN entries: one walk of level 0 (about 8 ms at 120,000
** entries, measured by the review), paid back after a few thousand
** seeks.  It is used while the memtable has grown by less than 1/16 since;
** a seek whose walk from the start node meets more than
** SKIPLIST_INDEX_WALK_MAX nodes (what was added since landed in its gap)
** searches the list instead, so a stale index costs a seek at most that
** many nodes.  A later quiet spell builds a new one once the memtable has
** grown by 1/16, at most MEMTABLE_INDEX_MAX times.  The replaced ones stay
** until the memtable is freed (a reader may be using one): about 4.1 bytes
** per entry each (a word and a node pointer per 4 entries, a group word
** per 64), allocated with env_malloc and not counted in memtable_bytes
** (the arena's usage), so a store's memory is that much above its
** memtable budget while an index lives.
*/
#define MEMTABLE_QUIET_SEEKS 256
#define MEMTABLE_INDEX_MIN 4096
#define MEMTABLE_INDEX_MAX 4

static const skiplist_index *usable_index(memtable *pMem){
  skiplist_index *pIdx = atomic_load_explicit(&pMem->pIndex, memory_order_acquire);
  uint64_t n = atomic_load_explicit(&pMem->nEntry, memory_order_relaxed);
  uint64_t q;
  if( pIdx && skiplist_index_entries(pIdx) * 16 >= n * 15 ) return pIdx;
  /* No usable index: count toward a quiet spell.  The counters are hints:
  ** a load and a store, not a locked read-modify-write on a line every
  ** reader of the memtable shares (racing readers may lose an increment,
  ** which only delays a build); the flag makes one builder. */
  q = counter_bump(&pMem->nQuietSeeks);
  if( q % MEMTABLE_QUIET_SEEKS != 0 ) return NULL;
  if( atomic_exchange_explicit(&pMem->nEntryAtCheck, n, memory_order_relaxed) != n ) return NULL;
  if( n < MEMTABLE_INDEX_MIN ) return NULL;
  if( atomic_flag_test_and_set_explicit(&pMem->bBuilding, memory_order_acquire) ) return NULL;
  /* Another reader may have published an index between the load above
  ** and the flag: reload under the flag, so that index is the one the new
  ** one keeps as older (freed with the memtable, not leaked) and, when it
  ** is usable, no second one is built. */
  pIdx = atomic_load_explicit(&pMem->pIndex, memory_order_acquire);
  if( (pIdx == NULL || skiplist_index_entries(pIdx) * 16 < n * 15)
   && pMem->nIndexBuilt < MEMTABLE_INDEX_MAX ){
    skiplist_index *pNew = skiplist_index_build(&pMem->list, pMem->pEnv);
    if( pNew ){
      skiplist_index_set_older(pNew, pIdx);
      atomic_store_explicit(&pMem->pIndex, pNew, memory_order_release);
      pMem->nIndexBuilt++;
      pIdx = pNew;
    }
  }
  atomic_flag_clear_explicit(&pMem->bBuilding, memory_order_release);
  return pIdx && skiplist_index_entries(pIdx) * 16 >= n * 15 ? pIdx : NULL;
}

static void memtable_x_seek(iter *p, const uint8_t *pKey, size_t nKey){
  memtable_cursor *pIt = (memtable_cursor*)p;
  if( pIt->bSearching ){
    /* The prefetch stages walked the levels above 0, or the read index
    ** down to a node of level 0 below the key. */
    assert( pIt->pSearchKey == pKey );
    pIt->bSearching = 0;
    if( pIt->pIndex ){
      if( skiplist_seek_ge_from(pIt->pStart, pKey, nKey, &pIt->pNode) == 0 ){
        pIt->pNode = skiplist_seek_ge(&pIt->pMem->list, pKey, nKey);
      }
    }else{
      pIt->pNode = skiplist_search_down(&pIt->pMem->list, &pIt->search, pKey, nKey, 0);
    }
    return;
  }
  pIt->pNode = skiplist_seek_ge(&pIt->pMem->list, pKey, nKey);
}

/*
** The search is a chain of cache misses, one or two per level below the
** top few (a 16 MiB memtable's nodes lie wherever the arena put them).
** A merge seek calls the prefetch stages of all its sources in turn
** (merge_iter.c), so walking one or two levels per stage lets the other
** sources' fetches land while the walk waits: stage 0 walks the levels
** above ITER_PREFETCH_STAGES (mostly cached), stage s level
** ITER_PREFETCH_STAGES - s, and the seek level 0.
*/
static void memtable_x_prefetch(iter *p, const uint8_t *pKey, size_t nKey, int iStage){
  memtable_cursor *pIt = (memtable_cursor*)p;
  memtable *pMem = pIt->pMem;
  if( iStage == 0 ){
    pIt->pSearchKey = pKey;
    pIt->bSearching = 1;
    pIt->pIndex = usable_index(pMem);
    if( pIt->pIndex && !skiplist_index_begin(pIt->pIndex, pKey, nKey, &pIt->iSearch) ){
      pIt->pIndex = NULL;
    }
    if( pIt->pIndex ) return;
    skiplist_search_start(&pMem->list, &pIt->search);
  }
  if( !pIt->bSearching ) return;
  if( pIt->pIndex ){
    /* Stage 1 the words, stage 2 the start node, stage 3 the node after
    ** it (its link is in the line stage 2 fetched). */
    if( iStage == 1 ) skiplist_index_find(pIt->pIndex, pKey, nKey, &pIt->iSearch);
    if( iStage == 2 ) pIt->pStart = skiplist_index_start(&pMem->list, pIt->pIndex, &pIt->iSearch);
    if( iStage == 3 ) __builtin_prefetch(skiplist_next(pIt->pStart));
    return;
  }
  (void)skiplist_search_down(&pMem->list, &pIt->search, pKey, nKey,
                             ITER_PREFETCH_STAGES - iStage);
}
static void memtable_x_next(iter *p){
  memtable_cursor *pIt = (memtable_cursor*)p;
  assert( pIt->pNode );
  pIt->pNode = skiplist_next(pIt->pNode);
}
static const uint8_t *memtable_x_step(iter *p, size_t *pnKey){
  memtable_cursor *pIt = (memtable_cursor*)p;
  assert( pIt->pNode );
  pIt->pNode = skiplist_next(pIt->pNode);
  return pIt->pNode ? skiplist_node_key(pIt->pNode, pnKey) : NULL;
}
static void memtable_x_prev(iter *p){
  memtable_cursor *pIt = (memtable_cursor*)p;
  size_t nKey;
  const uint8_t *pKey;
  assert( pIt->pNode );
  pKey = skiplist_node_key(pIt->pNode, &nKey);
  pIt->pNode = skiplist_seek_lt(&pIt->pMem->list, pKey, nKey);
}
static int memtable_x_valid(iter *p){
  return ((memtable_cursor*)p)->pNode != NULL;
}
static const uint8_t *memtable_x_key(iter *p, size_t *pnKey){
  return skiplist_node_key(((memtable_cursor*)p)->pNode, pnKey);
}
static const uint8_t *memtable_x_value(iter *p, size_t *pnVal){
  return skiplist_node_value(((memtable_cursor*)p)->pNode, pnVal);
}
static int memtable_x_status(iter *p){
  (void)p;
  return LSM_OK;
}
static void memtable_x_close(iter *p){
  memtable_cursor *pIt = (memtable_cursor*)p;
  memtable *pMem = pIt->pMem;
  env_free(pMem->pEnv, pIt);
  memtable_unref(pMem);
}

static const iter_methods cursor_methods = {
  memtable_x_first, memtable_x_last, memtable_x_seek, memtable_x_next, memtable_x_prev,
  memtable_x_valid, memtable_x_key, memtable_x_value, memtable_x_status, memtable_x_close,
  NULL,                      /* xPark: a position holds nothing */
  memtable_x_step,
  memtable_x_prefetch
};

/* ---- lifecycle and operations ---- */

int memtable_new(lsm_env *pEnv, memtable **ppMem){
  return memtable_new_filtered(pEnv, 0, ppMem);
}

int memtable_new_filtered(lsm_env *pEnv, size_t nFilterBytes, memtable **ppMem){
  return memtable_new_pooled(pEnv, nFilterBytes, NULL, ppMem);
}

int memtable_new_pooled(lsm_env *pEnv, size_t nFilterBytes, arena_pool *pPool,
                        memtable **ppMem){
  int rc = LSM_OK;
  memtable *pMem = (memtable*)env_malloc_rc(pEnv, sizeof(memtable), &rc);
  *ppMem = NULL;
  if( rc != LSM_OK ) return rc;
  pMem->pEnv = pEnv;
  arena_init_pooled(&pMem->arena, pEnv, pPool);
  rc = skiplist_init(&pMem->list, &pMem->arena);
  nFilterBytes -= nFilterBytes % BLOOM_BLOCK_BYTES;
  if( rc == LSM_OK && nFilterBytes > 0 ){
    /* Zeroed by env_malloc_rc; one block more, to align the words. */
    pMem->pFilterAlloc = env_malloc_rc(pEnv, nFilterBytes + BLOOM_BLOCK_BYTES, &rc);
    if( rc == LSM_OK ){
      uintptr_t a = (uintptr_t)pMem->pFilterAlloc;
      a = (a + BLOOM_BLOCK_BYTES - 1) & ~(uintptr_t)(BLOOM_BLOCK_BYTES - 1);
      pMem->aFilter = (bloom_word*)a;
      pMem->nFilter = nFilterBytes / sizeof(uint64_t);
    }
  }
  if( rc != LSM_OK ){
    arena_free(&pMem->arena);
    env_free(pEnv, pMem->pFilterAlloc);
    env_free(pEnv, pMem);
    return rc;
  }
  atomic_init(&pMem->nRef, 1);
  atomic_init(&pMem->nEntry, 0);
  atomic_init(&pMem->nTomb, 0);
  atomic_init(&pMem->pIndex, NULL);
  atomic_init(&pMem->nQuietSeeks, 0);
  atomic_init(&pMem->nEntryAtCheck, 0);
  atomic_init(&pMem->nIndexBuilt, 0);
  atomic_flag_clear(&pMem->bBuilding);
  *ppMem = pMem;
  return LSM_OK;
}

void memtable_ref(memtable *pMem){
  atomic_fetch_add_explicit(&pMem->nRef, 1, memory_order_relaxed);
}

void memtable_unref(memtable *pMem){
  if( pMem == NULL ) return;
  /* acq_rel: the last owner must see every other owner's work. */
  if( atomic_fetch_sub_explicit(&pMem->nRef, 1, memory_order_acq_rel) == 1 ){
    lsm_env *pEnv = pMem->pEnv;
    skiplist_index_free(atomic_load_explicit(&pMem->pIndex, memory_order_relaxed), pEnv);
    arena_free(&pMem->arena);
    env_free(pEnv, pMem->pFilterAlloc);
    env_free(pEnv, pMem);
  }
}

int memtable_add(memtable *pMem, uint64_t seq, int type,
                 const void *pKey, size_t nKey, const void *pVal, size_t nVal){
  skiplist_node *pNode;
  uint8_t *p;
  assert( type == IKEY_VALUE || type == IKEY_DELETE );
  assert( seq <= IKEY_MAX_SEQ );
  if( type == IKEY_DELETE ) nVal = 0;
  pNode = skiplist_node_new(&pMem->list, nKey + IKEY_TRAILER, nVal);
  if( pNode == NULL ) return LSM_NOMEM;
  p = ikey_build(skiplist_node_data(pNode), pKey, nKey, seq, type);
  if( nVal ) memcpy(p, pVal, nVal);
  if( pMem->aFilter ){
    /* Before the insert's release store publishes the node (memtable.h). */
    bloom_word_add(pMem->aFilter, pMem->nFilter, checksum_hash_key(pKey, nKey));
  }
  skiplist_insert(&pMem->list, pNode);
  (void)counter_bump(&pMem->nEntry);
  if( type == IKEY_DELETE ) (void)counter_bump(&pMem->nTomb);
  return LSM_OK;
}

/* The first node at or after (pKey, seq), if it holds pKey. */
static skiplist_node *find_version(memtable *pMem, const void *pKey, size_t nKey, uint64_t seq){
  skiplist_node *pNode = skiplist_seek_user(&pMem->list, pKey, nKey,
                                            ikey_pack_trailer(seq, IKEY_VALUE));
  if( pNode ){
    size_t nNodeKey;
    const uint8_t *pNodeKey = skiplist_node_key(pNode, &nNodeKey);
    if( ikey_compare_user(pNodeKey, ikey_user_len(nNodeKey), pKey, nKey) != 0 ) pNode = NULL;
  }
  return pNode;
}

int memtable_may_contain(const memtable *pMem, uint64_t hash){
  return pMem->aFilter == NULL
      || bloom_word_may_contain(pMem->aFilter, pMem->nFilter, hash);
}

size_t memtable_filter_bytes(const memtable *pMem){
  return pMem->nFilter * sizeof(uint64_t);
}

int memtable_get(memtable *pMem, const void *pKey, size_t nKey,
                 uint64_t maxSeq, uint64_t maxBatchSeq,
                 int *pType, const uint8_t **ppVal, size_t *pnVal){
  uint64_t hash = pMem->aFilter ? checksum_hash_key(pKey, nKey) : 0;
  return memtable_get_hashed(pMem, pKey, nKey, hash, maxSeq, maxBatchSeq, pType, ppVal, pnVal);
}

int memtable_get_hashed(memtable *pMem, const void *pKey, size_t nKey, uint64_t hash,
                        uint64_t maxSeq, uint64_t maxBatchSeq,
                        int *pType, const uint8_t **ppVal, size_t *pnVal){
  uint64_t hi = maxBatchSeq > maxSeq ? maxBatchSeq : maxSeq;
  skiplist_node *pNode;
  size_t nNodeKey;
  const uint8_t *pNodeKey;

  if( !memtable_may_contain(pMem, hash) ) return 0;
  if( hi > IKEY_MAX_SEQ ) hi = IKEY_MAX_SEQ;
  /* Versions are newest first: the first at or below hi is the newest
  ** candidate.  It is invisible only if it lies between maxSeq and the
  ** batch window; then the newest visible one is the first <= maxSeq. */
  pNode = find_version(pMem, pKey, nKey, hi);
  if( pNode ){
    pNodeKey = skiplist_node_key(pNode, &nNodeKey);
    if( !is_visible(ikey_seq(pNodeKey, nNodeKey), maxSeq, maxBatchSeq) ){
      pNode = find_version(pMem, pKey, nKey, maxSeq);
    }
  }
  if( pNode == NULL ) return 0;
  pNodeKey = skiplist_node_key(pNode, &nNodeKey);
  assert( is_visible(ikey_seq(pNodeKey, nNodeKey), maxSeq, maxBatchSeq) );
  *pType = ikey_type(pNodeKey, nNodeKey);
  *ppVal = skiplist_node_value(pNode, pnVal);
  return 1;
}

size_t memtable_bytes(const memtable *pMem){
  return arena_usage(&pMem->arena);
}

uint64_t memtable_entries(const memtable *pMem){
  return atomic_load_explicit(&((memtable*)pMem)->nEntry, memory_order_relaxed);
}

uint64_t memtable_tombstones(const memtable *pMem){
  return atomic_load_explicit(&((memtable*)pMem)->nTomb, memory_order_relaxed);
}

int memtable_read_indexes_built(const memtable *pMem){
  return atomic_load_explicit(&((memtable*)pMem)->nIndexBuilt, memory_order_relaxed);
}

iter *memtable_iter(memtable *pMem, int *pRc){
  memtable_cursor *pIt = (memtable_cursor*)env_malloc_rc(pMem->pEnv, sizeof(memtable_cursor), pRc);
  if( pIt == NULL ) return NULL;
  pIt->base.pMethods = &cursor_methods;
  pIt->pMem = pMem;
  pIt->pNode = NULL;
  pIt->bSearching = 0;
  memtable_ref(pMem);
  return &pIt->base;
}
