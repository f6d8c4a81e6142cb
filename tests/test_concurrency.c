/*
** test_concurrency.c — one store, many threads: the invariants that must
** hold whatever the interleaving.
**
** Writers, readers and a maintenance thread share one store whose
** memtable is as small as the options allow, so that memtable switches,
** flushes, level-0 stalls and compactions happen all the time, with the
** background worker on (and, once, off: then the write leader does the
** work), under both compaction policies, on disk and in memory:
**
**   - each writer owns a key range and is its only writer: a get of one of
**     its keys returns its last write (read-your-writes), sweeps over its
**     whole range agree with its model, and at the end the store holds
**     exactly the union of the writers' models, also after a reopen;
**   - the group writer puts one counter into CONC_GROUP keys with one
**     batch, or deletes them all with one batch: every consistent read
**     sees all of them with one counter, or none of them (atomicity);
**   - readers scan both ways: keys strictly ordered, none twice; every
**     value carries its own key (no key/value mix-up); a snapshot's scans
**     (forward, backward, bounded), seeks and gets agree with each other
**     however long it is held while the store churns; a later snapshot
**     never shows an older version of a key than an earlier one did (no
**     time travel through flushes and compactions);
**   - a maintenance thread mixes in lsm_flush, lsm_compact, lsm_stats_get,
**     lsm_files and lsm_check (which must find nothing wrong).
**
** And lsm_close right after the writers stop, while the worker is still
** flushing and compacting, loses nothing: the reopened store equals the
** writers' models, round after round.
**
** VALUE FORMAT (every value written here; readers verify it)
**
**   OFFSET  SIZE  DESCRIPTION
**   0       8     counter, big-endian: the writer's operation number (or
**                 the group writer's round); only grows per writer
**   8       nKey  the key itself
**   8+nKey  0..40 padding, 'p'
**
** Threads record the first failure in the shared state and all of them
** stop; the main thread reports it with the seed.  LSM_TEST_SEED replays
** each thread's random choices, not the interleaving: a failure that does
** not come back with the same seed is still a bug.
**
** Under ThreadSanitizer (the Makefile has no target for it):
**   gcc -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=thread -Ilsm -Itests \
**       lsm/[a-z_]*.c tests/test_concurrency.c tests/testutil.c tests/faultenv.c \
**       $(pkg-config --cflags --libs check libxxhash) -lpthread -lm
**   CK_FORK=no ./a.out
*/
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lsm.h"
#include "testutil.h"

#define CONC_WRITERS      3      /* writers owning a key range each        */
#define CONC_READERS      2      /* snapshot / cursor readers              */
#define CONC_GROUP        8      /* keys the group writer sets atomically  */
#define CONC_WRITER_KEYS  300    /* keys per writer                        */
#define CONC_MAX_VALUE    (8 + 32 + 40)

/* ------------------------------------------------------------------ */
/* Shared state and failure reporting                                  */
/* ------------------------------------------------------------------ */

typedef struct conc {
  lsm_db *pDb;                 /* the store every thread uses              */
  uint64_t seed;               /* base seed; each thread derives its own    */
  atomic_int bStop;            /* a thread failed: everyone stops           */
  atomic_int nWriting;         /* writers (group writer included) running   */
  pthread_mutex_t mutex;       /* guards zFail                              */
  char zFail[1024];            /* the first failure, "" if none             */
  atomic_uint_fast64_t nSnapshotRounds;  /* reader rounds, for the report   */
  atomic_uint_fast64_t nMaintenance;     /* maintenance calls made          */
} conc;

/* Record a failure (the first one wins) and tell every thread to stop. */
static void conc_fail(conc *p, const char *zFmt, ...) __attribute__((format(printf, 2, 3)));
static void conc_fail(conc *p, const char *zFmt, ...){
  va_list ap;
  pthread_mutex_lock(&p->mutex);
  if( p->zFail[0] == 0 ){
    va_start(ap, zFmt);
    vsnprintf(p->zFail, sizeof(p->zFail), zFmt, ap);
    va_end(ap);
  }
  pthread_mutex_unlock(&p->mutex);
  atomic_store(&p->bStop, 1);
}

/* In a thread: on failure record where and why, and return 0. */
#define CONC_CHECK(p, cond, ...) do{ if( !(cond) ){ \
  conc_fail((p), "line " CONC_STR(__LINE__) ": " __VA_ARGS__); return 0; }}while(0)
#define CONC_STR(x) CONC_STR2(x)
#define CONC_STR2(x) #x

static int conc_stopped(conc *p){ return atomic_load(&p->bStop); }

static void conc_init(conc *p, lsm_db *pDb, uint64_t seed){
  memset(p, 0, sizeof(*p));
  p->pDb = pDb;
  p->seed = seed;
  pthread_mutex_init(&p->mutex, NULL);
}

/* Fail the test (main thread) if a thread failed. */
static void conc_report(conc *p){
  if( p->zFail[0] ){
    ck_abort_msg("seed %llu: %s", (unsigned long long)p->seed, p->zFail);
  }
}

/* ------------------------------------------------------------------ */
/* Keys and values                                                     */
/* ------------------------------------------------------------------ */

/* memcmp order, a prefix first: the engine's order. */
static int key_cmp(const void *a, size_t na, const void *b, size_t nb){
  size_t n = na < nb ? na : nb;
  int c = n ? memcmp(a, b, n) : 0;
  return c ? c : (na < nb ? -1 : (na > nb));
}

