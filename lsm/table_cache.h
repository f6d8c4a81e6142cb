/*
** table_cache.h — the open SSTable readers of a store, bounded by the
** heap they hold and by their number.
**
** An open sst_reader costs heap (sst_reader_heap_bytes: its decoded
** index, about 32 bytes per data block, and, unless the file is mapped,
** its filter and index regions, about 2.4 bytes per key more) and either
** a mapping (the default env then closes the descriptor) or a file
** descriptor.  Keeping every live table open would make these grow with
** the data without bound.  So each store has one table_cache holding
** readers while their heap stays within nMaxBytes
** (lsm_options.table_cache_bytes) and their number within nCapacity
** (lsm_options.max_open_tables, further capped by the descriptor limit
** when readers hold descriptors: db.c), evicting the least recently used
** (approximately: CLOCK, see table_cache.c); a table whose reader was
** dropped is reopened when next read.  Charging heap rather than counting
** tables (LevelDB's max_open_files counts) lets the many small-footprint
** tables of a big mapped store stay open: a reopen costs an open, a
** mapping and a verification of the filter and index (~30 us of CPU), and
** under a count of 1000 a 50M-key store reopened a table every fourth get.
**
** The cache is an intrusive list: each table (table.h) embeds a
** table_cache_slot holding its reader, its list links and a
** recently-read flag, all guarded by the cache's mutex.  The cache knows
** slots, not tables, so it sits below the tables and the versions that
** list them.  The reader in a slot carries one reference owned by the
** cache.  A reader is handed out with a reference of its own
** (table_cache_reader), so an iterator or a get that is using it keeps
** it (its descriptor, mapping and index) alive after an eviction:
** eviction only drops the cache's reference.  Values and keys read from a
** reader stay valid while the caller holds its reference.
**
** Locking: one mutex per cache, held only for list and counter updates,
** never during I/O: a miss opens the reader unlocked, then installs it
** (if another thread installed one meanwhile, that one is used and the
** new one dropped); an evicted reader is released after unlocking.  The
** mutex is the innermost lock of the store (nothing is locked under it).
**
** Invariants (under the mutex):
**   1. A slot is in the LRU list iff its pReader is non-NULL.
**   2. nOpen == the length of the list; nBytes == the sum of its slots'
**      nCharge.  When an install's trim returns, nOpen <= nCapacity and
**      nBytes <= nMaxBytes, unless the reader it installed alone exceeds
**      nMaxBytes (a cache never evicts the reader it is handing out).
**      Readers held by open iterators or in-flight gets may exceed the
**      bounds for as long as they are used.
**   3. Every slot in the list belongs to a live table: a table's slot
**      leaves the list (table_cache_remove) before the table is freed.
**   4. Slots enter the list at pHead; eviction takes, from pTail, the
**      first slot whose bRecent is clear (a slot read since it was last
**      put at the head has it set, and goes back to the head, cleared).
*/
#ifndef LSM_TABLE_CACHE_H
#define LSM_TABLE_CACHE_H

#include <stdint.h>

#include "lsm.h"
#include "sst_reader.h"

typedef struct table_cache table_cache;
typedef struct table_cache_slot table_cache_slot;

/*
** A table's place in the cache, embedded in the table (table.h).  The
** owner sets pCache and zPath (table_cache_slot_init) and leaves the
** rest to the cache.
*/
struct table_cache_slot {
  table_cache *pCache;        /* the store's cache of open readers        */
  const char *zPath;          /* the SSTable's path (borrowed: the owner's) */
  sst_reader *pReader;        /* (C) reader the cache holds, or NULL      */
  table_cache_slot *pLruPrev; /* (C) previous slot toward the head        */
  table_cache_slot *pLruNext; /* (C) next slot toward the tail            */
  int bRecent;                /* (C) read since it last entered the head  */
  size_t nCharge;             /* (C) heap bytes pReader is charged        */
  uint64_t idBlocks;          /* key of the file's blocks in the block
                              ** cache, shared by every reader of it      */
  uint32_t nBlocks;           /* (C) the file's data blocks, once opened  */
};                            /* (C): guarded by pCache's mutex           */

