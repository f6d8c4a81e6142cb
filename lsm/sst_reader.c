/*
** sst_reader.c — opens, validates and reads one SSTable.
**
** format: see sst_writer.c
**
** The iterator over a table is sst_reader_iter.c; struct sst_reader and
** the index search both files use are in sst_reader_impl.h.
**
** Opening reads the footer and finds the meta regions: everything from
** the start of the filter (or the properties) to the end of the file
** (aMeta).  A mapped reader uses them where they lie in the mapping, so
** its filter and index cost page cache, not heap, and a reopen reads
** nothing but what it verifies; otherwise they are read with xRead into
** one heap buffer.  Either way it verifies, in this order: the footer (size, magic,
** checksum, version, and that the regions it names tile the end of the
** file), then the properties, filter and index regions (checksum, then
** every field).  The index is decoded into an array whose keys point into
** aMeta; it must tile the data area exactly and its keys must ascend.
**
** Data blocks are read when needed, one of two ways:
**   - mapped (bMap: the env has xMap and the store allows it): the file is
**     mapped and a block is used where it lies.  Its checksum is verified
**     the first time any thread reads it; a bit per block in aVerified
**     (atomic words, relaxed order: the bytes are immutable, so a racing
**     second verification is harmless) spares later reads the hashing.
**     A compressed block is decompressed into the block cache; a miss on
**     a block already verified decompresses it without hashing it again.
**   - through the store's block cache (block_cache.h): a miss reads the
**     block with xRead, verifies its checksum (verify before trust: a
**     block enters the cache only verified) and inserts it; the caller
**     gets a handle that keeps the block's bytes while it uses them.  A
**     file shorter than its index says is LSM_CORRUPT at the read.
** An env with xMap NULL (the in-database store's) is always read the
** second way, so a reader holds no more of its file than its meta
** regions and the blocks in use.
**
** A scan reads ahead (sst_reader_load_block_ahead, for an iterator
** stepping past SST_PASSING_AFTER blocks of an unmapped table): a miss
** reads the run of following blocks the cache does not hold, up to
** SST_AHEAD_BYTES, with one xRead into the iterator's buffer, and the
** next misses are served from there.  Each block is verified when the
** scan reaches it, as any block read: a damaged block in a run is
** reported then, not when the run is read.
**
** The index search compares integers, not keys, at most steps: all user
** keys of a table share the prefix that its smallest and largest share
** (nCommon bytes), and aWord keeps the next 8 bytes of each separator as
** a big-endian word (zero-padded).  Words that differ order the keys as
** memcmp would; only equal words need the keys themselves.  aWord is a
** dense array (8 bytes a block), apart from the rest of the index, and
** aGroupWord holds every 16th of its words, so that a search reads a
** small array that stays cached and then two lines of aWord (find_block).
**
** Point get: Bloom filter (over user keys), binary search of the index
** for the first separator >= the target, then block_get in that one
** block.  A separator is >= its block's keys and < the next block's, so
** if the target sorts after every key of that block, no later block holds
** its user key either.
**
** Thread safety: after open, a reader is immutable but for aVerified and
** nRef, both atomic; any number of threads may get and iterate at once.
*/
#include "sst_reader.h"

#include <assert.h>
#include <stdatomic.h>
#include <string.h>

#include "block.h"
#include "block_cache.h"
#include "bloom.h"
#include "checksum.h"
#include "coding.h"
#include "compress.h"
#include "env.h"
#include "error.h"
#include "ikey.h"
#include "sst_format.h"
#include "sst_reader_impl.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

/* File offset off (>= iMetaOff) in aMeta. */
static inline const uint8_t *meta_at(const sst_reader *p, uint64_t off){
  assert( off >= p->iMetaOff && off <= p->nData );
  return p->aMeta + (off - p->iMetaOff);
}

/* Largest block a reader will decompress: one entry of the biggest key
** and value plus framing (a block holds at least one entry). */
#define SST_MAX_RAW_BLOCK ((size_t)LSM_MAX_VALUE + LSM_MAX_KEY + 64)

/*
** Verify block i's stored bytes a (its nSize bytes then its trailer):
** the checksum, and a known type.  *peType gets the type.
*/
static int verify_block(const sst_reader *p, int i, const uint8_t *a, int *peType){
  const index_entry *e = &p->aIndex[i];
  if( p->nBlockTrailer == SST_TRAILER_SIZE ){
    if( checksum_compute(a, e->nSize, SST_SEED_DATA) != coding_get64(a + e->nSize) ){
      return LSM_CORRUPT_BKPT("%s: block %d checksum mismatch", p->zPath, i);
    }
    *peType = COMPRESS_RAW;
    return LSM_OK;
  }
  /* The block and its type byte are adjacent: one XXH3 call (the
  ** streaming form costs ~330 instructions more per 4 KiB block). */
  if( checksum_compute(a, e->nSize + 1, SST_SEED_DATA) != coding_get64(a + e->nSize + 1) ){
    return LSM_CORRUPT_BKPT("%s: block %d checksum mismatch", p->zPath, i);
  }
  *peType = a[e->nSize];
  if( *peType != COMPRESS_RAW && *peType != COMPRESS_LZ4 && *peType != COMPRESS_ZSTD ){
    return LSM_CORRUPT_BKPT("%s: block %d: unknown block type %d", p->zPath, i, *peType);
  }
  return LSM_OK;
}

