/*
** env_memory.c — the in-memory file system (lsm_env_memory, lsm.h): the
** env of ':memory:' stores and of fast tests.
**
** Files are growable heap buffers in one list, directories a list of
** names, all under one mutex; nothing touches the disk.  It implements
** every lsm_env method but allocation, which it takes from the POSIX env
** (lsm_env_default, env.c).  An unlinked file lives on while a handle
** references it, and a rename over an existing file replaces it, both as
** on POSIX, so the engine behaves the same on either env.  Locks exclude
** nothing: no other process can see a private file system.
**
** Errors: opening a missing file for reading, or an existing one with
** LSM_OPEN_EXCL, is LSM_CANTOPEN and renaming a missing file LSM_IOERR,
** each with a message naming the path; a failed allocation is LSM_NOMEM.
*/
#include "env.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "env_impl.h"
#include "error.h"

static const uint8_t g_aEmpty[1];   /* what an empty file maps to */

/*
** Invariants: every memfs_file is in memfs.pFile's list until it is
** unlinked; an unlinked file lives on while handles reference it (nRef),
** like a POSIX inode.  A mapped file must not be appended to (the engine
** only maps finished SSTables).
*/
typedef struct memfs_file memfs_file;
struct memfs_file {
  char *zPath;            /* NULL once unlinked                    */
  uint8_t *a;             /* contents                              */
  size_t n, nAlloc;       /* bytes used / allocated                */
  int nRef;               /* open handles + 1 while linked         */
  memfs_file *pNext;      /* next linked file                      */
};

typedef struct memfs_dir memfs_dir;
struct memfs_dir {
  char *zPath;
  memfs_dir *pNext;
};

typedef struct memfs {
  lsm_env env;            /* must be first: lsm_env* is a memfs*   */
  pthread_mutex_t mutex;  /* guards everything below and file data */
  memfs_file *pFile;      /* linked files                          */
  memfs_dir *pDir;        /* directories                           */
} memfs;

static memfs *memfs_of(lsm_env *pEnv){ return (memfs*)pEnv; }

static memfs_file *memfs_find(memfs *pFs, const char *zPath){
  memfs_file *p;
  for(p = pFs->pFile; p; p = p->pNext) if( strcmp(p->zPath, zPath) == 0 ) return p;
  return NULL;
}

static memfs_dir *memfs_find_dir(memfs *pFs, const char *zPath){
  memfs_dir *p;
  for(p = pFs->pDir; p; p = p->pNext) if( strcmp(p->zPath, zPath) == 0 ) return p;
  return NULL;
}

static void memfs_file_unref(memfs_file *p){
  if( --p->nRef == 0 ){
    free(p->a);
    free(p->zPath);
    free(p);
  }
}

static void memfs_unlink_locked(memfs *pFs, memfs_file *pTarget){
  memfs_file **pp;
  for(pp = &pFs->pFile; *pp; pp = &(*pp)->pNext){
    if( *pp == pTarget ){
      *pp = pTarget->pNext;
      memfs_file_unref(pTarget);
      return;
    }
  }
}

static int memfs_open(lsm_env *pEnv, const char *zPath, int flags, lsm_file **ppFile){
  memfs *pFs = memfs_of(pEnv);
  memfs_file *pF;
  lsm_file *p;
  int rc = LSM_OK;
  *ppFile = NULL;
  p = calloc(1, sizeof(*p) + strlen(zPath) + 1);
  if( p == NULL ) return LSM_NOMEM;
  pthread_mutex_lock(&pFs->mutex);
  pF = memfs_find(pFs, zPath);
  if( pF == NULL && (flags & LSM_OPEN_READ) ){
    rc = error_raise(LSM_CANTOPEN, __LINE__, "cannot open %s: no such file", zPath);
  }else if( pF && (flags & LSM_OPEN_EXCL) ){
    rc = error_raise(LSM_CANTOPEN, __LINE__, "cannot create %s: it already exists", zPath);
  }else if( pF == NULL ){
    pF = calloc(1, sizeof(*pF));
    if( pF ) pF->zPath = strdup(zPath);
    if( pF == NULL || pF->zPath == NULL ){
      free(pF);
      rc = LSM_NOMEM;
    }else{
      pF->nRef = 1;
      pF->pNext = pFs->pFile;
      pFs->pFile = pF;
    }
  }else if( flags & LSM_OPEN_WRITE ){
    pF->n = 0;
  }
  if( rc == LSM_OK ){
    pF->nRef++;
    p->pEnv = pEnv;
    p->fd = -1;
    p->pMem = pF;
    p->zPath = (char*)&p[1];
    strcpy(p->zPath, zPath);
    *ppFile = p;
  }else{
    free(p);
  }
  pthread_mutex_unlock(&pFs->mutex);
  return rc;
}

