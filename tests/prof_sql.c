/*
** prof_sql.c — a deterministic workload for counting instructions on the
** SQL read path with callgrind (make prof-sql; not part of make test).
**
** Usage:
**
**   build/bench/prof_sql KIND N OPS WORKLOAD [overwrite] [settled] [flushed] [aftergets]
**                        [afterscan] [txn] [readall]
**     KIND      dir (lsm('kv.lsm', background=off)), memory
**               (lsm(':memory:', background=off)), indb (lsm, in the
**               database file) or native (a WITHOUT ROWID table)
**     N         keys loaded in random order, 1000 per transaction
**     OPS       reads timed
**     WORKLOAD  seek (key >= ? ORDER BY key LIMIT 10, every row read),
**               get, missing (gets of never-written keys) or scan (one
**               full scan, OPS ignored)
**     overwrite after the load, N more puts of keys drawn at random
**               (with repeats), 1000 per transaction, as make bench's
**               overwrite workload: the state its reads meet right after
**               the writes (more runs, overwritten versions, a memtable
**               part full)
**     settled   lsm_compact before the reads
**     flushed   settle as make bench does before its *-settled reads:
**               lsm_flush, then (indb) one-row COMMITs until two in a
**               row run no compaction (lsm_stats' count), so the reads
**               meet the bench's settled levels, not one sorted run
**     aftergets N/10 untimed random gets before the reads, as make
**               bench runs readrandom and readmissing before readseq
**               (the block cache then holds what they read)
**     afterscan one untimed full scan before the reads, as make bench
**               runs readseq before seekrandom (the scan leaves the block
**               cache holding the last blocks it read)
**     txn       the reads 1000 to a BEGIN ... COMMIT, as make bench groups
**               them (else each is its own read transaction)
**     readall   every column of a row read as make bench reads it (the key
**               with sqlite3_column_text, the value with
**               sqlite3_column_blob, each with sqlite3_column_bytes); else
**               only the last column's sqlite3_column_bytes
**   PROF_LSM_OPTIONS  more CREATE VIRTUAL TABLE arguments for dir, memory
**                     and indb (e.g. "block_cache_mb=64", "compression=none")
**   PROF_PRAGMAS      SQL run on the connection as soon as it opens,
**                     before anything is written: "PRAGMA page_size=16384"
**                     (an in-database table's chunk rows are a page each),
**                     "PRAGMA mmap_size=1000000000" (pages read from a
**                     mapping instead of with pread)
**   PROF_ROUNDS       R: run the reads R more times first, printing each
**                     round's CPU time per operation (for comparing two
**                     builds run side by side on a noisy machine)
**   PROF_STOP         stop (SIGSTOP) before the reads, printing the pid, so
**                     that a tracer can attach: strace -c -p PID, then
**                     kill -CONT PID; PROF_STOP=2 stops after the reads
**                     too (printing "stopped after the reads"), so that
**                     perf record -p PID, ended there, sees the reads
**                     alone and not the close
**   PROF_LSM_SO       the extension (default: ./lsm.so of the directory it
**                     is started in, as make prof-sql leaves it)
**
**   valgrind --tool=callgrind --instr-atstart=no \
**       build/bench/prof_sql dir 300000 20000 seek
**
** It prints the reads' wall-clock time per operation too (noisy on a
** shared machine: compare runs back to back), and the reading thread's
** CPU time per operation (which leaves out the time it waited for a core
** other processes held, though not their effect on the caches).  Instrumentation is
** switched on for the reads alone (the load runs
** uninstrumented, which is much faster); divide the total by OPS for
** instructions per operation.  background=off
** makes the engine do its flushes and compactions in the writer's thread,
** so the counts repeat exactly from run to run.  Keys and values are
** bench.h's: 16 decimal digits (key index * 2; odd ones are never
** written), 100-byte blobs.
*/
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#if __has_include(<valgrind/callgrind.h>)
# include <valgrind/callgrind.h>
#else
# define CALLGRIND_START_INSTRUMENTATION
# define CALLGRIND_STOP_INSTRUMENTATION
#endif

