/*
** sst_writer.c — builds one SSTable; the whole file format is drawn here.
**
** An SSTable is an immutable sorted file of internal keys (ikey.h) and
** their values.  The writer takes entries in internal-key order and cuts
** them into data blocks of about block_bytes; for every block it records
** one index entry (a key between that block's last key and the next
** block's first, plus where the block is).  It hashes each distinct user
** key for the table's Bloom filter and counts entries for the properties
** record.  finish() appends the filter, the properties, the index and a
** fixed-size footer that says where those three are, then syncs.
** Given a block cache (sst_writer_fill_cache), it also offers each data
** block, as a reader would hold it decompressed, to that cache.
**
** FILE LAYOUT
**
**   offset 0                                                               end of file
**   | block 0 | bt | ... | block N-1 | bt | filter | t | props | t | index | t | footer |
**
**   bt: a data block's 9-byte trailer (type, checksum); t: the 8-byte
**   checksum trailer of a meta region; footer: the last 72 bytes.
**
** Each data block is followed by its block trailer, and each of filter,
** properties and index by an 8-byte trailer (below).  Regions are contiguous, in that order; the
** filter is absent when bloom_bits is 0.  A reader checks that they tile
** the file exactly.  All fixed-width integers are little-endian; "varint"
** is the LEB128 encoding of coding.h (7 bits a byte, low bits first, high
** bit set on all but the last byte).
**
** DATA BLOCK: drawn in block_builder.c, which writes it (block.c reads
** it).  The file holds it raw or compressed, as its trailer's type says.
**
** DATA BLOCK TRAILER (after every data block; SST_BLOCK_TRAILER_SIZE)
**
**   OFFSET  SIZE  DESCRIPTION
**   0       1     type: 0 raw, 1 LZ4, 2 Zstandard (compress.h)
**   1       8     XXH3-64 of the stored block bytes followed by the type
**                 byte, seed CHECKSUM_SEED_BLOCK + 0 (data)
**
** The writer compresses each block with the table's compression and
** stores the result only if it is at least 1/8 smaller than the block
** (LevelDB's rule); otherwise, and with compression none, it stores the
** block raw.  After a block that did not compress it stores the next
** ones raw without trying, a run that doubles up to SST_COMPRESS_MAX_SKIP
** blocks while the tries keep failing (readers cannot tell).  So one table may hold blocks of both kinds, and a store may
** hold tables written with different settings.  The checksum covers the
** bytes as stored: a reader verifies it before decompressing anything.
** The index gives the stored size.  A compressed block is stored as:
**
**   OFFSET  SIZE    DESCRIPTION
**   0       varint  r, the bytes of the block uncompressed
**   .       ...     the block compressed: one LZ4 block
**                   (LZ4_compress_default) or one Zstandard frame (level
**                   COMPRESS_ZSTD_LEVEL, content size in its header)
**
** Example: the one-entry block ("k", seq 1, put, 40 x "x"), 54 bytes raw,
** stored with LZ4 in 21 bytes:
**
**   00: 36                             r = 54
**   01: 7f 00 01 28 81 02 6b 78        LZ4 token: 7 literals (the entry's
**                                      header, "k", the first "x"), then
**   09: 01 00 14                       a match at distance 1, length 4+15+20
**   0c: 80 00 00 00 00 01 00 00 00     token: 8 literals (restart array, R = 1)
**   15: 01                             trailer: type 1 (LZ4)
**   16: 58 d7 86 12 69 d5 00 1d        XXH3(00..15, seed data)
**
** Format 1 (tables written before compression existed, footer version 1)
** has an 8-byte trailer after each data block: the XXH3-64 of the block
** alone, no type byte, and every block raw.  Readers still open it.
**
** META TRAILER (after the filter, the properties and the index)
**
**   OFFSET  SIZE  DESCRIPTION
**   0       8     XXH3-64 of the region's bytes (not including the
**                 trailer), seed CHECKSUM_SEED_BLOCK + kind: index 1,
**                 filter 2, properties 3 (sst_format.h)
**
** Data-block checksums are verified before a reader first uses the block
** (mapped) or before the block enters the block cache; the others when
** the table is opened.
**
** FILTER (absent when bloom_bits = 0; see bloom.h)
**
**   OFFSET  SIZE    DESCRIPTION
**   0       P       zero padding, 0..63 bytes, so that the bit array starts
**                   at a file offset that is a multiple of 64 (a cache
**                   line in the mapping)
**   P       F-P-1   the bit array, a multiple of 64 bytes: blocks of 512
**                   bits; bit j is bit (j & 7) of byte P + (j >> 3)
**   F-1     1       k, the number of probes (1..30)
**
** It holds every distinct user key (the internal key minus its 8-byte
** trailer), bloom_bits bits per key rounded up to whole 64-byte blocks.
**
** PROPERTIES
**
**   OFFSET  SIZE  DESCRIPTION
**   0       varint  entries, tombstones included
**   .       varint  tombstones (type 0 entries)
**   .       varint  raw bytes: sum of user-key and value lengths
**   .       varint  N, the number of data blocks
**   .       varint  a, bytes of the smallest internal key (0: empty table)
**   .       a       smallest internal key
**   .       varint  b, bytes of the largest internal key (0: empty table)
**   .       b       largest internal key
**
** INDEX (held in memory by the reader: the sparse index)
**
**   OFFSET  SIZE    DESCRIPTION
**   0       varint  N, the number of data blocks
**   then N entries, in block order:
**   0       varint  k, bytes of the separator
**   .       k       separator: an internal key >= every key of the block
**                   and < every key of the next block.  It is the block's
**                   last key, or, when the next block's first user key
**                   allows, a shorter user key with trailer
**                   (2^56-1) << 8 | 1; the last block's is its last key.
**   .       varint  offset of the block in the file
**   .       varint  size of the block as stored, without its trailer
**
** Blocks tile the file from offset 0: block i+1 starts right after block
** i's trailer, and the filter (or the properties) right after the last.
**
** FOOTER (the last SST_FOOTER_SIZE = 72 bytes)
**
**   OFFSET  SIZE  DESCRIPTION
**   0       8     u64 filter offset   (0 and size 0: no filter)
**   8       8     u64 filter size, without its trailer
**   16      8     u64 properties offset
**   24      8     u64 properties size, without its trailer
**   32      8     u64 index offset
**   40      8     u64 index size, without its trailer
**   48      4     u32 format version, SST_FORMAT_VERSION = 2 (1: see above)
**   52      4     u32 reserved, 0
**   56      8     XXH3-64 of footer bytes 0..55, seed CHECKSUM_SEED_FOOTER
**   64      8     magic SST_MAGIC: 89 6c 73 6d 0d 0a 1a 0a ("\x89lsm\r\n\x1a\n")
**
** So every byte of the file is covered by a checksum, except the magic,
** which is compared whole.
**
** WORKED EXAMPLE
**
** The whole 278-byte file for three entries, block_bytes 4096, bloom_bits
** 10 and compression none: ("apple", seq 2, put "red"), ("apple", seq 1,
** delete), ("apricot", seq 3, put "orange").  Offsets in hex.
**
**   data block 0 (offset 00, size 2a)
**   00: 00 05 03 81 04                 s 0, u 5, v 3, trailer 0x201 (seq 2, put)
**   05: 61 70 70 6c 65 72 65 64        "apple" "red"
**   0d: 05 00 00 80 02                 s 5, u 0, v 0, trailer 0x100 (seq 1, delete)
**   12: 02 05 06 81 06                 s 2 ("ap"), u 5, v 6, trailer 0x301 (seq 3, put)
**   17: 72 69 63 6f 74 6f 72 61 6e 67 65   "ricot" "orange"
**   22: 00 00 00 00                    restart[0] = 0
**   26: 01 00 00 00                    R = 1 restart point
**   2a: 00                             block trailer: type 0 (raw)
**   2b: 55 3a 7d a3 49 cb 41 a3        XXH3(00..2a, seed data)
**   filter (offset 33, size 4e)
**   33: 00 x 13                        padding: the bits start at 0x40
**   40: 01 10 00 00 00 00 00 00 08 00 00 00 00 00 00 00
**   50: 00 00 00 00 00 00 00 00 02 00 00 00 00 20 00 00
**   60: 00 00 00 50 00 00 00 00 10 00 08 00 00 00 02 00
**   70: 00 08 00 00 04 00 00 00 20 00 40 00 00 00 00 00
**                                      one 512-bit block, 14 bits set
**                                      (2 user keys x 7 probes)
**   80: 07                             k = 7 probes
**   81: 92 60 4e 1a 28 be 57 b9        trailer: XXH3(33..80, seed filter)
**   properties (offset 89, size 22)
**   89: 03 01 1a 01                    3 entries, 1 tombstone, 26 raw bytes, 1 block
**   8d: 0d 61 70 70 6c 65 01 02 00 00 00 00 00 00
**                                      smallest: 13 bytes, "apple" + trailer (2 << 8) | 1
**   9b: 0f 61 70 72 69 63 6f 74 01 03 00 00 00 00 00 00
**                                      largest: 15 bytes, "apricot" + (3 << 8) | 1
**   ab: 97 d0 40 63 ef 58 ae ab        trailer: XXH3(89..aa, seed properties)
**   index (offset b3, size 13)
**   b3: 01                             N = 1 block
**   b4: 0f 61 70 72 69 63 6f 74 01 03 00 00 00 00 00 00
**                                      separator: the last block's last key
**   c4: 00 2a                          block offset 0, size 42
**   c6: db 0e de 32 22 35 07 78        trailer: XXH3(b3..c5, seed index)
**   footer (offset ce)
**   ce: 33 00 00 00 00 00 00 00  4e 00 00 00 00 00 00 00   filter at 0x33, 78 bytes
**   de: 89 00 00 00 00 00 00 00  22 00 00 00 00 00 00 00   properties at 0x89, 34 bytes
**   ee: b3 00 00 00 00 00 00 00  13 00 00 00 00 00 00 00   index at 0xb3, 19 bytes
**   fe: 02 00 00 00  00 00 00 00       version 2, reserved 0
**  106: 74 56 06 59 7a 4a 00 90        XXH3(ce..105, seed footer)
**  10e: 89 6c 73 6d 0d 0a 1a 0a        magic
*/
#include "sst_writer.h"