/* Decompress verified block i (a, nSize bytes, type eType) into a new
** private handle; bFill: the caller inserts it into the cache next, so
** the cache makes its room now (block_cache_alloc: a full cache's miss
** reuses the memory of the entry it evicts). */
static int uncompress_block(const sst_reader *p, int i, int eType, const uint8_t *a, int bFill,
                            block_handle **ppH){
  size_t nRaw = 0, nStored = p->aIndex[i].nSize;
  block_handle *h;
  int rc = compress_raw_size(a, nStored, SST_MAX_RAW_BLOCK, &nRaw);
  *ppH = NULL;
  if( rc == LSM_OK ){
    h = bFill ? block_cache_alloc(p->pBlocks, p->pEnv, nRaw)
              : block_handle_alloc(p->pBlocks, p->pEnv, nRaw);
    if( h == NULL ) return LSM_NOMEM;
    rc = compress_uncompress(eType, a, nStored, block_handle_buf(h), nRaw);
    if( rc ){
      block_cache_release(h);
    }else{
      *ppH = h;
    }
  }
  if( rc == LSM_CORRUPT ){
    rc = LSM_CORRUPT_BKPT("%s: block %d: bad %s data", p->zPath, i,
                          eType == COMPRESS_LZ4 ? "lz4" : "zstd");
  }
  return rc;
}

/*
** Read block i (and its trailer) with xRead, or from the mapping, into a
** new private handle holding the block's contents: its checksum verified,
** then decompressed (bFill: as uncompress_block's).  A short read (the
** file is shorter than the index says: truncated since it was written) is
** corruption.
*/
static int read_block(sst_reader *p, int i, int bFill, block_handle **ppH){
  const index_entry *e = &p->aIndex[i];
  size_t nRead = 0, nAll = (size_t)e->nSize + (size_t)p->nBlockTrailer;
  block_handle *h = NULL;
  const uint8_t *a;
  int rc, eType = COMPRESS_RAW;
  *ppH = NULL;
  if( p->aMap ){
    a = p->aMap + e->iOff;
  }else{
    /* Inserted if raw (bFill), else dropped once decompressed. */
    h = bFill ? block_handle_alloc_to_insert(p->pBlocks, p->pEnv, nAll)
              : block_handle_alloc(p->pBlocks, p->pEnv, nAll);
    if( h == NULL ) return LSM_NOMEM;
    a = block_handle_buf(h);
    rc = p->pEnv->xRead(p->pFile, e->iOff, (uint8_t*)a, nAll, &nRead);
    if( rc == LSM_OK && nRead != nAll ){
      rc = LSM_CORRUPT_BKPT("%s: block %d is truncated (the file is shorter than its index says)",
                            p->zPath, i);
    }
    if( rc ){
      block_cache_release(h);
      return rc;
    }
  }
  rc = verify_block(p, i, a, &eType);
  if( rc == LSM_OK && eType != COMPRESS_RAW ){
    block_handle *hRaw = NULL;
    rc = uncompress_block(p, i, eType, a, bFill, &hRaw);
    block_cache_release(h);
    h = hRaw;
  }else if( rc == LSM_OK && h == NULL ){
    /* Raw and mapped: only sst_reader_check asks for a copy. */
    h = block_handle_alloc(p->pBlocks, p->pEnv, e->nSize);
    if( h == NULL ) return LSM_NOMEM;
    memcpy(block_handle_buf(h), a, e->nSize);
  }else if( rc == LSM_OK ){
    block_handle_set_size(h, e->nSize);
  }
  if( rc ){
    block_cache_release(h);
    return rc;
  }
  *ppH = h;
  return LSM_OK;
}

/* Block i, verified and parsed into *v: see sst_reader_impl.h. */
int sst_reader_load_block(sst_reader *p, int i, int eLoad, block_view *v, block_handle **ppH){
  const index_entry *e = &p->aIndex[i];
  const uint8_t *a;
  size_t n;
  block_handle *h = NULL;
  int rc;
  *ppH = NULL;
  if( p->aMap && (p->nBlockTrailer == SST_TRAILER_SIZE || p->aMap[e->iOff + e->nSize] == COMPRESS_RAW) ){
    _Atomic uint64_t *pWord = &p->aVerified[i >> 6];
    uint64_t bit = 1ull << (i & 63);
    a = p->aMap + e->iOff;
    __builtin_prefetch(a);     /* restart 0, fetched while the end is read */
    if( (atomic_load_explicit(pWord, memory_order_relaxed) & bit) == 0 ){
      int eType;
      rc = verify_block(p, i, a, &eType);
      if( rc ) return rc;
      atomic_fetch_or_explicit(pWord, bit, memory_order_relaxed);
    }
    return block_view_init(v, a, e->nSize, p->zPath, i);
  }
  h = eLoad == SST_LOAD_NOFILL
    ? block_cache_lookup_unmarked(p->pBlocks, p->pBlockCounts, p->id, (uint32_t)i, e->nSize)
    : block_cache_lookup_counted(p->pBlocks, p->pBlockCounts, p->id, (uint32_t)i, e->nSize);
  if( h == NULL ){
    if( p->aMap ){
      /* Mapped and compressed: the checksum covers the stored bytes, which
      ** never change, so (as for a raw block above) it is verified on the
      ** first read only, and each later miss just decompresses them.  The
      ** type byte was checked by that verification. */
      _Atomic uint64_t *pWord = &p->aVerified[i >> 6];
      uint64_t bit = 1ull << (i & 63);
      if( atomic_load_explicit(pWord, memory_order_relaxed) & bit ){
        rc = uncompress_block(p, i, p->aMap[e->iOff + e->nSize], p->aMap + e->iOff,
                              eLoad != SST_LOAD_NOFILL, &h);
      }else{
        rc = read_block(p, i, eLoad != SST_LOAD_NOFILL, &h);
        if( rc == LSM_OK ) atomic_fetch_or_explicit(pWord, bit, memory_order_relaxed);
      }
    }else{
      rc = read_block(p, i, eLoad != SST_LOAD_NOFILL, &h);
    }
    if( rc ) return rc;
    if( eLoad == SST_LOAD_FILL ){
      h = block_cache_insert(p->pBlocks, p->id, (uint32_t)i, h);
    }else if( eLoad == SST_LOAD_PASSING ){
      h = block_cache_insert_passing(p->pBlocks, p->id, (uint32_t)i, h);
    }
  }
  a = block_handle_data(h, &n);
  rc = block_view_init(v, a, n, p->zPath, i);
  if( rc ){
    block_cache_release(h);
    return rc;
  }
  *ppH = h;
  return LSM_OK;
}

