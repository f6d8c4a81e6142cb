/*
** test_keycodec.c — the key encoding against SQLite's own ordering.
**
** The model is SQLite itself: thousands of random values of every type
** (with the edge cases: +-0, +-Inf, int64 min/max, 2^53 +- 1, doubles next
** to integer boundaries, empty text and blob, embedded NULs) go into an
** in-memory table; dense_rank() OVER (ORDER BY v) gives SQLite's BINARY
** order with ties; the encodings sorted by memcmp (shorter prefix first,
** as the engine compares) must give exactly the same ranks.
*/
#include "testutil.h"
#include "ext_test_api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TWO53 9007199254740992LL

/* ---- helpers ---- */

/* Encode one value built by a SQL expression (e.g. "9007199254740993"). */
static int encode_sql(sqlite3 *db, const char *zExpr, uint8_t *a, size_t *pn){
  sqlite3_stmt *pStmt = NULL;
  char *zSql = sqlite3_mprintf("SELECT keyenc(%s)", zExpr);
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, NULL);
  sqlite3_free(zSql);
  ck_assert_int_eq(rc, SQLITE_OK);
  rc = sqlite3_step(pStmt);
  if( rc == SQLITE_ROW ){
    *pn = (size_t)sqlite3_column_bytes(pStmt, 0);
    memcpy(a, sqlite3_column_blob(pStmt, 0), *pn);
    rc = SQLITE_OK;
  }else{
    rc = sqlite3_extended_errcode(db);
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* memcmp order with a shorter prefix first: the engine's key order. */
static int key_compare(const uint8_t *a, size_t na, const uint8_t *b, size_t nb){
  int c = memcmp(a, b, na < nb ? na : nb);
  if( c ) return c;
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/* Sign of the comparison of two SQL expressions' encodings. */
static int compare_sql(sqlite3 *db, const char *zA, const char *zB){
  uint8_t a[64], b[64];
  size_t na, nb;
  int c;
  ck_assert_int_eq(encode_sql(db, zA, a, &na), SQLITE_OK);
  ck_assert_int_eq(encode_sql(db, zB, b, &nb), SQLITE_OK);
  c = key_compare(a, na, b, nb);
  return c < 0 ? -1 : c > 0;
}

/* Bind a random value of a random kind, weighted toward edge cases. */
static void bind_random_value(sqlite3_stmt *pStmt, int iCol, test_rng *pRng){
  static const char *const azPiece[] = {
    "a", "b", "A", "z", "\0", "\x01", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9d\x84\x9e", " "
  };
  static const uint8_t aByte[] = { 0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff };
  char z[64];
  int n = 0, i, nPiece;
  double d;
  uint64_t u;
  switch( rng_below(pRng, 12) ){
    case 0:
      sqlite3_bind_int64(pStmt, iCol, (sqlite3_int64)rng_below(pRng, 201) - 100);
      break;
    case 1:
      sqlite3_bind_int64(pStmt, iCol, (sqlite3_int64)rng_next(pRng));
      break;
    case 2: {                               /* around +-2^53 */
      sqlite3_int64 v = TWO53 + (sqlite3_int64)rng_below(pRng, 9) - 4;
      sqlite3_bind_int64(pStmt, iCol, rng_below(pRng, 2) ? v : -v);
      break;
    }
    case 3: {                               /* around int64 max and min */
      sqlite3_int64 k = (sqlite3_int64)rng_below(pRng, 3000);
      sqlite3_bind_int64(pStmt, iCol, rng_below(pRng, 2) ? INT64_MAX - k : INT64_MIN + k);
      break;
    }
    case 4: {                               /* doubles next to integer boundaries */
      static const double aBase[] = {
        9007199254740992.0, 9223372036854775808.0, 9223372036854774784.0,
        18446744073709551616.0, 1e19, 4503599627370496.0, 1.0, 0.0
      };
      d = aBase[rng_below(pRng, sizeof(aBase) / sizeof(aBase[0]))];
      for(i = (int)rng_below(pRng, 4); i > 0; i--) d = nextafter(d, rng_below(pRng, 2) ? INFINITY : -INFINITY);
      sqlite3_bind_double(pStmt, iCol, rng_below(pRng, 2) ? d : -d);
      break;
    }
    case 5:                                 /* any double but NaN */
      do{
        u = rng_next(pRng);
        memcpy(&d, &u, sizeof(d));
      }while( isnan(d) );
      sqlite3_bind_double(pStmt, iCol, d);
      break;
    case 6:                                 /* quarters: many equal to integers */
      sqlite3_bind_double(pStmt, iCol, ((double)rng_below(pRng, 801) - 400.0) / 4.0);
      break;
    case 7: {                               /* specials */
      static const double aSpecial[] = {
        0.0, -0.0, INFINITY, -INFINITY, 2.2250738585072014e-308, -2.2250738585072014e-308,
        4.9406564584124654e-324, -4.9406564584124654e-324, 1.7976931348623157e308,
        -1.7976931348623157e308, -9223372036854775808.0, 0.5, -0.5
      };
      sqlite3_bind_double(pStmt, iCol, aSpecial[rng_below(pRng, sizeof(aSpecial) / sizeof(aSpecial[0]))]);
      break;
    }
    case 8: {                               /* a big integer or its nearest double */
      sqlite3_int64 v = (sqlite3_int64)(rng_next(pRng) >> rng_below(pRng, 12));
      if( rng_below(pRng, 2) ) v = -v;
      if( rng_below(pRng, 2) ) sqlite3_bind_int64(pStmt, iCol, v);
      else sqlite3_bind_double(pStmt, iCol, (double)v);
      break;
    }
    case 9:
    case 10:                                /* text, NULs and multi-byte included */
      nPiece = (int)rng_below(pRng, 6);
      for(i = 0; i < nPiece; i++){
        const char *zP = azPiece[rng_below(pRng, sizeof(azPiece) / sizeof(azPiece[0]))];
        int nP = zP[0] ? (int)strlen(zP) : 1;
        memcpy(z + n, zP, (size_t)nP);
        n += nP;
      }
      sqlite3_bind_text(pStmt, iCol, z, n, SQLITE_TRANSIENT);
      break;
    default:                                /* blob */
      n = (int)rng_below(pRng, 6);
      for(i = 0; i < n; i++){
        z[i] = (char)(rng_below(pRng, 3) ? aByte[rng_below(pRng, sizeof(aByte))]
                                         : (uint8_t)rng_next(pRng));
      }
      if( n == 0 ) sqlite3_bind_zeroblob(pStmt, iCol, 0);
      else sqlite3_bind_blob(pStmt, iCol, z, n, SQLITE_TRANSIENT);
      break;
  }
}

/* A table t(id, v) of nRow random values plus fixed edge cases. */
static void fill_random_table(sqlite3 *db, int nRow, uint64_t seed){
  static const char *const azEdge[] = {
    "0", "0.0", "-0.0", "1", "1.0", "-1", "-1.0", "9e999", "-9e999",
    "9223372036854775807", "-9223372036854775808", "9223372036854775806",
    "-9223372036854775807", "9.223372036854775807e18", "-9.223372036854775808e18",
    "9007199254740991", "9007199254740992", "9007199254740993", "9007199254740994",
    "9007199254740992.0", "9007199254740994.0", "-9007199254740993", "-9007199254740992.0",
    "''", "x''", "'a'", "'a' || char(0)", "'a' || char(0) || 'b'", "x'00'", "x'0000'",
    "x'ff'", "'ab'", "'b'", "4.5", "-4.5", "1e300", "-1e-300"
  };
  sqlite3_stmt *pStmt = NULL;
  test_rng rng;
  size_t i;
  char *zSql;
  int rc;

  ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v)", 0, 0, 0), SQLITE_OK);
  for(i = 0; i < sizeof(azEdge) / sizeof(azEdge[0]); i++){
    zSql = sqlite3_mprintf("INSERT INTO t(v) VALUES (%s)", azEdge[i]);
    rc = sqlite3_exec(db, zSql, 0, 0, 0);
    sqlite3_free(zSql);
    ck_assert_int_eq(rc, SQLITE_OK);
  }
  rng_init(&rng, seed);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT INTO t(v) VALUES (?)", -1, &pStmt, 0), SQLITE_OK);
  sqlite3_exec(db, "BEGIN", 0, 0, 0);
  for(i = 0; i < (size_t)nRow; i++){
    bind_random_value(pStmt, 1, &rng);
    ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_DONE);
    sqlite3_reset(pStmt);
  }
  sqlite3_exec(db, "COMMIT", 0, 0, 0);
  sqlite3_finalize(pStmt);
}

