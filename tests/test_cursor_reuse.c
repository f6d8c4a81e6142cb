/*
** test_cursor_reuse.c — a cursor used again reads exactly what a new one
** would.
**
** The engine's lsm_cursor_refresh keeps a cursor's iterators while the
** store's view is unchanged (lsm/db_read.c), and the lsm table keeps its
** engine cursor between executions of a statement (ext/vtab.c).  Each test
** here changes what a new cursor would see between two uses of one
** cursor, in each way it can change, and compares with the expected rows:
**
**   engine: committed writes (puts, deletes), a flush, a compaction, a
**     snapshot, and the operations of a batch read through (grown,
**     truncated as ROLLBACK TO does, emptied); a closed cursor that the
**     next lsm_cursor_open reuses, and that a compaction frees so that it
**     keeps no replaced SSTable and, parked, no pinned block or long
**     copy; seeks from table to table of one level,
**     whose level iterator reuses one table iterator;
**   SQL, a prepared seek run again: after another connection's commit
**     (directory store and in-database store), after the statement's own
**     transaction wrote, after ROLLBACK TO and ROLLBACK, after lsm_flush
**     and lsm_compact; and a table whose engine cursor is kept can still
**     be renamed and dropped.
**
** No randomness; the seed is printed on failure for uniformity.
*/
#include <malloc.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultenv.h"
#include "lsm.h"
#include "testutil.h"

int sqlite3_lsm_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

static char *g_zDir;

static void setup(void){
  sqlite3_auto_extension((void(*)(void))sqlite3_lsm_init);
  g_zDir = test_tmpdir("cursor_reuse");
}
static void teardown(void){
  sqlite3_reset_auto_extension();
  test_rmtree(g_zDir);
  free(g_zDir);
}

/* ---- engine ---- */

static lsm_db *open_store_env(lsm_env *pEnv){
  lsm_options opt;
  lsm_db *pDb = NULL;
  char zPath[4096];
  lsm_options_default(&opt);
  opt.background = 0;
  opt.env = pEnv;
  snprintf(zPath, sizeof(zPath), "%s/store", g_zDir);
  ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_OK);
  return pDb;
}
static lsm_db *open_store(void){
  return open_store_env(NULL);
}

static void put(lsm_db *pDb, const char *zKey, const char *zVal){
  ck_assert_int_eq(lsm_put(pDb, zKey, strlen(zKey), zVal, strlen(zVal)), LSM_OK);
}

/* Every row from the first, "key=value" joined by spaces, into z. */
static const char *cursor_rows(lsm_cursor *pCsr, char *z, size_t nz){
  size_t n = 0;
  z[0] = 0;
  ck_assert_int_eq(lsm_cursor_first(pCsr), LSM_OK);
  while( lsm_cursor_valid(pCsr) ){
    const void *pK, *pV;
    size_t nK, nV;
    ck_assert_int_eq(lsm_cursor_key(pCsr, &pK, &nK), LSM_OK);
    ck_assert_int_eq(lsm_cursor_value(pCsr, &pV, &nV), LSM_OK);
    n += (size_t)snprintf(z + n, nz - n, "%s%.*s=%.*s", n ? " " : "", (int)nK,
                          (const char*)pK, (int)nV, (const char*)pV);
    ck_assert(n < nz);
    ck_assert_int_eq(lsm_cursor_next(pCsr), LSM_OK);
  }
  return z;
}

/* Refresh pCsr to pRead and check its rows. */
static void refresh_and_expect(lsm_cursor *pCsr, const lsm_read *pRead, const char *zWant){
  char z[512];
  ck_assert_int_eq(lsm_cursor_refresh(pCsr, pRead), LSM_OK);
  ck_assert_msg(strcmp(cursor_rows(pCsr, z, sizeof(z)), zWant) == 0,
                "seed %llu: refreshed cursor read '%s', expected '%s'",
                (unsigned long long)test_seed(), z, zWant);
}

