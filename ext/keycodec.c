/*
** keycodec.c — order-preserving byte encoding of SQLite key values.
**
** Usage (what it makes true):
**
**     CREATE VIRTUAL TABLE kv USING lsm;
**     INSERT INTO kv VALUES (2, 'a'), (1.5, 'b'), ('x', 'c'), (x'00', 'd');
**     SELECT key FROM kv ORDER BY key;      -- 1.5, 2, 'x', x'00'
**     INSERT INTO kv VALUES (2.0, 'e');     -- overwrites key 2: 2 == 2.0
**
** The engine compares keys with memcmp (a shorter key that is a prefix of
** a longer one sorts first).  This file turns a SQLite value into bytes
** whose memcmp order is exactly SQLite's BINARY order of the values:
** numbers (INTEGER and REAL compared by exact value, as SQLite compares an
** integer with a double) < TEXT (memcmp of the UTF-8 bytes) < BLOB
** (memcmp).  Equal values encode to equal bytes, so 1 and 1.0 are one key.
**
** Encoding, byte by byte
** ----------------------
**
**   NUMBER   0x10 | D7 D6 D5 D4 D3 D2 D1 D0 | [S1 S0]
**   TEXT     0x20 | the UTF-8 bytes (any length, NULs included)
**   BLOB     0x30 | the bytes
**
** The type byte separates the three classes, so a text key never needs
** escaping: two text keys differ only after the common 0x20, where memcmp
** of the rest is memcmp of the strings, a shorter prefix first; likewise
** for blobs.
**
** D7..D0 is a double d, big-endian, in "order-preserving bits": take the
** IEEE-754 bits of d (after turning -0.0 into +0.0); if the sign bit is
** clear, set it; if it is set, invert all 64 bits.  Unsigned order of the
** result is numeric order of the doubles, -Inf lowest, +Inf highest.
** (NaN never reaches a key: SQLite turns NaN into NULL.)
**
** A REAL key is its own d with no suffix.  An INTEGER key i that a double
** represents exactly (every |i| <= 2^53, and larger ones with enough
** trailing zero bits) is encoded as that double, so 1 and 1.0 give the
** same 9 bytes.  Any other integer lies strictly between two adjacent
** doubles lo < i < hi; it is encoded as d = lo followed by the 2-byte
** big-endian suffix S = i - lo (1 <= S < hi - lo <= 2048).  Then
**   - lo's 9 bytes are a prefix of i's 11 bytes, so lo < i;
**   - hi's 8 bytes are greater than lo's, so i < hi;
**   - integers sharing lo order by S.
** So every number orders by exact value, and nothing else shares lo's
** bytes.  Each value has exactly one encoding; the decoder rejects others.
**
** Examples (hex):
**   -Inf                     10 00 0f ff ff ff ff ff ff
**   -1                       10 40 0f ff ff ff ff ff ff
**   0, 0.0, -0.0             10 80 00 00 00 00 00 00 00
**   1, 1.0                   10 bf f0 00 00 00 00 00 00
**   1.5                      10 bf f8 00 00 00 00 00 00
**   2^53   = 9007199254740992  10 c3 40 00 00 00 00 00 00
**   2^53+1 = 9007199254740993  10 c3 40 00 00 00 00 00 00 00 01
**   2^53+2 = 9007199254740994  10 c3 40 00 00 00 00 00 01
**   2^63-1 (INT64_MAX)       10 c3 df ff ff ff ff ff ff 03 ff
**   2^63 = 9.223372036854775808e18 (REAL)
**                            10 c3 e0 00 00 00 00 00 00
**   +Inf                     10 ff f0 00 00 00 00 00 00
**   ''                       20
**   'ab'                     20 61 62
**   x''                      30
**   x'00ff'                  30 00 ff
**
** Decoding gives an INTEGER when the value is integral and fits in 64
** bits, else a REAL.  The key as written (1.0 rather than 1, -0.0) is kept
** by record.c.
**
** Limits: EXT_MAX_KEY_BYTES counts the key's own bytes (text or blob length, 8
** for a number); the encoding adds the type byte, so an encoded key is at
** most KEYCODEC_MAX_ENCODED bytes.
**
** A range bound longer than any key (text or blob over the limit, which a
** native table compares like any value) is cut to its prefix B' of
** EXT_MAX_KEY_BYTES bytes (keycodec_encode_bound), so that it encodes to
** E(B') = the first KEYCODEC_MAX_ENCODED bytes of E(B).  For every stored
** key k, E(k) is at most KEYCODEC_MAX_ENCODED bytes, shorter than E(B), so:
**   - E(k) < E(B') (a smaller byte at the first difference, or a proper
**     prefix of E(B')): E(k) < E(B) for the same reason, so k < B;
**   - E(k) = E(B'): a proper prefix of E(B), so k < B;
**   - E(k) > E(B'): a larger byte at the first difference, which lies
**     within E(B') (E(B') cannot be a proper prefix of the no longer
**     E(k)), where E(B) has the same bytes: k > B.
** So k < B exactly when k <= B', k > B exactly when k > B', and k = B
** never: key < B and key <= B scan up to B' inclusive, key > B and
** key >= B from B' exclusive, and nothing else needs checking (plan.c).
**
** Text is encoded as UTF-8.  In a UTF-16 database, SQLite's BINARY order
** is memcmp of UTF-16 bytes, which differs from UTF-8 order for some
** characters; lsm keys always order by UTF-8 bytes.
**
** Big-endian bytes are written here rather than with coding.h, which is
** the engine's little-endian on-disk coding: memcmp order needs the most
** significant byte first.
*/
#include "ext.h"

