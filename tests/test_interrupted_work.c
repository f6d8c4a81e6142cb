/*
** test_interrupted_work.c — lsm_flush() and lsm_compact() on an in-database
** table, interrupted (sqlite3_interrupt, as the sqlite3 shell's Ctrl-C
** does) at every step of their work in turn (ext/dbstore.c,
** dbstore_flush_or_compact and dbstore_x_rename).  An interrupt fails every
** statement until the interrupted one ends, the extension's own ROLLBACK
** TO and RELEASE included, so the work cannot always undo itself at once:
**
**   - inside BEGIN, whatever the COMMIT after it does, the table reads
**     every committed row (the manifest is renamed into place by one
**     statement, so it is never missing from the transaction: it was, and
**     a COMMIT then made the table unreadable, bug hunt 4);
**   - outside BEGIN, the transaction the work's SAVEPOINT began may stay
**     open: the error says so and what ends it, and after a COMMIT or a
**     ROLLBACK (taken in turn) the table reads every row and the
**     program's next autocommit statement commits.
**
** Each case is a database file of its own, in WAL and in rollback-journal
** mode; the interrupt comes from a progress handler at the Nth
** virtual-machine step, N = 1, 2, ... until the work finishes.
**
** And work that a reader holds up (bug hunt 5), in rollback-journal mode,
** where writing to the file needs its exclusive lock:
**   - outside BEGIN, a flush or compaction whose own commit meets
**     SQLITE_BUSY is rolled back: nothing stays open, and the program's
**     next statements commit;
**   - the work of a COMMIT (a flush, one chunk row per statement) waits for
**     the reader about one busy_timeout in all, not one per statement
**     that spills SQLite's page cache: the sleeps the busy handlers ask of
**     the VFS are counted (no clock is read), and busy_timeout is as the
**     program set it after.
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "vfs_shim.h"

int sqlite3_lsm_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

#define ROWS 120                  /* rows per committed batch, two batches */

static char *g_zDir;
static char *g_zDb;
static const char *g_zJournal = "wal";   /* of the databases fresh_db makes */

static void setup(void){
  test_sql_fixture_begin((void(*)(void))sqlite3_lsm_init, "intwork", &g_zDir, &g_zDb);
}
static void teardown(void){
  test_sql_fixture_end(&g_zDir, &g_zDb);
}

/* Run xRun(zWork) on WAL databases, then on rollback-journal ones. */
static void in_both_journal_modes(void (*xRun)(const char*), const char *zWork){
  g_zJournal = "wal";
  xRun(zWork);
  g_zJournal = "delete";
  xRun(zWork);
}

/* Interrupt the connection at its nAt-th progress callback. */
typedef struct interrupt_at { sqlite3 *db; int n, nAt; } interrupt_at;
static int progress_interrupt(void *pArg){
  interrupt_at *p = pArg;
  if( ++p->n == p->nAt ) sqlite3_interrupt(p->db);
  return 0;
}

/* A new database file holding kv (2 * ROWS rows, flushed after each
** batch, so that a flush or compaction has tables to write and replace)
** and a native table t. */
static sqlite3 *fresh_db(void){
  sqlite3 *db;
  int r, i;
  char *zSide;
  unlink(g_zDb);
  zSide = sqlite3_mprintf("%s-wal", g_zDb);
  unlink(zSide);
  sqlite3_free(zSide);
  zSide = sqlite3_mprintf("%s-journal", g_zDb);
  unlink(zSide);
  sqlite3_free(zSide);
  db = test_open_db(g_zDb, g_zJournal, 0);
  /* No fsync: what is tested is what each transaction holds, not durability. */
  test_exec_ok(db, "PRAGMA synchronous=OFF");
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm; CREATE TABLE t(x)");
  for(r = 0; r < 2; r++){
    test_exec_ok(db, "BEGIN");
    for(i = 0; i < ROWS; i++){
      char *zSql = sqlite3_mprintf("INSERT INTO kv VALUES ('k%04d', printf('%%.60c', 'v'))",
                                   i * 2 + r);
      test_exec_ok(db, zSql);
      sqlite3_free(zSql);
    }
    test_exec_ok(db, "COMMIT");
    test_exec_ok(db, "SELECT lsm_flush('kv')");
  }
  return db;
}

