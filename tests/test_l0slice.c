/*
** test_l0slice.c — an in-database table's level-0 compaction run in
** key-range slices over successive COMMITs (lsm/db_slice.c; ext/dbstore.c
** sets lsm_options.l0_slice_bytes to the memtable size).
**
** Every test writes random keys (so that each level-0 table spans the key
** space and a level-0 compaction would take all of level 1) in COMMITs of
** 100 operations into a 64 KiB memtable, keeps a reference model (an array
** indexed by key: the value's number, or -1), and compares the table with
** it, forward, backward and by point reads, whenever a slicing is in
** progress ("l0_slice_tables" of lsm_stats above 0), with lsm_check too.
** Seeds are fixed (LSM_TEST_SEED overrides) and printed on failure.
*/
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

int sqlite3_lsm_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

#define N_KEY      4000          /* keys 0 .. N_KEY - 1                     */
#define N_OPS      100           /* operations per COMMIT                   */
#define SLICE_BYTES (64 * 1024)  /* memtable_mb=0.0625: the slice budget    */

static char *g_zDir;
static char *g_zDb;

static void setup(void){
  test_sql_fixture_begin((void(*)(void))sqlite3_lsm_init, "l0slice", &g_zDir, &g_zDb);
}
static void teardown(void){
  test_sql_fixture_end(&g_zDir, &g_zDb);
}

static sqlite3 *open_db(void){
  return test_open_db(g_zDb, "WAL", 10000);
}

/* ---- the model and the random COMMITs ---- */

typedef struct op { int key; int val; } op;     /* val -1: a delete */

/* The operations of one COMMIT, from the generator's state. */
static void make_ops(test_rng *pRng, op *aOp){
  int i;
  for(i = 0; i < N_OPS; i++){
    aOp[i].key = (int)rng_below(pRng, N_KEY);
    aOp[i].val = rng_below(pRng, 10) < 2 ? -1 : (int)rng_below(pRng, 1000000000);
  }
}

static void apply_ops(int *aModel, const op *aOp){
  int i;
  for(i = 0; i < N_OPS; i++) aModel[aOp[i].key] = aOp[i].val;
}

static void value_text(int v, char *zBuf){
  snprintf(zBuf, 220, "%0200d", v);
}

/* Run aOp as one transaction: SQLITE_OK or the COMMIT's error (the
** transaction is then rolled back). */
static int commit_ops(sqlite3 *db, const op *aOp){
  sqlite3_stmt *pPut = 0, *pDel = 0;
  char zVal[220];
  int i, rc;
  test_exec_ok(db, "BEGIN");
  ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO kv VALUES(?, ?)", -1, &pPut, 0),
                   SQLITE_OK);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "DELETE FROM kv WHERE key = ?", -1, &pDel, 0), SQLITE_OK);
  for(i = 0; i < N_OPS; i++){
    sqlite3_stmt *p = aOp[i].val < 0 ? pDel : pPut;
    sqlite3_bind_int(p, 1, aOp[i].key);
    if( aOp[i].val >= 0 ){
      value_text(aOp[i].val, zVal);
      sqlite3_bind_text(p, 2, zVal, -1, SQLITE_TRANSIENT);
    }
    ck_assert_int_eq(sqlite3_step(p), SQLITE_DONE);
    sqlite3_reset(p);
  }
  sqlite3_finalize(pPut);
  sqlite3_finalize(pDel);
  rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
  if( rc != SQLITE_OK && !sqlite3_get_autocommit(db) ) sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  return rc;
}

/* One random COMMIT that must succeed, applied to the model. */
static void commit_random(sqlite3 *db, test_rng *pRng, int *aModel){
  op aOp[N_OPS];
  int rc;
  make_ops(pRng, aOp);
  rc = commit_ops(db, aOp);
  ck_assert_msg(rc == SQLITE_OK, "COMMIT: %s", sqlite3_errmsg(db));
  apply_ops(aModel, aOp);
}

