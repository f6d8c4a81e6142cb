/*
** ext.h — what the files of the SQLite glue share.
**
** Every ext/ file but extension.c includes this header, which pulls in
** sqlite3ext.h with SQLITE_EXTENSION_INIT3 so that all of them call
** SQLite through the one API table set up by sqlite3_lsm_init.  Nothing
** here is exported from lsm.so (the build uses -fvisibility=hidden).
**
** Sections: byte buffer; key codec (keycodec.c); value record
** (record.c); CREATE arguments (args.c); the virtual table (vtab.c and
** friends: plan.c, txn.c, registry.c, functions.c, files.c) below.  The
** public header sqlite3_lsm.h (LSM_VERSION, sqlite3_lsm_init) is
** included here too.
*/
#ifndef LSM_EXT_H
#define LSM_EXT_H

#include <sqlite3ext.h>
#ifndef LSM_EXTENSION_MAIN
SQLITE_EXTENSION_INIT3
#endif

#include <stddef.h>
#include <stdint.h>

#include "lsm.h"
#include "sqlite3_lsm.h"     /* LSM_VERSION, the sqlite3_lsm_init prototype */

/* ---- a growable byte buffer (sqlite3_malloc'd) ---- */
typedef struct ext_buf {
  uint8_t *p;        /* sqlite3_malloc64'd bytes, or NULL */
  size_t n;          /* bytes in use                       */
  size_t nAlloc;     /* bytes allocated                    */
} ext_buf;
/* Make room for nMore bytes; SQLITE_NOMEM on failure. */
int ext_buf_reserve(ext_buf*, size_t nMore);
int ext_buf_append(ext_buf*, const void *p, size_t n);
void ext_buf_free(ext_buf*);

/* ---- keycodec.c: order-preserving key encoding (format drawn in keycodec.c) ---- */
/* The key limit users see: a key's own bytes (text or blob length; a
** number counts 8), at most 64 KiB.  Its encoding is one type byte plus
** those bytes (a number takes at most 11), so the longest encoded key is
** KEYCODEC_MAX_ENCODED, which the engine must accept (LSM_MAX_KEY). */
#define EXT_MAX_KEY_BYTES (64 * 1024)
#define KEYCODEC_MAX_ENCODED (EXT_MAX_KEY_BYTES + 1)
_Static_assert(KEYCODEC_MAX_ENCODED <= LSM_MAX_KEY,
               "the engine must accept the longest encoded key");
/*
** Encode a key value so that memcmp order of encodings equals SQLite's
** BINARY order of the values: numbers (INTEGER and REAL by value) < TEXT
** < BLOB; an INTEGER and a REAL of equal value encode identically.
** Appends to *pOut.  Returns SQLITE_OK, SQLITE_CONSTRAINT for NULL (with
** no bytes appended), SQLITE_TOOBIG for text/blob over EXT_MAX_KEY_BYTES bytes
** (nothing appended), SQLITE_NOMEM.
*/
int keycodec_encode(sqlite3_value *pKey, ext_buf *pOut);
/* keycodec_encode of a range bound: text or a blob longer than any key
** is cut to its first EXT_MAX_KEY_BYTES bytes, with *pbCut = 1 (else 0);
** then key < bound is key <= the cut bound, and key > bound (or >=) is
** key > the cut bound (the proof is in keycodec.c).  Never SQLITE_TOOBIG. */
int keycodec_encode_bound(sqlite3_value *pBound, ext_buf *pOut, int *pbCut);
/* The first byte of every encoding (drawn in keycodec.c); vtab.c tests
** KEYCODEC_TEXT itself to hand a scan's text keys over without a parse. */
#define KEYCODEC_NUMBER   0x10   /* type byte of INTEGER and REAL keys */
#define KEYCODEC_TEXT     0x20   /* type byte of TEXT keys             */
#define KEYCODEC_BLOB     0x30   /* type byte of BLOB keys             */
/* A decoded key in plain C form. */
typedef struct keycodec_value {
  int eType;            /* SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT or SQLITE_BLOB      */
  sqlite3_int64 iVal;   /* SQLITE_INTEGER: the value                                     */
  double rVal;          /* numbers: the value as a double (rounded for a big INTEGER)    */
  int bExact;           /* numbers: 1 if rVal is exactly the value (a REAL can hold it)  */
  const uint8_t *p;     /* TEXT/BLOB: the bytes, borrowed from the encoding              */
  size_t n;             /* TEXT/BLOB: their length                                       */
} keycodec_value;
/* Parse the encoding (p, n) into *pVal: an INTEGER when the value is
** integral and fits in 64 bits, else REAL for numbers.  SQLITE_OK, or
** SQLITE_CORRUPT if (p, n) is not an encoding keycodec_encode makes. */
int keycodec_parse(const uint8_t *p, size_t n, keycodec_value *pVal);
/* Set the result of ctx to the value encoded in (p, n), as keycodec_parse
** types it (text and blob are copied).  SQLITE_CORRUPT if malformed, with
** the result untouched. */
int keycodec_decode(const uint8_t *p, size_t n, sqlite3_context *ctx);
/* The storage class keycodec_parse gives (SQLITE_INTEGER ...), or 0 if
** (p, n) is malformed; for plan and comparison code. */
int keycodec_type(const uint8_t *p, size_t n);

