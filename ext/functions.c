/*
** functions.c — SQL functions over lsm tables.
**
** Usage:
**
**     SELECT lsm_version();                    -- '0.2.0' (LSM_VERSION, sqlite3_lsm.h)
**     SELECT lsm_flush('kv');                  -- {"tables":["main.kv"],"ms":3}
**     SELECT lsm_flush();                      -- every lsm table of every schema
**     SELECT lsm_compact('kv');                -- {"tables":["main.kv"],"bytes_before":...}
**     SELECT lsm_compact();                    -- every lsm table of every schema
**     SELECT lsm_stats('kv') ->> '$.writes.write_amplification';
**     SELECT lsm_check('aux.kv');              -- 'ok', or the problems found
**
** A table argument is a table name, optionally qualified by its schema
** ('aux.kv'), resolved as SQLite resolves names.  The functions need the
** table connected on this connection, so they first prepare a statement
** that names it (which connects it, as any query would), then find it in
** registry.c's list of open tables.  With no argument, lsm_flush and
** lsm_compact find every lsm table of every attached schema through
** sqlite_schema (every virtual table, its module name and arguments
** parsed by args_parse_sql), whether or not this connection has
** used it yet, and act once per store (tables naming the same directory
** share one engine).  Tables opened read-only (readonly=on, or in a
** database opened read-only) are skipped there (and connected last, so
** that a writable table of the same store opens it first), and refused
** when named.
**
** lsm_version, lsm_stats and lsm_check only read, and are registered
** SQLITE_INNOCUOUS (usable in views and triggers, also with PRAGMA
** trusted_schema=OFF); lsm_flush and lsm_compact change the store and are
** SQLITE_DIRECTONLY (top-level SQL only).  lsm_files is in files.c.
**
** They act on the engine, that is on committed data: inside a transaction
** the pending writes stay in the table's batch (txn.c), so ROLLBACK still
** undoes them.
**
** JSON is built with a JSON string escaper (functions_append_json_name),
** never with SQL quoting: a table named we"ird is "main.we\"ird".
**
** lsm_compact returns
**     {"tables":[...],"bytes_before":B,"bytes_after":B,"entries_before":N,
**      "entries_after":N,"tombstones_dropped":N,"ms":T}
** lsm_flush returns {"tables":[...],"ms":T}.
** lsm_stats returns (a ratio is null when its denominator is 0)
**     {"table":"main.kv",
**      "memtable":{"entries":N,"bytes":B},
**      "levels":[{"level":0,"files":N,"bytes":B,"entries":N,"tombstones":N,
**                 "compaction_bytes_read":B,"compaction_bytes_written":B,
**                 "bytes_from_above":B,"write_amplification":written/from_above},...],
**      "wal_file_bytes":B,
**      "writes":{"user_bytes":B,"wal_bytes":B,"flush_bytes":B,"compaction_bytes":B,
**                "compaction_read_bytes":B,"flushes":N,"compactions":N,
**                "l0_slice_tables":N,
**                "write_amplification":(wal+flush+compaction)/user},
**      "reads":{"gets":N,"sst_probes":N,"read_amplification":sst_probes/gets,
**               "seeks":N,"seek_sst_probes":N,
**               "seek_read_amplification":seek_sst_probes/seeks,
**               "bloom_checks":N,"bloom_negatives":N,
**               "bloom_false_positives":N,
**               "bloom_false_positive_rate":false_positives/(false_positives+negatives)},
**      "space":{"live_bytes":B,"disk_bytes":B,"space_amplification":disk/live},
**      "stalls":{"count":N,"micros":T},
**      "table_cache":{"open_tables":N,"bytes":N,"misses":N},
**      "block_cache":{"bytes":N,"mapped_bytes":N,"overflow_bytes":N,"slab_moves":N,
**                     "not_cached":N,"hits":N,"misses":N}}
** "block_cache" "bytes" of a table in the database file are those of the
** process's one cache, shared by every such table of every connection
** (dbstore.c); "hits" and "misses" are the table's own.  "mapped_bytes"
** is the memory the cache's slabs hold (lsm/block_memory.c), "bytes"
** what it charges for its blocks, "overflow_bytes" the bytes (spares
** included) malloc holds though a slab could (the slabs at their limit), "slab_moves" the
** slabs emptied for another size class (lsm/block_cache.c, move_slab),
** "not_cached" the blocks read but left out of the cache to keep it within
** its memory bound (their size class had no room: overflow_full).
** "l0_slice_tables" is the number of level-0 tables of a level-0
** compaction running in slices over several COMMITs (an in-database
** table: lsm/db_slice.c), 0 when none is in progress.
** "levels" lists, in level order, only the levels that hold files or that
** were written to since the store was opened; "level" is its number.
** "wal_file_bytes" is the size of the current WAL file now;
** "writes.wal_bytes" the bytes written to WAL files since open.  Every
** counter (writes, reads, stalls, per-level compaction bytes) counts from
** the moment this process opened the store: it restarts at 0 when the
** store is next opened (the engine keeps no counters on disk).
** live_bytes is measured by a scan of the committed rows (key + record
** bytes of each live row), so lsm_stats costs a full scan.
*/
#include "ext.h"

#include <string.h>
#include <time.h>

/* ---- finding tables ---- */

