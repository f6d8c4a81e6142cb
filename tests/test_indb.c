/*
** test_indb.c — the store inside the database file (ext/dbstore.c) as
** SQLite's own guarantees cover it: connections and processes sharing a
** table, a commit that fails or is vetoed leaving nothing anywhere, a
** writer killed mid-run leaving every transaction whole or absent across
** an lsm table and a native table, and copies that carry the rows.
**
** Every in-database table of every connection of the process reads
** through one bounded block cache, which a closing connection leaves.
**
** Every test opens real database files through the lsm module registered
** with sqlite3_auto_extension, as an application linking lsm would.
** Tiny memtables (memtable_mb=0.0625) make flushes and compactions run
** inside the commits under test.  Random choices (kill times) come from
** the seeded generator; the seed is printed on failure.
*/
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

int sqlite3_lsm_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

/* ---- helpers ---- */

/* Like query_int, for polling while another process writes: in
** rollback-journal mode a writer committing back to back can keep a
** reader's SHARED lock out past any busy timeout on a loaded machine,
** so SQLITE_BUSY here means "ask again", not a failure (-1). */
static sqlite3_int64 poll_count(sqlite3 *db, const char *zSql){
  sqlite3_stmt *pStmt = NULL;
  sqlite3_int64 v = -1;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  if( rc == SQLITE_OK ) rc = sqlite3_step(pStmt);
  ck_assert_msg(rc == SQLITE_ROW || rc == SQLITE_DONE || rc == SQLITE_BUSY,
                "%s: %s", zSql, sqlite3_errmsg(db));
  if( rc == SQLITE_ROW ) v = sqlite3_column_int64(pStmt, 0);
  sqlite3_finalize(pStmt);
  return v;
}

static void check_ok(sqlite3 *db, const char *zTable){
  char *zSql = sqlite3_mprintf("SELECT lsm_check('%q')", zTable);
  char *z = test_query_text(db, zSql);
  ck_assert_msg(z && strcmp(z, "ok") == 0, "lsm_check(%s): %s", zTable, z ? z : "(null)");
  sqlite3_free(z);
  sqlite3_free(zSql);
}

/* Rows of kv and of nat whose keys are not in both (0 when every
** transaction is whole), then the row counts. */
static void assert_tables_agree(sqlite3 *db, const char *zWhen){
  sqlite3_int64 nOnlyLsm = test_query_int(db, "SELECT count(*) FROM kv WHERE key NOT IN (SELECT k FROM nat)");
  sqlite3_int64 nOnlyNat = test_query_int(db, "SELECT count(*) FROM nat WHERE k NOT IN (SELECT key FROM kv)");
  sqlite3_int64 nBad = test_query_int(db, "SELECT count(*) FROM kv JOIN nat ON kv.key = nat.k"
                                     " WHERE kv.value IS NOT nat.v");
  ck_assert_msg(nOnlyLsm == 0 && nOnlyNat == 0 && nBad == 0,
                "seed %llu: %s: %lld rows only in kv, %lld only in nat, %lld differ",
                (unsigned long long)test_seed(), zWhen, (long long)nOnlyLsm,
                (long long)nOnlyNat, (long long)nBad);
}

/* Each test's directory and database file, made by setup, removed by
** teardown (a failing test leaves its directory for a look). */
static char *g_zDir;
static char *g_zDb;

static void setup(void){
  test_sql_fixture_begin((void(*)(void))sqlite3_lsm_init, "indb", &g_zDir, &g_zDb);
}
static void teardown(void){
  test_sql_fixture_end(&g_zDir, &g_zDb);
}

/* ---- connections of one process ---- */

static void two_connections_share(const char *zJournal){
  const char *zDb = g_zDb;
  sqlite3 *a = test_open_db(zDb, zJournal, 10000), *b;
  sqlite3_int64 nExpect = 0;
  int round;
  test_exec_ok(a, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625, block_kb=1)");
  b = test_open_db(zDb, zJournal, 10000);
  for(round = 0; round < 12; round++){
    char *zSql = sqlite3_mprintf(
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300)"
        " INSERT INTO kv SELECT %d * 1000 + i, printf('%%0200d', i) FROM c", round);
    test_exec_ok(round % 2 ? a : b, zSql);
    sqlite3_free(zSql);
    nExpect += 300;
    ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv"), nExpect);
    ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv"), nExpect);
    if( round % 4 == 3 ) test_exec_ok(round % 8 == 3 ? a : b, "SELECT lsm_compact('kv')");
    /* A delete made by one is seen by the other at once. */
    zSql = sqlite3_mprintf("DELETE FROM kv WHERE key = %d * 1000 + 7", round);
    test_exec_ok(round % 2 ? b : a, zSql);
    sqlite3_free(zSql);
    nExpect--;
    ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv"), nExpect);
    ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv"), nExpect);
  }
  /* Flushes and compactions ran inside those commits. */
  ck_assert_int_gt(test_query_int(a, "SELECT count(*) FROM lsm_files('kv')"), 0);
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv WHERE key = 5007"), 0);
  ck_assert_int_eq(test_query_int(b, "SELECT length(value) FROM kv WHERE key = 11300"), 200);
  check_ok(a, "kv");
  check_ok(b, "kv");
  sqlite3_close(a);
  sqlite3_close(b);
}

START_TEST(two_connections_see_each_others_commits_in_wal_mode){
  two_connections_share("wal");
}
END_TEST

/* The block cache bytes lsm_stats reports for table zTable on db. */
static sqlite3_int64 block_cache_bytes(sqlite3 *db, const char *zTable){
  char *zSql = sqlite3_mprintf("SELECT json_extract(lsm_stats('%q'), '$.block_cache.bytes')", zTable);
  sqlite3_int64 n = test_query_int(db, zSql);
  sqlite3_free(zSql);
  return n;
}

START_TEST(every_table_of_every_connection_shares_one_bounded_block_cache){
  enum { N_TABLE = 20, N_CONN = 3 };
  sqlite3 *aDb[N_CONN], *pWriter, *pFresh;
  sqlite3_int64 nAll, nOne;
  int c, t;
  /* A connection of its own writes the tables and closes (its engines put
  ** the blocks their flushes and compactions wrote in the cache, and take
  ** them out at its close), so the readers below hold the same blocks. */
  pWriter = test_open_db(g_zDb, "wal", 10000);
  test_exec_ok(pWriter, "CREATE VIRTUAL TABLE untouched USING lsm");
  for(t = 0; t < N_TABLE; t++){
    /* Tables of different sizes: caches of their own would differ. */
    char *zSql = sqlite3_mprintf(
        "CREATE VIRTUAL TABLE t%d USING lsm(memtable_mb=0.0625, block_kb=1);"
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d)"
        " INSERT INTO t%d SELECT i, printf('%%0200d', i) FROM c;"
        "SELECT lsm_compact('t%d');", t, 300 + 20 * t, t, t);
    test_exec_ok(pWriter, zSql);
    sqlite3_free(zSql);
  }
  sqlite3_close(pWriter);
  for(c = 0; c < N_CONN; c++) aDb[c] = test_open_db(g_zDb, "wal", 10000);
  for(c = 0; c < N_CONN; c++){
    for(t = 0; t < N_TABLE; t++){
      char *zSql = sqlite3_mprintf("SELECT count(*) FROM t%d WHERE length(value) = 200", t);
      ck_assert_int_eq(test_query_int(aDb[c], zSql), 300 + 20 * t);
      sqlite3_free(zSql);
    }
  }
  /* One cache: every table of every connection reports the same bytes,
  ** the blocks all 60 engines read, within the default 128 MiB. */
  nAll = block_cache_bytes(aDb[0], "t0");
  ck_assert_int_gt(nAll, 0);
  ck_assert_int_le(nAll, (sqlite3_int64)128 << 20);
  for(c = 0; c < N_CONN; c++){
    for(t = 0; t < N_TABLE; t++){
      char zTable[16];
      snprintf(zTable, sizeof(zTable), "t%d", t);
      ck_assert_int_eq(block_cache_bytes(aDb[c], zTable), nAll);
    }
    ck_assert_int_eq(block_cache_bytes(aDb[c], "untouched"), nAll);
  }
  /* Closing two of the three connections takes their engines' blocks out:
  ** each connection read the same files, so a third stays. */
  for(c = 1; c < N_CONN; c++) sqlite3_close(aDb[c]);
  nOne = block_cache_bytes(aDb[0], "t0");
  ck_assert_int_eq(nOne * N_CONN, nAll);
  /* Closing the last one leaves nothing: a new connection's table that
  ** has no SSTable sees an empty cache. */
  sqlite3_close(aDb[0]);
  pFresh = test_open_db(g_zDb, "wal", 10000);
  ck_assert_int_eq(block_cache_bytes(pFresh, "untouched"), 0);
  sqlite3_close(pFresh);
}
END_TEST

START_TEST(two_connections_see_each_others_commits_in_rollback_mode){
  two_connections_share("delete");
}
END_TEST

/* A WAL reader keeps the snapshot of its transaction, even while another
** connection compacts away the SSTables it reads. */
START_TEST(a_wal_reader_keeps_its_snapshot_across_a_compaction){
  const char *zDb = g_zDb;
  sqlite3 *a = test_open_db(zDb, "wal", 10000), *b;
  test_exec_ok(a, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625, block_kb=1)");
  test_exec_ok(a, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000)"
             " INSERT INTO kv SELECT i, printf('%0100d', i) FROM c");
  test_exec_ok(a, "SELECT lsm_flush('kv')");
  b = test_open_db(zDb, "wal", 10000);
  test_exec_ok(b, "BEGIN");
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv"), 2000);
  test_exec_ok(a, "DELETE FROM kv WHERE key <= 1000");
  test_exec_ok(a, "INSERT INTO kv VALUES (5000, 'new')");
  test_exec_ok(a, "SELECT lsm_compact('kv')");
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv"), 1001);
  /* b still sees its snapshot, every row of it. */
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv"), 2000);
  ck_assert_int_eq(test_query_int(b, "SELECT sum(length(value)) FROM kv"), 200000);
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv WHERE key = 5000"), 0);
  test_exec_ok(b, "COMMIT");
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv"), 1001);
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv WHERE key = 5000"), 1);
  check_ok(b, "kv");
  sqlite3_close(a);
  sqlite3_close(b);
}
END_TEST

/* ---- commits that fail ---- */

/*
** Rollback-journal mode: while connection a holds the file's exclusive
** lock, connection b's first use of kv (zUse, through the name b knows
** it by) fails with SQLITE_BUSY and says that the database is locked;
** once the lock is gone b reads the row (zCount).  zAttach: SQL b runs
** first (NULL: b opens the file itself).
*/
static void first_use_under_a_lock(const char *zAttach, const char *zUse, const char *zCount){
  sqlite3 *a = test_open_db(g_zDb, "delete", 0), *b;
  sqlite3_stmt *pStmt = NULL;
  int rc;
  test_exec_ok(a, "CREATE VIRTUAL TABLE kv USING lsm; INSERT INTO kv VALUES (1, 'one');"
                  "CREATE TABLE nat(x)");
  b = zAttach ? test_open_db(":memory:", "memory", 0) : test_open_db(g_zDb, "delete", 0);
  if( zAttach ) test_exec_ok(b, zAttach);
  test_exec_ok(a, "BEGIN EXCLUSIVE; INSERT INTO nat VALUES (1)");
  rc = sqlite3_prepare_v2(b, zUse, -1, &pStmt, 0);
  if( rc == SQLITE_OK ) rc = sqlite3_step(pStmt);
  ck_assert_msg((rc & 0xff) == SQLITE_BUSY, "%s: rc %d, %s", zUse, rc, sqlite3_errmsg(b));
  ck_assert_msg(strstr(sqlite3_errmsg(b), "database is locked") != NULL, "%s said: %s", zUse,
                sqlite3_errmsg(b));
  sqlite3_finalize(pStmt);
  test_exec_ok(a, "COMMIT");
  ck_assert_int_eq(test_query_int(b, zCount), 1);
  sqlite3_close(b);
  sqlite3_close(a);
}

/* It said only "vtable constructor failed: kv" (bug hunt 5). */
START_TEST(a_first_use_under_another_connections_lock_says_the_database_is_locked){
  first_use_under_a_lock(NULL, "SELECT value FROM kv WHERE key = 1",
                         "SELECT count(*) FROM kv WHERE value = 'one'");
}
END_TEST

/* Through a function naming a table of a schema whose name holds a dot:
** the split that names no table ("a" and "b.kv") does not hide the
** locked one's reason (review: it said "no such lsm table"). */
START_TEST(a_locked_table_of_a_dotted_schema_is_said_locked_not_missing){
  char *zAttach = sqlite3_mprintf("ATTACH '%q' AS \"a.b\"", g_zDb);
  first_use_under_a_lock(zAttach, "SELECT lsm_flush('a.b.kv')", "SELECT count(*) FROM \"a.b\".kv");
  sqlite3_free(zAttach);
}
END_TEST

