/*
** faultenv.c — the fault-injecting environment (contract and model in
** faultenv.h).
**
** Bookkeeping, all under faultenv.mutex:
**   - aCount[]: calls per class;
**   - rule: the one armed failure (class, Nth, rc, persist, calls seen);
**   - pTrack: one faultenv_track per file opened for writing, with the
**     bytes written and the bytes synced.  Entries are never freed before
**     faultenv_free (an open handle may point at one); an unlinked or
**     renamed-over file's entry is only marked gone;
**   - aUndo: creates, renames and unlinks not yet made durable by an
**     xSyncDir of their directory, oldest first;
**   - aHold: per group, whether its hold is armed and how many threads
**     it holds; a release bumps the group's generation, and a held thread
**     waits on cond until the generation it saw has passed.
** This is test code: its own memory comes from malloc (not counted, never
** failed) and it aborts if that fails.
*/
#include "faultenv.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"

typedef struct faultenv_track faultenv_track;
struct faultenv_track {
  char *zPath;              /* current name; NULL once gone             */
  uint64_t nWritten;        /* bytes in the file as far as we know      */
  uint64_t nSynced;         /* bytes made durable by xSync              */
  faultenv_track *pNext;    /* every entry, newest first                */
};

#define UNDO_CREATE 1
#define UNDO_RENAME 2
#define UNDO_UNLINK 3

typedef struct faultenv_undo {
  int eOp;                  /* UNDO_*                                       */
  char *zDir;               /* directory whose sync makes the change durable */
  char *zPath;              /* CREATE/UNLINK: the file; RENAME: the target   */
  char *zFrom;              /* RENAME: the source                            */
  uint8_t *aOld;            /* synced content of the file replaced/unlinked  */
  size_t nOld;
  int bOld;                 /* aOld is valid (there was such a file)         */
} faultenv_undo;

typedef struct faultenv_file {
  faultenv *pFe;            /* owning env                                */
  lsm_file *pReal;          /* the wrapped env's handle                  */
  faultenv_track *pTrack;   /* NULL for files opened read-only           */
  char *zPath;              /* path as opened, for messages              */
} faultenv_file;

typedef struct faultenv_hold_group {
  int bArmed;               /* .sst write opens of this group wait       */
  int bOnce;                /* disarm when the next thread is held       */
  int nHeld;                /* threads held now                          */
  uint64_t iGen;            /* bumped by each release                    */
} faultenv_hold_group;

struct faultenv {
  lsm_env env;              /* must be first: an lsm_env* is a faultenv* */
  lsm_env *pBase;           /* wrapped env; borrowed                     */
  pthread_mutex_t mutex;    /* guards everything below                   */
  uint64_t aCount[FAULTENV_NCLASS + 1];  /* calls per class; [ANY_IO] too */
  size_t nMaxAlloc;         /* largest allocation request                */
  int nFilesOpen;           /* files open through us now (not locks)     */
  int nFilesPeak;           /* most open at once since the last reset    */
  int bSync;                /* xSync/xSyncDir reach the wrapped env      */
  int eRuleClass;           /* armed rule: class, -1 if none             */
  uint64_t iRuleNth;        /* ... which matching call fails first       */
  uint64_t nRuleSeen;       /* ... matching calls seen since arming      */
  int rcRule;               /* ... code to return                        */
  int bRulePersist;         /* ... fail every later call too             */
  uint64_t nFailed;         /* failures injected                         */
  uint64_t nSpace;          /* append budget; UINT64_MAX: unlimited      */
  int bDirModel;            /* undo unsynced name changes at a crash     */
  int bFrozen;              /* power is off                              */
  faultenv_track *pTrack;   /* files written through us                  */
  faultenv_undo *aUndo;     /* unsynced name changes, oldest first       */
  int nUndo, nUndoAlloc;
  pthread_cond_t cond;      /* a hold changed                            */
  pthread_t tMaker;         /* made the env: never held                  */
  pthread_t tFirst;         /* FAULTENV_HOLD_FIRST's thread, once known  */
  int bFirstKnown;          /* tFirst is set                             */
  int bHoldTimedOut;        /* a held thread went on unreleased          */
  faultenv_hold_group aHold[2];  /* FAULTENV_HOLD_FIRST, _OTHERS         */
};

