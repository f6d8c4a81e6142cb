/*
** block_cache.h — data blocks of every SSTable of a store, held on the
** heap up to a byte budget (lsm_options.block_cache_bytes).
**
** A reader that cannot point into a mapping of its file (an env without
** xMap, lsm_options.use_mmap off, or a compressed block, which must be
** decompressed somewhere) reads a block with xRead, verifies its
** checksum, decompresses it, and inserts the result here under the key
** (reader id, block number).  Every later read of that block, by any
** reader thread, finds it here until it is evicted.
**
** Handles: a lookup or an insert returns a block_handle holding one
** reference; the block's bytes stay valid until block_cache_release,
** whether or not the cache evicts or erases the entry meanwhile (an
** iterator's current block, a value returned by a get).  A handle made
** with a NULL cache is private: not shared, freed at its release.
**
** Eviction: by bytes, oldest first with a second chance (CLOCK; why
** not LevelDB's LRU list: block_cache.c): the cache charges each entry
** its bytes plus its header; when the charge of the entries the cache
** holds passes the budget, it walks them from the oldest inserted: an
** entry in use (referenced by a handle) or looked up since the walk last
** passed it is moved to the young end, its mark cleared; any other is
** freed.  So a block inserted and never looked up again goes first, in
** insertion order, and one in use is never freed.  A block a scan
** passes (block_cache_insert_passing) goes before all of them, once
** released, until a lookup finds it.  Entries in use may
** exceed the budget for as long as they are used (one block per open
** iterator and per get).
**
** Sharing: a cache may serve the readers of several stores (a cache made
** with lsm_block_cache_new and passed in lsm_options.block_cache: the
** SQLite extension gives every in-database table of the process one).
** Reader ids are process-unique, so stores never collide; each store
** takes a reference (block_cache_ref) and drops it at its close, after
** its tables erased their blocks.  A handle that may enter a cache is
** allocated with the cache's env (block_handle_alloc), never a store's:
** a store's env may die with the store while the cache lives on.
**
** Locking: one mutex per cache, held for hash and list updates only,
** never during I/O, checksums or decompression (a miss reads unlocked,
** then inserts; if another thread inserted the block meanwhile, its copy
** is used and the new one freed).  The mutex is innermost: nothing is
** locked under it.
**
** Invariants (under the mutex):
**   1. An entry is in the hash table iff bCached iff it is in the ring
**      (the eviction order).
**   2. nCharge is the sum of the charges of the entries with bCached;
**      nIdle counts the entries with bCached and nRef == 0.
**   3. After every operation, nCharge + nSpareCharge <= nCapacity, or
**      nIdle == 0 and no spare is kept (everything cached is in use).
**   4. An entry is freed or kept as a spare (block_cache_alloc) exactly
**      when it is neither cached nor referenced; a spare is neither.
**   5. The hash table keeps an empty slot, and every entry lies in the
**      probe run from its home slot to the first empty slot after it.
*/
#ifndef LSM_BLOCK_CACHE_H
#define LSM_BLOCK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "lsm.h"

/* The public lsm_block_cache of lsm.h is this cache. */
typedef struct lsm_block_cache block_cache;
typedef struct block_handle block_handle;

/* A new cache of nCapacity bytes (0: nothing stays after its release),
** allocating with pEnv (which must outlive it), with one reference.
** Owned: drop it with block_cache_unref. */
int block_cache_new(lsm_env*, uint64_t nCapacity, block_cache **ppCache);

/* Take / drop a reference; the last drop frees the cache and every entry
** in it.  REQUIRES at the last drop: no handle of it is held.  NULL is a
** no-op. */
void block_cache_ref(block_cache*);
void block_cache_unref(block_cache*);

/* Change the budget; a lower one evicts at once (blocks in use stay). */
void block_cache_set_capacity(block_cache*, uint64_t nCapacity);

/* The budget now, bytes. */
uint64_t block_cache_capacity(block_cache*);

/* A process-unique id for a new reader's keys (never 0, never reused). */
uint64_t block_cache_new_id(void);

/* Lookups of one store in a cache it may share with others, so that its
** lsm_stats counts its own: updated and read under the cache's mutex. */
typedef struct block_cache_counts {
  uint64_t nHits;             /* lookups that found their block           */
  uint64_t nMisses;           /* lookups that did not                     */
} block_cache_counts;

