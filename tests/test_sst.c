/*
** test_sst.c — SSTables written and read back against a sorted array of
** internal keys, and every kind of damage reported as LSM_CORRUPT.
**
** The reference is harness.h's array of (internal key, value) sorted by
** ikey_compare.  A get of user key U at snapshot S must return the first
** entry >= (U, S) if its user key is U; iteration forward, backward, from
** any seek and on random next/prev walks must visit exactly the array
** (harness_check_iter).
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

#include "block_cache.h"
#include "checksum.h"
#include "coding.h"
#include "env.h"
#include "error.h"
#include "faultenv.h"
#include "harness.h"
#include "ikey.h"
#include "lsm.h"
#include "sst_format.h"
#include "sst_reader.h"
#include "sst_writer.h"
#include "testutil.h"

/* ck_assert reports every passing check to the Check parent through a
** pipe; loops use this instead, which costs nothing until it fails. */
#define LOOP_ASSERT(c) do{ if( !(c) ) ck_abort_msg("line %d: %s", __LINE__, #c); }while(0)


/*
** How the tests' readers read data blocks, set by the fixture of each
** test case: READ_MAPPED from the env's mapping, READ_CACHED with xRead
** through g_pBlocks (a cache of 16 KiB, so that blocks are evicted while
** others are in use), READ_PRIVATE with xRead into private buffers.
*/
#define READ_MAPPED  0
#define READ_CACHED  1
#define READ_PRIVATE 2
static int g_readMode = READ_MAPPED;
static block_cache *g_pBlocks;
/* The compression the tests' tables are written with (the fixture's). */
static int g_compression = LSM_COMPRESSION_NONE;

static int open_reader(lsm_env *pEnv, const char *zPath, sst_reader **ppReader){
  return sst_reader_open(pEnv, zPath, g_pBlocks, g_readMode == READ_MAPPED, ppReader);
}

static void set_read_mode(int eMode, int eCompression){
  g_readMode = eMode;
  g_compression = eCompression;
  if( eMode == READ_CACHED && g_pBlocks == NULL ){
    ck_assert_int_eq(block_cache_new(lsm_env_default(), 16 * 1024, &g_pBlocks), LSM_OK);
  }
}

static void clear_read_mode(void){
  block_cache_unref(g_pBlocks);
  g_pBlocks = NULL;
  g_readMode = READ_MAPPED;
  g_compression = LSM_COMPRESSION_NONE;
}

/* ---- writing and reading tables ---- */

static int write_table(lsm_env *pEnv, const char *zPath, const harness_model *p, int nBlock, int nBloom,
                       sst_meta *pMeta){
  sst_options opt;
  sst_writer *w = NULL;
  size_t i;
  int rc;
  opt.block_bytes = nBlock;
  opt.bloom_bits = nBloom;
  pEnv->xUnlink(pEnv, zPath);       /* tables are created exclusively */
  opt.compression = g_compression;
  rc = sst_writer_open(pEnv, zPath, &opt, &w);
  for(i = 0; rc == LSM_OK && i < p->n; i++){
    rc = sst_writer_add(w, p->a[i].pKey, p->a[i].nKey, p->a[i].pVal, p->a[i].nVal);
    if( rc == LSM_OK ) LOOP_ASSERT((sst_writer_entries(w)) == (i + 1));
  }
  if( w && rc == LSM_OK ) return sst_writer_finish(w, pMeta);
  sst_writer_abandon(w);
  return rc;
}

/* Every read path of pReader against p. */
static void compare_reader(sst_reader *pReader, const harness_model *p, test_rng *r, int nOps,
                           unsigned long long seed){
  size_t nK;
  int k, rc = LSM_OK;
  iter *it = sst_reader_iter(pReader, &rc);
  const uint8_t *pK;
  uint8_t *aU = malloc(LSM_MAX_KEY + HARNESS_RANDOM_USER);

  ck_assert_ptr_nonnull(it);
  ck_assert_uint_eq(sst_reader_entries(pReader), p->n);
  pK = sst_reader_smallest(pReader, &nK);
  if( p->n ) ck_assert(nK == p->a[0].nKey && memcmp(pK, p->a[0].pKey, nK) == 0);
  else ck_assert_uint_eq(nK, 0);
  pK = sst_reader_largest(pReader, &nK);
  if( p->n ) ck_assert(nK == p->a[p->n - 1].nKey && memcmp(pK, p->a[p->n - 1].pKey, nK) == 0);
  else ck_assert_uint_eq(nK, 0);

  harness_check_iter(it, p, r, nOps, seed);
  iter_close(it);

  for(k = 0; k < nOps; k++){
    size_t nU, j, nVal = 0;
    uint64_t maxSeq;
    const uint8_t *pVal = NULL;
    block_handle *pPin = NULL;
    int bFound = 0, type = -1;
    nU = harness_get_target(p, r, aU, &maxSeq);
    j = harness_model_get(p, aU, nU, maxSeq);
    rc = sst_reader_get(pReader, aU, nU, maxSeq, &bFound, &type, &pVal, &nVal, &pPin, NULL);
    SEED_ASSERT(rc == LSM_OK, "get rc %d", seed, rc);
    SEED_ASSERT(bFound == (j < p->n), "get %d: found %d", seed, k, bFound);
    if( bFound ){
      SEED_ASSERT(type == ikey_type(p->a[j].pKey, p->a[j].nKey), "get: wrong type", seed);
      SEED_ASSERT(nVal == p->a[j].nVal && (nVal == 0 || memcmp(pVal, p->a[j].pVal, nVal) == 0),
                  "get: wrong value", seed);
    }
    block_cache_release(pPin);
  }
  ck_assert_int_eq(sst_reader_check(pReader), LSM_OK);
  free(aU);
}

/* Write p, open it, compare, close. */
static void round_trip(lsm_env *pEnv, const char *zPath, const harness_model *p, int nBlock,
                       int nBloom, test_rng *r, int nOps, unsigned long long seed){
  sst_meta meta;
  sst_reader *pReader = NULL;
  int rc = write_table(pEnv, zPath, p, nBlock, nBloom, &meta);
  SEED_ASSERT(rc == LSM_OK, "write rc %d: %s", seed, rc, lsm_errmsg(NULL));
  ck_assert_uint_eq(meta.nEntries, p->n);
  rc = open_reader(pEnv, zPath, &pReader);
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

/* ---- the fixture ---- */

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

/*
** The fixture of the "memory" and "corruption" test cases: an in-memory
** env, and for the damage tests a table in it, /c.sst, with its entries
** and its undamaged bytes.  The "corruption" setup writes the standard
** table (400 keys, several 1 KiB blocks, a tombstone in seven); a
** "memory" test may write its own (write_damage_target).  Made before
** each test in its own process, freed after it passes.
*/
static struct sst_fixture {
  lsm_env *pEnv;                /* the memory env                        */
  harness_model t;              /* entries of /c.sst (or the test's own) */
  uint8_t *a;                   /* /c.sst as written                     */
  size_t n;                     /* its size                              */
} fx;

/* Write fx.t (sorted) to /c.sst in blocks of nBlock bytes; keep a copy. */
static void write_damage_target(int nBlock){
  sst_meta meta;
  ck_assert_int_eq(write_table(fx.pEnv, "/c.sst", &fx.t, nBlock, 10, &meta), LSM_OK);
  sst_meta_clear(fx.pEnv, &meta);
  fx.a = file_get(fx.pEnv, "/c.sst", &fx.n);
}

static void setup_memory(void){
  memset(&fx, 0, sizeof(fx));
  fx.pEnv = lsm_env_memory();
}

static void setup_corruption(void){
  int i;
  setup_memory();
  for(i = 0; i < 400; i++){
    char z[16], v[32];
    int nz = snprintf(z, sizeof(z), "key%05d", i);
    int nv = snprintf(v, sizeof(v), "value-%d", i * 31);
    harness_model_add(&fx.t, z, (size_t)nz, (uint64_t)(1000 + i), i % 7 ? IKEY_VALUE : IKEY_DELETE,
                      v, i % 7 ? (size_t)nv : 0);
  }
  harness_model_sort(&fx.t);
  write_damage_target(1024);
}

static void teardown(void){
  free(fx.a);
  harness_model_clear(&fx.t);
  lsm_env_memory_free(fx.pEnv);
  memset(&fx, 0, sizeof(fx));
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
    harness_model t = {0};
    harness_model_random(&t, &r, 1 + (int)rng_below(&r, 2000), 1 + (int)rng_below(&r, 4),
                         1 + rng_below(&r, 30), rng_below(&r, 2) ? 16 : 300);
    round_trip(lsm_env_default(), zPath, &t, aBlock[round % 4], round % 3 ? 10 : 0, &r, 300, seed);
    harness_model_clear(&t);
  }
  test_rmtree(zDir);
  free(zPath);
  free(zDir);
}
END_TEST

