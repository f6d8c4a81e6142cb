/*
** test_faultenv.c — the fault-injecting environment does what faultenv.h
** says: it counts, fails the Nth call, runs out of space, and a crash
** drops unsynced bytes and undoes name changes no directory sync covered.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "faultenv.h"
#include "testutil.h"

/* ---- helpers ---- */

static char *path_in(const char *zDir, const char *zName){
  char *z = malloc(strlen(zDir) + strlen(zName) + 2);
  sprintf(z, "%s/%s", zDir, zName);
  return z;
}

/* Size of zPath on the real disk, -1 if missing. */
static long disk_size(const char *zPath){
  FILE *f = fopen(zPath, "rb");
  long n;
  if( f == NULL ) return -1;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fclose(f);
  return n;
}

/* Create zPath with n bytes through pEnv; sync if bSync. */
static void make_file(lsm_env *pEnv, const char *zPath, size_t n, int bSync){
  lsm_file *pF;
  uint8_t a[256];
  memset(a, 'x', sizeof(a));
  ck_assert_int_eq(pEnv->xOpen(pEnv, zPath, LSM_OPEN_WRITE, &pF), LSM_OK);
  while( n > 0 ){
    size_t m = n < sizeof(a) ? n : sizeof(a);
    ck_assert_int_eq(pEnv->xAppend(pF, a, m), LSM_OK);
    n -= m;
  }
  if( bSync ) ck_assert_int_eq(pEnv->xSync(pF), LSM_OK);
  ck_assert_int_eq(pEnv->xClose(pF), LSM_OK);
}

/* ---- the fixture ---- */

/*
** Most tests work in a fresh temporary directory through a faultenv over
** the POSIX env, on files named a, b, c, d and t in it.  The checked
** fixture makes these before each test, in its own process, and removes
** them after it passes.
*/
static struct faultenv_fixture {
  faultenv *fe;                 /* the env under test                  */
  lsm_env *pEnv;                /* faultenv_env(fe)                    */
  char *zDir;                   /* the test's directory                */
  char *zA, *zB, *zC, *zD, *zT; /* zDir/a, zDir/b, ... zDir/t          */
} fx;

static void setup(void){
  memset(&fx, 0, sizeof(fx));
  fx.fe = faultenv_new(NULL);
  fx.pEnv = faultenv_env(fx.fe);
  fx.zDir = test_tmpdir("faultenv");
  fx.zA = path_in(fx.zDir, "a");
  fx.zB = path_in(fx.zDir, "b");
  fx.zC = path_in(fx.zDir, "c");
  fx.zD = path_in(fx.zDir, "d");
  fx.zT = path_in(fx.zDir, "t");
}

static void teardown(void){
  free(fx.zA); free(fx.zB); free(fx.zC); free(fx.zD); free(fx.zT);
  test_rmtree(fx.zDir);
  free(fx.zDir);
  faultenv_free(fx.fe);
  memset(&fx, 0, sizeof(fx));
}

/* ---- tests ---- */

