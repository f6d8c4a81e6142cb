/*
** bench_floor.c — the SQL level's "vtab-floor": the cheapest store a
** virtual table can be, so that the bench shows how far any virtual table,
** lsm's included, is from a native table before its own storage costs
** anything.
**
**   CREATE VIRTUAL TABLE kv USING bench_floor
**
** declares kv(key PRIMARY KEY NOT NULL, value) WITHOUT ROWID, as lsm
** declares its tables, and keeps its rows in memory in one array indexed
** by the bench key's number (bench_key: key i is the decimal 2i, so the
** array's order is the keys' order): a put copies the 16 key bytes and the
** value into slot i, a get is slot i, a scan walks the slots.  No
** comparison, no search, no copy beyond the one SQLite makes of each
** column.  What it costs per row is then what SQLite's virtual-table
** interface costs (xFilter, xNext, xEof, xColumn and the copy of each
** result into SQLite's register), measured in the same run and by the
** same reading loop as the native table and lsm.
**
** It accepts the bench's statements only: keys are TEXT of the bench's
** form (anything else is refused with an error), values BLOBs of at most
** BENCH_VAL_BYTES; constraints on the key: =, >, >= (a scan otherwise);
** ORDER BY key ascending is consumed.  The rows live as long as the
** connection's table; nothing is written to the database file, so its
** write and space amplification columns mean nothing and read 0.
*/
#include "bench.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* One row.  bLive 0: no row at this key. */
typedef struct floor_slot {
  char aKey[BENCH_KEY_BYTES];
  uint8_t nVal;
  uint8_t bLive;
  char aVal[BENCH_VAL_BYTES];
} floor_slot;

typedef struct floor_table {
  sqlite3_vtab base;
  floor_slot *aSlot;       /* nSlot slots, grown as keys arrive */
  uint64_t nSlot;
} floor_table;

typedef struct floor_cursor {
  sqlite3_vtab_cursor base;
  uint64_t i;              /* the slot the cursor is on            */
  uint64_t iEnd;           /* one past the last slot it may visit  */
} floor_cursor;

/* idxNum of xBestIndex: where the cursor starts and stops. */
#define FLOOR_SCAN  0      /* every slot                           */
#define FLOOR_EQ    1      /* the slot of argv[0]                  */
#define FLOOR_GE    2      /* slots >= argv[0]'s                   */
#define FLOOR_GT    3      /* slots > argv[0]'s                    */

static int floor_error(sqlite3_vtab *pVtab, const char *zMsg){
  sqlite3_free(pVtab->zErrMsg);
  pVtab->zErrMsg = sqlite3_mprintf("%s", zMsg);
  return SQLITE_ERROR;
}