#include <assert.h>
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

/* Bytes buffered before one xAppend. */
#define SST_WRITE_BUFFER (64 * 1024)

/* Blocks the writer stores raw without trying the compressor once blocks
** stop compressing: after SST_COMPRESS_FAILS_BEFORE_SKIP blocks in a row
** that do not shrink by 1/8 it skips the next one, after the next failure
** two, then 4, 8, up to this many; a block that compresses ends the
** skipping.  Values that do not compress (random bytes) are the common
** case for compaction, and trying LZ4 on each of their blocks was over
** half of a compaction's instructions (README, "Compaction throughput");
** a table whose data turns compressible again loses at most this many
** blocks' saving.  Why several failures first: data that alternates
** (incompressible blocks between compressible ones, as files of mixed
** media do) never skips, where skipping after each failure lost two
** thirds of its compressible blocks (+61% bytes in one review test). */
#define SST_COMPRESS_MAX_SKIP 16
#define SST_COMPRESS_FAILS_BEFORE_SKIP 4

struct sst_writer {
  lsm_env *pEnv;             /* allocations and file I/O                        */
  char *zPath;               /* the file being written (owned)                  */
  lsm_file *pFile;           /* open for appending until finish/abandon         */
  sst_options opt;           /* block size and bloom bits                       */
  int rc;                    /* sticky error                                    */
  uint64_t iFileOff;         /* bytes handed to xAppend so far                  */
  block_buf out;             /* bytes not yet handed to xAppend                 */
  block_builder data;        /* the data block being filled                     */
  block_buf comp;            /* a data block compressed                         */
  block_buf index;           /* encoded index entries so far                    */
  uint64_t nBlock;           /* data blocks written                             */
  int bPendingIndex;         /* the last block written still needs its entry    */
  uint64_t iPendingOff;      /* that block's offset                             */
  uint64_t nPendingSize;     /* and size                                        */
  block_buf lastKey;         /* the last internal key added                     */
  block_buf smallest;        /* the first internal key added                    */
  uint64_t *aHash;           /* hash of every distinct user key, for the filter */
  size_t nHash;              /* hashes in aHash                                 */
  size_t nHashAlloc;         /* slots allocated                                 */
  uint64_t nEntries;         /* entries added                                   */
  uint64_t nTombstones;      /* of which deletes                                */
  uint64_t nRawBytes;        /* user key + value bytes added                    */
  int nCompressSkip;         /* blocks still to store raw without trying        */
  int nCompressFails;        /* blocks in a row the compressor did not shrink  */
  int nCompressBackoff;      /* length of the last skip run; 0 after a block
                             ** that compressed                               */
  uint64_t nCompressTries;   /* blocks the compressor was run on                */
  block_cache *pFillCache;   /* blocks enter it as written, or NULL             */
  uint64_t idFillBlocks;     /* under this reader id (sst_writer_fill_cache)    */
  uint64_t nFillMax;         /* largest block offered: 1/8 of the cache's budget
                             ** when the output began (fill_cache)             */
};

