/*
** owners.c — which table definitions use a directory store.
**
** Usage (what it makes true):
**
**     -- app.db
**     CREATE VIRTUAL TABLE kv USING lsm('kv.lsm');   -- OWNERS: /srv/app.db  kv
**     -- cp app.db copy.db, then in copy.db:
**     SELECT * FROM kv;      -- error: kv.lsm belongs to /srv/app.db, not to this copy
**     -- mv app.db kv.lsm /elsewhere/, then in /elsewhere/app.db:
**     SELECT * FROM kv;      -- fine: the old database is gone, the store follows it
**
** A directory store lives beside its database, named by a path in the
** table's CREATE statement; a copy of the database names the same path,
** and two definitions may name one store on purpose.  So that a copy
** never writes into the original's store, and so that DROP TABLE and ALTER
** TABLE RENAME never remove or move a store another definition still
** names, the store directory holds a file OWNERS listing the definitions
** that use it: the database file (its realpath) and the table name, one
** per line, the definition that made the store first.
**
**     OWNERS (text, UTF-8, written whole: OWNERS.tmp, fsync, rename)
**       <database realpath> TAB <table name> LF      one line per definition
**     e.g. "/srv/app.db\tkv\n/srv/app.db\talias\n"
**
**     A name holding a TAB or a line break (CREATE VIRTUAL TABLE "a<LF>b")
**     cannot be written so.  Then, and only then, the file opens with the
**     line "OWNERS 2" LF, and in every line after it a backslash, TAB and
**     LF inside a field are written \\, \t and \n:
**       "OWNERS 2\n/srv/app.db\ta\\nb\n"     (the table "a<LF>b")
**     A file without that first line is read as above, byte for byte (a
**     name holding a backslash there is itself); an older build refuses
**     the escaped file as "not a list of owners" rather than misread it.
**
** The rules (owners_claim, owners_release):
**   - CREATE VIRTUAL TABLE adds its definition (naming an existing store
**     on purpose shares it).
**   - Opening a table listed there, or of a database listed there, is
**     fine, and adds no line (only CREATE does).
**   - Opening a table of another database: if a database listed there
**     still exists, this one is a copy (or an unrelated database naming
**     the same directory) and the open is refused with a message saying
**     what to do; if none of them exists any more, the database was moved
**     with its store, and this one takes the store over.
**   - A store without OWNERS (made before this file existed) is claimed
**     by the first writable definition that opens it.
**   - A CREATE that is rolled back (ROLLBACK, or ROLLBACK TO a savepoint
**     before it) removes the line it added, and nothing else
**     (owners_unclaim; deferred.c).
**   - DROP TABLE removes its line; the store itself is removed only when
**     no other line is left.  Both happen once SQLite has committed the
**     DROP (deferred.c), as does the new name of a line at RENAME.
**   - readonly=on definitions and databases without a file (in-memory,
**     temp) neither claim nor are refused: they cannot write the store,
**     or cannot be copied.
** OWNERS is read and written while the process holds the store's lock
** (after lsm_open of a writable store), so writers never race on it.
*/
#include "ext.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OWNERS_NAME "OWNERS"
#define OWNERS_MAX_BYTES (1 << 20)    /* a larger file is not ours */
#define OWNERS_ESCAPED "OWNERS 2\n"     /* first line of the escaped form */

typedef struct owners {
  int n;                 /* definitions */
  char **azDb;           /* database realpath of each (sqlite3_free) */
  char **azTable;        /* table name of each (sqlite3_free) */
} owners;

static void owners_clear(owners *p){
  int i;
  for(i = 0; i < p->n; i++){
    sqlite3_free(p->azDb[i]);
    sqlite3_free(p->azTable[i]);
  }
  sqlite3_free(p->azDb);
  sqlite3_free(p->azTable);
  memset(p, 0, sizeof(*p));
}

static int owners_add(owners *p, const char *zDb, const char *zTable){
  char **azDb = sqlite3_realloc64(p->azDb, sizeof(char*) * (size_t)(p->n + 1));
  char **azTable;
  if( azDb == 0 ) return SQLITE_NOMEM;
  p->azDb = azDb;
  azTable = sqlite3_realloc64(p->azTable, sizeof(char*) * (size_t)(p->n + 1));
  if( azTable == 0 ) return SQLITE_NOMEM;
  p->azTable = azTable;
  p->azDb[p->n] = sqlite3_mprintf("%s", zDb);
  p->azTable[p->n] = sqlite3_mprintf("%s", zTable);
  p->n++;
  return (p->azDb[p->n - 1] && p->azTable[p->n - 1]) ? SQLITE_OK : SQLITE_NOMEM;
}