static size_t writer_key(char *z, int iWriter, int k){
  return (size_t)snprintf(z, 32, "w%d-%05d", iWriter, k);
}
static size_t group_key(char *z, int i){
  return (size_t)snprintf(z, 32, "g-%02d", i);
}

/* Build a value (format in the file header).  Returns its size. */
static size_t value_make(uint8_t *a, uint64_t counter, const void *pKey, size_t nKey, size_t nPad){
  int i;
  for(i = 0; i < 8; i++) a[i] = (uint8_t)(counter >> (56 - 8 * i));
  memcpy(a + 8, pKey, nKey);
  memset(a + 8 + nKey, 'p', nPad);
  return 8 + nKey + nPad;
}

/* 1 and *pCounter if pVal is a value made for pKey, else 0. */
static int value_parse(const void *pKey, size_t nKey, const uint8_t *pVal, size_t nVal,
                       uint64_t *pCounter){
  size_t i;
  uint64_t c = 0;
  if( nVal < 8 + nKey || memcmp(pVal + 8, pKey, nKey) != 0 ) return 0;
  for(i = 8 + nKey; i < nVal; i++) if( pVal[i] != 'p' ) return 0;
  for(i = 0; i < 8; i++) c = (c << 8) | pVal[i];
  *pCounter = c;
  return 1;
}

/* Index of a writer key in a per-reader table, -1 for other keys. */
static int writer_key_index(const uint8_t *pKey, size_t nKey){
  int iWriter, k;
  char z[32];
  if( nKey >= sizeof(z) || nKey < 2 || pKey[0] != 'w' ) return -1;
  memcpy(z, pKey, nKey);
  z[nKey] = 0;
  if( sscanf(z, "w%d-%d", &iWriter, &k) != 2 ) return -1;
  if( iWriter < 0 || iWriter >= CONC_WRITERS || k < 0 || k >= CONC_WRITER_KEYS ) return -1;
  return iWriter * CONC_WRITER_KEYS + k;
}

/* ------------------------------------------------------------------ */
/* Writers                                                             */
/* ------------------------------------------------------------------ */

typedef struct conc_writer {
  conc *pConc;                 /* shared state                            */
  pthread_t tid;
  int iWriter;                 /* owns keys w<iWriter>-*                   */
  int nOp;                     /* operations per run                      */
  int bVerify;                 /* get after every write, sweeps           */
  uint64_t iCounter;           /* last counter used; grows across runs    */
  model m;                     /* its keys as it last wrote them          */
} conc_writer;

/* A get of pKey (through pRead, may be NULL) returns e's value, or
** nothing when e is NULL. */
static int check_get(conc *p, const lsm_read *pRead, const void *pKey, size_t nKey,
                     const model_entry *e){
  void *pVal = NULL;
  size_t nVal = 0;
  int rc = lsm_get(p->pDb, pRead, pKey, nKey, &pVal, &nVal);
  int bOk = e ? (rc == LSM_OK && nVal == e->nVal && memcmp(pVal, e->pVal, nVal) == 0)
              : rc == LSM_NOTFOUND;
  lsm_free(pVal);
  CONC_CHECK(p, bOk, "get %.*s%s: rc=%d, %s expected (%s)", (int)nKey, (const char*)pKey,
             pRead && pRead->pSnapshot ? " in a snapshot" : "", rc,
             e ? "a value" : "nothing", lsm_errmsg(p->pDb));
  return 1;
}

/* Every key of the writer's range reads as its model says. */
static int writer_sweep(conc_writer *w){
  char zKey[32];
  int k;
  for(k = 0; k < CONC_WRITER_KEYS; k++){
    size_t nKey = writer_key(zKey, w->iWriter, k);
    if( !check_get(w->pConc, NULL, zKey, nKey, model_get(&w->m, zKey, nKey)) ) return 0;
  }
  return 1;
}

