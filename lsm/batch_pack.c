/*
** batch_pack.c — the stored form of a batch for a host that keeps its own
** log of batches (the in-database store's log rows, ext/dbstore.c): the
** encoded operations as they are, or compressed with LZ4 when that saves
** at least an eighth of them (the LZ4 block and its size varint against
** the raw bytes: with its form byte a stored row is at most one byte over), and the XXH3-64 checksum of the bytes as
** stored.  The checksum is verified before anything is decompressed.
**
** Why compress: every byte of a host's log row is written twice by SQLite
** (its WAL, then the checkpoint into the database file) and its pages are
** read back when the row is deleted after the flush; LZ4 at acceleration
** 4 takes about the CPU time those bytes cost SQLite and the kernel
** (measured: README, "In-database writes: the log row compressed").
**
** FORMAT (the stored bytes; the checksum is kept beside them by the host,
** the in-database store in its log row's sum column)
**
**   raw (the batch did not compress by an eighth, is shorter than
**   BATCH_PACK_MIN_BYTES, or was stored before this form existed):
**
**     OFFSET SIZE DESCRIPTION
**     0      n    the batch's encoded operations (format: lsm/batch.c),
**                 whose first byte is an operation type, 0x00 or 0x01
**
**   compressed:
**
**     OFFSET SIZE DESCRIPTION
**     0      1    BATCH_PACK_LZ4 (0x81): 0x80 | the compression type of
**                 lsm/compress.h (1, LZ4); no operation type has the high
**                 bit set, so the first byte tells the two forms apart
**     1      v    r, the bytes of the encoded operations, varint
**                 (lsm/coding.h), 1 <= r <= 255 * (bytes after byte 0,
**                 this varint included) + 64, and r <= LZ4_MAX_INPUT_SIZE
**     1+v    ...  the operations compressed as one LZ4 block
**                 (LZ4_compress_fast, BATCH_PACK_LZ4_ACCELERATION)
**
**   checksum: XXH3-64, seed CHECKSUM_SEED_BATCH ("LSM-BAT"), over every
**   stored byte.  For the raw form that is lsm_batch_checksum, so rows
**   stored before this form existed verify unchanged.
**
** Worked example: put("key00000", "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv")
** four times with keys key00000 .. key00003 (4 x 51 = 204 bytes encoded)
** is under BATCH_PACK_MIN_BYTES and stored raw:
**   01 08 6b 65 79 30 30 30 30 30 28 76 76 ...   (op 1, key len 8, ...)
** The same operations repeated 8 times (1632 bytes) compress:
**   81                 BATCH_PACK_LZ4
**   e0 0c              r = 1632
**   ...                the LZ4 block (test_batch_pack.c,
**                      batch_pack_compressed_form_is_exact, checks the
**                      header and the round trip)
*/
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "block_builder.h"
#include "checksum.h"
#include "coding.h"
#include "compress.h"
#include "env.h"
#include "error.h"

/* LZ4_compress_fast's acceleration for log rows (SSTable blocks use
** COMPRESS_LZ4_ACCELERATION, 1).  Measured on make bench's values (88
** random bytes cut from a 64 KiB pool; callgrind on 24.6 MB of 1000-row
** batches): instructions per byte and stored/raw at 1: 16.1, 0.649;
** 2: 10.7, 0.668; 4: 7.3, 0.692; 8: 5.4, 0.734; and on values half
** random: 1: 12.5, 0.476; 4: 5.6, 0.521.  SQLite spends about 4.4
** instructions per byte inserting a log row (more for the WAL write, the
** checkpoint and the pages read back when the row is deleted), so at 1
** the compression costs more than it saves (README, "In-database writes:
** the log row compressed"). */
#ifndef BATCH_PACK_LZ4_ACCELERATION
#define BATCH_PACK_LZ4_ACCELERATION 4
#endif

/* The first byte of the compressed form. */
#define BATCH_PACK_LZ4 (0x80 | COMPRESS_LZ4)

/* Batches shorter than this are stored raw without trying: LZ4 prepares
** a 16 KiB table per call, more than a one-row transaction's bytes cost
** to store. */
#define BATCH_PACK_MIN_BYTES 256

