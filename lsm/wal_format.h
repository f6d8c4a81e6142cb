/*
** wal_format.h — what the log's writer (wal.c) and its reader
** (wal_replay.c) share: the constants of the format drawn in wal.c's
** header and the record header as read back.  Only those two files
** include it.  A sync=full log may end in zeros written ahead of its
** records (wal.c, PREALLOCATED TAIL): a record header is never all
** zeros, so replay takes zeros to the end of the file as the log's end;
** its header says GROUP_MARKS and each synced write ends in a GROUP_END
** record, which tells a torn last write from damage before it.
*/
#ifndef LSM_WAL_FORMAT_H
#define LSM_WAL_FORMAT_H

#include <stdint.h>

#define WAL_MAGIC          "\x89LSMWAL\n"
#define WAL_VERSION        4
#define WAL_FILE_HEADER    64
#define WAL_RECORD_HEADER  16
#define WAL_HDRCHECK_OFF   8            /* header bytes the header check covers */
#define WAL_CHECKSUM_OFF   12           /* header bytes the checksum covers     */
#define WAL_SEQ_OFFSET_MAX UINT32_MAX   /* largest seq - base a record holds    */
#define WAL_PREPARE_ID_BYTES 8          /* before a prepared batch's payload    */
#define WAL_FLAG_PREV_TORN 1
#define WAL_FLAG_GROUP_MARKS 2          /* each write ends in a GROUP_END record */
#define WAL_MAX_FRAGMENT   (1u << 20)   /* payload bytes in one record      */
#define WAL_BUFFER_BYTES   (64 * 1024)  /* LSM_SYNC_OFF writes past this    */

/* Version 3 (LEGACY above): 25-byte record headers with the whole seq
** or prepare id and a 64-bit checksum; record types 1-7. */
#define WAL_V3                3
#define WAL_V3_RECORD_HEADER  25
#define WAL_V3_HDRCHECK_OFF   13
#define WAL_V3_CHECKSUM_OFF   17
/* Version 2 (LEGACY above): version 3's framing, record types 1-4 only. */
#define WAL_V2                2
/* Version 1 (LEGACY above): read only. */
#define WAL_V1                1
#define WAL_V1_FILE_HEADER    16
#define WAL_V1_RECORD_HEADER  21
#define WAL_V1_CHECKSUM_OFF   13

#define WAL_TYPE_FULL   1
#define WAL_TYPE_FIRST  2
#define WAL_TYPE_MIDDLE 3
#define WAL_TYPE_LAST   4
#define WAL_TYPE_PREPARED_FULL  5   /* version 3 on */
#define WAL_TYPE_PREPARED_FIRST 6
#define WAL_TYPE_COMMIT         7
#define WAL_TYPE_SEQ_BASE       8   /* version 4 on */
#define WAL_TYPE_GROUP_END      9   /* logs with WAL_FLAG_GROUP_MARKS */
#define WAL_COMMIT_PAYLOAD      8   /* a commit record's payload: the prepare id */
#define WAL_SEQ_BASE_PAYLOAD    8   /* a seq base record's payload: the base     */

/* A record header as read back (before replay decodes version 4's seq
** offsets and prepare ids: wal_replay.c). */
typedef struct wal_record {
  uint32_t n;               /* payload length                      */
  int eType;                /* WAL_TYPE_*                          */
  uint64_t seq;             /* the seq field as stored: versions 1-3
                            ** the seq or prepare id, version 4 the
                            ** offset from the log's seq base      */
  const uint8_t *pPayload;  /* borrowed from the mapping           */
} wal_record;

#define WAL_RECORD_OK    0
#define WAL_RECORD_BAD   1  /* length, type or checksum check failed */
#define WAL_RECORD_SHORT 2  /* runs past the end of the file         */

#endif /* LSM_WAL_FORMAT_H */
