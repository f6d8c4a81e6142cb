/*
** commits.c — the database's record of which prepared batches of a
** directory store committed, so that a crash between SQLite's commit and
** the store's commit record loses neither half.
**
** Usage (what it makes true):
**
**     CREATE VIRTUAL TABLE kv USING lsm('kv.lsm');  -- also makes kv_commits
**     BEGIN;
**     INSERT INTO kv VALUES (1, 'one');
**     INSERT INTO nat VALUES (1, 'one');
**     COMMIT;     -- killed after SQLite committed, before the store's commit
**                 -- record: the next open replays kv's batch all the same
**
** The shadow table (reported by xShadowName):
**
**     <table>_commits(id INTEGER PRIMARY KEY)
**         one row per prepared batch (lsm_prepared_id) that a transaction
**         which also changed this database committed: written in xSync,
**         after the store logged the batch as prepared, inside SQLite's
**         transaction, so the row is there exactly when SQLite's commit is.
**
** The commit path (txn.c): xSync prepares the batch in the store, then,
** if this database is in a write transaction, inserts the batch's id here
** and deletes the ids below lsm_prepared_floor (the store will never ask
** about them).  xCommit appends the store's commit record.  If the process
** dies in between, the next lsm_open finds the batch prepared in the
** newest log with no commit record and asks commits_committed (an
** lsm_options.xPrepared callback), which looks for its id here.
**
** What it does not cover: a transaction that changed no native table of
** this database (nothing to be atomic with: the store alone decides, and
** a crash in the window drops the batch); one whose only change to the
** database is made by another table's xSync that SQLite calls after this
** one (an in-database lsm table joined the transaction later); a store
** shared by several table definitions, whose recovery looks in the
** table of the definition that opens it first; tables made before this
** file existed (no <table>_commits: the batch is dropped).
*/
#include "ext.h"

#include <stdarg.h>

/* Run zSql (printf-style, %w for names) with one optional int64 bound as
** ?1 (iBind used only if bBind); *pbRow: a row came back (may be NULL). */
static int commits_exec(sqlite3 *db, int bBind, sqlite3_int64 iBind, int *pbRow,
                        const char *zFmt, ...){
  va_list ap;
  char *zSql;
  sqlite3_stmt *pStmt = 0;
  int rc;
  va_start(ap, zFmt);
  zSql = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  if( zSql == 0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if( rc == SQLITE_OK ){
    if( bBind ) sqlite3_bind_int64(pStmt, 1, iBind);
    rc = sqlite3_step(pStmt);
    if( pbRow ) *pbRow = rc == SQLITE_ROW;
    if( rc == SQLITE_ROW || rc == SQLITE_DONE ) rc = SQLITE_OK;
  }
  sqlite3_finalize(pStmt);
  return rc;
}

int commits_is_shadow_name(const char *zSuffix){
  return sqlite3_stricmp(zSuffix, "commits") == 0;
}

int commits_create(sqlite3 *db, const char *zDb, const char *zTable){
  return commits_exec(db, 0, 0, 0,
      "CREATE TABLE \"%w\".\"%w_commits\"(id INTEGER PRIMARY KEY)", zDb, zTable);
}

int commits_exists(sqlite3 *db, const char *zDb, const char *zTable, int *pbExists){
  return commits_exec(db, 0, 0, pbExists,
      "SELECT 1 FROM \"%w\".sqlite_schema WHERE type = 'table' AND name = '%q_commits'",
      zDb, zTable);
}

int commits_record(vtab_table *pTab, uint64_t iId, uint64_t iForget){
  int rc;
  if( !pTab->bCommits || iId == 0 ) return SQLITE_OK;
  /* Only a transaction that changes the database has a half to lose. */
  if( sqlite3_txn_state(pTab->db, pTab->zDb) != SQLITE_TXN_WRITE ) return SQLITE_OK;
  rc = commits_exec(pTab->db, 1, (sqlite3_int64)iForget, 0,
      "DELETE FROM \"%w\".\"%w_commits\" WHERE id < ?1", pTab->zDb, pTab->zName);
  if( rc == SQLITE_OK ){
    rc = commits_exec(pTab->db, 1, (sqlite3_int64)iId, 0,
        "INSERT OR REPLACE INTO \"%w\".\"%w_commits\"(id) VALUES (?1)", pTab->zDb, pTab->zName);
  }
  return rc;
}

int commits_forget(vtab_table *pTab, uint64_t iId){
  if( !pTab->bCommits || iId == 0 ) return SQLITE_OK;
  if( sqlite3_txn_state(pTab->db, pTab->zDb) != SQLITE_TXN_WRITE ) return SQLITE_OK;
  return commits_exec(pTab->db, 1, (sqlite3_int64)iId, 0,
      "DELETE FROM \"%w\".\"%w_commits\" WHERE id = ?1", pTab->zDb, pTab->zName);
}

int commits_committed(void *pCtx, uint64_t iPrepareId, int *pbCommitted){
  vtab_table *pTab = pCtx;
  int rc = commits_exec(pTab->db, 1, (sqlite3_int64)iPrepareId, pbCommitted,
      "SELECT 1 FROM \"%w\".\"%w_commits\" WHERE id = ?1", pTab->zDb, pTab->zName);
  if( rc != SQLITE_OK ){
    return lsm_env_error(rc & 0xff, "%s.%s_commits: %s", pTab->zDb, pTab->zName,
                         sqlite3_errmsg(pTab->db));
  }
  return LSM_OK;
}

int commits_drop(sqlite3 *db, const char *zDb, const char *zTable){
  return commits_exec(db, 0, 0, 0, "DROP TABLE IF EXISTS \"%w\".\"%w_commits\"", zDb, zTable);
}

int commits_rename(sqlite3 *db, const char *zDb, const char *zOld, const char *zNew){
  int bExists = 0;
  int rc = commits_exists(db, zDb, zOld, &bExists);
  if( rc == SQLITE_OK && bExists ){
    rc = commits_exec(db, 0, 0, 0, "ALTER TABLE \"%w\".\"%w_commits\" RENAME TO \"%w_commits\"",
                      zDb, zOld, zNew);
  }
  return rc;
}
