/*
** plan.c — query plans: xBestIndex, and decoding its choice for xFilter.
**
** Usage (each comment is what EXPLAIN QUERY PLAN reports after "SCAN kv
** VIRTUAL TABLE INDEX "):
**
**     SELECT value FROM kv WHERE key = 'apple';          -- 0:key = ?
**     SELECT * FROM kv WHERE key IN (1, 2, 3);            -- 0:key IN (...)
**     SELECT * FROM kv WHERE key >= 'a' AND key < 'b';    -- 0:key >= ? AND key < ?
**     SELECT * FROM kv WHERE key BETWEEN 1 AND 9 ORDER BY key DESC;
**                                     -- 3:key >= ? AND key <= ? ORDER BY key DESC
**     SELECT * FROM kv ORDER BY key LIMIT 10 OFFSET 5;    -- 2:ORDER BY key LIMIT ? OFFSET ?
**     SELECT * FROM kv WHERE value = 'x';                 -- 0:full scan
**     SELECT * FROM t JOIN kv ON kv.key = t.k;            -- SCAN t, then
**                                                         -- SCAN kv ... 0:key = ?
**
** What xBestIndex hands to xFilter
** --------------------------------
** idxStr is the plan in words, so that EXPLAIN QUERY PLAN reads as SQL;
** "key" means the key column whatever its name (or the hidden _rowid_
** column, which is the key too: vtab.c).  It is made of these phrases,
** joined by " AND " (constraints) and spaces (the rest), in this order;
** each phrase that ends in ? or (...) takes the next xFilter argument,
** so the phrases are also what tells xFilter what each argv[i] is:
**
**     phrase              argv[i] is                        plan
**     -----------------   -------------------------------   -----------------------------
**     key = ?             the value of key = ? / key IS ?   PLAN_KEYS, one key (lsm_get)
**     key IN (...)        the list of key IN (...), read    PLAN_KEYS, sorted unique keys
**                         with sqlite3_vtab_in_first/next   (one lsm_get each)
**     key > ?  key >= ?   a lower bound                     PLAN_SCAN from the tightest
**     key < ?  key <= ?   an upper bound                    PLAN_SCAN to the tightest
**     ORDER BY key [DESC] (no argument) the order consumed  also in idxNum, below
**     full scan           (no argument) no constraint, no   PLAN_SCAN, no bounds
**                         order: the whole table
**     LIMIT ?             the LIMIT value                   stop after that many rows
**     OFFSET ?            the OFFSET value                  skip that many rows first
**
**     idxNum bit     meaning
**     ----------     ----------------------------------------------------
**     0x01           descending key order (ORDER BY key DESC consumed)
**     0x02           ORDER BY key consumed (no sort step follows)
**
** plan_decode reads the phrases back (an unknown phrase is SQLITE_INTERNAL,
** "lsm: bad query plan"); the order words are skipped there, idxNum says
** the direction.  It matches the phrases once per idxStr: the cursor's
** plan_spec keeps the last idxStr and its operations, and a prepared
** statement run again (the same idxStr) only binds the new values.
**
** Several bounds of one side may be listed (key > ?1 AND key >= ?2): their
** values are known only in xFilter, which keeps the tightest (the larger
** lower bound; on equal values the exclusive one).  A NULL value in any
** '=', bound or IN entry matches nothing, as in SQL.  Every constraint
** used is marked omit: keycodec orders keys exactly as SQLite compares
** them (BINARY collation, no affinity on the key column), so SQLite need
** not check them again.  A constraint with another collation
** (key > 'a' COLLATE NOCASE) is left to SQLite.
**
** LIMIT and OFFSET are never pushed down (the plan accepts them, for a
** later SQLite, but does not use them: PLAN_PUSH_LIMIT).  SQLite 3.40
** offers them even when a WHERE term it does not pass to xBestIndex
** remains to be checked, one comparing two columns of the table
** (`WHERE v1 = v2 LIMIT 1`, `WHERE key < value LIMIT 1`): a cursor that
** stopped after LIMIT rows returned rows that term then rejected, and too
** few.  The table cannot see such a term, so it cannot tell when taking
** the LIMIT is safe; SQLite stops stepping after LIMIT rows anyway.
**
** Cost model
** ----------
** N is the number of entries the engine holds (memtable plus SSTables,
** lsm_stats; superseded versions and tombstones included, so an
** over-estimate after many overwrites).  Units are "rows visited":
**
**     key = ?            cost 10, 1 row, SQLITE_INDEX_SCAN_UNIQUE: a
**                        memtable probe plus SSTable probes that the Bloom
**                        filters mostly skip, about one B-tree descent
**     key IN (...)       cost 50, 5 rows: the list's length is unknown here;
**                        5 keys is SQLite's own guess for an IN list
**     range, two bounds  cost 100 + N/16, N/16 rows
**     range, one bound   cost 100 + N/4,  N/4 rows
**     full scan          cost 100 + N,    N rows
**
** The 100 is the price of positioning a merge iterator: one seek in every
** memtable and every SSTable that may overlap.  So a point get always costs
** less than any scan, even of a near-empty table, and in a join SQLite
** puts lsm tables on the inner loop with key = outer.column, where each
** outer row costs 10 instead of a scan.  A bound divides the rows by 4, as
** SQLite assumes for a range on an index.
*/
#include "ext.h"

