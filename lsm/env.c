/*
** env.c — the environment: the engine's only door to files and memory.
**
** Two implementations of lsm_env (lsm.h):
**   - the POSIX one (lsm_env_default), here: pread/write/fdatasync/rename, whole
**     files mapped read-only with mmap, an flock(2) lock file;
**     a file opened to read gives its descriptor back once mapped (the
**     mapping keeps the file; xRead and xSize then use the mapping), so
**     open SSTables cost mappings, not descriptors, as LevelDB's mmap
**     readers do;
**   - an in-memory file system (lsm_env_memory) for ':memory:' stores and
**     fast tests: env_memory.c.  The file handle both use is in
**     env_impl.h.
** Plus the helpers of env.h that the rest of the engine calls.
**
** Error mapping (POSIX): ENOSPC/EDQUOT -> LSM_FULL; ENOENT, EACCES, ENOTDIR,
** EISDIR, EROFS, EEXIST and ELOOP on open -> LSM_CANTOPEN; anything else
** -> LSM_IOERR.
**
** A file opened with LSM_OPEN_PREALLOC (a log synced after each commit,
** wal.c) is written with pwrite at the end of what was appended, into
** zeros written up to the next megabyte boundary ahead of it
** (posix_prealloc).  Measured on ext4 over a VM disk, 2,000 interleaved
** pwrite+fdatasync pairs each: 100 bytes 124-258 us appending against
** 87-174 us overwriting zeros, 4 KiB 195-340 against 99-159 us: a sync
** that extends the file also commits the new size (a journal commit), a
** sync of blocks the file already has does not.  The zeros cost one
** more write of every byte the log takes (one pwritev per megabyte) and
** one size-changing sync per megabyte.  Not fallocate(2): ext4 converts
** an unwritten extent a block at a time as it is first written, a journal
** commit per 4 KiB of log (counted: README, Benchmarks).  xSize reports
** the bytes appended; xClose cuts the zeros off; after a crash the log
** may end in them, which replay takes as its end (wal.c, PREALLOCATED
** TAIL).
**
** A file opened with LSM_OPEN_MAPPED_APPEND as well (a sync=normal log,
** wal.c MAPPED LOG) is zeroed ENV_MAP_WINDOW_BYTES at a time and each
** window mapped shared and writable: an append is a memcpy into the
** window, no system call, and the bytes are in the page cache, as after
** a write(2), so a killed process loses none.  Measured with make bench's
** engine level (1M one-put commits, sync=normal): about 3 us of each put
** was its write(2) on this project's machine (fillrandom 240,798 puts/s
** against 1,157,135 with the log buffered in memory); with the mapping
** 490,017 and 809,600 puts/s in two runs.  If zeroing or mapping a window
** fails, the file falls back to pwrite for good.
**
** Files that must be new are created with O_EXCL, and no
** write or append open follows a symbolic link (O_NOFOLLOW): see
** LSM_OPEN_EXCL in lsm.h.  Each
** error carries a message with the path and strerror.
*/
#include "env.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "env_impl.h"
#include "error.h"

/* ------------------------------------------------------------------ */
/* POSIX                                                               */
/* ------------------------------------------------------------------ */

/* LSM_OPEN_PREALLOC: zeros reach the next multiple of ENV_PREALLOC_BYTES
** past the end of the appends, written from one static block of zeros. */
#define ENV_PREALLOC_BYTES (1u << 20)
#define ENV_ZERO_BLOCK     (64u * 1024)
/* LSM_OPEN_MAPPED_APPEND: the file is mapped and zeroed this much at a
** time (a divisor of ENV_PREALLOC_BYTES, a multiple of the page size).
** Smaller than a sync=full log's step because the zeros past a closed
** log's last record are written for nothing: at most this much per log. */
#define ENV_MAP_WINDOW_BYTES (256u * 1024)
static const uint8_t g_aZeroBlock[ENV_ZERO_BLOCK];

