/*
** db_read.c — the store's read path: lsm_get, snapshots and cursors.
** A read pins a view (db_impl.h) and reads at a sequence number; a read
** inside a transaction overlays the transaction's batch (lsm_read).
*/
#include <string.h>

#include "db_impl.h"
#include "checksum.h"
#include "env.h"
#include "error.h"
#include "ikey.h"

/* Resolve what a read looks at: a view with a reference, the sequence
** number, and the batch's visible limit. */
static int read_setup(lsm_db *pDb, const lsm_read *pRead, db_view **ppView, uint64_t *pSeq,
                      memtable **ppBatchIndex, uint64_t *pMaxBatchSeq){
  *ppBatchIndex = NULL;
  *pMaxBatchSeq = 0;
  if( pRead && pRead->pSnapshot ){
    lsm_snapshot *pSnap = pRead->pSnapshot;
    if( pSnap->pDb != pDb ) return LSM_MISUSE;
    *ppView = pSnap->pView;
    atomic_fetch_add_explicit(&pSnap->pView->nRef, 1, memory_order_relaxed);
    *pSeq = pSnap->seq;
  }else{
    *ppView = db_view_acquire(pDb, pSeq);
  }
  if( pRead && pRead->pBatch ){
    lsm_batch *pB = pRead->pBatch;
    size_t nOps = pRead->nBatchOps > pB->nOp ? pB->nOp : pRead->nBatchOps;
    if( nOps > 0 ){
      int rc = batch_index(pB, ppBatchIndex);
      if( rc != LSM_OK ){
        db_view_unref(*ppView);
        *ppView = NULL;
        *ppBatchIndex = NULL;
        return rc;
      }
      memtable_ref(*ppBatchIndex);
      *pMaxBatchSeq = IKEY_BATCH_SEQ + nOps;
    }
  }
  return LSM_OK;
}

int lsm_get(lsm_db *pDb, const lsm_read *pRead, const void *pKey, size_t nKey,
            void **ppVal, size_t *pnVal){
  db_view *pView = NULL;
  memtable *pBatchIndex = NULL;
  table_get_result res;            /* the answer, from whichever layer has it */
  uint64_t seq, maxBatchSeq, hash;
  int rc, i;

  if( pDb == NULL || ppVal == NULL || pnVal == NULL ) return LSM_MISUSE;
  *ppVal = NULL;
  *pnVal = 0;
  memset(&res, 0, sizeof(res));
  res.type = IKEY_DELETE;
  rc = read_setup(pDb, pRead, &pView, &seq, &pBatchIndex, &maxBatchSeq);
  if( rc != LSM_OK ) return rc;
  stat_add(&pDb->stats.nGets, 1);

  if( pBatchIndex ){
    res.bFound = memtable_get(pBatchIndex, pKey, nKey, 0, maxBatchSeq, &res.type, &res.pVal, &res.nVal);
  }
  /* One hash for every filter asked: the memtables' and the tables'. */
  hash = checksum_hash_key(pKey, nKey);
  if( !res.bFound ){
    res.bFound = memtable_get_hashed(pView->pMem, pKey, nKey, hash, seq, 0,
                                     &res.type, &res.pVal, &res.nVal);
  }
  for(i = 0; !res.bFound && i < pView->nImm; i++){
    res.bFound = memtable_get_hashed(pView->apImm[i], pKey, nKey, hash, seq, 0,
                                     &res.type, &res.pVal, &res.nVal);
  }
  if( !res.bFound ){
    rc = version_get(pView->pVersion, pKey, nKey, hash, seq, &res);
    stat_add(&pDb->stats.nGetProbes, (uint64_t)res.nProbes);
    stat_add(&pDb->stats.nBloomChecks, (uint64_t)res.nBloomChecks);
    stat_add(&pDb->stats.nBloomNegatives, (uint64_t)res.nBloomNegatives);
    stat_add(&pDb->stats.nBloomFalsePositives, (uint64_t)res.nBloomFalsePositives);
  }
  if( rc == LSM_OK ){
    if( !res.bFound || res.type != IKEY_VALUE ){
      rc = LSM_NOTFOUND;
    }else{
      uint8_t *pCopy = env_malloc(pDb->pEnv, res.nVal ? res.nVal : 1);
      if( pCopy == NULL ){
        rc = LSM_NOMEM;
      }else{
        if( res.nVal ) memcpy(pCopy, res.pVal, res.nVal);
        *ppVal = pCopy;
        *pnVal = res.nVal;
      }
    }
  }
  block_cache_release(res.pPinBlock);
  sst_reader_unref(res.pPinned);
  memtable_unref(pBatchIndex);
  db_view_unref(pView);
  return rc;
}

