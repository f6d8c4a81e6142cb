/*
** test_block_memory.c — the block cache's slabs (block_memory.h): objects
** keep their bytes, are sized by class and lie in slab-aligned memory; a
** freed object is handed out again before anything new is carved; empty
** slabs go back to the system (one kept); an allocator released while an
** object is in use lives until that object is freed; size classes are an
** eighth apart above 1 KiB; no slab is mapped past the owner's limit; and
** a block cache of 16 MiB or more keeps its entries in slabs, within its
** limit, that it gives back when freed, where a small one uses malloc.
** The slabs in use are listed, full ones too, for a cache to move one to
** another size class.
**
** block_memory_mapped_bytes is process-wide: each test starts and ends
** with it at 0 (no other allocator lives in this process).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block_cache.h"
#include "block_memory.h"
#include "lsm.h"
#include "testutil.h"

#define SLAB BLOCK_MEMORY_SLAB_BYTES

/* The byte object i of a test holds at offset j. */
static uint8_t pattern(unsigned i, size_t j){
  return (uint8_t)(i * 131u + j * 7u + 1u);
}

static void fill(uint8_t *p, size_t n, unsigned i){
  size_t j;
  for(j = 0; j < n; j++) p[j] = pattern(i, j);
}

static int holds(const uint8_t *p, size_t n, unsigned i){
  size_t j;
  for(j = 0; j < n; j++) if( p[j] != pattern(i, j) ) return 0;
  return 1;
}

START_TEST(objects_keep_their_bytes_through_random_frees_and_reuse){
  /* Sizes across many classes, freed and allocated in a seeded order:
  ** every live object keeps what was written into it. */
  enum { N_SLOT = 3000, N_STEP = 40000 };
  const unsigned seed = 20261207u;
  static uint8_t *ap[N_SLOT];
  static size_t an[N_SLOT];
  static unsigned aTag[N_SLOT];
  block_memory *p = block_memory_new();
  unsigned rng = seed, tag = 0;
  int i, step;
  ck_assert_ptr_nonnull(p);
  ck_assert_uint_eq(block_memory_mapped_bytes(), 0);
  memset(ap, 0, sizeof(ap));
  for(step = 0; step < N_STEP; step++){
    rng = rng * 1103515245u + 12345u;
    i = (int)((rng >> 8) % N_SLOT);
    if( ap[i] ){
      if( !holds(ap[i], an[i], aTag[i]) ){
        ck_abort_msg("seed %u step %d: object %d lost its bytes", seed, step, i);
      }
      block_memory_free(ap[i]);
      ap[i] = NULL;
    }else{
      size_t nUsable = 0;
      an[i] = 1 + (size_t)((rng >> 12) % 9000);
      ap[i] = block_memory_alloc(p, an[i], &nUsable);
      ck_assert_ptr_nonnull(ap[i]);
      ck_assert_uint_ge(nUsable, an[i]);
      ck_assert_uint_lt(nUsable - an[i], an[i] <= 1024 ? BLOCK_MEMORY_GRAIN : an[i] / 8);
      ck_assert_uint_eq(nUsable % BLOCK_MEMORY_GRAIN, 0);
      ck_assert_uint_eq((uintptr_t)ap[i] % 64, 0);
      /* Inside one slab, past its header. */
      ck_assert_uint_eq(((uintptr_t)ap[i] & ~(uintptr_t)(SLAB - 1)),
                        (((uintptr_t)ap[i] + nUsable - 1) & ~(uintptr_t)(SLAB - 1)));
      ck_assert_uint_ne((uintptr_t)ap[i] % SLAB, 0);
      aTag[i] = tag++;
      fill(ap[i], nUsable, aTag[i]);
      /* Fill the class's slack too: an object's whole usable size is its
      ** own, so the check below only looks at an[i] bytes of it. */
    }
  }
  for(i = 0; i < N_SLOT; i++){
    if( ap[i] ){
      if( !holds(ap[i], an[i], aTag[i]) ){
        ck_abort_msg("seed %u: object %d lost its bytes at the end", seed, i);
      }
      block_memory_free(ap[i]);
    }
  }
  /* Everything free: one empty slab is kept, the others are unmapped. */
  ck_assert_uint_eq(block_memory_mapped_bytes(), SLAB);
  block_memory_release(p);
  ck_assert_uint_eq(block_memory_mapped_bytes(), 0);
}
END_TEST

