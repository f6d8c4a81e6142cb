/*
** block_cache.c — a byte-bounded cache of decoded SSTable data blocks,
** shared by every reader of a store or of several stores (see
** block_cache.h for the contract, the handles and the invariants).
**
** How it works: an open-addressing hash table of slots, each the 64-bit
** hash of an entry's key (reader id, block number) and a pointer to the
** entry, probed linearly and kept at most half full; and a ring of every
** cached entry, oldest first, that eviction walks with a second chance
** (CLOCK: an entry looked up since the walk last passed it, or in use, is
** moved to the young end instead of freed).  An entry a scan inserted
** (block_cache_insert_passing: bPassing, until a lookup finds it) is put
** at the old end when released, so a long scan's misses evict the blocks
** it has just left and nothing else.
**
** Why not LevelDB's LRU list (what this file was until measured): a
** random seek looks a block up in every sorted run, and at 1M keys the
** cache holds about 30,000 blocks, so every header is cold.  A chained
** bucket walk read the header of each entry in the chain to compare its
** key, and a hit unlinked the entry from the LRU list, writing both
** neighbours' headers: three to five cache misses per lookup before the
** block's own bytes (perf: 17.7% of an in-database seek's cycles in the
** lookup, 54% of them on the chain's key compare, 26% on the unlink).
** Here a lookup compares hashes in the slot array (one line) and touches
** only the header of the entry it returns, which the reader reads next
** anyway; a release touches that header alone.  The ring is rewritten
** only when an entry is inserted, evicted or erased, or released cold
** (a compaction's input: block_cache_release_cold).
**
** Memory: an entry's bytes follow its header in one object.  In a cache
** of BLOCK_CACHE_SLAB_MIN or more the object comes from the cache's
** slabs (block_memory.h: 2 MiB huge pages, size classes), else, and for
** a block larger than the largest class, from the cache's env.  Why: the
** first fill of a large cache from malloc faulted every 4 KiB page on the
** thread that missed (README, "The block cache's memory in huge-page
** slabs").  The bound of a cache in slabs (MEMORY_BOUND): its slabs'
** limit and 1/16 of the budget from malloc.  A block whose size class
** has no free object, once no slab may be mapped, takes a slab moved to
** its class (move_slab), or the memory of an entry of its own class
** (evict_own_class: a miss's only), or malloc's within the bound; past
** it, it is read but not cached (overflow_full).
**
** Deletion shifts the following entries of the probe run back (no
** tombstones), so a probe ends at the first empty slot.
**
** Spares (block_cache_alloc): a reader that misses and will insert what
** it reads asks the cache for the handle to fill.  When the cache is full
** the room is made then, and the memory of an entry evicted for it is
** handed back for the new block instead of being freed, an evicted entry
** that is the wrong size waiting in aSpare for the next miss.  Why: with
** compressed blocks every miss evicted one 4 KiB entry and allocated
** another; glibc served that from its bins, merging and splitting chunks
** whose headers no thread had touched for a while (perf, settled
** compressed gets and seeks: 7.7% of the reading thread's samples in
** malloc and free, about 0.37 us a miss; reused, a settled get and seek
** took 0.1-0.2 us less: README, "The cost of a block-cache miss").
** Spares count in the budget (invariant 3), so the cache's memory is the
** same with them as without.
*/
#include "block_cache.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "block_memory.h"
#include "env.h"

/* Under AddressSanitizer a spare's block bytes are poisoned while it waits
** in aSpare: a reader that kept a block's pointer past the release of its
** handle then faults there, instead of reading whatever block reuses the
** memory next (with plain free, ASan's quarantine caught such a read).
** An evicted entry reused at once for the miss at hand has no such
** window. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define SPARE_POISON(h)   ASAN_POISON_MEMORY_REGION((h)->a, (h)->nAlloc)
#define SPARE_UNPOISON(h) ASAN_UNPOISON_MEMORY_REGION((h)->a, (h)->nAlloc)
#else
#define SPARE_POISON(h)   ((void)(h))
#define SPARE_UNPOISON(h) ((void)(h))
#endif

/* Evicted entries kept for reuse (block_cache_alloc): a miss evicts about
** one entry, so a few cover entries of sizes that do not fit the block
** being read.  Their bytes are at most 1/BLOCK_CACHE_SPARE_SHARE of the
** budget (a spare takes the place of a cached block: in a small cache,
** 8 spares of 4 KiB would be half of it). */
#define BLOCK_CACHE_SPARES 8
#define BLOCK_CACHE_SPARE_SHARE 64

struct block_handle {
  block_cache *pCache;        /* the cache it was offered to, or NULL      */
  lsm_env *pEnv;              /* allocator                                 */
  uint64_t id;                /* (C) reader id                             */
  uint32_t iBlock;            /* (C) block number                          */
  int nRef;                   /* (C) handles out; private: 1               */
  /* The three flags are bytes: with ints the header grew from 72 to 80
  ** bytes, and every cached block is charged its header (fewer blocks in
  ** the same budget: 1,050 more misses in prof_sql's gets, measured). */
  uint8_t bCached;            /* (C) in the slot table and the ring        */
  uint8_t bHot;               /* (C) looked up since eviction last passed  */
  uint8_t bPassing;           /* (C) inserted by a sequential read and not
                              ** looked up since: released cold           */
  uint8_t bSlab;              /* its memory is a block_memory object       */
  block_handle *pRingPrev;    /* (C) ring neighbours, while cached         */
  block_handle *pRingNext;    /* (C)                                       */
  size_t n;                   /* bytes in use                              */
  size_t nAlloc;              /* bytes allocated after the header          */
  uint8_t a[];                /* the block                                 */
};                            /* (C): under pCache's mutex once offered    */

/* One slot of the hash table: empty iff h is NULL. */
typedef struct block_slot {
  uint64_t hash;              /* block_hash(h->id, h->iBlock)              */
  block_handle *h;            /* the entry, or NULL                        */
} block_slot;