static const char *const azClass[] = {
  "alloc", "open", "read", "append", "sync", "size", "map", "rename", "unlink",
  "syncdir", "mkdir", "rmdir", "listdir", "exists", "lock", "close", "any I/O"
};

/* ---------------------------------------------------------------- */
/* Helpers                                                           */
/* ---------------------------------------------------------------- */

static void *fe_xmalloc(size_t n){
  void *p = calloc(1, n ? n : 1);
  if( p == NULL ){ fprintf(stderr, "faultenv: out of memory\n"); abort(); }
  return p;
}
static char *fe_strdup(const char *z){
  size_t n = strlen(z) + 1;
  char *p = fe_xmalloc(n);
  memcpy(p, z, n);
  return p;
}

/* The directory part of zPath ("." if it has no '/'). */
static char *fe_dirname(const char *zPath){
  const char *zSlash = strrchr(zPath, '/');
  char *z;
  if( zSlash == NULL ) return fe_strdup(".");
  if( zSlash == zPath ) return fe_strdup("/");
  z = fe_xmalloc((size_t)(zSlash - zPath) + 1);
  memcpy(z, zPath, (size_t)(zSlash - zPath));
  return z;
}

/* zDir without trailing slashes, for comparing with fe_dirname(). */
static char *fe_normdir(const char *zDir){
  char *z = fe_strdup(zDir);
  size_t n = strlen(z);
  while( n > 1 && z[n - 1] == '/' ) z[--n] = 0;
  return z;
}

/* Classes refused while the power is off (write opens are refused in
** fe_open). */
static int fe_changes_disk(int eClass){
  switch( eClass ){
    case FAULTENV_APPEND: case FAULTENV_SYNC: case FAULTENV_RENAME: case FAULTENV_UNLINK:
    case FAULTENV_SYNCDIR: case FAULTENV_MKDIR: case FAULTENV_RMDIR:
      return 1;
    default:
      return 0;
  }
}

static int fe_is_io(int eClass){
  return eClass != FAULTENV_ALLOC && eClass != FAULTENV_CLOSE;
}

/*
** Count one call of eClass and decide whether it fails.  Returns 0 to go
** ahead, else the code to fail with (LSM_NOMEM for allocations).
** REQUIRES: the mutex is held.
*/
static int fe_count_locked(faultenv *p, int eClass){
  p->aCount[eClass]++;
  if( fe_is_io(eClass) ) p->aCount[FAULTENV_ANY_IO]++;
  if( p->eRuleClass == eClass || (p->eRuleClass == FAULTENV_ANY_IO && fe_is_io(eClass)) ){
    p->nRuleSeen++;
    if( p->nRuleSeen == p->iRuleNth || (p->bRulePersist && p->nRuleSeen > p->iRuleNth) ){
      p->nFailed++;
      return eClass == FAULTENV_ALLOC ? LSM_NOMEM : p->rcRule;
    }
  }
  return 0;
}

/* Count a call; if it must fail, raise its message and return the code. */
static int fe_enter(faultenv *p, int eClass, const char *zPath){
  int rc;
  pthread_mutex_lock(&p->mutex);
  rc = fe_count_locked(p, eClass);
  if( rc == 0 && p->bFrozen && fe_changes_disk(eClass) ) rc = -1;
  pthread_mutex_unlock(&p->mutex);
  if( rc == -1 ){
    return error_raise(LSM_IOERR, __LINE__, "faultenv: power is off (%s %s)",
                       azClass[eClass], zPath ? zPath : "");
  }
  if( rc ){
    return error_raise(rc, __LINE__, "faultenv: injected %s failure (%s)",
                       azClass[eClass], zPath ? zPath : "");
  }
  return LSM_OK;
}

/* The live tracking entry of zPath, or NULL.  REQUIRES: mutex held. */
static faultenv_track *fe_find_track(faultenv *p, const char *zPath){
  faultenv_track *t;
  for(t = p->pTrack; t; t = t->pNext){
    if( t->zPath && strcmp(t->zPath, zPath) == 0 ) return t;
  }
  return NULL;
}

static void fe_track_gone(faultenv_track *t){
  if( t ){
    free(t->zPath);
    t->zPath = NULL;
  }
}

