/*
** test_crash.c — crash safety of the whole store.
**
** 1. A forked writer commits numbered batches (sync=normal, a small
**    memtable so that flushes and compactions run all the time, a full
**    compaction every few hundred batches) and reports each acknowledged
**    commit on a pipe.  The parent kills it with SIGKILL at a random
**    moment, reopens the store and checks that every acknowledged batch
**    is present, that no batch is partly present, and that the batches
**    present are a prefix of the sequence.  Several rounds on one store.
**    Once more at sync=full, whose logs end in zeros written ahead.
** 2. A power cut simulated by the fault env (unsynced bytes and unsynced
**    directory changes are lost) with sync=full: every acknowledged
**    commit survives.
** Replay a failure with LSM_TEST_SEED=<printed seed>.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultenv.h"
#include "lsm.h"
#include "testutil.h"

#define CRASH_KEYS_PER_BATCH 8

static int g_eCompaction = LSM_COMPACTION_LEVELED;   /* policy under test */
static int g_eSync = LSM_SYNC_NORMAL;                /* sync mode under test */

static lsm_options crash_options(void){
  lsm_options opt;
  lsm_options_default(&opt);
  opt.compaction = g_eCompaction;
  opt.memtable_bytes = 16 * 1024;
  opt.block_bytes = 512;
  opt.sync = g_eSync;
  opt.background = 1;
  return opt;
}

static int batch_key(char *z, uint32_t iBatch, int j){
  return snprintf(z, 32, "b%08u-%02d", iBatch, j);
}

/* Commit batches iFirst, iFirst+1, ... forever, acknowledging each on fd. */
static void writer_child(const char *zPath, uint32_t iFirst, int fd, uint64_t seed){
  lsm_options opt = crash_options();
  lsm_db *pDb = NULL;
  lsm_batch *pB = NULL;
  uint32_t i;
  char zKey[32], zVal[64];
  if( lsm_open(zPath, &opt, &pDb) != LSM_OK ) _exit(2);
  if( lsm_batch_new(pDb, &pB) != LSM_OK ) _exit(2);
  for(i = iFirst; ; i++){
    int j;
    lsm_batch_clear(pB);
    for(j = 0; j < CRASH_KEYS_PER_BATCH; j++){
      int nk = batch_key(zKey, i, j);
      int nv = snprintf(zVal, sizeof(zVal), "v%u-%d-%llu", i, j, (unsigned long long)seed);
      lsm_batch_put(pB, zKey, (size_t)nk, zVal, (size_t)nv);
    }
    /* Overwrite and delete older keys too, so compactions drop things. */
    if( i > 10 ){
      int nk = batch_key(zKey, i - 10, 0);
      lsm_batch_delete(pB, zKey, (size_t)nk);
    }
    if( lsm_write(pDb, pB) != LSM_OK ) _exit(3);
    if( write(fd, &i, sizeof(i)) != (ssize_t)sizeof(i) ) _exit(4);
    if( i % 400 == 399 && lsm_compact(pDb, NULL) != LSM_OK ) _exit(5);
  }
}

/* Check the reopened store; returns the last batch present. */
static uint32_t verify_store(const char *zPath, uint32_t iFirst, int64_t iAcked, uint64_t seed){
  lsm_options opt = crash_options();
  lsm_db *pDb = NULL;
  char zKey[32], zVal[64];
  uint32_t i, iLastPresent = iFirst - 1;
  int rc = lsm_open(zPath, &opt, &pDb), bEnded = 0;
  char *zReport = NULL;
  SEED_ASSERT(rc == LSM_OK, "reopen after kill: rc=%d %s", (unsigned long long)seed, rc, lsm_errmsg(NULL));
  rc = lsm_check(pDb, &zReport);
  SEED_ASSERT(rc == LSM_OK, "check after kill: %s", (unsigned long long)seed, zReport ? zReport : "");
  for(i = iFirst; !bEnded || i <= (uint32_t)(iAcked + 2); i++){
    int j, nPresent = 0;
    for(j = 0; j < CRASH_KEYS_PER_BATCH; j++){
      void *pVal = NULL;
      size_t nVal = 0;
      int nk = batch_key(zKey, i, j);
      int nv = snprintf(zVal, sizeof(zVal), "v%u-%d-%llu", i, j, (unsigned long long)seed);
      rc = lsm_get(pDb, NULL, zKey, (size_t)nk, &pVal, &nVal);
      /* Key 0 of a batch is deleted by batch i + 10. */
      if( j == 0 && rc == LSM_NOTFOUND ) continue;
      if( rc == LSM_OK ){
        SEED_ASSERT(nVal == (size_t)nv && memcmp(pVal, zVal, nVal) == 0, "batch %u key %d: wrong value",
                    (unsigned long long)seed, i, j);
        nPresent++;
      }
      lsm_free(pVal);
    }
    if( nPresent == CRASH_KEYS_PER_BATCH - 1 || nPresent == CRASH_KEYS_PER_BATCH ){
      SEED_ASSERT(!bEnded, "batch %u present after a missing batch", (unsigned long long)seed, i);
      iLastPresent = i;
    }else{
      SEED_ASSERT(nPresent == 0, "batch %u partly present (%d keys)", (unsigned long long)seed, i, nPresent);
      SEED_ASSERT((int64_t)i > iAcked, "acknowledged batch %u lost (acked up to %lld)",
                  (unsigned long long)seed, i, (long long)iAcked);
      bEnded = 1;
    }
  }
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  return iLastPresent;
}

