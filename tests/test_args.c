/*
** test_args.c — CREATE VIRTUAL TABLE ... USING lsm(...) argument parsing:
** every accepted form with what it sets, every rejected form with its exact
** message, path resolution against the database file, and the declared
** schema being valid SQL.
*/
#include "testutil.h"
#include "ext_test_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

#define N_MAX_ARG 12

/* Parse the user arguments azUser[0..nUser) of table zTable in schema zDb. */
static int parse_args(sqlite3 *db, const char *zDb, const char *zTable,
                      const char *const *azUser, int nUser, ext_args *pArgs, char **pzErr){
  const char *azArgv[N_MAX_ARG + 3];
  int i;
  ck_assert_int_le(nUser, N_MAX_ARG);
  azArgv[0] = "lsm";
  azArgv[1] = zDb;
  azArgv[2] = zTable;
  for(i = 0; i < nUser; i++) azArgv[3 + i] = azUser[i];
  *pzErr = NULL;
  return args_parse(db, nUser + 3, azArgv, pArgs, pzErr);
}

#define USER_ARGS(...) ((const char *const[]){ __VA_ARGS__ })
#define N_USER_ARGS(...) ((int)(sizeof(USER_ARGS(__VA_ARGS__)) / sizeof(const char*)))
/* PARSE_OK(db, "main", "kv", &args, "'x.lsm'", "sync=full"): must succeed. */
#define PARSE_OK(db, zDb, zTable, pArgs, ...) do{ \
  char *zErr_ = NULL; \
  int rc_ = parse_args(db, zDb, zTable, USER_ARGS(__VA_ARGS__), N_USER_ARGS(__VA_ARGS__), \
                       pArgs, &zErr_); \
  ck_assert_msg(rc_ == SQLITE_OK, "refused: %s", zErr_ ? zErr_ : "(no message)"); \
  sqlite3_free(zErr_); \
}while(0)
#define PARSE_NONE(db, zDb, zTable, pArgs) do{ \
  char *zErr_ = NULL; \
  int rc_ = parse_args(db, zDb, zTable, NULL, 0, pArgs, &zErr_); \
  ck_assert_msg(rc_ == SQLITE_OK, "refused: %s", zErr_ ? zErr_ : "(no message)"); \
  sqlite3_free(zErr_); \
}while(0)

/* A database file db in a new temp directory; *pzDir is that directory. */
static sqlite3 *open_file_db(char **pzDir){
  sqlite3 *db = NULL;
  char *zPath;
  ext_test_api_init();
  *pzDir = test_tmpdir("args");
  zPath = sqlite3_mprintf("%s/app.db", *pzDir);
  ck_assert_int_eq(sqlite3_open(zPath, &db), SQLITE_OK);
  sqlite3_free(zPath);
  return db;
}

/* The directory part of the main database's file name, as SQLite gives it. */
static char *db_dir(sqlite3 *db, const char *zDb){
  const char *zFile = sqlite3_db_filename(db, zDb);
  const char *zSlash = strrchr(zFile, '/');
  return sqlite3_mprintf("%.*s", (int)(zSlash - zFile), zFile);
}

static int args_is_cleared(const ext_args *p){
  static const ext_args zero;
  return memcmp(p, &zero, sizeof(zero)) == 0;
}

/* ---- tests: paths ---- */

START_TEST(no_arguments_give_key_and_value_in_the_database){
  sqlite3 *db = ext_test_open_db();
  ext_args a;
  lsm_options def;
  PARSE_NONE(db, "main", "kv", &a);
  ck_assert_int_eq(a.bInDb, 1);
  ck_assert_int_eq(a.bMemory, 0);
  ck_assert_ptr_null(a.zDir);
  ck_assert_int_eq(a.nCol, 2);
  ck_assert_str_eq(a.azCol[0], "key");
  ck_assert_str_eq(a.azCol[1], "value");
  ck_assert_str_eq(a.zSchema,
                   "CREATE TABLE x(\"key\" PRIMARY KEY NOT NULL, \"value\", \"_rowid_\" HIDDEN)"
                   " WITHOUT ROWID");
  lsm_options_default(&def);
  ck_assert(memcmp(&a.opt, &def, sizeof(def)) == 0);
  args_clear(&a);
  ck_assert(args_is_cleared(&a));
  args_clear(&a);                      /* twice is harmless */
  sqlite3_close(db);
}
END_TEST

