/*
** test_record.c — the value record: every storage class round trips
** exactly, the key comes back as written, and damaged records are refused
** without a read past the buffer (run under ASan by `make san-test`).
*/
#include "testutil.h"
#include "ext_test_api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The SQL expressions of a record with every storage class and edge. */
static const char *const azValue[] = {
  "NULL", "0", "1", "-1", "2", "63", "64", "-64", "-65", "300", "-300",
  "9223372036854775807", "-9223372036854775808", "1.5", "-0.0", "0.0",
  "9e999", "-9e999", "4.9406564584124654e-324", "1.0", "''", "'abc'",
  "'a' || char(0) || 'b'", "'\xc3\xa9t\xc3\xa9'", "x''", "x'00ff'",
  "zeroblob(1000)", "replace(hex(zeroblob(40000)), '00', 'xy')",
};
#define N_VALUE ((int)(sizeof(azValue) / sizeof(azValue[0])))

/* The record of ("k", azValue...) as a malloc'd buffer of exact size. */
static uint8_t *record_of_all(sqlite3 *db, const char *zKey, size_t *pn){
  sqlite3_str *pSql = sqlite3_str_new(db);
  sqlite3_stmt *pStmt = NULL;
  uint8_t *p;
  char *zSql;
  int i;
  sqlite3_str_appendf(pSql, "SELECT recenc(%s", zKey);
  for(i = 0; i < N_VALUE; i++) sqlite3_str_appendf(pSql, ", %s", azValue[i]);
  sqlite3_str_appendall(pSql, ")");
  zSql = sqlite3_str_finish(pSql);
  ck_assert_int_eq(sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0), SQLITE_OK);
  sqlite3_free(zSql);
  ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_ROW);
  *pn = (size_t)sqlite3_column_bytes(pStmt, 0);
  p = malloc(*pn);
  memcpy(p, sqlite3_column_blob(pStmt, 0), *pn);
  sqlite3_finalize(pStmt);
  return p;
}

/* Read column iCol of (p, n) through record_column into a SQL value and
** check it equals expression zExpr exactly: type, value and, for reals,
** the bits (so -0.0 stays -0.0). */
static void check_column(sqlite3 *db, const uint8_t *p, size_t n, int iCol, const char *zExpr){
  sqlite3_stmt *pStmt = NULL;
  char *zSql = sqlite3_mprintf(
      "SELECT reccol(?1, ?2), %s, typeof(reccol(?1, ?2)) == typeof(%s)", zExpr, zExpr);
  ck_assert_int_eq(sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0), SQLITE_OK);
  sqlite3_free(zSql);
  sqlite3_bind_blob(pStmt, 1, p, (int)n, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 2, iCol);
  ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_ROW);
  ck_assert_msg(sqlite3_column_int(pStmt, 2) == 1, "column %d (%s): wrong type", iCol, zExpr);
  switch( sqlite3_column_type(pStmt, 1) ){
    case SQLITE_NULL:
      break;
    case SQLITE_INTEGER:
      ck_assert_msg(sqlite3_column_int64(pStmt, 0) == sqlite3_column_int64(pStmt, 1),
                    "column %d (%s): wrong integer", iCol, zExpr);
      break;
    case SQLITE_FLOAT: {
      double a = sqlite3_column_double(pStmt, 0), b = sqlite3_column_double(pStmt, 1);
      ck_assert_msg(memcmp(&a, &b, sizeof(a)) == 0, "column %d (%s): wrong real", iCol, zExpr);
      break;
    }
    default: {
      int nA = sqlite3_column_bytes(pStmt, 0), nB = sqlite3_column_bytes(pStmt, 1);
      ck_assert_msg(nA == nB && (nA == 0 || memcmp(sqlite3_column_blob(pStmt, 0),
                                                    sqlite3_column_blob(pStmt, 1), (size_t)nA) == 0),
                    "column %d (%s): wrong bytes", iCol, zExpr);
    }
  }
  sqlite3_finalize(pStmt);
}