START_TEST(classes_are_128_bytes_apart_to_1_kib_then_an_eighth){
  /* Every size gets the smallest class that holds it; above 1 KiB a class
  ** is at most 1/8 larger than the smallest size it takes, so that blocks
  ** cut at one target size (4 KiB blocks with their header: 4,168 to
  ** 4,290 bytes) share one class. */
  block_memory *p = block_memory_new();
  size_t n, nUsable, nPrev = 0, nClassLow = 1;
  int nClasses = 0;
  for(n = 1; n <= BLOCK_MEMORY_MAX_OBJECT; n++){
    void *pObj = block_memory_alloc(p, n, &nUsable);
    ck_assert_ptr_nonnull(pObj);
    ck_assert_uint_ge(nUsable, n);
    if( nUsable != nPrev ){
      /* A new class starts at n: the previous one ended at n - 1. */
      ck_assert_uint_eq(nPrev, n - 1);
      if( nPrev > 1024 ) ck_assert_uint_le(nPrev - nClassLow, nClassLow / 8);
      nClassLow = n;
      nClasses++;
    }
    nPrev = nUsable;
    block_memory_free(pObj);
  }
  ck_assert_int_eq(nClasses, 8 + 8 * 5);
  {
    size_t nA, nB;
    void *a = block_memory_alloc(p, 4168, &nA), *b = block_memory_alloc(p, 4290, &nB);
    ck_assert_uint_eq(nA, nB);
    block_memory_free(a);
    block_memory_free(b);
  }
  block_memory_release(p);
  ck_assert_uint_eq(block_memory_mapped_bytes(), 0);
}
END_TEST

START_TEST(no_slab_is_mapped_past_the_limit){
  enum { N = 1200 };
  static void *ap[N];
  block_memory *p = block_memory_new();
  size_t nUsable;
  int i, nNull = 0;
  block_memory_set_limit(p, 2 * SLAB);
  for(i = 0; i < N; i++){
    ap[i] = block_memory_alloc(p, 4096, &nUsable);
    nNull += ap[i] == NULL;
  }
  /* Two slabs of 511 objects, then NULL (the caller's malloc). */
  ck_assert_int_eq(nNull, N - 2 * 511);
  ck_assert_uint_eq(block_memory_mapped_bytes(), 2 * SLAB);
  block_memory_free(ap[0]);
  ap[0] = block_memory_alloc(p, 4096, &nUsable);        /* a free object: served */
  ck_assert_ptr_nonnull(ap[0]);
  for(i = 0; i < N; i++) if( ap[i] ) block_memory_free(ap[i]);
  block_memory_release(p);
  ck_assert_uint_eq(block_memory_mapped_bytes(), 0);
}
END_TEST

START_TEST(a_freed_object_is_handed_out_again_before_new_memory){
  block_memory *p = block_memory_new();
  size_t nUsable;
  uint8_t *a, *b, *c, *d;
  ck_assert_ptr_nonnull(p);
  a = block_memory_alloc(p, 4000, &nUsable);
  b = block_memory_alloc(p, 4000, &nUsable);
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  ck_assert_uint_eq(nUsable, 4096);
  ck_assert_ptr_eq(b, a + 4096);                 /* carved in order */
  block_memory_free(a);
  c = block_memory_alloc(p, 4096, &nUsable);     /* same class: a again */
  ck_assert_ptr_eq(c, a);
  d = block_memory_alloc(p, 2000, &nUsable);     /* another class: a new slab */
  ck_assert_uint_eq(nUsable, 2048);
  ck_assert_uint_ne((uintptr_t)d & ~(uintptr_t)(SLAB - 1), (uintptr_t)a & ~(uintptr_t)(SLAB - 1));
  ck_assert_uint_eq(block_memory_mapped_bytes(), 2 * SLAB);
  block_memory_free(b);
  block_memory_free(c);
  block_memory_free(d);
  ck_assert_uint_eq(block_memory_mapped_bytes(), SLAB);
  block_memory_release(p);
  ck_assert_uint_eq(block_memory_mapped_bytes(), 0);
}
END_TEST

START_TEST(sizes_past_the_largest_class_are_refused){
  block_memory *p = block_memory_new();
  size_t nUsable = 7;
  ck_assert_ptr_null(block_memory_alloc(p, 0, &nUsable));
  ck_assert_ptr_null(block_memory_alloc(p, BLOCK_MEMORY_MAX_OBJECT + 1, &nUsable));
  ck_assert_uint_eq(nUsable, 7);
  ck_assert_uint_eq(block_memory_mapped_bytes(), 0);
  void *pMax = block_memory_alloc(p, BLOCK_MEMORY_MAX_OBJECT, &nUsable);
  ck_assert_ptr_nonnull(pMax);
  ck_assert_uint_eq(nUsable, BLOCK_MEMORY_MAX_OBJECT);
  block_memory_free(pMax);
  block_memory_release(p);
  ck_assert_uint_eq(block_memory_mapped_bytes(), 0);
}
END_TEST

