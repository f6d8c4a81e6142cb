/*
** test_flush_queue.c — full memtables queue for the flush thread.
**
** With background=on, up to two full memtables wait for the flush thread
** (db.c, DB_MAX_IMM) while a third takes writes, so a flush slowed by the
** disk does not stop writers at once.  These tests hold the flush thread
** at its first SSTable open (a faultenv hold) and check that:
**
**   - writers fill a second and a third memtable without waiting (the
**     store counts no stall), and every key written is read back, by
**     point gets and by a scan, from the three memtables;
**   - once the flush thread goes on, both queued memtables become tables
**     and the store still equals the model, across a reopen;
**   - a process killed while both wait loses nothing: recovery replays
**     all three write-ahead logs (sync=normal: every commit was handed to
**     the OS).
**
** Replay a failure with LSM_TEST_SEED=<printed seed>.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultenv.h"
#include "lsm.h"
#include "testutil.h"

#define QUEUE_MEMTABLE_BYTES (16 * 1024)
#define QUEUE_VALUE_BYTES 100

/* A faultenv over the POSIX env whose hold keeps the flush thread (the
** first thread to write an SSTable) at its first open.  No crash is
** simulated here: the directory model is off. */
static faultenv *hold_flush_env(void){
  faultenv *fe = faultenv_new(NULL);
  faultenv_set_dir_model(fe, 0);
  faultenv_hold(fe, FAULTENV_HOLD_FIRST, 0);
  return fe;
}

/* ------------------------------------------------------------------ */
/* The workload                                                         */
/* ------------------------------------------------------------------ */

static lsm_options queue_options(lsm_env *pEnv){
  lsm_options opt;
  lsm_options_default(&opt);
  opt.memtable_bytes = QUEUE_MEMTABLE_BYTES;
  opt.background = 1;
  opt.sync = LSM_SYNC_NORMAL;
  opt.env = pEnv;
  return opt;
}

static void queue_key(int i, char *zKey, size_t nKey){
  snprintf(zKey, nKey, "key%08d", i);
}

static void queue_value(test_rng *pRng, uint8_t *aVal){
  int j;
  for(j = 0; j < QUEUE_VALUE_BYTES; j++) aVal[j] = (uint8_t)rng_below(pRng, 256);
}

/*
** Put keys (in a seeded random order of value bytes) until the memtables
** hold 2.5 memtables' worth, so that two are full and queued behind the
** held flush thread.  Returns the number of keys written, or -1 on error.
*/
static int queue_fill(lsm_db *pDb, uint64_t seed, model *m){
  test_rng rng;
  int i;
  rng_init(&rng, seed);
  for(i = 0; ; i++){
    char zKey[32];
    uint8_t aVal[QUEUE_VALUE_BYTES];
    lsm_stats st;
    queue_key(i, zKey, sizeof(zKey));
    queue_value(&rng, aVal);
    if( lsm_put(pDb, zKey, strlen(zKey), aVal, sizeof(aVal)) != LSM_OK ) return -1;
    if( m ) model_put(m, zKey, strlen(zKey), aVal, sizeof(aVal));
    if( lsm_stats_get(pDb, &st) != LSM_OK ) return -1;
    if( st.nMemtableBytes >= QUEUE_MEMTABLE_BYTES * 5 / 2 ) return i + 1;
  }
}

/* The model of the first n keys queue_fill writes with this seed. */
static void queue_model(uint64_t seed, int n, model *m){
  test_rng rng;
  int i;
  rng_init(&rng, seed);
  for(i = 0; i < n; i++){
    char zKey[32];
    uint8_t aVal[QUEUE_VALUE_BYTES];
    queue_key(i, zKey, sizeof(zKey));
    queue_value(&rng, aVal);
    model_put(m, zKey, strlen(zKey), aVal, sizeof(aVal));
  }
}

/* ------------------------------------------------------------------ */
/* Tests                                                                */
/* ------------------------------------------------------------------ */

