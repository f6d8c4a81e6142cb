/*
** bench_amp.c — the amplification experiment of `make bench` (issue 4):
** how much each store writes, reads and keeps on disk per byte the user
** gives it, and how long a single put can take while it does so.
**
** Usage (bench.c runs it as the level "amp"; see bench_amp.h):
**
**   make bench-amp                             just this experiment, N = 5,000,000
**   BENCH_AMP_N=200000 make bench-amp          a quick run
**   BENCH_AMP=0 make bench                     make bench without it
**
**   BENCH_AMP_N        keys (default 5000000)
**   BENCH_AMP_READS    gets, and seeks, after the writes (default N/10)
**   BENCH_AMP_READ_SECS  a read phase stops after this many seconds (default
**                      120), its rate taken over the reads it did: a store
**                      whose reads are slow at this size still finishes
**   BENCH_AMP_ENGINES  comma list of lsm-leveled,lsm-tiered,leveldb,rocksdb,
**                      lsm-indb,sqlite (default all)
**   BENCH_AMP_SVG      the chart (default bench-amp.svg)
**   BENCH_SEED         as for the rest of make bench
**
** The experiment, on one fresh store per engine, each in its own child:
**
**   phase       operations                                      checked
**   fillrandom  put key(i) for every i in [0, N), random order  (by the scan)
**   overwrite   put every key again, a new random order, gen 1  (by the scan)
**   readrandom  R gets of random keys                           found, value bytes
**   seekrandom  R times: new iterator, seek to a random key,    lands on it, then the
**               then nSeekNext nexts                             next keys in order
**   (check)     untimed scan of the whole store                 exactly N keys, in
**                                                                order, gen-1 values
**
** Keys, values and orders are bench.h's (16-byte keys, 100-byte values), so
** a put gives the store 116 user bytes.  Engines: this engine with
** leveled and with tiered compaction (bench_lsm.c's adapter: sync=normal,
** each put's log record copied into a mapping of the log, 4 MiB memtable, 10 bits/key Bloom, background thread
** on), LevelDB and RocksDB (bench_leveldb.c, bench_rocksdb.c: the same
** sizes, sync=false: a write(2) per put), the in-database lsm store
** through SQL (lsm-indb: CREATE VIRTUAL TABLE kv USING lsm, which
** flushes and compacts inside its COMMITs) and a native SQLite WITHOUT
** ROWID table (bench_sql.c: both journal_mode=WAL, synchronous=NORMAL,
** BENCH_TXN_ROWS = 1000 operations per transaction).
**
** What each number is:
**   ops/s       operations / wall time of the operations only.
**   write amp   after each write phase the store settles (the adapter's
**               xSettle: flush, wait for background work to stop, then one
**               more second without a byte written; untimed) and the bytes
**               the process handed to write(2) meanwhile (/proc/self/io
**               wchar: WAL, flush, compaction, checkpoint) are divided by
**               the user bytes.  "total" is the whole experiment, reads and
**               a last settle included (LevelDB compacts during reads), over
**               the 2N puts' bytes.  For lsm the engine's own counters (WAL
**               + flush + compaction bytes / user bytes) are printed beside
**               it as a cross-check.
**   read amp    gets: SSTables whose data a get searched (after the key
**               range and the Bloom filter ruled the others out), per get;
**               seeks: sorted runs (level-0 tables and non-empty deeper
**               levels) positioned per seek.  lsm: lsm_stats_get
**               (nGetSstProbes/nGets, nSeekSstProbes/nSeeks).  RocksDB: its
**               perf context, counting level, in the reading thread
**               (bloom_sst_hit_count per get; seek_child_seek_count minus
**               seek_on_memtable_count per seek).  LevelDB: gets n/a (its C
**               API exposes no per-read table counter); seeks from the
**               shape, since a LevelDB iterator positions one child per
**               level-0 table and one per non-empty level
**               ("leveldb.num-files-at-level<N>").  SQLite: n/a (a B-tree
**               lookup reads one root-to-leaf path of pages; pages are not
**               SSTables).
**   space amp   bytes of every file in the store's directory / (N * 116)
**               after each phase; "total": at the end, settled.
**   latency     every put is timed alone (CLOCK_MONOTONIC around the
**               adapter's xPut) into a log-linear histogram: exact below
**               128 ns, then 64 buckets per power of two (at most 1/64 =
**               1.6% off), whose midpoints give p50, p99 and p99.9; the
**               maximum is exact.  SQLite's puts are timed inside their
**               transactions, so COMMIT (where SQLite writes its WAL and
**               checkpoints) is not in them: the commit times are printed
**               separately: their p99.9 and the slowest.  For
**               lsm-indb the COMMIT is where the work is (the log row,
**               a flush when the memtable is full, else at most one compaction).
**               For the SQL stores write amp counts every byte SQLite
**               handed to write(2): its WAL, the checkpoints into the
**               database file, and so the shadow tables' pages.
*/
#include "bench_amp.h"

#include "lsm.h"

#include <leveldb/c.h>
#include <rocksdb/c.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AMP_DEFAULT_N      5000000
#define AMP_SEED_FILL      1        /* seed offsets, as bench_workload.c's */
#define AMP_SEED_OVERWRITE 2
#define AMP_SEED_GET       3
#define AMP_SEED_SEEK      5

/* Targets of issue 4. */
#define AMP_MAX_PUT_US     50000.0  /* no put slower than 50 ms   */
#define AMP_MAX_P999_US    1000.0   /* p99.9 under 1 ms           */

/*
** The latency histogram.  A value v (nanoseconds) goes to bucket v when
** v < 128; otherwise, with m the index of v's highest set bit (m >= 7) and
** s = m - 6, to bucket (s + 1) * 64 + (v >> s) - 64: the 64 buckets of
** [2^m, 2^(m+1)) are 2^s wide.  Bucket indexes grow with v and cover all
** of uint64_t in (64 - 6 + 1) * 64 buckets.
*/
#define AMP_HIST_SUB_BITS 6
#define AMP_HIST_SUB      (1 << AMP_HIST_SUB_BITS)
#define AMP_HIST_N        ((64 - AMP_HIST_SUB_BITS + 1) * AMP_HIST_SUB)