/* Puts, deletes and batches over its own keys, checking its own writes. */
static int writer_run(conc_writer *w){
  conc *p = w->pConc;
  test_rng rng;
  lsm_batch *pBatch = NULL;
  uint8_t aVal[CONC_MAX_VALUE];
  char zKey[32];
  int i, rc;
  rng_init(&rng, p->seed * 131 + (uint64_t)w->iWriter * 7 + w->iCounter);
  rc = lsm_batch_new(p->pDb, &pBatch);
  CONC_CHECK(p, rc == LSM_OK, "lsm_batch_new rc=%d", rc);
  for(i = 0; i < w->nOp && !conc_stopped(p); i++){
    uint64_t r = rng_below(&rng, 100);
    int k = (int)rng_below(&rng, CONC_WRITER_KEYS);
    size_t nKey = writer_key(zKey, w->iWriter, k), nVal;
    w->iCounter++;
    if( r < 55 ){
      nVal = value_make(aVal, w->iCounter, zKey, nKey, (size_t)rng_below(&rng, 41));
      rc = lsm_put(p->pDb, zKey, nKey, aVal, nVal);
      if( rc != LSM_OK ) break;
      model_put(&w->m, zKey, nKey, aVal, nVal);
      if( w->bVerify && !check_get(p, NULL, zKey, nKey, model_get(&w->m, zKey, nKey)) ) break;
    }else if( r < 70 ){
      rc = lsm_delete(p->pDb, zKey, nKey);
      if( rc != LSM_OK ) break;
      model_delete(&w->m, zKey, nKey);
      if( w->bVerify && !check_get(p, NULL, zKey, nKey, NULL) ) break;
    }else{
      /* A batch of 2..8 operations; the same key may come twice. */
      int nBatchOp = 2 + (int)rng_below(&rng, 7), j;
      int aKey[8], aDel[8];
      size_t aPad[8];
      lsm_batch_clear(pBatch);
      for(j = 0; rc == LSM_OK && j < nBatchOp; j++){
        aKey[j] = j == 0 ? k : (int)rng_below(&rng, CONC_WRITER_KEYS);
        aDel[j] = rng_below(&rng, 4) == 0;
        aPad[j] = (size_t)rng_below(&rng, 41);
        nKey = writer_key(zKey, w->iWriter, aKey[j]);
        if( aDel[j] ){
          rc = lsm_batch_delete(pBatch, zKey, nKey);
        }else{
          nVal = value_make(aVal, w->iCounter, zKey, nKey, aPad[j]);
          rc = lsm_batch_put(pBatch, zKey, nKey, aVal, nVal);
        }
      }
      if( rc == LSM_OK ) rc = lsm_write(p->pDb, pBatch);
      if( rc != LSM_OK ) break;
      for(j = 0; j < nBatchOp; j++){
        nKey = writer_key(zKey, w->iWriter, aKey[j]);
        if( aDel[j] ){
          model_delete(&w->m, zKey, nKey);
        }else{
          nVal = value_make(aVal, w->iCounter, zKey, nKey, aPad[j]);
          model_put(&w->m, zKey, nKey, aVal, nVal);
        }
      }
      for(j = 0; w->bVerify && j < nBatchOp; j++){
        nKey = writer_key(zKey, w->iWriter, aKey[j]);
        if( !check_get(p, NULL, zKey, nKey, model_get(&w->m, zKey, nKey)) ) break;
      }
    }
    if( w->bVerify && i % 500 == 499 && !writer_sweep(w) ) break;
  }
  lsm_batch_free(pBatch);
  CONC_CHECK(p, rc == LSM_OK, "writer %d: write rc=%d %s", w->iWriter, rc, lsm_errmsg(p->pDb));
  if( w->bVerify && !conc_stopped(p) ) return writer_sweep(w);
  return 1;
}

static void *writer_main(void *pArg){
  conc_writer *w = pArg;
  writer_run(w);
  atomic_fetch_sub(&w->pConc->nWriting, 1);
  return NULL;
}

/* The group writer: one batch sets (or deletes) all CONC_GROUP keys. */
typedef struct conc_group {
  conc *pConc;
  pthread_t tid;
  int nRound;                  /* batches to write                        */
  uint64_t iLast;              /* counter of the last put round, 0: none  */
  int bDeleted;                /* the last round deleted the group        */
} conc_group;

static int group_run(conc_group *g){
  conc *p = g->pConc;
  test_rng rng;
  lsm_batch *pBatch = NULL;
  uint8_t aVal[CONC_MAX_VALUE];
  char zKey[32];
  int iRound, i, rc;
  rng_init(&rng, p->seed * 977 + 5);
  g->bDeleted = 1;
  rc = lsm_batch_new(p->pDb, &pBatch);
  CONC_CHECK(p, rc == LSM_OK, "lsm_batch_new rc=%d", rc);
  for(iRound = 1; rc == LSM_OK && iRound <= g->nRound && !conc_stopped(p); iRound++){
    int bDelete = rng_below(&rng, 8) == 0;
    lsm_batch_clear(pBatch);
    for(i = 0; rc == LSM_OK && i < CONC_GROUP; i++){
      size_t nKey = group_key(zKey, i);
      if( bDelete ){
        rc = lsm_batch_delete(pBatch, zKey, nKey);
      }else{
        size_t nVal = value_make(aVal, (uint64_t)iRound, zKey, nKey, (size_t)rng_below(&rng, 41));
        rc = lsm_batch_put(pBatch, zKey, nKey, aVal, nVal);
      }
    }
    if( rc == LSM_OK ) rc = lsm_write(p->pDb, pBatch);
    if( rc == LSM_OK ){
      g->bDeleted = bDelete;
      if( !bDelete ) g->iLast = (uint64_t)iRound;
    }
  }
  lsm_batch_free(pBatch);
  CONC_CHECK(p, rc == LSM_OK, "group write rc=%d %s", rc, lsm_errmsg(p->pDb));
  return 1;
}