#define TABLE_CACHE_MIN_CAPACITY 16   /* lsm_options.max_open_tables floor */

/* A new, empty cache holding at most nCapacity (>= 1) readers whose
** heap (sst_reader_heap_bytes) adds up to at most nMaxBytes.  Owned: free
** with table_cache_free. */
int table_cache_new(lsm_env*, int nCapacity, uint64_t nMaxBytes, table_cache **ppCache);

/* Free the cache.  REQUIRES: every slot that used it has been removed
** (so it holds no reader).  NULL is a no-op. */
void table_cache_free(table_cache*);

/* A slot of pCache for the SSTable at zPath (borrowed: it must outlive
** the slot), holding no reader.  Every reader the cache opens for it
** keeps its blocks in the block cache under one key, so a reopen after an
** eviction finds the blocks read before it, and an eviction costs the
** block cache nothing; they are erased when the slot is removed. */
void table_cache_slot_init(table_cache_slot*, table_cache *pCache, const char *zPath);

/*
** Make pReader (the caller's reference, which the cache takes over) the
** open reader of pSlot, evicting another slot's reader if that puts the
** cache over capacity.
** REQUIRES: pSlot has no reader yet.
*/
void table_cache_insert(table_cache_slot *pSlot, sst_reader *pReader);

/*
** pSlot's reader with a new reference (release it with
** sst_reader_unref), opening the file if the cache does not hold it
** (a miss; corruption found by the open is returned as for any open).
** The slot counts as recently used.  NULL and *pRc set on error
** (sticky: NULL at once if *pRc already holds one).
** REQUIRES: the caller holds a reference to the slot's table.
*/
sst_reader *table_cache_reader(table_cache_slot *pSlot, int *pRc);

/*
** For each of the n slots, its reader with a new reference if the cache
** holds one open (counted as recently used), else NULL: nothing is
** opened.  One lock for all of them, where n calls of table_cache_reader
** take n.
** REQUIRES: every slot is of the same cache; the caller holds a reference
** to each slot's table.
*/
void table_cache_readers_if_open(table_cache_slot *const *apSlot, int n, sst_reader **apReader);

/* Drop pSlot's reader, if the cache holds one, take the slot out of the
** list, and erase its file's blocks from the block cache (a reader still
** used by an iterator may cache a few again; they age out: no reader of
** another file shares the key).  Called when its table's last reference
** goes.  A slot whose pCache is NULL (never initialised) is left alone. */
void table_cache_remove(table_cache_slot *pSlot);

/* Readers held now, the heap bytes they are charged, and opens made by
** table_cache_reader since the cache was made (misses). */
void table_cache_stats(table_cache*, uint64_t *pnOpen, uint64_t *pnBytes, uint64_t *pnMisses);

/*
** How the cache's readers read data blocks: through pShared (a block
** cache shared with other stores: the table cache holds a reference
** until it is freed) or, when pShared is NULL, through a block cache of
** nBlockBytes of its own; and from a mapping when bMap (and the env has
** xMap).  Until this is called: no block cache (private reads) and no
** mapping.  Either way each table erases its blocks when it is removed
** (table_cache_remove), so a closed store leaves nothing in a shared cache.
** REQUIRES: no reader was opened through the cache yet.
*/
int table_cache_set_blocks(table_cache*, block_cache *pShared, uint64_t nBlockBytes, int bMap);

/* The block cache (NULL if none) and whether readers map their files. */
block_cache *table_cache_blocks(table_cache*);

/* The block cache lookups of this cache's readers (of this store alone,
** when the block cache is shared). */
void table_cache_block_counts(table_cache*, block_cache_counts *pOut);

/* Open a new reader for pSlot's file the way this cache's readers read
** (not put in the cache: see table_cache_insert). */
int table_cache_open_reader(table_cache_slot *pSlot, sst_reader **ppReader);

#endif