/* Rollback-journal mode: a reader holding a shared lock makes the
** writer's COMMIT fail with SQLITE_BUSY after the lsm table's xSync has
** logged its batch.  Nothing is visible anywhere; ROLLBACK leaves nothing;
** a COMMIT retried once the reader is gone commits the batch once. */
START_TEST(a_commit_that_fails_busy_leaves_nothing_and_a_retry_commits_once){
  const char *zDb = g_zDb;
  sqlite3 *a = test_open_db(zDb, "delete", 10000), *b;
  int rc;
  test_exec_ok(a, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
  test_exec_ok(a, "CREATE TABLE nat(k PRIMARY KEY, v)");
  b = test_open_db(zDb, "delete", 10000);
  sqlite3_busy_timeout(a, 50);

  /* 1. Fails, then ROLLBACK. */
  test_exec_ok(a, "BEGIN");
  test_exec_ok(a, "INSERT INTO kv VALUES (1, 'one')");
  test_exec_ok(a, "INSERT INTO nat VALUES (1, 'one')");
  test_exec_ok(b, "BEGIN");
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM nat"), 0);
  rc = sqlite3_exec(a, "COMMIT", 0, 0, 0);
  ck_assert_int_eq(rc & 0xff, SQLITE_BUSY);
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv"), 0);
  test_exec_ok(a, "ROLLBACK");
  test_exec_ok(b, "COMMIT");
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv"), 0);
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv"), 0);
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv_log"), 0);

  /* 2. Fails, then the retried COMMIT succeeds. */
  test_exec_ok(a, "BEGIN");
  test_exec_ok(a, "INSERT INTO kv VALUES (2, 'two')");
  test_exec_ok(a, "INSERT INTO nat VALUES (2, 'two')");
  test_exec_ok(b, "BEGIN");
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM nat"), 0);
  rc = sqlite3_exec(a, "COMMIT", 0, 0, 0);
  ck_assert_int_eq(rc & 0xff, SQLITE_BUSY);
  test_exec_ok(b, "COMMIT");
  test_exec_ok(a, "COMMIT");
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv"), 1);
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv"), 1);
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv_log"), 1);
  assert_tables_agree(b, "after the retried commit");

  /* 3. An autocommit INSERT that fails takes no effect. */
  test_exec_ok(b, "BEGIN");
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM nat"), 1);
  rc = sqlite3_exec(a, "INSERT INTO kv VALUES (3, 'three')", 0, 0, 0);
  ck_assert_int_eq(rc & 0xff, SQLITE_BUSY);
  test_exec_ok(b, "COMMIT");
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv WHERE key = 3"), 0);
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv WHERE key = 3"), 0);
  check_ok(a, "kv");
  sqlite3_close(a);
  sqlite3_close(b);
}
END_TEST

static int veto_commit(void *pArg){
  (void)pArg;
  return 1;
}

/* A commit hook that vetoes turns COMMIT into ROLLBACK: the lsm table
** keeps nothing either. */
START_TEST(a_commit_vetoed_by_a_commit_hook_leaves_nothing){
  const char *zDb = g_zDb;
  sqlite3 *a = test_open_db(zDb, "wal", 10000), *b;
  int rc;
  test_exec_ok(a, "CREATE VIRTUAL TABLE kv USING lsm");
  test_exec_ok(a, "CREATE TABLE nat(k PRIMARY KEY, v)");
  test_exec_ok(a, "INSERT INTO kv VALUES (0, 'before')");
  b = test_open_db(zDb, "wal", 10000);
  sqlite3_commit_hook(a, veto_commit, 0);
  test_exec_ok(a, "BEGIN");
  test_exec_ok(a, "INSERT INTO kv VALUES (1, 'one')");
  test_exec_ok(a, "INSERT INTO nat VALUES (1, 'one')");
  rc = sqlite3_exec(a, "COMMIT", 0, 0, 0);
  ck_assert_int_eq(rc & 0xff, SQLITE_CONSTRAINT);
  sqlite3_commit_hook(a, 0, 0);
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv"), 1);
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv"), 1);
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM nat"), 0);
  /* The connection goes on committing normally. */
  test_exec_ok(a, "INSERT INTO kv VALUES (2, 'two')");
  {
    char *z = test_query_text(b, "SELECT group_concat(key) FROM kv");
    ck_assert_str_eq(z, "0,2");
    sqlite3_free(z);
  }
  sqlite3_close(a);
  sqlite3_close(b);
}
END_TEST

/* A database that is full (PRAGMA max_page_count) fails the COMMIT whose
** flush needs pages: the statement takes no effect, and once there is
** room again every row is there and the next writes go in. */
START_TEST(a_full_database_fails_the_commit_and_changes_nothing){
  const char *zDb = g_zDb;
  sqlite3 *a = test_open_db(zDb, "wal", 10000), *b;
  sqlite3_int64 nPages;
  int i, rc = SQLITE_OK, nFailed = 0;
  test_exec_ok(a, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
  test_exec_ok(a, "CREATE TABLE nat(k PRIMARY KEY, v)");
  b = test_open_db(zDb, "wal", 10000);
  nPages = test_query_int(a, "PRAGMA page_count");
  {
    char *zSql = sqlite3_mprintf("PRAGMA max_page_count = %lld", (long long)nPages + 40);
    test_exec_ok(a, zSql);
    sqlite3_free(zSql);
  }
  /* Commits of 3 KB each: the log fills the pages, then a flush needs more. */
  for(i = 0; i < 200 && nFailed < 3; i++){
    char *zSql = sqlite3_mprintf("BEGIN; INSERT INTO kv VALUES (%d, randomblob(3000));"
                                 " INSERT INTO nat VALUES (%d, 1); COMMIT;", i, i);
    rc = sqlite3_exec(a, zSql, 0, 0, 0);
    sqlite3_free(zSql);
    if( rc != SQLITE_OK ){
      ck_assert_int_eq(rc & 0xff, SQLITE_FULL);
      sqlite3_exec(a, "ROLLBACK", 0, 0, 0);
      nFailed++;
      /* Both connections see the same, whole transactions. */
      ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv"), test_query_int(a, "SELECT count(*) FROM nat"));
      ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv"), test_query_int(b, "SELECT count(*) FROM nat"));
    }
  }
  ck_assert_msg(nFailed > 0, "the database never filled up");
  test_exec_ok(a, "PRAGMA max_page_count = 1000000");
  for(i = 1000; i < 1100; i++){
    char *zSql = sqlite3_mprintf("BEGIN; INSERT INTO kv VALUES (%d, randomblob(3000));"
                                 " INSERT INTO nat VALUES (%d, 1); COMMIT;", i, i);
    test_exec_ok(a, zSql);
    sqlite3_free(zSql);
  }
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv WHERE key >= 1000"), 100);
  ck_assert_int_gt(test_query_int(a, "SELECT count(*) FROM lsm_files('kv')"), 0);
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv"), test_query_int(a, "SELECT count(*) FROM nat"));
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv"), test_query_int(b, "SELECT count(*) FROM nat"));
  {
    /* Every key of nat is in kv and the other way round. */
    ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM nat WHERE k NOT IN (SELECT key FROM kv)"), 0);
  }
  check_ok(a, "kv");
  check_ok(b, "kv");
  sqlite3_close(a);
  sqlite3_close(b);
}
END_TEST

/* ---- processes ---- */

/* One writer process: transactions n0, n0 + 1, ... each putting key n in
** kv and nat alike, retried while busy; stops after nTxn (or never). */
static void writer_process(const char *zDb, const char *zJournal, int n0, int nTxn){
  sqlite3 *db = NULL;
  int n;
  if( sqlite3_open(zDb, &db) != SQLITE_OK ) _exit(2);
  sqlite3_busy_timeout(db, 20000);
  sqlite3_exec(db, zJournal[0] == 'w' ? "PRAGMA journal_mode=wal" : "PRAGMA journal_mode=delete",
               0, 0, 0);
  for(n = n0; nTxn < 0 || n < n0 + nTxn; n++){
    char *zSql = sqlite3_mprintf(
        "BEGIN; INSERT INTO kv VALUES (%d, printf('%%0900d', %d));"
        " INSERT INTO nat VALUES (%d, printf('%%0900d', %d)); COMMIT;", n, n, n, n);
    int rc;
    while( (rc = sqlite3_exec(db, zSql, 0, 0, 0)) != SQLITE_OK ){
      sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
      if( (rc & 0xff) != SQLITE_BUSY ){
        fprintf(stderr, "writer %d: %s\n", n, sqlite3_errmsg(db));
        _exit(3);
      }
      usleep(1000);
    }
    sqlite3_free(zSql);
  }
  sqlite3_close(db);
  _exit(0);
}

/* One reader process: repeatedly, in one read transaction, the two
** tables must hold the same keys. */
static void reader_process(const char *zDb, int nRound){
  sqlite3 *db = NULL;
  int i;
  if( sqlite3_open(zDb, &db) != SQLITE_OK ) _exit(2);
  sqlite3_busy_timeout(db, 20000);
  for(i = 0; i < nRound; i++){
    sqlite3_stmt *pStmt = NULL;
    int rc = sqlite3_exec(db, "BEGIN", 0, 0, 0);
    if( rc == SQLITE_OK ){
      rc = sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM kv), (SELECT count(*) FROM nat),"
                              " (SELECT count(*) FROM kv WHERE key NOT IN (SELECT k FROM nat))",
                              -1, &pStmt, 0);
    }
    if( rc == SQLITE_OK && (rc = sqlite3_step(pStmt)) == SQLITE_ROW ){
      if( sqlite3_column_int64(pStmt, 0) != sqlite3_column_int64(pStmt, 1)
       || sqlite3_column_int64(pStmt, 2) != 0 ){
        fprintf(stderr, "reader: kv %lld rows, nat %lld, %lld only in kv\n",
                (long long)sqlite3_column_int64(pStmt, 0), (long long)sqlite3_column_int64(pStmt, 1),
                (long long)sqlite3_column_int64(pStmt, 2));
        _exit(4);
      }
      rc = SQLITE_OK;
    }
    sqlite3_finalize(pStmt);
    sqlite3_exec(db, "COMMIT", 0, 0, 0);
    if( rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY ){
      fprintf(stderr, "reader: %s\n", sqlite3_errmsg(db));
      _exit(3);
    }
    usleep(2000);
  }
  sqlite3_close(db);
  _exit(0);
}

static void make_tables(const char *zDb, const char *zJournal){
  sqlite3 *db = test_open_db(zDb, zJournal, 10000);
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625, block_kb=1)");
  test_exec_ok(db, "CREATE TABLE nat(k PRIMARY KEY, v)");
  sqlite3_close(db);
}

static void processes_share(const char *zJournal){
  const char *zDb = g_zDb;
  int nWriter = 3, nTxn = test_scale(150), i, status;
  pid_t aPid[4];
  sqlite3 *db;
  make_tables(zDb, zJournal);
  for(i = 0; i < nWriter + 1; i++){
    aPid[i] = fork();
    ck_assert_int_ge(aPid[i], 0);
    if( aPid[i] == 0 ){
      if( i < nWriter ) writer_process(zDb, zJournal, (i + 1) * 100000, nTxn);
      reader_process(zDb, nTxn);
    }
  }
  for(i = 0; i < nWriter + 1; i++){
    ck_assert_int_eq(waitpid(aPid[i], &status, 0), aPid[i]);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "%s %d ended with status %d", i < nWriter ? "writer" : "reader", i, status);
  }
  db = test_open_db(zDb, zJournal, 10000);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), nWriter * nTxn);
  assert_tables_agree(db, "after the processes");
  ck_assert_int_gt(test_query_int(db, "SELECT count(*) FROM lsm_files('kv')"), 0);
  check_ok(db, "kv");
  sqlite3_close(db);
}

START_TEST(processes_write_and_read_one_table_in_wal_mode){
  processes_share("wal");
}
END_TEST

START_TEST(processes_write_and_read_one_table_in_rollback_mode){
  processes_share("delete");
}
END_TEST

/* A writer killed with SIGKILL at random moments (flushes and compactions
** run inside its commits): afterwards every transaction is in both tables
** or in neither, nothing acknowledged is lost, the store checks clean. */
static void killed_writer(const char *zJournal){
  const char *zDb = g_zDb;
  test_rng rng;
  int round, nRound = test_quick() ? 4 : 8;
  sqlite3_int64 nBefore = 0;
  rng_init(&rng, test_seed());
  make_tables(zDb, zJournal);
  for(round = 0; round < nRound; round++){
    sqlite3 *db;
    int status, i;
    sqlite3_int64 nAfter;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if( pid == 0 ) writer_process(zDb, zJournal, (int)(round * 100000 + 1), -1);
    /* Kill it only once it commits (a loaded machine may start it late),
    ** then at a random moment of its run.  The watching connection sets
    ** no journal mode (the file has one): in rollback mode a writer
    ** committing back to back can keep a new connection's PRAGMA from
    ** its shared lock past any busy timeout, while poll_count takes a
    ** busy answer as "not yet". */
    ck_assert_int_eq(sqlite3_open(zDb, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    for(i = 0; i < 2000 && poll_count(db, "SELECT count(*) FROM nat") <= nBefore; i++) usleep(10000);
    sqlite3_close(db);
    usleep((useconds_t)(rng_below(&rng, 250000)));
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    db = test_open_db(zDb, zJournal, 10000);
    assert_tables_agree(db, "after a kill");
    nAfter = test_query_int(db, "SELECT count(*) FROM kv");
    ck_assert_msg(nAfter > nBefore, "seed %llu: round %d: the writer committed nothing",
                  (unsigned long long)test_seed(), round);
    check_ok(db, "kv");
    nBefore = nAfter;
    sqlite3_close(db);
  }
}

START_TEST(a_killed_writer_leaves_every_transaction_whole_in_wal_mode){
  killed_writer("wal");
}
END_TEST

START_TEST(a_killed_writer_leaves_every_transaction_whole_in_rollback_mode){
  killed_writer("delete");
}
END_TEST

/* ---- copies ---- */

/* The backup API and VACUUM INTO carry the rows; writing the copy leaves
** the original as it was. */
START_TEST(backup_and_vacuum_into_carry_the_rows_and_never_share_them){
  const char *zDir = g_zDir, *zDb = g_zDb;
  char *zBackup = sqlite3_mprintf("%s/backup.db", zDir);
  char *zVacuum = sqlite3_mprintf("%s/vacuum.db", zDir);
  char *zSql = sqlite3_mprintf("VACUUM INTO '%q'", zVacuum);
  const char *azCopy[2];
  sqlite3 *db = test_open_db(zDb, "wal", 10000), *pCopy = NULL;
  sqlite3_backup *pBackup;
  int i;
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
  test_exec_ok(db, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000)"
              " INSERT INTO kv SELECT i, printf('%050d', i) FROM c");
  test_exec_ok(db, "SELECT lsm_flush('kv')");
  test_exec_ok(db, "INSERT INTO kv VALUES (-1, 'in the log only')");
  ck_assert_int_eq(sqlite3_open(zBackup, &pCopy), SQLITE_OK);
  pBackup = sqlite3_backup_init(pCopy, "main", db, "main");
  ck_assert_ptr_nonnull(pBackup);
  ck_assert_int_eq(sqlite3_backup_step(pBackup, -1), SQLITE_DONE);
  sqlite3_backup_finish(pBackup);
  sqlite3_close(pCopy);
  test_exec_ok(db, zSql);
  azCopy[0] = zBackup;
  azCopy[1] = zVacuum;
  for(i = 0; i < 2; i++){
    pCopy = test_open_db(azCopy[i], "wal", 10000);
    ck_assert_int_eq(test_query_int(pCopy, "SELECT count(*) FROM kv"), 3001);
    ck_assert_int_eq(test_query_int(pCopy, "SELECT count(*) FROM kv WHERE value = 'in the log only'"), 1);
    test_exec_ok(pCopy, "DELETE FROM kv WHERE key <= 100");
    test_exec_ok(pCopy, "SELECT lsm_compact('kv')");
    ck_assert_int_eq(test_query_int(pCopy, "SELECT count(*) FROM kv"), 2900);
    check_ok(pCopy, "kv");
    sqlite3_close(pCopy);
    ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), 3001);
  }
  check_ok(db, "kv");
  sqlite3_close(db);
  sqlite3_free(zBackup);
  sqlite3_free(zVacuum);
  sqlite3_free(zSql);
}
END_TEST

/* ---- reading SSTables through blob handles ---- */

/* Fill kv with keys 1..n (values printf('%0200d', key)) in commits of 500
** rows, so that flushes and compactions leave several SSTables. */
static void fill_numbers(sqlite3 *db, int n){
  int i;
  for(i = 0; i < n; i += 500){
    char *zSql = sqlite3_mprintf(
        "WITH RECURSIVE c(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM c WHERE i < %d)"
        " INSERT INTO kv SELECT i, printf('%%0200d', i) FROM c", i + 1, i + 500 < n ? i + 500 : n);
    test_exec_ok(db, zSql);
    sqlite3_free(zSql);
  }
}

