/*
** vtab.c — the virtual-table module "lsm": tables, cursors and writes.
**
** Usage:
**
**     .load ./lsm
**     CREATE VIRTUAL TABLE kv USING lsm;                  -- kv(key, value)
**     INSERT INTO kv VALUES ('apple', 'red'), (1, x'00');  -- puts
**     SELECT value FROM kv WHERE key = 'apple';           -- point get
**     SELECT * FROM kv WHERE key >= 'a' ORDER BY key DESC; -- reverse range scan
**     UPDATE kv SET key = 'pear' WHERE key = 'apple';     -- delete + put
**     DELETE FROM kv WHERE key = 1;                       -- tombstone
**     DROP TABLE kv;                                      -- removes the store at commit
**
** A table is declared to SQLite as CREATE TABLE x(key PRIMARY KEY NOT
** NULL, value, ..., _rowid_ HIDDEN) WITHOUT ROWID (args.c writes the
** declaration), so xUpdate receives the key itself in argv[0] (old) and
** argv[2] (new).
**
** The hidden column _rowid_.  A WITHOUT ROWID table has no rowid, and
** tools that address rows by it (DB Browser for SQLite reads
** SELECT "_rowid_",* FROM kv and writes UPDATE kv SET c=? WHERE
** "_rowid_"=?) would otherwise get SQLite's fallback for an unknown
** double-quoted name, the string '_rowid_', and a WHERE that matches every
** row.  So every table has a hidden column _rowid_ that reads as the key
** and that plan.c treats as the key (a point get, bounds, ORDER BY); it is
** not part of SELECT *, and writing it apart from the key is refused
** (vtab_check_rowid).  A table with a column of its own named _rowid_ has
** no hidden one.
** Keys are stored as keycodec.c encodings, whose byte order is SQLite's
** order of the values; the value columns (and the key as written: 1.0
** stays REAL) are one record.c record.
**
** Writes.  Every write goes into the table's transaction batch (txn.c);
** SQLite wraps even an autocommit statement in xBegin .. xSync/xCommit, so
** a statement reaches the engine as one atomic lsm_write.
**     INSERT                    put, without reading (a blind write)
**     INSERT OR IGNORE          get, then put only if the key is absent
**     INSERT OR REPLACE, REPLACE put
**     UPDATE of value columns   put
**     UPDATE of the key         delete the old key, put the new one
**     DELETE                    delete (a tombstone)
** SQLite does not tell a virtual table INSERT from INSERT OR ABORT, FAIL or
** ROLLBACK: all of them put (blind writes, with no read first, are the point of an LSM tree).  A NULL key
** is a constraint error; INSERT OR IGNORE skips it, as a native table
** does (xUpdate returns SQLITE_CONSTRAINT and SQLite, told of the conflict
** mode by SQLITE_VTAB_CONSTRAINT_SUPPORT, skips the row without counting
** it in changes()).  An xUpdate that fails undoes its own partial
** operations.  A table opened with readonly=on, or of a database opened
** read-only (whose stores vtab_connect opens read-only too), refuses
** every write here.
**
** DROP TABLE removes the store (registry_destroy): only the files the
** store made, then the directory if it is empty, and only once SQLite has
** committed the DROP (deferred.c); ALTER TABLE RENAME moves nothing.  Two
** tables of one
** connection that name the same directory share one engine but not a
** transaction: each has its own batch and commits it in its own xSync.
**
** Cursors.  xFilter decodes the plan (plan.c) and reads one fixed view for
** the cursor's life: the committed state (an engine cursor pins its
** version; a multi-get pins a snapshot) with the first n operations of the
** transaction batch over it, n taken at xFilter.  So a statement that
** writes the table it reads (UPDATE kv SET value = value || 'x', INSERT
** INTO kv SELECT key + 1000000, value FROM kv) never sees its own writes
** and terminates.
**
** (What each idxNum/idxStr means, and why the costs are what they are, is
** drawn in plan.c's header.)
**
**     PLAN_SCAN   lsm_cursor with bounds; first/next, or last/prev for DESC
**     PLAN_KEYS   one lsm_get per key of a sorted list, skipping absent keys
**     PLAN_EMPTY  nothing
** OFFSET rows are skipped in xFilter; LIMIT counts rows down in xNext.
**
** Lifetimes.  The vtab_table owns its strings and a reference to the
** shared lsm_db (registry.c) and to its batch holder; a cursor owns its
** engine cursor or snapshot, the value of its last lsm_get, and a
** reference to the batch holder it reads.  Borrowed key/value pointers of
** an engine cursor are read at the row's first xColumn and kept until the
** cursor moves (vtab_cursor.bRow), never across a move.
**
** Per-row cost.  A row read or written allocates nothing: xUpdate encodes
** into three buffers the table keeps (key, old key, record), the cursor
** keeps its plan's buffers (plan_spec_reset) and a text buffer for the
** key, and xClose parks one reset cursor on the table for the next xOpen,
** so a prepared statement run again and again (a point get, a LIMIT 10
** seek) reuses it.  Buffers over VTAB_KEEP_BYTES are freed after use.
** The parked cursor closes its engine cursor: the engine keeps the last
** closed one itself, parked (no pinned block, no long copy, no replaced
** SSTable: lsm_cursor_close), and the next lsm_cursor_open refreshes it,
** building no iterators while the store's tables are unchanged.  A
** cursor filtered again without closing (the inner loop of a join)
** refreshes its own engine cursor (lsm_cursor_refresh).  A table in the
** database file drops its engine cursor before every filter too: its
** engine may be reopened by dbstore_catch_up.
** The engine is asked for a row's key and record once; the key column is
** one keycodec_parse, each value column asked for one record_column.
*/
#include "ext.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Scratch buffers up to this size are kept between rows and statements
** (any ordinary key or row); a larger one is freed after use. */
#define VTAB_KEEP_BYTES 4096

/* The data block size of a table in the database file unless block_kb=
** says otherwise (the engine's default is 4096): measured in README,
** Benchmarks, "Block size of a table in the database file". */
#define VTAB_INDB_BLOCK_BYTES 2048

/* The memtable of a table in the database file unless memtable_mb= says
** otherwise (the engine's default is 4 MiB).  The engine sizes level 1
** (2.5 memtables) and its output tables (half a memtable) from it, and
** every byte the in-database store writes is written twice by SQLite
** (WAL, then checkpoint), so a tree one level shallower pays twice over:
** 1M random puts through SQL (tests/prof_write.c) left levels 1-3 with
** 4 MiB and compacted 3.74x the user bytes, levels 1-2 and 1.19x with
** 16 MiB (overwrite: 6.24x and 1.92x).  The price: each connection's
** memtable holds up to this much of the log, a reopened engine replays
** that much, and the COMMIT that flushes writes a 16 MiB memtable (README,
** "In-database writes: a 16 MiB memtable"). */
#define VTAB_INDB_MEMTABLE_BYTES ((uint64_t)16 << 20)

struct vtab_cursor {
  sqlite3_vtab_cursor base;  /* base class: must be first */
  plan_spec spec;            /* what to read (plan.c) */
  int bEof;                  /* no current row */
  sqlite3_int64 nLeft;       /* rows still allowed by LIMIT, -1: no limit */
  sqlite3_int64 iRowid;      /* 1-based number of the current row */
  sqlite3_int64 iKeyKeptRow; /* UPDATE: the row (iRowid) whose key column came "no
                                change": the UPDATE keeps its key, so it moves no
                                row onto another, and its unset columns are read
                                here (vtab_column); 0: none */
  vtab_batch *pTxn;          /* batch read (a reference), or NULL */
  lsm_snapshot *pSnap;       /* PLAN_KEYS with several keys: one view for all */
  lsm_read read;             /* snapshot + batch prefix every read uses */
  lsm_cursor *pCsr;          /* PLAN_SCAN: the engine cursor */
  int iKey;                  /* PLAN_KEYS: index of the current key */
  void *pGot;                /* PLAN_KEYS: value of the current key (lsm_free) */
  size_t nGot;               /* its bytes */
  int bRow;                  /* pKey..nRec hold the current row (cleared by every move) */
  const uint8_t *pKey;       /* current encoded key (borrowed until the next move) */
  size_t nKey;               /* its bytes */
  const uint8_t *pRec;       /* current record (borrowed until the next move) */
  size_t nRec;               /* its bytes */
  ext_buf text;              /* a text key copied with a NUL after it, for xColumn */
};

/* ---- helpers ---- */

