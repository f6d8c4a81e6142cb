/*
** test_db.c — the whole store against the sorted reference model.
**
** A seeded random workload of puts, deletes, batches, gets, scans in both
** directions with bounds, flushes and compactions, with close and reopen
** between phases, on disk and in memory, with the background worker on
** and off.  Plus the API's contracts: snapshots, cursors pinned across
** flushes and compactions, batches read through, errors for bad input.
** Replay any failure with LSM_TEST_SEED=<printed seed>.
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "faultenv.h"
#include "lsm.h"
#include "testutil.h"

static lsm_options small_options(int bBackground){
  lsm_options opt;
  lsm_options_default(&opt);
  opt.memtable_bytes = 32 * 1024;     /* flush often */
  opt.block_bytes = 512;
  opt.background = bBackground;
  opt.sync = LSM_SYNC_OFF;
  return opt;
}

static void make_key(test_rng *pRng, int nKeySpace, char *zKey, size_t *pnKey){
  uint64_t k = rng_below(pRng, (uint64_t)nKeySpace);
  /* Keys of varied length sharing prefixes, to exercise prefix compression. */
  *pnKey = (size_t)snprintf(zKey, 64, "key%06llu%.*s", (unsigned long long)k,
                            (int)(k % 7), "abcdefg");
}

static void make_value(test_rng *pRng, uint8_t *aVal, size_t *pnVal){
  size_t n = (size_t)rng_below(pRng, 200), i;
  uint64_t r = rng_next(pRng);
  for(i = 0; i < n; i++) aVal[i] = (uint8_t)(r + i * 31);
  *pnVal = n;
}

/* Every key of the model present with its value, via get. */
static void check_gets(lsm_db *pDb, const model *m, uint64_t seed, test_rng *pRng, int nProbe){
  int i;
  for(i = 0; i < nProbe && m->n; i++){
    const model_entry *e = &m->a[rng_below(pRng, m->n)];
    void *pVal = NULL;
    size_t nVal = 0;
    int rc = lsm_get(pDb, NULL, e->pKey, e->nKey, &pVal, &nVal);
    SEED_ASSERT(rc == LSM_OK, "get %.*s: rc=%d %s", (unsigned long long)seed,
                (int)e->nKey, (char*)e->pKey, rc, lsm_errmsg(pDb));
    SEED_ASSERT(nVal == e->nVal && (nVal == 0 || memcmp(pVal, e->pVal, nVal) == 0),
                "get %.*s: wrong value", (unsigned long long)seed, (int)e->nKey, (char*)e->pKey);
    lsm_free(pVal);
  }
}

