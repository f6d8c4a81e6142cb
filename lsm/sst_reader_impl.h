/*
** sst_reader_impl.h — the SSTable reader's private table of contents:
** struct sst_reader, its decoded index, the index search, and the one
** function the reader's two files share.  sst_reader.c and
** sst_reader_iter.c include it; nothing else does.
**
** The reader is one concept in two files:
**   sst_reader.c       open (footer, properties, filter, index), block
**                      fetch and verification, point get, check
**   sst_reader_iter.c  the iterator over every entry (iter.h)
*/
#ifndef LSM_SST_READER_IMPL_H
#define LSM_SST_READER_IMPL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "block.h"
#include "block_cache.h"
#include "ikey.h"
#include "lsm.h"
#include "sst_reader.h"

/* One block of the sparse index. */
typedef struct index_entry {
  const uint8_t *pKey;       /* separator (internal key), in aMeta       */
  uint32_t nKey;             /* its bytes                                */
  uint32_t nSize;            /* block bytes, without the trailer         */
  uint64_t iOff;             /* block offset in the file                 */
} index_entry;

/* The footer, decoded. */
typedef struct footer_info {
  uint64_t iFilterOff;       /* filter region offset                     */
  uint64_t nFilter;          /* its size without trailer; 0: no filter   */
  uint64_t iPropsOff;        /* properties region offset                 */
  uint64_t nProps;           /* its size without trailer                 */
  uint64_t iIndexOff;        /* index region offset                      */
  uint64_t nIndex;           /* its size without trailer                 */
} footer_info;

struct sst_reader {
  lsm_env *pEnv;                 /* allocations and the file                    */
  char *zPath;                   /* file path (owned), named in every message   */
  lsm_file *pFile;               /* open until the last reference goes          */
  const uint8_t *aMap;           /* bMap: the whole file, mapped read-only      */
  uint64_t nData;                /* file bytes                                  */
  const uint8_t *aMeta;          /* file bytes iMetaOff..nData-1: in aMap when
                                 ** mapped, else aMetaOwned                     */
  uint8_t *aMetaOwned;           /* the heap copy of them (owned), or NULL      */
  uint64_t iMetaOff;             /* where the filter (or properties) starts     */
  block_cache *pBlocks;          /* the store's block cache (borrowed), or NULL */
  block_cache_counts *pBlockCounts; /* the store's lookups in it (borrowed), or NULL */
  uint64_t id;                   /* the key of this file's blocks in pBlocks    */
  int bOwnId;                    /* id was made for this reader: its blocks are
                                 ** erased from pBlocks when it is freed        */
  atomic_int nRef;               /* references; freed at zero                   */
  footer_info footer;            /* where the regions are                       */
  int nBlock;                    /* data blocks                                 */
  int nBlockTrailer;             /* bytes after each data block: 8 (format 1)
                                 ** or 9 (format 2: type byte, checksum)       */
  index_entry *aIndex;           /* nBlock entries (owned)                      */
  uint64_t *aWord;               /* per block: separator user-key bytes nCommon..
                                 ** nCommon+7, big-endian, zero-padded (owned) */
  uint64_t *aGroupWord;          /* per group of SST_WORD_GROUP blocks: aWord of
                                 ** its last block (in aWord's allocation)      */
  size_t nCommon;                /* user-key prefix every key of the table has  */
  _Atomic uint64_t *aVerified;   /* bMap: bit i: block i verified (owned)       */
  const uint8_t *aFilter;        /* filter bits in aMeta, NULL: no filter       */
  size_t nFilter;                /* bytes of filter bits                        */
  int nProbe;                    /* Bloom probes                                */
  uint64_t nEntries;             /* property: entries, tombstones included      */
  uint64_t nTombstones;          /* property: delete entries                    */
  uint64_t nRawBytes;            /* property: user key + value bytes            */
  const uint8_t *pSmallest;      /* smallest internal key, in aMeta             */
  size_t nSmallest;              /* its bytes (0: empty table)                  */
  const uint8_t *pLargest;       /* largest internal key, in aMeta              */
  size_t nLargest;               /* its bytes (0: empty table)                  */
};

