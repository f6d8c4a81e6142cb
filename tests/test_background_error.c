/*
** test_background_error.c — an error raised on a background thread (a
** flush or compaction that finds the disk full) reaches the caller that
** is told about it with its own message (issue 9, item 9): the message
** used to stay in the background thread's thread-local buffer, so SQL
** saw SQLITE_FULL with the text "not an error".
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultenv.h"
#include "lsm.h"
#include "testutil.h"

static void put_some(lsm_db *pDb, int iFirst, int n){
  int i;
  char zKey[32], zVal[64];
  for(i = iFirst; i < iFirst + n; i++){
    int nKey = snprintf(zKey, sizeof(zKey), "key%06d", i);
    int nVal = snprintf(zVal, sizeof(zVal), "value%06d", i);
    ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nKey, zVal, (size_t)nVal), LSM_OK);
  }
}

/* The message of a failure told to this thread names what failed. */
static void expect_carried_message(int rc, const char *zWhat){
  const char *zMsg = lsm_errmsg(NULL);
  ck_assert_int_eq(rc, LSM_FULL);
  ck_assert_msg(strstr(zMsg, "out of disk space") != NULL && strstr(zMsg, zWhat) != NULL,
                "message \"%s\" should carry the background thread's message", zMsg);
}

START_TEST(background_disk_full_reaches_the_caller_with_its_message){
  char *zDir = test_tmpdir("bgerr");
  faultenv *fe = faultenv_new(NULL);
  lsm_options opt;
  lsm_db *pDb = NULL;
  char zKey[32];
  int rc, nTry;
  lsm_options_default(&opt);
  opt.env = faultenv_env(fe);
  opt.background = 1;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  put_some(pDb, 0, 100);

  /* lsm_flush waits for the flush thread, which finds the disk full. */
  faultenv_set_space(fe, 0);
  rc = lsm_flush(pDb);
  expect_carried_message(rc, "flush");

  /* The next writer is told too (and the flush is retried). */
  snprintf(zKey, sizeof(zKey), "later");
  rc = lsm_put(pDb, zKey, 5, "x", 1);
  expect_carried_message(rc, "flush");

  /* Space is back: the store works again and nothing was lost. */
  faultenv_set_space(fe, UINT64_MAX);
  nTry = 0;
  do{ rc = lsm_flush(pDb); }while( rc != LSM_OK && ++nTry < 10 );
  ck_assert_msg(rc == LSM_OK, "lsm_flush: %s", lsm_errmsg(NULL));
  put_some(pDb, 100, 10);
  {
    void *pVal = NULL;
    size_t nVal = 0;
    ck_assert_int_eq(lsm_get(pDb, NULL, "key000050", 9, &pVal, &nVal), LSM_OK);
    ck_assert(nVal == 11 && memcmp(pVal, "value000050", 11) == 0);
    lsm_free(pVal);
  }
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  faultenv_free(fe);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

static Suite *background_error_suite(void){
  Suite *s = suite_create("background_error");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, background_disk_full_reaches_the_caller_with_its_message);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(background_error_suite)
