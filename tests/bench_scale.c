/*
** bench_scale.c — `make bench-scale`: how the costs of one store grow with
** its size, and what block compression buys (issue 13).  Not part of
** `make test` or `make bench`: it takes from minutes (1M keys) to hours.
**
**   make bench-scale                                  sizes 1M 5M 20M 50M, both policies
**   BENCH_SCALE_SIZES=1000000,5000000 make bench-scale
**   BENCH_SCALE_EXPERIMENT=compression make bench-scale   lsm none/lz4/zstd vs LevelDB
**
** SCALE (the default experiment).  For each policy (BENCH_SCALE_POLICIES,
** default "leveled,tiered") and size N (BENCH_SCALE_SIZES), a child
** process opens a new directory store with the default options (and
** BENCH_SCALE_COMPRESSION / BENCH_SCALE_MMAP when given), then:
**   fill       N puts of 16-byte keys and 100-byte values in random order,
**              every put timed (the slowest is reported)
**   overwrite  N/10 random keys put again
**   (waits until the background threads stop writing)
**   gets       G random gets of live keys (BENCH_SCALE_GETS, default
**              200,000), each timed: p99 and p99.9 latency
**   seeks      G/4 random seeks, each followed by 10 nexts
**   scan       every key, in order
**   gets again G random gets, after the scan has read every block once
**              (the steady state of a process serving for a while; the
**              first gets of a fresh process pay the first touch of most
**              pages of its mapped tables, dear on a virtual machine)
** and reports puts/s, gets/s (first and after the scan), seeks/s, scanned keys/s, write amplification
** (bytes the process handed to write(2) until the store was quiet, per
** user byte put: WAL, flushes and compactions, compressed), read
** amplification (SSTables searched per get), space amplification (bytes
** of the store's directory / live key+value bytes), heap in use after
** the gets (mallinfo2: bytes malloc has handed out and not got back,
** plus the block cache's slabs, lsm_block_cache_mapped_bytes; mapped
** file pages excluded), open file descriptors, and peak RSS (which
** includes the mapped pages of the SSTables the process touched).
** Values compress about 2:1, as LevelDB's db_bench makes them: 50 bytes
** (the key's number, the generation, 38 random printable characters)
** written twice.
** BENCH_SCALE_POLICIES may also name leveldb-snappy or leveldb-none, to
** run Debian's LevelDB through the same steps (its read amp is 0: n/a).
** Output: a table, build/bench-scale.csv and build/bench-scale.svg (one
** panel per measure, size on a log axis, one line per policy).
**
** COMPRESSION.  N = BENCH_N (default 1,000,000) keys, 2:1 compressible
** values, for lsm with compression none, lz4 and zstd (leveled) and
** LevelDB with Snappy and without: fill random, overwrite every key,
** G random gets, then a full compaction; reports puts/s, gets/s, and
** space amplification after the compaction (directory bytes / live
** bytes).  BENCH_SCALE_STORES (e.g. "lsm-lz4,leveldb-snappy") picks some.
*/

#include <dirent.h>
#include <leveldb/c.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "lsm.h"

#define SCALE_MAX_ROWS 64

/* One measured store at one size. */
typedef struct scale_row {
  char zName[32];          /* policy, or store for the compression run */
  uint64_t n;              /* keys                                      */
  double rPuts, rGets, rSeeks, rScan;   /* operations per second        */
  double rGetsWarm;        /* gets/s after the scan touched every block */
  double rGetCpuUs, rGetWarmCpuUs;      /* the process's CPU per get    */
  double rWamp, rRamp, rSamp;           /* amplification                */
  double rHeapMb;          /* mallinfo2 in use after the gets           */
  int nFd;                 /* open descriptors after the gets           */
  double rP99Us, rP999Us;  /* get latency (the first gets)              */
  double rSlowPutMs;       /* slowest put                               */
  double rRssMb;           /* peak RSS                                  */
  int nTables;             /* SSTables                                  */
  int bOk;                 /* the child finished and every answer was right */
} scale_row;

