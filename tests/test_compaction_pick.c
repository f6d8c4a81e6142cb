/*
** test_compaction_pick.c — the compaction pickers, called directly: a
** table of level shapes in, the expected pick out.
**
** Each case lists the tables of a version (level, file number, user-key
** range, size, entries, tombstones; a row may stand for several level-0
** tables with consecutive numbers) and the pick the store's policy must
** make: nothing, or the kind (merge or move), the output level (a move:
** the level every input goes to), the reason and exactly which tables
** (by file number).  The pickers read only table metadata, so the tables
** are built with table_new and no file is written.
**
** Also where the merge cuts its outputs against the level below them (the
** grandparent level, compaction.c merge_grandparent_cut): a memtable of
** keys is merged into level 1 over metadata-only level-2 tables, and the
** outputs' key ranges are checked.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compaction.h"
#include "compaction_leveled.h"
#include "env.h"
#include "ikey.h"
#include "lsm.h"
#include "memtable.h"
#include "table.h"
#include "table_cache.h"
#include "testutil.h"
#include "version.h"

#define MB (1024.0 * 1024.0)
#define MAX_ROWS 24

/* Tables of one row: nCopy level-0 tables (numbers iNumber, iNumber+1,
** ...) or one table of a sorted level. */
typedef struct table_row {
  int iLevel;
  int iNumber;
  const char *zLo, *zHi;      /* user-key range                       */
  double mb;                  /* file size in MiB                     */
  int nEntries, nTombstones;
  int nCopy;                  /* 0 means 1                            */
} table_row;

typedef struct pick_case {
  const char *zName;          /* what the case shows                  */
  int ePolicy;                /* LSM_COMPACTION_*                     */
  table_row aRow[MAX_ROWS];   /* ended by iNumber == 0                */
  int eKind;                  /* 0: no pick; COMPACTION_MERGE / MOVE  */
  int iOutputLevel;           /* merge: outputs; move: every target   */
  const char *zReason;
  const char *zInputs;        /* file numbers: "1-4,101"               */
} pick_case;

#define ROW(l, n, lo, hi, mb, e, t) { l, n, lo, hi, mb, e, t, 0 }
#define L0S(n, nCopy, lo, hi, mb) { 0, n, lo, hi, mb, 100, 0, nCopy }
/* nCopy level-0 tables of tombstones (90 of 100 entries) */
#define L0T(n, nCopy, lo, hi, mb) { 0, n, lo, hi, mb, 100, 90, nCopy }

/* Level runs of tiered cases: one table per level. */
#define RUN(l, mb) ROW(l, 100 + (l), "a", "z", mb, 1000, 0)