START_TEST(a_refreshed_cursor_sees_commits_flushes_and_compactions){
  lsm_db *pDb = open_store();
  lsm_cursor *pCsr = NULL;
  lsm_snapshot *pSnap = NULL;
  lsm_read snap;
  char z[512];
  put(pDb, "a", "1");
  put(pDb, "b", "1");
  ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pCsr), LSM_OK);
  ck_assert_int_eq(lsm_cursor_bounds(pCsr, "b", 1, 0, NULL, 0, 0), LSM_OK);
  ck_assert_str_eq(cursor_rows(pCsr, z, sizeof(z)), "b=1");

  /* Same view, later commits: the bounds go, the new versions show. */
  put(pDb, "c", "1");
  put(pDb, "b", "2");
  ck_assert_int_eq(lsm_delete(pDb, "a", 1), LSM_OK);
  refresh_and_expect(pCsr, NULL, "b=2 c=1");

  /* A new view: the memtable went to a table. */
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  refresh_and_expect(pCsr, NULL, "b=2 c=1");
  put(pDb, "d", "1");
  refresh_and_expect(pCsr, NULL, "b=2 c=1 d=1");

  /* A snapshot reads its own time, whatever came after it. */
  ck_assert_int_eq(lsm_snapshot_acquire(pDb, &pSnap), LSM_OK);
  put(pDb, "e", "1");
  memset(&snap, 0, sizeof(snap));
  snap.pSnapshot = pSnap;
  refresh_and_expect(pCsr, &snap, "b=2 c=1 d=1");
  refresh_and_expect(pCsr, NULL, "b=2 c=1 d=1 e=1");

  /* Another new view: compaction. */
  ck_assert_int_eq(lsm_delete(pDb, "c", 1), LSM_OK);
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  refresh_and_expect(pCsr, NULL, "b=2 d=1 e=1");
  refresh_and_expect(pCsr, &snap, "b=2 c=1 d=1");

  lsm_cursor_close(pCsr);
  lsm_snapshot_release(pSnap);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
}
END_TEST

/* Open a cursor on pRead and check its rows; returns it, open. */
static lsm_cursor *open_and_expect(lsm_db *pDb, const lsm_read *pRead, const char *zWant){
  lsm_cursor *pCsr = NULL;
  char z[512];
  ck_assert_int_eq(lsm_cursor_open(pDb, pRead, &pCsr), LSM_OK);
  ck_assert_msg(strcmp(cursor_rows(pCsr, z, sizeof(z)), zWant) == 0,
                "seed %llu: cursor read '%s', expected '%s'",
                (unsigned long long)test_seed(), z, zWant);
  return pCsr;
}

static uint64_t open_cursors(lsm_db *pDb){
  lsm_stats st;
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  return st.nOpenCursors;
}

START_TEST(a_cursor_closed_and_opened_again_reads_what_a_new_one_would){
  faultenv *fe = faultenv_new(NULL);
  lsm_db *pDb = open_store_env(faultenv_env(fe));
  lsm_batch *pBatch = NULL;
  lsm_cursor *pCsr;
  lsm_read rd;
  put(pDb, "a", "1");
  put(pDb, "b", "1");
  pCsr = open_and_expect(pDb, NULL, "a=1 b=1");
  ck_assert_int_eq(lsm_cursor_bounds(pCsr, "b", 1, 0, NULL, 0, 0), LSM_OK);
  ck_assert_int_eq(lsm_cursor_first(pCsr), LSM_OK);
  lsm_cursor_close(pCsr);
  ck_assert_uint_eq(open_cursors(pDb), 0);

  /* The closed cursor is the next one opened, with its iterators (nothing
  ** allocated), without its bounds and position. */
  faultenv_reset_counts(fe);
  pCsr = open_and_expect(pDb, NULL, "a=1 b=1");
  ck_assert_uint_eq(faultenv_count(fe, FAULTENV_ALLOC), 0);
  ck_assert_uint_eq(open_cursors(pDb), 1);
  lsm_cursor_close(pCsr);

  /* Later commits, a flush, a compaction. */
  put(pDb, "c", "1");
  ck_assert_int_eq(lsm_delete(pDb, "a", 1), LSM_OK);
  lsm_cursor_close(open_and_expect(pDb, NULL, "b=1 c=1"));
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  put(pDb, "d", "1");
  lsm_cursor_close(open_and_expect(pDb, NULL, "b=1 c=1 d=1"));
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  lsm_cursor_close(open_and_expect(pDb, NULL, "b=1 c=1 d=1"));

  /* A batch read through, and a read without it after. */
  ck_assert_int_eq(lsm_batch_new(pDb, &pBatch), LSM_OK);
  ck_assert_int_eq(lsm_batch_put(pBatch, "e", 1, "2", 1), LSM_OK);
  ck_assert_int_eq(lsm_batch_delete(pBatch, "b", 1), LSM_OK);
  memset(&rd, 0, sizeof(rd));
  rd.pBatch = pBatch;
  rd.nBatchOps = lsm_batch_count(pBatch);
  lsm_cursor_close(open_and_expect(pDb, &rd, "c=1 d=1 e=2"));
  lsm_cursor_close(open_and_expect(pDb, NULL, "b=1 c=1 d=1"));
  lsm_batch_free(pBatch);
  ck_assert_uint_eq(open_cursors(pDb), 0);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  faultenv_free(fe);
}
END_TEST

