/*
** test_failed_commit.c — a COMMIT that SQLite fails leaves nothing in a
** directory store (ext/txn.c over lsm_prepare): SQLITE_BUSY from a reader
** in rollback-journal mode (another connection, another process), a
** commit hook's veto, and a second lsm table whose commit phase one
** fails (a file-size limit) all leave the store as it was; a retried
** COMMIT commits once; no other connection sees a transaction's writes
** before SQLite's commit has succeeded; a process killed after SQLite's
** commit and before the store's commit record loses neither half (the
** database records the batch in kv_commits: ext/commits.c).  Each runs in
** both journal modes where SQLite can fail the commit that way.
**
** Every test opens real database files through the lsm module registered
** with sqlite3_auto_extension, as an application linking lsm would; the
** stores are directories beside the database file.
*/
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "vfs_shim.h"

int sqlite3_lsm_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

/* ---- helpers ---- */

static void assert_text(sqlite3 *db, const char *zSql, const char *zExpect){
  char *z = test_query_text(db, zSql);
  ck_assert_msg(z && strcmp(z, zExpect) == 0, "%s: got %s, expected %s", zSql,
                z ? z : "(null)", zExpect);
  sqlite3_free(z);
}

/* User bytes the store of table zTable has taken since it opened. */
static sqlite3_int64 user_bytes(sqlite3 *db, const char *zTable){
  char *zSql = sqlite3_mprintf("SELECT json_extract(lsm_stats('%q'), '$.writes.user_bytes')",
                               zTable);
  sqlite3_int64 n = test_query_int(db, zSql);
  sqlite3_free(zSql);
  return n;
}

/* Each test's directory and database file, made by setup, removed by
** teardown (a failing test leaves its directory for a look). */
static char *g_zDir;
static char *g_zDb;

static void setup(void){
  test_sql_fixture_begin((void(*)(void))sqlite3_lsm_init, "failcommit", &g_zDir, &g_zDb);
}
static void teardown(void){
  test_sql_fixture_end(&g_zDir, &g_zDb);
}

/* A database with the directory-store table kv and the native table nat,
** opened by connection *pA in journal mode zJournal. */
static sqlite3 *make_db(const char *zJournal){
  sqlite3 *a = test_open_db(g_zDb, zJournal, 50);
  test_exec_ok(a, "CREATE VIRTUAL TABLE kv USING lsm('kv.lsm')");
  test_exec_ok(a, "CREATE TABLE nat(k PRIMARY KEY, v)");
  test_exec_ok(a, "INSERT INTO kv VALUES (0, 'before')");
  return a;
}

/* ---- SQLITE_BUSY at COMMIT (rollback-journal mode) ---- */

/*
** Another process that reads the database when told: forked before this
** process opens any connection (a child that inherits open SQLite
** connections shares their POSIX lock bookkeeping and would hold no lock
** of its own), it opens the database without the lsm module and obeys
** one byte at a time on a pipe: 'r' BEGIN and read nat (holding a read
** lock), 'c' COMMIT, 'q' quit; it answers each with 'y' or 'n'.
*/
typedef struct reader_process {
  pid_t pid;
  int fdCmd;                /* parent writes commands                  */
  int fdReply;              /* parent reads answers                    */
} reader_process;

static reader_process reader_fork(void){
  reader_process r;
  int aCmd[2], aReply[2];
  ck_assert_int_eq(pipe(aCmd), 0);
  ck_assert_int_eq(pipe(aReply), 0);
  r.pid = fork();
  ck_assert_int_ge(r.pid, 0);
  if( r.pid == 0 ){
    sqlite3 *db = NULL;
    char c;
    sqlite3_reset_auto_extension();
    if( sqlite3_open(g_zDb, &db) != SQLITE_OK ) _exit(1);
    while( read(aCmd[0], &c, 1) == 1 && c != 'q' ){
      int rc = sqlite3_exec(db, c == 'r' ? "BEGIN; SELECT count(*) FROM nat;" : "COMMIT",
                            0, 0, 0);
      c = rc == SQLITE_OK ? 'y' : 'n';
      if( write(aReply[1], &c, 1) != 1 ) _exit(2);
    }
    sqlite3_close(db);
    _exit(0);
  }
  close(aCmd[0]);
  close(aReply[1]);
  r.fdCmd = aCmd[1];
  r.fdReply = aReply[0];
  return r;
}

static void reader_do(reader_process *pR, char cCmd){
  char c = 0;
  ck_assert_int_eq(write(pR->fdCmd, &cCmd, 1), 1);
  ck_assert_int_eq(read(pR->fdReply, &c, 1), 1);
  ck_assert_msg(c == 'y', "the reader process failed command %c", cCmd);
}

