/*
** test_store_dir.c — a store takes over nothing it did not make (issue 9,
** item 7): lsm_open and lsm_destroy leave a directory and files they did
** not create as they found them, and an open that fails changes nothing.
**
**   - an existing empty directory (even mode 1777) may become a store, but
**     lsm_destroy leaves the directory; a directory lsm_open made (it
**     writes MADEDIR in it) goes with the store;
**   - a directory whose only entry is a user's file named LOCK is not a
**     store: opening it fails and destroying it removes nothing;
**   - an open that fails on a foreign MANIFEST leaves no LOCK behind;
**   - an open that fails with no file descriptor left (EMFILE) leaves no
**     half-made directory, nor does any single failed I/O call;
**   - an lsm_destroy interrupted at any unlink leaves a store that a
**     second lsm_destroy removes.
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultenv.h"
#include "lsm.h"
#include "testutil.h"

static char *path_join(const char *zDir, const char *zName){
  char *z = malloc(strlen(zDir) + strlen(zName) + 2);
  sprintf(z, "%s/%s", zDir, zName);
  return z;
}

static int path_exists(const char *zPath){
  struct stat st;
  return lstat(zPath, &st) == 0;
}

/* The names in zDir, sorted, joined by spaces ("" if empty). */
static void dir_listing(const char *zDir, char *zOut, size_t nOut){
  struct dirent **aEnt = NULL;
  int n = scandir(zDir, &aEnt, NULL, alphasort), i;
  zOut[0] = 0;
  ck_assert_int_ge(n, 0);
  for(i = 0; i < n; i++){
    if( strcmp(aEnt[i]->d_name, ".") && strcmp(aEnt[i]->d_name, "..") ){
      if( zOut[0] ) strncat(zOut, " ", nOut - strlen(zOut) - 1);
      strncat(zOut, aEnt[i]->d_name, nOut - strlen(zOut) - 1);
    }
    free(aEnt[i]);
  }
  free(aEnt);
}

static void write_text(const char *zPath, const char *zText){
  FILE *f = fopen(zPath, "w");
  ck_assert_ptr_nonnull(f);
  fputs(zText, f);
  fclose(f);
}

static void put_and_close(const char *zDir){
  lsm_db *pDb = NULL;
  ck_assert_msg(lsm_open(zDir, NULL, &pDb) == LSM_OK, "lsm_open: %s", lsm_errmsg(NULL));
  ck_assert_int_eq(lsm_put(pDb, "k", 1, "v", 1), LSM_OK);
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
}

START_TEST(adopted_empty_directory_outlives_the_store){
  char *zBase = test_tmpdir("dir");
  char *zDir = path_join(zBase, "shared");
  char zList[256];
  struct stat st;
  ck_assert_int_eq(mkdir(zDir, 0777), 0);
  ck_assert_int_eq(chmod(zDir, 01777), 0);
  put_and_close(zDir);
  ck_assert_int_eq(lsm_destroy(zDir, NULL), LSM_OK);
  ck_assert_msg(path_exists(zDir), "lsm_destroy removed a directory it did not make");
  ck_assert_int_eq(stat(zDir, &st), 0);
  ck_assert_int_eq(st.st_mode & 07777, 01777);
  dir_listing(zDir, zList, sizeof(zList));
  ck_assert_str_eq(zList, "");
  test_rmtree(zBase);
  free(zBase);
  free(zDir);
}
END_TEST

START_TEST(directory_the_store_made_goes_with_it){
  char *zBase = test_tmpdir("dir");
  char *zDir = path_join(zBase, "store");
  put_and_close(zDir);
  ck_assert_int_eq(lsm_destroy(zDir, NULL), LSM_OK);
  ck_assert_msg(!path_exists(zDir), "the store's own directory was left");
  test_rmtree(zBase);
  free(zBase);
  free(zDir);
}
END_TEST

START_TEST(user_file_named_lock_is_not_a_store){
  char *zDir = test_tmpdir("dir");
  char *zLock = path_join(zDir, "LOCK");
  char zList[256];
  lsm_db *pDb = NULL;
  write_text(zLock, "a user's file\n");
  ck_assert_int_eq(lsm_open(zDir, NULL, &pDb), LSM_CANTOPEN);
  ck_assert_ptr_null(pDb);
  ck_assert_ptr_nonnull(strstr(lsm_errmsg(NULL), "not an lsm store"));
  ck_assert_int_eq(lsm_destroy(zDir, NULL), LSM_OK);
  dir_listing(zDir, zList, sizeof(zList));
  ck_assert_str_eq(zList, "LOCK");
  test_rmtree(zDir);
  free(zDir);
  free(zLock);
}
END_TEST

START_TEST(failed_open_on_a_foreign_manifest_leaves_no_lock){
  char *zDir = test_tmpdir("dir");
  char *zManifest = path_join(zDir, "MANIFEST");
  char zList[256];
  lsm_db *pDb = NULL;
  write_text(zManifest, "not this engine's manifest\n");
  ck_assert_int_eq(lsm_open(zDir, NULL, &pDb), LSM_CORRUPT);
  dir_listing(zDir, zList, sizeof(zList));
  ck_assert_str_eq(zList, "MANIFEST");
  test_rmtree(zDir);
  free(zDir);
  free(zManifest);
}
END_TEST

