/*
** lsm.h — the public interface of the lsm storage engine.
**
** lsm is a log-structured merge tree: writes go to an in-memory skiplist
** (the memtable) and to an append-only write-ahead log; a full memtable is
** flushed to an immutable sorted file (an SSTable); reads look at the
** memtables, then at the SSTables from newest to oldest; compaction merges
** SSTables and drops superseded entries and tombstones.
**
** The engine knows nothing about SQLite: keys and values are byte strings,
** keys compare with memcmp (a shorter key that is a prefix of a longer one
** sorts first).  Return codes have the numeric values of SQLite's result
** codes so that a SQLite extension can hand them back unchanged.
**
** Ownership, in one place:
**   - lsm_db, lsm_snapshot, lsm_cursor and lsm_batch are opaque handles,
**     created by the engine and released by the matching close/free call.
**   - A pointer returned through an out-parameter is either "owned"
**     (caller frees it with lsm_free) or "borrowed" (valid until the named
**     event); each function says which.
**   - Keys and values passed in are copied before the call returns.
**
** Thread safety: an lsm_db may be used from many threads at once.  A
** cursor, a batch and a snapshot handle must be used by one thread at a
** time (they may move between threads).
**
** fork(): a child process must not use a store its parent opened (its
** background threads stay in the parent): writes and lsm_close there
** return LSM_MISUSE and change nothing.  The child opens the store itself,
** and gets LSM_BUSY while the parent holds it.
*/
#ifndef LSM_H
#define LSM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes: the same numbers as SQLITE_*. */
#define LSM_OK          0
#define LSM_ERROR       1   /* generic error (bad argument to an option)   */
#define LSM_BUSY        5   /* the store is locked by another process      */
#define LSM_NOMEM       7
#define LSM_READONLY    8   /* write to a store opened read-only           */
#define LSM_IOERR      10
#define LSM_CORRUPT    11   /* a checksum, length or ordering check failed */
#define LSM_NOTFOUND   12   /* lsm_get: no such key (not an error)         */
#define LSM_FULL       13   /* disk full                                   */
#define LSM_CANTOPEN   14   /* path is not a store, or cannot be created   */
#define LSM_TOOBIG     18   /* key over LSM_MAX_KEY or value over LSM_MAX_VALUE */
#define LSM_MISUSE     21   /* API used against its contract               */

/* Bytes in one key: 64 KiB of user data plus room for the framing a
** caller's key encoding adds (the SQL layer's type byte). */
#define LSM_MAX_KEY    (64 * 1024 + 16)
#define LSM_MAX_VALUE  (256u * 1024 * 1024)    /* bytes in one value        */
/* Levels 0..LSM_MAX_LEVELS-1.  Leveled compaction fills them from the top
** (level 16 would hold 10^15 x level 1); tiered compaction keeps one
** sorted run per level, so the count bounds how many runs it can hold
** before it must merge runs of unlike sizes. */
#define LSM_MAX_LEVELS 17

#define LSM_SYNC_OFF     0  /* WAL buffered in memory; a crash may lose the last commits */
#define LSM_SYNC_NORMAL  1  /* WAL write(2) per commit; survives a killed process        */
#define LSM_SYNC_FULL    2  /* WAL fdatasync per commit; survives power loss             */

#define LSM_COMPACTION_LEVELED 0
#define LSM_COMPACTION_TIERED  1

/* Block compression of the SSTables a store writes (each table records
** its own, per block, so a store may hold tables of several kinds). */
#define LSM_COMPRESSION_NONE   0
#define LSM_COMPRESSION_LZ4    1
#define LSM_COMPRESSION_ZSTD   2

typedef struct lsm_db lsm_db;
typedef struct lsm_snapshot lsm_snapshot;
typedef struct lsm_cursor lsm_cursor;
typedef struct lsm_batch lsm_batch;
typedef struct lsm_prepared lsm_prepared;
typedef struct lsm_env lsm_env;
typedef struct lsm_file lsm_file;

