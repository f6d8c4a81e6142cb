-- test_functions.sql — lsm_version, lsm_stats (JSON with the write, read
-- and space amplification, null where nothing divides), lsm_flush,
-- lsm_files (a table-valued function), lsm_check, and their errors.
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

.testcase lsm_version_is_the_bare_version_string_as_sqlite_version_is
SELECT lsm_version() GLOB '[0-9]*.[0-9]*.[0-9]*', lsm_version() NOT GLOB '*[^0-9.]*';
.check "1|1"

CREATE VIRTUAL TABLE kv USING lsm('test.db-kv.lsm', background=off);

.testcase lsm_stats_of_a_new_table_is_json_with_null_ratios
SELECT json_valid(s), json_extract(s, '$.table'), json_extract(s, '$.memtable.entries'),
       json_array_length(s, '$.levels'),
       quote(json_extract(s, '$.writes.write_amplification')),
       quote(json_extract(s, '$.reads.read_amplification')),
       quote(json_extract(s, '$.reads.bloom_false_positive_rate')),
       quote(json_extract(s, '$.space.space_amplification'))
  FROM (SELECT lsm_stats('kv') AS s);
.check "1|main.kv|0|0|NULL|NULL|NULL|NULL"

.testcase lsm_stats_has_every_figure
SELECT group_concat(key, ' ') FROM json_tree(lsm_stats('kv')) WHERE type != 'object';
.check "table store location entries bytes immutable levels wal_file_bytes user_bytes wal_bytes flush_bytes compaction_bytes compaction_read_bytes flushes compactions l0_slice_tables write_amplification gets sst_probes read_amplification seeks seek_sst_probes bloom_checks bloom_negatives bloom_false_positives seek_read_amplification bloom_false_positive_rate live_bytes disk_bytes space_amplification count micros open_tables bytes misses bytes mapped_bytes overflow_bytes slab_moves not_cached hits misses"

INSERT INTO kv SELECT value, printf('value %d', value) FROM generate_series(1, 500);

.testcase lsm_stats_counts_writes_into_the_memtable
SELECT json_extract(s, '$.memtable.entries'), json_extract(s, '$.writes.user_bytes') > 0,
       json_extract(s, '$.writes.write_amplification') > 0,
       json_extract(s, '$.space.live_bytes') > 0
  FROM (SELECT lsm_stats('kv') AS s);
.check "500|1|1|1"

.testcase lsm_flush_moves_the_memtable_into_a_level_0_sstable
SELECT lsm_flush('kv') LIKE '{"tables":["main.kv"],"ms":%}';
SELECT json_extract(s, '$.memtable.entries'), json_extract(s, '$.levels[0].files'),
       json_extract(s, '$.levels[0].entries'), json_extract(s, '$.writes.flushes')
  FROM (SELECT lsm_stats('kv') AS s);
.check "1 0|1|500|1"

.testcase lsm_stats_counts_the_open_sstables
SELECT json_extract(s, '$.table_cache.open_tables'), json_extract(s, '$.table_cache.misses')
  FROM (SELECT lsm_stats('kv') AS s);
.check "1|0"

.testcase lsm_stats_counts_gets_and_sstable_probes
SELECT count(*) FROM kv WHERE key IN (1, 250, 500, 1000, 'nope');
SELECT json_extract(s, '$.reads.gets') >= 5,
       json_extract(s, '$.reads.read_amplification') IS NOT NULL,
       json_extract(s, '$.reads.bloom_checks') > 0
  FROM (SELECT lsm_stats('kv') AS s);
.check "3 1|1|1"

.testcase lsm_files_lists_each_sstable_with_typed_key_bounds
INSERT INTO kv VALUES ('text key', 1), (x'beef', 2);
SELECT lsm_flush('kv') IS NOT NULL;
SELECT level, file LIKE '%.sst', bytes > 0, entries, tombstones,
       quote(smallest), typeof(smallest), quote(largest), typeof(largest)
  FROM lsm_files('kv') ORDER BY file;
.check "1 0|1|1|500|0|1|integer|500|integer 0|1|1|2|0|'text key'|text|X'BEEF'|blob"

