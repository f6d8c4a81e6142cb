/*
** db_write.c — the store's write path: group commit (db_write), making
** room in the memtable (switching memtables and WALs, slowing and
** stopping writers while level 0 backs up), lsm_put/lsm_delete/lsm_write
** and lsm_flush.  How a group is committed: see db_impl.h.
*/
#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db_impl.h"
#include "env.h"
#include "error.h"
#include "filename.h"
#include "ikey.h"

/* Put pPrep at the end of the store's list of waiting prepared batches
** (its id is the largest yet).  REQUIRES db->mutex. */
static void prepared_list_add(lsm_db *pDb, lsm_prepared *pPrep){
  lsm_prepared **pp = &pDb->pPreparedHead;
  mutex_assert_held(&pDb->mutex);
  while( *pp ) pp = &(*pp)->pNext;
  pPrep->pNext = NULL;
  pPrep->bListed = 1;
  *pp = pPrep;
  if( pPrep->iId > pDb->iLastListed ) pDb->iLastListed = pPrep->iId;
}

/* Take pPrep off that list, if it is on it.  REQUIRES db->mutex. */
static void prepared_list_remove(lsm_db *pDb, lsm_prepared *pPrep){
  lsm_prepared **pp;
  mutex_assert_held(&pDb->mutex);
  if( !pPrep->bListed ) return;
  for(pp = &pDb->pPreparedHead; *pp != pPrep; pp = &(*pp)->pNext){}
  *pp = pPrep->pNext;
  pPrep->pNext = NULL;
  pPrep->bListed = 0;
}

/*
** Log the waiting prepared batches again at the start of the new log
** pNewWal (number iNewWal), in id order, and hand them to the OS (synced
** with sync=full) before the old log can be retired: recovery resolves
** the prepared batches of the newest log only.  If that fails, they stay
** in the old log, and their commits log the whole batch instead (the
** new log's writer drops what it did not write, or is poisoned, which
** the next write handles like any failed write).  REQUIRES db->mutex,
** leader.
*/
static void prepared_relog(lsm_db *pDb, wal_writer *pNewWal, uint64_t iNewWal){
  lsm_prepared *p;
  int rc = LSM_OK;
  mutex_assert_held(&pDb->mutex);
  if( pDb->pPreparedHead == NULL ) return;
  for(p = pDb->pPreparedHead; rc == LSM_OK && p; p = p->pNext){
    rc = wal_writer_add_prepared(pNewWal, p->iId, p->pCopy->aRep, p->pCopy->nRep);
  }
  if( rc == LSM_OK ) rc = wal_writer_commit(pNewWal);
  if( rc == LSM_OK && pDb->opt.sync == LSM_SYNC_OFF ) rc = wal_writer_write(pNewWal);
  if( rc == LSM_OK ){
    for(p = pDb->pPreparedHead; p; p = p->pNext) p->iWal = iNewWal;
  }
}

int db_memtable_new(lsm_db *pDb, memtable **ppMem){
  size_t nFilter = 0;
  if( pDb->opt.bloom_bits > 0 ) nFilter = (size_t)(pDb->opt.memtable_bytes / DB_MEMTABLE_FILTER_FRACTION);
  if( nFilter > DB_MEMTABLE_FILTER_MAX_BYTES ) nFilter = DB_MEMTABLE_FILTER_MAX_BYTES;
  return memtable_new_pooled(pDb->pEnv, nFilter, &pDb->memtablePool, ppMem);
}

