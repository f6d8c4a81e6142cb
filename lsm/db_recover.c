/*
** db_recover.c — opening a store's state: read the manifest (or write the
** first one), open its tables, replay the WALs it does not cover into a
** memtable, flush that memtable, start a new WAL and remove what no
** longer belongs (SSTables no manifest names, obsolete WALs, temporary
** files).  Runs in lsm_open before the background threads start.
*/
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "db_impl.h"
#include "env.h"
#include "error.h"
#include "filename.h"
#include "ikey.h"
#include "manifest.h"

/* Remove every file of the directory that the current state does not
** need: SSTables no version names (leftovers of an interrupted job), WALs
** older than iLogNumber, temporary files.  Called at open. */
static int db_remove_leftovers(lsm_db *pDb, version *pV, uint64_t iLogNumber){
  char **azName = NULL;
  int nName = 0, i, rc;
  rc = pDb->pEnv->xListDir(pDb->pEnv, pDb->zDir, &azName, &nName);
  for(i = 0; rc == LSM_OK && i < nName; i++){
    uint64_t iNumber;
    int eType = filename_parse(azName[i], &iNumber), bKeep = 1;
    if( eType == FILENAME_SST ){
      bKeep = version_has_file(pV, iNumber);
    }else if( eType == FILENAME_WAL ){
      bKeep = iNumber >= iLogNumber;
    }else if( eType == FILENAME_TMP || eType == FILENAME_MANIFEST_TMP ){
      bKeep = 0;
    }
    if( !bKeep ){
      char *zPath = env_mprintf_rc(pDb->pEnv, &rc, "%s/%s", pDb->zDir, azName[i]);
      if( zPath ) rc = pDb->pEnv->xUnlink(pDb->pEnv, zPath);
      env_free(pDb->pEnv, zPath);
    }
  }
  env_free(pDb->pEnv, azName);
  return rc;
}


/*
** Replaying the chain of logs.  Each log's file header names the log
** before it and the sequence number at which that log's records that
** count end (wal.h); records carry their first sequence number.  So:
**   - the oldest log is the one the manifest names (iLogNumber);
**   - each log names the file before it (a missing log is corruption);
**   - within a log and from log to log, each batch starts at the
**     sequence number after the last one ended: a gap (lost records) or
**     an overlap is corruption;
**   - a log may end in a torn record only if it is the newest with
**     records, or the next log says PREV_TORN (a write to it failed and
**     the store moved on); its records from the next log's iPrevNextSeq
**     on were never acknowledged and are skipped.
** A log that was never written (shorter than its header, or zeros: a
** crash right after it was created) holds nothing and is passed over.
** Version-1 logs (written before the chain existed) are replayed as
** before, every one as if it were the newest; their batches may leave
** gaps in the sequence but never overlap.  In every log a batch's
** sequence numbers must fit an internal key (below 2^56).
*/
typedef struct replay_ctx {
  memtable *pMem;
  const char *zPath;       /* the log being replayed, for messages        */
  int bKnown;              /* iNextSeq is known (a header or record set it) */
  int bLegacy;             /* a version-1 log: gaps allowed, no overlap   */
  uint64_t iNextSeq;       /* seq the next record must start at           */
  uint64_t iStopSeq;       /* records from here on never counted          */
  int bSkipTail;           /* skip them (the next log says PREV_TORN)     */
  uint64_t lastSeq;        /* largest seq replayed                        */
  lsm_env *pEnv;           /* allocator of the unresolved batches         */
  struct replay_unresolved {
    uint64_t iId;          /* prepare id                                  */
    uint8_t *a;            /* a copy of the batch (env_malloc)            */
    size_t n;
  } *aUnresolved;          /* the newest log's prepared batches that no
                           ** commit record named, ids increasing        */
  int nUnresolved, nUnresolvedAlloc;
} replay_ctx;