#include <math.h>
#include <string.h>

/* The type bytes KEYCODEC_NUMBER, _TEXT and _BLOB are in ext.h. */

#define KEYCODEC_NUMBER_SIZE  9    /* type byte + 8 bytes of double      */
#define KEYCODEC_SUFFIX_SIZE  2    /* integer tie-breaking suffix        */

#define TWO_POW_53  9007199254740992.0
#define TWO_POW_63  9223372036854775808.0

/* ---- order-preserving doubles ---- */

/* The order-preserving bits of d.  REQUIRES: d is not NaN. */
static uint64_t keycodec_sortable(double d){
  uint64_t u;
  if( d == 0.0 ) d = 0.0;                 /* -0.0 and +0.0 are one key */
  memcpy(&u, &d, sizeof(u));
  return (u >> 63) ? ~u : (u | ((uint64_t)1 << 63));
}

/* Inverse of keycodec_sortable. */
static double keycodec_unsortable(uint64_t u){
  double d;
  u = (u >> 63) ? (u & ~((uint64_t)1 << 63)) : ~u;
  memcpy(&d, &u, sizeof(d));
  return d;
}

static void keycodec_put_be(uint8_t *p, uint64_t v, int nByte){
  int i;
  for(i = nByte - 1; i >= 0; i--){ p[i] = (uint8_t)v; v >>= 8; }
}

static uint64_t keycodec_get_be(const uint8_t *p, int nByte){
  uint64_t v = 0;
  int i;
  for(i = 0; i < nByte; i++) v = (v << 8) | p[i];
  return v;
}