/* db_impl.h.  REQUIRES db->mutex, leader, nImm < DB_MAX_IMM. */
int db_switch_memtable(lsm_db *pDb){
  memtable *pNew = NULL;
  wal_writer *pNewWal = NULL;
  uint64_t iNewWal = 0, iUnwritten = UINT64_MAX;   /* the old log's, below */
  char *zPath = NULL;
  int rc = db_memtable_new(pDb, &pNew);
  mutex_assert_held(&pDb->mutex);
  if( rc == LSM_OK && !pDb->bNoWal ){
    wal_header hdr;
    /* The new log's header says where the old one's records that count
    ** end.  Its committed records are handed to the OS first (sync=off
    ** buffers them), and synced if its pages may reach the disk out of
    ** order (sync=normal through a mapping: only the newest log may lose
    ** pages to a power cut); those a failed write or sync left out, and
    ** those of a group that failed, do not count, and the old log may end
    ** in a torn record (see wal.h). */
    if( pDb->pWal ) (void)wal_writer_finish(pDb->pWal);
    if( pDb->pWal ) iUnwritten = wal_writer_unwritten_seq(pDb->pWal);
    memset(&hdr, 0, sizeof(hdr));
    iNewWal = pDb->iNextFile++;
    hdr.iNumber = iNewWal;
    hdr.iPrevLog = pDb->iWalNumber;
    hdr.iPrevNextSeq = pDb->bWalBroken ? pDb->seqWalBroken : pDb->lastSeq + 1;
    if( iUnwritten < hdr.iPrevNextSeq ) hdr.iPrevNextSeq = iUnwritten;
    hdr.bPrevTorn = pDb->bWalBroken || iUnwritten != UINT64_MAX;
    hdr.iFirstSeq = pDb->lastSeq + 1;
    zPath = filename_path(pDb->pEnv, pDb->zDir, FILENAME_WAL, iNewWal, &rc);
    if( rc == LSM_OK ) rc = wal_writer_open(pDb->pEnv, zPath, pDb->opt.sync, pDb->opt.use_mmap,
                                           &hdr, &pNewWal);
    /* With sync=full the new log's name must survive a power cut before
    ** the next manifest write: acknowledged commits live in it.  The other
    ** modes promise nothing across a power cut, and a killed process
    ** loses no directory entry. */
    if( rc == LSM_OK && pDb->opt.sync == LSM_SYNC_FULL ){
      rc = pDb->pEnv->xSyncDir(pDb->pEnv, pDb->zDir);
    }
  }
  if( rc == LSM_OK ){
    db_view *pView = pDb->pView;
    memtable *apImm[DB_MAX_IMM];
    int i;
    apImm[0] = pView->pMem;
    for(i = 0; i < pView->nImm; i++) apImm[i + 1] = pView->apImm[i];
    rc = db_view_install(pDb, pNew, apImm, pView->nImm + 1, pView->pVersion);
  }
  if( rc != LSM_OK ){
    /* The store goes on with the old log: the new one must not stay with
    ** a header that says the old one ended here (recovery would call
    ** the old log's later records corruption).  Its header is still in
    ** the buffer; if the unlink fails, an empty file is left, which
    ** recovery passes over. */
    memtable_unref(pNew);
    if( pNewWal ){
      wal_writer_discard(pNewWal);
      pDb->pEnv->xUnlink(pDb->pEnv, zPath);
    }
    env_free(pDb->pEnv, zPath);
    return rc;
  }
  env_free(pDb->pEnv, zPath);
  memtable_unref(pNew);     /* the view holds it */
  memmove(&pDb->aiImmWal[1], &pDb->aiImmWal[0], sizeof(uint64_t) * (DB_MAX_IMM - 1));
  pDb->aiImmWal[0] = pDb->iWalNumber;
  memmove(&pDb->aiImmLastSeq[1], &pDb->aiImmLastSeq[0], sizeof(uint64_t) * (DB_MAX_IMM - 1));
  pDb->aiImmLastSeq[0] = pDb->lastSeq;
  /* The old log's acknowledged records from iUnwritten on no longer count
  ** (its finishing sync failed: the new log says PREV_TORN), so they live
  ** only in the memtable just frozen: as commits applied without a log
  ** record, lsm_close flushes until they are in a table.  Without this a
  ** close that came before the flush thread reached that memtable lost
  ** them: the thread stops at shutdown with memtables pending, which the
  ** logs cover, but recovery skips these (test_wal_chain.c: transactions
  ** 1-31 lost in 88 of 600 runs beside a busy loop). */
  if( iUnwritten <= pDb->lastSeq && pDb->lastSeq > pDb->seqUnlogged ) pDb->seqUnlogged = pDb->lastSeq;
  if( pNewWal ){
    wal_writer *pOldWal = pDb->pWal;
    pDb->pWal = pNewWal;
    pDb->iWalNumber = iNewWal;
    pDb->nWalSize = 0;
    pDb->nPrepareInLog = 0;
    prepared_relog(pDb, pNewWal, iNewWal);
    /* The old WAL must reach the OS before its memtable is flushed (its
    ** buffer may hold commits made with sync=off).  Closed last, when the
    ** switch can no longer fail: the store always has a log.  If the
    ** close fails, those commits live on in the memtable being flushed. */
    if( pOldWal ) rc = wal_writer_close(pOldWal);
  }
  return rc;
}

/* background=off: flush and compact in the writer's thread, without
** db->mutex.  A failure goes back to this writer, not to the next one
** (db_do_work records it in rcBackground: cleared here).  REQUIRES
** db->mutex (released and retaken). */
static int work_in_writer(lsm_db *pDb){
  int rc;
  mutex_assert_held(&pDb->mutex);
  mutex_unlock(&pDb->mutex);
  rc = db_do_work(pDb);
  mutex_lock(&pDb->mutex);
  if( rc != LSM_OK ) pDb->rcBackground = LSM_OK;
  return rc;
}

/* make_room_for_write for a hosted store: writes never flush (the host
** runs the work inside its own transaction: lsm_work); a forced flush
** flushes every immutable memtable (one switched out by lsm_flush_ahead
** first: its flush waits for the thread preparing it), then switches the
** memtable and flushes it, in the caller's thread.  REQUIRES db->mutex
** (released and retaken). */
static int make_room_hosted(lsm_db *pDb, int bForce){
  int rc = LSM_OK;
  mutex_assert_held(&pDb->mutex);
  if( !bForce ) return LSM_OK;
  while( rc == LSM_OK ){
    if( pDb->pView->nImm == 0 ){
      if( memtable_entries(pDb->pView->pMem) == 0 ) break;
      rc = db_switch_memtable(pDb);
      if( rc != LSM_OK ) break;
    }
    mutex_unlock(&pDb->mutex);
    rc = db_flush_imm(pDb);
    mutex_lock(&pDb->mutex);
  }
  return rc;
}

