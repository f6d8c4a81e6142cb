/*
** prof_compact.c — a deterministic flush and compaction workload for
** callgrind (make prof-compact; not part of make test): N puts of random
** keys (or in order: seq) through the engine API with background=off, so every flush and
** compaction runs inline on the writer and the instruction counts repeat
** exactly from run to run.
**
** Usage:
**
**   build/bench/prof_compact N VALUES [DIR]
**     N       puts (16-byte keys: 16 decimal digits of a random number
**             below N, so some keys are written more than once)
**     VALUES  random (100 random bytes) | half (100 bytes, the first 50
**             random, the rest zero: about 2:1 under LZ4, as bench.h's
**             values) | seq (half values, but the keys in order: key i
**             is the i-th put, 0 .. N-1, each once, as db_bench's
**             fillseq: every memtable insert appends)
**     DIR     the store (default ./prof_compact.lsm, destroyed first)
**   build/bench/prof_compact N deleterandom [DIR]
**             the engine level of make bench's store "random", writes
**             only (tests/bench_workload.c): fillrandom (every key of N
**             once, bench_perm order, bench_value values), overwrite,
**             settle, deleterandom (N/2 distinct keys), settle; settling
**             is lsm_flush, which with background=off also runs every
**             compaction due.  Prints each phase's bytes (WAL, flush,
**             compaction, and per level) and the levels before the
**             deletes, so where deleterandom's write amplification goes
**             can be read off without the bench's noise.  Compression
**             none unless PROF_COMPRESSION says otherwise, as the bench.
**   PROF_COMPRESSION  none | lz4 (default) | zstd
**
** Prints the engine's flush and compaction byte counters and the tables
** per level.  With callgrind, count one phase at a time:
**
**   valgrind --tool=callgrind --toggle-collect=compaction_run \
**     build/bench/prof_compact 300000 random
**
** (compaction_run runs flushes and compactions both) and divide its
** inclusive instructions by the bytes the flushes and compactions wrote
** (printed as "flush+compaction written").
** Keys and values come from a fixed-seed xorshift generator.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lsm/lsm.h"
#include "bench.h"

#define PROF_KEY_BYTES 16
#define PROF_VAL_BYTES 100

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng_next(void){
  uint64_t x = rng_state;
  x ^= x << 13; x ^= x >> 7; x ^= x << 17;
  return rng_state = x;
}

static void fail(const char *zWhat, int rc){
  fprintf(stderr, "prof_compact: %s failed: %d\n", zWhat, rc);
  exit(1);
}

/* ---- deleterandom: the bench's write sequence, phase by phase ---- */

static void print_levels(lsm_db *pDb, const char *zWhen){
  lsm_stats st;
  int iLevel, rc = lsm_stats_get(pDb, &st);
  if( rc != LSM_OK ) fail("lsm_stats_get", rc);
  printf("levels %s:\n", zWhen);
  for(iLevel = 0; iLevel < st.nLevel; iLevel++){
    if( st.aLevel[iLevel].nFiles == 0 ) continue;
    printf("  L%d: %llu tables, %llu bytes, %llu entries, %llu tombstones\n", iLevel,
           (unsigned long long)st.aLevel[iLevel].nFiles,
           (unsigned long long)st.aLevel[iLevel].nBytes,
           (unsigned long long)st.aLevel[iLevel].nEntries,
           (unsigned long long)st.aLevel[iLevel].nTombstones);
  }
}