/* ---- record.c: value columns as one record ---- */
/*
** Encode value columns apVal[0..nVal) into *pOut, each keeping its exact
** storage class, plus what is needed to give the key back as last written
** (INTEGER or REAL, -0.0 included), since keycodec folds 1 and 1.0.
** SQLITE_TOOBIG if the record would exceed LSM_MAX_VALUE.
*/
int record_encode(sqlite3_value *pKey, sqlite3_value **apVal, int nVal, ext_buf *pOut);
/* Result of ctx = value column iCol (0-based) of the record; NULL if the
** record has fewer columns.  SQLITE_CORRUPT if malformed. */
int record_column(const uint8_t *pRec, size_t nRec, int iCol, sqlite3_context *ctx);
/* The record pNew (record_encode's, of nVal value columns) with each
** column i where abKeep[i] is set taken from the record pCur instead
** (NULL if pCur has fewer columns), into *pOut: an UPDATE keeping the
** current row's values of the columns it does not set.  SQLITE_CORRUPT if
** either record is malformed, SQLITE_TOOBIG over LSM_MAX_VALUE. */
int record_merge(const uint8_t *pNew, size_t nNew, const uint8_t *pCur, size_t nCur,
                 const uint8_t *abKeep, int nVal, ext_buf *pOut);
/* Result of ctx = the key as written, from its encoding and the record. */
int record_key(const uint8_t *pKey, size_t nKey, const uint8_t *pRec, size_t nRec,
               sqlite3_context *ctx);

/* ---- args.c: CREATE VIRTUAL TABLE ... USING lsm(...) arguments ---- */
typedef struct ext_args {
  char *zDir;            /* resolved store directory, or NULL for in-memory (sqlite3_free);
                            for bInDb the directory a table made before the
                            in-database store would use (NULL if none)  */
  int bMemory;           /* in-memory store                            */
  int bInDb;             /* no path: the store lives in the database (dbstore.c) */
  int bSyncGiven;        /* sync= was given                              */
  int bMmapGiven;        /* mmap= was given                              */
  int bCompressionGiven; /* compression= was given                       */
  int bBlockKbGiven;     /* block_kb= was given                          */
  int bMemtableGiven;    /* memtable_mb= was given                       */
  lsm_options opt;       /* options, defaults filled in                */
  int nCol;              /* columns, key first (>= 2), _rowid_ not counted */
  int bRowidCol;         /* the schema ends in a hidden column _rowid_ (index nCol)
                            that mirrors the key (no user column has that name) */
  char **azCol;          /* column names (sqlite3_free each and array) */
  char *zSchema;         /* "CREATE TABLE x(key PRIMARY KEY NOT NULL, value) WITHOUT ROWID"-like
                            declaration for sqlite3_declare_vtab (sqlite3_free) */
} ext_args;
/*
** Parse argv of xCreate/xConnect (argv[0] module, [1] database, [2] table,
** then the user's arguments; grammar and path rules in args.c's header).
** On success fills *pArgs (free with args_clear).  On error returns
** SQLITE_ERROR with *pzErr set (sqlite3_mprintf) to a message naming the
** argument, e.g. "unknown option 'x'", "option 'sync' given twice",
** "bad value for memtable_mb: -1" (SQLITE_NOMEM: *pzErr untouched), and
** leaves *pArgs cleared.  Touches no file: creating the directory is the
** engine's job.
*/
int args_parse(sqlite3 *db, int argc, const char *const *argv, ext_args *pArgs, char **pzErr);
/*
** The same for table zTable of schema zDb from its stored CREATE VIRTUAL
** TABLE statement zSql (sqlite_schema.sql): the arguments are cut out of
** the text at top-level commas, as SQLite cuts them for xConnect, then
** parsed by args_parse.  SQLITE_NOTFOUND (nothing set) if zSql does not
** use the module lsm.  For the SQL functions, which must know a table's
** options (readonly) before they connect it.
*/
int args_parse_sql(sqlite3 *db, const char *zDb, const char *zTable, const char *zSql,
                   ext_args *pArgs, char **pzErr);
void args_clear(ext_args*);

/* ==== the virtual table: vtab.c, plan.c, txn.c, registry.c, functions.c ==== */