/* Run zWork ("lsm_flush" or "lsm_compact") interrupted at step nAt: 1 if
** the work finished first, else 0 with its error message in zErr. */
static int run_interrupted(sqlite3 *db, const char *zWork, int nAt, char *zErr, size_t nErr){
  interrupt_at at = { db, 0, nAt };
  char *zSql = sqlite3_mprintf("SELECT %s('kv')", zWork);
  char *zMsg = NULL;
  int rc;
  sqlite3_progress_handler(db, 1, progress_interrupt, &at);
  rc = sqlite3_exec(db, zSql, 0, 0, &zMsg);
  sqlite3_progress_handler(db, 0, 0, 0);
  snprintf(zErr, nErr, "%s", zMsg ? zMsg : "");
  sqlite3_free(zMsg);
  sqlite3_free(zSql);
  return rc == SQLITE_OK;
}

/* A new connection reads all 2 * ROWS rows of kv and nT rows of t, and
** lsm_check passes. */
static void expect_all_rows(int nAt, const char *zWork, sqlite3_int64 nT){
  sqlite3 *db = test_open_db(g_zDb, g_zJournal, 0);
  char *zCheck;
  sqlite3_int64 nKv = test_query_int(db, "SELECT count(*) FROM kv WHERE length(value) = 60");
  ck_assert_msg(nKv == 2 * ROWS, "%s (%s) interrupted at step %d: kv reads %lld rows,"
                " expected %d", zWork, g_zJournal, nAt, (long long)nKv, 2 * ROWS);
  ck_assert_msg(test_query_int(db, "SELECT count(*) FROM t") == nT,
                "%s interrupted at step %d: t reads %lld rows, expected %lld", zWork, nAt,
                (long long)test_query_int(db, "SELECT count(*) FROM t"), (long long)nT);
  zCheck = test_query_text(db, "SELECT lsm_check('kv')");
  ck_assert_msg(zCheck && strcmp(zCheck, "ok") == 0, "%s interrupted at step %d: lsm_check"
                " says %s", zWork, nAt, zCheck ? zCheck : "(null)");
  sqlite3_free(zCheck);
  sqlite3_close(db);
}

static void interrupted_inside_begin(const char *zWork){
  int nAt, bDone = 0;
  for(nAt = 1; !bDone; nAt++){
    sqlite3 *db = fresh_db();
    char zErr[512];
    test_exec_ok(db, "BEGIN; INSERT INTO t VALUES (1)");
    bDone = run_interrupted(db, zWork, nAt, zErr, sizeof(zErr));
    /* An interrupted write statement rolls the transaction back (SQLite);
    ** otherwise the user's COMMIT commits t's row and whatever the work
    ** left, which must never hide kv's rows. */
    if( !sqlite3_get_autocommit(db) ){
      test_exec_ok(db, "COMMIT");
      sqlite3_close(db);
      expect_all_rows(nAt, zWork, 1);
    }else{
      sqlite3_close(db);
      expect_all_rows(nAt, zWork, 0);
    }
    ck_assert_msg(nAt < 100000, "%s never finished", zWork);
  }
}

START_TEST(an_interrupted_flush_inside_begin_never_hides_the_rows){
  in_both_journal_modes(interrupted_inside_begin, "lsm_flush");
}
END_TEST

START_TEST(an_interrupted_compact_inside_begin_never_hides_the_rows){
  in_both_journal_modes(interrupted_inside_begin, "lsm_compact");
}
END_TEST

