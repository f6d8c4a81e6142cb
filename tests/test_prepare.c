/*
** test_prepare.c — two-phase commit in the engine (lsm_prepare,
** lsm_commit_prepared, lsm_abort_prepared): a prepared batch is logged
** but invisible; its commit takes its place after every write made while
** it waited; recovery after a simulated power cut (faultenv) replays
** committed batches and drops prepared-only ones, whether the commit went
** into the same log as the prepared record, into a later one (a memtable
** switch in between), or failed to reach any log.
*/
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/wait.h>
#include <unistd.h>

#include "faultenv.h"
#include "lsm.h"
#include "testutil.h"

/* ---- the fixture: one store in a temporary directory, through a faultenv ---- */

static struct prepare_fixture {
  char *zDir;
  faultenv *fe;
  lsm_options opt;
  lsm_db *pDb;
} fx;

static void setup(void){
  memset(&fx, 0, sizeof(fx));
  fx.zDir = test_tmpdir("prepare");
  fx.fe = faultenv_new(NULL);
  lsm_options_default(&fx.opt);
  fx.opt.env = faultenv_env(fx.fe);
  fx.opt.sync = LSM_SYNC_FULL;
  ck_assert_int_eq(lsm_open(fx.zDir, &fx.opt, &fx.pDb), LSM_OK);
}

static void teardown(void){
  if( fx.pDb ) ck_assert_int_eq(lsm_close(fx.pDb), LSM_OK);
  faultenv_free(fx.fe);
  test_rmtree(fx.zDir);
  free(fx.zDir);
}

/* Power off, close the old instance, lose what was not synced, reopen. */
static void power_cut_and_reopen(void){
  faultenv_freeze(fx.fe);
  lsm_close(fx.pDb);
  faultenv_crash(fx.fe);
  fx.pDb = NULL;
  ck_assert_msg(lsm_open(fx.zDir, &fx.opt, &fx.pDb) == LSM_OK, "reopen: %s", lsm_errmsg(NULL));
}

static void close_and_reopen(void){
  int rcClose = lsm_close(fx.pDb);
  ck_assert_msg(rcClose == LSM_OK, "close: %d %s", rcClose, lsm_errmsg(NULL));
  fx.pDb = NULL;
  ck_assert_msg(lsm_open(fx.zDir, &fx.opt, &fx.pDb) == LSM_OK, "reopen: %s", lsm_errmsg(NULL));
}

static void put(const char *zKey, const char *zVal){
  ck_assert_int_eq(lsm_put(fx.pDb, zKey, strlen(zKey), zVal, strlen(zVal)), LSM_OK);
}

/* The value of zKey, or "-" if there is none (static buffer). */
static const char *get(const char *zKey){
  static char zBuf[256];
  void *pVal = NULL;
  size_t nVal = 0;
  int rc = lsm_get(fx.pDb, NULL, zKey, strlen(zKey), &pVal, &nVal);
  if( rc == LSM_NOTFOUND ) return "-";
  ck_assert_int_eq(rc, LSM_OK);
  ck_assert_uint_lt(nVal, sizeof(zBuf));
  memcpy(zBuf, pVal, nVal);
  zBuf[nVal] = 0;
  lsm_free(pVal);
  return zBuf;
}

static void assert_check_ok(void){
  char *zReport = NULL;
  int rc = lsm_check(fx.pDb, &zReport);
  ck_assert_msg(rc == LSM_OK, "lsm_check: %s", zReport ? zReport : "");
  lsm_free(zReport);
}

/* A batch of puts key=value, given as "k1", "v1", "k2", "v2", ..., NULL. */
static lsm_batch *batch_of(const char *zKey, ...){
  lsm_batch *pB = NULL;
  va_list ap;
  const char *z;
  ck_assert_int_eq(lsm_batch_new(fx.pDb, &pB), LSM_OK);
  va_start(ap, zKey);
  for(z = zKey; z; z = va_arg(ap, const char*)){
    const char *zVal = va_arg(ap, const char*);
    ck_assert_int_eq(lsm_batch_put(pB, z, strlen(z), zVal, strlen(zVal)), LSM_OK);
  }
  va_end(ap);
  return pB;
}

