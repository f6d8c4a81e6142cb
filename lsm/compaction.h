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
** The picker implements the policy (leveled: LevelDB's scores; see
** compaction.c).  Jobs are run by one thread at a time (the store's
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
typedef struct compaction_pick {
  int iLevel;                   /* inputs come from iLevel and iLevel + 1 */
  int iOutputLevel;
  table **apInput;              /* borrowed from the version (env_free the array) */
  int nInput;
  int bTrivialMove;             /* one input, nothing overlaps: just move */
  double score;
} compaction_pick;

#define COMPACTION_L0_TRIGGER   4    /* L0 tables that start a compaction          */
#define COMPACTION_L0_SLOWDOWN  8    /* writers sleep 1 ms per write above this    */
#define COMPACTION_L0_STOP     12    /* writers wait for the worker above this     */

/* Target bytes of level iLevel (>= 1) for a store with these options. */
uint64_t compaction_level_target(const lsm_options*, int iLevel);
uint64_t compaction_file_target(const lsm_options*);

/* Choose the most urgent compaction of pVersion; 0 if none is due. */
int compaction_pick_next(version*, const lsm_options*, compaction_pick *pPick);

/* The user-key range [*ppLo, *ppHi] covered by tables. */
void compaction_range(table **ap, int n, const uint8_t **ppLo, size_t *pnLo,
                      const uint8_t **ppHi, size_t *pnHi);

#endif