/*
** The pending writes of one table's open transaction (per connection).
** Reference-counted, starting at 1 (the table's reference while it is the
** table's current batch); every cursor that reads it holds one more.  At
** COMMIT or ROLLBACK a batch still read by a cursor of another statement
** is left to that cursor and the table takes a new one, so a reader never
** sees its overlay cleared under it.
*/
typedef struct vtab_batch {
  lsm_batch *pBatch;     /* the engine batch (lsm_batch_free when nRef drops to 0) */
  int nRef;              /* tables (while current) + cursors reading it */
  int nTables;           /* tables whose current batch it is: 1, or 2 and more
                            while a table connected again in the middle of a
                            transaction shares it (vtab_open_store) */
  int bInTxn;            /* its tables are in a transaction: xBegin .. xCommit
                            or xRollback (txn_begin, txn_reset) */
  lsm_prepared *pPrepared; /* directory store: the batch as an xSync prepared it,
                            until an xCommit commits or an xRollback aborts it
                            (once, whichever table sharing it comes first); or
                            NULL */
  size_t nPreparedOps;   /* operations it held when prepared */
  unsigned iPreparedStamp; /* iStamp when prepared */
  unsigned iStamp;       /* bumped by every ROLLBACK TO: with the operation
                            count, tells whether the batch is still as prepared */
} vtab_batch;

typedef struct vtab_table vtab_table;
typedef struct dbstore dbstore;           /* dbstore.c's store; opaque elsewhere */
typedef struct vtab_cursor vtab_cursor;   /* vtab.c's cursor; opaque elsewhere */
typedef struct deferred_conn deferred_conn; /* deferred.c's per-connection state */
struct vtab_table {
  sqlite3_vtab base;     /* base class: must be first */
  sqlite3 *db;           /* the connection this table belongs to */
  char *zDb;             /* schema name: "main", "temp", ... (sqlite3_free) */
  char *zName;           /* table name (sqlite3_free) */
  char *zKeyCol;         /* key column name, for error messages (sqlite3_free) */
  int nCol;              /* columns, the key included (>= 2), _rowid_ not counted */
  int iRowidCol;         /* index of the hidden _rowid_ column (nCol), or -1 if none */
  int bReadonly;         /* readonly=on, or a read-only database: no write */
  int bDbReadonly;       /* the database was opened read-only (the reason) */
  char *zDir;            /* store directory; NULL for an in-memory store (sqlite3_free) */
  char *zDirName;        /* a table made before the in-database default (no path, no
                            shadow tables): the table name its directory
                            <database>-<name>.lsm is named after, which a RENAME
                            keeps (deferred.c); else NULL (sqlite3_free) */
  lsm_options opt;       /* options it was opened with */
  lsm_db *pLsm;          /* the engine, shared through registry.c; NULL if lost.
                            For an in-database store, the store's current engine
                            (NULL until vtab_ready; it changes when the store
                            catches up with another connection) */
  dbstore *pStore;       /* the in-database store, or NULL for a directory */
  char *zDbPath;         /* realpath of the database file, NULL if none (sqlite3_free) */
  char *zBroken;         /* why the directory store would not open, or NULL: the
                            table stays connected (so that DROP TABLE works) and
                            every use fails with this (sqlite3_free) */
  int rcBroken;          /* the error code that goes with zBroken */
  int bMayRemove;        /* a broken table may remove its store's files at DROP */
  int bEngineTaken;      /* a directory store's earlier instance, still in SQLite's
                            transaction after a schema change, whose engine reference
                            a DROP TABLE of the table's current instance let go
                            (registry_release_table): its writes go nowhere while
                            that DROP waits; if a ROLLBACK TO undoes the DROP, its
                            xSync takes a reference again (txn_sync) */
  vtab_batch *pTxn;      /* pending writes; never NULL between connect and disconnect */
  int bCommits;          /* directory store with a <table>_commits table (commits.c) */
  int bCreatedInTxn;     /* made by CREATE VIRTUAL TABLE in the open transaction:
                            a ROLLBACK TO may have undone the CREATE without
                            telling the table (txn_sync) */
  uint64_t iCreatedAt;   /* its CREATE's place in lsm_pending's count of savepoint
                            openings (deferred_track_created), 0 if untracked */
  int bCreateUndone;     /* a ROLLBACK TO undid its CREATE: its writes go nowhere */
  int bMadeStore;        /* a directory store this table's CREATE made (the directory
                            was missing or empty): a rollback of the CREATE removes
                            it (deferred_create) */
  int bClaimedOwners;    /* its CREATE added its line to the store's OWNERS */
  vtab_table *pNextCreated; /* deferred.c's list of the connection's tables created
                            in the open transaction */
  deferred_conn *pDeferred; /* the connection's waiting DROPs and RENAMEs (deferred.c;
                            borrowed: the module's pAux) */
  char **azRenamedFrom;  /* a table not in the database file: its names before each
                            RENAME of the open transaction, oldest first
                            (txn_rename_remember; sqlite3_free each) */
  int *aiRenameMark;     /* aiRenameMark[i]: nMark when rename i ran */
  int nRename;           /* entries of both */
  size_t *aMark;         /* aMark[i]: batch operations when savepoint i opened */
  int nMark;             /* savepoints 0..nMark-1 are open on this table */
  int nMarkAlloc;        /* allocated entries of aMark */
  vtab_table *pNext;     /* registry.c's list of every open lsm table */
  vtab_table *pNextDropped; /* deferred.c's list of the connection's tables dropped
                            in the open transaction (deferred_keep_dropped) */
  /* Reused between calls so that a row costs no allocation (vtab.c): */
  ext_buf key;           /* xUpdate: the new key's encoding */
  ext_buf oldKey;        /* xUpdate: the old key's encoding (UPDATE) */
  ext_buf rec;           /* xUpdate: the record of the value columns */
  vtab_cursor *pSpare;   /* a closed cursor kept for the next xOpen, or NULL */
};

