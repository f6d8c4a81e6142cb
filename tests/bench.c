/*
** bench.c — `make bench`: this engine against LevelDB and RocksDB (engine
** level) and the lsm virtual table against a native SQLite table (SQL
** level), measured in one run, every answer checked.
**
** Usage (the Makefile runs it from the repository root):
**
**   build/bench/bench                      everything, N = 1,000,000 keys
**   BENCH_N=100000 build/bench/bench       a quick run
**
**   BENCH_N        keys per store (default 1000000)
**   BENCH_READS    operations of readrandom, readmissing and seekrandom
**                  (default N/10, at least 1000, at most N)
**   BENCH_SYNC_N   puts of fill4t-full, 4 writer threads with fdatasync per
**                  put (default N/20, at least 1000, at most N)
**   BENCH_SEED     seed of every key order and value (default 20240601)
**   BENCH_LEVEL    engine | sql | amp | threads | all (default all; amp is
**                  the amplification experiment of bench_amp.c, with its own
**                  BENCH_AMP_* variables, skipped by BENCH_AMP=0; threads
**                  only the engine level's fill4t-* rows of bench_threads.c,
**                  e.g. BENCH_LEVEL=threads BENCH_N=50000 BENCH_SYNC_N=50000
**                  BENCH_ENGINES=lsm,leveldb for fill4t-full alone)
**   BENCH_ENGINES  comma list of lsm,leveldb,rocksdb,sqlite,vtab-floor (default all;
**                  lsm names every lsm variant, rocksdb both RocksDB ones,
**                  lsm-dir only the SQL level's directory store;
**                  "sqlite" is the native table of the SQL level, run even
**                  when lsm.so does not load if it is named here;
**                  "vtab-floor" the SQL level's virtual table over an
**                  in-memory array, bench_floor.c: what any virtual table
**                  costs, lsm's storage aside)
**   BENCH_DIR      scratch directory (default a new $TMPDIR/lsm-bench-XXXXXX)
**   BENCH_CSV      result file (default bench-results.csv)
**   BENCH_LSM_SO   the extension to load (default ./lsm.so)
**   BENCH_SQL_PRAGMAS  SQL run on every SQL-level store's connection after
**                  its journal settings (not set by default), e.g.
**                  "PRAGMA mmap_size=1000000000": pages read from a mapping
**                  instead of with pread, for every kind of table alike
**   BENCH_FILLSEQ_ONLY=1  each store runs fillseq and stops (a quick
**                  repeated comparison of fillseq; the other rows are absent)
**
** Method.  Each store runs in its own forked child process, so that each
** has its own peak RSS and no store warms another's caches; the child runs
** bench_run (bench_workload.c: the workloads, what is checked, how each
** number is measured) and sends one bench_row per workload back through a
** pipe.  The parent prints a table with the ratio of ours to each peer and
** the target beside it, and writes every row to the CSV:
**
**   level,engine,workload,n,ops_per_sec,write_amp,space_amp,peak_rss_mb,
**   read_amp,p50_us,p99_us,p999_us,max_us
**
** (write_amp is empty for read workloads, space_amp when nothing is live,
** the last five outside level amp: see bench_amp.h).
** A wrong answer or an engine error makes the child exit non-zero: the
** parent reports it and exits 1 after printing what it has.  If lsm.so
** does not load, the SQL level is skipped with the reason and that is not
** a failure.  No timing is ever a failure: targets are printed, not
** asserted.
*/
#include "bench.h"
#include "bench_amp.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_MAX_ROWS   256
#define BENCH_OURS       "lsm"

/*
** A target: ours / peer ops/s must be >= rMin (at level zLevel).  At the
** engine level "ours" is lsm (sync=normal) and the peer LevelDB; at the
** SQL level ours are both kinds of lsm table, lsm (in the database) and
** lsm-dir (a directory), and the peer the native table.  A read workload's
** target holds for both states (right after the writes and settled).
*/
typedef struct bench_target {
  const char *zLevel;      /* "engine" or "sql"        */
  const char *zWorkload;   /* workload name            */
  double rMin;             /* minimum ratio            */
} bench_target;