/* Block i's stored bytes, its trailer included. */
static size_t stored_bytes(const sst_reader *p, int i){
  return (size_t)p->aIndex[i].nSize + (size_t)p->nBlockTrailer;
}

/* Parse handle h (block i) into *v and hand it to the caller. */
static int view_of_handle(const sst_reader *p, int i, block_handle *h, block_view *v,
                          block_handle **ppH){
  size_t n;
  const uint8_t *a = block_handle_data(h, &n);
  int rc = block_view_init(v, a, n, p->zPath, i);
  if( rc ){
    block_cache_release(h);
    return rc;
  }
  *ppH = h;
  return LSM_OK;
}

/*
** Read into pA the run of blocks that starts at i and goes on in the
** scan's direction while the cache does not hold the next block and the
** run stays within SST_AHEAD_BYTES.  The index was verified to tile the
** data area, so the run's blocks are contiguous in the file: block k is at
** aIndex[k].iOff - aIndex[iFirst].iOff in the buffer.
*/
static int ahead_fill(sst_reader *p, int i, int bForward, sst_ahead *pA){
  int lo = i, hi = i, rc;
  size_t n = stored_bytes(p, i), nRead = 0;
  pA->iFirst = pA->iEnd = 0;
  if( bForward ){
    while( hi + 1 < p->nBlock && n + stored_bytes(p, hi + 1) <= SST_AHEAD_BYTES
        && !block_cache_holds(p->pBlocks, p->id, (uint32_t)(hi + 1)) ){
      n += stored_bytes(p, ++hi);
    }
  }else{
    while( lo > 0 && n + stored_bytes(p, lo - 1) <= SST_AHEAD_BYTES
        && !block_cache_holds(p->pBlocks, p->id, (uint32_t)(lo - 1)) ){
      n += stored_bytes(p, --lo);
    }
  }
  if( n > pA->nAlloc ){
    size_t nAlloc = n > SST_AHEAD_BYTES ? n : SST_AHEAD_BYTES;
    uint8_t *a = env_malloc(p->pEnv, nAlloc);
    if( a == NULL ) return LSM_NOMEM;
    env_free(p->pEnv, pA->a);
    pA->a = a;
    pA->nAlloc = nAlloc;
  }
  rc = p->pEnv->xRead(p->pFile, p->aIndex[lo].iOff, pA->a, n, &nRead);
  if( rc ) return rc;
  pA->nValid = nRead;
  pA->iFirst = lo;
  pA->iEnd = hi + 1;
  return LSM_OK;
}

/* Block i of a scan, read ahead: see sst_reader_impl.h. */
int sst_reader_load_block_ahead(sst_reader *p, int i, int bForward, sst_ahead *pA,
                                block_view *v, block_handle **ppH){
  const index_entry *e = &p->aIndex[i];
  size_t nAll = stored_bytes(p, i), iAt;
  block_handle *h;
  const uint8_t *a;
  int rc = LSM_OK, eType = COMPRESS_RAW;
  if( p->aMap ) return sst_reader_load_block(p, i, SST_LOAD_PASSING, v, ppH);
  *ppH = NULL;
  h = block_cache_lookup_counted(p->pBlocks, p->pBlockCounts, p->id, (uint32_t)i, e->nSize);
  if( h ) return view_of_handle(p, i, h, v, ppH);
  if( i < pA->iFirst || i >= pA->iEnd ){
    rc = ahead_fill(p, i, bForward, pA);
  }
  if( rc != LSM_OK ){
    /* The run could not be read (damage the env found, the in-database
    ** store's missing or short chunk row; an I/O error; no memory for the
    ** buffer), maybe because of a block past i: block i alone, as a scan
    ** without readahead reads it, so that an error is reported when the
    ** scan reaches the block it belongs to, never earlier. */
    pA->iFirst = pA->iEnd = 0;
    rc = read_block(p, i, 1, &h);
    if( rc ) return rc;
    h = block_cache_insert_passing(p->pBlocks, p->id, (uint32_t)i, h);
    return view_of_handle(p, i, h, v, ppH);
  }
  iAt = (size_t)(e->iOff - p->aIndex[pA->iFirst].iOff);
  if( iAt + nAll > pA->nValid ){
    return LSM_CORRUPT_BKPT("%s: block %d is truncated (the file is shorter than its index says)",
                            p->zPath, i);
  }
  a = pA->a + iAt;
  rc = verify_block(p, i, a, &eType);
  if( rc ) return rc;
  if( eType != COMPRESS_RAW ){
    rc = uncompress_block(p, i, eType, a, 1, &h);
    if( rc ) return rc;
  }else if( block_cache_has_room(p->pBlocks, e->nSize) ){
    h = block_handle_alloc_to_insert(p->pBlocks, p->pEnv, e->nSize);
    if( h == NULL ) return LSM_NOMEM;
    memcpy(block_handle_buf(h), a, e->nSize);
  }else{
    return block_view_init(v, a, e->nSize, p->zPath, i);
  }
  h = block_cache_insert_passing(p->pBlocks, p->id, (uint32_t)i, h);
  return view_of_handle(p, i, h, v, ppH);
}

void sst_ahead_free(lsm_env *pEnv, sst_ahead *pA){
  env_free(pEnv, pA->a);
  memset(pA, 0, sizeof(*pA));
}

