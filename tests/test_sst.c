/*
** test_sst.c — SSTables written and read back against a sorted array of
** internal keys, and every kind of damage reported as LSM_CORRUPT.
**
** The reference is a plain array of (internal key, value) sorted by
** ikey_compare.  A get of user key U at snapshot S must return the first
** entry >= (U, S) if its user key is U; iteration forward, backward, from
** any seek and on random next/prev walks must visit exactly the array.
** Tables are written with the POSIX env into a temp directory and with
** the in-memory env.  Corruption tests flip bytes in each region of the
** file (found through the footer), truncate it, or flip every byte of a
** small table in turn: open, get, iterate or check must then report
** LSM_CORRUPT, and nothing may ever return wrong data.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "env.h"
#include "error.h"
#include "faultenv.h"
#include "ikey.h"
#include "lsm.h"
#include "sst_format.h"
#include "sst_reader.h"
#include "sst_writer.h"
#include "testutil.h"

/* ck_assert reports every passing check to the Check parent through a
** pipe; loops use this instead, which costs nothing until it fails. */
#define LOOP_ASSERT(c) do{ if( !(c) ) ck_abort_msg("line %d: %s", __LINE__, #c); }while(0)

/* ---- reference: internal keys with values, sorted ---- */
typedef struct tent { uint8_t *pKey; size_t nKey; uint8_t *pVal; size_t nVal; } tent;
typedef struct tset { tent *a; size_t n, nAlloc; } tset;

static void tset_add(tset *p, const uint8_t *pUser, size_t nUser, uint64_t seq, int type,
                     const uint8_t *pVal, size_t nVal){
  tent *e;
  if( p->n == p->nAlloc ){
    p->nAlloc = p->nAlloc ? p->nAlloc * 2 : 64;
    p->a = realloc(p->a, p->nAlloc * sizeof(tent));
  }
  e = &p->a[p->n++];
  e->nKey = nUser + IKEY_TRAILER;
  e->pKey = malloc(e->nKey);
  ikey_build(e->pKey, pUser, nUser, seq, type);
  e->nVal = nVal;
  e->pVal = malloc(nVal ? nVal : 1);
  if( nVal ) memcpy(e->pVal, pVal, nVal);
}

static int tent_cmp(const void *a, const void *b){
  const tent *x = a, *y = b;
  return ikey_compare(x->pKey, x->nKey, y->pKey, y->nKey);
}

static void tset_sort(tset *p){ qsort(p->a, p->n, sizeof(tent), tent_cmp); }

static void tset_free(tset *p){
  size_t i;
  for(i = 0; i < p->n; i++){ free(p->a[i].pKey); free(p->a[i].pVal); }
  free(p->a);
  memset(p, 0, sizeof(*p));
}

