-- test_errors.sql — every bad input gets its exact error and changes
-- nothing: NULL keys, keys and rows too large, bad CREATE arguments, bad
-- store paths, readonly=on, a store locked by another process, DROP TABLE
-- inside a transaction, a corrupt file.
--
-- Run by tests/run_sql.sh: sqlite3 -bail -batch test.db ".load $LSM_SO" ".read <this>"
--
-- How an error is asserted.  Any failing statement makes this shell's exit
-- status non-zero, which tests/run_sql.sh counts as a failure, so each
-- case that expects an error is a script in table child(name, sql) that
-- `.system sh run.sh NAME [DB]` runs in a child sqlite3 over database DB
-- (default NAME.db) with the lsm.so under test ($LSM_SO, which
-- tests/run_sql.sh exports).  The child reads the script on stdin, so it
-- goes on after an error; its stdout and stderr land in NAME.out and
-- NAME.err, which the checks read back.  Each case
-- checks the exact message ("#" in a .check pattern matches a number: the
-- script line) and then what the table holds afterwards.
.mode list
.headers off
CREATE TABLE child(name TEXT PRIMARY KEY, sql TEXT NOT NULL);
.output /dev/null
SELECT writefile('run.sh',
  'sqlite3 test.db "SELECT sql FROM child WHERE name = ''$1''" |' || char(10) ||
  'sqlite3 -batch -cmd ".load $LSM_SO" "${2:-$1.db}" > "$1.out" 2> "$1.err"' || char(10) ||
  'exit 0' || char(10));
.output

-- ---- keys and rows ----

