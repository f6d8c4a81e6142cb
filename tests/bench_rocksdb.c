/*
** bench_rocksdb.c — Debian's RocksDB (librocksdb-dev) as a bench_engine,
** through its C API rocksdb/c.h.
**
** Options, matched to ours and LevelDB's: 4 MiB write buffer, 4 KiB blocks,
** 10 bits/key Bloom (full filters), compression off, 8 MiB block cache,
** writes with sync off (each write still goes to write(2), as LevelDB's).
** The level shape is set to LevelDB's (2 MiB files, L1 of 10 MiB, x10 per
** level) instead of RocksDB's 64 MiB / 256 MiB defaults, which are sized
** for 64 MiB memtables; with a 4 MiB memtable they would rewrite one
** huge L1 over and over.  Everything else is RocksDB's default (two
** background jobs).
**
** Debian builds RocksDB without NDEBUG, so its assertions run: it is 2-3x
** slower than a release build.  bench.c says so beside its rows.
**
** bench_engine_rocksdb_buffered ("rocksdb-buf") sets manual_wal_flush:
** RocksDB then keeps the WAL in its write buffer and hands it to write(2)
** only when the buffer fills or at FlushWAL (called when settling), as
** lsm's sync=off does; it is the peer of lsm-buf (write workloads only).
**
** Settling: rocksdb_flush_wal (buffered), rocksdb_flush (waiting), then wait until no compaction is
** pending or running and the process has stopped writing.
*/
#include "bench.h"

#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bench_store {
  rocksdb_t *pDb;                            /* the open database        */
  rocksdb_options_t *pOpt;                   /* kept until close         */
  rocksdb_block_based_table_options_t *pTable; /* blocks, filter, cache  */
  rocksdb_cache_t *pCache;                   /* 8 MiB block cache        */
  rocksdb_readoptions_t *pRead;              /* defaults                 */
  rocksdb_writeoptions_t *pWrite;            /* sync off                 */
  char *pLastVal;                            /* xGet's value, until the next xGet */
};

struct bench_iter {
  rocksdb_iterator_t *pIt;                   /* the iterator             */
};

/* Print and free a RocksDB error; returns non-zero if there was one. */
static int rdb_error(const char *zCall, char *zErr){
  if( !zErr ) return 0;
  fprintf(stderr, "rocksdb: %s: %s\n", zCall, zErr);
  rocksdb_free(zErr);
  return 1;
}

static void rdb_close(bench_store *p){
  if( !p ) return;
  if( p->pDb ) rocksdb_close(p->pDb);
  if( p->pLastVal ) rocksdb_free(p->pLastVal);
  if( p->pRead ) rocksdb_readoptions_destroy(p->pRead);
  if( p->pWrite ) rocksdb_writeoptions_destroy(p->pWrite);
  if( p->pOpt ) rocksdb_options_destroy(p->pOpt);
  if( p->pTable ) rocksdb_block_based_options_destroy(p->pTable);
  if( p->pCache ) rocksdb_cache_destroy(p->pCache);
  free(p);
}

static int rdb_open_with(const char *zDir, int bBuffered, bench_store **pp){
  bench_store *p = calloc(1, sizeof(*p));
  char *zErr = 0;
  *pp = 0;
  if( !p ) return 1;
  p->pOpt = rocksdb_options_create();
  p->pTable = rocksdb_block_based_options_create();
  p->pCache = rocksdb_cache_create_lru(BENCH_CACHE_BYTES);
  rocksdb_block_based_options_set_block_size(p->pTable, BENCH_BLOCK_BYTES);
  rocksdb_block_based_options_set_filter_policy(p->pTable,
      rocksdb_filterpolicy_create_bloom_full(BENCH_BLOOM_BITS));  /* owned by pTable */
  rocksdb_block_based_options_set_block_cache(p->pTable, p->pCache);
  rocksdb_options_set_block_based_table_factory(p->pOpt, p->pTable);
  rocksdb_options_set_create_if_missing(p->pOpt, 1);
  rocksdb_options_set_write_buffer_size(p->pOpt, BENCH_MEMTABLE_BYTES);
  rocksdb_options_set_compression(p->pOpt, bench_compression() ? rocksdb_lz4_compression
                                                               : rocksdb_no_compression);
  rocksdb_options_set_target_file_size_base(p->pOpt, 2u << 20);
  rocksdb_options_set_max_bytes_for_level_base(p->pOpt, 10u << 20);
  if( bBuffered ) rocksdb_options_set_manual_wal_flush(p->pOpt, 1);
  p->pRead = rocksdb_readoptions_create();
  p->pWrite = rocksdb_writeoptions_create();
  rocksdb_writeoptions_set_sync(p->pWrite, 0);
  p->pDb = rocksdb_open(p->pOpt, zDir, &zErr);
  if( rdb_error("open", zErr) ){
    rdb_close(p);
    return 1;
  }
  *pp = p;
  return 0;
}

static int rdb_open(const char *zDir, bench_store **pp){
  return rdb_open_with(zDir, 0, pp);
}

static int rdb_open_buffered(const char *zDir, bench_store **pp){
  return rdb_open_with(zDir, 1, pp);
}

static int rdb_put(bench_store *p, const char *pKey, size_t nKey, const char *pVal, size_t nVal){
  char *zErr = 0;
  rocksdb_put(p->pDb, p->pWrite, pKey, nKey, pVal, nVal, &zErr);
  return rdb_error("put", zErr);
}

