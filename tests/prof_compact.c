/*
** prof_compact.c — a deterministic flush and compaction workload for
** callgrind (make prof-compact; not part of make test): N puts of random
** keys through the engine API with background=off, so every flush and
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
**             values)
**     DIR     the store (default ./prof_compact.lsm, destroyed first)
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

int main(int argc, char **argv){
  lsm_options opt;
  lsm_db *pDb;
  lsm_stats st;
  uint64_t nPut, i;
  int bHalf, rc, iLevel;
  const char *zDir = argc > 3 ? argv[3] : "prof_compact.lsm";
  const char *zCompression = getenv("PROF_COMPRESSION");
  char aKey[32];
  uint8_t aVal[PROF_VAL_BYTES];

  if( argc < 3 || (strcmp(argv[2], "random") && strcmp(argv[2], "half")) ){
    fprintf(stderr, "usage: %s N random|half [DIR]\n", argv[0]);
    return 2;
  }
  nPut = strtoull(argv[1], NULL, 10);
  bHalf = strcmp(argv[2], "half") == 0;
  lsm_destroy(zDir, NULL);
  lsm_options_default(&opt);
  opt.sync = LSM_SYNC_OFF;
  opt.background = 0;
  if( zCompression && strcmp(zCompression, "none") == 0 ) opt.compression = LSM_COMPRESSION_NONE;
  if( zCompression && strcmp(zCompression, "zstd") == 0 ) opt.compression = LSM_COMPRESSION_ZSTD;
  rc = lsm_open(zDir, &opt, &pDb);
  if( rc != LSM_OK ) fail("lsm_open", rc);

  memset(aVal, 0, sizeof(aVal));
  for(i = 0; i < nPut; i++){
    int j, nRandom = bHalf ? PROF_VAL_BYTES / 2 : PROF_VAL_BYTES;
    snprintf(aKey, sizeof(aKey), "%016llu", (unsigned long long)(rng_next() % nPut));
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
