/*
** test_iter_step.c — iter_step (lsm/iter.h item 8) against iter_next +
** iter_valid + iter_key, on every iterator that implements xStep.
**
**  1. SSTable twins: two iterators over one table, one moved with
**     iter_next, the other with iter_step, under random first, last,
**     seek (with and without the xPrefetch stages first), park, prev and
**     next/step, for mapped raw blocks, cached LZ4 blocks (a cache small
**     enough to evict) and private reads of keys up to 200 bytes: they
**     always agree, and the key a step returns is the key xKey gives.
**  2. Block twins over 3,000 random blocks, each an exact-size copy so
**     that the sanitizer build sees any read past a block's end; every
**     position is also the model's.
**  3. A failed read mid-scan: the Nth xRead fails while an SSTable is
**     scanned with iter_step; every key returned is the model's, and a
**     scan that ends early ends with an error status, never silently.
**  4. The same through the whole store (memtable, level 0, deeper levels,
**     no block cache, no mmap, table cache 0 so tables reopen at their
**     boundaries): seek walks mixing next and prev match the model, and
**     a failed read mid-scan ends with an error, never a short answer.
** (Written by a reviewer of the xStep change, adopted.)  Replay a failure
** with LSM_TEST_SEED=<printed seed>.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "block_cache.h"
#include "faultenv.h"
#include "harness.h"
#include "ikey.h"
#include "iter.h"
#include "lsm.h"
#include "sst_reader.h"
#include "sst_writer.h"
#include "testutil.h"

static unsigned long long g_seed;     /* the running test's seed, printed on failure */
#define CHECK(c, ...) do{ if( !(c) ){ \
    fprintf(stderr, "seed %llu (LSM_TEST_SEED replays it)\n", g_seed); \
    ck_abort_msg(__VA_ARGS__); } }while(0)

static int write_table(lsm_env *pEnv, const char *zPath, const harness_model *p, int nBlock,
                       int eCompression, sst_meta *pMeta){
  sst_options opt;
  sst_writer *w = NULL;
  size_t i;
  int rc;
  memset(&opt, 0, sizeof(opt));
  opt.block_bytes = nBlock;
  opt.bloom_bits = 10;
  opt.compression = eCompression;
  pEnv->xUnlink(pEnv, zPath);
  rc = sst_writer_open(pEnv, zPath, &opt, &w);
  for(i = 0; rc == LSM_OK && i < p->n; i++){
    rc = sst_writer_add(w, p->a[i].pKey, p->a[i].nKey, p->a[i].pVal, p->a[i].nVal);
  }
  if( w && rc == LSM_OK ) return sst_writer_finish(w, pMeta);
  sst_writer_abandon(w);
  return rc;
}

/* Both at the same place (valid, key, value). pStep: what iter_step gave
** (or (void*)1 to skip that check). */
static void twin_same(iter *a, iter *b, const uint8_t *pStep, size_t nStep, int iOp, const char *z){
  int va = iter_valid(a), vb = iter_valid(b);
  CHECK(va == vb, "op %d (%s): valid %d vs %d", iOp, z, va, vb);
  CHECK(iter_status(a) == iter_status(b), "op %d (%s): status %d vs %d", iOp, z,
        iter_status(a), iter_status(b));
  if( pStep != (const uint8_t*)1 ){
    CHECK((pStep != NULL) == vb, "op %d (%s): step returned %p, valid %d", iOp, z,
          (const void*)pStep, vb);
  }
  if( va ){
    size_t na, nb, nva, nvb;
    const uint8_t *ka = iter_key(a, &na), *kb = iter_key(b, &nb);
    const uint8_t *xa = iter_value(a, &nva), *xb = iter_value(b, &nvb);
    CHECK(na == nb && memcmp(ka, kb, na) == 0, "op %d (%s): keys differ", iOp, z);
    CHECK(nva == nvb && memcmp(xa, xb, nva) == 0, "op %d (%s): values differ", iOp, z);
    if( pStep && pStep != (const uint8_t*)1 ){
      CHECK(nStep == nb && memcmp(pStep, kb, nb) == 0, "op %d (%s): step key != xKey", iOp, z);
    }
  }
}