/* Can b write (and commit) kv without waiting?  In rollback-journal mode
** it cannot while a statement of a holds its SHARED lock. */
static int writes_at_once(sqlite3 *b, int iKey){
  char *zSql = sqlite3_mprintf("INSERT INTO kv VALUES(%d, 'from b')", iKey);
  int rc = sqlite3_exec(b, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  return rc == SQLITE_OK;
}

/* A blob handle is an active statement: kept after a statement ends, it
** would hold the connection's read transaction (here its SHARED lock, and
** in WAL mode its snapshot) open.  Each way of reading lets go at its end. */
START_TEST(a_reader_lets_go_of_the_database_when_its_statement_ends){
  sqlite3 *a = test_open_db(g_zDb, "delete", 10000), *b;
  test_exec_ok(a, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625, block_kb=1)");
  fill_numbers(a, 4000);
  test_exec_ok(a, "SELECT lsm_flush('kv')");
  sqlite3_close(a);
  a = test_open_db(g_zDb, "delete", 10000);       /* a new engine: every block is read anew */
  b = test_open_db(g_zDb, "delete", 10000);
  sqlite3_busy_timeout(b, 0);
  /* lsm_files opens the engine (reading the MANIFEST row) and no cursor. */
  ck_assert_int_gt(test_query_int(a, "SELECT count(*) FROM lsm_files('kv')"), 0);
  ck_assert(writes_at_once(b, 100000));
  ck_assert_int_eq(test_query_int(a, "SELECT length(value) FROM kv WHERE key = 1234"), 200);
  ck_assert(writes_at_once(b, 100001));
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv WHERE key BETWEEN 100 AND 3000"), 2901);
  ck_assert(writes_at_once(b, 100002));
  test_exec_ok(a, "BEGIN");
  ck_assert_int_eq(test_query_int(a, "SELECT length(value) FROM kv WHERE key = 3999"), 200);
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv"), 4003);
  test_exec_ok(a, "COMMIT");
  ck_assert(writes_at_once(b, 100003));
  check_ok(a, "kv");
  ck_assert(writes_at_once(b, 100004));
  ck_assert_int_gt(test_query_int(a, "SELECT json_extract(lsm_stats('kv'), '$.rows')"), -2);
  ck_assert(writes_at_once(b, 100005));
  /* A write transaction keeps its handles until it ends. */
  test_exec_ok(a, "BEGIN");
  test_exec_ok(a, "INSERT OR IGNORE INTO kv VALUES(17, 'kept')");
  ck_assert_int_eq(test_query_int(a, "SELECT length(value) FROM kv WHERE key = 2500"), 200);
  test_exec_ok(a, "COMMIT");
  ck_assert(writes_at_once(b, 100006));
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv"), 4007);
  sqlite3_close(a);
  sqlite3_close(b);
}
END_TEST

/* A statement that keeps reading while its own connection compacts the
** files it reads: the rows of those files stay until nothing reads them,
** and a later COMMIT deletes them. */
START_TEST(a_reader_reads_on_across_a_compaction_that_replaces_its_files){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  sqlite3_stmt *pScan = NULL;
  int i, rc;
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625, block_kb=1)");
  fill_numbers(db, 3000);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT key, value FROM kv ORDER BY key", -1,
                                      &pScan, 0), SQLITE_OK);
  for(i = 1; i <= 1000; i++){
    ck_assert_int_eq(sqlite3_step(pScan), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(pScan, 0), i);
  }
  /* New rows (not seen by the scan, which reads its snapshot), flushed and
  ** compacted, in this connection, while the scan is half way. */
  test_exec_ok(db, "UPDATE kv SET value = 'new' WHERE key > 2000");
  test_exec_ok(db, "SELECT lsm_compact('kv')");
  test_exec_ok(db, "DELETE FROM kv WHERE key <= 500");
  test_exec_ok(db, "SELECT lsm_compact('kv')");
  for(; i <= 3000; i++){
    char zWant[201];
    rc = sqlite3_step(pScan);
    ck_assert_msg(rc == SQLITE_ROW, "row %d: %s", i, sqlite3_errmsg(db));
    ck_assert_int_eq(sqlite3_column_int(pScan, 0), i);
    snprintf(zWant, sizeof(zWant), "%0200d", i);
    ck_assert_str_eq((const char*)sqlite3_column_text(pScan, 1), zWant);
  }
  ck_assert_int_eq(sqlite3_step(pScan), SQLITE_DONE);
  sqlite3_finalize(pScan);
  /* The rows the compactions replaced were kept for the scan; the next
  ** COMMIT deletes them: one row per live SSTable, plus the MANIFEST. */
  test_exec_ok(db, "INSERT INTO kv VALUES(1, 'one')");
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv_file WHERE name GLOB '*.sst'"),
                   test_query_int(db, "SELECT count(*) FROM lsm_files('kv')"));
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), 2501);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv WHERE value = 'new'"), 1000);
  check_ok(db, "kv");
  sqlite3_close(db);
}
END_TEST

/* SQLite expires a blob handle whose row a statement of the same
** connection writes (SQLITE_ABORT at the next read): the store opens the
** row again and reads on.  Rewriting a row of kv_file (allowed outside
** defensive mode) inside a write transaction, which keeps its handles
** across statements, expires them. */
START_TEST(a_blob_handle_expired_by_a_write_to_its_row_is_opened_again){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625, block_kb=1)");
  fill_numbers(db, 3000);
  test_exec_ok(db, "SELECT lsm_compact('kv')");
  sqlite3_close(db);
  db = test_open_db(g_zDb, "wal", 10000);
  test_exec_ok(db, "BEGIN");
  test_exec_ok(db, "INSERT INTO kv VALUES(0, 'zero')");        /* a write transaction */
  ck_assert_int_eq(test_query_int(db, "SELECT length(value) FROM kv WHERE key = 10"), 200);
  test_exec_ok(db, "UPDATE kv_file SET data = data WHERE name GLOB '*.sst'");
  /* Other blocks of the same files: not in the block cache. */
  ck_assert_int_eq(test_query_int(db, "SELECT length(value) FROM kv WHERE key = 2990"), 200);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), 3001);
  test_exec_ok(db, "COMMIT");
  check_ok(db, "kv");
  sqlite3_close(db);
}
END_TEST

/* Readers hold blocks, not files: many more statements than the old cap of
** 256 open SSTable readers read one table at once, each its own place. */
START_TEST(three_hundred_statements_read_one_table_at_once){
  enum { N_STMT = 300 };
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  sqlite3_stmt *apStmt[N_STMT];
  int i, j;
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625, block_kb=1)");
  fill_numbers(db, 6000);
  ck_assert_int_gt(test_query_int(db, "SELECT count(*) FROM lsm_files('kv')"), 1);
  for(i = 0; i < N_STMT; i++){
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT key FROM kv WHERE key >= ?1 ORDER BY key",
                                        -1, &apStmt[i], 0), SQLITE_OK);
    sqlite3_bind_int(apStmt[i], 1, 1 + i * 19);
    ck_assert_int_eq(sqlite3_step(apStmt[i]), SQLITE_ROW);
  }
  for(j = 1; j < 5; j++){
    for(i = 0; i < N_STMT; i++){
      ck_assert_int_eq(sqlite3_step(apStmt[i]), SQLITE_ROW);
      ck_assert_int_eq(sqlite3_column_int(apStmt[i], 0), 1 + i * 19 + j);
    }
  }
  for(i = 0; i < N_STMT; i++) sqlite3_finalize(apStmt[i]);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), 6000);
  sqlite3_close(db);
}
END_TEST

/* A file's rows must be its chunks, in order, at consecutive ids
** (dbstore.c): a missing chunk is SQLITE_CORRUPT naming the file, never a
** short or shifted read. */
/* Get key iKey with pGet ("SELECT value FROM kv WHERE key = ?1"): the
** value's text, "" if there is no row, or "error <code>: <message>". */
static void get_value(sqlite3 *db, sqlite3_stmt *pGet, int iKey, char *zOut, size_t nOut){
  int rc;
  sqlite3_bind_int(pGet, 1, iKey);
  rc = sqlite3_step(pGet);
  if( rc == SQLITE_ROW ){
    snprintf(zOut, nOut, "%s", (const char*)sqlite3_column_text(pGet, 0));
  }else if( rc == SQLITE_DONE ){
    zOut[0] = 0;
  }else{
    snprintf(zOut, nOut, "error %d: %s", sqlite3_errcode(db), sqlite3_errmsg(db));
  }
  sqlite3_reset(pGet);
}

/* A chunk row shorter than its file's chunk size (damaged) is
** SQLITE_CORRUPT naming the file, by point reads and by a scan (it was
** "SQL logic error" from sqlite3_blob_read). */
START_TEST(a_short_chunk_row_is_corrupt_naming_its_file){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  sqlite3_stmt *pGet = NULL, *pCount = NULL;
  char *zName, zGot[300], zWant[300];
  int k, nCorrupt = 0, rc;
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625, block_kb=1)");
  fill_numbers(db, 4000);
  test_exec_ok(db, "SELECT lsm_compact('kv')");
  /* A middle chunk: its file has a next one. */
  zName = test_query_text(db, "SELECT c.name FROM kv_file c WHERE c.name GLOB '*.sst:1'"
                              " AND EXISTS(SELECT 1 FROM kv_file d WHERE d.id = c.id + 1"
                              "            AND d.name GLOB '*.sst:2')");
  ck_assert_ptr_nonnull(zName);
  sqlite3_close(db);
  db = test_open_db(g_zDb, "wal", 10000);
  {
    char *zSql = sqlite3_mprintf("UPDATE kv_file SET data = substr(data, 1, 100) WHERE name = '%q'",
                                 zName);
    test_exec_ok(db, zSql);
    sqlite3_free(zSql);
  }
  zName[strlen(zName) - 2] = 0;       /* the file: "000012.sst" of "000012.sst:1" */
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE key = ?1", -1, &pGet, 0),
                   SQLITE_OK);
  for(k = 1; k <= 4000; k++){
    get_value(db, pGet, k, zGot, sizeof(zGot));
    snprintf(zWant, sizeof(zWant), "%0200d", k);
    if( strncmp(zGot, "error", 5) == 0 ){
      ck_assert_msg(strstr(zGot, "error 11:") && strstr(zGot, zName) && strstr(zGot, "short"),
                    "key %d: %s", k, zGot);
      nCorrupt++;
    }else{
      ck_assert_msg(strcmp(zGot, zWant) == 0, "key %d: %s", k, zGot);
    }
  }
  ck_assert_int_gt(nCorrupt, 1);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM kv", -1, &pCount, 0), SQLITE_OK);
  rc = sqlite3_step(pCount);
  ck_assert_msg(rc == SQLITE_CORRUPT && strstr(sqlite3_errmsg(db), zName)
                && strstr(sqlite3_errmsg(db), "short"), "%d: %s", rc, sqlite3_errmsg(db));
  sqlite3_finalize(pCount);
  sqlite3_finalize(pGet);
  sqlite3_free(zName);
  ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}
END_TEST

/* The store keeps no prepared statement of its own between the user's
** statements: an application may finalize every statement of the
** connection (sqlite3_next_stmt) and then close it. */
START_TEST(no_statement_of_the_store_outlives_a_user_statement){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  sqlite3_stmt *pGet = NULL, *p;
  char zGot[300], zWant[300];
  int k, nOther = 0;
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625, block_kb=1)");
  fill_numbers(db, 4000);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE key = ?1", -1, &pGet, 0),
                   SQLITE_OK);
  for(k = 1; k <= 200; k++){
    get_value(db, pGet, k * 17 % 4000 + 1, zGot, sizeof(zGot));
    snprintf(zWant, sizeof(zWant), "%0200d", k * 17 % 4000 + 1);
    ck_assert_msg(strcmp(zGot, zWant) == 0, "key %d: %s", k * 17 % 4000 + 1, zGot);
  }
  for(p = sqlite3_next_stmt(db, 0); p; p = sqlite3_next_stmt(db, p)){
    if( p != pGet ){
      nOther++;
      fprintf(stderr, "a statement outlives the user's: %s\n", sqlite3_sql(p));
    }
  }
  ck_assert_int_eq(nOther, 0);
  while( (p = sqlite3_next_stmt(db, 0)) != 0 ) sqlite3_finalize(p);
  ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}
END_TEST

START_TEST(a_file_missing_a_chunk_row_is_corrupt_naming_it){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  sqlite3_stmt *pStmt = NULL;
  char *zName;
  int rc;
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625, block_kb=1)");
  fill_numbers(db, 3000);
  test_exec_ok(db, "SELECT lsm_compact('kv')");
  zName = test_query_text(db, "SELECT name FROM kv_file WHERE name GLOB '*.sst:1'");
  ck_assert_ptr_nonnull(zName);
  sqlite3_close(db);
  db = test_open_db(g_zDb, "wal", 10000);
  test_exec_ok(db, "DELETE FROM kv_file WHERE name GLOB '*.sst:1'");
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM kv", -1, &pStmt, 0), SQLITE_OK);
  rc = sqlite3_step(pStmt);
  ck_assert_int_eq(rc, SQLITE_CORRUPT);
  zName[strlen(zName) - 2] = 0;       /* the file: "000012.sst" of "000012.sst:1" */
  ck_assert_msg(strstr(sqlite3_errmsg(db), zName) && strstr(sqlite3_errmsg(db), "chunks"),
                "%s", sqlite3_errmsg(db));
  sqlite3_finalize(pStmt);
  sqlite3_free(zName);
  sqlite3_close(db);
}
END_TEST

/* lsm_flush and lsm_compact inside a transaction write SSTables that a
** ROLLBACK (or a ROLLBACK TO an older savepoint) takes away again, whether
** or not the table wrote in that transaction: the connection's engine
** must not go on reading them (it compares the manifest row). */
START_TEST(work_rolled_back_with_its_transaction_is_forgotten){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  int i;
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625, block_kb=1)");
  fill_numbers(db, 2000);
  for(i = 0; i < 4; i++){
    test_exec_ok(db, i % 2 ? "SAVEPOINT a" : "BEGIN");
    if( i < 2 ) test_exec_ok(db, "INSERT INTO kv VALUES(-1, 'in the transaction')");
    test_exec_ok(db, i < 2 ? "SELECT lsm_flush('kv')" : "SELECT lsm_compact('kv')");
    ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv WHERE key >= 1500"), 501);
    test_exec_ok(db, i % 2 ? "ROLLBACK TO a" : "ROLLBACK");
    ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), 2000);
    ck_assert_int_eq(test_query_int(db, "SELECT length(value) FROM kv WHERE key = 1999"), 200);
    if( i % 2 ) test_exec_ok(db, "RELEASE a");
    check_ok(db, "kv");
  }
  test_exec_ok(db, "INSERT INTO kv VALUES(0, 'after')");
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), 2001);
  sqlite3_close(db);
}
END_TEST

/* ---- what the bug hunt of session 16 found, each seen failing first ---- */

/* Remove the test's database and its WAL files, for a case that runs a
** scenario several times on a fresh database. */
static void remove_db_files(void){
  char *zWal = sqlite3_mprintf("%s-wal", g_zDb), *zShm = sqlite3_mprintf("%s-shm", g_zDb);
  unlink(g_zDb);
  unlink(zWal);
  unlink(zShm);
  sqlite3_free(zWal);
  sqlite3_free(zShm);
}

static char *create_kind(const char *zName, const char *zCols, int iKind);

/* A schema change inside a transaction makes SQLite connect the table
** again while the instance it replaces stays in the transaction: the
** writes before the change are read after it, and commit (or roll back)
** with the rest.  ALTER TABLE of another table, and this table's RENAME;
** iKind 0 in the database file, 1 a directory store. */
static void schema_change_in_a_transaction(int iKind, const char *zAlter, const char *zNew,
                                           int bCommit){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000), *b;
  char *zSql = create_kind("kv", "key, value", iKind);
  test_exec_ok(db, zSql);
  sqlite3_free(zSql);
  test_exec_ok(db, "CREATE TABLE nt(a)");
  test_exec_ok(db, "INSERT INTO kv VALUES(1, 'one')");
  test_exec_ok(db, "BEGIN");
  test_exec_ok(db, "INSERT INTO kv VALUES(2, 'two')");
  test_exec_ok(db, zAlter);
  zSql = sqlite3_mprintf("SELECT group_concat(key) FROM (SELECT key FROM \"%w\" ORDER BY key)", zNew);
  {
    char *z = test_query_text(db, zSql);
    ck_assert_msg(z && strcmp(z, "1,2") == 0, "kind %d: %s: read in the transaction: %s", iKind,
                  zAlter, z ? z : "(null)");
    sqlite3_free(z);
  }
  sqlite3_free(zSql);
  zSql = sqlite3_mprintf("INSERT INTO \"%w\" VALUES(3, 'three')", zNew);
  test_exec_ok(db, zSql);
  sqlite3_free(zSql);
  test_exec_ok(db, bCommit ? "COMMIT" : "ROLLBACK");
  b = test_open_db(g_zDb, "wal", 10000);
  zSql = sqlite3_mprintf("SELECT group_concat(key) FROM (SELECT key FROM \"%w\" ORDER BY key)",
                         bCommit ? zNew : "kv");
  {
    char *zA = test_query_text(db, zSql), *zB = test_query_text(b, zSql);
    const char *zWant = bCommit ? "1,2,3" : "1";
    ck_assert_msg(zA && strcmp(zA, zWant) == 0, "kind %d: %s: this connection reads %s", iKind,
                  zAlter, zA ? zA : "(null)");
    ck_assert_msg(zB && strcmp(zB, zWant) == 0, "kind %d: %s: a new connection reads %s", iKind,
                  zAlter, zB ? zB : "(null)");
    sqlite3_free(zA);
    sqlite3_free(zB);
  }
  sqlite3_free(zSql);
  check_ok(b, bCommit ? zNew : "kv");
  sqlite3_close(b);
  sqlite3_close(db);
  remove_db_files();
  zSql = sqlite3_mprintf("%s/kv.lsm", g_zDir);
  test_rmtree(zSql);
  sqlite3_free(zSql);
}

