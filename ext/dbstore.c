/*
** dbstore.c — the in-database store: an lsm table whose whole LSM tree
** lives in two shadow tables of the database that holds the table, so
** that SQLite's own transactions, locks, journal and copies cover it.
**
** Usage:
**
**     CREATE VIRTUAL TABLE kv USING lsm;      -- no path: rows in this database
**     INSERT INTO kv VALUES ('a', 1);         -- commits with the database
**     SELECT name FROM sqlite_schema WHERE name LIKE 'kv_%';   -- kv_file, kv_log
**     VACUUM INTO 'copy.db';                  -- the copy carries the rows
**
** The shadow tables (reported by xShadowName, so that
** SQLITE_DBCONFIG_DEFENSIVE keeps ordinary SQL from writing them):
**
**     <table>_file(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, data BLOB NOT NULL)
**         the files of the engine's store: the SSTables (000012.sst) and
**         the MANIFEST (formats: see lsm/sst_writer.c and lsm/manifest.c;
**         checksummed there).  A file is its bytes cut into chunks of
**         c bytes (dbstore_chunk_bytes: page size - 99, 3997 for 4096-byte
**         pages; the last chunk 1 .. c bytes, or 0 for an empty file), one
**         row each, at consecutive ids:
**
**             id       name             data
**             b        000012.sst       bytes 0 .. 3996 of the file
**             b + 1    000012.sst:1     bytes 3997 .. 7993
**             ...
**             b + m-1  000012.sst:<m-1> the rest
**
**         The chunk size is the length of the first row's data, so that a
**         file of one row is simply its bytes (as lsm 0.2 stored every
**         file, whole: such rows still read).  Byte x of the file is in
**         row b + x / chunk at x % chunk.  At open the rows are checked:
**         names "<file>:1" .. ":<m-1>" hold exactly the ids b+1 .. b+m-1,
**         the last chunk is not empty.  Why chunks: a blob's bytes past
**         its first page are a linked list of overflow pages, which SQLite
**         walks from the start to reach an offset (it keeps the list only
**         while one blob handle stays on the row, and a handle cannot
**         outlive a statement): a 2 MB blob is 500 pages to walk per block
**         read.  A chunk fits its leaf page: a block is one or two rows
**         found by id, as a native table's row is found by its key.
**     <table>_log(seq INTEGER PRIMARY KEY, batch BLOB NOT NULL, sum INTEGER NOT NULL)
**         one row per committed transaction not yet flushed into an
**         SSTable: its first sequence number, its operations in the
**         stored form of lsm_batch_pack (format drawn in
**         lsm/batch_pack.c), and the XXH3-64 checksum of those bytes as
**         stored (as a signed 64-bit integer), verified whenever the row
**         is read back, before anything is decompressed.  The stored
**         form is the operations encoded as an lsm_batch (lsm/batch.c),
**         either as they are (first byte 0x00 or 0x01, an operation
**         type; every row written before this form existed is such a
**         row and still reads) or compressed with LZ4 when it saves an
**         eighth (first byte 0x81, then the varint of the raw size, then
**         the LZ4 block):
**
**             seq    batch                                     sum
**             1      81 e0 0c <58 bytes: the 1632 as an LZ4 block> XXH3 of batch
**             33     01 08 6b 65 79 ... (a raw batch)           XXH3 of batch
**
**         A batch of n operations uses seq .. seq + n - 1; the next row
**         starts at seq + n.  Why compressed: SQLite writes every byte
**         of a log row twice (its WAL, then the checkpoint into the
**         database file) and reads its pages back when the flush deletes
**         it (README, "In-database writes: the log row compressed").
**
** How it works.  The engine runs as a hosted store (lsm.h): no WAL, no
** LOCK, no thread but the one that builds a flush's SSTable in memory
** (xCommit below), which runs no SQL; its files are the rows of
** <table>_file, read and
** written through the lsm_env below with SQL on the table's own
** connection.  Each connection has its own engine for the table (its
** memtable holds the rows of <table>_log), which it brings up to date
** with what its read transaction sees before each statement reads
** (dbstore_catch_up):
**   - SQLITE_FCNTL_DATA_VERSION unchanged and nothing pending: nothing
**     changed;
**   - else the MANIFEST row's id is compared with the one the engine
**     read or wrote last: another id means another connection (or a
**     rollback) changed the SSTables, and the engine is reopened from the
**     manifest (its memtable rebuilt from the log);
**   - then every log row after the engine's last sequence is applied.
** The commit path:
**   xSync    catch up; insert the transaction's batch as the next log row
**            (inside SQLite's transaction); then run the work that is due,
**            bounded (dbstore_work): a flush when the memtable is full or
**            a flush prepared on a thread is ready (writing its SSTable
**            as rows; deleting the log rows it covers), else delete the
**            SSTables an earlier COMMIT's compaction replaced, else at
**            most one compaction (lsm_work); its SSTables and manifest
**            are rows of this same transaction (each chunk's row
**            inserted as soon as the engine has appended it,
**            dbstore_chunk_store; rows deleted one at a time, pages
**            freed unzeroed: dbstore_delete_rows,
**            dbstore_fast_delete_begin);
**   xCommit  apply the batch to the memtable (SQLite has committed); if
**            that filled it (background=on), the engine switches it out
**            and builds its SSTable on a thread (lsm_flush_ahead,
**            lsm/db_flush_ahead.c): outside any transaction, with no SQL;
**            a later xSync installs it, inside its transaction, once the
**            thread is done (it waits only if the memtable is full again).
**            A catch-up that reopens the engine (another connection's
**            manifest, a rollback of work) drops it unused: its rows are
**            still log rows;
**   xRollback  nothing was applied; if the failed commit had done work,
**            the engine is reopened before the next read.
** So a transaction is visible, here and everywhere, exactly when SQLite
** commits it, and a crash leaves what SQLite's journal leaves.
**
** Reading.  The env has no xMap, so the engine reads an SSTable's footer,
** filter and index at open and each data block on demand with xRead into
** its bounded block cache (lsm/sst_reader.c): an open table costs its
** meta regions, never its whole blob.  xRead reads the chunk rows with
** incremental blob I/O through one sqlite3_blob handle per store, opened
** at the first read of a statement and moved from row to row with
** sqlite3_blob_reopen (a b-tree seek, where sqlite3_blob_open compiles
** a statement).  An open handle is an active statement (it would hold the
** connection's read transaction, snapshot and locks open), so it is
** closed when no statement reads the table any more (dbstore_release_blobs):
**   - the table's last cursor closes (dbstore_cursor_closed), inside a
**     write transaction too: a handle left open there would count as a
**     running statement and make a later DROP TABLE or DROP INDEX of the
**     same transaction fail with "database table is locked";
**   - xSync has run the work (unless a cursor is open), and
**     xCommit / xRollback end the write transaction;
**   - a function that read without a cursor returns (dbstore_reads_done),
**     and a catch-up without a cursor has read the MANIFEST;
**   - the engine closes (DROP TABLE and RENAME need the table unread).
** SQLite expires a handle whose row this connection writes (SQLITE_ABORT):
** the handle is closed, the row found again by name and the read retried.
** Garbage collection keeps the row of an SSTable while a statement of this
** connection may still read it: while engine cursors or snapshots are open
** (their versions may name files the engine has not opened yet), and
** while a file of that name is open to read; a later COMMIT deletes it.
** Readers of other connections read their own snapshot of the row.
**
** The block cache: every in-database table of the process, on every
** connection, reads its SSTables' data blocks through one block cache
** (dbstore_shared_blocks), so the heap it takes is bounded once per
** process, not per table and per connection.  Its budget is
** DBSTORE_SHARED_BLOCKS_DEFAULT or the largest block_cache_mb an
** in-database table of the process gave, whichever is larger (a budget
** only grows: a table asking for less must not shrink the one other
** tables were given, as lsm_raise_sync never weakens a store), until the
** last in-database table of the process closes and the cache goes with
** it.  Blocks are
** keyed by reader, so each connection's engine still reads a block once
** for itself; a closing engine erases its blocks.  The blocks an engine's
** flushes and compactions write enter the cache as they are written
** (lsm_options.fill_cache_on_write), so the reads right after a COMMIT
** that did work find them without reading rows.
**
** Limits: a block read that misses the block cache costs one or two
** chunk rows, each a b-tree seek by id and, unless SQLite's page cache
** holds it, a page read from the database file (a native table's point
** read costs about one such page).
*/
#include "ext.h"

#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The shared block cache's budget when no table asks for more: 128 MiB.
** A block that misses it is read from one or two chunk rows through
** SQLite (a blob handle per statement, a b-tree seek per row, then the
** checksum and a decompression), so the budget decides the reads: at 1M
** keys (121 MB of blocks; callgrind, tests/prof_sql.c indb 1000000 20000
** get, blocks entering the cache as flushes and compactions write them)
** a get cost 18,711 instructions with 32 MiB, 15,605 with 64 MiB and
** 10,981 with 128 MiB, where every block fits (a native table's get:
** 9,173).  Why not more: issue 13 bounds a process's heap with the
** defaults to 256 MiB at 50M keys, and the open tables' filters and
** indexes may take table_cache_mb (64 MiB) beside it. */
#define DBSTORE_SHARED_BLOCKS_DEFAULT ((uint64_t)128 << 20)

#define LARGEST_INT64 ((sqlite3_int64)(((uint64_t)1 << 63) - 1))

/* The rows of file ?1: its first row and its chunks "?1:<k>", a range of
** the name index ("000012.sst" < "000012.sst.tmp" < "000012.sst:1" <
** "000012.sst;": the filter drops other names in the range). */
#define DBSTORE_ROWS_OF_FILE \
  "name >= ?1 AND name < ?1 || ';' AND (name = ?1 OR substr(name, length(?1) + 1, 1) = ':')"

/* A file of the store.  Opened to read, it is the id of its first chunk
** row and its chunk size (reads go through the store's blob handle).
** Opened to write, its bytes go to its rows as they come: each chunk is
** inserted as its row once full, the last (partial) one at xSync or
** xClose, so that a file never waits whole in memory (a flush's 16 MiB
** SSTable did, in a buffer whose pages were new at every flush: page
** faults were the largest system cost of an in-database fillseq; README,
** "In-database writes: where a fillseq row's time goes").
** Invariants of a file open to write:
**   1. n == nStored * nChunk + nBuf, and nBuf < nChunk between calls.
**   2. Chunks 0 .. nStored-1 are rows iRowid .. iRowid+nStored-1 (iRowid
**      is 0 until chunk 0 is stored); if bTailStored, chunk nStored (the
**      nBuf bytes of a, as of the last sync) is row iRowid+nStored too.
**   3. a holds nBuf bytes: the file from byte nStored * nChunk. */
struct lsm_file {
  dbstore *pStore;       /* the store whose env opened it */
  char *zName;           /* row name: 000012.sst, MANIFEST, MANIFEST.tmp (malloc) */
  int bWrite;            /* opened to write: bytes go to rows as chunks fill */
  int bDirty;            /* write: appended to since the last sync stored the tail */
  sqlite3_int64 iRowid;  /* id of the first row (chunk 0); write: 0 until stored */
  size_t nChunk;         /* bytes per chunk (read: length of the first row;
                            write: dbstore.nChunkBytes) */
  lsm_file *pNextRead;   /* read: next of dbstore.pReadFiles */
  uint8_t *a;            /* write: the chunk being filled, nChunk bytes (malloc) */
  size_t nBuf;           /* write: bytes in a */
  size_t nStored;        /* write: full chunks stored as rows */
  int bTailStored;       /* write: the partial chunk in a is a row too (a sync) */
  sqlite3_stmt *pInsert; /* write: inserts a chunk row, prepared at the first */
  size_t n;              /* bytes of the file */
};

/* The name a store had before a RENAME of the open transaction. */
typedef struct dbstore_rename_undo {
  char *zTable;          /* the table's name before the RENAME (sqlite3_free) */
  int iMark;             /* nSavepoint when the RENAME ran: a ROLLBACK TO a
                            savepoint of lower index undoes it */
} dbstore_rename_undo;

