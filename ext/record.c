/*
** record.c — the value columns of one row, as one record (the engine's
** value), each column keeping its exact SQLite storage class.
**
** Usage (what it makes true):
**
**     CREATE VIRTUAL TABLE users USING lsm(id, name, score, photo);
**     INSERT INTO users VALUES (1.0, 'ann', -0.0, x'');
**     SELECT typeof(id), id, typeof(score), score, typeof(photo)
**       FROM users;                 -- real, 1.0, real, -0.0, blob
**
** A record holds the value columns (every column but the key) and one
** flag byte that gives the key back as it was last written: the key
** encoding (keycodec.c) folds 1 and 1.0, and -0.0 into 0, so a row whose
** key was written as 1.0 or -0.0 records that here.
**
** Format, byte by byte
** --------------------
**
**   +-------+-----------+--------------------------+----------------------+
**   | flags | varint    | nHdr bytes: one varint   | body: each column's  |
**   | 1 byte| nHdr      | serial type per column   | bytes, column order  |
**   +-------+-----------+--------------------------+----------------------+
**
**   flags   0x00  the key is as keycodec_decode gives it
**           0x01  the key was written as a REAL (1.0 rather than 1)
**           0x02  the key was written as the REAL -0.0
**           other values are reserved (SQLITE_CORRUPT)
**   nHdr    length in bytes of the serial-type list that follows, so the
**           body starts at 1 + len(varint nHdr) + nHdr
**
**   serial type  storage class   body bytes
**   0            NULL            0
**   1            INTEGER 0       0
**   2            INTEGER 1       0
**   3..12        INTEGER         t-2 (1..10): zigzag varint of the value
**                                (v<<1 ^ v>>63), exactly t-2 bytes long
**   13           REAL            8: IEEE-754 bits, little-endian
**                                (-0.0, +-Inf kept; NaN never stored)
**   14+2n        BLOB            n (14 is the empty blob, unlike NULL)
**   15+2n        TEXT            n bytes of UTF-8
**
** Varints and fixed-width integers are coding.h's (LEB128, little-endian):
** ext/ uses that one header so that no integer coding is written twice.
** A record with fewer columns than the table reads the missing ones as
** NULL (so a column added later needs no rewrite).
**
** Example: key 1.0, columns ('red', 7, NULL, x'')
**     01          flags: key written as REAL
**     04          nHdr = 4
**     15 03 00 0e serial types: TEXT(3) = 15+2*3 = 21 = 0x15,
**                 INTEGER in 1 byte = 3, NULL = 0, empty BLOB = 14 = 0x0e
**     72 65 64    'red'
**     0e          zigzag(7) = 14
** 11 bytes in all.
**
** Reading column i walks the first i+1 serial types (a few varints, no
** allocation) and checks every length against the record's end: a
** malformed record gives SQLITE_CORRUPT, never a read past the buffer.
*/
#include "ext.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "coding.h"

#define RECORD_KEY_AS_DECODED  0x00   /* flags: key as keycodec gives it  */
#define RECORD_KEY_REAL        0x01   /* flags: key written as REAL       */
#define RECORD_KEY_NEG_ZERO    0x02   /* flags: key written as -0.0       */

#define RECORD_NULL      0
#define RECORD_ZERO      1
#define RECORD_ONE       2
#define RECORD_INT_MIN   3            /* INTEGER of 1 body byte           */
#define RECORD_INT_MAX   12           /* INTEGER of 10 body bytes         */
#define RECORD_REAL      13
#define RECORD_BLOB      14           /* 14 + 2n: BLOB; 15 + 2n: TEXT     */

/* ---- static helpers ---- */