.testcase lsm_files_bytes_are_the_sizes_on_disk
SELECT sum(f.bytes) = sum(d.sz)
  FROM lsm_files('kv') AS f JOIN (SELECT name, length(data) AS sz FROM fsdir('test.db-kv.lsm')) AS d
    ON d.name = 'test.db-kv.lsm/' || f.file;
.check "1"

.testcase lsm_files_takes_a_schema_qualified_name_and_shows_it_hidden
SELECT count(*), min(tbl) FROM lsm_files('main.kv');
SELECT count(*) FROM lsm_files WHERE tbl = 'kv';
.check "2|main.kv 2"

.testcase lsm_files_of_an_empty_store_has_no_rows
CREATE VIRTUAL TABLE other USING lsm(':memory:');
SELECT count(*) FROM lsm_files('other');
.check "0"

.testcase lsm_check_says_ok_for_a_sound_store
SELECT lsm_check('kv'), lsm_check('main.other');
.check "ok|ok"

.testcase lsm_flush_with_no_argument_flushes_every_table
INSERT INTO other VALUES (1, 'x');
SELECT group_concat(value, ' ') FROM json_each(json_extract(lsm_flush(), '$.tables'));
SELECT count(*) FROM lsm_files('other');
.check "main.kv main.other 1"

.testcase functions_find_a_table_in_an_attached_schema
ATTACH 'aux.db' AS aux;
CREATE VIRTUAL TABLE aux.kv USING lsm;
INSERT INTO aux.kv VALUES (1, 'aux');
SELECT json_extract(lsm_stats('aux.kv'), '$.table'), json_extract(lsm_stats('kv'), '$.table');
DETACH aux;
.check "aux.kv|main.kv"

-- A schema whose name holds a dot: the name lsm_flush() reports for its
-- table is the name the functions take.
.testcase functions_find_a_table_in_a_schema_whose_name_holds_a_dot
ATTACH 'dotted.db' AS "a.b";
CREATE VIRTUAL TABLE "a.b".kv USING lsm;
INSERT INTO "a.b".kv VALUES (1, 'dotted');
SELECT json_extract(lsm_stats('a.b.kv'), '$.table'),
       (SELECT count(*) FROM json_each(json_extract(lsm_flush(), '$.tables')) WHERE value = 'a.b.kv'),
       (SELECT count(*) FROM lsm_files('a.b.kv')),
       lsm_check('a.b.kv');
DETACH "a.b";
.check "a.b.kv|1|1|ok"

-- ---- errors ----

