/*
** test_table_cache.c — a store of many SSTables read through a table
** cache of 16 readers (lsm_options.max_open_tables).
**
** Every store here holds well over 100 tables (sequential keys and a 4 KiB
** memtable: each flush makes a small table that is moved down, never
** merged), so the cache evicts and reopens all the time.  Through that:
** gets, scans both ways, seeks, flushes, compactions and a reopen give
** the reference model's answers; the files open at once stay near the
** limit (counted by faultenv); a cursor keeps
** reading tables whose readers were evicted and whose files a compaction
** made obsolete; lsm_get's value stays right while another thread evicts
** the reader it came from (and a third rewrites keys, so the background
** threads flush and compact); a table reopened after an eviction reports
** corruption through the call's rc; a snapshot reads tables that were
** moved and then merged away; too small a limit is refused; by default
** the cache keeps 10000 readers, of those that hold descriptors (mmap
** off) at most half the open-file limit; the heap of the open readers
** stays within table_cache_bytes; mapped tables hold no descriptor; a
** moved table reads through its file's one reader; a reopened table finds
** the blocks its earlier readers cached, which go when the table goes.
**
** The env is a faultenv over the POSIX one (real descriptors and
** mappings, so a value read from an unmapped reader would fault), with
** xSync and xSyncDir made no-ops: nothing here needs durability, and it
** spares an fsync a flush.
** Replay a failure with LSM_TEST_SEED=<printed seed>.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "faultenv.h"
#include "lsm.h"
#include "testutil.h"

#define TC_CAPACITY 16          /* max_open_tables of every store here        */
#define TC_KEYS     8000        /* keys loaded: about 140 tables               */
#define TC_MIN_TABLES 100
/*
** Files open beyond the cache's readers: readers pinned by iterators (a
** cursor or a compaction holds one per level-0 table and one per deeper
** level: background=off keeps level 0 at a few tables), the WAL, an
** SSTable being written and the manifest being replaced.
*/
#define TC_SLACK 16
/* With background=on, level 0 may hold up to COMPACTION_L0_STOP (12)
** tables, writers stop there, and a level-0 compaction reads them all at
** once; readers that missed hold a reader of their own while they open.
** 36 is the stop this slack was first set for: a bound the count stays
** under with room to spare, not the stop itself. */
#define TC_SLACK_BACKGROUND (TC_SLACK + 36 + 4)

/* ------------------------------------------------------------------ */
/* The env: a faultenv that counts the files open at once              */
/* ------------------------------------------------------------------ */

/* Made by the checked fixture before each test, in its process. */
static faultenv *tcFe;

static void tc_setup(void){
  tcFe = faultenv_new(NULL);
  faultenv_set_sync(tcFe, 0);       /* nothing here needs durability */
  faultenv_set_dir_model(tcFe, 0);  /* nor crashes */
}

static void tc_teardown(void){
  faultenv_free(tcFe);
  tcFe = NULL;
}

/* ------------------------------------------------------------------ */
/* Stores and checks                                                   */
/* ------------------------------------------------------------------ */

static lsm_options tc_options(void){
  lsm_options opt;
  lsm_options_default(&opt);
  opt.memtable_bytes = 4096;        /* a table per ~60 keys */
  opt.block_bytes = 512;
  /* Raw blocks: read from the mapping (see above), and table sizes, so
  ** the table counts below, as written uncompressed. */
  opt.compression = LSM_COMPRESSION_NONE;
  opt.sync = LSM_SYNC_OFF;
  opt.background = 0;
  opt.max_open_tables = TC_CAPACITY;
  opt.env = faultenv_env(tcFe);
  return opt;
}

static int tc_key(char *z, int k){
  return snprintf(z, 32, "k%08d", k);
}

/* The value of key k written in generation iGen: the key, then filler of
** a length that depends on both, so a value from the wrong key or
** generation differs in length or bytes. */
static int tc_value(char *z, int k, int iGen){
  int n = snprintf(z, 128, "v%d-%08d-", iGen, k);
  int nFill = (k * 7 + iGen * 13) % 40, i;
  for(i = 0; i < nFill; i++) z[n + i] = (char)('a' + (k + i + iGen) % 26);
  return n + nFill;
}

/* Put keys kFrom..kTo-1 in order, generation iGen. */
static void tc_put_range(lsm_db *pDb, model *m, int kFrom, int kTo, int iGen){
  char zKey[32], zVal[128];
  int k;
  for(k = kFrom; k < kTo; k++){
    int nk = tc_key(zKey, k), nv = tc_value(zVal, k, iGen);
    ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nk, zVal, (size_t)nv), LSM_OK);
    if( m ) model_put(m, zKey, (size_t)nk, zVal, (size_t)nv);
  }
}

/* Put keys 0..nKey-1 in order (generation 0) and flush: ~140 small tables. */
static void tc_load(lsm_db *pDb, model *m, int nKey){
  tc_put_range(pDb, m, 0, nKey, 0);
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
}