START_TEST(no_path_puts_the_store_beside_the_database_file){
  char *zTmp;
  sqlite3 *db = open_file_db(&zTmp);
  char *zExpect = sqlite3_mprintf("%s-kv.lsm", sqlite3_db_filename(db, "main"));
  ext_args a;
  PARSE_NONE(db, "main", "kv", &a);
  ck_assert_int_eq(a.bMemory, 0);
  ck_assert_str_eq(a.zDir, zExpect);
  ck_assert_ptr_nonnull(strstr(a.zDir, "/app.db-kv.lsm"));
  args_clear(&a);
  sqlite3_free(zExpect);
  sqlite3_close(db);
  test_rmtree(zTmp);
  free(zTmp);
}
END_TEST

START_TEST(a_table_in_an_attached_database_is_stored_beside_that_file){
  char *zTmp;
  sqlite3 *db = open_file_db(&zTmp);
  char *zSql = sqlite3_mprintf("ATTACH '%q/other.db' AS aux", zTmp);
  char *zExpect, *zDir;
  ext_args a;
  ck_assert_int_eq(sqlite3_exec(db, zSql, 0, 0, 0), SQLITE_OK);
  sqlite3_free(zSql);
  zExpect = sqlite3_mprintf("%s-t.lsm", sqlite3_db_filename(db, "aux"));
  PARSE_NONE(db, "aux", "t", &a);
  ck_assert_str_eq(a.zDir, zExpect);
  args_clear(&a);
  zDir = db_dir(db, "aux");
  sqlite3_free(zExpect);
  zExpect = sqlite3_mprintf("%s/sub/t.lsm", zDir);
  PARSE_OK(db, "aux", "t", &a, "'sub/t.lsm'");
  ck_assert_str_eq(a.zDir, zExpect);
  args_clear(&a);
  sqlite3_free(zExpect);
  sqlite3_free(zDir);
  sqlite3_close(db);
  test_rmtree(zTmp);
  free(zTmp);
}
END_TEST

START_TEST(a_temp_table_without_a_path_is_in_the_temp_database){
  char *zTmp;
  sqlite3 *db = open_file_db(&zTmp);
  ext_args a;
  PARSE_NONE(db, "temp", "kv", &a);
  ck_assert_int_eq(a.bInDb, 1);
  ck_assert_ptr_null(a.zDir);
  args_clear(&a);
  PARSE_OK(db, "temp", "kv", &a, "'rel/kv.lsm'");   /* relative to the current directory */
  ck_assert_str_eq(a.zDir, "rel/kv.lsm");
  args_clear(&a);
  sqlite3_close(db);
  test_rmtree(zTmp);
  free(zTmp);
}
END_TEST

START_TEST(a_relative_path_is_resolved_against_the_database_directory){
  char *zTmp;
  sqlite3 *db = open_file_db(&zTmp);
  char *zDir = db_dir(db, "main");
  char *zExpect = sqlite3_mprintf("%s/kv.lsm", zDir);
  ext_args a;
  PARSE_OK(db, "main", "kv", &a, "'kv.lsm'");
  ck_assert_int_eq(a.bMemory, 0);
  ck_assert_str_eq(a.zDir, zExpect);
  args_clear(&a);
  sqlite3_free(zExpect);
  zExpect = sqlite3_mprintf("%s/../x/it's here", zDir);
  PARSE_OK(db, "main", "kv", &a, "  '../x/it''s here'  ");
  ck_assert_str_eq(a.zDir, zExpect);
  args_clear(&a);
  sqlite3_free(zExpect);
  sqlite3_free(zDir);
  sqlite3_close(db);
  test_rmtree(zTmp);
  free(zTmp);
}
END_TEST

START_TEST(a_relative_path_stays_relative_for_an_in_memory_database){
  sqlite3 *db = ext_test_open_db();
  ext_args a;
  PARSE_OK(db, "main", "kv", &a, "'kv.lsm'");
  ck_assert_int_eq(a.bMemory, 0);
  ck_assert_str_eq(a.zDir, "kv.lsm");
  args_clear(&a);
  sqlite3_close(db);
}
END_TEST

START_TEST(an_absolute_path_is_kept_as_written){
  char *zTmp;
  sqlite3 *db = open_file_db(&zTmp);
  ext_args a;
  PARSE_OK(db, "main", "kv", &a, "'/var/lib/app/kv'");
  ck_assert_str_eq(a.zDir, "/var/lib/app/kv");
  args_clear(&a);
  sqlite3_close(db);
  test_rmtree(zTmp);
  free(zTmp);
}
END_TEST

