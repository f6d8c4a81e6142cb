/*
** compress.c — LZ4 and Zstandard for SSTable data blocks (compress.h).
**
** Compression happens in the writer (a flush or a compaction), once per
** block; decompression in a reader, once per block read into the block
** cache.  A block is stored compressed only if that saves at least an
** eighth of it (LevelDB's rule), so a table of incompressible values
** costs nothing to read.  The stored form starts with the uncompressed
** size as a varint, so a reader allocates exactly what it needs and can
** refuse an absurd size before decompressing anything.
**
** Zstandard keeps its (de)compression contexts per thread: making one per
** block costs more than decompressing a 4 KiB block.  They live in
** thread-specific data whose destructor frees them when the thread ends.
*/
#include "compress.h"

#include <lz4.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "coding.h"
#include "env.h"
#include "lsm.h"

/* ---- per-thread Zstandard contexts ---- */

typedef struct zstd_ctx {
  ZSTD_CCtx *pC;             /* compression context, or NULL until needed   */
  ZSTD_DCtx *pD;             /* decompression context, or NULL until needed */
} zstd_ctx;

static pthread_key_t g_zstdKey;
static pthread_once_t g_zstdOnce = PTHREAD_ONCE_INIT;
static int g_bZstdKey;       /* the key was created */

static void zstd_ctx_free(void *pArg){
  zstd_ctx *p = pArg;
  if( p == NULL ) return;
  ZSTD_freeCCtx(p->pC);
  ZSTD_freeDCtx(p->pD);
  free(p);
}

static void zstd_key_init(void){
  g_bZstdKey = pthread_key_create(&g_zstdKey, zstd_ctx_free) == 0;
}

/* This thread's contexts (NULL on OOM). */
static zstd_ctx *zstd_ctx_get(void){
  zstd_ctx *p;
  pthread_once(&g_zstdOnce, zstd_key_init);
  if( !g_bZstdKey ) return NULL;
  p = pthread_getspecific(g_zstdKey);
  if( p == NULL ){
    p = calloc(1, sizeof(*p));
    if( p == NULL ) return NULL;
    if( pthread_setspecific(g_zstdKey, p) != 0 ){
      free(p);
      return NULL;
    }
  }
  return p;
}

/* ---- public ---- */

int compress_block(lsm_env *pEnv, int eType, const uint8_t *a, size_t n, block_buf *pOut, int *pRc){
  return compress_block_fast(pEnv, eType, COMPRESS_LZ4_ACCELERATION, a, n, pOut, pRc);
}

int compress_block_fast(lsm_env *pEnv, int eType, int nLz4Acceleration, const uint8_t *a,
                        size_t n, block_buf *pOut, int *pRc){
  size_t nBound, nHead, nBody = 0;
  uint8_t *p;
  if( *pRc ) return 0;
  pOut->n = 0;
  if( n > (size_t)LZ4_MAX_INPUT_SIZE ) return 0;
  nBound = eType == COMPRESS_LZ4 ? (size_t)LZ4_compressBound((int)n) : ZSTD_compressBound(n);
  p = block_buf_reserve(pEnv, pOut, CODING_MAX_VARINT64 + nBound, pRc);
  if( p == NULL ) return 0;
  nHead = (size_t)(coding_put_varint(p, n) - p);
  if( eType == COMPRESS_LZ4 ){
    /* LZ4_compress_fast clears its 16 KiB hash table for every block.
    ** Keeping one table per writer and starting each block with
    ** LZ4_resetStream_fast + LZ4_compress_fast_continue skips the clear
    ** (a compaction of compressible values ran 8.8% fewer instructions
    ** under callgrind) but took 27% more CPU time: the stale entries left
    ** in the table make the match search mispredict 4x as often, which
    ** callgrind does not count, and the 16 KiB memset costs far less than
    ** the once-per-byte rep stosb callgrind counts.  Measured and not
    ** kept (README, "Tried: one LZ4 hash table per writer"); lz4's own
    ** fast-reset path clears the table too for inputs of 4 KiB or more. */
    int r = LZ4_compress_fast((const char*)a, (char*)p + nHead, (int)n, (int)nBound,
                              nLz4Acceleration);
    if( r <= 0 ) return 0;
    nBody = (size_t)r;
  }else if( eType == COMPRESS_ZSTD ){
    zstd_ctx *pCtx = zstd_ctx_get();
    size_t r;
    if( pCtx && pCtx->pC == NULL ) pCtx->pC = ZSTD_createCCtx();
    if( pCtx == NULL || pCtx->pC == NULL ) return 0;
    r = ZSTD_compressCCtx(pCtx->pC, p + nHead, nBound, a, n, COMPRESS_ZSTD_LEVEL);
    if( ZSTD_isError(r) ) return 0;
    nBody = r;
  }else{
    return 0;
  }
  pOut->n = nHead + nBody;
  return pOut->n <= n - n / 8;
}