static uint64_t tc_tables(lsm_db *pDb, lsm_stats *pSt){
  uint64_t n = 0;
  int i;
  ck_assert_int_eq(lsm_stats_get(pDb, pSt), LSM_OK);
  for(i = 0; i < LSM_MAX_LEVELS; i++) n += pSt->aLevel[i].nFiles;
  return n;
}

/* The files open at once never passed the cache's capacity + nSlack. */
static void tc_assert_peak(uint64_t seed, const char *zWhen, int nSlack){
  int nPeak = faultenv_files_peak(tcFe);
  SEED_ASSERT(nPeak <= TC_CAPACITY + nSlack, "%s: %d files open at once, limit %d + %d",
              (unsigned long long)seed, zWhen, nPeak, TC_CAPACITY, nSlack);
}

/* nGet gets of random keys (a tenth of them absent) against the model. */
static void tc_check_gets(lsm_db *pDb, const model *m, test_rng *pRng, int nKey, int nGet,
                          uint64_t seed){
  char zKey[40];
  int i;
  for(i = 0; i < nGet; i++){
    int k = (int)rng_below(pRng, (uint64_t)nKey);
    int nk = tc_key(zKey, k);
    const model_entry *e;
    void *pVal = NULL;
    size_t nVal = 0;
    int rc;
    if( rng_below(pRng, 10) == 0 ) zKey[nk++] = '~';      /* between two keys */
    e = model_get(m, zKey, (size_t)nk);
    rc = lsm_get(pDb, NULL, zKey, (size_t)nk, &pVal, &nVal);
    SEED_ASSERT(rc == (e ? LSM_OK : LSM_NOTFOUND), "get %.*s: rc=%d %s",
                (unsigned long long)seed, nk, zKey, rc, lsm_errmsg(pDb));
    if( e ){
      SEED_ASSERT(nVal == e->nVal && memcmp(pVal, e->pVal, nVal) == 0, "get %.*s: wrong value",
                  (unsigned long long)seed, nk, zKey);
    }
    lsm_free(pVal);
  }
}

/* The cursor is at model entry i (or invalid when i is out of range). */
static void tc_check_at(lsm_cursor *pCsr, const model *m, long i, uint64_t seed,
                        const char *zWhat){
  const void *pKey, *pVal;
  size_t nKey, nVal;
  const model_entry *e;
  if( i < 0 || (size_t)i >= m->n ){
    SEED_ASSERT(!lsm_cursor_valid(pCsr), "%s: cursor valid past the model's end",
                (unsigned long long)seed, zWhat);
    return;
  }
  e = &m->a[i];
  SEED_ASSERT(lsm_cursor_valid(pCsr), "%s: cursor invalid at model entry %ld of %zu",
              (unsigned long long)seed, zWhat, i, m->n);
  lsm_cursor_key(pCsr, &pKey, &nKey);
  lsm_cursor_value(pCsr, &pVal, &nVal);
  SEED_ASSERT(nKey == e->nKey && memcmp(pKey, e->pKey, nKey) == 0
              && nVal == e->nVal && memcmp(pVal, e->pVal, nVal) == 0,
              "%s: cursor at %.*s, model entry %ld is %.*s", (unsigned long long)seed, zWhat,
              (int)nKey, (const char*)pKey, i, (int)e->nKey, (const char*)e->pKey);
}

/* nSeek seeks (>= and <=, to present and absent keys), each followed by a
** few steps forward and back, against the model. */
static void tc_check_seeks(lsm_db *pDb, const model *m, test_rng *pRng, int nKey, int nSeek,
                           uint64_t seed){
  lsm_cursor *pCsr = NULL;
  char zKey[40];
  int i, j;
  ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pCsr), LSM_OK);
  for(i = 0; i < nSeek; i++){
    int nk = tc_key(zKey, (int)rng_below(pRng, (uint64_t)nKey + 10));
    int bLe = (int)rng_below(pRng, 2), nStep = (int)rng_below(pRng, 4);
    long iAt;
    if( rng_below(pRng, 3) == 0 ) zKey[nk++] = '~';
    iAt = (long)model_lower_bound(m, zKey, (size_t)nk);
    if( bLe && !((size_t)iAt < m->n && m->a[iAt].nKey == (size_t)nk
                 && memcmp(m->a[iAt].pKey, zKey, (size_t)nk) == 0) ){
      iAt--;
    }
    ck_assert_int_eq(lsm_cursor_seek(pCsr, zKey, (size_t)nk, bLe ? LSM_SEEK_LE : LSM_SEEK_GE),
                     LSM_OK);
    tc_check_at(pCsr, m, iAt, seed, "seek");
    for(j = 0; j < nStep && lsm_cursor_valid(pCsr); j++){
      int bNext = (int)rng_below(pRng, 2);
      ck_assert_int_eq(bNext ? lsm_cursor_next(pCsr) : lsm_cursor_prev(pCsr), LSM_OK);
      iAt += bNext ? 1 : -1;
      tc_check_at(pCsr, m, iAt, seed, bNext ? "next after seek" : "prev after seek");
    }
  }
  lsm_cursor_close(pCsr);
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

