/*
** wal.c — the write-ahead log.
**
** Every committed batch is appended to the log before it is applied to the
** memtable, so that a crash loses nothing the sync mode promised to keep.
** A log is a 16-byte file header followed by records.  A record carries
** one batch, or one fragment of a batch bigger than WAL_MAX_FRAGMENT (so
** that no single length field can ask a reader to trust more than 1 MiB);
** the record type says which.  Records are framed in a user-space buffer
** and handed to the OS per the sync mode (wal_writer_commit); several
** batches committed together share one write and one sync.
**
** FILE HEADER (16 bytes, little-endian)
**
**   OFFSET SIZE DESCRIPTION
**   0      8    magic 89 4c 53 4d 57 41 4c 0a ("\x89LSMWAL\n": the high
**               byte catches 7-bit transfers, the newline catches line-end
**               conversion, as PNG's signature does)
**   8      4    format version, 1
**   12     4    salt: random, chosen when the log is created
**
** RECORD (21-byte header + payload)
**
**   OFFSET SIZE DESCRIPTION
**   0      4    n: payload length, 0 <= n <= WAL_MAX_FRAGMENT (1 MiB)
**   4      1    type: 1 FULL (a whole batch), 2 FIRST, 3 MIDDLE, 4 LAST
**               (fragments of one batch, in order, nothing in between)
**   5      8    seq: sequence number of the batch's first operation (all
**               fragments of a batch repeat it); never decreases in a log
**   13     8    checksum: XXH3-64, seed CHECKSUM_SEED_WAL ^ salt, over
**               bytes 0..12 of this header followed by the n payload bytes
**   21     n    payload (the batch encoding; opaque here)
**
** The salt makes the checksum of a record valid in this log only: a record
** image that happens to sit inside a payload (a user value holding a copy
** of another log, say) never passes as a record of this one, which is what
** lets replay tell a torn tail from a bad record with good ones after it.
**
** Worked example: a log with salt 0x0a0b0c0d holding one batch, seq 7,
** payload "hi" (39 bytes):
**
**   89 4c 53 4d 57 41 4c 0a   magic
**   01 00 00 00               version 1
**   0d 0c 0b 0a               salt 0x0a0b0c0d
**   02 00 00 00               n = 2
**   01                        type FULL
**   07 00 00 00 00 00 00 00   seq 7
**   96 ab 6b 80 37 27 44 13   checksum (test wal_header_example_replays
**                             replays these exact bytes)
**   68 69                     payload "hi"
**
** REPLAY
**
** Records are read in order.  A record is bad if its length is over the
** limit, its type unknown, it runs past the end of the file, or its
** checksum fails; a valid record that breaks the fragment order or makes
** seq go backwards is corruption too.  At a bad record of the newest log,
** replay scans forward byte by byte for any valid record: if there is
** none, the bad bytes are a torn tail (a crash in the middle of an
** append, or a file system that extended the file with zeros) and replay
** ends cleanly, dropping any unfinished fragmented batch; if there is one,
** the log is corrupt in the middle (LSM_CORRUPT naming file and offset).
** In an older log every bad record, and an unfinished batch at its end,
** is LSM_CORRUPT: it was complete before the next log was started.
** A newest log shorter than the file header, or all zeros, is empty.
** Replay maps the file and never allocates from a length field: a
** fragmented batch is reassembled only from fragments that verified.
**
** WRITE FAILURES
**
** If an append fails and the file did not grow, the records of the
** failing commit are dropped from the buffer and the writer stays usable
** (the caller reports the commit failed; the disk may have space again
** later).  If the file grew, or a sync failed, the log may hold part or all
** of a record the caller was told failed: the writer is poisoned and
** returns that error from then on.  The owner should then flush the
** memtable (which does not hold the failed batch), which makes this log
** obsolete, before starting a new one.
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
#define WAL_VERSION        1
#define WAL_FILE_HEADER    16
#define WAL_RECORD_HEADER  21
#define WAL_CHECKSUM_OFF   13           /* header bytes the checksum covers */
#define WAL_MAX_FRAGMENT   (1u << 20)   /* payload bytes in one record      */
#define WAL_BUFFER_BYTES   (64 * 1024)  /* LSM_SYNC_OFF writes past this    */