#include <stdlib.h>
#include <string.h>

#define PLAN_DESC       0x01   /* idxNum: descending order */
#define PLAN_ORDERED    0x02   /* idxNum: ORDER BY consumed */

/* Column iCol of pTab is the key: the key column or the hidden _rowid_. */
#define PLAN_IS_KEY(pTab, iCol) ((iCol) == 0 || (iCol) == (pTab)->iRowidCol)

#define PLAN_MAX_BOUNDS 4      /* bounds per side passed to xFilter; more are left to SQLite */

#define PLAN_COST_GET    10.0
#define PLAN_COST_IN     50.0
#define PLAN_ROWS_IN     5
#define PLAN_COST_SEEK   100.0

/* The operations of idxStr phrases. */
#define PLAN_OP_EQ      1
#define PLAN_OP_IN      2
#define PLAN_OP_GT      3
#define PLAN_OP_GE      4
#define PLAN_OP_LT      5
#define PLAN_OP_LE      6
/* 0: LIMIT and OFFSET are left to SQLite (header: why). */
#define PLAN_PUSH_LIMIT 0
#define PLAN_OP_LIMIT   7
#define PLAN_OP_OFFSET  8
#define PLAN_OP_WORDS   9      /* words that take no argument */

/* Every phrase of idxStr; a phrase that is a prefix of another comes
** after it, so that the first match is the right one. */
static const struct plan_phrase {
  const char *z;         /* the words in idxStr */
  size_t n;              /* strlen(z) */
  int eOp;               /* PLAN_OP_* */
} plan_phrases[] = {
  { "key = ?",            7, PLAN_OP_EQ     },
  { "key IN (...)",      12, PLAN_OP_IN     },
  { "key >= ?",           8, PLAN_OP_GE     },
  { "key > ?",            7, PLAN_OP_GT     },
  { "key <= ?",           8, PLAN_OP_LE     },
  { "key < ?",            7, PLAN_OP_LT     },
  { "LIMIT ?",            7, PLAN_OP_LIMIT  },
  { "OFFSET ?",           8, PLAN_OP_OFFSET },
  { "AND",                3, PLAN_OP_WORDS  },
  { "ORDER BY key DESC", 17, PLAN_OP_WORDS  },
  { "ORDER BY key",      12, PLAN_OP_WORDS  },
  { "full scan",          9, PLAN_OP_WORDS  },
};
#define PLAN_N_PHRASE ((int)(sizeof(plan_phrases) / sizeof(plan_phrases[0])))

