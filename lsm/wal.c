/*
** wal.c — the write-ahead log: its format and its writer.  Reading logs
** back (replay, the bounded scan past damage) is wal_replay.c; the
** constants both use are in wal_format.h.
**
** Every committed batch is appended to the log before it is applied to the
** memtable, so that a crash loses nothing the sync mode promised to keep.
** A batch committed in two phases (lsm_prepare) is logged as a PREPARED
** record, numbered by a prepare id, and counts only once a COMMIT record
** later in the same log names that id and gives it its sequence number.
** A log is a 64-byte file header followed by records, and, in a sync=full
** log whose writer did not close it, zeros (PREALLOCATED TAIL below).
** A record carries
** one batch, or one fragment of a batch bigger than WAL_MAX_FRAGMENT (so
** that no single length field can ask a reader to trust more than 1 MiB);
** the record type says which.  Records are framed in a user-space buffer
** and handed to the OS per the sync mode (wal_writer_commit); several
** batches committed together share one write and one sync.
**
** The logs of a store form a chain: each file header names the log
** before it and the sequence number at which that log's records end, so
** that recovery can tell a log that is missing, cut short or damaged at
** its end from one that legitimately ends in a torn record (a write to it
** failed and the store moved on to a new log: see wal.h and
** db_recover.c).
**
** FILE HEADER (64 bytes, little-endian)
**
**   OFFSET SIZE DESCRIPTION
**   0      8    magic 89 4c 53 4d 57 41 4c 0a ("\x89LSMWAL\n": the high
**               byte catches 7-bit transfers, the newline catches line-end
**               conversion, as PNG's signature does)
**   8      4    format version, 4 (3, 2 and 1 are read: LEGACY below)
**   12     4    salt: random, chosen when the log is created
**   16     8    iNumber: the log's own file number (000012.wal: 12)
**   24     8    iPrevLog: file number of the log before it, 0 if none
**   32     8    iPrevNextSeq: the sequence number after the last record
**               of iPrevLog that counts
**   40     8    iFirstSeq: sequence number of this log's first record,
**               and the log's first seq base (RECORD below)
**   48     4    flags: bit 0 PREV_TORN: iPrevLog may end in a damaged
**               record, and its records from iPrevNextSeq on never counted
**               (a write or sync of them failed); bit 1 GROUP_MARKS: every
**               synced write ends in a GROUP_END record (a sync=full log:
**               PREALLOCATED TAIL below; a sync=normal log written
**               through a mapping: MAPPED LOG below); other bits zero
**               (an older build refuses a log with bit 1: "unknown
**               flags")
**   52     4    zero
**   56     8    checksum: XXH3-64, seed CHECKSUM_SEED_WAL ^ salt, over
**               bytes 0..55
**
** RECORD (16-byte header + payload)
**
**   OFFSET SIZE DESCRIPTION
**   0      3    n: payload length, 0 <= n <= WAL_MAX_FRAGMENT (1 MiB)
**   3      1    type:
**                 1 FULL            a whole batch
**                 2 FIRST           the first fragment of a batch
**                 3 MIDDLE          a later fragment (of a batch or of a
**                 4 LAST            prepared batch: whichever FIRST began)
**                 5 PREPARED_FULL   a whole prepared batch
**                 6 PREPARED_FIRST  the first fragment of a prepared batch
**                 7 COMMIT          a prepared batch takes effect
**                 8 SEQ_BASE        moves the seq base (below)
**                 9 GROUP_END       n = 0: the end of one synced write
**                                   (only with flag GROUP_MARKS)
**               (fragments of one batch are in order, nothing in between)
**   4      4    seq field: for FULL, FIRST and COMMIT, the sequence
**               number of the batch's first operation minus the seq base,
**               the seq never decreasing in a log; zero for PREPARED_*,
**               SEQ_BASE and GROUP_END; fragments repeat their first
**               record's field
**   8      4    header check: the low 32 bits of XXH3-64, seed
**               CHECKSUM_SEED_WAL ^ salt, over bytes 0..7
**   12     4    checksum: the low 32 bits of XXH3-64, same seed, over
**               bytes 0..11 of this header followed by the n payload bytes
**   16     n    payload: the batch encoding (opaque here); for PREPARED_FULL
**               and PREPARED_FIRST, the 8-byte prepare id (little-endian,
**               strictly increasing in a log) and then the batch's bytes
**               (n counts both); for COMMIT, n = 8: the prepare id it
**               commits; for SEQ_BASE, n = 8: the new seq base
**
** The seq base is the file header's iFirstSeq until a SEQ_BASE record
** names another.  The writer logs one before any record whose seq lies
** below the base or more than 2^32 - 1 above it, so the 4-byte field
** never wraps (a log normally ends with its memtable long before 2^32
** operations; the record keeps a store correct if one does not).  A
** SEQ_BASE record carries no batch and may not stand between fragments.
** Prepare ids ((log number << 32) + n, db_write.c, and carried over from
** older logs) do not fit a 4-byte offset; they go in the payload, which
** costs 8 bytes per prepared batch, a rare record.
**
** A sync=full log's file header says GROUP_MARKS, and every synced
** write ends in a GROUP_END record (PREALLOCATED TAIL below): 16 bytes
** per commit group.
**
** Bytes per record against version 3: a one-operation batch of a 16-byte
** key (a delete: 18 bytes of batch encoding) takes 34 bytes instead of 43
** (LevelDB's log record for it: 37).  Two 32-bit checks instead of a
** 64-bit one: a torn or damaged record passes both by chance with odds
** of 2^-64, and the search past damage (REPLAY) is fooled at an offset
** only if both pass there.
**
** A COMMIT names a PREPARED record earlier in the same log that no COMMIT
** named before (else LSM_CORRUPT).  The store logs every prepared batch
** still waiting again, under its id, at the start of each new log (so a
** log may hold one prepared id twice: once first logged, once carried
** over from the log before; ids still increase within it), and the
** writer logs the whole batch as FULL instead of a COMMIT if that failed
** and the prepared record lies only in an older log, which a flush may
** have retired meanwhile.  A prepared batch that no COMMIT names is no
** error: its transaction failed, was rolled back, or the process died
** before it finished committing (the store may then ask its host:
** db_recover.c).  There is no abort record.
**
** The salt makes both checksums valid in this log only: a record image
** that happens to sit inside a payload (a user value holding a copy of
** another log, say) never passes as a record of this one, which is what
** lets replay tell a torn tail from a bad record with good ones after it.
** The header check lets the search for a valid record after a bad one
** (REPLAY) reject a byte offset by hashing 8 bytes, never the up to
** 1 MiB of payload a forged length field would point at: a 64 MiB log of
** crafted values is searched in well under a second.
**
** Worked example (version 4): log 000003.wal with salt 0x0a0b0c0d,
** following log 2 whose records ended before seq 7, holding the batch
** "hi" at seq 7, then the batch "yo" prepared under id 1 and committed
** at seq 8 (132 bytes; test wal_v4_example_replays replays these exact
** bytes):
**
**   89 4c 53 4d 57 41 4c 0a   magic
**   04 00 00 00               version 4
**   0d 0c 0b 0a               salt 0x0a0b0c0d
**   03 00 .. 00  02 00 .. 00  iNumber 3, iPrevLog 2 (8 bytes each)
**   07 00 .. 00  07 00 .. 00  iPrevNextSeq 7, iFirstSeq 7 (the seq base)
**   00 00 00 00  00 00 00 00  flags: none; zero
**   45 18 fa 41 de 16 f2 7e   file header checksum
**   02 00 00                  n = 2
**   01                        type FULL
**   00 00 00 00               seq 7 + 0
**   3b 5c ce 40               header check
**   8a 71 0e ca               checksum
**   68 69                     payload "hi"
**   0a 00 00                  n = 10
**   05                        type PREPARED_FULL
**   00 00 00 00               seq field: zero
**   e0 69 82 89               header check
**   59 fd 22 33               checksum
**   01 00 00 00 00 00 00 00   prepare id 1
**   79 6f                     payload "yo"
**   08 00 00                  n = 8
**   07                        type COMMIT
**   01 00 00 00               seq 7 + 1
**   9f 0f b7 97               header check
**   bd 02 94 c0               checksum
**   01 00 00 00 00 00 00 00   payload: prepare id 1
**
** LEGACY RECORD (versions 3 and 2: 25-byte header + payload)
**
**   OFFSET SIZE DESCRIPTION
**   0      4    n: payload length, 0 <= n <= WAL_MAX_FRAGMENT (1 MiB)
**   4      1    type: 1-7 as above (version 2: 1-4; a higher type is a
**               bad record there)
**   5      8    seq: for FULL, FIRST and COMMIT, the sequence number of
**               the batch's first operation itself; for PREPARED_*, the
**               prepare id (not in the payload); fragments repeat their
**               first record's value
**   13     4    header check: the low 32 bits of XXH3-64, seed
**               CHECKSUM_SEED_WAL ^ salt, over bytes 0..12
**   17     8    checksum: XXH3-64, same seed, over bytes 0..16 of this
**               header followed by the n payload bytes
**   25     n    payload: the batch encoding; for COMMIT, n = 8: the
**               prepare id it commits
**
** Worked example (version 2, still read): log 000003.wal with salt
** 0x0a0b0c0d, following log 2 whose records ended before seq 7, holding
** one batch, seq 7, payload "hi" (91 bytes):
**
**   89 4c 53 4d 57 41 4c 0a   magic
**   02 00 00 00               version 2
**   0d 0c 0b 0a               salt 0x0a0b0c0d
**   03 00 00 00 00 00 00 00   iNumber 3
**   02 00 00 00 00 00 00 00   iPrevLog 2
**   07 00 00 00 00 00 00 00   iPrevNextSeq 7
**   07 00 00 00 00 00 00 00   iFirstSeq 7
**   00 00 00 00               flags: none
**   00 00 00 00               zero
**   63 90 4a 11 6d 83 1e 39   file header checksum
**   02 00 00 00               n = 2
**   01                        type FULL
**   07 00 00 00 00 00 00 00   seq 7
**   01 e2 a4 ec               header check
**   b3 2a fb 39 9f 33 66 65   checksum (test wal_header_example_replays
**                             replays these exact bytes)
**   68 69                     payload "hi"
**
** Worked example (version 3, still read): the same log, but the batch
** "hi" was prepared (prepare id 1) and then committed at seq 7 (124
** bytes):
**
**   89 4c 53 4d 57 41 4c 0a   magic
**   03 00 00 00               version 3
**   0d 0c 0b 0a               salt 0x0a0b0c0d
**   03 00 .. 00  02 00 .. 00  iNumber 3, iPrevLog 2 (8 bytes each)
**   07 00 .. 00  07 00 .. 00  iPrevNextSeq 7, iFirstSeq 7
**   00 00 00 00  00 00 00 00  flags: none; zero
**   00 57 26 19 c8 24 aa a9   file header checksum
**   02 00 00 00               n = 2
**   05                        type PREPARED_FULL
**   01 00 00 00 00 00 00 00   prepare id 1
**   74 0e c3 7c               header check
**   ba f4 30 2b d1 3d b6 5e   checksum
**   68 69                     payload "hi"
**   08 00 00 00               n = 8
**   07                        type COMMIT
**   07 00 00 00 00 00 00 00   seq 7
**   5b b4 da 3a               header check
**   84 d1 13 9c 78 cb 90 48   checksum (test wal_v3_example_replays
**                             replays these exact bytes)
**   01 00 00 00 00 00 00 00   payload: prepare id 1
**
** PREALLOCATED TAIL
**
** A sync=full log is opened with LSM_OPEN_PREALLOC: the default env
** writes zeros up to the next megabyte boundary ahead of the records and
** then writes each record over them, so that the fdatasync of a commit
** flushes data blocks only and not a new file size (env.c has the
** measurement).  Closing the log cuts the zeros off; a crash leaves them:
**
**   OFFSET        SIZE   DESCRIPTION
**   0             64     file header
**   64            ...    records, as above
**   end of the    to EOF zeros (00 bytes), up to the next multiple of
**   last record          1 MiB of the file size (more if a crash came
**                        between writing zeros and writing records)
**
** No record begins with 16 zero bytes (type 0 is no type), so replay
** reads zeros where a record should begin, with nothing but zeros after
** them to the end of the file, as the log's clean end, in any log (not a
** torn tail: nothing was lost).  A record partly written over the zeros
** (a crash mid-write) is a bad record followed by zeros: a torn tail in
** the newest log as before, corruption in an older one.
**
** The file size no longer bounds what a crash can leave: a power cut
** during the sync of the last write may keep any of its sectors and lose
** others, so a record of it may be missing (zeros) while a later record
** of the same write is there.  Such a log says GROUP_MARKS in its
** header, and each synced write (a commit's group, or a sync) ends in a
** GROUP_END record: 16 bytes, type 9, n = 0, seq field 0.  A write
** begins only after the one before it was synced whole, so in the
** newest log a bad record followed by valid records is a torn tail if no
** valid record follows the first GROUP_END after it (all of them belong
** to the last write, which was never acknowledged); a valid record after
** that GROUP_END means the bad record had been synced: LSM_CORRUPT.  (As
** with any torn tail, damage to the very end of the newest log is
** indistinguishable from a crash there: damage to the last write, or to
** the GROUP_END just before it, drops the last write.)  A GROUP_END
** inside a fragmented batch is corruption.  Logs without zeros (closed,
** or written at sync=off or normal) read as before, and logs of older
** builds have no GROUP_MARKS.
**
** MAPPED LOG
**
** A sync=normal commit must survive a killed process, not a power cut:
** its bytes must be in the kernel when the commit returns, not on the
** disk.  Such a log is opened with LSM_OPEN_MAPPED_APPEND, and the
** default env copies each append into a shared writable mapping of
** zeros it wrote ahead (256 KiB at a time, env.c) instead of calling
** write(2): the page cache holds the bytes either way, and a killed
** process loses nothing, without a system call per commit (about 3 us
** each on this project's machine, most of a one-put commit).  The log
** is laid out as a sync=full one (PREALLOCATED TAIL above), its file
** header says GROUP_MARKS, and it has a GROUP_END record where it was
** synced:
**
**   OFFSET        SIZE   DESCRIPTION
**   0             64     file header, flags bit 1 set
**   64            ...    records, as above
**   end of the    to EOF zeros, up to the next multiple of 256 KiB
**   last record          (cut off when the writer closes the log)
**
** What a power cut does differs: the kernel writes a mapping's dirty
** pages back in no particular order, so the disk may keep a later page
** of the log and lose an earlier one, or keep an early version of a page
** that was written back while half full.  The rule of GROUP_MARKS logs
** (PREALLOCATED TAIL above) already reads that right, given two more:
**   - a log is synced when the store is done with it (wal_writer_finish:
**     the store moves on to a new log, or closes), its write ending in a
**     GROUP_END, before the new log's header is written, so only the
**     newest log can miss pages; if that sync fails, the new log says
**     PREV_TORN from the first record since the last good sync, as after
**     a failed write (WRITE FAILURES); and after the sync one more
**     GROUP_END is written, unsynced, because a valid record after a
**     GROUP_END is what proves that write reached the disk whole;
**   - every other sync (a commit after lsm_raise_sync to full) ends in a
**     GROUP_END too.
** So in the newest log, a bad record with no GROUP_END after it lies
** where nothing was synced, and whatever follows it, the log's valid
** records end there (point in time, as RocksDB's default recovery of its
** WAL): the store comes back as it was before the first commit the disk
** lost.  A bad record before a GROUP_END that a valid record follows is
** corruption, in the newest log too; in an older log every bad record
** is.  The price: damage (rather than a power cut) to the unsynced part
** of the newest log also ends it there, silently, where a log written
** with write(2) would report corruption; that part is the one sync=normal
** never promised to a power cut.  A store opened with use_mmap off
** writes its sync=normal logs with write(2), without these records, as
** before.
**
** REPLAY
**
** Records are read in order.  A record is bad if its length is over the
** limit, its type unknown, it runs past the end of the file, or either
** checksum fails; a valid record that breaks the fragment order, makes
** seq go backwards, repeats a prepare id or commits a prepared batch the
** log does not hold (or committed already) is corruption too, as is a
** malformed SEQ_BASE record or a prepared record without its id.  Replay
** keeps the prepared batches of the log (pointers into its mapping, or a
** reassembled copy) until a COMMIT hands one to the caller at the
** COMMIT's place and seq, and drops the rest at the log's end.  At a
** bad record at which only zeros are left to the end of the file, any
** log ends there cleanly (PREALLOCATED TAIL above).  At any other
** bad record of a log whose tail may be torn (the newest, or one whose
** successor says PREV_TORN), replay searches forward byte by byte for
** any valid record: if there is none, the bad bytes are a torn tail (a
** crash in the middle of an append, or a file system that extended the
** file with garbage) and replay ends cleanly, dropping any unfinished
** fragmented batch; if there is one, the log is corrupt in the middle
** (LSM_CORRUPT naming file and offset), unless the log has GROUP_MARKS
** and no valid record follows the first GROUP_END after the bad one (the
** last write, torn: PREALLOCATED TAIL above).
** In any other log every bad record, and an unfinished batch at its end,
** is LSM_CORRUPT: it was complete before the next log was started.
** A log shorter than its file header, or all zeros, was never written
** (a crash right after it was created): it holds no records.
** Replay maps the file and never allocates from a length field: a
** fragmented batch is reassembled only from fragments that verified.
** Sequence numbers from one record to the next and from log to log are
** checked by the caller, which knows how many each batch uses
** (db_recover.c).
**
** LEGACY: version 3 logs (the LEGACY RECORD above, the file header of
** version 4) are replayed as they are, so that a store closed by the
** previous build opens; tests/fuzz/wal/v3-written.bin is one its writer
** wrote.  Version 2 logs are version 3 without record types 5-7 (a type
** above 4 is a bad record there).  Version 1 logs (a 16-byte header
** without the chain fields, and 21-byte record headers without the
** header check) are still replayed; wal_read_header reports them with
** bLegacy and the chain is not checked across them.  An older build
** refuses a version 4 log ("unsupported log format version 4") rather
** than misread its records as damage.
**
** WRITE FAILURES
**
** If an append fails and the file did not grow, the records of the
** failing commit are dropped from the buffer and the writer stays usable
** (the caller reports the commit failed; the disk may have space again
** later).  If the file grew, or a sync failed, the log may hold part or all
** of a record the caller was told failed: the writer is poisoned and
** returns that error from then on.  The owner then starts a new log whose
** header says PREV_TORN and where the old one's good records end
** (wal_writer_unwritten_seq), and flushes the memtable, which makes the
** old log obsolete.  Records added but never committed are never
** written (wal_writer_write and wal_writer_close drop them).
*/
#include "wal.h"

