/*
** prof_get.c — where a point get's time goes right after the writes and
** settled (make prof-get; not part of make test or make bench).
**
** Usage:
**
**   build/bench/prof_get N [DIR]
**
** Builds make bench's engine-level store "random" (tests/bench_workload.c):
** fillrandom and overwrite of N keys in the bench's orders and values,
** lsm at the bench's options (sync=normal, 4 MiB memtable, 4 KiB blocks,
** 10 bits/key, background=on; BENCH_COMPRESSION=on for LZ4), then with no
** pause runs N/10 gets of random live keys (the bench's readrandom order),
** then the same gets again, then settles (lsm_flush and 300 ms without
** background work, as the bench) and runs them a third time, then N/10
** seeks of the bench's seekrandom order twice (the second pass finds the
** block cache as the first left it).  Each pass
** prints, per get: wall and the reading thread's CPU time (user and
** system), its page faults, the CPU the store's other threads took
** meanwhile, and the engine's counters (tables searched, Bloom checks,
** block cache misses).  The second pass reads the same blocks as the
** first, so what the first pays once per block (a page fault, a
** checksum) shows as the difference; the compaction thread may still run
** during both.
**
**   PROF_STOP=1   print the levels and wait for a line on stdin before
**                 each pass (for perf record -p to attach)
**
** Example, the reading thread's hot spots right after the writes:
**   perf record -g -t <tid> ...  (or callgrind --toggle-collect=lsm_get)
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../lsm/lsm.h"
#include "bench.h"

static void fail(const char *zWhat, int rc){
  fprintf(stderr, "prof_get: %s failed: %d\n", zWhat, rc);
  exit(1);
}

static double tv_secs(struct timeval tv){
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void print_levels(lsm_db *pDb){
  lsm_stats st;
  int i, rc = lsm_stats_get(pDb, &st);
  if( rc != LSM_OK ) fail("lsm_stats_get", rc);
  printf("  levels:");
  for(i = 0; i < st.nLevel; i++){
    if( st.aLevel[i].nFiles ) printf(" L%d %llu", i, (unsigned long long)st.aLevel[i].nFiles);
  }
  printf("; memtable entries %llu, immutable %llu\n",
         (unsigned long long)st.nMemtableEntries, (unsigned long long)st.nImmutable);
}

/* R gets of the bench's readrandom order, measured. */
static void run_gets(lsm_db *pDb, const char *zPass, uint64_t n, uint64_t nGets, uint64_t iSeed){
  bench_rng rng = { iSeed };
  struct rusage t0, t1, s0, s1;
  lsm_stats a, b;
  double w0, w1, rThread, rAll;
  char aKey[BENCH_KEY_BYTES];
  uint64_t j;
  int rc;

  if( getenv("PROF_STOP") && getenv("PROF_STOP")[0] == '1' ){
    char zLine[16];
    print_levels(pDb);
    printf("  %s: press return\n", zPass);
    fflush(stdout);
    if( !fgets(zLine, sizeof(zLine), stdin) ) return;
  }
  print_levels(pDb);
  rc = lsm_stats_get(pDb, &a);
  if( rc != LSM_OK ) fail("lsm_stats_get", rc);
  getrusage(RUSAGE_THREAD, &t0);
  getrusage(RUSAGE_SELF, &s0);
  w0 = bench_now();
  for(j = 0; j < nGets; j++){
    void *pVal = NULL;
    size_t nVal = 0;
    bench_key(aKey, bench_rng_below(&rng, n), 0);
    rc = lsm_get(pDb, 0, aKey, sizeof(aKey), &pVal, &nVal);
    if( rc != LSM_OK ) fail("lsm_get", rc);
    lsm_free(pVal);
  }
  w1 = bench_now();
  getrusage(RUSAGE_THREAD, &t1);
  getrusage(RUSAGE_SELF, &s1);
  rc = lsm_stats_get(pDb, &b);
  if( rc != LSM_OK ) fail("lsm_stats_get", rc);
  rThread = tv_secs(t1.ru_utime) + tv_secs(t1.ru_stime) - tv_secs(t0.ru_utime) - tv_secs(t0.ru_stime);
  rAll = tv_secs(s1.ru_utime) + tv_secs(s1.ru_stime) - tv_secs(s0.ru_utime) - tv_secs(s0.ru_stime);
  printf("%-8s per get: %.2f us wall, %.2f us cpu (%.2f user, %.2f sys), %.4f minor faults;"
         " other threads %.3f s cpu in %.3f s\n", zPass,
         (w1 - w0) * 1e6 / (double)nGets, rThread * 1e6 / (double)nGets,
         (tv_secs(t1.ru_utime) - tv_secs(t0.ru_utime)) * 1e6 / (double)nGets,
         (tv_secs(t1.ru_stime) - tv_secs(t0.ru_stime)) * 1e6 / (double)nGets,
         (double)(t1.ru_minflt - t0.ru_minflt) / (double)nGets, rAll - rThread, w1 - w0);
  printf("         %.3f tables searched, %.3f Bloom checks, %.4f block cache misses per get;"
         " %llu compactions meanwhile\n",
         (double)(b.nGetSstProbes - a.nGetSstProbes) / (double)nGets,
         (double)(b.nBloomChecks - a.nBloomChecks) / (double)nGets,
         (double)(b.nBlockCacheMisses - a.nBlockCacheMisses) / (double)nGets,
         (unsigned long long)(b.nCompactions - a.nCompactions));
  fflush(stdout);
}