/* Print what was written since *pBefore (then *pBefore = now), per user
** byte: WAL, flushes, compactions, and compaction bytes per output level. */
static void print_phase(lsm_db *pDb, const char *zPhase, lsm_stats *pBefore){
  lsm_stats st;
  uint64_t nUser, nWal, nFlush, nComp;
  int iLevel, rc = lsm_stats_get(pDb, &st);
  if( rc != LSM_OK ) fail("lsm_stats_get", rc);
  nUser = st.nUserBytesWritten - pBefore->nUserBytesWritten;
  nWal = st.nWalBytesWritten - pBefore->nWalBytesWritten;
  nFlush = st.nFlushBytesWritten - pBefore->nFlushBytesWritten;
  nComp = st.nCompactionBytesWritten - pBefore->nCompactionBytesWritten;
  printf("%s: user %llu; WAL %llu (%.2f), flush %llu (%.2f), compaction %llu (%.2f) "
         "in %llu compactions; write amp %.2f\n", zPhase, (unsigned long long)nUser,
         (unsigned long long)nWal, (double)nWal / (double)nUser,
         (unsigned long long)nFlush, (double)nFlush / (double)nUser,
         (unsigned long long)nComp, (double)nComp / (double)nUser,
         (unsigned long long)(st.nCompactions - pBefore->nCompactions),
         (double)(nWal + nFlush + nComp) / (double)nUser);
  {
    /* Level 0's written counter counts flushes too; its read counter only
    ** level-0 tables merged together (compaction_leveled.c). */
    uint64_t nRead = st.aLevel[0].nBytesReadByCompaction - pBefore->aLevel[0].nBytesReadByCompaction;
    uint64_t nWritten = st.aLevel[0].nBytesWrittenByCompaction
                      - pBefore->aLevel[0].nBytesWrittenByCompaction - nFlush;
    if( nRead ){
      printf("  within L0: read %llu, written %llu\n", (unsigned long long)nRead,
             (unsigned long long)nWritten);
    }
  }
  for(iLevel = 1; iLevel < LSM_MAX_LEVELS; iLevel++){
    uint64_t nRead = st.aLevel[iLevel].nBytesReadByCompaction
                   - pBefore->aLevel[iLevel].nBytesReadByCompaction;
    uint64_t nWritten = st.aLevel[iLevel].nBytesWrittenByCompaction
                      - pBefore->aLevel[iLevel].nBytesWrittenByCompaction;
    uint64_t nAbove = st.aLevel[iLevel].nBytesFromAbove - pBefore->aLevel[iLevel].nBytesFromAbove;
    if( nRead == 0 && nWritten == 0 ) continue;
    printf("  into L%d: read %llu (%llu from above), written %llu\n", iLevel,
           (unsigned long long)nRead, (unsigned long long)nAbove, (unsigned long long)nWritten);
  }
  *pBefore = st;
}

static void run_deleterandom(lsm_db *pDb, uint64_t n){
  const uint64_t iSeed = 20240601;      /* the bench's default BENCH_SEED */
  bench_perm perm;
  lsm_stats st;
  char aKey[BENCH_KEY_BYTES], aVal[BENCH_VAL_BYTES];
  uint64_t i;
  uint32_t iGen;
  int rc;
  bench_value_pool_init(iSeed);
  rc = lsm_stats_get(pDb, &st);
  if( rc != LSM_OK ) fail("lsm_stats_get", rc);
  for(iGen = 0; iGen < 2; iGen++){
    /* The bench's seed offsets: fillrandom 1, overwrite 2, deleterandom 6. */
    bench_perm_init(&perm, n, iSeed * 16 + (iGen ? 2 : 1));
    for(i = 0; i < n; i++){
      uint64_t k = bench_perm_at(&perm, i);
      bench_key(aKey, k, 0);
      bench_value(aVal, k, iGen);
      rc = lsm_put(pDb, aKey, sizeof(aKey), aVal, sizeof(aVal));
      if( rc != LSM_OK ) fail("lsm_put", rc);
    }
    if( iGen == 1 ){
      rc = lsm_flush(pDb);
      if( rc != LSM_OK ) fail("lsm_flush", rc);
    }
    print_phase(pDb, iGen ? "overwrite (settled)" : "fillrandom", &st);
  }
  print_levels(pDb, "before the deletes");
  bench_perm_init(&perm, n, iSeed * 16 + 6);
  for(i = 0; i < n / 2; i++){
    bench_key(aKey, bench_perm_at(&perm, i), 0);
    rc = lsm_delete(pDb, aKey, sizeof(aKey));
    if( rc != LSM_OK ) fail("lsm_delete", rc);
  }
  rc = lsm_flush(pDb);
  if( rc != LSM_OK ) fail("lsm_flush", rc);
  print_phase(pDb, "deleterandom (settled)", &st);
  print_levels(pDb, "after the deletes");
}

