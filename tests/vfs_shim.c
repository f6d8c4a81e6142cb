/*
** vfs_shim.c — the pass-through VFS of vfs_shim.h.
**
** A shim file is this struct followed by the real VFS's file (the shim's
** szOsFile is the sum of both), so opening one costs no allocation.
*/
#include "vfs_shim.h"

#include <string.h>

typedef struct vfs_shim {
  sqlite3_vfs base;        /* registered; pAppData points back here */
  sqlite3_vfs *pReal;      /* the default VFS when registered       */
  vfs_shim_hooks hooks;
} vfs_shim;

typedef struct shim_file {
  sqlite3_file base;       /* methods: shim_io                      */
  sqlite3_file *pReal;     /* the real file, right after this struct */
  const vfs_shim *pShim;
  int openFlags;           /* xOpen's flags: which kind of file     */
} shim_file;

static vfs_shim aShim[VFS_SHIM_MAX];
static int nShim;

#define REAL(f) (((shim_file*)(f))->pReal)

static int shim_close(sqlite3_file *f){
  return REAL(f)->pMethods->xClose(REAL(f));
}
static int shim_read(sqlite3_file *f, void *a, int n, sqlite3_int64 o){
  return REAL(f)->pMethods->xRead(REAL(f), a, n, o);
}
static int shim_write(sqlite3_file *f, const void *a, int n, sqlite3_int64 o){
  shim_file *p = (shim_file*)f;
  if( p->pShim->hooks.xWrite ) p->pShim->hooks.xWrite(p->openFlags, a, n, o);
  return REAL(f)->pMethods->xWrite(REAL(f), a, n, o);
}
static int shim_truncate(sqlite3_file *f, sqlite3_int64 n){
  return REAL(f)->pMethods->xTruncate(REAL(f), n);
}
static int shim_sync(sqlite3_file *f, int flags){
  shim_file *p = (shim_file*)f;
  int rc = REAL(f)->pMethods->xSync(REAL(f), flags);
  if( p->pShim->hooks.xSynced ) p->pShim->hooks.xSynced(p->openFlags, rc);
  return rc;
}
static int shim_size(sqlite3_file *f, sqlite3_int64 *pn){
  return REAL(f)->pMethods->xFileSize(REAL(f), pn);
}
static int shim_lock(sqlite3_file *f, int e){
  return REAL(f)->pMethods->xLock(REAL(f), e);
}
static int shim_unlock(sqlite3_file *f, int e){
  return REAL(f)->pMethods->xUnlock(REAL(f), e);
}
static int shim_check_lock(sqlite3_file *f, int *pb){
  return REAL(f)->pMethods->xCheckReservedLock(REAL(f), pb);
}
static int shim_fcntl(sqlite3_file *f, int op, void *pArg){
  return REAL(f)->pMethods->xFileControl(REAL(f), op, pArg);
}
static int shim_sector(sqlite3_file *f){
  return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int shim_device(sqlite3_file *f){
  return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int shim_shm_map(sqlite3_file *f, int i, int n, int b, void volatile **pp){
  return REAL(f)->pMethods->xShmMap(REAL(f), i, n, b, pp);
}
static int shim_shm_lock(sqlite3_file *f, int o, int n, int flags){
  return REAL(f)->pMethods->xShmLock(REAL(f), o, n, flags);
}
static void shim_shm_barrier(sqlite3_file *f){
  REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int shim_shm_unmap(sqlite3_file *f, int bDelete){
  return REAL(f)->pMethods->xShmUnmap(REAL(f), bDelete);
}

/* Version 2: no xFetch/xUnfetch, so SQLite never maps the file and every
** page it writes goes through shim_write. */
static const sqlite3_io_methods shim_io = {
  2, shim_close, shim_read, shim_write, shim_truncate, shim_sync, shim_size,
  shim_lock, shim_unlock, shim_check_lock, shim_fcntl, shim_sector, shim_device,
  shim_shm_map, shim_shm_lock, shim_shm_barrier, shim_shm_unmap, 0, 0
};

static int shim_open(sqlite3_vfs *pVfs, const char *zName, sqlite3_file *f, int flags,
                     int *pOutFlags){
  const vfs_shim *pShim = pVfs->pAppData;
  shim_file *p = (shim_file*)f;
  int rc;
  p->pReal = (sqlite3_file*)&p[1];
  p->pShim = pShim;
  p->openFlags = flags;
  rc = pShim->pReal->xOpen(pShim->pReal, zName, p->pReal, flags, pOutFlags);
  /* SQLite calls xClose only on a file whose pMethods is set. */
  p->base.pMethods = p->pReal->pMethods ? &shim_io : 0;
  return rc;
}

static int shim_sleep(sqlite3_vfs *pVfs, int nMicro){
  const vfs_shim *pShim = pVfs->pAppData;
  if( pShim->hooks.xSlept ) pShim->hooks.xSlept(nMicro);
  return pShim->pReal->xSleep(pShim->pReal, nMicro);
}

static int shim_delete(sqlite3_vfs *pVfs, const char *zName, int bSync){
  const vfs_shim *pShim = pVfs->pAppData;
  int rc = pShim->pReal->xDelete(pShim->pReal, zName, bSync);
  if( pShim->hooks.xDeleted ) pShim->hooks.xDeleted(zName, rc);
  return rc;
}

int vfs_shim_register(const char *zName, const vfs_shim_hooks *pHooks, int bDefault){
  vfs_shim *pShim;
  if( sqlite3_vfs_find(zName) ) return SQLITE_OK;
  if( nShim == VFS_SHIM_MAX ) return SQLITE_FULL;
  pShim = &aShim[nShim++];
  pShim->pReal = sqlite3_vfs_find(0);
  pShim->hooks = *pHooks;
  pShim->base = *pShim->pReal;
  pShim->base.zName = zName;
  pShim->base.szOsFile = (int)sizeof(shim_file) + pShim->pReal->szOsFile;
  pShim->base.pAppData = pShim;
  pShim->base.xOpen = shim_open;
  pShim->base.xDelete = shim_delete;
  pShim->base.xSleep = shim_sleep;
  return sqlite3_vfs_register(&pShim->base, bDefault);
}
