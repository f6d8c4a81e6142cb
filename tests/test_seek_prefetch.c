/*
** test_seek_prefetch.c — seeks over many sorted runs read exactly what
** the reference model holds, however each run's blocks are read.
**
** A merge seek first runs the children's prefetch stages (lsm/iter.h,
** item 9; lsm/merge_iter.c): each SSTable iterator searches its index,
** fetches the block's cache lines and loads the block, and its seek then
** takes the block that stage found instead of searching again; a level
** iterator opens the table the seek will read.  These tests build a
** store with a memtable, several level-0 tables and deeper levels, with
** overwrites and deletes, and compare seeks (first key >= and last key
** <=, then ten steps forward or back, and a lower bound then first, as an
** SQL `key >= ?` runs) with the model, at the current state and at a
** snapshot taken half way, for each way a block is read: from a mapping
** (raw), decompressed into the block cache, and read with xRead into a
** cache too small to hold the store (so seeks both hit and miss) or
** large enough to hold it.  The memtable is large enough, and seeks
** many enough, that its read index is built (after 512 seeks) and used.
**
** Seeded (LSM_TEST_SEED); the seed is printed on failure.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm.h"
#include "testutil.h"

#define SEEK_KEYS 4000          /* key space: "k%06u", 0 .. SEEK_KEYS - 1 */
#define SEEK_ROUNDS 10          /* rounds of writes, each flushed         */
#define SEEK_OPS_PER_ROUND 500
#define SEEK_MEMTABLE_OPS 6000  /* the last round's, left in the memtable  */
#define SEEK_STEPS 10           /* entries read after each seek           */

/* How the store reads its blocks. */
typedef struct read_kind {
  const char *zName;
  int compression;              /* LSM_COMPRESSION_*                     */
  int use_mmap;                 /* lsm_options.use_mmap                  */
  uint64_t block_cache_bytes;   /* lsm_options.block_cache_bytes         */
} read_kind;

static const read_kind aKind[] = {
  { "mapped, raw blocks",                 LSM_COMPRESSION_NONE, 1, 32u << 20 },
  { "mapped, lz4, 16 KiB block cache",    LSM_COMPRESSION_LZ4,  1, 16u << 10 },
  { "xRead, raw, 16 KiB block cache",     LSM_COMPRESSION_NONE, 0, 16u << 10 },
  { "xRead, lz4, cache holds every block", LSM_COMPRESSION_LZ4, 0, 64u << 20 },
};

static char *g_zDir;

static void setup(void){ g_zDir = test_tmpdir("seek_prefetch"); }
static void teardown(void){
  test_rmtree(g_zDir);
  free(g_zDir);
}

static size_t make_key(char *a, uint64_t i){
  return (size_t)snprintf(a, 16, "k%06u", (unsigned)i);
}

/* Compare the cursor's entry with model entry i; abort naming the seek. */
static void expect_entry(lsm_cursor *pCsr, const model *m, size_t i, const char *zWhat,
                         const char *zKey, int iStep, uint64_t seed){
  const void *pK, *pV;
  size_t nK, nV;
  if( !lsm_cursor_valid(pCsr) ){
    ck_abort_msg("seed %llu: %s %s, step %d: cursor ended, model has '%.*s'",
                 (unsigned long long)seed, zWhat, zKey, iStep, (int)m->a[i].nKey,
                 (const char*)m->a[i].pKey);
  }
  ck_assert_int_eq(lsm_cursor_key(pCsr, &pK, &nK), LSM_OK);
  ck_assert_int_eq(lsm_cursor_value(pCsr, &pV, &nV), LSM_OK);
  if( nK != m->a[i].nKey || memcmp(pK, m->a[i].pKey, nK) != 0
   || nV != m->a[i].nVal || memcmp(pV, m->a[i].pVal, nV) != 0 ){
    ck_abort_msg("seed %llu: %s %s, step %d: cursor at '%.*s', model at '%.*s'",
                 (unsigned long long)seed, zWhat, zKey, iStep, (int)nK, (const char*)pK,
                 (int)m->a[i].nKey, (const char*)m->a[i].pKey);
  }
}

/* One seek of each kind at key i through pRead, checked against m. */
static void check_seeks(lsm_db *pDb, const lsm_read *pRead, const model *m, uint64_t iKey,
                        int eHow, uint64_t seed){
  char zKey[16];
  size_t nKey = make_key(zKey, iKey);
  size_t iLo = model_lower_bound(m, zKey, nKey);
  lsm_cursor *pCsr = NULL;
  int iStep;
  ck_assert_int_eq(lsm_cursor_open(pDb, pRead, &pCsr), LSM_OK);
  if( eHow == 0 || eHow == 1 ){
    /* First key >= zKey, by a seek or by a lower bound and first. */
    if( eHow == 0 ){
      ck_assert_int_eq(lsm_cursor_seek(pCsr, zKey, nKey, LSM_SEEK_GE), LSM_OK);
    }else{
      ck_assert_int_eq(lsm_cursor_bounds(pCsr, zKey, nKey, 0, NULL, 0, 0), LSM_OK);
      ck_assert_int_eq(lsm_cursor_first(pCsr), LSM_OK);
    }
    for(iStep = 0; iStep < SEEK_STEPS && iLo + (size_t)iStep < m->n; iStep++){
      expect_entry(pCsr, m, iLo + (size_t)iStep, eHow == 0 ? "seek >=" : "lower bound", zKey,
                   iStep, seed);
      ck_assert_int_eq(lsm_cursor_next(pCsr), LSM_OK);
    }
    if( iLo + (size_t)iStep == m->n && lsm_cursor_valid(pCsr) ){
      ck_abort_msg("seed %llu: seek >= %s: cursor valid past the model's last key",
                   (unsigned long long)seed, zKey);
    }
  }else{
    /* Last key <= zKey, then backwards. */
    int bHit = iLo < m->n && m->a[iLo].nKey == nKey && memcmp(m->a[iLo].pKey, zKey, nKey) == 0;
    long i = bHit ? (long)iLo : (long)iLo - 1;
    ck_assert_int_eq(lsm_cursor_seek(pCsr, zKey, nKey, LSM_SEEK_LE), LSM_OK);
    for(iStep = 0; iStep < SEEK_STEPS && i - iStep >= 0; iStep++){
      expect_entry(pCsr, m, (size_t)(i - iStep), "seek <=", zKey, iStep, seed);
      ck_assert_int_eq(lsm_cursor_prev(pCsr), LSM_OK);
    }
    if( i - iStep < 0 && lsm_cursor_valid(pCsr) ){
      ck_abort_msg("seed %llu: seek <= %s: cursor valid before the model's first key",
                   (unsigned long long)seed, zKey);
    }
  }
  lsm_cursor_close(pCsr);
}

