/*
** bench_leveldb.c — Debian's LevelDB (libleveldb-dev) as a bench_engine,
** through its C API leveldb/c.h.
**
** Options, matched to ours: 4 MiB write buffer, 4 KiB blocks, 10 bits/key
** Bloom filter, compression off, 8 MiB block cache, writes with sync off
** (LevelDB still hands each write to write(2): the durability of our
** sync=normal).  Everything else is LevelDB's default (2 MiB files, L1 of
** 10 MiB, one background thread).
**
** Settling: LevelDB has no "flush" in its C API, but CompactRange() always
** flushes the memtable first (DBImpl::CompactRange calls
** TEST_CompactMemTable) and then compacts only files overlapping the range.
** A range above every key therefore flushes and compacts nothing; then we
** wait until the process stops writing.
*/
#include "bench.h"

#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bench_store {
  leveldb_t *pDb;                    /* the open database       */
  leveldb_options_t *pOpt;           /* kept until close        */
  leveldb_filterpolicy_t *pFilter;   /* 10 bits/key Bloom       */
  leveldb_cache_t *pCache;           /* 8 MiB block cache       */
  leveldb_readoptions_t *pRead;      /* defaults                */
  leveldb_writeoptions_t *pWrite;    /* sync off                */
  char *pLastVal;                    /* xGet's value, until the next xGet */
};

struct bench_iter {
  leveldb_iterator_t *pIt;           /* the iterator            */
};

/* Print and free a LevelDB error; returns non-zero if there was one. */
static int ldb_error(const char *zCall, char *zErr){
  if( !zErr ) return 0;
  fprintf(stderr, "leveldb: %s: %s\n", zCall, zErr);
  leveldb_free(zErr);
  return 1;
}

static void ldb_close(bench_store *p){
  if( !p ) return;
  if( p->pDb ) leveldb_close(p->pDb);
  if( p->pLastVal ) leveldb_free(p->pLastVal);
  if( p->pRead ) leveldb_readoptions_destroy(p->pRead);
  if( p->pWrite ) leveldb_writeoptions_destroy(p->pWrite);
  if( p->pOpt ) leveldb_options_destroy(p->pOpt);
  if( p->pFilter ) leveldb_filterpolicy_destroy(p->pFilter);
  if( p->pCache ) leveldb_cache_destroy(p->pCache);
  free(p);
}

/* Open with eSync: BENCH_SYNC_FULL sets WriteOptions.sync (fsync per
** write); otherwise LevelDB's default, write(2) per write (it cannot
** buffer its log). */
static int ldb_open_sync(const char *zDir, int eSync, bench_store **pp){
  bench_store *p = calloc(1, sizeof(*p));
  char *zErr = 0;
  *pp = 0;
  if( !p ) return 1;
  p->pOpt = leveldb_options_create();
  p->pFilter = leveldb_filterpolicy_create_bloom(BENCH_BLOOM_BITS);
  p->pCache = leveldb_cache_create_lru(BENCH_CACHE_BYTES);
  leveldb_options_set_create_if_missing(p->pOpt, 1);
  leveldb_options_set_write_buffer_size(p->pOpt, BENCH_MEMTABLE_BYTES);
  leveldb_options_set_block_size(p->pOpt, BENCH_BLOCK_BYTES);
  leveldb_options_set_filter_policy(p->pOpt, p->pFilter);
  leveldb_options_set_cache(p->pOpt, p->pCache);
  leveldb_options_set_compression(p->pOpt, bench_compression() ? leveldb_snappy_compression
                                                               : leveldb_no_compression);
  p->pRead = leveldb_readoptions_create();
  p->pWrite = leveldb_writeoptions_create();
  leveldb_writeoptions_set_sync(p->pWrite, eSync == BENCH_SYNC_FULL);
  p->pDb = leveldb_open(p->pOpt, zDir, &zErr);
  if( ldb_error("open", zErr) ){
    ldb_close(p);
    return 1;
  }
  *pp = p;
  return 0;
}

static int ldb_open(const char *zDir, bench_store **pp){
  return ldb_open_sync(zDir, BENCH_SYNC_NORMAL, pp);
}