#include <assert.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checksum.h"
#include "coding.h"
#include "env.h"
#include "error.h"

#include "wal_format.h"

struct wal_writer {
  lsm_env *pEnv;            /* borrowed                                       */
  lsm_file *pFile;          /* the log, open for appending                    */
  char *zPath;              /* for messages; owned                            */
  int eSync;                /* LSM_SYNC_*                                     */
  uint64_t seed;            /* CHECKSUM_SEED_WAL ^ salt                       */
  uint8_t *aBuf;            /* framed records not yet handed to the OS        */
  size_t nBuf;              /* bytes used in aBuf                             */
  size_t nAlloc;            /* bytes allocated at aBuf                        */
  size_t nBufCommitted;     /* prefix of aBuf already acknowledged (OFF mode) */
  size_t nBufHeader;        /* prefix of aBuf that is the file header         */
  uint64_t nFile;           /* bytes appended to the file so far              */
  uint64_t iLastSeq;        /* seq of the last record added                   */
  uint64_t iLastSeqCommitted; /* seq of the last record acknowledged          */
  uint64_t iSeqBase;        /* seq fields are offsets from this: the file
                            ** header's iFirstSeq, then the last SEQ_BASE
                            ** record added                                  */
  uint64_t iSeqBaseCommitted; /* iSeqBase as of the last acknowledged record  */
  uint64_t iLastPrepareId;  /* prepare id of the last prepared batch added;
                            ** never goes back, not even when a failed
                            ** write drops the record                         */
  uint64_t iSeqUnwritten;   /* seq of the first record not wholly in the
                            ** file (buffered, or in a failed write);
                            ** UINT64_MAX if none                             */
  int rcPoison;             /* sticky error after a partial write or sync     */
  int bGroupMarks;          /* sync=full log: each synced write ends in a
                            ** GROUP_END record (PREALLOCATED TAIL above)    */
  int bMapped;              /* sync=normal log that may be appended through a
                            ** mapping (MAPPED LOG above): GROUP_MARKS, and
                            ** synced when finished                           */
  int bUnsynced;            /* bMapped: bytes handed to the OS since the
                            ** last sync                                      */
  uint64_t iSeqUnsynced;    /* bMapped: seq of the first record handed to
                            ** the OS since the last sync; UINT64_MAX if none */
};

