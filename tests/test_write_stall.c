/*
** test_write_stall.c — a slowed store holds a write for its bytes, not
** once per call.
**
** From COMPACTION_L0_SLOWDOWN level-0 tables on (compaction_pick.h) a
** write sleeps DB_SLOWDOWN_MICROS for each DB_SLOWDOWN_BYTES of its batch
** (db_impl.h), one slice at a time, and stops as soon as the slowdown
** clears.  Before, every write slept once, so a 1000-row transaction
** passed the slowdown as if it were not there and only the stop bounded
** level 0 (9 to 12 tables after the SQL level's writes).  faultenv holds
** the compaction thread at its first output, so level 0 stays at the
** slowdown point for as long as the test needs, and lsm_stats' stall
** count (one per slice) says how many slices each write slept:
**
**   a_slowed_write_sleeps_one_slice_per_256_bytes
**       at the slowdown point, one put sleeps one slice and a batch of
**       about 60 KiB one per 256 bytes of lsm_batch_bytes;
**   a_slowed_write_goes_on_once_the_slowdown_clears
**       a 1.8 MB batch owes 7,000 slices; the compaction is let go
**       once the write has slept its first: the write returns after far
**       fewer, and every row it wrote is there.
**
** No time is asserted: slices are counted.  Replay with LSM_TEST_SEED=<printed
** seed> (the tests use no randomness; it is printed for uniformity).
*/
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultenv.h"
#include "lsm.h"
#include "testutil.h"

/* The level-0 count and stall unit the store uses (compaction_pick.h's
** COMPACTION_L0_SLOWDOWN and db_impl.h's DB_SLOWDOWN_BYTES); the tests
** fail if either changes without them. */
#define STALL_L0_SLOWDOWN 8
#define STALL_SLICE_BYTES 256
#define STALL_VALUE_BYTES 100

typedef struct stall_fixture {
  lsm_env *pMemEnv;                 /* the file system under fe           */
  faultenv *fe;
  lsm_db *pDb;
} stall_fixture;

static uint64_t stalls(lsm_db *pDb){
  lsm_stats st;
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  return st.nStalls;
}

static uint64_t level0_tables(lsm_db *pDb){
  lsm_stats st;
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  return st.aLevel[0].nFiles;
}

static void put_row(lsm_db *pDb, const char *zPrefix, int i){
  char zKey[32];
  char aVal[STALL_VALUE_BYTES];
  snprintf(zKey, sizeof(zKey), "%s%08d", zPrefix, i);
  memset(aVal, 'a' + i % 26, sizeof(aVal));
  ck_assert_int_eq(lsm_put(pDb, zKey, strlen(zKey), aVal, sizeof(aVal)), LSM_OK);
}

/* A batch of rows zPrefix0..n-1 as put_row writes them. */
static lsm_batch *make_batch(lsm_db *pDb, const char *zPrefix, int n){
  lsm_batch *pBatch = NULL;
  char aVal[STALL_VALUE_BYTES];
  int i;
  ck_assert_int_eq(lsm_batch_new(pDb, &pBatch), LSM_OK);
  for(i = 0; i < n; i++){
    char zKey[32];
    snprintf(zKey, sizeof(zKey), "%s%08d", zPrefix, i);
    memset(aVal, 'a' + i % 26, sizeof(aVal));
    ck_assert_int_eq(lsm_batch_put(pBatch, zKey, strlen(zKey), aVal, sizeof(aVal)), LSM_OK);
  }
  return pBatch;
}

/*
** A store in memory whose level 0 holds STALL_L0_SLOWDOWN overlapping
** tables while the compaction thread waits at its first output (held
** until faultenv_release).  Only lsm_flush switches memtables.
*/
static void stall_fixture_begin(stall_fixture *f){
  lsm_options opt;
  int i;
  f->pMemEnv = lsm_env_memory();
  f->fe = faultenv_new(f->pMemEnv);
  faultenv_set_dir_model(f->fe, 0);           /* no crash here */
  lsm_options_default(&opt);
  opt.env = faultenv_env(f->fe);
  opt.sync = LSM_SYNC_OFF;
  opt.background = 1;
  opt.compaction = LSM_COMPACTION_LEVELED;
  opt.memtable_bytes = 8 << 20;
  ck_assert_int_eq(lsm_open("/stall", &opt, &f->pDb), LSM_OK);
  /* The first SSTable written is the flush thread's: faultenv learns it,
  ** and holds every other thread (the compaction thread) from then on. */
  put_row(f->pDb, "k", 0);
  ck_assert_int_eq(lsm_flush(f->pDb), LSM_OK);
  ck_assert_msg(faultenv_first_writer_known(f->fe), "the env did not see the flush thread");
  faultenv_hold(f->fe, FAULTENV_HOLD_OTHERS, 0);
  for(i = 1; i < STALL_L0_SLOWDOWN; i++){
    put_row(f->pDb, "k", 0);
    put_row(f->pDb, "k", i);
    ck_assert_int_eq(lsm_flush(f->pDb), LSM_OK);
  }
  ck_assert_msg(faultenv_wait_held(f->fe, FAULTENV_HOLD_OTHERS),
                "the level-0 compaction did not start (seed %llu)",
                (unsigned long long)test_seed());
  ck_assert_uint_eq(level0_tables(f->pDb), STALL_L0_SLOWDOWN);
}

