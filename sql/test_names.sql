-- test_names.sql — names as SQLite reads them: a bare table name given to
-- the functions means the table a query of that name reads (temp, main,
-- then attached schemas in order); lsm_flush() and lsm_compact() find
-- every lsm table whatever the spelling of USING lsm; user objects named
-- like lsm's internal ones (pragma_database_list, lsm_pending, <t>_log)
-- break nothing silently; table names holding a line break; ALTER TABLE
-- RENAME onto a taken shadow name; a ':memory:' store in a file database
-- reopened.
--
-- Run by tests/run_sql.sh: sqlite3 -bail -batch test.db ".load $LSM_SO" ".read <this>"
-- Expected errors run in a child sqlite3 (see test_errors.sql for why and how).
.mode list
.headers off
CREATE TABLE child(name TEXT PRIMARY KEY, sql TEXT NOT NULL);
.output /dev/null
SELECT writefile('run.sh',
  'sqlite3 test.db "SELECT sql FROM child WHERE name = ''$1''" |' || char(10) ||
  'sqlite3 -batch -cmd ".load $LSM_SO" "${2:-$1.db}" > "$1.out" 2> "$1.err"' || char(10) ||
  'exit 0' || char(10));
.output

-- ---- a bare name resolves as SQLite resolves it ----