static void owners_remove_at(owners *p, int i){
  sqlite3_free(p->azDb[i]);
  sqlite3_free(p->azTable[i]);
  memmove(&p->azDb[i], &p->azDb[i + 1], sizeof(char*) * (size_t)(p->n - i - 1));
  memmove(&p->azTable[i], &p->azTable[i + 1], sizeof(char*) * (size_t)(p->n - i - 1));
  p->n--;
}

/* Index of (zDb, zTable) in p (zTable NULL: any table of zDb), or -1. */
static int owners_find(const owners *p, const char *zDb, const char *zTable){
  int i;
  for(i = 0; i < p->n; i++){
    if( strcmp(p->azDb[i], zDb) == 0 && (zTable == 0 || strcmp(p->azTable[i], zTable) == 0) ){
      return i;
    }
  }
  return -1;
}

/* Append field z, escaped (bEscape: \\, \t, \n) or as it is. */
static void owners_append_field(sqlite3_str *pText, const char *z, int bEscape){
  for(; bEscape && *z; z++){
    if( *z == '\\' ) sqlite3_str_appendall(pText, "\\\\");
    else if( *z == '\t' ) sqlite3_str_appendall(pText, "\\t");
    else if( *z == '\n' ) sqlite3_str_appendall(pText, "\\n");
    else sqlite3_str_appendchar(pText, 1, *z);
  }
  if( !bEscape ) sqlite3_str_appendall(pText, z);
}

/* Undo owners_append_field's escapes in place; nonzero if z holds an
** escape it never writes. */
static int owners_unescape(char *z){
  char *zOut = z;
  for(; *z; z++){
    if( *z != '\\' ){
      *zOut++ = *z;
      continue;
    }
    z++;
    if( *z == '\\' ) *zOut++ = '\\';
    else if( *z == 't' ) *zOut++ = '\t';
    else if( *z == 'n' ) *zOut++ = '\n';
    else return 1;
  }
  *zOut = 0;
  return 0;
}

/* Read zDir/OWNERS into *p.  *pbExists = 0 (and SQLITE_OK) if there is none. */
static int owners_read(const char *zDir, owners *p, int *pbExists, char **pzErr){
  char *zPath = sqlite3_mprintf("%s/" OWNERS_NAME, zDir);
  char *zText = 0;
  FILE *pIn;
  long nText;
  int rc = SQLITE_OK;
  memset(p, 0, sizeof(*p));
  *pbExists = 0;
  if( zPath == 0 ) return SQLITE_NOMEM;
  pIn = fopen(zPath, "rb");
  if( pIn == 0 ){
    if( errno != ENOENT ){
      *pzErr = sqlite3_mprintf("cannot read %s: %s", zPath, strerror(errno));
      rc = SQLITE_CANTOPEN;
    }
    sqlite3_free(zPath);
    return rc;
  }
  *pbExists = 1;
  if( fseek(pIn, 0, SEEK_END) != 0 || (nText = ftell(pIn)) < 0 || nText > OWNERS_MAX_BYTES
   || fseek(pIn, 0, SEEK_SET) != 0 ){
    *pzErr = sqlite3_mprintf("%s: not a list of owners", zPath);
    rc = SQLITE_CORRUPT;
  }else if( (zText = sqlite3_malloc64((sqlite3_uint64)nText + 1)) == 0 ){
    rc = SQLITE_NOMEM;
  }else if( fread(zText, 1, (size_t)nText, pIn) != (size_t)nText ){
    *pzErr = sqlite3_mprintf("cannot read %s", zPath);
    rc = SQLITE_IOERR;
  }else{
    char *z = zText, *zEnd = zText + nText;
    int bEscaped = 0;
    zText[nText] = 0;
    if( strncmp(z, OWNERS_ESCAPED, strlen(OWNERS_ESCAPED)) == 0 ){
      bEscaped = 1;
      z += strlen(OWNERS_ESCAPED);
    }
    while( rc == SQLITE_OK && z < zEnd ){
      char *zLf = memchr(z, '\n', (size_t)(zEnd - z));
      char *zTab = zLf ? memchr(z, '\t', (size_t)(zLf - z)) : 0;
      if( zLf == 0 || zTab == 0 || zTab == z ){
        *pzErr = sqlite3_mprintf("%s: not a list of owners", zPath);
        rc = SQLITE_CORRUPT;
        break;
      }
      *zTab = 0;
      *zLf = 0;
      if( bEscaped && (owners_unescape(z) != 0 || owners_unescape(zTab + 1) != 0) ){
        *pzErr = sqlite3_mprintf("%s: not a list of owners", zPath);
        rc = SQLITE_CORRUPT;
        break;
      }
      rc = owners_add(p, z, zTab + 1);
      z = zLf + 1;
    }
  }
  fclose(pIn);
  sqlite3_free(zText);
  sqlite3_free(zPath);
  if( rc != SQLITE_OK ) owners_clear(p);
  return rc;
}