typedef struct enc_row {
  uint8_t *p;            /* encoding (malloc'd) */
  size_t n;              /* its length */
  sqlite3_int64 iRank;   /* SQLite's dense rank of the value */
  char *zQuote;          /* quote(v), for messages (malloc'd) */
} enc_row;

static int enc_row_cmp(const void *a, const void *b){
  const enc_row *x = a, *y = b;
  return key_compare(x->p, x->n, y->p, y->n);
}

/* ---- tests ---- */

START_TEST(encoded_order_equals_sqlite_order_for_random_mixed_values){
  sqlite3 *db = ext_test_open_db();
  sqlite3_stmt *pStmt = NULL;
  uint64_t seed = test_seed();
  enc_row *aRow;
  int nRow = 0, nAlloc = test_scale(20000) + 64;
  int i;

  fill_random_table(db, test_scale(20000), seed);
  aRow = calloc((size_t)nAlloc, sizeof(enc_row));
  ck_assert_int_eq(sqlite3_prepare_v2(db,
      "SELECT keyenc(v), dense_rank() OVER (ORDER BY v), quote(v) FROM t",
      -1, &pStmt, 0), SQLITE_OK);
  while( sqlite3_step(pStmt) == SQLITE_ROW ){
    enc_row *r = &aRow[nRow++];
    ck_assert_int_lt(nRow, nAlloc);
    r->n = (size_t)sqlite3_column_bytes(pStmt, 0);
    r->p = malloc(r->n);
    memcpy(r->p, sqlite3_column_blob(pStmt, 0), r->n);
    r->iRank = sqlite3_column_int64(pStmt, 1);
    r->zQuote = strdup((const char*)sqlite3_column_text(pStmt, 2));
  }
  ck_assert_int_eq(sqlite3_finalize(pStmt), SQLITE_OK);
  ck_assert_int_gt(nRow, 1000);

  qsort(aRow, (size_t)nRow, sizeof(enc_row), enc_row_cmp);
  for(i = 1; i < nRow; i++){
    int c = key_compare(aRow[i-1].p, aRow[i-1].n, aRow[i].p, aRow[i].n);
    int bSameRank = aRow[i-1].iRank == aRow[i].iRank;
    SEED_ASSERT(aRow[i-1].iRank <= aRow[i].iRank && (c == 0) == bSameRank,
                "%s and %s: memcmp order %d, SQLite ranks %lld and %lld",
                (unsigned long long)seed, aRow[i-1].zQuote, aRow[i].zQuote, c,
                (long long)aRow[i-1].iRank, (long long)aRow[i].iRank);
  }
  for(i = 0; i < nRow; i++){ free(aRow[i].p); free(aRow[i].zQuote); }
  free(aRow);
  sqlite3_close(db);
}
END_TEST

