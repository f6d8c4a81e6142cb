/*
** test_skiplist.c — the arena and the skiplist against a sorted array.
**
** Random internal keys (short user keys from a small alphabet, so that
** keys share prefixes and versions pile up) are inserted into a skiplist
** and into an array that is then sorted with ikey_compare; iteration in
** both directions and every kind of seek must agree with the array.
** Inserts in runs up and down, of new and old versions of one key, and
** random keys, mixed (the orders the splice of skiplist.h invariant 5
** meets), must keep every level ordered and agree with the array too.
*/
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "ikey.h"
#include "lsm.h"
#include "skiplist.h"
#include "testutil.h"

typedef struct sk_key {
  uint8_t a[16];                /* internal key: user key + trailer */
  size_t n;                     /* its length                       */
} sk_key;

static int sk_key_cmp(const void *pA, const void *pB){
  const sk_key *a = (const sk_key*)pA, *b = (const sk_key*)pB;
  return ikey_compare(a->a, a->n, b->a, b->n);
}

/* A random user key of 0..4 bytes over "abc", with a random seq/type. */
static void sk_random_key(test_rng *pRng, sk_key *pK, uint64_t seq){
  uint8_t aUser[4];
  size_t nUser = (size_t)rng_below(pRng, 5), i;
  for(i = 0; i < nUser; i++) aUser[i] = (uint8_t)('a' + rng_below(pRng, 3));
  ikey_build(pK->a, aUser, nUser, seq, (int)rng_below(pRng, 2));
  pK->n = nUser + IKEY_TRAILER;
}

static skiplist_node *sk_insert(skiplist *pList, const sk_key *pK, const void *pVal, size_t nVal){
  skiplist_node *pNode = skiplist_node_new(pList, pK->n, nVal);
  uint8_t *p;
  ck_assert_ptr_nonnull(pNode);
  p = skiplist_node_data(pNode);
  memcpy(p, pK->a, pK->n);
  memcpy(p + pK->n, pVal, nVal);
  skiplist_insert(pList, pNode);
  return pNode;
}

/* Index of the first array entry >= k (n if none). */
static size_t sk_lower_bound(const sk_key *a, size_t n, const sk_key *k){
  size_t lo = 0, hi = n;
  while( lo < hi ){
    size_t mid = (lo + hi) / 2;
    if( sk_key_cmp(&a[mid], k) < 0 ) lo = mid + 1; else hi = mid;
  }
  return lo;
}

static int sk_node_is(const skiplist_node *pNode, const sk_key *pK){
  size_t n;
  const uint8_t *p;
  if( pNode == NULL ) return 0;
  p = skiplist_node_key(pNode, &n);
  return n == pK->n && memcmp(p, pK->a, n) == 0;
}

START_TEST(arena_allocations_are_aligned_and_usage_grows){
  arena a;
  size_t nLast = 0;
  int i;
  test_rng rng;
  rng_init(&rng, test_seed());
  arena_init(&a, lsm_env_default());
  ck_assert_uint_eq(arena_usage(&a), 0);
  for(i = 0; i < 2000; i++){
    size_t n = 1 + (size_t)rng_below(&rng, i % 50 == 0 ? 20000 : 200);
    uint8_t *p = (uint8_t*)arena_alloc(&a, n);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % ARENA_ALIGN, 0);
    memset(p, 0xab, n);   /* ASan: the whole piece is ours */
    ck_assert_uint_ge(arena_usage(&a), nLast);
    nLast = arena_usage(&a);
  }
  ck_assert_uint_gt(nLast, 2000 * 50);
  arena_free(&a);
  ck_assert_uint_eq(arena_usage(&a), 0);
}
END_TEST

/* An env that counts the bytes allocated through it. */
static size_t sk_nMalloc;
static void *sk_counting_malloc(lsm_env *p, size_t n){
  (void)p;
  sk_nMalloc += n;
  return lsm_env_default()->xMalloc(lsm_env_default(), n);
}
static void sk_counting_free(lsm_env *p, void *pMem){
  (void)p;
  lsm_env_default()->xFree(lsm_env_default(), pMem);
}

