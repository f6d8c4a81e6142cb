/*
** manifest.c — the durable description of a store.
**
** The manifest is the root of everything on disk: which SSTables are live,
** at which level, with which key range, plus the counters recovery needs
** (next file number, last sequence number in an SSTable, oldest WAL still
** needed).  It is small, so it is rewritten whole on every change, as one
** record with one checksum, and installed with env_write_file_atomic:
** write MANIFEST.tmp, fdatasync it, rename it over MANIFEST, fsync the
** directory.  A crash at any point leaves the old manifest or the new one,
** never a mix (LevelDB SetCurrentFile; the edit log LevelDB keeps is not
** needed at this size).
**
** FORMAT (all integers little-endian, fixed width)
**
**   OFFSET SIZE DESCRIPTION
**   0      8    magic 89 4c 53 4d 4d 41 4e 0a ("\x89LSMMAN\n": the high
**               byte catches 7-bit transfers, the newline line-end
**               conversion, as PNG's signature does)
**   8      4    format version: 1, or 2 when a level-0 compaction in
**               slices is in progress (the slice section below); a
**               writer writes 1 whenever it can, so that builds before
**               version 2 open every store that is not mid-slicing
**   12     4    nFile: number of file entries
**   16     8    nTotal: bytes in the whole manifest, checksum included
**   24     8    iNextFile
**   32     8    iLastSeq
**   40     8    iLogNumber
**   48     4    eCompaction (LSM_COMPACTION_*)
**   52     ...  nFile entries, one after the other (below)
**   ..     ...  version 2 only: the slice section (below)
**   nTotal-8 8  checksum: XXH3-64, seed CHECKSUM_SEED_MANIFEST, over
**               bytes 0 .. nTotal-9 (everything before it)
**
**   File entry (52 bytes + keys):
**   OFFSET SIZE DESCRIPTION
**   0      4    iLevel, 0 <= iLevel < LSM_MAX_LEVELS
**   4      4    nSmallest, 8 <= nSmallest <= LSM_MAX_KEY + 8
**   8      4    nLargest, same bounds
**   12     8    iNumber (< iNextFile; no two entries share one)
**   20     8    nFileBytes
**   28     8    nEntries
**   36     8    nTombstones (<= nEntries)
**   44     8    nRawBytes
**   52     nSmallest  smallest internal key (ikey.h)
**   ..     nLargest   largest internal key (not below the smallest)
**
**   Slice section (version 2; 12 bytes + 8 per set table + the key): a
**   level-0 -> level-1 compaction done in key-range slices over several
**   COMMITs (lsm/db_slice.c says why and how):
**   OFFSET SIZE DESCRIPTION
**   0      4    nSliceSet >= 1: level-0 tables the compaction merges
**   4      4    bSliceReached, 0 or 1: a slice has run
**   8      4    nSliceReached <= LSM_MAX_KEY (0 when bSliceReached is 0)
**   12     8 * nSliceSet  their file numbers, each that of a level-0 file
**               entry above, none twice
**   ..     nSliceReached  the user key reached: every key <= it is merged
**               into level 1 (the set still holds its copies)
**
** Verification (manifest_decode), before anything is trusted: size at
** least header + checksum, magic, version (1 or 2; a later one is refused
** with a message saying a newer build wrote it), nTotal equal to the file
** size, nFile small enough for the bytes present; then the checksum; then
** each entry's lengths against the bytes that remain, its fields against
** the bounds above, then (version 2) the slice section's and whether it
** fits the entries (manifest_slice_fault: the set is the oldest of level
** 0, the reached key is not inside a level-1 table under the set), and
** the last entry (or the section) must end exactly at the checksum.  Any failure
** is LSM_CORRUPT with a message naming the manifest.
**
** Worked example: a leveled store (eCompaction 0), iNextFile 8,
** iLastSeq 100, iLogNumber 7, one SSTable 000005.sst at level 0, 4096
** bytes, 10 entries, 1 tombstone, 150 raw bytes, keys "a"@1 .. "b"@10
** (both puts) — 130 bytes:
**
**   89 4c 53 4d 4d 41 4e 0a   magic
**   01 00 00 00               version 1
**   01 00 00 00               nFile 1
**   82 00 00 00 00 00 00 00   nTotal 130
**   08 00 00 00 00 00 00 00   iNextFile 8
**   64 00 00 00 00 00 00 00   iLastSeq 100
**   07 00 00 00 00 00 00 00   iLogNumber 7
**   00 00 00 00               eCompaction 0 (leveled)
**   00 00 00 00               entry: iLevel 0
**   09 00 00 00               nSmallest 9
**   09 00 00 00               nLargest 9
**   05 00 00 00 00 00 00 00   iNumber 5
**   00 10 00 00 00 00 00 00   nFileBytes 4096
**   0a 00 00 00 00 00 00 00   nEntries 10
**   01 00 00 00 00 00 00 00   nTombstones 1
**   96 00 00 00 00 00 00 00   nRawBytes 150
**   61 01 01 00 00 00 00 00 00   smallest "a", trailer (1 << 8) | 1
**   62 01 0a 00 00 00 00 00 00   largest "b", trailer (10 << 8) | 1
**   8c 9f 0a d9 65 39 b0 68   checksum (test manifest_header_example_is_exact
**                             rebuilds this example and checks every byte)
**
** The same store mid-slicing, its one level-0 table the set and the keys
** up to "a" merged (151 bytes): version 2, nTotal 151, the entry, then
**   01 00 00 00               nSliceSet 1
**   01 00 00 00               bSliceReached 1
**   01 00 00 00               nSliceReached 1
**   05 00 00 00 00 00 00 00   set: file 5
**   61                        reached "a"
**   ff 36 af 28 c7 6f d1 0c   checksum (test
**                             manifest_slice_example_is_exact)
*/
#include "manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "coding.h"
#include "env.h"
#include "error.h"
#include "filename.h"
#include "ikey.h"

