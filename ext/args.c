/*
** args.c — the arguments of CREATE VIRTUAL TABLE ... USING lsm(...).
**
** Usage:
**
**     CREATE VIRTUAL TABLE kv USING lsm;
**         -- columns (key, value); store <database file>-kv.lsm beside the
**         -- database, or in memory for an in-memory or temp database
**     CREATE VIRTUAL TABLE kv USING lsm('kv.lsm', sync=full, memtable_mb=8);
**     CREATE VIRTUAL TABLE users USING lsm('users.lsm', id, name TEXT COLLATE NOCASE, email);
**     CREATE VIRTUAL TABLE cache USING lsm(':memory:', bloom_bits=0);
**
** SQLite hands each argument over as the text written between the commas.
** Each is one of three kinds, recognised by its first characters, and
** each kind has its own small parser below:
**
**   1. The store path: a single-quoted SQL string, only as the first
**      argument ('it''s' is it's).  ':memory:' asks for an in-memory
**      store.  A relative path is resolved against the directory of the
**      file of the database that holds the table (argv[1], normally
**      "main"), so a database and its stores move together; for an
**      in-memory or temp database it stays relative to the current
**      directory.  Without a path the store is the directory
**      "<database file>-<table name>.lsm", or in memory for an in-memory
**      or temp database.  A double-quoted "name" is an SQL identifier, so
**      it is a column, never a path.
**
**   2. An option, name=value (spaces around '=' allowed, names and
**      keyword values case-insensitive, a value may be quoted):
**        sync=off|normal|full        memtable_mb=<decimal >= 0.0625, <= 65536>
**        block_kb=<1..1024>          bloom_bits=<0..30> (0: no filters)
**        compaction=leveled|tiered   background=on|off   readonly=on|off
**        level_ratio=<2..100> (leveled: each level this many times the last)
**        max_open_tables=<16..1000000> (SSTables kept open, least recently used out)
**        table_cache_mb=<decimal 1..65536> (heap the open SSTables may hold)
**        block_cache_mb=<decimal 0..65536> (heap for data blocks, all tables)
**        mmap=on|off (read uncompressed directory-store tables through mmap)
**        compression=none|lz4|zstd (data blocks of the SSTables written from now)
**      on|off also accept yes|no, true|false and 1|0, as PRAGMAs do.
**
**   3. A column definition: name [type] [COLLATE collation], e.g.
**        id      "first name"      age INTEGER      name TEXT COLLATE NOCASE
**      The name is a plain identifier or quoted with "", [] or ``.  The
**      type is one or more words with an optional (n) or (n, m) after
**      them, as in SQL.  Other column clauses (PRIMARY KEY, NOT NULL,
**      DEFAULT, ...) are refused.  The first column is the key, and at
**      least one value column must follow it; without column arguments
**      the columns are (key, value).
**
** Types and collations.  The table is declared to SQLite as
**     CREATE TABLE x("id" PRIMARY KEY NOT NULL, "name" TEXT COLLATE "NOCASE",
**                    "email", "_rowid_" HIDDEN) WITHOUT ROWID
** (the hidden _rowid_ mirrors the key, for tools that address rows by
** _rowid_: see vtab.c; it is left out if a column is named _rowid_)
** Values are never converted: a virtual table gets them as written, so
** every value keeps its storage class whatever the declared type.
**   - The key is declared with no type and no collation.  Keys are looked
**     up and ordered by the engine with the exact BINARY order of untyped
**     values (keycodec.c); a declared type would give the key an affinity
**     that SQLite applies in the comparisons it evaluates itself but the
**     engine does not, so "id = '5'" could find a row under one query plan
**     and not under another.  A type written on the key is therefore
**     accepted and dropped, as is COLLATE BINARY; any other collation on
**     the key is refused.
**   - A value column keeps its type name and collation in the declaration:
**     PRAGMA table_info shows them, and SQLite uses them in the comparisons
**     it evaluates on value columns (always by SQLite, over a scan), so
**     "WHERE age = '30'" compares numerically as it would on a native
**     table with that column type.  Storage is unaffected: a TEXT '30'
**     written into age stays TEXT and sorts as text in ORDER BY.
**
** Errors name the argument, one message per mistake (tests/test_args.c
** holds every one):
**     unknown option 'x'
**     unknown option 'bloom-bits' (did you mean bloom_bits?)
**     option 'sync' given twice
**     bad value for memtable_mb: -1 (expected a decimal from 0.0625 to 65536)
**     column 'id' given twice
**     bad column name '1x'
**     bad column definition 'id INT PRIMARY KEY'
**     the key column 'id' must use the BINARY collation, not NOCASE
**     the key column 'id' needs at least one value column
**     the key column 'x.lsm' needs at least one value column (a store path
**       is a string in single quotes: 'x.lsm')
**     the store path must be the first argument: 'kv.lsm'
**     bad store path: ''
**     table name 'a/b' cannot name a store: give a path
**     empty argument
** Parsing touches no file: the engine creates or opens the directory.
*/
#include "ext.h"