/* Log a name change.  REQUIRES: mutex held. */
static void fe_undo_push(faultenv *p, int eOp, const char *zPath, const char *zFrom,
                         uint8_t *aOld, size_t nOld, int bOld){
  faultenv_undo *u;
  if( !p->bDirModel ){
    free(aOld);
    return;
  }
  if( p->nUndo == p->nUndoAlloc ){
    p->nUndoAlloc = p->nUndoAlloc ? p->nUndoAlloc * 2 : 16;
    p->aUndo = realloc(p->aUndo, sizeof(faultenv_undo) * (size_t)p->nUndoAlloc);
    if( p->aUndo == NULL ){ fprintf(stderr, "faultenv: out of memory\n"); abort(); }
  }
  u = &p->aUndo[p->nUndo++];
  memset(u, 0, sizeof(*u));
  u->eOp = eOp;
  u->zDir = fe_dirname(zPath);
  u->zPath = fe_strdup(zPath);
  u->zFrom = zFrom ? fe_strdup(zFrom) : NULL;
  u->aOld = aOld;
  u->nOld = nOld;
  u->bOld = bOld;
}

static void fe_undo_free(faultenv_undo *u){
  free(u->zDir);
  free(u->zPath);
  free(u->zFrom);
  free(u->aOld);
}

static int fe_exists(faultenv *p, const char *zPath){
  int bExists = 0, bIsDir = 0;
  if( p->pBase->xExists(p->pBase, zPath, &bExists, &bIsDir) != LSM_OK ) return 0;
  return bExists && !bIsDir;
}

/* Read the first nMax bytes of zPath through the wrapped env (malloc'd).
** Returns 0 if the file cannot be read. */
static int fe_read_prefix(faultenv *p, const char *zPath, uint64_t nMax,
                          uint8_t **paData, size_t *pnData){
  lsm_env *pB = p->pBase;
  lsm_file *pF = NULL;
  uint64_t nSize = 0;
  size_t nRead = 0;
  uint8_t *a;
  *paData = NULL;
  *pnData = 0;
  if( pB->xOpen(pB, zPath, LSM_OPEN_READ, &pF) != LSM_OK ) return 0;
  if( pB->xSize(pF, &nSize) != LSM_OK ){ pB->xClose(pF); return 0; }
  if( nSize > nMax ) nSize = nMax;
  if( nSize > FAULTENV_MAX_SAVE ){ pB->xClose(pF); return 0; }
  a = fe_xmalloc((size_t)nSize);
  if( nSize && pB->xRead(pF, 0, a, (size_t)nSize, &nRead) != LSM_OK ) nRead = 0;
  pB->xClose(pF);
  *paData = a;
  *pnData = nRead;
  return 1;
}

/* Replace zPath's content with a[0..n) through the wrapped env. */
static void fe_rewrite(faultenv *p, const char *zPath, const uint8_t *a, size_t n){
  lsm_env *pB = p->pBase;
  lsm_file *pF = NULL;
  if( pB->xOpen(pB, zPath, LSM_OPEN_WRITE, &pF) != LSM_OK ){
    fprintf(stderr, "faultenv: cannot restore %s\n", zPath);
    return;
  }
  if( n ) pB->xAppend(pF, a, n);
  pB->xSync(pF);
  pB->xClose(pF);
}

/* The durable content of zPath, for an undo that brings it back. */
static int fe_save_durable(faultenv *p, const char *zPath, uint8_t **paData, size_t *pnData){
  faultenv_track *t;
  uint64_t nMax = UINT64_MAX;
  if( !p->bDirModel || !fe_exists(p, zPath) ) return 0;
  pthread_mutex_lock(&p->mutex);
  t = fe_find_track(p, zPath);
  if( t ) nMax = t->nSynced;
  pthread_mutex_unlock(&p->mutex);
  return fe_read_prefix(p, zPath, nMax, paData, pnData);
}

static faultenv *fe_of(lsm_env *pEnv){ return (faultenv*)pEnv; }

/* *pField (a flag or a count), read or set under the mutex. */
static int fe_get_int(faultenv *p, const int *pField){
  int b;
  pthread_mutex_lock(&p->mutex);
  b = *pField;
  pthread_mutex_unlock(&p->mutex);
  return b;
}
static void fe_set_int(faultenv *p, int *pField, int v){
  pthread_mutex_lock(&p->mutex);
  *pField = v;
  pthread_mutex_unlock(&p->mutex);
}