#define MANIFEST_MAGIC        "\x89LSMMAN\n"
#define MANIFEST_VERSION      1
#define MANIFEST_VERSION_SLICE 2     /* with the slice section */
#define MANIFEST_SLICE        12     /* fixed part of the slice section */
#define MANIFEST_HEADER       52
#define MANIFEST_ENTRY        52     /* fixed part of a file entry */
#define MANIFEST_CHECKSUM     8
#define MANIFEST_MAX_IKEY     (LSM_MAX_KEY + IKEY_TRAILER)

/* Bytes the encoding of pState takes. */
static uint64_t manifest_encoded_size(const manifest_state *pState){
  uint64_t n = MANIFEST_HEADER + MANIFEST_CHECKSUM;
  int i;
  for(i = 0; i < pState->nFile; i++){
    n += MANIFEST_ENTRY + pState->aFile[i].nSmallest + pState->aFile[i].nLargest;
  }
  if( pState->nSliceSet > 0 ){
    n += MANIFEST_SLICE + 8 * (uint64_t)pState->nSliceSet + pState->nSliceReached;
  }
  return n;
}

static int manifest_compare_u64(const void *a, const void *b){
  uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
  return x < y ? -1 : (x > y ? 1 : 0);
}

/* Decode one entry at *pp (entry bytes end at pEnd) into pFile. */
static int manifest_decode_entry(lsm_env *pEnv, const char *zName, const manifest_state *pState,
                                 int iEntry, const uint8_t **pp, const uint8_t *pEnd,
                                 manifest_file *pFile){
  const uint8_t *p = *pp;
  uint32_t iLevel, nSmallest, nLargest;
  int rc = LSM_OK;

  if( pEnd - p < MANIFEST_ENTRY ){
    return LSM_CORRUPT_BKPT("%s: file entry %d is truncated", zName, iEntry);
  }
  iLevel = coding_get32(p);
  nSmallest = coding_get32(p + 4);
  nLargest = coding_get32(p + 8);
  pFile->iNumber = coding_get64(p + 12);
  pFile->nFileBytes = coding_get64(p + 20);
  pFile->nEntries = coding_get64(p + 28);
  pFile->nTombstones = coding_get64(p + 36);
  pFile->nRawBytes = coding_get64(p + 44);
  p += MANIFEST_ENTRY;

  if( iLevel >= LSM_MAX_LEVELS ){
    return LSM_CORRUPT_BKPT("%s: file entry %d has level %u", zName, iEntry, iLevel);
  }
  pFile->iLevel = (int)iLevel;
  if( nSmallest < IKEY_TRAILER || nSmallest > MANIFEST_MAX_IKEY
   || nLargest < IKEY_TRAILER || nLargest > MANIFEST_MAX_IKEY
   || (uint64_t)(pEnd - p) < (uint64_t)nSmallest + nLargest ){
    return LSM_CORRUPT_BKPT("%s: file entry %d has bad key lengths %u and %u",
                            zName, iEntry, nSmallest, nLargest);
  }
  if( pFile->iNumber >= pState->iNextFile ){
    return LSM_CORRUPT_BKPT("%s: file entry %d has number %llu, not below next file %llu",
                            zName, iEntry, (unsigned long long)pFile->iNumber,
                            (unsigned long long)pState->iNextFile);
  }
  if( pFile->nTombstones > pFile->nEntries ){
    return LSM_CORRUPT_BKPT("%s: file entry %d has more tombstones than entries", zName, iEntry);
  }
  if( ikey_compare(p, nSmallest, p + nSmallest, nLargest) > 0 ){
    return LSM_CORRUPT_BKPT("%s: file entry %d has its smallest key above its largest",
                            zName, iEntry);
  }
  pFile->pSmallest = env_malloc_rc(pEnv, nSmallest, &rc);
  pFile->pLargest = env_malloc_rc(pEnv, nLargest, &rc);
  if( rc != LSM_OK ) return rc;
  memcpy(pFile->pSmallest, p, nSmallest);
  pFile->nSmallest = nSmallest;
  memcpy(pFile->pLargest, p + nSmallest, nLargest);
  pFile->nLargest = nLargest;
  *pp = p + nSmallest + nLargest;
  return LSM_OK;
}

