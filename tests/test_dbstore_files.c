/*
** test_dbstore_files.c — files written through the in-database store's
** env (ext/dbstore.c) become the chunk rows of <table>_file that the
** format in dbstore.c's header draws, whatever the sizes of the appends,
** and read back byte for byte, in any window (a scan reading ahead reads
** many rows at once); a read that needs a missing row is corruption.
**
** A file open to write inserts each chunk's row as soon as the chunk is
** full and its last, partial chunk at xSync or xClose (a sync followed by
** more appends replaces that row).  Two files written at once must still
** each get consecutive ids: the engine never does that, the env allows
** it.  The store is opened directly (dbstore_open, as vtab.c does) on an
** in-memory database; the bytes come from the seeded generator (the seed
** is printed on failure).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ext_test_api.h"
#include "lsm.h"
#include "testutil.h"

typedef struct files_fixture {
  sqlite3 *db;           /* in-memory database holding t_file and t_log */
  dbstore *pStore;       /* the store of table t */
  lsm_env *pEnv;         /* its env */
  size_t nChunk;         /* bytes per chunk row (length of a first row) */
} files_fixture;

static void fixture_open(files_fixture *f){
  lsm_options opt;
  char *zErr = NULL;
  ext_test_api_init();
  memset(f, 0, sizeof(*f));
  ck_assert_int_eq(sqlite3_open(":memory:", &f->db), SQLITE_OK);
  lsm_options_default(&opt);
  ck_assert_msg(dbstore_open(f->db, "main", "t", &opt, 1, &f->pStore, &zErr) == SQLITE_OK,
                "dbstore_open: %s", zErr ? zErr : "?");
  f->pEnv = dbstore_env(f->pStore);
  f->nChunk = 4096 - 35 - 64;     /* dbstore_chunk_bytes at the default page size */
  test_exec_ok(f->db, "BEGIN");
}

static void fixture_close(files_fixture *f){
  test_exec_ok(f->db, "COMMIT");
  dbstore_close(f->pStore);
  sqlite3_close(f->db);
}

static void fill_random(uint8_t *a, size_t n, test_rng *pRng){
  size_t i;
  for(i = 0; i < n; i++) a[i] = (uint8_t)rng_next(pRng);
}

/* Append a[0..n) to pFile in pieces of the given sizes (cycled). */
static void append_pieces(files_fixture *f, lsm_file *pFile, const uint8_t *a, size_t n,
                          const size_t *aPiece, int nPiece){
  size_t iOff = 0;
  int i = 0;
  while( iOff < n ){
    size_t nPart = aPiece[i++ % nPiece];
    if( nPart > n - iOff ) nPart = n - iOff;
    ck_assert_int_eq(f->pEnv->xAppend(pFile, a + iOff, nPart), LSM_OK);
    iOff += nPart;
  }
}

/* zName reads back as exactly a[0..n), through a new read handle, and its
** rows are the format's: consecutive ids, each chunk full but the last. */
static void check_file(files_fixture *f, const char *zName, const uint8_t *a, size_t n,
                       uint64_t iSeed){
  lsm_file *pFile = NULL;
  uint8_t *aRead = malloc(n + 1);
  size_t nRead = 0;
  uint64_t nSize = 0;
  char *zSql;
  int nRows = (int)(n == 0 ? 1 : (n + f->nChunk - 1) / f->nChunk);
  ck_assert_ptr_nonnull(aRead);
  ck_assert_msg(f->pEnv->xOpen(f->pEnv, zName, 0, &pFile) == LSM_OK, "open %s: %s (seed %llu)",
                zName, lsm_errmsg(0), (unsigned long long)iSeed);
  ck_assert_int_eq(f->pEnv->xSize(pFile, &nSize), LSM_OK);
  ck_assert_msg(nSize == n, "%s: %llu bytes, wrote %zu (seed %llu)", zName,
                (unsigned long long)nSize, n, (unsigned long long)iSeed);
  ck_assert_int_eq(f->pEnv->xRead(pFile, 0, aRead, n + 1, &nRead), LSM_OK);
  ck_assert_msg(nRead == n && memcmp(aRead, a, n) == 0, "%s reads back other bytes (seed %llu)",
                zName, (unsigned long long)iSeed);
  ck_assert_int_eq(f->pEnv->xClose(pFile), LSM_OK);
  zSql = sqlite3_mprintf("SELECT count(*) = %d AND max(id) - min(id) = %d"
                         " AND (SELECT length(data) FROM t_file WHERE name = %Q) = %lld"
                         " FROM t_file WHERE name = %Q OR name GLOB %Q || ':*'",
                         nRows, nRows - 1, zName,
                         (long long)(n < f->nChunk ? n : f->nChunk), zName, zName);
  ck_assert_msg(test_query_int(f->db, zSql) == 1,
                "%s: its rows are not %d consecutive chunks (seed %llu)", zName, nRows,
                (unsigned long long)iSeed);
  sqlite3_free(zSql);
  free(aRead);
}

