/*
** extension.c — the one exported symbol of lsm.so: sqlite3_lsm_init.
**
** Usage:
**
**     .load ./lsm                       -- sqlite3 shell; entry point sqlite3_lsm_init
**     SELECT load_extension('./lsm');   -- from SQL, where extension loading is enabled
**     CREATE VIRTUAL TABLE kv USING lsm;
**     SELECT lsm_version();
**
** This file holds SQLITE_EXTENSION_INIT1, the sqlite3_api pointer every
** other ext/ file reaches through SQLITE_EXTENSION_INIT3 (ext.h), and the
** entry point, which registers on the connection that loads the library:
**   - the virtual-table module "lsm" (vtab.c, with plan.c and txn.c),
**   - the SQL functions lsm_version, lsm_flush, lsm_compact, lsm_stats,
**     lsm_check (functions.c),
**   - the table-valued function lsm_files (files.c),
**   - the eponymous table lsm_pending (deferred.c), which also carries the
**     connection's state of DROPs and RENAMEs waiting for a commit.
** Everything else in lsm.so is hidden (-fvisibility=hidden).
**
** SQLite 3.38 or later is required at run time (LSM_SQLITE_MIN_VERSION,
** sqlite3_lsm.h): key IN (...) multi-gets use sqlite3_vtab_in and
** LIMIT/OFFSET are pushed into xBestIndex.  An older library is refused
** here with a message naming both versions.
*/
#define LSM_EXTENSION_MAIN 1
#include "ext.h"
SQLITE_EXTENSION_INIT1

/* Set by sqlite3_lsm_replicated (sqlite3_lsm.h); read by vtab.c at CREATE
** and by dbstore.c before lsm_flush/lsm_compact. */
const char *ext_replicated_by = 0;

void sqlite3_lsm_replicated(const char *zBy){
  ext_replicated_by = zBy ? zBy : "a replicator";
}

__attribute__((visibility("default")))
int sqlite3_lsm_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi){
  int rc;
  SQLITE_EXTENSION_INIT2(pApi);
  if( sqlite3_libversion_number() < LSM_SQLITE_MIN_VERSION_NUMBER ){
    *pzErrMsg = sqlite3_mprintf("lsm needs SQLite " LSM_SQLITE_MIN_VERSION " or later, not %s",
                                sqlite3_libversion());
    return SQLITE_ERROR;
  }
  rc = deferred_register(db, &vtab_module);      /* "lsm" and "lsm_pending" */
  if( rc == SQLITE_OK ) rc = functions_register(db);
  if( rc == SQLITE_OK ) rc = sqlite3_create_module(db, "lsm_files", &files_module, db);
  return rc;
}