/* ------------------------------------------------------------------ */
/* Output                                                               */
/* ------------------------------------------------------------------ */

static void flush_out(sst_writer *p){
  if( p->rc == LSM_OK && p->out.n > 0 ){
    p->rc = p->pEnv->xAppend(p->pFile, p->out.a, p->out.n);
    p->iFileOff += p->out.n;
    p->out.n = 0;
  }
}

/* Append n bytes to the file (through the buffer when they are small). */
static void emit(sst_writer *p, const void *a, size_t n){
  if( p->rc ) return;
  if( p->out.n + n > SST_WRITE_BUFFER ) flush_out(p);
  if( n >= SST_WRITE_BUFFER ){
    if( p->rc == LSM_OK ) p->rc = p->pEnv->xAppend(p->pFile, a, n);
    p->iFileOff += n;
  }else{
    block_buf_append(p->pEnv, &p->out, a, n, &p->rc);
  }
}

static uint64_t file_offset(const sst_writer *p){
  return p->iFileOff + p->out.n;
}

/*
** Write one region made of (aHead, nHead) then (a, n), and its checksum
** trailer.  *piOff and *pnSize get where it went (size without trailer).
*/
static void emit_region(sst_writer *p, const uint8_t *aHead, size_t nHead,
                            const uint8_t *a, size_t n, uint64_t seed,
                            uint64_t *piOff, uint64_t *pnSize){
  uint8_t aTrailer[SST_TRAILER_SIZE];
  *piOff = file_offset(p);
  *pnSize = nHead + n;
  coding_put64(aTrailer, nHead ? checksum_compute2(aHead, nHead, a, n, seed)
                               : checksum_compute(a, n, seed));
  emit(p, aHead, nHead);
  emit(p, a, n);
  emit(p, aTrailer, sizeof(aTrailer));
}