/* The level of file iNumber among pState's entries, or -1. */
static int manifest_file_level(const manifest_state *pState, uint64_t iNumber){
  int i;
  for(i = 0; i < pState->nFile; i++){
    if( pState->aFile[i].iNumber == iNumber ) return pState->aFile[i].iLevel;
  }
  return -1;
}

const char *manifest_slice_fault(const uint64_t *aSet, int nSet, int bReached,
                                 const uint8_t *pReached, size_t nReached,
                                 const manifest_file *const *apFile, int nFile,
                                 char *zBuf, size_t nBuf){
  const uint8_t *pLo = NULL, *pHi = NULL;
  size_t nLo = 0, nHi = 0;
  uint64_t iNewestSet = 0;
  int i, j, nFound = 0;
  for(j = 0; j < nSet; j++){
    if( aSet[j] > iNewestSet ) iNewestSet = aSet[j];
  }
  for(i = 0; i < nFile; i++){
    const manifest_file *m = apFile[i];
    int bInSet = 0;
    if( m->iLevel != 0 ) continue;
    for(j = 0; j < nSet && !bInSet; j++) bInSet = aSet[j] == m->iNumber;
    if( !bInSet ){
      if( m->iNumber < iNewestSet ){
        snprintf(zBuf, nBuf, "level-0 table %llu is not in the slice set but older than its"
                 " table %llu (the set must be the oldest of level 0)",
                 (unsigned long long)m->iNumber, (unsigned long long)iNewestSet);
        return zBuf;
      }
      continue;
    }
    nFound++;
    if( pLo == NULL || ikey_compare_user(m->pSmallest, ikey_user_len(m->nSmallest), pLo, nLo) < 0 ){
      pLo = m->pSmallest;
      nLo = ikey_user_len(m->nSmallest);
    }
    if( pHi == NULL || ikey_compare_user(m->pLargest, ikey_user_len(m->nLargest), pHi, nHi) > 0 ){
      pHi = m->pLargest;
      nHi = ikey_user_len(m->nLargest);
    }
  }
  if( nFound != nSet ){
    snprintf(zBuf, nBuf, "%d of the %d slice set tables are not level-0 tables",
             nSet - nFound, nSet);
    return zBuf;
  }
  if( !bReached ) return NULL;
  for(i = 0; i < nFile; i++){
    const manifest_file *m = apFile[i];
    const uint8_t *pS = m->pSmallest, *pL = m->pLargest;
    size_t nS = ikey_user_len(m->nSmallest), nL = ikey_user_len(m->nLargest);
    if( m->iLevel != 1 ) continue;
    if( ikey_compare_user(pS, nS, pHi, nHi) > 0 || ikey_compare_user(pL, nL, pLo, nLo) < 0 ){
      continue;                         /* outside the set's key range: never an input */
    }
    if( ikey_compare_user(pS, nS, pReached, nReached) <= 0
     && ikey_compare_user(pReached, nReached, pL, nL) < 0 ){
      snprintf(zBuf, nBuf, "the slice's reached key (%zu bytes) lies inside level-1 table %llu"
               " (a slice ends at or between level-1 tables)", nReached,
               (unsigned long long)m->iNumber);
      return zBuf;
    }
  }
  return NULL;
}