/* Replace zDir/OWNERS by p (removed if p is empty): written whole to
** OWNERS.tmp, synced, renamed over OWNERS. */
static int owners_write(const char *zDir, const owners *p, char **pzErr){
  char *zPath = sqlite3_mprintf("%s/" OWNERS_NAME, zDir);
  char *zTmp = sqlite3_mprintf("%s/" OWNERS_NAME ".tmp", zDir);
  sqlite3_str *pText = sqlite3_str_new(0);
  char *zText = 0;
  int rc = SQLITE_OK, i, fd = -1;
  int bEscape = 0;
  if( zPath == 0 || zTmp == 0 ) rc = SQLITE_NOMEM;
  for(i = 0; i < p->n; i++){
    if( strpbrk(p->azDb[i], "\t\n") || strpbrk(p->azTable[i], "\t\n") ) bEscape = 1;
  }
  if( bEscape ) sqlite3_str_appendall(pText, OWNERS_ESCAPED);
  for(i = 0; i < p->n; i++){
    owners_append_field(pText, p->azDb[i], bEscape);
    sqlite3_str_appendchar(pText, 1, '\t');
    owners_append_field(pText, p->azTable[i], bEscape);
    sqlite3_str_appendchar(pText, 1, '\n');
  }
  zText = sqlite3_str_finish(pText);
  if( rc == SQLITE_OK && p->n == 0 ){
    if( unlink(zPath) != 0 && errno != ENOENT ){
      *pzErr = sqlite3_mprintf("cannot remove %s: %s", zPath, strerror(errno));
      rc = SQLITE_IOERR;
    }
  }else if( rc == SQLITE_OK ){
    size_t nText = zText ? strlen(zText) : 0;
    (void)unlink(zTmp);   /* a leftover: created anew below, never through a link */
    fd = open(zTmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if( fd < 0 || (nText && write(fd, zText, nText) != (ssize_t)nText) || fsync(fd) != 0
     || close(fd) != 0 || rename(zTmp, zPath) != 0 ){
      *pzErr = sqlite3_mprintf("cannot write %s: %s", zPath, strerror(errno));
      rc = SQLITE_IOERR;
      if( fd >= 0 ) (void)unlink(zTmp);
    }
  }
  sqlite3_free(zText);
  sqlite3_free(zPath);
  sqlite3_free(zTmp);
  return rc;
}

static int owners_file_exists(const char *zPath){
  struct stat st;
  return stat(zPath, &st) == 0 && S_ISREG(st.st_mode);
}

/* The realpath of the file of schema zDb (sqlite3_free), or NULL for a
** database without a file. */
char *owners_db_path(sqlite3 *db, const char *zDb){
  const char *zFile = sqlite3_db_filename(db, zDb);
  char zReal[PATH_MAX];
  if( zFile == 0 || zFile[0] == 0 ) return 0;
  return sqlite3_mprintf("%s", realpath(zFile, zReal) ? zReal : zFile);
}

int owners_claim(const char *zDir, const char *zDbPath, const char *zTable, int bCreate,
                 int *pbAdded, char **pzErr){
  owners o;
  int bExists = 0, rc, i, iMine;
  *pbAdded = 0;
  if( zDbPath == 0 ) return SQLITE_OK;
  rc = owners_read(zDir, &o, &bExists, pzErr);
  if( rc != SQLITE_OK ) return rc;
  iMine = owners_find(&o, zDbPath, zTable);
  if( iMine >= 0 || (!bCreate && owners_find(&o, zDbPath, 0) >= 0) ){
    /* Listed; or another table of this database is: a name this
    ** connection sees inside a RENAME not yet committed (its line takes
    ** the new name at commit, deferred.c) must not be written down. */
    owners_clear(&o);
    return SQLITE_OK;
  }
  if( bExists && !bCreate && owners_find(&o, zDbPath, 0) < 0 ){
    /* Another database's store: refused while that database exists. */
    for(i = 0; i < o.n; i++){
      if( owners_file_exists(o.azDb[i]) ){
        *pzErr = sqlite3_mprintf("lsm table %s: the store %s belongs to table %s of database %s,"
            " and this database (%s) is not one of its users: a copy of that database?"
            " Give this copy a copy of the store (copy the directory with both databases closed)"
            " and name it in a new table, or DROP TABLE %s here (which leaves the store alone)",
            zTable, zDir, o.azTable[i], o.azDb[i], zDbPath, zTable);
        owners_clear(&o);
        return SQLITE_CANTOPEN;
      }
    }
    /* None of them exists: the database moved, with its store. */
    while( o.n > 0 ) owners_remove_at(&o, 0);
  }
  rc = owners_add(&o, zDbPath, zTable);
  if( rc == SQLITE_OK ) rc = owners_write(zDir, &o, pzErr);
  *pbAdded = rc == SQLITE_OK;
  owners_clear(&o);
  return rc;
}

int owners_unclaim(const char *zDir, const char *zDbPath, const char *zTable, int *pnLeft,
                   char **pzErr){
  owners o;
  int bExists = 0, rc, i;
  *pnLeft = 0;
  rc = owners_read(zDir, &o, &bExists, pzErr);
  if( rc != SQLITE_OK || !bExists ) return rc;
  i = zDbPath ? owners_find(&o, zDbPath, zTable) : -1;
  if( i >= 0 ){
    owners_remove_at(&o, i);
    rc = owners_write(zDir, &o, pzErr);
  }
  *pnLeft = o.n;
  owners_clear(&o);
  return rc;
}

/* owners_release, and owners_release_check (bWrite 0: OWNERS unchanged). */
static int owners_release_impl(const char *zDir, const char *zDbPath, const char *zTable,
                               int bWrite, int *pbLast, char **pzErr){
  owners o;
  int bExists = 0, rc, i;
  *pbLast = 1;
  if( zDbPath == 0 ) return SQLITE_OK;
  rc = owners_read(zDir, &o, &bExists, pzErr);
  if( rc != SQLITE_OK || !bExists ) return rc;
  i = owners_find(&o, zDbPath, zTable);
  if( i >= 0 ) owners_remove_at(&o, i);
  /* Lines of databases that no longer exist do not keep the store. */
  for(i = 0; i < o.n; i++){
    if( owners_file_exists(o.azDb[i]) ){
      *pbLast = 0;
      break;
    }
  }
  if( *pbLast ) while( o.n > 0 ) owners_remove_at(&o, 0);
  if( bWrite ) rc = owners_write(zDir, &o, pzErr);
  owners_clear(&o);
  return rc;
}

int owners_release(const char *zDir, const char *zDbPath, const char *zTable, int *pbLast,
                   char **pzErr){
  return owners_release_impl(zDir, zDbPath, zTable, 1, pbLast, pzErr);
}

int owners_release_check(const char *zDir, const char *zDbPath, const char *zTable,
                         int *pbLast, char **pzErr){
  return owners_release_impl(zDir, zDbPath, zTable, 0, pbLast, pzErr);
}

int owners_release_all(const char *zDir, char **pzErr){
  owners o;
  memset(&o, 0, sizeof(o));
  return owners_write(zDir, &o, pzErr);
}

int owners_sole(const char *zDir, const char *zDbPath, const char *zTable, int *pbSole,
                char **pzErr){
  owners o;
  int bExists = 0, rc;
  *pbSole = 1;
  if( zDbPath == 0 ) return SQLITE_OK;
  rc = owners_read(zDir, &o, &bExists, pzErr);
  if( rc == SQLITE_OK && bExists ){
    *pbSole = o.n == 1 && owners_find(&o, zDbPath, zTable) == 0;
  }
  owners_clear(&o);
  return rc;
}

int owners_rename(const char *zDir, const char *zDbPath, const char *zOld, const char *zNew,
                  char **pzErr){
  owners o;
  int bExists = 0, rc, i;
  if( zDbPath == 0 ) return SQLITE_OK;
  rc = owners_read(zDir, &o, &bExists, pzErr);
  if( rc != SQLITE_OK || !bExists ) return rc;
  i = owners_find(&o, zDbPath, zOld);
  if( i >= 0 ){
    sqlite3_free(o.azTable[i]);
    o.azTable[i] = sqlite3_mprintf("%s", zNew);
    rc = o.azTable[i] ? owners_write(zDir, &o, pzErr) : SQLITE_NOMEM;
  }
  owners_clear(&o);
  return rc;
}