static const pick_case aCase[] = {
  /* ---- leveled ---- */
  { "leveled: level 0 below the trigger waits", LSM_COMPACTION_LEVELED,
    { L0S(1, 3, "a", "m", 1) },
    0, 0, NULL, NULL },
  { "leveled: level 0 at the trigger merges with the level-1 tables it overlaps",
    LSM_COMPACTION_LEVELED,
    { L0S(1, 4, "b", "e", 1),
      ROW(1, 101, "a", "c", 0.5, 100, 0), ROW(1, 102, "d", "f", 0.5, 100, 0),
      ROW(1, 103, "x", "z", 0.5, 100, 0) },
    COMPACTION_MERGE, 1, "level-0 table count", "1-4,101,102" },
  { "leveled: level-0 tables of tombstones at the trigger wait while the level-1 "
    "tables under them hold more bytes (and fewer than the trigger of them come "
    "in a row: nothing to merge together)", LSM_COMPACTION_LEVELED,
    { L0S(1, 1, "a", "z", 0.5), L0T(2, 3, "a", "z", 0.5),
      ROW(1, 101, "a", "m", 1.2, 10000, 0), ROW(1, 102, "n", "z", 1.2, 10000, 0) },
    0, 0, NULL, NULL },
  { "leveled: while level 0 waits, its newest trigger of tables of tombstones merge "
    "together into level 0", LSM_COMPACTION_LEVELED,
    { L0T(1, 4, "a", "z", 0.5),
      ROW(1, 101, "a", "m", 1.2, 10000, 0), ROW(1, 102, "n", "z", 1.2, 10000, 0) },
    COMPACTION_MERGE, 0, "level-0 tables of tombstones merged together", "1-4" },
  { "leveled: level-0 tables of data under tables of tombstones wait for the trigger "
    "of data tables; the tombstones merge together, the data stays",
    LSM_COMPACTION_LEVELED,
    { L0S(1, 2, "a", "z", 1), L0T(3, 4, "a", "z", 0.3),
      ROW(1, 101, "a", "m", 1.2, 10000, 0), ROW(1, 102, "n", "z", 1.2, 10000, 0) },
    COMPACTION_MERGE, 0, "level-0 tables of tombstones merged together", "3-6" },
  { "leveled: tables of tombstones older than a level-0 table of data are not merged "
    "together past it", LSM_COMPACTION_LEVELED,
    { L0T(1, 3, "a", "z", 0.1), L0S(4, 1, "a", "z", 0.5), L0T(5, 3, "a", "z", 0.1),
      ROW(1, 101, "a", "m", 1.2, 10000, 0), ROW(1, 102, "n", "z", 1.2, 10000, 0) },
    0, 0, NULL, NULL },
  { "leveled: a run of level-0 tables of tombstones stops before a table merged "
    "before that holds more than the newer ones together", LSM_COMPACTION_LEVELED,
    { L0T(1, 1, "a", "z", 0.9), L0T(2, 5, "a", "z", 0.1),
      ROW(1, 101, "a", "m", 1.2, 10000, 0), ROW(1, 102, "n", "z", 1.2, 10000, 0) },
    COMPACTION_MERGE, 0, "level-0 tables of tombstones merged together", "2-6" },
  { "leveled: the trigger of level-0 tables of data merges into level 1 whatever "
    "tombstones lie over them", LSM_COMPACTION_LEVELED,
    { L0S(1, 4, "a", "z", 0.5), L0T(5, 3, "a", "z", 0.1),
      ROW(1, 101, "a", "m", 1.2, 10000, 0), ROW(1, 102, "n", "z", 1.2, 10000, 0) },
    COMPACTION_MERGE, 1, "level-0 table count", "1-7,101,102" },
  { "leveled: level-0 tables of tombstones at the trigger merge once they outweigh "
    "the level-1 tables they overlap", LSM_COMPACTION_LEVELED,
    { L0T(1, 4, "a", "c", 0.5),
      ROW(1, 101, "a", "m", 1.2, 10000, 0), ROW(1, 102, "n", "z", 1.2, 10000, 0) },
    COMPACTION_MERGE, 1, "level-0 table count", "1-4,101" },
  { "leveled: twice the trigger of level-0 tables of tombstones merge whatever "
    "level 1 holds", LSM_COMPACTION_LEVELED,
    { L0T(1, 8, "a", "z", 0.1),
      ROW(1, 101, "a", "m", 1.2, 10000, 0), ROW(1, 102, "n", "z", 1.2, 10000, 0) },
    COMPACTION_MERGE, 1, "level-0 table count", "1-8,101,102" },
  { "leveled: level-0 tables half of whose entries are tombstones (puts and deletes "
    "mixed, mostly data by bytes) merge at the trigger, however much level 1 holds",
    LSM_COMPACTION_LEVELED,
    { { 0, 1, "a", "z", 0.5, 100, 50, 4 },
      ROW(1, 101, "a", "m", 1.2, 10000, 0), ROW(1, 102, "n", "z", 1.2, 10000, 0) },
    COMPACTION_MERGE, 1, "level-0 table count", "1-4,101,102" },
  { "leveled: small level-0 tables of data merge at the trigger, however much "
    "level 1 holds", LSM_COMPACTION_LEVELED,
    { L0S(1, 4, "a", "z", 0.5),
      ROW(1, 101, "a", "m", 1.2, 10000, 0), ROW(1, 102, "n", "z", 1.2, 10000, 0) },
    COMPACTION_MERGE, 1, "level-0 table count", "1-4,101,102" },
  { "leveled: disjoint level-0 tables over an empty range move down (trivial move)",
    LSM_COMPACTION_LEVELED,
    { ROW(0, 1, "a", "b", 1, 100, 0), ROW(0, 2, "c", "d", 1, 100, 0),
      ROW(0, 3, "e", "f", 1, 100, 0), ROW(0, 4, "g", "h", 1, 100, 0),
      ROW(1, 101, "x", "z", 0.5, 100, 0) },
    COMPACTION_MOVE, 1, "level-0 table count", "1-4" },
  { "leveled: a level over target sends down the table with least overlap below",
    LSM_COMPACTION_LEVELED,
    { ROW(1, 101, "a", "c", 2, 100, 0), ROW(1, 102, "d", "f", 2, 100, 0),
      ROW(2, 201, "a", "b", 5, 100, 0), ROW(2, 202, "d", "e", 1, 100, 0) },
    COMPACTION_MERGE, 2, "level size over target", "102,202" },
  { "leveled: a table over target with nothing below moves",
    LSM_COMPACTION_LEVELED,
    { ROW(1, 101, "a", "c", 2, 100, 0), ROW(1, 102, "d", "f", 2, 100, 0),
      ROW(2, 201, "a", "b", 5, 100, 0) },
    COMPACTION_MOVE, 2, "level size over target", "102" },
  { "leveled: below the slowdown point the highest score goes first",
    LSM_COMPACTION_LEVELED,
    { L0S(1, COMPACTION_L0_SLOWDOWN - 1, "a", "z", 1),
      ROW(1, 101, "a", "m", 12.5, 100, 0), ROW(1, 102, "n", "z", 12.5, 100, 0) },
    COMPACTION_MOVE, 2, "level size over target", "101" },
  { "leveled: at the slowdown point level 0 goes first whatever the scores",
    LSM_COMPACTION_LEVELED,
    { L0S(1, COMPACTION_L0_SLOWDOWN, "b", "c", 1),
      ROW(1, 101, "a", "m", 12.5, 100, 0), ROW(1, 102, "n", "z", 12.5, 100, 0) },
    COMPACTION_MERGE, 1, "level-0 table count", "1-8,101" },   /* 8: the slowdown */
  { "leveled: a tombstone-dense table is merged down to the bottom when it pays",
    LSM_COMPACTION_LEVELED,
    { ROW(1, 101, "a", "c", 0.1, 100, 90), ROW(2, 201, "a", "b", 0.1, 30, 0),
      ROW(3, 301, "b", "d", 0.1, 20, 0), ROW(3, 302, "x", "z", 0.1, 20, 0) },
    COMPACTION_MERGE, 3, "tombstone-dense table", "101,201,301" },
  { "leveled: a tombstone-dense table over much live data is left alone",
    LSM_COMPACTION_LEVELED,
    { ROW(1, 101, "a", "c", 0.1, 100, 90), ROW(2, 201, "a", "b", 0.1, 1000, 0) },
    0, 0, NULL, NULL },

  /* ---- tiered ---- */
  { "tiered: a few runs wait", LSM_COMPACTION_TIERED,
    { L0S(1, 3, "a", "z", 1), RUN(16, 1) },
    0, 0, NULL, NULL },
  { "tiered: runs are packed at the bottom first, without I/O", LSM_COMPACTION_TIERED,
    { L0S(1, 3, "a", "z", 1), RUN(10, 1) },
    COMPACTION_MOVE, 16, "pack tiered runs", "110" },
  { "tiered: the newest window of 16 similar runs merges into the oldest one's level",
    LSM_COMPACTION_TIERED,
    { ROW(0, 1, "a", "z", 1, 100, 0),
      RUN(1, 1), RUN(2, 1.2), RUN(3, 0.9), RUN(4, 1), RUN(5, 1), RUN(6, 1.1), RUN(7, 1),
      RUN(8, 1), RUN(9, 1), RUN(10, 1), RUN(11, 0.8), RUN(12, 1), RUN(13, 1), RUN(14, 1),
      RUN(15, 1), RUN(16, 100) },
    COMPACTION_MERGE, 15, "similar-size runs", "1,101-115" },
  { "tiered: a full level 0 of unlike sizes merges into one run above the others",
    LSM_COMPACTION_TIERED,
    { L0S(1, 6, "a", "z", 1), L0S(7, 6, "a", "z", 10), RUN(16, 100) },
    COMPACTION_MERGE, 15, "level-0 table count", "1-12" },
  { "tiered: with every level taken, the cheapest adjacent pair of runs frees one",
    LSM_COMPACTION_TIERED,
    { L0S(1, 6, "a", "z", 1), L0S(7, 6, "a", "z", 10),
      RUN(1, 50), RUN(2, 1), RUN(3, 1), RUN(4, 54), RUN(5, 55), RUN(6, 56), RUN(7, 57),
      RUN(8, 58), RUN(9, 59), RUN(10, 60), RUN(11, 61), RUN(12, 62), RUN(13, 63),
      RUN(14, 64), RUN(15, 65), RUN(16, 66) },
    COMPACTION_MERGE, 3, "free a level for new runs", "102,103" },
  { "tiered: runs whose tombstones outweigh the oldest run merge with it",
    LSM_COMPACTION_TIERED,
    { ROW(15, 115, "a", "z", 1, 100, 80), ROW(16, 116, "a", "z", 10, 100, 0) },
    COMPACTION_MERGE, 16, "tombstone-dense run", "115,116" },
  { "tiered: a tombstone-dense oldest run is rewritten alone",
    LSM_COMPACTION_TIERED,
    { ROW(15, 115, "a", "z", 1, 1000, 0), ROW(16, 116, "a", "z", 10, 100, 60) },
    COMPACTION_MERGE, 16, "tombstone-dense run", "116" },
};