typedef struct amp_hist {
  uint64_t aCount[AMP_HIST_N]; /* values per bucket                      */
  uint64_t n;                  /* values recorded                        */
  uint64_t nMax;               /* the largest, exact                     */
} amp_hist;

/* How an engine's read amplification is measured. */
enum { AMP_LSM, AMP_LEVELDB, AMP_ROCKSDB, AMP_SQLITE, AMP_INDB };

typedef struct amp_engine {
  bench_engine eng;            /* the adapter, renamed, level "amp"      */
  const bench_engine *pBase;   /* the adapter of bench.h                 */
  int eKind;                   /* AMP_*                                  */
} amp_engine;

/* Read counters, cumulative; which are meaningful depends on eKind. */
typedef struct amp_probes {
  uint64_t nGetProbes;         /* SSTables searched by gets              */
  uint64_t nSeekProbes;        /* sorted runs positioned by seeks        */
} amp_probes;

/* A phase being measured. */
typedef struct amp_phase {
  const char *zWorkload;       /* its name                               */
  double tStart;               /* bench_now() at its start               */
  uint64_t nWchar0;            /* wchar at its start                     */
  uint64_t nOwnUser0;          /* the engine's own counters at its start */
  uint64_t nOwnWritten0;
  amp_probes probes0;          /* read counters at its start             */
} amp_phase;

/* One child's run. */
typedef struct amp_child {
  const amp_engine *pAmp;      /* the engine and how to read its counters */
  const bench_engine *pEng;    /* &pAmp->eng                             */
  const bench_config *pCfg;    /* seed, scratch directory                */
  int fdOut;                   /* rows go here                           */
  uint64_t nKeys;              /* N                                      */
  uint64_t nReads;             /* R                                      */
  bench_store *pStore;         /* the open store, or NULL                */
  char zStoreDir[4200];        /* its directory                          */
  const char *zWorkload;       /* the phase running, for messages        */
  amp_hist *pHist;             /* put latencies of the phase             */
  amp_hist *pHistAll;          /* put latencies of both write phases     */
  amp_hist *pHistCommitAll;    /* COMMIT latencies of both write phases  */
  int nInTxn;                  /* operations in the open transaction     */
  uint64_t nCommits;           /* transactions committed by the puts     */
  double rCommitSecs;          /* their total time                       */
  double rCommitMaxSecs;       /* the slowest                            */
  amp_hist *pHistCommit;       /* their latencies                        */
  rocksdb_perfcontext_t *pPerf; /* RocksDB's thread perf context, or NULL */
} amp_child;

static amp_engine aAmpEngine[6];
static int nAmpEngine = -1;    /* -1: aAmpEngine not built yet          */

/* ---- configuration ---- */

static uint64_t amp_env_u64(const char *zName, uint64_t iDefault){
  const char *z = getenv(zName);
  return z && z[0] ? strtoull(z, 0, 10) : iDefault;
}

static uint64_t amp_keys(void){
  uint64_t n = amp_env_u64("BENCH_AMP_N", AMP_DEFAULT_N);
  return n < 2 ? 2 : n;
}

/* The time limit of a read phase, seconds. */
static double amp_read_secs(void){
  return (double)amp_env_u64("BENCH_AMP_READ_SECS", 120);
}

static uint64_t amp_reads(void){
  uint64_t n = amp_keys();
  uint64_t r = amp_env_u64("BENCH_AMP_READS", n / 10);
  if( r < 1000 ) r = 1000;
  return r;
}

/* 1 if zName is in the comma list zList (every name if zList is unset). */
static int amp_wanted(const char *zList, const char *zName){
  size_t n = strlen(zName);
  const char *z = zList;
  if( !zList || !zList[0] ) return 1;
  while( (z = strstr(z, zName)) != 0 ){
    if( (z == zList || z[-1] == ',') && (z[n] == 0 || z[n] == ',') ) return 1;
    z += n;
  }
  return 0;
}

static void amp_engines_init(void){
  static const struct {
    const char *zName;
    const bench_engine *pBase;
    int eKind;
  } aDef[] = {
    { "lsm-leveled", &bench_engine_lsm, AMP_LSM },
    { "lsm-tiered", &bench_engine_lsm_tiered, AMP_LSM },
    { "leveldb", &bench_engine_leveldb, AMP_LEVELDB },
    { "rocksdb", &bench_engine_rocksdb, AMP_ROCKSDB },
    { "lsm-indb", &bench_engine_sql_lsm, AMP_INDB },
    { "sqlite", &bench_engine_sql_native, AMP_SQLITE },
  };
  const char *zList = getenv("BENCH_AMP_ENGINES");
  size_t i;
  nAmpEngine = 0;
  for(i = 0; i < sizeof(aDef) / sizeof(aDef[0]); i++){
    amp_engine *p;
    if( !amp_wanted(zList, aDef[i].zName) ) continue;
    p = &aAmpEngine[nAmpEngine++];
    p->eng = *aDef[i].pBase;
    p->eng.zName = aDef[i].zName;
    p->eng.zLevel = "amp";
    p->pBase = aDef[i].pBase;
    p->eKind = aDef[i].eKind;
  }
}

static const amp_engine *amp_engine_of(const bench_engine *pEng){
  int i;
  for(i = 0; i < nAmpEngine; i++){
    if( &aAmpEngine[i].eng == pEng ) return &aAmpEngine[i];
  }
  return 0;
}

/* ---- the latency histogram ---- */

static int amp_hist_bucket(uint64_t v){
  int m, s;
  if( v < 2 * AMP_HIST_SUB ) return (int)v;
  m = 63 - __builtin_clzll(v);
  s = m - AMP_HIST_SUB_BITS;
  return (s + 1) * AMP_HIST_SUB + (int)(v >> s) - AMP_HIST_SUB;
}

/* The midpoint of bucket i, in nanoseconds. */
static double amp_hist_value(int i){
  int g = i / AMP_HIST_SUB, s;
  if( i < 2 * AMP_HIST_SUB ) return (double)i;
  s = g - 1;
  return ((double)(AMP_HIST_SUB + i % AMP_HIST_SUB) + 0.5) * (double)(1ull << s);
}