/*
** The environment: every file operation, sync, rename and allocation the
** engine makes goes through one of these function pointers, so that tests
** can fail the Nth call or drop data that was never synced.  lsm_env_default()
** is the POSIX implementation; lsm_env_memory() makes a private in-memory
** file system (used for ':memory:' stores).  All methods return an LSM_*
** code; on error they may set a message with lsm_env_error().
*/
#define LSM_OPEN_READ     0x01  /* open an existing file read-only             */
#define LSM_OPEN_WRITE    0x02  /* create or truncate, then append-only writes  */
#define LSM_OPEN_APPEND   0x04  /* open existing (or create) for appending      */
/* With LSM_OPEN_WRITE: the file must be new (it is an error if the name
** exists, a symbolic link included), so a link planted under the name
** never makes the engine write elsewhere.  The engine creates every WAL,
** SSTable and manifest this way.  Write and append opens never follow a
** symbolic link in the last component. */
#define LSM_OPEN_EXCL     0x08
/* With LSM_OPEN_WRITE: a hint that the file is a log synced after every
** append.  The env may write zeros ahead of the appends (the default env
** does, a megabyte at a time) so that an append overwrites blocks the
** file already has and the sync after it need not commit a new file size
** (on ext4 that is a journal commit, a second device write per sync).
** xSize still gives the bytes appended, and xClose cuts the zeros off; a
** crash may leave them, so a reader of such a file must take zeros after
** its last record as its end.  An env may ignore this flag. */
#define LSM_OPEN_PREALLOC 0x10
/* With LSM_OPEN_WRITE | LSM_OPEN_PREALLOC: what is appended must survive
** a killed process as soon as xAppend returns, and a power cut only once
** xSync returns (a log written at sync=normal).  The env may then copy
** appends into a shared writable mapping of the zeros it wrote ahead
** instead of making a system call per append (the default env does): the
** bytes are in the kernel's page cache either way.  Until xSync the
** pages reach the disk in no particular order.  An env may ignore it. */
#define LSM_OPEN_MAPPED_APPEND 0x20

struct lsm_env {
  void *pCtx;                                               /* implementation state */
  int (*xOpen)(lsm_env*, const char *zPath, int flags, lsm_file **ppFile);
  int (*xRead)(lsm_file*, uint64_t iOff, void *pBuf, size_t nBuf, size_t *pnRead);
  int (*xAppend)(lsm_file*, const void *pData, size_t nData);
  int (*xSync)(lsm_file*);                                  /* fdatasync          */
  int (*xSize)(lsm_file*, uint64_t *pnSize);
  /* Map the whole file read-only, valid until xClose; may be NULL.  After
  ** xMap, xRead and xSize must still work; the env may then give the
  ** file's descriptor back (the default env does, for files opened with
  ** LSM_OPEN_READ), and the engine counts a mapped SSTable as holding no
  ** descriptor (lsm_options.max_open_tables).  The
  ** engine maps SSTables only when xMap is set and use_mmap is on, and
  ** otherwise reads them with xRead: the footer and the meta regions
  ** (filter, properties, index) once at open, data blocks one at a time,
  ** each at its own offset, into the block cache.  xRead must then read
  ** any byte range of the file (a short count only at its end); an env
  ** with xMap NULL is always read block by block.  WAL replay still maps
  ** its log: an env without xMap serves hosted stores only (no WAL). */
  int (*xMap)(lsm_file*, const uint8_t **ppData, uint64_t *pnData);
  int (*xClose)(lsm_file*);                                 /* also unmaps        */
  int (*xRename)(lsm_env*, const char *zFrom, const char *zTo);
  int (*xUnlink)(lsm_env*, const char *zPath);
  int (*xSyncDir)(lsm_env*, const char *zDir);
  int (*xMkdir)(lsm_env*, const char *zDir);                /* LSM_OK if it exists */
  int (*xRmdir)(lsm_env*, const char *zDir);
  /* List the names (not paths) in zDir.  *pazName is one allocation made
  ** with xMalloc holding the array and the strings: free it with xFree. */
  int (*xListDir)(lsm_env*, const char *zDir, char ***pazName, int *pnName);
  int (*xExists)(lsm_env*, const char *zPath, int *pbExists, int *pbIsDir);
  /* Take an exclusive lock on zPath (created if missing).  LSM_BUSY if
  ** another process holds it. */
  int (*xLock)(lsm_env*, const char *zPath, lsm_file **ppLock);
  int (*xUnlock)(lsm_file *pLock);
  void *(*xMalloc)(lsm_env*, size_t);       /* malloc-compatible: see lsm_free */
  void *(*xRealloc)(lsm_env*, void*, size_t);
  void (*xFree)(lsm_env*, void*);
};

/* For an env implementation: make zFmt (printf-style) the message of the
** current engine call (what lsm_errmsg returns) and return rc.  An env
** defines struct lsm_file as it needs: the engine only passes the
** pointers its xOpen made back to the same env. */
int lsm_env_error(int rc, const char *zFmt, ...) __attribute__((format(printf, 2, 3)));

/* The process-wide POSIX environment.  Borrowed: lives forever. */
lsm_env *lsm_env_default(void);
/* A new, empty in-memory file system.  Owned: free with lsm_env_memory_free
** after every store using it is closed. */
lsm_env *lsm_env_memory(void);
void lsm_env_memory_free(lsm_env*);

