/*
** manifest.h — the durable description of a store (format: see manifest.c).
**
** The manifest names every live SSTable with its level and key range,
** the next file number, the last sequence number made durable by a flush
** and the oldest WAL still needed, and the progress of a level-0
** compaction run in slices.  It is rewritten whole on each change
** and installed atomically (write MANIFEST.tmp, sync, rename over
** MANIFEST, sync the directory), so a crash leaves the old or the new one.
*/
#ifndef LSM_MANIFEST_H
#define LSM_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "lsm.h"

typedef struct manifest_file {
  int iLevel;
  uint64_t iNumber;              /* file number (filename.h)        */
  uint64_t nFileBytes;
  uint64_t nEntries, nTombstones;
  uint64_t nRawBytes;            /* user key + value bytes inside   */
  uint8_t *pSmallest; size_t nSmallest;   /* internal keys; owned by the manifest_state */
  uint8_t *pLargest;  size_t nLargest;
} manifest_file;

typedef struct manifest_state {
  uint64_t iNextFile;      /* next unused file number                 */
  uint64_t iLastSeq;       /* the store's last sequence number when the
                           ** manifest was written, WAL-only commits
                           ** included: recovery starts numbering from
                           ** here and replay raises it; it does not mean
                           ** every seq <= this is in an SSTable           */
  uint64_t iLogNumber;     /* WALs numbered below this are obsolete   */
  int eCompaction;         /* LSM_COMPACTION_* the store was made with */
  int nFile;
  manifest_file *aFile;    /* owned; env_free each key and the array   */
  /* A level-0 -> level-1 compaction run in slices over several calls
  ** (lsm/db_slice.c), in progress when nSliceSet > 0: */
  int nSliceSet;           /* level-0 tables it merges (0: none)          */
  uint64_t *aSliceSet;     /* their file numbers (owned), each a level-0
                           ** entry of aFile                              */
  int bSliceReached;       /* a slice has run: every user key <= pSliceReached
                           ** is merged into level 1 already             */
  uint8_t *pSliceReached;  /* that user key (owned; NULL while none)      */
  size_t nSliceReached;
} manifest_state;

/* Encode and install atomically as zDir/MANIFEST. */
int manifest_write(lsm_env*, const char *zDir, const manifest_state*);

/* Read and verify zDir/MANIFEST.  LSM_NOTFOUND if there is none;
** LSM_CORRUPT (message names the manifest) if it fails verification. */
int manifest_read(lsm_env*, const char *zDir, manifest_state *pState);

/* Verify the encoded form only (for lsm_check and tests). */
int manifest_decode(lsm_env*, const uint8_t *pData, size_t nData, manifest_state *pState);

/* Whether a slicing state (the set aSet[0..nSet), the reached key when
** bReached) fits the live tables apFile[0..nFile) (levels above 1 are not
** looked at): NULL if it does, else which rule it breaks, written to zBuf.
** The rules (lsm/db_slice.c says why): the set is the nSet oldest
** (lowest-numbered) level-0 tables; a slice having run, no level-1 table
** overlapping the set's key range has smallest <= R < largest (every cut
** falls at or between level-1 tables).  A state breaking them would have
** later slices drop keys.  Decoding, lsm_check and the slice planner all
** apply it. */
const char *manifest_slice_fault(const uint64_t *aSet, int nSet, int bReached,
                                 const uint8_t *pReached, size_t nReached,
                                 const manifest_file *const *apFile, int nFile,
                                 char *zBuf, size_t nBuf);

void manifest_state_clear(lsm_env*, manifest_state*);

#endif