/* A scan between random bounds, in a random direction, equals the model. */
static void check_scan(lsm_db *pDb, const lsm_read *pRead, const model *m, uint64_t seed,
                       test_rng *pRng, int nKeySpace){
  lsm_cursor *pCsr = NULL;
  char zLo[64], zHi[64];
  size_t nLo, nHi, iLo, iHi, i;
  int bLoOpen = (int)rng_below(pRng, 2), bHiOpen = (int)rng_below(pRng, 2);
  int bBounded = (int)rng_below(pRng, 3) != 0, bReverse = (int)rng_below(pRng, 2);
  int rc = lsm_cursor_open(pDb, pRead, &pCsr);
  SEED_ASSERT(rc == LSM_OK, "cursor open rc=%d", (unsigned long long)seed, rc);
  make_key(pRng, nKeySpace, zLo, &nLo);
  make_key(pRng, nKeySpace, zHi, &nHi);
  if( bBounded ){
    if( strcmp(zLo, zHi) > 0 ){ char t[64]; size_t n = nLo; memcpy(t, zLo, 64); memcpy(zLo, zHi, 64); memcpy(zHi, t, 64); nLo = nHi; nHi = n; }
    rc = lsm_cursor_bounds(pCsr, zLo, nLo, bLoOpen, zHi, nHi, bHiOpen);
    SEED_ASSERT(rc == LSM_OK, "bounds rc=%d", (unsigned long long)seed, rc);
    iLo = model_lower_bound(m, zLo, nLo);
    if( bLoOpen && iLo < m->n && m->a[iLo].nKey == nLo && memcmp(m->a[iLo].pKey, zLo, nLo) == 0 ) iLo++;
    iHi = model_lower_bound(m, zHi, nHi);
    if( !bHiOpen && iHi < m->n && m->a[iHi].nKey == nHi && memcmp(m->a[iHi].pKey, zHi, nHi) == 0 ) iHi++;
    if( iHi < iLo ) iHi = iLo;
  }else{
    iLo = 0;
    iHi = m->n;
  }
  rc = bReverse ? lsm_cursor_last(pCsr) : lsm_cursor_first(pCsr);
  SEED_ASSERT(rc == LSM_OK, "position rc=%d", (unsigned long long)seed, rc);
  for(i = 0; i < iHi - iLo; i++){
    const model_entry *e = &m->a[bReverse ? iHi - 1 - i : iLo + i];
    const void *pKey, *pVal;
    size_t nKey, nVal;
    SEED_ASSERT(lsm_cursor_valid(pCsr), "scan ended early at %zu of %zu (reverse=%d)",
                (unsigned long long)seed, i, iHi - iLo, bReverse);
    rc = lsm_cursor_key(pCsr, &pKey, &nKey);
    if( rc == LSM_OK ) rc = lsm_cursor_value(pCsr, &pVal, &nVal);
    SEED_ASSERT(rc == LSM_OK, "scan entry %zu: rc=%d", (unsigned long long)seed, i, rc);
    SEED_ASSERT(nKey == e->nKey && memcmp(pKey, e->pKey, nKey) == 0,
                "scan key %zu: got %.*s want %.*s", (unsigned long long)seed, i,
                (int)nKey, (const char*)pKey, (int)e->nKey, (char*)e->pKey);
    SEED_ASSERT(nVal == e->nVal && (nVal == 0 || memcmp(pVal, e->pVal, nVal) == 0),
                "scan value of %.*s", (unsigned long long)seed, (int)nKey, (const char*)pKey);
    rc = bReverse ? lsm_cursor_prev(pCsr) : lsm_cursor_next(pCsr);
    SEED_ASSERT(rc == LSM_OK, "step rc=%d", (unsigned long long)seed, rc);
  }
  SEED_ASSERT(!lsm_cursor_valid(pCsr), "scan went past the end", (unsigned long long)seed);
  lsm_cursor_close(pCsr);
}

/* One random workload phase of nOp operations. */
static void run_phase(lsm_db *pDb, model *m, uint64_t seed, test_rng *pRng, int nOp, int nKeySpace){
  char zKey[64];
  uint8_t aVal[256];
  size_t nKey, nVal;
  int i, rc;
  for(i = 0; i < nOp; i++){
    int op = (int)rng_below(pRng, 100);
    if( op < 55 ){
      make_key(pRng, nKeySpace, zKey, &nKey);
      make_value(pRng, aVal, &nVal);
      rc = lsm_put(pDb, zKey, nKey, aVal, nVal);
      SEED_ASSERT(rc == LSM_OK, "put rc=%d %s", (unsigned long long)seed, rc, lsm_errmsg(pDb));
      model_put(m, zKey, nKey, aVal, nVal);
    }else if( op < 70 ){
      make_key(pRng, nKeySpace, zKey, &nKey);
      rc = lsm_delete(pDb, zKey, nKey);
      SEED_ASSERT(rc == LSM_OK, "delete rc=%d", (unsigned long long)seed, rc);
      model_delete(m, zKey, nKey);
    }else if( op < 78 ){
      /* A batch mixing puts and deletes, some on the same key. */
      lsm_batch *pBatch = NULL;
      int j, n = 1 + (int)rng_below(pRng, 20);
      model mNew = model_copy(m);
      ck_assert_int_eq(lsm_batch_new(pDb, &pBatch), LSM_OK);
      for(j = 0; j < n; j++){
        make_key(pRng, nKeySpace, zKey, &nKey);
        if( rng_below(pRng, 4) == 0 ){
          lsm_batch_delete(pBatch, zKey, nKey);
          model_delete(&mNew, zKey, nKey);
        }else{
          make_value(pRng, aVal, &nVal);
          lsm_batch_put(pBatch, zKey, nKey, aVal, nVal);
          model_put(&mNew, zKey, nKey, aVal, nVal);
        }
      }
      rc = lsm_write(pDb, pBatch);
      SEED_ASSERT(rc == LSM_OK, "write rc=%d", (unsigned long long)seed, rc);
      lsm_batch_free(pBatch);
      model_clear(m);
      *m = mNew;
    }else if( op < 88 ){
      make_key(pRng, nKeySpace, zKey, &nKey);
      {
        void *pVal = NULL;
        size_t nGot = 0;
        const model_entry *e = model_get(m, zKey, nKey);
        rc = lsm_get(pDb, NULL, zKey, nKey, &pVal, &nGot);
        if( e ){
          SEED_ASSERT(rc == LSM_OK && nGot == e->nVal && (nGot == 0 || memcmp(pVal, e->pVal, nGot) == 0),
                      "get %s rc=%d", (unsigned long long)seed, zKey, rc);
        }else{
          SEED_ASSERT(rc == LSM_NOTFOUND, "get of absent %s rc=%d", (unsigned long long)seed, zKey, rc);
        }
        lsm_free(pVal);
      }
    }else if( op < 95 ){
      check_scan(pDb, NULL, m, seed, pRng, nKeySpace);
    }else if( op < 98 ){
      rc = lsm_flush(pDb);
      SEED_ASSERT(rc == LSM_OK, "flush rc=%d %s", (unsigned long long)seed, rc, lsm_errmsg(pDb));
    }else{
      lsm_compact_result res;
      rc = lsm_compact(pDb, &res);
      SEED_ASSERT(rc == LSM_OK, "compact rc=%d %s", (unsigned long long)seed, rc, lsm_errmsg(pDb));
    }
  }
}