static int memfs_read(lsm_file *p, uint64_t iOff, void *pBuf, size_t nBuf, size_t *pnRead){
  memfs *pFs = memfs_of(p->pEnv);
  size_t n = 0;
  pthread_mutex_lock(&pFs->mutex);
  if( iOff < p->pMem->n ){
    n = p->pMem->n - (size_t)iOff;
    if( n > nBuf ) n = nBuf;
    memcpy(pBuf, p->pMem->a + iOff, n);
  }
  pthread_mutex_unlock(&pFs->mutex);
  *pnRead = n;
  return LSM_OK;
}

static int memfs_append(lsm_file *p, const void *pData, size_t nData){
  memfs *pFs = memfs_of(p->pEnv);
  memfs_file *pF = p->pMem;
  int rc = LSM_OK;
  pthread_mutex_lock(&pFs->mutex);
  if( pF->n + nData > pF->nAlloc ){
    size_t nNew = pF->nAlloc ? pF->nAlloc * 2 : 4096;
    uint8_t *aNew;
    while( nNew < pF->n + nData ) nNew *= 2;
    aNew = realloc(pF->a, nNew);
    if( aNew == NULL ){
      rc = LSM_NOMEM;
    }else{
      pF->a = aNew;
      pF->nAlloc = nNew;
    }
  }
  if( rc == LSM_OK && nData ){
    memcpy(pF->a + pF->n, pData, nData);
    pF->n += nData;
  }
  pthread_mutex_unlock(&pFs->mutex);
  return rc;
}

static int memfs_sync(lsm_file *p){ (void)p; return LSM_OK; }

static int memfs_size(lsm_file *p, uint64_t *pnSize){
  memfs *pFs = memfs_of(p->pEnv);
  pthread_mutex_lock(&pFs->mutex);
  *pnSize = p->pMem->n;
  pthread_mutex_unlock(&pFs->mutex);
  return LSM_OK;
}

static int memfs_map(lsm_file *p, const uint8_t **ppData, uint64_t *pnData){
  memfs *pFs = memfs_of(p->pEnv);
  pthread_mutex_lock(&pFs->mutex);
  *ppData = p->pMem->a ? p->pMem->a : g_aEmpty;
  *pnData = p->pMem->n;
  pthread_mutex_unlock(&pFs->mutex);
  return LSM_OK;
}

static int memfs_close(lsm_file *p){
  memfs *pFs;
  if( p == NULL ) return LSM_OK;
  pFs = memfs_of(p->pEnv);
  pthread_mutex_lock(&pFs->mutex);
  memfs_file_unref(p->pMem);
  pthread_mutex_unlock(&pFs->mutex);
  free(p);
  return LSM_OK;
}

static int memfs_rename(lsm_env *pEnv, const char *zFrom, const char *zTo){
  memfs *pFs = memfs_of(pEnv);
  memfs_file *pF, *pOld;
  int rc = LSM_OK;
  pthread_mutex_lock(&pFs->mutex);
  pF = memfs_find(pFs, zFrom);
  if( pF == NULL ){
    rc = error_raise(LSM_IOERR, __LINE__, "cannot rename %s: no such file", zFrom);
  }else{
    char *zNew = strdup(zTo);
    if( zNew == NULL ){
      rc = LSM_NOMEM;
    }else{
      pOld = memfs_find(pFs, zTo);
      if( pOld ) memfs_unlink_locked(pFs, pOld);
      free(pF->zPath);
      pF->zPath = zNew;
    }
  }
  pthread_mutex_unlock(&pFs->mutex);
  return rc;
}

static int memfs_unlink(lsm_env *pEnv, const char *zPath){
  memfs *pFs = memfs_of(pEnv);
  memfs_file *pF;
  pthread_mutex_lock(&pFs->mutex);
  pF = memfs_find(pFs, zPath);
  if( pF ) memfs_unlink_locked(pFs, pF);
  pthread_mutex_unlock(&pFs->mutex);
  return LSM_OK;
}

static int memfs_sync_dir(lsm_env *pEnv, const char *zDir){ (void)pEnv; (void)zDir; return LSM_OK; }

static int memfs_mkdir(lsm_env *pEnv, const char *zDir){
  memfs *pFs = memfs_of(pEnv);
  int rc = LSM_OK;
  pthread_mutex_lock(&pFs->mutex);
  if( memfs_find_dir(pFs, zDir) == NULL ){
    memfs_dir *p = calloc(1, sizeof(*p));
    if( p ) p->zPath = strdup(zDir);
    if( p == NULL || p->zPath == NULL ){
      free(p);
      rc = LSM_NOMEM;
    }else{
      p->pNext = pFs->pDir;
      pFs->pDir = p;
    }
  }
  pthread_mutex_unlock(&pFs->mutex);
  return rc;
}

static int memfs_rmdir(lsm_env *pEnv, const char *zDir){
  memfs *pFs = memfs_of(pEnv);
  memfs_dir **pp;
  pthread_mutex_lock(&pFs->mutex);
  for(pp = &pFs->pDir; *pp; pp = &(*pp)->pNext){
    if( strcmp((*pp)->zPath, zDir) == 0 ){
      memfs_dir *p = *pp;
      *pp = p->pNext;
      free(p->zPath);
      free(p);
      break;
    }
  }
  pthread_mutex_unlock(&pFs->mutex);
  return LSM_OK;
}

