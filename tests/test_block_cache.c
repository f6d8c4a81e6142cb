/*
** test_block_cache.c — the store's cache of data blocks (block_cache.h).
**
** The cache keeps blocks up to its byte budget and frees the oldest
** first, except those looked up since its eviction walk last passed
** them; a handle keeps its block's bytes valid through eviction and
** erasure; a second insert of the same block hands back the first; a
** cache of 0 bytes keeps nothing it is not using; and many threads
** looking up, inserting and releasing at once (under the sanitizer
** build too) always see the bytes they expect.  Stores with use_mmap off
** read every table through it: their gets, scans and lsm_check give the
** reference model's answers, with block_cache_bytes of 0 and of 64
** KiB.  Stores sharing one cache (lsm_block_cache_new) keep their blocks
** under its one budget, report its bytes and their own hits and misses,
** and take their blocks out of it when they close.
** Blocks written with fill_cache_on_write are read from the cache, as
** the model says; a scan with lsm_read.bNoFill evicts nothing; a
** compaction leaves the blocks it wrote in the cache, not those it read.
** A scan longer than the cache evicts its own blocks (passing inserts),
** not those gets looked up, while a short range read again stays cached.
** A full cache's miss (block_cache_alloc) reuses an evicted entry's
** memory: no allocation and no free, the spares within the budget.
** Replay a failure with LSM_TEST_SEED=<printed seed>.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#include "block_cache.h"
#include "block_memory.h"
#include "faultenv.h"
#include "lsm.h"
#include "testutil.h"

/* A handle of n bytes, each byte (id + iBlock + i) mod 251. */
static block_handle *make_block(uint64_t id, uint32_t iBlock, size_t n){
  block_handle *h = block_handle_alloc(NULL, lsm_env_default(), n);
  uint8_t *a = block_handle_buf(h);
  size_t i;
  for(i = 0; i < n; i++) a[i] = (uint8_t)((id + iBlock + i) % 251);
  return h;
}

static int block_ok(const block_handle *h, uint64_t id, uint32_t iBlock, size_t n){
  size_t nHave, i;
  const uint8_t *a = block_handle_data(h, &nHave);
  if( nHave != n ) return 0;
  for(i = 0; i < n; i++) if( a[i] != (uint8_t)((id + iBlock + i) % 251) ) return 0;
  return 1;
}

START_TEST(block_cache_keeps_recent_blocks_within_its_budget)
{
  block_cache *p;
  block_cache_stats st;
  uint64_t id = block_cache_new_id();
  uint32_t i;
  ck_assert_int_eq(block_cache_new(lsm_env_default(), 64 * 1024, &p), LSM_OK);
  for(i = 0; i < 100; i++){
    block_handle *h = block_cache_insert(p, id, i, make_block(id, i, 4000));
    ck_assert(block_ok(h, id, i, 4000));
    block_cache_release(h);
    block_cache_get_stats(p, &st);
    ck_assert_uint_le(st.nCharge, 64 * 1024);
  }
  /* The newest are there, the oldest gone. */
  for(i = 99; i > 95; i--){
    block_handle *h = block_cache_lookup(p, id, i);
    ck_assert_ptr_nonnull(h);
    ck_assert(block_ok(h, id, i, 4000));
    block_cache_release(h);
  }
  ck_assert_ptr_null(block_cache_lookup(p, id, 0));
  ck_assert_ptr_null(block_cache_lookup(p, id + 1, 99));
  block_cache_get_stats(p, &st);
  ck_assert_uint_eq(st.nHits, 4);
  ck_assert_uint_eq(st.nMisses, 2);
  ck_assert_uint_ge(st.nEntries, 10);
  block_cache_unref(p);
}
END_TEST

/* An env that counts the allocations and frees made through it. */
static lsm_env g_countingEnv;
static int g_nAllocs, g_nFrees;

static void *counting_malloc(lsm_env *pEnv, size_t n){
  (void)pEnv;
  g_nAllocs++;
  return lsm_env_default()->xMalloc(lsm_env_default(), n);
}

static void counting_free(lsm_env *pEnv, void *p){
  (void)pEnv;
  if( p ) g_nFrees++;
  lsm_env_default()->xFree(lsm_env_default(), p);
}

static lsm_env *counting_env(void){
  g_countingEnv = *lsm_env_default();
  g_countingEnv.xMalloc = counting_malloc;
  g_countingEnv.xFree = counting_free;
  g_nAllocs = g_nFrees = 0;
  return &g_countingEnv;
}

/* A miss as a reader makes it: block_cache_alloc, fill, insert, release;
** checks the bytes and that the cache stays within nCapacity. */
static void miss_and_insert(block_cache *p, uint64_t id, uint32_t iBlock, size_t n,
                            uint64_t nCapacity){
  block_handle *h = block_cache_alloc(p, NULL, n);
  uint8_t *a;
  size_t i;
  block_cache_stats st;
  ck_assert_ptr_nonnull(h);
  a = block_handle_buf(h);
  for(i = 0; i < n; i++) a[i] = (uint8_t)((id + iBlock + i) % 251);
  h = block_cache_insert(p, id, iBlock, h);
  ck_assert(block_ok(h, id, iBlock, n));
  block_cache_release(h);
  block_cache_get_stats(p, &st);
  ck_assert_msg(st.nCharge + st.nSpareBytes <= nCapacity,
                "block %u: %llu bytes cached and %llu spare, budget %llu", iBlock,
                (unsigned long long)st.nCharge, (unsigned long long)st.nSpareBytes,
                (unsigned long long)nCapacity);
}

/*
** A full cache's miss reuses the memory of the entry it evicts: once the
** cache is full, blocks of one size are read with no allocation and no
** free at all, and blocks of sizes that vary (3,900 to 4,099 bytes, as
** a compressed table's blocks do) with few: an evicted entry too small
** for the block at hand waits as a spare for a later one.  The spares
** count in the budget, every block reads back right, and a budget of 0
** or a cache left empty keeps none.
*/
START_TEST(a_full_cache_reuses_the_memory_of_the_blocks_it_evicts)
{
  const uint64_t nCapacity = 4 * 1024 * 1024;   /* spares: up to 64 KiB, 8 of them */
  block_cache *p;
  block_cache_stats st;
  uint64_t id = block_cache_new_id();
  uint32_t i;
  int nAllocs, nFrees;
  ck_assert_int_eq(block_cache_new(counting_env(), nCapacity, &p), LSM_OK);
  for(i = 0; i < 1100; i++) miss_and_insert(p, id, i, 4000, nCapacity);  /* full */
  nAllocs = g_nAllocs;
  nFrees = g_nFrees;
  for(i = 1100; i < 3100; i++) miss_and_insert(p, id, i, 4000, nCapacity);
  ck_assert_msg(g_nAllocs == nAllocs && g_nFrees == nFrees,
                "2,000 misses of a full cache: %d allocations, %d frees", g_nAllocs - nAllocs,
                g_nFrees - nFrees);
  ck_assert_ptr_null(block_cache_lookup(p, id, 0));                   /* evicted */
  {
    block_handle *h = block_cache_lookup(p, id, 3099);
    ck_assert_ptr_nonnull(h);
    ck_assert(block_ok(h, id, 3099, 4000));
    block_cache_release(h);
  }

  /* Sizes that vary: a few allocations, never past the budget. */
  for(i = 3100; i < 4100; i++) miss_and_insert(p, id, i, 3900 + (size_t)(i * 37) % 200, nCapacity);
  nAllocs = g_nAllocs;     /* (now that the cache holds blocks of those sizes) */
  for(i = 4100; i < 5100; i++) miss_and_insert(p, id, i, 3900 + (size_t)(i * 37) % 200, nCapacity);
  ck_assert_msg(g_nAllocs - nAllocs < 100, "1,000 misses of varying sizes: %d allocations",
                g_nAllocs - nAllocs);

  /* Erased empty (its stores closed), the cache keeps no spares. */
  block_cache_erase(p, id, 5100);
  block_cache_get_stats(p, &st);
  ck_assert_uint_eq(st.nCharge, 0);
  ck_assert_uint_eq(st.nSpareBytes, 0);

  /* A budget of 0 keeps nothing, spares included. */
  for(i = 0; i < 20; i++) miss_and_insert(p, id, i, 4000, nCapacity);
  block_cache_set_capacity(p, 0);
  block_cache_get_stats(p, &st);
  ck_assert_uint_eq(st.nCharge, 0);
  ck_assert_uint_eq(st.nSpareBytes, 0);
  for(i = 20; i < 40; i++) miss_and_insert(p, id, i, 4000, 0);
  block_cache_unref(p);
  ck_assert_int_eq(g_nAllocs - g_nFrees, 0);    /* the unref freed everything */
}
END_TEST

/*
** An evicted entry kept as a spare is poisoned for AddressSanitizer until
** it is reused: a block pointer kept past its handle's release faults
** under the sanitizers (build/san) instead of reading the block that
** reuses the memory.  Without ASan the test still walks the path and
** checks the bytes of what reuses it.
*/
START_TEST(a_spare_is_poisoned_until_it_is_reused)
{
  enum { N_KEPT = 20 };
  const uint64_t nCapacity = 1024 * 1024;   /* spares: up to 16 KiB */
  block_cache *p;
  block_cache_stats st;
  const uint8_t *apStale[N_KEPT];
  uint64_t id = block_cache_new_id();
  uint32_t i, k, nEvicted = 0;
  ck_assert_int_eq(block_cache_new(lsm_env_default(), nCapacity, &p), LSM_OK);
  /* The oldest blocks, never looked up (the first to be evicted); their
  ** reader keeps the data pointers past the release. */
  for(i = 0; i < N_KEPT; i++){
    size_t n;
    block_handle *h = block_cache_alloc(p, NULL, 3000);
    ck_assert_ptr_nonnull(h);
    memset(block_handle_buf(h), 7, 3000);
    h = block_cache_insert(p, id, i, h);
    apStale[i] = block_handle_data(h, &n);
    block_cache_release(h);
  }
  /* As many as fit with nothing evicted. */
  block_cache_get_stats(p, &st);
  for(; st.nCharge + 2 * (st.nCharge / i) <= nCapacity; i++){
    miss_and_insert(p, id, i, 3000, nCapacity);
    block_cache_get_stats(p, &st);
  }
  ck_assert_uint_eq(st.nEntries, i);
  /* A block too large for the 3,000-byte entries it evicts: the last of
  ** them wait as spares, the oldest spares are freed. */
  miss_and_insert(p, id, i++, 6000, nCapacity);
  block_cache_get_stats(p, &st);
  ck_assert_uint_gt(st.nSpareBytes, 0);
  for(k = 0; k < N_KEPT; k++){
    block_handle *h = block_cache_lookup(p, id, k);
    if( h ){
      block_cache_release(h);
      continue;
    }
    nEvicted++;
#if defined(__SANITIZE_ADDRESS__)
    /* A spare (poisoned) or freed (ASan's quarantine): a stale read of
    ** either must fault. */
    ck_assert_msg(__asan_address_is_poisoned(apStale[k]),
                  "evicted block %u's bytes can still be read through a stale pointer", k);
#endif
  }
  ck_assert_uint_gt(nEvicted, 0);
  (void)apStale;
  /* Spares reused by blocks that fit them read back right. */
  for(; i < 500; i++) miss_and_insert(p, id, i, 3000, nCapacity);
  block_cache_unref(p);
}
END_TEST