/* Result of record_column on (p, n) for iCol, through a scratch context. */
static int column_rc(sqlite3 *db, const uint8_t *p, size_t n, int iCol){
  sqlite3_stmt *pStmt = NULL;
  int rc;
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT reccol(?, ?)", -1, &pStmt, 0), SQLITE_OK);
  sqlite3_bind_blob(pStmt, 1, p, (int)n, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 2, iCol);
  rc = sqlite3_step(pStmt);
  rc = rc == SQLITE_ROW ? SQLITE_OK : sqlite3_extended_errcode(db);
  sqlite3_finalize(pStmt);
  return rc;
}

/* ---- tests ---- */

START_TEST(every_storage_class_round_trips_exactly){
  sqlite3 *db = ext_test_open_db();
  size_t n;
  uint8_t *p = record_of_all(db, "'k'", &n);
  int i;
  for(i = 0; i < N_VALUE; i++) check_column(db, p, n, i, azValue[i]);
  free(p);
  sqlite3_close(db);
}
END_TEST

START_TEST(columns_past_the_last_read_as_null){
  sqlite3 *db = ext_test_open_db();
  size_t n;
  uint8_t *p = record_of_all(db, "'k'", &n);
  check_column(db, p, n, N_VALUE, "NULL");
  check_column(db, p, n, N_VALUE + 100, "NULL");
  free(p);
  sqlite3_close(db);
}
END_TEST

START_TEST(a_record_with_no_value_columns_is_two_bytes){
  sqlite3 *db = ext_test_open_db();
  sqlite3_stmt *pStmt = NULL;
  ck_assert_int_eq(sqlite3_prepare_v2(db,
      "SELECT hex(recenc(1)), hex(recenc(1.0)), reccol(recenc(1), 0) IS NULL", -1, &pStmt, 0),
      SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_ROW);
  ck_assert_str_eq((const char*)sqlite3_column_text(pStmt, 0), "0000");
  ck_assert_str_eq((const char*)sqlite3_column_text(pStmt, 1), "0100");
  ck_assert_int_eq(sqlite3_column_int(pStmt, 2), 1);
  sqlite3_finalize(pStmt);
  sqlite3_close(db);
}
END_TEST

/* The example drawn in record.c's header, and small values staying small. */
START_TEST(records_match_the_bytes_drawn_in_the_header){
  static const struct { const char *zExpr, *zHex; } aCase[] = {
    { "recenc(1.0, 'red', 7, NULL, x'')", "01041503000E7265640E" },
    { "recenc('apple', 'red')", "00011572656" "4" },
    { "recenc(1, 0, 1, -1, 63, -64, 64)", "0006010203030304017E7F8001" },
    { "recenc(-0.0, 2.5)", "02010D0000000000000440" },
  };
  sqlite3 *db = ext_test_open_db();
  size_t i;
  for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
    sqlite3_stmt *pStmt = NULL;
    char *zSql = sqlite3_mprintf("SELECT hex(%s)", aCase[i].zExpr);
    ck_assert_int_eq(sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0), SQLITE_OK);
    sqlite3_free(zSql);
    ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_ROW);
    ck_assert_msg(strcmp((const char*)sqlite3_column_text(pStmt, 0), aCase[i].zHex) == 0,
                  "%s is %s, expected %s", aCase[i].zExpr, sqlite3_column_text(pStmt, 0),
                  aCase[i].zHex);
    sqlite3_finalize(pStmt);
  }
  sqlite3_close(db);
}
END_TEST