/* FAULTENV_HOLD_TIMEOUT_S from now, for pthread_cond_timedwait. */
static void fe_hold_deadline(struct timespec *p){
  clock_gettime(CLOCK_REALTIME, p);
  p->tv_sec += FAULTENV_HOLD_TIMEOUT_S;
}

/* A write open of zPath: wait here while the calling thread's group is
** held (see faultenv.h, 5.). */
static void fe_hold_point(faultenv *p, const char *zPath, int flags){
  pthread_t tSelf = pthread_self();
  size_t n = strlen(zPath);
  faultenv_hold_group *h;
  if( !(flags & LSM_OPEN_WRITE) || n < 4 || strcmp(zPath + n - 4, ".sst") != 0 ) return;
  if( pthread_equal(tSelf, p->tMaker) ) return;
  pthread_mutex_lock(&p->mutex);
  if( !p->bFirstKnown ){
    p->tFirst = tSelf;
    p->bFirstKnown = 1;
  }
  h = &p->aHold[pthread_equal(tSelf, p->tFirst) ? FAULTENV_HOLD_FIRST : FAULTENV_HOLD_OTHERS];
  if( h->bArmed ){
    uint64_t iGen = h->iGen;
    struct timespec deadline;
    fe_hold_deadline(&deadline);
    if( h->bOnce ) h->bArmed = 0;
    h->nHeld++;
    pthread_cond_broadcast(&p->cond);
    while( h->iGen == iGen ){
      if( pthread_cond_timedwait(&p->cond, &p->mutex, &deadline) != 0 ){
        p->bHoldTimedOut = 1;
        break;
      }
    }
    h->nHeld--;
    pthread_cond_broadcast(&p->cond);
  }
  pthread_mutex_unlock(&p->mutex);
}

/* ---------------------------------------------------------------- */
/* File methods                                                      */
/* ---------------------------------------------------------------- */

static int fe_open(lsm_env *pEnv, const char *zPath, int flags, lsm_file **ppFile){
  faultenv *p = fe_of(pEnv);
  faultenv_file *pW;
  lsm_file *pReal = NULL;
  int bWrite = (flags & (LSM_OPEN_WRITE | LSM_OPEN_APPEND)) != 0;
  int bExisted, rc;
  uint64_t nSize = 0;

  *ppFile = NULL;
  fe_hold_point(p, zPath, flags);
  rc = fe_enter(p, FAULTENV_OPEN, zPath);
  if( rc == LSM_OK && bWrite ){
    /* A write open changes the disk: refused while frozen. */
    pthread_mutex_lock(&p->mutex);
    if( p->bFrozen ) rc = -1;
    pthread_mutex_unlock(&p->mutex);
    if( rc == -1 ) rc = error_raise(LSM_IOERR, __LINE__, "faultenv: power is off (open %s)", zPath);
  }
  if( rc != LSM_OK ) return rc;

  bExisted = bWrite ? fe_exists(p, zPath) : 1;
  rc = p->pBase->xOpen(p->pBase, zPath, flags, &pReal);
  if( rc != LSM_OK ) return rc;
  if( bWrite && (flags & LSM_OPEN_APPEND) && bExisted ){
    p->pBase->xSize(pReal, &nSize);
  }

  pW = fe_xmalloc(sizeof(*pW));
  pW->pFe = p;
  pW->pReal = pReal;
  pW->zPath = fe_strdup(zPath);
  pthread_mutex_lock(&p->mutex);
  if( ++p->nFilesOpen > p->nFilesPeak ) p->nFilesPeak = p->nFilesOpen;
  pthread_mutex_unlock(&p->mutex);
  if( bWrite ){
    faultenv_track *t;
    pthread_mutex_lock(&p->mutex);
    t = fe_find_track(p, zPath);
    if( t == NULL ){
      t = fe_xmalloc(sizeof(*t));
      t->zPath = fe_strdup(zPath);
      t->nWritten = t->nSynced = nSize;    /* what was there is durable */
      t->pNext = p->pTrack;
      p->pTrack = t;
    }else if( flags & LSM_OPEN_WRITE ){
      t->nWritten = t->nSynced = 0;        /* truncated */
    }
    pW->pTrack = t;
    if( !bExisted ) fe_undo_push(p, UNDO_CREATE, zPath, NULL, NULL, 0, 0);
    pthread_mutex_unlock(&p->mutex);
  }
  *ppFile = (lsm_file*)pW;
  return LSM_OK;
}