static void reader_end(reader_process *pR){
  int status = 0;
  char c = 'q';
  ck_assert_int_eq(write(pR->fdCmd, &c, 1), 1);
  close(pR->fdCmd);
  close(pR->fdReply);
  ck_assert_int_eq(waitpid(pR->pid, &status, 0), pR->pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the reader process failed");
}

/*
** Rollback-journal mode: a reader (connection b of this process, or
** another process) makes a's COMMIT fail with SQLITE_BUSY after the lsm
** table's commit phase one.  Nothing is visible anywhere; ROLLBACK leaves
** nothing; a COMMIT retried once the reader is gone commits the batch
** exactly once (the store takes its bytes once).
*/
static void commit_fails_busy(int bOtherProcess){
  reader_process r = reader_fork();
  sqlite3 *a = make_db("delete"), *b = test_open_db(g_zDb, "delete", 50);
  sqlite3_int64 nOne, nBefore;
  int rc;

  /* What one commit of a row like the ones below costs the store. */
  nBefore = user_bytes(a, "kv");
  test_exec_ok(a, "INSERT INTO kv VALUES (100, 'xyz')");
  nOne = user_bytes(a, "kv") - nBefore;
  ck_assert_int_gt(nOne, 0);
  test_exec_ok(a, "DELETE FROM kv WHERE key = 100");

  /* 1. Fails, then ROLLBACK. */
  test_exec_ok(a, "BEGIN");
  test_exec_ok(a, "INSERT INTO kv VALUES (1, 'one')");
  test_exec_ok(a, "INSERT INTO nat VALUES (1, 'one')");
  if( bOtherProcess ){
    reader_do(&r, 'r');
  }else{
    test_exec_ok(b, "BEGIN");
    ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM nat"), 0);
  }
  rc = sqlite3_exec(a, "COMMIT", 0, 0, 0);
  ck_assert_int_eq(rc & 0xff, SQLITE_BUSY);
  if( !bOtherProcess ){
    /* b shares the store's engine: the failed COMMIT shows it nothing. */
    ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv WHERE key = 1"), 0);
  }
  test_exec_ok(a, "ROLLBACK");
  if( bOtherProcess ) reader_do(&r, 'c');
  else test_exec_ok(b, "COMMIT");
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM kv WHERE key = 1"), 0);
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv WHERE key = 1"), 0);
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM nat"), 0);

  /* 2. Fails, then the retried COMMIT succeeds, once. */
  nBefore = user_bytes(a, "kv");
  test_exec_ok(a, "BEGIN");
  test_exec_ok(a, "INSERT INTO kv VALUES (2, 'two')");
  test_exec_ok(a, "INSERT INTO nat VALUES (2, 'two')");
  if( bOtherProcess ){
    reader_do(&r, 'r');
  }else{
    test_exec_ok(b, "BEGIN");
    ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM nat"), 0);
  }
  rc = sqlite3_exec(a, "COMMIT", 0, 0, 0);
  ck_assert_int_eq(rc & 0xff, SQLITE_BUSY);
  if( !bOtherProcess ){
    ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv WHERE key = 2"), 0);
  }
  ck_assert_int_eq(user_bytes(a, "kv"), nBefore);
  if( bOtherProcess ) reader_do(&r, 'c');
  else test_exec_ok(b, "COMMIT");
  test_exec_ok(a, "COMMIT");
  ck_assert_int_eq(user_bytes(a, "kv") - nBefore, nOne);
  assert_text(a, "SELECT group_concat(key) FROM kv", "0,2");
  assert_text(b, "SELECT group_concat(key) FROM kv", "0,2");
  ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM nat"), 1);

  /* 3. An autocommit INSERT that fails takes no effect (a trigger makes
  ** one statement write both tables). */
  test_exec_ok(a, "CREATE TRIGGER nat_to_kv AFTER INSERT ON nat BEGIN"
             " INSERT INTO kv VALUES (new.k, new.v); END");
  if( bOtherProcess ){
    reader_do(&r, 'r');
  }else{
    test_exec_ok(b, "BEGIN");
    ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM nat"), 1);
  }
  rc = sqlite3_exec(a, "INSERT INTO nat VALUES (3, 'three')", 0, 0, 0);
  ck_assert_int_eq(rc & 0xff, SQLITE_BUSY);
  if( !bOtherProcess ){
    ck_assert_int_eq(test_query_int(b, "SELECT count(*) FROM kv WHERE key = 3"), 0);
  }
  if( bOtherProcess ) reader_do(&r, 'c');
  else test_exec_ok(b, "COMMIT");
  assert_text(a, "SELECT group_concat(key) FROM kv", "0,2");
  assert_text(a, "SELECT lsm_check('kv')", "ok");
  sqlite3_close(b);
  sqlite3_close(a);
  reader_end(&r);

  /* Reopened: the same. */
  a = test_open_db(g_zDb, "delete", 50);
  assert_text(a, "SELECT group_concat(key) FROM kv", "0,2");
  sqlite3_close(a);
}

START_TEST(a_commit_failing_busy_for_a_reader_connection_leaves_nothing_and_a_retry_commits_once){
  commit_fails_busy(0);
}
END_TEST

START_TEST(a_commit_failing_busy_for_a_reader_process_leaves_nothing_and_a_retry_commits_once){
  commit_fails_busy(1);
}
END_TEST

/* ---- a commit hook ---- */

static int veto_commit(void *pArg){
  (void)pArg;
  return 1;
}

/* A commit hook that vetoes turns COMMIT into ROLLBACK: the lsm table
** keeps nothing either. */
static void commit_vetoed(const char *zJournal){
  sqlite3 *a = make_db(zJournal), *b;
  int rc;
  b = test_open_db(g_zDb, zJournal, 50);
  sqlite3_commit_hook(a, veto_commit, 0);
  test_exec_ok(a, "BEGIN");
  test_exec_ok(a, "INSERT INTO kv VALUES (1, 'one')");
  test_exec_ok(a, "DELETE FROM kv WHERE key = 0");
  test_exec_ok(a, "INSERT INTO nat VALUES (1, 'one')");
  rc = sqlite3_exec(a, "COMMIT", 0, 0, 0);
  ck_assert_int_eq(rc & 0xff, SQLITE_CONSTRAINT);
  sqlite3_commit_hook(a, 0, 0);
  assert_text(a, "SELECT group_concat(key || '=' || value) FROM kv", "0=before");
  assert_text(b, "SELECT group_concat(key || '=' || value) FROM kv", "0=before");
  ck_assert_int_eq(test_query_int(a, "SELECT count(*) FROM nat"), 0);
  /* The connection goes on committing normally. */
  test_exec_ok(a, "INSERT INTO kv VALUES (2, 'two')");
  assert_text(b, "SELECT group_concat(key) FROM kv", "0,2");
  sqlite3_close(a);
  sqlite3_close(b);
  a = test_open_db(g_zDb, zJournal, 50);
  assert_text(a, "SELECT group_concat(key) FROM kv", "0,2");
  sqlite3_close(a);
}

START_TEST(a_commit_vetoed_by_a_commit_hook_leaves_nothing_in_rollback_mode){
  commit_vetoed("delete");
}
END_TEST

START_TEST(a_commit_vetoed_by_a_commit_hook_leaves_nothing_in_wal_mode){
  commit_vetoed("wal");
}
END_TEST

/* ---- what other connections see during a commit ---- */

/* The hook runs inside a's COMMIT, after every lsm table's commit phase
** one and before SQLite commits: another connection (sharing the store's
** engine) must not see the transaction yet. */
typedef struct peek {
  sqlite3 *db;               /* the other connection */
  sqlite3_int64 nSeen;       /* rows of the transaction it saw, -1: not run */
} peek;

static int peek_then_allow(void *pArg){
  peek *p = pArg;
  p->nSeen = test_query_int(p->db, "SELECT count(*) FROM kv WHERE key IN (1, 2)");
  return 0;
}

START_TEST(other_connections_see_nothing_before_the_commit_succeeds_in_wal_mode){
  sqlite3 *a = make_db("wal");
  peek pk;
  pk.db = test_open_db(g_zDb, "wal", 50);
  pk.nSeen = -1;
  sqlite3_commit_hook(a, peek_then_allow, &pk);
  test_exec_ok(a, "BEGIN");
  test_exec_ok(a, "INSERT INTO kv VALUES (1, 'one'), (2, 'two')");
  test_exec_ok(a, "INSERT INTO nat VALUES (1, 'one')");
  test_exec_ok(a, "COMMIT");
  sqlite3_commit_hook(a, 0, 0);
  ck_assert_int_eq(pk.nSeen, 0);
  ck_assert_int_eq(test_query_int(pk.db, "SELECT count(*) FROM kv WHERE key IN (1, 2)"), 2);
  sqlite3_close(pk.db);
  sqlite3_close(a);
}
END_TEST

/* ---- two lsm tables, the second failing in commit phase one ---- */

/*
** Tables a and b are stores of their own.  One transaction writes a small
** row to a, then 3 MB to b; a file-size limit of 1 MB makes b's log write
** fail in commit phase one (after a's succeeded), so SQLite rolls the
** transaction back: a must keep nothing.  Once the limit is gone, both
** work again.
*/
static void second_table_fails(const char *zJournal){
  sqlite3 *db = test_open_db(g_zDb, zJournal, 50), *other;
  struct rlimit old, lim;
  char *zErr = NULL;
  int rc;
  test_exec_ok(db, "CREATE VIRTUAL TABLE a USING lsm('a.lsm')");
  test_exec_ok(db, "CREATE VIRTUAL TABLE b USING lsm('b.lsm')");
  test_exec_ok(db, "CREATE TABLE nat(k PRIMARY KEY, v)");
  test_exec_ok(db, "INSERT INTO a VALUES (0, 'before')");
  other = test_open_db(g_zDb, zJournal, 50);
  assert_text(other, "SELECT group_concat(key) FROM a", "0");

  signal(SIGXFSZ, SIG_IGN);
  ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim = old;
  lim.rlim_cur = 1024 * 1024;
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  test_exec_ok(db, "BEGIN");
  test_exec_ok(db, "INSERT INTO a VALUES (1, 'one')");
  test_exec_ok(db, "INSERT INTO nat VALUES (1, 'one')");
  test_exec_ok(db, "INSERT INTO b VALUES (1, zeroblob(3000000))");
  rc = sqlite3_exec(db, "COMMIT", 0, 0, &zErr);
  ck_assert_msg(rc != SQLITE_OK, "COMMIT succeeded past the file-size limit");
  sqlite3_free(zErr);
  sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);

  assert_text(db, "SELECT group_concat(key) FROM a", "0");
  assert_text(other, "SELECT group_concat(key) FROM a", "0");
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM b"), 0);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM nat"), 0);

  /* Space is back: both tables take writes again. */
  test_exec_ok(db, "BEGIN");
  test_exec_ok(db, "INSERT INTO a VALUES (2, 'two')");
  test_exec_ok(db, "INSERT INTO b VALUES (2, zeroblob(3000000))");
  test_exec_ok(db, "COMMIT");
  assert_text(other, "SELECT group_concat(key) FROM a", "0,2");
  ck_assert_int_eq(test_query_int(other, "SELECT count(*) FROM b"), 1);
  sqlite3_close(other);
  sqlite3_close(db);
  db = test_open_db(g_zDb, zJournal, 50);
  assert_text(db, "SELECT group_concat(key) FROM a", "0,2");
  assert_text(db, "SELECT group_concat(key) FROM b", "2");
  assert_text(db, "SELECT lsm_check('a') || lsm_check('b')", "okok");
  sqlite3_close(db);
}

