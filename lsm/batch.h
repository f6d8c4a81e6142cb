/*
** batch.h — write batches (lsm_batch in lsm.h) as the engine sees them.
**
** A batch is an append-only encoding of operations (format: see batch.c),
** the same bytes a WAL record carries as its payload.  For reading a
** transaction's own writes, a batch keeps a memtable index of its first
** nIndexed operations, built lazily; operation i (0-based) is indexed with
** sequence number IKEY_BATCH_SEQ + i + 1, so reading the first k
** operations means maxBatchSeq = IKEY_BATCH_SEQ + k.
**
** Invariants:
**   1. aRep[0..nRep) holds exactly nOp well-formed operations.
**   2. pIndex, when not NULL, holds exactly operations [0, nIndexed),
**      nIndexed <= nOp; truncating below nIndexed drops the index (open
**      cursors keep their own reference to the old one).
*/
#ifndef LSM_BATCH_H
#define LSM_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "lsm.h"
#include "memtable.h"

struct lsm_batch {
  lsm_env *pEnv;
  uint8_t *aRep;           /* encoded operations (owned unless bStatic)  */
  size_t nRep, nAlloc;
  size_t nOp;              /* operations in aRep                         */
  uint64_t nUserBytes;     /* key + value bytes of the operations        */
  int bStatic;             /* aRep is the caller's buffer (batch_init_static)
                           ** until it outgrows it; never freed         */
  memtable *pIndex;        /* read index of the first nIndexed ops       */
  size_t nIndexed;
  size_t iIndexedOff;      /* offset in aRep of operation nIndexed       */
  int bOne;                /* made by batch_init_one and not changed since:
                           ** its one operation is decoded below          */
  int eOneType;            /* bOne: IKEY_VALUE or IKEY_DELETE            */
  const uint8_t *pOneKey;  /* bOne: the key, inside aRep                 */
  const uint8_t *pOneVal;  /* bOne: the value, inside aRep (NULL: delete) */
  size_t nOneKey, nOneVal; /* bOne: their lengths                     */
};

/* Make *p an empty batch over the caller's buffer aBuf of nBuf bytes (a
** batch on the stack: no allocation while it fits).  Operations that do
** not fit move it to the heap: free that with batch_clear. */
void batch_init_static(lsm_batch *p, lsm_env*, uint8_t *aBuf, size_t nBuf);
/* batch_init_static, then the one operation type (IKEY_VALUE or
** IKEY_DELETE) of key and value: a put or delete of lsm_put/lsm_delete.
** The batch also keeps where the key and value lie in its encoding, so
** batch_apply_batch inserts them without decoding it (callgrind, 100,000
** puts of make prof-compact: 2,927 instructions a put before, 2,816
** after).  An operation too big for aBuf takes the general path (moved
** to the heap: batch_clear; decoded when applied).  Errors as
** lsm_batch_put's. */
int batch_init_one(lsm_batch *p, lsm_env*, uint8_t *aBuf, size_t nBuf, int type,
                   const void *pKey, size_t nKey, const void *pVal, size_t nVal);
/* Free what a batch made with batch_init_static allocated. */
void batch_clear(lsm_batch *p);

/* Call xOp for each operation of an encoded batch.  LSM_CORRUPT if the
** encoding is malformed (a WAL record that passed its checksum but does
** not decode is corruption).  Pointers are borrowed for the call. */
int batch_decode(const uint8_t *aRep, size_t nRep,
                 int (*xOp)(void *pCtx, int type, const uint8_t *pKey, size_t nKey,
                            const uint8_t *pVal, size_t nVal),
                 void *pCtx);

/* Insert every operation into pMem with sequence numbers seq, seq+1, ...;
** *pnOp (may be NULL) is how many were inserted. */
int batch_apply(const uint8_t *aRep, size_t nRep, uint64_t seq, memtable *pMem,
                uint64_t *pnOp);

/* batch_apply of pBatch's operations, at seq, seq+1, ...; a batch of
** batch_init_one goes into pMem without being decoded. */
int batch_apply_batch(const lsm_batch *pBatch, uint64_t seq, memtable *pMem);

/* The index over every operation of the batch (all nOp of them),
** extending it to operations added since it was last built.  A reader
** that must see only the first k operations reads it at maxBatchSeq =
** IKEY_BATCH_SEQ + k (see above).  Borrowed: the caller takes its own
** reference if it keeps it. */
int batch_index(lsm_batch*, memtable **ppIndex);

/* Encode one operation into a caller buffer of at least
** batch_op_size(nKey, nVal) bytes; returns the bytes written. */
size_t batch_op_size(size_t nKey, size_t nVal);
size_t batch_op_encode(uint8_t *p, int type, const void *pKey, size_t nKey,
                       const void *pVal, size_t nVal);

#endif
