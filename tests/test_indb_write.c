/*
** test_indb_write.c — what the in-database store (ext/dbstore.c) writes
** to the database's files when its COMMITs flush, compact and collect
** garbage: every byte SQLite hands to the operating system is seen by a
** counting VFS wrapped around the default one.
**
** Tiny memtables (memtable_mb=0.0625) make flushes and compactions run
** inside the commits under test; the workload is fixed (no randomness).
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

int sqlite3_lsm_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

/* ---- the counting VFS ("count"): bytes per kind of file ---- */

typedef struct count_file {
  sqlite3_file base;       /* methods: count_methods */
  sqlite3_file *pReal;     /* the default VFS's file, allocated after this */
  int flags;               /* xOpen's flags: which kind of file */
} count_file;

static sqlite3_vfs *g_pReal;
static sqlite3_int64 g_nWalBytes;       /* written to WAL files */
static sqlite3_int64 g_nWalZeroPages;   /* WAL page images that are all zero bytes */
static sqlite3_int64 g_nStmtJrnlBytes;  /* written to statement journals */

static int cf_close(sqlite3_file *f){
  count_file *p = (count_file*)f;
  return p->pReal->pMethods->xClose(p->pReal);
}
static int cf_read(sqlite3_file *f, void *a, int n, sqlite3_int64 o){
  count_file *p = (count_file*)f;
  return p->pReal->pMethods->xRead(p->pReal, a, n, o);
}
static int cf_write(sqlite3_file *f, const void *a, int n, sqlite3_int64 o){
  count_file *p = (count_file*)f;
  if( p->flags & SQLITE_OPEN_WAL ){
    g_nWalBytes += n;
    if( n >= 512 ){            /* a page image (headers are 24 or 32 bytes) */
      const unsigned char *b = a;
      int i = 0;
      while( i < n && b[i] == 0 ) i++;
      if( i == n ) g_nWalZeroPages++;
    }
  }
  if( p->flags & SQLITE_OPEN_SUBJOURNAL ) g_nStmtJrnlBytes += n;
  return p->pReal->pMethods->xWrite(p->pReal, a, n, o);
}
static int cf_truncate(sqlite3_file *f, sqlite3_int64 n){
  count_file *p = (count_file*)f;
  return p->pReal->pMethods->xTruncate(p->pReal, n);
}
static int cf_sync(sqlite3_file *f, int fl){
  count_file *p = (count_file*)f;
  return p->pReal->pMethods->xSync(p->pReal, fl);
}
static int cf_size(sqlite3_file *f, sqlite3_int64 *pn){
  count_file *p = (count_file*)f;
  return p->pReal->pMethods->xFileSize(p->pReal, pn);
}
static int cf_lock(sqlite3_file *f, int e){
  count_file *p = (count_file*)f;
  return p->pReal->pMethods->xLock(p->pReal, e);
}
static int cf_unlock(sqlite3_file *f, int e){
  count_file *p = (count_file*)f;
  return p->pReal->pMethods->xUnlock(p->pReal, e);
}
static int cf_check(sqlite3_file *f, int *pb){
  count_file *p = (count_file*)f;
  return p->pReal->pMethods->xCheckReservedLock(p->pReal, pb);
}
static int cf_fcntl(sqlite3_file *f, int op, void *a){
  count_file *p = (count_file*)f;
  return p->pReal->pMethods->xFileControl(p->pReal, op, a);
}
static int cf_sector(sqlite3_file *f){
  count_file *p = (count_file*)f;
  return p->pReal->pMethods->xSectorSize(p->pReal);
}
static int cf_devchar(sqlite3_file *f){
  count_file *p = (count_file*)f;
  return p->pReal->pMethods->xDeviceCharacteristics(p->pReal);
}
static int cf_shmmap(sqlite3_file *f, int i, int n, int b, void volatile **pp){
  count_file *p = (count_file*)f;
  return p->pReal->pMethods->xShmMap(p->pReal, i, n, b, pp);
}
static int cf_shmlock(sqlite3_file *f, int o, int n, int fl){
  count_file *p = (count_file*)f;
  return p->pReal->pMethods->xShmLock(p->pReal, o, n, fl);
}
static void cf_shmbarrier(sqlite3_file *f){
  count_file *p = (count_file*)f;
  p->pReal->pMethods->xShmBarrier(p->pReal);
}
static int cf_shmunmap(sqlite3_file *f, int d){
  count_file *p = (count_file*)f;
  return p->pReal->pMethods->xShmUnmap(p->pReal, d);
}