/* ------------------------------------------------------------------ */
/* Blocks and index entries                                             */
/* ------------------------------------------------------------------ */

/* Offer the block about to be written, as a reader would hold it after
** reading, verifying and decompressing it (its builder's bytes), to the
** block cache as block nBlock of the file's reader id.  A block the
** cache cannot take (no memory) is simply not offered: a read finds it
** in the file.  Nor is a block larger than an eighth of the cache's
** budget (a large value's): inserting it would evict most of what every
** table sharing the cache had read, and then itself. */
static void fill_cache(sst_writer *p, const uint8_t *a, size_t n){
  block_handle *h;
  if( n > p->nFillMax ) return;
  h = block_cache_alloc(p->pFillCache, p->pEnv, n);   /* inserted next */
  if( h == NULL ) return;
  memcpy(block_handle_buf(h), a, n);
  block_cache_release(block_cache_insert(p->pFillCache, p->idFillBlocks, (uint32_t)p->nBlock, h));
}

/* Write a data block: compressed if that saves 1/8 of it, else raw, then
** its type byte and checksum (DATA BLOCK TRAILER). */
static void flush_block(sst_writer *p){
  const uint8_t *a;
  size_t n;
  uint8_t aTrailer[SST_BLOCK_TRAILER_SIZE];
  int eType = COMPRESS_RAW;
  if( p->rc || p->data.nEntry == 0 ) return;
  a = block_builder_finish(&p->data, &n, &p->rc);
  if( a == NULL ) return;
  if( p->pFillCache ) fill_cache(p, a, n);
  if( p->opt.compression != LSM_COMPRESSION_NONE && p->nCompressSkip > 0 ){
    p->nCompressSkip--;
  }else if( p->opt.compression != LSM_COMPRESSION_NONE ){
    int eTry = p->opt.compression == LSM_COMPRESSION_ZSTD ? COMPRESS_ZSTD : COMPRESS_LZ4;
    p->nCompressTries++;
    if( compress_block(p->pEnv, eTry, a, n, &p->comp, &p->rc) ){
      eType = eTry;
      a = p->comp.a;
      n = p->comp.n;
      p->nCompressBackoff = 0;
      p->nCompressFails = 0;
    }else if( ++p->nCompressFails >= SST_COMPRESS_FAILS_BEFORE_SKIP ){
      /* Incompressible for a while: skip the next 1, 2, 4 ...
      ** SST_COMPRESS_MAX_SKIP blocks while it stays so. */
      p->nCompressBackoff = p->nCompressBackoff ? p->nCompressBackoff * 2 : 1;
      if( p->nCompressBackoff > SST_COMPRESS_MAX_SKIP ) p->nCompressBackoff = SST_COMPRESS_MAX_SKIP;
      p->nCompressSkip = p->nCompressBackoff;
    }
    if( p->rc ) return;
  }
  aTrailer[0] = (uint8_t)eType;
  coding_put64(aTrailer + 1, checksum_compute2(a, n, aTrailer, 1, SST_SEED_DATA));
  p->iPendingOff = file_offset(p);
  p->nPendingSize = n;
  emit(p, a, n);
  emit(p, aTrailer, sizeof(aTrailer));
  p->bPendingIndex = 1;
  p->nBlock++;
  block_builder_reset(&p->data);
}