static int posix_error(int rc, const char *zOp, const char *zPath, int iErrno){
  if( iErrno == ENOSPC || iErrno == EDQUOT ) rc = LSM_FULL;
  return error_raise(rc, __LINE__, "%s %s: %s", zOp, zPath, strerror(iErrno));
}

static int posix_open(lsm_env *pEnv, const char *zPath, int flags, lsm_file **ppFile){
  int oflags, fd;
  lsm_file *p;
  *ppFile = NULL;
  int bMapAppend = (flags & LSM_OPEN_WRITE) && (flags & LSM_OPEN_PREALLOC)
                   && (flags & LSM_OPEN_MAPPED_APPEND);
  if( flags & LSM_OPEN_READ ) oflags = O_RDONLY;
  else if( flags & LSM_OPEN_WRITE ){
    /* A shared writable mapping needs the descriptor open for reading too. */
    oflags = (bMapAppend ? O_RDWR : O_WRONLY) | O_CREAT | O_NOFOLLOW | ((flags & LSM_OPEN_EXCL) ? O_EXCL : O_TRUNC);
  }else oflags = O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW;
  fd = open(zPath, oflags | O_CLOEXEC, 0644);
  if( fd < 0 ){
    int e = errno;
    int rc = (e == ENOENT || e == EACCES || e == ENOTDIR || e == EISDIR || e == EROFS
              || e == EEXIST || e == ELOOP) ? LSM_CANTOPEN : LSM_IOERR;
    if( e == EEXIST || e == ELOOP ){
      /* A name the store was about to create, or its lock file, is taken
      ** (by a symbolic link, say): never write through it. */
      return error_raise(rc, __LINE__, "cannot create %s: %s (the store never writes"
                         " through an existing name or a symbolic link)", zPath,
                         e == EEXIST ? "it already exists" : "it is a symbolic link");
    }
    return posix_error(rc, "cannot open", zPath, e);
  }
  p = calloc(1, sizeof(*p) + strlen(zPath) + 1);
  if( p == NULL ){ close(fd); return LSM_NOMEM; }
  p->pEnv = pEnv;
  p->fd = fd;
  p->bReadOnly = (flags & LSM_OPEN_READ) != 0;
  p->bPrealloc = (flags & LSM_OPEN_WRITE) && (flags & LSM_OPEN_PREALLOC);  /* new or emptied */
  p->bMapAppend = bMapAppend;
  p->zPath = (char*)&p[1];
  strcpy(p->zPath, zPath);
  *ppFile = p;
  return LSM_OK;
}

static int posix_read(lsm_file *p, uint64_t iOff, void *pBuf, size_t nBuf, size_t *pnRead){
  size_t nDone = 0;
  if( p->pMap ){
    /* Mapped (its descriptor may be closed): copy from the mapping, a
    ** short count at its end as pread gives. */
    if( iOff < p->nMap ) nDone = (size_t)(p->nMap - iOff) < nBuf ? (size_t)(p->nMap - iOff) : nBuf;
    if( nDone ) memcpy(pBuf, p->pMap + iOff, nDone);
    *pnRead = nDone;
    return LSM_OK;
  }
  while( nDone < nBuf ){
    ssize_t n = pread(p->fd, (char*)pBuf + nDone, nBuf - nDone, (off_t)(iOff + nDone));
    if( n < 0 ){
      if( errno == EINTR ) continue;
      return posix_error(LSM_IOERR, "cannot read", p->zPath, errno);
    }
    if( n == 0 ) break;
    nDone += (size_t)n;
  }
  *pnRead = nDone;
  return LSM_OK;
}

