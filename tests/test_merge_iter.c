/*
** test_merge_iter.c — the k-way merge against a merged, sorted model.
**
** Several memtables get random versions (some versions are copied into
** two children, which a corrupt store could hold); the model is every
** (version, child) pair sorted by internal key, then child index.  Random
** walks mixing first/last/seek/next/step/prev must agree with it at each
** step (step: iter_step, whose key must be the new current key).
** Short keys (0 to 3 bytes) make many equal keys across children; long
** ones (up to 20 bytes, most sharing a run of 'p' of 0 to 16 bytes) make
** the merge's word-at-a-time key comparison meet differences and proper
** prefixes on each side of a word boundary.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultenv.h"
#include "harness.h"
#include "ikey.h"
#include "lsm.h"
#include "memtable.h"
#include "merge_iter.h"
#include "testutil.h"

/* Children of a walk: up to 8 in most, up to MG_MAX_CHILD (a tournament
** tree whose leaves sit at depths 5 and 6, as many runs as level 0 holds
** right after heavy writes) in one. */
#define MG_MAX_CHILD 40
#define MG_MAX_KEY 20

typedef struct mg_rec {
  uint8_t aKey[MG_MAX_KEY];     /* user key                            */
  size_t nKey;                  /* its length                          */
  uint64_t seq;                 /* sequence number                     */
  int type;                     /* IKEY_VALUE or IKEY_DELETE           */
  int iChild;                   /* memtable holding this copy          */
  char zVal[32];                /* "v<seq>/<child>"                    */
} mg_rec;

static int mg_rec_cmp(const void *pA, const void *pB){
  const mg_rec *a = (const mg_rec*)pA, *b = (const mg_rec*)pB;
  int c = ikey_compare_user(a->aKey, a->nKey, b->aKey, b->nKey);
  if( c == 0 ){
    uint64_t ta = ikey_pack_trailer(a->seq, a->type), tb = ikey_pack_trailer(b->seq, b->type);
    c = ta > tb ? -1 : (ta < tb ? 1 : 0);
  }
  if( c == 0 ) c = a->iChild - b->iChild;
  return c;
}

/* A short key (0..3 of 'a'..'c'), or with bLong up to MG_MAX_KEY bytes:
** 0..16 bytes of 'p', then 0..3 of 'a'..'c' or 'q'. */
static void mg_random_key(test_rng *pRng, int bLong, uint8_t *aKey, size_t *pnKey){
  size_t i, nPrefix = bLong ? (size_t)rng_below(pRng, 17) : 0;
  size_t nTail = (size_t)rng_below(pRng, 4);
  for(i = 0; i < nPrefix; i++) aKey[i] = 'p';
  for(i = 0; i < nTail; i++){
    int c = (int)rng_below(pRng, bLong ? 4 : 3);
    aKey[nPrefix + i] = (uint8_t)(c == 3 ? 'q' : 'a' + c);
  }
  *pnKey = nPrefix + nTail;
}

static void mg_add(memtable **apMem, mg_rec *r){
  /* A tombstone has no value. */
  r->zVal[0] = 0;
  if( r->type == IKEY_VALUE ){
    snprintf(r->zVal, sizeof(r->zVal), "v%llu/%d", (unsigned long long)r->seq, r->iChild);
  }
  ck_assert_int_eq(memtable_add(apMem[r->iChild], r->seq, r->type, r->aKey, r->nKey,
                                r->zVal, strlen(r->zVal)), LSM_OK);
}

static int mg_iter_is(iter *pIter, const mg_rec *r){
  size_t nKey, nVal;
  const uint8_t *pKey, *pVal;
  if( !iter_valid(pIter) ) return 0;
  pKey = iter_key(pIter, &nKey);
  pVal = iter_value(pIter, &nVal);
  return nKey == r->nKey + IKEY_TRAILER
      && ikey_compare_user(pKey, nKey - IKEY_TRAILER, r->aKey, r->nKey) == 0
      && ikey_seq(pKey, nKey) == r->seq && ikey_type(pKey, nKey) == r->type
      && nVal == strlen(r->zVal) && memcmp(pVal, r->zVal, nVal) == 0;
}

