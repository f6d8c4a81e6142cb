/*
** version.c — versions (the live SSTables by level), the level iterator
** and the point-lookup path through the levels.  See version.h for the
** lifetime rules and invariants, table.c for the tables themselves.
*/
#include "version.h"

#include <assert.h>
#include <string.h>

#include "env.h"
#include "ikey.h"

/* ------------------------------------------------------------------ */
/* Versions                                                            */
/* ------------------------------------------------------------------ */

int version_new_empty(lsm_env *pEnv, version **ppVersion){
  int rc = LSM_OK;
  version *p = env_malloc_rc(pEnv, sizeof(version), &rc);
  *ppVersion = p;
  if( p ){
    atomic_init(&p->nRef, 1);
    p->pEnv = pEnv;
  }
  return rc;
}

void version_ref(version *p){
  atomic_fetch_add_explicit(&p->nRef, 1, memory_order_relaxed);
}

void version_unref(version *p){
  int iLevel, i;
  if( p == NULL ) return;
  if( atomic_fetch_sub_explicit(&p->nRef, 1, memory_order_acq_rel) != 1 ) return;
  for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++){
    for(i = 0; i < p->anFile[iLevel]; i++) table_unref(p->aapFile[iLevel][i]);
    env_free(p->pEnv, p->aapFile[iLevel]);
  }
  env_free(p->pEnv, p);
}

static int table_in(table *p, table **ap, int n){
  int i;
  for(i = 0; i < n; i++) if( ap[i] == p ) return 1;
  return 0;
}

/* Order of tables within a level: L0 newest (highest number) first;
** deeper levels by smallest key. */
static int table_order(int iLevel, const table *a, const table *b){
  if( iLevel == 0 ){
    return a->meta.iNumber > b->meta.iNumber ? -1 : (a->meta.iNumber < b->meta.iNumber);
  }
  return ikey_compare(a->meta.pSmallest, a->meta.nSmallest, b->meta.pSmallest, b->meta.nSmallest);
}

int version_apply(version *pBase, table **apRemove, int nRemove,
                  table **apAdd, int nAdd, version **ppNew){
  lsm_env *pEnv = pBase->pEnv;
  version *pNew = NULL;
  int rc = version_new_empty(pEnv, &pNew);
  int iLevel, i, j;
  *ppNew = NULL;
  for(iLevel = 0; rc == LSM_OK && iLevel < LSM_MAX_LEVELS; iLevel++){
    int nMax = pBase->anFile[iLevel];
    table **ap;
    int n = 0;
    for(i = 0; i < nAdd; i++) if( apAdd[i]->meta.iLevel == iLevel ) nMax++;
    if( nMax == 0 ) continue;
    ap = env_malloc_rc(pEnv, sizeof(table*) * (size_t)nMax, &rc);
    if( ap == NULL ) break;
    for(i = 0; i < pBase->anFile[iLevel]; i++){
      table *p = pBase->aapFile[iLevel][i];
      if( !table_in(p, apRemove, nRemove) ){ table_ref(p); ap[n++] = p; }
    }
    for(i = 0; i < nAdd; i++){
      if( apAdd[i]->meta.iLevel == iLevel ){ table_ref(apAdd[i]); ap[n++] = apAdd[i]; }
    }
    /* Insertion sort: levels hold tens of tables, and are mostly sorted. */
    for(i = 1; i < n; i++){
      table *p = ap[i];
      for(j = i; j > 0 && table_order(iLevel, ap[j - 1], p) > 0; j--) ap[j] = ap[j - 1];
      ap[j] = p;
    }
    pNew->aapFile[iLevel] = ap;
    pNew->anFile[iLevel] = n;
    for(i = 0; i < n; i++) pNew->anByte[iLevel] += ap[i]->meta.nFileBytes;
  }
  if( rc != LSM_OK ){
    version_unref(pNew);
    return rc;
  }
  version_check_invariants(pNew);
  *ppNew = pNew;
  return LSM_OK;
}