void sst_reader_prefetch_block(sst_reader *p, int i, int iStage){
  const index_entry *e = &p->aIndex[i];
  int bRawMapped;
  assert( i >= 0 && i < p->nBlock );
  if( iStage == 0 ){
    /* The type byte sst_reader_load_block reads first in a mapping, and
    ** the cache slot, neither read here. */
    if( p->aMap ) __builtin_prefetch(p->aMap + e->iOff + e->nSize);
    if( p->pBlocks ) block_cache_prefetch_slot(p->pBlocks, p->id, (uint32_t)i);
    return;
  }
  bRawMapped = p->aMap != NULL
      && (p->nBlockTrailer == SST_TRAILER_SIZE || p->aMap[e->iOff + e->nSize] == COMPRESS_RAW);
  if( bRawMapped ){
    /* As sst_reader_load_block reads it: restart 0 and the end. */
    __builtin_prefetch(p->aMap + e->iOff);
    __builtin_prefetch(p->aMap + e->iOff + e->nSize - 1);
  }else if( (p->pBlocks == NULL
             || !block_cache_prefetch_entry(p->pBlocks, p->id, (uint32_t)i, e->nSize))
         && p->aMap ){
    __builtin_prefetch(p->aMap + e->iOff);     /* the bytes to decompress */
  }
}

/*
** A region of size n (without trailer) that ends, trailer included, at
** iEnd: check it starts at iOff, inside aMeta, and its checksum.
*/
static int check_region(const sst_reader *p, const char *zName, uint64_t iOff, uint64_t n,
                      uint64_t iEnd, uint64_t seed){
  if( n > iEnd || iEnd - n < SST_TRAILER_SIZE || iOff != iEnd - n - SST_TRAILER_SIZE
   || iOff < p->iMetaOff || iEnd > p->nData ){
    return LSM_CORRUPT_BKPT("%s: footer: %s region out of place", p->zPath, zName);
  }
  if( checksum_compute(meta_at(p, iOff), (size_t)n, seed) != coding_get64(meta_at(p, iOff + n)) ){
    return LSM_CORRUPT_BKPT("%s: %s checksum mismatch", p->zPath, zName);
  }
  return LSM_OK;
}

/*
** Read and verify the footer into p->footer, then find the meta regions
** (from the filter, or the properties, to the end): aMeta, in the mapping
** when mapped, else read into the heap.
*/
static int read_meta(sst_reader *p){
  uint8_t aFooter[SST_FOOTER_SIZE];
  const uint8_t *f = aFooter;
  footer_info *pF = &p->footer;
  size_t nRead = 0;
  uint64_t nMeta;
  int rc;
  if( p->nData < SST_FOOTER_SIZE ){
    return LSM_CORRUPT_BKPT("%s: footer: file too short (%llu bytes)",
                            p->zPath, (unsigned long long)p->nData);
  }
  if( p->aMap ){
    f = p->aMap + p->nData - SST_FOOTER_SIZE;
  }else{
    rc = p->pEnv->xRead(p->pFile, p->nData - SST_FOOTER_SIZE, aFooter, SST_FOOTER_SIZE, &nRead);
    if( rc ) return rc;
    if( nRead != SST_FOOTER_SIZE ){
      return LSM_CORRUPT_BKPT("%s: footer: file too short", p->zPath);
    }
  }
  if( coding_get64(f + SST_FOOTER_MAGIC) != SST_MAGIC ){
    return LSM_CORRUPT_BKPT("%s: footer: bad magic number (not an SSTable, or truncated)", p->zPath);
  }
  if( checksum_compute(f, SST_FOOTER_CHECKSUM, SST_SEED_FOOTER) != coding_get64(f + SST_FOOTER_CHECKSUM) ){
    return LSM_CORRUPT_BKPT("%s: footer checksum mismatch", p->zPath);
  }
  if( (coding_get32(f + SST_FOOTER_VERSION) != SST_FORMAT_VERSION
       && coding_get32(f + SST_FOOTER_VERSION) != SST_FORMAT_V1)
   || coding_get32(f + SST_FOOTER_RESERVED) != 0 ){
    return LSM_CORRUPT_BKPT("%s: footer: unsupported format version %u",
                            p->zPath, coding_get32(f + SST_FOOTER_VERSION));
  }
  p->nBlockTrailer = coding_get32(f + SST_FOOTER_VERSION) == SST_FORMAT_V1
                   ? SST_TRAILER_SIZE : SST_BLOCK_TRAILER_SIZE;
  pF->iFilterOff = coding_get64(f + SST_FOOTER_FILTER_OFF);
  pF->nFilter = coding_get64(f + SST_FOOTER_FILTER_SZ);
  pF->iPropsOff = coding_get64(f + SST_FOOTER_PROPS_OFF);
  pF->nProps = coding_get64(f + SST_FOOTER_PROPS_SZ);
  pF->iIndexOff = coding_get64(f + SST_FOOTER_INDEX_OFF);
  pF->nIndex = coding_get64(f + SST_FOOTER_INDEX_SZ);
  p->iMetaOff = pF->nFilter ? pF->iFilterOff : pF->iPropsOff;
  if( p->iMetaOff > p->nData - SST_FOOTER_SIZE ){
    return LSM_CORRUPT_BKPT("%s: footer: %s region out of place", p->zPath,
                            pF->nFilter ? "filter" : "properties");
  }
  nMeta = p->nData - p->iMetaOff;
  if( p->aMap ){
    p->aMeta = p->aMap + p->iMetaOff;    /* the size was checked: all mapped */
    return LSM_OK;
  }
  if( nMeta != (size_t)nMeta ) return LSM_NOMEM;
  p->aMetaOwned = env_malloc(p->pEnv, (size_t)nMeta);
  if( p->aMetaOwned == NULL ) return LSM_NOMEM;
  p->aMeta = p->aMetaOwned;
  rc = p->pEnv->xRead(p->pFile, p->iMetaOff, p->aMetaOwned, (size_t)nMeta, &nRead);
  if( rc == LSM_OK && nRead != nMeta ){
    rc = LSM_CORRUPT_BKPT("%s: footer: file too short", p->zPath);
  }
  return rc;
}

