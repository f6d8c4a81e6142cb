/*
** harness.h — one model harness for every sorted source (LevelDB's
** table_test.cc runs one Harness over Block, Table, MemTable and DB).
**
**   - harness_model: the reference for anything read through iter.h, a
**     plain array of (internal key, value) sorted by ikey_compare.  A
**     block, an SSTable, a memtable or a merge built from the same
**     entries must show exactly this array.
**   - harness_check_iter(): compares any iter with a model: whole scans
**     both ways, then seeks (to present keys, to present keys at other
**     sequence numbers, to random keys), each followed by a random walk
**     of next/prev that must stay in step with the array, off either end.
**   - harness_fault_iter_new(): wraps any iter and fails with LSM_CORRUPT
**     after a given number of moves, to test how a consumer (merge_iter,
**     db_iter) reports a child's error.
**
** Every failure message starts with the seed (testutil.h), so a random
** run can be replayed: LSM_TEST_SEED=<seed> build/tests/test_sst
*/
#ifndef LSM_HARNESS_H
#define LSM_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "iter.h"
#include "memtable.h"
#include "testutil.h"

/* ---- the internal-key model ---- */

typedef struct harness_entry {
  uint8_t *pKey;                /* internal key (user key + trailer); owned */
  size_t nKey;                  /* its length                               */
  uint8_t *pVal;                /* value; owned (never NULL)                */
  size_t nVal;                  /* its length (0 for a tombstone)           */
} harness_entry;

typedef struct harness_model {
  harness_entry *a;             /* entries; sorted once harness_model_sort ran */
  size_t n;                     /* entries in a                                */
  size_t nAlloc;                /* allocated slots                             */
} harness_model;

/* Append (user key, seq, type) -> value, copying all of it.  The model
** is unsorted until harness_model_sort (harness_model_random sorts). */
void harness_model_add(harness_model*, const void *pUser, size_t nUser, uint64_t seq, int type,
                       const void *pVal, size_t nVal);
void harness_model_sort(harness_model*);
/* Free every entry; the model is empty and reusable afterwards. */
void harness_model_clear(harness_model*);

/* Index of the first entry >= the internal key (n if none).
** REQUIRES: sorted. */
size_t harness_model_lower(const harness_model*, const uint8_t *pIkey, size_t nIkey);
/* Index of the entry a point get of user key pUser at snapshot maxSeq
** must find (the newest version with seq <= maxSeq), or n if none.
** REQUIRES: sorted. */
size_t harness_model_get(const harness_model*, const void *pUser, size_t nUser, uint64_t maxSeq);

/* A random user key of at most nMax bytes: one of a few shared prefixes
** (including none), then bytes from a small alphabet with 0x00 and 0xff,
** so that keys share prefixes, nest, and may be empty. */
size_t harness_random_user(test_rng*, uint8_t *p, size_t nMax);

/* Add nUser random user keys (harness_random_user, at most nKeyMax
** bytes), each with 1..nVer versions (one in five a tombstone, sequence
** numbers rising), values of 0..nValMax bytes; then sort. */
void harness_model_random(harness_model*, test_rng*, int nUser, int nVer, size_t nKeyMax,
                          size_t nValMax);

/*
** A point-get target: two times in three the user key of a present entry
** (at that entry's seq, at IKEY_MAX_SEQ or at a random snapshot), else a
** random user key at a random snapshot.  Writes the user key to aU and
** returns its length; the snapshot goes to *pMaxSeq.  The entry the get
** must find is then harness_model_get(p, aU, n, *pMaxSeq).
** REQUIRES: aU has room for HARNESS_RANDOM_USER bytes and for the
** longest user key in p.
*/
#define HARNESS_RANDOM_USER 12  /* longest random user key a target has */
size_t harness_get_target(const harness_model *p, test_rng*, uint8_t *aU, uint64_t *pMaxSeq);

/* ---- comparing an iterator with the model ---- */

/* It is valid and at entry i of the model (key and value). */
void harness_assert_at(iter *it, const harness_model*, size_t i, uint64_t seed);

/*
** Compare it with the sorted model p: a forward and a backward scan of
** the whole of it, then nSeek seeks each followed by a walk of up to 40
** random next/prev steps.  Ends with iter_status(it) == LSM_OK; the
** iterator stays open (the caller closes it).  ck_aborts with the seed on
** the first difference.
*/
void harness_check_iter(iter *it, const harness_model *p, test_rng*, int nSeek, uint64_t seed);

/* ---- sorted sources ---- */

/* A merge_iter over one memtable_iter per memtable (nMem <= 40).  Each
** iterator holds a reference to its memtable; the caller keeps its own.
** Owned: iter_close. */
iter *harness_memtable_merge(memtable **apMem, int nMem);

/* ---- a failing iterator ---- */

/* An iterator that passes every call to pInner but, once nLeft moves
** (first/last/seek/next/prev) have been made, fails the next move and
** every later one: it is then invalid and its status is LSM_CORRUPT.
** Owns pInner (closes it).  Aborts on OOM (test code). */
iter *harness_fault_iter_new(iter *pInner, int nLeft);

#endif