static void interrupted_outside_begin(const char *zWork){
  int nAt, bDone = 0, nLeftOpen = 0;
  for(nAt = 1; !bDone; nAt++){
    sqlite3 *db = fresh_db();
    char zErr[512];
    bDone = run_interrupted(db, zWork, nAt, zErr, sizeof(zErr));
    if( !sqlite3_get_autocommit(db) ){
      /* What the message says ends it, COMMIT and ROLLBACK in turn. */
      nLeftOpen++;
      ck_assert_msg(strstr(zErr, "still open: COMMIT or ROLLBACK ends it") != NULL,
                    "%s (%s) interrupted at step %d left a transaction open and said: %s",
                    zWork, g_zJournal, nAt, zErr);
      test_exec_ok(db, nLeftOpen % 2 ? "COMMIT" : "ROLLBACK");
      ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), 2 * ROWS);
    }
    ck_assert_msg(sqlite3_get_autocommit(db), "%s (%s) interrupted at step %d: still in a"
                  " transaction", zWork, g_zJournal, nAt);
    test_exec_ok(db, "INSERT INTO t VALUES (1)");     /* autocommit */
    sqlite3_close(db);
    expect_all_rows(nAt, zWork, 1);
    ck_assert_msg(nAt < 100000, "%s never finished", zWork);
  }
  ck_assert_msg(nLeftOpen > 0, "no interrupt of %s (%s) left its transaction open: the case"
                " is not tested", zWork, g_zJournal);
}

START_TEST(an_interrupted_flush_outside_begin_says_what_ends_its_transaction){
  in_both_journal_modes(interrupted_outside_begin, "lsm_flush");
}
END_TEST

START_TEST(an_interrupted_compact_outside_begin_says_what_ends_its_transaction){
  in_both_journal_modes(interrupted_outside_begin, "lsm_compact");
}
END_TEST

/* ---- work held up by a reader ---- */

/* A second connection to g_zDb holding a read transaction (its shared
** lock) until reader_end. */
static sqlite3 *reader_begin(void){
  sqlite3 *pReader = test_open_db(g_zDb, g_zJournal, 0);
  test_exec_ok(pReader, "BEGIN; SELECT count(*) FROM t");
  return pReader;
}

static void reader_end(sqlite3 *pReader){
  test_exec_ok(pReader, "COMMIT");
  sqlite3_close(pReader);
}

static void busy_outside_begin(const char *zWork){
  sqlite3 *db, *pReader;
  char *zSql = sqlite3_mprintf("SELECT %s('kv')", zWork), *zErr = NULL;
  int rc;
  g_zJournal = "delete";
  db = fresh_db();
  test_exec_ok(db, "INSERT INTO kv VALUES (-1, 'in the memtable')");
  pReader = reader_begin();
  rc = sqlite3_exec(db, zSql, 0, 0, &zErr);
  ck_assert_msg((rc & 0xff) == SQLITE_BUSY, "%s under a reader: rc %d (%s)", zWork, rc,
                zErr ? zErr : "");
  ck_assert_msg(zErr && strstr(zErr, "rolled back: nothing changed") != NULL,
                "%s under a reader said: %s", zWork, zErr ? zErr : "(nothing)");
  ck_assert_msg(sqlite3_get_autocommit(db), "%s under a reader left a transaction open", zWork);
  reader_end(pReader);
  test_exec_ok(db, "INSERT INTO t VALUES (1)");     /* autocommit: committed */
  test_exec_ok(db, zSql);                           /* and now the work runs */
  sqlite3_close(db);
  expect_all_rows(0, zWork, 1);
  db = test_open_db(g_zDb, g_zJournal, 0);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv WHERE key = -1"), 1);
  sqlite3_close(db);
  sqlite3_free(zErr);
  sqlite3_free(zSql);
}

START_TEST(a_flush_whose_commit_a_reader_blocks_is_rolled_back_not_left_open){
  busy_outside_begin("lsm_flush");
}
END_TEST