START_TEST(seeks_over_memtable_level0_and_levels_match_the_model){
  const read_kind *pKind = &aKind[_i];
  uint64_t seed = test_seed() + (uint64_t)_i;
  int nSeeks = test_quick() ? 1500 : 4000;
  char zPath[4096], zKey[16], zVal[64];
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_snapshot *pSnap = NULL;
  lsm_read snapRead;
  lsm_stats st;
  model m = {0}, mSnap = {0};
  test_rng rng;
  int iRound, i, iLevel, nRuns;

  rng_init(&rng, seed);
  lsm_options_default(&opt);
  opt.background = 0;
  opt.memtable_bytes = 1u << 20;       /* flushed by the rounds only */
  opt.block_bytes = 256;               /* many blocks: groups of the index */
  opt.compression = pKind->compression;
  opt.use_mmap = pKind->use_mmap;
  opt.block_cache_bytes = pKind->block_cache_bytes;
  snprintf(zPath, sizeof(zPath), "%s/store%d", g_zDir, _i);
  ck_assert_int_eq(lsm_open(zPath, &opt, &pDb), LSM_OK);

  /* Rounds of puts (overwrites among them) and deletes, each flushed
  ** (with background=off a flush runs the compactions due), one
  ** compaction of everything early on, then writes left in the memtable;
  ** a snapshot half way. */
  for(iRound = 0; iRound <= SEEK_ROUNDS; iRound++){
    /* The last round stays in the memtable: enough entries for seeks to
    ** build its read index (lsm/memtable.c). */
    int nOps = iRound == SEEK_ROUNDS ? SEEK_MEMTABLE_OPS : SEEK_OPS_PER_ROUND;
    for(i = 0; i < nOps; i++){
      uint64_t k = rng_below(&rng, SEEK_KEYS);
      size_t nKey = make_key(zKey, k);
      if( rng_below(&rng, 4) == 0 ){
        ck_assert_int_eq(lsm_delete(pDb, zKey, nKey), LSM_OK);
        model_delete(&m, zKey, nKey);
      }else{
        int nVal = snprintf(zVal, sizeof(zVal), "value %d.%d of %s", iRound, i, zKey);
        ck_assert_int_eq(lsm_put(pDb, zKey, nKey, zVal, (size_t)nVal), LSM_OK);
        model_put(&m, zKey, nKey, zVal, (size_t)nVal);
      }
    }
    if( iRound == SEEK_ROUNDS / 2 ){
      ck_assert_int_eq(lsm_snapshot_acquire(pDb, &pSnap), LSM_OK);
      mSnap = model_copy(&m);
    }
    if( iRound == 2 ) ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);   /* the last level */
    if( iRound < SEEK_ROUNDS ) ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  }

  /* The shape the seeks must merge: a memtable and at least three sorted
  ** runs on disk, level 0 and a deeper level among them. */
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  nRuns = (int)st.aLevel[0].nFiles;
  for(iLevel = 1; iLevel < LSM_MAX_LEVELS; iLevel++) nRuns += st.aLevel[iLevel].nFiles > 0;
  if( st.nMemtableEntries == 0 || st.aLevel[0].nFiles == 0 || nRuns < 3 ){
    ck_abort_msg("%s: shape: memtable %llu entries, level 0 %llu tables, %d runs",
                 pKind->zName, (unsigned long long)st.nMemtableEntries,
                 (unsigned long long)st.aLevel[0].nFiles, nRuns);
  }

  memset(&snapRead, 0, sizeof(snapRead));
  snapRead.pSnapshot = pSnap;
  for(i = 0; i < nSeeks; i++){
    /* Keys before the first, inside, and after the last. */
    uint64_t k = rng_below(&rng, SEEK_KEYS + 20);
    int eHow = (int)rng_below(&rng, 3);
    if( k >= SEEK_KEYS + 10 ) k = 0;
    if( i % 3 == 2 ){
      check_seeks(pDb, &snapRead, &mSnap, k, eHow, seed);
    }else{
      check_seeks(pDb, NULL, &m, k, eHow, seed);
    }
  }
  test_store_equals_model(pDb, NULL, &m, seed);

  lsm_snapshot_release(pSnap);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  model_clear(&m);
  model_clear(&mSnap);
}
END_TEST

static Suite *seek_prefetch_suite(void){
  Suite *s = suite_create("seek_prefetch");
  TCase *tc = tcase_create("seek_prefetch");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, seeks_over_memtable_level0_and_levels_match_the_model, 0,
                      (int)(sizeof(aKind) / sizeof(aKind[0])));
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(seek_prefetch_suite)
