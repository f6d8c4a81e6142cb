/*
** bench_sql.c — the SQL level of `make bench`: the same workloads through
** SQLite, on both kinds of lsm table and on a native table.
**
**   lsm      CREATE VIRTUAL TABLE kv USING lsm
**            the in-database store (the default): its LSM tree in the
**            shadow tables kv_file and kv_log, flushed and compacted
**            inside COMMITs (ext/dbstore.c)
**   lsm-dir  CREATE VIRTUAL TABLE kv USING lsm('kv.lsm')
**            the directory store, sync=normal (its WAL written with
**            write(2) at each COMMIT, as SQLite's WAL at synchronous=NORMAL)
**   sqlite   CREATE TABLE kv(key PRIMARY KEY NOT NULL, value) WITHOUT ROWID
**   vtab-floor  CREATE VIRTUAL TABLE kv USING bench_floor
**            rows in memory, in an array indexed by the key's number
**            (bench_floor.c): what SQLite's virtual-table interface alone
**            costs, the ceiling of any virtual table's reads
**
** (lsm.so loaded with sqlite3_load_extension; its defaults: 4 MiB
** memtable, 4 KiB blocks, 10 bits/key Bloom.)  Every database runs with
** journal_mode=WAL and synchronous=NORMAL (a COMMIT is written, not
** synced, as the directory store's sync=normal), then BENCH_SQL_PRAGMAS if
** set (SQL run on every store's connection alike, e.g. "PRAGMA
** mmap_size=1000000000"; not set by default), and all use the same
** prepared statements:
**
**   put       INSERT OR REPLACE INTO kv(key, value) VALUES (?1, ?2)
**   delete    DELETE FROM kv WHERE key = ?1
**   get       SELECT value FROM kv WHERE key = ?1
**   readseq   SELECT key, value FROM kv ORDER BY key
**   seek      SELECT key, value FROM kv WHERE key >= ?1 ORDER BY key LIMIT 10
**
** Keys are bound as TEXT, values as 100-byte BLOBs; the workloads group
** BENCH_TXN_ROWS operations (reads too) into one BEGIN ... COMMIT.
** (INSERT OR REPLACE, because a native table refuses a plain INSERT over
** an existing key; on the lsm table it is the same blind put as INSERT.)
**
** Settling: the lsm table flushes its memtable (SELECT lsm_flush('kv'));
** the in-database store, which compacts only inside COMMITs (one
** compaction per COMMIT at most), then commits one-row transactions (a
** put of the sentinel key x'00', deleted at the end) until a COMMIT runs
** no compaction; all checkpoint SQLite's WAL (PRAGMA
** wal_checkpoint(TRUNCATE)), then we wait until the process has stopped
** writing.
*/
#include "bench.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The statements, in the order of bench_store.apStmt. */
enum { SQL_PUT, SQL_DELETE, SQL_GET, SQL_SCAN, SQL_SEEK, SQL_BEGIN, SQL_COMMIT, SQL_NSTMT };
static const char *azSqlStmt[SQL_NSTMT] = {
  "INSERT OR REPLACE INTO kv(key, value) VALUES (?1, ?2)",
  "DELETE FROM kv WHERE key = ?1",
  "SELECT value FROM kv WHERE key = ?1",
  "SELECT key, value FROM kv ORDER BY key",
  "SELECT key, value FROM kv WHERE key >= ?1 ORDER BY key LIMIT 10",
  "BEGIN",
  "COMMIT",
};

struct bench_iter {
  sqlite3_stmt *pStmt;     /* SQL_SCAN or SQL_SEEK, being stepped   */
  int rcStep;              /* last sqlite3_step result               */
};

struct bench_store {
  sqlite3 *db;                     /* the connection                   */
  int bLsm;                        /* 1: lsm virtual table; 0: other   */
  int bInDb;                       /* 1: the in-database kind of lsm   */
  sqlite3_stmt *apStmt[SQL_NSTMT]; /* prepared once                    */
  bench_iter iter;                 /* the one iterator open at a time  */
  char aVal[BENCH_VAL_BYTES];      /* xGet's value, until the next xGet */
};

const char *bench_sql_extension_path(void){
  const char *z = getenv("BENCH_LSM_SO");
  return z && z[0] ? z : "./lsm.so";
}

/* Print the connection's error; returns 1. */
static int sql_error(sqlite3 *db, const char *zWhat){
  fprintf(stderr, "sqlite: %s: %s\n", zWhat, db ? sqlite3_errmsg(db) : "out of memory");
  return 1;
}

static int sql_exec(sqlite3 *db, const char *zSql){
  char *zErr = 0;
  if( sqlite3_exec(db, zSql, 0, 0, &zErr) != SQLITE_OK ){
    fprintf(stderr, "sqlite: %s: %s\n", zSql, zErr ? zErr : "?");
    sqlite3_free(zErr);
    return 1;
  }
  return 0;
}

