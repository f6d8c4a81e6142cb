/*
** testutil.c — seeds, PRNG, temp dirs and the reference model (testutil.h).
*/
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ikey.h"

#define TEST_DEFAULT_SEED 20261125ull

uint64_t test_seed(void){
  const char *z = getenv("LSM_TEST_SEED");
  return z ? strtoull(z, 0, 10) : TEST_DEFAULT_SEED;
}

/* The seed goes through splitmix64's finalizer, so that seeds N and N+1
** give unrelated streams (not the same stream one step apart). */
void rng_init(test_rng *p, uint64_t seed){
  uint64_t z = seed + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  p->s = z ^ (z >> 31);
}

/* splitmix64: small, fast, good enough for test workloads. */
uint64_t rng_next(test_rng *p){
  uint64_t z = (p->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rng_below(test_rng *p, uint64_t n){ return n ? rng_next(p) % n : 0; }

int test_quick(void){
  const char *z = getenv("LSM_TEST_QUICK");
  return z && z[0] == '1';
}

int test_scale(int n){
  if( test_quick() ){ n /= 4; if( n < 1 ) n = 1; }
  return n;
}

char *test_tmpdir(const char *zTag){
  const char *zBase = getenv("TMPDIR");
  char *z = malloc(4096);
  snprintf(z, 4096, "%s/lsmtest-%s-XXXXXX", zBase ? zBase : "/tmp", zTag);
  if( mkdtemp(z) == NULL ){ perror("mkdtemp"); abort(); }
  return z;
}

void test_rmtree(const char *zPath){
  char zCmd[4200];
  snprintf(zCmd, sizeof(zCmd), "rm -rf '%s'", zPath);
  if( system(zCmd) != 0 ) fprintf(stderr, "could not remove %s\n", zPath);
}

size_t model_lower_bound(const model *m, const void *pKey, size_t nKey){
  size_t lo = 0, hi = m->n;
  while( lo < hi ){
    size_t mid = (lo + hi) / 2;
    if( ikey_compare_user(m->a[mid].pKey, m->a[mid].nKey, pKey, nKey) < 0 ) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const model_entry *model_get(const model *m, const void *pKey, size_t nKey){
  size_t i = model_lower_bound(m, pKey, nKey);
  if( i < m->n && ikey_compare_user(m->a[i].pKey, m->a[i].nKey, pKey, nKey) == 0 ) return &m->a[i];
  return NULL;
}

static uint8_t *dup_bytes(const void *p, size_t n){
  uint8_t *r = malloc(n ? n : 1);
  if( n ) memcpy(r, p, n);
  return r;
}

void model_put(model *m, const void *pKey, size_t nKey, const void *pVal, size_t nVal){
  size_t i = model_lower_bound(m, pKey, nKey);
  if( i < m->n && ikey_compare_user(m->a[i].pKey, m->a[i].nKey, pKey, nKey) == 0 ){
    free(m->a[i].pVal);
    m->a[i].pVal = dup_bytes(pVal, nVal);
    m->a[i].nVal = nVal;
    return;
  }
  if( m->n == m->nAlloc ){
    m->nAlloc = m->nAlloc ? m->nAlloc * 2 : 64;
    m->a = realloc(m->a, m->nAlloc * sizeof(m->a[0]));
  }
  memmove(&m->a[i + 1], &m->a[i], (m->n - i) * sizeof(m->a[0]));
  m->a[i].pKey = dup_bytes(pKey, nKey); m->a[i].nKey = nKey;
  m->a[i].pVal = dup_bytes(pVal, nVal); m->a[i].nVal = nVal;
  m->n++;
}

void model_delete(model *m, const void *pKey, size_t nKey){
  size_t i = model_lower_bound(m, pKey, nKey);
  if( i < m->n && ikey_compare_user(m->a[i].pKey, m->a[i].nKey, pKey, nKey) == 0 ){
    free(m->a[i].pKey); free(m->a[i].pVal);
    memmove(&m->a[i], &m->a[i + 1], (m->n - i - 1) * sizeof(m->a[0]));
    m->n--;
  }
}

void model_clear(model *m){
  size_t i;
  for(i = 0; i < m->n; i++){ free(m->a[i].pKey); free(m->a[i].pVal); }
  free(m->a);
  memset(m, 0, sizeof(*m));
}

model model_copy(const model *m){
  model r = {0};
  size_t i;
  for(i = 0; i < m->n; i++) model_put(&r, m->a[i].pKey, m->a[i].nKey, m->a[i].pVal, m->a[i].nVal);
  return r;
}

void test_store_equals_model(lsm_db *pDb, const lsm_read *pRead, const model *m, uint64_t seed){
  lsm_cursor *pCsr = NULL;
  int bReverse, rc;
  rc = lsm_cursor_open(pDb, pRead, &pCsr);
  if( rc != LSM_OK ) ck_abort_msg("seed %llu: cursor open rc=%d", (unsigned long long)seed, rc);
  for(bReverse = 0; bReverse < 2; bReverse++){
    size_t i;
    rc = bReverse ? lsm_cursor_last(pCsr) : lsm_cursor_first(pCsr);
    for(i = 0; rc == LSM_OK && i < m->n; i++){
      const model_entry *e = &m->a[bReverse ? m->n - 1 - i : i];
      const void *pKey, *pVal;
      size_t nKey, nVal;
      if( !lsm_cursor_valid(pCsr) ){
        ck_abort_msg("seed %llu: store has %zu keys, model %zu (reverse=%d)",
                     (unsigned long long)seed, i, m->n, bReverse);
      }
      rc = lsm_cursor_key(pCsr, &pKey, &nKey);
      if( rc == LSM_OK ) rc = lsm_cursor_value(pCsr, &pVal, &nVal);
      if( rc != LSM_OK ) break;
      if( nKey != e->nKey || memcmp(pKey, e->pKey, nKey) != 0 ){
        ck_abort_msg("seed %llu: key %zu is %.*s, model has %.*s (reverse=%d)",
                     (unsigned long long)seed, i, (int)nKey, (const char*)pKey,
                     (int)e->nKey, (const char*)e->pKey, bReverse);
      }
      if( nVal != e->nVal || (nVal && memcmp(pVal, e->pVal, nVal) != 0) ){
        ck_abort_msg("seed %llu: value of %.*s differs", (unsigned long long)seed,
                     (int)nKey, (const char*)pKey);
      }
      rc = bReverse ? lsm_cursor_prev(pCsr) : lsm_cursor_next(pCsr);
    }
    if( rc != LSM_OK ) ck_abort_msg("seed %llu: scan rc=%d", (unsigned long long)seed, rc);
    if( lsm_cursor_valid(pCsr) ){
      ck_abort_msg("seed %llu: store has more keys than the model's %zu (reverse=%d)",
                   (unsigned long long)seed, m->n, bReverse);
    }
  }
  lsm_cursor_close(pCsr);
}

/* ---- SQL helpers ---- */

void test_sql_fixture_begin(void (*xInit)(void), const char *zTag, char **pzDir, char **pzDb){
  sqlite3_auto_extension(xInit);
  *pzDir = test_tmpdir(zTag);
  *pzDb = sqlite3_mprintf("%s/t.db", *pzDir);
}

void test_sql_fixture_end(char **pzDir, char **pzDb){
  sqlite3_reset_auto_extension();
  test_rmtree(*pzDir);
  free(*pzDir);
  sqlite3_free(*pzDb);
  *pzDir = NULL;
  *pzDb = NULL;
}

sqlite3 *test_open_db(const char *zPath, const char *zJournal, int nBusyMs){
  sqlite3 *db = NULL;
  char *zSql;
  ck_assert_int_eq(sqlite3_open(zPath, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, nBusyMs);
  zSql = sqlite3_mprintf("PRAGMA journal_mode=%s", zJournal);
  ck_assert_int_eq(sqlite3_exec(db, zSql, 0, 0, 0), SQLITE_OK);
  sqlite3_free(zSql);
  return db;
}

void test_exec_ok(sqlite3 *db, const char *zSql){
  char *zErr = NULL;
  int rc = sqlite3_exec(db, zSql, 0, 0, &zErr);
  ck_assert_msg(rc == SQLITE_OK, "%s: %s", zSql, zErr ? zErr : sqlite3_errstr(rc));
  sqlite3_free(zErr);
}

sqlite3_int64 test_query_int(sqlite3 *db, const char *zSql){
  sqlite3_stmt *pStmt = NULL;
  sqlite3_int64 v = -1;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  ck_assert_msg(rc == SQLITE_OK, "%s: %s", zSql, sqlite3_errmsg(db));
  rc = sqlite3_step(pStmt);
  ck_assert_msg(rc == SQLITE_ROW || rc == SQLITE_DONE, "%s: %s", zSql, sqlite3_errmsg(db));
  if( rc == SQLITE_ROW ) v = sqlite3_column_int64(pStmt, 0);
  sqlite3_finalize(pStmt);
  return v;
}

char *test_query_text(sqlite3 *db, const char *zSql){
  sqlite3_stmt *pStmt = NULL;
  char *z = NULL;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  ck_assert_msg(rc == SQLITE_OK, "%s: %s", zSql, sqlite3_errmsg(db));
  if( sqlite3_step(pStmt) == SQLITE_ROW ) z = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 0));
  sqlite3_finalize(pStmt);
  return z;
}