static int rdb_delete(bench_store *p, const char *pKey, size_t nKey){
  char *zErr = 0;
  rocksdb_delete(p->pDb, p->pWrite, pKey, nKey, &zErr);
  return rdb_error("delete", zErr);
}

static int rdb_get(bench_store *p, const char *pKey, size_t nKey, int *pbFound,
                   const char **ppVal, size_t *pnVal){
  char *zErr = 0;
  if( p->pLastVal ){ rocksdb_free(p->pLastVal); p->pLastVal = 0; }
  p->pLastVal = rocksdb_get(p->pDb, p->pRead, pKey, nKey, pnVal, &zErr);
  if( rdb_error("get", zErr) ) return 1;
  *pbFound = p->pLastVal != 0;
  *ppVal = p->pLastVal;
  return 0;
}

static int rdb_iter_open(bench_store *p, bench_iter **pp){
  bench_iter *pIter = calloc(1, sizeof(*pIter));
  *pp = 0;
  if( !pIter ) return 1;
  pIter->pIt = rocksdb_create_iterator(p->pDb, p->pRead);
  *pp = pIter;
  return 0;
}

static int rdb_iter_status(bench_iter *p){
  char *zErr = 0;
  rocksdb_iter_get_error(p->pIt, &zErr);
  return rdb_error("iterator", zErr);
}

static int rdb_iter_first(bench_iter *p){
  rocksdb_iter_seek_to_first(p->pIt);
  return rdb_iter_status(p);
}

static int rdb_iter_seek(bench_iter *p, const char *pKey, size_t nKey){
  rocksdb_iter_seek(p->pIt, pKey, nKey);
  return rdb_iter_status(p);
}

static int rdb_iter_next(bench_iter *p){
  rocksdb_iter_next(p->pIt);
  return rdb_iter_status(p);
}

static int rdb_iter_valid(bench_iter *p){
  return rocksdb_iter_valid(p->pIt);
}

static void rdb_iter_entry(bench_iter *p, const char **ppKey, size_t *pnKey,
                           const char **ppVal, size_t *pnVal){
  *ppKey = rocksdb_iter_key(p->pIt, pnKey);
  *ppVal = rocksdb_iter_value(p->pIt, pnVal);
}

static void rdb_iter_close(bench_iter *p){
  rocksdb_iter_destroy(p->pIt);
  free(p);
}

static void rdb_shape(bench_store *p, char *z, size_t nZ){
  size_t j = 0;
  int i;
  z[0] = 0;
  for(i = 0; i < 7 && j < nZ; i++){
    char zProp[64];
    char *zVal;
    snprintf(zProp, sizeof(zProp), "rocksdb.num-files-at-level%d", i);
    zVal = rocksdb_property_value(p->pDb, zProp);
    if( zVal && strcmp(zVal, "0") ){
      j += (size_t)snprintf(z + j, nZ - j, "%sL%d %s", j ? ", " : "", i, zVal);
    }
    rocksdb_free(zVal);
  }
  if( j < nZ ) snprintf(z + j, nZ - j, " SSTables");
}

/* 1 while RocksDB reports a flush or compaction pending or running. */
static int rdb_busy(bench_store *p){
  static const char *azProp[] = {
    "rocksdb.compaction-pending", "rocksdb.num-running-compactions",
    "rocksdb.num-running-flushes", "rocksdb.mem-table-flush-pending",
  };
  size_t i;
  for(i = 0; i < sizeof(azProp) / sizeof(azProp[0]); i++){
    uint64_t v = 0;
    if( rocksdb_property_int(p->pDb, azProp[i], &v) == 0 && v != 0 ) return 1;
  }
  return 0;
}

static int rdb_settle(bench_store *p){
  rocksdb_flushoptions_t *pFlush = rocksdb_flushoptions_create();
  char *zErr = 0;
  int i;
  rocksdb_flush_wal(p->pDb, 0, &zErr);
  if( rdb_error("flush_wal", zErr) ){
    rocksdb_flushoptions_destroy(pFlush);
    return 1;
  }
  rocksdb_flushoptions_set_wait(pFlush, 1);
  rocksdb_flush(p->pDb, pFlush, &zErr);
  rocksdb_flushoptions_destroy(pFlush);
  if( rdb_error("flush", zErr) ) return 1;
  for(i = 0; i < 60000 && rdb_busy(p); i++) bench_sleep_ms(10);
  bench_wait_quiet(300, 600000);
  return 0;
}

const bench_engine bench_engine_rocksdb = {
  "rocksdb", "engine",
  "Debian's RocksDB is built with assertions on: 2-3x under its real speed",
  10,
  rdb_open, rdb_close, rdb_put, rdb_delete, rdb_get, 0,
  rdb_iter_open, rdb_iter_first, rdb_iter_seek, rdb_iter_next, rdb_iter_valid,
  rdb_iter_entry, rdb_iter_close, rdb_settle, 0, 0, 0, 0, rdb_shape,
};

const bench_engine bench_engine_rocksdb_buffered = {
  "rocksdb-buf", "engine",
  "manual_wal_flush: the WAL buffered in memory, as lsm-buf's (assertions on, as above)",
  10,
  rdb_open_buffered, rdb_close, rdb_put, rdb_delete, rdb_get, 0,
  rdb_iter_open, rdb_iter_first, rdb_iter_seek, rdb_iter_next, rdb_iter_valid,
  rdb_iter_entry, rdb_iter_close, rdb_settle, 0, 0, 1, 0, rdb_shape,
};
