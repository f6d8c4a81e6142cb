/*
** prof_write.c — where the bytes of the SQL write path go (make prof-write;
** not part of make test): one write workload on one kind of table, every
** byte SQLite hands to the operating system counted by a VFS shim, split
** by file (database, WAL, other) and set beside the engine's own counters.
**
** Usage:
**
**   build/bench/prof_write KIND N WORKLOAD
**     KIND      indb (lsm, rows in the database file), dir
**               (lsm('kv.lsm', background=off)) or native (a WITHOUT
**               ROWID table)
**     N         keys
**     WORKLOAD  fillseq | fillrandom (N puts, 1000 per transaction),
**               overwrite (fillrandom, then N puts of random keys),
**               deleterandom (fillrandom, then N deletes of random keys);
**               the counts cover the last phase only
**   PROF_LSM_OPTIONS  more CREATE VIRTUAL TABLE arguments for indb and
**                     dir (e.g. "memtable_mb=16")
**   PROF_LSM_SO       the extension (default ./lsm.so)
**   PROF_VALUES=pool  make bench's values instead of half-random ones
**                     (below)
**   PROF_PRAGMAS      SQL run after the database opens (e.g.
**                     "PRAGMA wal_autocheckpoint=0")
**
** Prints the rows/s, CPU time (user, sys) and page faults of the counted phase,
** then one line per counter: user bytes (116 per put, 16 per delete, as
** bench.h counts them), bytes written to the database file, to its WAL
** (checkpoints included: PRAGMA wal_checkpoint(TRUNCATE) at the end of
** the phase), to statement journals and to other files; WAL frames and
** the distinct pages they held per transaction and per WAL generation
** (between two checkpoints); the engine's flush and compaction bytes
** (lsm_stats), the tables per level at the end and the bytes written
** into each level since the engine opened; the COMMIT latency at
** p50, p99, p99.9 and the slowest, in wall time and in the committing
** thread's CPU time (the in-database store works on that thread; CPU time
** hides the time other processes of a loaded machine had the core).
**   PROF_CLASSIFY=1  after each COMMIT, name the b-tree and page type
**                    (dbstat) of every page that COMMIT wrote to the WAL,
**                    "free" for a page on the freelist; printed as totals
**                    (slow: one dbstat scan per COMMIT)
** Keys are prof_sql.c's: 16 decimal digits; values 100-byte blobs, half
** random, or with PROF_VALUES=pool as make bench makes them (the key's
** index, a generation, 88 bytes cut from a 64 KiB pool of random bytes,
** which a 1000-row batch repeats: about 2:1 for Zstandard).  The dir
** kind's own files are written by the engine, not through SQLite: only
** its database file and WAL are counted.
*/
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "vfs_shim.h"

#define PROF_KEY_BYTES 16
#define PROF_VAL_BYTES 100
#define PROF_TXN_ROWS 1000

/* ---- the counting VFS ---- */

enum { FILE_DB, FILE_WAL, FILE_SUBJOURNAL, FILE_OTHER, FILE_NKIND };

static uint64_t anWritten[FILE_NKIND];   /* bytes handed to xWrite per kind */
static uint64_t nWalFrames;              /* WAL frames written (not rewrites) */
static sqlite3_int64 iWalEnd;            /* end of the frames of this WAL generation */
static uint64_t nWalPagesDistinct;       /* distinct pages per WAL generation, summed */
static uint64_t nTxnPagesDistinct;       /* distinct pages per WAL transaction, summed */
static uint8_t *aPageSeen;               /* bit 0: page seen in this WAL generation;
                                            bit 1: in this transaction */
static size_t nPageSeen;

/* The pages of the WAL transaction being written, and of the last one
** committed (PROF_CLASSIFY: prof_classify names their b-trees). */
static uint32_t *aTxnPage, *aLastTxnPage;
static size_t nTxnPage, nLastTxnPage, nTxnPageAlloc;

