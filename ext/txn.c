/*
** txn.c — SQLite transactions and savepoints mapped onto engine batches.
**
** Usage (what it makes true):
**
**     BEGIN;
**     INSERT INTO kv VALUES ('a', 1);
**     SELECT value FROM kv WHERE key = 'a';   -- 1: a transaction reads its writes
**     SAVEPOINT s;
**     DELETE FROM kv WHERE key = 'a';
**     ROLLBACK TO s;                          -- 'a' is back
**     COMMIT;                                 -- atomic, once SQLite commits
**
** How it works
** ------------
** Every lsm table of a connection buffers its writes in a private
** lsm_batch (vtab_table.pTxn); nothing reaches the engine before COMMIT,
** so no engine lock is held between statements and other connections see
** either none or all of a transaction.  Cursors read the committed state
** with the first n operations of the batch laid over it, n fixed when the
** cursor starts (see vtab.c), which is how a statement reads one snapshot
** even while it writes to the table it reads.
**
**     xBegin          the batch is empty; no savepoint is open
**     xSync           directory store: lsm_prepare(batch) logs it as a
**                     prepared batch, durable per sync=, but applies
**                     nothing (vtab_batch.pPrepared), and commits_record notes its
**                     id in <table>_commits.  A failure here (disk full)
**                     makes SQLite roll back every table and the database
**                     file too.  In-database store: dbstore_sync logs it
**                     as a row of SQLite's own transaction
**     xCommit         SQLite has committed: lsm_commit_prepared appends a
**                     small commit record and applies the batch, which
**                     becomes visible to every connection only now;
**                     clear the batch
**     xRollback       lsm_abort_prepared (recovery drops a prepared batch
**                     that no commit record names); clear the batch
**     xSavepoint(i)   aMark[i] = operations so far (and for any lower i not
**                     yet recorded: savepoints opened before this table
**                     joined the transaction, whose writes came after them)
**     xRelease(i)     forget savepoints i and above
**     xRollbackTo(i)  truncate the batch to aMark[i]; savepoint i stays
**                     open.  i == -1 means the savepoint that opened the
**                     transaction (SAVEPOINT outside BEGIN): truncate to 0
**
** What SQLite 3.40 calls, observed with a tracing module (see the commit
** that added this file): in autocommit mode every writing statement is
** xBegin .. xSync, xCommit, or xRollback when it fails; inside BEGIN, a
** statement that may write several rows (INSERT .. SELECT, multi-row
** VALUES, UPDATE, DELETE) is wrapped in xSavepoint(n) .. xRelease(n), with
** xRollbackTo(n) first when it fails.  A single-row INSERT gets no
** statement savepoint, which is safe because xUpdate undoes its own
** partial operations (UPDATE of a key is a delete and a put) on error.
** So a failed statement never leaves a partial effect.
**
** A schema change inside a transaction (any ALTER TABLE) makes SQLite
** connect every virtual table again while the old instance stays in the
** transaction: an in-database table's new instance shares the old one's
** batch (vtab_batch.nTables) and store, so both read the transaction's
** writes and the batch is logged once (vtab_open_store, dbstore_sync).
** A directory store's new instance shares the batch too (the engine is
** shared anyway, registry.c): the first xSync prepares it, the second
** finds it prepared as it stands, the first xCommit commits it.
** A DROP TABLE of an in-database table holding the transaction's writes
** keeps its instance, which hears the transaction's savepoints and end
** through lsm_pending (deferred.c): a ROLLBACK TO a savepoint before the
** DROP brings the table back, and its next instance shares that batch.
** A DROP TABLE of a directory store after a schema change leaves the
** instance SQLite keeps in the transaction without its engine reference
** (bEngineTaken, registry_release_table), so that the store can go when
** SQLite commits: its xSync logs nothing while the DROP waits, and takes
** a reference again if a ROLLBACK TO has undone the DROP.
**
** A cursor of another statement may still be reading the batch when the
** transaction ends (a SELECT stepped across COMMIT).  The batch is then
** left to that cursor (vtab_batch.nRef) and the table takes a new one.
** Truncation by ROLLBACK TO is safe under open cursors: the engine keeps a
** cursor's view of the operations it was opened with (lsm/batch.h,
** invariant 2).
**
** So every way SQLite can fail a COMMIT after xSync (SQLITE_BUSY from a
** reader in rollback-journal mode, a commit hook's veto, another table's
** xSync failing, an I/O error on the database file) leaves nothing in a
** directory store, and other connections of the process, which share its
** engine, never see a transaction before SQLite's commit has succeeded.
** SQLITE_BUSY at COMMIT leaves the transaction open: the retried COMMIT
** calls xSync again, which aborts the first prepared batch (the batch may
** have grown since; its id leaves <table>_commits) and prepares it anew,
** so it commits once.  xSync
** takes no engine lock that outlives it: a prepared batch waits for its
** xCommit outside the engine's write queue, so other connections' commits
** go on meanwhile and this one is ordered after them.
**
** Crash atomicity of a directory store with the database file: a crash
** before SQLite's commit leaves neither half (the journal rolls the
** database back; recovery drops the prepared-only batch), a crash after
** xCommit appended the commit record leaves both.  For the window in
** between, xSync also writes the prepared batch's id into the table's
** <table>_commits (commits.c) when the transaction changes the database
** anyway; the row commits with SQLite, and the store's recovery replays
** a prepared-only batch whose id the row records (lsm_options.xPrepared).
** A transaction that changes no native table has no database half: a
** crash in the window drops its batch, the same as if it had not
** committed (commits.c lists the other limits).
*/
#include "ext.h"