/*
** The slowdown slices (DB_SLOWDOWN_MICROS each) a write of nBytes owes
** while the store is slowed: one per DB_SLOWDOWN_BYTES or part, and one
** for a write that adds nothing to the memtable (a flush request, a
** prepared batch), as every write slept once before slices.
*/
static uint64_t db_slowdown_slices(uint64_t nBytes){
  if( nBytes == 0 ) return 1;
  return (nBytes + DB_SLOWDOWN_BYTES - 1) / DB_SLOWDOWN_BYTES;
}

/*
** Make sure the active memtable has room, switching and flushing as
** needed; with bForce, switch even if it has room (lsm_flush).  Stalls
** (slowdown, then stop) when level 0 backs up: nBytes, what the write
** adds to the memtable, sets how long a slowdown may hold it
** (db_slowdown_slices), slice by slice while the slowdown lasts.
** REQUIRES db->mutex and the caller is the leader; may release and
** retake the mutex.
*/
static int make_room_for_write(lsm_db *pDb, int bForce, uint64_t nBytes){
  uint64_t nSlicesOwed = db_slowdown_slices(nBytes);
  /* background=off flushes at once: never more than one memtable waits. */
  int nMaxImm = pDb->opt.background ? DB_MAX_IMM : 1;
  mutex_assert_held(&pDb->mutex);
  /* A failed WAL write may have left part of a record in the log: the
  ** log takes no more records, and the memtable (which does not hold the
  ** failed batch) is flushed so that the log becomes obsolete. */
  if( pDb->bWalBroken ) bForce = 1;
  if( pDb->opt.hosted ) return make_room_hosted(pDb, bForce);
  for(;;){
    db_view *pView = pDb->pView;
    int eStall = compaction_write_stall(pView->pVersion, &pDb->opt);
    if( pDb->rcBackground ){
      /* Retry the failed job once: space may be back. */
      int rc = db_background_error(pDb);
      pDb->rcBackground = LSM_OK;
      if( pDb->opt.background ){
        db_schedule_flush(pDb);
        db_schedule_work(pDb);
        return rc;
      }
      rc = work_in_writer(pDb);
      if( rc != LSM_OK ) return rc;
      continue;
    }
    if( pDb->opt.background && nSlicesOwed > 0 && eStall == COMPACTION_STALL_SLOWDOWN ){
      uint64_t t0 = now_micros();
      mutex_unlock(&pDb->mutex);
      usleep(DB_SLOWDOWN_MICROS);
      mutex_lock(&pDb->mutex);
      stat_add(&pDb->stats.nStalls, 1);
      stat_add(&pDb->stats.nStallMicros, now_micros() - t0);
      nSlicesOwed--;
      continue;
    }
    if( !bForce && memtable_bytes(pView->pMem) < pDb->opt.memtable_bytes ) return LSM_OK;
    if( bForce && memtable_entries(pView->pMem) == 0 && pView->nImm == 0
     && !pDb->bWalBroken ) return LSM_OK;
    if( pView->nImm >= nMaxImm || eStall == COMPACTION_STALL_STOP ){
      if( pDb->opt.background ){
        uint64_t t0 = now_micros();
        if( pView->nImm ) db_schedule_flush(pDb);
        else db_schedule_work(pDb);
        mutex_cond_wait(&pDb->cond, &pDb->mutex);
        stat_add(&pDb->stats.nStalls, 1);
        stat_add(&pDb->stats.nStallMicros, now_micros() - t0);
      }else{
        int rc = work_in_writer(pDb);
        if( rc != LSM_OK ) return rc;
      }
      continue;
    }
    if( bForce && memtable_entries(pView->pMem) == 0 && !pDb->bWalBroken ) return LSM_OK;
    {
      int rc = db_switch_memtable(pDb);
      if( rc != LSM_OK ) return rc;
    }
    pDb->bWalBroken = 0;
    bForce = 0;
    if( pDb->opt.background ){
      db_schedule_flush(pDb);
    }else{
      int rc = work_in_writer(pDb);
      if( rc != LSM_OK ) return rc;
    }
  }
}

/*
** Log one writer's batch in the group at sequence number s (unused by a
** prepared batch).  iWal: the number of the log being written.  The
** leader calls it without db->mutex.
*/
static int log_writer(lsm_db *pDb, db_writer *p, uint64_t s, uint64_t iWal){
  lsm_batch *pBatch = p->pBatch;
  switch( p->eKind ){
    case DB_WRITE_PREPARE:
      p->pPrep->iId = (iWal << 32) + ++pDb->nPrepareInLog;
      p->pPrep->iWal = iWal;
      return wal_writer_add_prepared(pDb->pWal, p->pPrep->iId, pBatch->aRep, pBatch->nRep);
    case DB_WRITE_COMMIT:
      if( p->pPrep->iId && p->pPrep->iWal == iWal ){
        return wal_writer_add_commit(pDb->pWal, s, p->pPrep->iId);
      }
      return wal_writer_add(pDb->pWal, s, pBatch->aRep, pBatch->nRep);
    default:
      return wal_writer_add(pDb->pWal, s, pBatch->aRep, pBatch->nRep);
  }
}

