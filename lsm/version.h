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
** Tables: each level lists `table` handles (table.h), shared by every
** version that lists them; a version holds one reference to each.
**
** Callers outside version.c read a version through the accessors below
** (version_level_count, version_table, ...), never its arrays.
**
** Thread safety: versions are immutable apart from their atomic
** reference counts, so any thread may read them.  Building a new version
** (version_apply) is serialized by the store (one install at a time).
**
** Invariants:
**   1. Every table in level >= 1 has smallest <= largest, and for
**      consecutive tables a, b of a level: a.largest < b.smallest (user keys).
**   2. Level 0 is ordered newest first (descending file number).
**   3. A version holds one reference to each table it lists.
**   4. A table listed in level i has meta.iLevel == i.
**   5. anByte[i] is the sum of meta.nFileBytes over level i's tables.
** version_check_invariants asserts them; version_apply calls it on every
** version it builds (debug and sanitizer builds: assert is compiled in).
*/
#ifndef LSM_VERSION_H
#define LSM_VERSION_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "iter.h"
#include "lsm.h"
#include "manifest.h"
#include "table.h"

typedef struct version {
  atomic_int nRef;
  lsm_env *pEnv;
  int anFile[LSM_MAX_LEVELS];          /* tables per level            */
  table **aapFile[LSM_MAX_LEVELS];     /* owned arrays of references  */
  uint64_t anByte[LSM_MAX_LEVELS];     /* file bytes per level: summed
                                       ** once here, read on every write
                                       ** (compaction_write_stall)     */
} version;

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

/*
** The newest version of user key pKey with seq <= maxSeq in the tables,
** level 0 newest first, then each deeper level: fills *pRes (zeroed
** here; see table_get_result for what the caller releases).  hash is
** checksum_hash_key(pKey, nKey), for the tables' Bloom filters.
*/
int version_get(version*, const void *pKey, size_t nKey, uint64_t hash, uint64_t maxSeq,
                table_get_result *pRes);

/* Append iterators over every table to apIter (L0 tables one each, one
** concatenating iterator per deeper level).  *pnIter is incremented.
** bFill: the blocks they read enter the block cache (else they use it
** when it holds them, and leave it as it was).
** REQUIRES: the caller keeps the version referenced until the iterators
** are closed (the level iterators borrow its table arrays). */
int version_add_iters(version*, int bFill, iter **apIter, int *pnIter);
int version_iter_count(version*);    /* how many version_add_iters adds */

/*
** The same for a set of tables from one version (a compaction's inputs,
** in any order): the level-0 tables one iterator each, in the order
** given; each deeper level's tables one level iterator, in key order.
** Appends to apIter, which must have room for nTable iterators.  The
** blocks they read do not enter the block cache (one pass over them),
** and cached ones they leave become the least recently used
** (SST_FILL_COLD): the output replaces them.
*/
int version_add_table_iters(lsm_env*, table **apTable, int nTable, iter **apIter, int *pnIter);

/* ---- Reading a version's shape ---- */

int version_level_count(const version*, int iLevel);       /* tables in iLevel  */
/* Table i (0 <= i < version_level_count) of iLevel: borrowed from pV. */
table *version_table(const version*, int iLevel, int i);
int version_table_count(const version*);                  /* in every level */
uint64_t version_level_bytes(const version*, int iLevel);  /* file bytes */
/* The deepest non-empty level (0 if only level 0, or none, has tables). */
int version_deepest_level(const version*);
/* True if no level deeper than iLevel holds a table. */
int version_is_bottom(const version*, int iLevel);
/* True if the version lists a table of file number iNumber. */
int version_has_file(const version*, uint64_t iNumber);
/* True if some table in a level deeper than iLevel may contain pKey. */
int version_key_may_exist_below(const version*, int iLevel, const uint8_t *pKey, size_t nKey);

/* Assert invariants 1-4 (a no-op under NDEBUG). */
void version_check_invariants(const version*);

#endif