START_TEST(faultenv_counts_calls_per_class){
  lsm_file *pF;
  uint8_t aBuf[8];
  size_t nRead;
  uint64_t nSize;
  int bExists, bIsDir;
  void *p;

  make_file(fx.pEnv, fx.zA, 10, 1);               /* open, append, sync, close */
  ck_assert_int_eq(fx.pEnv->xOpen(fx.pEnv, fx.zA, LSM_OPEN_READ, &pF), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xRead(pF, 0, aBuf, 8, &nRead), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xSize(pF, &nSize), LSM_OK);
  ck_assert_uint_eq(nSize, 10);
  fx.pEnv->xClose(pF);
  ck_assert_int_eq(fx.pEnv->xRename(fx.pEnv, fx.zA, fx.zB), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xSyncDir(fx.pEnv, fx.zDir), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xExists(fx.pEnv, fx.zB, &bExists, &bIsDir), LSM_OK);
  ck_assert_int_eq(bExists, 1);
  ck_assert_int_eq(fx.pEnv->xUnlink(fx.pEnv, fx.zB), LSM_OK);
  p = env_malloc(fx.pEnv, 100);
  p = env_realloc(fx.pEnv, p, 1000);
  env_free(fx.pEnv, p);

  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_OPEN), 2);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_APPEND), 1);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_SYNC), 1);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_CLOSE), 2);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_READ), 1);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_SIZE), 1);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_RENAME), 1);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_SYNCDIR), 1);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_EXISTS), 1);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_UNLINK), 1);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_ALLOC), 2);
  ck_assert_uint_eq(faultenv_max_alloc(fx.fe), 1000);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_ANY_IO), 10);
  faultenv_reset_counts(fx.fe);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_ANY_IO), 0);
  ck_assert_uint_eq(faultenv_max_alloc(fx.fe), 0);
}
END_TEST

START_TEST(faultenv_fails_the_nth_call){
  lsm_file *pF;
  int i;

  ck_assert_int_eq(fx.pEnv->xOpen(fx.pEnv, fx.zA, LSM_OPEN_WRITE, &pF), LSM_OK);
  /* The 3rd append fails once. */
  faultenv_fail(fx.fe, FAULTENV_APPEND, 3, LSM_FULL, 0);
  for(i = 1; i <= 5; i++){
    ck_assert_int_eq(fx.pEnv->xAppend(pF, "abc", 3), i == 3 ? LSM_FULL : LSM_OK);
  }
  ck_assert_uint_eq(faultenv_nfailed(fx.fe), 1);
  ck_assert_int_eq(disk_size(fx.zA), 12);      /* the failed append wrote nothing */
  /* The 2nd sync and every later one fail. */
  faultenv_fail(fx.fe, FAULTENV_SYNC, 2, LSM_IOERR, 1);
  ck_assert_int_eq(fx.pEnv->xSync(pF), LSM_OK);
  for(i = 0; i < 3; i++) ck_assert_int_eq(fx.pEnv->xSync(pF), LSM_IOERR);
  ck_assert_uint_eq(faultenv_nfailed(fx.fe), 4);
  /* Any I/O class: the 2nd I/O call, whatever it is. */
  faultenv_fail(fx.fe, FAULTENV_ANY_IO, 2, LSM_IOERR, 0);
  ck_assert_int_eq(fx.pEnv->xAppend(pF, "x", 1), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xSyncDir(fx.pEnv, fx.zDir), LSM_IOERR);
  ck_assert_int_eq(fx.pEnv->xSync(pF), LSM_OK);
  /* Allocations return NULL. */
  faultenv_fail(fx.fe, FAULTENV_ALLOC, 1, 0, 0);
  ck_assert_ptr_null(env_malloc(fx.pEnv, 10));
  {
    void *p = env_malloc(fx.pEnv, 10);
    ck_assert_ptr_nonnull(p);
    env_free(fx.pEnv, p);
  }
  faultenv_fail_clear(fx.fe);
  ck_assert_int_eq(fx.pEnv->xClose(pF), LSM_OK);
}
END_TEST

START_TEST(faultenv_space_budget_fails_appends_with_full){
  lsm_file *pF;
  ck_assert_int_eq(fx.pEnv->xOpen(fx.pEnv, fx.zA, LSM_OPEN_WRITE, &pF), LSM_OK);
  faultenv_set_space(fx.fe, 10);
  ck_assert_int_eq(fx.pEnv->xAppend(pF, "12345678", 8), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xAppend(pF, "12345", 5), LSM_FULL);
  ck_assert_int_eq(fx.pEnv->xAppend(pF, "12", 2), LSM_OK);
  faultenv_set_space(fx.fe, UINT64_MAX);
  ck_assert_int_eq(fx.pEnv->xAppend(pF, "12345", 5), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xClose(pF), LSM_OK);
  ck_assert_int_eq(disk_size(fx.zA), 15);
}
END_TEST