struct lsm_block_cache {
  lsm_env *pEnv;              /* allocator of the cache and its entries    */
  atomic_int nRef;            /* stores (and lsm_block_cache_new's caller)
                              ** holding it; freed at 0                    */
  pthread_mutex_t mutex;      /* guards everything below                   */
  uint64_t nCapacity;         /* budget, bytes                             */
  uint64_t nCharge;           /* charge of the cached entries              */
  uint64_t nEntries;          /* cached entries                            */
  uint64_t nIdle;             /* cached entries with nRef == 0             */
  uint64_t nHits, nMisses;    /* lookups                                   */
  block_memory *pMemory;      /* entries' memory (NULL: malloc's)          */
  atomic_int bSlabs;          /* nCapacity >= BLOCK_CACHE_SLAB_MIN: new
                              ** entries from pMemory                      */
  block_slot *aSlot;          /* nSlot slots                               */
  _Atomic uintptr_t slotHint; /* aSlot's address, and                      */
  _Atomic uint64_t maskHint;  /* nSlot - 1: stored under the mutex, read
                              ** without it by block_cache_prefetch_slot
                              ** only (a stale pair gives a useless
                              ** address to prefetch, never one that is
                              ** dereferenced)                            */
  uint64_t nSlot;             /* a power of two, > 2 * nEntries (>= nEntries
                              ** + 2 after a failed grow: invariant 5)    */
  block_handle ring;          /* ring head: ring.pRingNext is the oldest   */
  block_handle *aSpare[BLOCK_CACHE_SPARES + 1];  /* evicted entries kept
                              ** for block_cache_alloc, oldest first (one
                              ** more while spare_keep trims)             */
  size_t anSpare[BLOCK_CACHE_SPARES + 1];  /* their nAlloc (read here, not
                              ** in the headers, which are cold)          */
  int nSpare;                 /* entries of aSpare in use                  */
  uint64_t nSpareCharge;      /* the spares' charges                       */
  uint64_t nOverflowCharge;   /* of nCharge + nSpareCharge, the entries
                              ** from malloc that a slab's size class could
                              ** hold (overflowed)                        */
  uint64_t nSlabMoves;        /* slabs emptied for another size class
                              ** (move_slab)                               */
  uint64_t nStarvedCharge;    /* charges of the blocks of classes short of
                              ** room since the last slab move (starve)   */
  block_handle *pClassHand;   /* where evict_own_class's walk goes on: a
                              ** cached entry, the ring head, or NULL     */
  uint32_t anClassEntries[BLOCK_MEMORY_CLASSES];  /* cached entries in
                              ** slabs, per size class                     */
  uint64_t nClassEvictions;   /* entries evict_own_class evicted           */
  uint64_t nRefused;          /* blocks left uncached (overflow_full)      */
  _Atomic uint64_t nAllocBytes; /* bytes of entries allocated, ever        */
  uint64_t nAllocAtMove;      /* nAllocBytes at the last slab move         */
};

#define BLOCK_CACHE_MIN_SLOTS 512

static atomic_uint_fast64_t g_nextId = 1;

/* Whether entry h came from malloc though a slab's size class could have
** held it (in a cache in slabs: its class had no room, the slabs at their
** limit; in a cache on malloc: every entry up to that size). */
static int overflowed(const block_handle *h){
  return !h->bSlab && h->nAlloc <= BLOCK_MEMORY_MAX_OBJECT - sizeof(block_handle);
}

static uint64_t charge(const block_handle *h){
  return (uint64_t)h->nAlloc + sizeof(block_handle);
}

/* A 64-bit mix of the key; the slot index is taken from its high bits'
** side (>> 1) so that consecutive blocks of one reader scatter. */
static uint64_t block_hash(uint64_t id, uint32_t iBlock){
  uint64_t h = id * 0x9e3779b97f4a7c15ull ^ ((uint64_t)iBlock * 0xc2b2ae3d27d4eb4full);
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 32);
}

static uint64_t home_slot(const block_cache *p, uint64_t hash){
  return (hash >> 1) & (p->nSlot - 1);
}

/* The slot holding (id, iBlock), or the empty slot ending its probe run.
** nExpect: see block_cache_lookup_counted (0 from every other caller). */
static uint64_t slot_find_expect(const block_cache *p, uint64_t hash, uint64_t id, uint32_t iBlock,
                                 size_t nExpect){
  uint64_t i = home_slot(p, hash), mask = p->nSlot - 1;
  for(;;){
    const block_slot *s = &p->aSlot[i];
    if( s->h == NULL ) return i;
    if( s->hash == hash ){
      /* Nearly always the entry: fetch its header and its block's last
      ** line at once (two misses in parallel instead of one after the
      ** other: the header is read here, the end by block_view_init). */
      if( nExpect >= 4 ) __builtin_prefetch((const void*)((uintptr_t)s->h->a + nExpect - 4));
      if( s->h->id == id && s->h->iBlock == iBlock ) return i;
    }
    i = (i + 1) & mask;
  }
}

static uint64_t slot_find(const block_cache *p, uint64_t hash, uint64_t id, uint32_t iBlock){
  return slot_find_expect(p, hash, id, iBlock, 0);
}

/* Empty slot i, shifting later entries of its probe run back so that
** every entry stays reachable from its home slot (invariant 5). */
static void slot_delete(block_cache *p, uint64_t i){
  uint64_t mask = p->nSlot - 1, j = i;
  for(;;){
    uint64_t k;
    j = (j + 1) & mask;
    if( p->aSlot[j].h == NULL ) break;
    k = home_slot(p, p->aSlot[j].hash);
    /* The entry at j may move to i unless its home lies cyclically in (i, j]. */
    if( i <= j ? (k <= i || k > j) : (k <= i && k > j) ){
      p->aSlot[i] = p->aSlot[j];
      i = j;
    }
  }
  p->aSlot[i].h = NULL;
  p->aSlot[i].hash = 0;
}

/* Publish aSlot and nSlot for block_cache_prefetch_slot. */
static void set_hints(block_cache *p){
  atomic_store_explicit(&p->slotHint, (uintptr_t)p->aSlot, memory_order_relaxed);
  atomic_store_explicit(&p->maskHint, p->nSlot - 1, memory_order_relaxed);
}