/*
** Write the encoding of the integer i to a (at least 11 bytes) and return
** its length: 9 if a double is exactly i, else 11 (lo and the suffix).
*/
static int keycodec_put_int(uint8_t *a, sqlite3_int64 i){
  double d = (double)i;                   /* nearest double, either side */
  uint64_t u;
  a[0] = KEYCODEC_NUMBER;
  if( d < TWO_POW_63 && (sqlite3_int64)d == i ){
    keycodec_put_be(a + 1, keycodec_sortable(d), 8);
    return KEYCODEC_NUMBER_SIZE;
  }
  /* |i| > 2^53 here, so d is a nonzero integral double. */
  u = keycodec_sortable(d);
  if( d >= TWO_POW_63 || (sqlite3_int64)d > i ){
    u -= 1;                               /* the next double down is lo */
    d = keycodec_unsortable(u);
  }
  keycodec_put_be(a + 1, u, 8);
  keycodec_put_be(a + KEYCODEC_NUMBER_SIZE,
                  (uint64_t)i - (uint64_t)(sqlite3_int64)d, KEYCODEC_SUFFIX_SIZE);
  return KEYCODEC_NUMBER_SIZE + KEYCODEC_SUFFIX_SIZE;
}

static int keycodec_put_double(uint8_t *a, double d){
  a[0] = KEYCODEC_NUMBER;
  keycodec_put_be(a + 1, keycodec_sortable(d), 8);
  return KEYCODEC_NUMBER_SIZE;
}

/* True if d is integral and inside [-2^63, 2^63). */
static int keycodec_fits_int64(double d){
  return d >= -TWO_POW_63 && d < TWO_POW_63 && d == floor(d);
}

/* ---- public functions ---- */

/* keycodec_encode, and keycodec_encode_bound when pbCut is not NULL. */
static int keycodec_encode_value(sqlite3_value *pKey, ext_buf *pOut, int *pbCut){
  uint8_t a[KEYCODEC_NUMBER_SIZE + KEYCODEC_SUFFIX_SIZE];
  const void *pData;
  size_t nData;
  int rc;
  switch( sqlite3_value_type(pKey) ){
    case SQLITE_INTEGER:
      return ext_buf_append(pOut, a, (size_t)keycodec_put_int(a, sqlite3_value_int64(pKey)));
    case SQLITE_FLOAT: {
      double d = sqlite3_value_double(pKey);
      if( isnan(d) ) return SQLITE_CONSTRAINT;  /* unreachable: SQLite makes NaN NULL */
      return ext_buf_append(pOut, a, (size_t)keycodec_put_double(a, d));
    }
    case SQLITE_TEXT:
      /* sqlite3_value_bytes converts a UTF-16 value to UTF-8 in place (and
      ** leaves a UTF-8 one alone); sqlite3_value_blob then hands over
      ** those bytes as they are.  sqlite3_value_text would also
      ** NUL-terminate them, which for text bound with a length (the usual
      ** sqlite3_bind_text of a key) copies it into a new allocation. */
      a[0] = KEYCODEC_TEXT;
      nData = (size_t)sqlite3_value_bytes(pKey);
      pData = nData > EXT_MAX_KEY_BYTES && pbCut == 0 ? 0 : sqlite3_value_blob(pKey);
      break;
    case SQLITE_BLOB:                     /* size first: a zeroblob expands */
      a[0] = KEYCODEC_BLOB;
      nData = (size_t)sqlite3_value_bytes(pKey);
      pData = nData > EXT_MAX_KEY_BYTES && pbCut == 0 ? 0 : sqlite3_value_blob(pKey);
      break;
    default:
      return SQLITE_CONSTRAINT;
  }
  if( nData > EXT_MAX_KEY_BYTES ){
    if( pbCut == 0 ) return SQLITE_TOOBIG;
    nData = EXT_MAX_KEY_BYTES;           /* the bound's prefix (header: bounds) */
    *pbCut = 1;
  }
  if( pData == NULL && nData > 0 ) return SQLITE_NOMEM;
  rc = ext_buf_reserve(pOut, 1 + nData);
  if( rc == SQLITE_OK ) rc = ext_buf_append(pOut, a, 1);
  if( rc == SQLITE_OK ) rc = ext_buf_append(pOut, pData, nData);
  return rc;
}

int keycodec_encode(sqlite3_value *pKey, ext_buf *pOut){
  return keycodec_encode_value(pKey, pOut, 0);
}