START_TEST(memory_path_asks_for_an_in_memory_store){
  char *zTmp;
  sqlite3 *db = open_file_db(&zTmp);
  ext_args a;
  PARSE_OK(db, "main", "kv", &a, "':memory:'", "sync=full");
  ck_assert_int_eq(a.bMemory, 1);
  ck_assert_ptr_null(a.zDir);
  ck_assert_int_eq(a.opt.sync, LSM_SYNC_FULL);
  args_clear(&a);
  sqlite3_close(db);
  test_rmtree(zTmp);
  free(zTmp);
}
END_TEST

START_TEST(a_double_quoted_first_argument_is_a_column_not_a_path){
  sqlite3 *db = ext_test_open_db();
  ext_args a;
  PARSE_OK(db, "main", "kv", &a, "\"kv.lsm\"", "v");
  ck_assert_int_eq(a.bInDb, 1);
  ck_assert_str_eq(a.azCol[0], "kv.lsm");
  args_clear(&a);
  sqlite3_close(db);
}
END_TEST

/* ---- tests: options ---- */

START_TEST(every_option_value_is_accepted_and_set){
  static const struct {
    const char *zArg;
    int iField;           /* 0 sync, 1 memtable_bytes, 2 block_bytes, 3 bloom_bits,
                             4 compaction, 5 background, 6 readonly, 7 max_open_tables,
                             8 block_cache_bytes, 9 use_mmap, 10 compression,
                             11 table_cache_bytes */
    long long iExpect;
  } aCase[] = {
    { "sync=off", 0, LSM_SYNC_OFF }, { "sync=normal", 0, LSM_SYNC_NORMAL },
    { "sync=full", 0, LSM_SYNC_FULL }, { "SYNC = FULL", 0, LSM_SYNC_FULL },
    { "sync='off'", 0, LSM_SYNC_OFF }, { "sync=\"Normal\"", 0, LSM_SYNC_NORMAL },
    { "memtable_mb=8", 1, 8 << 20 }, { "memtable_mb=0.0625", 1, 65536 },
    { "memtable_mb=.5", 1, 1 << 19 }, { "memtable_mb=1.", 1, 1 << 20 },
    { "memtable_mb=4.25", 1, (4 << 20) + (1 << 18) }, { "memtable_mb=65536", 1, 65536LL << 20 },
    { "memtable_mb=0.1", 1, 104858 }, { "memtable_mb = 16", 1, 16 << 20 },
    { "block_kb=1", 2, 1024 }, { "block_kb=16", 2, 16384 }, { "block_kb=1024", 2, 1 << 20 },
    { "bloom_bits=0", 3, 0 }, { "bloom_bits=7", 3, 7 }, { "bloom_bits=30", 3, 30 },
    { "compaction=leveled", 4, LSM_COMPACTION_LEVELED },
    { "compaction=tiered", 4, LSM_COMPACTION_TIERED },
    { "compaction=Tiered", 4, LSM_COMPACTION_TIERED },
    { "background=off", 5, 0 }, { "background=on", 5, 1 }, { "background=0", 5, 0 },
    { "background=no", 5, 0 }, { "background=false", 5, 0 }, { "background=TRUE", 5, 1 },
    { "readonly=on", 6, 1 }, { "readonly=off", 6, 0 }, { "readonly=yes", 6, 1 },
    { "readonly=1", 6, 1 }, { "Readonly=On", 6, 1 },
    { "max_open_tables=16", 7, 16 }, { "max_open_tables=1000000", 7, 1000000 },
    { "MAX_OPEN_TABLES = 64", 7, 64 },
    { "block_cache_mb=0", 8, 0 }, { "block_cache_mb=8", 8, 8 << 20 },
    { "block_cache_mb=0.5", 8, 1 << 19 }, { "block_cache_mb=65536", 8, 65536LL << 20 },
    { "mmap=off", 9, 0 }, { "mmap=on", 9, 1 },
    { "compression=none", 10, LSM_COMPRESSION_NONE }, { "compression=lz4", 10, LSM_COMPRESSION_LZ4 },
    { "compression=ZSTD", 10, LSM_COMPRESSION_ZSTD },
    { "table_cache_mb=1", 11, 1 << 20 }, { "table_cache_mb=256", 11, 256 << 20 },
    { "table_cache_mb=1.5", 11, 3 << 19 }, { "table_cache_mb=65536", 11, 65536LL << 20 },
  };
  sqlite3 *db = ext_test_open_db();
  size_t i;
  for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
    ext_args a;
    long long v = -1;
    PARSE_OK(db, "main", "kv", &a, aCase[i].zArg);
    switch( aCase[i].iField ){
      case 0: v = a.opt.sync; break;
      case 1: v = (long long)a.opt.memtable_bytes; break;
      case 2: v = a.opt.block_bytes; break;
      case 3: v = a.opt.bloom_bits; break;
      case 4: v = a.opt.compaction; break;
      case 5: v = a.opt.background; break;
      case 6: v = a.opt.readonly; break;
      case 7: v = a.opt.max_open_tables; break;
      case 8: v = (long long)a.opt.block_cache_bytes; break;
      case 9: v = a.opt.use_mmap; break;
      case 10: v = a.opt.compression; break;
      case 11: v = (long long)a.opt.table_cache_bytes; break;
    }
    ck_assert_msg(v == aCase[i].iExpect, "%s set %lld, expected %lld", aCase[i].zArg, v,
                  aCase[i].iExpect);
    ck_assert_int_eq(a.nCol, 2);
    args_clear(&a);
  }
  sqlite3_close(db);
}
END_TEST

