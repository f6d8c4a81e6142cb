/*
** error.h — where every engine error is raised.
**
** An error code is invented in exactly one place: the site that first
** sees the problem calls one of the macros below, which records a message
** (and, for corruption, the source line) in a per-thread buffer.  Every
** other site just propagates the integer code.  lsm_errmsg() reads the
** buffer back; `break error_raise` in gdb stops where a bad byte was seen.
**
** Thread safety: the message buffer is thread-local.
*/
#ifndef LSM_ERROR_H
#define LSM_ERROR_H

#include "lsm.h"

/* Record a printf-style message for rc and return rc. */
int error_raise(int rc, int iLine, const char *zFmt, ...)
  __attribute__((format(printf, 3, 4)));

#define LSM_CORRUPT_BKPT(...)  error_raise(LSM_CORRUPT, __LINE__, __VA_ARGS__)
#define LSM_IOERR_BKPT(...)    error_raise(LSM_IOERR, __LINE__, __VA_ARGS__)
#define LSM_ERROR_MSG(rc, ...) error_raise((rc), __LINE__, __VA_ARGS__)

/* Forget the message (called at the start of each public API call that
** reports errors, so a stale message is never shown). */
void error_clear(void);

/* The current thread's message, "" if none.  Borrowed. */
const char *error_message(void);

/* Prefix the current message with zPrefix ("000012.sst: " + old message).
** Used by callers that know a file name the raiser did not. */
void error_prefix(const char *zPrefix);

#endif