/* ---- building a version from rows ---- */

typedef struct shape {
  lsm_env *pEnv;
  table_cache *pCache;
  version *pV;
} shape;

static void make_meta(manifest_file *m, uint8_t *aLo, uint8_t *aHi, const table_row *r, int iNumber){
  memset(m, 0, sizeof(*m));
  m->iLevel = r->iLevel;
  m->iNumber = (uint64_t)iNumber;
  m->nFileBytes = (uint64_t)(r->mb * MB);
  m->nEntries = (uint64_t)r->nEntries;
  m->nTombstones = (uint64_t)r->nTombstones;
  ikey_build(aLo, r->zLo, strlen(r->zLo), 1, IKEY_VALUE);
  ikey_build(aHi, r->zHi, strlen(r->zHi), 1, IKEY_VALUE);
  m->pSmallest = aLo; m->nSmallest = strlen(r->zLo) + IKEY_TRAILER;
  m->pLargest = aHi; m->nLargest = strlen(r->zHi) + IKEY_TRAILER;
}

static void shape_build(shape *p, const table_row *aRow){
  table *apTable[256];
  version *pEmpty = NULL;
  int nTable = 0, i, j;
  memset(p, 0, sizeof(*p));
  p->pEnv = lsm_env_memory();
  ck_assert_ptr_nonnull(p->pEnv);
  ck_assert_int_eq(table_cache_new(p->pEnv, 16, UINT64_MAX, &p->pCache), LSM_OK);
  for(i = 0; aRow[i].iNumber; i++){
    int nCopy = aRow[i].nCopy ? aRow[i].nCopy : 1;
    for(j = 0; j < nCopy; j++){
      uint8_t aLo[64], aHi[64];
      manifest_file m;
      ck_assert_int_lt(nTable, 256);
      make_meta(&m, aLo, aHi, &aRow[i], aRow[i].iNumber + j);
      ck_assert_int_eq(table_new(p->pEnv, p->pCache, "/shape", &m, &apTable[nTable]), LSM_OK);
      nTable++;
    }
  }
  ck_assert_int_eq(version_new_empty(p->pEnv, &pEmpty), LSM_OK);
  ck_assert_int_eq(version_apply(pEmpty, NULL, 0, apTable, nTable, &p->pV), LSM_OK);
  version_unref(pEmpty);
  for(i = 0; i < nTable; i++) table_unref(apTable[i]);
}