/* Whether the store's directory holds the file zName. */
static int store_has_file(const char *zName){
  char zPath[4096];
  FILE *f;
  snprintf(zPath, sizeof(zPath), "%s/store/%s", g_zDir, zName);
  f = fopen(zPath, "rb");
  if( f ) fclose(f);
  return f != NULL;
}

START_TEST(a_closed_cursor_keeps_no_sstable_a_compaction_replaced){
  lsm_db *pDb = open_store();
  lsm_file_info *aFile = NULL;
  char zOld[32];
  int nFile = 0;
  put(pDb, "a", "1");
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  put(pDb, "b", "1");
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  ck_assert_int_eq(lsm_files(pDb, &aFile, &nFile), LSM_OK);
  ck_assert_int_eq(nFile, 2);
  snprintf(zOld, sizeof(zOld), "%s", aFile[0].zName);
  lsm_free(aFile);
  ck_assert(store_has_file(zOld));

  /* The closed cursor read zOld; the compaction's new view frees it, so
  ** zOld goes with the compaction, not at the next open. */
  lsm_cursor_close(open_and_expect(pDb, NULL, "a=1 b=1"));
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  ck_assert_msg(!store_has_file(zOld), "a closed cursor kept %s after the compaction", zOld);
  lsm_cursor_close(open_and_expect(pDb, NULL, "a=1 b=1"));
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
}
END_TEST

/* ---- an env that counts the heap bytes it holds (malloc_usable_size) ---- */

static lsm_env g_countEnv;
static int64_t g_nHeapLive;

static void *count_malloc(lsm_env *pEnv, size_t n){
  void *p = malloc(n);
  (void)pEnv;
  if( p ) g_nHeapLive += (int64_t)malloc_usable_size(p);
  return p;
}
static void *count_realloc(lsm_env *pEnv, void *pOld, size_t n){
  size_t nOld = pOld ? malloc_usable_size(pOld) : 0;
  void *p = realloc(pOld, n);
  (void)pEnv;
  if( p ){
    g_nHeapLive += (int64_t)malloc_usable_size(p) - (int64_t)nOld;
  }else if( n == 0 ){
    g_nHeapLive -= (int64_t)nOld;
  }
  return p;
}
static void count_free(lsm_env *pEnv, void *p){
  (void)pEnv;
  if( p ) g_nHeapLive -= (int64_t)malloc_usable_size(p);
  free(p);
}


