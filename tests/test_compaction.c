/*
** test_compaction.c — the compaction policies against the reference model.
**
** For leveled and tiered: the store equals a sorted reference after every
** flush and the compactions it sets off (background=off makes them run
** right away, in the writer's thread); deleted keys never come back,
** across levels; tombstone-dense tables get compacted away; the worker
** stops cleanly when the store closes mid-compaction; a store made with
** one policy is not silently opened with the other; a table written
** damaged is refused before it is installed (mapped tables).
** Replay a failure with LSM_TEST_SEED=<printed seed>.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ikey.h"
#include "lsm.h"
#include "testutil.h"

static lsm_options policy_options(int eCompaction, int bBackground){
  lsm_options opt;
  lsm_options_default(&opt);
  opt.memtable_bytes = 16 * 1024;
  opt.block_bytes = 512;
  opt.sync = LSM_SYNC_OFF;
  opt.background = bBackground;
  opt.compaction = eCompaction;
  return opt;
}

static int key_of(char *z, uint64_t k){
  return snprintf(z, 32, "k%08llu", (unsigned long long)k);
}

/* Random puts and deletes; after every flush the store equals the model. */
static void model_after_every_compaction(int eCompaction){
  uint64_t seed = test_seed();
  test_rng rng;
  lsm_options opt = policy_options(eCompaction, 0);
  lsm_db *pDb = NULL;
  model m = {0};
  lsm_stats st;
  char zKey[32], zVal[128];
  int i, nOp = test_scale(20000), nCheck = 0;
  /* Small memtables: many tables, so that even the quick run's 5,000
  ** operations make tiered merge windows of eight runs. */
  opt.memtable_bytes = 4 * 1024;
  rng_init(&rng, seed + (uint64_t)eCompaction);
  ck_assert_int_eq(lsm_open(":memory:", &opt, &pDb), LSM_OK);
  for(i = 0; i < nOp; i++){
    uint64_t k = rng_below(&rng, 4000);
    int nk = key_of(zKey, k);
    if( rng_below(&rng, 4) == 0 ){
      ck_assert_int_eq(lsm_delete(pDb, zKey, (size_t)nk), LSM_OK);
      model_delete(&m, zKey, (size_t)nk);
    }else{
      int nv = snprintf(zVal, sizeof(zVal), "v%d-%llu-%0*d", i, (unsigned long long)k,
                        (int)rng_below(&rng, 80), 0);
      ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nk, zVal, (size_t)nv), LSM_OK);
      model_put(&m, zKey, (size_t)nk, zVal, (size_t)nv);
    }
    if( i % 331 == 330 ){
      ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
      test_store_equals_model(pDb, NULL, &m, seed);
      nCheck++;
    }
  }
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  SEED_ASSERT(st.nCompactions >= 5, "only %llu compactions ran", (unsigned long long)seed,
              (unsigned long long)st.nCompactions);
  {
    char *zReport = NULL;
    SEED_ASSERT(lsm_check(pDb, &zReport) == LSM_OK, "check: %s", (unsigned long long)seed,
                zReport ? zReport : "");
  }
  test_store_equals_model(pDb, NULL, &m, seed);
  ck_assert_int_gt(nCheck, 3);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  model_clear(&m);
}

START_TEST(compaction_leveled_store_equals_model_after_every_compaction){
  model_after_every_compaction(LSM_COMPACTION_LEVELED);
}
END_TEST
START_TEST(compaction_tiered_store_equals_model_after_every_compaction){
  model_after_every_compaction(LSM_COMPACTION_TIERED);
}
END_TEST

/* Old versions pushed to the bottom, tombstones above them, then many
** compactions: a deleted key must never come back. */
static void deleted_keys_never_resurrect(int eCompaction){
  lsm_options opt = policy_options(eCompaction, 0);
  lsm_db *pDb = NULL;
  char zKey[32], zFill[200];
  int i, j, nKey = 3000;
  memset(zFill, 'f', sizeof(zFill));
  ck_assert_int_eq(lsm_open(":memory:", &opt, &pDb), LSM_OK);
  for(i = 0; i < nKey; i++){
    int nk = key_of(zKey, (uint64_t)i);
    ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nk, "old", 3), LSM_OK);
  }
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);       /* all at the bottom */
  for(i = 0; i < nKey; i += 2){
    int nk = key_of(zKey, (uint64_t)i);
    ck_assert_int_eq(lsm_delete(pDb, zKey, (size_t)nk), LSM_OK);
  }
  /* Filler in another key range sets off compactions at every level. */
  for(j = 0; j < 12; j++){
    for(i = 0; i < 400; i++){
      char zF[32];
      int nk = snprintf(zF, sizeof(zF), "z%04d-%06d", j, i);
      ck_assert_int_eq(lsm_put(pDb, zF, (size_t)nk, zFill, sizeof(zFill)), LSM_OK);
    }
    ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
    for(i = 0; i < nKey; i++){
      void *pVal = NULL; size_t nVal;
      int nk = key_of(zKey, (uint64_t)i);
      int rc = lsm_get(pDb, NULL, zKey, (size_t)nk, &pVal, &nVal);
      ck_assert_int_eq(rc, (i % 2) ? LSM_OK : LSM_NOTFOUND);
      lsm_free(pVal);
    }
  }
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
}

