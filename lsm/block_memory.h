/*
** block_memory.h — the memory of a block cache's entries: 2 MiB slabs
** mapped for the cache and advised into huge pages, cut into objects of
** one size class each.
**
** Why not malloc: a cache fills once, right when a store is read for the
** first time (the reads right after the writes), and every block it takes
** then is fresh memory.  On the machines this was measured on a fresh 4 KiB
** page's first write costs 12-21 us (a fault, in a virtual machine), and
** glibc hands a growing heap out a page or so at a time: filling a 128 MiB
** cache took 32,768 faults, on whichever thread missed.  A 2 MiB slab
** advised MADV_HUGEPAGE takes one fault (0.27-0.31 us a 4 KiB page
** measured), and freeing and reusing an object of a known size class is a
** list operation instead of glibc's bin search (README, "The block
** cache's memory in huge-page slabs").  Where the kernel gives no huge
** pages the slab still works, in 4 KiB pages.
**
** Shape: each object is one block_handle and its block (block_cache.c),
** of a size class: steps of BLOCK_MEMORY_GRAIN bytes up to 1 KiB, then 8
** steps per doubling (1152, 1280, ... 2048, 2304, ... 4096, 4608, ...) up
** to BLOCK_MEMORY_MAX_OBJECT (a larger block, a huge value's, comes from
** malloc).  Why classes this coarse: a slab's free objects serve only its
** class, and blocks cut at a target size vary by an entry's bytes around
** it (4 KiB blocks of 120-byte entries: 4,168 to 4,290 bytes with their
** header).  With 128-byte steps those fell in two classes, and as the
** two classes' shares moved, the free objects of one piled up while the
** other mapped new slabs: a 32 MiB cache held 48 MiB of slabs after
** 400,000 gets.  In one class, its slack (at most 1/8, charged to the
** entry) is the price.  A slab holds objects of one class; its header is
** its first bytes, so an object finds its slab by rounding its address
** down to the slab size.  A slab left with no object in use is kept for
** whichever class asks next if it is the only empty one, else unmapped.
**
** Bound: the owner sets a limit on the bytes of slabs
** (block_memory_set_limit); past it an allocation that would map a new
** slab fails, so free objects stranded in one class cannot grow the
** slabs without end.  The owner then moves a slab to the class that has
** no room, as memcached's slab rebalancer moves pages: it asks for the
** slab with the fewest objects in use of those it can empty
** (block_memory_slabs_in_use lists the candidates), frees them (a
** block cache: its idle entries there), and the slab, empty, serves the
** next allocation of any class (block_cache.c, move_slab), or frees an
** object of the class itself (evict_own_class: block_memory_class_bytes
** names the class of an object's size).
** Without that, the cache's charge counted the objects in use but not
** the free ones a slab holds, so when the blocks' sizes moved from one
** class to another after the slabs reached the limit, malloc served the
** new class on top (a review's driver: 38 MiB of slabs and 24 MiB of
** malloc for a 32 MiB cache, blocks of 4.2 KiB then 8.4 KiB).
**
** Lifetime: the owner (a block cache) makes one with block_memory_new and
** drops it with block_memory_release; an object still in use then keeps
** the slabs alive, and the last block_memory_free releases everything.
**
** Locking: one mutex per block_memory, held for list updates only and
** innermost (nothing else is locked under it).
*/
#ifndef LSM_BLOCK_MEMORY_H
#define LSM_BLOCK_MEMORY_H

#include <stddef.h>
#include <stdint.h>

typedef struct block_memory block_memory;

#define BLOCK_MEMORY_SLAB_BYTES  ((size_t)2 << 20)   /* a huge page         */
#define BLOCK_MEMORY_GRAIN       ((size_t)128)       /* size class step     */
#define BLOCK_MEMORY_MAX_OBJECT  ((size_t)32 << 10)  /* larger: malloc      */
#define BLOCK_MEMORY_CLASSES     48                  /* 8 steps to 1 KiB, 8
                                                     ** per doubling to 32 */

/* A new allocator with no slab yet and no limit; NULL on OOM. */
block_memory *block_memory_new(void);

/* No new slab is mapped while the slabs hold nLimit bytes or more. */
void block_memory_set_limit(block_memory*, uint64_t nLimit);

/* Drop the owner's reference: everything is freed now if no object is in
** use, else by the free of the last one.  NULL is a no-op. */
void block_memory_release(block_memory*);

/*
** An object of at least n bytes (*pnUsable: its size, n rounded up to
** its class: less than n/8 more above 1 KiB), aligned to 64 bytes; NULL
** if n is 0 or above BLOCK_MEMORY_MAX_OBJECT, or its class has no room
** and a new slab would pass the limit or cannot be mapped (the caller
** then uses malloc).
*/
void *block_memory_alloc(block_memory*, size_t n, size_t *pnUsable);

/* The bytes of the object block_memory_alloc gives for n bytes (n
** rounded up to its size class), or 0 if n is 0 or above
** BLOCK_MEMORY_MAX_OBJECT.  Every object of a class has this size. */
size_t block_memory_class_bytes(size_t n);
/* The index of that class, in [0, BLOCK_MEMORY_CLASSES), or -1. */
int block_memory_class_index(size_t n);
/* Bytes of p's slabs not in objects in use: free objects, slab space not
** yet cut, headers (read without the lock: a hint).  0 for NULL. */
uint64_t block_memory_idle_bytes(block_memory *p);
/* Give back an object of block_memory_alloc (of any block_memory). */
void block_memory_free(void *pObject);

/* The slab an object of block_memory_alloc is in (an address to compare,
** never to dereference). */
static inline const void *block_memory_slab_of(const void *pObject){
  return (const void*)((uintptr_t)pObject & ~(uintptr_t)(BLOCK_MEMORY_SLAB_BYTES - 1));
}

/* A slab, as block_memory_slabs_in_use lists it. */
typedef struct block_memory_slab {
  const void *pSlab;          /* as block_memory_slab_of names it          */
  uint32_t nLive;             /* its objects in use                        */
} block_memory_slab;

/* Up to nMax of the slabs that hold objects in use, other than the slabs
** of the class of an n-byte object, into a[] (in no order); returns how
** many.  Emptied by its owner, such a slab serves the next allocation of
** whichever class asks. */
int block_memory_slabs_in_use(block_memory*, size_t n, block_memory_slab *a, int nMax);

/* Bytes mapped for p's slabs now (0 for NULL). */
uint64_t block_memory_bytes(block_memory *p);

/* Bytes mapped for slabs by every block_memory of the process: memory in
** use that malloc's statistics (mallinfo2) do not count. */
uint64_t block_memory_mapped_bytes(void);

#endif