START_TEST(sst_tables_in_the_memory_env_match_the_model)
{
  unsigned long long seed = test_seed();
  test_rng r;
  int round;
  rng_init(&r, seed);
  for(round = 0; round < test_scale(8); round++){
    harness_model t = {0};
    harness_model_random(&t, &r, 1 + (int)rng_below(&r, 3000), 3, 20, 100);
    round_trip(fx.pEnv, "/mem/000002.sst", &t, 512, 10, &r, 300, seed);
    harness_model_clear(&t);
  }
}
END_TEST

START_TEST(sst_empty_table_has_no_entries)
{
  unsigned long long seed = test_seed();
  harness_model t = {0};
  test_rng r;
  rng_init(&r, seed);
  round_trip(fx.pEnv, "/e.sst", &t, 4096, 10, &r, 50, seed);
  round_trip(fx.pEnv, "/e.sst", &t, 4096, 0, &r, 50, seed);
}
END_TEST

START_TEST(sst_single_entry_table_matches_the_model)
{
  unsigned long long seed = test_seed();
  harness_model t = {0};
  test_rng r;
  rng_init(&r, seed);
  harness_model_add(&t, "apple", 5, 42, IKEY_VALUE, "red", 3);
  round_trip(fx.pEnv, "/one.sst", &t, 4096, 10, &r, 100, seed);
  harness_model_clear(&t);
  harness_model_add(&t, "gone", 4, 7, IKEY_DELETE, NULL, 0);
  round_trip(fx.pEnv, "/one.sst", &t, 4096, 10, &r, 100, seed);
  harness_model_clear(&t);
}
END_TEST

/* One random table (harness_model_random's parameters) written to disk
** in nBlock-byte blocks, read back and compared with the model. */
static void random_table_on_disk(int nUser, int nVer, size_t nKeyMax, size_t nValMax, int nBlock){
  unsigned long long seed = test_seed();
  char *zDir = test_tmpdir("sst");
  char *zPath = sst_path(zDir, "000001.sst");
  harness_model t = {0};
  test_rng r;
  rng_init(&r, seed);
  harness_model_random(&t, &r, nUser, nVer, nKeyMax, nValMax);
  round_trip(lsm_env_default(), zPath, &t, nBlock, 10, &r, 200, seed);
  harness_model_clear(&t);
  test_rmtree(zDir);
  free(zPath);
  free(zDir);
}

START_TEST(sst_keys_much_larger_than_a_block_match_the_model)
{
  /* Keys up to the 64 KiB limit, in 512-byte blocks, with versions. */
  random_table_on_disk(test_scale(120), 3, LSM_MAX_KEY, 50, 512);
}
END_TEST

START_TEST(sst_values_of_hundreds_of_kilobytes_match_the_model)
{
  random_table_on_disk(test_scale(60), 2, 20, 400 * 1024, 4096);
}
END_TEST

START_TEST(sst_meta_and_properties_describe_the_table)
{
  harness_model t = {0};
  sst_meta meta;
  sst_reader *pReader;
  int i;
  for(i = 0; i < 1000; i++){
    char z[16];
    int nz = snprintf(z, sizeof(z), "k%05d", i);
    harness_model_add(&t, z, (size_t)nz, (uint64_t)(i + 1), i % 10 == 0 ? IKEY_DELETE : IKEY_VALUE,
                      "0123456789", i % 10 == 0 ? 0 : 10);
  }
  harness_model_sort(&t);
  ck_assert_int_eq(write_table(fx.pEnv, "/p.sst", &t, 1024, 10, &meta), LSM_OK);
  ck_assert_uint_eq(meta.nEntries, 1000);
  ck_assert_uint_eq(meta.nTombstones, 100);
  ck_assert_uint_eq(meta.nRawBytes, 1000 * 6 + 900 * 10);
  ck_assert_uint_eq(meta.nSmallest, 14);
  ck_assert_mem_eq(meta.pSmallest, t.a[0].pKey, 14);
  ck_assert_mem_eq(meta.pLargest, t.a[999].pKey, 14);
  ck_assert_int_eq(open_reader(fx.pEnv, "/p.sst", &pReader), LSM_OK);
  ck_assert_uint_eq(sst_reader_file_bytes(pReader), meta.nFileBytes);
  ck_assert_uint_eq(sst_reader_entries(pReader), 1000);
  ck_assert_uint_eq(sst_reader_tombstones(pReader), 100);
  ck_assert_str_eq(sst_reader_path(pReader), "/p.sst");
  ck_assert_int_eq(sst_reader_check(pReader), LSM_OK);
  sst_reader_unref(pReader);
  sst_meta_clear(fx.pEnv, &meta);
  ck_assert_ptr_null(meta.pSmallest);
  harness_model_clear(&t);
}
END_TEST

/*
** A mapped reader uses its filter and index regions where they lie in the
** mapping; one reading with xRead holds a heap copy of them.  The same
** table opened both ways: both answer every read as the model does, and
** the mapped one is charged at least the filter's bytes (10 bits a key)
** less heap.
*/
START_TEST(sst_a_mapped_reader_keeps_its_filter_and_index_off_the_heap)
{
  harness_model t = {0};
  sst_meta meta;
  sst_reader *pMapped = NULL, *pRead = NULL;
  test_rng r;
  size_t nMapped, nRead;
  int i;
  rng_init(&r, test_seed());
  for(i = 0; i < 4000; i++){
    char z[16];
    int nz = snprintf(z, sizeof(z), "k%05d", i);
    harness_model_add(&t, z, (size_t)nz, (uint64_t)(i + 1), IKEY_VALUE, "0123456789", 10);
  }
  harness_model_sort(&t);
  ck_assert_int_eq(write_table(fx.pEnv, "/h.sst", &t, 1024, 10, &meta), LSM_OK);
  ck_assert_int_eq(sst_reader_open(fx.pEnv, "/h.sst", NULL, 1, &pMapped), LSM_OK);
  ck_assert_int_eq(sst_reader_open(fx.pEnv, "/h.sst", NULL, 0, &pRead), LSM_OK);
  compare_reader(pMapped, &t, &r, 2000, test_seed());
  compare_reader(pRead, &t, &r, 2000, test_seed());
  nMapped = sst_reader_heap_bytes(pMapped);
  nRead = sst_reader_heap_bytes(pRead);
  ck_assert_msg(nRead >= nMapped + 4000 * 10 / 8, "heap: %zu bytes mapped, %zu read", nMapped, nRead);
  sst_reader_unref(pMapped);
  sst_reader_unref(pRead);
  sst_meta_clear(fx.pEnv, &meta);
  harness_model_clear(&t);
}
END_TEST

START_TEST(sst_bloom_filter_rules_out_most_missing_keys)
{
  harness_model t = {0};
  sst_meta meta;
  sst_reader *pReader;
  int i, nNeg = 0, nSearched = 0, n = 20000;
  for(i = 0; i < n; i++){
    char z[16];
    int nz = snprintf(z, sizeof(z), "key%07d", i * 2);
    harness_model_add(&t, z, (size_t)nz, 5, IKEY_VALUE, "v", 1);
    harness_model_add(&t, z, (size_t)nz, 3, IKEY_VALUE, "w", 1);
  }
  harness_model_sort(&t);
  LOOP_ASSERT((write_table(fx.pEnv, "/b.sst", &t, 4096, 10, &meta)) == (LSM_OK));
  LOOP_ASSERT((open_reader(fx.pEnv, "/b.sst", &pReader)) == (LSM_OK));
  for(i = 0; i < n; i++){
    char z[16];
    int nz = snprintf(z, sizeof(z), "key%07d", i * 2 + 1), bFound, type;
    const uint8_t *pVal;
    block_handle *pPin = NULL;
    size_t nVal;
    sst_probe probe;
    LOOP_ASSERT((sst_reader_get(pReader, z, (size_t)nz, 100, &bFound, &type, &pVal, &nVal, &pPin, &probe)) == (LSM_OK));
    LOOP_ASSERT((bFound) == (0));
    LOOP_ASSERT((probe.bBloomChecked) == (1));
    nNeg += probe.bBloomNegative;
    nSearched += probe.bSearched;
    LOOP_ASSERT((probe.bBloomNegative + probe.bSearched) == (1));
    /* Present keys always pass the filter (two versions, one hash). */
    nz = snprintf(z, sizeof(z), "key%07d", i * 2);
    LOOP_ASSERT((sst_reader_get(pReader, z, (size_t)nz, 4, &bFound, &type, &pVal, &nVal, &pPin, &probe)) == (LSM_OK));
    LOOP_ASSERT(bFound && probe.bBloomNegative == 0 && probe.bSearched == 1 && pVal[0] == 'w');
    block_cache_release(pPin);
  }
  ck_assert_msg(nSearched < n / 50, "false positives %d of %d", nSearched, n);
  sst_reader_unref(pReader);
  sst_meta_clear(fx.pEnv, &meta);
  harness_model_clear(&t);
}
END_TEST