INSERT INTO child VALUES ('null_key', '
CREATE VIRTUAL TABLE kv USING lsm;
INSERT INTO kv VALUES (1, ''one'');
INSERT INTO kv VALUES (NULL, ''x'');
UPDATE kv SET key = NULL WHERE key = 1;
REPLACE INTO kv VALUES (NULL, ''y'');
SELECT key, value FROM kv;
');
.system sh run.sh null_key

.testcase a_null_key_is_a_not_null_constraint_error
SELECT readfile('null_key.err');
.check "Runtime error near line #: NOT NULL constraint failed: kv.key (19) Runtime error near line #: NOT NULL constraint failed: kv.key (19) Runtime error near line #: NOT NULL constraint failed: kv.key (19)"

.testcase a_null_key_changes_nothing
SELECT readfile('null_key.out');
.check "1|one"

INSERT INTO child VALUES ('null_in_row_50', '
CREATE VIRTUAL TABLE kv USING lsm;
INSERT INTO kv VALUES (0, ''before'');
INSERT INTO kv SELECT CASE WHEN value = 50 THEN NULL ELSE value END, ''new'' FROM generate_series(1, 100);
SELECT count(*), group_concat(value) FROM kv;
BEGIN;
INSERT INTO kv VALUES (-1, ''in txn'');
INSERT INTO kv SELECT CASE WHEN value = 50 THEN NULL ELSE value END, ''new'' FROM generate_series(1, 100);
SELECT count(*), group_concat(value) FROM kv;
COMMIT;
SELECT count(*), group_concat(value) FROM kv;
');
.system sh run.sh null_in_row_50

.testcase a_null_key_in_row_50_of_100_fails_the_statement
SELECT readfile('null_in_row_50.err');
.check "Runtime error near line #: NOT NULL constraint failed: kv.key (19) Runtime error near line #: NOT NULL constraint failed: kv.key (19)"

.testcase a_failed_statement_leaves_no_partial_effect_in_or_out_of_a_transaction
SELECT readfile('null_in_row_50.out');
.check "1|before 2|in txn,before 2|in txn,before"

INSERT INTO child VALUES ('key_too_large', '
CREATE VIRTUAL TABLE kv USING lsm;
INSERT INTO kv VALUES (zeroblob(65536), ''largest blob key'');
INSERT INTO kv VALUES (printf(''%.*c'', 65536, ''k''), ''largest text key'');
INSERT INTO kv VALUES (zeroblob(65537), ''x'');
INSERT INTO kv VALUES (printf(''%.*c'', 65537, ''k''), ''x'');
UPDATE kv SET key = zeroblob(70000) WHERE value = ''largest blob key'';
SELECT length(key), value FROM kv;
');
.system sh run.sh key_too_large

.testcase a_key_over_64_kib_is_too_big
SELECT readfile('key_too_large.err');
.check "Runtime error near line #: key too large: 65537 bytes (the limit is 65536) (18) Runtime error near line #: key too large: 65537 bytes (the limit is 65536) (18) Runtime error near line #: key too large: 70000 bytes (the limit is 65536) (18)"

.testcase keys_of_exactly_64_kib_are_stored_and_too_large_ones_change_nothing
SELECT readfile('key_too_large.out');
.check "65536|largest text key 65536|largest blob key"

INSERT INTO child VALUES ('row_too_large', '
CREATE VIRTUAL TABLE kv USING lsm;
INSERT INTO kv VALUES (1, ''small'');
INSERT INTO kv VALUES (2, zeroblob(268435457));
UPDATE kv SET value = zeroblob(268435457) WHERE key = 1;
SELECT key, value FROM kv;
');
.system sh run.sh row_too_large

.testcase a_row_over_256_mib_is_too_big
SELECT readfile('row_too_large.err');
.check "Runtime error near line #: row too large for kv: the limit is 268435456 bytes (18) Runtime error near line #: row too large for kv: the limit is 268435456 bytes (18)"

.testcase a_row_too_large_changes_nothing
SELECT readfile('row_too_large.out');
.check "1|small"

-- ---- CREATE arguments and store paths ----

INSERT INTO child VALUES ('bad_create', '
CREATE VIRTUAL TABLE a USING lsm(nope=1);
CREATE VIRTUAL TABLE b USING lsm(sync=maybe);
CREATE VIRTUAL TABLE c USING lsm(memtable_mb=-1);
CREATE VIRTUAL TABLE d USING lsm(sync=off, sync=full);
CREATE VIRTUAL TABLE e USING lsm(max_open_tables=15);
CREATE VIRTUAL TABLE f USING lsm(bloom-bits=10);
CREATE VIRTUAL TABLE g USING lsm("g.lsm");
SELECT count(*) FROM sqlite_schema;
SELECT count(*) FROM fsdir(''.'') WHERE name LIKE ''./bad_create.db-%'';
');
.system sh run.sh bad_create

.testcase bad_create_arguments_name_the_argument
SELECT readfile('bad_create.err');
.check "Runtime error near line #: unknown option 'nope' Runtime error near line #: bad value for sync: maybe (expected off, normal or full) Runtime error near line #: bad value for memtable_mb: -1 (expected a decimal from 0.0625 to 65536) Runtime error near line #: option 'sync' given twice Runtime error near line #: bad value for max_open_tables: 15 (expected an integer from 16 to 1000000) Runtime error near line #: unknown option 'bloom-bits' (did you mean bloom_bits?) Runtime error near line #: the key column 'g.lsm' needs at least one value column (a store path is a string in single quotes: 'g.lsm')"

.testcase bad_create_arguments_create_no_table_and_no_store
SELECT readfile('bad_create.out');
.check "0 0"

INSERT INTO child VALUES ('bad_path', '
SELECT writefile(''afile'', ''x'') > 0;
SELECT writefile(''notastore/readme'', ''x'') > 0;
CREATE VIRTUAL TABLE a USING lsm(''afile'');
CREATE VIRTUAL TABLE b USING lsm(''notastore'');
CREATE VIRTUAL TABLE c USING lsm(''missing/parent/store'');
SELECT count(*) FROM sqlite_schema;
SELECT group_concat(name, '' '') FROM (SELECT name FROM fsdir(''notastore'') ORDER BY name);
SELECT count(*) FROM fsdir(''.'') WHERE name = ''./missing'';
');
.system sh run.sh bad_path

.testcase a_path_that_is_a_file_or_a_foreign_directory_or_has_no_parent_is_refused
SELECT readfile('bad_path.err');
.check "Runtime error near line #: */afile is a file, not a store directory (14) Runtime error near line #: */notastore is not an lsm store: the directory is not empty and has no MANIFEST (14) Runtime error near line #: cannot create directory */missing/parent/store: No such file or directory (14)"

.testcase a_refused_path_is_left_as_it_was
SELECT readfile('bad_path.out');
.check "1 1 0 notastore notastore/readme 0"

-- ---- readonly=on ----

INSERT INTO child VALUES ('readonly', '
CREATE VIRTUAL TABLE missing USING lsm(''ro_missing.lsm'', readonly=on);
CREATE VIRTUAL TABLE w USING lsm(''ro.lsm'');
INSERT INTO w VALUES (1, ''one'');
CREATE VIRTUAL TABLE r USING lsm(''ro.lsm'', readonly=on);
INSERT INTO r VALUES (2, ''two'');
UPDATE r SET value = ''changed'';
DELETE FROM r;
SELECT lsm_compact(''r'');
SELECT key, value FROM r;
');
.system sh run.sh readonly

.testcase writes_to_a_readonly_table_are_refused
SELECT readfile('readonly.err');
.check "Runtime error near line #: store directory */ro_missing.lsm does not exist (14) Runtime error near line #: cannot modify r: the table was opened with readonly=on (8) Runtime error near line #: cannot modify r: the table was opened with readonly=on (8) Runtime error near line #: cannot modify r: the table was opened with readonly=on (8) Runtime error near line #: lsm_compact: cannot modify r: the table was opened with readonly=on (8)"

.testcase a_readonly_table_reads_and_is_unchanged
SELECT readfile('readonly.out');
.check "1|one"

INSERT INTO child VALUES ('readonly_first', '
CREATE VIRTUAL TABLE w USING lsm(''rofirst.lsm'');
INSERT INTO w VALUES (1, ''one'');
');
INSERT INTO child VALUES ('readonly_first_2', '
CREATE VIRTUAL TABLE r USING lsm(''rofirst.lsm'', readonly=on);
SELECT count(*) FROM r;
CREATE VIRTUAL TABLE w2 USING lsm(''rofirst.lsm'');
');
.system sh run.sh readonly_first
.system sh run.sh readonly_first_2

.testcase a_writer_cannot_share_a_store_this_process_opened_readonly
SELECT readfile('readonly_first_2.out'), readfile('readonly_first_2.err');
.check "1 |Runtime error near line #: store */rofirst.lsm is open read-only in this process (readonly=on, or a read-only database) (8)"

-- ---- PRAGMA query_only ----

-- Writes are refused as for a native table; lsm_flush and lsm_compact of
-- a table in the database file, which write its shadow tables, are
-- refused saying why (the message was "not an error": the rollback of
-- the work's savepoint had replaced it).  Both kinds of store.
INSERT INTO child VALUES ('query_only', '
CREATE VIRTUAL TABLE kv USING lsm;
CREATE VIRTUAL TABLE dv USING lsm(''query_only_dv.lsm'');
INSERT INTO kv VALUES (1, ''one'');
INSERT INTO dv VALUES (1, ''one'');
PRAGMA query_only = 1;
INSERT INTO kv VALUES (2, ''two'');
INSERT INTO dv VALUES (2, ''two'');
SELECT lsm_flush(''kv'');
SELECT lsm_compact(''kv'');
PRAGMA query_only = 0;
SELECT key, value FROM kv;
SELECT key, value FROM dv;
');
.system sh run.sh query_only

.testcase query_only_refuses_writes_and_lsm_work_in_the_database_saying_why
SELECT readfile('query_only.err');
.check "Runtime error near line #: attempt to write a readonly database (8) Runtime error near line #: attempt to write a readonly database (8) Runtime error near line #: lsm_flush(kv): main.kv_file: write lock: attempt to write a readonly database (8) Runtime error near line #: lsm_compact(kv): main.kv_file: write lock: attempt to write a readonly database (8)"

.testcase query_only_changes_nothing
SELECT readfile('query_only.out');
.check "1|one 1|one"

-- ---- a store locked by another process ----

CREATE VIRTUAL TABLE kv USING lsm('test.db-kv.lsm');
INSERT INTO kv VALUES ('mine', 1);
INSERT INTO child VALUES ('locked', '
SELECT * FROM kv;
CREATE VIRTUAL TABLE other USING lsm(''test.db-kv.lsm'', readonly=on);
INSERT INTO kv VALUES (''theirs'', 2);
');
.system sh run.sh locked test.db

.testcase another_process_gets_sqlite_busy_naming_the_lock
SELECT readfile('locked.err');
.check "Parse error near line #: the store is locked by another process (lock file */test.db-kv.lsm/LOCK) (5) Runtime error near line #: the store is locked by another process (lock file */test.db-kv.lsm/LOCK) (5) Parse error near line #: the store is locked by another process (lock file */test.db-kv.lsm/LOCK) (5)"

.testcase a_busy_store_is_unchanged
SELECT group_concat(key || '=' || value) FROM kv;
.check "mine=1"

-- ---- DROP TABLE inside a transaction: ROLLBACK and ROLLBACK TO undo it ----

INSERT INTO child VALUES ('drop_in_txn', '
CREATE VIRTUAL TABLE kv USING lsm(''drop_in_txn.db-kv.lsm'');
INSERT INTO kv VALUES (1, ''one'');
BEGIN;
DROP TABLE kv;
ROLLBACK;
SAVEPOINT s;
DROP TABLE kv;
ROLLBACK TO s;
RELEASE s;
SELECT key, value FROM kv;
SELECT count(*) > 0 FROM fsdir(''drop_in_txn.db-kv.lsm'');
');
.system sh run.sh drop_in_txn

.testcase drop_table_inside_a_transaction_can_be_rolled_back
SELECT coalesce(length(readfile('drop_in_txn.err')), 0);
.check "0"

.testcase a_rolled_back_drop_keeps_the_table_and_its_files
SELECT readfile('drop_in_txn.out');
.check "1|one 1"

-- ---- a corrupt file ----

INSERT INTO child VALUES ('corrupt', '
CREATE VIRTUAL TABLE kv USING lsm(''corrupt.lsm'');
INSERT INTO kv VALUES (1, ''one'');
SELECT lsm_flush(''kv'') IS NOT NULL;
');
INSERT INTO child VALUES ('corrupt_2', '
SELECT * FROM kv;
SELECT lsm_check(''kv'');
');
.system sh run.sh corrupt
.output /dev/null
SELECT writefile(name, zeroblob(200)) FROM fsdir('corrupt.lsm') WHERE name LIKE '%.sst';
.output
.system sh run.sh corrupt_2 corrupt.db

.testcase a_corrupt_sstable_is_sqlite_corrupt_naming_the_file
SELECT readfile('corrupt_2.err');
.check "Runtime error near line #: */corrupt.lsm/#.sst: footer: bad magic number (not an SSTable, or truncated) (11) Runtime error near line #: lsm_check(kv): */corrupt.lsm/#.sst: footer: bad magic number (not an SSTable, or truncated) (11)"

INSERT INTO child VALUES ('corrupt_3', '
DROP TABLE kv;
SELECT count(*) FROM sqlite_schema;
');
.system sh run.sh corrupt_3 corrupt.db

.testcase a_store_that_will_not_open_can_still_be_dropped
SELECT readfile('corrupt_3.err') || readfile('corrupt_3.out'),
       (SELECT count(*) FROM fsdir('.') WHERE name LIKE './corrupt.lsm%');
.check "0 |0"

-- ---- a missing store directory ----

INSERT INTO child VALUES ('missing_dir', '
CREATE VIRTUAL TABLE kv USING lsm(''gone.lsm'');
INSERT INTO kv VALUES (1, ''one'');
');
INSERT INTO child VALUES ('missing_dir_2', '
SELECT * FROM kv;
INSERT INTO kv VALUES (2, ''two'');
DROP TABLE kv;
SELECT count(*) FROM sqlite_schema;
');
.system sh run.sh missing_dir
.system rm -r gone.lsm
.system sh run.sh missing_dir_2 missing_dir.db

.testcase a_missing_store_directory_is_an_error_naming_it_never_an_empty_table
SELECT readfile('missing_dir_2.err'), readfile('missing_dir_2.out'),
       (SELECT count(*) FROM fsdir('.') WHERE name = './gone.lsm');
.check "Runtime error near line #: store directory */gone.lsm does not exist (14) Runtime error near line #: store directory */gone.lsm does not exist (14) |0 |0"

-- ---- copies, moves and shared stores (OWNERS) ----

INSERT INTO child VALUES ('orig', '
CREATE VIRTUAL TABLE kv USING lsm(''shared_by_copy.lsm'');
INSERT INTO kv VALUES (1, ''original'');
');
INSERT INTO child VALUES ('copy', '
SELECT * FROM kv;
INSERT INTO kv VALUES (2, ''from the copy'');
DROP TABLE kv;
');
INSERT INTO child VALUES ('orig_2', '
SELECT group_concat(key || ''='' || value) FROM kv;
');
.system sh run.sh orig
.system cp orig.db copy.db
.system sh run.sh copy
.system sh run.sh orig_2 orig.db

.testcase a_copy_of_a_database_never_writes_into_the_originals_store
SELECT readfile('copy.err');
.check "Runtime error near line #: lsm table kv: the store */shared_by_copy.lsm belongs to table kv of database */orig.db, and this database (*/copy.db) is not one of its users: a copy of that database? Give this copy a copy of the store (copy the directory with both databases closed) and name it in a new table, or DROP TABLE kv here (which leaves the store alone) (14) Runtime error near line #: lsm table kv: the store */shared_by_copy.lsm belongs to table kv of database */orig.db, and this database (*/copy.db) is not one of its users: a copy of that database? Give this copy a copy of the store (copy the directory with both databases closed) and name it in a new table, or DROP TABLE kv here (which leaves the store alone) (14)"

.testcase dropping_the_copy_leaves_the_originals_store
SELECT readfile('orig_2.out');
.check "1=original"

INSERT INTO child VALUES ('moved', '
SELECT group_concat(key || ''='' || value) FROM kv;
INSERT INTO kv VALUES (3, ''after the move'');
SELECT count(*) FROM kv;
');
.system mkdir moved
.system mv orig.db moved/orig.db
.system mv shared_by_copy.lsm moved/shared_by_copy.lsm
.system sh run.sh moved moved/orig.db

.testcase a_database_moved_with_its_store_takes_it_along
SELECT readfile('moved.err') || readfile('moved.out');
.check "1=original 2"

INSERT INTO child VALUES ('two_defs', '
CREATE VIRTUAL TABLE a USING lsm(''two.lsm'');
CREATE VIRTUAL TABLE b USING lsm(''two.lsm'');
CREATE VIRTUAL TABLE r USING lsm(''two.lsm'', readonly=on);
INSERT INTO a VALUES (1, ''kept'');
');
INSERT INTO child VALUES ('two_defs_2', '
DROP TABLE r;
DROP TABLE b;
SELECT group_concat(value) FROM a;
ALTER TABLE a RENAME TO a2;
SELECT group_concat(value) FROM a2;
DROP TABLE a2;
');
.system sh run.sh two_defs
.system sh run.sh two_defs_2 two_defs.db

.testcase dropping_one_of_two_definitions_or_a_readonly_one_keeps_the_store
SELECT readfile('two_defs_2.err') || readfile('two_defs_2.out'),
       (SELECT count(*) FROM fsdir('.') WHERE name = './two.lsm');
.check "kept kept |0"
