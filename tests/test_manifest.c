/*
** test_manifest.c — the manifest round-trips; every damaged, truncated or
** inconsistent manifest is LSM_CORRUPT naming it; a crash at any point of
** a replacement leaves the old or the new manifest (faultenv power cuts).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "coding.h"
#include "env.h"
#include "error.h"
#include "faultenv.h"
#include "ikey.h"
#include "manifest.h"
#include "testutil.h"

#define MAN_HEADER 52
#define MAN_ENTRY  52
/* manifest.c's header: the slice example's checksum */
#define SLICE_EXAMPLE_SUM_BYTES 0xff, 0x36, 0xaf, 0x28, 0xc7, 0x6f, 0xd1, 0x0c

/* ---- helpers ---- */

/* An internal key user+trailer, env-allocated (manifest_state owns keys). */
static uint8_t *ikey_new(lsm_env *pEnv, const char *zUser, size_t nUser, uint64_t seq, size_t *pn){
  uint8_t *p = env_malloc(pEnv, nUser + IKEY_TRAILER);
  ikey_build(p, zUser, nUser, seq, IKEY_VALUE);
  *pn = nUser + IKEY_TRAILER;
  return p;
}

/* The example drawn in manifest.c's header. */
static void example_state(lsm_env *pEnv, manifest_state *s){
  memset(s, 0, sizeof(*s));
  s->iNextFile = 8;
  s->iLastSeq = 100;
  s->iLogNumber = 7;
  s->eCompaction = LSM_COMPACTION_LEVELED;
  s->nFile = 1;
  s->aFile = env_malloc(pEnv, sizeof(manifest_file));
  memset(s->aFile, 0, sizeof(manifest_file));
  s->aFile[0].iLevel = 0;
  s->aFile[0].iNumber = 5;
  s->aFile[0].nFileBytes = 4096;
  s->aFile[0].nEntries = 10;
  s->aFile[0].nTombstones = 1;
  s->aFile[0].nRawBytes = 150;
  s->aFile[0].pSmallest = ikey_new(pEnv, "a", 1, 1, &s->aFile[0].nSmallest);
  s->aFile[0].pLargest = ikey_new(pEnv, "b", 1, 10, &s->aFile[0].nLargest);
}

/* A random valid state with nFile files. */
static void random_state(lsm_env *pEnv, test_rng *rng, int nFile, manifest_state *s){
  int i;
  memset(s, 0, sizeof(*s));
  s->iNextFile = 1000 + rng_below(rng, 1000000);
  s->iLastSeq = rng_below(rng, IKEY_MAX_SEQ);
  s->iLogNumber = rng_below(rng, s->iNextFile);
  s->eCompaction = (int)rng_below(rng, 2);
  s->nFile = nFile;
  s->aFile = env_malloc(pEnv, sizeof(manifest_file) * (size_t)(nFile ? nFile : 1));
  for(i = 0; i < nFile; i++){
    manifest_file *f = &s->aFile[i];
    char zA[64], zB[64];
    size_t nA = 1 + (size_t)rng_below(rng, 40), nB, j;
    for(j = 0; j < nA; j++) zA[j] = (char)('a' + rng_below(rng, 26));
    memcpy(zB, zA, nA);
    nB = nA;
    zB[nB++] = 'z';                              /* largest > smallest */
    memset(f, 0, sizeof(*f));
    f->iLevel = (int)rng_below(rng, LSM_MAX_LEVELS);
    f->iNumber = (uint64_t)i * 3 + 1;            /* unique, below iNextFile */
    f->nFileBytes = rng_next(rng);
    f->nEntries = rng_below(rng, 1000000) + 1;
    f->nTombstones = rng_below(rng, f->nEntries + 1);
    f->nRawBytes = rng_next(rng);
    f->pSmallest = ikey_new(pEnv, zA, nA, rng_below(rng, 1000), &f->nSmallest);
    f->pLargest = ikey_new(pEnv, zB, nB, rng_below(rng, 1000), &f->nLargest);
  }
}

