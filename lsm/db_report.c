/*
** db_report.c — the store's read-only reports: lsm_stats_get (counters
** and the shape of the tree), lsm_files (one row per SSTable) and
** lsm_check (every checksum, the order within and across tables, the
** slicing state against the tables, the manifest).  None of them changes the store.
*/
#include <stdio.h>
#include <string.h>

#include "db_impl.h"
#include "env.h"
#include "error.h"
#include "filename.h"
#include "ikey.h"
#include "manifest.h"

int lsm_stats_get(lsm_db *pDb, lsm_stats *pS){
  db_view *pView;
  int iLevel, i;
  if( pDb == NULL || pS == NULL ) return LSM_MISUSE;
  memset(pS, 0, sizeof(*pS));
  pView = db_view_acquire(pDb, NULL);
  pS->nMemtableEntries = memtable_entries(pView->pMem);
  pS->nMemtableBytes = memtable_bytes(pView->pMem);
  pS->nImmutable = (uint64_t)pView->nImm;
  for(i = 0; i < pView->nImm; i++){
    pS->nMemtableEntries += memtable_entries(pView->apImm[i]);
    pS->nMemtableBytes += memtable_bytes(pView->apImm[i]);
  }
  for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++){
    lsm_level_stats *pL = &pS->aLevel[iLevel];
    version *pV = pView->pVersion;
    for(i = 0; i < version_level_count(pV, iLevel); i++){
      const manifest_file *m = &version_table(pV, iLevel, i)->meta;
      pL->nFiles++;
      pL->nBytes += m->nFileBytes;
      pL->nEntries += m->nEntries;
      pL->nTombstones += m->nTombstones;
    }
    pL->nBytesReadByCompaction = stat_get(&pDb->stats.anLevelRead[iLevel]);
    pL->nBytesWrittenByCompaction = stat_get(&pDb->stats.anLevelWritten[iLevel]);
    pL->nBytesFromAbove = iLevel == 0 ? stat_get(&pDb->stats.nUserBytes)
                                      : stat_get(&pDb->stats.anLevelFromAbove[iLevel]);
    if( pL->nFiles || pL->nBytesWrittenByCompaction ) pS->nLevel = iLevel + 1;
    pS->nDiskBytes += pL->nBytes;
  }
  db_view_unref(pView);
  mutex_lock(&pDb->mutex);
  pS->nWalBytes = pDb->nWalSize;   /* the leader owns pWal: read its copy */
  pS->nOpenCursors = (uint64_t)atomic_load(&pDb->nCursor);
  pS->nOpenSnapshots = (uint64_t)pDb->nSnapshot;
  mutex_unlock(&pDb->mutex);
  pS->nSliceTables = stat_get(&pDb->stats.nSliceTables);
  pS->nDiskBytes += pS->nWalBytes;
  pS->nUserBytesWritten = stat_get(&pDb->stats.nUserBytes);
  pS->nWalBytesWritten = stat_get(&pDb->stats.nWalBytes);
  pS->nFlushBytesWritten = stat_get(&pDb->stats.nFlushBytes);
  pS->nCompactionBytesWritten = stat_get(&pDb->stats.nCompactionWritten);
  pS->nCompactionBytesRead = stat_get(&pDb->stats.nCompactionRead);
  pS->nFlushes = stat_get(&pDb->stats.nFlushes);
  pS->nCompactions = stat_get(&pDb->stats.nCompactions);
  pS->nGets = stat_get(&pDb->stats.nGets);
  pS->nGetSstProbes = stat_get(&pDb->stats.nGetProbes);
  pS->nSeeks = stat_get(&pDb->stats.nSeeks);
  pS->nSeekSstProbes = stat_get(&pDb->stats.nSeekProbes);
  pS->nBloomChecks = stat_get(&pDb->stats.nBloomChecks);
  pS->nBloomNegatives = stat_get(&pDb->stats.nBloomNegatives);
  pS->nBloomFalsePositives = stat_get(&pDb->stats.nBloomFalsePositives);
  pS->nStalls = stat_get(&pDb->stats.nStalls);
  pS->nStallMicros = stat_get(&pDb->stats.nStallMicros);
  table_cache_stats(pDb->pTableCache, &pS->nTablesOpen, &pS->nTableCacheBytes,
                    &pS->nTableCacheMisses);
  {
    block_cache_stats bs;
    block_cache_counts counts;
    block_cache_get_stats(table_cache_blocks(pDb->pTableCache), &bs);
    table_cache_block_counts(pDb->pTableCache, &counts);
    pS->nBlockCacheBytes = bs.nCharge;         /* the cache's, shared or not */
    pS->nBlockCacheHits = counts.nHits;        /* this store's own lookups   */
    pS->nBlockCacheMisses = counts.nMisses;
    pS->nBlockCacheMappedBytes = bs.nMappedBytes;
    pS->nBlockCacheOverflowBytes = bs.nOverflowBytes;
    pS->nBlockCacheSlabMoves = bs.nSlabMoves;
    pS->nBlockCacheNotCached = bs.nRefused;
  }
  return LSM_OK;
}