static uint64_t wal_bytes_written(void){
  lsm_stats st;
  ck_assert_int_eq(lsm_stats_get(fx.pDb, &st), LSM_OK);
  return st.nWalBytesWritten;
}

/* ---- tests ---- */

#define LONG_VALUE "a value long enough that logging it twice would show: 0123456789" \
                   "0123456789012345678901234567890123456789012345678901234567890123456789"

START_TEST(a_prepared_batch_is_logged_but_invisible_until_committed){
  lsm_batch *pB = batch_of("a", "1", "b", LONG_VALUE, NULL);
  lsm_prepared *pP = NULL;
  uint64_t nWal = wal_bytes_written();
  lsm_cursor *pCsr = NULL;
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB, &pP), LSM_OK);
  ck_assert_uint_gt(wal_bytes_written(), nWal + lsm_batch_bytes(pB));
  ck_assert_str_eq(get("a"), "-");
  ck_assert_int_eq(lsm_cursor_open(fx.pDb, NULL, &pCsr), LSM_OK);
  ck_assert_int_eq(lsm_cursor_first(pCsr), LSM_OK);
  ck_assert_int_eq(lsm_cursor_valid(pCsr), 0);
  lsm_cursor_close(pCsr);
  /* Closing the store with the batch still prepared is misuse. */
  ck_assert_int_eq(lsm_close(fx.pDb), LSM_MISUSE);
  nWal = wal_bytes_written();
  ck_assert_int_eq(lsm_commit_prepared(pP), LSM_OK);
  /* The commit record is small: the batch is not logged again. */
  ck_assert_uint_lt(wal_bytes_written() - nWal, lsm_batch_bytes(pB));
  ck_assert_str_eq(get("a"), "1");
  ck_assert_str_eq(get("b"), LONG_VALUE);
  lsm_batch_free(pB);
  close_and_reopen();
  ck_assert_str_eq(get("a"), "1");
  ck_assert_str_eq(get("b"), LONG_VALUE);
  assert_check_ok();
}
END_TEST

START_TEST(an_aborted_batch_leaves_nothing_after_a_reopen){
  lsm_batch *pB = batch_of("a", "1", NULL);
  lsm_prepared *pP = NULL;
  put("x", "kept");
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB, &pP), LSM_OK);
  lsm_abort_prepared(pP);
  ck_assert_str_eq(get("a"), "-");
  lsm_batch_free(pB);
  close_and_reopen();
  ck_assert_str_eq(get("a"), "-");
  ck_assert_str_eq(get("x"), "kept");
  assert_check_ok();
}
END_TEST

START_TEST(a_power_cut_drops_a_prepared_only_batch_and_keeps_committed_ones){
  lsm_batch *pB1 = batch_of("c1", "committed", NULL);
  lsm_batch *pB2 = batch_of("p2", "prepared only", "x", "overwritten by p2", NULL);
  lsm_prepared *pP1 = NULL, *pP2 = NULL;
  put("x", "before");
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB1, &pP1), LSM_OK);
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB2, &pP2), LSM_OK);
  ck_assert_int_eq(lsm_commit_prepared(pP1), LSM_OK);
  put("y", "after");
  /* p2's record is synced in the log (sync=full); the process dies
  ** before its commit (the handle's memory is freed, no I/O). */
  lsm_abort_prepared(pP2);
  power_cut_and_reopen();
  ck_assert_str_eq(get("x"), "before");
  ck_assert_str_eq(get("c1"), "committed");
  ck_assert_str_eq(get("y"), "after");
  ck_assert_str_eq(get("p2"), "-");
  assert_check_ok();
  /* The store goes on: sequence numbers continue from the recovered log. */
  put("z", "later");
  power_cut_and_reopen();
  ck_assert_str_eq(get("z"), "later");
  ck_assert_str_eq(get("c1"), "committed");
  assert_check_ok();
  lsm_batch_free(pB1);
  lsm_batch_free(pB2);
}
END_TEST

START_TEST(a_commit_takes_its_place_after_writes_made_while_it_was_prepared){
  lsm_batch *pB = batch_of("k", "from the prepared batch", NULL);
  lsm_prepared *pP = NULL;
  put("k", "first");
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB, &pP), LSM_OK);
  put("k", "written while prepared");
  ck_assert_str_eq(get("k"), "written while prepared");
  ck_assert_int_eq(lsm_commit_prepared(pP), LSM_OK);
  ck_assert_str_eq(get("k"), "from the prepared batch");
  power_cut_and_reopen();
  ck_assert_str_eq(get("k"), "from the prepared batch");
  assert_check_ok();
  lsm_batch_free(pB);
}
END_TEST