static void sst_twin(int eMode, int eCompression, size_t nKeyMax){
  lsm_env *pEnv = lsm_env_memory();
  harness_model m = {0};
  test_rng r;
  sst_meta meta;
  sst_reader *pReader = NULL;
  block_cache *pBlocks = NULL;
  iter *a, *b;
  int rc = LSM_OK, i;
  uint64_t seed = test_seed();
  g_seed = seed;
  rng_init(&r, seed);
  harness_model_random(&m, &r, 600, 3, nKeyMax, 40);
  ck_assert_int_eq(write_table(pEnv, "/t.sst", &m, 256, eCompression, &meta), LSM_OK);
  sst_meta_clear(pEnv, &meta);
  if( eMode == 1 ) ck_assert_int_eq(block_cache_new(pEnv, 8 * 1024, &pBlocks), LSM_OK);
  ck_assert_int_eq(sst_reader_open(pEnv, "/t.sst", pBlocks, eMode == 0, &pReader), LSM_OK);
  a = sst_reader_iter(pReader, &rc);
  b = sst_reader_iter(pReader, &rc);
  ck_assert_int_eq(rc, LSM_OK);
  iter_first(a); iter_first(b);
  for(i = 0; i < 200000; i++){
    int op = (int)rng_below(&r, 20);
    if( !iter_valid(a) && op >= 6 ) op = (int)rng_below(&r, 6);
    if( op == 0 ){ iter_first(a); iter_first(b); twin_same(a, b, (void*)1, 0, i, "first"); }
    else if( op == 1 ){ iter_last(a); iter_last(b); twin_same(a, b, (void*)1, 0, i, "last"); }
    else if( op == 2 || op == 3 ){
      /* seek; b with the prefetch stages first */
      size_t j = (size_t)rng_below(&r, m.n + 1);
      uint8_t aK[512];
      size_t nK;
      int s;
      if( j < m.n && rng_below(&r, 2) ){ nK = m.a[j].nKey; memcpy(aK, m.a[j].pKey, nK); }
      else{
        uint8_t aU[64];
        size_t nU = harness_random_user(&r, aU, 40);
        ikey_build(aK, aU, nU, rng_below(&r, 2000), IKEY_VALUE);
        nK = nU + IKEY_TRAILER;
      }
      iter_seek(a, aK, nK);
      if( op == 3 ) for(s = 0; s < ITER_PREFETCH_STAGES; s++) iter_prefetch(b, aK, nK, s);
      iter_seek(b, aK, nK);
      twin_same(a, b, (void*)1, 0, i, op == 3 ? "prefetch+seek" : "seek");
    }else if( op == 4 ){
      iter_park(a); iter_park(b);
      CHECK(!iter_valid(a) && !iter_valid(b), "park left valid");
      iter_first(a); iter_first(b);
    }else if( op == 5 ){
      /* skip */
    }else if( op < 9 ){
      iter_prev(a); iter_prev(b); twin_same(a, b, (void*)1, 0, i, "prev");
    }else{
      size_t nStep = 0;
      const uint8_t *pStep;
      iter_next(a);
      pStep = iter_step(b, &nStep);
      twin_same(a, b, pStep, nStep, i, "next/step");
    }
  }
  ck_assert_int_eq(iter_status(a), LSM_OK);
  iter_close(a); iter_close(b);
  sst_reader_unref(pReader);
  block_cache_unref(pBlocks);
  harness_model_clear(&m);
  pEnv->xUnlink(pEnv, "/t.sst");
  lsm_env_memory_free(pEnv);
}

START_TEST(sst_step_matches_next_mapped){ sst_twin(0, LSM_COMPRESSION_NONE, 40); }
END_TEST
START_TEST(sst_step_matches_next_cached_lz4){ sst_twin(1, LSM_COMPRESSION_LZ4, 40); }
END_TEST
START_TEST(sst_step_matches_next_private_longkeys){ sst_twin(2, LSM_COMPRESSION_NONE, 200); }
END_TEST