START_TEST(sst_table_without_filter_never_consults_one)
{
  harness_model t = {0};
  sst_meta meta;
  sst_reader *pReader;
  sst_probe probe;
  const uint8_t *pVal;
  block_handle *pPin = NULL;
  size_t nVal;
  int bFound, type;
  harness_model_add(&t, "a", 1, 1, IKEY_VALUE, "1", 1);
  ck_assert_int_eq(write_table(fx.pEnv, "/nf.sst", &t, 4096, 0, &meta), LSM_OK);
  ck_assert_int_eq(open_reader(fx.pEnv, "/nf.sst", &pReader), LSM_OK);
  ck_assert_int_eq(sst_reader_get(pReader, "b", 1, 9, &bFound, &type, &pVal, &nVal, &pPin, &probe), LSM_OK);
  ck_assert(!bFound && !probe.bBloomChecked && !probe.bBloomNegative && probe.bSearched == 0);
  ck_assert_int_eq(sst_reader_get(pReader, "a", 1, 9, &bFound, &type, &pVal, &nVal, &pPin, &probe), LSM_OK);
  ck_assert(bFound && type == IKEY_VALUE && nVal == 1 && pVal[0] == '1' && probe.bSearched);
  block_cache_release(pPin);
  sst_reader_unref(pReader);
  sst_meta_clear(fx.pEnv, &meta);
  harness_model_clear(&t);
}
END_TEST

START_TEST(sst_writer_refuses_keys_out_of_order)
{
  sst_options opt = {4096, 10, LSM_COMPRESSION_NONE};
  sst_writer *w;
  sst_meta meta;
  uint8_t a[16], b[16];
  ikey_build(a, "b", 1, 5, IKEY_VALUE);
  ikey_build(b, "a", 1, 5, IKEY_VALUE);
  fx.pEnv->xUnlink(fx.pEnv, "/o.sst");     /* SSTables are created exclusively */
  ck_assert_int_eq(sst_writer_open(fx.pEnv, "/o.sst", &opt, &w), LSM_OK);
  ck_assert_int_eq(sst_writer_add(w, a, 9, NULL, 0), LSM_OK);
  ck_assert_int_eq(sst_writer_add(w, a, 9, NULL, 0), LSM_MISUSE);     /* equal */
  ck_assert_int_eq(sst_writer_add(w, b, 9, NULL, 0), LSM_MISUSE);     /* smaller */
  ck_assert_int_eq(sst_writer_finish(w, &meta), LSM_MISUSE);
  /* Versions of one key must come newest first. */
  fx.pEnv->xUnlink(fx.pEnv, "/o.sst");     /* SSTables are created exclusively */
  ck_assert_int_eq(sst_writer_open(fx.pEnv, "/o.sst", &opt, &w), LSM_OK);
  ikey_build(b, "b", 1, 6, IKEY_VALUE);
  ck_assert_int_eq(sst_writer_add(w, a, 9, NULL, 0), LSM_OK);
  ck_assert_int_eq(sst_writer_add(w, b, 9, NULL, 0), LSM_MISUSE);     /* seq 6 after 5 */
  sst_writer_abandon(w);
  fx.pEnv->xUnlink(fx.pEnv, "/o.sst");     /* SSTables are created exclusively */
  ck_assert_int_eq(sst_writer_open(fx.pEnv, "/o.sst", &opt, &w), LSM_OK);
  ck_assert_int_eq(sst_writer_add(w, a, 7, NULL, 0), LSM_MISUSE);     /* no trailer */
  sst_writer_abandon(w);
}
END_TEST

/* ---- concurrency ---- */

typedef struct reader_job {
  sst_reader *pReader;
  const harness_model *p;
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
    const harness_entry *e = &pJob->p->a[rng_below(&r, pJob->p->n)];
    size_t nU = e->nKey - IKEY_TRAILER, j, nVal;
    uint64_t maxSeq = ikey_seq(e->pKey, e->nKey);
    const uint8_t *pVal;
    block_handle *pPin = NULL;
    int bFound, type;
    j = harness_model_get(pJob->p, e->pKey, nU, maxSeq);
    rc = sst_reader_get(pJob->pReader, e->pKey, nU, maxSeq, &bFound, &type, &pVal, &nVal, &pPin, NULL);
    if( rc || !bFound || nVal != pJob->p->a[j].nVal
     || (nVal && memcmp(pVal, pJob->p->a[j].pVal, nVal)) ) pJob->nErr++;
    block_cache_release(pPin);
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
  harness_model t = {0};
  sst_meta meta;
  sst_reader *pReader;
  pthread_t aThread[4];
  reader_job aJob[4];
  test_rng r;
  int i;
  rng_init(&r, seed);
  harness_model_random(&t, &r, test_scale(5000), 3, 16, 100);
  ck_assert_int_eq(write_table(lsm_env_default(), zPath, &t, 1024, 10, &meta), LSM_OK);
  ck_assert_int_eq(open_reader(lsm_env_default(), zPath, &pReader), LSM_OK);
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
  harness_model_clear(&t);
  test_rmtree(zDir);
  free(zPath);
  free(zDir);
}
END_TEST

/* ---- corruption ---- */

/* Where the footer says region eRegion (SST_FOOTER_*_OFF) is. */
static void region_of(const uint8_t *a, size_t n, int iOffField, uint64_t *piOff, uint64_t *pnSize){
  const uint8_t *f = a + n - SST_FOOTER_SIZE;
  *piOff = coding_get64(f + iOffField);
  *pnSize = coding_get64(f + iOffField + 8);
}

/*
** Open the (damaged) /c.sst and use every read path.  Every answer must
** be right or LSM_CORRUPT, and the damage must be found: by the open, or
** else by sst_reader_check, which reads everything.  A message must name
** the file, and contain zExpectMsg if that is not NULL.
*/
static void probe_damaged(const char *zExpectMsg){
  const harness_model *p = &fx.t;
  sst_reader *pReader = NULL;
  int rc, nCheck;
  size_t i;
  iter *it;

  error_clear();
  rc = open_reader(fx.pEnv, "/c.sst", &pReader);
  if( rc ){
    LOOP_ASSERT((rc) == (LSM_CORRUPT));
    ck_assert_ptr_null(pReader);
    ck_assert_msg(strstr(lsm_errmsg(NULL), "/c.sst: ") != NULL, "message: %s", lsm_errmsg(NULL));
    if( zExpectMsg ){
      ck_assert_msg(strstr(lsm_errmsg(NULL), zExpectMsg) != NULL, "message: %s", lsm_errmsg(NULL));
    }
    return;
  }
  /* Gets: right or corrupt. */
  for(i = 0; i < p->n; i += 3){
    const harness_entry *e = &p->a[i];
    const uint8_t *pVal;
    block_handle *pPin = NULL;
    size_t nVal;
    int bFound, type;
    rc = sst_reader_get(pReader, e->pKey, e->nKey - IKEY_TRAILER, IKEY_MAX_SEQ,
                        &bFound, &type, &pVal, &nVal, &pPin, NULL);
    if( rc ){
      LOOP_ASSERT((rc) == (LSM_CORRUPT));
    }else{
      LOOP_ASSERT((bFound) == (1));
      LOOP_ASSERT(type == ikey_type(e->pKey, e->nKey));
      LOOP_ASSERT(nVal == e->nVal && (nVal == 0 || memcmp(pVal, e->pVal, nVal) == 0));
    }
    block_cache_release(pPin);
  }
  /* Iteration both ways: a prefix (suffix) of the truth, then corrupt. */
  rc = LSM_OK;
  it = sst_reader_iter(pReader, &rc);
  for(iter_first(it), i = 0; iter_valid(it); iter_next(it), i++){
    size_t nK;
    const uint8_t *pK = iter_key(it, &nK);
    LOOP_ASSERT(i < p->n && nK == p->a[i].nKey && memcmp(pK, p->a[i].pKey, nK) == 0);
  }
  if( iter_status(it) ) LOOP_ASSERT((iter_status(it)) == (LSM_CORRUPT));
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
  if( iter_status(it) ) LOOP_ASSERT((iter_status(it)) == (LSM_CORRUPT));
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
  LOOP_ASSERT(nCheck != LSM_OK);
  sst_reader_unref(pReader);
}

/* Flip the byte at iOff of /c.sst as written, write it back, probe. */
static void flip_and_probe(size_t iOff, const char *zExpect){
  uint8_t *b = malloc(fx.n);
  memcpy(b, fx.a, fx.n);
  b[iOff] ^= 0x5a;
  file_put(fx.pEnv, "/c.sst", b, fx.n);
  probe_damaged(zExpect);
  free(b);
}

START_TEST(sst_data_block_corruption_is_reported)
{
  sst_reader *pReader;
  const uint8_t *pVal;
  block_handle *pPin = NULL;
  size_t nVal;
  int bFound, type;
  /* A byte inside block 0, near its start. */
  flip_and_probe(20, "/c.sst: block 0 checksum mismatch");
  /* The first key lives in block 0: its get fails; a key in the last block works. */
  ck_assert_int_eq(open_reader(fx.pEnv, "/c.sst", &pReader), LSM_OK);
  ck_assert_int_eq(sst_reader_get(pReader, fx.t.a[0].pKey, fx.t.a[0].nKey - 8, IKEY_MAX_SEQ,
                                  &bFound, &type, &pVal, &nVal, &pPin, NULL), LSM_CORRUPT);
  ck_assert_str_eq(lsm_errmsg(NULL), "/c.sst: block 0 checksum mismatch");
  ck_assert_int_eq(sst_reader_get(pReader, fx.t.a[399].pKey, fx.t.a[399].nKey - 8, IKEY_MAX_SEQ,
                                  &bFound, &type, &pVal, &nVal, &pPin, NULL), LSM_OK);
  ck_assert_int_eq(bFound, 1);
  block_cache_release(pPin);
  sst_reader_unref(pReader);
}
END_TEST

