-- test_compact.sql — lsm_compact() merges everything into one sorted run:
-- every live row stays, deleted and superseded entries go; with no
-- argument it compacts every lsm table of every attached schema, also the
-- ones this connection has not used yet, once per store.
--
-- Run by tests/run_sql.sh: sqlite3 -bail -batch test.db ".load $LSM_SO" ".read <this>"
.mode list
.headers off
-- lib.txt: the lsm.so under test ($LSM_SO, exported by tests/run_sql.sh),
-- for load_extension() after .open.
.system printf '%s' "$LSM_SO" > lib.txt

-- A small memtable and no background thread, so that the tree has
-- several files in a known place when lsm_compact runs.
.output /dev/null
CREATE VIRTUAL TABLE kv USING lsm('test.db-kv.lsm', memtable_mb=0.0625, background=off);
INSERT INTO kv SELECT value, printf('first %d', value) FROM generate_series(1, 1000);
INSERT INTO kv SELECT value, printf('second %d', value) FROM generate_series(501, 1500);
SELECT lsm_flush('kv') IS NOT NULL;
DELETE FROM kv WHERE key % 3 = 0;
INSERT INTO kv SELECT value, printf('third %d', value) FROM generate_series(1400, 2000);
DELETE FROM kv WHERE key BETWEEN 1900 AND 1950;
SELECT lsm_flush('kv') IS NOT NULL;
.output
CREATE TEMP TABLE before AS SELECT key, value FROM kv;

.testcase the_tree_has_several_files_and_tombstones_before
SELECT count(*) > 1, sum(tombstones) > 0 FROM lsm_files('kv');
.check "1|1"

.testcase compaction_reports_what_it_merged_and_dropped
SELECT json_extract(r, '$.tables[0]'), json_array_length(r, '$.tables'), json_extract(r, '$.entries_after'),
       json_extract(r, '$.entries_before') > json_extract(r, '$.entries_after'),
       json_extract(r, '$.tombstones_dropped') > 0,
       json_extract(r, '$.bytes_after') > 0, json_extract(r, '$.ms') >= 0
  FROM (SELECT lsm_compact('kv') AS r);
.check "main.kv|1|1483|1|1|1|1"

.testcase compaction_keeps_every_live_row_exactly
SELECT count(*) FROM kv;
SELECT count(*) FROM (SELECT key, value FROM kv EXCEPT SELECT key, value FROM before);
SELECT count(*) FROM (SELECT key, value FROM before EXCEPT SELECT key, value FROM kv);
.check "1483 0 0"

.testcase compaction_leaves_one_sorted_run_without_tombstones
SELECT count(DISTINCT level), sum(entries), sum(tombstones) FROM lsm_files('kv');
SELECT min(smallest), max(largest) FROM lsm_files('kv');
.check "1|1483|0 1|2000"

.testcase deleted_keys_stay_deleted_after_compaction
SELECT count(*) FROM kv WHERE key IN (3, 6, 1902, 1950);
SELECT count(*) FROM kv WHERE key BETWEEN 1900 AND 1950;
.check "0 0"

.testcase the_store_checks_clean_after_compaction
SELECT lsm_check('kv');
.check "ok"

.testcase compacting_again_changes_nothing
SELECT json_extract(r, '$.entries_before'), json_extract(r, '$.entries_after'),
       json_extract(r, '$.tombstones_dropped')
  FROM (SELECT lsm_compact('kv') AS r);
SELECT count(*) FROM kv;
.check "1483|1483|0 1483"

.testcase compacting_an_empty_table_works
CREATE VIRTUAL TABLE empty USING lsm;
SELECT json_extract(lsm_compact('empty'), '$.entries_after');
SELECT count(*) FROM empty;
.check "0 0"

.testcase writes_after_compaction_merge_with_the_compacted_run
INSERT INTO kv VALUES (3, 'back'), (2001, 'new');
DELETE FROM kv WHERE key = 1;
SELECT count(*), (SELECT value FROM kv WHERE key = 3), (SELECT count(*) FROM kv WHERE key = 1) FROM kv;
.check "1484|back|0"

-- ---- lsm_compact() with no argument ----

ATTACH 'aux.db' AS aux;
CREATE VIRTUAL TABLE aux.akv USING lsm('aux.db-akv.lsm');
INSERT INTO aux.akv VALUES (1, 'aux one');
CREATE VIRTUAL TABLE temp.tkv USING lsm;
INSERT INTO tkv VALUES (1, 'temp one');
CREATE VIRTUAL TABLE alias USING lsm('test.db-kv.lsm');
CREATE VIRTUAL TABLE ro USING lsm('aux.db-akv.lsm', readonly=on);
CREATE VIRTUAL TABLE notlsm USING fts5(body);
CREATE TABLE lsmish(x);

.testcase compact_with_no_argument_covers_every_schema_once_per_store
SELECT group_concat(value, ' ') FROM json_each(json_extract(lsm_compact(), '$.tables'));
.check "main.kv main.empty temp.tkv aux.akv"

-- A fresh connection has used none of the tables yet.
.open test.db
.output /dev/null
SELECT load_extension(readfile('lib.txt'));
.output
ATTACH 'aux.db' AS aux;

.testcase compact_with_no_argument_also_compacts_tables_not_yet_used
SELECT group_concat(value, ' ') FROM json_each(json_extract(lsm_compact(), '$.tables'));
.check "main.kv main.empty aux.akv"

.testcase the_rows_are_all_there_after_compacting_everything
SELECT count(*) FROM kv;
SELECT value FROM aux.akv;
SELECT count(*) FROM alias;
.check "1484 aux one 1484"

-- Which tables are read-only is taken from their parsed arguments, not
-- from a search of the CREATE text: a column named readonly_at does not
-- make table b read-only, so lsm_compact() connects it (writable) before
-- the readonly=on table a of the same store, and compacts it.  (Each table
-- is made by its own process: one process cannot open a store writable
-- while it has it open with readonly=on.)
.system sqlite3 -batch -cmd ".load $LSM_SO" mk.db "CREATE VIRTUAL TABLE w USING lsm('shared.lsm'); INSERT INTO w VALUES (1, 'one');"
.system sqlite3 -batch -cmd ".load $LSM_SO" ro.db "CREATE VIRTUAL TABLE a USING lsm('shared.lsm', readonly=on);"
.system sqlite3 -batch -cmd ".load $LSM_SO" ro.db "CREATE VIRTUAL TABLE b USING lsm('shared.lsm', id, readonly_at); INSERT INTO b VALUES (2, 'two');"
.system sqlite3 -batch -cmd ".load $LSM_SO" ro.db "SELECT json_extract(lsm_compact(), '\$.tables[0]'), json_array_length(lsm_compact(), '\$.tables'); SELECT count(*) FROM a;" > ro.out 2>&1

.testcase a_column_named_readonly_at_does_not_make_a_table_read_only
SELECT trim(replace(readfile('ro.out'), char(10), ' '));
.check "main.b|1 2"