START_TEST(block_cache_handles_outlive_eviction_and_erasure)
{
  block_cache *p;
  block_cache_stats st;
  block_handle *aHeld[8], *h;
  uint64_t id = block_cache_new_id();
  uint32_t i;
  ck_assert_int_eq(block_cache_new(lsm_env_default(), 16 * 1024, &p), LSM_OK);
  for(i = 0; i < 8; i++) aHeld[i] = block_cache_insert(p, id, i, make_block(id, i, 4000));
  /* All eight are in use: over budget, nothing can go. */
  block_cache_get_stats(p, &st);
  ck_assert_uint_eq(st.nEntries, 8);
  /* A second insert of block 3 hands back the first. */
  h = block_cache_insert(p, id, 3, make_block(id, 3, 4000));
  ck_assert_ptr_eq(h, aHeld[3]);
  block_cache_release(h);
  block_cache_erase(p, id, 4);               /* blocks 0..3 leave the cache */
  ck_assert_ptr_null(block_cache_lookup(p, id, 2));
  for(i = 0; i < 8; i++){
    ck_assert(block_ok(aHeld[i], id, i, 4000));   /* still readable */
    block_cache_release(aHeld[i]);
  }
  block_cache_get_stats(p, &st);
  ck_assert_uint_le(st.nCharge, 16 * 1024);
  block_cache_unref(p);
}
END_TEST

START_TEST(block_cache_of_zero_bytes_keeps_only_what_is_used)
{
  block_cache *p;
  block_cache_stats st;
  uint64_t id = block_cache_new_id();
  block_handle *h, *h2;
  ck_assert_int_eq(block_cache_new(lsm_env_default(), 0, &p), LSM_OK);
  h = block_cache_insert(p, id, 0, make_block(id, 0, 100));
  h2 = block_cache_lookup(p, id, 0);        /* shared while in use */
  ck_assert_ptr_eq(h, h2);
  block_cache_release(h2);
  block_cache_release(h);
  block_cache_get_stats(p, &st);
  ck_assert_uint_eq(st.nEntries, 0);
  ck_assert_uint_eq(st.nCharge, 0);
  /* A private handle (no cache) is freed at its release. */
  h = block_cache_insert(NULL, id, 0, make_block(id, 0, 10));
  ck_assert(block_ok(h, id, 0, 10));
  block_cache_release(h);
  block_cache_unref(p);
}
END_TEST

/*
** The hash table against a model: three readers' blocks inserted, looked
** up, released and erased (whole ranges, so that deletions shift probe
** runs back) at random, with a budget nothing reaches, so the cache holds
** exactly what the model holds.  Thousands of blocks make the table grow
** several times.
*/
#define MODEL_READERS 3
#define MODEL_BLOCKS 3000
START_TEST(block_cache_lookups_match_a_model_through_inserts_and_erasures)
{
  unsigned long long seed = test_seed();
  static unsigned char aIn[MODEL_READERS][MODEL_BLOCKS];   /* the model: cached? */
  uint64_t aId[MODEL_READERS], nModel = 0;
  block_cache *p;
  block_cache_stats st;
  test_rng r;
  int k, j;
  rng_init(&r, seed);
  memset(aIn, 0, sizeof(aIn));
  for(j = 0; j < MODEL_READERS; j++) aId[j] = block_cache_new_id();
  ck_assert_int_eq(block_cache_new(lsm_env_default(), (uint64_t)1 << 40, &p), LSM_OK);
  for(k = 0; k < 200000; k++){
    int iReader = (int)rng_below(&r, MODEL_READERS);
    uint32_t iBlock = (uint32_t)rng_below(&r, MODEL_BLOCKS);
    uint64_t id = aId[iReader];
    uint64_t op = rng_below(&r, 1000);
    if( op < 500 ){
      block_handle *h = block_cache_lookup(p, id, iBlock);
      SEED_ASSERT((h != NULL) == (aIn[iReader][iBlock] != 0), "op %d: lookup of block %u of "
                  "reader %d: %s, the model says %s", seed, k, iBlock, iReader,
                  h ? "found" : "missing", aIn[iReader][iBlock] ? "cached" : "not cached");
      if( h ){
        SEED_ASSERT(block_ok(h, id, iBlock, 16 + iBlock % 64), "op %d: bytes of block %u", seed,
                    k, iBlock);
      }
      block_cache_release(h);
    }else if( op < 995 ){
      block_handle *h = block_cache_insert(p, id, iBlock, make_block(id, iBlock, 16 + iBlock % 64));
      SEED_ASSERT(block_ok(h, id, iBlock, 16 + iBlock % 64), "op %d: insert of block %u", seed,
                  k, iBlock);
      block_cache_release(h);
      if( !aIn[iReader][iBlock] ) nModel++;
      aIn[iReader][iBlock] = 1;
    }else{
      uint32_t i;
      block_cache_erase(p, id, iBlock);        /* blocks 0 .. iBlock-1 */
      for(i = 0; i < iBlock; i++){
        if( aIn[iReader][i] ) nModel--;
        aIn[iReader][i] = 0;
      }
    }
    if( k % 1000 == 0 ){
      block_cache_get_stats(p, &st);
      SEED_ASSERT(st.nEntries == nModel, "op %d: %llu entries, the model has %llu", seed, k,
                  (unsigned long long)st.nEntries, (unsigned long long)nModel);
    }
  }
  for(j = 0; j < MODEL_READERS; j++){
    uint32_t i;
    for(i = 0; i < MODEL_BLOCKS; i++){
      block_handle *h = block_cache_lookup(p, aId[j], i);
      SEED_ASSERT((h != NULL) == (aIn[j][i] != 0), "at the end: block %u of reader %d", seed,
                  i, j);
      block_cache_release(h);
    }
  }
  block_cache_unref(p);
}
END_TEST

/*
** The same kind of random run with a budget of about 40 of its blocks,
** so that nearly every insert evicts, and up to 16 handles held at a
** time: a lookup finds only a block inserted and not erased since, with
** its own bytes; a held block that was not erased since is always
** found, as the very handle held (a block in use is never freed); after every
** operation the cache is within its budget or holds nothing but blocks
** in use (invariant 3 of block_cache.h), and never more blocks than the
** model; with every handle released it is within its budget.
*/
#define EVICT_BLOCKS 400
#define EVICT_HELD 16
START_TEST(block_cache_evicts_only_what_no_handle_holds_and_stays_within_its_budget)
{
  unsigned long long seed = test_seed();
  static unsigned char aIn[MODEL_READERS][EVICT_BLOCKS];   /* inserted, not erased since */
  block_handle *aHeld[EVICT_HELD];
  int aHeldReader[EVICT_HELD];
  uint32_t aHeldBlock[EVICT_HELD];
  int aHeldErased[EVICT_HELD];            /* erased since held: a new insert is another entry */
  uint64_t aId[MODEL_READERS], nModel = 0, nEvicting = 0;
  uint64_t nCapacity = 40 * (16 + 300 + 64);
  block_cache *p;
  block_cache_stats st;
  test_rng r;
  int k, j;
  rng_init(&r, seed);
  memset(aIn, 0, sizeof(aIn));
  memset(aHeld, 0, sizeof(aHeld));
  for(j = 0; j < MODEL_READERS; j++) aId[j] = block_cache_new_id();
  ck_assert_int_eq(block_cache_new(lsm_env_default(), nCapacity, &p), LSM_OK);
  for(k = 0; k < 100000; k++){
    int iReader = (int)rng_below(&r, MODEL_READERS);
    uint32_t iBlock = (uint32_t)rng_below(&r, EVICT_BLOCKS);
    size_t nBytes = 16 + iBlock % 300;
    uint64_t id = aId[iReader];
    uint64_t op = rng_below(&r, 1000);
    int iSlot = (int)rng_below(&r, EVICT_HELD), nHeldCached = 0;
    block_handle *h = NULL;
    if( op < 450 ){
      h = block_cache_lookup(p, id, iBlock);
      SEED_ASSERT(h == NULL || aIn[iReader][iBlock], "op %d: lookup of block %u of reader %d "
                  "found a block never inserted or erased since", seed, k, iBlock, iReader);
      SEED_ASSERT(h == NULL || block_ok(h, id, iBlock, nBytes), "op %d: bytes of block %u", seed,
                  k, iBlock);
    }else if( op < 990 ){
      h = block_cache_insert(p, id, iBlock, make_block(id, iBlock, nBytes));
      SEED_ASSERT(block_ok(h, id, iBlock, nBytes), "op %d: insert of block %u", seed, k, iBlock);
      if( !aIn[iReader][iBlock] ) nModel++;
      aIn[iReader][iBlock] = 1;
    }else{
      uint32_t i;
      block_cache_erase(p, id, iBlock);        /* blocks 0 .. iBlock-1 */
      for(i = 0; i < iBlock; i++){
        if( aIn[iReader][i] ) nModel--;
        aIn[iReader][i] = 0;
      }
      for(j = 0; j < EVICT_HELD; j++){
        if( aHeld[j] && aHeldReader[j] == iReader && aHeldBlock[j] < iBlock ) aHeldErased[j] = 1;
      }
    }
    /* Hold what this operation returned in a random slot (its former
    ** occupant released) or release it at once. */
    if( h && rng_below(&r, 4) == 0 ){
      block_cache_release(aHeld[iSlot]);
      aHeld[iSlot] = h;
      aHeldReader[iSlot] = iReader;
      aHeldBlock[iSlot] = iBlock;
      aHeldErased[iSlot] = 0;
    }else{
      block_cache_release(h);
    }
    for(j = 0; j < EVICT_HELD; j++){
      block_handle *hAgain;
      if( !aHeld[j] || aHeldErased[j] ) continue;
      hAgain = block_cache_lookup(p, aId[aHeldReader[j]], aHeldBlock[j]);
      SEED_ASSERT(hAgain == aHeld[j], "op %d: block %u of reader %d is held yet %s", seed, k,
                  aHeldBlock[j], aHeldReader[j], hAgain ? "came back as another handle"
                  : "was evicted");
      block_cache_release(hAgain);
      nHeldCached++;
    }
    block_cache_get_stats(p, &st);
    SEED_ASSERT(st.nEntries <= nModel, "op %d: %llu entries, the model has only %llu", seed, k,
                (unsigned long long)st.nEntries, (unsigned long long)nModel);
    /* Held handles may name the same block twice: the cache may hold
    ** fewer blocks in use than nHeldCached, never more than the budget
    ** allows otherwise. */
    SEED_ASSERT(st.nCharge <= nCapacity || st.nEntries <= (uint64_t)nHeldCached,
                "op %d: %llu bytes in %llu entries over a budget of %llu with %d held", seed, k,
                (unsigned long long)st.nCharge, (unsigned long long)st.nEntries,
                (unsigned long long)nCapacity, nHeldCached);
    if( st.nEntries < nModel ) nEvicting++;
  }
  for(j = 0; j < EVICT_HELD; j++) block_cache_release(aHeld[j]);
  block_cache_release(block_cache_insert(p, aId[0], 0, make_block(aId[0], 0, 16)));
  block_cache_get_stats(p, &st);
  ck_assert_uint_le(st.nCharge, nCapacity);
  /* The budget really was binding: the run evicted for most of its operations. */
  ck_assert_msg(nEvicting > 50000, "the cache held every block the model has for %d of 100000 "
                "operations: the budget did not bind", 100000 - (int)nEvicting);
  block_cache_unref(p);
}
END_TEST