/* Put the engine's message for rc in the table's zErrMsg; returns rc. */
static int vtab_engine_error(vtab_table *pTab, int rc){
  const char *z = lsm_errmsg(pTab->pLsm);
  sqlite3_free(pTab->base.zErrMsg);
  pTab->base.zErrMsg = sqlite3_mprintf("%s", (z && z[0]) ? z : lsm_errstr(rc));
  return rc;
}

static int vtab_error(vtab_table *pTab, int rc, const char *zFmt, const char *zArg){
  sqlite3_free(pTab->base.zErrMsg);
  pTab->base.zErrMsg = sqlite3_mprintf(zFmt, zArg);
  return rc;
}

static int vtab_lost(vtab_table *pTab){
  if( pTab->zBroken ) return vtab_error(pTab, pTab->rcBroken, "%s", pTab->zBroken);
  return vtab_error(pTab, SQLITE_ERROR, "lsm table %s has lost its store", pTab->zName);
}

/* The directory args.c gives a table named zName with no path. */
static char *vtab_default_dir(vtab_table *pTab, const char *zName){
  const char *zFile = sqlite3_db_filename(pTab->db, pTab->zDb);
  if( zFile == 0 || zFile[0] == 0 ) return 0;
  return sqlite3_mprintf("%s-%s.lsm", zFile, zName);
}

/* Close the engine cursor a cursor keeps between plans, if any. */
static void vtab_cursor_drop_engine(vtab_cursor *pCsr){
  if( pCsr->pCsr ) lsm_cursor_close(pCsr->pCsr);
  pCsr->pCsr = 0;
}

/* Free a cursor that holds nothing of a plan (new, or reset). */
static void vtab_cursor_free(vtab_cursor *pCsr){
  vtab_cursor_drop_engine(pCsr);
  plan_spec_clear(&pCsr->spec);
  ext_buf_free(&pCsr->text);
  sqlite3_free(pCsr);
}

static void vtab_table_free(vtab_table *pTab){
  if( pTab == 0 ) return;
  deferred_forget_created(pTab);
  txn_rename_clear(pTab);
  /* The last table holding the batch: nothing will commit what it
  ** prepared.  (Another holder, sharing it after a schema change, will.) */
  if( pTab->pTxn && pTab->pTxn->nTables == 1 ) txn_abort_prepared(pTab);
  if( pTab->pTxn ) pTab->pTxn->nTables--;
  txn_batch_unref(pTab->pTxn);
  if( pTab->pSpare ) vtab_cursor_free(pTab->pSpare);
  pTab->pSpare = 0;
  if( pTab->pStore ){
    dbstore_close(pTab->pStore);     /* closes its engine */
  }else{
    registry_close(pTab->pLsm);
  }
  sqlite3_free(pTab->zDb);
  sqlite3_free(pTab->zDbPath);
  sqlite3_free(pTab->zBroken);
  sqlite3_free(pTab->zName);
  sqlite3_free(pTab->zKeyCol);
  sqlite3_free(pTab->zDir);
  sqlite3_free(pTab->zDirName);
  sqlite3_free(pTab->aMark);
  sqlite3_free(pTab->base.zErrMsg);
  ext_buf_free(&pTab->key);
  ext_buf_free(&pTab->oldKey);
  ext_buf_free(&pTab->rec);
  sqlite3_free(pTab);
}

/* Release everything the cursor holds for its current plan but its
** engine cursor (refreshed by the next PLAN_SCAN: vtab_filter); keep its
** small buffers for the next one. */
static void vtab_cursor_reset(vtab_cursor *pCsr){
  if( pCsr->pSnap ) lsm_snapshot_release(pCsr->pSnap);
  lsm_free(pCsr->pGot);
  txn_batch_unref(pCsr->pTxn);
  plan_spec_reset(&pCsr->spec);
  pCsr->pSnap = 0;
  pCsr->pGot = 0;
  pCsr->nGot = 0;
  pCsr->pTxn = 0;
  memset(&pCsr->read, 0, sizeof(pCsr->read));
  pCsr->bEof = 1;
  pCsr->bRow = 0;
  if( pCsr->text.nAlloc > VTAB_KEEP_BYTES ) ext_buf_free(&pCsr->text);
}

/* PLAN_KEYS: from key iKey on (in the cursor's direction), find the first
** key present and load its value; bEof when none is left. */
static int vtab_keys_settle(vtab_cursor *pCsr){
  vtab_table *pTab = (vtab_table*)pCsr->base.pVtab;
  plan_spec *pSpec = &pCsr->spec;
  int iStep = pSpec->bDesc ? -1 : 1;
  lsm_free(pCsr->pGot);
  pCsr->pGot = 0;
  while( pCsr->iKey >= 0 && pCsr->iKey < pSpec->nKey ){
    const struct plan_key *pKey = &pSpec->aKey[pCsr->iKey];
    int rc = lsm_get(pTab->pLsm, &pCsr->read, pSpec->keys.p + pKey->iOff, pKey->n,
                     &pCsr->pGot, &pCsr->nGot);
    if( rc == LSM_OK ) return SQLITE_OK;
    pCsr->pGot = 0;
    if( rc != LSM_NOTFOUND ) return vtab_engine_error(pTab, rc);
    pCsr->iKey += iStep;
  }
  pCsr->bEof = 1;
  return SQLITE_OK;
}

/* Move to the next row in plan order, ignoring LIMIT. */
static int vtab_step(vtab_cursor *pCsr){
  vtab_table *pTab = (vtab_table*)pCsr->base.pVtab;
  int rc = SQLITE_OK;
  pCsr->bRow = 0;
  switch( pCsr->spec.ePlan ){
    case PLAN_SCAN:
      rc = pCsr->spec.bDesc ? lsm_cursor_prev(pCsr->pCsr) : lsm_cursor_next(pCsr->pCsr);
      if( rc != LSM_OK ) return vtab_engine_error(pTab, rc);
      pCsr->bEof = !lsm_cursor_valid(pCsr->pCsr);
      break;
    case PLAN_KEYS:
      pCsr->iKey += pCsr->spec.bDesc ? -1 : 1;
      rc = vtab_keys_settle(pCsr);
      break;
    default:
      pCsr->bEof = 1;
      break;
  }
  if( !pCsr->bEof ) pCsr->iRowid++;
  return rc;
}

/* Load the current row's encoded key and record into pCsr->pKey..nRec,
** once per row: every xColumn of the row then reads them from there. */
static int vtab_current(vtab_cursor *pCsr){
  if( pCsr->bRow ) return SQLITE_OK;
  if( pCsr->spec.ePlan == PLAN_KEYS ){
    const struct plan_key *pKey = &pCsr->spec.aKey[pCsr->iKey];
    pCsr->pKey = pCsr->spec.keys.p + pKey->iOff;
    pCsr->nKey = pKey->n;
    pCsr->pRec = pCsr->pGot;
    pCsr->nRec = pCsr->nGot;
  }else{
    const void *pK = 0, *pV = 0;
    int rc = lsm_cursor_key(pCsr->pCsr, &pK, &pCsr->nKey);
    if( rc == LSM_OK ) rc = lsm_cursor_value(pCsr->pCsr, &pV, &pCsr->nRec);
    if( rc != LSM_OK ) return rc;
    pCsr->pKey = pK;
    pCsr->pRec = pV;
  }
  pCsr->bRow = 1;
  return SQLITE_OK;
}

/*
** Result of ctx = the current row's key.  A text key is handed to SQLite
** NUL-terminated with length -1, the one form in which SQLite marks the
** copy it makes as terminated: given a length, it copies into a buffer
** of that size and, when the caller then asks for the text
** (sqlite3_column_text), reallocates it to add the NUL, and shrinks it
** back to size in the next row's copy: two allocations per row.  Other
** keys (and text holding a NUL) go through record_key.  Measured with
** SQLite 3.40 (its sqlite3VdbeMemGrow reallocates whenever it keeps the
** bytes): the key's bytes handed over in place with their length, which
** saves this copy, memchr and SQLite's strlen, made a settled scan's row
** 3,085 instructions instead of 2,213 (realloc and free on every row;
** README, "Scanning rows: a lone sorted run").
*/
static int vtab_result_key(vtab_cursor *pCsr, sqlite3_context *ctx){
  /* A text key is its type byte then the text (keycodec.c): tested here
  ** without keycodec_parse, which a scan would call once per row. */
  if( pCsr->nKey >= 1 && pCsr->pKey[0] == KEYCODEC_TEXT
   && memchr(pCsr->pKey + 1, 0, pCsr->nKey - 1) == NULL ){
    const uint8_t *pText = pCsr->pKey + 1;
    size_t nText = pCsr->nKey - 1;
    ext_buf *pBuf = &pCsr->text;
    if( nText + 1 > pBuf->nAlloc ){
      pBuf->n = 0;
      if( ext_buf_reserve(pBuf, nText + 1) != SQLITE_OK ) return SQLITE_NOMEM;
    }
    memcpy(pBuf->p, pText, nText);
    pBuf->p[nText] = 0;
    sqlite3_result_text(ctx, (const char*)pBuf->p, -1, SQLITE_TRANSIENT);
    return SQLITE_OK;
  }
  return record_key(pCsr->pKey, pCsr->nKey, pCsr->pRec, pCsr->nRec, ctx);
}