START_TEST(options_paths_and_columns_mix_in_one_statement){
  char *zTmp;
  sqlite3 *db = open_file_db(&zTmp);
  ext_args a;
  PARSE_OK(db, "main", "users", &a, "'users.lsm'", "sync=full", "id", "memtable_mb=0.0625",
           "name TEXT", "bloom_bits=12", "email", "compaction=tiered", "background=off",
           "readonly=on", "block_kb=8");
  ck_assert_int_eq(a.opt.sync, LSM_SYNC_FULL);
  ck_assert_uint_eq(a.opt.memtable_bytes, 65536);
  ck_assert_int_eq(a.opt.bloom_bits, 12);
  ck_assert_int_eq(a.opt.compaction, LSM_COMPACTION_TIERED);
  ck_assert_int_eq(a.opt.background, 0);
  ck_assert_int_eq(a.opt.readonly, 1);
  ck_assert_int_eq(a.opt.block_bytes, 8192);
  ck_assert_int_eq(a.opt.create_if_missing, 1);
  ck_assert_int_eq(a.nCol, 3);
  ck_assert_str_eq(a.azCol[0], "id");
  ck_assert_str_eq(a.azCol[1], "name");
  ck_assert_str_eq(a.azCol[2], "email");
  ck_assert_str_eq(a.zSchema, "CREATE TABLE x(\"id\" PRIMARY KEY NOT NULL, \"name\" TEXT, "
                              "\"email\", \"_rowid_\" HIDDEN) WITHOUT ROWID");
  ck_assert_ptr_nonnull(strstr(a.zDir, "/users.lsm"));
  args_clear(&a);
  sqlite3_close(db);
  test_rmtree(zTmp);
  free(zTmp);
}
END_TEST

/* ---- tests: columns ---- */

static const struct { const char *azCol[5]; int nCol; const char *zSchema; const char *azName[5]; }
aColumnCase[] = {
  { { "id", "name", "email" }, 3,
    "CREATE TABLE x(\"id\" PRIMARY KEY NOT NULL, \"name\", \"email\", \"_rowid_\" HIDDEN) WITHOUT ROWID",
    { "id", "name", "email" } },
  { { "id INTEGER", "age INT", "name TEXT COLLATE NOCASE" }, 3,
    "CREATE TABLE x(\"id\" PRIMARY KEY NOT NULL, \"age\" INT, \"name\" TEXT COLLATE \"NOCASE\", \"_rowid_\" HIDDEN)"
    " WITHOUT ROWID",
    { "id", "age", "name" } },
  { { "k COLLATE binary", "price DECIMAL(10, 2)", "v VARCHAR ( 255 )", "u unsigned big int" }, 4,
    "CREATE TABLE x(\"k\" PRIMARY KEY NOT NULL, \"price\" DECIMAL(10, 2), \"v\" VARCHAR( 255 ),"
    " \"u\" unsigned big int, \"_rowid_\" HIDDEN) WITHOUT ROWID",
    { "k", "price", "v", "u" } },
  { { "\"first name\"", "[last name]", "`a\"\"b`", "\"x\"\"y\" collate rtrim" }, 4,
    "CREATE TABLE x(\"first name\" PRIMARY KEY NOT NULL, \"last name\", \"a\"\"\"\"b\","
    " \"x\"\"y\" COLLATE \"rtrim\", \"_rowid_\" HIDDEN) WITHOUT ROWID",
    { "first name", "last name", "a\"\"b", "x\"y" } },
  { { "_k$1", "select", "v REAL  COLLATE  \"NOCASE\"", "w NUMERIC(-1.5, +2)" }, 4,
    "CREATE TABLE x(\"_k$1\" PRIMARY KEY NOT NULL, \"select\", \"v\" REAL COLLATE \"NOCASE\","
    " \"w\" NUMERIC(-1.5, +2), \"_rowid_\" HIDDEN) WITHOUT ROWID",
    { "_k$1", "select", "v", "w" } },
};

