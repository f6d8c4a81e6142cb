/*
** test_arena.c — the arena pool (arena.h, "Pool"): the blocks of a freed
** arena go to the next arena of the same pool, never more than the
** pool's bound is kept, and a destroyed pool gives every block back; a
** store's memtables share one, so a store that flushes many memtables
** obtains blocks from its env for about one memtable, not for each.
**
** Blocks are told apart by size: an env that counts the allocations of
** a standard block's size (ARENA_BLOCK_MAX payload and a header of at
** most 64 bytes) and remembers their addresses.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "lsm.h"
#include "testutil.h"

#define STD_MAX_LIVE 4096

/* The standard-size blocks obtained and not yet freed, under a mutex: a
** store's threads free memtables too. */
static pthread_mutex_t std_mutex = PTHREAD_MUTEX_INITIALIZER;
static void *std_aLive[STD_MAX_LIVE];
static int std_nLive;
static int std_nMalloc, std_nFree;

static int std_is_standard(size_t n){
  return n > ARENA_BLOCK_MAX && n <= ARENA_BLOCK_MAX + 64;
}

static void *std_malloc(lsm_env *pEnv, size_t n){
  void *p = lsm_env_default()->xMalloc(lsm_env_default(), n);
  (void)pEnv;
  if( p && std_is_standard(n) ){
    pthread_mutex_lock(&std_mutex);
    std_nMalloc++;
    if( std_nLive < STD_MAX_LIVE ) std_aLive[std_nLive++] = p;
    pthread_mutex_unlock(&std_mutex);
  }
  return p;
}

static void std_free(lsm_env *pEnv, void *p){
  int i;
  (void)pEnv;
  pthread_mutex_lock(&std_mutex);
  for(i = 0; i < std_nLive; i++){
    if( std_aLive[i] == p ){
      std_aLive[i] = std_aLive[--std_nLive];
      std_nFree++;
      break;
    }
  }
  pthread_mutex_unlock(&std_mutex);
  lsm_env_default()->xFree(lsm_env_default(), p);
}

/* The default env with the counting allocator (a copy: the POSIX env's
** methods do not look at their env argument). */
static lsm_env std_env(void){
  lsm_env env = *lsm_env_default();
  env.xMalloc = std_malloc;
  env.xFree = std_free;
  pthread_mutex_lock(&std_mutex);
  std_nLive = std_nMalloc = std_nFree = 0;
  pthread_mutex_unlock(&std_mutex);
  return env;
}

/* 1 if p lies inside one of the standard blocks obtained and live. */
static int std_inside_live_block(const void *p){
  int i, bIn = 0;
  pthread_mutex_lock(&std_mutex);
  for(i = 0; i < std_nLive; i++){
    const uint8_t *a = std_aLive[i];
    if( (const uint8_t*)p >= a && (const uint8_t*)p < a + ARENA_BLOCK_MAX + 64 ) bIn = 1;
  }
  pthread_mutex_unlock(&std_mutex);
  return bIn;
}

/* Allocate nByte in 100-byte pieces (past the doubling: standard blocks). */
static void fill(arena *a, size_t nByte){
  size_t n;
  for(n = 0; n < nByte; n += 100) ck_assert_ptr_nonnull(arena_alloc(a, 100));
}

START_TEST(a_freed_arena_gives_its_blocks_to_the_next_one){
  lsm_env env = std_env();
  arena_pool pool;
  arena a, b;
  int nObtained;
  void *p;
  arena_pool_init(&pool, &env, 8 * ((size_t)ARENA_BLOCK_MAX + 64));
  arena_init_pooled(&a, &env, &pool);
  fill(&a, 5 * (size_t)ARENA_BLOCK_MAX);
  nObtained = std_nMalloc;
  ck_assert_int_ge(nObtained, 4);
  arena_free(&a);
  /* Kept, not freed: every standard block is in the pool. */
  ck_assert_int_eq(std_nFree, 0);
  ck_assert_uint_eq(arena_pool_bytes(&pool) / ARENA_BLOCK_MAX, (size_t)nObtained);

  /* The next arena's first allocation lies in one of them, and it fills
  ** as much again without a new standard block from the env. */
  arena_init_pooled(&b, &env, &pool);
  p = arena_alloc(&b, 100);
  ck_assert_ptr_nonnull(p);
  ck_assert(std_inside_live_block(p));
  fill(&b, (size_t)(nObtained - 1) * ARENA_BLOCK_MAX);
  ck_assert_int_eq(std_nMalloc, nObtained);
  ck_assert_uint_eq(arena_pool_reused(&pool), (uint64_t)nObtained);
  arena_free(&b);
  arena_pool_destroy(&pool);
  ck_assert_int_eq(std_nLive, 0);
}
END_TEST