/*
** Eviction frees the oldest block not looked up since the eviction walk
** last passed it: a block looked up after it was inserted outlives the
** blocks inserted after it but never read again, and a block in use
** outlives everything.
*/
START_TEST(block_cache_keeps_a_block_looked_up_again_over_older_unread_ones)
{
  block_cache *p;
  block_handle *h, *hHeld;
  uint64_t id = block_cache_new_id();
  uint32_t i;
  size_t nBlock = 4000;
  /* Room for 8 blocks and their headers, not 9. */
  ck_assert_int_eq(block_cache_new(lsm_env_default(), 8 * (nBlock + 200), &p), LSM_OK);
  for(i = 0; i < 8; i++) block_cache_release(block_cache_insert(p, id, i, make_block(id, i, nBlock)));
  block_cache_release(block_cache_lookup(p, id, 0));     /* block 0 read again */
  hHeld = block_cache_lookup(p, id, 1);                  /* block 1 in use */
  block_cache_release(block_cache_insert(p, id, 8, make_block(id, 8, nBlock)));
  /* Block 2 went (the oldest unread); 0 and 1 stayed. */
  ck_assert_ptr_null(block_cache_lookup(p, id, 2));
  h = block_cache_lookup(p, id, 0);
  ck_assert_ptr_nonnull(h);
  block_cache_release(h);
  /* Inserting 9 .. 20 with block 1 held: it stays, whatever else goes. */
  for(i = 9; i <= 20; i++) block_cache_release(block_cache_insert(p, id, i, make_block(id, i, nBlock)));
  h = block_cache_lookup(p, id, 1);
  ck_assert_ptr_eq(h, hHeld);
  ck_assert(block_ok(h, id, 1, nBlock));
  block_cache_release(h);
  block_cache_release(hHeld);
  h = block_cache_lookup(p, id, 20);                     /* the newest stays */
  ck_assert_ptr_nonnull(h);
  block_cache_release(h);
  block_cache_unref(p);
}
END_TEST

typedef struct cache_job {
  block_cache *p;
  uint64_t seed;
  uint64_t id;
  uint32_t nIds;              /* blocks 0 .. nIds-1                        */
  size_t nBase, nStep;        /* block i has nBase + (i % 120) * nStep bytes */
  int nErr;
} cache_job;

/*
** block_cache_release_cold: a block released by a reader that does not
** fill the cache (a compaction's input) becomes the least recently used,
** so the next insert past the budget evicts it, not the block released
** before it; block_cache_release makes a block the most recently used.
*/
START_TEST(a_block_released_cold_is_the_first_evicted)
{
  block_cache *p;
  block_handle *h;
  uint64_t id = block_cache_new_id();
  uint32_t i;
  size_t nBlock = 4000;
  /* Room for three blocks and their headers, not four. */
  ck_assert_int_eq(block_cache_new(lsm_env_default(), 3 * (nBlock + 200), &p), LSM_OK);
  for(i = 0; i < 3; i++) block_cache_release(block_cache_insert(p, id, i, make_block(id, i, nBlock)));
  /* Block 0, the coldest, is read and released hot: block 1 is now the
  ** coldest, and the next insert evicts it. */
  h = block_cache_lookup(p, id, 0);
  ck_assert_ptr_nonnull(h);
  block_cache_release(h);
  block_cache_release(block_cache_insert(p, id, 3, make_block(id, 3, nBlock)));
  h = block_cache_lookup(p, id, 1);
  ck_assert_ptr_null(h);
  /* Block 3, the hottest, is read and released cold: the next insert
  ** evicts it, not block 2, the coldest before. */
  h = block_cache_lookup(p, id, 3);
  ck_assert_ptr_nonnull(h);
  block_cache_release_cold(h);
  block_cache_release(block_cache_insert(p, id, 4, make_block(id, 4, nBlock)));
  h = block_cache_lookup(p, id, 3);
  ck_assert_ptr_null(h);
  for(i = 0; i < 5; i++){
    if( i == 1 || i == 3 ) continue;
    h = block_cache_lookup(p, id, i);
    ck_assert_msg(h != NULL && block_ok(h, id, i, nBlock), "block %u", i);
    block_cache_release(h);
  }
  block_cache_unref(p);
}
END_TEST

/*
** Blocks a scan passes (block_cache_insert_passing) go before the blocks
** gets read, however many the scan reads: a scan of 50 budgets' worth
** leaves all 8 blocks inserted the ordinary way cached (inserted and
** released, not even looked up since: stricter than a get's), and keeps the first of its
** own blocks (the budget's rest), not the last.  A passed block that a
** lookup finds is an ordinary one from then on.
*/
START_TEST(blocks_a_scan_passes_are_evicted_before_those_gets_looked_up)
{
  block_cache *p;
  block_cache_stats st;
  block_handle *h;
  uint64_t id = block_cache_new_id(), idScan = block_cache_new_id();
  uint32_t i;
  size_t nBlock = 4000;
  /* Room for 16 blocks and their headers. */
  ck_assert_int_eq(block_cache_new(lsm_env_default(), 16 * (nBlock + 200), &p), LSM_OK);
  for(i = 0; i < 8; i++) block_cache_release(block_cache_insert(p, id, i, make_block(id, i, nBlock)));
  for(i = 0; i < 800; i++){
    /* As an iterator steps: the next block is loaded before the current
    ** one is released. */
    block_handle *hNext = block_cache_insert_passing(p, idScan, i, make_block(idScan, i, nBlock));
    ck_assert(block_ok(hNext, idScan, i, nBlock));
    if( i > 0 ) block_cache_release(h);
    h = hNext;
    block_cache_get_stats(p, &st);
    ck_assert_uint_le(st.nCharge, 16 * (nBlock + 200) + 2 * (nBlock + 200));
  }
  block_cache_release(h);
  for(i = 0; i < 8; i++){
    h = block_cache_lookup(p, id, i);
    ck_assert_msg(h != NULL && block_ok(h, id, i, nBlock), "looked-up block %u was evicted", i);
    block_cache_release(h);
  }
  for(i = 0; i < 6; i++){
    h = block_cache_lookup(p, idScan, i);
    ck_assert_msg(h != NULL && block_ok(h, idScan, i, nBlock), "the scan's block %u was evicted", i);
    block_cache_release(h);           /* found: ordinary from now on */
  }
  ck_assert_ptr_null(block_cache_lookup(p, idScan, 400));
  ck_assert_ptr_null(block_cache_lookup(p, idScan, 797));
  /* A second scan evicts neither the looked-up blocks nor the scan's
  ** blocks found by a lookup. */
  for(i = 1000; i < 1100; i++) block_cache_release(block_cache_insert_passing(p, idScan, i,
                                                    make_block(idScan, i, nBlock)));
  for(i = 0; i < 14; i++){
    uint64_t idWant = i < 8 ? id : idScan;
    uint32_t iWant = i < 8 ? i : i - 8;
    h = block_cache_lookup(p, idWant, iWant);
    ck_assert_msg(h != NULL && block_ok(h, idWant, iWant, nBlock), "block %u was evicted", i);
    block_cache_release(h);
  }
  block_cache_unref(p);
}
END_TEST

static void *cache_thread(void *pArg){
  cache_job *pJob = pArg;
  test_rng r;
  int k;
  rng_init(&r, pJob->seed);
  for(k = 0; k < 20000; k++){
    uint32_t i = (uint32_t)rng_below(&r, pJob->nIds);
    size_t n = pJob->nBase + (i % 120) * pJob->nStep;
    block_handle *h = block_cache_lookup(pJob->p, pJob->id, i);
    if( h == NULL && (k & 1) ){
      /* As a reader's miss does: memory from the cache (an evicted
      ** entry's, or a spare's), filled, then inserted. */
      uint8_t *a;
      size_t j;
      h = block_cache_alloc(pJob->p, NULL, n);
      a = block_handle_buf(h);
      for(j = 0; j < n; j++) a[j] = (uint8_t)((pJob->id + i + j) % 251);
      h = block_cache_insert(pJob->p, pJob->id, i, h);
    }
    if( h == NULL ) h = block_cache_insert(pJob->p, pJob->id, i, make_block(pJob->id, i, n));
    if( !block_ok(h, pJob->id, i, n) ) pJob->nErr++;
    block_cache_release(h);
    if( rng_below(&r, 1000) == 0 ) block_cache_erase(pJob->p, pJob->id, 50);
  }
  return NULL;
}

/* Four threads look up, fill, insert, release and erase blocks of one
** cache, every block's bytes checked. */
static void threads_share_a_cache(uint64_t nCapacity, uint32_t nIds, size_t nBase, size_t nStep,
                                  uint64_t *pnSlabMoves){
  unsigned long long seed = test_seed();
  block_cache_stats st;
  block_cache *p;
  pthread_t aThread[4];
  cache_job aJob[4];
  uint64_t id = block_cache_new_id();
  int i;
  ck_assert_int_eq(block_cache_new(lsm_env_default(), nCapacity, &p), LSM_OK);
  for(i = 0; i < 4; i++){
    aJob[i].p = p;
    aJob[i].seed = seed + (uint64_t)i;
    aJob[i].id = id;
    aJob[i].nIds = nIds;
    aJob[i].nBase = nBase;
    aJob[i].nStep = nStep;
    aJob[i].nErr = 0;
    ck_assert_int_eq(pthread_create(&aThread[i], NULL, cache_thread, &aJob[i]), 0);
  }
  for(i = 0; i < 4; i++){
    pthread_join(aThread[i], NULL);
    SEED_ASSERT(aJob[i].nErr == 0, "thread %d: %d errors", seed, i, aJob[i].nErr);
  }
  block_cache_get_stats(p, &st);
  *pnSlabMoves = st.nSlabMoves;
  block_cache_unref(p);
}