START_TEST(decode_of_encode_gives_the_value_back){
  sqlite3 *db = ext_test_open_db();
  sqlite3_stmt *pStmt = NULL;
  uint64_t seed = test_seed();
  int nRow = 0;

  fill_random_table(db, test_scale(5000), seed);
  ck_assert_int_eq(sqlite3_prepare_v2(db,
      "SELECT v, keydec(keyenc(v)), quote(v) FROM t", -1, &pStmt, 0), SQLITE_OK);
  while( sqlite3_step(pStmt) == SQLITE_ROW ){
    int eIn = sqlite3_column_type(pStmt, 0);
    int eOut = sqlite3_column_type(pStmt, 1);
    const char *zQ = (const char*)sqlite3_column_text(pStmt, 2);
    nRow++;
    if( eIn == SQLITE_INTEGER ){
      SEED_ASSERT(eOut == SQLITE_INTEGER
                  && sqlite3_column_int64(pStmt, 0) == sqlite3_column_int64(pStmt, 1),
                  "%s did not come back as the same integer", (unsigned long long)seed, zQ);
    }else if( eIn == SQLITE_FLOAT ){
      double d = sqlite3_column_double(pStmt, 0);
      int bInt = d >= -9223372036854775808.0 && d < 9223372036854775808.0 && d == floor(d);
      if( bInt ){
        SEED_ASSERT(eOut == SQLITE_INTEGER && (double)sqlite3_column_int64(pStmt, 1) == d,
                    "%s did not come back as an integer", (unsigned long long)seed, zQ);
      }else{
        SEED_ASSERT(eOut == SQLITE_FLOAT && sqlite3_column_double(pStmt, 1) == d,
                    "%s did not come back as the same real", (unsigned long long)seed, zQ);
      }
    }else{
      int n = sqlite3_column_bytes(pStmt, 0);
      const void *p = sqlite3_column_blob(pStmt, 0);
      SEED_ASSERT(eOut == eIn && sqlite3_column_bytes(pStmt, 1) == n
                  && (n == 0 || memcmp(sqlite3_column_blob(pStmt, 1), p, (size_t)n) == 0),
                  "%s did not come back byte for byte", (unsigned long long)seed, zQ);
    }
  }
  ck_assert_int_eq(sqlite3_finalize(pStmt), SQLITE_OK);
  ck_assert_int_gt(nRow, 100);
  sqlite3_close(db);
}
END_TEST