static const char *plan_phrase(int eOp){
  int i;
  for(i = 0; i < PLAN_N_PHRASE; i++){
    if( plan_phrases[i].eOp == eOp ) return plan_phrases[i].z;
  }
  return "?";
}

/* Estimated entries in the store (at least 1). */
static double plan_rows(vtab_table *pTab){
  lsm_stats st;
  double n = 0;
  int i;
  if( lsm_stats_get(pTab->pLsm, &st) == LSM_OK ){
    n = (double)st.nMemtableEntries;
    for(i = 0; i < st.nLevel && i < LSM_MAX_LEVELS; i++) n += (double)st.aLevel[i].nEntries;
  }
  return n < 1 ? 1 : n;
}

/* ---- xBestIndex ---- */

int plan_best_index(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  vtab_table *pTab = (vtab_table*)pVtab;
  int iEq = -1, bEqIsIn = 0;          /* the = or IN constraint used */
  int aLower[PLAN_MAX_BOUNDS], nLower = 0;
  int aUpper[PLAN_MAX_BOUNDS], nUpper = 0;
  int iLimit = -1, iOffset = -1;
  int aOp[2 * PLAN_MAX_BOUNDS + 3];   /* PLAN_OP_* of each argv, in order */
  int nArg = 0;
  int bAllUsed = 1;                   /* every non-LIMIT/OFFSET constraint used */
  int idxNum = 0;
  char *zStr = 0;
  int i;

  /* Pass 1: classify the usable constraints on the key. */
  for(i = 0; i < pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *pC = &pInfo->aConstraint[i];
    const char *zColl;
    if( pC->op == SQLITE_INDEX_CONSTRAINT_LIMIT ){
      if( pC->usable ) iLimit = i;
      continue;
    }
    if( pC->op == SQLITE_INDEX_CONSTRAINT_OFFSET ){
      if( pC->usable ) iOffset = i;
      continue;
    }
    if( !pC->usable || !PLAN_IS_KEY(pTab, pC->iColumn) ) continue;
    zColl = sqlite3_vtab_collation(pInfo, i);
    if( zColl && sqlite3_stricmp(zColl, "BINARY") != 0 ) continue;
    switch( pC->op ){
      case SQLITE_INDEX_CONSTRAINT_EQ:
      case SQLITE_INDEX_CONSTRAINT_IS: {
        int bIn = pC->op == SQLITE_INDEX_CONSTRAINT_EQ && sqlite3_vtab_in(pInfo, i, -1);
        /* A plain = beats an IN; the first of each kind wins. */
        if( iEq < 0 || (bEqIsIn && !bIn) ){
          iEq = i;
          bEqIsIn = bIn;
        }
        break;
      }
      case SQLITE_INDEX_CONSTRAINT_GT:
      case SQLITE_INDEX_CONSTRAINT_GE:
        if( nLower < PLAN_MAX_BOUNDS ) aLower[nLower++] = i;
        break;
      case SQLITE_INDEX_CONSTRAINT_LT:
      case SQLITE_INDEX_CONSTRAINT_LE:
        if( nUpper < PLAN_MAX_BOUNDS ) aUpper[nUpper++] = i;
        break;
      default:
        break;
    }
  }

  /* Pass 2: pick the plan and assign xFilter arguments. */
  if( iEq >= 0 ){
    pInfo->aConstraintUsage[iEq].argvIndex = 1;
    pInfo->aConstraintUsage[iEq].omit = 1;
    if( bEqIsIn ){
      sqlite3_vtab_in(pInfo, iEq, 1);
      aOp[nArg++] = PLAN_OP_IN;
      pInfo->estimatedCost = PLAN_COST_IN;
      pInfo->estimatedRows = PLAN_ROWS_IN;
    }else{
      aOp[nArg++] = PLAN_OP_EQ;
      pInfo->estimatedCost = PLAN_COST_GET;
      pInfo->estimatedRows = 1;
      pInfo->idxFlags |= SQLITE_INDEX_SCAN_UNIQUE;
    }
  }else{
    double nEst = plan_rows(pTab);     /* only a scan needs the store's size */
    for(i = 0; i < nLower; i++){
      int op = pInfo->aConstraint[aLower[i]].op;
      aOp[nArg++] = op == SQLITE_INDEX_CONSTRAINT_GT ? PLAN_OP_GT : PLAN_OP_GE;
      pInfo->aConstraintUsage[aLower[i]].argvIndex = nArg;
      pInfo->aConstraintUsage[aLower[i]].omit = 1;
    }
    for(i = 0; i < nUpper; i++){
      int op = pInfo->aConstraint[aUpper[i]].op;
      aOp[nArg++] = op == SQLITE_INDEX_CONSTRAINT_LT ? PLAN_OP_LT : PLAN_OP_LE;
      pInfo->aConstraintUsage[aUpper[i]].argvIndex = nArg;
      pInfo->aConstraintUsage[aUpper[i]].omit = 1;
    }
    if( nLower ) nEst /= 4;
    if( nUpper ) nEst /= 4;
    if( nEst < 1 ) nEst = 1;
    pInfo->estimatedCost = PLAN_COST_SEEK + nEst;
    pInfo->estimatedRows = (sqlite3_int64)nEst;
  }

  /* ORDER BY key [DESC] is our order: the key is unique, so any further
  ** terms never decide between two rows. */
  if( pInfo->nOrderBy >= 1 && PLAN_IS_KEY(pTab, pInfo->aOrderBy[0].iColumn) ){
    pInfo->orderByConsumed = 1;
    idxNum |= PLAN_ORDERED;
    if( pInfo->aOrderBy[0].desc ) idxNum |= PLAN_DESC;
  }

  /* LIMIT / OFFSET: only if the rows we return are the result. */
  for(i = 0; i < pInfo->nConstraint; i++){
    int op = pInfo->aConstraint[i].op;
    if( op == SQLITE_INDEX_CONSTRAINT_LIMIT || op == SQLITE_INDEX_CONSTRAINT_OFFSET ) continue;
    if( pInfo->aConstraintUsage[i].argvIndex <= 0 && !pInfo->aConstraintUsage[i].omit ){
      bAllUsed = 0;
    }
  }
  if( PLAN_PUSH_LIMIT && bAllUsed && (pInfo->nOrderBy == 0 || pInfo->orderByConsumed) ){
    if( iLimit >= 0 ){
      aOp[nArg++] = PLAN_OP_LIMIT;
      pInfo->aConstraintUsage[iLimit].argvIndex = nArg;
      pInfo->aConstraintUsage[iLimit].omit = 1;
    }
    if( iOffset >= 0 ){
      aOp[nArg++] = PLAN_OP_OFFSET;
      pInfo->aConstraintUsage[iOffset].argvIndex = nArg;
      pInfo->aConstraintUsage[iOffset].omit = 1;
    }
  }

  /* idxStr: the plan in words, arguments in argv order (header). */
  {
    sqlite3_str *pStr = sqlite3_str_new(0);
    int nCons = 0;
    for(i = 0; i < nArg; i++){
      if( aOp[i] == PLAN_OP_LIMIT || aOp[i] == PLAN_OP_OFFSET ) continue;
      sqlite3_str_appendf(pStr, "%s%s", nCons++ ? " AND " : "", plan_phrase(aOp[i]));
    }
    if( idxNum & PLAN_ORDERED ){
      sqlite3_str_appendf(pStr, "%s%s", nCons ? " " : "",
                          (idxNum & PLAN_DESC) ? "ORDER BY key DESC" : "ORDER BY key");
    }else if( nCons == 0 ){
      sqlite3_str_appendall(pStr, "full scan");
    }
    for(i = 0; i < nArg; i++){
      if( aOp[i] != PLAN_OP_LIMIT && aOp[i] != PLAN_OP_OFFSET ) continue;
      sqlite3_str_appendf(pStr, " %s", plan_phrase(aOp[i]));
    }
    zStr = sqlite3_str_finish(pStr);
    if( zStr == 0 ) return SQLITE_NOMEM;
  }
  pInfo->idxNum = idxNum;
  pInfo->idxStr = zStr;
  pInfo->needToFreeIdxStr = 1;
  return SQLITE_OK;
}