/* Both kinds of store (the directory store's new instance read nothing
** the transaction wrote before the change, though COMMIT kept it). */
START_TEST(writes_before_a_schema_change_in_a_transaction_stay_in_it){
  int iKind;
  for(iKind = 0; iKind < 2; iKind++){
    schema_change_in_a_transaction(iKind, "ALTER TABLE nt ADD COLUMN b", "kv", 1);
    schema_change_in_a_transaction(iKind, "ALTER TABLE nt ADD COLUMN b", "kv", 0);
    schema_change_in_a_transaction(iKind, "ALTER TABLE kv RENAME TO kv2", "kv2", 1);
    schema_change_in_a_transaction(iKind, "ALTER TABLE kv RENAME TO kv2", "kv2", 0);
  }
}
END_TEST

/* lsm_stats and lsm_check read no table through SQL, so SQLite starts no
** read transaction for them: they still see another connection's
** commits, and lsm_check leaves the next read seeing them too. */
static void functions_see_commits(const char *zJournal){
  sqlite3 *a = test_open_db(g_zDb, zJournal, 10000), *b;
  test_exec_ok(a, "CREATE VIRTUAL TABLE kv USING lsm");
  test_exec_ok(a, "INSERT INTO kv VALUES(1, 'one')");
  b = test_open_db(g_zDb, zJournal, 10000);
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv"), 1);
  test_exec_ok(a, "INSERT INTO kv VALUES(2, 'two')");
  ck_assert_int_eq(test_query_int(b, "SELECT json_extract(lsm_stats('kv'), '$.memtable.entries')"), 2);
  test_exec_ok(a, "INSERT INTO kv VALUES(3, 'three')");
  test_exec_ok(a, "SELECT lsm_flush('kv')");
  check_ok(b, "kv");
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv"), 3);
  ck_assert_int_eq(test_query_int(b, "SELECT json_extract(lsm_stats('kv'), '$.levels[0].files')"), 1);
  sqlite3_close(b);
  sqlite3_close(a);
}

START_TEST(lsm_stats_and_lsm_check_see_another_connections_commits_in_wal_mode){
  functions_see_commits("wal");
}
END_TEST

START_TEST(lsm_stats_and_lsm_check_see_another_connections_commits_in_rollback_mode){
  functions_see_commits("delete");
}
END_TEST

/* A COMMIT that flushed in its xSync and then failed with SQLITE_BUSY
** leaves the transaction open; a ROLLBACK TO then undoes the flush's rows,
** and the retried COMMIT must not write a manifest naming them. */
START_TEST(a_rollback_to_after_a_busy_commit_that_flushed_leaves_a_whole_store){
  sqlite3 *a = test_open_db(g_zDb, "delete", 10000), *b, *c;
  sqlite3_stmt *pRead = 0;
  int i, rc;
  test_exec_ok(a, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625, background=off)");
  sqlite3_busy_timeout(a, 50);
  for(i = 0; i < 4; i++){
    char *zSql = sqlite3_mprintf(
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 800)"
        " INSERT INTO kv SELECT printf('r%d%%04d', n), printf('%%080d', n) FROM c", i);
    test_exec_ok(a, zSql);
    sqlite3_free(zSql);
    if( i < 3 ){
      zSql = sqlite3_mprintf("INSERT INTO kv VALUES('s%d', 'small')", i);
      test_exec_ok(a, zSql);
      sqlite3_free(zSql);
    }
  }
  test_exec_ok(a, "BEGIN");
  test_exec_ok(a, "SAVEPOINT s");
  test_exec_ok(a, "INSERT INTO kv VALUES('t1', 1)");
  b = test_open_db(g_zDb, "delete", 10000);
  ck_assert_int_eq(sqlite3_prepare_v2(b, "SELECT key FROM kv", -1, &pRead, 0), SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(pRead), SQLITE_ROW);        /* holds a SHARED lock */
  rc = sqlite3_exec(a, "COMMIT", 0, 0, 0);
  ck_assert_int_eq(rc & 0xff, SQLITE_BUSY);
  test_exec_ok(a, "ROLLBACK TO s");
  test_exec_ok(a, "INSERT INTO kv VALUES('t2', 2)");
  sqlite3_finalize(pRead);
  test_exec_ok(a, "COMMIT");
  c = test_open_db(g_zDb, "delete", 10000);
  ck_assert_int_eq(test_query_int(c, "SELECT count(*) FROM kv"), 3204);
  ck_assert_int_eq(test_query_int(c, "SELECT count(*) FROM kv WHERE key IN ('t1', 't2')"), 1);
  check_ok(c, "kv");
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv"), 3204);
  sqlite3_close(c);
  sqlite3_close(b);
  sqlite3_close(a);
}
END_TEST

/* The store deletes rows with secure_delete switched from ON to FAST for
** the deletes; SQLite applies that PRAGMA while preparing it, so an
** interrupt of its step must still leave the user's ON in place. */
static int g_bFastSeen, g_nInterrupts;
static int trace_fast(unsigned eType, void *pCtx, void *p, void *x){
  (void)eType; (void)pCtx; (void)x;
  if( strstr(sqlite3_sql((sqlite3_stmt*)p), "secure_delete = FAST") ) g_bFastSeen = 1;
  return 0;
}
static int interrupt_after_fast(void *pCtx){
  (void)pCtx;
  if( g_bFastSeen ){
    g_bFastSeen = 0;
    g_nInterrupts++;
    return 1;
  }
  return 0;
}

START_TEST(an_interrupted_switch_of_secure_delete_is_put_back){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  test_exec_ok(db, "PRAGMA secure_delete = ON");
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm");
  test_exec_ok(db, "INSERT INTO kv VALUES(1, 'one')");
  g_bFastSeen = 0;
  g_nInterrupts = 0;
  sqlite3_trace_v2(db, SQLITE_TRACE_STMT, trace_fast, 0);
  sqlite3_progress_handler(db, 1, interrupt_after_fast, 0);
  (void)sqlite3_exec(db, "SELECT lsm_flush('kv')", 0, 0, 0);     /* its deletes of log rows */
  sqlite3_progress_handler(db, 0, 0, 0);
  sqlite3_trace_v2(db, 0, 0, 0);
  /* The interrupt hit the PRAGMA's own step (the progress handler runs
  ** inside the step the trace announced). */
  ck_assert_int_ge(g_nInterrupts, 1);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), 1);
  test_exec_ok(db, "INSERT INTO kv VALUES(2, 'two')");
  ck_assert_int_eq(test_query_int(db, "PRAGMA secure_delete"), 1);
  sqlite3_close(db);
}
END_TEST

/* Review of the fixes above: a statement still reading the batch that two
** instances share keeps its operations when the transaction commits and
** the next one writes (a multi-key lookup reads the batch at each step). */
START_TEST(a_reader_of_a_shared_batch_keeps_it_across_the_commit){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  sqlite3_stmt *pRead = 0;
  char zGot[64] = "";
  int rc;
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm");
  test_exec_ok(db, "CREATE TABLE other(x)");
  test_exec_ok(db, "INSERT INTO kv VALUES('a', 'A0')");
  test_exec_ok(db, "BEGIN");
  test_exec_ok(db, "INSERT INTO kv VALUES('b', 'B1')");
  test_exec_ok(db, "ALTER TABLE other ADD COLUMN y");
  test_exec_ok(db, "INSERT INTO kv VALUES('c', 'C1')");
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT key, value FROM kv WHERE key IN ('a', 'b', 'c')"
                                      " ORDER BY key", -1, &pRead, 0), SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(pRead), SQLITE_ROW);
  test_exec_ok(db, "COMMIT");
  test_exec_ok(db, "BEGIN");
  test_exec_ok(db, "INSERT INTO kv VALUES('c', 'C2, never committed')");
  while( (rc = sqlite3_step(pRead)) == SQLITE_ROW ){
    size_t n = strlen(zGot);
    snprintf(zGot + n, sizeof(zGot) - n, "%s=%s;", sqlite3_column_text(pRead, 0),
             sqlite3_column_text(pRead, 1));
  }
  ck_assert_int_eq(rc, SQLITE_DONE);
  sqlite3_finalize(pRead);
  test_exec_ok(db, "ROLLBACK");
  ck_assert_msg(strcmp(zGot, "b=B1;c=C1;") == 0, "the open statement read %s", zGot);
  sqlite3_close(db);
}
END_TEST

/* A statement rollback (a failing multi-row INSERT) after lsm_flush in the
** transaction, with a cursor open: no reopen of the engine is forced on the
** reading cursor's table, so the next statements and COMMIT go on. */
START_TEST(a_statement_rollback_after_work_in_the_transaction_keeps_open_cursors){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  sqlite3_stmt *pRead = 0;
  int rc, n = 1;
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm");
  fill_numbers(db, 10);
  test_exec_ok(db, "BEGIN");
  test_exec_ok(db, "INSERT INTO kv VALUES(100, 'x')");
  test_exec_ok(db, "SELECT lsm_flush('kv')");
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT key FROM kv", -1, &pRead, 0), SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(pRead), SQLITE_ROW);
  rc = sqlite3_exec(db, "INSERT INTO kv VALUES(101, 'y'), (NULL, 'n')", 0, 0, 0);
  ck_assert_int_eq(rc & 0xff, SQLITE_CONSTRAINT);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), 11);
  while( sqlite3_step(pRead) == SQLITE_ROW ) n++;
  ck_assert_int_eq(n, 11);
  test_exec_ok(db, "COMMIT");
  sqlite3_finalize(pRead);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), 11);
  check_ok(db, "kv");
  sqlite3_close(db);
}
END_TEST

/* DROP TABLE after a schema change in the transaction: the instance still
** holding the writes made before it commits nothing into the dropped (or a
** re-created) table, and a ROLLBACK TO a savepoint before the DROP brings
** the table and those writes back. */
static void drop_after_schema_change(const char *zMiddle, const char *zWant){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  char *z;
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm");
  test_exec_ok(db, "CREATE TABLE other(x)");
  test_exec_ok(db, "INSERT INTO kv VALUES('a', 'A')");
  test_exec_ok(db, "BEGIN");
  test_exec_ok(db, "INSERT INTO kv VALUES('b', 'B')");
  test_exec_ok(db, "ALTER TABLE other ADD COLUMN y");
  test_exec_ok(db, zMiddle);
  test_exec_ok(db, "COMMIT");
  z = test_query_text(db, "SELECT group_concat(key) FROM (SELECT key FROM kv ORDER BY key)");
  ck_assert_msg(z && strcmp(z, zWant) == 0, "%s: kv holds %s", zMiddle, z ? z : "(null)");
  sqlite3_free(z);
  check_ok(db, "kv");
  sqlite3_close(db);
  remove_db_files();
}

START_TEST(a_drop_after_a_schema_change_in_a_transaction_drops_or_comes_back_whole){
  drop_after_schema_change("DROP TABLE kv; CREATE VIRTUAL TABLE kv USING lsm;"
                           " ALTER TABLE other ADD COLUMN z; INSERT INTO kv VALUES('x', 'X')", "x");
  drop_after_schema_change("SAVEPOINT s; DROP TABLE kv; ROLLBACK TO s;"
                           " INSERT INTO kv VALUES('c', 'C')", "a,b,c");
  drop_after_schema_change("SAVEPOINT s; SAVEPOINT u; DROP TABLE kv; RELEASE u; ROLLBACK TO s;"
                           " ALTER TABLE other ADD COLUMN z; INSERT INTO kv VALUES('c', 'C')", "a,b,c");
  drop_after_schema_change("DROP TABLE kv; SAVEPOINT t; ROLLBACK TO t; RELEASE t;"
                           " CREATE VIRTUAL TABLE kv USING lsm", "");
}
END_TEST

/* ---- the SQL surface's bug hunt (session 16): each on both kinds of
** store, the directory store too, against what a native table answers ---- */

/* The CREATE of table zName of kind iKind: 0 in the database file, 1 a
** directory store beside the test's database. */
static char *create_kind(const char *zName, const char *zCols, int iKind){
  return iKind == 0 ? sqlite3_mprintf("CREATE VIRTUAL TABLE %s USING lsm(%s)", zName, zCols)
                    : sqlite3_mprintf("CREATE VIRTUAL TABLE %s USING lsm('%q/%s.lsm', %s)",
                                      zName, g_zDir, zName, zCols);
}

/* SQLite 3.40 offers LIMIT to xBestIndex though a WHERE term comparing two
** columns of the table (not passed to xBestIndex) is still to be checked:
** the table must not stop after LIMIT rows. */
START_TEST(a_limit_with_a_term_between_two_columns_returns_the_right_rows){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  int iKind;
  for(iKind = 0; iKind < 2; iKind++){
    char *zSql = create_kind(iKind ? "d" : "a", "k, v1, v2", iKind);
    const char *zT = iKind ? "d" : "a";
    char *z;
    test_exec_ok(db, zSql);
    sqlite3_free(zSql);
    zSql = sqlite3_mprintf("INSERT INTO %s VALUES(1,'x','y'),(2,'z','z'),(3,'p','q'),(4,'r','r')", zT);
    test_exec_ok(db, zSql);
    sqlite3_free(zSql);
    zSql = sqlite3_mprintf("SELECT k FROM %s WHERE v1 = v2 LIMIT 1", zT);
    ck_assert_int_eq(test_query_int(db, zSql), 2);
    sqlite3_free(zSql);
    zSql = sqlite3_mprintf("SELECT k FROM %s WHERE v1 = v2 ORDER BY k LIMIT 1 OFFSET 1", zT);
    ck_assert_int_eq(test_query_int(db, zSql), 4);
    sqlite3_free(zSql);
    zSql = sqlite3_mprintf("SELECT group_concat(k) FROM (SELECT k FROM %s WHERE v1 IS v2"
                           " ORDER BY k DESC LIMIT 5)", zT);
    z = test_query_text(db, zSql);
    ck_assert_msg(z && strcmp(z, "4,2") == 0, "%s: %s", zT, z ? z : "(null)");
    sqlite3_free(z);
    sqlite3_free(zSql);
  }
  sqlite3_close(db);
}
END_TEST

