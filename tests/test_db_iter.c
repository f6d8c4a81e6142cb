/*
** test_db_iter.c — the user's view of versions, against brute force.
**
** Random versions (commits and a transaction's batch range, values and
** tombstones, keys with shared prefixes and the empty key) are spread over
** several memtables and read through merge_iter + db_iter at a random
** snapshot, batch window and bounds.  The model computes, per user key,
** the newest visible version by scanning every version; the live keys
** inside the bounds, in order, are what a walk of first/last/seek_ge/
** seek_le/next/prev must show at every step.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_iter.h"
#include "faultenv.h"
#include "harness.h"
#include "ikey.h"
#include "lsm.h"
#include "memtable.h"
#include "merge_iter.h"
#include "testutil.h"

#define DI_MAX_MEM 5
#define DI_MAX_KEY 48

/* Keys of the run: 0 short keys over three letters (many versions of
** each, shared prefixes, the empty key); 1 keys of every length around
** the word sizes the step's saved key is copied in (db_iter.c,
** save_key), all 'p' but one or two random letters, so that keys differ
** at any byte of a word. */
static int g_eKeys;
typedef struct di_rec {
  uint8_t aKey[DI_MAX_KEY];     /* user key                            */
  size_t nKey;                  /* its length                          */
  uint64_t seq;                 /* sequence number (unique)            */
  int type;                     /* IKEY_VALUE or IKEY_DELETE           */
  char zVal[32];                /* value; "" for a tombstone           */
} di_rec;

/* An expected row of the user's view. */
typedef struct di_row {
  const di_rec *pRec;           /* the version shown                   */
} di_row;

static void di_random_key(test_rng *pRng, uint8_t *aKey, size_t *pnKey){
  static const size_t aLen[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40, 47};
  size_t i, n;
  if( g_eKeys == 0 ){
    *pnKey = (size_t)rng_below(pRng, 4);
    for(i = 0; i < *pnKey; i++) aKey[i] = (uint8_t)('a' + rng_below(pRng, 3));
    return;
  }
  n = aLen[rng_below(pRng, sizeof(aLen) / sizeof(aLen[0]))];
  for(i = 0; i < n; i++) aKey[i] = 'p';
  if( n ) aKey[rng_below(pRng, n)] = (uint8_t)('a' + rng_below(pRng, 3));
  if( n && rng_below(pRng, 2) ) aKey[rng_below(pRng, n)] = (uint8_t)('a' + rng_below(pRng, 3));
  *pnKey = n;
}

static int di_visible(uint64_t seq, uint64_t maxSeq, uint64_t maxBatchSeq){
  return seq <= maxSeq || (seq >= IKEY_BATCH_SEQ && seq <= maxBatchSeq);
}

static int di_rec_user_cmp(const void *pA, const void *pB){
  const di_rec *a = (const di_rec*)pA, *b = (const di_rec*)pB;
  int c = ikey_compare_user(a->aKey, a->nKey, b->aKey, b->nKey);
  return c ? c : (a->seq > b->seq ? -1 : (a->seq < b->seq ? 1 : 0));
}

/* The bounds of one run. */
typedef struct di_bounds {
  int bLower, bLowerOpen;       /* lower bound set; excluded           */
  uint8_t aLower[DI_MAX_KEY];   /* the lower bound                     */
  size_t nLower;                /* its length                          */
  int bUpper, bUpperOpen;       /* upper bound set; excluded           */
  uint8_t aUpper[DI_MAX_KEY];   /* the upper bound                     */
  size_t nUpper;                /* its length                          */
} di_bounds;

static int di_in_bounds(const di_bounds *b, const uint8_t *pKey, size_t nKey){
  if( b->bLower ){
    int c = ikey_compare_user(pKey, nKey, b->aLower, b->nLower);
    if( c < 0 || (c == 0 && b->bLowerOpen) ) return 0;
  }
  if( b->bUpper ){
    int c = ikey_compare_user(pKey, nKey, b->aUpper, b->nUpper);
    if( c > 0 || (c == 0 && b->bUpperOpen) ) return 0;
  }
  return 1;
}