START_TEST(the_key_comes_back_as_it_was_written){
  static const struct { const char *zKey, *zType, *zQuote; } aCase[] = {
    { "1", "integer", "1" },
    { "1.0", "real", "1.0" },
    { "0", "integer", "0" },
    { "0.0", "real", "0.0" },
    { "-0.0", "real", "-0.0" },
    { "1.5", "real", "1.5" },
    { "9007199254740993", "integer", "9007199254740993" },
    { "9007199254740992.0", "real", "9.007199254740992e+15" },
    { "9223372036854775807", "integer", "9223372036854775807" },
    { "-9223372036854775808", "integer", "-9223372036854775808" },
    { "-9223372036854775808.0", "real", "-9.223372036854775808e+18" },
    { "9223372036854775808.0", "real", "9.223372036854775808e+18" },
    { "9e999", "real", "Inf" },
    { "1e300", "real", "1.0e+300" },
    { "'abc'", "text", "'abc'" },
    { "''", "text", "''" },
    { "x'01'", "blob", "X'01'" },
    { "x''", "blob", "X''" },
  };
  sqlite3 *db = ext_test_open_db();
  size_t i;
  for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
    sqlite3_stmt *pStmt = NULL;
    char *zSql = sqlite3_mprintf(
        "SELECT typeof(k), quote(k), k IS %s FROM "
        "(SELECT reckey(keyenc(%s), recenc(%s, 'v')) AS k)", aCase[i].zKey, aCase[i].zKey,
        aCase[i].zKey);
    ck_assert_int_eq(sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0), SQLITE_OK);
    sqlite3_free(zSql);
    ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_ROW);
    ck_assert_msg(strcmp((const char*)sqlite3_column_text(pStmt, 0), aCase[i].zType) == 0,
                  "key %s came back as %s", aCase[i].zKey, sqlite3_column_text(pStmt, 0));
    ck_assert_msg(sqlite3_column_int(pStmt, 2) == 1, "key %s came back as %s", aCase[i].zKey,
                  sqlite3_column_text(pStmt, 1));
    sqlite3_finalize(pStmt);
  }
  sqlite3_close(db);
}
END_TEST

START_TEST(negative_zero_key_keeps_its_sign){
  sqlite3 *db = ext_test_open_db();
  sqlite3_stmt *pStmt = NULL;
  double d;
  ck_assert_int_eq(sqlite3_prepare_v2(db,
      "SELECT reckey(keyenc(-0.0), recenc(-0.0, 1)), reckey(keyenc(0.0), recenc(0.0, 1))",
      -1, &pStmt, 0), SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_ROW);
  ck_assert_int_eq(sqlite3_column_type(pStmt, 0), SQLITE_FLOAT);
  d = sqlite3_column_double(pStmt, 0);
  ck_assert(d == 0.0 && signbit(d));
  d = sqlite3_column_double(pStmt, 1);
  ck_assert(d == 0.0 && !signbit(d));
  sqlite3_finalize(pStmt);
  sqlite3_close(db);
}
END_TEST

/* A key flag that does not fit the key encoding is corruption. */
START_TEST(a_key_flag_that_contradicts_the_key_is_corrupt){
  sqlite3 *db = ext_test_open_db();
  static const char *const azBad[] = {
    "reckey(keyenc('abc'), recenc(1.0, 'v'))",          /* REAL flag on text   */
    "reckey(keyenc(9007199254740993), recenc(1.0, 'v'))", /* REAL flag, inexact */
    "reckey(keyenc(1), recenc(-0.0, 'v'))",             /* -0.0 flag on 1      */
    "reckey(x'10', recenc(1, 'v'))",                    /* bad key encoding    */
    "reckey(keyenc(1), x'00')",                         /* record too short    */
    "reckey(keyenc(1), x'0300')",                       /* reserved flag       */
  };
  size_t i;
  for(i = 0; i < sizeof(azBad) / sizeof(azBad[0]); i++){
    sqlite3_stmt *pStmt = NULL;
    char *zSql = sqlite3_mprintf("SELECT %s", azBad[i]);
    ck_assert_int_eq(sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0), SQLITE_OK);
    sqlite3_free(zSql);
    ck_assert_msg(sqlite3_step(pStmt) == SQLITE_CORRUPT, "%s: %d", azBad[i],
                  sqlite3_extended_errcode(db));
    sqlite3_finalize(pStmt);
  }
  sqlite3_close(db);
}
END_TEST