/* Double the slots (keeps the old table on OOM: returns 0). */
static int grow(block_cache *p){
  uint64_t nOld = p->nSlot, i;
  block_slot *aOld = p->aSlot;
  block_slot *aNew = env_malloc(p->pEnv, (size_t)(nOld * 2) * sizeof(block_slot));
  if( aNew == NULL ) return 0;
  memset(aNew, 0, (size_t)(nOld * 2) * sizeof(block_slot));
  p->aSlot = aNew;
  p->nSlot = nOld * 2;
  set_hints(p);
  for(i = 0; i < nOld; i++){
    if( aOld[i].h ){
      uint64_t j = home_slot(p, aOld[i].hash);
      while( aNew[j].h ) j = (j + 1) & (p->nSlot - 1);
      aNew[j] = aOld[i];
    }
  }
  env_free(p->pEnv, aOld);
  return 1;
}

static void ring_remove(block_handle *h){
  h->pRingNext->pRingPrev = h->pRingPrev;
  h->pRingPrev->pRingNext = h->pRingNext;
  h->pRingNext = h->pRingPrev = NULL;
}

/* Append as the youngest (just before the head). */
static void ring_append(block_cache *p, block_handle *h){
  h->pRingNext = &p->ring;
  h->pRingPrev = p->ring.pRingPrev;
  h->pRingPrev->pRingNext = h;
  p->ring.pRingPrev = h;
}

/* Insert as the oldest (the next the eviction walk reaches). */
static void ring_prepend(block_cache *p, block_handle *h){
  h->pRingPrev = &p->ring;
  h->pRingNext = p->ring.pRingNext;
  h->pRingNext->pRingPrev = h;
  p->ring.pRingNext = h;
}

/* A reference more on cached entry h (a lookup, or a second insert). */
static void take_ref(block_cache *p, block_handle *h){
  if( h->nRef++ == 0 ) p->nIdle--;
  h->bHot = 1;
  h->bPassing = 0;
}

/* Take h out of the hash table and the ring; REQUIRES cached.
** Returns 1 if it is now free to free (no references). */
static int uncache(block_cache *p, block_handle *h){
  uint64_t i = slot_find(p, block_hash(h->id, h->iBlock), h->id, h->iBlock);
  assert( h->bCached && p->aSlot[i].h == h );
  slot_delete(p, i);
  if( p->pClassHand == h ) p->pClassHand = h->pRingNext;
  if( h->bSlab ) p->anClassEntries[block_memory_class_index(charge(h))]--;
  ring_remove(h);
  h->bCached = 0;
  p->nCharge -= charge(h);
  if( overflowed(h) ) p->nOverflowCharge -= charge(h);
  p->nEntries--;
  if( h->nRef == 0 ){
    p->nIdle--;
    return 1;
  }
  return 0;
}

/* Uncache the oldest idle entry not looked up since the last pass (an
** entry in use or looked up is moved to the young end, its bHot cleared:
** at most two passes find an idle one) and return it, free to reuse or
** free.  REQUIRES nIdle > 0. */
static block_handle *evict_one(block_cache *p){
  assert( p->nIdle > 0 );
  for(;;){
    block_handle *h = p->ring.pRingNext;
    assert( h != &p->ring );
    if( h->nRef > 0 || h->bHot ){
      h->bHot = 0;
      ring_remove(h);
      ring_append(p, h);
    }else{
      int bFree = uncache(p, h);
      assert( bFree );
      (void)bFree;
      return h;
    }
  }
}

/* Take spare i out of aSpare (the later ones move up) and return it. */
static block_handle *spare_take(block_cache *p, int i){
  block_handle *h = p->aSpare[i];
  assert( i >= 0 && i < p->nSpare );
  p->nSpareCharge -= charge(h);
  if( overflowed(h) ) p->nOverflowCharge -= charge(h);
  memmove(&p->aSpare[i], &p->aSpare[i + 1], (size_t)(p->nSpare - i - 1) * sizeof(p->aSpare[0]));
  memmove(&p->anSpare[i], &p->anSpare[i + 1], (size_t)(p->nSpare - i - 1) * sizeof(p->anSpare[0]));
  p->nSpare--;
  SPARE_UNPOISON(h);
  return h;
}

/* Take spare i out and chain it onto pFree, to be freed unlocked;
** returns the new chain. */
static block_handle *spare_drop(block_cache *p, int i, block_handle *pFree){
  block_handle *h = spare_take(p, i);
  h->pRingNext = pFree;
  return h;
}

/* Bytes charged on top of the cached entries' (invariant 3). */
static uint64_t total_charge(const block_cache *p){
  return p->nCharge + p->nSpareCharge;
}

/* Free spares, then the oldest idle entries (evict_one), until within
** budget; return them chained through pRingNext, to be freed unlocked. */
static block_handle *evict(block_cache *p){
  block_handle *pFree = NULL;
  while( total_charge(p) > p->nCapacity && (p->nSpare > 0 || p->nIdle > 0) ){
    if( p->nSpare > 0 ){
      pFree = spare_drop(p, 0, pFree);
    }else{
      block_handle *h = evict_one(p);
      h->pRingNext = pFree;
      pFree = h;
    }
  }
  return pFree;
}

static void handle_free(block_handle *h){
  if( h->bSlab ){
    block_memory_free(h);
  }else{
    env_free(h->pEnv, h);
  }
}

static void free_chain(block_handle *h){
  while( h ){
    block_handle *pNext = h->pRingNext;
    handle_free(h);
    h = pNext;
  }
}

/* Entries come from slabs only in a cache of this budget or more: a slab
** is 2 MiB of one size class, so a small cache would hold a few blocks in
** a slab each, and the slabs' memory would pass its budget many times. */
#define BLOCK_CACHE_SLAB_MIN ((uint64_t)16 << 20)

