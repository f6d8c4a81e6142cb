/*
** error.c — the engine's error messages.
**
** Owns lsm_errstr() (the one place a code becomes text) and the per-thread
** message buffer that error_raise() fills and lsm_errmsg() returns.
*/
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERROR_MSG_MAX 512

static _Thread_local char g_zMessage[ERROR_MSG_MAX];  /* last message of this thread */
static _Thread_local int g_iLine;                      /* engine line that raised it  */

int error_raise(int rc, int iLine, const char *zFmt, ...){
  va_list ap;
  va_start(ap, zFmt);
  vsnprintf(g_zMessage, sizeof(g_zMessage), zFmt, ap);
  va_end(ap);
  g_iLine = iLine;
  return rc;
}

int lsm_env_error(int rc, const char *zFmt, ...){
  va_list ap;
  va_start(ap, zFmt);
  vsnprintf(g_zMessage, sizeof(g_zMessage), zFmt, ap);
  va_end(ap);
  g_iLine = 0;
  return rc;
}

void error_clear(void){
  g_zMessage[0] = 0;
  g_iLine = 0;
}

const char *error_message(void){
  return g_zMessage;
}

void error_prefix(const char *zPrefix){
  char zOld[ERROR_MSG_MAX];
  memcpy(zOld, g_zMessage, sizeof(zOld));
  snprintf(g_zMessage, sizeof(g_zMessage), "%s%s", zPrefix, zOld);
}

const char *lsm_errstr(int rc){
  switch( rc ){
    case LSM_OK:       return "not an error";
    case LSM_ERROR:    return "error";
    case LSM_BUSY:     return "the store is locked";
    case LSM_NOMEM:    return "out of memory";
    case LSM_READONLY: return "the store is read-only";
    case LSM_IOERR:    return "disk I/O error";
    case LSM_CORRUPT:  return "the store is corrupt";
    case LSM_NOTFOUND: return "not found";
    case LSM_FULL:     return "the disk is full";
    case LSM_CANTOPEN: return "unable to open the store";
    case LSM_TOOBIG:   return "key or value too big";
    case LSM_MISUSE:   return "API misuse";
    default:           return "unknown error";
  }
}

const char *lsm_errmsg(lsm_db *pDb){
  (void)pDb;
  return g_zMessage[0] ? g_zMessage : "not an error";
}