/* A store named zName under the test directory whose heap goes through
** g_countEnv (g_nHeapLive), its flushes in the caller's thread and a
** 1 MiB block cache; bMmap 0: blocks read with xRead, uncompressed (so a
** scan reads ahead). */
static lsm_db *open_counted_store(const char *zName, int bMmap){
  lsm_options opt;
  char zPath[4096];
  lsm_db *pDb = NULL;
  g_countEnv = *lsm_env_default();
  g_countEnv.xMalloc = count_malloc;
  g_countEnv.xRealloc = count_realloc;
  g_countEnv.xFree = count_free;
  lsm_options_default(&opt);
  opt.background = 0;
  opt.env = &g_countEnv;
  opt.block_cache_bytes = (uint64_t)1 << 20;
  if( !bMmap ){
    opt.use_mmap = 0;
    opt.compression = LSM_COMPRESSION_NONE;
  }
  snprintf(zPath, sizeof(zPath), "%s/%s", g_zDir, zName);
  ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_OK);
  return pDb;
}

/* A closed cursor kept for the next open holds no pinned block and no
** long copy: after reading a value of 8 MiB forwards (its block pinned)
** and backwards (the value copied too), closing gives the heap back.  The
** block cache is 1 MiB, so a released block of 8 MiB is not kept there. */
START_TEST(a_closed_cursor_holds_no_block_and_no_long_copy){
  const size_t nBig = (size_t)8 << 20;
  char *zBig = malloc(nBig);
  lsm_db *pDb;
  lsm_cursor *pCsr;
  const void *pVal;
  size_t nVal;
  int64_t nBefore;
  int bForward;
  ck_assert_ptr_nonnull(zBig);
  memset(zBig, 'v', nBig);
  pDb = open_counted_store("store", 1);
  ck_assert_int_eq(lsm_put(pDb, "a", 1, zBig, nBig), LSM_OK);
  put(pDb, "b", "1");
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  free(zBig);
  for(bForward = 1; bForward >= 0; bForward--){
    nBefore = g_nHeapLive;
    ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pCsr), LSM_OK);
    if( bForward ){
      ck_assert_int_eq(lsm_cursor_first(pCsr), LSM_OK);
    }else{
      ck_assert_int_eq(lsm_cursor_last(pCsr), LSM_OK);
      ck_assert_int_eq(lsm_cursor_prev(pCsr), LSM_OK);
    }
    ck_assert_int_eq(lsm_cursor_value(pCsr, &pVal, &nVal), LSM_OK);
    ck_assert_uint_eq(nVal, nBig);
    ck_assert_int_eq(((const char*)pVal)[nBig - 1], 'v');
    ck_assert_msg(g_nHeapLive - nBefore >= (int64_t)nBig,
                  "reading the value held %lld bytes", (long long)(g_nHeapLive - nBefore));
    lsm_cursor_close(pCsr);
    ck_assert_msg(g_nHeapLive - nBefore < ((int64_t)1 << 20),
                  "%s: the closed cursor holds %lld bytes", bForward ? "forwards" : "backwards",
                  (long long)(g_nHeapLive - nBefore));
  }
  /* The kept cursor, reused, reads both rows again. */
  ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pCsr), LSM_OK);
  ck_assert_int_eq(lsm_cursor_first(pCsr), LSM_OK);
  ck_assert_int_eq(lsm_cursor_value(pCsr, &pVal, &nVal), LSM_OK);
  ck_assert_uint_eq(nVal, nBig);
  ck_assert_int_eq(lsm_cursor_next(pCsr), LSM_OK);
  ck_assert_int_eq(lsm_cursor_value(pCsr, &pVal, &nVal), LSM_OK);
  ck_assert_uint_eq(nVal, 1);
  ck_assert_int_eq(lsm_cursor_next(pCsr), LSM_OK);
  ck_assert(!lsm_cursor_valid(pCsr));
  lsm_cursor_close(pCsr);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
}
END_TEST