START_TEST(arena_usage_tracks_contents_within_one_block){
  lsm_env env = *lsm_env_default();
  arena a;
  size_t nAsked = 0;
  int i;
  env.xMalloc = sk_counting_malloc;
  env.xFree = sk_counting_free;
  sk_nMalloc = 0;
  arena_init(&a, &env);
  /* A small arena stays small (a transaction's batch memtable). */
  ck_assert_ptr_nonnull(arena_alloc(&a, 100));
  ck_assert_uint_le(sk_nMalloc, ARENA_BLOCK_MIN + 64);
  ck_assert_uint_ge(arena_usage(&a), 100);
  ck_assert_uint_le(arena_usage(&a), 200);
  for(i = 0; i < 100000; i++){
    size_t n = (size_t)(i % 7 == 0 ? 3000 : 150);
    ck_assert_ptr_nonnull(arena_alloc(&a, n));
    nAsked += n;
    /* Invariant 2: usage <= obtained <= usage + one block. */
    ck_assert_uint_le(arena_usage(&a), sk_nMalloc);
    ck_assert_uint_le(sk_nMalloc, arena_usage(&a) + ARENA_BLOCK_MAX);
  }
  ck_assert_uint_ge(arena_usage(&a), nAsked);
  arena_free(&a);
}
END_TEST

START_TEST(skiplist_empty_list_has_no_entries){
  arena a;
  skiplist list;
  sk_key k;
  test_rng rng;
  rng_init(&rng, test_seed());
  arena_init(&a, lsm_env_default());
  ck_assert_int_eq(skiplist_init(&list, &a), LSM_OK);
  sk_random_key(&rng, &k, 7);
  ck_assert_ptr_null(skiplist_first(&list));
  ck_assert_ptr_null(skiplist_last(&list));
  ck_assert_ptr_null(skiplist_seek_ge(&list, k.a, k.n));
  ck_assert_ptr_null(skiplist_seek_lt(&list, k.a, k.n));
  arena_free(&a);
}
END_TEST

START_TEST(skiplist_matches_sorted_model_after_random_inserts){
  int nInsert = test_scale(20000);
  unsigned long long seed = test_seed();
  sk_key *aKey = (sk_key*)malloc(sizeof(sk_key) * (size_t)nInsert);
  arena a;
  skiplist list;
  skiplist_node *pNode;
  test_rng rng;
  size_t i;
  int j;

  rng_init(&rng, seed);
  arena_init(&a, lsm_env_default());
  ck_assert_int_eq(skiplist_init(&list, &a), LSM_OK);
  for(j = 0; j < nInsert; j++){
    /* Unique sequence numbers make every internal key unique. */
    sk_random_key(&rng, &aKey[j], (uint64_t)j + 1);
    sk_insert(&list, &aKey[j], &j, sizeof(j));
  }
  qsort(aKey, (size_t)nInsert, sizeof(sk_key), sk_key_cmp);

  /* Forward walk, values included. */
  for(i = 0, pNode = skiplist_first(&list); pNode; pNode = skiplist_next(pNode), i++){
    size_t nVal;
    const uint8_t *pVal = skiplist_node_value(pNode, &nVal);
    SEED_ASSERT(i < (size_t)nInsert && sk_node_is(pNode, &aKey[i]), "forward entry %zu", seed, i);
    ck_assert_uint_eq(nVal, sizeof(int));
    (void)pVal;
  }
  SEED_ASSERT(i == (size_t)nInsert, "forward walk saw %zu of %d", seed, i, nInsert);

  /* Backward walk through seek_lt, as the memtable iterator does it. */
  pNode = skiplist_last(&list);
  for(i = (size_t)nInsert; i > 0; i--){
    size_t n;
    const uint8_t *p;
    SEED_ASSERT(sk_node_is(pNode, &aKey[i - 1]), "reverse entry %zu", seed, i - 1);
    p = skiplist_node_key(pNode, &n);
    pNode = skiplist_seek_lt(&list, p, n);
  }
  SEED_ASSERT(pNode == NULL, "reverse walk went past the first entry", seed);

  /* Random seeks, present and absent targets. */
  for(j = 0; j < nInsert; j++){
    sk_key k;
    size_t iGe;
    sk_random_key(&rng, &k, rng_below(&rng, (uint64_t)nInsert + 2));
    iGe = sk_lower_bound(aKey, (size_t)nInsert, &k);
    pNode = skiplist_seek_ge(&list, k.a, k.n);
    if( iGe == (size_t)nInsert ) SEED_ASSERT(pNode == NULL, "seek_ge past end", seed);
    else SEED_ASSERT(sk_node_is(pNode, &aKey[iGe]), "seek_ge %d", seed, j);
    pNode = skiplist_seek_lt(&list, k.a, k.n);
    if( iGe == 0 ) SEED_ASSERT(pNode == NULL, "seek_lt before start", seed);
    else SEED_ASSERT(sk_node_is(pNode, &aKey[iGe - 1]), "seek_lt %d", seed, j);
    pNode = skiplist_seek_user(&list, k.a, k.n - IKEY_TRAILER, ikey_trailer(k.a, k.n));
    if( iGe == (size_t)nInsert ) SEED_ASSERT(pNode == NULL, "seek_user past end", seed);
    else SEED_ASSERT(sk_node_is(pNode, &aKey[iGe]), "seek_user %d", seed, j);
  }
  arena_free(&a);
  free(aKey);
}
END_TEST

