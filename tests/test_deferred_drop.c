/*
** test_deferred_drop.c — DROP TABLE and ALTER TABLE RENAME of a directory
** store change nothing on disk until SQLite has committed them
** (ext/deferred.c): a DROP that fails with SQLITE_BUSY (a reader process
** in rollback-journal mode) or is rolled back (ROLLBACK, ROLLBACK TO)
** leaves the table with all its rows, and a retried DROP removes the
** store; the same for RENAME (OWNERS keeps the name the schema has), also
** of a table of the old default directory <database>-<table>.lsm, which
** keeps its directory under the new name; a process that dies right after
** a DROP's commit leaves no table, and a CREATE at the same path removes
** what is left and makes a new, empty store.
**
** The tests open real database files through the lsm module registered
** with sqlite3_auto_extension.
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lsm.h"
#include "testutil.h"

int sqlite3_lsm_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

/* ---- helpers ---- */

static char *g_zDir;       /* the test's directory (test_tmpdir) */
static char *g_zDb;        /* <g_zDir>/t.db */
static char *g_zStore;     /* <g_zDir>/kv.lsm */

/* The API routines SQLite hands the extension, kept to load it again. */
static const sqlite3_api_routines *g_pApi;

static int load_lsm(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi){
  g_pApi = pApi;
  return sqlite3_lsm_init(db, pzErrMsg, pApi);
}

static void setup(void){
  sqlite3_auto_extension((void(*)(void))load_lsm);
  g_zDir = test_tmpdir("deferreddrop");
  g_zDb = sqlite3_mprintf("%s/t.db", g_zDir);
  g_zStore = sqlite3_mprintf("%s/kv.lsm", g_zDir);
}

static void teardown(void){
  sqlite3_reset_auto_extension();
  test_rmtree(g_zDir);
  free(g_zDir);
  sqlite3_free(g_zDb);
  sqlite3_free(g_zStore);
}

