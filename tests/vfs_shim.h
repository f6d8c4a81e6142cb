/*
** vfs_shim.h — a pass-through SQLite VFS for tests and profilers.
**
** Every call goes to the VFS that was the default when the shim was
** registered; hooks see what SQLite writes, syncs and deletes, so a test
** can count bytes by kind of file or end the process at a chosen moment:
**
**     static void on_write(int openFlags, const void *a, int n, sqlite3_int64 off){
**       if( openFlags & SQLITE_OPEN_WAL ) nWalBytes += n;
**     }
**     vfs_shim_hooks h = { .xWrite = on_write };
**     vfs_shim_register("count", &h, 0);
**     sqlite3_open_v2("t.db", &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE, "count");
**
** openFlags are the flags SQLite opened the file with (SQLITE_OPEN_MAIN_DB,
** SQLITE_OPEN_WAL, SQLITE_OPEN_SUBJOURNAL, ...): they say which kind of
** file a call is for.
*/
#ifndef LSM_TESTS_VFS_SHIM_H
#define LSM_TESTS_VFS_SHIM_H

#include <sqlite3.h>

typedef struct vfs_shim_hooks {
  /* Before n bytes at iOff reach the file.  May be NULL. */
  void (*xWrite)(int openFlags, const void *a, int n, sqlite3_int64 iOff);
  /* After the file's sync returned rc.  May be NULL. */
  void (*xSynced)(int openFlags, int rc);
  /* After the file zName was deleted, with rc.  May be NULL. */
  void (*xDeleted)(const char *zName, int rc);
  /* Before a sleep of nMicro microseconds (a busy handler's wait: SQLite's
  ** own sleeps through the connection's VFS, sqlite3_sleep through the
  ** default one).  May be NULL. */
  void (*xSlept)(int nMicro);
} vfs_shim_hooks;

/*
** Registers the shim as VFS zName (the hooks are copied), the default one
** if bDefault.  A name already registered is left as it is: SQLITE_OK.
** At most VFS_SHIM_MAX shims per process.
*/
#define VFS_SHIM_MAX 4
int vfs_shim_register(const char *zName, const vfs_shim_hooks *pHooks, int bDefault);

#endif