static void shape_free(shape *p){
  version_unref(p->pV);
  table_cache_free(p->pCache);
  lsm_env_memory_free(p->pEnv);
}

static lsm_options policy_options(int ePolicy){
  lsm_options opt;
  lsm_options_default(&opt);
  opt.compaction = ePolicy;
  opt.memtable_bytes = 1u << 20;      /* level 1's target: 2.5 MiB */
  return opt;
}

/* Parse "1-4,101" into a sorted list of numbers. */
static int parse_numbers(const char *z, int *a, int nMax){
  int n = 0;
  while( z && *z ){
    char *zEnd;
    long lo = strtol(z, &zEnd, 10), hi = lo, k;
    if( *zEnd == '-' ) hi = strtol(zEnd + 1, &zEnd, 10);
    for(k = lo; k <= hi && n < nMax; k++) a[n++] = (int)k;
    z = *zEnd == ',' ? zEnd + 1 : zEnd;
  }
  return n;
}

static int cmp_int(const void *a, const void *b){
  return *(const int*)a - *(const int*)b;
}

START_TEST(each_level_shape_gets_its_expected_pick){
  const pick_case *c = &aCase[_i];
  lsm_options opt = policy_options(c->ePolicy);
  compaction_pick pick;
  shape sh;
  int aWant[256], aGot[256], nWant, i, bPicked;

  shape_build(&sh, c->aRow);
  bPicked = compaction_next(sh.pV, &opt, &pick);
  if( c->eKind == 0 ){
    ck_assert_msg(!bPicked, "%s: picked %d tables (%s)", c->zName, pick.nInput,
                  pick.zReason ? pick.zReason : "?");
  }else{
    ck_assert_msg(bPicked, "%s: nothing picked", c->zName);
    ck_assert_msg(pick.eKind == c->eKind, "%s: kind %d, want %d", c->zName, pick.eKind, c->eKind);
    ck_assert_msg(strcmp(pick.zReason, c->zReason) == 0, "%s: reason '%s', want '%s'",
                  c->zName, pick.zReason, c->zReason);
    for(i = 0; i < pick.nInput; i++){
      aGot[i] = (int)pick.apInput[i]->meta.iNumber;
      if( pick.eKind == COMPACTION_MOVE ){
        ck_assert_msg(pick.aiMoveLevel[i] == c->iOutputLevel, "%s: table %d moves to %d, want %d",
                      c->zName, aGot[i], pick.aiMoveLevel[i], c->iOutputLevel);
      }
    }
    if( pick.eKind == COMPACTION_MERGE ){
      /* Level-0 tables merged together make one table, never cut. */
      uint64_t nTarget = c->iOutputLevel == 0 ? 0 : compaction_pick_file_target(&opt);
      ck_assert_msg(pick.iOutputLevel == c->iOutputLevel, "%s: output level %d, want %d",
                    c->zName, pick.iOutputLevel, c->iOutputLevel);
      ck_assert_msg(pick.nTargetFileBytes == nTarget, "%s: output size %llu, want %llu",
                    c->zName, (unsigned long long)pick.nTargetFileBytes,
                    (unsigned long long)nTarget);
      ck_assert_msg(pick.nMaxGrandparentBytes == (c->ePolicy == LSM_COMPACTION_TIERED ? 0
                    : pick.nTargetFileBytes * COMPACTION_GRANDPARENT_FILES),
                    "%s: grandparent overlap limit %llu", c->zName,
                    (unsigned long long)pick.nMaxGrandparentBytes);
    }
    nWant = parse_numbers(c->zInputs, aWant, 256);
    qsort(aGot, (size_t)pick.nInput, sizeof(int), cmp_int);
    ck_assert_msg(pick.nInput == nWant, "%s: %d inputs, want %d", c->zName, pick.nInput, nWant);
    for(i = 0; i < nWant; i++){
      ck_assert_msg(aGot[i] == aWant[i], "%s: input %d is table %d, want %d",
                    c->zName, i, aGot[i], aWant[i]);
    }
    compaction_pick_clear(sh.pEnv, &pick);
  }
  shape_free(&sh);
}
END_TEST