/*
** The separator of the index: a key >= a (the block's last key) and <
** b (the next block's first; NULL for the last block).  Written to pOut,
** which has room for na bytes; returns its length.
*/
static size_t separator(const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
                            uint8_t *pOut){
  if( b ){
    size_t nua = ikey_user_len(na), nub = ikey_user_len(nb);
    size_t n = nua < nub ? nua : nub, i = 0;
    while( i < n && a[i] == b[i] ) i++;
    /* a's first i bytes plus a[i]+1 sorts after a and before b; use it
    ** only when that is shorter than a's user key. */
    if( i < n && a[i] < 0xff && a[i] + 1 < b[i] && i + 1 < nua ){
      memcpy(pOut, a, i);
      pOut[i] = (uint8_t)(a[i] + 1);
      coding_put64(pOut + i + 1, ikey_pack_trailer(IKEY_MAX_SEQ, IKEY_VALUE));
      return i + 1 + IKEY_TRAILER;
    }
  }
  memcpy(pOut, a, na);
  return na;
}

/* Index entry of the pending block; pNext is the next key or NULL. */
static void add_index(sst_writer *p, const uint8_t *pNext, size_t nNext){
  size_t nMax = 3 * CODING_MAX_VARINT64 + p->lastKey.n;
  uint8_t *pOut = block_buf_reserve(p->pEnv, &p->index, nMax, &p->rc);
  uint8_t *pSep;
  size_t nSep;
  if( pOut == NULL ) return;
  /* Build the separator a varint's room ahead, then slide it back to
  ** follow its length. */
  pSep = pOut + CODING_MAX_VARINT64;
  nSep = separator(p->lastKey.a, p->lastKey.n, pNext, nNext, pSep);
  pOut = coding_put_varint(pOut, nSep);
  memmove(pOut, pSep, nSep);
  pOut += nSep;
  pOut = coding_put_varint(pOut, p->iPendingOff);
  pOut = coding_put_varint(pOut, p->nPendingSize);
  p->index.n = (size_t)(pOut - p->index.a);
  p->bPendingIndex = 0;
}