START_TEST(an_integer_and_an_equal_real_encode_identically){
  static const char *const azPair[][2] = {
    { "1", "1.0" }, { "0", "0.0" }, { "0", "-0.0" }, { "-1", "-1.0" },
    { "9007199254740992", "9007199254740992.0" },
    { "-9223372036854775808", "-9223372036854775808.0" },
    { "4611686018427387904", "4611686018427387904.0" },
    { "9223372036854774784", "9223372036854774784.0" },
  };
  sqlite3 *db = ext_test_open_db();
  size_t i;
  for(i = 0; i < sizeof(azPair) / sizeof(azPair[0]); i++){
    ck_assert_msg(compare_sql(db, azPair[i][0], azPair[i][1]) == 0,
                  "%s and %s differ", azPair[i][0], azPair[i][1]);
  }
  sqlite3_close(db);
}
END_TEST

START_TEST(large_integers_order_exactly_against_nearby_doubles){
  static const struct { const char *zLess, *zMore; } aCase[] = {
    { "9007199254740992.0", "9007199254740993" },
    { "9007199254740993", "9007199254740994.0" },
    { "9007199254740993", "9007199254740994" },
    { "-9007199254740994.0", "-9007199254740993" },
    { "-9007199254740993", "-9007199254740992.0" },
    { "9223372036854775807", "9.223372036854775807e18" },   /* that is 2^63 */
    { "9223372036854774784.0", "9223372036854774785" },
    { "9223372036854775806", "9223372036854775807" },
    { "-9.223372036854775808e18", "-9223372036854775807" },
    { "-9223372036854775808", "-9223372036854775807" },
    { "9223372036854775807", "9e999" },
    { "-9e999", "-9223372036854775808" },
    { "-1e-300", "0" },
    { "0", "4.9406564584124654e-324" },
    { "9e999", "''" },
    { "''", "'a'" },
    { "'a'", "'a' || char(0)" },
    { "'a' || char(0)", "'b'" },
    { "'zzz'", "x''" },
    { "x''", "x'00'" },
    { "x'00'", "x'0000'" },
    { "x'0000'", "x'01'" },
  };
  sqlite3 *db = ext_test_open_db();
  size_t i;
  for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
    ck_assert_msg(compare_sql(db, aCase[i].zLess, aCase[i].zMore) < 0,
                  "%s should encode before %s", aCase[i].zLess, aCase[i].zMore);
  }
  sqlite3_close(db);
}
END_TEST

