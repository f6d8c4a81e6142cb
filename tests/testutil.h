/*
** testutil.h — what every Check program shares.
**
**   - TEST_MAIN(suite_fn): main() that runs one suite and exits non-zero
**     on failure.
**   - A seeded PRNG.  The seed comes from LSM_TEST_SEED (default fixed
**     per program) and is printed when a test fails, so any failure can be
**     replayed: LSM_TEST_SEED=1234 build/tests/test_db
**   - Temporary directories, removed when the test passes.
**   - model: a trivially correct sorted map, the reference every
**     component is compared against.
**   - test_quick(): true under `make san-test` (LSM_TEST_QUICK=1), where
**     workloads shrink because the sanitizers are slow.
**
** Next to it: harness.h (the internal-key model, one comparison of any
** iterator with it, a failing iterator) and faultenv.h (an env that
** counts, fails, runs out of space, loses power and holds threads).
*/
#ifndef LSM_TESTUTIL_H
#define LSM_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* Check's ck_assert_msg (and every ck_assert_* built on it) records each
** PASSING assertion's file and line with a write(2) to its channel, so
** that a crash can name the last one passed.  Tests that assert per key
** in loops spent most of their time in those writes (test_l0slice:
** 381,399 writes in its first 20 s, 40% of its time in the kernel), which
** made `make test` slow enough to near its 10-minute budget.  Here a
** passing assertion costs only its condition; a failing one reports as
** before.  A crash loses the "last checkpoint" line: the sanitizers'
** stack traces and the printed seed say more. */
#undef ck_assert_msg
#define ck_assert_msg(expr, ...) \
  ((expr) ? (void)0 : \
   _ck_assert_failed(__FILE__, __LINE__, "Assertion '"#expr"' failed" , ## __VA_ARGS__))

/* ---- seeds and random numbers ---- */
uint64_t test_seed(void);                 /* LSM_TEST_SEED or the default */
typedef struct test_rng { uint64_t s; } test_rng;
void rng_init(test_rng*, uint64_t seed);
uint64_t rng_next(test_rng*);
uint64_t rng_below(test_rng*, uint64_t n);   /* uniform in [0, n) */
int test_quick(void);
/* Scale a workload size down under LSM_TEST_QUICK. */
int test_scale(int n);

/* ck_assert with the seed in the message. */
#define SEED_ASSERT(cond, ...) do{ if(!(cond)){ \
  ck_abort_msg("seed %llu: " __VA_ARGS__); }}while(0)
#define SEED_FMT(fmt) "seed %llu: " fmt

/* ---- temporary directories ---- */
/* A new empty directory under $TMPDIR (malloc'd path). */
char *test_tmpdir(const char *zTag);
/* rm -rf */
void test_rmtree(const char *zPath);

/* ---- the reference model: a sorted map of byte strings ---- */
typedef struct model_entry { uint8_t *pKey; size_t nKey; uint8_t *pVal; size_t nVal; } model_entry;
typedef struct model { model_entry *a; size_t n, nAlloc; } model;
void model_put(model*, const void *pKey, size_t nKey, const void *pVal, size_t nVal);
void model_delete(model*, const void *pKey, size_t nKey);
/* Index of the first entry >= key (n if none). */
size_t model_lower_bound(const model*, const void *pKey, size_t nKey);
const model_entry *model_get(const model*, const void *pKey, size_t nKey);
void model_clear(model*);
model model_copy(const model*);

#define TEST_MAIN(suite_fn) \
  int main(void){ \
    SRunner *sr = srunner_create(suite_fn()); \
    int nFail; \
    srunner_run_all(sr, CK_NORMAL); \
    nFail = srunner_ntests_failed(sr); \
    srunner_free(sr); \
    return nFail ? 1 : 0; \
  }

/* ---- whole-store checks (need lsm.h) ---- */
#include "lsm.h"
/* Scan the whole store forward and backward (through pRead, may be NULL)
** and compare with the model; ck_abort with the seed on a difference. */
void test_store_equals_model(lsm_db *pDb, const lsm_read *pRead, const model *m, uint64_t seed);

/* ---- SQL helpers for tests that drive the module through SQLite ---- */
#include <sqlite3.h>

/* Open zPath with a busy timeout of nBusyMs and PRAGMA journal_mode=zJournal. */
sqlite3 *test_open_db(const char *zPath, const char *zJournal, int nBusyMs);
/* A SQL test's Check fixture: xInit (sqlite3_lsm_init, passed in so that
** programs not linking the extension can link this file) registered as an
** auto extension, a new directory tagged zTag (*pzDir, malloc'd) and the
** path of t.db in it (*pzDb, sqlite3_malloc'd); test_sql_fixture_end
** undoes all of it. */
void test_sql_fixture_begin(void (*xInit)(void), const char *zTag, char **pzDir, char **pzDb);
void test_sql_fixture_end(char **pzDir, char **pzDb);
/* Run zSql; fail the test with SQLite's message if it does not succeed. */
void test_exec_ok(sqlite3 *db, const char *zSql);
/* The first column of the first row of zSql as an integer (-1: no row). */
sqlite3_int64 test_query_int(sqlite3 *db, const char *zSql);
/* The text of the first column of the first row (sqlite3_free), or NULL. */
char *test_query_text(sqlite3 *db, const char *zSql);

#endif