int keycodec_encode_bound(sqlite3_value *pBound, ext_buf *pOut, int *pbCut){
  *pbCut = 0;
  return keycodec_encode_value(pBound, pOut, pbCut);
}

int keycodec_parse(const uint8_t *p, size_t n, keycodec_value *pVal){
  memset(pVal, 0, sizeof(*pVal));
  if( n == 0 ) return SQLITE_CORRUPT;
  switch( p[0] ){
    case KEYCODEC_TEXT:
    case KEYCODEC_BLOB:
      pVal->eType = p[0] == KEYCODEC_TEXT ? SQLITE_TEXT : SQLITE_BLOB;
      pVal->p = p + 1;
      pVal->n = n - 1;
      return SQLITE_OK;
    case KEYCODEC_NUMBER:
      break;
    default:
      return SQLITE_CORRUPT;
  }
  if( n == KEYCODEC_NUMBER_SIZE ){
    uint64_t u = keycodec_get_be(p + 1, 8);
    double d = keycodec_unsortable(u);
    if( isnan(d) || keycodec_sortable(d) != u ) return SQLITE_CORRUPT;  /* NaN or -0.0 */
    pVal->rVal = d;
    pVal->bExact = 1;
    if( keycodec_fits_int64(d) ){
      pVal->eType = SQLITE_INTEGER;
      pVal->iVal = (sqlite3_int64)d;
    }else{
      pVal->eType = SQLITE_FLOAT;
    }
    return SQLITE_OK;
  }
  if( n == KEYCODEC_NUMBER_SIZE + KEYCODEC_SUFFIX_SIZE ){
    uint8_t aCheck[KEYCODEC_NUMBER_SIZE + KEYCODEC_SUFFIX_SIZE];
    double lo = keycodec_unsortable(keycodec_get_be(p + 1, 8));
    uint64_t s = keycodec_get_be(p + KEYCODEC_NUMBER_SIZE, KEYCODEC_SUFFIX_SIZE);
    uint64_t i;
    if( !keycodec_fits_int64(lo) || fabs(lo) < TWO_POW_53 || s == 0 ) return SQLITE_CORRUPT;
    i = (uint64_t)(sqlite3_int64)lo + s;
    if( lo > 0 && i > (uint64_t)INT64_MAX ) return SQLITE_CORRUPT;
    /* Canonical only: the integer must encode back to these exact bytes. */
    if( keycodec_put_int(aCheck, (sqlite3_int64)i) != (int)n
     || memcmp(aCheck, p, n) != 0 ){
      return SQLITE_CORRUPT;
    }
    pVal->eType = SQLITE_INTEGER;
    pVal->iVal = (sqlite3_int64)i;
    pVal->rVal = (double)pVal->iVal;
    pVal->bExact = 0;
    return SQLITE_OK;
  }
  return SQLITE_CORRUPT;
}

int keycodec_decode(const uint8_t *p, size_t n, sqlite3_context *ctx){
  keycodec_value v;
  int rc = keycodec_parse(p, n, &v);
  if( rc != SQLITE_OK ) return rc;
  switch( v.eType ){
    case SQLITE_INTEGER: sqlite3_result_int64(ctx, v.iVal); break;
    case SQLITE_FLOAT:   sqlite3_result_double(ctx, v.rVal); break;
    case SQLITE_TEXT:
      sqlite3_result_text64(ctx, (const char*)v.p, v.n, SQLITE_TRANSIENT, SQLITE_UTF8);
      break;
    default:
      sqlite3_result_blob64(ctx, v.p, v.n, SQLITE_TRANSIENT);
      break;
  }
  return SQLITE_OK;
}

int keycodec_type(const uint8_t *p, size_t n){
  keycodec_value v;
  return keycodec_parse(p, n, &v) == SQLITE_OK ? v.eType : 0;
}