/* The examples drawn in keycodec.c's header are the real bytes. */
START_TEST(encodings_match_the_bytes_drawn_in_the_header){
  static const struct { const char *zExpr, *zHex; } aCase[] = {
    { "-9e999", "10000fffffffffffff" },
    { "-1", "10400fffffffffffff" },
    { "0", "108000000000000000" },
    { "-0.0", "108000000000000000" },
    { "1", "10bff0000000000000" },
    { "1.5", "10bff8000000000000" },
    { "9007199254740992", "10c340000000000000" },
    { "9007199254740993", "10c3400000000000000001" },
    { "9007199254740994", "10c340000000000001" },
    { "9223372036854775807", "10c3dfffffffffffff03ff" },
    { "9223372036854775808.0", "10c3e0000000000000" },
    { "9e999", "10fff0000000000000" },
    { "''", "20" },
    { "'ab'", "206162" },
    { "x''", "30" },
    { "x'00ff'", "3000ff" },
  };
  sqlite3 *db = ext_test_open_db();
  size_t i, j;
  for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
    uint8_t a[64];
    char zHex[140];
    size_t n;
    ck_assert_int_eq(encode_sql(db, aCase[i].zExpr, a, &n), SQLITE_OK);
    for(j = 0; j < n; j++) snprintf(zHex + 2 * j, 3, "%02x", a[j]);
    zHex[2 * n] = 0;
    ck_assert_msg(strcmp(zHex, aCase[i].zHex) == 0, "%s encodes as %s, header says %s",
                  aCase[i].zExpr, zHex, aCase[i].zHex);
  }
  sqlite3_close(db);
}
END_TEST

START_TEST(a_null_key_is_a_constraint_error_and_appends_nothing){
  sqlite3 *db = ext_test_open_db();
  sqlite3_stmt *pStmt = NULL;
  ext_buf b = {0};
  ck_assert_int_eq(ext_buf_append(&b, "xy", 2), SQLITE_OK);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT NULL, 0.0/0.0", -1, &pStmt, 0), SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_ROW);
  ck_assert_int_eq(keycodec_encode(sqlite3_column_value(pStmt, 0), &b), SQLITE_CONSTRAINT);
  ck_assert_int_eq(keycodec_encode(sqlite3_column_value(pStmt, 1), &b), SQLITE_CONSTRAINT);
  ck_assert_uint_eq(b.n, 2);
  sqlite3_finalize(pStmt);
  ext_buf_free(&b);
  sqlite3_close(db);
}
END_TEST

START_TEST(text_and_blob_keys_over_64_kib_are_too_big){
  sqlite3 *db = ext_test_open_db();
  uint8_t *a = malloc(KEYCODEC_MAX_ENCODED + 16);
  size_t n = 0;
  char zExpr[100];
  snprintf(zExpr, sizeof(zExpr), "zeroblob(%d)", EXT_MAX_KEY_BYTES);
  ck_assert_int_eq(encode_sql(db, zExpr, a, &n), SQLITE_OK);
  ck_assert_uint_eq(n, KEYCODEC_MAX_ENCODED);
  snprintf(zExpr, sizeof(zExpr), "zeroblob(%d)", EXT_MAX_KEY_BYTES + 1);
  ck_assert_int_eq(encode_sql(db, zExpr, a, &n), SQLITE_TOOBIG);
  snprintf(zExpr, sizeof(zExpr), "replace(hex(zeroblob(%d)), '00', 'x')", EXT_MAX_KEY_BYTES);
  ck_assert_int_eq(encode_sql(db, zExpr, a, &n), SQLITE_OK);
  ck_assert_uint_eq(n, KEYCODEC_MAX_ENCODED);
  snprintf(zExpr, sizeof(zExpr), "replace(hex(zeroblob(%d)), '00', 'x')", EXT_MAX_KEY_BYTES + 1);
  ck_assert_int_eq(encode_sql(db, zExpr, a, &n), SQLITE_TOOBIG);
  snprintf(zExpr, sizeof(zExpr), "zeroblob(%d)", 500 * 1000 * 1000);   /* never expanded */
  ck_assert_int_eq(encode_sql(db, zExpr, a, &n), SQLITE_TOOBIG);
  free(a);
  sqlite3_close(db);
}
END_TEST

