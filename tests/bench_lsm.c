/*
** bench_lsm.c — this engine as a bench_engine, through lsm/lsm.h only.
**
** Options: sync=LSM_SYNC_NORMAL (each put's log record in the page cache
** when the put returns, copied into a shared mapping of the log: the
** durability of LevelDB's and RocksDB's default writes, which write(2)
** every put: like for like; lsm/wal.c MAPPED LOG), 4 MiB memtable, 4 KiB blocks, 10 bits/key
** Bloom, leveled compaction (bench_engine_lsm_tiered: tiered), background
** thread on, compression=none: the bench's values are random bytes, which
** no compressor shrinks, and LevelDB and RocksDB run with compression off
** too (bench_leveldb.c, bench_rocksdb.c), so all three store the same raw
** blocks (lsm's default lz4 would only add a failed attempt per block
** written; compressed stores are compared in make bench-scale's
** compression experiment, with values that compress 2:1).  bench_engine_lsm_buffered ("lsm-buf") is the same with
** sync=LSM_SYNC_OFF (the WAL buffered in memory): compared only with a
** peer that buffers too (RocksDB with manual_wal_flush).  xOpenSync
** opens with any of the three sync levels (bench_threads.c).  SSTables are read through mmap, so their resident pages
** count in our peak RSS (LevelDB mmaps its tables too; RocksDB's preads
** sit in the page cache instead).
**
** Settling: lsm_flush, then wait until the process has stopped writing.
** xOwnBytes reports the engine's own counters (lsm_stats_get), printed as a
** cross-check of the wchar-based write amplification.
*/
#include "bench.h"

#include "lsm.h"

#include <stdio.h>
#include <stdlib.h>

struct bench_store {
  lsm_db *pDb;             /* the open store                       */
  void *pLastVal;          /* xGet's value (lsm_free), until the next xGet */
};

struct bench_iter {
  lsm_cursor *pCsr;        /* the cursor                           */
};

/* Print an engine error; returns rc. */
static int blsm_error(lsm_db *pDb, const char *zCall, int rc){
  if( rc != LSM_OK ){
    fprintf(stderr, "lsm: %s: %s (%s)\n", zCall, lsm_errstr(rc), lsm_errmsg(pDb));
  }
  return rc;
}

static void blsm_close(bench_store *p){
  if( !p ) return;
  if( p->pLastVal ) lsm_free(p->pLastVal);
  if( p->pDb ) blsm_error(p->pDb, "close", lsm_close(p->pDb));
  free(p);
}

/* Open with leveled or tiered (eCompaction) compaction and eSync
** (BENCH_SYNC_*, which are numerically LSM_SYNC_*). */
static int blsm_open_with(const char *zDir, int eCompaction, int eSync, bench_store **pp){
  bench_store *p = calloc(1, sizeof(*p));
  lsm_options opt;
  int rc;
  *pp = 0;
  if( !p ) return 1;
  lsm_options_default(&opt);
  opt.sync = eSync == BENCH_SYNC_OFF ? LSM_SYNC_OFF
           : eSync == BENCH_SYNC_FULL ? LSM_SYNC_FULL : LSM_SYNC_NORMAL;
  opt.memtable_bytes = BENCH_MEMTABLE_BYTES;
  opt.block_bytes = BENCH_BLOCK_BYTES;
  opt.bloom_bits = BENCH_BLOOM_BITS;
  opt.compaction = eCompaction;
  opt.compression = bench_compression() ? LSM_COMPRESSION_LZ4 : LSM_COMPRESSION_NONE;
  opt.background = 1;
  opt.create_if_missing = 1;
  rc = blsm_error(0, "open", lsm_open(zDir, &opt, &p->pDb));
  if( rc != LSM_OK ){
    p->pDb = 0;
    blsm_close(p);
    return 1;
  }
  *pp = p;
  return 0;
}

static int blsm_open(const char *zDir, bench_store **pp){
  return blsm_open_with(zDir, LSM_COMPACTION_LEVELED, BENCH_SYNC_NORMAL, pp);
}

static int blsm_open_buffered(const char *zDir, bench_store **pp){
  return blsm_open_with(zDir, LSM_COMPACTION_LEVELED, BENCH_SYNC_OFF, pp);
}

static int blsm_open_tiered(const char *zDir, bench_store **pp){
  return blsm_open_with(zDir, LSM_COMPACTION_TIERED, BENCH_SYNC_NORMAL, pp);
}

static int blsm_open_tiered_buffered(const char *zDir, bench_store **pp){
  return blsm_open_with(zDir, LSM_COMPACTION_TIERED, BENCH_SYNC_OFF, pp);
}

static int blsm_open_sync(const char *zDir, int eSync, bench_store **pp){
  return blsm_open_with(zDir, LSM_COMPACTION_LEVELED, eSync, pp);
}

lsm_db *bench_lsm_db(bench_store *p){
  return p->pDb;
}

static int blsm_put(bench_store *p, const char *pKey, size_t nKey, const char *pVal, size_t nVal){
  return blsm_error(p->pDb, "put", lsm_put(p->pDb, pKey, nKey, pVal, nVal));
}

static int blsm_delete(bench_store *p, const char *pKey, size_t nKey){
  return blsm_error(p->pDb, "delete", lsm_delete(p->pDb, pKey, nKey));
}