START_TEST(malformed_records_are_corrupt){
  static const struct { const char *zWhy, *zHex; int iCol; } aCase[] = {
    { "empty record", "", 0 },
    { "flags alone", "00", 0 },
    { "reserved flag", "030100", 0 },
    { "header longer than the record", "000515", 0 },
    { "unterminated header varint", "00FF", 0 },
    { "serial type varint cut by the header end", "000180", 0 },
    { "text past the end", "00011561", 0 },
    { "text one byte past the end", "0001156162", 0 },
    { "blob one byte past the end", "00011200", 0 },
    { "two-byte serial type cut by the header end", "00018E00", 0 },
    { "real past the end", "00010D00000000", 0 },
    { "integer past the end", "000104", 0 },
    { "skipped column past the end", "0002150061", 1 },
    { "integer varint shorter than its type", "0001047F00", 0 },
    { "integer varint longer than its type", "00010380", 0 },
    { "NaN real", "00010D000000000000F87F", 0 },
    { "huge serial type", "000AFFFFFFFFFFFFFFFFFF01", 0 },
  };
  sqlite3 *db = ext_test_open_db();
  size_t i, j;
  for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
    size_t n = strlen(aCase[i].zHex) / 2;
    uint8_t *p = malloc(n ? n : 1);
    for(j = 0; j < n; j++){
      unsigned x;
      sscanf(aCase[i].zHex + 2 * j, "%2x", &x);
      p[j] = (uint8_t)x;
    }
    ck_assert_msg(column_rc(db, n ? p : (const uint8_t*)"", n, aCase[i].iCol) == SQLITE_CORRUPT,
                  "%s accepted", aCase[i].zWhy);
    free(p);
  }
  sqlite3_close(db);
}
END_TEST

/* Flip every bit of every byte: reads return OK or SQLITE_CORRUPT and
** never touch a byte past the record (each copy is allocated to its exact
** size, so ASan would see an overread). */
START_TEST(flipped_bytes_never_crash_or_overread){
  sqlite3 *db = ext_test_open_db();
  size_t n, i;
  uint8_t *pGood = record_of_all(db, "1.0", &n);
  int iBit, iCol, nCorrupt = 0;
  size_t nCheck = n < 400 ? n : 400;     /* the header and the first values */
  for(i = 0; i < nCheck; i++){
    for(iBit = 0; iBit < 8; iBit++){
      uint8_t *p = malloc(n);
      memcpy(p, pGood, n);
      p[i] ^= (uint8_t)(1 << iBit);
      for(iCol = 0; iCol <= N_VALUE; iCol += (iCol < 4 ? 1 : 7)){
        int rc = column_rc(db, p, n, iCol);
        ck_assert_msg(rc == SQLITE_OK || rc == SQLITE_CORRUPT, "byte %zu bit %d col %d: rc %d",
                      i, iBit, iCol, rc);
        nCorrupt += rc == SQLITE_CORRUPT;
      }
      free(p);
    }
  }
  ck_assert_int_gt(nCorrupt, 0);
  free(pGood);
  sqlite3_close(db);
}
END_TEST

/* Cut the record at every length: a read of the last column (whose bytes
** end the record) is always SQLITE_CORRUPT, and no read overreads. */
START_TEST(truncated_records_are_corrupt){
  sqlite3 *db = ext_test_open_db();
  sqlite3_stmt *pStmt = NULL;
  const uint8_t *pGood;
  size_t n, nCut;
  ck_assert_int_eq(sqlite3_prepare_v2(db,
      "SELECT recenc(1, 'abc', 1.5, -70000, x'0102', NULL, 'last')", -1, &pStmt, 0), SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_ROW);
  pGood = sqlite3_column_blob(pStmt, 0);
  n = (size_t)sqlite3_column_bytes(pStmt, 0);
  for(nCut = 0; nCut < n; nCut++){
    uint8_t *p = malloc(nCut ? nCut : 1);
    int iCol;
    memcpy(p, pGood, nCut);
    ck_assert_msg(column_rc(db, p, nCut, 5) == SQLITE_CORRUPT, "cut at %zu accepted", nCut);
    for(iCol = 0; iCol < 7; iCol++){
      int rc = column_rc(db, p, nCut, iCol);
      ck_assert(rc == SQLITE_OK || rc == SQLITE_CORRUPT);
    }
    free(p);
  }
  ck_assert_int_eq(column_rc(db, pGood, n, 5), SQLITE_OK);
  sqlite3_finalize(pStmt);
  sqlite3_close(db);
}
END_TEST

