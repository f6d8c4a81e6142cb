/*
** compaction_pick.h — a pick (what one compaction takes and does), and
** what the two compaction policies share.
**
** A pick names input tables of one version and what to do with them:
** merge them into new tables at one output level (compaction.h runs the
** merge) or move them to other levels without I/O.  The store's policy
** (lsm_options.compaction, fixed when the store is made) makes it; the
** policy is three files, one decision each:
**
**   compaction_leveled.c  leveled (LevelDB, RocksDB): level 0 by table
**                         count, deeper levels by bytes over a target
**                         that grows level_ratio times per level
**   compaction_tiered.c   size-tiered (Cassandra), kept in age order
**                         (RocksDB universal): one sorted run per level,
**                         similar-size runs merged together
**   compaction_pick.c     what both share: the level-0 write-stall
**                         thresholds, output table size, the
**                         tombstone-density rule, full compaction, the
**                         pick's storage
** compaction.c chooses between the two (compaction_next) and turns the
** level-0 thresholds into a writer's stall (compaction_write_stall).
**
** Thread safety: a pick reads an immutable version and allocates its
** own arrays; the caller keeps the version referenced while it uses the
** pick (the inputs are borrowed from it).
*/
#ifndef LSM_COMPACTION_PICK_H
#define LSM_COMPACTION_PICK_H

#include <stddef.h>
#include <stdint.h>

#include "lsm.h"
#include "version.h"

/* What the picker chose. */
#define COMPACTION_MERGE 1      /* merge apInput into new tables at iOutputLevel */
#define COMPACTION_MOVE  2      /* move each apInput[i] to aiMoveLevel[i], no I/O */

typedef struct compaction_pick {
  int eKind;                    /* COMPACTION_MERGE or COMPACTION_MOVE          */
  int iOutputLevel;             /* MERGE: level of the outputs                  */
  table **apInput;              /* borrowed from the version; the array is owned:
                                   compaction_pick_clear frees it               */
  int nInput;                   /* entries of apInput                           */
  int *aiMoveLevel;             /* MOVE: target level per input (same allocation) */
  uint64_t nTargetFileBytes;    /* MERGE: split outputs at this size            */
  uint64_t nMaxGrandparentBytes; /* MERGE: also split an output before it would
                                   overlap more than this many bytes of the
                                   level below iOutputLevel (0: no limit)     */
  double score;                 /* urgency; >= 1 means due                      */
  const char *zReason;          /* static: why this compaction was chosen       */
} compaction_pick;

/*
** Write stalls: how much compaction work writers may leave behind them
** (compaction_write_stall).  Whatever the writers leave, the reads that
** come right after them pay for, while the compaction thread takes one
** CPU to catch up.  Two debts are bounded:
**   - level 0 (both policies): every read checks each level-0 table, and
**     a scan merges all of them.  From COMPACTION_L0_SLOWDOWN tables on
**     each write sleeps briefly (the store's DB_SLOWDOWN_MICROS per
**     DB_SLOWDOWN_BYTES of its batch, while the slowdown lasts: db_impl.h),
**     from COMPACTION_L0_STOP on writers wait for the compaction
**     thread.  The leveled picker also takes level 0 first from the
**     slowdown point on.  LevelDB's are 8 and 12 too;
**   - levels 1 and deeper (leveled): the bytes by which they exceed their
**     targets (compaction_leveled_debt), counted in level-1 targets:
**     slowdown from COMPACTION_DEBT_SLOWDOWN on, stop from
**     COMPACTION_DEBT_STOP on (RocksDB's soft and hard
**     pending_compaction_bytes limits, scaled to the store).  Without it
**     level 1 held 38 to 45 tables (about 8 times its target) when the
**     bench's overwrite ended, and the level-0 priority above would let
**     level 1 grow without bound while writers outrun the worker.
** A slowdown's sleep costs a single writer about 100 puts, so writers
** in practice run at the compaction thread's pace from the slowdown point
** on, however many rows each write carries (a sleep per write let a SQL
** transaction of 1000 rows through as if there were none); the stop is
** the bound that holds when several writers share it.
** README "Compaction debt" has the runs that chose these.
**
** A tiered store's level 0 has thresholds of its own, above the point
** where its picker merges level 0 (TIERED_L0_RUNS, 12 tables, or a
** window of 16 similar runs: compaction_tiered.c): a stall below that
** point would slow writers while no compaction is due, and nothing would
** end it but the stop (level 0 at 8 to 11 tables made every put sleep
** 200 us: at most 5,000 puts a second).  20 and 36 are the values the tiered
** policy was measured with (README "The amplification experiment").
*/
#define COMPACTION_L0_SLOWDOWN 8
#define COMPACTION_L0_STOP     12
#define COMPACTION_TIERED_L0_SLOWDOWN 20
#define COMPACTION_TIERED_L0_STOP     36
#define COMPACTION_DEBT_SLOWDOWN 4.0
#define COMPACTION_DEBT_STOP     8.0