int lsm_files(lsm_db *pDb, lsm_file_info **paFile, int *pnFile){
  db_view *pView;
  version *pV;
  size_t nByte = 0;
  int nFile = 0, iLevel, i, rc = LSM_OK;
  lsm_file_info *aFile;
  uint8_t *pKeys;
  if( pDb == NULL || paFile == NULL || pnFile == NULL ) return LSM_MISUSE;
  pView = db_view_acquire(pDb, NULL);
  pV = pView->pVersion;
  for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++){
    for(i = 0; i < version_level_count(pV, iLevel); i++){
      const manifest_file *m = &version_table(pV, iLevel, i)->meta;
      nFile++;
      nByte += m->nSmallest + m->nLargest;
    }
  }
  aFile = env_malloc_rc(pDb->pEnv, sizeof(lsm_file_info) * (size_t)(nFile + 1) + nByte, &rc);
  if( aFile ){
    pKeys = (uint8_t*)&aFile[nFile + 1];
    nFile = 0;
    for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++){
      for(i = 0; i < version_level_count(pV, iLevel); i++){
        const manifest_file *m = &version_table(pV, iLevel, i)->meta;
        lsm_file_info *f = &aFile[nFile++];
        f->iLevel = iLevel;
        f->iNumber = m->iNumber;
        f->nBytes = m->nFileBytes;
        f->nEntries = m->nEntries;
        f->nTombstones = m->nTombstones;
        filename_name(f->zName, FILENAME_SST, m->iNumber);
        f->nSmallest = ikey_user_len(m->nSmallest);
        f->pSmallest = pKeys;
        memcpy(pKeys, m->pSmallest, f->nSmallest);
        pKeys += f->nSmallest;
        f->nLargest = ikey_user_len(m->nLargest);
        f->pLargest = pKeys;
        memcpy(pKeys, m->pLargest, f->nLargest);
        pKeys += f->nLargest;
      }
    }
  }
  db_view_unref(pView);
  *paFile = aFile;
  *pnFile = aFile ? nFile : 0;
  return rc;
}

/* Append a line to a growing report. */
static void report_add(lsm_env *pEnv, char **pz, const char *zLine){
  size_t nOld = *pz ? strlen(*pz) : 0, nLine = strlen(zLine);
  char *zNew = env_realloc(pEnv, *pz, nOld + nLine + 2);
  if( zNew == NULL ) return;
  memcpy(zNew + nOld, zLine, nLine);
  zNew[nOld + nLine] = '\n';
  zNew[nOld + nLine + 1] = 0;
  *pz = zNew;
}

int lsm_check(lsm_db *pDb, char **pzReport){
  db_view *pView;
  version *pV;
  char *zReport = NULL;
  int iLevel, i, nProblem = 0;
  if( pDb == NULL ) return LSM_MISUSE;
  error_clear();
  if( pzReport ) *pzReport = NULL;
  /* The view and the slicing state change together under installMutex
  ** (db_install_slice): read both under it to check one against the
  ** other. */
  mutex_lock(&pDb->installMutex);
  pView = db_view_acquire(pDb, NULL);
  pV = pView->pVersion;
  if( db_slice_verify(pDb, pV, &pDb->slice) != LSM_OK ){
    report_add(pDb->pEnv, &zReport, error_message());
    nProblem++;
  }
  mutex_unlock(&pDb->installMutex);
  for(iLevel = 0; iLevel < LSM_MAX_LEVELS; iLevel++){
    for(i = 0; i < version_level_count(pV, iLevel); i++){
      table *pT = version_table(pV, iLevel, i);
      int rc = LSM_OK;
      sst_reader *pReader = table_reader(pT, &rc);
      if( rc == LSM_OK ) rc = sst_reader_check(pReader);
      if( rc != LSM_OK ){
        report_add(pDb->pEnv, &zReport, error_message());
        nProblem++;
      }
      if( pReader
       && (pT->meta.nEntries != sst_reader_entries(pReader)
           || pT->meta.nFileBytes != sst_reader_file_bytes(pReader)) ){
        char zLine[256];
        snprintf(zLine, sizeof(zLine), "%s: manifest and table disagree on size or entries", pT->zPath);
        report_add(pDb->pEnv, &zReport, zLine);
        nProblem++;
      }
      sst_reader_unref(pReader);
      if( iLevel > 0 && i > 0 ){
        table *pPrev = version_table(pV, iLevel, i - 1);
        if( ikey_compare_user(pPrev->meta.pLargest, ikey_user_len(pPrev->meta.nLargest),
                              pT->meta.pSmallest, ikey_user_len(pT->meta.nSmallest)) >= 0 ){
          char zLine[256];
          snprintf(zLine, sizeof(zLine), "level %d: %s overlaps %s", iLevel, pPrev->zPath, pT->zPath);
          report_add(pDb->pEnv, &zReport, zLine);
          nProblem++;
        }
      }
    }
  }
  db_view_unref(pView);
  if( !pDb->bMemory ){
    manifest_state st;
    int rc;
    memset(&st, 0, sizeof(st));
    /* The logs the manifest still needs, as recovery would replay them:
    ** no flush may retire one meanwhile. */
    mutex_lock(&pDb->flushMutex);
    mutex_lock(&pDb->installMutex);     /* not while one is written */
    rc = manifest_read(pDb->pEnv, pDb->zDir, &st);
    mutex_unlock(&pDb->installMutex);
    if( rc == LSM_OK ) rc = db_check_logs(pDb, st.iLogNumber);
    mutex_unlock(&pDb->flushMutex);
    if( rc != LSM_OK ){
      report_add(pDb->pEnv, &zReport, error_message());
      nProblem++;
    }
    manifest_state_clear(pDb->pEnv, &st);
  }
  if( nProblem ){
    if( pzReport ){
      *pzReport = zReport;
      zReport = NULL;
    }
    env_free(pDb->pEnv, zReport);
    return LSM_CORRUPT;
  }
  return LSM_OK;
}

