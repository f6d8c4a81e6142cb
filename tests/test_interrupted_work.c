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
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

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

static Suite *interrupted_work_suite(void){
  Suite *s = suite_create("interrupted_work");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, an_interrupted_flush_inside_begin_never_hides_the_rows);
  tcase_add_test(tc, an_interrupted_compact_inside_begin_never_hides_the_rows);
  tcase_add_test(tc, an_interrupted_flush_outside_begin_says_what_ends_its_transaction);
  tcase_add_test(tc, an_interrupted_compact_outside_begin_says_what_ends_its_transaction);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(interrupted_work_suite)