static int floor_connect(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                         sqlite3_vtab **ppVtab, char **pzErr){
  floor_table *p;
  int rc;
  (void)pAux; (void)argc; (void)argv; (void)pzErr;
  rc = sqlite3_declare_vtab(db, "CREATE TABLE x(key PRIMARY KEY NOT NULL, value) WITHOUT ROWID");
  if( rc != SQLITE_OK ) return rc;
  p = sqlite3_malloc(sizeof(*p));
  if( !p ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  *ppVtab = &p->base;
  return SQLITE_OK;
}

static int floor_disconnect(sqlite3_vtab *pVtab){
  floor_table *p = (floor_table*)pVtab;
  free(p->aSlot);
  sqlite3_free(p);
  return SQLITE_OK;
}

static int floor_best_index(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  int i, iCons = -1, eOp = FLOOR_SCAN;
  (void)pVtab;
  for(i = 0; i < pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    int e = FLOOR_SCAN;
    if( !c->usable || c->iColumn != 0 ) continue;
    if( c->op == SQLITE_INDEX_CONSTRAINT_EQ ) e = FLOOR_EQ;
    else if( c->op == SQLITE_INDEX_CONSTRAINT_GE ) e = FLOOR_GE;
    else if( c->op == SQLITE_INDEX_CONSTRAINT_GT ) e = FLOOR_GT;
    if( e != FLOOR_SCAN && (eOp == FLOOR_SCAN || e == FLOOR_EQ) ){
      eOp = e;
      iCons = i;
    }
  }
  if( iCons >= 0 ){
    pInfo->aConstraintUsage[iCons].argvIndex = 1;
    pInfo->aConstraintUsage[iCons].omit = 1;
  }
  pInfo->idxNum = eOp;
  pInfo->estimatedCost = eOp == FLOOR_EQ ? 1.0 : eOp == FLOOR_SCAN ? 1e6 : 1e3;
  if( eOp == FLOOR_EQ ) pInfo->idxFlags = SQLITE_INDEX_SCAN_UNIQUE;
  if( pInfo->nOrderBy == 1 && pInfo->aOrderBy[0].iColumn == 0 && !pInfo->aOrderBy[0].desc ){
    pInfo->orderByConsumed = 1;
  }
  return SQLITE_OK;
}

static int floor_open(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur){
  floor_cursor *pCur = sqlite3_malloc(sizeof(*pCur));
  (void)pVtab;
  if( !pCur ) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  *ppCur = &pCur->base;
  return SQLITE_OK;
}

static int floor_close(sqlite3_vtab_cursor *pCur){
  sqlite3_free(pCur);
  return SQLITE_OK;
}

/* The slot of key value pKey in *pi; 0, or 1 if it is no bench key
** (bOdd: an odd key, never written, parses as its even neighbour's
** successor in *pi with *pbOdd set). */
static int floor_slot_of(sqlite3_value *pKey, uint64_t *pi, int *pbOdd){
  const char *z = (const char*)sqlite3_value_text(pKey);
  int n = sqlite3_value_bytes(pKey);
  uint64_t v = 0;
  int j;
  if( sqlite3_value_type(pKey) != SQLITE_TEXT || !z || n != BENCH_KEY_BYTES ) return 1;
  for(j = 0; j < n; j++){
    if( z[j] < '0' || z[j] > '9' ) return 1;
    v = v * 10 + (uint64_t)(z[j] - '0');
  }
  *pi = v / 2;
  *pbOdd = (int)(v & 1);
  return 0;
}

/* Move pCur to the first live slot at or after its position. */
static void floor_settle(floor_table *pTab, floor_cursor *pCur){
  while( pCur->i < pCur->iEnd && !pTab->aSlot[pCur->i].bLive ) pCur->i++;
}

static int floor_filter(sqlite3_vtab_cursor *pVCur, int idxNum, const char *idxStr,
                        int argc, sqlite3_value **argv){
  floor_cursor *pCur = (floor_cursor*)pVCur;
  floor_table *pTab = (floor_table*)pVCur->pVtab;
  uint64_t i = 0;
  int bOdd = 0;
  (void)idxStr;
  pCur->i = 0;
  pCur->iEnd = pTab->nSlot;
  if( idxNum != FLOOR_SCAN ){
    if( argc < 1 || floor_slot_of(argv[0], &i, &bOdd) ){
      return floor_error(pVCur->pVtab, "bench_floor: a key must be a bench key (16 digits)");
    }
    /* An odd key lies between slots i and i + 1. */
    if( idxNum == FLOOR_EQ ){
      pCur->i = i;
      pCur->iEnd = (bOdd || i >= pTab->nSlot) ? i : i + 1;
    }else{
      pCur->i = (idxNum == FLOOR_GT || bOdd) ? i + 1 : i;
    }
    if( pCur->i > pCur->iEnd ) pCur->i = pCur->iEnd;
  }
  floor_settle(pTab, pCur);
  return SQLITE_OK;
}

static int floor_next(sqlite3_vtab_cursor *pVCur){
  floor_cursor *pCur = (floor_cursor*)pVCur;
  pCur->i++;
  floor_settle((floor_table*)pVCur->pVtab, pCur);
  return SQLITE_OK;
}

static int floor_eof(sqlite3_vtab_cursor *pVCur){
  floor_cursor *pCur = (floor_cursor*)pVCur;
  return pCur->i >= pCur->iEnd;
}

static int floor_column(sqlite3_vtab_cursor *pVCur, sqlite3_context *ctx, int iCol){
  floor_cursor *pCur = (floor_cursor*)pVCur;
  const floor_slot *s = &((floor_table*)pVCur->pVtab)->aSlot[pCur->i];
  if( iCol == 0 ){
    sqlite3_result_text(ctx, s->aKey, BENCH_KEY_BYTES, SQLITE_TRANSIENT);
  }else{
    sqlite3_result_blob(ctx, s->aVal, s->nVal, SQLITE_TRANSIENT);
  }
  return SQLITE_OK;
}

/* Grow pTab to hold slot i. */
static int floor_reserve(floor_table *pTab, uint64_t i){
  uint64_t n = pTab->nSlot ? pTab->nSlot : 1024;
  floor_slot *a;
  if( i < pTab->nSlot ) return SQLITE_OK;
  while( n <= i ) n *= 2;
  a = realloc(pTab->aSlot, (size_t)n * sizeof(floor_slot));
  if( !a ) return SQLITE_NOMEM;
  memset(&a[pTab->nSlot], 0, (size_t)(n - pTab->nSlot) * sizeof(floor_slot));
  pTab->aSlot = a;
  pTab->nSlot = n;
  return SQLITE_OK;
}

static int floor_update(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                        sqlite3_int64 *pRowid){
  floor_table *pTab = (floor_table*)pVtab;
  uint64_t i;
  int bOdd = 0, rc;
  (void)pRowid;
  if( sqlite3_value_type(argv[0]) != SQLITE_NULL ){      /* delete (or update's old row) */
    if( floor_slot_of(argv[0], &i, &bOdd) ){
      return floor_error(pVtab, "bench_floor: a key must be a bench key (16 digits)");
    }
    if( !bOdd && i < pTab->nSlot ) pTab->aSlot[i].bLive = 0;
  }
  if( argc == 1 ) return SQLITE_OK;
  if( floor_slot_of(argv[2], &i, &bOdd) || bOdd ){
    return floor_error(pVtab, "bench_floor: a key must be an even bench key (16 digits)");
  }
  if( sqlite3_value_bytes(argv[3]) > BENCH_VAL_BYTES ){
    return floor_error(pVtab, "bench_floor: a value holds at most 100 bytes");
  }
  rc = floor_reserve(pTab, i);
  if( rc != SQLITE_OK ) return rc;
  {
    floor_slot *s = &pTab->aSlot[i];
    const void *pVal = sqlite3_value_blob(argv[3]);
    s->nVal = (uint8_t)sqlite3_value_bytes(argv[3]);
    memcpy(s->aKey, sqlite3_value_text(argv[2]), BENCH_KEY_BYTES);
    if( s->nVal ) memcpy(s->aVal, pVal, s->nVal);
    s->bLive = 1;
  }
  return SQLITE_OK;
}

static sqlite3_module floor_module = {
  0,                      /* iVersion */
  floor_connect,          /* xCreate: nothing persists, so the same */
  floor_connect,
  floor_best_index,
  floor_disconnect,
  floor_disconnect,       /* xDestroy */
  floor_open,
  floor_close,
  floor_filter,
  floor_next,
  floor_eof,
  floor_column,
  0,                      /* xRowid: WITHOUT ROWID */
  floor_update,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};

int bench_floor_register(sqlite3 *db){
  return sqlite3_create_module(db, "bench_floor", &floor_module, 0);
}