START_TEST(skiplist_orders_versions_of_one_key_newest_first){
  arena a;
  skiplist list;
  skiplist_node *pNode;
  uint64_t seq, aSeq[] = {5, 1, 9, 3, 7, 2};
  size_t i;
  arena_init(&a, lsm_env_default());
  ck_assert_int_eq(skiplist_init(&list, &a), LSM_OK);
  for(i = 0; i < sizeof(aSeq) / sizeof(aSeq[0]); i++){
    sk_key k;
    ikey_build(k.a, "key", 3, aSeq[i], IKEY_VALUE);
    k.n = 3 + IKEY_TRAILER;
    sk_insert(&list, &k, "", 0);
  }
  /* The empty user key and "ke" sort before every version of "key". */
  {
    sk_key k;
    ikey_build(k.a, "ke", 2, 1, IKEY_VALUE);
    k.n = 2 + IKEY_TRAILER;
    sk_insert(&list, &k, "", 0);
  }
  pNode = skiplist_first(&list);
  {
    size_t n;
    const uint8_t *p = skiplist_node_key(pNode, &n);
    ck_assert_uint_eq(n, 2 + IKEY_TRAILER);
    ck_assert_int_eq(memcmp(p, "ke", 2), 0);
  }
  seq = 10;
  for(pNode = skiplist_next(pNode); pNode; pNode = skiplist_next(pNode)){
    size_t n;
    const uint8_t *p = skiplist_node_key(pNode, &n);
    ck_assert_uint_lt(ikey_seq(p, n), seq);
    seq = ikey_seq(p, n);
  }
  ck_assert_uint_eq(seq, 1);
  arena_free(&a);
}
END_TEST

START_TEST(skiplist_holds_large_keys_and_values){
  arena a;
  skiplist list;
  sk_key kSmall;
  size_t nBig = LSM_MAX_KEY + IKEY_TRAILER, nVal = 300000, n;
  uint8_t *pBig = (uint8_t*)malloc(nBig), *pVal = (uint8_t*)malloc(nVal);
  skiplist_node *pNode;
  const uint8_t *p;
  memset(pBig, 'z', LSM_MAX_KEY);
  ikey_build(pBig, pBig, LSM_MAX_KEY, 4, IKEY_VALUE);
  memset(pVal, 'v', nVal);
  arena_init(&a, lsm_env_default());
  ck_assert_int_eq(skiplist_init(&list, &a), LSM_OK);
  ikey_build(kSmall.a, "a", 1, 1, IKEY_VALUE);
  kSmall.n = 1 + IKEY_TRAILER;
  sk_insert(&list, &kSmall, "x", 1);
  pNode = skiplist_node_new(&list, nBig, nVal);
  ck_assert_ptr_nonnull(pNode);
  memcpy(skiplist_node_data(pNode), pBig, nBig);
  memcpy(skiplist_node_data(pNode) + nBig, pVal, nVal);
  skiplist_insert(&list, pNode);
  pNode = skiplist_last(&list);
  p = skiplist_node_key(pNode, &n);
  ck_assert_uint_eq(n, nBig);
  ck_assert_int_eq(memcmp(p, pBig, n), 0);
  p = skiplist_node_value(pNode, &n);
  ck_assert_uint_eq(n, nVal);
  ck_assert_int_eq(memcmp(p, pVal, n), 0);
  ck_assert_uint_gt(arena_usage(&a), nBig + nVal);
  arena_free(&a);
  free(pBig);
  free(pVal);
}
END_TEST

