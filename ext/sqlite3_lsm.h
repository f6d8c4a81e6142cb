/*
** sqlite3_lsm.h — the public header of the lsm SQLite extension.
**
** Usage, loaded at run time (nothing of this header is needed):
**
**     .load /usr/local/lib/lsm/lsm       -- sqlite3 shell (README, "Install")
**     CREATE VIRTUAL TABLE kv USING lsm;
**     SELECT lsm_version();              -- LSM_VERSION below
**
** Usage, linked into a program (the archive libsqlite3_lsm.a that
** `make static` builds, or `pkg-config --cflags --libs sqlite3-lsm` once
** installed): register the extension for every connection the program
** opens, before it opens any:
**
**     #include <sqlite3.h>
**     #include <sqlite3_lsm.h>
**
**     sqlite3_auto_extension((void(*)(void))sqlite3_lsm_init);
**     sqlite3_open("app.db", &db);       -- the module lsm is there
**
** (sqlite3_cancel_auto_extension stops it for connections opened later).
** tests/static_example.c does that and runs a query.  No -DSQLITE_CORE
** is needed: the extension calls SQLite through the routine table SQLite
** hands it.
**
** The archive's only global symbols are sqlite3_lsm_init, sqlite3_lsm_replicated and the storage
** engine's C API (lsm/lsm.h), renamed from lsm_* to sqlite3_lsm_* so that
** they cannot clash with SQLite's own LSM1 extension, which defines
** lsm_open, lsm_close, ... too; everything else is local to the archive.
** A program that calls the engine directly includes sqlite3_lsm_engine.h
** (made and installed with the archive: lsm.h with those names).
*/
#ifndef SQLITE3_LSM_H
#define SQLITE3_LSM_H

#include <sqlite3.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this extension, as lsm_version() returns it; and as a
** number, major * 1000000 + minor * 1000 + patch (as SQLITE_VERSION_NUMBER). */
#define LSM_VERSION        "0.2.0"
#define LSM_VERSION_NUMBER 2000

/* The oldest SQLite the extension runs on: key IN (...) multi-gets need
** sqlite3_vtab_in (3.38.0).  sqlite3_lsm_init refuses an older library
** with "lsm needs SQLite 3.38.0 or later, not <version>". */
#define LSM_SQLITE_MIN_VERSION        "3.38.0"
#define LSM_SQLITE_MIN_VERSION_NUMBER 3038000

/*
** Register the virtual-table module "lsm", the SQL functions lsm_version,
** lsm_stats, lsm_check, lsm_flush, lsm_compact and the table-valued
** function lsm_files on connection db.  SQLITE_OK, or an error code with
** *pzErrMsg set (free with sqlite3_free).
**
** pApi is SQLite's routine table, which SQLite passes when it loads the
** extension or calls it as an auto-extension: let SQLite call this
** function (sqlite3_auto_extension above) rather than calling it yourself.
*/
int sqlite3_lsm_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

/*
** Declare that this process's database files are replicated by zBy (a
** static string naming the replicator, e.g. "dqlite"), which copies the
** pages of each transaction the program commits and nothing else.  From
** this call on, in every connection:
**   - CREATE VIRTUAL TABLE ... USING lsm('dir') and lsm(':memory:') fail,
**     saying why: such a table's rows live outside the database file and
**     would stay on this host.  Tables without a path are not affected;
**   - lsm_flush() and lsm_compact() on a table in the database file fail
**     outside an explicit transaction (BEGIN ... COMMIT), where they would
**     commit a transaction of their own in the middle of a statement,
**     which a replicator that ships COMMITs never sees (dqlite 1.11 loses
**     it, or aborts the leader when the statement was a query).
** For a dqlite node (ext/node.c, README "More than one machine").  Call
** it before opening connections; it cannot be undone.  Not in lsm.so (a
** loaded extension cannot be reached by name); in the archive and in
** programs that link the objects.
*/
void sqlite3_lsm_replicated(const char *zBy);

#ifdef __cplusplus
}
#endif
#endif /* SQLITE3_LSM_H */
