/*
** table.h — the handle of one live SSTable: its metadata, its file, its
** place in the table cache, and the point lookup through it.
**
** One `table` per SSTable, shared by every version that lists it
** (version.h) and reference-counted.  When a compaction removes a table
** from the current version it is marked obsolete; when its last
** reference goes (the last version or iterator using it), the file is
** unlinked.  A table that is not obsolete is never unlinked (closing the
** store drops every reference without deleting anything).
**
** Readers: a table's file is read through the store's table_cache
** (table_cache.h), which keeps a bounded number of readers open and
** reopens a table when it is read after an eviction.  A moved table
** (table_move) reads through the first table of its chain, so one file
** has one reader, not one per level it passed through.  Nothing outside
** table_cache.c touches the slot's reader or links: readers are borrowed
** with table_reader (or table_iter, table_readers_if_open) and hold their own
** reference, so a reader, and the values read from it, outlive its
** eviction while used.
**
** Thread safety: a table is immutable apart from its atomic reference
** count, the obsolete flag and its cache slot (guarded by the cache's
** mutex), so any thread may read it.
*/
#ifndef LSM_TABLE_H
#define LSM_TABLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "iter.h"
#include "lsm.h"
#include "manifest.h"
#include "sst_reader.h"
#include "sst_writer.h"
#include "table_cache.h"

typedef struct table {
  atomic_int nRef;            /* versions + iterators using it           */
  atomic_int bObsolete;       /* removed from the current version        */
  lsm_env *pEnv;
  char *zPath;                /* the SSTable's path                      */
  table_cache_slot slot;      /* its reader in the store's table cache   */
  struct table *pMovedFrom;   /* the table of the same file this one was
                              ** moved from (a reference), or NULL        */
  manifest_file meta;         /* level, number, sizes, key range (owned) */
} table;

/*
** The answer of a point lookup, filled by table_get_from_reader (and version_get,
** which asks table after table) and read by lsm_get.  Zero it before the
** first call: the counters add up over every table asked.
*/
typedef struct table_get_result {
  int bFound;                 /* a version of the key was found          */
  int type;                   /* IKEY_VALUE or IKEY_DELETE (when found)  */
  const uint8_t *pVal;        /* borrowed from pPinned (when found)      */
  size_t nVal;
  sst_reader *pPinned;        /* when found: a reference to the reader
                              ** pVal points into, which the caller drops
                              ** with sst_reader_unref; else NULL         */
  block_handle *pPinBlock;    /* when found in a block read through the
                              ** block cache: the block pVal points into,
                              ** which the caller releases with
                              ** block_cache_release; else NULL           */
  int nProbes;                /* tables whose blocks were searched       */
  int nBloomChecks;           /* tables whose filter was consulted       */
  int nBloomNegatives;        /* ... and ruled the key out               */
  int nBloomFalsePositives;   /* ... and let it through, key not found   */
} table_get_result;

/* Open the SSTable of *pMeta (copied) in zDir as a table with one
** reference.  The file is opened and validated here (LSM_CORRUPT if it
** is bad), and its reader put in pCache. */
int table_open(lsm_env*, table_cache *pCache, const char *zDir, const manifest_file *pMeta,
               table **ppTable);

/* table_open for a file just written with sst_writer_fill_cache(...,
** idBlocks): its reader keeps its blocks under idBlocks, so it finds the
** ones the writer put in the block cache (0: a new id, as table_open). */
int table_open_filled(lsm_env*, table_cache *pCache, const char *zDir,
                      const manifest_file *pMeta, uint64_t idBlocks, table **ppTable);

/* table_open_filled for the file sst_writer_finish just described in
** *pMeta (its keys are copied): file iNumber at level iLevel.  Used by
** every writer of tables (compaction outputs, a flush built ahead).  A
** mapped table is then verified whole in the calling thread
** (sst_reader_verify_mapped), so that the first gets after it is
** installed neither hash its blocks nor first-touch its pages; a damaged
** one is LSM_CORRUPT here, before anything installs it. */
int table_open_written(lsm_env*, table_cache *pCache, const char *zDir, int iLevel,
                       uint64_t iNumber, const sst_meta *pMeta, uint64_t idBlocks,
                       table **ppTable);

/* A table of *pMeta (copied) in zDir with one reference, its file not
** opened: the cache opens it when it is first read.  For callers that
** only need the metadata (the picker's tests) or check the file later. */
int table_new(lsm_env*, table_cache *pCache, const char *zDir, const manifest_file *pMeta,
              table **ppTable);

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

void table_ref(table*);
void table_unref(table*);              /* unlinks an obsolete table at zero */

/* Copy *pSrc into *pDst with keys of its own (env_free them); sticky
** *pRc. */
void table_meta_copy(lsm_env*, const manifest_file *pSrc, manifest_file *pDst, int *pRc);

/* The table's reader with a reference of its own (sst_reader_unref it);
** NULL + *pRc on error (sticky). */
sst_reader *table_reader(table*, int *pRc);

/* An iterator over every entry of the table, holding a reference to its
** reader (through the cache).  NULL + *pRc on error. */
iter *table_iter(table*, int *pRc);
/* The same, its blocks using the block cache as eFill says (SST_FILL*,
** sst_reader_iter_fill). */
iter *table_iter_fill(table*, int eFill, int *pRc);
/* Make pIter (from table_iter_fill) an unpositioned iterator over table p
** instead (sst_reader_iter_retarget); 1 on success, 0 + *pRc on error,
** pIter then unchanged. */
int table_iter_retarget(iter *pIter, table *p, int *pRc);

/* Look up the newest version of user key pKey with seq <= maxSeq in the
** table pReader reads; fill *pRes (see table_get_result).  hash is
** checksum_hash_key(pKey, nKey), for the table's Bloom filter.  pReader is
** a reference (from table_reader or table_readers_if_open) that the call
** takes over, kept in pRes->pPinned when the key is found. */
int table_get_from_reader(sst_reader *pReader, const void *pKey, size_t nKey, uint64_t hash,
                          uint64_t maxSeq, table_get_result *pRes);

/* Most tables table_readers_if_open takes at once. */
#define TABLE_READERS_MAX 32
/* For each of the n tables (all of one store), its reader with a
** reference of its own if the table cache holds it open, else NULL:
** nothing is opened, and the cache's lock is taken once for all.
** REQUIRES: n <= TABLE_READERS_MAX. */
void table_readers_if_open(table *const *apT, int n, sst_reader **apReader);

/* The table's key range as user keys (borrowed from the table). */
const uint8_t *table_smallest_user(const table*, size_t *pn);
const uint8_t *table_largest_user(const table*, size_t *pn);
/* True if user key pKey lies in the table's key range. */
int table_may_contain(const table*, const void *pKey, size_t nKey);
/* True if the table's key range meets the user-key range [lo, hi]. */
int table_overlaps(const table*, const uint8_t *pLo, size_t nLo, const uint8_t *pHi, size_t nHi);

#endif
