/*
** test_wal.c — the write-ahead log: what is committed replays exactly;
** each torn-tail case is dropped cleanly in the newest log; each bad
** record elsewhere is LSM_CORRUPT naming the file and offset; the sync
** modes make the calls they promise (counted by faultenv).
**
** Tests rewrite log files through the env: they play the part of the disk.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checksum.h"
#include "coding.h"
#include "env.h"
#include "error.h"
#include "faultenv.h"
#include "testutil.h"
#include "wal.h"

#define HDR 16          /* record header bytes (wal.c) */
#define HDR_V3 25       /* record header bytes of version 3 (wal.c) */
#define FILE_HDR 64     /* file header bytes (wal.c)   */

/* ---- helpers ---- */

typedef struct rec { uint64_t seq; uint8_t *p; size_t n; } rec;
typedef struct recs { rec *a; int n, nAlloc; int rcStopAt; } recs;

static int collect(void *pCtx, uint64_t seq, const uint8_t *p, size_t n){
  recs *r = pCtx;
  if( r->rcStopAt && r->n + 1 == r->rcStopAt ) return LSM_ERROR;
  if( r->n == r->nAlloc ){
    r->nAlloc = r->nAlloc ? r->nAlloc * 2 : 16;
    r->a = realloc(r->a, sizeof(rec) * (size_t)r->nAlloc);
  }
  r->a[r->n].seq = seq;
  r->a[r->n].p = malloc(n ? n : 1);
  if( n ) memcpy(r->a[r->n].p, p, n);
  r->a[r->n].n = n;
  r->n++;
  return LSM_OK;
}

static void recs_clear(recs *r){
  int i;
  for(i = 0; i < r->n; i++) free(r->a[i].p);
  free(r->a);
  memset(r, 0, sizeof(*r));
}

/* ---- the fixture ---- */

/*
** Every test works on one log, zDir/000001.wal, through the env of its
** test case: "disk" (the POSIX env), "memory" (lsm_env_memory(): fast for
** tests that rewrite the log many times) or "faultenv" (a faultenv over
** the POSIX env, for counting calls and failing them).  The checked
** fixture makes these before each test, in the test's own process, and
** removes them after it passes (a failed test keeps its directory).
*/
static struct wal_fixture {
  char *zDir;                   /* the test's temporary directory         */
  char *zPath;                  /* zDir/000001.wal                        */
  lsm_env *pEnv;                /* the env every call goes through        */
  lsm_env *pMemEnv;             /* "memory": the env to free, else NULL   */
  faultenv *fe;                 /* "faultenv": the fault env, else NULL   */
  recs r;                       /* what the last replay() collected       */
} fx;

static void fixture_open(void){
  memset(&fx, 0, sizeof(fx));
  fx.zDir = test_tmpdir("wal");
  fx.zPath = malloc(strlen(fx.zDir) + sizeof("/000001.wal"));
  sprintf(fx.zPath, "%s/000001.wal", fx.zDir);
}
static void setup_disk(void){
  fixture_open();
  fx.pEnv = lsm_env_default();
}
static void setup_memory(void){
  fixture_open();
  fx.pEnv = fx.pMemEnv = lsm_env_memory();
}
static void setup_faultenv(void){
  fixture_open();
  fx.fe = faultenv_new(NULL);
  fx.pEnv = faultenv_env(fx.fe);
}
static void teardown(void){
  recs_clear(&fx.r);
  if( fx.pMemEnv ) lsm_env_memory_free(fx.pMemEnv);
  faultenv_free(fx.fe);
  free(fx.zPath);
  test_rmtree(fx.zDir);
  free(fx.zDir);
  memset(&fx, 0, sizeof(fx));
}

/* Open a writer on the fixture's log, a new file each time: logs are
** created exclusively, so an earlier log at the path is removed first. */
static int writer_open(int eSync, wal_writer **pw){
  fx.pEnv->xUnlink(fx.pEnv, fx.zPath);
  return wal_writer_open(fx.pEnv, fx.zPath, eSync, 1, NULL, pw);
}

/* The payload of record i of a test log: deterministic from (seed, i). */
static size_t payload_of(uint64_t seed, int i, size_t n, uint8_t *p){
  test_rng rng;
  size_t j;
  rng_init(&rng, seed * 1000003 + (uint64_t)i);
  for(j = 0; j < n; j++) p[j] = (uint8_t)rng_next(&rng);
  return n;
}

/* Write the fixture's log: nRec records with payload sizes from aSize
** (cycled), committing each, with a wal_writer_sync before record
** iSyncAfter if it is > 0.  Returns the file offset where each record
** starts in aOff (nRec + 1 entries: the last is the end of the records).
** bClose: close the writer; else drop it without a close, as a killed
** process leaves its log. */
static void write_log_ex(int eSync, int nRec, int iSyncAfter, int bClose,
                         const size_t *aSize, int nSize, uint64_t *aOff){
  wal_writer *w = NULL;
  int i;
  ck_assert_int_eq(writer_open(eSync, &w), LSM_OK);
  for(i = 0; i < nRec; i++){
    size_t n = aSize[i % nSize];
    uint8_t *p = malloc(n ? n : 1);
    if( i == iSyncAfter && i > 0 ) ck_assert_int_eq(wal_writer_sync(w), LSM_OK);
    payload_of(test_seed(), i, n, p);
    if( aOff ) aOff[i] = wal_writer_bytes(w);
    ck_assert_int_eq(wal_writer_add(w, 100 + (uint64_t)i * 3, p, n), LSM_OK);
    ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
    free(p);
  }
  if( aOff ) aOff[nRec] = wal_writer_bytes(w);
  if( bClose ) ck_assert_int_eq(wal_writer_close(w), LSM_OK);
  else wal_writer_discard(w);
}

static void write_log(int eSync, int nRec, const size_t *aSize, int nSize, uint64_t *aOff){
  write_log_ex(eSync, nRec, 0, 1, aSize, nSize, aOff);
}

/* The last replay gave exactly the first nRec records write_log wrote. */
static void check_recs(int nRec, const size_t *aSize, int nSize){
  const recs *r = &fx.r;
  int i;
  SEED_ASSERT(r->n == nRec, "replayed %d records, expected %d", (unsigned long long)test_seed(), r->n, nRec);
  for(i = 0; i < nRec; i++){
    size_t n = aSize[i % nSize];
    uint8_t *p = malloc(n ? n : 1);
    payload_of(test_seed(), i, n, p);
    SEED_ASSERT(r->a[i].seq == 100 + (uint64_t)i * 3, "record %d seq", (unsigned long long)test_seed(), i);
    SEED_ASSERT(r->a[i].n == n && (n == 0 || memcmp(r->a[i].p, p, n) == 0),
                "record %d payload differs", (unsigned long long)test_seed(), i);
    free(p);
  }
}

/* Read or replace the whole log (the tests play the disk). */
static uint8_t *slurp(size_t *pn){
  uint8_t *a = NULL, *aCopy;
  ck_assert_int_eq(env_read_file(fx.pEnv, fx.zPath, &a, pn), LSM_OK);
  aCopy = malloc(*pn + 1);
  memcpy(aCopy, a, *pn);
  env_free(fx.pEnv, a);
  return aCopy;
}

static void spill(const uint8_t *a, size_t n){
  lsm_file *pFile = NULL;
  ck_assert_int_eq(fx.pEnv->xOpen(fx.pEnv, fx.zPath, LSM_OPEN_WRITE, &pFile), LSM_OK);
  if( n ) ck_assert_int_eq(fx.pEnv->xAppend(pFile, a, n), LSM_OK);
  ck_assert_int_eq(fx.pEnv->xClose(pFile), LSM_OK);
}

/* Replay the log into a fresh fx.r; returns the rc. */
static int replay(int bNewest, int *pbTorn){
  recs_clear(&fx.r);
  error_clear();
  return wal_replay(fx.pEnv, fx.zPath, bNewest, collect, &fx.r, pbTorn);
}

/* Frame a record by hand (the format drawn in wal.c): iField is the
** stored seq field (the offset from the log's seq base). */
static size_t frame(uint8_t *pOut, uint32_t salt, int eType, uint32_t iField,
                    const void *pPayload, uint32_t n){
  uint8_t *q = coding_put32(pOut, n | ((uint32_t)eType << 24));
  q = coding_put32(q, iField);
  q = coding_put32(q, (uint32_t)checksum_compute(pOut, 8, CHECKSUM_SEED_WAL ^ salt));
  coding_put32(q, (uint32_t)checksum_compute2(pOut, 12, pPayload, n, CHECKSUM_SEED_WAL ^ salt));
  memcpy(pOut + HDR, pPayload, n);
  return HDR + n;
}

/* The same in version 3's (and 2's) framing. */
static size_t frame_v3(uint8_t *pOut, uint32_t salt, int eType, uint64_t seq,
                       const void *pPayload, uint32_t n){
  uint8_t *q = coding_put32(pOut, n);
  *q++ = (uint8_t)eType;
  q = coding_put64(q, seq);
  q = coding_put32(q, (uint32_t)checksum_compute(pOut, 13, CHECKSUM_SEED_WAL ^ salt));
  coding_put64(q, checksum_compute2(pOut, 17, pPayload, n, CHECKSUM_SEED_WAL ^ salt));
  memcpy(pOut + HDR_V3, pPayload, n);
  return HDR_V3 + n;
}

static const size_t aSmall[] = { 40, 0, 7, 100, 33 };

