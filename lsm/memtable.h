/*
** memtable.h — the in-memory sorted write buffer.
**
** A memtable is a skiplist of internal keys (ikey.h) with their values,
** allocated from an arena and freed all at once.  The store keeps one
** active memtable taking writes and at most a few immutable ones being
** flushed; a transaction's batch uses one as its read index.
**
** Thread safety: one writer at a time (the caller serializes adds), any
** number of concurrent readers, without locks (LevelDB's skiplist
** discipline: a node is fully built before it is published with a
** release store; readers load links with acquire).
**
** Invariants:
**   1. Entries are ordered by ikey_compare; (user key, seq) is unique.
**   2. Memory is only freed when the reference count drops to zero.
**   3. memtable_bytes() only grows.
**
** Lifetime: memtable_new returns a reference count of 1.  Each iterator
** holds its own reference.  Pointers returned by get/iterators are
** borrowed: valid while the caller holds a reference.
*/
#ifndef LSM_MEMTABLE_H
#define LSM_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "iter.h"
#include "lsm.h"

typedef struct memtable memtable;

int memtable_new(lsm_env*, memtable **ppMem);
void memtable_ref(memtable*);
void memtable_unref(memtable*);        /* frees at zero; NULL is a no-op */

/*
** Add one version.  type is IKEY_VALUE or IKEY_DELETE (pVal ignored).
** REQUIRES: callers serialize adds; (pKey, seq) not already present.
** Returns LSM_OK or LSM_NOMEM (nothing added).
*/
int memtable_add(memtable*, uint64_t seq, int type,
                 const void *pKey, size_t nKey, const void *pVal, size_t nVal);

/*
** The newest version of pKey whose sequence number is visible: seq <=
** maxSeq, or IKEY_BATCH_SEQ <= seq <= maxBatchSeq (maxBatchSeq 0: none).
** Returns 1 and sets *pType (IKEY_VALUE / IKEY_DELETE) and the value
** (borrowed) if there is one, else 0.
*/
int memtable_get(memtable*, const void *pKey, size_t nKey,
                 uint64_t maxSeq, uint64_t maxBatchSeq,
                 int *pType, const uint8_t **ppVal, size_t *pnVal);

size_t memtable_bytes(const memtable*);      /* arena bytes allocated */
uint64_t memtable_entries(const memtable*);
uint64_t memtable_tombstones(const memtable*);

/* An iterator over every version, holding a reference.  NULL + *pRc on OOM. */
iter *memtable_iter(memtable*, int *pRc);

#endif