static int fe_read(lsm_file *pFile, uint64_t iOff, void *pBuf, size_t nBuf, size_t *pnRead){
  faultenv_file *pW = (faultenv_file*)pFile;
  int rc = fe_enter(pW->pFe, FAULTENV_READ, pW->zPath);
  if( rc != LSM_OK ) return rc;
  return pW->pFe->pBase->xRead(pW->pReal, iOff, pBuf, nBuf, pnRead);
}

static int fe_append(lsm_file *pFile, const void *pData, size_t nData){
  faultenv_file *pW = (faultenv_file*)pFile;
  faultenv *p = pW->pFe;
  int rc = fe_enter(p, FAULTENV_APPEND, pW->zPath);
  if( rc != LSM_OK ) return rc;
  pthread_mutex_lock(&p->mutex);
  if( p->nSpace != UINT64_MAX ){
    if( nData > p->nSpace ){
      rc = LSM_FULL;
      p->nFailed++;
    }else{
      p->nSpace -= nData;
    }
  }
  pthread_mutex_unlock(&p->mutex);
  if( rc != LSM_OK ) return error_raise(rc, __LINE__, "faultenv: out of disk space");
  rc = p->pBase->xAppend(pW->pReal, pData, nData);
  if( rc == LSM_OK && pW->pTrack ){
    pthread_mutex_lock(&p->mutex);
    pW->pTrack->nWritten += nData;
    pthread_mutex_unlock(&p->mutex);
  }
  return rc;
}

static int fe_sync(lsm_file *pFile){
  faultenv_file *pW = (faultenv_file*)pFile;
  faultenv *p = pW->pFe;
  int rc = fe_enter(p, FAULTENV_SYNC, pW->zPath);
  if( rc != LSM_OK || !fe_get_int(p, &p->bSync) ) return rc;
  rc = p->pBase->xSync(pW->pReal);
  if( rc == LSM_OK && pW->pTrack ){
    pthread_mutex_lock(&p->mutex);
    pW->pTrack->nSynced = pW->pTrack->nWritten;
    pthread_mutex_unlock(&p->mutex);
  }
  return rc;
}

static int fe_size(lsm_file *pFile, uint64_t *pnSize){
  faultenv_file *pW = (faultenv_file*)pFile;
  int rc = fe_enter(pW->pFe, FAULTENV_SIZE, pW->zPath);
  if( rc != LSM_OK ) return rc;
  return pW->pFe->pBase->xSize(pW->pReal, pnSize);
}

static int fe_map(lsm_file *pFile, const uint8_t **ppData, uint64_t *pnData){
  faultenv_file *pW = (faultenv_file*)pFile;
  int rc = fe_enter(pW->pFe, FAULTENV_MAP, pW->zPath);
  if( rc != LSM_OK ) return rc;
  return pW->pFe->pBase->xMap(pW->pReal, ppData, pnData);
}

static int fe_close(lsm_file *pFile){
  faultenv_file *pW = (faultenv_file*)pFile;
  faultenv *p;
  int rc;
  if( pW == NULL ) return LSM_OK;
  p = pW->pFe;
  fe_enter(p, FAULTENV_CLOSE, NULL);
  pthread_mutex_lock(&p->mutex);
  p->nFilesOpen--;
  pthread_mutex_unlock(&p->mutex);
  rc = p->pBase->xClose(pW->pReal);
  free(pW->zPath);
  free(pW);
  return rc;
}

/* ---------------------------------------------------------------- */
/* Directory-level methods                                           */
/* ---------------------------------------------------------------- */

static int fe_rename(lsm_env *pEnv, const char *zFrom, const char *zTo){
  faultenv *p = fe_of(pEnv);
  uint8_t *aOld = NULL;
  size_t nOld = 0;
  int bOld, rc;

  rc = fe_enter(p, FAULTENV_RENAME, zFrom);
  if( rc != LSM_OK ) return rc;
  bOld = fe_save_durable(p, zTo, &aOld, &nOld);
  rc = p->pBase->xRename(p->pBase, zFrom, zTo);
  if( rc != LSM_OK ){
    free(aOld);
    return rc;
  }
  pthread_mutex_lock(&p->mutex);
  {
    faultenv_track *tFrom = fe_find_track(p, zFrom);
    fe_track_gone(fe_find_track(p, zTo));
    if( tFrom ){
      free(tFrom->zPath);
      tFrom->zPath = fe_strdup(zTo);
    }
  }
  fe_undo_push(p, UNDO_RENAME, zTo, zFrom, aOld, nOld, bOld);
  pthread_mutex_unlock(&p->mutex);
  return LSM_OK;
}

