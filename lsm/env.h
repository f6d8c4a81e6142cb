/*
** env.h — internal helpers over lsm_env (declared in lsm.h).
**
** The engine never calls malloc, open, write, fsync or rename directly:
** it goes through these, so a test environment sees every such call.
** The *_rc variants follow the sticky-rc habit: they do nothing when *pRc
** already holds an error, and set it to LSM_NOMEM when they fail.
*/
#ifndef LSM_ENV_H
#define LSM_ENV_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "lsm.h"

void *env_malloc(lsm_env*, size_t n);                 /* NULL on failure  */
void *env_malloc_rc(lsm_env*, size_t n, int *pRc);    /* zeroed           */
void *env_realloc(lsm_env*, void *p, size_t n);
void env_free(lsm_env*, void *p);                     /* p may be NULL    */
char *env_strdup_rc(lsm_env*, const char *z, int *pRc);
/* printf into a new string (free with env_free). */
char *env_mprintf_rc(lsm_env*, int *pRc, const char *zFmt, ...)
  __attribute__((format(printf, 3, 4)));

/* Read a whole file into a new buffer (free with env_free). */
int env_read_file(lsm_env*, const char *zPath, uint8_t **ppData, size_t *pnData);

/*
** Replace zPath's content atomically: write zPath.tmp (removing any
** leftover of that name first, then creating it exclusively), sync it,
** rename it over zPath, sync zDir.  Either the old or the new content
** survives a crash at any point.
*/
int env_write_file_atomic(lsm_env*, const char *zDir, const char *zPath,
                          const void *pData, size_t nData);

/*
** The lock a read-only open takes on zPath (the store's LOCK file).  With
** the default POSIX env: a shared flock(2) on the file opened read-only,
** so that several read-only processes can open a store at once, a user
** without write permission on LOCK can too, and a writer (which takes
** the exclusive lock, xLock) is kept out (LSM_BUSY) and keeps them out.
** Any other env has no shared lock: its xLock is taken.  Release with
** xUnlock as usual.
*/
int env_lock_shared(lsm_env*, const char *zPath, lsm_file **ppLock);

/* An in-memory env's private state is freed by lsm_env_memory_free. */
int env_is_memory(lsm_env*);
/* REQUIRES: env_is_memory(pEnv).  Make the buffer of file zPath hold at
** least nByte bytes, so that appends up to that size neither move nor
** copy it (a file otherwise grows by doubling: each step copies it and
** touches fresh pages).  Contents unchanged; LSM_NOMEM leaves the file as
** it was, LSM_CANTOPEN if there is no such file. */
int env_memory_reserve(lsm_env *pEnv, const char *zPath, size_t nByte);

#endif