START_TEST(a_store_of_many_tables_matches_the_model_through_16_open_readers){
  uint64_t seed = test_seed();
  test_rng rng;
  lsm_options opt = tc_options();
  char *zDir = test_tmpdir("tcache");
  lsm_db *pDb = NULL;
  lsm_stats st;
  model m = {0};
  char zKey[32], zVal[128], *zReport = NULL;
  uint64_t nTables, nMissesBefore;
  int i, iRound;

  rng_init(&rng, seed);
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  tc_load(pDb, &m, TC_KEYS);
  nTables = tc_tables(pDb, &st);
  SEED_ASSERT(nTables >= TC_MIN_TABLES, "only %llu tables", (unsigned long long)seed,
              (unsigned long long)nTables);
  tc_assert_peak(seed, "load", TC_SLACK);

  /* Reads: gets, scans both ways, seeks. */
  nMissesBefore = st.nTableCacheMisses;
  tc_check_gets(pDb, &m, &rng, TC_KEYS, test_scale(4000), seed);
  test_store_equals_model(pDb, NULL, &m, seed);
  tc_check_seeks(pDb, &m, &rng, TC_KEYS, test_scale(1000), seed);
  tc_tables(pDb, &st);
  SEED_ASSERT(st.nTablesOpen <= TC_CAPACITY, "%llu tables open", (unsigned long long)seed,
              (unsigned long long)st.nTablesOpen);
  SEED_ASSERT(st.nTableCacheMisses > nMissesBefore, "no reopen", (unsigned long long)seed);
  tc_assert_peak(seed, "reads", TC_SLACK);

  /* Writes to a tenth of the key range, flushed: compactions merge the
  ** tables there while the rest stay many and small. */
  for(iRound = 1; iRound <= 6; iRound++){
    for(i = 0; i < 300; i++){
      int k = (int)rng_below(&rng, TC_KEYS / 10) + (TC_KEYS / 10) * (iRound % 5);
      int nk = tc_key(zKey, k);
      if( rng_below(&rng, 5) == 0 ){
        ck_assert_int_eq(lsm_delete(pDb, zKey, (size_t)nk), LSM_OK);
        model_delete(&m, zKey, (size_t)nk);
      }else{
        int nv = tc_value(zVal, k, iRound);
        ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nk, zVal, (size_t)nv), LSM_OK);
        model_put(&m, zKey, (size_t)nk, zVal, (size_t)nv);
      }
    }
    ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
    tc_check_gets(pDb, &m, &rng, TC_KEYS, test_scale(800), seed);
    tc_check_seeks(pDb, &m, &rng, TC_KEYS, test_scale(100), seed);
  }
  test_store_equals_model(pDb, NULL, &m, seed);
  nTables = tc_tables(pDb, &st);
  SEED_ASSERT(nTables >= TC_MIN_TABLES, "only %llu tables after the writes",
              (unsigned long long)seed, (unsigned long long)nTables);
  SEED_ASSERT(st.nCompactions > 0, "no compaction ran", (unsigned long long)seed);
  SEED_ASSERT(lsm_check(pDb, &zReport) == LSM_OK, "check: %s", (unsigned long long)seed,
              zReport ? zReport : "");
  tc_assert_peak(seed, "writes and compactions", TC_SLACK);

  /* Reopen: recovery opens every table through the cache. */
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  ck_assert_int_eq(faultenv_files_open(tcFe), 0);
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  tc_check_gets(pDb, &m, &rng, TC_KEYS, test_scale(2000), seed);
  test_store_equals_model(pDb, NULL, &m, seed);
  tc_assert_peak(seed, "reopen", TC_SLACK);

  /* Full compaction. */
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  test_store_equals_model(pDb, NULL, &m, seed);
  tc_check_gets(pDb, &m, &rng, TC_KEYS, test_scale(1000), seed);
  tc_check_seeks(pDb, &m, &rng, TC_KEYS, test_scale(200), seed);
  tc_assert_peak(seed, "full compaction", TC_SLACK);

  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  ck_assert_int_eq(faultenv_files_open(tcFe), 0);
  model_clear(&m);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