START_TEST(faultenv_crash_drops_unsynced_bytes){
  lsm_file *pF;

  make_file(fx.pEnv, fx.zA, 100, 1);
  make_file(fx.pEnv, fx.zB, 70, 0);
  ck_assert_int_eq(fx.pEnv->xSyncDir(fx.pEnv, fx.zDir), LSM_OK);    /* names durable */
  /* A: 100 synced + 50 not; B: nothing synced; C: appended to after a
  ** synced state, left open across the crash. */
  ck_assert_int_eq(fx.pEnv->xOpen(fx.pEnv, fx.zA, LSM_OPEN_APPEND, &pF), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xAppend(pF, "0123456789", 10), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xSync(pF), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xAppend(pF, "0123456789", 10), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xClose(pF), LSM_OK);
  make_file(fx.pEnv, fx.zC, 30, 1);
  ck_assert_int_eq(fx.pEnv->xSyncDir(fx.pEnv, fx.zDir), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xOpen(fx.pEnv, fx.zC, LSM_OPEN_APPEND, &pF), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xAppend(pF, "abc", 3), LSM_OK);

  faultenv_freeze(fx.fe);
  ck_assert_int_eq(fx.pEnv->xAppend(pF, "abc", 3), LSM_IOERR);   /* power is off */
  ck_assert_int_eq(fx.pEnv->xClose(pF), LSM_OK);
  ck_assert_int_eq(disk_size(fx.zA), 120);
  ck_assert_int_eq(disk_size(fx.zC), 33);
  faultenv_crash(fx.fe);
  ck_assert_int_eq(disk_size(fx.zA), 110);
  ck_assert_int_eq(disk_size(fx.zB), 0);
  ck_assert_int_eq(disk_size(fx.zC), 30);
  /* Power is back. */
  make_file(fx.pEnv, fx.zB, 5, 1);
  ck_assert_int_eq(disk_size(fx.zB), 5);
}
END_TEST

START_TEST(faultenv_crash_undoes_name_changes_without_dir_sync){
  make_file(fx.pEnv, fx.zA, 10, 1);
  make_file(fx.pEnv, fx.zB, 20, 1);
  make_file(fx.pEnv, fx.zC, 30, 1);
  ck_assert_int_eq(fx.pEnv->xSyncDir(fx.pEnv, fx.zDir), LSM_OK);

  /* Not covered by a directory sync: a rename over an existing file, an
  ** unlink, a create, and a temp file renamed into place. */
  ck_assert_int_eq(fx.pEnv->xRename(fx.pEnv, fx.zA, fx.zB), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xUnlink(fx.pEnv, fx.zC), LSM_OK);
  make_file(fx.pEnv, fx.zD, 40, 1);
  make_file(fx.pEnv, fx.zT, 50, 1);
  ck_assert_int_eq(fx.pEnv->xRename(fx.pEnv, fx.zT, fx.zC), LSM_OK);
  ck_assert_int_eq(disk_size(fx.zA), -1);
  ck_assert_int_eq(disk_size(fx.zB), 10);
  ck_assert_int_eq(disk_size(fx.zC), 50);

  faultenv_crash(fx.fe);
  ck_assert_int_eq(disk_size(fx.zA), 10);
  ck_assert_int_eq(disk_size(fx.zB), 20);
  ck_assert_int_eq(disk_size(fx.zC), 30);
  ck_assert_int_eq(disk_size(fx.zD), -1);
  ck_assert_int_eq(disk_size(fx.zT), -1);

  /* The same changes followed by a directory sync survive. */
  ck_assert_int_eq(fx.pEnv->xRename(fx.pEnv, fx.zA, fx.zB), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xUnlink(fx.pEnv, fx.zC), LSM_OK);
  make_file(fx.pEnv, fx.zD, 40, 1);
  ck_assert_int_eq(fx.pEnv->xSyncDir(fx.pEnv, fx.zDir), LSM_OK);
  faultenv_crash(fx.fe);
  ck_assert_int_eq(disk_size(fx.zA), -1);
  ck_assert_int_eq(disk_size(fx.zB), 10);
  ck_assert_int_eq(disk_size(fx.zC), -1);
  ck_assert_int_eq(disk_size(fx.zD), 40);

  /* With the directory model off, names are durable at once. */
  faultenv_set_dir_model(fx.fe, 0);
  make_file(fx.pEnv, fx.zA, 5, 1);
  faultenv_crash(fx.fe);
  ck_assert_int_eq(disk_size(fx.zA), 5);
}
END_TEST