#include <string.h>

#define ARGS_MEMTABLE_MB_MAX  65536    /* 64 GiB                       */
#define ARGS_BLOCK_KB_MAX     1024
#define ARGS_BLOOM_BITS_MAX   30

/* ---- lexing helpers over NUL-terminated text ---- */

static int args_is_space(char c){
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
static int args_is_ident_start(char c){
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c & 0x80);
}
static int args_is_ident_char(char c){
  return args_is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}
static int args_is_digit(char c){ return c >= '0' && c <= '9'; }

static const char *args_skip_space(const char *z){
  while( args_is_space(*z) ) z++;
  return z;
}

/* Bytes of the identifier at z (0 if none). */
static int args_ident_len(const char *z){
  int n = 0;
  if( !args_is_ident_start(z[0]) ) return 0;
  while( args_is_ident_char(z[n]) ) n++;
  return n;
}

/* Bytes of the quoted token at z ('...', "...", `...` with doubled quotes
** inside, or [...]), including the quotes; 0 if z starts none or it is
** unterminated. */
static int args_quoted_len(const char *z){
  char cEnd;
  int n = 1;
  switch( z[0] ){
    case '\'': case '"': case '`': cEnd = z[0]; break;
    case '[': cEnd = ']'; break;
    default: return 0;
  }
  for(;;){
    if( z[n] == 0 ) return 0;
    if( z[n] == cEnd ){
      if( cEnd != ']' && z[n+1] == cEnd ){ n += 2; continue; }
      return n + 1;
    }
    n++;
  }
}

/* The content of the quoted token (z, n), quotes removed and doubled
** quotes undone.  sqlite3_malloc'd; NULL on OOM. */
static char *args_unquote(const char *z, int n){
  char *zOut = sqlite3_malloc(n + 1);
  int i, j = 0;
  if( zOut == NULL ) return NULL;
  for(i = 1; i < n - 1; i++){
    zOut[j++] = z[i];
    if( z[0] != '[' && z[i] == z[0] ) i++;
  }
  zOut[j] = 0;
  return zOut;
}

/* A copy of z without leading and trailing white space (sqlite3_free). */
static char *args_trim(const char *z){
  int n;
  z = args_skip_space(z);
  n = (int)strlen(z);
  while( n > 0 && args_is_space(z[n-1]) ) n--;
  return sqlite3_mprintf("%.*s", n, z);
}

/* ---- option values: one helper per kind; each returns 0 if bad ---- */

static int args_value_keyword(const char *z, const char *const *azWord, int *piOut){
  int i;
  for(i = 0; azWord[i]; i++){
    if( sqlite3_stricmp(z, azWord[i]) == 0 ){ *piOut = i; return 1; }
  }
  return 0;
}

static int args_value_bool(const char *z, int *pbOut){
  static const char *const azWord[] = {
    "off", "on", "no", "yes", "false", "true", "0", "1", NULL
  };
  int i;
  if( !args_value_keyword(z, azWord, &i) ) return 0;
  *pbOut = i & 1;
  return 1;
}

/* A decimal integer in [iMin, iMax], digits only. */
static int args_value_int(const char *z, int iMin, int iMax, int *piOut){
  sqlite3_int64 v = 0;
  if( !args_is_digit(*z) ) return 0;
  for(; *z; z++){
    if( !args_is_digit(*z) ) return 0;
    v = v * 10 + (*z - '0');
    if( v > iMax ) return 0;
  }
  if( v < iMin ) return 0;
  *piOut = (int)v;
  return 1;
}

/* A decimal megabyte count "12", "0.0625", ".5" into bytes, within
** [nMinBytes, nMaxMb MiB].  No sign, exponent or locale dependence. */
static int args_value_mb(const char *z, uint64_t nMinBytes, int nMaxMb, uint64_t *pnOut){
  double v = 0.0, scale = 1.0;
  int nDigit = 0;
  for(; args_is_digit(*z); z++, nDigit++){
    v = v * 10.0 + (*z - '0');
    if( v > nMaxMb ) return 0;
  }
  if( *z == '.' ){
    for(z++; args_is_digit(*z); z++, nDigit++){
      scale /= 10.0;
      v += (*z - '0') * scale;
    }
  }
  if( *z != 0 || nDigit == 0 || v > nMaxMb ) return 0;
  *pnOut = (uint64_t)(v * 1048576.0 + 0.5);
  return *pnOut >= nMinBytes;
}