START_TEST(values_over_256_mib_are_too_big_before_any_copy){
  sqlite3 *db = ext_test_open_db();
  sqlite3_stmt *pStmt = NULL;
  char *zSql = sqlite3_mprintf(
      "SELECT recenc(1, zeroblob(%u)), recenc(1, zeroblob(%u), zeroblob(%u))",
      LSM_MAX_VALUE + 1, LSM_MAX_VALUE / 2 + 1, LSM_MAX_VALUE / 2);
  ck_assert_int_eq(sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0), SQLITE_OK);
  sqlite3_free(zSql);
  ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_TOOBIG);
  sqlite3_finalize(pStmt);
  zSql = sqlite3_mprintf("SELECT recenc(1, zeroblob(%u), zeroblob(%u))",
                         LSM_MAX_VALUE / 2 + 1, LSM_MAX_VALUE / 2);
  ck_assert_int_eq(sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0), SQLITE_OK);
  sqlite3_free(zSql);
  ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_TOOBIG);
  sqlite3_finalize(pStmt);
  sqlite3_close(db);
}
END_TEST

/* Model check: random rows of 8 random values; each column read back has
** the same type and, bit for bit, the same value. */
typedef struct rec_val {
  int eType;              /* SQLITE_NULL ... SQLITE_BLOB */
  sqlite3_int64 i;        /* SQLITE_INTEGER */
  double r;               /* SQLITE_FLOAT */
  uint8_t a[8192];        /* SQLITE_TEXT, SQLITE_BLOB */
  int n;                  /* their length */
} rec_val;

/* A text or blob's length: mostly short (a one-byte serial type), one in
** eight 57 to 8,184 bytes, whose serial type takes two varint bytes (the
** header reader's second branch, ext/record.c). */
static int rec_val_random_length(test_rng *pRng){
  return rng_below(pRng, 8) ? (int)rng_below(pRng, 30) : 57 + (int)rng_below(pRng, 8128);
}

static void rec_val_random(rec_val *v, test_rng *pRng){
  uint64_t r = rng_next(pRng);
  int j;
  memset(v, 0, sizeof(*v));
  v->eType = 1 + (int)rng_below(pRng, 5);
  switch( v->eType ){
    case SQLITE_INTEGER:
      v->i = (sqlite3_int64)(r >> rng_below(pRng, 64));
      if( rng_below(pRng, 2) ) v->i = -v->i;
      break;
    case SQLITE_FLOAT:
      memcpy(&v->r, &r, sizeof(v->r));
      if( isnan(v->r) ) v->r = rng_below(pRng, 2) ? -0.0 : INFINITY;
      break;
    case SQLITE_TEXT:
      v->n = rec_val_random_length(pRng);
      for(j = 0; j < v->n; j++) v->a[j] = (uint8_t)(rng_below(pRng, 8) ? 'a' + rng_below(pRng, 26) : 0);
      break;
    case SQLITE_BLOB:
      v->n = rec_val_random_length(pRng);
      for(j = 0; j < v->n; j++) v->a[j] = (uint8_t)rng_next(pRng);
      break;
  }
}

static void rec_val_bind(sqlite3_stmt *pStmt, int iParam, const rec_val *v){
  switch( v->eType ){
    case SQLITE_INTEGER: sqlite3_bind_int64(pStmt, iParam, v->i); break;
    case SQLITE_FLOAT:   sqlite3_bind_double(pStmt, iParam, v->r); break;
    case SQLITE_TEXT:    sqlite3_bind_text(pStmt, iParam, (const char*)v->a, v->n, SQLITE_TRANSIENT); break;
    case SQLITE_BLOB:    sqlite3_bind_blob(pStmt, iParam, v->a, v->n, SQLITE_TRANSIENT); break;
    default:             sqlite3_bind_null(pStmt, iParam); break;
  }
}