/*
** A block cache several stores can share (lsm_options.block_cache): one
** byte budget, least recently used out, for the data blocks of every
** SSTable of every store using it.  lsm_stats of such a store reports the
** cache's bytes (those of all its stores) and the store's own hits and
** misses.
** lsm_block_cache_new: a cache of nCapacity bytes, allocated with
** lsm_env_default()'s allocator, with one reference (the caller's).
** lsm_block_cache_unref: drop the caller's reference; the cache is freed
** once every store using it is closed too.
** lsm_block_cache_set_capacity: a new budget (a lower one evicts at once).
** lsm_block_cache_mapped_bytes: the memory every block cache of the
** process (a store's own or shared) holds in 2 MiB slabs mapped for it
** (a cache of 16 MiB or more keeps its blocks there, in huge pages where
** the kernel gives them); malloc's statistics (mallinfo2) do not count
** it, so heap reports add it.
** Thread-safe.
*/
typedef struct lsm_block_cache lsm_block_cache;
int lsm_block_cache_new(uint64_t nCapacity, lsm_block_cache **ppCache);
void lsm_block_cache_unref(lsm_block_cache*);
void lsm_block_cache_set_capacity(lsm_block_cache*, uint64_t nCapacity);
uint64_t lsm_block_cache_mapped_bytes(void);

typedef struct lsm_options {
  int sync;                 /* LSM_SYNC_*; default LSM_SYNC_NORMAL                  */
  uint64_t memtable_bytes;  /* memtable size that triggers a flush; default 4 MiB.
                            ** The store keeps the blocks of a flushed memtable
                            ** for the next ones (fresh pages cost a fault each),
                            ** up to memtable_bytes + 2 MiB of them: at rest it
                            ** may hold that beside its active memtable, until
                            ** lsm_close                                          */
  int block_bytes;          /* SSTable data block target size; default 4096        */
  int bloom_bits;           /* SSTable Bloom filter bits per key; default 10; 0: no
                            ** filters, the memtables' (memtable_bytes / 64 each,
                            ** at most 1 MiB)
                            ** neither                                              */
  int compaction;           /* LSM_COMPACTION_*; default LEVELED                    */
  int level_ratio;          /* leveled: size ratio of adjacent levels; default 10   */
  int background;           /* 1: flush/compact on a background thread; default 1  */
  int readonly;             /* 1: refuse writes and change no file; the LOCK file is
                            ** opened read-only and locked shared (several read-only
                            ** processes at once, none beside a writer); default 0 */
  int create_if_missing;    /* 1: create the directory; default 1                   */
  int max_open_tables;      /* SSTables kept open (LRU), >= 16; default 10000.  A
                            ** mapped table (use_mmap and an env with xMap) holds a
                            ** mapping and no descriptor (the default env closes
                            ** it once mapped), so 10000 stays well under Linux's
                            ** 65530 mappings a process; readers that read with
                            ** xRead hold a descriptor each, and then at most half
                            ** of RLIMIT_NOFILE are kept                        */
  uint64_t table_cache_bytes; /* heap the open tables may hold (LRU by bytes: see
                            ** table_cache.h): ~32 bytes per data block each, plus
                            ** the filter and index regions of tables that are
                            ** not mapped; default 64 MiB; 0 keeps only the table
                            ** last opened                                    */
  uint64_t block_cache_bytes; /* heap for data blocks read with xRead (and
                            ** decompressed blocks), shared by every SSTable of
                            ** the store, LRU by bytes; default 32 MiB; 0: none
                            ** kept beyond the blocks in use; ignored when
                            ** block_cache is set                               */
  lsm_block_cache *block_cache; /* NULL (the default): the store makes its own
                            ** cache of block_cache_bytes; else this cache,
                            ** shared with other stores (lsm_block_cache_new
                            ** below): the store holds a reference until
                            ** lsm_close, which erases its blocks from it      */
  int fill_cache_on_write;  /* 1: every data block a flush or compaction writes
                            ** enters the block cache as written (RocksDB's
                            ** prepopulate_block_cache), so reads right after
                            ** the work find it without reading the file: for
                            ** stores whose reads cost more than a copy (the
                            ** SQLite extension's in-database tables); the
                            ** blocks compete with those read for the cache's
                            ** budget (a block over 1/8 of it is not offered);
                            ** ignored when the store maps its files (use_mmap
                            ** and an env with xMap); default 0                 */
  int use_mmap;             /* 1: read data blocks of uncompressed SSTables from
                            ** a mapping of the file when the env has xMap
                            ** (fastest; a file truncated by another program
                            ** while mapped raises SIGBUS); 0: always xRead
                            ** through the block cache; default 1               */
  int compression;          /* LSM_COMPRESSION_* for the data blocks of new
                            ** SSTables; a block that would not shrink by 1/8 is
                            ** stored raw; default LSM_COMPRESSION_LZ4          */
  lsm_env *env;             /* NULL: lsm_env_default(); borrowed, must outlive db   */
  int hosted;               /* 1: a hosted store (below); default 0                 */
  uint64_t l0_slice_bytes;  /* leveled: a level-0 -> level-1 compaction whose
                            ** inputs exceed this many bytes runs as slices of
                            ** about this many input bytes each, one key range
                            ** per compaction lsm_work runs, so that no one call
                            ** merges a whole level (lsm/db_slice.c; the SQLite
                            ** extension's in-database tables, whose COMMITs run
                            ** the work); 0 (the default): whole, as one
                            ** compaction.  A slicing in progress is finished
                            ** whatever this says (it is in the manifest)      */
  /* Asked during lsm_open only, once per prepared batch the store was
  ** still waiting on when it was last used (lsm_prepare below): set
  ** *pbCommitted to 1 if the host committed batch iPrepareId (it is then
  ** replayed), 0 to drop it; a return other than LSM_OK fails the open.
  ** NULL (the default): drop them all.  pPreparedCtx is passed back. */
  int (*xPrepared)(void *pCtx, uint64_t iPrepareId, int *pbCommitted);
  void *pPreparedCtx;
} lsm_options;