START_TEST(block_cache_shared_by_threads_gives_the_right_bytes)
{
  uint64_t nSlabMoves;
  threads_share_a_cache(100 * 1024, 200, 100, 10, &nSlabMoves);
  ck_assert_uint_eq(nSlabMoves, 0);           /* no slabs */
}
END_TEST

/* The same in a cache whose entries come from slabs (16 MiB and up),
** blocks of 2,000 to 37,700 bytes (the largest past the largest size
** class: from malloc), 400 of them, about 27 MB for a 16 MiB cache: 30
** size classes in a 21 MiB limit, so the threads' misses move slabs
** between classes while the others read (move_slab). */
START_TEST(a_cache_in_slabs_shared_by_threads_gives_the_right_bytes)
{
  uint64_t nSlabMoves;
  threads_share_a_cache((uint64_t)16 << 20, 400, 2000, 300, &nSlabMoves);
  fprintf(stderr, "threads in slabs: %llu slabs moved\n", (unsigned long long)nSlabMoves);
  ck_assert_uint_gt(nSlabMoves, 0);
}
END_TEST

/* Misses of blocks of nSize bytes, numbered from *piNext, into a cache
** of nCapacity; the memory it holds then (slabs + malloc'd entries). */
static uint64_t misses_of_size(block_cache *p, uint64_t id, uint32_t *piNext, int nMiss,
                               size_t nSize, uint64_t nCapacity){
  block_cache_stats st;
  int i;
  for(i = 0; i < nMiss; i++) miss_and_insert(p, id, (*piNext)++, nSize, nCapacity);
  block_cache_get_stats(p, &st);
  return st.nMappedBytes + st.nOverflowBytes;
}

/*
** A cache in slabs stays within its slabs' limit and 1/16 of its budget
** from malloc when the blocks' sizes move from one size class to
** another: a slab of the old class is emptied for the new one, where
** before the new class came from malloc on top of the slabs (a review's
** driver: 38 MiB of slabs + 24 MiB of malloc for this 32 MiB cache).  A block a reader
** holds pins its slab (it keeps its bytes; the slab does not move while
** held); the sizes then alternate between the two classes, and the
** memory stays bounded there too.
*/
START_TEST(a_cache_whose_blocks_change_size_class_moves_slabs_and_stays_bounded)
{
  const uint64_t nCapacity = (uint64_t)32 << 20;
  /* The slabs' limit (the budget + 1/16 + two slabs, one more mapped as
  ** it is passed) and the entries that overflowed to malloc (1/16 and
  ** the one that passes it). */
  const uint64_t nBound = nCapacity + nCapacity / 8 + 3 * BLOCK_MEMORY_SLAB_BYTES + 8400 + 128;
  block_cache *p;
  block_cache_stats st;
  block_handle *aHeld[8];
  uint64_t id = block_cache_new_id(), nHeld;
  uint32_t iNext = 0, i;
  ck_assert_int_eq(block_cache_new(lsm_env_default(), nCapacity, &p), LSM_OK);
  nHeld = misses_of_size(p, id, &iNext, 12000, 4200, nCapacity);   /* full: 46 MiB read */
  ck_assert_msg(nHeld <= nBound, "blocks of 4,200 bytes: %llu bytes held",
                (unsigned long long)nHeld);
  for(i = 0; i < 8; i++){          /* a reader holds 8 of them meanwhile */
    aHeld[i] = block_cache_lookup(p, id, iNext - 1 - i * 997);
    ck_assert_ptr_nonnull(aHeld[i]);
  }
  (void)misses_of_size(p, id, &iNext, 1000, 8400, nCapacity);
  for(i = 0; i < 8; i++){
    ck_assert(block_ok(aHeld[i], id, iNext - 1000 - 1 - i * 997, 4200));
    block_cache_release(aHeld[i]);
  }
  nHeld = misses_of_size(p, id, &iNext, 7000, 8400, nCapacity);
  block_cache_get_stats(p, &st);
  ck_assert_msg(nHeld <= nBound && st.nOverflowBytes <= nCapacity / 16 + 8400 + 128,
                "then 8,400 bytes: %llu bytes held, %llu of them from malloc, %llu slabs moved",
                (unsigned long long)nHeld, (unsigned long long)st.nOverflowBytes,
                (unsigned long long)st.nSlabMoves);
  ck_assert_uint_gt(st.nSlabMoves, 0);
  for(i = 0; i < 16000; i++){
    nHeld = misses_of_size(p, id, &iNext, 1, (i / 7) % 2 ? 4200 : 8400, nCapacity);
    ck_assert_msg(nHeld <= nBound, "sizes alternating, miss %u: %llu bytes held", i,
                  (unsigned long long)nHeld);
  }
  block_cache_get_stats(p, &st);
  fprintf(stderr, "slabs moved %llu, memory held %llu of %llu, from malloc %llu\n",
          (unsigned long long)st.nSlabMoves, (unsigned long long)nHeld,
          (unsigned long long)nBound, (unsigned long long)st.nOverflowBytes);
  block_cache_unref(p);
}
END_TEST

/*
** A reader holding one block in every slab pins them all (no slab can
** move): the blocks of the next size class take the room the slabs'
** limit leaves, evict their own, and take at most 1/16 of the budget
** from malloc, the bound (before, 29.3 MB came from malloc beside the
** slabs, and stayed there: a reviewer's driver, 27.9 MiB).  Once the
** reader lets go, slabs move to the new class, and what overflowed to
** malloc drains back into slabs (an evicted block from malloc is freed,
** not reused for the next).
*/
START_TEST(blocks_that_overflowed_while_every_slab_was_pinned_drain_once_released)
{
  const uint64_t nCapacity = (uint64_t)32 << 20;
  enum { MAX_PINS = 64 };
  block_handle *aPin[MAX_PINS];
  const void *aSlab[MAX_PINS];
  block_cache *p;
  block_cache_stats st;
  uint64_t id = block_cache_new_id();
  uint32_t iNext = 0, i;
  int nPin = 0, j;
  ck_assert_int_eq(block_cache_new(lsm_env_default(), nCapacity, &p), LSM_OK);
  (void)misses_of_size(p, id, &iNext, 12000, 4200, nCapacity);
  for(i = 0; i < iNext; i++){
    block_handle *h = block_cache_lookup(p, id, i);
    int bNew = h != NULL;
    for(j = 0; bNew && j < nPin; j++) bNew = aSlab[j] != block_memory_slab_of(h);
    if( bNew && nPin < MAX_PINS ){
      aSlab[nPin] = block_memory_slab_of(h);
      aPin[nPin++] = h;
    }else if( h ){
      block_cache_release(h);
    }
  }
  ck_assert_int_ge(nPin, 12);           /* 32 MiB of 4,200-byte blocks: 16 or 17 slabs */
  (void)misses_of_size(p, id, &iNext, 12000, 8400, nCapacity);
  block_cache_get_stats(p, &st);
  ck_assert_msg(st.nOverflowBytes <= nCapacity / 16 && st.nSlabMoves == 0,
                "pinned: %llu bytes from malloc, %llu slabs moved",
                (unsigned long long)st.nOverflowBytes, (unsigned long long)st.nSlabMoves);
  for(j = 0; j < nPin; j++) block_cache_release(aPin[j]);
  (void)misses_of_size(p, id, &iNext, 30000, 8400, nCapacity);
  block_cache_get_stats(p, &st);
  ck_assert_msg(st.nOverflowBytes < nCapacity / 16 && st.nSlabMoves > 0,
                "released, 30,000 blocks later: %llu bytes from malloc, %llu in slabs, "
                "%llu slabs moved", (unsigned long long)st.nOverflowBytes,
                (unsigned long long)st.nMappedBytes, (unsigned long long)st.nSlabMoves);
  block_cache_unref(p);
}
END_TEST

/*
** Blocks of sizes spread over many size classes (2,000 to 12,000 bytes:
** about 20 classes), read at random from a store twice the cache's size,
** as gets over tables of varying values read them: the memory the cache
** holds (its slabs and the entries from malloc) stays within the slabs'
** limit, at every point of the run.  Before a miss whose class had no
** free object evicted an entry of its own class, the free objects of the
** other classes sat stranded while malloc served it: 47.8-50.6 MiB for
** this 32 MiB cache in a reviewer's drivers.  Every block reads back
** right.
*/
START_TEST(blocks_of_many_size_classes_stay_within_the_slabs_limit)
{
  const uint64_t nCapacity = (uint64_t)32 << 20;
  const uint64_t nBound = nCapacity + nCapacity / 8 + 3 * BLOCK_MEMORY_SLAB_BYTES + 12000 + 128;
  const uint32_t nBlocks = 10000;          /* about 66 MiB of blocks */
  unsigned long long seed = test_seed();
  block_cache *p;
  block_cache_stats st;
  test_rng r;
  uint64_t id = block_cache_new_id(), nHeld, nMost = 0;
  uint32_t k;
  rng_init(&r, seed);
  ck_assert_int_eq(block_cache_new(lsm_env_default(), nCapacity, &p), LSM_OK);
  for(k = 0; k < 200000; k++){
    uint32_t i = (uint32_t)rng_below(&r, nBlocks);
    size_t n = 2000 + (size_t)((i * 2654435761u) % 10001u);
    block_handle *h = block_cache_lookup(p, id, i);
    if( h == NULL ){
      uint8_t *a;
      size_t j;
      h = block_cache_alloc(p, NULL, n);
      ck_assert_ptr_nonnull(h);
      a = block_handle_buf(h);
      for(j = 0; j < n; j++) a[j] = (uint8_t)((id + i + j) % 251);
      h = block_cache_insert(p, id, i, h);
    }
    SEED_ASSERT(block_ok(h, id, i, n), "block %u of %zu bytes reads wrong", seed, i, n);
    block_cache_release(h);
    if( k % 64 == 0 ){
      block_cache_get_stats(p, &st);
      nHeld = st.nMappedBytes + st.nOverflowBytes;
      if( nHeld > nMost ) nMost = nHeld;
      SEED_ASSERT(nHeld <= nBound, "read %u: %llu bytes held (%llu in slabs, %llu from malloc), "
                  "bound %llu", seed, k, (unsigned long long)nHeld,
                  (unsigned long long)st.nMappedBytes, (unsigned long long)st.nOverflowBytes,
                  (unsigned long long)nBound);
    }
  }
  block_cache_get_stats(p, &st);
  fprintf(stderr, "many classes: most held %llu of %llu; %llu cached, %llu hits, %llu misses, "
          "%llu slabs moved, %llu evicted for their own class, %llu not cached\n",
          (unsigned long long)nMost, (unsigned long long)nBound,
          (unsigned long long)st.nCharge, (unsigned long long)st.nHits,
          (unsigned long long)st.nMisses, (unsigned long long)st.nSlabMoves,
          (unsigned long long)st.nClassEvictions, (unsigned long long)st.nRefused);
  /* Both ways of staying bounded were taken (a class short of room
  ** evicting its own, a class with none leaving blocks uncached). */
  ck_assert_uint_gt(st.nClassEvictions, 0);
  ck_assert_uint_gt(st.nRefused, 0);
  block_cache_unref(p);
}
END_TEST