/*
** The attributes of every writer's condition: the monotonic clock, for
** wait_for_rejoin's deadline (a clock set back must not stretch it),
** whatever the sync mode now (lsm_raise_sync may make it FULL before the
** writer leads).  Made once per process rather than per write: a put
** would otherwise initialise and destroy them each time.
*/
static pthread_once_t writer_cond_once = PTHREAD_ONCE_INIT;
static pthread_condattr_t writer_cond_attr_value;
static void writer_cond_attr_init(void){
  pthread_condattr_init(&writer_cond_attr_value);
  pthread_condattr_setclock(&writer_cond_attr_value, CLOCK_MONOTONIC);
}
static const pthread_condattr_t *writer_cond_attr(void){
  pthread_once(&writer_cond_once, writer_cond_attr_init);
  return &writer_cond_attr_value;
}

/*
** A queued writer sleeps until its one wake-up (writer_wake): it is then
** done (bDone, with rc set) or the head of the queue.  The post (or the
** release store of bWoken) is a memory barrier, so it reads bDone and rc
** without db->mutex.  A signal handler may interrupt sem_wait (EINTR):
** the post is still to come, so wait again.  sem_wait's only other
** failure, EINVAL, says semWake is not a semaphore (memory overwritten):
** the writer can neither wait for its post nor return (the leader will
** still post to its queue entry, on this stack), so it stops the process.
** A writer whose sem_init failed (bNoSem) polls bWoken instead, yielding
** the CPU between looks.
*/
static void writer_sleep(db_writer *pW){
  if( pW->bNoSem ){
    while( !atomic_load_explicit(&pW->bWoken, memory_order_acquire) ){
      sched_yield();
    }
    return;
  }
  while( sem_wait(&pW->semWake) != 0 ){
    if( errno != EINTR ){
      assert( 0 );
      abort();
    }
  }
}

/*
** Let the queued writer pW go: done, or the head.  Called once per
** queued writer, without db->mutex.  pW may return and its queue entry
** (on its stack) vanish as soon as the post has added the token (or
** bWoken is set), so nothing here touches pW after that.  Linux's glibc
** (since 2.21, glibc bug 12674) and musl post without touching the
** semaphore after adding the token, which POSIX's rule that a semaphore
** no thread is blocked on may be destroyed asks for; other C libraries
** may not (FreeBSD's sem_post, for one, may still touch the semaphore in
** the kernel after the increment), so a port there needs a wake-up that
** does not outlive its token.
*/
static void writer_wake(db_writer *pW){
  if( pW->bNoSem ){
    atomic_store_explicit(&pW->bWoken, 1, memory_order_release);
  }else{
    sem_post(&pW->semWake);
  }
}

/* db->nRejoin: read anywhere, written only under db->mutex (so a plain
** store, not a locked read-modify-write, is enough). */
static int rejoin_left(lsm_db *pDb){
  return atomic_load_explicit(&pDb->nRejoin, memory_order_relaxed);
}
static void rejoin_set(lsm_db *pDb, int n){
  mutex_assert_held(&pDb->mutex);
  atomic_store_explicit(&pDb->nRejoin, n, memory_order_relaxed);
}

/*
** sync=full: before taking its group, the leader lets the writers the
** previous group released queue again (db_impl.h, the write path), for
** at most 1/DB_REJOIN_FRACTION of the last commit's time.  It first
** spins for up to DB_REJOIN_SPIN_MICROS of that, without db->mutex,
** yielding the CPU at each turn (the released writers need it: two
** CPUs, four writers), and only then sleeps on pW's condition, which
** the last arriving writer signals (initialised here if it is not yet:
** *pbCond).  Asleep, the leader cost each group a futex wake-up in the
** last writer and a sleep and wake-up of its own: with the syncs of a
** sync=full log replaced by a 100 us sleep, 4 writers, the time of a
** group outside its sync fell from a median 49 to 31 us with the spin
** (README, "Engine writes: the sync=full leader spins").
** REQUIRES db->mutex (released and retaken), leader.
*/
static void wait_for_rejoin(lsm_db *pDb, db_writer *pW, int *pbCond){
  uint64_t nWait = pDb->nCommitMicros / DB_REJOIN_FRACTION;
  uint64_t nSpin, tStart;
  struct timespec deadline;
  mutex_assert_held(&pDb->mutex);
  if( rejoin_left(pDb) <= 0 || nWait == 0 ){
    rejoin_set(pDb, 0);
    return;
  }
  if( nWait > DB_REJOIN_MAX_MICROS ) nWait = DB_REJOIN_MAX_MICROS;
  nSpin = nWait < DB_REJOIN_SPIN_MICROS ? nWait : DB_REJOIN_SPIN_MICROS;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  tStart = now_micros();
  deadline.tv_nsec += (long)(nWait * 1000u);
  deadline.tv_sec += deadline.tv_nsec / 1000000000L;
  deadline.tv_nsec %= 1000000000L;
  /* No pRejoinWaiter while spinning: the last writer to arrive then
  ** signals nobody.  What the loop reads may be stale; the count is
  ** read again under the mutex below. */
  mutex_unlock(&pDb->mutex);
  while( rejoin_left(pDb) > 0 && now_micros() - tStart < nSpin ) sched_yield();
  mutex_lock(&pDb->mutex);
  if( rejoin_left(pDb) > 0 && nWait > nSpin ){
    if( !*pbCond ){
      pthread_cond_init(&pW->cond, writer_cond_attr());
      *pbCond = 1;
    }
    pDb->pRejoinWaiter = pW;
    while( rejoin_left(pDb) > 0 ){
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      if( now.tv_sec > deadline.tv_sec
       || (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec) ) break;
      mutex_cond_timedwait(&pW->cond, &pDb->mutex, &deadline);
    }
    pDb->pRejoinWaiter = NULL;
  }
  rejoin_set(pDb, 0);
}

