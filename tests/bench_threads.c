/*
** bench_threads.c — writers on several threads at once, where group
** commit counts: BENCH_THREADS threads put disjoint shares of the keys
** into one store, every put its own commit, at two durabilities:
**
**   workload        puts                    durability (adapter's xOpenSync)
**   fill4t-normal   N, random order         BENCH_SYNC_NORMAL: write(2) per put
**                                           (LevelDB: its default, sync=false)
**   fill4t-full     BENCH_SYNC_N (N/20),    BENCH_SYNC_FULL: fdatasync before a
**                   random order            put returns (LevelDB: sync=true)
**
** Thread t puts the j-th key of the seeded order for every j = t mod
** BENCH_THREADS.  A store that commits each writer alone pays one
** write(2) or fdatasync per put; one that groups the writers waiting behind
** a commit into the next (LevelDB's writer queue, lsm's group commit) pays
** one per group.  ops/s is puts over the wall time from the first put to
** the last thread's end; write amp and space amp as bench_workload.c's
** (settled, untimed).  After each workload an untimed scan checks that the
** store holds exactly the keys put, in order, with their values.
*/
#include "bench.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BENCH_SEED_THREADS 7      /* seed offset, after bench_workload.c's */

typedef struct bench_writer {
  const bench_engine *pEng;      /* the adapter                        */
  bench_store *pStore;           /* the store shared by every writer   */
  const bench_perm *pPerm;       /* the key order                      */
  uint64_t nKeys;                /* keys put by all writers together   */
  int iThread;                   /* this writer's share: j = iThread mod BENCH_THREADS */
  int rc;                        /* 0, or the failing put's result     */
} bench_writer;

static void *bench_writer_main(void *pArg){
  bench_writer *p = pArg;
  char aKey[BENCH_KEY_BYTES], aVal[BENCH_VAL_BYTES];
  uint64_t j;
  for(j = (uint64_t)p->iThread; p->rc == 0 && j < p->nKeys; j += BENCH_THREADS){
    uint64_t i = bench_perm_at(p->pPerm, j);
    bench_key(aKey, i, 0);
    bench_value(aVal, i, 0);
    p->rc = p->pEng->xPut(p->pStore, aKey, sizeof(aKey), aVal, sizeof(aVal));
  }
  return 0;
}

/* Untimed: the store holds exactly the keys pPerm[0..nKeys) maps to. */
static int bench_threads_check(const bench_engine *pEng, bench_store *pStore,
                               const bench_perm *pPerm, uint64_t nKeys, uint64_t nAll){
  uint8_t *aPut = calloc((size_t)(nAll / 8 + 1), 1);
  bench_iter *pIter = 0;
  uint64_t j, n = 0, iPrev = UINT64_MAX;
  int rc = aPut ? 0 : 1;
  for(j = 0; rc == 0 && j < nKeys; j++){
    uint64_t i = bench_perm_at(pPerm, j);
    aPut[i >> 3] |= (uint8_t)(1u << (i & 7));
  }
  if( rc == 0 ) rc = pEng->xIterOpen(pStore, &pIter);
  if( rc == 0 ) rc = pEng->xIterFirst(pIter);
  while( rc == 0 && pEng->xIterValid(pIter) ){
    const char *pKey, *pVal;
    size_t nKey, nVal;
    char aWant[BENCH_VAL_BYTES];
    uint64_t i;
    pEng->xIterEntry(pIter, &pKey, &nKey, &pVal, &nVal);
    if( bench_key_parse(pKey, nKey, &i) || i >= nAll || !((aPut[i >> 3] >> (i & 7)) & 1)
     || (iPrev != UINT64_MAX && i <= iPrev) ){
      fprintf(stderr, "bench: %s threads: a key that was not put, or out of order\n",
              pEng->zName);
      rc = 1;
      break;
    }
    bench_value(aWant, i, 0);
    if( nVal != BENCH_VAL_BYTES || memcmp(pVal, aWant, BENCH_VAL_BYTES) ){
      fprintf(stderr, "bench: %s threads: wrong value of key index %llu\n", pEng->zName,
              (unsigned long long)i);
      rc = 1;
      break;
    }
    iPrev = i;
    n++;
    rc = pEng->xIterNext(pIter);
  }
  if( pIter ) pEng->xIterClose(pIter);
  if( rc == 0 && n != nKeys ){
    fprintf(stderr, "bench: %s threads: scan saw %llu keys, %llu were put\n", pEng->zName,
            (unsigned long long)n, (unsigned long long)nKeys);
    rc = 1;
  }
  free(aPut);
  return rc;
}