static int ldb_put(bench_store *p, const char *pKey, size_t nKey, const char *pVal, size_t nVal){
  char *zErr = 0;
  leveldb_put(p->pDb, p->pWrite, pKey, nKey, pVal, nVal, &zErr);
  return ldb_error("put", zErr);
}

static int ldb_delete(bench_store *p, const char *pKey, size_t nKey){
  char *zErr = 0;
  leveldb_delete(p->pDb, p->pWrite, pKey, nKey, &zErr);
  return ldb_error("delete", zErr);
}

static int ldb_get(bench_store *p, const char *pKey, size_t nKey, int *pbFound,
                   const char **ppVal, size_t *pnVal){
  char *zErr = 0;
  if( p->pLastVal ){ leveldb_free(p->pLastVal); p->pLastVal = 0; }
  p->pLastVal = leveldb_get(p->pDb, p->pRead, pKey, nKey, pnVal, &zErr);
  if( ldb_error("get", zErr) ) return 1;
  *pbFound = p->pLastVal != 0;
  *ppVal = p->pLastVal;
  return 0;
}

int bench_leveldb_property(bench_store *p, const char *zName, char *zOut, size_t nOut){
  char *z = leveldb_property_value(p->pDb, zName);
  if( !z ) return 1;
  snprintf(zOut, nOut, "%s", z);
  leveldb_free(z);
  return 0;
}

static void ldb_shape(bench_store *p, char *z, size_t nZ){
  size_t j = 0;
  int i;
  z[0] = 0;
  for(i = 0; i < 7 && j < nZ; i++){
    char zProp[64], zVal[32];
    snprintf(zProp, sizeof(zProp), "leveldb.num-files-at-level%d", i);
    if( bench_leveldb_property(p, zProp, zVal, sizeof(zVal)) || !strcmp(zVal, "0") ) continue;
    j += (size_t)snprintf(z + j, nZ - j, "%sL%d %s", j ? ", " : "", i, zVal);
  }
  if( j < nZ ) snprintf(z + j, nZ - j, " SSTables");
}

static int ldb_iter_open(bench_store *p, bench_iter **pp){
  bench_iter *pIter = calloc(1, sizeof(*pIter));
  *pp = 0;
  if( !pIter ) return 1;
  pIter->pIt = leveldb_create_iterator(p->pDb, p->pRead);
  *pp = pIter;
  return 0;
}

static int ldb_iter_status(bench_iter *p){
  char *zErr = 0;
  leveldb_iter_get_error(p->pIt, &zErr);
  return ldb_error("iterator", zErr);
}

static int ldb_iter_first(bench_iter *p){
  leveldb_iter_seek_to_first(p->pIt);
  return ldb_iter_status(p);
}

static int ldb_iter_seek(bench_iter *p, const char *pKey, size_t nKey){
  leveldb_iter_seek(p->pIt, pKey, nKey);
  return ldb_iter_status(p);
}

static int ldb_iter_next(bench_iter *p){
  leveldb_iter_next(p->pIt);
  return ldb_iter_status(p);
}

static int ldb_iter_valid(bench_iter *p){
  return leveldb_iter_valid(p->pIt);
}

static void ldb_iter_entry(bench_iter *p, const char **ppKey, size_t *pnKey,
                           const char **ppVal, size_t *pnVal){
  *ppKey = leveldb_iter_key(p->pIt, pnKey);
  *ppVal = leveldb_iter_value(p->pIt, pnVal);
}

static void ldb_iter_close(bench_iter *p){
  leveldb_iter_destroy(p->pIt);
  free(p);
}

static int ldb_settle(bench_store *p){
  static const char aAbove[] = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
  leveldb_compact_range(p->pDb, aAbove, sizeof(aAbove) - 1, aAbove, sizeof(aAbove) - 1);
  bench_wait_quiet(300, 600000);
  return 0;
}

const bench_engine bench_engine_leveldb = {
  "leveldb", "engine", 0, 10,
  ldb_open, ldb_close, ldb_put, ldb_delete, ldb_get, 0,
  ldb_iter_open, ldb_iter_first, ldb_iter_seek, ldb_iter_next, ldb_iter_valid,
  ldb_iter_entry, ldb_iter_close, ldb_settle, 0, ldb_open_sync, 0, 0, ldb_shape,
};