static void random_workload(int bBackground, int bMemory){
  uint64_t seed = test_seed();
  test_rng rng;
  model m = {0};
  char *zDir = bMemory ? NULL : test_tmpdir("db");
  char zPath[4200];
  lsm_options opt = small_options(bBackground);
  lsm_db *pDb = NULL;
  int iPhase, nPhase = bMemory ? 1 : 4, rc;
  if( zDir ) snprintf(zPath, sizeof(zPath), "%s/store", zDir);
  rng_init(&rng, seed + (uint64_t)bBackground * 7 + (uint64_t)bMemory * 13);
  for(iPhase = 0; iPhase < nPhase; iPhase++){
    rc = lsm_open(bMemory ? ":memory:" : zPath, &opt, &pDb);
    SEED_ASSERT(rc == LSM_OK, "open rc=%d %s", (unsigned long long)seed, rc, lsm_errmsg(NULL));
    check_gets(pDb, &m, seed, &rng, 200);
    check_scan(pDb, NULL, &m, seed, &rng, 3000);
    run_phase(pDb, &m, seed, &rng, test_scale(4000), 3000);
    check_gets(pDb, &m, seed, &rng, 500);
    {
      char *zReport = NULL;
      lsm_stats st;
      rc = lsm_check(pDb, &zReport);
      SEED_ASSERT(rc == LSM_OK, "check: %s", (unsigned long long)seed, zReport ? zReport : "?");
      /* The workload must have exercised flushes and compactions. */
      ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
      SEED_ASSERT(st.nFlushes > 0 && st.nCompactions > 0, "no flush (%llu) or compaction (%llu)",
                  (unsigned long long)seed, (unsigned long long)st.nFlushes,
                  (unsigned long long)st.nCompactions);
    }
    ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  }
  model_clear(&m);
  if( zDir ){ test_rmtree(zDir); free(zDir); }
}

START_TEST(db_random_workload_matches_model_across_reopens){ random_workload(0, 0); }
END_TEST
START_TEST(db_random_workload_with_background_worker_matches_model){ random_workload(1, 0); }
END_TEST
START_TEST(db_memory_store_matches_model){ random_workload(1, 1); }
END_TEST

