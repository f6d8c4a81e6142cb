/*
** compaction_leveled.c — the leveled compaction policy (after LevelDB
** and RocksDB).  Entry point: compaction_leveled_pick.
**
**   - level 0 is compacted into level 1 once it holds
**     LEVELED_L0_TRIGGER tables of data, or its tables of tombstones
**     (at least LEVELED_L0_TOMBSTONES of a table's entries) hold as many
**     bytes as the level-1 tables under level 0, or it holds
**     LEVELED_L0_FULL tables (level0_due): all of level 0 plus every
**     level-1 table overlapping their key range (level-0 tables overlap
**     each other, so they move down together);
**   - while level 0 waits, its newest LEVELED_L0_TRIGGER or more tables
**     of tombstones in a row merge together into one level-0 table
**     (pick_level0_tombstones);
**   - level i >= 1 is compacted when it exceeds its target size
**     (compaction_leveled_target: 2.5 memtables for level 1, level_ratio
**     times the level above for each deeper level).  Of its tables, the
**     one whose overlap with level i+1 is smallest relative to its own
**     size goes down (RocksDB's kMinOverlappingRatio), which keeps write
**     amplification low: the bytes rewritten per byte moved are smallest;
**   - scores: level 0 = tables / trigger once it is due (0 while it
**     waits: level0_due), level i = bytes / target; the
**     highest score >= 1 runs first, except that level 0 goes first from
**     the write-slowdown point on (LEVELED_L0_PRIORITY);
**   - inputs that overlap nothing in the level below, nor each other,
**     are moved by editing the manifest, not rewritten;
**   - when nothing is due, a tombstone-dense table is merged with every
**     table under its key range down to the bottom, if that pays
**     (compaction_pick.h, COMPACTION_DEAD_FRACTION).
** Levels are filled from the top: the last of LSM_MAX_LEVELS would hold
** level_ratio^15 times level 1, so the deepest levels stay empty.
*/
#include "compaction_leveled.h"


#define LEVELED_L0_TRIGGER 4    /* level-0 tables that start a compaction */
/* Level 0 goes before any other level once it holds this many tables.
** Not sooner: when writers outrun the worker, forcing level 0 first made
** every level-0 compaction rewrite an ever larger level 1 (it reached
** 470 MB, its target being 10 MB: level-1 write amplification 5.6 of the
** 10.7 total at 5M keys).  Ordering by score instead lets level 0 grow,
** and a merge of many level-0 tables into a level 1 near its target is
** cheap per byte; at the slowdown point writers come first again.  That
** growth of level 1 is now bounded by the writers' debt stall
** (compaction_pick.h, COMPACTION_DEBT_SLOWDOWN): with the slowdown at 8
** level-0 tables, level 0 goes first more often. */
#define LEVELED_L0_PRIORITY COMPACTION_L0_SLOWDOWN