/* ---- options ---- */

typedef struct args_option {
  const char *zName;                                /* canonical name     */
  int (*xSet)(const char *zVal, lsm_options *pOpt); /* 0 if zVal is bad   */
  const char *zValid;                               /* the valid values, for the message */
} args_option;

static int args_set_sync(const char *z, lsm_options *pOpt){
  static const char *const azWord[] = { "off", "normal", "full", NULL };
  int i;
  if( !args_value_keyword(z, azWord, &i) ) return 0;
  pOpt->sync = i == 0 ? LSM_SYNC_OFF : i == 1 ? LSM_SYNC_NORMAL : LSM_SYNC_FULL;
  return 1;
}
static int args_set_memtable_mb(const char *z, lsm_options *pOpt){
  return args_value_mb(z, 65536, ARGS_MEMTABLE_MB_MAX, &pOpt->memtable_bytes);
}
static int args_set_block_kb(const char *z, lsm_options *pOpt){
  int n;
  if( !args_value_int(z, 1, ARGS_BLOCK_KB_MAX, &n) ) return 0;
  pOpt->block_bytes = n * 1024;
  return 1;
}
static int args_set_bloom_bits(const char *z, lsm_options *pOpt){
  return args_value_int(z, 0, ARGS_BLOOM_BITS_MAX, &pOpt->bloom_bits);
}
static int args_set_compaction(const char *z, lsm_options *pOpt){
  static const char *const azWord[] = { "leveled", "tiered", NULL };
  int i;
  if( !args_value_keyword(z, azWord, &i) ) return 0;
  pOpt->compaction = i == 0 ? LSM_COMPACTION_LEVELED : LSM_COMPACTION_TIERED;
  return 1;
}
static int args_set_level_ratio(const char *z, lsm_options *pOpt){
  return args_value_int(z, 2, 100, &pOpt->level_ratio);
}
static int args_set_max_open_tables(const char *z, lsm_options *pOpt){
  return args_value_int(z, 16, 1000000, &pOpt->max_open_tables);
}
static int args_set_table_cache_mb(const char *z, lsm_options *pOpt){
  return args_value_mb(z, 1u << 20, 65536, &pOpt->table_cache_bytes);
}
static int args_set_block_cache_mb(const char *z, lsm_options *pOpt){
  return args_value_mb(z, 0, 65536, &pOpt->block_cache_bytes);
}
static int args_set_compression(const char *z, lsm_options *pOpt){
  static const char *const azWord[] = { "none", "lz4", "zstd", NULL };
  int i;
  if( !args_value_keyword(z, azWord, &i) ) return 0;
  pOpt->compression = i == 0 ? LSM_COMPRESSION_NONE : i == 1 ? LSM_COMPRESSION_LZ4
                                                              : LSM_COMPRESSION_ZSTD;
  return 1;
}
static int args_set_mmap(const char *z, lsm_options *pOpt){
  return args_value_bool(z, &pOpt->use_mmap);
}
static int args_set_background(const char *z, lsm_options *pOpt){
  return args_value_bool(z, &pOpt->background);
}
static int args_set_readonly(const char *z, lsm_options *pOpt){
  return args_value_bool(z, &pOpt->readonly);
}

static const args_option aArgsOption[] = {
  { "sync",            args_set_sync,            "off, normal or full" },
  { "memtable_mb",     args_set_memtable_mb,     "a decimal from 0.0625 to 65536" },
  { "block_kb",        args_set_block_kb,        "an integer from 1 to 1024" },
  { "bloom_bits",      args_set_bloom_bits,      "an integer from 0 to 30" },
  { "compaction",      args_set_compaction,      "leveled or tiered" },
  { "background",      args_set_background,      "on or off" },
  { "level_ratio",     args_set_level_ratio,     "an integer from 2 to 100" },
  { "max_open_tables", args_set_max_open_tables, "an integer from 16 to 1000000" },
  { "readonly",        args_set_readonly,        "on or off" },
  { "block_cache_mb",  args_set_block_cache_mb,  "a decimal from 0 to 65536" },
  { "table_cache_mb",  args_set_table_cache_mb,  "a decimal from 1 to 65536" },
  { "mmap",            args_set_mmap,            "on or off" },
  { "compression",     args_set_compression,     "none, lz4 or zstd" },
};
#define ARGS_N_OPTION ((int)(sizeof(aArgsOption) / sizeof(aArgsOption[0])))

