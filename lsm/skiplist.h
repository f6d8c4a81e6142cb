/*
** skiplist.h — the ordered in-memory index under a memtable.
**
** A skiplist (Pugh 1990) of nodes allocated from an arena, each holding
** one internal key (ikey.h) and the value stored with it, inline:
**
**   OFFSET        SIZE       DESCRIPTION
**   0             4          nKey (24 bits) | nHeight (8 bits)
**   4             4          nVal
**   8             8*nHeight  apNext[0..nHeight-1]: successor per level
**   8+8*nHeight   nKey       internal key: user key + 8-byte trailer
**   ...           nVal       value
**
** Keeping the key inside the node (not behind a pointer) means a search
** touches one cache line per node visited; a comparison is memcmp of the
** user keys, then the trailers (ikey_compare).  Heights are drawn with
** branching factor 4 up to SKIPLIST_MAX_HEIGHT, so a list of n nodes has
** about n/3 links above level 0 and searches cost ~log4(n) * 4 steps.
**
** Thread safety (LevelDB db/skiplist.h): one writer and any number of
** readers, without locks.  Writes (skiplist_node_new, skiplist_insert)
** must be serialized by the caller.  Readers may search and walk at any
** time, concurrently with the writer.  A node's key, value and height are
** written before the node is published; publishing is a release store of
** the predecessor's link, and readers load links with acquire, so a reader
** that reaches a node sees it complete.  Nodes are never removed: they
** die with the arena.
**
** Invariants:
**   1. At every level, a node's successor has a strictly greater key
**      (ikey_compare); so level 0 lists every node in order, and no two
**      nodes hold equal internal keys.
**   2. Every node linked at level i > 0 is also linked at every level
**      below i; a node's height never changes after it is allocated.
**   3. nHeight (the list's) is the greatest height of any node linked so
**      far, at most SKIPLIST_MAX_HEIGHT; it only grows.  A reader that
**      sees an old value merely starts lower; one that sees a new value
**      early finds NULL head links at the new levels and steps down.
**   4. Node memory lives until the arena is freed: a pointer to a node
**      stays valid while the owner of the arena keeps it.
**   5. The splice (writer only; readers never look at it): after an
**      insert of node L of height h, apSplice[i] is L for i < h and, for
**      h <= i < nHeight, the node L was linked after at level i (the
**      head if none).  Only skiplist_insert links nodes and it renews
**      the splice every time, so the splice always describes the last
**      insert exactly: apSplice[i] is the last node at level i whose key
**      is <= L's key.  Before the first insert pLast is NULL.
**
** Appends (RocksDB's InlineSkipList keeps a "splice" of the last insert
** for the same reason): a key greater than the last one inserted, as in
** a load in key order, lies after apSplice[i] at every level i
** (invariant 5), so its search starts from the splice instead of the
** head; if pLast is the list's last node, the splice is the key's place
** at every level as it stands (no search at all).  Any other key costs
** one comparison more (with pLast) and searches from the head as before.
*/
#ifndef LSM_SKIPLIST_H
#define LSM_SKIPLIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define SKIPLIST_MAX_HEIGHT 12
#define SKIPLIST_BRANCHING  4    /* a node reaches level i+1 with p = 1/4 */

typedef struct skiplist_node skiplist_node;
struct skiplist_node {
  uint32_t nKey : 24;                 /* internal key bytes (<= LSM_MAX_KEY + 8) */
  uint32_t nHeight : 8;               /* levels this node is linked at, 1..12    */
  uint32_t nVal;                      /* value bytes                             */
  _Atomic(skiplist_node*) apNext[];   /* successor at each level; key follows    */
};

typedef struct skiplist {
  arena *pArena;                      /* node memory; borrowed from the owner    */
  skiplist_node *pHead;               /* sentinel with SKIPLIST_MAX_HEIGHT links */
  _Atomic int nHeight;                /* tallest node linked (invariant 3)       */
  uint64_t iRand;                     /* xorshift state for heights (writer only)*/
  skiplist_node *pLast;               /* last node inserted; NULL: none yet
                                      ** (writer only)                        */
  skiplist_node *apSplice[SKIPLIST_MAX_HEIGHT]; /* invariant 5 (writer only)*/
} skiplist;

/* An empty list whose nodes come from pArena.  LSM_OK or LSM_NOMEM. */
int skiplist_init(skiplist*, arena *pArena);

/*
** Writer only.  A new unlinked node with room for nKey key bytes and nVal
** value bytes, which the caller fills through skiplist_node_data() and
** then links with skiplist_insert.  NULL on OOM.
*/
skiplist_node *skiplist_node_new(skiplist*, size_t nKey, size_t nVal);
/* Writer only.  Link pNode.  REQUIRES: no node with an equal key. */
void skiplist_insert(skiplist*, skiplist_node *pNode);