START_TEST(sst_index_corruption_is_reported)
{
  uint64_t iOff, nSize;
  region_of(fx.a, fx.n, SST_FOOTER_INDEX_OFF, &iOff, &nSize);
  flip_and_probe((size_t)(iOff + nSize / 2), "/c.sst: index checksum mismatch");
  flip_and_probe((size_t)(iOff + nSize), "/c.sst: index checksum mismatch");
}
END_TEST

START_TEST(sst_filter_corruption_is_reported)
{
  uint64_t iOff, nSize;
  region_of(fx.a, fx.n, SST_FOOTER_FILTER_OFF, &iOff, &nSize);
  ck_assert_uint_gt(nSize, 400 * 10 / 8);
  flip_and_probe((size_t)iOff, "/c.sst: filter checksum mismatch");
  flip_and_probe((size_t)(iOff + nSize / 2), "/c.sst: filter checksum mismatch");
}
END_TEST

START_TEST(sst_properties_corruption_is_reported)
{
  uint64_t iOff, nSize;
  region_of(fx.a, fx.n, SST_FOOTER_PROPS_OFF, &iOff, &nSize);
  flip_and_probe((size_t)iOff, "/c.sst: properties checksum mismatch");
  flip_and_probe((size_t)(iOff + nSize - 1), "/c.sst: properties checksum mismatch");
}
END_TEST

START_TEST(sst_footer_corruption_is_reported)
{
  size_t f = fx.n - SST_FOOTER_SIZE;
  flip_and_probe(f + SST_FOOTER_INDEX_OFF, "/c.sst: footer checksum mismatch");
  flip_and_probe(f + SST_FOOTER_VERSION, "/c.sst: footer checksum mismatch");
  flip_and_probe(f + SST_FOOTER_CHECKSUM + 3, "/c.sst: footer checksum mismatch");
  flip_and_probe(f + SST_FOOTER_MAGIC + 7, "/c.sst: footer: bad magic number");
}
END_TEST

START_TEST(sst_truncated_or_extended_file_is_reported)
{
  size_t n = fx.n, m;
  uint8_t *b;
  for(m = 0; m < n; m += (m < 100 || n - m < 200) ? 1 : 37){
    file_put(fx.pEnv, "/c.sst", fx.a, m);
    probe_damaged(NULL);
  }
  /* Extra bytes after the footer. */
  b = malloc(n + 100);
  memcpy(b, fx.a, n);
  memset(b + n, 0, 100);
  file_put(fx.pEnv, "/c.sst", b, n + 100);
  probe_damaged("footer");
  /* A footer moved to the end of a longer file does not fit its regions. */
  memcpy(b + 100, fx.a, n);
  file_put(fx.pEnv, "/c.sst", b, n + 100);
  probe_damaged(NULL);
  free(b);
}
END_TEST

START_TEST(sst_any_flipped_byte_is_reported_and_never_gives_wrong_data)
{
  size_t i;
  int k;
  /* A small table, so that every byte can be tried. */
  for(k = 0; k < 60; k++){
    char z[16];
    int nz = snprintf(z, sizeof(z), "k%03d", k * 3);
    harness_model_add(&fx.t, z, (size_t)nz, (uint64_t)(10 + k), k % 5 ? IKEY_VALUE : IKEY_DELETE,
                      "vvvv", k % 5 ? 4 : 0);
  }
  harness_model_sort(&fx.t);
  write_damage_target(256);
  for(i = 0; i < fx.n; i += test_quick() ? 3 : 1) flip_and_probe(i, NULL);
}
END_TEST

START_TEST(sst_a_file_that_is_not_an_sstable_is_reported)
{
  sst_reader *pReader = NULL;
  uint8_t a[4096];
  size_t i;
  for(i = 0; i < sizeof(a); i++) a[i] = (uint8_t)(i * 131 + 7);
  file_put(fx.pEnv, "/c.sst", a, sizeof(a));
  ck_assert_int_eq(open_reader(fx.pEnv, "/c.sst", &pReader), LSM_CORRUPT);
  ck_assert_str_eq(lsm_errmsg(NULL), "/c.sst: footer: bad magic number (not an SSTable, or truncated)");
  ck_assert_ptr_null(pReader);
  ck_assert_int_eq(open_reader(fx.pEnv, "/missing.sst", &pReader), LSM_CANTOPEN);
}
END_TEST

/* ---- failures of the environment ---- */

START_TEST(sst_failed_allocations_and_io_are_reported_and_leak_nothing)
{
  lsm_env *pBase = lsm_env_memory();
  faultenv *fe = faultenv_new(pBase);
  lsm_env *pEnv = faultenv_env(fe);
  unsigned long long seed = test_seed();
  static const int aClass[] = {FAULTENV_ALLOC, FAULTENV_OPEN, FAULTENV_APPEND, FAULTENV_SYNC, FAULTENV_MAP,
                               FAULTENV_READ, FAULTENV_SIZE};
  harness_model t = {0};
  test_rng r;
  size_t c;
  rng_init(&r, seed);
  harness_model_random(&t, &r, test_scale(300), 2, 12, 3000);
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
        rc = open_reader(pEnv, "/f.sst", &pReader);
      }
      size_t nScanned = 0;
      if( rc == LSM_OK ){
        iter *it = sst_reader_iter(pReader, &rc);
        if( it ){
          for(iter_last(it); iter_valid(it); iter_prev(it)) nScanned++;
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
      /* A failed read (or allocation) of a scan's readahead run is
      ** retried as a read of the one block the scan needs
      ** (sst_reader_load_block_ahead): the scan then goes on, whole. */
      SEED_ASSERT(rc == (aClass[c] == FAULTENV_ALLOC ? LSM_NOMEM : LSM_IOERR)
                  || (rc == LSM_OK && nScanned == t.n),
                  "class %zu call %llu: rc %d, %zu of %zu entries", seed, c,
                  (unsigned long long)iNth, rc, nScanned, t.n);
    }
  }
  harness_model_clear(&t);
  faultenv_free(fe);
  lsm_env_memory_free(pBase);
}
END_TEST

START_TEST(sst_a_file_truncated_after_open_is_reported_when_read)
{
  sst_reader *pReader;
  iter *it;
  int rc = LSM_OK;
  size_t i = 0;
  /* Only blocks read with xRead can notice: a mapping would fault. */
  ck_assert_int_eq(open_reader(fx.pEnv, "/c.sst", &pReader), LSM_OK);
  file_put(fx.pEnv, "/c.sst", fx.a, fx.n / 2);
  it = sst_reader_iter(pReader, &rc);
  ck_assert_ptr_nonnull(it);
  for(iter_first(it); iter_valid(it); iter_next(it)) i++;
  ck_assert_int_eq(iter_status(it), LSM_CORRUPT);
  ck_assert_msg(strstr(lsm_errmsg(NULL), "is truncated") != NULL, "message: %s", lsm_errmsg(NULL));
  ck_assert_uint_lt(i, fx.t.n);
  iter_close(it);
  sst_reader_unref(pReader);
}
END_TEST