START_TEST(a_slab_fills_then_the_next_is_mapped){
  /* 2 MiB of 4 KiB objects less the header: 511 fit in a slab. */
  enum { N = 600 };
  static uint8_t *ap[N];
  block_memory *p = block_memory_new();
  size_t nUsable;
  int i, nFirst = 0;
  uintptr_t first;
  for(i = 0; i < N; i++){
    ap[i] = block_memory_alloc(p, 4096, &nUsable);
    ck_assert_ptr_nonnull(ap[i]);
  }
  first = (uintptr_t)ap[0] & ~(uintptr_t)(SLAB - 1);
  for(i = 0; i < N; i++) nFirst += ((uintptr_t)ap[i] & ~(uintptr_t)(SLAB - 1)) == first;
  ck_assert_int_eq(nFirst, (int)((SLAB - 128) / 4096));
  ck_assert_uint_eq(block_memory_mapped_bytes(), 2 * SLAB);
  for(i = 0; i < N; i++) block_memory_free(ap[i]);
  block_memory_release(p);
  ck_assert_uint_eq(block_memory_mapped_bytes(), 0);
}
END_TEST

/* The slabs a cache may move to another class: every slab holding
** objects in use, full ones too, each with its count, none of the class
** asked for; a slab whose objects are all freed is listed no more. */
START_TEST(the_slabs_in_use_are_listed_with_their_counts_but_the_asking_class){
  enum { N = 600 };
  static uint8_t *ap[N];
  block_memory *p = block_memory_new();
  block_memory_slab a[8];
  size_t nUsable;
  uint8_t *pOther;
  int i, n, nFull = 0;
  for(i = 0; i < N; i++) ap[i] = block_memory_alloc(p, 4096, &nUsable);   /* 511 + 89 */
  pOther = block_memory_alloc(p, 300, &nUsable);
  n = block_memory_slabs_in_use(p, 300, a, 8);        /* the 4 KiB slabs */
  ck_assert_int_eq(n, 2);
  for(i = 0; i < n; i++){
    ck_assert(a[i].pSlab == block_memory_slab_of(ap[0]) || a[i].pSlab == block_memory_slab_of(ap[N - 1]));
    ck_assert(a[i].nLive == 511 || a[i].nLive == 89);
    nFull += a[i].nLive == 511;
  }
  ck_assert_int_eq(nFull, 1);
  n = block_memory_slabs_in_use(p, 4096, a, 8);       /* the 300-byte one */
  ck_assert_int_eq(n, 1);
  ck_assert(a[0].pSlab == block_memory_slab_of(pOther) && a[0].nLive == 1);
  ck_assert_int_eq(block_memory_slabs_in_use(p, 300, a, 1), 1);   /* at most nMax */
  for(i = 511; i < N; i++) block_memory_free(ap[i]);  /* the second slab empties */
  n = block_memory_slabs_in_use(p, 300, a, 8);
  ck_assert_int_eq(n, 1);
  ck_assert(a[0].pSlab == block_memory_slab_of(ap[0]) && a[0].nLive == 511);
  for(i = 0; i < 511; i++) block_memory_free(ap[i]);
  block_memory_free(pOther);
  ck_assert_int_eq(block_memory_slabs_in_use(p, 300, a, 8), 0);
  block_memory_release(p);
  ck_assert_uint_eq(block_memory_mapped_bytes(), 0);
}
END_TEST

START_TEST(a_released_allocator_lives_until_its_last_object_is_freed){
  block_memory *p = block_memory_new();
  size_t nUsable;
  uint8_t *a = block_memory_alloc(p, 3000, &nUsable);
  uint8_t *b = block_memory_alloc(p, 20000, &nUsable);
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  fill(a, 3000, 1);
  block_memory_release(p);                       /* the owner goes first */
  ck_assert_uint_eq(block_memory_mapped_bytes(), 2 * SLAB);
  ck_assert(holds(a, 3000, 1));
  block_memory_free(a);
  ck_assert_uint_eq(block_memory_mapped_bytes(), 2 * SLAB);   /* a's kept empty */
  block_memory_free(b);                          /* the last: all goes */
  ck_assert_uint_eq(block_memory_mapped_bytes(), 0);
}
END_TEST