/* The handle of block iBlock of reader id, with a reference; NULL if the
** cache does not hold it (or pCache is NULL).  Counted in the cache's
** totals and, if pCounts is not NULL, in *pCounts.  nExpect (0: unknown)
** is the size the caller expects the block to have: the line holding its
** last bytes (a block's restart array, which block_view_init reads
** first) is fetched together with the entry's header instead of after
** it; a wrong size costs nothing but the fetch. */
block_handle *block_cache_lookup(block_cache*, uint64_t id, uint32_t iBlock);
block_handle *block_cache_lookup_counted(block_cache*, block_cache_counts *pCounts,
                                         uint64_t id, uint32_t iBlock, size_t nExpect);
/*
** block_cache_lookup_counted for a reader that does not fill the cache (a
** compaction's inputs; lsm_read.bNoFill, as lsm_stats' count of live
** bytes): the entry is pinned but keeps its place in the eviction order
** (no second chance, a passing entry stays passing).  Why: such a reader
** touches every block it passes once; marking them gave every cached
** block of a scanned store the same second chance, losing what gets and
** seeks said about the blocks they use, and the next eviction walk then
** visited each marked block once more (the reads after lsm_stats: 4% of
** an in-database scan's time in evict).
*/
block_handle *block_cache_lookup_unmarked(block_cache*, block_cache_counts *pCounts,
                                          uint64_t id, uint32_t iBlock, size_t nExpect);

/*
** Hints for a lookup of (id, iBlock) that is to follow, so that the
** lookups of several sorted runs wait for memory at once instead of one
** after the other (merge_iter.c, "Seeks").  Neither reads the entry, takes
** a reference or counts as a lookup.
**   block_cache_prefetch_slot: fetch the line of the entry's home slot;
**     takes no lock (it reads a copy of the table's address that may be
**     stale, which costs only a useless fetch).
**   block_cache_prefetch_entry: under the mutex, find a slot with the
**     entry's hash and fetch the entry's header, its first line and the
**     line of byte nExpect - 4 (nExpect: as for block_cache_lookup_counted;
**     0: not that line).  1 if such a slot was found (the block is very
**     likely cached), 0 if not.
*/
void block_cache_prefetch_slot(block_cache*, uint64_t id, uint32_t iBlock);
int block_cache_prefetch_entry(block_cache*, uint64_t id, uint32_t iBlock, size_t nExpect);

/* A copy of *pCounts, read under pCache's mutex (zeros if pCache is NULL). */
void block_cache_read_counts(block_cache*, const block_cache_counts *pCounts,
                             block_cache_counts *pOut);

/* A new private handle of n bytes to fill (block_handle_buf), one
** reference; NULL on OOM.  Allocated from pCache's memory when pCache is
** not NULL (its slabs, or its env: the handle may be offered to it and
** outlive the reader's store; a handle still held when the cache is freed
** keeps its slab until released), else with pEnv's. */
block_handle *block_handle_alloc(block_cache *pCache, lsm_env *pEnv, size_t n);
/* block_handle_alloc for a handle that will be inserted, most likely (a
** block read with xRead, inserted unless it turns out compressed): in a
** cache in slabs at their limit, a size class with no free object may
** get a slab moved to it or an entry of its class evicted for it, as
** block_cache_alloc's allocation does; without making room in the
** budget first (the insert does that). */
block_handle *block_handle_alloc_to_insert(block_cache *pCache, lsm_env *pEnv, size_t n);
uint8_t *block_handle_buf(block_handle*);

/*
** block_handle_alloc for a block that is to be offered to pCache
** (block_cache_insert or _insert_passing) right after it is filled: a
** miss of a reader that fills the cache.  If the cache has no room for n
** more bytes it makes the room now, and the memory of an entry it
** evicts (or of one evicted earlier and kept, block_cache.c "Spares")
** becomes the new handle when its size fits n, so a full cache's miss
** neither frees nor allocates; in a cache in slabs whose slabs are at
** their limit, a block whose size class has no free object takes the
** memory of an idle entry of its class (block_cache.c, evict_own_class).
** The handle is private until inserted and is released as any (its
** memory then goes back to the allocator).  NULL on OOM.  A reader that
** will not insert (a compaction's input) uses block_handle_alloc: it
** must not evict for a block it drops, and block_handle_alloc never does.
*/
block_handle *block_cache_alloc(block_cache *pCache, lsm_env *pEnv, size_t n);