START_TEST(columns_keep_their_names_types_and_collations){
  sqlite3 *db = ext_test_open_db();
  size_t i;
  int j;
  for(i = 0; i < sizeof(aColumnCase) / sizeof(aColumnCase[0]); i++){
    ext_args a;
    char *zErr = NULL;
    int rc = parse_args(db, "main", "t", aColumnCase[i].azCol, aColumnCase[i].nCol, &a, &zErr);
    ck_assert_msg(rc == SQLITE_OK, "case %zu refused: %s", i, zErr);
    ck_assert_str_eq(a.zSchema, aColumnCase[i].zSchema);
    ck_assert_int_eq(a.nCol, aColumnCase[i].nCol);
    for(j = 0; j < a.nCol; j++) ck_assert_str_eq(a.azCol[j], aColumnCase[i].azName[j]);
    args_clear(&a);
  }
  sqlite3_close(db);
}
END_TEST

/* Every schema we declare is a CREATE TABLE SQLite accepts, with the key
** untyped (no affinity) and the value columns' declared types kept. */
START_TEST(every_declared_schema_is_valid_sql){
  sqlite3 *db = ext_test_open_db();
  size_t i;
  for(i = 0; i < sizeof(aColumnCase) / sizeof(aColumnCase[0]); i++){
    sqlite3 *pScratch = NULL;
    sqlite3_stmt *pStmt = NULL;
    ext_args a;
    char *zErr = NULL;
    ck_assert_int_eq(parse_args(db, "main", "t", aColumnCase[i].azCol, aColumnCase[i].nCol,
                                &a, &zErr), SQLITE_OK);
    ck_assert_int_eq(sqlite3_open(":memory:", &pScratch), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(pScratch, a.zSchema, 0, 0, &zErr) == SQLITE_OK, "%s: %s",
                  a.zSchema, zErr);
    ck_assert_int_eq(sqlite3_prepare_v2(pScratch, "SELECT type, pk, \"notnull\" FROM pragma_table_info('x') "
                                        "WHERE cid = 0", -1, &pStmt, 0), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_ROW);
    ck_assert_str_eq((const char*)sqlite3_column_text(pStmt, 0), "");
    ck_assert_int_eq(sqlite3_column_int(pStmt, 1), 1);
    ck_assert_int_eq(sqlite3_column_int(pStmt, 2), 1);
    sqlite3_finalize(pStmt);
    sqlite3_close(pScratch);
    args_clear(&a);
  }
  sqlite3_close(db);
}
END_TEST

/* ---- tests: errors ---- */

