/*
** compaction.h — what the store asks of compaction: which compaction is
** next under its policy, whether writers must stall, and the jobs (a
** flush or a compaction) set up from what to merge, then run as one
** merge of sorted inputs into new SSTables.
**
** The policy: compaction_next asks the store's picker
** (compaction_leveled.c or compaction_tiered.c; what they share is in
** compaction_pick.c) for the most urgent compaction; compaction_write_stall
** turns level 0's size into a stall (thresholds: compaction_pick.h).
**
** One routine, compaction_run, serves flushes (a memtable into one
** level-0 table), the compactions the policy picks (compaction_pick.h)
** and full compaction: it reads an internal-key iterator in order and
** writes what survives into tables of about nTargetFileBytes each.  What
** survives, for each user key (versions arrive newest first):
**   - a version is dropped when a newer version of the same key has
**     seq <= smallestSnapshot: every reader sees the newer one;
**   - a tombstone is dropped when its seq <= smallestSnapshot, the job
**     may drop tombstones at all (bKeepTombstones clear), and no older
**     data for its key can remain below the output (bBottom, or the
**     version says no deeper table covers the key).
**
** compaction_job_init is the one place that sets a job up: its input
** iterator, output level, output size and the tombstone rule above.
**
** Jobs are run by one thread at a time per kind (the store's flush and
** work mutexes); the inputs are pinned by the caller's version reference.
*/
#ifndef LSM_COMPACTION_H
#define LSM_COMPACTION_H

#include <stdint.h>

#include "compaction_pick.h"
#include "iter.h"
#include "lsm.h"
#include "sst_writer.h"
#include "table_cache.h"
#include "version.h"

/* Where a job's tables go: the store's directory, env and cache. */
typedef struct compaction_output {
  lsm_env *pEnv;
  const char *zDir;
  table_cache *pCache;          /* where the outputs' readers go            */
  sst_options sstOpt;           /* block size, Bloom bits                   */
  int bFillCache;               /* outputs' blocks enter the block cache as
                                ** written (lsm_options.fill_cache_on_write) */
  uint64_t (*xNewFileNumber)(void *pCtx);   /* thread-safe number allocator */
  void *pCtx;                   /* its argument                             */
} compaction_output;

typedef struct compaction_job {
  compaction_output out;        /* copied from the caller's                 */
  iter *pInput;                 /* owned: closed by compaction_job_clear    */
  uint64_t smallestSnapshot;    /* oldest sequence any reader may read at   */
  int iOutputLevel;             /* level of every output table              */
  int bBottom;                  /* nothing below the output: drop tombstones */
  int bKeepTombstones;          /* flush: always keep tombstones            */
  version *pVersion;            /* borrowed: for the tombstone check when !bBottom */
  uint64_t nTargetFileBytes;    /* split outputs at this size (0: never)    */
  uint64_t nMaxGrandparentBytes; /* split an output before it overlaps more
                                   than this of level iOutputLevel + 1 (0:
                                   never; compaction_pick.h)                */
  /* A slice of a level-0 compaction (lsm/db_slice.c) merges one key range
  ** of its inputs: user keys above pAfter (when bAfter) and not above
  ** pUpTo (when bUpTo).  Borrowed: set by the caller after
  ** compaction_job_init, valid until compaction_run returns. */
  int bAfter;
  const uint8_t *pAfter; size_t nAfter;
  int bUpTo;
  const uint8_t *pUpTo; size_t nUpTo;
} compaction_job;

typedef struct compaction_result {
  table **apOut;                /* new tables, one reference each (env_free the array) */
  int nOut;                     /* entries of apOut                         */
  uint64_t nBytesWritten;       /* file bytes of the outputs                */
  uint64_t nEntriesIn, nEntriesOut;
  uint64_t nTombstonesDropped;
} compaction_result;

/* Choose the most urgent compaction of pV for the store's policy
** (pOpt->compaction) into *pPick (free with compaction_pick_clear); 0 if
** none is due (or no memory to describe one). */
int compaction_next(version *pV, const lsm_options *pOpt, compaction_pick *pPick);

#define COMPACTION_STALL_NONE     0
#define COMPACTION_STALL_SLOWDOWN 1   /* sleep once, then write          */
#define COMPACTION_STALL_STOP     2   /* wait for a compaction to finish */

/* How a writer must stall for pV under the store's policy
** (COMPACTION_STALL_*): from COMPACTION_L0_SLOWDOWN and COMPACTION_L0_STOP
** level-0 tables on, and (leveled) from COMPACTION_DEBT_SLOWDOWN and
** COMPACTION_DEBT_STOP level-1 targets of compaction debt on
** (compaction_pick.h).  Called on every write: reads only counts and
** per-level sums the version keeps. */
int compaction_write_stall(const version *pV, const lsm_options *pOpt);

/*
** Set up a job on version pV (borrowed: the caller keeps it referenced
** until compaction_job_clear), for readers at smallestSnapshot and above:
**   - pPick NULL: a flush of pFlush (a memtable iterator, which the job
**     takes, even on error) into one level-0 table.  It keeps every
**     tombstone: a compaction running beside the flush may be about to
**     install older data under these keys;
**   - else the merge of pPick's inputs (COMPACTION_MERGE) into
**     pPick->iOutputLevel, split at pPick->nTargetFileBytes; tombstones
**     drop when nothing lies below the output (or nothing under the key).
** On error the job holds nothing: compaction_job_clear is still safe.
*/
int compaction_job_init(compaction_job*, const compaction_output *pOut, version *pV,
                        const compaction_pick *pPick, iter *pFlush, uint64_t smallestSnapshot);

/* Run the merge.  On error every output written so far is unlinked and
** *pResult holds no tables. */
int compaction_run(const compaction_job*, compaction_result *pResult);

/* Close the job's input. */
void compaction_job_clear(compaction_job*);
void compaction_result_clear(lsm_env*, compaction_result*);

#endif