#include <assert.h>
#include <string.h>

/* ---- batch holders ---- */

vtab_batch *txn_batch_new(int *pRc){
  vtab_batch *p;
  if( *pRc != SQLITE_OK ) return 0;
  p = sqlite3_malloc(sizeof(*p));
  if( p == 0 ){
    *pRc = SQLITE_NOMEM;
    return 0;
  }
  memset(p, 0, sizeof(*p));
  p->nRef = 1;
  p->nTables = 1;
  *pRc = lsm_batch_new_env(0, &p->pBatch);
  if( *pRc != LSM_OK ){
    sqlite3_free(p);
    return 0;
  }
  return p;
}

void txn_batch_unref(vtab_batch *p){
  if( p && --p->nRef == 0 ){
    assert( p->pPrepared == 0 );   /* aborted by the last table (vtab_table_free) */
    lsm_batch_free(p->pBatch);
    sqlite3_free(p);
  }
}

/* End the transaction: empty the table's batch, or give the table a new
** one when a cursor still reads the old one. */
static void txn_reset(vtab_table *pTab){
  pTab->nMark = 0;
  pTab->pTxn->bInTxn = 0;
  /* Shared by table instances (vtab_open_store): each must see it empty
  ** now.  If cursors read it too, it is left to them and every instance
  ** moves to one new batch, as a lone table does below: a cursor's lookups
  ** read the first n operations of the batch at each step, and must not
  ** meet the next transaction's. */
  if( pTab->pTxn->nTables > 1 ){
    if( pTab->pTxn->nRef > pTab->pTxn->nTables ){
      int rc = SQLITE_OK;
      vtab_batch *pNew = txn_batch_new(&rc);
      if( pNew ){
        pNew->nRef = pNew->nTables = 0;
        registry_move_batch(pTab->pTxn, pNew);
        return;
      }
    }
    lsm_batch_clear(pTab->pTxn->pBatch);
    return;
  }
  if( pTab->pTxn->nRef > 1 ){
    int rc = SQLITE_OK;
    vtab_batch *pNew = txn_batch_new(&rc);
    if( pNew ){
      pTab->pTxn->nTables--;
      txn_batch_unref(pTab->pTxn);
      pTab->pTxn = pNew;
      return;
    }
    /* Out of memory: clearing in place is still safe for the engine
    ** (open cursors keep their own view, lsm/batch.h). */
  }
  lsm_batch_clear(pTab->pTxn->pBatch);
}

static void txn_set_error(vtab_table *pTab, int rc){
  const char *z = lsm_errmsg(pTab->pLsm);
  sqlite3_free(pTab->base.zErrMsg);
  pTab->base.zErrMsg = sqlite3_mprintf("%s", (z && z[0]) ? z : lsm_errstr(rc));
}

/* ---- the sqlite3_module methods, in module order ---- */