START_TEST(each_bad_argument_gives_its_exact_message){
  static const struct { const char *azArg[4]; int nArg; const char *zMsg; } aCase[] = {
    { { "foo=1" }, 1, "unknown option 'foo'" },
    { { "Sinc = full" }, 1, "unknown option 'Sinc'" },
    { { "path='x'" }, 1, "unknown option 'path'" },
    { { "sync=off", "SYNC=full" }, 2, "option 'sync' given twice" },
    { { "bloom_bits=1", "k", "v", "bloom_bits=1" }, 4, "option 'bloom_bits' given twice" },
    { { "sync=fast" }, 1, "bad value for sync: fast (expected off, normal or full)" },
    { { "sync=" }, 1, "bad value for sync:  (expected off, normal or full)" },
    { { "sync=1" }, 1, "bad value for sync: 1 (expected off, normal or full)" },
    { { "memtable_mb=-1" }, 1, "bad value for memtable_mb: -1 (expected a decimal from 0.0625 to 65536)" },
    { { "memtable_mb=0" }, 1, "bad value for memtable_mb: 0 (expected a decimal from 0.0625 to 65536)" },
    { { "memtable_mb=0.0624" }, 1, "bad value for memtable_mb: 0.0624 (expected a decimal from 0.0625 to 65536)" },
    { { "memtable_mb=1e3" }, 1, "bad value for memtable_mb: 1e3 (expected a decimal from 0.0625 to 65536)" },
    { { "memtable_mb=1.2.3" }, 1, "bad value for memtable_mb: 1.2.3 (expected a decimal from 0.0625 to 65536)" },
    { { "memtable_mb=." }, 1, "bad value for memtable_mb: . (expected a decimal from 0.0625 to 65536)" },
    { { "memtable_mb=65537" }, 1, "bad value for memtable_mb: 65537 (expected a decimal from 0.0625 to 65536)" },
    { { "memtable_mb=99999999999999999999" }, 1, "bad value for memtable_mb: 99999999999999999999 (expected a decimal from 0.0625 to 65536)" },
    { { "memtable_mb=four" }, 1, "bad value for memtable_mb: four (expected a decimal from 0.0625 to 65536)" },
    { { "block_kb=0" }, 1, "bad value for block_kb: 0 (expected an integer from 1 to 1024)" },
    { { "block_kb=1025" }, 1, "bad value for block_kb: 1025 (expected an integer from 1 to 1024)" },
    { { "block_kb=4.5" }, 1, "bad value for block_kb: 4.5 (expected an integer from 1 to 1024)" },
    { { "block_kb=-4" }, 1, "bad value for block_kb: -4 (expected an integer from 1 to 1024)" },
    { { "block_kb=+4" }, 1, "bad value for block_kb: +4 (expected an integer from 1 to 1024)" },
    { { "bloom_bits=31" }, 1, "bad value for bloom_bits: 31 (expected an integer from 0 to 30)" },
    { { "level_ratio=1" }, 1, "bad value for level_ratio: 1 (expected an integer from 2 to 100)" },
    { { "level_ratio=101" }, 1, "bad value for level_ratio: 101 (expected an integer from 2 to 100)" },
    { { "max_open_tables=15" }, 1, "bad value for max_open_tables: 15 (expected an integer from 16 to 1000000)" },
    { { "max_open_tables=0" }, 1, "bad value for max_open_tables: 0 (expected an integer from 16 to 1000000)" },
    { { "max_open_tables=1000001" }, 1, "bad value for max_open_tables: 1000001 (expected an integer from 16 to 1000000)" },
    { { "block_cache_mb=-1" }, 1, "bad value for block_cache_mb: -1 (expected a decimal from 0 to 65536)" },
    { { "block_cache_mb=65537" }, 1, "bad value for block_cache_mb: 65537 (expected a decimal from 0 to 65536)" },
    { { "table_cache_mb=0.5" }, 1, "bad value for table_cache_mb: 0.5 (expected a decimal from 1 to 65536)" },
    { { "table_cache_mb=65537" }, 1, "bad value for table_cache_mb: 65537 (expected a decimal from 1 to 65536)" },
    { { "mmap=maybe" }, 1, "bad value for mmap: maybe (expected on or off)" },
    { { "compression=snappy" }, 1, "bad value for compression: snappy (expected none, lz4 or zstd)" },
    { { "bloom_bits=-1" }, 1, "bad value for bloom_bits: -1 (expected an integer from 0 to 30)" },
    { { "bloom_bits=x" }, 1, "bad value for bloom_bits: x (expected an integer from 0 to 30)" },
    { { "bloom_bits=99999999999" }, 1, "bad value for bloom_bits: 99999999999 (expected an integer from 0 to 30)" },
    { { "compaction=universal" }, 1, "bad value for compaction: universal (expected leveled or tiered)" },
    { { "background=maybe" }, 1, "bad value for background: maybe (expected on or off)" },
    { { "readonly=2" }, 1, "bad value for readonly: 2 (expected on or off)" },
    { { "readonly='on" }, 1, "bad value for readonly: 'on (expected on or off)" },
    { { "id", "name", "ID" }, 3, "column 'ID' given twice" },
    { { "key", "key" }, 2, "column 'key' given twice" },
    { { "1abc", "v" }, 2, "bad column name '1abc'" },
    { { "k", "a-b" }, 2, "bad column name 'a-b'" },
    { { "k", "\"\"" }, 2, "bad column name '\"\"'" },
    { { "k", "\"open" }, 2, "bad column name '\"open'" },
    { { "k", "=x" }, 2, "bad column name '=x'" },
    { { "id INTEGER PRIMARY KEY", "v" }, 2, "bad column definition 'id INTEGER PRIMARY KEY'" },
    { { "k", "v NOT NULL" }, 2, "bad column definition 'v NOT NULL'" },
    { { "k", "v TEXT DEFAULT 1" }, 2, "bad column definition 'v TEXT DEFAULT 1'" },
    { { "k", "v TEXT COLLATE" }, 2, "bad column definition 'v TEXT COLLATE'" },
    { { "k", "v COLLATE nocase TEXT" }, 2, "bad column definition 'v COLLATE nocase TEXT'" },
    { { "k", "v INT(abc)" }, 2, "bad column definition 'v INT(abc)'" },
    { { "k", "v DECIMAL(10) UNSIGNED" }, 2, "bad column definition 'v DECIMAL(10) UNSIGNED'" },
    { { "k", "v INT(1, 2, 3)" }, 2, "bad column definition 'v INT(1, 2, 3)'" },
    { { "k", "v (1)" }, 2, "bad column definition 'v (1)'" },
    { { "k", "v TEXT /* note */" }, 2, "bad column definition 'v TEXT /* note */'" },
    { { "id COLLATE NOCASE", "v" }, 2, "the key column 'id' must use the BINARY collation, not NOCASE" },
    { { "id TEXT COLLATE \"rtrim\"", "v" }, 2, "the key column 'id' must use the BINARY collation, not rtrim" },
    { { "id" }, 1, "the key column 'id' needs at least one value column" },
    { { "\"x.lsm\"" }, 1, "the key column 'x.lsm' needs at least one value column"
                          " (a store path is a string in single quotes: 'x.lsm')" },
    { { "bloom-bits=10" }, 1, "unknown option 'bloom-bits' (did you mean bloom_bits?)" },
    { { "Memtable-MB = 8" }, 1, "unknown option 'Memtable-MB' (did you mean memtable_mb?)" },
    { { "k", "no.such=1" }, 2, "unknown option 'no.such'" },
    { { "'x.lsm'", "sync=off", "id" }, 3, "the key column 'id' needs at least one value column" },
    { { "sync=full", "'kv.lsm'" }, 2, "the store path must be the first argument: 'kv.lsm'" },
    { { "'a.lsm'", "'b.lsm'" }, 2, "the store path must be the first argument: 'b.lsm'" },
    { { "''" }, 1, "bad store path: ''" },
    { { "'a' 'b'" }, 1, "bad store path: 'a' 'b'" },
    { { "'a'b" }, 1, "bad store path: 'a'b" },
    { { "k", "  " }, 2, "empty argument" },
  };
  sqlite3 *db = ext_test_open_db();
  size_t i;
  for(i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++){
    ext_args a;
    char *zErr = NULL;
    int rc;
    memset(&a, 0x5a, sizeof(a));      /* args_parse must not trust it */
    rc = parse_args(db, "main", "kv", aCase[i].azArg, aCase[i].nArg, &a, &zErr);
    ck_assert_msg(rc == SQLITE_ERROR, "'%s'...: accepted", aCase[i].azArg[0]);
    ck_assert_msg(zErr && strcmp(zErr, aCase[i].zMsg) == 0, "'%s'...: message [%s], expected [%s]",
                  aCase[i].azArg[0], zErr ? zErr : "(none)", aCase[i].zMsg);
    ck_assert_msg(args_is_cleared(&a), "'%s'...: arguments left filled", aCase[i].azArg[0]);
    sqlite3_free(zErr);
  }
  sqlite3_close(db);
}
END_TEST