/* Verify the checksums of the regions the footer names (read_meta read
** them and the footer). */
static int verify_meta(sst_reader *p){
  const footer_info *pF = &p->footer;
  uint64_t iEnd;
  int rc;

  /* Index, properties, filter: contiguous, ending at the footer. */
  iEnd = p->nData - SST_FOOTER_SIZE;
  rc = check_region(p, "index", pF->iIndexOff, pF->nIndex, iEnd, SST_SEED_INDEX);
  if( rc ) return rc;
  rc = check_region(p, "properties", pF->iPropsOff, pF->nProps, pF->iIndexOff, SST_SEED_PROPS);
  if( rc ) return rc;
  if( pF->nFilter ){
    rc = check_region(p, "filter", pF->iFilterOff, pF->nFilter, pF->iPropsOff, SST_SEED_FILTER);
  }else if( pF->iFilterOff != 0 ){
    rc = LSM_CORRUPT_BKPT("%s: footer: filter region out of place", p->zPath);
  }
  return rc;
}

/* Decode the properties region. */
static int load_props(sst_reader *p){
  const uint8_t *a = meta_at(p, p->footer.iPropsOff);
  const uint8_t *pEnd = a + p->footer.nProps;
  uint64_t nBlock = 0, nSmall = 0, nLarge = 0;
  a = coding_get_varint64(a, pEnd, &p->nEntries);
  if( a ) a = coding_get_varint64(a, pEnd, &p->nTombstones);
  if( a ) a = coding_get_varint64(a, pEnd, &p->nRawBytes);
  if( a ) a = coding_get_varint64(a, pEnd, &nBlock);
  if( a ) a = coding_get_varint64(a, pEnd, &nSmall);
  if( a && (uint64_t)(pEnd - a) >= nSmall ){
    p->pSmallest = a;
    p->nSmallest = (size_t)nSmall;
    a = coding_get_varint64(a + nSmall, pEnd, &nLarge);
  }else{
    a = NULL;
  }
  if( a && (uint64_t)(pEnd - a) == nLarge ){
    p->pLargest = a;
    p->nLargest = (size_t)nLarge;
  }else{
    a = NULL;
  }
  if( a == NULL
   || p->nTombstones > p->nEntries
   || nBlock > (uint64_t)p->footer.nIndex     /* each index entry takes bytes */
   || (nBlock == 0) != (p->nEntries == 0)
   || (p->nEntries == 0 ? (nSmall | nLarge) != 0
                        : (nSmall < IKEY_TRAILER || nLarge < IKEY_TRAILER)) ){
    return LSM_CORRUPT_BKPT("%s: properties are malformed", p->zPath);
  }
  if( p->nEntries && ikey_compare(p->pSmallest, p->nSmallest, p->pLargest, p->nLargest) > 0 ){
    return LSM_CORRUPT_BKPT("%s: properties: smallest key after largest", p->zPath);
  }
  p->nBlock = (int)nBlock;
  return LSM_OK;
}

/* The filter region: padding to a 64-byte offset, bits, probe count. */
static int load_filter(sst_reader *p){
  uint64_t iOff = p->footer.iFilterOff, n = p->footer.nFilter, nPad, i;
  const uint8_t *a;
  if( n == 0 ) return LSM_OK;
  a = meta_at(p, iOff);
  nPad = (BLOOM_BLOCK_BYTES - iOff % BLOOM_BLOCK_BYTES) % BLOOM_BLOCK_BYTES;
  if( n < nPad + BLOOM_BLOCK_BYTES + 1 || (n - nPad - 1) % BLOOM_BLOCK_BYTES != 0
   || a[n - 1] < BLOOM_MIN_PROBES || a[n - 1] > BLOOM_MAX_PROBES ){
    return LSM_CORRUPT_BKPT("%s: filter is malformed", p->zPath);
  }
  for(i = 0; i < nPad; i++){
    if( a[i] ) return LSM_CORRUPT_BKPT("%s: filter is malformed", p->zPath);
  }
  p->nProbe = a[n - 1];
  p->aFilter = a + nPad;
  p->nFilter = (size_t)(n - nPad - 1);
  return LSM_OK;
}

