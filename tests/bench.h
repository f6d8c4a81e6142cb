/*
** bench.h — what the files of `make bench` share.
**
** The benchmark runs LevelDB's db_bench workloads (fillseq, fillrandom,
** overwrite, readrandom, readmissing, readseq, seekrandom, deleterandom)
** against several key-value stores through one small adapter table,
** bench_engine, in the spirit of LSM1's TestDb: the workloads are written
** once (bench_workload.c) and every store is an adapter of ~150 lines:
**
**   bench_lsm.c      this engine through lsm/lsm.h
**   bench_leveldb.c  Debian's LevelDB through leveldb/c.h
**   bench_rocksdb.c  Debian's RocksDB through rocksdb/c.h
**   bench_sql.c      SQL level: the lsm virtual table (lsm.so) of both kinds
**                    (in the database file, in a directory) and a native
**                    WITHOUT ROWID table, through the same statements
**   bench_threads.c  several writer threads on one store (group commit)
**
** bench.c forks one child process per store (so each has its own peak RSS
** and caches), reads the rows it measures back through a pipe, and prints
** the table and bench-results.csv.
**
** Keys and values (identical for every store, from one seed):
**   key(i)   = "%016llu" of 2*i, for i in [0, N): 16 ASCII digits, so that
**              byte order is numeric order and key(i)+1 ("odd") keys, which
**              are never written, fall between live keys (readmissing).
**   value    = 100 bytes:
**     OFFSET SIZE DESCRIPTION
**          0    8 i, little-endian (a value read under the wrong key fails)
**          8    4 generation, little-endian: 0 after a fill, 1 after overwrite
**         12   88 bytes of a seeded random pool, at an offset hashed from
**                 (i, generation)
**   Orders come from a seeded bijection of [0, N) (a Feistel network with
**   cycle walking), so "every key once in random order" needs no array.
*/
#ifndef LSM_BENCH_H
#define LSM_BENCH_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_KEY_BYTES   16
#define BENCH_VAL_BYTES   100
#define BENCH_ENTRY_BYTES (BENCH_KEY_BYTES + BENCH_VAL_BYTES)  /* live bytes per key */
#define BENCH_TXN_ROWS    1000    /* SQL level: rows per transaction */

/* Engine-level configuration, the same for every engine. */
#define BENCH_MEMTABLE_BYTES (4u << 20)
#define BENCH_BLOCK_BYTES    4096
#define BENCH_BLOOM_BITS     10
#define BENCH_CACHE_BYTES    (8u << 20)   /* LevelDB/RocksDB block cache */

/* ---- the adapter every store implements ---- */
typedef struct bench_store bench_store;   /* an open store (adapter-defined) */
typedef struct bench_iter bench_iter;     /* an iterator over one store     */

/*
** Every method returns 0 on success; on failure the adapter prints a
** message naming the store and the call to stderr and returns non-zero
** (the workload then stops the child).  Keys and values passed in are
** borrowed for the call.
*/
typedef struct bench_engine {
  const char *zName;       /* "lsm", "leveldb", ... (csv engine column)   */
  const char *zLevel;      /* "engine" or "sql" (csv level column)         */
  const char *zNote;       /* printed beside the engine's rows, or NULL    */
  int nSeekNext;           /* entries read after a seek in seekrandom      */
  /* Open a new store in the (not yet existing) directory zDir. */
  int (*xOpen)(const char *zDir, bench_store **ppStore);
  /* Close and free; always succeeds as far as the benchmark cares. */
  void (*xClose)(bench_store*);
  int (*xPut)(bench_store*, const char *pKey, size_t nKey, const char *pVal, size_t nVal);
  int (*xDelete)(bench_store*, const char *pKey, size_t nKey);
  /* *pbFound = 1 and *ppVal, *pnVal (borrowed: valid until the next xGet or
  ** xClose) if the key exists, else *pbFound = 0. */
  int (*xGet)(bench_store*, const char *pKey, size_t nKey, int *pbFound,
              const char **ppVal, size_t *pnVal);
  /* Transactions of BENCH_TXN_ROWS operations, or NULL (engine level):
  ** xTxn(p, 1) begins one, xTxn(p, 0) commits it. */
  int (*xTxn)(bench_store*, int bBegin);
  /*
  ** Iterators.  xIterFirst visits every key in order; xIterSeek visits the
  ** keys >= pKey, at least the first 1 + nSeekNext of them (the SQL
  ** adapter uses LIMIT).  Position reads are borrowed until the iterator
  ** moves or closes.  An iterator sees the latest committed state.
  */
  int (*xIterOpen)(bench_store*, bench_iter **ppIter);
  int (*xIterFirst)(bench_iter*);
  int (*xIterSeek)(bench_iter*, const char *pKey, size_t nKey);
  int (*xIterNext)(bench_iter*);
  int (*xIterValid)(bench_iter*);
  void (*xIterEntry)(bench_iter*, const char **ppKey, size_t *pnKey,
                     const char **ppVal, size_t *pnVal);
  void (*xIterClose)(bench_iter*);
  /* Flush the memtable and return once background flush and compaction
  ** are idle (untimed; so that write and space amplification charge the
  ** work to the workload that caused it). */
  int (*xSettle)(bench_store*);
  /* The engine's own counters, or NULL: user bytes given and bytes it wrote
  ** (WAL + flush + compaction) since open. */
  int (*xOwnBytes)(bench_store*, uint64_t *pnUser, uint64_t *pnWritten);
  /* Open as xOpen, but with durability eSync (BENCH_SYNC_*), for the
  ** writer-thread workloads of bench_threads.c; NULL if the adapter has
  ** none.  xPut must then be safe to call from several threads at once. */
  int (*xOpenSync)(const char *zDir, int eSync, bench_store **ppStore);
  int bWritesOnly;         /* run the write workloads only (bench_run)      */
  const char *zPeer;       /* ratios of ops/s are printed against this
                           ** engine only (NULL: against every other one)  */
  /* The shape of the store in one line ("L0 3, L1 5, L2 45 SSTables; memtable
  ** 20003 entries") into z, or NULL: printed before each set of reads. */
  void (*xShape)(bench_store*, char *z, size_t nZ);
} bench_engine;