/* ---- round trips ---- */

START_TEST(wal_round_trip_at_every_sync_mode){
  static const size_t aSize[] = { 0, 1, 17, 300, 70000, 5, 4096 };
  int eSync, bTorn;
  for(eSync = LSM_SYNC_OFF; eSync <= LSM_SYNC_FULL; eSync++){
    /* FULL syncs every commit: fewer records keep the test fast. */
    int nRec = test_scale(eSync == LSM_SYNC_FULL ? 40 : 200);
    write_log(eSync, nRec, aSize, 7, NULL);
    ck_assert_int_eq(replay(1, &bTorn), LSM_OK);
    ck_assert_int_eq(bTorn, 0);
    check_recs(nRec, aSize, 7);
    ck_assert_int_eq(replay(0, &bTorn), LSM_OK);
    check_recs(nRec, aSize, 7);
  }
}
END_TEST

START_TEST(wal_batch_over_one_mib_is_fragmented_and_reassembled){
  static const size_t aSize[] = { 10, (3u << 20) + 12345, 1u << 20, (1u << 20) + 1, 0, 2u << 20 };
  uint64_t aOff[7];
  int bTorn;
  write_log(LSM_SYNC_OFF, 6, aSize, 6, aOff);
  /* 3 MiB + 12345 is four fragments: four headers. */
  ck_assert_uint_eq(aOff[2] - aOff[1], aSize[1] + 4 * HDR);
  ck_assert_uint_eq(aOff[3] - aOff[2], aSize[2] + HDR);
  ck_assert_int_eq(replay(0, &bTorn), LSM_OK);
  check_recs(6, aSize, 6);

  /* Cut inside the fragmented last batch: torn in the newest log, the
  ** whole batch dropped; corruption in an older log. */
  {
    size_t n, iCut;
    uint8_t *a = slurp(&n);
    uint64_t aCut[] = { aOff[5] + 3, aOff[5] + HDR + (1u << 20), aOff[5] + 2 * HDR + (1u << 20),
                        aOff[5] + 2 * HDR + (1u << 20) + 1, n - 1 };
    /* Cut after the first byte of the last batch's header, a zero (the
    ** low byte of its 1 MiB length): zeros at the end are the log's clean
    ** end (written ahead by LSM_OPEN_PREALLOC), in an older log too. */
    ck_assert_int_eq(a[aOff[5]], 0);
    spill(a, aOff[5] + 1);
    ck_assert_int_eq(replay(1, &bTorn), LSM_OK);
    ck_assert_int_eq(bTorn, 0);
    check_recs(5, aSize, 6);
    ck_assert_int_eq(replay(0, &bTorn), LSM_OK);
    check_recs(5, aSize, 6);
    for(iCut = 0; iCut < sizeof(aCut) / sizeof(aCut[0]); iCut++){
      spill(a, aCut[iCut]);
      SEED_ASSERT(replay(1, &bTorn) == LSM_OK, "cut %d: %s",
                  (unsigned long long)test_seed(), (int)iCut, error_message());
      ck_assert_int_eq(bTorn, 1);
      check_recs(5, aSize, 6);
      ck_assert_int_eq(replay(0, &bTorn), LSM_CORRUPT);
    }
    free(a);
  }
}
END_TEST

START_TEST(wal_empty_log_replays_nothing){
  wal_writer *w;
  int bTorn;

  /* Opened and closed with no records: just the file header. */
  ck_assert_int_eq(writer_open(LSM_SYNC_NORMAL, &w), LSM_OK);
  ck_assert_uint_eq(wal_writer_bytes(w), FILE_HDR);
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);
  ck_assert_int_eq(replay(0, &bTorn), LSM_OK);
  ck_assert_int_eq(fx.r.n, 0);
  ck_assert_int_eq(bTorn, 0);

  /* A zero-byte file (crash right after create). */
  spill(NULL, 0);
  ck_assert_int_eq(replay(1, &bTorn), LSM_OK);
  ck_assert_int_eq(fx.r.n, 0);
  ck_assert_int_eq(bTorn, 0);

  /* A torn file header in the newest log is an empty log; in an older
  ** one it is corruption. */
  {
    static const uint8_t aPart[5] = { 0x89, 'L', 'S', 'M', 'W' };
    spill(aPart, sizeof(aPart));
    ck_assert_int_eq(replay(1, &bTorn), LSM_OK);
    ck_assert_int_eq(bTorn, 1);
    ck_assert_int_eq(replay(0, &bTorn), LSM_CORRUPT);
  }
}
END_TEST

START_TEST(wal_header_example_replays){
  /* The worked example drawn in wal.c's header, byte for byte. */
  static const uint8_t aLog[] = {
    0x89, 0x4c, 0x53, 0x4d, 0x57, 0x41, 0x4c, 0x0a,
    0x02, 0x00, 0x00, 0x00,
    0x0d, 0x0c, 0x0b, 0x0a,
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
    0x63, 0x90, 0x4a, 0x11, 0x6d, 0x83, 0x1e, 0x39,
    0x02, 0x00, 0x00, 0x00,
    0x01,
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0xe2, 0xa4, 0xec,
    0xb3, 0x2a, 0xfb, 0x39, 0x9f, 0x33, 0x66, 0x65,
    0x68, 0x69,
  };
  wal_header hdr;
  int bTorn, bEmpty;

  ck_assert_uint_eq(sizeof(aLog), 91);
  spill(aLog, sizeof(aLog));
  ck_assert_int_eq(wal_read_header(fx.pEnv, fx.zPath, &hdr, &bEmpty), LSM_OK);
  ck_assert_int_eq(bEmpty, 0);
  ck_assert_uint_eq(hdr.iNumber, 3);
  ck_assert_uint_eq(hdr.iPrevLog, 2);
  ck_assert_uint_eq(hdr.iPrevNextSeq, 7);
  ck_assert_uint_eq(hdr.iFirstSeq, 7);
  ck_assert_int_eq(hdr.bPrevTorn, 0);
  ck_assert_int_eq(replay(0, &bTorn), LSM_OK);
  ck_assert_int_eq(fx.r.n, 1);
  ck_assert_uint_eq(fx.r.a[0].seq, 7);
  ck_assert_uint_eq(fx.r.a[0].n, 2);
  ck_assert(memcmp(fx.r.a[0].p, "hi", 2) == 0);
}
END_TEST

/* ---- torn tails ---- */

START_TEST(wal_truncated_tail_is_ignored){
  static const size_t aSize[] = { 40, 0, 7, 100, 33, 250 };
  uint64_t aOff[13];
  uint64_t iCut;
  size_t n;
  uint8_t *a;
  int bTorn;

  write_log(LSM_SYNC_OFF, 12, aSize, 6, aOff);
  a = slurp(&n);
  ck_assert_uint_eq(n, aOff[12]);
  /* Every cut inside the last record (250-byte payload). */
  for(iCut = aOff[11]; iCut < aOff[12]; iCut++){
    spill(a, (size_t)iCut);
    SEED_ASSERT(replay(1, &bTorn) == LSM_OK, "cut at %llu: %s",
                (unsigned long long)test_seed(), (unsigned long long)iCut, error_message());
    ck_assert_int_eq(bTorn, iCut > aOff[11]);
    check_recs(11, aSize, 6);
  }
  free(a);
}
END_TEST

START_TEST(wal_zeroed_tail_is_ignored){
  uint64_t aOff[11];
  size_t n;
  uint8_t *a;
  int bTorn;

  write_log(LSM_SYNC_FULL, 10, aSmall, 5, aOff);
  a = slurp(&n);

  /* Zeros after the last record (written ahead by LSM_OPEN_PREALLOC, or
  ** a file system that extended the file): the log's clean end, in the
  ** newest log and in an older one. */
  a = realloc(a, n + 8192);
  memset(a + n, 0, 8192);
  spill(a, n + 8192);
  ck_assert_int_eq(replay(1, &bTorn), LSM_OK);
  ck_assert_int_eq(bTorn, 0);
  check_recs(10, aSmall, 5);
  ck_assert_int_eq(replay(0, &bTorn), LSM_OK);
  check_recs(10, aSmall, 5);

  /* The last record itself zeroed (its write never reached the disk). */
  memset(a + aOff[9], 0, (size_t)(aOff[10] - aOff[9]));
  spill(a, n);
  ck_assert_int_eq(replay(1, &bTorn), LSM_OK);
  ck_assert_int_eq(bTorn, 0);
  check_recs(9, aSmall, 5);

  /* A newest log that is all zeros is empty. */
  memset(a, 0, n);
  spill(a, n);
  ck_assert_int_eq(replay(1, &bTorn), LSM_OK);
  ck_assert_int_eq(bTorn, 1);
  ck_assert_int_eq(fx.r.n, 0);
  free(a);
}
END_TEST