START_TEST(open_without_file_descriptors_leaves_no_directory){
  char *zBase = test_tmpdir("dir");
  char *zDir = path_join(zBase, "store");
  struct rlimit lim, limSaved;
  lsm_db *pDb = NULL;
  int fd, rc;
  /* No descriptor left: the limit is the lowest free one. */
  fd = dup(0);
  ck_assert_int_ge(fd, 0);
  close(fd);
  ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &lim), 0);
  limSaved = lim;
  lim.rlim_cur = (rlim_t)fd;
  ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
  rc = lsm_open(zDir, NULL, &pDb);
  ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &limSaved), 0);
  ck_assert_int_ne(rc, LSM_OK);
  ck_assert_msg(!path_exists(zDir), "a failed open left %s", zDir);
  test_rmtree(zBase);
  free(zBase);
  free(zDir);
}
END_TEST

/* Fail each I/O call of creating a store in turn: every failure leaves no
** directory (a new path) or the empty directory as it was (an adopted
** one); the sweep ends when an open succeeds. */
START_TEST(every_failed_creation_leaves_nothing){
  int bAdopt;
  for(bAdopt = 0; bAdopt < 2; bAdopt++){
    char *zBase = test_tmpdir("dir");
    char *zDir = path_join(zBase, "store");
    faultenv *fe = faultenv_new(NULL);
    lsm_options opt;
    uint64_t iNth;
    int rc = LSM_IOERR;
    lsm_options_default(&opt);
    opt.env = faultenv_env(fe);
    for(iNth = 1; rc != LSM_OK; iNth++){
      lsm_db *pDb = NULL;
      char zList[256];
      ck_assert(iNth < 200);
      if( bAdopt ) ck_assert_int_eq(mkdir(zDir, 0755), 0);
      faultenv_fail(fe, FAULTENV_ANY_IO, iNth, LSM_IOERR, 0);
      rc = lsm_open(zDir, &opt, &pDb);
      faultenv_fail_clear(fe);
      if( rc == LSM_OK ){
        ck_assert_int_eq(lsm_close(pDb), LSM_OK);
        break;
      }
      if( bAdopt ){
        dir_listing(zDir, zList, sizeof(zList));
        ck_assert_msg(zList[0] == 0, "call %llu failed: left \"%s\"",
                      (unsigned long long)iNth, zList);
        ck_assert_int_eq(rmdir(zDir), 0);
      }else{
        ck_assert_msg(!path_exists(zDir), "call %llu failed: left %s",
                      (unsigned long long)iNth, zDir);
      }
    }
    faultenv_free(fe);
    test_rmtree(zBase);
    free(zBase);
    free(zDir);
  }
}
END_TEST

/* Fail each unlink of lsm_destroy in turn (a crash there leaves the
** same): the store stays recognisable (MANIFEST and MADEDIR go last), so
** a second lsm_destroy removes the rest and the directory. */
START_TEST(every_interrupted_destroy_can_be_finished){
  uint64_t iNth;
  int rc = LSM_IOERR;
  for(iNth = 1; rc != LSM_OK; iNth++){
    char *zBase = test_tmpdir("dir");
    char *zDir = path_join(zBase, "store");
    faultenv *fe = faultenv_new(NULL);
    lsm_db *pDb = NULL;
    lsm_options opt;
    int i;
    ck_assert(iNth < 100);
    lsm_options_default(&opt);
    ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
    for(i = 0; i < 3; i++){
      char aKey[8];
      snprintf(aKey, sizeof(aKey), "k%d", i);
      ck_assert_int_eq(lsm_put(pDb, aKey, strlen(aKey), "v", 1), LSM_OK);
      ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
    }
    ck_assert_int_eq(lsm_close(pDb), LSM_OK);
    faultenv_fail(fe, FAULTENV_UNLINK, iNth, LSM_IOERR, 0);
    rc = lsm_destroy(zDir, faultenv_env(fe));
    faultenv_fail_clear(fe);
    if( rc != LSM_OK ){
      ck_assert_int_eq(lsm_destroy(zDir, NULL), LSM_OK);
      ck_assert_msg(!path_exists(zDir), "unlink %llu failed: a second lsm_destroy left %s",
                    (unsigned long long)iNth, zDir);
    }
    faultenv_free(fe);
    test_rmtree(zBase);
    free(zBase);
    free(zDir);
  }
}
END_TEST

static Suite *store_dir_suite(void){
  Suite *s = suite_create("store_dir");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, adopted_empty_directory_outlives_the_store);
  tcase_add_test(tc, directory_the_store_made_goes_with_it);
  tcase_add_test(tc, user_file_named_lock_is_not_a_store);
  tcase_add_test(tc, failed_open_on_a_foreign_manifest_leaves_no_lock);
  tcase_add_test(tc, open_without_file_descriptors_leaves_no_directory);
  tcase_add_test(tc, every_failed_creation_leaves_nothing);
  tcase_add_test(tc, every_interrupted_destroy_can_be_finished);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(store_dir_suite)