START_TEST(a_second_table_failing_at_commit_leaves_nothing_in_the_first_in_rollback_mode){
  second_table_fails("delete");
}
END_TEST

START_TEST(a_second_table_failing_at_commit_leaves_nothing_in_the_first_in_wal_mode){
  second_table_fails("wal");
}
END_TEST

/* ---- a crash between SQLite's commit and the store's commit record ---- */

/*
** A VFS over the default one that ends the process (_exit(0)) the moment
** SQLite's commit is durable and before it returns to call xCommit: in
** rollback-journal mode when the journal is deleted, in WAL mode
** (synchronous=FULL) when the WAL is synced.  Armed by g_bDieAtCommit.
*/
static int g_bDieAtCommit;

/* The WAL was synced: the transaction is committed (WAL mode). */
static void die_synced(int openFlags, int rc){
  if( rc == SQLITE_OK && (openFlags & SQLITE_OPEN_WAL) && g_bDieAtCommit ) _exit(0);
}

/* The rollback journal was deleted: the transaction is committed. */
static void die_deleted(const char *zName, int rc){
  if( rc == SQLITE_OK && g_bDieAtCommit && strlen(zName) > 8
   && strcmp(zName + strlen(zName) - 8, "-journal") == 0 ){
    _exit(0);
  }
}

