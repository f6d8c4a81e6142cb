/*
** table_cache.h — the open SSTable readers of a store, bounded in number.
**
** An open sst_reader costs a file descriptor, a mapping of the whole file
** and heap for its decoded index (about 32 bytes per data block, ~0.8% of
** the data) and verified-block bitmap.  Keeping every live table open
** would make all three grow with the data, and a store of a thousand
** tables would run out of descriptors.  So, as LevelDB's TableCache with
** its max_open_files, each store has one table_cache holding at most
** nCapacity readers (lsm_options.max_open_tables), evicting the least
** recently used (approximately: CLOCK, see table_cache.c); a table whose
** reader was dropped is reopened when next read.
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
**   2. nOpen == the length of the list <= nCapacity: the cache itself
**      holds at most nCapacity readers.  Readers held by open iterators
**      or in-flight gets may exceed it for as long as they are used.
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
};                            /* (C): guarded by pCache's mutex           */

#define TABLE_CACHE_MIN_CAPACITY 16   /* lsm_options.max_open_tables floor */

/* A new, empty cache holding at most nCapacity (>= 1) readers.  Owned:
** free with table_cache_free. */
int table_cache_new(lsm_env*, int nCapacity, table_cache **ppCache);

/* Free the cache.  REQUIRES: every slot that used it has been removed
** (so it holds no reader).  NULL is a no-op. */
void table_cache_free(table_cache*);

/* A slot of pCache for the SSTable at zPath (borrowed: it must outlive
** the slot), holding no reader. */
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

/* Drop pSlot's reader, if the cache holds one, and take the slot out of
** the list.  Called when its table's last reference goes.  A slot whose
** pCache is NULL (never initialised) is left alone. */
void table_cache_remove(table_cache_slot *pSlot);

/* Readers held now, and opens made by table_cache_reader since the
** cache was made (misses). */
void table_cache_stats(table_cache*, uint64_t *pnOpen, uint64_t *pnMisses);

#endif
