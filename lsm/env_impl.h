/*
** env_impl.h — what the two lsm_env implementations share: the file
** handle and the packing of an xListDir answer.  env.c (POSIX) and
** env_memory.c (in-memory) include it; nothing else does (the rest of the
** engine sees lsm_file as opaque).
*/
#ifndef LSM_ENV_IMPL_H
#define LSM_ENV_IMPL_H

#include <stdint.h>

#include "lsm.h"

struct lsm_file {
  lsm_env *pEnv;          /* environment that opened it                  */
  int fd;                 /* POSIX: descriptor; -1 for in-memory files
                          ** and for a read-only file once mapped         */
  int bReadOnly;          /* POSIX: opened with LSM_OPEN_READ            */
  char *zPath;            /* path as opened (for messages)               */
  const uint8_t *pMap;    /* POSIX: mapping made by xMap, or NULL        */
  uint64_t nMap;          /* bytes mapped                                */
  struct memfs_file *pMem;/* in-memory env: the file's buffer            */
  int bPrealloc;          /* POSIX: LSM_OPEN_PREALLOC; then the two below */
  uint64_t nAppended;     /* bytes appended (what xSize reports)         */
  uint64_t nZeroed;       /* the file's size: zeros from nAppended on    */
  int bMapAppend;         /* POSIX: LSM_OPEN_MAPPED_APPEND granted: appends
                          ** are copied into pWindow while they fit      */
  uint8_t *pWindow;       /* writable shared mapping of the file at
                          ** iWindow, nWindow bytes (zeros ahead), or NULL */
  uint64_t iWindow;
  size_t nWindow;
};

/* xListDir's answer: the nName strings of azTmp copied into one
** allocation from pEnv (the pointer array, NULL-terminated, then the
** strings), so the caller frees it with one xFree.  LSM_NOMEM if that
** allocation fails. */
int env_pack_names(lsm_env *pEnv, char **azTmp, int nName, char ***pazName);

#endif /* LSM_ENV_IMPL_H */