/*
** A compressed block whose bytes were changed and whose checksum was then
** recomputed (as a bug in a writer, or an attacker, could make): every
** read returns LSM_OK or LSM_CORRUPT, never a crash or a read outside a
** buffer (the sanitizer build runs this too).  Seeded, a bounded number
** of damaged tables.
*/
START_TEST(sst_damaged_compressed_blocks_are_reported_never_a_crash)
{
  unsigned long long seed = test_seed();
  static const int aComp[] = { LSM_COMPRESSION_LZ4, LSM_COMPRESSION_ZSTD };
  test_rng r;
  size_t c;
  int k, nCompressed = 0, nCorrupt = 0;
  rng_init(&r, seed);
  for(k = 0; k < 300; k++){
    char z[24], v[128];
    int nz = snprintf(z, sizeof(z), "key%06d", k);
    int nv = snprintf(v, sizeof(v), "value %d value %d value %d value", k, k, k);
    harness_model_add(&fx.t, z, (size_t)nz, (uint64_t)(10 + k), IKEY_VALUE, v, (size_t)nv);
  }
  harness_model_sort(&fx.t);
  for(c = 0; c < sizeof(aComp) / sizeof(aComp[0]); c++){
    int iTry;
    g_compression = aComp[c];
    free(fx.a);
    write_damage_target(1024);
    for(iTry = 0; iTry < (test_quick() ? 100 : 400); iTry++){
      uint8_t *b = malloc(fx.n);
      uint64_t iIdx, nIdx, nBlock = 0, j, iPick;
      const uint8_t *pI, *pEnd;
      uint64_t iBlkOff = 0, nBlkSize = 0;
      sst_reader *pReader = NULL;
      int rc, nDamage, d;
      memcpy(b, fx.a, fx.n);
      region_of(b, fx.n, SST_FOOTER_INDEX_OFF, &iIdx, &nIdx);
      pI = b + iIdx;
      pEnd = pI + nIdx;
      pI = coding_get_varint64(pI, pEnd, &nBlock);
      ck_assert(pI && nBlock > 0);
      iPick = rng_below(&r, nBlock);
      for(j = 0; j <= iPick; j++){
        uint64_t nk = 0;
        pI = coding_get_varint64(pI, pEnd, &nk);
        pI = coding_get_varint64(pI + nk, pEnd, &iBlkOff);
        pI = coding_get_varint64(pI, pEnd, &nBlkSize);
        ck_assert_ptr_nonnull(pI);
      }
      if( b[iBlkOff + nBlkSize] == 0 ){ free(b); continue; }     /* stored raw */
      nCompressed++;
      /* Damage: flip bytes, zero a run, or copy bytes from elsewhere. */
      nDamage = 1 + (int)rng_below(&r, 4);
      for(d = 0; d < nDamage; d++){
        uint64_t at = iBlkOff + rng_below(&r, nBlkSize);
        switch( rng_below(&r, 3) ){
          case 0: b[at] ^= (uint8_t)(1 + rng_below(&r, 255)); break;
          case 1: { uint64_t m = rng_below(&r, 8); while( m-- && at < iBlkOff + nBlkSize ) b[at++] = 0; break; }
          default: b[at] = b[iBlkOff + rng_below(&r, nBlkSize)]; break;
        }
      }
      coding_put64(b + iBlkOff + nBlkSize + 1,
                   checksum_compute2(b + iBlkOff, (size_t)nBlkSize, b + iBlkOff + nBlkSize, 1,
                                     SST_SEED_DATA));
      file_put(fx.pEnv, "/c.sst", b, fx.n);
      rc = open_reader(fx.pEnv, "/c.sst", &pReader);
      ck_assert_int_eq(rc, LSM_OK);       /* the meta regions are intact */
      {
        iter *it = sst_reader_iter(pReader, &rc);
        size_t nSeen = 0;
        for(iter_first(it); iter_valid(it); iter_next(it)) nSeen++;
        rc = iter_status(it);
        SEED_ASSERT(rc == LSM_OK || rc == LSM_CORRUPT, "try %d: iter rc %d", seed, iTry, rc);
        if( rc == LSM_CORRUPT ) nCorrupt++;
        iter_close(it);
        for(j = 0; j < fx.t.n; j += 7){
          const harness_entry *e = &fx.t.a[j];
          const uint8_t *pVal;
          block_handle *pPin = NULL;
          size_t nVal;
          int bFound, type;
          rc = sst_reader_get(pReader, e->pKey, e->nKey - IKEY_TRAILER, IKEY_MAX_SEQ,
                              &bFound, &type, &pVal, &nVal, &pPin, NULL);
          SEED_ASSERT(rc == LSM_OK || rc == LSM_CORRUPT, "try %d: get rc %d", seed, iTry, rc);
          block_cache_release(pPin);
        }
        rc = sst_reader_check(pReader);
        SEED_ASSERT(rc == LSM_OK || rc == LSM_CORRUPT, "try %d: check rc %d", seed, iTry, rc);
        (void)nSeen;
      }
      sst_reader_unref(pReader);
      free(b);
    }
  }
  /* The test must have damaged compressed blocks, and most damage shows. */
  ck_assert_int_gt(nCompressed, 50);
  ck_assert_int_gt(nCorrupt, nCompressed / 4);
}
END_TEST

/* A table written before compression (format 1) still opens and reads:
** the worked example of sst_writer.c as format 1 wrote it (the file the
** writer of commit 6ee7435 made; the drawing then had the index trailer
** one byte off). */
START_TEST(sst_format_1_tables_still_open)
{
  static const uint8_t aV1[] = {
    0x00,0x05,0x03,0x81,0x04,0x61,0x70,0x70,0x6c,0x65,0x72,0x65,0x64,0x05,0x00,0x00,
    0x80,0x02,0x02,0x05,0x06,0x81,0x06,0x72,0x69,0x63,0x6f,0x74,0x6f,0x72,0x61,0x6e,
    0x67,0x65,0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x15,0x2c,0xa7,0x7e,0x3b,0x15,
    0xe4,0xf9,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x01,0x10,0x00,0x00,0x00,0x00,0x00,0x00,0x08,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x02,0x00,0x00,0x00,0x00,0x20,0x00,0x00,
    0x00,0x00,0x00,0x50,0x00,0x00,0x00,0x00,0x10,0x00,0x08,0x00,0x00,0x00,0x02,0x00,
    0x00,0x08,0x00,0x00,0x04,0x00,0x00,0x00,0x20,0x00,0x40,0x00,0x00,0x00,0x00,0x00,
    0x07,0xe9,0x24,0x55,0x33,0xac,0x79,0xca,0xce,0x03,0x01,0x1a,0x01,0x0d,0x61,0x70,
    0x70,0x6c,0x65,0x01,0x02,0x00,0x00,0x00,0x00,0x00,0x00,0x0f,0x61,0x70,0x72,0x69,
    0x63,0x6f,0x74,0x01,0x03,0x00,0x00,0x00,0x00,0x00,0x00,0x97,0xd0,0x40,0x63,0xef,
    0x58,0xae,0xab,0x01,0x0f,0x61,0x70,0x72,0x69,0x63,0x6f,0x74,0x01,0x03,0x00,0x00,
    0x00,0x00,0x00,0x00,0x00,0x2a,0xdb,0x0e,0xde,0x32,0x22,0x35,0x07,0x78,0x32,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x4f,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x89,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x22,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0xb3,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x13,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x07,0x54,0x18,0xfd,0x8a,0xbc,0x50,0xe5,0x89,0x6c,
    0x73,0x6d,0x0d,0x0a,0x1a,0x0a
  };
  harness_model t = {0};
  sst_reader *pReader;
  test_rng r;
  ck_assert_uint_eq(sizeof(aV1), 278);
  harness_model_add(&t, "apple", 5, 2, IKEY_VALUE, "red", 3);
  harness_model_add(&t, "apple", 5, 1, IKEY_DELETE, "", 0);
  harness_model_add(&t, "apricot", 7, 3, IKEY_VALUE, "orange", 6);
  harness_model_sort(&t);
  file_put(fx.pEnv, "/v1.sst", aV1, sizeof(aV1));
  ck_assert_int_eq(open_reader(fx.pEnv, "/v1.sst", &pReader), LSM_OK);
  rng_init(&r, 1);
  compare_reader(pReader, &t, &r, 50, 1);
  sst_reader_unref(pReader);
  harness_model_clear(&t);
}
END_TEST

/*
** A writer stops running the compressor over data that does not compress
** (SST_COMPRESS_MAX_SKIP in sst_writer.c) and starts again when it does:
** 400 blocks of random bytes, then 400 of one repeated byte, each entry a
** block of its own.  The random run is tried at most once every few
** blocks, the repeated run is compressed after at most 16 raw blocks, and
** every entry reads back.  Seed 7 (fixed).
*/
START_TEST(sst_incompressible_runs_skip_the_compressor)
{
  harness_model t = {0};
  sst_meta meta;
  sst_reader *pReader;
  test_rng r;
  uint8_t aVal[1000];
  int i;
  rng_init(&r, 7);
  for(i = 0; i < 800; i++){
    char z[16];
    int nz = snprintf(z, sizeof(z), "k%05d", i);
    size_t j;
    for(j = 0; j < sizeof(aVal); j++){
      aVal[j] = i < 400 ? (uint8_t)rng_next(&r) : (uint8_t)'x';
    }
    harness_model_add(&t, z, (size_t)nz, 1, IKEY_VALUE, aVal, sizeof(aVal));
  }
  harness_model_sort(&t);
  g_compression = LSM_COMPRESSION_LZ4;
  ck_assert_int_eq(write_table(fx.pEnv, "/skip.sst", &t, 512, 10, &meta), LSM_OK);
  ck_assert_uint_eq(meta.nDataBlocks, 800);
  /* The random run: four failed tries, then 1 + 2 + 4 + 8 blocks skipped
  ** after the next four, then 16 after each: 8 + (400 - 23) / 17 + 1 = 31
  ** tries at most. */
  ck_assert_uint_le(meta.nCompressTries, 31 + 400);
  ck_assert_uint_ge(meta.nCompressTries, 384);
  /* At most 16 of the repeated blocks stored raw (1,000 bytes and more);
  ** LZ4 stores the others in well under 100 bytes each. */
  ck_assert_uint_lt(meta.nFileBytes, 400 * 1040 + 16 * 1040 + 384 * 100 + 16384);
  ck_assert_int_eq(open_reader(fx.pEnv, "/skip.sst", &pReader), LSM_OK);
  compare_reader(pReader, &t, &r, 200, 7);
  ck_assert_int_eq(sst_reader_check(pReader), LSM_OK);
  sst_reader_unref(pReader);
  sst_meta_clear(fx.pEnv, &meta);
  harness_model_clear(&t);
}
END_TEST