/* Fill *pOpt with the defaults above. */
void lsm_options_default(lsm_options *pOpt);

/*
** Make the store at least as durable as eSync (LSM_SYNC_*) asks, from the
** next commit on: several users sharing one store (and its one WAL) each
** get the durability they asked for, because the strongest request wins.
** Never weakens the store's sync mode.  LSM_MISUSE for a bad mode.
*/
int lsm_raise_sync(lsm_db*, int eSync);

/*
** Open the store in directory zDir (created if missing and allowed; its
** parent must exist).  An existing empty directory may become a store;
** a non-empty one must be a store.  A failed open leaves the directory
** as it found it (a directory it created is removed again).  zDir == NULL or ":memory:" opens an in-memory store:
** the same memtables and SSTables in a private in-memory file system, no WAL.
** Recovery runs here: manifest, then WAL replay (a torn tail is dropped),
** then removal of files no version names.
** Returns LSM_OK and *ppDb, or an error (LSM_BUSY: locked by another
** process; LSM_CANTOPEN: not a store / cannot create; LSM_CORRUPT ...) with
** *ppDb = NULL and a message from lsm_errmsg(NULL).
** Owned: close *ppDb with lsm_close.
*/
int lsm_open(const char *zDir, const lsm_options *pOpt, lsm_db **ppDb);

/*
** Flush nothing, wait for background work to stop, release the lock and
** free the handle.  REQUIRES: every cursor, snapshot and batch of this db
** is closed first (LSM_MISUSE otherwise, and nothing is freed).
*/
int lsm_close(lsm_db *pDb);

/*
** Remove the store in zDir: every file the store made (SSTables, logs,
** MANIFEST, LOCK, MADEDIR), and the directory if lsm_open created it
** (MADEDIR) and that leaves it empty; files the store did not make, and a
** directory it adopted, are left alone.  A directory with neither a
** MANIFEST nor MADEDIR is no store: nothing is removed (LSM_OK).
** MANIFEST and MADEDIR are removed last, so a destroy interrupted at any
** point (a crash, an I/O error) is finished by calling it again.
** LSM_BUSY if another process holds the store.  REQUIRES: no lsm_db of
** this process has it open.  pEnv NULL: lsm_env_default().  A missing
** directory is LSM_OK.
*/
int lsm_destroy(const char *zDir, lsm_env *pEnv);

/* Single-key writes: each is an atomic batch of one. */
int lsm_put(lsm_db*, const void *pKey, size_t nKey, const void *pVal, size_t nVal);
int lsm_delete(lsm_db*, const void *pKey, size_t nKey);

