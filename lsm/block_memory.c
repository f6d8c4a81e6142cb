/*
** block_memory.c — 2 MiB slabs of size-classed objects for the block
** cache's entries (block_memory.h says why and what).
**
** A slab, BLOCK_MEMORY_SLAB_BYTES long and aligned to its size:
**
**   +--------------+----------+----------+-----+----------+-------------+
**   | slab header  | object 0 | object 1 | ... | object k | never carved |
**   | (SLAB_HEADER |  nObject bytes each, from byte SLAB_HEADER          |
**   |  bytes)      |                                                    |
**   +--------------+----------+----------+-----+----------+-------------+
**
** Objects are carved from the never-used end as they are first needed
** (iCarve), so a slab's untouched pages stay unfaulted; a freed object
** goes on its slab's free list (linked through its first word) and is
** handed out again before anything new is carved.
**
** Invariants (under block_memory.mutex):
**   1. A slab is in its class's aAvail list iff it has a free object or
**      room to carve one, else in pFull; a slab with no object in use is
**      either in its aAvail list or is pEmpty (at most one), never both.
**   2. nLive of a slab counts its objects handed out and not freed;
**      block_memory.nLive is the sum over its slabs.
**   3. Every slab of an allocator is in some aAvail list, is pEmpty, or is
**      in pFull (nLive objects in use, none free): a full slab holds
**      objects in use, so when nLive is 0 pFull is empty.
*/
#include "block_memory.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Under AddressSanitizer an object's bytes are poisoned while it is free
** and a slab's never-carved bytes from the start: a read of a block after
** its handle was freed, or past the end of a block into a free neighbour,
** faults as it would on malloc's memory. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define MEM_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define MEM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define MEM_POISON(p, n)   ((void)(p), (void)(n))
#define MEM_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Classes: 8 of GRAIN steps up to 1 KiB, then 8 per doubling up to
** 32 KiB (block_memory.h: why). */
#define LINEAR_CLASSES 8
#define N_CLASSES (LINEAR_CLASSES + 8 * 5)
_Static_assert(N_CLASSES == BLOCK_MEMORY_CLASSES, "block_memory.h counts the classes");
_Static_assert(((size_t)1024 << 5) == BLOCK_MEMORY_MAX_OBJECT, "5 doublings to the largest");
_Static_assert(LINEAR_CLASSES * BLOCK_MEMORY_GRAIN == 1024, "linear classes up to 1 KiB");
#define SLAB_HEADER ((size_t)128)    /* sizeof(slab) rounded to a grain */

typedef struct slab slab;
struct slab {
  block_memory *pOwner;
  slab *pPrev, *pNext;        /* in pOwner->aAvail[iClass] or pFull
                              ** (invariant 1)                             */
  void *pFree;                /* free objects, linked through their first
                              ** word                                      */
  uint32_t nObject;           /* bytes per object                          */
  uint32_t iClass;            /* class_size(iClass) == nObject             */
  uint32_t iCarve;            /* offset of the first never-used byte       */
  uint32_t nLive;             /* objects in use                            */
};

struct block_memory {
  pthread_mutex_t mutex;      /* guards everything below                   */
  slab *aAvail[N_CLASSES];    /* slabs with room, per class                */
  slab *pFull;                /* slabs with no room                        */
  slab *pEmpty;               /* a slab with nothing in use, kept          */
  uint64_t nLive;             /* objects in use (invariant 2)              */
  _Atomic uint64_t nLiveBytes; /* their bytes (read unlocked)              */
  _Atomic uint64_t nMapped;   /* bytes of its slabs (read unlocked)        */
  _Atomic uint64_t nLimit;    /* no new slab at nMapped >= nLimit (set and
                              ** read unlocked: a hint kept by the owner)  */
  int bReleased;              /* the owner has dropped it                  */
};

