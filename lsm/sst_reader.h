/*
** sst_reader.h — reads one SSTable (format: see sst_writer.c).
**
** Opening reads the footer (magic, version, offsets, checksum), then
** verifies the properties, the index and the Bloom filter, which stay
** available: where they lie in the mapping when the file is mapped (page
** cache, not heap), else read into the heap.  The index is also decoded
** into an array (about 32 heap bytes per data block either way: see
** sst_reader_heap_bytes).  Data blocks are read when needed:
** from a mapping of the file (bMap and an env with xMap) or with xRead
** through the store's block cache (block_cache.h).  A data block's
** checksum is verified before its bytes are used: once per mapped block
** (a bitmap remembers it), and before a block read with xRead enters
** the cache.
**
** Every corruption is reported with LSM_CORRUPT and a message naming the
** file and the region (footer, index, filter, properties, block N).
**
** Lifetime: sst_reader_open returns a reference count of 1.  Each
** iterator holds a reference.  Keys and values an iterator returns are
** borrowed until it moves or closes; a value returned by get is borrowed
** until the caller releases the block handle get returned with it (and
** while it holds its reference to the reader: a mapped block has no
** handle).
** Thread safety: readers may be used by many threads at once.
*/
#ifndef LSM_SST_READER_H
#define LSM_SST_READER_H

#include <stddef.h>
#include <stdint.h>

#include "block_cache.h"
#include "iter.h"
#include "lsm.h"

typedef struct sst_reader sst_reader;

/* What one get did, for the read-amplification counters. */
typedef struct sst_probe {
  int bBloomChecked;     /* the filter was consulted                   */
  int bBloomNegative;    /* the filter ruled the key out               */
  int bSearched;         /* a data block was searched                  */
} sst_probe;

/*
** Open and validate the SSTable at zPath.  pBlocks: the store's block
** cache (borrowed: it must outlive the reader), or NULL to read blocks
** into private buffers.  bMap: use the env's xMap for data blocks when it
** has one; with bMap 0 or an env whose xMap is NULL every block is read
** with xRead.  LSM_CORRUPT naming the file if it is bad.
*/
int sst_reader_open(lsm_env*, const char *zPath, block_cache *pBlocks, int bMap,
                    sst_reader **ppReader);
/*
** The same, with the key of the file's blocks in pBlocks given by the
** caller: idBlocks (from block_cache_new_id), the same for every reader
** of one file, so that a reader reopened after an eviction finds the
** blocks an earlier reader of the file cached.  Such a reader leaves its
** blocks in the cache when freed (sst_reader_open's readers erase theirs):
** the owner of idBlocks erases them when the file goes
** (block_cache_erase with sst_reader_blocks blocks).  Its lookups in
** pBlocks are counted in *pCounts too (borrowed, NULL: not counted), the
** store's own counts when pBlocks is shared with other stores.
*/
int sst_reader_open_shared(lsm_env*, const char *zPath, block_cache *pBlocks,
                           block_cache_counts *pCounts, int bMap, uint64_t idBlocks,
                           sst_reader **ppReader);
void sst_reader_ref(sst_reader*);
void sst_reader_unref(sst_reader*);      /* NULL is a no-op */

/*
** The newest version of user key pKey with seq <= maxSeq.  Consults the
** Bloom filter first (unless the table has none).  *pbFound = 1 with
** *pType and the value when found; the value is borrowed from the block
** in *ppPin (NULL for a mapped block), which the caller releases with
** block_cache_release once done with it.  pProbe may be NULL.
*/
int sst_reader_get(sst_reader*, const void *pKey, size_t nKey, uint64_t maxSeq,
                   int *pbFound, int *pType, const uint8_t **ppVal, size_t *pnVal,
                   block_handle **ppPin, sst_probe *pProbe);
/*
** Start loading, without waiting, what sst_reader_get_hashed of this key
** will read first: the Bloom filter's block for hash and, if bBlock and
** the table is mapped, the two ends of the data block that would hold
** the key (the block's first entries and its trailer).  A get that asks
** several tables issues these for all of them before asking the first, so
** that their cache misses overlap (version_get).
*/
void sst_reader_prefetch_get(const sst_reader*, const void *pKey, size_t nKey, uint64_t hash,
                             int bBlock);