START_TEST(a_cursor_reads_its_whole_range_across_evictions_and_compactions){
  uint64_t seed = test_seed();
  test_rng rng;
  lsm_options opt = tc_options();
  char *zDir = test_tmpdir("tcache");
  lsm_db *pDb = NULL;
  lsm_cursor *pCsr = NULL;
  lsm_stats st;
  model m = {0}, mAtOpen;
  char zKey[32], zVal[128];
  uint64_t nMissesBefore;
  long i;

  rng_init(&rng, seed);
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  tc_load(pDb, &m, TC_KEYS);
  mAtOpen = model_copy(&m);
  SEED_ASSERT(tc_tables(pDb, &st) >= TC_MIN_TABLES, "too few tables", (unsigned long long)seed);
  nMissesBefore = st.nTableCacheMisses;

  /* Forward over everything the cursor saw at open, while gets evict
  ** every reader it is not using, writes and compactions (a full one
  ** half way) replace the tables under it. */
  ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pCsr), LSM_OK);
  ck_assert_int_eq(lsm_cursor_first(pCsr), LSM_OK);
  for(i = 0; i < (long)mAtOpen.n; i++){
    tc_check_at(pCsr, &mAtOpen, i, seed, "forward");
    if( i % 37 == 0 ) tc_check_gets(pDb, &m, &rng, TC_KEYS, 40, seed);
    if( i % 1000 == 999 ){
      int j;
      for(j = 0; j < 200; j++){
        int k = (int)rng_below(&rng, TC_KEYS);
        int nk = tc_key(zKey, k), nv = tc_value(zVal, k, (int)(i / 1000) + 1);
        ck_assert_int_eq(lsm_put(pDb, zKey, (size_t)nk, zVal, (size_t)nv), LSM_OK);
        model_put(&m, zKey, (size_t)nk, zVal, (size_t)nv);
      }
      ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
    }
    if( i == (long)mAtOpen.n / 2 ) ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
    ck_assert_int_eq(lsm_cursor_next(pCsr), LSM_OK);
  }
  tc_check_at(pCsr, &mAtOpen, i, seed, "forward end");

  /* And back, over tables every one of which is now obsolete. */
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  ck_assert_int_eq(lsm_cursor_last(pCsr), LSM_OK);
  for(i = (long)mAtOpen.n - 1; i >= 0; i--){
    tc_check_at(pCsr, &mAtOpen, i, seed, "backward");
    if( i % 53 == 0 ) tc_check_gets(pDb, &m, &rng, TC_KEYS, 20, seed);
    ck_assert_int_eq(lsm_cursor_prev(pCsr), LSM_OK);
    if( i == 0 ) break;
  }
  lsm_cursor_close(pCsr);

  ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
  SEED_ASSERT(st.nTableCacheMisses > nMissesBefore + 100, "only %llu reopens",
              (unsigned long long)seed, (unsigned long long)(st.nTableCacheMisses - nMissesBefore));
  test_store_equals_model(pDb, NULL, &m, seed);
  tc_assert_peak(seed, "cursor", TC_SLACK);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  ck_assert_int_eq(faultenv_files_open(tcFe), 0);
  model_clear(&m);
  model_clear(&mAtOpen);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/* One reading thread: random gets, each value checked byte for byte. */
typedef struct tc_reader {
  lsm_db *pDb;
  uint64_t seed;
  int nGet;
  int nBad;                  /* wrong answers                            */
  char zFirstBad[160];       /* the first of them                        */
} tc_reader;

static void *tc_reader_main(void *pArg){
  tc_reader *p = pArg;
  test_rng rng;
  char zKey[32], zVal[128];
  int i;
  rng_init(&rng, p->seed);
  for(i = 0; i < p->nGet; i++){
    int k = (int)rng_below(&rng, TC_KEYS);
    int nk = tc_key(zKey, k), nv = tc_value(zVal, k, 0);
    void *pVal = NULL;
    size_t nVal = 0;
    int rc = lsm_get(p->pDb, NULL, zKey, (size_t)nk, &pVal, &nVal);
    if( rc != LSM_OK || nVal != (size_t)nv || memcmp(pVal, zVal, nVal) != 0 ){
      if( p->nBad++ == 0 ){
        snprintf(p->zFirstBad, sizeof(p->zFirstBad), "get %s: rc=%d, %zu bytes, expected %d",
                 zKey, rc, nVal, nv);
      }
    }
    lsm_free(pVal);
  }
  return NULL;
}

/* Rewrites random keys with the values they already have, so that the
** background threads flush and compact (new tables, obsolete ones,
** evictions) under the readers without changing any answer. */
typedef struct tc_writer {
  lsm_db *pDb;
  uint64_t seed;
  int nPut;
  int rc;                    /* first failure                            */
} tc_writer;

static void *tc_writer_main(void *pArg){
  tc_writer *p = pArg;
  test_rng rng;
  char zKey[32], zVal[128];
  int i;
  rng_init(&rng, p->seed);
  for(i = 0; i < p->nPut && p->rc == LSM_OK; i++){
    int k = (int)rng_below(&rng, TC_KEYS);
    int nk = tc_key(zKey, k), nv = tc_value(zVal, k, 0);
    p->rc = lsm_put(p->pDb, zKey, (size_t)nk, zVal, (size_t)nv);
  }
  return NULL;
}