static const bench_target aBenchTarget[] = {
  { "engine", "fillseq", 1.0 },    { "engine", "fillrandom", 1.5 },
  { "engine", "overwrite", 1.5 },  { "engine", "readrandom", 2.0 },
  { "engine", "readmissing", 2.0 }, { "engine", "readseq", 1.2 },
  { "engine", "seekrandom", 1.2 }, { "engine", "fill4t-full", 2.0 },
  { "sql", "fillseq", 1.0 },       { "sql", "fillrandom", 5.0 },
  { "sql", "overwrite", 5.0 },     { "sql", "readrandom", 1.0 },
  { "sql", "readmissing", 1.0 },   { "sql", "readseq", 1.0 },
  { "sql", "seekrandom", 1.0 },    { "sql", "deleterandom", 3.0 },
};

/* Workloads in the order printed; the write workloads' write amp is
** compared with the peer's (engine level: a target, <= 1). */
static const char *azBenchWorkload[] = {
  "fillseq", "fillrandom", "overwrite",
  "readrandom", "readmissing", "readseq", "seekrandom",
  "readrandom-settled", "readmissing-settled", "readseq-settled", "seekrandom-settled",
  "deleterandom", "fill4t-normal", "fill4t-full",
};
#define BENCH_NWORKLOAD (int)(sizeof(azBenchWorkload) / sizeof(azBenchWorkload[0]))
#define BENCH_SETTLED   "-settled"

/* What the parent knows about one child run. */
typedef struct bench_result {
  const bench_engine *pEng;   /* what ran                                 */
  int bFailed;                /* exited non-zero or died                  */
  double rPeakRssMb;          /* ru_maxrss of the whole child             */
} bench_result;

typedef struct bench_state {
  bench_config cfg;               /* N, seed, scratch root                 */
  bench_row aRow[BENCH_MAX_ROWS]; /* every row received                    */
  int nRow;
  bench_result aRes[24];          /* one per child                         */
  int nRes;
  int nTargets, nTargetsMet;      /* over both levels                      */
} bench_state;

/* ---- running children ---- */

/* Run xRun(pEng) in a child; collect its rows.  Returns 0 if it succeeded. */
static int bench_child_run(bench_state *p, const bench_engine *pEng,
                           int (*xRun)(const bench_engine*, const bench_config*, int)){
  bench_result *pRes = &p->aRes[p->nRes++];
  bench_config cfg = p->cfg;
  char zDir[4200];
  int aFd[2], status = 0;
  struct rusage ru;
  pid_t pid;

  memset(pRes, 0, sizeof(*pRes));
  pRes->pEng = pEng;
  snprintf(zDir, sizeof(zDir), "%s/%s-%s", p->cfg.zDir, pEng->zLevel, pEng->zName);
  cfg.zDir = zDir;
  printf("  running %s/%s ...\n", pEng->zLevel, pEng->zName);
  fflush(stdout);
  if( pipe(aFd) != 0 ){ perror("pipe"); pRes->bFailed = 1; return 1; }
  pid = fork();
  if( pid < 0 ){ perror("fork"); pRes->bFailed = 1; return 1; }
  if( pid == 0 ){
    int rc;
    close(aFd[0]);
    if( mkdir(zDir, 0755) != 0 && errno != EEXIST ){ perror(zDir); _exit(2); }
    rc = xRun(pEng, &cfg, aFd[1]);
    bench_rmtree(zDir);
    fflush(stdout);
    fflush(stderr);
    _exit(rc ? 2 : 0);
  }
  close(aFd[1]);
  for(;;){
    bench_row row;
    ssize_t n = read(aFd[0], &row, sizeof(row));
    if( n != (ssize_t)sizeof(row) ) break;
    if( p->nRow < BENCH_MAX_ROWS ) p->aRow[p->nRow++] = row;
  }
  close(aFd[0]);
  memset(&ru, 0, sizeof(ru));
  while( wait4(pid, &status, 0, &ru) < 0 && errno == EINTR ){}
  pRes->rPeakRssMb = (double)ru.ru_maxrss / 1024.0;
  if( !WIFEXITED(status) || WEXITSTATUS(status) != 0 ){
    pRes->bFailed = 1;
    if( WIFSIGNALED(status) ){
      fprintf(stderr, "bench: %s/%s died with signal %d\n", pEng->zLevel, pEng->zName,
              WTERMSIG(status));
    }
    bench_rmtree(zDir);
    return 1;
  }
  return 0;
}