/* ------------------------------------------------------------------ */
/* Public                                                               */
/* ------------------------------------------------------------------ */

static void sst_writer_free(sst_writer *p){
  lsm_env *pEnv = p->pEnv;
  if( p->pFile ) pEnv->xClose(p->pFile);
  block_builder_clear(&p->data);
  block_buf_free(pEnv, &p->comp);
  block_buf_free(pEnv, &p->out);
  block_buf_free(pEnv, &p->index);
  block_buf_free(pEnv, &p->lastKey);
  block_buf_free(pEnv, &p->smallest);
  env_free(pEnv, p->aHash);
  env_free(pEnv, p->zPath);
  env_free(pEnv, p);
}

int sst_writer_open(lsm_env *pEnv, const char *zPath, const sst_options *pOpt,
                    sst_writer **ppWriter){
  int rc = LSM_OK;
  sst_writer *p = env_malloc_rc(pEnv, sizeof(*p), &rc);
  *ppWriter = NULL;
  if( p == NULL ) return rc;
  p->pEnv = pEnv;
  p->opt = *pOpt;
  if( p->opt.block_bytes < 64 ) p->opt.block_bytes = 64;
  if( p->opt.bloom_bits < 0 ) p->opt.bloom_bits = 0;
  block_builder_init(&p->data, pEnv);
  p->zPath = env_strdup_rc(pEnv, zPath, &rc);
  if( rc == LSM_OK ) rc = pEnv->xOpen(pEnv, zPath, LSM_OPEN_WRITE | LSM_OPEN_EXCL, &p->pFile);
  if( rc ){
    sst_writer_free(p);
    return rc;
  }
  *ppWriter = p;
  return LSM_OK;
}

void sst_writer_fill_cache(sst_writer *p, block_cache *pCache, uint64_t idBlocks){
  p->pFillCache = pCache;
  p->idFillBlocks = idBlocks;
  p->nFillMax = pCache ? block_cache_capacity(pCache) / 8 : 0;
}

uint64_t sst_writer_blocks(const sst_writer *p){
  return p->nBlock;
}

/* Add an entry whose order the caller checked; bNewUser: its user key is
** not the last entry's (the filter hashes each user key once). */
static int add_entry(sst_writer *p, const uint8_t *pIkey, size_t nIkey,
                     const uint8_t *pVal, size_t nVal, int bNewUser){
  if( p->bPendingIndex ) add_index(p, pIkey, nIkey);

  if( bNewUser && p->opt.bloom_bits > 0 && p->rc == LSM_OK ){
    if( p->nHash == p->nHashAlloc ){
      size_t nNew = p->nHashAlloc ? p->nHashAlloc * 2 : 1024;
      uint64_t *aNew = env_realloc(p->pEnv, p->aHash, nNew * sizeof(uint64_t));
      if( aNew == NULL ){
        p->rc = LSM_NOMEM;
        return p->rc;
      }
      p->aHash = aNew;
      p->nHashAlloc = nNew;
    }
    p->aHash[p->nHash++] = checksum_hash_key(pIkey, ikey_user_len(nIkey));
  }
  if( p->nEntries == 0 ) block_buf_append(p->pEnv, &p->smallest, pIkey, nIkey, &p->rc);
  p->nEntries++;
  if( ikey_type(pIkey, nIkey) == IKEY_DELETE ) p->nTombstones++;
  p->nRawBytes += ikey_user_len(nIkey) + nVal;

  block_builder_add(&p->data, pIkey, nIkey, pVal, nVal, &p->rc);
  p->lastKey.n = 0;
  block_buf_append(p->pEnv, &p->lastKey, pIkey, nIkey, &p->rc);
  if( block_builder_size(&p->data) >= (size_t)p->opt.block_bytes ) flush_block(p);
  return p->rc;
}