static void count_page(uint32_t iPage){
  if( iPage >= nPageSeen ){
    size_t nNew = nPageSeen ? nPageSeen : 1024;
    while( nNew <= iPage ) nNew *= 2;
    aPageSeen = realloc(aPageSeen, nNew);
    if( aPageSeen == 0 ) abort();
    memset(aPageSeen + nPageSeen, 0, nNew - nPageSeen);
    nPageSeen = nNew;
  }
  if( !(aPageSeen[iPage] & 1) ) nWalPagesDistinct++;
  if( !(aPageSeen[iPage] & 2) ){
    nTxnPagesDistinct++;
    if( nTxnPage == nTxnPageAlloc ){
      nTxnPageAlloc = nTxnPageAlloc ? nTxnPageAlloc * 2 : 4096;
      aTxnPage = realloc(aTxnPage, nTxnPageAlloc * sizeof(uint32_t));
      aLastTxnPage = realloc(aLastTxnPage, nTxnPageAlloc * sizeof(uint32_t));
      if( aTxnPage == 0 || aLastTxnPage == 0 ) abort();
    }
    aTxnPage[nTxnPage++] = iPage;
  }
  aPageSeen[iPage] |= 3;
}

/* A commit frame ends a transaction: its pages may be written again. */
static void count_commit(void){
  size_t i;
  uint32_t *aSwap;
  for(i = 0; i < nPageSeen; i++) aPageSeen[i] &= 1;
  aSwap = aLastTxnPage;
  aLastTxnPage = aTxnPage;
  nLastTxnPage = nTxnPage;
  aTxnPage = aSwap;
  nTxnPage = 0;
}

static int file_kind(int openFlags){
  return (openFlags & SQLITE_OPEN_MAIN_DB) ? FILE_DB : (openFlags & SQLITE_OPEN_WAL) ? FILE_WAL
       : (openFlags & SQLITE_OPEN_SUBJOURNAL) ? FILE_SUBJOURNAL : FILE_OTHER;
}