START_TEST(wal_garbage_tail_is_ignored){
  uint64_t aOff[11];
  size_t n, nGarbage, i;
  uint8_t *a, *aOrig;
  int bTorn, iTrial;
  test_rng rng;

  rng_init(&rng, test_seed());
  write_log(LSM_SYNC_OFF, 10, aSmall, 5, aOff);
  a = slurp(&n);
  aOrig = slurp(&n);
  for(iTrial = 0; iTrial < test_scale(20); iTrial++){
    /* Random bytes after the records, or over the start of the last one. */
    size_t iStart = iTrial % 2 ? n : (size_t)aOff[9] + 1 + (size_t)rng_below(&rng, aOff[10] - aOff[9] - 1);
    nGarbage = 1 + (size_t)rng_below(&rng, 5000);
    a = realloc(a, n + 5000);
    memcpy(a, aOrig, n);
    for(i = 0; i < nGarbage; i++) a[iStart + i] = (uint8_t)rng_next(&rng);
    if( iStart < n && a[iStart] == aOrig[iStart] ) a[iStart] ^= 0x55;  /* really damaged */
    spill(a, iStart + nGarbage);
    SEED_ASSERT(replay(1, &bTorn) == LSM_OK, "trial %d: %s",
                (unsigned long long)test_seed(), iTrial, error_message());
    ck_assert_int_eq(bTorn, 1);
    check_recs(iTrial % 2 ? 10 : 9, aSmall, 5);
    ck_assert_int_eq(replay(0, &bTorn), LSM_CORRUPT);
  }
  free(a);
  free(aOrig);
}
END_TEST

START_TEST(wal_huge_length_in_tail_does_not_allocate){
  static const uint32_t aLen[] = { 0xffffffu, 0xfffff0u, 0x800000u, (1u << 20) + 1, 1u << 20 };
  uint64_t aOff[11];
  size_t n, i;
  uint8_t *a;
  int bTorn;

  write_log(LSM_SYNC_OFF, 10, aSmall, 5, aOff);
  a = slurp(&n);
  a = realloc(a, n + 4096);
  for(i = 0; i < sizeof(aLen) / sizeof(aLen[0]); i++){
    /* A header claiming a huge payload, a valid type, and some bytes. */
    memset(a + n, 0xab, 4096);
    coding_put32(a + n, aLen[i] | (1u << 24));    /* type FULL */
    spill(a, n + 4096);
    faultenv_reset_counts(fx.fe);
    ck_assert_int_eq(replay(1, &bTorn), LSM_OK);
    ck_assert_int_eq(bTorn, 1);
    check_recs(10, aSmall, 5);
    ck_assert_msg(faultenv_max_alloc(fx.fe) < 64 * 1024, "replay allocated %zu bytes",
                  faultenv_max_alloc(fx.fe));
  }
  free(a);
}
END_TEST

START_TEST(wal_record_torn_inside_preallocated_zeros_is_a_torn_tail){
  uint64_t aOff[11];
  size_t n, nKeep;
  uint8_t *a, *aOrig;
  int bTorn, iCase;

  write_log(LSM_SYNC_FULL, 10, aSmall, 5, aOff);
  aOrig = slurp(&n);
  a = malloc(n + 65536);
  for(iCase = 0; iCase < 3; iCase++){
    /* The last record's write reached the disk only in part; the zeros
    ** written ahead of it follow: its first half, its header alone, or
    ** all of it but its last byte. */
    uint64_t nRec = aOff[10] - HDR - aOff[9];     /* the record, without its GROUP_END */
    nKeep = (size_t)(iCase == 0 ? aOff[9] + nRec / 2 : iCase == 1 ? aOff[9] + HDR
                     : aOff[9] + nRec - 1);
    if( aOrig[nKeep] == 0 ) continue;   /* the zeros would be the lost byte itself */
    memset(a, 0, n + 65536);
    memcpy(a, aOrig, nKeep);
    spill(a, n + 65536);
    SEED_ASSERT(replay(1, &bTorn) == LSM_OK, "case %d: %s", (unsigned long long)test_seed(),
                iCase, error_message());
    ck_assert_int_eq(bTorn, 1);
    check_recs(9, aSmall, 5);
    /* In an older log it was complete before the next log began. */
    ck_assert_int_eq(replay(0, &bTorn), LSM_CORRUPT);
  }
  free(a);
  free(aOrig);
}
END_TEST

/* A sync=full log of 10 writes (commits), each of 3 records; aOff[i]
** (i < 30) is where record i starts, aOff[30] the size. */
static void write_grouped_log(uint64_t *aOff){
  wal_writer *w = NULL;
  int i;
  ck_assert_int_eq(writer_open(LSM_SYNC_FULL, &w), LSM_OK);
  for(i = 0; i < 30; i++){
    uint8_t p[100];
    size_t n = aSmall[i % 5];
    payload_of(test_seed(), i, n, p);
    aOff[i] = wal_writer_bytes(w);
    ck_assert_int_eq(wal_writer_add(w, 100 + (uint64_t)i * 3, p, n), LSM_OK);
    if( i % 3 == 2 ) ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  }
  aOff[30] = wal_writer_bytes(w);
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);
}

START_TEST(wal_sync_full_writes_end_in_a_group_end_record){
  uint64_t aOff[31];
  size_t n;
  uint8_t *a;
  int i;
  write_grouped_log(aOff);
  a = slurp(&n);
  ck_assert_uint_eq(n, aOff[30]);
  ck_assert_uint_eq(coding_get32(a + 48), 2);          /* flags: GROUP_MARKS */
  for(i = 0; i < 30; i++){
    /* Records 2, 5, 8, ... are each followed by a 16-byte GROUP_END
    ** (type 9, length 0, seq field 0). */
    uint64_t iEnd = i + 1 < 30 ? aOff[i + 1] : n;
    uint64_t nGap = iEnd - aOff[i] - HDR - aSmall[i % 5];
    ck_assert_uint_eq(nGap, i % 3 == 2 ? HDR : 0);
    if( nGap ){
      ck_assert_uint_eq(coding_get32(a + iEnd - HDR), 9u << 24);
      ck_assert_uint_eq(coding_get32(a + iEnd - HDR + 4), 0);
    }
  }
  ck_assert_int_eq(replay(0, NULL), LSM_OK);
  check_recs(30, aSmall, 5);
  free(a);
}
END_TEST

START_TEST(wal_last_write_with_sectors_missing_is_a_torn_tail){
  uint64_t aOff[31];
  size_t n, nCase;
  uint8_t *a, *aOrig;
  int bTorn;
  /* A crash while the last write (records 27-29 and its GROUP_END) was
  ** being synced: the disk kept some of its sectors and not others.  Its
  ** first record is missing while the later ones and the GROUP_END made
  ** it: a torn tail, not a bad record followed by good ones. */
  write_grouped_log(aOff);
  aOrig = slurp(&n);
  a = malloc(n + 4096);
  for(nCase = 0; nCase < 3; nCase++){
    memset(a, 0, n + 4096);
    memcpy(a, aOrig, n);
    if( nCase == 0 ) memset(a + aOff[27], 0, (size_t)(aOff[28] - aOff[27]));
    if( nCase == 1 ) memset(a + aOff[27], 0, 7);              /* its header's start */
    if( nCase == 2 ) memset(a + aOff[28], 0, (size_t)(aOff[29] - aOff[28]));
    spill(a, n + 4096);
    SEED_ASSERT(replay(1, &bTorn) == LSM_OK, "case %d: %s", (unsigned long long)test_seed(),
                (int)nCase, error_message());
    ck_assert_int_eq(bTorn, 1);
    check_recs(nCase == 2 ? 28 : 27, aSmall, 5);
    /* An older log was synced whole before the next one began. */
    ck_assert_int_eq(replay(0, &bTorn), LSM_CORRUPT);
  }
  /* The same damage one write earlier is corruption: a later write
  ** followed it, so it had been synced whole. */
  memcpy(a, aOrig, n);
  memset(a + aOff[24], 0, (size_t)(aOff[25] - aOff[24]));
  spill(a, n);
  ck_assert_int_eq(replay(1, &bTorn), LSM_CORRUPT);
  ck_assert_ptr_nonnull(strstr(error_message(), "followed by a valid record"));
  free(a);
  free(aOrig);
}
END_TEST

START_TEST(wal_zeros_before_a_valid_record_are_corruption){
  uint64_t aOff[11];
  size_t n;
  uint8_t *a;
  int bTorn;

  /* Zeros end a log only if nothing but zeros follows them. */
  write_log(LSM_SYNC_FULL, 10, aSmall, 5, aOff);
  a = slurp(&n);
  memset(a + aOff[4], 0, (size_t)(aOff[5] - aOff[4]));
  spill(a, n);
  ck_assert_int_eq(replay(1, &bTorn), LSM_CORRUPT);
  ck_assert_int_eq(replay(0, &bTorn), LSM_CORRUPT);
  free(a);
}
END_TEST

/* The size of the fixture's log on disk. */
static uint64_t disk_size(void){
  struct stat st;
  ck_assert_int_eq(stat(fx.zPath, &st), 0);
  return (uint64_t)st.st_size;
}

