/*
** bench_workload.c — the db_bench workloads, written once over bench_engine.
**
** Order and stores (as LevelDB's db_bench runs them by default):
**
**   store "fillseq":  fillseq                 then an untimed full scan check
**   store "random":   fillrandom, overwrite,
**                     readrandom, readmissing, readseq, seekrandom
**                       right after the writes (no flush, no waiting:
**                       compactions still run, as a user would read)
**                     then the store settles (the overwrite's debt)
**                     readrandom-settled ... seekrandom-settled
**                       the same four again, settled
**                     deleterandom
**                                             then an untimed full scan check
**   (an engine with bWritesOnly runs fillseq, fillrandom, overwrite and
**   deleterandom only)
**
**   workload      operations (N = keys)                       every answer checked
**   fillseq       put key(0..N-1) in order, generation 0      (by the scans)
**   fillrandom    put every key once, random order, gen 0     (by the scans)
**   overwrite     put every key once again, new random order, gen 1
**   readrandom    R gets of random live keys (with repeats)   found, value bytes
**   readmissing   R gets of random odd keys (never written)   not found
**   readseq       one iterator over the whole store           exactly the live keys,
**                                                             in order, value bytes
**   seekrandom    R times: new iterator, seek to a random     lands on that key, then
**                 live key, then nSeekNext nexts               the next keys in order
**   deleterandom  delete N/2 distinct keys, random order      (by the final scan)
**
** R is BENCH_READS (default N/10: the rate of random reads over a store of
** N keys does not depend on how many are timed, and it keeps `make bench`
** to a few minutes; BENCH_READS=N gives db_bench's default).
**
** What a row measures (one row per workload):
**   ops/s         operations / wall time of the operations only.
**   write amp     after a write workload the store settles, untimed
**                 (xSettle: flush the memtable, wait for background work to
**                 stop), then (wchar after - wchar before) / user bytes, user
**                 bytes being 116 per put and 16 per delete.  So background
**                 debt is charged to the workload that made it.  The
**                 overwrite settles only after the reads measured right
**                 after it (which write nothing themselves).
**   space amp     bytes of every file in the store's directory after the
**                 workload (settled if a write) / (live keys * 116).
**   peak RSS      VmHWM during the workload (reset at its start).
**
** SQL level: the adapter's xTxn groups BENCH_TXN_ROWS operations (reads
** too) into one transaction.
*/
#include "bench.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lsm.h"

/* The seed offsets of each random order, so each workload is independent. */
#define BENCH_SEED_FILLRANDOM   1
#define BENCH_SEED_OVERWRITE    2
#define BENCH_SEED_READRANDOM   3
#define BENCH_SEED_READMISSING  4
#define BENCH_SEED_SEEKRANDOM   5
#define BENCH_SEED_DELETERANDOM 6

typedef struct bench_ctx {
  const bench_engine *pEng;   /* the store under test                     */
  const bench_config *pCfg;   /* N, seed, scratch directory               */
  int fdOut;                  /* rows go here                             */
  bench_store *pStore;        /* the open store, or NULL                  */
  char zStoreDir[4096];       /* its directory                            */
  uint64_t nLive;             /* keys that should be visible              */
  uint32_t iGen;              /* the generation every live key has        */
  uint8_t *aDeleted;          /* bit i set: key(i) deleted; NULL if none  */
  int nInTxn;                 /* operations in the open SQL transaction   */
  /* The workload being measured. */
  const char *zWorkload;      /* its name                                 */
  double tStart;              /* bench_now() at its start                 */
  uint64_t nWchar0;           /* wchar at its start                       */
  uint64_t nOwnUser0;         /* engine's own counters at its start       */
  uint64_t nOwnWritten0;
  /* A write workload whose settling waits (bench_phase_defer). */
  int bPending;               /* 1: pendRow holds it                      */
  bench_row pendRow;          /* its row, timed; amplification to come    */
  uint64_t nPendUser;         /* its user bytes                           */
  uint64_t nPendWchar0;       /* wchar at its start                       */
  uint64_t nPendOwnUser0, nPendOwnWritten0;   /* own counters at its start */
  /* BENCH_PROBE=1: where a read workload's time goes (bench_probe_*). */
  struct rusage probeThread0; /* the reading thread's usage at its start   */
  struct rusage probeSelf0;   /* the process's (every thread) at its start */
  lsm_stats probeStats0;      /* an lsm store's counters at its start      */
} bench_ctx;