START_TEST(a_pool_keeps_no_more_than_its_bound){
  lsm_env env = std_env();
  size_t nBound = 3 * ((size_t)ARENA_BLOCK_MAX + 64);
  arena_pool pool;
  arena a;
  arena_pool_init(&pool, &env, nBound);
  arena_init_pooled(&a, &env, &pool);
  fill(&a, 10 * (size_t)ARENA_BLOCK_MAX);
  ck_assert_int_ge(std_nMalloc, 9);
  arena_free(&a);
  ck_assert_uint_le(arena_pool_bytes(&pool), nBound);
  ck_assert_uint_eq(arena_pool_bytes(&pool) / ARENA_BLOCK_MAX, 3);
  ck_assert_int_eq(std_nLive, 3);
  ck_assert_int_eq(std_nFree, std_nMalloc - 3);
  arena_pool_destroy(&pool);
  ck_assert_int_eq(std_nLive, 0);
}
END_TEST

START_TEST(an_arena_without_a_pool_frees_every_block){
  lsm_env env = std_env();
  arena a;
  arena_init(&a, &env);
  fill(&a, 3 * (size_t)ARENA_BLOCK_MAX);
  ck_assert_int_ge(std_nMalloc, 2);
  arena_free(&a);
  ck_assert_int_eq(std_nLive, 0);
}
END_TEST

/* A store of small memtables written through many flushes: its memtables
** obtain standard blocks for about one memtable (plus the one being
** written while the last is flushed), however many it flushes, and
** return every one at lsm_close. */
START_TEST(a_store_reuses_its_memtables_blocks_across_flushes){
  lsm_env env = std_env();
  char *zDir = test_tmpdir("arena");
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_stats stats;
  char aKey[32], aVal[200];
  int i, nPut = 100000;
  uint64_t nMemtable = 2u << 20;
  lsm_options_default(&opt);
  opt.env = &env;
  opt.memtable_bytes = nMemtable;
  opt.background = 0;
  opt.sync = LSM_SYNC_OFF;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  memset(aVal, 'v', sizeof(aVal));
  for(i = 0; i < nPut; i++){
    int n = snprintf(aKey, sizeof(aKey), "key%010d", i);
    ck_assert_int_eq(lsm_put(pDb, aKey, (size_t)n, aVal, sizeof(aVal)), LSM_OK);
  }
  ck_assert_int_eq(lsm_stats_get(pDb, &stats), LSM_OK);
  /* Enough memtables that obtaining blocks for each would show. */
  ck_assert_uint_ge(stats.nFlushes, 8);
  /* A memtable is 2 MiB: 3 standard blocks at most beside the doubling's
  ** smaller ones; the first memtable's and the next one's, started
  ** before the first is freed, with room to spare: 8.  Without the pool,
  ** every memtable obtains its own. */
  ck_assert_int_le(std_nMalloc, 8);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  ck_assert_int_eq(std_nLive, 0);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

static Suite *arena_suite(void){
  Suite *s = suite_create("arena");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, a_freed_arena_gives_its_blocks_to_the_next_one);
  tcase_add_test(tc, a_pool_keeps_no_more_than_its_bound);
  tcase_add_test(tc, an_arena_without_a_pool_frees_every_block);
  tcase_add_test(tc, a_store_reuses_its_memtables_blocks_across_flushes);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(arena_suite)