/*
** Write zeros from p->nZeroed to past nEnd (the next multiple of nStep).
** A failure is not reported: the append that follows then extends the
** file itself, and reports its own error.
*/
static void posix_prealloc(lsm_file *p, uint64_t nEnd, uint64_t nStep){
  uint64_t nTarget = (nEnd / nStep + 1) * nStep;
  while( p->nZeroed < nTarget ){
    struct iovec aIov[ENV_PREALLOC_BYTES / ENV_ZERO_BLOCK];
    uint64_t nLeft = nTarget - p->nZeroed;
    int nIov = 0;
    ssize_t n;
    while( nLeft > 0 && nIov < (int)(sizeof(aIov) / sizeof(aIov[0])) ){
      size_t nPiece = nLeft < ENV_ZERO_BLOCK ? (size_t)nLeft : ENV_ZERO_BLOCK;
      aIov[nIov].iov_base = (void*)g_aZeroBlock;
      aIov[nIov].iov_len = nPiece;
      nIov++;
      nLeft -= nPiece;
    }
    n = pwritev(p->fd, aIov, nIov, (off_t)p->nZeroed);
    if( n < 0 && errno == EINTR ) continue;
    if( n <= 0 ) return;
    p->nZeroed += (uint64_t)n;
  }
}

/* An append to a LSM_OPEN_PREALLOC file: pwrite over the zeros.  On a
** failure the bytes that were written count as appended, so that xSize
** shows the caller the file changed (wal.c poisons the log then). */
static int posix_append_prealloc(lsm_file *p, const void *pData, size_t nData){
  size_t nDone = 0;
  int rc = LSM_OK;
  if( p->nAppended + nData > p->nZeroed ){
    posix_prealloc(p, p->nAppended + nData, ENV_PREALLOC_BYTES);
  }
  while( nDone < nData ){
    ssize_t n = pwrite(p->fd, (const char*)pData + nDone, nData - nDone,
                       (off_t)(p->nAppended + nDone));
    if( n < 0 ){
      if( errno == EINTR ) continue;
      rc = posix_error(LSM_IOERR, "cannot write", p->zPath, errno);
      break;
    }
    nDone += (size_t)n;
  }
  p->nAppended += nDone;
  if( p->nAppended > p->nZeroed ) p->nZeroed = p->nAppended;
  return rc;
}

static void posix_unmap_window(lsm_file *p){
  if( p->pWindow ){
    munmap(p->pWindow, p->nWindow);
#ifdef SYNC_FILE_RANGE_WRITE
    /* Start writing the finished window back now, without waiting, so
    ** that the sync when the log is done with (wal_writer_finish, under
    ** the store's mutex) finds little left to write.  A hint: failure
    ** changes nothing. */
    (void)sync_file_range(p->fd, (off_t)p->iWindow, (off_t)p->nWindow, SYNC_FILE_RANGE_WRITE);
#endif
  }
  p->pWindow = NULL;
  p->nWindow = 0;
}

/*
** Point p->pWindow at the ENV_MAP_WINDOW_BYTES-aligned piece of the file
** that holds offset iOff, zeros written through its end first (so the
** mapping never reaches past the end of the file, and every page it
** covers has its disk blocks: a store through it can neither fault
** past EOF nor find the disk full).  0 if that cannot be done: the
** caller then appends with pwrite, as without the flag.
*/
static int posix_map_window(lsm_file *p, uint64_t iOff){
  uint64_t iStart = iOff / ENV_MAP_WINDOW_BYTES * ENV_MAP_WINDOW_BYTES;
  void *pMap;
  posix_unmap_window(p);
  if( p->nZeroed < iStart + ENV_MAP_WINDOW_BYTES ){
    posix_prealloc(p, iStart, ENV_MAP_WINDOW_BYTES);
  }
  if( p->nZeroed < iStart + ENV_MAP_WINDOW_BYTES ) return 0;
  pMap = mmap(NULL, ENV_MAP_WINDOW_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd,
              (off_t)iStart);
  if( pMap == MAP_FAILED ) return 0;
  p->pWindow = pMap;
  p->iWindow = iStart;
  p->nWindow = ENV_MAP_WINDOW_BYTES;
  return 1;
}