/* Parser state shared by the helpers below. */
typedef struct args_parser {
  ext_args *pArgs;        /* what is being filled                        */
  char **pzErr;           /* where the message goes                      */
  unsigned mSeen;         /* bit i: option aArgsOption[i] already given  */
  sqlite3_str *pSchema;   /* the CREATE TABLE text being built           */
} args_parser;

static int args_error(args_parser *pP, const char *zFmt, const char *z1, const char *z2){
  sqlite3_free(*pP->pzErr);
  *pP->pzErr = sqlite3_mprintf(zFmt, z1, z2);
  return SQLITE_ERROR;
}

/* zArg is "name = value" with the name at its start (trimmed text). */
static int args_parse_option(args_parser *pP, const char *zArg){
  int nName = args_ident_len(zArg);
  const char *zVal = args_skip_space(args_skip_space(zArg + nName) + 1);
  char *zName = sqlite3_mprintf("%.*s", nName, zArg);
  char *zUnquoted = NULL;
  int rc = SQLITE_OK;
  int i, nQuote;

  if( zName == NULL ) return SQLITE_NOMEM;
  for(i = 0; i < ARGS_N_OPTION; i++){
    if( sqlite3_stricmp(zName, aArgsOption[i].zName) == 0 ) break;
  }
  if( i == ARGS_N_OPTION ){
    rc = args_error(pP, "unknown option '%s'", zName, NULL);
  }else if( pP->mSeen & (1u << i) ){
    rc = args_error(pP, "option '%s' given twice", aArgsOption[i].zName, NULL);
  }else{
    pP->mSeen |= 1u << i;
    if( sqlite3_stricmp(aArgsOption[i].zName, "sync") == 0 ) pP->pArgs->bSyncGiven = 1;
    if( sqlite3_stricmp(aArgsOption[i].zName, "mmap") == 0 ) pP->pArgs->bMmapGiven = 1;
    if( sqlite3_stricmp(aArgsOption[i].zName, "compression") == 0 ){
      pP->pArgs->bCompressionGiven = 1;
    }
    if( sqlite3_stricmp(aArgsOption[i].zName, "block_kb") == 0 ) pP->pArgs->bBlockKbGiven = 1;
    if( sqlite3_stricmp(aArgsOption[i].zName, "memtable_mb") == 0 ) pP->pArgs->bMemtableGiven = 1;
    nQuote = (zVal[0] == '\'' || zVal[0] == '"') ? args_quoted_len(zVal) : 0;
    if( nQuote > 0 && zVal[nQuote] == 0 ){
      zUnquoted = args_unquote(zVal, nQuote);
      if( zUnquoted == NULL ) rc = SQLITE_NOMEM;
    }
    if( rc == SQLITE_OK
     && !aArgsOption[i].xSet(zUnquoted ? zUnquoted : zVal, &pP->pArgs->opt) ){
      sqlite3_free(*pP->pzErr);
      *pP->pzErr = sqlite3_mprintf("bad value for %s: %s (expected %s)",
                                   aArgsOption[i].zName, zVal, aArgsOption[i].zValid);
      rc = SQLITE_ERROR;
    }
  }
  sqlite3_free(zUnquoted);
  sqlite3_free(zName);
  return rc;
}

/*
** zArg (trimmed) has '=' before any quote or parenthesis, but what comes
** before it is not an identifier ("bloom-bits=10"): an option misspelt,
** never a column.  Suggest the option it would be with '_' for '-'.
*/
static int args_bad_option_name(args_parser *pP, const char *zArg){
  int nName = (int)strcspn(zArg, "=");
  char *zName;
  int i;
  while( nName > 0 && args_is_space(zArg[nName-1]) ) nName--;
  zName = sqlite3_mprintf("%.*s", nName, zArg);
  if( zName == NULL ) return SQLITE_NOMEM;
  sqlite3_free(*pP->pzErr);
  *pP->pzErr = 0;
  for(i = 0; i < ARGS_N_OPTION; i++){
    const char *zOpt = aArgsOption[i].zName;
    int j;
    if( (int)strlen(zOpt) != nName ) continue;
    for(j = 0; j < nName; j++){
      char c = zName[j] == '-' ? '_' : zName[j];
      if( sqlite3_strnicmp(&c, &zOpt[j], 1) != 0 ) break;
    }
    if( j == nName ){
      *pP->pzErr = sqlite3_mprintf("unknown option '%s' (did you mean %s?)", zName, zOpt);
      break;
    }
  }
  if( *pP->pzErr == 0 ) *pP->pzErr = sqlite3_mprintf("unknown option '%s'", zName);
  sqlite3_free(zName);
  return SQLITE_ERROR;
}