/* The most bytes r a compressed form of n bytes after its header may
** announce: an LZ4 block expands its input at most about 255 times, so a
** larger r is damage (the checksum matched by chance or on purpose) and
** must not size an allocation. */
static uint64_t batch_pack_max_raw(size_t nBody){
  /* A damaged size (under a checksum that happens to match: XXH3 is no
  ** MAC) must not make the reader allocate more than LZ4 could ever
  ** produce before it finds the row corrupt. */
  uint64_t nMax = (uint64_t)nBody * 255 + 64;
  return nMax < compress_max_raw(COMPRESS_LZ4) ? nMax : compress_max_raw(COMPRESS_LZ4);
}

int lsm_batch_pack(const lsm_batch *pBatch, lsm_packed_batch *pPacked){
  const uint8_t *aRep;
  size_t nRep;
  int rc = LSM_OK;
  if( pBatch == NULL || pPacked == NULL ) return LSM_MISUSE;
  aRep = pBatch->aRep;
  nRep = pBatch->nRep;
  pPacked->pData = aRep;
  pPacked->nData = nRep;
  if( nRep >= BATCH_PACK_MIN_BYTES ){
    /* The compressed form is the header byte then compress_block's output
    ** (varint r, LZ4 block), built in the caller's reusable buffer. */
    block_buf out = { (uint8_t*)pPacked->pBuf, 0, pPacked->nBuf };
    if( out.nAlloc == 0 ) out.a = NULL;
    if( compress_block_fast(pBatch->pEnv, COMPRESS_LZ4, BATCH_PACK_LZ4_ACCELERATION, aRep, nRep,
                            &out, &rc) ){
      uint8_t *p = block_buf_reserve(pBatch->pEnv, &out, 1, &rc);
      if( p ){
        /* Move the body up one byte for the header (memmove: the
        ** compressed body is under 7/8 of the batch, a few KB to MB). */
        memmove(out.a + 1, out.a, out.n);
        out.a[0] = BATCH_PACK_LZ4;
        pPacked->pData = out.a;
        pPacked->nData = out.n + 1;
      }
    }
    pPacked->pBuf = out.a;
    pPacked->nBuf = out.nAlloc;
    if( rc != LSM_OK ){
      pPacked->pData = aRep;
      pPacked->nData = nRep;
      return rc;
    }
  }
  pPacked->iSum = checksum_compute(pPacked->pData, pPacked->nData, CHECKSUM_SEED_BATCH);
  return LSM_OK;
}

int lsm_batch_unpack(lsm_batch *pBatch, const void *pData, size_t nData, uint64_t iSum){
  const uint8_t *a = pData;
  uint8_t *aRaw;
  size_t nRaw = 0;
  int rc;
  if( pBatch == NULL || (pData == NULL && nData) ) return LSM_MISUSE;
  lsm_batch_clear(pBatch);
  if( checksum_compute(pData, nData, CHECKSUM_SEED_BATCH) != iSum ){
    return LSM_CORRUPT_BKPT("stored batch of %zu bytes fails its checksum", nData);
  }
  if( nData == 0 || (a[0] & 0x80) == 0 ) return lsm_batch_load(pBatch, pData, nData);
  if( a[0] != BATCH_PACK_LZ4 ){
    return LSM_CORRUPT_BKPT("stored batch of unknown form 0x%02x (written by a later version?)",
                            a[0]);
  }
  rc = compress_raw_size(a + 1, nData - 1, (size_t)batch_pack_max_raw(nData - 1), &nRaw);
  if( rc != LSM_OK ) return LSM_CORRUPT_BKPT("stored batch: bad uncompressed size");
  aRaw = env_malloc(pBatch->pEnv, nRaw);
  if( aRaw == NULL ) return LSM_NOMEM;
  rc = compress_uncompress(COMPRESS_LZ4, a + 1, nData - 1, aRaw, nRaw);
  if( rc == LSM_CORRUPT ){
    rc = LSM_CORRUPT_BKPT("stored batch does not decompress to its %zu bytes", nRaw);
  }
  if( rc == LSM_OK ) rc = lsm_batch_load(pBatch, aRaw, nRaw);
  env_free(pBatch->pEnv, aRaw);
  return rc;
}

void lsm_packed_free(lsm_packed_batch *pPacked){
  if( pPacked == NULL ) return;
  lsm_free(pPacked->pBuf);
  memset(pPacked, 0, sizeof(*pPacked));
}
