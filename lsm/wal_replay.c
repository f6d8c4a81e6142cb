/*
** wal_replay.c — reading logs back: the file header, record checks, the
** bounded scan past a damaged record, fragment reassembly and the
** prepared/commit pairing of two-phase commit.  The format is drawn in
** wal.c, the file that writes it; wal_format.h holds what both share.
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

/* ---------------------------------------------------------------- */
/* Replay                                                            */
/* ---------------------------------------------------------------- */

/* How the records of one log are framed. */
typedef struct wal_frame_fmt {
  uint64_t seed;            /* CHECKSUM_SEED_WAL ^ salt             */
  int bV1;                  /* version 1: no header check           */
  int bCompact;             /* version 4: 16-byte record headers    */
  int eMaxType;             /* the largest record type of its version */
  int bGroupMarks;          /* WAL_FLAG_GROUP_MARKS: writes end in GROUP_END */
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
  if( pFmt->bCompact ){
    uint32_t w = coding_get32(pHdr);
    nPayload = w & 0xffffff;
    eType = (int)(w >> 24);
  }else{
    nPayload = coding_get32(pHdr);
    eType = pHdr[4];
  }
  if( nPayload > WAL_MAX_FRAGMENT ) return WAL_RECORD_BAD;
  if( eType < WAL_TYPE_FULL || eType > pFmt->eMaxType ) return WAL_RECORD_BAD;
  if( pFmt->bV1 ){
    if( n - iOff - nHdr < nPayload ) return WAL_RECORD_SHORT;
    if( checksum_compute2(pHdr, WAL_V1_CHECKSUM_OFF, pHdr + nHdr, nPayload, pFmt->seed)
        != coding_get64(pHdr + WAL_V1_CHECKSUM_OFF) ){
      return WAL_RECORD_BAD;
    }
    pRec->seq = coding_get64(pHdr + 5);
  }else if( pFmt->bCompact ){
    if( (uint32_t)checksum_compute(pHdr, WAL_HDRCHECK_OFF, pFmt->seed)
        != coding_get32(pHdr + WAL_HDRCHECK_OFF) ){
      return WAL_RECORD_BAD;
    }
    if( n - iOff - nHdr < nPayload ) return WAL_RECORD_SHORT;
    if( (uint32_t)checksum_compute2(pHdr, WAL_CHECKSUM_OFF, pHdr + nHdr, nPayload, pFmt->seed)
        != coding_get32(pHdr + WAL_CHECKSUM_OFF) ){
      return WAL_RECORD_BAD;
    }
    pRec->seq = coding_get32(pHdr + 4);
  }else{
    if( (uint32_t)checksum_compute(pHdr, WAL_V3_HDRCHECK_OFF, pFmt->seed)
        != coding_get32(pHdr + WAL_V3_HDRCHECK_OFF) ){
      return WAL_RECORD_BAD;
    }
    if( n - iOff - nHdr < nPayload ) return WAL_RECORD_SHORT;
    if( checksum_compute2(pHdr, WAL_V3_CHECKSUM_OFF, pHdr + nHdr, nPayload, pFmt->seed)
        != coding_get64(pHdr + WAL_V3_CHECKSUM_OFF) ){
      return WAL_RECORD_BAD;
    }
    pRec->seq = coding_get64(pHdr + 5);
  }
  pRec->n = nPayload;
  pRec->eType = eType;
  pRec->pPayload = pHdr + nHdr;
  return WAL_RECORD_OK;
}