/* ---- columns ---- */

static int args_is_constraint_word(const char *z, int n){
  static const char *const azWord[] = {
    "CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT",
    "REFERENCES", "GENERATED", "AS", "AUTOINCREMENT", NULL
  };
  int i;
  for(i = 0; azWord[i]; i++){
    if( (int)strlen(azWord[i]) == n && sqlite3_strnicmp(z, azWord[i], n) == 0 ) return 1;
  }
  return 0;
}

/* A signed number "+12", "-3", "10.5" at z; bytes consumed, 0 if none. */
static int args_number_len(const char *z){
  int n = 0, nDigit = 0;
  if( z[n] == '+' || z[n] == '-' ) n++;
  while( args_is_digit(z[n]) ){ n++; nDigit++; }
  if( z[n] == '.' ){
    n++;
    while( args_is_digit(z[n]) ){ n++; nDigit++; }
  }
  return nDigit ? n : 0;
}

/* "(n)" or "(n, m)" at z; bytes consumed, 0 if malformed. */
static int args_type_args_len(const char *z){
  const char *p = args_skip_space(z + 1);
  int n = args_number_len(p);
  if( n == 0 ) return 0;
  p = args_skip_space(p + n);
  if( *p == ',' ){
    p = args_skip_space(p + 1);
    n = args_number_len(p);
    if( n == 0 ) return 0;
    p = args_skip_space(p + n);
  }
  return *p == ')' ? (int)(p + 1 - z) : 0;
}

/* Append a column name to azCol; "given twice" if already there. */
static int args_add_column(args_parser *pP, char *zName){
  ext_args *p = pP->pArgs;
  char **azNew;
  int i;
  for(i = 0; i < p->nCol; i++){
    if( sqlite3_stricmp(p->azCol[i], zName) == 0 ){
      int rc = args_error(pP, "column '%s' given twice", zName, NULL);
      sqlite3_free(zName);
      return rc;
    }
  }
  azNew = sqlite3_realloc64(p->azCol, sizeof(char*) * (sqlite3_uint64)(p->nCol + 1));
  if( azNew == NULL ){ sqlite3_free(zName); return SQLITE_NOMEM; }
  p->azCol = azNew;
  p->azCol[p->nCol++] = zName;
  return SQLITE_OK;
}