/* The level iterator reuses one table iterator for every table of its
** level it moves to (table_iter_retarget): random seeks that land in one
** table after another, at every block number, must each read their own
** table's entries. */
START_TEST(seeks_moving_between_the_tables_of_a_level_read_each_tables_entries){
  unsigned long long seed = test_seed();
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_cursor *pCsr = NULL;
  lsm_file_info *aFile = NULL;
  char zPath[4096], zKey[16], zVal[128];
  int nFile = 0, i, nKey = 12000;
  test_rng rng;
  rng_init(&rng, seed);
  lsm_options_default(&opt);
  opt.background = 0;
  opt.memtable_bytes = 64 * 1024;      /* tables of 256 KiB (compaction_pick.c) */
  opt.block_bytes = 16384;             /* few blocks a table: block numbers repeat */
  opt.compression = LSM_COMPRESSION_NONE;
  snprintf(zPath, sizeof(zPath), "%s/store", g_zDir);
  ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_OK);
  for(i = 0; i < nKey; i++){
    snprintf(zKey, sizeof(zKey), "k%06d", 2 * i);
    snprintf(zVal, sizeof(zVal), "%0100d", 2 * i);
    ck_assert_int_eq(lsm_put(pDb, zKey, strlen(zKey), zVal, strlen(zVal)), LSM_OK);
  }
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  ck_assert_int_eq(lsm_files(pDb, &aFile, &nFile), LSM_OK);
  ck_assert_msg(nFile >= 3, "one level of several tables expected, got %d", nFile);
  for(i = 1; i < nFile; i++) ck_assert_int_eq(aFile[i].iLevel, aFile[0].iLevel);
  lsm_free(aFile);

  ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pCsr), LSM_OK);
  for(i = 0; i < 3000; i++){
    int iWant = (int)rng_below(&rng, (uint64_t)nKey * 2), j;
    snprintf(zKey, sizeof(zKey), "k%06d", iWant);
    iWant += iWant & 1;                /* odd keys are absent: the next even one */
    ck_assert_int_eq(lsm_cursor_seek(pCsr, zKey, strlen(zKey), LSM_SEEK_GE), LSM_OK);
    for(j = 0; j < 3 && iWant < 2 * nKey; j++, iWant += 2){
      const void *pK, *pV;
      size_t nK, nV;
      char zWantKey[16], zWantVal[128];
      snprintf(zWantKey, sizeof(zWantKey), "k%06d", iWant);
      snprintf(zWantVal, sizeof(zWantVal), "%0100d", iWant);
      SEED_ASSERT(lsm_cursor_valid(pCsr), "seek %d: no entry for %s", seed, i, zWantKey);
      ck_assert_int_eq(lsm_cursor_key(pCsr, &pK, &nK), LSM_OK);
      ck_assert_int_eq(lsm_cursor_value(pCsr, &pV, &nV), LSM_OK);
      SEED_ASSERT(nK == strlen(zWantKey) && memcmp(pK, zWantKey, nK) == 0
                  && nV == strlen(zWantVal) && memcmp(pV, zWantVal, nV) == 0,
                  "seek %d: read %.*s, expected %s", seed, i, (int)nK, (const char*)pK, zWantKey);
      ck_assert_int_eq(lsm_cursor_next(pCsr), LSM_OK);
    }
  }
  lsm_cursor_close(pCsr);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
}
END_TEST

START_TEST(a_refreshed_cursor_reads_the_batch_as_it_is_now){
  lsm_db *pDb = open_store();
  lsm_batch *pBatch = NULL;
  lsm_cursor *pCsr = NULL;
  lsm_read rd;
  char z[512];
  put(pDb, "a", "1");
  ck_assert_int_eq(lsm_batch_new(pDb, &pBatch), LSM_OK);
  memset(&rd, 0, sizeof(rd));
  rd.pBatch = pBatch;

  /* No operations yet, then one: the cursor starts without the batch. */
  ck_assert_int_eq(lsm_cursor_open(pDb, &rd, &pCsr), LSM_OK);
  ck_assert_str_eq(cursor_rows(pCsr, z, sizeof(z)), "a=1");
  ck_assert_int_eq(lsm_batch_put(pBatch, "x", 1, "1", 1), LSM_OK);
  rd.nBatchOps = lsm_batch_count(pBatch);
  refresh_and_expect(pCsr, &rd, "a=1 x=1");

  /* The batch grows: its index is extended in place. */
  ck_assert_int_eq(lsm_batch_put(pBatch, "y", 1, "1", 1), LSM_OK);
  ck_assert_int_eq(lsm_batch_delete(pBatch, "a", 1), LSM_OK);
  rd.nBatchOps = lsm_batch_count(pBatch);
  refresh_and_expect(pCsr, &rd, "x=1 y=1");
  /* Fewer operations than the batch holds. */
  rd.nBatchOps = 1;
  refresh_and_expect(pCsr, &rd, "a=1 x=1");

  /* ROLLBACK TO: truncated, then written again. */
  lsm_batch_truncate(pBatch, 1);
  ck_assert_int_eq(lsm_batch_put(pBatch, "z", 1, "1", 1), LSM_OK);
  rd.nBatchOps = lsm_batch_count(pBatch);
  refresh_and_expect(pCsr, &rd, "a=1 x=1 z=1");

  /* A commit of another writer meanwhile, and the batch emptied. */
  put(pDb, "b", "1");
  refresh_and_expect(pCsr, &rd, "a=1 b=1 x=1 z=1");
  lsm_batch_clear(pBatch);
  rd.nBatchOps = 0;
  refresh_and_expect(pCsr, &rd, "a=1 b=1");

  lsm_cursor_close(pCsr);
  lsm_batch_free(pBatch);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
}
END_TEST