START_TEST(compaction_leveled_deleted_keys_never_resurrect){
  deleted_keys_never_resurrect(LSM_COMPACTION_LEVELED);
}
END_TEST
START_TEST(compaction_tiered_deleted_keys_never_resurrect){
  deleted_keys_never_resurrect(LSM_COMPACTION_TIERED);
}
END_TEST

/*
** make bench's deleterandom in miniature, against the model: every key
** written in random order, then overwritten, until the tree reaches level
** 3; then half the keys deleted in random order (some put again later),
** with a flush and a full comparison every 2,500 operations.  The
** tombstones then wait in level 0 (they weigh less than level 1: see
** compaction_leveled.c, LEVELED_L0_FULL), merged together there, and sit
** above older versions two and three levels down, where a tombstone
** dropped too early (before it met every older version of its key) would
** bring the key back.
*/
START_TEST(compaction_leveled_random_deletes_over_deep_levels_match_the_model){
  uint64_t seed = test_seed();
  test_rng rng;
  lsm_options opt = policy_options(LSM_COMPACTION_LEVELED, 0);
  lsm_db *pDb = NULL;
  model m = {0};
  lsm_stats st;
  char zKey[32], zVal[128];
  int i, nKey = 30000, nDeepest = 0, nMaxL0 = 0, iPass;
  opt.compression = LSM_COMPRESSION_NONE;   /* the bench's; and the tree grows */
  rng_init(&rng, seed);
  ck_assert_int_eq(lsm_open(":memory:", &opt, &pDb), LSM_OK);
  for(iPass = 0; iPass < 2; iPass++){
    for(i = 0; i < nKey; i++){
      uint64_t k = rng_below(&rng, (uint64_t)nKey);
      int nk = key_of(zKey, k);
      int nv = snprintf(zVal, sizeof(zVal), "v%d-%d-%0*d", iPass, i, 90, 0);
      ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nk, zVal, (size_t)nv), LSM_OK);
      model_put(&m, zKey, (size_t)nk, zVal, (size_t)nv);
    }
  }
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  for(i = 0; i < LSM_MAX_LEVELS; i++) if( st.aLevel[i].nFiles ) nDeepest = i;
  SEED_ASSERT(nDeepest >= 3, "the tree reached only level %d", (unsigned long long)seed, nDeepest);
  for(i = 0; i < nKey; i++){
    uint64_t k = rng_below(&rng, (uint64_t)nKey);
    int nk = key_of(zKey, k);
    if( rng_below(&rng, 8) == 0 ){
      int nv = snprintf(zVal, sizeof(zVal), "again-%d", i);
      ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nk, zVal, (size_t)nv), LSM_OK);
      model_put(&m, zKey, (size_t)nk, zVal, (size_t)nv);
    }else{
      ck_assert_int_eq(lsm_delete(pDb, zKey, (size_t)nk), LSM_OK);
      model_delete(&m, zKey, (size_t)nk);
    }
    if( i % 2500 == 2499 ){
      ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
      test_store_equals_model(pDb, NULL, &m, seed);
      ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
      if( (int)st.aLevel[0].nFiles > nMaxL0 ) nMaxL0 = (int)st.aLevel[0].nFiles;
    }
  }
  /* The level-0 rule was at work: tables of tombstones waited in level 0
  ** and were merged together there (level 0's read counter counts only
  ** such merges), level 0 holding at least the trigger of 4 tables. */
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  SEED_ASSERT(st.aLevel[0].nBytesReadByCompaction > 0 && nMaxL0 >= 4,
              "no level-0 tables merged together (level 0 held at most %d tables)",
              (unsigned long long)seed, nMaxL0);
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  test_store_equals_model(pDb, NULL, &m, seed);
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  test_store_equals_model(pDb, NULL, &m, seed);
  {
    char *zReport = NULL;
    SEED_ASSERT(lsm_check(pDb, &zReport) == LSM_OK, "check: %s", (unsigned long long)seed,
                zReport ? zReport : "");
  }
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  model_clear(&m);
}
END_TEST