START_TEST(lsm_get_values_stay_right_while_another_thread_evicts_their_reader){
  uint64_t seed = test_seed();
  lsm_options opt = tc_options();
  char *zDir = test_tmpdir("tcache");
  lsm_db *pDb = NULL;
  lsm_stats st;
  tc_reader aReader[2];
  tc_writer writer;
  pthread_t aThread[2], writerThread;
  int i;

  opt.background = 1;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  tc_load(pDb, NULL, TC_KEYS);
  SEED_ASSERT(tc_tables(pDb, &st) >= TC_MIN_TABLES, "too few tables", (unsigned long long)seed);
  memset(&writer, 0, sizeof(writer));
  writer.pDb = pDb;
  writer.seed = seed + 99;
  writer.nPut = test_scale(4000);
  ck_assert_int_eq(pthread_create(&writerThread, NULL, tc_writer_main, &writer), 0);
  for(i = 0; i < 2; i++){
    memset(&aReader[i], 0, sizeof(aReader[i]));
    aReader[i].pDb = pDb;
    aReader[i].seed = seed + (uint64_t)i;
    aReader[i].nGet = test_scale(10000);
    ck_assert_int_eq(pthread_create(&aThread[i], NULL, tc_reader_main, &aReader[i]), 0);
  }
  for(i = 0; i < 2; i++){
    pthread_join(aThread[i], NULL);
    SEED_ASSERT(aReader[i].nBad == 0, "thread %d: %d wrong gets, first: %s",
                (unsigned long long)seed, i, aReader[i].nBad, aReader[i].zFirstBad);
  }
  pthread_join(writerThread, NULL);
  SEED_ASSERT(writer.rc == LSM_OK, "writer: rc=%d", (unsigned long long)seed, writer.rc);
  tc_tables(pDb, &st);
  SEED_ASSERT(st.nTablesOpen <= TC_CAPACITY, "%llu tables open", (unsigned long long)seed,
              (unsigned long long)st.nTablesOpen);
  SEED_ASSERT(st.nTableCacheMisses > 0, "no reopen", (unsigned long long)seed);
  tc_assert_peak(seed, "two readers and a writer", TC_SLACK_BACKGROUND);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

START_TEST(a_table_reopened_after_eviction_reports_its_corruption){
  lsm_options opt = tc_options();
  char *zDir = test_tmpdir("tcache");
  lsm_db *pDb = NULL;
  lsm_file_info *aFile = NULL;
  char zKey[32], zName[32], zPath[4096], *zReport = NULL;
  void *pVal = NULL;
  size_t nVal = 0;
  FILE *f;
  int nFile = 0, i, nk;

  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  tc_load(pDb, NULL, TC_KEYS);
  /* The table of key 0: opened first, so long evicted. */
  ck_assert_int_eq(lsm_files(pDb, &aFile, &nFile), LSM_OK);
  ck_assert_int_ge(nFile, TC_MIN_TABLES);
  nk = tc_key(zKey, 0);
  for(i = 0; i < nFile; i++){
    if( aFile[i].nSmallest == (size_t)nk && memcmp(aFile[i].pSmallest, zKey, (size_t)nk) == 0 ) break;
  }
  ck_assert_int_lt(i, nFile);
  snprintf(zName, sizeof(zName), "%s", aFile[i].zName);
  snprintf(zPath, sizeof(zPath), "%s/%s", zDir, zName);
  lsm_free(aFile);
  /* Overwrite the footer's last bytes (its checksum). */
  f = fopen(zPath, "r+b");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fseek(f, -4, SEEK_END), 0);
  ck_assert_int_eq((int)fwrite("\xff\xff\xff\xff", 1, 4, f), 4);
  fclose(f);

  ck_assert_int_eq(lsm_get(pDb, NULL, zKey, (size_t)nk, &pVal, &nVal), LSM_CORRUPT);
  ck_assert_ptr_nonnull(strstr(lsm_errmsg(pDb), zName));
  ck_assert_int_eq(lsm_check(pDb, &zReport), LSM_CORRUPT);
  ck_assert_ptr_nonnull(zReport);
  ck_assert_ptr_nonnull(strstr(zReport, "footer"));
  lsm_free(zReport);
  /* Other tables still read. */
  nk = tc_key(zKey, TC_KEYS - 1);
  ck_assert_int_eq(lsm_get(pDb, NULL, zKey, (size_t)nk, &pVal, &nVal), LSM_OK);
  lsm_free(pVal);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/*
** A snapshot pins the tables of its version.  Sequential loads move those
** tables down (a move makes a new table struct for the same file), and a
** full compaction then merges the moved ones away.  Found by review: the
** moved struct, once obsolete and freed, unlinked the file that the
** snapshot's struct still named, and once the cache had evicted that
** struct's reader, reading through the snapshot failed ("cannot open").
*/
START_TEST(a_snapshot_reads_tables_that_were_moved_then_merged_away){
  uint64_t seed = test_seed();
  test_rng rng;
  lsm_options opt = tc_options();
  char *zDir = test_tmpdir("tcache");
  lsm_db *pDb = NULL;
  lsm_snapshot *pSnap = NULL;
  lsm_read read;
  model m = {0}, mAtSnapshot;

  rng_init(&rng, seed);
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  tc_load(pDb, &m, TC_KEYS / 2);
  mAtSnapshot = model_copy(&m);
  ck_assert_int_eq(lsm_snapshot_acquire(pDb, &pSnap), LSM_OK);
  /* More sequential tables: the snapshot's tables move down. */
  tc_put_range(pDb, &m, TC_KEYS / 2, TC_KEYS, 0);
  /* Every key rewritten, then everything merged: no moved table is left. */
  tc_put_range(pDb, &m, 0, TC_KEYS, 1);
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  /* Reads of the current data evict the snapshot's readers... */
  test_store_equals_model(pDb, NULL, &m, seed);
  tc_check_gets(pDb, &m, &rng, TC_KEYS, 500, seed);
  /* ...which must reopen their files. */
  memset(&read, 0, sizeof(read));
  read.pSnapshot = pSnap;
  test_store_equals_model(pDb, &read, &mAtSnapshot, seed);
  lsm_snapshot_release(pSnap);
  /* The snapshot gone, its files went with it: the directory holds the
  ** store's SSTables and no others. */
  {
    lsm_file_info *aFile = NULL;
    int nFile = 0;
    char **azName = NULL;
    int nName = 0, nSst = 0, i;
    lsm_env *pEnv = lsm_env_default();
    ck_assert_int_eq(lsm_files(pDb, &aFile, &nFile), LSM_OK);
    ck_assert_int_eq(pEnv->xListDir(pEnv, zDir, &azName, &nName), LSM_OK);
    for(i = 0; i < nName; i++){
      size_t n = strlen(azName[i]);
      if( n > 4 && strcmp(azName[i] + n - 4, ".sst") == 0 ) nSst++;
    }
    SEED_ASSERT(nSst == nFile, "%d SSTables in the directory, %d in the store",
                (unsigned long long)seed, nSst, nFile);
    pEnv->xFree(pEnv, azName);
    lsm_free(aFile);
  }
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  model_clear(&m);
  model_clear(&mAtSnapshot);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

START_TEST(max_open_tables_below_16_is_refused_naming_the_option){
  lsm_options opt = tc_options();
  char *zDir = test_tmpdir("tcache");
  lsm_db *pDb = NULL;
  opt.max_open_tables = TC_CAPACITY - 1;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_MISUSE);
  ck_assert_ptr_null(pDb);
  ck_assert_str_eq(lsm_errmsg(NULL), "max_open_tables must be at least 16");
  opt.max_open_tables = 0;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_MISUSE);
  opt.max_open_tables = TC_CAPACITY;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/* Open descriptors of this process (entries of /proc/self/fd). */
static int tc_open_fds(void){
  lsm_env *pEnv = lsm_env_default();
  char **azName = NULL;
  int nName = 0;
  ck_assert_int_eq(pEnv->xListDir(pEnv, "/proc/self/fd", &azName, &nName), LSM_OK);
  pEnv->xFree(pEnv, azName);
  return nName;
}

/* Read every key of the store once (a scan opens every table), checking
** that there are nRow. */
static void tc_scan_all(lsm_db *pDb, int nRow){
  lsm_cursor *pCsr = NULL;
  int rc, n = 0;
  ck_assert_int_eq(lsm_cursor_open(pDb, NULL, &pCsr), LSM_OK);
  for(rc = lsm_cursor_first(pCsr); rc == LSM_OK && lsm_cursor_valid(pCsr); rc = lsm_cursor_next(pCsr)){
    n++;
  }
  ck_assert_int_eq(rc, LSM_OK);
  ck_assert_int_eq(n, nRow);
  lsm_cursor_close(pCsr);
}

/*
** By default the cache keeps up to 10000 readers and 64 MiB of their
** heap.  Readers that read with xRead (mmap=off here) hold a descriptor
** each, so of those it keeps at most half of RLIMIT_NOFILE (and at least
** 16); mapped readers hold none and are not held to it.  A store of more
** than 1000 tables (in the memory env, so that it needs no descriptors
** itself) is reopened under several soft limits and read through; the
** readers the cache then holds are exactly that capacity, or every table
** when mapped.  The soft limit is restored at the end.
*/
#define TC_DEFAULT_CAPACITY 10000
#define TC_MANY_KEYS 66000        /* about 1100 tables of a 4 KiB memtable */
START_TEST(the_default_keeps_unmapped_readers_within_half_the_file_limit_and_mapped_ones_beyond){
  static const rlim_t aLimit[] = { 4096, 1500, 100, 20 };
  uint64_t seed = test_seed();
  lsm_env *pMemEnv = lsm_env_memory();
  struct rlimit lim, limSaved;
  lsm_options opt;
  lsm_db *pDb = NULL;
  lsm_stats st;
  uint64_t nTables;
  int i;

  lsm_options_default(&opt);
  ck_assert_int_eq(opt.max_open_tables, TC_DEFAULT_CAPACITY);
  ck_assert_uint_eq(opt.table_cache_bytes, 64u << 20);
  ck_assert_int_eq(opt.use_mmap, 1);
  opt.memtable_bytes = 4096;        /* a table per ~60 keys */
  opt.sync = LSM_SYNC_OFF;
  opt.background = 0;
  opt.env = pMemEnv;
  ck_assert_int_eq(lsm_open("/tc", &opt, &pDb), LSM_OK);
  tc_put_range(pDb, NULL, 0, TC_MANY_KEYS, 0);
  ck_assert_int_eq(lsm_flush(pDb), LSM_OK);
  nTables = tc_tables(pDb, &st);
  SEED_ASSERT(nTables > 1000, "only %llu tables", (unsigned long long)seed,
              (unsigned long long)nTables);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);

  ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &limSaved), 0);
  for(i = 0; i < (int)(sizeof(aLimit) / sizeof(aLimit[0])); i++){
    int bMap;
    if( limSaved.rlim_max != RLIM_INFINITY && aLimit[i] > limSaved.rlim_max ) continue;
    lim = limSaved;
    lim.rlim_cur = aLimit[i];
    for(bMap = 0; bMap <= 1; bMap++){
      uint64_t nWant = aLimit[i] / 2 < TC_DEFAULT_CAPACITY ? aLimit[i] / 2 : TC_DEFAULT_CAPACITY;
      if( nWant < 16 ) nWant = 16;
      if( bMap || nWant > nTables ) nWant = nTables;
      opt.use_mmap = bMap;
      ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
      ck_assert_int_eq(lsm_open("/tc", &opt, &pDb), LSM_OK);
      ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &limSaved), 0);
      tc_scan_all(pDb, TC_MANY_KEYS);
      ck_assert_int_eq(lsm_stats_get(pDb, &st), LSM_OK);
      ck_assert_msg(st.nTablesOpen == nWant, "RLIMIT_NOFILE %llu, mmap=%d: %llu readers open, "
                    "expected %llu", (unsigned long long)aLimit[i], bMap,
                    (unsigned long long)st.nTablesOpen, (unsigned long long)nWant);
      ck_assert_int_eq(lsm_close(pDb), LSM_OK);
    }
  }
  ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &limSaved), 0);
  lsm_env_memory_free(pMemEnv);
}
END_TEST