/* Decode and verify the index into aIndex. */
static int load_index(sst_reader *p){
  const uint8_t *a = meta_at(p, p->footer.iIndexOff);
  const uint8_t *pEnd = a + p->footer.nIndex;
  uint64_t dataEnd = p->footer.nFilter ? p->footer.iFilterOff : p->footer.iPropsOff;
  uint64_t nBlock, iExpect = 0;
  int rc = LSM_OK, i;

  if( p->nEntries ){
    size_t nS = ikey_user_len(p->nSmallest), nL = ikey_user_len(p->nLargest);
    size_t n = nS < nL ? nS : nL;
    while( p->nCommon < n && p->pSmallest[p->nCommon] == p->pLargest[p->nCommon] ) p->nCommon++;
  }
  a = coding_get_varint64(a, pEnd, &nBlock);
  if( a == NULL || nBlock != (uint64_t)p->nBlock ){
    return LSM_CORRUPT_BKPT("%s: index: block count does not match the properties", p->zPath);
  }
  p->aIndex = env_malloc_rc(p->pEnv, sizeof(index_entry) * (size_t)(nBlock ? nBlock : 1), &rc);
  /* aWord, then aGroupWord (one word per SST_WORD_GROUP blocks). */
  p->aWord = env_malloc_rc(p->pEnv,       /* as sst_reader_heap_bytes counts it */
                           sizeof(uint64_t) * (size_t)(nBlock + nBlock / SST_WORD_GROUP + 2), &rc);
  p->aVerified = env_malloc_rc(p->pEnv, sizeof(uint64_t) * (size_t)((nBlock + 63) / 64 + 1), &rc);
  if( rc ) return rc;
  for(i = 0; i < p->nBlock; i++){
    index_entry *e = &p->aIndex[i];
    uint64_t nKey = 0, iOff = 0, nSize = 0;
    a = coding_get_varint64(a, pEnd, &nKey);
    if( a && nKey >= IKEY_TRAILER && (uint64_t)(pEnd - a) >= nKey ){
      e->pKey = a;
      e->nKey = (uint32_t)nKey;
      a = coding_get_varint64(a + nKey, pEnd, &iOff);
    }else{
      a = NULL;
    }
    if( a ) a = coding_get_varint64(a, pEnd, &nSize);
    if( a == NULL ){
      return LSM_CORRUPT_BKPT("%s: index: entry %d is truncated", p->zPath, i);
    }
    if( iOff != iExpect || nSize < 4 || nSize > 0xffffffffu
     || nSize > dataEnd || dataEnd - nSize < (uint64_t)p->nBlockTrailer
     || iOff > dataEnd - nSize - (uint64_t)p->nBlockTrailer ){
      return LSM_CORRUPT_BKPT("%s: index: block %d is out of place", p->zPath, i);
    }
    if( ikey_user_len(e->nKey) < p->nCommon
     || (p->nCommon && memcmp(e->pKey, p->pSmallest, p->nCommon) != 0) ){
      return LSM_CORRUPT_BKPT("%s: index: entry %d is outside the key range", p->zPath, i);
    }
    p->aWord[i] = key_word(e->pKey, ikey_user_len(e->nKey), p->nCommon);
    e->iOff = iOff;
    e->nSize = (uint32_t)nSize;
    iExpect = iOff + nSize + (uint64_t)p->nBlockTrailer;
    if( i > 0 && ikey_compare(e[-1].pKey, e[-1].nKey, e->pKey, e->nKey) >= 0 ){
      return LSM_CORRUPT_BKPT("%s: index: keys out of order at entry %d", p->zPath, i);
    }
  }
  if( a != pEnd || iExpect != dataEnd ){
    return LSM_CORRUPT_BKPT("%s: index does not cover the data blocks", p->zPath);
  }
  p->aGroupWord = p->aWord + p->nBlock;
  for(i = 0; i * SST_WORD_GROUP < p->nBlock; i++){
    int iLast = i * SST_WORD_GROUP + SST_WORD_GROUP - 1;
    p->aGroupWord[i] = p->aWord[iLast < p->nBlock ? iLast : p->nBlock - 1];
  }
  if( p->nBlock > 0 ){
    const index_entry *e = &p->aIndex[p->nBlock - 1];
    if( ikey_compare(e->pKey, e->nKey, p->pLargest, p->nLargest) != 0 ){
      return LSM_CORRUPT_BKPT("%s: index: last key differs from the largest key", p->zPath);
    }
  }
  return LSM_OK;
}

static void sst_reader_free(sst_reader *p){
  lsm_env *pEnv = p->pEnv;
  if( p->bOwnId && p->nBlock > 0 ) block_cache_erase(p->pBlocks, p->id, (uint32_t)p->nBlock);
  if( p->pFile ) pEnv->xClose(p->pFile);
  env_free(pEnv, p->aMetaOwned);
  env_free(pEnv, p->aIndex);
  env_free(pEnv, p->aWord);
  env_free(pEnv, (void*)p->aVerified);
  env_free(pEnv, p->zPath);
  env_free(pEnv, p);
}

/* ------------------------------------------------------------------ */
/* Open, references                                                     */
/* ------------------------------------------------------------------ */

/* Open zPath with its blocks under idBlocks in pBlocks (erased when the
** reader is freed if bOwnId). */
static int reader_open(lsm_env *pEnv, const char *zPath, block_cache *pBlocks, int bMap,
                       uint64_t idBlocks, int bOwnId, sst_reader **ppReader){
  int rc = LSM_OK;
  sst_reader *p = env_malloc_rc(pEnv, sizeof(*p), &rc);
  *ppReader = NULL;
  if( p == NULL ) return rc;
  p->pEnv = pEnv;
  p->pBlocks = pBlocks;
  p->id = idBlocks;
  p->bOwnId = bOwnId;
  atomic_init(&p->nRef, 1);
  p->zPath = env_strdup_rc(pEnv, zPath, &rc);
  if( rc == LSM_OK ) rc = pEnv->xOpen(pEnv, zPath, LSM_OPEN_READ, &p->pFile);
  if( rc == LSM_OK ){
    if( bMap && pEnv->xMap ){
      /* The mapping's length is the size checked below, so every block
      ** the index names lies inside it. */
      rc = pEnv->xMap(p->pFile, &p->aMap, &p->nData);
    }else{
      rc = pEnv->xSize(p->pFile, &p->nData);
    }
  }
  if( rc == LSM_OK ) rc = read_meta(p);
  if( rc == LSM_OK ) rc = verify_meta(p);
  if( rc == LSM_OK ) rc = load_props(p);
  if( rc == LSM_OK ) rc = load_filter(p);
  if( rc == LSM_OK ) rc = load_index(p);
  if( rc ){
    sst_reader_free(p);
    return rc;
  }
  *ppReader = p;
  return LSM_OK;
}

int sst_reader_open(lsm_env *pEnv, const char *zPath, block_cache *pBlocks, int bMap,
                    sst_reader **ppReader){
  return reader_open(pEnv, zPath, pBlocks, bMap, block_cache_new_id(), 1, ppReader);
}