START_TEST(malformed_encodings_are_corrupt){
  static const struct { const char *zWhy; const char *zHex; } aCase[] = {
    { "empty", "" },
    { "unknown type byte", "00" },
    { "unknown type byte", "4061" },
    { "number too short", "10" },
    { "number too short", "10bff00000000000" },
    { "number of 10 bytes", "10bff0000000000000aa" },
    { "number too long", "10c340000000000000000100" },
    { "NaN bits", "10fff8000000000000" },
    { "-0.0 bits", "107fffffffffffffff" },
    { "zero suffix", "10c3400000000000000000" },
    { "suffix under 2^53", "10bff00000000000000001" },
    { "suffix on a fraction", "10c3e0000000000001" "0001" },
    { "suffix reaching the next double", "10c3400000000000000002" },
    { "suffix past INT64_MAX", "10c3dfffffffffffff0400" },
    { "suffix at 2^63", "10c3e00000000000000001" },
  };
  size_t i, j;
  ext_test_api_init();
  for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
    uint8_t a[32];
    size_t n = strlen(aCase[i].zHex) / 2;
    keycodec_value v;
    for(j = 0; j < n; j++){
      unsigned x;
      sscanf(aCase[i].zHex + 2 * j, "%2x", &x);
      a[j] = (uint8_t)x;
    }
    ck_assert_msg(keycodec_parse(a, n, &v) == SQLITE_CORRUPT, "%s accepted", aCase[i].zWhy);
    ck_assert_msg(keycodec_type(a, n) == 0, "%s typed", aCase[i].zWhy);
  }
}
END_TEST

/* Flip and truncate every byte of real encodings: decode either fails with
** SQLITE_CORRUPT or yields a value that encodes back to the same bytes. */
START_TEST(damaged_encodings_are_rejected_or_canonical){
  sqlite3 *db = ext_test_open_db();
  sqlite3_stmt *pStmt = NULL;
  sqlite3_stmt *pEnc = NULL;
  int nChecked = 0;
  fill_random_table(db, test_scale(400), test_seed());
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT keyenc(v) FROM t", -1, &pStmt, 0), SQLITE_OK);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT keyenc(keydec(?))", -1, &pEnc, 0), SQLITE_OK);
  while( sqlite3_step(pStmt) == SQLITE_ROW ){
    size_t n = (size_t)sqlite3_column_bytes(pStmt, 0);
    size_t i, nCut;
    int iBit;
    uint8_t *a = malloc(n);
    for(nCut = 0; nCut <= n; nCut++){
      for(i = 0; i < (nCut < 12 ? nCut : 12); i++){
        for(iBit = -1; iBit < 8; iBit++){
          keycodec_value v;
          uint8_t *pCopy = malloc(nCut ? nCut : 1);   /* exact size: ASan sees overreads */
          int rc;
          memcpy(a, sqlite3_column_blob(pStmt, 0), n);
          if( iBit >= 0 ) a[i] ^= (uint8_t)(1 << iBit);
          memcpy(pCopy, a, nCut);
          rc = keycodec_parse(pCopy, nCut, &v);
          ck_assert(rc == SQLITE_OK || rc == SQLITE_CORRUPT);
          if( rc == SQLITE_OK ){
            sqlite3_bind_blob(pEnc, 1, pCopy, (int)nCut, SQLITE_TRANSIENT);
            ck_assert_int_eq(sqlite3_step(pEnc), SQLITE_ROW);
            ck_assert_int_eq(key_compare(sqlite3_column_blob(pEnc, 0),
                                         (size_t)sqlite3_column_bytes(pEnc, 0), pCopy, nCut), 0);
            sqlite3_reset(pEnc);
            nChecked++;
          }
          free(pCopy);
        }
      }
    }
    free(a);
  }
  ck_assert_int_gt(nChecked, 100);
  sqlite3_finalize(pEnc);
  sqlite3_finalize(pStmt);
  sqlite3_close(db);
}
END_TEST