/* Order of the stored internal key (a, na) against (pUser, tTarget). */
static inline int key_cmp(const uint8_t *a, size_t na, const uint8_t *pUser, size_t nUser,
                          uint64_t tTarget){
  int c = ikey_compare_user(a, na - IKEY_TRAILER, pUser, nUser);
  if( c == 0 ){
    uint64_t t = ikey_trailer(a, na);
    c = t > tTarget ? -1 : (t < tTarget ? 1 : 0);
  }
  return c;
}

/* Bytes n.. n+8 of (p, np) as a big-endian word, zero-padded. */
static inline uint64_t key_word(const uint8_t *p, size_t np, size_t n){
  uint64_t w = 0;
  size_t i;
  if( np >= n + 8 ){
    for(i = 0; i < 8; i++) w = (w << 8) | p[n + i];
    return w;
  }
  for(i = 0; i < 8; i++) w = (w << 8) | (n + i < np ? p[n + i] : 0);
  return w;
}

/* Blocks per entry of aGroupWord: 16 words are two cache lines of aWord. */
#define SST_WORD_GROUP 16

/* A search of the index cut in two (find_block_begin, find_block_end). */
typedef struct block_search {
  int lo, hi;                /* the answer lies in [lo, hi]; lo: found    */
  int bWord;                 /* the target has the common prefix: words   */
  uint64_t w;                /* its word (bWord)                          */
} block_search;

/* The first step of find_block: the group, whose two lines of aWord are
** fetched, not read, so that a caller may start other work while they
** come (sst_reader_iter.c's prefetch stages). */
static inline void find_block_begin(const sst_reader *p, const uint8_t *pUser, size_t nUser,
                                    block_search *s){
  s->lo = 0;
  s->hi = p->nBlock;
  s->bWord = nUser >= p->nCommon
          && (p->nCommon == 0 || memcmp(pUser, p->pSmallest, p->nCommon) == 0);
  s->w = s->bWord ? key_word(pUser, nUser, p->nCommon) : 0;
  if( s->bWord && p->nBlock > SST_WORD_GROUP ){
    int nGroup = (p->nBlock + SST_WORD_GROUP - 1) / SST_WORD_GROUP, gLo = 0, gHi = nGroup, iLast;
    while( gLo < gHi ){
      int mid = gLo + (gHi - gLo) / 2;
      if( p->aGroupWord[mid] < s->w ) gLo = mid + 1;
      else gHi = mid;
    }
    if( gLo == nGroup ){
      s->lo = p->nBlock;
      return;
    }
    s->lo = gLo * SST_WORD_GROUP;
    iLast = s->lo + SST_WORD_GROUP - 1 < p->nBlock ? s->lo + SST_WORD_GROUP - 1 : p->nBlock - 1;
    __builtin_prefetch(&p->aWord[s->lo]);
    __builtin_prefetch(&p->aWord[iLast]);
    /* A last separator above the target: the answer is at or before it. */
    if( p->aGroupWord[gLo] > s->w ) s->hi = iLast;
  }
}

