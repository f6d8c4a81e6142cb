/*
** sst_writer.h — builds one SSTable file from entries in ikey order.
**
** Format: drawn in sst_writer.c.  The writer collects data blocks of about
** block_bytes with prefix-compressed keys and restart points, a sparse
** index of block boundaries, a Bloom filter over the user keys and a
** properties record, then the footer; every block has an XXH3 checksum.
**
** State machine: open -> add* -> finish | abandon.  add after finish is
** misuse.  finish and abandon free the writer.
*/
#ifndef LSM_SST_WRITER_H
#define LSM_SST_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "block_cache.h"
#include "lsm.h"

typedef struct sst_writer sst_writer;

typedef struct sst_options {
  int block_bytes;      /* target data block size                  */
  int bloom_bits;       /* bits per key; 0 = no filter              */
  int compression;      /* LSM_COMPRESSION_* of the data blocks     */
} sst_options;

/* What a finished table holds; the manifest records it. */
typedef struct sst_meta {
  uint64_t nFileBytes;       /* size of the file                      */
  uint64_t nEntries;         /* entries, tombstones included          */
  uint64_t nTombstones;
  uint64_t nRawBytes;        /* sum of user key + value bytes         */
  uint8_t *pSmallest;        /* smallest internal key; owned (env_free) */
  size_t nSmallest;
  uint8_t *pLargest;         /* largest internal key; owned (env_free)  */
  size_t nLargest;
  /* Not recorded in the manifest: how the writer went about it. */
  uint64_t nDataBlocks;      /* data blocks written                   */
  uint64_t nCompressTries;   /* of which the compressor was run on    */
} sst_meta;

/* Create zPath, which must not exist (LSM_CANTOPEN if it does, a
** symbolic link included).  Owned: finish or abandon. */
int sst_writer_open(lsm_env*, const char *zPath, const sst_options*, sst_writer **ppWriter);

/* From now on, every data block written enters pCache (not NULL) as
** block i of reader id idBlocks, as a reader of the finished file holds
** it (decompressed), so that reads right after a flush or compaction find
** it without reading the file (RocksDB's prepopulate_block_cache).  The
** caller opens the file's reader with the same id (table_open_filled),
** or, if the file is abandoned, erases sst_writer_blocks blocks of it. */
void sst_writer_fill_cache(sst_writer*, block_cache *pCache, uint64_t idBlocks);

/* Data blocks written so far. */
uint64_t sst_writer_blocks(const sst_writer*);

/* REQUIRES: pIkey > every key added before (ikey_compare). */
int sst_writer_add(sst_writer*, const uint8_t *pIkey, size_t nIkey,
                   const uint8_t *pVal, size_t nVal);

/* sst_writer_add for a caller that has checked the order itself (the
** compaction merge does, once per entry): no comparison here.  bNewUser:
** pIkey's user key differs from the last added entry's. */
int sst_writer_add_sorted(sst_writer*, const uint8_t *pIkey, size_t nIkey,
                          const uint8_t *pVal, size_t nVal, int bNewUser);

/* Bytes the file would have if finished now (without filter/index). */
uint64_t sst_writer_bytes(const sst_writer*);
uint64_t sst_writer_entries(const sst_writer*);

/* Write filter, index, properties and footer; sync; close; free the
** writer.  On success *pMeta is filled (caller clears it with
** sst_meta_clear).  On error the file is left for the caller to unlink. */
int sst_writer_finish(sst_writer*, sst_meta *pMeta);

/* Close and free without finishing; the caller unlinks the file. */
void sst_writer_abandon(sst_writer*);

void sst_meta_clear(lsm_env*, sst_meta*);

#endif