/* The key bytes (the value follows them) of a node being built. */
static inline uint8_t *skiplist_node_data(skiplist_node *p){
  return (uint8_t*)&p->apNext[p->nHeight];
}
/* Borrowed: valid while the arena lives (invariant 4). */
static inline const uint8_t *skiplist_node_key(const skiplist_node *p, size_t *pnKey){
  *pnKey = p->nKey;
  return (const uint8_t*)&p->apNext[p->nHeight];
}
static inline const uint8_t *skiplist_node_value(const skiplist_node *p, size_t *pnVal){
  *pnVal = p->nVal;
  return (const uint8_t*)&p->apNext[p->nHeight] + p->nKey;
}

/* Readers (any thread).  Each returns a node or NULL. */
static inline skiplist_node *skiplist_next(const skiplist_node *p){
  return atomic_load_explicit(&((skiplist_node*)p)->apNext[0], memory_order_acquire);
}
skiplist_node *skiplist_first(const skiplist*);
skiplist_node *skiplist_last(const skiplist*);
/* The first node with key >= pKey. */
skiplist_node *skiplist_seek_ge(const skiplist*, const uint8_t *pKey, size_t nKey);
/* The first node >= the internal key (pUser, trailer), without building it. */
skiplist_node *skiplist_seek_user(const skiplist*, const void *pUser, size_t nUser,
                                  uint64_t trailer);
/* The last node with key < pKey. */
skiplist_node *skiplist_seek_lt(const skiplist*, const uint8_t *pKey, size_t nKey);

/*
** skiplist_seek_ge cut into pieces, so that a reader can do other work
** (start other searches' cache misses) between them: start, then
** skiplist_search_down with decreasing iLowest walks the levels from the
** top down to iLowest (returning NULL); the call with iLowest 0 returns
** the first node >= pKey (NULL if none), as skiplist_seek_ge would.  The
** same key at every call of one search.
*/
typedef struct skiplist_search {
  skiplist_node *p;             /* last node < the key at level iLevel   */
  skiplist_node *pBigger;       /* first node >= it a level up, or NULL  */
  int iLevel;                   /* the next level to walk                */
} skiplist_search;
void skiplist_search_start(const skiplist*, skiplist_search*);
skiplist_node *skiplist_search_down(const skiplist*, skiplist_search*, const uint8_t *pKey,
                                    size_t nKey, int iLowest);

/*
** The read index: a sorted array of every 4th node of level 0, with the
** 8 bytes of its user key that follow the prefix every sampled key
** shares (a word), searched like an SSTable's index (groups of 16 words,
** then two lines of words), so that a search costs a few cache misses
** instead of one per node visited.  Built by a reader in one walk of
** level 0 while a writer may add nodes (those it misses are between
** sampled ones, found by the walk from the sample before them); a node
** never leaves the list, so an index stays correct as the list grows,
** only slower (the walk passes the nodes added since).  The memtable
** decides when to build one and frees it (memtable.c).
**
** A search in steps, for a caller that starts other fetches between
** them: skiplist_index_begin (0: the key lacks the common prefix, the
** index cannot help), skiplist_index_find (samples whose words equal the
** key's are ordered by their full keys), skiplist_index_start (a node
** below the key, or the head), skiplist_seek_ge_from that node: the first
** node >= the key, found by walking level 0 for at most
** SKIPLIST_INDEX_WALK_MAX nodes (two strides).  A longer walk means the
** list grew in that gap since the build (a stale index; keys appended
** past the last sample); skiplist_seek_ge_from then gives up (returns 0)
** and the caller searches the list with skiplist_seek_ge, so a seek
** through an index costs at most that many nodes more than one without.
** Each step fetches, without reading, what the next reads.
*/
#define SKIPLIST_INDEX_WALK_MAX 8
typedef struct skiplist_index skiplist_index;
typedef struct skiplist_index_search {
  uint64_t w;                   /* the key's word                        */
  size_t lo, hi;                /* where the first word >= w lies        */
} skiplist_index_search;
skiplist_index *skiplist_index_build(const skiplist*, lsm_env*);   /* NULL: OOM or empty */
void skiplist_index_free(skiplist_index*, lsm_env*);               /* and its older ones */
void skiplist_index_set_older(skiplist_index*, skiplist_index *pOlder);
uint64_t skiplist_index_entries(const skiplist_index*);            /* nodes when built */
int skiplist_index_begin(const skiplist_index*, const uint8_t *pKey, size_t nKey,
                         skiplist_index_search*);
void skiplist_index_find(const skiplist_index*, const uint8_t *pKey, size_t nKey,
                         skiplist_index_search*);
skiplist_node *skiplist_index_start(const skiplist*, const skiplist_index*,
                                    const skiplist_index_search*);
/* Nodes walked (1..SKIPLIST_INDEX_WALK_MAX), *ppFound set; 0: gave up. */
int skiplist_seek_ge_from(const skiplist_node *pStart, const uint8_t *pKey, size_t nKey,
                          skiplist_node **ppFound);

#endif