/*
** Every key read with lsm_get equals the model.  A get stops at the first
** table, newest first, that holds the key, so unlike a scan (whose merge
** orders versions by seqno) it sees the ORDER of level 0: a merged output
** placed below an older level-0 table, or a merge that took tables a newer
** flush had overtaken, returns an old version here.
*/
static void gets_equal_model(lsm_db *pDb, const lsm_read *pRead, const model *m, int nKeys,
                             uint64_t seed, const char *zWhen){
  char zKey[32];
  int i;
  for(i = 0; i < nKeys; i++){
    void *pVal = NULL;
    size_t nVal = 0;
    int nk = key_of(zKey, (uint64_t)i);
    int rc = lsm_get(pDb, pRead, zKey, (size_t)nk, &pVal, &nVal);
    const model_entry *e = model_get(m, zKey, (size_t)nk);
    if( e == NULL ){
      SEED_ASSERT(rc == LSM_NOTFOUND, "%s: get %s returned rc=%d, want not found",
                  (unsigned long long)seed, zWhen, zKey, rc);
    }else{
      SEED_ASSERT(rc == LSM_OK && nVal == e->nVal && memcmp(pVal, e->pVal, nVal) == 0,
                  "%s: get %s returned rc=%d and an old or wrong value",
                  (unsigned long long)seed, zWhen, zKey, rc);
    }
    lsm_free(pVal);
  }
}