/*
** The names of db's schemas in SQLite's order: main, temp, then the
** attached schemas in the order they were attached.  *pazName: an array of *pnName names, each and the
** array sqlite3_free'd by the caller (functions_names_free).
**
** sqlite3_db_name (SQLite 3.39) needs no SQL, so neither a user's table
** named pragma_database_list (which hides that table-valued pragma from
** every statement) nor an authorizer that denies PRAGMA stops it.  Before
** 3.39 (3.38 is the least lsm.so loads into) the table-valued pragma is
** read, with those two limits.
*/
static int functions_schema_names(sqlite3 *db, char ***pazName, int *pnName){
  char **azName = 0;
  int nName = 0, rc = SQLITE_OK, i;
  sqlite3_stmt *pStmt = 0;
  *pazName = 0;
  *pnName = 0;
  if( sqlite3_libversion_number() < 3039000 ){
    rc = sqlite3_prepare_v2(db, "SELECT name FROM pragma_database_list", -1, &pStmt, 0);
  }
  for(i = 0; rc == SQLITE_OK; i++){
    const char *z;
    char **azNew;
    if( pStmt ){
      z = sqlite3_step(pStmt) == SQLITE_ROW ? (const char*)sqlite3_column_text(pStmt, 0) : 0;
    }else{
#if SQLITE_VERSION_NUMBER >= 3039000
      z = sqlite3_db_name(db, i);
#else
      z = 0;
#endif
    }
    if( z == 0 ) break;
    azNew = sqlite3_realloc64(azName, sizeof(char*) * (size_t)(nName + 1));
    if( azNew == 0 ){ rc = SQLITE_NOMEM; break; }
    azName = azNew;
    if( (azName[nName] = sqlite3_mprintf("%s", z)) == 0 ){ rc = SQLITE_NOMEM; break; }
    nName++;
  }
  if( pStmt && sqlite3_finalize(pStmt) != SQLITE_OK && rc == SQLITE_OK ){
    rc = sqlite3_errcode(db);
  }
  *pazName = azName;
  *pnName = nName;
  return rc;
}

static void functions_names_free(char **azName, int nName){
  int i;
  for(i = 0; i < nName; i++) sqlite3_free(azName[i]);
  sqlite3_free(azName);
}

/*
** The schema in which SQLite finds the unqualified table (or view) zName,
** in *pzDb (sqlite3_free; NULL if none has it).  SQLite's rule
** (sqlite3LocateTable): temp first, then main, then the attached schemas
** in the order they were attached; names compare without regard to ASCII
** case.  The function must act
** on the table a query of the same name reads: an lsm table of a later
** schema hidden by a table of an earlier one (native or lsm) is not the
** one named.
*/
static int functions_schema_of(sqlite3 *db, const char *zName, char **pzDb){
  char **azName = 0;
  int nName = 0, iPass, i;
  int rc = functions_schema_names(db, &azName, &nName);
  *pzDb = 0;
  /* Two passes: temp, then every other schema in order. */
  for(iPass = 0; iPass < 2; iPass++){
    for(i = 0; rc == SQLITE_OK && *pzDb == 0 && i < nName; i++){
      sqlite3_stmt *pFind = 0;
      char *zSql;
      if( (sqlite3_stricmp(azName[i], "temp") == 0) != (iPass == 0) ) continue;
      zSql = sqlite3_mprintf("SELECT 1 FROM \"%w\".sqlite_schema"
                             " WHERE type IN ('table', 'view') AND name = ?1 COLLATE NOCASE",
                             azName[i]);
      rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pFind, 0) : SQLITE_NOMEM;
      sqlite3_free(zSql);
      if( rc == SQLITE_OK ) rc = sqlite3_bind_text(pFind, 1, zName, -1, SQLITE_STATIC);
      if( rc == SQLITE_OK && sqlite3_step(pFind) == SQLITE_ROW ){
        *pzDb = sqlite3_mprintf("%s", azName[i]);
        if( *pzDb == 0 ) rc = SQLITE_NOMEM;
      }
      if( pFind && sqlite3_finalize(pFind) != SQLITE_OK && rc == SQLITE_OK ){
        rc = sqlite3_errcode(db);
      }
    }
  }
  functions_names_free(azName, nName);
  return rc;
}