static const char *scale_env(const char *zName, const char *zDefault){
  const char *z = getenv(zName);
  return z && z[0] ? z : zDefault;
}

/* ---- values: 2:1 compressible ---- */

static char aPrintable[64 * 1024];

static void value_pool_init(void){
  bench_rng r = { 0x5ca1e5ca1eull };
  size_t i;
  for(i = 0; i < sizeof(aPrintable); i++) aPrintable[i] = (char)(' ' + bench_rng_below(&r, 95));
}

static void scale_value(char *a, uint64_t i, uint32_t iGen){
  uint64_t off = bench_mix64(i * 2 + iGen) % (sizeof(aPrintable) - 38);
  int j;
  for(j = 0; j < 8; j++) a[j] = (char)(i >> (8 * j));
  for(j = 0; j < 4; j++) a[8 + j] = (char)(iGen >> (8 * j));
  memcpy(a + 12, &aPrintable[off], 38);
  memcpy(a + 50, a, 50);
}

static int value_ok(const char *a, size_t n, uint64_t i){
  uint64_t v = 0;
  int j;
  if( n != BENCH_VAL_BYTES ) return 0;
  for(j = 0; j < 8; j++) v |= (uint64_t)(uint8_t)a[j] << (8 * j);
  return v == i;
}

/* ---- measurements ---- */

static double heap_in_use_mb(void){
  struct mallinfo2 m = mallinfo2();
  return (double)(m.uordblks + m.hblkhd + lsm_block_cache_mapped_bytes()) / 1048576.0;
}

static int open_fds(void){
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int n = 0;
  if( d == NULL ) return -1;
  while( (e = readdir(d)) != NULL ) if( e->d_name[0] != '.' ) n++;
  closedir(d);
  return n - 1;             /* the directory's own descriptor */
}