static sqlite3 *open_db(const char *zJournal){
  sqlite3 *db = NULL;
  char *zSql = sqlite3_mprintf("PRAGMA journal_mode=%s", zJournal);
  ck_assert_int_eq(sqlite3_open(g_zDb, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 50);
  ck_assert_int_eq(sqlite3_exec(db, zSql, 0, 0, 0), SQLITE_OK);
  sqlite3_free(zSql);
  return db;
}

static void exec_ok(sqlite3 *db, const char *zSql){
  char *zErr = NULL;
  int rc = sqlite3_exec(db, zSql, 0, 0, &zErr);
  ck_assert_msg(rc == SQLITE_OK, "%s: %s", zSql, zErr ? zErr : sqlite3_errstr(rc));
  sqlite3_free(zErr);
}

/* The text of the first column of the first row of zSql ("" if none). */
static void assert_text(sqlite3 *db, const char *zSql, const char *zExpect){
  sqlite3_stmt *pStmt = NULL;
  const char *z = "";
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  ck_assert_msg(rc == SQLITE_OK, "%s: %s", zSql, sqlite3_errmsg(db));
  rc = sqlite3_step(pStmt);
  ck_assert_msg(rc == SQLITE_ROW || rc == SQLITE_DONE, "%s: %s", zSql, sqlite3_errmsg(db));
  if( rc == SQLITE_ROW && sqlite3_column_text(pStmt, 0) ) z = (const char*)sqlite3_column_text(pStmt, 0);
  ck_assert_msg(strcmp(z, zExpect) == 0, "%s: got '%s', expected '%s'", zSql, z, zExpect);
  sqlite3_finalize(pStmt);
}

static int path_exists(const char *zPath){
  struct stat st;
  return stat(zPath, &st) == 0;
}

/* The contents of zDir/OWNERS ("" if none), into a static buffer. */
static const char *owners_text(const char *zStore){
  static char aBuf[4096];
  char *zPath = sqlite3_mprintf("%s/OWNERS", zStore);
  FILE *p = fopen(zPath, "rb");
  size_t n = 0;
  if( p ){
    n = fread(aBuf, 1, sizeof(aBuf) - 1, p);
    fclose(p);
  }
  aBuf[n] = 0;
  sqlite3_free(zPath);
  return aBuf;
}

/* "<realpath of t.db>\t<zTable>\n": the OWNERS line of table zTable. */
static char *owners_line(const char *zTable){
  char *zReal = realpath(g_zDb, NULL);
  char *z = sqlite3_mprintf("%s\t%s\n", zReal, zTable);
  free(zReal);
  return z;
}

/*
** Another process that holds a read lock on the database when told:
** forked before this process opens a connection, without the lsm module;
** 'r' BEGIN and read sqlite_schema, 'c' COMMIT, 'q' quit; it answers 'y'
** or 'n'.
*/
typedef struct reader_process {
  pid_t pid;
  int fdCmd;                /* parent writes commands */
  int fdReply;              /* parent reads answers */
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

/* t.db with the directory store kv (3 rows, one of them flushed into an
** SSTable) and the native table nat. */
static sqlite3 *make_db(const char *zJournal){
  sqlite3 *db = open_db(zJournal);
  exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm('kv.lsm')");
  exec_ok(db, "CREATE TABLE nat(k PRIMARY KEY, v)");
  exec_ok(db, "INSERT INTO kv VALUES (1, 'one')");
  exec_ok(db, "SELECT lsm_flush('kv')");
  exec_ok(db, "INSERT INTO kv VALUES (2, 'two'), (3, 'three')");
  return db;
}

/* ---- DROP ---- */

START_TEST(a_drop_failing_busy_for_a_reader_keeps_every_row_and_a_retry_removes_the_store){
  reader_process r = reader_fork();
  sqlite3 *db = make_db("delete");
  int rc;
  reader_do(&r, 'r');
  rc = sqlite3_exec(db, "DROP TABLE kv", 0, 0, 0);
  ck_assert_int_eq(rc & 0xff, SQLITE_BUSY);
  assert_text(db, "SELECT group_concat(key || '=' || value) FROM kv", "1=one,2=two,3=three");
  assert_text(db, "SELECT lsm_check('kv')", "ok");
  ck_assert(path_exists(g_zStore));
  reader_do(&r, 'c');
  reader_end(&r);
  exec_ok(db, "DROP TABLE kv");
  ck_assert_msg(!path_exists(g_zStore), "the retried DROP left %s", g_zStore);
  assert_text(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'kv%'", "0");
  sqlite3_close(db);
}
END_TEST

START_TEST(a_drop_rolled_back_keeps_every_row){
  sqlite3 *db = make_db("wal");
  exec_ok(db, "BEGIN");
  exec_ok(db, "DROP TABLE kv");
  assert_text(db, "SELECT op || ' ' || tbl FROM lsm_pending", "drop kv");
  ck_assert(path_exists(g_zStore));
  exec_ok(db, "ROLLBACK");
  assert_text(db, "SELECT count(*) FROM lsm_pending", "0");
  assert_text(db, "SELECT group_concat(key || '=' || value) FROM kv", "1=one,2=two,3=three");
  /* ROLLBACK TO a savepoint opened before the DROP undoes it too. */
  exec_ok(db, "BEGIN; SAVEPOINT a; DROP TABLE kv; ROLLBACK TO a; COMMIT");
  assert_text(db, "SELECT group_concat(key) FROM kv", "1,2,3");
  /* Also the savepoint that opened the transaction (SAVEPOINT outside
  ** BEGIN: the table learns of it as savepoint -1). */
  exec_ok(db, "SAVEPOINT s; DROP TABLE kv; ROLLBACK TO s; RELEASE s");
  assert_text(db, "SELECT group_concat(key) FROM kv", "1,2,3");
  ck_assert(path_exists(g_zStore));
  /* One released into the transaction is still dropped at COMMIT. */
  exec_ok(db, "BEGIN; SAVEPOINT a; DROP TABLE kv; RELEASE a; INSERT INTO nat VALUES (1, 1)");
  ck_assert(path_exists(g_zStore));
  exec_ok(db, "COMMIT");
  ck_assert(!path_exists(g_zStore));
  sqlite3_close(db);
  /* Reopened: the table is gone, nat committed with it. */
  db = open_db("wal");
  assert_text(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'kv%'", "0");
  assert_text(db, "SELECT count(*) FROM nat", "1");
  sqlite3_close(db);
}
END_TEST

START_TEST(a_store_being_dropped_is_refused_to_other_connections_until_the_drop_ends){
  sqlite3 *db = make_db("wal"), *b = open_db("wal");
  sqlite3_stmt *pStmt = NULL;
  exec_ok(db, "BEGIN; DROP TABLE kv");
  /* b still sees kv in the committed schema, but may not open its store. */
  ck_assert_int_ne(sqlite3_prepare_v2(b, "SELECT * FROM kv", -1, &pStmt, 0), SQLITE_OK);
  ck_assert_ptr_nonnull(strstr(sqlite3_errmsg(b), "is being dropped"));
  sqlite3_finalize(pStmt);
  exec_ok(db, "ROLLBACK");
  assert_text(b, "SELECT count(*) FROM kv", "3");
  sqlite3_close(b);
  sqlite3_close(db);
}
END_TEST

/* The extension loaded again on a connection whose table is connected
** (the modules are registered again): the DROP still joins the
** transaction and its ROLLBACK still brings the table back. */
START_TEST(a_drop_after_the_extension_is_loaded_again_still_rolls_back){
  sqlite3 *db = make_db("wal");
  char *zErr = NULL;
  int rc;
  assert_text(db, "SELECT count(*) FROM kv", "3");
  rc = sqlite3_lsm_init(db, &zErr, g_pApi);
  ck_assert_msg(rc == SQLITE_OK, "loading again: %s", zErr ? zErr : "");
  exec_ok(db, "BEGIN; DROP TABLE kv");
  assert_text(db, "SELECT op || ' ' || tbl FROM lsm_pending", "drop kv");
  exec_ok(db, "ROLLBACK");
  assert_text(db, "SELECT group_concat(key) FROM kv", "1,2,3");
  ck_assert_int_ne(sqlite3_exec(db, "INSERT INTO lsm_pending VALUES ('drop', 'x', 'y')", 0, 0, 0),
                   SQLITE_OK);
  ck_assert_str_eq(sqlite3_errmsg(db), "lsm_pending is read-only");
  exec_ok(db, "DROP TABLE kv");
  ck_assert(!path_exists(g_zStore));
  sqlite3_close(db);
}
END_TEST

/* ---- RENAME ---- */

static void rename_keeps_the_store(int bLegacy){
  reader_process r = reader_fork();
  sqlite3 *db = open_db("delete");
  char *zStore = bLegacy ? sqlite3_mprintf("%s-kv.lsm", g_zDb) : sqlite3_mprintf("%s", g_zStore);
  char *zKv = owners_line("kv"), *zKv2 = owners_line("kv2"), *zKv3 = owners_line("kv3");
  int rc;
  if( bLegacy ){
    /* A table of the old default: no path, the store <database>-kv.lsm. */
    exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm('t.db-kv.lsm')");
    exec_ok(db, "PRAGMA writable_schema=ON; UPDATE sqlite_schema SET"
                " sql = 'CREATE VIRTUAL TABLE kv USING lsm' WHERE name = 'kv';"
                " PRAGMA writable_schema=OFF");
    sqlite3_close(db);
    db = open_db("delete");
  }else{
    exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm('kv.lsm')");
  }
  exec_ok(db, "CREATE TABLE nat(k PRIMARY KEY, v)");
  exec_ok(db, "INSERT INTO kv VALUES (1, 'one'), (2, 'two')");
  assert_text(db, "SELECT json_extract(lsm_stats('kv'), '$.location')", zStore);

  /* Fails with SQLITE_BUSY: kv as it was, OWNERS too. */
  reader_do(&r, 'r');
  rc = sqlite3_exec(db, "ALTER TABLE kv RENAME TO kv2", 0, 0, 0);
  ck_assert_int_eq(rc & 0xff, SQLITE_BUSY);
  reader_do(&r, 'c');
  reader_end(&r);
  assert_text(db, "SELECT group_concat(key) FROM kv", "1,2");
  ck_assert_str_eq(owners_text(zStore), zKv);

  /* Rolled back: the same. */
  exec_ok(db, "BEGIN; ALTER TABLE kv RENAME TO kv3; INSERT INTO kv3 VALUES (3, 'three')");
  assert_text(db, "SELECT group_concat(key) FROM kv3", "1,2,3");
  exec_ok(db, "ROLLBACK");
  assert_text(db, "SELECT group_concat(key) FROM kv", "1,2");
  ck_assert_str_eq(owners_text(zStore), zKv);

  /* Committed: the store stays where it is, under the new name. */
  exec_ok(db, "ALTER TABLE kv RENAME TO kv2");
  assert_text(db, "SELECT group_concat(key) FROM kv2", "1,2");
  ck_assert_str_eq(owners_text(zStore), zKv2);
  sqlite3_close(db);
  db = open_db("delete");
  assert_text(db, "SELECT group_concat(key) FROM kv2", "1,2");
  assert_text(db, "SELECT json_extract(lsm_stats('kv2'), '$.location')", zStore);
  exec_ok(db, "DROP TABLE kv2");
  ck_assert(!path_exists(zStore));
  assert_text(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'kv%'", "0");
  sqlite3_close(db);
  sqlite3_free(zStore);
  sqlite3_free(zKv);
  sqlite3_free(zKv2);
  sqlite3_free(zKv3);
}

START_TEST(a_rename_that_fails_or_rolls_back_leaves_the_store_and_its_owners){
  rename_keeps_the_store(0);
}
END_TEST

START_TEST(a_rename_of_a_table_of_the_old_default_directory_keeps_its_directory){
  rename_keeps_the_store(1);
}
END_TEST

/* ---- CREATE rolled back ---- */

/* Whether directory zDir exists and holds nothing. */
static int dir_is_empty(const char *zDir){
  char *zCmd = sqlite3_mprintf("test -d '%s' && test -z \"$(ls -A '%s')\"", zDir, zDir);
  int bEmpty = system(zCmd) == 0;
  sqlite3_free(zCmd);
  return bEmpty;
}

/* A CREATE VIRTUAL TABLE of a directory store undone by ROLLBACK, or by
** ROLLBACK TO a savepoint opened before it, removes the store it made, and
** its directory if it made that, as a native table leaves nothing: the
** store stayed, an empty store in a directory no table named (found by
** the review of branch defects2).  A CREATE that commits, or one made
** again after the first was undone, keeps its store. */
START_TEST(a_create_rolled_back_removes_the_store_it_made){
#define CREATE_N "CREATE VIRTUAL TABLE n USING lsm('n.lsm'); "
  static const struct { const char *zScript; const char *zKeys; } aCase[] = {
    { "SAVEPOINT s; " CREATE_N "INSERT INTO n VALUES (1, 'a'); ROLLBACK TO s; RELEASE s", 0 },
    { "BEGIN; " CREATE_N "INSERT INTO n VALUES (1, 'a'); ROLLBACK", 0 },
    { "BEGIN; " CREATE_N "ROLLBACK", 0 },
    { "BEGIN; SAVEPOINT s; " CREATE_N "INSERT INTO n VALUES (1, 'a'); ROLLBACK TO s; "
      CREATE_N "INSERT INTO n VALUES (2, 'b'); COMMIT", "2" },
    { "BEGIN; SAVEPOINT s; " CREATE_N "ROLLBACK TO s; " CREATE_N "ROLLBACK", 0 },
    { "BEGIN; " CREATE_N "INSERT INTO n VALUES (1, 'a'); DROP TABLE n; ROLLBACK", 0 },
    { "BEGIN; CREATE VIRTUAL TABLE n USING lsm('n.lsm', compaction=tiered);"
      " INSERT INTO n VALUES (1, 'a'); DROP TABLE n; ROLLBACK", 0 },
    { "BEGIN; SAVEPOINT s; " CREATE_N "INSERT INTO n VALUES (1, 'a'); RELEASE s; ROLLBACK", 0 },
    { "BEGIN; " CREATE_N "CREATE TABLE o(x); ALTER TABLE o ADD COLUMN y;"
      " INSERT INTO n VALUES (1, 'a'); ROLLBACK", 0 },
    { "BEGIN; " CREATE_N "SAVEPOINT s; ALTER TABLE n RENAME TO m; ROLLBACK TO s; ROLLBACK", 0 },
    { "BEGIN; " CREATE_N "INSERT INTO n VALUES (1, 'a'); COMMIT", "1" },
    { "SAVEPOINT s; " CREATE_N "INSERT INTO n VALUES (1, 'a'); RELEASE s", "1" },
  };
#undef CREATE_N
  char *zN = sqlite3_mprintf("%s/n.lsm", g_zDir);
  size_t i;
  for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
    sqlite3 *db = open_db("wal");
    char *zErr = 0;
    int rc = sqlite3_exec(db, aCase[i].zScript, 0, 0, &zErr);
    ck_assert_msg(rc == SQLITE_OK, "case %zu: %s", i, zErr ? zErr : sqlite3_errstr(rc));
    ck_assert_msg(path_exists(zN) == (aCase[i].zKeys != 0), "case %zu: %s %s", i, zN,
                  path_exists(zN) ? "is still there" : "is gone");
    sqlite3_close(db);
    db = open_db("wal");
    if( aCase[i].zKeys ){
      assert_text(db, "SELECT group_concat(key) FROM n", aCase[i].zKeys);
    }else{
      assert_text(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'n'", "0");
    }
    sqlite3_close(db);
    test_rmtree(zN);
    unlink(g_zDb);
  }
  sqlite3_free(zN);
}
END_TEST

/* Only what the CREATE made goes: an empty directory that was there
** before stays (empty), and another table's store keeps its rows and
** its OWNERS (so that the other table's DROP still removes it). */
START_TEST(a_create_rolled_back_leaves_what_it_did_not_make){
  static const char *azUndo[] = {
    "BEGIN; CREATE VIRTUAL TABLE n USING lsm('%s'); INSERT INTO n VALUES (9, 'x'); ROLLBACK",
    "SAVEPOINT s; CREATE VIRTUAL TABLE n USING lsm('%s'); INSERT INTO n VALUES (9, 'x');"
    " ROLLBACK TO s; RELEASE s",
  };
  char *zN = sqlite3_mprintf("%s/n.lsm", g_zDir);
  size_t i;
  for(i = 0; i < sizeof(azUndo) / sizeof(azUndo[0]); i++){
    sqlite3 *db;
    char *zSql, *zLine;
    ck_assert_int_eq(mkdir(zN, 0755), 0);
    db = open_db("wal");
    zSql = sqlite3_mprintf(azUndo[i], "n.lsm");
    exec_ok(db, zSql);
    sqlite3_free(zSql);
    ck_assert_msg(dir_is_empty(zN), "case %zu: %s is not there and empty", i, zN);
    sqlite3_close(db);
    test_rmtree(zN);

    db = make_db("wal");
    zSql = sqlite3_mprintf(azUndo[i], "kv.lsm");
    exec_ok(db, zSql);
    sqlite3_free(zSql);
    assert_text(db, "SELECT group_concat(key) FROM kv", "1,2,3");
    zLine = owners_line("kv");
    ck_assert_str_eq(owners_text(g_zStore), zLine);
    sqlite3_free(zLine);
    exec_ok(db, "DROP TABLE kv");
    ck_assert_msg(!path_exists(g_zStore), "case %zu: %s is still there", i, g_zStore);
    sqlite3_close(db);
    unlink(g_zDb);
  }
  sqlite3_free(zN);
}
END_TEST

/* A store another connection of the process uses stays when the CREATE
** that made it is rolled back, even if that connection wrote no OWNERS
** line (its database has no file): its rows outlive both connections. */
START_TEST(a_create_rolled_back_leaves_a_store_another_connection_uses){
  char *zN = sqlite3_mprintf("%s/n.lsm", g_zDir);
  char *zSql = sqlite3_mprintf("CREATE VIRTUAL TABLE m USING lsm('%q')", zN);
  sqlite3 *db = open_db("wal"), *mem = 0;
  char *zCreate = sqlite3_mprintf("BEGIN; CREATE VIRTUAL TABLE n USING lsm('%q')", zN);
  exec_ok(db, zCreate);
  ck_assert_int_eq(sqlite3_open(":memory:", &mem), SQLITE_OK);
  exec_ok(mem, zSql);
  exec_ok(mem, "INSERT INTO m VALUES (1, 'kept')");
  exec_ok(db, "ROLLBACK");
  sqlite3_close(db);
  assert_text(mem, "SELECT value FROM m", "kept");
  sqlite3_close(mem);
  ck_assert_msg(path_exists(zN), "%s is gone", zN);
  ck_assert_int_eq(sqlite3_open(":memory:", &mem), SQLITE_OK);
  exec_ok(mem, zSql);
  assert_text(mem, "SELECT value FROM m", "kept");
  sqlite3_close(mem);
  sqlite3_free(zCreate);
  sqlite3_free(zSql);
  sqlite3_free(zN);
}
END_TEST

/* The same when the other connection has closed before the rollback
** (found by the review of defects3: its rows went with the store).  Its
** database is in memory, so no OWNERS line tells of it afterwards. */
START_TEST(a_create_rolled_back_leaves_a_store_another_connection_opened_and_closed){
  char *zN = sqlite3_mprintf("%s/n.lsm", g_zDir);
  char *zSql = sqlite3_mprintf("CREATE VIRTUAL TABLE m USING lsm('%q')", zN);
  char *zCreate = sqlite3_mprintf("BEGIN; CREATE VIRTUAL TABLE n USING lsm('%q')", zN);
  sqlite3 *db = open_db("wal"), *mem = 0;
  exec_ok(db, zCreate);
  ck_assert_int_eq(sqlite3_open(":memory:", &mem), SQLITE_OK);
  exec_ok(mem, zSql);
  exec_ok(mem, "INSERT INTO m VALUES (1, 'committed by the other connection')");
  sqlite3_close(mem);
  exec_ok(db, "ROLLBACK");
  sqlite3_close(db);
  ck_assert_msg(path_exists(zN), "%s is gone", zN);
  ck_assert_int_eq(sqlite3_open(":memory:", &mem), SQLITE_OK);
  exec_ok(mem, zSql);
  assert_text(mem, "SELECT value FROM m", "committed by the other connection");
  sqlite3_close(mem);
  sqlite3_free(zCreate);
  sqlite3_free(zSql);
  sqlite3_free(zN);
}
END_TEST

/* A CREATE that fails at a store whose removal waits (a CREATE there
** rolled back to a savepoint, its engine still held by the undone
** instance) leaves the removal waiting: the store went neither at COMMIT
** nor at ROLLBACK (the review of defects3, D3). */
START_TEST(a_create_that_fails_leaves_the_removal_of_an_undone_one_waiting){
  static const char *azEnd[] = { "COMMIT", "ROLLBACK" };
  char *zN = sqlite3_mprintf("%s/n.lsm", g_zDir);
  size_t i;
  for(i = 0; i < sizeof(azEnd) / sizeof(azEnd[0]); i++){
    sqlite3 *db = open_db("wal");
    char *zErr = 0;
    int rc;
    exec_ok(db, "BEGIN; SAVEPOINT s; CREATE VIRTUAL TABLE n USING lsm('n.lsm'); ROLLBACK TO s");
    rc = sqlite3_exec(db, "CREATE VIRTUAL TABLE n USING lsm('n.lsm', compaction=tiered)", 0, 0,
                      &zErr);
    ck_assert_msg(rc != SQLITE_OK, "case %zu: the second CREATE did not fail", i);
    sqlite3_free(zErr);
    exec_ok(db, azEnd[i]);
    sqlite3_close(db);
    ck_assert_msg(!path_exists(zN), "case %zu (%s): %s is still there", i, azEnd[i], zN);
    unlink(g_zDb);
  }
  sqlite3_free(zN);
}
END_TEST

/* <g_zDir>/A and <g_zDir>/B, each to hold a store s.lsm. */
static void make_two_dirs(char **pzA, char **pzB){
  *pzA = sqlite3_mprintf("%s/A", g_zDir);
  *pzB = sqlite3_mprintf("%s/B", g_zDir);
  ck_assert_int_eq(mkdir(*pzA, 0755), 0);
  ck_assert_int_eq(mkdir(*pzB, 0755), 0);
}

/* B/s.lsm made from an in-memory database (relative to the working
** directory, B) with one committed row. */
static void make_precious_store(const char *zB){
  sqlite3 *mem = 0;
  ck_assert_int_eq(chdir(zB), 0);
  ck_assert_int_eq(sqlite3_open(":memory:", &mem), SQLITE_OK);
  exec_ok(mem, "CREATE VIRTUAL TABLE keep USING lsm('s.lsm')");
  exec_ok(mem, "INSERT INTO keep VALUES (1, 'precious')");
  sqlite3_close(mem);
}

static void assert_precious(const char *zB){
  char *zSql = sqlite3_mprintf("CREATE VIRTUAL TABLE keep USING lsm('%q/s.lsm')", zB);
  sqlite3 *mem = 0;
  ck_assert_int_eq(sqlite3_open(":memory:", &mem), SQLITE_OK);
  exec_ok(mem, zSql);
  assert_text(mem, "SELECT value FROM keep WHERE key = 1", "precious");
  sqlite3_close(mem);
  sqlite3_free(zSql);
}

/* In an in-memory database, with A/ as the working directory, run
** zBefore (which leaves a transaction open on table t at 's.lsm'), move
** to B/ (which holds another table's store, with its rows), run zEnd;
** then B/s.lsm must still hold its rows and A/s.lsm must be gone. */
static void expect_own_store_gone_after_chdir(const char *zBefore, const char *zEnd){
  char *zCwd = getcwd(NULL, 0), *zA, *zB, *zAStore;
  sqlite3 *mem = 0;
  make_two_dirs(&zA, &zB);
  make_precious_store(zB);
  ck_assert_int_eq(chdir(zA), 0);
  ck_assert_int_eq(sqlite3_open(":memory:", &mem), SQLITE_OK);
  exec_ok(mem, zBefore);
  ck_assert_int_eq(chdir(zB), 0);
  exec_ok(mem, zEnd);
  sqlite3_close(mem);
  ck_assert_int_eq(chdir(zCwd), 0);
  assert_precious(zB);
  zAStore = sqlite3_mprintf("%s/s.lsm", zA);
  ck_assert_msg(!path_exists(zAStore), "%s is still there", zAStore);
  sqlite3_free(zAStore);
  sqlite3_free(zA);
  sqlite3_free(zB);
  free(zCwd);
}

/* A relative path of an in-memory (or TEMP) table follows the working
** directory: the store a CREATE made is the one at the path as it was
** then.  A rollback after a chdir removed the store the path named at the
** rollback, another table's, with its rows (found by the review of
** defects3); now A/s.lsm, which the CREATE made, goes and B/s.lsm stays. */
START_TEST(a_create_rolled_back_after_a_chdir_removes_the_store_it_made_only){
  expect_own_store_gone_after_chdir("BEGIN; CREATE VIRTUAL TABLE t USING lsm('s.lsm')",
                                    "ROLLBACK");
}
END_TEST

/* The same cause in a committed DROP (older than the CREATE's removal):
** it removed B/s.lsm and left A/s.lsm marked DROPPING.  The DROP removes
** the store its table had. */
START_TEST(a_drop_committed_after_a_chdir_removes_its_own_store_only){
  expect_own_store_gone_after_chdir("CREATE VIRTUAL TABLE t USING lsm('s.lsm');"
                                    "INSERT INTO t VALUES (1, 'dropped');"
                                    "BEGIN; DROP TABLE t",
                                    "COMMIT");
}
END_TEST

/* ext/registry.c, called directly (ext.h is not included here: it sends
** every sqlite3_* call through the extension's API table). */
int registry_destroy_unused(const char *zKey, sqlite3 *db, int eCompaction, char **pzErr);

/* The last guard of a rolled-back CREATE's removal: whatever the
** bookkeeping says, a store that holds anything ever written stays, open
** in the process or not; an empty one (what a CREATE that wrote nothing
** leaves) goes. */
START_TEST(the_removal_of_a_rolled_back_create_spares_a_store_that_holds_writes){
  char *zN = sqlite3_mprintf("%s/n.lsm", g_zDir);
  char *zReal, *zSql;
  char *zErr = 0;
  sqlite3 *db = open_db("wal");
  exec_ok(db, "CREATE VIRTUAL TABLE n USING lsm('n.lsm')");
  exec_ok(db, "INSERT INTO n VALUES (1, 'written')");
  zReal = realpath(zN, NULL);
  ck_assert_ptr_nonnull(zReal);
  /* Open: its only holder is db's table, which a removal would wait for. */
  ck_assert_int_eq(registry_destroy_unused(zReal, db, LSM_COMPACTION_LEVELED, &zErr), SQLITE_OK);
  sqlite3_close(db);
  ck_assert_msg(path_exists(zN), "%s went at the close", zN);
  /* Closed. */
  ck_assert_int_eq(registry_destroy_unused(zReal, 0, LSM_COMPACTION_LEVELED, &zErr), SQLITE_OK);
  ck_assert_msg(path_exists(zN), "%s went at once", zN);
  db = open_db("wal");
  assert_text(db, "SELECT value FROM n", "written");
  exec_ok(db, "DROP TABLE n");
  sqlite3_close(db);
  /* Made again by a table of an in-memory database: no OWNERS file,
  ** only the engine's files, which a removal takes with the directory. */
  zSql = sqlite3_mprintf("CREATE VIRTUAL TABLE n USING lsm('%q')", zN);
  ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
  exec_ok(db, zSql);
  sqlite3_close(db);
  sqlite3_free(zSql);
  ck_assert_int_eq(registry_destroy_unused(zReal, 0, LSM_COMPACTION_LEVELED, &zErr), SQLITE_OK);
  ck_assert_msg(!path_exists(zN), "%s, empty, is still there", zN);
  sqlite3_free(zErr);
  free(zReal);
  sqlite3_free(zN);
}
END_TEST

/* ---- a crash right after a DROP's commit ---- */

/* The default VFS's xDelete, wrapped in the child so that the process
** ends when SQLite deletes the rollback journal: the DROP has committed,
** and lsm_pending's xCommit, which removes the store, has not run. */
static int (*g_xBaseDelete)(sqlite3_vfs*, const char*, int);

static int die_delete(sqlite3_vfs *pVfs, const char *zName, int bSync){
  int rc = g_xBaseDelete(pVfs, zName, bSync);
  if( rc == SQLITE_OK && strlen(zName) > 8 && strcmp(zName + strlen(zName) - 8, "-journal") == 0 ){
    _exit(0);
  }
  return rc;
}

START_TEST(a_crash_after_a_drop_committed_leaves_no_table_and_a_create_there_starts_empty){
  sqlite3 *db = make_db("delete");
  pid_t pid;
  int status = 0;
  sqlite3_close(db);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if( pid == 0 ){
    db = open_db("delete");
    /* Connect kv first: its xConnect writes nothing. */
    if( sqlite3_exec(db, "SELECT count(*) FROM kv", 0, 0, 0) != SQLITE_OK ) _exit(3);
    {
      /* The pager deletes its journal through this very object. */
      sqlite3_vfs *pVfs = 0;
      if( sqlite3_file_control(db, "main", SQLITE_FCNTL_VFS_POINTER, &pVfs) != SQLITE_OK ) _exit(4);
      g_xBaseDelete = pVfs->xDelete;
      pVfs->xDelete = die_delete;
    }
    sqlite3_exec(db, "DROP TABLE kv", 0, 0, 0);
    _exit(5);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "the child did not die at the DROP's commit (status %d)", status);
  /* The DROP committed; the store is still there, marked. */
  ck_assert(path_exists(g_zStore));
  {
    char *zMarker = sqlite3_mprintf("%s/DROPPING", g_zStore);
    ck_assert(path_exists(zMarker));
    sqlite3_free(zMarker);
  }
  db = open_db("delete");
  assert_text(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'kv%'", "0");
  /* A CREATE at the same path removes the rest and starts empty. */
  exec_ok(db, "CREATE VIRTUAL TABLE kv2 USING lsm('kv.lsm')");
  assert_text(db, "SELECT count(*) FROM kv2", "0");
  exec_ok(db, "INSERT INTO kv2 VALUES ('new', 1)");
  assert_text(db, "SELECT group_concat(key) FROM kv2", "new");
  sqlite3_close(db);
  db = open_db("delete");
  assert_text(db, "SELECT group_concat(key) FROM kv2", "new");
  assert_text(db, "SELECT lsm_check('kv2')", "ok");
  sqlite3_close(db);
}
END_TEST

/* A process that dies inside a transaction that dropped kv: the journal
** rolls the DROP back, and the next open removes the store's mark. */
START_TEST(a_crash_before_a_drop_committed_keeps_the_table_and_unmarks_the_store){
  sqlite3 *db = make_db("delete");
  char *zMarker = sqlite3_mprintf("%s/DROPPING", g_zStore);
  pid_t pid;
  int status = 0;
  sqlite3_close(db);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if( pid == 0 ){
    db = open_db("delete");
    if( sqlite3_exec(db, "BEGIN; DROP TABLE kv; INSERT INTO nat VALUES (1, 1);", 0, 0, 0)
        != SQLITE_OK ){
      _exit(3);
    }
    _exit(path_exists(zMarker) ? 0 : 4);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "the child did not drop kv (status %d)", status);
  ck_assert(path_exists(zMarker));
  db = open_db("delete");
  assert_text(db, "SELECT group_concat(key || '=' || value) FROM kv", "1=one,2=two,3=three");
  ck_assert(!path_exists(zMarker));
  assert_text(db, "SELECT count(*) FROM nat", "0");
  exec_ok(db, "DROP TABLE kv");
  ck_assert(!path_exists(g_zStore));
  sqlite3_close(db);
  sqlite3_free(zMarker);
}
END_TEST

static Suite *deferred_drop_suite(void){
  Suite *s = suite_create("deferred_drop");
  TCase *tc = tcase_create("directory_store");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, a_drop_failing_busy_for_a_reader_keeps_every_row_and_a_retry_removes_the_store);
  tcase_add_test(tc, a_drop_rolled_back_keeps_every_row);
  tcase_add_test(tc, a_store_being_dropped_is_refused_to_other_connections_until_the_drop_ends);
  tcase_add_test(tc, a_drop_after_the_extension_is_loaded_again_still_rolls_back);
  tcase_add_test(tc, a_rename_that_fails_or_rolls_back_leaves_the_store_and_its_owners);
  tcase_add_test(tc, a_rename_of_a_table_of_the_old_default_directory_keeps_its_directory);
  tcase_add_test(tc, a_create_rolled_back_removes_the_store_it_made);
  tcase_add_test(tc, a_create_rolled_back_leaves_what_it_did_not_make);
  tcase_add_test(tc, a_create_rolled_back_leaves_a_store_another_connection_uses);
  tcase_add_test(tc, a_create_rolled_back_leaves_a_store_another_connection_opened_and_closed);
  tcase_add_test(tc, a_create_rolled_back_after_a_chdir_removes_the_store_it_made_only);
  tcase_add_test(tc, a_drop_committed_after_a_chdir_removes_its_own_store_only);
  tcase_add_test(tc, the_removal_of_a_rolled_back_create_spares_a_store_that_holds_writes);
  tcase_add_test(tc, a_create_that_fails_leaves_the_removal_of_an_undone_one_waiting);
  tcase_add_test(tc, a_crash_after_a_drop_committed_leaves_no_table_and_a_create_there_starts_empty);
  tcase_add_test(tc, a_crash_before_a_drop_committed_keeps_the_table_and_unmarks_the_store);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(deferred_drop_suite)