/*
** The expected view, by brute force: a records sorted by user key then
** seq descending; for each user key the first visible version wins.
*/
static int di_model(const di_rec *a, int n, uint64_t maxSeq, uint64_t maxBatchSeq,
                    const di_bounds *pB, di_row *aRow){
  int i = 0, nRow = 0;
  while( i < n ){
    int j = i;
    const di_rec *pWin = NULL;
    for(; j < n && ikey_compare_user(a[j].aKey, a[j].nKey, a[i].aKey, a[i].nKey) == 0; j++){
      if( pWin == NULL && di_visible(a[j].seq, maxSeq, maxBatchSeq) ) pWin = &a[j];
    }
    if( pWin && pWin->type == IKEY_VALUE && di_in_bounds(pB, pWin->aKey, pWin->nKey) ){
      aRow[nRow++].pRec = pWin;
    }
    i = j;
  }
  return nRow;
}

static int di_at(const db_iter *p, const di_rec *r){
  size_t nKey, nVal;
  const uint8_t *pKey, *pVal;
  if( !db_iter_valid(p) ) return 0;
  pKey = db_iter_key(p, &nKey);
  pVal = db_iter_value(p, &nVal);
  return ikey_compare_user(pKey, nKey, r->aKey, r->nKey) == 0
      && nVal == strlen(r->zVal) && memcmp(pVal, r->zVal, nVal) == 0;
}

/* A db_iter over a merge of one iterator per memtable. */
static db_iter *di_open(memtable **apMem, int nMem, uint64_t maxSeq, uint64_t maxBatchSeq){
  db_iter *p;
  ck_assert_int_eq(db_iter_new(lsm_env_default(), harness_memtable_merge(apMem, nMem), maxSeq,
                               maxBatchSeq, &p), LSM_OK);
  return p;
}

static int di_add(memtable *pMem, di_rec *r){
  r->zVal[0] = 0;
  if( r->type == IKEY_VALUE ) snprintf(r->zVal, sizeof(r->zVal), "v%llx", (unsigned long long)r->seq);
  return memtable_add(pMem, r->seq, r->type, r->aKey, r->nKey, r->zVal, strlen(r->zVal));
}