/* Value columns per random record: more than record_encode keeps the
** types of on the stack (RECORD_TYPES_KEPT, 16), so both paths run. */
#define REC_NCOL 20

START_TEST(random_records_read_back_every_column){
  sqlite3 *db = ext_test_open_db();
  sqlite3_stmt *pEnc = NULL, *pCol = NULL;
  uint64_t seed = test_seed();
  test_rng rng;
  rec_val aVal[REC_NCOL];
  int iRow, nRow = test_scale(2000);
  rng_init(&rng, seed);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT recenc(?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                                      " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &pEnc, 0),
                   SQLITE_OK);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT reccol(?, ?)", -1, &pCol, 0), SQLITE_OK);
  for(iRow = 0; iRow < nRow; iRow++){
    const void *pRec;
    int nRec, i;
    sqlite3_bind_int(pEnc, 1, iRow);
    for(i = 0; i < REC_NCOL; i++){
      rec_val_random(&aVal[i], &rng);
      rec_val_bind(pEnc, i + 2, &aVal[i]);
    }
    ck_assert_int_eq(sqlite3_step(pEnc), SQLITE_ROW);
    pRec = sqlite3_column_blob(pEnc, 0);
    nRec = sqlite3_column_bytes(pEnc, 0);
    for(i = 0; i < REC_NCOL; i++){
      const rec_val *v = &aVal[i];
      int bSame;
      sqlite3_bind_blob(pCol, 1, pRec, nRec, SQLITE_STATIC);
      sqlite3_bind_int(pCol, 2, i);
      ck_assert_int_eq(sqlite3_step(pCol), SQLITE_ROW);
      bSame = sqlite3_column_type(pCol, 0) == v->eType;
      if( bSame && v->eType == SQLITE_INTEGER ) bSame = sqlite3_column_int64(pCol, 0) == v->i;
      if( bSame && v->eType == SQLITE_FLOAT ){
        double r = sqlite3_column_double(pCol, 0);
        bSame = memcmp(&r, &v->r, sizeof(r)) == 0;
      }
      if( bSame && (v->eType == SQLITE_TEXT || v->eType == SQLITE_BLOB) ){
        const void *p = sqlite3_column_blob(pCol, 0);
        bSame = sqlite3_column_bytes(pCol, 0) == v->n && (v->n == 0 || memcmp(p, v->a, (size_t)v->n) == 0);
      }
      SEED_ASSERT(bSame, "row %d column %d (type %d) read back wrong",
                  (unsigned long long)seed, iRow, i, v->eType);
      sqlite3_reset(pCol);
    }
    sqlite3_reset(pEnc);
  }
  sqlite3_finalize(pCol);
  sqlite3_finalize(pEnc);
  sqlite3_close(db);
}
END_TEST

static Suite *record_suite(void){
  Suite *s = suite_create("record");
  TCase *tc = tcase_create("record");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, ext_test_api_init, NULL);
  tcase_add_test(tc, every_storage_class_round_trips_exactly);
  tcase_add_test(tc, columns_past_the_last_read_as_null);
  tcase_add_test(tc, a_record_with_no_value_columns_is_two_bytes);
  tcase_add_test(tc, records_match_the_bytes_drawn_in_the_header);
  tcase_add_test(tc, the_key_comes_back_as_it_was_written);
  tcase_add_test(tc, negative_zero_key_keeps_its_sign);
  tcase_add_test(tc, a_key_flag_that_contradicts_the_key_is_corrupt);
  tcase_add_test(tc, malformed_records_are_corrupt);
  tcase_add_test(tc, flipped_bytes_never_crash_or_overread);
  tcase_add_test(tc, truncated_records_are_corrupt);
  tcase_add_test(tc, values_over_256_mib_are_too_big_before_any_copy);
  tcase_add_test(tc, random_records_read_back_every_column);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(record_suite)
