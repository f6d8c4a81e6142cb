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
** The cache is an intrusive list: each `table` (version.h) has a pReader
** slot, list links and a recently-read flag, all guarded by the cache's
** mutex.  The reader in a
** table's slot carries one reference owned by the cache.  A reader is
** handed out with a reference of its own (table_cache_reader), so an
** iterator or a get that is using it keeps it (its descriptor, mapping
** and index) alive after an eviction: eviction only drops the cache's
** reference.  Values and keys read from a reader stay valid while the
** caller holds its reference.
**
** Locking: one mutex per cache, held only for list and counter updates,
** never during I/O: a miss opens the reader unlocked, then installs it
** (if another thread installed one meanwhile, that one is used and the
** new one dropped); an evicted reader is released after unlocking.  The
** mutex is the innermost lock of the store (nothing is locked under it).
**
** Invariants (under the mutex):
**   1. A table is in the LRU list iff its pReader is non-NULL.
**   2. nOpen == the length of the list <= nCapacity: the cache itself
**      holds at most nCapacity readers.  Readers held by open iterators
**      or in-flight gets may exceed it for as long as they are used.
**   3. Every table in the list has a non-zero reference count: a table
**      leaves the list (table_cache_remove) before it is freed.
**   4. Tables enter the list at pHead; eviction takes, from pTail, the
**      first table whose bRecent is clear (a table read since it was last
**      put at the head has it set, and goes back to the head, cleared).
*/
#ifndef LSM_TABLE_CACHE_H
#define LSM_TABLE_CACHE_H

#include <stdint.h>

#include "lsm.h"
#include "sst_reader.h"

struct table;
typedef struct table_cache table_cache;

#define TABLE_CACHE_MIN_CAPACITY 16   /* lsm_options.max_open_tables floor */

/* A new, empty cache holding at most nCapacity (>= 1) readers.  Owned:
** free with table_cache_free. */
int table_cache_new(lsm_env*, int nCapacity, table_cache **ppCache);

/* Free the cache.  REQUIRES: every table that used it has been freed
** (so it holds no reader).  NULL is a no-op. */
void table_cache_free(table_cache*);

/*
** Make pReader (the caller's reference, which the cache takes over) the
** open reader of pTable, evicting another table's reader if that puts the
** cache over capacity.
** REQUIRES: pTable->pCache is this cache; pTable has no reader yet.
*/
void table_cache_insert(struct table *pTable, sst_reader *pReader);

/*
** pTable's reader with a new reference (release it with
** sst_reader_unref), opening the file if the cache does not hold it
** (a miss; corruption found by the open is returned as for any open).
** The table counts as recently used.  NULL and *pRc set on error
** (sticky: NULL at once if *pRc already holds one).
** REQUIRES: the caller holds a reference to pTable.
*/
sst_reader *table_cache_reader(struct table *pTable, int *pRc);

/* Drop pTable's reader, if the cache holds one, and take the table out of
** the list.  Called when the table's last reference goes. */
void table_cache_remove(struct table *pTable);

/* Readers held now, and opens made by table_cache_reader since the
** cache was made (misses). */
void table_cache_stats(table_cache*, uint64_t *pnOpen, uint64_t *pnMisses);

#endif
