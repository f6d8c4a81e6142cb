/*
** db_flush_ahead.c — a hosted store's flush prepared on a thread of its
** own, installed later by the host's next call that flushes
** (lsm_flush_ahead, lsm.h).
**
** Why: a hosted store flushes only when its host calls lsm_work inside a
** write transaction (the SQLite extension's COMMIT), and building a
** flush's SSTable (iterating the memtable, encoding, compressing and
** checksumming the blocks, the filter and the index) is CPU of that
** COMMIT: measured 15-30 ms of the 70-100 ms of a 16 MiB flush's COMMIT
** of the extension's uncompressed tables, about 70% for compressed ones
** (README, "In-database COMMITs: a flush's SSTable built on a thread",
** "... where a slow one's time goes").  None of it needs the host: the memtable is immutable once
** switched out, and the bytes of an SSTable do not depend on its file
** number (sst_writer.c draws the format: no number in it).  So:
**   1. lsm_flush_ahead (the host, after its commit applied a batch that
**      filled the memtable): the memtable is switched out as the store's
**      only immutable one (readers keep reading it through the view) and
**      a thread writes its SSTable into a private in-memory env
**      (lsm_env_memory), its blocks entering the block cache as written
**      (fill_cache_on_write) under an id of their own;
**   2. db_flush_ahead_collect, called by the flush of that memtable
**      (db_flush_imm: lsm_work, lsm_flush, lsm_compact, all inside the
**      host's transaction): waits for the thread if it is still running,
**      takes a file number now, copies the bytes into the store's env
**      under that number and opens the table; the flush installs it as
**      it installs one it built itself.  If the thread failed, the flush
**      builds the table itself, as it would have without this file.
** The host's lsm_work installs a prepared flush only once the thread is
** done (db_flush_ahead_running), unless the memtable is full again: then
** its flush waits for the thread, never builds the same table twice.
**
** Why installing cannot be stale: the prepared flush belongs to this
** lsm_db and to one immutable memtable of it.  A host that finds that
** another writer changed the store (a new manifest: a flush or compaction
** of another connection or process) reopens its lsm_db, and lsm_close
** drops the prepared work (db_flush_ahead_drop); the log rows the
** memtable holds stay with the host until the flush that installs them
** records them as flushed.  A crash before the install loses nothing.
**
** Why waiting cannot deadlock: the thread takes no lock of the store's
** and calls nothing of the host's; it reads the immutable memtable (a
** reference of its own), writes its private env, and takes only the block
** cache's internal mutex, which no waiter holds.
**
** Memory: at most one prepared flush per store, about a memtable: the
** immutable memtable (kept in the view until the install, as any waiting
** memtable) plus its SSTable's bytes in the private env (a buffer of the
** memtable's arena bytes plus an eighth, AHEAD_RESERVE_SLACK, of which
** only the pages the table fills are touched; a table larger than that
** grows by doubling) until the install copies them or the store closes.
**
** Thread safety: pDb->pAhead changes with flushMutex held, by the host's
** calls only.  The thread owns the fields marked (T) until it sets bDone
** (release); readers of them first see bDone set (acquire) or join it.
*/
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "db_impl.h"
#include "env.h"
#include "error.h"
#include "filename.h"
#include "ikey.h"
#include "sst_writer.h"
#include "table.h"

/* The prepared table's path in the private env: its real name comes at
** the install. */
#define AHEAD_PATH "/ahead/table.sst"

/* The thread looks at bCancel once per this many entries, or sooner once
** it has built this many key+value bytes since it last looked: a
** memtable of a few huge values (up to 256 MiB each) would otherwise be
** built to its end before a close or a drop is seen.  So a drop waits for
** at most about AHEAD_CANCEL_BYTES plus one entry of building. */
#define AHEAD_CANCEL_EVERY 1024
#define AHEAD_CANCEL_BYTES (1024 * 1024)

/* The prepared table's file is given room for its memtable's arena bytes
** plus 1/AHEAD_RESERVE_SLACK of them plus 64 KiB before the thread
** writes it.  A table is smaller than its memtable's arena, whose nodes
** carry skiplist links beside each key and value (make bench's fillseq:
** 12.9 MB of table per 16.9 MB of arena); the slack covers values so large
** that the links no longer count.  Pages reserved and never written are
** never touched: they cost address space, not memory. */
#define AHEAD_RESERVE_SLACK 8

