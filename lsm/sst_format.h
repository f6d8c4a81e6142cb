/*
** sst_format.h — constants the SSTable writer and reader share.
**
** The file format itself is drawn in sst_writer.c (a data block's inside
** in block_builder.c); this header only names its numbers so that the
** writers (sst_writer.c, block_builder.c) and the readers (sst_reader.c,
** block.c) agree.
*/
#ifndef LSM_SST_FORMAT_H
#define LSM_SST_FORMAT_H

#include "checksum.h"

/*
** The last 8 bytes of every SSTable.  On disk (it is stored little-endian)
** they read 89 6c 73 6d 0d 0a 1a 0a, i.e. "\x89lsm\r\n\x1a\n": PNG's
** signature pattern with "lsm" in place of "PNG".  The high-bit first byte
** catches 7-bit transfers, CR LF and LF catch newline translation, 0x1a
** stops a DOS `type`, "lsm" is readable in a hex dump, and the value
** differs from the WAL's and the manifest's so a file of one kind renamed
** into the place of another is refused.  Being at the very end, it also
** catches most truncations.
*/
#define SST_MAGIC            0x0a1a0a0d6d736c89ull

/*
** Format version in the footer.  Version 2 (written now) gives each data
** block a type byte (raw, LZ4, Zstandard) before its checksum; version 1
** (written before compression existed) has no type byte and raw blocks.
** A reader opens both and refuses any other.
*/
#define SST_FORMAT_VERSION   2
#define SST_FORMAT_V1        1

/* Every meta region (filter, properties, index), and every data block of
** a version 1 table, is followed by an 8-byte XXH3-64 of its bytes. */
#define SST_TRAILER_SIZE     8

/* A data block of a version 2 table is followed by a 1-byte type
** (compress.h: COMPRESS_RAW, _LZ4, _ZSTD) and an 8-byte XXH3-64 of the
** stored block bytes followed by that type byte. */
#define SST_BLOCK_TRAILER_SIZE 9

/*
** Checksum seeds: CHECKSUM_SEED_BLOCK plus the kind of region, so that a
** valid region copied into the place of another kind (an index where the
** footer says properties) still fails verification.
*/
#define SST_SEED_DATA        (CHECKSUM_SEED_BLOCK + 0)
#define SST_SEED_INDEX       (CHECKSUM_SEED_BLOCK + 1)
#define SST_SEED_FILTER      (CHECKSUM_SEED_BLOCK + 2)
#define SST_SEED_PROPS       (CHECKSUM_SEED_BLOCK + 3)
#define SST_SEED_FOOTER      CHECKSUM_SEED_FOOTER

/* A restart point (a key stored whole) every this many entries. */
#define SST_RESTART_INTERVAL 16

/* Footer: fixed size, at the end of the file; field offsets. */
#define SST_FOOTER_SIZE       72
#define SST_FOOTER_FILTER_OFF  0   /* u64 offset of the filter region      */
#define SST_FOOTER_FILTER_SZ   8   /* u64 its size, 0 when there is none   */
#define SST_FOOTER_PROPS_OFF  16   /* u64 offset of the properties region  */
#define SST_FOOTER_PROPS_SZ   24   /* u64 its size                         */
#define SST_FOOTER_INDEX_OFF  32   /* u64 offset of the index region       */
#define SST_FOOTER_INDEX_SZ   40   /* u64 its size                         */
#define SST_FOOTER_VERSION    48   /* u32 SST_FORMAT_VERSION               */
#define SST_FOOTER_RESERVED   52   /* u32 zero                             */
#define SST_FOOTER_CHECKSUM   56   /* u64 XXH3 of bytes 0..55              */
#define SST_FOOTER_MAGIC      64   /* u64 SST_MAGIC                        */

/* Sizes in the footer and the index exclude the trailer that follows. */

#endif