/*
** Level-0 tables of tombstones merged together over level-0 tables of
** data (compaction_leveled.c, pick_level0_tombstones), against the model.
** A tree three levels deep; then tables of data in level 0 whose keys no
** deeper table's range covers (new keys, above every other); then
** memtables of deletes of those keys and of old ones, with puts mixed in
** (one in 8, half of them of keys deleted before).  With background=off,
** 20 memtables, each flushed, and after each every key read with lsm_get
** (order-sensitive, see gets_equal_model) and a full scan; a snapshot
** taken after batch 5 is held across the merges and read at the end.
** With bBackground, 300 memtables that fill and flush on the flush thread
** while the worker merges (so flushes overtake picks), the same reads
** after every tenth, the snapshot after batch 9.  Then the store is
** reopened and read again.  A tombstone dropped by the merge (nothing below level 0
** holds its key, but an older level-0 table does), an output placed below
** the tables of data, or a merge of tables a flush overtook (db_work.c's
** level0_inputs_newest guard) brings an old value back.  With bBackground
** the order of flushes and merges varies, so only the model is asserted.
*/
static void level0_tombstones_merge_over_level0_data(int bBackground){
  uint64_t seed = test_seed();
  test_rng rng;
  lsm_options opt = policy_options(LSM_COMPACTION_LEVELED, bBackground);
  lsm_db *pDb = NULL;
  lsm_snapshot *pSnap = NULL;
  lsm_read rdSnap;
  model m = {0}, mSnap = {0};
  lsm_stats st;
  char zKey[32], zVal[128], zWhen[64], zPath[4200];
  char *zDir = test_tmpdir("l0merge");
  int i, iPass, iBatch, nKey = 30000, nNew = 0, nDeepest = 0;
  int nBatches = bBackground ? 300 : 20, iSnapBatch = bBackground ? 9 : 5;
  opt.compression = LSM_COMPRESSION_NONE;
  snprintf(zPath, sizeof(zPath), "%s/store", zDir);
  rng_init(&rng, seed);
  ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_OK);
  for(iPass = 0; iPass < 2; iPass++){
    for(i = 0; i < nKey; i++){
      int nk = key_of(zKey, rng_below(&rng, (uint64_t)nKey));
      int nv = snprintf(zVal, sizeof(zVal), "v%d-%d-%0*d", iPass, i, 90, 0);
      ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nk, zVal, (size_t)nv), LSM_OK);
      model_put(&m, zKey, (size_t)nk, zVal, (size_t)nv);
    }
  }
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  for(i = 0; i < LSM_MAX_LEVELS; i++) if( st.aLevel[i].nFiles ) nDeepest = i;
  /* (With bBackground the compactions may still be on their way down.) */
  SEED_ASSERT(bBackground || nDeepest >= 3, "the tree reached only level %d",
              (unsigned long long)seed, nDeepest);
  /* Tables of new keys, one memtable each, until level 0 holds 2 (with
  ** background=off a fourth would have taken level 0 down at once). */
  for(iBatch = 0; iBatch < 8; iBatch++){
    ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
    if( !bBackground && st.aLevel[0].nFiles == 2 ) break;
    for(i = 0; i < 100; i++, nNew++){
      int nk = key_of(zKey, (uint64_t)(nKey + nNew));
      int nv = snprintf(zVal, sizeof(zVal), "new-%d-%0*d", nNew, 90, 0);
      ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nk, zVal, (size_t)nv), LSM_OK);
      model_put(&m, zKey, (size_t)nk, zVal, (size_t)nv);
    }
    ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  }
  if( !bBackground ){
    SEED_ASSERT(st.aLevel[0].nFiles == 2 && st.aLevel[0].nTombstones == 0,
                "level 0 holds %d tables, not 2 of data", (unsigned long long)seed,
                (int)st.aLevel[0].nFiles);
  }
  /* Deletes, 300 at a time: every new key first, then old ones;
  ** one op in 8 a put, half of those (after the first batch) of a new key
  ** deleted before. */
  for(iBatch = 0; iBatch < nBatches; iBatch++){
    for(i = 0; i < 300; i++){
      int j = iBatch * 300 + i;
      int nk = j < nNew ? key_of(zKey, (uint64_t)(nKey + j))
                        : key_of(zKey, rng_below(&rng, (uint64_t)(nKey + nNew)));
      if( i % 8 == 7 ){
        int nv = snprintf(zVal, sizeof(zVal), "again-%d-%d", iBatch, i);
        if( iBatch > 0 && (i & 16) ){
          nk = key_of(zKey, (uint64_t)nKey + rng_below(&rng, (uint64_t)nNew));
        }
        ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nk, zVal, (size_t)nv), LSM_OK);
        model_put(&m, zKey, (size_t)nk, zVal, (size_t)nv);
      }else{
        ck_assert_int_eq(lsm_delete(pDb, zKey, (size_t)nk), LSM_OK);
        model_delete(&m, zKey, (size_t)nk);
      }
    }
    if( bBackground && iBatch % 10 != 9 ) continue;
    if( !bBackground ) ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
    if( iBatch == iSnapBatch ){
      ck_assert_int_eq(lsm_snapshot_acquire(pDb, &pSnap), LSM_OK);
      mSnap = model_copy(&m);
    }
    snprintf(zWhen, sizeof(zWhen), "after delete batch %d", iBatch);
    gets_equal_model(pDb, NULL, &m, nKey + nNew, seed, zWhen);
    test_store_equals_model(pDb, NULL, &m, seed);
  }
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  if( !bBackground ){
    /* Level 0's read counter counts only level-0 tables merged together. */
    SEED_ASSERT(st.aLevel[0].nBytesReadByCompaction > 0,
                "no level-0 tables were merged together (level 0: %d tables)",
                (unsigned long long)seed, (int)st.aLevel[0].nFiles);
  }
  memset(&rdSnap, 0, sizeof(rdSnap));
  rdSnap.pSnapshot = pSnap;
  gets_equal_model(pDb, &rdSnap, &mSnap, nKey + nNew, seed, "the snapshot held");
  test_store_equals_model(pDb, &rdSnap, &mSnap, seed);
  lsm_snapshot_release(pSnap);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_OK);
  gets_equal_model(pDb, NULL, &m, nKey + nNew, seed, "after reopen");
  test_store_equals_model(pDb, NULL, &m, seed);
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  gets_equal_model(pDb, NULL, &m, nKey + nNew, seed, "after a full compaction");
  test_store_equals_model(pDb, NULL, &m, seed);
  {
    char *zReport = NULL;
    SEED_ASSERT(lsm_check(pDb, &zReport) == LSM_OK, "check: %s", (unsigned long long)seed,
                zReport ? zReport : "");
  }
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  test_rmtree(zDir);
  free(zDir);
  model_clear(&m);
  model_clear(&mSnap);
}
START_TEST(compaction_leveled_level0_tombstones_merge_over_level0_data_match_the_model){
  level0_tombstones_merge_over_level0_data(0);
}
END_TEST
START_TEST(compaction_leveled_level0_tombstones_merge_beside_the_flush_thread_match_the_model){
  level0_tombstones_merge_over_level0_data(1);
}
END_TEST