/*
** Connect table zName of schema zDb (NULL: resolved as SQLite does) on db
** and return it from registry.c's list; NULL if db has no such lsm table.
** Preparing a statement that names a virtual table connects it.  If that
** fails (no such table, or the store cannot be opened: locked, corrupt),
** *pRc and *pzErr (sqlite3_mprintf) say why, unless already set.
*/
static vtab_table *functions_connect(sqlite3 *db, const char *zDb, const char *zName,
                                     int *pRc, char **pzErr){
  vtab_table *pTab = 0;
  sqlite3_stmt *pStmt = 0;
  char *zFound = 0;          /* the schema SQLite finds a bare zName in (sqlite3_free) */
  char *zSql;
  int rc = zDb ? SQLITE_OK : functions_schema_of(db, zName, &zFound);
  if( zFound ) zDb = zFound;
  zSql = zDb ? sqlite3_mprintf("SELECT 1 FROM \"%w\".\"%w\" LIMIT 0", zDb, zName)
             : sqlite3_mprintf("SELECT 1 FROM \"%w\" LIMIT 0", zName);
  if( rc == SQLITE_OK ) rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  if( rc == SQLITE_OK && zDb ){
    pTab = registry_find_table(db, zDb, zName);
    /* An in-database store catches up with this connection's view. */
    if( pTab && (rc = vtab_ready(pTab)) != SQLITE_OK ){
      if( *pzErr == 0 ){
        *pRc = rc;
        *pzErr = sqlite3_mprintf("%s", pTab->base.zErrMsg ? pTab->base.zErrMsg : lsm_errstr(rc));
      }
      pTab = 0;
    }
  }else if( *pzErr == 0 ){
    *pRc = rc;
    *pzErr = sqlite3_mprintf("%s", rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  sqlite3_free(zSql);
  sqlite3_free(zFound);
  return pTab;
}

/*
** The table named z: "aux.kv" names table kv of schema aux, unless there
** is none and a table is literally named "aux.kv"; "kv" is resolved as
** SQLite resolves names.  A name with several dots is split at each in
** turn, leftmost first, so that a schema whose name holds a dot is named
** as the functions print it ("a.b.kv": table kv of schema "a.b", bug hunt
** 5; before, only "a" and "b.kv" were tried).  NULL with *pRc, *pzErr as
** for functions_connect: the first failure other than a split naming no
** table (a table that exists but would not open: locked, corrupt), else
** the first.
*/
vtab_table *functions_lookup(sqlite3 *db, const char *z, int *pRc, char **pzErr){
  const char *zDot = strchr(z, '.');
  vtab_table *pTab = 0;
  while( zDot && pTab == 0 ){
    char *zDb = sqlite3_mprintf("%.*s", (int)(zDot - z), z);
    int rcSplit = SQLITE_OK;
    char *zSplit = 0;
    if( zDb ) pTab = functions_connect(db, zDb, zDot + 1, &rcSplit, &zSplit);
    sqlite3_free(zDb);
    if( zSplit ){
      /* Keep it if nothing is kept yet, or if it says more than "no such
      ** table" where the kept one does not (review: a locked table of a
      ** dotted schema was reported as missing). */
      int bNotFound = sqlite3_strglob("no such table: *", zSplit) == 0;
      if( *pzErr == 0 || (!bNotFound && sqlite3_strglob("no such table: *", *pzErr) == 0) ){
        sqlite3_free(*pzErr);
        *pzErr = zSplit;
        *pRc = rcSplit;
      }else{
        sqlite3_free(zSplit);
      }
    }
    zDot = strchr(zDot + 1, '.');
  }
  if( pTab == 0 ) pTab = functions_connect(db, 0, z, pRc, pzErr);
  if( pTab ){
    sqlite3_free(*pzErr);
    *pzErr = 0;
    *pRc = SQLITE_OK;
  }
  return pTab;
}

/* The message for a table that lookup did not give: SQLite's reason when
** the table exists but would not open, else "no such lsm table". */
char *functions_not_found(const char *zFunc, const char *z, const char *zWhy, int *pRc){
  if( zWhy && sqlite3_strglob("no such table: *", zWhy) != 0 ){
    return sqlite3_mprintf("%s(%s): %s", zFunc, z, zWhy);
  }
  *pRc = SQLITE_ERROR;
  return sqlite3_mprintf("%s: no such lsm table: %s", zFunc, z);
}

/* The table named by z for function zFunc, or NULL with ctx's error set. */
static vtab_table *functions_table(sqlite3_context *ctx, const char *zFunc, const char *z){
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  vtab_table *pTab = 0;
  char *zWhy = 0;
  char *zErr = 0;
  int rc = SQLITE_ERROR;
  if( z == 0 ){
    zErr = sqlite3_mprintf("%s: the table name must be text", zFunc);
  }else if( (pTab = functions_lookup(db, z, &rc, &zWhy)) == 0 ){
    zErr = functions_not_found(zFunc, z, zWhy, &rc);
  }else if( pTab->pLsm == 0 ){
    zErr = sqlite3_mprintf("%s: lsm table %s has lost its store", zFunc, z);
    rc = SQLITE_ERROR;
    pTab = 0;
  }
  if( pTab == 0 ){
    sqlite3_result_error(ctx, zErr ? zErr : "out of memory", -1);
    sqlite3_result_error_code(ctx, rc);
  }
  sqlite3_free(zErr);
  sqlite3_free(zWhy);
  return pTab;
}

static void functions_engine_error(sqlite3_context *ctx, const char *zFunc,
                                   vtab_table *pTab, int rc);

/*
** A reading function (lsm_stats, lsm_check) on an in-database table, at the
** state the connection's next read transaction sees.  SELECT lsm_stats('kv')
** reads no table itself, so SQLite starts no read transaction for it and
** SQLITE_FCNTL_DATA_VERSION, which catch-up trusts, is not brought up to
** date: another connection's COMMIT would go unseen.  So hold a read
** transaction for the function's length, with a statement stepped on the
** table's shadow table (one row whatever it holds), and catch up inside
** it.  *ppHold: finalize when the function is done.  On error sets ctx's.
*/
static int functions_read_begin(sqlite3_context *ctx, const char *zFunc, vtab_table *pTab,
                                sqlite3_stmt **ppHold){
  char *zSql;
  int rc;
  *ppHold = 0;
  if( pTab->pStore == 0 ) return SQLITE_OK;
  zSql = sqlite3_mprintf("SELECT (SELECT 1 FROM \"%w\".\"%w_file\" LIMIT 1)",
                         pTab->zDb, pTab->zName);
  rc = zSql ? sqlite3_prepare_v2(pTab->db, zSql, -1, ppHold, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if( rc == SQLITE_OK && sqlite3_step(*ppHold) != SQLITE_ROW ){
    rc = sqlite3_errcode(pTab->db);
    if( rc == SQLITE_OK ) rc = SQLITE_ERROR;
  }
  if( rc == SQLITE_OK ){
    rc = vtab_ready(pTab);
    if( rc != SQLITE_OK ){
      functions_engine_error(ctx, zFunc, pTab, rc);
      return rc;
    }
  }else{
    char *zErr = sqlite3_mprintf("%s(%s): %s", zFunc, pTab->zName, sqlite3_errmsg(pTab->db));
    sqlite3_result_error(ctx, zErr ? zErr : "out of memory", -1);
    sqlite3_result_error_code(ctx, rc);
    sqlite3_free(zErr);
  }
  return rc;
}

/* A growing list of tables, one per store. */
typedef struct functions_list {
  vtab_table **aTab;         /* sqlite3_free */
  int nTab;                  /* entries */
} functions_list;

/* Add pTab unless a table of the same store is in the list. */
static int functions_list_add(functions_list *pList, vtab_table *pTab){
  vtab_table **aNew;
  int i;
  for(i = 0; i < pList->nTab; i++){
    if( pList->aTab[i]->pLsm == pTab->pLsm ) return SQLITE_OK;
  }
  aNew = sqlite3_realloc64(pList->aTab, sizeof(*aNew) * (size_t)(pList->nTab + 1));
  if( aNew == 0 ) return SQLITE_NOMEM;
  pList->aTab = aNew;
  pList->aTab[pList->nTab++] = pTab;
  return SQLITE_OK;
}

/*
** Every writable lsm table of every schema, connected, one per store.
** The schema query yields (schema, table) pairs; each is connected after
** the query is finished.  On error sets ctx's error.
*/
static int functions_all_tables(sqlite3_context *ctx, functions_list *pList){
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  sqlite3_str *pSql = sqlite3_str_new(db);
  sqlite3_stmt *pStmt = 0;
  char **azPair = 0;          /* schema, table, schema, table, ... (sqlite3_free each) */
  int nPair = 0;
  int *aReadonly = 0;         /* per pair: opened read-only (readonly=on, or a read-only database) */
  int bReported = 0;          /* ctx's error is set */
  char **azName = 0;          /* schema names (functions_schema_names) */
  int nName = 0;
  char *zSql;
  int rc;
  int i;

  /* One query over every schema's sqlite_schema.  Every virtual table is
  ** read, whatever the spelling of its module ("lsm", [lsm], a line break
  ** before it): args_parse_sql reads the module name as SQLite does. */
  rc = functions_schema_names(db, &azName, &nName);
  for(i = 0; rc == SQLITE_OK && i < nName; i++){
    sqlite3_str_appendf(pSql,
        "%sSELECT %Q, name, sql FROM \"%w\".sqlite_schema WHERE type = 'table'"
        " AND sql LIKE 'CREATE VIRTUAL TABLE%%'",
        i ? " UNION ALL " : "", azName[i], azName[i]);
  }
  functions_names_free(azName, nName);
  /* sqlite3_str_finish gives NULL for an empty string too (no schema
  ** listed: nothing to do), not only when out of memory. */
  if( rc == SQLITE_OK ) rc = sqlite3_str_errcode(pSql);
  zSql = sqlite3_str_finish(pSql);
  if( rc == SQLITE_OK && zSql ) rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  while( rc == SQLITE_OK && pStmt && sqlite3_step(pStmt) == SQLITE_ROW ){
    char **azNew;
    int *aNew;
    ext_args args;
    char *zIgnored = 0;
    int rcArgs = args_parse_sql(db, (const char*)sqlite3_column_text(pStmt, 0),
                                (const char*)sqlite3_column_text(pStmt, 1),
                                (const char*)sqlite3_column_text(pStmt, 2), &args, &zIgnored);
    int bReadonly = rcArgs == SQLITE_OK && args.opt.readonly;
    args_clear(&args);
    sqlite3_free(zIgnored);
    if( rcArgs == SQLITE_NOTFOUND ) continue;       /* another module */
    if( rcArgs == SQLITE_NOMEM ){ rc = SQLITE_NOMEM; break; }
    /* Arguments that no longer parse: connecting the table says why. */
    if( sqlite3_db_readonly(db, (const char*)sqlite3_column_text(pStmt, 0)) == 1 ) bReadonly = 1;
    azNew = sqlite3_realloc64(azPair, sizeof(char*) * (size_t)(nPair + 2));
    if( azNew == 0 ){ rc = SQLITE_NOMEM; break; }
    azPair = azNew;
    aNew = sqlite3_realloc64(aReadonly, sizeof(int) * (size_t)(nPair / 2 + 1));
    if( aNew == 0 ){ rc = SQLITE_NOMEM; break; }
    aReadonly = aNew;
    aReadonly[nPair / 2] = bReadonly;
    azPair[nPair++] = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 0));
    azPair[nPair++] = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 1));
    if( azPair[nPair - 2] == 0 || azPair[nPair - 1] == 0 ) rc = SQLITE_NOMEM;
  }
  if( pStmt && sqlite3_finalize(pStmt) != SQLITE_OK && rc == SQLITE_OK ){
    rc = sqlite3_errcode(db);
  }

  /* Tables that say readonly go last: a store opened first by a readonly
  ** table could not be shared by a writable one (registry.c). */
  for(i = 0; rc == SQLITE_OK && i < 2 * nPair; i += 2){
    int iPair = i % nPair;
    char *zWhy = 0;
    int rcWhy = SQLITE_OK;
    vtab_table *pTab;
    if( (i < nPair) == (aReadonly[iPair / 2] != 0) ) continue;
    pTab = functions_connect(db, azPair[iPair], azPair[iPair + 1], &rcWhy, &zWhy);
    if( pTab == 0 && zWhy ){
      /* A store that will not open (locked, corrupt) is an error: every
      ** table was asked for. */
      char *zErr = sqlite3_mprintf("lsm table %s.%s: %s", azPair[iPair], azPair[iPair + 1], zWhy);
      sqlite3_result_error(ctx, zErr ? zErr : zWhy, -1);
      sqlite3_result_error_code(ctx, rcWhy);
      sqlite3_free(zErr);
      sqlite3_free(zWhy);
      rc = rcWhy;
      bReported = 1;
      break;
    }
    if( pTab && pTab->pLsm && !pTab->bReadonly ) rc = functions_list_add(pList, pTab);
  }
  for(i = 0; i < nPair; i++) sqlite3_free(azPair[i]);
  sqlite3_free(azPair);
  sqlite3_free(aReadonly);
  if( rc == SQLITE_NOMEM ){
    sqlite3_result_error_nomem(ctx);
  }else if( rc != SQLITE_OK && !bReported ){
    sqlite3_result_error(ctx, sqlite3_errmsg(db), -1);
    sqlite3_result_error_code(ctx, rc);
  }
  return rc;
}