int txn_begin(sqlite3_vtab *pVtab){
  vtab_table *pTab = (vtab_table*)pVtab;
  pTab->nMark = 0;
  /* A table connected again in the middle of a transaction joins it with
  ** the batch it shares (vtab_open_store): it holds the transaction's
  ** writes so far. */
  if( pTab->pTxn->nTables > 1
   && (pTab->pStore ? dbstore_in_write(pTab->pStore) : pTab->pTxn->bInTxn) ){
    return SQLITE_OK;
  }
  txn_abort_prepared(pTab);
  if( pTab->pStore ) dbstore_begin(pTab->pStore);
  /* A batch left by a statement that failed before any xSync/xRollback
  ** (none is known) would otherwise leak into this transaction. */
  if( lsm_batch_count(pTab->pTxn->pBatch) ) txn_reset(pTab);
  pTab->pTxn->bInTxn = 1;
  return SQLITE_OK;
}

void txn_abort_prepared(vtab_table *pTab){
  vtab_batch *p = pTab->pTxn;
  if( p && p->pPrepared ){
    lsm_abort_prepared(p->pPrepared);
    p->pPrepared = 0;
  }
}

/* xSync writes rows of its own on the user's connection (the log row, a
** flush's or compaction's SSTables, the _commits record): the
** connection's last_insert_rowid() must stay the user's. */
static int txn_sync_rows(vtab_table *pTab);

int txn_sync(sqlite3_vtab *pVtab){
  vtab_table *pTab = (vtab_table*)pVtab;
  sqlite3_int64 iLastRowid = sqlite3_last_insert_rowid(pTab->db);
  int rc = txn_sync_rows(pTab);
  sqlite3_set_last_insert_rowid(pTab->db, iLastRowid);
  return rc;
}