/* Make the dying VFS the default one (in the child process only). */
static void die_vfs_install(void){
  static const vfs_shim_hooks hooks = { .xSynced = die_synced, .xDeleted = die_deleted };
  vfs_shim_register("die-at-commit", &hooks, 1);
}

/*
** The transaction writes kv (a directory store) and nat; the process dies
** right after SQLite committed it and before xCommit could append the
** store's commit record.  The database recorded the prepared batch's id
** in kv_commits inside that commit, so the next open replays the batch:
** both halves are there.  A transaction SQLite did not commit leaves
** neither (its row went with its rollback).
*/
static void crash_between_the_commits(const char *zJournal){
  sqlite3 *db = test_open_db(g_zDb, zJournal, 50);
  pid_t pid;
  int status = 0;
  test_exec_ok(db, "PRAGMA synchronous=FULL");
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm('kv.lsm')");
  test_exec_ok(db, "CREATE TABLE nat(k PRIMARY KEY, v)");
  test_exec_ok(db, "BEGIN; INSERT INTO kv VALUES (0, 'before'); INSERT INTO nat VALUES (0, 'before'); COMMIT");
  sqlite3_close(db);

  pid = fork();
  ck_assert_int_ge(pid, 0);
  if( pid == 0 ){
    die_vfs_install();
    db = test_open_db(g_zDb, zJournal, 50);
    /* A first commit writes the WAL's header (and syncs it): not the one
    ** to die at. */
    if( sqlite3_exec(db, "PRAGMA synchronous=FULL; CREATE TABLE warm(x);", 0, 0, 0) != SQLITE_OK ){
      _exit(3);
    }
    if( sqlite3_exec(db, "BEGIN; INSERT INTO kv VALUES (1, 'one');"
                         " DELETE FROM kv WHERE key = 0; INSERT INTO nat VALUES (1, 'one');",
                     0, 0, 0) != SQLITE_OK ){
      _exit(4);
    }
    g_bDieAtCommit = 1;
    sqlite3_exec(db, "COMMIT", 0, 0, 0);
    _exit(5);                   /* the VFS should have ended us */
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "the child did not die at its commit (status %d)", status);

  db = test_open_db(g_zDb, zJournal, 50);
  assert_text(db, "SELECT group_concat(k) FROM nat", "0,1");
  assert_text(db, "SELECT group_concat(key || '=' || value) FROM kv", "1=one");
  assert_text(db, "SELECT lsm_check('kv')", "ok");
  /* The store goes on, and the record of commits stays small: each
  ** COMMIT forgets the ids the store will never ask about. */
  {
    int i;
    for(i = 2; i <= 6; i++){
      char *zSql = sqlite3_mprintf("BEGIN; INSERT INTO kv VALUES (%d, 'v'); INSERT INTO nat"
                                   " VALUES (%d, 'v'); COMMIT", i, i);
      test_exec_ok(db, zSql);
      sqlite3_free(zSql);
      if( i == 4 ) test_exec_ok(db, "SELECT lsm_flush('kv')");
    }
  }
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv_commits"), 1);
  sqlite3_close(db);
  db = test_open_db(g_zDb, zJournal, 50);
  assert_text(db, "SELECT group_concat(key) FROM kv", "1,2,3,4,5,6");
  sqlite3_close(db);
}