/* Without a path the store is in the database: any table name will do,
** and no directory is named after it. */
START_TEST(a_table_name_with_a_slash_is_stored_in_the_database){
  char *zTmp;
  sqlite3 *db = open_file_db(&zTmp);
  ext_args a;
  PARSE_NONE(db, "main", "a/b", &a);
  ck_assert_int_eq(a.bInDb, 1);
  ck_assert_ptr_null(a.zDir);
  args_clear(&a);
  PARSE_OK(db, "main", "a/b", &a, "'ab.lsm'");
  args_clear(&a);
  sqlite3_close(db);
  test_rmtree(zTmp);
  free(zTmp);
}
END_TEST

START_TEST(an_old_message_in_pzerr_is_replaced_not_leaked){
  sqlite3 *db = ext_test_open_db();
  ext_args a;
  const char *azArg[] = { "sync=bad" };
  const char *azArgv[] = { "lsm", "main", "kv", azArg[0] };
  char *zErr = sqlite3_mprintf("stale");
  ck_assert_int_eq(args_parse(db, 4, azArgv, &a, &zErr), SQLITE_ERROR);
  ck_assert_str_eq(zErr, "bad value for sync: bad (expected off, normal or full)");
  sqlite3_free(zErr);
  sqlite3_close(db);
}
END_TEST