int version_to_manifest(version *p, manifest_state *pState){
  lsm_env *pEnv = p->pEnv;
  int nFile = version_table_count(p), iLevel, i, rc = LSM_OK;
  pState->aFile = env_malloc_rc(pEnv, sizeof(manifest_file) * (size_t)(nFile ? nFile : 1), &rc);
  pState->nFile = 0;
  for(iLevel = 0; rc == LSM_OK && iLevel < LSM_MAX_LEVELS; iLevel++){
    for(i = 0; rc == LSM_OK && i < p->anFile[iLevel]; i++){
      manifest_file *pDst = &pState->aFile[pState->nFile++];
      table_meta_copy(pEnv, &p->aapFile[iLevel][i]->meta, pDst, &rc);
      pDst->iLevel = iLevel;
    }
  }
  return rc;
}

/* Index of the first table in sorted level iLevel whose largest user key
** is >= pKey (anFile[iLevel] if none). */
static int level_find(const version *p, int iLevel, const void *pKey, size_t nKey){
  int lo = 0, hi = p->anFile[iLevel];
  while( lo < hi ){
    int mid = (lo + hi) / 2;
    size_t n;
    const uint8_t *pHi = table_largest_user(p->aapFile[iLevel][mid], &n);
    if( ikey_compare_user_inline(pHi, n, pKey, nKey) < 0 ) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* The one table of sorted level iLevel whose range holds pKey, or NULL.
** level_find leaves only the table's smallest key to compare. */
static table *level_table_for(const version *p, int iLevel, const void *pKey, size_t nKey){
  int j = level_find(p, iLevel, pKey, nKey);
  if( j < p->anFile[iLevel] ){
    table *pT = p->aapFile[iLevel][j];
    size_t n;
    const uint8_t *pLo = table_smallest_user(pT, &n);
    if( ikey_compare_user_inline(pLo, n, pKey, nKey) <= 0 ) return pT;
  }
  return NULL;
}

int version_key_may_exist_below(const version *p, int iLevel, const uint8_t *pKey, size_t nKey){
  int i;
  for(i = iLevel + 1; i < LSM_MAX_LEVELS; i++){
    if( level_table_for(p, i, pKey, nKey) ) return 1;
  }
  return 0;
}

/* The next of a get's candidates (version_get), at most TABLE_READERS_MAX,
** into apCand, from where *pi0 (level 0's next table) and *piLevel (the
** next deeper level, once level 0 is done) left off; their number, 0 when
** none is left. */
static int version_next_candidates(const version *p, const void *pKey, size_t nKey,
                                   int *pi0, int *piLevel, table **apCand){
  int n = 0;
  for(; *pi0 < p->anFile[0] && n < TABLE_READERS_MAX; (*pi0)++){
    table *pT = p->aapFile[0][*pi0];
    if( table_may_contain(pT, pKey, nKey) ) apCand[n++] = pT;
  }
  for(; *pi0 == p->anFile[0] && *piLevel < LSM_MAX_LEVELS && n < TABLE_READERS_MAX; (*piLevel)++){
    table *pT;
    /* Most of the LSM_MAX_LEVELS levels are empty: skip them without a
    ** call. */
    if( p->anFile[*piLevel] == 0 ) continue;
    pT = level_table_for(p, *piLevel, pKey, nKey);
    if( pT ) apCand[n++] = pT;
  }
  return n;
}

/*
** A get asks, newest first, every level-0 table whose range holds the key
** and then the one table of each deeper level whose range does: its
** candidates.  Their readers are taken first, under one lock, and what
** each will read first is fetched for all of them before the first is
** asked (sst_reader_prefetch_get): the Bloom filter's block of every
** candidate, and the data block of the last one, the deepest level's,
** which holds most keys of a leveled store.  Those cache misses then
** overlap instead of following one another.  Measured on a 20M-key store
** (README "Scale"): 8-12% less CPU per get with the block fetched, none
** with the filters alone, whose upper levels stay cached.  The answer is
** the first candidate's that holds the key, as when they are asked one by
** one; the readers of candidates never asked are released unused.
** Candidates come TABLE_READERS_MAX at a time (version_next_candidates): a
** level 0 far behind its compactions, as a hosted store's may be, takes
** more than one batch.
*/
int version_get(version *p, const void *pKey, size_t nKey, uint64_t hash, uint64_t maxSeq,
                table_get_result *pRes){
  table *apCand[TABLE_READERS_MAX];
  sst_reader *apReader[TABLE_READERS_MAX];
  int i0 = 0, iLevel = 1, nCand, i, rc = LSM_OK;
  memset(pRes, 0, sizeof(*pRes));
  while( rc == LSM_OK && !pRes->bFound
      && (nCand = version_next_candidates(p, pKey, nKey, &i0, &iLevel, apCand)) > 0 ){
    table_readers_if_open(apCand, nCand, apReader);
    for(i = 0; i < nCand; i++){
      if( apReader[i] ) sst_reader_prefetch_get(apReader[i], pKey, nKey, hash, i == nCand - 1);
    }
    for(i = 0; i < nCand; i++){
      sst_reader *pReader = apReader[i];
      apReader[i] = NULL;                        /* table_get_from_reader takes it */
      if( pReader == NULL ){
        pReader = table_reader(apCand[i], &rc);  /* not open: open it now */
        if( pReader == NULL ) break;
      }
      rc = table_get_from_reader(pReader, pKey, nKey, hash, maxSeq, pRes);
      if( rc != LSM_OK || pRes->bFound ) break;
    }
    for(i = 0; i < nCand; i++) sst_reader_unref(apReader[i]);
  }
  return rc;
}

/* ------------------------------------------------------------------ */
/* Level iterator                                                      */
/* ------------------------------------------------------------------ */

/*
** Walks the disjoint, ascending tables of one level as one sorted
** sequence, holding at most one table iterator open, which it points at
** each table it moves to (table_iter_retarget: a seek that lands in
** another table than the last allocates nothing).  Invariant: when pCur
** is non-NULL it is the iterator of apTable[iCur].
**
** A cursor's level iterators borrow the table array of the version the
** cursor keeps referenced (as LevelDB's level iterator reads its
** version's file list): opening and closing one then costs no
** allocation and no atomic reference count per table (69 tables at 1M
** keys, touched by every thread that opens a cursor).  A compaction's
** are given a temporary array, so they copy it and reference each table.
*/
typedef struct level_iter {
  iter base;
  lsm_env *pEnv;
  table **apTable;        /* bOwned: owned array, one reference per
                          ** table; else borrowed from a version       */
  int bOwned;
  int nTable;
  int iCur;               /* table of pCur                           */
  iter *pCur;             /* open table iterator or NULL             */
  int rc;                 /* first error                             */
  int eFill;              /* table iterators use the block cache: SST_FILL* */
  int bPrefetch;          /* prefetch stage 0 passed the hint to pCur */
  int iFound;             /* 1 + the table prefetch stage 0 found for the
                          ** seek that follows it (iter.h, item 9), taken
                          ** by that seek; 0: none                      */
  const uint8_t *pFoundKey; /* the key stage 0 searched for (the seek takes
                          ** iFound only for this same key)             */
} level_iter;

/* Make pCur table i's iterator (unpositioned unless it already was);
** the iterator of the table before is reused for it. */
static int level_open_table(level_iter *p, int i){
  if( p->pCur && p->iCur == i ) return 1;
  if( p->pCur && i >= 0 && i < p->nTable && table_iter_retarget(p->pCur, p->apTable[i], &p->rc) ){
    p->iCur = i;
    return 1;
  }
  iter_close(p->pCur);
  p->pCur = NULL;
  if( i < 0 || i >= p->nTable || p->rc != LSM_OK ) return 0;
  p->pCur = table_iter_fill(p->apTable[i], p->eFill, &p->rc);
  p->iCur = i;
  return p->pCur != NULL;
}

static void level_check(level_iter *p){
  if( p->pCur && !iter_valid(p->pCur) && p->rc == LSM_OK ) p->rc = iter_status(p->pCur);
}

/* Move forward over exhausted tables. */
static void level_skip_forward(level_iter *p){
  while( p->rc == LSM_OK && p->pCur && !iter_valid(p->pCur) ){
    level_check(p);
    if( p->rc != LSM_OK || !level_open_table(p, p->iCur + 1) ) break;
    iter_first(p->pCur);
  }
}
static void level_skip_backward(level_iter *p){
  while( p->rc == LSM_OK && p->pCur && !iter_valid(p->pCur) ){
    level_check(p);
    if( p->rc != LSM_OK || !level_open_table(p, p->iCur - 1) ) break;
    iter_last(p->pCur);
  }
}

static void level_x_first(iter *pIter){
  level_iter *p = (level_iter*)pIter;
  p->iFound = 0;
  if( level_open_table(p, 0) ){ iter_first(p->pCur); level_skip_forward(p); }
}
static void level_x_last(iter *pIter){
  level_iter *p = (level_iter*)pIter;
  p->iFound = 0;
  if( level_open_table(p, p->nTable - 1) ){ iter_last(p->pCur); level_skip_backward(p); }
}
/* The first table whose largest internal key >= the target; nTable if none. */
static int level_find_table(const level_iter *p, const uint8_t *pIkey, size_t nIkey){
  int lo = 0, hi = p->nTable;
  while( lo < hi ){
    int mid = (lo + hi) / 2;
    const manifest_file *m = &p->apTable[mid]->meta;
    if( ikey_compare(m->pLargest, m->nLargest, pIkey, nIkey) < 0 ) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
/* After the prefetch stages of the same key, the table stage 0 found
** (its binary search over the level's largest keys is not run twice:
** about 450 instructions per seek at 1M keys). */
static void level_x_seek(iter *pIter, const uint8_t *pIkey, size_t nIkey){
  level_iter *p = (level_iter*)pIter;
  int i = p->iFound && p->pFoundKey == pIkey ? p->iFound - 1 : level_find_table(p, pIkey, nIkey);
  p->iFound = 0;
  if( level_open_table(p, i) ){
    iter_seek(p->pCur, pIkey, nIkey);
    level_skip_forward(p);
  }
}
static void level_x_next(iter *pIter){
  level_iter *p = (level_iter*)pIter;
  iter_next(p->pCur);
  level_skip_forward(p);
}
/* Step inside the current table; only off its end the level moves on. */
static const uint8_t *level_x_step(iter *pIter, size_t *pn){
  level_iter *p = (level_iter*)pIter;
  const uint8_t *pKey = iter_step(p->pCur, pn);
  if( pKey ) return pKey;
  level_skip_forward(p);
  return p->rc == LSM_OK && p->pCur && iter_valid(p->pCur) ? iter_key(p->pCur, pn) : NULL;
}
static void level_x_prev(iter *pIter){
  level_iter *p = (level_iter*)pIter;
  iter_prev(p->pCur);
  level_skip_backward(p);
}
static int level_x_valid(iter *pIter){
  level_iter *p = (level_iter*)pIter;
  return p->rc == LSM_OK && p->pCur && iter_valid(p->pCur);
}
static const uint8_t *level_x_key(iter *pIter, size_t *pn){
  return iter_key(((level_iter*)pIter)->pCur, pn);
}
static const uint8_t *level_x_value(iter *pIter, size_t *pn){
  return iter_value(((level_iter*)pIter)->pCur, pn);
}
static int level_x_status(iter *pIter){
  level_iter *p = (level_iter*)pIter;
  if( p->rc == LSM_OK && p->pCur ) return iter_status(p->pCur);
  return p->rc;
}
static void level_x_close(iter *pIter){
  level_iter *p = (level_iter*)pIter;
  int i;
  iter_close(p->pCur);
  if( p->bOwned ){
    for(i = 0; i < p->nTable; i++) table_unref(p->apTable[i]);
    env_free(p->pEnv, p->apTable);
  }
  env_free(p->pEnv, p);
}

static void level_x_park(iter *pIter){
  ((level_iter*)pIter)->iFound = 0;
  iter_park(((level_iter*)pIter)->pCur);
}

/* Stage 0 opens the table the seek will read (iter.h: this may leave
** the level unpositioned), keeps its number for that seek (iFound) and
** passes the hint on; so do the later stages, to that table only. */
static void level_x_prefetch(iter *pIter, const uint8_t *pIkey, size_t nIkey, int iStage){
  level_iter *p = (level_iter*)pIter;
  if( iStage == 0 ){
    int i = level_find_table(p, pIkey, nIkey);
    p->iFound = i + 1;
    p->pFoundKey = pIkey;
    p->bPrefetch = i < p->nTable && level_open_table(p, i);
  }
  if( p->bPrefetch ) iter_prefetch(p->pCur, pIkey, nIkey, iStage);
}

static const iter_methods level_methods = {
  level_x_first, level_x_last, level_x_seek, level_x_next, level_x_prev,
  level_x_valid, level_x_key, level_x_value, level_x_status, level_x_close,
  level_x_park, level_x_step, level_x_prefetch
};

/* An iterator over the tables of a sorted level (apTable, disjoint,
** ascending), opening each table's iterator only when reached.  With
** bBorrow, apTable belongs to a version the caller keeps referenced for
** the iterator's life; else it is copied and each table referenced. */
static iter *level_iter_new(lsm_env *pEnv, table **apTable, int nTable, int eFill, int bBorrow,
                            int *pRc){
  level_iter *p = env_malloc_rc(pEnv, sizeof(level_iter), pRc);
  int i;
  if( p == NULL ) return NULL;
  p->base.pMethods = &level_methods;
  p->pEnv = pEnv;
  p->nTable = nTable;
  p->eFill = eFill;
  if( bBorrow ){
    p->apTable = apTable;
    return &p->base;
  }
  p->bOwned = 1;
  p->apTable = env_malloc_rc(pEnv, sizeof(table*) * (size_t)(nTable ? nTable : 1), pRc);
  if( p->apTable == NULL ){
    env_free(pEnv, p);
    return NULL;
  }
  for(i = 0; i < nTable; i++){ table_ref(apTable[i]); p->apTable[i] = apTable[i]; }
  return &p->base;
}

int version_iter_count(version *p){
  int n = p->anFile[0], iLevel;
  for(iLevel = 1; iLevel < LSM_MAX_LEVELS; iLevel++) n += p->anFile[iLevel] > 0;
  return n;
}

/* Append the iterators of one level's tables apTable[0..n): level 0 one
** per table, a sorted level one level iterator (apTable in key order).
** eFill: how the blocks they read use the block cache (SST_FILL*,
** sst_reader.h).  bBorrow: apTable
** is a version's, which the caller keeps referenced while they live (the
** level iterator borrows it); else apTable is copied. */
static int add_level_iters(lsm_env *pEnv, int iLevel, table **apTable, int n, int eFill,
                           int bBorrow, iter **apIter, int *pnIter){
  int rc = LSM_OK, i;
  iter *pIt;
  if( n == 0 ) return LSM_OK;
  if( iLevel == 0 ){
    for(i = 0; rc == LSM_OK && i < n; i++){
      pIt = table_iter_fill(apTable[i], eFill, &rc);
      if( pIt ) apIter[(*pnIter)++] = pIt;
    }
    return rc;
  }
  pIt = level_iter_new(pEnv, apTable, n, eFill, bBorrow, &rc);
  if( pIt ) apIter[(*pnIter)++] = pIt;
  return rc;
}

/*
** The blocks of the largest level (by bytes, level 1 or deeper) enter the
** block cache as SST_FILL_BULK says when another sorted run holds tables
** too.  Why: a seek reads one block of every sorted run, so a block's
** chance of being read again is about one over its run's block count,
** and the largest level holds most of the blocks (at 1M keys right after
** the writes: 67 of 83 MB in prof_sql's directory store, whose LZ4 blocks
** are decompressed into a 32 MiB cache).  Entering as they came, its
** blocks pushed out the other runs' (each tens of times likelier to be
** read again).  The largest, not the deepest: while a new deepest level
** is being started (make bench's directory store right after its writes
** held L1 22, L2 69, L3 1 tables) most blocks are still above it.  One
** block in SST_BULK_KEEP_ONE_IN (drawn at random) still enters as any
** other, so that a part of that level read again and again (a hot range)
** gets cached after a few misses instead of never: a lookup that finds a
** passing block makes it an ordinary one.
*/
int version_add_iters(version *p, int bFill, iter **apIter, int *pnIter){
  int rc = LSM_OK, iLevel, iBulk = 0, nRun = p->anFile[0];
  uint64_t nBulk = 0;
  for(iLevel = 1; iLevel < LSM_MAX_LEVELS; iLevel++){
    uint64_t n = p->anFile[iLevel] ? version_level_bytes(p, iLevel) : 0;
    nRun += p->anFile[iLevel] > 0;
    if( p->anFile[iLevel] > 0 && (iBulk == 0 || n > nBulk) ){
      iBulk = iLevel;
      nBulk = n;
    }
  }
  for(iLevel = 0; rc == LSM_OK && iLevel < LSM_MAX_LEVELS; iLevel++){
    int eFill = bFill;
    if( bFill == SST_FILL && iLevel == iBulk && iLevel > 0 && nRun > 1 ) eFill = SST_FILL_BULK;
    rc = add_level_iters(p->pEnv, iLevel, p->aapFile[iLevel], p->anFile[iLevel], eFill, 1,
                         apIter, pnIter);
  }
  return rc;
}

int version_add_table_iters(lsm_env *pEnv, table **apTable, int nTable, iter **apIter, int *pnIter){
  int rc = LSM_OK, iLevel, i, j;
  table **ap = env_malloc_rc(pEnv, sizeof(table*) * (size_t)(nTable ? nTable : 1), &rc);
  for(iLevel = 0; rc == LSM_OK && iLevel < LSM_MAX_LEVELS; iLevel++){
    int n = 0;
    for(i = 0; i < nTable; i++){
      table *p = apTable[i];
      if( p->meta.iLevel != iLevel ) continue;
      /* Insertion sort into key order (level 0: kept as given). */
      for(j = n; iLevel > 0 && j > 0 && table_order(iLevel, ap[j - 1], p) > 0; j--) ap[j] = ap[j - 1];
      ap[j] = p;
      n++;
    }
    rc = add_level_iters(pEnv, iLevel, ap, n, SST_FILL_COLD, 0, apIter, pnIter);
  }
  env_free(pEnv, ap);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Reading a version's shape                                           */
/* ------------------------------------------------------------------ */

int version_level_count(const version *p, int iLevel){
  assert( iLevel >= 0 && iLevel < LSM_MAX_LEVELS );
  return p->anFile[iLevel];
}

table *version_table(const version *p, int iLevel, int i){
  assert( iLevel >= 0 && iLevel < LSM_MAX_LEVELS && i >= 0 && i < p->anFile[iLevel] );
  return p->aapFile[iLevel][i];
}

int version_table_count(const version *p){
  int n = 0, iLevel;
  for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++) n += p->anFile[iLevel];
  return n;
}

uint64_t version_level_bytes(const version *p, int iLevel){
  assert( iLevel >= 0 && iLevel < LSM_MAX_LEVELS );
  return p->anByte[iLevel];
}

int version_deepest_level(const version *p){
  int i;
  for(i = LSM_MAX_LEVELS - 1; i > 0; i--) if( p->anFile[i] ) return i;
  return 0;
}

int version_is_bottom(const version *p, int iLevel){
  return version_deepest_level(p) <= iLevel;
}

int version_has_file(const version *p, uint64_t iNumber){
  int iLevel, i;
  for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++){
    for(i = 0; i < p->anFile[iLevel]; i++){
      if( p->aapFile[iLevel][i]->meta.iNumber == iNumber ) return 1;
    }
  }
  return 0;
}

void version_check_invariants(const version *p){
#ifndef NDEBUG
  int iLevel, i;
  for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++){
    uint64_t nByte = 0;
    for(i = 0; i < p->anFile[iLevel]; i++){
      const table *pT = p->aapFile[iLevel][i];
      nByte += pT->meta.nFileBytes;
      assert( atomic_load(&pT->nRef) >= 1 );                 /* 3 */
      assert( pT->meta.iLevel == iLevel );                   /* 4 */
      if( iLevel == 0 ){
        assert( i == 0 || p->aapFile[0][i - 1]->meta.iNumber > pT->meta.iNumber );   /* 2 */
      }else{
        size_t nLo, nHi;
        const uint8_t *pLo = table_smallest_user(pT, &nLo);
        const uint8_t *pHi = table_largest_user(pT, &nHi);
        assert( ikey_compare_user(pLo, nLo, pHi, nHi) <= 0 );                   /* 1 */
        if( i > 0 ){
          const uint8_t *pPrev = table_largest_user(p->aapFile[iLevel][i - 1], &nHi);
          assert( ikey_compare_user(pPrev, nHi, pLo, nLo) < 0 );                /* 1 */
        }
      }
    }
    assert( p->anByte[iLevel] == nByte );                       /* 5 */
  }
#else
  (void)p;
#endif
}