/* Shrink the bytes in use (a decompressed block smaller than allocated). */
void block_handle_set_size(block_handle*, size_t n);

/*
** Offer filled handle h to the cache as block iBlock of reader id and
** return the handle to use, with one reference: h itself, or the entry
** another thread inserted first (then h is released).  With a NULL cache
** h stays private and is returned as is, as it does in a cache in slabs
** when h came from malloc (its size class had no room) and would take the
** cache past its memory bound (block_cache.c, MEMORY_BOUND).
** Evicts past the budget.
*/
block_handle *block_cache_insert(block_cache*, uint64_t id, uint32_t iBlock, block_handle *h);

/*
** block_cache_insert for a block that a sequential read reached by
** stepping off the previous one (a scan): until some lookup finds the
** entry, every release of it is a cold one (block_cache_release_cold), so
** it is the next to be evicted.  A scan of more blocks than the budget
** then evicts its own blocks, the one it left last first, and leaves
** alone the blocks that gets and seeks looked up; a later scan finds the
** ones kept (the first budget's worth) and a lookup makes an entry an
** ordinary one.  Without it each block a scan read evicted one it would
** read later: four scans in a row of a store of 1.3 budgets missed 72,800
** of their 165,000 blocks each, with it 25,500 (README, "In-database
** scans: a scan's blocks leave the cache first").
*/
block_handle *block_cache_insert_passing(block_cache*, uint64_t id, uint32_t iBlock,
                                         block_handle *h);

/*
** Does the cache hold block iBlock of reader id?  Counts nothing and
** changes no entry's place in the eviction order: a scan's readahead
** asks it of the blocks ahead, to stop its run at the first one cached.
** A hint only (another thread may insert or evict right after).  A NULL
** cache holds nothing.
*/
int block_cache_holds(block_cache*, uint64_t id, uint32_t iBlock);

/*
** Would an entry of n bytes fit without evicting anything?  A hint, as
** block_cache_holds: a scan's readahead puts the blocks it reads into a
** cache with room (a later scan finds them) and, into a full one, none
** (each would only evict another block the scan read).  0 for a NULL
** cache.
*/
int block_cache_has_room(block_cache*, size_t n);

/* The block's bytes: borrowed, valid until the handle's release. */
const uint8_t *block_handle_data(const block_handle*, size_t *pn);

/* Drop a reference (NULL is a no-op); frees the entry if it is neither
** cached nor referenced any longer.  A cached entry keeps its place in
** the eviction order (its lookup gave it a second chance). */
void block_cache_release(block_handle*);

/* block_cache_release for a reader that does not fill the cache (a
** compaction's input): a cached entry nobody uses any more loses its
** second chance and becomes the oldest, the first to be evicted.  A
** compaction reads blocks that its own output will make obsolete; were
** they kept as looked up, the blocks the compaction writes into the
** cache (lsm_options.fill_cache_on_write) would be evicted before them,
** and a scan right after it would read those again. */
void block_cache_release_cold(block_handle*);

/* Drop blocks 0..nBlock-1 of reader id from the cache (a closing reader);
** blocks in use stay valid until released. */
void block_cache_erase(block_cache*, uint64_t id, uint32_t nBlock);

/* The cache's state and totals (of every store, for a shared one). */
typedef struct block_cache_stats {
  uint64_t nCapacity;         /* the budget, bytes                        */
  uint64_t nCharge;           /* bytes the cache holds now                */
  uint64_t nSpareBytes;       /* and holds for reuse (block_cache_alloc):
                              ** nCharge + nSpareBytes is in the budget   */
  uint64_t nEntries;          /* blocks it holds                          */
  uint64_t nMappedBytes;      /* its slabs (block_memory), 0 on malloc    */
  uint64_t nOverflowBytes;    /* of nCharge + nSpareBytes, the entries
                              ** malloc holds that a slab's size class could
                              ** have held (in a cache on malloc, every
                              ** such entry)                              */
  uint64_t nSlabMoves;        /* slabs emptied to serve another size class */
  uint64_t nClassEvictions;   /* entries evicted for a block of their own
                              ** size class, which had no free object     */
  uint64_t nRefused;          /* blocks read but not cached: their class had
                              ** no room, the memory at its bound          */
  uint64_t nHits;             /* lookups that found their block           */
  uint64_t nMisses;           /* lookups that did not                     */
} block_cache_stats;
void block_cache_get_stats(block_cache*, block_cache_stats*);

#endif