/* Delete 90% of the keys: the tombstone-dense tables are compacted, so
** what a scan steps over ends up close to the live 10%. */
static void tombstone_dense_tables_are_compacted(int eCompaction){
  lsm_options opt = policy_options(eCompaction, 0);
  lsm_db *pDb = NULL;
  lsm_stats st;
  char zKey[32];
  uint64_t nEntries = 0, nTomb = 0;
  int i, iLevel, nKey = test_scale(20000), nLive = 0;
  opt.memtable_bytes = 64 * 1024;
  ck_assert_int_eq(lsm_open(":memory:", &opt, &pDb), LSM_OK);
  for(i = 0; i < nKey; i++){
    int nk = key_of(zKey, (uint64_t)i);
    ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nk, "0123456789abcdef", 16), LSM_OK);
  }
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  for(i = 0; i < nKey; i++){
    int nk = key_of(zKey, (uint64_t)i);
    if( i % 10 ) ck_assert_int_eq(lsm_delete(pDb, zKey, (size_t)nk), LSM_OK);
  }
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++){
    nEntries += st.aLevel[iLevel].nEntries;
    nTomb += st.aLevel[iLevel].nTombstones;
  }
  /* Before compaction a scan would step over 1.9 x nKey entries for the
  ** 0.1 x nKey live ones (19x).  After it, what is left on disk is within
  ** 2.5x of the live keys: the rest of the tombstones and the data they
  ** delete are gone.  (What may remain: the newest tombstones, in a
  ** range where they are not yet 2/3 of the live entries; see
  ** COMPACTION_DEAD_FRACTION.) */
  ck_assert_uint_le(nEntries, (uint64_t)nKey / 4);
  ck_assert_uint_le(nTomb, (uint64_t)nKey / 10);
  {
    /* Every live key, in order, and every cursor call succeeds. */
    lsm_cursor *pCsr = NULL;
    int rc;
    ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pCsr), LSM_OK);
    for(rc = lsm_cursor_first(pCsr); rc == LSM_OK && lsm_cursor_valid(pCsr); rc = lsm_cursor_next(pCsr)){
      const void *pKey = NULL;
      size_t nKey = 0;
      int nk = key_of(zKey, (uint64_t)nLive * 10);
      rc = lsm_cursor_key(pCsr, &pKey, &nKey);
      if( rc != LSM_OK ) break;
      if( nKey != (size_t)nk || memcmp(pKey, zKey, nKey) != 0 ){
        ck_abort_msg("live key %d is not %s", nLive, zKey);
      }
      nLive++;
    }
    ck_assert_msg(rc == LSM_OK, "cursor: rc %d (%s)", rc, lsm_errmsg(pDb));
    lsm_cursor_close(pCsr);
  }
  ck_assert_int_eq(nLive, nKey / 10);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
}

START_TEST(compaction_leveled_tombstone_dense_tables_are_compacted){
  tombstone_dense_tables_are_compacted(LSM_COMPACTION_LEVELED);
}
END_TEST
START_TEST(compaction_tiered_tombstone_dense_tables_are_compacted){
  tombstone_dense_tables_are_compacted(LSM_COMPACTION_TIERED);
}
END_TEST