/* ---- decoding for xFilter ---- */

static int plan_key_cmp(const void *pA, const void *pB, void *pCtx){
  const struct plan_key *a = pA, *b = pB;
  const uint8_t *p = pCtx;
  size_t n = a->n < b->n ? a->n : b->n;
  int c = memcmp(p + a->iOff, p + b->iOff, n);
  if( c ) return c;
  return a->n < b->n ? -1 : a->n > b->n;
}

static int plan_bytes_cmp(const ext_buf *a, const ext_buf *b){
  size_t n = a->n < b->n ? a->n : b->n;
  int c = memcmp(a->p, b->p, n);
  if( c ) return c;
  return a->n < b->n ? -1 : a->n > b->n;
}

/* Append one key value to the PLAN_KEYS list; NULL (and a key too large
** to exist) adds nothing. */
static int plan_add_key(plan_spec *pSpec, sqlite3_value *pVal){
  size_t iOff = pSpec->keys.n;
  int rc = keycodec_encode(pVal, &pSpec->keys);
  if( rc == SQLITE_CONSTRAINT || rc == SQLITE_TOOBIG ){
    pSpec->keys.n = iOff;
    return SQLITE_OK;
  }
  if( rc != SQLITE_OK ) return rc;
  if( pSpec->nKey >= pSpec->nKeyAlloc ){
    int nNew = pSpec->nKeyAlloc ? pSpec->nKeyAlloc * 2 : 8;
    struct plan_key *aNew = sqlite3_realloc64(pSpec->aKey, (size_t)nNew * sizeof(*aNew));
    if( aNew == 0 ) return SQLITE_NOMEM;
    pSpec->aKey = aNew;
    pSpec->nKeyAlloc = nNew;
  }
  pSpec->aKey[pSpec->nKey].iOff = iOff;
  pSpec->aKey[pSpec->nKey].n = pSpec->keys.n - iOff;
  pSpec->nKey++;
  return SQLITE_OK;
}