START_TEST(db_iter_matches_brute_force_view_at_random_snapshots_and_bounds){
  unsigned long long seed = test_seed() + (unsigned long long)_i;
  int nRound = test_scale(60), iRound;
  test_rng rng;
  g_eKeys = _i;
  rng_init(&rng, seed);
  for(iRound = 0; iRound < nRound; iRound++){
    int nMem = 1 + (int)rng_below(&rng, DI_MAX_MEM);
    int nRec = (int)rng_below(&rng, 400), nCommit = 0, nBatch = 0;
    memtable *apMem[DI_MAX_MEM];
    di_rec *a = (di_rec*)calloc((size_t)nRec + 1, sizeof(di_rec));
    di_row *aRow = (di_row*)calloc((size_t)nRec + 1, sizeof(di_row));
    uint64_t maxSeq, maxBatchSeq;
    di_bounds b;
    db_iter *p;
    int i, nRow, iPos = -1;

    for(i = 0; i < nMem; i++) ck_assert_int_eq(memtable_new(lsm_env_default(), &apMem[i]), LSM_OK);
    for(i = 0; i < nRec; i++){
      di_rec *r = &a[i];
      di_random_key(&rng, r->aKey, &r->nKey);
      r->seq = rng_below(&rng, 6) == 0 ? IKEY_BATCH_SEQ + (uint64_t)nBatch++ : (uint64_t)++nCommit;
      r->type = rng_below(&rng, 3) == 0 ? IKEY_DELETE : IKEY_VALUE;
      ck_assert_int_eq(di_add(apMem[rng_below(&rng, (uint64_t)nMem)], r), LSM_OK);
    }
    qsort(a, (size_t)nRec, sizeof(di_rec), di_rec_user_cmp);

    maxSeq = rng_below(&rng, 4) == 0 ? IKEY_MAX_SEQ : rng_below(&rng, (uint64_t)nCommit + 2);
    maxBatchSeq = rng_below(&rng, 2) ? 0 : IKEY_BATCH_SEQ + rng_below(&rng, (uint64_t)nBatch + 1);
    memset(&b, 0, sizeof(b));
    if( rng_below(&rng, 2) ){
      b.bLower = 1; b.bLowerOpen = (int)rng_below(&rng, 2);
      di_random_key(&rng, b.aLower, &b.nLower);
    }
    if( rng_below(&rng, 2) ){
      b.bUpper = 1; b.bUpperOpen = (int)rng_below(&rng, 2);
      di_random_key(&rng, b.aUpper, &b.nUpper);
    }
    nRow = di_model(a, nRec, maxSeq, maxBatchSeq, &b, aRow);

    p = di_open(apMem, nMem, maxSeq, maxBatchSeq);
    for(i = 0; i < nMem; i++) memtable_unref(apMem[i]);
    ck_assert(!db_iter_valid(p));
    if( b.bLower || b.bUpper ){
      ck_assert_int_eq(db_iter_bounds(p, b.bLower ? b.aLower : NULL, b.nLower, b.bLowerOpen,
                                      b.bUpper ? b.aUpper : NULL, b.nUpper, b.bUpperOpen), LSM_OK);
    }

    /* Whole walks both ways. */
    ck_assert_int_eq(db_iter_first(p), LSM_OK);
    for(i = 0; db_iter_valid(p); i++){
      SEED_ASSERT(i < nRow && di_at(p, aRow[i].pRec), "round %d forward %d", seed, iRound, i);
      ck_assert_int_eq(db_iter_next(p), LSM_OK);
    }
    SEED_ASSERT(i == nRow, "round %d: forward saw %d of %d", seed, iRound, i, nRow);
    ck_assert_int_eq(db_iter_last(p), LSM_OK);
    for(i = nRow - 1; db_iter_valid(p); i--){
      SEED_ASSERT(i >= 0 && di_at(p, aRow[i].pRec), "round %d reverse %d", seed, iRound, i);
      ck_assert_int_eq(db_iter_prev(p), LSM_OK);
    }
    SEED_ASSERT(i == -1, "round %d: reverse stopped at %d", seed, iRound, i);

    /* A random walk; iPos is the model position (-1: invalid). */
    for(i = 0; i < 600; i++){
      int op = (int)rng_below(&rng, 12);
      if( iPos < 0 || op < 2 ){
        uint8_t aKey[DI_MAX_KEY];
        size_t nKey;
        int lo = 0, hi = nRow;
        di_random_key(&rng, aKey, &nKey);
        while( lo < hi ){
          int mid = (lo + hi) / 2;
          if( ikey_compare_user(aRow[mid].pRec->aKey, aRow[mid].pRec->nKey, aKey, nKey) < 0 ) lo = mid + 1;
          else hi = mid;
        }
        if( op == 0 || (iPos < 0 && op % 2 == 0) ){
          ck_assert_int_eq(db_iter_seek_ge(p, aKey, nKey), LSM_OK);
          iPos = lo < nRow ? lo : -1;
        }else{
          ck_assert_int_eq(db_iter_seek_le(p, aKey, nKey), LSM_OK);
          /* Last row <= key. */
          if( lo < nRow && ikey_compare_user(aRow[lo].pRec->aKey, aRow[lo].pRec->nKey, aKey, nKey) == 0 ) iPos = lo;
          else iPos = lo - 1;
        }
      }else if( op == 2 ){
        ck_assert_int_eq(db_iter_first(p), LSM_OK); iPos = nRow ? 0 : -1;
      }else if( op == 3 ){
        ck_assert_int_eq(db_iter_last(p), LSM_OK); iPos = nRow - 1;
      }else if( op < 8 ){
        ck_assert_int_eq(db_iter_next(p), LSM_OK); iPos = iPos + 1 < nRow ? iPos + 1 : -1;
      }else{
        ck_assert_int_eq(db_iter_prev(p), LSM_OK); iPos--;
      }
      if( iPos < 0 ) SEED_ASSERT(!db_iter_valid(p), "round %d step %d: valid", seed, iRound, i);
      else SEED_ASSERT(di_at(p, aRow[iPos].pRec), "round %d step %d at %d", seed, iRound, i, iPos);
    }
    db_iter_close(p);
    free(a);
    free(aRow);
  }
}
END_TEST

