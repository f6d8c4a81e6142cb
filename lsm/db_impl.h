/*
** db_impl.h — the store's private table of contents: struct lsm_db, what
** a reader pins, the lock order, and the functions the store's files
** share.  Every db_*.c file and db.c include it; nothing else does.
**
** The store is one concept in seven files, each owning one part:
**   db.c          open, close, destroy, options; the current view
**   db_write.c    the write path: group commit, make-room, memtable switch,
**                 lsm_flush
**   db_read.c     gets, snapshots, cursors
**   db_work.c     flush and compaction jobs, installing their results, the
**                 two background threads, lsm_compact
**   db_slice.c    a level-0 compaction run in key-range slices over
**                 several lsm_work calls (lsm_options.l0_slice_bytes)
**   db_flush_ahead.c  a hosted store's flush built on a thread of its own,
**                 installed by the host's next flush (lsm_flush_ahead)
**   db_recover.c  recovery at open: manifest, WAL replay, leftovers
**   db_report.c   read-only reports: lsm_stats_get, lsm_files, lsm_check
** Their shared non-static functions all start with db_ (the store's
** prefix): they are one object's methods, split for size.
**
** Write path (group commit, after LevelDB): every writer queues a
** db_writer under db->mutex.  The writer at the head of the queue is the
** leader: it makes room (switching to a new memtable and WAL when the
** active one is full, stalling when level 0 backs up), takes the batches
** queued behind it, numbers them, appends one WAL record per batch,
** commits the WAL once for the group (one write, one sync), inserts the
** batches into the memtable, publishes the new last sequence number and,
** once it has released db->mutex, wakes the others: each queued writer
** sleeps on a semaphore posted exactly once (done, or the next leader),
** so it never wakes only to block on the mutex the leader still holds.
** A prepared batch (lsm_prepare) is logged in its group and takes no sequence number; its commit is a later writer of
** its own, numbered and applied in the order of the queue like any
** batch.  So nothing waits for a host's decision inside the queue.  Only the leader touches the WAL and inserts into the
** memtable, so the skiplist sees one writer at a time.
**
** With sync=full a leader first lets the writers the previous group
** released rejoin the queue (db_write.c, wait_for_rejoin).  Without it
** writers that block on each sync split into two cohorts that alternate:
** while one group syncs, the writers it will release are not queued, so
** the next leader leaves with only the others (4 threads: 2.1 puts per
** fdatasync measured; with the wait, 3.3).  The wait ends when as many
** writers have arrived as the last group released, or after
** 1/DB_REJOIN_FRACTION of the last commit's time (a writer that does not
** come back costs that much once), whichever is first.  The leader spends
** the first DB_REJOIN_SPIN_MICROS of it yielding the CPU in a loop rather
** than asleep: the writers usually come back within it, and then neither
** the leader sleeps and wakes nor the last of them makes a wake-up call.
**
** Read path: a reader pins a db_view (the active memtable, the immutable
** ones waiting to be flushed, and the current version) with one reference
** count, and reads at a sequence number: memtable, immutable memtables
** newest first, then SSTables newest to oldest.
**
** Up to DB_MAX_IMM full memtables wait for the flush thread, oldest
** flushed first; a writer waits only when all of them are still queued.
** One would do if flushes were always quick, but a flush shares the disk
** with compactions: writing and syncing a 4 MiB table took 60-70 ms at
** times, and a writer that filled the next memtable meanwhile waited
** that long (the slowest puts at 5M keys).
**
** Background work: with background=on, a flush thread turns the
** immutable memtable into a level-0 table as soon as there is one, and a
** compaction thread runs compactions; a long compaction therefore never
** delays a flush (writers wait on flushes).  With background=off the
** writer's thread does both.  A flush only adds a level-0 table and a
** compaction only removes the tables it picked, so each installs its edit
** on the current version (db_install) and the two run side by side.
**
** Locking rules (take them in this order, never the reverse):
**   1. db->workMutex: held for a whole compaction (one at a time);
**   2. db->flushMutex: held for a whole flush (one at a time);
**   3. db->installMutex: held while a new version is built from the
**      current one, its manifest written and the view installed;
**   4. db->mutex guards every field marked (M).  File I/O under it is
**      limited to what a memtable switch must do atomically with the
**      view change: writing out the old WAL's buffer (sync=off),
**      creating the new WAL (and, with sync=full, syncing the
**      directory), logging the waiting prepared batches again in it
**      (rare: only while a host holds one between its two phases) and
**      closing the old WAL.  Everything
**      else (flushes, compactions, manifests, the leader's WAL appends)
**      runs without it.
**   5. The leader writes the WAL and the memtable without db->mutex.
**   The table cache's mutex is innermost (table_cache.h).
** Functions marked "REQUIRES db->mutex" assert it (db_mutex_assert_held)
** in debug and sanitizer builds.
*/
#ifndef LSM_DB_IMPL_H
#define LSM_DB_IMPL_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "arena.h"
#include "batch.h"
#include "compaction.h"
#include "db_iter.h"
#include "lsm.h"
#include "memtable.h"
#include "mutex.h"
#include "version.h"
#include "wal.h"