/*
** A working set smaller than the budget, of blocks spread over many size
** classes (20 MiB of 2,000 to 12,000 bytes in a 32 MiB cache), stays
** cached once read: the bound takes room from malloc before it refuses a
** block.  A first version refused past 1/16 of the budget from malloc,
** and the classes the slabs' limit left without a slab then missed 5%
** of these reads for good (a reviewer's driver).  And a handle that will
** not be inserted (block_handle_alloc: a compaction's input) evicts
** nothing, even for a class with no free object.
*/
START_TEST(a_working_set_within_the_budget_stays_cached_whatever_its_size_classes)
{
  const uint64_t nCapacity = (uint64_t)32 << 20;
  const uint32_t nBlocks = 2900;           /* about 20 MiB */
  unsigned long long seed = test_seed();
  block_cache *p;
  block_cache_stats st, st2;
  test_rng r;
  uint64_t id = block_cache_new_id(), nHits0 = 0, nMiss0 = 0;
  uint32_t k, i;
  rng_init(&r, seed);
  ck_assert_int_eq(block_cache_new(lsm_env_default(), nCapacity, &p), LSM_OK);
  for(k = 0; k < 200000; k++){
    size_t n;
    block_handle *h;
    i = (uint32_t)rng_below(&r, nBlocks);
    n = 2000 + (size_t)((i * 2654435761u) % 10001u);
    if( k == 100000 ){
      block_cache_get_stats(p, &st);
      nHits0 = st.nHits;
      nMiss0 = st.nMisses;
    }
    h = block_cache_lookup(p, id, i);
    if( h == NULL ){
      h = block_cache_alloc(p, NULL, n);
      ck_assert_ptr_nonnull(h);
      memset(block_handle_buf(h), (int)(i % 251), n);
      h = block_cache_insert(p, id, i, h);
    }
    SEED_ASSERT(block_handle_buf(h)[n - 1] == (uint8_t)(i % 251), "block %u reads wrong", seed, i);
    block_cache_release(h);
  }
  block_cache_get_stats(p, &st);
  SEED_ASSERT((st.nMisses - nMiss0) * 100 <= (st.nHits - nHits0 + st.nMisses - nMiss0),
              "the second 100,000 reads: %llu hits, %llu misses (%llu bytes in slabs, %llu "
              "from malloc)", seed, (unsigned long long)(st.nHits - nHits0),
              (unsigned long long)(st.nMisses - nMiss0), (unsigned long long)st.nMappedBytes,
              (unsigned long long)st.nOverflowBytes);
  /* Blocks a compaction reads and drops, of every class: nothing is
  ** evicted for them. */
  for(k = 0; k < 2000; k++){
    block_handle *h = block_handle_alloc(p, NULL, 2000 + (size_t)rng_below(&r, 10001));
    ck_assert_ptr_nonnull(h);
    block_cache_release(h);
  }
  block_cache_get_stats(p, &st2);
  ck_assert_uint_eq(st2.nEntries, st.nEntries);
  ck_assert_uint_eq(st2.nClassEvictions, st.nClassEvictions);
  block_cache_unref(p);
}
END_TEST

/* A store read only through the block cache gives the model's answers. */
static void store_through_cache(uint64_t nCacheBytes){
  unsigned long long seed = test_seed();
  char *zDir = test_tmpdir("bcache");
  lsm_options opt;
  lsm_db *pDb;
  lsm_cursor *pCsr;
  test_rng r;
  int i, n = test_scale(20000), nSeen = 0;
  char *z;
  rng_init(&r, seed);
  lsm_options_default(&opt);
  opt.memtable_bytes = 64 * 1024;
  opt.use_mmap = 0;
  opt.block_cache_bytes = nCacheBytes;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  for(i = 0; i < n; i++){
    char k[16], v[64];
    int nk = snprintf(k, sizeof(k), "k%08d", (int)((uint64_t)i * 7919 % (uint64_t)n));
    int nv = snprintf(v, sizeof(v), "value-%d-%d", i, (int)rng_below(&r, 1000));
    ck_assert_int_eq(lsm_put(pDb, k, (size_t)nk, v, (size_t)nv), LSM_OK);
  }
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  for(i = 0; i < 2000; i++){
    char k[16];
    int j = (int)rng_below(&r, (uint64_t)n);
    int nk = snprintf(k, sizeof(k), "k%08d", j);
    void *pVal = NULL;
    size_t nVal = 0;
    SEED_ASSERT(lsm_get(pDb, NULL, k, (size_t)nk, &pVal, &nVal) == LSM_OK, "get %s", seed, k);
    SEED_ASSERT(nVal > 6 && memcmp(pVal, "value-", 6) == 0, "value of %s", seed, k);
    lsm_free(pVal);
  }
  ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pCsr), LSM_OK);
  for(lsm_cursor_first(pCsr); lsm_cursor_valid(pCsr); lsm_cursor_next(pCsr)) nSeen++;
  ck_assert_int_eq(nSeen, n);
  lsm_cursor_close(pCsr);
  z = NULL;
  ck_assert_int_eq(lsm_check(pDb, &z), LSM_OK);
  lsm_free(z);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  test_rmtree(zDir);
  free(zDir);
}

START_TEST(store_read_through_a_small_block_cache_matches_the_model)
{
  store_through_cache(64 * 1024);
}
END_TEST

START_TEST(store_read_with_no_block_cache_matches_the_model)
{
  store_through_cache(0);
}
END_TEST

/* The cache's charge (bytes held), read through a store using it. */
static uint64_t cache_bytes(lsm_db *pDb){
  lsm_stats st;
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  return st.nBlockCacheBytes;
}

/* Put n keys (k<store><i>, 100-byte values) into pDb and flush them into
** SSTables, then read each key back. */
static void fill_and_read(lsm_db *pDb, int iStore, int n){
  char v[100];
  int i;
  memset(v, 'a' + iStore, sizeof(v));
  for(i = 0; i < n; i++){
    char k[24];
    int nk = snprintf(k, sizeof(k), "k%d-%08d", iStore, i);
    ck_assert_int_eq(lsm_put(pDb, k, (size_t)nk, v, sizeof(v)), LSM_OK);
  }
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  for(i = 0; i < n; i++){
    char k[24];
    int nk = snprintf(k, sizeof(k), "k%d-%08d", iStore, i);
    void *pVal = NULL;
    size_t nVal = 0;
    ck_assert_int_eq(lsm_get(pDb, NULL, k, (size_t)nk, &pVal, &nVal), LSM_OK);
    ck_assert_msg(nVal == sizeof(v) && memcmp(pVal, v, nVal) == 0, "value of %s", k);
    lsm_free(pVal);
  }
}

START_TEST(stores_sharing_a_cache_stay_within_its_one_budget_and_leave_it_at_close)
{
  enum { N_STORE = 4, N_KEYS = 3000, CAPACITY = 96 * 1024 };
  lsm_block_cache *pShared = NULL;
  lsm_db *aDb[N_STORE];
  char *azDir[N_STORE];
  lsm_options opt;
  block_cache_stats bs;
  lsm_stats st0, st;
  uint64_t nBytesAll, nBytesOne;
  int i;
  ck_assert_int_eq(lsm_block_cache_new(CAPACITY, &pShared), LSM_OK);
  lsm_options_default(&opt);
  opt.memtable_bytes = 1 << 20;
  opt.use_mmap = 0;
  opt.compression = LSM_COMPRESSION_NONE;
  opt.block_cache_bytes = 64u << 20;       /* ignored: the shared one is used */
  opt.block_cache = pShared;
  for(i = 0; i < N_STORE; i++){
    azDir[i] = test_tmpdir("bshared");
    ck_assert_int_eq(lsm_open(azDir[i], &opt, &aDb[i]), LSM_OK);
  }
  /* Each store alone reads ~330 KiB of blocks: several budgets' worth. */
  for(i = 0; i < N_STORE; i++){
    fill_and_read(aDb[i], i, N_KEYS);
    ck_assert_uint_le(cache_bytes(aDb[i]), CAPACITY);
    if( i == 0 ) ck_assert_int_eq(lsm_stats_get(aDb[0], &st0), LSM_OK);
  }
  /* Hits and misses are each store's own: the others' reads left store
  ** 0's alone. */
  ck_assert_int_eq(lsm_stats_get(aDb[0], &st), LSM_OK);
  ck_assert_uint_gt(st0.nBlockCacheMisses, 0);
  ck_assert_uint_eq(st.nBlockCacheMisses, st0.nBlockCacheMisses);
  ck_assert_uint_eq(st.nBlockCacheHits, st0.nBlockCacheHits);
  /* One cache: every store reports the same bytes, within the budget. */
  nBytesAll = cache_bytes(aDb[0]);
  ck_assert_uint_gt(nBytesAll, CAPACITY / 2);
  for(i = 1; i < N_STORE; i++) ck_assert_uint_eq(cache_bytes(aDb[i]), nBytesAll);
  /* The last store to read holds what it read last; closing the others
  ** leaves its blocks, closing it leaves nothing. */
  for(i = 0; i < N_STORE - 1; i++){
    ck_assert_int_eq(lsm_close(aDb[i]), LSM_OK);
    test_rmtree(azDir[i]);
    free(azDir[i]);
  }
  nBytesOne = cache_bytes(aDb[N_STORE - 1]);
  ck_assert_uint_gt(nBytesOne, 0);
  ck_assert_uint_le(nBytesOne, nBytesAll);
  ck_assert_int_eq(lsm_close(aDb[N_STORE - 1]), LSM_OK);
  test_rmtree(azDir[N_STORE - 1]);
  free(azDir[N_STORE - 1]);
  block_cache_get_stats(pShared, &bs);
  ck_assert_uint_eq(bs.nCharge, 0);
  ck_assert_uint_eq(bs.nEntries, 0);
  ck_assert_uint_eq(bs.nCapacity, CAPACITY);
  lsm_block_cache_unref(pShared);       /* the last reference: freed (ASan: no leak) */
}
END_TEST