/* The tables a function acts on: the one named by argv[0], or all.  On
** error sets ctx's error. */
static int functions_targets(sqlite3_context *ctx, const char *zFunc, int argc,
                             sqlite3_value **argv, functions_list *pList){
  vtab_table *pTab;
  int rc;
  memset(pList, 0, sizeof(*pList));
  if( argc == 0 ) return functions_all_tables(ctx, pList);
  pTab = functions_table(ctx, zFunc, (const char*)sqlite3_value_text(argv[0]));
  if( pTab == 0 ) return SQLITE_ERROR;
  if( pTab->bReadonly ){
    char *zErr = sqlite3_mprintf(pTab->bDbReadonly
                                 ? "%s: cannot modify %s: the database was opened read-only"
                                 : "%s: cannot modify %s: the table was opened with readonly=on",
                                 zFunc, pTab->zName);
    sqlite3_result_error(ctx, zErr, -1);
    sqlite3_result_error_code(ctx, SQLITE_READONLY);
    sqlite3_free(zErr);
    return SQLITE_READONLY;
  }
  rc = functions_list_add(pList, pTab);
  if( rc != SQLITE_OK ) sqlite3_result_error_nomem(ctx);
  return rc;
}

static void functions_engine_error(sqlite3_context *ctx, const char *zFunc,
                                   vtab_table *pTab, int rc){
  const char *z = lsm_errmsg(pTab->pLsm);
  char *zErr = sqlite3_mprintf("%s(%s): %s", zFunc, pTab->zName,
                               (z && z[0]) ? z : lsm_errstr(rc));
  sqlite3_result_error(ctx, zErr, -1);
  sqlite3_result_error_code(ctx, rc);
  sqlite3_free(zErr);
}