/*
** Parse one column definition (trimmed text) and append it to azCol and
** to the schema.  See the header for the grammar and the key's rules.
*/
static int args_parse_column(args_parser *pP, const char *zArg){
  const char *z = zArg;
  char *zName = NULL;
  char *zColl = NULL;
  sqlite3_str *pType = NULL;
  int bKey = pP->pArgs->nCol == 0;
  int rc = SQLITE_OK;
  int n;

  /* The name. */
  if( (n = args_quoted_len(z)) > 0 && z[0] != '\'' ){
    zName = args_unquote(z, n);
    if( zName == NULL ) return SQLITE_NOMEM;
    if( zName[0] == 0 ) rc = args_error(pP, "bad column name '%s'", zArg, NULL);
  }else if( (n = args_ident_len(z)) > 0 ){
    zName = sqlite3_mprintf("%.*s", n, z);
    if( zName == NULL ) return SQLITE_NOMEM;
  }else{
    return args_error(pP, "bad column name '%s'", zArg, NULL);
  }
  z += n;
  if( rc == SQLITE_OK && *z != 0 && !args_is_space(*z) ){
    rc = args_error(pP, "bad column name '%s'", zArg, NULL);
  }

  /* The type words, an optional (n[, m]), then an optional COLLATE. */
  pType = sqlite3_str_new(NULL);
  while( rc == SQLITE_OK && *(z = args_skip_space(z)) != 0 ){
    n = args_ident_len(z);
    if( n == 7 && sqlite3_strnicmp(z, "COLLATE", 7) == 0 && !args_is_ident_char(z[7]) ){
      z = args_skip_space(z + 7);
      if( (n = args_quoted_len(z)) > 0 && z[0] != '\'' ){
        zColl = args_unquote(z, n);
      }else if( (n = args_ident_len(z)) > 0 ){
        zColl = sqlite3_mprintf("%.*s", n, z);
      }else{
        rc = args_error(pP, "bad column definition '%s'", zArg, NULL);
        break;
      }
      if( zColl == NULL ){ rc = SQLITE_NOMEM; break; }
      if( *args_skip_space(z + n) != 0 ){
        rc = args_error(pP, "bad column definition '%s'", zArg, NULL);
      }
      break;
    }
    if( n == 0 || args_is_constraint_word(z, n) || zColl ){
      rc = args_error(pP, "bad column definition '%s'", zArg, NULL);
      break;
    }
    if( sqlite3_str_length(pType) > 0 ){
      /* Words after "(n)" are not part of an SQL type name. */
      const char *zSoFar = sqlite3_str_value(pType);
      if( zSoFar[strlen(zSoFar) - 1] == ')' ){
        rc = args_error(pP, "bad column definition '%s'", zArg, NULL);
        break;
      }
      sqlite3_str_appendchar(pType, 1, ' ');
    }
    sqlite3_str_append(pType, z, n);
    z = args_skip_space(z + n);
    if( *z == '(' ){
      int nArgs = args_type_args_len(z);
      if( nArgs == 0 ){
        rc = args_error(pP, "bad column definition '%s'", zArg, NULL);
        break;
      }
      sqlite3_str_append(pType, z, nArgs);
      z += nArgs;
    }
  }
  if( rc == SQLITE_OK && sqlite3_str_errcode(pType) ) rc = SQLITE_NOMEM;

  if( rc == SQLITE_OK && bKey && zColl && sqlite3_stricmp(zColl, "BINARY") != 0 ){
    sqlite3_free(*pP->pzErr);
    *pP->pzErr = sqlite3_mprintf(
        "the key column '%s' must use the BINARY collation, not %s", zName, zColl);
    rc = SQLITE_ERROR;
  }
  if( rc == SQLITE_OK ){
    if( bKey ){
      sqlite3_str_appendf(pP->pSchema, "\"%w\" PRIMARY KEY NOT NULL", zName);
    }else{
      sqlite3_str_appendf(pP->pSchema, ", \"%w\"", zName);
      if( sqlite3_str_length(pType) > 0 ){
        sqlite3_str_appendf(pP->pSchema, " %s", sqlite3_str_value(pType));
      }
      if( zColl ) sqlite3_str_appendf(pP->pSchema, " COLLATE \"%w\"", zColl);
    }
    rc = args_add_column(pP, zName);      /* takes zName */
    zName = NULL;
  }
  sqlite3_free(sqlite3_str_finish(pType));
  sqlite3_free(zColl);
  sqlite3_free(zName);
  return rc;
}

/* ---- the store path ---- */

/*
** Set zDir/bMemory from the path argument zPath (unquoted; NULL if none).
** zDbName is argv[1], zTable argv[2].
*/
static int args_resolve_path(args_parser *pP, sqlite3 *db, const char *zDbName,
                             const char *zTable, const char *zPath){
  ext_args *p = pP->pArgs;
  const char *zFile = sqlite3_db_filename(db, zDbName);
  int bMemDb = zFile == NULL || zFile[0] == 0;

  if( zPath == NULL ){
    /* The store lives in the database.  zDir is the directory a table
    ** made before the in-database store existed used instead (vtab.c
    ** opens it when the table has no shadow tables). */
    p->bInDb = 1;
    if( bMemDb || strchr(zTable, '/') ) return SQLITE_OK;
    p->zDir = sqlite3_mprintf("%s-%s.lsm", zFile, zTable);
  }else if( zPath[0] == 0 ){
    return args_error(pP, "bad store path: ''", NULL, NULL);
  }else if( strcmp(zPath, ":memory:") == 0 ){
    p->bMemory = 1;
    return SQLITE_OK;
  }else if( zPath[0] == '/' || bMemDb || strrchr(zFile, '/') == NULL ){
    p->zDir = sqlite3_mprintf("%s", zPath);
  }else{
    int nBase = (int)(strrchr(zFile, '/') - zFile);
    p->zDir = sqlite3_mprintf("%.*s/%s", nBase, zFile, zPath);
  }
  return p->zDir ? SQLITE_OK : SQLITE_NOMEM;
}

/* ---- public functions ---- */

