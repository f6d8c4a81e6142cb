/*
** test_indb_flush_ahead.c — an in-database table's flush built on a
** thread and installed by a later COMMIT (lsm/db_flush_ahead.c, started by
** ext/dbstore.c's dbstore_commit, installed by dbstore_work's lsm_work).
**
** Every test fills a 64 KiB memtable (memtable_mb=0.0625) with COMMITs of
** rows whose keys are counted, until lsm_stats says a memtable waits for
** its flush ("memtable.immutable" 1: its SSTable is being built or is
** built), then checks what the next COMMITs, another connection, a
** rollback, a kill or a close do with it.  Every row committed must read
** back, on this and other connections, and lsm_check must pass.
*/
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db_impl.h"
#include "lsm.h"
#include "testutil.h"

int sqlite3_lsm_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

#define ROWS_PER_COMMIT 50      /* 200-byte values: about 6 COMMITs a memtable */
#define MAX_FILL_COMMITS 200    /* a memtable fills well before this          */
#define MAX_WAIT_COMMITS 20000  /* one-row COMMITs, 1 ms apart, for the thread */

static char *g_zDir;
static char *g_zDb;

static void setup(void){
  test_sql_fixture_begin((void(*)(void))sqlite3_lsm_init, "flushahead", &g_zDir, &g_zDb);
}
static void teardown(void){
  test_sql_fixture_end(&g_zDir, &g_zDb);
}

static sqlite3 *open_db(void){
  return test_open_db(g_zDb, "WAL", 10000);
}

static sqlite3_int64 stat_of(sqlite3 *db, const char *zPath){
  char *zSql = sqlite3_mprintf("SELECT json_extract(lsm_stats('kv'), '%q')", zPath);
  sqlite3_int64 n = test_query_int(db, zSql);
  sqlite3_free(zSql);
  return n;
}

/* The rows of the store written so far: keys 0 .. *pnKey - 1 (fills) and
** -1 .. -*pnSmall (one-row COMMITs). */
typedef struct written { int nKey; int nSmall; } written;

static void commit_rows(sqlite3 *db, written *pW){
  char *zSql = sqlite3_mprintf(
      "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < %d)"
      " INSERT INTO kv SELECT %d + i, printf('%%0200d', %d + i) FROM c",
      ROWS_PER_COMMIT - 1, pW->nKey, pW->nKey);
  test_exec_ok(db, zSql);
  sqlite3_free(zSql);
  pW->nKey += ROWS_PER_COMMIT;
}

static int commit_small(sqlite3 *db, written *pW){
  char *zSql = sqlite3_mprintf("INSERT INTO kv VALUES(%d, 'small')", -(pW->nSmall + 1));
  int rc = sqlite3_exec(db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  if( rc == SQLITE_OK ) pW->nSmall++;
  return rc;
}

/* COMMITs of ROWS_PER_COMMIT rows until a memtable waits for its flush. */
static void fill_until_prepared(sqlite3 *db, written *pW){
  int i;
  for(i = 0; i < MAX_FILL_COMMITS; i++){
    commit_rows(db, pW);
    if( stat_of(db, "$.memtable.immutable") == 1 ) return;
  }
  ck_abort_msg("no memtable waited for its flush after %d COMMITs", MAX_FILL_COMMITS);
}

static void sleep_ms(int n){
  struct timespec ts = { 0, n * 1000000L };
  nanosleep(&ts, 0);
}

/* One-row COMMITs until one has installed the prepared flush (nothing
** waits any more); returns how many it took (no timing is asserted: the
** thread gets a millisecond between COMMITs, 20 s in all under load). */
static int commit_until_installed(sqlite3 *db, written *pW){
  int i;
  for(i = 1; i <= MAX_WAIT_COMMITS; i++){
    ck_assert_int_eq(commit_small(db, pW), SQLITE_OK);
    if( stat_of(db, "$.memtable.immutable") == 0 ) return i;
    sleep_ms(1);
  }
  ck_abort_msg("no COMMIT installed the prepared flush in %d", MAX_WAIT_COMMITS);
  return 0;
}

/* Every row written reads back on db, and lsm_check passes. */
static void assert_rows(sqlite3 *db, const written *pW){
  sqlite3_int64 nKey = pW->nKey, nSmall = pW->nSmall;
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), nKey + nSmall);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv WHERE key >= 0"), nKey);
  ck_assert_int_eq(test_query_int(db, "SELECT coalesce(sum(key), 0) FROM kv WHERE key >= 0"),
                   nKey * (nKey - 1) / 2);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv WHERE key >= 0"
                                      " AND value = printf('%0200d', key)"), nKey);
  ck_assert_int_eq(test_query_int(db, "SELECT coalesce(sum(key), 0) FROM kv WHERE key < 0"),
                   -nSmall * (nSmall + 1) / 2);
  {
    char *z = test_query_text(db, "SELECT lsm_check('kv')");
    ck_assert_msg(strcmp(z, "ok") == 0, "lsm_check: %s", z);
    sqlite3_free(z);
  }
}