/* Decode the slice section at *pp (ending at pEnd) into pState. */
static int manifest_decode_slice(lsm_env *pEnv, const char *zName, const uint8_t **pp,
                                 const uint8_t *pEnd, manifest_state *pState){
  const uint8_t *p = *pp;
  uint32_t nSet, bReached, nReached, i, j;
  int rc = LSM_OK;
  if( pEnd - p < MANIFEST_SLICE ){
    return LSM_CORRUPT_BKPT("%s: the slice section is truncated", zName);
  }
  nSet = coding_get32(p);
  bReached = coding_get32(p + 4);
  nReached = coding_get32(p + 8);
  p += MANIFEST_SLICE;
  if( nSet == 0 || nSet > (uint32_t)pState->nFile || bReached > 1
   || nReached > LSM_MAX_KEY || (!bReached && nReached)
   || (uint64_t)(pEnd - p) < 8 * (uint64_t)nSet + nReached ){
    return LSM_CORRUPT_BKPT("%s: bad slice section (%u tables, reached %u, key %u bytes)",
                            zName, nSet, bReached, nReached);
  }
  pState->aSliceSet = env_malloc_rc(pEnv, sizeof(uint64_t) * nSet, &rc);
  pState->pSliceReached = env_malloc_rc(pEnv, nReached ? nReached : 1, &rc);
  if( rc != LSM_OK ) return rc;
  for(i = 0; i < nSet; i++){
    uint64_t iNumber = coding_get64(p + 8 * i);
    if( manifest_file_level(pState, iNumber) != 0 ){
      return LSM_CORRUPT_BKPT("%s: slice table %llu is not a level-0 file", zName,
                              (unsigned long long)iNumber);
    }
    for(j = 0; j < i; j++){
      if( pState->aSliceSet[j] == iNumber ){
        return LSM_CORRUPT_BKPT("%s: slice table %llu is listed twice", zName,
                                (unsigned long long)iNumber);
      }
    }
    pState->aSliceSet[i] = iNumber;
  }
  pState->nSliceSet = (int)nSet;
  p += 8 * (size_t)nSet;
  if( nReached ) memcpy(pState->pSliceReached, p, nReached);
  pState->nSliceReached = nReached;
  pState->bSliceReached = (int)bReached;
  *pp = p + nReached;
  if( nSet > 0 ){
    const manifest_file **apFile = env_malloc_rc(pEnv, sizeof(*apFile) * (size_t)pState->nFile, &rc);
    const char *zFault;
    char zBuf[200];
    if( rc != LSM_OK ) return rc;
    for(i = 0; i < (uint32_t)pState->nFile; i++) apFile[i] = &pState->aFile[i];
    zFault = manifest_slice_fault(pState->aSliceSet, pState->nSliceSet, pState->bSliceReached,
                                  pState->pSliceReached, pState->nSliceReached, apFile,
                                  pState->nFile, zBuf, sizeof(zBuf));
    env_free(pEnv, apFile);
    if( zFault ) return LSM_CORRUPT_BKPT("%s: %s", zName, zFault);
  }
  return LSM_OK;
}