START_TEST(a_file_appended_in_any_pieces_is_its_chunk_rows_and_reads_back){
  static const size_t aPiece[] = { 1, 3996, 3997, 3998, 10000, 7, 4096, 2 };
  uint64_t iSeed = test_seed();
  test_rng rng;
  rng_init(&rng, iSeed);
  files_fixture f;
  size_t aSize[] = { 0, 1, 3996, 3997, 3998, 7994, 7995, 50000 };
  size_t i;
  fixture_open(&f);
  for(i = 0; i < sizeof(aSize) / sizeof(aSize[0]); i++){
    size_t n = aSize[i];
    uint8_t *a = malloc(n + 1);
    lsm_file *pFile = NULL;
    char zName[32];
    snprintf(zName, sizeof(zName), "%06zu.sst", i + 1);
    fill_random(a, n, &rng);
    ck_assert_int_eq(f.pEnv->xOpen(f.pEnv, zName, LSM_OPEN_WRITE | LSM_OPEN_EXCL, &pFile),
                     LSM_OK);
    append_pieces(&f, pFile, a, n, aPiece + i % 8, 8 - (int)(i % 8));
    ck_assert_int_eq(f.pEnv->xSync(pFile), LSM_OK);
    ck_assert_int_eq(f.pEnv->xClose(pFile), LSM_OK);
    check_file(&f, zName, a, n, iSeed);
    free(a);
  }
  fixture_close(&f);
}
END_TEST

START_TEST(a_file_synced_then_appended_to_replaces_its_last_row){
  uint64_t iSeed = test_seed();
  test_rng rng;
  rng_init(&rng, iSeed);
  files_fixture f;
  size_t n = 3 * 3997 + 1234, nFirst = 3997 + 100, nSecond = 3997 + 50;
  uint8_t *a = malloc(n);
  lsm_file *pFile = NULL;
  fixture_open(&f);
  fill_random(a, n, &rng);
  ck_assert_int_eq(f.pEnv->xOpen(f.pEnv, "MANIFEST.tmp", LSM_OPEN_WRITE | LSM_OPEN_EXCL, &pFile),
                   LSM_OK);
  ck_assert_int_eq(f.pEnv->xAppend(pFile, a, nFirst), LSM_OK);
  ck_assert_int_eq(f.pEnv->xSync(pFile), LSM_OK);        /* rows: 3997, 100 */
  ck_assert_int_eq(f.pEnv->xAppend(pFile, a + nFirst, nSecond), LSM_OK);
  ck_assert_int_eq(f.pEnv->xSync(pFile), LSM_OK);        /* 3997, 3997, 150 */
  ck_assert_int_eq(f.pEnv->xAppend(pFile, a + nFirst + nSecond, n - nFirst - nSecond), LSM_OK);
  ck_assert_int_eq(f.pEnv->xClose(pFile), LSM_OK);       /* close stores the rest */
  check_file(&f, "MANIFEST.tmp", a, n, iSeed);
  free(a);
  fixture_close(&f);
}
END_TEST

START_TEST(two_files_written_at_once_each_keep_consecutive_rows){
  uint64_t iSeed = test_seed();
  test_rng rng;
  rng_init(&rng, iSeed);
  files_fixture f;
  size_t nA = 5 * 3997 + 10, nB = 3 * 3997 + 20, nA1 = 2 * 3997 + 500;
  uint8_t *aA = malloc(nA), *aB = malloc(nB);
  lsm_file *pA = NULL, *pB = NULL;
  fixture_open(&f);
  fill_random(aA, nA, &rng);
  fill_random(aB, nB, &rng);
  ck_assert_int_eq(f.pEnv->xOpen(f.pEnv, "000001.sst", LSM_OPEN_WRITE | LSM_OPEN_EXCL, &pA),
                   LSM_OK);
  ck_assert_int_eq(f.pEnv->xOpen(f.pEnv, "000002.sst", LSM_OPEN_WRITE | LSM_OPEN_EXCL, &pB),
                   LSM_OK);
  ck_assert_int_eq(f.pEnv->xAppend(pA, aA, nA1), LSM_OK);        /* A: rows 1, 2 */
  ck_assert_int_eq(f.pEnv->xAppend(pB, aB, nB), LSM_OK);         /* B: rows 3 .. 5 */
  ck_assert_int_eq(f.pEnv->xClose(pB), LSM_OK);                  /* B: row 6 */
  ck_assert_int_eq(f.pEnv->xAppend(pA, aA + nA1, nA - nA1), LSM_OK);   /* A moves on */
  ck_assert_int_eq(f.pEnv->xClose(pA), LSM_OK);
  check_file(&f, "000001.sst", aA, nA, iSeed);
  check_file(&f, "000002.sst", aB, nB, iSeed);
  free(aA);
  free(aB);
  fixture_close(&f);
}
END_TEST

