/*
** filename.c — the names of the files in a store directory.
**
** Every name the store creates is built here, and every name read back
** from a directory listing is classified here, so the two can never
** disagree (LevelDB db/filename.cc).  The formats are listed in
** filename.h.  Parsing is strict: a name is accepted only if building the
** name of the parsed type and number gives back exactly the same string,
** so "12.sst", "0000012.sst", "+00012.sst", "000012.sst~" and "MANIFEST.TMP"
** are all rejected (they are not files the store made, and cleanup at open
** must never remove them).
*/
#include "filename.h"

#include <stdio.h>
#include <string.h>

#include "env.h"

#define FILENAME_MAX_NAME 32   /* room for any name, NUL included */

/* The suffix of a numbered type, or NULL for the fixed names. */
static const char *filename_suffix(int eType){
  switch( eType ){
    case FILENAME_SST: return ".sst";
    case FILENAME_WAL: return ".wal";
    case FILENAME_TMP: return ".tmp";
    default:           return NULL;
  }
}

void filename_name(char *zBuf, int eType, uint64_t iNumber){
  const char *zSuffix = filename_suffix(eType);
  if( zSuffix ){
    snprintf(zBuf, FILENAME_MAX_NAME, "%06llu%s", (unsigned long long)iNumber, zSuffix);
    return;
  }
  switch( eType ){
    case FILENAME_MANIFEST:     strcpy(zBuf, "MANIFEST"); break;
    case FILENAME_MANIFEST_TMP: strcpy(zBuf, "MANIFEST.tmp"); break;
    case FILENAME_LOCK:         strcpy(zBuf, "LOCK"); break;
    case FILENAME_MADEDIR:      strcpy(zBuf, "MADEDIR"); break;
    default:                    zBuf[0] = 0; break;
  }
}

char *filename_path(lsm_env *pEnv, const char *zDir, int eType, uint64_t iNumber, int *pRc){
  char zName[FILENAME_MAX_NAME];
  filename_name(zName, eType, iNumber);
  return env_mprintf_rc(pEnv, pRc, "%s/%s", zDir, zName);
}

int filename_parse(const char *zName, uint64_t *piNumber){
  static const int aFixed[] = { FILENAME_MANIFEST, FILENAME_MANIFEST_TMP, FILENAME_LOCK,
                                FILENAME_MADEDIR };
  static const int aNumbered[] = { FILENAME_SST, FILENAME_WAL, FILENAME_TMP };
  char zBuf[FILENAME_MAX_NAME];
  uint64_t iNumber = 0;
  size_t i, nDigit;

  for(i = 0; i < sizeof(aFixed) / sizeof(aFixed[0]); i++){
    filename_name(zBuf, aFixed[i], 0);
    if( strcmp(zName, zBuf) == 0 ){
      *piNumber = 0;
      return aFixed[i];
    }
  }

  /* NNNNNN.xxx: decimal digits without overflow, then a known suffix. */
  for(nDigit = 0; zName[nDigit] >= '0' && zName[nDigit] <= '9'; nDigit++){
    uint64_t d = (uint64_t)(zName[nDigit] - '0');
    if( iNumber > (UINT64_MAX - d) / 10 ) return 0;
    iNumber = iNumber * 10 + d;
  }
  if( nDigit < 6 ) return 0;
  for(i = 0; i < sizeof(aNumbered) / sizeof(aNumbered[0]); i++){
    if( strcmp(zName + nDigit, filename_suffix(aNumbered[i])) == 0 ){
      /* Canonical form only: no extra leading zeros. */
      filename_name(zBuf, aNumbered[i], iNumber);
      if( strcmp(zBuf, zName) != 0 ) return 0;
      *piNumber = iNumber;
      return aNumbered[i];
    }
  }
  return 0;
}
