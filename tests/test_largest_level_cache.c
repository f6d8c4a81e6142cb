/*
** test_largest_level_cache.c — how a cursor's blocks of the largest level enter the
** block cache when other sorted runs hold tables too (lsm/version.c,
** version_add_iters; SST_FILL_BULK in lsm/sst_reader.h).  Here the
** largest level is the deepest: every key compacted into it.
**
** The store: DEEP_KEYS keys compacted into one deepest level (about 600
** blocks of 4 KiB), then every UPPER_STRIDE-th key written again and
** flushed into one level-0 table (about 60 blocks), read through a block
** cache of about 70 blocks.  A random seek reads one block of each.
**
**   - The level-0 table's blocks stay cached among the seeks: the deepest
**     level's blocks, each read again about once in 600 seeks, enter as
**     passing (evicted first), so they no longer push out the level-0
**     blocks, each read again about once in 60.
**   - A block of the deepest level read again and again (a hot range)
**     still ends up cached after a few misses, whatever misses come
**     between: one block read in SST_BULK_KEEP_ONE_IN enters as an
**     ordinary block.
**
** Seeded (LSM_TEST_SEED); the seed is printed on failure.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm.h"
#include "testutil.h"

#define DEEP_KEYS 21000         /* "k%08d", 0 .. DEEP_KEYS - 1, 100-byte values */
#define UPPER_STRIDE 10         /* every 10th key again, in level 0             */
#define CACHE_BYTES (300 * 1024)

static void put_key(lsm_db *pDb, int iKey, int iVersion){
  char k[16], v[100];
  int nk = snprintf(k, sizeof(k), "k%08d", iKey);
  memset(v, 'a' + iVersion, sizeof(v));
  memcpy(v, k, (size_t)nk);
  ck_assert_int_eq(lsm_put(pDb, k, (size_t)nk, v, sizeof(v)), LSM_OK);
}

/* The store above, opened in a new directory (*pzDir, freed by the caller). */
static lsm_db *open_two_level_store(char **pzDir){
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_stats st;
  int i, iLevel, nDeeper = 0;
  *pzDir = test_tmpdir("bulkcache");
  lsm_options_default(&opt);
  opt.background = 0;
  opt.use_mmap = 0;                     /* every block through the cache */
  opt.compression = LSM_COMPRESSION_NONE;
  opt.block_cache_bytes = CACHE_BYTES;
  ck_assert_int_eq(lsm_open(*pzDir, &opt, &pDb), LSM_OK);
  for(i = 0; i < DEEP_KEYS; i++) put_key(pDb, i, 0);
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  for(i = 0; i < DEEP_KEYS; i += UPPER_STRIDE) put_key(pDb, i, 1);
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  ck_assert_uint_eq(st.aLevel[0].nFiles, 1);
  for(iLevel = 1; iLevel < LSM_MAX_LEVELS; iLevel++) nDeeper += st.aLevel[iLevel].nFiles > 0;
  ck_assert_int_eq(nDeeper, 1);
  return pDb;
}

/* How seek_and_read opens its cursor: as a plain SELECT's xFilter does
** (the engine reuses its spare cursor and that cursor's iterators), or
** carrying a write transaction's pending batch, or beside a second cursor
** held open (each of the last two builds new iterators every time). */
typedef struct seek_way {
  lsm_batch *pPending;       /* read with these pending writes; NULL: none   */
  int bSecondCursor;         /* another cursor of the store open meanwhile   */
} seek_way;

/* Seek to key iKey and read nRow rows (each checked), through a new cursor
** as SQL's xFilter opens one (pWay NULL: a plain read). */
static void seek_and_read_way(lsm_db *pDb, const seek_way *pWay, int iKey, int nRow,
                              unsigned long long seed){
  lsm_cursor *pCsr = NULL, *pOther = NULL;
  lsm_read rd;
  char k[16];
  int nk = snprintf(k, sizeof(k), "k%08d", iKey), i;
  memset(&rd, 0, sizeof(rd));
  if( pWay && pWay->pPending ){
    rd.pBatch = pWay->pPending;
    rd.nBatchOps = lsm_batch_count(pWay->pPending);
  }
  if( pWay && pWay->bSecondCursor ) ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pOther), LSM_OK);
  ck_assert_int_eq(lsm_cursor_open(pDb, rd.pBatch ? &rd : NULL, &pCsr), LSM_OK);
  ck_assert_int_eq(lsm_cursor_seek(pCsr, k, (size_t)nk, LSM_SEEK_GE), LSM_OK);
  for(i = 0; i < nRow && iKey + i < DEEP_KEYS; i++){
    const void *pK = NULL, *pV = NULL;
    size_t nK = 0, nV = 0;
    char want[16];
    int nWant = snprintf(want, sizeof(want), "k%08d", iKey + i);
    SEED_ASSERT(lsm_cursor_valid(pCsr), "seek %d: row %d missing", seed, iKey, i);
    ck_assert_int_eq(lsm_cursor_key(pCsr, &pK, &nK), LSM_OK);
    ck_assert_int_eq(lsm_cursor_value(pCsr, &pV, &nV), LSM_OK);
    SEED_ASSERT(nK == (size_t)nWant && memcmp(pK, want, nK) == 0, "seek %d: row %d", seed, iKey, i);
    SEED_ASSERT(nV == 100 && ((const char*)pV)[99] == ((iKey + i) % UPPER_STRIDE ? 'a' : 'b'),
                "seek %d: row %d: wrong version", seed, iKey, i);
    ck_assert_int_eq(lsm_cursor_next(pCsr), LSM_OK);
  }
  lsm_cursor_close(pCsr);
  if( pOther ) lsm_cursor_close(pOther);
}