static void assert_same_state(const manifest_state *a, const manifest_state *b){
  int i;
  ck_assert_uint_eq(a->iNextFile, b->iNextFile);
  ck_assert_uint_eq(a->iLastSeq, b->iLastSeq);
  ck_assert_uint_eq(a->iLogNumber, b->iLogNumber);
  ck_assert_int_eq(a->eCompaction, b->eCompaction);
  ck_assert_int_eq(a->nFile, b->nFile);
  for(i = 0; i < a->nFile; i++){
    const manifest_file *x = &a->aFile[i], *y = &b->aFile[i];
    ck_assert_int_eq(x->iLevel, y->iLevel);
    ck_assert_uint_eq(x->iNumber, y->iNumber);
    ck_assert_uint_eq(x->nFileBytes, y->nFileBytes);
    ck_assert_uint_eq(x->nEntries, y->nEntries);
    ck_assert_uint_eq(x->nTombstones, y->nTombstones);
    ck_assert_uint_eq(x->nRawBytes, y->nRawBytes);
    ck_assert_uint_eq(x->nSmallest, y->nSmallest);
    ck_assert_uint_eq(x->nLargest, y->nLargest);
    ck_assert(memcmp(x->pSmallest, y->pSmallest, x->nSmallest) == 0);
    ck_assert(memcmp(x->pLargest, y->pLargest, x->nLargest) == 0);
  }
  ck_assert_int_eq(a->nSliceSet, b->nSliceSet);
  for(i = 0; i < a->nSliceSet; i++) ck_assert_uint_eq(a->aSliceSet[i], b->aSliceSet[i]);
  ck_assert_int_eq(a->bSliceReached, b->bSliceReached);
  ck_assert_uint_eq(a->nSliceReached, b->nSliceReached);
  if( a->nSliceReached ) ck_assert(memcmp(a->pSliceReached, b->pSliceReached, a->nSliceReached) == 0);
}

/* The example mid-slicing, as manifest.c's header draws it: its level-0
** table is the set, and the keys up to "a" are merged. */
static void example_slice_state(lsm_env *pEnv, manifest_state *s){
  example_state(pEnv, s);
  s->nSliceSet = 1;
  s->aSliceSet = env_malloc(pEnv, sizeof(uint64_t));
  s->aSliceSet[0] = 5;
  s->bSliceReached = 1;
  s->pSliceReached = env_malloc(pEnv, 1);
  s->pSliceReached[0] = 'a';
  s->nSliceReached = 1;
}

static char *path_in(const char *zDir, const char *zName){
  char *z = malloc(strlen(zDir) + strlen(zName) + 2);
  sprintf(z, "%s/%s", zDir, zName);
  return z;
}

/* The encoded bytes of s (written to zDir, read back).  malloc'd. */
static uint8_t *encode(lsm_env *pEnv, const char *zDir, const manifest_state *s, size_t *pn){
  char *zPath = path_in(zDir, "MANIFEST");
  uint8_t *a = NULL, *aCopy;
  ck_assert_int_eq(manifest_write(pEnv, zDir, s), LSM_OK);
  ck_assert_int_eq(env_read_file(pEnv, zPath, &a, pn), LSM_OK);
  aCopy = malloc(*pn + 1);
  memcpy(aCopy, a, *pn);
  env_free(pEnv, a);
  free(zPath);
  return aCopy;
}

/* Recompute the trailing checksum after a deliberate edit. */
static void reseal(uint8_t *a, size_t n){
  coding_put64(a + n - 8, checksum_compute(a, n - 8, CHECKSUM_SEED_MANIFEST));
}

/* ---- tests ---- */