#define DB_MEMORY_DIR "/memory"
#define DB_GROUP_MAX_BYTES (1u << 20)     /* batches one leader commits together */
/* A sync=full leader waits for released writers at most this fraction
** of the last commit's write and sync, and never more than
** DB_REJOIN_MAX_MICROS (see the write path above). */
#define DB_REJOIN_FRACTION 2
#define DB_REJOIN_MAX_MICROS 2000
/* ... of which the first DB_REJOIN_SPIN_MICROS at most are spent yielding
** the CPU in a loop rather than asleep on a condition (db_write.c,
** wait_for_rejoin: the wait measured 19-55 us a group on this machine). */
#define DB_REJOIN_SPIN_MICROS 50
/* A write that finds a slowdown (compaction_write_stall) sleeps
** DB_SLOWDOWN_MICROS for each DB_SLOWDOWN_BYTES (or part) of its batch,
** one slice at a time, and stops sleeping as soon as the slowdown has
** cleared: the worker gets the CPU, and a slowed store takes about
** DB_SLOWDOWN_BYTES per DB_SLOWDOWN_MICROS (1.3 MB/s) however the
** writes are grouped.  One put of the bench's 16-byte key and 100-byte
** value (a 131-byte batch) owes one slice, so its slowed put stays under
** a millisecond (the p99.9 put-latency goal); a SQL transaction of 1000
** such rows owes 512, where it slept once when the sleep was per write
** and so passed the slowdown as if it were not there (README "Compaction
** debt": level 0 at 9 to 12 tables after the SQL level's writes). */
#define DB_SLOWDOWN_MICROS 200
#define DB_SLOWDOWN_BYTES  256
#define DB_COMPACTION_NICE 10     /* the compaction thread's nice value */
#define DB_MAX_IMM 2              /* immutable memtables waiting for a flush */
/* A memtable's filter (memtable.h) takes 1/64 of memtable_bytes (64 KiB
** of 4 MiB), on top of it: at the ~150 arena bytes per entry of 16-byte
** keys and 100-byte values, 18 bits per key when full (false positives
** 0.27% by bloom.h's formula, 0.30% measured by test_memtable), and still
** 5 bits per key (12%) for entries of 40 bytes. */
#define DB_MEMTABLE_FILTER_FRACTION 64
/* ... and at most 1 MiB: the filter is allocated whole with its memtable
** (under the store mutex at a switch), so memtable_mb=65536 must not mean
** 1 GiB of filter per memtable.  Past 64 MiB memtables the bits per key
** fall (5 at 256 MiB of 150-byte entries, 12% false positives): a get
** then searches the skiplist more often, never wrongly. */
#define DB_MEMTABLE_FILTER_MAX_BYTES ((size_t)1 << 20)
/* The store's memtables share one arena pool (arena.h, "Pool") that keeps
** the blocks of a freed memtable for the next ones, up to one full
** memtable's blocks: memtable_bytes plus DB_ARENA_POOL_SLACK (a memtable
** switches once its usage reaches memtable_bytes, so it holds up to one
** block more, and every block has a 16-byte header).  So at rest a store
** holds, beside its active memtable, at most that many bytes of free
** blocks; lsm_close frees them. */
#define DB_ARENA_POOL_SLACK ((size_t)2 << 20)

