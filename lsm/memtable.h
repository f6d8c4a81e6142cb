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
** Filter: a memtable may keep a Bloom filter over its user keys (bloom.h,
** "growing filter"), so that a get of a key it does not hold, most gets
** when the memtable holds a few percent of the store, costs a hash and
** one cache line instead of a skiplist search (RocksDB's memtable
** whole-key filtering).  It is sized once, at creation (a full memtable
** is switched, never grown), so its false-positive rate rises as the
** memtable fills (a false positive costs the skiplist search every get
** paid before the filter); it has no false negatives: memtable_add sets a key's
** bits before it links the node, so a reader whose sequence number
** covers an entry (published after the add, under the store mutex) sees
** both.
**
** Read index: seeks that meet a memtable nobody writes to build a sorted
** sample of its nodes (skiplist.h, "read index") that their searches
** then start from; memtable.c says when, and frees it with the memtable.
**
** Lifetime: memtable_new returns a reference count of 1.  Each iterator
** holds its own reference.  Pointers returned by get/iterators are
** borrowed: valid while the caller holds a reference.
*/
#ifndef LSM_MEMTABLE_H
#define LSM_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "iter.h"
#include "lsm.h"


typedef struct memtable memtable;

int memtable_new(lsm_env*, memtable **ppMem);
/* The same with a filter of nFilterBytes rounded down to whole
** BLOOM_BLOCK_BYTES (0 or less than that: no filter), a growing filter of
** BLOOM_WORD_PROBES bits per key in one 64-bit word (bloom.h).  LSM_OK or
** LSM_NOMEM. */
int memtable_new_filtered(lsm_env*, size_t nFilterBytes, memtable **ppMem);
/* The same, its arena attached to pPool (arena.h, "Pool"; NULL: none):
** a store's memtables take the blocks of those freed before them.
** REQUIRES: pPool outlives the memtable (the store's lsm_close destroys
** it after its last memtable is gone) and uses pEnv. */
int memtable_new_pooled(lsm_env*, size_t nFilterBytes, arena_pool *pPool,
                        memtable **ppMem);
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
/* The same, given hash = checksum_hash_key(pKey, nKey), which a store's
** get computes once for every memtable and SSTable filter it asks. */
int memtable_get_hashed(memtable*, const void *pKey, size_t nKey, uint64_t hash,
                        uint64_t maxSeq, uint64_t maxBatchSeq,
                        int *pType, const uint8_t **ppVal, size_t *pnVal);

/* 0 if no key with this hash (checksum_hash_key of the user key) was
** added before what the caller synchronized with, else 1 (always 1
** without a filter). */
int memtable_may_contain(const memtable*, uint64_t hash);
size_t memtable_filter_bytes(const memtable*);   /* 0: no filter */

size_t memtable_bytes(const memtable*);      /* arena bytes allocated */
uint64_t memtable_entries(const memtable*);
uint64_t memtable_tombstones(const memtable*);
/* Read indexes built so far (at most a few per memtable: memtable.c). */
int memtable_read_indexes_built(const memtable*);

/* An iterator over every version, holding a reference.  NULL + *pRc on OOM. */
iter *memtable_iter(memtable*, int *pRc);

#endif