/*
** table_cache_bytes bounds the heap of the open readers: a store of ~140
** tables whose readers hold their filter and index on the heap (mmap=off)
** and a cache allowed 32 KiB of it, more readers than that allows under
** max_open_tables.  Gets, seeks and scans give the model's answers; the
** readers held afterwards are charged at most 32 KiB, fewer than the
** tables, and tables were reopened.
*/
#define TC_HEAP_BUDGET (32u << 10)
START_TEST(the_open_tables_heap_stays_within_table_cache_bytes){
  uint64_t seed = test_seed();
  test_rng rng;
  lsm_options opt = tc_options();
  char *zDir = test_tmpdir("tcache");
  lsm_db *pDb = NULL;
  lsm_stats st;
  model m = {0};
  uint64_t nTables;

  rng_init(&rng, seed);
  opt.max_open_tables = TC_DEFAULT_CAPACITY;
  opt.table_cache_bytes = TC_HEAP_BUDGET;
  opt.use_mmap = 0;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  tc_load(pDb, &m, TC_KEYS);
  nTables = tc_tables(pDb, &st);
  tc_check_gets(pDb, &m, &rng, TC_KEYS, test_scale(2000), seed);
  test_store_equals_model(pDb, NULL, &m, seed);
  tc_check_seeks(pDb, &m, &rng, TC_KEYS, test_scale(500), seed);
  tc_tables(pDb, &st);
  SEED_ASSERT(st.nTableCacheBytes <= TC_HEAP_BUDGET, "%llu bytes held by %llu readers",
              (unsigned long long)seed, (unsigned long long)st.nTableCacheBytes,
              (unsigned long long)st.nTablesOpen);
  SEED_ASSERT(st.nTablesOpen >= 2 && st.nTablesOpen < nTables, "%llu of %llu tables open",
              (unsigned long long)seed, (unsigned long long)st.nTablesOpen,
              (unsigned long long)nTables);
  SEED_ASSERT(st.nTableCacheMisses > 0, "no reopen", (unsigned long long)seed);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  model_clear(&m);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/*
** An open mapped SSTable holds no file descriptor (the POSIX env closes
** it once the file is mapped): a store of ~140 tables, all kept open,
** adds only a few descriptors to the process (its WAL, LOCK, directory
** syncs), not one per table, and still reads right.
*/
START_TEST(mapped_tables_hold_no_file_descriptor){
  uint64_t seed = test_seed();
  lsm_options opt = tc_options();
  char *zDir = test_tmpdir("tcache");
  lsm_db *pDb = NULL;
  lsm_stats st;
  model m = {0};
  int nFdBefore, nFdAfter;

  opt.max_open_tables = TC_DEFAULT_CAPACITY;
  opt.env = lsm_env_default();
  nFdBefore = tc_open_fds();
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  tc_load(pDb, &m, TC_KEYS);
  test_store_equals_model(pDb, NULL, &m, seed);
  nFdAfter = tc_open_fds();
  tc_tables(pDb, &st);
  SEED_ASSERT(st.nTablesOpen >= TC_MIN_TABLES, "only %llu tables open",
              (unsigned long long)seed, (unsigned long long)st.nTablesOpen);
  SEED_ASSERT(nFdAfter - nFdBefore <= 8, "%d descriptors more with %llu tables open",
              (unsigned long long)seed, nFdAfter - nFdBefore,
              (unsigned long long)st.nTablesOpen);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  model_clear(&m);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/*
** A table moved to another level reads through the reader of the table
** first opened for its file: sequential keys make every flushed table
** move down, and after a scan of a store that keeps every reader, the
** cache holds one reader per live table, not one per level a file passed
** through.
*/
START_TEST(a_moved_table_shares_the_reader_of_its_file){
  uint64_t seed = test_seed();
  lsm_options opt = tc_options();
  char *zDir = test_tmpdir("tcache");
  lsm_db *pDb = NULL;
  lsm_stats st;
  model m = {0};
  uint64_t nTables;

  opt.max_open_tables = TC_DEFAULT_CAPACITY;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  tc_load(pDb, &m, TC_KEYS);
  test_store_equals_model(pDb, NULL, &m, seed);
  nTables = tc_tables(pDb, &st);
  SEED_ASSERT(st.nTablesOpen == nTables, "%llu readers open for %llu tables",
              (unsigned long long)seed, (unsigned long long)st.nTablesOpen,
              (unsigned long long)nTables);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  model_clear(&m);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/*
** Every reader of one table keeps its blocks in the block cache under the
** table's key: with mmap=off, 16 open readers and a block cache that
** holds the whole store, a second scan reopens tables (the cache
** evicted them) yet reads no block from a file.  When the tables go (a
** full compaction replaces them all; its reads do not fill the cache),
** their blocks leave the block cache.
*/
START_TEST(a_reopened_table_finds_its_blocks_in_the_block_cache_until_it_goes){
  uint64_t seed = test_seed();
  lsm_options opt = tc_options();
  char *zDir = test_tmpdir("tcache");
  lsm_db *pDb = NULL;
  lsm_stats st0, st1;
  model m = {0};

  opt.use_mmap = 0;
  opt.block_cache_bytes = 8u << 20;
  ck_assert_int_eq(lsm_open(zDir, &opt, &pDb), LSM_OK);
  tc_load(pDb, &m, TC_KEYS);
  test_store_equals_model(pDb, NULL, &m, seed);      /* fills the block cache */
  tc_tables(pDb, &st0);
  test_store_equals_model(pDb, NULL, &m, seed);
  tc_tables(pDb, &st1);
  SEED_ASSERT(st1.nTableCacheMisses > st0.nTableCacheMisses, "no table reopened",
              (unsigned long long)seed);
  SEED_ASSERT(st1.nBlockCacheMisses == st0.nBlockCacheMisses,
              "the second scan read %llu blocks from files",
              (unsigned long long)seed,
              (unsigned long long)(st1.nBlockCacheMisses - st0.nBlockCacheMisses));
  SEED_ASSERT(st1.nBlockCacheBytes > 0, "nothing cached", (unsigned long long)seed);
  ck_assert_int_eq(lsm_compact(pDb, NULL), LSM_OK);
  tc_tables(pDb, &st1);
  SEED_ASSERT(st1.nBlockCacheBytes == 0, "%llu bytes of removed tables still cached",
              (unsigned long long)seed, (unsigned long long)st1.nBlockCacheBytes);
  test_store_equals_model(pDb, NULL, &m, seed);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  model_clear(&m);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

static Suite *table_cache_suite(void){
  Suite *s = suite_create("table_cache");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, tc_setup, tc_teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, a_store_of_many_tables_matches_the_model_through_16_open_readers);
  tcase_add_test(tc, a_cursor_reads_its_whole_range_across_evictions_and_compactions);
  tcase_add_test(tc, lsm_get_values_stay_right_while_another_thread_evicts_their_reader);
  tcase_add_test(tc, a_table_reopened_after_eviction_reports_its_corruption);
  tcase_add_test(tc, max_open_tables_below_16_is_refused_naming_the_option);
  tcase_add_test(tc, the_default_keeps_unmapped_readers_within_half_the_file_limit_and_mapped_ones_beyond);
  tcase_add_test(tc, the_open_tables_heap_stays_within_table_cache_bytes);
  tcase_add_test(tc, mapped_tables_hold_no_file_descriptor);
  tcase_add_test(tc, a_moved_table_shares_the_reader_of_its_file);
  tcase_add_test(tc, a_reopened_table_finds_its_blocks_in_the_block_cache_until_it_goes);
  tcase_add_test(tc, a_snapshot_reads_tables_that_were_moved_then_merged_away);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(table_cache_suite)