/* The prepared record's log is retired by a flush while the batch waits:
** the commit logs the whole batch in the new log. */
START_TEST(a_batch_prepared_before_a_log_switch_commits_whole_into_the_new_log){
  lsm_batch *pB = batch_of("a", "1", NULL);
  lsm_batch *pQ = batch_of("q", "never committed", NULL);
  lsm_prepared *pP = NULL, *pPQ = NULL;
  uint64_t nWal;
  put("x", "flushed");
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB, &pP), LSM_OK);
  ck_assert_int_eq(lsm_prepare(fx.pDb, pQ, &pPQ), LSM_OK);
  ck_assert_int_eq(lsm_flush(fx.pDb), LSM_OK);
  nWal = wal_bytes_written();
  ck_assert_int_eq(lsm_commit_prepared(pP), LSM_OK);
  ck_assert_uint_ge(wal_bytes_written() - nWal, lsm_batch_bytes(pB));
  lsm_abort_prepared(pPQ);
  power_cut_and_reopen();
  ck_assert_str_eq(get("x"), "flushed");
  ck_assert_str_eq(get("a"), "1");
  ck_assert_str_eq(get("q"), "-");
  assert_check_ok();
  lsm_batch_free(pB);
  lsm_batch_free(pQ);
}
END_TEST

/* If the new log cannot take the waiting batch again, the switch goes
** on, and the commit logs the whole batch in the new log. */
START_TEST(a_waiting_batch_the_new_log_cannot_take_commits_whole){
  lsm_batch *pB = batch_of("a", "1", NULL);
  lsm_prepared *pP = NULL;
  uint64_t nWal;
  put("x", "flushed");
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB, &pP), LSM_OK);
  /* The first append is the new log's: its header and the batch again. */
  faultenv_fail(fx.fe, FAULTENV_APPEND, 1, LSM_FULL, 0);
  ck_assert_int_eq(lsm_flush(fx.pDb), LSM_OK);
  ck_assert_uint_eq(faultenv_nfailed(fx.fe), 1);
  nWal = wal_bytes_written();
  ck_assert_int_eq(lsm_commit_prepared(pP), LSM_OK);
  ck_assert_uint_ge(wal_bytes_written() - nWal, lsm_batch_bytes(pB));
  power_cut_and_reopen();
  ck_assert_str_eq(get("a"), "1");
  ck_assert_str_eq(get("x"), "flushed");
  assert_check_ok();
  lsm_batch_free(pB);
}
END_TEST

/* Batches over the 1 MiB record limit are logged in fragments: a
** committed one replays, a prepared-only one is dropped. */
START_TEST(big_prepared_batches_in_fragments_replay_or_drop_whole){
  size_t nVal = 700 * 1024;
  char *zBig = malloc(nVal + 1);
  lsm_batch *pB = NULL, *pQ = NULL;
  lsm_prepared *pP = NULL, *pPQ = NULL;
  void *pVal = NULL;
  size_t nGot = 0;
  int i;
  memset(zBig, 'v', nVal);
  zBig[nVal] = 0;
  ck_assert_int_eq(lsm_batch_new(fx.pDb, &pB), LSM_OK);
  ck_assert_int_eq(lsm_batch_new(fx.pDb, &pQ), LSM_OK);
  for(i = 0; i < 3; i++){
    char zKey[16];
    snprintf(zKey, sizeof(zKey), "big%d", i);
    ck_assert_int_eq(lsm_batch_put(pB, zKey, strlen(zKey), zBig, nVal), LSM_OK);
    snprintf(zKey, sizeof(zKey), "dropped%d", i);
    ck_assert_int_eq(lsm_batch_put(pQ, zKey, strlen(zKey), zBig, nVal), LSM_OK);
  }
  ck_assert_int_eq(lsm_prepare(fx.pDb, pQ, &pPQ), LSM_OK);
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB, &pP), LSM_OK);
  put("small", "s");
  ck_assert_int_eq(lsm_commit_prepared(pP), LSM_OK);
  lsm_abort_prepared(pPQ);
  power_cut_and_reopen();
  ck_assert_int_eq(lsm_get(fx.pDb, NULL, "big2", 4, &pVal, &nGot), LSM_OK);
  ck_assert_uint_eq(nGot, nVal);
  ck_assert(memcmp(pVal, zBig, nVal) == 0);
  lsm_free(pVal);
  ck_assert_str_eq(get("dropped0"), "-");
  ck_assert_str_eq(get("small"), "s");
  assert_check_ok();
  lsm_batch_free(pB);
  lsm_batch_free(pQ);
  free(zBig);
}
END_TEST