/* Block twins over block_iter_new (an exact-size malloc copy: ASan sees
** any read past the block's end), many small random blocks. */
START_TEST(block_step_matches_next){
  test_rng r;
  int iRound;
  g_seed = test_seed();
  rng_init(&r, g_seed);
  for(iRound = 0; iRound < 3000; iRound++){
    harness_model m = {0};
    block_builder bb;
    const uint8_t *aBlk;
    size_t nBlk, k;
    int rc = LSM_OK, i;
    iter *a, *b;
    int nUser = 1 + (int)rng_below(&r, 12);
    harness_model_random(&m, &r, nUser, 1 + (int)rng_below(&r, 3), 1 + rng_below(&r, 40),
                         1 + rng_below(&r, 4));
    block_builder_init(&bb, lsm_env_default());
    for(k = 0; k < m.n; k++) block_builder_add(&bb, m.a[k].pKey, m.a[k].nKey, m.a[k].pVal, m.a[k].nVal, &rc);
    aBlk = block_builder_finish(&bb, &nBlk, &rc);
    ck_assert_int_eq(rc, LSM_OK);
    a = block_iter_new(lsm_env_default(), aBlk, nBlk, &rc);
    b = block_iter_new(lsm_env_default(), aBlk, nBlk, &rc);
    ck_assert_int_eq(rc, LSM_OK);
    iter_first(a); iter_first(b);
    k = 0;
    for(i = 0; i < 200; i++){
      int op = (int)rng_below(&r, 10);
      if( !iter_valid(a) ){ if( rng_below(&r, 2) ){ iter_first(a); iter_first(b); k = 0; } else { iter_last(a); iter_last(b); k = m.n - 1; } twin_same(a, b, (void*)1, 0, i, "pos"); continue; }
      if( op < 3 ){ iter_prev(a); iter_prev(b); twin_same(a, b, (void*)1, 0, i, "prev"); k--; }
      else{
        size_t nStep = 0;
        const uint8_t *pStep;
        iter_next(a);
        pStep = iter_step(b, &nStep);
        twin_same(a, b, pStep, nStep, i, "next/step");
        k++;
      }
      if( iter_valid(b) ){
        size_t n;
        const uint8_t *pK = iter_key(b, &n);
        CHECK(k < m.n && n == m.a[k].nKey && memcmp(pK, m.a[k].pKey, n) == 0, "round %d op %d: not model entry %zu", iRound, i, k);
      }
    }
    iter_close(a); iter_close(b);
    block_builder_clear(&bb);
    harness_model_clear(&m);
  }
}
END_TEST