/* The same, given hash = checksum_hash_key(pKey, nKey): a store's get
** hashes the key once for every filter it asks. */
int sst_reader_get_hashed(sst_reader*, const void *pKey, size_t nKey, uint64_t hash,
                          uint64_t maxSeq, int *pbFound, int *pType, const uint8_t **ppVal,
                          size_t *pnVal, block_handle **ppPin, sst_probe *pProbe);

/* Iterator over every entry; holds a reference.  NULL + *pRc on error. */
iter *sst_reader_iter(sst_reader*, int *pRc);
/* The same, with the block cache used as eFill says (SST_FILL*). */
iter *sst_reader_iter_fill(sst_reader*, int eFill, int *pRc);
/* How an iterator's block reads use the block cache (the eFill of
** sst_reader_iter_fill; table_iter_fill and the level iterators pass it
** on).  The values are the boolean "fill" callers have always passed,
** plus one for compactions. */
#define SST_FILL_NONE 0   /* blocks the cache holds are used, others are
                          ** read without entering it: a one-off pass
                          ** must not evict the blocks gets and cursors
                          ** reuse (LevelDB's fill_cache = false)        */
#define SST_FILL      1   /* blocks read enter the cache                 */
#define SST_FILL_COLD 2   /* as SST_FILL_NONE, and a cached block it
                          ** leaves becomes the cache's least recently
                          ** used (block_cache_release_cold): a
                          ** compaction's inputs, which its output makes
                          ** obsolete, must not push out the blocks its
                          ** output puts in the cache as it writes them  */
#define SST_FILL_BULK 3   /* as SST_FILL, but a block read enters the
                          ** cache as passing (block_cache_insert_passing:
                          ** next to go unless looked up again) except
                          ** one time in SST_BULK_KEEP_ONE_IN, drawn at
                          ** random: the largest level's blocks, beside
                          ** other sorted runs (why: version.c,
                          ** version_add_iters)                          */
#define SST_BULK_KEEP_ONE_IN 4
/* Make pIter (from sst_reader_iter_fill) an unpositioned iterator over
** pReader's entries instead, as a new one would be, keeping its memory
** (a level iterator moving from table to table allocates nothing).  It
** takes a reference to pReader and drops the one to its old reader.
** REQUIRES: both readers use the same lsm_env. */
void sst_reader_iter_retarget(iter *pIter, sst_reader *pReader);

/* A mapped reader: verify every data block's checksum now and mark it
** verified, so that no later read hashes it or first touches its pages
** (sst_reader.c says why).  LSM_CORRUPT naming the block if one is bad.
** An unmapped reader: nothing (LSM_OK). */
int sst_reader_verify_mapped(sst_reader*);

/*
** Verify every block's checksum, the order of keys inside and across
** blocks, that the index matches the blocks and that the properties
** (entries, tombstones, smallest, largest) match the data.
*/
int sst_reader_check(sst_reader*);

/* Properties, from the table's properties block. */
uint64_t sst_reader_file_bytes(const sst_reader*);
uint64_t sst_reader_entries(const sst_reader*);
uint64_t sst_reader_tombstones(const sst_reader*);
const uint8_t *sst_reader_smallest(const sst_reader*, size_t *pn);  /* internal key */
const uint8_t *sst_reader_largest(const sst_reader*, size_t *pn);   /* internal key */
const char *sst_reader_path(const sst_reader*);

/* Heap bytes the open reader holds (its struct, the decoded index, the
** verified-block bits, and the meta regions when they were read into the
** heap rather than mapped): what the table cache charges it.  Blocks in
** the block cache and mapped pages are not counted. */
size_t sst_reader_heap_bytes(const sst_reader*);

/* Data blocks of the table. */
uint32_t sst_reader_blocks(const sst_reader*);

/*
** The sparse index, for estimating where keys lie without reading data
** blocks (a level-0 compaction cut into slices: lsm/db_slice.c).  Block i
** (0 <= i < sst_reader_blocks) holds no user key above the user key of its
** separator (sst_reader_index_user_key); sst_reader_index_offset is where
** block i starts, and for i == sst_reader_blocks where the data blocks
** end; sst_reader_index_after is the first block whose separator's user
** key is above pUser (sst_reader_blocks if none): the blocks before it
** hold only keys <= pUser, so its offset estimates the bytes of keys
** <= pUser.
*/
const uint8_t *sst_reader_index_user_key(const sst_reader*, int i, size_t *pn);
uint64_t sst_reader_index_offset(const sst_reader*, int i);
int sst_reader_index_after(const sst_reader*, const void *pUser, size_t nUser);

#endif