/* ---------------------------------------------------------------- */
/* Writer                                                            */
/* ---------------------------------------------------------------- */

/* A salt that differs between logs: time, pid and a counter, hashed. */
static uint32_t wal_new_salt(void){
  static uint64_t iCounter;
  struct { struct timespec t; long pid; uint64_t i; } s;
  memset(&s, 0, sizeof(s));
  clock_gettime(CLOCK_REALTIME, &s.t);
  s.pid = (long)getpid();
  s.i = __atomic_fetch_add(&iCounter, 1, __ATOMIC_RELAXED);
  return (uint32_t)checksum_compute(&s, sizeof(s), 0);
}

/* Encode the file header of pHdr with salt into a[0..WAL_FILE_HEADER). */
static void wal_encode_header(uint8_t *a, uint32_t salt, const wal_header *pHdr,
                              int bGroupMarks){
  uint8_t *q;
  memset(a, 0, WAL_FILE_HEADER);
  memcpy(a, WAL_MAGIC, 8);
  q = coding_put32(a + 8, WAL_VERSION);
  q = coding_put32(q, salt);
  q = coding_put64(q, pHdr->iNumber);
  q = coding_put64(q, pHdr->iPrevLog);
  q = coding_put64(q, pHdr->iPrevNextSeq);
  q = coding_put64(q, pHdr->iFirstSeq);
  coding_put32(q, (pHdr->bPrevTorn ? WAL_FLAG_PREV_TORN : 0)
                 | (bGroupMarks ? WAL_FLAG_GROUP_MARKS : 0));
  coding_put64(a + 56, checksum_compute(a, 56, CHECKSUM_SEED_WAL ^ salt));
}