static int count_op(void *pCtx, int type, const uint8_t *pKey, size_t nKey,
                    const uint8_t *pVal, size_t nVal){
  (void)type; (void)pKey; (void)nKey; (void)pVal; (void)nVal;
  (*(uint64_t*)pCtx)++;
  return LSM_OK;
}

static int replay_record(void *pCtx, uint64_t seq, const uint8_t *p, size_t n){
  replay_ctx *pR = pCtx;
  uint64_t nOp = 0;
  int rc;
  if( seq >= pR->iStopSeq ){
    if( pR->bSkipTail ) return LSM_OK;
    return LSM_CORRUPT_BKPT("%s: holds a batch of seq %llu, but the next log says its"
                            " records end before seq %llu", pR->zPath,
                            (unsigned long long)seq, (unsigned long long)pR->iStopSeq);
  }
  /* A batch's operations take seq, seq+1, ... (at most one per payload
  ** byte), all of which must fit an internal key's 56 bits: a larger seq
  ** would wrap and make two entries equal. */
  if( seq == 0 || seq > IKEY_MAX_SEQ || (uint64_t)n > IKEY_MAX_SEQ - seq ){
    return LSM_CORRUPT_BKPT("%s: a batch of seq %llu is out of range", pR->zPath,
                            (unsigned long long)seq);
  }
  if( pR->bKnown && (pR->bLegacy ? seq < pR->iNextSeq : seq != pR->iNextSeq) ){
    return LSM_CORRUPT_BKPT("%s: a batch of seq %llu where seq %llu was expected (%s)",
                            pR->zPath, (unsigned long long)seq,
                            (unsigned long long)pR->iNextSeq,
                            seq > pR->iNextSeq ? "batches are missing" : "batches overlap");
  }
  if( pR->pMem ){
    rc = batch_apply(p, n, seq, pR->pMem, &nOp);
  }else{
    rc = batch_decode(p, n, count_op, &nOp);       /* lsm_check: verify only */
  }
  if( rc == LSM_OK && nOp == 0 ){
    rc = LSM_CORRUPT_BKPT("%s: a batch of seq %llu holds no operation", pR->zPath,
                          (unsigned long long)seq);
  }
  if( rc == LSM_OK ){
    pR->iNextSeq = seq + nOp;
    pR->bKnown = 1;
    if( seq + nOp - 1 > pR->lastSeq ) pR->lastSeq = seq + nOp - 1;
  }
  return rc;
}

/* wal_replay_with_unresolved callback: keep a copy of an unresolved
** prepared batch of the newest log. */
static int keep_unresolved(void *pCtx, uint64_t iId, const uint8_t *p, size_t n){
  replay_ctx *pR = pCtx;
  int rc = LSM_OK;
  uint8_t *a;
  if( pR->nUnresolved == pR->nUnresolvedAlloc ){
    int nNew = pR->nUnresolvedAlloc ? pR->nUnresolvedAlloc * 2 : 8;
    void *aNew = env_realloc(pR->pEnv, pR->aUnresolved,
                             sizeof(pR->aUnresolved[0]) * (size_t)nNew);
    if( aNew == NULL ) return LSM_NOMEM;
    pR->aUnresolved = aNew;
    pR->nUnresolvedAlloc = nNew;
  }
  a = env_malloc_rc(pR->pEnv, n ? n : 1, &rc);
  if( a == NULL ) return rc;
  if( n ) memcpy(a, p, n);
  pR->aUnresolved[pR->nUnresolved].iId = iId;
  pR->aUnresolved[pR->nUnresolved].a = a;
  pR->aUnresolved[pR->nUnresolved].n = n;
  pR->nUnresolved++;
  return LSM_OK;
}