/* Verify and decode; zName names the manifest in messages. */
static int manifest_decode_named(lsm_env *pEnv, const char *zName, const uint8_t *pData,
                                 size_t nData, manifest_state *pState){
  const uint8_t *p, *pEnd;
  uint32_t nFile, eCompaction, iVersion;
  uint64_t nTotal, *aNumber = NULL;
  int rc = LSM_OK, i;

  memset(pState, 0, sizeof(*pState));
  if( nData < MANIFEST_HEADER + MANIFEST_CHECKSUM ){
    return LSM_CORRUPT_BKPT("%s: %zu bytes is too short for a manifest", zName, nData);
  }
  if( memcmp(pData, MANIFEST_MAGIC, 8) != 0 ){
    return LSM_CORRUPT_BKPT("%s: not a manifest (bad magic)", zName);
  }
  iVersion = coding_get32(pData + 8);
  if( iVersion != MANIFEST_VERSION && iVersion != MANIFEST_VERSION_SLICE ){
    return LSM_CORRUPT_BKPT("%s: unsupported manifest format version %u (this build reads"
                            " 1 and 2: a newer build of lsm wrote it)", zName, iVersion);
  }
  nFile = coding_get32(pData + 12);
  nTotal = coding_get64(pData + 16);
  if( nTotal != nData ){
    return LSM_CORRUPT_BKPT("%s: manifest is %zu bytes but says %llu (%s)", zName, nData,
                            (unsigned long long)nTotal, nTotal > nData ? "truncated" : "trailing bytes");
  }
  if( nFile > (nData - MANIFEST_HEADER - MANIFEST_CHECKSUM) / (MANIFEST_ENTRY + 2 * IKEY_TRAILER) ){
    return LSM_CORRUPT_BKPT("%s: %u file entries cannot fit in %zu bytes", zName, nFile, nData);
  }
  if( checksum_compute(pData, nData - MANIFEST_CHECKSUM, CHECKSUM_SEED_MANIFEST)
      != coding_get64(pData + nData - MANIFEST_CHECKSUM) ){
    return LSM_CORRUPT_BKPT("%s: manifest checksum mismatch", zName);
  }

  pState->iNextFile = coding_get64(pData + 24);
  pState->iLastSeq = coding_get64(pData + 32);
  pState->iLogNumber = coding_get64(pData + 40);
  eCompaction = coding_get32(pData + 48);
  if( eCompaction != LSM_COMPACTION_LEVELED && eCompaction != LSM_COMPACTION_TIERED ){
    rc = LSM_CORRUPT_BKPT("%s: unknown compaction style %u", zName, eCompaction);
    goto decode_done;
  }
  pState->eCompaction = (int)eCompaction;
  if( pState->iLastSeq > IKEY_MAX_SEQ ){
    rc = LSM_CORRUPT_BKPT("%s: last sequence number %llu is out of range", zName,
                          (unsigned long long)pState->iLastSeq);
    goto decode_done;
  }

  pState->aFile = env_malloc_rc(pEnv, sizeof(manifest_file) * (nFile ? nFile : 1), &rc);
  aNumber = env_malloc_rc(pEnv, sizeof(uint64_t) * (nFile ? nFile : 1), &rc);
  if( rc != LSM_OK ) goto decode_done;
  p = pData + MANIFEST_HEADER;
  pEnd = pData + nData - MANIFEST_CHECKSUM;
  for(i = 0; i < (int)nFile && rc == LSM_OK; i++){
    rc = manifest_decode_entry(pEnv, zName, pState, i, &p, pEnd, &pState->aFile[i]);
    pState->nFile = i + 1;          /* so that clear frees a half-built entry */
    aNumber[i] = pState->aFile[i].iNumber;
  }
  if( rc != LSM_OK ) goto decode_done;
  if( iVersion == MANIFEST_VERSION_SLICE ){
    rc = manifest_decode_slice(pEnv, zName, &p, pEnd, pState);
    if( rc != LSM_OK ) goto decode_done;
  }
  if( p != pEnd ){
    rc = LSM_CORRUPT_BKPT("%s: %ld bytes after the %s", zName, (long)(pEnd - p),
                          iVersion == MANIFEST_VERSION_SLICE ? "slice section" : "last file entry");
    goto decode_done;
  }
  qsort(aNumber, nFile, sizeof(uint64_t), manifest_compare_u64);
  for(i = 1; i < (int)nFile; i++){
    if( aNumber[i] == aNumber[i - 1] ){
      rc = LSM_CORRUPT_BKPT("%s: file %llu is listed twice", zName, (unsigned long long)aNumber[i]);
      goto decode_done;
    }
  }

decode_done:
  env_free(pEnv, aNumber);
  if( rc != LSM_OK ) manifest_state_clear(pEnv, pState);
  return rc;
}

