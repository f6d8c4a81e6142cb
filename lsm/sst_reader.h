/*
** sst_reader.h — reads one SSTable (format: see sst_writer.c).
**
** Opening maps the file, checks the footer (magic, version, offsets,
** checksum), then loads and verifies the index and the Bloom filter,
** which stay in memory.  A data block's checksum is verified the first
** time the block is read; a verified block is remembered in a bitmap so
** it is not hashed again (the mapping is read-only and the file immutable).
**
** Every corruption is reported with LSM_CORRUPT and a message naming the
** file and the region (footer, index, filter, properties, block N).
**
** Lifetime: sst_reader_open returns a reference count of 1.  Each
** iterator holds a reference.  Values returned by get and iterators point
** into the mapping: borrowed, valid while the caller holds a reference.
** Thread safety: readers may be used by many threads at once.
*/
#ifndef LSM_SST_READER_H
#define LSM_SST_READER_H

#include <stddef.h>
#include <stdint.h>

#include "iter.h"
#include "lsm.h"

typedef struct sst_reader sst_reader;

/* What one get did, for the read-amplification counters. */
typedef struct sst_probe {
  int bBloomChecked;     /* the filter was consulted                   */
  int bBloomNegative;    /* the filter ruled the key out               */
  int bSearched;         /* a data block was searched                  */
} sst_probe;

int sst_reader_open(lsm_env*, const char *zPath, sst_reader **ppReader);
void sst_reader_ref(sst_reader*);
void sst_reader_unref(sst_reader*);      /* NULL is a no-op */

/*
** The newest version of user key pKey with seq <= maxSeq.  Consults the
** Bloom filter first (unless the table has none).  *pbFound = 1 with
** *pType and the value (borrowed) when found.  pProbe may be NULL.
*/
int sst_reader_get(sst_reader*, const void *pKey, size_t nKey, uint64_t maxSeq,
                   int *pbFound, int *pType, const uint8_t **ppVal, size_t *pnVal,
                   sst_probe *pProbe);

/* Iterator over every entry; holds a reference.  NULL + *pRc on error. */
iter *sst_reader_iter(sst_reader*, int *pRc);

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

#endif