INSERT INTO child VALUES ('resolve', '
ATTACH ''resolve_a1.db'' AS a1;
ATTACH ''resolve_a2.db'' AS a2;
CREATE VIRTUAL TABLE a1.kv USING lsm;
CREATE VIRTUAL TABLE a2.kv USING lsm;
INSERT INTO a1.kv VALUES (''in-a1'', 1);
INSERT INTO a2.kv VALUES (''in-a2'', 2);
SELECT ''query'', key FROM kv;
SELECT ''flush'', (SELECT group_concat(value, '' '') FROM json_each(lsm_flush(''kv''), ''$.tables''));
SELECT ''files'', smallest FROM lsm_files(''kv'');
SELECT ''stats'', json_extract(lsm_stats(''kv''), ''$.table'');
CREATE TABLE main.t(x);
CREATE VIRTUAL TABLE a1.t USING lsm;
SELECT ''compact t'', lsm_compact(''t'');
SELECT ''compact a1.t'', (SELECT group_concat(value, '' '') FROM json_each(lsm_compact(''a1.t''), ''$.tables''));
CREATE VIRTUAL TABLE temp.kv USING lsm;
SELECT ''temp first'', (SELECT group_concat(value, '' '') FROM json_each(lsm_flush(''KV''), ''$.tables''));
');
.system sh run.sh resolve

.testcase a_bare_name_is_the_table_a_query_of_that_name_reads
SELECT readfile('resolve.out');
.check "query|in-a1 flush|a1.kv files|in-a1 stats|a1.kv compact a1.t|a1.t temp first|temp.kv"

.testcase an_lsm_table_hidden_by_a_native_table_of_an_earlier_schema_is_not_named
SELECT readfile('resolve.err');
.check "Runtime error near line #: lsm_compact: no such lsm table: t"

-- ---- lsm_flush() and lsm_compact() find every spelling of USING lsm ----

INSERT INTO child VALUES ('spelling', '
CREATE VIRTUAL TABLE a USING "lsm";
CREATE VIRTUAL TABLE b USING [lsm];
CREATE VIRTUAL TABLE c USING  lsm;
CREATE VIRTUAL TABLE d USING
  LSM;
CREATE VIRTUAL TABLE e USING lsm;
CREATE VIRTUAL TABLE f USING lsmx_not_this_one;
SELECT (SELECT group_concat(value, '' '') FROM json_each(lsm_flush(), ''$.tables''));
SELECT (SELECT group_concat(value, '' '') FROM json_each(lsm_compact(), ''$.tables''));
');
.system sh run.sh spelling

.testcase every_spelling_of_using_lsm_is_flushed_and_compacted
SELECT readfile('spelling.out');
.check "main.a main.b main.c main.d main.e main.a main.b main.c main.d main.e"

.testcase another_module_is_left_alone
SELECT readfile('spelling.err');
.check "Runtime error near line #: no such module: lsmx_not_this_one"

-- ---- a table named pragma_database_list ----

INSERT INTO child VALUES ('pragma_table', '
CREATE VIRTUAL TABLE kv USING lsm;
INSERT INTO kv VALUES (1, 1);
CREATE TABLE pragma_database_list(name);
SELECT 1, (SELECT group_concat(value, '' '') FROM json_each(lsm_flush(), ''$.tables''));
INSERT INTO pragma_database_list VALUES (''nosuch'');
SELECT 2, (SELECT group_concat(value, '' '') FROM json_each(lsm_compact(), ''$.tables''));
SELECT 3, key, value FROM kv;
');
.system sh run.sh pragma_table

.testcase a_table_named_pragma_database_list_hides_nothing_from_the_functions
SELECT readfile('pragma_table.out') || readfile('pragma_table.err');
.check "1|main.kv 2|main.kv 3|1|1"

-- ---- a table named lsm_pending ----

-- DROP TABLE of a directory store joins the transaction through lsm's
-- eponymous table lsm_pending, which a user's main.lsm_pending hides: the
-- DROP is refused whole (SQLite passes no message from xDestroy; the
-- reason goes to sqlite3_log), the user's table is not written, and the
-- store still works; once the name is free the DROP goes through.
INSERT INTO child VALUES ('pending_table', '
CREATE TABLE lsm_pending(op, tbl, store);
CREATE VIRTUAL TABLE kd USING lsm(''pending-kd.lsm'');
INSERT INTO kd VALUES (1, 1);
DROP TABLE kd;
SELECT 1, count(*) FROM lsm_pending;
SELECT 2, key, value FROM kd;
ALTER TABLE lsm_pending RENAME TO mine;
DROP TABLE kd;
SELECT 3, count(*) FROM sqlite_schema WHERE name LIKE ''kd%'';
CREATE VIRTUAL TABLE kd2 USING lsm(''pending-kd.lsm'');
SELECT 4, count(*) FROM kd2;
');
.system sh run.sh pending_table

.testcase a_drop_that_cannot_reach_lsm_pending_is_refused_and_changes_nothing
SELECT readfile('pending_table.err') || readfile('pending_table.out');
.check "Runtime error near line #: SQL logic error 1|0 2|1|1 3|0 4|0"

-- ---- a name holding a line break ----

INSERT INTO child VALUES ('newline_make', '
CREATE VIRTUAL TABLE "a
b" USING lsm(''newline.lsm'');
INSERT INTO "a
b" VALUES (1, 1);
');
INSERT INTO child VALUES ('newline_reopen', '
SELECT 1, key, value FROM "a
b";
DROP TABLE "a
b";
SELECT 2, count(*) FROM sqlite_schema;
');
.system sh run.sh newline_make newline.db

.testcase its_owners_file_escapes_the_name_after_a_first_line_saying_so
SELECT readfile('newline_make.err') || readfile('newline_make.out'),
       substr(o, 1, 9) = 'OWNERS 2' || char(10), instr(o, char(9) || 'a\nb' || char(10)) > 0
  FROM (SELECT CAST(readfile('newline.lsm/OWNERS') AS TEXT) AS o);
.check "|1|1"

.system sh run.sh newline_reopen newline.db

.testcase a_directory_store_named_with_a_line_break_reopens_and_drops
SELECT readfile('newline_reopen.err') || readfile('newline_reopen.out');
.check "1|1|1 2|0"

-- ---- ALTER TABLE RENAME onto a taken shadow name ----

INSERT INTO child VALUES ('rename_taken', '
CREATE VIRTUAL TABLE a USING lsm;
INSERT INTO a VALUES (1, 1);
CREATE TABLE b_log(x);
ALTER TABLE a RENAME TO b;
SELECT 1, key, value FROM a;
INSERT INTO a VALUES (2, 2);
SELECT 2, count(*) FROM a;
SELECT 3, lsm_check(''a'');
');
.system sh run.sh rename_taken

.testcase a_rename_onto_a_taken_shadow_name_says_so_and_keeps_the_table
SELECT readfile('rename_taken.err') || readfile('rename_taken.out');
.check "Runtime error near line #: there is already another table or index with this name: b_log 1|1|1 2|2 3|ok"

-- ---- a ':memory:' store in a file database ----

INSERT INTO child VALUES ('memory_make', '
CREATE VIRTUAL TABLE mem USING lsm('':memory:'');
CREATE VIRTUAL TABLE kv USING lsm;
INSERT INTO mem VALUES (1, 1);
SELECT 1, count(*) FROM mem;
');
INSERT INTO child VALUES ('memory_reopen', '
SELECT 2, count(*) FROM mem;
INSERT INTO mem VALUES (2, 2);
SELECT 3, key FROM mem;
SELECT 4, (SELECT group_concat(value, '' '') FROM json_each(lsm_flush(), ''$.tables''));
SELECT 5, (SELECT group_concat(value, '' '') FROM json_each(lsm_compact(), ''$.tables''));
');
.system sh run.sh memory_make memory.db
.system sh run.sh memory_reopen memory.db

.testcase a_memory_store_reopened_is_a_new_empty_private_store
SELECT readfile('memory_make.out') || readfile('memory_make.err')
       || readfile('memory_reopen.out') || readfile('memory_reopen.err');
.check "1|1 2|0 3|2 4|main.mem main.kv 5|main.mem main.kv"