/* A merge over one iterator per memtable (the memtables are unref'd). */
static iter *mg_open(memtable **apMem, int nMem){
  iter *pMerge = harness_memtable_merge(apMem, nMem);
  int i;
  for(i = 0; i < nMem; i++) memtable_unref(apMem[i]);
  return pMerge;
}

/* ---- tests ---- */

static void mg_random_walks(int bLong, int nMaxChild){
  unsigned long long seed = test_seed();
  int nRound = test_scale(20), iRound;
  test_rng rng;
  rng_init(&rng, seed);
  for(iRound = 0; iRound < nRound; iRound++){
    int nMem = 1 + (int)rng_below(&rng, (uint64_t)nMaxChild);
    int nVersion = (int)rng_below(&rng, 600);
    memtable *apMem[MG_MAX_CHILD];
    mg_rec *a = (mg_rec*)calloc((size_t)nVersion * 2 + 1, sizeof(mg_rec));
    int n = 0, i, iPos = -1;
    iter *pMerge;
    for(i = 0; i < nMem; i++) ck_assert_int_eq(memtable_new(lsm_env_default(), &apMem[i]), LSM_OK);
    for(i = 0; i < nVersion; i++){
      mg_rec *r = &a[n++];
      mg_random_key(&rng, bLong, r->aKey, &r->nKey);
      r->seq = (uint64_t)i + 1;
      r->type = rng_below(&rng, 4) == 0 ? IKEY_DELETE : IKEY_VALUE;
      r->iChild = (int)rng_below(&rng, (uint64_t)nMem);
      mg_add(apMem, r);
      if( nMem > 1 && rng_below(&rng, 10) == 0 ){
        /* The same internal key in a second child. */
        mg_rec *r2 = &a[n++];
        *r2 = *r;
        r2->iChild = (r->iChild + 1 + (int)rng_below(&rng, (uint64_t)nMem - 1)) % nMem;
        mg_add(apMem, r2);
      }
    }
    qsort(a, (size_t)n, sizeof(mg_rec), mg_rec_cmp);
    pMerge = mg_open(apMem, nMem);
    ck_assert(!iter_valid(pMerge));

    for(i = 0, iter_first(pMerge); iter_valid(pMerge); iter_next(pMerge), i++){
      SEED_ASSERT(i < n && mg_iter_is(pMerge, &a[i]), "round %d forward %d", seed, iRound, i);
    }
    SEED_ASSERT(i == n, "round %d: forward saw %d of %d", seed, iRound, i, n);
    for(i = n - 1, iter_last(pMerge); iter_valid(pMerge); iter_prev(pMerge), i--){
      SEED_ASSERT(i >= 0 && mg_iter_is(pMerge, &a[i]), "round %d reverse %d", seed, iRound, i);
    }
    SEED_ASSERT(i == -1, "round %d: reverse stopped at %d", seed, iRound, i);

    for(i = 0; i < 2000; i++){
      int op = (int)rng_below(&rng, 12);
      if( iPos < 0 || op == 0 ){
        mg_rec t;
        uint8_t aIkey[MG_MAX_KEY + IKEY_TRAILER];
        int lo = 0, hi = n;
        mg_random_key(&rng, bLong, t.aKey, &t.nKey);
        t.seq = rng_below(&rng, (uint64_t)nVersion + 2);
        t.type = IKEY_VALUE;
        t.iChild = -1;                  /* before every copy of an equal key */
        ikey_build(aIkey, t.aKey, t.nKey, t.seq, t.type);
        iter_seek(pMerge, aIkey, t.nKey + IKEY_TRAILER);
        while( lo < hi ){
          int mid = (lo + hi) / 2;
          if( mg_rec_cmp(&a[mid], &t) < 0 ) lo = mid + 1; else hi = mid;
        }
        iPos = lo < n ? lo : -1;
      }else if( op == 1 ){
        iter_first(pMerge); iPos = n ? 0 : -1;
      }else if( op == 2 ){
        iter_last(pMerge); iPos = n - 1;
      }else if( op < 5 ){
        iter_next(pMerge); iPos = iPos + 1 < n ? iPos + 1 : -1;
      }else if( op < 7 ){
        /* iter_step: next, and the key it returns is the new key, NULL
        ** exactly when the merge ran off the end (merge_x_step, over the
        ** memtables' own xStep). */
        size_t nStep = 0;
        const uint8_t *pStep = iter_step(pMerge, &nStep);
        iPos = iPos + 1 < n ? iPos + 1 : -1;
        SEED_ASSERT((pStep == NULL) == (iPos < 0), "round %d step %d: iter_step gave %s", seed,
                    iRound, i, pStep ? "a key" : "NULL");
        if( pStep ){
          size_t nKey;
          const uint8_t *pKey = iter_key(pMerge, &nKey);
          SEED_ASSERT(nStep == nKey && memcmp(pStep, pKey, nKey) == 0,
                      "round %d step %d: iter_step's key is not the current key", seed, iRound, i);
        }
      }else{
        iter_prev(pMerge); iPos--;
      }
      if( iPos < 0 ) SEED_ASSERT(!iter_valid(pMerge), "round %d step %d: valid", seed, iRound, i);
      else SEED_ASSERT(mg_iter_is(pMerge, &a[iPos]), "round %d step %d at %d", seed, iRound, i, iPos);
    }
    ck_assert_int_eq(iter_status(pMerge), LSM_OK);
    iter_close(pMerge);
    free(a);
  }
}