/*
** Queue pBatch (NULL: a flush request) and wait until a leader commits
** it, or lead.  See the file header.  iFirstSeq: 0, or the sequence
** number a hosted store's host logged the batch at (lsm_write_at); such a
** batch is committed alone.  eKind and pPrep: what to do with the batch
** (DB_WRITE_*, db_impl.h).
**
** A commit (DB_WRITE_COMMIT) is applied even when its group fails before
** or in the log: the host has committed already.  Its sequence numbers
** then lie where the next log's header says the old log's records stop
** counting (the store marks the log broken), and the flush that a broken
** log forces makes the batch durable.
*/
static int db_write(lsm_db *pDb, lsm_batch *pBatch, uint64_t iFirstSeq, int eKind,
                    lsm_prepared *pPrep){
  db_writer w;
  db_writer *pLast, *p;
  memtable *pMem;
  uint64_t seq, seqFirst, seqEnd, nGroupBytes = 0, iWal, nCommitMicros = 0;
  db_writer *pNextHead;
  int nGroup = 0, bSyncFull, bCond = 0, bQueued = 0;
  int rc, bLogFailed = 0, bApplyFailed = 0, bUnlogged = 0, bFatal;

  rc = db_check_process(pDb);
  if( rc != LSM_OK ) return rc;
  /* A hosted store replays its host's log even when read-only. */
  if( pDb->opt.readonly && !iFirstSeq ){
    return LSM_ERROR_MSG(LSM_READONLY, "the store %s was opened read-only", pDb->zDir);
  }
  memset(&w, 0, sizeof(w));
  w.pBatch = pBatch;
  w.eKind = eKind;
  w.pPrep = pPrep;

  mutex_lock(&pDb->mutex);
  if( pDb->pWriterTail ){
    /* A writer behind another waits on its semaphore, posted once (as a
    ** follower that is done, or as the next leader: writer_wake).  A
    ** writer that finds the queue empty leads at once and waits only for
    ** rejoining writers, on a condition (wait_for_rejoin): a lone writer
    ** initialises neither.  Should sem_init fail (POSIX allows ENOSPC),
    ** the writer polls a flag instead (bNoSem, writer_sleep). */
    if( sem_init(&w.semWake, 0, 0) != 0 ){
      w.bNoSem = 1;
      atomic_init(&w.bWoken, 0);
    }
    bQueued = 1;
    pDb->pWriterTail->pNext = &w;
  }else{
    pDb->pWriterHead = &w;
  }
  pDb->pWriterTail = &w;
  if( rejoin_left(pDb) > 0 ){
    /* Wake the waiting leader once, when the last writer it waits for
    ** is here: a wake-up per arrival costs it (and the arriving writers,
    ** on two CPUs) a context switch each for nothing.  A leader still
    ** spinning (no pRejoinWaiter) sees the count fall by itself. */
    int nLeft = rejoin_left(pDb) - 1;
    rejoin_set(pDb, nLeft);
    if( nLeft == 0 && pDb->pRejoinWaiter ) pthread_cond_signal(&pDb->pRejoinWaiter->cond);
  }
  if( bQueued ){
    mutex_unlock(&pDb->mutex);
    writer_sleep(&w);
    /* Posted exactly once, so done with the semaphore whether the writer
    ** is done or leads now. */
    if( !w.bNoSem ) sem_destroy(&w.semWake);
    if( w.bDone ) return w.rc;
    mutex_lock(&pDb->mutex);
    assert( pDb->pWriterHead == &w );
  }

  /* Leader. */
  bSyncFull = pBatch && !iFirstSeq && pDb->opt.sync == LSM_SYNC_FULL;
  if( bSyncFull ) wait_for_rejoin(pDb, &w, &bCond);
  bFatal = pDb->rcFatal != LSM_OK;
  rc = bFatal ? pDb->rcFatal
     : make_room_for_write(pDb, pBatch == NULL,
                           pBatch && eKind != DB_WRITE_PREPARE ? pBatch->nRep : 0);
  if( pDb->pWal ) wal_writer_set_sync(pDb->pWal, pDb->opt.sync);   /* lsm_raise_sync */
  pLast = &w;
  seq = seqFirst = pDb->lastSeq + 1;
  if( rc == LSM_OK && iFirstSeq && iFirstSeq != seq ){
    rc = LSM_CORRUPT_BKPT("the log's batch at sequence %llu does not follow"
                       " the store's last sequence %llu", (unsigned long long)iFirstSeq,
                       (unsigned long long)(seq - 1));
  }
  if( rc == LSM_OK && pBatch && !iFirstSeq ){
    /* Take the batches queued behind us, up to a limit, stopping at a
    ** flush request. */
    nGroupBytes = pBatch->nRep;
    for(p = w.pNext; p && p->pBatch && nGroupBytes + p->pBatch->nRep <= DB_GROUP_MAX_BYTES; p = p->pNext){
      nGroupBytes += p->pBatch->nRep;
      pLast = p;
    }
  }
  iWal = pDb->iWalNumber;

  pMem = pDb->pView->pMem;
  memtable_ref(pMem);
  mutex_unlock(&pDb->mutex);

  /* Sequence numbers for every batch and commit of the group, whether or
  ** not it gets logged: seqFirst .. seqEnd. */
  seqEnd = seq - 1;
  if( pBatch ){
    for(p = &w; ; p = p->pNext){
      if( p->eKind != DB_WRITE_PREPARE ) seqEnd += p->pBatch->nOp;
      if( p == pLast ) break;
    }
  }

  if( rc == LSM_OK && pBatch ){
    uint64_t s = seq, nUser = 0;
    uint64_t nWalBefore = pDb->pWal ? wal_writer_bytes(pDb->pWal) : 0;
    for(p = &w; rc == LSM_OK; p = p->pNext){
      if( p->pBatch->nOp ){
        if( pDb->pWal ) rc = log_writer(pDb, p, s, iWal);
        if( p->eKind != DB_WRITE_PREPARE ){
          s += p->pBatch->nOp;
          nUser += p->pBatch->nUserBytes;
        }
      }
      if( p == pLast ) break;
    }
    if( rc == LSM_OK && pDb->pWal ){
      uint64_t t0 = bSyncFull ? now_micros() : 0;
      rc = wal_writer_commit(pDb->pWal);
      if( bSyncFull ) nCommitMicros = now_micros() - t0 + 1;
    }
    bLogFailed = rc != LSM_OK;
    if( rc == LSM_OK ){
      if( pDb->pWal ) stat_add(&pDb->stats.nWalBytes, wal_writer_bytes(pDb->pWal) - nWalBefore);
      /* A hosted store's host logged the batch: its bytes are the log's. */
      if( pDb->opt.hosted ) stat_add(&pDb->stats.nWalBytes, pBatch->nRep);
      stat_add(&pDb->stats.nUserBytes, nUser);
    }
  }

  /* Apply: every batch and commit if the group was logged, else only the
  ** commits (unless the memtable is known to be half-written).  The first
  ** batch that fails to go in stops the rest. */
  if( pBatch ){
    uint64_t s = seq;
    int rcApply = LSM_OK;
    for(p = &w; ; p = p->pNext){
      if( p->eKind != DB_WRITE_PREPARE ){
        if( p->pBatch->nOp && rcApply == LSM_OK
         && (rc == LSM_OK || (p->eKind == DB_WRITE_COMMIT && !bFatal)) ){
          rcApply = batch_apply_batch(p->pBatch, s, pMem);
          if( rcApply == LSM_OK && rc != LSM_OK ) bUnlogged = 1;
        }
        s += p->pBatch->nOp;
      }
      if( p == pLast ) break;
    }
    bApplyFailed = rcApply != LSM_OK;
    for(p = &w; ; p = p->pNext){
      if( bApplyFailed ) p->rc = rcApply;
      else if( p->eKind == DB_WRITE_COMMIT && !bFatal ) p->rc = LSM_OK;
      else p->rc = rc;
      if( p == pLast ) break;
    }
    if( bApplyFailed ) rc = rcApply;
  }else{
    w.rc = rc;
  }

  memtable_unref(pMem);
  mutex_lock(&pDb->mutex);
  /* Publish the group (never half of a batch: see rcFatal below). */
  if( pBatch && !bApplyFailed && (rc == LSM_OK || bLogFailed || bUnlogged)
   && seqEnd > pDb->lastSeq ){
    pDb->lastSeq = seqEnd;
  }
  /* A group that failed in the log may still be in it (a failed sync),
  ** and commits applied without a record are in no log.  The next log's
  ** header says where the records that count end, so recovery skips the
  ** former (wal.h); their numbers are never handed out again.  The switch
  ** to that log flushes the memtable, which makes the latter durable. */
  if( (bLogFailed || bUnlogged) && pDb->pWal && !pDb->bWalBroken ){
    pDb->bWalBroken = 1;
    pDb->seqWalBroken = seqFirst;
  }
  if( bUnlogged && !pDb->bNoWal && seqEnd > pDb->seqUnlogged ) pDb->seqUnlogged = seqEnd;
  /* Prepared batches wait on the list from the group that logged them to
  ** the group that logs (or applies) their commit, so that a memtable
  ** switch in between logs them again (db_switch_memtable). */
  if( pBatch ){
    for(p = &w; ; p = p->pNext){
      if( p->eKind == DB_WRITE_PREPARE && p->rc == LSM_OK && p->pPrep->iId ){
        prepared_list_add(pDb, p->pPrep);
      }else if( p->eKind == DB_WRITE_COMMIT ){
        prepared_list_remove(pDb, p->pPrep);
      }
      if( p == pLast ) break;
    }
  }
  /* Out of memory half-way through inserting a logged group: part of it
  ** would become visible.  Refuse writes until a reopen replays it. */
  if( bApplyFailed && !pDb->rcFatal ){
    pDb->rcFatal = rc;
    error_raise(rc, __LINE__, "a commit failed half-way into the memtable;"
                " close and reopen the store to recover it from the log");
  }
  if( pDb->pWal ) pDb->nWalSize = wal_writer_bytes(pDb->pWal);
  for(;;){
    p = pDb->pWriterHead;
    pDb->pWriterHead = p->pNext;
    if( pDb->pWriterHead == NULL ) pDb->pWriterTail = NULL;
    if( p != &w ) p->bDone = 1;
    nGroup++;
    if( p == pLast ) break;
  }
  if( bSyncFull && nCommitMicros ){
    /* Every writer of the group, this one too, may write again at once. */
    rejoin_set(pDb, nGroup);
    pDb->nCommitMicros = nCommitMicros;
  }
  pNextHead = pDb->pWriterHead;
  mutex_unlock(&pDb->mutex);
  /* Wake the next leader, then the followers, with db->mutex released:
  ** woken under it, each would first block on the mutex the leader
  ** holds (a second sleep and wake-up, measured at 20-30 us a group of
  ** four on this machine).  Each of them sleeps until its post, so it
  ** and its queue entry are still there; read its successor before the
  ** post lets it go. */
  if( pNextHead ) writer_wake(pNextHead);
  if( &w != pLast ){
    db_writer *pNextWriter;
    for(p = w.pNext; ; p = pNextWriter){
      int bLast = p == pLast;
      pNextWriter = p->pNext;
      writer_wake(p);
      if( bLast ) break;
    }
  }
  if( bCond ) pthread_cond_destroy(&w.cond);
  return w.rc;
}