/* Rows of kv_file changed while no write statement of the test ran. */
static int g_bWriting;
static int g_nFileChangesOutside, g_nFileInserts;
static void watch_file_rows(void *pArg, int eOp, const char *zDb, const char *zTable,
                            sqlite3_int64 iRow){
  (void)pArg; (void)zDb; (void)iRow;
  if( strcmp(zTable, "kv_file") != 0 ) return;
  if( !g_bWriting ) g_nFileChangesOutside++;
  if( eOp == SQLITE_INSERT ) g_nFileInserts++;
}

/*
** The COMMIT after which the memtable is full switches it out (readers
** still see it) and counts no flush: its SSTable is built on a thread, and
** no row of kv_file changes until a later COMMIT installs it, inside that
** COMMIT's transaction (an update hook sees every kv_file row written
** while a write statement of this connection runs, none outside).  The
** installing COMMIT counts the flush.
*/
START_TEST(a_later_commit_installs_the_flush_built_on_the_thread){
  sqlite3 *db = open_db(), *db2;
  written w = { 0, 0 };
  sqlite3_int64 nFlushes, nFileRows;
  int i, nWait;
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
  sqlite3_update_hook(db, watch_file_rows, 0);
  g_bWriting = 1;
  fill_until_prepared(db, &w);
  g_bWriting = 0;
  nFlushes = stat_of(db, "$.writes.flushes");
  nFileRows = test_query_int(db, "SELECT count(*) FROM kv_file");
  /* Reads meanwhile see every row (the switched-out memtable is read)
  ** and change nothing. */
  db2 = open_db();
  for(i = 0; i < 20; i++){
    assert_rows(db, &w);
    assert_rows(db2, &w);
    ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv_file"), nFileRows);
    ck_assert_int_eq(stat_of(db, "$.writes.flushes"), nFlushes);
    ck_assert_int_eq(stat_of(db, "$.memtable.immutable"), 1);
    sleep_ms(1);
  }
  g_bWriting = 1;
  g_nFileInserts = 0;
  nWait = commit_until_installed(db, &w);
  g_bWriting = 0;
  ck_assert_int_ge(nWait, 1);
  ck_assert_int_eq(stat_of(db, "$.writes.flushes"), nFlushes + 1);
  ck_assert_int_gt(g_nFileInserts, 0);
  ck_assert_int_gt(test_query_int(db, "SELECT count(*) FROM kv_file"), nFileRows);
  ck_assert_int_eq(g_nFileChangesOutside, 0);
  /* The log rows the flush covers went in the same COMMIT. */
  ck_assert_int_le(test_query_int(db, "SELECT count(*) FROM kv_log"), nWait + 1);
  assert_rows(db, &w);
  assert_rows(db2, &w);
  sqlite3_update_hook(db, 0, 0);
  sqlite3_close(db2);
  sqlite3_close(db);
}
END_TEST