/* Close while the worker is busy: close waits for it, nothing is lost. */
START_TEST(compaction_worker_stops_cleanly_when_closed_mid_compaction){
  uint64_t seed = test_seed();
  char *zDir = test_tmpdir("worker");
  char zPath[4200], zKey[32], zVal[300];
  int iRound, i;
  model m = {0};
  snprintf(zPath, sizeof(zPath), "%s/store", zDir);
  memset(zVal, 'v', sizeof(zVal));
  for(iRound = 0; iRound < 4; iRound++){
    lsm_options opt = policy_options(iRound % 2 ? LSM_COMPACTION_TIERED : LSM_COMPACTION_LEVELED, 1);
    lsm_db *pDb = NULL;
    char zTiered[4300];
    snprintf(zTiered, sizeof(zTiered), "%s%d", zPath, iRound % 2);
    ck_assert_int_eq(lsm_open(zTiered, &opt, &pDb), LSM_OK);
    for(i = 0; i < test_scale(6000); i++){
      int nk = key_of(zKey, (uint64_t)(i * 7919 % 50000));
      ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nk, zVal, sizeof(zVal)), LSM_OK);
      if( iRound < 2 ) model_put(&m, zKey, (size_t)nk, zVal, sizeof(zVal));
    }
    ck_assert_int_eq(lsm_close(pDb), LSM_OK);     /* worker likely mid-job */
    ck_assert_int_eq(lsm_open(zTiered, &opt, &pDb), LSM_OK);
    if( iRound < 2 ) test_store_equals_model(pDb, NULL, &m, seed);
    ck_assert_int_eq(lsm_close(pDb), LSM_OK);
    if( iRound == 1 ) model_clear(&m);
  }
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/* A store made with one policy refuses the other with LSM_ERROR and a
** message naming the store and its policy, and still opens with its own
** (its data intact). */
START_TEST(compaction_other_policy_on_open_is_refused){
  char *zDir = test_tmpdir("policy");
  char zPath[4200], zWant[4400];
  int ePolicy;
  snprintf(zPath, sizeof(zPath), "%s/store", zDir);
  for(ePolicy = 0; ePolicy < 2; ePolicy++){
    int eMade = ePolicy ? LSM_COMPACTION_TIERED : LSM_COMPACTION_LEVELED;
    int eOther = ePolicy ? LSM_COMPACTION_LEVELED : LSM_COMPACTION_TIERED;
    lsm_options opt = policy_options(eMade, 0);
    lsm_db *pDb = NULL;
    void *pVal = NULL;
    size_t nVal = 0;
    ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_OK);
    ck_assert_int_eq(lsm_put(pDb, "k", 1, "v", 1), LSM_OK);
    ck_assert_int_eq(lsm_close(pDb), LSM_OK);

    opt.compaction = eOther;
    pDb = (lsm_db*)zDir;                          /* must be set to NULL */
    ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_ERROR);
    ck_assert_ptr_null(pDb);
    snprintf(zWant, sizeof(zWant), "the store %s was made with compaction=%s; open it with that "
             "option", zPath, ePolicy ? "tiered" : "leveled");
    ck_assert_str_eq(lsm_errmsg(NULL), zWant);

    opt.compaction = eMade;
    ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_OK);
    ck_assert_int_eq(lsm_get(pDb, NULL, "k", 1, &pVal, &nVal), LSM_OK);
    ck_assert(nVal == 1 && memcmp(pVal, "v", 1) == 0);
    lsm_free(pVal);
    ck_assert_int_eq(lsm_close(pDb), LSM_OK);
    ck_assert_int_eq(lsm_destroy(zPath, NULL), LSM_OK);
  }
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

static int file_by_smallest(const void *pA, const void *pB){
  const lsm_file_info *a = *(const lsm_file_info *const*)pA, *b = *(const lsm_file_info *const*)pB;
  return ikey_compare_user(a->pSmallest, a->nSmallest, b->pSmallest, b->nSmallest);
}

/* Tables of level iLevel (>= 1) in key order do not overlap: each one's
** largest key is below the next one's smallest. */
static void assert_level_disjoint(const lsm_file_info *aFile, int nFile, int iLevel,
                                  const char *zPolicy){
  const lsm_file_info **ap = calloc((size_t)nFile + 1, sizeof(*ap));
  int i, n = 0;
  for(i = 0; i < nFile; i++) if( aFile[i].iLevel == iLevel ) ap[n++] = &aFile[i];
  qsort(ap, (size_t)n, sizeof(*ap), file_by_smallest);
  for(i = 0; i < n; i++){
    const lsm_file_info *f = ap[i];
    ck_assert_msg(ikey_compare_user(f->pSmallest, f->nSmallest, f->pLargest, f->nLargest) <= 0,
                  "%s: level %d table %s ends before it starts", zPolicy, iLevel, f->zName);
    if( i > 0 && ikey_compare_user(ap[i - 1]->pLargest, ap[i - 1]->nLargest,
                                   f->pSmallest, f->nSmallest) >= 0 ){
      ck_abort_msg("%s: level %d tables %s and %s overlap", zPolicy, iLevel, ap[i - 1]->zName,
                   f->zName);
    }
  }
  free(ap);
}