/* One workload: nKeys puts by BENCH_THREADS writers at eSync. */
static int bench_threads_one(const bench_engine *pEng, const bench_config *pCfg, int fdOut,
                             const char *zWorkload, int eSync, uint64_t nKeys){
  bench_writer aW[BENCH_THREADS];
  pthread_t aTid[BENCH_THREADS];
  bench_store *pStore = 0;
  bench_perm perm;
  bench_row row;
  char zDir[4200];
  uint64_t nWchar0;
  double t0, t1;
  int i, rc = 0, nStarted = 0;

  snprintf(zDir, sizeof(zDir), "%s/%s", pCfg->zDir, zWorkload);
  bench_rmtree(zDir);
  if( pEng->xOpenSync(zDir, eSync, &pStore) ){
    fprintf(stderr, "bench: %s: cannot open a store in %s\n", pEng->zName, zDir);
    return 1;
  }
  bench_perm_init(&perm, pCfg->nKeys, pCfg->iSeed * 16 + BENCH_SEED_THREADS);
  bench_peak_rss_reset();
  nWchar0 = bench_wchar();
  t0 = bench_now();
  for(i = 0; i < BENCH_THREADS; i++){
    aW[i].pEng = pEng;
    aW[i].pStore = pStore;
    aW[i].pPerm = &perm;
    aW[i].nKeys = nKeys;
    aW[i].iThread = i;
    aW[i].rc = 0;
    if( pthread_create(&aTid[i], 0, bench_writer_main, &aW[i]) != 0 ){ rc = 1; break; }
    nStarted++;
  }
  for(i = 0; i < nStarted; i++){
    pthread_join(aTid[i], 0);
    if( aW[i].rc ) rc = aW[i].rc;
  }
  t1 = bench_now();
  if( rc ) fprintf(stderr, "bench: %s %s: a put failed\n", pEng->zName, zWorkload);

  memset(&row, 0, sizeof(row));
  snprintf(row.zLevel, sizeof(row.zLevel), "%s", pEng->zLevel);
  snprintf(row.zEngine, sizeof(row.zEngine), "%s", pEng->zName);
  snprintf(row.zWorkload, sizeof(row.zWorkload), "%s", zWorkload);
  row.nOps = nKeys;
  row.rSecs = t1 - t0;
  row.rOwnWriteAmp = -1;
  row.rPeakRssMb = bench_peak_rss_mb();
  if( rc == 0 && pEng->xSettle(pStore) ) rc = 1;
  row.rSettleSecs = bench_now() - t1;
  row.rWriteAmp = (double)(bench_wchar() - nWchar0) / (double)(nKeys * BENCH_ENTRY_BYTES);
  row.rSpaceAmp = (double)bench_dir_bytes(zDir) / (double)(nKeys * BENCH_ENTRY_BYTES);
  if( rc == 0 ) rc = bench_threads_check(pEng, pStore, &perm, nKeys, pCfg->nKeys);
  if( rc == 0 && write(fdOut, &row, sizeof(row)) != (ssize_t)sizeof(row) ) rc = 1;
  pEng->xClose(pStore);
  bench_rmtree(zDir);
  return rc;
}

int bench_run_threads(const bench_engine *pEng, const bench_config *pCfg, int fdOut){
  int rc;
  if( !pEng->xOpenSync ) return 0;
  bench_value_pool_init(pCfg->iSeed);
  rc = bench_threads_one(pEng, pCfg, fdOut, "fill4t-normal", BENCH_SYNC_NORMAL, pCfg->nKeys);
  if( rc == 0 ){
    rc = bench_threads_one(pEng, pCfg, fdOut, "fill4t-full", BENCH_SYNC_FULL, pCfg->nSyncKeys);
  }
  return rc;
}