struct db_flush_ahead {
  memtable *pImm;          /* the immutable memtable it flushes (a reference) */
  lsm_env *pMemEnv;        /* private in-memory env holding AHEAD_PATH (owned) */
  sst_options sstOpt;      /* the store's table format options                */
  block_cache *pBlocks;    /* where the blocks go as written, or NULL        */
  uint64_t idBlocks;       /* their reader id in pBlocks                     */
  pthread_t thread;        /* the builder                                    */
  atomic_int bCancel;      /* set by drop: the thread stops early            */
  atomic_int bDone;        /* set (release) by the thread as its last write  */
  int rc;                  /* (T) LSM_OK, or why the build failed            */
  uint64_t nBlocks;        /* (T) cache entries the writer may have made     */
  uint64_t nMostUnpolled;  /* (T) the most key+value bytes built between two
                           ** looks at bCancel (lsm_db.nAheadMostUnpolled)  */
  sst_meta meta;           /* (T) the finished table's metadata (rc LSM_OK)  */
};

/* The thread: the memtable's entries in order into one SSTable, keeping
** the newest version of each user key and every tombstone, as a flush job
** does (compaction.h: a flush keeps tombstones; its smallest snapshot is
** the store's last sequence number, above every entry of an immutable
** memtable, so an older version of a key is never read again). */
static void *ahead_main(void *pArg){
  db_flush_ahead *p = pArg;
  lsm_env *pEnv = p->pMemEnv;
  sst_writer *pWriter = NULL;
  uint8_t *pPrev = NULL;
  size_t nPrev = 0, nPrevAlloc = 0;
  uint64_t nSeen = 0, nUnpolled = 0;
  int rc = LSM_OK, bHavePrev = 0;
  iter *pIn = memtable_iter(p->pImm, &rc);

  if( rc == LSM_OK ) rc = sst_writer_open(pEnv, AHEAD_PATH, &p->sstOpt, &pWriter);
  if( rc == LSM_OK ){
    /* Room for the whole table before the first byte
    ** (AHEAD_RESERVE_SLACK): grown by doubling from 4 KiB, the file's
    ** buffer was reallocated a dozen times per flush, copied whenever it
    ** could not grow in place.  Only a hint: if it fails, or the table
    ** outgrows it, the file grows by doubling as before. */
    size_t nMem = memtable_bytes(p->pImm);
    (void)env_memory_reserve(pEnv, AHEAD_PATH, nMem + nMem / AHEAD_RESERVE_SLACK + 65536);
  }
  if( rc == LSM_OK && p->pBlocks ) sst_writer_fill_cache(pWriter, p->pBlocks, p->idBlocks);
  if( rc == LSM_OK ) iter_first(pIn);
  while( rc == LSM_OK && iter_valid(pIn) ){
    size_t nKey, nVal, nUser;
    const uint8_t *pKey = iter_key(pIn, &nKey);
    const uint8_t *pVal = iter_value(pIn, &nVal);
    if( ++nSeen % AHEAD_CANCEL_EVERY == 0 || nUnpolled >= AHEAD_CANCEL_BYTES ){
      if( nUnpolled > p->nMostUnpolled ) p->nMostUnpolled = nUnpolled;
      nUnpolled = 0;
      if( atomic_load(&p->bCancel) ){
        rc = LSM_ERROR_MSG(LSM_MISUSE, "flush ahead cancelled");
        break;
      }
    }
    nUnpolled += nKey + nVal;
    if( nKey < IKEY_TRAILER ){
      rc = LSM_CORRUPT_BKPT("internal key too short");
      break;
    }
    nUser = ikey_user_len(nKey);
    if( !bHavePrev || ikey_compare_user(pKey, nUser, pPrev, nPrev) != 0 ){
      if( nUser > nPrevAlloc ){
        uint8_t *pNew = env_realloc(pEnv, pPrev, nUser * 2 + 16);
        if( pNew == NULL ){
          rc = LSM_NOMEM;
          break;
        }
        pPrev = pNew;
        nPrevAlloc = nUser * 2 + 16;
      }
      if( nUser ) memcpy(pPrev, pKey, nUser);
      nPrev = nUser;
      bHavePrev = 1;
      /* The memtable iterates in internal-key order: no comparison needed. */
      rc = sst_writer_add_sorted(pWriter, pKey, nKey, pVal, nVal, 1);
    }
    iter_next(pIn);
  }
  if( nUnpolled > p->nMostUnpolled ) p->nMostUnpolled = nUnpolled;
  if( rc == LSM_OK ) rc = iter_status(pIn);
  iter_close(pIn);
  env_free(pEnv, pPrev);
  if( pWriter ) p->nBlocks = sst_writer_blocks(pWriter) + 1;   /* finish may cut one more */
  if( rc == LSM_OK && pWriter ){
    rc = sst_writer_finish(pWriter, &p->meta);
  }else if( pWriter ){
    sst_writer_abandon(pWriter);
  }
  p->rc = rc;
  atomic_store_explicit(&p->bDone, 1, memory_order_release);
  return NULL;
}