START_TEST(wal_sync_full_log_is_written_into_zeros_cut_off_at_close){
  uint64_t aOff[11];
  wal_writer *w = NULL;

  /* A sync=full log grows a megabyte of zeros at a time (env.c,
  ** LSM_OPEN_PREALLOC)... */
  ck_assert_int_eq(writer_open(LSM_SYNC_FULL, &w), LSM_OK);
  ck_assert_int_eq(wal_writer_add(w, 100, (const uint8_t*)"value", 5), LSM_OK);
  ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  ck_assert_uint_eq(disk_size(), 1u << 20);
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);
  /* ...and a close cuts them off. */
  write_log(LSM_SYNC_FULL, 10, aSmall, 5, aOff);
  ck_assert_uint_eq(disk_size(), aOff[10]);
  ck_assert_int_eq(replay(0, NULL), LSM_OK);
  check_recs(10, aSmall, 5);
  /* A sync=normal log is written into zeros too, 256 KiB at a time
  ** (through a mapping: MAPPED LOG in wal.c), and cut at close... */
  ck_assert_int_eq(writer_open(LSM_SYNC_NORMAL, &w), LSM_OK);
  ck_assert_int_eq(wal_writer_add(w, 100, (const uint8_t*)"value", 5), LSM_OK);
  ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  ck_assert_uint_eq(disk_size(), 256u << 10);
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);
  ck_assert_uint_eq(disk_size(), FILE_HDR + HDR + 5 + 2 * HDR);   /* and two GROUP_ENDs */
  /* ...and sync=off appends. */
  ck_assert_int_eq(writer_open(LSM_SYNC_OFF, &w), LSM_OK);
  ck_assert_int_eq(wal_writer_add(w, 100, (const uint8_t*)"value", 5), LSM_OK);
  ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  ck_assert_int_eq(wal_writer_write(w), LSM_OK);
  ck_assert_uint_eq(disk_size(), FILE_HDR + HDR + 5);
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);
}
END_TEST

/* In a forked child: commit 14 records of the sizes in aBig[0..5) (some
** larger than a window of zeros) at eSync, then, if fdDone >= 0, write a
** byte to it and, if bWait, wait to be killed; exit without closing the
** log, as a crash leaves it.  Exit status 0 if every commit returned OK. */
static void child_commits_big_records(int eSync, const size_t *aBig, int fdDone, int bWait){
  wal_writer *w = NULL;
  uint8_t *p = malloc(300000);
  int i;
  if( p == NULL || writer_open(eSync, &w) != LSM_OK ) _exit(2);
  for(i = 0; i < 14; i++){
    size_t nP = payload_of(test_seed(), i, aBig[i % 5], p);
    if( wal_writer_add(w, 100 + (uint64_t)i * 3, p, nP) != LSM_OK ) _exit(3);
    if( wal_writer_commit(w) != LSM_OK ) _exit(4);
  }
  if( fdDone >= 0 && write(fdDone, "k", 1) != 1 ) _exit(5);
  if( bWait ) pause();
  _exit(0);
}

START_TEST(wal_sync_normal_log_of_a_killed_process_replays_every_commit){
  static const size_t aBig[] = { 40, 70000, 7, 300000, 33 };
  int status = 0, bTorn = -1, eKill;

  /* A child commits records larger than one 256 KiB window of the
  ** mapping, and is killed (SIGKILL) or exits without closing the log:
  ** every commit is in the file, through the page cache. */
  for(eKill = 0; eKill < 2; eKill++){
    int aPipe[2];
    char c;
    pid_t pid;
    ck_assert_int_eq(pipe(aPipe), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if( pid == 0 ){
      close(aPipe[0]);
      child_commits_big_records(LSM_SYNC_NORMAL, aBig, aPipe[1], eKill);
    }
    close(aPipe[1]);
    ck_assert_int_eq(read(aPipe[0], &c, 1), 1);    /* every commit returned */
    close(aPipe[0]);
    if( eKill ) kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    if( eKill ) ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    else ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_uint_eq(disk_size() % (256u << 10), 0);   /* the zeros are still there */
    ck_assert_int_eq(replay(1, &bTorn), LSM_OK);
    ck_assert_int_eq(bTorn, 0);
    check_recs(14, aBig, 5);
  }
}
END_TEST

START_TEST(wal_damage_after_the_last_sync_of_a_sync_normal_log_ends_it){
  static const size_t aMid[] = { 900, 1500, 40, 2100, 700 };
  uint64_t aOff[21];
  size_t n;
  uint8_t *a, *aOrig;
  int bTorn, iCase, iSyncAfter;

  /* A power cut before a sync=normal log (written through a mapping) was
  ** synced: the disk kept later pages and lost an earlier one, or kept a
  ** page as it was when half full.  Past the log's last sync (GROUP_END)
  ** that is where the newest log ends, whatever follows (MAPPED LOG in
  ** wal.c); before it, or in an older log, it is corruption. */
  for(iSyncAfter = 0; iSyncAfter <= 12; iSyncAfter += 12){
    write_log_ex(LSM_SYNC_NORMAL, 20, iSyncAfter, 0, aMid, 5, aOff);   /* never closed */
    aOrig = slurp(&n);
    a = malloc(n);
    for(iCase = 0; iCase < 4; iCase++){
      int iRec = iCase == 3 ? 15 : 6;
      int bSynced = iSyncAfter > iRec;
      memcpy(a, aOrig, n);
      if( iCase == 0 ){                  /* a lost sector of its payload */
        uint64_t iLost = (aOff[iRec] + HDR + 511) / 512 * 512;
        ck_assert_uint_le(iLost + 512, aOff[iRec + 1]);
        memset(a + iLost, 0, 512);
      }else if( iCase == 1 ){            /* its page as it was before it: zeros from it on */
        uint64_t iEnd = (aOff[iRec] / 4096 + 1) * 4096;
        memset(a + aOff[iRec], 0, (size_t)(iEnd - aOff[iRec]));
      }else{                             /* a changed byte */
        a[aOff[iRec] + HDR + 3] ^= 0x20;
      }
      spill(a, n);
      if( bSynced ){
        ck_assert_int_eq(replay(1, &bTorn), LSM_CORRUPT);
      }else{
        SEED_ASSERT(replay(1, &bTorn) == LSM_OK, "case %d, sync after %d: %s",
                    (unsigned long long)test_seed(), iCase, iSyncAfter, error_message());
        ck_assert_int_eq(bTorn, 1);
        check_recs(iRec, aMid, 5);
      }
      ck_assert_int_eq(replay(0, &bTorn), LSM_CORRUPT);
    }
    free(a);
    free(aOrig);
  }
  /* A closed sync=normal log was synced whole (it ends in a GROUP_END),
  ** and a log without the flags (sync=off) never ends early this way. */
  for(iCase = 0; iCase < 2; iCase++){
    write_log(iCase == 0 ? LSM_SYNC_NORMAL : LSM_SYNC_OFF, 20, aMid, 5, aOff);
    a = slurp(&n);
    a[aOff[6] + HDR + 3] ^= 0x20;
    spill(a, n);
    ck_assert_int_eq(replay(1, &bTorn), LSM_CORRUPT);
    ck_assert_ptr_nonnull(strstr(error_message(), "followed by a valid record"));
    free(a);
  }
}
END_TEST

START_TEST(wal_finishing_a_sync_normal_log_syncs_it){
  wal_writer *w;
  /* A log the store is done with is synced, its write ending in a
  ** GROUP_END, so that only the newest log can lose pages... */
  faultenv_reset_counts(fx.fe);
  ck_assert_int_eq(writer_open(LSM_SYNC_NORMAL, &w), LSM_OK);
  ck_assert_int_eq(wal_writer_add(w, 1, (const uint8_t*)"one", 3), LSM_OK);
  ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_SYNC), 0);
  ck_assert_int_eq(wal_writer_finish(w), LSM_OK);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_SYNC), 1);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_APPEND), 3);  /* record, GROUP_END, GROUP_END */
  ck_assert_uint_eq(wal_writer_unwritten_seq(w), UINT64_MAX);
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);     /* nothing more to sync */
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_SYNC), 1);
  /* ...and if that sync fails, a successor must not count on any record
  ** since the last sync that succeeded. */
  ck_assert_int_eq(writer_open(LSM_SYNC_NORMAL, &w), LSM_OK);
  ck_assert_int_eq(wal_writer_add(w, 1, (const uint8_t*)"one", 3), LSM_OK);
  ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  ck_assert_int_eq(wal_writer_sync(w), LSM_OK);
  ck_assert_int_eq(wal_writer_add(w, 2, (const uint8_t*)"two", 3), LSM_OK);
  ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  ck_assert_int_eq(wal_writer_add(w, 3, (const uint8_t*)"six", 3), LSM_OK);
  ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  ck_assert_uint_eq(wal_writer_unwritten_seq(w), UINT64_MAX);
  faultenv_fail(fx.fe, FAULTENV_SYNC, 1, LSM_IOERR, 0);
  ck_assert_int_eq(wal_writer_finish(w), LSM_IOERR);
  faultenv_fail_clear(fx.fe);
  ck_assert_uint_eq(wal_writer_unwritten_seq(w), 2);
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);
}
END_TEST

START_TEST(wal_sync_full_log_of_a_killed_process_replays_every_commit){
  static const size_t aBig[] = { 40, 70000, 7, 300000, 33 };
  int status = 0, bTorn = -1;
  pid_t pid;

  /* A child commits records larger than the first megabyte of zeros and
  ** dies without closing: the log keeps its zeros. */
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if( pid == 0 ) child_commits_big_records(LSM_SYNC_FULL, aBig, -1, 0);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ck_assert_uint_eq(disk_size(), 2u << 20);   /* 1.1 MB of records */
  ck_assert_int_eq(replay(1, &bTorn), LSM_OK);
  ck_assert_int_eq(bTorn, 0);
  check_recs(14, aBig, 5);
  ck_assert_int_eq(replay(0, &bTorn), LSM_OK);
  check_recs(14, aBig, 5);
}
END_TEST

/* ---- corruption ---- */