int args_parse(sqlite3 *db, int argc, const char *const *argv, ext_args *pArgs, char **pzErr){
  args_parser sP;
  char *zPath = NULL;
  char *zArg = NULL;
  int bKeyQuoted = 0;    /* the key column's name was written in "" */
  int rc = SQLITE_OK;
  int i = 3;

  memset(pArgs, 0, sizeof(*pArgs));
  if( argc < 3 ) return SQLITE_MISUSE;
  memset(&sP, 0, sizeof(sP));
  lsm_options_default(&pArgs->opt);    /* the engine's defaults are the table's */
  sP.pArgs = pArgs;
  sP.pzErr = pzErr;
  sP.pSchema = sqlite3_str_new(db);
  sqlite3_str_appendall(sP.pSchema, "CREATE TABLE x(");

  /* 1. A first argument that is a single-quoted string is the path. */
  if( argc > 3 ){
    zArg = args_trim(argv[3]);
    if( zArg == NULL ){
      rc = SQLITE_NOMEM;
    }else if( zArg[0] == '\'' ){
      int n = args_quoted_len(zArg);
      if( n == 0 || zArg[n] != 0 ){
        rc = args_error(&sP, "bad store path: %s", zArg, NULL);
      }else if( (zPath = args_unquote(zArg, n)) == NULL ){
        rc = SQLITE_NOMEM;
      }
      i = 4;
    }
    sqlite3_free(zArg);
    zArg = NULL;
  }

  /* 2, 3. Options and columns. */
  for(; rc == SQLITE_OK && i < argc; i++){
    const char *zEq;
    zArg = args_trim(argv[i]);
    if( zArg == NULL ){ rc = SQLITE_NOMEM; break; }
    zEq = args_skip_space(zArg + args_ident_len(zArg));
    if( zArg[0] == 0 ){
      rc = args_error(&sP, "empty argument", NULL, NULL);
    }else if( zArg[0] == '\'' ){
      rc = args_error(&sP, "the store path must be the first argument: %s", zArg, NULL);
    }else if( args_ident_len(zArg) > 0 && *zEq == '=' ){
      rc = args_parse_option(&sP, zArg);
    }else if( zArg[strcspn(zArg, "='\"`[(")] == '=' && zArg[0] != '=' ){
      rc = args_bad_option_name(&sP, zArg);
    }else{
      if( pArgs->nCol == 0 ) bKeyQuoted = zArg[0] == '"';
      rc = args_parse_column(&sP, zArg);
    }
    sqlite3_free(zArg);
    zArg = NULL;
  }

  /* Default columns; a key alone is refused (ext_args.nCol >= 2). */
  if( rc == SQLITE_OK && pArgs->nCol == 0 ){
    rc = args_parse_column(&sP, "key");
    if( rc == SQLITE_OK ) rc = args_parse_column(&sP, "value");
  }else if( rc == SQLITE_OK && pArgs->nCol == 1 && bKeyQuoted ){
    /* lsm("x.lsm"): a double-quoted name is a column in SQL. */
    rc = args_error(&sP, "the key column '%s' needs at least one value column"
                    " (a store path is a string in single quotes: '%s')",
                    pArgs->azCol[0], pArgs->azCol[0]);
  }else if( rc == SQLITE_OK && pArgs->nCol == 1 ){
    rc = args_error(&sP, "the key column '%s' needs at least one value column",
                    pArgs->azCol[0], NULL);
  }
  if( rc == SQLITE_OK ) rc = args_resolve_path(&sP, db, argv[1], argv[2], zPath);
  if( rc == SQLITE_OK ){
    /* The hidden _rowid_ (vtab.c), unless a column has the name. */
    for(i = 0; i < pArgs->nCol && sqlite3_stricmp(pArgs->azCol[i], "_rowid_") != 0; i++){}
    if( i == pArgs->nCol ){
      pArgs->bRowidCol = 1;
      sqlite3_str_appendall(sP.pSchema, ", \"_rowid_\" HIDDEN");
    }
  }

  sqlite3_str_appendall(sP.pSchema, ") WITHOUT ROWID");
  pArgs->zSchema = sqlite3_str_finish(sP.pSchema);
  if( rc == SQLITE_OK && pArgs->zSchema == NULL ) rc = SQLITE_NOMEM;
  sqlite3_free(zPath);
  if( rc != SQLITE_OK ) args_clear(pArgs);
  return rc;
}