/* The key of text bound every way SQLite lets a caller bind it (with a
** length and no terminator; as UTF-16), in a UTF-8 and in a UTF-16
** database, encodes as the UTF-8 bytes of the text and nothing more. */
static void expect_text_key(sqlite3 *db, int eBind, const char *zWhen){
  static const char zText[] = "h\xc3\xa9llo w\xc3\xb6rld!!!";  /* "!!!" is past the key */
  static const unsigned short aText16[] = { 'h', 0xe9, 'l', 'l', 'o', ' ', 'w', 0xf6, 'r', 'l', 'd' };
  const size_t nUtf8 = sizeof(zText) - 1 - 3;
  sqlite3_stmt *pStmt = NULL;
  const uint8_t *a;
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT keyenc(?1)", -1, &pStmt, 0), SQLITE_OK);
  if( eBind == 8 ){
    sqlite3_bind_text(pStmt, 1, zText, (int)nUtf8, SQLITE_STATIC);
  }else{
    sqlite3_bind_text16(pStmt, 1, aText16, (int)sizeof(aText16), SQLITE_STATIC);
  }
  ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_ROW);
  a = sqlite3_column_blob(pStmt, 0);
  ck_assert_msg((size_t)sqlite3_column_bytes(pStmt, 0) == 1 + nUtf8,
                "%s: %d bytes, expected %zu", zWhen, sqlite3_column_bytes(pStmt, 0), 1 + nUtf8);
  ck_assert_msg(memcmp(a + 1, zText, nUtf8) == 0, "%s: not the UTF-8 bytes of the text", zWhen);
  sqlite3_finalize(pStmt);
}

START_TEST(a_text_key_bound_with_a_length_or_as_utf16_encodes_its_utf8_bytes){
  sqlite3 *db = ext_test_open_db();
  expect_text_key(db, 8, "UTF-8 database, bound with a length");
  expect_text_key(db, 16, "UTF-8 database, bound as UTF-16");
  sqlite3_close(db);
  db = ext_test_open_db();
  ck_assert_int_eq(sqlite3_exec(db, "PRAGMA encoding = 'UTF-16le'", 0, 0, 0), SQLITE_OK);
  ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t(x)", 0, 0, 0), SQLITE_OK);
  expect_text_key(db, 8, "UTF-16 database, bound as UTF-8 with a length");
  expect_text_key(db, 16, "UTF-16 database, bound as UTF-16");
  sqlite3_close(db);
}
END_TEST

START_TEST(keycodec_type_reports_the_storage_class){
  static const struct { const char *zExpr; int eType; } aCase[] = {
    { "1", SQLITE_INTEGER }, { "1.0", SQLITE_INTEGER }, { "1.5", SQLITE_FLOAT },
    { "9e999", SQLITE_FLOAT }, { "9223372036854775807", SQLITE_INTEGER },
    { "9.3e18", SQLITE_FLOAT }, { "-9223372036854775808.0", SQLITE_INTEGER },
    { "'x'", SQLITE_TEXT }, { "''", SQLITE_TEXT }, { "x''", SQLITE_BLOB },
  };
  sqlite3 *db = ext_test_open_db();
  size_t i;
  for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
    uint8_t a[64];
    size_t n;
    ck_assert_int_eq(encode_sql(db, aCase[i].zExpr, a, &n), SQLITE_OK);
    ck_assert_msg(keycodec_type(a, n) == aCase[i].eType, "%s", aCase[i].zExpr);
  }
  sqlite3_close(db);
}
END_TEST

static Suite *keycodec_suite(void){
  Suite *s = suite_create("keycodec");
  TCase *tc = tcase_create("keycodec");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, ext_test_api_init, NULL);
  tcase_add_test(tc, encoded_order_equals_sqlite_order_for_random_mixed_values);
  tcase_add_test(tc, decode_of_encode_gives_the_value_back);
  tcase_add_test(tc, an_integer_and_an_equal_real_encode_identically);
  tcase_add_test(tc, large_integers_order_exactly_against_nearby_doubles);
  tcase_add_test(tc, encodings_match_the_bytes_drawn_in_the_header);
  tcase_add_test(tc, a_null_key_is_a_constraint_error_and_appends_nothing);
  tcase_add_test(tc, text_and_blob_keys_over_64_kib_are_too_big);
  tcase_add_test(tc, malformed_encodings_are_corrupt);
  tcase_add_test(tc, damaged_encodings_are_rejected_or_canonical);
  tcase_add_test(tc, keycodec_type_reports_the_storage_class);
  tcase_add_test(tc, a_text_key_bound_with_a_length_or_as_utf16_encodes_its_utf8_bytes);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(keycodec_suite)