/* Is the encoded key present to this table's writer (batch included)? */
static int vtab_key_exists(vtab_table *pTab, const ext_buf *pKey, int *pbExists){
  lsm_read read;
  void *pVal = 0;
  size_t nVal = 0;
  int rc = vtab_ready(pTab);
  if( rc != SQLITE_OK ) return rc;
  memset(&read, 0, sizeof(read));
  read.pBatch = pTab->pTxn->pBatch;
  read.nBatchOps = SIZE_MAX;
  rc = lsm_get(pTab->pLsm, &read, pKey->p, pKey->n, &pVal, &nVal);
  lsm_free(pVal);
  *pbExists = rc == LSM_OK;
  if( rc == LSM_NOTFOUND ) rc = LSM_OK;
  return rc;
}

static int vtab_encode_key(vtab_table *pTab, sqlite3_value *pKey, ext_buf *pOut){
  int rc = keycodec_encode(pKey, pOut);
  if( rc == SQLITE_CONSTRAINT ){
    sqlite3_free(pTab->base.zErrMsg);
    pTab->base.zErrMsg = sqlite3_mprintf("NOT NULL constraint failed: %s.%s",
                                         pTab->zName, pTab->zKeyCol);
    rc = SQLITE_CONSTRAINT_NOTNULL;
  }else if( rc == SQLITE_TOOBIG ){
    sqlite3_free(pTab->base.zErrMsg);
    pTab->base.zErrMsg = sqlite3_mprintf("key too large: %d bytes (the limit is %d)",
                                         sqlite3_value_bytes(pKey), EXT_MAX_KEY_BYTES);
  }
  return rc;
}

/* ---- shared with txn.c, functions.c, files.c ---- */

int vtab_ready(vtab_table *pTab){
  int rc;
  if( pTab->pStore == 0 ) return pTab->pLsm ? SQLITE_OK : vtab_lost(pTab);
  rc = dbstore_catch_up(pTab->pStore);
  pTab->pLsm = dbstore_engine(pTab->pStore);
  if( rc != SQLITE_OK ){
    const char *z = lsm_errmsg(0);
    sqlite3_free(pTab->base.zErrMsg);
    pTab->base.zErrMsg = sqlite3_mprintf("%s", (z && z[0]) ? z : lsm_errstr(rc));
  }
  return rc;
}

const char *vtab_store_kind(vtab_table *pTab){
  if( pTab->pStore ) return "database";
  return pTab->zDir ? "directory" : "memory";
}

const char *vtab_store_location(vtab_table *pTab){
  if( pTab->pStore ) return dbstore_location(pTab->pStore);
  return pTab->zDir ? pTab->zDir : ":memory:";
}