/* ---- SQL ---- */

static sqlite3 *open_db(const char *zName){
  sqlite3 *db = NULL;
  char zPath[4096];
  snprintf(zPath, sizeof(zPath), "%s/%s", g_zDir, zName);
  ck_assert_int_eq(sqlite3_open(zPath, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  return db;
}

static void exec_ok(sqlite3 *db, const char *zSql){
  char *zErr = NULL;
  int rc = sqlite3_exec(db, zSql, 0, 0, &zErr);
  ck_assert_msg(rc == SQLITE_OK, "%s: %s", zSql, zErr ? zErr : sqlite3_errstr(rc));
  sqlite3_free(zErr);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *zSql){
  sqlite3_stmt *pStmt = NULL;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  ck_assert_msg(rc == SQLITE_OK, "%s: %s", zSql, sqlite3_errmsg(db));
  return pStmt;
}

/* Run the prepared seek from zFrom and check its rows ("key=value ..."). */
static void seek_expect(sqlite3_stmt *pStmt, const char *zFrom, const char *zWant,
                        const char *zWhen){
  char z[512];
  size_t n = 0;
  int rc;
  z[0] = 0;
  sqlite3_bind_text(pStmt, 1, zFrom, -1, SQLITE_STATIC);
  while( (rc = sqlite3_step(pStmt)) == SQLITE_ROW ){
    n += (size_t)snprintf(z + n, sizeof(z) - n, "%s%s=%s", n ? " " : "",
                          (const char*)sqlite3_column_text(pStmt, 0),
                          (const char*)sqlite3_column_text(pStmt, 1));
    ck_assert(n < sizeof(z));
  }
  ck_assert_msg(rc == SQLITE_DONE, "%s: %s", zWhen, sqlite3_errmsg(sqlite3_db_handle(pStmt)));
  sqlite3_reset(pStmt);
  ck_assert_msg(strcmp(z, zWant) == 0, "seed %llu: %s: the seek read '%s', expected '%s'",
                (unsigned long long)test_seed(), zWhen, z, zWant);
}

#define SEEK_SQL "SELECT key, value FROM kv WHERE key >= ?1 ORDER BY key LIMIT 10"

static void another_connections_commit(const char *zCreate){
  sqlite3 *a = open_db("t.db"), *b;
  sqlite3_stmt *pSeek;
  exec_ok(a, "PRAGMA journal_mode=WAL");
  exec_ok(a, zCreate);
  exec_ok(a, "INSERT INTO kv VALUES ('a', 1), ('b', 1), ('c', 1)");
  b = open_db("t.db");
  pSeek = prepare(a, SEEK_SQL);
  seek_expect(pSeek, "b", "b=1 c=1", "first run");
  exec_ok(b, "INSERT INTO kv VALUES ('bb', 2); UPDATE kv SET value = 2 WHERE key = 'c'");
  seek_expect(pSeek, "b", "b=1 bb=2 c=2", "after the other connection's commit");
  exec_ok(b, "DELETE FROM kv WHERE key = 'b'");
  seek_expect(pSeek, "b", "bb=2 c=2", "after the other connection's delete");
  exec_ok(b, "SELECT lsm_flush('kv')");
  exec_ok(b, "INSERT INTO kv VALUES ('d', 3)");
  seek_expect(pSeek, "b", "bb=2 c=2 d=3", "after the other connection's flush and insert");
  sqlite3_finalize(pSeek);
  ck_assert_int_eq(sqlite3_close(b), SQLITE_OK);
  ck_assert_int_eq(sqlite3_close(a), SQLITE_OK);
}

START_TEST(a_prepared_seek_run_again_sees_another_connections_commit_directory_store){
  another_connections_commit("CREATE VIRTUAL TABLE kv USING lsm('kv.lsm')");
}
END_TEST

START_TEST(a_prepared_seek_run_again_sees_another_connections_commit_in_database_store){
  another_connections_commit("CREATE VIRTUAL TABLE kv USING lsm");
}
END_TEST

START_TEST(a_prepared_seek_run_again_sees_its_transaction_savepoints_and_rollback){
  sqlite3 *db = open_db("t.db");
  sqlite3_stmt *pSeek;
  exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm('kv.lsm')");
  exec_ok(db, "INSERT INTO kv VALUES ('a', 1), ('c', 1)");
  pSeek = prepare(db, SEEK_SQL);
  seek_expect(pSeek, "a", "a=1 c=1", "first run");
  exec_ok(db, "BEGIN");
  seek_expect(pSeek, "a", "a=1 c=1", "in the transaction, before it wrote");
  exec_ok(db, "INSERT INTO kv VALUES ('b', 2)");
  seek_expect(pSeek, "a", "a=1 b=2 c=1", "after the transaction's insert");
  exec_ok(db, "SAVEPOINT s1; DELETE FROM kv WHERE key = 'a'; INSERT INTO kv VALUES ('d', 2)");
  seek_expect(pSeek, "a", "b=2 c=1 d=2", "after the savepoint's writes");
  exec_ok(db, "ROLLBACK TO s1");
  seek_expect(pSeek, "a", "a=1 b=2 c=1", "after ROLLBACK TO");
  exec_ok(db, "INSERT INTO kv VALUES ('e', 3)");
  seek_expect(pSeek, "a", "a=1 b=2 c=1 e=3", "after a write following ROLLBACK TO");
  exec_ok(db, "ROLLBACK");
  seek_expect(pSeek, "a", "a=1 c=1", "after ROLLBACK");
  exec_ok(db, "BEGIN; INSERT INTO kv VALUES ('f', 4); COMMIT");
  seek_expect(pSeek, "a", "a=1 c=1 f=4", "after a commit");
  sqlite3_finalize(pSeek);
  ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}
END_TEST

START_TEST(a_prepared_seek_run_again_sees_flush_and_compact){
  sqlite3 *db = open_db("t.db");
  sqlite3_stmt *pSeek;
  exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm('kv.lsm')");
  exec_ok(db, "INSERT INTO kv VALUES ('a', 1), ('c', 1)");
  pSeek = prepare(db, SEEK_SQL);
  seek_expect(pSeek, "a", "a=1 c=1", "first run");
  exec_ok(db, "SELECT lsm_flush('kv')");
  exec_ok(db, "INSERT INTO kv VALUES ('b', 2)");
  seek_expect(pSeek, "a", "a=1 b=2 c=1", "after lsm_flush and an insert");
  exec_ok(db, "DELETE FROM kv WHERE key = 'c'");
  exec_ok(db, "SELECT lsm_compact('kv')");
  seek_expect(pSeek, "a", "a=1 b=2", "after a delete and lsm_compact");
  exec_ok(db, "INSERT INTO kv VALUES ('c', 5)");
  seek_expect(pSeek, "a", "a=1 b=2 c=5", "after an insert following lsm_compact");
  sqlite3_finalize(pSeek);
  ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}
END_TEST

START_TEST(a_table_that_keeps_a_cursor_can_be_renamed_and_dropped){
  sqlite3 *db = open_db("t.db");
  sqlite3_stmt *pSeek;
  char zDir[4200];
  FILE *f;
  exec_ok(db, "CREATE VIRTUAL TABLE kd USING lsm('kd.lsm')");
  exec_ok(db, "INSERT INTO kd VALUES ('a', 1)");
  pSeek = prepare(db, "SELECT key, value FROM kd WHERE key >= ?1 ORDER BY key LIMIT 10");
  seek_expect(pSeek, "a", "a=1", "before the rename");
  sqlite3_finalize(pSeek);
  exec_ok(db, "ALTER TABLE kd RENAME TO kd2");
  pSeek = prepare(db, "SELECT key, value FROM kd2 WHERE key >= ?1 ORDER BY key LIMIT 10");
  seek_expect(pSeek, "a", "a=1", "after the rename");
  sqlite3_finalize(pSeek);
  exec_ok(db, "DROP TABLE kd2");
  snprintf(zDir, sizeof(zDir), "%s/kd.lsm/MANIFEST", g_zDir);
  f = fopen(zDir, "r");
  ck_assert_msg(f == NULL, "DROP TABLE left the store's files");
  ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}
END_TEST


/* As above after a scan that read ahead (mmap off) across an 8 MiB value:
** the closed cursor keeps neither the 64 KiB readahead buffer of each
** SSTable iterator nor a buffer grown to the huge block (review of branch
** scanahead: 8,675,568 bytes kept; main 1,224). */
START_TEST(a_closed_cursor_keeps_no_readahead_buffer){
  const size_t nBig = (size_t)8 << 20;
  char *zBig = malloc(nBig);
  lsm_db *pDb;
  lsm_cursor *pCsr;
  int64_t nBefore;
  int i, n = 0;
  memset(zBig, 'v', nBig);
  pDb = open_counted_store("store2", 0);
  for(i = 0; i < 2000; i++){
    char k[16], v[128];
    snprintf(k, sizeof(k), "k%05d", i);
    memset(v, 'a' + i % 26, 100); v[100] = 0;
    if( i == 1000 ) ck_assert_int_eq(lsm_put(pDb, k, 6, zBig, nBig), LSM_OK);
    else put(pDb, k, v);
  }
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  free(zBig);
  nBefore = g_nHeapLive;
  ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pCsr), LSM_OK);
  for(lsm_cursor_first(pCsr); lsm_cursor_valid(pCsr); lsm_cursor_next(pCsr)) n++;
  ck_assert_int_eq(n, 2000);
  lsm_cursor_close(pCsr);
  ck_assert_msg(g_nHeapLive - nBefore < ((int64_t)1 << 20), "the closed cursor holds %lld bytes",
                (long long)(g_nHeapLive - nBefore));
  lsm_close(pDb);
}
END_TEST

