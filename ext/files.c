/*
** files.c — lsm_files(table): one row per SSTable of an lsm table.
**
** Usage:
**
**     CREATE VIRTUAL TABLE kv USING lsm;
**     INSERT INTO kv SELECT value, 'v' || value FROM generate_series(1, 1000);
**     SELECT lsm_flush('kv');
**     SELECT level, file, bytes, entries, tombstones, smallest, largest, location
**       FROM lsm_files('kv');                 -- 0|000004.sst|...|1|1000|main.kv_file
**     SELECT count(*) FROM lsm_files('aux.kv');
**     SELECT * FROM lsm_files WHERE tbl = 'kv';   -- the same, as a constraint
**
** An eponymous-only table-valued function (SQLite series.c style): the
** hidden column tbl is the argument, required (xBestIndex refuses a plan
** without "tbl = ?").  xFilter finds the table as the SQL functions do
** (functions_lookup, functions.c: preparing a statement that names the
** table connects it) and copies the engine's file list (lsm_files, owned
** by the cursor until the next xFilter or xClose); smallest and largest
** are decoded back into SQL values (keycodec.c), so they have the key's
** own type.  It only reads.
*/
#include "ext.h"

#include <string.h>

#define FILES_COL_LEVEL      0
#define FILES_COL_FILE       1
#define FILES_COL_BYTES      2
#define FILES_COL_ENTRIES    3
#define FILES_COL_TOMBSTONES 4
#define FILES_COL_SMALLEST   5
#define FILES_COL_LARGEST    6
#define FILES_COL_LOCATION   7    /* where: "main.kv_file", a directory, ":memory:" */
#define FILES_COL_TABLE      8    /* hidden: the argument */

typedef struct files_vtab {
  sqlite3_vtab base;         /* base class: must be first */
  sqlite3 *db;               /* the connection (the module's pAux) */
} files_vtab;

typedef struct files_cursor {
  sqlite3_vtab_cursor base;  /* base class: must be first */
  lsm_file_info *aFile;      /* from lsm_files (lsm_free) */
  int nFile;                 /* rows */
  int iFile;                 /* current row */
  char *zTable;              /* the argument (sqlite3_free) */
  char *zLocation;           /* where the table's SSTables are (sqlite3_free) */
} files_cursor;

static int files_connect(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                        sqlite3_vtab **ppVtab, char **pzErr){
  files_vtab *pVtab;
  int rc;
  (void)argc; (void)argv; (void)pzErr;
  rc = sqlite3_declare_vtab(db,
      "CREATE TABLE x(level INTEGER, file TEXT, bytes INTEGER, entries INTEGER,"
      " tombstones INTEGER, smallest, largest, location TEXT, tbl HIDDEN)");
  if( rc != SQLITE_OK ) return rc;
  /* It only reads: usable in views and triggers under trusted_schema=OFF. */
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  pVtab = sqlite3_malloc(sizeof(*pVtab));
  if( pVtab == 0 ) return SQLITE_NOMEM;
  memset(pVtab, 0, sizeof(*pVtab));
  pVtab->db = (sqlite3*)pAux;
  *ppVtab = &pVtab->base;
  return SQLITE_OK;
}

/* The table argument is required: a plan without it is refused. */
static int files_best_index(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  int i;
  (void)pVtab;
  for(i = 0; i < pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *pC = &pInfo->aConstraint[i];
    if( pC->iColumn == FILES_COL_TABLE && pC->op == SQLITE_INDEX_CONSTRAINT_EQ ){
      if( !pC->usable ) return SQLITE_CONSTRAINT;
      pInfo->aConstraintUsage[i].argvIndex = 1;
      pInfo->aConstraintUsage[i].omit = 1;
      pInfo->estimatedCost = 10;
      pInfo->estimatedRows = 10;
      return SQLITE_OK;
    }
  }
  sqlite3_free(pVtab->zErrMsg);
  pVtab->zErrMsg = sqlite3_mprintf("lsm_files: give the table name: lsm_files('kv')");
  return SQLITE_ERROR;
}