/* An UPDATE that moves a row onto a key holding one fails as on a native
** table and changes nothing (it used to delete rows: SET key = key + 1
** over 1, 2, 3 left only 4); OR REPLACE still overwrites. */
START_TEST(an_update_moving_keys_onto_held_keys_fails_and_loses_nothing){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  int iKind;
  for(iKind = 0; iKind < 2; iKind++){
    const char *zT = iKind ? "d" : "a";
    char *zSql = create_kind(zT, "key, value", iKind), *z;
    int rc;
    test_exec_ok(db, zSql);
    sqlite3_free(zSql);
    zSql = sqlite3_mprintf("INSERT INTO %s VALUES(1,'a'),(2,'b'),(3,'c')", zT);
    test_exec_ok(db, zSql);
    sqlite3_free(zSql);
    zSql = sqlite3_mprintf("UPDATE %s SET key = key + 1", zT);
    rc = sqlite3_exec(db, zSql, 0, 0, 0);
    sqlite3_free(zSql);
    ck_assert_int_eq(rc & 0xff, SQLITE_CONSTRAINT);
    ck_assert_msg(strstr(sqlite3_errmsg(db), "UNIQUE constraint failed") != 0, "%s", sqlite3_errmsg(db));
    zSql = sqlite3_mprintf("UPDATE %s SET key = CASE key WHEN 1 THEN 2 WHEN 2 THEN 1 ELSE key END", zT);
    rc = sqlite3_exec(db, zSql, 0, 0, 0);
    sqlite3_free(zSql);
    ck_assert_int_eq(rc & 0xff, SQLITE_CONSTRAINT);
    zSql = sqlite3_mprintf("SELECT group_concat(key || '=' || value) FROM (SELECT * FROM %s ORDER BY key)", zT);
    z = test_query_text(db, zSql);
    ck_assert_msg(z && strcmp(z, "1=a,2=b,3=c") == 0, "%s after the failed updates: %s", zT, z ? z : "(null)");
    sqlite3_free(z);
    sqlite3_free(zSql);
    zSql = sqlite3_mprintf("UPDATE OR REPLACE %s SET key = 3 WHERE key = 2", zT);
    test_exec_ok(db, zSql);
    sqlite3_free(zSql);
    zSql = sqlite3_mprintf("SELECT group_concat(key || '=' || value) FROM (SELECT * FROM %s ORDER BY key)", zT);
    z = test_query_text(db, zSql);
    ck_assert_msg(z && strcmp(z, "1=a,3=b") == 0, "%s after OR REPLACE: %s", zT, z ? z : "(null)");
    sqlite3_free(z);
    sqlite3_free(zSql);
  }
  sqlite3_close(db);
}
END_TEST

/* The rows a COMMIT writes for the store (its log row, SSTables, the
** _commits record) and lsm_flush leave the user's last_insert_rowid(). */
START_TEST(last_insert_rowid_stays_the_users_across_lsm_writes){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  char *zSql = create_kind("d", "key, value", 1);
  test_exec_ok(db, "CREATE VIRTUAL TABLE a USING lsm");
  test_exec_ok(db, zSql);
  sqlite3_free(zSql);
  test_exec_ok(db, "CREATE TABLE orders(id INTEGER PRIMARY KEY, item)");
  test_exec_ok(db, "INSERT INTO orders VALUES(100, 'x')");
  test_exec_ok(db, "CREATE TRIGGER tr AFTER INSERT ON orders BEGIN"
                   " INSERT INTO a VALUES(new.id, new.item); INSERT INTO d VALUES(new.id, new.item); END");
  test_exec_ok(db, "INSERT INTO orders(item) VALUES('apple')");
  ck_assert_int_eq(sqlite3_last_insert_rowid(db), 101);
  test_exec_ok(db, "BEGIN");
  test_exec_ok(db, "INSERT INTO orders(item) VALUES('pear')");
  test_exec_ok(db, "COMMIT");
  ck_assert_int_eq(sqlite3_last_insert_rowid(db), 102);
  test_exec_ok(db, "BEGIN");
  test_exec_ok(db, "INSERT INTO orders VALUES(500, 'y')");
  test_exec_ok(db, "INSERT INTO a VALUES(7, 'z')");
  ck_assert_int_eq(sqlite3_last_insert_rowid(db), 500);
  test_exec_ok(db, "COMMIT");
  ck_assert_int_eq(sqlite3_last_insert_rowid(db), 500);
  test_exec_ok(db, "SELECT lsm_flush('a')");
  ck_assert_int_eq(sqlite3_last_insert_rowid(db), 500);
  sqlite3_close(db);
}
END_TEST

/* A table created inside a savepoint that is rolled back: SQLite does not
** tell it of the rollback, and its writes must not fail (and so roll back)
** the rest of the transaction; both kinds of store. */
START_TEST(a_create_rolled_back_to_a_savepoint_leaves_the_rest_of_the_transaction){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  int iKind;
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm");
  test_exec_ok(db, "CREATE TABLE n(x)");
  for(iKind = 0; iKind < 2; iKind++){
    char *zCreate = create_kind(iKind ? "d2" : "a2", "key, value", iKind);
    char *zIns = sqlite3_mprintf("INSERT INTO %s VALUES('x', 'X')", iKind ? "d2" : "a2");
    test_exec_ok(db, "BEGIN");
    test_exec_ok(db, "SAVEPOINT s");
    test_exec_ok(db, zCreate);
    test_exec_ok(db, zIns);
    test_exec_ok(db, "ROLLBACK TO s");
    test_exec_ok(db, iKind ? "INSERT INTO kv VALUES('d', 'D')" : "INSERT INTO kv VALUES('c', 'C')");
    test_exec_ok(db, "INSERT INTO n VALUES(1)");
    test_exec_ok(db, "COMMIT");
    sqlite3_free(zCreate);
    sqlite3_free(zIns);
  }
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), 2);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM n"), 2);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name IN ('a2', 'd2')"), 0);
  check_ok(db, "kv");
  sqlite3_close(db);
}
END_TEST

/* DROP TABLE of a directory store written earlier in the transaction: its
** destruction runs SQL whose savepoints reach the table after it let its
** batch go (a NULL dereference). */
START_TEST(a_drop_of_a_directory_store_written_in_the_transaction_commits){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  char *zSql = create_kind("d", "key, value", 1);
  test_exec_ok(db, zSql);
  sqlite3_free(zSql);
  test_exec_ok(db, "INSERT INTO d VALUES('a', 'A')");
  test_exec_ok(db, "BEGIN");
  test_exec_ok(db, "INSERT INTO d VALUES('b', 'B')");
  test_exec_ok(db, "DROP TABLE d");
  test_exec_ok(db, "COMMIT");
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'd'"), 0);
  sqlite3_close(db);
}
END_TEST

/* zScript with every "$T" replaced by zTable (sqlite3_free). */
static char *script_for(const char *zScript, const char *zTable){
  char *zOut = sqlite3_mprintf("");
  const char *z;
  for(z = zScript; *z; z++){
    char *zNext = (z[0] == '$' && z[1] == 'T') ? sqlite3_mprintf("%s%s", zOut, zTable)
                                                : sqlite3_mprintf("%s%c", zOut, z[0]);
    if( z[0] == '$' && z[1] == 'T' ) z++;
    sqlite3_free(zOut);
    zOut = zNext;
  }
  return zOut;
}

/* The keys of table zTable in order, or "(none)" if it is gone. */
static char *keys_of(sqlite3 *db, const char *zTable){
  char *zSql = sqlite3_mprintf("SELECT coalesce(group_concat(key), '') FROM"
                               " (SELECT key FROM \"%w\" ORDER BY key)", zTable);
  sqlite3_stmt *pStmt = 0;
  char *z = 0;
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) != SQLITE_OK ){
    z = sqlite3_mprintf("(none)");
  }else{
    ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_ROW);
    z = sqlite3_mprintf("%s", (const char*)sqlite3_column_text(pStmt, 0));
  }
  sqlite3_finalize(pStmt);
  sqlite3_free(zSql);
  return z;
}

/* One DROP TABLE scenario run on an lsm table of kind iKind and on a
** native WITHOUT ROWID table: the keys each holds inside the transaction
** (after zInTxn) and after zEnd must be the same. */
static void drop_rolled_back_like_native(int iKind, const char *zInTxn, const char *zEnd){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  const char *azTab[2] = { "kv", "nat" };
  char *azIn[2], *azOut[2];
  int i;
  char *zSql = create_kind("kv", "key, value", iKind);
  test_exec_ok(db, zSql);
  sqlite3_free(zSql);
  test_exec_ok(db, "CREATE TABLE nat(key PRIMARY KEY NOT NULL, value) WITHOUT ROWID");
  for(i = 0; i < 2; i++){
    char *zScript = script_for("INSERT INTO $T VALUES('a', 'A'); BEGIN;"
                               " INSERT INTO $T VALUES('b', 'B');", azTab[i]);
    test_exec_ok(db, zScript);
    sqlite3_free(zScript);
    zScript = script_for(zInTxn, azTab[i]);
    test_exec_ok(db, zScript);
    sqlite3_free(zScript);
    azIn[i] = keys_of(db, azTab[i]);
    zScript = script_for(zEnd, azTab[i]);
    test_exec_ok(db, zScript);
    sqlite3_free(zScript);
    azOut[i] = keys_of(db, azTab[i]);
  }
  ck_assert_msg(strcmp(azIn[0], azIn[1]) == 0, "kind %d: %s: in the transaction lsm has %s,"
                " native %s", iKind, zInTxn, azIn[0], azIn[1]);
  ck_assert_msg(strcmp(azOut[0], azOut[1]) == 0, "kind %d: %s %s: lsm has %s, native %s",
                iKind, zInTxn, zEnd, azOut[0], azOut[1]);
  if( strcmp(azOut[0], "(none)") != 0 ) check_ok(db, "kv");
  for(i = 0; i < 2; i++){
    sqlite3_free(azIn[i]);
    sqlite3_free(azOut[i]);
  }
  sqlite3_close(db);
  remove_db_files();
  zSql = sqlite3_mprintf("%s/kv.lsm", g_zDir);
  test_rmtree(zSql);
  sqlite3_free(zSql);
}

/* SAVEPOINT s; DROP TABLE; ROLLBACK TO s brings the table back with the
** rows the transaction wrote before s (and not those after s), as a native
** table comes back; a full ROLLBACK, or a ROLLBACK TO a savepoint opened
** after the DROP, does not bring it back.  Both kinds of store. */
START_TEST(a_drop_rolled_back_to_a_savepoint_keeps_the_transactions_earlier_rows){
  static const char *aCase[][2] = {
    { "SAVEPOINT s; INSERT INTO $T VALUES('c', 'C'); DROP TABLE $T; ROLLBACK TO s;", "COMMIT" },
    { "SAVEPOINT s; DROP TABLE $T; ROLLBACK TO s; INSERT INTO $T VALUES('d', 'D');", "COMMIT" },
    { "SAVEPOINT s; INSERT INTO $T VALUES('c', 'C'); SAVEPOINT u;"
      " INSERT INTO $T VALUES('e', 'E'); DROP TABLE $T; ROLLBACK TO u;", "COMMIT" },
    { "SAVEPOINT s; INSERT INTO $T VALUES('c', 'C'); SAVEPOINT u; DROP TABLE $T;"
      " RELEASE u; ROLLBACK TO s; DELETE FROM $T WHERE key = 'a';", "COMMIT" },
    { "SAVEPOINT s; DROP TABLE $T; SAVEPOINT t; ROLLBACK TO t;", "COMMIT" },
    { "SAVEPOINT s; DROP TABLE $T; ROLLBACK TO s;", "ROLLBACK" },
    { "SAVEPOINT s; DROP TABLE $T; ROLLBACK TO s; SAVEPOINT t; DROP TABLE $T;"
      " ROLLBACK TO s;", "COMMIT" },
  };
  int iKind;
  size_t i;
  for(iKind = 0; iKind < 2; iKind++){
    for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
      drop_rolled_back_like_native(iKind, aCase[i][0], aCase[i][1]);
    }
  }
}
END_TEST

/* A DROP TABLE of a table the transaction wrote before a schema change
** (any ALTER TABLE or CREATE, which makes SQLite connect the table again
** while the instance that holds the writes stays in the transaction)
** drops it, commits or rolls back as a native table does, and a directory
** store's files go at the COMMIT (it failed "database table is locked":
** the stale instance's engine reference counted as another user).  Both
** kinds of store. */
START_TEST(a_drop_after_a_schema_change_of_a_table_written_in_the_transaction_works){
#define ALTER "CREATE TABLE o_$T(x); ALTER TABLE o_$T ADD COLUMN y; "
  static const char *aCase[][2] = {
    { ALTER "DROP TABLE $T;", "COMMIT" },
    { ALTER "DROP TABLE $T;", "ROLLBACK" },
    { ALTER "SAVEPOINT s; DROP TABLE $T; ROLLBACK TO s;", "COMMIT" },
    { ALTER "SAVEPOINT s; DROP TABLE $T; ROLLBACK TO s; INSERT INTO $T VALUES('c', 'C');"
      " ALTER TABLE o_$T ADD COLUMN z;", "COMMIT" },
    { "SAVEPOINT s; " ALTER "DROP TABLE $T; ROLLBACK TO s; DELETE FROM $T WHERE key = 'a';",
      "COMMIT" },
    { ALTER "SAVEPOINT s; INSERT INTO $T VALUES('c', 'C'); DROP TABLE $T; ROLLBACK TO s;",
      "ROLLBACK" },
    { ALTER "SAVEPOINT s; INSERT INTO $T VALUES('c', 'C'); SAVEPOINT u; DROP TABLE $T;"
      " ROLLBACK TO u;", "COMMIT" },
  };
#undef ALTER
  int iKind;
  size_t i;
  for(iKind = 0; iKind < 2; iKind++){
    for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
      drop_rolled_back_like_native(iKind, aCase[i][0], aCase[i][1]);
    }
  }
  /* The committed DROP removed the directory store's files. */
  {
    sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
    char *zSql = create_kind("d", "key, value", 1), *zDir = sqlite3_mprintf("%s/d.lsm", g_zDir);
    struct stat st;
    test_exec_ok(db, zSql);
    test_exec_ok(db, "CREATE TABLE o(x); INSERT INTO d VALUES('a', 'A'); BEGIN;"
                     " INSERT INTO d VALUES('b', 'B'); ALTER TABLE o ADD COLUMN y;"
                     " DROP TABLE d; COMMIT");
    ck_assert_msg(stat(zDir, &st) != 0 && errno == ENOENT, "%s is still there", zDir);
    sqlite3_free(zSql);
    sqlite3_free(zDir);
    sqlite3_close(db);
    remove_db_files();
  }
}
END_TEST

/* That DROP is still refused while another connection uses the store, and
** the table keeps its rows. */
START_TEST(a_drop_after_a_schema_change_is_refused_while_another_connection_uses_the_store){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000), *b;
  char *zSql = create_kind("d", "key, value", 1), *z;
  test_exec_ok(db, zSql);
  sqlite3_free(zSql);
  test_exec_ok(db, "CREATE TABLE o(x); INSERT INTO d VALUES('a', 'A')");
  b = test_open_db(g_zDb, "wal", 10000);
  z = keys_of(b, "d");
  ck_assert_str_eq(z, "a");
  sqlite3_free(z);
  test_exec_ok(db, "BEGIN; INSERT INTO d VALUES('b', 'B'); ALTER TABLE o ADD COLUMN y");
  ck_assert_int_eq(sqlite3_exec(db, "DROP TABLE d", 0, 0, 0), SQLITE_LOCKED);
  z = keys_of(db, "d");
  ck_assert_str_eq(z, "a,b");
  sqlite3_free(z);
  test_exec_ok(db, "COMMIT");
  z = keys_of(b, "d");
  ck_assert_str_eq(z, "a,b");
  sqlite3_free(z);
  sqlite3_close(b);
  sqlite3_close(db);
}
END_TEST