/*
** Blocks that alternate between incompressible (random) and compressible
** (one repeated byte), each entry a block of its own: the writer never
** skips the compressor (it skips only after several failures in a row),
** so every compressible block is stored compressed.  Before, each failure
** started a skip run and two thirds of the compressible blocks were
** stored raw.  Seed 11 (fixed).
*/
START_TEST(sst_alternating_blocks_are_all_tried)
{
  harness_model t = {0};
  sst_meta meta;
  sst_reader *pReader;
  test_rng r;
  uint8_t aVal[1000];
  int i;
  rng_init(&r, 11);
  for(i = 0; i < 400; i++){
    char z[16];
    int nz = snprintf(z, sizeof(z), "k%05d", i);
    size_t j;
    for(j = 0; j < sizeof(aVal); j++){
      aVal[j] = (i & 1) ? (uint8_t)rng_next(&r) : (uint8_t)'x';
    }
    harness_model_add(&t, z, (size_t)nz, 1, IKEY_VALUE, aVal, sizeof(aVal));
  }
  harness_model_sort(&t);
  g_compression = LSM_COMPRESSION_LZ4;
  ck_assert_int_eq(write_table(fx.pEnv, "/alt.sst", &t, 512, 10, &meta), LSM_OK);
  ck_assert_uint_eq(meta.nDataBlocks, 400);
  ck_assert_uint_eq(meta.nCompressTries, 400);
  /* 200 raw random blocks, 200 compressed to well under 100 bytes. */
  ck_assert_uint_lt(meta.nFileBytes, 200 * 1040 + 200 * 100 + 16384);
  ck_assert_int_eq(open_reader(fx.pEnv, "/alt.sst", &pReader), LSM_OK);
  compare_reader(pReader, &t, &r, 200, 11);
  ck_assert_int_eq(sst_reader_check(pReader), LSM_OK);
  sst_reader_unref(pReader);
  sst_meta_clear(fx.pEnv, &meta);
  harness_model_clear(&t);
}
END_TEST

/* ---- readahead (sst_reader_load_block_ahead) ---- */

/*
** Readahead fixture: fx.t holds 3,000 distinct user keys (values of 0 to
** 60 bytes, a tombstone in eleven), written to /c.sst in blocks of 256
** bytes: about 400 blocks, so that a scan steps past SST_PASSING_AFTER
** and reads runs of many blocks at once.
*/
static void write_readahead_target(void){
  int i;
  for(i = 0; i < 3000; i++){
    char z[16], v[64];
    int nz = snprintf(z, sizeof(z), "ra%06d", i);
    int nv = snprintf(v, sizeof(v), "%.*s", (i * 7) % 61,
                      "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    harness_model_add(&fx.t, z, (size_t)nz, (uint64_t)(10 + i), i % 11 ? IKEY_VALUE : IKEY_DELETE,
                      v, i % 11 ? (size_t)nv : 0);
  }
  harness_model_sort(&fx.t);
  write_damage_target(256);
}

/* Entries of fx.t whose user key is at most (pUser, nUser). */
static size_t entries_up_to(const uint8_t *pUser, size_t nUser){
  size_t i = 0;
  while( i < fx.t.n
      && ikey_compare_user(fx.t.a[i].pKey, fx.t.a[i].nKey - IKEY_TRAILER, pUser, nUser) <= 0 ){
    i++;
  }
  return i;
}

/* Scan pReader forward (bForward) or backward from the end: the entries
** it returns must be fx.t's in order; returns how many, *pRc the status. */
static size_t scan_against_model(sst_reader *pReader, int bForward, int *pRc){
  int rc = LSM_OK;
  size_t n = 0;
  iter *it = sst_reader_iter(pReader, &rc);
  ck_assert_ptr_nonnull(it);
  for(bForward ? iter_first(it) : iter_last(it); iter_valid(it);
      bForward ? iter_next(it) : iter_prev(it)){
    const harness_entry *e;
    size_t nK, nV;
    const uint8_t *pK = iter_key(it, &nK), *pV = iter_value(it, &nV);
    LOOP_ASSERT(n < fx.t.n);
    e = &fx.t.a[bForward ? n : fx.t.n - 1 - n];
    LOOP_ASSERT(nK == e->nKey && memcmp(pK, e->pKey, nK) == 0);
    LOOP_ASSERT(nV == e->nVal && (nV == 0 || memcmp(pV, e->pVal, nV) == 0));
    n++;
  }
  *pRc = iter_status(it);
  iter_close(it);
  return n;
}

/* The caches the readahead tests read through: none, one too small to
** take the blocks read ahead (served from the iterator's buffer), one
** with room for all of them (entered into it as a scan's). */
static const uint64_t aReadaheadCache[] = { 0, 4 * 1024, 64 << 20 };
#define N_READAHEAD_CACHES 3

static sst_reader *open_uncached_reader(int iCache, block_cache **ppCache){
  sst_reader *pReader = NULL;
  *ppCache = NULL;
  if( aReadaheadCache[iCache] ){
    ck_assert_int_eq(block_cache_new(lsm_env_default(), aReadaheadCache[iCache], ppCache), LSM_OK);
  }
  ck_assert_int_eq(sst_reader_open(fx.pEnv, "/c.sst", *ppCache, 0, &pReader), LSM_OK);
  return pReader;
}

START_TEST(sst_scans_reading_ahead_return_the_model_both_ways)
{
  int iCache, iRound, rc;
  write_readahead_target();
  for(iCache = 0; iCache < N_READAHEAD_CACHES; iCache++){
    block_cache *pCache;
    sst_reader *pReader = open_uncached_reader(iCache, &pCache);
    ck_assert_uint_gt(sst_reader_blocks(pReader), 300);
    /* Twice each way: the second scans meet blocks the first left cached. */
    for(iRound = 0; iRound < 4; iRound++){
      size_t n = scan_against_model(pReader, iRound % 2 == 0, &rc);
      ck_assert_msg(rc == LSM_OK && n == fx.t.n, "cache %d round %d: %zu of %zu entries, rc %d",
                    iCache, iRound, n, fx.t.n, rc);
    }
    sst_reader_unref(pReader);
    block_cache_unref(pCache);
  }
}
END_TEST

START_TEST(sst_a_block_damaged_inside_a_readahead_run_is_reported_when_reached)
{
  /* Block 40 lies inside the first run a forward scan reads ahead (it
  ** starts at block 5, 256 blocks of 256 bytes), and inside the first
  ** run a backward scan reads, from the last block down. */
  static const int aDamaged[] = { 40, -40 };
  int iCase, iCache;
  write_readahead_target();
  for(iCase = 0; iCase < 2; iCase++){
    for(iCache = 0; iCache < N_READAHEAD_CACHES; iCache++){
      block_cache *pCache;
      sst_reader *pReader = open_uncached_reader(iCache, &pCache);
      int nBlock = (int)sst_reader_blocks(pReader), bForward = aDamaged[iCase] > 0;
      int k = bForward ? aDamaged[iCase] : nBlock + aDamaged[iCase];
      uint8_t *b = malloc(fx.n);
      size_t nSep, nExpect, n;
      const uint8_t *pSep;
      char zMsg[64];
      int rc;
      /* The entries a scan returns before it reaches block k. */
      if( bForward ){
        pSep = sst_reader_index_user_key(pReader, k - 1, &nSep);
        nExpect = entries_up_to(pSep, nSep);
      }else{
        pSep = sst_reader_index_user_key(pReader, k, &nSep);
        nExpect = fx.t.n - entries_up_to(pSep, nSep);
      }
      memcpy(b, fx.a, fx.n);
      b[sst_reader_index_offset(pReader, k) + 5] ^= 0x5a;
      file_put(fx.pEnv, "/c.sst", b, fx.n);
      error_clear();
      n = scan_against_model(pReader, bForward, &rc);
      snprintf(zMsg, sizeof(zMsg), "/c.sst: block %d checksum mismatch", k);
      ck_assert_msg(rc == LSM_CORRUPT && n == nExpect && strstr(lsm_errmsg(NULL), zMsg),
                    "cache %d, block %d damaged, %s: %zu entries (expected %zu), rc %d: %s",
                    iCache, k, bForward ? "forward" : "backward", n, nExpect, rc,
                    lsm_errmsg(NULL));
      file_put(fx.pEnv, "/c.sst", fx.a, fx.n);
      free(b);
      sst_reader_unref(pReader);
      block_cache_unref(pCache);
    }
  }
}
END_TEST