_Static_assert(sizeof(slab) <= SLAB_HEADER, "slab header fits its space");
_Static_assert(SLAB_HEADER % 64 == 0 && BLOCK_MEMORY_GRAIN % 64 == 0,
               "objects aligned to 64 bytes");

static _Atomic uint64_t g_nMapped;   /* block_memory_mapped_bytes */

uint64_t block_memory_mapped_bytes(void){
  return atomic_load_explicit(&g_nMapped, memory_order_relaxed);
}

/* A slab-aligned mapping of one slab, advised into a huge page; NULL if
** the system has no memory for it.  mmap aligns to 4 KiB only: map twice
** the size and give back the unaligned ends. */
static slab *slab_map(block_memory *p){
  const size_t nSlab = BLOCK_MEMORY_SLAB_BYTES;
  uint8_t *pRaw, *pAligned;
  size_t nHead;
  pRaw = mmap(NULL, 2 * nSlab, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if( pRaw == MAP_FAILED ) return NULL;
  pAligned = (uint8_t*)(((uintptr_t)pRaw + nSlab - 1) & ~(uintptr_t)(nSlab - 1));
  nHead = (size_t)(pAligned - pRaw);
  if( nHead ) munmap(pRaw, nHead);
  munmap(pAligned + nSlab, nSlab - nHead);
#ifdef MADV_HUGEPAGE
  /* Advice only: without transparent huge pages it fails or does nothing,
  ** and the slab is ordinary pages. */
  (void)madvise(pAligned, nSlab, MADV_HUGEPAGE);
#endif
  MEM_POISON(pAligned + SLAB_HEADER, nSlab - SLAB_HEADER);
  atomic_fetch_add_explicit(&g_nMapped, nSlab, memory_order_relaxed);
  atomic_fetch_add_explicit(&p->nMapped, nSlab, memory_order_relaxed);
  return (slab*)pAligned;
}

/* Count s as gone from p (under p's mutex, or with p about to be freed). */
static void slab_uncount(block_memory *p){
  atomic_fetch_sub_explicit(&g_nMapped, BLOCK_MEMORY_SLAB_BYTES, memory_order_relaxed);
  atomic_fetch_sub_explicit(&p->nMapped, BLOCK_MEMORY_SLAB_BYTES, memory_order_relaxed);
}

/* Give s back to the system.  REQUIRES: slab_uncount done; s is no longer
** reachable from its allocator (which may be freed already). */
static void slab_unmap(slab *s){
  MEM_UNPOISON((uint8_t*)s + SLAB_HEADER, BLOCK_MEMORY_SLAB_BYTES - SLAB_HEADER);
  munmap(s, BLOCK_MEMORY_SLAB_BYTES);
}

uint64_t block_memory_bytes(block_memory *p){
  return p ? atomic_load_explicit(&p->nMapped, memory_order_relaxed) : 0;
}

/* The bytes of an object of class i. */
static size_t class_size(uint32_t i){
  size_t nBase, nStep;
  if( i < LINEAR_CLASSES ) return (i + 1) * BLOCK_MEMORY_GRAIN;
  i -= LINEAR_CLASSES;
  nBase = (size_t)1024 << (i / 8);
  nStep = nBase / 8;
  return nBase + (i % 8 + 1) * nStep;
}

/* The smallest class holding n bytes.  REQUIRES 0 < n <= MAX_OBJECT. */
static uint32_t class_of(size_t n){
  uint32_t j = 0;
  size_t nBase = 1024;
  if( n <= 1024 ) return (uint32_t)((n + BLOCK_MEMORY_GRAIN - 1) / BLOCK_MEMORY_GRAIN - 1);
  while( n > 2 * nBase ){ nBase *= 2; j++; }   /* nBase < n <= 2 nBase */
  return LINEAR_CLASSES + 8 * j + (uint32_t)((n - nBase + nBase / 8 - 1) / (nBase / 8)) - 1;
}

size_t block_memory_class_bytes(size_t n){
  return n == 0 || n > BLOCK_MEMORY_MAX_OBJECT ? 0 : class_size(class_of(n));
}

int block_memory_class_index(size_t n){
  return n == 0 || n > BLOCK_MEMORY_MAX_OBJECT ? -1 : (int)class_of(n);
}

uint64_t block_memory_idle_bytes(block_memory *p){
  uint64_t nMapped, nLive;
  if( p == NULL ) return 0;
  nMapped = atomic_load_explicit(&p->nMapped, memory_order_relaxed);
  nLive = atomic_load_explicit(&p->nLiveBytes, memory_order_relaxed);
  return nMapped > nLive ? nMapped - nLive : 0;
}

/* (Re)start s empty, for objects of class iClass. */
static void slab_format(block_memory *p, slab *s, uint32_t iClass){
  s->pOwner = p;
  s->pPrev = s->pNext = NULL;
  s->pFree = NULL;
  s->iClass = iClass;
  s->nObject = (uint32_t)class_size(iClass);
  s->iCarve = (uint32_t)SLAB_HEADER;
  s->nLive = 0;
}

static int slab_has_room(const slab *s){
  return s->pFree != NULL || s->iCarve + s->nObject <= BLOCK_MEMORY_SLAB_BYTES;
}

static void list_push(slab **ppHead, slab *s){
  s->pPrev = NULL;
  s->pNext = *ppHead;
  if( *ppHead ) (*ppHead)->pPrev = s;
  *ppHead = s;
}

static void list_remove(slab **ppHead, slab *s){
  if( s->pPrev ) s->pPrev->pNext = s->pNext;
  else *ppHead = s->pNext;
  if( s->pNext ) s->pNext->pPrev = s->pPrev;
  s->pPrev = s->pNext = NULL;
}

static void avail_push(block_memory *p, slab *s){ list_push(&p->aAvail[s->iClass], s); }
static void avail_remove(block_memory *p, slab *s){ list_remove(&p->aAvail[s->iClass], s); }

block_memory *block_memory_new(void){
  block_memory *p = calloc(1, sizeof(*p));
  if( p ){
    pthread_mutex_init(&p->mutex, NULL);
    atomic_init(&p->nLimit, UINT64_MAX);
  }
  return p;
}

void block_memory_set_limit(block_memory *p, uint64_t nLimit){
  if( p ) atomic_store_explicit(&p->nLimit, nLimit, memory_order_relaxed);
}

/* Unmap every slab and free p.  REQUIRES p->nLive == 0 (invariant 3: every
** slab is then in a list or pEmpty). */
static void memory_destroy(block_memory *p){
  size_t i;
  assert( p->nLive == 0 );
  for(i = 0; i < N_CLASSES; i++){
    while( p->aAvail[i] ){
      slab *s = p->aAvail[i];
      avail_remove(p, s);
      slab_uncount(p);
      slab_unmap(s);
    }
  }
  if( p->pEmpty ){
    slab_uncount(p);
    slab_unmap(p->pEmpty);
  }
  pthread_mutex_destroy(&p->mutex);
  free(p);
}

void block_memory_release(block_memory *p){
  int bDestroy;
  if( p == NULL ) return;
  pthread_mutex_lock(&p->mutex);
  p->bReleased = 1;
  bDestroy = p->nLive == 0;
  pthread_mutex_unlock(&p->mutex);
  if( bDestroy ) memory_destroy(p);
}

void *block_memory_alloc(block_memory *p, size_t n, size_t *pnUsable){
  uint32_t iClass;
  slab *s;
  uint8_t *pObject;
  if( n == 0 || n > BLOCK_MEMORY_MAX_OBJECT ) return NULL;
  iClass = class_of(n);
  pthread_mutex_lock(&p->mutex);
  s = p->aAvail[iClass];
  if( s == NULL ){
    /* The kept empty slab first; mapping happens under the mutex, once per
    ** 2 MiB of growth, so other threads wait for that only. */
    s = p->pEmpty;
    p->pEmpty = NULL;
    if( s == NULL && atomic_load_explicit(&p->nMapped, memory_order_relaxed)
                     < atomic_load_explicit(&p->nLimit, memory_order_relaxed) ){
      s = slab_map(p);
    }
    if( s == NULL ){
      pthread_mutex_unlock(&p->mutex);
      return NULL;
    }
    slab_format(p, s, iClass);
    avail_push(p, s);
  }
  if( s->pFree ){
    pObject = s->pFree;
    MEM_UNPOISON(pObject, s->nObject);
    memcpy(&s->pFree, pObject, sizeof(void*));
  }else{
    pObject = (uint8_t*)s + s->iCarve;
    MEM_UNPOISON(pObject, s->nObject);
    s->iCarve += s->nObject;
  }
  s->nLive++;
  p->nLive++;
  atomic_store_explicit(&p->nLiveBytes,
                        atomic_load_explicit(&p->nLiveBytes, memory_order_relaxed) + s->nObject,
                        memory_order_relaxed);
  if( !slab_has_room(s) ){
    avail_remove(p, s);
    list_push(&p->pFull, s);
  }
  *pnUsable = s->nObject;
  pthread_mutex_unlock(&p->mutex);
  return pObject;
}

int block_memory_slabs_in_use(block_memory *p, size_t n, block_memory_slab *a, int nMax){
  uint32_t iSkip, i;
  const slab *s;
  int nOut = 0;
  if( p == NULL ) return 0;
  iSkip = n > 0 && n <= BLOCK_MEMORY_MAX_OBJECT ? class_of(n) : N_CLASSES;
  pthread_mutex_lock(&p->mutex);
  /* Every slab with an object in use is in its class's list or in pFull
  ** (invariants 1 and 3); pEmpty has none. */
  for(i = 0; i <= N_CLASSES; i++){
    for(s = i < N_CLASSES ? p->aAvail[i] : p->pFull; s && nOut < nMax; s = s->pNext){
      if( s->iClass == iSkip ) continue;
      a[nOut].pSlab = s;
      a[nOut].nLive = s->nLive;
      nOut++;
    }
  }
  pthread_mutex_unlock(&p->mutex);
  return nOut;
}

void block_memory_free(void *pObject){
  slab *s = (slab*)(uintptr_t)block_memory_slab_of(pObject);
  block_memory *p = s->pOwner;
  slab *pUnmap = NULL;
  int bDestroy;
  pthread_mutex_lock(&p->mutex);
  assert( s->nLive > 0 && p->nLive > 0 );
  if( !slab_has_room(s) ){
    list_remove(&p->pFull, s);
    avail_push(p, s);
  }
  memcpy(pObject, &s->pFree, sizeof(void*));
  s->pFree = pObject;
  MEM_POISON(pObject, s->nObject);
  s->nLive--;
  p->nLive--;
  atomic_store_explicit(&p->nLiveBytes,
                        atomic_load_explicit(&p->nLiveBytes, memory_order_relaxed) - s->nObject,
                        memory_order_relaxed);
  if( s->nLive == 0 ){
    /* Empty: kept as the one spare slab (any class may take it), or given
    ** back to the system if one is kept already. */
    avail_remove(p, s);
    if( p->pEmpty == NULL ){
      p->pEmpty = s;
    }else{
      /* Uncounted now: after the unlock p may be freed by another
      ** thread's last free (review: a use after free, when p was
      ** touched after the unlock). */
      slab_uncount(p);
      pUnmap = s;
    }
  }
  bDestroy = p->bReleased && p->nLive == 0;
  pthread_mutex_unlock(&p->mutex);
  if( pUnmap ) slab_unmap(pUnmap);
  if( bDestroy ) memory_destroy(p);
}