/*
** Fold one bound into the side it belongs to, keeping the tightest.  The
** value is encoded into pSpec->scratch, which trades places with the
** side's buffer when it is tighter: no allocation once the buffers have
** grown.  Returns SQLITE_CONSTRAINT if the value is NULL (nothing matches).
*/
static int plan_add_bound(plan_spec *pSpec, sqlite3_value *pVal, int bUpper, int bOpen){
  ext_buf *pCur = bUpper ? &pSpec->upper : &pSpec->lower;
  int *pbHave = bUpper ? &pSpec->bUpper : &pSpec->bLower;
  int *pbOpen = bUpper ? &pSpec->bUpperOpen : &pSpec->bLowerOpen;
  int rc, bCut = 0;
  pSpec->scratch.n = 0;
  rc = keycodec_encode_bound(pVal, &pSpec->scratch, &bCut);
  /* Longer than any key, cut to its prefix: key < bound is key <= prefix,
  ** key > bound (and key >= bound) is key > prefix (keycodec.c). */
  if( bCut ) bOpen = !bUpper;
  if( rc == SQLITE_OK ){
    int c = *pbHave ? plan_bytes_cmp(&pSpec->scratch, pCur) : 0;
    if( !*pbHave || (bUpper ? c < 0 : c > 0) ){
      ext_buf tmp = *pCur;
      *pCur = pSpec->scratch;
      pSpec->scratch = tmp;
      *pbHave = 1;
      *pbOpen = bOpen;
    }else if( c == 0 && bOpen ){
      *pbOpen = 1;
    }
  }
  return rc;
}