/*
** The prepared batches the store was waiting on when it was last used
** are those of the newest log that no commit record named: a memtable
** switch logs every waiting batch again at the start of the new log
** (db_write.c), so an older log's unresolved batches were all committed
** or aborted later.  Ask the host about each (lsm_options.xPrepared), in
** id order, and apply those it committed after everything replayed, as
** if their commit records had come last.
*/
static int resolve_unresolved(lsm_db *pDb, replay_ctx *pR){
  int i, rc = LSM_OK;
  for(i = 0; rc == LSM_OK && i < pR->nUnresolved; i++){
    int bCommitted = 0;
    uint64_t nOp = 0, seq = pR->lastSeq + 1;
    rc = pDb->opt.xPrepared(pDb->opt.pPreparedCtx, pR->aUnresolved[i].iId, &bCommitted);
    if( rc != LSM_OK ){
      const char *zMsg = error_message();
      rc = LSM_ERROR_MSG(rc, "%s: cannot learn whether prepared batch %llu committed%s%s",
                         pDb->zDir, (unsigned long long)pR->aUnresolved[i].iId,
                         zMsg && zMsg[0] ? ": " : "", zMsg ? zMsg : "");
      break;
    }
    if( !bCommitted ) continue;
    rc = batch_apply(pR->aUnresolved[i].a, pR->aUnresolved[i].n, seq, pR->pMem, &nOp);
    if( rc == LSM_OK && nOp ) pR->lastSeq = seq + nOp - 1;
  }
  return rc;
}