START_TEST(wal_bad_checksum_mid_log_is_corruption){
  uint64_t aOff[11];
  size_t n;
  uint8_t *a;
  int bTorn, iRec;
  char zWant[64];

  write_log(LSM_SYNC_OFF, 10, aSmall, 5, aOff);
  a = slurp(&n);
  for(iRec = 0; iRec < 9; iRec++){
    uint64_t iByte;
    /* Flip each byte of record iRec (header and payload) in turn. */
    for(iByte = aOff[iRec]; iByte < aOff[iRec + 1]; iByte++){
      a[iByte] ^= 0x20;
      spill(a, n);
      SEED_ASSERT(replay(1, &bTorn) == LSM_CORRUPT,
                  "record %d byte %llu flipped", (unsigned long long)test_seed(), iRec,
                  (unsigned long long)iByte);
      ck_assert_int_eq(fx.r.n, iRec);   /* the records before it were replayed */
      snprintf(zWant, sizeof(zWant), "offset %llu", (unsigned long long)aOff[iRec]);
      ck_assert_msg(strstr(error_message(), fx.zPath) && strstr(error_message(), zWant),
                    "message \"%s\" should name %s and %s", error_message(), fx.zPath, zWant);
      a[iByte] ^= 0x20;
    }
  }
  free(a);
}
END_TEST

START_TEST(wal_bad_record_in_older_log_is_corruption){
  uint64_t aOff[11];
  size_t n;
  uint8_t *a;
  int bTorn;

  write_log(LSM_SYNC_OFF, 10, aSmall, 5, aOff);
  a = slurp(&n);

  /* Truncated last record. */
  spill(a, n - 3);
  ck_assert_int_eq(replay(0, &bTorn), LSM_CORRUPT);
  ck_assert_ptr_nonnull(strstr(error_message(), fx.zPath));
  ck_assert_ptr_nonnull(strstr(error_message(), "older log"));
  /* Bad checksum in the last record. */
  a[n - 1] ^= 1;
  spill(a, n);
  ck_assert_int_eq(replay(0, &bTorn), LSM_CORRUPT);
  a[n - 1] ^= 1;
  /* Not a log at all. */
  a[0] = 'X';
  spill(a, n);
  ck_assert_int_eq(replay(0, &bTorn), LSM_CORRUPT);
  ck_assert_int_eq(replay(1, &bTorn), LSM_CORRUPT);
  free(a);
}
END_TEST

START_TEST(wal_records_out_of_order_are_corruption){
  uint8_t a[4096];
  size_t n;
  uint32_t salt;
  int bTorn, iCase;

  write_log(LSM_SYNC_OFF, 0, aSmall, 5, NULL);
  {
    size_t nHdr;
    uint8_t *pHdr = slurp(&nHdr);
    ck_assert_uint_eq(nHdr, FILE_HDR);
    memcpy(a, pHdr, FILE_HDR);
    salt = coding_get32(pHdr + 12);
    free(pHdr);
  }
  for(iCase = 0; iCase < 10; iCase++){
    uint8_t aBase[8];
    n = FILE_HDR;
    switch( iCase ){
      case 0:   /* sanity: FIRST + MIDDLE + LAST is one batch */
        n += frame(a + n, salt, 2, 5, "ab", 2);
        n += frame(a + n, salt, 3, 5, "cd", 2);
        n += frame(a + n, salt, 4, 5, "e", 1);
        n += frame(a + n, salt, 1, 9, "f", 1);
        break;
      case 1:   /* seq goes backwards */
        n += frame(a + n, salt, 1, 9, "x", 1);
        n += frame(a + n, salt, 1, 8, "y", 1);
        break;
      case 2:   /* MIDDLE without FIRST */
        n += frame(a + n, salt, 3, 5, "x", 1);
        break;
      case 3:   /* FULL inside a fragmented batch */
        n += frame(a + n, salt, 2, 5, "x", 1);
        n += frame(a + n, salt, 1, 6, "y", 1);
        break;
      case 4:   /* LAST with another batch's seq */
        n += frame(a + n, salt, 2, 5, "x", 1);
        n += frame(a + n, salt, 4, 6, "y", 1);
        break;
      case 5:   /* sanity: a SEQ_BASE record moves the base of later seqs */
        coding_put64(aBase, 1000000);
        n += frame(a + n, salt, 8, 0, aBase, 8);
        n += frame(a + n, salt, 1, 3, "x", 1);
        break;
      case 6:   /* a SEQ_BASE record inside a fragmented batch */
        coding_put64(aBase, 1000000);
        n += frame(a + n, salt, 2, 5, "x", 1);
        n += frame(a + n, salt, 8, 0, aBase, 8);
        n += frame(a + n, salt, 4, 5, "y", 1);
        break;
      case 7:   /* a SEQ_BASE record of the wrong length */
        n += frame(a + n, salt, 8, 0, aBase, 7);
        break;
      case 8:   /* a prepared record too short to hold its prepare id */
        n += frame(a + n, salt, 5, 0, "1234567", 7);
        break;
      case 9:   /* a prepared record with a seq field */
        coding_put64(aBase, 1);
        n += frame(a + n, salt, 5, 1, aBase, 8);
        break;
    }
    spill(a, n);
    if( iCase == 0 ){
      ck_assert_int_eq(replay(0, &bTorn), LSM_OK);
      ck_assert_int_eq(fx.r.n, 2);
      ck_assert_uint_eq(fx.r.a[0].seq, 5);
      ck_assert_uint_eq(fx.r.a[0].n, 5);
      ck_assert(memcmp(fx.r.a[0].p, "abcde", 5) == 0);
    }else if( iCase == 5 ){
      ck_assert_int_eq(replay(0, &bTorn), LSM_OK);
      ck_assert_int_eq(fx.r.n, 1);
      ck_assert_uint_eq(fx.r.a[0].seq, 1000003);
    }else{
      ck_assert_int_eq(replay(1, &bTorn), LSM_CORRUPT);
    }
  }
}
END_TEST

START_TEST(wal_replay_stops_at_callback_error){
  write_log(LSM_SYNC_OFF, 10, aSmall, 5, NULL);
  fx.r.rcStopAt = 4;
  ck_assert_int_eq(wal_replay(fx.pEnv, fx.zPath, 1, collect, &fx.r, NULL), LSM_ERROR);
  ck_assert_int_eq(fx.r.n, 3);
}
END_TEST

/* An env without xMap (lsm.h: it serves hosted stores only) cannot
** replay a log: replay and the header read say so, never call through
** the NULL pointer. */
START_TEST(wal_replay_with_an_env_that_cannot_map_is_refused){
  lsm_env noMap = *fx.pEnv;
  wal_header hdr;
  int bEmpty = 0;
  write_log(LSM_SYNC_OFF, 3, aSmall, 5, NULL);
  noMap.xMap = NULL;
  ck_assert_int_eq(wal_replay(&noMap, fx.zPath, 1, collect, &fx.r, NULL), LSM_MISUSE);
  ck_assert_ptr_nonnull(strstr(lsm_errmsg(NULL), "cannot map files"));
  ck_assert_int_eq(fx.r.n, 0);
  ck_assert_int_eq(wal_read_header(&noMap, fx.zPath, &hdr, &bEmpty), LSM_MISUSE);
}
END_TEST

/* ---- sync modes, group commit, write failures ---- */

START_TEST(wal_sync_full_calls_sync_per_commit){
  int eSync;
  for(eSync = LSM_SYNC_OFF; eSync <= LSM_SYNC_FULL; eSync++){
    wal_writer *w;
    int i;
    faultenv_reset_counts(fx.fe);
    ck_assert_int_eq(writer_open(eSync, &w), LSM_OK);
    for(i = 0; i < 10; i++){
      ck_assert_int_eq(wal_writer_add(w, (uint64_t)i, (const uint8_t*)"value", 5), LSM_OK);
      ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
    }
    switch( eSync ){
      case LSM_SYNC_OFF:      /* all still buffered */
        ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_APPEND), 0);
        ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_SYNC), 0);
        break;
      case LSM_SYNC_NORMAL:   /* one write per commit, no sync */
        ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_APPEND), 10);
        ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_SYNC), 0);
        break;
      default:                /* one write and one sync per commit */
        ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_APPEND), 10);
        ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_SYNC), 10);
        break;
    }
    ck_assert_int_eq(wal_writer_close(w), LSM_OK);
    /* sync=normal: the close syncs the log after a GROUP_END, and writes
    ** another one after the sync (MAPPED LOG in wal.c). */
    ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_APPEND),
                      eSync == LSM_SYNC_OFF ? 1 : eSync == LSM_SYNC_NORMAL ? 12 : 10);
    ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_SYNC),
                      eSync == LSM_SYNC_OFF ? 0 : eSync == LSM_SYNC_NORMAL ? 1 : 10);
  }
}
END_TEST

START_TEST(wal_sync_off_writes_once_the_buffer_passes_64k){
  uint8_t aVal[1000];
  wal_writer *w;
  int i;
  memset(aVal, 'v', sizeof(aVal));
  ck_assert_int_eq(writer_open(LSM_SYNC_OFF, &w), LSM_OK);
  for(i = 0; wal_writer_bytes(w) < 64 * 1024; i++){
    ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_APPEND), 0);
    ck_assert_int_eq(wal_writer_add(w, (uint64_t)i, aVal, sizeof(aVal)), LSM_OK);
    ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  }
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_APPEND), 1);
  ck_assert_int_eq(wal_writer_sync(w), LSM_OK);      /* nothing left to write */
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_APPEND), 1);
  ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_SYNC), 1);
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);
}
END_TEST