/* ---- snapshots ---- */

int lsm_snapshot_acquire(lsm_db *pDb, lsm_snapshot **ppSnap){
  lsm_snapshot *p;
  if( pDb == NULL || ppSnap == NULL ) return LSM_MISUSE;
  p = env_malloc(pDb->pEnv, sizeof(lsm_snapshot));
  if( p == NULL ) return LSM_NOMEM;
  p->pDb = pDb;
  p->pView = db_view_acquire(pDb, &p->seq);
  mutex_lock(&pDb->mutex);
  pDb->nSnapshot++;
  mutex_unlock(&pDb->mutex);
  *ppSnap = p;
  return LSM_OK;
}

void lsm_snapshot_release(lsm_snapshot *p){
  lsm_db *pDb;
  if( p == NULL ) return;
  pDb = p->pDb;
  mutex_lock(&pDb->mutex);
  pDb->nSnapshot--;
  mutex_unlock(&pDb->mutex);
  db_view_unref(p->pView);
  env_free(pDb->pEnv, p);
}

/* ---- cursors ---- */

/* The iterator of a cursor over pView at seq, with the batch index pIdx
** (NULL: none) visible up to maxBatchSeq.  The caller keeps its own
** references to pView and pIdx for as long as the iterator lives. */
static int cursor_iter_new(lsm_db *pDb, db_view *pView, uint64_t seq, memtable *pIdx,
                           uint64_t maxBatchSeq, int bFill, db_iter **ppIter){
  iter **apIter;
  iter *pMerge;
  int rc = LSM_OK, nIter = 0, i;
  *ppIter = NULL;
  apIter = env_malloc_rc(pDb->pEnv, sizeof(iter*)
                         * (size_t)(2 + DB_MAX_IMM + version_iter_count(pView->pVersion)), &rc);
  if( rc != LSM_OK ) return rc;
  if( pIdx ){
    apIter[nIter] = memtable_iter(pIdx, &rc);
    if( apIter[nIter] ) nIter++;
  }
  if( rc == LSM_OK ){
    apIter[nIter] = memtable_iter(pView->pMem, &rc);
    if( apIter[nIter] ) nIter++;
  }
  for(i = 0; rc == LSM_OK && i < pView->nImm; i++){
    apIter[nIter] = memtable_iter(pView->apImm[i], &rc);
    if( apIter[nIter] ) nIter++;
  }
  if( rc == LSM_OK ) rc = version_add_iters(pView->pVersion, bFill, apIter, &nIter);
  pMerge = db_merge_and_free(pDb->pEnv, apIter, nIter, &rc);
  if( rc == LSM_OK ) rc = db_iter_new(pDb->pEnv, pMerge, seq, maxBatchSeq, ppIter);
  return rc;
}