/* Insert blocks 0..n-1 of reader id into the cache, each of nBlock bytes
** filled with its pattern, and release them. */
static void insert_blocks(block_cache *pCache, uint64_t id, int n, size_t nBlock){
  int i;
  for(i = 0; i < n; i++){
    block_handle *h = block_cache_alloc(pCache, NULL, nBlock);
    ck_assert_ptr_nonnull(h);
    fill(block_handle_buf(h), nBlock, (unsigned)i);
    h = block_cache_insert(pCache, id, (uint32_t)i, h);
    block_cache_release(h);
  }
}

START_TEST(a_large_cache_keeps_its_blocks_in_slabs_and_gives_them_back){
  /* 32 MiB, 4 KiB blocks: 24 MiB of them fit (the charge includes each
  ** header and the class's slack); the slabs hold them, within the budget
  ** and a slab per class; every block read back intact; all returned at
  ** the cache's last reference. */
  const uint64_t nCapacity = (uint64_t)32 << 20;
  const int nInsert = 6000;
  block_cache *pCache = NULL;
  uint64_t id = block_cache_new_id();
  int i, nFound = 0;
  ck_assert_int_eq(block_cache_new(lsm_env_default(), nCapacity, &pCache), LSM_OK);
  insert_blocks(pCache, id, nInsert, 4096);
  ck_assert_uint_ge(block_memory_mapped_bytes(), (uint64_t)20 << 20);
  ck_assert_uint_le(block_memory_mapped_bytes(), nCapacity + 2 * SLAB);
  for(i = 0; i < nInsert; i++){
    block_handle *h = block_cache_lookup(pCache, id, (uint32_t)i);
    if( h ){
      size_t n;
      const uint8_t *a = block_handle_data(h, &n);
      ck_assert_uint_eq(n, 4096);
      if( !holds(a, n, (unsigned)i) ) ck_abort_msg("block %d lost its bytes", i);
      nFound++;
      block_cache_release(h);
    }
  }
  ck_assert_int_gt(nFound, 5000);
  /* Evicting to a lower budget gives whole slabs back. */
  block_cache_set_capacity(pCache, (uint64_t)20 << 20);
  ck_assert_uint_le(block_memory_mapped_bytes(), ((uint64_t)20 << 20) + 3 * SLAB);
  block_cache_unref(pCache);
  ck_assert_uint_eq(block_memory_mapped_bytes(), 0);
}
END_TEST

START_TEST(a_small_cache_uses_malloc){
  block_cache *pCache = NULL;
  ck_assert_int_eq(block_cache_new(lsm_env_default(), (uint64_t)4 << 20, &pCache), LSM_OK);
  insert_blocks(pCache, block_cache_new_id(), 500, 4096);
  ck_assert_uint_eq(block_memory_mapped_bytes(), 0);
  block_cache_unref(pCache);
}
END_TEST

START_TEST(a_private_handle_of_a_freed_cache_stays_valid){
  /* A handle allocated for the cache but never offered may be released
  ** after the cache's last reference: its slab lives until then. */
  block_cache *pCache = NULL;
  block_handle *h;
  ck_assert_int_eq(block_cache_new(lsm_env_default(), (uint64_t)64 << 20, &pCache), LSM_OK);
  h = block_handle_alloc(pCache, NULL, 3000);
  ck_assert_ptr_nonnull(h);
  fill(block_handle_buf(h), 3000, 9);
  block_cache_unref(pCache);
  ck_assert_uint_eq(block_memory_mapped_bytes(), SLAB);
  ck_assert(holds(block_handle_buf(h), 3000, 9));
  block_cache_release(h);
  ck_assert_uint_eq(block_memory_mapped_bytes(), 0);
}
END_TEST

static Suite *block_memory_suite(void){
  Suite *s = suite_create("block_memory");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, objects_keep_their_bytes_through_random_frees_and_reuse);
  tcase_add_test(tc, classes_are_128_bytes_apart_to_1_kib_then_an_eighth);
  tcase_add_test(tc, no_slab_is_mapped_past_the_limit);
  tcase_add_test(tc, a_freed_object_is_handed_out_again_before_new_memory);
  tcase_add_test(tc, sizes_past_the_largest_class_are_refused);
  tcase_add_test(tc, a_slab_fills_then_the_next_is_mapped);
  tcase_add_test(tc, the_slabs_in_use_are_listed_with_their_counts_but_the_asking_class);
  tcase_add_test(tc, a_released_allocator_lives_until_its_last_object_is_freed);
  tcase_add_test(tc, a_large_cache_keeps_its_blocks_in_slabs_and_gives_them_back);
  tcase_add_test(tc, a_small_cache_uses_malloc);
  tcase_add_test(tc, a_private_handle_of_a_freed_cache_stays_valid);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(block_memory_suite)