static void seek_and_read(lsm_db *pDb, int iKey, int nRow, unsigned long long seed){
  seek_and_read_way(pDb, NULL, iKey, nRow, seed);
}

static uint64_t misses(lsm_db *pDb){
  lsm_stats st;
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  return st.nBlockCacheMisses;
}

/*
** 3,000 random seeks to warm the cache, then 3,000 more counted: each
** misses its deepest-level block nearly always (600 blocks, a 70-block
** cache), and with the level-0 table's blocks kept, little else.  With
** every deepest-level block entering as an ordinary one (SST_FILL), this
** store read 4,099 blocks for the 3,000 seeks (seed 20261125); with the
** rule 3,380; with every one passing 3,010.
*/
START_TEST(the_level_0_table_stays_cached_among_the_largest_levels_blocks)
{
  unsigned long long seed = test_seed();
  char *zDir = NULL;
  lsm_db *pDb = open_two_level_store(&zDir);
  test_rng r;
  uint64_t n0;
  int i;
  rng_init(&r, seed);
  for(i = 0; i < 3000; i++) seek_and_read(pDb, (int)rng_below(&r, DEEP_KEYS), 1, seed);
  n0 = misses(pDb);
  for(i = 0; i < 3000; i++) seek_and_read(pDb, (int)rng_below(&r, DEEP_KEYS), 1, seed);
  SEED_ASSERT(misses(pDb) - n0 < 3000 * 125 / 100, "%llu blocks read for 3000 seeks", seed,
              (unsigned long long)(misses(pDb) - n0));
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/*
** A hot block: the deepest level's block of k00001003, read after every
** seek to a block of the deepest level not read before (a sweep from
** k00005000, 40 keys a round: more than a block), which misses.  A
** passing block left idle is the next evicted, so were every
** deepest-level block passing, the sweep's miss would evict the hot block
** every round and it would never be cached; one read in
** SST_BULK_KEEP_ONE_IN enters as an ordinary block, which the next
** rounds' lookups keep.  Of 60 rounds the last 20 read nothing from the
** file (with every block passing: 20 blocks).  Returns the hot block's
** reads from the file in those last 20 rounds, every seek made pWay's way.
*/
static uint64_t hot_block_late_misses(lsm_db *pDb, const seek_way *pWay, unsigned long long seed){
  test_rng r;
  uint64_t nLate = 0;
  int iRound, i;
  rng_init(&r, seed);
  for(i = 0; i < 500; i++){             /* a full cache, none of it the sweep's */
    seek_and_read_way(pDb, pWay, 8000 + (int)rng_below(&r, DEEP_KEYS - 8000), 1, seed);
  }
  for(iRound = 0; iRound < 60; iRound++){
    uint64_t n0 = misses(pDb);
    seek_and_read_way(pDb, pWay, 1003, 1, seed);
    if( iRound >= 40 ) nLate += misses(pDb) - n0;
    seek_and_read_way(pDb, pWay, 5000 + iRound * 40, 1, seed);
  }
  return nLate;
}

START_TEST(a_hot_block_of_the_largest_level_ends_up_cached)
{
  unsigned long long seed = test_seed();
  char *zDir = NULL;
  lsm_db *pDb = open_two_level_store(&zDir);
  uint64_t nLate = hot_block_late_misses(pDb, NULL, seed);
  SEED_ASSERT(nLate == 0, "the hot block was read %llu times from the file in the last 20 rounds",
              seed, (unsigned long long)nLate);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/*
** The same through cursors that build new iterators for every seek: one
** carrying a write transaction's pending writes, and one opened while a
** second cursor holds the spare.  Each new iterator draws from its own
** seed; with one constant seed for all (whose first three draws say
** "passing") such a cursor never cached the hot block: 20 reads of it in
** the last 20 rounds, both ways (review of branch seekpos).
*/
START_TEST(a_hot_block_ends_up_cached_through_new_iterators_too)
{
  unsigned long long seed = test_seed();
  int iWay;
  for(iWay = 0; iWay < 2; iWay++){
    char *zDir = NULL;
    lsm_db *pDb = open_two_level_store(&zDir);
    lsm_batch *pPending = NULL;
    seek_way way;
    uint64_t nLate;
    memset(&way, 0, sizeof(way));
    if( iWay == 0 ){
      ck_assert_int_eq(lsm_batch_new(pDb, &pPending), LSM_OK);
      ck_assert_int_eq(lsm_batch_put(pPending, "zz", 2, "v", 1), LSM_OK);
      way.pPending = pPending;
    }else{
      way.bSecondCursor = 1;
    }
    nLate = hot_block_late_misses(pDb, &way, seed);
    SEED_ASSERT(nLate == 0, "%s: the hot block was read %llu times from the file in the last"
                " 20 rounds", seed, iWay == 0 ? "pending writes" : "second cursor",
                (unsigned long long)nLate);
    lsm_batch_free(pPending);
    ck_assert_int_eq(lsm_close(pDb), LSM_OK);
    test_rmtree(zDir);
    free(zDir);
  }
}
END_TEST

static Suite *largest_level_cache_suite(void){
  Suite *s = suite_create("largest_level_cache");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, the_level_0_table_stays_cached_among_the_largest_levels_blocks);
  tcase_add_test(tc, a_hot_block_of_the_largest_level_ends_up_cached);
  tcase_add_test(tc, a_hot_block_ends_up_cached_through_new_iterators_too);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(largest_level_cache_suite)
