/*
** test_fault_sweep.c — fail each I/O call of a small workload in turn.
**
** The workload (puts and deletes in batches, flushes, a full compaction,
** its own close and reopen) runs once without faults to count its I/O
** calls (every WAL, SSTable, manifest and directory operation goes
** through the env).  Then, for each call k, it runs again on a fresh
** store and the k-th call fails (LSM_IOERR, or LSM_FULL for every other
** k), and the store is checked against a model of what was acknowledged:
**
**   crash:    at the first failed operation the power goes off
**             (faultenv_freeze, close, faultenv_crash: unsynced bytes and
**             directory changes are lost); the store must reopen, pass
**             lsm_check, and hold every acknowledged write (sync=full;
**             the other modes promise nothing across a power cut);
**   continue: the workload goes on after the failure as an application
**             would (a failed statement, then the next one), then closes
**             and reopens cleanly; the same checks.
**
** A write that failed may or may not be there (a failed sync may have
** written it), but never half of its batch, and never over a later
** acknowledged write.  The model keeps, per key, the last acknowledged
** value and the values of failed writes since.
**
** Everything runs over the in-memory env (fast; faultenv applies the
** crash to it), with background=off so the calls come in one order, for
** leveled and for tiered compaction, and for a store that reads every
** block through its cache and fills it as it writes (fill_cache_on_write:
** a failed output's blocks leave the cache again).
** Under LSM_TEST_QUICK (the sanitizer run) every third k is tried.
** Replay a failure with LSM_TEST_SEED=<printed seed> and LSM_SWEEP_K=<k>.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultenv.h"
#include "lsm.h"
#include "testutil.h"

#define SWEEP_DIR     "/sweep"
#define SWEEP_KEYS    40
#define SWEEP_OPS     300
#define SWEEP_MAXPOSS 8          /* uncertain values remembered per key */

#define MODE_CRASH    0
#define MODE_CONTINUE 1

/* Per key: the acknowledged value (-1: absent) and values of failed
** writes since (-1: a failed delete). */
typedef struct sweep_key {
  int iAcked;
  int aPoss[SWEEP_MAXPOSS];
  int nPoss;
  int bOverflow;           /* too many failed writes to remember: unchecked */
} sweep_key;

typedef struct sweep_model { sweep_key a[SWEEP_KEYS]; } sweep_model;

static void model_init(sweep_model *m){
  int i;
  memset(m, 0, sizeof(*m));
  for(i = 0; i < SWEEP_KEYS; i++) m->a[i].iAcked = -1;
}

static void model_ack(sweep_model *m, int iKey, int iVal){
  m->a[iKey].iAcked = iVal;
  m->a[iKey].nPoss = 0;
  m->a[iKey].bOverflow = 0;
}

static void model_maybe(sweep_model *m, int iKey, int iVal){
  sweep_key *k = &m->a[iKey];
  if( k->nPoss < SWEEP_MAXPOSS ) k->aPoss[k->nPoss++] = iVal;
  else k->bOverflow = 1;
}

static int key_name(char *z, int iKey){ return snprintf(z, 16, "key%03d", iKey); }
static int value_text(char *z, int iVal){
  /* Long enough that a few hundred fill the 4 KiB memtables. */
  return snprintf(z, 96, "value-%06d-%060d", iVal, iVal);
}

/* The ops of batch iOp: 1-3 puts or deletes, from the seed. */
typedef struct sweep_op { int nOp; int aKey[3]; int aVal[3]; } sweep_op;

static void op_for(uint64_t seed, int iOp, sweep_op *p){
  test_rng rng;
  int i;
  rng_init(&rng, seed * 7919 + (uint64_t)iOp);
  p->nOp = 1 + (int)rng_below(&rng, 3);
  for(i = 0; i < p->nOp; i++){
    p->aKey[i] = (int)rng_below(&rng, SWEEP_KEYS);
    p->aVal[i] = rng_below(&rng, 5) == 0 ? -1 : iOp * 3 + i;
  }
}

static int g_eCompaction = LSM_COMPACTION_LEVELED;    /* policy under test */
static int g_eSync = LSM_SYNC_FULL;                    /* sync mode under test */
static int g_bFillCache = 0;     /* blocks read through the cache, which the
                                 ** flushes and compactions fill as they write */

static lsm_options sweep_options(lsm_env *pEnv){
  lsm_options opt;
  lsm_options_default(&opt);
  opt.env = pEnv;
  opt.sync = g_eSync;
  opt.background = 0;
  opt.memtable_bytes = 4096;
  opt.block_bytes = 256;
  opt.compaction = g_eCompaction;
  if( g_bFillCache ){
    opt.use_mmap = 0;
    opt.fill_cache_on_write = 1;
  }
  return opt;
}