START_TEST(full_compaction_takes_every_table_into_the_last_level){
  static const table_row aRow[] = {
    L0S(1, 3, "a", "m", 1), ROW(1, 101, "a", "c", 1, 100, 0), ROW(5, 501, "d", "z", 1, 100, 0),
    { 0, 0, NULL, NULL, 0, 0, 0, 0 },
  };
  lsm_options opt = policy_options(LSM_COMPACTION_LEVELED);
  compaction_pick pick;
  shape sh;
  shape_build(&sh, aRow);
  ck_assert(compaction_pick_full(sh.pV, &opt, &pick));
  ck_assert_int_eq(pick.eKind, COMPACTION_MERGE);
  ck_assert_int_eq(pick.iOutputLevel, LSM_MAX_LEVELS - 1);
  ck_assert_int_eq(pick.nInput, 5);
  compaction_pick_clear(sh.pEnv, &pick);
  shape_free(&sh);
}
END_TEST

START_TEST(full_compaction_of_an_empty_version_picks_nothing){
  static const table_row aRow[] = { { 0, 0, NULL, NULL, 0, 0, 0, 0 } };
  lsm_options opt = policy_options(LSM_COMPACTION_TIERED);
  compaction_pick pick;
  shape sh;
  shape_build(&sh, aRow);
  ck_assert(!compaction_pick_full(sh.pV, &opt, &pick));
  shape_free(&sh);
}
END_TEST

/*
** Each policy's level-0 thresholds.  A tiered store's level 0 gathers 12
** tables (or a window of 16 runs) before its picker merges it, so its
** writers must not stall below that: with the leveled thresholds (8 and
** 12) every tiered put slept while level 0 held 8 to 11 tables and no
** compaction was due (the amplification experiment's tiered store had not
** finished its 5M overwrites after 10 minutes).
*/
START_TEST(writers_slow_down_then_stop_as_level_0_grows){
  static const struct { int ePolicy, nL0, eStall; } a[] = {
    { LSM_COMPACTION_LEVELED, 0, COMPACTION_STALL_NONE },
    { LSM_COMPACTION_LEVELED, COMPACTION_L0_SLOWDOWN - 1, COMPACTION_STALL_NONE },
    { LSM_COMPACTION_LEVELED, COMPACTION_L0_SLOWDOWN, COMPACTION_STALL_SLOWDOWN },
    { LSM_COMPACTION_LEVELED, COMPACTION_L0_STOP - 1, COMPACTION_STALL_SLOWDOWN },
    { LSM_COMPACTION_LEVELED, COMPACTION_L0_STOP, COMPACTION_STALL_STOP },
    { LSM_COMPACTION_TIERED, 0, COMPACTION_STALL_NONE },
    { LSM_COMPACTION_TIERED, COMPACTION_L0_SLOWDOWN, COMPACTION_STALL_NONE },
    { LSM_COMPACTION_TIERED, COMPACTION_L0_STOP, COMPACTION_STALL_NONE },
    { LSM_COMPACTION_TIERED, 16, COMPACTION_STALL_NONE },
    { LSM_COMPACTION_TIERED, COMPACTION_TIERED_L0_SLOWDOWN - 1, COMPACTION_STALL_NONE },
    { LSM_COMPACTION_TIERED, COMPACTION_TIERED_L0_SLOWDOWN, COMPACTION_STALL_SLOWDOWN },
    { LSM_COMPACTION_TIERED, COMPACTION_TIERED_L0_STOP - 1, COMPACTION_STALL_SLOWDOWN },
    { LSM_COMPACTION_TIERED, COMPACTION_TIERED_L0_STOP, COMPACTION_STALL_STOP },
  };
  size_t i;
  for(i = 0; i < sizeof(a) / sizeof(a[0]); i++){
    lsm_options opt = policy_options(a[i].ePolicy);
    table_row aRow[2];
    shape sh;
    memset(aRow, 0, sizeof(aRow));
    if( a[i].nL0 ){
      table_row r = L0S(1, a[i].nL0, "a", "z", 1);
      aRow[0] = r;
    }
    shape_build(&sh, aRow);
    ck_assert_msg(compaction_write_stall(sh.pV, &opt) == a[i].eStall,
                  "policy %d, %d level-0 tables: stall %d, want %d", a[i].ePolicy,
                  a[i].nL0, compaction_write_stall(sh.pV, &opt), a[i].eStall);
    shape_free(&sh);
  }
}
END_TEST