/* A compressed store (the default: lz4) of about 12 MiB of decompressed
** blocks, every SSTable settled (background off: nothing changes between
** the scans).  The second full scan finds every block in the default
** block cache: a working set of that size is what a directory store's
** readers decompress again and again right after heavy writes, when
** level 0 holds a dozen tables (db.c, lsm_options_default). */
START_TEST(a_compressed_store_of_12_mib_scans_from_the_default_block_cache_the_second_time)
{
  enum { N_KEYS = 100000 };
  char *zDir = test_tmpdir("bdefault");
  lsm_db *pDb = NULL;
  lsm_cursor *pCsr = NULL;
  lsm_options opt;
  lsm_stats st1, st2;
  char v[100];
  int i, iPass;
  lsm_options_default(&opt);
  ck_assert_int_eq(opt.compression, LSM_COMPRESSION_LZ4);
  opt.background = 0;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  for(i = 0; i < N_KEYS; i++){
    char k[24];
    int nk = snprintf(k, sizeof(k), "key%08d", (int)((uint64_t)i * 7919 % N_KEYS));
    memset(v, 'a' + i % 26, sizeof(v));        /* compresses: lz4 blocks */
    ck_assert_int_eq(lsm_put(pDb, k, (size_t)nk, v, sizeof(v)), LSM_OK);
  }
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  for(iPass = 0; iPass < 2; iPass++){
    int nSeen = 0;
    ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pCsr), LSM_OK);
    for(lsm_cursor_first(pCsr); lsm_cursor_valid(pCsr); lsm_cursor_next(pCsr)) nSeen++;
    lsm_cursor_close(pCsr);
    ck_assert_int_eq(nSeen, N_KEYS);
    ck_assert_int_eq(lsm_stats_get(pDb, iPass == 0 ? &st1 : &st2), LSM_OK);
  }
  /* The first scan read every block from its file; the blocks hold more
  ** than 8 MiB (LevelDB's default, this store's before). */
  ck_assert_uint_gt(st1.nBlockCacheMisses, 0);
  ck_assert_uint_gt(st1.nBlockCacheBytes, 8u << 20);
  ck_assert_uint_eq(st2.nBlockCacheMisses, st1.nBlockCacheMisses);
  ck_assert_uint_gt(st2.nBlockCacheHits, st1.nBlockCacheHits);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/* Random puts and deletes (keys k00000000.., values of 1..300 bytes,
** seed-chosen) into a store that reads every block through its cache
** (use_mmap off), flushed and compacted in the caller's thread;
** aVal/anVal: the model, each key's last value (anVal -1: absent). */
enum { FILL_KEYS = 3000, FILL_OPS = 12000 };
static void fill_random(lsm_db *pDb, test_rng *r, char aVal[][300], int *anVal){
  int i, j;
  for(i = 0; i < FILL_KEYS; i++) anVal[i] = -1;
  for(i = 0; i < FILL_OPS; i++){
    char k[16];
    int iKey = (int)rng_below(r, FILL_KEYS);
    int nk = snprintf(k, sizeof(k), "k%08d", iKey);
    if( rng_below(r, 8) == 0 ){
      ck_assert_int_eq(lsm_delete(pDb, k, (size_t)nk), LSM_OK);
      anVal[iKey] = -1;
    }else{
      int nv = 1 + (int)rng_below(r, 300);
      for(j = 0; j < nv; j++) aVal[iKey][j] = (char)(j < nv / 2 ? rng_below(r, 256) : 'v');
      ck_assert_int_eq(lsm_put(pDb, k, (size_t)nk, aVal[iKey], (size_t)nv), LSM_OK);
      anVal[iKey] = nv;
    }
  }
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
}

/* Every key's get and a full scan give the model's answers. */
static void reads_match_model(lsm_db *pDb, unsigned long long seed, char aVal[][300],
                              const int *anVal){
  lsm_cursor *pCsr = NULL;
  int i, iNext = 0;
  for(i = 0; i < FILL_KEYS; i++){
    char k[16];
    int nk = snprintf(k, sizeof(k), "k%08d", i);
    void *pVal = NULL;
    size_t nVal = 0;
    int rc = lsm_get(pDb, NULL, k, (size_t)nk, &pVal, &nVal);
    if( anVal[i] < 0 ){
      SEED_ASSERT(rc == LSM_NOTFOUND, "get %s: %d, deleted", seed, k, rc);
    }else{
      SEED_ASSERT(rc == LSM_OK && nVal == (size_t)anVal[i] && memcmp(pVal, aVal[i], nVal) == 0,
                  "get %s", seed, k);
    }
    lsm_free(pVal);
  }
  ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pCsr), LSM_OK);
  for(lsm_cursor_first(pCsr); lsm_cursor_valid(pCsr); lsm_cursor_next(pCsr)){
    const void *pK, *pV;
    size_t nK, nV;
    char k[16];
    while( iNext < FILL_KEYS && anVal[iNext] < 0 ) iNext++;
    SEED_ASSERT(iNext < FILL_KEYS, "scan: a row past the model's last", seed);
    snprintf(k, sizeof(k), "k%08d", iNext);
    ck_assert_int_eq(lsm_cursor_key(pCsr, &pK, &nK), LSM_OK);
    ck_assert_int_eq(lsm_cursor_value(pCsr, &pV, &nV), LSM_OK);
    SEED_ASSERT(nK == 9 && memcmp(pK, k, 9) == 0, "scan: expected %s", seed, k);
    SEED_ASSERT(nV == (size_t)anVal[iNext] && memcmp(pV, aVal[iNext], nV) == 0,
                "scan: value of %s", seed, k);
    iNext++;
  }
  while( iNext < FILL_KEYS && anVal[iNext] < 0 ) iNext++;
  SEED_ASSERT(iNext == FILL_KEYS, "scan ended before k%08d", seed, iNext);
  lsm_cursor_close(pCsr);
}

/*
** fill_cache_on_write: the blocks flushes and compactions write enter the
** cache as they are written, so reads right after them (every key's get,
** a full scan) find every block there, miss none, and answer as the
** model does, with lz4 blocks, raw ones, and 512-byte blocks.  lsm_check
** then reads every block from the files and finds them as written.
*/
START_TEST(blocks_written_by_flushes_and_compactions_are_read_from_the_cache)
{
  static const int aCompression[] = {LSM_COMPRESSION_LZ4, LSM_COMPRESSION_NONE, LSM_COMPRESSION_LZ4};
  static char aVal[FILL_KEYS][300];
  static int anVal[FILL_KEYS];
  unsigned long long seed = test_seed();
  int iCase;
  for(iCase = 0; iCase < 3; iCase++){
    char *zDir = test_tmpdir("bfill");
    lsm_options opt;
    lsm_db *pDb = NULL;
    lsm_stats st1, st2;
    test_rng r;
    char *z = NULL;
    rng_init(&r, seed + (unsigned long long)iCase);
    lsm_options_default(&opt);
    opt.background = 0;
    opt.use_mmap = 0;
    opt.memtable_bytes = 64 * 1024;      /* many flushes, then compactions */
    opt.compression = aCompression[iCase];
    if( iCase == 2 ) opt.block_bytes = 512;
    opt.fill_cache_on_write = 1;
    ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
    fill_random(pDb, &r, aVal, anVal);
    ck_assert_int_eq(lsm_stats_get(pDb, &st1), LSM_OK);
    SEED_ASSERT(st1.nCompactions > 0, "case %d: no compaction ran", seed, iCase);
    reads_match_model(pDb, seed, aVal, anVal);
    ck_assert_int_eq(lsm_stats_get(pDb, &st2), LSM_OK);
    SEED_ASSERT(st2.nBlockCacheHits > st1.nBlockCacheHits, "case %d: no hit", seed, iCase);
    SEED_ASSERT(st2.nBlockCacheMisses == st1.nBlockCacheMisses,
                "case %d: %llu blocks read from the files", seed, iCase,
                (unsigned long long)(st2.nBlockCacheMisses - st1.nBlockCacheMisses));
    ck_assert_int_eq(lsm_check(pDb, &z), LSM_OK);
    lsm_free(z);
    ck_assert_int_eq(lsm_close(pDb), LSM_OK);
    test_rmtree(zDir);
    free(zDir);
  }
}
END_TEST