/*
** Replay the logs aWal[0..nWal) (sorted, all >= iLogNumber) into pMem as
** the comment above says (pMem NULL: only verify them).  *pLastSeq (in:
** the manifest's) becomes the largest sequence number the logs use.
** *pHdrNext is set to the header the next log (the one recovery starts)
** needs to link to them.
*/
static int replay_logs(lsm_db *pDb, uint64_t iLogNumber, const uint64_t *aWal, int nWal,
                       memtable *pMem, uint64_t *pLastSeq, wal_header *pHdrNext){
  lsm_env *pEnv = pDb->pEnv;
  wal_header *aHdr = NULL;
  int *abEmpty = NULL;
  char **azPath = NULL;
  replay_ctx ctx;
  int rc = LSM_OK, i, j, bTorn = 0;

  memset(&ctx, 0, sizeof(ctx));
  memset(pHdrNext, 0, sizeof(*pHdrNext));
  ctx.pMem = pMem;
  ctx.pEnv = pEnv;
  ctx.lastSeq = *pLastSeq;
  if( iLogNumber != 0 && (nWal == 0 || aWal[0] != iLogNumber) ){
    rc = LSM_CORRUPT_BKPT("%s: the log %06llu.wal the manifest names is missing",
                          pDb->zDir, (unsigned long long)iLogNumber);
  }
  if( nWal == 0 ) goto replay_logs_done;
  aHdr = env_malloc_rc(pEnv, sizeof(wal_header) * (size_t)nWal, &rc);
  abEmpty = env_malloc_rc(pEnv, sizeof(int) * (size_t)nWal, &rc);
  azPath = env_malloc_rc(pEnv, sizeof(char*) * (size_t)nWal, &rc);
  for(i = 0; rc == LSM_OK && i < nWal; i++){
    azPath[i] = filename_path(pEnv, pDb->zDir, FILENAME_WAL, aWal[i], &rc);
    if( rc == LSM_OK ) rc = wal_read_header(pEnv, azPath[i], &aHdr[i], &abEmpty[i]);
    if( rc == LSM_OK && !abEmpty[i] && !aHdr[i].bLegacy ){
      if( aHdr[i].iNumber != aWal[i] ){
        rc = LSM_CORRUPT_BKPT("%s: the file holds log %06llu.wal", azPath[i],
                              (unsigned long long)aHdr[i].iNumber);
      }else if( aHdr[i].iFirstSeq < aHdr[i].iPrevNextSeq ){
        /* Its batches would reuse sequence numbers of the log before. */
        rc = LSM_CORRUPT_BKPT("%s: starts at seq %llu, before the log before it ends"
                              " (seq %llu)", azPath[i], (unsigned long long)aHdr[i].iFirstSeq,
                              (unsigned long long)aHdr[i].iPrevNextSeq);
      }else if( i > 0 ){
        /* It follows the log before it, or, past logs that were never
        ** written (a switch that failed, a crash right after a create),
        ** the last log before those. */
        int iPrev = i - 1, bFound = 0;
        for(;;){
          if( aHdr[i].iPrevLog == aWal[iPrev] ){ bFound = 1; break; }
          if( !abEmpty[iPrev] || iPrev == 0 ) break;
          iPrev--;
        }
        if( !bFound ){
          rc = aHdr[i].iPrevLog > aWal[iPrev] && aHdr[i].iPrevLog < aWal[i]
             ? LSM_CORRUPT_BKPT("%s: the log before it, %06llu.wal, is missing", azPath[i],
                                (unsigned long long)aHdr[i].iPrevLog)
             : LSM_CORRUPT_BKPT("%s: follows log %06llu.wal, not %06llu.wal", azPath[i],
                                (unsigned long long)aHdr[i].iPrevLog,
                                (unsigned long long)aWal[i - 1]);
        }
      }
    }
  }

  for(i = 0; rc == LSM_OK && i < nWal; i++){
    const wal_header *pNext = NULL;      /* next log that has a header */
    if( abEmpty[i] ) continue;
    for(j = i + 1; j < nWal && abEmpty[j]; j++){}
    if( j < nWal && !aHdr[j].bLegacy ) pNext = &aHdr[j];
    ctx.zPath = azPath[i];
    ctx.bLegacy = aHdr[i].bLegacy;
    if( !aHdr[i].bLegacy ){
      if( ctx.bKnown && aHdr[i].iPrevNextSeq != ctx.iNextSeq ){
        rc = LSM_CORRUPT_BKPT("%s: follows on from seq %llu, but the log before it ends"
                              " before seq %llu: batches are missing", azPath[i],
                              (unsigned long long)aHdr[i].iPrevNextSeq,
                              (unsigned long long)ctx.iNextSeq);
        break;
      }
      ctx.iNextSeq = aHdr[i].iFirstSeq;
      ctx.bKnown = 1;
      if( aHdr[i].iFirstSeq > 0 && aHdr[i].iFirstSeq - 1 > ctx.lastSeq ){
        ctx.lastSeq = aHdr[i].iFirstSeq - 1;
      }
    }
    ctx.iStopSeq = pNext ? pNext->iPrevNextSeq : UINT64_MAX;
    ctx.bSkipTail = pNext && pNext->bPrevTorn;
    rc = wal_replay_with_unresolved(pEnv, azPath[i],
                    j == nWal || ctx.bSkipTail || aHdr[i].bLegacy, replay_record,
                    j == nWal && pMem && pDb->opt.xPrepared ? keep_unresolved : NULL,
                    &ctx, &bTorn);
  }
  /* The header the next log needs (a version-1 newest log: no chain). */
  if( rc == LSM_OK ){
    pHdrNext->iPrevLog = aWal[nWal - 1];
    pHdrNext->iPrevNextSeq = ctx.bKnown ? ctx.iNextSeq : ctx.lastSeq + 1;
    pHdrNext->bPrevTorn = bTorn;
  }
  /* Then the batches the host committed and no log says so: their
  ** numbers lie after where the old logs end (the next log's header says
  ** so), and the recovery flush makes them durable. */
  if( rc == LSM_OK ) rc = resolve_unresolved(pDb, &ctx);

replay_logs_done:
  *pLastSeq = ctx.lastSeq;
  for(i = 0; i < ctx.nUnresolved; i++) env_free(pEnv, ctx.aUnresolved[i].a);
  env_free(pEnv, ctx.aUnresolved);
  for(i = 0; azPath && i < nWal; i++) env_free(pEnv, azPath[i]);
  env_free(pEnv, azPath);
  env_free(pEnv, aHdr);
  env_free(pEnv, abEmpty);
  return rc;
}