START_TEST(stored_create_text_gives_the_arguments_sqlite_gives){
  sqlite3 *db = ext_test_open_db();
  ext_args a;
  char *zErr = NULL;
  /* A column named readonly_at is a column, not the readonly option. */
  ck_assert_int_eq(args_parse_sql(db, "main", "ev",
      "CREATE VIRTUAL TABLE ev USING lsm(':memory:', id, readonly_at)", &a, &zErr), SQLITE_OK);
  ck_assert_int_eq(a.opt.readonly, 0);
  ck_assert_int_eq(a.nCol, 2);
  ck_assert_str_eq(a.azCol[1], "readonly_at");
  args_clear(&a);
  /* Quotes, nested parentheses and a comma inside a string are one argument each. */
  ck_assert_int_eq(args_parse_sql(db, "main", "t",
      "create virtual table \"using x\" using LSM ( ':memory:' , readonly = 'on',"
      " k, v DECIMAL(10, 2) , \"a,b\" )", &a, &zErr), SQLITE_OK);
  ck_assert_int_eq(a.opt.readonly, 1);
  ck_assert_int_eq(a.nCol, 3);
  ck_assert_str_eq(a.azCol[2], "a,b");
  args_clear(&a);
  ck_assert_int_eq(args_parse_sql(db, "main", "kv", "CREATE VIRTUAL TABLE kv USING lsm",
                                  &a, &zErr), SQLITE_OK);
  ck_assert_int_eq(a.nCol, 2);
  args_clear(&a);
  ck_assert_int_eq(args_parse_sql(db, "main", "kv", "CREATE VIRTUAL TABLE kv USING lsm()",
                                  &a, &zErr), SQLITE_OK);
  args_clear(&a);
  ck_assert_int_eq(args_parse_sql(db, "main", "f", "CREATE VIRTUAL TABLE f USING lsmx(a)",
                                  &a, &zErr), SQLITE_NOTFOUND);
  ck_assert_int_eq(args_parse_sql(db, "main", "f", "CREATE VIRTUAL TABLE \"USING lsm\" USING fts5(a)",
                                  &a, &zErr), SQLITE_NOTFOUND);
  ck_assert_ptr_null(zErr);
  sqlite3_close(db);
}
END_TEST

static Suite *args_suite(void){
  Suite *s = suite_create("args");
  TCase *tc = tcase_create("args");
  tcase_add_checked_fixture(tc, ext_test_api_init, NULL);
  tcase_add_test(tc, no_arguments_give_key_and_value_in_the_database);
  tcase_add_test(tc, no_path_puts_the_store_beside_the_database_file);
  tcase_add_test(tc, a_table_in_an_attached_database_is_stored_beside_that_file);
  tcase_add_test(tc, a_temp_table_without_a_path_is_in_the_temp_database);
  tcase_add_test(tc, a_relative_path_is_resolved_against_the_database_directory);
  tcase_add_test(tc, a_relative_path_stays_relative_for_an_in_memory_database);
  tcase_add_test(tc, an_absolute_path_is_kept_as_written);
  tcase_add_test(tc, memory_path_asks_for_an_in_memory_store);
  tcase_add_test(tc, a_double_quoted_first_argument_is_a_column_not_a_path);
  tcase_add_test(tc, every_option_value_is_accepted_and_set);
  tcase_add_test(tc, options_paths_and_columns_mix_in_one_statement);
  tcase_add_test(tc, columns_keep_their_names_types_and_collations);
  tcase_add_test(tc, every_declared_schema_is_valid_sql);
  tcase_add_test(tc, each_bad_argument_gives_its_exact_message);
  tcase_add_test(tc, a_table_name_with_a_slash_is_stored_in_the_database);
  tcase_add_test(tc, an_old_message_in_pzerr_is_replaced_not_leaked);
  tcase_add_test(tc, stored_create_text_gives_the_arguments_sqlite_gives);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(args_suite)