START_TEST(wal_group_commit_shares_one_write){
  int eSync, bTorn;
  for(eSync = LSM_SYNC_NORMAL; eSync <= LSM_SYNC_FULL; eSync++){
    wal_writer *w;
    int i;
    faultenv_reset_counts(fx.fe);
    ck_assert_int_eq(writer_open(eSync, &w), LSM_OK);
    for(i = 0; i < 8; i++){
      ck_assert_int_eq(wal_writer_add(w, 10 + (uint64_t)i, (const uint8_t*)"batch", 5), LSM_OK);
    }
    ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_APPEND), 0);
    ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
    ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_APPEND), 1);
    ck_assert_uint_eq(faultenv_count(fx.fe, FAULTENV_SYNC), eSync == LSM_SYNC_FULL ? 1 : 0);
    ck_assert_int_eq(wal_writer_close(w), LSM_OK);
    ck_assert_int_eq(replay(1, &bTorn), LSM_OK);
    ck_assert_int_eq(fx.r.n, 8);
  }
}
END_TEST

START_TEST(wal_failed_write_drops_the_commit_and_the_log_works_again){
  int eSync, bTorn;
  for(eSync = LSM_SYNC_OFF; eSync <= LSM_SYNC_FULL; eSync++){
    wal_writer *w;
    ck_assert_int_eq(writer_open(eSync, &w), LSM_OK);
    ck_assert_int_eq(wal_writer_add(w, 1, (const uint8_t*)"one", 3), LSM_OK);
    ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
    /* The disk is full for the next write. */
    faultenv_set_space(fx.fe, 0);
    ck_assert_int_eq(wal_writer_add(w, 2, (const uint8_t*)"two", 3), LSM_OK);
    ck_assert_int_eq(eSync == LSM_SYNC_OFF ? wal_writer_sync(w) : wal_writer_commit(w), LSM_FULL);
    /* Space is back: later commits work, the failed one is gone. */
    faultenv_set_space(fx.fe, UINT64_MAX);
    ck_assert_int_eq(wal_writer_add(w, 3, (const uint8_t*)"three", 5), LSM_OK);
    ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
    ck_assert_int_eq(wal_writer_close(w), LSM_OK);
    ck_assert_int_eq(replay(1, &bTorn), LSM_OK);
    ck_assert_int_eq(bTorn, 0);
    /* In OFF mode "one" was still buffered when the write failed: it was
    ** acknowledged, so it stays and is written later. */
    ck_assert_int_eq(fx.r.n, 2);
    ck_assert_uint_eq(fx.r.a[0].seq, 1);
    ck_assert_uint_eq(fx.r.a[1].seq, 3);
  }
}
END_TEST

START_TEST(wal_failed_sync_poisons_the_writer){
  wal_writer *w;
  ck_assert_int_eq(writer_open(LSM_SYNC_FULL, &w), LSM_OK);
  ck_assert_int_eq(wal_writer_add(w, 1, (const uint8_t*)"one", 3), LSM_OK);
  faultenv_fail(fx.fe, FAULTENV_SYNC, 1, LSM_IOERR, 0);
  ck_assert_int_eq(wal_writer_commit(w), LSM_IOERR);
  faultenv_fail_clear(fx.fe);
  ck_assert_int_eq(wal_writer_add(w, 2, (const uint8_t*)"two", 3), LSM_IOERR);
  ck_assert_int_eq(wal_writer_commit(w), LSM_IOERR);
  ck_assert_ptr_nonnull(strstr(error_message(), fx.zPath));
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);
}
END_TEST

START_TEST(wal_out_of_memory_fails_cleanly){
  uint64_t iNth;
  int bDone = 0;
  /* Fail the 1st, 2nd, ... allocation until a whole run succeeds; the
  ** sanitizer build checks nothing leaks on any of the paths. */
  for(iNth = 1; !bDone; iNth++){
    wal_writer *w = NULL;
    uint8_t *aBig = calloc(1, 200000);
    int rc;
    faultenv_fail(fx.fe, FAULTENV_ALLOC, iNth, 0, 0);
    rc = writer_open(LSM_SYNC_NORMAL, &w);
    if( rc == LSM_OK ) rc = wal_writer_add(w, 1, aBig, 200000);
    if( rc == LSM_OK ) rc = wal_writer_commit(w);
    if( w ) wal_writer_close(w);
    if( rc == LSM_OK ){
      rc = replay(1, NULL);
      ck_assert(rc == LSM_OK || rc == LSM_NOMEM);
    }
    ck_assert(rc == LSM_OK || rc == LSM_NOMEM);
    bDone = faultenv_nfailed(fx.fe) < iNth;
    free(aBig);
    ck_assert(iNth < 100);
  }
  faultenv_fail_clear(fx.fe);
}
END_TEST

/* ---- prepared batches and their commit records ---- */