static int files_disconnect(sqlite3_vtab *pVtab){
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

static int files_open(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor){
  files_cursor *pCsr = sqlite3_malloc(sizeof(*pCsr));
  (void)pVtab;
  if( pCsr == 0 ) return SQLITE_NOMEM;
  memset(pCsr, 0, sizeof(*pCsr));
  *ppCursor = &pCsr->base;
  return SQLITE_OK;
}

static int files_close(sqlite3_vtab_cursor *pCursor){
  files_cursor *pCsr = (files_cursor*)pCursor;
  lsm_free(pCsr->aFile);
  sqlite3_free(pCsr->zTable);
  sqlite3_free(pCsr->zLocation);
  sqlite3_free(pCsr);
  return SQLITE_OK;
}

static int files_filter(sqlite3_vtab_cursor *pCursor, int idxNum, const char *idxStr,
                       int argc, sqlite3_value **argv){
  files_cursor *pCsr = (files_cursor*)pCursor;
  sqlite3_vtab *pVtab = pCursor->pVtab;
  const char *zName;
  vtab_table *pTab = 0;
  int rc;
  (void)idxNum; (void)idxStr;

  lsm_free(pCsr->aFile);
  sqlite3_free(pCsr->zTable);
  sqlite3_free(pCsr->zLocation);
  pCsr->aFile = 0;
  pCsr->nFile = pCsr->iFile = 0;
  pCsr->zTable = 0;
  pCsr->zLocation = 0;
  if( argc < 1 ) return SQLITE_OK;
  zName = (const char*)sqlite3_value_text(argv[0]);
  if( zName == 0 ) return SQLITE_OK;
  pCsr->zTable = sqlite3_mprintf("%s", zName);
  if( pCsr->zTable == 0 ) return SQLITE_NOMEM;

  {
    char *zWhy = 0;
    rc = SQLITE_ERROR;
    pTab = functions_lookup(((files_vtab*)pVtab)->db, zName, &rc, &zWhy);
    if( pTab == 0 || pTab->pLsm == 0 ){
      sqlite3_free(pVtab->zErrMsg);
      pVtab->zErrMsg = functions_not_found("lsm_files", zName, zWhy, &rc);
      sqlite3_free(zWhy);
      return rc == SQLITE_OK ? SQLITE_ERROR : rc;
    }
  }
  pCsr->zLocation = sqlite3_mprintf("%s", vtab_store_location(pTab));
  if( pCsr->zLocation == 0 ) return SQLITE_NOMEM;
  rc = lsm_files(pTab->pLsm, &pCsr->aFile, &pCsr->nFile);
  if( rc != LSM_OK ){
    const char *z = lsm_errmsg(pTab->pLsm);
    sqlite3_free(pVtab->zErrMsg);
    pVtab->zErrMsg = sqlite3_mprintf("lsm_files(%s): %s", zName,
                                     (z && z[0]) ? z : lsm_errstr(rc));
    pCsr->aFile = 0;
    pCsr->nFile = 0;
  }
  return rc;
}

static int files_next(sqlite3_vtab_cursor *pCursor){
  ((files_cursor*)pCursor)->iFile++;
  return SQLITE_OK;
}

static int files_eof(sqlite3_vtab_cursor *pCursor){
  files_cursor *pCsr = (files_cursor*)pCursor;
  return pCsr->iFile >= pCsr->nFile;
}

static int files_column(sqlite3_vtab_cursor *pCursor, sqlite3_context *ctx, int iCol){
  files_cursor *pCsr = (files_cursor*)pCursor;
  const lsm_file_info *pF = &pCsr->aFile[pCsr->iFile];
  switch( iCol ){
    case FILES_COL_LEVEL:      sqlite3_result_int(ctx, pF->iLevel); break;
    case FILES_COL_FILE:       sqlite3_result_text(ctx, pF->zName, -1, SQLITE_TRANSIENT); break;
    case FILES_COL_BYTES:      sqlite3_result_int64(ctx, (sqlite3_int64)pF->nBytes); break;
    case FILES_COL_ENTRIES:    sqlite3_result_int64(ctx, (sqlite3_int64)pF->nEntries); break;
    case FILES_COL_TOMBSTONES: sqlite3_result_int64(ctx, (sqlite3_int64)pF->nTombstones); break;
    case FILES_COL_SMALLEST:   return keycodec_decode(pF->pSmallest, pF->nSmallest, ctx);
    case FILES_COL_LARGEST:    return keycodec_decode(pF->pLargest, pF->nLargest, ctx);
    case FILES_COL_LOCATION:   sqlite3_result_text(ctx, pCsr->zLocation, -1, SQLITE_TRANSIENT); break;
    default:
      sqlite3_result_text(ctx, pCsr->zTable, -1, SQLITE_TRANSIENT);
      break;
  }
  return SQLITE_OK;
}

static int files_rowid(sqlite3_vtab_cursor *pCursor, sqlite3_int64 *pRowid){
  *pRowid = ((files_cursor*)pCursor)->iFile + 1;
  return SQLITE_OK;
}

sqlite3_module files_module = {
  0,                  /* iVersion */
  0,                  /* xCreate: none, eponymous only */
  files_connect,      /* xConnect */
  files_best_index,   /* xBestIndex: requires the table argument */
  files_disconnect,   /* xDisconnect */
  0,                  /* xDestroy */
  files_open,         /* xOpen */
  files_close,        /* xClose */
  files_filter,       /* xFilter: lsm_files() of the named table */
  files_next,         /* xNext */
  files_eof,          /* xEof */
  files_column,       /* xColumn */
  files_rowid,        /* xRowid */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0   /* read-only, no transactions */
};