INSERT INTO child VALUES ('errors', '
CREATE VIRTUAL TABLE kv USING lsm;
CREATE TABLE native(a);
SELECT lsm_stats(''nope'');
SELECT lsm_stats(''native'');
SELECT lsm_check(NULL);
SELECT lsm_compact(''nope.kv'');
SELECT lsm_flush(''native'');
SELECT * FROM lsm_files(''nope'');
SELECT * FROM lsm_files;
SELECT lsm_stats();
SELECT count(*) FROM kv;
');
.system sh run.sh errors

.testcase each_function_names_a_table_that_is_not_an_lsm_table
SELECT readfile('errors.err');
.check "Runtime error near line #: lsm_stats: no such lsm table: nope Runtime error near line #: lsm_stats: no such lsm table: native Runtime error near line #: lsm_check: the table name must be text Runtime error near line #: lsm_compact: no such lsm table: nope.kv Runtime error near line #: lsm_flush: no such lsm table: native Runtime error near line #: lsm_files: no such lsm table: nope Parse error near line #: lsm_files: give the table name: lsm_files('kv') Parse error near line #: wrong number of arguments to function lsm_stats() *"

.testcase a_failed_function_changes_nothing
SELECT readfile('errors.out');
.check "0"

-- Per-level write amplification: level 0 receives the user bytes and
-- writes flush bytes; a full compaction moves them to the last level (16).
CREATE VIRTUAL TABLE amp USING lsm(':memory:', background=off);
INSERT INTO amp SELECT value, printf('%050d', value) FROM generate_series(1, 2000);
SELECT lsm_flush('amp') IS NOT NULL;
INSERT INTO amp SELECT value, printf('%050d', value) FROM generate_series(1, 2000);
SELECT lsm_compact('amp') IS NOT NULL;

.testcase lsm_stats_gives_each_level_its_write_amplification
SELECT json_extract(s, '$.levels[0].level'), json_extract(s, '$.levels[0].bytes_from_above') > 0,
       json_extract(s, '$.levels[0].write_amplification') > 0,
       json_extract(s, '$.levels[1].level'), json_extract(s, '$.levels[1].write_amplification') > 0
  FROM (SELECT lsm_stats('amp') AS s);
.check "0|1|1|16|1"

-- Levels 1-15 of amp are empty and were never written: they are not listed.
.testcase lsm_stats_lists_only_levels_with_files_or_writes_since_open
SELECT json_array_length(s, '$.levels'),
       (SELECT count(*) FROM json_each(s, '$.levels')
         WHERE json_extract(value, '$.files') = 0
           AND json_extract(value, '$.compaction_bytes_written') = 0)
  FROM (SELECT lsm_stats('amp') AS s);
.check "2|0"

.testcase lsm_stats_names_the_wal_file_size_and_the_wal_bytes_written_apart
SELECT json_type(s, '$.wal_bytes') IS NULL, json_type(s, '$.wal_file_bytes'),
       json_type(s, '$.writes.wal_bytes')
  FROM (SELECT lsm_stats('amp') AS s);
.check "1|integer|integer"

-- ---- JSON built with a real escaper: hostile table names ----

CREATE VIRTUAL TABLE "we""ird" USING lsm(':memory:');
CREATE VIRTUAL TABLE "back\slash" USING lsm(':memory:');
CREATE VIRTUAL TABLE "tab	and
newline" USING lsm(':memory:');
INSERT INTO "we""ird" VALUES (1, 'one');
INSERT INTO "back\slash" VALUES (2, 'two');

.testcase json_of_every_function_is_valid_for_hostile_table_names
SELECT json_valid(lsm_stats('we"ird')), json_extract(lsm_stats('we"ird'), '$.table'),
       json_valid(lsm_stats('back\slash')), json_extract(lsm_stats('back\slash'), '$.table'),
       json_valid(lsm_flush('we"ird')), json_extract(lsm_flush('we"ird'), '$.tables[0]'),
       json_valid(lsm_compact('back\slash')),
       json_extract(lsm_compact('back\slash'), '$.tables[0]'),
       json_extract(lsm_stats('tab' || char(9) || 'and' || char(10) || 'newline'), '$.table')
         = 'main.tab' || char(9) || 'and' || char(10) || 'newline',
       json_valid(lsm_compact()), json_valid(lsm_flush());
.check "1|main.we\"ird|1|main.back\\slash|1|main.we\"ird|1|main.back\\slash|1|1|1"

-- ---- views: the reading functions are innocuous ----

CREATE VIEW kv_stats AS SELECT lsm_stats('kv') AS s;
CREATE VIEW kv_files AS SELECT count(*) AS n FROM lsm_files('kv');
CREATE VIEW kv_check AS SELECT lsm_check('kv') AS c, lsm_version() IS NOT NULL AS v;

.testcase a_view_over_lsm_stats_lsm_files_and_lsm_check_works
SELECT json_extract(s, '$.table') FROM kv_stats;
SELECT n > 0 FROM kv_files;
SELECT c, v FROM kv_check;
.check "main.kv 1 ok|1"

.testcase they_work_in_views_with_trusted_schema_off_too
PRAGMA trusted_schema = OFF;
SELECT json_extract(s, '$.table') FROM kv_stats;
SELECT n > 0 FROM kv_files;
SELECT c, v FROM kv_check;
PRAGMA trusted_schema = ON;
.check "main.kv 1 ok|1"

INSERT INTO child VALUES ('unsafe', '
CREATE VIRTUAL TABLE kv USING lsm;
CREATE VIEW v_compact AS SELECT lsm_compact(''kv'') AS r;
CREATE VIEW v_flush AS SELECT lsm_flush() AS r;
SELECT r FROM v_compact;
SELECT r FROM v_flush;
');
.system sh run.sh unsafe

.testcase lsm_compact_and_lsm_flush_stay_direct_only
SELECT readfile('unsafe.err');
.check "Parse error near line #: unsafe use of lsm_compact() Parse error near line #: unsafe use of lsm_flush()"