/*
** Write batches.  A batch is an ordered list of puts and deletes applied
** atomically by lsm_write (all of them or none, also across a crash).
** Later operations on the same key win.  A batch can also be read through
** (see lsm_read), which is how a transaction sees its own writes.
** lsm_batch_count is the number of operations so far; lsm_batch_truncate
** drops every operation after the first nOp (a savepoint rollback).
*/
int lsm_batch_new(lsm_db*, lsm_batch **ppBatch);           /* owned: lsm_batch_free */
/* The same for no particular store: allocated with pEnv (NULL: the
** default env); usable with any store whose env allocates with malloc
** (every env does: see lsm_free). */
int lsm_batch_new_env(lsm_env *pEnv, lsm_batch **ppBatch);
int lsm_batch_put(lsm_batch*, const void *pKey, size_t nKey, const void *pVal, size_t nVal);
int lsm_batch_delete(lsm_batch*, const void *pKey, size_t nKey);
size_t lsm_batch_count(const lsm_batch*);
uint64_t lsm_batch_bytes(const lsm_batch*);                  /* encoded size */
void lsm_batch_truncate(lsm_batch*, size_t nOp);
void lsm_batch_clear(lsm_batch*);
void lsm_batch_free(lsm_batch*);
/* The batch's encoded operations (lsm_batch_bytes of them), the bytes a
** log record carries.  Borrowed: valid until the batch changes. */
const void *lsm_batch_data(const lsm_batch*);
/* Replace the batch's operations with those encoded in pData (bytes
** lsm_batch_data gave); LSM_CORRUPT, and an empty batch, if they do not
** decode.  The bytes are copied. */
int lsm_batch_load(lsm_batch*, const void *pData, size_t nData);
/* XXH3-64 of the batch's encoded operations (a seed of its own), for a
** host that stores them (lsm_batch_data) to verify them when read back. */
uint64_t lsm_batch_checksum(const lsm_batch*);
/*
** A batch's stored form, for a host that keeps its own log of batches (the
** in-database store's log rows): the encoded operations as they are, or
** compressed with LZ4 when that saves at least an eighth of them, and the
** XXH3-64 checksum of the bytes as stored (format: lsm/batch_pack.c).
** lsm_batch_pack fills *pPacked: pData/nData, the bytes to store, are
** borrowed either from the batch (valid until it changes) or from
** pPacked's own buffer (valid until the next lsm_batch_pack with it), and
** iSum is their checksum.  REQUIRES: *pPacked zeroed before its first use;
** later calls reuse its buffer; free it with lsm_packed_free.
** lsm_batch_unpack verifies iSum over the stored bytes before anything
** else, then decompresses them and loads the operations into the batch
** (the bytes are copied); LSM_CORRUPT, and an empty batch, if they are
** damaged.  Bytes stored as lsm_batch_data with lsm_batch_checksum before
** this form existed are its raw form: they unpack unchanged.
*/
typedef struct lsm_packed_batch {
  const void *pData;        /* the bytes to store (borrowed: see above) */
  size_t nData;             /* their length */
  uint64_t iSum;            /* their checksum */
  void *pBuf;               /* the compressed form's buffer, reused (lsm_packed_free) */
  size_t nBuf;              /* bytes allocated at pBuf */
} lsm_packed_batch;
int lsm_batch_pack(const lsm_batch*, lsm_packed_batch *pPacked);
int lsm_batch_unpack(lsm_batch*, const void *pData, size_t nData, uint64_t iSum);
void lsm_packed_free(lsm_packed_batch *pPacked);
/* Apply pBatch atomically and durably per the sync option.  The batch is
** unchanged (clear it to reuse).  Concurrent writers share one WAL write
** and one sync (group commit). */
int lsm_write(lsm_db*, lsm_batch *pBatch);

/*
** Two-phase commit, for a host whose own commit decides (the SQLite
** extension: a batch must take effect exactly when SQLite's COMMIT
** succeeds).
**
** lsm_prepare logs a copy of pBatch as a *prepared* batch, durable per the
** sync option like lsm_write, but applies nothing: no reader sees it and
** it takes no sequence number.  It goes through the same write queue as
** lsm_write (group commit) and holds no lock when it returns, so other
** writers go on while the host decides; pBatch may change or be freed at
** once.  *ppPrep (owned) is then ended by exactly one of:
**   lsm_commit_prepared  logs a small commit record naming the prepared
**                        batch, gives the batch its sequence numbers
**                        (after every batch committed before it) and
**                        applies it: visible from then on.  If the log
**                        cannot take the commit record (disk full, I/O
**                        error), the batch is applied all the same, since
**                        the host has already committed, and is made
**                        durable by the flush that the failed log forces;
**                        a crash before that flush loses it.
**   lsm_abort_prepared   forgets it.
** Both free the handle.  REQUIRES: every handle ends before lsm_close
** (LSM_MISUSE otherwise).  An empty batch makes a handle that commits
** nothing.
**
** Recovery (lsm_open) replays a prepared batch where a commit record
** names it.  A prepared batch the store was still waiting on when the
** process died (no commit record, no abort) is dropped, unless
** lsm_options.xPrepared says its host committed it: then it is replayed
** after everything else the logs hold, as if its commit record had been
** the last one written.  So a host that records, inside its own commit,
** the id of each batch it commits (lsm_prepared_id) makes the two
** commits one across a crash: its record is there exactly when its
** commit is.
*/
int lsm_prepare(lsm_db*, lsm_batch *pBatch, lsm_prepared **ppPrep);
int lsm_commit_prepared(lsm_prepared*);
void lsm_abort_prepared(lsm_prepared*);
/* The prepared batch's id, unique in its store for good (never reused);
** 0 for a store without a log (in-memory) or an empty batch. */
uint64_t lsm_prepared_id(const lsm_prepared*);
/* Recovery never asks xPrepared about an id below this: a host may forget
** its records of smaller ids (each was committed with a commit record,
** written as the sync option says, or aborted).  It is the id of the
** oldest batch still waiting, or above every id given if none waits. */
uint64_t lsm_prepared_floor(lsm_db*);