/* Make room for nMore more bytes in the buffer. */
static int wal_reserve(wal_writer *p, size_t nMore){
  size_t nNeed = p->nBuf + nMore;
  if( nNeed > p->nAlloc ){
    size_t nNew = p->nAlloc ? p->nAlloc : WAL_BUFFER_BYTES;
    uint8_t *aNew;
    while( nNew < nNeed ) nNew *= 2;
    aNew = env_realloc(p->pEnv, p->aBuf, nNew);
    if( aNew == NULL ) return LSM_NOMEM;
    p->aBuf = aNew;
    p->nAlloc = nNew;
  }
  return LSM_OK;
}

/*
** Frame one record at the end of the buffer (room already reserved):
** type eType, seq field iField, payload the nPrefix bytes at pPrefix
** (a prepared batch's id, or none) followed by the n bytes at pPayload.
** The checksum covers header bytes 0..11 and then the payload, which are
** not adjacent in the record (the checksum lies between).  They are
** first laid out adjacent, the 12 bytes right before the payload, and
** hashed in one call (XXH3's streaming state, which two pieces need,
** cost about 350 more instructions than the hash of a 140-byte record),
** then the 12 bytes move to the start of the record.
*/
static void wal_frame(wal_writer *p, int eType, uint32_t iField, const uint8_t *pPrefix,
                      uint32_t nPrefix, const uint8_t *pPayload, uint32_t n){
  uint8_t *pHdr = &p->aBuf[p->nBuf];
  uint8_t *pCovered = pHdr + WAL_RECORD_HEADER - WAL_CHECKSUM_OFF;
  uint32_t nRecord = nPrefix + n;
  uint8_t *q;
  uint64_t sum;
  assert( nRecord <= WAL_MAX_FRAGMENT );
  q = coding_put32(pCovered, nRecord | ((uint32_t)eType << 24));
  q = coding_put32(q, iField);
  coding_put32(q, (uint32_t)checksum_compute(pCovered, WAL_HDRCHECK_OFF, p->seed));
  if( nPrefix ) memcpy(pHdr + WAL_RECORD_HEADER, pPrefix, nPrefix);
  if( n ) memcpy(pHdr + WAL_RECORD_HEADER + nPrefix, pPayload, n);
  sum = checksum_compute(pCovered, WAL_CHECKSUM_OFF + (size_t)nRecord, p->seed);
  memmove(pHdr, pCovered, WAL_CHECKSUM_OFF);
  coding_put32(pHdr + WAL_CHECKSUM_OFF, (uint32_t)sum);
  p->nBuf += WAL_RECORD_HEADER + (size_t)nRecord;
}