START_TEST(merge_iter_matches_merged_model_on_random_walks){
  mg_random_walks(0, 8);
}
END_TEST

/* Deep trees: every child's leaf at each depth replays its path. */
START_TEST(merge_iter_matches_merged_model_on_random_walks_over_many_children){
  mg_random_walks(0, MG_MAX_CHILD);
}
END_TEST

START_TEST(merge_iter_matches_merged_model_on_random_walks_with_long_keys){
  mg_random_walks(1, 8);
}
END_TEST

START_TEST(merge_iter_yields_equal_keys_lower_child_first_and_mirrors_in_reverse){
  memtable *apMem[3];
  const char *azWant[] = {"a", "k0", "k1", "k2", "z"};
  mg_rec r;
  iter *pMerge;
  int i;
  size_t n;
  for(i = 0; i < 3; i++) ck_assert_int_eq(memtable_new(lsm_env_default(), &apMem[i]), LSM_OK);
  memset(&r, 0, sizeof(r));
  for(i = 0; i < 3; i++){
    memcpy(r.aKey, "k", 1); r.nKey = 1; r.seq = 5; r.type = IKEY_VALUE; r.iChild = i;
    ck_assert_int_eq(memtable_add(apMem[i], 5, IKEY_VALUE, "k", 1, azWant[1 + i], 2), LSM_OK);
  }
  ck_assert_int_eq(memtable_add(apMem[2], 1, IKEY_VALUE, "a", 1, "a", 1), LSM_OK);
  ck_assert_int_eq(memtable_add(apMem[0], 2, IKEY_VALUE, "z", 1, "z", 1), LSM_OK);
  pMerge = mg_open(apMem, 3);
  for(i = 0, iter_first(pMerge); iter_valid(pMerge); iter_next(pMerge), i++){
    const uint8_t *p = iter_value(pMerge, &n);
    ck_assert(n == strlen(azWant[i]) && memcmp(p, azWant[i], n) == 0);
  }
  ck_assert_int_eq(i, 5);
  for(i = 4, iter_last(pMerge); iter_valid(pMerge); iter_prev(pMerge), i--){
    const uint8_t *p = iter_value(pMerge, &n);
    ck_assert(n == strlen(azWant[i]) && memcmp(p, azWant[i], n) == 0);
  }
  ck_assert_int_eq(i, -1);
  /* Switch direction in the middle of the equal keys. */
  iter_first(pMerge);
  iter_next(pMerge); iter_next(pMerge);                  /* k1 */
  ck_assert_int_eq(memcmp(iter_value(pMerge, &n), "k1", 2), 0);
  iter_prev(pMerge);
  ck_assert_int_eq(memcmp(iter_value(pMerge, &n), "k0", 2), 0);
  iter_next(pMerge);
  ck_assert_int_eq(memcmp(iter_value(pMerge, &n), "k1", 2), 0);
  iter_next(pMerge);
  ck_assert_int_eq(memcmp(iter_value(pMerge, &n), "k2", 2), 0);
  iter_prev(pMerge); iter_prev(pMerge); iter_prev(pMerge);
  ck_assert_int_eq(memcmp(iter_value(pMerge, &n), "a", 1), 0);
  iter_close(pMerge);
}
END_TEST