int compress_raw_size(const uint8_t *a, size_t n, size_t nMax, size_t *pnRaw){
  uint64_t v = 0;
  const uint8_t *p = coding_get_varint64(a, a + n, &v);
  if( p == NULL || v > nMax || v == 0 ) return LSM_CORRUPT;
  *pnRaw = (size_t)v;
  return LSM_OK;
}

/* Bytes of a stored block's input (and of its output) fetched ahead of
** its decoding (below): 8 KiB, twice the default block's bytes stored
** (and its whole output); a larger block's later lines are what the
** hardware prefetcher, following the decoder, finds. */
#define COMPRESS_FETCH_AHEAD ((size_t)8 << 10)

/*
** Ask for every line of (p, n), up to COMPRESS_FETCH_AHEAD bytes, at once,
** to be read (the input) or written (bWrite: the output).  Why, for the
** input: a block that misses the block cache is decompressed from its
** stored bytes in the file's mapping, which no thread has read for a
** while, so they are in memory, not in the CPU's caches.  LZ4's decoder
** reads its input one sequence at a time (where a sequence starts depends
** on the one before), so each new line was one memory latency waited in
** series: with every line requested first, they arrive together.
** Measured (README, "The cost of a block-cache miss"): a 4 KiB block of
** values that compress 2:1 (1,896 bytes stored) decompressed in 0.50 us
** from the CPU's caches, 3.09 us from memory into memory, 1.19 us the
** same with its input fetched here first.  For the output: the block
** cache hands a miss the memory of the entry it evicted for it
** (block_cache_alloc), its oldest, which no thread has touched for a
** while; each line the decoder wrote first waited for the line to come
** (a settled compressed get 0.14-0.31 us less with it, a seek 0-0.31 us
** less, in three runs).
*/
static void fetch_lines(const uint8_t *p, size_t n, int bWrite){
  uintptr_t a = (uintptr_t)p & ~(uintptr_t)63, aEnd;
  if( n > COMPRESS_FETCH_AHEAD ) n = COMPRESS_FETCH_AHEAD;
  for(aEnd = (uintptr_t)p + n; a < aEnd; a += 64){
    /* The hint's second argument must be a constant. */
    if( bWrite ) __builtin_prefetch((const void*)a, 1);
    else __builtin_prefetch((const void*)a, 0);
  }
}

int compress_uncompress(int eType, const uint8_t *a, size_t n, uint8_t *pOut, size_t nRaw){
  uint64_t v = 0;
  const uint8_t *p = coding_get_varint64(a, a + n, &v);
  size_t nBody;
  if( p == NULL || v != nRaw ) return LSM_CORRUPT;
  nBody = n - (size_t)(p - a);
  fetch_lines(p, nBody, 0);
  fetch_lines(pOut, nRaw, 1);
  if( eType == COMPRESS_LZ4 ){
    int r;
    if( nBody > (size_t)LZ4_MAX_INPUT_SIZE || nRaw > (size_t)LZ4_MAX_INPUT_SIZE ) return LSM_CORRUPT;
    r = LZ4_decompress_safe((const char*)p, (char*)pOut, (int)nBody, (int)nRaw);
    return r >= 0 && (size_t)r == nRaw ? LSM_OK : LSM_CORRUPT;
  }
  if( eType == COMPRESS_ZSTD ){
    zstd_ctx *pCtx = zstd_ctx_get();
    size_t r;
    unsigned long long nFrame;
    if( pCtx && pCtx->pD == NULL ) pCtx->pD = ZSTD_createDCtx();
    if( pCtx == NULL || pCtx->pD == NULL ) return LSM_NOMEM;
    /* The frame must announce the size we expect (it always does when
    ** written by compress_block), so a damaged frame cannot ask for more. */
    nFrame = ZSTD_getFrameContentSize(p, nBody);
    if( nFrame != (unsigned long long)nRaw ) return LSM_CORRUPT;
    r = ZSTD_decompressDCtx(pCtx->pD, pOut, nRaw, p, nBody);
    return !ZSTD_isError(r) && r == nRaw ? LSM_OK : LSM_CORRUPT;
  }
  return LSM_CORRUPT;
}

const char *compress_name(int eCompression){
  switch( eCompression ){
    case LSM_COMPRESSION_NONE: return "none";
    case LSM_COMPRESSION_LZ4:  return "lz4";
    case LSM_COMPRESSION_ZSTD: return "zstd";
  }
  return "unknown";
}

size_t compress_max_raw(int eType){
  return eType == COMPRESS_LZ4 ? (size_t)LZ4_MAX_INPUT_SIZE : SIZE_MAX;
}