/*
** The seq field of a record of seq: its offset from the seq base.  A seq
** the field cannot hold (more than 2^32 - 1 past the base, or below it)
** is first preceded by a SEQ_BASE record that moves the base to seq, so
** the offset never wraps.  Room for that record is reserved by the
** caller (WAL_SEQ_BASE_ROOM).
*/
#define WAL_SEQ_BASE_ROOM (WAL_RECORD_HEADER + WAL_SEQ_BASE_PAYLOAD)
static uint32_t wal_seq_field(wal_writer *p, uint64_t seq){
  if( seq < p->iSeqBase || seq - p->iSeqBase > WAL_SEQ_OFFSET_MAX ){
    uint8_t aBase[WAL_SEQ_BASE_PAYLOAD];
    coding_put64(aBase, seq);
    wal_frame(p, WAL_TYPE_SEQ_BASE, 0, NULL, 0, aBase, WAL_SEQ_BASE_PAYLOAD);
    p->iSeqBase = seq;
  }
  return (uint32_t)(seq - p->iSeqBase);
}

/* Forget the records added since the last commit. */
static void wal_drop_uncommitted(wal_writer *p){
  p->nBuf = p->nBufCommitted;
  p->iLastSeq = p->iLastSeqCommitted;
  p->iSeqBase = p->iSeqBaseCommitted;
  if( p->nBuf <= p->nBufHeader && p->rcPoison == LSM_OK ) p->iSeqUnwritten = UINT64_MAX;
}