static int cmp_double(const void *a, const void *b){
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

/* ---- the stores ---- */

typedef struct scale_store {
  lsm_db *pLsm;
  leveldb_t *pLdb;
  leveldb_options_t *pLopt;
  leveldb_cache_t *pLcache;
  const leveldb_filterpolicy_t *pLfilter;
  leveldb_writeoptions_t *pLw;
  leveldb_readoptions_t *pLr;
} scale_store;

static int store_put(scale_store *p, const char *k, const char *v){
  if( p->pLsm ) return lsm_put(p->pLsm, k, BENCH_KEY_BYTES, v, BENCH_VAL_BYTES);
  {
    char *zErr = NULL;
    leveldb_put(p->pLdb, p->pLw, k, BENCH_KEY_BYTES, v, BENCH_VAL_BYTES, &zErr);
    if( zErr ){ fprintf(stderr, "leveldb put: %s\n", zErr); leveldb_free(zErr); return 1; }
    return 0;
  }
}

/* 0 if key i reads back right. */
static int store_get(scale_store *p, uint64_t i){
  char k[BENCH_KEY_BYTES];
  int bad;
  bench_key(k, i, 0);
  if( p->pLsm ){
    void *pVal = NULL;
    size_t nVal = 0;
    int rc = lsm_get(p->pLsm, NULL, k, sizeof(k), &pVal, &nVal);
    bad = rc != LSM_OK || !value_ok(pVal, nVal, i);
    lsm_free(pVal);
  }else{
    char *zErr = NULL;
    size_t nVal = 0;
    char *pVal = leveldb_get(p->pLdb, p->pLr, k, sizeof(k), &nVal, &zErr);
    bad = zErr != NULL || pVal == NULL || !value_ok(pVal, nVal, i);
    leveldb_free(pVal);
    leveldb_free(zErr);
  }
  return bad;
}

static int store_open(scale_store *p, const char *zDir, const char *zKind, int iCompaction){
  memset(p, 0, sizeof(*p));
  if( strncmp(zKind, "leveldb", 7) == 0 ){
    char *zErr = NULL;
    p->pLopt = leveldb_options_create();
    leveldb_options_set_create_if_missing(p->pLopt, 1);
    leveldb_options_set_write_buffer_size(p->pLopt, BENCH_MEMTABLE_BYTES);
    leveldb_options_set_block_size(p->pLopt, BENCH_BLOCK_BYTES);
    p->pLcache = leveldb_cache_create_lru(BENCH_CACHE_BYTES);
    leveldb_options_set_cache(p->pLopt, p->pLcache);
    p->pLfilter = leveldb_filterpolicy_create_bloom(BENCH_BLOOM_BITS);
    leveldb_options_set_filter_policy(p->pLopt, (leveldb_filterpolicy_t*)p->pLfilter);
    leveldb_options_set_compression(p->pLopt, strcmp(zKind, "leveldb-snappy") == 0
                                    ? leveldb_snappy_compression : leveldb_no_compression);
    p->pLdb = leveldb_open(p->pLopt, zDir, &zErr);
    if( zErr ){ fprintf(stderr, "leveldb open: %s\n", zErr); return 1; }
    p->pLw = leveldb_writeoptions_create();
    p->pLr = leveldb_readoptions_create();
    return 0;
  }else{
    lsm_options opt;
    const char *z;
    int rc;
    lsm_options_default(&opt);
    opt.sync = LSM_SYNC_OFF;
    opt.compaction = iCompaction;
    z = scale_env("BENCH_SCALE_MMAP", "");
    if( z[0] ) opt.use_mmap = atoi(z);
    z = scale_env("BENCH_SCALE_CACHE_MB", "");
    if( z[0] ) opt.block_cache_bytes = (uint64_t)(atof(z) * 1048576);
#ifdef LSM_COMPRESSION_NONE
    z = strchr(zKind, '-') ? strchr(zKind, '-') + 1 : scale_env("BENCH_SCALE_COMPRESSION", "");
    if( strcmp(z, "none") == 0 ) opt.compression = LSM_COMPRESSION_NONE;
    if( strcmp(z, "lz4") == 0 ) opt.compression = LSM_COMPRESSION_LZ4;
    if( strcmp(z, "zstd") == 0 ) opt.compression = LSM_COMPRESSION_ZSTD;
#endif
    rc = lsm_open(zDir, &opt, &p->pLsm);
    if( rc ){ fprintf(stderr, "lsm_open: %s\n", lsm_errmsg(NULL)); return 1; }
    return 0;
  }
}

static void store_close(scale_store *p){
  if( p->pLsm ) lsm_close(p->pLsm);
  if( p->pLdb ){
    leveldb_close(p->pLdb);
    leveldb_options_destroy(p->pLopt);
    leveldb_cache_destroy(p->pLcache);
    leveldb_filterpolicy_destroy((leveldb_filterpolicy_t*)p->pLfilter);
    leveldb_writeoptions_destroy(p->pLw);
    leveldb_readoptions_destroy(p->pLr);
  }
}

/* ---- the child: one store, one size ---- */

/* CPU seconds (user + system) between two getrusage samples. */
static double cpu_between(const struct rusage *a, const struct rusage *b){
  return (double)(b->ru_utime.tv_sec - a->ru_utime.tv_sec + b->ru_stime.tv_sec - a->ru_stime.tv_sec)
       + (double)(b->ru_utime.tv_usec - a->ru_utime.tv_usec + b->ru_stime.tv_usec - a->ru_stime.tv_usec) / 1e6;
}

/*
** nGets random gets of live keys, each timed: *pRate gets/s, *pCpuUs the
** process's CPU per get, *pP99Us and *pP999Us (when not NULL) the
** latencies.  Returns the number of wrong answers.
*/
static uint64_t timed_gets(scale_store *pSt, bench_rng *pR, uint64_t n, uint64_t nGets,
                           double *pRate, double *pCpuUs, double *pP99Us, double *pP999Us){
  double *aLat = malloc(sizeof(double) * (size_t)(nGets ? nGets : 1));
  struct rusage ru0, ru1;
  uint64_t i, nErr = 0;
  double t0;
  if( aLat == NULL ) return 1;
  getrusage(RUSAGE_SELF, &ru0);
  t0 = bench_now();
  for(i = 0; i < nGets; i++){
    double t = bench_now();
    nErr += (uint64_t)store_get(pSt, bench_rng_below(pR, n));
    aLat[i] = bench_now() - t;
  }
  *pRate = (double)nGets / (bench_now() - t0);
  getrusage(RUSAGE_SELF, &ru1);
  *pCpuUs = nGets ? cpu_between(&ru0, &ru1) * 1e6 / (double)nGets : 0;
  qsort(aLat, (size_t)nGets, sizeof(double), cmp_double);
  if( nGets && pP99Us ){
    *pP99Us = aLat[(size_t)(nGets * 0.99)] * 1e6;
    *pP999Us = aLat[(size_t)(nGets * 0.999)] * 1e6;
  }
  free(aLat);
  return nErr;
}

static void run_one(const char *zKind, int iCompaction, uint64_t n, int bCompressionRun,
                    scale_row *pRow){
  char zDir[512];
  scale_store st;
  bench_perm perm;
  lsm_stats s0, s1;
  double t0, rSlow = 0;
  uint64_t i, nGets = (uint64_t)atoll(scale_env("BENCH_SCALE_GETS", "200000"));
  uint64_t nOver = bCompressionRun ? n : n / 10, nErr = 0;
  bench_rng r = { 42 };
  char k[BENCH_KEY_BYTES], v[BENCH_VAL_BYTES];
  uint64_t nWchar0;
  struct rusage ru0, ru1;

  snprintf(zDir, sizeof(zDir), "%s/scale-%s-%llu", scale_env("BENCH_SCALE_DIR", "build"),
           zKind, (unsigned long long)n);
  bench_rmtree(zDir);
  if( store_open(&st, zDir, zKind, iCompaction) ) return;
  bench_peak_rss_reset();
  nWchar0 = bench_wchar();
  bench_perm_init(&perm, n, 1);

  /* fill */
  t0 = bench_now();
  for(i = 0; i < n; i++){
    uint64_t j = bench_perm_at(&perm, i);
    double tPut;
    bench_key(k, j, 0);
    scale_value(v, j, 0);
    tPut = bench_now();
    if( store_put(&st, k, v) ) return;
    tPut = bench_now() - tPut;
    if( tPut > rSlow ) rSlow = tPut;
  }
  pRow->rPuts = (double)n / (bench_now() - t0);
  /* overwrite */
  for(i = 0; i < nOver; i++){
    uint64_t j = bCompressionRun ? bench_perm_at(&perm, i) : bench_rng_below(&r, n);
    double tPut;
    bench_key(k, j, 0);
    scale_value(v, j, 1);
    tPut = bench_now();
    if( store_put(&st, k, v) ) return;
    tPut = bench_now() - tPut;
    if( tPut > rSlow ) rSlow = tPut;
  }
  pRow->rSlowPutMs = rSlow * 1000;
  bench_wait_quiet(2000, 3600 * 1000);
  /* Bytes this process handed to write(2), whatever the engine. */
  pRow->rWamp = (double)(bench_wchar() - nWchar0) / ((double)(n + nOver) * BENCH_ENTRY_BYTES);
  if( st.pLsm ) lsm_stats_get(st.pLsm, &s0);

  /* gets */
  getrusage(RUSAGE_SELF, &ru0);
  nErr += timed_gets(&st, &r, n, nGets, &pRow->rGets, &pRow->rGetCpuUs, &pRow->rP99Us,
                     &pRow->rP999Us);
  getrusage(RUSAGE_SELF, &ru1);
  pRow->rHeapMb = heap_in_use_mb();
  pRow->nFd = open_fds();
  if( st.pLsm ){
    lsm_stats_get(st.pLsm, &s1);
    pRow->rRamp = s1.nGets > s0.nGets
      ? (double)(s1.nGetSstProbes - s0.nGetSstProbes) / (double)(s1.nGets - s0.nGets) : 0;
    fprintf(stderr, "%s %llu: %llu tables open holding %.1f MiB of heap; gets took %.1f us of CPU and %.2f page faults each (%.3f major); gets reopened %llu tables (%.3f per get), block cache hits %llu misses %llu\n",
            zKind, (unsigned long long)n,
            (unsigned long long)s1.nTablesOpen, (double)s1.nTableCacheBytes / 1048576.0,
            pRow->rGetCpuUs,
            nGets ? (double)(ru1.ru_minflt - ru0.ru_minflt + ru1.ru_majflt - ru0.ru_majflt) / (double)nGets : 0.0,
            nGets ? (double)(ru1.ru_majflt - ru0.ru_majflt) / (double)nGets : 0.0,
            (unsigned long long)(s1.nTableCacheMisses - s0.nTableCacheMisses),
            nGets ? (double)(s1.nTableCacheMisses - s0.nTableCacheMisses) / (double)nGets : 0.0,
            (unsigned long long)(s1.nBlockCacheHits - s0.nBlockCacheHits),
            (unsigned long long)(s1.nBlockCacheMisses - s0.nBlockCacheMisses));
  }

  if( !bCompressionRun ){
    /* seeks, then a full scan */
    uint64_t nSeeks = nGets / 4;
    lsm_cursor *pCsr;
    uint64_t nScan = 0;
    if( st.pLdb ){
      leveldb_iterator_t *pIt = leveldb_create_iterator(st.pLdb, st.pLr);
      t0 = bench_now();
      for(i = 0; i < nSeeks; i++){
        int kk;
        bench_key(k, bench_rng_below(&r, n), 0);
        leveldb_iter_seek(pIt, k, sizeof(k));
        for(kk = 0; kk < 10 && leveldb_iter_valid(pIt); kk++) leveldb_iter_next(pIt);
      }
      pRow->rSeeks = (double)nSeeks / (bench_now() - t0);
      t0 = bench_now();
      for(leveldb_iter_seek_to_first(pIt); leveldb_iter_valid(pIt); leveldb_iter_next(pIt)) nScan++;
      pRow->rScan = (double)nScan / (bench_now() - t0);
      if( nScan != n ) nErr++;
      leveldb_iter_destroy(pIt);
    }else if( lsm_cursor_open(st.pLsm, NULL, &pCsr) == LSM_OK ){
      t0 = bench_now();
      for(i = 0; i < nSeeks; i++){
        int kk;
        bench_key(k, bench_rng_below(&r, n), 0);
        lsm_cursor_seek(pCsr, k, sizeof(k), LSM_SEEK_GE);
        for(kk = 0; kk < 10 && lsm_cursor_valid(pCsr); kk++) lsm_cursor_next(pCsr);
      }
      pRow->rSeeks = (double)nSeeks / (bench_now() - t0);
      t0 = bench_now();
      for(lsm_cursor_first(pCsr); lsm_cursor_valid(pCsr); lsm_cursor_next(pCsr)) nScan++;
      pRow->rScan = (double)nScan / (bench_now() - t0);
      if( nScan != n ) nErr++;
      lsm_cursor_close(pCsr);
    }
    /* The gets again, now that the scan has read every block once: the
    ** steady state of a process that has been serving for a while.  The
    ** first gets of a fresh process are the first touch of most pages of
    ** its mapped tables, which a virtual machine can make dear (README
    ** "Scale"); at 1M keys the first gets already touch most pages. */
    nErr += timed_gets(&st, &r, n, nGets, &pRow->rGetsWarm, &pRow->rGetWarmCpuUs, NULL, NULL);
    fprintf(stderr, "%s %llu: gets after the scan took %.1f us of CPU each (the first gets %.1f)\n",
            zKind, (unsigned long long)n, pRow->rGetWarmCpuUs, pRow->rGetCpuUs);
  }
  if( bCompressionRun ){
    /* a full compaction, then the space it takes */
    if( st.pLsm ) lsm_compact(st.pLsm, NULL);
    else leveldb_compact_range(st.pLdb, NULL, 0, NULL, 0);
    bench_wait_quiet(1000, 600 * 1000);
  }
  pRow->rSamp = (double)bench_dir_bytes(zDir) / ((double)n * BENCH_ENTRY_BYTES);
  if( st.pLsm ){
    int nFile = 0;
    lsm_file_info *aFile = NULL;
    if( lsm_files(st.pLsm, &aFile, &nFile) == LSM_OK ) pRow->nTables = nFile;
    lsm_free(aFile);
  }
  pRow->rRssMb = bench_peak_rss_mb();
  store_close(&st);
  bench_rmtree(zDir);
  pRow->bOk = nErr == 0;
  if( nErr ) fprintf(stderr, "%s %llu: %llu wrong answers\n", zKind, (unsigned long long)n,
                     (unsigned long long)nErr);
}

/* Run one measurement in a child process; 0 on success. */
static int run_child(const char *zKind, int iCompaction, uint64_t n, int bCompressionRun,
                     scale_row *pRow){
  int aFd[2];
  pid_t pid;
  ssize_t nRead;
  memset(pRow, 0, sizeof(*pRow));
  if( pipe(aFd) ) return 1;
  fflush(stdout);
  pid = fork();
  if( pid == 0 ){
    scale_row row;
    memset(&row, 0, sizeof(row));
    close(aFd[0]);
    snprintf(row.zName, sizeof(row.zName), "%s", zKind);
    row.n = n;
    run_one(zKind, iCompaction, n, bCompressionRun, &row);
    if( write(aFd[1], &row, sizeof(row)) != (ssize_t)sizeof(row) ) _exit(1);
    _exit(0);
  }
  close(aFd[1]);
  nRead = read(aFd[0], pRow, sizeof(*pRow));
  close(aFd[0]);
  waitpid(pid, NULL, 0);
  return nRead != (ssize_t)sizeof(*pRow) || !pRow->bOk;
}

/* ---- the chart: one small panel per measure, log-scaled size ---- */

static void chart_write(const char *zPath, const scale_row *a, int nRow){
  static const struct { const char *zTitle; int iField; } aPanel[] = {
    { "puts/s (fill)", 0 }, { "gets/s (first gets)", 1 }, { "gets/s (after a scan)", 9 },
    { "seeks/s", 2 },
    { "write amplification", 3 }, { "SSTables per get", 4 }, { "space amplification", 5 },
    { "heap in use, MiB", 6 }, { "get p99.9, us", 7 }, { "open descriptors", 8 },
  };
  const int nPanel = (int)(sizeof(aPanel) / sizeof(aPanel[0]));
  const int W = 300, H = 200, nCol = 3;
  double nMin = 1e18, nMax = 0;
  FILE *f = fopen(zPath, "w");
  int iP, i;
  if( f == NULL ) return;
  for(i = 0; i < nRow; i++){
    if( a[i].n < nMin ) nMin = (double)a[i].n;
    if( a[i].n > nMax ) nMax = (double)a[i].n;
  }
  if( nMax <= nMin ) nMax = nMin * 10;
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
             "font-family=\"sans-serif\" font-size=\"11\">\n", W * nCol + 20,
          H * ((nPanel + nCol - 1) / nCol) + 40);
  fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  fprintf(f, "<text x=\"10\" y=\"18\" font-size=\"14\">lsm at 1M to 50M keys "
             "(size on a log axis; blue leveled, orange tiered)</text>\n");
  for(iP = 0; iP < nPanel; iP++){
    double x0 = 10 + (iP % nCol) * W + 45, y0 = 40 + (iP / nCol) * H + 20;
    double w = W - 70, h = H - 60, vMax = 0;
    int iPol;
    for(i = 0; i < nRow; i++){
      const double av[] = { a[i].rPuts, a[i].rGets, a[i].rSeeks, a[i].rWamp, a[i].rRamp,
                            a[i].rSamp, a[i].rHeapMb, a[i].rP999Us, (double)a[i].nFd,
                            a[i].rGetsWarm };
      if( av[aPanel[iP].iField] > vMax ) vMax = av[aPanel[iP].iField];
    }
    if( vMax <= 0 ) vMax = 1;
    vMax *= 1.15;
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", x0, y0 - 6, aPanel[iP].zTitle);
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
               "stroke=\"#888\"/>\n", x0, y0, w, h);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.3g</text>\n", x0 - 3, y0 + 8, vMax);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">0</text>\n", x0 - 3, y0 + h);
    for(i = 0; i < nRow; i++){
      double x = x0 + w * (log10((double)a[i].n) - log10(nMin)) / (log10(nMax) - log10(nMin));
      int bSeen = 0, j;
      for(j = 0; j < i; j++) if( a[j].n == a[i].n ) bSeen = 1;
      if( bSeen ) continue;
      fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%gM</text>\n", x, y0 + h + 13,
              (double)a[i].n / 1e6);
    }
    for(iPol = 0; iPol < 2; iPol++){
      const char *zPol = iPol ? "tiered" : "leveled";
      fprintf(f, "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"%s\" points=\"",
              iPol ? "#e67e22" : "#2e86c1");
      for(i = 0; i < nRow; i++){
        const double av[] = { a[i].rPuts, a[i].rGets, a[i].rSeeks, a[i].rWamp, a[i].rRamp,
                              a[i].rSamp, a[i].rHeapMb, a[i].rP999Us, (double)a[i].nFd,
                              a[i].rGetsWarm };
        double x, y;
        if( strcmp(a[i].zName, zPol) ) continue;
        x = x0 + w * (log10((double)a[i].n) - log10(nMin)) / (log10(nMax) - log10(nMin));
        y = y0 + h - h * av[aPanel[iP].iField] / vMax;
        fprintf(f, "%.1f,%.1f ", x, y);
      }
      fprintf(f, "\"/>\n");
    }
  }
  fprintf(f, "</svg>\n");
  fclose(f);
}