/* RENAME then DROP in one transaction (found by the review of branch
** defects2): the store's OWNERS file learns the new name only at COMMIT, so
** the DROP must look for the old one; it took the store for another's and
** left it on disk, and a table created later at its path read its rows.
** After the COMMIT the directory is gone and a new table there is empty;
** ROLLBACK keeps the table under its old name with its rows. */
START_TEST(a_rename_then_drop_in_one_transaction_removes_the_store){
  static const char *aCase[][2] = {
    { "BEGIN; ALTER TABLE $T RENAME TO r_$T; DROP TABLE r_$T; COMMIT", "" },
    { "BEGIN; INSERT INTO $T VALUES('b', 'B'); ALTER TABLE $T RENAME TO r_$T;"
      " ALTER TABLE r_$T RENAME TO s_$T; DROP TABLE s_$T; COMMIT", "" },
    { "BEGIN; ALTER TABLE $T RENAME TO r_$T; DROP TABLE r_$T; ROLLBACK", "a" },
  };
  size_t i;
  for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
    sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
    char *z = create_kind("kv", "key, value", 1), *zDir, *zScript;
    struct stat st;
    int bGone;
    test_exec_ok(db, z);
    sqlite3_free(z);
    test_exec_ok(db, "INSERT INTO kv VALUES('a', 'A')");
    zScript = script_for(aCase[i][0], "kv");
    test_exec_ok(db, zScript);
    sqlite3_free(zScript);
    zDir = sqlite3_mprintf("%s/kv.lsm", g_zDir);
    bGone = stat(zDir, &st) != 0;
    ck_assert_msg(bGone == (aCase[i][1][0] == 0), "case %zu: %s %s", i, zDir,
                  bGone ? "is gone" : "is still there");
    if( aCase[i][1][0] ){
      z = keys_of(db, "kv");
      ck_assert_msg(strcmp(z, aCase[i][1]) == 0, "case %zu: kv holds %s", i, z);
      sqlite3_free(z);
    }else{
      z = sqlite3_mprintf("CREATE VIRTUAL TABLE n USING lsm('%q')", zDir);
      test_exec_ok(db, z);
      sqlite3_free(z);
      z = keys_of(db, "n");
      ck_assert_msg(z[0] == 0, "case %zu: a new table at the path holds %s", i, z);
      sqlite3_free(z);
    }
    sqlite3_close(db);
    remove_db_files();
    test_rmtree(zDir);
    sqlite3_free(zDir);
  }
}
END_TEST

/*
** Run zScript (script_for: $T is the table) on the lsm table kv and on the
** native table nat of db, each holding 'a' before, and expect both to
** hold zWant after ("(none)": the table is gone); for a directory store
** (iKind 1) its directory must be gone exactly when the table is.  The
** messages name the kind and iCase.
*/
static void expect_script_as_native(sqlite3 *db, const char *zScript, const char *zWant,
                                    int iKind, size_t iCase){
  const char *azTab[2] = { "kv", "nat" };
  int iTab;
  for(iTab = 0; iTab < 2; iTab++){
    char *z = script_for(zScript, azTab[iTab]);
    int rc = sqlite3_exec(db, z, 0, 0, 0);
    ck_assert_msg(rc == SQLITE_OK, "kind %d, case %zu, %s: %s", iKind, iCase, azTab[iTab],
                  sqlite3_errmsg(db));
    sqlite3_free(z);
    z = keys_of(db, azTab[iTab]);
    ck_assert_msg(strcmp(z, zWant) == 0, "kind %d, case %zu: %s holds %s, not %s",
                  iKind, iCase, azTab[iTab], z, zWant);
    sqlite3_free(z);
  }
  if( iKind == 1 ){
    char *zDir = sqlite3_mprintf("%s/kv.lsm", g_zDir);
    struct stat st;
    int bGone = stat(zDir, &st) != 0;
    ck_assert_msg(bGone == (strcmp(zWant, "(none)") == 0), "kind 1, case %zu: %s %s",
                  iCase, zDir, bGone ? "is gone" : "is still there");
    sqlite3_free(zDir);
  }
}

/* DROP TABLE after a RENAME undone by ROLLBACK TO, in a transaction that
** wrote the table only under the new name: SQLite keeps the instance
** connected under that name in the transaction (it wrote), with its own
** batch, emptied by the ROLLBACK TO, and it still held the store, so the
** DROP failed "database table is locked".  As a native table: the DROP
** commits (the directory goes) or rolls back (the rows are back).  Both
** kinds of store. */
START_TEST(a_drop_after_a_rename_undone_by_a_rollback_to_works){
  static const char *aCase[][2] = {
    { "SAVEPOINT s; ALTER TABLE $T RENAME TO r_$T; INSERT INTO r_$T VALUES('c', 'C');"
      " ROLLBACK TO s; DROP TABLE $T; RELEASE s", "(none)" },
    { "BEGIN; SAVEPOINT s; ALTER TABLE $T RENAME TO r_$T; INSERT INTO r_$T VALUES('c', 'C');"
      " ROLLBACK TO s; DROP TABLE $T; ROLLBACK", "a" },
    { "BEGIN; SAVEPOINT s; ALTER TABLE $T RENAME TO r_$T; INSERT INTO r_$T VALUES('c', 'C');"
      " ROLLBACK TO s; SAVEPOINT t; DROP TABLE $T; ROLLBACK TO t;"
      " INSERT INTO $T VALUES('d', 'D'); COMMIT", "a,d" },
  };
  int iKind;
  size_t i;
  for(iKind = 0; iKind < 2; iKind++){
    for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
      sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
      char *z = create_kind("kv", "key, value", iKind), *zDir;
      test_exec_ok(db, z);
      sqlite3_free(z);
      test_exec_ok(db, "CREATE TABLE nat(key PRIMARY KEY NOT NULL, value) WITHOUT ROWID;"
                       " INSERT INTO kv VALUES('a', 'A'); INSERT INTO nat VALUES('a', 'A')");
      expect_script_as_native(db, aCase[i][0], aCase[i][1], iKind, i);
      zDir = sqlite3_mprintf("%s/kv.lsm", g_zDir);
      sqlite3_close(db);
      remove_db_files();
      test_rmtree(zDir);
      sqlite3_free(zDir);
    }
  }
}
END_TEST

/* The same DROP after an unrelated table took the name the RENAME gave
** (found by the review of branch defects2): the instance connected under
** that name still holds the store, and the name being a table again made
** it count as another table of the store, so the DROP failed "database
** table is locked".  A table of that name that is no definition of the
** store (a native table, an lsm table elsewhere) leaves it a stale
** instance: the DROP commits or rolls back as on a native table.  Kinds 0
** (database file), 1 (directory) and 2 (':memory:'). */
START_TEST(a_drop_works_when_another_table_took_the_name_of_a_stale_instance){
#define UNDONE "SAVEPOINT s; ALTER TABLE $T RENAME TO r_$T; INSERT INTO r_$T VALUES('c', 'C');" \
               " ROLLBACK TO s; "
  static const char *aCase[][2] = {
    { UNDONE "CREATE TABLE r_$T(x); DROP TABLE $T; RELEASE s", "(none)" },
    { "BEGIN; " UNDONE "CREATE TABLE r_$T(x); DROP TABLE $T; ROLLBACK", "a" },
    { "BEGIN; " UNDONE "CREATE TABLE r_$T(x); SAVEPOINT t; DROP TABLE $T; ROLLBACK TO t;"
      " INSERT INTO $T VALUES('d', 'D'); COMMIT", "a,d" },
    { UNDONE "CREATE VIRTUAL TABLE r_$T USING lsm; DROP TABLE $T; RELEASE s", "(none)" },
    { "BEGIN; " UNDONE "CREATE TABLE r_$T(x); DROP TABLE r_$T; CREATE TABLE r_$T(y);"
      " DROP TABLE $T; COMMIT", "(none)" },
  };
#undef UNDONE
  int iKind;
  size_t i;
  for(iKind = 0; iKind < 3; iKind++){
    for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
      sqlite3 *db;
      char *z, *zDir;
      /* An in-memory store's rows go at its DROP even if it is rolled
      ** back ("Differences from a native table"): only committed DROPs. */
      if( iKind == 2 && strcmp(aCase[i][1], "(none)") != 0 ) continue;
      db = test_open_db(g_zDb, "wal", 10000);
      z = iKind == 2 ? sqlite3_mprintf("CREATE VIRTUAL TABLE kv USING lsm(':memory:')")
                     : create_kind("kv", "key, value", iKind);
      zDir = sqlite3_mprintf("%s/kv.lsm", g_zDir);
      test_exec_ok(db, z);
      sqlite3_free(z);
      test_exec_ok(db, "CREATE TABLE nat(key PRIMARY KEY NOT NULL, value) WITHOUT ROWID;"
                       " INSERT INTO kv VALUES('a', 'A'); INSERT INTO nat VALUES('a', 'A')");
      expect_script_as_native(db, aCase[i][0], aCase[i][1], iKind, i);
      sqlite3_close(db);
      remove_db_files();
      test_rmtree(zDir);
      sqlite3_free(zDir);
    }
  }
}
END_TEST

/* Still refused while another connection uses the store, or while the
** table that took the name is another definition of the same store: the
** table keeps its rows. */
START_TEST(a_drop_beside_a_stale_instance_is_refused_while_the_store_is_in_use){
  int iCase;
  for(iCase = 0; iCase < 2; iCase++){
    sqlite3 *db = test_open_db(g_zDb, "wal", 10000), *b = 0;
    char *z = create_kind("kv", "key, value", 1), *zDir = sqlite3_mprintf("%s/kv.lsm", g_zDir);
    test_exec_ok(db, z);
    sqlite3_free(z);
    test_exec_ok(db, "INSERT INTO kv VALUES('a', 'A'); BEGIN; SAVEPOINT s;"
                     " ALTER TABLE kv RENAME TO r_kv; INSERT INTO r_kv VALUES('c', 'C');"
                     " ROLLBACK TO s");
    if( iCase == 0 ){
      b = test_open_db(g_zDb, "wal", 10000);
      z = keys_of(b, "kv");
      ck_assert_str_eq(z, "a");
      sqlite3_free(z);
      test_exec_ok(db, "CREATE TABLE r_kv(x)");
    }else{
      z = sqlite3_mprintf("CREATE VIRTUAL TABLE r_kv USING lsm('%q')", zDir);
      test_exec_ok(db, z);
      sqlite3_free(z);
    }
    ck_assert_msg(sqlite3_exec(db, "DROP TABLE kv", 0, 0, 0) == SQLITE_LOCKED,
                  "case %d: %s", iCase, sqlite3_errmsg(db));
    test_exec_ok(db, "COMMIT");
    z = keys_of(db, "kv");
    ck_assert_msg(strcmp(z, "a") == 0, "case %d: kv holds %s", iCase, z);
    sqlite3_free(z);
    if( b ) sqlite3_close(b);
    sqlite3_close(db);
    remove_db_files();
    test_rmtree(zDir);
    sqlite3_free(zDir);
  }
}
END_TEST

/* An in-memory store (':memory:') keeps its rows while its connection
** stays open, across the schema changes that make SQLite connect the table
** again (it could not be connected again at all: "store directory /memory
** does not exist"), in a transaction too, and across its RENAME; a new
** connection finds it empty, as in-memory data goes with its connection. */
START_TEST(an_in_memory_table_keeps_its_rows_across_schema_changes){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  char *z;
  test_exec_ok(db, "CREATE VIRTUAL TABLE m USING lsm(':memory:')");
  test_exec_ok(db, "CREATE TABLE o(a)");
  test_exec_ok(db, "INSERT INTO m VALUES(1, 'a'), (2, 'b')");
  test_exec_ok(db, "ALTER TABLE o ADD COLUMN b");
  z = keys_of(db, "m");
  ck_assert_msg(strcmp(z, "1,2") == 0, "after ALTER: %s", z);
  sqlite3_free(z);
  test_exec_ok(db, "BEGIN; INSERT INTO m VALUES(3, 'c'); ALTER TABLE o ADD COLUMN c");
  z = keys_of(db, "m");
  ck_assert_msg(strcmp(z, "1,2,3") == 0, "after ALTER in a transaction: %s", z);
  sqlite3_free(z);
  test_exec_ok(db, "COMMIT; ALTER TABLE m RENAME TO m2; ALTER TABLE o ADD COLUMN d");
  z = keys_of(db, "m2");
  ck_assert_msg(strcmp(z, "1,2,3") == 0, "after RENAME: %s", z);
  sqlite3_free(z);
  sqlite3_close(db);
  db = test_open_db(g_zDb, "wal", 10000);
  z = keys_of(db, "m2");
  ck_assert_msg(strcmp(z, "") == 0, "a new connection: %s", z);
  sqlite3_free(z);
  test_exec_ok(db, "INSERT INTO m2 VALUES(9, 'z'); DROP TABLE m2");
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'm2'"), 0);
  test_exec_ok(db, "CREATE VIRTUAL TABLE m2 USING lsm(':memory:')");
  z = keys_of(db, "m2");
  ck_assert_msg(strcmp(z, "") == 0, "created again: %s", z);
  sqlite3_free(z);
  sqlite3_close(db);
}
END_TEST