/*
** A compaction reads its inputs through the cache (when the cache holds
** them) while it writes its output into it (fill_cache_on_write).  With a
** budget that holds the store's blocks once and a tenth, not twice, the
** blocks it writes must stay and the inputs it read, soon obsolete, go:
** every get and a full scan after lsm_compact then miss nothing.  (Were
** the inputs it read made the most recently used, the output written
** before them would be evicted, and a scan right after a compaction would
** read it from the files again: README, "Scanning rows".)
*/
START_TEST(a_compaction_keeps_the_blocks_it_writes_in_the_cache_not_those_it_reads)
{
  static char aVal[FILL_KEYS][300];
  static int anVal[FILL_KEYS];
  unsigned long long seed = test_seed();
  char *zDir = test_tmpdir("bcold");
  lsm_block_cache *pShared = NULL;
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_stats st1, st2;
  test_rng r;
  rng_init(&r, seed);
  ck_assert_int_eq(lsm_block_cache_new(64u << 20, &pShared), LSM_OK);
  lsm_options_default(&opt);
  opt.background = 0;
  opt.use_mmap = 0;
  opt.memtable_bytes = 64 * 1024;        /* many tables in several levels */
  opt.compression = LSM_COMPRESSION_NONE;
  opt.fill_cache_on_write = 1;
  opt.block_cache = pShared;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  fill_random(pDb, &r, aVal, anVal);
  reads_match_model(pDb, seed, aVal, anVal);      /* every live block cached */
  ck_assert_int_eq(lsm_stats_get(pDb, &st1), LSM_OK);
  SEED_ASSERT(st1.nBlockCacheBytes > 100 * 1024, "only %llu bytes cached", seed,
              (unsigned long long)st1.nBlockCacheBytes);
  lsm_block_cache_set_capacity(pShared, st1.nBlockCacheBytes + st1.nBlockCacheBytes / 10);
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  ck_assert_int_eq(lsm_stats_get(pDb, &st1), LSM_OK);
  reads_match_model(pDb, seed, aVal, anVal);
  ck_assert_int_eq(lsm_stats_get(pDb, &st2), LSM_OK);
  SEED_ASSERT(st2.nBlockCacheMisses == st1.nBlockCacheMisses,
              "the reads after the compaction read %llu blocks from the files", seed,
              (unsigned long long)(st2.nBlockCacheMisses - st1.nBlockCacheMisses));
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  lsm_block_cache_unref(pShared);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/*
** A cursor opened with lsm_read.bNoFill (lsm_stats' count of live bytes)
** reads blocks the cache does not hold without adding them: blocks
** another reader put there stay, so that reader's next pass misses no
** more than before the scan.  A 64 KiB cache holds a few keys' blocks, not
** the store's.
*/
START_TEST(a_scan_that_does_not_fill_the_cache_leaves_its_blocks_alone)
{
  static char aVal[FILL_KEYS][300];
  static int anVal[FILL_KEYS];
  unsigned long long seed = test_seed();
  char *zDir = test_tmpdir("bnofill");
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_cursor *pCsr = NULL;
  lsm_read rd;
  lsm_stats st1, st2;
  test_rng r;
  int iPass, i, nSeen = 0, nLive = 0;
  rng_init(&r, seed);
  lsm_options_default(&opt);
  opt.background = 0;
  opt.use_mmap = 0;
  opt.memtable_bytes = 64 * 1024;
  opt.block_cache_bytes = 64 * 1024;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  fill_random(pDb, &r, aVal, anVal);
  for(iPass = 0; iPass < 2; iPass++){
    for(i = 0; i < 20; i++){          /* the same few keys, twice */
      char k[16];
      int nk = snprintf(k, sizeof(k), "k%08d", i * 7);
      void *pVal = NULL;
      size_t nVal = 0;
      int rc = lsm_get(pDb, NULL, k, (size_t)nk, &pVal, &nVal);
      SEED_ASSERT(rc == (anVal[i * 7] < 0 ? LSM_NOTFOUND : LSM_OK), "get %s", seed, k);
      lsm_free(pVal);
    }
    ck_assert_int_eq(lsm_stats_get(pDb, iPass == 0 ? &st1 : &st2), LSM_OK);
    if( iPass == 0 ){
      memset(&rd, 0, sizeof(rd));
      rd.bNoFill = 1;
      ck_assert_int_eq(lsm_cursor_open(pDb, &rd, &pCsr), LSM_OK);
      for(lsm_cursor_first(pCsr); lsm_cursor_valid(pCsr); lsm_cursor_next(pCsr)) nSeen++;
      lsm_cursor_close(pCsr);
      for(i = 0; i < FILL_KEYS; i++) nLive += anVal[i] >= 0;
      SEED_ASSERT(nSeen == nLive, "scan saw %d rows, not %d", seed, nSeen, nLive);
      ck_assert_int_eq(lsm_stats_get(pDb, &st1), LSM_OK);
    }
  }
  SEED_ASSERT(st2.nBlockCacheMisses == st1.nBlockCacheMisses,
              "the gets after the scan read %llu blocks from the files", seed,
              (unsigned long long)(st2.nBlockCacheMisses - st1.nBlockCacheMisses));
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/* Get key k%08d of i * 40 (every such key in a block of its own: about 13
** entries of 300 bytes fill a 4 KiB block); *pnMiss gains the block reads. */
static void get_spaced(lsm_db *pDb, int i, uint64_t *pnMiss){
  char k[16];
  int nk = snprintf(k, sizeof(k), "k%08d", i * 40);
  void *pVal = NULL;
  size_t nVal = 0;
  lsm_stats st0, st1;
  ck_assert_int_eq(lsm_stats_get(pDb, &st0), LSM_OK);
  ck_assert_int_eq(lsm_get(pDb, NULL, k, (size_t)nk, &pVal, &nVal), LSM_OK);
  ck_assert_uint_eq(nVal, 300);
  lsm_free(pVal);
  ck_assert_int_eq(lsm_stats_get(pDb, &st1), LSM_OK);
  *pnMiss += st1.nBlockCacheMisses - st0.nBlockCacheMisses;
}

/*
** A cursor that does not fill the cache (lsm_read.bNoFill: lsm_stats'
** count of live bytes) gives the blocks it finds no second chance: the
** blocks gets read twice outlive those read once, as before it passed.
** A 64 KiB cache (about 15 blocks of 4 KiB): 2 blocks read twice, 10
** read once, the whole store scanned without filling, 6 new blocks read
** (evicting about 3): the first 2 are still cached.  When the scan's
** lookups marked every block it found, the eviction walk saw all 12 alike
** and evicted the oldest, the 2 read twice.
*/
START_TEST(a_scan_that_does_not_fill_the_cache_leaves_the_gets_second_chances)
{
  static char aVal[300];
  char *zDir = test_tmpdir("bnofillorder");
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_cursor *pCsr = NULL;
  lsm_read rd;
  uint64_t nMiss = 0;
  int i, nSeen = 0;
  lsm_options_default(&opt);
  opt.background = 0;
  opt.use_mmap = 0;
  opt.compression = LSM_COMPRESSION_NONE;
  opt.memtable_bytes = 256 * 1024;
  opt.block_cache_bytes = 64 * 1024;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  memset(aVal, 'v', sizeof(aVal));
  for(i = 0; i < 1000; i++){
    char k[16];
    int nk = snprintf(k, sizeof(k), "k%08d", i);
    ck_assert_int_eq(lsm_put(pDb, k, (size_t)nk, aVal, sizeof(aVal)), LSM_OK);
  }
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  for(i = 0; i < 2; i++) get_spaced(pDb, i, &nMiss);
  for(i = 0; i < 2; i++) get_spaced(pDb, i, &nMiss);      /* looked up: a second chance */
  for(i = 2; i < 12; i++) get_spaced(pDb, i, &nMiss);
  ck_assert_uint_eq(nMiss, 12);                           /* 12 blocks, all cached */
  memset(&rd, 0, sizeof(rd));
  rd.bNoFill = 1;
  ck_assert_int_eq(lsm_cursor_open(pDb, &rd, &pCsr), LSM_OK);
  for(lsm_cursor_first(pCsr); lsm_cursor_valid(pCsr); lsm_cursor_next(pCsr)) nSeen++;
  lsm_cursor_close(pCsr);
  ck_assert_int_eq(nSeen, 1000);
  for(i = 12; i < 18; i++) get_spaced(pDb, i, &nMiss);
  ck_assert_uint_eq(nMiss, 18);
  for(i = 0; i < 2; i++) get_spaced(pDb, i, &nMiss);
  ck_assert_msg(nMiss == 18, "the blocks read twice were evicted: %llu more block reads",
                (unsigned long long)(nMiss - 18));
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/*
** A scan with the cache filled as usual, of a store several times the
** budget, leaves the blocks gets read in the cache: the gets after it
** read no block from the files (before block_cache_insert_passing the
** scan's reads evicted them: each block a scan read pushed out a block it
** or the gets would read later).
*/
START_TEST(a_scan_longer_than_the_cache_leaves_the_blocks_gets_read)
{
  static char aVal[FILL_KEYS][300];
  static int anVal[FILL_KEYS];
  unsigned long long seed = test_seed();
  char *zDir = test_tmpdir("bpassing");
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_cursor *pCsr = NULL;
  lsm_stats st1, st2;
  test_rng r;
  int iPass, i, nSeen = 0, nLive = 0;
  rng_init(&r, seed);
  lsm_options_default(&opt);
  opt.background = 0;
  opt.use_mmap = 0;
  opt.memtable_bytes = 64 * 1024;
  opt.block_cache_bytes = 64 * 1024;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  fill_random(pDb, &r, aVal, anVal);
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  for(iPass = 0; iPass < 2; iPass++){
    for(i = 0; i < 3; i++){          /* the same few keys, twice */
      char k[16];
      int nk = snprintf(k, sizeof(k), "k%08d", i * 997);
      void *pVal = NULL;
      size_t nVal = 0;
      int rc = lsm_get(pDb, NULL, k, (size_t)nk, &pVal, &nVal);
      SEED_ASSERT(rc == (anVal[i * 997] < 0 ? LSM_NOTFOUND : LSM_OK), "get %s", seed, k);
      lsm_free(pVal);
    }
    ck_assert_int_eq(lsm_stats_get(pDb, iPass == 0 ? &st1 : &st2), LSM_OK);
    if( iPass == 0 ){
      ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pCsr), LSM_OK);
      for(lsm_cursor_first(pCsr); lsm_cursor_valid(pCsr); lsm_cursor_next(pCsr)) nSeen++;
      lsm_cursor_close(pCsr);
      for(i = 0; i < FILL_KEYS; i++) nLive += anVal[i] >= 0;
      SEED_ASSERT(nSeen == nLive, "scan saw %d rows, not %d", seed, nSeen, nLive);
      ck_assert_int_eq(lsm_stats_get(pDb, &st1), LSM_OK);
      SEED_ASSERT(st1.nBlockCacheMisses > 64, "the scan read only %llu blocks: not longer than the cache",
                  seed, (unsigned long long)st1.nBlockCacheMisses);
    }
  }
  SEED_ASSERT(st2.nBlockCacheMisses == st1.nBlockCacheMisses,
              "the gets after the scan read %llu blocks from the files", seed,
              (unsigned long long)(st2.nBlockCacheMisses - st1.nBlockCacheMisses));
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/*
** A short range read again and again (here 80 rows, four or five 4 KiB
** blocks: the block a seek lands in and up to four steps), between gets
** of 8 new blocks a round in a cache of about 28 (a smaller cache let
** CLOCK's second chance lose a round's range at some seeds), stays cached as a get's blocks do: the blocks it steps
** into are not a scan's (SST_PASSING_AFTER in lsm/sst_reader_iter.c).
** Were they passing, each round's gets would evict them first, and every
** round would read them again.
*/
START_TEST(a_short_range_read_again_stays_cached_among_gets)
{
  static char aVal[FILL_KEYS][300];
  static int anVal[FILL_KEYS];
  unsigned long long seed = test_seed();
  char *zDir = test_tmpdir("brange");
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_stats st1, st2;
  test_rng r;
  int iRound, i;
  uint64_t nRangeMisses = 0;
  rng_init(&r, seed);
  lsm_options_default(&opt);
  opt.background = 0;
  opt.use_mmap = 0;
  opt.memtable_bytes = 64 * 1024;
  opt.block_cache_bytes = 128 * 1024;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  fill_random(pDb, &r, aVal, anVal);
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);      /* one sorted run */
  for(i = 0; i < FILL_KEYS; i += 50){      /* a full cache of other blocks */
    char k[16];
    int nk = snprintf(k, sizeof(k), "k%08d", i);
    void *pVal = NULL;
    size_t nVal = 0;
    (void)lsm_get(pDb, NULL, k, (size_t)nk, &pVal, &nVal);
    lsm_free(pVal);
  }
  for(iRound = 0; iRound < 8; iRound++){
    lsm_cursor *pCsr = NULL;
    int nRow = 0;
    ck_assert_int_eq(lsm_stats_get(pDb, &st1), LSM_OK);
    ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pCsr), LSM_OK);
    lsm_cursor_seek(pCsr, "k00001000", 9, LSM_SEEK_GE);
    for(; lsm_cursor_valid(pCsr) && nRow < 80; lsm_cursor_next(pCsr)) nRow++;
    lsm_cursor_close(pCsr);
    SEED_ASSERT(nRow == 80, "the range read %d rows", seed, nRow);
    ck_assert_int_eq(lsm_stats_get(pDb, &st2), LSM_OK);
    if( iRound > 0 ) nRangeMisses += st2.nBlockCacheMisses - st1.nBlockCacheMisses;
    for(i = 0; i < 8; i++){          /* gets of other blocks, new each round */
      char k[16];
      int iKey = (2000 + iRound * 120 + i * 15) % FILL_KEYS;
      int nk = snprintf(k, sizeof(k), "k%08d", iKey);
      void *pVal = NULL;
      size_t nVal = 0;
      int rc = lsm_get(pDb, NULL, k, (size_t)nk, &pVal, &nVal);
      SEED_ASSERT(rc == (anVal[iKey] < 0 ? LSM_NOTFOUND : LSM_OK), "get %s", seed, k);
      lsm_free(pVal);
    }
  }
  SEED_ASSERT(nRangeMisses == 0, "the range read again read %llu blocks from the files", seed,
              (unsigned long long)nRangeMisses);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/*
** A flush that fails part-way, with fill_cache_on_write and a cache shared
** with other stores: the blocks its output had put in the cache are taken
** out again (no reader would ever erase them: they would hold the shared
** budget until the process ends), whichever append fails; a flush that
** then succeeds leaves its blocks, and lsm_close erases them.
*/
START_TEST(a_failed_flush_leaves_none_of_its_blocks_in_a_shared_cache)
{
  static const uint64_t aiFail[] = {2, 5, 9, 12, 13};   /* of the 13 a flush makes */
  unsigned i;
  for(i = 0; i < sizeof(aiFail) / sizeof(aiFail[0]); i++){
    lsm_env *pMem = lsm_env_memory();
    faultenv *fe = faultenv_new(pMem);
    lsm_block_cache *pShared = NULL;
    lsm_options opt;
    lsm_db *pDb = NULL;
    block_cache_stats bs;
    char v[200];
    int k, rc;
    ck_assert_int_eq(lsm_block_cache_new(64 << 20, &pShared), LSM_OK);
    lsm_options_default(&opt);
    opt.env = faultenv_env(fe);
    opt.background = 0;
    opt.use_mmap = 0;                   /* a mapped store fills nothing */
    opt.sync = LSM_SYNC_OFF;
    opt.block_bytes = 512;
    opt.compression = LSM_COMPRESSION_NONE;
    opt.memtable_bytes = 8 << 20;
    opt.block_cache = pShared;
    opt.fill_cache_on_write = 1;
    ck_assert_int_eq(lsm_open("/ffill", &opt, &pDb), LSM_OK);
    for(k = 0; k < 3000; k++){
      char zKey[16];
      int nKey = snprintf(zKey, sizeof(zKey), "k%08d", k);
      memset(v, 'a' + k % 26, sizeof(v));
      ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nKey, v, sizeof(v)), LSM_OK);
    }
    faultenv_reset_counts(fe);
    faultenv_fail(fe, FAULTENV_APPEND, aiFail[i], LSM_IOERR, 0);
    rc = lsm_flush(pDb);
    faultenv_fail_clear(fe);
    ck_assert_msg(rc != LSM_OK, "append %llu: the flush did not fail", (unsigned long long)aiFail[i]);
    block_cache_get_stats(pShared, &bs);
    ck_assert_msg(bs.nEntries == 0 && bs.nCharge == 0,
                  "append %llu failed: %llu blocks (%llu bytes) of the abandoned output left",
                  (unsigned long long)aiFail[i], (unsigned long long)bs.nEntries,
                  (unsigned long long)bs.nCharge);
    ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
    block_cache_get_stats(pShared, &bs);
    ck_assert_msg(bs.nEntries > 0, "the flush that succeeded left no block");
    ck_assert_int_eq(lsm_close(pDb), LSM_OK);
    block_cache_get_stats(pShared, &bs);
    ck_assert_int_eq(bs.nEntries, 0);
    lsm_block_cache_unref(pShared);
    faultenv_free(fe);
    lsm_env_memory_free(pMem);
  }
}
END_TEST