/* Versions of "k" (and neighbours) for the fixed-expectation tests. */
static memtable *di_fixture(void){
  memtable *pMem;
  ck_assert_int_eq(memtable_new(lsm_env_default(), &pMem), LSM_OK);
  ck_assert_int_eq(memtable_add(pMem, 1, IKEY_VALUE, "k", 1, "a", 1), LSM_OK);
  ck_assert_int_eq(memtable_add(pMem, 2, IKEY_VALUE, "k", 1, "b", 1), LSM_OK);
  ck_assert_int_eq(memtable_add(pMem, 3, IKEY_DELETE, "k", 1, NULL, 0), LSM_OK);
  ck_assert_int_eq(memtable_add(pMem, 4, IKEY_VALUE, "k", 1, "d", 1), LSM_OK);
  ck_assert_int_eq(memtable_add(pMem, IKEY_BATCH_SEQ, IKEY_VALUE, "k", 1, "b0", 2), LSM_OK);
  ck_assert_int_eq(memtable_add(pMem, IKEY_BATCH_SEQ + 1, IKEY_DELETE, "k", 1, NULL, 0), LSM_OK);
  /* Neighbours at seq 0, visible at every snapshot. */
  ck_assert_int_eq(memtable_add(pMem, 0, IKEY_VALUE, "j", 1, "j", 1), LSM_OK);
  ck_assert_int_eq(memtable_add(pMem, 0, IKEY_VALUE, "l", 1, "l", 1), LSM_OK);
  return pMem;
}

/* p is at "k" with value zWant, or, zWant NULL, at the neighbour cOther. */
static void di_assert_k_or(db_iter *p, const char *zWant, char cOther){
  size_t n;
  const uint8_t *pKey = db_iter_key(p, &n);
  if( zWant ){
    ck_assert(n == 1 && pKey[0] == 'k');
    ck_assert_int_eq(memcmp(db_iter_value(p, &n), zWant, strlen(zWant)), 0);
    ck_assert_uint_eq(n, strlen(zWant));
  }else{
    ck_assert(n == 1 && pKey[0] == cOther);
  }
}

/* The value of "k" seen first forward and first in reverse from "l"/"j". */
static void di_expect_k(memtable *pMem, uint64_t maxSeq, uint64_t maxBatchSeq, const char *zWant){
  db_iter *p = di_open(&pMem, 1, maxSeq, maxBatchSeq);
  /* Forward from "j" (always live) to the next key. */
  ck_assert_int_eq(db_iter_seek_ge(p, "j", 1), LSM_OK);
  ck_assert_int_eq(db_iter_next(p), LSM_OK);
  di_assert_k_or(p, zWant, 'l');
  /* Reverse from "l" (live): the newest visible version again. */
  ck_assert_int_eq(db_iter_seek_le(p, "l", 1), LSM_OK);
  ck_assert_int_eq(db_iter_prev(p), LSM_OK);
  di_assert_k_or(p, zWant, 'j');
  db_iter_close(p);
}