START_TEST(faultenv_crash_works_over_the_memory_env){
  lsm_env *pMem = lsm_env_memory();
  faultenv *fe = faultenv_new(pMem);
  lsm_env *pEnv = faultenv_env(fe);
  lsm_file *pF;
  uint64_t nSize = 0;
  make_file(pEnv, "m/a", 10, 1);
  ck_assert_int_eq(pEnv->xSyncDir(pEnv, "m"), LSM_OK);
  ck_assert_int_eq(pEnv->xOpen(pEnv, "m/a", LSM_OPEN_APPEND, &pF), LSM_OK);
  ck_assert_int_eq(pEnv->xAppend(pF, "more", 4), LSM_OK);
  ck_assert_int_eq(pEnv->xClose(pF), LSM_OK);
  make_file(pEnv, "m/b", 10, 1);
  faultenv_crash(fe);
  ck_assert_int_eq(pMem->xOpen(pMem, "m/a", LSM_OPEN_READ, &pF), LSM_OK);
  ck_assert_int_eq(pMem->xSize(pF, &nSize), LSM_OK);
  ck_assert_uint_eq(nSize, 10);
  pMem->xClose(pF);
  ck_assert_int_ne(pMem->xOpen(pMem, "m/b", LSM_OPEN_READ, &pF), LSM_OK);
  faultenv_free(fe);
  lsm_env_memory_free(pMem);
}
END_TEST

/* An env without xMap (the in-database store's) stays without when
** wrapped: the engine then reads every block with xRead into its block
** cache, where the wrapper sees (and can fail) each read. */
START_TEST(faultenv_over_an_env_without_xmap_reads_blocks_with_xread){
  lsm_env *pMem = lsm_env_memory();     /* ours: xMap cleared in place */
  faultenv *fe;
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_batch *pBatch = NULL;
  char zKey[16];
  void *pVal = NULL;
  size_t nVal = 0;
  int i, rc;
  pMem->xMap = NULL;
  fe = faultenv_new(pMem);
  ck_assert(faultenv_env(fe)->xMap == NULL);
  lsm_options_default(&opt);
  opt.env = faultenv_env(fe);
  opt.hosted = 1;
  opt.background = 0;
  opt.sync = LSM_SYNC_OFF;
  opt.block_bytes = 256;
  ck_assert_int_eq(lsm_open("nomap", &opt, &pDb), LSM_OK);
  ck_assert_int_eq(lsm_batch_new(pDb, &pBatch), LSM_OK);
  for(i = 0; i < 2000; i++){
    snprintf(zKey, sizeof(zKey), "k%05d", i);
    ck_assert_int_eq(lsm_batch_put(pBatch, zKey, 6, zKey, 6), LSM_OK);
  }
  ck_assert_int_eq(lsm_write_at(pDb, pBatch, 1), LSM_OK);
  lsm_batch_free(pBatch);
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  ck_assert_int_eq(lsm_open("nomap", &opt, &pDb), LSM_OK);     /* an empty block cache */
  faultenv_reset_counts(fe);
  faultenv_fail(fe, FAULTENV_READ, 1, LSM_IOERR, 0);
  rc = lsm_get(pDb, NULL, "k01234", 6, &pVal, &nVal);
  ck_assert_int_eq(rc, LSM_IOERR);
  for(i = 0; i < 2000; i += 7){
    snprintf(zKey, sizeof(zKey), "k%05d", i);
    ck_assert_int_eq(lsm_get(pDb, NULL, zKey, 6, &pVal, &nVal), LSM_OK);
    ck_assert(nVal == 6 && memcmp(pVal, zKey, 6) == 0);
    lsm_free(pVal);
  }
  ck_assert_uint_gt(faultenv_count(fe, FAULTENV_READ), 10);
  ck_assert_uint_eq(faultenv_count(fe, FAULTENV_MAP), 0);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  faultenv_free(fe);
  lsm_env_memory_free(pMem);
}
END_TEST