struct dbstore {
  lsm_env env;           /* the shadow env; env.pCtx is this store */
  sqlite3 *db;           /* the table's connection: every SQL runs on it */
  char *zDb;             /* schema name (sqlite3_free) */
  const char *zFcntlDb;  /* zDb for sqlite3_file_control: NULL for "main", which
                            SQLite then takes without searching the names */
  char *zTable;          /* table name (sqlite3_free) */
  char *zFileTable;      /* "<table>_file", for sqlite3_blob_open (sqlite3_free) */
  char *zDir;            /* "<db>.<table>_file": the engine's directory name */
  lsm_options opt;       /* hosted options of the engine */
  lsm_db *pLsm;          /* the engine, or NULL until first use / after a reset */
  unsigned int iDataVersion; /* SQLITE_FCNTL_DATA_VERSION at the last catch-up */
  int bChecked;          /* iDataVersion is valid */
  int bStale;            /* compare with the database at the next catch-up */
  int bReload;           /* reopen the engine at the next catch-up: work failed
                            half-way or was rolled back, so its memory may hold
                            what the database does not */
  sqlite3_int64 iManifestId; /* id of the MANIFEST row the engine read or wrote */
  int bOpening;          /* inside lsm_open (dbstore_engine_open): a MANIFEST
                            opened to read is the one the engine loads */
  int nRef;              /* tables using it: 1, more while a table connected
                            again inside a write transaction shares it */
  int bDropped;          /* DROP TABLE dropped the shadow tables in this
                            transaction: an instance still sharing the store
                            (a schema change earlier in it) syncs and
                            commits nothing; a ROLLBACK brings them back,
                            and so does a ROLLBACK TO a savepoint opened
                            before the DROP (index < iDropMark) */
  int nSavepoint;        /* savepoints open in the write transaction, as the
                            table instances sharing the store are told */
  int iDropMark;         /* nSavepoint when DROP TABLE ran */
  dbstore_rename_undo *aRename; /* the names before each RENAME of the open
                            transaction, oldest first: SQLite undoes the shadow
                            tables' renames with a ROLLBACK (TO), and tells the
                            store only of the rollback */
  int nRename;           /* entries of aRename */
  int nSyncedOps;        /* operations of the batch logged at iPendingSeq, or
                            -1: a second xSync of the same batch (two table
                            instances sharing it) logs and works only once */
  sqlite3_int64 iPendingSeq; /* xSync logged the batch at this seq; 0: none */
  int bDidWork;          /* xSync or a function changed SSTables in this transaction */
  lsm_file *pReadFiles;  /* every file open to read (the engine's table cache) */
  sqlite3_blob *pBlob;   /* the blob handle every read uses, on a chunk's row, or NULL */
  sqlite3_int64 iBlobRow;/* the row pBlob is on */
  int nCursors;          /* cursors of this table open (dbstore_cursor_opened) */
  int bInWrite;          /* between xBegin and xCommit/xRollback */
  int bGcPending;        /* a collection left rows it may delete later */
  int bWorkInTxn;        /* lsm_flush/lsm_compact ran inside a transaction whose
                            end (COMMIT or ROLLBACK) the store may not be told of */
  size_t nChunkBytes;    /* bytes per row of the files this store writes */
  int bSecureDeleteOwed; /* secure_delete was switched ON -> FAST and putting
                            it back failed (an interrupted COMMIT): retried at
                            the next catch-up, COMMIT and close */
  sqlite3_int64 iLastFileId; /* id of the last row a file written here inserted
                            (dbstore_chunk_store): the next chunk of that file
                            goes right after it without asking max(id) */
  lsm_packed_batch logRow; /* the stored form of the last log row written; its
                            buffer is reused (dbstore_log_write) */
  int bFlushAhead;       /* background=on: a COMMIT that fills the memtable has
                            its flush built on a thread, installed by a later
                            COMMIT (dbstore_commit, lsm_flush_ahead) */
  int nWorkBusyMs;       /* > 0 while the work's statements share one wait of
                            this busy_timeout (dbstore_work_waits_begin) */
  sqlite3_int64 iWorkDeadlineMs; /* when that wait is spent */
};

/* ---- SQL helpers ---- */

/* Prepare zFmt (printf with the schema and table names as %w values via
** sqlite3_mprintf) on the store's connection. */
static int dbstore_prepare(dbstore *p, sqlite3_stmt **ppStmt, const char *zFmt, ...){
  va_list ap;
  char *zSql;
  int rc;
  va_start(ap, zFmt);
  zSql = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  if( zSql == 0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, ppStmt, 0);
  sqlite3_free(zSql);
  return rc;
}

/* An SQLite error as the engine's error (the codes are the same numbers),
** with SQLite's message. */
static int dbstore_env_error(dbstore *p, int rc, const char *zWhat){
  return lsm_env_error(rc & 0xff, "%s.%s_file: %s: %s", p->zDb, p->zTable, zWhat,
                       sqlite3_errmsg(p->db));
}

/* The row name of an engine path "<zDir>/<name>". */
static const char *dbstore_name(const char *zPath){
  const char *z = strrchr(zPath, '/');
  return z ? z + 1 : zPath;
}