START_TEST(wal_v3_example_replays){
  /* The version 3 worked example drawn in wal.c's header, byte for byte:
  ** "hi" prepared under id 1, then committed at seq 7. */
  static const uint8_t aLog[] = {
    0x89, 0x4c, 0x53, 0x4d, 0x57, 0x41, 0x4c, 0x0a,
    0x03, 0x00, 0x00, 0x00, 0x0d, 0x0c, 0x0b, 0x0a,
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x57, 0x26, 0x19, 0xc8, 0x24, 0xaa, 0xa9,
    0x02, 0x00, 0x00, 0x00,
    0x05,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x74, 0x0e, 0xc3, 0x7c,
    0xba, 0xf4, 0x30, 0x2b, 0xd1, 0x3d, 0xb6, 0x5e,
    0x68, 0x69,
    0x08, 0x00, 0x00, 0x00,
    0x07,
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x5b, 0xb4, 0xda, 0x3a,
    0x84, 0xd1, 0x13, 0x9c, 0x78, 0xcb, 0x90, 0x48,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  wal_header hdr;
  int bTorn, bEmpty;

  ck_assert_uint_eq(sizeof(aLog), 124);
  spill(aLog, sizeof(aLog));
  ck_assert_int_eq(wal_read_header(fx.pEnv, fx.zPath, &hdr, &bEmpty), LSM_OK);
  ck_assert_int_eq(bEmpty, 0);
  ck_assert_uint_eq(hdr.iNumber, 3);
  ck_assert_uint_eq(hdr.iFirstSeq, 7);
  ck_assert_int_eq(replay(0, &bTorn), LSM_OK);
  ck_assert_int_eq(fx.r.n, 1);
  ck_assert_uint_eq(fx.r.a[0].seq, 7);
  ck_assert_uint_eq(fx.r.a[0].n, 2);
  ck_assert(memcmp(fx.r.a[0].p, "hi", 2) == 0);
  /* Without its commit record, the prepared batch replays as nothing. */
  spill(aLog, sizeof(aLog) - 33);
  ck_assert_int_eq(replay(0, &bTorn), LSM_OK);
  ck_assert_int_eq(fx.r.n, 0);
}
END_TEST

START_TEST(wal_v4_example_replays){
  /* The version 4 worked example drawn in wal.c's header, byte for byte:
  ** "hi" at seq 7, then "yo" prepared under id 1 and committed at seq 8. */
  static const uint8_t aLog[] = {
    0x89, 0x4c, 0x53, 0x4d, 0x57, 0x41, 0x4c, 0x0a,
    0x04, 0x00, 0x00, 0x00, 0x0d, 0x0c, 0x0b, 0x0a,
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x45, 0x18, 0xfa, 0x41, 0xde, 0x16, 0xf2, 0x7e,
    0x02, 0x00, 0x00, 0x01,                           /* n 2, FULL        */
    0x00, 0x00, 0x00, 0x00,                           /* seq 7 + 0        */
    0x3b, 0x5c, 0xce, 0x40, 0x8a, 0x71, 0x0e, 0xca,
    0x68, 0x69,
    0x0a, 0x00, 0x00, 0x05,                           /* n 10, PREPARED_FULL */
    0x00, 0x00, 0x00, 0x00,
    0xe0, 0x69, 0x82, 0x89, 0x59, 0xfd, 0x22, 0x33,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   /* prepare id 1     */
    0x79, 0x6f,
    0x08, 0x00, 0x00, 0x07,                           /* n 8, COMMIT      */
    0x01, 0x00, 0x00, 0x00,                           /* seq 7 + 1        */
    0x9f, 0x0f, 0xb7, 0x97, 0xbd, 0x02, 0x94, 0xc0,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  wal_header hdr;
  int bTorn, bEmpty;

  ck_assert_uint_eq(sizeof(aLog), 132);
  spill(aLog, sizeof(aLog));
  ck_assert_int_eq(wal_read_header(fx.pEnv, fx.zPath, &hdr, &bEmpty), LSM_OK);
  ck_assert_int_eq(bEmpty, 0);
  ck_assert_uint_eq(hdr.iNumber, 3);
  ck_assert_uint_eq(hdr.iFirstSeq, 7);
  ck_assert_int_eq(replay(0, &bTorn), LSM_OK);
  ck_assert_int_eq(fx.r.n, 2);
  ck_assert_uint_eq(fx.r.a[0].seq, 7);
  ck_assert(fx.r.a[0].n == 2 && memcmp(fx.r.a[0].p, "hi", 2) == 0);
  ck_assert_uint_eq(fx.r.a[1].seq, 8);
  ck_assert(fx.r.a[1].n == 2 && memcmp(fx.r.a[1].p, "yo", 2) == 0);
}
END_TEST

/* Collects the prepared batches no commit named (id in seq). */
static int collect_unresolved(void *pCtx, uint64_t iId, const uint8_t *p, size_t n){
  recs *r = pCtx;
  return collect(&r[1], iId, p, n);
}
static int collect_first(void *pCtx, uint64_t seq, const uint8_t *p, size_t n){
  return collect(pCtx, seq, p, n);
}

/* A version 3 log as the version 3 writer wrote it (the file was made
** by the previous commit's wal.c; tests/fuzz/wal/ keeps it so that the
** fuzzer mutates it too) still replays, prepared batches and all. */
START_TEST(wal_v3_log_written_by_the_v3_writer_replays){
  uint8_t *a = NULL;
  size_t n = 0;
  wal_header hdr;
  recs ar[2];
  int bTorn, bEmpty;
  memset(ar, 0, sizeof(ar));
  ck_assert_int_eq(env_read_file(lsm_env_default(), "tests/fuzz/wal/v3-written.bin", &a, &n),
                   LSM_OK);
  ck_assert_uint_eq(coding_get32(a + 8), 3);
  spill(a, n);
  env_free(lsm_env_default(), a);
  ck_assert_int_eq(wal_read_header(fx.pEnv, fx.zPath, &hdr, &bEmpty), LSM_OK);
  ck_assert_uint_eq(hdr.iNumber, 5);
  ck_assert_uint_eq(hdr.iPrevLog, 4);
  ck_assert_uint_eq(hdr.iFirstSeq, 100);
  ck_assert_int_eq(wal_replay_with_unresolved(fx.pEnv, fx.zPath, 0, collect_first,
                                              collect_unresolved, ar, &bTorn), LSM_OK);
  ck_assert_int_eq(ar[0].n, 4);
  ck_assert(ar[0].a[0].seq == 100 && ar[0].a[0].n == 5 && memcmp(ar[0].a[0].p, "alpha", 5) == 0);
  ck_assert(ar[0].a[1].seq == 101 && ar[0].a[1].n == 0);
  ck_assert(ar[0].a[2].seq == 102 && ar[0].a[2].n == 4 && memcmp(ar[0].a[2].p, "beta", 4) == 0);
  ck_assert(ar[0].a[3].seq == 5000000000ull && ar[0].a[3].n == 5
            && memcmp(ar[0].a[3].p, "gamma", 5) == 0);
  ck_assert_int_eq(ar[1].n, 1);
  ck_assert(ar[1].a[0].seq == (5ull << 32) + 2 && ar[1].a[0].n == 5
            && memcmp(ar[1].a[0].p, "never", 5) == 0);
  recs_clear(&ar[0]);
  recs_clear(&ar[1]);
}
END_TEST

/* Version 4's record header is 16 bytes: a batch costs 16 bytes on top
** of its payload, a prepared batch 24 (its id), a commit record 24. */
START_TEST(wal_v4_record_header_is_16_bytes){
  wal_writer *w = NULL;
  wal_header hdr;
  uint64_t n0;
  memset(&hdr, 0, sizeof(hdr));
  hdr.iFirstSeq = 100;
  fx.pEnv->xUnlink(fx.pEnv, fx.zPath);
  ck_assert_int_eq(wal_writer_open(fx.pEnv, fx.zPath, LSM_SYNC_NORMAL, 1, &hdr, &w), LSM_OK);
  n0 = wal_writer_bytes(w);
  ck_assert_uint_eq(n0, FILE_HDR);
  ck_assert_int_eq(wal_writer_add(w, 100, (const uint8_t*)"eighteen bytes....", 18), LSM_OK);
  ck_assert_uint_eq(wal_writer_bytes(w) - n0, 16 + 18);
  n0 = wal_writer_bytes(w);
  ck_assert_int_eq(wal_writer_add_prepared(w, (7ull << 32) + 1, (const uint8_t*)"abc", 3), LSM_OK);
  ck_assert_uint_eq(wal_writer_bytes(w) - n0, 16 + 8 + 3);
  n0 = wal_writer_bytes(w);
  ck_assert_int_eq(wal_writer_add_commit(w, 101, (7ull << 32) + 1), LSM_OK);
  ck_assert_uint_eq(wal_writer_bytes(w) - n0, 16 + 8);
  ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);
  ck_assert_int_eq(replay(0, NULL), LSM_OK);
  ck_assert_int_eq(fx.r.n, 2);
  ck_assert(fx.r.a[0].seq == 100 && fx.r.a[0].n == 18);
  ck_assert(fx.r.a[1].seq == 101 && fx.r.a[1].n == 3 && memcmp(fx.r.a[1].p, "abc", 3) == 0);
}
END_TEST

/* A seq more than 2^32 - 1 past the seq base (or below it) never wraps
** the 4-byte offset: a SEQ_BASE record (24 bytes) moves the base first,
** and one dropped with an unacknowledged commit takes its base along. */
START_TEST(wal_seq_beyond_the_offset_limit_moves_the_base){
  static const uint64_t aSeq[] = {
    10, 10 + 0xffffffffull,       /* offsets 0 and 2^32 - 1: no base record */
    10 + 0x100000000ull,          /* base record                            */
    1ull << 62,                   /* base record                            */
    (1ull << 62) + 5,
  };
  wal_writer *w = NULL;
  wal_header hdr;
  uint64_t aBytes[5], n0;
  int i;
  memset(&hdr, 0, sizeof(hdr));
  hdr.iFirstSeq = 10;
  fx.pEnv->xUnlink(fx.pEnv, fx.zPath);
  ck_assert_int_eq(wal_writer_open(fx.pEnv, fx.zPath, LSM_SYNC_OFF, 1, &hdr, &w), LSM_OK);
  for(i = 0; i < 5; i++){
    n0 = wal_writer_bytes(w);
    ck_assert_int_eq(wal_writer_add(w, aSeq[i], (const uint8_t*)"v", 1), LSM_OK);
    ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
    aBytes[i] = wal_writer_bytes(w) - n0;
  }
  ck_assert_uint_eq(aBytes[0], 17);
  ck_assert_uint_eq(aBytes[1], 17);
  ck_assert_uint_eq(aBytes[2], 24 + 17);
  ck_assert_uint_eq(aBytes[3], 24 + 17);
  ck_assert_uint_eq(aBytes[4], 17);
  /* A record that moves the base but is never acknowledged: dropped with
  ** its base record, so the next record is framed against the old base. */
  ck_assert_int_eq(wal_writer_add(w, (1ull << 63), (const uint8_t*)"x", 1), LSM_OK);
  ck_assert_int_eq(wal_writer_write(w), LSM_OK);
  ck_assert_int_eq(wal_writer_add(w, (1ull << 62) + 6, (const uint8_t*)"w", 1), LSM_OK);
  ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);
  ck_assert_int_eq(replay(0, NULL), LSM_OK);
  ck_assert_int_eq(fx.r.n, 6);
  for(i = 0; i < 5; i++) ck_assert_uint_eq(fx.r.a[i].seq, aSeq[i]);
  ck_assert_uint_eq(fx.r.a[5].seq, (1ull << 62) + 6);
  ck_assert(fx.r.a[5].n == 1 && fx.r.a[5].p[0] == 'w');

  /* A first record below the header's iFirstSeq moves the base down. */
  hdr.iFirstSeq = 50;
  fx.pEnv->xUnlink(fx.pEnv, fx.zPath);
  ck_assert_int_eq(wal_writer_open(fx.pEnv, fx.zPath, LSM_SYNC_NORMAL, 1, &hdr, &w), LSM_OK);
  ck_assert_int_eq(wal_writer_add(w, 20, (const uint8_t*)"v", 1), LSM_OK);
  ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);
  ck_assert_int_eq(replay(0, NULL), LSM_OK);
  ck_assert_int_eq(fx.r.n, 1);
  ck_assert_uint_eq(fx.r.a[0].seq, 20);
}
END_TEST

/* A version 2 log knows no prepared records: type 5 there is a bad
** record (here a torn tail, since nothing valid follows). */
START_TEST(wal_prepared_record_in_a_version_2_log_is_a_bad_record){
  uint8_t a[256];
  size_t n = FILE_HDR;
  uint32_t salt = 0x01020304;
  int bTorn;
  wal_header hdr;
  uint8_t *q;
  memset(a, 0, sizeof(a));
  memcpy(a, "\x89LSMWAL\n", 8);
  q = coding_put32(a + 8, 2);
  coding_put32(q, salt);
  memset(&hdr, 0, sizeof(hdr));
  coding_put64(a + 56, checksum_compute(a, 56, CHECKSUM_SEED_WAL ^ salt));
  n += frame_v3(a + n, salt, 1, 1, "ok", 2);
  n += frame_v3(a + n, salt, 5, 1, "hi", 2);
  spill(a, n);
  ck_assert_int_eq(replay(1, &bTorn), LSM_OK);
  ck_assert_int_eq(bTorn, 1);
  ck_assert_int_eq(fx.r.n, 1);
  ck_assert_int_eq(replay(0, &bTorn), LSM_CORRUPT);
}
END_TEST