static int bench_child(bench_state *p, const bench_engine *pEng){
  return bench_child_run(p, pEng, bench_run);
}

/* Whether lsm.so loads, asked in a child (so the parent never starts an
** engine thread before forking).  0 if it does, else zErr says why. */
static int bench_sql_available(char *zErr, size_t nErr){
  int aFd[2], status = 0;
  pid_t pid;
  ssize_t n;
  zErr[0] = 0;
  if( pipe(aFd) != 0 ){ snprintf(zErr, nErr, "pipe failed"); return 1; }
  pid = fork();
  if( pid == 0 ){
    char zMsg[512];
    int rc;
    close(aFd[0]);
    rc = bench_sql_probe(zMsg, sizeof(zMsg));
    if( rc && write(aFd[1], zMsg, strlen(zMsg)) < 0 ){ rc = 1; }
    _exit(rc ? 1 : 0);
  }
  close(aFd[1]);
  n = pid > 0 ? read(aFd[0], zErr, nErr - 1) : -1;
  zErr[n > 0 ? n : 0] = 0;
  close(aFd[0]);
  if( pid < 0 ){ snprintf(zErr, nErr, "fork failed"); return 1; }
  waitpid(pid, &status, 0);
  if( WIFEXITED(status) && WEXITSTATUS(status) == 0 ) return 0;
  if( !zErr[0] ) snprintf(zErr, nErr, "the probe crashed");
  return 1;
}

/* ---- reporting ---- */

static const bench_row *bench_find(const bench_state *p, const char *zLevel,
                                   const char *zEngine, const char *zWorkload){
  int i;
  for(i = 0; i < p->nRow; i++){
    const bench_row *r = &p->aRow[i];
    if( !strcmp(r->zLevel, zLevel) && !strcmp(r->zEngine, zEngine)
     && !strcmp(r->zWorkload, zWorkload) ) return r;
  }
  return 0;
}

static double bench_ops(const bench_row *r){
  return r->rSecs > 0 ? (double)r->nOps / r->rSecs : 0;
}

/* The target of zWorkload at zLevel (a "-settled" read has its read's). */
static const bench_target *bench_target_of(const char *zLevel, const char *zWorkload){
  size_t i, n = strlen(zWorkload), nS = strlen(BENCH_SETTLED);
  if( n > nS && !strcmp(zWorkload + n - nS, BENCH_SETTLED) ) n -= nS;
  for(i = 0; i < sizeof(aBenchTarget) / sizeof(aBenchTarget[0]); i++){
    if( !strcmp(aBenchTarget[i].zLevel, zLevel)
     && strlen(aBenchTarget[i].zWorkload) == n
     && !strncmp(aBenchTarget[i].zWorkload, zWorkload, n) ) return &aBenchTarget[i];
  }
  return 0;
}

/* 1 if the write amp of zWorkload is a target at the engine level. */
static int bench_wamp_target(const char *zWorkload){
  return !strcmp(zWorkload, "fillseq") || !strcmp(zWorkload, "fillrandom")
      || !strcmp(zWorkload, "overwrite") || !strcmp(zWorkload, "deleterandom");
}

/* "1,234,567" */
static void bench_commas(char *z, size_t nZ, double r){
  char aDigit[32];
  int n = snprintf(aDigit, sizeof(aDigit), "%.0f", r), i;
  size_t j = 0;
  for(i = 0; i < n && j + 2 < nZ; i++){
    if( i > 0 && (n - i) % 3 == 0 ) z[j++] = ',';
    z[j++] = aDigit[i];
  }
  z[j] = 0;
}