/* Read faults mid-scan (private reads, no cache: xRead per block for
** the first blocks, then one per run a scan reads ahead): every read
** the scan makes is failed once, each ends the scan with an error. */
START_TEST(sst_step_read_fault_sweep){
  lsm_env *pMem = lsm_env_memory();
  faultenv *fe = faultenv_new(pMem);
  lsm_env *pEnv = faultenv_env(fe);
  harness_model m = {0};
  test_rng r;
  sst_meta meta;
  uint64_t iNth;
  int nFailSeen = 0, nRetried = 0, nScanReads = 0;
  g_seed = test_seed();
  rng_init(&r, g_seed);
  harness_model_random(&m, &r, 400, 2, 30, 40);
  ck_assert_int_eq(write_table(pEnv, "/f.sst", &m, 256, LSM_COMPRESSION_NONE, &meta), LSM_OK);
  sst_meta_clear(pEnv, &meta);
  {
    /* The reads of a scan without faults: the sweep must fail each. */
    sst_reader *pReader = NULL;
    iter *it;
    int rc = LSM_OK;
    uint64_t nBefore;
    ck_assert_int_eq(sst_reader_open(pEnv, "/f.sst", NULL, 0, &pReader), LSM_OK);
    it = sst_reader_iter(pReader, &rc);
    nBefore = faultenv_count(fe, FAULTENV_READ);
    for(iter_first(it); iter_valid(it); iter_next(it)){}
    ck_assert_int_eq(iter_status(it), LSM_OK);
    nScanReads = (int)(faultenv_count(fe, FAULTENV_READ) - nBefore);
    iter_close(it);
    sst_reader_unref(pReader);
  }
  for(iNth = 1; iNth < 100000; iNth++){
    sst_reader *pReader = NULL;
    iter *it;
    int rc = LSM_OK;
    size_t i = 0, nK;
    const uint8_t *pK;
    uint64_t nFailedBefore;
    ck_assert_int_eq(sst_reader_open(pEnv, "/f.sst", NULL, 0, &pReader), LSM_OK);
    it = sst_reader_iter(pReader, &rc);
    nFailedBefore = faultenv_nfailed(fe);
    faultenv_fail(fe, FAULTENV_READ, iNth, LSM_IOERR, 0);
    iter_first(it);
    pK = iter_valid(it) ? iter_key(it, &nK) : NULL;
    while( pK ){
      CHECK(i < m.n && nK == m.a[i].nKey && memcmp(pK, m.a[i].pKey, nK) == 0,
            "nth %llu: entry %zu wrong", (unsigned long long)iNth, i);
      i++;
      pK = iter_step(it, &nK);
    }
    faultenv_fail_clear(fe);
    if( faultenv_nfailed(fe) == nFailedBefore ){
      CHECK(i == m.n && iter_status(it) == LSM_OK, "no fault: ended at %zu of %zu", i, m.n);
      iter_close(it);
      sst_reader_unref(pReader);
      break;
    }
    /* A failed read of a readahead run is retried as a read of the one
    ** block the scan needs (sst_reader_load_block_ahead): the scan goes
    ** on, whole; any other failed read ends it with the error. */
    if( iter_status(it) == LSM_OK ){
      CHECK(i == m.n, "nth %llu: a failed read ended the scan at %zu of %zu with status OK",
            (unsigned long long)iNth, i, m.n);
      nRetried++;
    }else{
      CHECK(!iter_valid(it), "valid after error");
      nFailSeen++;
    }
    iter_close(it);
    sst_reader_unref(pReader);
  }
  ck_assert_int_gt(nScanReads, 5);
  /* Each of the clean scan's reads failed once: the single-block reads
  ** (the first blocks, before the scan reads ahead) ended the scan, the
  ** runs' reads were retried. */
  ck_assert_int_gt(nFailSeen, 0);
  ck_assert_int_gt(nRetried, 0);
  ck_assert_int_ge(nFailSeen + nRetried, nScanReads);
  harness_model_clear(&m);
  faultenv_free(fe);
  lsm_env_memory_free(pMem);
}
END_TEST

/* The whole stack (merge, level, SSTable, memtable) under read faults. */
static void put_kv(lsm_db *pDb, model *pM, uint32_t k, uint32_t v, int bDel){
  char zK[32], zV[64];
  int nK = snprintf(zK, sizeof(zK), "key%06u", k);
  int nV = snprintf(zV, sizeof(zV), "value-%u-%u-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", k, v);
  if( bDel ){
    ck_assert_int_eq(lsm_delete(pDb, zK, (size_t)nK), LSM_OK);
    model_delete(pM, zK, (size_t)nK);
  }else{
    ck_assert_int_eq(lsm_put(pDb, zK, (size_t)nK, zV, (size_t)nV), LSM_OK);
    model_put(pM, zK, (size_t)nK, zV, (size_t)nV);
  }
}