static uint64_t record_zigzag(sqlite3_int64 v){
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static sqlite3_int64 record_unzigzag(uint64_t u){
  return (sqlite3_int64)((u >> 1) ^ (~(u & 1) + 1));
}

/* Body bytes of serial type t (every t is a serial type: NULL, 0 and 1
** have no body; every t above RECORD_REAL is a BLOB or a TEXT). */
static uint64_t record_serial_size(uint64_t t){
  if( t < RECORD_INT_MIN ) return 0;
  if( t <= RECORD_INT_MAX ) return t - 2;
  if( t == RECORD_REAL ) return 8;
  return (t - RECORD_BLOB) / 2;
}

/*
** Serial type and body size of value v.  TEXT is converted to UTF-8 here
** (so that its byte count is the UTF-8 one); a BLOB is only measured, so
** a huge zeroblob is refused before SQLite expands it.  SQLITE_NOMEM if
** SQLite could not convert, SQLITE_TOOBIG over LSM_MAX_VALUE.
*/
static int record_serial_type(sqlite3_value *v, uint64_t *pT, uint64_t *pnBody){
  uint64_t n;
  switch( sqlite3_value_type(v) ){
    case SQLITE_INTEGER: {
      sqlite3_int64 i = sqlite3_value_int64(v);
      if( i == 0 || i == 1 ){
        *pT = i ? RECORD_ONE : RECORD_ZERO;
        *pnBody = 0;
      }else{
        *pnBody = (uint64_t)coding_varint_len(record_zigzag(i));
        *pT = *pnBody + 2;
      }
      return SQLITE_OK;
    }
    case SQLITE_FLOAT:
      *pT = RECORD_REAL;
      *pnBody = 8;
      return SQLITE_OK;
    case SQLITE_TEXT:
      if( sqlite3_value_text(v) == NULL ) return SQLITE_NOMEM;
      n = (uint64_t)sqlite3_value_bytes(v);
      if( n > LSM_MAX_VALUE ) return SQLITE_TOOBIG;
      *pT = RECORD_BLOB + 2 * n + 1;
      *pnBody = n;
      return SQLITE_OK;
    case SQLITE_BLOB:
      n = (uint64_t)sqlite3_value_bytes(v);
      if( n > LSM_MAX_VALUE ) return SQLITE_TOOBIG;
      *pT = RECORD_BLOB + 2 * n;
      *pnBody = n;
      return SQLITE_OK;
    default:
      *pT = RECORD_NULL;
      *pnBody = 0;
      return SQLITE_OK;
  }
}

/* The flag byte for key pKey (NULL pointer: no key information). */
static uint8_t record_key_flags(sqlite3_value *pKey){
  double d;
  if( pKey == NULL || sqlite3_value_type(pKey) != SQLITE_FLOAT ) return RECORD_KEY_AS_DECODED;
  d = sqlite3_value_double(pKey);
  return (d == 0.0 && signbit(d)) ? RECORD_KEY_NEG_ZERO : RECORD_KEY_REAL;
}

/* The varint at p (before pEnd) into *pV, or NULL if truncated: a
** record's header length and serial types are one or two bytes for every
** column of up to 8 KiB, read here without coding_get_varint64's loop
** (xColumn reads them for every row of a scan). */
static inline const uint8_t *record_get_varint(const uint8_t *p, const uint8_t *pEnd,
                                               uint64_t *pV){
  if( p < pEnd && p[0] < 0x80 ){ *pV = p[0]; return p + 1; }
  if( pEnd - p >= 2 && p[1] < 0x80 ){
    *pV = (uint64_t)(p[0] & 0x7f) | ((uint64_t)p[1] << 7);
    return p + 2;
  }
  return coding_get_varint64(p, pEnd, pV);
}

/* Read flags and the header bounds; SQLITE_CORRUPT if they are bad. */
static inline int record_open(const uint8_t *pRec, size_t nRec, uint8_t *pFlags,
                              const uint8_t **ppHdr, const uint8_t **ppBody){
  const uint8_t *pEnd = pRec + nRec;
  const uint8_t *p;
  uint64_t nHdr;
  if( pRec == NULL || nRec < 2 ) return SQLITE_CORRUPT;
  if( pRec[0] > RECORD_KEY_NEG_ZERO ) return SQLITE_CORRUPT;
  p = record_get_varint(pRec + 1, pEnd, &nHdr);
  if( p == NULL || nHdr > (uint64_t)(pEnd - p) ) return SQLITE_CORRUPT;
  *pFlags = pRec[0];
  *ppHdr = p;
  *ppBody = p + nHdr;
  return SQLITE_OK;
}

/* ---- public functions ---- */

/* Serial types and body sizes of this many value columns are kept on the
** stack by record_encode's first pass for the two passes after it (each
** record_serial_type is several calls through sqlite3_api: about 150
** instructions per put of one value column); columns past it are typed
** again. */
#define RECORD_TYPES_KEPT 16

int record_encode(sqlite3_value *pKey, sqlite3_value **apVal, int nVal, ext_buf *pOut){
  uint64_t nHdr = 0, nBody = 0, nTotal;
  uint64_t t, n;
  uint64_t aT[RECORD_TYPES_KEPT], aN[RECORD_TYPES_KEPT];
  uint8_t *p;
  int i, rc;

  /* Pass 1: sizes, so that the record is refused or allocated once. */
  for(i = 0; i < nVal; i++){
    rc = record_serial_type(apVal[i], &t, &n);
    if( rc != SQLITE_OK ) return rc;
    if( i < RECORD_TYPES_KEPT ){
      aT[i] = t;
      aN[i] = n;
    }
    nHdr += (uint64_t)coding_varint_len(t);
    nBody += n;
    if( nBody > LSM_MAX_VALUE ) return SQLITE_TOOBIG;
  }
  nTotal = 1 + (uint64_t)coding_varint_len(nHdr) + nHdr + nBody;
  if( nTotal > LSM_MAX_VALUE ) return SQLITE_TOOBIG;
  rc = ext_buf_reserve(pOut, (size_t)nTotal);
  if( rc != SQLITE_OK ) return rc;

  /* Pass 2: flags, header, then body, written in place after pOut->n; a
  ** failure part way leaves pOut->n (the visible content) unchanged. */
  p = pOut->p + pOut->n;
  *p++ = record_key_flags(pKey);
  p = coding_put_varint(p, nHdr);
  for(i = 0; i < nVal; i++){
    if( i < RECORD_TYPES_KEPT ){
      t = aT[i];
    }else{
      record_serial_type(apVal[i], &t, &n);   /* cannot fail: done in pass 1 */
    }
    p = coding_put_varint(p, t);
  }
  for(i = 0; i < nVal; i++){
    sqlite3_value *v = apVal[i];
    if( i < RECORD_TYPES_KEPT ){
      t = aT[i];
      n = aN[i];
    }else{
      record_serial_type(v, &t, &n);
    }
    if( t >= RECORD_INT_MIN && t <= RECORD_INT_MAX ){
      p = coding_put_varint(p, record_zigzag(sqlite3_value_int64(v)));
    }else if( t == RECORD_REAL ){
      double d = sqlite3_value_double(v);
      uint64_t u;
      memcpy(&u, &d, sizeof(u));
      p = coding_put64(p, u);
    }else if( n > 0 ){
      const void *pData = (t & 1) ? (const void*)sqlite3_value_text(v) : sqlite3_value_blob(v);
      if( pData == NULL ) return SQLITE_NOMEM;   /* a zeroblob could not expand */
      memcpy(p, pData, (size_t)n);
      p += n;
    }
  }
  assert( (uint64_t)(p - (pOut->p + pOut->n)) == nTotal );
  pOut->n += (size_t)nTotal;
  return SQLITE_OK;
}

/*
** The first value column when it is a BLOB or a TEXT whose header length
** is one byte and whose serial type is one or two (every column of up to
** 8,184 bytes): the one column of a key-value table, read on every row of
** a scan.  Handed to SQLite here in a few tests, where record_column's
** general walk cost about 95 instructions.  Returns 0, having done
** nothing, for anything else (another type, a longer header, a record
** that is malformed): record_column's general path then decides, so
** both give the same result for every record.
*/
static inline int record_first_blob_or_text(const uint8_t *pRec, size_t nRec,
                                            sqlite3_context *ctx){
  size_t nHdr, n;
  uint64_t t;
  if( nRec < 3 || pRec[0] > RECORD_KEY_NEG_ZERO || pRec[1] >= 0x80 ) return 0;
  nHdr = pRec[1];
  if( nHdr > nRec - 2 ) return 0;
  if( nHdr >= 1 && pRec[2] < 0x80 ){
    t = pRec[2];
  }else if( nHdr >= 2 && pRec[3] < 0x80 ){
    t = (uint64_t)(pRec[2] & 0x7f) | ((uint64_t)pRec[3] << 7);
  }else{
    return 0;
  }
  if( t < RECORD_BLOB ) return 0;
  n = (size_t)((t - RECORD_BLOB) / 2);        /* at most 8,184: an int */
  if( n > nRec - 2 - nHdr ) return 0;
  if( t & 1 ){
    sqlite3_result_text(ctx, (const char*)pRec + 2 + nHdr, (int)n, SQLITE_TRANSIENT);
  }else{
    sqlite3_result_blob(ctx, pRec + 2 + nHdr, (int)n, SQLITE_TRANSIENT);
  }
  return 1;
}

int record_column(const uint8_t *pRec, size_t nRec, int iCol, sqlite3_context *ctx){
  const uint8_t *pEnd = pRec + nRec;
  const uint8_t *pHdr, *pHdrEnd, *pBody;
  uint8_t flags;
  uint64_t t = RECORD_NULL, n = 0;
  int i, rc;

  if( iCol == 0 && pRec != NULL && record_first_blob_or_text(pRec, nRec, ctx) ) return SQLITE_OK;
  if( iCol < 0 ) return SQLITE_MISUSE;
  rc = record_open(pRec, nRec, &flags, &pHdr, &pBody);
  if( rc != SQLITE_OK ) return rc;
  pHdrEnd = pBody;
  for(i = 0; i <= iCol; i++){
    if( pHdr == pHdrEnd ){                /* fewer columns: NULL */
      sqlite3_result_null(ctx);
      return SQLITE_OK;
    }
    if( i > 0 ) pBody += n;               /* skip column i-1 */
    pHdr = record_get_varint(pHdr, pHdrEnd, &t);
    if( pHdr == NULL ) return SQLITE_CORRUPT;
    n = record_serial_size(t);
    if( n > (uint64_t)(pEnd - pBody) ) return SQLITE_CORRUPT;
  }

  switch( t ){
    case RECORD_NULL: sqlite3_result_null(ctx); break;
    case RECORD_ZERO: sqlite3_result_int64(ctx, 0); break;
    case RECORD_ONE:  sqlite3_result_int64(ctx, 1); break;
    case RECORD_REAL: {
      uint64_t u = coding_get64(pBody);
      double d;
      memcpy(&d, &u, sizeof(d));
      if( isnan(d) ) return SQLITE_CORRUPT;
      sqlite3_result_double(ctx, d);
      break;
    }
    default:
      if( t <= RECORD_INT_MAX ){
        uint64_t u = 0;
        if( coding_get_varint64(pBody, pBody + n, &u) != pBody + n ) return SQLITE_CORRUPT;
        sqlite3_result_int64(ctx, record_unzigzag(u));
      }else if( n > LSM_MAX_VALUE ){
        return SQLITE_CORRUPT;
      }else if( t & 1 ){
        /* pBody is never NULL, so an empty text is '' and not NULL.
        ** n <= LSM_MAX_VALUE fits an int: the 32-bit calls, which skip
        ** the 64-bit ones' size test. */
        sqlite3_result_text(ctx, (const char*)pBody, (int)n, SQLITE_TRANSIENT);
      }else{
        sqlite3_result_blob(ctx, pBody, (int)n, SQLITE_TRANSIENT);
      }
      break;
  }
  return SQLITE_OK;
}

/* Column after column of a record: its serial type and body. */
typedef struct record_walk {
  const uint8_t *pHdr;   /* next serial type */
  const uint8_t *pHdrEnd;/* end of the serial types: the body's start */
  const uint8_t *pBody;  /* next column's body */
  const uint8_t *pEnd;   /* end of the record */
} record_walk;

static int record_walk_begin(record_walk *pW, const uint8_t *pRec, size_t nRec){
  uint8_t flags;
  int rc = record_open(pRec, nRec, &flags, &pW->pHdr, &pW->pBody);
  pW->pHdrEnd = pW->pBody;
  pW->pEnd = pRec + nRec;
  return rc;
}

/* The next column's serial type and body; past the last column, NULL
** (a record with fewer columns than the table). */
static int record_walk_next(record_walk *pW, uint64_t *pT, const uint8_t **ppBody,
                            uint64_t *pnBody){
  if( pW->pHdr == pW->pHdrEnd ){
    *pT = RECORD_NULL;
    *ppBody = pW->pBody;
    *pnBody = 0;
    return SQLITE_OK;
  }
  pW->pHdr = record_get_varint(pW->pHdr, pW->pHdrEnd, pT);
  if( pW->pHdr == NULL ) return SQLITE_CORRUPT;
  *pnBody = record_serial_size(*pT);
  if( *pnBody > (uint64_t)(pW->pEnd - pW->pBody) ) return SQLITE_CORRUPT;
  *ppBody = pW->pBody;
  pW->pBody += *pnBody;
  return SQLITE_OK;
}

int record_merge(const uint8_t *pNew, size_t nNew, const uint8_t *pCur, size_t nCur,
                 const uint8_t *abKeep, int nVal, ext_buf *pOut){
  record_walk wNew, wCur;
  uint64_t nHdr = 0, nBody = 0, nTotal, t, n;
  const uint8_t *pBody;
  uint8_t *p;
  int i, rc;

  /* Pass 1: sizes (both records' columns are checked against their ends). */
  rc = record_walk_begin(&wNew, pNew, nNew);
  if( rc == SQLITE_OK ) rc = record_walk_begin(&wCur, pCur, nCur);
  for(i = 0; rc == SQLITE_OK && i < nVal; i++){
    uint64_t tCur, nCurBody;
    const uint8_t *pCurBody;
    rc = record_walk_next(&wNew, &t, &pBody, &n);
    if( rc == SQLITE_OK ) rc = record_walk_next(&wCur, &tCur, &pCurBody, &nCurBody);
    if( rc == SQLITE_OK && abKeep[i] ){
      t = tCur;
      n = nCurBody;
    }
    nHdr += (uint64_t)coding_varint_len(t);
    nBody += n;
  }
  if( rc != SQLITE_OK ) return rc;
  nTotal = 1 + (uint64_t)coding_varint_len(nHdr) + nHdr + nBody;
  if( nTotal > LSM_MAX_VALUE ) return SQLITE_TOOBIG;
  rc = ext_buf_reserve(pOut, (size_t)nTotal);
  if( rc != SQLITE_OK ) return rc;

  /* Pass 2: the new record's flags (the key as this UPDATE writes it),
  ** then the serial types, then the bodies, each from its source. */
  p = pOut->p + pOut->n;
  *p++ = pNew[0];
  p = coding_put_varint(p, nHdr);
  record_walk_begin(&wNew, pNew, nNew);
  record_walk_begin(&wCur, pCur, nCur);
  for(i = 0; i < nVal; i++){
    uint64_t tCur, nCurBody;
    const uint8_t *pCurBody;
    record_walk_next(&wNew, &t, &pBody, &n);           /* checked in pass 1 */
    record_walk_next(&wCur, &tCur, &pCurBody, &nCurBody);
    p = coding_put_varint(p, abKeep[i] ? tCur : t);
  }
  record_walk_begin(&wNew, pNew, nNew);
  record_walk_begin(&wCur, pCur, nCur);
  for(i = 0; i < nVal; i++){
    uint64_t tCur, nCurBody;
    const uint8_t *pCurBody;
    record_walk_next(&wNew, &t, &pBody, &n);
    record_walk_next(&wCur, &tCur, &pCurBody, &nCurBody);
    if( abKeep[i] ){
      pBody = pCurBody;
      n = nCurBody;
    }
    if( n > 0 ) memcpy(p, pBody, (size_t)n);
    p += n;
  }
  assert( (uint64_t)(p - (pOut->p + pOut->n)) == nTotal );
  pOut->n += (size_t)nTotal;
  return SQLITE_OK;
}

int record_key(const uint8_t *pKey, size_t nKey, const uint8_t *pRec, size_t nRec,
               sqlite3_context *ctx){
  const uint8_t *pHdr, *pBody;
  uint8_t flags;
  keycodec_value v;
  int rc;

  rc = record_open(pRec, nRec, &flags, &pHdr, &pBody);
  if( rc == SQLITE_OK ) rc = keycodec_parse(pKey, nKey, &v);
  if( rc != SQLITE_OK ) return rc;
  if( flags == RECORD_KEY_AS_DECODED ) return keycodec_decode(pKey, nKey, ctx);
  /* Written as a REAL: the key must be a number a double holds exactly. */
  if( (v.eType != SQLITE_INTEGER && v.eType != SQLITE_FLOAT) || !v.bExact ){
    return SQLITE_CORRUPT;
  }
  if( flags == RECORD_KEY_NEG_ZERO ){
    if( v.rVal != 0.0 ) return SQLITE_CORRUPT;
    sqlite3_result_double(ctx, -0.0);
  }else{
    sqlite3_result_double(ctx, v.rVal);
  }
  return SQLITE_OK;
}