/*
** Compaction debt: the bytes by which levels 1 and deeper exceed their
** targets, in level-1 targets (2.5 MiB under policy_options).  Each case
** is one level-1 table and one level-2 table (target 25 MiB), sized so
** that the debt is `debt` targets (split between the two levels when
** bSplit), with no level-0 table at all.  Tiered stores have no level
** targets: the same shapes never stall them.
*/
START_TEST(writers_slow_down_then_stop_as_compaction_debt_grows){
  static const struct { double debt; int bSplit, eStall; } a[] = {
    { 0.0, 0, COMPACTION_STALL_NONE },
    { COMPACTION_DEBT_SLOWDOWN - 0.01, 0, COMPACTION_STALL_NONE },
    { COMPACTION_DEBT_SLOWDOWN, 0, COMPACTION_STALL_SLOWDOWN },
    { COMPACTION_DEBT_SLOWDOWN, 1, COMPACTION_STALL_SLOWDOWN },
    { COMPACTION_DEBT_STOP - 0.01, 1, COMPACTION_STALL_SLOWDOWN },
    { COMPACTION_DEBT_STOP, 0, COMPACTION_STALL_STOP },
    { COMPACTION_DEBT_STOP, 1, COMPACTION_STALL_STOP },
  };
  lsm_options leveled = policy_options(LSM_COMPACTION_LEVELED);
  lsm_options tiered = policy_options(LSM_COMPACTION_TIERED);
  double l1 = (double)compaction_leveled_target(&leveled, 1) / MB;
  double l2 = (double)compaction_leveled_target(&leveled, 2) / MB;
  size_t i;
  for(i = 0; i < sizeof(a) / sizeof(a[0]); i++){
    /* Split: half the debt in each level; else all in level 1 and level
    ** 2 at half its target, which must count for nothing. */
    double d1 = a[i].bSplit ? a[i].debt / 2 : a[i].debt;
    table_row aRow[3];
    shape sh;
    memset(aRow, 0, sizeof(aRow));
    aRow[0] = (table_row)ROW(1, 101, "a", "z", l1 * (1.0 + d1), 100, 0);
    aRow[1] = (table_row)ROW(2, 201, "a", "z",
                             a[i].bSplit ? l2 + l1 * (a[i].debt - d1) : l2 / 2, 100, 0);
    shape_build(&sh, aRow);
    ck_assert_msg(compaction_write_stall(sh.pV, &leveled) == a[i].eStall,
                  "leveled, debt %.2f level-1 targets (split %d): stall %d, want %d",
                  a[i].debt, a[i].bSplit, compaction_write_stall(sh.pV, &leveled), a[i].eStall);
    ck_assert_msg(compaction_write_stall(sh.pV, &tiered) == COMPACTION_STALL_NONE,
                  "tiered, debt %.2f: stall %d, want none", a[i].debt,
                  compaction_write_stall(sh.pV, &tiered));
    shape_free(&sh);
  }
}
END_TEST

/*
** A writer is held back only while a compaction is due: a stall with
** nothing to run would end only when the stop forced work, and every
** slowed put would sleep in between (the tiered store did, with level 0
** at 8 to 11 tables, before each policy had thresholds of its own).  For
** random shapes of both policies: level 0 of 0..40 tables; leveled,
** levels 1-3 each empty or at 0.2x to 12x its target (the debt rule);
** tiered, 0..12 runs at the bottom levels, of sizes from 1 to 200 MiB.
** Whenever compaction_write_stall says slow down or stop, compaction_next
** must pick something.
*/
START_TEST(writers_stall_only_while_a_compaction_is_due){
  uint64_t seed = test_seed();
  test_rng rng;
  int iShape, nStalled = 0;
  rng_init(&rng, seed);
  for(iShape = 0; iShape < 2000; iShape++){
    int ePolicy = (iShape & 1) ? LSM_COMPACTION_TIERED : LSM_COMPACTION_LEVELED;
    lsm_options opt = policy_options(ePolicy);
    table_row aRow[MAX_ROWS];
    int nRow = 0, nL0 = (int)rng_below(&rng, 41), eStall, iLevel;
    compaction_pick pick;
    shape sh;
    memset(aRow, 0, sizeof(aRow));
    if( nL0 ) aRow[nRow++] = (table_row)L0S(1, nL0, "a", "z", 1);
    if( ePolicy == LSM_COMPACTION_LEVELED ){
      for(iLevel = 1; iLevel <= 3; iLevel++){
        double target = (double)compaction_leveled_target(&opt, iLevel) / MB;
        if( rng_below(&rng, 3) == 0 ) continue;
        aRow[nRow++] = (table_row)ROW(iLevel, 100 * iLevel + 1, "a", "z",
                                      target * (0.2 + (double)rng_below(&rng, 1180) / 100.0),
                                      1000, 0);
      }
    }else{
      int nRun = (int)rng_below(&rng, 13);
      for(iLevel = LSM_MAX_LEVELS - nRun; iLevel < LSM_MAX_LEVELS; iLevel++){
        aRow[nRow++] = (table_row)RUN(iLevel, 1.0 + (double)rng_below(&rng, 200));
      }
    }
    shape_build(&sh, aRow);
    eStall = compaction_write_stall(sh.pV, &opt);
    if( eStall != COMPACTION_STALL_NONE ){
      int bPicked = compaction_next(sh.pV, &opt, &pick);
      nStalled++;
      SEED_ASSERT(bPicked, "shape %d (policy %d, %d level-0 tables, %d rows): writers "
                  "stall (%d) but no compaction is due", (unsigned long long)seed, iShape,
                  ePolicy, nL0, nRow, eStall);
      compaction_pick_clear(sh.pEnv, &pick);
    }
    shape_free(&sh);
  }
  /* The shapes must reach the stall, of both policies, for the check to
  ** mean anything. */
  SEED_ASSERT(nStalled > 200, "only %d of 2000 shapes stalled", (unsigned long long)seed,
              nStalled);
}
END_TEST