START_TEST(writers_fill_two_more_memtables_while_the_flush_is_held){
  uint64_t seed = test_seed();
  char *zDir = test_tmpdir("flushq");
  faultenv *fe = hold_flush_env();
  lsm_options opt = queue_options(faultenv_env(fe));
  lsm_db *pDb = NULL;
  lsm_stats st;
  model m;
  int n;
  memset(&m, 0, sizeof(m));
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);

  n = queue_fill(pDb, seed, &m);
  ck_assert_msg(n > 0, "puts failed (seed %llu)", (unsigned long long)seed);
  ck_assert_msg(faultenv_wait_held(fe, FAULTENV_HOLD_FIRST), "the flush thread never opened its table");
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  /* Two full memtables queued, a third taking writes, nobody waited. */
  ck_assert_uint_eq(st.nFlushes, 0);
  ck_assert_uint_eq(st.nStalls, 0);
  ck_assert_uint_ge(st.nMemtableBytes, QUEUE_MEMTABLE_BYTES * 2);
  ck_assert_int_eq(faultenv_hold_timed_out(fe), 0);
  /* Gets and a scan read all three memtables. */
  test_store_equals_model(pDb, NULL, &m, seed);

  /* The flush goes on: both queued memtables become level-0 tables. */
  faultenv_release(fe, FAULTENV_HOLD_FIRST);
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  ck_assert_uint_eq(st.nMemtableEntries, 0);
  {
    uint64_t nEntries = 0;
    int i;
    for(i = 0; i < LSM_MAX_LEVELS; i++) nEntries += st.aLevel[i].nEntries;
    ck_assert_uint_eq(nEntries, (uint64_t)n);
  }
  test_store_equals_model(pDb, NULL, &m, seed);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);

  faultenv_free(fe);

  opt.env = NULL;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  test_store_equals_model(pDb, NULL, &m, seed);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  model_clear(&m);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

START_TEST(a_process_killed_with_two_memtables_queued_loses_nothing){
  uint64_t seed = test_seed();
  char *zDir = test_tmpdir("flushq");
  int aPipe[2], status = 0, n = 0;
  pid_t pid;
  ck_assert_int_eq(pipe(aPipe), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if( pid == 0 ){
    /* The child: fill with the flush held, report n, die without closing. */
    faultenv *fe = hold_flush_env();
    lsm_options opt = queue_options(faultenv_env(fe));
    lsm_db *pDb = NULL;
    close(aPipe[0]);
    if( lsm_open(zDir, &opt, &pDb) != LSM_OK ) _exit(2);
    n = queue_fill(pDb, seed, NULL);
    if( n <= 0 || !faultenv_wait_held(fe, FAULTENV_HOLD_FIRST) ) _exit(3);
    if( write(aPipe[1], &n, sizeof(n)) != (ssize_t)sizeof(n) ) _exit(4);
    _exit(0);
  }
  close(aPipe[1]);
  ck_assert_int_eq((int)read(aPipe[0], &n, sizeof(n)), (int)sizeof(n));
  close(aPipe[0]);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "the writer failed (status %d, seed %llu)", status, (unsigned long long)seed);
  {
    lsm_options opt;
    lsm_db *pDb = NULL;
    lsm_stats st;
    model m;
    memset(&m, 0, sizeof(m));
    queue_model(seed, n, &m);
    lsm_options_default(&opt);
    ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
    test_store_equals_model(pDb, NULL, &m, seed);
    /* Recovery flushed what it replayed: the three logs are gone. */
    ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
    ck_assert_uint_eq(st.nMemtableEntries, 0);
    ck_assert_int_eq(lsm_close(pDb), LSM_OK);
    model_clear(&m);
  }
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

static Suite *flush_queue_suite(void){
  Suite *s = suite_create("flush_queue");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, writers_fill_two_more_memtables_while_the_flush_is_held);
  tcase_add_test(tc, a_process_killed_with_two_memtables_queued_loses_nothing);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(flush_queue_suite)