static void *group_main(void *pArg){
  conc_group *g = pArg;
  group_run(g);
  atomic_fetch_sub(&g->pConc->nWriting, 1);
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Readers                                                             */
/* ------------------------------------------------------------------ */

/*
** Scan what pRead sees, forward or backward, within [zLo, zHi) (NULL:
** unbounded): keys strictly ordered, values well formed, the group all
** there with one counter or absent (partly visible under bounds).  The
** entries go to *pOut (sorted) when it is not NULL.  0 after a failure.
*/
static int conc_scan(conc *p, const lsm_read *pRead, int bReverse,
                     const char *zLo, const char *zHi, model *pOut){
  lsm_cursor *pCsr = NULL;
  uint8_t aPrev[64];
  size_t nPrev = 0, nSeen = 0;
  uint64_t groupCounter = 0;
  int nGroup = 0, bPrev = 0, rc;
  int bOk = 1;

  rc = lsm_cursor_open(p->pDb, pRead, &pCsr);
  CONC_CHECK(p, rc == LSM_OK, "cursor open rc=%d", rc);
  if( zLo || zHi ){
    rc = lsm_cursor_bounds(pCsr, zLo, zLo ? strlen(zLo) : 0, 0, zHi, zHi ? strlen(zHi) : 0, 1);
  }
  if( rc == LSM_OK ) rc = bReverse ? lsm_cursor_last(pCsr) : lsm_cursor_first(pCsr);
  while( bOk && rc == LSM_OK && lsm_cursor_valid(pCsr) ){
    const void *pKey, *pVal;
    size_t nKey, nVal;
    uint64_t c;
    lsm_cursor_key(pCsr, &pKey, &nKey);
    lsm_cursor_value(pCsr, &pVal, &nVal);
    nSeen++;
    if( nKey > sizeof(aPrev) ){
      conc_fail(p, "scan: key of %zu bytes: no key here is that long", nKey);
      bOk = 0;
    }else if( bPrev && (bReverse ? key_cmp(pKey, nKey, aPrev, nPrev) >= 0
                                 : key_cmp(pKey, nKey, aPrev, nPrev) <= 0) ){
      conc_fail(p, "scan (%s): %.*s after %.*s", bReverse ? "backward" : "forward",
                (int)nKey, (const char*)pKey, (int)nPrev, (const char*)aPrev);
      bOk = 0;
    }else if( !value_parse(pKey, nKey, pVal, nVal, &c) ){
      conc_fail(p, "scan: the value of %.*s is not one written for it",
                (int)nKey, (const char*)pKey);
      bOk = 0;
    }else if( (zLo && key_cmp(pKey, nKey, zLo, strlen(zLo)) < 0)
           || (zHi && key_cmp(pKey, nKey, zHi, strlen(zHi)) >= 0) ){
      conc_fail(p, "scan: %.*s is outside the bounds", (int)nKey, (const char*)pKey);
      bOk = 0;
    }else{
      if( nKey > 2 && memcmp(pKey, "g-", 2) == 0 ){
        if( nGroup > 0 && c != groupCounter ){
          conc_fail(p, "scan: group key %.*s has counter %llu, another has %llu",
                    (int)nKey, (const char*)pKey, (unsigned long long)c,
                    (unsigned long long)groupCounter);
          bOk = 0;
        }
        groupCounter = c;
        nGroup++;
      }
      memcpy(aPrev, pKey, nKey);
      nPrev = nKey;
      bPrev = 1;
      if( pOut ) model_put(pOut, pKey, nKey, pVal, nVal);
      rc = bReverse ? lsm_cursor_prev(pCsr) : lsm_cursor_next(pCsr);
    }
  }
  lsm_cursor_close(pCsr);
  if( !bOk ) return 0;
  CONC_CHECK(p, rc == LSM_OK, "scan rc=%d %s", rc, lsm_errmsg(p->pDb));
  CONC_CHECK(p, (zLo || zHi) || nGroup == 0 || nGroup == CONC_GROUP,
             "scan saw %d of the %d group keys (a batch seen in part)", nGroup, CONC_GROUP);
  CONC_CHECK(p, pOut == NULL || pOut->n == nSeen, "scan: %zu entries, %zu distinct keys",
             nSeen, pOut ? pOut->n : 0);
  return 1;
}

/* a and b hold the same entries. */
static int models_equal(conc *p, const model *a, const model *b, const char *zWhat){
  size_t i;
  CONC_CHECK(p, a->n == b->n, "%s: %zu entries, then %zu", zWhat, a->n, b->n);
  for(i = 0; i < a->n; i++){
    const model_entry *x = &a->a[i], *y = &b->a[i];
    CONC_CHECK(p, x->nKey == y->nKey && memcmp(x->pKey, y->pKey, x->nKey) == 0
               && x->nVal == y->nVal && memcmp(x->pVal, y->pVal, x->nVal) == 0,
               "%s: entry %zu differs (%.*s / %.*s)", zWhat, i,
               (int)x->nKey, (const char*)x->pKey, (int)y->nKey, (const char*)y->pKey);
  }
  return 1;
}

typedef struct conc_reader {
  conc *pConc;
  pthread_t tid;
  int iReader;
  uint64_t aLastSeen[CONC_WRITERS * CONC_WRITER_KEYS];  /* newest counter seen per key */
  uint64_t iLastGroup;         /* newest group counter seen               */
} conc_reader;

/* A later snapshot never shows an older version than an earlier one. */
static int reader_check_no_time_travel(conc_reader *r, const model *pSnap){
  conc *p = r->pConc;
  size_t i;
  for(i = 0; i < pSnap->n; i++){
    const model_entry *e = &pSnap->a[i];
    int idx = writer_key_index(e->pKey, e->nKey);
    uint64_t c = 0;
    value_parse(e->pKey, e->nKey, e->pVal, e->nVal, &c);
    if( idx >= 0 ){
      CONC_CHECK(p, c >= r->aLastSeen[idx], "%.*s went back from version %llu to %llu",
                 (int)e->nKey, (const char*)e->pKey,
                 (unsigned long long)r->aLastSeen[idx], (unsigned long long)c);
      r->aLastSeen[idx] = c;
    }else if( e->nKey > 2 && memcmp(e->pKey, "g-", 2) == 0 ){
      CONC_CHECK(p, c >= r->iLastGroup, "the group went back from round %llu to %llu",
                 (unsigned long long)r->iLastGroup, (unsigned long long)c);
      r->iLastGroup = c;
    }
  }
  return 1;
}

/* Seeks (both kinds) through the snapshot land where the snapshot's
** content says. */
static int reader_check_seeks(conc *p, const lsm_read *pRead, const model *pSnap, test_rng *pRng){
  lsm_cursor *pCsr = NULL;
  char zKey[32];
  int i, rc = lsm_cursor_open(p->pDb, pRead, &pCsr);
  CONC_CHECK(p, rc == LSM_OK, "cursor open rc=%d", rc);
  for(i = 0; rc == LSM_OK && i < 8; i++){
    size_t nKey = writer_key(zKey, (int)rng_below(pRng, CONC_WRITERS),
                             (int)rng_below(pRng, CONC_WRITER_KEYS));
    size_t iGe = model_lower_bound(pSnap, zKey, nKey);
    int bExact = iGe < pSnap->n && key_cmp(pSnap->a[iGe].pKey, pSnap->a[iGe].nKey, zKey, nKey) == 0;
    const model_entry *pWant;
    const void *pGot = NULL;
    size_t nGot = 0;
    int eSeek = (int)rng_below(pRng, 2);
    if( eSeek == LSM_SEEK_GE ){
      pWant = iGe < pSnap->n ? &pSnap->a[iGe] : NULL;
    }else{
      /* Last <= key: the key itself, else the entry before iGe. */
      pWant = bExact ? &pSnap->a[iGe] : (iGe > 0 ? &pSnap->a[iGe - 1] : NULL);
    }
    rc = lsm_cursor_seek(pCsr, zKey, nKey, eSeek);
    if( rc != LSM_OK ) break;
    if( lsm_cursor_valid(pCsr) ) lsm_cursor_key(pCsr, &pGot, &nGot);
    if( pWant == NULL ? pGot != NULL
        : (pGot == NULL || key_cmp(pGot, nGot, pWant->pKey, pWant->nKey) != 0) ){
      conc_fail(p, "seek %s %.*s in a snapshot: got %.*s, want %.*s",
                eSeek == LSM_SEEK_GE ? ">=" : "<=", (int)nKey, zKey,
                (int)nGot, pGot ? (const char*)pGot : "", pWant ? (int)pWant->nKey : 0,
                pWant ? (const char*)pWant->pKey : "");
      lsm_cursor_close(pCsr);
      return 0;
    }
  }
  lsm_cursor_close(pCsr);
  CONC_CHECK(p, rc == LSM_OK, "seek rc=%d %s", rc, lsm_errmsg(p->pDb));
  return 1;
}

/* One reader round: take a snapshot and cross-check everything it shows,
** with the store changing underneath. */
static int reader_round(conc_reader *r, test_rng *pRng){
  conc *p = r->pConc;
  lsm_snapshot *pSnap = NULL;
  lsm_read rd = {0};
  model a = {0}, b = {0}, c = {0};
  char zLo[32], zHi[32];
  size_t i, iLo, iHi;
  int bOk = 0, rc, k;

  rc = lsm_snapshot_acquire(p->pDb, &pSnap);
  CONC_CHECK(p, rc == LSM_OK, "snapshot rc=%d", rc);
  rd.pSnapshot = pSnap;
  if( !conc_scan(p, &rd, 0, NULL, NULL, &a) ) goto round_done;
  if( !reader_check_no_time_travel(r, &a) ) goto round_done;

  /* Let the store move on: a scan of the latest state, backward. */
  if( !conc_scan(p, NULL, 1, NULL, NULL, NULL) ) goto round_done;
  sched_yield();

  /* The snapshot still shows exactly the same, backward too. */
  if( !conc_scan(p, &rd, 1, NULL, NULL, &b) ) goto round_done;
  if( !models_equal(p, &a, &b, "a snapshot scanned forward, then backward") ) goto round_done;

  /* A bounded scan of it is the matching slice. */
  writer_key(zLo, (int)rng_below(pRng, CONC_WRITERS), (int)rng_below(pRng, CONC_WRITER_KEYS));
  writer_key(zHi, (int)rng_below(pRng, CONC_WRITERS), (int)rng_below(pRng, CONC_WRITER_KEYS));
  if( strcmp(zLo, zHi) > 0 ){ char t[32]; strcpy(t, zLo); strcpy(zLo, zHi); strcpy(zHi, t); }
  if( !conc_scan(p, &rd, (int)rng_below(pRng, 2), zLo, zHi, &c) ) goto round_done;
  iLo = model_lower_bound(&a, zLo, strlen(zLo));
  iHi = model_lower_bound(&a, zHi, strlen(zHi));
  if( c.n != iHi - iLo ){
    conc_fail(p, "bounded scan [%s, %s) of a snapshot: %zu entries, the full scan has %zu",
              zLo, zHi, c.n, iHi - iLo);
    goto round_done;
  }
  for(i = 0; i < c.n; i++){
    const model_entry *x = &a.a[iLo + i], *y = &c.a[i];
    if( x->nKey != y->nKey || memcmp(x->pKey, y->pKey, x->nKey) != 0
     || x->nVal != y->nVal || memcmp(x->pVal, y->pVal, x->nVal) != 0 ){
      conc_fail(p, "bounded scan [%s, %s) of a snapshot differs at %.*s", zLo, zHi,
                (int)y->nKey, (const char*)y->pKey);
      goto round_done;
    }
  }

  /* Gets and seeks through the snapshot agree with its scan. */
  for(k = 0; k < 16; k++){
    char zKey[32];
    size_t nKey = writer_key(zKey, (int)rng_below(pRng, CONC_WRITERS),
                             (int)rng_below(pRng, CONC_WRITER_KEYS));
    if( !check_get(p, &rd, zKey, nKey, model_get(&a, zKey, nKey)) ) goto round_done;
  }
  for(k = 0; k < CONC_GROUP; k += 3){
    char zKey[32];
    size_t nKey = group_key(zKey, k);
    if( !check_get(p, &rd, zKey, nKey, model_get(&a, zKey, nKey)) ) goto round_done;
  }
  if( !reader_check_seeks(p, &rd, &a, pRng) ) goto round_done;
  bOk = 1;

round_done:
  lsm_snapshot_release(pSnap);
  model_clear(&a);
  model_clear(&b);
  model_clear(&c);
  return bOk;
}

static void *reader_main(void *pArg){
  conc_reader *r = pArg;
  conc *p = r->pConc;
  test_rng rng;
  rng_init(&rng, p->seed * 31 + 1000 + (uint64_t)r->iReader);
  /* At least one round: on a loaded machine the writers may all finish
  ** before a reader first runs (seen: "reader rounds 0" under make test
  ** beside other jobs), and the rounds are what the test checks. */
  do{
    if( !reader_round(r, &rng) ) break;
    atomic_fetch_add(&p->nSnapshotRounds, 1);
  }while( !conc_stopped(p) && atomic_load(&p->nWriting) > 0 );
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Maintenance                                                         */
/* ------------------------------------------------------------------ */

static int maintenance_step(conc *p, test_rng *pRng){
  int rc = LSM_OK;
  switch( rng_below(pRng, 10) ){
    case 0: case 1: case 2:
      rc = lsm_flush(p->pDb);
      CONC_CHECK(p, rc == LSM_OK, "lsm_flush rc=%d %s", rc, lsm_errmsg(p->pDb));
      break;
    case 3: {
      lsm_compact_result res;
      rc = lsm_compact(p->pDb, &res);
      CONC_CHECK(p, rc == LSM_OK, "lsm_compact rc=%d %s", rc, lsm_errmsg(p->pDb));
      break;
    }
    case 4: case 5: {
      lsm_stats st;
      rc = lsm_stats_get(p->pDb, &st);
      CONC_CHECK(p, rc == LSM_OK, "lsm_stats_get rc=%d", rc);
      break;
    }
    case 6: {
      lsm_file_info *aFile = NULL;
      int nFile = 0, i;
      rc = lsm_files(p->pDb, &aFile, &nFile);
      CONC_CHECK(p, rc == LSM_OK, "lsm_files rc=%d", rc);
      for(i = 1; i < nFile; i++){
        if( aFile[i].iLevel < aFile[i - 1].iLevel ) rc = LSM_CORRUPT;
      }
      lsm_free(aFile);
      CONC_CHECK(p, rc == LSM_OK, "lsm_files: levels out of order");
      break;
    }
    case 7: {
      char *zReport = NULL;
      rc = lsm_check(p->pDb, &zReport);
      if( rc != LSM_OK ){
        conc_fail(p, "lsm_check rc=%d: %s", rc, zReport ? zReport : "(no report)");
        lsm_free(zReport);
        return 0;
      }
      break;
    }
    default:
      usleep(2000);
      break;
  }
  return 1;
}

typedef struct conc_maint {
  conc *pConc;
  pthread_t tid;
} conc_maint;

static void *maintenance_main(void *pArg){
  conc_maint *pM = pArg;
  conc *p = pM->pConc;
  test_rng rng;
  rng_init(&rng, p->seed * 17 + 3);
  while( !conc_stopped(p) && atomic_load(&p->nWriting) > 0 ){
    if( !maintenance_step(p, &rng) ) break;
    atomic_fetch_add(&p->nMaintenance, 1);
    usleep(1000);
  }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* The workloads                                                       */
/* ------------------------------------------------------------------ */

static lsm_options tiny_options(int eCompaction, int bBackground){
  lsm_options opt;
  lsm_options_default(&opt);
  opt.memtable_bytes = 4096;      /* the smallest allowed: switch all the time */
  opt.block_bytes = 256;
  opt.sync = LSM_SYNC_OFF;
  opt.background = bBackground;
  opt.compaction = eCompaction;
  return opt;
}

/* Every group key holds round g->iLast, or none exists (after a delete
** round); the group's entries go to *pOut. */
static void check_group_final(lsm_db *pDb, const conc_group *g, model *pOut, uint64_t seed){
  char zKey[32];
  int i;
  for(i = 0; i < CONC_GROUP; i++){
    size_t nKey = group_key(zKey, i);
    void *pVal = NULL;
    size_t nVal = 0;
    uint64_t c = 0;
    int rc = lsm_get(pDb, NULL, zKey, nKey, &pVal, &nVal);
    if( g->bDeleted ){
      SEED_ASSERT(rc == LSM_NOTFOUND, "group key %s: rc=%d, deleted by the last round",
                  (unsigned long long)seed, zKey, rc);
    }else{
      SEED_ASSERT(rc == LSM_OK && value_parse(zKey, nKey, pVal, nVal, &c) && c == g->iLast,
                  "group key %s: rc=%d counter %llu, want %llu", (unsigned long long)seed,
                  zKey, rc, (unsigned long long)c, (unsigned long long)g->iLast);
      /* The padding is random: the value checked above is the expected one. */
      model_put(pOut, zKey, nKey, pVal, nVal);
    }
    lsm_free(pVal);
  }
}

/* The store holds exactly the writers' models (and the group, if g). */
static void check_store(lsm_db *pDb, conc_writer *aW, int nW, const conc_group *g, uint64_t seed){
  model m = {0};
  int i;
  size_t j;
  for(i = 0; i < nW; i++){
    for(j = 0; j < aW[i].m.n; j++){
      const model_entry *e = &aW[i].m.a[j];
      model_put(&m, e->pKey, e->nKey, e->pVal, e->nVal);
    }
  }
  if( g ) check_group_final(pDb, g, &m, seed);
  test_store_equals_model(pDb, NULL, &m, seed);
  model_clear(&m);
}

/* Where a store lives.  A directory in lsm_env_memory() runs the same
** code as one on disk (WAL, manifest, file numbers, leftovers) without
** paying an fsync per flush, so it can flush far more often. */
#define CONC_DISK     0     /* a temporary directory, the POSIX env       */
#define CONC_MEMENV   1     /* a directory in an in-memory env             */
#define CONC_MEMORY   2     /* ":memory:": no WAL, no manifest             */

typedef struct conc_place {
  char *zDir;                  /* directory to open (NULL: ":memory:")     */
  lsm_env *pMemEnv;            /* CONC_MEMENV: the env, freed at the end    */
} conc_place;

static void place_init(conc_place *pPlace, int ePlace, lsm_options *pOpt){
  memset(pPlace, 0, sizeof(*pPlace));
  if( ePlace == CONC_DISK ){
    pPlace->zDir = test_tmpdir("conc");
  }else if( ePlace == CONC_MEMENV ){
    pPlace->pMemEnv = lsm_env_memory();
    pPlace->zDir = strdup("/conc");
    pOpt->env = pPlace->pMemEnv;
  }
}

static void place_clear(conc_place *pPlace){
  if( pPlace->pMemEnv ) lsm_env_memory_free(pPlace->pMemEnv);
  else if( pPlace->zDir ) test_rmtree(pPlace->zDir);
  free(pPlace->zDir);
}

/*
** Writers, the group writer, readers and the maintenance thread on one
** store; then the final state, lsm_check, and (unless ":memory:") a
** reopen.  nOp: operations per writer.
*/
static void concurrent_workload(int eCompaction, int ePlace, int bBackground, int nOp){
  uint64_t seed = test_seed() + (uint64_t)(eCompaction * 2 + ePlace * 4 + bBackground);
  lsm_options opt = tiny_options(eCompaction, bBackground);
  conc_place place;
  lsm_db *pDb = NULL;
  conc *p = calloc(1, sizeof(conc));
  conc_writer aW[CONC_WRITERS];
  conc_reader *aR = calloc(CONC_READERS, sizeof(conc_reader));
  conc_group g;
  conc_maint mt;
  lsm_stats st;
  char *zReport = NULL;
  int i, rc;

  place_init(&place, ePlace, &opt);
  ck_assert_int_eq(lsm_open(place.zDir ? place.zDir : ":memory:", &opt, &pDb), LSM_OK);
  conc_init(p, pDb, seed);
  atomic_store(&p->nWriting, CONC_WRITERS + 1);
  memset(aW, 0, sizeof(aW));
  memset(&g, 0, sizeof(g));
  /* Readers first, so that they are running while the writers write. */
  for(i = 0; i < CONC_READERS; i++){
    aR[i].pConc = p;
    aR[i].iReader = i;
    pthread_create(&aR[i].tid, NULL, reader_main, &aR[i]);
  }
  for(i = 0; i < CONC_WRITERS; i++){
    aW[i].pConc = p;
    aW[i].iWriter = i;
    aW[i].nOp = nOp;
    aW[i].bVerify = 1;
    pthread_create(&aW[i].tid, NULL, writer_main, &aW[i]);
  }
  g.pConc = p;
  g.nRound = nOp / 2;
  pthread_create(&g.tid, NULL, group_main, &g);
  mt.pConc = p;
  pthread_create(&mt.tid, NULL, maintenance_main, &mt);

  for(i = 0; i < CONC_WRITERS; i++) pthread_join(aW[i].tid, NULL);
  pthread_join(g.tid, NULL);
  for(i = 0; i < CONC_READERS; i++) pthread_join(aR[i].tid, NULL);
  pthread_join(mt.tid, NULL);
  conc_report(p);

  /* The work really was concurrent: flushes, compactions, reader rounds. */
  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  SEED_ASSERT(st.nFlushes > 0 && st.nCompactions > 0 && atomic_load(&p->nSnapshotRounds) > 0,
              "flushes %llu, compactions %llu, reader rounds %llu", (unsigned long long)seed,
              (unsigned long long)st.nFlushes, (unsigned long long)st.nCompactions,
              (unsigned long long)atomic_load(&p->nSnapshotRounds));

  check_store(pDb, aW, CONC_WRITERS, &g, seed);
  rc = lsm_check(pDb, &zReport);
  SEED_ASSERT(rc == LSM_OK, "lsm_check: %s", (unsigned long long)seed, zReport ? zReport : "");
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);

  if( place.zDir ){
    ck_assert_int_eq(lsm_open(place.zDir, &opt, &pDb), LSM_OK);
    check_store(pDb, aW, CONC_WRITERS, &g, seed);
    ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  }
  for(i = 0; i < CONC_WRITERS; i++) model_clear(&aW[i].m);
  pthread_mutex_destroy(&p->mutex);
  free(p);
  free(aR);
  place_clear(&place);
}

START_TEST(writers_and_readers_keep_every_invariant_under_leveled_compaction){
  concurrent_workload(LSM_COMPACTION_LEVELED, CONC_MEMENV, 1, test_scale(3000));
}
END_TEST

START_TEST(writers_and_readers_keep_every_invariant_under_tiered_compaction){
  concurrent_workload(LSM_COMPACTION_TIERED, CONC_MEMENV, 1, test_scale(3000));
}
END_TEST

START_TEST(writers_and_readers_keep_every_invariant_on_disk){
  concurrent_workload(LSM_COMPACTION_LEVELED, CONC_DISK, 1, test_scale(600));
}
END_TEST

START_TEST(writers_and_readers_keep_every_invariant_in_a_memory_store){
  concurrent_workload(LSM_COMPACTION_TIERED, CONC_MEMORY, 1, test_scale(3000));
}
END_TEST

START_TEST(writers_and_readers_keep_every_invariant_when_the_leader_does_the_work){
  concurrent_workload(LSM_COMPACTION_LEVELED, CONC_MEMENV, 0, test_scale(2000));
}
END_TEST

/*
** Close right after the writers stop, while the worker is still flushing
** and compacting the backlog: close waits for it, and the reopened store
** holds every write, round after round.
*/
static void close_while_worker_busy(int eCompaction, int ePlace){
  uint64_t seed = test_seed() + 100 + (uint64_t)eCompaction;
  lsm_options opt = tiny_options(eCompaction, 1);
  conc_place place;
  conc *p = calloc(1, sizeof(conc));
  conc_writer aW[CONC_WRITERS];
  int iRound, i, nRound = 4, nBusy = 0;

  place_init(&place, ePlace, &opt);
  memset(aW, 0, sizeof(aW));
  for(iRound = 0; iRound < nRound; iRound++){
    lsm_db *pDb = NULL;
    lsm_stats st;
    ck_assert_int_eq(lsm_open(place.zDir, &opt, &pDb), LSM_OK);
    if( iRound > 0 ) check_store(pDb, aW, CONC_WRITERS, NULL, seed);
    conc_init(p, pDb, seed + (uint64_t)iRound);
    atomic_store(&p->nWriting, CONC_WRITERS);
    for(i = 0; i < CONC_WRITERS; i++){
      aW[i].pConc = p;
      aW[i].iWriter = i;
      aW[i].nOp = test_scale(ePlace == CONC_DISK ? 600 : 1500);
      aW[i].bVerify = 0;          /* as fast as possible: a backlog for the worker */
      pthread_create(&aW[i].tid, NULL, writer_main, &aW[i]);
    }
    for(i = 0; i < CONC_WRITERS; i++) pthread_join(aW[i].tid, NULL);
    conc_report(p);
    /* Make sure the worker has a backlog at close: write on (a few
    ** operations at a time) until an immutable memtable waits for it.
    ** The active one never passes its limit by more than one entry, so
    ** more than that in all memtables means an immutable one. */
    for(i = 0; i < 200; i++){
      ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
      if( st.nMemtableBytes > opt.memtable_bytes + CONC_MAX_VALUE + 64 ) break;
      aW[0].nOp = 5;
      writer_run(&aW[0]);
    }
    conc_report(p);
    pthread_mutex_destroy(&p->mutex);
    if( st.nMemtableBytes > opt.memtable_bytes + CONC_MAX_VALUE + 64 ) nBusy++;
    ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  }
  {
    lsm_db *pDb = NULL;
    ck_assert_int_eq(lsm_open(place.zDir, &opt, &pDb), LSM_OK);
    check_store(pDb, aW, CONC_WRITERS, NULL, seed);
    ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  }
  SEED_ASSERT(nBusy > 0, "no close found a flush pending", (unsigned long long)seed);
  for(i = 0; i < CONC_WRITERS; i++) model_clear(&aW[i].m);
  free(p);
  place_clear(&place);
}

START_TEST(close_while_the_worker_is_busy_loses_nothing_under_leveled_compaction){
  close_while_worker_busy(LSM_COMPACTION_LEVELED, CONC_MEMENV);
}
END_TEST

START_TEST(close_while_the_worker_is_busy_loses_nothing_under_tiered_compaction){
  close_while_worker_busy(LSM_COMPACTION_TIERED, CONC_MEMENV);
}
END_TEST

START_TEST(close_while_the_worker_is_busy_loses_nothing_on_disk){
  close_while_worker_busy(LSM_COMPACTION_TIERED, CONC_DISK);
}
END_TEST

static Suite *concurrency_suite(void){
  Suite *s = suite_create("concurrency");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, writers_and_readers_keep_every_invariant_under_leveled_compaction);
  tcase_add_test(tc, writers_and_readers_keep_every_invariant_under_tiered_compaction);
  tcase_add_test(tc, writers_and_readers_keep_every_invariant_on_disk);
  tcase_add_test(tc, writers_and_readers_keep_every_invariant_in_a_memory_store);
  tcase_add_test(tc, writers_and_readers_keep_every_invariant_when_the_leader_does_the_work);
  tcase_add_test(tc, close_while_the_worker_is_busy_loses_nothing_under_leveled_compaction);
  tcase_add_test(tc, close_while_the_worker_is_busy_loses_nothing_under_tiered_compaction);
  tcase_add_test(tc, close_while_the_worker_is_busy_loses_nothing_on_disk);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(concurrency_suite)