/*
** A prepared flush is never installed once another connection has
** changed the store: another connection's flush (lsm_flush) and then its
** compaction (lsm_compact) each write a new manifest, and this
** connection's next COMMIT, seeing it, reopens its engine, which drops the
** prepared table.  No second copy of those rows appears (the files are
** exactly the other connection's), and every row reads back everywhere.
*/
START_TEST(a_flush_prepared_before_another_connection_flushed_is_dropped){
  sqlite3 *db = open_db(), *db2, *db3;
  written w = { 0, 0 };
  int iRound;
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
  db2 = open_db();
  for(iRound = 0; iRound < 2; iRound++){
    char *zFiles, *zFiles2;
    fill_until_prepared(db, &w);
    /* The other connection flushes (then, in the second round, compacts)
    ** every row, this connection's prepared ones included. */
    assert_rows(db2, &w);
    if( iRound == 0 ){
      test_query_int(db2, "SELECT lsm_flush('kv') IS NOT NULL");
    }else{
      test_query_int(db2, "SELECT lsm_compact('kv') IS NOT NULL");
    }
    ck_assert_int_eq(test_query_int(db2, "SELECT count(*) FROM kv_log"), 0);
    zFiles2 = test_query_text(db2, "SELECT group_concat(file) FROM lsm_files('kv')");
    /* This connection's next COMMIT finds a new manifest: its engine
    ** reopens, the prepared table goes unused. */
    ck_assert_int_eq(commit_small(db, &w), SQLITE_OK);
    ck_assert_int_eq(stat_of(db, "$.memtable.immutable"), 0);
    ck_assert_int_eq(stat_of(db, "$.writes.flushes"), 0);
    zFiles = test_query_text(db, "SELECT group_concat(file) FROM lsm_files('kv')");
    ck_assert_str_eq(zFiles, zFiles2);
    /* Only the files the manifest names (and the manifest) have rows. */
    ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv_file WHERE name NOT LIKE '%:%'"
                                        " AND name <> 'MANIFEST'"),
                     test_query_int(db, "SELECT count(*) FROM lsm_files('kv')"));
    sqlite3_free(zFiles);
    sqlite3_free(zFiles2);
    assert_rows(db, &w);
    assert_rows(db2, &w);
  }
  db3 = open_db();
  assert_rows(db3, &w);
  sqlite3_close(db3);
  sqlite3_close(db2);
  sqlite3_close(db);
}
END_TEST

static int fail_commit(void *pArg){
  (void)pArg;
  return 1;
}

/*
** A COMMIT that installed the prepared flush and is then rolled back (its
** commit hook fails it, after xSync ran the work) leaves nothing of the
** install: the SSTable's rows and the log rows' deletion are undone, the
** engine reopens from the database (its memtable holds those rows again),
** and a later COMMIT flushes them.  A failed COMMIT that found the table
** still being built keeps it prepared.
*/
START_TEST(a_rolled_back_install_leaves_the_rows_to_a_later_flush){
  sqlite3 *db = open_db(), *db2;
  written w = { 0, 0 };
  sqlite3_int64 nFileRows, nLogRows;
  char *zFiles, *zFilesAfter;
  int i;
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
  fill_until_prepared(db, &w);
  nFileRows = test_query_int(db, "SELECT count(*) FROM kv_file");
  nLogRows = test_query_int(db, "SELECT count(*) FROM kv_log");
  zFiles = test_query_text(db, "SELECT group_concat(file) FROM lsm_files('kv')");
  sqlite3_commit_hook(db, fail_commit, 0);
  for(i = 0; i < MAX_WAIT_COMMITS; i++){
    written wFailed = w;
    ck_assert_int_eq(commit_small(db, &wFailed) & 0xff, SQLITE_CONSTRAINT);
    /* Still prepared (the failed COMMIT found it building), or installed
    ** and rolled back: the engine reopened from the database. */
    if( stat_of(db, "$.memtable.immutable") == 0 ) break;
    sleep_ms(1);
  }
  ck_assert_int_lt(i, MAX_WAIT_COMMITS);
  sqlite3_commit_hook(db, 0, 0);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv_file"), nFileRows);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv_log"), nLogRows);
  zFilesAfter = test_query_text(db, "SELECT group_concat(file) FROM lsm_files('kv')");
  ck_assert_str_eq(zFilesAfter, zFiles);
  sqlite3_free(zFilesAfter);
  assert_rows(db, &w);
  db2 = open_db();
  assert_rows(db2, &w);
  /* The rows are flushed by a later COMMIT (the reopened engine's
  ** memtable holds them all and is full: the next COMMIT flushes it). */
  for(i = 0; i < MAX_WAIT_COMMITS && test_query_int(db, "SELECT count(*) FROM kv_log") >= nLogRows; i++){
    ck_assert_int_eq(commit_small(db, &w), SQLITE_OK);
    sleep_ms(1);
  }
  ck_assert_int_lt(test_query_int(db, "SELECT count(*) FROM kv_log"), nLogRows);
  zFilesAfter = test_query_text(db, "SELECT group_concat(file) FROM lsm_files('kv')");
  ck_assert_str_ne(zFilesAfter, zFiles);
  sqlite3_free(zFilesAfter);
  sqlite3_free(zFiles);
  assert_rows(db, &w);
  assert_rows(db2, &w);
  sqlite3_close(db2);
  sqlite3_close(db);
}
END_TEST