/* Apply batch iOp; returns the rc. */
static int run_op(lsm_db *pDb, const sweep_op *p){
  lsm_batch *pB = NULL;
  int rc = lsm_batch_new(pDb, &pB), i;
  char zKey[16], zVal[96];
  for(i = 0; rc == LSM_OK && i < p->nOp; i++){
    int nKey = key_name(zKey, p->aKey[i]);
    if( p->aVal[i] < 0 ){
      rc = lsm_batch_delete(pB, zKey, (size_t)nKey);
    }else{
      int nVal = value_text(zVal, p->aVal[i]);
      rc = lsm_batch_put(pB, zKey, (size_t)nKey, zVal, (size_t)nVal);
    }
  }
  if( rc == LSM_OK ) rc = lsm_write(pDb, pB);
  lsm_batch_free(pB);
  return rc;
}

/* Check the store against the model; iFailedOp (or -1): a batch that
** failed, which must be there whole or not at all. */
static void check_store(lsm_db *pDb, const sweep_model *m, const sweep_op *pFailed,
                        uint64_t seed, uint64_t k){
  char *zReport = NULL;
  int iKey, i, nFailedPresent = 0, nFailedDistinct = 0;
  int rc = lsm_check(pDb, &zReport);
  ck_assert_msg(rc == LSM_OK, "seed %llu k %llu: lsm_check: %s", (unsigned long long)seed,
                (unsigned long long)k, zReport ? zReport : lsm_errmsg(NULL));
  lsm_free(zReport);
  for(iKey = 0; iKey < SWEEP_KEYS; iKey++){
    const sweep_key *pk = &m->a[iKey];
    char zKey[16], zWant[96];
    void *pVal = NULL;
    size_t nVal = 0;
    int nKey = key_name(zKey, iKey), iGot = -2, bOk = 0;
    rc = lsm_get(pDb, NULL, zKey, (size_t)nKey, &pVal, &nVal);
    ck_assert_msg(rc == LSM_OK || rc == LSM_NOTFOUND, "seed %llu k %llu: get %s: %s",
                  (unsigned long long)seed, (unsigned long long)k, zKey, lsm_errmsg(NULL));
    if( rc == LSM_NOTFOUND ){
      iGot = -1;
    }else{
      /* Which value is it? */
      int aCand[SWEEP_MAXPOSS + 1], nCand = 0, j;
      aCand[nCand++] = pk->iAcked;
      for(j = 0; j < pk->nPoss; j++) aCand[nCand++] = pk->aPoss[j];
      for(j = 0; j < nCand && iGot == -2; j++){
        if( aCand[j] >= 0 ){
          int nWant = value_text(zWant, aCand[j]);
          if( (size_t)nWant == nVal && memcmp(zWant, pVal, nVal) == 0 ) iGot = aCand[j];
        }
      }
      lsm_free(pVal);
    }
    if( pk->bOverflow || iGot == pk->iAcked ) bOk = 1;
    for(i = 0; i < pk->nPoss && !bOk; i++) if( iGot == pk->aPoss[i] ) bOk = 1;
    ck_assert_msg(bOk, "seed %llu k %llu: %s holds %d, acknowledged %d (%d uncertain)",
                  (unsigned long long)seed, (unsigned long long)k, zKey, iGot, pk->iAcked,
                  pk->nPoss);
    if( pFailed ){
      for(i = 0; i < pFailed->nOp; i++){
        int j, bLater = 0;
        if( pFailed->aKey[i] != iKey ) continue;
        for(j = i + 1; j < pFailed->nOp; j++) if( pFailed->aKey[j] == iKey ) bLater = 1;
        if( bLater ) continue;         /* only the batch's last write to a key shows */
        nFailedDistinct++;
        if( iGot == pFailed->aVal[i] && iGot != pk->iAcked ) nFailedPresent++;
        if( iGot == pFailed->aVal[i] && iGot == pk->iAcked ) nFailedDistinct--;  /* no evidence */
      }
    }
  }
  ck_assert_msg(nFailedPresent == 0 || nFailedPresent == nFailedDistinct,
                "seed %llu k %llu: %d of %d writes of the failed batch are there",
                (unsigned long long)seed, (unsigned long long)k, nFailedPresent, nFailedDistinct);
}