/*
** Deletion-triggered compaction (both policies).  A table (tiered: a run)
** of at least COMPACTION_TOMBSTONE_MIN_ENTRIES entries whose tombstones
** are at least COMPACTION_TOMBSTONE_RATIO of them is compacted even when nothing is over its target (as RocksDB's
** CompactOnDeletionCollector), so deletes do not leave scans stepping
** over dead entries ...
*/
#define COMPACTION_TOMBSTONE_RATIO 0.5
#define COMPACTION_TOMBSTONE_MIN_ENTRIES 64
/* ... and only when the tombstones are at least this fraction of the
** live entries they would be merged with: each byte rewritten then
** reclaims enough (a random 50% delete leaves tables alone; a 90% delete
** does not). */
#define COMPACTION_DEAD_FRACTION (2.0 / 3.0)

/* Bytes at which a compaction splits its output tables. */
uint64_t compaction_pick_file_target(const lsm_options*);

/*
** Leveled: outputs are also cut with an eye on the compaction that will
** later take them one level down and rewrite what they overlap in the
** level below theirs (the grandparent level; compaction.c,
** merge_grandparent_cut): before an output would overlap more than
** COMPACTION_GRANDPARENT_FILES output tables' worth of it (LevelDB's
** max_grandparent_overlap_bytes, 10 files), and, once it holds half its
** target size, where a grandparent table ends.  Tables of small entries
** or tombstones cover a wide key range for their size; without the first
** cut one of them could overlap much of the next level.  The second makes
** later compactions take whole grandparent tables instead of the ends of
** two more.
*/
#define COMPACTION_GRANDPARENT_FILES 10

/* Full compaction (lsm_compact): every table of pV merged into the last
** level, so every tombstone and shadowed version that no reader needs
** goes.  0 if pV has no table (or no memory). */
int compaction_pick_full(version *pV, const lsm_options*, compaction_pick *pPick);

void compaction_pick_clear(lsm_env*, compaction_pick*);

/* ---- For the policy files ---- */

/* Size pPick's arrays for up to nMax inputs; 0 on NOMEM. */
int compaction_pick_alloc(version *pV, compaction_pick *pPick, int nMax);
void compaction_pick_add(compaction_pick*, table*);
int compaction_pick_has(const compaction_pick*, const table*);

/* The user-key range [*ppLo, *ppHi] covered by tables (borrowed). */
void compaction_pick_range(table **ap, int n, const uint8_t **ppLo, size_t *pnLo,
                           const uint8_t **ppHi, size_t *pnHi);

/* True if entries/tombstones make a table (or run, or the tables of level
** 0 together: compaction_leveled.c, level0_due) tombstone-dense. */
int compaction_pick_tombstone_dense(uint64_t nEntries, uint64_t nTombstones);

#endif