int sst_writer_add(sst_writer *p, const uint8_t *pIkey, size_t nIkey,
                   const uint8_t *pVal, size_t nVal){
  int bNewUser = 1;
  if( p->rc ) return p->rc;
  if( nIkey < IKEY_TRAILER ){
    p->rc = LSM_ERROR_MSG(LSM_MISUSE, "%s: sst_writer_add: key shorter than its trailer", p->zPath);
    return p->rc;
  }
  if( p->nEntries > 0 ){
    /* One comparison serves the order check and the filter's dedup. */
    int c = ikey_compare_user(p->lastKey.a, ikey_user_len(p->lastKey.n),
                              pIkey, ikey_user_len(nIkey));
    if( c > 0 || (c == 0 && ikey_trailer(p->lastKey.a, p->lastKey.n) <= ikey_trailer(pIkey, nIkey)) ){
      p->rc = LSM_ERROR_MSG(LSM_MISUSE, "%s: sst_writer_add: key out of order", p->zPath);
      return p->rc;
    }
    bNewUser = c != 0;
  }
  return add_entry(p, pIkey, nIkey, pVal, nVal, bNewUser);
}

int sst_writer_add_sorted(sst_writer *p, const uint8_t *pIkey, size_t nIkey,
                          const uint8_t *pVal, size_t nVal, int bNewUser){
  if( p->rc ) return p->rc;
  if( nIkey < IKEY_TRAILER ){
    p->rc = LSM_ERROR_MSG(LSM_MISUSE, "%s: sst_writer_add: key shorter than its trailer", p->zPath);
    return p->rc;
  }
  return add_entry(p, pIkey, nIkey, pVal, nVal, bNewUser || p->nEntries == 0);
}

uint64_t sst_writer_bytes(const sst_writer *p){
  return file_offset(p) + (p->data.nEntry ? block_builder_size(&p->data) + SST_BLOCK_TRAILER_SIZE : 0);
}

uint64_t sst_writer_entries(const sst_writer *p){
  return p->nEntries;
}