int sst_reader_open_shared(lsm_env *pEnv, const char *zPath, block_cache *pBlocks,
                           block_cache_counts *pCounts, int bMap, uint64_t idBlocks,
                           sst_reader **ppReader){
  int rc = reader_open(pEnv, zPath, pBlocks, bMap, idBlocks, 0, ppReader);
  if( rc == LSM_OK ) (*ppReader)->pBlockCounts = pCounts;
  return rc;
}

void sst_reader_ref(sst_reader *p){
  atomic_fetch_add_explicit(&p->nRef, 1, memory_order_relaxed);
}

void sst_reader_unref(sst_reader *p){
  if( p && atomic_fetch_sub_explicit(&p->nRef, 1, memory_order_acq_rel) == 1 ){
    sst_reader_free(p);
  }
}

/*
** Verify every data block of a mapped reader now, in the calling thread,
** and mark them verified.  Why: on this project's machine (a guest whose
** hypervisor builds a process's page mappings on first touch) the first
** touch of each 4 KiB page of a mapping costs about 2 us, and a mapped
** block's first read also hashes it; a get right after a compaction
** installed new tables paid both (README, "Engine reads right after the
** writes").  A table's writer calls this before the table is installed,
** so the thread that wrote it pays instead, and a later first read
** neither faults nor hashes.  That writer's thread would pay the same
** anyway when the table is next compacted (a compaction reads its inputs
** through the same mapping, and verifies them), so the work moves rather
** than grows, except for the last level's tables, which no compaction
** rereads.  An unmapped reader (the in-database store's) is left alone:
** its blocks are verified when read into the block cache.
*/
int sst_reader_verify_mapped(sst_reader *p){
  int i;
  if( p->aMap == NULL ) return LSM_OK;
  for(i = 0; i < p->nBlock; i++){
    _Atomic uint64_t *pWord = &p->aVerified[i >> 6];
    uint64_t bit = 1ull << (i & 63);
    int eType, rc;
    if( atomic_load_explicit(pWord, memory_order_relaxed) & bit ) continue;
    rc = verify_block(p, i, p->aMap + p->aIndex[i].iOff, &eType);
    if( rc ) return rc;
    atomic_fetch_or_explicit(pWord, bit, memory_order_relaxed);
  }
  return LSM_OK;
}

/* ------------------------------------------------------------------ */
/* Point get                                                            */
/* ------------------------------------------------------------------ */

int sst_reader_get(sst_reader *p, const void *pKey, size_t nKey, uint64_t maxSeq,
                   int *pbFound, int *pType, const uint8_t **ppVal, size_t *pnVal,
                   block_handle **ppPin, sst_probe *pProbe){
  return sst_reader_get_hashed(p, pKey, nKey, checksum_hash_key(pKey, nKey), maxSeq,
                               pbFound, pType, ppVal, pnVal, ppPin, pProbe);
}

void sst_reader_prefetch_get(const sst_reader *p, const void *pKey, size_t nKey, uint64_t hash,
                             int bBlock){
  if( p->aFilter ) bloom_prefetch(p->aFilter, p->nFilter, hash);
  if( bBlock && p->aMap ){
    int i = find_block(p, pKey, nKey, ikey_pack_trailer(IKEY_MAX_SEQ, IKEY_VALUE));
    if( i < p->nBlock ){
      const index_entry *e = &p->aIndex[i];
      __builtin_prefetch(p->aMap + e->iOff);
      __builtin_prefetch(p->aMap + e->iOff + e->nSize);
    }
  }
}

int sst_reader_get_hashed(sst_reader *p, const void *pKey, size_t nKey, uint64_t hash,
                          uint64_t maxSeq, int *pbFound, int *pType, const uint8_t **ppVal,
                          size_t *pnVal, block_handle **ppPin, sst_probe *pProbe){
  uint64_t tTarget, trailer = 0;
  block_view v;
  block_handle *h = NULL;
  int i, rc;

  *pbFound = 0;
  *ppPin = NULL;
  if( pProbe ) memset(pProbe, 0, sizeof(*pProbe));
  if( p->aFilter ){
    if( pProbe ) pProbe->bBloomChecked = 1;
    if( !bloom_may_contain(p->aFilter, p->nFilter, p->nProbe, hash) ){
      if( pProbe ) pProbe->bBloomNegative = 1;
      return LSM_OK;
    }
  }
  if( maxSeq > IKEY_MAX_SEQ ) maxSeq = IKEY_MAX_SEQ;
  tTarget = ikey_pack_trailer(maxSeq, IKEY_VALUE);
  i = find_block(p, pKey, nKey, tTarget);
  if( i >= p->nBlock ) return LSM_OK;
  rc = sst_reader_load_block(p, i, SST_LOAD_FILL, &v, &h);
  if( rc ) return rc;
  if( pProbe ) pProbe->bSearched = 1;
  rc = block_get(&v, pKey, nKey, maxSeq, pbFound, &trailer, ppVal, pnVal);
  if( rc == LSM_OK && *pbFound ){
    *pType = (int)(trailer & 0xff);
    if( *pType != IKEY_VALUE && *pType != IKEY_DELETE ){
      *pbFound = 0;
      rc = LSM_CORRUPT_BKPT("%s: block %d: unknown entry type %d", p->zPath, i, *pType);
    }
  }
  if( rc == LSM_OK && *pbFound ){
    *ppPin = h;
  }else{
    block_cache_release(h);
  }
  return rc;
}

/* ------------------------------------------------------------------ */
/* Check                                                                */
/* ------------------------------------------------------------------ */