/*
** Every level of the list in order, and every node at level i tall
** enough (invariants 1 and 2); level 0 equal to the sorted model.  A
** splice that starts a search after the key's place links a node out of
** order at some level, which only a walk of that level may show.
*/
static void sk_check_structure(const skiplist *pList, const sk_key *aSorted, size_t n,
                               unsigned long long seed, const char *zWhen){
  int i, nHeight = atomic_load(&((skiplist*)pList)->nHeight);
  size_t j;
  const skiplist_node *pNode;
  for(i = 0; i < nHeight; i++){
    const skiplist_node *pPrev = NULL;
    for(pNode = atomic_load(&pList->pHead->apNext[i]); pNode;
        pNode = atomic_load(&((skiplist_node*)pNode)->apNext[i])){
      SEED_ASSERT((int)pNode->nHeight > i, "%s: short node at level %d", seed, zWhen, i);
      if( pPrev ){
        size_t na, nb;
        const uint8_t *a = skiplist_node_key(pPrev, &na), *b = skiplist_node_key(pNode, &nb);
        SEED_ASSERT(ikey_compare(a, na, b, nb) < 0, "%s: level %d out of order", seed, zWhen, i);
      }
      pPrev = pNode;
    }
  }
  for(j = 0, pNode = skiplist_first(pList); pNode; pNode = skiplist_next(pNode), j++){
    SEED_ASSERT(j < n && sk_node_is(pNode, &aSorted[j]), "%s: entry %zu", seed, zWhen, j);
  }
  SEED_ASSERT(j == n, "%s: walk saw %zu of %zu", seed, zWhen, j, n);
}

/*
** The key orders an insert may come in, each of which the splice (the
** last insert's place, skiplist.h invariant 5) must handle: runs up and
** down, the same user key again with a newer sequence number (which
** sorts before the last insert: internal key order) or an older one
** (after it), random keys, and appends: keys after the list's last node
** (a user key above every one inserted, or once the space is used up, an
** older version of the largest), which take the splice as it is without
** a walk (skiplist_insert's end-of-list path).  User keys are 2 bytes,
** big-endian, from a small space so that runs cross what is already
** there.
*/
enum { SK_RANDOM, SK_ASCENDING, SK_DESCENDING, SK_NEWER_VERSION, SK_OLDER_VERSION, SK_APPEND,
       SK_NMODE };

START_TEST(skiplist_matches_model_under_runs_up_and_down_versions_and_random_keys){
  int nInsert = test_scale(20000);
  unsigned long long seed = test_seed();
  sk_key *aKey = (sk_key*)malloc(sizeof(sk_key) * (size_t)nInsert);
  sk_key *aSorted = (sk_key*)malloc(sizeof(sk_key) * (size_t)nInsert);
  uint64_t seqNew = 1u << 20, seqOld = (1u << 20) - 1;   /* unique: up and down */
  unsigned uUser = 0, uMax = 0;
  int j = 0, nCheck = 0, nAppend = 0;
  arena a;
  skiplist list;
  test_rng rng;

  rng_init(&rng, seed);
  arena_init(&a, lsm_env_default());
  ck_assert_int_eq(skiplist_init(&list, &a), LSM_OK);
  while( j < nInsert ){
    int eMode = (int)rng_below(&rng, SK_NMODE);
    int nRun = 1 + (int)rng_below(&rng, 200), k;
    for(k = 0; k < nRun && j < nInsert; k++, j++){
      uint8_t aUser[2];
      uint64_t seq = seqNew++;
      switch( eMode ){
        case SK_RANDOM:        uUser = (unsigned)rng_below(&rng, 4096); break;
        case SK_ASCENDING:     uUser = (uUser + 1 + (unsigned)rng_below(&rng, 3)) % 4096; break;
        case SK_DESCENDING:    uUser = (uUser + 4096 - 1 - (unsigned)rng_below(&rng, 3)) % 4096; break;
        case SK_NEWER_VERSION: break;
        case SK_OLDER_VERSION: seq = seqOld--; break;
        case SK_APPEND:
          if( j > 0 && uMax >= 4095 ){
            uUser = 4095;
            seq = seqOld--;
          }else{
            uUser = j == 0 ? 0 : uMax + 1 + (unsigned)rng_below(&rng, 3);
            if( uUser > 4095 ) uUser = 4095;
            if( uUser == uMax && j > 0 ) seq = seqOld--;
          }
          nAppend++;
          break;
      }
      if( uUser > uMax ) uMax = uUser;
      aUser[0] = (uint8_t)(uUser >> 8);
      aUser[1] = (uint8_t)uUser;
      ikey_build(aKey[j].a, aUser, 2, seq, (int)rng_below(&rng, 2));
      aKey[j].n = 2 + IKEY_TRAILER;
      sk_insert(&list, &aKey[j], &j, sizeof(j));
    }
    if( ++nCheck % 8 == 0 || j == nInsert ){
      char zWhen[64];
      memcpy(aSorted, aKey, sizeof(sk_key) * (size_t)j);
      qsort(aSorted, (size_t)j, sizeof(sk_key), sk_key_cmp);
      snprintf(zWhen, sizeof(zWhen), "after %d inserts (mode %d)", j, eMode);
      sk_check_structure(&list, aSorted, (size_t)j, seed, zWhen);
    }
  }
  SEED_ASSERT(nAppend > nInsert / 20, "only %d of %d inserts were appends", seed, nAppend,
              nInsert);
  /* Seeks find what the model says (they search every level). */
  for(j = 0; j < nInsert; j++){
    sk_key k;
    uint8_t aUser[2];
    size_t iGe;
    skiplist_node *pNode;
    unsigned u = (unsigned)rng_below(&rng, 4096);
    aUser[0] = (uint8_t)(u >> 8);
    aUser[1] = (uint8_t)u;
    ikey_build(k.a, aUser, 2, rng_below(&rng, 2u << 20), IKEY_VALUE);
    k.n = 2 + IKEY_TRAILER;
    iGe = sk_lower_bound(aSorted, (size_t)nInsert, &k);
    pNode = skiplist_seek_ge(&list, k.a, k.n);
    if( iGe == (size_t)nInsert ) SEED_ASSERT(pNode == NULL, "seek_ge past end", seed);
    else SEED_ASSERT(sk_node_is(pNode, &aSorted[iGe]), "seek_ge %d", seed, j);
    pNode = skiplist_seek_lt(&list, k.a, k.n);
    if( iGe == 0 ) SEED_ASSERT(pNode == NULL, "seek_lt before start", seed);
    else SEED_ASSERT(sk_node_is(pNode, &aSorted[iGe - 1]), "seek_lt %d", seed, j);
  }
  arena_free(&a);
  free(aKey);
  free(aSorted);
}
END_TEST