/* Free p once its thread has been joined: the table's blocks leave the
** cache unless a reader took them (bKeepBlocks). */
static void ahead_free(lsm_db *pDb, db_flush_ahead *p, int bKeepBlocks){
  if( p == NULL ) return;
  if( p->pBlocks && !bKeepBlocks ){
    block_cache_erase(p->pBlocks, p->idBlocks, (uint32_t)p->nBlocks);
  }
  sst_meta_clear(p->pMemEnv, &p->meta);
  lsm_env_memory_free(p->pMemEnv);
  memtable_unref(p->pImm);
  env_free(pDb->pEnv, p);
}

/* Copy the prepared table into the store's env as file iNumber and open
** it as a level-0 table in *ppTable. */
static int ahead_write(lsm_db *pDb, db_flush_ahead *p, uint64_t iNumber, table **ppTable){
  lsm_env *pEnv = pDb->pEnv;
  lsm_file *pSrc = NULL, *pDst = NULL;
  const uint8_t *aData = NULL;
  uint64_t nData = 0;
  int rc = LSM_OK;
  char *zPath = filename_path(pEnv, pDb->zDir, FILENAME_SST, iNumber, &rc);
  *ppTable = NULL;
  if( rc == LSM_OK ) rc = p->pMemEnv->xOpen(p->pMemEnv, AHEAD_PATH, LSM_OPEN_READ, &pSrc);
  if( rc == LSM_OK ) rc = p->pMemEnv->xMap(pSrc, &aData, &nData);
  if( rc == LSM_OK && nData != p->meta.nFileBytes ){
    rc = LSM_CORRUPT_BKPT("prepared flush holds %llu bytes, not %llu",
                          (unsigned long long)nData, (unsigned long long)p->meta.nFileBytes);
  }
  if( rc == LSM_OK ) rc = pEnv->xOpen(pEnv, zPath, LSM_OPEN_WRITE | LSM_OPEN_EXCL, &pDst);
  if( rc == LSM_OK ) rc = pEnv->xAppend(pDst, aData, (size_t)nData);
  if( rc == LSM_OK ) rc = pEnv->xSync(pDst);
  if( pDst ){
    int rc2 = pEnv->xClose(pDst);
    if( rc == LSM_OK ) rc = rc2;
  }
  if( pSrc ) p->pMemEnv->xClose(pSrc);
  if( rc == LSM_OK ){
    rc = table_open_written(pEnv, pDb->pTableCache, pDb->zDir, 0, iNumber, &p->meta,
                            p->pBlocks ? p->idBlocks : 0, ppTable);
  }
  if( rc != LSM_OK && pDst ) pEnv->xUnlink(pEnv, zPath);
  env_free(pEnv, zPath);
  return rc;
}