static int fe_unlink(lsm_env *pEnv, const char *zPath){
  faultenv *p = fe_of(pEnv);
  uint8_t *aOld = NULL;
  size_t nOld = 0;
  int bOld, rc;

  rc = fe_enter(p, FAULTENV_UNLINK, zPath);
  if( rc != LSM_OK ) return rc;
  bOld = fe_save_durable(p, zPath, &aOld, &nOld);
  rc = p->pBase->xUnlink(p->pBase, zPath);
  if( rc != LSM_OK ){
    free(aOld);
    return rc;
  }
  pthread_mutex_lock(&p->mutex);
  fe_track_gone(fe_find_track(p, zPath));
  if( bOld ) fe_undo_push(p, UNDO_UNLINK, zPath, NULL, aOld, nOld, 1);
  pthread_mutex_unlock(&p->mutex);
  return LSM_OK;
}

static int fe_sync_dir(lsm_env *pEnv, const char *zDir){
  faultenv *p = fe_of(pEnv);
  char *zNorm;
  int rc, i, j;

  rc = fe_enter(p, FAULTENV_SYNCDIR, zDir);
  if( rc != LSM_OK || !fe_get_int(p, &p->bSync) ) return rc;
  rc = p->pBase->xSyncDir(p->pBase, zDir);
  if( rc != LSM_OK ) return rc;
  zNorm = fe_normdir(zDir);
  pthread_mutex_lock(&p->mutex);
  for(i = j = 0; i < p->nUndo; i++){
    if( strcmp(p->aUndo[i].zDir, zNorm) == 0 ){
      fe_undo_free(&p->aUndo[i]);
    }else{
      p->aUndo[j++] = p->aUndo[i];
    }
  }
  p->nUndo = j;
  pthread_mutex_unlock(&p->mutex);
  free(zNorm);
  return LSM_OK;
}

static int fe_mkdir(lsm_env *pEnv, const char *zDir){
  faultenv *p = fe_of(pEnv);
  int rc = fe_enter(p, FAULTENV_MKDIR, zDir);
  if( rc != LSM_OK ) return rc;
  return p->pBase->xMkdir(p->pBase, zDir);
}

static int fe_rmdir(lsm_env *pEnv, const char *zDir){
  faultenv *p = fe_of(pEnv);
  int rc = fe_enter(p, FAULTENV_RMDIR, zDir);
  if( rc != LSM_OK ) return rc;
  return p->pBase->xRmdir(p->pBase, zDir);
}

static int fe_list_dir(lsm_env *pEnv, const char *zDir, char ***pazName, int *pnName){
  faultenv *p = fe_of(pEnv);
  int rc;
  *pazName = NULL;
  *pnName = 0;
  rc = fe_enter(p, FAULTENV_LISTDIR, zDir);
  if( rc != LSM_OK ) return rc;
  /* The wrapped env allocates the list with its own xMalloc; the caller
  ** frees it with ours, which is the same allocator underneath. */
  return p->pBase->xListDir(p->pBase, zDir, pazName, pnName);
}

static int fe_exists_m(lsm_env *pEnv, const char *zPath, int *pbExists, int *pbIsDir){
  faultenv *p = fe_of(pEnv);
  int rc;
  *pbExists = *pbIsDir = 0;
  rc = fe_enter(p, FAULTENV_EXISTS, zPath);
  if( rc != LSM_OK ) return rc;
  return p->pBase->xExists(p->pBase, zPath, pbExists, pbIsDir);
}

static int fe_lock(lsm_env *pEnv, const char *zPath, lsm_file **ppLock){
  faultenv *p = fe_of(pEnv);
  int rc;
  *ppLock = NULL;
  rc = fe_enter(p, FAULTENV_LOCK, zPath);
  if( rc != LSM_OK ) return rc;
  return p->pBase->xLock(p->pBase, zPath, ppLock);     /* handle not wrapped */
}

/* ---------------------------------------------------------------- */
/* Memory                                                            */
/* ---------------------------------------------------------------- */

static void fe_note_alloc(faultenv *p, size_t n){
  if( n > p->nMaxAlloc ) p->nMaxAlloc = n;
}