static int dbstore_exec_name(dbstore *p, const char *zFmt, const char *zName1, const char *zName2){
  sqlite3_stmt *pStmt = 0;
  int rc = dbstore_prepare(p, &pStmt, zFmt, p->zDb, p->zTable);
  if( rc == SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, zName1, -1, SQLITE_STATIC);
    if( zName2 ) sqlite3_bind_text(pStmt, 2, zName2, -1, SQLITE_STATIC);
    rc = sqlite3_step(pStmt);
    if( rc == SQLITE_DONE ) rc = SQLITE_OK;
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/*
** The store frees pages without zeroing them: its deletes
** (dbstore_delete_rows) run with PRAGMA secure_delete=FAST (content
** deleted inside a page that stays in use is still zeroed; a page that
** goes to the freelist keeps its bytes until it is reused).  Why: every page of a replaced SSTable and of a
** flushed log row is freed, and zeroing writes each of them once more to
** the WAL and again at the checkpoint; Debian's SQLite package is built
** with secure_delete on.  What the user loses is little: a row
** deleted from an lsm table stays in older SSTables until a compaction
** drops it anyway (lsm_compact, then VACUUM, clears it from the file).
** dbstore_fast_delete_begin returns the connection's setting in *piOld
** (0 OFF, 1 ON, 2 FAST; only ON is switched, to FAST);
** dbstore_fast_delete_end puts ON back.  Not the user's setting in shared-
** cache mode: another connection of the cache sees FAST meanwhile.
*/
static int dbstore_fast_delete_begin(dbstore *p, int *piOld){
  sqlite3_stmt *pStmt = 0;
  char *zSql;
  int rc = dbstore_prepare(p, &pStmt, "PRAGMA \"%w\".secure_delete", p->zDb);
  *piOld = 2;
  if( rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW ){
    *piOld = sqlite3_column_int(pStmt, 0);
  }
  rc = sqlite3_finalize(pStmt);
  /* OFF or FAST: nothing to zero.  Not readable (an authorizer that
  ** denies PRAGMA, say): the deletes run at the user's setting, never
  ** fail for it. */
  if( rc != SQLITE_OK || *piOld != 1 ){
    *piOld = 2;
    return SQLITE_OK;
  }
  zSql = sqlite3_mprintf("PRAGMA \"%w\".secure_delete = FAST", p->zDb);
  rc = zSql ? sqlite3_exec(p->db, zSql, 0, 0, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if( rc != SQLITE_OK ){
    /* SQLite applies this PRAGMA while preparing it, so a failure of its
    ** step (an interrupt) may leave FAST in force: owe the ON. */
    *piOld = 2;
    if( zSql ) p->bSecureDeleteOwed = 1;
  }
  return rc == SQLITE_NOMEM ? rc : SQLITE_OK;
}

/* Put secure_delete back ON (or try again later: bSecureDeleteOwed).
** It fails when the COMMIT running it was interrupted (sqlite3_interrupt
** fails every statement until the connection has none active), so the
** next entry into the store retries it (dbstore_secure_delete_repay). */
static void dbstore_fast_delete_end(dbstore *p, int iOld){
  char *zSql;
  int rc;
  if( iOld != 1 && !p->bSecureDeleteOwed ) return;
  zSql = sqlite3_mprintf("PRAGMA \"%w\".secure_delete = ON", p->zDb);
  rc = zSql ? sqlite3_exec(p->db, zSql, 0, 0, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  p->bSecureDeleteOwed = rc != SQLITE_OK;
}

static void dbstore_secure_delete_repay(dbstore *p){
  if( p->bSecureDeleteOwed ) dbstore_fast_delete_end(p, 1);
}

/*
** Delete the rows of <table>_<zSuffix> ("file" or "log") whose ids pSel
** returns (column 0; pSel is bound, stepped to the end and reset here),
** one statement per row, by id.  Why not one DELETE: a statement that
** may change several rows runs in a statement transaction, which copies
** every page it touches to a statement journal first (a temporary file
** past 64 KiB); deleting the SSTables a compaction replaced that way wrote
** 1.27x the user bytes more in a 300,000-key fillrandom (prof_write).  A
** DELETE of one row by its id needs no statement journal.  The pages
** the deletes free are not zeroed (dbstore_fast_delete_begin).
*/
static int dbstore_delete_rows(dbstore *p, const char *zSuffix, sqlite3_stmt *pSel){
  sqlite3_stmt *pDel = 0;
  sqlite3_int64 *aId = 0;
  size_t nId = 0, nAlloc = 0, i;
  int rc = SQLITE_OK, iSecureDelete = 2;
  while( rc == SQLITE_OK && sqlite3_step(pSel) == SQLITE_ROW ){
    if( nId == nAlloc ){
      sqlite3_int64 *aNew = realloc(aId, sizeof(*aId) * (nAlloc = nAlloc ? 2 * nAlloc : 64));
      if( aNew == 0 ){
        rc = SQLITE_NOMEM;
        break;
      }
      aId = aNew;
    }
    aId[nId++] = sqlite3_column_int64(pSel, 0);
  }
  {
    int rc2 = sqlite3_reset(pSel);
    if( rc == SQLITE_OK ) rc = rc2;
  }
  if( rc == SQLITE_OK && nId > 0 ){
    rc = dbstore_prepare(p, &pDel, "DELETE FROM \"%w\".\"%w_%s\" WHERE %s = ?1", p->zDb,
                         p->zTable, zSuffix, strcmp(zSuffix, "log") == 0 ? "seq" : "id");
    if( rc == SQLITE_OK ) rc = dbstore_fast_delete_begin(p, &iSecureDelete);
  }
  /* A file's first row (the name the garbage collection finds it by)
  ** sorts first: it goes last, so that a failure part way leaves it
  ** findable.  The others in pSel's order: deleting them in reverse
  ** wrote 0.65x the user bytes more to the WAL and as much again at the
  ** checkpoint (prof_write indb 300000 fillrandom). */
  for(i = 1; rc == SQLITE_OK && i <= nId; i++){
    sqlite3_bind_int64(pDel, 1, aId[i % nId]);
    rc = sqlite3_step(pDel);
    if( rc == SQLITE_DONE ) rc = sqlite3_reset(pDel);
  }
  sqlite3_finalize(pDel);
  dbstore_fast_delete_end(p, iSecureDelete);
  free(aId);
  return rc;
}

/* Delete every row of file zName (its chunks). */
static int dbstore_file_delete(dbstore *p, const char *zName){
  sqlite3_stmt *pSel = 0;
  int rc = dbstore_prepare(p, &pSel, "SELECT id FROM \"%w\".\"%w_file\" WHERE "
                           DBSTORE_ROWS_OF_FILE, p->zDb, p->zTable);
  if( rc == SQLITE_OK ){
    sqlite3_bind_text(pSel, 1, zName, -1, SQLITE_STATIC);
    rc = dbstore_delete_rows(p, "file", pSel);
  }
  sqlite3_finalize(pSel);
  return rc;
}

/* The largest id of <table>_file, 0 if it is empty. */
static int dbstore_max_file_id(dbstore *p, sqlite3_int64 *piMax){
  sqlite3_stmt *pStmt = 0;
  int rc = dbstore_prepare(p, &pStmt, "SELECT coalesce(max(id), 0) FROM \"%w\".\"%w_file\"",
                           p->zDb, p->zTable);
  *piMax = 0;
  if( rc == SQLITE_OK && (rc = sqlite3_step(pStmt)) == SQLITE_ROW ){
    *piMax = sqlite3_column_int64(pStmt, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/*
** Store chunk k of pFile, nData bytes at pData, as its row (format
** above): k == nStored (invariant 2), the row of an earlier sync's
** partial chunk k, if any, replaced.  Chunk 0 first deletes any rows of
** the file's name and takes the id after the largest in use.  Chunk k > 0
** goes right after the file's rows, which must be the last ids of the
** table: if another file's row came after them (two files written at
** once: the engine does not, but the env allows it), the file's rows
** move to the end first, keeping its ids consecutive.
*/
static int dbstore_chunk_store(lsm_file *pFile, size_t k, const uint8_t *pData, size_t nData){
  dbstore *p = pFile->pStore;
  sqlite3_int64 nRows = (sqlite3_int64)(pFile->nStored + (size_t)pFile->bTailStored);
  char *zName = 0;
  int rc = SQLITE_OK;
  assert( k == pFile->nStored );
  if( pFile->iRowid == 0 ){
    sqlite3_int64 iMax = 0;
    rc = dbstore_file_delete(p, pFile->zName);
    if( rc == SQLITE_OK ) rc = dbstore_max_file_id(p, &iMax);
    /* Placed only once the lookup succeeded: a file left at 0 looks again
    ** at its next store instead of replacing row 1 (the MANIFEST). */
    if( rc == SQLITE_OK ) pFile->iRowid = iMax + 1;
  }else if( p->iLastFileId != pFile->iRowid + nRows - 1 ){
    sqlite3_int64 iMax = 0;
    rc = dbstore_max_file_id(p, &iMax);
    if( rc == SQLITE_OK && iMax != pFile->iRowid + nRows - 1 ){
      char *zSql = sqlite3_mprintf("UPDATE \"%w\".\"%w_file\" SET id = id + %lld"
                                   " WHERE id >= %lld AND id < %lld", p->zDb, p->zTable,
                                   (long long)(iMax + 1 - pFile->iRowid),
                                   (long long)pFile->iRowid, (long long)(pFile->iRowid + nRows));
      rc = zSql ? sqlite3_exec(p->db, zSql, 0, 0, 0) : SQLITE_NOMEM;
      sqlite3_free(zSql);
      if( rc == SQLITE_OK ) pFile->iRowid = iMax + 1;
    }
  }
  if( rc == SQLITE_OK && pFile->pInsert == 0 ){
    rc = dbstore_prepare(p, &pFile->pInsert,
        "INSERT OR REPLACE INTO \"%w\".\"%w_file\"(id, name, data) VALUES(?1, ?2, ?3)",
        p->zDb, p->zTable);
  }
  if( rc == SQLITE_OK ){
    sqlite3_stmt *pStmt = pFile->pInsert;
    if( k > 0 ){
      zName = sqlite3_mprintf("%s:%llu", pFile->zName, (unsigned long long)k);
      if( zName == 0 ) rc = SQLITE_NOMEM;
    }
    sqlite3_bind_text(pStmt, 2, zName ? zName : pFile->zName, -1, SQLITE_STATIC);
    sqlite3_bind_int64(pStmt, 1, pFile->iRowid + (sqlite3_int64)k);
    sqlite3_bind_blob64(pStmt, 3, nData ? (const void*)pData : "", nData, SQLITE_STATIC);
    if( rc == SQLITE_OK ){
      rc = sqlite3_step(pStmt);
      if( rc == SQLITE_DONE ) rc = SQLITE_OK;
    }
    sqlite3_reset(pStmt);
    sqlite3_clear_bindings(pStmt);
    sqlite3_free(zName);
  }
  if( rc == SQLITE_OK ){
    p->iLastFileId = pFile->iRowid + (sqlite3_int64)k;
  }else{
    rc = rc == SQLITE_NOMEM ? LSM_NOMEM : dbstore_env_error(p, rc, pFile->zName);
  }
  return rc;
}

/* Store the partial chunk in pFile->a as its row (the last row of the
** file as it is now; an empty file is one empty row). */
static int dbstore_tail_store(lsm_file *pFile){
  int rc = LSM_OK;
  if( pFile->nBuf > 0 || pFile->nStored == 0 ){
    rc = dbstore_chunk_store(pFile, pFile->nStored, pFile->a, pFile->nBuf);
    if( rc == LSM_OK ) pFile->bTailStored = 1;
  }
  if( rc == LSM_OK ) pFile->bDirty = 0;
  return rc;
}

/* The id of the row named zName, 0 if there is none. */
static int dbstore_row_id(dbstore *p, const char *zName, sqlite3_int64 *piId){
  sqlite3_stmt *pStmt = 0;
  int rc = dbstore_prepare(p, &pStmt, "SELECT id FROM \"%w\".\"%w_file\" WHERE name = ?1",
                           p->zDb, p->zTable);
  *piId = 0;
  if( rc == SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
    rc = sqlite3_step(pStmt);
    if( rc == SQLITE_ROW ){
      *piId = sqlite3_column_int64(pStmt, 0);
      rc = SQLITE_OK;
    }else if( rc == SQLITE_DONE ){
      rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* ---- the lsm_env over <table>_file ---- */

/* Find the rows of file pFile->zName: the first row's id, the chunk size
** and the file's bytes, after checking the chunks (format above) from the
** name index and the last chunk's length (reading no other row).
** LSM_CANTOPEN if there is no such file; bCheck: LSM_CORRUPT unless its
** size is pFile->n (the store never rewrites a file while it is open). */
static int dbstore_file_locate(lsm_file *pFile, int bCheck){
  dbstore *p = pFile->pStore;
  sqlite3_stmt *pStmt = 0;
  int rc = dbstore_prepare(p, &pStmt,
      "SELECT h.id, length(h.data), c.n, c.lo, c.hi,"
      "       (SELECT length(data) FROM \"%w\".\"%w_file\" WHERE id = c.hi)"
      "  FROM \"%w\".\"%w_file\" AS h,"
      "       (SELECT count(*) AS n, min(id) AS lo, max(id) AS hi FROM \"%w\".\"%w_file\""
      "         WHERE name > ?1 || ':' AND name < ?1 || ';') AS c"
      " WHERE h.name = ?1",
      p->zDb, p->zTable, p->zDb, p->zTable, p->zDb, p->zTable);
  if( rc == SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, pFile->zName, -1, SQLITE_STATIC);
    rc = sqlite3_step(pStmt);
    if( rc == SQLITE_ROW ){
      sqlite3_int64 iFirst = sqlite3_column_int64(pStmt, 0);
      sqlite3_int64 nChunk = sqlite3_column_int64(pStmt, 1);
      sqlite3_int64 nMore = sqlite3_column_int64(pStmt, 2);
      sqlite3_int64 nLast = sqlite3_column_int64(pStmt, 5);
      size_t n = (size_t)(nMore > 0 ? nChunk * nMore + nLast : nChunk);
      rc = SQLITE_OK;
      if( nMore > 0 && (nChunk <= 0 || sqlite3_column_int64(pStmt, 3) != iFirst + 1
                        || sqlite3_column_int64(pStmt, 4) != iFirst + nMore
                        || nLast <= 0 || nLast > nChunk) ){
        rc = lsm_env_error(LSM_CORRUPT, "%s.%s_file: the rows of %s are not its chunks in order",
                           p->zDb, p->zTable, pFile->zName);
      }else if( bCheck && n != pFile->n ){
        rc = lsm_env_error(LSM_CORRUPT, "%s.%s_file: %s changed while open (%llu bytes, now %llu)",
                           p->zDb, p->zTable, pFile->zName, (unsigned long long)pFile->n,
                           (unsigned long long)n);
      }else{
        pFile->iRowid = iFirst;
        pFile->nChunk = nChunk > 0 ? (size_t)nChunk : 1;
        pFile->n = n;
      }
    }else if( rc == SQLITE_DONE ){
      rc = lsm_env_error(LSM_CANTOPEN, "%s.%s_file: no file %s", p->zDb, p->zTable,
                         pFile->zName);
    }else if( rc != SQLITE_NOMEM ){
      rc = dbstore_env_error(p, rc, pFile->zName);
    }
  }else if( rc != SQLITE_NOMEM ){
    rc = dbstore_env_error(p, rc, pFile->zName);
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* Is a file of this name open to read (its row must stay)? */
static int dbstore_is_open(dbstore *p, const char *zName){
  lsm_file *pFile;
  for(pFile = p->pReadFiles; pFile; pFile = pFile->pNextRead){
    if( strcmp(pFile->zName, zName) == 0 ) return 1;
  }
  return 0;
}

/* Close the store's blob handle: the statements that read through it are
** done, and an open handle would keep the connection's read transaction
** (its snapshot, its SHARED lock or WAL read mark) open after them. */
static void dbstore_release_blobs(dbstore *p){
  if( p->pBlob ){
    sqlite3_blob_close(p->pBlob);
    p->pBlob = 0;
  }
}

static int dbstore_x_open(lsm_env *pEnv, const char *zPath, int flags, lsm_file **ppFile){
  dbstore *p = pEnv->pCtx;
  lsm_file *pFile;
  int rc = SQLITE_OK;
  *ppFile = 0;
  if( flags & LSM_OPEN_APPEND ){
    return lsm_env_error(LSM_MISUSE, "%s: an in-database store has no log file", zPath);
  }
  pFile = calloc(1, sizeof(*pFile));
  if( pFile == 0 ) return LSM_NOMEM;
  pFile->pStore = p;
  pFile->zName = strdup(dbstore_name(zPath));
  if( pFile->zName == 0 ){
    free(pFile);
    return LSM_NOMEM;
  }
  if( flags & LSM_OPEN_WRITE ){
    pFile->bWrite = 1;
    pFile->bDirty = 1;
    pFile->nChunk = p->nChunkBytes;
    pFile->a = malloc(pFile->nChunk);
    if( pFile->a == 0 ) rc = LSM_NOMEM;
  }else{
    rc = dbstore_file_locate(pFile, 0);
    if( rc == SQLITE_OK ){
      /* Only the engine's own open loads the manifest it names; lsm_check
      ** reads MANIFEST too, and must not make catch-up believe the engine
      ** holds a manifest it never loaded. */
      if( p->bOpening && strcmp(pFile->zName, "MANIFEST") == 0 ) p->iManifestId = pFile->iRowid;
      pFile->pNextRead = p->pReadFiles;
      p->pReadFiles = pFile;
    }
  }
  if( rc != SQLITE_OK ){
    free(pFile->a);
    free(pFile->zName);
    free(pFile);
    return rc;
  }
  *ppFile = pFile;
  return LSM_OK;
}

/*
** Read n bytes at iOff of one chunk's row (iOff + n inside the chunk) into
** pBuf through the store's blob handle: opened if there is none, else
** moved to the chunk's row with sqlite3_blob_reopen (a seek, where
** sqlite3_blob_open compiles a statement; with chunks that fit a page no
** handle would stay on one row for long, so one handle serves every file).
** SQLITE_ABORT means SQLite expired the handle: a statement of this
** connection wrote the row, or a rollback tripped the handle's cursor.
** An expired handle cannot be moved, so it is closed, the file found
** again by name (its ids may have changed; its bytes may not) and the
** read tried once more.  A row the handle cannot be put on (SQLITE_ERROR:
** no row of that id, or its data not a blob) is a damaged store: the
** rows of a file open to read are consecutive ids, checked at open.
*/
static int dbstore_chunk_read(lsm_file *pFile, uint64_t iOff, void *pBuf, size_t n){
  dbstore *p = pFile->pStore;
  int rc = SQLITE_OK, nTry;
  for(nTry = 0; nTry < 2; nTry++){
    sqlite3_int64 iRow = pFile->iRowid + (sqlite3_int64)(iOff / pFile->nChunk);
    rc = SQLITE_OK;
    if( p->pBlob && p->iBlobRow != iRow ){
      rc = sqlite3_blob_reopen(p->pBlob, iRow);
      if( rc != SQLITE_OK ) dbstore_release_blobs(p);     /* aborted by the failure */
    }
    if( p->pBlob == 0 && rc == SQLITE_OK ){
      rc = sqlite3_blob_open(p->db, p->zDb, p->zFileTable, "data", iRow, 0, &p->pBlob);
      if( rc != SQLITE_OK ) dbstore_release_blobs(p);
    }
    if( rc == SQLITE_OK ){
      p->iBlobRow = iRow;
      rc = sqlite3_blob_read(p->pBlob, pBuf, (int)n, (int)(iOff % pFile->nChunk));
      if( rc == SQLITE_ERROR && (size_t)sqlite3_blob_bytes(p->pBlob) < iOff % pFile->nChunk + n ){
        /* Shorter than the file's chunk size says (the last row's length
        ** was checked at open): damaged. */
        return lsm_env_error(LSM_CORRUPT, "%s.%s_file: row %lld of %s is missing or short",
                             p->zDb, p->zTable, (long long)iRow, pFile->zName);
      }
    }
    if( rc == SQLITE_ERROR ){
      return lsm_env_error(LSM_CORRUPT, "%s.%s_file: row %lld of %s is missing or short",
                           p->zDb, p->zTable, (long long)iRow, pFile->zName);
    }
    if( rc != SQLITE_ABORT || nTry > 0 ) break;
    dbstore_release_blobs(p);
    rc = dbstore_file_locate(pFile, 1);
    if( rc != SQLITE_OK ) return rc;
  }
  if( rc == SQLITE_NOMEM ) return LSM_NOMEM;
  return rc == SQLITE_OK ? LSM_OK : dbstore_env_error(p, rc, pFile->zName);
}

/* Read n bytes at iOff of the file, chunk by chunk. */
static int dbstore_blob_read(lsm_file *pFile, uint64_t iOff, uint8_t *pBuf, size_t n){
  int rc = LSM_OK;
  while( rc == LSM_OK && n > 0 ){
    size_t nPart = pFile->nChunk - (size_t)(iOff % pFile->nChunk);
    if( nPart > n ) nPart = n;
    rc = dbstore_chunk_read(pFile, iOff, pBuf, nPart);
    iOff += nPart;
    pBuf += nPart;
    n -= nPart;
  }
  return rc;
}

static int dbstore_x_read(lsm_file *pFile, uint64_t iOff, void *pBuf, size_t nBuf, size_t *pnRead){
  size_t n = 0;
  int rc = LSM_OK;
  if( iOff < pFile->n ){
    n = pFile->n - (size_t)iOff;
    if( n > nBuf ) n = nBuf;
    if( pFile->bWrite ){
      /* The stored chunks from their rows, the rest from a (invariant 3). */
      size_t iBufOff = pFile->nStored * pFile->nChunk, nRow = 0;
      if( iOff < iBufOff ){
        nRow = iBufOff - (size_t)iOff < n ? iBufOff - (size_t)iOff : n;
        rc = dbstore_blob_read(pFile, iOff, (uint8_t*)pBuf, nRow);
      }
      if( rc == LSM_OK && nRow < n ){
        memcpy((uint8_t*)pBuf + nRow, pFile->a + (iOff + nRow - iBufOff), n - nRow);
      }
      if( rc != LSM_OK ) n = 0;
    }else if( n > 0 ){
      rc = dbstore_blob_read(pFile, iOff, (uint8_t*)pBuf, n);
      if( rc != LSM_OK ) n = 0;
    }
  }
  *pnRead = n;
  return rc;
}

static int dbstore_x_append(lsm_file *pFile, const void *pData, size_t nData){
  const uint8_t *a = (const uint8_t*)pData;
  int rc = LSM_OK;
  if( !pFile->bWrite ) return LSM_MISUSE;
  pFile->bDirty = 1;
  while( nData > 0 ){
    size_t nPart = pFile->nChunk - pFile->nBuf;
    if( nPart > nData ) nPart = nData;
    if( pFile->nBuf + nPart < pFile->nChunk ){
      memcpy(pFile->a + pFile->nBuf, a, nPart);       /* partial: stays in a */
      pFile->nBuf += nPart;
    }else{
      /* The chunk is full: its row is inserted now, from the caller's
      ** bytes when they are the whole chunk. */
      const uint8_t *pChunk = a;
      if( pFile->nBuf > 0 ){
        memcpy(pFile->a + pFile->nBuf, a, nPart);
        pChunk = pFile->a;
      }
      rc = dbstore_chunk_store(pFile, pFile->nStored, pChunk, pFile->nChunk);
      if( rc != LSM_OK ) break;
      pFile->nStored++;
      pFile->nBuf = 0;
      pFile->bTailStored = 0;
    }
    pFile->n += nPart;
    a += nPart;
    nData -= nPart;
  }
  return rc;
}

/* Durability is SQLite's: "sync" stores the partial last chunk as a row. */
static int dbstore_x_sync(lsm_file *pFile){
  return (pFile->bWrite && pFile->bDirty) ? dbstore_tail_store(pFile) : LSM_OK;
}

static int dbstore_x_size(lsm_file *pFile, uint64_t *pnSize){
  *pnSize = pFile->n;
  return LSM_OK;
}

static int dbstore_x_close(lsm_file *pFile){
  int rc = LSM_OK;
  if( pFile == 0 ) return LSM_OK;
  if( pFile->bWrite ){
    if( pFile->bDirty ) rc = dbstore_tail_store(pFile);
    sqlite3_finalize(pFile->pInsert);
  }else{
    lsm_file **pp = &pFile->pStore->pReadFiles;
    while( *pp != pFile ) pp = &(*pp)->pNextRead;
    *pp = pFile->pNextRead;
  }
  free(pFile->a);
  free(pFile->zName);
  free(pFile);
  return rc;
}

/*
** Rename file zFrom over zTo in one statement, then delete what zTo was.
** The UPDATE OR REPLACE gives zFrom's rows zTo's names (a row of zTo still
** holding a name one of them takes is replaced) and the other rows of zTo
** the name zTo + DBSTORE_DEAD (a range no file's rows are in), which are
** deleted after it.  Why one statement: the engine commits a flush or a
** compaction by renaming MANIFEST.tmp over MANIFEST, and once a statement
** is interrupted (sqlite3_interrupt, Ctrl-C in the shell, a progress
** handler) every later one run inside it fails before it starts.  A delete
** and then an update, cut between them, left no MANIFEST in the
** transaction, and a COMMIT after it made the table unreadable ("not an
** lsm store", bug hunt 4).  One statement runs whole, or not at all (an
** interrupt before it starts), or SQLite rolls its transaction back (an
** interrupted write statement); MANIFEST is never missing.  Dead rows a
** cut-short delete leaves are unreferenced: the next rename of the same
** name replaces or deletes them.  Renaming MANIFEST.tmp over MANIFEST
** installs a manifest: its row id, new with the .tmp row, is what tells
** other connections it changed.
*/
#define DBSTORE_DEAD "~"
static int dbstore_x_rename(lsm_env *pEnv, const char *zFrom, const char *zTo){
  dbstore *p = pEnv->pCtx;
  const char *zNameFrom = dbstore_name(zFrom), *zNameTo = dbstore_name(zTo);
  char *zDead = sqlite3_mprintf("%s" DBSTORE_DEAD, zNameTo);
  int rc = zDead ? SQLITE_OK : SQLITE_NOMEM;
  if( rc == SQLITE_OK ){
    rc = dbstore_exec_name(p,
        "UPDATE OR REPLACE \"%w\".\"%w_file\" SET name = CASE WHEN "
        DBSTORE_ROWS_OF_FILE " THEN ?2 || substr(name, length(?1) + 1)"
        " ELSE ?2 || '" DBSTORE_DEAD "' || substr(name, length(?2) + 1) END"
        " WHERE " DBSTORE_ROWS_OF_FILE
        " OR (name >= ?2 AND name < ?2 || ';' AND (name = ?2 OR substr(name, length(?2) + 1, 1) = ':'))",
        zNameFrom, zNameTo);
  }
  if( rc == SQLITE_OK ) rc = dbstore_file_delete(p, zDead);
  sqlite3_free(zDead);
  if( rc == SQLITE_OK && strcmp(zNameTo, "MANIFEST") == 0 ){
    rc = dbstore_row_id(p, "MANIFEST", &p->iManifestId);
  }
  return rc == SQLITE_OK ? LSM_OK : dbstore_env_error(p, rc, zTo);
}

/* SSTables are deleted by dbstore_collect_garbage inside a write
** transaction, never here: the engine drops a table when its last reader
** goes, which may be in a read-only statement.  Other files go at once. */
static int dbstore_x_unlink(lsm_env *pEnv, const char *zPath){
  dbstore *p = pEnv->pCtx;
  const char *zName = dbstore_name(zPath);
  size_t n = strlen(zName);
  int rc;
  if( n > 4 && strcmp(zName + n - 4, ".sst") == 0 ) return LSM_OK;
  rc = dbstore_file_delete(p, zName);
  return rc == SQLITE_OK ? LSM_OK : dbstore_env_error(p, rc, zPath);
}

static int dbstore_x_nothing(lsm_env *pEnv, const char *zDir){
  (void)pEnv; (void)zDir;
  return LSM_OK;
}

/* A walk over the files of <table>_file in name order: a skip scan of the
** name index, at most two seeks per file whatever its number of chunks
** ("<name>;" sorts after every "<name>:<k>", format above). */
typedef struct dbstore_walk {
  sqlite3_stmt *pStmt;   /* the next name after ?1 */
  char *zAfter;          /* the walk goes on after this name (sqlite3_free) */
} dbstore_walk;

static int dbstore_walk_begin(dbstore *p, dbstore_walk *pW){
  int rc = dbstore_prepare(p, &pW->pStmt,
      "SELECT name FROM \"%w\".\"%w_file\" WHERE name > ?1 ORDER BY name LIMIT 1",
      p->zDb, p->zTable);
  pW->zAfter = rc == SQLITE_OK ? sqlite3_mprintf("") : 0;
  if( rc == SQLITE_OK && pW->zAfter == 0 ) rc = SQLITE_NOMEM;
  return rc;
}

/* The next file's name in *pzName (sqlite3_free), NULL after the last. */
static int dbstore_walk_next(dbstore_walk *pW, char **pzName){
  *pzName = 0;
  for(;;){
    char *zName = 0, *zColon;
    int rc;
    sqlite3_bind_text(pW->pStmt, 1, pW->zAfter, -1, SQLITE_STATIC);
    if( sqlite3_step(pW->pStmt) == SQLITE_ROW ){
      zName = sqlite3_mprintf("%s", (const char*)sqlite3_column_text(pW->pStmt, 0));
      if( zName == 0 ){
        sqlite3_reset(pW->pStmt);
        return SQLITE_NOMEM;
      }
    }
    rc = sqlite3_reset(pW->pStmt);
    if( rc != SQLITE_OK || zName == 0 ){
      sqlite3_free(zName);
      return rc;
    }
    sqlite3_free(pW->zAfter);
    zColon = strchr(zName, ':');
    if( zColon ){
      /* A chunk: jump past every chunk of its file. */
      *zColon = 0;
      pW->zAfter = sqlite3_mprintf("%s;", zName);
      sqlite3_free(zName);
      if( pW->zAfter == 0 ) return SQLITE_NOMEM;
      continue;
    }
    pW->zAfter = sqlite3_mprintf("%s", zName);
    if( pW->zAfter == 0 ){
      sqlite3_free(zName);
      return SQLITE_NOMEM;
    }
    *pzName = zName;
    return SQLITE_OK;
  }
}

static void dbstore_walk_end(dbstore_walk *pW){
  sqlite3_finalize(pW->pStmt);
  sqlite3_free(pW->zAfter);
}

static int dbstore_x_list(lsm_env *pEnv, const char *zDir, char ***pazName, int *pnName){
  dbstore *p = pEnv->pCtx;
  dbstore_walk walk = {0, 0};
  char **azTmp = 0, **az = 0;
  size_t nByte = 0;
  int n = 0, nAlloc = 0, i, rc;
  (void)zDir;
  *pazName = 0;
  *pnName = 0;
  rc = dbstore_walk_begin(p, &walk);
  while( rc == SQLITE_OK ){
    char *zName = 0;
    rc = dbstore_walk_next(&walk, &zName);
    if( rc != SQLITE_OK || zName == 0 ) break;
    if( n == nAlloc ){
      char **aNew = realloc(azTmp, sizeof(char*) * (size_t)(nAlloc = nAlloc ? nAlloc * 2 : 16));
      if( aNew == 0 ){
        sqlite3_free(zName);
        rc = SQLITE_NOMEM;
        break;
      }
      azTmp = aNew;
    }
    azTmp[n++] = zName;
    nByte += strlen(zName) + 1;
  }
  dbstore_walk_end(&walk);
  /* One allocation holding the array and the strings (lsm.h). */
  if( rc == SQLITE_OK ){
    az = malloc(sizeof(char*) * (size_t)(n + 1) + nByte);
    if( az == 0 ) rc = SQLITE_NOMEM;
  }
  if( rc == SQLITE_OK ){
    char *z = (char*)&az[n + 1];
    for(i = 0; i < n; i++){
      size_t nName = strlen(azTmp[i]);
      memcpy(z, azTmp[i], nName + 1);
      az[i] = z;
      z += nName + 1;
    }
    az[n] = 0;
  }
  for(i = 0; i < n; i++) sqlite3_free(azTmp[i]);
  free(azTmp);
  if( rc != SQLITE_OK ){
    free(az);
    return rc == SQLITE_NOMEM ? LSM_NOMEM : dbstore_env_error(p, rc, "list");
  }
  *pazName = az;
  *pnName = n;
  return LSM_OK;
}

static int dbstore_x_exists(lsm_env *pEnv, const char *zPath, int *pbExists, int *pbIsDir){
  dbstore *p = pEnv->pCtx;
  sqlite3_int64 iId = 0;
  int rc;
  if( strcmp(zPath, p->zDir) == 0 ){
    *pbExists = *pbIsDir = 1;
    return LSM_OK;
  }
  *pbIsDir = 0;
  rc = dbstore_row_id(p, dbstore_name(zPath), &iId);
  *pbExists = iId != 0;
  return rc == SQLITE_OK ? LSM_OK : dbstore_env_error(p, rc, zPath);
}

static int dbstore_x_lock(lsm_env *pEnv, const char *zPath, lsm_file **ppLock){
  (void)pEnv; (void)zPath;
  *ppLock = 0;
  return lsm_env_error(LSM_MISUSE, "an in-database store is locked by SQLite, not a LOCK file");
}
static int dbstore_x_unlock(lsm_file *pLock){ (void)pLock; return LSM_OK; }
static void *dbstore_x_malloc(lsm_env *pEnv, size_t n){ (void)pEnv; return malloc(n); }
static void *dbstore_x_realloc(lsm_env *pEnv, void *pOld, size_t n){ (void)pEnv; return realloc(pOld, n); }
static void dbstore_x_free(lsm_env *pEnv, void *pOld){ (void)pEnv; free(pOld); }

/* ---- the engine's life ---- */

/* The process's shared block cache, its budget and how many stores use
** it (made at the first open; dropped when the last store closes, so that
** unloading lsm.so, which SQLite does when the last connection that loaded
** it closes, leaks nothing); all guarded by shared_blocks_mutex.  Engines
** hold references of their own. */
static pthread_mutex_t shared_blocks_mutex = PTHREAD_MUTEX_INITIALIZER;
static lsm_block_cache *g_pSharedBlocks;
static uint64_t g_nSharedBlocksBytes;
static int g_nSharedBlocksUsers;

/* The shared block cache for one more store, its budget raised to nWant
** bytes if that is more; NULL on OOM.  Each success is paired with one
** dbstore_shared_blocks_release. */
static lsm_block_cache *dbstore_shared_blocks(uint64_t nWant){
  lsm_block_cache *p;
  pthread_mutex_lock(&shared_blocks_mutex);
  if( nWant < DBSTORE_SHARED_BLOCKS_DEFAULT ) nWant = DBSTORE_SHARED_BLOCKS_DEFAULT;
  if( g_pSharedBlocks == 0 ){
    if( lsm_block_cache_new(nWant, &g_pSharedBlocks) == LSM_OK ) g_nSharedBlocksBytes = nWant;
  }else if( nWant > g_nSharedBlocksBytes ){
    lsm_block_cache_set_capacity(g_pSharedBlocks, nWant);
    g_nSharedBlocksBytes = nWant;
  }
  p = g_pSharedBlocks;
  if( p ) g_nSharedBlocksUsers++;
  pthread_mutex_unlock(&shared_blocks_mutex);
  return p;
}

/* A store that got the shared cache closes. */
static void dbstore_shared_blocks_release(void){
  lsm_block_cache *pFree = 0;
  pthread_mutex_lock(&shared_blocks_mutex);
  assert( g_nSharedBlocksUsers > 0 );
  if( --g_nSharedBlocksUsers == 0 ){
    pFree = g_pSharedBlocks;
    g_pSharedBlocks = 0;
    g_nSharedBlocksBytes = 0;
  }
  pthread_mutex_unlock(&shared_blocks_mutex);
  lsm_block_cache_unref(pFree);
}

/* Close the engine (NULL is fine).  SQLITE_BUSY if a statement of this
** connection still reads it. */
static int dbstore_engine_close(dbstore *p){
  int rc;
  if( p->pLsm == 0 ) return SQLITE_OK;
  rc = lsm_close(p->pLsm);
  if( rc != LSM_OK ){
    return lsm_env_error(SQLITE_BUSY, "lsm table %s: another statement of this connection"
                         " still reads it; finish that statement first", p->zTable);
  }
  p->pLsm = 0;
  dbstore_release_blobs(p);     /* DROP and RENAME need the table unread */
  return SQLITE_OK;
}

/*
** The log rows (<table>_log, format in the header above): written by
** dbstore_log_write at xSync, read back by dbstore_log_read when an engine
** replays them, deleted by dbstore_collect_garbage once an SSTable holds
** them.
*/

/* A log row's batch column may keep its stored form's buffer only up to
** this size between COMMITs: a transaction of 100 MB must not leave 100 MB
** behind it. */
#define DBSTORE_LOG_KEEP_BYTES ((size_t)1 << 20)

/* Insert pBatch as the log row at iSeq, in its stored form: raw or LZ4
** (lsm_batch_pack, format lsm/batch_pack.c), with the checksum of the
** bytes stored.  OR REPLACE: a COMMIT retried after SQLITE_BUSY logs the
** batch again at the same number. */
static int dbstore_log_write(dbstore *p, lsm_batch *pBatch, sqlite3_int64 iSeq){
  sqlite3_stmt *pStmt = 0;
  int rc = lsm_batch_pack(pBatch, &p->logRow);
  if( rc != LSM_OK ) return rc;
  rc = dbstore_prepare(p, &pStmt,
      "INSERT OR REPLACE INTO \"%w\".\"%w_log\"(seq, batch, sum) VALUES(?1, ?2, ?3)",
      p->zDb, p->zTable);
  if( rc == SQLITE_OK ){
    sqlite3_bind_int64(pStmt, 1, iSeq);
    /* A refused bind leaves the column NULL: step would fail with a
    ** false NOT NULL message.  The whole transaction is one row, so it
    ** must fit under SQLITE_LIMIT_LENGTH. */
    rc = sqlite3_bind_blob64(pStmt, 2, p->logRow.pData, p->logRow.nData, SQLITE_STATIC);
    if( rc == SQLITE_TOOBIG ){
      rc = lsm_env_error(SQLITE_TOOBIG, "lsm table %s.%s: the transaction's log row of %llu"
                         " bytes is over SQLITE_LIMIT_LENGTH (%d): commit it in smaller"
                         " transactions, or raise the limit", p->zDb, p->zTable,
                         (unsigned long long)p->logRow.nData,
                         sqlite3_limit(p->db, SQLITE_LIMIT_LENGTH, -1));
      sqlite3_finalize(pStmt);
      if( p->logRow.nBuf > DBSTORE_LOG_KEEP_BYTES ) lsm_packed_free(&p->logRow);
      return rc;
    }
    if( rc == SQLITE_OK ) rc = sqlite3_bind_int64(pStmt, 3, (sqlite3_int64)p->logRow.iSum);
    if( rc == SQLITE_OK ) rc = sqlite3_step(pStmt);
    if( rc == SQLITE_DONE ) rc = SQLITE_OK;
  }
  sqlite3_finalize(pStmt);
  if( p->logRow.nBuf > DBSTORE_LOG_KEEP_BYTES ) lsm_packed_free(&p->logRow);
  if( rc != SQLITE_OK && rc != SQLITE_NOMEM ) rc = dbstore_env_error(p, rc, "log");
  return rc;
}

/* Load into pBatch the log row pStmt is on (columns seq, batch, sum),
** its checksum verified before anything else is read. */
static int dbstore_log_read(dbstore *p, sqlite3_stmt *pStmt, lsm_batch *pBatch){
  sqlite3_int64 iSeq = sqlite3_column_int64(pStmt, 0);
  const void *a = sqlite3_column_blob(pStmt, 1);
  int n = sqlite3_column_bytes(pStmt, 1);
  uint64_t iSum = (uint64_t)sqlite3_column_int64(pStmt, 2);
  int rc = iSeq > 0 ? lsm_batch_unpack(pBatch, a, (size_t)n, iSum) : LSM_CORRUPT;
  if( rc == LSM_CORRUPT ){
    /* The engine's message names no table: copied out of the buffer that
    ** lsm_env_error is about to rewrite. */
    char zWhy[200];
    sqlite3_snprintf((int)sizeof(zWhy), zWhy, "%s",
                     iSeq > 0 ? lsm_errmsg(0) : "its sequence number is not positive");
    rc = lsm_env_error(LSM_CORRUPT, "%s.%s_log: the row at seq %lld is damaged: %s",
                       p->zDb, p->zTable, (long long)iSeq, zWhy);
  }
  return rc;
}

/* Apply every log row after the engine's last sequence number, except
** this connection's own uncommitted one (a COMMIT being retried): that is
** applied by dbstore_commit, once SQLite has committed it. */
static int dbstore_replay(dbstore *p){
  sqlite3_stmt *pStmt = 0;
  lsm_batch *pBatch = 0;
  uint64_t iLast = 0;
  int rc = lsm_hosted_seq(p->pLsm, &iLast, 0);
  if( rc == LSM_OK ) rc = lsm_batch_new(p->pLsm, &pBatch);
  if( rc == LSM_OK ){
    rc = dbstore_prepare(p, &pStmt,
        "SELECT seq, batch, sum FROM \"%w\".\"%w_log\" WHERE seq > ?1 AND seq < ?2 ORDER BY seq",
        p->zDb, p->zTable);
    if( rc != SQLITE_OK ) rc = dbstore_env_error(p, rc, "log");
  }
  if( rc == LSM_OK ){
    sqlite3_bind_int64(pStmt, 1, (sqlite3_int64)iLast);
    sqlite3_bind_int64(pStmt, 2, p->iPendingSeq ? p->iPendingSeq : LARGEST_INT64);
    while( rc == LSM_OK && sqlite3_step(pStmt) == SQLITE_ROW ){
      sqlite3_int64 iSeq = sqlite3_column_int64(pStmt, 0);
      rc = dbstore_log_read(p, pStmt, pBatch);
      if( rc == LSM_OK ) rc = lsm_write_at(p->pLsm, pBatch, (uint64_t)iSeq);
    }
    if( rc == LSM_OK ){
      int rc2 = sqlite3_reset(pStmt);
      if( rc2 != SQLITE_OK ) rc = dbstore_env_error(p, rc2, "log");
    }
  }
  sqlite3_finalize(pStmt);
  lsm_batch_free(pBatch);
  return rc;
}

/* Open the engine from the manifest row (bCreate: write the first one)
** and replay the log into its memtable. */
static int dbstore_engine_open(dbstore *p, int bCreate){
  lsm_options opt = p->opt;
  int rc;
  opt.create_if_missing = bCreate;
  p->bOpening = 1;
  rc = lsm_open(p->zDir, &opt, &p->pLsm);
  p->bOpening = 0;
  if( rc == LSM_OK ) rc = dbstore_replay(p);
  /* Another connection (or this one, before a rollback) may have left
  ** replaced SSTables to its next COMMIT (dbstore_work) and closed since:
  ** the next COMMIT here that does not flush looks for them, one walk of
  ** the file names. */
  if( rc == LSM_OK ) p->bGcPending = 1;
  if( rc != LSM_OK && p->pLsm ){
    lsm_close(p->pLsm);
    p->pLsm = 0;
  }
  return rc;
}

/* Bytes of a file per row: the most a row of <table>_file keeps in its
** table leaf page without an overflow page, so that reading a block reads
** one or two leaf pages found by id.  SQLite keeps a record of up to
** usable size - 35 bytes in the leaf (its maxLocal); the record also holds
** its header and the name ("000012.sst:1234"): 64 bytes are left for
** them.  The page size is the schema's now; a file keeps the chunk size
** it was written with (format above), so a later VACUUM with another
** page size leaves every file readable. */
static size_t dbstore_chunk_bytes(dbstore *p){
  sqlite3_stmt *pStmt = 0;
  int nPage = 4096;
  if( dbstore_prepare(p, &pStmt, "PRAGMA \"%w\".page_size", p->zDb) == SQLITE_OK
   && sqlite3_step(pStmt) == SQLITE_ROW ){
    nPage = sqlite3_column_int(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  if( nPage < 512 ) nPage = 512;
  return (size_t)nPage - 35 - 64;
}

/* ---- public ---- */

int dbstore_is_shadow_name(const char *zSuffix){
  return sqlite3_stricmp(zSuffix, "file") == 0 || sqlite3_stricmp(zSuffix, "log") == 0;
}

int dbstore_exists(sqlite3 *db, const char *zDb, const char *zTable, int *pbExists){
  char *zSql = sqlite3_mprintf("SELECT 1 FROM \"%w\".sqlite_schema WHERE type = 'table'"
                               " AND name = '%q_file'", zDb, zTable);
  sqlite3_stmt *pStmt = 0;
  int rc;
  *pbExists = 0;
  if( zSql == 0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if( rc == SQLITE_OK ){
    rc = sqlite3_step(pStmt);
    *pbExists = rc == SQLITE_ROW;
    rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? SQLITE_OK : rc;
  }
  sqlite3_finalize(pStmt);
  return rc;
}

int dbstore_open(sqlite3 *db, const char *zDb, const char *zTable, const lsm_options *pOpt,
                 int bCreate, dbstore **ppStore, char **pzErr){
  dbstore *p;
  int rc = SQLITE_OK;
  *ppStore = 0;
  p = sqlite3_malloc(sizeof(*p));
  if( p == 0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->nRef = 1;
  p->nSyncedOps = -1;
  p->db = db;
  p->zDb = sqlite3_mprintf("%s", zDb);
  p->zTable = sqlite3_mprintf("%s", zTable);
  p->zFileTable = sqlite3_mprintf("%s_file", zTable);
  p->zDir = sqlite3_mprintf("%s.%s_file", zDb, zTable);
  if( !p->zDb || !p->zTable || !p->zFileTable || !p->zDir ){
    dbstore_close(p);
    return SQLITE_NOMEM;
  }
  p->zFcntlDb = sqlite3_stricmp(zDb, "main") == 0 ? 0 : p->zDb;
  p->env.pCtx = p;
  p->nChunkBytes = dbstore_chunk_bytes(p);
  p->env.xOpen = dbstore_x_open;
  p->env.xRead = dbstore_x_read;
  p->env.xAppend = dbstore_x_append;
  p->env.xSync = dbstore_x_sync;
  p->env.xSize = dbstore_x_size;
  p->env.xMap = 0;                 /* blocks are read into the block cache */
  p->env.xClose = dbstore_x_close;
  p->env.xRename = dbstore_x_rename;
  p->env.xUnlink = dbstore_x_unlink;
  p->env.xSyncDir = dbstore_x_nothing;
  p->env.xMkdir = dbstore_x_nothing;
  p->env.xRmdir = dbstore_x_nothing;
  p->env.xListDir = dbstore_x_list;
  p->env.xExists = dbstore_x_exists;
  p->env.xLock = dbstore_x_lock;
  p->env.xUnlock = dbstore_x_unlock;
  p->env.xMalloc = dbstore_x_malloc;
  p->env.xRealloc = dbstore_x_realloc;
  p->env.xFree = dbstore_x_free;
  p->opt = *pOpt;
  p->opt.env = &p->env;
  p->opt.hosted = 1;
  p->bFlushAhead = pOpt->background;
  p->opt.background = 0;
  p->opt.sync = LSM_SYNC_OFF;      /* nothing of the engine's to sync */
  /* A block read from a row costs a b-tree seek or two (and a blob handle
  ** per statement), a checksum and a decompression: blocks the COMMITs'
  ** flushes and compactions write enter the block cache as written, so
  ** reads right after the writes find them there. */
  p->opt.fill_cache_on_write = 1;
  /* A level-0 compaction (all of level 0 with the level-1 tables under
  ** it: a whole-level merge, up to 82 MB in for the default memtable)
  ** runs in slices of about a memtable of input each, one per COMMIT
  ** (lsm/db_slice.c, dbstore_work). */
  p->opt.l0_slice_bytes = p->opt.memtable_bytes;
  p->opt.block_cache = dbstore_shared_blocks(pOpt->block_cache_bytes);
  if( p->opt.block_cache == 0 ){
    dbstore_close(p);
    return SQLITE_NOMEM;
  }

  if( bCreate ){
    char *zSql = sqlite3_mprintf(
        "CREATE TABLE \"%w\".\"%w_file\"(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
        " data BLOB NOT NULL);"
        "CREATE TABLE \"%w\".\"%w_log\"(seq INTEGER PRIMARY KEY, batch BLOB NOT NULL,"
        " sum INTEGER NOT NULL);",
        zDb, zTable, zDb, zTable);
    if( zSql == 0 ){
      rc = SQLITE_NOMEM;
    }else{
      rc = sqlite3_exec(db, zSql, 0, 0, 0);
      if( rc != SQLITE_OK ) *pzErr = sqlite3_mprintf("%s", sqlite3_errmsg(db));
      sqlite3_free(zSql);
    }
    if( rc == SQLITE_OK ){
      rc = dbstore_engine_open(p, 1);
      if( rc != LSM_OK ){
        const char *z = lsm_errmsg(0);
        *pzErr = sqlite3_mprintf("%s", (z && z[0]) ? z : lsm_errstr(rc));
      }
    }
  }
  if( rc != SQLITE_OK ){
    dbstore_close(p);
    return rc;
  }
  *ppStore = p;
  return SQLITE_OK;
}

void dbstore_ref(dbstore *p){
  p->nRef++;
}

int dbstore_in_write(const dbstore *p){
  return p->bInWrite;
}

const char *dbstore_schema(const dbstore *p){
  return p->zDb;
}

const char *dbstore_table(const dbstore *p){
  return p->zTable;
}

/* Forget the transaction's renames (it committed, or they were undone). */
static void dbstore_renames_clear(dbstore *p){
  int i;
  for(i = 0; i < p->nRename; i++) sqlite3_free(p->aRename[i].zTable);
  sqlite3_free(p->aRename);
  p->aRename = 0;
  p->nRename = 0;
}

/* The store's table is named zTable from now on (p->zTable takes the
** string; the shadow tables' names follow). */
static int dbstore_set_name(dbstore *p, char *zTable){
  char *zFileTable = sqlite3_mprintf("%s_file", zTable);
  char *zDir = sqlite3_mprintf("%s.%s_file", p->zDb, zTable);
  if( zFileTable == 0 || zDir == 0 ){
    sqlite3_free(zFileTable);
    sqlite3_free(zDir);
    sqlite3_free(zTable);
    return SQLITE_NOMEM;
  }
  sqlite3_free(p->zTable);
  sqlite3_free(p->zFileTable);
  sqlite3_free(p->zDir);
  p->zTable = zTable;
  p->zFileTable = zFileTable;
  p->zDir = zDir;
  return SQLITE_OK;
}

/* A ROLLBACK TO savepoint iSavepoint (-1: the whole transaction) undid
** the renames made after it opened: take the name back, and reopen the
** engine under it at the next use. */
static void dbstore_renames_undo(dbstore *p, int iSavepoint){
  char *zBack = 0;
  while( p->nRename > 0 && p->aRename[p->nRename - 1].iMark > iSavepoint ){
    p->nRename--;
    sqlite3_free(zBack);
    zBack = p->aRename[p->nRename].zTable;
  }
  if( zBack ){
    /* On NOMEM the name stays the renamed one: its next use fails
    ** "no such table", and so does the COMMIT, which SQLite rolls back. */
    (void)dbstore_set_name(p, zBack);
    p->bReload = 1;
  }
  if( p->nRename == 0 ) dbstore_renames_clear(p);
}

void dbstore_close(dbstore *p){
  if( p == 0 || --p->nRef > 0 ) return;
  dbstore_renames_clear(p);
  if( p->pLsm ) lsm_close(p->pLsm);   /* callers have closed every cursor */
  dbstore_release_blobs(p);
  if( p->opt.block_cache ) dbstore_shared_blocks_release();
  lsm_packed_free(&p->logRow);
  sqlite3_free(p->zDb);
  sqlite3_free(p->zTable);
  sqlite3_free(p->zFileTable);
  sqlite3_free(p->zDir);
  sqlite3_free(p);
}

lsm_db *dbstore_engine(dbstore *p){
  return p->pLsm;
}

lsm_env *dbstore_env(dbstore *p){
  return &p->env;
}

int dbstore_log_bytes(dbstore *p, sqlite3_int64 *pnBytes){
  sqlite3_stmt *pStmt = 0;
  int rc = dbstore_prepare(p, &pStmt, "SELECT total(length(batch)) FROM \"%w\".\"%w_log\"",
                           p->zDb, p->zTable);
  *pnBytes = 0;
  if( rc == SQLITE_OK && (rc = sqlite3_step(pStmt)) == SQLITE_ROW ){
    *pnBytes = (sqlite3_int64)sqlite3_column_double(pStmt, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(pStmt);
  return rc == SQLITE_OK ? LSM_OK : dbstore_env_error(p, rc, "log");
}

const char *dbstore_location(dbstore *p){
  return p->zDir;
}

/* ---- the work's waits for locks ----
**
** busy_timeout bounds how long one statement waits for a lock.  The work
** a COMMIT or lsm_flush/lsm_compact does runs a statement per chunk row,
** and in rollback-journal mode each statement that spills SQLite's page
** cache to the database file needs the file's exclusive lock: while
** another connection read, every such statement waited busy_timeout
** afresh (a one-row INSERT whose COMMIT flushed took 19.9 s against a
** 100 ms timeout, bug hunt 5) where a native statement waits once.  So
** while the work runs its statements share one wait of busy_timeout: once
** it is spent a spill fails at once (SQLite then keeps the pages in memory
** and goes on), and the commit after the work waits for its lock as any
** commit does, with the connection's own handler, put back first.
** PRAGMA busy_timeout reads 0 for a connection with no handler (a spill
** then never waits) or with one of the program's own (sqlite3_busy_handler),
** which the extension could not put back: both are left as they are. */

static sqlite3_int64 dbstore_now_ms(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (sqlite3_int64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The busy handler while the work runs: SQLite's own steps of sleep, up
** to the shared deadline. */
static int dbstore_work_busy(void *pArg, int nCount){
  static const int aDelayMs[] = { 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 };
  dbstore *p = pArg;
  sqlite3_int64 nLeft = p->iWorkDeadlineMs - dbstore_now_ms();
  int nDelay = nCount < (int)(sizeof(aDelayMs) / sizeof(aDelayMs[0])) ? aDelayMs[nCount] : 100;
  if( nLeft <= 0 ) return 0;
  sqlite3_sleep(nDelay < nLeft ? nDelay : (int)nLeft);
  return 1;
}

/* (The PRAGMA is prepared each time: no statement of the store outlives
** the user's, or sqlite3_close would refuse to close.) */
static void dbstore_work_waits_begin(dbstore *p){
  sqlite3_stmt *pStmt = 0;
  int nMs = 0;
  if( sqlite3_prepare_v2(p->db, "PRAGMA busy_timeout", -1, &pStmt, 0) == SQLITE_OK
   && sqlite3_step(pStmt) == SQLITE_ROW ){
    nMs = sqlite3_column_int(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  if( nMs > 0 ){
    p->nWorkBusyMs = nMs;
    p->iWorkDeadlineMs = dbstore_now_ms() + nMs;
    sqlite3_busy_handler(p->db, dbstore_work_busy, p);
  }
}

/* Put the connection's busy_timeout back.  REQUIRES: after every
** dbstore_work_waits_begin, before the work's commit. */
static void dbstore_work_waits_end(dbstore *p){
  if( p->nWorkBusyMs > 0 ){
    sqlite3_busy_timeout(p->db, p->nWorkBusyMs);
    p->nWorkBusyMs = 0;
  }
}

/* End the work's savepoint (bOk: RELEASE it, else roll it back first).
** Outside BEGIN the work's SAVEPOINT began a transaction, and its RELEASE
** is that transaction's commit, which can fail: SQLITE_BUSY in
** rollback-journal mode while another connection reads (the commit needs
** the file's exclusive lock).  Then the work is rolled back, as SQLite
** rolls back an autocommit statement whose commit failed, so that nothing
** stays open (a transaction left open would take in the program's next
** statements unknowing, lost at close unless committed).
** An interrupt (sqlite3_interrupt) fails every statement until the calling
** one ends, the ROLLBACK included: the transaction then stays open, and
** the error says so, and what ends it.  The extension cannot end it itself
** later without guessing whether the program's own statements since were
** meant to commit.  Whatever is in it is safe to commit or to roll back:
** the work's half-written rows are unreferenced (dbstore_x_rename). */
static int dbstore_work_end(dbstore *p, int bOk, int bAutocommit, int *pbExplained){
  int rc = sqlite3_exec(p->db, bOk ? "RELEASE lsm_work" : "ROLLBACK TO lsm_work; RELEASE lsm_work",
                        0, 0, 0);
  if( rc != SQLITE_OK && bAutocommit && !sqlite3_get_autocommit(p->db) ){
    /* The message first: the ROLLBACK replaces the connection's. */
    char *zWhy = sqlite3_mprintf("%s", sqlite3_errmsg(p->db));
    if( sqlite3_exec(p->db, "ROLLBACK", 0, 0, 0) == SQLITE_OK ){
      rc = lsm_env_error(rc, "%s.%s_file: the work could not commit (%s), and was rolled"
                         " back: nothing changed%s", p->zDb, p->zTable, zWhy ? zWhy : "",
                         rc == SQLITE_BUSY ? "; retry once the other connection's read"
                         " transaction has ended (busy_timeout waits that long for it)" : "");
    }else{
      rc = lsm_env_error(rc, "%s.%s_file: interrupted, and the transaction it began for its work"
                         " is still open: COMMIT or ROLLBACK ends it (the statements run before"
                         " either go into it)", p->zDb, p->zTable);
    }
    sqlite3_free(zWhy);
    *pbExplained = 1;
  }
  return rc;
}

int dbstore_catch_up(dbstore *p){
  unsigned int iVersion = 0;
  int rc = SQLITE_OK;
  int bKnown;
  if( p->bDropped ) return SQLITE_OK;     /* nothing left to read (dbstore_drop) */
  bKnown = sqlite3_file_control(p->db, p->zFcntlDb, SQLITE_FCNTL_DATA_VERSION, &iVersion) == SQLITE_OK;
  dbstore_secure_delete_repay(p);
  if( p->bWorkInTxn ){
    /* A ROLLBACK, or a ROLLBACK TO a savepoint older than the work, may
    ** have undone it (the data version does not change for this
    ** connection's own): compare the manifest until the transaction ends. */
    p->bStale = 1;
    if( sqlite3_get_autocommit(p->db) ) p->bWorkInTxn = 0;
  }
  if( p->pLsm && bKnown && p->bChecked && !p->bStale && !p->bReload
   && iVersion == p->iDataVersion ){
    return SQLITE_OK;
  }
  if( p->pLsm && p->bReload ){
    rc = dbstore_engine_close(p);
    if( rc != SQLITE_OK ) return rc;
  }
  if( p->pLsm ){
    sqlite3_int64 iId = 0;
    rc = dbstore_row_id(p, "MANIFEST", &iId);
    if( rc != SQLITE_OK ) return dbstore_env_error(p, rc, "MANIFEST");
    if( iId != p->iManifestId ){
      rc = dbstore_engine_close(p);
      if( rc != SQLITE_OK ) return rc;
    }
  }
  if( p->pLsm == 0 ){
    rc = dbstore_engine_open(p, 0);
  }else{
    rc = dbstore_replay(p);
    if( rc != LSM_OK ){
      /* Out of step with the log (an apply failed half-way?): start over. */
      if( dbstore_engine_close(p) == SQLITE_OK ) rc = dbstore_engine_open(p, 0);
    }
  }
  if( rc == SQLITE_OK ){
    p->iDataVersion = iVersion;
    p->bChecked = bKnown;
    p->bStale = 0;
    p->bReload = 0;
  }
  /* Opening the engine read the MANIFEST: a caller with no cursor (a
  ** function such as lsm_files) may read nothing more. */
  dbstore_reads_done(p);
  return rc;
}

/* Delete the log rows every SSTable now covers (a flush's garbage: a few
** rows per flush, deleted by the COMMIT that flushed). */
static int dbstore_collect_log(dbstore *p){
  uint64_t iFlushed = 0;
  int rc = lsm_hosted_seq(p->pLsm, 0, &iFlushed);
  if( rc == LSM_OK ){
    sqlite3_stmt *pSel = 0;
    rc = dbstore_prepare(p, &pSel, "SELECT seq FROM \"%w\".\"%w_log\" WHERE seq <= ?1",
                         p->zDb, p->zTable);
    if( rc == SQLITE_OK ){
      sqlite3_bind_int64(pSel, 1, (sqlite3_int64)iFlushed);
      rc = dbstore_delete_rows(p, "log", pSel);
    }
    sqlite3_finalize(pSel);
    if( rc != SQLITE_OK && rc != SQLITE_NOMEM ) rc = dbstore_env_error(p, rc, "log");
  }
  return rc;
}

/* Delete the SSTables the manifest no longer names (a compaction's
** garbage: its inputs, as many rows as it read).  They are kept while a
** statement of this connection may still read them: while cursors or
** snapshots are open (their versions may name files not yet opened), and
** while a file of that name is open to read (a reader in the engine's
** table cache); such rows are collected at a later COMMIT (bGcPending).
** *pnDeleted (may be NULL): the SSTables deleted. */
static int dbstore_collect_files(dbstore *p, int *pnDeleted){
  lsm_file_info *aFile = 0;
  lsm_stats st;
  int nFile = 0, rc;
  dbstore_walk walk = {0, 0};

  if( pnDeleted ) *pnDeleted = 0;
  p->bGcPending = 0;
  rc = lsm_stats_get(p->pLsm, &st);
  if( rc == LSM_OK && (st.nOpenCursors || st.nOpenSnapshots) ) p->bGcPending = 1;
  if( rc != LSM_OK || p->bGcPending ) return rc;
  rc = lsm_files(p->pLsm, &aFile, &nFile);
  if( rc == LSM_OK ){
    rc = dbstore_walk_begin(p, &walk);
    if( rc != SQLITE_OK ) rc = rc == SQLITE_NOMEM ? LSM_NOMEM : dbstore_env_error(p, rc, "list");
  }
  while( rc == LSM_OK ){
    char *zName = 0;
    size_t n;
    int i, bLive = 0;
    rc = dbstore_walk_next(&walk, &zName);
    if( rc != SQLITE_OK ){
      rc = rc == SQLITE_NOMEM ? LSM_NOMEM : dbstore_env_error(p, rc, "list");
      break;
    }
    if( zName == 0 ) break;
    n = strlen(zName);
    if( n > 4 && strcmp(zName + n - 4, ".sst") == 0 ){
      for(i = 0; i < nFile && !bLive; i++) bLive = strcmp(aFile[i].zName, zName) == 0;
      if( !bLive && dbstore_is_open(p, zName) ){
        p->bGcPending = 1;
      }else if( !bLive ){
        rc = dbstore_file_delete(p, zName);
        if( rc != SQLITE_OK ) rc = dbstore_env_error(p, rc, zName);
        if( rc == LSM_OK && pnDeleted ) (*pnDeleted)++;
      }
    }
    sqlite3_free(zName);
  }
  dbstore_walk_end(&walk);
  lsm_free(aFile);
  return rc;
}

/* Both: what lsm_flush and lsm_compact leave. */
static int dbstore_collect_garbage(dbstore *p){
  int rc = dbstore_collect_log(p);
  if( rc == LSM_OK ) rc = dbstore_collect_files(p, 0);
  return rc;
}

void dbstore_begin(dbstore *p){
  p->bInWrite = 1;
}

void dbstore_cursor_opened(dbstore *p){
  p->nCursors++;
}

void dbstore_cursor_closed(dbstore *p){
  if( p->nCursors > 0 ) p->nCursors--;
  dbstore_reads_done(p);
}

void dbstore_reads_done(dbstore *p){
  if( p->nCursors == 0 ) dbstore_release_blobs(p);
}

/* Level 0 holds DBSTORE_L0_BEHIND tables or more: a COMMIT that flushed
** compacts too (dbstore_work).  Above where the leveled policy makes
** level 0 due whatever it holds (its trigger of 4 tables, or its cap of 8
** for tables of tombstones: LEVELED_L0_FULL in lsm/compaction_leveled.c,
** not public; change them together), by the trigger: so reached only
** when COMMITs flush back to back, never by the flush that makes level 0
** due, which leaves the compaction to the next COMMIT. */
#define DBSTORE_L0_BEHIND 12
/* Level-0 tables, or 0 if fewer than DBSTORE_L0_BEHIND. */
static int dbstore_level0_behind(dbstore *p){
  lsm_stats stats;
  if( lsm_stats_get(p->pLsm, &stats) != LSM_OK ) return 0;
  return stats.aLevel[0].nFiles >= DBSTORE_L0_BEHIND ? (int)stats.aLevel[0].nFiles : 0;
}

/*
** The work one COMMIT carries (issue 10 item 4), one of, in this order:
**   - a flush, if the memtable is full or a flush an earlier COMMIT's
**     xCommit started on a thread is built (lsm_work installs it: its
**     SSTable's rows, the manifest), with the deletion of the log rows it
**     covers (a few rows);
**   - the deletion of the SSTables an earlier COMMIT's compaction
**     replaced (bGcPending), if any (if none could go, because a
**     statement of this connection still reads them, the COMMIT goes on
**     to the next item: a cursor held open across COMMITs must not stop
**     compaction);
**   - at most one compaction (lsm_work), whose replaced SSTables' rows
**     are left to a later COMMIT (bGcPending); a level-0 compaction runs
**     one slice of it (about a memtable of input: lsm/db_slice.c), the
**     next COMMITs the rest.
** So a COMMIT carries the largest of the three, never their sum: in the
** slowest COMMIT of prof_write indb 1000000 overwrite the compaction took
** 1113 ms and deleting its inputs' rows 350 ms more.  A COMMIT that flushed
** leaves the compaction it made due to the next one (about 140 COMMITs of
** 1000 rows come between two flushes of the default 16 MiB memtable).
** Unless level 0 is behind: when every COMMIT fills the memtable (bulk
** loads in large transactions) none would ever compact, and every read
** would check a level 0 growing without end; such a COMMIT flushes,
** collects and runs up to as many compactions as level 0 holds tables
** (slices of a level-0 compaction, each about a memtable: four per such
** COMMIT let level 0 reach 17 tables while a slicing went on).  The rows left over are one compaction's inputs
** per connection (more while a cursor of this connection stays open across
** COMMITs: nothing is deleted then, and every compaction's inputs wait
** until it closes, as before this rule), until its next COMMIT that does not
** flush (or any connection's lsm_flush / lsm_compact); if it closes first,
** the next such COMMIT of any connection whose engine opened or reopened
** since (dbstore_engine_open: every connection's, after that compaction);
** a rollback of the COMMIT that deleted them brings them back, and
** dbstore_rollback marks them pending again.
*/
static int dbstore_work(dbstore *p){
  int rc, nFlushed = 0, nCompacted = 0, nDeleted = 0, nBehind;
  rc = lsm_work(p->pLsm, 0, &nFlushed);
  if( nFlushed || rc != LSM_OK ) p->bDidWork = 1;
  if( rc == LSM_OK && nFlushed ) rc = dbstore_collect_log(p);
  if( rc != LSM_OK ) return rc;
  nBehind = dbstore_level0_behind(p);
  if( nFlushed && !nBehind ) return LSM_OK;
  if( p->bGcPending ){
    rc = dbstore_collect_files(p, &nDeleted);
    if( rc != LSM_OK || (nDeleted > 0 && !nBehind) ) return rc;
  }
  rc = lsm_work(p->pLsm, nBehind ? nBehind : 1, &nCompacted);
  if( nCompacted || rc != LSM_OK ) p->bDidWork = 1;
  if( nCompacted ) p->bGcPending = 1;
  return rc;
}

int dbstore_sync(dbstore *p, lsm_batch *pBatch){
  uint64_t iLast = 0;
  int rc;
  if( lsm_batch_count(pBatch) == 0 || p->bDropped ) return SQLITE_OK;
  /* Two table instances sharing this store and its batch (a table
  ** connected again after a schema change in the transaction) are both
  ** synced: the batch is logged, and the work done, once.  A retried
  ** COMMIT of an unchanged batch (SQLITE_BUSY) needs nothing more either:
  ** its row and work are still in the open transaction. */
  if( p->iPendingSeq && !p->bReload && p->nSyncedOps == (int)lsm_batch_count(pBatch) ){
    return SQLITE_OK;
  }
  rc = dbstore_catch_up(p);     /* repays a secure_delete setting owed too */
  if( rc == SQLITE_OK ) rc = lsm_hosted_seq(p->pLsm, &iLast, 0);
  /* A retried COMMIT keeps the number its first attempt logged at. */
  if( rc == SQLITE_OK && p->iPendingSeq ) iLast = (uint64_t)p->iPendingSeq - 1;
  if( rc == SQLITE_OK ){
    rc = dbstore_log_write(p, pBatch, (sqlite3_int64)(iLast + 1));
    if( rc == SQLITE_OK ){
      p->iPendingSeq = (sqlite3_int64)(iLast + 1);
      p->nSyncedOps = (int)lsm_batch_count(pBatch);
    }
  }
  if( rc == SQLITE_OK ){
    dbstore_work_waits_begin(p);
    rc = dbstore_work(p);
    dbstore_work_waits_end(p);
  }
  if( rc != SQLITE_OK ) p->nSyncedOps = -1;
  /* What the work read is read: no handle outlives the COMMIT. */
  if( p->nCursors == 0 ) dbstore_release_blobs(p);
  return rc;
}

int dbstore_commit(dbstore *p, lsm_batch *pBatch){
  int rc = SQLITE_OK;
  if( p->iPendingSeq && p->pLsm && !p->bDropped ){
    rc = lsm_write_at(p->pLsm, pBatch, (uint64_t)p->iPendingSeq);
    /* The row is committed: a failure here only means this engine is out
    ** of step; it catches up from the log before it is read again. */
    if( rc != LSM_OK ) p->bStale = 1;
    /* A full memtable: its SSTable is built on a thread now, outside any
    ** transaction, and installed by a later COMMIT's dbstore_work (the
    ** engine's lsm_work), inside that COMMIT's transaction.  If it cannot
    ** start, that COMMIT flushes as it always did. */
    if( rc == LSM_OK && p->bFlushAhead ) (void)lsm_flush_ahead(p->pLsm, 0);
  }
  p->iPendingSeq = 0;
  p->nSyncedOps = -1;
  p->bDidWork = 0;
  p->bInWrite = 0;
  p->nSavepoint = 0;
  dbstore_renames_clear(p);
  dbstore_reads_done(p);
  return SQLITE_OK;
}

void dbstore_savepoint(dbstore *p, int iSavepoint){
  if( iSavepoint + 1 > p->nSavepoint ) p->nSavepoint = iSavepoint + 1;
}

void dbstore_release(dbstore *p, int iSavepoint){
  if( iSavepoint < p->nSavepoint ) p->nSavepoint = iSavepoint < 0 ? 0 : iSavepoint;
  /* A savepoint released (the DROP statement's own among them) can no
  ** longer be rolled back to; one opened later, at the same index, was
  ** opened after the DROP and does not undo it. */
  if( p->bDropped && p->iDropMark > p->nSavepoint ) p->iDropMark = p->nSavepoint;
  {
    int i;
    for(i = 0; i < p->nRename; i++){
      if( p->aRename[i].iMark > p->nSavepoint ) p->aRename[i].iMark = p->nSavepoint;
    }
  }
}

void dbstore_rollback_to(dbstore *p, int iSavepoint){
  if( p->bDropped && iSavepoint < p->iDropMark ){
    /* The DROP is undone: the shadow tables are back, in this transaction. */
    p->bDropped = 0;
    p->bInWrite = 1;
    p->bStale = 1;
  }
  if( iSavepoint >= 0 && iSavepoint < p->nSavepoint ) p->nSavepoint = iSavepoint + 1;
  dbstore_renames_undo(p, iSavepoint < 0 ? -1 : iSavepoint);
  /* A ROLLBACK TO may undo what a failed COMMIT's xSync did (a flush or a
  ** compaction whose SSTables and manifest were rows of the transaction;
  ** SQLITE_BUSY at COMMIT leaves the transaction open) while the engine
  ** still holds it, and this connection's data version does not change:
  ** compare the manifest before the next use (a reopen only if the work
  ** was undone: a cursor still open would refuse a reopen). */
  if( p->bDidWork ) p->bStale = 1;
  if( p->iPendingSeq ) p->bGcPending = 1;
  /* The batch may be shorter, or as long with other operations: log anew. */
  p->nSyncedOps = -1;
  dbstore_reads_done(p);
}

void dbstore_rollback(dbstore *p){
  /* Work done (or begun) inside the rolled-back transaction changed the
  ** engine but not the database: reopen it from the database. */
  if( p->bDidWork ) p->bReload = 1;
  /* Rows a failed COMMIT (xSync ran) deleted are back: look for them at
  ** the next. */
  if( p->iPendingSeq ) p->bGcPending = 1;
  p->iPendingSeq = 0;
  p->nSyncedOps = -1;
  p->bDidWork = 0;
  p->bInWrite = 0;
  p->bDropped = 0;           /* the rollback brought the shadow tables back */
  p->nSavepoint = 0;
  dbstore_renames_undo(p, -1);
  dbstore_reads_done(p);
}

int dbstore_flush_or_compact(dbstore *p, int bCompact, lsm_compact_result *pResult){
  sqlite3_int64 iLastRowid = sqlite3_last_insert_rowid(p->db);   /* the user's, kept */
  int bAutocommit = sqlite3_get_autocommit(p->db);
  int rc;
  char *zSql;
  if( ext_replicated_by && sqlite3_get_autocommit(p->db) ){
    /* Outside BEGIN the work would commit on its own, mid-statement: a
    ** replicator that ships the program's COMMITs (dqlite) never sees it. */
    return lsm_env_error(SQLITE_ERROR, "%s replicates what a COMMIT writes: call %s"
                         " between BEGIN and COMMIT", ext_replicated_by,
                         bCompact ? "lsm_compact" : "lsm_flush");
  }
  /* Inside BEGIN the work is undone by a ROLLBACK or ROLLBACK TO that this
  ** store may not be told of (the table need not be in the transaction):
  ** catch-up compares the manifest until the transaction has ended. */
  if( !sqlite3_get_autocommit(p->db) ){
    p->bWorkInTxn = 1;
    p->bDidWork = 1;
  }
  rc = sqlite3_exec(p->db, "SAVEPOINT lsm_work", 0, 0, 0);
  if( rc != SQLITE_OK ) return dbstore_env_error(p, rc, "SAVEPOINT");
  /* Take the schema's write lock before anything reads it: SQLite calls
  ** the busy handler (busy_timeout) when a write transaction begins, never
  ** when a read transaction is upgraded to write, so after a read another
  ** connection's write transaction would fail the work at once with
  ** "database is locked".  A DELETE that matches nothing begins the write
  ** transaction of this schema only (BEGIN IMMEDIATE would lock every
  ** attached database).  Where a read transaction is already open (the
  ** enclosing transaction read, or the calling statement reads) it is an
  ** upgrade as before, as for an INSERT there. */
  zSql = sqlite3_mprintf("DELETE FROM \"%w\".\"%w_log\" WHERE 0", p->zDb, p->zTable);
  rc = zSql ? sqlite3_exec(p->db, zSql, 0, 0, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if( rc != SQLITE_OK ){
    /* The message first: the rollback below replaces the connection's. */
    if( rc != SQLITE_NOMEM ) rc = dbstore_env_error(p, rc, "write lock");
    {
      int bExplained = 0;
      int rc2 = dbstore_work_end(p, 0, bAutocommit, &bExplained);
      if( bExplained ) rc = rc2;                    /* its message says what to do */
    }
    return rc;
  }
  p->bStale = 1;
  dbstore_work_waits_begin(p);
  rc = dbstore_catch_up(p);
  if( rc == SQLITE_OK ){
    rc = bCompact ? lsm_compact(p->pLsm, pResult) : lsm_flush(p->pLsm);
    if( rc != SQLITE_OK ) p->bReload = 1;     /* half done: start over from the database */
  }
  if( rc == SQLITE_OK ) rc = dbstore_collect_garbage(p);
  dbstore_work_waits_end(p);
  /* A handle on a row the rollback removes must not be read again. */
  if( rc != SQLITE_OK ) dbstore_release_blobs(p);
  {
    int bExplained = 0;
    int rc2 = dbstore_work_end(p, rc == SQLITE_OK, bAutocommit, &bExplained);
    if( bExplained ){
      rc = rc2;                                    /* its message says what to do */
    }else if( rc == SQLITE_OK && rc2 != SQLITE_OK ){
      rc = dbstore_env_error(p, rc2, "RELEASE");
    }
  }
  /* Whatever happens to the enclosing transaction, compare before the
  ** next read; after a failure, start over from the database. */
  p->bStale = 1;
  if( rc != SQLITE_OK ) p->bReload = 1;
  dbstore_reads_done(p);
  sqlite3_set_last_insert_rowid(p->db, iLastRowid);
  return rc;
}

int dbstore_drop(dbstore *p){
  char *zSql;
  int rc = dbstore_engine_close(p);
  if( rc != SQLITE_OK ) return rc;
  /* Another instance may share this store (vtab_open_store): it must
  ** neither log into the dropped tables nor be shared again. */
  p->bDropped = 1;
  p->iDropMark = p->nSavepoint;
  p->bInWrite = 0;
  zSql = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\".\"%w_file\";"
                         "DROP TABLE IF EXISTS \"%w\".\"%w_log\";",
                         p->zDb, p->zTable, p->zDb, p->zTable);
  if( zSql == 0 ) return SQLITE_NOMEM;
  rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  return rc;
}

int dbstore_rename(dbstore *p, const char *zNew){
  char *zSql, *zTable, *zOld;
  dbstore_rename_undo *aNew;
  int rc = dbstore_engine_close(p);
  if( rc != SQLITE_OK ) return rc;
  aNew = sqlite3_realloc64(p->aRename, sizeof(*aNew) * (size_t)(p->nRename + 1));
  if( aNew == 0 ) return SQLITE_NOMEM;
  p->aRename = aNew;
  zSql = sqlite3_mprintf("ALTER TABLE \"%w\".\"%w_file\" RENAME TO \"%w_file\";"
                         "ALTER TABLE \"%w\".\"%w_log\" RENAME TO \"%w_log\";",
                         p->zDb, p->zTable, zNew, p->zDb, p->zTable, zNew);
  zTable = sqlite3_mprintf("%s", zNew);
  zOld = sqlite3_mprintf("%s", p->zTable);
  if( zSql == 0 || zTable == 0 || zOld == 0 ){
    rc = SQLITE_NOMEM;
  }else{
    rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
  }
  sqlite3_free(zSql);
  if( rc == SQLITE_OK ){
    rc = dbstore_set_name(p, zTable);
    zTable = 0;
  }
  if( rc == SQLITE_OK && !p->bInWrite && sqlite3_get_autocommit(p->db) ){
    /* No transaction to remember it for.  (SQLite calls xBegin on the
    ** table it renames, and a table created in the open transaction is in
    ** it from its CREATE without an xBegin: both hear the transaction's
    ** end, which forgets what is remembered.) */
    sqlite3_free(zOld);
    p->bStale = 1;
  }else if( rc == SQLITE_OK ){
    /* Remembered until the transaction ends: a ROLLBACK (TO) takes it back. */
    p->aRename[p->nRename].zTable = zOld;
    p->aRename[p->nRename].iMark = p->nSavepoint;
    p->nRename++;
    p->bStale = 1;
  }else{
    sqlite3_free(zTable);
    sqlite3_free(zOld);
  }
  return rc;
}