#define WAL_TYPE_FULL   1
#define WAL_TYPE_FIRST  2
#define WAL_TYPE_MIDDLE 3
#define WAL_TYPE_LAST   4

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
  uint64_t nFile;           /* bytes appended to the file so far              */
  uint64_t iLastSeq;        /* seq of the last record added                   */
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
  coding_put64(q, checksum_compute2(pHdr, WAL_CHECKSUM_OFF, pPayload, n, p->seed));
  if( n ) memcpy(pHdr + WAL_RECORD_HEADER, pPayload, n);
  p->nBuf += WAL_RECORD_HEADER + (size_t)n;
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
    if( p->nAlloc > 16 * WAL_BUFFER_BYTES ){
      /* A huge batch grew the buffer: give the memory back. */
      env_free(p->pEnv, p->aBuf);
      p->aBuf = NULL;
      p->nAlloc = 0;
    }
    return LSM_OK;
  }
  if( p->pEnv->xSize(p->pFile, &nSize) == LSM_OK && nSize == p->nFile ){
    p->nBuf = p->nBufCommitted;
  }else{
    p->rcPoison = rc;
  }
  return rc;
}

static int wal_poisoned(wal_writer *p){
  return LSM_ERROR_MSG(p->rcPoison, "%s: an earlier write to the log failed;"
                       " it takes no more records", p->zPath);
}