/* An append to a LSM_OPEN_MAPPED_APPEND file: copied into the window, the
** window moved ENV_MAP_WINDOW_BYTES at a time.  A window that cannot be made turns
** the file back into a pwrite one for good. */
static int posix_append_mapped(lsm_file *p, const void *pData, size_t nData){
  size_t nDone = 0;
  while( nDone < nData ){
    size_t nPiece;
    if( p->pWindow == NULL || p->nAppended < p->iWindow
     || p->nAppended >= p->iWindow + p->nWindow ){
      if( !posix_map_window(p, p->nAppended) ){
        p->bMapAppend = 0;
        return posix_append_prealloc(p, (const uint8_t*)pData + nDone, nData - nDone);
      }
    }
    nPiece = (size_t)(p->iWindow + p->nWindow - p->nAppended);
    if( nPiece > nData - nDone ) nPiece = nData - nDone;
    memcpy(p->pWindow + (p->nAppended - p->iWindow), (const uint8_t*)pData + nDone, nPiece);
    p->nAppended += nPiece;
    nDone += nPiece;
  }
  return LSM_OK;
}

static int posix_append(lsm_file *p, const void *pData, size_t nData){
  size_t nDone = 0;
  if( p->bMapAppend ) return posix_append_mapped(p, pData, nData);
  if( p->bPrealloc ) return posix_append_prealloc(p, pData, nData);
  while( nDone < nData ){
    ssize_t n = write(p->fd, (const char*)pData + nDone, nData - nDone);
    if( n < 0 ){
      if( errno == EINTR ) continue;
      return posix_error(LSM_IOERR, "cannot write", p->zPath, errno);
    }
    nDone += (size_t)n;
  }
  return LSM_OK;
}

static int posix_sync(lsm_file *p){
  if( fdatasync(p->fd) != 0 ) return posix_error(LSM_IOERR, "cannot sync", p->zPath, errno);
  return LSM_OK;
}

static int posix_size(lsm_file *p, uint64_t *pnSize){
  struct stat st;
  if( p->pMap ){
    *pnSize = p->nMap;       /* the size when mapped: read-only files do not grow */
    return LSM_OK;
  }
  if( p->bPrealloc ){
    *pnSize = p->nAppended;  /* not the zeros ahead */
    return LSM_OK;
  }
  if( fstat(p->fd, &st) != 0 ) return posix_error(LSM_IOERR, "cannot stat", p->zPath, errno);
  *pnSize = (uint64_t)st.st_size;
  return LSM_OK;
}

static const uint8_t g_aEmpty[1];   /* what an empty file maps to */

static int posix_map(lsm_file *p, const uint8_t **ppData, uint64_t *pnData){
  if( p->pMap == NULL ){
    uint64_t nSize;
    int rc = posix_size(p, &nSize);
    if( rc != LSM_OK ) return rc;
    if( nSize == 0 ){
      p->pMap = g_aEmpty;
    }else{
      void *pMap = mmap(NULL, (size_t)nSize, PROT_READ, MAP_SHARED, p->fd, 0);
      if( pMap == MAP_FAILED ){
        return posix_error(errno == ENOMEM ? LSM_NOMEM : LSM_IOERR, "cannot map", p->zPath, errno);
      }
      p->pMap = pMap;
    }
    p->nMap = nSize;
    if( p->bReadOnly ){
      /* The mapping holds the file; the descriptor is no longer needed. */
      close(p->fd);
      p->fd = -1;
    }
  }
  *ppData = p->pMap;
  *pnData = p->nMap;
  return LSM_OK;
}

static int posix_close(lsm_file *p){
  int rc = LSM_OK;
  if( p == NULL ) return LSM_OK;
  if( p->pMap && p->pMap != g_aEmpty ) munmap((void*)p->pMap, (size_t)p->nMap);
  posix_unmap_window(p);
  if( p->bPrealloc && p->nZeroed > p->nAppended && ftruncate(p->fd, (off_t)p->nAppended) != 0 ){
    /* The zeros stay: replay takes them as the log's end. */
  }
  if( p->fd >= 0 && close(p->fd) != 0 && rc == LSM_OK ) rc = posix_error(LSM_IOERR, "cannot close", p->zPath, errno);
  free(p);
  return rc;
}