static size_t tset_lower(const tset *p, const uint8_t *pK, size_t nK){
  size_t lo = 0, hi = p->n;
  while( lo < hi ){
    size_t mid = (lo + hi) / 2;
    if( ikey_compare(p->a[mid].pKey, p->a[mid].nKey, pK, nK) < 0 ) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Index of the entry a get of (pU, maxSeq) must return, or p->n. */
static size_t tset_get(const tset *p, const uint8_t *pU, size_t nU, uint64_t maxSeq){
  uint8_t *aT = malloc(nU + IKEY_TRAILER);
  size_t j;
  ikey_build(aT, pU, nU, maxSeq, IKEY_VALUE);
  j = tset_lower(p, aT, nU + IKEY_TRAILER);
  free(aT);
  if( j < p->n && ikey_compare_user(p->a[j].pKey, p->a[j].nKey - IKEY_TRAILER, pU, nU) == 0 ) return j;
  return p->n;
}

/* A random user key: a few shared prefixes, then random bytes. */
static size_t rand_user(test_rng *r, uint8_t *p, size_t nMax){
  static const char *azPre[] = {"", "user", "user0", "item:", "\xff\xff"};
  const char *zPre = azPre[rng_below(r, 5)];
  size_t nPre = strlen(zPre), n, i;
  if( nPre > nMax ) nPre = nMax;
  memcpy(p, zPre, nPre);
  n = nPre + (size_t)rng_below(r, nMax - nPre + 1);
  for(i = nPre; i < n; i++) p[i] = (uint8_t)("abcd\x00\xff"[rng_below(r, 6)]);
  return n;
}

/* Random entries: nUser user keys, 1..nVer versions each, tombstones. */
static void tset_random(tset *p, test_rng *r, int nUser, int nVer, size_t nKeyMax, size_t nValMax){
  uint8_t *aUser = malloc(nKeyMax + 1), *aVal = malloc(nValMax + 1);
  uint64_t seq = 1;
  int i, j;
  for(i = 0; i < nUser; i++){
    size_t nU = rand_user(r, aUser, nKeyMax);
    int nV = 1 + (int)rng_below(r, (uint64_t)nVer);
    for(j = 0; j < nV; j++){
      size_t nVal = (size_t)rng_below(r, nValMax + 1), k;
      int type = rng_below(r, 5) == 0 ? IKEY_DELETE : IKEY_VALUE;
      seq += 1 + rng_below(r, 3);
      if( type == IKEY_DELETE ) nVal = 0;
      for(k = 0; k < nVal; k++) aVal[k] = (uint8_t)(seq + k * 7);
      tset_add(p, aUser, nU, seq, type, aVal, nVal);
    }
  }
  tset_sort(p);
  free(aUser);
  free(aVal);
}

/* ---- writing and reading tables ---- */

static int write_table(lsm_env *pEnv, const char *zPath, const tset *p, int nBlock, int nBloom,
                       sst_meta *pMeta){
  sst_options opt;
  sst_writer *w = NULL;
  size_t i;
  int rc;
  opt.block_bytes = nBlock;
  opt.bloom_bits = nBloom;
  pEnv->xUnlink(pEnv, zPath);       /* tables are created exclusively */
  rc = sst_writer_open(pEnv, zPath, &opt, &w);
  for(i = 0; rc == LSM_OK && i < p->n; i++){
    rc = sst_writer_add(w, p->a[i].pKey, p->a[i].nKey, p->a[i].pVal, p->a[i].nVal);
    if( rc == LSM_OK ) LOOP_ASSERT((sst_writer_entries(w)) == (i + 1));
  }
  if( w && rc == LSM_OK ) return sst_writer_finish(w, pMeta);
  sst_writer_abandon(w);
  return rc;
}

static void assert_at(iter *it, const tset *p, size_t i, unsigned long long seed){
  size_t nK, nV;
  const uint8_t *pK, *pV;
  SEED_ASSERT(iter_valid(it), "not valid at entry %zu of %zu (status %d)", seed, i, p->n,
              iter_status(it));
  pK = iter_key(it, &nK);
  pV = iter_value(it, &nV);
  SEED_ASSERT(nK == p->a[i].nKey && memcmp(pK, p->a[i].pKey, nK) == 0, "key %zu differs", seed, i);
  SEED_ASSERT(nV == p->a[i].nVal && (nV == 0 || memcmp(pV, p->a[i].pVal, nV) == 0),
              "value %zu differs", seed, i);
}

/* Every read path of pReader against p. */
static void compare_reader(sst_reader *pReader, const tset *p, test_rng *r, int nOps,
                           unsigned long long seed){
  size_t i, nK;
  int k, rc = LSM_OK;
  iter *it = sst_reader_iter(pReader, &rc);
  const uint8_t *pK;
  uint8_t *aU = malloc(70000), *aT = malloc(70000 + IKEY_TRAILER);

  ck_assert_ptr_nonnull(it);
  ck_assert_uint_eq(sst_reader_entries(pReader), p->n);
  pK = sst_reader_smallest(pReader, &nK);
  if( p->n ) ck_assert(nK == p->a[0].nKey && memcmp(pK, p->a[0].pKey, nK) == 0);
  else ck_assert_uint_eq(nK, 0);
  pK = sst_reader_largest(pReader, &nK);
  if( p->n ) ck_assert(nK == p->a[p->n - 1].nKey && memcmp(pK, p->a[p->n - 1].pKey, nK) == 0);
  else ck_assert_uint_eq(nK, 0);

  iter_first(it);
  for(i = 0; i < p->n; i++){ assert_at(it, p, i, seed); iter_next(it); }
  SEED_ASSERT(!iter_valid(it), "valid past the end", seed);
  iter_last(it);
  for(i = p->n; i-- > 0; ){ assert_at(it, p, i, seed); iter_prev(it); }
  SEED_ASSERT(!iter_valid(it), "valid before the start", seed);

  for(k = 0; k < nOps; k++){
    size_t nT, j;
    int s;
    if( p->n && rng_below(r, 2) ){
      const tent *e = &p->a[rng_below(r, p->n)];
      memcpy(aT, e->pKey, e->nKey);
      nT = e->nKey;
      if( rng_below(r, 2) ) coding_put64(aT + nT - IKEY_TRAILER, rng_next(r) >> 1);
    }else{
      size_t nU = rand_user(r, aU, 12);
      nT = (size_t)(ikey_build(aT, aU, nU, rng_below(r, 5000), (int)rng_below(r, 2)) - aT);
    }
    j = tset_lower(p, aT, nT);
    iter_seek(it, aT, nT);
    if( j == p->n ){
      SEED_ASSERT(!iter_valid(it), "seek past the end is valid", seed);
      continue;
    }
    assert_at(it, p, j, seed);
    for(s = 0; s < 40 && iter_valid(it); s++){
      if( rng_below(r, 3) ){
        iter_next(it);
        if( ++j == p->n ) break;
      }else{
        iter_prev(it);
        if( j-- == 0 ) break;
      }
      assert_at(it, p, j, seed);
    }
    if( s < 40 ) SEED_ASSERT(!iter_valid(it), "valid off an end", seed);
  }
  ck_assert_int_eq(iter_status(it), LSM_OK);
  iter_close(it);

  for(k = 0; k < nOps; k++){
    size_t nU, j, nVal = 0;
    uint64_t maxSeq = rng_below(r, 5000);
    const uint8_t *pVal = NULL;
    int bFound = 0, type = -1;
    if( p->n && rng_below(r, 3) ){
      const tent *e = &p->a[rng_below(r, p->n)];
      nU = e->nKey - IKEY_TRAILER;
      memcpy(aU, e->pKey, nU);
      if( rng_below(r, 2) ) maxSeq = ikey_seq(e->pKey, e->nKey);
      else if( rng_below(r, 2) ) maxSeq = IKEY_MAX_SEQ;
    }else{
      nU = rand_user(r, aU, 12);
    }
    j = tset_get(p, aU, nU, maxSeq);
    rc = sst_reader_get(pReader, aU, nU, maxSeq, &bFound, &type, &pVal, &nVal, NULL);
    SEED_ASSERT(rc == LSM_OK, "get rc %d", seed, rc);
    SEED_ASSERT(bFound == (j < p->n), "get %d: found %d", seed, k, bFound);
    if( bFound ){
      SEED_ASSERT(type == ikey_type(p->a[j].pKey, p->a[j].nKey), "get: wrong type", seed);
      SEED_ASSERT(nVal == p->a[j].nVal && (nVal == 0 || memcmp(pVal, p->a[j].pVal, nVal) == 0),
                  "get: wrong value", seed);
    }
  }
  ck_assert_int_eq(sst_reader_check(pReader), LSM_OK);
  free(aU);
  free(aT);
}

/* Write p, open it, compare, close. */
static void round_trip(lsm_env *pEnv, const char *zPath, const tset *p, int nBlock, int nBloom,
                       test_rng *r, int nOps, unsigned long long seed){
  sst_meta meta;
  sst_reader *pReader = NULL;
  int rc = write_table(pEnv, zPath, p, nBlock, nBloom, &meta);
  SEED_ASSERT(rc == LSM_OK, "write rc %d: %s", seed, rc, lsm_errmsg(NULL));
  ck_assert_uint_eq(meta.nEntries, p->n);
  rc = sst_reader_open(pEnv, zPath, &pReader);
  SEED_ASSERT(rc == LSM_OK, "open rc %d: %s", seed, rc, lsm_errmsg(NULL));
  ck_assert_uint_eq(sst_reader_file_bytes(pReader), meta.nFileBytes);
  ck_assert_uint_eq(sst_reader_tombstones(pReader), meta.nTombstones);
  compare_reader(pReader, p, r, nOps, seed);
  sst_reader_unref(pReader);
  sst_meta_clear(pEnv, &meta);
}

static char *sst_path(const char *zDir, const char *zName){
  char *z = malloc(strlen(zDir) + strlen(zName) + 2);
  sprintf(z, "%s/%s", zDir, zName);
  return z;
}

/* ---- model tests ---- */

START_TEST(sst_random_tables_match_the_model)
{
  unsigned long long seed = test_seed();
  char *zDir = test_tmpdir("sst");
  char *zPath = sst_path(zDir, "000001.sst");
  static const int aBlock[] = {64, 256, 1024, 4096};
  test_rng r;
  int round;
  rng_init(&r, seed);
  for(round = 0; round < test_scale(24); round++){
    tset t = {0};
    tset_random(&t, &r, 1 + (int)rng_below(&r, 2000), 1 + (int)rng_below(&r, 4),
                1 + rng_below(&r, 30), rng_below(&r, 2) ? 16 : 300);
    round_trip(lsm_env_default(), zPath, &t, aBlock[round % 4], round % 3 ? 10 : 0, &r, 300, seed);
    tset_free(&t);
  }
  test_rmtree(zDir);
  free(zPath);
  free(zDir);
}
END_TEST

START_TEST(sst_tables_in_the_memory_env_match_the_model)
{
  unsigned long long seed = test_seed();
  lsm_env *pEnv = lsm_env_memory();
  test_rng r;
  int round;
  rng_init(&r, seed);
  for(round = 0; round < test_scale(8); round++){
    tset t = {0};
    tset_random(&t, &r, 1 + (int)rng_below(&r, 3000), 3, 20, 100);
    round_trip(pEnv, "/mem/000002.sst", &t, 512, 10, &r, 300, seed);
    tset_free(&t);
  }
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(sst_empty_table_has_no_entries)
{
  unsigned long long seed = test_seed();
  lsm_env *pEnv = lsm_env_memory();
  tset t = {0};
  test_rng r;
  rng_init(&r, seed);
  round_trip(pEnv, "/e.sst", &t, 4096, 10, &r, 50, seed);
  round_trip(pEnv, "/e.sst", &t, 4096, 0, &r, 50, seed);
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(sst_single_entry_table_matches_the_model)
{
  unsigned long long seed = test_seed();
  lsm_env *pEnv = lsm_env_memory();
  tset t = {0};
  test_rng r;
  rng_init(&r, seed);
  tset_add(&t, (const uint8_t*)"apple", 5, 42, IKEY_VALUE, (const uint8_t*)"red", 3);
  round_trip(pEnv, "/one.sst", &t, 4096, 10, &r, 100, seed);
  tset_free(&t);
  tset_add(&t, (const uint8_t*)"gone", 4, 7, IKEY_DELETE, NULL, 0);
  round_trip(pEnv, "/one.sst", &t, 4096, 10, &r, 100, seed);
  tset_free(&t);
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(sst_keys_much_larger_than_a_block_match_the_model)
{
  unsigned long long seed = test_seed();
  char *zDir = test_tmpdir("sstbig");
  char *zPath = sst_path(zDir, "000003.sst");
  tset t = {0};
  test_rng r;
  rng_init(&r, seed);
  /* Keys up to the 64 KiB limit, in 512-byte blocks, with versions. */
  tset_random(&t, &r, test_scale(120), 3, LSM_MAX_KEY, 50);
  round_trip(lsm_env_default(), zPath, &t, 512, 10, &r, 200, seed);
  tset_free(&t);
  test_rmtree(zDir);
  free(zPath);
  free(zDir);
}
END_TEST

START_TEST(sst_values_of_hundreds_of_kilobytes_match_the_model)
{
  unsigned long long seed = test_seed();
  char *zDir = test_tmpdir("sstval");
  char *zPath = sst_path(zDir, "000004.sst");
  tset t = {0};
  test_rng r;
  rng_init(&r, seed);
  tset_random(&t, &r, test_scale(60), 2, 20, 400 * 1024);
  round_trip(lsm_env_default(), zPath, &t, 4096, 10, &r, 200, seed);
  tset_free(&t);
  test_rmtree(zDir);
  free(zPath);
  free(zDir);
}
END_TEST

START_TEST(sst_meta_and_properties_describe_the_table)
{
  lsm_env *pEnv = lsm_env_memory();
  tset t = {0};
  sst_meta meta;
  sst_reader *pReader;
  int i;
  for(i = 0; i < 1000; i++){
    char z[16];
    int nz = snprintf(z, sizeof(z), "k%05d", i);
    tset_add(&t, (const uint8_t*)z, (size_t)nz, (uint64_t)(i + 1), i % 10 == 0 ? IKEY_DELETE : IKEY_VALUE,
             (const uint8_t*)"0123456789", i % 10 == 0 ? 0 : 10);
  }
  tset_sort(&t);
  ck_assert_int_eq(write_table(pEnv, "/p.sst", &t, 1024, 10, &meta), LSM_OK);
  ck_assert_uint_eq(meta.nEntries, 1000);
  ck_assert_uint_eq(meta.nTombstones, 100);
  ck_assert_uint_eq(meta.nRawBytes, 1000 * 6 + 900 * 10);
  ck_assert_uint_eq(meta.nSmallest, 14);
  ck_assert_mem_eq(meta.pSmallest, t.a[0].pKey, 14);
  ck_assert_mem_eq(meta.pLargest, t.a[999].pKey, 14);
  ck_assert_int_eq(sst_reader_open(pEnv, "/p.sst", &pReader), LSM_OK);
  ck_assert_uint_eq(sst_reader_file_bytes(pReader), meta.nFileBytes);
  ck_assert_uint_eq(sst_reader_entries(pReader), 1000);
  ck_assert_uint_eq(sst_reader_tombstones(pReader), 100);
  ck_assert_str_eq(sst_reader_path(pReader), "/p.sst");
  ck_assert_int_eq(sst_reader_check(pReader), LSM_OK);
  sst_reader_unref(pReader);
  sst_meta_clear(pEnv, &meta);
  ck_assert_ptr_null(meta.pSmallest);
  tset_free(&t);
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(sst_bloom_filter_rules_out_most_missing_keys)
{
  lsm_env *pEnv = lsm_env_memory();
  tset t = {0};
  sst_meta meta;
  sst_reader *pReader;
  int i, nNeg = 0, nSearched = 0, n = 20000;
  for(i = 0; i < n; i++){
    char z[16];
    int nz = snprintf(z, sizeof(z), "key%07d", i * 2);
    tset_add(&t, (const uint8_t*)z, (size_t)nz, 5, IKEY_VALUE, (const uint8_t*)"v", 1);
    tset_add(&t, (const uint8_t*)z, (size_t)nz, 3, IKEY_VALUE, (const uint8_t*)"w", 1);
  }
  tset_sort(&t);
  LOOP_ASSERT((write_table(pEnv, "/b.sst", &t, 4096, 10, &meta)) == (LSM_OK));
  LOOP_ASSERT((sst_reader_open(pEnv, "/b.sst", &pReader)) == (LSM_OK));
  for(i = 0; i < n; i++){
    char z[16];
    int nz = snprintf(z, sizeof(z), "key%07d", i * 2 + 1), bFound, type;
    const uint8_t *pVal;
    size_t nVal;
    sst_probe probe;
    LOOP_ASSERT((sst_reader_get(pReader, z, (size_t)nz, 100, &bFound, &type, &pVal, &nVal, &probe)) == (LSM_OK));
    LOOP_ASSERT((bFound) == (0));
    LOOP_ASSERT((probe.bBloomChecked) == (1));
    nNeg += probe.bBloomNegative;
    nSearched += probe.bSearched;
    LOOP_ASSERT((probe.bBloomNegative + probe.bSearched) == (1));
    /* Present keys always pass the filter (two versions, one hash). */
    nz = snprintf(z, sizeof(z), "key%07d", i * 2);
    LOOP_ASSERT((sst_reader_get(pReader, z, (size_t)nz, 4, &bFound, &type, &pVal, &nVal, &probe)) == (LSM_OK));
    LOOP_ASSERT(bFound && probe.bBloomNegative == 0 && probe.bSearched == 1 && pVal[0] == 'w');
  }
  ck_assert_msg(nSearched < n / 50, "false positives %d of %d", nSearched, n);
  sst_reader_unref(pReader);
  sst_meta_clear(pEnv, &meta);
  tset_free(&t);
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(sst_table_without_filter_never_consults_one)
{
  lsm_env *pEnv = lsm_env_memory();
  tset t = {0};
  sst_meta meta;
  sst_reader *pReader;
  sst_probe probe;
  const uint8_t *pVal;
  size_t nVal;
  int bFound, type;
  tset_add(&t, (const uint8_t*)"a", 1, 1, IKEY_VALUE, (const uint8_t*)"1", 1);
  ck_assert_int_eq(write_table(pEnv, "/nf.sst", &t, 4096, 0, &meta), LSM_OK);
  ck_assert_int_eq(sst_reader_open(pEnv, "/nf.sst", &pReader), LSM_OK);
  ck_assert_int_eq(sst_reader_get(pReader, "b", 1, 9, &bFound, &type, &pVal, &nVal, &probe), LSM_OK);
  ck_assert(!bFound && !probe.bBloomChecked && !probe.bBloomNegative && probe.bSearched == 0);
  ck_assert_int_eq(sst_reader_get(pReader, "a", 1, 9, &bFound, &type, &pVal, &nVal, &probe), LSM_OK);
  ck_assert(bFound && type == IKEY_VALUE && nVal == 1 && pVal[0] == '1' && probe.bSearched);
  sst_reader_unref(pReader);
  sst_meta_clear(pEnv, &meta);
  tset_free(&t);
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(sst_writer_refuses_keys_out_of_order)
{
  lsm_env *pEnv = lsm_env_memory();
  sst_options opt = {4096, 10};
  sst_writer *w;
  sst_meta meta;
  uint8_t a[16], b[16];
  ikey_build(a, "b", 1, 5, IKEY_VALUE);
  ikey_build(b, "a", 1, 5, IKEY_VALUE);
  pEnv->xUnlink(pEnv, "/o.sst");
  ck_assert_int_eq(sst_writer_open(pEnv, "/o.sst", &opt, &w), LSM_OK);
  ck_assert_int_eq(sst_writer_add(w, a, 9, NULL, 0), LSM_OK);
  ck_assert_int_eq(sst_writer_add(w, a, 9, NULL, 0), LSM_MISUSE);     /* equal */
  ck_assert_int_eq(sst_writer_add(w, b, 9, NULL, 0), LSM_MISUSE);     /* smaller */
  ck_assert_int_eq(sst_writer_finish(w, &meta), LSM_MISUSE);
  /* Versions of one key must come newest first. */
  pEnv->xUnlink(pEnv, "/o.sst");
  ck_assert_int_eq(sst_writer_open(pEnv, "/o.sst", &opt, &w), LSM_OK);
  ikey_build(b, "b", 1, 6, IKEY_VALUE);
  ck_assert_int_eq(sst_writer_add(w, a, 9, NULL, 0), LSM_OK);
  ck_assert_int_eq(sst_writer_add(w, b, 9, NULL, 0), LSM_MISUSE);     /* seq 6 after 5 */
  sst_writer_abandon(w);
  pEnv->xUnlink(pEnv, "/o.sst");
  ck_assert_int_eq(sst_writer_open(pEnv, "/o.sst", &opt, &w), LSM_OK);
  ck_assert_int_eq(sst_writer_add(w, a, 7, NULL, 0), LSM_MISUSE);     /* no trailer */
  sst_writer_abandon(w);
  lsm_env_memory_free(pEnv);
}
END_TEST

/* ---- concurrency ---- */

typedef struct reader_job {
  sst_reader *pReader;
  const tset *p;
  uint64_t seed;
  int nErr;
} reader_job;

static void *reader_thread(void *pArg){
  reader_job *pJob = pArg;
  test_rng r;
  int k, rc = LSM_OK;
  iter *it = sst_reader_iter(pJob->pReader, &rc);
  size_t i;
  rng_init(&r, pJob->seed);
  for(k = 0; k < 3000; k++){
    const tent *e = &pJob->p->a[rng_below(&r, pJob->p->n)];
    size_t nU = e->nKey - IKEY_TRAILER, j, nVal;
    uint64_t maxSeq = ikey_seq(e->pKey, e->nKey);
    const uint8_t *pVal;
    int bFound, type;
    j = tset_get(pJob->p, e->pKey, nU, maxSeq);
    rc = sst_reader_get(pJob->pReader, e->pKey, nU, maxSeq, &bFound, &type, &pVal, &nVal, NULL);
    if( rc || !bFound || nVal != pJob->p->a[j].nVal
     || (nVal && memcmp(pVal, pJob->p->a[j].pVal, nVal)) ) pJob->nErr++;
  }
  for(iter_first(it), i = 0; iter_valid(it); iter_next(it), i++){
    size_t nK;
    const uint8_t *pK = iter_key(it, &nK);
    if( i >= pJob->p->n || nK != pJob->p->a[i].nKey || memcmp(pK, pJob->p->a[i].pKey, nK) ) pJob->nErr++;
  }
  if( i != pJob->p->n || iter_status(it) ) pJob->nErr++;
  iter_close(it);
  return NULL;
}

START_TEST(sst_concurrent_readers_agree_with_the_model)
{
  unsigned long long seed = test_seed();
  char *zDir = test_tmpdir("sstmt");
  char *zPath = sst_path(zDir, "000005.sst");
  tset t = {0};
  sst_meta meta;
  sst_reader *pReader;
  pthread_t aThread[4];
  reader_job aJob[4];
  test_rng r;
  int i;
  rng_init(&r, seed);
  tset_random(&t, &r, test_scale(5000), 3, 16, 100);
  ck_assert_int_eq(write_table(lsm_env_default(), zPath, &t, 1024, 10, &meta), LSM_OK);
  ck_assert_int_eq(sst_reader_open(lsm_env_default(), zPath, &pReader), LSM_OK);
  for(i = 0; i < 4; i++){
    aJob[i].pReader = pReader;
    aJob[i].p = &t;
    aJob[i].seed = seed + (uint64_t)i;
    aJob[i].nErr = 0;
    ck_assert_int_eq(pthread_create(&aThread[i], NULL, reader_thread, &aJob[i]), 0);
  }
  for(i = 0; i < 4; i++){
    pthread_join(aThread[i], NULL);
    SEED_ASSERT(aJob[i].nErr == 0, "thread %d: %d errors", seed, i, aJob[i].nErr);
  }
  sst_reader_unref(pReader);
  sst_meta_clear(lsm_env_default(), &meta);
  tset_free(&t);
  test_rmtree(zDir);
  free(zPath);
  free(zDir);
}
END_TEST

/* ---- corruption ---- */

/* Read the file into a malloc'd buffer. */
static uint8_t *file_get(lsm_env *pEnv, const char *zPath, size_t *pn){
  uint8_t *a = NULL, *b;
  ck_assert_int_eq(env_read_file(pEnv, zPath, &a, pn), LSM_OK);
  b = malloc(*pn + 1);
  memcpy(b, a, *pn);
  env_free(pEnv, a);
  return b;
}

static void file_put(lsm_env *pEnv, const char *zPath, const uint8_t *a, size_t n){
  lsm_file *pFile;
  ck_assert_int_eq(pEnv->xOpen(pEnv, zPath, LSM_OPEN_WRITE, &pFile), LSM_OK);
  if( n ) ck_assert_int_eq(pEnv->xAppend(pFile, a, n), LSM_OK);
  ck_assert_int_eq(pEnv->xClose(pFile), LSM_OK);
}

/* The standard small table of the corruption tests: 400 keys, several blocks. */
static void corrupt_fixture(lsm_env *pEnv, tset *p, uint8_t **paFile, size_t *pnFile){
  sst_meta meta;
  int i;
  memset(p, 0, sizeof(*p));
  for(i = 0; i < 400; i++){
    char z[16], v[32];
    int nz = snprintf(z, sizeof(z), "key%05d", i);
    int nv = snprintf(v, sizeof(v), "value-%d", i * 31);
    tset_add(p, (const uint8_t*)z, (size_t)nz, (uint64_t)(1000 + i), i % 7 ? IKEY_VALUE : IKEY_DELETE,
             (const uint8_t*)v, i % 7 ? (size_t)nv : 0);
  }
  tset_sort(p);
  ck_assert_int_eq(write_table(pEnv, "/c.sst", p, 1024, 10, &meta), LSM_OK);
  sst_meta_clear(pEnv, &meta);
  *paFile = file_get(pEnv, "/c.sst", pnFile);
}

/* Where the footer says region eRegion (SST_FOOTER_*_OFF) is. */
static void region_of(const uint8_t *a, size_t n, int iOffField, uint64_t *piOff, uint64_t *pnSize){
  const uint8_t *f = a + n - SST_FOOTER_SIZE;
  *piOff = coding_get64(f + iOffField);
  *pnSize = coding_get64(f + iOffField + 8);
}

/*
** Open the (damaged) /c.sst and use every read path.  Every answer must
** be right or LSM_CORRUPT; returns 1 if any path reported LSM_CORRUPT
** (and checks the message names the file), 0 if all succeeded.
*/
static int probe_damaged(lsm_env *pEnv, const tset *p, const char *zExpectMsg){
  sst_reader *pReader = NULL;
  int rc, bCorrupt = 0, nCheck;
  size_t i;
  iter *it;

  error_clear();
  rc = sst_reader_open(pEnv, "/c.sst", &pReader);
  if( rc ){
    LOOP_ASSERT((rc) == (LSM_CORRUPT));
    ck_assert_ptr_null(pReader);
    ck_assert_msg(strstr(lsm_errmsg(NULL), "/c.sst: ") != NULL, "message: %s", lsm_errmsg(NULL));
    if( zExpectMsg ){
      ck_assert_msg(strstr(lsm_errmsg(NULL), zExpectMsg) != NULL, "message: %s", lsm_errmsg(NULL));
    }
    return 1;
  }
  /* Gets: right or corrupt. */
  for(i = 0; i < p->n; i += 3){
    const tent *e = &p->a[i];
    const uint8_t *pVal;
    size_t nVal;
    int bFound, type;
    rc = sst_reader_get(pReader, e->pKey, e->nKey - IKEY_TRAILER, IKEY_MAX_SEQ,
                        &bFound, &type, &pVal, &nVal, NULL);
    if( rc ){
      LOOP_ASSERT((rc) == (LSM_CORRUPT));
      bCorrupt = 1;
    }else{
      LOOP_ASSERT((bFound) == (1));
      LOOP_ASSERT(type == ikey_type(e->pKey, e->nKey));
      LOOP_ASSERT(nVal == e->nVal && (nVal == 0 || memcmp(pVal, e->pVal, nVal) == 0));
    }
  }
  /* Iteration both ways: a prefix (suffix) of the truth, then corrupt. */
  rc = LSM_OK;
  it = sst_reader_iter(pReader, &rc);
  for(iter_first(it), i = 0; iter_valid(it); iter_next(it), i++){
    size_t nK;
    const uint8_t *pK = iter_key(it, &nK);
    LOOP_ASSERT(i < p->n && nK == p->a[i].nKey && memcmp(pK, p->a[i].pKey, nK) == 0);
  }
  if( iter_status(it) ){ LOOP_ASSERT((iter_status(it)) == (LSM_CORRUPT)); bCorrupt = 1; }
  else LOOP_ASSERT((i) == (p->n));
  iter_close(it);
  it = sst_reader_iter(pReader, &rc);
  for(iter_last(it), i = p->n; iter_valid(it); iter_prev(it)){
    size_t nK;
    const uint8_t *pK = iter_key(it, &nK);
    LOOP_ASSERT(i > 0);
    i--;
    LOOP_ASSERT(nK == p->a[i].nKey && memcmp(pK, p->a[i].pKey, nK) == 0);
  }
  if( iter_status(it) ){ LOOP_ASSERT((iter_status(it)) == (LSM_CORRUPT)); bCorrupt = 1; }
  else LOOP_ASSERT((i) == (0));
  iter_close(it);
  nCheck = sst_reader_check(pReader);
  LOOP_ASSERT(nCheck == LSM_OK || nCheck == LSM_CORRUPT);
  if( nCheck ){
    ck_assert_msg(strstr(lsm_errmsg(NULL), "/c.sst: ") != NULL, "message: %s", lsm_errmsg(NULL));
    if( zExpectMsg ){
      ck_assert_msg(strstr(lsm_errmsg(NULL), zExpectMsg) != NULL, "message: %s", lsm_errmsg(NULL));
    }
  }
  /* Whatever the others saw, check reads everything and must see it too. */
  LOOP_ASSERT((nCheck != LSM_OK) == (1));
  (void)bCorrupt;
  sst_reader_unref(pReader);
  return 1;
}

/* Flip one byte at iOff of the fixture, write it back, probe. */
static void flip_and_probe(lsm_env *pEnv, const tset *p, const uint8_t *a, size_t n, size_t iOff,
                           const char *zExpect){
  uint8_t *b = malloc(n);
  memcpy(b, a, n);
  b[iOff] ^= 0x5a;
  file_put(pEnv, "/c.sst", b, n);
  ck_assert_int_eq(probe_damaged(pEnv, p, zExpect), 1);
  free(b);
}

START_TEST(sst_data_block_corruption_is_reported)
{
  lsm_env *pEnv = lsm_env_memory();
  tset t;
  uint8_t *a;
  size_t n;
  sst_reader *pReader;
  const uint8_t *pVal;
  size_t nVal;
  int bFound, type;
  corrupt_fixture(pEnv, &t, &a, &n);
  /* A byte inside block 0, near its start. */
  flip_and_probe(pEnv, &t, a, n, 20, "/c.sst: block 0 checksum mismatch");
  /* The first key lives in block 0: its get fails; a key in the last block works. */
  ck_assert_int_eq(sst_reader_open(pEnv, "/c.sst", &pReader), LSM_OK);
  ck_assert_int_eq(sst_reader_get(pReader, t.a[0].pKey, t.a[0].nKey - 8, IKEY_MAX_SEQ,
                                  &bFound, &type, &pVal, &nVal, NULL), LSM_CORRUPT);
  ck_assert_str_eq(lsm_errmsg(NULL), "/c.sst: block 0 checksum mismatch");
  ck_assert_int_eq(sst_reader_get(pReader, t.a[399].pKey, t.a[399].nKey - 8, IKEY_MAX_SEQ,
                                  &bFound, &type, &pVal, &nVal, NULL), LSM_OK);
  ck_assert_int_eq(bFound, 1);
  sst_reader_unref(pReader);
  free(a);
  tset_free(&t);
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(sst_index_corruption_is_reported)
{
  lsm_env *pEnv = lsm_env_memory();
  tset t;
  uint8_t *a;
  size_t n;
  uint64_t iOff, nSize;
  corrupt_fixture(pEnv, &t, &a, &n);
  region_of(a, n, SST_FOOTER_INDEX_OFF, &iOff, &nSize);
  flip_and_probe(pEnv, &t, a, n, (size_t)(iOff + nSize / 2), "/c.sst: index checksum mismatch");
  flip_and_probe(pEnv, &t, a, n, (size_t)(iOff + nSize), "/c.sst: index checksum mismatch");
  free(a);
  tset_free(&t);
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(sst_filter_corruption_is_reported)
{
  lsm_env *pEnv = lsm_env_memory();
  tset t;
  uint8_t *a;
  size_t n;
  uint64_t iOff, nSize;
  corrupt_fixture(pEnv, &t, &a, &n);
  region_of(a, n, SST_FOOTER_FILTER_OFF, &iOff, &nSize);
  ck_assert_uint_gt(nSize, 400 * 10 / 8);
  flip_and_probe(pEnv, &t, a, n, (size_t)iOff, "/c.sst: filter checksum mismatch");
  flip_and_probe(pEnv, &t, a, n, (size_t)(iOff + nSize / 2), "/c.sst: filter checksum mismatch");
  free(a);
  tset_free(&t);
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(sst_properties_corruption_is_reported)
{
  lsm_env *pEnv = lsm_env_memory();
  tset t;
  uint8_t *a;
  size_t n;
  uint64_t iOff, nSize;
  corrupt_fixture(pEnv, &t, &a, &n);
  region_of(a, n, SST_FOOTER_PROPS_OFF, &iOff, &nSize);
  flip_and_probe(pEnv, &t, a, n, (size_t)iOff, "/c.sst: properties checksum mismatch");
  flip_and_probe(pEnv, &t, a, n, (size_t)(iOff + nSize - 1), "/c.sst: properties checksum mismatch");
  free(a);
  tset_free(&t);
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(sst_footer_corruption_is_reported)
{
  lsm_env *pEnv = lsm_env_memory();
  tset t;
  uint8_t *a;
  size_t n, f;
  corrupt_fixture(pEnv, &t, &a, &n);
  f = n - SST_FOOTER_SIZE;
  flip_and_probe(pEnv, &t, a, n, f + SST_FOOTER_INDEX_OFF, "/c.sst: footer checksum mismatch");
  flip_and_probe(pEnv, &t, a, n, f + SST_FOOTER_VERSION, "/c.sst: footer checksum mismatch");
  flip_and_probe(pEnv, &t, a, n, f + SST_FOOTER_CHECKSUM + 3, "/c.sst: footer checksum mismatch");
  flip_and_probe(pEnv, &t, a, n, f + SST_FOOTER_MAGIC + 7, "/c.sst: footer: bad magic number");
  free(a);
  tset_free(&t);
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(sst_truncated_or_extended_file_is_reported)
{
  lsm_env *pEnv = lsm_env_memory();
  tset t;
  uint8_t *a, *b;
  size_t n, m;
  corrupt_fixture(pEnv, &t, &a, &n);
  for(m = 0; m < n; m += (m < 100 || n - m < 200) ? 1 : 37){
    file_put(pEnv, "/c.sst", a, m);
    ck_assert_int_eq(probe_damaged(pEnv, &t, NULL), 1);
  }
  /* Extra bytes after the footer. */
  b = malloc(n + 100);
  memcpy(b, a, n);
  memset(b + n, 0, 100);
  file_put(pEnv, "/c.sst", b, n + 100);
  ck_assert_int_eq(probe_damaged(pEnv, &t, "footer"), 1);
  /* A footer moved to the end of a longer file does not fit its regions. */
  memcpy(b + 100, a, n);
  file_put(pEnv, "/c.sst", b, n + 100);
  ck_assert_int_eq(probe_damaged(pEnv, &t, NULL), 1);
  free(b);
  free(a);
  tset_free(&t);
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(sst_any_flipped_byte_is_reported_and_never_gives_wrong_data)
{
  lsm_env *pEnv = lsm_env_memory();
  tset t = {0};
  sst_meta meta;
  uint8_t *a;
  size_t n, i;
  int k;
  /* A small table, so that every byte can be tried. */
  for(k = 0; k < 60; k++){
    char z[16];
    int nz = snprintf(z, sizeof(z), "k%03d", k * 3);
    tset_add(&t, (const uint8_t*)z, (size_t)nz, (uint64_t)(10 + k), k % 5 ? IKEY_VALUE : IKEY_DELETE,
             (const uint8_t*)"vvvv", k % 5 ? 4 : 0);
  }
  tset_sort(&t);
  ck_assert_int_eq(write_table(pEnv, "/c.sst", &t, 256, 10, &meta), LSM_OK);
  sst_meta_clear(pEnv, &meta);
  a = file_get(pEnv, "/c.sst", &n);
  for(i = 0; i < n; i += test_quick() ? 3 : 1){
    flip_and_probe(pEnv, &t, a, n, i, NULL);
  }
  free(a);
  tset_free(&t);
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(sst_a_file_that_is_not_an_sstable_is_reported)
{
  lsm_env *pEnv = lsm_env_memory();
  sst_reader *pReader = NULL;
  uint8_t a[4096];
  size_t i;
  for(i = 0; i < sizeof(a); i++) a[i] = (uint8_t)(i * 131 + 7);
  file_put(pEnv, "/c.sst", a, sizeof(a));
  ck_assert_int_eq(sst_reader_open(pEnv, "/c.sst", &pReader), LSM_CORRUPT);
  ck_assert_str_eq(lsm_errmsg(NULL), "/c.sst: footer: bad magic number (not an SSTable, or truncated)");
  ck_assert_ptr_null(pReader);
  ck_assert_int_eq(sst_reader_open(pEnv, "/missing.sst", &pReader), LSM_CANTOPEN);
  lsm_env_memory_free(pEnv);
}
END_TEST

/* ---- failures of the environment ---- */

START_TEST(sst_failed_allocations_and_io_are_reported_and_leak_nothing)
{
  lsm_env *pBase = lsm_env_memory();
  faultenv *fe = faultenv_new(pBase);
  lsm_env *pEnv = faultenv_env(fe);
  unsigned long long seed = test_seed();
  static const int aClass[] = {FAULTENV_ALLOC, FAULTENV_OPEN, FAULTENV_APPEND, FAULTENV_SYNC, FAULTENV_MAP};
  tset t = {0};
  test_rng r;
  size_t c;
  rng_init(&r, seed);
  tset_random(&t, &r, 300, 2, 12, 3000);
  for(c = 0; c < sizeof(aClass) / sizeof(aClass[0]); c++){
    uint64_t iNth;
    for(iNth = 1; ; iNth++){
      uint64_t nFailedBefore = faultenv_nfailed(fe);
      sst_meta meta;
      sst_reader *pReader = NULL;
      int rc;
      faultenv_fail(fe, aClass[c], iNth, LSM_IOERR, 0);
      rc = write_table(pEnv, "/f.sst", &t, 1024, 10, &meta);
      if( rc == LSM_OK ){
        sst_meta_clear(pEnv, &meta);
        rc = sst_reader_open(pEnv, "/f.sst", &pReader);
      }
      if( rc == LSM_OK ){
        iter *it = sst_reader_iter(pReader, &rc);
        if( it ){
          for(iter_last(it); iter_valid(it); iter_prev(it)){}
          rc = iter_status(it);
          iter_close(it);
        }
      }
      if( rc == LSM_OK ) rc = sst_reader_check(pReader);
      sst_reader_unref(pReader);
      faultenv_fail_clear(fe);
      if( faultenv_nfailed(fe) == nFailedBefore ){
        SEED_ASSERT(rc == LSM_OK, "class %zu, no failure: rc %d", seed, c, rc);
        break;
      }
      SEED_ASSERT(rc == (aClass[c] == FAULTENV_ALLOC ? LSM_NOMEM : LSM_IOERR),
                  "class %zu call %llu: rc %d", seed, c, (unsigned long long)iNth, rc);
    }
  }
  tset_free(&t);
  faultenv_free(fe);
  lsm_env_memory_free(pBase);
}
END_TEST

static Suite *sst_suite(void){
  Suite *s = suite_create("sst");
  TCase *tc = tcase_create("sst");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, sst_random_tables_match_the_model);
  tcase_add_test(tc, sst_tables_in_the_memory_env_match_the_model);
  tcase_add_test(tc, sst_empty_table_has_no_entries);
  tcase_add_test(tc, sst_single_entry_table_matches_the_model);
  tcase_add_test(tc, sst_keys_much_larger_than_a_block_match_the_model);
  tcase_add_test(tc, sst_values_of_hundreds_of_kilobytes_match_the_model);
  tcase_add_test(tc, sst_meta_and_properties_describe_the_table);
  tcase_add_test(tc, sst_bloom_filter_rules_out_most_missing_keys);
  tcase_add_test(tc, sst_table_without_filter_never_consults_one);
  tcase_add_test(tc, sst_writer_refuses_keys_out_of_order);
  tcase_add_test(tc, sst_concurrent_readers_agree_with_the_model);
  tcase_add_test(tc, sst_data_block_corruption_is_reported);
  tcase_add_test(tc, sst_index_corruption_is_reported);
  tcase_add_test(tc, sst_filter_corruption_is_reported);
  tcase_add_test(tc, sst_properties_corruption_is_reported);
  tcase_add_test(tc, sst_footer_corruption_is_reported);
  tcase_add_test(tc, sst_truncated_or_extended_file_is_reported);
  tcase_add_test(tc, sst_any_flipped_byte_is_reported_and_never_gives_wrong_data);
  tcase_add_test(tc, sst_a_file_that_is_not_an_sstable_is_reported);
  tcase_add_test(tc, sst_failed_allocations_and_io_are_reported_and_leak_nothing);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(sst_suite)
