/*
** compress.h — block compression for SSTables: LZ4 and Zstandard, from
** Debian's liblz4 and libzstd.  The only file that includes lz4.h or
** zstd.h.
**
** A compressed block is stored as (format: see sst_writer.c, DATA BLOCK
** TRAILER):
**
**   OFFSET  SIZE    DESCRIPTION
**   0       varint  r, the bytes of the block uncompressed
**   .       ...     the block compressed with the trailer's type: an LZ4
**                   block (LZ4_compress_default) or a Zstandard frame
**
** Thread safety: every function may be called from many threads at once
** (Zstandard contexts are per thread, freed when the thread exits).
*/
#ifndef LSM_COMPRESS_H
#define LSM_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "lsm.h"

/* Block types, the first byte of a data block's trailer (format 2). */
#define COMPRESS_RAW   0      /* stored as is                            */
#define COMPRESS_LZ4   1
#define COMPRESS_ZSTD  2

/* The Zstandard level the writer uses (libzstd's default is 3: level 1 is
** about twice as fast to write and 5-10% larger on these blocks). */
#define COMPRESS_ZSTD_LEVEL 1

/* LZ4_compress_fast's acceleration (1 = LZ4_compress_default).  Measured
** (README, "Compaction throughput"): 2 cut a flush's and compaction's
** instructions 14% and 4 cut them 22%, for 5% and 6% more bytes on disk;
** lz4's space after compaction is 0.503 against LevelDB with Snappy's
** 0.507, so either would lose that target: kept at 1.  Compile with
** -DCOMPRESS_LZ4_ACCELERATION=N to measure again. */
#ifndef COMPRESS_LZ4_ACCELERATION
#define COMPRESS_LZ4_ACCELERATION 1
#endif

/*
** Compress (a, n) with eType (COMPRESS_LZ4 or COMPRESS_ZSTD) into pOut
** (replacing its contents) in the stored form above.  Returns 1 if the
** result is at least n/8 smaller than n (worth storing), 0 if it is not or
** the library failed (store the block raw).  Sticky *pRc for OOM.
*/
int compress_block(lsm_env*, int eType, const uint8_t *a, size_t n, block_buf *pOut, int *pRc);

/* compress_block with LZ4_compress_fast's acceleration nLz4Acceleration
** (1 and up) instead of COMPRESS_LZ4_ACCELERATION (a host's log rows:
** lsm/batch_pack.c). */
int compress_block_fast(lsm_env*, int eType, int nLz4Acceleration, const uint8_t *a, size_t n,
                        block_buf *pOut, int *pRc);

/*
** The uncompressed size a stored compressed block (a, n) announces, or
** LSM_CORRUPT if its header is malformed or announces more than nMax.
*/
int compress_raw_size(const uint8_t *a, size_t n, size_t nMax, size_t *pnRaw);

/*
** Uncompress stored block (a, n) of type eType into pOut, which has room
** for exactly nRaw bytes (compress_raw_size).  LSM_OK only if the data
** decodes to exactly nRaw bytes; LSM_CORRUPT for anything else, whatever
** the input bytes are (damaged input never reads or writes outside the
** buffers).
*/
int compress_uncompress(int eType, const uint8_t *a, size_t n, uint8_t *pOut, size_t nRaw);

/* The most bytes a block of eType may decompress to (for LZ4,
** LZ4_MAX_INPUT_SIZE: compress_uncompress refuses a larger size as corrupt),
** so that a caller can refuse a larger size before allocating it. */
size_t compress_max_raw(int eType);

/* "none", "lz4", "zstd" for an lsm_options.compression value. */
const char *compress_name(int eCompression);

#endif
