/*
** test_fuzz_readers.c — a bounded seeded fuzzer for every file reader:
** the WAL (wal_read_header, wal_replay, and the batch decoder behind it),
** the SSTable (sst_reader_open, sst_reader_check, iteration both ways,
** point gets) and the manifest (manifest_read); and recovery across
** several logs (a read-only lsm_open of a store whose three logs are the
** input, then lsm_check and a scan).
**
** For each reader: first every regression input under tests/fuzz/<reader>/
** is replayed (inputs that once crashed a reader, plus hand-made edge
** cases); then valid seed files are mutated for LSM_FUZZ_SECONDS (default
** 2; 1 under LSM_TEST_QUICK) with a seeded PRNG: bit flips, interesting
** bytes and integers, truncation, extension, chunks copied, moved and
** deleted.  Half of the mutants then have their checksums recomputed
** (structure-aware: every WAL record and the WAL file header, the
** checksummed region of the SSTable a mutation fell in, the manifest's
** size and checksum), so that the decoders behind the checksums are
** fuzzed too, not only the checksums.  A reader must return LSM_OK or an
** error code; the sanitizer build catches any read out of bounds: mapped
** files are handed to the readers as exact-size heap copies.
**
** When a reader crashes, a signal handler writes the input that did it to
** $TMPDIR/lsm-fuzz-crash-<reader>.bin and says so: fix the reader and add
** the file to tests/fuzz/<reader>/, where every later run replays it.
** Replay a run with LSM_TEST_SEED=<printed seed>.
*/
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "checksum.h"
#include "coding.h"
#include "env.h"
#include "error.h"
#include "ikey.h"
#include "filename.h"
#include "iter.h"
#include "manifest.h"
#include "sst_format.h"
#include "sst_reader.h"
#include "sst_writer.h"
#include "testutil.h"
#include "wal.h"

#define FUZZ_DIR      "/fuzz"
#define FUZZ_MAX      (256 * 1024)    /* largest mutant */
#define FUZZ_MAXMAP   64              /* files mapped at once */

/* ------------------------------------------------------------------ */
/* An env whose mappings are exact-size heap copies (ASan sees overruns) */
/* ------------------------------------------------------------------ */

static lsm_env g_fuzzEnv;
static lsm_env *g_pBase;
static struct { lsm_file *pFile; uint8_t *a; } g_aMap[FUZZ_MAXMAP];

static int fuzz_map(lsm_file *pFile, const uint8_t **ppData, uint64_t *pnData){
  uint64_t n = 0;
  size_t nRead = 0;
  int i, rc = g_pBase->xSize(pFile, &n);
  uint8_t *a;
  if( rc != LSM_OK ) return rc;
  for(i = 0; i < FUZZ_MAXMAP && g_aMap[i].pFile; i++){}
  ck_assert_int_lt(i, FUZZ_MAXMAP);
  a = malloc(n ? (size_t)n : 1);
  rc = g_pBase->xRead(pFile, 0, a, (size_t)n, &nRead);
  if( rc != LSM_OK ){ free(a); return rc; }
  g_aMap[i].pFile = pFile;
  g_aMap[i].a = a;
  *ppData = a;
  *pnData = n;
  return LSM_OK;
}

static int fuzz_close(lsm_file *pFile){
  int i;
  for(i = 0; i < FUZZ_MAXMAP; i++){
    if( g_aMap[i].pFile == pFile ){
      free(g_aMap[i].a);
      g_aMap[i].pFile = NULL;
      g_aMap[i].a = NULL;
    }
  }
  return g_pBase->xClose(pFile);
}

/* The in-memory env finds its state from the lsm_env pointer: every
** method that takes one is passed the base env. */
static int fz_open(lsm_env *e, const char *z, int f, lsm_file **pp){ (void)e; return g_pBase->xOpen(g_pBase, z, f, pp); }
static int fz_rename(lsm_env *e, const char *a, const char *b){ (void)e; return g_pBase->xRename(g_pBase, a, b); }
static int fz_unlink(lsm_env *e, const char *z){ (void)e; return g_pBase->xUnlink(g_pBase, z); }
static int fz_sync_dir(lsm_env *e, const char *z){ (void)e; return g_pBase->xSyncDir(g_pBase, z); }
static int fz_mkdir(lsm_env *e, const char *z){ (void)e; return g_pBase->xMkdir(g_pBase, z); }
static int fz_rmdir(lsm_env *e, const char *z){ (void)e; return g_pBase->xRmdir(g_pBase, z); }
static int fz_list_dir(lsm_env *e, const char *z, char ***paz, int *pn){ (void)e; return g_pBase->xListDir(g_pBase, z, paz, pn); }
static int fz_exists(lsm_env *e, const char *z, int *pb, int *pbDir){ (void)e; return g_pBase->xExists(g_pBase, z, pb, pbDir); }
static int fz_lock(lsm_env *e, const char *z, lsm_file **pp){ (void)e; return g_pBase->xLock(g_pBase, z, pp); }
static void *fz_malloc(lsm_env *e, size_t n){ (void)e; return g_pBase->xMalloc(g_pBase, n); }
static void *fz_realloc(lsm_env *e, void *p, size_t n){ (void)e; return g_pBase->xRealloc(g_pBase, p, n); }
static void fz_free(lsm_env *e, void *p){ (void)e; g_pBase->xFree(g_pBase, p); }