/* The host has committed when it calls lsm_commit_prepared: if the log
** cannot take the commit record, the batch is applied all the same, and a
** clean close flushes it, so that a reopen has it. */
START_TEST(a_commit_whose_log_write_fails_is_applied_and_kept_by_a_flush){
  lsm_batch *pB = batch_of("a", "committed by the host", NULL);
  lsm_prepared *pP = NULL;
  put("x", "1");
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB, &pP), LSM_OK);
  faultenv_fail(fx.fe, FAULTENV_APPEND, 1, LSM_FULL, 1);
  ck_assert_int_eq(lsm_commit_prepared(pP), LSM_OK);
  ck_assert_str_eq(get("a"), "committed by the host");
  /* Other writes fail while the disk is full ... */
  ck_assert_int_eq(lsm_put(fx.pDb, "y", 1, "2", 1), LSM_FULL);
  faultenv_fail_clear(fx.fe);
  /* ... and go in again once there is room.  The background flush of
  ** the unlogged commit may have failed on the full disk meanwhile, and
  ** its thread may record that at any moment: a flush from here waits
  ** for it and reports it once (lsm.h), so that no later call does. */
  {
    int i, rc = LSM_FULL;
    for(i = 0; i < 3 && rc == LSM_FULL; i++) rc = lsm_flush(fx.pDb);
    ck_assert_int_eq(rc, LSM_OK);
    rc = LSM_FULL;
    for(i = 0; i < 3 && rc == LSM_FULL; i++) rc = lsm_put(fx.pDb, "z", 1, "3", 1);
    ck_assert_int_eq(rc, LSM_OK);
  }
  ck_assert_str_eq(get("a"), "committed by the host");
  close_and_reopen();
  ck_assert_str_eq(get("a"), "committed by the host");
  ck_assert_str_eq(get("x"), "1");
  ck_assert_str_eq(get("y"), "-");
  ck_assert_str_eq(get("z"), "3");
  assert_check_ok();
  lsm_batch_free(pB);
}
END_TEST

/* The same without any other write before the close: the close itself
** flushes the commit that no log holds. */
START_TEST(a_close_flushes_a_commit_that_no_log_holds){
  lsm_batch *pB = batch_of("a", "only in memory", NULL);
  lsm_prepared *pP = NULL;
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB, &pP), LSM_OK);
  faultenv_fail(fx.fe, FAULTENV_APPEND, 1, LSM_IOERR, 0);
  ck_assert_int_eq(lsm_commit_prepared(pP), LSM_OK);
  faultenv_fail_clear(fx.fe);
  close_and_reopen();
  ck_assert_str_eq(get("a"), "only in memory");
  assert_check_ok();
  lsm_batch_free(pB);
}
END_TEST

START_TEST(a_batch_changed_after_prepare_commits_what_was_prepared){
  lsm_batch *pB = batch_of("a", "1", NULL);
  lsm_prepared *pP = NULL;
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB, &pP), LSM_OK);
  ck_assert_int_eq(lsm_batch_put(pB, "b", 1, "2", 1), LSM_OK);
  lsm_batch_free(pB);
  ck_assert_int_eq(lsm_commit_prepared(pP), LSM_OK);
  ck_assert_str_eq(get("a"), "1");
  ck_assert_str_eq(get("b"), "-");
}
END_TEST

/* ---- the host's word on batches it committed (lsm_options.xPrepared) ---- */

/* The host's record of what it committed: prepare ids. */
static struct host_record {
  uint64_t aId[8];
  int nId;
  int nAsked;               /* questions recovery asked */
} g_host;