/*
** Random puts with background=off (every compaction that is due runs
** before the put returns), then the shape each policy promises
** (compaction.c):
**   - leveled: level 0 below COMPACTION_L0_TRIGGER (4) tables; level 1 at
**     most its target, 256 KiB (2.5 memtables, at least 256 KiB), each
**     deeper level at most level_ratio (10) times the one above, but the
**     last; and the data goes no shallower than those targets allow
**     (3 MB do not fit in levels 1 and 2);
**   - tiered: level 0 below TIERED_L0_RUNS (12) tables; the
**     runs packed at the bottom: once a level holds a run, every deeper
**     level does;
**   - both: the tables of each level >= 1 do not overlap, every key put
**     is there, and lsm_check finds nothing wrong.
*/
START_TEST(compaction_shapes_follow_the_policy){
  int ePolicy;
  for(ePolicy = 0; ePolicy < 2; ePolicy++){
    lsm_options opt = policy_options(ePolicy ? LSM_COMPACTION_TIERED : LSM_COMPACTION_LEVELED, 0);
    const char *zPolicy = ePolicy ? "tiered" : "leveled";
    lsm_db *pDb = NULL;
    lsm_stats st;
    lsm_file_info *aFile = NULL;
    char zKey[32], zVal[100];
    int i, iLevel, nFile = 0, nKey = test_scale(30000), iDeepest = 0;
    uint64_t nTarget = 256 * 1024, nEntries = 0, nBytes = 0, nRoom = 0;
    memset(zVal, 'x', sizeof(zVal));
    ck_assert_int_eq(lsm_open(":memory:", &opt, &pDb), LSM_OK);
    for(i = 0; i < nKey; i++){
      int nk = key_of(zKey, (uint64_t)i * 2654435761u % 1000003);
      ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nk, zVal, sizeof(zVal)), LSM_OK);
    }
    ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
    for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++){
      nEntries += st.aLevel[iLevel].nEntries;
      if( iLevel > 0 ) nBytes += st.aLevel[iLevel].nBytes;
      if( st.aLevel[iLevel].nFiles ) iDeepest = iLevel;
    }
    ck_assert_uint_eq(nEntries + st.nMemtableEntries, (uint64_t)nKey);
    if( ePolicy == 0 ){
      ck_assert_uint_lt(st.aLevel[0].nFiles, 4);
      for(iLevel = 1; iLevel < LSM_MAX_LEVELS - 1; iLevel++){
        ck_assert_msg(st.aLevel[iLevel].nBytes <= nTarget, "leveled: level %d holds %llu bytes, "
                      "target %llu", iLevel, (unsigned long long)st.aLevel[iLevel].nBytes,
                      (unsigned long long)nTarget);
        /* Levels 1..iLevel cannot hold all the data: it goes deeper. */
        nRoom += nTarget;
        if( nRoom < nBytes ){
          ck_assert_msg(iDeepest > iLevel, "leveled: %llu bytes below level 0 stop at level %d, "
                        "but levels 1..%d have room for %llu", (unsigned long long)nBytes,
                        iDeepest, iLevel, (unsigned long long)nRoom);
        }
        nTarget *= (uint64_t)opt.level_ratio;
      }
    }else{
      int bSeenRun = 0;
      ck_assert_uint_lt(st.aLevel[0].nFiles, 12);
      for(iLevel = 1; iLevel < LSM_MAX_LEVELS; iLevel++){
        /* Packed: once a level holds a run, every deeper level does. */
        if( st.aLevel[iLevel].nFiles ) bSeenRun = 1;
        else ck_assert_msg(!bSeenRun, "tiered: level %d empty below a run", iLevel);
      }
      ck_assert_int_eq(bSeenRun, 1);
    }
    ck_assert_int_eq(lsm_files(pDb, &aFile, &nFile), LSM_OK);
    for(iLevel = 1; iLevel < LSM_MAX_LEVELS; iLevel++){
      assert_level_disjoint(aFile, nFile, iLevel, zPolicy);
    }
    lsm_free(aFile);
    {
      char *zReport = NULL;
      ck_assert_msg(lsm_check(pDb, &zReport) == LSM_OK, "check: %s", zReport ? zReport : "");
    }
    ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  }
}
END_TEST

/*
** An env over the default one that damages one byte of the first data
** block of the next SSTable written (its first append: the writer hands
** its first 64 KiB at once), as a bad write path or memory would.
*/
static lsm_env g_damageEnv;           /* the default env, xOpen/xAppend wrapped */
static lsm_file *g_pDamageFile;       /* the SSTable to damage, while open */
static int g_bDamageArmed;            /* damage the next SSTable written */

static int damage_open(lsm_env *pEnv, const char *zPath, int flags, lsm_file **ppFile){
  lsm_env *pBase = lsm_env_default();
  size_t n = strlen(zPath);
  int rc = pBase->xOpen(pBase, zPath, flags, ppFile);
  (void)pEnv;
  if( rc == LSM_OK && g_bDamageArmed && (flags & LSM_OPEN_WRITE)
   && n > 4 && strcmp(zPath + n - 4, ".sst") == 0 ){
    g_pDamageFile = *ppFile;
    g_bDamageArmed = 0;
  }
  return rc;
}

