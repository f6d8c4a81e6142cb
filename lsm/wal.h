/*
** wal.h — the write-ahead log (format: see wal.c).
**
** Each committed batch is one record: length, sequence number of its
** first operation, a check of the record header, XXH3 checksum, payload
** (the batch encoding); a batch over 1 MiB is split into fragment records
** and reassembled by replay, so no length field is ever trusted beyond
** 1 MiB.  Records are appended to a user-space buffer (wal_writer_add)
** and handed to the OS per the sync mode (wal_writer_commit): several
** batches committed together share one write and one sync (group commit).
**
** Each log's file header (wal_header) links it to the log before it: that
** log's number, the sequence number at which its records that count end,
** and whether it may end in a torn record because a write to it failed.
** Recovery (db_recover.c) follows that chain to notice a log that is
** missing, cut short or damaged at its end.
**
** Two-phase commit (lsm_prepare, lsm.h): a prepared batch is logged as a
** record of its own, numbered by a prepare id instead of a sequence
** number, and counts for nothing until a commit record in the same log
** names that id and gives it its sequence number.  Replay hands a
** committed prepared batch to its callback at the commit record's place
** in the log, exactly like a batch logged whole; a prepared batch that no
** commit record names is dropped.
**
** A sync=normal log may be appended through a shared mapping instead of
** write(2) (the same durability; wal.c, MAPPED LOG): its header says
** GROUP_MARKS, it is synced when done with (wal_writer_finish), and
** replay ends the newest such log at a bad record after its last sync.
**
** A sync=full log is written into zeros written ahead of its records
** (LSM_OPEN_PREALLOC, env.c) and cut at close; replay takes zeros to the
** end of the file as any log's clean end, and each synced write of such
** a log ends in a GROUP_END record, so that a last write a crash left
** with a sector missing is a torn tail (wal.c, PREALLOCATED TAIL).
**
** Replay reads records in order and stops cleanly at a torn tail: a bad or
** short record at the end of a log whose tail may be torn, with no valid
** record after it (a crash mid-append).  A bad record followed by a good
** one, or any bad record in a log whose tail may not be torn, is
** LSM_CORRUPT.
**
** Thread safety: none; the store's write leader owns the writer.
*/
#ifndef LSM_WAL_H
#define LSM_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "lsm.h"

typedef struct wal_writer wal_writer;

/* The fields of a log's file header that link it into the chain. */
typedef struct wal_header {
  uint64_t iNumber;         /* the log's own file number                    */
  uint64_t iPrevLog;        /* file number of the log before it; 0: none    */
  uint64_t iPrevNextSeq;    /* the seq after the last record of iPrevLog
                            ** that counts (its first seq if it holds none) */
  uint64_t iFirstSeq;       /* seq of this log's first record               */
  int bPrevTorn;            /* iPrevLog may end in a damaged record, and its
                            ** records from iPrevNextSeq on never counted
                            ** (a write or sync of them failed)             */
  int bLegacy;              /* read from a version-1 log: no fields above   */
} wal_header;

/* Create zPath, which must not exist (LSM_CANTOPEN if it does, a
** symbolic link included), with the file header pHdr (NULL: all
** zero, for tests).  eSync is LSM_SYNC_*.  bMayMap: a sync=normal log
** may be appended through a mapping (MAPPED LOG in wal.c; the store's
** use_mmap).  Owned: close. */
int wal_writer_open(lsm_env*, const char *zPath, int eSync, int bMayMap,
                    const wal_header *pHdr, wal_writer **ppWal);

/* Frame one record into the buffer.  Nothing reaches the OS yet.
** REQUIRES: seq is not below the previous record's (LSM_MISUSE). */
int wal_writer_add(wal_writer*, uint64_t seq, const uint8_t *pPayload, size_t nPayload);

/* Frame a prepared batch under iPrepareId (> 0, larger than the last
** one added: LSM_MISUSE otherwise).  Replay ignores it unless a later
** commit record of the same log names it. */
int wal_writer_add_prepared(wal_writer*, uint64_t iPrepareId, const uint8_t *pPayload,
                            size_t nPayload);