START_TEST(db_snapshot_and_cursor_survive_flush_and_compaction){
  lsm_options opt = small_options(0);
  lsm_db *pDb = NULL;
  lsm_snapshot *pSnap = NULL;
  lsm_cursor *pCsr = NULL;
  lsm_read rd = {0};
  char zKey[32];
  int i, n = 0;
  ck_assert_int_eq(lsm_open(":memory:", &opt, &pDb), LSM_OK);
  for(i = 0; i < 1000; i++){
    int nk = snprintf(zKey, sizeof(zKey), "k%05d", i);
    ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nk, "old", 3), LSM_OK);
  }
  ck_assert_int_eq(lsm_snapshot_acquire(pDb, &pSnap), LSM_OK);
  rd.pSnapshot = pSnap;
  ck_assert_int_eq(lsm_cursor_open(pDb, &rd, &pCsr), LSM_OK);
  ck_assert_int_eq(lsm_cursor_first(pCsr), LSM_OK);
  /* Overwrite and delete everything, flush and compact under the cursor. */
  for(i = 0; i < 1000; i++){
    int nk = snprintf(zKey, sizeof(zKey), "k%05d", i);
    if( i % 2 ) ck_assert_int_eq(lsm_delete(pDb, zKey, (size_t)nk), LSM_OK);
    else ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nk, "new", 3), LSM_OK);
  }
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  while( lsm_cursor_valid(pCsr) ){
    const void *pVal;
    size_t nVal;
    lsm_cursor_value(pCsr, &pVal, &nVal);
    ck_assert(nVal == 3 && memcmp(pVal, "old", 3) == 0);
    n++;
    ck_assert_int_eq(lsm_cursor_next(pCsr), LSM_OK);
  }
  ck_assert_int_eq(n, 1000);
  lsm_cursor_close(pCsr);
  {
    void *pVal; size_t nVal;
    ck_assert_int_eq(lsm_get(pDb, &rd, "k00001", 6, &pVal, &nVal), LSM_OK);
    ck_assert(nVal == 3 && memcmp(pVal, "old", 3) == 0);
    lsm_free(pVal);
    ck_assert_int_eq(lsm_get(pDb, NULL, "k00001", 6, &pVal, &nVal), LSM_NOTFOUND);
  }
  ck_assert_int_eq(lsm_close(pDb), LSM_MISUSE);   /* snapshot still open */
  lsm_snapshot_release(pSnap);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
}
END_TEST

START_TEST(db_batch_is_read_through_up_to_its_mark){
  lsm_options opt = small_options(0);
  lsm_db *pDb = NULL;
  lsm_batch *pB = NULL;
  lsm_read rd = {0};
  lsm_cursor *pCsr = NULL;
  void *pVal; size_t nVal;
  int n = 0;
  ck_assert_int_eq(lsm_open(":memory:", &opt, &pDb), LSM_OK);
  ck_assert_int_eq(lsm_put(pDb, "a", 1, "1", 1), LSM_OK);
  ck_assert_int_eq(lsm_put(pDb, "b", 1, "2", 1), LSM_OK);
  ck_assert_int_eq(lsm_batch_new(pDb, &pB), LSM_OK);
  ck_assert_int_eq(lsm_batch_put(pB, "c", 1, "3", 1), LSM_OK);
  ck_assert_int_eq(lsm_batch_delete(pB, "a", 1), LSM_OK);
  rd.pBatch = pB;
  rd.nBatchOps = SIZE_MAX;
  ck_assert_int_eq(lsm_get(pDb, &rd, "a", 1, &pVal, &nVal), LSM_NOTFOUND);
  ck_assert_int_eq(lsm_get(pDb, &rd, "c", 1, &pVal, &nVal), LSM_OK);
  lsm_free(pVal);
  ck_assert_int_eq(lsm_get(pDb, NULL, "c", 1, &pVal, &nVal), LSM_NOTFOUND);
  /* A cursor opened now does not see operations added after it. */
  rd.nBatchOps = lsm_batch_count(pB);
  ck_assert_int_eq(lsm_cursor_open(pDb, &rd, &pCsr), LSM_OK);
  ck_assert_int_eq(lsm_batch_put(pB, "d", 1, "4", 1), LSM_OK);
  for(lsm_cursor_first(pCsr); lsm_cursor_valid(pCsr); lsm_cursor_next(pCsr)) n++;
  ck_assert_int_eq(n, 2);     /* b, c */
  lsm_cursor_close(pCsr);
  /* A cursor keeps its view when the batch is truncated under it. */
  {
    lsm_batch *pB2 = NULL;
    lsm_read rd2 = {0};
    ck_assert_int_eq(lsm_batch_new(pDb, &pB2), LSM_OK);
    ck_assert_int_eq(lsm_batch_put(pB2, "x", 1, "9", 1), LSM_OK);
    rd2.pBatch = pB2;
    rd2.nBatchOps = SIZE_MAX;
    ck_assert_int_eq(lsm_cursor_open(pDb, &rd2, &pCsr), LSM_OK);
    lsm_batch_truncate(pB2, 0);
    lsm_batch_free(pB2);
    n = 0;
    for(lsm_cursor_first(pCsr); lsm_cursor_valid(pCsr); lsm_cursor_next(pCsr)) n++;
    ck_assert_int_eq(n, 3);     /* a, b, x */
    lsm_cursor_close(pCsr);
  }
  /* Savepoint rollback: drop the delete of a and the put of d. */
  lsm_batch_truncate(pB, 1);
  rd.nBatchOps = SIZE_MAX;
  ck_assert_int_eq(lsm_get(pDb, &rd, "a", 1, &pVal, &nVal), LSM_OK);
  lsm_free(pVal);
  ck_assert_int_eq(lsm_get(pDb, &rd, "d", 1, &pVal, &nVal), LSM_NOTFOUND);
  ck_assert_int_eq(lsm_write(pDb, pB), LSM_OK);
  ck_assert_int_eq(lsm_get(pDb, NULL, "c", 1, &pVal, &nVal), LSM_OK);
  lsm_free(pVal);
  lsm_batch_free(pB);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
}
END_TEST