static int sql_load_lsm(sqlite3 *db, char *zErrOut, size_t nErrOut){
  char *zErr = 0;
  sqlite3_enable_load_extension(db, 1);
  if( sqlite3_load_extension(db, bench_sql_extension_path(), "sqlite3_lsm_init", &zErr)
      != SQLITE_OK ){
    snprintf(zErrOut, nErrOut, "%s", zErr ? zErr : "unknown error");
    sqlite3_free(zErr);
    return 1;
  }
  return 0;
}

int bench_sql_probe(char *zErr, size_t nErr){
  sqlite3 *db = 0;
  int rc = 1;
  if( sqlite3_open(":memory:", &db) != SQLITE_OK ){
    snprintf(zErr, nErr, "cannot open an in-memory database");
  }else if( sql_load_lsm(db, zErr, nErr) == 0 ){
    char *zMsg = 0;
    rc = sqlite3_exec(db, "CREATE VIRTUAL TABLE temp.probe USING lsm(':memory:')", 0, 0, &zMsg);
    if( rc ) snprintf(zErr, nErr, "CREATE VIRTUAL TABLE ... USING lsm: %s", zMsg ? zMsg : "?");
    sqlite3_free(zMsg);
  }
  sqlite3_close(db);
  return rc;
}

static void sql_close(bench_store *p){
  int i;
  if( !p ) return;
  for(i = 0; i < SQL_NSTMT; i++) sqlite3_finalize(p->apStmt[i]);
  if( p->db && sqlite3_close(p->db) != SQLITE_OK ) sql_error(p->db, "close");
  free(p);
}