int main(int argc, char **argv){
  lsm_options opt;
  lsm_db *pDb;
  lsm_stats st;
  uint64_t nPut, i;
  int bHalf, bSeq, rc, iLevel;
  const char *zDir = argc > 3 ? argv[3] : "prof_compact.lsm";
  const char *zCompression = getenv("PROF_COMPRESSION");
  char aKey[32];
  uint8_t aVal[PROF_VAL_BYTES];

  if( argc < 3 || (strcmp(argv[2], "random") && strcmp(argv[2], "half")
                   && strcmp(argv[2], "seq") && strcmp(argv[2], "deleterandom")) ){
    fprintf(stderr, "usage: %s N random|half|seq|deleterandom [DIR]\n", argv[0]);
    return 2;
  }
  nPut = strtoull(argv[1], NULL, 10);
  bSeq = strcmp(argv[2], "seq") == 0;
  bHalf = bSeq || strcmp(argv[2], "half") == 0;
  lsm_destroy(zDir, NULL);
  lsm_options_default(&opt);
  opt.sync = LSM_SYNC_OFF;
  opt.background = 0;
  if( strcmp(argv[2], "deleterandom") == 0 ){
    opt.compression = LSM_COMPRESSION_NONE;     /* as the bench's engine level */
    opt.memtable_bytes = BENCH_MEMTABLE_BYTES;
    opt.block_bytes = BENCH_BLOCK_BYTES;
    opt.bloom_bits = BENCH_BLOOM_BITS;
  }
  if( zCompression && strcmp(zCompression, "lz4") == 0 ) opt.compression = LSM_COMPRESSION_LZ4;
  if( zCompression && strcmp(zCompression, "none") == 0 ) opt.compression = LSM_COMPRESSION_NONE;
  if( zCompression && strcmp(zCompression, "zstd") == 0 ) opt.compression = LSM_COMPRESSION_ZSTD;
  rc = lsm_open(zDir, &opt, &pDb);
  if( rc != LSM_OK ) fail("lsm_open", rc);

  if( strcmp(argv[2], "deleterandom") == 0 ){
    run_deleterandom(pDb, nPut);
    rc = lsm_close(pDb);
    if( rc != LSM_OK ) fail("lsm_close", rc);
    return 0;
  }
  memset(aVal, 0, sizeof(aVal));
  for(i = 0; i < nPut; i++){
    int j, nRandom = bHalf ? PROF_VAL_BYTES / 2 : PROF_VAL_BYTES;
    uint64_t iKey = bSeq ? i : rng_next() % nPut;
    snprintf(aKey, sizeof(aKey), "%016llu", (unsigned long long)iKey);
    for(j = 0; j < nRandom; j += 8){
      uint64_t r = rng_next();
      memcpy(&aVal[j], &r, (size_t)(nRandom - j < 8 ? nRandom - j : 8));
    }
    rc = lsm_put(pDb, aKey, PROF_KEY_BYTES, aVal, PROF_VAL_BYTES);
    if( rc != LSM_OK ) fail("lsm_put", rc);
  }

  rc = lsm_stats_get(pDb, &st);
  if( rc != LSM_OK ) fail("lsm_stats_get", rc);
  printf("puts %llu values %s compression %s\n", (unsigned long long)nPut, argv[2],
         zCompression ? zCompression : "lz4");
  printf("user bytes written %llu\n", (unsigned long long)st.nUserBytesWritten);
  printf("flushes %llu, bytes written %llu\n",
         (unsigned long long)st.nFlushes, (unsigned long long)st.nFlushBytesWritten);
  printf("compactions %llu, bytes read %llu, written %llu\n",
         (unsigned long long)st.nCompactions, (unsigned long long)st.nCompactionBytesRead,
         (unsigned long long)st.nCompactionBytesWritten);
  printf("flush+compaction written %llu\n",
         (unsigned long long)(st.nFlushBytesWritten + st.nCompactionBytesWritten));
  for(iLevel = 0; iLevel < st.nLevel; iLevel++){
    printf("level %d: %llu tables, %llu bytes, %llu entries\n", iLevel,
           (unsigned long long)st.aLevel[iLevel].nFiles,
           (unsigned long long)st.aLevel[iLevel].nBytes,
           (unsigned long long)st.aLevel[iLevel].nEntries);
  }
  rc = lsm_close(pDb);
  if( rc != LSM_OK ) fail("lsm_close", rc);
  return 0;
}