/* DROP TABLE, CREATE VIRTUAL TABLE of the same name, then ROLLBACK TO a
** savepoint opened before the DROP: the CREATE is undone (SQLite told the
** new table nothing of that savepoint) and the old table is back.  The new
** table's writes must go nowhere: they went into the old table's shadow
** tables (found by its name), over its log row, so a committed row was
** lost and an undone one committed, seen after reopening.  In the
** database file (a directory store refuses the CREATE at its own path
** while its DROP waits; at another path, below, it is tested too). */
START_TEST(a_create_over_a_dropped_name_rolled_back_to_a_savepoint_writes_nowhere){
  static const char *aCase[][2] = {
    { "BEGIN; INSERT INTO kv VALUES('a', '1'); SAVEPOINT s; DROP TABLE kv;"
      " CREATE VIRTUAL TABLE kv USING lsm; INSERT INTO kv VALUES('z', '9');"
      " SELECT count(*) FROM kv; ROLLBACK TO s; COMMIT", "a,p" },
    { "BEGIN; SAVEPOINT s; DROP TABLE kv; CREATE VIRTUAL TABLE kv USING lsm;"
      " INSERT INTO kv VALUES('z', '9'); SELECT count(*) FROM kv; ROLLBACK TO s; COMMIT", "p" },
    { "BEGIN; INSERT INTO kv VALUES('a', '1'); SAVEPOINT s; DROP TABLE kv;"
      " CREATE VIRTUAL TABLE kv USING lsm; INSERT INTO kv VALUES('z', '9');"
      " ROLLBACK TO s; COMMIT", "a,p" },
    /* The CREATE after the savepoint's opening but the ROLLBACK TO to a
    ** later one: the CREATE stays, with its rows before that one. */
    { "BEGIN; SAVEPOINT s; DROP TABLE kv; CREATE VIRTUAL TABLE kv USING lsm;"
      " INSERT INTO kv VALUES('z', '9'); SAVEPOINT t; INSERT INTO kv VALUES('y', '8');"
      " ROLLBACK TO t; COMMIT", "z" },
    /* Writes after the ROLLBACK TO, with the new table read before it:
    ** the old table, connected again, shared the undone table's store and
    ** batch (it was found by its name, inside a write), so it read nothing
    ** and its writes went nowhere ('b' lost). */
    { "BEGIN; SAVEPOINT s; DROP TABLE kv; CREATE VIRTUAL TABLE kv USING lsm;"
      " INSERT INTO kv VALUES('z', '9'); SELECT count(*) FROM kv; ROLLBACK TO s;"
      " INSERT INTO kv VALUES('b', '2'); COMMIT", "b,p" },
    { "SAVEPOINT s; DROP TABLE kv; CREATE VIRTUAL TABLE kv USING lsm;"
      " INSERT INTO kv VALUES('z', '9'); SELECT count(*) FROM kv; ROLLBACK TO s;"
      " INSERT INTO kv VALUES('b', '2'); RELEASE s", "b,p" },
    /* A schema change after the CREATE: the new table's instance connected
    ** again shares its store and batch, and is undone with it (it stayed
    ** "in a write" under the name, and the old table shared it). */
    { "BEGIN; SAVEPOINT s; DROP TABLE kv; CREATE VIRTUAL TABLE kv USING lsm;"
      " CREATE TABLE o2(x); ALTER TABLE o2 ADD COLUMN y; INSERT INTO kv VALUES('z', '9');"
      " SELECT count(*) FROM kv; ROLLBACK TO s; INSERT INTO kv VALUES('b', '2'); COMMIT",
      "b,p" },
    { "SAVEPOINT s; DROP TABLE kv; CREATE VIRTUAL TABLE kv USING lsm;"
      " CREATE TABLE o2(x); ALTER TABLE o2 ADD COLUMN y; INSERT INTO kv VALUES('z', '9');"
      " SELECT count(*) FROM kv; ROLLBACK TO s; INSERT INTO kv VALUES('b', '2'); RELEASE s",
      "b,p" },
    /* A directory store the same way, its new table at another path (its
    ** own path is refused while the DROP waits). */
    { "BEGIN; SAVEPOINT s; DROP TABLE kv; CREATE VIRTUAL TABLE kv USING lsm('$D/kv2.lsm');"
      " INSERT INTO kv VALUES('z', '9'); SELECT count(*) FROM kv; ROLLBACK TO s;"
      " INSERT INTO kv VALUES('b', '2'); COMMIT", "b,p" },
  };
  size_t i;
  for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
    sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
    char *z;
    int bDir = strstr(aCase[i][0], "$D") != 0;
    char *zCreate = bDir ? sqlite3_mprintf("CREATE VIRTUAL TABLE kv USING lsm('%q/kv.lsm');"
                                           " INSERT INTO kv VALUES('p', '0')", g_zDir)
                         : sqlite3_mprintf("CREATE VIRTUAL TABLE kv USING lsm;"
                                           " INSERT INTO kv VALUES('p', '0')");
    char *zScript = 0;
    {
      /* "$D" is the test's directory. */
      const char *zAt = strstr(aCase[i][0], "$D");
      zScript = zAt ? sqlite3_mprintf("%.*s%s%s", (int)(zAt - aCase[i][0]), aCase[i][0], g_zDir,
                                      zAt + 2)
                    : sqlite3_mprintf("%s", aCase[i][0]);
    }
    test_exec_ok(db, zCreate);
    test_exec_ok(db, zScript);
    sqlite3_free(zCreate);
    sqlite3_free(zScript);
    z = keys_of(db, "kv");
    ck_assert_msg(strcmp(z, aCase[i][1]) == 0, "case %zu, same connection: %s, not %s",
                  i, z, aCase[i][1]);
    sqlite3_free(z);
    sqlite3_close(db);
    db = test_open_db(g_zDb, "wal", 10000);
    z = keys_of(db, "kv");
    ck_assert_msg(strcmp(z, aCase[i][1]) == 0, "case %zu, reopened: %s, not %s",
                  i, z, aCase[i][1]);
    sqlite3_free(z);
    check_ok(db, "kv");
    sqlite3_close(db);
    remove_db_files();
    if( bDir ){
      char *zDir = sqlite3_mprintf("%s/kv.lsm", g_zDir);
      test_rmtree(zDir);
      sqlite3_free(zDir);
      zDir = sqlite3_mprintf("%s/kv2.lsm", g_zDir);
      test_rmtree(zDir);
      sqlite3_free(zDir);
    }
  }
}
END_TEST

/* ALTER TABLE RENAME undone by a ROLLBACK TO (or a ROLLBACK): SQLite puts
** the shadow tables' names back, and the store must take its name back
** too (its COMMIT failed "no such table: main.kw_file", or "kw_commits"
** for a directory store, and the whole transaction, the native table's
** row included, was lost).  Both kinds of store. */
START_TEST(a_rename_undone_by_a_rollback_to_commits_under_the_old_name){
  static const char *aCase[][3] = {
    { "BEGIN; INSERT INTO o VALUES(1); INSERT INTO kv VALUES('a', '1'); SAVEPOINT s;"
      " ALTER TABLE kv RENAME TO kw; ROLLBACK TO s; COMMIT", "kv", "a,p" },
    { "BEGIN; INSERT INTO o VALUES(1); INSERT INTO kv VALUES('a', '1');"
      " ALTER TABLE kv RENAME TO kw; INSERT INTO kw VALUES('b', '2'); ROLLBACK;"
      " INSERT INTO o VALUES(1)", "kv", "p" },
    { "BEGIN; INSERT INTO o VALUES(1); INSERT INTO kv VALUES('a', '1'); SAVEPOINT s;"
      " ALTER TABLE kv RENAME TO kw; SAVEPOINT t; ALTER TABLE kw RENAME TO kx;"
      " INSERT INTO kx VALUES('b', '2'); ROLLBACK TO t; INSERT INTO kw VALUES('c', '3');"
      " COMMIT", "kw", "a,c,p" },
    { "BEGIN; INSERT INTO o VALUES(1); SAVEPOINT s; ALTER TABLE kv RENAME TO kw;"
      " ROLLBACK TO s; INSERT INTO kv VALUES('q', '1'); COMMIT", "kv", "p,q" },
    /* A table created in the transaction (SQLite never calls its xBegin). */
    { "BEGIN; INSERT INTO o VALUES(1); DROP TABLE kv; CREATE VIRTUAL TABLE kv USING lsm;"
      " INSERT INTO kv VALUES('a', '1'); SAVEPOINT s; ALTER TABLE kv RENAME TO kw;"
      " ROLLBACK TO s; COMMIT", "kv", "a" },
  };
  int iKind;
  size_t i;
  for(iKind = 0; iKind < 2; iKind++){
    /* The last case re-creates the table in the transaction: a directory
    ** store refuses a CREATE at the path its DROP is still removing. */
    size_t nCase = sizeof(aCase) / sizeof(aCase[0]) - (iKind == 1);
    for(i = 0; i < nCase; i++){
      sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
      char *z = create_kind("kv", "key, value", iKind);
      test_exec_ok(db, z);
      sqlite3_free(z);
      test_exec_ok(db, "CREATE TABLE o(x); INSERT INTO kv VALUES('p', '0')");
      test_exec_ok(db, aCase[i][0]);
      ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM o"), 1);
      z = keys_of(db, aCase[i][1]);
      ck_assert_msg(strcmp(z, aCase[i][2]) == 0, "kind %d, case %zu: %s holds %s, not %s",
                    iKind, i, aCase[i][1], z, aCase[i][2]);
      sqlite3_free(z);
      sqlite3_close(db);
      db = test_open_db(g_zDb, "wal", 10000);
      z = keys_of(db, aCase[i][1]);
      ck_assert_msg(strcmp(z, aCase[i][2]) == 0, "kind %d, case %zu, reopened: %s holds %s,"
                    " not %s", iKind, i, aCase[i][1], z, aCase[i][2]);
      sqlite3_free(z);
      check_ok(db, aCase[i][1]);
      sqlite3_close(db);
      remove_db_files();
      z = sqlite3_mprintf("%s/kv.lsm", g_zDir);
      test_rmtree(z);
      sqlite3_free(z);
    }
  }
}
END_TEST

/* Two RENAMEs of a table the transaction wrote before them: SQLite keeps
** the instance connected before the first in the transaction (it holds the
** writes), the second RENAME reaches another instance, and the kept one
** must take the name too.  A directory store read only its committed rows
** after the second RENAME and its COMMIT failed "kw_commits: no such
** table", losing the whole transaction (the native table's row too).  The
** same after a DROP undone by ROLLBACK TO.  Both kinds of store; the keys
** are read inside the transaction, after the COMMIT and after reopening. */
START_TEST(a_table_renamed_twice_after_its_writes_reads_and_commits_them){
  static const char *aCase[][4] = {
    { "BEGIN; INSERT INTO o VALUES(1); INSERT INTO kv VALUES('a', '1');"
      " ALTER TABLE kv RENAME TO kw; ALTER TABLE kw RENAME TO kx", "kx", "a,p", "COMMIT" },
    { "BEGIN; INSERT INTO o VALUES(1); INSERT INTO kv VALUES('a', '1');"
      " ALTER TABLE kv RENAME TO kw; SAVEPOINT s; DROP TABLE kw; ROLLBACK TO s;"
      " ALTER TABLE kw RENAME TO kx", "kx", "a,p", "COMMIT" },
    { "BEGIN; INSERT INTO o VALUES(1); INSERT INTO kv VALUES('a', '1');"
      " ALTER TABLE kv RENAME TO kw; ALTER TABLE kw RENAME TO kx; SAVEPOINT s;"
      " ALTER TABLE kx RENAME TO ky; INSERT INTO ky VALUES('b', '2'); ROLLBACK TO s;"
      " INSERT INTO kx VALUES('c', '3')", "kx", "a,c,p", "COMMIT" },
  };
  int iKind;
  size_t i;
  for(iKind = 0; iKind < 2; iKind++){
    for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
      sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
      char *z = create_kind("kv", "key, value", iKind);
      int iRead;
      test_exec_ok(db, z);
      sqlite3_free(z);
      test_exec_ok(db, "CREATE TABLE o(x); INSERT INTO kv VALUES('p', '0')");
      test_exec_ok(db, aCase[i][0]);
      for(iRead = 0; iRead < 3; iRead++){
        static const char *azWhen[] = { "in the transaction", "after it", "reopened" };
        if( iRead == 1 ){
          ck_assert_msg(sqlite3_exec(db, aCase[i][3], 0, 0, 0) == SQLITE_OK, "kind %d, case %zu:"
                        " %s: %s", iKind, i, aCase[i][3], sqlite3_errmsg(db));
          ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM o"), 1);
        }else if( iRead == 2 ){
          sqlite3_close(db);
          db = test_open_db(g_zDb, "wal", 10000);
        }
        z = keys_of(db, aCase[i][1]);
        ck_assert_msg(strcmp(z, aCase[i][2]) == 0, "kind %d, case %zu, %s: %s holds %s, not %s",
                      iKind, i, azWhen[iRead], aCase[i][1], z, aCase[i][2]);
        sqlite3_free(z);
      }
      check_ok(db, aCase[i][1]);
      sqlite3_close(db);
      remove_db_files();
      z = sqlite3_mprintf("%s/kv.lsm", g_zDir);
      test_rmtree(z);
      sqlite3_free(z);
    }
  }
}
END_TEST

/* Asserts that table zTable (schema-qualified if need be) of db holds
** exactly the keys zExpect (keys_of's form), saying when. */
static void assert_keys(sqlite3 *db, const char *zTable, const char *zExpect,
                        const char *zWhen){
  char *zSql = sqlite3_mprintf("SELECT coalesce(group_concat(key), '') FROM"
                               " (SELECT key FROM %s ORDER BY key)", zTable);
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  ck_assert_msg(rc == SQLITE_OK, "%s: %s: %s", zWhen, zSql, sqlite3_errmsg(db));
  ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_ROW);
  ck_assert_msg(strcmp((const char*)sqlite3_column_text(pStmt, 0), zExpect) == 0,
                "%s: %s holds [%s], expected [%s]", zWhen, zTable,
                (const char*)sqlite3_column_text(pStmt, 0), zExpect);
  sqlite3_finalize(pStmt);
  sqlite3_free(zSql);
}

/* A RENAME of an in-memory table that is rolled back (ROLLBACK, or
** ROLLBACK TO a savepoint before it) leaves the table with its rows under
** its old name, as a native table (n, beside it) is left: SQLite tells
** the virtual table nothing of the rollback, so the store must be found
** under both names.  A table later made under a name the store had
** (CREATE after the rolled-back RENAME, or of the old name after a
** committed RENAME, or after DROP TABLE) starts empty and leaves the
** store alone; and a RENAME to a name another store still answers to
** takes the name from it. */
START_TEST(a_rolled_back_rename_of_an_in_memory_table_keeps_its_rows){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  test_exec_ok(db, "CREATE VIRTUAL TABLE m USING lsm(':memory:');"
                   " CREATE TABLE n(key PRIMARY KEY, value) WITHOUT ROWID;"
                   " INSERT INTO m VALUES(1, 'a'); INSERT INTO n VALUES(1, 'a')");
  test_exec_ok(db, "BEGIN; ALTER TABLE m RENAME TO m2; ALTER TABLE n RENAME TO n2; ROLLBACK");
  assert_keys(db, "n", "1", "native, after ROLLBACK of RENAME");
  assert_keys(db, "m", "1", "after ROLLBACK of RENAME");
  test_exec_ok(db, "SAVEPOINT s; ALTER TABLE m RENAME TO m3; ALTER TABLE n RENAME TO n3;"
                   " ROLLBACK TO s; RELEASE s");
  assert_keys(db, "n", "1", "native, after ROLLBACK TO of RENAME");
  assert_keys(db, "m", "1", "after ROLLBACK TO of RENAME");
  test_exec_ok(db, "INSERT INTO m VALUES(2, 'b')");
  /* A name of a rolled-back RENAME, made again: a new, empty table. */
  test_exec_ok(db, "CREATE VIRTUAL TABLE m2 USING lsm(':memory:'); INSERT INTO m2 VALUES(20, 'x')");
  assert_keys(db, "m2", "20", "m2 created after the rolled-back RENAME to m2");
  assert_keys(db, "m", "1,2", "m, after m2 was created");
  /* A RENAME to a name another store answers to: m2's (newer) store
  ** answers to m3 after its rolled-back RENAME; m takes the name. */
  test_exec_ok(db, "BEGIN; ALTER TABLE m2 RENAME TO m3; ROLLBACK; ALTER TABLE m RENAME TO M3");
  assert_keys(db, "m3", "1,2", "m renamed to M3 after m2's rolled-back RENAME to m3");
  assert_keys(db, "m2", "20", "m2, after m took the name m3");
  test_exec_ok(db, "ALTER TABLE m3 RENAME TO m");
  /* The old name of a committed RENAME, made again: empty; DROP and CREATE: empty. */
  test_exec_ok(db, "ALTER TABLE m RENAME TO m4; CREATE VIRTUAL TABLE m USING lsm(':memory:')");
  assert_keys(db, "m", "", "m created again after RENAME m TO m4");
  assert_keys(db, "m4", "1,2", "m4, after m was created again");
  test_exec_ok(db, "DROP TABLE m4; CREATE VIRTUAL TABLE m4 USING lsm(':memory:')");
  assert_keys(db, "m4", "", "m4 dropped and created again");
  test_exec_ok(db, "DROP TABLE m2; CREATE VIRTUAL TABLE m2 USING lsm(':memory:')");
  assert_keys(db, "m2", "", "m2 dropped and created again");
  sqlite3_close(db);
}
END_TEST

/* An in-memory table (':memory:') of a database opened read-only reads as
** empty, as it does on every new connection, and refuses writes, as the
** other kinds do there (it failed every statement: "store directory
** /memory does not exist"); CREATE with readonly=on is refused saying
** why (the same message). */
START_TEST(an_in_memory_table_of_a_read_only_database_reads_empty_and_refuses_writes){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  char *z;
  int rc;
  test_exec_ok(db, "CREATE VIRTUAL TABLE m USING lsm(':memory:'); INSERT INTO m VALUES (1, 'a');"
                   " PRAGMA journal_mode = delete");
  sqlite3_close(db);
  ck_assert_int_eq(sqlite3_open_v2(g_zDb, &db, SQLITE_OPEN_READONLY, 0), SQLITE_OK);
  z = keys_of(db, "m");
  ck_assert_msg(strcmp(z, "") == 0, "m holds %s", z);
  sqlite3_free(z);
  rc = sqlite3_exec(db, "INSERT INTO m VALUES (2, 'b')", 0, 0, 0);
  ck_assert_msg(rc == SQLITE_READONLY, "INSERT: %d %s", rc, sqlite3_errmsg(db));
  rc = sqlite3_exec(db, "SELECT lsm_flush('m')", 0, 0, 0);
  ck_assert_msg(rc == SQLITE_READONLY, "lsm_flush: %d %s", rc, sqlite3_errmsg(db));
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM m"), 0);
  sqlite3_close(db);
  db = test_open_db(g_zDb, "delete", 10000);
  rc = sqlite3_exec(db, "CREATE VIRTUAL TABLE r USING lsm(':memory:', readonly=on)", 0, 0, 0);
  ck_assert_msg(rc == SQLITE_ERROR && strstr(sqlite3_errmsg(db), "readonly=on: the new table r"),
                "CREATE: %d %s", rc, sqlite3_errmsg(db));
  sqlite3_close(db);
}
END_TEST

