/*
** filename.h — every file name in a store directory, built and parsed here.
**
**   NNNNNN.sst   an SSTable        (6+ decimal digits, the file number)
**   NNNNNN.wal   a write-ahead log
**   MANIFEST     the live description; MANIFEST.tmp while it is replaced
**   LOCK         the lock file held while the store is open
**   MADEDIR      present if the store created its directory (lsm_open):
**                only then does lsm_destroy remove the directory
**   NNNNNN.tmp   written by no current code; recognised so that open
**                removes one.  SSTables are written under their final
**                .sst name and named by no manifest until installed, so
**                an interrupted flush or compaction leaves an .sst that
**                open removes as a leftover.
**
** Files and SSTables share one number sequence (manifest iNextFile).
*/
#ifndef LSM_FILENAME_H
#define LSM_FILENAME_H

#include <stdint.h>

#include "lsm.h"

#define FILENAME_SST       1
#define FILENAME_WAL       2
#define FILENAME_MANIFEST  3
#define FILENAME_MANIFEST_TMP 4
#define FILENAME_LOCK      5
#define FILENAME_TMP       6
#define FILENAME_MADEDIR   7

/* A new path string zDir/<name> (free with env_free); NULL + *pRc on OOM. */
char *filename_path(lsm_env*, const char *zDir, int eType, uint64_t iNumber, int *pRc);

/* The bare name into zBuf (room for 32 bytes). */
void filename_name(char *zBuf, int eType, uint64_t iNumber);

/* Classify a name from a directory listing: returns the FILENAME_* type
** and sets *piNumber, or 0 if the name is not one the store makes. */
int filename_parse(const char *zName, uint64_t *piNumber);

#endif