/*
** A writer killed (SIGKILL) while its flush is being prepared, or built
** and not installed, loses nothing: the log rows still hold the memtable's
** rows, and the next open replays them; after it the next fill prepares a
** flush on the thread again, and a later COMMIT installs it.  The child
** reports through a pipe how far it wrote.
*/
START_TEST(a_writer_killed_between_prepare_and_install_loses_nothing){
  int iRound;
  for(iRound = 0; iRound < 2; iRound++){
    int aPipe[2], status = 0;
    written w = { 0, 0 };
    sqlite3_int64 nFlushes;
    pid_t pid;
    sqlite3 *db;
    ck_assert_int_eq(pipe(aPipe), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if( pid == 0 ){
      close(aPipe[0]);
      db = open_db();
      if( iRound == 0 ){
        test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
      }else{
        written wOld = { 0, 0 };
        /* The first round's rows (and one flush of them, by now). */
        wOld.nKey = (int)test_query_int(db, "SELECT count(*) FROM kv WHERE key >= 0");
        wOld.nSmall = (int)test_query_int(db, "SELECT count(*) FROM kv WHERE key < 0");
        w = wOld;
      }
      fill_until_prepared(db, &w);
      /* Round 1: killed at once, the thread most likely still building;
      ** round 2: once it has had time to finish (not installed: no COMMIT
      ** came after). */
      if( iRound == 1 ) sleep_ms(200);
      if( write(aPipe[1], &w, sizeof(w)) != (ssize_t)sizeof(w) ) _exit(3);
      kill(getpid(), SIGKILL);
      _exit(4);
    }
    close(aPipe[1]);
    ck_assert_int_eq((int)read(aPipe[0], &w, sizeof(w)), (int)sizeof(w));
    close(aPipe[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child was not killed");
    db = open_db();
    assert_rows(db, &w);
    /* The reopened engine has no prepared flush (its memtable, replayed
    ** from the log rows, is flushed inline by a COMMIT if full): the next
    ** fill prepares one on the thread again, and the COMMIT that installs
    ** it counts exactly one flush. */
    fill_until_prepared(db, &w);
    nFlushes = stat_of(db, "$.writes.flushes");
    ck_assert_int_ge(commit_until_installed(db, &w), 1);
    ck_assert_int_eq(stat_of(db, "$.writes.flushes"), nFlushes + 1);
    assert_rows(db, &w);
    sqlite3_close(db);
  }
}
END_TEST

/*
** The engine closes while its flush is being built: the connection closes,
** the table is dropped (and the drop rolled back), the table is dropped
** for good.  The thread is stopped and joined, its memory freed (the
** sanitizer build finds a leak or a use after free); nothing changes in
** the database.
*/
START_TEST(closing_or_dropping_with_a_flush_being_built_is_clean){
  sqlite3 *db = open_db();
  written w = { 0, 0 };
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
  fill_until_prepared(db, &w);
  sqlite3_close(db);                      /* the thread most likely still runs */
  db = open_db();
  assert_rows(db, &w);
  fill_until_prepared(db, &w);
  test_exec_ok(db, "BEGIN; DROP TABLE kv; ROLLBACK");
  assert_rows(db, &w);
  fill_until_prepared(db, &w);
  test_exec_ok(db, "DROP TABLE kv");
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'kv%'"),
                   0);
  sqlite3_close(db);
}
END_TEST

/* An in-memory database (no second connection could read it) prepares and
** installs its flushes the same way. */
START_TEST(an_in_memory_database_installs_prepared_flushes){
  sqlite3 *db = 0;
  written w = { 0, 0 };
  int i;
  ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
  for(i = 0; i < 3; i++){
    fill_until_prepared(db, &w);
    commit_until_installed(db, &w);
    assert_rows(db, &w);
  }
  ck_assert_int_ge(stat_of(db, "$.writes.flushes"), 3);
  sqlite3_close(db);
}
END_TEST

/*
** The engine's side of the contract the extension's COMMIT relies on
** (dbstore_work: a flush call, whose log rows it then deletes, and a call
** that may compact): an lsm_work that may compact leaves a prepared flush
** the thread has finished to the next call that runs none (it would
** otherwise install a flush its caller does not know of, and compact in
** the same call); that call installs it and counts it as a flush.  A
** hosted store over the memory env, the thread waited for.
*/
START_TEST(only_a_flush_call_installs_a_finished_prepared_flush){
  lsm_env *pMem = lsm_env_memory();
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_stats st;
  uint64_t iSeq = 1;
  int i, bStarted = 0, nDone = -1, nWait = 0;
  char zKey[16], zVal[200];
  lsm_options_default(&opt);
  opt.env = pMem;
  opt.hosted = 1;
  opt.memtable_bytes = 64 * 1024;
  ck_assert_int_eq(lsm_open("ahead", &opt, &pDb), LSM_OK);
  for(i = 0; i < 2000; i++){         /* about 400 KiB: the memtable is full */
    lsm_batch *pBatch = NULL;
    int nKey = snprintf(zKey, sizeof(zKey), "k%06d", i);
    memset(zVal, 'a' + i % 26, sizeof(zVal));
    if( i % 100 == 0 ){
      ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
      if( st.nMemtableBytes >= opt.memtable_bytes ) break;
    }
    ck_assert_int_eq(lsm_batch_new(pDb, &pBatch), LSM_OK);
    ck_assert_int_eq(lsm_batch_put(pBatch, zKey, (size_t)nKey, zVal, sizeof(zVal)), LSM_OK);
    ck_assert_int_eq(lsm_write_at(pDb, pBatch, iSeq++), LSM_OK);
    lsm_batch_free(pBatch);
  }
  ck_assert_int_eq(lsm_flush_ahead(pDb, &bStarted), LSM_OK);
  ck_assert_int_eq(bStarted, 1);
  while( db_flush_ahead_running(pDb) && nWait++ < 10000 ) usleep(1000);
  ck_assert_int_eq(db_flush_ahead_running(pDb), 0);

  ck_assert_int_eq(lsm_work(pDb, 1, &nDone), LSM_OK);
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  ck_assert_uint_eq(st.nImmutable, 1);      /* still prepared, not installed */
  ck_assert_uint_eq(st.nFlushes, 0);
  ck_assert_int_eq(nDone, 0);

  ck_assert_int_eq(lsm_work(pDb, 0, &nDone), LSM_OK);
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  ck_assert_uint_eq(st.nImmutable, 0);
  ck_assert_uint_eq(st.nFlushes, 1);
  ck_assert_int_eq(nDone, 1);
  for(i = 0; i < (int)iSeq - 1; i += 37){
    void *pVal = NULL;
    size_t nVal = 0;
    int nKey = snprintf(zKey, sizeof(zKey), "k%06d", i);
    ck_assert_int_eq(lsm_get(pDb, NULL, zKey, (size_t)nKey, &pVal, &nVal), LSM_OK);
    ck_assert(nVal == sizeof(zVal) && ((char*)pVal)[0] == 'a' + i % 26);
    lsm_free(pVal);
  }
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  lsm_env_memory_free(pMem);
}
END_TEST

/*
** A drop (lsm_close's, or a reopen's after another connection changed the
** store) waits for the thread to see its cancel flag; a memtable of a few
** multi-MiB values must not be built to its end first.  The thread builds
** at most about 1 MiB of keys and values, plus the entry that crossed it,
** between two looks at the flag (db_flush_ahead.c, AHEAD_CANCEL_BYTES),
** whatever the number of entries; the thread counts the most it built
** between two looks (lsm_db.nAheadMostUnpolled), so no timing is needed.
** A hosted store over the memory env: 6 values of 2 MiB in an 8 MiB
** memtable; the whole build runs, then the prepared flush is dropped and
** the memtable is flushed inline.
*/
#define HUGE_VALUE_BYTES (2 * 1024 * 1024)
START_TEST(a_flush_of_few_huge_values_looks_for_cancel_every_mebibyte){
  lsm_env *pMem = lsm_env_memory();
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_stats st;
  uint64_t iSeq = 1;
  int i, nPut = 0, bStarted = 0, nDone = -1, nWait = 0;
  char zKey[16];
  char *zVal = malloc(HUGE_VALUE_BYTES);
  ck_assert_ptr_nonnull(zVal);
  lsm_options_default(&opt);
  opt.env = pMem;
  opt.hosted = 1;
  opt.memtable_bytes = 8 * 1024 * 1024;
  ck_assert_int_eq(lsm_open("ahead", &opt, &pDb), LSM_OK);
  for(i = 0; i < 16; i++){
    lsm_batch *pBatch = NULL;
    int nKey = snprintf(zKey, sizeof(zKey), "h%06d", i);
    ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
    if( st.nMemtableBytes >= opt.memtable_bytes ) break;
    memset(zVal, 'a' + i % 26, HUGE_VALUE_BYTES);
    ck_assert_int_eq(lsm_batch_new(pDb, &pBatch), LSM_OK);
    ck_assert_int_eq(lsm_batch_put(pBatch, zKey, (size_t)nKey, zVal, HUGE_VALUE_BYTES), LSM_OK);
    ck_assert_int_eq(lsm_write_at(pDb, pBatch, iSeq++), LSM_OK);
    lsm_batch_free(pBatch);
    nPut++;
  }
  ck_assert_int_ge(nPut, 4);
  ck_assert_int_eq(lsm_flush_ahead(pDb, &bStarted), LSM_OK);
  ck_assert_int_eq(bStarted, 1);
  while( db_flush_ahead_running(pDb) && nWait++ < 60000 ) usleep(1000);
  ck_assert_int_eq(db_flush_ahead_running(pDb), 0);
  db_flush_ahead_drop(pDb);
  ck_assert_msg(pDb->nAheadMostUnpolled > 0, "the thread built nothing");
  ck_assert_msg(pDb->nAheadMostUnpolled <= 1024 * 1024 + HUGE_VALUE_BYTES + 64,
                "the thread built %llu bytes without looking at its cancel flag",
                (unsigned long long)pDb->nAheadMostUnpolled);

  /* Dropped: the memtable is flushed inline, every value reads back. */
  ck_assert_int_eq(lsm_work(pDb, 0, &nDone), LSM_OK);
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  ck_assert_uint_eq(st.nImmutable, 0);
  ck_assert_uint_eq(st.nFlushes, 1);
  for(i = 0; i < nPut; i++){
    void *pVal = NULL;
    size_t nVal = 0;
    int nKey = snprintf(zKey, sizeof(zKey), "h%06d", i);
    ck_assert_int_eq(lsm_get(pDb, NULL, zKey, (size_t)nKey, &pVal, &nVal), LSM_OK);
    ck_assert(nVal == HUGE_VALUE_BYTES && ((char*)pVal)[nVal - 1] == 'a' + i % 26);
    lsm_free(pVal);
  }
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  lsm_env_memory_free(pMem);
  free(zVal);
}
END_TEST

static Suite *indb_flush_ahead_suite(void){
  Suite *s = suite_create("indb_flush_ahead");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 600);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, a_later_commit_installs_the_flush_built_on_the_thread);
  tcase_add_test(tc, a_flush_prepared_before_another_connection_flushed_is_dropped);
  tcase_add_test(tc, a_rolled_back_install_leaves_the_rows_to_a_later_flush);
  tcase_add_test(tc, a_writer_killed_between_prepare_and_install_loses_nothing);
  tcase_add_test(tc, closing_or_dropping_with_a_flush_being_built_is_clean);
  tcase_add_test(tc, an_in_memory_database_installs_prepared_flushes);
  tcase_add_test(tc, only_a_flush_call_installs_a_finished_prepared_flush);
  tcase_add_test(tc, a_flush_of_few_huge_values_looks_for_cancel_every_mebibyte);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(indb_flush_ahead_suite)