static int blsm_get(bench_store *p, const char *pKey, size_t nKey, int *pbFound,
                    const char **ppVal, size_t *pnVal){
  int rc;
  if( p->pLastVal ){ lsm_free(p->pLastVal); p->pLastVal = 0; }
  rc = lsm_get(p->pDb, 0, pKey, nKey, &p->pLastVal, pnVal);
  if( rc == LSM_NOTFOUND ){
    p->pLastVal = 0;
    *pbFound = 0;
    return 0;
  }
  if( rc != LSM_OK ){
    p->pLastVal = 0;
    return blsm_error(p->pDb, "get", rc);
  }
  *pbFound = 1;
  *ppVal = p->pLastVal;
  return 0;
}

static int blsm_iter_open(bench_store *p, bench_iter **pp){
  bench_iter *pIter = calloc(1, sizeof(*pIter));
  int rc;
  *pp = 0;
  if( !pIter ) return 1;
  rc = lsm_cursor_open(p->pDb, 0, &pIter->pCsr);
  if( rc != LSM_OK ){
    free(pIter);
    return blsm_error(p->pDb, "cursor_open", rc);
  }
  *pp = pIter;
  return 0;
}

static int blsm_iter_first(bench_iter *p){
  return blsm_error(0, "cursor_first", lsm_cursor_first(p->pCsr));
}

static int blsm_iter_seek(bench_iter *p, const char *pKey, size_t nKey){
  return blsm_error(0, "cursor_seek", lsm_cursor_seek(p->pCsr, pKey, nKey, LSM_SEEK_GE));
}

static int blsm_iter_next(bench_iter *p){
  return blsm_error(0, "cursor_next", lsm_cursor_next(p->pCsr));
}

static int blsm_iter_valid(bench_iter *p){
  return lsm_cursor_valid(p->pCsr);
}

static void blsm_iter_entry(bench_iter *p, const char **ppKey, size_t *pnKey,
                            const char **ppVal, size_t *pnVal){
  const void *pKey = 0, *pVal = 0;
  *pnKey = *pnVal = 0;
  lsm_cursor_key(p->pCsr, &pKey, pnKey);
  lsm_cursor_value(p->pCsr, &pVal, pnVal);
  *ppKey = pKey;
  *ppVal = pVal;
}

static void blsm_iter_close(bench_iter *p){
  lsm_cursor_close(p->pCsr);
  free(p);
}

static int blsm_settle(bench_store *p){
  if( blsm_error(p->pDb, "flush", lsm_flush(p->pDb)) ) return 1;
  bench_wait_quiet(300, 600000);
  return 0;
}

static void blsm_shape(bench_store *p, char *z, size_t nZ){
  lsm_stats st;
  size_t j = 0;
  int i;
  z[0] = 0;
  if( lsm_stats_get(p->pDb, &st) != LSM_OK ) return;
  for(i = 0; i < LSM_MAX_LEVELS && j < nZ; i++){
    if( st.aLevel[i].nFiles == 0 ) continue;
    j += (size_t)snprintf(z + j, nZ - j, "%sL%d %llu", j ? ", " : "", i,
                          (unsigned long long)st.aLevel[i].nFiles);
  }
  if( j < nZ ) snprintf(z + j, nZ - j, " SSTables");
}

static int blsm_own_bytes(bench_store *p, uint64_t *pnUser, uint64_t *pnWritten){
  lsm_stats st;
  if( lsm_stats_get(p->pDb, &st) != LSM_OK ) return 1;
  *pnUser = st.nUserBytesWritten;
  *pnWritten = st.nWalBytesWritten + st.nFlushBytesWritten + st.nCompactionBytesWritten;
  return 0;
}

const bench_engine bench_engine_lsm = {
  "lsm", "engine", 0, 10,
  blsm_open, blsm_close, blsm_put, blsm_delete, blsm_get, 0,
  blsm_iter_open, blsm_iter_first, blsm_iter_seek, blsm_iter_next, blsm_iter_valid,
  blsm_iter_entry, blsm_iter_close, blsm_settle, blsm_own_bytes, blsm_open_sync, 0, 0, blsm_shape,
};

/* sync=off: the WAL buffered in memory, against peers that buffer too. */
const bench_engine bench_engine_lsm_buffered = {
  "lsm-buf", "engine", "sync=off: WAL buffered in memory (a killed process loses the last puts)",
  10,
  blsm_open_buffered, blsm_close, blsm_put, blsm_delete, blsm_get, 0,
  blsm_iter_open, blsm_iter_first, blsm_iter_seek, blsm_iter_next, blsm_iter_valid,
  blsm_iter_entry, blsm_iter_close, blsm_settle, blsm_own_bytes, 0, 1, "rocksdb-buf", blsm_shape,
};

/* The same engine with tiered compaction (the amplification experiment). */
const bench_engine bench_engine_lsm_tiered = {
  "lsm-tiered", "engine", 0, 10,
  blsm_open_tiered, blsm_close, blsm_put, blsm_delete, blsm_get, 0,
  blsm_iter_open, blsm_iter_first, blsm_iter_seek, blsm_iter_next, blsm_iter_valid,
  blsm_iter_entry, blsm_iter_close, blsm_settle, blsm_own_bytes, 0, 0, 0, blsm_shape,
};

const bench_engine bench_engine_lsm_tiered_buffered = {
  "lsm-tiered-buf", "engine", 0, 10,
  blsm_open_tiered_buffered, blsm_close, blsm_put, blsm_delete, blsm_get, 0,
  blsm_iter_open, blsm_iter_first, blsm_iter_seek, blsm_iter_next, blsm_iter_valid,
  blsm_iter_entry, blsm_iter_close, blsm_settle, blsm_own_bytes, 0, 0, 0, blsm_shape,
};