static void count_write(int openFlags, const void *a, int n, sqlite3_int64 o){
  int eKind = file_kind(openFlags);
  anWritten[eKind] += (uint64_t)n;
  if( eKind == FILE_WAL ){
    const uint8_t *b = a;
    if( o == 0 ){
      memset(aPageSeen, 0, nPageSeen);   /* a new WAL generation */
      iWalEnd = 0;
    }else if( n == 24 && o >= iWalEnd ){ /* a new frame's header: page number first
                                            (SQLite rewrites frames of the open
                                            transaction in place: not new frames) */
      nWalFrames++;
      count_page(((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3]);
      if( b[4] | b[5] | b[6] | b[7] ) count_commit();
    }
    if( o + n > iWalEnd ) iWalEnd = o + n;
  }
}

static void count_vfs_register(void){
  static const vfs_shim_hooks hooks = { .xWrite = count_write };
  if( vfs_shim_register("count", &hooks, 1) != SQLITE_OK ) abort();
}

/* ---- the workload ---- */

static uint64_t prof_rand(uint64_t *pState){
  uint64_t x = *pState;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *pState = x;
  return x;
}

static void prof_key(char *a, uint64_t v){
  int j;
  for(j = PROF_KEY_BYTES - 1; j >= 0; j--){
    a[j] = (char)('0' + v % 10);
    v /= 10;
  }
}

static void prof_die(sqlite3 *db, const char *zWhat){
  fprintf(stderr, "prof_write: %s: %s\n", zWhat, db ? sqlite3_errmsg(db) : "?");
  exit(1);
}

static void prof_exec(sqlite3 *db, const char *zSql){
  if( sqlite3_exec(db, zSql, 0, 0, 0) != SQLITE_OK ) prof_die(db, zSql);
}

static uint64_t now_micros(void){
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

/* User and system CPU time of the process so far, microseconds, and its
** minor page faults: the phase's CPU (the in-database store works on
** this thread; sys counts the bytes SQLite hands to the kernel and reads
** back, and the first touch of every page of memory newly mapped, about
** 5 us each on this project's virtual machine). */
static void process_cpu_micros(uint64_t *pnUser, uint64_t *pnSys, uint64_t *pnFault){
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *pnFault = (uint64_t)ru.ru_minflt;
  *pnUser = (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec;
  *pnSys = (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec;
}

/* CPU time of this thread: a COMMIT's work on a loaded machine (the in-
** database store runs it on the committing thread), where wall time also
** counts the time other processes had the core. */
static uint64_t cpu_micros(void){
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

/* PROF_CLASSIFY: WAL frames by what their page held when the transaction
** committed (dbstat: b-tree and page type; "free" if in no b-tree). */
#define PROF_NCLASS 32
static char azClass[PROF_NCLASS][64];
static uint64_t anClassFrames[PROF_NCLASS];
static uint64_t anClassFramesBig[PROF_NCLASS];   /* in transactions of > 200 pages */

static void prof_classify(sqlite3 *db){
  static char (*azOwner)[64] = 0;
  static size_t nOwner = 0;
  sqlite3_stmt *pStmt = 0;
  size_t i;
  int bBig = nLastTxnPage > 200;
  if( nLastTxnPage == 0 ) return;
  for(i = 0; i < nOwner; i++) azOwner[i][0] = 0;
  if( sqlite3_prepare_v2(db, "SELECT pageno, name, pagetype FROM dbstat", -1, &pStmt, 0) ){
    prof_die(db, "dbstat");
  }
  while( sqlite3_step(pStmt) == SQLITE_ROW ){
    size_t iPg = (size_t)sqlite3_column_int64(pStmt, 0);
    if( iPg >= nOwner ){
      size_t nNew = nOwner ? nOwner : 1024;
      while( nNew <= iPg ) nNew *= 2;
      azOwner = realloc(azOwner, nNew * 64);
      if( azOwner == 0 ) abort();
      memset(azOwner[nOwner], 0, (nNew - nOwner) * 64);
      nOwner = nNew;
    }
    snprintf(azOwner[iPg], 64, "%s %s", (const char*)sqlite3_column_text(pStmt, 1),
             (const char*)sqlite3_column_text(pStmt, 2));
  }
  sqlite3_finalize(pStmt);
  for(i = 0; i < nLastTxnPage; i++){
    uint32_t iPg = aLastTxnPage[i];
    const char *z = (iPg < nOwner && azOwner[iPg][0]) ? azOwner[iPg] : "free";
    int k;
    for(k = 0; k < PROF_NCLASS && azClass[k][0] && strcmp(azClass[k], z); k++){}
    if( k == PROF_NCLASS ) continue;
    if( !azClass[k][0] ) snprintf(azClass[k], 64, "%s", z);
    anClassFrames[k]++;
    if( bBig ) anClassFramesBig[k]++;
  }
  nLastTxnPage = 0;
}

static int cmp_u64(const void *a, const void *b){
  uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
  return x < y ? -1 : x > y;
}

static int64_t stat_int(sqlite3 *db, const char *zPath){
  sqlite3_stmt *pStmt = 0;
  int64_t v = -1;
  char *zSql = sqlite3_mprintf("SELECT json_extract(lsm_stats('kv'), '%q')", zPath);
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) == SQLITE_OK
   && sqlite3_step(pStmt) == SQLITE_ROW ){
    v = sqlite3_column_int64(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  sqlite3_free(zSql);
  return v;
}

/* The files per level at the end of the phase, as "L0 3, L1 12". */
static void prof_print_levels(sqlite3 *db){
  sqlite3_stmt *pStmt = 0;
  if( sqlite3_prepare_v2(db, "SELECT group_concat('L' || json_extract(value, '$.level') || ' '"
                         " || json_extract(value, '$.files'), ', ')"
                         " FROM json_each(lsm_stats('kv'), '$.levels')", -1, &pStmt, 0) == SQLITE_OK
   && sqlite3_step(pStmt) == SQLITE_ROW ){
    printf("  levels at the end     %s\n", (const char*)sqlite3_column_text(pStmt, 0));
  }
  sqlite3_finalize(pStmt);
  /* Bytes written into each level since the engine opened (both phases:
  ** the counters are the engine's, kept from its open). */
  pStmt = 0;
  if( sqlite3_prepare_v2(db, "SELECT group_concat('L' || json_extract(value, '$.level') || ' '"
                         " || json_extract(value, '$.compaction_bytes_written'), ', ')"
                         " FROM json_each(lsm_stats('kv'), '$.levels')", -1, &pStmt, 0) == SQLITE_OK
   && sqlite3_step(pStmt) == SQLITE_ROW ){
    printf("  written per level     %s (since open)\n", (const char*)sqlite3_column_text(pStmt, 0));
  }
  sqlite3_finalize(pStmt);
}

/* PROF_VALUES=pool: values as make bench makes them, 88 of their bytes cut
** from this pool of random bytes (NULL: half random, half 'v'). */
#define PROF_POOL_BYTES 65536
static unsigned char *aProfPool;

/* One phase: n operations (bDelete: deletes) on keys aKey[0..n), one
** COMMIT per PROF_TXN_ROWS; the COMMIT latencies go to aCommit, their
** CPU times to aCommitCpu. */
static size_t prof_phase(sqlite3 *db, sqlite3_stmt *pStmt, const uint64_t *aKey, uint64_t n,
                         uint64_t *pSeed, uint64_t *aCommit, uint64_t *aCommitCpu){
  char zKey[PROF_KEY_BYTES];
  unsigned char aVal[PROF_VAL_BYTES];
  size_t nCommit = 0;
  uint64_t i;
  for(i = 0; i < n; i++){
    size_t j;
    if( i % PROF_TXN_ROWS == 0 ) prof_exec(db, "BEGIN");
    prof_key(zKey, aKey[i]);
    sqlite3_bind_text(pStmt, 1, zKey, PROF_KEY_BYTES, SQLITE_STATIC);
    if( sqlite3_bind_parameter_count(pStmt) > 1 ){
      if( aProfPool ){
        /* make bench's values (tests/bench_util.c bench_value): the
        ** key's index, a generation, then bytes cut from one pool. */
        size_t iOff = (size_t)(prof_rand(pSeed) % (PROF_POOL_BYTES - (PROF_VAL_BYTES - 12)));
        memcpy(aVal, &aKey[i], 8);
        memset(aVal + 8, 0, 4);
        memcpy(aVal + 12, &aProfPool[iOff], PROF_VAL_BYTES - 12);
      }else{
        for(j = 0; j < PROF_VAL_BYTES; j++){
          aVal[j] = (unsigned char)(j < PROF_VAL_BYTES / 2 ? prof_rand(pSeed) : 'v');
        }
      }
      sqlite3_bind_blob(pStmt, 2, aVal, PROF_VAL_BYTES, SQLITE_STATIC);
    }
    if( sqlite3_step(pStmt) != SQLITE_DONE ) prof_die(db, "write");
    sqlite3_reset(pStmt);
    if( i % PROF_TXN_ROWS == PROF_TXN_ROWS - 1 || i == n - 1 ){
      uint64_t t0 = now_micros(), c0 = cpu_micros();
      prof_exec(db, "COMMIT");
      aCommitCpu[nCommit] = cpu_micros() - c0;
      aCommit[nCommit++] = now_micros() - t0;
      if( getenv("PROF_CLASSIFY") ) prof_classify(db);
    }
  }
  return nCommit;
}

int main(int argc, char **argv){
  const char *zKind, *zWork, *zSo = getenv("PROF_LSM_SO"), *zOpt = getenv("PROF_LSM_OPTIONS");
  uint64_t nKeys, *aKey, *aCommit, *aCommitCpu, i, seed = 88172645463325252ull, nUser;
  char zDir[] = "/tmp/prof-write-XXXXXX", zPath[64];
  sqlite3 *db = 0;
  sqlite3_stmt *pPut = 0, *pDel = 0;
  int bLsm, bLast;
  int64_t nFlush0 = 0, nComp0 = 0;
  size_t nCommit;
  uint64_t t0, c0, nUser0 = 0, nSys0 = 0, nFault0 = 0;

  if( argc < 4 ){
    fprintf(stderr, "usage: %s indb|dir|native N fillseq|fillrandom|overwrite|deleterandom\n",
            argv[0]);
    return 2;
  }
  zKind = argv[1];
  nKeys = strtoull(argv[2], 0, 10);
  zWork = argv[3];
  if( nKeys == 0 ) return 2;
  bLsm = strcmp(zKind, "native") != 0;
  if( getenv("PROF_VALUES") && strcmp(getenv("PROF_VALUES"), "pool") == 0 ){
    aProfPool = malloc(PROF_POOL_BYTES);
    if( aProfPool == 0 ){ perror("malloc"); return 1; }
    for(i = 0; i < PROF_POOL_BYTES; i++) aProfPool[i] = (unsigned char)prof_rand(&seed);
  }
  if( zSo == 0 ){
    static char zLocal[4096];
    if( realpath("lsm.so", zLocal) == 0 ){ perror("lsm.so"); return 1; }
    zSo = zLocal;
  }
  count_vfs_register();
  if( mkdtemp(zDir) == 0 ){ perror("mkdtemp"); return 1; }
  snprintf(zPath, sizeof(zPath), "%s/kv.db", zDir);
  if( chdir(zDir) != 0 ){ perror(zDir); return 1; }
  if( sqlite3_open(zPath, &db) != SQLITE_OK ) prof_die(db, zPath);
  prof_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  if( getenv("PROF_PRAGMAS") ) prof_exec(db, getenv("PROF_PRAGMAS"));
  if( !bLsm ){
    prof_exec(db, "CREATE TABLE kv(key PRIMARY KEY NOT NULL, value) WITHOUT ROWID");
  }else{
    char *zErr = 0, *zSql;
    sqlite3_enable_load_extension(db, 1);
    if( sqlite3_load_extension(db, zSo, "sqlite3_lsm_init", &zErr) ){
      fprintf(stderr, "prof_write: load: %s\n", zErr ? zErr : "?");
      return 1;
    }
    if( strcmp(zKind, "dir") == 0 ){
      zSql = sqlite3_mprintf("CREATE VIRTUAL TABLE kv USING lsm('kv.lsm', background=off%s%s)",
                             zOpt ? ", " : "", zOpt ? zOpt : "");
    }else{
      zSql = sqlite3_mprintf("CREATE VIRTUAL TABLE kv USING lsm%s%s%s", zOpt ? "(" : "",
                             zOpt ? zOpt : "", zOpt ? ")" : "");
    }
    prof_exec(db, zSql);
    sqlite3_free(zSql);
  }
  if( sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO kv(key, value) VALUES (?1, ?2)", -1,
                         &pPut, 0)
   || sqlite3_prepare_v2(db, "DELETE FROM kv WHERE key = ?1", -1, &pDel, 0) ){
    prof_die(db, "prepare");
  }
  aKey = malloc(sizeof(*aKey) * nKeys);
  aCommit = malloc(sizeof(*aCommit) * (nKeys / PROF_TXN_ROWS + 1));
  aCommitCpu = malloc(sizeof(*aCommitCpu) * (nKeys / PROF_TXN_ROWS + 1));
  if( aKey == 0 || aCommit == 0 || aCommitCpu == 0 ) return 1;

  /* The fill: every key once, in order or shuffled. */
  for(i = 0; i < nKeys; i++) aKey[i] = 2 * i;
  if( strcmp(zWork, "fillseq") != 0 ){
    for(i = nKeys - 1; i > 0; i--){
      uint64_t j = prof_rand(&seed) % (i + 1), t = aKey[i];
      aKey[i] = aKey[j];
      aKey[j] = t;
    }
  }
  bLast = strcmp(zWork, "fillseq") == 0 || strcmp(zWork, "fillrandom") == 0;
  t0 = now_micros();
  c0 = cpu_micros();
  process_cpu_micros(&nUser0, &nSys0, &nFault0);
  nCommit = prof_phase(db, pPut, aKey, nKeys, &seed, aCommit, aCommitCpu);
  if( !bLast ){
    /* Settle the fill (as bench_sql.c does) before the counted phase. */
    if( bLsm ) prof_exec(db, "SELECT lsm_flush('kv')");
    prof_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    if( bLsm ){
      nFlush0 = stat_int(db, "$.writes.flush_bytes");
      nComp0 = stat_int(db, "$.writes.compaction_bytes");
    }
    memset(anWritten, 0, sizeof(anWritten));
    nWalFrames = nWalPagesDistinct = nTxnPagesDistinct = 0;
    memset(anClassFrames, 0, sizeof(anClassFrames));
    memset(anClassFramesBig, 0, sizeof(anClassFramesBig));
    for(i = 0; i < nKeys; i++) aKey[i] = 2 * (prof_rand(&seed) % nKeys);
    t0 = now_micros();
    c0 = cpu_micros();
    process_cpu_micros(&nUser0, &nSys0, &nFault0);
    nCommit = prof_phase(db, strcmp(zWork, "deleterandom") == 0 ? pDel : pPut, aKey, nKeys,
                         &seed, aCommit, aCommitCpu);
  }
  nUser = nKeys * (strcmp(zWork, "deleterandom") == 0 ? PROF_KEY_BYTES
                                                     : PROF_KEY_BYTES + PROF_VAL_BYTES);
  {
    double secs = (double)(now_micros() - t0) / 1e6;
    uint64_t nUser1, nSys1, nFault1;
    process_cpu_micros(&nUser1, &nSys1, &nFault1);
    printf("%s %s N=%llu: %.0f rows/s (CPU: user %.3f s, sys %.3f s; %llu page faults;"
           " the writing thread's CPU %.3f s)\n",
           zKind, zWork, (unsigned long long)nKeys, (double)nKeys / secs,
           (double)(nUser1 - nUser0) / 1e6, (double)(nSys1 - nSys0) / 1e6,
           (unsigned long long)(nFault1 - nFault0), (double)(cpu_micros() - c0) / 1e6);
  }
  prof_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  printf("  user bytes            %12llu\n", (unsigned long long)nUser);
  printf("  database file written %12llu  %6.2fx\n", (unsigned long long)anWritten[FILE_DB],
         (double)anWritten[FILE_DB] / (double)nUser);
  printf("  WAL written           %12llu  %6.2fx  (%llu frames; distinct pages: %llu per"
         " transaction, %llu per WAL generation)\n", (unsigned long long)anWritten[FILE_WAL],
         (double)anWritten[FILE_WAL] / (double)nUser, (unsigned long long)nWalFrames,
         (unsigned long long)nTxnPagesDistinct, (unsigned long long)nWalPagesDistinct);
 printf("  statement journals    %12llu  %6.2fx\n", (unsigned long long)anWritten[FILE_SUBJOURNAL],
         (double)anWritten[FILE_SUBJOURNAL] / (double)nUser);
  printf("  other files written   %12llu  %6.2fx\n", (unsigned long long)anWritten[FILE_OTHER],
         (double)anWritten[FILE_OTHER] / (double)nUser);
  if( bLsm ){
    int64_t nFlush = stat_int(db, "$.writes.flush_bytes") - nFlush0;
    int64_t nComp = stat_int(db, "$.writes.compaction_bytes") - nComp0;
    printf("  engine flush bytes    %12lld  %6.2fx\n", (long long)nFlush,
           (double)nFlush / (double)nUser);
    printf("  engine compaction     %12lld  %6.2fx\n", (long long)nComp,
           (double)nComp / (double)nUser);
    prof_print_levels(db);
  }
  for(i = 0; i < PROF_NCLASS && azClass[i][0]; i++){
    if( anClassFrames[i] == 0 ) continue;
    printf("  WAL frames of %-28s %8llu  (%llu in transactions of > 200 pages)\n", azClass[i],
           (unsigned long long)anClassFrames[i], (unsigned long long)anClassFramesBig[i]);
  }
  qsort(aCommit, nCommit, sizeof(*aCommit), cmp_u64);
  printf("  COMMIT ms: p50 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  (%zu COMMITs)\n",
         (double)aCommit[nCommit / 2] / 1000, (double)aCommit[nCommit * 99 / 100] / 1000,
         (double)aCommit[nCommit * 999 / 1000] / 1000, (double)aCommit[nCommit - 1] / 1000,
         nCommit);
  qsort(aCommitCpu, nCommit, sizeof(*aCommitCpu), cmp_u64);
  printf("  COMMIT cpu ms: p50 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n",
         (double)aCommitCpu[nCommit / 2] / 1000, (double)aCommitCpu[nCommit * 99 / 100] / 1000,
         (double)aCommitCpu[nCommit * 999 / 1000] / 1000, (double)aCommitCpu[nCommit - 1] / 1000);
  {
    /* The slowest ten and the sum: a flush every ~140 COMMITs is under p99. */
    uint64_t nSum = 0;
    printf("  COMMIT cpu ms, the ten slowest:");
    for(i = nCommit > 10 ? nCommit - 10 : 0; i < nCommit; i++){
      printf(" %.1f", (double)aCommitCpu[i] / 1000);
    }
    for(i = 0; i < nCommit; i++) nSum += aCommitCpu[i];
    printf("; all COMMITs %.3f s\n", (double)nSum / 1e6);
  }
  sqlite3_finalize(pPut);
  sqlite3_finalize(pDel);
  sqlite3_close(db);
  free(aKey);
  free(aCommit);
  free(aCommitCpu);
  {
    char zCmd[128];
    snprintf(zCmd, sizeof(zCmd), "rm -rf '%s'", zDir);
    if( system(zCmd) != 0 ) return 1;
  }
  return 0;
}