static void stall_fixture_end(stall_fixture *f){
  faultenv_release(f->fe, FAULTENV_HOLD_OTHERS);
  ck_assert_int_eq(lsm_close(f->pDb), LSM_OK);
  ck_assert_msg(!faultenv_hold_timed_out(f->fe), "a held thread ran out of time: the test "
                "took longer than the hold allows (seed %llu)", (unsigned long long)test_seed());
  faultenv_free(f->fe);
  lsm_env_memory_free(f->pMemEnv);
}

START_TEST(a_slowed_write_sleeps_one_slice_per_256_bytes){
  stall_fixture f;
  lsm_batch *pBatch;
  uint64_t n0, nBytes;

  stall_fixture_begin(&f);

  n0 = stalls(f.pDb);
  put_row(f.pDb, "p", 0);                     /* a 100-byte value: one slice */
  ck_assert_uint_eq(stalls(f.pDb) - n0, 1);

  pBatch = make_batch(f.pDb, "b", 500);
  nBytes = lsm_batch_bytes(pBatch);
  ck_assert_uint_gt(nBytes, 500 * STALL_VALUE_BYTES);
  n0 = stalls(f.pDb);
  ck_assert_int_eq(lsm_write(f.pDb, pBatch), LSM_OK);
  SEED_ASSERT(stalls(f.pDb) - n0 == (nBytes + STALL_SLICE_BYTES - 1) / STALL_SLICE_BYTES,
              "a batch of %llu bytes slept %llu slices, expected %llu",
              (unsigned long long)test_seed(), (unsigned long long)nBytes,
              (unsigned long long)(stalls(f.pDb) - n0),
              (unsigned long long)((nBytes + STALL_SLICE_BYTES - 1) / STALL_SLICE_BYTES));
  lsm_batch_free(pBatch);
  ck_assert_uint_eq(level0_tables(f.pDb), STALL_L0_SLOWDOWN);

  stall_fixture_end(&f);
}
END_TEST

typedef struct big_write { lsm_db *pDb; lsm_batch *pBatch; int rc; } big_write;

static void *big_write_main(void *pArg){
  big_write *p = (big_write*)pArg;
  p->rc = lsm_write(p->pDb, p->pBatch);
  return NULL;
}

START_TEST(a_slowed_write_goes_on_once_the_slowdown_clears){
  enum { N_ROWS = 16000 };
  stall_fixture f;
  big_write w;
  pthread_t t;
  uint64_t n0, nOwed, nSlept;
  int i, nWait;

  stall_fixture_begin(&f);
  w.pDb = f.pDb;
  w.pBatch = make_batch(f.pDb, "b", N_ROWS);
  w.rc = -1;
  nOwed = (lsm_batch_bytes(w.pBatch) + STALL_SLICE_BYTES - 1) / STALL_SLICE_BYTES;
  ck_assert_uint_gt(nOwed, 6000);

  n0 = stalls(f.pDb);
  ck_assert_int_eq(pthread_create(&t, NULL, big_write_main, &w), 0);
  for(nWait = 0; stalls(f.pDb) == n0 && nWait < 10000; nWait++) usleep(1000);
  ck_assert_msg(stalls(f.pDb) > n0, "the write did not slow down (seed %llu)",
                (unsigned long long)test_seed());
  faultenv_release(f.fe, FAULTENV_HOLD_OTHERS);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(w.rc, LSM_OK);
  nSlept = stalls(f.pDb) - n0;
  SEED_ASSERT(nSlept < nOwed, "the write slept all %llu slices it owed although the "
              "slowdown cleared after its first", (unsigned long long)test_seed(),
              (unsigned long long)nOwed);
  ck_assert_uint_lt(level0_tables(f.pDb), STALL_L0_SLOWDOWN);
  for(i = 0; i < N_ROWS; i += 997){
    char zKey[32];
    void *pVal = NULL;
    size_t nVal = 0;
    snprintf(zKey, sizeof(zKey), "b%08d", i);
    ck_assert_int_eq(lsm_get(f.pDb, NULL, zKey, strlen(zKey), &pVal, &nVal), LSM_OK);
    ck_assert_uint_eq(nVal, STALL_VALUE_BYTES);
    ck_assert_int_eq(((const char*)pVal)[0], 'a' + i % 26);
    lsm_free(pVal);
  }
  lsm_batch_free(w.pBatch);

  stall_fixture_end(&f);
}
END_TEST

static Suite *write_stall_suite(void){
  Suite *s = suite_create("write_stall");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, a_slowed_write_sleeps_one_slice_per_256_bytes);
  tcase_add_test(tc, a_slowed_write_goes_on_once_the_slowdown_clears);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(write_stall_suite)
