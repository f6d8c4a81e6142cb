/*
** test_fork.c — a child of fork() gets its own state (issue 9, item 3).
**
** A child process that opened a new connection (Python's multiprocessing
** does) found its parent's engine in the process-wide registry and wrote
** to it without the parent's threads: the store was corrupted ("sequence
** number goes backwards"), or the child hung once its memtable filled.
** Now the registry shares an engine only within the process that opened
** it, and the engine refuses writes and close from a child; the child's
** own open gets SQLITE_BUSY (LSM_BUSY) while the parent holds the store.
**
** Each child runs under alarm(): a hang fails the test instead of
** stopping it.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "lsm.h"
#include "testutil.h"

/* ext/extension.c: the entry point, linked into every test program. */
int sqlite3_lsm_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

#define CHILD_SECONDS 20

/* Wait for the child; ck_abort unless it exited with status 0. */
static void expect_child_ok(pid_t pid){
  int status = 0;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status), "the child died of signal %d (a hang ends by SIGALRM)",
                WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  ck_assert_msg(WEXITSTATUS(status) == 0, "the child's check %d failed", WEXITSTATUS(status));
}

START_TEST(child_cannot_use_or_open_the_parents_store){
  char *zDir = test_tmpdir("fork");
  lsm_options opt;
  lsm_db *pDb = NULL;
  pid_t pid;
  int i;
  char zKey[32];
  lsm_options_default(&opt);
  opt.memtable_bytes = 4096;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  for(i = 0; i < 100; i++){
    int n = snprintf(zKey, sizeof(zKey), "parent%03d", i);
    ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)n, "p", 1), LSM_OK);
  }

  pid = fork();
  ck_assert_int_ge(pid, 0);
  if( pid == 0 ){
    lsm_db *pOwn = NULL;
    alarm(CHILD_SECONDS);
    /* Enough writes to fill memtables: the old child hung here. */
    for(i = 0; i < 200; i++){
      int n = snprintf(zKey, sizeof(zKey), "child%03d", i);
      if( lsm_put(pDb, zKey, (size_t)n, "c", 1) != LSM_MISUSE ) _exit(1);
    }
    if( strstr(lsm_errmsg(NULL), "fork") == NULL ) _exit(2);
    if( lsm_open(zDir, &opt, &pOwn) != LSM_BUSY ) _exit(3);
    if( lsm_close(pDb) != LSM_MISUSE ) _exit(4);
    _exit(0);
  }
  expect_child_ok(pid);

  /* The parent's store is whole, works on, and holds nothing of the child. */
  for(i = 100; i < 200; i++){
    int n = snprintf(zKey, sizeof(zKey), "parent%03d", i);
    ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)n, "p", 1), LSM_OK);
  }
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  for(i = 0; i < 200; i++){
    void *pVal = NULL;
    size_t nVal = 0;
    int n = snprintf(zKey, sizeof(zKey), "parent%03d", i);
    ck_assert_int_eq(lsm_get(pDb, NULL, zKey, (size_t)n, &pVal, &nVal), LSM_OK);
    lsm_free(pVal);
    n = snprintf(zKey, sizeof(zKey), "child%03d", i);
    ck_assert_int_eq(lsm_get(pDb, NULL, zKey, (size_t)n, &pVal, &nVal), LSM_NOTFOUND);
  }
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

static int exec_rc(sqlite3 *db, const char *zSql){
  return sqlite3_exec(db, zSql, NULL, NULL, NULL);
}

static int count_rows(sqlite3 *db){
  sqlite3_stmt *pStmt = NULL;
  int n = -1;
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM kv", -1, &pStmt, NULL), SQLITE_OK);
  if( sqlite3_step(pStmt) == SQLITE_ROW ) n = sqlite3_column_int(pStmt, 0);
  sqlite3_finalize(pStmt);
  return n;
}

START_TEST(child_connection_gets_busy_for_the_parents_directory_store){
  char *zBase = test_tmpdir("fork");
  char *zDb = sqlite3_mprintf("%s/main.db", zBase);
  sqlite3 *db = NULL;
  pid_t pid;
  sqlite3_auto_extension((void(*)(void))sqlite3_lsm_init);
  ck_assert_int_eq(sqlite3_open(zDb, &db), SQLITE_OK);
  ck_assert_int_eq(exec_rc(db, "CREATE VIRTUAL TABLE kv USING lsm('kv.lsm');"
                               "INSERT INTO kv VALUES('a', 1)"), SQLITE_OK);

  pid = fork();
  ck_assert_int_ge(pid, 0);
  if( pid == 0 ){
    /* A new connection, as multiprocessing's children make. */
    sqlite3 *db2 = NULL;
    int rc;
    alarm(CHILD_SECONDS);
    if( sqlite3_open(zDb, &db2) != SQLITE_OK ) _exit(1);
    rc = exec_rc(db2, "INSERT INTO kv VALUES('b', 2)");
    if( rc != SQLITE_BUSY ) _exit(2);
    if( strstr(sqlite3_errmsg(db2), "LOCK") == NULL ) _exit(3);
    sqlite3_close(db2);
    _exit(0);
  }
  expect_child_ok(pid);

  ck_assert_int_eq(count_rows(db), 1);
  ck_assert_int_eq(exec_rc(db, "INSERT INTO kv VALUES('c', 3)"), SQLITE_OK);
  ck_assert_int_eq(count_rows(db), 2);
  ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);

  /* Once the parent has closed it, the store is anyone's. */
  ck_assert_int_eq(sqlite3_open(zDb, &db), SQLITE_OK);
  ck_assert_int_eq(count_rows(db), 2);
  ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
  sqlite3_reset_auto_extension();
  test_rmtree(zBase);
  sqlite3_free(zDb);
  free(zBase);
}
END_TEST

static Suite *fork_suite(void){
  Suite *s = suite_create("fork");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 2 * CHILD_SECONDS + 10);
  tcase_add_test(tc, child_cannot_use_or_open_the_parents_store);
  tcase_add_test(tc, child_connection_gets_busy_for_the_parents_directory_store);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(fork_suite)
