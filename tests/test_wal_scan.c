/*
** test_wal_scan.c — the search for a valid record after a bad one is
** bounded (issue 9, item 10).
**
** After a bad record in a log whose tail may be torn, replay searches
** every later byte offset for a valid record.  Version 1 records had one
** checksum over header and payload, so every offset whose length and
** type bytes looked plausible cost a hash of up to 1 MiB: user values
** made of a repeating fake header, plus one damaged record header, made
** an open take 23 s.  Version 2 checks a 13-byte header checksum first.
** The crafted log here took version 1 about 10 s per MiB searched; the
** test case's timeout fails it if the search is not bounded.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "env.h"
#include "error.h"
#include "testutil.h"
#include "wal.h"

#define REC_BYTES   ((1u << 20) - 64)   /* one fragment each */
#define N_REC       4
#define WAL_FILE_HDR 64
#define WAL_REC_HDR  16

static int count_record(void *pCtx, uint64_t seq, const uint8_t *p, size_t n){
  (void)seq; (void)p; (void)n;
  (*(int*)pCtx)++;
  return LSM_OK;
}

START_TEST(crafted_values_do_not_slow_the_search_after_a_bad_record){
  char *zDir = test_tmpdir("walscan");
  char zPath[4200];
  lsm_env *pEnv = lsm_env_memory();
  wal_writer *w = NULL;
  uint8_t *aVal = malloc(REC_BYTES), *a = NULL;
  size_t i, n = 0;
  lsm_file *pFile = NULL;
  int iRec, nRec = 0, bTorn = 0;

  snprintf(zPath, sizeof(zPath), "%s/000001.wal", zDir);
  /* Every 4 bytes a plausible header: length 0x0f0001 (under 1 MiB),
  ** type 1 (FULL). */
  for(i = 0; i < REC_BYTES; i++){
    static const uint8_t aUnit[4] = { 0x01, 0x00, 0x0f, 0x01 };
    aVal[i] = aUnit[i % 4];
  }
  ck_assert_int_eq(wal_writer_open(pEnv, zPath, LSM_SYNC_NORMAL, 1, NULL, &w), LSM_OK);
  for(iRec = 0; iRec < N_REC; iRec++){
    ck_assert_int_eq(wal_writer_add(w, 1 + (uint64_t)iRec, aVal, REC_BYTES), LSM_OK);
    ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  }
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);

  /* Damage the seq of the first N_REC - 1 record headers: the search
  ** runs over 3 MiB of crafted values to the last record. */
  ck_assert_int_eq(env_read_file(pEnv, zPath, &a, &n), LSM_OK);
  for(iRec = 0; iRec < N_REC - 1; iRec++){
    a[WAL_FILE_HDR + (size_t)iRec * (WAL_REC_HDR + REC_BYTES) + 6] ^= 0x40;
  }
  ck_assert_int_eq(pEnv->xOpen(pEnv, zPath, LSM_OPEN_WRITE, &pFile), LSM_OK);
  ck_assert_int_eq(pEnv->xAppend(pFile, a, n), LSM_OK);
  ck_assert_int_eq(pEnv->xClose(pFile), LSM_OK);

  error_clear();
  ck_assert_int_eq(wal_replay(pEnv, zPath, 1, count_record, &nRec, &bTorn), LSM_CORRUPT);
  ck_assert_int_eq(nRec, 0);
  ck_assert_ptr_nonnull(strstr(error_message(), "followed by a valid record"));

  env_free(pEnv, a);
  free(aVal);
  lsm_env_memory_free(pEnv);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

static Suite *wal_scan_suite(void){
  Suite *s = suite_create("wal_scan");
  TCase *tc = tcase_create("bounded");
  tcase_set_timeout(tc, 10);
  tcase_add_test(tc, crafted_values_do_not_slow_the_search_after_a_bad_record);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(wal_scan_suite)