/* ---- plan.c: xBestIndex, and decoding its plan for xFilter ---- */
#define PLAN_SCAN   0    /* iterate keys in [lower, upper], either way */
#define PLAN_KEYS   1    /* look up each of a sorted list of keys (= or IN) */
#define PLAN_EMPTY  2    /* no row can match (a NULL bound or key) */

#define PLAN_MAX_OPS 16   /* argument phrases of an idxStr that plan_decode caches */
typedef struct plan_spec {
  int ePlan;             /* PLAN_* */
  int bDesc;             /* return rows in descending key order */
  ext_buf keys;          /* PLAN_KEYS: the encoded keys, back to back */
  struct plan_key { size_t iOff, n; } *aKey;  /* PLAN_KEYS: sorted, unique; key i is
                            keys.p[aKey[i].iOff ..] for aKey[i].n bytes (sqlite3_free) */
  int nKey;              /* entries in aKey */
  int nKeyAlloc;         /* entries allocated in aKey */
  int bLower, bLowerOpen; /* PLAN_SCAN: a lower bound; exclusive (>) if bLowerOpen */
  ext_buf lower;         /* its encoding */
  int bUpper, bUpperOpen; /* an upper bound; exclusive (<) if bUpperOpen */
  ext_buf upper;         /* its encoding */
  sqlite3_int64 nLimit;  /* rows to return at most, -1: no limit */
  sqlite3_int64 nOffset; /* rows to skip first */
  ext_buf scratch;       /* plan_decode's work space for a bound */
  /* The last idxStr parsed, kept across plan_spec_reset: a prepared
  ** statement run again hands xFilter the same idxStr, whose phrases are
  ** then not matched again. */
  char *zParsed;         /* that idxStr (sqlite3_malloc), or NULL */
  int nOp;               /* phrases of it that take an argument */
  int aOp[PLAN_MAX_OPS]; /* their PLAN_OP_* codes (plan.c), in order */
} plan_spec;

int plan_best_index(sqlite3_vtab*, sqlite3_index_info*);   /* xBestIndex */
/* Turn xFilter's arguments into *pSpec (zeroed, or reset by
** plan_spec_reset).  On error sets *pzErr (sqlite3_mprintf).  Either way
** the caller later calls plan_spec_reset (to decode again into the same
** buffers) or plan_spec_clear (to free them). */
int plan_decode(int idxNum, const char *idxStr, int argc, sqlite3_value **argv,
                plan_spec *pSpec, char **pzErr);
/* Forget the plan but keep small buffers for the next plan_decode. */
void plan_spec_reset(plan_spec*);
/* Free every buffer; *pSpec is zeroed. */
void plan_spec_clear(plan_spec*);

/* ---- txn.c: transactions and savepoints over vtab_batch ---- */
int txn_begin(sqlite3_vtab*);
int txn_sync(sqlite3_vtab*);
int txn_commit(sqlite3_vtab*);
int txn_rollback(sqlite3_vtab*);
int txn_savepoint(sqlite3_vtab*, int iSavepoint);
int txn_release(sqlite3_vtab*, int iSavepoint);
int txn_rollback_to(sqlite3_vtab*, int iSavepoint);
/* A table not in the database file was renamed from zOld (taken: freed
** here on error): remembered until the transaction ends, so that the
** ROLLBACK (TO) that undoes the RENAME (SQLite puts the schema and the
** _commits table back, and tells the table only of the rollback) gives
** the table its old name back. */
int txn_rename_remember(vtab_table *pTab, char *zOld);
/* Forget the remembered names (the table goes). */
void txn_rename_clear(vtab_table *pTab);
/* Forget the batch pTab's xSync (or that of a table sharing its batch)
** prepared and no xCommit or xRollback ended: the transaction starts
** again, or the last table holding the batch is going away. */
void txn_abort_prepared(vtab_table*);
/* A new batch holder with nRef 1, or NULL (SQLITE_NOMEM). */
vtab_batch *txn_batch_new(int *pRc);
/* Drop one reference; frees the batch at 0.  p may be NULL. */
void txn_batch_unref(vtab_batch *p);