/*
** Level 0 of tombstones waits.  A level-0 table whose entries are at
** least LEVELED_L0_TOMBSTONES tombstones (and at least
** COMPACTION_TOMBSTONE_MIN_ENTRIES entries) is a table of tombstones,
** any other a table of data.  Level 0 is due for level 1 when its tables
** of data reach LEVELED_L0_TRIGGER, or its tables of tombstones hold as
** many bytes as the level-1 tables under level 0's key range, or it
** holds LEVELED_L0_FULL tables (level0_due); until then it waits for
** more flushes, and its newest tables of tombstones merge together
** (pick_level0_tombstones, below).  Tables of data under tables of
** tombstones are judged by their own count, not by the bytes of both:
** counted together, the two tables of data a settle left in level 0
** (make bench's store before its deletes) made the third flush of
** tombstones rewrite all of level 1 and push it into level 2 (prof_compact
** 1000000 deleterandom: 34.6 MB written for 8 MB of deletes).  A level-0
** compaction rewrites those level-1 tables whole, so it writes (level-0
** bytes + level-1 overlap) / level-0 bytes per byte it brings down.  Four
** flushes of data outweigh a level 1 at its target when stored raw (3.2 MB
** each for a 4 MiB memtable of 16 + 100 byte entries against 10 MiB); a
** flush of tombstones is a third of that (12.5 bytes each on disk, about
** 42 in the memtable): counted as tables, four of them made a level-0
** compaction that rewrote the whole of a full level 1 for 5 MB of
** tombstones and pushed it over its target into level 2.  Waiting, more
** tombstones meet level 1 per rewrite of it, and each drops the older
** version it finds there.  Data stays on the plain count: compressed data
** flushes weigh less than level 1 too, and letting them wait (tried:
** README) grows level 0 while writes run, which seeks and scans pay for.
** Hence three quarters, stricter than compaction_pick.h's tombstone-dense
** half: half the entries tombstones is a put/delete mix whose bytes are
** mostly data (a 100-byte value and a 16-byte key per put), and waiting
** made its level 0 twice as deep (in a reviewer's run of 50% deletes, 6
** tables at most instead of 3).  Counts, not bytes: a table's metadata has its raw
** key + value bytes but not how many of them are its tombstones' keys.
** When level 0 becomes due by weight, a compaction writes at most 2 bytes
** per level-0 byte; at the cap it may write more (4 in
** test_compaction_pick.c's case "twice the trigger of level-0 tables of
** tombstones merge whatever level 1 holds"): the cap bounds depth, not
** cost.  The cap keeps reads bounded while compaction keeps up (background
** off, or a worker that is idle when level 0 becomes due): a get then
** probes at most LEVELED_L0_FULL - 1 level-0 tables of tombstones (Bloom
** filters first); a busy worker lets level 0 grow past it, up to the
** writers' slowdown and stop (COMPACTION_L0_SLOWDOWN and _STOP), as for
** data.
** Measured (make prof-compact, 1M keys deleterandom: the bench's
** fillrandom, overwrite and 500,000 random deletes, background off): bytes
** written by the deletes' compactions 52,564,416 -> 34,642,438 (tables of
** tombstones waiting by bytes) -> 4,737,024 (tables of data by count and
** tables of tombstones merged together: README, "Level 0 of tombstones
** merged together"); fillrandom's and overwrite's unchanged to the byte.
*/
#define LEVELED_L0_TOMBSTONES 0.75
/* ext/dbstore.c's DBSTORE_L0_BEHIND (from there a COMMIT that flushed
** compacts too) is LEVELED_L0_FULL + LEVELED_L0_TRIGGER, above the cap,
** so that a level 0 one flush makes due at the cap is compacted by the
** next COMMIT, not the one that flushed: change them together. */
#define LEVELED_L0_FULL (2 * LEVELED_L0_TRIGGER)

uint64_t compaction_leveled_target(const lsm_options *pOpt, int iLevel){
  /* Level 1 is 2.5 memtables (LevelDB's 10 MiB for its 4 MiB buffer): a
  ** level-0 compaction (4 memtables) then rewrites at most as much of
  ** level 1 as it brings, so it finishes before level 0 fills again. */
  uint64_t n = pOpt->memtable_bytes > UINT64_MAX / 5 ? UINT64_MAX : pOpt->memtable_bytes * 5 / 2;
  int i;
  if( n < 256 * 1024 ) n = 256 * 1024;
  for(i = 1; i < iLevel; i++){
    /* Saturate: level_ratio 8 took level 16 past 2^64, and the target
    ** wrapped to 0, which made every table there "over target". */
    if( n > UINT64_MAX / (uint64_t)pOpt->level_ratio ) return UINT64_MAX;
    n *= (uint64_t)pOpt->level_ratio;
  }
  return n;
}

uint64_t compaction_leveled_debt(const version *pV, const lsm_options *pOpt){
  uint64_t nDebt = 0;
  int iLevel, iDeepest = version_deepest_level(pV);
  /* The levels compaction_leveled_pick scores: not the last one, whose
  ** target is UINT64_MAX anyway. */
  for(iLevel = 1; iLevel <= iDeepest && iLevel < LSM_MAX_LEVELS - 1; iLevel++){
    uint64_t n = version_level_bytes(pV, iLevel);
    uint64_t nTarget = compaction_leveled_target(pOpt, iLevel);
    if( n > nTarget ) nDebt += n - nTarget;
  }
  return nDebt;
}