/* Prepared batches replay at their commit record's place and seq, in
** commit order; one never committed is left out; big ones are
** fragmented and reassembled like any batch. */
START_TEST(wal_prepared_batches_replay_only_where_committed){
  wal_writer *w = NULL;
  size_t nBig = 2500 * 1000;
  uint8_t *aBig = malloc(nBig);
  int bTorn;
  payload_of(test_seed(), 7, nBig, aBig);
  ck_assert_int_eq(writer_open(LSM_SYNC_NORMAL, &w), LSM_OK);
  ck_assert_int_eq(wal_writer_add_prepared(w, 1, (const uint8_t*)"first", 5), LSM_OK);
  ck_assert_int_eq(wal_writer_add_prepared(w, 2, (const uint8_t*)"never", 5), LSM_OK);
  ck_assert_int_eq(wal_writer_add(w, 10, (const uint8_t*)"plain", 5), LSM_OK);
  ck_assert_int_eq(wal_writer_add_prepared(w, 3, aBig, nBig), LSM_OK);
  ck_assert_int_eq(wal_writer_add_commit(w, 11, 3), LSM_OK);
  ck_assert_int_eq(wal_writer_add_commit(w, 12, 1), LSM_OK);
  ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  /* Ids only grow; a commit may not name an id never prepared. */
  ck_assert_int_eq(wal_writer_add_prepared(w, 3, (const uint8_t*)"x", 1), LSM_MISUSE);
  ck_assert_int_eq(wal_writer_add_commit(w, 13, 4), LSM_MISUSE);
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);

  ck_assert_int_eq(replay(0, &bTorn), LSM_OK);
  ck_assert_int_eq(fx.r.n, 3);
  ck_assert_uint_eq(fx.r.a[0].seq, 10);
  ck_assert(fx.r.a[0].n == 5 && memcmp(fx.r.a[0].p, "plain", 5) == 0);
  ck_assert_uint_eq(fx.r.a[1].seq, 11);
  ck_assert(fx.r.a[1].n == nBig && memcmp(fx.r.a[1].p, aBig, nBig) == 0);
  ck_assert_uint_eq(fx.r.a[2].seq, 12);
  ck_assert(fx.r.a[2].n == 5 && memcmp(fx.r.a[2].p, "first", 5) == 0);
  free(aBig);
}
END_TEST

/* A crash in the middle of appending a commit record: the record is a
** torn tail, and its prepared batch counts for nothing. */
START_TEST(wal_torn_commit_record_leaves_its_prepared_batch_out){
  wal_writer *w = NULL;
  uint64_t nBefore, nAfter, iCut;
  size_t n;
  uint8_t *a;
  int bTorn;
  ck_assert_int_eq(writer_open(LSM_SYNC_OFF, &w), LSM_OK);
  ck_assert_int_eq(wal_writer_add(w, 1, (const uint8_t*)"one", 3), LSM_OK);
  ck_assert_int_eq(wal_writer_add_prepared(w, 1, (const uint8_t*)"two", 3), LSM_OK);
  ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  nBefore = wal_writer_bytes(w);
  ck_assert_int_eq(wal_writer_add_commit(w, 2, 1), LSM_OK);
  ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  nAfter = wal_writer_bytes(w);
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);
  a = slurp(&n);
  ck_assert_uint_eq(n, nAfter);
  for(iCut = nBefore; iCut <= nAfter; iCut++){
    spill(a, (size_t)iCut);
    ck_assert_int_eq(replay(1, &bTorn), LSM_OK);
    ck_assert_int_eq(bTorn, iCut > nBefore && iCut < nAfter);
    ck_assert_int_eq(fx.r.n, iCut == nAfter ? 2 : 1);
    ck_assert_uint_eq(fx.r.a[0].seq, 1);
  }
  free(a);
}
END_TEST

/* A commit record must name a prepared batch earlier in the same log that
** no commit named before. */
START_TEST(wal_commit_of_a_batch_the_log_does_not_hold_is_corruption){
  wal_writer *w = NULL;
  int bTorn;
  /* Id 2 was never prepared in this log. */
  ck_assert_int_eq(writer_open(LSM_SYNC_NORMAL, &w), LSM_OK);
  ck_assert_int_eq(wal_writer_add_prepared(w, 1, (const uint8_t*)"a", 1), LSM_OK);
  ck_assert_int_eq(wal_writer_add_prepared(w, 3, (const uint8_t*)"b", 1), LSM_OK);
  ck_assert_int_eq(wal_writer_add_commit(w, 1, 2), LSM_OK);
  ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);
  ck_assert_int_eq(replay(1, &bTorn), LSM_CORRUPT);
  ck_assert_ptr_nonnull(strstr(error_message(), "names prepared batch 2"));
  /* Id 1 committed twice. */
  ck_assert_int_eq(writer_open(LSM_SYNC_NORMAL, &w), LSM_OK);
  ck_assert_int_eq(wal_writer_add_prepared(w, 1, (const uint8_t*)"a", 1), LSM_OK);
  ck_assert_int_eq(wal_writer_add_commit(w, 1, 1), LSM_OK);
  ck_assert_int_eq(wal_writer_add_commit(w, 2, 1), LSM_OK);
  ck_assert_int_eq(wal_writer_commit(w), LSM_OK);
  ck_assert_int_eq(wal_writer_close(w), LSM_OK);
  ck_assert_int_eq(replay(1, &bTorn), LSM_CORRUPT);
  ck_assert_ptr_nonnull(strstr(error_message(), "committed before"));
}
END_TEST

static Suite *wal_suite(void){
  Suite *s = suite_create("wal");
  TCase *tcDisk = tcase_create("disk");
  TCase *tcMemory = tcase_create("memory");
  TCase *tcFault = tcase_create("faultenv");

  tcase_add_checked_fixture(tcDisk, setup_disk, teardown);
  tcase_set_timeout(tcDisk, 60);
  tcase_add_test(tcDisk, wal_round_trip_at_every_sync_mode);
  tcase_add_test(tcDisk, wal_empty_log_replays_nothing);
  tcase_add_test(tcDisk, wal_header_example_replays);
  tcase_add_test(tcDisk, wal_replay_stops_at_callback_error);
  tcase_add_test(tcDisk, wal_replay_with_an_env_that_cannot_map_is_refused);
  tcase_add_test(tcDisk, wal_v3_example_replays);
  tcase_add_test(tcDisk, wal_v4_example_replays);
  tcase_add_test(tcDisk, wal_v3_log_written_by_the_v3_writer_replays);
  tcase_add_test(tcDisk, wal_v4_record_header_is_16_bytes);
  tcase_add_test(tcDisk, wal_seq_beyond_the_offset_limit_moves_the_base);
  tcase_add_test(tcDisk, wal_prepared_record_in_a_version_2_log_is_a_bad_record);
  tcase_add_test(tcDisk, wal_prepared_batches_replay_only_where_committed);
  tcase_add_test(tcDisk, wal_torn_commit_record_leaves_its_prepared_batch_out);
  tcase_add_test(tcDisk, wal_commit_of_a_batch_the_log_does_not_hold_is_corruption);
  tcase_add_test(tcDisk, wal_sync_full_log_is_written_into_zeros_cut_off_at_close);
  tcase_add_test(tcDisk, wal_sync_full_log_of_a_killed_process_replays_every_commit);
  tcase_add_test(tcDisk, wal_sync_normal_log_of_a_killed_process_replays_every_commit);
  tcase_add_test(tcDisk, wal_damage_after_the_last_sync_of_a_sync_normal_log_ends_it);
  suite_add_tcase(s, tcDisk);

  /* Tests that rewrite the log many times. */
  tcase_add_checked_fixture(tcMemory, setup_memory, teardown);
  tcase_set_timeout(tcMemory, 60);
  tcase_add_test(tcMemory, wal_batch_over_one_mib_is_fragmented_and_reassembled);
  tcase_add_test(tcMemory, wal_truncated_tail_is_ignored);
  tcase_add_test(tcMemory, wal_zeroed_tail_is_ignored);
  tcase_add_test(tcMemory, wal_record_torn_inside_preallocated_zeros_is_a_torn_tail);
  tcase_add_test(tcMemory, wal_zeros_before_a_valid_record_are_corruption);
  tcase_add_test(tcMemory, wal_sync_full_writes_end_in_a_group_end_record);
  tcase_add_test(tcMemory, wal_last_write_with_sectors_missing_is_a_torn_tail);
  tcase_add_test(tcMemory, wal_garbage_tail_is_ignored);
  tcase_add_test(tcMemory, wal_bad_checksum_mid_log_is_corruption);
  tcase_add_test(tcMemory, wal_bad_record_in_older_log_is_corruption);
  tcase_add_test(tcMemory, wal_records_out_of_order_are_corruption);
  suite_add_tcase(s, tcMemory);

  /* Tests that count or fail the env's calls. */
  tcase_add_checked_fixture(tcFault, setup_faultenv, teardown);
  tcase_set_timeout(tcFault, 60);
  tcase_add_test(tcFault, wal_huge_length_in_tail_does_not_allocate);
  tcase_add_test(tcFault, wal_sync_full_calls_sync_per_commit);
  tcase_add_test(tcFault, wal_sync_off_writes_once_the_buffer_passes_64k);
  tcase_add_test(tcFault, wal_group_commit_shares_one_write);
  tcase_add_test(tcFault, wal_failed_write_drops_the_commit_and_the_log_works_again);
  tcase_add_test(tcFault, wal_failed_sync_poisons_the_writer);
  tcase_add_test(tcFault, wal_finishing_a_sync_normal_log_syncs_it);
  tcase_add_test(tcFault, wal_out_of_memory_fails_cleanly);
  suite_add_tcase(s, tcFault);
  return s;
}

TEST_MAIN(wal_suite)