typedef struct thread_arg { lsm_env *pEnv; int n; } thread_arg;

static void *alloc_loop(void *pArg){
  thread_arg *a = pArg;
  int i;
  for(i = 0; i < a->n; i++) env_free(a->pEnv, env_malloc(a->pEnv, 16));
  return NULL;
}

START_TEST(faultenv_counters_are_thread_safe){
  faultenv *fe = faultenv_new(NULL);
  pthread_t aThread[4];
  thread_arg arg;
  int i;
  arg.pEnv = faultenv_env(fe);
  arg.n = test_scale(20000);
  for(i = 0; i < 4; i++) pthread_create(&aThread[i], NULL, alloc_loop, &arg);
  for(i = 0; i < 4; i++) pthread_join(aThread[i], NULL);
  ck_assert_uint_eq(faultenv_count(fe, FAULTENV_ALLOC), 4 * (uint64_t)arg.n);
  faultenv_free(fe);
}
END_TEST

START_TEST(faultenv_counts_files_open_and_can_skip_syncs){
  lsm_file *pA, *pB;
  ck_assert_int_eq(fx.pEnv->xOpen(fx.pEnv, fx.zA, LSM_OPEN_WRITE, &pA), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xOpen(fx.pEnv, fx.zB, LSM_OPEN_WRITE, &pB), LSM_OK);
  ck_assert_int_eq(faultenv_files_open(fx.fe), 2);
  ck_assert_int_eq(fx.pEnv->xClose(pA), LSM_OK);
  ck_assert_int_eq(faultenv_files_open(fx.fe), 1);
  ck_assert_int_eq(faultenv_files_peak(fx.fe), 2);
  faultenv_reset_counts(fx.fe);
  ck_assert_int_eq(faultenv_files_peak(fx.fe), 1);
  /* Syncs off: counted, succeed, and make nothing durable (b's create
  ** was made durable while they were on; a's never was). */
  ck_assert_int_eq(fx.pEnv->xSyncDir(fx.pEnv, fx.zDir), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xUnlink(fx.pEnv, fx.zA), LSM_OK);
  faultenv_set_sync(fx.fe, 0);
  ck_assert_int_eq(fx.pEnv->xAppend(pB, "xyz", 3), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xSync(pB), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xSyncDir(fx.pEnv, fx.zDir), LSM_OK);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_SYNC), 1);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_SYNCDIR), 2);
  ck_assert_int_eq(fx.pEnv->xClose(pB), LSM_OK);
  ck_assert_int_eq(faultenv_files_open(fx.fe), 0);
  faultenv_crash(fx.fe);
  ck_assert_int_eq(disk_size(fx.zB), 0);          /* the unsynced bytes went */
  ck_assert_int_eq(disk_size(fx.zA), 0);          /* the unsynced unlink too */
}
END_TEST

/* A thread that creates one file through the env, then closes it. */
typedef struct open_arg {
  lsm_env *pEnv;                /* the env under test                 */
  char *zPath;                  /* the file to create                 */
  int rc;                       /* what xOpen returned                */
} open_arg;