static Suite *cursor_reuse_suite(void){
  Suite *s = suite_create("cursor_reuse");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, a_refreshed_cursor_sees_commits_flushes_and_compactions);
  tcase_add_test(tc, a_refreshed_cursor_reads_the_batch_as_it_is_now);
  tcase_add_test(tc, a_cursor_closed_and_opened_again_reads_what_a_new_one_would);
  tcase_add_test(tc, a_closed_cursor_keeps_no_sstable_a_compaction_replaced);
  tcase_add_test(tc, a_closed_cursor_holds_no_block_and_no_long_copy);
  tcase_add_test(tc, a_closed_cursor_keeps_no_readahead_buffer);
  tcase_add_test(tc, seeks_moving_between_the_tables_of_a_level_read_each_tables_entries);
  tcase_add_test(tc, a_prepared_seek_run_again_sees_another_connections_commit_directory_store);
  tcase_add_test(tc, a_prepared_seek_run_again_sees_another_connections_commit_in_database_store);
  tcase_add_test(tc, a_prepared_seek_run_again_sees_its_transaction_savepoints_and_rollback);
  tcase_add_test(tc, a_prepared_seek_run_again_sees_flush_and_compact);
  tcase_add_test(tc, a_table_that_keeps_a_cursor_can_be_renamed_and_dropped);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(cursor_reuse_suite)