/* ---- registry.c: one lsm_db per store directory in this process ---- */
/*
** Open the store at zDir, or share the lsm_db already open there (same
** realpath) and count a reference.  zDir NULL: a private in-memory store.
** A store locked by another process is tried again until nBusyMs
** milliseconds have passed (the connection's busy timeout; 0: fail at
** once).  On error returns an SQLITE_* code with *pzErr (sqlite3_mprintf)
** set to the engine's message (SQLITE_BUSY names the lock).
*/
int registry_open(const char *zDir, const lsm_options *pOpt, int nBusyMs, lsm_db **ppDb,
                  char **pzErr);
/* Drop a reference; the last one closes the lsm_db (and its thread). */
void registry_close(lsm_db*);
/* References tables hold on pDb (1 when only the caller uses it; an
** in-memory store's pin by its connection is not counted). */
int registry_refs(lsm_db*);
/* The earlier instances of pTab's table: other open tables of pTab's
** connection that share its batch and its engine (SQLite connected the
** table again after a schema change in a transaction and keeps the
** instance it replaced in the transaction, vtab_open_store), or did before
** a DROP took it (bEngineTaken), in *papOut (sqlite3_free; borrowed
** entries, valid while the connection keeps them), *pnOut of them.
** SQLITE_OK or SQLITE_NOMEM. */
int registry_earlier(vtab_table *pTab, vtab_table ***papOut, int *pnOut);
/* The other open tables of pTab's connection that hold pTab's engine, as
** registry_earlier returns them (DROP TABLE tells this table's stale
** instances from other tables of the store among them, vtab_destroy). */
int registry_engine_users(vtab_table *pTab, vtab_table ***papOut, int *pnOut);
/* DROP TABLE of a directory store: p, a stale instance of the dropped
** table, lets go of its engine reference (pLsm NULL, bEngineTaken), so
** that the DROP's is the last one when it commits (registry_destroy). */
void registry_release_table(vtab_table *p);
/* The in-memory store (':memory:') of table zTable of schema zDb on
** connection db: the one open, kept across the table's instances (a
** schema change connects it again), with a reference counted for the
** caller; or, if none is open or bCreate, a new empty one, which the
** connection pins until registry_unpin_memory or
** registry_unpin_connection.  Stores are told apart by the database's
** file, not the schema name (an ATTACH of another file under the same
** name finds none).  Errors as registry_open. */
int registry_open_memory(sqlite3 *db, const char *zDb, const char *zTable, int bCreate,
                         const lsm_options *pOpt, lsm_db **ppDb, char **pzErr);
/* DROP TABLE of an in-memory table: the connection lets its store go (the
** table's own reference closes it). */
void registry_unpin_memory(lsm_db*);
/* RENAME of an in-memory table: its store is found under the new name
** too.  The old name keeps finding it (a ROLLBACK of the RENAME leaves the
** schema with the old name, and SQLite tells the table nothing), until a
** CREATE of that name, DROP TABLE or the connection's close.  The new name
** stops finding any other store.  SQLITE_OK or SQLITE_NOMEM. */
int registry_rename_memory(lsm_db*, sqlite3 *db, const char *zDb, const char *zNew);
/* The connection closes: it lets go of every in-memory store it pins. */
void registry_unpin_connection(sqlite3 *db);
/*
** A committed DROP TABLE (deferred.c): close pDb, which must hold exactly
** one reference, and remove
** the files the store made in zDir and zDir itself if it is then empty
** (lsm_destroy; zDir NULL: nothing to remove).  SQLITE_MISUSE with *pzErr
** if other connections still use the store (nothing changes).
*/
int registry_destroy(lsm_db*, const char *zDir, char **pzErr);
/*
** A CREATE of a directory store that made the store was rolled back on
** connection db (deferred.c): remove the store at zKey (the realpath the
** CREATE recorded; lsm_destroy: only the files it made, and the directory
** if it made that) once no table of this process uses it, i.e. at the
** last registry_close, or now if it is not open.  Nothing is removed if
** anything but db's tables holds it now, if an open shares it before then
** (the flag goes), or if its last sequence number is not 0 (anything was
** ever written: registry_store_is_blank), looked at now and at the close
** (a store not open is opened for the look with compaction=eCompaction,
** the CREATE's).  Errors of a removal now: SQLITE_* with *pzErr; of one at
** the close: sqlite3_log.
*/
int registry_destroy_unused(const char *zKey, sqlite3 *db, int eCompaction, char **pzErr);
/* 1 if the store open at zDir waits for that removal.  A CREATE at zDir
** then takes the store as its own new one; its open (registry_open) calls
** the removal off, and an open that fails leaves it waiting. */
int registry_destroy_pending(const char *zDir);
/* The list of open lsm tables, for the SQL functions. */
void registry_add_table(vtab_table*);
void registry_remove_table(vtab_table*);
/* The open table zName of schema zDb on connection db, or NULL.  zDb
** NULL searches as SQLite resolves an unqualified name: temp, main, then
** the attached schemas.  Borrowed: valid while db keeps the table open. */
vtab_table *registry_find_table(sqlite3 *db, const char *zDb, const char *zName);
/* The open in-database table of db whose store is shadow tables zDb.zTable_*
** and is inside a write transaction, or NULL.  Never one whose CREATE a
** ROLLBACK TO undid (bCreateUndone): the table of that name now is the
** one the rollback brought back. */
vtab_table *registry_find_writing_store(sqlite3 *db, const char *zDb, const char *zTable);
/* The open directory-store (or in-memory store) table zTable of schema
** zDb on connection db, on engine pLsm, whose batch is in a transaction
** (its writes not yet committed), or NULL: an instance connected again
** after a schema change shares its batch.  An earlier instance whose
** engine a DROP took (bEngineTaken) counts if it names directory zDir: a
** ROLLBACK TO that undid the DROP leaves its batch in the transaction. */
vtab_table *registry_find_writing_table(sqlite3 *db, const char *zDb, const char *zTable,
                                       const char *zDir, const lsm_db *pLsm);