static void amp_hist_add(amp_hist *p, double rSecs){
  uint64_t v = rSecs > 0 ? (uint64_t)(rSecs * 1e9 + 0.5) : 0;
  p->aCount[amp_hist_bucket(v)]++;
  p->n++;
  if( v > p->nMax ) p->nMax = v;
}

static void amp_hist_merge(amp_hist *pTo, const amp_hist *pFrom){
  int i;
  for(i = 0; i < AMP_HIST_N; i++) pTo->aCount[i] += pFrom->aCount[i];
  pTo->n += pFrom->n;
  if( pFrom->nMax > pTo->nMax ) pTo->nMax = pFrom->nMax;
}

/* The q-quantile (0 < q < 1) in microseconds: the value of rank ceil(q n). */
static double amp_hist_quantile_us(const amp_hist *p, double q){
  uint64_t nRank = (uint64_t)(q * (double)p->n), nSeen = 0;
  int i;
  if( (double)nRank < q * (double)p->n ) nRank++;
  if( nRank < 1 ) nRank = 1;
  for(i = 0; i < AMP_HIST_N; i++){
    nSeen += p->aCount[i];
    if( nSeen >= nRank ){
      double r = amp_hist_value(i);
      return (r > (double)p->nMax ? (double)p->nMax : r) / 1000.0;
    }
  }
  return (double)p->nMax / 1000.0;
}

/* ---- the child ---- */