START_TEST(a_compaction_whose_commit_a_reader_blocks_is_rolled_back_not_left_open){
  busy_outside_begin("lsm_compact");
}
END_TEST

static sqlite3_int64 g_nSleptMicro;
static void count_sleep(int nMicro){
  g_nSleptMicro += nMicro;
}

START_TEST(the_work_of_a_commit_waits_for_a_reader_about_once){
  /* 3,000 rows of 300 bytes fill a 0.5 MiB memtable (a batch enters the
  ** memtable after its COMMIT); the next COMMIT, of one row, flushes it
  ** (background=off: in its own xSync), about 230 chunk rows, through a
  ** page cache of 10 pages, so nearly every chunk row's statement spills. */
  const int nTimeoutMs = 50;
  vfs_shim_hooks hooks = { .xSlept = count_sleep };
  sqlite3 *db, *pReader;
  int rc, i;
  ck_assert_int_eq(vfs_shim_register("sleeps", &hooks, 1), SQLITE_OK);
  g_zJournal = "delete";
  unlink(g_zDb);
  db = test_open_db(g_zDb, g_zJournal, nTimeoutMs);
  test_exec_ok(db, "PRAGMA cache_size=10; CREATE TABLE t(x);"
                   "CREATE VIRTUAL TABLE kv USING lsm(background=off, memtable_mb=0.5)");
  test_exec_ok(db, "BEGIN");
  for(i = 0; i < 3000; i++){
    char *zSql = sqlite3_mprintf("INSERT INTO kv VALUES (%d, randomblob(300))", i);
    test_exec_ok(db, zSql);
    sqlite3_free(zSql);
  }
  test_exec_ok(db, "COMMIT");
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM lsm_files('kv')"), 0);
  pReader = reader_begin();
  test_exec_ok(db, "BEGIN; INSERT INTO kv VALUES (3000, 'the last')");
  g_nSleptMicro = 0;
  rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
  ck_assert_int_eq(rc & 0xff, SQLITE_BUSY);      /* the reader still reads */
  /* The log row's statement, the work and the commit: a busy_timeout each
  ** at most (before: one for every chunk row that spilled). */
  ck_assert_msg(g_nSleptMicro <= 4 * nTimeoutMs * 1000, "the COMMIT slept %lld us waiting"
                " for the reader, busy_timeout %d ms", (long long)g_nSleptMicro, nTimeoutMs);
  ck_assert_int_eq(test_query_int(db, "PRAGMA busy_timeout"), nTimeoutMs);
  reader_end(pReader);
  test_exec_ok(db, "COMMIT");                    /* retried: the reader is gone */
  sqlite3_close(db);
  db = test_open_db(g_zDb, g_zJournal, 0);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), 3001);
  ck_assert_int_gt(test_query_int(db, "SELECT count(*) FROM lsm_files('kv')"), 0);
  {
    char *zCheck = test_query_text(db, "SELECT lsm_check('kv')");
    ck_assert_str_eq(zCheck, "ok");
    sqlite3_free(zCheck);
  }
  sqlite3_close(db);
}
END_TEST

static Suite *interrupted_work_suite(void){
  Suite *s = suite_create("interrupted_work");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, an_interrupted_flush_inside_begin_never_hides_the_rows);
  tcase_add_test(tc, a_flush_whose_commit_a_reader_blocks_is_rolled_back_not_left_open);
  tcase_add_test(tc, a_compaction_whose_commit_a_reader_blocks_is_rolled_back_not_left_open);
  tcase_add_test(tc, the_work_of_a_commit_waits_for_a_reader_about_once);
  tcase_add_test(tc, an_interrupted_compact_inside_begin_never_hides_the_rows);
  tcase_add_test(tc, an_interrupted_flush_outside_begin_says_what_ends_its_transaction);
  tcase_add_test(tc, an_interrupted_compact_outside_begin_says_what_ends_its_transaction);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(interrupted_work_suite)