/* Slabs past the budget: free objects stranded in one size class (a
** class's slack is charged already), and a slab or two partly carved. */
#define SLAB_LIMIT(nCapacity) ((nCapacity) + (nCapacity) / 16 + 2 * BLOCK_MEMORY_SLAB_BYTES)

/* The memory of a cache in slabs at a constant budget: the slabs' limit,
** one more slab mapped as it is passed, and the entries from malloc
** (overflow_full).  Blocks larger than the largest class come from malloc
** within the budget, and blocks readers hold are not counted.  Lowering
** the budget (block_cache_set_capacity) leaves the slabs mapped until
** they empty, and entries a cache on malloc held before a raise into
** slabs count as overflow until evicted: both can pass it meanwhile. */
#define MEMORY_BOUND(nCapacity) \
  (SLAB_LIMIT(nCapacity) + BLOCK_MEMORY_SLAB_BYTES + (nCapacity) / 16)

static void set_slabs(block_cache *p){
  atomic_store_explicit(&p->bSlabs, p->pMemory != NULL && p->nCapacity >= BLOCK_CACHE_SLAB_MIN,
                        memory_order_relaxed);
  block_memory_set_limit(p->pMemory, SLAB_LIMIT(p->nCapacity));  /* takes no lock */
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
  p->nSlot = BLOCK_CACHE_MIN_SLOTS;
  p->aSlot = env_malloc_rc(pEnv, (size_t)p->nSlot * sizeof(block_slot), &rc);   /* zeroed */
  if( rc ){
    env_free(pEnv, p);
    return rc;
  }
  set_hints(p);
  p->pMemory = block_memory_new();    /* NULL: entries from malloc */
  set_slabs(p);
  p->ring.pRingNext = p->ring.pRingPrev = &p->ring;
  atomic_init(&p->nRef, 1);
  pthread_mutex_init(&p->mutex, NULL);
  *ppCache = p;
  return LSM_OK;
}

void block_cache_ref(block_cache *p){
  if( p ) atomic_fetch_add_explicit(&p->nRef, 1, memory_order_relaxed);
}