static const sqlite3_io_methods count_methods = {
  2, cf_close, cf_read, cf_write, cf_truncate, cf_sync, cf_size, cf_lock, cf_unlock,
  cf_check, cf_fcntl, cf_sector, cf_devchar, cf_shmmap, cf_shmlock, cf_shmbarrier,
  cf_shmunmap, 0, 0
};

static int cv_open(sqlite3_vfs *pVfs, const char *zName, sqlite3_file *f, int flags, int *pOut){
  count_file *p = (count_file*)f;
  int rc;
  (void)pVfs;
  p->pReal = (sqlite3_file*)&p[1];
  p->flags = flags;
  rc = g_pReal->xOpen(g_pReal, zName, p->pReal, flags, pOut);
  p->base.pMethods = p->pReal->pMethods ? &count_methods : 0;
  return rc;
}

static void count_vfs_register(void){
  static sqlite3_vfs vfs;
  if( sqlite3_vfs_find("count") ) return;
  g_pReal = sqlite3_vfs_find(0);
  vfs = *g_pReal;
  vfs.zName = "count";
  vfs.szOsFile = (int)sizeof(count_file) + g_pReal->szOsFile;
  vfs.xOpen = cv_open;
  sqlite3_vfs_register(&vfs, 0);
}

/* ---- fixture ---- */

static char *g_zDir;
static char *g_zDb;

static void setup(void){
  sqlite3_auto_extension((void(*)(void))sqlite3_lsm_init);
  count_vfs_register();
  g_zDir = test_tmpdir("indbw");
  g_zDb = sqlite3_mprintf("%s/t.db", g_zDir);
}
static void teardown(void){
  sqlite3_reset_auto_extension();
  test_rmtree(g_zDir);
  free(g_zDir);
  sqlite3_free(g_zDb);
}

static sqlite3 *open_counted(void){
  sqlite3 *db = 0;
  int rc = sqlite3_open_v2(g_zDb, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "count");
  ck_assert_msg(rc == SQLITE_OK, "open %s: %s", g_zDb, sqlite3_errmsg(db));
  sqlite3_busy_timeout(db, 10000);
  test_exec_ok(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
  return db;
}

/* nTxn transactions of 200 puts of 200-byte values, keys k0, k0 + 1, ... */
static void fill(sqlite3 *db, int k0, int nTxn){
  int i;
  for(i = 0; i < nTxn; i++){
    char *zSql = sqlite3_mprintf(
        "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 199)"
        " INSERT INTO kv SELECT %d + %d * 200 + i, printf('%%0200d', i) FROM c", k0, i);
    test_exec_ok(db, zSql);
    sqlite3_free(zSql);
  }
}

/* ---- tests ---- */

/*
** The store frees the pages of flushed log rows and of replaced SSTables
** without zeroing them (ext/dbstore.c, dbstore_fast_delete_begin), whatever
** the connection's secure_delete, and restores the setting afterwards;
** and it deletes those rows without a statement journal
** (dbstore_delete_rows).  With secure_delete on, each freed page used to
** reach the WAL as a page of zeros, and each multi-row DELETE in a COMMIT
** copied the pages it touched to a statement journal first.
*/
static void frees_pages_unwritten(int iSecureDelete){
  sqlite3 *db = open_counted();
  char *zSql = sqlite3_mprintf("PRAGMA secure_delete = %d", iSecureDelete);
  sqlite3_int64 nFlush, nCompact, nCompactBytes;
  test_exec_ok(db, zSql);
  sqlite3_free(zSql);
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.25)");
  g_nWalBytes = g_nWalZeroPages = g_nStmtJrnlBytes = 0;
  fill(db, 0, 160);           /* 32000 rows, about 7 MB of batches */
  fill(db, 0, 80);            /* overwrite the first 16000 */
  nFlush = test_query_int(db, "SELECT json_extract(lsm_stats('kv'), '$.writes.flushes')");
  nCompact = test_query_int(db, "SELECT json_extract(lsm_stats('kv'), '$.writes.compactions')");
  nCompactBytes = test_query_int(db, "SELECT json_extract(lsm_stats('kv'), '$.writes.compaction_bytes')");
  /* The work under test ran inside those COMMITs: flushes (log rows
  ** deleted) and compactions of files of several chunks (SSTables
  ** deleted). */
  ck_assert_int_gt(nFlush, 10);
  ck_assert_int_gt(nCompact, 2);
  ck_assert_int_gt(nCompactBytes, 40000);
  ck_assert_int_gt(g_nWalBytes, 1000000);
  ck_assert_msg(g_nStmtJrnlBytes == 0, "secure_delete=%d: %lld bytes written to statement journals",
                iSecureDelete, (long long)g_nStmtJrnlBytes);
  ck_assert_msg(g_nWalZeroPages == 0, "secure_delete=%d: %lld pages of zeros written to the WAL",
                iSecureDelete, (long long)g_nWalZeroPages);
  /* The connection's setting is the user's again. */
  ck_assert_int_eq(test_query_int(db, "PRAGMA secure_delete"), iSecureDelete);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), 32000);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv_log"),
                   test_query_int(db, "SELECT count(*) FROM kv_log WHERE seq > 0"));
  {
    char *z = test_query_text(db, "SELECT lsm_check('kv')");
    char *zDb = test_query_text(db, "PRAGMA integrity_check");
    ck_assert_msg(z && strcmp(z, "ok") == 0, "lsm_check: %s", z ? z : "(null)");
    ck_assert_msg(zDb && strcmp(zDb, "ok") == 0, "integrity_check: %s", zDb ? zDb : "(null)");
    sqlite3_free(z);
    sqlite3_free(zDb);
  }
  sqlite3_close(db);
}

