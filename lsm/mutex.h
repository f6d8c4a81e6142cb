/*
** mutex.h — a pthread mutex that knows its owner, so that a function
** documented "REQUIRES mutex held" can assert it.
**
** LevelDB marks such functions EXCLUSIVE_LOCKS_REQUIRED and lets clang's
** -Wthread-safety check them; we build with gcc, so the check runs at
** run time instead: every lock records the owning thread, every unlock
** clears it, and mutex_assert_held fails an assert() when the caller is
** not the owner.  With NDEBUG the owner is not tracked and the wrapper is
** a plain pthread mutex.
**
** Thread safety: owner is written only by the thread holding the mutex
** and read (by mutex_assert_held) by a thread that claims to hold it, so
** a relaxed atomic suffices: a thread that does hold it reads its own
** write.
*/
#ifndef LSM_MUTEX_H
#define LSM_MUTEX_H

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct checked_mutex {
  pthread_mutex_t m;            /* the lock                                 */
#ifndef NDEBUG
  atomic_uintptr_t owner;       /* pthread_self() of the holder, or 0       */
#endif
} checked_mutex;

static inline void mutex_init(checked_mutex *p){
  pthread_mutex_init(&p->m, NULL);
#ifndef NDEBUG
  atomic_init(&p->owner, 0);
#endif
}

static inline void mutex_destroy(checked_mutex *p){
  pthread_mutex_destroy(&p->m);
}

static inline void mutex_note_owner(checked_mutex *p, int bHeld){
#ifndef NDEBUG
  atomic_store_explicit(&p->owner, bHeld ? (uintptr_t)pthread_self() : 0,
                        memory_order_relaxed);
#else
  (void)p; (void)bHeld;
#endif
}

static inline void mutex_lock(checked_mutex *p){
  pthread_mutex_lock(&p->m);
  mutex_note_owner(p, 1);
}

static inline void mutex_unlock(checked_mutex *p){
  mutex_note_owner(p, 0);
  pthread_mutex_unlock(&p->m);
}

/* Wait on pCond, releasing p meanwhile.  REQUIRES p held. */
static inline void mutex_cond_wait(pthread_cond_t *pCond, checked_mutex *p){
  mutex_note_owner(p, 0);
  pthread_cond_wait(pCond, &p->m);
  mutex_note_owner(p, 1);
}

/* The same, returning by the absolute time pDeadline at the latest, on
** the clock pCond was made with.  REQUIRES p held. */
static inline void mutex_cond_timedwait(pthread_cond_t *pCond, checked_mutex *p,
                                        const struct timespec *pDeadline){
  mutex_note_owner(p, 0);
  pthread_cond_timedwait(pCond, &p->m, pDeadline);
  mutex_note_owner(p, 1);
}

/* Assert that the calling thread holds p (no-op with NDEBUG). */
static inline void mutex_assert_held(checked_mutex *p){
#ifndef NDEBUG
  assert(atomic_load_explicit(&p->owner, memory_order_relaxed)
         == (uintptr_t)pthread_self());
#else
  (void)p;
#endif
}

#endif