/* What a reader pins.  Immutable apart from nRef. */
typedef struct db_view {
  atomic_int nRef;
  lsm_env *pEnv;           /* allocator of this struct                 */
  memtable *pMem;          /* active memtable (a reference)           */
  memtable *apImm[DB_MAX_IMM];  /* immutable memtables, newest first   */
  int nImm;                /* how many                                 */
  version *pVersion;       /* SSTables                                 */
} db_view;

/* What a queued writer asks the leader for (db_write.c). */
#define DB_WRITE_BATCH    0   /* log pBatch and apply it (lsm_write)       */
#define DB_WRITE_PREPARE  1   /* log pBatch as prepared; apply nothing     */
#define DB_WRITE_COMMIT   2   /* log a commit record for pPrep (or the whole
                              ** batch, if its prepared record is in an
                              ** older log) and apply the batch           */

/*
** A prepared batch (lsm_prepare): a copy of the caller's batch, so that
** the caller may change or free its own while the host decides.
**
** Its prepared record lies in log iWal, and a commit record may name it
** only there.  While it waits (on the list pPreparedHead, from the group
** that logged it until the group that logs its commit, or its abort), a
** memtable switch logs it again, under the same id, at the start of the
** new log: an older log may be retired by a flush while it waits, and
** recovery looks for unresolved prepared batches in the newest log only
** (db_recover.c).  Prepare ids are (log number << 32) + n, n counting
** the prepared batches logged in that log from 1, so they are unique in
** the store for good (log numbers are never reused) and increase within
** every log (a batch logged again keeps its older, smaller id).
*/
struct lsm_prepared {
  lsm_db *pDb;
  lsm_batch *pCopy;        /* owned: the batch as prepared             */
  uint64_t iId;            /* prepare id; 0: not logged (no WAL)       */
  uint64_t iWal;           /* number of the log holding its latest record */
  int bListed;             /* (M) on the store's list of waiting batches */
  lsm_prepared *pNext;     /* (M) next on that list (larger id)        */
};

typedef struct db_writer db_writer;
struct db_writer {
  lsm_batch *pBatch;       /* NULL: a flush request                   */
  int eKind;               /* DB_WRITE_*                              */
  lsm_prepared *pPrep;     /* PREPARE, COMMIT: the prepared batch     */
  int bDone;               /* set by the leader that committed it     */
  int rc;
  sem_t semWake;           /* initialised only for a writer that queued
                           ** behind another (unless sem_init failed:
                           ** bNoSem): posted exactly once, after
                           ** db->mutex is released, when the writer is
                           ** done (bDone) or has become the head; a writer
                           ** that found the queue empty and leads has none,
                           ** so never post a writer because it is the head */
  int bNoSem;              /* queued, but sem_init failed: semWake is not
                           ** a semaphore, and the wake-up sets bWoken  */
  atomic_int bWoken;       /* bNoSem: set once, with release order, by
                           ** the wake-up that semWake's post would be */
  pthread_cond_t cond;     /* initialised only for a sync=full leader while
                           ** it waits for rejoining writers (db_write.c) */
  db_writer *pNext;
};

/*
** A snapshot pins the view it was taken in.  Everything it can read lies
** in that view (later writes to the same memtable have larger sequence
** numbers; later flushes and compactions make new tables, never change
** the pinned ones), so compactions need not know about snapshots.
*/
struct lsm_snapshot {
  lsm_db *pDb;
  uint64_t seq;            /* reads see seq <= this                    */
  db_view *pView;          /* pinned                                   */
};

struct lsm_cursor {
  lsm_db *pDb;
  db_view *pView;          /* pinned view                              */
  uint64_t seq;            /* snapshot sequence number                 */
  memtable *pBatchIndex;   /* reference to the overlaid batch's index  */
  int bNoFill;             /* lsm_read.bNoFill: its blocks skip the cache */
  db_iter *pIter;
};

/* A level-0 compaction in slices in progress (db_slice.c), as the
** manifest records it (manifest.h, the nSlice* fields); nSet 0: none. */
typedef struct db_slice_state {
  int nSet;                 /* level-0 tables it merges                 */
  uint64_t *aSet;           /* their file numbers (owned)               */
  int bReached;             /* keys <= pReached are merged into level 1 */
  uint8_t *pReached;        /* (owned; NULL while !bReached)            */
  size_t nReached;
} db_slice_state;

/* A hosted store's flush being prepared on a thread (db_flush_ahead.c). */
typedef struct db_flush_ahead db_flush_ahead;