/* Bytes of the tables of level iLevel overlapping p's key range. */
static uint64_t overlap_bytes(version *pV, int iLevel, const table *p){
  size_t nLo, nHi;
  const uint8_t *pLo = table_smallest_user(p, &nLo);
  const uint8_t *pHi = table_largest_user(p, &nHi);
  uint64_t n = 0;
  int i;
  for(i = 0; i < version_level_count(pV, iLevel); i++){
    table *q = version_table(pV, iLevel, i);
    if( table_overlaps(q, pLo, nLo, pHi, nHi) ) n += q->meta.nFileBytes;
  }
  return n;
}

/* True if level-0 table p holds tombstones for at least
** LEVELED_L0_TOMBSTONES of its entries (and enough entries to judge). */
static int level0_tombstone_table(const table *p){
  return p->meta.nEntries >= COMPACTION_TOMBSTONE_MIN_ENTRIES
      && (double)p->meta.nTombstones >= LEVELED_L0_TOMBSTONES * (double)p->meta.nEntries;
}

/* True if level 0 is due for level 1 (see "Level 0 of tombstones waits"
** above): at LEVELED_L0_FULL tables, or when its tables of data reach
** LEVELED_L0_TRIGGER, or when its tables of tombstones (at least
** LEVELED_L0_TRIGGER tables in all) hold as many bytes as the level-1
** tables under level 0's key range. */
static int level0_due(version *pV){
  int nL0 = version_level_count(pV, 0), nData = 0, i;
  const uint8_t *pLo, *pHi;
  size_t nLo, nHi;
  uint64_t nTombBytes = 0, nOverlap = 0;
  if( nL0 < LEVELED_L0_TRIGGER ) return 0;
  if( nL0 >= LEVELED_L0_FULL ) return 1;
  for(i = 0; i < nL0; i++){
    const table *p = version_table(pV, 0, i);
    if( level0_tombstone_table(p) ){
      nTombBytes += p->meta.nFileBytes;
    }else{
      nData++;
    }
  }
  if( nData >= LEVELED_L0_TRIGGER ) return 1;
  compaction_pick_range(pV->aapFile[0], nL0, &pLo, &nLo, &pHi, &nHi);
  for(i = 0; i < version_level_count(pV, 1) && nOverlap <= nTombBytes; i++){
    table *q = version_table(pV, 1, i);
    if( table_overlaps(q, pLo, nLo, pHi, nHi) ) nOverlap += q->meta.nFileBytes;
  }
  return nTombBytes >= nOverlap;
}

/*
** Level 0 waits (at LEVELED_L0_TRIGGER tables or more, not due): its
** newest tables of tombstones are merged into one level-0 table when at
** least LEVELED_L0_TRIGGER of them come one after another, newest first
** (RocksDB's intra-L0 compaction).  A get then probes one table for them,
** a seek positions one, and the merge writes only their bytes (a flush of
** tombstones is a third of a flush of data), not the level-1 tables
** under them.  The run stops at a table of data (level-0 tables are
** searched newest first by file number, and the output, numbered after
** every input, must be newer than all it passes over: db_work.c
** installs it only if no flush came meanwhile) and before a table that
** holds more bytes than both compaction_pick_file_target (an output's
** target size, at least 256 KiB: a flush of tombstones holds less) and
** the newer tables of the run together.  So a merged table larger than
** that target is merged again only with at least as many newer bytes;
** one at or below it is merged again with every later run of 4 whatever
** that run holds (rewritten until it passes the target).  0 if there is
** no such run (or no memory).
*/
static int pick_level0_tombstones(version *pV, const lsm_options *pOpt, compaction_pick *pPick){
  int nL0 = version_level_count(pV, 0), n = 0, i;
  uint64_t nRun = 0, nSmall = compaction_pick_file_target(pOpt);
  while( n < nL0 ){
    const table *p = version_table(pV, 0, n);     /* newest first */
    if( !level0_tombstone_table(p) ) break;
    if( p->meta.nFileBytes > nSmall && p->meta.nFileBytes > nRun ) break;
    nRun += p->meta.nFileBytes;
    n++;
  }
  if( n < LEVELED_L0_TRIGGER ) return 0;
  if( !compaction_pick_alloc(pV, pPick, n) ) return 0;
  for(i = 0; i < n; i++) compaction_pick_add(pPick, version_table(pV, 0, i));
  pPick->eKind = COMPACTION_MERGE;
  pPick->iOutputLevel = 0;
  return 1;
}