/* ---- main ---- */

static int run_scale(void){
  scale_row aRow[SCALE_MAX_ROWS];
  int nRow = 0, nFail = 0, i;
  char zSizes[512], zPolicies[128], *zSave = NULL, *z;
  FILE *fCsv;
  snprintf(zSizes, sizeof(zSizes), "%s", scale_env("BENCH_SCALE_SIZES", "1000000,5000000,20000000,50000000"));
  snprintf(zPolicies, sizeof(zPolicies), "%s", scale_env("BENCH_SCALE_POLICIES", "leveled,tiered"));
  printf("%-8s %10s %10s %10s %10s %10s %10s %6s %6s %6s %9s %5s %8s %9s %9s %8s %7s\n",
         "policy", "keys", "puts/s", "gets/s", "warm gets", "seeks/s", "scan/s", "w-amp", "r-amp", "s-amp",
         "heap MiB", "fds", "p99 us", "p99.9 us", "slow put", "RSS MiB", "tables");
  for(z = strtok_r(zSizes, ",", &zSave); z; z = strtok_r(NULL, ",", &zSave)){
    uint64_t n = (uint64_t)atoll(z);
    char zP[128], *zSave2 = NULL, *zPol;
    snprintf(zP, sizeof(zP), "%s", zPolicies);
    for(zPol = strtok_r(zP, ",", &zSave2); zPol; zPol = strtok_r(NULL, ",", &zSave2)){
      scale_row *p = &aRow[nRow];
      int iComp = strcmp(zPol, "tiered") == 0 ? LSM_COMPACTION_TIERED : LSM_COMPACTION_LEVELED;
      /* "leveldb-snappy" (or "leveldb-none") runs LevelDB the same way. */
      if( nRow >= SCALE_MAX_ROWS ) break;
      nFail += run_child(zPol, iComp, n, 0, p);
      snprintf(p->zName, sizeof(p->zName), "%s", zPol);
      printf("%-8s %10llu %10.0f %10.0f %10.0f %10.0f %10.0f %6.2f %6.2f %6.2f %9.1f %5d %8.1f %9.1f %7.1fms %8.0f %7d%s\n",
             p->zName, (unsigned long long)p->n, p->rPuts, p->rGets, p->rGetsWarm, p->rSeeks, p->rScan,
             p->rWamp, p->rRamp, p->rSamp, p->rHeapMb, p->nFd, p->rP99Us, p->rP999Us,
             p->rSlowPutMs, p->rRssMb, p->nTables, p->bOk ? "" : "  FAILED");
      fflush(stdout);
      nRow++;
      fCsv = fopen("build/bench-scale.csv", "w");
      if( fCsv ){
        fprintf(fCsv, "policy,keys,puts_s,gets_s,gets_after_scan_s,seeks_s,scan_s,write_amp,read_amp,space_amp,"
                      "heap_mib,fds,get_p99_us,get_p999_us,slowest_put_ms,peak_rss_mib,tables\n");
        for(i = 0; i < nRow; i++){
          const scale_row *q = &aRow[i];
          fprintf(fCsv, "%s,%llu,%.0f,%.0f,%.0f,%.0f,%.0f,%.3f,%.3f,%.3f,%.1f,%d,%.1f,%.1f,%.1f,%.0f,%d\n",
                  q->zName, (unsigned long long)q->n, q->rPuts, q->rGets, q->rGetsWarm, q->rSeeks, q->rScan,
                  q->rWamp, q->rRamp, q->rSamp, q->rHeapMb, q->nFd, q->rP99Us, q->rP999Us,
                  q->rSlowPutMs, q->rRssMb, q->nTables);
        }
        fclose(fCsv);
      }
      chart_write("build/bench-scale.svg", aRow, nRow);
    }
  }
  printf("wrote build/bench-scale.csv and build/bench-scale.svg\n");
  return nFail != 0;
}