/*
** Run the workload over fe.  With kFail > 0, the kFail-th I/O call fails
** (rc LSM_IOERR or LSM_FULL) and eMode says what happens next.  Returns
** the number of I/O calls the workload made (for the counting run).
*/
static uint64_t run_workload(faultenv *fe, uint64_t seed, uint64_t kFail, int eMode){
  lsm_options opt = sweep_options(faultenv_env(fe));
  sweep_model m;
  sweep_op op, failedOp;
  lsm_db *pDb = NULL;
  int iOp, rc, bFailed = 0, bHaveFailedOp = 0;
  uint64_t nCalls;

  model_init(&m);
  faultenv_reset_counts(fe);
  if( kFail ) faultenv_fail(fe, FAULTENV_ANY_IO, kFail, kFail % 2 ? LSM_IOERR : LSM_FULL, 0);
  rc = lsm_open(SWEEP_DIR, &opt, &pDb);
  for(iOp = 0; iOp < SWEEP_OPS && !(bFailed && eMode == MODE_CRASH); iOp++){
    if( pDb == NULL ){
      /* The open failed: retry it, as an application would. */
      ck_assert_msg(kFail > 0, "seed %llu: open: %s", (unsigned long long)seed, lsm_errmsg(NULL));
      bFailed = 1;
      if( eMode == MODE_CRASH ) break;
      rc = lsm_open(SWEEP_DIR, &opt, &pDb);
      ck_assert_msg(rc == LSM_OK, "seed %llu k %llu: reopen after a failed open: %s",
                    (unsigned long long)seed, (unsigned long long)kFail, lsm_errmsg(NULL));
    }
    op_for(seed, iOp, &op);
    rc = run_op(pDb, &op);
    if( rc == LSM_OK ){
      int i;
      for(i = 0; i < op.nOp; i++) model_ack(&m, op.aKey[i], op.aVal[i]);
    }else{
      int i;
      ck_assert_msg(kFail > 0, "seed %llu: op %d: %s", (unsigned long long)seed, iOp,
                    lsm_errmsg(NULL));
      for(i = 0; i < op.nOp; i++) model_maybe(&m, op.aKey[i], op.aVal[i]);
      if( !bFailed ){ failedOp = op; bHaveFailedOp = 1; }
      bFailed = 1;
      continue;
    }
    if( iOp % 25 == 24 ) rc = lsm_flush(pDb);
    if( rc == LSM_OK && iOp == 150 ) rc = lsm_compact(pDb, NULL);
    if( rc == LSM_OK && iOp == 220 ){
      /* The workload's own close and reopen. */
      rc = lsm_close(pDb);
      pDb = NULL;
      if( rc == LSM_OK ) rc = lsm_open(SWEEP_DIR, &opt, &pDb);
    }
    if( rc != LSM_OK ){
      ck_assert_msg(kFail > 0, "seed %llu: op %d: %s", (unsigned long long)seed, iOp,
                    lsm_errmsg(NULL));
      bFailed = 1;
      rc = LSM_OK;
    }
  }
  nCalls = faultenv_count(fe, FAULTENV_ANY_IO);
  faultenv_fail_clear(fe);

  if( eMode == MODE_CRASH && bFailed ){
    faultenv_freeze(fe);
    if( pDb ) lsm_close(pDb);
    faultenv_crash(fe);
  }else if( pDb ){
    lsm_close(pDb);              /* its rc may report an earlier failure */
  }
  pDb = NULL;
  rc = lsm_open(SWEEP_DIR, &opt, &pDb);
  ck_assert_msg(rc == LSM_OK, "seed %llu k %llu (%s): reopen: %s", (unsigned long long)seed,
                (unsigned long long)kFail, eMode == MODE_CRASH ? "crash" : "continue",
                lsm_errmsg(NULL));
  check_store(pDb, &m, bHaveFailedOp ? &failedOp : NULL, seed, kFail);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  return nCalls;
}

static void sweep(int eMode){
  uint64_t seed = test_seed(), nCalls, k, kOnly = 0;
  int nStride = test_quick() ? 3 : 1;
  const char *z = getenv("LSM_SWEEP_K");
  if( z ) kOnly = strtoull(z, NULL, 10);
  {
    lsm_env *pMem = lsm_env_memory();
    faultenv *fe = faultenv_new(pMem);
    nCalls = run_workload(fe, seed, 0, eMode);
    faultenv_free(fe);
    lsm_env_memory_free(pMem);
  }
  ck_assert_uint_gt(nCalls, 100);
  if( getenv("LSM_SWEEP_VERBOSE") ){
    fprintf(stderr, "fault sweep (%s): %llu I/O calls\n", eMode == MODE_CRASH ? "crash" : "continue",
            (unsigned long long)nCalls);
  }
  for(k = kOnly ? kOnly : 1; k <= nCalls; k += (uint64_t)nStride){
    lsm_env *pMem = lsm_env_memory();
    faultenv *fe = faultenv_new(pMem);
    run_workload(fe, seed, k, eMode);
    faultenv_free(fe);
    lsm_env_memory_free(pMem);
    if( kOnly ) break;
  }
}