/*
** Opening a cursor builds an iterator per sorted source, and closing one
** frees them (about 4,600 instructions per SQL seek of a table in the
** database file, a tenth of it).  So lsm_cursor_close keeps one cursor per
** store, iterators and all, while it reads the current view
** (pDb->pSpareCursor), and the next lsm_cursor_open refreshes it
** (lsm_cursor_refresh: no iterator built while the view is the same).
** The spare pins only the current view, which pins the same anyway:
** installing a new view frees it (db_view_install), so it never keeps an
** SSTable alive that a flush or compaction replaced.  It is not counted in
** nCursor (lsm_stats' open cursors), and lsm_close frees it.
*/
int lsm_cursor_open(lsm_db *pDb, const lsm_read *pRead, lsm_cursor **ppCsr){
  lsm_cursor *pCsr;
  uint64_t maxBatchSeq = 0;
  int rc;

  if( pDb == NULL || ppCsr == NULL ) return LSM_MISUSE;
  error_clear();
  *ppCsr = NULL;
  if( pRead == NULL || !pRead->bNoFill ){      /* the spare fills the cache */
    mutex_lock(&pDb->mutex);
    pCsr = pDb->pSpareCursor;
    pDb->pSpareCursor = NULL;
    mutex_unlock(&pDb->mutex);
  }else{
    pCsr = NULL;
  }
  if( pCsr ){
    rc = lsm_cursor_refresh(pCsr, pRead);
    if( rc != LSM_OK ){
      db_cursor_free(pCsr);
      return rc;
    }
    atomic_fetch_add_explicit(&pDb->nCursor, 1, memory_order_relaxed);
    *ppCsr = pCsr;
    return LSM_OK;
  }
  pCsr = env_malloc(pDb->pEnv, sizeof(lsm_cursor));
  if( pCsr == NULL ) return LSM_NOMEM;
  memset(pCsr, 0, sizeof(*pCsr));
  pCsr->pDb = pDb;
  pCsr->bNoFill = pRead != NULL && pRead->bNoFill;
  rc = read_setup(pDb, pRead, &pCsr->pView, &pCsr->seq, &pCsr->pBatchIndex, &maxBatchSeq);
  if( rc == LSM_OK ){
    rc = cursor_iter_new(pDb, pCsr->pView, pCsr->seq, pCsr->pBatchIndex, maxBatchSeq,
                         !pCsr->bNoFill, &pCsr->pIter);
  }
  if( rc != LSM_OK ){
    db_cursor_free(pCsr);
    return rc;
  }
  atomic_fetch_add_explicit(&pDb->nCursor, 1, memory_order_relaxed);
  *ppCsr = pCsr;
  return LSM_OK;
}

/*
** The view a new cursor would read (read_setup) is either the one this
** cursor pinned, with a later sequence number and perhaps more batch
** operations, or another.  In the first case the iterators stay: a view
** never changes but for its memtable gaining newer versions, which the
** db_iter's new limits make visible, and a batch index only gains
** operations (batch.h: truncating below what it indexed replaces it, so
** the pointer differs).  Pointers are compared while both are referenced,
** so an address cannot have been freed and reused.  In the second case,
** or if the iterators have failed, new ones are built; the old ones are
** kept until the new ones exist, so a failure leaves the cursor as it was.
*/
int lsm_cursor_refresh(lsm_cursor *p, const lsm_read *pRead){
  db_view *pView = NULL;
  memtable *pIdx = NULL;
  db_iter *pIter = NULL;
  uint64_t seq = 0, maxBatchSeq = 0;
  int bNoFill = pRead != NULL && pRead->bNoFill;
  int rc;

  if( p == NULL ) return LSM_MISUSE;
  error_clear();
  rc = read_setup(p->pDb, pRead, &pView, &seq, &pIdx, &maxBatchSeq);
  if( rc != LSM_OK ) return rc;
  if( pView == p->pView && pIdx == p->pBatchIndex && bNoFill == p->bNoFill
   && db_iter_status(p->pIter) == LSM_OK ){
    db_iter_reset(p->pIter, seq, maxBatchSeq);
    p->seq = seq;
    memtable_unref(pIdx);
    db_view_unref(pView);
    return LSM_OK;
  }
  rc = cursor_iter_new(p->pDb, pView, seq, pIdx, maxBatchSeq, !bNoFill, &pIter);
  if( rc != LSM_OK ){
    memtable_unref(pIdx);
    db_view_unref(pView);
    return rc;
  }
  db_iter_close(p->pIter);
  memtable_unref(p->pBatchIndex);
  db_view_unref(p->pView);
  p->pIter = pIter;
  p->pView = pView;
  p->pBatchIndex = pIdx;
  p->seq = seq;
  p->bNoFill = bNoFill;
  return LSM_OK;
}