/* A failed lookup of where a file's first chunk goes (an authorizer that
** denies one read of t_file) leaves the file with no place yet: its
** store at xClose looks again instead of replacing row 1, the MANIFEST
** (the file once took id max(id) + 1 = 1 whatever the lookup's outcome). */
static int g_bDenyFileRead;
static int deny_one_file_read(void *pArg, int eOp, const char *z1, const char *z2,
                              const char *z3, const char *z4){
  (void)pArg; (void)z2; (void)z3; (void)z4;
  if( g_bDenyFileRead && eOp == SQLITE_READ && z1 && strcmp(z1, "t_file") == 0 ){
    g_bDenyFileRead = 0;
    return SQLITE_DENY;
  }
  return SQLITE_OK;
}

START_TEST(a_failed_first_chunk_lookup_never_replaces_another_row){
  files_fixture f;
  lsm_file *pFile = NULL;
  char *zBefore, *zAfter;
  lsm_options opt;
  char *zErr = NULL;
  fixture_open(&f);
  test_exec_ok(f.db, "COMMIT");
  /* A store opened afresh: its statements are prepared under the authorizer. */
  dbstore_close(f.pStore);
  lsm_options_default(&opt);
  ck_assert_msg(dbstore_open(f.db, "main", "t", &opt, 0, &f.pStore, &zErr) == SQLITE_OK,
                "dbstore_open: %s", zErr ? zErr : "?");
  f.pEnv = dbstore_env(f.pStore);
  zBefore = test_query_text(f.db, "SELECT group_concat(id || '=' || name, ' ') FROM t_file");
  ck_assert_int_eq(test_query_int(f.db, "SELECT count(*) FROM t_file WHERE id = 1"), 1);
  test_exec_ok(f.db, "BEGIN");
  ck_assert_int_eq(f.pEnv->xOpen(f.pEnv, "000009.sst", LSM_OPEN_WRITE, &pFile), LSM_OK);
  ck_assert_int_eq(f.pEnv->xAppend(pFile, "0123456789", 10), LSM_OK);
  sqlite3_set_authorizer(f.db, deny_one_file_read, 0);
  g_bDenyFileRead = 1;
  ck_assert_int_ne(f.pEnv->xSync(pFile), LSM_OK);
  ck_assert_int_eq(f.pEnv->xClose(pFile), LSM_OK);
  sqlite3_set_authorizer(f.db, 0, 0);
  zAfter = test_query_text(f.db, "SELECT group_concat(id || '=' || name, ' ') FROM t_file"
                                 " WHERE name <> '000009.sst'");
  ck_assert_msg(strcmp(zBefore, zAfter) == 0, "rows before: %s; after: %s", zBefore, zAfter);
  ck_assert_int_eq(test_query_int(f.db, "SELECT length(data) FROM t_file"
                                        " WHERE name = '000009.sst'"), 10);
  sqlite3_free(zBefore);
  sqlite3_free(zAfter);
  fixture_close(&f);
}
END_TEST

/*
** Reads of any window of a file of many chunks, as a scan reading ahead
** asks for them (one xRead over several blocks, so over several chunk
** rows): windows inside one row, across rows, ending at the last (short)
** chunk and past the end of the file (a short count, as a file's end
** gives).  Seeded windows, plus every window that starts or ends at a
** chunk boundary.
*/
START_TEST(any_window_of_a_file_of_many_chunks_reads_back){
  uint64_t iSeed = test_seed();
  test_rng rng;
  files_fixture f;
  static const size_t aTail[] = { 1, 1000, 3996 };   /* bytes in the last chunk */
  size_t t;
  rng_init(&rng, iSeed);
  fixture_open(&f);
  for(t = 0; t < sizeof(aTail) / sizeof(aTail[0]); t++){
    size_t n = 12 * f.nChunk + aTail[t], i;
    uint8_t *a = malloc(n), *b = malloc(n + 100);
    lsm_file *pFile = NULL;
    char zName[32];
    snprintf(zName, sizeof(zName), "%06zu.sst", t + 1);
    fill_random(a, n, &rng);
    ck_assert_int_eq(f.pEnv->xOpen(f.pEnv, zName, LSM_OPEN_WRITE | LSM_OPEN_EXCL, &pFile),
                     LSM_OK);
    ck_assert_int_eq(f.pEnv->xAppend(pFile, a, n), LSM_OK);
    ck_assert_int_eq(f.pEnv->xClose(pFile), LSM_OK);
    ck_assert_int_eq(f.pEnv->xOpen(f.pEnv, zName, 0, &pFile), LSM_OK);
    for(i = 0; i < 400; i++){
      size_t iOff, nWant, nRead = 0, nExpect;
      if( i < 26 ){
        /* Boundaries: a chunk's first byte to another chunk's last, and
        ** from inside the last chunk past the end. */
        iOff = (i % 13) * f.nChunk;
        nWant = i < 13 ? n - iOff : (size_t)(13 - i % 13) * f.nChunk + 50;
      }else{
        iOff = (size_t)(rng_next(&rng) % n);
        nWant = 1 + (size_t)(rng_next(&rng) % (6 * f.nChunk));
      }
      nExpect = iOff + nWant > n ? n - iOff : nWant;
      ck_assert_msg(f.pEnv->xRead(pFile, iOff, b, nWant, &nRead) == LSM_OK, "%s: read at %zu: %s",
                    zName, iOff, lsm_errmsg(NULL));
      ck_assert_msg(nRead == nExpect && memcmp(b, a + iOff, nExpect) == 0,
                    "%s: %zu bytes at %zu: read %zu, expected %zu%s (seed %llu)", zName, nWant,
                    iOff, nRead, nExpect, nRead == nExpect ? " (other bytes)" : "",
                    (unsigned long long)iSeed);
    }
    ck_assert_int_eq(f.pEnv->xClose(pFile), LSM_OK);
    free(a);
    free(b);
  }
  fixture_close(&f);
}
END_TEST