/* Durability of a write, as LevelDB and RocksDB offer it. */
#define BENCH_SYNC_OFF     0  /* buffered in memory; a killed process loses some */
#define BENCH_SYNC_NORMAL  1  /* write(2) per commit; survives a killed process  */
#define BENCH_SYNC_FULL    2  /* fdatasync per commit; survives a power cut      */

extern const bench_engine bench_engine_lsm;          /* sync=normal (write(2) per put) */
extern const bench_engine bench_engine_lsm_buffered; /* sync=off: WAL buffered        */
extern const bench_engine bench_engine_lsm_tiered;   /* sync=normal, tiered compaction */
extern const bench_engine bench_engine_lsm_tiered_buffered;  /* the same, sync=off     */
extern const bench_engine bench_engine_leveldb;
extern const bench_engine bench_engine_rocksdb;
extern const bench_engine bench_engine_rocksdb_buffered;  /* manual_wal_flush: buffered */
extern const bench_engine bench_engine_sql_lsm;      /* in-database store (default)    */
extern const bench_engine bench_engine_sql_lsm_dir;  /* directory store lsm('kv.lsm')  */
extern const bench_engine bench_engine_sql_native;
extern const bench_engine bench_engine_sql_floor;   /* bench_floor.c: no storage at all */

/* bench_floor.c: register the module bench_floor on db (SQLITE_OK). */
struct sqlite3;
int bench_floor_register(struct sqlite3 *db);

/* bench_sql.c: 0 if lsm.so loads into SQLite, else non-zero with the
** reason in zErr. */
int bench_sql_probe(char *zErr, size_t nErr);
/* The path of lsm.so given to sqlite3_load_extension (BENCH_LSM_SO or ./lsm.so). */
const char *bench_sql_extension_path(void);

/* For the amplification experiment's read counters (bench_amp.c): the
** lsm_db of a store of bench_engine_lsm or _lsm_tiered (borrowed), and a
** LevelDB property of a store of bench_engine_leveldb copied into zOut
** (0, or non-zero if LevelDB does not know zName). */
struct lsm_db *bench_lsm_db(bench_store*);
int bench_leveldb_property(bench_store*, const char *zName, char *zOut, size_t nOut);

/* ---- one measured row, sent from the child to the parent ---- */
typedef struct bench_row {
  char zLevel[8];          /* "engine" | "sql" | "amp"                     */
  char zEngine[16];        /* bench_engine.zName                           */
  char zWorkload[24];      /* "fillseq" ...; a read measured settled ends
                           ** in "-settled" (else: right after the writes) */
  uint64_t nOps;           /* operations timed                              */
  double rSecs;            /* wall time of those operations                 */
  double rSettleSecs;      /* untimed settle after a write workload, or 0   */
  double rWriteAmp;        /* wchar delta / user bytes; < 0: not a write    */
  double rOwnWriteAmp;     /* by the engine's own counters; < 0: unknown    */
  double rSpaceAmp;        /* dir bytes / (live keys * 116); < 0: none live */
  double rPeakRssMb;       /* peak RSS during this workload                 */
  /* Level "amp" only (bench_amp.c; 0 elsewhere); < 0: none or n/a. */
  double rReadAmp;         /* SSTables searched per get, or runs per seek   */
  double rP50Us, rP99Us;   /* put latency percentiles, microseconds         */
  double rP999Us, rMaxUs;  /* p99.9 and the slowest put                     */
  double rCommitP999Us;    /* SQL stores: p99.9 of the COMMITs of the puts  */
  double rCommitMaxUs;     /* and the slowest (< 0: no transactions)        */
} bench_row;