static lsm_env *fuzz_env_new(void){
  g_pBase = lsm_env_memory();
  g_fuzzEnv = *g_pBase;
  g_fuzzEnv.xOpen = fz_open;
  g_fuzzEnv.xRename = fz_rename;
  g_fuzzEnv.xUnlink = fz_unlink;
  g_fuzzEnv.xSyncDir = fz_sync_dir;
  g_fuzzEnv.xMkdir = fz_mkdir;
  g_fuzzEnv.xRmdir = fz_rmdir;
  g_fuzzEnv.xListDir = fz_list_dir;
  g_fuzzEnv.xExists = fz_exists;
  g_fuzzEnv.xLock = fz_lock;
  g_fuzzEnv.xMalloc = fz_malloc;
  g_fuzzEnv.xRealloc = fz_realloc;
  g_fuzzEnv.xFree = fz_free;
  g_fuzzEnv.xMap = fuzz_map;
  g_fuzzEnv.xClose = fuzz_close;
  ck_assert_int_eq(g_pBase->xMkdir(g_pBase, FUZZ_DIR), LSM_OK);
  return &g_fuzzEnv;
}

static void fuzz_env_free(void){
  lsm_env_memory_free(g_pBase);
  g_pBase = NULL;
}

static void put_file(lsm_env *pEnv, const char *zPath, const uint8_t *a, size_t n){
  lsm_file *pFile = NULL;
  pEnv->xUnlink(pEnv, zPath);
  ck_assert_int_eq(pEnv->xOpen(pEnv, zPath, LSM_OPEN_WRITE, &pFile), LSM_OK);
  if( n ) ck_assert_int_eq(pEnv->xAppend(pFile, a, n), LSM_OK);
  ck_assert_int_eq(pEnv->xClose(pFile), LSM_OK);
}

static uint8_t *get_file(lsm_env *pEnv, const char *zPath, size_t *pn){
  uint8_t *a = NULL;
  ck_assert_int_eq(env_read_file(pEnv, zPath, &a, pn), LSM_OK);
  return a;
}

/* ------------------------------------------------------------------ */
/* Crash capture                                                        */
/* ------------------------------------------------------------------ */

static const uint8_t *g_pInput;       /* the input being run */
static size_t g_nInput;
static char g_zCrashPath[512];

/* Keep the input being run (before failing an assertion on it). */
static void fuzz_save_input(void){
  FILE *f = fopen(g_zCrashPath, "wb");
  if( f && g_pInput ) fwrite(g_pInput, 1, g_nInput, f);
  if( f ) fclose(f);
  fprintf(stderr, "fuzz: the input is in %s\n", g_zCrashPath);
}