/*
** Hand the buffer to the OS in one append.  On failure, see "WRITE
** FAILURES" above: drop the unacknowledged records if nothing reached the
** file, else poison the writer.
*/
static int wal_write_buffer(wal_writer *p){
  int rc;
  uint64_t nSize = 0;
  if( p->nBuf == 0 ) return LSM_OK;
  rc = p->pEnv->xAppend(p->pFile, p->aBuf, p->nBuf);
  if( rc == LSM_OK ){
    p->nFile += p->nBuf;
    p->nBuf = 0;
    p->nBufCommitted = 0;
    p->nBufHeader = 0;
    if( p->bMapped ){
      p->bUnsynced = 1;
      if( p->iSeqUnsynced == UINT64_MAX ) p->iSeqUnsynced = p->iSeqUnwritten;
    }
    p->iSeqUnwritten = UINT64_MAX;
    if( p->nAlloc > 16 * WAL_BUFFER_BYTES ){
      /* A huge batch grew the buffer: give the memory back. */
      env_free(p->pEnv, p->aBuf);
      p->aBuf = NULL;
      p->nAlloc = 0;
    }
    return LSM_OK;
  }
  if( p->pEnv->xSize(p->pFile, &nSize) == LSM_OK && nSize == p->nFile ){
    wal_drop_uncommitted(p);
  }else{
    p->rcPoison = rc;
  }
  return rc;
}

static int wal_poisoned(wal_writer *p){
  return LSM_ERROR_MSG(p->rcPoison, "%s: an earlier write to the log failed;"
                       " it takes no more records", p->zPath);
}

int wal_writer_open(lsm_env *pEnv, const char *zPath, int eSync, int bMayMap,
                    const wal_header *pHdr, wal_writer **ppWal){
  static const wal_header zero = {0};
  int rc = LSM_OK;
  wal_writer *p;

  *ppWal = NULL;
  p = env_malloc_rc(pEnv, sizeof(*p), &rc);
  if( p == NULL ) return rc;
  p->pEnv = pEnv;
  p->eSync = eSync;
  p->iSeqUnwritten = UINT64_MAX;
  p->iSeqUnsynced = UINT64_MAX;
  p->bMapped = eSync == LSM_SYNC_NORMAL && bMayMap;
  p->zPath = env_strdup_rc(pEnv, zPath, &rc);
  if( rc == LSM_OK ) rc = wal_reserve(p, WAL_BUFFER_BYTES);
  /* sync=full syncs after every commit: appends into zeros written ahead
  ** make those syncs cheaper (LSM_OPEN_PREALLOC, env.c).  sync=normal
  ** needs its commits in the kernel, not on the disk: the env may copy
  ** them into a mapping instead of a write(2) each (MAPPED LOG above). */
  if( rc == LSM_OK ){
    rc = pEnv->xOpen(pEnv, zPath, LSM_OPEN_WRITE | LSM_OPEN_EXCL
                     | (eSync == LSM_SYNC_FULL ? LSM_OPEN_PREALLOC : 0)
                     | (p->bMapped ? LSM_OPEN_PREALLOC | LSM_OPEN_MAPPED_APPEND : 0),
                     &p->pFile);
  }
  if( rc != LSM_OK ) goto open_failed;

  /* The file header waits in the buffer, acknowledged, for the first write. */
  {
    uint32_t salt = wal_new_salt();
    p->seed = CHECKSUM_SEED_WAL ^ salt;
    p->bGroupMarks = eSync == LSM_SYNC_FULL || p->bMapped;
    wal_encode_header(p->aBuf, salt, pHdr ? pHdr : &zero, p->bGroupMarks);
    p->iSeqBase = p->iSeqBaseCommitted = pHdr ? pHdr->iFirstSeq : 0;
    p->nBuf = p->nBufCommitted = p->nBufHeader = WAL_FILE_HEADER;
  }
  *ppWal = p;
  return LSM_OK;

open_failed:
  if( p->pFile ) pEnv->xClose(p->pFile);
  env_free(pEnv, p->aBuf);
  env_free(pEnv, p->zPath);
  env_free(pEnv, p);
  return rc;
}