/*
** Append "<zDb>.<zName>" as a JSON string (RFC 8259): '"' and '\\' are
** escaped with a backslash, control characters below 0x20 as \\u00XX;
** every other byte (UTF-8 included) is copied.  SQL identifier quoting
** (%w) is not JSON: a table named we"ird must come out as "main.we\\"ird".
*/
static void functions_append_json_name(sqlite3_str *pStr, const char *zDb, const char *zName){
  const char *az[2];
  int i;
  az[0] = zDb;
  az[1] = zName;
  sqlite3_str_appendchar(pStr, 1, '"');
  for(i = 0; i < 2 && az[i]; i++){
    const unsigned char *z = (const unsigned char*)az[i];
    if( i ) sqlite3_str_appendchar(pStr, 1, '.');
    for(; *z; z++){
      if( *z == '"' || *z == '\\' ){
        sqlite3_str_appendchar(pStr, 1, '\\');
        sqlite3_str_appendchar(pStr, 1, (char)*z);
      }else if( *z < 0x20 ){
        sqlite3_str_appendf(pStr, "\\u%04x", *z);
      }else{
        sqlite3_str_appendchar(pStr, 1, (char)*z);
      }
    }
  }
  sqlite3_str_appendchar(pStr, 1, '"');
}

static void functions_append_tables(sqlite3_str *pStr, vtab_table **aTab, int nTab){
  int i;
  sqlite3_str_appendall(pStr, "{\"tables\":[");
  for(i = 0; i < nTab; i++){
    if( i ) sqlite3_str_appendchar(pStr, 1, ',');
    functions_append_json_name(pStr, aTab[i]->zDb, aTab[i]->zName);
  }
  sqlite3_str_appendall(pStr, "]");
}