static void *open_one(void *pArg){
  open_arg *a = pArg;
  lsm_file *pF = NULL;
  a->rc = a->pEnv->xOpen(a->pEnv, a->zPath, LSM_OPEN_WRITE, &pF);
  if( pF ) a->pEnv->xClose(pF);
  return NULL;
}

START_TEST(faultenv_holds_sstable_writers_until_released){
  open_arg aArg[3];
  pthread_t aThread[3];
  int i;
  static const char *azName[3] = { "a.sst", "b.sst", "c.log" };
  for(i = 0; i < 3; i++){
    aArg[i].pEnv = fx.pEnv;
    aArg[i].zPath = path_in(fx.zDir, azName[i]);
    aArg[i].rc = -1;
  }
  faultenv_hold(fx.fe, FAULTENV_HOLD_FIRST, 1);
  faultenv_hold(fx.fe, FAULTENV_HOLD_OTHERS, 0);
  /* The thread that made the env is never held, nor taken as the first. */
  make_file(fx.pEnv, aArg[0].zPath, 1, 0);
  ck_assert_int_eq(faultenv_first_writer_known(fx.fe), 0);
  /* The first other thread to write an .sst is held (once)... */
  ck_assert_int_eq(pthread_create(&aThread[0], NULL, open_one, &aArg[0]), 0);
  ck_assert_int_eq(faultenv_wait_held(fx.fe, FAULTENV_HOLD_FIRST), 1);
  ck_assert_int_eq(faultenv_first_writer_known(fx.fe), 1);
  /* ...a second one is one of the others... */
  ck_assert_int_eq(pthread_create(&aThread[1], NULL, open_one, &aArg[1]), 0);
  ck_assert_int_eq(faultenv_wait_held(fx.fe, FAULTENV_HOLD_OTHERS), 1);
  /* ...and a file that is not an .sst passes. */
  ck_assert_int_eq(pthread_create(&aThread[2], NULL, open_one, &aArg[2]), 0);
  ck_assert_int_eq(pthread_join(aThread[2], NULL), 0);
  ck_assert_int_eq(aArg[2].rc, LSM_OK);
  ck_assert_int_eq(aArg[0].rc, -1);
  ck_assert_int_eq(aArg[1].rc, -1);
  faultenv_release(fx.fe, FAULTENV_HOLD_OTHERS);
  ck_assert_int_eq(pthread_join(aThread[1], NULL), 0);
  ck_assert_int_eq(aArg[1].rc, LSM_OK);
  faultenv_release(fx.fe, FAULTENV_HOLD_FIRST);
  ck_assert_int_eq(pthread_join(aThread[0], NULL), 0);
  ck_assert_int_eq(aArg[0].rc, LSM_OK);
  ck_assert_int_eq(faultenv_hold_timed_out(fx.fe), 0);
  for(i = 0; i < 3; i++) free(aArg[i].zPath);
}
END_TEST

static Suite *faultenv_suite(void){
  Suite *s = suite_create("faultenv");
  TCase *tcDir = tcase_create("directory");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tcDir, setup, teardown);
  tcase_add_test(tcDir, faultenv_counts_calls_per_class);
  tcase_add_test(tcDir, faultenv_fails_the_nth_call);
  tcase_add_test(tcDir, faultenv_space_budget_fails_appends_with_full);
  tcase_add_test(tcDir, faultenv_crash_drops_unsynced_bytes);
  tcase_add_test(tcDir, faultenv_crash_undoes_name_changes_without_dir_sync);
  tcase_add_test(tcDir, faultenv_counts_files_open_and_can_skip_syncs);
  tcase_add_test(tcDir, faultenv_holds_sstable_writers_until_released);
  suite_add_tcase(s, tcDir);
  tcase_add_test(tc, faultenv_crash_works_over_the_memory_env);
  tcase_add_test(tc, faultenv_over_an_env_without_xmap_reads_blocks_with_xread);
  tcase_add_test(tc, faultenv_counters_are_thread_safe);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(faultenv_suite)
