/*
** wal.c — the write-ahead log.
**
** Every committed batch is appended to the log before it is applied to the
** memtable, so that a crash loses nothing the sync mode promised to keep.
** A batch committed in two phases (lsm_prepare) is logged as a PREPARED
** record, numbered by a prepare id, and counts only once a COMMIT record
** later in the same log names that id and gives it its sequence number.
** A log is a 64-byte file header followed by records.  A record carries
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
**   8      4    format version, 3 (2 and 1 are read: LEGACY below)
**   12     4    salt: random, chosen when the log is created
**   16     8    iNumber: the log's own file number (000012.wal: 12)
**   24     8    iPrevLog: file number of the log before it, 0 if none
**   32     8    iPrevNextSeq: the sequence number after the last record
**               of iPrevLog that counts
**   40     8    iFirstSeq: sequence number of this log's first record
**   48     4    flags: bit 0 PREV_TORN: iPrevLog may end in a damaged
**               record, and its records from iPrevNextSeq on never counted
**               (a write or sync of them failed); other bits zero
**   52     4    zero
**   56     8    checksum: XXH3-64, seed CHECKSUM_SEED_WAL ^ salt, over
**               bytes 0..55
**
** RECORD (25-byte header + payload)
**
**   OFFSET SIZE DESCRIPTION
**   0      4    n: payload length, 0 <= n <= WAL_MAX_FRAGMENT (1 MiB)
**   4      1    type:
**                 1 FULL            a whole batch
**                 2 FIRST           the first fragment of a batch
**                 3 MIDDLE          a later fragment (of a batch or of a
**                 4 LAST            prepared batch: whichever FIRST began)
**                 5 PREPARED_FULL   a whole prepared batch
**                 6 PREPARED_FIRST  the first fragment of a prepared batch
**                 7 COMMIT          a prepared batch takes effect
**               (fragments of one batch are in order, nothing in between)
**   5      8    seq: for FULL, FIRST and COMMIT, the sequence number of
**               the batch's first operation, never decreasing in a log;
**               for PREPARED_*, the prepare id, strictly increasing in a
**               log; fragments repeat their first record's value
**   13     4    header check: the low 32 bits of XXH3-64, seed
**               CHECKSUM_SEED_WAL ^ salt, over bytes 0..12
**   17     8    checksum: XXH3-64, same seed, over bytes 0..16 of this
**               header followed by the n payload bytes
**   25     n    payload: the batch encoding (opaque here); for COMMIT,
**               n = 8: the prepare id it commits (little-endian)
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
** (REPLAY) reject a byte offset by hashing 13 bytes, never the up to
** 1 MiB of payload a forged length field would point at: a 64 MiB log of
** crafted values is searched in well under a second.
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
** Worked example (version 3): the same log, but the batch "hi" was
** prepared (prepare id 1) and then committed at seq 7 (124 bytes):
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
** REPLAY
**
** Records are read in order.  A record is bad if its length is over the
** limit, its type unknown, it runs past the end of the file, or either
** checksum fails; a valid record that breaks the fragment order, makes
** seq go backwards, repeats a prepare id or commits a prepared batch the
** log does not hold (or committed already) is corruption too.  Replay
** keeps the prepared batches of the log (pointers into its mapping, or a
** reassembled copy) until a COMMIT hands one to the caller at the
** COMMIT's place and seq, and drops the rest at the log's end.  At a
** bad record of a log whose tail may be torn (the newest, or one whose
** successor says PREV_TORN), replay searches forward byte by byte for
** any valid record: if there is none, the bad bytes are a torn tail (a
** crash in the middle of an append, or a file system that extended the
** file with zeros) and replay ends cleanly, dropping any unfinished
** fragmented batch; if there is one, the log is corrupt in the middle
** (LSM_CORRUPT naming file and offset).
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
** LEGACY: version 2 logs are version 3 without record types 5-7 (a type
** above 4 is a bad record there); they are replayed as they are.  Version
** 1 logs (a 16-byte header without the chain fields, and 21-byte record
** headers without the header check) are still replayed, so that a store
** closed by an older build opens; wal_read_header reports them with
** bLegacy and the chain is not checked across them.  An older build
** refuses a version 3 log ("unsupported log format version 3") rather
** than take its prepared records for damage.
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

#define WAL_MAGIC          "\x89LSMWAL\n"
#define WAL_VERSION        3
#define WAL_FILE_HEADER    64
#define WAL_RECORD_HEADER  25
#define WAL_HDRCHECK_OFF   13           /* header bytes the header check covers */
#define WAL_CHECKSUM_OFF   17           /* header bytes the checksum covers     */
#define WAL_FLAG_PREV_TORN 1
#define WAL_MAX_FRAGMENT   (1u << 20)   /* payload bytes in one record      */
#define WAL_BUFFER_BYTES   (64 * 1024)  /* LSM_SYNC_OFF writes past this    */