START_TEST(db_bad_input_is_refused){
  lsm_options opt = small_options(0);
  lsm_db *pDb = NULL, *pDb2 = NULL;
  char *zDir = test_tmpdir("dbbad");
  char zPath[4200], zFile[4200];
  static uint8_t aBig[LSM_MAX_KEY + 1];
  FILE *f;
  snprintf(zPath, sizeof(zPath), "%s/store", zDir);
  ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_OK);
  ck_assert_int_eq(lsm_put(pDb, aBig, sizeof(aBig), "v", 1), LSM_TOOBIG);
  /* A second open of a directory in use is refused with the lock named. */
  ck_assert_int_eq(lsm_open(zPath, &opt, &pDb2), LSM_BUSY);
  ck_assert_ptr_nonnull(strstr(lsm_errmsg(NULL), "LOCK"));
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  /* A file is not a store; nor is a non-empty directory without MANIFEST. */
  snprintf(zFile, sizeof(zFile), "%s/plainfile", zDir);
  f = fopen(zFile, "w"); fputs("x", f); fclose(f);
  ck_assert_int_eq(lsm_open(zFile, &opt, &pDb2), LSM_CANTOPEN);
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb2), LSM_CANTOPEN);
  {
    /* A refused directory is left exactly as it was: no LOCK made. */
    char zLockPath[4300];
    snprintf(zLockPath, sizeof(zLockPath), "%s/LOCK", zDir);
    ck_assert_int_ne(access(zLockPath, F_OK), 0);
  }
  /* A missing parent. */
  snprintf(zFile, sizeof(zFile), "%s/no/such/dir", zDir);
  ck_assert_int_eq(lsm_open(zFile, &opt, &pDb2), LSM_CANTOPEN);
  /* Read-only refuses writes but reads. */
  opt.readonly = 1;
  ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_OK);
  ck_assert_int_eq(lsm_put(pDb, "k", 1, "v", 1), LSM_READONLY);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  /* lsm_destroy removes the store's files and its directory, and leaves
  ** other files alone. */
  ck_assert_int_eq(lsm_destroy(zPath, NULL), LSM_OK);
  ck_assert_int_ne(access(zPath, F_OK), 0);
  {
    char zPlain[4300];
    snprintf(zPlain, sizeof(zPlain), "%s/plainfile", zDir);
    ck_assert_int_eq(access(zPlain, F_OK), 0);
  }
  ck_assert_int_eq(lsm_destroy(zPath, NULL), LSM_OK);      /* missing: fine */
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