/* Sort helper for WAL numbers. */
static int cmp_u64(const void *a, const void *b){
  uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
  return x < y ? -1 : (x > y);
}

/* The WALs of the store numbered >= iLogNumber, sorted (*paWal: free with
** env_free), and in *piMax the largest file number of any kind. */
static int list_logs(lsm_db *pDb, uint64_t iLogNumber, uint64_t **paWal, int *pnWal,
                     uint64_t *piMax){
  lsm_env *pEnv = pDb->pEnv;
  char **azName = NULL;
  uint64_t *aWal = NULL;
  int nName = 0, nWal = 0, i, rc;
  *piMax = 0;
  rc = pEnv->xListDir(pEnv, pDb->zDir, &azName, &nName);
  if( rc == LSM_OK ) aWal = env_malloc_rc(pEnv, sizeof(uint64_t) * (size_t)(nName + 1), &rc);
  for(i = 0; rc == LSM_OK && i < nName; i++){
    uint64_t iNum;
    int eType = filename_parse(azName[i], &iNum);
    if( eType == FILENAME_WAL && iNum >= iLogNumber ) aWal[nWal++] = iNum;
    if( eType && iNum > *piMax ) *piMax = iNum;
  }
  if( aWal ) qsort(aWal, (size_t)nWal, sizeof(uint64_t), cmp_u64);
  env_free(pEnv, azName);
  *paWal = aWal;
  *pnWal = rc == LSM_OK ? nWal : 0;
  return rc;
}

int db_check_logs(lsm_db *pDb, uint64_t iLogNumber){
  uint64_t *aWal = NULL, iMax, lastSeq = 0;
  wal_header hdrNext;
  int nWal = 0;
  int rc = list_logs(pDb, iLogNumber, &aWal, &nWal, &iMax);
  if( rc == LSM_OK ) rc = replay_logs(pDb, iLogNumber, aWal, nWal, NULL, &lastSeq, &hdrNext);
  env_free(pDb->pEnv, aWal);
  return rc;
}