typedef struct db_counters {
  atomic_uint_fast64_t nUserBytes, nWalBytes, nFlushBytes, nCompactionWritten, nCompactionRead;
  atomic_uint_fast64_t nFlushes, nCompactions;
  atomic_uint_fast64_t nGets, nGetProbes, nSeeks, nSeekProbes;
  atomic_uint_fast64_t nBloomChecks, nBloomNegatives, nBloomFalsePositives;
  atomic_uint_fast64_t nStalls, nStallMicros;
  atomic_uint_fast64_t anLevelRead[LSM_MAX_LEVELS], anLevelWritten[LSM_MAX_LEVELS];
  atomic_uint_fast64_t anLevelFromAbove[LSM_MAX_LEVELS];
  /* Not a counter: slice.nSet, stored wherever slice changes, so that
  ** lsm_stats_get (a SQL prepare's xBestIndex calls it) need not take
  ** installMutex, held across a manifest's write and fsync. */
  atomic_uint_fast64_t nSliceTables;
} db_counters;

struct lsm_db {
  lsm_env *pEnv;            /* file system and allocator             */
  lsm_env *pOwnedEnv;       /* in-memory env owned by this db, or NULL */
  lsm_options opt;          /* opt.sync is (M): lsm_raise_sync         */
  char *zDir;               /* store directory                        */
  int bMemory;              /* in-memory store: no WAL, no manifest   */
  int bNoWal;               /* no WAL: in-memory or hosted (lsm.h)     */
  lsm_file *pLock;          /* held LOCK file                         */
  table_cache *pTableCache; /* open SSTable readers (max_open_tables)  */
  arena_pool memtablePool;  /* blocks of freed memtables for the next
                            ** (DB_ARENA_POOL_SLACK); its own mutex    */

  checked_mutex mutex;
  pthread_cond_t cond;      /* (M) state changes: flush done, work done */
  pthread_cond_t workCond;  /* (M) the worker waits here for work       */
  checked_mutex workMutex;    /* one compaction at a time             */
  checked_mutex flushMutex;   /* one flush at a time                  */
  checked_mutex installMutex; /* one version install at a time        */
  pthread_cond_t flushCond;     /* (M) the flush thread waits here      */

  db_view *pView;           /* (M) current view                       */
  uint64_t lastSeq;         /* (M) last sequence visible to readers   */
  uint64_t iNextFile;       /* (M) next file number                   */
  wal_writer *pWal;         /* leader-owned; swapped under (M)         */
  uint64_t iWalNumber;      /* (M) number of pWal's file               */
  uint64_t aiImmWal[DB_MAX_IMM]; /* (M) WAL of pView->apImm[i], or 0 (a
                            ** memtable recovered from older logs)      */
  uint64_t aiImmLastSeq[DB_MAX_IMM]; /* (M) last seq in pView->apImm[i] */
  uint64_t flushedSeq;      /* (M) every seq <= this is in an SSTable
                            ** (kept for hosted stores' manifests)      */
  db_writer *pWriterHead, *pWriterTail;  /* (M) write queue            */
  atomic_int nRejoin;       /* (M) writers the last sync=full group
                            ** released that have not queued again;
                            ** written only under db->mutex, read
                            ** without it by a leader spinning in
                            ** wait_for_rejoin                          */
  db_writer *pRejoinWaiter; /* (M) a leader waiting for them, or NULL   */
  uint64_t nCommitMicros;   /* (M) the last sync=full group's WAL write
                            ** and sync, in microseconds                */
  int nSnapshot;             /* (M) live snapshots                      */
  lsm_cursor *pSpareCursor; /* (M) the last cursor closed, kept with its
                            ** iterators for the next lsm_cursor_open
                            ** (db_read.c); only while it reads pView:
                            ** db_view_install frees it; not in nCursor */
  atomic_int nCursor;       /* open cursors: atomic, not (M), so that a
                            ** cursor's open and close take the mutex once
                            ** (the view), not three times              */
  int nPrepared;            /* (M) prepared batches not yet ended       */
  uint64_t nPrepareInLog;   /* leader-owned: prepare ids given in pWal  */
  lsm_prepared *pPreparedHead; /* (M) logged prepared batches waiting for
                            ** their commit or abort, ids increasing    */
  uint64_t iLastListed;     /* (M) the largest id ever put on that list */
  int rcBackground;         /* (M) error of the last failed job        */
  char zBackgroundMsg[256]; /* (M) its message: the job's thread's own
                            ** buffer is thread-local (error.h)        */
  int bWalBroken;           /* (M) a WAL write failed: rotate the WAL   */
  uint64_t seqWalBroken;    /* (M) with bWalBroken: first seq of the first
                            ** group that failed in pWal; its records
                            ** from there on never count (wal.h)       */
  uint64_t nWalSize;        /* (M) pWal's bytes as of the last commit  */
  uint64_t seqUnlogged;     /* (M) the largest seq of a commit applied
                            ** without a log record that counts (its log
                            ** write failed, or its log's finishing sync
                            ** did: db_write.c); durable once flushedSeq
                            ** reaches it, so lsm_close flushes until
                            ** then                                     */
  int rcFatal;              /* (M) a group is in the WAL but only partly in
                            ** the memtable: no more writes or flushes until
                            ** a reopen replays it whole                  */