/*
** Frame a batch (bPrepared: a prepared batch, whose id goes before its
** payload) as one record or as fragments.  Only records that carry a
** sequence number (batches and commits) take part in the seq order and
** in iSeqUnwritten: a prepared batch counts for nothing until a commit
** record names it.
*/
static int wal_add_batch(wal_writer *p, int bPrepared, uint64_t seq,
                         const uint8_t *pPayload, size_t nPayload){
  uint8_t aId[WAL_PREPARE_ID_BYTES];
  uint32_t nPrefix = bPrepared ? WAL_PREPARE_ID_BYTES : 0;
  size_t nTotal, nFrag, iFrag, nDone = 0;
  uint32_t iField = 0;
  int rc;

  if( p->rcPoison ) return wal_poisoned(p);
  if( bPrepared ? seq <= p->iLastPrepareId : seq < p->iLastSeq ){
    return LSM_ERROR_MSG(LSM_MISUSE, "%s: record %s %llu after %llu", p->zPath,
                         bPrepared ? "prepare id" : "seq", (unsigned long long)seq,
                         (unsigned long long)(bPrepared ? p->iLastPrepareId : p->iLastSeq));
  }
  if( nPayload > SIZE_MAX / 2 ) return LSM_NOMEM;
  nTotal = nPayload + nPrefix;
  nFrag = nTotal ? (nTotal + WAL_MAX_FRAGMENT - 1) / WAL_MAX_FRAGMENT : 1;
  rc = wal_reserve(p, nTotal + nFrag * WAL_RECORD_HEADER + WAL_SEQ_BASE_ROOM);
  if( rc != LSM_OK ) return rc;

  if( bPrepared ) coding_put64(aId, seq);
  else iField = wal_seq_field(p, seq);
  for(iFrag = 0; iFrag < nFrag; iFrag++){
    uint32_t nPre = iFrag == 0 ? nPrefix : 0;
    size_t nRoom = WAL_MAX_FRAGMENT - nPre;
    uint32_t n = (uint32_t)(nPayload - nDone < nRoom ? nPayload - nDone : nRoom);
    int eType;
    if( nFrag == 1 )             eType = bPrepared ? WAL_TYPE_PREPARED_FULL : WAL_TYPE_FULL;
    else if( iFrag == 0 )        eType = bPrepared ? WAL_TYPE_PREPARED_FIRST : WAL_TYPE_FIRST;
    else if( iFrag == nFrag - 1 ) eType = WAL_TYPE_LAST;
    else                         eType = WAL_TYPE_MIDDLE;
    wal_frame(p, eType, iField, aId, nPre, pPayload ? pPayload + nDone : NULL, n);
    nDone += n;
  }
  assert( nDone == nPayload );
  if( bPrepared ){
    p->iLastPrepareId = seq;
  }else{
    p->iLastSeq = seq;
    if( p->iSeqUnwritten == UINT64_MAX ) p->iSeqUnwritten = seq;
  }
  return LSM_OK;
}

int wal_writer_add(wal_writer *p, uint64_t seq, const uint8_t *pPayload, size_t nPayload){
  return wal_add_batch(p, 0, seq, pPayload, nPayload);
}

int wal_writer_add_prepared(wal_writer *p, uint64_t iPrepareId, const uint8_t *pPayload,
                            size_t nPayload){
  if( iPrepareId == 0 ) return LSM_MISUSE;
  return wal_add_batch(p, 1, iPrepareId, pPayload, nPayload);
}

int wal_writer_add_commit(wal_writer *p, uint64_t seq, uint64_t iPrepareId){
  uint8_t aId[WAL_COMMIT_PAYLOAD];
  int rc;
  if( p->rcPoison ) return wal_poisoned(p);
  if( seq < p->iLastSeq || iPrepareId == 0 || iPrepareId > p->iLastPrepareId ){
    return LSM_ERROR_MSG(LSM_MISUSE, "%s: commit record of seq %llu for prepare id %llu"
                         " (last seq %llu, last prepare id %llu)", p->zPath,
                         (unsigned long long)seq, (unsigned long long)iPrepareId,
                         (unsigned long long)p->iLastSeq,
                         (unsigned long long)p->iLastPrepareId);
  }
  rc = wal_reserve(p, WAL_RECORD_HEADER + WAL_COMMIT_PAYLOAD + WAL_SEQ_BASE_ROOM);
  if( rc != LSM_OK ) return rc;
  coding_put64(aId, iPrepareId);
  wal_frame(p, WAL_TYPE_COMMIT, wal_seq_field(p, seq), NULL, 0, aId, WAL_COMMIT_PAYLOAD);
  p->iLastSeq = seq;
  if( p->iSeqUnwritten == UINT64_MAX ) p->iSeqUnwritten = seq;
  return LSM_OK;
}