/* The rest of find_block, from where find_block_begin left it. */
static inline int find_block_end(const sst_reader *p, const uint8_t *pUser, size_t nUser,
                                 uint64_t tTarget, const block_search *s){
  int lo = s->lo, hi = s->hi;
  while( lo < hi ){
    int mid = lo + (hi - lo) / 2;
    int c;
    if( s->bWord && p->aWord[mid] != s->w ){
      c = p->aWord[mid] < s->w ? -1 : 1;
    }else{
      c = key_cmp(p->aIndex[mid].pKey, p->aIndex[mid].nKey, pUser, nUser, tTarget);
    }
    if( c < 0 ) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/*
** Index of the first block whose separator is >= (pUser, tTarget); nBlock if none.
**
** Two steps when the target has the table's common prefix: the first
** group whose last word is >= the target's word (aGroupWord, 1/16 of
** aWord: small enough to stay cached across seeks), then a search inside
** that group (two lines of aWord, both fetched at once).  Why: a binary
** search of aWord alone missed the cache at nearly every step below the
** top few (perf, an in-database seek at 1M keys: 80% of the SSTable
** seek's own cycles on the word compare).  Words order keys as memcmp
** would, so every separator of an earlier group is below the target, and
** a group whose last word is greater holds the answer; only a group whose
** last word equals the target's leaves the search open to the end.
*/
static inline int find_block(const sst_reader *p, const uint8_t *pUser, size_t nUser,
                                 uint64_t tTarget){
  block_search s;
  find_block_begin(p, pUser, nUser, &s);
  return find_block_end(p, pUser, nUser, tTarget, &s);
}

/*
** Block i, its checksum verified, parsed into *v.  A raw block of a
** mapped file: *ppH = NULL and v points into the mapping (valid while the
** reader lives).  Otherwise *ppH is a handle (from the store's block
** cache, if it has one and holds the block; else read, and put in the
** cache as eLoad says) that the caller releases with block_cache_release
** when done with v and anything read from it.
*/
#define SST_LOAD_NOFILL  0   /* a block read is not put in the cache        */
#define SST_LOAD_FILL    1   /* it is (block_cache_insert)                  */
#define SST_LOAD_PASSING 2   /* it is, as a scan's (block_cache_insert_passing) */
int sst_reader_load_block(sst_reader *p, int i, int eLoad, block_view *v, block_handle **ppH);

/*
** A scan's readahead (sst_reader_load_block_ahead): the stored bytes,
** trailers included, of blocks iFirst .. iEnd-1, contiguous in the file,
** read with one xRead.  Owned by one iterator; its buffer is reused from
** run to run and freed by sst_ahead_free.  Memory: at most
** SST_AHEAD_BYTES, or one block's stored bytes if a block is larger.
*/
typedef struct sst_ahead {
  uint8_t *a;                /* the bytes from block iFirst's offset (owned) */
  size_t nAlloc;             /* bytes allocated                              */
  size_t nValid;             /* bytes the read returned (fewer: the file is
                             ** shorter than its index says)                */
  int iFirst;                /* first block held                             */
  int iEnd;                  /* one past the last; iFirst == iEnd: none      */
} sst_ahead;

/* Bytes a readahead reads at most: 64 KiB, 32 blocks of the in-database
** store's 2 KiB (README, "In-database scans: readahead"). */
#define SST_AHEAD_BYTES ((size_t)64 << 10)

/*
** sst_reader_load_block for a scan stepping to block i (bForward: from
** block i-1, else from i+1), past SST_PASSING_AFTER blocks: a block the
** cache holds is used from it; otherwise, if i is not in pAhead, the run
** of blocks from i onwards in the scan's direction that the cache does
** not hold (at most SST_AHEAD_BYTES) is read into pAhead with one xRead,
** and block i is served from there.  Each block's checksum is verified
** when it is served, never before, so a damaged block is reported when
** the scan reaches it; a run that cannot be read (LSM_CORRUPT, LSM_IOERR
** or LSM_NOMEM for the buffer: the cause may lie past block i) falls back
** to reading block i alone, which reports what a read of i reports.  A
** raw block served from pAhead is entered into the cache if the cache
** has room (block_cache_has_room), else *ppH = NULL and v points into
** pAhead: valid until the next call with pAhead or sst_ahead_free.  A
** mapped reader reads nothing ahead (sst_reader_load_block).
*/
int sst_reader_load_block_ahead(sst_reader *p, int i, int bForward, sst_ahead *pAhead,
                                block_view *v, block_handle **ppH);

/* Free pAhead's buffer; it holds no blocks after. */
void sst_ahead_free(lsm_env *pEnv, sst_ahead *pAhead);

/*
** A hint that block i is to be loaded (sst_reader_load_block) soon: stage
** 0 fetches the line its cache lookup reads first (the slot), stage 1,
** after stage 0 of the other sorted runs, the lines that slot points to
** (the entry's header, the block's first and last lines), or the block's
** bytes in the mapping.  Reads no block, takes no reference, counts
** nothing, fails never.
*/
void sst_reader_prefetch_block(sst_reader *p, int i, int iStage);

#endif /* LSM_SST_READER_IMPL_H */