static int vtab_same_bytes(const ext_buf *a, const ext_buf *b){
  return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

/*
** The hidden column _rowid_ mirrors the key and cannot be written apart
** from it: its new value pRowid must be NULL (not given), the new key
** pKey, or (UPDATE) the old key pOldKey, i.e. left as it was.  Anything
** else is refused rather than half applied.
*/
static int vtab_check_rowid(vtab_table *pTab, sqlite3_value *pRowid, const ext_buf *pKey,
                            const ext_buf *pOldKey){
  ext_buf enc = {0};
  int rc;
  if( sqlite3_value_type(pRowid) == SQLITE_NULL ) return SQLITE_OK;
  rc = keycodec_encode(pRowid, &enc);
  if( rc == SQLITE_OK && !vtab_same_bytes(&enc, pKey)
   && !(pOldKey && vtab_same_bytes(&enc, pOldKey)) ){
    rc = SQLITE_CONSTRAINT;
  }
  ext_buf_free(&enc);
  if( rc == SQLITE_CONSTRAINT || rc == SQLITE_TOOBIG ){
    sqlite3_free(pTab->base.zErrMsg);
    pTab->base.zErrMsg = sqlite3_mprintf(
        "cannot set _rowid_ of lsm table %s: it is the key; set %s instead",
        pTab->zName, pTab->zKeyCol);
    rc = SQLITE_CONSTRAINT;
  }
  return rc;
}

/*
** The connection's busy timeout in ms (sqlite3_busy_timeout; 0 if none).
** SQLite has no call that reads it back, but PRAGMA busy_timeout does,
** and may be prepared while a table is being connected.
*/
static int vtab_busy_timeout(sqlite3 *db){
  sqlite3_stmt *pStmt = 0;
  int nMs = 0;
  if( sqlite3_prepare_v2(db, "PRAGMA busy_timeout", -1, &pStmt, 0) == SQLITE_OK
   && sqlite3_step(pStmt) == SQLITE_ROW ){
    nMs = sqlite3_column_int(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  return nMs;
}

/* ---- the sqlite3_module methods, in module order ---- */

/*
** Open the table's store.  Without a path it lives in the database
** (dbstore.c): xCreate makes its shadow tables; xConnect finds them, or,
** for a table made before the in-database store existed, opens the
** directory beside the database that such a table used.  A directory
** store is made only by xCreate: xConnect refuses a missing directory
** rather than start an empty store.
*/
static int vtab_open_store(vtab_table *pTab, ext_args *pArgs, int bCreate, char **pzErr){
  int rc = SQLITE_OK, bShadow = 0, bOwnerRefused = 0;
  if( pArgs->bInDb && !bCreate ){
    rc = dbstore_exists(pTab->db, pTab->zDb, pTab->zName, &bShadow);
    if( rc != SQLITE_OK ){
      /* Without a message SQLite says only "vtable constructor failed". */
      *pzErr = sqlite3_mprintf("lsm table %s: %s while reading the schema for its store%s",
                               pTab->zName, sqlite3_errstr(rc),
                               (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED
                               ? " (another connection holds a lock: retry, or set a"
                                 " busy_timeout)" : "");
      return rc;
    }
    if( !bShadow ){
      if( pTab->zDir == 0 ){
        *pzErr = sqlite3_mprintf("lsm table %s has lost its store: no table %s_file",
                                 pTab->zName, pTab->zName);
        return SQLITE_CORRUPT;
      }
      /* A table of the previous default: its directory, named after the
      ** table, or after the name it had before a RENAME (deferred.c). */
      pArgs->bInDb = 0;
      rc = deferred_legacy_dir(pTab->db, pTab->zDb, pTab->zName, &pTab->zDirName);
      if( rc == SQLITE_OK && pTab->zDirName ){
        char *zDir = vtab_default_dir(pTab, pTab->zDirName);
        if( zDir == 0 ) return SQLITE_NOMEM;
        sqlite3_free(pTab->zDir);
        pTab->zDir = zDir;
      }else if( rc == SQLITE_OK ){
        pTab->zDirName = sqlite3_mprintf("%s", pTab->zName);
        if( pTab->zDirName == 0 ) rc = SQLITE_NOMEM;
      }
      if( rc != SQLITE_OK ) return rc;
    }
  }
  if( pArgs->bInDb ){
    if( bCreate && pArgs->bSyncGiven ){
      *pzErr = sqlite3_mprintf("sync= applies only to a store in a directory:"
          " a table in the database file is as durable as the database"
          " (PRAGMA journal_mode, PRAGMA synchronous)");
      return SQLITE_ERROR;
    }
    if( bCreate && pArgs->bMmapGiven ){
      *pzErr = sqlite3_mprintf("mmap= applies only to a store in a directory:"
          " a table in the database file reads its blocks through SQLite");
      return SQLITE_ERROR;
    }
    if( bCreate && pTab->opt.readonly ){
      /* The engine would say "main.t_file is not a store and readonly=on". */
      *pzErr = sqlite3_mprintf("readonly=on: the new table %s would have no store to read;"
          " create it without readonly=on", pTab->zName);
      return SQLITE_ERROR;
    }
    /* Uncompressed by default, as SQLite stores a native table's pages:
    ** a block read that misses the block cache then costs its chunk rows
    ** and the checksum, not an LZ4 decompression too (README, "Block
    ** compression").  Blocks of 2 KiB by
    ** default: a block lies in 1.5 chunk rows on average (4 KiB: always
    ** 2), each a page SQLite may have to read. */
    if( !pArgs->bCompressionGiven ) pTab->opt.compression = LSM_COMPRESSION_NONE;
    if( !pArgs->bBlockKbGiven ) pTab->opt.block_bytes = VTAB_INDB_BLOCK_BYTES;
    if( !pArgs->bMemtableGiven ) pTab->opt.memtable_bytes = VTAB_INDB_MEMTABLE_BYTES;
    sqlite3_free(pTab->zDir);
    pTab->zDir = 0;
    if( !bCreate ){
      /* Connected again inside a write transaction: a schema change (any
      ** ALTER TABLE, or this table's RENAME) makes SQLite connect every
      ** virtual table anew while the instance it replaces stays in the
      ** transaction, to be synced and committed with it.  Two engines
      ** and two batches would each log the transaction's row at the same
      ** number (one overwriting the other) and the new one would not read
      ** the writes made before the change: share the store and the batch. */
      vtab_table *pOld = registry_find_writing_store(pTab->db, pTab->zDb, pTab->zName);
      /* Or a DROP of it in the transaction was rolled back to a savepoint
      ** before it: the dropped instance, still in the transaction, holds
      ** the writes (deferred_keep_dropped). */
      if( pOld == 0 ) pOld = deferred_find_dropped(pTab->pDeferred, pTab->zDb, pTab->zName);
      if( pOld ){
        pTab->pStore = pOld->pStore;
        dbstore_ref(pTab->pStore);
        pTab->pTxn = pOld->pTxn;
        pTab->pTxn->nRef++;
        pTab->pTxn->nTables++;
        deferred_track_shared(pTab, pOld);
        return SQLITE_OK;
      }
    }
    return dbstore_open(pTab->db, pTab->zDb, pTab->zName, &pTab->opt, bCreate,
                        &pTab->pStore, pzErr);
  }
  if( bCreate && ext_replicated_by ){
    /* e.g. in a dqlite node (sqlite3_lsm_replicated, ext/node.c). */
    *pzErr = sqlite3_mprintf("lsm table %s: %s keeps its rows outside the database file,"
        " which %s replicates: they would stay on this host; create the table without"
        " a path (USING lsm) to keep its rows in the database file", pTab->zName,
        pArgs->bMemory ? "an in-memory store (':memory:')" : "a directory store",
        ext_replicated_by);
    return SQLITE_ERROR;
  }
  if( bCreate && pArgs->bMemory && pTab->opt.readonly ){
    /* An in-memory store starts empty: nothing would ever be in it. */
    *pzErr = sqlite3_mprintf("readonly=on: the new table %s would have no store to read;"
        " create it without readonly=on", pTab->zName);
    return SQLITE_ERROR;
  }
  if( bCreate && pArgs->bMemory && (pArgs->bSyncGiven || pArgs->bMmapGiven) ){
    *pzErr = sqlite3_mprintf("%s applies only to a store in a directory:"
        " an in-memory store (':memory:') has no files",
        pArgs->bSyncGiven ? "sync=" : "mmap=");
    return SQLITE_ERROR;
  }
  /* Only CREATE makes a directory store.  An in-memory store is private
  ** to its connection and gone when that closes: every other connection,
  ** and this database reopened, starts an empty one. */
  if( !bCreate && pTab->zDir ) pTab->opt.create_if_missing = 0;
  if( pTab->zDir ){
    /* The record of committed batches that closes the crash window
    ** between SQLite's commit and the store's (commits.c). */
    if( bCreate && !pTab->opt.readonly ){
      rc = commits_create(pTab->db, pTab->zDb, pTab->zName);
      pTab->bCommits = rc == SQLITE_OK;
    }else{
      rc = commits_exists(pTab->db, pTab->zDb, pTab->zName, &pTab->bCommits);
    }
    if( rc != SQLITE_OK ){
      *pzErr = sqlite3_mprintf("%s", sqlite3_errmsg(pTab->db));
      return rc;
    }
    /* Asked only inside lsm_open, while pTab is alive. */
    pTab->opt.xPrepared = pTab->bCommits ? commits_committed : 0;
    pTab->opt.pPreparedCtx = pTab->bCommits ? pTab : 0;
  }
  /* A DROP of this store waiting for its commit, or one a crash left half
  ** done (deferred.c). */
  if( pTab->zDir ) rc = deferred_check_marker(pTab, bCreate, 0, pzErr);
  if( rc == SQLITE_OK && pArgs->bMemory ){
    rc = registry_open_memory(pTab->db, pTab->zDb, pTab->zName, bCreate, &pTab->opt,
                              &pTab->pLsm, pzErr);
  }else if( rc == SQLITE_OK ){
    /* Whether a rollback of this CREATE may remove the store (deferred.c). */
    if( bCreate ) pTab->bMadeStore = deferred_store_is_new(pTab->zDir);
    rc = registry_open(pTab->zDir, &pTab->opt, vtab_busy_timeout(pTab->db), &pTab->pLsm,
                       pzErr);
    if( rc == SQLITE_OK ) deferred_note_open(pTab);
  }
  if( rc == SQLITE_OK && pTab->zDir ){
    rc = deferred_check_marker(pTab, bCreate, 1, pzErr);
    if( rc != SQLITE_OK ){
      registry_close(pTab->pLsm);
      pTab->pLsm = 0;
    }
  }
  if( rc == SQLITE_OK && pTab->zDir && !pTab->opt.readonly ){
    /* A copy of a database never writes into the original's store. */
    rc = owners_claim(pTab->zDir, pTab->zDbPath, pTab->zName, bCreate, &pTab->bClaimedOwners,
                      pzErr);
    bOwnerRefused = rc != SQLITE_OK;
    if( rc != SQLITE_OK ){
      registry_close(pTab->pLsm);
      pTab->pLsm = 0;
    }else if( bCreate ){
      pTab->bMayRemove = 1;
    }
  }
  if( rc == SQLITE_OK && !bCreate && pTab->pLsm ){
    /* Connected again inside a transaction that wrote the table (a schema
    ** change: any ALTER TABLE, or this table's RENAME): the instance it
    ** replaces stays in the transaction with the writes made before the
    ** change, and this one must read them: share its batch.  The engine
    ** is the same one (registry.c); the batch is prepared and committed
    ** once (txn_sync). */
    vtab_table *pOld = registry_find_writing_table(pTab->db, pTab->zDb, pTab->zName,
                                                   pTab->zDir, pTab->pLsm);
    /* Or a DROP of it in the transaction was rolled back to a savepoint
    ** before it (deferred_keep_dropped). */
    if( pOld == 0 ) pOld = deferred_find_dropped(pTab->pDeferred, pTab->zDb, pTab->zName);
    if( pOld ){
      pTab->pTxn = pOld->pTxn;
      pTab->pTxn->nRef++;
      pTab->pTxn->nTables++;
      deferred_track_shared(pTab, pOld);
    }
  }
  if( rc != SQLITE_OK && !bCreate && rc != SQLITE_NOMEM && rc != SQLITE_BUSY ){
    /* Stay connected, so that DROP TABLE can remove a store that will not
    ** open (corrupt, or half removed by a crash): every use says why.  A
    ** store that belongs to another database is never removed here. */
    pTab->rcBroken = rc;
    pTab->zBroken = *pzErr ? *pzErr : sqlite3_mprintf("%s", sqlite3_errstr(rc));
    *pzErr = 0;
    pTab->bMayRemove = !bOwnerRefused && !pTab->opt.readonly;
    rc = pTab->zBroken ? SQLITE_OK : SQLITE_NOMEM;
  }
  return rc;
}

/* xCreate and xConnect: parse the arguments, declare the schema, open or
** share the store. */
static int vtab_init(sqlite3 *db, deferred_conn *pDeferred, int bCreate, int argc,
                     const char *const *argv, sqlite3_vtab **ppVtab, char **pzErr){
  ext_args args;
  vtab_table *pTab = 0;
  int bDbReadonly;
  int rc;

  *ppVtab = 0;
  rc = args_parse(db, argc, argv, &args, pzErr);
  if( rc != SQLITE_OK ) return rc;
  /* A database opened read-only (SQLITE_OPEN_READONLY, sqlite3 -readonly)
  ** opens its stores read-only: no write lock, no new WAL, no MANIFEST. */
  bDbReadonly = sqlite3_db_readonly(db, argv[1]) == 1;
  if( bDbReadonly ) args.opt.readonly = 1;

  rc = sqlite3_declare_vtab(db, args.zSchema);
  if( rc != SQLITE_OK ){
    *pzErr = sqlite3_mprintf("%s", sqlite3_errmsg(db));
  }else{
    sqlite3_vtab_config(db, SQLITE_VTAB_CONSTRAINT_SUPPORT, 1);
    pTab = sqlite3_malloc(sizeof(*pTab));
    if( pTab == 0 ) rc = SQLITE_NOMEM;
  }
  if( rc == SQLITE_OK ){
    memset(pTab, 0, sizeof(*pTab));
    pTab->db = db;
    pTab->pDeferred = pDeferred;
    pTab->zDb = sqlite3_mprintf("%s", argv[1]);
    pTab->zName = sqlite3_mprintf("%s", argv[2]);
    pTab->zKeyCol = sqlite3_mprintf("%s", args.azCol[0]);
    pTab->nCol = args.nCol;
    pTab->iRowidCol = args.bRowidCol ? args.nCol : -1;
    pTab->bReadonly = args.opt.readonly;
    pTab->bDbReadonly = bDbReadonly;
    pTab->opt = args.opt;
    pTab->zDir = args.zDir;
    args.zDir = 0;
    pTab->zDbPath = owners_db_path(db, argv[1]);
    if( !pTab->zDb || !pTab->zName || !pTab->zKeyCol ) rc = SQLITE_NOMEM;
  }
  if( rc == SQLITE_OK ) rc = vtab_open_store(pTab, &args, bCreate, pzErr);
  if( rc == SQLITE_OK && pTab->pTxn == 0 ) pTab->pTxn = txn_batch_new(&rc);
  args_clear(&args);
  if( rc != SQLITE_OK ){
    vtab_table_free(pTab);
    return rc;
  }
  registry_add_table(pTab);
  *ppVtab = &pTab->base;
  return SQLITE_OK;
}

static int vtab_create(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                       sqlite3_vtab **ppVtab, char **pzErr){
  int rc = vtab_init(db, pAux, 1, argc, argv, ppVtab, pzErr);
  if( rc == SQLITE_OK && !sqlite3_get_autocommit(db) ){
    vtab_table *pTab = (vtab_table*)*ppVtab;
    pTab->bCreatedInTxn = 1;
    deferred_track_created(pTab);
    /* A directory store it made goes if the CREATE is rolled back. */
    deferred_create(pTab);
    /* SQLite puts a table it creates in the open transaction without
    ** calling its xBegin, and no later statement does (it is already in):
    ** begin here, so that the store knows it is in the write transaction
    ** (an instance SQLite connects again after a schema change or a
    ** ROLLBACK TO then shares this one's batch, and a RENAME is
    ** remembered for the rollback that undoes it). */
    rc = txn_begin(&pTab->base);
  }
  return rc;
}

static int vtab_connect(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                        sqlite3_vtab **ppVtab, char **pzErr){
  return vtab_init(db, pAux, 0, argc, argv, ppVtab, pzErr);
}

/* xBestIndex is plan_best_index (plan.c). */

static int vtab_disconnect(sqlite3_vtab *pVtab){
  vtab_table *pTab = (vtab_table*)pVtab;
  registry_remove_table(pTab);
  vtab_table_free(pTab);
  return SQLITE_OK;
}

/*
** Is the table named zName in schema zDb, whose stored CREATE statement
** is zSql, a definition of pTab's store?  An lsm table naming a
** directory with the same realpath, or (pTab in memory) any in-memory lsm
** table; a native table, another module's or an lsm table elsewhere is
** not.  Arguments that no longer parse count as the store's (the DROP is
** then refused, as for another table of it).  *pbOut set on SQLITE_OK.
*/
static int vtab_defines_store(vtab_table *pTab, const char *zDb, const char *zName,
                              const char *zSql, int *pbOut){
  ext_args args;
  char *zIgnored = 0;
  int rc = args_parse_sql(pTab->db, zDb, zName, zSql, &args, &zIgnored);
  sqlite3_free(zIgnored);
  *pbOut = 0;
  if( rc == SQLITE_NOTFOUND ) return SQLITE_OK;       /* another module, or native */
  if( rc == SQLITE_NOMEM ) return rc;
  if( rc != SQLITE_OK ){
    *pbOut = 1;
  }else if( pTab->zDir == 0 ){
    *pbOut = args.bMemory;
  }else if( args.zDir && !args.bMemory ){
    /* A table in the database file names the directory a table made before
    ** that default would use: compared too, so that one of those counts. */
    char zMine[PATH_MAX], zTheirs[PATH_MAX];
    if( realpath(pTab->zDir, zMine) && realpath(args.zDir, zTheirs) ){
      *pbOut = strcmp(zMine, zTheirs) == 0;
    }else{
      *pbOut = strcmp(pTab->zDir, args.zDir) == 0;
    }
  }
  args_clear(&args);
  return SQLITE_OK;
}

/*
** The other instances on this connection that hold pTab's engine, if all
** are stale instances of pTab's table itself, in *papOut (sqlite3_free),
** *pnOut of them; *pnOut is -1 if one is another table of the store.
** Stale: one that shares pTab's batch (connected before a schema change
** of this transaction, which SQLite keeps in it holding the writes made
** before the change), or one whose name no definition of the store has
** any more (connected under a name a RENAME gave and a ROLLBACK TO took
** back; SQLite keeps it in the transaction if it wrote, with its own
** batch, which that ROLLBACK TO emptied).  A table that has taken that
** name since is another table only if it defines the same store
** (vtab_defines_store): a native table of that name leaves the instance
** stale.
*/
static int vtab_stale_instances(vtab_table *pTab, vtab_table ***papOut, int *pnOut){
  vtab_table **ap = 0;
  int n = 0, i, rc;
  *papOut = 0;
  *pnOut = 0;
  rc = registry_engine_users(pTab, &ap, &n);
  for(i = 0; i < n && rc == SQLITE_OK; i++){
    sqlite3_stmt *pStmt = 0;
    char *zSql;
    if( ap[i]->pTxn == pTab->pTxn ) continue;
    zSql = sqlite3_mprintf("SELECT sql FROM \"%w\".sqlite_schema WHERE type = 'table'"
                           " AND name = %Q COLLATE NOCASE", ap[i]->zDb, ap[i]->zName);
    rc = zSql ? sqlite3_prepare_v2(pTab->db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
    sqlite3_free(zSql);
    if( rc == SQLITE_OK ){
      int rcStep = sqlite3_step(pStmt);
      if( rcStep == SQLITE_ROW ){
        int bStore = 0;
        rc = vtab_defines_store(pTab, ap[i]->zDb, ap[i]->zName,
                                (const char*)sqlite3_column_text(pStmt, 0), &bStore);
        if( bStore ) n = -1;   /* another table of the store: not ours to judge */
      }else if( rcStep != SQLITE_DONE ){
        rc = rcStep;
      }
    }
    sqlite3_finalize(pStmt);
  }
  if( rc != SQLITE_OK || n < 0 ){
    sqlite3_free(ap);
    ap = 0;
  }
  *papOut = ap;
  *pnOut = rc == SQLITE_OK ? n : 0;
  return rc;
}

/*
** DROP TABLE.  A store in the database file: its shadow tables drop with
** the table, in its transaction.  A directory store: nothing is removed
** here, since SQLite calls xDestroy before it commits and the COMMIT may
** still fail or be rolled back; deferred.c marks the store and removes it
** once SQLite has committed (a writable definition that is the last user
** of its store; owners.c), or only forgets this definition in OWNERS.  A
** readonly=on table, a copy of another database, or one of several
** definitions of a store leaves the files alone.  Refused while another
** connection (or another table of this one) uses the store, but not for
** this table's own stale instances (vtab_stale_instances), which let
** their engine go instead: SQLite 3.40 does not pass an xDestroy error
** message on (OP_VDestroy never imports zErrMsg), so the refusal is
** SQLITE_LOCKED, "database table is locked", the answer SQLite itself
** gives to a DROP TABLE it cannot do now; the full reason goes to
** sqlite3_log.
*/
static int vtab_destroy(sqlite3_vtab *pVtab){
  vtab_table *pTab = (vtab_table*)pVtab;
  vtab_table **apStale = 0;
  char *zErr = 0;
  int rc, bMay, bKeep, nStale = 0;
  if( pTab->pStore ){
    /* Writes of the open transaction that only this instance holds (an
    ** instance connected before a schema change that shares them stays in
    ** the transaction itself): kept, so that a ROLLBACK TO a savepoint
    ** before the DROP brings them back (deferred_keep_dropped). */
    bKeep = !sqlite3_get_autocommit(pTab->db) && pTab->pTxn->nTables == 1
         && lsm_batch_count(pTab->pTxn->pBatch) > 0;
    rc = dbstore_drop(pTab->pStore);
    if( rc != SQLITE_OK ) return rc;
    pTab->pLsm = 0;
    registry_remove_table(pTab);
    if( bKeep && deferred_keep_dropped(pTab) == SQLITE_OK ) return SQLITE_OK;
    vtab_table_free(pTab);
    return SQLITE_OK;
  }
  rc = vtab_stale_instances(pTab, &apStale, &nStale);
  if( rc != SQLITE_OK ) return rc;
  if( pTab->pLsm && (nStale < 0 || registry_refs(pTab->pLsm) - nStale != 1) ){
    sqlite3_free(apStale);
    sqlite3_log(SQLITE_LOCKED, "cannot DROP lsm table %s: its store is in use by"
                " another connection", pTab->zName);
    return SQLITE_LOCKED;
  }
  /* An in-memory store goes with the table (its rows with it, as before
  ** the connection kept it across schema changes, even if the DROP is
  ** rolled back: registry_open_memory then starts an empty one). */
  if( pTab->zDir == 0 && pTab->pLsm ) registry_unpin_memory(pTab->pLsm);
  bMay = pTab->pLsm ? !pTab->opt.readonly : pTab->bMayRemove;
  /* As for a table in the database file, above: its DROP waits for the
  ** transaction's end (deferred_drop), and a ROLLBACK TO may undo it. */
  bKeep = pTab->zDir && bMay && pTab->pLsm && !sqlite3_get_autocommit(pTab->db)
       && pTab->pTxn->nTables == 1 && lsm_batch_count(pTab->pTxn->pBatch) > 0;
  if( pTab->zDir && bMay ){
    int i;
    rc = deferred_drop(pTab, &zErr);
    if( rc != SQLITE_OK ){
      sqlite3_free(apStale);
      sqlite3_log(rc, "cannot DROP lsm table %s: %s", pTab->zName, zErr ? zErr : "");
      sqlite3_free(zErr);
      return rc;
    }
    /* A stale instance (above) lets its engine go now, so that the DROP's
    ** reference is the store's last when SQLite commits; while the DROP
    ** waits, its xSync logs nothing (txn_sync). */
    for(i = 0; i < nStale; i++) registry_release_table(apStale[i]);
  }
  sqlite3_free(apStale);
  registry_remove_table(pTab);
  if( !bKeep ){
    pTab->pTxn->nTables--;
    txn_batch_unref(pTab->pTxn);
    pTab->pTxn = 0;
  }
  if( pTab->zDir ){
    /* Shadow tables of a directory store: in the DROP's transaction. */
    rc = commits_drop(pTab->db, pTab->zDb, pTab->zName);
    if( rc == SQLITE_OK && pTab->zDirName ) rc = deferred_legacy_rename(pTab, 0, 0);
    if( rc != SQLITE_OK ){
      sqlite3_log(SQLITE_WARNING, "lsm: DROP TABLE %s: its shadow tables: %s", pTab->zName,
                  sqlite3_errmsg(pTab->db));
    }
  }
  if( bKeep && deferred_keep_dropped(pTab) == SQLITE_OK ) return SQLITE_OK;
  vtab_table_free(pTab);
  return SQLITE_OK;
}

static int vtab_open(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor){
  vtab_table *pTab = (vtab_table*)pVtab;
  vtab_cursor *pCsr;
  if( pTab->pLsm == 0 && pTab->pStore == 0 ) return vtab_lost(pTab);
  if( pTab->pSpare ){
    /* The cursor the last statement closed, with its buffers. */
    pCsr = pTab->pSpare;
    pTab->pSpare = 0;
  }else{
    pCsr = sqlite3_malloc(sizeof(*pCsr));
    if( pCsr == 0 ) return SQLITE_NOMEM;
    memset(pCsr, 0, sizeof(*pCsr));
    pCsr->bEof = 1;
  }
  if( pTab->pStore ) dbstore_cursor_opened(pTab->pStore);
  *ppCursor = &pCsr->base;
  return SQLITE_OK;
}

/* Closing keeps one cursor per table, reset (no snapshot, no batch
** reference, no engine cursor: the engine keeps that one, parked), so
** that a statement run again and again allocates nothing and builds no
** iterators while the store's view is unchanged. */
static int vtab_close(sqlite3_vtab_cursor *pCursor){
  vtab_cursor *pCsr = (vtab_cursor*)pCursor;
  vtab_table *pTab = (vtab_table*)pCursor->pVtab;
  vtab_cursor_reset(pCsr);
  vtab_cursor_drop_engine(pCsr);
  if( pTab->pSpare == 0 ){
    memset(&pCsr->base, 0, sizeof(pCsr->base));
    pCsr->nLeft = 0;
    pCsr->iRowid = 0;
    pCsr->iKeyKeptRow = 0;
    pCsr->iKey = 0;
    pTab->pSpare = pCsr;
  }else{
    vtab_cursor_free(pCsr);
  }
  if( pTab->pStore ) dbstore_cursor_closed(pTab->pStore);
  return SQLITE_OK;
}

static int vtab_filter(sqlite3_vtab_cursor *pCursor, int idxNum, const char *idxStr,
                      int argc, sqlite3_value **argv){
  vtab_cursor *pCsr = (vtab_cursor*)pCursor;
  vtab_table *pTab = (vtab_table*)pCursor->pVtab;
  plan_spec *pSpec = &pCsr->spec;
  size_t nOp;
  char *zErr = 0;
  int rc;

  vtab_cursor_reset(pCsr);
  pCsr->iRowid = 0;
  pCsr->iKeyKeptRow = 0;
  rc = plan_decode(idxNum, idxStr, argc, argv, pSpec, &zErr);
  if( rc != SQLITE_OK ){
    if( zErr ){
      sqlite3_free(pTab->base.zErrMsg);
      pTab->base.zErrMsg = zErr;
    }
    return rc;
  }
  pCsr->nLeft = pSpec->nLimit;
  if( pSpec->ePlan == PLAN_EMPTY ) return SQLITE_OK;
  /* The in-database store may reopen its engine to catch up: no engine
  ** cursor is kept across that (nor parked, vtab_close). */
  if( pTab->pStore ) vtab_cursor_drop_engine(pCsr);
  rc = vtab_ready(pTab);
  if( rc != SQLITE_OK ) return rc;

  /* The view: committed state plus the batch as it is now. */
  nOp = lsm_batch_count(pTab->pTxn->pBatch);
  if( nOp > 0 ){
    pCsr->pTxn = pTab->pTxn;
    pCsr->pTxn->nRef++;
    pCsr->read.pBatch = pTab->pTxn->pBatch;
    pCsr->read.nBatchOps = nOp;
  }
  pCsr->bEof = 0;
  if( pSpec->ePlan == PLAN_KEYS ){
    if( pSpec->nKey > 1 ){
      rc = lsm_snapshot_acquire(pTab->pLsm, &pCsr->pSnap);
      if( rc != LSM_OK ) return vtab_engine_error(pTab, rc);
      pCsr->read.pSnapshot = pCsr->pSnap;
    }
    pCsr->iKey = pSpec->bDesc ? pSpec->nKey - 1 : 0;
    rc = vtab_keys_settle(pCsr);
  }else{
    if( pCsr->pCsr ){
      rc = lsm_cursor_refresh(pCsr->pCsr, &pCsr->read);
      if( rc != LSM_OK ) vtab_cursor_drop_engine(pCsr);
    }else{
      rc = lsm_cursor_open(pTab->pLsm, &pCsr->read, &pCsr->pCsr);
    }
    if( rc == LSM_OK && (pSpec->bLower || pSpec->bUpper) ){
      rc = lsm_cursor_bounds(pCsr->pCsr,
          pSpec->bLower ? pSpec->lower.p : 0, pSpec->bLower ? pSpec->lower.n : 0,
          pSpec->bLowerOpen,
          pSpec->bUpper ? pSpec->upper.p : 0, pSpec->bUpper ? pSpec->upper.n : 0,
          pSpec->bUpperOpen);
    }
    if( rc == LSM_OK ){
      rc = pSpec->bDesc ? lsm_cursor_last(pCsr->pCsr) : lsm_cursor_first(pCsr->pCsr);
    }
    if( rc != LSM_OK ) return vtab_engine_error(pTab, rc);
    pCsr->bEof = !lsm_cursor_valid(pCsr->pCsr);
  }
  if( rc == SQLITE_OK && !pCsr->bEof ) pCsr->iRowid = 1;
  while( rc == SQLITE_OK && !pCsr->bEof && pSpec->nOffset > 0 ){
    pSpec->nOffset--;
    rc = vtab_step(pCsr);
  }
  return rc;
}

static int vtab_next(sqlite3_vtab_cursor *pCursor){
  vtab_cursor *pCsr = (vtab_cursor*)pCursor;
  if( pCsr->nLeft > 0 && --pCsr->nLeft == 0 ){
    pCsr->bEof = 1;
    return SQLITE_OK;
  }
  return vtab_step(pCsr);
}

static int vtab_eof(sqlite3_vtab_cursor *pCursor){
  return ((vtab_cursor*)pCursor)->bEof;
}

static int vtab_column(sqlite3_vtab_cursor *pCursor, sqlite3_context *ctx, int iCol){
  vtab_cursor *pCsr = (vtab_cursor*)pCursor;
  vtab_table *pTab = (vtab_table*)pCursor->pVtab;
  int rc;
  if( iCol != 0 && iCol != pTab->iRowidCol && sqlite3_vtab_nochange(ctx)
   && pCsr->iKeyKeptRow != pCsr->iRowid ){
    /* A column an UPDATE of the key does not set: xUpdate takes it from
    ** the row then at the old key (vtab_keep_unset_columns), which an
    ** earlier row of the same UPDATE OR REPLACE may have replaced.  An
    ** UPDATE that keeps the key (its column came "no change" first:
    ** SQLite asks for the columns in order) reads it here, as any read. */
    return SQLITE_OK;
  }
  if( iCol == 0 && sqlite3_vtab_nochange(ctx) ) pCsr->iKeyKeptRow = pCsr->iRowid;
  rc = vtab_current(pCsr);
  if( rc != SQLITE_OK ) return vtab_engine_error(pTab, rc);
  if( iCol == 0 || iCol == pTab->iRowidCol ){
    rc = vtab_result_key(pCsr, ctx);
  }else{
    rc = record_column(pCsr->pRec, pCsr->nRec, iCol - 1, ctx);
  }
  if( rc == SQLITE_CORRUPT ){
    vtab_error(pTab, rc, "lsm table %s: malformed row", pTab->zName);
  }
  return rc;
}

/* WITHOUT ROWID tables have no rowid; SQLite does not ask, but a number
** that identifies the row within this scan costs nothing. */
static int vtab_rowid(sqlite3_vtab_cursor *pCursor, sqlite3_int64 *pRowid){
  *pRowid = ((vtab_cursor*)pCursor)->iRowid;
  return SQLITE_OK;
}

/*
** UPDATE of the key: the value columns the statement does not set come to
** xUpdate as "no change" (vtab_column leaves them unread) and take their values from
** the row at the old key now, with the batch, as a native table reads the
** row it updates when it gets to it.  For a virtual table SQLite computes
** every row's new values before the first xUpdate, so in UPDATE OR
** REPLACE kv SET key = key + 1 over 1, 2, 3 the row reaching 2 moves on
** to 3 and then 4 with its value, as natively ('a' ends at 4; values
** from the statement's start put 'c' there).  *pbGone if no row is at the
** old key any more (a native table skips it).  pRec is replaced by the
** merged record.
** An UPDATE .. FROM gets no such column: SQLite 3.40 reads every column
** of it without the no-change flag (sqlite3.h, sqlite3_vtab_nochange), so
** SET key = key + 1 FROM .. and SET key = key + 1, value = value FROM ..
** arrive alike, though a native table answers them differently (README,
** "Differences from a native table"); neither can be told or refused.
*/
static int vtab_keep_unset_columns(vtab_table *pTab, sqlite3_value **argv,
                                   const ext_buf *pOldKey, ext_buf *pRec, int *pbGone){
  int nVal = pTab->nCol - 1, i, bAny = 0, rc;
  uint8_t aKeepSmall[16], *aKeep = aKeepSmall;
  lsm_read read;
  void *pCur = 0;
  size_t nCur = 0;
  *pbGone = 0;
  for(i = 0; i < nVal && !bAny; i++) bAny = sqlite3_value_nochange(argv[3 + i]);
  if( !bAny ) return SQLITE_OK;
  if( nVal > (int)sizeof(aKeepSmall) ){
    aKeep = sqlite3_malloc(nVal);
    if( aKeep == 0 ) return SQLITE_NOMEM;
  }
  for(i = 0; i < nVal; i++) aKeep[i] = (uint8_t)sqlite3_value_nochange(argv[3 + i]);
  rc = vtab_ready(pTab);
  if( rc == SQLITE_OK ){
    memset(&read, 0, sizeof(read));
    read.pBatch = pTab->pTxn->pBatch;
    read.nBatchOps = SIZE_MAX;
    rc = lsm_get(pTab->pLsm, &read, pOldKey->p, pOldKey->n, &pCur, &nCur);
    if( rc == LSM_NOTFOUND ){
      *pbGone = 1;
      rc = SQLITE_OK;
    }else if( rc != LSM_OK ){
      vtab_engine_error(pTab, rc);
    }else{
      ext_buf merged = { 0, 0, 0 };
      rc = record_merge(pRec->p, pRec->n, pCur, nCur, aKeep, nVal, &merged);
      if( rc == SQLITE_OK ){
        ext_buf_free(pRec);
        *pRec = merged;
      }else{
        ext_buf_free(&merged);
        if( rc == SQLITE_CORRUPT ) vtab_error(pTab, rc, "lsm table %s: malformed row", pTab->zName);
        if( rc == SQLITE_TOOBIG ){
          vtab_error(pTab, rc, "row too large for %s: the limit is 268435456 bytes", pTab->zName);
        }
      }
    }
  }
  lsm_free(pCur);
  if( aKeep != aKeepSmall ) sqlite3_free(aKeep);
  return rc;
}

static int vtab_update(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                      sqlite3_int64 *pRowid){
  vtab_table *pTab = (vtab_table*)pVtab;
  lsm_batch *pBatch;
  size_t nBefore;
  ext_buf *pKey = &pTab->key, *pOldKey = &pTab->oldKey, *pRec = &pTab->rec;
  int rc = SQLITE_OK;
  /* SQLite makes an INSERT's *pRowid the connection's last_insert_rowid();
  ** a table without rowids leaves the user's as it was. */
  *pRowid = sqlite3_last_insert_rowid(pTab->db);

  if( pTab->pLsm == 0 && pTab->pStore == 0 ) return vtab_lost(pTab);
  if( pTab->bReadonly ){
    return vtab_error(pTab, SQLITE_READONLY, pTab->bDbReadonly
                      ? "cannot modify %s: the database was opened read-only"
                      : "cannot modify %s: the table was opened with readonly=on", pTab->zName);
  }
  pBatch = pTab->pTxn->pBatch;
  nBefore = lsm_batch_count(pBatch);
  pKey->n = pOldKey->n = pRec->n = 0;

  if( argc == 1 ){
    /* DELETE: argv[0] is the key. */
    rc = vtab_encode_key(pTab, argv[0], pKey);
    if( rc == SQLITE_OK ) rc = lsm_batch_delete(pBatch, pKey->p, pKey->n);
  }else{
    int eConflict = sqlite3_vtab_on_conflict(pTab->db);
    int bChangeKey = 0, bGone = 0;
    rc = vtab_encode_key(pTab, argv[2], pKey);
    if( rc == SQLITE_OK ){
      rc = record_encode(argv[2], &argv[3], pTab->nCol - 1, pRec);
      if( rc == SQLITE_TOOBIG ){
        vtab_error(pTab, rc, "row too large for %s: the limit is 268435456 bytes", pTab->zName);
      }
    }
    if( rc == SQLITE_OK && sqlite3_value_type(argv[0]) != SQLITE_NULL ){
      /* UPDATE: has the key changed (1 -> 1.0 is not a change)? */
      rc = vtab_encode_key(pTab, argv[0], pOldKey);
      bChangeKey = rc == SQLITE_OK && !vtab_same_bytes(pOldKey, pKey);
      if( rc == SQLITE_OK ) rc = vtab_keep_unset_columns(pTab, argv, pOldKey, pRec, &bGone);
    }
    if( rc == SQLITE_OK && pTab->iRowidCol > 0 && !bGone ){
      rc = vtab_check_rowid(pTab, argv[2 + pTab->iRowidCol], pKey,
                            sqlite3_value_type(argv[0]) != SQLITE_NULL ? pOldKey : 0);
    }
    if( rc == SQLITE_OK && eConflict == SQLITE_IGNORE && !bGone
     && (sqlite3_value_type(argv[0]) == SQLITE_NULL || bChangeKey) ){
      int bExists = 0;
      rc = vtab_key_exists(pTab, pKey, &bExists);
      if( rc != LSM_OK ){
        vtab_engine_error(pTab, rc);
      }else if( bExists ){
        rc = SQLITE_CONSTRAINT_PRIMARYKEY;     /* SQLite skips the row */
      }
    }
    if( rc == SQLITE_OK && bChangeKey && !bGone && eConflict != SQLITE_IGNORE
     && eConflict != SQLITE_REPLACE ){
      /* An UPDATE moving a row onto a key that holds one fails, as on a
      ** native table.  Overwriting it instead lost rows when one statement
      ** moved several keys along (SET key = key + 1 over 1, 2, 3: each
      ** row's delete of its old key removed the row the one before had
      ** just moved there, leaving only 4). */
      int bExists = 0;
      rc = vtab_key_exists(pTab, pKey, &bExists);
      if( rc != LSM_OK ){
        vtab_engine_error(pTab, rc);
      }else if( bExists ){
        sqlite3_free(pTab->base.zErrMsg);
        pTab->base.zErrMsg = sqlite3_mprintf("UNIQUE constraint failed: %s.%s", pTab->zName,
                                             pTab->zKeyCol);
        rc = SQLITE_CONSTRAINT_PRIMARYKEY;
      }
    }
    if( bGone ){
      /* nothing to update */
    }else if( rc == SQLITE_OK && bChangeKey ){
      rc = lsm_batch_delete(pBatch, pOldKey->p, pOldKey->n);
      if( rc != LSM_OK ) vtab_engine_error(pTab, rc);
    }
    if( rc == SQLITE_OK && !bGone ){
      rc = lsm_batch_put(pBatch, pKey->p, pKey->n, pRec->p, pRec->n);
      if( rc != LSM_OK ) vtab_engine_error(pTab, rc);
    }
  }
  if( rc != SQLITE_OK ) lsm_batch_truncate(pBatch, nBefore);
  if( pKey->nAlloc > VTAB_KEEP_BYTES ) ext_buf_free(pKey);
  if( pOldKey->nAlloc > VTAB_KEEP_BYTES ) ext_buf_free(pOldKey);
  if( pRec->nAlloc > VTAB_KEEP_BYTES ) ext_buf_free(pRec);
  return rc;
}

/* xBegin .. xRollback are in txn.c. */

/*
** ALTER TABLE RENAME.  Nothing moves on disk: a directory store keeps its
** directory (a path is in the CREATE statement, and a table of the old
** default directory <database>-<table>.lsm keeps the directory it has
** through the shadow table <new>_dir), and its OWNERS line takes the new
** name once SQLite has committed (deferred.c), so a RENAME that fails or
** is rolled back leaves everything as it was.  Shadow tables are renamed
** in RENAME's own transaction.  An in-memory store is found under both
** names from now on (registry_rename_memory), as SQLite does not say
** whether the RENAME committed.
*/
static int vtab_rename(sqlite3_vtab *pVtab, const char *zNew){
  vtab_table *pTab = (vtab_table*)pVtab;
  char *zName = sqlite3_mprintf("%s", zNew);
  char *zErr = 0;
  int rc = SQLITE_OK;

  if( zName == 0 ){
    rc = SQLITE_NOMEM;
  }else if( pTab->pStore ){
    rc = dbstore_rename(pTab->pStore, zNew);
    /* The engine was closed for the rename (reopened by the next use,
    ** vtab_ready), whether or not the rename was done. */
    pTab->pLsm = dbstore_engine(pTab->pStore);
    if( rc != SQLITE_OK && rc != SQLITE_NOMEM ){
      /* SQLite's reason ("there is already another table or index with
      ** this name: b_log"), or the engine's (a statement still reads). */
      const char *z = lsm_errmsg(0);
      vtab_error(pTab, rc, "%s", rc == SQLITE_BUSY && z && z[0] ? z : sqlite3_errmsg(pTab->db));
    }
  }else if( pTab->zDir == 0 && pTab->pLsm ){
    rc = registry_rename_memory(pTab->pLsm, pTab->db, pTab->zDb, zNew);
  }else if( pTab->zDir && (pTab->pLsm || pTab->bMayRemove) && !pTab->opt.readonly ){
    if( pTab->zDirName ){
      rc = deferred_legacy_rename(pTab, pTab->zDirName, zNew);
      if( rc != SQLITE_OK ){
        vtab_error(pTab, rc, "cannot record the store directory of the renamed table: %s",
                   sqlite3_errmsg(pTab->db));
      }
    }
    if( rc == SQLITE_OK ){
      rc = deferred_rename(pTab, zNew, &zErr);
      if( rc != SQLITE_OK ){
        sqlite3_free(pTab->base.zErrMsg);
        pTab->base.zErrMsg = zErr;
        zErr = 0;
      }
    }
  }
  if( rc == SQLITE_OK && !pTab->pStore && pTab->bCommits ){
    rc = commits_rename(pTab->db, pTab->zDb, pTab->zName, zNew);
    if( rc != SQLITE_OK ) vtab_error(pTab, rc, "cannot rename its _commits table: %s",
                                     sqlite3_errmsg(pTab->db));
  }
  if( rc == SQLITE_OK && pTab->pStore == 0 ){
    /* The earlier instances of the table (SQLite keeps the one connected
    ** before a schema change of this transaction in it, holding its
    ** writes) take the name too: the instance connected after this
    ** RENAME finds them by it (vtab_open_store), and they write the
    ** record of commits under it at COMMIT.  Each remembers the old name
    ** for a ROLLBACK TO, as this one does. */
    vtab_table **apEarlier = 0;
    int nEarlier = 0, i;
    rc = registry_earlier(pTab, &apEarlier, &nEarlier);
    for(i = 0; i < nEarlier && rc == SQLITE_OK; i++){
      char *zCopy = sqlite3_mprintf("%s", zNew);
      if( zCopy == 0 ){
        rc = SQLITE_NOMEM;
      }else{
        /* txn_rename_remember owns the old name from here, freed if it fails. */
        rc = txn_rename_remember(apEarlier[i], apEarlier[i]->zName);
        apEarlier[i]->zName = zCopy;
      }
    }
    sqlite3_free(apEarlier);
  }
  if( rc == SQLITE_OK ){
    /* The in-database store remembers its own names (dbstore_rename). */
    if( pTab->pStore == 0 ) rc = txn_rename_remember(pTab, pTab->zName);
    else sqlite3_free(pTab->zName);
    pTab->zName = zName;
    zName = 0;
  }
  sqlite3_free(zName);
  sqlite3_free(zErr);
  return rc;
}

/* xSavepoint, xRelease, xRollbackTo are in txn.c. */

/* xShadowName: the in-database store's tables and a directory store's
** record of commits. */
static int vtab_is_shadow_name(const char *zSuffix){
  return dbstore_is_shadow_name(zSuffix) || commits_is_shadow_name(zSuffix)
      || deferred_is_shadow_name(zSuffix);
}

sqlite3_module vtab_module = {
  3,                  /* iVersion: savepoints (2) and xShadowName (3) */
  vtab_create,        /* xCreate: makes the store */
  vtab_connect,       /* xConnect */
  plan_best_index,    /* xBestIndex (plan.c) */
  vtab_disconnect,    /* xDisconnect */
  vtab_destroy,       /* xDestroy: DROP TABLE removes the store */
  vtab_open,          /* xOpen */
  vtab_close,         /* xClose */
  vtab_filter,        /* xFilter: start a plan */
  vtab_next,          /* xNext */
  vtab_eof,           /* xEof */
  vtab_column,        /* xColumn */
  vtab_rowid,         /* xRowid: WITHOUT ROWID, never asked */
  vtab_update,        /* xUpdate: put / delete into the transaction batch */
  txn_begin,          /* xBegin (txn.c) */
  txn_sync,           /* xSync: commit phase one (txn.c) */
  txn_commit,         /* xCommit */
  txn_rollback,       /* xRollback */
  0,                  /* xFindFunction: none overloaded */
  vtab_rename,        /* xRename */
  txn_savepoint,      /* xSavepoint */
  txn_release,        /* xRelease */
  txn_rollback_to,    /* xRollbackTo */
  vtab_is_shadow_name /* xShadowName: <table>_file, _log (dbstore.c), _commits (commits.c),
                         _dir (deferred.c) */
};