static void killed_writer_loses_no_acknowledged_batch(int eCompaction, int eSync){
  uint64_t seed = test_seed();
  test_rng rng;
  char *zDir = test_tmpdir("crash");
  char zPath[4200];
  uint32_t iNext = 1;
  int iRound, nRound = test_quick() ? 4 : 8;
  snprintf(zPath, sizeof(zPath), "%s/store", zDir);
  g_eCompaction = eCompaction;
  g_eSync = eSync;
  rng_init(&rng, seed + (uint64_t)eCompaction);
  for(iRound = 0; iRound < nRound; iRound++){
    int aFd[2];
    pid_t pid;
    int64_t iAcked = (int64_t)iNext - 1;
    uint32_t v;
    uint64_t nWait = 20000 + rng_below(&rng, 400000);   /* microseconds */
    ck_assert_int_eq(pipe(aFd), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if( pid == 0 ){
      close(aFd[0]);
      writer_child(zPath, iNext, aFd[1], seed);
      _exit(0);
    }
    close(aFd[1]);
    usleep((useconds_t)nWait);
    kill(pid, SIGKILL);
    while( read(aFd[0], &v, sizeof(v)) == (ssize_t)sizeof(v) ) iAcked = v;
    close(aFd[0]);
    {
      int status = 0;
      waitpid(pid, &status, 0);
      SEED_ASSERT(WIFSIGNALED(status), "writer exited by itself (status %d)", (unsigned long long)seed, status);
    }
    iNext = verify_store(zPath, iNext, iAcked, seed) + 1;
  }
  /* The writer made progress (an fdatasync per batch at sync=full). */
  ck_assert_uint_gt(iNext, eSync == LSM_SYNC_FULL ? 20 : 100);
  g_eSync = LSM_SYNC_NORMAL;
  test_rmtree(zDir);
  free(zDir);
}

START_TEST(crash_killed_writer_loses_no_acknowledged_batch_leveled){
  killed_writer_loses_no_acknowledged_batch(LSM_COMPACTION_LEVELED, LSM_SYNC_NORMAL);
}
END_TEST
START_TEST(crash_killed_writer_loses_no_acknowledged_batch_tiered){
  killed_writer_loses_no_acknowledged_batch(LSM_COMPACTION_TIERED, LSM_SYNC_NORMAL);
}
END_TEST
/* At sync=full the logs are written into zeros written ahead of them
** (env.c, LSM_OPEN_PREALLOC): a killed writer leaves them in its newest
** log, and recovery takes them as the log's end. */
START_TEST(crash_killed_sync_full_writer_loses_no_acknowledged_batch){
  killed_writer_loses_no_acknowledged_batch(LSM_COMPACTION_LEVELED, LSM_SYNC_FULL);
}
END_TEST

START_TEST(crash_power_cut_keeps_every_synced_commit){
  uint64_t seed = test_seed();
  test_rng rng;
  faultenv *fe = faultenv_new(NULL);
  char *zDir = test_tmpdir("powercut");
  char zPath[4200], zKey[32], zVal[64];
  int iRound;
  uint32_t iNext = 1;
  snprintf(zPath, sizeof(zPath), "%s/store", zDir);
  rng_init(&rng, seed + 1);
  for(iRound = 0; iRound < 5; iRound++){
    lsm_options opt = crash_options();
    lsm_db *pDb = NULL;
    lsm_batch *pB = NULL;
    uint32_t i, nBatch = 50 + (uint32_t)rng_below(&rng, 400);
    int64_t iAcked = (int64_t)iNext - 1;
    opt.env = faultenv_env(fe);
    opt.sync = LSM_SYNC_FULL;
    opt.background = (int)(iRound % 2);
    ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_OK);
    ck_assert_int_eq(lsm_batch_new(pDb, &pB), LSM_OK);
    for(i = iNext; i < iNext + nBatch; i++){
      int j;
      lsm_batch_clear(pB);
      for(j = 0; j < CRASH_KEYS_PER_BATCH; j++){
        int nk = batch_key(zKey, i, j);
        int nv = snprintf(zVal, sizeof(zVal), "v%u-%d-%llu", i, j, (unsigned long long)seed);
        lsm_batch_put(pB, zKey, (size_t)nk, zVal, (size_t)nv);
      }
      if( i > 10 ){
        int nk = batch_key(zKey, i - 10, 0);
        lsm_batch_delete(pB, zKey, (size_t)nk);
      }
      ck_assert_int_eq(lsm_write(pDb, pB), LSM_OK);
      iAcked = i;
    }
    lsm_batch_free(pB);
    faultenv_freeze(fe);
    lsm_close(pDb);
    faultenv_crash(fe);
    iNext = verify_store(zPath, iNext, iAcked, seed) + 1;
    SEED_ASSERT((int64_t)iNext - 1 == iAcked, "power cut: last batch %u, acked %lld",
                (unsigned long long)seed, iNext - 1, (long long)iAcked);
  }
  faultenv_free(fe);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

static Suite *crash_suite(void){
  Suite *s = suite_create("crash");
  TCase *tc = tcase_create("crash");
  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, crash_killed_writer_loses_no_acknowledged_batch_leveled);
  tcase_add_test(tc, crash_killed_writer_loses_no_acknowledged_batch_tiered);
  tcase_add_test(tc, crash_killed_sync_full_writer_loses_no_acknowledged_batch);
  tcase_add_test(tc, crash_power_cut_keeps_every_synced_commit);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(crash_suite)