static int bench_fail(bench_ctx *p, const char *zFmt, ...){
  va_list ap;
  fprintf(stderr, "bench: %s/%s %s (N=%llu, BENCH_SEED=%llu): ", p->pEng->zLevel,
          p->pEng->zName, p->zWorkload ? p->zWorkload : "-",
          (unsigned long long)p->pCfg->nKeys, (unsigned long long)p->pCfg->iSeed);
  va_start(ap, zFmt);
  vfprintf(stderr, zFmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return 1;
}

/* ---- SQL transactions (no-ops at engine level) ---- */

static int bench_txn_begin(bench_ctx *p){
  p->nInTxn = 0;
  return p->pEng->xTxn ? p->pEng->xTxn(p->pStore, 1) : 0;
}

/* Count one operation; commit and begin again every BENCH_TXN_ROWS. */
static int bench_txn_tick(bench_ctx *p){
  if( !p->pEng->xTxn || ++p->nInTxn < BENCH_TXN_ROWS ) return 0;
  if( p->pEng->xTxn(p->pStore, 0) ) return 1;
  return bench_txn_begin(p);
}

static int bench_txn_end(bench_ctx *p){
  return p->pEng->xTxn ? p->pEng->xTxn(p->pStore, 0) : 0;
}

/* ---- measuring ---- */

/*
** BENCH_PROBE=1 prints, after each read workload, per operation: the
** reading thread's CPU and page faults (the tables are mapped: a first
** touch of a page costs a fault), the CPU the other threads took meanwhile
** (the engine's flush and compaction threads), and for an lsm store of the
** engine level its own counters (SSTables searched per get, Bloom checks,
** block cache misses, compactions run).  Diagnostics only: the rows and
** the tables are the same with or without it.
*/
static int bench_probe_on(void){
  const char *z = getenv("BENCH_PROBE");
  return z && z[0] == '1';
}

static int bench_probe_is_lsm(const bench_ctx *p){
  return !strcmp(p->pEng->zLevel, "engine") && !strncmp(p->pEng->zName, "lsm", 3);
}

static double bench_tv_secs(struct timeval tv){
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double bench_ru_cpu(const struct rusage *r){
  return bench_tv_secs(r->ru_utime) + bench_tv_secs(r->ru_stime);
}

static void bench_probe_begin(bench_ctx *p){
  if( !bench_probe_on() ) return;
  getrusage(RUSAGE_THREAD, &p->probeThread0);
  getrusage(RUSAGE_SELF, &p->probeSelf0);
  if( bench_probe_is_lsm(p) ) lsm_stats_get(bench_lsm_db(p->pStore), &p->probeStats0);
}

static void bench_probe_end(bench_ctx *p, uint64_t nOps){
  struct rusage t, s;
  double rOps = nOps ? (double)nOps : 1.0, rThread, rOther;
  if( !bench_probe_on() ) return;
  getrusage(RUSAGE_THREAD, &t);
  getrusage(RUSAGE_SELF, &s);
  rThread = bench_ru_cpu(&t) - bench_ru_cpu(&p->probeThread0);
  rOther = bench_ru_cpu(&s) - bench_ru_cpu(&p->probeSelf0) - rThread;
  printf("    probe %s/%s %s: reader %.2f us cpu (%.2f sys), %.3f minor + %.3f major faults,"
         " %.3f vol + %.3f invol switches per op; other threads %.3f s cpu\n",
         p->pEng->zLevel, p->pEng->zName, p->zWorkload,
         rThread * 1e6 / rOps,
         (bench_tv_secs(t.ru_stime) - bench_tv_secs(p->probeThread0.ru_stime)) * 1e6 / rOps,
         (double)(t.ru_minflt - p->probeThread0.ru_minflt) / rOps,
         (double)(t.ru_majflt - p->probeThread0.ru_majflt) / rOps,
         (double)(t.ru_nvcsw - p->probeThread0.ru_nvcsw) / rOps,
         (double)(t.ru_nivcsw - p->probeThread0.ru_nivcsw) / rOps, rOther);
  if( bench_probe_is_lsm(p) ){
    lsm_stats st, *a = &p->probeStats0;
    double rGets;
    lsm_stats_get(bench_lsm_db(p->pStore), &st);
    rGets = st.nGets > a->nGets ? (double)(st.nGets - a->nGets) : 1.0;
    printf("    probe %s/%s %s: per get %.3f tables searched, %.3f Bloom checks (%.3f negative);"
           " per op %.3f block cache misses, %.3f hits, %.3f table opens; %llu compactions,"
           " %.1f MB compacted meanwhile; tables open %llu\n",
           p->pEng->zLevel, p->pEng->zName, p->zWorkload,
           (double)(st.nGetSstProbes - a->nGetSstProbes) / rGets,
           (double)(st.nBloomChecks - a->nBloomChecks) / rGets,
           (double)(st.nBloomNegatives - a->nBloomNegatives) / rGets,
           (double)(st.nBlockCacheMisses - a->nBlockCacheMisses) / rOps,
           (double)(st.nBlockCacheHits - a->nBlockCacheHits) / rOps,
           (double)(st.nTableCacheMisses - a->nTableCacheMisses) / rOps,
           (unsigned long long)(st.nCompactions - a->nCompactions),
           (double)(st.nCompactionBytesWritten - a->nCompactionBytesWritten) / 1e6,
           (unsigned long long)st.nTablesOpen);
  }
  fflush(stdout);
}

static void bench_own_bytes(bench_ctx *p, uint64_t *pnUser, uint64_t *pnWritten){
  *pnUser = *pnWritten = 0;
  if( p->pEng->xOwnBytes ) p->pEng->xOwnBytes(p->pStore, pnUser, pnWritten);
}

static void bench_phase_begin(bench_ctx *p, const char *zWorkload){
  p->zWorkload = zWorkload;
  bench_own_bytes(p, &p->nOwnUser0, &p->nOwnWritten0);
  bench_peak_rss_reset();
  p->nWchar0 = bench_wchar();
  bench_probe_begin(p);
  p->tStart = bench_now();
}

/* The row of the workload that just ended, timed. */
static void bench_row_timed(bench_ctx *p, bench_row *pRow, uint64_t nOps, double tEnd){
  memset(pRow, 0, sizeof(*pRow));
  snprintf(pRow->zLevel, sizeof(pRow->zLevel), "%s", p->pEng->zLevel);
  snprintf(pRow->zEngine, sizeof(pRow->zEngine), "%s", p->pEng->zName);
  snprintf(pRow->zWorkload, sizeof(pRow->zWorkload), "%s", p->zWorkload);
  pRow->nOps = nOps;
  pRow->rSecs = tEnd - p->tStart;
  pRow->rWriteAmp = pRow->rOwnWriteAmp = -1;
  pRow->rPeakRssMb = bench_peak_rss_mb();
}

/*
** Settle (untimed) and set pRow's write amplification: bytes written since
** wchar was nWchar0 (the engine's own counters nOwnUser0, nOwnWritten0)
** over nUserBytes.  rSettleSecs is the time the settling took.
*/
static int bench_row_settle(bench_ctx *p, bench_row *pRow, uint64_t nUserBytes,
                            uint64_t nWchar0, uint64_t nOwnUser0, uint64_t nOwnWritten0){
  uint64_t nUser, nWritten;
  double t0 = bench_now();
  if( p->pEng->xSettle(p->pStore) ) return bench_fail(p, "settle failed");
  pRow->rSettleSecs = bench_now() - t0;
  pRow->rWriteAmp = (double)(bench_wchar() - nWchar0) / (double)nUserBytes;
  bench_own_bytes(p, &nUser, &nWritten);
  if( nUser > nOwnUser0 ){
    pRow->rOwnWriteAmp = (double)(nWritten - nOwnWritten0) / (double)(nUser - nOwnUser0);
  }
  return 0;
}

static int bench_row_send(bench_ctx *p, bench_row *pRow){
  pRow->rSpaceAmp = p->nLive ?
      (double)bench_dir_bytes(p->zStoreDir) / (double)(p->nLive * BENCH_ENTRY_BYTES) : -1;
  if( write(p->fdOut, pRow, sizeof(*pRow)) != (ssize_t)sizeof(*pRow) ){
    return bench_fail(p, "cannot send the row to the parent");
  }
  return 0;
}

/* End the timed part; settle if nUserBytes > 0 (a write); send the row. */
static int bench_phase_end(bench_ctx *p, uint64_t nOps, uint64_t nUserBytes){
  bench_row row;
  double tEnd = bench_now();
  if( nUserBytes == 0 ) bench_probe_end(p, nOps);
  bench_row_timed(p, &row, nOps, tEnd);
  if( nUserBytes > 0 && bench_row_settle(p, &row, nUserBytes, p->nWchar0,
                                         p->nOwnUser0, p->nOwnWritten0) ){
    return 1;
  }
  return bench_row_send(p, &row);
}

/* End the timed part of a write workload whose settling waits for
** bench_pending_finish (the reads right after it run first). */
static int bench_phase_defer(bench_ctx *p, uint64_t nOps, uint64_t nUserBytes){
  double tEnd = bench_now();
  bench_row_timed(p, &p->pendRow, nOps, tEnd);
  p->bPending = 1;
  p->nPendUser = nUserBytes;
  p->nPendWchar0 = p->nWchar0;
  p->nPendOwnUser0 = p->nOwnUser0;
  p->nPendOwnWritten0 = p->nOwnWritten0;
  return 0;
}

/* Settle the deferred write workload and send its row. */
static int bench_pending_finish(bench_ctx *p){
  const char *zWorkload = p->zWorkload;
  int rc;
  if( !p->bPending ) return 0;
  p->bPending = 0;
  p->zWorkload = p->pendRow.zWorkload;
  rc = bench_row_settle(p, &p->pendRow, p->nPendUser, p->nPendWchar0,
                        p->nPendOwnUser0, p->nPendOwnWritten0);
  if( rc == 0 ) rc = bench_row_send(p, &p->pendRow);
  p->zWorkload = zWorkload;
  return rc;
}

/* ---- checks ---- */

static int bench_is_deleted(const bench_ctx *p, uint64_t i){
  return p->aDeleted && (p->aDeleted[i >> 3] >> (i & 7)) & 1;
}

/* The value read for key(i) must be value(i, iGen). */
static int bench_check_value(bench_ctx *p, uint64_t i, const char *pVal, size_t nVal){
  char aWant[BENCH_VAL_BYTES];
  bench_value(aWant, i, p->iGen);
  if( nVal != BENCH_VAL_BYTES || memcmp(pVal, aWant, BENCH_VAL_BYTES) != 0 ){
    return bench_fail(p, "key index %llu: wrong value (%zu bytes)", (unsigned long long)i, nVal);
  }
  return 0;
}

/*
** Visit the iterator's current entry: it must be a live key with index
** > *piPrev (or any index when *piPrev == UINT64_MAX) and its value.
*/
static int bench_check_entry(bench_ctx *p, bench_iter *pIter, uint64_t *piPrev){
  const char *pKey, *pVal;
  size_t nKey, nVal;
  uint64_t i;
  p->pEng->xIterEntry(pIter, &pKey, &nKey, &pVal, &nVal);
  if( bench_key_parse(pKey, nKey, &i) || i >= p->pCfg->nKeys ){
    return bench_fail(p, "iterator returned a key that was never written (%zu bytes)", nKey);
  }
  if( *piPrev != UINT64_MAX && i <= *piPrev ){
    return bench_fail(p, "iterator out of order: index %llu after %llu",
                      (unsigned long long)i, (unsigned long long)*piPrev);
  }
  if( bench_is_deleted(p, i) ){
    return bench_fail(p, "iterator returned deleted key index %llu", (unsigned long long)i);
  }
  *piPrev = i;
  return bench_check_value(p, i, pVal, nVal);
}

/* Scan the whole store: exactly the live keys, in order.  *pnSeen = count. */
static int bench_scan(bench_ctx *p, uint64_t *pnSeen){
  bench_iter *pIter = 0;
  uint64_t iPrev = UINT64_MAX, n = 0;
  int rc = p->pEng->xIterOpen(p->pStore, &pIter);
  if( rc == 0 ) rc = p->pEng->xIterFirst(pIter);
  while( rc == 0 && p->pEng->xIterValid(pIter) ){
    rc = bench_check_entry(p, pIter, &iPrev);
    n++;
    if( rc == 0 ) rc = p->pEng->xIterNext(pIter);
  }
  if( pIter ) p->pEng->xIterClose(pIter);
  if( rc == 0 && n != p->nLive ){
    rc = bench_fail(p, "scan saw %llu keys, %llu are live",
                    (unsigned long long)n, (unsigned long long)p->nLive);
  }
  *pnSeen = n;
  return rc;
}

/* ---- the workloads ---- */

/* Put every key once: in order (pPerm NULL) or in pPerm's order.  bDefer:
** settle later (bench_pending_finish). */
static int bench_fill(bench_ctx *p, const bench_perm *pPerm, uint32_t iGen, int bDefer){
  char aKey[BENCH_KEY_BYTES], aVal[BENCH_VAL_BYTES];
  uint64_t j, n = p->pCfg->nKeys;
  int rc = bench_txn_begin(p);
  for(j = 0; rc == 0 && j < n; j++){
    uint64_t i = pPerm ? bench_perm_at(pPerm, j) : j;
    bench_key(aKey, i, 0);
    bench_value(aVal, i, iGen);
    rc = p->pEng->xPut(p->pStore, aKey, sizeof(aKey), aVal, sizeof(aVal));
    if( rc == 0 ) rc = bench_txn_tick(p);
  }
  if( rc == 0 ) rc = bench_txn_end(p);
  if( rc ) return bench_fail(p, "put failed");
  p->nLive = n;
  p->iGen = iGen;
  if( bDefer ) return bench_phase_defer(p, n, n * BENCH_ENTRY_BYTES);
  return bench_phase_end(p, n, n * BENCH_ENTRY_BYTES);
}

/* R gets: live keys (bMissing 0) or never-written odd keys (bMissing 1). */
static int bench_read_random(bench_ctx *p, uint64_t iSeed, int bMissing){
  bench_rng rng = { iSeed };
  char aKey[BENCH_KEY_BYTES];
  uint64_t j, n = p->pCfg->nKeys, nOps = p->pCfg->nReads;
  int rc = bench_txn_begin(p);
  for(j = 0; rc == 0 && j < nOps; j++){
    uint64_t i = bench_rng_below(&rng, n);
    const char *pVal = 0;
    size_t nVal = 0;
    int bFound = 0;
    bench_key(aKey, i, bMissing);
    rc = p->pEng->xGet(p->pStore, aKey, sizeof(aKey), &bFound, &pVal, &nVal);
    if( rc ) return bench_fail(p, "get failed");
    if( bFound == bMissing ){
      return bench_fail(p, "get of %s key index %llu: %s", bMissing ? "missing" : "live",
                        (unsigned long long)i, bFound ? "found" : "not found");
    }
    if( !bMissing ) rc = bench_check_value(p, i, pVal, nVal);
    if( rc == 0 ) rc = bench_txn_tick(p);
  }
  if( rc == 0 ) rc = bench_txn_end(p);
  if( rc ) return rc;
  return bench_phase_end(p, nOps, 0);
}

static int bench_readseq(bench_ctx *p){
  uint64_t nSeen = 0;
  int rc = bench_scan(p, &nSeen);
  if( rc ) return rc;
  return bench_phase_end(p, nSeen, 0);
}

/* R seeks to random live keys, each with a new iterator, then nSeekNext nexts. */
static int bench_seekrandom(bench_ctx *p, uint64_t iSeed){
  bench_rng rng = { iSeed };
  char aKey[BENCH_KEY_BYTES];
  uint64_t j, n = p->pCfg->nKeys, nOps = p->pCfg->nReads;
  int rc = bench_txn_begin(p);
  for(j = 0; rc == 0 && j < nOps; j++){
    uint64_t i = bench_rng_below(&rng, n), iPrev = UINT64_MAX, iAt;
    bench_iter *pIter = 0;
    int k;
    bench_key(aKey, i, 0);
    rc = p->pEng->xIterOpen(p->pStore, &pIter);
    if( rc == 0 ) rc = p->pEng->xIterSeek(pIter, aKey, sizeof(aKey));
    for(k = 0; rc == 0 && k <= p->pEng->nSeekNext; k++){
      if( k > 0 ) rc = p->pEng->xIterNext(pIter);
      if( rc ) break;
      if( i + (uint64_t)k >= n ){
        if( p->pEng->xIterValid(pIter) ) rc = bench_fail(p, "entry after the last key");
        break;
      }
      if( !p->pEng->xIterValid(pIter) ){
        rc = bench_fail(p, "seek to index %llu: no entry %d", (unsigned long long)i, k);
        break;
      }
      rc = bench_check_entry(p, pIter, &iPrev);
      iAt = iPrev;
      if( rc == 0 && iAt != i + (uint64_t)k ){
        rc = bench_fail(p, "seek to index %llu: entry %d is index %llu",
                        (unsigned long long)i, k, (unsigned long long)iAt);
      }
    }
    if( pIter ) p->pEng->xIterClose(pIter);
    if( rc == 0 ) rc = bench_txn_tick(p);
  }
  if( rc == 0 ) rc = bench_txn_end(p);
  if( rc ) return rc;
  return bench_phase_end(p, nOps, 0);
}

/* Delete N/2 distinct keys in random order. */
static int bench_deleterandom(bench_ctx *p, uint64_t iSeed){
  bench_perm perm;
  char aKey[BENCH_KEY_BYTES];
  uint64_t j, n = p->pCfg->nKeys, nDel = p->pCfg->nKeys / 2;
  int rc;
  p->aDeleted = calloc((size_t)(n / 8 + 1), 1);
  if( !p->aDeleted ) return bench_fail(p, "out of memory");
  bench_perm_init(&perm, n, iSeed);
  rc = bench_txn_begin(p);
  for(j = 0; rc == 0 && j < nDel; j++){
    uint64_t i = bench_perm_at(&perm, j);
    bench_key(aKey, i, 0);
    rc = p->pEng->xDelete(p->pStore, aKey, sizeof(aKey));
    p->aDeleted[i >> 3] |= (uint8_t)(1u << (i & 7));
    if( rc == 0 ) rc = bench_txn_tick(p);
  }
  if( rc == 0 ) rc = bench_txn_end(p);
  if( rc ) return bench_fail(p, "delete failed");
  p->nLive = n - nDel;
  return bench_phase_end(p, nDel, nDel * BENCH_KEY_BYTES);
}

/* ---- driver ---- */

static int bench_store_open(bench_ctx *p, const char *zName){
  snprintf(p->zStoreDir, sizeof(p->zStoreDir), "%s/%s", p->pCfg->zDir, zName);
  bench_rmtree(p->zStoreDir);
  p->nLive = 0;
  p->iGen = 0;
  free(p->aDeleted);
  p->aDeleted = 0;
  p->zWorkload = "open";
  if( p->pEng->xOpen(p->zStoreDir, &p->pStore) ){
    p->pStore = 0;
    return bench_fail(p, "cannot open a store in %s", p->zStoreDir);
  }
  return 0;
}

static void bench_store_close(bench_ctx *p){
  if( p->pStore ) p->pEng->xClose(p->pStore);
  p->pStore = 0;
  bench_rmtree(p->zStoreDir);
}

/* An untimed check of the whole store between workloads. */
static int bench_check_all(bench_ctx *p, const char *zAfter){
  uint64_t nSeen;
  p->zWorkload = zAfter;
  return bench_scan(p, &nSeen);
}

int bench_run(const bench_engine *pEng, const bench_config *pCfg, int fdOut){
  bench_ctx ctx;
  bench_ctx *p = &ctx;
  bench_perm perm;
  uint64_t s = pCfg->iSeed;
  int rc, i;

  memset(p, 0, sizeof(*p));
  p->pEng = pEng;
  p->pCfg = pCfg;
  p->fdOut = fdOut;
  bench_value_pool_init(s);

  rc = bench_store_open(p, "fillseq");
  if( rc == 0 ){ bench_phase_begin(p, "fillseq"); rc = bench_fill(p, 0, 0, 0); }
  if( rc == 0 ) rc = bench_check_all(p, "check after fillseq");
  bench_store_close(p);
  if( getenv("BENCH_FILLSEQ_ONLY") && getenv("BENCH_FILLSEQ_ONLY")[0] == '1' ){
    free(p->aDeleted);
    return rc;
  }

  if( rc == 0 ) rc = bench_store_open(p, "random");
  if( rc == 0 ){
    bench_perm_init(&perm, pCfg->nKeys, s * 16 + BENCH_SEED_FILLRANDOM);
    bench_phase_begin(p, "fillrandom");
    rc = bench_fill(p, &perm, 0, 0);
  }
  if( rc == 0 ){
    bench_perm_init(&perm, pCfg->nKeys, s * 16 + BENCH_SEED_OVERWRITE);
    bench_phase_begin(p, "overwrite");
    rc = bench_fill(p, &perm, 1, !pEng->bWritesOnly);
  }
  /* The reads right after the overwrite (i == 0), then settled (i == 1). */
  for(i = 0; rc == 0 && !pEng->bWritesOnly && i < 2; i++){
    static const char *azName[2][4] = {
      { "readrandom", "readmissing", "readseq", "seekrandom" },
      { "readrandom-settled", "readmissing-settled", "readseq-settled", "seekrandom-settled" },
    };
    if( i == 1 ) rc = bench_pending_finish(p);
    if( rc == 0 && pEng->xShape ){
      char zShape[512];
      pEng->xShape(p->pStore, zShape, sizeof(zShape));
      if( zShape[0] ){
        printf("    %s/%s before the reads %s: %s\n", pEng->zLevel, pEng->zName,
               i == 0 ? "right after the writes" : "settled", zShape);
        fflush(stdout);
      }
    }
    if( rc == 0 ){
      bench_phase_begin(p, azName[i][0]);
      rc = bench_read_random(p, s * 16 + BENCH_SEED_READRANDOM, 0);
    }
    if( rc == 0 ){
      bench_phase_begin(p, azName[i][1]);
      rc = bench_read_random(p, s * 16 + BENCH_SEED_READMISSING, 1);
    }
    if( rc == 0 ){ bench_phase_begin(p, azName[i][2]); rc = bench_readseq(p); }
    if( rc == 0 ){
      bench_phase_begin(p, azName[i][3]);
      rc = bench_seekrandom(p, s * 16 + BENCH_SEED_SEEKRANDOM);
    }
  }
  if( rc == 0 && !pEng->bWritesOnly && pEng->xShape ){
    char zShape[512];
    pEng->xShape(p->pStore, zShape, sizeof(zShape));
    if( zShape[0] ) printf("    %s/%s after the reads: %s\n", pEng->zLevel, pEng->zName, zShape);
    fflush(stdout);
  }
  if( rc == 0 ){
    bench_phase_begin(p, "deleterandom");
    rc = bench_deleterandom(p, s * 16 + BENCH_SEED_DELETERANDOM);
  }
  if( rc == 0 ) rc = bench_check_all(p, "check after deleterandom");
  bench_store_close(p);
  free(p->aDeleted);
  return rc;
}
