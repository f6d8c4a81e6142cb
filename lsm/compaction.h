/*
** compaction.h — merging sorted inputs into new SSTables, and choosing
** what to merge.
**
** One routine, compaction_run, serves flushes (a memtable into one
** level-0 table), level compactions and full compaction: it reads an
** internal-key iterator in order and writes what survives into tables of
** about nTargetFileBytes each.  What survives, for each user key (versions
** arrive newest first):
**   - a version is dropped when a newer version of the same key has
**     seq <= smallestSnapshot: every reader sees the newer one;
**   - a tombstone is dropped when its seq <= smallestSnapshot and no older
**     data for its key can remain below the output (bBottom, or the
**     version says no deeper table covers the key).
**
** The picker implements the policy (leveled or tiered: see compaction.c).  Jobs are run by one thread at a time (the store's
** work mutex); the inputs are pinned by the caller's version reference.
*/
#ifndef LSM_COMPACTION_H
#define LSM_COMPACTION_H

#include <stdint.h>

#include "iter.h"
#include "lsm.h"
#include "sst_writer.h"
#include "version.h"

typedef struct compaction_job {
  lsm_env *pEnv;
  const char *zDir;
  table_cache *pCache;          /* where the outputs' readers go            */
  sst_options sstOpt;
  iter *pInput;                 /* borrowed; positioned by the job          */
  uint64_t smallestSnapshot;    /* oldest sequence any reader may read at   */
  int iOutputLevel;
  int bBottom;                  /* nothing below the output: drop tombstones */
  int bKeepTombstones;          /* flush: always keep tombstones            */
  version *pVersion;            /* for the tombstone check when !bBottom    */
  uint64_t nTargetFileBytes;    /* split outputs at this size (0: never)    */
  uint64_t (*xNewFileNumber)(void *pCtx);   /* thread-safe number allocator */
  void *pCtx;
} compaction_job;

typedef struct compaction_result {
  table **apOut;                /* new tables, one reference each (env_free the array) */
  int nOut;
  uint64_t nBytesWritten;
  uint64_t nEntriesIn, nEntriesOut;
  uint64_t nTombstonesDropped;
} compaction_result;

/* Run the merge.  On error every output written so far is unlinked and
** *pResult holds no tables. */
int compaction_run(const compaction_job*, compaction_result *pResult);
void compaction_result_clear(lsm_env*, compaction_result*);

/* What the picker chose. */
#define COMPACTION_MERGE 1      /* merge apInput into new tables at iOutputLevel */
#define COMPACTION_MOVE  2      /* move each apInput[i] to aiMoveLevel[i], no I/O */

typedef struct compaction_pick {
  int eKind;                    /* COMPACTION_MERGE or COMPACTION_MOVE          */
  int iOutputLevel;             /* MERGE: level of the outputs                  */
  table **apInput;              /* borrowed from the version; the array is owned:
                                   compaction_pick_clear frees it               */
  int nInput;
  int *aiMoveLevel;             /* MOVE: target level per input (same allocation) */
  double score;                 /* urgency; >= 1 means due                      */
  const char *zReason;          /* static: why this compaction was chosen       */
} compaction_pick;

#define COMPACTION_L0_TRIGGER   4    /* L0 tables that start a compaction          */
/* Level 0 goes before any other level once it holds this many tables.
** Not sooner: when writers outrun the worker, forcing level 0 first made
** every level-0 compaction rewrite an ever larger level 1 (it reached
** 470 MB, its target being 10 MB: level-1 write amplification 5.6 of the
** 10.7 total at 5M keys).  Ordering by score instead lets level 0 grow,
** and a merge of many level-0 tables into a level 1 near its target is
** cheap per byte; at the slowdown point writers come first again. */
#define COMPACTION_L0_PRIORITY COMPACTION_L0_SLOWDOWN
#define COMPACTION_L0_SLOWDOWN 20    /* writers sleep DB_SLOWDOWN_MICROS per write  */
#define COMPACTION_L0_STOP     36    /* writers wait for the worker above this     */
/* Similar-size runs a tiered merge takes (Cassandra's min_threshold is
** 4, its max_threshold 32).  A byte is rewritten about log_k(data /
** memtable) times for k runs per merge, as long as the levels can hold
** the k - 1 runs of each size that wait (else runs of unlike sizes must
** be merged to free a level): at 5M keys (~190 memtables) with 11 level
** runs, k = 4 rewrote each byte 2.2 times and k = 8 1.75 times; a
** simulation of the picker put k = 16 with 16 level runs 19% below
** k = 8, at the price of more runs per read. */
#define COMPACTION_TIERED_MIN_RUNS 16
/* Level-0 tables merged into one run when no window of similar runs
** forms (they are the runs of one memtable each: a read checks each). */
#define COMPACTION_TIERED_L0_RUNS 12
/* A table whose tombstones are at least this fraction of its entries is
** compacted even when no level is over its target (deletion-triggered,
** as RocksDB's CompactOnDeletionCollector), so deletes do not leave scans
** stepping over dead entries. */
#define COMPACTION_TOMBSTONE_RATIO 0.5
#define COMPACTION_TOMBSTONE_MIN_ENTRIES 64
/* ... and only when the tombstones in its key range, down to the bottom,
** are at least this fraction of the live entries there (see
** pick_tombstone_chain): each byte rewritten then reclaims enough. */
#define COMPACTION_DEAD_FRACTION (2.0 / 3.0)

/* Target bytes of level iLevel (>= 1) for a store with these options. */
uint64_t compaction_level_target(const lsm_options*, int iLevel);
uint64_t compaction_file_target(const lsm_options*);

/* Choose the most urgent compaction of pVersion for the store's policy;
** 0 if none is due (or no memory to describe one). */
int compaction_pick_next(version*, const lsm_options*, compaction_pick *pPick);
void compaction_pick_clear(lsm_env*, compaction_pick*);

/* The user-key range [*ppLo, *ppHi] covered by tables. */
void compaction_range(table **ap, int n, const uint8_t **ppLo, size_t *pnLo,
                      const uint8_t **ppHi, size_t *pnHi);

#endif
