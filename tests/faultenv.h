/*
** faultenv.h — a fault-injecting lsm_env for tests.
**
** faultenv wraps another environment (lsm_env_default() unless told
** otherwise) and passes every call through, while it
**
**   1. counts calls per class (FAULTENV_ALLOC .. FAULTENV_CLOSE below),
**      and the files open now and at most;
**   2. fails on request the Nth call of one class, or of any I/O class,
**      and optionally every later one too: I/O calls return the rc asked
**      for (LSM_IOERR, LSM_FULL, ...) without doing anything, allocations
**      return NULL (LSM_NOMEM at the caller);
**   3. runs out of disk space on request: an append that would pass the
**      budget fails with LSM_FULL and writes nothing;
**   4. simulates a power cut (LevelDB's DropUnsyncedFileData, plus the
**      directory half):
**        - per file written through it, it remembers how many bytes were
**          made durable by xSync (a file opened with LSM_OPEN_WRITE starts
**          at 0; one opened with LSM_OPEN_APPEND starts at its size);
**        - it logs every create, rename and unlink, and forgets the entries
**          for a directory when that directory is xSyncDir'ed;
**        - faultenv_crash() cuts every such file back to its synced length,
**          then undoes the logged name changes newest first: a rename is
**          moved back (restoring the synced content of a file it replaced),
**          an unlinked file comes back with its synced content (files over
**          FAULTENV_MAX_SAVE bytes cannot come back), a created file goes.
**      A directory is the part of a path before its last '/', so paths
**      must name the directory the same way xSyncDir is given it (the
**      engine builds every path as zDir + "/" + name, so they do).
**      faultenv_set_dir_model(p, 0) turns the directory half off.
**   5. holds threads, to force an interleaving of the engine's threads: a
**      thread that opens a file named *.sst for writing (LSM_OPEN_WRITE)
**      can be made to wait there until the test lets it go.  Two groups
**      of threads are armed apart:
**        FAULTENV_HOLD_FIRST   the first thread other than the one that
**                              made the env to open such a file (with
**                              background work on, the flush thread,
**                              once the test's first lsm_flush has made
**                              it write a table);
**        FAULTENV_HOLD_OTHERS  every other thread (the compaction thread).
**      The thread that made the env is never held.  A held thread waits
**      at most FAULTENV_HOLD_TIMEOUT_S, then goes on and the timeout is
**      recorded (faultenv_hold_timed_out), so a test that loses track of
**      a thread fails instead of hanging.
**
** Power-cut recipe (the old instance never writes after the cut):
**
**     faultenv_freeze(fe);    power is off: from here on every call that
**                             would change the disk fails with LSM_IOERR
**                             and does nothing (reads still work)
**     lsm_close(pDb);         the old instance frees its memory
**     faultenv_crash(fe);     the disk as the power cut left it; the env
**                             works normally again
**     lsm_open(zDir, ...);    recovery runs against that state
**
** faultenv_crash() alone (no freeze) is fine when nothing is open.
** The crash is applied with the wrapped env's own calls, so it works over
** lsm_env_memory() too.  Lock files are passed through untouched (xLock
** is counted and can fail; xUnlock is the wrapped env's own).
**
** Thread safety: every counter, the failure rule, the holds and the
** bookkeeping are guarded by one mutex, so an engine using the env from
** several threads is fine.  faultenv_crash() and faultenv_free() need a
** quiescent engine.
*/
#ifndef LSM_FAULTENV_H
#define LSM_FAULTENV_H

#include <stddef.h>
#include <stdint.h>

#include "lsm.h"