int sst_reader_check(sst_reader *p){
  lsm_env *pEnv = p->pEnv;
  block_buf prev = {0};            /* last key of the previous block */
  block_handle *h = NULL;          /* the block being checked        */
  block_iter it;
  uint64_t nEntries = 0, nTombstones = 0, nRaw = 0;
  int rc, i;

  block_iter_init(&it, pEnv);
  rc = verify_meta(p);
  for(i = 0; rc == LSM_OK && i < p->nBlock; i++){
    const index_entry *e = &p->aIndex[i];
    uint64_t nBlockEntries = 0;
    block_view v;
    /* Read again, past the cache and the verified bits: every checksum
    ** is verified now. */
    block_cache_release(h);
    h = NULL;
    rc = read_block(p, i, 0, &h);
    if( rc == LSM_OK ){
      size_t n;
      const uint8_t *a = block_handle_data(h, &n);
      rc = block_view_init(&v, a, n, p->zPath, i);
    }
    if( rc == LSM_OK ) rc = block_check(pEnv, &v, &nBlockEntries);
    if( rc ) break;
    if( nBlockEntries == 0 ){
      rc = LSM_CORRUPT_BKPT("%s: block %d is empty", p->zPath, i);
      break;
    }
    block_iter_set(&it, &v);
    for(block_iter_first(&it); it.bValid; block_iter_next(&it)){
      size_t nUser = it.nKey - IKEY_TRAILER;
      if( nEntries == 0
       && ikey_compare(it.aKey, it.nKey, p->pSmallest, p->nSmallest) != 0 ){
        rc = LSM_CORRUPT_BKPT("%s: first key differs from the smallest key property", p->zPath);
        break;
      }
      nEntries++;
      if( ikey_type(it.aKey, it.nKey) == IKEY_DELETE ) nTombstones++;
      nRaw += nUser + it.nVal;
      if( p->aFilter
       && !bloom_may_contain(p->aFilter, p->nFilter, p->nProbe, checksum_hash_key(it.aKey, nUser)) ){
        rc = LSM_CORRUPT_BKPT("%s: filter: block %d key is missing from the filter", p->zPath, i);
        break;
      }
      if( prev.n ){
        /* First key of this block: after the previous block's last key
        ** and after the previous separator. */
        if( ikey_compare(prev.a, prev.n, it.aKey, it.nKey) >= 0
         || ikey_compare(e[-1].pKey, e[-1].nKey, it.aKey, it.nKey) >= 0 ){
          rc = LSM_CORRUPT_BKPT("%s: block %d: keys out of order across blocks", p->zPath, i);
          break;
        }
        prev.n = 0;
      }
      if( it.iNext >= v.nEnd ){
        /* Last key of the block: not after the separator. */
        if( ikey_compare(it.aKey, it.nKey, e->pKey, e->nKey) > 0 ){
          rc = LSM_CORRUPT_BKPT("%s: index: block %d key after its separator", p->zPath, i);
          break;
        }
        block_buf_append(pEnv, &prev, it.aKey, it.nKey, &rc);
        if( rc ) break;
      }
    }
    if( rc == LSM_OK && it.rc ) rc = it.rc;
  }
  if( rc == LSM_OK && p->nBlock > 0
   && ikey_compare(prev.a, prev.n, p->pLargest, p->nLargest) != 0 ){
    rc = LSM_CORRUPT_BKPT("%s: last key differs from the largest key property", p->zPath);
  }
  if( rc == LSM_OK
   && (nEntries != p->nEntries || nTombstones != p->nTombstones || nRaw != p->nRawBytes) ){
    rc = LSM_CORRUPT_BKPT("%s: properties do not match the data (entries %llu, tombstones %llu, raw bytes %llu)",
                          p->zPath, (unsigned long long)nEntries,
                          (unsigned long long)nTombstones, (unsigned long long)nRaw);
  }
  block_iter_clear(&it);
  block_cache_release(h);
  block_buf_free(pEnv, &prev);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Properties                                                           */
/* ------------------------------------------------------------------ */

uint64_t sst_reader_file_bytes(const sst_reader *p){ return p->nData; }
uint64_t sst_reader_entries(const sst_reader *p){ return p->nEntries; }
uint64_t sst_reader_tombstones(const sst_reader *p){ return p->nTombstones; }
const uint8_t *sst_reader_smallest(const sst_reader *p, size_t *pn){
  *pn = p->nSmallest;
  return p->pSmallest;
}
const uint8_t *sst_reader_largest(const sst_reader *p, size_t *pn){
  *pn = p->nLargest;
  return p->pLargest;
}
const char *sst_reader_path(const sst_reader *p){ return p->zPath; }

uint32_t sst_reader_blocks(const sst_reader *p){ return (uint32_t)p->nBlock; }

const uint8_t *sst_reader_index_user_key(const sst_reader *p, int i, size_t *pn){
  *pn = ikey_user_len(p->aIndex[i].nKey);
  return p->aIndex[i].pKey;
}

uint64_t sst_reader_index_offset(const sst_reader *p, int i){
  if( i < p->nBlock ) return p->aIndex[i].iOff;
  if( p->nBlock == 0 ) return 0;
  return p->aIndex[p->nBlock - 1].iOff + p->aIndex[p->nBlock - 1].nSize + (uint64_t)p->nBlockTrailer;
}

int sst_reader_index_after(const sst_reader *p, const void *pUser, size_t nUser){
  /* Trailer 0 sorts after every version of pUser (seq 0 is never used):
  ** the first separator >= (pUser, 0) is the first above pUser. */
  return find_block(p, pUser, nUser, 0);
}

size_t sst_reader_heap_bytes(const sst_reader *p){
  size_t nVerified = sizeof(uint64_t) * (((size_t)p->nBlock + 63) / 64 + 1);   /* as load_index */
  size_t nWords = sizeof(uint64_t) * ((size_t)p->nBlock + (size_t)p->nBlock / SST_WORD_GROUP + 2);
  return sizeof(*p) + strlen(p->zPath) + 1
       + (p->aMetaOwned ? (size_t)(p->nData - p->iMetaOff) : 0)
       + sizeof(index_entry) * (size_t)(p->nBlock ? p->nBlock : 1) + nWords + nVerified;
}