void block_cache_unref(block_cache *p){
  block_handle *h;
  if( p == NULL ) return;
  /* acq_rel: the freeing thread sees every other holder's last writes. */
  if( atomic_fetch_sub_explicit(&p->nRef, 1, memory_order_acq_rel) != 1 ) return;
  while( p->nSpare > 0 ){
    h = spare_take(p, p->nSpare - 1);
    handle_free(h);
  }
  h = p->ring.pRingNext;
  while( h != &p->ring ){
    block_handle *pNext = h->pRingNext;
    assert( h->nRef == 0 );
    handle_free(h);
    h = pNext;
  }
  /* A private handle of its memory still held lives on: the slabs go with
  ** the last one (block_memory_release). */
  block_memory_release(p->pMemory);
  pthread_mutex_destroy(&p->mutex);
  env_free(p->pEnv, p->aSlot);
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
  set_slabs(p);
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

uint64_t lsm_block_cache_mapped_bytes(void){
  return block_memory_mapped_bytes();
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

/* bMark: the lookup gives the entry its second chance (take_ref); else it
** only pins it, its place in the eviction order left as it was. */
static block_handle *lookup(block_cache *p, block_cache_counts *pCounts, uint64_t id,
                            uint32_t iBlock, size_t nExpect, int bMark){
  block_handle *h;
  uint64_t hash = block_hash(id, iBlock);
  if( p == NULL ) return NULL;
  pthread_mutex_lock(&p->mutex);
  h = p->aSlot[slot_find_expect(p, hash, id, iBlock, nExpect)].h;
  if( h ){
    if( bMark ){
      take_ref(p, h);
    }else if( h->nRef++ == 0 ){
      p->nIdle--;
    }
    p->nHits++;
    if( pCounts ) pCounts->nHits++;
  }else{
    p->nMisses++;
    if( pCounts ) pCounts->nMisses++;
  }
  pthread_mutex_unlock(&p->mutex);
  return h;
}

block_handle *block_cache_lookup_counted(block_cache *p, block_cache_counts *pCounts,
                                         uint64_t id, uint32_t iBlock, size_t nExpect){
  return lookup(p, pCounts, id, iBlock, nExpect, 1);
}

block_handle *block_cache_lookup_unmarked(block_cache *p, block_cache_counts *pCounts,
                                          uint64_t id, uint32_t iBlock, size_t nExpect){
  return lookup(p, pCounts, id, iBlock, nExpect, 0);
}

void block_cache_prefetch_slot(block_cache *p, uint64_t id, uint32_t iBlock){
  uint64_t hash = block_hash(id, iBlock);
  uintptr_t a = atomic_load_explicit(&p->slotHint, memory_order_relaxed);
  uint64_t mask = atomic_load_explicit(&p->maskHint, memory_order_relaxed);
  /* Integer arithmetic: a stale pair may point past the array, which is
  ** fine for a prefetch (it never faults) but not for a C pointer. */
  __builtin_prefetch((const void*)(a + (uintptr_t)(((hash >> 1) & mask) * sizeof(block_slot))));
}

int block_cache_prefetch_entry(block_cache *p, uint64_t id, uint32_t iBlock, size_t nExpect){
  uint64_t hash = block_hash(id, iBlock), i, mask;
  int bFound = 0;
  pthread_mutex_lock(&p->mutex);
  mask = p->nSlot - 1;
  for(i = home_slot(p, hash); p->aSlot[i].h != NULL; i = (i + 1) & mask){
    if( p->aSlot[i].hash == hash ){
      /* Nearly always the entry: its header, its first line and the
      ** line of its last bytes, without reading any of them. */
      uintptr_t a = (uintptr_t)p->aSlot[i].h->a;
      __builtin_prefetch(p->aSlot[i].h);
      __builtin_prefetch((const void*)a);
      if( nExpect >= 4 ) __builtin_prefetch((const void*)(a + nExpect - 4));
      bFound = 1;
      break;
    }
  }
  pthread_mutex_unlock(&p->mutex);
  return bFound;
}

int block_cache_holds(block_cache *p, uint64_t id, uint32_t iBlock){
  int bHeld;
  if( p == NULL ) return 0;
  pthread_mutex_lock(&p->mutex);
  bHeld = p->aSlot[slot_find(p, block_hash(id, iBlock), id, iBlock)].h != NULL;
  pthread_mutex_unlock(&p->mutex);
  return bHeld;
}

int block_cache_has_room(block_cache *p, size_t n){
  int bRoom;
  if( p == NULL ) return 0;
  pthread_mutex_lock(&p->mutex);
  bRoom = total_charge(p) + (uint64_t)n + sizeof(block_handle) <= p->nCapacity;
  pthread_mutex_unlock(&p->mutex);
  return bRoom;
}

block_handle *block_cache_lookup(block_cache *p, uint64_t id, uint32_t iBlock){
  return block_cache_lookup_counted(p, NULL, id, iBlock, 0);
}

void block_cache_read_counts(block_cache *p, const block_cache_counts *pCounts,
                             block_cache_counts *pOut){
  memset(pOut, 0, sizeof(*pOut));
  if( p == NULL ) return;
  pthread_mutex_lock(&p->mutex);
  *pOut = *pCounts;
  pthread_mutex_unlock(&p->mutex);
}

/* move_slab runs once the overflowed entries hold 1/16 of the budget. */
#define BLOCK_CACHE_OVERFLOW_SHARE 16

/* Slabs a move considers at most (a 128 MiB cache has about 70). */
#define MOVE_SLAB_CANDIDATES 256

static int slab_address_cmp(const void *a, const void *b){
  uintptr_t x = (uintptr_t)((const block_memory_slab*)a)->pSlab;
  uintptr_t y = (uintptr_t)((const block_memory_slab*)b)->pSlab;
  return x < y ? -1 : x > y;
}

/* The index of pSlab in a[n] (sorted by address), or -1. */
static int slab_index(const block_memory_slab *a, int n, const void *pSlab){
  int lo = 0, hi = n - 1;
  while( lo <= hi ){
    int mid = lo + (hi - lo) / 2;
    if( a[mid].pSlab == pSlab ) return mid;
    if( (uintptr_t)a[mid].pSlab < (uintptr_t)pSlab ) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/* Whether h is an entry or spare of p that move_slab may free: idle, in
** a slab (only its address is looked at: under the mutex a cached entry
** or a spare is the cache's). */
static int movable(const block_handle *h){
  return h->nRef == 0 && h->bSlab;
}

/*
** The slabs are at their limit and the size class of an nObject-byte
** entry (with its header) has no free object: move a slab to it, as
** memcached's slab rebalancer moves pages.  Of the slabs of other
** classes, the one with the fewest objects in use among those whose every
** object is an idle entry or a spare of this cache (a block a reader
** holds pins its slab) loses them all, whatever their age, and comes back
** empty, for the caller's next block_memory_alloc.  Why: a slab's free
** objects serve its class only, and the charge counts the objects in
** use, so when the blocks' sizes moved to another class the slabs kept
** the old class's free room while malloc served the new one: a 32 MiB
** cache held 38 MiB of slabs and 24 MiB from malloc (README, "Slabs
** moved between size classes").  Only once the entries that overflowed
** to malloc hold 1/BLOCK_CACHE_OVERFLOW_SHARE of the budget (a rare
** size's block costs less from malloc than a slab's entries evicted for
** it), and at most once per slab's bytes of entries allocated (blocks of
** many sizes, a class or two per slab, would otherwise move a slab at
** every miss).  Two walks over the entries, under the mutex (a reviewer
** timed 17 ms in a 512 MiB cache of 58,000 blocks: every reader of the
** cache waits for it; a bitmap of each slab's objects in use would find
** them without the walk).  Also once the blocks of classes short of
** room (evicted for their own class, or not cached) while other classes
** held free room reach that share (nStarvedCharge, starve).  Objects
** allocated meanwhile by another thread (a miss being read) keep the
** slab; the caller then uses malloc once.
*/
static void move_slab(block_cache *p, size_t nObject){
  block_memory_slab aSlab[MOVE_SLAB_CANDIDATES];
  uint32_t anMovable[MOVE_SLAB_CANDIDATES];
  block_handle *pFree = NULL, *h, *pNext;
  const void *pVictim = NULL;
  int nSlab, i, iBest = -1;
  pthread_mutex_lock(&p->mutex);
  if( p->nOverflowCharge + p->nStarvedCharge < p->nCapacity / BLOCK_CACHE_OVERFLOW_SHARE
   || atomic_load_explicit(&p->nAllocBytes, memory_order_relaxed) - p->nAllocAtMove
      < BLOCK_MEMORY_SLAB_BYTES ){
    pthread_mutex_unlock(&p->mutex);
    return;
  }
  nSlab = block_memory_slabs_in_use(p->pMemory, nObject, aSlab, MOVE_SLAB_CANDIDATES);
  qsort(aSlab, (size_t)nSlab, sizeof(aSlab[0]), slab_address_cmp);
  memset(anMovable, 0, sizeof(anMovable));
  if( nSlab > 0 ){
    for(h = p->ring.pRingNext; h != &p->ring; h = h->pRingNext){
      if( movable(h) && (i = slab_index(aSlab, nSlab, block_memory_slab_of(h))) >= 0 ){
        anMovable[i]++;
      }
    }
    for(i = 0; i < p->nSpare; i++){
      int j;
      if( movable(p->aSpare[i]) && (j = slab_index(aSlab, nSlab, block_memory_slab_of(p->aSpare[i]))) >= 0 ){
        anMovable[j]++;
      }
    }
  }
  for(i = 0; i < nSlab; i++){
    if( anMovable[i] == aSlab[i].nLive && (iBest < 0 || aSlab[i].nLive < aSlab[iBest].nLive) ){
      iBest = i;
    }
  }
  if( iBest >= 0 ){
    pVictim = aSlab[iBest].pSlab;
    for(h = p->ring.pRingNext; h != &p->ring; h = pNext){
      pNext = h->pRingNext;
      if( movable(h) && block_memory_slab_of(h) == pVictim ){
        int bFree = uncache(p, h);
        assert( bFree );
        (void)bFree;
        h->pRingNext = pFree;
        pFree = h;
      }
    }
    for(i = p->nSpare - 1; i >= 0; i--){
      if( movable(p->aSpare[i]) && block_memory_slab_of(p->aSpare[i]) == pVictim ){
        pFree = spare_drop(p, i, pFree);
      }
    }
    p->nSlabMoves++;
    p->nStarvedCharge = 0;
    p->nAllocAtMove = atomic_load_explicit(&p->nAllocBytes, memory_order_relaxed);
  }
  pthread_mutex_unlock(&p->mutex);
  free_chain(pFree);
}

/* A block of a class short of room (evicting its own entries, or not
** cached) while a slab's worth of the slabs is idle elsewhere (free
** objects of other classes: a move would make use of them) counts toward
** a slab move (move_slab). */
static void starve(block_cache *p, uint64_t nCharge){
  if( block_memory_idle_bytes(p->pMemory) >= BLOCK_MEMORY_SLAB_BYTES ) p->nStarvedCharge += nCharge;
}

/* Entries of the ring one evict_own_class call looks at, at most: a
** class that none of them is of (a rare size, or a class with no slab)
** takes what move_slab and malloc give it. */
#define OWN_CLASS_WALK 64

/*
** The slabs are at their limit, move_slab moved none, and the size class
** of nClassBytes-byte objects has no free object: evict an idle entry of
** that class and return it, its memory (one object of the class) to
** reuse for the block at hand; NULL if there is none.  A spare of the
** class goes first; else a walk of up to OWN_CLASS_WALK entries of the
** ring from where the last one stopped (pClassHand, a second CLOCK hand)
** takes the first idle entry of the class not looked up since a hand
** last passed it, clearing that mark on those it passes, or failing
** that the first of those; no walk for a class that holds less than
** 1/OWN_CLASS_WALK of the entries.  Why: a slab's free objects serve its class
** only, so with blocks of many sizes the budget's eviction (oldest first,
** whatever the class) left free objects stranded in some classes while
** malloc served others past the slabs' limit: a 32 MiB cache held up to
** 51.7 MB (tests/test_block_cache.c, blocks_of_many_size_classes_...).
** memcached evicts from the class that needs memory, as here.  Why a hand
** of its own and not the ring's old end: a class that evicts its own
** entries keeps the cache under its budget, so the budget's eviction
** stops and the old end fills with the other classes' entries; a walk
** from there found the class in 1,175 of 80,000 calls in that test.
** An eviction for its own class while other classes' slabs hold a slab's
** worth of free objects counts toward moving the class a slab (starve),
** as overflow to malloc does.
*/
static block_handle *evict_own_class(block_cache *p, size_t nClassBytes){
  block_handle *h, *pFound = NULL, *pSecond = NULL;
  int i, nSeen = 0, bWalk;
  pthread_mutex_lock(&p->mutex);
  for(i = 0; i < p->nSpare && pFound == NULL; i++){
    if( p->aSpare[i]->bSlab && charge(p->aSpare[i]) == nClassBytes ) pFound = spare_take(p, i);
  }
  /* A walk of OWN_CLASS_WALK meets the class's entries only if they are
  ** at least that share of the ring: else it would read that many cold
  ** headers, under the mutex, for nothing (a reviewer's driver, blocks of
  ** classes with no entry: 3.4 us a miss). */
  bWalk = (uint64_t)p->anClassEntries[block_memory_class_index(nClassBytes)] * OWN_CLASS_WALK
          >= p->nEntries;
  h = p->pClassHand ? p->pClassHand : p->ring.pRingNext;
  while( pFound == NULL && bWalk && p->nEntries > 0 && nSeen < OWN_CLASS_WALK ){
    block_handle *pNext = h->pRingNext;
    if( h != &p->ring ){
      nSeen++;
      if( h->bSlab && charge(h) == nClassBytes && h->nRef == 0 ){
        if( h->bHot ){
          h->bHot = 0;
          if( pSecond == NULL ) pSecond = h;
        }else{
          pFound = h;
        }
      }
    }
    h = pNext;
  }
  if( bWalk ) p->pClassHand = p->nEntries > 0 ? h : NULL;
  /* None without its second chance within the walk: the first that had
  ** one (its chance now spent) rather than a longer walk. */
  if( pFound == NULL && pSecond ) pFound = pSecond;
  if( pFound && pFound->bCached ){
    int bFree = uncache(p, pFound);
    assert( bFree );
    (void)bFree;
  }
  if( pFound ){
    p->nClassEvictions++;
    starve(p, nClassBytes);
  }
  pthread_mutex_unlock(&p->mutex);
  return pFound;
}

/* block_handle_alloc, and (bEvictOwn) block_cache_alloc's and
** block_handle_alloc_to_insert's allocation: a block to be inserted may
** move a slab to its size class (move_slab) or evict an entry of its
** class for its memory (evict_own_class); a handle that will not be
** inserted (a compaction's input) must not evict, and takes malloc's
** memory instead when its class has no free object. */
static block_handle *handle_alloc(block_cache *pCache, lsm_env *pEnv, size_t n, int bEvictOwn){
  block_handle *h = NULL;
  size_t nAlloc = n;
  uint8_t bSlab = 0;
  if( pCache ){
    pEnv = pCache->pEnv;
    if( atomic_load_explicit(&pCache->bSlabs, memory_order_relaxed) ){
      size_t nObject;
      /* Counted here, on a miss that allocates or takes an entry of its
      ** own class (a miss that reuses an entry block_cache_alloc evicted
      ** does not come here): counting every insert instead doubled the
      ** moves of blocks spread over many classes (823 to 1,366 in a
      ** reviewer's driver). */
      atomic_fetch_add_explicit(&pCache->nAllocBytes, sizeof(block_handle) + n,
                                memory_order_relaxed);
      h = block_memory_alloc(pCache->pMemory, sizeof(block_handle) + n, &nObject);
      if( h == NULL && bEvictOwn && sizeof(block_handle) + n <= BLOCK_MEMORY_MAX_OBJECT ){
        move_slab(pCache, sizeof(block_handle) + n);
        h = block_memory_alloc(pCache->pMemory, sizeof(block_handle) + n, &nObject);
        if( h == NULL ){
          nObject = block_memory_class_bytes(sizeof(block_handle) + n);
          h = evict_own_class(pCache, nObject);
        }
      }
      if( h ){
        /* The class's slack is the entry's: charged, and usable by a
        ** block this one is reused for (block_cache_alloc). */
        nAlloc = nObject - sizeof(block_handle);
        bSlab = 1;
      }
    }
  }
  if( h == NULL ) h = env_malloc(pEnv, sizeof(block_handle) + (n ? n : 1));
  if( h == NULL ) return NULL;
  memset(h, 0, sizeof(*h));
  h->pEnv = pEnv;
  h->nRef = 1;
  h->bSlab = bSlab;
  h->n = n;
  h->nAlloc = nAlloc;
  return h;
}

block_handle *block_handle_alloc(block_cache *pCache, lsm_env *pEnv, size_t n){
  return handle_alloc(pCache, pEnv, n, 0);
}

block_handle *block_handle_alloc_to_insert(block_cache *pCache, lsm_env *pEnv, size_t n){
  return handle_alloc(pCache, pEnv, n, 1);
}

/* Does a spare of nAlloc bytes fit a block of n?  Up to an eighth more
** (a block's size varies by an entry's bytes around the target; the
** slack is charged as the entry's, so it must stay small). */
static int spare_fits(size_t nAlloc, size_t n){
  return nAlloc >= n && nAlloc - n <= n / 8;
}

/* Whether evicted entry h may be reused for another block: not in a cache
** in slabs if it overflowed to malloc, so that such memory drains once
** the slabs have room (a reviewer's driver: reused, 27.9 MiB of it
** circulated for good beside slabs 14 MiB under their limit). */
static int reusable(const block_cache *p, const block_handle *h){
  return !overflowed(h) || !atomic_load_explicit(&p->bSlabs, memory_order_relaxed);
}

/* The reusable spare that best fits n (the smallest that fits), or -1. */
static int spare_find(const block_cache *p, size_t n){
  int i, iBest = -1;
  for(i = 0; i < p->nSpare; i++){
    if( spare_fits(p->anSpare[i], n) && (iBest < 0 || p->anSpare[i] < p->anSpare[iBest])
     && reusable(p, p->aSpare[i]) ) iBest = i;
  }
  return iBest;
}

/* Keep evicted entry h as a spare, then, while aSpare holds more than
** BLOCK_CACHE_SPARES or the spares pass their share of the budget, take
** out the smallest (best-fit takes the smallest spare that fits, so small
** ones would pile up; a larger one fits more blocks) and chain it onto
** pFree, to be freed unlocked.  Returns the new chain. */
static block_handle *spare_keep(block_cache *p, block_handle *h, block_handle *pFree){
  SPARE_POISON(h);
  p->aSpare[p->nSpare] = h;
  p->anSpare[p->nSpare] = h->nAlloc;
  p->nSpare++;
  p->nSpareCharge += charge(h);
  if( overflowed(h) ) p->nOverflowCharge += charge(h);
  while( p->nSpare > BLOCK_CACHE_SPARES
      || p->nSpareCharge > p->nCapacity / BLOCK_CACHE_SPARE_SHARE ){
    int i, iMin = 0;
    for(i = 1; i < p->nSpare; i++) if( p->anSpare[i] < p->anSpare[iMin] ) iMin = i;
    pFree = spare_drop(p, iMin, pFree);
  }
  return pFree;
}

block_handle *block_cache_alloc(block_cache *p, lsm_env *pEnv, size_t n){
  block_handle *h = NULL, *pFree = NULL;
  int i;
  if( p == NULL ) return block_handle_alloc(p, pEnv, n);
  pthread_mutex_lock(&p->mutex);
  i = spare_find(p, n);
  if( i >= 0 ){
    /* Its charge moves from the spares to the entry it becomes: the
    ** total stays as it was. */
    h = spare_take(p, i);
  }else{
    /* Room for a new allocation: an evicted entry that fits is the
    ** allocation; one that does not is kept as a spare, which leaves the
    ** total as it was until spare_keep's limits free a spare: the loop
    ** evicts at most BLOCK_CACHE_SPARES + 1 entries before that. */
    uint64_t nNeed = (uint64_t)n + sizeof(block_handle);
    while( h == NULL && total_charge(p) + nNeed > p->nCapacity ){
      if( p->nIdle == 0 ){
        if( p->nSpare == 0 ) break;
        pFree = spare_drop(p, 0, pFree);
      }else{
        block_handle *pVictim = evict_one(p);
        if( !reusable(p, pVictim) ){
          pVictim->pRingNext = pFree;
          pFree = pVictim;
        }else if( spare_fits(pVictim->nAlloc, n) ){
          h = pVictim;
        }else{
          pFree = spare_keep(p, pVictim, pFree);
        }
      }
    }
  }
  pthread_mutex_unlock(&p->mutex);
  free_chain(pFree);
  if( h == NULL ) return handle_alloc(p, pEnv, n, 1);
  /* An evicted entry's header, made new (nAlloc and pEnv stay). */
  assert( h->nRef == 0 && !h->bCached );
  h->pCache = NULL;
  h->nRef = 1;
  h->bHot = h->bPassing = 0;
  h->pRingPrev = h->pRingNext = NULL;
  h->n = n;
  return h;
}

uint8_t *block_handle_buf(block_handle *h){
  return h->a;
}

void block_handle_set_size(block_handle *h, size_t n){
  assert( n <= h->nAlloc && h->pCache == NULL );
  h->n = n;
}

/*
** Whether overflowed entry h (from malloc though a size class could hold
** it: its class had no free object, no slab could be mapped, no entry of
** the class could be evicted for it) would take the slabs and the
** overflowed entries past MEMORY_BOUND: then it is not cached.  Why:
** blocks of more size classes than a budget has 2 MiB slabs for (sizes
** of 2,000 to 12,000 bytes are 20 classes; 32 MiB + 1/16 + 4 MiB is 19
** slabs) left some class with no slab at all, and each of its blocks came
** from malloc, on top of the slabs: 10.9 MB more in a 32 MiB cache (51.7
** MB held).  The bound, not a fixed share: a first version refused past
** 1/16 of the budget from malloc, and a working set of 20 MiB in such
** classes, which the 32 MiB cache held whole within the bound before,
** then missed 5% of its reads for good (a reviewer's driver).  A block
** refused counts toward moving its class a slab (starve).
*/
static int overflow_full(const block_cache *p, const block_handle *h){
  return overflowed(h) && atomic_load_explicit(&p->bSlabs, memory_order_relaxed)
      && block_memory_bytes(p->pMemory) + p->nOverflowCharge + charge(h)
         > MEMORY_BOUND(p->nCapacity);
}

/* block_cache_insert and block_cache_insert_passing: bPassing marks the
** entry as a sequential read's (released cold until looked up). */
static block_handle *insert_as(block_cache *p, uint64_t id, uint32_t iBlock, block_handle *h,
                               int bPassing){
  block_handle *pFree = NULL, *pOld;
  uint64_t hash = block_hash(id, iBlock), i;
  if( p == NULL ) return h;
  assert( h->pCache == NULL && h->nRef == 1 );
  pthread_mutex_lock(&p->mutex);
  i = slot_find(p, hash, id, iBlock);
  pOld = p->aSlot[i].h;
  if( pOld ){
    /* Another thread read it first: use that one. */
    take_ref(p, pOld);
  }else if( overflow_full(p, h) ){
    /* Not cached: the reader reads it from its private handle, and the
    ** class's want of room counts toward a slab move (move_slab). */
    starve(p, charge(h));
    p->nRefused++;
  }else if( (p->nEntries + 1) * 2 < p->nSlot
         || grow(p)
         || p->nEntries + 2 < p->nSlot ){
    /* (After an OOM in grow the table may fill past half, never to its
    ** last empty slot: invariant 5.) */
    i = slot_find(p, hash, id, iBlock);      /* grow may have moved it */
    h->pCache = p;
    h->id = id;
    h->iBlock = iBlock;
    h->bCached = 1;
    h->bHot = 0;
    h->bPassing = (uint8_t)(bPassing != 0);
    p->aSlot[i].hash = hash;
    p->aSlot[i].h = h;
    ring_append(p, h);
    p->nCharge += charge(h);
    if( overflowed(h) ) p->nOverflowCharge += charge(h);
    if( h->bSlab ) p->anClassEntries[block_memory_class_index(charge(h))]++;
    p->nEntries++;
    pFree = evict(p);
  }
  /* else: no room and no memory for more: h stays private (uncached). */
  pthread_mutex_unlock(&p->mutex);
  free_chain(pFree);
  if( pOld ){
    handle_free(h);
    return pOld;
  }
  return h;
}

block_handle *block_cache_insert(block_cache *p, uint64_t id, uint32_t iBlock, block_handle *h){
  return insert_as(p, id, iBlock, h, 0);
}

block_handle *block_cache_insert_passing(block_cache *p, uint64_t id, uint32_t iBlock,
                                         block_handle *h){
  return insert_as(p, id, iBlock, h, 1);
}

const uint8_t *block_handle_data(const block_handle *h, size_t *pn){
  *pn = h->n;
  return h->a;
}

/* Drop a reference.  An entry left unused stays where it is in the ring
** (its bHot, set by the lookup, gives it its second chance), or, released
** cold (bCold) or a sequential read's not looked up since (bPassing),
** loses that chance and becomes the oldest: the next to go. */
static void release_to(block_handle *h, int bCold){
  block_cache *p;
  block_handle *pFree = NULL;
  int bFree;
  if( h == NULL ) return;
  p = h->pCache;
  if( p == NULL ){
    assert( h->nRef == 1 );
    handle_free(h);
    return;
  }
  pthread_mutex_lock(&p->mutex);
  assert( h->nRef > 0 );
  bFree = --h->nRef == 0 && !h->bCached;
  if( h->nRef == 0 && h->bCached ){
    p->nIdle++;
    if( bCold || h->bPassing ){
      h->bHot = 0;
      ring_remove(h);
      ring_prepend(p, h);
    }
    if( total_charge(p) > p->nCapacity ) pFree = evict(p);
  }
  pthread_mutex_unlock(&p->mutex);
  free_chain(pFree);
  if( bFree ) handle_free(h);
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
      block_handle *h = p->aSlot[slot_find(p, block_hash(id, i), id, i)].h;
      if( h && uncache(p, h) ){
        h->pRingNext = pFree;
        pFree = h;
      }
    }
  }
  /* A cache left empty (its stores closed) keeps no spares either. */
  while( p->nEntries == 0 && p->nSpare > 0 ) pFree = spare_drop(p, 0, pFree);
  pthread_mutex_unlock(&p->mutex);
  free_chain(pFree);
}

void block_cache_get_stats(block_cache *p, block_cache_stats *pStats){
  memset(pStats, 0, sizeof(*pStats));
  if( p == NULL ) return;
  pthread_mutex_lock(&p->mutex);
  pStats->nCapacity = p->nCapacity;
  pStats->nCharge = p->nCharge;
  pStats->nSpareBytes = p->nSpareCharge;
  pStats->nEntries = p->nEntries;
  pStats->nHits = p->nHits;
  pStats->nMisses = p->nMisses;
  pStats->nOverflowBytes = p->nOverflowCharge;
  pStats->nSlabMoves = p->nSlabMoves;
  pStats->nClassEvictions = p->nClassEvictions;
  pStats->nRefused = p->nRefused;
  pthread_mutex_unlock(&p->mutex);
  pStats->nMappedBytes = block_memory_bytes(p->pMemory);
}