int manifest_write(lsm_env *pEnv, const char *zDir, const manifest_state *pState){
  uint64_t nTotal = manifest_encoded_size(pState);
  uint8_t *aBuf = NULL, *p;
  char *zPath = NULL;
  int rc = LSM_OK, i;

  if( nTotal > SIZE_MAX ) return LSM_NOMEM;
  aBuf = env_malloc_rc(pEnv, (size_t)nTotal, &rc);
  zPath = filename_path(pEnv, zDir, FILENAME_MANIFEST, 0, &rc);
  if( rc != LSM_OK ) goto write_done;

  memcpy(aBuf, MANIFEST_MAGIC, 8);
  p = coding_put32(aBuf + 8, pState->nSliceSet > 0 ? MANIFEST_VERSION_SLICE : MANIFEST_VERSION);
  p = coding_put32(p, (uint32_t)pState->nFile);
  p = coding_put64(p, nTotal);
  p = coding_put64(p, pState->iNextFile);
  p = coding_put64(p, pState->iLastSeq);
  p = coding_put64(p, pState->iLogNumber);
  p = coding_put32(p, (uint32_t)pState->eCompaction);
  for(i = 0; i < pState->nFile; i++){
    const manifest_file *pF = &pState->aFile[i];
    /* The invariants decode checks; a writer bug must not reach disk. */
    if( pF->iLevel < 0 || pF->iLevel >= LSM_MAX_LEVELS
     || pF->nSmallest < IKEY_TRAILER || pF->nSmallest > MANIFEST_MAX_IKEY
     || pF->nLargest < IKEY_TRAILER || pF->nLargest > MANIFEST_MAX_IKEY
     || pF->iNumber >= pState->iNextFile ){
      rc = LSM_ERROR_MSG(LSM_MISUSE, "manifest_write: file entry %d (file %llu) is invalid",
                         i, (unsigned long long)pF->iNumber);
      goto write_done;
    }
    p = coding_put32(p, (uint32_t)pF->iLevel);
    p = coding_put32(p, (uint32_t)pF->nSmallest);
    p = coding_put32(p, (uint32_t)pF->nLargest);
    p = coding_put64(p, pF->iNumber);
    p = coding_put64(p, pF->nFileBytes);
    p = coding_put64(p, pF->nEntries);
    p = coding_put64(p, pF->nTombstones);
    p = coding_put64(p, pF->nRawBytes);
    memcpy(p, pF->pSmallest, pF->nSmallest);
    p += pF->nSmallest;
    memcpy(p, pF->pLargest, pF->nLargest);
    p += pF->nLargest;
  }
  if( pState->nSliceSet > 0 ){
    if( pState->nSliceReached > LSM_MAX_KEY || (!pState->bSliceReached && pState->nSliceReached) ){
      rc = LSM_ERROR_MSG(LSM_MISUSE, "manifest_write: the slice state is invalid");
      goto write_done;
    }
    p = coding_put32(p, (uint32_t)pState->nSliceSet);
    p = coding_put32(p, pState->bSliceReached ? 1 : 0);
    p = coding_put32(p, (uint32_t)pState->nSliceReached);
    for(i = 0; i < pState->nSliceSet; i++){
      if( manifest_file_level(pState, pState->aSliceSet[i]) != 0 ){
        rc = LSM_ERROR_MSG(LSM_MISUSE, "manifest_write: slice table %llu is not in level 0",
                           (unsigned long long)pState->aSliceSet[i]);
        goto write_done;
      }
      p = coding_put64(p, pState->aSliceSet[i]);
    }
    if( pState->nSliceReached ) memcpy(p, pState->pSliceReached, pState->nSliceReached);
    p += pState->nSliceReached;
  }
  coding_put64(p, checksum_compute(aBuf, (size_t)nTotal - MANIFEST_CHECKSUM, CHECKSUM_SEED_MANIFEST));
  rc = env_write_file_atomic(pEnv, zDir, zPath, aBuf, (size_t)nTotal);

write_done:
  env_free(pEnv, zPath);
  env_free(pEnv, aBuf);
  return rc;
}