START_TEST(db_iter_shows_the_newest_visible_version_in_both_directions){
  memtable *pMem = di_fixture();
  di_expect_k(pMem, 1, 0, "a");
  di_expect_k(pMem, 2, 0, "b");
  di_expect_k(pMem, 3, 0, NULL);                 /* tombstone at 3 hides it */
  di_expect_k(pMem, 6, 0, "d");
  di_expect_k(pMem, IKEY_MAX_SEQ, 0, NULL);      /* everything: batch tombstone newest */
  memtable_unref(pMem);
}
END_TEST

START_TEST(db_iter_applies_the_batch_window_over_commits){
  memtable *pMem = di_fixture();
  di_expect_k(pMem, 6, IKEY_BATCH_SEQ, "b0");        /* own write over commit 4 */
  di_expect_k(pMem, 6, IKEY_BATCH_SEQ + 1, NULL);    /* own delete */
  di_expect_k(pMem, 3, IKEY_BATCH_SEQ, "b0");        /* own write over commit tombstone */
  di_expect_k(pMem, 6, 0, "d");                      /* no batch */
  memtable_unref(pMem);
}
END_TEST

START_TEST(db_iter_handles_open_and_closed_bounds_at_the_edges){
  memtable *pMem;
  db_iter *p;
  size_t n;
  const char *azKey[] = {"a", "b", "c", "d"};
  int i;
  ck_assert_int_eq(memtable_new(lsm_env_default(), &pMem), LSM_OK);
  for(i = 0; i < 4; i++){
    ck_assert_int_eq(memtable_add(pMem, (uint64_t)i + 1, IKEY_VALUE, azKey[i], 1, azKey[i], 1), LSM_OK);
  }
  /* seq 0 is the smallest trailer: a closed upper bound must still see it. */
  ck_assert_int_eq(memtable_add(pMem, 0, IKEY_VALUE, "bb", 2, "bb", 2), LSM_OK);
  p = di_open(&pMem, 1, IKEY_MAX_SEQ, 0);
  memtable_unref(pMem);

  ck_assert_int_eq(db_iter_bounds(p, "b", 1, 1, "bb", 2, 0), LSM_OK);   /* (b, bb] */
  ck_assert(!db_iter_valid(p));
  ck_assert_int_eq(db_iter_first(p), LSM_OK);
  ck_assert_int_eq(memcmp(db_iter_key(p, &n), "bb", 2), 0);
  ck_assert_int_eq(db_iter_next(p), LSM_OK);
  ck_assert(!db_iter_valid(p));
  ck_assert_int_eq(db_iter_last(p), LSM_OK);
  ck_assert_int_eq(memcmp(db_iter_key(p, &n), "bb", 2), 0);
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(db_iter_prev(p), LSM_OK);
  ck_assert(!db_iter_valid(p));
  ck_assert_int_eq(db_iter_seek_ge(p, "a", 1), LSM_OK);    /* clamped to the bound */
  ck_assert_int_eq(memcmp(db_iter_key(p, &n), "bb", 2), 0);
  ck_assert_int_eq(db_iter_seek_le(p, "z", 1), LSM_OK);
  ck_assert_int_eq(memcmp(db_iter_key(p, &n), "bb", 2), 0);
  ck_assert_int_eq(db_iter_seek_le(p, "b", 1), LSM_OK);
  ck_assert(!db_iter_valid(p));

  ck_assert_int_eq(db_iter_bounds(p, "b", 1, 0, "d", 1, 1), LSM_OK);    /* [b, d) */
  ck_assert_int_eq(db_iter_last(p), LSM_OK);
  ck_assert_int_eq(memcmp(db_iter_key(p, &n), "c", 1), 0);
  ck_assert_int_eq(db_iter_prev(p), LSM_OK);
  ck_assert_int_eq(memcmp(db_iter_key(p, &n), "bb", 2), 0);
  ck_assert_int_eq(db_iter_prev(p), LSM_OK);
  ck_assert_int_eq(memcmp(db_iter_key(p, &n), "b", 1), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(db_iter_next(p), LSM_OK);
  ck_assert_int_eq(memcmp(db_iter_key(p, &n), "bb", 2), 0);

  ck_assert_int_eq(db_iter_bounds(p, "c", 1, 0, "b", 1, 0), LSM_OK);    /* empty */
  ck_assert_int_eq(db_iter_first(p), LSM_OK);
  ck_assert(!db_iter_valid(p));
  ck_assert_int_eq(db_iter_last(p), LSM_OK);
  ck_assert(!db_iter_valid(p));

  ck_assert_int_eq(db_iter_bounds(p, NULL, 0, 0, NULL, 0, 0), LSM_OK);  /* none */
  ck_assert_int_eq(db_iter_last(p), LSM_OK);
  ck_assert_int_eq(memcmp(db_iter_key(p, &n), "d", 1), 0);
  db_iter_close(p);
}
END_TEST

START_TEST(db_iter_returns_the_child_error_from_every_move){
  int nFailAt;
  for(nFailAt = 0; nFailAt < 60; nFailAt++){
    memtable *pMem = di_fixture();
    db_iter *p;
    int rc = LSM_OK, nSeen = 0;
    iter *pFault = harness_fault_iter_new(memtable_iter(pMem, &rc), nFailAt);
    ck_assert_int_eq(rc, LSM_OK);
    memtable_unref(pMem);
    ck_assert_int_eq(db_iter_new(lsm_env_default(), pFault, 2, 0, &p), LSM_OK);
    /* Live at seq 2: j, k = "b", l. */
    for(rc = db_iter_first(p); rc == LSM_OK && db_iter_valid(p); rc = db_iter_next(p)) nSeen++;
    if( rc == LSM_OK ){
      for(rc = db_iter_last(p); rc == LSM_OK && db_iter_valid(p); rc = db_iter_prev(p)) nSeen++;
    }
    if( rc == LSM_OK ) rc = db_iter_seek_le(p, "k", 1);
    if( rc == LSM_OK ) rc = db_iter_seek_ge(p, "k", 1);
    if( rc == LSM_OK ){
      ck_assert_int_eq(nSeen, 6);
      ck_assert(nFailAt > 20);
    }else{
      ck_assert_int_eq(rc, LSM_CORRUPT);
      ck_assert(!db_iter_valid(p));
    }
    db_iter_close(p);
  }
}
END_TEST

START_TEST(db_iter_new_closes_the_internal_iterator_when_allocation_fails){
  faultenv *fe = faultenv_new(NULL);
  memtable *pMem = di_fixture();
  db_iter *p = (db_iter*)fe;
  int rc = LSM_OK;
  iter *pIter = memtable_iter(pMem, &rc);
  memtable_unref(pMem);
  faultenv_fail(fe, FAULTENV_ALLOC, 1, 0, 1);
  ck_assert_int_eq(db_iter_new(faultenv_env(fe), pIter, 1, 0, &p), LSM_NOMEM);
  ck_assert_ptr_null(p);
  db_iter_close(NULL);
  faultenv_free(fe);
}
END_TEST

static Suite *db_iter_suite(void){
  Suite *s = suite_create("db_iter");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, db_iter_matches_brute_force_view_at_random_snapshots_and_bounds, 0, 2);
  tcase_add_test(tc, db_iter_shows_the_newest_visible_version_in_both_directions);
  tcase_add_test(tc, db_iter_applies_the_batch_window_over_commits);
  tcase_add_test(tc, db_iter_handles_open_and_closed_bounds_at_the_edges);
  tcase_add_test(tc, db_iter_returns_the_child_error_from_every_move);
  tcase_add_test(tc, db_iter_new_closes_the_internal_iterator_when_allocation_fails);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(db_iter_suite)