static void *fe_malloc(lsm_env *pEnv, size_t n){
  faultenv *p = fe_of(pEnv);
  int rc;
  pthread_mutex_lock(&p->mutex);
  rc = fe_count_locked(p, FAULTENV_ALLOC);
  fe_note_alloc(p, n);
  pthread_mutex_unlock(&p->mutex);
  return rc ? NULL : p->pBase->xMalloc(p->pBase, n);
}

static void *fe_realloc(lsm_env *pEnv, void *pOld, size_t n){
  faultenv *p = fe_of(pEnv);
  int rc;
  pthread_mutex_lock(&p->mutex);
  rc = fe_count_locked(p, FAULTENV_ALLOC);
  fe_note_alloc(p, n);
  pthread_mutex_unlock(&p->mutex);
  return rc ? NULL : p->pBase->xRealloc(p->pBase, pOld, n);
}

static void fe_free(lsm_env *pEnv, void *pOld){
  faultenv *p = fe_of(pEnv);
  p->pBase->xFree(p->pBase, pOld);
}

/* ---------------------------------------------------------------- */
/* Public                                                            */
/* ---------------------------------------------------------------- */

faultenv *faultenv_new(lsm_env *pBase){
  faultenv *p = fe_xmalloc(sizeof(*p));
  p->pBase = pBase ? pBase : lsm_env_default();
  p->env.pCtx = p;
  p->env.xOpen = fe_open;
  p->env.xRead = fe_read;
  p->env.xAppend = fe_append;
  p->env.xSync = fe_sync;
  p->env.xSize = fe_size;
  p->env.xMap = p->pBase->xMap ? fe_map : 0;   /* an env without xMap stays without */
  p->env.xClose = fe_close;
  p->env.xRename = fe_rename;
  p->env.xUnlink = fe_unlink;
  p->env.xSyncDir = fe_sync_dir;
  p->env.xMkdir = fe_mkdir;
  p->env.xRmdir = fe_rmdir;
  p->env.xListDir = fe_list_dir;
  p->env.xExists = fe_exists_m;
  p->env.xLock = fe_lock;
  p->env.xUnlock = p->pBase->xUnlock;   /* lock handles are not wrapped */
  p->env.xMalloc = fe_malloc;
  p->env.xRealloc = fe_realloc;
  p->env.xFree = fe_free;
  p->eRuleClass = -1;
  p->nSpace = UINT64_MAX;
  p->bDirModel = 1;
  p->bSync = 1;
  p->tMaker = pthread_self();
  pthread_mutex_init(&p->mutex, NULL);
  pthread_cond_init(&p->cond, NULL);
  return p;
}

void faultenv_free(faultenv *p){
  faultenv_track *t, *tNext;
  int i;
  if( p == NULL ) return;
  for(t = p->pTrack; t; t = tNext){
    tNext = t->pNext;
    free(t->zPath);
    free(t);
  }
  for(i = 0; i < p->nUndo; i++) fe_undo_free(&p->aUndo[i]);
  free(p->aUndo);
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->mutex);
  free(p);
}

lsm_env *faultenv_env(faultenv *p){
  return &p->env;
}

uint64_t faultenv_count(faultenv *p, int eClass){
  uint64_t n;
  pthread_mutex_lock(&p->mutex);
  n = (eClass >= 0 && eClass <= FAULTENV_ANY_IO) ? p->aCount[eClass] : 0;
  pthread_mutex_unlock(&p->mutex);
  return n;
}

void faultenv_reset_counts(faultenv *p){
  pthread_mutex_lock(&p->mutex);
  memset(p->aCount, 0, sizeof(p->aCount));
  p->nMaxAlloc = 0;
  p->nFilesPeak = p->nFilesOpen;
  pthread_mutex_unlock(&p->mutex);
}

size_t faultenv_max_alloc(faultenv *p){
  size_t n;
  pthread_mutex_lock(&p->mutex);
  n = p->nMaxAlloc;
  pthread_mutex_unlock(&p->mutex);
  return n;
}

int faultenv_files_open(faultenv *p){ return fe_get_int(p, &p->nFilesOpen); }
int faultenv_files_peak(faultenv *p){ return fe_get_int(p, &p->nFilesPeak); }