START_TEST(the_store_frees_pages_unwritten_under_secure_delete_on){
  frees_pages_unwritten(1);
}
END_TEST

START_TEST(the_store_frees_pages_unwritten_under_secure_delete_off){
  frees_pages_unwritten(0);
}
END_TEST

static sqlite3_int64 stat_of(sqlite3 *db, const char *zField){
  char *zSql = sqlite3_mprintf("SELECT json_extract(lsm_stats('kv'), '$.writes.%s')", zField);
  sqlite3_int64 v = test_query_int(db, zSql);
  sqlite3_free(zSql);
  return v;
}

/*
** A COMMIT carries a flush or else at most one compaction, never both
** (ext/dbstore.c, dbstore_sync): the work one COMMIT does is the larger
** of the two, not their sum.  Before, the COMMIT whose flush made level 0
** due for a compaction also ran it.
*/
START_TEST(a_commit_flushes_or_compacts_never_both){
  sqlite3 *db = open_counted();
  int i, nFlushCommits = 0, nCompactCommits = 0;
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
  for(i = 0; i < 120; i++){
    sqlite3_int64 nFlush0 = stat_of(db, "flushes"), nCompact0 = stat_of(db, "compactions");
    sqlite3_int64 nFlush, nCompact;
    fill(db, (i % 60) * 200, 1);
    nFlush = stat_of(db, "flushes") - nFlush0;
    nCompact = stat_of(db, "compactions") - nCompact0;
    ck_assert_msg(nFlush + nCompact <= 1, "COMMIT %d ran %lld flushes and %lld compactions", i,
                  (long long)nFlush, (long long)nCompact);
    nFlushCommits += nFlush > 0;
    nCompactCommits += nCompact > 0;
  }
  ck_assert_int_gt(nFlushCommits, 20);
  ck_assert_int_gt(nCompactCommits, 3);
  ck_assert_int_eq(test_query_int(db, "SELECT count(*) FROM kv"), 12000);
  {
    char *z = test_query_text(db, "SELECT lsm_check('kv')");
    ck_assert_msg(z && strcmp(z, "ok") == 0, "lsm_check: %s", z ? z : "(null)");
    sqlite3_free(z);
  }
  sqlite3_close(db);
}
END_TEST

static Suite *indb_write_suite(void){
  Suite *s = suite_create("indb_write");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, the_store_frees_pages_unwritten_under_secure_delete_on);
  tcase_add_test(tc, the_store_frees_pages_unwritten_under_secure_delete_off);
  tcase_add_test(tc, a_commit_flushes_or_compacts_never_both);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(indb_write_suite)