int wal_writer_commit(wal_writer *p){
  int rc = LSM_OK;
  if( p->rcPoison ) return wal_poisoned(p);
  switch( p->eSync ){
    case LSM_SYNC_OFF:
      if( p->nBuf >= WAL_BUFFER_BYTES ) rc = wal_write_buffer(p);
      break;
    case LSM_SYNC_NORMAL:
      rc = wal_write_buffer(p);
      break;
    default:
      rc = wal_writer_sync(p);
      break;
  }
  if( rc == LSM_OK ){
    p->nBufCommitted = p->nBuf;
    p->iLastSeqCommitted = p->iLastSeq;
    p->iSeqBaseCommitted = p->iSeqBase;
  }
  return rc;
}

void wal_writer_set_sync(wal_writer *p, int eSync){
  p->eSync = eSync;
}

int wal_writer_write(wal_writer *p){
  if( p->rcPoison ) return wal_poisoned(p);
  wal_drop_uncommitted(p);
  return wal_write_buffer(p);
}

int wal_writer_sync(wal_writer *p){
  int rc;
  if( p->rcPoison ) return wal_poisoned(p);
  if( p->bGroupMarks && (p->nBuf > p->nBufHeader || p->bUnsynced) ){
    /* The write ends in a GROUP_END record (PREALLOCATED TAIL above);
    ** in a mapped log it marks where the synced part ends. */
    rc = wal_reserve(p, WAL_RECORD_HEADER);
    if( rc != LSM_OK ) return rc;
    wal_frame(p, WAL_TYPE_GROUP_END, 0, NULL, 0, NULL, 0);
  }
  rc = wal_write_buffer(p);
  if( rc == LSM_OK ){
    rc = p->pEnv->xSync(p->pFile);
    if( rc == LSM_OK ){
      p->bUnsynced = 0;
      p->iSeqUnsynced = UINT64_MAX;
    }else{
      p->rcPoison = rc;
      /* A power cut may now take any record of a mapped log since
      ** its last sync: a successor must not count on them. */
      if( p->iSeqUnsynced < p->iSeqUnwritten ) p->iSeqUnwritten = p->iSeqUnsynced;
    }
  }
  return rc;
}

int wal_writer_finish(wal_writer *p){
  int rc;
  if( p->rcPoison ) return wal_poisoned(p);
  wal_drop_uncommitted(p);
  if( !p->bMapped || (p->nBuf <= p->nBufHeader && !p->bUnsynced) ){
    return wal_write_buffer(p);
  }
  rc = wal_writer_sync(p);
  if( rc != LSM_OK ){
    /* Its mark or its sync failed: the log is not known to be on the
    ** disk, and a successor must not count on its records since the last
    ** sync that succeeded (they live on in the memtable being flushed). */
    if( p->rcPoison == LSM_OK ) p->rcPoison = rc;
    if( p->iSeqUnsynced < p->iSeqUnwritten ) p->iSeqUnwritten = p->iSeqUnsynced;
    return rc;
  }
  /* One more GROUP_END after the sync: a record after a GROUP_END proves
  ** that the write it ends reached the disk whole (REPLAY), so damage
  ** anywhere in a finished log reads as corruption, not as a power cut
  ** during its last sync.  It needs no sync, and if it cannot be written
  ** the log only reads as that: not an error. */
  if( wal_reserve(p, WAL_RECORD_HEADER) == LSM_OK ){
    wal_frame(p, WAL_TYPE_GROUP_END, 0, NULL, 0, NULL, 0);
    p->nBufCommitted = p->nBuf;
    if( wal_write_buffer(p) != LSM_OK ){
      error_clear();
      /* Nothing written: as if never tried.  Part of it written (the
      ** writer is poisoned): the log ends in a damaged record, so the
      ** successor says PREV_TORN, though every record counts (any value
      ** other than UINT64_MAX above the last seq). */
      if( p->rcPoison ) p->iSeqUnwritten = UINT64_MAX - 1;
    }
  }
  p->bUnsynced = 0;
  return LSM_OK;
}

uint64_t wal_writer_bytes(const wal_writer *p){
  return p->nFile + p->nBuf;
}

uint64_t wal_writer_unwritten_seq(const wal_writer *p){
  return p->iSeqUnwritten;
}

int wal_writer_close(wal_writer *p){
  int rc = LSM_OK, rc2;
  if( p == NULL ) return LSM_OK;
  if( p->rcPoison == LSM_OK ) rc = wal_writer_finish(p);
  rc2 = p->pEnv->xClose(p->pFile);
  if( rc == LSM_OK ) rc = rc2;
  env_free(p->pEnv, p->aBuf);
  env_free(p->pEnv, p->zPath);
  env_free(p->pEnv, p);
  return rc;
}

void wal_writer_discard(wal_writer *p){
  if( p == NULL ) return;
  p->pEnv->xClose(p->pFile);
  env_free(p->pEnv, p->aBuf);
  env_free(p->pEnv, p->zPath);
  env_free(p->pEnv, p);
}
