/*
** test_symlinks.c — files the store creates are new files, never opened
** through a planted link (issue 9, item 6).
**
** New files used to be opened with O_CREAT|O_TRUNC and no O_EXCL or
** O_NOFOLLOW, so a symbolic link named like the next WAL, SSTable or
** MANIFEST.tmp, planted by anyone who can write the store directory, made
** the engine truncate and overwrite the file it pointed to.  Now every
** such file is created exclusively (LSM_OPEN_EXCL), MANIFEST.tmp is
** unlinked first (it may be a crash's leftover), and the lock file is
** never opened through a link.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env.h"
#include "filename.h"
#include "lsm.h"
#include "testutil.h"

#define VICTIM_TEXT "precious data that is not the store's\n"
#define N_PLANTED 40

static char *path_join(const char *zDir, const char *zName){
  char *z = malloc(strlen(zDir) + strlen(zName) + 2);
  sprintf(z, "%s/%s", zDir, zName);
  return z;
}

static void write_text(const char *zPath, const char *zText){
  FILE *f = fopen(zPath, "w");
  ck_assert_ptr_nonnull(f);
  fputs(zText, f);
  fclose(f);
}

static void expect_text(const char *zPath, const char *zText){
  char aBuf[256];
  size_t n;
  FILE *f = fopen(zPath, "r");
  ck_assert_ptr_nonnull(f);
  n = fread(aBuf, 1, sizeof(aBuf) - 1, f);
  fclose(f);
  aBuf[n] = 0;
  ck_assert_msg(strcmp(aBuf, zText) == 0, "%s was changed to \"%s\"", zPath, aBuf);
}

/* The largest file number in zDir. */
static uint64_t max_number(const char *zDir){
  lsm_env *pEnv = lsm_env_default();
  char **azName = NULL;
  int nName = 0, i;
  uint64_t iMax = 0;
  ck_assert_int_eq(pEnv->xListDir(pEnv, zDir, &azName, &nName), LSM_OK);
  for(i = 0; i < nName; i++){
    uint64_t iNum;
    if( filename_parse(azName[i], &iNum) && iNum > iMax ) iMax = iNum;
  }
  env_free(pEnv, azName);
  return iMax;
}

/* Plant (bRemove 0) or remove links named like the next files of zDir. */
static void planted_links(const char *zDir, uint64_t iFrom, const char *zTarget, int bRemove){
  static const int aType[] = { FILENAME_WAL, FILENAME_SST, FILENAME_TMP };
  uint64_t i;
  size_t j;
  for(i = iFrom; i < iFrom + N_PLANTED; i++){
    for(j = 0; j < sizeof(aType) / sizeof(aType[0]); j++){
      char zName[32], *zPath;
      filename_name(zName, aType[j], i);
      zPath = path_join(zDir, zName);
      if( bRemove ){
        unlink(zPath);
      }else{
        ck_assert_int_eq(symlink(zTarget, zPath), 0);
      }
      free(zPath);
    }
  }
  {
    char *zPath = path_join(zDir, "MANIFEST.tmp");
    if( bRemove ) unlink(zPath);
    else ck_assert_int_eq(symlink(zTarget, zPath), 0);
    free(zPath);
  }
}

/* Retry an operation that may fail while planted names are in the way
** (each failure uses up a file number). */
#define RETRY(expr) do{ int rc_, n_ = 0; \
  do{ rc_ = (expr); }while( rc_ != LSM_OK && ++n_ < 4 * N_PLANTED ); \
  ck_assert_msg(rc_ == LSM_OK, #expr ": %s", lsm_errmsg(NULL)); }while(0)

START_TEST(links_named_like_new_files_are_never_written_through){
  char *zBase = test_tmpdir("links");
  char *zDir = path_join(zBase, "store");
  char *zVictim = path_join(zBase, "victim.txt");
  lsm_options opt;
  lsm_db *pDb = NULL;
  uint64_t iFrom;
  model m = {0};
  int i, iRound;
  lsm_options_default(&opt);
  opt.memtable_bytes = 4096;
  write_text(zVictim, VICTIM_TEXT);

  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  iFrom = max_number(zDir) + 1;
  planted_links(zDir, iFrom, zVictim, 0);
  for(iRound = 0; iRound < 3; iRound++){
    for(i = 0; i < 200; i++){
      char zKey[32], zVal[64];
      int nKey = snprintf(zKey, sizeof(zKey), "key%05d", i);
      int nVal = snprintf(zVal, sizeof(zVal), "round %d value %d", iRound, i);
      RETRY(lsm_put(pDb, zKey, (size_t)nKey, zVal, (size_t)nVal));
      model_put(&m, zKey, (size_t)nKey, zVal, (size_t)nVal);
    }
    RETRY(lsm_flush(pDb));
    RETRY(lsm_compact(pDb, NULL));
  }
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  expect_text(zVictim, VICTIM_TEXT);

  /* Nothing of the store was lost on the way. */
  planted_links(zDir, iFrom, zVictim, 1);
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  test_store_equals_model(pDb, NULL, &m, test_seed());
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  expect_text(zVictim, VICTIM_TEXT);
  model_clear(&m);
  test_rmtree(zBase);
  free(zBase);
  free(zDir);
  free(zVictim);
}
END_TEST

START_TEST(lock_file_that_is_a_link_is_refused){
  char *zBase = test_tmpdir("links");
  char *zDir = path_join(zBase, "store");
  char *zTarget = path_join(zBase, "made-through-the-link");
  char *zLock = path_join(zDir, "LOCK");
  struct stat st;
  lsm_db *pDb = NULL;
  ck_assert_int_eq(mkdir(zDir, 0755), 0);
  ck_assert_int_eq(symlink(zTarget, zLock), 0);
  ck_assert_int_ne(lsm_open(zDir, NULL, &pDb), LSM_OK);
  ck_assert_ptr_null(pDb);
  ck_assert_msg(stat(zTarget, &st) != 0, "a file was created through the LOCK link");
  test_rmtree(zBase);
  free(zBase);
  free(zDir);
  free(zTarget);
  free(zLock);
}
END_TEST

START_TEST(leftover_manifest_tmp_does_not_block_the_store){
  char *zDir = test_tmpdir("links");
  char *zTmp = path_join(zDir, "MANIFEST.tmp");
  lsm_db *pDb = NULL;
  void *pVal = NULL;
  size_t nVal = 0;
  ck_assert_int_eq(lsm_open(zDir, NULL, &pDb), LSM_OK);
  ck_assert_int_eq(lsm_put(pDb, "a", 1, "1", 1), LSM_OK);
  write_text(zTmp, "half a manifest");          /* a crash's leftover */
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  write_text(zTmp, "half a manifest");
  ck_assert_int_eq(lsm_open(zDir, NULL, &pDb), LSM_OK);
  ck_assert_int_eq(lsm_get(pDb, NULL, "a", 1, &pVal, &nVal), LSM_OK);
  lsm_free(pVal);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  test_rmtree(zDir);
  free(zDir);
  free(zTmp);
}
END_TEST

static Suite *symlinks_suite(void){
  Suite *s = suite_create("symlinks");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, links_named_like_new_files_are_never_written_through);
  tcase_add_test(tc, lock_file_that_is_a_link_is_refused);
  tcase_add_test(tc, leftover_manifest_tmp_does_not_block_the_store);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(symlinks_suite)