/* True if no two of the tables overlap. */
static int tables_disjoint(table **ap, int n){
  int i, j;
  for(i = 0; i < n; i++){
    size_t nLo, nHi;
    const uint8_t *pLo = table_smallest_user(ap[i], &nLo);
    const uint8_t *pHi = table_largest_user(ap[i], &nHi);
    for(j = i + 1; j < n; j++){
      if( table_overlaps(ap[j], pLo, nLo, pHi, nHi) ) return 0;
    }
  }
  return 1;
}

/* Merge pFirst (and, for level 0, the rest of level 0) into iLevel + 1
** with what overlaps there; or move it if nothing overlaps. */
static int pick_down(version *pV, int iLevel, table *pFirst, compaction_pick *pPick){
  const uint8_t *pLo, *pHi;
  size_t nLo, nHi;
  int i, nOwn;
  if( !compaction_pick_alloc(pV, pPick, version_table_count(pV)) ) return 0;
  if( iLevel == 0 ){
    /* Level-0 tables overlap each other: they go down together. */
    for(i = 0; i < version_level_count(pV, 0); i++) compaction_pick_add(pPick, version_table(pV, 0, i));
  }else{
    compaction_pick_add(pPick, pFirst);
  }
  compaction_pick_range(pPick->apInput, pPick->nInput, &pLo, &nLo, &pHi, &nHi);
  nOwn = pPick->nInput;
  for(i = 0; i < version_level_count(pV, iLevel + 1); i++){
    table *p = version_table(pV, iLevel + 1, i);
    if( table_overlaps(p, pLo, nLo, pHi, nHi) ) compaction_pick_add(pPick, p);
  }
  if( pPick->nInput == nOwn && tables_disjoint(pPick->apInput, nOwn) ){
    /* Nothing below overlaps and the inputs do not overlap each other
    ** (sequential inserts): move them, rewrite nothing. */
    pPick->eKind = COMPACTION_MOVE;
    for(i = 0; i < nOwn; i++) pPick->aiMoveLevel[i] = iLevel + 1;
    return 1;
  }
  pPick->eKind = COMPACTION_MERGE;
  pPick->iOutputLevel = iLevel + 1;
  return 1;
}

/*
** The range compaction for a tombstone-dense table p at iLevel: every
** table of levels iLevel..bottom that overlaps the key range, the range
** growing until it is closed under overlap (so the outputs at the bottom
** stay disjoint from the tables left there).  0 if the tombstones are
** fewer than COMPACTION_DEAD_FRACTION of the live entries in the range:
** then the rewrite would not pay.
*/
static int pick_tombstone_chain(version *pV, int iLevel, table *p, compaction_pick *pPick){
  const uint8_t *pLo, *pHi;
  size_t nLo, nHi;
  uint64_t nDead = 0, nBelow = 0;
  int iL, j, iOut = iLevel, nBefore;
  if( !compaction_pick_alloc(pV, pPick, version_table_count(pV)) ) return 0;
  compaction_pick_add(pPick, p);
  do{
    nBefore = pPick->nInput;
    compaction_pick_range(pPick->apInput, pPick->nInput, &pLo, &nLo, &pHi, &nHi);
    for(iL = iLevel; iL < LSM_MAX_LEVELS; iL++){
      for(j = 0; j < version_level_count(pV, iL); j++){
        table *q = version_table(pV, iL, j);
        if( !compaction_pick_has(pPick, q) && table_overlaps(q, pLo, nLo, pHi, nHi) ){
          compaction_pick_add(pPick, q);
          if( iL > iOut ) iOut = iL;
        }
      }
    }
  }while( pPick->nInput > nBefore );
  /* Tombstones against the live entries of every input, at any level: the
  ** bottom level need not hold most of the data (leveled sizes levels
  ** from the top). */
  for(j = 0; j < pPick->nInput; j++){
    const manifest_file *m = &pPick->apInput[j]->meta;
    nDead += m->nTombstones;
    nBelow += m->nEntries - m->nTombstones;
  }
  if( iOut > iLevel && (double)nDead < COMPACTION_DEAD_FRACTION * (double)nBelow ){
    compaction_pick_clear(pV->pEnv, pPick);
    return 0;
  }
  pPick->eKind = COMPACTION_MERGE;
  /* Never into level 0, whose tables are searched in file-number order:
  ** an output numbered after a flush that ran beside this compaction
  ** would hide that flush's newer data from lsm_get.  Level 1 takes it as
  ** it is: the range is closed under overlap, so no level-1 table
  ** overlaps it. */
  pPick->iOutputLevel = iOut > 0 ? iOut : 1;
  return 1;
}

