/*
** test_shared_options.c — several tables sharing one store get the
** durability each asked for (issue 9, item 8).
**
** The first table to open a store set its options: a second table on the
** same store asking sync=full silently ran with the first one's sync=off
** (0 fsyncs measured).  Now the strongest sync= asked by any table wins
** for the shared WAL (lsm_raise_sync), and a table asking another
** compaction= than the store is open with is an error naming both.
**
** The syncs are counted by faultenv, given to the engine as the env of
** both tables' options (the registry is called directly, as vtab.c does).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ext_test_api.h"
#include "faultenv.h"
#include "lsm.h"
#include "testutil.h"

static void put_n(lsm_db *pDb, int iFirst, int n){
  int i;
  char zKey[32];
  for(i = iFirst; i < iFirst + n; i++){
    int nKey = snprintf(zKey, sizeof(zKey), "key%05d", i);
    ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nKey, "v", 1), LSM_OK);
  }
}

START_TEST(raise_sync_makes_every_later_commit_as_durable){
  char *zDir = test_tmpdir("shared");
  faultenv *fe = faultenv_new(NULL);
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_options_default(&opt);
  opt.env = faultenv_env(fe);
  opt.sync = LSM_SYNC_OFF;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  faultenv_reset_counts(fe);
  put_n(pDb, 0, 10);
  ck_assert_uint_eq(faultenv_count(fe, FAULTENV_SYNC), 0);
  ck_assert_int_eq(lsm_raise_sync(pDb, LSM_SYNC_FULL), LSM_OK);
  put_n(pDb, 10, 10);
  ck_assert_uint_eq(faultenv_count(fe, FAULTENV_SYNC), 10);
  /* Never weakened. */
  ck_assert_int_eq(lsm_raise_sync(pDb, LSM_SYNC_OFF), LSM_OK);
  put_n(pDb, 20, 5);
  ck_assert_uint_eq(faultenv_count(fe, FAULTENV_SYNC), 15);
  ck_assert_int_eq(lsm_raise_sync(pDb, 7), LSM_MISUSE);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  faultenv_free(fe);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

START_TEST(second_table_asking_sync_full_is_synced){
  char *zDir = test_tmpdir("shared");
  faultenv *fe = faultenv_new(NULL);
  lsm_options optOff, optFull;
  lsm_db *pA = NULL, *pB = NULL;
  char *zErr = NULL;
  ext_test_api_init();
  lsm_options_default(&optOff);
  optOff.env = faultenv_env(fe);
  optOff.sync = LSM_SYNC_OFF;
  optFull = optOff;
  optFull.sync = LSM_SYNC_FULL;
  ck_assert_int_eq(registry_open(zDir, &optOff, 0, &pA, &zErr), SQLITE_OK);
  ck_assert_int_eq(registry_open(zDir, &optFull, 0, &pB, &zErr), SQLITE_OK);
  ck_assert_ptr_eq(pA, pB);
  faultenv_reset_counts(fe);
  put_n(pB, 0, 10);
  ck_assert_msg(faultenv_count(fe, FAULTENV_SYNC) == 10,
                "sync=full table: %llu fsyncs for 10 commits",
                (unsigned long long)faultenv_count(fe, FAULTENV_SYNC));
  registry_close(pB);
  registry_close(pA);
  faultenv_free(fe);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

START_TEST(conflicting_compaction_is_an_error_naming_both){
  char *zDir = test_tmpdir("shared");
  lsm_options optLeveled, optTiered;
  lsm_db *pA = NULL, *pB = NULL;
  char *zErr = NULL;
  ext_test_api_init();
  lsm_options_default(&optLeveled);
  optTiered = optLeveled;
  optTiered.compaction = LSM_COMPACTION_TIERED;
  ck_assert_int_eq(registry_open(zDir, &optLeveled, 0, &pA, &zErr), SQLITE_OK);
  ck_assert_int_eq(registry_open(zDir, &optTiered, 0, &pB, &zErr), SQLITE_ERROR);
  ck_assert_ptr_null(pB);
  ck_assert_ptr_nonnull(zErr);
  ck_assert_msg(strstr(zErr, "compaction=leveled") && strstr(zErr, "compaction=tiered"),
                "message \"%s\" should name both", zErr);
  sqlite3_free(zErr);
  registry_close(pA);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

static Suite *shared_options_suite(void){
  Suite *s = suite_create("shared_options");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, raise_sync_makes_every_later_commit_as_durable);
  tcase_add_test(tc, second_table_asking_sync_full_is_synced);
  tcase_add_test(tc, conflicting_compaction_is_an_error_naming_both);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(shared_options_suite)