/* Every open table whose batch is pOld takes pNew instead (references
** moved); pOld is left to the cursors that still read it. */
void registry_move_batch(vtab_batch *pOld, vtab_batch *pNew);

/* ---- functions.c: lsm_version, lsm_compact, lsm_flush, lsm_stats, lsm_check ---- */
int functions_register(sqlite3 *db);
/*
** The lsm table named z on db ("aux.kv" is table kv of schema aux, unless
** there is none and a table is literally named "aux.kv"; "kv" resolves as
** SQLite resolves names), connected if it was not yet.  NULL if there is
** none or it would not open, with *pRc and *pzErr (sqlite3_mprintf) saying
** why.  Borrowed: valid while db keeps the table open.
*/
vtab_table *functions_lookup(sqlite3 *db, const char *z, int *pRc, char **pzErr);
/* The message for a table functions_lookup did not give (sqlite3_mprintf):
** SQLite's reason zWhy when the table exists but would not open, else
** "<zFunc>: no such lsm table: <z>" with *pRc = SQLITE_ERROR. */
char *functions_not_found(const char *zFunc, const char *z, const char *zWhy, int *pRc);

/* ---- files.c: the table-valued function lsm_files(table) ---- */
/* Registered by extension.c as "lsm_files" with the connection as pAux. */
extern sqlite3_module files_module;

/* ---- commits.c: which prepared batches of a directory store committed ---- */
/* Whether zSuffix names its shadow table (<table>_commits): xShadowName. */
int commits_is_shadow_name(const char *zSuffix);
/* xCreate: make <table>_commits (in the CREATE's transaction). */
int commits_create(sqlite3 *db, const char *zDb, const char *zTable);
/* Whether table zTable of schema zDb has it (tables made before it existed do not). */
int commits_exists(sqlite3 *db, const char *zDb, const char *zTable, int *pbExists);
/* xSync, after lsm_prepare: if the transaction changes pTab's database,
** record prepared batch iId as committing with it, and forget the ids
** below iForget (lsm_prepared_floor).  No-op without the table. */
int commits_record(vtab_table *pTab, uint64_t iId, uint64_t iForget);
/* Forget iId, a batch prepared earlier in this transaction and aborted
** (a COMMIT retried after SQLITE_BUSY prepares anew). */
int commits_forget(vtab_table *pTab, uint64_t iId);
/* lsm_options.xPrepared, pCtx a vtab_table: whether iPrepareId is recorded. */
int commits_committed(void *pCtx, uint64_t iPrepareId, int *pbCommitted);
/* DROP TABLE and ALTER TABLE RENAME of the directory store's table. */
int commits_drop(sqlite3 *db, const char *zDb, const char *zTable);
int commits_rename(sqlite3 *db, const char *zDb, const char *zOld, const char *zNew);

/* ---- owners.c: which definitions use a directory store (drawn in owners.c) ---- */
/* The realpath of schema zDb's file (sqlite3_free), NULL if it has none. */
char *owners_db_path(sqlite3 *db, const char *zDb);
/* Record that table zTable of database zDbPath uses the store in zDir
** (bCreate: it is being created), or refuse (SQLITE_CANTOPEN, *pzErr)
** when the store belongs to another database that still exists.
** *pbAdded = 1 if this call wrote the line (it was not there). */
int owners_claim(const char *zDir, const char *zDbPath, const char *zTable, int bCreate,
                 int *pbAdded, char **pzErr);
/* A CREATE rolled back: remove the line (zDbPath, zTable), which it added
** (zDbPath NULL: remove nothing); *pnLeft = the lines left (OWNERS is
** removed when none is). */
int owners_unclaim(const char *zDir, const char *zDbPath, const char *zTable, int *pnLeft,
                   char **pzErr);
/* Forget (zDbPath, zTable); *pbLast = 1 if no other definition whose
** database exists still uses the store (then OWNERS is removed too). */
int owners_release(const char *zDir, const char *zDbPath, const char *zTable, int *pbLast,
                   char **pzErr);