static int host_says(void *pCtx, uint64_t iId, int *pbCommitted){
  int i;
  ck_assert_ptr_eq(pCtx, &g_host);
  g_host.nAsked++;
  *pbCommitted = 0;
  for(i = 0; i < g_host.nId; i++) if( g_host.aId[i] == iId ) *pbCommitted = 1;
  return LSM_OK;
}

/*
** A crash after the host committed and before lsm_commit_prepared: the
** batches the host says it committed are replayed, after everything the
** logs hold, and the others dropped, also when a flush retired the log
** that first held them (a switch logs waiting batches again).
*/
START_TEST(a_crash_before_the_commit_record_keeps_what_the_host_committed){
  lsm_batch *pB1 = batch_of("k", "p1", "a", "1", NULL);
  lsm_batch *pB2 = batch_of("b", "2", NULL);
  lsm_batch *pB3 = batch_of("c", "3", NULL);
  lsm_prepared *pP1 = NULL, *pP2 = NULL, *pP3 = NULL;
  uint64_t iFloor;
  memset(&g_host, 0, sizeof(g_host));
  fx.opt.xPrepared = host_says;
  fx.opt.pPreparedCtx = &g_host;
  put("k", "before");
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB1, &pP1), LSM_OK);
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB2, &pP2), LSM_OK);
  ck_assert_uint_gt(lsm_prepared_id(pP2), lsm_prepared_id(pP1));
  ck_assert_uint_le(lsm_prepared_floor(fx.pDb), lsm_prepared_id(pP1));
  put("k", "written while prepared");
  /* The first log is retired: p1 and p2 live on in the new one. */
  ck_assert_int_eq(lsm_flush(fx.pDb), LSM_OK);
  ck_assert_uint_le(lsm_prepared_floor(fx.pDb), lsm_prepared_id(pP1));
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB3, &pP3), LSM_OK);
  put("d", "after");
  /* The host committed p1 and p3, not p2; the process dies before any
  ** commit record. */
  g_host.aId[g_host.nId++] = lsm_prepared_id(pP1);
  g_host.aId[g_host.nId++] = lsm_prepared_id(pP3);
  lsm_abort_prepared(pP1);
  lsm_abort_prepared(pP2);
  lsm_abort_prepared(pP3);
  /* None waits now: every id given is below the floor. */
  iFloor = lsm_prepared_floor(fx.pDb);
  ck_assert_uint_gt(iFloor, g_host.aId[1]);
  power_cut_and_reopen();
  ck_assert_int_eq(g_host.nAsked, 3);
  ck_assert_str_eq(get("k"), "p1");
  ck_assert_str_eq(get("a"), "1");
  ck_assert_str_eq(get("b"), "-");
  ck_assert_str_eq(get("c"), "3");
  ck_assert_str_eq(get("d"), "after");
  assert_check_ok();
  /* The recovery flushed them: a second crash asks nothing and keeps them. */
  g_host.nAsked = 0;
  put("e", "5");
  power_cut_and_reopen();
  ck_assert_int_eq(g_host.nAsked, 0);
  ck_assert_str_eq(get("c"), "3");
  ck_assert_str_eq(get("e"), "5");
  lsm_batch_free(pB1);
  lsm_batch_free(pB2);
  lsm_batch_free(pB3);
}
END_TEST

/* Batches committed or aborted normally are never asked about. */
START_TEST(recovery_asks_only_about_batches_left_waiting){
  lsm_batch *pB = batch_of("a", "1", NULL);
  lsm_prepared *pP = NULL;
  memset(&g_host, 0, sizeof(g_host));
  fx.opt.xPrepared = host_says;
  fx.opt.pPreparedCtx = &g_host;
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB, &pP), LSM_OK);
  ck_assert_int_eq(lsm_commit_prepared(pP), LSM_OK);
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB, &pP), LSM_OK);
  g_host.aId[g_host.nId++] = lsm_prepared_id(pP);   /* a false claim */
  ck_assert_int_eq(lsm_commit_prepared(pP), LSM_OK);
  power_cut_and_reopen();
  ck_assert_int_eq(g_host.nAsked, 0);
  ck_assert_str_eq(get("a"), "1");
  lsm_batch_free(pB);
}
END_TEST