/* ---- configuration (bench.c reads it from the environment) ---- */
typedef struct bench_config {
  uint64_t nKeys;          /* BENCH_N, default 1000000                      */
  uint64_t nReads;         /* BENCH_READS: gets or seeks per random-read
                           ** workload, default N/10 (at least 1000, at most N) */
  uint64_t iSeed;          /* BENCH_SEED                                    */
  uint64_t nSyncKeys;      /* BENCH_SYNC_N: puts of the sync=full writer-
                           ** thread workload, default N/20 (at least 1000) */
  const char *zDir;        /* scratch directory of this child's stores      */
} bench_config;

/*
** bench_workload.c: run every workload on pEng in db_bench order (fillseq
** on a fresh store; fillrandom on a fresh store, then overwrite,
** readrandom, readmissing, readseq, seekrandom, deleterandom on it),
** checking every answer, and write one bench_row per workload to fdOut.
** Returns 0, or non-zero after printing what went wrong (a wrong answer
** or an engine error).
*/
int bench_run(const bench_engine *pEng, const bench_config *pCfg, int fdOut);

/*
** bench_threads.c: BENCH_THREADS writer threads putting disjoint shares of
** the keys into one store opened with xOpenSync, at sync normal (N keys)
** and full (BENCH_SYNC_N keys), one row each ("fill4t-normal",
** "fill4t-full"), every key checked by a scan.  Same return as bench_run.
*/
#define BENCH_THREADS 4
int bench_run_threads(const bench_engine *pEng, const bench_config *pCfg, int fdOut);

/* ---- bench_util.c ---- */
/* A seeded bijection of [0, n). */
typedef struct bench_perm {
  uint64_t n;              /* domain size                                   */
  int nHalfBits;           /* Feistel half width: 2*nHalfBits bits >= n     */
  uint64_t aRoundKey[4];   /* one key per round                             */
} bench_perm;
void bench_perm_init(bench_perm*, uint64_t n, uint64_t iSeed);
uint64_t bench_perm_at(const bench_perm*, uint64_t i);

typedef struct bench_rng { uint64_t s; } bench_rng;  /* splitmix64 state */
uint64_t bench_rng_next(bench_rng*);
uint64_t bench_rng_below(bench_rng*, uint64_t n);
uint64_t bench_mix64(uint64_t x);

/* key(i) into a[16] (no NUL); bOdd adds 1 (a key that is never written). */
void bench_key(char *a, uint64_t i, int bOdd);
/* Parse 16 digits; returns 0 and *pi = the number if a[0..n) is a key. */
int bench_key_parse(const char *a, size_t n, uint64_t *pi);
/* value(i, gen) into a[100].  bench_value_pool_init first (once). */
void bench_value_pool_init(uint64_t iSeed);
void bench_value(char *a, uint64_t i, uint32_t iGen);
/* BENCH_COMPRESSION=on: values compress about 2:1 (their first 50 bytes
** written twice, as LevelDB's db_bench makes them compressible), and the
** engine level runs lsm with LZ4, LevelDB with Snappy and RocksDB with
** LZ4 (each one's usual choice); off (the default): random values and no
** compression anywhere. */
int bench_compression(void);

double bench_now(void);                   /* monotonic seconds             */
void bench_sleep_ms(int nMs);
uint64_t bench_wchar(void);               /* /proc/self/io wchar           */
/* Wait until no thread of this process has written for nQuietMs (wchar
** unchanged), at most nMaxMs.  Returns the seconds waited. */
double bench_wait_quiet(int nQuietMs, int nMaxMs);
uint64_t bench_dir_bytes(const char *zPath);   /* regular files, recursive */
void bench_rmtree(const char *zPath);
void bench_peak_rss_reset(void);          /* clear_refs 5: VmHWM = VmRSS   */
double bench_peak_rss_mb(void);           /* VmHWM, else ru_maxrss         */

#endif /* LSM_BENCH_H */