START_TEST(manifest_round_trip){
  lsm_env *pEnv = lsm_env_default();
  char *zDir = test_tmpdir("manifest");
  test_rng rng;
  int iTrial;
  rng_init(&rng, test_seed());
  for(iTrial = 0; iTrial < test_scale(40); iTrial++){
    manifest_state s, t;
    random_state(pEnv, &rng, iTrial == 0 ? 0 : (int)rng_below(&rng, 60), &s);
    ck_assert_int_eq(manifest_write(pEnv, zDir, &s), LSM_OK);
    SEED_ASSERT(manifest_read(pEnv, zDir, &t) == LSM_OK, "trial %d: %s",
                (unsigned long long)test_seed(), iTrial, error_message());
    assert_same_state(&s, &t);
    manifest_state_clear(pEnv, &s);
    manifest_state_clear(pEnv, &t);
    ck_assert_int_eq(t.nFile, 0);
    ck_assert_ptr_null(t.aFile);
  }
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

START_TEST(manifest_header_example_is_exact){
  /* The worked example drawn in manifest.c's header, byte for byte. */
  static const uint8_t aWant[130] = {
    0x89, 0x4c, 0x53, 0x4d, 0x4d, 0x41, 0x4e, 0x0a,
    0x01, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00,
    0x82, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
    0x09, 0x00, 0x00, 0x00,
    0x09, 0x00, 0x00, 0x00,
    0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x96, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x61, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x62, 0x01, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x8c, 0x9f, 0x0a, 0xd9, 0x65, 0x39, 0xb0, 0x68,
  };
  lsm_env *pEnv = lsm_env_default();
  char *zDir = test_tmpdir("manifest");
  manifest_state s;
  size_t n, i;
  uint8_t *a;
  example_state(pEnv, &s);
  a = encode(pEnv, zDir, &s, &n);
  ck_assert_uint_eq(n, sizeof(aWant));
  for(i = 0; i < n; i++){
    ck_assert_msg(a[i] == aWant[i], "byte %zu is %02x, the header says %02x", i, a[i], aWant[i]);
  }
  free(a);
  manifest_state_clear(pEnv, &s);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

/*
** A level-0 compaction in slices in progress is recorded in a version-2
** manifest (the slice section after the entries: manifest.c's header draws
** it, and this checks every byte); a manifest without one stays version
** 1.  Each broken field of the section is corruption, and a version this
** build does not know is refused with a message saying a newer build
** wrote it.
*/
START_TEST(manifest_slice_section_is_exact_and_checked){
  static const uint8_t aSection[21] = {
    0x01, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00,
    0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x61,
  };
  static const uint8_t aSum[8] = { SLICE_EXAMPLE_SUM_BYTES };
  lsm_env *pEnv = lsm_env_memory();
  manifest_state s, t;
  size_t n, i;
  uint8_t *a0, *a;
  int iCase;
  example_slice_state(pEnv, &s);
  a0 = encode(pEnv, "mem", &s, &n);
  ck_assert_uint_eq(n, 151);
  ck_assert_uint_eq(coding_get32(a0 + 8), 2);
  ck_assert_uint_eq(coding_get64(a0 + 16), 151);
  for(i = 0; i < sizeof(aSection); i++){
    ck_assert_msg(a0[122 + i] == aSection[i], "section byte %zu is %02x, the header says %02x",
                  i, a0[122 + i], aSection[i]);
  }
  for(i = 0; i < 8; i++){
    ck_assert_msg(a0[143 + i] == aSum[i], "checksum byte %zu is %02x, the header says %02x",
                  i, a0[143 + i], aSum[i]);
  }
  ck_assert_int_eq(manifest_decode(pEnv, a0, n, &t), LSM_OK);
  assert_same_state(&s, &t);
  manifest_state_clear(pEnv, &t);

  a = malloc(n + 64);
  for(iCase = 0; iCase < 10; iCase++){
    size_t nCase = n;
    const char *zWhat = "", *zMsg = "";
    memcpy(a, a0, n);
    switch( iCase ){
      case 0: zWhat = "no set"; zMsg = "bad slice section (0 tables";
        coding_put32(a + 122, 0); break;
      case 1: zWhat = "reached is 2"; zMsg = "bad slice section (1 tables, reached 2";
        coding_put32(a + 126, 2); break;
      case 2: zWhat = "a key, not reached"; zMsg = "bad slice section (1 tables, reached 0, key 1";
        coding_put32(a + 126, 0); break;
      case 3: zWhat = "key past the end"; zMsg = "bad slice section (1 tables, reached 1, key 2";
        coding_put32(a + 130, 2); break;
      case 4: zWhat = "set file unknown"; zMsg = "slice table 6 is not a level-0 file";
        coding_put64(a + 134, 6); break;
      case 5: zWhat = "set file at level 1"; zMsg = "slice table 5 is not a level-0 file";
        coding_put32(a + MAN_HEADER, 1); break;
      case 6: zWhat = "version 1 with a section"; zMsg = "21 bytes after the last file entry";
        coding_put32(a + 8, 1); break;
      case 7: zWhat = "version 3"; coding_put32(a + 8, 3); zMsg = "newer build"; break;
      case 8: zWhat = "section cut short"; zMsg = "bad slice section (1 tables, reached 1, key 1";
        coding_put64(a + 16, 142); a[141] = a[142]; nCase = 142; break;
      case 9: zWhat = "bytes after the section"; zMsg = "3 bytes after the slice section";
        memset(a + 143, 0x7f, 3); coding_put64(a + 16, n + 3); nCase = n + 3; break;
    }
    reseal(a, nCase);
    error_clear();
    ck_assert_msg(manifest_decode(pEnv, a, nCase, &t) == LSM_CORRUPT, "%s accepted", zWhat);
    ck_assert_msg(strstr(error_message(), "MANIFEST") != NULL, "%s: message %s", zWhat,
                  error_message());
    ck_assert_msg(strstr(error_message(), zMsg) != NULL, "%s: message %s, expected %s", zWhat,
                  error_message(), zMsg);
  }
  free(a);
  free(a0);
  /* Without a slicing the manifest is version 1, as before. */
  env_free(pEnv, s.aSliceSet);
  env_free(pEnv, s.pSliceReached);
  s.aSliceSet = NULL;
  s.pSliceReached = NULL;
  s.nSliceSet = s.bSliceReached = 0;
  s.nSliceReached = 0;
  a0 = encode(pEnv, "mem", &s, &n);
  ck_assert_uint_eq(n, 130);
  ck_assert_uint_eq(coding_get32(a0 + 8), 1);
  free(a0);
  manifest_state_clear(pEnv, &s);
  lsm_env_memory_free(pEnv);
}
END_TEST

/*
** The slice section must fit the entries, or later slices drop keys
** (lsm/db_slice.c: the planner skips level-1 tables at or below the
** reached key R, and the merge seeks past it): the set is the oldest
** (lowest-numbered) tables of level 0, listed once, and no level-1 table
** under the set's key range has smallest <= R < largest.  Each broken
** state below is written (manifest_write checks only that the set is in
** level 0), then refused on decode with a message naming the rule; a
** level-1 table outside the set's range may straddle R (it is never an
** input), and R at a level-1 table's end is a valid cut.
*/
static void slice_tables_state(lsm_env *pEnv, manifest_state *s){
  static const struct { int iLevel; uint64_t iNumber; const char *zLo, *zHi; } aF[] = {
    { 0, 3, "c", "m" },  { 0, 4, "b", "n" },  { 0, 7, "a", "z" },
    { 1, 2, "0", "a5" }, { 1, 5, "b", "f" },  { 1, 6, "g", "k" },
  };
  int i;
  memset(s, 0, sizeof(*s));
  s->iNextFile = 10;
  s->iLastSeq = 100;
  s->iLogNumber = 9;
  s->eCompaction = LSM_COMPACTION_LEVELED;
  s->nFile = (int)(sizeof(aF) / sizeof(aF[0]));
  s->aFile = env_malloc(pEnv, sizeof(manifest_file) * (size_t)s->nFile);
  memset(s->aFile, 0, sizeof(manifest_file) * (size_t)s->nFile);
  for(i = 0; i < s->nFile; i++){
    manifest_file *f = &s->aFile[i];
    f->iLevel = aF[i].iLevel;
    f->iNumber = aF[i].iNumber;
    f->nFileBytes = 4096;
    f->nEntries = 10;
    f->pSmallest = ikey_new(pEnv, aF[i].zLo, strlen(aF[i].zLo), 1, &f->nSmallest);
    f->pLargest = ikey_new(pEnv, aF[i].zHi, strlen(aF[i].zHi), 2, &f->nLargest);
  }
  s->nSliceSet = 2;
  s->aSliceSet = env_malloc(pEnv, sizeof(uint64_t) * 2);
  s->aSliceSet[0] = 3;
  s->aSliceSet[1] = 4;
}

static void slice_set_reached(lsm_env *pEnv, manifest_state *s, const char *zReached){
  env_free(pEnv, s->pSliceReached);
  s->pSliceReached = NULL;
  s->nSliceReached = 0;
  s->bSliceReached = zReached != NULL;
  if( zReached ){
    s->nSliceReached = strlen(zReached);
    s->pSliceReached = env_malloc(pEnv, s->nSliceReached ? s->nSliceReached : 1);
    memcpy(s->pSliceReached, zReached, s->nSliceReached);
  }
}

START_TEST(manifest_slice_state_must_fit_the_tables){
  lsm_env *pEnv = lsm_env_memory();
  int iCase;
  for(iCase = 0; iCase < 8; iCase++){
    manifest_state s, t;
    const char *zWhat = "", *zMsg = NULL;      /* NULL: accepted */
    uint8_t *a;
    size_t n;
    int rc;
    slice_tables_state(pEnv, &s);
    switch( iCase ){
      case 0: zWhat = "no key reached"; break;
      case 1: zWhat = "R at a level-1 table's end"; slice_set_reached(pEnv, &s, "f"); break;
      case 2: zWhat = "R between level-1 tables"; slice_set_reached(pEnv, &s, "ff"); break;
      case 3: zWhat = "R in a level-1 table outside the set's range";
        slice_set_reached(pEnv, &s, "a"); break;
      case 4: zWhat = "R inside a level-1 table under the set";
        zMsg = "reached key (1 bytes) lies inside level-1 table 6";
        slice_set_reached(pEnv, &s, "h"); break;
      case 5: zWhat = "R at a level-1 table's start";
        zMsg = "reached key (1 bytes) lies inside level-1 table 6";
        slice_set_reached(pEnv, &s, "g"); break;
      case 6: zWhat = "the set skips an older level-0 table"; s.aSliceSet[1] = 7;
        zMsg = "level-0 table 4 is not in the slice set but older than its table 7"; break;
      case 7: zWhat = "a set table listed twice"; s.aSliceSet[1] = 3;
        zMsg = "slice table 3 is listed twice"; break;
    }
    a = encode(pEnv, "mem", &s, &n);
    error_clear();
    rc = manifest_decode(pEnv, a, n, &t);
    if( zMsg == NULL ){
      ck_assert_msg(rc == LSM_OK, "%s: refused: %s", zWhat, error_message());
      assert_same_state(&s, &t);
      manifest_state_clear(pEnv, &t);
    }else{
      ck_assert_msg(rc == LSM_CORRUPT, "%s accepted", zWhat);
      ck_assert_msg(strstr(error_message(), "MANIFEST") && strstr(error_message(), zMsg),
                    "%s: message %s, expected %s", zWhat, error_message(), zMsg);
      ck_assert_ptr_null(t.aFile);
    }
    free(a);
    manifest_state_clear(pEnv, &s);
  }
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(manifest_missing_is_notfound){
  lsm_env *pEnv = lsm_env_default();
  char *zDir = test_tmpdir("manifest");
  manifest_state s;
  ck_assert_int_eq(manifest_read(pEnv, zDir, &s), LSM_NOTFOUND);
  ck_assert_int_eq(s.nFile, 0);
  ck_assert_ptr_null(s.aFile);
  test_rmtree(zDir);
  free(zDir);
}
END_TEST

START_TEST(manifest_flipped_byte_is_corruption){
  lsm_env *pEnv = lsm_env_memory();
  const char *zDir = "mem";
  manifest_state s, t;
  test_rng rng;
  size_t n, i;
  uint8_t *a;
  int iMask;
  static const uint8_t aMask[] = { 0x01, 0x80, 0xff };

  rng_init(&rng, test_seed());
  random_state(pEnv, &rng, 3, &s);
  a = encode(pEnv, zDir, &s, &n);
  /* Every byte offset, three ways; through decode (no I/O) ... */
  for(i = 0; i < n; i++){
    for(iMask = 0; iMask < 3; iMask++){
      a[i] ^= aMask[iMask];
      error_clear();
      SEED_ASSERT(manifest_decode(pEnv, a, n, &t) == LSM_CORRUPT, "byte %zu ^ %02x accepted",
                  (unsigned long long)test_seed(), i, aMask[iMask]);
      ck_assert_ptr_nonnull(strstr(error_message(), "MANIFEST"));
      ck_assert_ptr_null(t.aFile);
      a[i] ^= aMask[iMask];
    }
  }
  /* ... and one through manifest_read, whose message names the path. */
  {
    lsm_file *pF;
    a[n / 2] ^= 1;
    ck_assert_int_eq(pEnv->xOpen(pEnv, "mem/MANIFEST", LSM_OPEN_WRITE, &pF), LSM_OK);
    ck_assert_int_eq(pEnv->xAppend(pF, a, n), LSM_OK);
    pEnv->xClose(pF);
    ck_assert_int_eq(manifest_read(pEnv, zDir, &t), LSM_CORRUPT);
    ck_assert_ptr_nonnull(strstr(error_message(), "mem/MANIFEST"));
  }
  free(a);
  manifest_state_clear(pEnv, &s);
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(manifest_truncated_is_corruption){
  lsm_env *pEnv = lsm_env_memory();
  manifest_state s, t;
  test_rng rng;
  size_t n, i;
  uint8_t *a;
  rng_init(&rng, test_seed());
  random_state(pEnv, &rng, 4, &s);
  a = encode(pEnv, "mem", &s, &n);
  for(i = 0; i < n; i++){
    SEED_ASSERT(manifest_decode(pEnv, a, i, &t) == LSM_CORRUPT, "%zu of %zu bytes accepted",
                (unsigned long long)test_seed(), i, n);
  }
  /* Trailing bytes are not accepted either. */
  a = realloc(a, n + 8);
  memset(a + n, 0, 8);
  ck_assert_int_eq(manifest_decode(pEnv, a, n + 8, &t), LSM_CORRUPT);
  ck_assert_int_eq(manifest_decode(pEnv, a, n, &t), LSM_OK);
  manifest_state_clear(pEnv, &t);
  free(a);
  manifest_state_clear(pEnv, &s);
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(manifest_inconsistent_fields_are_corruption){
  /* Each case edits a valid encoding and recomputes its checksum, so only
  ** the field checks can catch it. */
  lsm_env *pEnv = lsm_env_memory();
  manifest_state s, t;
  size_t n, nEntry1;
  uint8_t *a0, *a;
  int iCase;
  example_state(pEnv, &s);
  /* Two files: the example's, and a copy numbered 6 at level 1. */
  s.aFile = env_realloc(pEnv, s.aFile, 2 * sizeof(manifest_file));
  s.nFile = 2;
  s.aFile[1] = s.aFile[0];
  s.aFile[1].iNumber = 6;
  s.aFile[1].iLevel = 1;
  s.aFile[1].pSmallest = ikey_new(pEnv, "a", 1, 1, &s.aFile[1].nSmallest);
  s.aFile[1].pLargest = ikey_new(pEnv, "b", 1, 10, &s.aFile[1].nLargest);
  a0 = encode(pEnv, "mem", &s, &n);
  nEntry1 = MAN_HEADER + MAN_ENTRY + 18;       /* offset of the second entry */
  a = malloc(n + 64);
  for(iCase = 0; iCase < 12; iCase++){
    size_t nCase = n;
    const char *zWhat = "";
    memcpy(a, a0, n);
    switch( iCase ){
      case 0:  zWhat = "level past the last"; coding_put32(a + MAN_HEADER, LSM_MAX_LEVELS); break;
      case 1:  zWhat = "number >= next";      coding_put64(a + nEntry1 + 12, 8); break;
      case 2:  zWhat = "duplicate number";    coding_put64(a + nEntry1 + 12, 5); break;
      case 3:  zWhat = "tombstones > entries"; coding_put64(a + MAN_HEADER + 36, 11); break;
      case 4:  zWhat = "smallest > largest";  a[MAN_HEADER + MAN_ENTRY] = 'c'; break;
      case 5:  zWhat = "key shorter than a trailer"; coding_put32(a + MAN_HEADER + 4, 7); break;
      case 6:  zWhat = "key length past the end"; coding_put32(a + nEntry1 + 8, 1000); break;
      case 7:  zWhat = "unknown compaction";  coding_put32(a + 48, 2); break;
      case 8:  zWhat = "too many files";      coding_put32(a + 12, 3); break;
      case 9:  zWhat = "huge file count";     coding_put32(a + 12, 0xffffffffu); break;
      case 10: zWhat = "fewer files than entries"; coding_put32(a + 12, 1); break;
      case 11: zWhat = "seq over 2^56";       coding_put64(a + 32, IKEY_MAX_SEQ + 1); break;
    }
    reseal(a, nCase);
    error_clear();
    ck_assert_msg(manifest_decode(pEnv, a, nCase, &t) == LSM_CORRUPT, "%s accepted", zWhat);
    ck_assert_msg(strstr(error_message(), "MANIFEST") != NULL, "%s: message %s", zWhat, error_message());
  }
  /* The unedited, resealed copy still decodes. */
  memcpy(a, a0, n);
  reseal(a, n);
  ck_assert_int_eq(manifest_decode(pEnv, a, n, &t), LSM_OK);
  assert_same_state(&s, &t);
  manifest_state_clear(pEnv, &t);
  free(a);
  free(a0);
  manifest_state_clear(pEnv, &s);
  lsm_env_memory_free(pEnv);
}
END_TEST

START_TEST(manifest_write_refuses_an_invalid_state){
  lsm_env *pEnv = lsm_env_memory();
  manifest_state s, t;
  example_state(pEnv, &s);
  s.aFile[0].iNumber = 8;                       /* not below iNextFile */
  ck_assert_int_eq(manifest_write(pEnv, "mem", &s), LSM_MISUSE);
  ck_assert_int_eq(manifest_read(pEnv, "mem", &t), LSM_NOTFOUND);
  manifest_state_clear(pEnv, &s);
  lsm_env_memory_free(pEnv);
}
END_TEST

/*
** Cut the power after the k-th I/O call of a replacement, for every k:
** the k-th call and every later one fail (the machine is off), then
** faultenv_crash() leaves the disk as a power cut would.  The manifest
** read back must be the old one or the new one, never missing or
** corrupt; once the replacement returned LSM_OK it must be the new one.
*/
START_TEST(manifest_crash_during_replace_keeps_old_or_new){
  faultenv *fe = faultenv_new(NULL);
  lsm_env *pEnv = faultenv_env(fe);
  char *zDir = test_tmpdir("manifest");
  manifest_state sOld, sNew, t;
  test_rng rng;
  uint64_t k;
  int bFinished = 0, nOld = 0, nNew = 0;

  rng_init(&rng, test_seed());
  random_state(pEnv, &rng, 5, &sOld);
  random_state(pEnv, &rng, 9, &sNew);
  ck_assert_int_eq(manifest_write(pEnv, zDir, &sOld), LSM_OK);
  faultenv_crash(fe);                         /* the old manifest is durable */
  ck_assert_int_eq(manifest_read(pEnv, zDir, &t), LSM_OK);
  assert_same_state(&sOld, &t);
  manifest_state_clear(pEnv, &t);

  for(k = 1; !bFinished; k++){
    uint64_t nBefore = faultenv_nfailed(fe);
    int rc;
    faultenv_fail(fe, FAULTENV_ANY_IO, k, LSM_IOERR, 1);
    rc = manifest_write(pEnv, zDir, &sNew);
    bFinished = faultenv_nfailed(fe) == nBefore;     /* the cut came too late */
    faultenv_fail_clear(fe);
    faultenv_crash(fe);
    SEED_ASSERT(manifest_read(pEnv, zDir, &t) == LSM_OK, "power cut at I/O call %llu: %s",
                (unsigned long long)test_seed(), (unsigned long long)k, error_message());
    if( t.nFile == sNew.nFile ){
      assert_same_state(&sNew, &t);
      nNew++;
    }else{
      ck_assert_int_ne(rc, LSM_OK);
      assert_same_state(&sOld, &t);
      nOld++;
    }
    if( bFinished ){
      ck_assert_int_eq(rc, LSM_OK);
      ck_assert_int_eq(t.nFile, sNew.nFile);
    }
    manifest_state_clear(pEnv, &t);
    /* Put the old one back for the next cut. */
    ck_assert_int_eq(manifest_write(pEnv, zDir, &sOld), LSM_OK);
    faultenv_crash(fe);
    ck_assert(k < 100);
  }
  ck_assert_int_gt(nOld, 0);
  ck_assert_int_gt(nNew, 0);
  manifest_state_clear(pEnv, &sOld);
  manifest_state_clear(pEnv, &sNew);
  test_rmtree(zDir);
  free(zDir);
  faultenv_free(fe);
}
END_TEST

START_TEST(manifest_out_of_memory_fails_cleanly){
  lsm_env *pMem = lsm_env_memory();
  faultenv *fe = faultenv_new(pMem);
  lsm_env *pEnv = faultenv_env(fe);
  manifest_state s, t;
  test_rng rng;
  uint64_t iNth;
  int bDone = 0;
  rng_init(&rng, test_seed());
  random_state(pEnv, &rng, 6, &s);
  ck_assert_int_eq(manifest_write(pEnv, "mem", &s), LSM_OK);
  for(iNth = 1; !bDone; iNth++){
    uint64_t nBefore = faultenv_nfailed(fe);
    int rc;
    faultenv_fail(fe, FAULTENV_ALLOC, iNth, 0, 0);
    rc = manifest_write(pEnv, "mem", &s);
    if( rc == LSM_OK ) rc = manifest_read(pEnv, "mem", &t);
    faultenv_fail_clear(fe);
    if( rc == LSM_OK ){
      assert_same_state(&s, &t);
      manifest_state_clear(pEnv, &t);
    }else{
      ck_assert_int_eq(rc, LSM_NOMEM);
    }
    bDone = faultenv_nfailed(fe) == nBefore;
    ck_assert(iNth < 200);
  }
  manifest_state_clear(pEnv, &s);
  faultenv_free(fe);
  lsm_env_memory_free(pMem);
}
END_TEST

static Suite *manifest_suite(void){
  Suite *s = suite_create("manifest");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, manifest_round_trip);
  tcase_add_test(tc, manifest_header_example_is_exact);
  tcase_add_test(tc, manifest_slice_section_is_exact_and_checked);
  tcase_add_test(tc, manifest_slice_state_must_fit_the_tables);
  tcase_add_test(tc, manifest_missing_is_notfound);
  tcase_add_test(tc, manifest_flipped_byte_is_corruption);
  tcase_add_test(tc, manifest_truncated_is_corruption);
  tcase_add_test(tc, manifest_inconsistent_fields_are_corruption);
  tcase_add_test(tc, manifest_write_refuses_an_invalid_state);
  tcase_add_test(tc, manifest_crash_during_replace_keeps_old_or_new);
  tcase_add_test(tc, manifest_out_of_memory_fails_cleanly);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(manifest_suite)
