/*
** wal.h — the write-ahead log (format: see wal.c).
**
** Each committed batch is one record: length, sequence number of its
** first operation, XXH3 checksum, payload (the batch encoding); a batch
** over 1 MiB is split into fragment records and reassembled by replay, so
** no length field is ever trusted beyond 1 MiB.  Records
** are appended to a user-space buffer (wal_writer_add) and handed to the
** OS per the sync mode (wal_writer_commit): several batches committed
** together share one write and one sync (group commit).
**
** Replay reads records in order and stops cleanly at a torn tail: a bad or
** short record at the end of the newest log with no valid record after it
** (a crash mid-append).  A bad record followed by a good one, or any bad
** record in an older log, is LSM_CORRUPT.
**
** Thread safety: none; the store's write leader owns the writer.
*/
#ifndef LSM_WAL_H
#define LSM_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "lsm.h"

typedef struct wal_writer wal_writer;

/* Create zPath (truncating it).  eSync is LSM_SYNC_*.  Owned: close. */
int wal_writer_open(lsm_env*, const char *zPath, int eSync, wal_writer **ppWal);

/* Frame one record into the buffer.  Nothing reaches the OS yet.
** REQUIRES: seq is not below the previous record's (LSM_MISUSE). */
int wal_writer_add(wal_writer*, uint64_t seq, const uint8_t *pPayload, size_t nPayload);

/* Make the records added so far as durable as eSync asks: OFF leaves them
** buffered (written when the buffer passes 64 KiB, or at sync/close);
** NORMAL writes them with one write(2); FULL writes and fdatasyncs.
** On a failed write that left the file unchanged, the records added since
** the last commit are dropped and the writer stays usable; after a partial
** write or a failed sync every later call returns that error (the log may
** hold the failed records: make it obsolete by a flush, then rotate). */
int wal_writer_commit(wal_writer*);

/* Write everything buffered and fdatasync, whatever eSync says. */
int wal_writer_sync(wal_writer*);

/* Bytes added (framed) since open, written or still buffered. */
uint64_t wal_writer_bytes(const wal_writer*);

/* Write what is buffered, then close and free (no sync). */
int wal_writer_close(wal_writer*);

/*
** Call xRecord(pCtx, seq, payload, n) for every valid record of zPath in
** order.  bNewest: this is the newest log, so a torn tail is dropped
** (*pbTorn set) rather than reported.  A non-OK return from xRecord stops
** replay and is returned.  Payload pointers are borrowed for the call.
*/
int wal_replay(lsm_env*, const char *zPath, int bNewest,
               int (*xRecord)(void *pCtx, uint64_t seq, const uint8_t *p, size_t n),
               void *pCtx, int *pbTorn);

#endif