/*
** The PLAN_OP_* of each phrase of z that takes an argument, in order, into
** aOp[0..*pnOp).  Returns 0, or 1 if z has a phrase that is not in
** plan_phrases or more than PLAN_MAX_OPS argument phrases.
*/
static int plan_parse(const char *z, int *aOp, int *pnOp){
  int nOp = 0;
  while( *(z += strspn(z, " ")) ){
    const struct plan_phrase *pTok = 0;
    int i;
    for(i = 0; i < PLAN_N_PHRASE; i++){
      const struct plan_phrase *p = &plan_phrases[i];
      if( strncmp(z, p->z, p->n) == 0 && (z[p->n] == ' ' || z[p->n] == 0) ){
        pTok = p;
        break;
      }
    }
    if( pTok == 0 ) return 1;
    if( pTok->eOp != PLAN_OP_WORDS ){
      if( nOp >= PLAN_MAX_OPS ) return 1;
      aOp[nOp++] = pTok->eOp;
    }
    z += pTok->n;
  }
  *pnOp = nOp;
  return 0;
}

int plan_decode(int idxNum, const char *idxStr, int argc, sqlite3_value **argv,
                plan_spec *pSpec, char **pzErr){
  const char *z = idxStr ? idxStr : "";
  int rc = SQLITE_OK;
  int iOp;

  pSpec->ePlan = PLAN_SCAN;
  pSpec->bDesc = (idxNum & PLAN_DESC) != 0;
  pSpec->nLimit = -1;
  pSpec->nOffset = 0;

  /* The phrases: parsed once per idxStr (a prepared statement run again
  ** passes the same one). */
  if( pSpec->zParsed == 0 || strcmp(pSpec->zParsed, z) != 0 ){
    sqlite3_free(pSpec->zParsed);
    pSpec->zParsed = 0;
    if( plan_parse(z, pSpec->aOp, &pSpec->nOp) ){
      *pzErr = sqlite3_mprintf("lsm: bad query plan '%s'", idxStr);
      return SQLITE_INTERNAL;
    }
    pSpec->zParsed = sqlite3_mprintf("%s", z);
    if( pSpec->zParsed == 0 ) return SQLITE_NOMEM;
  }
  if( pSpec->nOp > argc ){
    *pzErr = sqlite3_mprintf("lsm: bad query plan '%s'", idxStr);
    return SQLITE_INTERNAL;
  }

  for(iOp = 0; rc == SQLITE_OK && iOp < pSpec->nOp; iOp++){
    sqlite3_value *pArg = argv[iOp];
    int eOp = pSpec->aOp[iOp];
    switch( eOp ){
      case PLAN_OP_EQ:
        pSpec->ePlan = PLAN_KEYS;
        rc = plan_add_key(pSpec, pArg);
        break;
      case PLAN_OP_IN: {
        sqlite3_value *pVal = 0;
        pSpec->ePlan = PLAN_KEYS;
        for(rc = sqlite3_vtab_in_first(pArg, &pVal);
            rc == SQLITE_OK && pVal;
            rc = sqlite3_vtab_in_next(pArg, &pVal)){
          rc = plan_add_key(pSpec, pVal);
          if( rc != SQLITE_OK ) break;
        }
        if( rc == SQLITE_DONE ) rc = SQLITE_OK;
        break;
      }
      case PLAN_OP_GT:
      case PLAN_OP_GE:
      case PLAN_OP_LT:
      case PLAN_OP_LE:
        rc = plan_add_bound(pSpec, pArg, eOp == PLAN_OP_LT || eOp == PLAN_OP_LE,
                            eOp == PLAN_OP_GT || eOp == PLAN_OP_LT);
        if( rc == SQLITE_CONSTRAINT ){
          pSpec->ePlan = PLAN_EMPTY;
          rc = SQLITE_OK;
        }
        break;
      case PLAN_OP_LIMIT: {
        sqlite3_int64 n = sqlite3_value_int64(pArg);
        pSpec->nLimit = n < 0 ? -1 : n;
        break;
      }
      case PLAN_OP_OFFSET: {
        sqlite3_int64 n = sqlite3_value_int64(pArg);
        pSpec->nOffset = n < 0 ? 0 : n;
        break;
      }
    }
  }
  if( rc != SQLITE_OK ) return rc;

  if( pSpec->ePlan == PLAN_KEYS ){
    /* Sort and drop duplicates (1 and 1.0 encode alike). */
    int i, j;
    if( pSpec->nKey == 0 ){
      pSpec->ePlan = PLAN_EMPTY;
    }else{
      qsort_r(pSpec->aKey, (size_t)pSpec->nKey, sizeof(pSpec->aKey[0]), plan_key_cmp,
              pSpec->keys.p);
      for(i = j = 1; i < pSpec->nKey; i++){
        if( plan_key_cmp(&pSpec->aKey[i], &pSpec->aKey[j - 1], pSpec->keys.p) != 0 ){
          pSpec->aKey[j++] = pSpec->aKey[i];
        }
      }
      pSpec->nKey = j;
    }
  }else if( pSpec->ePlan == PLAN_SCAN && pSpec->bLower && pSpec->bUpper ){
    int c = plan_bytes_cmp(&pSpec->lower, &pSpec->upper);
    if( c > 0 || (c == 0 && (pSpec->bLowerOpen || pSpec->bUpperOpen)) ){
      pSpec->ePlan = PLAN_EMPTY;
    }
  }
  if( pSpec->nLimit == 0 ) pSpec->ePlan = PLAN_EMPTY;
  return SQLITE_OK;
}