/*
** Version 4: turn a valid record's stored seq field into what versions
** 1-3 store (wal_record.seq): a seq is its offset plus the seq base
** *piBase; a PREPARED_FULL or PREPARED_FIRST record's prepare id is the
** first 8 bytes of its payload (taken off the payload here).  A
** SEQ_BASE record moves *piBase (*pbSkip: it carries no batch).  The
** reason for a record that breaks these rules, else NULL.
*/
static const char *wal_decode_compact(wal_record *pRec, uint64_t *piBase, int *pbSkip){
  *pbSkip = 0;
  switch( pRec->eType ){
    case WAL_TYPE_SEQ_BASE:
      if( pRec->n != WAL_SEQ_BASE_PAYLOAD || pRec->seq != 0 ) return "a malformed seq base record";
      *piBase = coding_get64(pRec->pPayload);
      *pbSkip = 1;
      return NULL;
    case WAL_TYPE_GROUP_END:
      if( pRec->n != 0 || pRec->seq != 0 ) return "a malformed group end record";
      *pbSkip = 1;
      return NULL;
    case WAL_TYPE_PREPARED_FULL:
    case WAL_TYPE_PREPARED_FIRST:
      if( pRec->n < WAL_PREPARE_ID_BYTES || pRec->seq != 0 ){
        return "a prepared record without its prepare id";
      }
      pRec->seq = coding_get64(pRec->pPayload);
      pRec->pPayload += WAL_PREPARE_ID_BYTES;
      pRec->n -= WAL_PREPARE_ID_BYTES;
      return NULL;
    case WAL_TYPE_MIDDLE:
    case WAL_TYPE_LAST:
      return NULL;      /* the field repeats the first fragment's, as stored */
    default:
      if( pRec->seq > UINT64_MAX - *piBase ) return "sequence number out of range";
      pRec->seq += *piBase;
      return NULL;
  }
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

/*
** A log with group marks, a bad record before iOff and a valid record at
** iOff: is there a valid record after a GROUP_END at or after iOff?  Then
** the bad record lies in a write that was synced whole before a later
** one began (corruption); else everything from the bad record on is the
** last write, which a crash may leave with any of its sectors missing
** (PREALLOCATED TAIL in wal.c).  The search steps over valid records and
** byte by byte over anything else.
*/
static int wal_valid_after_group_end(const uint8_t *a, uint64_t n, uint64_t iOff,
                                     const wal_frame_fmt *pFmt){
  int bEnded = 0;
  while( iOff && iOff < n ){
    wal_record rec;
    if( wal_check_record(a, n, iOff, pFmt, &rec) == WAL_RECORD_OK ){
      if( bEnded ) return 1;
      if( rec.eType == WAL_TYPE_GROUP_END ) bEnded = 1;
      iOff += pFmt->nRecordHeader + (uint64_t)rec.n;
    }else{
      iOff = wal_find_valid_after(a, n, iOff, pFmt);
    }
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
  if( iVersion != WAL_VERSION && iVersion != WAL_V3 && iVersion != WAL_V2
   && iVersion != WAL_V1 ){
    return LSM_CORRUPT_BKPT("%s: unsupported log format version %u", zPath, iVersion);
  }
  pFmt->bV1 = iVersion == WAL_V1;
  pFmt->bCompact = iVersion == WAL_VERSION;
  pFmt->eMaxType = iVersion == WAL_VERSION ? WAL_TYPE_SEQ_BASE
                 : iVersion == WAL_V3 ? WAL_TYPE_COMMIT : WAL_TYPE_LAST;
  pFmt->nFileHeader = pFmt->bV1 ? WAL_V1_FILE_HEADER : WAL_FILE_HEADER;
  pFmt->nRecordHeader = pFmt->bV1 ? WAL_V1_RECORD_HEADER
                      : pFmt->bCompact ? WAL_RECORD_HEADER : WAL_V3_RECORD_HEADER;
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
  if( (flags & ~(uint32_t)(WAL_FLAG_PREV_TORN | WAL_FLAG_GROUP_MARKS)) != 0
   || ((flags & WAL_FLAG_GROUP_MARKS) && iVersion != WAL_VERSION)
   || coding_get32(a + 52) != 0 ){
    return LSM_CORRUPT_BKPT("%s: unknown flags 0x%x in the log's file header", zPath, flags);
  }
  pHdr->iNumber = coding_get64(a + 16);
  pHdr->iPrevLog = coding_get64(a + 24);
  pHdr->iPrevNextSeq = coding_get64(a + 32);
  pHdr->iFirstSeq = coding_get64(a + 40);
  pHdr->bPrevTorn = (flags & WAL_FLAG_PREV_TORN) != 0;
  if( flags & WAL_FLAG_GROUP_MARKS ){
    pFmt->bGroupMarks = 1;
    pFmt->eMaxType = WAL_TYPE_GROUP_END;
  }
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
  uint64_t batchField = 0;       /* its first fragment's seq field, as stored */
  uint64_t iSeqBase = 0;         /* version 4: seq fields are offsets from it */
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
  iSeqBase = hdr.iFirstSeq;

  for(iOff = fmt.nFileHeader; iOff < n; ){
    wal_record rec;
    int eCheck = wal_check_record(a, n, iOff, &fmt, &rec);
    int bStart;                  /* not MIDDLE or LAST: starts an entry     */
    int bPrepared;               /* PREPARED_FULL or PREPARED_FIRST         */
    int bSkip = 0;               /* a SEQ_BASE record: no batch             */
    uint64_t iField;             /* the seq field as stored                 */
    uint64_t iNextOff;           /* where the next record starts            */
    if( eCheck != WAL_RECORD_OK ){
      uint64_t iNext;
      if( wal_all_zero(a + iOff, n - iOff) ){
        /* Zeros written ahead of the appends (LSM_OPEN_PREALLOC) and not
        ** cut off by a close: the log's clean end, in any log.  No record
        ** header is all zeros (type 0 is no type). */
        break;
      }
      zWhy = eCheck == WAL_RECORD_SHORT ? "record runs past the end of the file"
                                       : "bad length, type or checksum";
      if( !bNewest ){
        rc = LSM_CORRUPT_BKPT("%s: bad record at offset %llu in an older log (%s)",
                              zPath, (unsigned long long)iOff, zWhy);
        goto replay_done;
      }
      iNext = wal_find_valid_after(a, n, iOff, &fmt);
      if( iNext && fmt.bGroupMarks && !wal_valid_after_group_end(a, n, iNext, &fmt) ){
        iNext = 0;                   /* only the rest of the last write */
      }
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

    /* A valid record: decode it and check its place in the sequence of
    ** records. */
    iField = rec.seq;
    iNextOff = iOff + fmt.nRecordHeader + (uint64_t)rec.n;
    zWhy = NULL;
    if( fmt.bCompact ){
      if( bInBatch && (rec.eType == WAL_TYPE_SEQ_BASE || rec.eType == WAL_TYPE_GROUP_END) ){
        zWhy = "a new batch starts before the last one ended";
      }else{
        zWhy = wal_decode_compact(&rec, &iSeqBase, &bSkip);
      }
      if( zWhy ){
        rc = LSM_CORRUPT_BKPT("%s: bad record at offset %llu (%s)", zPath,
                              (unsigned long long)iOff, zWhy);
        goto replay_done;
      }
      if( bSkip ){
        iOff = iNextOff;
        continue;
      }
    }
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
      else if( iField != batchField ) zWhy = "a batch fragment with another batch's seq";
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
        batchField = iField;
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
    iOff = iNextOff;
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