/* A settled store's scan: one sorted run beside empty memtables, and
** runs that end early, so that the merge steps its last valid child
** alone (merge_iter.c, winner_step_forward).  Child 1 holds k00..k39,
** child 3 k00a..k09a (a key after each of the first ten), children 0
** and 2 nothing; every step must still be the next key in order, after
** a direction switch and a seek too. */
START_TEST(merge_iter_steps_its_last_valid_child_alone_in_order){
  memtable *apMem[4];
  char zKey[8];
  char azWant[50][8];
  iter *pMerge;
  uint8_t aIkey[8 + IKEY_TRAILER];
  int i, nWant = 0, iRound;
  size_t n;
  for(i = 0; i < 4; i++) ck_assert_int_eq(memtable_new(lsm_env_default(), &apMem[i]), LSM_OK);
  for(i = 0; i < 40; i++){
    snprintf(zKey, sizeof(zKey), "k%02d", i);
    ck_assert_int_eq(memtable_add(apMem[1], (uint64_t)i + 1, IKEY_VALUE, zKey, 3, zKey, 3), LSM_OK);
    snprintf(azWant[nWant++], 8, "%s", zKey);
    if( i < 10 ){
      snprintf(zKey, sizeof(zKey), "k%02da", i);
      ck_assert_int_eq(memtable_add(apMem[3], (uint64_t)i + 100, IKEY_VALUE, zKey, 4, zKey, 4),
                       LSM_OK);
      snprintf(azWant[nWant++], 8, "%s", zKey);
    }
  }
  pMerge = mg_open(apMem, 4);
  for(iRound = 0; iRound < 3; iRound++){
    int iStart = 0;
    if( iRound == 0 ){
      iter_first(pMerge);
    }else if( iRound == 1 ){
      /* Back from the end, then forward again: the tree is rebuilt. */
      iter_last(pMerge);
      for(i = 0; i < 25; i++) iter_prev(pMerge);
      iStart = nWant - 1 - 25;
    }else{
      ikey_build(aIkey, "k05", 3, IKEY_MAX_SEQ, IKEY_VALUE);
      iter_seek(pMerge, aIkey, 3 + IKEY_TRAILER);
      iStart = 10;                                        /* k05 */
    }
    for(i = iStart; i < nWant; i++){
      const uint8_t *pVal;
      ck_assert_msg(iter_valid(pMerge), "round %d: ended before %s", iRound, azWant[i]);
      pVal = iter_value(pMerge, &n);
      ck_assert_msg(n == strlen(azWant[i]) && memcmp(pVal, azWant[i], n) == 0,
                    "round %d: %.*s where %s belongs", iRound, (int)n, pVal, azWant[i]);
      if( i + 1 < nWant ){
        ck_assert(iter_step(pMerge, &n) != NULL);
      }else{
        ck_assert(iter_step(pMerge, &n) == NULL);
      }
    }
    ck_assert(!iter_valid(pMerge));
    ck_assert_int_eq(iter_status(pMerge), LSM_OK);
  }
  iter_close(pMerge);
}
END_TEST