int lsm_flush_ahead(lsm_db *pDb, int *pbStarted){
  db_flush_ahead *p = NULL;
  memtable *pImm = NULL;
  int rc;
  if( pbStarted ) *pbStarted = 0;
  if( pDb == NULL || !pDb->opt.hosted ) return LSM_MISUSE;
  rc = db_check_process(pDb);
  if( rc != LSM_OK ) return rc;
  error_clear();
  if( pDb->opt.readonly ) return LSM_OK;
  mutex_lock(&pDb->flushMutex);
  if( pDb->pAhead == NULL ){
    mutex_lock(&pDb->mutex);
    /* Only a full memtable, only as the store's sole immutable one (the
    ** flush that installs it is then the oldest's), and only between the
    ** host's writes (a hosted store has one writer: its host). */
    if( pDb->rcFatal == LSM_OK && pDb->pView->nImm == 0 && pDb->pWriterHead == NULL
     && memtable_entries(pDb->pView->pMem) > 0
     && memtable_bytes(pDb->pView->pMem) >= pDb->opt.memtable_bytes ){
      p = env_malloc_rc(pDb->pEnv, sizeof(*p), &rc);
      if( p ) rc = db_switch_memtable(pDb);
      if( rc == LSM_OK ){
        pImm = pDb->pView->apImm[0];
        memtable_ref(pImm);
      }
    }
    mutex_unlock(&pDb->mutex);
  }
  if( pImm ){
    p->pImm = pImm;
    p->pMemEnv = lsm_env_memory();
    p->sstOpt.block_bytes = pDb->opt.block_bytes;
    p->sstOpt.bloom_bits = pDb->opt.bloom_bits;
    p->sstOpt.compression = pDb->opt.compression;
    if( pDb->opt.fill_cache_on_write && !(pDb->opt.use_mmap && pDb->pEnv->xMap != NULL) ){
      p->pBlocks = table_cache_blocks(pDb->pTableCache);
      if( p->pBlocks ) p->idBlocks = block_cache_new_id();
    }
    atomic_init(&p->bCancel, 0);
    atomic_init(&p->bDone, 0);
    if( p->pMemEnv == NULL ){
      rc = LSM_NOMEM;
    }else if( pthread_create(&p->thread, NULL, ahead_main, p) != 0 ){
      rc = LSM_ERROR_MSG(LSM_NOMEM, "cannot start the flush-ahead thread");
    }
    if( rc == LSM_OK ){
      pDb->pAhead = p;
      if( pbStarted ) *pbStarted = 1;
    }else{
      /* The memtable stays switched out: the next lsm_work flushes it. */
      p->pBlocks = NULL;
      ahead_free(pDb, p, 0);
    }
  }else{
    env_free(pDb->pEnv, p);
  }
  mutex_unlock(&pDb->flushMutex);
  return rc;
}

int db_flush_ahead_running(lsm_db *pDb){
  int bRunning;
  mutex_lock(&pDb->flushMutex);
  bRunning = pDb->pAhead != NULL
          && !atomic_load_explicit(&pDb->pAhead->bDone, memory_order_acquire);
  mutex_unlock(&pDb->flushMutex);
  return bRunning;
}

int db_flush_ahead_collect(lsm_db *pDb, memtable *pImm, compaction_result *pRes){
  db_flush_ahead *p = pDb->pAhead;
  table *pTable = NULL;
  uint64_t iNumber;
  int rc = LSM_OK;
  mutex_assert_held(&pDb->flushMutex);
  if( p == NULL || p->pImm != pImm ) return LSM_OK;
  pDb->pAhead = NULL;
  pthread_join(p->thread, NULL);      /* at once if bDone; else a flush's time */
  pDb->nAheadMostUnpolled = p->nMostUnpolled;
  if( p->rc != LSM_OK ){
    /* Built in part or not at all: the caller flushes the memtable itself. */
    ahead_free(pDb, p, 0);
    return LSM_OK;
  }
  /* Numbered now, by the store installing it: newer than every table it
  ** holds, and never a number another lsm_db of the same files used. */
  mutex_lock(&pDb->mutex);
  iNumber = pDb->iNextFile++;
  mutex_unlock(&pDb->mutex);
  pRes->apOut = env_malloc_rc(pDb->pEnv, sizeof(table*), &rc);
  if( rc == LSM_OK ) rc = ahead_write(pDb, p, iNumber, &pTable);
  if( rc == LSM_OK ){
    pRes->apOut[0] = pTable;
    pRes->nOut = 1;
    pRes->nBytesWritten = p->meta.nFileBytes;
    pRes->nEntriesOut = p->meta.nEntries;
  }
  /* The table's reader holds the blocks now (it erases them when it goes). */
  ahead_free(pDb, p, pTable != NULL);
  return rc;
}

void db_flush_ahead_drop(lsm_db *pDb){
  db_flush_ahead *p;
  mutex_lock(&pDb->flushMutex);
  p = pDb->pAhead;
  pDb->pAhead = NULL;
  mutex_unlock(&pDb->flushMutex);
  if( p == NULL ) return;
  atomic_store(&p->bCancel, 1);
  pthread_join(p->thread, NULL);
  pDb->nAheadMostUnpolled = p->nMostUnpolled;
  ahead_free(pDb, p, 0);
}