/* An env over the memory env whose xRead fails with LSM_CORRUPT (as the
** in-database store's does for a missing chunk row) every read that
** starts before g_iBadOff (a block's offset) and reaches past it: a run
** read ahead that holds that block, when the block the scan is at (a
** read starting at it) still reads, and so does that block alone.  Its calls that take the env pass the
** memory env on (the memory env's state is the struct around its own). */
static lsm_env *g_pInnerEnv;
static uint64_t g_iBadOff;
static int g_nFailedReads;
static int read_failing_past(lsm_file *pFile, uint64_t iOff, void *pBuf, size_t nBuf,
                             size_t *pnRead){
  if( iOff < g_iBadOff && iOff + nBuf > g_iBadOff ){
    g_nFailedReads++;
    *pnRead = 0;
    return lsm_env_error(LSM_CORRUPT, "/c.sst: bytes at %llu are damaged",
                         (unsigned long long)g_iBadOff);
  }
  return g_pInnerEnv->xRead(pFile, iOff, pBuf, nBuf, pnRead);
}
static int open_inner(lsm_env *pEnv, const char *zPath, int flags, lsm_file **ppFile){
  (void)pEnv;
  return g_pInnerEnv->xOpen(g_pInnerEnv, zPath, flags, ppFile);
}
static void *malloc_inner(lsm_env *pEnv, size_t n){
  (void)pEnv;
  return g_pInnerEnv->xMalloc(g_pInnerEnv, n);
}
static void *realloc_inner(lsm_env *pEnv, void *p, size_t n){
  (void)pEnv;
  return g_pInnerEnv->xRealloc(g_pInnerEnv, p, n);
}
static void free_inner(lsm_env *pEnv, void *p){
  (void)pEnv;
  g_pInnerEnv->xFree(g_pInnerEnv, p);
}

START_TEST(sst_a_run_that_cannot_be_read_ahead_is_read_block_by_block)
{
  lsm_env env;
  int iCache, rc;
  write_readahead_target();
  g_pInnerEnv = fx.pEnv;
  env = *fx.pEnv;
  env.xOpen = open_inner;
  env.xRead = read_failing_past;
  env.xMap = NULL;
  env.xMalloc = malloc_inner;
  env.xRealloc = realloc_inner;
  env.xFree = free_inner;
  for(iCache = 0; iCache < N_READAHEAD_CACHES; iCache++){
    block_cache *pCache = NULL;
    sst_reader *pReader = NULL;
    size_t n;
    if( aReadaheadCache[iCache] ){
      ck_assert_int_eq(block_cache_new(lsm_env_default(), aReadaheadCache[iCache], &pCache),
                       LSM_OK);
    }
    ck_assert_int_eq(sst_reader_open(&env, "/c.sst", pCache, 0, &pReader), LSM_OK);
    g_iBadOff = sst_reader_index_offset(pReader, 40);
    g_nFailedReads = 0;
    n = scan_against_model(pReader, 1, &rc);
    ck_assert_msg(rc == LSM_OK && n == fx.t.n, "cache %d: %zu of %zu entries, rc %d: %s",
                  iCache, n, fx.t.n, rc, lsm_errmsg(NULL));
    ck_assert_int_gt(g_nFailedReads, 0);      /* a run did cover it */
    sst_reader_unref(pReader);
    block_cache_unref(pCache);
  }
  g_iBadOff = 0;
}
END_TEST


/* Readahead: memory, errors, compression, truncation (review of branch
** scanahead; each of the first two failed before its fix). */
static long g_nLive;            /* bytes live through the counting env */
static void *cnt_malloc(lsm_env *pEnv, size_t n){
  uint8_t *a; (void)pEnv;
  a = g_pInnerEnv->xMalloc(g_pInnerEnv, n + 16);
  if( !a ) return NULL;
  memcpy(a, &n, sizeof(n)); g_nLive += (long)n; return a + 16;
}
static void cnt_free(lsm_env *pEnv, void *p){
  size_t n; (void)pEnv;
  if( !p ) return;
  memcpy(&n, (uint8_t*)p - 16, sizeof(n)); g_nLive -= (long)n;
  g_pInnerEnv->xFree(g_pInnerEnv, (uint8_t*)p - 16);
}
static void *cnt_realloc(lsm_env *pEnv, void *p, size_t n){
  void *q = cnt_malloc(pEnv, n);
  size_t nOld = 0;
  if( q && p ){ memcpy(&nOld, (uint8_t*)p - 16, sizeof(nOld)); memcpy(q, p, nOld < n ? nOld : n); cnt_free(pEnv, p); }
  return q;
}
/* A reader of /c.sst without a mapping through *pEnv, whose heap is
** counted in g_nLive (pEnv must outlive the reader). */
static sst_reader *open_counted_reader(lsm_env *pEnv){
  sst_reader *pReader = NULL;
  g_pInnerEnv = fx.pEnv;
  *pEnv = *fx.pEnv;
  pEnv->xOpen = open_inner;
  pEnv->xMap = NULL;
  pEnv->xMalloc = cnt_malloc;
  pEnv->xRealloc = cnt_realloc;
  pEnv->xFree = cnt_free;
  ck_assert_int_eq(sst_reader_open(pEnv, "/c.sst", NULL, 0, &pReader), LSM_OK);
  return pReader;
}

/* A parked iterator (iter.h item 7: holds no more than a few KiB) after a scan. */
START_TEST(sst_a_parked_iterator_keeps_no_readahead_buffer)
{
  lsm_env env;
  sst_reader *pReader = NULL;
  iter *it;
  int rc = LSM_OK;
  long nBefore, nParked;
  size_t n = 0;
  write_readahead_target();
  pReader = open_counted_reader(&env);
  it = sst_reader_iter(pReader, &rc);
  nBefore = g_nLive;
  for(iter_first(it); iter_valid(it); iter_next(it)) n++;
  ck_assert_uint_eq(n, fx.t.n);
  iter_park(it);
  nParked = g_nLive - nBefore;
  ck_assert_msg(nParked <= ITER_PARK_KEEP_BYTES + 1024, "parked iterator holds %ld bytes", nParked);
  iter_close(it);
  sst_reader_unref(pReader);
}
END_TEST

/* An I/O error past block 40 in a run read at block ~5: reported at 5 (no readahead: at 40). */
static int read_ioerr_past(lsm_file *pFile, uint64_t iOff, void *pBuf, size_t nBuf, size_t *pnRead){
  if( iOff <= g_iBadOff && iOff + nBuf > g_iBadOff ){
    *pnRead = 0;
    return lsm_env_error(LSM_IOERR, "EIO at %llu", (unsigned long long)g_iBadOff);
  }
  return g_pInnerEnv->xRead(pFile, iOff, pBuf, nBuf, pnRead);
}
START_TEST(sst_an_io_error_inside_a_readahead_run_is_reported_when_reached)
{
  lsm_env env;
  int rc;
  sst_reader *pReader = NULL;
  size_t n, nExpect, nSep;
  const uint8_t *pSep;
  write_readahead_target();
  g_pInnerEnv = fx.pEnv;
  env = *fx.pEnv;
  env.xOpen = open_inner; env.xRead = read_ioerr_past; env.xMap = NULL;
  env.xMalloc = malloc_inner; env.xRealloc = realloc_inner; env.xFree = free_inner;
  ck_assert_int_eq(sst_reader_open(&env, "/c.sst", NULL, 0, &pReader), LSM_OK);
  g_iBadOff = sst_reader_index_offset(pReader, 40);
  pSep = sst_reader_index_user_key(pReader, 39, &nSep);
  nExpect = entries_up_to(pSep, nSep);
  n = scan_against_model(pReader, 1, &rc);
  ck_assert_msg(n == nExpect, "I/O error of block 40 reported after %zu entries, not %zu", n, nExpect);
  sst_reader_unref(pReader);
  g_iBadOff = 0;
}
END_TEST

/* Readahead over compressed blocks (the readahead case runs raw only). */
START_TEST(sst_scans_reading_ahead_over_compressed_blocks_return_the_model)
{
  int iCache, iRound, rc, c;
  static const int aC[] = { LSM_COMPRESSION_LZ4, LSM_COMPRESSION_ZSTD };
  for(c = 0; c < 2; c++){
    g_compression = aC[c];
    harness_model_clear(&fx.t);
    memset(&fx.t, 0, sizeof(fx.t));
    free(fx.a); fx.a = NULL;
    write_readahead_target();
    for(iCache = 0; iCache < N_READAHEAD_CACHES; iCache++){
      block_cache *pCache;
      sst_reader *pReader = open_uncached_reader(iCache, &pCache);
      for(iRound = 0; iRound < 4; iRound++){
        size_t n = scan_against_model(pReader, iRound % 2 == 0, &rc);
        ck_assert_msg(rc == LSM_OK && n == fx.t.n, "comp %d cache %d round %d: %zu of %zu, rc %d",
                      aC[c], iCache, iRound, n, fx.t.n, rc);
      }
      sst_reader_unref(pReader);
      block_cache_unref(pCache);
    }
  }
  g_compression = LSM_COMPRESSION_NONE;
}
END_TEST