  unsigned iForkGen;        /* db_fork_generation() at open: a child of
                            ** fork() must not use its parent's store   */
  pthread_t worker;         /* compaction thread                       */
  pthread_t flusher;        /* flush thread                            */
  int bWorker;              /* both threads were started               */
  int bOpened;              /* lsm_open succeeded (close may flush)    */
  int bShutdown;            /* (M) worker must exit                    */
  db_slice_state slice;     /* changed with workMutex and installMutex
                            ** both held (db_install_slice); read with
                            ** either                                  */
  int bWorkPending;         /* (M) worker should look for work         */
  db_flush_ahead *pAhead;   /* hosted: the prepared flush of the oldest
                            ** immutable memtable, or NULL; changed with
                            ** flushMutex held (db_flush_ahead.c)        */
  uint64_t nAheadMostUnpolled; /* the most key+value bytes a joined
                            ** flush-ahead thread built between two looks
                            ** at its cancel flag: what a close may wait
                            ** for (set by the host's calls; tests read it) */

  db_counters stats;
};

static inline void stat_add(atomic_uint_fast64_t *p, uint64_t n){
  atomic_fetch_add_explicit(p, n, memory_order_relaxed);
}
static inline uint64_t stat_get(atomic_uint_fast64_t *p){
  return atomic_load_explicit(p, memory_order_relaxed);
}