/* What owners_release would say in *pbLast, without changing OWNERS. */
int owners_release_check(const char *zDir, const char *zDbPath, const char *zTable,
                         int *pbLast, char **pzErr);
/* Remove OWNERS (the store of a DROP that committed is being removed). */
int owners_release_all(const char *zDir, char **pzErr);
/* *pbSole = 1 if (zDbPath, zTable) is the store's only definition. */
int owners_sole(const char *zDir, const char *zDbPath, const char *zTable, int *pbSole,
                char **pzErr);
/* The table was renamed from zOld to zNew. */
int owners_rename(const char *zDir, const char *zDbPath, const char *zOld, const char *zNew,
                  char **pzErr);

/* ---- deferred.c: DROP and RENAME of a directory store wait for SQLite's commit ---- */
/* Register the eponymous table lsm_pending and the module "lsm"
** (pLsmModule) on db, both with the connection's state of waiting DROPs
** and RENAMEs as pAux (freed when both are gone). */
int deferred_register(sqlite3 *db, const sqlite3_module *pLsmModule);
/* xDestroy of a writable directory store: mark the store and keep its
** engine reference (taken from pTab->pLsm) until the transaction ends;
** at commit OWNERS loses the line and, for the last definition, the store
** is removed; at rollback nothing changes.  On error nothing changed. */
int deferred_drop(vtab_table *pTab, char **pzErr);
/* xRename of a directory store: its OWNERS line takes zNew at commit. */
int deferred_rename(vtab_table *pTab, const char *zNew, char **pzErr);
/* xDestroy of a table holding writes of the open transaction: SQLite
** forgets pTab, but a ROLLBACK TO a savepoint opened before the DROP
** brings the table back with those writes.  pTab (out of the registry's
** list, its store dropped: dbstore_drop, or its directory store's DROP
** waiting: deferred_drop) is kept and hears
** the transaction's savepoints, sync and end through lsm_pending, and is
** freed when the transaction ends.  On error (SQLite's join failed)
** nothing is kept and the caller frees pTab. */
int deferred_keep_dropped(vtab_table *pTab);
/* pTab was just made by CREATE VIRTUAL TABLE inside a transaction.  SQLite
** tells it nothing of the savepoints open before, so a ROLLBACK TO one of
** them undoes the CREATE unheard; lsm_pending, which hears every savepoint
** of the transaction once joined, marks it then (bCreateUndone).  Returns
** non-zero if tracked; 0 if lsm_pending could not join (the reason goes to
** sqlite3_log; txn_sync then falls back on looking the name up). */
int deferred_track_created(vtab_table *pTab);
/* pTab, connected again (a schema change) in the transaction that created
** the table, shares pOld's batch (and store): it is that CREATE's too, so
** a ROLLBACK TO that undoes it marks pTab as well.  Else an instance of
** the undone table stayed "in a write" under the name, and the table the
** rollback brought back, connected next, shared it and read nothing. */
void deferred_track_shared(vtab_table *pTab, const vtab_table *pOld);
/* pTab goes: out of the list of tables created in the transaction. */
void deferred_forget_created(vtab_table *pTab);
/* The kept dropped table zTable of schema zDb of this connection that a
** ROLLBACK TO has brought back, or NULL: a table connecting again shares
** its batch (and an in-database table its store). */
vtab_table *deferred_find_dropped(deferred_conn *pConn, const char *zDb, const char *zTable);
/* Whether a CREATE at zDir makes a new store: the directory is missing or
** empty, or holds the store of a CREATE rolled back in this process that
** is still open and waits for its removal (registry_destroy_pending).
** Called just before the CREATE opens the store. */
int deferred_store_is_new(const char *zDir);
/* CREATE VIRTUAL TABLE of a directory store inside a transaction: if it
** is rolled back, OWNERS loses the line the CREATE added
** (pTab->bClaimedOwners) and a store it made (pTab->bMadeStore) goes
** once unused.  A failure to record this goes to sqlite3_log (the store
** then stays after a rollback, as it always did). */
void deferred_create(vtab_table *pTab);
/* pTab has just opened its directory store: a CREATE of that store waiting
** for its transaction, made by another table (any connection, any
** database), never removes it at rollback. */
void deferred_note_open(vtab_table *pTab);
/* Whether a DROP of the store at zDir waits for its commit in this process. */
int deferred_drop_waiting(const char *zDir);
/* Opening pTab's directory store, before taking its lock (bLocked 0) and
** after (1).  Before: SQLITE_BUSY while a DROP of it waits in this
** process; a CREATE (bCreate) removes the rest of a store whose DROP
** committed before a crash.  After: a DROPPING marker whose DROP never
** committed is removed; one whose DROP committed is reported
** (SQLITE_CANTOPEN, *pzErr). */
int deferred_check_marker(vtab_table *pTab, int bCreate, int bLocked, char **pzErr);
/* A table made before the in-database default and renamed since: the
** table name its directory <database>-<name>.lsm was made for, from the
** shadow table <table>_dir (*pzName NULL if there is none). */
int deferred_legacy_dir(sqlite3 *db, const char *zDb, const char *zTable, char **pzName);
/* xRename of such a table: record its directory's name under zNew (zNew
** NULL: DROP TABLE, forget it). */
int deferred_legacy_rename(vtab_table *pTab, const char *zDirName, const char *zNew);
/* Whether zSuffix names the shadow table <table>_dir: xShadowName. */
int deferred_is_shadow_name(const char *zSuffix);