/* Open a store of kind eKind: SQL_KIND_*. */
enum { SQL_KIND_NATIVE, SQL_KIND_INDB, SQL_KIND_DIR, SQL_KIND_FLOOR };
static int sql_open(const char *zDir, int eKind, bench_store **pp){
  bench_store *p = calloc(1, sizeof(*p));
  char zPath[4200], zErr[512];
  int i, rc = 0;
  *pp = 0;
  if( !p ) return 1;
  p->bLsm = eKind == SQL_KIND_INDB || eKind == SQL_KIND_DIR;
  p->bInDb = eKind == SQL_KIND_INDB;
  if( mkdir(zDir, 0755) != 0 ){ perror(zDir); rc = 1; goto cleanup; }
  snprintf(zPath, sizeof(zPath), "%s/kv.db", zDir);
  if( sqlite3_open(zPath, &p->db) != SQLITE_OK ){ rc = sql_error(p->db, zPath); goto cleanup; }
  rc = sql_exec(p->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  if( rc == 0 && getenv("BENCH_SQL_PRAGMAS") ) rc = sql_exec(p->db, getenv("BENCH_SQL_PRAGMAS"));
  if( rc == 0 && p->bLsm ){
    if( sql_load_lsm(p->db, zErr, sizeof(zErr)) ){
      fprintf(stderr, "sqlite: load %s: %s\n", bench_sql_extension_path(), zErr);
      rc = 1;
    }
    if( rc == 0 ){
      rc = sql_exec(p->db, p->bInDb ? "CREATE VIRTUAL TABLE kv USING lsm"
                                    : "CREATE VIRTUAL TABLE kv USING lsm('kv.lsm')");
    }
  }else if( rc == 0 && eKind == SQL_KIND_FLOOR ){
    if( bench_floor_register(p->db) != SQLITE_OK ) rc = sql_error(p->db, "bench_floor");
    if( rc == 0 ) rc = sql_exec(p->db, "CREATE VIRTUAL TABLE kv USING bench_floor");
  }else if( rc == 0 ){
    rc = sql_exec(p->db, "CREATE TABLE kv(key PRIMARY KEY NOT NULL, value) WITHOUT ROWID");
  }
  for(i = 0; rc == 0 && i < SQL_NSTMT; i++){
    if( sqlite3_prepare_v2(p->db, azSqlStmt[i], -1, &p->apStmt[i], 0) != SQLITE_OK ){
      rc = sql_error(p->db, azSqlStmt[i]);
    }
  }
cleanup:
  if( rc ){
    sql_close(p);
    return 1;
  }
  *pp = p;
  return 0;
}

static int sql_open_lsm(const char *zDir, bench_store **pp){
  return sql_open(zDir, SQL_KIND_INDB, pp);
}
static int sql_open_lsm_dir(const char *zDir, bench_store **pp){
  return sql_open(zDir, SQL_KIND_DIR, pp);
}
static int sql_open_native(const char *zDir, bench_store **pp){
  return sql_open(zDir, SQL_KIND_NATIVE, pp);
}
static int sql_open_floor(const char *zDir, bench_store **pp){
  return sql_open(zDir, SQL_KIND_FLOOR, pp);
}

/* Step a statement that returns no row, then reset it. */
static int sql_run(bench_store *p, sqlite3_stmt *pStmt){
  int rc = sqlite3_step(pStmt);
  sqlite3_reset(pStmt);
  return rc == SQLITE_DONE ? 0 : sql_error(p->db, sqlite3_sql(pStmt));
}

static int sql_put(bench_store *p, const char *pKey, size_t nKey, const char *pVal, size_t nVal){
  sqlite3_stmt *pStmt = p->apStmt[SQL_PUT];
  sqlite3_bind_text(pStmt, 1, pKey, (int)nKey, SQLITE_STATIC);
  sqlite3_bind_blob(pStmt, 2, pVal, (int)nVal, SQLITE_STATIC);
  return sql_run(p, pStmt);
}

static int sql_delete(bench_store *p, const char *pKey, size_t nKey){
  sqlite3_stmt *pStmt = p->apStmt[SQL_DELETE];
  sqlite3_bind_text(pStmt, 1, pKey, (int)nKey, SQLITE_STATIC);
  return sql_run(p, pStmt);
}

static int sql_get(bench_store *p, const char *pKey, size_t nKey, int *pbFound,
                   const char **ppVal, size_t *pnVal){
  sqlite3_stmt *pStmt = p->apStmt[SQL_GET];
  int rc;
  sqlite3_bind_text(pStmt, 1, pKey, (int)nKey, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  *pbFound = 0;
  if( rc == SQLITE_ROW ){
    size_t n = (size_t)sqlite3_column_bytes(pStmt, 0);
    const void *pBlob = sqlite3_column_blob(pStmt, 0);
    *pbFound = 1;
    *pnVal = n;
    if( n > sizeof(p->aVal) ) n = sizeof(p->aVal);     /* the check reports the length */
    if( n ) memcpy(p->aVal, pBlob, n);
    *ppVal = p->aVal;
    rc = SQLITE_DONE;
  }
  sqlite3_reset(pStmt);
  return rc == SQLITE_DONE ? 0 : sql_error(p->db, "get");
}

static int sql_txn(bench_store *p, int bBegin){
  return sql_run(p, p->apStmt[bBegin ? SQL_BEGIN : SQL_COMMIT]);
}

static int sql_iter_open(bench_store *p, bench_iter **pp){
  p->iter.pStmt = 0;
  p->iter.rcStep = SQLITE_DONE;
  *pp = &p->iter;
  return 0;
}

/* The store that owns iterator p (it is embedded in it). */
static bench_store *sql_iter_store(bench_iter *p){
  return (bench_store*)((char*)p - offsetof(bench_store, iter));
}

static int sql_iter_step(bench_iter *p){
  p->rcStep = sqlite3_step(p->pStmt);
  if( p->rcStep == SQLITE_ROW || p->rcStep == SQLITE_DONE ) return 0;
  return sql_error(sql_iter_store(p)->db, sqlite3_sql(p->pStmt));
}

static int sql_iter_first(bench_iter *p){
  p->pStmt = sql_iter_store(p)->apStmt[SQL_SCAN];
  return sql_iter_step(p);
}

static int sql_iter_seek(bench_iter *p, const char *pKey, size_t nKey){
  p->pStmt = sql_iter_store(p)->apStmt[SQL_SEEK];
  sqlite3_bind_text(p->pStmt, 1, pKey, (int)nKey, SQLITE_STATIC);
  return sql_iter_step(p);
}

static int sql_iter_next(bench_iter *p){
  return sql_iter_step(p);
}

static int sql_iter_valid(bench_iter *p){
  return p->rcStep == SQLITE_ROW;
}

static void sql_iter_entry(bench_iter *p, const char **ppKey, size_t *pnKey,
                           const char **ppVal, size_t *pnVal){
  *ppKey = (const char*)sqlite3_column_text(p->pStmt, 0);
  *pnKey = (size_t)sqlite3_column_bytes(p->pStmt, 0);
  *ppVal = (const char*)sqlite3_column_blob(p->pStmt, 1);
  *pnVal = (size_t)sqlite3_column_bytes(p->pStmt, 1);
}

static void sql_iter_close(bench_iter *p){
  if( p->pStmt ) sqlite3_reset(p->pStmt);
  p->pStmt = 0;
}

/* The lsm table's levels (lsm_stats), e.g. "L0 3, L1 5, L2 45 SSTables;
** memtable 20003 entries; table cache 64 open, 1234 misses since the
** engine opened". */
static void sql_shape(bench_store *p, char *z, size_t nZ){
  sqlite3_stmt *pStmt = 0;
  z[0] = 0;
  if( !p->bLsm ) return;
  if( sqlite3_prepare_v2(p->db,
        "SELECT (SELECT group_concat('L' || json_extract(l.value, '$.level') || ' '"
        "                            || json_extract(l.value, '$.files'), ', ')"
        "        FROM json_each(s, '$.levels') AS l)"
        "       || ' SSTables; memtable ' || json_extract(s, '$.memtable.entries') || ' entries'"
        "       || '; table cache ' || json_extract(s, '$.table_cache.open_tables') || ' open, '"
        "       || json_extract(s, '$.table_cache.misses') || ' misses since the engine opened'"
        "  FROM (SELECT lsm_stats('kv') AS s)", -1, &pStmt, 0) == SQLITE_OK
   && sqlite3_step(pStmt) == SQLITE_ROW && sqlite3_column_text(pStmt, 0) ){
    snprintf(z, nZ, "%s", (const char*)sqlite3_column_text(pStmt, 0));
  }
  sqlite3_finalize(pStmt);
}

/* The in-database store's compaction count (lsm_stats), or -1. */
static sqlite3_int64 sql_compactions(bench_store *p){
  sqlite3_stmt *pStmt = 0;
  sqlite3_int64 n = -1;
  if( sqlite3_prepare_v2(p->db, "SELECT json_extract(lsm_stats('kv'), '$.writes.compactions')",
                         -1, &pStmt, 0) == SQLITE_OK
   && sqlite3_step(pStmt) == SQLITE_ROW ){
    n = sqlite3_column_int64(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  return n;
}

/* Commit one-row transactions until two in a row run no compaction (at
** most 100,000): the in-database store's pending work, done.  Two: a
** COMMIT after one that compacted deletes the replaced tables' rows
** instead of compacting (ext/dbstore.c, dbstore_work), so one COMMIT
** without a compaction does not mean none is due (stopping there left
** level 1 at 10 tables, over its target, for the settled reads). */
static int sql_work_until_idle(bench_store *p){
  sqlite3_int64 nBefore = sql_compactions(p), nAfter;
  int i, nIdle = 0;
  for(i = 0; i < 100000 && nIdle < 2; i++){
    if( sql_exec(p->db, "INSERT OR REPLACE INTO kv VALUES(x'00', NULL)") ) return 1;
    nAfter = sql_compactions(p);
    if( nAfter < 0 ) return sql_error(p->db, "lsm_stats");
    nIdle = nAfter == nBefore ? nIdle + 1 : 0;
    nBefore = nAfter;
  }
  return sql_exec(p->db, "DELETE FROM kv WHERE key = x'00'");
}

static int sql_settle(bench_store *p){
  if( p->bLsm && sql_exec(p->db, "SELECT lsm_flush('kv')") ) return 1;
  if( p->bInDb && sql_work_until_idle(p) ) return 1;
  if( sql_exec(p->db, "PRAGMA wal_checkpoint(TRUNCATE)") ) return 1;
  bench_wait_quiet(300, 600000);
  return 0;
}

const bench_engine bench_engine_sql_lsm = {
  "lsm", "sql", "in-database store: CREATE VIRTUAL TABLE kv USING lsm", 9,
  sql_open_lsm, sql_close, sql_put, sql_delete, sql_get, sql_txn,
  sql_iter_open, sql_iter_first, sql_iter_seek, sql_iter_next, sql_iter_valid,
  sql_iter_entry, sql_iter_close, sql_settle, 0, 0, 0, 0, sql_shape,
};

const bench_engine bench_engine_sql_lsm_dir = {
  "lsm-dir", "sql", "directory store: USING lsm('kv.lsm'), sync=normal", 9,
  sql_open_lsm_dir, sql_close, sql_put, sql_delete, sql_get, sql_txn,
  sql_iter_open, sql_iter_first, sql_iter_seek, sql_iter_next, sql_iter_valid,
  sql_iter_entry, sql_iter_close, sql_settle, 0, 0, 0, 0, sql_shape,
};

const bench_engine bench_engine_sql_native = {
  "sqlite", "sql", "native WITHOUT ROWID table", 9,
  sql_open_native, sql_close, sql_put, sql_delete, sql_get, sql_txn,
  sql_iter_open, sql_iter_first, sql_iter_seek, sql_iter_next, sql_iter_valid,
  sql_iter_entry, sql_iter_close, sql_settle, 0, 0, 0, 0, sql_shape,
};

const bench_engine bench_engine_sql_floor = {
  "vtab-floor", "sql", "a virtual table over an in-memory array: SQLite's virtual-table "
  "interface alone (not a target)", 9,
  sql_open_floor, sql_close, sql_put, sql_delete, sql_get, sql_txn,
  sql_iter_open, sql_iter_first, sql_iter_seek, sql_iter_next, sql_iter_valid,
  sql_iter_entry, sql_iter_close, sql_settle, 0, 0, 0, "sqlite", sql_shape,
};
