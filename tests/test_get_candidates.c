/*
** test_get_candidates.c — a point get over several tables (lsm/version.c,
** version_get): the candidate tables' readers are taken together, under
** one lock of the table cache, and what each reads first is fetched
** before the first is asked.  What must not change is the answer:
**
**   - a get that has more candidates than TABLE_READERS_MAX (a level 0
**     far behind, as a hosted store's may be) still asks every one of
**     them, newest first, and finds a key that only the oldest holds;
**   - a candidate whose reader the table cache has closed is opened when
**     asked (table_readers_if_open gave NULL for it), and its answer is
**     the same.
**
** Seeded (LSM_TEST_SEED); the seed is printed on failure.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm.h"
#include "testutil.h"

#define L0_TABLES 40            /* more than TABLE_READERS_MAX (32)     */
#define L0_KEYS 200             /* "k%04d"; key k is in tables 0 .. k % L0_TABLES */

static int key_of(char *z, size_t n, int k){ return snprintf(z, n, "k%04d", k); }

/* Table j holds every key whose k % L0_TABLES >= j, valued "k..-vj": the
** newest version of key k is in table k % L0_TABLES, the oldest table
** holds only the keys of remainder 0, and every table's range is nearly
** the whole key space, so every table is a candidate of every get. */
static void level0_write_tables(lsm_db *pDb){
  uint64_t iSeq = 1;
  int j, k;
  for(j = 0; j < L0_TABLES; j++){
    lsm_batch *pBatch = NULL;
    int n = 0;
    ck_assert_int_eq(lsm_batch_new(pDb, &pBatch), LSM_OK);
    for(k = 0; k < L0_KEYS; k++){
      char zKey[16], zVal[32];
      int nKey, nVal;
      if( k % L0_TABLES < j ) continue;
      nKey = key_of(zKey, sizeof(zKey), k);
      nVal = snprintf(zVal, sizeof(zVal), "%s-v%d", zKey, j);
      ck_assert_int_eq(lsm_batch_put(pBatch, zKey, (size_t)nKey, zVal, (size_t)nVal), LSM_OK);
      n++;
    }
    ck_assert_int_eq(lsm_write_at(pDb, pBatch, iSeq), LSM_OK);
    iSeq += (uint64_t)n;
    lsm_batch_free(pBatch);
    ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  }
}

START_TEST(a_get_asks_every_level0_table_past_the_readers_taken_at_once){
  int bMapped;
  for(bMapped = 0; bMapped < 2; bMapped++){
    lsm_env *pMem = lsm_env_memory();
    lsm_options opt;
    lsm_stats st;
    lsm_db *pDb = NULL;
    int k;
    if( !bMapped ) pMem->xMap = NULL;         /* readers read with xRead */
    lsm_options_default(&opt);
    opt.env = pMem;
    opt.hosted = 1;                           /* no compaction unless asked */
    opt.background = 0;
    opt.sync = LSM_SYNC_OFF;
    ck_assert_int_eq(lsm_open("l0deep", &opt, &pDb), LSM_OK);
    level0_write_tables(pDb);
    ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
    ck_assert_msg(st.aLevel[0].nFiles == L0_TABLES, "level 0 holds %llu tables, expected %d",
                  (unsigned long long)st.aLevel[0].nFiles, L0_TABLES);
    for(k = 0; k < L0_KEYS; k++){
      char zKey[16], zWant[32];
      void *pVal = NULL;
      size_t nVal = 0;
      int nKey = key_of(zKey, sizeof(zKey), k);
      int nWant = snprintf(zWant, sizeof(zWant), "%s-v%d", zKey, k % L0_TABLES);
      int rc = lsm_get(pDb, NULL, zKey, (size_t)nKey, &pVal, &nVal);
      ck_assert_msg(rc == LSM_OK, "%s: key %s (newest in table %d of %d): rc %d",
                    bMapped ? "mapped" : "read", zKey, k % L0_TABLES, L0_TABLES, rc);
      ck_assert_msg(nVal == (size_t)nWant && memcmp(pVal, zWant, nVal) == 0,
                    "%s: key %s: got %.*s, expected %s", bMapped ? "mapped" : "read", zKey,
                    (int)nVal, (const char*)pVal, zWant);
      lsm_free(pVal);
    }
    {
      void *pVal = NULL;
      size_t nVal = 0;
      ck_assert_int_eq(lsm_get(pDb, NULL, "k9999", 5, &pVal, &nVal), LSM_NOTFOUND);
    }
    ck_assert_int_eq(lsm_close(pDb), LSM_OK);
    lsm_env_memory_free(pMem);
  }
}
END_TEST

/* A store of several levels whose table cache keeps one reader: nearly
** every candidate of a get is closed when the get starts. */
START_TEST(a_get_opens_the_candidates_the_table_cache_has_closed){
  const unsigned long long seed = test_seed();
  lsm_env *pMem = lsm_env_memory();
  lsm_options opt;
  lsm_stats st;
  lsm_db *pDb = NULL;
  model m = {0};
  test_rng r;
  int i, nLevels = 0;
  rng_init(&r, seed);
  lsm_options_default(&opt);
  opt.env = pMem;
  opt.background = 0;
  opt.sync = LSM_SYNC_OFF;
  opt.memtable_bytes = 64 * 1024;
  opt.block_bytes = 512;
  opt.table_cache_bytes = 0;               /* only the table last opened */
  ck_assert_int_eq(lsm_open("closed", &opt, &pDb), LSM_OK);
  for(i = 0; i < 30000; i++){
    char zKey[16], zVal[24];
    int k = (int)rng_below(&r, 12000);
    int nKey = snprintf(zKey, sizeof(zKey), "c%06d", k);
    int nVal = snprintf(zVal, sizeof(zVal), "%d-%d", k, i);
    ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nKey, zVal, (size_t)nVal), LSM_OK);
    model_put(&m, zKey, (size_t)nKey, zVal, (size_t)nVal);
  }
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  for(i = 0; i < LSM_MAX_LEVELS; i++) nLevels += st.aLevel[i].nFiles > 0;
  SEED_ASSERT(nLevels >= 2, "the store holds %d levels of tables, expected at least 2", seed,
              nLevels);
  for(i = 0; i < 12000; i++){
    char zKey[16];
    void *pVal = NULL;
    size_t nVal = 0;
    int nKey = snprintf(zKey, sizeof(zKey), "c%06d", i);
    const model_entry *e = model_get(&m, zKey, (size_t)nKey);
    int rc = lsm_get(pDb, NULL, zKey, (size_t)nKey, &pVal, &nVal);
    if( e ){
      SEED_ASSERT(rc == LSM_OK && nVal == e->nVal && memcmp(pVal, e->pVal, nVal) == 0,
                  "key %s: rc %d, got %.*s", seed, zKey, rc, (int)nVal,
                  pVal ? (const char*)pVal : "");
    }else{
      SEED_ASSERT(rc == LSM_NOTFOUND, "key %s was never put: rc %d", seed, zKey, rc);
    }
    lsm_free(pVal);
  }
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  model_clear(&m);
  lsm_env_memory_free(pMem);
}
END_TEST

static Suite *get_candidates_suite(void){
  Suite *s = suite_create("get_candidates");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, a_get_asks_every_level0_table_past_the_readers_taken_at_once);
  tcase_add_test(tc, a_get_opens_the_candidates_the_table_cache_has_closed);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(get_candidates_suite)