/*
** A block larger than an eighth of the cache is not offered as written
** (it would evict most of what other tables read, then itself): a flush
** of one 2 MiB value into a 1 MiB cache leaves the blocks other keys'
** reads put there.
*/
START_TEST(a_block_too_large_for_the_cache_is_not_cached_as_written)
{
  char *zDir = test_tmpdir("bhuge");
  lsm_options opt;
  lsm_db *pDb = NULL;
  block_cache_stats bs1, bs2;
  lsm_block_cache *pShared = NULL;
  size_t nBig = 2u << 20;
  char *aBig = malloc(nBig);
  int k;
  ck_assert_ptr_nonnull(aBig);
  memset(aBig, 'x', nBig);
  ck_assert_int_eq(lsm_block_cache_new(1 << 20, &pShared), LSM_OK);
  lsm_options_default(&opt);
  opt.background = 0;
  opt.use_mmap = 0;
  opt.compression = LSM_COMPRESSION_NONE;
  opt.block_cache = pShared;
  opt.fill_cache_on_write = 1;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  for(k = 0; k < 2000; k++){
    char zKey[16], v[100];
    int nKey = snprintf(zKey, sizeof(zKey), "a%08d", k);
    memset(v, 'a' + k % 26, sizeof(v));
    ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nKey, v, sizeof(v)), LSM_OK);
  }
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  block_cache_get_stats(pShared, &bs1);
  ck_assert_msg(bs1.nEntries > 0, "the small keys' blocks are not cached");
  ck_assert_int_eq(lsm_put(pDb, "b", 1, aBig, nBig), LSM_OK);
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  block_cache_get_stats(pShared, &bs2);
  ck_assert_msg(bs2.nEntries >= bs1.nEntries && bs2.nCharge >= bs1.nCharge,
                "the 2 MiB block evicted the cache: %llu blocks (%llu bytes) before, %llu (%llu) after",
                (unsigned long long)bs1.nEntries, (unsigned long long)bs1.nCharge,
                (unsigned long long)bs2.nEntries, (unsigned long long)bs2.nCharge);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  lsm_block_cache_unref(pShared);
  free(aBig);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/*
** A store that maps its files reads their raw blocks from the mapping,
** never from the cache, so fill_cache_on_write leaves the cache alone
** there (the blocks would only take the budget of blocks that are read).
*/
START_TEST(a_mapped_store_does_not_fill_the_cache_as_it_writes)
{
  lsm_env *pMem = lsm_env_memory();
  lsm_block_cache *pShared = NULL;
  lsm_options opt;
  lsm_db *pDb = NULL;
  block_cache_stats bs;
  int k;
  ck_assert_ptr_nonnull(pMem->xMap);
  ck_assert_int_eq(lsm_block_cache_new(64 << 20, &pShared), LSM_OK);
  lsm_options_default(&opt);
  opt.env = pMem;
  opt.background = 0;
  opt.compression = LSM_COMPRESSION_NONE;
  opt.block_cache = pShared;
  opt.fill_cache_on_write = 1;
  ck_assert_int_eq(opt.use_mmap, 1);
  ck_assert_int_eq(lsm_open("/mfill", &opt, &pDb), LSM_OK);
  for(k = 0; k < 3000; k++){
    char zKey[16], v[100];
    int nKey = snprintf(zKey, sizeof(zKey), "k%08d", k);
    memset(v, 'a' + k % 26, sizeof(v));
    ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nKey, v, sizeof(v)), LSM_OK);
  }
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  block_cache_get_stats(pShared, &bs);
  ck_assert_msg(bs.nEntries == 0, "%llu blocks filled that no read would look for",
                (unsigned long long)bs.nEntries);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  lsm_block_cache_unref(pShared);
  lsm_env_memory_free(pMem);
}
END_TEST

static Suite *block_cache_suite(void){
  Suite *s = suite_create("block_cache");
  TCase *tc = tcase_create("cache");
  TCase *tcStore = tcase_create("store");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, block_cache_keeps_recent_blocks_within_its_budget);
  tcase_add_test(tc, block_cache_handles_outlive_eviction_and_erasure);
  tcase_add_test(tc, block_cache_of_zero_bytes_keeps_only_what_is_used);
  tcase_add_test(tc, a_block_released_cold_is_the_first_evicted);
  tcase_add_test(tc, blocks_a_scan_passes_are_evicted_before_those_gets_looked_up);
  tcase_add_test(tc, block_cache_shared_by_threads_gives_the_right_bytes);
  tcase_add_test(tc, a_cache_in_slabs_shared_by_threads_gives_the_right_bytes);
  tcase_add_test(tc, a_cache_whose_blocks_change_size_class_moves_slabs_and_stays_bounded);
  tcase_add_test(tc, blocks_that_overflowed_while_every_slab_was_pinned_drain_once_released);
  tcase_add_test(tc, blocks_of_many_size_classes_stay_within_the_slabs_limit);
  tcase_add_test(tc, a_working_set_within_the_budget_stays_cached_whatever_its_size_classes);
  tcase_add_test(tc, block_cache_lookups_match_a_model_through_inserts_and_erasures);
  tcase_add_test(tc, block_cache_keeps_a_block_looked_up_again_over_older_unread_ones);
  tcase_add_test(tc, block_cache_evicts_only_what_no_handle_holds_and_stays_within_its_budget);
  tcase_add_test(tc, a_full_cache_reuses_the_memory_of_the_blocks_it_evicts);
  tcase_add_test(tc, a_spare_is_poisoned_until_it_is_reused);
  suite_add_tcase(s, tc);
  tcase_set_timeout(tcStore, 120);
  tcase_add_test(tcStore, store_read_through_a_small_block_cache_matches_the_model);
  tcase_add_test(tcStore, store_read_with_no_block_cache_matches_the_model);
  tcase_add_test(tcStore, stores_sharing_a_cache_stay_within_its_one_budget_and_leave_it_at_close);
  tcase_add_test(tcStore, a_compressed_store_of_12_mib_scans_from_the_default_block_cache_the_second_time);
  tcase_add_test(tcStore, blocks_written_by_flushes_and_compactions_are_read_from_the_cache);
  tcase_add_test(tcStore, a_scan_that_does_not_fill_the_cache_leaves_its_blocks_alone);
  tcase_add_test(tcStore, a_scan_that_does_not_fill_the_cache_leaves_the_gets_second_chances);
  tcase_add_test(tcStore, a_scan_longer_than_the_cache_leaves_the_blocks_gets_read);
  tcase_add_test(tcStore, a_short_range_read_again_stays_cached_among_gets);
  tcase_add_test(tcStore, a_compaction_keeps_the_blocks_it_writes_in_the_cache_not_those_it_reads);
  tcase_add_test(tcStore, a_failed_flush_leaves_none_of_its_blocks_in_a_shared_cache);
  tcase_add_test(tcStore, a_block_too_large_for_the_cache_is_not_cached_as_written);
  tcase_add_test(tcStore, a_mapped_store_does_not_fill_the_cache_as_it_writes);
  suite_add_tcase(s, tcStore);
  return s;
}

TEST_MAIN(block_cache_suite)