/* ---- what the store says ---- */

static sqlite3_int64 slice_tables(sqlite3 *db){
  return test_query_int(db, "SELECT json_extract(lsm_stats('kv'), '$.writes.l0_slice_tables')");
}

static sqlite3_int64 level0_tables(sqlite3 *db){
  return test_query_int(db, "SELECT count(*) FROM lsm_files('kv') WHERE level = 0");
}

/* Bytes compactions into level 1 read since this connection's engine
** opened (the counters restart when it reopens). */
static sqlite3_int64 level1_read(sqlite3 *db){
  sqlite3_int64 n = test_query_int(db,
      "SELECT json_extract(value, '$.compaction_bytes_read') FROM"
      " json_each(lsm_stats('kv'), '$.levels') WHERE json_extract(value, '$.level') = 1");
  return n < 0 ? 0 : n;
}

/* The level-1 tables' names, in order (sqlite3_free). */
static char *level1_files(sqlite3 *db){
  char *z = test_query_text(db,
      "SELECT group_concat(file, ',') FROM (SELECT file FROM lsm_files('kv') WHERE level = 1"
      " ORDER BY file)");
  return z ? z : sqlite3_mprintf("");
}

static void assert_check_ok(sqlite3 *db, uint64_t seed, int iCommit){
  char *z = test_query_text(db, "SELECT lsm_check('kv')");
  ck_assert_msg(z && strcmp(z, "ok") == 0, "seed %llu, COMMIT %d: lsm_check: %s",
                (unsigned long long)seed, iCommit, z ? z : "(null)");
  sqlite3_free(z);
}

/* The table equals the model: a forward scan, a backward scan and point
** reads of 50 random keys (present or not). */
static void assert_reads_model(sqlite3 *db, const int *aModel, uint64_t seed, int iCommit){
  sqlite3_stmt *pStmt = 0;
  char zVal[220];
  int iDesc, i, k;
  test_rng rng;
  for(iDesc = 0; iDesc < 2; iDesc++){
    ck_assert_int_eq(sqlite3_prepare_v2(db, iDesc ? "SELECT key, value FROM kv ORDER BY key DESC"
                                                  : "SELECT key, value FROM kv ORDER BY key",
                                        -1, &pStmt, 0), SQLITE_OK);
    k = iDesc ? N_KEY - 1 : 0;
    while( sqlite3_step(pStmt) == SQLITE_ROW ){
      int key = sqlite3_column_int(pStmt, 0);
      while( k >= 0 && k < N_KEY && aModel[k] < 0 && k != key ) k += iDesc ? -1 : 1;
      ck_assert_msg(key == k, "seed %llu, COMMIT %d, %s scan: key %d, the model's next is %d",
                    (unsigned long long)seed, iCommit, iDesc ? "backward" : "forward", key, k);
      value_text(aModel[k], zVal);
      ck_assert_msg(strcmp((const char*)sqlite3_column_text(pStmt, 1), zVal) == 0,
                    "seed %llu, COMMIT %d: key %d has another value", (unsigned long long)seed,
                    iCommit, key);
      k += iDesc ? -1 : 1;
    }
    while( k >= 0 && k < N_KEY && aModel[k] < 0 ) k += iDesc ? -1 : 1;
    ck_assert_msg(k < 0 || k >= N_KEY, "seed %llu, COMMIT %d: key %d missing from the %s scan",
                  (unsigned long long)seed, iCommit, k, iDesc ? "backward" : "forward");
    sqlite3_finalize(pStmt);
  }
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE key = ?", -1, &pStmt, 0),
                   SQLITE_OK);
  rng_init(&rng, seed + (uint64_t)iCommit);
  for(i = 0; i < 50; i++){
    int key = (int)rng_below(&rng, N_KEY);
    int rc;
    sqlite3_bind_int(pStmt, 1, key);
    rc = sqlite3_step(pStmt);
    if( aModel[key] < 0 ){
      ck_assert_msg(rc == SQLITE_DONE, "seed %llu, COMMIT %d: deleted key %d read back",
                    (unsigned long long)seed, iCommit, key);
    }else{
      ck_assert_msg(rc == SQLITE_ROW, "seed %llu, COMMIT %d: key %d not found",
                    (unsigned long long)seed, iCommit, key);
      value_text(aModel[key], zVal);
      ck_assert_str_eq((const char*)sqlite3_column_text(pStmt, 0), zVal);
    }
    sqlite3_reset(pStmt);
  }
  sqlite3_finalize(pStmt);
}