int lsm_write_at(lsm_db *pDb, lsm_batch *pBatch, uint64_t iFirstSeq){
  if( pDb == NULL || pBatch == NULL || iFirstSeq == 0 || !pDb->opt.hosted ) return LSM_MISUSE;
  error_clear();
  if( pBatch->nOp == 0 ) return LSM_OK;
  return db_write(pDb, pBatch, iFirstSeq, DB_WRITE_BATCH, NULL);
}

int lsm_hosted_seq(lsm_db *pDb, uint64_t *piLast, uint64_t *piFlushed){
  if( pDb == NULL ) return LSM_MISUSE;
  mutex_lock(&pDb->mutex);
  if( piLast ) *piLast = pDb->lastSeq;
  if( piFlushed ) *piFlushed = pDb->flushedSeq;
  mutex_unlock(&pDb->mutex);
  return LSM_OK;
}

int lsm_write(lsm_db *pDb, lsm_batch *pBatch){
  if( pDb == NULL || pBatch == NULL ) return LSM_MISUSE;
  error_clear();
  if( pBatch->nOp == 0 ) return LSM_OK;
  return db_write(pDb, pBatch, 0, DB_WRITE_BATCH, NULL);
}

/* End pPrep: off the list, counted out, freed.  In a child of fork()
** the store is its parent's (its mutex may have been held at the fork):
** only the memory is freed. */
static void prepared_free(lsm_prepared *pPrep){
  lsm_db *pDb = pPrep->pDb;
  if( db_check_process(pDb) == LSM_OK ){
    mutex_lock(&pDb->mutex);
    prepared_list_remove(pDb, pPrep);
    pDb->nPrepared--;
    mutex_unlock(&pDb->mutex);
  }
  lsm_batch_free(pPrep->pCopy);
  env_free(pDb->pEnv, pPrep);
}