static int damage_append(lsm_file *pFile, const void *pData, size_t nData){
  lsm_env *pBase = lsm_env_default();
  if( pFile == g_pDamageFile && nData > 20 ){
    uint8_t *a = malloc(nData);
    int rc;
    ck_assert_ptr_nonnull(a);
    memcpy(a, pData, nData);
    a[20] ^= 0x5a;                    /* inside block 0's entries */
    g_pDamageFile = NULL;
    rc = pBase->xAppend(pFile, a, nData);
    free(a);
    return rc;
  }
  return pBase->xAppend(pFile, pData, nData);
}

/*
** A table is verified whole by the thread that wrote it, before it is
** installed (sst_reader_verify_mapped, called by table_open_written):
** that thread pays a mapped table's first touches and checksums, not the
** first gets after a compaction.  So a table written damaged is refused
** before it replaces anything: the flush fails naming the block, no
** table is installed, and every key still reads from the memtable.
** Before the change the flush installed it and the first get of a key in
** its block 0 failed with LSM_CORRUPT.
*/
START_TEST(compaction_a_table_written_damaged_is_refused_before_it_is_installed){
  lsm_options opt = policy_options(LSM_COMPACTION_LEVELED, 0);
  char *zDir = test_tmpdir("damaged_write");
  lsm_db *pDb = NULL;
  lsm_stats st;
  char zKey[32];
  int i, rc;

  g_damageEnv = *lsm_env_default();
  g_damageEnv.xOpen = damage_open;
  g_damageEnv.xAppend = damage_append;
  g_bDamageArmed = 0;
  g_pDamageFile = NULL;
  opt.env = &g_damageEnv;
  opt.memtable_bytes = 1u << 20;      /* no flush until asked */
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  for(i = 0; i < 500; i++){
    int n = key_of(zKey, (uint64_t)i);
    ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)n, "value", 5), LSM_OK);
  }
  g_bDamageArmed = 1;
  rc = lsm_flush(pDb);
  ck_assert_int_eq(g_bDamageArmed, 0);           /* an SSTable was written */
  ck_assert_msg(rc == LSM_CORRUPT, "flush of a damaged table: rc %d (%s)", rc, lsm_errmsg(pDb));
  ck_assert_msg(strstr(lsm_errmsg(pDb), "block 0 checksum mismatch") != NULL,
                "message: %s", lsm_errmsg(pDb));
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  for(i = 0; i < LSM_MAX_LEVELS; i++) ck_assert_int_eq((int)st.aLevel[i].nFiles, 0);
  for(i = 0; i < 500; i++){
    void *pVal = NULL;
    size_t nVal = 0;
    int n = key_of(zKey, (uint64_t)i);
    ck_assert_int_eq(lsm_get(pDb, NULL, zKey, (size_t)n, &pVal, &nVal), LSM_OK);
    ck_assert_int_eq((int)nVal, 5);
    lsm_free(pVal);
  }
  lsm_close(pDb);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

static Suite *compaction_suite(void){
  Suite *s = suite_create("compaction");
  TCase *tc = tcase_create("compaction");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, compaction_leveled_store_equals_model_after_every_compaction);
  tcase_add_test(tc, compaction_tiered_store_equals_model_after_every_compaction);
  tcase_add_test(tc, compaction_leveled_deleted_keys_never_resurrect);
  tcase_add_test(tc, compaction_tiered_deleted_keys_never_resurrect);
  tcase_add_test(tc, compaction_leveled_random_deletes_over_deep_levels_match_the_model);
  tcase_add_test(tc, compaction_leveled_level0_tombstones_merge_over_level0_data_match_the_model);
  tcase_add_test(tc, compaction_leveled_level0_tombstones_merge_beside_the_flush_thread_match_the_model);
  tcase_add_test(tc, compaction_leveled_tombstone_dense_tables_are_compacted);
  tcase_add_test(tc, compaction_tiered_tombstone_dense_tables_are_compacted);
  tcase_add_test(tc, compaction_worker_stops_cleanly_when_closed_mid_compaction);
  tcase_add_test(tc, compaction_other_policy_on_open_is_refused);
  tcase_add_test(tc, compaction_shapes_follow_the_policy);
  tcase_add_test(tc, compaction_a_table_written_damaged_is_refused_before_it_is_installed);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(compaction_suite)