START_TEST(every_failed_call_then_a_power_cut_keeps_what_was_acknowledged){
  g_eCompaction = LSM_COMPACTION_LEVELED;
  sweep(MODE_CRASH);
}
END_TEST

START_TEST(every_failed_call_then_carrying_on_keeps_what_was_acknowledged){
  g_eCompaction = LSM_COMPACTION_LEVELED;
  sweep(MODE_CONTINUE);
}
END_TEST

START_TEST(every_failed_call_of_a_tiered_store_keeps_what_was_acknowledged){
  g_eCompaction = LSM_COMPACTION_TIERED;
  sweep(MODE_CRASH);
  sweep(MODE_CONTINUE);
}
END_TEST

/* A flush or compaction that fails part-way has put some of its output's
** blocks in the block cache: they are taken out again (no reader would
** ever erase them), and no read finds a block of another file. */
START_TEST(every_failed_call_of_a_store_filling_its_cache_as_it_writes_keeps_what_was_acknowledged){
  g_eCompaction = LSM_COMPACTION_LEVELED;
  g_bFillCache = 1;
  sweep(MODE_CRASH);
  sweep(MODE_CONTINUE);
  g_bFillCache = 0;
}
END_TEST

/* sync=off and normal promise nothing across a power cut, but a failed
** call must not lose an acknowledged commit of a store that closes: at
** close, a WAL buffer that cannot be written is flushed to a table. */
START_TEST(every_failed_call_with_sync_off_or_normal_then_carrying_on_keeps_what_was_acknowledged){
  g_eSync = LSM_SYNC_OFF;
  sweep(MODE_CONTINUE);
  g_eSync = LSM_SYNC_NORMAL;
  sweep(MODE_CONTINUE);
}
END_TEST

/* The sweep's finding, on its own: with sync=off the WAL buffer holds
** acknowledged commits until close; when that last write fails, close
** flushes them to a table instead of losing them. */
START_TEST(close_keeps_sync_off_commits_when_the_last_wal_write_fails){
  lsm_env *pMem = lsm_env_memory();
  faultenv *fe = faultenv_new(pMem);
  lsm_options opt = sweep_options(faultenv_env(fe));
  lsm_db *pDb = NULL;
  int i;
  opt.sync = LSM_SYNC_OFF;
  opt.memtable_bytes = 1 << 20;
  ck_assert_int_eq(lsm_open(SWEEP_DIR, &opt, &pDb), LSM_OK);
  for(i = 0; i < 20; i++){
    char zKey[16];
    int nKey = key_name(zKey, i);
    ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nKey, "v", 1), LSM_OK);
  }
  faultenv_fail(fe, FAULTENV_APPEND, 1, LSM_IOERR, 0);   /* the buffer's write */
  ck_assert_msg(lsm_close(pDb) == LSM_OK, "close: %s", lsm_errmsg(NULL));
  faultenv_fail_clear(fe);
  ck_assert_int_eq(lsm_open(SWEEP_DIR, &opt, &pDb), LSM_OK);
  for(i = 0; i < 20; i++){
    char zKey[16];
    void *pVal = NULL;
    size_t nVal = 0;
    int nKey = key_name(zKey, i);
    ck_assert_msg(lsm_get(pDb, NULL, zKey, (size_t)nKey, &pVal, &nVal) == LSM_OK, "%s lost", zKey);
    lsm_free(pVal);
  }
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  faultenv_free(fe);
  lsm_env_memory_free(pMem);
}
END_TEST

static Suite *fault_sweep_suite(void){
  Suite *s = suite_create("fault_sweep");
  TCase *tc = tcase_create("sweep");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, every_failed_call_then_a_power_cut_keeps_what_was_acknowledged);
  tcase_add_test(tc, every_failed_call_then_carrying_on_keeps_what_was_acknowledged);
  tcase_add_test(tc, every_failed_call_of_a_tiered_store_keeps_what_was_acknowledged);
  tcase_add_test(tc, every_failed_call_of_a_store_filling_its_cache_as_it_writes_keeps_what_was_acknowledged);
  tcase_add_test(tc, every_failed_call_with_sync_off_or_normal_then_carrying_on_keeps_what_was_acknowledged);
  tcase_add_test(tc, close_keeps_sync_off_commits_when_the_last_wal_write_fails);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(fault_sweep_suite)