/*
** Recovery: read the manifest, open its tables, replay the WALs it does
** not cover, flush what they held, start a new WAL, remove leftovers.
*/
int db_recover(lsm_db *pDb, int bNew){
  lsm_env *pEnv = pDb->pEnv;
  manifest_state st;
  version *pV = NULL, *pV2 = NULL;
  memtable *pMem = NULL;
  table **apTable = NULL;
  uint64_t *aWal = NULL, iMaxFile = 0;
  wal_header hdrNext;
  int nWal = 0, nTable = 0, i, rc;

  memset(&st, 0, sizeof(st));
  memset(&hdrNext, 0, sizeof(hdrNext));
  if( bNew ){
    st.iNextFile = 1;
    st.eCompaction = pDb->opt.compaction;
    rc = pDb->opt.readonly ? LSM_ERROR_MSG(LSM_CANTOPEN, "%s is not a store and readonly=on", pDb->zDir)
                           : manifest_write(pEnv, pDb->zDir, &st);
  }else{
    rc = manifest_read(pEnv, pDb->zDir, &st);
  }
  if( rc == LSM_OK && st.eCompaction != pDb->opt.compaction ){
    rc = LSM_ERROR_MSG(LSM_ERROR,
        "the store %s was made with compaction=%s; open it with that option",
        pDb->zDir, st.eCompaction == LSM_COMPACTION_TIERED ? "tiered" : "leveled");
  }
  if( rc == LSM_OK ) rc = version_new_empty(pEnv, &pV);
  if( rc == LSM_OK && st.nFile ){
    apTable = env_malloc_rc(pEnv, sizeof(table*) * (size_t)st.nFile, &rc);
    for(i = 0; rc == LSM_OK && i < st.nFile; i++){
      rc = table_open(pEnv, pDb->pTableCache, pDb->zDir, &st.aFile[i], &apTable[nTable]);
      if( rc == LSM_OK ) nTable++;
    }
    if( rc == LSM_OK ) rc = version_apply(pV, NULL, 0, apTable, nTable, &pV2);
    for(i = 0; i < nTable; i++) table_unref(apTable[i]);
    env_free(pEnv, apTable);
    if( rc == LSM_OK ){ version_unref(pV); pV = pV2; }
  }
  if( rc == LSM_OK ) rc = db_slice_load(pDb, &st);
  pDb->iNextFile = st.iNextFile;
  pDb->lastSeq = st.iLastSeq;
  pDb->flushedSeq = st.iLastSeq;   /* exact for a hosted store (lsm.h) */

  /* Replay the WALs numbered >= iLogNumber, oldest first; no new file
  ** takes the number of one that is there. */
  if( rc == LSM_OK ) rc = db_memtable_new(pDb, &pMem);
  /* A hosted store has no WAL: its host replays its own log (lsm.h). */
  if( rc == LSM_OK && !pDb->opt.hosted ){
    rc = list_logs(pDb, st.iLogNumber, &aWal, &nWal, &iMaxFile);
    if( rc == LSM_OK && iMaxFile >= pDb->iNextFile ) pDb->iNextFile = iMaxFile + 1;
    if( rc == LSM_OK ) rc = replay_logs(pDb, st.iLogNumber, aWal, nWal, pMem, &pDb->lastSeq, &hdrNext);
  }

  /* Publish the recovered state, then flush what the WALs held. */
  if( rc == LSM_OK ){
    memtable *pActive = NULL;
    /* No thread runs yet: the lock is for the rules' sake. */
    mutex_lock(&pDb->mutex);
    if( pDb->opt.readonly ){
      rc = db_view_install(pDb, pMem, NULL, 0, pV);
    }else{
      rc = db_memtable_new(pDb, &pActive);
      if( rc == LSM_OK ) rc = db_view_install(pDb, pActive, &pMem, memtable_entries(pMem) ? 1 : 0, pV);
      memtable_unref(pActive);
    }
    mutex_unlock(&pDb->mutex);
  }
  /* A hosted store writes only when its host asks (lsm_work), inside the
  ** host's transaction; what it has is already consistent. */
  if( rc == LSM_OK && !pDb->opt.readonly && !pDb->opt.hosted ){
    char *zPath;
    /* Older WALs are removed with the leftovers once the flush is in.  An
    ** in-memory store has no WAL (lsm.h): nothing could replay it, and it
    ** would keep every byte ever written. */
    pDb->aiImmWal[0] = 0;
    if( !pDb->bNoWal ){
      pDb->iWalNumber = pDb->iNextFile++;
      zPath = filename_path(pEnv, pDb->zDir, FILENAME_WAL, pDb->iWalNumber, &rc);
      hdrNext.iNumber = pDb->iWalNumber;
      hdrNext.iFirstSeq = pDb->lastSeq + 1;
      if( rc == LSM_OK ) rc = wal_writer_open(pEnv, zPath, pDb->opt.sync, pDb->opt.use_mmap,
                                           &hdrNext, &pDb->pWal);
      env_free(pEnv, zPath);
    }
    if( rc == LSM_OK ){
      /* No thread runs yet: the locks are for the rules' sake. */
      if( pDb->pView->nImm ){
        rc = db_flush_imm(pDb);
      }else{
        mutex_lock(&pDb->installMutex);
        version_ref(pDb->pView->pVersion);
        pV2 = pDb->pView->pVersion;
        rc = db_write_manifest(pDb, pV2, pDb->iWalNumber, NULL);
        version_unref(pV2);
        mutex_unlock(&pDb->installMutex);
      }
    }
    if( rc == LSM_OK ) rc = db_remove_leftovers(pDb, pDb->pView->pVersion, pDb->iWalNumber);
  }
  memtable_unref(pMem);
  version_unref(pV);
  env_free(pEnv, aWal);
  manifest_state_clear(pEnv, &st);
  return rc;
}