/* Version 2 (LEGACY above): the same framing, record types 1-4 only. */
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
#define WAL_COMMIT_PAYLOAD      8   /* a commit record's payload: the prepare id */

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
  uint64_t iLastPrepareId;  /* prepare id of the last prepared batch added;
                            ** never goes back, not even when a failed
                            ** write drops the record                         */
  uint64_t iSeqUnwritten;   /* seq of the first record not wholly in the
                            ** file (buffered, or in a failed write);
                            ** UINT64_MAX if none                             */
  int rcPoison;             /* sticky error after a partial write or sync     */
};

/* A record header as read back. */
typedef struct wal_record {
  uint32_t n;               /* payload length                      */
  int eType;                /* WAL_TYPE_*                          */
  uint64_t seq;
  const uint8_t *pPayload;  /* borrowed from the mapping           */
} wal_record;

#define WAL_RECORD_OK    0
#define WAL_RECORD_BAD   1  /* length, type or checksum check failed */
#define WAL_RECORD_SHORT 2  /* runs past the end of the file         */

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
static void wal_encode_header(uint8_t *a, uint32_t salt, const wal_header *pHdr){
  uint8_t *q;
  memset(a, 0, WAL_FILE_HEADER);
  memcpy(a, WAL_MAGIC, 8);
  q = coding_put32(a + 8, WAL_VERSION);
  q = coding_put32(q, salt);
  q = coding_put64(q, pHdr->iNumber);
  q = coding_put64(q, pHdr->iPrevLog);
  q = coding_put64(q, pHdr->iPrevNextSeq);
  q = coding_put64(q, pHdr->iFirstSeq);
  coding_put32(q, pHdr->bPrevTorn ? WAL_FLAG_PREV_TORN : 0);
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

/* Frame one record at the end of the buffer (room already reserved). */
static void wal_frame(wal_writer *p, int eType, uint64_t seq, const uint8_t *pPayload, uint32_t n){
  uint8_t *pHdr = &p->aBuf[p->nBuf];
  uint8_t *q = coding_put32(pHdr, n);
  *q++ = (uint8_t)eType;
  q = coding_put64(q, seq);
  q = coding_put32(q, (uint32_t)checksum_compute(pHdr, WAL_HDRCHECK_OFF, p->seed));
  coding_put64(q, checksum_compute2(pHdr, WAL_CHECKSUM_OFF, pPayload, n, p->seed));
  if( n ) memcpy(pHdr + WAL_RECORD_HEADER, pPayload, n);
  p->nBuf += WAL_RECORD_HEADER + (size_t)n;
}

/* Forget the records added since the last commit. */
static void wal_drop_uncommitted(wal_writer *p){
  p->nBuf = p->nBufCommitted;
  p->iLastSeq = p->iLastSeqCommitted;
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

int wal_writer_open(lsm_env *pEnv, const char *zPath, int eSync, const wal_header *pHdr,
                    wal_writer **ppWal){
  static const wal_header zero = {0};
  int rc = LSM_OK;
  wal_writer *p;

  *ppWal = NULL;
  p = env_malloc_rc(pEnv, sizeof(*p), &rc);
  if( p == NULL ) return rc;
  p->pEnv = pEnv;
  p->eSync = eSync;
  p->iSeqUnwritten = UINT64_MAX;
  p->zPath = env_strdup_rc(pEnv, zPath, &rc);
  if( rc == LSM_OK ) rc = wal_reserve(p, WAL_BUFFER_BYTES);
  if( rc == LSM_OK ) rc = pEnv->xOpen(pEnv, zPath, LSM_OPEN_WRITE | LSM_OPEN_EXCL, &p->pFile);
  if( rc != LSM_OK ) goto open_failed;

  /* The file header waits in the buffer, acknowledged, for the first write. */
  {
    uint32_t salt = wal_new_salt();
    p->seed = CHECKSUM_SEED_WAL ^ salt;
    wal_encode_header(p->aBuf, salt, pHdr ? pHdr : &zero);
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
** Frame a batch (bPrepared: a prepared batch, whose seq field is its
** prepare id) as one record or as fragments.  Only records that carry a
** sequence number (batches and commits) take part in the seq order and
** in iSeqUnwritten: a prepared batch counts for nothing until a commit
** record names it.
*/
static int wal_add_batch(wal_writer *p, int bPrepared, uint64_t seq,
                         const uint8_t *pPayload, size_t nPayload){
  size_t nFrag = nPayload ? (nPayload + WAL_MAX_FRAGMENT - 1) / WAL_MAX_FRAGMENT : 1;
  size_t iFrag, nDone = 0;
  int rc;

  if( p->rcPoison ) return wal_poisoned(p);
  if( bPrepared ? seq <= p->iLastPrepareId : seq < p->iLastSeq ){
    return LSM_ERROR_MSG(LSM_MISUSE, "%s: record %s %llu after %llu", p->zPath,
                         bPrepared ? "prepare id" : "seq", (unsigned long long)seq,
                         (unsigned long long)(bPrepared ? p->iLastPrepareId : p->iLastSeq));
  }
  if( nFrag > (SIZE_MAX - nPayload) / WAL_RECORD_HEADER ) return LSM_NOMEM;
  rc = wal_reserve(p, nPayload + nFrag * WAL_RECORD_HEADER);
  if( rc != LSM_OK ) return rc;

  for(iFrag = 0; iFrag < nFrag; iFrag++){
    uint32_t n = (uint32_t)(nPayload - nDone < WAL_MAX_FRAGMENT ? nPayload - nDone : WAL_MAX_FRAGMENT);
    int eType;
    if( nFrag == 1 )             eType = bPrepared ? WAL_TYPE_PREPARED_FULL : WAL_TYPE_FULL;
    else if( iFrag == 0 )        eType = bPrepared ? WAL_TYPE_PREPARED_FIRST : WAL_TYPE_FIRST;
    else if( iFrag == nFrag - 1 ) eType = WAL_TYPE_LAST;
    else                         eType = WAL_TYPE_MIDDLE;
    wal_frame(p, eType, seq, pPayload ? pPayload + nDone : NULL, n);
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
  rc = wal_reserve(p, WAL_RECORD_HEADER + WAL_COMMIT_PAYLOAD);
  if( rc != LSM_OK ) return rc;
  coding_put64(aId, iPrepareId);
  wal_frame(p, WAL_TYPE_COMMIT, seq, aId, WAL_COMMIT_PAYLOAD);
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
  rc = wal_write_buffer(p);
  if( rc == LSM_OK ){
    rc = p->pEnv->xSync(p->pFile);
    if( rc != LSM_OK ) p->rcPoison = rc;
  }
  return rc;
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
  if( p->rcPoison == LSM_OK ) rc = wal_writer_write(p);
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

/* ---------------------------------------------------------------- */
/* Replay                                                            */
/* ---------------------------------------------------------------- */

/* How the records of one log are framed. */
typedef struct wal_frame_fmt {
  uint64_t seed;            /* CHECKSUM_SEED_WAL ^ salt             */
  int bV1;                  /* version 1: no header check           */
  int eMaxType;             /* the largest record type of its version */
  uint64_t nFileHeader;     /* bytes before the first record        */
  uint64_t nRecordHeader;   /* bytes before each payload            */
} wal_frame_fmt;

/* Check the record at a[iOff] (iOff < n).  Length and type are checked
** before any checksum, the header check before the payload's checksum,
** and the length against the bytes that remain, so garbage never makes
** us read, hash or allocate past the file. */
static int wal_check_record(const uint8_t *a, uint64_t n, uint64_t iOff,
                            const wal_frame_fmt *pFmt, wal_record *pRec){
  const uint8_t *pHdr = &a[iOff];
  uint64_t nHdr = pFmt->nRecordHeader;
  uint32_t nPayload;
  int eType;
  if( n - iOff < nHdr ) return WAL_RECORD_SHORT;
  nPayload = coding_get32(pHdr);
  eType = pHdr[4];
  if( nPayload > WAL_MAX_FRAGMENT ) return WAL_RECORD_BAD;
  if( eType < WAL_TYPE_FULL || eType > pFmt->eMaxType ) return WAL_RECORD_BAD;
  if( pFmt->bV1 ){
    if( n - iOff - nHdr < nPayload ) return WAL_RECORD_SHORT;
    if( checksum_compute2(pHdr, WAL_V1_CHECKSUM_OFF, pHdr + nHdr, nPayload, pFmt->seed)
        != coding_get64(pHdr + WAL_V1_CHECKSUM_OFF) ){
      return WAL_RECORD_BAD;
    }
  }else{
    if( (uint32_t)checksum_compute(pHdr, WAL_HDRCHECK_OFF, pFmt->seed)
        != coding_get32(pHdr + WAL_HDRCHECK_OFF) ){
      return WAL_RECORD_BAD;
    }
    if( n - iOff - nHdr < nPayload ) return WAL_RECORD_SHORT;
    if( checksum_compute2(pHdr, WAL_CHECKSUM_OFF, pHdr + nHdr, nPayload, pFmt->seed)
        != coding_get64(pHdr + WAL_CHECKSUM_OFF) ){
      return WAL_RECORD_BAD;
    }
  }
  pRec->n = nPayload;
  pRec->eType = eType;
  pRec->seq = coding_get64(pHdr + 5);
  pRec->pPayload = pHdr + nHdr;
  return WAL_RECORD_OK;
}

/* Offset of the first valid record after iOff, or 0 if there is none. */
static uint64_t wal_find_valid_after(const uint8_t *a, uint64_t n, uint64_t iOff,
                                     const wal_frame_fmt *pFmt){
  wal_record rec;
  uint64_t i;
  for(i = iOff + 1; i + pFmt->nRecordHeader <= n; i++){
    if( wal_check_record(a, n, i, pFmt, &rec) == WAL_RECORD_OK ) return i;
  }
  return 0;
}

static int wal_all_zero(const uint8_t *a, uint64_t n){
  uint64_t i;
  for(i = 0; i < n; i++) if( a[i] ) return 0;
  return 1;
}

/*
** Verify the file header at a[0..n) and decode it.  *pbEmpty: the log was
** never written (shorter than its header, or all zeros).  LSM_CORRUPT
** naming zPath for a bad magic, version or checksum.
*/
static int wal_parse_header(const char *zPath, const uint8_t *a, uint64_t n,
                            wal_header *pHdr, wal_frame_fmt *pFmt, int *pbEmpty){
  uint32_t iVersion, salt, flags;
  memset(pHdr, 0, sizeof(*pHdr));
  memset(pFmt, 0, sizeof(*pFmt));
  *pbEmpty = 0;
  if( n < 12 || wal_all_zero(a, n) ){
    *pbEmpty = 1;
    return LSM_OK;
  }
  if( memcmp(a, WAL_MAGIC, 8) != 0 ){
    return LSM_CORRUPT_BKPT("%s: not a write-ahead log (bad magic)", zPath);
  }
  iVersion = coding_get32(a + 8);
  if( iVersion != WAL_VERSION && iVersion != WAL_V2 && iVersion != WAL_V1 ){
    return LSM_CORRUPT_BKPT("%s: unsupported log format version %u", zPath, iVersion);
  }
  pFmt->bV1 = iVersion == WAL_V1;
  pFmt->eMaxType = iVersion == WAL_VERSION ? WAL_TYPE_COMMIT : WAL_TYPE_LAST;
  pFmt->nFileHeader = pFmt->bV1 ? WAL_V1_FILE_HEADER : WAL_FILE_HEADER;
  pFmt->nRecordHeader = pFmt->bV1 ? WAL_V1_RECORD_HEADER : WAL_RECORD_HEADER;
  if( n < pFmt->nFileHeader ){
    *pbEmpty = 1;
    return LSM_OK;
  }
  salt = coding_get32(a + 12);
  pFmt->seed = CHECKSUM_SEED_WAL ^ salt;
  if( pFmt->bV1 ){
    pHdr->bLegacy = 1;
    return LSM_OK;
  }
  if( checksum_compute(a, 56, pFmt->seed) != coding_get64(a + 56) ){
    return LSM_CORRUPT_BKPT("%s: bad checksum in the log's file header", zPath);
  }
  flags = coding_get32(a + 48);
  if( (flags & ~(uint32_t)WAL_FLAG_PREV_TORN) != 0 || coding_get32(a + 52) != 0 ){
    return LSM_CORRUPT_BKPT("%s: unknown flags 0x%x in the log's file header", zPath, flags);
  }
  pHdr->iNumber = coding_get64(a + 16);
  pHdr->iPrevLog = coding_get64(a + 24);
  pHdr->iPrevNextSeq = coding_get64(a + 32);
  pHdr->iFirstSeq = coding_get64(a + 40);
  pHdr->bPrevTorn = (flags & WAL_FLAG_PREV_TORN) != 0;
  return LSM_OK;
}

/* Open and map zPath for reading (*pa NULL and *pn 0 for an empty file). */
static int wal_map(lsm_env *pEnv, const char *zPath, lsm_file **ppFile,
                   const uint8_t **pa, uint64_t *pn){
  int rc;
  *pa = NULL;
  *pn = 0;
  *ppFile = NULL;
  if( pEnv->xMap == NULL ){
    return LSM_ERROR_MSG(LSM_MISUSE, "%s: this env cannot map files, which WAL replay needs"
                         " (an env without xMap serves hosted stores only)", zPath);
  }
  rc = pEnv->xOpen(pEnv, zPath, LSM_OPEN_READ, ppFile);
  if( rc == LSM_OK ) rc = pEnv->xSize(*ppFile, pn);
  if( rc == LSM_OK && *pn > 0 ) rc = pEnv->xMap(*ppFile, pa, pn);
  return rc;
}

int wal_read_header(lsm_env *pEnv, const char *zPath, wal_header *pHdr, int *pbEmpty){
  lsm_file *pFile = NULL;
  const uint8_t *a = NULL;
  uint64_t n = 0;
  wal_frame_fmt fmt;
  int rc = wal_map(pEnv, zPath, &pFile, &a, &n);
  memset(pHdr, 0, sizeof(*pHdr));
  *pbEmpty = 1;
  if( rc == LSM_OK && n > 0 ) rc = wal_parse_header(zPath, a, n, pHdr, &fmt, pbEmpty);
  if( pFile ) pEnv->xClose(pFile);
  return rc;
}

/* Append a fragment to the reassembly buffer. */
static int wal_asm_append(lsm_env *pEnv, uint8_t **paAsm, size_t *pnAsm, size_t *pnAlloc,
                          const uint8_t *p, size_t n){
  if( *pnAsm + n > *pnAlloc ){
    size_t nNew = *pnAlloc ? *pnAlloc : WAL_MAX_FRAGMENT;
    uint8_t *aNew;
    while( nNew < *pnAsm + n ) nNew *= 2;
    aNew = env_realloc(pEnv, *paAsm, nNew);
    if( aNew == NULL ) return LSM_NOMEM;
    *paAsm = aNew;
    *pnAlloc = nNew;
  }
  if( n ) memcpy(*paAsm + *pnAsm, p, n);
  *pnAsm += n;
  return LSM_OK;
}

/*
** The prepared batches of the log being replayed that no commit record
** has named yet, in the order of their (strictly increasing) prepare
** ids.  A payload lies in the log's mapping, or, for a batch reassembled
** from fragments, in a buffer the entry owns.
*/
typedef struct wal_prepared {
  uint64_t iId;             /* prepare id                                   */
  const uint8_t *p;         /* the batch's bytes; NULL once committed       */
  size_t n;                 /* their length                                 */
  uint8_t *aOwned;          /* a reassembled batch (env_malloc), or NULL    */
} wal_prepared;

typedef struct wal_prepared_set {
  lsm_env *pEnv;
  wal_prepared *a;          /* entries, ids increasing                      */
  size_t n, nAlloc;
} wal_prepared_set;

static int wal_prepared_add(wal_prepared_set *pSet, uint64_t iId, const uint8_t *p,
                            size_t n, uint8_t *aOwned){
  wal_prepared *pE;
  if( pSet->n == pSet->nAlloc ){
    size_t nNew = pSet->nAlloc ? pSet->nAlloc * 2 : 16;
    wal_prepared *aNew = env_realloc(pSet->pEnv, pSet->a, nNew * sizeof(wal_prepared));
    if( aNew == NULL ){
      env_free(pSet->pEnv, aOwned);
      return LSM_NOMEM;
    }
    pSet->a = aNew;
    pSet->nAlloc = nNew;
  }
  pE = &pSet->a[pSet->n++];
  pE->iId = iId;
  pE->p = p;
  pE->n = n;
  pE->aOwned = aOwned;
  return LSM_OK;
}

/* The entry for iId, or NULL (binary search: ids increase). */
static wal_prepared *wal_prepared_find(wal_prepared_set *pSet, uint64_t iId){
  size_t lo = 0, hi = pSet->n;
  while( lo < hi ){
    size_t mid = lo + (hi - lo) / 2;
    if( pSet->a[mid].iId < iId ) lo = mid + 1;
    else hi = mid;
  }
  return lo < pSet->n && pSet->a[lo].iId == iId ? &pSet->a[lo] : NULL;
}

static void wal_prepared_clear(wal_prepared_set *pSet){
  size_t i;
  for(i = 0; i < pSet->n; i++) env_free(pSet->pEnv, pSet->a[i].aOwned);
  env_free(pSet->pEnv, pSet->a);
  memset(pSet, 0, sizeof(*pSet));
}

int wal_replay(lsm_env *pEnv, const char *zPath, int bNewest,
               int (*xRecord)(void *pCtx, uint64_t seq, const uint8_t *p, size_t n),
               void *pCtx, int *pbTorn){
  return wal_replay_with_unresolved(pEnv, zPath, bNewest, xRecord, NULL, pCtx, pbTorn);
}

int wal_replay_with_unresolved(lsm_env *pEnv, const char *zPath, int bNewest,
    int (*xRecord)(void *pCtx, uint64_t seq, const uint8_t *p, size_t n),
    int (*xUnresolved)(void *pCtx, uint64_t iPrepareId, const uint8_t *p, size_t n),
    void *pCtx, int *pbTorn){
  int rc;
  lsm_file *pFile = NULL;
  const uint8_t *a = NULL;
  uint64_t n = 0, iOff, iLastSeq = 0, iLastPrepareId = 0, iBatchOff = 0;
  uint8_t *aAsm = NULL;          /* fragments of the batch being reassembled */
  size_t nAsm = 0, nAsmAlloc = 0;
  int bInBatch = 0;              /* a FIRST fragment was seen, no LAST yet  */
  int bAsmPrepared = 0;          /* ... of a prepared batch                 */
  int bEmpty = 0;
  uint64_t batchSeq = 0;
  const char *zWhy = NULL;       /* reason, for a bad record                */
  wal_header hdr;
  wal_frame_fmt fmt;
  wal_prepared_set prepared;

  memset(&prepared, 0, sizeof(prepared));
  prepared.pEnv = pEnv;
  if( pbTorn ) *pbTorn = 0;
  rc = wal_map(pEnv, zPath, &pFile, &a, &n);
  if( rc != LSM_OK || n == 0 ) goto replay_done;

  /* The file header. */
  rc = wal_parse_header(zPath, a, n, &hdr, &fmt, &bEmpty);
  if( rc != LSM_OK ) goto replay_done;
  if( bEmpty ){
    if( bNewest ){
      if( pbTorn ) *pbTorn = 1;
    }else{
      rc = LSM_CORRUPT_BKPT("%s: log of %llu bytes has no file header (shorter than"
                            " one, or all zeros)", zPath, (unsigned long long)n);
    }
    goto replay_done;
  }

  for(iOff = fmt.nFileHeader; iOff < n; ){
    wal_record rec;
    int eCheck = wal_check_record(a, n, iOff, &fmt, &rec);
    int bStart;                  /* not MIDDLE or LAST: starts an entry     */
    int bPrepared;               /* PREPARED_FULL or PREPARED_FIRST         */
    if( eCheck != WAL_RECORD_OK ){
      uint64_t iNext;
      zWhy = eCheck == WAL_RECORD_SHORT ? "record runs past the end of the file"
                                       : "bad length, type or checksum";
      if( !bNewest ){
        rc = LSM_CORRUPT_BKPT("%s: bad record at offset %llu in an older log (%s)",
                              zPath, (unsigned long long)iOff, zWhy);
        goto replay_done;
      }
      iNext = wal_find_valid_after(a, n, iOff, &fmt);
      if( iNext ){
        rc = LSM_CORRUPT_BKPT("%s: bad record at offset %llu (%s) followed by a valid"
                              " record at offset %llu", zPath, (unsigned long long)iOff,
                              zWhy, (unsigned long long)iNext);
        goto replay_done;
      }
      if( pbTorn ) *pbTorn = 1;      /* torn tail: the end of the log */
      bInBatch = 0;
      break;
    }

    /* A valid record: check its place in the sequence of records. */
    zWhy = NULL;
    bPrepared = rec.eType == WAL_TYPE_PREPARED_FULL || rec.eType == WAL_TYPE_PREPARED_FIRST;
    bStart = bPrepared || rec.eType == WAL_TYPE_FULL || rec.eType == WAL_TYPE_FIRST
          || rec.eType == WAL_TYPE_COMMIT;
    if( bStart ){
      if( bInBatch ) zWhy = "a new batch starts before the last one ended";
      else if( bPrepared && rec.seq <= iLastPrepareId ) zWhy = "prepare id does not increase";
      else if( !bPrepared && rec.seq < iLastSeq ) zWhy = "sequence number goes backwards";
      else if( rec.eType == WAL_TYPE_COMMIT && rec.n != WAL_COMMIT_PAYLOAD ){
        zWhy = "a commit record of the wrong length";
      }
    }else{
      if( !bInBatch ) zWhy = "a batch fragment without its first fragment";
      else if( rec.seq != batchSeq ) zWhy = "a batch fragment with another batch's seq";
    }
    if( zWhy ){
      rc = LSM_CORRUPT_BKPT("%s: bad record at offset %llu (%s)", zPath,
                            (unsigned long long)iOff, zWhy);
      goto replay_done;
    }

    switch( rec.eType ){
      case WAL_TYPE_FULL:
        iLastSeq = rec.seq;
        rc = xRecord(pCtx, rec.seq, rec.pPayload, rec.n);
        break;
      case WAL_TYPE_PREPARED_FULL:
        iLastPrepareId = rec.seq;
        rc = wal_prepared_add(&prepared, rec.seq, rec.pPayload, rec.n, NULL);
        break;
      case WAL_TYPE_COMMIT: {
        uint64_t iId = coding_get64(rec.pPayload);
        wal_prepared *pE = wal_prepared_find(&prepared, iId);
        if( pE == NULL || pE->p == NULL ){
          rc = LSM_CORRUPT_BKPT("%s: the commit record at offset %llu names prepared"
                                " batch %llu, which the log %s", zPath,
                                (unsigned long long)iOff, (unsigned long long)iId,
                                pE ? "committed before" : "does not hold before it");
          break;
        }
        iLastSeq = rec.seq;
        rc = xRecord(pCtx, rec.seq, pE->p, pE->n);
        pE->p = NULL;
        env_free(pEnv, pE->aOwned);
        pE->aOwned = NULL;
        break;
      }
      case WAL_TYPE_FIRST:
      case WAL_TYPE_PREPARED_FIRST:
        bInBatch = 1;
        bAsmPrepared = bPrepared;
        batchSeq = rec.seq;
        if( bPrepared ) iLastPrepareId = rec.seq;
        else iLastSeq = rec.seq;
        iBatchOff = iOff;
        nAsm = 0;
        rc = wal_asm_append(pEnv, &aAsm, &nAsm, &nAsmAlloc, rec.pPayload, rec.n);
        break;
      default:
        rc = wal_asm_append(pEnv, &aAsm, &nAsm, &nAsmAlloc, rec.pPayload, rec.n);
        if( rc == LSM_OK && rec.eType == WAL_TYPE_LAST ){
          bInBatch = 0;
          if( bAsmPrepared ){
            /* The set takes the buffer: the next batch gets a new one. */
            uint8_t *aOwned = aAsm;
            aAsm = NULL;
            nAsmAlloc = 0;
            rc = wal_prepared_add(&prepared, batchSeq, aOwned, nAsm, aOwned);
          }else{
            rc = xRecord(pCtx, batchSeq, aAsm, nAsm);
          }
        }
        break;
    }
    if( rc != LSM_OK ) goto replay_done;
    iOff += fmt.nRecordHeader + (uint64_t)rec.n;
  }

  if( bInBatch ){
    /* The log ends inside a fragmented batch. */
    if( bNewest ){
      if( pbTorn ) *pbTorn = 1;
    }else{
      rc = LSM_CORRUPT_BKPT("%s: the batch starting at offset %llu is unfinished"
                            " in an older log", zPath, (unsigned long long)iBatchOff);
    }
  }
  /* Prepared batches no commit record named: their transactions failed,
  ** were rolled back, or never finished committing.  The caller may ask
  ** its host which (xUnresolved); else they are dropped. */
  if( rc == LSM_OK && xUnresolved ){
    size_t i;
    for(i = 0; rc == LSM_OK && i < prepared.n; i++){
      if( prepared.a[i].p ){
        rc = xUnresolved(pCtx, prepared.a[i].iId, prepared.a[i].p, prepared.a[i].n);
      }
    }
  }

replay_done:
  if( pFile ) pEnv->xClose(pFile);
  env_free(pEnv, aAsm);
  wal_prepared_clear(&prepared);
  return rc;
}