/*
** The read index (skiplist.h): a seek through it walks at most
** SKIPLIST_INDEX_WALK_MAX nodes of level 0, counted by what
** skiplist_seek_ge_from returns (a give-up, after which the caller
** searches the list, counts as that many), and finds what
** skiplist_seek_ge finds.
*/
typedef struct ix_key {
  uint8_t a[40];                /* internal key: user key + trailer */
  size_t n;
} ix_key;

static void ix_insert(skiplist *pList, const char *zUser, uint64_t seq, ix_key *pK){
  skiplist_node *pNode;
  size_t nUser = strlen(zUser);
  ikey_build(pK->a, zUser, nUser, seq, 1);
  pK->n = nUser + IKEY_TRAILER;
  pNode = skiplist_node_new(pList, pK->n, 0);
  ck_assert_ptr_nonnull(pNode);
  memcpy(skiplist_node_data(pNode), pK->a, pK->n);
  skiplist_insert(pList, pNode);
}

/* One seek through the index; returns the nodes it walked. */
static int ix_seek(const skiplist *pList, const skiplist_index *pIdx, const char *zUser,
                   int *pnBegun){
  ix_key k;
  skiplist_index_search s;
  skiplist_node *pFound = NULL, *pStart;
  int nWalked;
  size_t nUser = strlen(zUser);
  ikey_build(k.a, zUser, nUser, IKEY_MAX_SEQ, 1);
  k.n = nUser + IKEY_TRAILER;
  if( !skiplist_index_begin(pIdx, k.a, k.n, &s) ) return 0;
  (*pnBegun)++;
  skiplist_index_find(pIdx, k.a, k.n, &s);
  pStart = skiplist_index_start(pList, pIdx, &s);
  nWalked = skiplist_seek_ge_from(pStart, k.a, k.n, &pFound);
  if( nWalked == 0 ){
    nWalked = SKIPLIST_INDEX_WALK_MAX;
  }else{
    ck_assert_msg(pFound == skiplist_seek_ge(pList, k.a, k.n), "seek %s: wrong node", zUser);
  }
  return nWalked;
}

#define IX_KEYS 20000

