/*
** test_env_memory.c — the in-memory env's own promises beyond the lsm_env
** contract every env keeps (lsm/env_memory.c): a file given room with
** env_memory_reserve takes appends up to that size in place, with its
** contents unchanged; reserving never shrinks or changes a file, and a
** missing file is an error.
*/
#include <string.h>

#include "env.h"
#include "testutil.h"

/* The bytes of zPath as the env maps them (borrowed). */
static const uint8_t *mapped(lsm_env *pEnv, lsm_file *pF, uint64_t *pn){
  const uint8_t *a = NULL;
  ck_assert_int_eq(pEnv->xMap(pF, &a, pn), LSM_OK);
  return a;
}

START_TEST(a_reserved_memory_file_takes_appends_in_place){
  lsm_env *pEnv = lsm_env_memory();
  lsm_file *pF = NULL;
  uint8_t aChunk[4000];
  const uint8_t *aFirst, *a;
  uint64_t n = 0;
  int i;
  ck_assert_ptr_nonnull(pEnv);
  ck_assert_int_eq(pEnv->xOpen(pEnv, "/d/t.sst", LSM_OPEN_WRITE | LSM_OPEN_EXCL, &pF), LSM_OK);
  memset(aChunk, 'a', sizeof(aChunk));
  ck_assert_int_eq(pEnv->xAppend(pF, aChunk, 100), LSM_OK);
  ck_assert_int_eq(env_memory_reserve(pEnv, "/d/t.sst", 1000 * sizeof(aChunk)), LSM_OK);
  aFirst = mapped(pEnv, pF, &n);
  ck_assert_uint_eq(n, 100);
  ck_assert(aFirst[0] == 'a' && aFirst[99] == 'a');
  /* Grown by doubling from 4 KiB, the buffer would move about ten times
  ** on the way to 4 MB. */
  for(i = 0; i < 999; i++){
    memset(aChunk, 'b' + i % 20, sizeof(aChunk));
    ck_assert_int_eq(pEnv->xAppend(pF, aChunk, sizeof(aChunk)), LSM_OK);
    a = mapped(pEnv, pF, &n);
    ck_assert_ptr_eq(a, aFirst);
  }
  ck_assert_uint_eq(n, 100 + 999 * sizeof(aChunk));
  ck_assert(a[99] == 'a' && a[100] == 'b' && a[n - 1] == 'b' + 998 % 20);
  /* A smaller reservation changes nothing. */
  ck_assert_int_eq(env_memory_reserve(pEnv, "/d/t.sst", 10), LSM_OK);
  a = mapped(pEnv, pF, &n);
  ck_assert_ptr_eq(a, aFirst);
  ck_assert_uint_eq(n, 100 + 999 * sizeof(aChunk));
  /* Past the reservation the file grows as before. */
  ck_assert_int_eq(pEnv->xAppend(pF, aChunk, sizeof(aChunk)), LSM_OK);
  ck_assert_int_eq(pEnv->xAppend(pF, aChunk, sizeof(aChunk)), LSM_OK);
  a = mapped(pEnv, pF, &n);
  ck_assert_uint_eq(n, 100 + 1001 * sizeof(aChunk));
  ck_assert(a[99] == 'a' && a[100] == 'b' && a[n - 1] == 'b' + 998 % 20);
  ck_assert_int_eq(pEnv->xClose(pF), LSM_OK);
  /* No such file. */
  ck_assert_int_eq(env_memory_reserve(pEnv, "/d/missing.sst", 4096), LSM_CANTOPEN);
  lsm_env_memory_free(pEnv);
}
END_TEST

static Suite *env_memory_suite(void){
  Suite *s = suite_create("env_memory");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, a_reserved_memory_file_takes_appends_in_place);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(env_memory_suite)
