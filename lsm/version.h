/*
** version.h — the set of live SSTables, by level, at one moment.
**
** A version is immutable once built: a flush or a compaction makes a new
** version from the current one plus an edit, and installs it as current.
** Readers (gets, cursors, snapshots) pin the version they started with,
** so files of older versions stay readable until the last reader of that
** version is gone.
**
** Levels: level 0 holds flushed tables whose key ranges may overlap,
** newest first.  Levels 1..LSM_MAX_LEVELS-1 hold tables with disjoint key
** ranges, sorted by smallest key.
**
** Tables: one `table` struct per SSTable, shared by every version that
** lists it and reference-counted.  When a compaction removes a table
** from the current version it is marked obsolete; when its last
** reference goes (the last version listing it), the file is unlinked.
** A table that is not obsolete is never unlinked (closing the store drops
** every reference without deleting anything).
**
** Readers: a table's file is read through the store's table_cache
** (table_cache.h), which keeps a bounded number of readers open and
** reopens a table when it is read after an eviction.  Nothing outside
** table_cache.c touches table.pReader: readers are borrowed with
** table_cache_reader (or table_iter) and hold their own reference, so a
** reader, and the values read from it, outlive its eviction while used.
**
** Thread safety: versions and tables are immutable apart from their
** atomic reference counts, the obsolete flag and the reader slot with its
** LRU links (guarded by the table cache's mutex), so any thread may read
** them.  Building a new version (version_apply) is serialized by the
** store (one flush or compaction job at a time).
**
** Invariants:
**   1. Every table in level >= 1 has smallest <= largest, and for
**      consecutive tables a, b of a level: a.largest < b.smallest (user keys).
**   2. Level 0 is ordered newest first (descending file number).
**   3. A version holds one reference to each table it lists.
*/
#ifndef LSM_VERSION_H
#define LSM_VERSION_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "iter.h"
#include "lsm.h"
#include "manifest.h"
#include "sst_reader.h"
#include "table_cache.h"

typedef struct table {
  atomic_int nRef;            /* versions + iterators using it           */
  atomic_int bObsolete;       /* removed from the current version        */
  lsm_env *pEnv;
  char *zPath;                /* the SSTable's path                      */
  table_cache *pCache;        /* the store's cache of open readers       */
  sst_reader *pReader;        /* (C) reader the cache holds, or NULL     */
  struct table *pLruPrev;     /* (C) previous table toward the head      */
  struct table *pLruNext;     /* (C) next table toward the tail          */
  int bRecent;                /* (C) read since it last entered the head */
  struct table *pMovedFrom;   /* the table of the same file this one was
                              ** moved from (a reference), or NULL        */
  manifest_file meta;         /* level, number, sizes, key range (owned) */
} table;                      /* (C): guarded by pCache's mutex          */

typedef struct version {
  atomic_int nRef;
  lsm_env *pEnv;
  int anFile[LSM_MAX_LEVELS];          /* tables per level            */
  table **aapFile[LSM_MAX_LEVELS];     /* owned arrays of references  */
} version;

/*
** A table for the same file at another level (a move: no I/O; the file
** was verified when pFrom was opened), with one reference.  Older
** versions may still list pFrom and read the file through it after the
** moved table is gone, so the file belongs to the chain: the moved table
** holds a reference to pFrom, and when it goes obsolete and is freed it
** marks pFrom obsolete instead of unlinking; the file goes with the last
** table of the chain.
*/
int table_move(table *pFrom, int iLevel, table **ppTable);

/* Open the SSTable of *pMeta (copied) as a table with one reference.
** The file is opened and validated here (LSM_CORRUPT if it is bad), and
** its reader put in pCache. */
int table_open(lsm_env*, table_cache *pCache, const char *zDir, const manifest_file *pMeta,
               table **ppTable);
void table_ref(table*);
void table_unref(table*);              /* unlinks an obsolete table at zero */
/* An iterator over every entry of the table, holding a reference to its
** reader (through the cache).  NULL + *pRc on error. */
iter *table_iter(table*, int *pRc);

/* An empty version with one reference. */
int version_new_empty(lsm_env*, version **ppVersion);
void version_ref(version*);
void version_unref(version*);

/*
** Build a new version (one reference): pBase minus the tables in
** apRemove, plus apAdd (each placed in its meta.iLevel).  Tables in
** apRemove are not marked obsolete here; the caller does that once the
** new version is installed.
*/
int version_apply(version *pBase, table **apRemove, int nRemove,
                  table **apAdd, int nAdd, version **ppNew);

/* Fill pState's file list from the version (keys copied). */
int version_to_manifest(version*, manifest_state *pState);

/* Result of a point lookup through the levels. */
typedef struct version_get_stats {
  int nProbes;             /* tables whose blocks were searched      */
  int nBloomChecks, nBloomNegatives, nBloomFalsePositives;
} version_get_stats;

/*
** The newest version of user key pKey with seq <= maxSeq in the tables.
** *pbFound, *pType, and the value.  When found, *ppPinned is a reference
** to the reader the value points into: the value is borrowed, valid
** until the caller releases it with sst_reader_unref (the table cache may
** evict the reader meanwhile; the reference keeps it mapped).  Otherwise
** *ppPinned is NULL.
*/
int version_get(version*, const void *pKey, size_t nKey, uint64_t maxSeq,
                int *pbFound, int *pType, const uint8_t **ppVal, size_t *pnVal,
                sst_reader **ppPinned, version_get_stats *pStats);

/* Append iterators over every table to apIter (L0 tables one each, one
** concatenating iterator per deeper level).  *pnIter is incremented. */
int version_add_iters(version*, iter **apIter, int *pnIter);
int version_iter_count(version*);    /* how many version_add_iters adds */

/* An iterator over the tables of a sorted level (apTable, disjoint,
** ascending), opening each table's iterator only when reached.  Holds a
** reference to each table. */
iter *level_iter_new(lsm_env*, table **apTable, int nTable, int *pRc);

/* Totals for stats. */
uint64_t version_level_bytes(version*, int iLevel);
/* True if some table in a level deeper than iLevel may contain pKey. */
int version_key_may_exist_below(version*, int iLevel, const uint8_t *pKey, size_t nKey);

#endif