int wal_writer_open(lsm_env *pEnv, const char *zPath, int eSync, wal_writer **ppWal){
  int rc = LSM_OK;
  wal_writer *p;
  uint8_t *q;

  *ppWal = NULL;
  p = env_malloc_rc(pEnv, sizeof(*p), &rc);
  if( p == NULL ) return rc;
  p->pEnv = pEnv;
  p->eSync = eSync;
  p->zPath = env_strdup_rc(pEnv, zPath, &rc);
  if( rc == LSM_OK ) rc = wal_reserve(p, WAL_BUFFER_BYTES);
  if( rc == LSM_OK ) rc = pEnv->xOpen(pEnv, zPath, LSM_OPEN_WRITE, &p->pFile);
  if( rc != LSM_OK ) goto open_failed;

  /* The file header waits in the buffer, acknowledged, for the first write. */
  {
    uint32_t salt = wal_new_salt();
    p->seed = CHECKSUM_SEED_WAL ^ salt;
    memcpy(p->aBuf, WAL_MAGIC, 8);
    q = coding_put32(p->aBuf + 8, WAL_VERSION);
    coding_put32(q, salt);
    p->nBuf = p->nBufCommitted = WAL_FILE_HEADER;
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

int wal_writer_add(wal_writer *p, uint64_t seq, const uint8_t *pPayload, size_t nPayload){
  size_t nFrag = nPayload ? (nPayload + WAL_MAX_FRAGMENT - 1) / WAL_MAX_FRAGMENT : 1;
  size_t iFrag, nDone = 0;
  int rc;

  if( p->rcPoison ) return wal_poisoned(p);
  if( seq < p->iLastSeq ){
    return LSM_ERROR_MSG(LSM_MISUSE, "%s: record seq %llu after seq %llu", p->zPath,
                         (unsigned long long)seq, (unsigned long long)p->iLastSeq);
  }
  if( nFrag > (SIZE_MAX - nPayload) / WAL_RECORD_HEADER ) return LSM_NOMEM;
  rc = wal_reserve(p, nPayload + nFrag * WAL_RECORD_HEADER);
  if( rc != LSM_OK ) return rc;

  for(iFrag = 0; iFrag < nFrag; iFrag++){
    uint32_t n = (uint32_t)(nPayload - nDone < WAL_MAX_FRAGMENT ? nPayload - nDone : WAL_MAX_FRAGMENT);
    int eType;
    if( nFrag == 1 )             eType = WAL_TYPE_FULL;
    else if( iFrag == 0 )        eType = WAL_TYPE_FIRST;
    else if( iFrag == nFrag - 1 ) eType = WAL_TYPE_LAST;
    else                         eType = WAL_TYPE_MIDDLE;
    wal_frame(p, eType, seq, pPayload ? pPayload + nDone : NULL, n);
    nDone += n;
  }
  assert( nDone == nPayload );
  p->iLastSeq = seq;
  return LSM_OK;
}

int wal_writer_commit(wal_writer *p){
  int rc = LSM_OK;
  if( p->rcPoison ) return wal_poisoned(p);
  switch( p->eSync ){
    case LSM_SYNC_OFF:
      if( p->nBuf >= WAL_BUFFER_BYTES ){
        rc = wal_write_buffer(p);
      }else{
        p->nBufCommitted = p->nBuf;
      }
      break;
    case LSM_SYNC_NORMAL:
      rc = wal_write_buffer(p);
      break;
    default:
      rc = wal_writer_sync(p);
      break;
  }
  return rc;
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

int wal_writer_close(wal_writer *p){
  int rc = LSM_OK, rc2;
  if( p == NULL ) return LSM_OK;
  if( p->rcPoison == LSM_OK ) rc = wal_write_buffer(p);
  rc2 = p->pEnv->xClose(p->pFile);
  if( rc == LSM_OK ) rc = rc2;
  env_free(p->pEnv, p->aBuf);
  env_free(p->pEnv, p->zPath);
  env_free(p->pEnv, p);
  return rc;
}

/* ---------------------------------------------------------------- */
/* Replay                                                            */
/* ---------------------------------------------------------------- */

/* Check the record at a[iOff] (iOff < n).  Length and type are checked
** before the checksum, and the length against the bytes that remain, so
** garbage never makes us read or allocate past the file. */
static int wal_check_record(const uint8_t *a, uint64_t n, uint64_t iOff,
                            uint64_t seed, wal_record *pRec){
  const uint8_t *pHdr = &a[iOff];
  uint32_t nPayload;
  int eType;
  if( n - iOff < WAL_RECORD_HEADER ) return WAL_RECORD_SHORT;
  nPayload = coding_get32(pHdr);
  eType = pHdr[4];
  if( nPayload > WAL_MAX_FRAGMENT ) return WAL_RECORD_BAD;
  if( eType < WAL_TYPE_FULL || eType > WAL_TYPE_LAST ) return WAL_RECORD_BAD;
  if( n - iOff - WAL_RECORD_HEADER < nPayload ) return WAL_RECORD_SHORT;
  if( checksum_compute2(pHdr, WAL_CHECKSUM_OFF, pHdr + WAL_RECORD_HEADER, nPayload, seed)
      != coding_get64(pHdr + WAL_CHECKSUM_OFF) ){
    return WAL_RECORD_BAD;
  }
  pRec->n = nPayload;
  pRec->eType = eType;
  pRec->seq = coding_get64(pHdr + 5);
  pRec->pPayload = pHdr + WAL_RECORD_HEADER;
  return WAL_RECORD_OK;
}

/* Offset of the first valid record after iOff, or 0 if there is none. */
static uint64_t wal_find_valid_after(const uint8_t *a, uint64_t n, uint64_t iOff, uint64_t seed){
  wal_record rec;
  uint64_t i;
  for(i = iOff + 1; i + WAL_RECORD_HEADER <= n; i++){
    if( wal_check_record(a, n, i, seed, &rec) == WAL_RECORD_OK ) return i;
  }
  return 0;
}

static int wal_all_zero(const uint8_t *a, uint64_t n){
  uint64_t i;
  for(i = 0; i < n; i++) if( a[i] ) return 0;
  return 1;
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

int wal_replay(lsm_env *pEnv, const char *zPath, int bNewest,
               int (*xRecord)(void *pCtx, uint64_t seq, const uint8_t *p, size_t n),
               void *pCtx, int *pbTorn){
  int rc;
  lsm_file *pFile = NULL;
  const uint8_t *a = NULL;
  uint64_t n = 0, iOff, iLastSeq = 0, seed, iBatchOff = 0;
  uint8_t *aAsm = NULL;          /* fragments of the batch being reassembled */
  size_t nAsm = 0, nAsmAlloc = 0;
  int bInBatch = 0;              /* a FIRST fragment was seen, no LAST yet  */
  uint64_t batchSeq = 0;
  const char *zWhy = NULL;       /* reason, for a bad record                */

  if( pbTorn ) *pbTorn = 0;
  rc = pEnv->xOpen(pEnv, zPath, LSM_OPEN_READ, &pFile);
  if( rc == LSM_OK ) rc = pEnv->xSize(pFile, &n);
  if( rc == LSM_OK && n > 0 ) rc = pEnv->xMap(pFile, &a, &n);
  if( rc != LSM_OK || n == 0 ) goto replay_done;

  /* The file header. */
  if( n < WAL_FILE_HEADER || (bNewest && wal_all_zero(a, n)) ){
    if( bNewest ){
      if( pbTorn ) *pbTorn = 1;
    }else{
      rc = LSM_CORRUPT_BKPT("%s: log of %llu bytes is shorter than its header",
                            zPath, (unsigned long long)n);
    }
    goto replay_done;
  }
  if( memcmp(a, WAL_MAGIC, 8) != 0 ){
    rc = LSM_CORRUPT_BKPT("%s: not a write-ahead log (bad magic)", zPath);
    goto replay_done;
  }
  if( coding_get32(a + 8) != WAL_VERSION ){
    rc = LSM_CORRUPT_BKPT("%s: unsupported log format version %u", zPath, coding_get32(a + 8));
    goto replay_done;
  }
  seed = CHECKSUM_SEED_WAL ^ coding_get32(a + 12);

  for(iOff = WAL_FILE_HEADER; iOff < n; ){
    wal_record rec;
    int eCheck = wal_check_record(a, n, iOff, seed, &rec);
    if( eCheck != WAL_RECORD_OK ){
      uint64_t iNext;
      zWhy = eCheck == WAL_RECORD_SHORT ? "record runs past the end of the file"
                                       : "bad length, type or checksum";
      if( !bNewest ){
        rc = LSM_CORRUPT_BKPT("%s: bad record at offset %llu in an older log (%s)",
                              zPath, (unsigned long long)iOff, zWhy);
        goto replay_done;
      }
      iNext = wal_find_valid_after(a, n, iOff, seed);
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
    if( rec.eType == WAL_TYPE_FULL || rec.eType == WAL_TYPE_FIRST ){
      if( bInBatch ) zWhy = "a new batch starts before the last one ended";
      else if( rec.seq < iLastSeq ) zWhy = "sequence number goes backwards";
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
      case WAL_TYPE_FIRST:
        bInBatch = 1;
        batchSeq = iLastSeq = rec.seq;
        iBatchOff = iOff;
        nAsm = 0;
        rc = wal_asm_append(pEnv, &aAsm, &nAsm, &nAsmAlloc, rec.pPayload, rec.n);
        break;
      default:
        rc = wal_asm_append(pEnv, &aAsm, &nAsm, &nAsmAlloc, rec.pPayload, rec.n);
        if( rc == LSM_OK && rec.eType == WAL_TYPE_LAST ){
          bInBatch = 0;
          rc = xRecord(pCtx, batchSeq, aAsm, nAsm);
        }
        break;
    }
    if( rc != LSM_OK ) goto replay_done;
    iOff += WAL_RECORD_HEADER + (uint64_t)rec.n;
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

replay_done:
  if( pFile ) pEnv->xClose(pFile);
  env_free(pEnv, aAsm);
  return rc;
}