/* An in-memory store belongs to its database, not to the schema name the
** database is attached as: after DETACH and an ATTACH of another database
** file under the same name, the other file's in-memory table of the same
** name is empty (it showed the first file's rows); the first file
** attached again finds its table's rows, as its connection keeps them.
** An in-memory database (shared cache, so that another connection can
** give it a table this one never created) is told apart the same way. */
START_TEST(an_in_memory_table_follows_its_database_not_the_schema_name){
  char *zA = sqlite3_mprintf("%s/a.db", g_zDir), *zB = sqlite3_mprintf("%s/b.db", g_zDir);
  char *zSql;
  sqlite3 *db, *pOther, *pHolder;
  pOther = test_open_db(zB, "wal", 10000);
  test_exec_ok(pOther, "CREATE VIRTUAL TABLE m USING lsm(':memory:')");
  sqlite3_close(pOther);
  db = test_open_db(g_zDb, "wal", 10000);
  zSql = sqlite3_mprintf("ATTACH %Q AS x; CREATE VIRTUAL TABLE x.m USING lsm(':memory:');"
                         " INSERT INTO x.m VALUES('from-a', 'a'); DETACH x; ATTACH %Q AS x",
                         zA, zB);
  test_exec_ok(db, zSql);
  sqlite3_free(zSql);
  assert_keys(db, "x.m", "", "b.db attached as x after a.db");
  zSql = sqlite3_mprintf("DETACH x; ATTACH %Q AS x", zA);
  test_exec_ok(db, zSql);
  sqlite3_free(zSql);
  assert_keys(db, "x.m", "from-a", "a.db attached as x again");
  sqlite3_close(db);

  /* In-memory databases: mem1 with a table of this connection, then mem2,
  ** whose table m another connection made. */
  ck_assert_int_eq(sqlite3_open_v2("file:memfix_mem2?mode=memory&cache=shared", &pHolder,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
                                   0), SQLITE_OK);
  test_exec_ok(pHolder, "CREATE VIRTUAL TABLE m USING lsm(':memory:')");
  ck_assert_int_eq(sqlite3_open_v2(g_zDb, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, 0),
                   SQLITE_OK);
  test_exec_ok(db, "ATTACH 'file:memfix_mem1?mode=memory&cache=shared' AS y;"
                   " CREATE VIRTUAL TABLE y.m USING lsm(':memory:');"
                   " INSERT INTO y.m VALUES('from-mem1', 1); DETACH y;"
                   " ATTACH 'file:memfix_mem2?mode=memory&cache=shared' AS y");
  assert_keys(db, "y.m", "", "in-memory mem2 attached as y after mem1");
  sqlite3_close(db);
  sqlite3_close(pHolder);
  sqlite3_free(zA);
  sqlite3_free(zB);
}
END_TEST

/* A table created inside a transaction is in it from its CREATE (SQLite
** never calls its xBegin): after a ROLLBACK TO a savepoint opened after the
** CREATE, or a RENAME undone by one, it reads the rows written before that
** savepoint, as a native table does (it read none until the COMMIT, which
** kept them: the instance SQLite connected again found no store in the
** write transaction to share).  Both kinds of store. */
START_TEST(a_table_created_in_the_transaction_reads_its_rows_after_a_rollback_to){
  static const char *aScript[] = {
    "BEGIN; $CREATE; INSERT INTO kv VALUES('z', '9'); SAVEPOINT s;"
    " INSERT INTO kv VALUES('y', '8'); ROLLBACK TO s;",
    "BEGIN; $CREATE; INSERT INTO kv VALUES('z', '9'); SAVEPOINT s;"
    " CREATE TABLE other(x); ROLLBACK TO s; INSERT INTO kv VALUES('x', '7');",
  };
  static const char *aExpect[] = { "z", "x,z" };
  int iKind;
  size_t i;
  for(iKind = 0; iKind < 2; iKind++){
    for(i = 0; i < sizeof(aScript) / sizeof(aScript[0]); i++){
      sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
      char *zCreate = create_kind("kv", "key, value", iKind);
      char *zSql = sqlite3_mprintf("%s", aScript[i]);
      char *zAt = strstr(zSql, "$CREATE");
      char *zFull, *z;
      *zAt = 0;
      zFull = sqlite3_mprintf("%s%s%s", zSql, zCreate, zAt + strlen("$CREATE"));
      test_exec_ok(db, zFull);
      z = keys_of(db, "kv");
      ck_assert_msg(strcmp(z, aExpect[i]) == 0, "kind %d, script %zu, in the transaction:"
                    " %s, not %s", iKind, i, z, aExpect[i]);
      sqlite3_free(z);
      test_exec_ok(db, "COMMIT");
      z = keys_of(db, "kv");
      ck_assert_msg(strcmp(z, aExpect[i]) == 0, "kind %d, script %zu, committed: %s, not %s",
                    iKind, i, z, aExpect[i]);
      sqlite3_free(z);
      check_ok(db, "kv");
      sqlite3_free(zFull);
      sqlite3_free(zSql);
      sqlite3_free(zCreate);
      sqlite3_close(db);
      remove_db_files();
      zSql = sqlite3_mprintf("%s/kv.lsm", g_zDir);
      test_rmtree(zSql);
      sqlite3_free(zSql);
    }
  }
}
END_TEST

/* A busy handler that ends the other connection's write transaction the
** first time it is called, as a writer finishing while we wait would. */
static sqlite3 *g_pHolder;
static int g_nBusyCalls;
static int commit_the_holder(void *pArg, int nPrior){
  (void)pArg;
  (void)nPrior;
  if( g_nBusyCalls++ == 0 ) ck_assert_int_eq(sqlite3_exec(g_pHolder, "COMMIT", 0, 0, 0), SQLITE_OK);
  return g_nBusyCalls < 100;
}

/* lsm_flush and lsm_compact outside a transaction must wait for another
** connection's write transaction as the busy handler says (as an INSERT
** does), not fail at once: SQLite calls the handler when a transaction
** begins, never when a read transaction is upgraded to write. */
static void functions_wait_for_a_writer(const char *zJournal){
  static const char *azWork[] = { "SELECT lsm_flush('kv')", "SELECT lsm_compact()" };
  size_t i;
  for(i = 0; i < sizeof(azWork) / sizeof(azWork[0]); i++){
    sqlite3 *a, *b;
    char *zErr = 0;
    int rc;
    remove_db_files();
    a = test_open_db(g_zDb, zJournal, 10000);
    test_exec_ok(a, "CREATE VIRTUAL TABLE kv USING lsm");
    test_exec_ok(a, "INSERT INTO kv VALUES (1, 1)");
    b = test_open_db(g_zDb, zJournal, 10000);
    test_exec_ok(b, "BEGIN IMMEDIATE");
    test_exec_ok(b, "INSERT INTO kv VALUES (2, 2)");
    g_pHolder = b;
    g_nBusyCalls = 0;
    sqlite3_busy_handler(a, commit_the_holder, 0);
    rc = sqlite3_exec(a, azWork[i], 0, 0, &zErr);
    ck_assert_msg(rc == SQLITE_OK && g_nBusyCalls > 0, "%s, %s: rc %d (%s), busy handler called %d times",
                  zJournal, azWork[i], rc, zErr ? zErr : "", g_nBusyCalls);
    sqlite3_free(zErr);
    ck_assert_int_eq(sqlite3_get_autocommit(a), 1);
    ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM lsm_files('kv')"), 1);
    ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv"), 2);
    check_ok(a, "kv");
    sqlite3_close(b);
    sqlite3_close(a);
  }
}

START_TEST(lsm_flush_and_lsm_compact_wait_for_a_writer_in_wal_mode){
  functions_wait_for_a_writer("wal");
}
END_TEST

START_TEST(lsm_flush_and_lsm_compact_wait_for_a_writer_in_rollback_mode){
  functions_wait_for_a_writer("delete");
}
END_TEST

/* A transaction is one log row, so it must fit under SQLITE_LIMIT_LENGTH:
** one that does not fails at COMMIT saying so (a refused bind once left
** the column NULL and failed "NOT NULL constraint failed"), and leaves
** nothing. */
START_TEST(a_transaction_over_the_length_limit_fails_saying_so_and_leaves_nothing){
  sqlite3 *db = test_open_db(g_zDb, "wal", 10000);
  const char *zErr;
  int rc;
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm");
  sqlite3_limit(db, SQLITE_LIMIT_LENGTH, 200000);
  test_exec_ok(db, "BEGIN");
  test_exec_ok(db, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100)"
                   " INSERT INTO kv SELECT i, randomblob(5000) FROM c");
  rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
  zErr = sqlite3_errmsg(db);
  ck_assert_msg(rc == SQLITE_TOOBIG && strstr(zErr, "over SQLITE_LIMIT_LENGTH (200000)"),
                "rc %d: %s", rc, zErr);
  if( !sqlite3_get_autocommit(db) ) test_exec_ok(db, "ROLLBACK");
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), 0);
  /* Smaller transactions commit. */
  test_exec_ok(db, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 30)"
                   " INSERT INTO kv SELECT i, randomblob(5000) FROM c");
  test_exec_ok(db, "WITH RECURSIVE c(i) AS (SELECT 31 UNION ALL SELECT i + 1 FROM c WHERE i < 60)"
                   " INSERT INTO kv SELECT i, randomblob(5000) FROM c");
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), 60);
  check_ok(db, "kv");
  sqlite3_close(db);
}
END_TEST

static Suite *indb_suite(void){
  Suite *s = suite_create("indb");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, two_connections_see_each_others_commits_in_wal_mode);
  tcase_add_test(tc, two_connections_see_each_others_commits_in_rollback_mode);
  tcase_add_test(tc, every_table_of_every_connection_shares_one_bounded_block_cache);
  tcase_add_test(tc, a_wal_reader_keeps_its_snapshot_across_a_compaction);
  tcase_add_test(tc, a_commit_that_fails_busy_leaves_nothing_and_a_retry_commits_once);
  tcase_add_test(tc, a_first_use_under_another_connections_lock_says_the_database_is_locked);
  tcase_add_test(tc, a_locked_table_of_a_dotted_schema_is_said_locked_not_missing);
  tcase_add_test(tc, a_commit_vetoed_by_a_commit_hook_leaves_nothing);
  tcase_add_test(tc, a_full_database_fails_the_commit_and_changes_nothing);
  tcase_add_test(tc, processes_write_and_read_one_table_in_wal_mode);
  tcase_add_test(tc, processes_write_and_read_one_table_in_rollback_mode);
  tcase_add_test(tc, a_killed_writer_leaves_every_transaction_whole_in_wal_mode);
  tcase_add_test(tc, a_killed_writer_leaves_every_transaction_whole_in_rollback_mode);
  tcase_add_test(tc, backup_and_vacuum_into_carry_the_rows_and_never_share_them);
  tcase_add_test(tc, a_reader_lets_go_of_the_database_when_its_statement_ends);
  tcase_add_test(tc, a_reader_reads_on_across_a_compaction_that_replaces_its_files);
  tcase_add_test(tc, a_blob_handle_expired_by_a_write_to_its_row_is_opened_again);
  tcase_add_test(tc, three_hundred_statements_read_one_table_at_once);
  tcase_add_test(tc, a_short_chunk_row_is_corrupt_naming_its_file);
  tcase_add_test(tc, no_statement_of_the_store_outlives_a_user_statement);
  tcase_add_test(tc, a_file_missing_a_chunk_row_is_corrupt_naming_it);
  tcase_add_test(tc, work_rolled_back_with_its_transaction_is_forgotten);
  tcase_add_test(tc, writes_before_a_schema_change_in_a_transaction_stay_in_it);
  tcase_add_test(tc, lsm_stats_and_lsm_check_see_another_connections_commits_in_wal_mode);
  tcase_add_test(tc, lsm_stats_and_lsm_check_see_another_connections_commits_in_rollback_mode);
  tcase_add_test(tc, a_rollback_to_after_a_busy_commit_that_flushed_leaves_a_whole_store);
  tcase_add_test(tc, an_interrupted_switch_of_secure_delete_is_put_back);
  tcase_add_test(tc, a_reader_of_a_shared_batch_keeps_it_across_the_commit);
  tcase_add_test(tc, a_statement_rollback_after_work_in_the_transaction_keeps_open_cursors);
  tcase_add_test(tc, a_drop_after_a_schema_change_in_a_transaction_drops_or_comes_back_whole);
  tcase_add_test(tc, a_limit_with_a_term_between_two_columns_returns_the_right_rows);
  tcase_add_test(tc, an_update_moving_keys_onto_held_keys_fails_and_loses_nothing);
  tcase_add_test(tc, last_insert_rowid_stays_the_users_across_lsm_writes);
  tcase_add_test(tc, a_create_rolled_back_to_a_savepoint_leaves_the_rest_of_the_transaction);
  tcase_add_test(tc, a_drop_of_a_directory_store_written_in_the_transaction_commits);
  tcase_add_test(tc, a_drop_rolled_back_to_a_savepoint_keeps_the_transactions_earlier_rows);
  tcase_add_test(tc, a_drop_after_a_schema_change_of_a_table_written_in_the_transaction_works);
  tcase_add_test(tc, a_drop_after_a_schema_change_is_refused_while_another_connection_uses_the_store);
  tcase_add_test(tc, a_drop_after_a_rename_undone_by_a_rollback_to_works);
  tcase_add_test(tc, a_rename_then_drop_in_one_transaction_removes_the_store);
  tcase_add_test(tc, a_drop_works_when_another_table_took_the_name_of_a_stale_instance);
  tcase_add_test(tc, a_drop_beside_a_stale_instance_is_refused_while_the_store_is_in_use);
  tcase_add_test(tc, an_in_memory_table_keeps_its_rows_across_schema_changes);
  tcase_add_test(tc, a_create_over_a_dropped_name_rolled_back_to_a_savepoint_writes_nowhere);
  tcase_add_test(tc, a_rename_undone_by_a_rollback_to_commits_under_the_old_name);
  tcase_add_test(tc, a_table_renamed_twice_after_its_writes_reads_and_commits_them);
  tcase_add_test(tc, a_table_created_in_the_transaction_reads_its_rows_after_a_rollback_to);
  tcase_add_test(tc, a_rolled_back_rename_of_an_in_memory_table_keeps_its_rows);
  tcase_add_test(tc, an_in_memory_table_follows_its_database_not_the_schema_name);
  tcase_add_test(tc, an_in_memory_table_of_a_read_only_database_reads_empty_and_refuses_writes);
  tcase_add_test(tc, lsm_flush_and_lsm_compact_wait_for_a_writer_in_wal_mode);
  tcase_add_test(tc, lsm_flush_and_lsm_compact_wait_for_a_writer_in_rollback_mode);
  tcase_add_test(tc, a_transaction_over_the_length_limit_fails_saying_so_and_leaves_nothing);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(indb_suite)