START_TEST(db_stats_count_bloom_checks_and_probes){
  lsm_options opt = small_options(0);
  lsm_db *pDb = NULL;
  lsm_stats st;
  char zKey[32];
  int i;
  ck_assert_int_eq(lsm_open(":memory:", &opt, &pDb), LSM_OK);
  for(i = 0; i < 2000; i++){
    int n = snprintf(zKey, sizeof(zKey), "k%06d", i * 2);
    ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)n, "value", 5), LSM_OK);
  }
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  for(i = 0; i < 2000; i++){
    void *pVal; size_t nVal;
    int n = snprintf(zKey, sizeof(zKey), "k%06d", i * 2 + 1);   /* absent, inside the range */
    ck_assert_int_eq(lsm_get(pDb, NULL, zKey, (size_t)n, &pVal, &nVal), LSM_NOTFOUND);
  }
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  ck_assert_uint_eq(st.nGets, 2000);
  ck_assert_uint_gt(st.nBloomChecks, 0);
  ck_assert_uint_gt(st.nBloomNegatives, st.nBloomChecks * 9 / 10);
  ck_assert_uint_eq(st.nBloomChecks, st.nBloomNegatives + st.nBloomFalsePositives);
  ck_assert_uint_eq(st.nUserBytesWritten, 2000 * (7 + 5));
  ck_assert_uint_gt(st.nFlushBytesWritten, 0);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
}
END_TEST

/*
** The memtables' filters (memtable.h) never hide a key: a writer puts keys
** into a store whose memtable is as small as allowed (a switch every few
** dozen puts, flushes in the background) and publishes how many lsm_put
** returned; readers get those keys, the newest half of the time (the one
** most likely to sit in a memtable being switched or flushed), and keys
** never written.  Every written key is found with its value, no other.
*/
typedef struct db_race {
  lsm_db *pDb;
  int nWrite;                   /* keys the writer puts                  */
  _Atomic int nAcked;           /* puts that returned LSM_OK             */
  uint64_t seed;
} db_race;

typedef struct db_race_reader {
  db_race *pRace;
  int iReader;
  int nGet;                     /* gets made                             */
  int nBad;                     /* wrong answers                         */
  int iFirstBad;                /* the key of the first, or -1           */
} db_race_reader;

static int db_race_key(int i, char *zKey){
  /* Scattered, so that each memtable and table covers the whole range;
  ** odd numbers are never written. */
  return snprintf(zKey, 24, "%016llu", (unsigned long long)(((uint64_t)i * 2654435761u) % 4294967291u) * 2);
}

static void *db_race_writer(void *pArg){
  db_race *p = (db_race*)pArg;
  int i;
  for(i = 0; i < p->nWrite; i++){
    char zKey[24];
    int n = db_race_key(i, zKey);
    if( lsm_put(p->pDb, zKey, (size_t)n, zKey, (size_t)n) != LSM_OK ) abort();
    atomic_store(&p->nAcked, i + 1);
  }
  return NULL;
}

static void *db_race_reader_main(void *pArg){
  db_race_reader *pR = (db_race_reader*)pArg;
  db_race *p = pR->pRace;
  test_rng rng;
  rng_init(&rng, p->seed + 100 + (uint64_t)pR->iReader);
  for(;;){
    int nAcked = atomic_load(&p->nAcked), i, n, rc;
    char zKey[24];
    void *pVal = NULL;
    size_t nVal = 0;
    if( nAcked == 0 ) continue;
    i = rng_below(&rng, 2) ? nAcked - 1 : (int)rng_below(&rng, (uint64_t)nAcked);
    n = db_race_key(i, zKey);
    rc = lsm_get(p->pDb, NULL, zKey, (size_t)n, &pVal, &nVal);
    if( rc != LSM_OK || nVal != (size_t)n || memcmp(pVal, zKey, nVal) != 0 ){
      if( pR->nBad++ == 0 ) pR->iFirstBad = i;
    }
    lsm_free(pVal);
    zKey[n - 1]++;                       /* an odd number: never written */
    pVal = NULL;
    rc = lsm_get(p->pDb, NULL, zKey, (size_t)n, &pVal, &nVal);
    if( rc != LSM_NOTFOUND && pR->nBad++ == 0 ) pR->iFirstBad = -1;
    lsm_free(pVal);
    pR->nGet += 2;
    if( nAcked == p->nWrite ) break;
  }
  return NULL;
}