#define PROF_KEY_BYTES 16
#define PROF_VAL_BYTES 100

static uint64_t prof_rand(uint64_t *pState){
  uint64_t x = *pState;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *pState = x;
  return x;
}

static void prof_key(char *a, uint64_t i, int bOdd){
  uint64_t v = 2 * i + (bOdd ? 1 : 0);
  int j;
  for(j = PROF_KEY_BYTES - 1; j >= 0; j--){
    a[j] = (char)('0' + v % 10);
    v /= 10;
  }
}

static void prof_die(sqlite3 *db, const char *zWhat){
  fprintf(stderr, "prof_sql: %s: %s\n", zWhat, db ? sqlite3_errmsg(db) : "?");
  exit(1);
}

static void prof_exec(sqlite3 *db, const char *zSql){
  if( sqlite3_exec(db, zSql, 0, 0, 0) != SQLITE_OK ) prof_die(db, zSql);
}

/* The compactions the table has run (lsm_stats), or -1. */
static sqlite3_int64 prof_compactions(sqlite3 *db){
  sqlite3_stmt *pStmt = 0;
  sqlite3_int64 n = -1;
  if( sqlite3_prepare_v2(db, "SELECT json_extract(lsm_stats('kv'), '$.writes.compactions')", -1,
                         &pStmt, 0) == SQLITE_OK
   && sqlite3_step(pStmt) == SQLITE_ROW ){
    n = sqlite3_column_int64(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  return n;
}

/* make bench's settling of the in-database store (tests/bench_sql.c,
** sql_work_until_idle): one-row COMMITs, each of which may run the
** compaction due, until two in a row run none. */
static void prof_work_until_idle(sqlite3 *db){
  sqlite3_int64 nBefore = prof_compactions(db), nAfter;
  int i, nIdle = 0;
  for(i = 0; i < 100000 && nIdle < 2; i++){
    prof_exec(db, "INSERT OR REPLACE INTO kv VALUES(x'00', NULL)");
    nAfter = prof_compactions(db);
    if( nAfter < 0 ) prof_die(db, "lsm_stats");
    nIdle = nAfter == nBefore ? nIdle + 1 : 0;
    nBefore = nAfter;
  }
  prof_exec(db, "DELETE FROM kv WHERE key = x'00'");
}

/* The reads callgrind counts.  Returns the rows seen, checked by the
** caller. */
static uint64_t prof_reads(sqlite3 *db, sqlite3_stmt *pStmt, const char *zWork, uint64_t nKeys,
                           uint64_t nOps, uint64_t *pSeed, int bTxn, int bReadAll){
  char aKey[PROF_KEY_BYTES];
  uint64_t nRows = 0, i;
  int bScan = strcmp(zWork, "scan") == 0;
  int bMissing = strcmp(zWork, "missing") == 0;
  if( bScan ) nOps = 1;
  for(i = 0; i < nOps; i++){
    if( bTxn && i % 1000 == 0 ) prof_exec(db, "BEGIN");
    if( !bScan ){
      prof_key(aKey, prof_rand(pSeed) % nKeys, bMissing);
      sqlite3_bind_text(pStmt, 1, aKey, PROF_KEY_BYTES, SQLITE_STATIC);
    }
    while( sqlite3_step(pStmt) == SQLITE_ROW ){
      int iLast = sqlite3_column_count(pStmt) - 1;
      if( bReadAll && iLast > 0 ){
        /* As tests/bench_sql.c's sql_iter_entry reads a row. */
        const unsigned char *zKey = sqlite3_column_text(pStmt, 0);
        int nKey = sqlite3_column_bytes(pStmt, 0);
        const void *pVal = sqlite3_column_blob(pStmt, iLast);
        if( zKey && nKey == PROF_KEY_BYTES && pVal
         && sqlite3_column_bytes(pStmt, iLast) == PROF_VAL_BYTES ){
          nRows++;
        }
      }else if( sqlite3_column_bytes(pStmt, iLast) == PROF_VAL_BYTES ){
        nRows++;
      }
    }
    sqlite3_reset(pStmt);
    if( bTxn && (i % 1000 == 999 || i == nOps - 1) ) prof_exec(db, "COMMIT");
  }
  return nRows;
}

int main(int argc, char **argv){
  const char *zKind, *zWork, *zSo = getenv("PROF_LSM_SO");
  uint64_t nKeys, nOps, *aPerm, i, nRows, nWant, seed = 88172645463325252ull;
  char zDir[] = "/tmp/prof-sql-XXXXXX", zPath[64], aKey[PROF_KEY_BYTES];
  unsigned char aVal[PROF_VAL_BYTES];
  sqlite3 *db = 0;
  sqlite3_stmt *pPut = 0, *pRead = 0;
  const char *zRead;
  int bSettled = 0, bFlushed = 0, bAfterGets = 0, bOverwrite = 0, bAfterScan = 0, bTxn = 0;
  int bReadAll = 0;
  int iArg;
  struct timespec tStart, tEnd, tCpuStart, tCpuEnd;
  struct rusage ruStart, ruEnd;

  if( argc < 5 ){
    fprintf(stderr, "usage: %s dir|memory|indb|native N OPS seek|get|missing|scan [settled]\n",
            argv[0]);
    return 2;
  }
  zKind = argv[1];
  nKeys = strtoull(argv[2], 0, 10);
  nOps = strtoull(argv[3], 0, 10);
  zWork = argv[4];
  for(iArg = 5; iArg < argc; iArg++){
    if( strcmp(argv[iArg], "settled") == 0 ) bSettled = 1;
    else if( strcmp(argv[iArg], "flushed") == 0 ) bFlushed = 1;
    else if( strcmp(argv[iArg], "aftergets") == 0 ) bAfterGets = 1;
    else if( strcmp(argv[iArg], "overwrite") == 0 ) bOverwrite = 1;
    else if( strcmp(argv[iArg], "afterscan") == 0 ) bAfterScan = 1;
    else if( strcmp(argv[iArg], "txn") == 0 ) bTxn = 1;
    else if( strcmp(argv[iArg], "readall") == 0 ) bReadAll = 1;
    else{ fprintf(stderr, "prof_sql: unknown option %s\n", argv[iArg]); return 2; }
  }
  if( nKeys == 0 ) return 2;
  if( zSo == 0 ){
    static char zLocal[4096];
    if( realpath("lsm.so", zLocal) == 0 ){ perror("lsm.so"); return 1; }
    zSo = zLocal;
  }
  if( mkdtemp(zDir) == 0 ){ perror("mkdtemp"); return 1; }
  snprintf(zPath, sizeof(zPath), "%s/kv.db", zDir);
  if( chdir(zDir) != 0 ){ perror(zDir); return 1; }
  if( sqlite3_open(zPath, &db) != SQLITE_OK ) prof_die(db, zPath);
  /* Before anything is written: a page size holds only until then (and
  ** never changes in WAL mode). */
  if( getenv("PROF_PRAGMAS") ) prof_exec(db, getenv("PROF_PRAGMAS"));
  prof_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  if( strcmp(zKind, "native") == 0 ){
    prof_exec(db, "CREATE TABLE kv(key PRIMARY KEY NOT NULL, value) WITHOUT ROWID");
  }else{
    char *zErr = 0;
    sqlite3_enable_load_extension(db, 1);
    if( sqlite3_load_extension(db, zSo, "sqlite3_lsm_init", &zErr) ){
      fprintf(stderr, "prof_sql: load: %s\n", zErr ? zErr : "?");
      return 1;
    }
    const char *zOpt = getenv("PROF_LSM_OPTIONS");
    if( strcmp(zKind, "dir") == 0 || strcmp(zKind, "memory") == 0 ){
      char *zSql = sqlite3_mprintf("CREATE VIRTUAL TABLE kv USING lsm('%s', background=off%s%s)",
                                   zKind[0] == 'd' ? "kv.lsm" : ":memory:",
                                   zOpt ? ", " : "", zOpt ? zOpt : "");
      prof_exec(db, zSql);
      sqlite3_free(zSql);
    }else{
      char *zSql = sqlite3_mprintf("CREATE VIRTUAL TABLE kv USING lsm%s%s%s",
                                   zOpt ? "(" : "", zOpt ? zOpt : "", zOpt ? ")" : "");
      prof_exec(db, zSql);
      sqlite3_free(zSql);
    }
  }

  /* Load: every key once, in random order. */
  aPerm = malloc(sizeof(*aPerm) * nKeys);
  if( aPerm == 0 ) return 1;
  for(i = 0; i < nKeys; i++) aPerm[i] = i;
  for(i = nKeys - 1; i > 0; i--){
    uint64_t j = prof_rand(&seed) % (i + 1), t = aPerm[i];
    aPerm[i] = aPerm[j];
    aPerm[j] = t;
  }
  if( sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO kv(key, value) VALUES (?1, ?2)", -1,
                         &pPut, 0) ) prof_die(db, "prepare put");
  for(i = 0; i < nKeys; i++){
    size_t j;
    if( i % 1000 == 0 ) prof_exec(db, "BEGIN");
    prof_key(aKey, aPerm[i], 0);
    for(j = 0; j < PROF_VAL_BYTES; j++){
      aVal[j] = (unsigned char)(j < PROF_VAL_BYTES / 2 ? prof_rand(&seed) : 'v');
    }
    sqlite3_bind_text(pPut, 1, aKey, PROF_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(pPut, 2, aVal, PROF_VAL_BYTES, SQLITE_STATIC);
    if( sqlite3_step(pPut) != SQLITE_DONE ) prof_die(db, "put");
    sqlite3_reset(pPut);
    if( i % 1000 == 999 || i == nKeys - 1 ) prof_exec(db, "COMMIT");
  }
  /* Overwrite: N more puts of random keys (repeats allowed). */
  for(i = 0; bOverwrite && i < nKeys; i++){
    size_t j;
    if( i % 1000 == 0 ) prof_exec(db, "BEGIN");
    prof_key(aKey, prof_rand(&seed) % nKeys, 0);
    for(j = 0; j < PROF_VAL_BYTES; j++){
      aVal[j] = (unsigned char)(j < PROF_VAL_BYTES / 2 ? prof_rand(&seed) : 'v');
    }
    sqlite3_bind_text(pPut, 1, aKey, PROF_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(pPut, 2, aVal, PROF_VAL_BYTES, SQLITE_STATIC);
    if( sqlite3_step(pPut) != SQLITE_DONE ) prof_die(db, "overwrite");
    sqlite3_reset(pPut);
    if( i % 1000 == 999 || i == nKeys - 1 ) prof_exec(db, "COMMIT");
  }
  sqlite3_finalize(pPut);
  free(aPerm);
  if( bSettled && strcmp(zKind, "native") != 0 ) prof_exec(db, "SELECT lsm_compact('kv')");
  if( bFlushed && strcmp(zKind, "native") != 0 ){
    prof_exec(db, "SELECT lsm_flush('kv')");
    if( strcmp(zKind, "indb") == 0 ) prof_work_until_idle(db);
  }
  if( strcmp(zKind, "native") != 0 ){
    /* The shape the reads meet (levels, tables), for the record. */
    sqlite3_stmt *pStats = 0;
    if( sqlite3_prepare_v2(db, "SELECT lsm_stats('kv')", -1, &pStats, 0) == SQLITE_OK
     && sqlite3_step(pStats) == SQLITE_ROW ){
      fprintf(stderr, "prof_sql: %s\n", (const char*)sqlite3_column_text(pStats, 0));
    }
    sqlite3_finalize(pStats);
  }

  if( strcmp(zWork, "seek") == 0 ){
    zRead = "SELECT key, value FROM kv WHERE key >= ?1 ORDER BY key LIMIT 10";
    nWant = nOps * 10;
  }else if( strcmp(zWork, "get") == 0 ){
    zRead = "SELECT value FROM kv WHERE key = ?1";
    nWant = nOps;
  }else if( strcmp(zWork, "missing") == 0 ){
    zRead = "SELECT value FROM kv WHERE key = ?1";
    nWant = 0;
  }else{
    zRead = "SELECT key, value FROM kv ORDER BY key";
    nWant = nKeys;
  }
  if( bAfterGets ){
    sqlite3_stmt *pGet = 0;
    if( sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE key = ?1", -1, &pGet, 0) ){
      prof_die(db, "get");
    }
    for(i = 0; i < nKeys / 10; i++){
      if( i % 1000 == 0 ) prof_exec(db, "BEGIN");
      prof_key(aKey, prof_rand(&seed) % nKeys, 0);
      sqlite3_bind_text(pGet, 1, aKey, PROF_KEY_BYTES, SQLITE_STATIC);
      if( sqlite3_step(pGet) != SQLITE_ROW ) prof_die(db, "get");
      sqlite3_reset(pGet);
      if( i % 1000 == 999 || i == nKeys / 10 - 1 ) prof_exec(db, "COMMIT");
    }
    sqlite3_finalize(pGet);
  }
  if( bAfterScan ){
    sqlite3_stmt *pScan = 0;
    if( sqlite3_prepare_v2(db, "SELECT key, value FROM kv ORDER BY key", -1, &pScan, 0) ){
      prof_die(db, "scan");
    }
    while( sqlite3_step(pScan) == SQLITE_ROW ){}
    sqlite3_finalize(pScan);
  }
  if( sqlite3_prepare_v2(db, zRead, -1, &pRead, 0) ) prof_die(db, zRead);
  if( strcmp(zKind, "native") != 0 && (bAfterGets || bAfterScan) ){
    /* The counts the reads start from (the untimed reads above moved them). */
    sqlite3_stmt *pStats = 0;
    if( sqlite3_prepare_v2(db, "SELECT json_extract(lsm_stats('kv'), '$.block_cache')", -1,
                           &pStats, 0) == SQLITE_OK
     && sqlite3_step(pStats) == SQLITE_ROW ){
      fprintf(stderr, "prof_sql: before the reads: block cache %s\n",
              (const char*)sqlite3_column_text(pStats, 0));
    }
    sqlite3_finalize(pStats);
  }
  if( getenv("PROF_STOP") ){
    /* Stopped until a tracer attaches (strace -c -p PID) and continues it. */
    fprintf(stderr, "prof_sql: pid %d stopped before the reads\n", (int)getpid());
    raise(SIGSTOP);
  }
  if( getenv("PROF_ROUNDS") ){
    /* Rounds of the reads before the measured one, each timed alone. */
    int iRound, nRound = atoi(getenv("PROF_ROUNDS"));
    for(iRound = 0; iRound < nRound; iRound++){
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &tCpuStart);
      (void)prof_reads(db, pRead, zWork, nKeys, nOps, &seed, bTxn, bReadAll);
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &tCpuEnd);
      fprintf(stderr, "prof_sql: round %d: %.0f ns per op (this thread's CPU time)\n", iRound,
              ((double)(tCpuEnd.tv_sec - tCpuStart.tv_sec) * 1e9
               + (double)(tCpuEnd.tv_nsec - tCpuStart.tv_nsec)) / (double)nOps);
    }
  }
  getrusage(RUSAGE_SELF, &ruStart);
  clock_gettime(CLOCK_MONOTONIC, &tStart);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &tCpuStart);
  CALLGRIND_START_INSTRUMENTATION;
  nRows = prof_reads(db, pRead, zWork, nKeys, nOps, &seed, bTxn, bReadAll);
  CALLGRIND_STOP_INSTRUMENTATION;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &tCpuEnd);
  clock_gettime(CLOCK_MONOTONIC, &tEnd);
  getrusage(RUSAGE_SELF, &ruEnd);
  if( getenv("PROF_STOP") && atoi(getenv("PROF_STOP")) == 2 ){
    fprintf(stderr, "prof_sql: pid %d stopped after the reads\n", (int)getpid());
    raise(SIGSTOP);
  }
  sqlite3_finalize(pRead);
  if( strcmp(zKind, "native") != 0 ){
    /* The block cache's counts after the reads (less those printed before
    ** them: the reads' own hits and misses). */
    sqlite3_stmt *pStats = 0;
    if( sqlite3_prepare_v2(db, "SELECT json_extract(lsm_stats('kv'), '$.block_cache')", -1,
                           &pStats, 0) == SQLITE_OK
     && sqlite3_step(pStats) == SQLITE_ROW ){
      fprintf(stderr, "prof_sql: after the reads: block cache %s\n",
              (const char*)sqlite3_column_text(pStats, 0));
    }
    sqlite3_finalize(pStats);
  }
  /* A seek near the end returns fewer than 10 rows. */
  if( strcmp(zWork, "seek") == 0 ? (nRows > nWant || nRows < nWant - nWant / 100)
                                 : nRows != nWant ){
    fprintf(stderr, "prof_sql: %s read %llu rows, expected %llu\n", zWork,
            (unsigned long long)nRows, (unsigned long long)nWant);
    return 1;
  }
  printf("%s %s: %llu ops, %llu rows, %.0f ns per op (wall clock), %.0f ns per op (this "
         "thread's CPU time)\n", zKind, zWork,
         (unsigned long long)nOps, (unsigned long long)nRows,
         ((double)(tEnd.tv_sec - tStart.tv_sec) * 1e9 + (double)(tEnd.tv_nsec - tStart.tv_nsec))
           / (double)(strcmp(zWork, "scan") == 0 ? nKeys : nOps),
         ((double)(tCpuEnd.tv_sec - tCpuStart.tv_sec) * 1e9
          + (double)(tCpuEnd.tv_nsec - tCpuStart.tv_nsec))
           / (double)(strcmp(zWork, "scan") == 0 ? nKeys : nOps));
  {
    /* CPU time and kernel events of the reads: on a shared machine the
    ** wall clock counts the time other processes had the CPUs. */
    double nDiv = (double)(strcmp(zWork, "scan") == 0 ? nKeys : nOps);
    double usUser = (double)(ruEnd.ru_utime.tv_sec - ruStart.ru_utime.tv_sec) * 1e6
                  + (double)(ruEnd.ru_utime.tv_usec - ruStart.ru_utime.tv_usec);
    double usSys = (double)(ruEnd.ru_stime.tv_sec - ruStart.ru_stime.tv_sec) * 1e6
                 + (double)(ruEnd.ru_stime.tv_usec - ruStart.ru_stime.tv_usec);
    printf("%s %s: CPU %.0f ns user + %.0f ns system per op; per 1000 ops %.1f minor faults,"
           " %.1f major, %.1f voluntary and %.1f involuntary context switches\n",
           zKind, zWork, usUser * 1e3 / nDiv, usSys * 1e3 / nDiv,
           (double)(ruEnd.ru_minflt - ruStart.ru_minflt) * 1e3 / nDiv,
           (double)(ruEnd.ru_majflt - ruStart.ru_majflt) * 1e3 / nDiv,
           (double)(ruEnd.ru_nvcsw - ruStart.ru_nvcsw) * 1e3 / nDiv,
           (double)(ruEnd.ru_nivcsw - ruStart.ru_nivcsw) * 1e3 / nDiv);
  }
  sqlite3_close(db);
  {
    char zCmd[128];
    snprintf(zCmd, sizeof(zCmd), "rm -rf '%s'", zDir);
    if( system(zCmd) != 0 ) return 1;
  }
  return 0;
}