static inline uint64_t now_micros(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- db.c: views ---- */

/* Drop one reference to a view (NULL is a no-op). */
void db_view_unref(db_view*);
/* Replace the current view with one of (pMem, apImm[0..nImm), pVersion),
** taking new references to each, and free the spare cursor (it read the
** old view).  REQUIRES db->mutex. */
int db_view_install(lsm_db*, memtable *pMem, memtable *const *apImm, int nImm,
                    version *pVersion);
/* The current view with a new reference, and (pSeq not NULL) the last
** sequence number.  Takes db->mutex. */
db_view *db_view_acquire(lsm_db*, uint64_t *pSeq);
/* ---- db_read.c: cursors ---- */

/* Free a cursor and everything it holds; not counted in nCursor (a
** spare, or one whose open failed).  Takes no lock of the store's. */
void db_cursor_free(lsm_cursor*);

/* One iterator over the first nIter iterators of apIter, which it takes
** (closed on error); frees the array.  NULL if *pRc holds an error. */
iter *db_merge_and_free(lsm_env*, iter **apIter, int nIter, int *pRc);

/* LSM_OK, or LSM_MISUSE (with a message) in a child of fork() that uses
** a store its parent opened: the store's threads did not come along, and
** its lock and files are the parent's.  A load and a compare. */
int db_check_process(lsm_db*);

/* ---- db_write.c ---- */

/* A memtable for the store, filtered (memtable.h) with a filter of
** memtable_bytes / DB_MEMTABLE_FILTER_FRACTION bytes unless the store's
** bloom_bits is 0.  LSM_OK or LSM_NOMEM. */
int db_memtable_new(lsm_db*, memtable **ppMem);

/* Switch to a new memtable (and WAL); the old one becomes the newest
** immutable one.  REQUIRES db->mutex, the caller leads (or, in a hosted
** store, no writer is queued), nImm < DB_MAX_IMM. */
int db_switch_memtable(lsm_db*);

/* ---- db_flush_ahead.c: a hosted store's flush prepared on a thread ---- */

/* True if a prepared flush's thread is still building.  Takes flushMutex. */
int db_flush_ahead_running(lsm_db*);
/* If a flush of pImm was prepared: wait for its thread, then (if it built
** the table) write the table into the store's env under a new file number
** and open it: pRes->apOut[0], nOut 1.  Else (none, or its build failed)
** nOut 0: the caller builds the table itself.  REQUIRES flushMutex. */
int db_flush_ahead_collect(lsm_db*, memtable *pImm, compaction_result *pRes);
/* Stop and free the prepared flush, if any (lsm_close).  Takes flushMutex. */
void db_flush_ahead_drop(lsm_db*);

/* ---- db_work.c: flush and compaction ---- */

/* Write the manifest for version pV with log number iLogNumber and the
** slicing state pSlice (NULL: the store's current one).
** REQUIRES installMutex; takes db->mutex for the (M) fields it reads. */
int db_write_manifest(lsm_db*, version *pV, uint64_t iLogNumber, const db_slice_state *pSlice);
/* Set a flush (pPick NULL, pFlush its input) or compaction job up for the
** readers of the current state (compaction_job_init). */
int db_job_init(lsm_db*, compaction_job *pJob, version *pV, const compaction_pick *pPick,
                iter *pFlush);
/* Install the current version minus apRemove plus apAdd and the slicing
** state *pSlice in one manifest; on success *pSlice's arrays become the
** store's (and *pSlice is zeroed), on failure they stay the caller's.
** REQUIRES workMutex. */
int db_install_slice(lsm_db*, table **apRemove, int nRemove, table **apAdd, int nAdd,
                     db_slice_state *pSlice);
/* The counters of a merge that read nRead bytes into level iOut and
** wrote nWritten (nFromAbove of the read came from shallower levels). */
void db_count_merge(lsm_db*, int iOut, uint64_t nRead, uint64_t nFromAbove, uint64_t nWritten);

/* ---- db_slice.c: a level-0 compaction in slices ---- */

/* True if pPick (a pick of version pV) is a level-0 -> level-1 merge the
** store runs in slices (lsm_options.l0_slice_bytes). */
int db_slice_wanted(lsm_db*, version *pV, const compaction_pick *pPick);
/* Run the next slice of the slicing in progress (pPick NULL) or the first
** of pPick's, on version pV (referenced by the caller).  REQUIRES
** workMutex. */
int db_slice_next(lsm_db*, version *pV, const compaction_pick *pPick);
/* Copy the manifest's slicing state into the store's (at open). */
/* LSM_CORRUPT (naming the rule) if the slicing state pSt does not fit
** version pV (manifest_slice_fault); LSM_OK, too, when none is in progress. */
int db_slice_verify(lsm_db*, version *pV, const db_slice_state *pSt);
int db_slice_load(lsm_db*, const manifest_state *pSt);
void db_slice_state_clear(lsm_env*, db_slice_state*);
/* Flush the oldest immutable memtable, if any, to a level-0 table.
** Takes flushMutex. */
int db_flush_imm(lsm_db*);
/* background=off: flush, then compact until nothing is due, in the
** caller's thread; records a failure for the next writer to retry. */
int db_do_work(lsm_db*);
/* rcBackground, raised again in the calling thread with the message the
** failed job recorded (LSM_OK if none).  REQUIRES db->mutex. */
int db_background_error(lsm_db*);
/* Wake the compaction (flush) thread.  REQUIRES db->mutex. */
void db_schedule_work(lsm_db*);
void db_schedule_flush(lsm_db*);
/* The bodies of the two background threads (pArg is the lsm_db). */
void *db_worker_main(void *pArg);
void *db_flusher_main(void *pArg);

/* ---- db_recover.c ---- */

/* Read the manifest (or write a first one if bNew), open its tables,
** replay the WALs it does not cover, flush what they held, start a new
** WAL and remove leftovers.  Runs before any background thread. */
int db_recover(lsm_db*, int bNew);
/* Verify the WALs numbered >= iLogNumber as recovery would replay them
** (the chain, every record, the sequence numbers), applying nothing:
** lsm_check.  REQUIRES flushMutex (no flush retires a log meanwhile). */
int db_check_logs(lsm_db*, uint64_t iLogNumber);

#endif