START_TEST(merge_iter_with_no_children_is_empty){
  int rc = LSM_OK;
  iter *pMerge = merge_iter_new(lsm_env_default(), NULL, 0, &rc);
  uint8_t aKey[IKEY_TRAILER];
  ck_assert_int_eq(rc, LSM_OK);
  iter_first(pMerge);
  ck_assert(!iter_valid(pMerge));
  iter_last(pMerge);
  ck_assert(!iter_valid(pMerge));
  ikey_build(aKey, "", 0, 1, IKEY_VALUE);
  iter_seek(pMerge, aKey, sizeof(aKey));
  ck_assert(!iter_valid(pMerge));
  ck_assert_int_eq(iter_status(pMerge), LSM_OK);
  iter_close(pMerge);
}
END_TEST

START_TEST(merge_iter_reports_a_child_error_and_becomes_invalid){
  int nFailAt;
  for(nFailAt = 0; nFailAt < 40; nFailAt++){
    memtable *apMem[2];
    iter *apChild[2], *pMerge;
    int i, rc = LSM_OK, nSeen = 0;
    for(i = 0; i < 2; i++){
      int j;
      ck_assert_int_eq(memtable_new(lsm_env_default(), &apMem[i]), LSM_OK);
      for(j = 0; j < 10; j++){
        char zKey[8];
        snprintf(zKey, sizeof(zKey), "%c%d", 'a' + i, j);
        ck_assert_int_eq(memtable_add(apMem[i], (uint64_t)(i * 10 + j + 1), IKEY_VALUE, zKey, 2, "v", 1), LSM_OK);
      }
      apChild[i] = memtable_iter(apMem[i], &rc);
      memtable_unref(apMem[i]);
    }
    apChild[1] = harness_fault_iter_new(apChild[1], nFailAt);
    pMerge = merge_iter_new(lsm_env_default(), apChild, 2, &rc);
    ck_assert_int_eq(rc, LSM_OK);
    /* Forward, then back: the failure shows up as invalid + status. */
    for(iter_first(pMerge); iter_valid(pMerge); iter_next(pMerge)) nSeen++;
    if( iter_status(pMerge) == LSM_OK ){
      for(iter_last(pMerge); iter_valid(pMerge); iter_prev(pMerge)) nSeen++;
    }
    if( nFailAt < 22 ){
      ck_assert_int_eq(iter_status(pMerge), LSM_CORRUPT);
      ck_assert(!iter_valid(pMerge));
    }
    if( iter_status(pMerge) == LSM_OK ) ck_assert_int_eq(nSeen, 40);
    iter_close(pMerge);
  }
}
END_TEST

START_TEST(merge_iter_new_closes_its_children_when_allocation_fails){
  faultenv *fe = faultenv_new(NULL);
  memtable *pMem;
  iter *apChild[1], *pMerge;
  int rc = LSM_OK;
  ck_assert_int_eq(memtable_new(lsm_env_default(), &pMem), LSM_OK);
  apChild[0] = memtable_iter(pMem, &rc);
  memtable_unref(pMem);           /* the child holds the last reference */
  faultenv_fail(fe, FAULTENV_ALLOC, 1, 0, 1);
  pMerge = merge_iter_new(faultenv_env(fe), apChild, 1, &rc);
  ck_assert_ptr_null(pMerge);
  ck_assert_int_eq(rc, LSM_NOMEM);
  faultenv_free(fe);
  /* ASan's leak check proves the child and the memtable were freed. */
}
END_TEST

static Suite *merge_iter_suite(void){
  Suite *s = suite_create("merge_iter");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, merge_iter_matches_merged_model_on_random_walks);
  tcase_add_test(tc, merge_iter_matches_merged_model_on_random_walks_with_long_keys);
  tcase_add_test(tc, merge_iter_matches_merged_model_on_random_walks_over_many_children);
  tcase_add_test(tc, merge_iter_yields_equal_keys_lower_child_first_and_mirrors_in_reverse);
  tcase_add_test(tc, merge_iter_steps_its_last_valid_child_alone_in_order);
  tcase_add_test(tc, merge_iter_with_no_children_is_empty);
  tcase_add_test(tc, merge_iter_reports_a_child_error_and_becomes_invalid);
  tcase_add_test(tc, merge_iter_new_closes_its_children_when_allocation_fails);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(merge_iter_suite)