int lsm_cursor_bounds(lsm_cursor *p, const void *pLower, size_t nLower, int bLowerOpen,
                      const void *pUpper, size_t nUpper, int bUpperOpen){
  if( p == NULL ) return LSM_MISUSE;
  return db_iter_bounds(p->pIter, pLower, nLower, bLowerOpen, pUpper, nUpper, bUpperOpen);
}

/* Seeks count toward read amplification: every sorted run is positioned. */
static void count_seek(lsm_cursor *p){
  stat_add(&p->pDb->stats.nSeeks, 1);
  stat_add(&p->pDb->stats.nSeekProbes, (uint64_t)version_iter_count(p->pView->pVersion));
}

int lsm_cursor_first(lsm_cursor *p){
  if( p == NULL ) return LSM_MISUSE;
  count_seek(p);
  return db_iter_first(p->pIter);
}
int lsm_cursor_last(lsm_cursor *p){
  if( p == NULL ) return LSM_MISUSE;
  count_seek(p);
  return db_iter_last(p->pIter);
}
int lsm_cursor_seek(lsm_cursor *p, const void *pKey, size_t nKey, int eSeek){
  if( p == NULL ) return LSM_MISUSE;
  count_seek(p);
  return eSeek == LSM_SEEK_LE ? db_iter_seek_le(p->pIter, pKey, nKey)
                              : db_iter_seek_ge(p->pIter, pKey, nKey);
}
int lsm_cursor_next(lsm_cursor *p){
  if( p == NULL || !db_iter_valid(p->pIter) ) return LSM_MISUSE;
  return db_iter_next(p->pIter);
}
int lsm_cursor_prev(lsm_cursor *p){
  if( p == NULL || !db_iter_valid(p->pIter) ) return LSM_MISUSE;
  return db_iter_prev(p->pIter);
}
int lsm_cursor_valid(lsm_cursor *p){
  return p && db_iter_valid(p->pIter);
}
int lsm_cursor_key(lsm_cursor *p, const void **ppKey, size_t *pnKey){
  if( p == NULL || !db_iter_valid(p->pIter) ) return LSM_MISUSE;
  *ppKey = db_iter_key(p->pIter, pnKey);
  return LSM_OK;
}
int lsm_cursor_value(lsm_cursor *p, const void **ppVal, size_t *pnVal){
  if( p == NULL || !db_iter_valid(p->pIter) ) return LSM_MISUSE;
  *ppVal = db_iter_value(p->pIter, pnVal);
  return LSM_OK;
}

void db_cursor_free(lsm_cursor *p){
  if( p == NULL ) return;
  db_iter_close(p->pIter);
  memtable_unref(p->pBatchIndex);
  db_view_unref(p->pView);
  env_free(p->pDb->pEnv, p);
}

/* Kept as the spare (see lsm_cursor_open) if it reads the current view
** without a batch, fills the block cache and has not failed; else freed.  A kept cursor is
** parked first (db_iter_park): a closed cursor must not hold a pinned
** block (the cache could not evict it, and a block of one huge value is
** as large as the value) or a long key or value copy. */
void lsm_cursor_close(lsm_cursor *p){
  lsm_db *pDb;
  if( p == NULL ) return;
  pDb = p->pDb;
  atomic_fetch_sub_explicit(&pDb->nCursor, 1, memory_order_relaxed);
  if( p->pBatchIndex == NULL && !p->bNoFill && db_iter_status(p->pIter) == LSM_OK ){
    int bKept = 0;
    db_iter_park(p->pIter);
    mutex_lock(&pDb->mutex);
    if( pDb->pSpareCursor == NULL && p->pView == pDb->pView ){
      pDb->pSpareCursor = p;
      bKept = 1;
    }
    mutex_unlock(&pDb->mutex);
    if( bKept ) return;
  }
  db_cursor_free(p);
}
