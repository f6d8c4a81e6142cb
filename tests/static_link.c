/*
** static_link.c — a program that links the extension statically.
**
** Built by `make static-test` from this file, build/libsqlite3_lsm.a and
** -lsqlite3 only (no lsm.so, no other object), and again by
** tests/install_test.sh against the installed header, archive and
** pkg-config file.  It shows what sqlite3_lsm.h promises:
**   1. sqlite3_auto_extension(sqlite3_lsm_init) gives every connection
**      opened afterwards the module and the functions;
**   2. lsm_version() is LSM_VERSION, the header's version;
**   3. the engine's C API is in the archive under sqlite3_lsm_* names
**      (sqlite3_lsm_engine.h maps lsm_open to sqlite3_lsm_open ...);
**   4. an SQLite older than LSM_SQLITE_MIN_VERSION is refused at load time
**      with a message naming both versions (shown with a copy of SQLite's
**      routine table whose libversion_number says 3.37.0).
** Prints "static link: ok" and exits 0, or says what failed and exits 1.
*/
#include <sqlite3.h>
/* Only for struct sqlite3_api_routines (test 4); SQLITE_CORE keeps the
** sqlite3_* calls here direct calls into libsqlite3. */
#define SQLITE_CORE 1
#include <sqlite3ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite3_lsm.h"
#include "sqlite3_lsm_engine.h"

static int nFail = 0;

static void expect(int bOk, const char *zWhat, const char *zGot){
  if( !bOk ){
    fprintf(stderr, "static_link: %s (got: %s)\n", zWhat, zGot ? zGot : "NULL");
    nFail++;
  }
}

/* The text of the first column of the first row of zSql, or the error
** message; sqlite3_free it. */
static char *query(sqlite3 *db, const char *zSql){
  sqlite3_stmt *pStmt = NULL;
  char *z = NULL;
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, NULL) != SQLITE_OK ){
    z = sqlite3_mprintf("error: %s", sqlite3_errmsg(db));
  }else if( sqlite3_step(pStmt) == SQLITE_ROW ){
    z = sqlite3_mprintf("%s", (const char*)sqlite3_column_text(pStmt, 0));
  }else{
    z = sqlite3_mprintf("error: %s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  return z;
}

/* SQLite's routine table, captured from an auto-extension call. */
static const sqlite3_api_routines *g_pApi = NULL;
static int capture_api(sqlite3 *db, char **pzErr, const sqlite3_api_routines *pApi){
  (void)db;
  (void)pzErr;
  g_pApi = pApi;
  return SQLITE_OK;
}
static int old_libversion_number(void){ return 3037000; }
static const char *old_libversion(void){ return "3.37.0"; }

int main(void){
  sqlite3 *db = NULL;
  char *zErr = NULL;
  char *z;
  lsm_db *pLsm = NULL;
  void *pVal = NULL;
  size_t nVal = 0;
  int rc;

  /* 1, 2: the extension on every new connection. */
  sqlite3_auto_extension((void(*)(void))sqlite3_lsm_init);
  if( sqlite3_open(":memory:", &db) != SQLITE_OK ) return 1;
  rc = sqlite3_exec(db, "CREATE VIRTUAL TABLE kv USING lsm;"
                        "INSERT INTO kv VALUES ('apple', 'red'), ('pear', 'green');",
                    NULL, NULL, &zErr);
  expect(rc == SQLITE_OK, "CREATE VIRTUAL TABLE ... USING lsm and INSERT", zErr);
  sqlite3_free(zErr);
  z = query(db, "SELECT value FROM kv WHERE key = 'pear'");
  expect(z && strcmp(z, "green") == 0, "a point get returns the row", z);
  sqlite3_free(z);
  z = query(db, "SELECT lsm_version()");
  expect(z && strcmp(z, LSM_VERSION) == 0, "lsm_version() is LSM_VERSION", z);
  sqlite3_free(z);
  sqlite3_close(db);
  sqlite3_cancel_auto_extension((void(*)(void))sqlite3_lsm_init);

  /* 3: the engine API, under its archive names. */
  rc = lsm_open(NULL, NULL, &pLsm);
  if( rc == LSM_OK ) rc = lsm_put(pLsm, "k", 1, "v", 1);
  if( rc == LSM_OK ) rc = lsm_get(pLsm, NULL, "k", 1, &pVal, &nVal);
  expect(rc == LSM_OK && nVal == 1 && memcmp(pVal, "v", 1) == 0,
         "lsm_open/lsm_put/lsm_get (sqlite3_lsm_*) on an in-memory store", lsm_errstr(rc));
  lsm_free(pVal);
  lsm_close(pLsm);

  /* 4: an SQLite too old is refused with a clear message. */
  sqlite3_auto_extension((void(*)(void))capture_api);
  if( sqlite3_open(":memory:", &db) != SQLITE_OK ) return 1;
  sqlite3_cancel_auto_extension((void(*)(void))capture_api);
  if( g_pApi ){
    static sqlite3_api_routines old;
    old = *g_pApi;
    old.libversion_number = old_libversion_number;
    old.libversion = old_libversion;
    zErr = NULL;
    rc = sqlite3_lsm_init(db, &zErr, &old);
    expect(rc == SQLITE_ERROR && zErr
           && strcmp(zErr, "lsm needs SQLite " LSM_SQLITE_MIN_VERSION " or later, not 3.37.0") == 0,
           "an old SQLite is refused at load time", zErr);
    sqlite3_free(zErr);
    /* Hand the extension the real table again. */
    zErr = NULL;
    rc = sqlite3_lsm_init(db, &zErr, g_pApi);
    expect(rc == SQLITE_OK, "loading again with the real SQLite works", zErr);
    sqlite3_free(zErr);
  }else{
    expect(0, "the auto-extension was called", NULL);
  }
  sqlite3_close(db);

  if( nFail ) return 1;
  printf("static link: ok\n");
  return 0;
}