int lsm_prepare(lsm_db *pDb, lsm_batch *pBatch, lsm_prepared **ppPrep){
  lsm_prepared *pPrep;
  int rc = LSM_OK;
  if( ppPrep ) *ppPrep = NULL;
  if( pDb == NULL || pBatch == NULL || ppPrep == NULL || pDb->opt.hosted ) return LSM_MISUSE;
  error_clear();
  rc = db_check_process(pDb);
  if( rc != LSM_OK ) return rc;
  pPrep = env_malloc_rc(pDb->pEnv, sizeof(*pPrep), &rc);
  if( pPrep == NULL ) return rc;
  memset(pPrep, 0, sizeof(*pPrep));
  pPrep->pDb = pDb;
  rc = lsm_batch_new(pDb, &pPrep->pCopy);
  if( rc == LSM_OK && pBatch->nOp ){
    rc = lsm_batch_load(pPrep->pCopy, pBatch->aRep, pBatch->nRep);
  }
  mutex_lock(&pDb->mutex);
  pDb->nPrepared++;
  mutex_unlock(&pDb->mutex);
  if( rc == LSM_OK && pBatch->nOp ) rc = db_write(pDb, pPrep->pCopy, 0, DB_WRITE_PREPARE, pPrep);
  if( rc != LSM_OK ){
    prepared_free(pPrep);
    return rc;
  }
  *ppPrep = pPrep;
  return LSM_OK;
}