/* A huge value's block: the readahead buffer grows to it and a parked iterator keeps it. */
START_TEST(sst_a_parked_iterator_keeps_no_buffer_grown_to_a_huge_block)
{
  lsm_env env;
  sst_reader *pReader = NULL;
  iter *it;
  int rc = LSM_OK, i;
  long nBefore, nParked;
  char *zBig = malloc(4 << 20);
  memset(zBig, 'q', 4 << 20);
  for(i = 0; i < 400; i++){
    char z[16];
    int nz = snprintf(z, sizeof(z), "hb%06d", i);
    harness_model_add(&fx.t, z, (size_t)nz, (uint64_t)(10 + i), IKEY_VALUE,
                      i == 300 ? zBig : "value-value-value-value", i == 300 ? (size_t)(4 << 20) : 23);
  }
  harness_model_sort(&fx.t);
  write_damage_target(256);
  pReader = open_counted_reader(&env);
  it = sst_reader_iter(pReader, &rc);
  nBefore = g_nLive;
  for(iter_first(it); iter_valid(it); iter_next(it)){}
  ck_assert_int_eq(iter_status(it), LSM_OK);
  iter_park(it);
  nParked = g_nLive - nBefore;
  ck_assert_msg(nParked <= ITER_PARK_KEEP_BYTES + 1024, "parked iterator holds %ld bytes", nParked);
  iter_close(it);
  sst_reader_unref(pReader);
  free(zBig);
}
END_TEST


/* A file cut after open inside a readahead run: "block k is truncated" when k is reached. */
START_TEST(sst_a_file_cut_inside_a_readahead_run_is_truncation_when_reached)
{
  int iCache, k = 40, rc;
  write_readahead_target();
  for(iCache = 0; iCache < N_READAHEAD_CACHES; iCache++){
    block_cache *pCache;
    sst_reader *pReader = open_uncached_reader(iCache, &pCache);
    size_t nSep, nExpect, n;
    const uint8_t *pSep = sst_reader_index_user_key(pReader, k - 1, &nSep);
    char zMsg[80];
    nExpect = entries_up_to(pSep, nSep);
    file_put(fx.pEnv, "/c.sst", fx.a, sst_reader_index_offset(pReader, k) + 7);
    error_clear();
    n = scan_against_model(pReader, 1, &rc);
    snprintf(zMsg, sizeof(zMsg), "block %d is truncated", k);
    ck_assert_msg(rc == LSM_CORRUPT && n == nExpect && strstr(lsm_errmsg(NULL), zMsg),
                  "cache %d: %zu entries (expected %zu), rc %d: %s", iCache, n, nExpect, rc,
                  lsm_errmsg(NULL));
    file_put(fx.pEnv, "/c.sst", fx.a, fx.n);
    sst_reader_unref(pReader);
    block_cache_unref(pCache);
  }
}
END_TEST

/* Fixtures that choose how blocks are read and written. */
static void setup_mapped(void){ set_read_mode(READ_MAPPED, LSM_COMPRESSION_NONE); }
static void setup_cached(void){ set_read_mode(READ_CACHED, LSM_COMPRESSION_NONE); }
static void setup_private(void){ set_read_mode(READ_PRIVATE, LSM_COMPRESSION_NONE); }
static void setup_lz4_mapped(void){ set_read_mode(READ_MAPPED, LSM_COMPRESSION_LZ4); }
static void setup_zstd_cached(void){ set_read_mode(READ_CACHED, LSM_COMPRESSION_ZSTD); }
static void teardown_mode(void){ clear_read_mode(); }

/* The test cases, with blocks read and written as xMode sets; zSuffix
** names the configuration. */
static void add_cases(Suite *s, int iConf, void (*xMode)(void), const char *zSuffix){
  static char azName[8][3][64];
  TCase *tcDisk, *tcMemory, *tcCorrupt;
  int eMode = xMode == setup_mapped || xMode == setup_lz4_mapped ? READ_MAPPED : READ_CACHED;
  snprintf(azName[iConf][0], sizeof(azName[0][0]), "disk%s", zSuffix);
  snprintf(azName[iConf][1], sizeof(azName[0][0]), "memory%s", zSuffix);
  snprintf(azName[iConf][2], sizeof(azName[0][0]), "corruption%s", zSuffix);
  tcDisk = tcase_create(azName[iConf][0]);
  tcMemory = tcase_create(azName[iConf][1]);
  tcCorrupt = tcase_create(azName[iConf][2]);

  tcase_add_checked_fixture(tcDisk, xMode, teardown_mode);
  tcase_set_timeout(tcDisk, 120);
  tcase_add_test(tcDisk, sst_random_tables_match_the_model);
  tcase_add_test(tcDisk, sst_keys_much_larger_than_a_block_match_the_model);
  tcase_add_test(tcDisk, sst_values_of_hundreds_of_kilobytes_match_the_model);
  tcase_add_test(tcDisk, sst_concurrent_readers_agree_with_the_model);
  tcase_add_test(tcDisk, sst_failed_allocations_and_io_are_reported_and_leak_nothing);
  suite_add_tcase(s, tcDisk);

  tcase_add_checked_fixture(tcMemory, xMode, teardown_mode);
  tcase_add_checked_fixture(tcMemory, setup_memory, teardown);
  tcase_set_timeout(tcMemory, 120);
  tcase_add_test(tcMemory, sst_tables_in_the_memory_env_match_the_model);
  tcase_add_test(tcMemory, sst_empty_table_has_no_entries);
  tcase_add_test(tcMemory, sst_single_entry_table_matches_the_model);
  tcase_add_test(tcMemory, sst_meta_and_properties_describe_the_table);
  tcase_add_test(tcMemory, sst_bloom_filter_rules_out_most_missing_keys);
  tcase_add_test(tcMemory, sst_table_without_filter_never_consults_one);
  tcase_add_test(tcMemory, sst_writer_refuses_keys_out_of_order);
  tcase_add_test(tcMemory, sst_any_flipped_byte_is_reported_and_never_gives_wrong_data);
  tcase_add_test(tcMemory, sst_a_file_that_is_not_an_sstable_is_reported);
  suite_add_tcase(s, tcMemory);

  /* Each damages the standard table its fixture writes. */
  tcase_add_checked_fixture(tcCorrupt, xMode, teardown_mode);
  tcase_add_checked_fixture(tcCorrupt, setup_corruption, teardown);
  tcase_set_timeout(tcCorrupt, 120);
  tcase_add_test(tcCorrupt, sst_data_block_corruption_is_reported);
  tcase_add_test(tcCorrupt, sst_index_corruption_is_reported);
  tcase_add_test(tcCorrupt, sst_filter_corruption_is_reported);
  tcase_add_test(tcCorrupt, sst_properties_corruption_is_reported);
  tcase_add_test(tcCorrupt, sst_footer_corruption_is_reported);
  tcase_add_test(tcCorrupt, sst_truncated_or_extended_file_is_reported);
  if( eMode != READ_MAPPED ){
    tcase_add_test(tcCorrupt, sst_a_file_truncated_after_open_is_reported_when_read);
  }
  suite_add_tcase(s, tcCorrupt);
}

static Suite *sst_suite(void){
  Suite *s = suite_create("sst");
  TCase *tc = tcase_create("compression");
  add_cases(s, 0, setup_mapped, "");
  add_cases(s, 1, setup_cached, " (blocks through a block cache)");
  add_cases(s, 2, setup_private, " (blocks read without a cache)");
  add_cases(s, 3, setup_lz4_mapped, " (lz4, mapped)");
  add_cases(s, 4, setup_zstd_cached, " (zstd, block cache)");
  tcase_add_checked_fixture(tc, setup_cached, teardown_mode);
  tcase_add_checked_fixture(tc, setup_memory, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, sst_damaged_compressed_blocks_are_reported_never_a_crash);
  tcase_add_test(tc, sst_format_1_tables_still_open);
  tcase_add_test(tc, sst_incompressible_runs_skip_the_compressor);
  tcase_add_test(tc, sst_alternating_blocks_are_all_tried);
  tcase_add_test(tc, sst_a_mapped_reader_keeps_its_filter_and_index_off_the_heap);
  suite_add_tcase(s, tc);
  tc = tcase_create("readahead");
  tcase_add_checked_fixture(tc, setup_memory, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, sst_scans_reading_ahead_return_the_model_both_ways);
  tcase_add_test(tc, sst_a_block_damaged_inside_a_readahead_run_is_reported_when_reached);
  tcase_add_test(tc, sst_a_run_that_cannot_be_read_ahead_is_read_block_by_block);
  tcase_add_test(tc, sst_a_parked_iterator_keeps_no_readahead_buffer);
  tcase_add_test(tc, sst_an_io_error_inside_a_readahead_run_is_reported_when_reached);
  tcase_add_test(tc, sst_scans_reading_ahead_over_compressed_blocks_return_the_model);
  tcase_add_test(tc, sst_a_file_cut_inside_a_readahead_run_is_truncation_when_reached);
  tcase_add_test(tc, sst_a_parked_iterator_keeps_no_buffer_grown_to_a_huge_block);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(sst_suite)