static int run_compression(void){
  static const char *azKind[] = { "lsm-none", "lsm-lz4", "lsm-zstd", "leveldb-snappy", "leveldb-none" };
  uint64_t n = (uint64_t)atoll(scale_env("BENCH_N", "1000000"));
  int nFail = 0;
  size_t i;
  printf("%-16s %10s %10s %10s %14s\n", "store", "keys", "puts/s", "gets/s", "space amp (compacted)");
  for(i = 0; i < sizeof(azKind) / sizeof(azKind[0]); i++){
    scale_row row;
    const char *zOnly = scale_env("BENCH_SCALE_STORES", "");
    if( zOnly[0] && strstr(zOnly, azKind[i]) == NULL ) continue;
    nFail += run_child(azKind[i], LSM_COMPACTION_LEVELED, n, 1, &row);
    printf("%-16s %10llu %10.0f %10.0f %14.3f%s\n", azKind[i], (unsigned long long)n,
           row.rPuts, row.rGets, row.rSamp, row.bOk ? "" : "  FAILED");
    fflush(stdout);
  }
  return nFail != 0;
}

int main(void){
  value_pool_init();
  if( strcmp(scale_env("BENCH_SCALE_EXPERIMENT", "scale"), "compression") == 0 ){
    return run_compression();
  }
  return run_scale();
}