/* ---- Where the merge cuts its outputs ---- */

#define CUT_KEYS 10000          /* keys merged: "k00000" .. "k09999"        */
#define CUT_VALUE_BYTES 100

static uint64_t cut_next_number(void *pCtx){
  uint64_t *p = (uint64_t*)pCtx;
  return ++*p;
}

/* Index of user key "k%05d". */
static int cut_key_index(const uint8_t *p, size_t n){
  ck_assert_uint_eq(n, 6);
  return atoi((const char*)p + 1);
}

/*
** Merge CUT_KEYS keys into level 1 over level-2 tables of nPerGrand keys
** each (nGrandBytes bytes each, metadata only), outputs split at
** nTarget bytes and at nMaxGrand bytes of grandparent overlap.  Returns
** the outputs' first and last key indexes in aLo/aHi and their sizes in
** aBytes; the count is the return value.
*/
static int cut_run(int nPerGrand, double nGrandMb, uint64_t nTarget, uint64_t nMaxGrand,
                   int *aLo, int *aHi, uint64_t *aBytes, int nMax){
  table_row aRow[257];
  char azLo[256][8], azHi[256][8];
  uint8_t aVal[CUT_VALUE_BYTES];
  compaction_job job;
  compaction_result res;
  memtable *pMem = NULL;
  uint64_t iNumber = 10000;
  shape sh;
  int i, nGrand = CUT_KEYS / nPerGrand, rc = LSM_OK;
  ck_assert_int_le(nGrand, 256);

  memset(aRow, 0, sizeof(aRow));
  for(i = 0; i < nGrand; i++){
    snprintf(azLo[i], sizeof(azLo[i]), "k%05d", i * nPerGrand);
    snprintf(azHi[i], sizeof(azHi[i]), "k%05d", i * nPerGrand + nPerGrand - 1);
    aRow[i].iLevel = 2;
    aRow[i].iNumber = 1000 + i;
    aRow[i].zLo = azLo[i];
    aRow[i].zHi = azHi[i];
    aRow[i].mb = nGrandMb;
    aRow[i].nEntries = nPerGrand;
  }
  shape_build(&sh, aRow);
  ck_assert_int_eq(sh.pEnv->xMkdir(sh.pEnv, "/out"), LSM_OK);
  ck_assert_int_eq(memtable_new(sh.pEnv, &pMem), LSM_OK);
  memset(aVal, 'v', sizeof(aVal));
  for(i = 0; i < CUT_KEYS; i++){
    char zKey[8];
    snprintf(zKey, sizeof(zKey), "k%05d", i);
    ck_assert_int_eq(memtable_add(pMem, (uint64_t)i + 1, IKEY_VALUE, zKey, 6, aVal, sizeof(aVal)),
                     LSM_OK);
  }

  memset(&job, 0, sizeof(job));
  job.out.pEnv = sh.pEnv;
  job.out.zDir = "/out";
  job.out.pCache = sh.pCache;
  job.out.sstOpt.block_bytes = 4096;
  job.out.sstOpt.bloom_bits = 10;
  job.out.sstOpt.compression = LSM_COMPRESSION_NONE;
  job.out.xNewFileNumber = cut_next_number;
  job.out.pCtx = &iNumber;
  job.pInput = memtable_iter(pMem, &rc);
  ck_assert_int_eq(rc, LSM_OK);
  job.smallestSnapshot = CUT_KEYS;
  job.iOutputLevel = 1;
  job.pVersion = sh.pV;
  job.nTargetFileBytes = nTarget;
  job.nMaxGrandparentBytes = nMaxGrand;
  ck_assert_int_eq(compaction_run(&job, &res), LSM_OK);
  ck_assert_int_le(res.nOut, nMax);
  for(i = 0; i < res.nOut; i++){
    const manifest_file *m = &res.apOut[i]->meta;
    aLo[i] = cut_key_index(m->pSmallest, ikey_user_len(m->nSmallest));
    aHi[i] = cut_key_index(m->pLargest, ikey_user_len(m->nLargest));
    aBytes[i] = m->nFileBytes;
  }
  i = res.nOut;
  compaction_job_clear(&job);
  compaction_result_clear(sh.pEnv, &res);
  memtable_unref(pMem);
  shape_free(&sh);
  return i;
}

/* Bytes of an output of 1000 of the test's entries, measured. */
static uint64_t cut_bytes_per_1000(void){
  int aLo[4], aHi[4];
  uint64_t aBytes[4];
  int n = cut_run(CUT_KEYS, 0.1, 0, 0, aLo, aHi, aBytes, 4);
  ck_assert_int_eq(n, 1);
  return aBytes[0] / (CUT_KEYS / 1000);
}