START_TEST(an_empty_prepared_batch_commits_nothing){
  lsm_batch *pB = NULL;
  lsm_prepared *pP = NULL;
  uint64_t nWal = wal_bytes_written();
  ck_assert_int_eq(lsm_batch_new(fx.pDb, &pB), LSM_OK);
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB, &pP), LSM_OK);
  ck_assert_ptr_nonnull(pP);
  ck_assert_int_eq(lsm_commit_prepared(pP), LSM_OK);
  ck_assert_uint_eq(wal_bytes_written(), nWal);
  lsm_batch_free(pB);
}
END_TEST

/* A child of fork() must not use its parent's store (lsm.h): it cannot
** prepare there, and a handle it inherited ends without touching the
** store's locks. */
START_TEST(a_child_of_fork_cannot_prepare_on_its_parents_store){
  lsm_batch *pB = batch_of("a", "1", NULL);
  lsm_prepared *pP = NULL;
  pid_t pid;
  int status = 0;
  ck_assert_int_eq(lsm_prepare(fx.pDb, pB, &pP), LSM_OK);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if( pid == 0 ){
    lsm_prepared *pChild = NULL;
    if( lsm_prepare(fx.pDb, pB, &pChild) != LSM_MISUSE || pChild ) _exit(1);
    lsm_abort_prepared(pP);
    _exit(0);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
  ck_assert_int_eq(lsm_commit_prepared(pP), LSM_OK);
  ck_assert_str_eq(get("a"), "1");
  lsm_batch_free(pB);
}
END_TEST

/* ---- several threads ---- */

#define MT_THREADS 4

typedef struct mt_thread {
  int iThread;
  int nRound;
  uint64_t seed;
  char *aOutcome;           /* per round: 'c' committed, 'a' aborted   */
  int rc;                   /* first failure, LSM_OK if none            */
} mt_thread;

static int mt_key(char *z, int iThread, int iRound, int iKey){
  return snprintf(z, 48, "t%d-r%05d-k%d", iThread, iRound, iKey);
}

/* Each round: prepare a batch of 3 keys plus "last-<thread>"; maybe
** write a plain key while it waits; commit or abort it at random. */
static void *mt_main(void *pArg){
  mt_thread *t = pArg;
  test_rng rng;
  lsm_batch *pB = NULL;
  char zKey[48], zVal[256];
  int iRound, rc = lsm_batch_new(fx.pDb, &pB);
  rng_init(&rng, t->seed * 31 + (uint64_t)t->iThread);
  for(iRound = 0; rc == LSM_OK && iRound < t->nRound; iRound++){
    lsm_prepared *pP = NULL;
    int k, nv;
    lsm_batch_clear(pB);
    nv = snprintf(zVal, sizeof(zVal), "v%d-%d-%0200d", t->iThread, iRound, 0);
    for(k = 0; rc == LSM_OK && k < 3; k++){
      int nk = mt_key(zKey, t->iThread, iRound, k);
      rc = lsm_batch_put(pB, zKey, (size_t)nk, zVal, (size_t)nv);
    }
    if( rc == LSM_OK ){
      int nk = snprintf(zKey, sizeof(zKey), "last-%d", t->iThread);
      nv = snprintf(zVal, sizeof(zVal), "%05d", iRound);
      rc = lsm_batch_put(pB, zKey, (size_t)nk, zVal, (size_t)nv);
    }
    if( rc == LSM_OK ) rc = lsm_prepare(fx.pDb, pB, &pP);
    if( rc == LSM_OK && rng_below(&rng, 3) == 0 ){
      int nk = snprintf(zKey, sizeof(zKey), "plain-%d-%05d", t->iThread, iRound);
      rc = lsm_put(fx.pDb, zKey, (size_t)nk, "p", 1);
    }
    if( pP && rng_below(&rng, 3) == 0 ){
      lsm_abort_prepared(pP);
      t->aOutcome[iRound] = 'a';
    }else if( pP ){
      int rc2 = lsm_commit_prepared(pP);
      if( rc == LSM_OK ) rc = rc2;
      t->aOutcome[iRound] = 'c';
    }
  }
  lsm_batch_free(pB);
  t->rc = rc;
  return NULL;
}

/* Threads preparing, committing and aborting on one store with a tiny
** memtable (so logs switch and flush while batches wait): every committed
** batch is there whole after a reopen, every aborted one is absent, and
** each thread's "last" key holds its last committed round. */
START_TEST(threads_preparing_committing_and_aborting_keep_exactly_the_committed){
  uint64_t seed = test_seed();
  mt_thread aT[MT_THREADS];
  pthread_t aTid[MT_THREADS];
  int i, iRound, nRound = test_scale(300);
  ck_assert_int_eq(lsm_close(fx.pDb), LSM_OK);
  fx.opt.sync = LSM_SYNC_NORMAL;
  fx.opt.memtable_bytes = 16 * 1024;
  fx.opt.block_bytes = 512;
  ck_assert_int_eq(lsm_open(fx.zDir, &fx.opt, &fx.pDb), LSM_OK);
  for(i = 0; i < MT_THREADS; i++){
    aT[i].iThread = i;
    aT[i].nRound = nRound;
    aT[i].seed = seed;
    aT[i].aOutcome = calloc((size_t)nRound, 1);
    aT[i].rc = LSM_OK;
    ck_assert_int_eq(pthread_create(&aTid[i], NULL, mt_main, &aT[i]), 0);
  }
  for(i = 0; i < MT_THREADS; i++){
    pthread_join(aTid[i], NULL);
    SEED_ASSERT(aT[i].rc == LSM_OK, "thread %d: rc %d", (unsigned long long)seed, i, aT[i].rc);
  }
  close_and_reopen();
  assert_check_ok();
  for(i = 0; i < MT_THREADS; i++){
    int iLast = -1;
    char zKey[48], zLast[16];
    for(iRound = 0; iRound < nRound; iRound++){
      int k;
      for(k = 0; k < 3; k++){
        const char *zGot;
        mt_key(zKey, i, iRound, k);
        zGot = get(zKey);
        SEED_ASSERT((aT[i].aOutcome[iRound] == 'c') == (zGot[0] != '-'),
                    "thread %d round %d key %d: outcome %c, value %s",
                    (unsigned long long)seed, i, iRound, k, aT[i].aOutcome[iRound], zGot);
      }
      if( aT[i].aOutcome[iRound] == 'c' ) iLast = iRound;
    }
    snprintf(zKey, sizeof(zKey), "last-%d", i);
    snprintf(zLast, sizeof(zLast), "%05d", iLast);
    SEED_ASSERT(strcmp(get(zKey), iLast < 0 ? "-" : zLast) == 0, "thread %d: last %s, expected %s",
                (unsigned long long)seed, i, get(zKey), zLast);
    free(aT[i].aOutcome);
  }
}
END_TEST

static Suite *prepare_suite(void){
  Suite *s = suite_create("prepare");
  TCase *tc = tcase_create("two_phase_commit");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, a_prepared_batch_is_logged_but_invisible_until_committed);
  tcase_add_test(tc, an_aborted_batch_leaves_nothing_after_a_reopen);
  tcase_add_test(tc, a_power_cut_drops_a_prepared_only_batch_and_keeps_committed_ones);
  tcase_add_test(tc, a_commit_takes_its_place_after_writes_made_while_it_was_prepared);
  tcase_add_test(tc, a_batch_prepared_before_a_log_switch_commits_whole_into_the_new_log);
  tcase_add_test(tc, a_waiting_batch_the_new_log_cannot_take_commits_whole);
  tcase_add_test(tc, big_prepared_batches_in_fragments_replay_or_drop_whole);
  tcase_add_test(tc, a_commit_whose_log_write_fails_is_applied_and_kept_by_a_flush);
  tcase_add_test(tc, a_close_flushes_a_commit_that_no_log_holds);
  tcase_add_test(tc, a_batch_changed_after_prepare_commits_what_was_prepared);
  tcase_add_test(tc, a_crash_before_the_commit_record_keeps_what_the_host_committed);
  tcase_add_test(tc, recovery_asks_only_about_batches_left_waiting);
  tcase_add_test(tc, an_empty_prepared_batch_commits_nothing);
  tcase_add_test(tc, threads_preparing_committing_and_aborting_keep_exactly_the_committed);
  tcase_add_test(tc, a_child_of_fork_cannot_prepare_on_its_parents_store);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(prepare_suite)