static void bench_amp(char *z, size_t nZ, double r){
  if( r < 0 ) snprintf(z, nZ, "-"); else snprintf(z, nZ, "%.2f", r);
}

/* The engine that ran as zName at zLevel, or NULL. */
static const bench_engine *bench_engine_named(const bench_state *p, const char *zLevel,
                                              const char *zName){
  int i;
  for(i = 0; i < p->nRes; i++){
    const bench_engine *pEng = p->aRes[i].pEng;
    if( !strcmp(pEng->zLevel, zLevel) && !strcmp(pEng->zName, zName) ) return pEng;
  }
  return 0;
}

/*
** Print one level's table.  Each of our rows (an engine named lsm...)
** carries its ratios to its peer: the engine's zPeer, else zPeer ("leveldb"
** or "sqlite").  Targets are counted for the engines in azTargeted.
*/
static void bench_print_level(bench_state *p, const char *zLevel, const char *zPeer,
                              const char *const *azTargeted){
  const char *azEngine[16];
  int nEngine = 0, i, j, w;
  for(i = 0; i < p->nRes && nEngine < 16; i++){
    const char *zName = p->aRes[i].pEng->zName;
    int bSeen = 0;
    if( strcmp(p->aRes[i].pEng->zLevel, zLevel) ) continue;
    for(j = 0; j < nEngine; j++) bSeen |= !strcmp(azEngine[j], zName);
    if( !bSeen ) azEngine[nEngine++] = zName;
  }
  if( nEngine == 0 ) return;
  printf("\n%-19s %-11s %12s %6s %6s %7s %7s   %-26s %s\n", "workload", "engine", "ops/s",
         "w-amp", "s-amp", "rss MB", "settle", "ops/s ratio to peer", "w-amp ratio");
  for(w = 0; w < BENCH_NWORKLOAD; w++){
    const char *zW = azBenchWorkload[w];
    const bench_target *pT = bench_target_of(zLevel, zW);
    int bFirst = 1;
    for(i = 0; i < nEngine; i++){
      const bench_row *r = bench_find(p, zLevel, azEngine[i], zW), *pPeer;
      const bench_engine *pEng = bench_engine_named(p, zLevel, azEngine[i]);
      const char *zThisPeer = pEng && pEng->zPeer ? pEng->zPeer : zPeer;
      char zOps[32], zWa[16], zSa[16], zRatio[80] = "", zWaRatio[64] = "";
      int bTargeted = 0;
      if( !r ) continue;
      for(j = 0; azTargeted[j]; j++) bTargeted |= !strcmp(azTargeted[j], azEngine[i]);
      bench_commas(zOps, sizeof(zOps), bench_ops(r));
      bench_amp(zWa, sizeof(zWa), r->rWriteAmp);
      bench_amp(zSa, sizeof(zSa), r->rSpaceAmp);
      /* Ratios for our rows, and for a reference row that names its peer. */
      pPeer = strncmp(azEngine[i], BENCH_OURS, strlen(BENCH_OURS)) && !(pEng && pEng->zPeer)
            ? 0 : bench_find(p, zLevel, zThisPeer, zW);
      if( pPeer && bench_ops(pPeer) > 0 ){
        double rRatio = bench_ops(r) / bench_ops(pPeer);
        int n = snprintf(zRatio, sizeof(zRatio), "%5.2fx %s", rRatio, zThisPeer);
        if( pT && bTargeted ){
          int bMet = rRatio >= pT->rMin;
          snprintf(zRatio + n, sizeof(zRatio) - (size_t)n, " >=%.1fx %s", pT->rMin,
                   bMet ? "met" : "MISSED");
          p->nTargets++;
          p->nTargetsMet += bMet;
        }
        if( r->rWriteAmp > 0 && pPeer->rWriteAmp > 0
            && !strncmp(azEngine[i], BENCH_OURS, strlen(BENCH_OURS)) ){
          double rWa = r->rWriteAmp / pPeer->rWriteAmp;
          n = snprintf(zWaRatio, sizeof(zWaRatio), "%5.3g", rWa);
          if( !strcmp(zLevel, "engine") && bTargeted && bench_wamp_target(zW) ){
            int bMet = rWa <= 1.0;
            snprintf(zWaRatio + n, sizeof(zWaRatio) - (size_t)n, "  <=1 %s",
                     bMet ? "met" : "MISSED");
            p->nTargets++;
            p->nTargetsMet += bMet;
          }
        }
      }
      printf("%-19s %-11s %12s %6s %6s %7.1f %7.2f   %-26s %s\n", bFirst ? zW : "",
             azEngine[i], zOps, zWa, zSa, r->rPeakRssMb, r->rSettleSecs, zRatio, zWaRatio);
      bFirst = 0;
    }
  }
  printf("\n");
  for(i = 0; i < p->nRes; i++){
    const bench_result *pRes = &p->aRes[i];
    if( strcmp(pRes->pEng->zLevel, zLevel) ) continue;
    printf("  %-11s peak RSS of the run %.1f MB%s%s%s\n", pRes->pEng->zName,
           pRes->rPeakRssMb, pRes->bFailed ? "; FAILED (see above)" : "",
           pRes->pEng->zNote ? "; " : "", pRes->pEng->zNote ? pRes->pEng->zNote : "");
  }
  /* The engine's own write-amp counters beside the wchar-based numbers. */
  {
    int bAny = 0;
    for(w = 0; w < BENCH_NWORKLOAD; w++){
      const bench_row *r = bench_find(p, zLevel, BENCH_OURS, azBenchWorkload[w]);
      if( !r || r->rOwnWriteAmp < 0 ) continue;
      if( !bAny ) printf("  lsm write amp by its own counters (lsm_stats: WAL + flush + compaction bytes / user bytes):");
      printf(" %s %.2f", azBenchWorkload[w], r->rOwnWriteAmp);
      bAny = 1;
    }
    if( bAny ) printf("\n");
  }
}

