/*
** ext_test_api.h — lets a Check program call ext/ functions directly.
**
** Every ext/ file reaches SQLite through the sqlite3_api table
** (SQLITE_EXTENSION_INIT3); ext/extension.c defines that pointer and
** sqlite3_lsm_init fills it when SQLite loads the extension.  A unit test
** links libsqlite3 and never loads lsm.so, so it fills the pointer itself:
** ext_test_api_init() registers a tiny auto-extension, opens and closes an
** in-memory database (SQLite calls the auto-extension with the very table
** it gives loaded extensions), and keeps the pointer.
**
** Include this header instead of ext.h, and call ext_test_api_init() first
** (e.g. as a checked fixture).  The helper is compiled before ext.h is
** included, so it calls libsqlite3 directly; everything after goes through
** sqlite3_api, which is the same library.
**
** ext_test_open_db() opens an in-memory database with the codecs as SQL
** functions, so tests can compare them with SQLite's own behaviour:
**   keyenc(x)              keycodec_encode, as a blob
**   keydec(b)              keycodec_decode
**   recenc(key, v1, ...)   record_encode of the value columns v1...
**   reccol(rec, i)         record_column
**   reckey(k, rec)         record_key
** An error code from the codec becomes the statement's error code.
*/
#ifndef LSM_EXT_TEST_API_H
#define LSM_EXT_TEST_API_H

#include <sqlite3.h>

extern const sqlite3_api_routines *sqlite3_api;   /* ext/extension.c */

static int ext_test_capture_api(sqlite3 *db, char **pzErr, const sqlite3_api_routines *pApi){
  (void)db;
  (void)pzErr;
  sqlite3_api = pApi;
  return SQLITE_OK;
}

static void ext_test_api_init(void){
  sqlite3 *db = NULL;
  if( sqlite3_api ) return;
  sqlite3_auto_extension((void(*)(void))ext_test_capture_api);
  sqlite3_open(":memory:", &db);
  sqlite3_close(db);
  sqlite3_cancel_auto_extension((void(*)(void))ext_test_capture_api);
}

#include "ext.h"

static inline void ext_test_keyenc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  ext_buf b = {0};
  int rc = keycodec_encode(argv[0], &b);
  (void)argc;
  if( rc == SQLITE_OK ) sqlite3_result_blob64(ctx, b.p ? (void*)b.p : (void*)"", b.n, SQLITE_TRANSIENT);
  else sqlite3_result_error_code(ctx, rc);
  ext_buf_free(&b);
}
static inline void ext_test_keydec(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  int rc = keycodec_decode(sqlite3_value_blob(argv[0]), (size_t)sqlite3_value_bytes(argv[0]), ctx);
  (void)argc;
  if( rc != SQLITE_OK ) sqlite3_result_error_code(ctx, rc);
}
static inline void ext_test_recenc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  ext_buf b = {0};
  int rc = record_encode(argv[0], argv + 1, argc - 1, &b);
  if( rc == SQLITE_OK ) sqlite3_result_blob64(ctx, b.p, b.n, SQLITE_TRANSIENT);
  else sqlite3_result_error_code(ctx, rc);
  ext_buf_free(&b);
}
static inline void ext_test_reccol(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  int rc = record_column(sqlite3_value_blob(argv[0]), (size_t)sqlite3_value_bytes(argv[0]),
                         sqlite3_value_int(argv[1]), ctx);
  (void)argc;
  if( rc != SQLITE_OK ) sqlite3_result_error_code(ctx, rc);
}
static inline void ext_test_reckey(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  int rc = record_key(sqlite3_value_blob(argv[0]), (size_t)sqlite3_value_bytes(argv[0]),
                      sqlite3_value_blob(argv[1]), (size_t)sqlite3_value_bytes(argv[1]), ctx);
  (void)argc;
  if( rc != SQLITE_OK ) sqlite3_result_error_code(ctx, rc);
}

/* An in-memory database with the functions above.  Close with sqlite3_close. */
static inline sqlite3 *ext_test_open_db(void){
  sqlite3 *db = NULL;
  ext_test_api_init();
  if( sqlite3_open(":memory:", &db) != SQLITE_OK ) return NULL;
  sqlite3_create_function(db, "keyenc", 1, SQLITE_UTF8, 0, ext_test_keyenc, 0, 0);
  sqlite3_create_function(db, "keydec", 1, SQLITE_UTF8, 0, ext_test_keydec, 0, 0);
  sqlite3_create_function(db, "recenc", -1, SQLITE_UTF8, 0, ext_test_recenc, 0, 0);
  sqlite3_create_function(db, "reccol", 2, SQLITE_UTF8, 0, ext_test_reccol, 0, 0);
  sqlite3_create_function(db, "reckey", 2, SQLITE_UTF8, 0, ext_test_reckey, 0, 0);
  return db;
}

#endif