START_TEST(db_gets_find_every_acknowledged_key_across_memtable_switches_and_flushes){
  unsigned long long seed = test_seed();
  lsm_options opt = small_options(1);
  db_race race;
  db_race_reader aR[2];
  pthread_t w, r[2];
  int i;
  opt.memtable_bytes = 4096;            /* the least allowed */
  memset(&race, 0, sizeof(race));
  race.nWrite = test_scale(20000);
  race.seed = seed;
  atomic_init(&race.nAcked, 0);
  ck_assert_int_eq(lsm_open(":memory:", &opt, &race.pDb), LSM_OK);
  for(i = 0; i < 2; i++){
    memset(&aR[i], 0, sizeof(aR[i]));
    aR[i].pRace = &race;
    aR[i].iReader = i;
    ck_assert_int_eq(pthread_create(&r[i], NULL, db_race_reader_main, &aR[i]), 0);
  }
  ck_assert_int_eq(pthread_create(&w, NULL, db_race_writer, &race), 0);
  pthread_join(w, NULL);
  for(i = 0; i < 2; i++){
    pthread_join(r[i], NULL);
    SEED_ASSERT(aR[i].nBad == 0, "reader %d: %d wrong answers of %d gets (first: key %d)",
                seed, i, aR[i].nBad, aR[i].nGet, aR[i].iFirstBad);
  }
  ck_assert_int_eq(lsm_close(race.pDb), LSM_OK);
}
END_TEST

/* The store has every key of m, by point get, and nothing else, by scans
** both ways. */
static void check_store(lsm_db *pDb, const model *m, uint64_t seed){
  size_t i;
  for(i = 0; i < m->n; i++){
    const model_entry *e = &m->a[i];
    void *pVal = NULL;
    size_t nVal = 0;
    int rc = lsm_get(pDb, NULL, e->pKey, e->nKey, &pVal, &nVal);
    SEED_ASSERT(rc == LSM_OK, "get %.*s: rc=%d %s", (unsigned long long)seed,
                (int)e->nKey, (char*)e->pKey, rc, lsm_errmsg(pDb));
    SEED_ASSERT(nVal == e->nVal && memcmp(pVal, e->pVal, nVal) == 0,
                "get %.*s: wrong value", (unsigned long long)seed, (int)e->nKey, (char*)e->pKey);
    lsm_free(pVal);
  }
  test_store_equals_model(pDb, NULL, m, seed);
}

/* An I/O error in a flush fails the write that needed it, leaves the
** store consistent, and the store works again once the fault is gone:
** every write after space returns succeeds, is read back at once, and
** is there after a reopen. */
/* A memtable's filter is allocated whole with it: capped (db_impl.h,
** DB_MEMTABLE_FILTER_MAX_BYTES), a store with the largest memtable allowed
** makes no allocation near memtable_bytes / 64 (1 GiB) to open and write. */
START_TEST(db_memtable_filter_is_bounded_for_huge_memtables){
  faultenv *fe = faultenv_new(NULL);
  lsm_options opt;
  lsm_db *pDb = NULL;
  char *zDir = test_tmpdir("dbhugemem");
  char zPath[4200];
  void *pVal = NULL;
  size_t nVal = 0;
  snprintf(zPath, sizeof(zPath), "%s/store", zDir);
  lsm_options_default(&opt);
  opt.background = 0;
  opt.memtable_bytes = (uint64_t)65536 << 20;
  opt.env = faultenv_env(fe);
  faultenv_reset_counts(fe);
  ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_OK);
  ck_assert_int_eq(lsm_put(pDb, "k", 1, "v", 1), LSM_OK);
  ck_assert_int_eq(lsm_get(pDb, NULL, "k", 1, &pVal, &nVal), LSM_OK);
  ck_assert_uint_eq(nVal, 1);
  lsm_free(pVal);
  ck_assert_msg(faultenv_max_alloc(fe) <= ((size_t)2 << 20),
                "the largest allocation was %zu bytes", faultenv_max_alloc(fe));
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  faultenv_free(fe);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