static int bench_write_csv(const bench_state *p, const char *zPath){
  FILE *f = fopen(zPath, "w");
  int i;
  if( !f ){ perror(zPath); return 1; }
  fprintf(f, "level,engine,workload,n,ops_per_sec,write_amp,space_amp,peak_rss_mb,"
          BENCH_AMP_CSV_HEADER "\n");
  for(i = 0; i < p->nRow; i++){
    const bench_row *r = &p->aRow[i];
    char zWa[32] = "", zSa[32] = "", zAmp[200];
    bench_amp_csv_columns(r, zAmp, sizeof(zAmp));
    if( r->rWriteAmp >= 0 ) snprintf(zWa, sizeof(zWa), "%.3f", r->rWriteAmp);
    if( r->rSpaceAmp >= 0 ) snprintf(zSa, sizeof(zSa), "%.3f", r->rSpaceAmp);
    fprintf(f, "%s,%s,%s,%llu,%.0f,%s,%s,%.1f%s\n", r->zLevel, r->zEngine, r->zWorkload,
            (unsigned long long)r->nOps, bench_ops(r), zWa, zSa, r->rPeakRssMb, zAmp);
  }
  return fclose(f) != 0;
}

/* ---- main ---- */

/* CPUs and load: other processes competing for the CPUs skew every number. */
static void bench_print_machine(void){
  char aLoad[64] = "?";
  FILE *f = fopen("/proc/loadavg", "r");
  if( f ){
    if( !fgets(aLoad, sizeof(aLoad), f) ) aLoad[0] = 0;
    fclose(f);
    {  /* keep the three averages, drop "runnable/total last-pid" */
      char *z = aLoad;
      int n = 0;
      while( *z && n < 3 ){ if( *z == ' ' ) n++; if( n < 3 ) z++; }
      *z = 0;
    }
  }
  printf("machine: %ld CPUs online, load average %s (the engines run one at a time;\n"
         "  a load near the CPU count means other processes share the machine)\n",
         sysconf(_SC_NPROCESSORS_ONLN), aLoad);
}