/* Frame a commit record: the prepared batch iPrepareId, added to this
** log before, takes sequence numbers from seq on.  REQUIRES: seq is not
** below the previous batch's or commit's, and iPrepareId was added to
** this writer (LSM_MISUSE). */
int wal_writer_add_commit(wal_writer*, uint64_t seq, uint64_t iPrepareId);

/* Make the records added so far as durable as eSync asks: OFF leaves them
** buffered (written when the buffer passes 64 KiB, or at sync/close);
** NORMAL writes them with one write(2); FULL writes and fdatasyncs.
** On a failed write that left the file unchanged, the records added since
** the last commit are dropped and the writer stays usable; after a partial
** write or a failed sync every later call returns that error (the log may
** hold the failed records: make it obsolete by a flush, then rotate). */
int wal_writer_commit(wal_writer*);

/* Commit with eSync (LSM_SYNC_*) from now on; records buffered by
** LSM_SYNC_OFF go with the next commit. */
void wal_writer_set_sync(wal_writer*, int eSync);

/* Hand every committed record still buffered (sync=off) to the OS, no
** sync; records added but not committed are dropped. */
int wal_writer_write(wal_writer*);

/* Write everything buffered and fdatasync, whatever eSync says. */
int wal_writer_sync(wal_writer*);

/* The log is done with (the store moves on to a new one, or closes):
** hand the committed records still buffered to the OS (records added but
** not committed are dropped) and, if its pages may reach the disk out of
** order (a mapped sync=normal log: MAPPED LOG in wal.c), sync it, so that only
** the newest log of a store can lose pages to a power cut.  A failed
** sync poisons the writer, and wal_writer_unwritten_seq then names the
** first record since the last sync that succeeded. */
int wal_writer_finish(wal_writer*);

/* Bytes added (framed) since open, written or still buffered. */
uint64_t wal_writer_bytes(const wal_writer*);

/* The seq of the first record added that is not wholly in the file (still
** buffered, or part of a write or sync that failed), UINT64_MAX if every
** record added is.  A successor log names the smaller of this and the
** first seq never acknowledged as iPrevNextSeq. */
uint64_t wal_writer_unwritten_seq(const wal_writer*);

/* wal_writer_finish (nothing to do if it ran), then close and free. */
int wal_writer_close(wal_writer*);

/* Close and free without writing anything, not even the file header
** (a log the owner abandons before using it: it stays empty). */
void wal_writer_discard(wal_writer*);

/* Read and verify zPath's file header.  *pbEmpty: the log was never
** written (shorter than its header, or all zeros); *pHdr is then zero.
** LSM_CORRUPT (naming zPath) for a bad magic, version or checksum. */
int wal_read_header(lsm_env*, const char *zPath, wal_header *pHdr, int *pbEmpty);

/*
** Call xRecord(pCtx, seq, payload, n) for every committed batch of zPath
** in order: a batch record, or a commit record with the payload of the
** prepared batch it names (prepared batches no commit names are left
** out).  bNewest: the log's tail may be torn (the newest log, or one
** whose successor says bPrevTorn), so a torn tail is dropped (*pbTorn
** set) rather than reported.  A non-OK return from xRecord stops replay
** and is returned.  Payload pointers are borrowed for the call.
*/
int wal_replay(lsm_env*, const char *zPath, int bNewest,
               int (*xRecord)(void *pCtx, uint64_t seq, const uint8_t *p, size_t n),
               void *pCtx, int *pbTorn);

/* The same, and then, if replay succeeded, xUnresolved(pCtx, id, payload,
** n) for every prepared batch of the log that no commit record named, in
** id order (payload borrowed for the call); a non-OK return stops and is
** returned.  xUnresolved NULL: wal_replay. */
int wal_replay_with_unresolved(lsm_env*, const char *zPath, int bNewest,
    int (*xRecord)(void *pCtx, uint64_t seq, const uint8_t *p, size_t n),
    int (*xUnresolved)(void *pCtx, uint64_t iPrepareId, const uint8_t *p, size_t n),
    void *pCtx, int *pbTorn);

#endif