START_TEST(db_io_error_in_flush_is_reported_and_recoverable){
  faultenv *fe = faultenv_new(NULL);
  lsm_options opt = small_options(0);
  lsm_db *pDb = NULL;
  char *zDir = test_tmpdir("dbio");
  char zPath[4200], zKey[32];
  model m = {0};
  int i, rc, nFail = 0;
  snprintf(zPath, sizeof(zPath), "%s/store", zDir);
  opt.env = faultenv_env(fe);
  ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_OK);
  faultenv_set_space(fe, 200 * 1024);
  for(i = 0; i < 6000; i++){
    int n = snprintf(zKey, sizeof(zKey), "k%06d", i);
    rc = lsm_put(pDb, zKey, (size_t)n, "some value bytes", 16);
    if( rc == LSM_OK ) model_put(&m, zKey, (size_t)n, "some value bytes", 16);
    else{ ck_assert(rc == LSM_FULL || rc == LSM_IOERR); nFail++; }
  }
  ck_assert_int_gt(nFail, 0);
  /* What the failed writes left: the written keys, no failed one. */
  check_store(pDb, &m, test_seed());

  /* Space is back: enough writes for several flushes, all succeed. */
  faultenv_set_space(fe, UINT64_MAX);
  for(i = 0; i < 6000; i++){
    int n = snprintf(zKey, sizeof(zKey), "z%06d", i);
    rc = lsm_put(pDb, zKey, (size_t)n, "after", 5);
    ck_assert_msg(rc == LSM_OK, "put %s after space returned: rc %d (%s)", zKey, rc, lsm_errmsg(pDb));
    model_put(&m, zKey, (size_t)n, "after", 5);
  }
  check_store(pDb, &m, test_seed());
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);

  ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_OK);
  check_store(pDb, &m, test_seed());
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  faultenv_free(fe);
  model_clear(&m);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/* A failed WAL append fails that commit only: later commits succeed, and
** after a crash the log's torn record does not hide them. */
START_TEST(db_failed_wal_write_fails_one_commit_and_rotates_the_log){
  faultenv *fe = faultenv_new(NULL);
  lsm_options opt = small_options(0);
  lsm_db *pDb = NULL;
  char *zDir = test_tmpdir("dbwal");
  char zPath[4200], zKey[32];
  void *pVal; size_t nVal;
  int i, n;
  snprintf(zPath, sizeof(zPath), "%s/store", zDir);
  opt.env = faultenv_env(fe);
  opt.sync = LSM_SYNC_FULL;     /* the power cut below keeps synced bytes only */
  ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_OK);
  for(i = 0; i < 100; i++){
    n = snprintf(zKey, sizeof(zKey), "a%04d", i);
    ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)n, "v", 1), LSM_OK);
  }
  faultenv_fail(fe, FAULTENV_APPEND, 1, LSM_IOERR, 0);
  ck_assert_int_eq(lsm_put(pDb, "failed", 6, "v", 1), LSM_IOERR);
  for(i = 0; i < 100; i++){
    n = snprintf(zKey, sizeof(zKey), "b%04d", i);
    ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)n, "v", 1), LSM_OK);
  }
  faultenv_freeze(fe);
  lsm_close(pDb);
  faultenv_crash(fe);
  ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_OK);
  ck_assert_int_eq(lsm_get(pDb, NULL, "failed", 6, &pVal, &nVal), LSM_NOTFOUND);
  for(i = 0; i < 100; i++){
    n = snprintf(zKey, sizeof(zKey), "a%04d", i);
    ck_assert_int_eq(lsm_get(pDb, NULL, zKey, (size_t)n, &pVal, &nVal), LSM_OK);
    lsm_free(pVal);
    n = snprintf(zKey, sizeof(zKey), "b%04d", i);
    ck_assert_int_eq(lsm_get(pDb, NULL, zKey, (size_t)n, &pVal, &nVal), LSM_OK);
    lsm_free(pVal);
  }
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  faultenv_free(fe);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

static Suite *db_suite(void){
  Suite *s = suite_create("db");
  TCase *tc = tcase_create("db");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, db_random_workload_matches_model_across_reopens);
  tcase_add_test(tc, db_random_workload_with_background_worker_matches_model);
  tcase_add_test(tc, db_memory_store_matches_model);
  tcase_add_test(tc, db_snapshot_and_cursor_survive_flush_and_compaction);
  tcase_add_test(tc, db_batch_is_read_through_up_to_its_mark);
  tcase_add_test(tc, db_bad_input_is_refused);
  tcase_add_test(tc, db_stats_count_bloom_checks_and_probes);
  tcase_add_test(tc, db_gets_find_every_acknowledged_key_across_memtable_switches_and_flushes);
  tcase_add_test(tc, db_memtable_filter_is_bounded_for_huge_memtables);
  tcase_add_test(tc, db_io_error_in_flush_is_reported_and_recoverable);
  tcase_add_test(tc, db_failed_wal_write_fails_one_commit_and_rotates_the_log);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(db_suite)
