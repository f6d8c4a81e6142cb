/*
** test_filename.c — every store file name round-trips, and nothing else
** parses (cleanup at open must never touch a file the store did not make).
*/
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "filename.h"
#include "testutil.h"

START_TEST(filename_round_trips_every_type){
  static const int aType[] = { FILENAME_SST, FILENAME_WAL, FILENAME_MANIFEST,
                               FILENAME_MANIFEST_TMP, FILENAME_LOCK, FILENAME_TMP };
  static const uint64_t aNumber[] = { 0, 1, 42, 999999, 1000000, 123456789012ull, UINT64_MAX };
  size_t i, j;
  for(i = 0; i < sizeof(aType) / sizeof(aType[0]); i++){
    for(j = 0; j < sizeof(aNumber) / sizeof(aNumber[0]); j++){
      char zName[32];
      uint64_t iNumber = 7777;
      int bNumbered = aType[i] == FILENAME_SST || aType[i] == FILENAME_WAL || aType[i] == FILENAME_TMP;
      filename_name(zName, aType[i], aNumber[j]);
      ck_assert_int_eq(filename_parse(zName, &iNumber), aType[i]);
      ck_assert_uint_eq(iNumber, bNumbered ? aNumber[j] : 0);
    }
  }
}
END_TEST

START_TEST(filename_names_have_the_documented_form){
  char zName[32];
  filename_name(zName, FILENAME_SST, 12);
  ck_assert_str_eq(zName, "000012.sst");
  filename_name(zName, FILENAME_WAL, 3);
  ck_assert_str_eq(zName, "000003.wal");
  filename_name(zName, FILENAME_TMP, 1234567);
  ck_assert_str_eq(zName, "1234567.tmp");
  filename_name(zName, FILENAME_MANIFEST, 0);
  ck_assert_str_eq(zName, "MANIFEST");
  filename_name(zName, FILENAME_MANIFEST_TMP, 0);
  ck_assert_str_eq(zName, "MANIFEST.tmp");
  filename_name(zName, FILENAME_LOCK, 0);
  ck_assert_str_eq(zName, "LOCK");
}
END_TEST

START_TEST(filename_parse_rejects_foreign_names){
  static const char *azBad[] = {
    "", ".", "..", "12.sst", "00012.sst", "0000012.sst", "000012.SST", "000012.sst~",
    "000012.sst.bak", "+00012.sst", "-00012.sst", " 000012.sst", "000012 .sst",
    "000012", "000012.", ".sst", "abcdef.sst", "00001a.sst", "000012.log",
    "manifest", "MANIFEST.TMP", "MANIFEST~", "MANIFEST.tmp.tmp", "MANIFEST2",
    "LOCK.tmp", "lock", "LOCKS", "18446744073709551616.sst", "99999999999999999999.wal",
    "000012.wal/x", "dir/000012.sst",
  };
  size_t i;
  for(i = 0; i < sizeof(azBad) / sizeof(azBad[0]); i++){
    uint64_t iNumber = 0;
    ck_assert_msg(filename_parse(azBad[i], &iNumber) == 0, "accepted \"%s\"", azBad[i]);
  }
}
END_TEST

START_TEST(filename_path_joins_directory_and_name){
  lsm_env *pEnv = lsm_env_default();
  int rc = LSM_OK;
  char *z = filename_path(pEnv, "/tmp/store", FILENAME_SST, 5, &rc);
  ck_assert_int_eq(rc, LSM_OK);
  ck_assert_str_eq(z, "/tmp/store/000005.sst");
  env_free(pEnv, z);
  z = filename_path(pEnv, "d", FILENAME_MANIFEST, 0, &rc);
  ck_assert_str_eq(z, "d/MANIFEST");
  env_free(pEnv, z);
  rc = LSM_NOMEM;                                  /* sticky rc: does nothing */
  ck_assert_ptr_null(filename_path(pEnv, "d", FILENAME_LOCK, 0, &rc));
  ck_assert_int_eq(rc, LSM_NOMEM);
}
END_TEST

static Suite *filename_suite(void){
  Suite *s = suite_create("filename");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, filename_round_trips_every_type);
  tcase_add_test(tc, filename_names_have_the_documented_form);
  tcase_add_test(tc, filename_parse_rejects_foreign_names);
  tcase_add_test(tc, filename_path_joins_directory_and_name);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(filename_suite)