START_TEST(outputs_end_where_grandparent_tables_end){
  /* Grandparents of 1000 keys; the target is 1.5 times 1000 keys' bytes:
  ** without the boundary rule outputs would hold ~1500 keys each.  With
  ** it, each output passes half its target inside one grandparent table
  ** and ends where that table ends. */
  uint64_t nTarget = cut_bytes_per_1000() * 3 / 2;
  int aLo[64], aHi[64], i, n;
  uint64_t aBytes[64];
  n = cut_run(1000, 0.1, nTarget, nTarget * COMPACTION_GRANDPARENT_FILES, aLo, aHi, aBytes, 64);
  ck_assert_int_eq(n, CUT_KEYS / 1000);
  for(i = 0; i < n; i++){
    ck_assert_msg(aLo[i] == i * 1000 && aHi[i] == i * 1000 + 999,
                  "output %d holds keys %d..%d, want %d..%d", i, aLo[i], aHi[i], i * 1000,
                  i * 1000 + 999);
  }
}
END_TEST

START_TEST(outputs_are_not_cut_below_half_their_target_at_boundaries){
  /* Grandparents of 200 keys, target 1.5 times 1000 keys' bytes: every
  ** output but the last holds at least half its target and ends where a
  ** grandparent table ends (key index 199 mod 200). */
  uint64_t nTarget = cut_bytes_per_1000() * 3 / 2;
  int aLo[128], aHi[128], i, n;
  uint64_t aBytes[128];
  n = cut_run(200, 0.02, nTarget, nTarget * COMPACTION_GRANDPARENT_FILES, aLo, aHi, aBytes, 128);
  ck_assert_int_gt(n, 1);
  for(i = 0; i + 1 < n; i++){
    ck_assert_msg(aBytes[i] >= nTarget / 2, "output %d: %llu bytes, below half of %llu", i,
                  (unsigned long long)aBytes[i], (unsigned long long)nTarget);
    ck_assert_msg(aHi[i] % 200 == 199, "output %d ends at key %d, inside a grandparent table",
                  i, aHi[i]);
    ck_assert_int_eq(aLo[i + 1], aHi[i] + 1);
  }
}
END_TEST

START_TEST(outputs_are_cut_before_they_overlap_too_much_of_the_grandparent_level){
  /* Grandparents of 100 keys and 0.5 MiB each (metadata), a target no
  ** output reaches, a limit of 1.6 MiB: an output is cut before the key
  ** that takes it past a fourth grandparent table (2 MiB), so each holds
  ** 400 keys. */
  int aLo[64], aHi[64], i, n;
  uint64_t aBytes[64];
  n = cut_run(100, 0.5, 1u << 30, (uint64_t)(1.6 * MB), aLo, aHi, aBytes, 64);
  ck_assert_int_eq(n, CUT_KEYS / 400);
  for(i = 0; i < n; i++){
    ck_assert_msg(aLo[i] == i * 400 && aHi[i] == i * 400 + 399,
                  "output %d holds keys %d..%d, want %d..%d", i, aLo[i], aHi[i], i * 400,
                  i * 400 + 399);
  }
}
END_TEST

/* An output cut by size starts the next one with no grandparent bytes
** counted: grandparent tables of 350 keys (0.5 MiB each), a target of 300
** keys' bytes, a limit of 0.6 MiB.  The output ending by size at about key
** 600 crossed one grandparent (0.5 MiB); the next one crosses one at key
** 700, 100 keys in: 0.5 MiB is under the limit, so no cut is due there,
** and every output but the last holds at least half its target. */
START_TEST(an_output_cut_by_size_starts_with_no_grandparent_overlap_counted){
  uint64_t nTarget = cut_bytes_per_1000() * 3 / 10;
  int aLo[128], aHi[128], i, n;
  uint64_t aBytes[128];
  n = cut_run(350, 0.5, nTarget, (uint64_t)(0.6 * MB), aLo, aHi, aBytes, 128);
  ck_assert_int_gt(n, 2);
  for(i = 0; i + 1 < n; i++){
    ck_assert_msg(aBytes[i] >= nTarget / 2, "output %d (keys %d..%d): %llu bytes, below half of %llu",
                  i, aLo[i], aHi[i], (unsigned long long)aBytes[i], (unsigned long long)nTarget);
  }
}
END_TEST

static Suite *compaction_pick_suite(void){
  Suite *s = suite_create("compaction_pick");
  TCase *tc = tcase_create("pick");
  tcase_add_loop_test(tc, each_level_shape_gets_its_expected_pick, 0,
                      (int)(sizeof(aCase) / sizeof(aCase[0])));
  tcase_add_test(tc, full_compaction_takes_every_table_into_the_last_level);
  tcase_add_test(tc, full_compaction_of_an_empty_version_picks_nothing);
  tcase_add_test(tc, writers_slow_down_then_stop_as_level_0_grows);
  tcase_add_test(tc, writers_slow_down_then_stop_as_compaction_debt_grows);
  tcase_add_test(tc, writers_stall_only_while_a_compaction_is_due);
  tcase_add_test(tc, outputs_end_where_grandparent_tables_end);
  tcase_add_test(tc, outputs_are_not_cut_below_half_their_target_at_boundaries);
  tcase_add_test(tc, outputs_are_cut_before_they_overlap_too_much_of_the_grandparent_level);
  tcase_add_test(tc, an_output_cut_by_size_starts_with_no_grandparent_overlap_counted);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(compaction_pick_suite)