int manifest_read(lsm_env *pEnv, const char *zDir, manifest_state *pState){
  char *zPath;
  uint8_t *aData = NULL;
  size_t nData = 0;
  int rc = LSM_OK, bExists = 0, bIsDir = 0;

  memset(pState, 0, sizeof(*pState));
  zPath = filename_path(pEnv, zDir, FILENAME_MANIFEST, 0, &rc);
  if( rc == LSM_OK ) rc = pEnv->xExists(pEnv, zPath, &bExists, &bIsDir);
  if( rc == LSM_OK && !bExists ){
    rc = LSM_NOTFOUND;
  }else if( rc == LSM_OK && bIsDir ){
    rc = LSM_CORRUPT_BKPT("%s: the manifest is a directory", zPath);
  }
  if( rc == LSM_OK ) rc = env_read_file(pEnv, zPath, &aData, &nData);
  if( rc == LSM_OK ) rc = manifest_decode_named(pEnv, zPath, aData, nData, pState);
  env_free(pEnv, aData);
  env_free(pEnv, zPath);
  return rc;
}

int manifest_decode(lsm_env *pEnv, const uint8_t *pData, size_t nData, manifest_state *pState){
  return manifest_decode_named(pEnv, "MANIFEST", pData, nData, pState);
}

void manifest_state_clear(lsm_env *pEnv, manifest_state *pState){
  int i;
  if( pState->aFile ){
    for(i = 0; i < pState->nFile; i++){
      env_free(pEnv, pState->aFile[i].pSmallest);
      env_free(pEnv, pState->aFile[i].pLargest);
    }
    env_free(pEnv, pState->aFile);
  }
  env_free(pEnv, pState->aSliceSet);
  env_free(pEnv, pState->pSliceReached);
  memset(pState, 0, sizeof(*pState));
}