static void functions_result_str(sqlite3_context *ctx, sqlite3_str *pStr){
  int rc = sqlite3_str_errcode(pStr);
  char *z = sqlite3_str_finish(pStr);
  if( rc != SQLITE_OK || z == 0 ){
    sqlite3_free(z);
    sqlite3_result_error_nomem(ctx);
  }else{
    sqlite3_result_text(ctx, z, -1, sqlite3_free);
  }
}

static uint64_t functions_now_ms(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Append "name":a/b, or "name":null when b is 0. */
static void functions_append_ratio(sqlite3_str *pStr, const char *zName, double a, double b){
  if( b > 0 ){
    sqlite3_str_appendf(pStr, "\"%s\":%.6g", zName, a / b);
  }else{
    sqlite3_str_appendf(pStr, "\"%s\":null", zName);
  }
}

/* ---- lsm_version() ---- */

static void functions_version(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  (void)argc;
  (void)argv;
  sqlite3_result_text(ctx, LSM_VERSION, -1, SQLITE_STATIC);
}

/* ---- lsm_flush([table]) ---- */

static void functions_flush(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  functions_list list;
  uint64_t t0 = functions_now_ms();
  sqlite3_str *pStr;
  int i;
  if( functions_targets(ctx, "lsm_flush", argc, argv, &list) != SQLITE_OK ){
    sqlite3_free(list.aTab);
    return;
  }
  for(i = 0; i < list.nTab; i++){
    vtab_table *pTab = list.aTab[i];
    int rc = pTab->pStore ? dbstore_flush_or_compact(pTab->pStore, 0, 0) : lsm_flush(pTab->pLsm);
    pTab->pLsm = pTab->pStore ? dbstore_engine(pTab->pStore) : pTab->pLsm;
    if( rc != LSM_OK ){
      functions_engine_error(ctx, "lsm_flush", list.aTab[i], rc);
      sqlite3_free(list.aTab);
      return;
    }
  }
  pStr = sqlite3_str_new(sqlite3_context_db_handle(ctx));
  functions_append_tables(pStr, list.aTab, list.nTab);
  sqlite3_str_appendf(pStr, ",\"ms\":%llu}", (unsigned long long)(functions_now_ms() - t0));
  sqlite3_free(list.aTab);
  functions_result_str(ctx, pStr);
}

/* ---- lsm_compact([table]) ---- */

static void functions_compact(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  functions_list list;
  lsm_compact_result sum;
  uint64_t t0 = functions_now_ms();
  sqlite3_str *pStr;
  int i;
  memset(&sum, 0, sizeof(sum));
  if( functions_targets(ctx, "lsm_compact", argc, argv, &list) != SQLITE_OK ){
    sqlite3_free(list.aTab);
    return;
  }
  for(i = 0; i < list.nTab; i++){
    lsm_compact_result res;
    int rc;
    memset(&res, 0, sizeof(res));
    if( list.aTab[i]->pStore ){
      rc = dbstore_flush_or_compact(list.aTab[i]->pStore, 1, &res);
      list.aTab[i]->pLsm = dbstore_engine(list.aTab[i]->pStore);
    }else{
      rc = lsm_compact(list.aTab[i]->pLsm, &res);
    }
    if( rc != LSM_OK ){
      functions_engine_error(ctx, "lsm_compact", list.aTab[i], rc);
      sqlite3_free(list.aTab);
      return;
    }
    sum.nBytesBefore += res.nBytesBefore;
    sum.nBytesAfter += res.nBytesAfter;
    sum.nEntriesBefore += res.nEntriesBefore;
    sum.nEntriesAfter += res.nEntriesAfter;
    sum.nTombstonesDropped += res.nTombstonesDropped;
  }
  pStr = sqlite3_str_new(sqlite3_context_db_handle(ctx));
  functions_append_tables(pStr, list.aTab, list.nTab);
  sqlite3_str_appendf(pStr,
      ",\"bytes_before\":%llu,\"bytes_after\":%llu,\"entries_before\":%llu"
      ",\"entries_after\":%llu,\"tombstones_dropped\":%llu,\"ms\":%llu}",
      (unsigned long long)sum.nBytesBefore, (unsigned long long)sum.nBytesAfter,
      (unsigned long long)sum.nEntriesBefore, (unsigned long long)sum.nEntriesAfter,
      (unsigned long long)sum.nTombstonesDropped,
      (unsigned long long)(functions_now_ms() - t0));
  sqlite3_free(list.aTab);
  functions_result_str(ctx, pStr);
}

/* ---- lsm_stats(table) ---- */

/* Key + value bytes of every committed live row, by a scan that leaves
** the block cache as it found it (lsm_read.bNoFill): a look at the
** statistics does not evict the blocks the table's reads use. */
static int functions_live_bytes(lsm_db *pLsm, uint64_t *pnLive){
  lsm_cursor *pCsr = 0;
  lsm_read rd;
  uint64_t n = 0;
  int rc;
  memset(&rd, 0, sizeof(rd));
  rd.bNoFill = 1;
  rc = lsm_cursor_open(pLsm, &rd, &pCsr);
  if( rc == LSM_OK ) rc = lsm_cursor_first(pCsr);
  while( rc == LSM_OK && lsm_cursor_valid(pCsr) ){
    const void *p;
    size_t nKey = 0, nVal = 0;
    rc = lsm_cursor_key(pCsr, &p, &nKey);
    if( rc == LSM_OK ) rc = lsm_cursor_value(pCsr, &p, &nVal);
    n += nKey + nVal;
    if( rc == LSM_OK ) rc = lsm_cursor_next(pCsr);
  }
  if( pCsr ) lsm_cursor_close(pCsr);
  *pnLive = n;
  return rc;
}

static void functions_stats(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  vtab_table *pTab;
  sqlite3_stmt *pHold = 0;
  lsm_stats st;
  uint64_t nLive = 0;
  sqlite3_str *pStr;
  int rc;
  int i, nListed;
  (void)argc;
  pTab = functions_table(ctx, "lsm_stats", (const char*)sqlite3_value_text(argv[0]));
  if( pTab == 0 ) return;
  if( functions_read_begin(ctx, "lsm_stats", pTab, &pHold) != SQLITE_OK ){
    sqlite3_finalize(pHold);
    return;
  }
  memset(&st, 0, sizeof(st));
  rc = lsm_stats_get(pTab->pLsm, &st);
  if( rc == LSM_OK && pTab->pStore ){
    /* The in-database store's log is its kv_log rows. */
    sqlite3_int64 nLog = 0;
    rc = dbstore_log_bytes(pTab->pStore, &nLog);
    st.nWalBytes = (uint64_t)nLog;
    st.nDiskBytes += (uint64_t)nLog;
  }
  if( rc == LSM_OK ) rc = functions_live_bytes(pTab->pLsm, &nLive);
  if( pTab->pStore ) dbstore_reads_done(pTab->pStore);
  sqlite3_finalize(pHold);
  if( rc != LSM_OK ){
    functions_engine_error(ctx, "lsm_stats", pTab, rc);
    return;
  }
#define U(x) ((unsigned long long)(x))
  pStr = sqlite3_str_new(sqlite3_context_db_handle(ctx));
  sqlite3_str_appendall(pStr, "{\"table\":");
  functions_append_json_name(pStr, pTab->zDb, pTab->zName);
  /* Which kind of store, and where its SSTables are. */
  sqlite3_str_appendf(pStr, ",\"store\":\"%s\",\"location\":", vtab_store_kind(pTab));
  functions_append_json_name(pStr, vtab_store_location(pTab), 0);
  sqlite3_str_appendall(pStr, ",");
  sqlite3_str_appendf(pStr, "\"memtable\":{\"entries\":%llu,\"bytes\":%llu,\"immutable\":%llu},",
                      U(st.nMemtableEntries), U(st.nMemtableBytes), U(st.nImmutable));
  sqlite3_str_appendall(pStr, "\"levels\":[");
  for(i = 0, nListed = 0; i < st.nLevel && i < LSM_MAX_LEVELS; i++){
    const lsm_level_stats *pL = &st.aLevel[i];
    /* Only levels with files, or written to since open (their counters
    ** say something); the rest are empty and were never used. */
    if( pL->nFiles == 0 && pL->nBytesWrittenByCompaction == 0 ) continue;
    sqlite3_str_appendf(pStr,
        "%s{\"level\":%d,\"files\":%llu,\"bytes\":%llu,\"entries\":%llu,\"tombstones\":%llu,"
        "\"compaction_bytes_read\":%llu,\"compaction_bytes_written\":%llu,"
        "\"bytes_from_above\":%llu,",
        nListed++ ? "," : "", i, U(pL->nFiles), U(pL->nBytes), U(pL->nEntries), U(pL->nTombstones),
        U(pL->nBytesReadByCompaction), U(pL->nBytesWrittenByCompaction),
        U(pL->nBytesFromAbove));
    /* A level's write amplification: bytes written into it per byte it
    ** received from the level above (user bytes for level 0). */
    functions_append_ratio(pStr, "write_amplification",
        (double)pL->nBytesWrittenByCompaction, (double)pL->nBytesFromAbove);
    sqlite3_str_appendall(pStr, "}");
  }
  sqlite3_str_appendf(pStr, "],\"wal_file_bytes\":%llu,", U(st.nWalBytes));
  sqlite3_str_appendf(pStr,
      "\"writes\":{\"user_bytes\":%llu,\"wal_bytes\":%llu,\"flush_bytes\":%llu,"
      "\"compaction_bytes\":%llu,\"compaction_read_bytes\":%llu,\"flushes\":%llu,"
      "\"compactions\":%llu,\"l0_slice_tables\":%llu,",
      U(st.nUserBytesWritten), U(st.nWalBytesWritten), U(st.nFlushBytesWritten),
      U(st.nCompactionBytesWritten), U(st.nCompactionBytesRead), U(st.nFlushes),
      U(st.nCompactions), U(st.nSliceTables));
  functions_append_ratio(pStr, "write_amplification",
      (double)st.nWalBytesWritten + (double)st.nFlushBytesWritten
        + (double)st.nCompactionBytesWritten,
      (double)st.nUserBytesWritten);
  sqlite3_str_appendf(pStr,
      "},\"reads\":{\"gets\":%llu,\"sst_probes\":%llu,",
      U(st.nGets), U(st.nGetSstProbes));
  functions_append_ratio(pStr, "read_amplification", (double)st.nGetSstProbes, (double)st.nGets);
  sqlite3_str_appendf(pStr,
      ",\"seeks\":%llu,\"seek_sst_probes\":%llu,\"bloom_checks\":%llu,"
      "\"bloom_negatives\":%llu,\"bloom_false_positives\":%llu,",
      U(st.nSeeks), U(st.nSeekSstProbes), U(st.nBloomChecks), U(st.nBloomNegatives),
      U(st.nBloomFalsePositives));
  functions_append_ratio(pStr, "seek_read_amplification", (double)st.nSeekSstProbes,
      (double)st.nSeeks);
  sqlite3_str_appendall(pStr, ",");
  functions_append_ratio(pStr, "bloom_false_positive_rate", (double)st.nBloomFalsePositives,
      (double)st.nBloomFalsePositives + (double)st.nBloomNegatives);
  sqlite3_str_appendf(pStr, "},\"space\":{\"live_bytes\":%llu,\"disk_bytes\":%llu,",
                      U(nLive), U(st.nDiskBytes));
  functions_append_ratio(pStr, "space_amplification", (double)st.nDiskBytes, (double)nLive);
  sqlite3_str_appendf(pStr, "},\"stalls\":{\"count\":%llu,\"micros\":%llu},",
                      U(st.nStalls), U(st.nStallMicros));
  sqlite3_str_appendf(pStr, "\"table_cache\":{\"open_tables\":%llu,\"bytes\":%llu,"
                      "\"misses\":%llu},",
                      U(st.nTablesOpen), U(st.nTableCacheBytes), U(st.nTableCacheMisses));
  sqlite3_str_appendf(pStr, "\"block_cache\":{\"bytes\":%llu,\"mapped_bytes\":%llu,"
                      "\"overflow_bytes\":%llu,\"slab_moves\":%llu,\"not_cached\":%llu,"
                      "\"hits\":%llu,\"misses\":%llu}}",
                      U(st.nBlockCacheBytes), U(st.nBlockCacheMappedBytes),
                      U(st.nBlockCacheOverflowBytes), U(st.nBlockCacheSlabMoves),
                      U(st.nBlockCacheNotCached), U(st.nBlockCacheHits), U(st.nBlockCacheMisses));
#undef U
  functions_result_str(ctx, pStr);
}

/* ---- lsm_check(table) ---- */

static void functions_check(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  vtab_table *pTab;
  sqlite3_stmt *pHold = 0;
  char *zReport = 0;
  int rc;
  (void)argc;
  pTab = functions_table(ctx, "lsm_check", (const char*)sqlite3_value_text(argv[0]));
  if( pTab == 0 ) return;
  if( functions_read_begin(ctx, "lsm_check", pTab, &pHold) != SQLITE_OK ){
    sqlite3_finalize(pHold);
    return;
  }
  rc = lsm_check(pTab->pLsm, &zReport);
  if( pTab->pStore ) dbstore_reads_done(pTab->pStore);
  sqlite3_finalize(pHold);
  if( rc == LSM_OK ){
    sqlite3_result_text(ctx, "ok", -1, SQLITE_STATIC);
  }else if( rc == LSM_CORRUPT ){
    sqlite3_result_text(ctx, zReport ? zReport : "corrupt", -1, SQLITE_TRANSIENT);
  }else{
    functions_engine_error(ctx, "lsm_check", pTab, rc);
  }
  lsm_free(zReport);
}

/* ---- registration ---- */

#define FUNCTIONS_READ   (SQLITE_UTF8 | SQLITE_INNOCUOUS)
#define FUNCTIONS_CHANGE (SQLITE_UTF8 | SQLITE_DIRECTONLY)

int functions_register(sqlite3 *db){
  static const struct {
    const char *zName;
    int nArg;
    void (*xFunc)(sqlite3_context*, int, sqlite3_value**);
    int flags;
  } aFunc[] = {
    /* Reading functions are innocuous: views and triggers may use them,
    ** also under PRAGMA trusted_schema=OFF.  Those that change a store
    ** are direct-only: never from a view, trigger or CHECK. */
    { "lsm_version", 0, functions_version, FUNCTIONS_READ | SQLITE_DETERMINISTIC },
    { "lsm_stats",   1, functions_stats,   FUNCTIONS_READ    },
    { "lsm_check",   1, functions_check,   FUNCTIONS_READ    },
    { "lsm_flush",   0, functions_flush,   FUNCTIONS_CHANGE  },
    { "lsm_flush",   1, functions_flush,   FUNCTIONS_CHANGE  },
    { "lsm_compact", 0, functions_compact, FUNCTIONS_CHANGE  },
    { "lsm_compact", 1, functions_compact, FUNCTIONS_CHANGE  },
  };
  size_t i;
  int rc = SQLITE_OK;
  for(i = 0; rc == SQLITE_OK && i < sizeof(aFunc) / sizeof(aFunc[0]); i++){
    rc = sqlite3_create_function(db, aFunc[i].zName, aFunc[i].nArg, aFunc[i].flags, 0,
                                 aFunc[i].xFunc, 0, 0);
  }
  return rc;
}