/*
** Hosted stores (lsm_options.hosted = 1).  The host keeps the log of
** committed batches itself, and the store's files live in the host's
** lsm_env (the SQLite extension keeps both in tables of the database file,
** so that they commit with it).  Then:
**   - no WAL and no LOCK file are made; no background thread runs
**     (background is ignored) but the one lsm_flush_ahead starts: the
**     host's own locks order writers;
**   - a write only fills the memtable: flushes and compactions run only
**     when the host calls lsm_work, lsm_flush or lsm_compact, inside
**     whatever transaction the host holds for its env's writes;
**   - the manifest records the last sequence number flushed into
**     SSTables (lsm_hosted_seq's *piFlushed).  After lsm_open the host
**     re-applies, in order, every batch it logged after that number.
**
** lsm_write_at applies a batch the host logged with first sequence
** number iFirstSeq, which must be one more than the store's last (as
** lsm_hosted_seq reports it); a batch of n operations uses iFirstSeq ..
** iFirstSeq + n - 1.  Another number is LSM_CORRUPT (a gap or an overlap
** in the host's log).  Durability is the host's: nothing is written.
*/
int lsm_write_at(lsm_db*, lsm_batch *pBatch, uint64_t iFirstSeq);
/* The last sequence number applied, and the last one in SSTables. */
int lsm_hosted_seq(lsm_db*, uint64_t *piLast, uint64_t *piFlushed);
/*
** Do the work that is due, bounded: flush the memtable if it holds
** memtable_bytes or more (a hosted store with a prepared flush: below),
** then run at most nMaxCompactions of the
** compactions the policy picks (each is one picked merge: a few tables,
** never a whole level).  *pnDone (may be NULL) is the number of flushes and
** compactions run.  Any store may call it; a hosted store needs it.
*/
int lsm_work(lsm_db*, int nMaxCompactions, int *pnDone);
/*
** Hosted stores: if the memtable holds memtable_bytes or more and no flush
** waits, switch it out (readers still see it) and build its SSTable on a
** thread of its own, in memory, outside any transaction of the host's;
** *pbStarted (may be NULL) is 1 if it did.  The host's next lsm_work (or
** lsm_flush, lsm_compact), inside its transaction, installs the table
** once the thread is done: a new file number, the bytes written through
** the env, the manifest, all in that transaction; lsm_work's *pnDone counts
** it as a flush.  Only an lsm_work with nMaxCompactions 0 installs a
** finished table while the memtable is not full again: a call that may
** compact never also flushes unasked.  lsm_work does not wait for the thread unless the
** memtable has filled again: then it waits and installs the prepared
** table, and leaves the full memtable to the next lsm_flush_ahead (it
** flushes it too only once it holds twice memtable_bytes).  lsm_close drops a
** prepared flush not yet installed (the host's log still holds its
** batches).  At most one per store: its memory is about a memtable (the
** switched-out memtable stays until the install) plus the table's bytes.
** REQUIRES: no other call on this store runs (the host's writer calls it,
** e.g. after its commit).  LSM_MISUSE for a store that is not hosted.
*/
int lsm_flush_ahead(lsm_db*, int *pbStarted);

/* Snapshots: a consistent read-only view at one point in time. */
int lsm_snapshot_acquire(lsm_db*, lsm_snapshot **ppSnap);  /* owned: lsm_snapshot_release */
void lsm_snapshot_release(lsm_snapshot*);