static uint64_t bench_env_u64(const char *zName, uint64_t iDefault){
  const char *z = getenv(zName);
  return z && z[0] ? strtoull(z, 0, 10) : iDefault;
}

static int bench_wanted(const char *zList, const char *zName){
  size_t n = strlen(zName);
  const char *z = zList;
  if( !zList || !zList[0] ) return 1;
  while( (z = strstr(z, zName)) != 0 ){
    if( (z == zList || z[-1] == ',') && (z[n] == 0 || z[n] == ',') ) return 1;
    z += n;
  }
  return 0;
}

/*
** The SQL level's reads measured against the virtual-table floor: for each
** read workload, the nanoseconds per operation each engine spends above
** what vtab-floor spends (1/ops - 1/floor ops).  The floor is SQLite's
** virtual-table interface with no storage behind it, so this is what the
** engine itself costs; the native table's line says how much time a
** virtual table may spend to match it (negative: the native table is
** faster than any virtual table could be there).
*/
static void bench_print_floor(const bench_state *p){
  static const char *const azRead[] = { "readrandom", "readseq", "seekrandom",
                                        "readrandom-settled", "readseq-settled",
                                        "seekrandom-settled", 0 };
  static const char *const azEngine[] = { "lsm", "lsm-dir", "sqlite", 0 };
  int i, j, bHeader = 0;
  for(i = 0; azRead[i]; i++){
    const bench_row *pFloor = bench_find(p, "sql", "vtab-floor", azRead[i]);
    if( !pFloor || bench_ops(pFloor) <= 0 ) continue;
    if( !bHeader ){
      printf("  ns per operation above the virtual-table floor (1/ops - 1/vtab-floor ops):\n");
      bHeader = 1;
    }
    printf("    %-19s", azRead[i]);
    for(j = 0; azEngine[j]; j++){
      const bench_row *r = bench_find(p, "sql", azEngine[j], azRead[i]);
      if( r && bench_ops(r) > 0 ){
        printf("  %s %+.0f", azEngine[j], 1e9 / bench_ops(r) - 1e9 / bench_ops(pFloor));
      }
    }
    printf("\n");
  }
}