static int *model_new(void){
  int *a = malloc(sizeof(int) * N_KEY), i;
  ck_assert_ptr_nonnull(a);
  for(i = 0; i < N_KEY; i++) a[i] = -1;
  return a;
}

/* ---- tests ---- */

/* The largest level-1 table's bytes (0: none). */
static sqlite3_int64 largest_level1(sqlite3 *db){
  sqlite3_int64 n = test_query_int(db, "SELECT max(bytes) FROM lsm_files('kv') WHERE level = 1");
  return n < 0 ? 0 : n;
}

/*
** A level-0 compaction runs in slices over several COMMITs; between any
** two of them the table reads exactly like the model (forward, backward,
** point reads) and lsm_check finds nothing wrong; and no COMMIT whose
** level 0 is not behind (12 tables) merges more into level 1 than a
** slice may: its budget, plus the one level-1 table a cut may not split,
** plus about a block of each set table (the estimate's grain).  Before
** slicing, a level-0 compaction merged all of level 0 with all of level
** 1 in one COMMIT: here each slicing must have taken at least three
** COMMITs' merges, and the largest under half of the slicing's total.
*/
START_TEST(slices_across_commits_read_like_the_model){
  sqlite3 *db = open_db();
  uint64_t seed = test_seed();
  int *aModel = model_new();
  int i, nSliceCommits = 0, nSlicings = 0, nSplit = 0, nCommits = test_quick() ? 250 : 500;
  sqlite3_int64 nPrevSlice = 0, nSlicingRead = 0, nSlicingMax = 0;
  test_rng rng;
  rng_init(&rng, seed);
  /* background=off: which COMMIT flushes must not depend on when a flush
  ** thread finishes (lsm/db_flush_ahead.c): with it, level 0 sometimes
  ** fell behind (12 tables), and the COMMIT that then runs all of a
  ** slicing's slices made the split check below fail (1 of 18 slicings,
  ** once in four runs). */
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625, background=off)");
  for(i = 0; i < nCommits; i++){
    sqlite3_int64 nRead0 = level1_read(db), nL0 = level0_tables(db), nRead, nSlice;
    sqlite3_int64 nMax = SLICE_BYTES + largest_level1(db) + 2 * 4096 * nL0;
    commit_random(db, &rng, aModel);
    nRead = level1_read(db) - nRead0;
    if( nRead < 0 ) nRead = 0;           /* the engine reopened: counters restarted */
    nSlice = slice_tables(db);
    if( nL0 + 1 < 12 ){
      ck_assert_msg(nRead <= nMax, "seed %llu: COMMIT %d merged %lld bytes into level 1, more"
                    " than %lld", (unsigned long long)seed, i, (long long)nRead, (long long)nMax);
    }
    if( nSlice > 0 || nPrevSlice > 0 ){
      nSlicingRead += nRead;
      if( nRead > nSlicingMax ) nSlicingMax = nRead;
      nSliceCommits += nSlice > 0;
      if( nSlice == 0 ){                 /* a slicing ended */
        nSlicings++;
        nSplit += nSlicingMax * 2 <= nSlicingRead;
        nSlicingRead = nSlicingMax = 0;
      }
      assert_reads_model(db, aModel, seed, i);
      if( !test_quick() || i % 4 == 0 ) assert_check_ok(db, seed, i);
    }
    nPrevSlice = nSlice;
  }
  ck_assert_msg(nSlicings >= 3, "seed %llu: %d slicings ended", (unsigned long long)seed, nSlicings);
  ck_assert_msg(nSliceCommits >= 3 * nSlicings, "seed %llu: %d COMMITs in %d slicings",
                (unsigned long long)seed, nSliceCommits, nSlicings);
  ck_assert_msg(nSplit == nSlicings, "seed %llu: %d of %d slicings merged half or more in one"
                " COMMIT", (unsigned long long)seed, nSlicings - nSplit, nSlicings);
  assert_reads_model(db, aModel, seed, i);
  assert_check_ok(db, seed, i);
  free(aModel);
  sqlite3_close(db);
}
END_TEST