/* Call classes. */
#define FAULTENV_ALLOC    0   /* xMalloc, xRealloc (failure: NULL)    */
#define FAULTENV_OPEN     1   /* xOpen                                */
#define FAULTENV_READ     2   /* xRead                                */
#define FAULTENV_APPEND   3   /* xAppend                              */
#define FAULTENV_SYNC     4   /* xSync                                */
#define FAULTENV_SIZE     5   /* xSize                                */
#define FAULTENV_MAP      6   /* xMap                                 */
#define FAULTENV_RENAME   7   /* xRename                              */
#define FAULTENV_UNLINK   8   /* xUnlink                              */
#define FAULTENV_SYNCDIR  9   /* xSyncDir                             */
#define FAULTENV_MKDIR   10   /* xMkdir                               */
#define FAULTENV_RMDIR   11   /* xRmdir                               */
#define FAULTENV_LISTDIR 12   /* xListDir                             */
#define FAULTENV_EXISTS  13   /* xExists                              */
#define FAULTENV_LOCK    14   /* xLock                                */
#define FAULTENV_CLOSE   15   /* xClose: counted, never failed        */
#define FAULTENV_NCLASS  16
#define FAULTENV_ANY_IO  16   /* any class but ALLOC and CLOSE        */

#define FAULTENV_MAX_SAVE (64u * 1024 * 1024)  /* largest file an undo restores */

typedef struct faultenv faultenv;

/* A new fault env over pBase (NULL: lsm_env_default()).  Owned: free
** with faultenv_free once nothing uses it.  Aborts on OOM (test code). */
faultenv *faultenv_new(lsm_env *pBase);
void faultenv_free(faultenv*);

/* The environment to hand to the engine.  Borrowed: lives as long as p. */
lsm_env *faultenv_env(faultenv *p);

/* Calls of eClass (or FAULTENV_ANY_IO: of all I/O classes) since the
** last reset, failed ones included. */
uint64_t faultenv_count(faultenv*, int eClass);
void faultenv_reset_counts(faultenv*);
/* The largest single allocation asked for since the last reset. */
size_t faultenv_max_alloc(faultenv*);
/* Files opened through the env and not closed yet (lock files not
** counted), and the most open at once since the last reset. */
int faultenv_files_open(faultenv*);
int faultenv_files_peak(faultenv*);

/*
** Fail the iNth call (1 = the next one) of eClass, counted from now, with
** rc (ignored for FAULTENV_ALLOC, which returns NULL); with bPersist,
** every later call of the class fails too.  One rule at a time: a new one
** replaces the old.  faultenv_fail_clear() removes it.
*/
void faultenv_fail(faultenv*, int eClass, uint64_t iNth, int rc, int bPersist);
void faultenv_fail_clear(faultenv*);
/* Failures injected so far (rule, space budget; not freeze). */
uint64_t faultenv_nfailed(faultenv*);

/* Bytes that may still be appended before appends fail with LSM_FULL;
** UINT64_MAX (the default) for no limit. */
void faultenv_set_space(faultenv*, uint64_t nBytes);

/* 1 (default): crashes also undo name changes not followed by xSyncDir. */
void faultenv_set_dir_model(faultenv*, int bOn);

/* 1 (default): xSync and xSyncDir reach the wrapped env.  0: they are
** counted and succeed at once, for tests that need no durability and
** would rather not pay for fsync; a crash then keeps nothing unsynced. */
void faultenv_set_sync(faultenv*, int bOn);

/* Power is off: calls that change the disk fail with LSM_IOERR. */
void faultenv_freeze(faultenv*);

/* Apply the power cut described above and work normally again.  Every
** file on disk then counts as durable. */
void faultenv_crash(faultenv*);

/* ---- holds (5. above) ---- */
#define FAULTENV_HOLD_FIRST   0   /* the first thread to write an .sst    */
#define FAULTENV_HOLD_OTHERS  1   /* every other thread but the env maker */
#define FAULTENV_HOLD_TIMEOUT_S 10

/* Arm a hold on group eWho: with bOnce, the group's next .sst write open
** waits; otherwise every one does, until faultenv_release. */
void faultenv_hold(faultenv*, int eWho, int bOnce);
/* Disarm eWho's hold and let every thread it holds go on. */
void faultenv_release(faultenv*, int eWho);
/* Wait until a thread of eWho is held: 1, or 0 after the timeout. */
int faultenv_wait_held(faultenv*, int eWho);
/* 1 once FAULTENV_HOLD_FIRST's thread is known (it opened an .sst). */
int faultenv_first_writer_known(faultenv*);
/* 1 if a held thread ever ran out of time and went on unreleased. */
int faultenv_hold_timed_out(faultenv*);

#endif