/* R seeks of the bench's seekrandom order (a new cursor, a seek to a live
** key, 10 nexts), measured as run_gets. */
static void run_seeks(lsm_db *pDb, const char *zPass, uint64_t n, uint64_t nSeeks, uint64_t iSeed){
  bench_rng rng = { iSeed };
  struct rusage t0, t1;
  lsm_stats a, b;
  double w0, w1;
  char aKey[BENCH_KEY_BYTES];
  uint64_t j;
  int rc, k;

  rc = lsm_stats_get(pDb, &a);
  if( rc != LSM_OK ) fail("lsm_stats_get", rc);
  getrusage(RUSAGE_THREAD, &t0);
  w0 = bench_now();
  for(j = 0; j < nSeeks; j++){
    lsm_cursor *pCsr = NULL;
    bench_key(aKey, bench_rng_below(&rng, n), 0);
    rc = lsm_cursor_open(pDb, 0, &pCsr);
    if( rc == LSM_OK ) rc = lsm_cursor_seek(pCsr, aKey, sizeof(aKey), LSM_SEEK_GE);
    for(k = 0; rc == LSM_OK && k < 10 && lsm_cursor_valid(pCsr); k++) rc = lsm_cursor_next(pCsr);
    if( rc != LSM_OK ) fail("seek", rc);
    lsm_cursor_close(pCsr);
  }
  w1 = bench_now();
  getrusage(RUSAGE_THREAD, &t1);
  rc = lsm_stats_get(pDb, &b);
  if( rc != LSM_OK ) fail("lsm_stats_get", rc);
  printf("%-8s per seek: %.2f us wall, %.2f us cpu, %.3f sorted runs positioned,"
         " %.3f block cache misses\n", zPass, (w1 - w0) * 1e6 / (double)nSeeks,
         (tv_secs(t1.ru_utime) + tv_secs(t1.ru_stime) - tv_secs(t0.ru_utime)
          - tv_secs(t0.ru_stime)) * 1e6 / (double)nSeeks,
         (double)(b.nSeekSstProbes - a.nSeekSstProbes) / (double)nSeeks,
         (double)(b.nBlockCacheMisses - a.nBlockCacheMisses) / (double)nSeeks);
  fflush(stdout);
}

int main(int argc, char **argv){
  const char *zDir = argc > 2 ? argv[2] : "prof_get.lsm";
  uint64_t n = argc > 1 ? strtoull(argv[1], 0, 10) : 0;
  uint64_t iSeed = 20240601, i;      /* BENCH_SEED's default */
  char aKey[BENCH_KEY_BYTES], aVal[BENCH_VAL_BYTES];
  const char *zComp = getenv("BENCH_COMPRESSION");
  lsm_options opt;
  lsm_db *pDb;
  bench_perm perm;
  int rc, iGen;

  if( n == 0 ){
    fprintf(stderr, "usage: %s N [DIR]\n", argv[0]);
    return 2;
  }
  lsm_destroy(zDir, NULL);
  lsm_options_default(&opt);
  opt.sync = LSM_SYNC_NORMAL;
  opt.memtable_bytes = BENCH_MEMTABLE_BYTES;
  opt.block_bytes = BENCH_BLOCK_BYTES;
  opt.bloom_bits = BENCH_BLOOM_BITS;
  opt.compression = zComp && !strcmp(zComp, "on") ? LSM_COMPRESSION_LZ4 : LSM_COMPRESSION_NONE;
  opt.background = 1;
  opt.create_if_missing = 1;
  rc = lsm_open(zDir, &opt, &pDb);
  if( rc != LSM_OK ) fail("lsm_open", rc);
  bench_value_pool_init(iSeed);
  for(iGen = 0; iGen < 2; iGen++){
    double t0 = bench_now();
    bench_perm_init(&perm, n, iSeed * 16 + (uint64_t)(iGen ? 2 : 1));
    for(i = 0; i < n; i++){
      uint64_t k = bench_perm_at(&perm, i);
      bench_key(aKey, k, 0);
      bench_value(aVal, k, (uint32_t)iGen);
      rc = lsm_put(pDb, aKey, sizeof(aKey), aVal, sizeof(aVal));
      if( rc != LSM_OK ) fail("lsm_put", rc);
    }
    printf("%s: %.0f puts/s\n", iGen ? "overwrite" : "fillrandom", (double)n / (bench_now() - t0));
  }
  run_gets(pDb, "after", n, n / 10, iSeed * 16 + 3);
  run_gets(pDb, "again", n, n / 10, iSeed * 16 + 3);
  rc = lsm_flush(pDb);
  if( rc != LSM_OK ) fail("lsm_flush", rc);
  bench_wait_quiet(300, 600000);
  run_gets(pDb, "settled", n, n / 10, iSeed * 16 + 3);
  run_seeks(pDb, "settled", n, n / 10, iSeed * 16 + 5);
  run_seeks(pDb, "settled", n, n / 10, iSeed * 16 + 5);
  rc = lsm_close(pDb);
  if( rc != LSM_OK ) fail("lsm_close", rc);
  lsm_destroy(zDir, NULL);
  return 0;
}