/* A buffer worth keeping between plans: one that fits any ordinary key. */
#define PLAN_KEEP_BYTES 4096

static void plan_buf_reset(ext_buf *pBuf){
  if( pBuf->nAlloc > PLAN_KEEP_BYTES ) ext_buf_free(pBuf);
  pBuf->n = 0;
}

void plan_spec_reset(plan_spec *pSpec){
  plan_spec saved = *pSpec;
  if( saved.nKeyAlloc > PLAN_KEEP_BYTES / (int)sizeof(saved.aKey[0]) ){
    sqlite3_free(saved.aKey);
    saved.aKey = 0;
    saved.nKeyAlloc = 0;
  }
  plan_buf_reset(&saved.keys);
  plan_buf_reset(&saved.lower);
  plan_buf_reset(&saved.upper);
  plan_buf_reset(&saved.scratch);
  memset(pSpec, 0, sizeof(*pSpec));
  pSpec->zParsed = saved.zParsed;
  pSpec->nOp = saved.nOp;
  memcpy(pSpec->aOp, saved.aOp, sizeof(pSpec->aOp));
  pSpec->keys = saved.keys;
  pSpec->lower = saved.lower;
  pSpec->upper = saved.upper;
  pSpec->scratch = saved.scratch;
  pSpec->aKey = saved.aKey;
  pSpec->nKeyAlloc = saved.nKeyAlloc;
}

void plan_spec_clear(plan_spec *pSpec){
  ext_buf_free(&pSpec->keys);
  ext_buf_free(&pSpec->lower);
  ext_buf_free(&pSpec->upper);
  ext_buf_free(&pSpec->scratch);
  sqlite3_free(pSpec->aKey);
  sqlite3_free(pSpec->zParsed);
  memset(pSpec, 0, sizeof(*pSpec));
}