/*
** A chunk row gone missing (a damaged database): a read that needs it is
** LSM_CORRUPT naming the row and the file; reads of the rows around it
** still return their bytes.
*/
START_TEST(a_read_across_a_missing_chunk_row_is_corruption_naming_it){
  uint64_t iSeed = test_seed();
  test_rng rng;
  files_fixture f;
  size_t n, nRead = 0;
  uint8_t *a, *b;
  lsm_file *pFile = NULL;
  sqlite3_int64 iMissing;
  char zMsg[96];
  rng_init(&rng, iSeed);
  fixture_open(&f);
  n = 10 * f.nChunk + 77;
  a = malloc(n);
  b = malloc(n);
  fill_random(a, n, &rng);
  ck_assert_int_eq(f.pEnv->xOpen(f.pEnv, "000001.sst", LSM_OPEN_WRITE | LSM_OPEN_EXCL, &pFile),
                   LSM_OK);
  ck_assert_int_eq(f.pEnv->xAppend(pFile, a, n), LSM_OK);
  ck_assert_int_eq(f.pEnv->xClose(pFile), LSM_OK);
  ck_assert_int_eq(f.pEnv->xOpen(f.pEnv, "000001.sst", 0, &pFile), LSM_OK);
  iMissing = test_query_int(f.db, "SELECT id FROM t_file WHERE name = '000001.sst:5'");
  test_exec_ok(f.db, "DELETE FROM t_file WHERE name = '000001.sst:5'");
  /* Rows 2 .. 8 (chunk 5 among them): corrupt, naming the missing one. */
  ck_assert_int_eq(f.pEnv->xRead(pFile, 2 * f.nChunk + 10, b, 6 * f.nChunk, &nRead),
                   LSM_CORRUPT);
  snprintf(zMsg, sizeof(zMsg), "row %lld of 000001.sst is missing or short", (long long)iMissing);
  ck_assert_msg(strstr(lsm_errmsg(NULL), zMsg) != NULL, "message: %s", lsm_errmsg(NULL));
  /* Rows 0 .. 4 and 6 .. 10 read as written. */
  ck_assert_int_eq(f.pEnv->xRead(pFile, 0, b, 5 * f.nChunk, &nRead), LSM_OK);
  ck_assert(nRead == 5 * f.nChunk && memcmp(b, a, nRead) == 0);
  ck_assert_int_eq(f.pEnv->xRead(pFile, 6 * f.nChunk, b, n, &nRead), LSM_OK);
  ck_assert(nRead == n - 6 * f.nChunk && memcmp(b, a + 6 * f.nChunk, nRead) == 0);
  ck_assert_int_eq(f.pEnv->xClose(pFile), LSM_OK);
  free(a);
  free(b);
  fixture_close(&f);
}
END_TEST

static Suite *dbstore_files_suite(void){
  Suite *s = suite_create("dbstore_files");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, a_file_appended_in_any_pieces_is_its_chunk_rows_and_reads_back);
  tcase_add_test(tc, a_file_synced_then_appended_to_replaces_its_last_row);
  tcase_add_test(tc, two_files_written_at_once_each_keep_consecutive_rows);
  tcase_add_test(tc, a_failed_first_chunk_lookup_never_replaces_another_row);
  tcase_add_test(tc, any_window_of_a_file_of_many_chunks_reads_back);
  tcase_add_test(tc, a_read_across_a_missing_chunk_row_is_corruption_naming_it);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(dbstore_files_suite)