static int amp_fail(amp_child *p, const char *zFmt, ...){
  va_list ap;
  fprintf(stderr, "bench: amp/%s %s (BENCH_AMP_N=%llu, BENCH_SEED=%llu): ", p->pEng->zName,
          p->zWorkload ? p->zWorkload : "-", (unsigned long long)p->nKeys,
          (unsigned long long)p->pCfg->iSeed);
  va_start(ap, zFmt);
  vfprintf(stderr, zFmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return 1;
}

/* SQLite only: BENCH_TXN_ROWS operations per transaction, commits timed. */
static int amp_txn_begin(amp_child *p){
  p->nInTxn = 0;
  return p->pEng->xTxn ? p->pEng->xTxn(p->pStore, 1) : 0;
}

static int amp_txn_end(amp_child *p){
  double t0, r;
  int rc;
  if( !p->pEng->xTxn ) return 0;
  t0 = bench_now();
  rc = p->pEng->xTxn(p->pStore, 0);
  r = bench_now() - t0;
  p->nCommits++;
  p->rCommitSecs += r;
  if( p->pHistCommit ) amp_hist_add(p->pHistCommit, r);
  if( r > p->rCommitMaxSecs ) p->rCommitMaxSecs = r;
  return rc;
}

static int amp_txn_tick(amp_child *p){
  if( !p->pEng->xTxn || ++p->nInTxn < BENCH_TXN_ROWS ) return 0;
  if( amp_txn_end(p) ) return 1;
  return amp_txn_begin(p);
}

/* A LevelDB integer property, or 0. */
static uint64_t amp_leveldb_int(amp_child *p, const char *zProp){
  char aBuf[64];
  if( bench_leveldb_property(p->pStore, zProp, aBuf, sizeof(aBuf)) ) return 0;
  return strtoull(aBuf, 0, 10);
}

/* Sorted runs of a LevelDB store: level-0 tables and non-empty levels. */
static uint64_t amp_leveldb_runs(amp_child *p, char *zShape, size_t nShape){
  uint64_t nRuns = 0;
  size_t j = 0;
  int i;
  zShape[0] = 0;
  for(i = 0; i < 7; i++){
    char zProp[64];
    uint64_t nFiles;
    snprintf(zProp, sizeof(zProp), "leveldb.num-files-at-level%d", i);
    nFiles = amp_leveldb_int(p, zProp);
    nRuns += i == 0 ? nFiles : (nFiles > 0);
    if( nFiles && j < nShape ){
      j += (size_t)snprintf(zShape + j, nShape - j, "%sL%d %llu", j ? ", " : "", i,
                            (unsigned long long)nFiles);
    }
  }
  return nRuns;
}

static void amp_probes_read(amp_child *p, amp_probes *pOut){
  memset(pOut, 0, sizeof(*pOut));
  if( p->pAmp->eKind == AMP_LSM ){
    lsm_stats st;
    if( lsm_stats_get(bench_lsm_db(p->pStore), &st) == LSM_OK ){
      pOut->nGetProbes = st.nGetSstProbes;
      pOut->nSeekProbes = st.nSeekSstProbes;
    }
  }else if( p->pAmp->eKind == AMP_ROCKSDB && p->pPerf ){
    uint64_t nChild = rocksdb_perfcontext_metric(p->pPerf, rocksdb_seek_child_seek_count);
    uint64_t nMem = rocksdb_perfcontext_metric(p->pPerf, rocksdb_seek_on_memtable_count);
    pOut->nGetProbes = rocksdb_perfcontext_metric(p->pPerf, rocksdb_bloom_sst_hit_count);
    pOut->nSeekProbes = nChild > nMem ? nChild - nMem : 0;
  }
}

/*
** Read amplification of the nOps gets (bSeek 0) or seeks (bSeek 1) since
** pPh began, or -1 when the engine cannot say.
*/
static double amp_read_amp(amp_child *p, const amp_phase *pPh, int bSeek, uint64_t nOps){
  amp_probes now;
  uint64_t n0, n1;
  if( nOps == 0 ) return -1;
  if( p->pAmp->eKind == AMP_LEVELDB ){
    char zShape[256];
    return bSeek ? (double)amp_leveldb_runs(p, zShape, sizeof(zShape)) : -1;
  }
  if( p->pAmp->eKind == AMP_SQLITE || p->pAmp->eKind == AMP_INDB ) return -1;
  if( p->pAmp->eKind == AMP_ROCKSDB && !p->pPerf ) return -1;
  amp_probes_read(p, &now);
  n0 = bSeek ? pPh->probes0.nSeekProbes : pPh->probes0.nGetProbes;
  n1 = bSeek ? now.nSeekProbes : now.nGetProbes;
  return (double)(n1 - n0) / (double)nOps;
}

static void amp_own_bytes(amp_child *p, uint64_t *pnUser, uint64_t *pnWritten){
  *pnUser = *pnWritten = 0;
  if( p->pEng->xOwnBytes ) p->pEng->xOwnBytes(p->pStore, pnUser, pnWritten);
}

static void amp_phase_begin(amp_child *p, amp_phase *pPh, const char *zWorkload){
  memset(pPh, 0, sizeof(*pPh));
  pPh->zWorkload = p->zWorkload = zWorkload;
  amp_own_bytes(p, &pPh->nOwnUser0, &pPh->nOwnWritten0);
  amp_probes_read(p, &pPh->probes0);
  bench_peak_rss_reset();
  pPh->nWchar0 = bench_wchar();
  pPh->tStart = bench_now();
}

/* A row of this child, everything "none". */
static void amp_row_init(amp_child *p, bench_row *pRow, const char *zWorkload){
  memset(pRow, 0, sizeof(*pRow));
  pRow->rCommitP999Us = pRow->rCommitMaxUs = -1;
  snprintf(pRow->zLevel, sizeof(pRow->zLevel), "%s", p->pEng->zLevel);
  snprintf(pRow->zEngine, sizeof(pRow->zEngine), "%s", p->pEng->zName);
  snprintf(pRow->zWorkload, sizeof(pRow->zWorkload), "%s", zWorkload);
  pRow->rWriteAmp = pRow->rOwnWriteAmp = pRow->rSpaceAmp = pRow->rReadAmp = -1;
  pRow->rP50Us = pRow->rP99Us = pRow->rP999Us = pRow->rMaxUs = -1;
}

static void amp_row_latency(bench_row *pRow, const amp_hist *pHist){
  if( pHist->n == 0 ) return;
  pRow->rP50Us = amp_hist_quantile_us(pHist, 0.50);
  pRow->rP99Us = amp_hist_quantile_us(pHist, 0.99);
  pRow->rP999Us = amp_hist_quantile_us(pHist, 0.999);
  pRow->rMaxUs = (double)pHist->nMax / 1000.0;
}

static int amp_row_send(amp_child *p, const bench_row *pRow){
  if( write(p->fdOut, pRow, sizeof(*pRow)) != (ssize_t)sizeof(*pRow) ){
    return amp_fail(p, "cannot send the row to the parent");
  }
  return 0;
}

/*
** The adapter's settle, then a second wait for a whole second without a
** byte written: xSettle waits for 300 ms of quiet, which a compaction
** starved of CPU on a shared machine can fake (a merge that drops
** superseded entries may read for a while before it writes).
*/
static int amp_settle(amp_child *p){
  if( p->pEng->xSettle(p->pStore) ) return amp_fail(p, "settle failed");
  bench_wait_quiet(1000, 600000);
  return 0;
}

/*
** Write amplification of what was written since pPh began, by wchar and
** by the engine's own counters, over nUserBytes.
*/
static void amp_write_amp(amp_child *p, const amp_phase *pPh, uint64_t nUserBytes,
                          bench_row *pRow){
  uint64_t nUser, nWritten;
  pRow->rWriteAmp = (double)(bench_wchar() - pPh->nWchar0) / (double)nUserBytes;
  amp_own_bytes(p, &nUser, &nWritten);
  if( nUser > pPh->nOwnUser0 ){
    pRow->rOwnWriteAmp = (double)(nWritten - pPh->nOwnWritten0) / (double)(nUser - pPh->nOwnUser0);
  }
}

/* End a write phase of nOps puts: settle (untimed), then fill *pRow. */
static int amp_write_end(amp_child *p, const amp_phase *pPh, uint64_t nOps, bench_row *pRow){
  double tEnd = bench_now();
  amp_row_init(p, pRow, pPh->zWorkload);
  pRow->nOps = nOps;
  pRow->rSecs = tEnd - pPh->tStart;
  if( amp_settle(p) ) return 1;
  pRow->rSettleSecs = bench_now() - tEnd;
  amp_write_amp(p, pPh, nOps * BENCH_ENTRY_BYTES, pRow);
  pRow->rSpaceAmp = (double)bench_dir_bytes(p->zStoreDir) / (double)(p->nKeys * BENCH_ENTRY_BYTES);
  pRow->rPeakRssMb = bench_peak_rss_mb();
  amp_row_latency(pRow, p->pHist);
  return 0;
}

/* Put every key once in a random order (seed iSeed), generation iGen, each timed. */
static int amp_puts(amp_child *p, const char *zWorkload, uint64_t iSeed, uint32_t iGen,
                    bench_row *pRow){
  char aKey[BENCH_KEY_BYTES], aVal[BENCH_VAL_BYTES];
  bench_perm perm;
  amp_phase ph;
  uint64_t j;
  int rc;
  bench_perm_init(&perm, p->nKeys, iSeed);
  memset(p->pHist, 0, sizeof(*p->pHist));
  p->pHistCommit = p->pHistCommitAll;
  amp_phase_begin(p, &ph, zWorkload);
  rc = amp_txn_begin(p);
  for(j = 0; rc == 0 && j < p->nKeys; j++){
    uint64_t i = bench_perm_at(&perm, j);
    double t0;
    bench_key(aKey, i, 0);
    bench_value(aVal, i, iGen);
    t0 = bench_now();
    rc = p->pEng->xPut(p->pStore, aKey, sizeof(aKey), aVal, sizeof(aVal));
    amp_hist_add(p->pHist, bench_now() - t0);
    if( rc == 0 ) rc = amp_txn_tick(p);
  }
  if( rc == 0 ) rc = amp_txn_end(p);
  p->pHistCommit = 0;
  if( rc ) return amp_fail(p, "put failed");
  rc = amp_write_end(p, &ph, p->nKeys, pRow);
  amp_hist_merge(p->pHistAll, p->pHist);
  return rc;
}

/* The value read for key(i) must be value(i, 1): every key was overwritten. */
static int amp_check_value(amp_child *p, uint64_t i, const char *pVal, size_t nVal){
  char aWant[BENCH_VAL_BYTES];
  bench_value(aWant, i, 1);
  if( nVal != BENCH_VAL_BYTES || memcmp(pVal, aWant, BENCH_VAL_BYTES) != 0 ){
    return amp_fail(p, "key index %llu: wrong value (%zu bytes)", (unsigned long long)i, nVal);
  }
  return 0;
}

/* The iterator's entry must be key(iWant) with its value. */
static int amp_check_entry(amp_child *p, bench_iter *pIter, uint64_t iWant){
  const char *pKey, *pVal;
  size_t nKey, nVal;
  uint64_t i;
  p->pEng->xIterEntry(pIter, &pKey, &nKey, &pVal, &nVal);
  if( bench_key_parse(pKey, nKey, &i) || i != iWant ){
    return amp_fail(p, "iterator at a wrong key (%zu bytes) where index %llu was due", nKey,
                    (unsigned long long)iWant);
  }
  return amp_check_value(p, i, pVal, nVal);
}

static void amp_perf_enable(amp_child *p, int bOn){
  if( p->pAmp->eKind != AMP_ROCKSDB ) return;
  rocksdb_set_perf_level(bOn ? rocksdb_enable_count : rocksdb_disable);
  if( bOn && !p->pPerf ){
    p->pPerf = rocksdb_perfcontext_create();
    if( p->pPerf ) rocksdb_perfcontext_reset(p->pPerf);
  }
}

/* R gets of random keys, every answer checked. */
static int amp_gets(amp_child *p, bench_row *pRow){
  char aKey[BENCH_KEY_BYTES];
  bench_rng rng = { p->pCfg->iSeed * 16 + AMP_SEED_GET };
  amp_phase ph;
  uint64_t j;
  double tEnd;
  int rc;
  amp_perf_enable(p, 1);
  amp_phase_begin(p, &ph, "readrandom");
  rc = amp_txn_begin(p);
  for(j = 0; rc == 0 && j < p->nReads; j++){
    if( j % 1000 == 0 && j > 0 && bench_now() - ph.tStart > amp_read_secs() ) break;
    uint64_t i = bench_rng_below(&rng, p->nKeys);
    const char *pVal = 0;
    size_t nVal = 0;
    int bFound = 0;
    bench_key(aKey, i, 0);
    rc = p->pEng->xGet(p->pStore, aKey, sizeof(aKey), &bFound, &pVal, &nVal);
    if( rc ) return amp_fail(p, "get failed");
    if( !bFound ) return amp_fail(p, "get of key index %llu: not found", (unsigned long long)i);
    rc = amp_check_value(p, i, pVal, nVal);
    if( rc == 0 ) rc = amp_txn_tick(p);
  }
  if( rc == 0 ) rc = amp_txn_end(p);
  tEnd = bench_now();
  amp_perf_enable(p, 0);
  if( rc ) return rc;
  amp_row_init(p, pRow, "readrandom");
  pRow->nOps = j;
  pRow->rSecs = tEnd - ph.tStart;
  pRow->rReadAmp = amp_read_amp(p, &ph, 0, j);
  pRow->rSpaceAmp = (double)bench_dir_bytes(p->zStoreDir) / (double)(p->nKeys * BENCH_ENTRY_BYTES);
  pRow->rPeakRssMb = bench_peak_rss_mb();
  return 0;
}

/* R seeks to random keys, each on a new iterator, then nSeekNext nexts. */
static int amp_seeks(amp_child *p, bench_row *pRow){
  char aKey[BENCH_KEY_BYTES];
  bench_rng rng = { p->pCfg->iSeed * 16 + AMP_SEED_SEEK };
  amp_phase ph;
  uint64_t j;
  double tEnd;
  int rc;
  amp_perf_enable(p, 1);
  amp_phase_begin(p, &ph, "seekrandom");
  rc = amp_txn_begin(p);
  for(j = 0; rc == 0 && j < p->nReads; j++){
    if( j % 1000 == 0 && j > 0 && bench_now() - ph.tStart > amp_read_secs() ) break;
    uint64_t i = bench_rng_below(&rng, p->nKeys);
    bench_iter *pIter = 0;
    int k;
    bench_key(aKey, i, 0);
    rc = p->pEng->xIterOpen(p->pStore, &pIter);
    if( rc == 0 ) rc = p->pEng->xIterSeek(pIter, aKey, sizeof(aKey));
    for(k = 0; rc == 0 && k <= p->pEng->nSeekNext; k++){
      int bValid;
      if( k > 0 ) rc = p->pEng->xIterNext(pIter);
      if( rc ) break;
      bValid = p->pEng->xIterValid(pIter);
      if( i + (uint64_t)k >= p->nKeys ){
        if( bValid ) rc = amp_fail(p, "an entry after the last key");
        break;
      }
      if( !bValid ){
        rc = amp_fail(p, "seek to index %llu: no entry %d", (unsigned long long)i, k);
        break;
      }
      rc = amp_check_entry(p, pIter, i + (uint64_t)k);
    }
    if( pIter ) p->pEng->xIterClose(pIter);
    if( rc == 0 ) rc = amp_txn_tick(p);
  }
  if( rc == 0 ) rc = amp_txn_end(p);
  tEnd = bench_now();
  amp_perf_enable(p, 0);
  if( rc ) return rc;
  amp_row_init(p, pRow, "seekrandom");
  pRow->nOps = j;
  pRow->rSecs = tEnd - ph.tStart;
  pRow->rReadAmp = amp_read_amp(p, &ph, 1, j);
  pRow->rSpaceAmp = (double)bench_dir_bytes(p->zStoreDir) / (double)(p->nKeys * BENCH_ENTRY_BYTES);
  pRow->rPeakRssMb = bench_peak_rss_mb();
  return 0;
}

/* Untimed: the whole store holds exactly key(0..N-1), in order, generation 1. */
static int amp_scan_check(amp_child *p){
  bench_iter *pIter = 0;
  uint64_t n = 0;
  int rc;
  p->zWorkload = "check scan";
  rc = p->pEng->xIterOpen(p->pStore, &pIter);
  if( rc == 0 ) rc = p->pEng->xIterFirst(pIter);
  while( rc == 0 && p->pEng->xIterValid(pIter) ){
    if( n >= p->nKeys ){
      rc = amp_fail(p, "more than %llu keys", (unsigned long long)p->nKeys);
      break;
    }
    rc = amp_check_entry(p, pIter, n);
    n++;
    if( rc == 0 ) rc = p->pEng->xIterNext(pIter);
  }
  if( pIter ) p->pEng->xIterClose(pIter);
  if( rc == 0 && n != p->nKeys ){
    rc = amp_fail(p, "scan saw %llu keys, %llu were written", (unsigned long long)n,
                  (unsigned long long)p->nKeys);
  }
  return rc;
}

/* One line on the store's shape and what else explains its numbers. */
static void amp_print_shape(amp_child *p){
  char zLine[1024];
  size_t j = 0;
  zLine[0] = 0;
  if( p->pAmp->eKind == AMP_LSM ){
    lsm_stats st;
    int i;
    if( lsm_stats_get(bench_lsm_db(p->pStore), &st) == LSM_OK ){
      for(i = 0; i < LSM_MAX_LEVELS && j < sizeof(zLine); i++){
        if( st.aLevel[i].nFiles == 0 ) continue;
        j += (size_t)snprintf(zLine + j, sizeof(zLine) - j, "%sL%d %llu files %.0f MB",
                              j ? ", " : "", i, (unsigned long long)st.aLevel[i].nFiles,
                              (double)st.aLevel[i].nBytes / 1048576.0);
      }
      /* Where the write amplification comes from: bytes written per user
      ** byte by the WAL, by flushes, and by compactions into each level. */
      if( j < sizeof(zLine) && st.nUserBytesWritten ){
        double nUser = (double)st.nUserBytesWritten;
        j += (size_t)snprintf(zLine + j, sizeof(zLine) - j, "; written per user byte: WAL %.2f",
                              (double)st.nWalBytesWritten / nUser);
        for(i = 0; i < LSM_MAX_LEVELS && j < sizeof(zLine); i++){
          if( st.aLevel[i].nBytesWrittenByCompaction == 0 ) continue;
          j += (size_t)snprintf(zLine + j, sizeof(zLine) - j, " + %s%d %.2f",
                                i ? "L" : "flush L", i,
                                (double)st.aLevel[i].nBytesWrittenByCompaction / nUser);
        }
      }
      if( j < sizeof(zLine) ){
        j += (size_t)snprintf(zLine + j, sizeof(zLine) - j,
                              "; %llu flushes, %llu compactions; Bloom: %llu checks, "
                              "false-positive rate %.2f%% (of tables without the key); "
                              "%llu stalls, %.0f ms stalled",
                              (unsigned long long)st.nFlushes,
                              (unsigned long long)st.nCompactions,
                              (unsigned long long)st.nBloomChecks,
                              st.nBloomNegatives + st.nBloomFalsePositives
                                ? 100.0 * (double)st.nBloomFalsePositives
                                  / (double)(st.nBloomNegatives + st.nBloomFalsePositives) : 0.0,
                              (unsigned long long)st.nStalls, (double)st.nStallMicros / 1000.0);
      }
    }
  }else if( p->pAmp->eKind == AMP_LEVELDB ){
    char zShape[256];
    uint64_t nRuns = amp_leveldb_runs(p, zShape, sizeof(zShape));
    snprintf(zLine, sizeof(zLine), "files per level: %s (%llu sorted runs)", zShape,
             (unsigned long long)nRuns);
  }else if( (p->pAmp->eKind == AMP_SQLITE || p->pAmp->eKind == AMP_INDB) && p->nCommits ){
    snprintf(zLine, sizeof(zLine), "%llu commits of %d puts: mean %.0f us, slowest %.1f ms "
             "(not in the put latencies)", (unsigned long long)p->nCommits, BENCH_TXN_ROWS,
             p->rCommitSecs / (double)p->nCommits * 1e6, p->rCommitMaxSecs * 1e3);
  }
  if( zLine[0] ) printf("    %s: %s\n", p->pEng->zName, zLine);
}

int bench_amp_run(const bench_engine *pEng, const bench_config *pCfg, int fdOut){
  amp_child ctx;
  amp_child *p = &ctx;
  bench_row aRow[5];
  amp_phase whole;             /* the whole experiment: the "total" row */
  uint64_t s = pCfg->iSeed;
  int rc = 0, i;

  memset(p, 0, sizeof(*p));
  memset(aRow, 0, sizeof(aRow));
  p->pAmp = amp_engine_of(pEng);
  p->pEng = pEng;
  p->pCfg = pCfg;
  p->fdOut = fdOut;
  p->nKeys = amp_keys();
  p->nReads = amp_reads();
  if( !p->pAmp ) return amp_fail(p, "not an engine of the experiment");
  p->pHist = calloc(1, sizeof(amp_hist));
  p->pHistAll = calloc(1, sizeof(amp_hist));
  p->pHistCommitAll = calloc(1, sizeof(amp_hist));
  if( !p->pHist || !p->pHistAll || !p->pHistCommitAll ) rc = amp_fail(p, "out of memory");
  bench_value_pool_init(s);
  snprintf(p->zStoreDir, sizeof(p->zStoreDir), "%s/store", pCfg->zDir);
  bench_rmtree(p->zStoreDir);
  if( rc == 0 && pEng->xOpen(p->zStoreDir, &p->pStore) ){
    p->pStore = 0;
    rc = amp_fail(p, "cannot open a store in %s", p->zStoreDir);
  }

  if( rc == 0 ) amp_phase_begin(p, &whole, "total");
  if( rc == 0 ) rc = amp_puts(p, "fillrandom", s * 16 + AMP_SEED_FILL, 0, &aRow[0]);
  if( rc == 0 ) rc = amp_puts(p, "overwrite", s * 16 + AMP_SEED_OVERWRITE, 1, &aRow[1]);
  if( rc == 0 ) rc = amp_gets(p, &aRow[2]);
  if( rc == 0 ) rc = amp_seeks(p, &aRow[3]);
  if( rc == 0 ) rc = amp_scan_check(p);
  /* Whatever the reads set off (LevelDB compacts tables that seeks hit
  ** often; a background merge may still be running) is the writes' debt. */
  if( rc == 0 ) rc = amp_settle(p);
  if( rc == 0 ){
    bench_row *pTot = &aRow[4];
    amp_row_init(p, pTot, "total");
    pTot->nOps = 2 * p->nKeys;
    pTot->rSecs = aRow[0].rSecs + aRow[1].rSecs;
    pTot->rSettleSecs = aRow[0].rSettleSecs + aRow[1].rSettleSecs;
    amp_write_amp(p, &whole, 2 * p->nKeys * BENCH_ENTRY_BYTES, pTot);
    pTot->rSpaceAmp = (double)bench_dir_bytes(p->zStoreDir)
                    / (double)(p->nKeys * BENCH_ENTRY_BYTES);
    pTot->rReadAmp = aRow[2].rReadAmp;
    for(i = 0; i < 4; i++){
      if( aRow[i].rPeakRssMb > pTot->rPeakRssMb ) pTot->rPeakRssMb = aRow[i].rPeakRssMb;
    }
    amp_row_latency(pTot, p->pHistAll);
    if( p->pHistCommitAll->n ){
      pTot->rCommitP999Us = amp_hist_quantile_us(p->pHistCommitAll, 0.999);
      pTot->rCommitMaxUs = (double)p->pHistCommitAll->nMax / 1000.0;
    }
    amp_print_shape(p);
  }
  for(i = 0; rc == 0 && i < 5; i++) rc = amp_row_send(p, &aRow[i]);

  if( p->pStore ) pEng->xClose(p->pStore);
  if( p->pPerf ) rocksdb_perfcontext_destroy(p->pPerf);
  bench_rmtree(p->zStoreDir);
  free(p->pHist);
  free(p->pHistAll);
  free(p->pHistCommitAll);
  return rc;
}

/* ---- the parent: table, targets, chart ---- */

const bench_engine *bench_amp_engine(int i){
  if( nAmpEngine < 0 ) amp_engines_init();
  return i >= 0 && i < nAmpEngine ? &aAmpEngine[i].eng : 0;
}

void bench_amp_intro(void){
  uint64_t n = amp_keys(), r = amp_reads();
  printf("\n== amplification experiment: %llu random puts, %llu overwrites, %llu gets, "
         "%llu seeks (+nexts); BENCH_AMP_N=%llu ==\n"
         "  every put timed alone; lsm: sync=normal (log record copied into a mapping), %u MiB memtable, "
         "%d bits/key Bloom, background=on;\n"
         "  LevelDB/RocksDB: the same sizes, sync=false (write(2) per put); lsm-indb (in-database "
         "store) and SQLite\n"
         "  WITHOUT ROWID: journal_mode=WAL, synchronous=NORMAL, %d puts per transaction (put "
         "latency timed inside\n"
         "  the transaction; COMMITs, where lsm-indb flushes and compacts, apart)\n",
         (unsigned long long)n, (unsigned long long)n, (unsigned long long)r,
         (unsigned long long)r, (unsigned long long)n, BENCH_MEMTABLE_BYTES >> 20,
         BENCH_BLOOM_BITS, BENCH_TXN_ROWS);
}

static const bench_row *amp_find(const bench_row *aRow, int nRow, const char *zEngine,
                                 const char *zWorkload){
  int i;
  for(i = 0; i < nRow; i++){
    const bench_row *r = &aRow[i];
    if( !strcmp(r->zLevel, "amp") && !strcmp(r->zEngine, zEngine)
     && !strcmp(r->zWorkload, zWorkload) ) return r;
  }
  return 0;
}

static double amp_ops(const bench_row *r){
  return r && r->rSecs > 0 ? (double)r->nOps / r->rSecs : 0;
}

/* "1,234,567" */
static void amp_commas(char *z, size_t nZ, double r){
  char aDigit[32];
  int n = snprintf(aDigit, sizeof(aDigit), "%.0f", r), i;
  size_t j = 0;
  for(i = 0; i < n && j + 2 < nZ; i++){
    if( i > 0 && (n - i) % 3 == 0 ) z[j++] = ',';
    z[j++] = aDigit[i];
  }
  z[j] = 0;
}

/* "%.*f" of r, or "n/a" when r < 0. */
static const char *amp_num(char *z, size_t nZ, int nDigit, double r){
  if( r < 0 ) snprintf(z, nZ, "n/a"); else snprintf(z, nZ, "%.*f", nDigit, r);
  return z;
}

/* Print one target; count it. */
static void amp_target(int *pnTargets, int *pnMet, int bMet, const char *zFmt, ...){
  va_list ap;
  printf("  target: ");
  va_start(ap, zFmt);
  vprintf(zFmt, ap);
  va_end(ap);
  printf(": %s\n", bMet ? "met" : "MISSED");
  (*pnTargets)++;
  *pnMet += bMet;
}

void bench_amp_report(const bench_row *aRow, int nRow, int *pnTargets, int *pnMet){
  bench_chart_point aPt[6];
  int nPt = 0, i;
  const char *zSvg = getenv("BENCH_AMP_SVG");
  const bench_row *pLev, *pTier, *pLdb;
  char zTitle[256];

  printf("\n%-12s %10s %10s %9s %6s %6s %7s %7s %6s %7s %7s %8s %8s %6s %16s\n", "engine",
         "puts/s", "gets/s", "seeks/s", "w-amp", "(own)", "r/get", "r/seek", "s-amp",
         "p50 us", "p99 us", "p99.9 us", "max ms", "rss MB", "COMMIT p99.9/max");
  for(i = 0; bench_amp_engine(i); i++){
    const char *zE = bench_amp_engine(i)->zName;
    const bench_row *pTot = amp_find(aRow, nRow, zE, "total");
    const bench_row *pGet = amp_find(aRow, nRow, zE, "readrandom");
    const bench_row *pSeek = amp_find(aRow, nRow, zE, "seekrandom");
    char zPut[32], zGet[32], zSeek[32], a[8][16], zCommit[40] = "";
    if( !pTot || !pGet || !pSeek ){
      printf("%-12s (no result: see above)\n", zE);
      continue;
    }
    amp_commas(zPut, sizeof(zPut), amp_ops(pTot));
    amp_commas(zGet, sizeof(zGet), amp_ops(pGet));
    amp_commas(zSeek, sizeof(zSeek), amp_ops(pSeek));
    if( pTot->rCommitMaxUs >= 0 ){
      snprintf(zCommit, sizeof(zCommit), "%.1f/%.1f ms", pTot->rCommitP999Us / 1000.0,
               pTot->rCommitMaxUs / 1000.0);
    }
    printf("%-12s %10s %10s %9s %6s %6s %7s %7s %6s %7s %7s %8s %8.1f %6.0f %16s\n", zE, zPut, zGet,
           zSeek, amp_num(a[0], 16, 2, pTot->rWriteAmp), amp_num(a[1], 16, 2, pTot->rOwnWriteAmp),
           amp_num(a[2], 16, 2, pGet->rReadAmp), amp_num(a[3], 16, 1, pSeek->rReadAmp),
           amp_num(a[4], 16, 2, pTot->rSpaceAmp), amp_num(a[5], 16, 1, pTot->rP50Us),
           amp_num(a[6], 16, 1, pTot->rP99Us), amp_num(a[7], 16, 1, pTot->rP999Us),
           pTot->rMaxUs / 1000.0, pTot->rPeakRssMb, zCommit);
    if( pGet->nOps < amp_reads() || pSeek->nOps < amp_reads() ){
      printf("%-12s   (reads stopped after BENCH_AMP_READ_SECS=%.0f s: %llu gets, %llu seeks)\n",
             "", amp_read_secs(), (unsigned long long)pGet->nOps,
             (unsigned long long)pSeek->nOps);
    }
    if( nPt < 6 ){
      bench_chart_point *pPt = &aPt[nPt++];
      pPt->zEngine = zE;
      pPt->rWriteAmp = pTot->rWriteAmp;
      pPt->rGetAmp = pGet->rReadAmp;
      pPt->rSeekAmp = pSeek->rReadAmp;
      pPt->rSpaceAmp = pTot->rSpaceAmp;
    }
  }
  printf("  puts/s over both write phases (settling untimed); w-amp = bytes handed to write(2) "
         "(wchar) during the whole\n"
         "  experiment / user bytes (116 per put); (own) = lsm's own counters; "
         "r/get = SSTables searched\n"
         "  per get; r/seek = sorted runs positioned per seek; s-amp = directory bytes / live "
         "bytes at the end; put latency\n"
         "  over all 2N puts.  n/a: LevelDB counts no tables per get; SQLite's B-tree pages are "
         "not SSTables.\n"
         "  per-phase rows (fillrandom, overwrite, readrandom, seekrandom, total) are in the csv.\n");

  pLev = amp_find(aRow, nRow, "lsm-leveled", "total");
  pTier = amp_find(aRow, nRow, "lsm-tiered", "total");
  pLdb = amp_find(aRow, nRow, "leveldb", "total");
  if( pLev && pLdb ){
    amp_target(pnTargets, pnMet, pLev->rWriteAmp <= pLdb->rWriteAmp,
               "lsm-leveled write amp %.2f <= LevelDB's %.2f", pLev->rWriteAmp, pLdb->rWriteAmp);
  }
  if( pLev && pTier ){
    amp_target(pnTargets, pnMet, pTier->rWriteAmp <= 0.5 * pLev->rWriteAmp,
               "lsm-tiered write amp %.2f <= half of lsm-leveled's (%.2f)", pTier->rWriteAmp,
               0.5 * pLev->rWriteAmp);
  }
  {
    const bench_row *pG = amp_find(aRow, nRow, "lsm-leveled", "readrandom");
    const bench_row *pL = amp_find(aRow, nRow, "leveldb", "readrandom");
    if( pG && pL && amp_ops(pL) > 0 ){
      double r = amp_ops(pG) / amp_ops(pL);
      amp_target(pnTargets, pnMet, r >= 2.0, "lsm-leveled readrandom %.2fx LevelDB's >= 2x", r);
    }
  }
  for(i = 0; i < 2; i++){
    const bench_row *r = i == 0 ? pLev : pTier;
    if( !r ) continue;
    amp_target(pnTargets, pnMet, r->rMaxUs < AMP_MAX_PUT_US,
               "%s slowest put %.2f ms < %.0f ms", r->zEngine, r->rMaxUs / 1000.0,
               AMP_MAX_PUT_US / 1000.0);
    amp_target(pnTargets, pnMet, r->rP999Us >= 0 && r->rP999Us < AMP_MAX_P999_US,
               "%s put p99.9 %.1f us < %.0f us", r->zEngine, r->rP999Us, AMP_MAX_P999_US);
  }

  if( nPt > 0 ){
    char zN[32], zR[32];
    if( !zSvg || !zSvg[0] ) zSvg = "bench-amp.svg";
    amp_commas(zN, sizeof(zN), (double)amp_keys());
    amp_commas(zR, sizeof(zR), (double)amp_reads());
    snprintf(zTitle, sizeof(zTitle), "Amplification: %s random puts, %s overwrites, "
             "%s gets and %s seeks", zN, zN, zR, zR);
    if( bench_chart_write(zSvg, zTitle, aPt, nPt) == 0 ) printf("  chart: %s\n", zSvg);
  }
}

void bench_amp_csv_columns(const bench_row *r, char *z, size_t nZ){
  char a[5][32];
  const double ar[5] = { r->rReadAmp, r->rP50Us, r->rP99Us, r->rP999Us, r->rMaxUs };
  int i;
  for(i = 0; i < 5; i++){
    a[i][0] = 0;
    if( !strcmp(r->zLevel, "amp") && ar[i] >= 0 ) snprintf(a[i], sizeof(a[i]), "%.3f", ar[i]);
  }
  snprintf(z, nZ, ",%s,%s,%s,%s,%s", a[0], a[1], a[2], a[3], a[4]);
}