/*
** What a read looks at.  pSnapshot NULL: the latest committed state.
** pBatch non-NULL: the first nBatchOps operations of that batch are laid
** over the snapshot (their puts and deletes win); nBatchOps = SIZE_MAX
** means all of them.  A cursor keeps its own view of those operations:
** the batch may grow, be truncated or be freed while the cursor is open,
** and the cursor still reads what the batch held when it was opened.
*/
typedef struct lsm_read {
  lsm_snapshot *pSnapshot;
  lsm_batch *pBatch;
  size_t nBatchOps;
  int bNoFill;              /* cursors: blocks read that the block cache does not
                            ** hold are not added to it (a one-off pass over
                            ** the whole store, as lsm_stats' count of live
                            ** bytes, must not evict what the reads use);
                            ** gets ignore it                                 */
} lsm_read;

/*
** Point get.  LSM_OK with *ppVal (owned: lsm_free) and *pnVal, or
** LSM_NOTFOUND, or an error.  pRead may be NULL (latest, no batch).
*/
int lsm_get(lsm_db*, const lsm_read *pRead, const void *pKey, size_t nKey,
            void **ppVal, size_t *pnVal);

/*
** Cursors read one consistent view (pRead as for lsm_get) for their whole
** life: flushes and compactions while a cursor is open are safe; the
** files it reads are deleted only after it closes.
** Optional bounds (either may be NULL): keys >= pLower (or > if
** bLowerOpen) and < pUpper (or <= if !bUpperOpen) are visible.
** A cursor starts unpositioned; call first, last or seek.
** lsm_cursor_key/value are borrowed: valid until the cursor moves or closes.
*/
int lsm_cursor_open(lsm_db*, const lsm_read *pRead, lsm_cursor **ppCsr); /* owned: lsm_cursor_close */
/*
** Make an open cursor read what lsm_cursor_open(its db, pRead) would read
** now, and leave it as that would: unpositioned, unbounded.  Cheaper than
** close and open when the store has not flushed or compacted since the
** cursor was opened or last refreshed (only the sequence number moves:
** no allocation, no iterator built).  It pins what it reads until the
** next refresh or close, as an open cursor does.  On an error the cursor
** is unchanged (close it).
*/
int lsm_cursor_refresh(lsm_cursor*, const lsm_read *pRead);
int lsm_cursor_bounds(lsm_cursor*, const void *pLower, size_t nLower, int bLowerOpen,
                      const void *pUpper, size_t nUpper, int bUpperOpen);
int lsm_cursor_first(lsm_cursor*);
int lsm_cursor_last(lsm_cursor*);
#define LSM_SEEK_GE 0   /* first key >= pKey */
#define LSM_SEEK_LE 1   /* last key <= pKey  */
int lsm_cursor_seek(lsm_cursor*, const void *pKey, size_t nKey, int eSeek);
int lsm_cursor_next(lsm_cursor*);
int lsm_cursor_prev(lsm_cursor*);
int lsm_cursor_valid(lsm_cursor*);
int lsm_cursor_key(lsm_cursor*, const void **ppKey, size_t *pnKey);
int lsm_cursor_value(lsm_cursor*, const void **ppVal, size_t *pnVal);
void lsm_cursor_close(lsm_cursor*);

/* Flush the memtable to a level-0 SSTable now and wait for it. */
int lsm_flush(lsm_db*);

/* Full compaction: everything into one sorted run at the last level,
** superseded entries and tombstones dropped.  *pResult may be NULL. */
typedef struct lsm_compact_result {
  uint64_t nBytesBefore, nBytesAfter;       /* SSTable bytes                    */
  uint64_t nEntriesBefore, nEntriesAfter;   /* SSTable entries incl. tombstones */
  uint64_t nTombstonesDropped;
  uint64_t nMillis;
} lsm_compact_result;
int lsm_compact(lsm_db*, lsm_compact_result *pResult);

typedef struct lsm_level_stats {
  uint64_t nFiles, nBytes, nEntries, nTombstones;
  uint64_t nBytesReadByCompaction;    /* input bytes of compactions into this level
                                         (for level 0: of level-0 tables merged
                                         together within level 0) */
  uint64_t nBytesWrittenByCompaction; /* output bytes of compactions into this level
                                         (for level 0: flushes, plus level-0 tables
                                         merged together within level 0) */
  uint64_t nBytesFromAbove;           /* input bytes that came from shallower levels
                                         (user bytes for level 0): this level's
                                         write amplification is written / from above */
} lsm_level_stats;