int main(void){
  static bench_state st;
  bench_state *p = &st;
  const char *zLevel = getenv("BENCH_LEVEL");
  const char *zEngines = getenv("BENCH_ENGINES");
  const char *zCsv = getenv("BENCH_CSV");
  const char *zTmp = getenv("TMPDIR");
  char zScratch[4096];
  int bEngine, bThreads, bSql, bAmp, nFailed = 0, i;
  int bOwnScratch = 0;
  double tStart = bench_now();

  p->cfg.nKeys = bench_env_u64("BENCH_N", 1000000);
  p->cfg.iSeed = bench_env_u64("BENCH_SEED", 20240601);
  if( p->cfg.nKeys < 2 ) p->cfg.nKeys = 2;
  p->cfg.nSyncKeys = bench_env_u64("BENCH_SYNC_N", p->cfg.nKeys / 20);
  if( p->cfg.nSyncKeys < 1000 ) p->cfg.nSyncKeys = 1000;
  if( p->cfg.nSyncKeys > p->cfg.nKeys ) p->cfg.nSyncKeys = p->cfg.nKeys;
  p->cfg.nReads = bench_env_u64("BENCH_READS", p->cfg.nKeys / 10);
  if( p->cfg.nReads < 1000 ) p->cfg.nReads = 1000;
  if( p->cfg.nReads > p->cfg.nKeys ) p->cfg.nReads = p->cfg.nKeys;
  if( !zLevel || !zLevel[0] ) zLevel = "all";
  bEngine = !strcmp(zLevel, "all") || !strcmp(zLevel, "engine");
  bThreads = bEngine || !strcmp(zLevel, "threads");
  bSql = !strcmp(zLevel, "all") || !strcmp(zLevel, "sql");
  bAmp = (!strcmp(zLevel, "all") || !strcmp(zLevel, "amp"))
      && !(getenv("BENCH_AMP") && !strcmp(getenv("BENCH_AMP"), "0"));
  if( !zCsv || !zCsv[0] ) zCsv = "bench-results.csv";
  if( getenv("BENCH_DIR") && getenv("BENCH_DIR")[0] ){
    snprintf(zScratch, sizeof(zScratch), "%s", getenv("BENCH_DIR"));
    mkdir(zScratch, 0755);
  }else{
    snprintf(zScratch, sizeof(zScratch), "%s/lsm-bench-XXXXXX", zTmp && zTmp[0] ? zTmp : "/tmp");
    if( !mkdtemp(zScratch) ){ perror(zScratch); return 1; }
    bOwnScratch = 1;
  }
  p->cfg.zDir = zScratch;
  setvbuf(stdout, 0, _IOLBF, 0);

  printf("lsm bench: N=%llu keys, %d-byte keys, %d-byte values, %llu random reads/seeks, "
         "BENCH_SEED=%llu, scratch %s\n",
         (unsigned long long)p->cfg.nKeys, BENCH_KEY_BYTES, BENCH_VAL_BYTES,
         (unsigned long long)p->cfg.nReads,
         (unsigned long long)p->cfg.iSeed, zScratch);
  bench_print_machine();
  if( bThreads ){
    static const char *const azTargeted[] = { "lsm", 0 };
    if( bench_compression() ){
      printf("\n  BENCH_COMPRESSION=on: values compress about 2:1 (50 bytes written twice); "
             "lsm LZ4, LevelDB Snappy, RocksDB LZ4\n");
    }
    printf("\n== engine level: C APIs; compression %s, %u MiB memtable, %d KiB blocks, "
           "%d bits/key Bloom; LevelDB/RocksDB block cache %u MiB ==\n"
           "  durability like for like: lsm sync=normal, LevelDB and RocksDB sync=false: each "
           "put in the kernel's page cache\n"
           "  when it returns (a killed process loses none, a power cut may): LevelDB and RocksDB "
           "by a write(2) each,\n"
           "  lsm by a copy into a shared mapping of its log (no system call; the zeros written "
           "ahead of it count as its WAL bytes);\n"
           "  lsm-buf (sync=off) and rocksdb-buf (manual_wal_flush) both buffer the WAL in "
           "memory (write workloads only)\n",
           bench_compression() ? "on" : "off",
           BENCH_MEMTABLE_BYTES >> 20, BENCH_BLOCK_BYTES / 1024, BENCH_BLOOM_BITS,
           BENCH_CACHE_BYTES >> 20);
    if( bEngine ){          /* BENCH_LEVEL=threads: the fill4t-* rows alone */
      if( bench_wanted(zEngines, "lsm") ) nFailed += bench_child(p, &bench_engine_lsm);
      if( bench_wanted(zEngines, "leveldb") ) nFailed += bench_child(p, &bench_engine_leveldb);
      if( bench_wanted(zEngines, "rocksdb") ) nFailed += bench_child(p, &bench_engine_rocksdb);
      if( bench_wanted(zEngines, "lsm") ) nFailed += bench_child(p, &bench_engine_lsm_buffered);
      if( bench_wanted(zEngines, "rocksdb") ){
        nFailed += bench_child(p, &bench_engine_rocksdb_buffered);
      }
    }
    if( bench_wanted(zEngines, "lsm") ){
      nFailed += bench_child_run(p, &bench_engine_lsm, bench_run_threads);
    }
    if( bench_wanted(zEngines, "leveldb") ){
      nFailed += bench_child_run(p, &bench_engine_leveldb, bench_run_threads);
    }
    bench_print_level(p, "engine", "leveldb", azTargeted);
    printf("  ops/s times the operations only.  Reads run twice: right after the overwrite (no "
           "flush, no waiting:\n"
           "  compactions still running, as db_bench and a user read) and, after the store "
           "settled, as *-settled.\n"
           "  After each write workload the store is flushed and background work waited for "
           "(untimed, 'settle'\n"
           "  seconds; the overwrite's after its reads) before write amp (bytes handed to "
           "write(2) by the process,\n"
           "  /proc/self/io wchar: WAL, flush and compaction / user bytes, 116 per put, 16 per "
           "delete) and space amp\n"
           "  (directory bytes / live keys * 116).  fill4t-*: %d writer threads, each put its "
           "own commit; -normal N puts\n"
           "  at sync=normal (LevelDB sync=false), -full %llu puts with fdatasync per put (LevelDB sync=true).  "
           "lsm and LevelDB read\n"
           "  table files through mmap, so their resident file pages count in RSS; RocksDB "
           "reads with pread.\n"
           "  seekrandom opens a new iterator for each seek, as LevelDB's db_bench does.\n",
           BENCH_THREADS, (unsigned long long)p->cfg.nSyncKeys);
  }
  if( bSql ){
    static const char *const azTargeted[] = { "lsm", "lsm-dir", 0 };
    char zErr[512];
    printf("\n== SQL level: SQLite %s, prepared statements, %d rows per transaction, "
           "journal_mode=WAL, synchronous=NORMAL;\n"
           "   lsm = in-database store (CREATE VIRTUAL TABLE kv USING lsm), "
           "lsm-dir = directory store lsm('kv.lsm') (sync=normal) ==\n",
           sqlite3_libversion(), BENCH_TXN_ROWS);
    if( getenv("BENCH_SQL_PRAGMAS") ) printf("   every store's connection also ran: %s\n", getenv("BENCH_SQL_PRAGMAS"));
    int bLsmDir = bench_wanted(zEngines, "lsm-dir");      /* the directory store alone */
    int bLsm = bench_wanted(zEngines, "lsm") || bLsmDir;
    int bLsmInDb = bench_wanted(zEngines, "lsm");
    int bNative = bench_wanted(zEngines, "sqlite");
    if( bLsm && bench_sql_available(zErr, sizeof(zErr)) ){
      printf("  SQL level skipped: %s does not load: %s\n", bench_sql_extension_path(), zErr);
      bLsm = 0;
      bNative = zEngines && zEngines[0] && bNative;   /* only if asked for by name */
    }
    if( bLsm && bLsmInDb ) nFailed += bench_child(p, &bench_engine_sql_lsm);
    if( bLsm ) nFailed += bench_child(p, &bench_engine_sql_lsm_dir);
    if( bNative ) nFailed += bench_child(p, &bench_engine_sql_native);
    /* The floor beside the native table: the ceiling of any virtual table. */
    if( bench_wanted(zEngines, "vtab-floor") ){
      nFailed += bench_child(p, &bench_engine_sql_floor);
    }
    bench_print_level(p, "sql", "sqlite", azTargeted);
    bench_print_floor(p);
    printf("  write amp here is every byte the process handed to write(2): SQLite's WAL and "
           "checkpoints included.\n");
  }
  if( bAmp ){                 /* bench_amp.c: the amplification experiment */
    const bench_engine *pAmp;
    bench_amp_intro();
    for(i = 0; (pAmp = bench_amp_engine(i)) != 0; i++){
      nFailed += bench_child_run(p, pAmp, bench_amp_run);
    }
    bench_amp_report(p->aRow, p->nRow, &p->nTargets, &p->nTargetsMet);
  }

  if( bench_write_csv(p, zCsv) == 0 ) printf("\nwrote %d rows to %s", p->nRow, zCsv);
  printf("; targets met: %d of %d; %.0f s\n", p->nTargetsMet, p->nTargets, bench_now() - tStart);
  for(i = 0; i < p->nRes; i++){
    if( p->aRes[i].bFailed ){
      printf("FAILED: %s/%s (a wrong answer or an engine error; see stderr)\n",
             p->aRes[i].pEng->zLevel, p->aRes[i].pEng->zName);
    }
  }
  if( bOwnScratch ) bench_rmtree(zScratch);
  return nFailed ? 1 : 0;
}