/* True if zPath is zDir/<name> with no further '/'; *pzName = name. */
static int memfs_in_dir(const char *zPath, const char *zDir, const char **pzName){
  size_t n = strlen(zDir);
  if( strncmp(zPath, zDir, n) != 0 || zPath[n] != '/' ) return 0;
  if( strchr(zPath + n + 1, '/') != NULL ) return 0;
  *pzName = zPath + n + 1;
  return 1;
}

static int memfs_list_dir(lsm_env *pEnv, const char *zDir, char ***pazName, int *pnName){
  memfs *pFs = memfs_of(pEnv);
  memfs_file *pF;
  const char *zName;
  char **azTmp = NULL;
  int nName = 0, rc;
  pthread_mutex_lock(&pFs->mutex);
  for(pF = pFs->pFile; pF; pF = pF->pNext) if( memfs_in_dir(pF->zPath, zDir, &zName) ) nName++;
  azTmp = calloc((size_t)nName + 1, sizeof(char*));
  nName = 0;
  if( azTmp ){
    for(pF = pFs->pFile; pF; pF = pF->pNext){
      if( memfs_in_dir(pF->zPath, zDir, &zName) ) azTmp[nName++] = (char*)zName;
    }
  }
  rc = azTmp ? env_pack_names(pEnv, azTmp, nName, pazName) : LSM_NOMEM;
  pthread_mutex_unlock(&pFs->mutex);
  free(azTmp);
  *pnName = rc == LSM_OK ? nName : 0;
  return rc;
}

static int memfs_exists(lsm_env *pEnv, const char *zPath, int *pbExists, int *pbIsDir){
  memfs *pFs = memfs_of(pEnv);
  pthread_mutex_lock(&pFs->mutex);
  *pbIsDir = memfs_find_dir(pFs, zPath) != NULL;
  *pbExists = *pbIsDir || memfs_find(pFs, zPath) != NULL;
  pthread_mutex_unlock(&pFs->mutex);
  return LSM_OK;
}

/* A private file system has no other process to exclude. */
static int memfs_lock(lsm_env *pEnv, const char *zPath, lsm_file **ppLock){
  return memfs_open(pEnv, zPath, LSM_OPEN_APPEND, ppLock);
}
static int memfs_unlock(lsm_file *p){ return memfs_close(p); }

int env_memory_reserve(lsm_env *pEnv, const char *zPath, size_t nByte){
  memfs *pFs = memfs_of(pEnv);
  memfs_file *pF;
  int rc = LSM_OK;
  pthread_mutex_lock(&pFs->mutex);
  pF = memfs_find(pFs, zPath);
  if( pF == NULL ){
    rc = error_raise(LSM_CANTOPEN, __LINE__, "cannot reserve %s: no such file", zPath);
  }else if( pF->nAlloc < nByte ){
    uint8_t *aNew = realloc(pF->a, nByte);
    if( aNew == NULL ){
      rc = LSM_NOMEM;
    }else{
      pF->a = aNew;
      pF->nAlloc = nByte;
    }
  }
  pthread_mutex_unlock(&pFs->mutex);
  return rc;
}

lsm_env *lsm_env_memory(void){
  memfs *pFs = calloc(1, sizeof(*pFs));
  if( pFs == NULL ) return NULL;
  pFs->env = *lsm_env_default();      /* malloc/realloc/free */
  pFs->env.pCtx = pFs;
  pFs->env.xOpen = memfs_open;
  pFs->env.xRead = memfs_read;
  pFs->env.xAppend = memfs_append;
  pFs->env.xSync = memfs_sync;
  pFs->env.xSize = memfs_size;
  pFs->env.xMap = memfs_map;
  pFs->env.xClose = memfs_close;
  pFs->env.xRename = memfs_rename;
  pFs->env.xUnlink = memfs_unlink;
  pFs->env.xSyncDir = memfs_sync_dir;
  pFs->env.xMkdir = memfs_mkdir;
  pFs->env.xRmdir = memfs_rmdir;
  pFs->env.xListDir = memfs_list_dir;
  pFs->env.xExists = memfs_exists;
  pFs->env.xLock = memfs_lock;
  pFs->env.xUnlock = memfs_unlock;
  pthread_mutex_init(&pFs->mutex, NULL);
  return &pFs->env;
}
int env_is_memory(lsm_env *pEnv){
  return pEnv->xOpen == memfs_open;
}

void lsm_env_memory_free(lsm_env *pEnv){
  memfs *pFs;
  if( pEnv == NULL ) return;
  pFs = memfs_of(pEnv);
  while( pFs->pFile ) memfs_unlink_locked(pFs, pFs->pFile);
  while( pFs->pDir ){
    memfs_dir *p = pFs->pDir;
    pFs->pDir = p->pNext;
    free(p->zPath);
    free(p);
  }
  pthread_mutex_destroy(&pFs->mutex);
  free(pFs);
}