int sst_writer_finish(sst_writer *p, sst_meta *pMeta){
  lsm_env *pEnv = p->pEnv;
  uint64_t iFilterOff = 0, nFilter = 0, iPropsOff = 0, nProps = 0, iIndexOff = 0, nIndex = 0;
  uint8_t aFooter[SST_FOOTER_SIZE];
  uint8_t aHead[CODING_MAX_VARINT64];
  uint8_t *aBits = NULL;
  block_buf props = {0};
  int rc;

  memset(pMeta, 0, sizeof(*pMeta));
  flush_block(p);
  if( p->bPendingIndex && p->rc == LSM_OK ) add_index(p, NULL, 0);

  /* Filter: padding to a 64-byte file offset, the bits, the probe count. */
  if( p->opt.bloom_bits > 0 && p->rc == LSM_OK ){
    size_t nBytes = bloom_bytes(p->nHash, p->opt.bloom_bits);
    size_t nPad = (size_t)((BLOOM_BLOCK_BYTES - file_offset(p) % BLOOM_BLOCK_BYTES) % BLOOM_BLOCK_BYTES);
    uint8_t aPad[BLOOM_BLOCK_BYTES];
    memset(aPad, 0, sizeof(aPad));
    aBits = env_malloc_rc(pEnv, nBytes + 1, &p->rc);
    if( aBits ){
      int nProbe = bloom_probes(p->opt.bloom_bits);
      bloom_build(aBits, nBytes, nProbe, p->aHash, p->nHash);
      aBits[nBytes] = (uint8_t)nProbe;
      emit_region(p, aPad, nPad, aBits, nBytes + 1, SST_SEED_FILTER, &iFilterOff, &nFilter);
    }
  }

  /* Properties. */
  block_buf_varint(pEnv, &props, p->nEntries, &p->rc);
  block_buf_varint(pEnv, &props, p->nTombstones, &p->rc);
  block_buf_varint(pEnv, &props, p->nRawBytes, &p->rc);
  block_buf_varint(pEnv, &props, p->nBlock, &p->rc);
  block_buf_varint(pEnv, &props, p->smallest.n, &p->rc);
  block_buf_append(pEnv, &props, p->smallest.a, p->smallest.n, &p->rc);
  block_buf_varint(pEnv, &props, p->nEntries ? p->lastKey.n : 0, &p->rc);
  if( p->nEntries ) block_buf_append(pEnv, &props, p->lastKey.a, p->lastKey.n, &p->rc);
  if( p->rc == LSM_OK ){
    emit_region(p, NULL, 0, props.a, props.n, SST_SEED_PROPS, &iPropsOff, &nProps);
  }

  /* Index: block count, then the entries built so far. */
  if( p->rc == LSM_OK ){
    size_t nHead = (size_t)(coding_put_varint(aHead, p->nBlock) - aHead);
    emit_region(p, aHead, nHead, p->index.a, p->index.n, SST_SEED_INDEX, &iIndexOff, &nIndex);
  }

  /* Footer. */
  memset(aFooter, 0, sizeof(aFooter));
  coding_put64(aFooter + SST_FOOTER_FILTER_OFF, iFilterOff);
  coding_put64(aFooter + SST_FOOTER_FILTER_SZ, nFilter);
  coding_put64(aFooter + SST_FOOTER_PROPS_OFF, iPropsOff);
  coding_put64(aFooter + SST_FOOTER_PROPS_SZ, nProps);
  coding_put64(aFooter + SST_FOOTER_INDEX_OFF, iIndexOff);
  coding_put64(aFooter + SST_FOOTER_INDEX_SZ, nIndex);
  coding_put32(aFooter + SST_FOOTER_VERSION, SST_FORMAT_VERSION);
  coding_put32(aFooter + SST_FOOTER_RESERVED, 0);
  coding_put64(aFooter + SST_FOOTER_CHECKSUM,
               checksum_compute(aFooter, SST_FOOTER_CHECKSUM, SST_SEED_FOOTER));
  coding_put64(aFooter + SST_FOOTER_MAGIC, SST_MAGIC);
  emit(p, aFooter, sizeof(aFooter));
  flush_out(p);
  if( p->rc == LSM_OK ) p->rc = pEnv->xSync(p->pFile);
  if( p->rc == LSM_OK ){
    p->rc = pEnv->xClose(p->pFile);
    p->pFile = NULL;
  }

  if( p->rc == LSM_OK ){
    pMeta->nFileBytes = p->iFileOff;
    pMeta->nEntries = p->nEntries;
    pMeta->nTombstones = p->nTombstones;
    pMeta->nRawBytes = p->nRawBytes;
    pMeta->nDataBlocks = p->nBlock;
    pMeta->nCompressTries = p->nCompressTries;
    if( p->nEntries ){
      pMeta->pSmallest = env_malloc_rc(pEnv, p->smallest.n, &p->rc);
      pMeta->pLargest = env_malloc_rc(pEnv, p->lastKey.n, &p->rc);
      if( p->rc == LSM_OK ){
        memcpy(pMeta->pSmallest, p->smallest.a, p->smallest.n);
        pMeta->nSmallest = p->smallest.n;
        memcpy(pMeta->pLargest, p->lastKey.a, p->lastKey.n);
        pMeta->nLargest = p->lastKey.n;
      }else{
        sst_meta_clear(pEnv, pMeta);
      }
    }
  }
  rc = p->rc;
  env_free(pEnv, aBits);
  block_buf_free(pEnv, &props);
  sst_writer_free(p);
  return rc;
}

void sst_writer_abandon(sst_writer *p){
  if( p ) sst_writer_free(p);
}

void sst_meta_clear(lsm_env *pEnv, sst_meta *pMeta){
  env_free(pEnv, pMeta->pSmallest);
  env_free(pEnv, pMeta->pLargest);
  memset(pMeta, 0, sizeof(*pMeta));
}