/*
** A process killed (SIGKILL) between two slices leaves a store that
** reopens mid-slicing (the set and the key reached are in the manifest),
** reads like the model, and whose next COMMITs finish the slicing.  The
** child reports through a pipe how many COMMITs it made; the parent runs
** the same generator that far to rebuild the model.
*/
START_TEST(a_process_killed_between_slices_reopens_and_finishes){
  uint64_t seed = test_seed();
  int aPipe[2], status = 0, nDone = -1, i;
  int *aModel = model_new();
  pid_t pid;
  test_rng rng;
  sqlite3 *db;
  ck_assert_int_eq(pipe(aPipe), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if( pid == 0 ){
    int bSliced = 0;
    close(aPipe[0]);
    db = open_db();
    rng_init(&rng, seed);
    test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
    for(i = 0; i < 400; i++){
      sqlite3_int64 nBefore = slice_tables(db);
      char *zL1 = level1_files(db), *zL1After;
      commit_random(db, &rng, aModel);
      zL1After = level1_files(db);
      /* A slice after the first: the set was in progress before and after
      ** it and level 1 changed. */
      bSliced = nBefore > 0 && slice_tables(db) > 0 && strcmp(zL1, zL1After) != 0;
      sqlite3_free(zL1);
      sqlite3_free(zL1After);
      if( bSliced ) break;
    }
    nDone = bSliced ? i + 1 : -1;
    if( write(aPipe[1], &nDone, sizeof(nDone)) != (ssize_t)sizeof(nDone) ) _exit(3);
    kill(getpid(), SIGKILL);
    _exit(4);
  }
  close(aPipe[1]);
  ck_assert_int_eq((int)read(aPipe[0], &nDone, sizeof(nDone)), (int)sizeof(nDone));
  close(aPipe[0]);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child was not killed");
  ck_assert_msg(nDone > 0, "seed %llu: no two slices ran in 400 COMMITs", (unsigned long long)seed);

  rng_init(&rng, seed);
  for(i = 0; i < nDone; i++){
    op aOp[N_OPS];
    make_ops(&rng, aOp);
    apply_ops(aModel, aOp);
  }
  db = open_db();
  ck_assert_int_gt(slice_tables(db), 0);       /* still mid-slicing after the reopen */
  assert_reads_model(db, aModel, seed, i);
  assert_check_ok(db, seed, i);
  for(; i < nDone + 100 && slice_tables(db) > 0; i++){
    commit_random(db, &rng, aModel);
    assert_reads_model(db, aModel, seed, i);
  }
  ck_assert_int_eq(slice_tables(db), 0);       /* the slicing finished */
  assert_reads_model(db, aModel, seed, i);
  assert_check_ok(db, seed, i);
  free(aModel);
  sqlite3_close(db);
}
END_TEST

/*
** Two connections take turns COMMITting during slicings: whichever COMMITs
** runs the next slice (the progress is in the manifest, which the other
** reads when it catches up), and each reads like the model after the
** other's COMMIT.  Both run slices.
*/
START_TEST(two_connections_take_turns_slicing){
  sqlite3 *aDb[2];
  uint64_t seed = test_seed();
  int *aModel = model_new();
  int i, anSlices[2] = {0, 0}, nCommits = test_quick() ? 250 : 400;
  test_rng rng;
  rng_init(&rng, seed);
  aDb[0] = open_db();
  test_exec_ok(aDb[0], "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
  aDb[1] = open_db();
  for(i = 0; i < nCommits && (anSlices[0] < 2 || anSlices[1] < 2); i++){
    sqlite3 *db = aDb[i % 2], *dbOther = aDb[1 - i % 2];
    sqlite3_int64 nBefore = slice_tables(db);
    char *zL1 = level1_files(db), *zL1After;
    commit_random(db, &rng, aModel);
    zL1After = level1_files(db);
    if( nBefore > 0 && strcmp(zL1, zL1After) != 0 ) anSlices[i % 2]++;
    sqlite3_free(zL1);
    sqlite3_free(zL1After);
    if( nBefore > 0 || slice_tables(dbOther) > 0 ){
      assert_reads_model(dbOther, aModel, seed, i);
      if( i % 4 == 0 ) assert_check_ok(dbOther, seed, i);
    }
  }
  ck_assert_msg(anSlices[0] >= 2 && anSlices[1] >= 2, "seed %llu: slices by connection: %d, %d",
                (unsigned long long)seed, anSlices[0], anSlices[1]);
  assert_reads_model(aDb[0], aModel, seed, i);
  assert_reads_model(aDb[1], aModel, seed, i);
  assert_check_ok(aDb[1], seed, i);
  free(aModel);
  sqlite3_close(aDb[0]);
  sqlite3_close(aDb[1]);
}
END_TEST

/*
** A COMMIT that fails while it runs a slice (interrupted at its first
** insert into kv_file) is rolled back whole: the slicing state, level 1
** and the rows are as before, the table reads like the model without
** that COMMIT's operations, and the same COMMIT run again succeeds and
** runs the slice.
*/
static sqlite3 *g_pInterruptDb;
static int g_bArmed;
static void interrupt_at_file_insert(void *pArg, int eOp, const char *zDb, const char *zTable,
                                     sqlite3_int64 iRow){
  (void)pArg; (void)zDb; (void)iRow;
  if( g_bArmed && eOp == SQLITE_INSERT && strcmp(zTable, "kv_file") == 0 ){
    g_bArmed = 0;
    sqlite3_interrupt(g_pInterruptDb);
  }
}

START_TEST(a_failed_commit_that_ran_a_slice_changes_nothing){
  sqlite3 *db = open_db();
  uint64_t seed = test_seed();
  int *aModel = model_new();
  int i, nFailedSlices = 0;
  test_rng rng;
  rng_init(&rng, seed);
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
  g_pInterruptDb = db;
  sqlite3_update_hook(db, interrupt_at_file_insert, 0);
  for(i = 0; i < 400 && nFailedSlices < 3; i++){
    op aOp[N_OPS];
    sqlite3_int64 nBefore = slice_tables(db);
    char *zL1 = level1_files(db), *zL1After;
    int rc;
    make_ops(&rng, aOp);
    if( nBefore > 0 ){
      g_bArmed = 1;
      rc = commit_ops(db, aOp);
      g_bArmed = 0;
      if( rc != SQLITE_OK ){
        char *zL1Failed = level1_files(db);
        ck_assert_int_eq(rc, SQLITE_INTERRUPT);
        ck_assert_int_eq(slice_tables(db), nBefore);
        ck_assert_str_eq(zL1Failed, zL1);
        sqlite3_free(zL1Failed);
        assert_reads_model(db, aModel, seed, i);
        assert_check_ok(db, seed, i);
        rc = commit_ops(db, aOp);                /* again, uninterrupted */
        ck_assert_msg(rc == SQLITE_OK, "seed %llu: COMMIT %d again: %s",
                      (unsigned long long)seed, i, sqlite3_errmsg(db));
        zL1After = level1_files(db);
        nFailedSlices += strcmp(zL1, zL1After) != 0;
        sqlite3_free(zL1After);
      }
    }else{
      rc = commit_ops(db, aOp);
      ck_assert_int_eq(rc, SQLITE_OK);
    }
    apply_ops(aModel, aOp);
    sqlite3_free(zL1);
    if( nBefore > 0 ) assert_reads_model(db, aModel, seed, i);
  }
  sqlite3_update_hook(db, 0, 0);
  ck_assert_msg(nFailedSlices >= 3, "seed %llu: %d interrupted slices", (unsigned long long)seed,
                nFailedSlices);
  assert_reads_model(db, aModel, seed, i);
  assert_check_ok(db, seed, i);
  free(aModel);
  sqlite3_close(db);
}
END_TEST

/*
** A COMMIT whose xSync finished a slice (the engine installed its level-1
** tables and wrote its manifest rows) and then failed in the commit hook:
** SQLite rolls the rows back, so the engine must come back to what the
** database holds (dbstore_rollback marks it for a reload) — the level-1
** tables and the slicing state as before, the model read on this
** connection and on another, lsm_check clean. The same operations then
** commit.
*/
static int g_bFailInCommitHook;
static int fail_in_commit_hook(void *pArg){
  (void)pArg;
  return g_bFailInCommitHook;
}

START_TEST(a_commit_failed_by_its_hook_after_a_slice_changes_nothing){
  sqlite3 *db = open_db(), *dbOther;
  uint64_t seed = test_seed();
  int *aModel = model_new();
  int i, nFailed = 0;
  test_rng rng;
  rng_init(&rng, seed);
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
  dbOther = open_db();
  sqlite3_commit_hook(db, fail_in_commit_hook, 0);
  for(i = 0; i < 500 && nFailed < 5; i++){
    op aOp[N_OPS];
    sqlite3_int64 nBefore = slice_tables(db);
    char *zL1 = level1_files(db);
    int rc;
    make_ops(&rng, aOp);
    if( nBefore > 0 ){
      char *zL1Failed;
      g_bFailInCommitHook = 1;
      rc = commit_ops(db, aOp);
      g_bFailInCommitHook = 0;
      ck_assert_msg(rc == SQLITE_CONSTRAINT_COMMITHOOK || rc == SQLITE_CONSTRAINT,
                    "seed %llu, COMMIT %d failed with %d", (unsigned long long)seed, i, rc);
      zL1Failed = level1_files(db);
      ck_assert_msg(strcmp(zL1Failed, zL1) == 0,
                    "seed %llu, COMMIT %d: level 1 is %s after the failed COMMIT, was %s",
                    (unsigned long long)seed, i, zL1Failed, zL1);
      sqlite3_free(zL1Failed);
      ck_assert_int_eq(slice_tables(db), nBefore);
      assert_reads_model(db, aModel, seed, i);
      assert_reads_model(dbOther, aModel, seed, i);
      assert_check_ok(db, seed, i);
      nFailed++;
    }
    rc = commit_ops(db, aOp);
    ck_assert_msg(rc == SQLITE_OK, "seed %llu, COMMIT %d: %s", (unsigned long long)seed, i,
                  sqlite3_errmsg(db));
    apply_ops(aModel, aOp);
    sqlite3_free(zL1);
    if( nBefore > 0 ){
      assert_reads_model(db, aModel, seed, i);
      assert_reads_model(dbOther, aModel, seed, i);
    }
  }
  sqlite3_commit_hook(db, 0, 0);
  ck_assert_msg(nFailed >= 5, "seed %llu: %d COMMITs failed mid-slicing",
                (unsigned long long)seed, nFailed);
  assert_check_ok(db, seed, i);
  free(aModel);
  sqlite3_close(dbOther);
  sqlite3_close(db);
}
END_TEST

/*
** lsm_compact during a slicing finishes it first, then merges everything:
** the full merge must not meet the set's entries twice (once in level 0,
** once in the slices' level-1 tables), which compaction takes for damage.
*/
START_TEST(lsm_compact_during_a_slicing_finishes_it){
  sqlite3 *db = open_db();
  uint64_t seed = test_seed();
  int *aModel = model_new();
  int i;
  test_rng rng;
  rng_init(&rng, seed);
  test_exec_ok(db, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
  for(i = 0; i < 400 && slice_tables(db) == 0; i++) commit_random(db, &rng, aModel);
  ck_assert_int_gt(slice_tables(db), 0);
  test_exec_ok(db, "SELECT lsm_compact('kv')");
  ck_assert_int_eq(slice_tables(db), 0);
  ck_assert_int_eq(level0_tables(db), 0);
  assert_reads_model(db, aModel, seed, i);
  assert_check_ok(db, seed, i);
  free(aModel);
  sqlite3_close(db);
}
END_TEST

/*
** The engine alone: a directory store with l0_slice_bytes set and its
** background threads, so that flushes install level-0 tables (and write
** the manifest, slicing state included) while the compaction thread runs
** slices.  Random puts and deletes against a model; the store equals it
** (forward and backward scans), lsm_check passes, and so after a reopen,
** which may find a slicing in progress and finishes it.  How many slices
** run beside which flushes is up to the threads: the test asserts the
** outcome, not the interleaving.
*/
START_TEST(a_directory_store_slices_beside_its_flush_thread){
  uint64_t seed = test_seed();
  int i, j, nRounds = test_quick() ? 2 : 3;
  char *zDir = test_tmpdir("l0slice_dir"), zKey[16], zVal[120];
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_stats st;
  model m = {0};
  test_rng rng;
  rng_init(&rng, seed);
  lsm_options_default(&opt);
  opt.memtable_bytes = 64 * 1024;
  opt.l0_slice_bytes = SLICE_BYTES;
  opt.sync = LSM_SYNC_OFF;
  for(j = 0; j < nRounds; j++){
    ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
    test_store_equals_model(pDb, NULL, &m, seed);
    for(i = 0; i < 10000; i++){
      int k = (int)rng_below(&rng, 5000);
      snprintf(zKey, sizeof(zKey), "k%08d", k);
      if( rng_below(&rng, 10) < 2 ){
        ck_assert_int_eq(lsm_delete(pDb, zKey, strlen(zKey)), LSM_OK);
        model_delete(&m, zKey, strlen(zKey));
      }else{
        snprintf(zVal, sizeof(zVal), "%0100llu", (unsigned long long)rng_next(&rng));
        ck_assert_int_eq(lsm_put(pDb, zKey, strlen(zKey), zVal, strlen(zVal)), LSM_OK);
        model_put(&m, zKey, strlen(zKey), zVal, strlen(zVal));
      }
    }
    test_store_equals_model(pDb, NULL, &m, seed);
    ck_assert_int_eq(lsm_check(pDb, NULL), LSM_OK);
    ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
    ck_assert_uint_gt(st.nCompactions, 0);
    ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  }
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  ck_assert_uint_eq(st.nSliceTables, 0);
  test_store_equals_model(pDb, NULL, &m, seed);
  ck_assert_int_eq(lsm_check(pDb, NULL), LSM_OK);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  model_clear(&m);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

static Suite *l0slice_suite(void){
  Suite *s = suite_create("l0slice");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 600);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, slices_across_commits_read_like_the_model);
  tcase_add_test(tc, a_process_killed_between_slices_reopens_and_finishes);
  tcase_add_test(tc, two_connections_take_turns_slicing);
  tcase_add_test(tc, a_failed_commit_that_ran_a_slice_changes_nothing);
  tcase_add_test(tc, a_commit_failed_by_its_hook_after_a_slice_changes_nothing);
  tcase_add_test(tc, lsm_compact_during_a_slicing_finishes_it);
  tcase_add_test(tc, a_directory_store_slices_beside_its_flush_thread);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(l0slice_suite)
