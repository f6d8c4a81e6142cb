/*
** bench_util.c — keys, values, orders and measurements for `make bench`.
**
** Everything here is the same for every store, so that each one sees the
** same bytes in the same order:
**
**   - bench_perm: a seeded bijection of [0, N).  A 4-round Feistel network
**     over the smallest even number of bits that covers N, with cycle
**     walking (re-apply until the result is < N; the domain is < 4N, so a
**     few rounds on average).  fillrandom, overwrite and deleterandom walk
**     it to touch each key exactly once in random order without holding an
**     N-entry array (which would show up in every store's peak RSS).
**   - bench_key / bench_value: the formats drawn in bench.h.
**   - Measurements: wchar from /proc/self/io (bytes this process handed to
**     write(2) and friends, every thread included: WAL, flush and
**     compaction alike, whatever the engine), directory sizes, and peak
**     RSS from VmHWM, reset per workload through /proc/self/clear_refs.
*/
#include "bench.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BENCH_POOL_BYTES (64 * 1024)   /* random bytes values are cut from */

static uint8_t aBenchPool[BENCH_POOL_BYTES];

/* ---- random numbers and orders ---- */

uint64_t bench_mix64(uint64_t x){
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t bench_rng_next(bench_rng *p){
  p->s += 0x9e3779b97f4a7c15ull;
  return bench_mix64(p->s);
}

uint64_t bench_rng_below(bench_rng *p, uint64_t n){
  return n ? bench_rng_next(p) % n : 0;   /* bias < n / 2^64: irrelevant */
}

void bench_perm_init(bench_perm *p, uint64_t n, uint64_t iSeed){
  int nBits = 2;
  int i;
  while( nBits < 64 && (1ull << nBits) < n ) nBits++;
  p->n = n;
  p->nHalfBits = (nBits + 1) / 2;
  for(i = 0; i < 4; i++) p->aRoundKey[i] = bench_mix64(iSeed * 4 + (uint64_t)i);
}

static uint64_t bench_feistel(const bench_perm *p, uint64_t x){
  uint64_t mask = (1ull << p->nHalfBits) - 1;
  uint64_t l = x >> p->nHalfBits, r = x & mask;
  int i;
  for(i = 0; i < 4; i++){
    uint64_t t = l ^ (bench_mix64(r ^ p->aRoundKey[i]) & mask);
    l = r;
    r = t;
  }
  return (l << p->nHalfBits) | r;
}

uint64_t bench_perm_at(const bench_perm *p, uint64_t i){
  uint64_t x = i;
  do{ x = bench_feistel(p, x); }while( x >= p->n );
  return x;
}

/* ---- keys and values ---- */

void bench_key(char *a, uint64_t i, int bOdd){
  uint64_t v = 2 * i + (bOdd ? 1 : 0);
  int j;
  for(j = BENCH_KEY_BYTES - 1; j >= 0; j--){
    a[j] = (char)('0' + v % 10);
    v /= 10;
  }
}

int bench_key_parse(const char *a, size_t n, uint64_t *pi){
  uint64_t v = 0;
  size_t j;
  if( n != BENCH_KEY_BYTES ) return 1;
  for(j = 0; j < n; j++){
    if( a[j] < '0' || a[j] > '9' ) return 1;
    v = v * 10 + (uint64_t)(a[j] - '0');
  }
  if( v & 1 ) return 1;          /* odd keys are never written */
  *pi = v / 2;
  return 0;
}

void bench_value_pool_init(uint64_t iSeed){
  bench_rng rng = { iSeed ^ 0x5eed5eed5eed5eedull };
  size_t i;
  for(i = 0; i < sizeof(aBenchPool); i += 8){
    uint64_t x = bench_rng_next(&rng);
    memcpy(&aBenchPool[i], &x, 8);
  }
}

int bench_compression(void){
  const char *z = getenv("BENCH_COMPRESSION");
  return z && (!strcmp(z, "on") || !strcmp(z, "1"));
}

void bench_value(char *a, uint64_t i, uint32_t iGen){
  static int eCompressible = -1;       /* the same in every process of a run */
  uint64_t off = bench_mix64(i * 2 + iGen) % (BENCH_POOL_BYTES - (BENCH_VAL_BYTES - 12));
  int j;
  if( eCompressible < 0 ) eCompressible = bench_compression();
  for(j = 0; j < 8; j++) a[j] = (char)(i >> (8 * j));
  for(j = 0; j < 4; j++) a[8 + j] = (char)(iGen >> (8 * j));
  if( eCompressible ){
    memcpy(a + 12, &aBenchPool[off], BENCH_VAL_BYTES / 2 - 12);
    memcpy(a + BENCH_VAL_BYTES / 2, a, BENCH_VAL_BYTES / 2);
  }else{
    memcpy(a + 12, &aBenchPool[off], BENCH_VAL_BYTES - 12);
  }
}

/* ---- time ---- */

double bench_now(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_sleep_ms(int nMs){
  struct timespec ts = { nMs / 1000, (long)(nMs % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

/* ---- bytes written ---- */

uint64_t bench_wchar(void){
  char aBuf[1024];
  unsigned long long v = 0;
  ssize_t n;
  int fd = open("/proc/self/io", O_RDONLY);
  const char *z;
  if( fd < 0 ) return 0;
  n = read(fd, aBuf, sizeof(aBuf) - 1);
  close(fd);
  if( n <= 0 ) return 0;
  aBuf[n] = 0;
  z = strstr(aBuf, "wchar:");
  if( z ) sscanf(z + 6, "%llu", &v);
  return v;
}

double bench_wait_quiet(int nQuietMs, int nMaxMs){
  double tStart = bench_now();
  uint64_t nLast = bench_wchar();
  int nQuiet = 0;
  const int nStepMs = 20;
  while( nQuiet < nQuietMs && (bench_now() - tStart) * 1000 < nMaxMs ){
    uint64_t n;
    bench_sleep_ms(nStepMs);
    n = bench_wchar();
    nQuiet = (n == nLast) ? nQuiet + nStepMs : 0;
    nLast = n;
  }
  return bench_now() - tStart;
}

/* ---- directories ---- */

static uint64_t nBenchDirBytes;     /* nftw has no context pointer */

static int bench_dir_bytes_cb(const char *zPath, const struct stat *pSt, int eType,
                              struct FTW *pFtw){
  (void)zPath; (void)pFtw;
  if( eType == FTW_F && S_ISREG(pSt->st_mode) ) nBenchDirBytes += (uint64_t)pSt->st_size;
  return 0;
}

uint64_t bench_dir_bytes(const char *zPath){
  nBenchDirBytes = 0;
  nftw(zPath, bench_dir_bytes_cb, 16, FTW_PHYS);
  return nBenchDirBytes;
}

static int bench_rmtree_cb(const char *zPath, const struct stat *pSt, int eType,
                           struct FTW *pFtw){
  (void)pSt; (void)pFtw;
  if( eType == FTW_DP ) rmdir(zPath); else unlink(zPath);
  return 0;
}

void bench_rmtree(const char *zPath){
  nftw(zPath, bench_rmtree_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- memory ---- */

void bench_peak_rss_reset(void){
  int fd = open("/proc/self/clear_refs", O_WRONLY);
  if( fd >= 0 ){
    if( write(fd, "5", 1) != 1 ){ /* older kernel: VmHWM stays the process peak */ }
    close(fd);
  }
}

double bench_peak_rss_mb(void){
  char aLine[256];
  FILE *f = fopen("/proc/self/status", "r");
  double r = -1;
  if( f ){
    while( fgets(aLine, sizeof(aLine), f) ){
      unsigned long long nKb;
      if( sscanf(aLine, "VmHWM: %llu kB", &nKb) == 1 ){ r = (double)nKb / 1024.0; break; }
    }
    fclose(f);
  }
  if( r < 0 ){
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r = (double)ru.ru_maxrss / 1024.0;
  }
  return r;
}