static int txn_sync_rows(vtab_table *pTab){
  int rc = SQLITE_OK;
  if( pTab->bCreateUndone ){
    /* A ROLLBACK TO undid its CREATE (deferred.c): nothing of it stays. */
    lsm_batch_truncate(pTab->pTxn->pBatch, 0);
    return SQLITE_OK;
  }
  if( pTab->bCreatedInTxn && pTab->iCreatedAt == 0 && lsm_batch_count(pTab->pTxn->pBatch) > 0 ){
    /* SQLite adds a table it creates to the transaction without telling it
    ** of the savepoints already open, so a ROLLBACK TO one of them undoes
    ** the CREATE unheard: its writes must then go nowhere (they would
    ** fail the COMMIT, writing into shadow tables that are gone). */
    sqlite3_stmt *pStmt = 0;
    char *zSql = sqlite3_mprintf("SELECT 1 FROM \"%w\".sqlite_schema WHERE type = 'table'"
                                 " AND name = %Q", pTab->zDb, pTab->zName);
    int bExists = 1;
    rc = zSql ? sqlite3_prepare_v2(pTab->db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
    sqlite3_free(zSql);
    if( rc == SQLITE_OK ){
      int rcStep = sqlite3_step(pStmt);
      bExists = rcStep == SQLITE_ROW;
      if( rcStep != SQLITE_ROW && rcStep != SQLITE_DONE ) rc = rcStep;
    }
    sqlite3_finalize(pStmt);
    if( rc != SQLITE_OK ) return rc;
    if( !bExists ){
      lsm_batch_truncate(pTab->pTxn->pBatch, 0);
      return SQLITE_OK;
    }
  }
  if( pTab->pStore ){
    /* Logged inside SQLite's transaction; applied at xCommit. */
    if( lsm_batch_count(pTab->pTxn->pBatch) == 0 ) return SQLITE_OK;
    rc = vtab_ready(pTab);
    if( rc == SQLITE_OK ){
      rc = dbstore_sync(pTab->pStore, pTab->pTxn->pBatch);
      pTab->pLsm = dbstore_engine(pTab->pStore);
      if( rc != SQLITE_OK ) txn_set_error(pTab, rc);
    }
    return rc;
  }
  {
    vtab_batch *pB = pTab->pTxn;
    size_t nOps = lsm_batch_count(pB->pBatch);
    if( pTab->pLsm == 0 && pTab->bEngineTaken ){
      /* An earlier instance of a table dropped in this transaction (the
      ** DROP took its engine reference: registry_release_table).  While
      ** the DROP waits, the writes go with the table; once a ROLLBACK TO
      ** has undone it, the table is back and they commit. */
      char *zErr = 0;
      if( deferred_drop_waiting(pTab->zDir) ){
        /* What a COMMIT that failed with SQLITE_BUSY before the DROP
        ** prepared must not reach a store the DROP will remove. */
        txn_abort_prepared(pTab);
        return SQLITE_OK;
      }
      rc = registry_open(pTab->zDir, &pTab->opt, 0, &pTab->pLsm, &zErr);
      if( rc != SQLITE_OK ){
        sqlite3_free(pTab->base.zErrMsg);
        pTab->base.zErrMsg = zErr;
        return rc;
      }
      pTab->bEngineTaken = 0;
    }
    /* Prepared as it stands: by another table sharing the batch (one
    ** connected again after a schema change) in this same COMMIT, or by a
    ** COMMIT that failed with SQLITE_BUSY, with nothing written and no
    ** ROLLBACK TO since (the transaction is still open: the record of
    ** commits written with it is still in it).  It commits once. */
    if( pB->pPrepared && pB->nPreparedOps == nOps && pB->iPreparedStamp == pB->iStamp ){
      return SQLITE_OK;
    }
    /* Else the batch has changed since a COMMIT that failed with
    ** SQLITE_BUSY prepared it: prepare anew, and take the old batch's id
    ** out of the record of commits. */
    if( pB->pPrepared ){
      uint64_t iOld = lsm_prepared_id(pB->pPrepared);
      txn_abort_prepared(pTab);
      rc = commits_forget(pTab, iOld);
    }
    if( rc == SQLITE_OK && nOps > 0 ){
      rc = lsm_prepare(pTab->pLsm, pB->pBatch, &pB->pPrepared);
      if( rc != LSM_OK ){
        txn_set_error(pTab, rc);
        return rc;
      }
      pB->nPreparedOps = nOps;
      pB->iPreparedStamp = pB->iStamp;
      /* In the same SQLite transaction: the batch committed iff it did. */
      rc = commits_record(pTab, lsm_prepared_id(pB->pPrepared), lsm_prepared_floor(pTab->pLsm));
    }
  }
  if( rc != SQLITE_OK ){
    txn_abort_prepared(pTab);
    sqlite3_free(pTab->base.zErrMsg);
    pTab->base.zErrMsg = sqlite3_mprintf("%s_commits: %s", pTab->zName, sqlite3_errmsg(pTab->db));
  }
  return rc;
}

void txn_rename_clear(vtab_table *pTab){
  int i;
  for(i = 0; i < pTab->nRename; i++) sqlite3_free(pTab->azRenamedFrom[i]);
  sqlite3_free(pTab->azRenamedFrom);
  sqlite3_free(pTab->aiRenameMark);
  pTab->azRenamedFrom = 0;
  pTab->aiRenameMark = 0;
  pTab->nRename = 0;
}

int txn_rename_remember(vtab_table *pTab, char *zOld){
  int n = pTab->nRename + 1;
  char **az = sqlite3_realloc64(pTab->azRenamedFrom, sizeof(char*) * (size_t)n);
  int *ai;
  if( az ) pTab->azRenamedFrom = az;
  ai = az ? sqlite3_realloc64(pTab->aiRenameMark, sizeof(int) * (size_t)n) : 0;
  if( ai == 0 ){
    sqlite3_free(zOld);
    return SQLITE_NOMEM;
  }
  pTab->aiRenameMark = ai;
  az[pTab->nRename] = zOld;
  ai[pTab->nRename] = pTab->nMark;
  pTab->nRename = n;
  return SQLITE_OK;
}

/* A ROLLBACK TO savepoint iSavepoint (-1: the whole transaction) undid
** the renames made after that savepoint opened: take the name back. */
static void txn_rename_undo(vtab_table *pTab, int iSavepoint){
  char *zBack = 0;
  while( pTab->nRename > 0 && pTab->aiRenameMark[pTab->nRename - 1] > iSavepoint ){
    pTab->nRename--;
    sqlite3_free(zBack);
    zBack = pTab->azRenamedFrom[pTab->nRename];
  }
  if( zBack ){
    sqlite3_free(pTab->zName);
    pTab->zName = zBack;
  }
  if( pTab->nRename == 0 ) txn_rename_clear(pTab);
}

int txn_commit(sqlite3_vtab *pVtab){
  vtab_table *pTab = (vtab_table*)pVtab;
  pTab->bCreatedInTxn = 0;
  txn_rename_clear(pTab);
  if( pTab->pStore ) dbstore_commit(pTab->pStore, pTab->pTxn->pBatch);
  if( pTab->pTxn->pPrepared ){
    /* SQLite has committed and ignores what xCommit returns: a failure
    ** can only be logged.  The engine applies the batch even when the
    ** commit record cannot be written (lsm.h), so this is rare.  A table
    ** sharing the batch finds it committed. */
    int rc = lsm_commit_prepared(pTab->pTxn->pPrepared);
    pTab->pTxn->pPrepared = 0;
    if( rc != LSM_OK ){
      const char *z = lsm_errmsg(pTab->pLsm);
      sqlite3_log(rc, "lsm: COMMIT of table %s: %s", pTab->zName,
                  (z && z[0]) ? z : lsm_errstr(rc));
    }
  }
  txn_reset(pTab);
  return SQLITE_OK;
}

int txn_rollback(sqlite3_vtab *pVtab){
  vtab_table *pTab = (vtab_table*)pVtab;
  pTab->bCreatedInTxn = 0;
  txn_rename_undo(pTab, -1);
  if( pTab->pStore ) dbstore_rollback(pTab->pStore);
  txn_abort_prepared(pTab);
  txn_reset(pTab);
  return SQLITE_OK;
}

int txn_savepoint(sqlite3_vtab *pVtab, int iSavepoint){
  vtab_table *pTab = (vtab_table*)pVtab;
  size_t nOp;
  int i;
  /* A table being destroyed (vtab_destroy runs SQL after letting its batch
  ** go) still hears of that SQL's savepoints. */
  if( iSavepoint < 0 || pTab->pTxn == 0 ) return SQLITE_OK;
  nOp = lsm_batch_count(pTab->pTxn->pBatch);
  if( pTab->pStore ) dbstore_savepoint(pTab->pStore, iSavepoint);
  if( iSavepoint >= pTab->nMarkAlloc ){
    int nNew = iSavepoint + 8;
    size_t *aNew = sqlite3_realloc64(pTab->aMark, sizeof(size_t) * (size_t)nNew);
    if( aNew == 0 ) return SQLITE_NOMEM;
    pTab->aMark = aNew;
    pTab->nMarkAlloc = nNew;
  }
  for(i = pTab->nMark; i < iSavepoint; i++) pTab->aMark[i] = nOp;
  pTab->aMark[iSavepoint] = nOp;
  pTab->nMark = iSavepoint + 1;
  return SQLITE_OK;
}

int txn_release(sqlite3_vtab *pVtab, int iSavepoint){
  vtab_table *pTab = (vtab_table*)pVtab;
  if( pTab->pTxn == 0 ) return SQLITE_OK;             /* being destroyed */
  if( pTab->pStore ) dbstore_release(pTab->pStore, iSavepoint);
  if( iSavepoint < 0 ) iSavepoint = 0;
  if( iSavepoint < pTab->nMark ) pTab->nMark = iSavepoint;
  {
    /* A rename inside the savepoints released now belongs to the one
    ** around them: a savepoint opened later at the same index is after it. */
    int i;
    for(i = 0; i < pTab->nRename; i++){
      if( pTab->aiRenameMark[i] > pTab->nMark ) pTab->aiRenameMark[i] = pTab->nMark;
    }
  }
  return SQLITE_OK;
}

int txn_rollback_to(sqlite3_vtab *pVtab, int iSavepoint){
  vtab_table *pTab = (vtab_table*)pVtab;
  if( pTab->pTxn == 0 ) return SQLITE_OK;             /* being destroyed */
  pTab->pTxn->iStamp++;      /* what an xSync prepared may be undone (txn_sync) */
  if( pTab->pStore ) dbstore_rollback_to(pTab->pStore, iSavepoint);
  txn_rename_undo(pTab, iSavepoint < 0 ? -1 : iSavepoint);
  if( iSavepoint < 0 ){
    lsm_batch_truncate(pTab->pTxn->pBatch, 0);
    pTab->nMark = 0;
  }else if( iSavepoint < pTab->nMark ){
    lsm_batch_truncate(pTab->pTxn->pBatch, pTab->aMark[iSavepoint]);
    pTab->nMark = iSavepoint + 1;
  }
  return SQLITE_OK;
}