START_TEST(db_scan_read_fault_sweep){
  lsm_env *pMem = lsm_env_memory();
  faultenv *fe = faultenv_new(pMem);
  lsm_options opt;
  lsm_db *pDb = NULL;
  model m = {0};
  test_rng r;
  int i, nFailSeen = 0, iRound;
  uint64_t iNth;
  g_seed = test_seed();
  rng_init(&r, g_seed);
  lsm_options_default(&opt);
  opt.env = faultenv_env(fe);
  opt.background = 0;
  opt.memtable_bytes = 64 * 1024;
  opt.block_bytes = 4096;
  opt.block_cache_bytes = 0;
  opt.table_cache_bytes = 0;
  opt.use_mmap = 0;
  opt.compression = LSM_COMPRESSION_NONE;
  ck_assert_int_eq(lsm_open("/db", &opt, &pDb), LSM_OK);
  for(i = 0; i < 30000; i++) put_kv(pDb, &m, (uint32_t)rng_below(&r, 20000), (uint32_t)i, rng_below(&r, 8) == 0);
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  for(iRound = 0; iRound < 3; iRound++){
    for(i = 0; i < 1500; i++) put_kv(pDb, &m, (uint32_t)rng_below(&r, 20000), (uint32_t)i, rng_below(&r, 6) == 0);
    ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  }
  for(i = 0; i < 300; i++) put_kv(pDb, &m, (uint32_t)rng_below(&r, 20000), (uint32_t)i, rng_below(&r, 6) == 0);
  test_store_equals_model(pDb, NULL, &m, test_seed());

  /* random walks: seek, then next/prev mixed (direction changes at table
  ** and block boundaries), against the model */
  {
    int w;
    for(w = 0; w < 400; w++){
      lsm_cursor *pCsr = NULL;
      char zK[32];
      long j;
      int nK = snprintf(zK, sizeof(zK), "key%06u", (unsigned)rng_below(&r, 20000)), s;
      ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pCsr), LSM_OK);
      ck_assert_int_eq(lsm_cursor_seek(pCsr, zK, (size_t)nK, LSM_SEEK_GE), LSM_OK);
      j = (long)model_lower_bound(&m, zK, (size_t)nK);
      for(s = 0; s < 300; s++){
        if( j < 0 || j >= (long)m.n ){ CHECK(!lsm_cursor_valid(pCsr), "walk %d step %d: valid off end", w, s); break; }
        {
          const void *pK; size_t n;
          CHECK(lsm_cursor_valid(pCsr), "walk %d step %d: invalid at %ld", w, s, j);
          lsm_cursor_key(pCsr, &pK, &n);
          CHECK(n == m.a[j].nKey && memcmp(pK, m.a[j].pKey, n) == 0, "walk %d step %d: wrong key", w, s);
        }
        if( rng_below(&r, 3) == 0 ){ ck_assert_int_eq(lsm_cursor_prev(pCsr), LSM_OK); j--; }
        else{ ck_assert_int_eq(lsm_cursor_next(pCsr), LSM_OK); j++; }
      }
      lsm_cursor_close(pCsr);
    }
  }
  for(iNth = 1; iNth < 200000; iNth++){
    lsm_cursor *pCsr = NULL;
    uint64_t nFailedBefore;
    size_t j = 0;
    int rc;
    ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pCsr), LSM_OK);
    nFailedBefore = faultenv_nfailed(fe);
    faultenv_fail(fe, FAULTENV_READ, iNth, LSM_IOERR, 0);
    rc = lsm_cursor_first(pCsr);
    while( rc == LSM_OK && lsm_cursor_valid(pCsr) ){
      const void *pK, *pV;
      size_t nK, nV;
      ck_assert_int_eq(lsm_cursor_key(pCsr, &pK, &nK), LSM_OK);
      ck_assert_int_eq(lsm_cursor_value(pCsr, &pV, &nV), LSM_OK);
      CHECK(j < m.n && nK == m.a[j].nKey && memcmp(pK, m.a[j].pKey, nK) == 0
            && nV == m.a[j].nVal && memcmp(pV, m.a[j].pVal, nV) == 0,
            "nth %llu: row %zu wrong (%.*s)", (unsigned long long)iNth, j, (int)nK, (const char*)pK);
      j++;
      rc = lsm_cursor_next(pCsr);
    }
    faultenv_fail_clear(fe);
    lsm_cursor_close(pCsr);
    if( faultenv_nfailed(fe) == nFailedBefore ){
      CHECK(rc == LSM_OK && j == m.n, "no fault: rc %d, %zu of %zu rows", rc, j, m.n);
      break;
    }
    /* A failed read of a readahead run is retried as a read of the one
    ** block the scan needs: the scan then goes on, every row checked above. */
    CHECK(rc != LSM_OK || j == m.n, "nth %llu: a failed read ended the scan at row %zu of %zu"
          " with LSM_OK", (unsigned long long)iNth, j, m.n);
    nFailSeen += rc != LSM_OK;
  }
  ck_assert_int_gt(nFailSeen, 10);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  model_clear(&m);
  faultenv_free(fe);
  lsm_env_memory_free(pMem);
}
END_TEST

static Suite *iter_step_suite(void){
  Suite *s = suite_create("iter_step");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, block_step_matches_next);
  tcase_add_test(tc, sst_step_matches_next_mapped);
  tcase_add_test(tc, sst_step_matches_next_cached_lz4);
  tcase_add_test(tc, sst_step_matches_next_private_longkeys);
  tcase_add_test(tc, sst_step_read_fault_sweep);
  tcase_add_test(tc, db_scan_read_fault_sweep);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(iter_step_suite)
