/*
** db_iter.h — the user's view of an internal-key iterator.
**
** Turns a merged stream of internal keys (every version, tombstones
** included) into user keys at one snapshot: for each user key, the newest
** visible version wins; a tombstone hides the key; keys outside the
** bounds are not shown.  Forward and reverse, switching at any point.
**
** Visibility of a version with sequence number s: s <= maxSeq, or
** IKEY_BATCH_SEQ <= s <= maxBatchSeq (a transaction's own writes; 0 none).
**
** Ownership: owns pInternal (closed with the db_iter, and by a failed
** db_iter_new).  Bounds are copied.  Key and value are borrowed: valid
** until the iterator moves or closes.
*/
#ifndef LSM_DB_ITER_H
#define LSM_DB_ITER_H

#include <stddef.h>
#include <stdint.h>

#include "iter.h"
#include "lsm.h"

typedef struct db_iter db_iter;

int db_iter_new(lsm_env*, iter *pInternal, uint64_t maxSeq, uint64_t maxBatchSeq,
                db_iter **ppIter);
/* Read at new visibility limits over the same internal iterator (whose
** sources must hold every version the new limits make visible): as
** db_iter_new left it, unpositioned and unbounded; buffers are kept. */
void db_iter_reset(db_iter*, uint64_t maxSeq, uint64_t maxBatchSeq);
/* Unpositioned, no bounds, holding no pinned block and no buffer past
** ITER_PARK_KEEP_BYTES (iter.h, xPark): for a cursor kept for reuse. */
void db_iter_park(db_iter*);
/* The internal iterator's sticky status: LSM_OK or its first error. */
int db_iter_status(const db_iter*);
/* pLower/pUpper NULL: unbounded on that side.  Resets the position. */
int db_iter_bounds(db_iter*, const void *pLower, size_t nLower, int bLowerOpen,
                   const void *pUpper, size_t nUpper, int bUpperOpen);
/* Each returns LSM_OK (positioned or not: see db_iter_valid) or an error. */
int db_iter_first(db_iter*);
int db_iter_last(db_iter*);
int db_iter_seek_ge(db_iter*, const void *pKey, size_t nKey);   /* first >= key */
int db_iter_seek_le(db_iter*, const void *pKey, size_t nKey);   /* last <= key  */
int db_iter_next(db_iter*);     /* REQUIRES valid */
int db_iter_prev(db_iter*);     /* REQUIRES valid */
int db_iter_valid(const db_iter*);
const uint8_t *db_iter_key(const db_iter*, size_t *pnKey);
const uint8_t *db_iter_value(const db_iter*, size_t *pnVal);
void db_iter_close(db_iter*);

#endif