int compaction_leveled_pick(version *pV, const lsm_options *pOpt, compaction_pick *pPick){
  int iLevel, iBest = -1, i, iDeepest = version_deepest_level(pV);
  int nL0 = version_level_count(pV, 0);
  double bestScore = 0.0;
  table *pChosen = NULL;

  for(iLevel = 0; iLevel < LSM_MAX_LEVELS - 1; iLevel++){
    double score;
    if( iLevel == 0 ){
      score = level0_due(pV) ? (double)nL0 / LEVELED_L0_TRIGGER : 0.0;
    }else{
      score = (double)version_level_bytes(pV, iLevel)
            / (double)compaction_leveled_target(pOpt, iLevel);
    }
    if( score >= 1.0 && score > bestScore ){ bestScore = score; iBest = iLevel; }
  }
  /* Level 0 goes first at the slowdown point (see LEVELED_L0_PRIORITY):
  ** writers wait on level 0, never on deeper levels, which may run over
  ** target a while. */
  if( nL0 >= LEVELED_L0_PRIORITY ){
    iBest = 0;
    bestScore = (double)nL0 / LEVELED_L0_TRIGGER;
  }
  if( iBest >= 0 ){
    if( iBest > 0 ){
      double bestRatio = 0.0;
      for(i = 0; i < version_level_count(pV, iBest); i++){
        table *p = version_table(pV, iBest, i);
        double ratio = (double)overlap_bytes(pV, iBest + 1, p) / (double)(p->meta.nFileBytes + 1);
        if( pChosen == NULL || ratio < bestRatio ){ pChosen = p; bestRatio = ratio; }
      }
    }
    if( !pick_down(pV, iBest, pChosen, pPick) ) return 0;
    pPick->score = bestScore;
    pPick->zReason = iBest == 0 ? "level-0 table count" : "level size over target";
    return 1;
  }

  /* Level 0 waits: its newest tables of tombstones merge together. */
  if( nL0 >= LEVELED_L0_TRIGGER && pick_level0_tombstones(pV, pOpt, pPick) ){
    pPick->score = (double)nL0 / LEVELED_L0_TRIGGER;
    pPick->zReason = "level-0 tables of tombstones merged together";
    return 1;
  }

  /* Deletion-triggered: a tombstone-dense table is merged with every
  ** table under its key range down to the bottom, in one compaction, so
  ** its tombstones meet the data they delete and both go (when it pays:
  ** see pick_tombstone_chain). */
  for(iLevel = 0; iLevel <= iDeepest; iLevel++){
    for(i = 0; i < version_level_count(pV, iLevel); i++){
      table *p = version_table(pV, iLevel, i);
      if( iLevel == 0 && iDeepest == 0 ) break;    /* nothing below to delete */
      if( compaction_pick_tombstone_dense(p->meta.nEntries, p->meta.nTombstones)
       && pick_tombstone_chain(pV, iLevel, p, pPick) ){
        pPick->score = 1.0;
        pPick->zReason = "tombstone-dense table";
        return 1;
      }
    }
  }
  return 0;
}