typedef struct lsm_stats {
  uint64_t nMemtableEntries, nMemtableBytes;   /* active + immutable memtables  */
  uint64_t nImmutable;                         /* immutable memtables waiting for
                                                  their flush (a hosted store's:
                                                  lsm_flush_ahead's)            */
  uint64_t nWalBytes;                          /* current WAL file size         */
  int nLevel;                                  /* levels in use                 */
  lsm_level_stats aLevel[LSM_MAX_LEVELS];
  /* Counters since open. */
  uint64_t nUserBytesWritten;   /* key + value bytes given to put/delete   */
  uint64_t nWalBytesWritten;
  uint64_t nFlushBytesWritten;
  uint64_t nCompactionBytesWritten;
  uint64_t nCompactionBytesRead;
  uint64_t nFlushes, nCompactions;
  uint64_t nGets;               /* point lookups                             */
  uint64_t nGetSstProbes;       /* SSTables whose data was searched by gets  */
  uint64_t nSeeks;              /* cursor seeks / first / last               */
  uint64_t nSeekSstProbes;      /* SSTables positioned by those seeks        */
  uint64_t nBloomChecks, nBloomNegatives, nBloomFalsePositives;
  uint64_t nDiskBytes;          /* SSTables + WAL + manifest                 */
  uint64_t nStalls, nStallMicros; /* writers' sleeps for a slowdown (one per
                                   slice of 200 us: a write sleeps one per 256
                                   bytes while it lasts) and waits for a stop;
                                   the time they took                       */
  uint64_t nTablesOpen;         /* SSTable readers the table cache holds now */
  uint64_t nTableCacheMisses;   /* SSTables reopened after an eviction       */
  uint64_t nTableCacheBytes;    /* heap the open SSTable readers hold         */
  /* Bytes: the cache's, of every store sharing it (lsm_options.block_cache);
  ** hits and misses: this store's own. */
  uint64_t nBlockCacheBytes;    /* bytes of data blocks the block cache holds
                                   (not the spare buffers it keeps for
                                   reuse: at most 8, inside the budget) */
  uint64_t nBlockCacheHits;     /* block reads the block cache answered      */
  uint64_t nBlockCacheMisses;   /* block reads that went to the file          */
  uint64_t nOpenCursors;        /* cursors open now                          */
  uint64_t nOpenSnapshots;      /* snapshots held now                        */
  uint64_t nSliceTables;        /* level-0 tables of the level-0 compaction
                                   in slices in progress (0: none;
                                   lsm_options.l0_slice_bytes)            */
  uint64_t nBlockCacheMappedBytes; /* memory the block cache (shared or not)
                                   holds in slabs (16 MiB caches and up: its
                                   blocks, free room in partly used slabs,
                                   one empty slab kept), beside
                                   nBlockCacheBytes' charge; 0 for a cache
                                   on malloc                              */
  uint64_t nBlockCacheOverflowBytes; /* of the bytes the block cache holds
                                   (spares included), the blocks a cache in
                                   slabs took from malloc though a slab's
                                   size class fits them (its slabs at their
                                   limit); a cache on malloc: all up to
                                   32 KiB                                 */
  uint64_t nBlockCacheSlabMoves; /* slabs the block cache emptied to serve
                                   another size class (the blocks' sizes
                                   moved): README, "Memory"              */
  uint64_t nBlockCacheNotCached; /* blocks read but not cached: their size
                                   class had no room in the slabs, and the
                                   slabs and the blocks from malloc were at
                                   the cache's memory bound (README,
                                   "Memory")                              */
} lsm_stats;
int lsm_stats_get(lsm_db*, lsm_stats *pStats);

/* One row per live SSTable.  *paFile is owned: free with lsm_free. */
typedef struct lsm_file_info {
  int iLevel;
  uint64_t iNumber;               /* file number; name is %06llu.sst           */
  uint64_t nBytes, nEntries, nTombstones;
  char zName[32];
  uint8_t *pSmallest; size_t nSmallest;   /* user keys, inside the same allocation */
  uint8_t *pLargest;  size_t nLargest;
} lsm_file_info;
int lsm_files(lsm_db*, lsm_file_info **paFile, int *pnFile);

/*
** Verify every checksum, the key order inside and across SSTables and the
** manifest.  LSM_OK if all is well, else LSM_CORRUPT and *pzReport (owned:
** lsm_free) lists the problems, one per line.  pzReport may be NULL.
*/
int lsm_check(lsm_db*, char **pzReport);

/* Free memory the engine returned as "owned".  It was allocated with the
** env's xMalloc; lsm_free calls free(), so a custom env's xMalloc must
** return memory that free() accepts (the default, in-memory and test
** environments all do). */
void lsm_free(void*);

/* The English text of an LSM_* code.  Borrowed: static. */
const char *lsm_errstr(int rc);
/* The message of the last failing call made by this thread (pDb may be
** NULL, e.g. after a failed lsm_open).  Borrowed: valid until the next
** call into the engine from this thread. */
const char *lsm_errmsg(lsm_db *pDb);

const char *lsm_version(void);

#ifdef __cplusplus
}
#endif
#endif /* LSM_H */