static void fuzz_on_crash(int sig){
  int fd = open(g_zCrashPath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  static const char zMsg[] = "\nfuzz: a reader crashed; its input is in ";
  if( fd >= 0 && g_pInput ){
    ssize_t nw = write(fd, g_pInput, g_nInput);
    (void)nw;
    close(fd);
  }
  if( write(2, zMsg, sizeof(zMsg) - 1) < 0 ){}
  if( write(2, g_zCrashPath, strlen(g_zCrashPath)) < 0 ){}
  if( write(2, "\n", 1) < 0 ){}
  signal(sig, SIG_DFL);
  raise(sig);
}

static void fuzz_catch(const char *zReader){
  static const int aSig[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
  const char *zTmp = getenv("TMPDIR");
  size_t i;
  snprintf(g_zCrashPath, sizeof(g_zCrashPath), "%s/lsm-fuzz-crash-%s.bin",
           zTmp ? zTmp : "/tmp", zReader);
  for(i = 0; i < sizeof(aSig) / sizeof(aSig[0]); i++) signal(aSig[i], fuzz_on_crash);
}

/* ------------------------------------------------------------------ */
/* The readers                                                          */
/* ------------------------------------------------------------------ */

static int decode_op(void *pCtx, int type, const uint8_t *pKey, size_t nKey,
                     const uint8_t *pVal, size_t nVal){
  (void)pCtx; (void)type; (void)pKey; (void)nKey; (void)pVal; (void)nVal;
  return LSM_OK;
}

static int wal_record(void *pCtx, uint64_t seq, const uint8_t *p, size_t n){
  (void)seq;
  (*(int*)pCtx)++;
  return batch_decode(p, n, decode_op, NULL) == LSM_CORRUPT ? LSM_OK : LSM_OK;
}

static void run_wal(lsm_env *pEnv, const uint8_t *a, size_t n){
  const char *zPath = FUZZ_DIR "/000001.wal";
  wal_header hdr;
  int bEmpty, bTorn, nRec = 0, bNewest, rc;
  put_file(pEnv, zPath, a, n);
  rc = wal_read_header(pEnv, zPath, &hdr, &bEmpty);
  ck_assert(rc == LSM_OK || rc == LSM_CORRUPT);
  for(bNewest = 0; bNewest < 2; bNewest++){
    rc = wal_replay(pEnv, zPath, bNewest, wal_record, &nRec, &bTorn);
    ck_assert_msg(rc == LSM_OK || rc == LSM_CORRUPT || rc == LSM_NOMEM, "wal_replay: %d", rc);
  }
}

static void run_sst(lsm_env *pEnv, const uint8_t *a, size_t n){
  const char *zPath = FUZZ_DIR "/000001.sst";
  sst_reader *p = NULL;
  int rc;
  put_file(pEnv, zPath, a, n);
  rc = sst_reader_open(pEnv, zPath, NULL, 0, &p);     /* every block read and checked */
  ck_assert_msg(rc == LSM_OK || rc == LSM_CORRUPT || rc == LSM_NOMEM, "sst_reader_open: %d", rc);
  if( rc != LSM_OK ) return;
  (void)sst_reader_check(p);
  {
    iter *it = sst_reader_iter(p, &rc);
    int nStep = 0;
    if( it ){
      for(iter_first(it); iter_valid(it) && nStep < 100000; iter_next(it), nStep++){
        size_t nk, nv;
        (void)iter_key(it, &nk);
        (void)iter_value(it, &nv);
      }
      for(iter_last(it); iter_valid(it) && nStep < 200000; iter_prev(it), nStep++){}
      {
        uint8_t aKey[32];
        ikey_build(aKey, "key0100", 7, IKEY_MAX_SEQ, IKEY_VALUE);
        iter_seek(it, aKey, 15);
      }
      iter_close(it);
    }
  }
  {
    static const char *azKey[] = { "key0000", "key0100", "key0199", "zzz", "" };
    size_t i;
    for(i = 0; i < sizeof(azKey) / sizeof(azKey[0]); i++){
      int bFound = 0, type = 0;
      const uint8_t *pVal = NULL;
      size_t nVal = 0;
      block_handle *pPin = NULL;
      (void)sst_reader_get(p, azKey[i], strlen(azKey[i]), IKEY_MAX_SEQ, &bFound, &type,
                           &pVal, &nVal, &pPin, NULL);
      block_cache_release(pPin);
    }
  }
  sst_reader_unref(p);
}

static void run_manifest(lsm_env *pEnv, const uint8_t *a, size_t n){
  manifest_state st;
  int rc;
  put_file(pEnv, FUZZ_DIR "/MANIFEST", a, n);
  memset(&st, 0, sizeof(st));
  rc = manifest_read(pEnv, FUZZ_DIR, &st);
  ck_assert_msg(rc == LSM_OK || rc == LSM_CORRUPT || rc == LSM_NOMEM, "manifest_read: %d", rc);
  manifest_state_clear(pEnv, &st);
}

/*
** Recovery across logs: the input is three logs, each as a u32 length and
** its bytes, written as the logs the store's manifest needs (numbers
** g_iLog, +1, +2); a read-only open replays them (the chain checks of
** db_recover.c, then batch_apply into a memtable), and if it opens, an
** lsm_check and a full scan follow.
*/
#define FUZZ_STORE FUZZ_DIR "/store"
static uint64_t g_iLog;            /* the log the store's manifest names */
static int g_rcOpen;               /* the last run's lsm_open */

static void recovery_setup(lsm_env *pEnv){
  lsm_options opt;
  lsm_db *pDb = NULL;
  char **azName = NULL;
  int nName = 0, i;
  lsm_options_default(&opt);
  opt.env = pEnv;
  ck_assert_int_eq(lsm_open(FUZZ_STORE, &opt, &pDb), LSM_OK);
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
  ck_assert_int_eq(pEnv->xListDir(pEnv, FUZZ_STORE, &azName, &nName), LSM_OK);
  for(i = 0; i < nName; i++){
    uint64_t iNum;
    if( filename_parse(azName[i], &iNum) == FILENAME_WAL ) g_iLog = iNum;
  }
  env_free(pEnv, azName);
  ck_assert_uint_gt(g_iLog, 0);
}

/* Split an input into its three logs: offsets and sizes. */
static void recovery_split(const uint8_t *a, size_t n, size_t *aOff, size_t *aSize){
  size_t iOff = 0;
  int i;
  for(i = 0; i < 3; i++){
    size_t nLog = 0;
    if( n - iOff >= 4 ){
      nLog = coding_get32(a + iOff);
      iOff += 4;
    }
    if( nLog > n - iOff ) nLog = n - iOff;
    aOff[i] = iOff;
    aSize[i] = nLog;
    iOff += nLog;
  }
}

static void run_recovery(lsm_env *pEnv, const uint8_t *a, size_t n){
  lsm_options opt;
  lsm_db *pDb = NULL;
  size_t aOff[3], aSize[3];
  int i, rc;
  recovery_split(a, n, aOff, aSize);
  for(i = 0; i < 3; i++){
    int rc2 = LSM_OK;
    char *zPath = filename_path(pEnv, FUZZ_STORE, FILENAME_WAL, g_iLog + (uint64_t)i, &rc2);
    put_file(pEnv, zPath, a + aOff[i], aSize[i]);
    env_free(pEnv, zPath);
  }
  lsm_options_default(&opt);
  opt.env = pEnv;
  opt.readonly = 1;
  rc = g_rcOpen = lsm_open(FUZZ_STORE, &opt, &pDb);
  if( rc != LSM_OK && rc != LSM_CORRUPT && rc != LSM_NOMEM ) fuzz_save_input();
  ck_assert_msg(rc == LSM_OK || rc == LSM_CORRUPT || rc == LSM_NOMEM, "lsm_open: %d %s", rc,
                lsm_errmsg(NULL));
  if( rc != LSM_OK ) return;
  {
    char *zReport = NULL;
    lsm_cursor *pCsr = NULL;
    (void)lsm_check(pDb, &zReport);
    lsm_free(zReport);
    if( lsm_cursor_open(pDb, NULL, &pCsr) == LSM_OK ){
      int nStep = 0;
      for(lsm_cursor_first(pCsr); lsm_cursor_valid(pCsr) && nStep < 100000; nStep++){
        lsm_cursor_next(pCsr);
      }
      lsm_cursor_close(pCsr);
    }
  }
  ck_assert_int_eq(lsm_close(pDb), LSM_OK);
}

static uint8_t *seed_recovery(lsm_env *pEnv, size_t *pn){
  static const int anBatch[3] = { 5, 5, 3 };
  uint8_t *aOut = malloc(FUZZ_MAX);
  uint64_t seq = 1;
  size_t nOut = 0;
  lsm_batch b;
  int iLog;
  memset(&b, 0, sizeof(b));
  b.pEnv = pEnv;
  for(iLog = 0; iLog < 3; iLog++){
    const char *zPath = FUZZ_DIR "/seed-log.wal";
    wal_header hdr;
    wal_writer *w = NULL;
    uint8_t *aLog;
    size_t nLog;
    int i;
    memset(&hdr, 0, sizeof(hdr));
    hdr.iNumber = g_iLog + (uint64_t)iLog;
    hdr.iPrevLog = iLog ? g_iLog + (uint64_t)iLog - 1 : 0;
    hdr.iPrevNextSeq = iLog ? seq : 0;
    hdr.iFirstSeq = seq;
    pEnv->xUnlink(pEnv, zPath);
    ck_assert_int_eq(wal_writer_open(pEnv, zPath, LSM_SYNC_NORMAL, 1, &hdr, &w), LSM_OK);
    for(i = 0; i < anBatch[iLog]; i++){
      char zKey[16];
      int nKey = snprintf(zKey, sizeof(zKey), "k%llu", (unsigned long long)(seq % 7));
      lsm_batch_clear(&b);
      ck_assert_int_eq(lsm_batch_put(&b, zKey, (size_t)nKey, "value", 5), LSM_OK);
      if( i % 2 ) ck_assert_int_eq(lsm_batch_delete(&b, "k3", 2), LSM_OK);
      ck_assert_int_eq(wal_writer_add(w, seq, b.aRep, b.nRep), LSM_OK);
      ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
      seq += lsm_batch_count(&b);
    }
    ck_assert_int_eq(wal_writer_close(w), LSM_OK);
    aLog = get_file(pEnv, zPath, &nLog);
    coding_put32(aOut + nOut, (uint32_t)nLog);
    memcpy(aOut + nOut + 4, aLog, nLog);
    nOut += 4 + nLog;
    env_free(pEnv, aLog);
  }
  lsm_batch_clear(&b);
  env_free(pEnv, b.aRep);
  *pn = nOut;
  return aOut;
}

/* ------------------------------------------------------------------ */
/* Seeds                                                                */
/* ------------------------------------------------------------------ */

static uint8_t *seed_wal(lsm_env *pEnv, size_t *pn){
  const char *zPath = FUZZ_DIR "/seed.wal";
  wal_header hdr;
  wal_writer *w = NULL;
  lsm_batch b;
  int i;
  memset(&hdr, 0, sizeof(hdr));
  hdr.iNumber = 1;
  hdr.iFirstSeq = 10;
  memset(&b, 0, sizeof(b));
  b.pEnv = pEnv;
  pEnv->xUnlink(pEnv, zPath);
  ck_assert_int_eq(wal_writer_open(pEnv, zPath, LSM_SYNC_NORMAL, 1, &hdr, &w), LSM_OK);
  for(i = 0; i < 12; i++){
    char zKey[16], zVal[64];
    int nKey = snprintf(zKey, sizeof(zKey), "key%04d", i);
    int nVal = snprintf(zVal, sizeof(zVal), "value %d %.*s", i, i * 3, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    lsm_batch_clear(&b);
    ck_assert_int_eq(lsm_batch_put(&b, zKey, (size_t)nKey, zVal, (size_t)nVal), LSM_OK);
    if( i % 3 == 2 ) ck_assert_int_eq(lsm_batch_delete(&b, "gone", 4), LSM_OK);
    if( i % 4 == 1 ){
      /* Two-phase: prepared, then committed by a small record. */
      ck_assert_int_eq(wal_writer_add_prepared(w, (uint64_t)i, b.aRep, b.nRep), LSM_OK);
      ck_assert_int_eq(wal_writer_add_commit(w, 10 + (uint64_t)i * 2, (uint64_t)i), LSM_OK);
    }else{
      ck_assert_int_eq(wal_writer_add(w, 10 + (uint64_t)i * 2, b.aRep, b.nRep), LSM_OK);
    }
    /* A prepared batch never committed. */
    if( i % 4 == 3 ) ck_assert_int_eq(wal_writer_add_prepared(w, (uint64_t)i, b.aRep, b.nRep), LSM_OK);
    ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  }
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);
  lsm_batch_clear(&b);
  env_free(pEnv, b.aRep);
  return get_file(pEnv, zPath, pn);
}

static uint8_t *seed_sst(lsm_env *pEnv, size_t *pn){
  const char *zPath = FUZZ_DIR "/seed.sst";
  sst_options opt = { 256, 10, LSM_COMPRESSION_NONE };
  sst_writer *w = NULL;
  sst_meta meta;
  int i;
  pEnv->xUnlink(pEnv, zPath);
  ck_assert_int_eq(sst_writer_open(pEnv, zPath, &opt, &w), LSM_OK);
  for(i = 0; i < 200; i++){
    uint8_t aKey[32];
    char zKey[16], zVal[32];
    int nKey = snprintf(zKey, sizeof(zKey), "key%04d", i);
    int nVal = snprintf(zVal, sizeof(zVal), "v%d", i * 7);
    ikey_build(aKey, zKey, (size_t)nKey, 1000 + (uint64_t)i, i % 9 == 4 ? IKEY_DELETE : IKEY_VALUE);
    ck_assert_int_eq(sst_writer_add(w, aKey, (size_t)nKey + 8, (const uint8_t*)zVal,
                                    i % 9 == 4 ? 0 : (size_t)nVal), LSM_OK);
  }
  ck_assert_int_eq(sst_writer_finish(w, &meta), LSM_OK);
  sst_meta_clear(pEnv, &meta);
  return get_file(pEnv, zPath, pn);
}

static uint8_t *seed_manifest(lsm_env *pEnv, size_t *pn){
  manifest_state st;
  manifest_file aFile[3];
  uint8_t aKey[6][16];
  int i;
  memset(&st, 0, sizeof(st));
  memset(aFile, 0, sizeof(aFile));
  st.iNextFile = 20;
  st.iLastSeq = 500;
  st.iLogNumber = 19;
  st.nFile = 3;
  st.aFile = aFile;
  for(i = 0; i < 3; i++){
    char zLo[8], zHi[8];
    snprintf(zLo, sizeof(zLo), "a%d", i);
    snprintf(zHi, sizeof(zHi), "b%d", i);
    aFile[i].iLevel = i;
    aFile[i].iNumber = 5 + (uint64_t)i;
    aFile[i].nFileBytes = 4096;
    aFile[i].nEntries = 10;
    aFile[i].nTombstones = 1;
    aFile[i].nRawBytes = 150;
    ikey_build(aKey[2 * i], zLo, 2, 1, IKEY_VALUE);
    ikey_build(aKey[2 * i + 1], zHi, 2, 9, IKEY_VALUE);
    aFile[i].pSmallest = aKey[2 * i];
    aFile[i].nSmallest = 10;
    aFile[i].pLargest = aKey[2 * i + 1];
    aFile[i].nLargest = 10;
  }
  ck_assert_int_eq(manifest_write(pEnv, FUZZ_DIR, &st), LSM_OK);
  return get_file(pEnv, FUZZ_DIR "/MANIFEST", pn);
}

/* ------------------------------------------------------------------ */
/* Checksum fix-ups (structure-aware mutation)                          */
/* ------------------------------------------------------------------ */

/* Recompute a log's checksums: version 4 framing (16-byte record
** headers), or versions 2 and 3 (25-byte ones); other versions as they
** are. */
static void fix_wal(uint8_t *a, size_t n){
  uint64_t seed;
  size_t iOff = 64;
  uint32_t iVersion;
  if( n < 64 ) return;
  iVersion = coding_get32(a + 8);
  if( iVersion < 2 || iVersion > 4 ) return;
  seed = CHECKSUM_SEED_WAL ^ coding_get32(a + 12);
  coding_put64(a + 56, checksum_compute(a, 56, seed));
  if( iVersion == 4 ){
    while( iOff + 16 <= n ){
      uint32_t nPay = coding_get32(a + iOff) & 0xffffff;
      if( nPay > n - iOff - 16 ) nPay = (uint32_t)(n - iOff - 16);
      coding_put32(a + iOff + 8, (uint32_t)checksum_compute(a + iOff, 8, seed));
      coding_put32(a + iOff + 12, (uint32_t)checksum_compute2(a + iOff, 12, a + iOff + 16,
                                                                nPay, seed));
      iOff += 16 + (size_t)nPay;
    }
    return;
  }
  while( iOff + 25 <= n ){
    uint32_t nPay = coding_get32(a + iOff);
    if( nPay > n - iOff - 25 ) nPay = (uint32_t)(n - iOff - 25);
    coding_put32(a + iOff + 13, (uint32_t)checksum_compute(a + iOff, 13, seed));
    coding_put64(a + iOff + 17, checksum_compute2(a + iOff, 17, a + iOff + 25, nPay, seed));
    iOff += 25 + (size_t)nPay;
  }
}

static void fix_manifest(uint8_t *a, size_t n){
  if( n < 60 ) return;
  coding_put64(a + 16, n);
  coding_put64(a + n - 8, checksum_compute(a, n - 8, CHECKSUM_SEED_MANIFEST));
}

/* The checksummed regions of the seed SSTable: [off, off+size) and seed. */
typedef struct sst_region { size_t iOff, nSize; uint64_t seed; } sst_region;
static sst_region g_aRegion[512];
static int g_nRegion;

static void sst_regions(const uint8_t *a, size_t n){
  const uint8_t *pF = a + n - SST_FOOTER_SIZE, *p, *pEnd;
  uint64_t nBlock, i;
  g_nRegion = 0;
  g_aRegion[g_nRegion++] = (sst_region){ coding_get64(pF + SST_FOOTER_FILTER_OFF),
      coding_get64(pF + SST_FOOTER_FILTER_SZ), SST_SEED_FILTER };
  g_aRegion[g_nRegion++] = (sst_region){ coding_get64(pF + SST_FOOTER_PROPS_OFF),
      coding_get64(pF + SST_FOOTER_PROPS_SZ), SST_SEED_PROPS };
  g_aRegion[g_nRegion++] = (sst_region){ coding_get64(pF + SST_FOOTER_INDEX_OFF),
      coding_get64(pF + SST_FOOTER_INDEX_SZ), SST_SEED_INDEX };
  p = a + g_aRegion[2].iOff;
  pEnd = p + g_aRegion[2].nSize;
  p = coding_get_varint64(p, pEnd, &nBlock);
  for(i = 0; p && i < nBlock && g_nRegion < 512; i++){
    uint64_t k, iOff, nSize;
    p = coding_get_varint64(p, pEnd, &k);
    if( p ) p += k;
    if( p ) p = coding_get_varint64(p, pEnd, &iOff);
    if( p ) p = coding_get_varint64(p, pEnd, &nSize);
    if( p ) g_aRegion[g_nRegion++] = (sst_region){ (size_t)iOff, (size_t)nSize, SST_SEED_DATA };
  }
}

/* Recompute the checksum of the region holding byte iAt (same length). */
static void fix_sst(uint8_t *a, size_t n, size_t iAt){
  int i;
  if( n < SST_FOOTER_SIZE ) return;
  if( iAt >= n - SST_FOOTER_SIZE ){
    uint8_t *pF = a + n - SST_FOOTER_SIZE;
    coding_put64(pF + SST_FOOTER_CHECKSUM, checksum_compute(pF, 56, SST_SEED_FOOTER));
    return;
  }
  for(i = 0; i < g_nRegion; i++){
    sst_region *r = &g_aRegion[i];
    if( r->nSize && iAt >= r->iOff && iAt < r->iOff + r->nSize && r->iOff + r->nSize + 8 <= n ){
      coding_put64(a + r->iOff + r->nSize, checksum_compute(a + r->iOff, r->nSize, r->seed));
      return;
    }
  }
}

/* ------------------------------------------------------------------ */
/* The mutator                                                          */
/* ------------------------------------------------------------------ */

#define KIND_WAL      0
#define KIND_SST      1
#define KIND_MANIFEST 2
#define KIND_RECOVERY 3

/* Mutate a[0..*pn) (room for FUZZ_MAX) in place; returns the offset of
** the last in-place change, for the SSTable fix-up (or SIZE_MAX). */
static size_t mutate(test_rng *r, uint8_t *a, size_t *pn){
  static const uint32_t aInteresting[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000,
    0x7fffffff, 0x80000000u, 0xffffffffu, 1u << 20, (1u << 20) + 1 };
  size_t n = *pn, iAt = SIZE_MAX;
  int nMut = 1 + (int)rng_below(r, 4), iMut;
  for(iMut = 0; iMut < nMut; iMut++){
    size_t i = n ? (size_t)rng_below(r, n) : 0;
    switch( rng_below(r, 9) ){
      case 0: case 1:                                   /* bit flip */
        if( n ){ a[i] ^= (uint8_t)(1u << rng_below(r, 8)); iAt = i; }
        break;
      case 2:                                           /* interesting byte */
        if( n ){ a[i] = (uint8_t)aInteresting[rng_below(r, 6)]; iAt = i; }
        break;
      case 3:                                           /* interesting u32 */
        if( n >= 4 ){
          i = (size_t)rng_below(r, n - 3);
          coding_put32(a + i, aInteresting[rng_below(r, sizeof(aInteresting) / sizeof(aInteresting[0]))]);
          iAt = i;
        }
        break;
      case 4:                                           /* random u64 */
        if( n >= 8 ){
          i = (size_t)rng_below(r, n - 7);
          coding_put64(a + i, rng_next(r) >> rng_below(r, 64));
          iAt = i;
        }
        break;
      case 5:                                           /* truncate */
        n = (size_t)rng_below(r, n + 1);
        break;
      case 6:                                           /* extend */
        {
          size_t nAdd = (size_t)rng_below(r, 300), j;
          if( n + nAdd > FUZZ_MAX ) nAdd = FUZZ_MAX - n;
          for(j = 0; j < nAdd; j++) a[n + j] = rng_below(r, 2) ? 0 : (uint8_t)rng_next(r);
          n += nAdd;
        }
        break;
      case 7:                                           /* copy a chunk over another */
        if( n ){
          size_t iFrom = (size_t)rng_below(r, n), nLen = 1 + (size_t)rng_below(r, 64);
          if( iFrom + nLen > n ) nLen = n - iFrom;
          if( i + nLen > n ) nLen = n - i;
          memmove(a + i, a + iFrom, nLen);
          iAt = i;
        }
        break;
      default:                                          /* delete a chunk */
        if( n ){
          size_t nLen = 1 + (size_t)rng_below(r, 64);
          if( i + nLen > n ) nLen = n - i;
          memmove(a + i, a + i + nLen, n - i - nLen);
          n -= nLen;
        }
        break;
    }
  }
  *pn = n;
  return iAt;
}

static void run_kind(int eKind, lsm_env *pEnv, const uint8_t *a, size_t n){
  g_pInput = a;
  g_nInput = n;
  error_clear();
  switch( eKind ){
    case KIND_WAL: run_wal(pEnv, a, n); break;
    case KIND_SST: run_sst(pEnv, a, n); break;
    case KIND_RECOVERY: run_recovery(pEnv, a, n); break;
    default:       run_manifest(pEnv, a, n); break;
  }
  g_pInput = NULL;
}

/* Replay tests/fuzz/<zReader>/<every file>; returns how many. */
static int replay_regressions(int eKind, lsm_env *pEnv, const char *zReader){
  char zDir[256];
  DIR *pDir;
  struct dirent *pEnt;
  int nDone = 0;
  snprintf(zDir, sizeof(zDir), "tests/fuzz/%s", zReader);
  pDir = opendir(zDir);
  if( pDir == NULL ) return 0;
  while( (pEnt = readdir(pDir)) != NULL ){
    char zPath[600];
    FILE *f;
    uint8_t *a;
    size_t n;
    if( pEnt->d_name[0] == '.' ) continue;
    snprintf(zPath, sizeof(zPath), "%s/%s", zDir, pEnt->d_name);
    f = fopen(zPath, "rb");
    if( f == NULL ) continue;
    a = malloc(FUZZ_MAX);
    n = fread(a, 1, FUZZ_MAX, f);
    fclose(f);
    run_kind(eKind, pEnv, a, n);
    free(a);
    nDone++;
  }
  closedir(pDir);
  return nDone;
}

static void fuzz_reader(int eKind, const char *zReader){
  lsm_env *pEnv = fuzz_env_new();
  const char *zSecs = getenv("LSM_FUZZ_SECONDS");
  double nSecs = zSecs ? atof(zSecs) : (test_quick() ? 1.0 : 2.0);
  uint64_t seed = test_seed();
  uint8_t *aSeed[2], *a = malloc(FUZZ_MAX);
  size_t anSeed[2];
  int nSeed = 1, nRegress;
  long nIter = 0;
  struct timespec t0, t1;
  test_rng r;

  fuzz_catch(zReader);
  if( eKind == KIND_RECOVERY ) recovery_setup(pEnv);     /* the store the logs go in */
  nRegress = replay_regressions(eKind, pEnv, zReader);
  switch( eKind ){
    case KIND_WAL:
      aSeed[0] = seed_wal(pEnv, &anSeed[0]);
      {
        /* A version-1 log, as the previous build wrote it. */
        static const uint8_t aV1[] = {
          0x89, 0x4c, 0x53, 0x4d, 0x57, 0x41, 0x4c, 0x0a, 0x01, 0, 0, 0, 0x0d, 0x0c, 0x0b, 0x0a,
          0x02, 0, 0, 0, 0x01, 0x07, 0, 0, 0, 0, 0, 0, 0,
          0x96, 0xab, 0x6b, 0x80, 0x37, 0x27, 0x44, 0x13, 0x68, 0x69 };
        aSeed[1] = malloc(sizeof(aV1));
        memcpy(aSeed[1], aV1, sizeof(aV1));
        anSeed[1] = sizeof(aV1);
        nSeed = 2;
      }
      break;
    case KIND_SST:
      aSeed[0] = seed_sst(pEnv, &anSeed[0]);
      sst_regions(aSeed[0], anSeed[0]);
      break;
    case KIND_RECOVERY:
      aSeed[0] = seed_recovery(pEnv, &anSeed[0]);
      break;
    default:
      aSeed[0] = seed_manifest(pEnv, &anSeed[0]);
      break;
  }
  /* The seeds themselves are valid. */
  {
    int i;
    for(i = 0; i < nSeed; i++) run_kind(eKind, pEnv, aSeed[i], anSeed[i]);
    if( eKind == KIND_RECOVERY ){
      ck_assert_msg(g_rcOpen == LSM_OK, "the recovery seed does not open: %s", lsm_errmsg(NULL));
    }
  }

  rng_init(&r, seed ^ (uint64_t)(eKind + 1) * 0x9E3779B97F4A7C15ull);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for(;;){
    int iSeed = (int)rng_below(&r, (uint64_t)nSeed);
    size_t n = anSeed[iSeed], iAt;
    memcpy(a, aSeed[iSeed], n);
    iAt = mutate(&r, a, &n);
    if( rng_below(&r, 2) ){
      switch( eKind ){
        case KIND_WAL: fix_wal(a, n); break;
        case KIND_SST: if( n == anSeed[0] && iAt != SIZE_MAX ) fix_sst(a, n, iAt); break;
        case KIND_RECOVERY:
          {
            size_t aOff[3], aSize[3];
            int i;
            recovery_split(a, n, aOff, aSize);
            for(i = 0; i < 3; i++) fix_wal(a + aOff[i], aSize[i]);
          }
          break;
        default:       fix_manifest(a, n); break;
      }
    }
    run_kind(eKind, pEnv, a, n);
    nIter++;
    if( (nIter & 63) == 0 ){
      clock_gettime(CLOCK_MONOTONIC, &t1);
      if( (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 > nSecs ) break;
    }
  }
  if( getenv("LSM_FUZZ_VERBOSE") ){
    fprintf(stderr, "fuzz %s: seed %llu, %d regression inputs, %ld mutants\n", zReader,
            (unsigned long long)seed, nRegress, nIter);
  }
  {
    int i;
    for(i = 0; i < nSeed; i++){
      if( (eKind == KIND_WAL && i == 1) || eKind == KIND_RECOVERY ) free(aSeed[i]);
      else env_free(pEnv, aSeed[i]);
    }
  }
  free(a);
  fuzz_env_free();
}

START_TEST(fuzz_wal_reader){ fuzz_reader(KIND_WAL, "wal"); }
END_TEST
START_TEST(fuzz_sst_reader){ fuzz_reader(KIND_SST, "sst"); }
END_TEST
START_TEST(fuzz_manifest_reader){ fuzz_reader(KIND_MANIFEST, "manifest"); }
END_TEST
START_TEST(fuzz_recovery_across_logs){ fuzz_reader(KIND_RECOVERY, "recovery"); }
END_TEST

static Suite *fuzz_suite(void){
  Suite *s = suite_create("fuzz_readers");
  TCase *tc = tcase_create("bounded");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, fuzz_wal_reader);
  tcase_add_test(tc, fuzz_sst_reader);
  tcase_add_test(tc, fuzz_manifest_reader);
  tcase_add_test(tc, fuzz_recovery_across_logs);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(fuzz_suite)