static int posix_rename(lsm_env *pEnv, const char *zFrom, const char *zTo){
  (void)pEnv;
  if( rename(zFrom, zTo) != 0 ) return posix_error(LSM_IOERR, "cannot rename", zFrom, errno);
  return LSM_OK;
}

static int posix_unlink(lsm_env *pEnv, const char *zPath){
  (void)pEnv;
  if( unlink(zPath) != 0 && errno != ENOENT ){
    return posix_error(LSM_IOERR, "cannot remove", zPath, errno);
  }
  return LSM_OK;
}

static int posix_sync_dir(lsm_env *pEnv, const char *zDir){
  int fd, rc = LSM_OK;
  (void)pEnv;
  fd = open(zDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if( fd < 0 ) return posix_error(LSM_IOERR, "cannot open directory", zDir, errno);
  if( fsync(fd) != 0 ) rc = posix_error(LSM_IOERR, "cannot sync directory", zDir, errno);
  close(fd);
  return rc;
}

static int posix_mkdir(lsm_env *pEnv, const char *zDir){
  struct stat st;
  (void)pEnv;
  if( mkdir(zDir, 0755) == 0 ) return LSM_OK;
  if( errno == EEXIST && stat(zDir, &st) == 0 && S_ISDIR(st.st_mode) ) return LSM_OK;
  return posix_error(LSM_CANTOPEN, "cannot create directory", zDir, errno);
}

static int posix_rmdir(lsm_env *pEnv, const char *zDir){
  (void)pEnv;
  if( rmdir(zDir) != 0 ) return posix_error(LSM_IOERR, "cannot remove directory", zDir, errno);
  return LSM_OK;
}

/* Pack names into one allocation (see env_impl.h). */
int env_pack_names(lsm_env *pEnv, char **azTmp, int nName, char ***pazName){
  size_t nByte = sizeof(char*) * (size_t)(nName + 1);
  char **az, *z;
  int i;
  for(i = 0; i < nName; i++) nByte += strlen(azTmp[i]) + 1;
  az = pEnv->xMalloc(pEnv, nByte);
  if( az == NULL ) return LSM_NOMEM;
  z = (char*)&az[nName + 1];
  for(i = 0; i < nName; i++){
    size_t n = strlen(azTmp[i]) + 1;
    memcpy(z, azTmp[i], n);
    az[i] = z;
    z += n;
  }
  az[nName] = NULL;
  *pazName = az;
  return LSM_OK;
}

static int posix_list_dir(lsm_env *pEnv, const char *zDir, char ***pazName, int *pnName){
  DIR *pDir = opendir(zDir);
  struct dirent *pEnt;
  char **azTmp = NULL;
  int nName = 0, nAlloc = 0, rc = LSM_OK, i;
  *pazName = NULL;
  *pnName = 0;
  if( pDir == NULL ) return posix_error(LSM_IOERR, "cannot list directory", zDir, errno);
  while( rc == LSM_OK && (pEnt = readdir(pDir)) != NULL ){
    if( strcmp(pEnt->d_name, ".") == 0 || strcmp(pEnt->d_name, "..") == 0 ) continue;
    if( nName == nAlloc ){
      char **azNew;
      nAlloc = nAlloc ? nAlloc * 2 : 16;
      azNew = realloc(azTmp, sizeof(char*) * (size_t)nAlloc);
      if( azNew == NULL ){ rc = LSM_NOMEM; break; }
      azTmp = azNew;
    }
    azTmp[nName] = strdup(pEnt->d_name);
    if( azTmp[nName] == NULL ){ rc = LSM_NOMEM; break; }
    nName++;
  }
  closedir(pDir);
  if( rc == LSM_OK ) rc = env_pack_names(pEnv, azTmp, nName, pazName);
  if( rc == LSM_OK ) *pnName = nName;
  for(i = 0; i < nName; i++) free(azTmp[i]);
  free(azTmp);
  return rc;
}

static int posix_exists(lsm_env *pEnv, const char *zPath, int *pbExists, int *pbIsDir){
  struct stat st;
  (void)pEnv;
  *pbExists = *pbIsDir = 0;
  if( stat(zPath, &st) == 0 ){
    *pbExists = 1;
    *pbIsDir = S_ISDIR(st.st_mode) ? 1 : 0;
  }else if( errno != ENOENT && errno != ENOTDIR ){
    return posix_error(LSM_IOERR, "cannot stat", zPath, errno);
  }
  return LSM_OK;
}

/* Lock zPath with flock(2) operation op (LOCK_EX or LOCK_SH), opened
** with the LSM_OPEN_* flags given. */
static int posix_flock(lsm_env *pEnv, const char *zPath, int flags, int op, lsm_file **ppLock){
  int nTry;
  for(nTry = 0; ; nTry++){
    lsm_file *p = NULL;
    struct stat stFd, stPath;
    int rc = posix_open(pEnv, zPath, flags, &p);
    if( rc != LSM_OK ) return rc;
    if( flock(p->fd, op | LOCK_NB) != 0 ){
      int e = errno;
      posix_close(p);
      if( e == EWOULDBLOCK ){
        return error_raise(LSM_BUSY, __LINE__,
            "the store is locked by another process (lock file %s)", zPath);
      }
      return posix_error(LSM_IOERR, "cannot lock", zPath, e);
    }
    /* The holder we waited for may have removed the file (lsm_destroy, a
    ** failed lsm_open) between our open and our flock: a lock on a file
    ** that no longer has the name excludes nobody.  Lock the file the
    ** name holds now instead. */
    if( fstat(p->fd, &stFd) == 0 && lstat(zPath, &stPath) == 0
     && stFd.st_dev == stPath.st_dev && stFd.st_ino == stPath.st_ino ){
      *ppLock = p;
      return LSM_OK;
    }
    flock(p->fd, LOCK_UN);
    posix_close(p);
    if( nTry >= 10 ){
      return error_raise(LSM_BUSY, __LINE__, "the lock file %s keeps being replaced", zPath);
    }
  }
}

static int posix_lock(lsm_env *pEnv, const char *zPath, lsm_file **ppLock){
  return posix_flock(pEnv, zPath, LSM_OPEN_APPEND, LOCK_EX, ppLock);
}

static int posix_unlock(lsm_file *p){
  if( p == NULL ) return LSM_OK;
  flock(p->fd, LOCK_UN);
  return posix_close(p);
}

static void *posix_malloc(lsm_env *pEnv, size_t n){ (void)pEnv; return malloc(n ? n : 1); }
static void *posix_realloc(lsm_env *pEnv, void *p, size_t n){ (void)pEnv; return realloc(p, n ? n : 1); }
static void posix_free(lsm_env *pEnv, void *p){ (void)pEnv; free(p); }

static lsm_env g_posixEnv = {
  NULL,
  posix_open, posix_read, posix_append, posix_sync, posix_size, posix_map, posix_close,
  posix_rename, posix_unlink, posix_sync_dir, posix_mkdir, posix_rmdir, posix_list_dir,
  posix_exists, posix_lock, posix_unlock,
  posix_malloc, posix_realloc, posix_free,
};

lsm_env *lsm_env_default(void){
  return &g_posixEnv;
}

int env_lock_shared(lsm_env *pEnv, const char *zPath, lsm_file **ppLock){
  int bExists = 0, bIsDir = 0;
  if( pEnv != &g_posixEnv ) return pEnv->xLock(pEnv, zPath, ppLock);
  /* An existing LOCK is opened read-only, so that users who may read the
  ** store but not write it can open it; a missing one is created. */
  if( posix_exists(pEnv, zPath, &bExists, &bIsDir) == LSM_OK && bExists ){
    return posix_flock(pEnv, zPath, LSM_OPEN_READ, LOCK_SH, ppLock);
  }
  return posix_flock(pEnv, zPath, LSM_OPEN_APPEND, LOCK_SH, ppLock);
}

/* ------------------------------------------------------------------ */
/* Helpers (env.h)                                                     */
/* ------------------------------------------------------------------ */

void *env_malloc(lsm_env *pEnv, size_t n){ return pEnv->xMalloc(pEnv, n); }
void *env_realloc(lsm_env *pEnv, void *p, size_t n){ return pEnv->xRealloc(pEnv, p, n); }
void env_free(lsm_env *pEnv, void *p){ if( p ) pEnv->xFree(pEnv, p); }

void *env_malloc_rc(lsm_env *pEnv, size_t n, int *pRc){
  void *p = NULL;
  if( *pRc == LSM_OK ){
    p = pEnv->xMalloc(pEnv, n);
    if( p == NULL ) *pRc = LSM_NOMEM;
    else memset(p, 0, n);
  }
  return p;
}

char *env_strdup_rc(lsm_env *pEnv, const char *z, int *pRc){
  size_t n = strlen(z) + 1;
  char *p = env_malloc_rc(pEnv, n, pRc);
  if( p ) memcpy(p, z, n);
  return p;
}

char *env_mprintf_rc(lsm_env *pEnv, int *pRc, const char *zFmt, ...){
  va_list ap;
  int n;
  char *z;
  if( *pRc != LSM_OK ) return NULL;
  va_start(ap, zFmt);
  n = vsnprintf(NULL, 0, zFmt, ap);
  va_end(ap);
  z = env_malloc_rc(pEnv, (size_t)n + 1, pRc);
  if( z ){
    va_start(ap, zFmt);
    vsnprintf(z, (size_t)n + 1, zFmt, ap);
    va_end(ap);
  }
  return z;
}

int env_read_file(lsm_env *pEnv, const char *zPath, uint8_t **ppData, size_t *pnData){
  lsm_file *pFile = NULL;
  uint64_t nSize = 0;
  uint8_t *a = NULL;
  size_t nRead = 0;
  int rc;
  *ppData = NULL;
  *pnData = 0;
  rc = pEnv->xOpen(pEnv, zPath, LSM_OPEN_READ, &pFile);
  if( rc == LSM_OK ) rc = pEnv->xSize(pFile, &nSize);
  if( rc == LSM_OK ) a = env_malloc_rc(pEnv, (size_t)nSize + 1, &rc);
  if( rc == LSM_OK ) rc = pEnv->xRead(pFile, 0, a, (size_t)nSize, &nRead);
  if( rc == LSM_OK && nRead != nSize ){
    rc = LSM_IOERR_BKPT("short read of %s", zPath);
  }
  if( pFile ) pEnv->xClose(pFile);
  if( rc == LSM_OK ){
    *ppData = a;
    *pnData = nRead;
  }else{
    env_free(pEnv, a);
  }
  return rc;
}

int env_write_file_atomic(lsm_env *pEnv, const char *zDir, const char *zPath,
                          const void *pData, size_t nData){
  lsm_file *pFile = NULL;
  char *zTmp;
  int rc = LSM_OK;
  zTmp = env_mprintf_rc(pEnv, &rc, "%s.tmp", zPath);
  /* A leftover zPath.tmp (or anything planted under its name) goes first:
  ** the new one is created exclusively, never through a link. */
  if( rc == LSM_OK ) rc = pEnv->xUnlink(pEnv, zTmp);
  if( rc == LSM_OK ) rc = pEnv->xOpen(pEnv, zTmp, LSM_OPEN_WRITE | LSM_OPEN_EXCL, &pFile);
  if( rc == LSM_OK ) rc = pEnv->xAppend(pFile, pData, nData);
  if( rc == LSM_OK ) rc = pEnv->xSync(pFile);
  if( pFile ){
    int rc2 = pEnv->xClose(pFile);
    if( rc == LSM_OK ) rc = rc2;
  }
  if( rc == LSM_OK ) rc = pEnv->xRename(pEnv, zTmp, zPath);
  if( rc == LSM_OK ) rc = pEnv->xSyncDir(pEnv, zDir);
  if( rc != LSM_OK && zTmp ) pEnv->xUnlink(pEnv, zTmp);
  env_free(pEnv, zTmp);
  return rc;
}