void faultenv_fail(faultenv *p, int eClass, uint64_t iNth, int rc, int bPersist){
  pthread_mutex_lock(&p->mutex);
  p->eRuleClass = eClass;
  p->iRuleNth = iNth ? iNth : 1;
  p->nRuleSeen = 0;
  p->rcRule = rc;
  p->bRulePersist = bPersist;
  pthread_mutex_unlock(&p->mutex);
}

void faultenv_fail_clear(faultenv *p){ fe_set_int(p, &p->eRuleClass, -1); }

uint64_t faultenv_nfailed(faultenv *p){
  uint64_t n;
  pthread_mutex_lock(&p->mutex);
  n = p->nFailed;
  pthread_mutex_unlock(&p->mutex);
  return n;
}

void faultenv_set_space(faultenv *p, uint64_t nBytes){
  pthread_mutex_lock(&p->mutex);
  p->nSpace = nBytes;
  pthread_mutex_unlock(&p->mutex);
}

void faultenv_set_dir_model(faultenv *p, int bOn){ fe_set_int(p, &p->bDirModel, bOn); }

void faultenv_set_sync(faultenv *p, int bOn){ fe_set_int(p, &p->bSync, bOn); }

void faultenv_freeze(faultenv *p){ fe_set_int(p, &p->bFrozen, 1); }

void faultenv_hold(faultenv *p, int eWho, int bOnce){
  pthread_mutex_lock(&p->mutex);
  p->aHold[eWho].bArmed = 1;
  p->aHold[eWho].bOnce = bOnce;
  pthread_mutex_unlock(&p->mutex);
}

void faultenv_release(faultenv *p, int eWho){
  pthread_mutex_lock(&p->mutex);
  p->aHold[eWho].bArmed = 0;
  p->aHold[eWho].iGen++;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->mutex);
}

int faultenv_wait_held(faultenv *p, int eWho){
  struct timespec deadline;
  int bHeld;
  fe_hold_deadline(&deadline);
  pthread_mutex_lock(&p->mutex);
  while( p->aHold[eWho].nHeld == 0 ){
    if( pthread_cond_timedwait(&p->cond, &p->mutex, &deadline) != 0 ) break;
  }
  bHeld = p->aHold[eWho].nHeld > 0;
  pthread_mutex_unlock(&p->mutex);
  return bHeld;
}

int faultenv_first_writer_known(faultenv *p){ return fe_get_int(p, &p->bFirstKnown); }
int faultenv_hold_timed_out(faultenv *p){ return fe_get_int(p, &p->bHoldTimedOut); }

void faultenv_crash(faultenv *p){
  faultenv_track *t;
  int i;

  /* 1. Every file written through us loses what was never synced. */
  for(t = p->pTrack; t; t = t->pNext){
    uint8_t *a;
    size_t n;
    uint64_t nSize = 0;
    lsm_file *pF = NULL;
    if( t->zPath == NULL ) continue;
    if( p->pBase->xOpen(p->pBase, t->zPath, LSM_OPEN_READ, &pF) != LSM_OK ) continue;
    p->pBase->xSize(pF, &nSize);
    p->pBase->xClose(pF);
    if( nSize <= t->nSynced ) continue;
    if( fe_read_prefix(p, t->zPath, t->nSynced, &a, &n) ){
      fe_rewrite(p, t->zPath, a, n);
      free(a);
    }
  }

  /* 2. Name changes no directory sync made durable, newest first. */
  for(i = p->nUndo - 1; i >= 0; i--){
    faultenv_undo *u = &p->aUndo[i];
    switch( u->eOp ){
      case UNDO_CREATE:
        p->pBase->xUnlink(p->pBase, u->zPath);
        break;
      case UNDO_RENAME:
        if( fe_exists(p, u->zPath) ) p->pBase->xRename(p->pBase, u->zPath, u->zFrom);
        if( u->bOld ) fe_rewrite(p, u->zPath, u->aOld, u->nOld);
        break;
      case UNDO_UNLINK:
        fe_rewrite(p, u->zPath, u->aOld, u->nOld);
        break;
    }
    fe_undo_free(u);
  }
  p->nUndo = 0;

  /* 3. What is on disk now is the durable state; power is back. */
  pthread_mutex_lock(&p->mutex);
  for(t = p->pTrack; t; t = t->pNext) fe_track_gone(t);
  p->bFrozen = 0;
  pthread_mutex_unlock(&p->mutex);
}