uint64_t lsm_prepared_id(const lsm_prepared *pPrep){
  return pPrep ? pPrep->iId : 0;
}

/* Every id below the oldest batch still waiting is resolved: committed
** with a commit record (written per the sync mode before it left the
** list) or aborted.  With none waiting, every id given so far is. */
uint64_t lsm_prepared_floor(lsm_db *pDb){
  uint64_t iFloor;
  if( pDb == NULL ) return 0;
  mutex_lock(&pDb->mutex);
  if( pDb->pPreparedHead ){
    iFloor = pDb->pPreparedHead->iId;
  }else{
    iFloor = pDb->iLastListed + 1;
    if( iFloor < (pDb->iWalNumber << 32) ) iFloor = pDb->iWalNumber << 32;
  }
  mutex_unlock(&pDb->mutex);
  return iFloor;
}

int lsm_commit_prepared(lsm_prepared *pPrep){
  int rc = LSM_OK;
  if( pPrep == NULL ) return LSM_MISUSE;
  error_clear();
  if( pPrep->pCopy->nOp ){
    rc = db_write(pPrep->pDb, pPrep->pCopy, 0, DB_WRITE_COMMIT, pPrep);
  }
  prepared_free(pPrep);
  return rc;
}

void lsm_abort_prepared(lsm_prepared *pPrep){
  /* Nothing to log: recovery drops a prepared batch no commit names
  ** (and that the host does not say committed). */
  if( pPrep ) prepared_free(pPrep);
}

/* A one-operation batch on the stack: no allocation for small writes. */
static int db_write_one(lsm_db *pDb, int type, const void *pKey, size_t nKey,
                        const void *pVal, size_t nVal){
  uint8_t aBuf[512];
  lsm_batch b;
  int rc;
  if( pDb == NULL ) return LSM_MISUSE;
  error_clear();
  rc = batch_init_one(&b, pDb->pEnv, aBuf, sizeof(aBuf), type, pKey, nKey,
                      type == IKEY_VALUE ? pVal : NULL, type == IKEY_VALUE ? nVal : 0);
  if( rc == LSM_OK ) rc = db_write(pDb, &b, 0, DB_WRITE_BATCH, NULL);
  batch_clear(&b);
  return rc;
}

int lsm_put(lsm_db *pDb, const void *pKey, size_t nKey, const void *pVal, size_t nVal){
  return db_write_one(pDb, IKEY_VALUE, pKey, nKey, pVal, nVal);
}

int lsm_delete(lsm_db *pDb, const void *pKey, size_t nKey){
  return db_write_one(pDb, IKEY_DELETE, pKey, nKey, NULL, 0);
}

int lsm_batch_new(lsm_db *pDb, lsm_batch **ppBatch){
  int rc = LSM_OK;
  lsm_batch *p;
  if( pDb == NULL || ppBatch == NULL ) return LSM_MISUSE;
  p = env_malloc_rc(pDb->pEnv, sizeof(lsm_batch), &rc);
  if( p ) p->pEnv = pDb->pEnv;
  *ppBatch = p;
  return rc;
}


/* Wait until every immutable memtable is flushed.  REQUIRES db->mutex. */
static int wait_for_flush(lsm_db *pDb){
  mutex_assert_held(&pDb->mutex);
  while( pDb->pView->nImm && pDb->rcBackground == LSM_OK ){
    db_schedule_flush(pDb);
    mutex_cond_wait(&pDb->cond, &pDb->mutex);
  }
  return db_background_error(pDb);
}

int lsm_flush(lsm_db *pDb){
  int rc;
  if( pDb == NULL ) return LSM_MISUSE;
  error_clear();
  rc = db_write(pDb, NULL, 0, DB_WRITE_BATCH, NULL);
  if( rc == LSM_OK && pDb->opt.background ){
    mutex_lock(&pDb->mutex);
    rc = wait_for_flush(pDb);
    mutex_unlock(&pDb->mutex);
  }
  return rc;
}