START_TEST(a_crash_between_the_database_commit_and_the_store_commit_keeps_both_in_rollback_mode){
  crash_between_the_commits("delete");
}
END_TEST

START_TEST(a_crash_between_the_database_commit_and_the_store_commit_keeps_both_in_wal_mode){
  crash_between_the_commits("wal");
}
END_TEST

static Suite *failed_commit_suite(void){
  Suite *s = suite_create("failed_commit");
  TCase *tc = tcase_create("directory_store");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, a_commit_failing_busy_for_a_reader_connection_leaves_nothing_and_a_retry_commits_once);
  tcase_add_test(tc, a_commit_failing_busy_for_a_reader_process_leaves_nothing_and_a_retry_commits_once);
  tcase_add_test(tc, a_commit_vetoed_by_a_commit_hook_leaves_nothing_in_rollback_mode);
  tcase_add_test(tc, a_commit_vetoed_by_a_commit_hook_leaves_nothing_in_wal_mode);
  tcase_add_test(tc, other_connections_see_nothing_before_the_commit_succeeds_in_wal_mode);
  tcase_add_test(tc, a_second_table_failing_at_commit_leaves_nothing_in_the_first_in_rollback_mode);
  tcase_add_test(tc, a_second_table_failing_at_commit_leaves_nothing_in_the_first_in_wal_mode);
  tcase_add_test(tc, a_crash_between_the_database_commit_and_the_store_commit_keeps_both_in_rollback_mode);
  tcase_add_test(tc, a_crash_between_the_database_commit_and_the_store_commit_keeps_both_in_wal_mode);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(failed_commit_suite)