/*
** Bytes of the token at z of a stored CREATE statement: white space or a
** comment (-- to the end of the line, slash-star to star-slash), a quoted
** token, an identifier or keyword, or else one character.  0 at the end.
*/
static int args_sql_token_len(const char *z, int *pbSpace){
  int n;
  *pbSpace = 0;
  if( z[0] == 0 ) return 0;
  if( args_is_space(z[0]) ){
    for(n = 1; args_is_space(z[n]); n++){}
    *pbSpace = 1;
    return n;
  }
  if( z[0] == '-' && z[1] == '-' ){
    for(n = 2; z[n] && z[n] != '\n'; n++){}
    *pbSpace = 1;
    return n;
  }
  if( z[0] == '/' && z[1] == '*' ){
    for(n = 2; z[n] && !(z[n] == '*' && z[n+1] == '/'); n++){}
    *pbSpace = 1;
    return z[n] ? n + 2 : n;
  }
  if( (n = args_quoted_len(z)) > 0 ) return n;
  if( z[0] == '\'' || z[0] == '"' || z[0] == '`' || z[0] == '[' ) return (int)strlen(z);
  if( (n = args_ident_len(z)) > 0 ) return n;
  return 1;
}

int args_parse_sql(sqlite3 *db, const char *zDb, const char *zTable, const char *zSql,
                   ext_args *pArgs, char **pzErr){
  const char *z = zSql ? zSql : "";
  const char **azArgv = NULL;
  int nArgv = 3, nAlloc = 0;
  int bUsing = 0;       /* the previous token was USING */
  int bModule = 0;      /* the module name was lsm */
  int rc = SQLITE_NOTFOUND;
  int n, bSpace;

  memset(pArgs, 0, sizeof(*pArgs));
  /* Find "USING <module>" at the token level (a quoted name may hold it). */
  for(; (n = args_sql_token_len(z, &bSpace)) > 0; z += n){
    if( bSpace ) continue;
    if( bUsing ){
      char *zModule = (z[0] == '"' || z[0] == '`' || z[0] == '[') ? args_unquote(z, n)
                                                                 : sqlite3_mprintf("%.*s", n, z);
      if( zModule == NULL ) return SQLITE_NOMEM;
      bModule = sqlite3_stricmp(zModule, "lsm") == 0;
      sqlite3_free(zModule);
      z += n;
      break;
    }
    bUsing = n == 5 && sqlite3_strnicmp(z, "USING", 5) == 0;
  }
  if( !bModule ) return SQLITE_NOTFOUND;

  /* The arguments: the text between top-level commas inside ( ), as
  ** SQLite hands them to xConnect.  Copies live in one string. */
  {
    char *zCopy = NULL;
    int iDepth = 0;
    char *zArg;
    while( (n = args_sql_token_len(z, &bSpace)) > 0 && bSpace ) z += n;
    if( *z == '(' ){
      zCopy = sqlite3_mprintf("%s", z + 1);
      if( zCopy == NULL ) return SQLITE_NOMEM;
      zArg = zCopy;
      for(z = zCopy; (n = args_sql_token_len(z, &bSpace)) > 0; z += n){
        char c = bSpace ? ' ' : z[0];
        if( n == 1 && c == '(' ) iDepth++;
        if( n == 1 && (c == ',' || c == ')') && iDepth == 0 ){
          if( nArgv + 1 > nAlloc ){
            const char **azNew;
            nAlloc = nAlloc ? nAlloc * 2 : 16;
            azNew = sqlite3_realloc64(azArgv, sizeof(char*) * (sqlite3_uint64)nAlloc);
            if( azNew == NULL ){ rc = SQLITE_NOMEM; break; }
            azArgv = azNew;
          }
          *(char*)z = 0;
          if( c == ')' && nArgv == 3 && *args_skip_space(zArg) == 0 ) break;   /* lsm() */
          azArgv[nArgv++] = zArg;
          zArg = (char*)z + 1;
          if( c == ')' ) break;
          continue;
        }
        if( n == 1 && c == ')' ) iDepth--;
      }
    }
    if( rc == SQLITE_NOMEM ){
      sqlite3_free(zCopy);
      sqlite3_free(azArgv);
      return rc;
    }
    if( azArgv == NULL ){
      azArgv = sqlite3_malloc(sizeof(char*) * 3);
      if( azArgv == NULL ){ sqlite3_free(zCopy); return SQLITE_NOMEM; }
    }
    azArgv[0] = "lsm";
    azArgv[1] = zDb;
    azArgv[2] = zTable;
    rc = args_parse(db, nArgv, azArgv, pArgs, pzErr);
    sqlite3_free(zCopy);
    sqlite3_free(azArgv);
  }
  return rc;
}

void args_clear(ext_args *pArgs){
  int i;
  for(i = 0; i < pArgs->nCol; i++) sqlite3_free(pArgs->azCol[i]);
  sqlite3_free(pArgs->azCol);
  sqlite3_free(pArgs->zDir);
  sqlite3_free(pArgs->zSchema);
  memset(pArgs, 0, sizeof(*pArgs));
}