/* ---- vtab.c: the module "lsm" (registered by extension.c) ---- */
extern sqlite3_module vtab_module;
/* Make pTab->pLsm current before a read or a commit: for an in-database
** store, catch up with what this connection's transaction sees.  On error
** sets pTab->base.zErrMsg and returns an SQLITE_* code. */
int vtab_ready(vtab_table *pTab);
/* "database", "directory" or "memory": the kind of pTab's store. */
const char *vtab_store_kind(vtab_table *pTab);
/* Where its SSTables are: "<schema>.<table>_file" (rows named by file),
** the store directory, or ":memory:".  Borrowed from pTab. */
const char *vtab_store_location(vtab_table *pTab);
/* What replicates this process's database files (e.g. "dqlite"), or NULL
** (set by sqlite3_lsm_replicated, extension.c): then stores outside the
** database file are refused at CREATE (vtab.c), and lsm_flush and
** lsm_compact outside an explicit transaction (dbstore.c). */
extern const char *ext_replicated_by;

/* ---- dbstore.c: the in-database store (drawn in dbstore.c) ---- */
/* Whether zSuffix names a shadow table (<table>_<suffix>): xShadowName. */
int dbstore_is_shadow_name(const char *zSuffix);
/* Whether table zTable of schema zDb has its shadow tables. */
int dbstore_exists(sqlite3 *db, const char *zDb, const char *zTable, int *pbExists);
/* Open the store of table zTable (bCreate: make its shadow tables and its
** first manifest, inside the CREATE's transaction).  The engine opens at
** the first dbstore_catch_up.  On error *pzErr may be set. */
int dbstore_open(sqlite3 *db, const char *zDb, const char *zTable, const lsm_options *pOpt,
                 int bCreate, dbstore **ppStore, char **pzErr);
void dbstore_close(dbstore*);
/* Bytes of the batches waiting in <table>_log. */
int dbstore_log_bytes(dbstore*, sqlite3_int64 *pnBytes);
/* "<schema>.<table>_file": the shadow table holding the SSTables. */
const char *dbstore_location(dbstore*);
/* The current engine (NULL before the first catch-up). */
lsm_db *dbstore_engine(dbstore*);
/* The env over <table>_file the engine runs on (tests write files through it). */
lsm_env *dbstore_env(dbstore*);
/* Bring the engine up to what this connection's transaction sees. */
int dbstore_catch_up(dbstore*);
/* Blob handles (dbstore.c): a table's statements read its SSTables through
** blob handles kept while they read, closed once none does.  xOpen and
** xClose of a cursor report to dbstore_cursor_opened/closed; xBegin to
** dbstore_begin (a write transaction keeps them until xCommit/xRollback);
** a function that read the table without a cursor calls dbstore_reads_done. */
void dbstore_cursor_opened(dbstore*);
void dbstore_cursor_closed(dbstore*);
void dbstore_begin(dbstore*);
void dbstore_reads_done(dbstore*);
/* xSync: log pBatch as the next log row and run the bounded work due. */
int dbstore_sync(dbstore*, lsm_batch *pBatch);
/* xCommit: apply the logged batch.  xRollback: forget it. */
int dbstore_commit(dbstore*, lsm_batch *pBatch);
void dbstore_rollback(dbstore*);
/* A table connected again inside a write transaction (a schema change
** reloads every virtual table) shares the store of the instance it
** replaces: dbstore_ref adds a user, dbstore_close drops one. */
void dbstore_ref(dbstore*);
int dbstore_in_write(const dbstore*);
const char *dbstore_schema(const dbstore*);
const char *dbstore_table(const dbstore*);
/* xSavepoint, xRelease, xRollbackTo: savepoint iSavepoint (-1: the one
** that opened the transaction).  A ROLLBACK TO may undo a failed COMMIT's
** work (compare before the next read) or a DROP TABLE of the store. */
void dbstore_savepoint(dbstore*, int iSavepoint);
void dbstore_release(dbstore*, int iSavepoint);
void dbstore_rollback_to(dbstore*, int iSavepoint);
/* lsm_flush() / lsm_compact() inside a savepoint of their own. */
int dbstore_flush_or_compact(dbstore*, int bCompact, lsm_compact_result *pResult);
/* DROP TABLE: drop the shadow tables (in the current transaction). */
int dbstore_drop(dbstore*);
/* ALTER TABLE RENAME: rename the shadow tables. */
int dbstore_rename(dbstore*, const char *zNew);

#endif