START_TEST(read_index_orders_keys_sharing_its_word_by_the_full_key){
  arena a;
  skiplist list;
  skiplist_index *pIdx;
  ix_key k;
  char z[40];
  int i, nBegun = 0, nMaxWalk = 0;
  arena_init(&a, lsm_env_default());
  ck_assert_int_eq(skiplist_init(&list, &a), LSM_OK);
  /* One outlier leaves no common prefix: every other key's word is
  ** "tenant:0", the same 8 bytes. */
  ix_insert(&list, "a", 1, &k);
  for(i = 0; i < IX_KEYS; i++){
    snprintf(z, sizeof(z), "tenant:%08d", i);
    ix_insert(&list, z, 2 + (uint64_t)i, &k);
  }
  pIdx = skiplist_index_build(&list, lsm_env_default());
  ck_assert_ptr_nonnull(pIdx);
  for(i = 0; i < IX_KEYS; i += 37){
    int n, j;
    for(j = 0; j < 2; j++){
      /* A key present, and a missing one just after it. */
      snprintf(z, sizeof(z), j ? "tenant:%08dx" : "tenant:%08d", i);
      n = ix_seek(&list, pIdx, z, &nBegun);
      ck_assert_msg(n >= 1 && n < SKIPLIST_INDEX_WALK_MAX,
                    "seek %s walked %d nodes (a give-up counts %d)", z, n,
                    SKIPLIST_INDEX_WALK_MAX);
      if( n > nMaxWalk ) nMaxWalk = n;
    }
  }
  ck_assert_int_gt(nBegun, 1000);
  ck_assert_int_le(nMaxWalk, SKIPLIST_INDEX_WALK_MAX / 2 + 1);
  skiplist_index_free(pIdx, lsm_env_default());
  arena_free(&a);
}
END_TEST

START_TEST(read_index_walk_stays_bounded_after_the_list_grows){
  arena a;
  skiplist list;
  skiplist_index *pIdx;
  ix_key k;
  char z[40];
  int i, nBegun = 0;
  arena_init(&a, lsm_env_default());
  ck_assert_int_eq(skiplist_init(&list, &a), LSM_OK);
  for(i = 0; i < IX_KEYS; i += 2){
    snprintf(z, sizeof(z), "k%08d", i);
    ix_insert(&list, z, 1 + (uint64_t)i, &k);
  }
  pIdx = skiplist_index_build(&list, lsm_env_default());
  ck_assert_ptr_nonnull(pIdx);
  /* After the build: keys appended past the last sample, and a burst
  ** into one gap (the odd keys between two samples' neighbours). */
  for(i = IX_KEYS; i < IX_KEYS + 1000; i++){
    snprintf(z, sizeof(z), "k%08d", i);
    ix_insert(&list, z, 100000 + (uint64_t)i, &k);
  }
  for(i = 0; i < 500; i++){
    snprintf(z, sizeof(z), "k%08d.%04d", 5000, i);
    ix_insert(&list, z, 200000 + (uint64_t)i, &k);
  }
  for(i = 0; i < 1000; i += 7){
    int n;
    snprintf(z, sizeof(z), "k%08d", IX_KEYS + i);
    n = ix_seek(&list, pIdx, z, &nBegun);
    ck_assert_msg(n <= SKIPLIST_INDEX_WALK_MAX, "appended %s: walked %d nodes", z, n);
    snprintf(z, sizeof(z), "k%08d.%04d", 5000, i % 500);
    n = ix_seek(&list, pIdx, z, &nBegun);
    ck_assert_msg(n <= SKIPLIST_INDEX_WALK_MAX, "gap %s: walked %d nodes", z, n);
  }
  ck_assert_int_gt(nBegun, 200);
  skiplist_index_free(pIdx, lsm_env_default());
  arena_free(&a);
}
END_TEST

static Suite *skiplist_suite(void){
  Suite *s = suite_create("skiplist");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, arena_allocations_are_aligned_and_usage_grows);
  tcase_add_test(tc, arena_usage_tracks_contents_within_one_block);
  tcase_add_test(tc, skiplist_empty_list_has_no_entries);
  tcase_add_test(tc, skiplist_matches_sorted_model_after_random_inserts);
  tcase_add_test(tc, skiplist_matches_model_under_runs_up_and_down_versions_and_random_keys);
  tcase_add_test(tc, skiplist_orders_versions_of_one_key_newest_first);
  tcase_add_test(tc, skiplist_holds_large_keys_and_values);
  tcase_add_test(tc, read_index_orders_keys_sharing_its_word_by_the_full_key);
  tcase_add_test(tc, read_index_walk_stays_bounded_after_the_list_grows);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(skiplist_suite)
