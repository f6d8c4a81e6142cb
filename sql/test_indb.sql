-- test_indb.sql — the default store lives in the database file: its shadow
-- tables, what SQLite's defensive mode, transactions, DROP, RENAME, .dump
-- and file copies do with it, temp and in-memory databases, and the
-- options that do not apply to it.
--
-- Run by tests/run_sql.sh: sqlite3 -bail -batch test.db ".load $LSM_SO" ".read <this>"
-- Cases that expect an error run as child scripts (see test_errors.sql).
.mode list
.headers off
CREATE TABLE child(name TEXT PRIMARY KEY, sql TEXT NOT NULL);
.output /dev/null
SELECT writefile('run.sh',
  'sqlite3 test.db "SELECT sql FROM child WHERE name = ''$1''" |' || char(10) ||
  'sqlite3 -batch -cmd ".load $LSM_SO" "${2:-$1.db}" > "$1.out" 2> "$1.err"' || char(10) ||
  'exit 0' || char(10));
.output

CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000)
INSERT INTO kv SELECT i, printf('v%06d', i) FROM c;
INSERT INTO kv VALUES ('a', 'after the flush');

.testcase the_store_is_two_shadow_tables
SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_schema
  WHERE type = 'table' AND name LIKE 'kv%' ORDER BY name);
.check "kv kv_file kv_log"

.testcase sstables_and_the_manifest_are_rows_of_kv_file
SELECT lsm_flush('kv') IS NOT NULL;
SELECT (SELECT count(*) FROM kv_file WHERE name = 'MANIFEST'),
       (SELECT count(*) FROM kv_file WHERE name GLOB '*.sst') > 0,
       (SELECT count(*) FROM kv_log);
.check "1 1|1|0"

.testcase committed_batches_wait_in_kv_log_until_a_flush
INSERT INTO kv VALUES ('b', 'logged');
SELECT count(*), max(seq) > 2000 FROM kv_log;
.check "1|1"

.testcase lsm_files_lists_the_sstables_of_the_table
SELECT count(*) = (SELECT count(*) FROM kv_file WHERE name GLOB '*.sst'),
       sum(bytes) = (SELECT sum(length(data)) FROM kv_file
                      WHERE name GLOB '*.sst' OR name GLOB '*.sst:*')
  FROM lsm_files('kv');
.check "1|1"

.testcase lsm_stats_and_lsm_files_say_where_the_store_is
SELECT json_extract(lsm_stats('kv'), '$.store'), json_extract(lsm_stats('kv'), '$.location'),
       (SELECT group_concat(DISTINCT location) FROM lsm_files('kv'));
.check "database|main.kv_file|main.kv_file"

.testcase lsm_check_verifies_the_rows
SELECT lsm_check('kv');
.check "ok"

-- ---- transactions ----

.testcase rollback_leaves_nothing_in_the_log_or_the_table
BEGIN;
INSERT INTO kv VALUES ('c', 'rolled back');
ROLLBACK;
SELECT (SELECT count(*) FROM kv WHERE key = 'c'), (SELECT count(*) FROM kv_log);
.check "0|1"

.testcase a_savepoint_rolled_back_leaves_nothing
BEGIN;
INSERT INTO kv VALUES ('d', 1);
SAVEPOINT s;
INSERT INTO kv VALUES ('e', 2);
ROLLBACK TO s;
COMMIT;
SELECT group_concat(key) FROM kv WHERE key IN ('d', 'e');
.check "d"

.testcase drop_table_in_a_rolled_back_transaction_keeps_every_row
BEGIN;
DROP TABLE kv;
ROLLBACK;
SELECT count(*), (SELECT value FROM kv WHERE key = 'a') FROM kv;
.check "2003|after the flush"

.testcase alter_table_rename_moves_the_rows
ALTER TABLE kv RENAME TO kv2;
SELECT count(*) FROM kv2;
INSERT INTO kv2 VALUES ('f', 'renamed');
SELECT count(*), lsm_check('kv2') FROM kv2;
.check "2003 2004|ok"

.testcase alter_table_rename_in_a_rolled_back_transaction_keeps_the_name
BEGIN;
ALTER TABLE kv2 RENAME TO kv3;
ROLLBACK;
SELECT count(*) FROM kv2;
.check "2004"

-- ---- files as rows of chunks ----

CREATE VIRTUAL TABLE kvc USING lsm(memtable_mb=0.0625);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000)
INSERT INTO kvc SELECT i, randomblob(100) FROM c;
.output /dev/null
SELECT lsm_compact('kvc');
.output

.testcase a_file_is_rows_of_chunks_that_fit_a_page_at_consecutive_ids
SELECT count(*) > 0,
       sum(f.nRow > 1) > 0,
       sum(f.nRow = f.iLast - f.iFirst + 1 AND f.nShort <= 1 AND f.nBad = 0) = count(*),
       max(f.nChunk) + 99 = (SELECT page_size FROM pragma_page_size)
  FROM (SELECT h.name, count(*) AS nRow, min(c.id) AS iFirst, max(c.id) AS iLast,
               length(h.data) AS nChunk,
               sum(length(c.data) < length(h.data)) AS nShort,
               sum(length(c.data) > length(h.data)
                   OR (c.id > h.id AND c.name <> h.name || ':' || (c.id - h.id))) AS nBad
          FROM kvc_file h JOIN kvc_file c ON c.name = h.name OR c.name GLOB h.name || ':*'
         WHERE h.name GLOB '*.sst' GROUP BY h.name) f;
.check "1|1|1|1"

-- lsm 0.2 stored each file whole, in one row: such a table still reads.
.output /dev/null
UPDATE kvc_file SET data = (SELECT CAST(group_concat(data, '') AS BLOB) FROM
    (SELECT c.data FROM kvc_file c
      WHERE c.name = kvc_file.name OR c.name GLOB kvc_file.name || ':*' ORDER BY c.id))
 WHERE instr(name, ':') = 0;
DELETE FROM kvc_file WHERE instr(name, ':') > 0;
.output
INSERT INTO child VALUES ('whole_rows', '
SELECT count(*), sum(length(value)) FROM kvc;
SELECT lsm_check(''kvc'');
INSERT INTO kvc VALUES (0, ''new'');
SELECT lsm_compact(''kvc'') IS NOT NULL;
SELECT count(*), lsm_check(''kvc''), (SELECT count(*) FROM kvc_file WHERE instr(name, '':'') > 0) > 0
  FROM kvc;
');
.system sh run.sh whole_rows test.db

.testcase a_table_whose_files_are_whole_rows_as_lsm_0_2_wrote_them_still_reads
SELECT trim(replace(readfile('whole_rows.err') || readfile('whole_rows.out'), char(10), ' '));
.check "3000|300000 ok 1 3001|ok|1"

-- ---- errors ----

INSERT INTO child VALUES ('defensive', '
.dbconfig defensive on
INSERT INTO kv2_log VALUES (999999, x''00'');
DELETE FROM kv2_file;
UPDATE kv2_file SET data = x''00'';
SELECT count(*) FROM kv2;
');
.system sh run.sh defensive test.db

.testcase defensive_mode_refuses_writes_to_the_shadow_tables
SELECT readfile('defensive.out'), readfile('defensive.err');
.check " defensive on 2004 |Parse error near line #: table kv2_log may not be modified Parse error near line #: table kv2_file may not be modified Parse error near line #: table kv2_file may not be modified"

INSERT INTO child VALUES ('sync_option', '
CREATE VIRTUAL TABLE s USING lsm(sync=full);
SELECT count(*) FROM sqlite_schema;
');
.system sh run.sh sync_option

.testcase a_sync_option_is_refused_saying_why
SELECT readfile('sync_option.err'), readfile('sync_option.out');
.check "Runtime error near line #: sync= applies only to a store in a directory: a table in the database file is as durable as the database (PRAGMA journal_mode, PRAGMA synchronous) |0"

INSERT INTO child VALUES ('log_damage', '
CREATE VIRTUAL TABLE g USING lsm;
INSERT INTO g VALUES (1, ''abcdef'');
UPDATE g_log SET batch = substr(batch, 1, length(batch) - 1) || x''7a'';
');
INSERT INTO child VALUES ('log_damage_2', '
SELECT * FROM g;
');
.system sh run.sh log_damage
.system sh run.sh log_damage_2 log_damage.db

.testcase a_damaged_log_row_is_corruption_never_data
SELECT readfile('log_damage.err') || readfile('log_damage_2.err'), readfile('log_damage_2.out');
.check "Runtime error near line #: main.g_log: the row at seq 1 is damaged: stored batch of 21 bytes fails its checksum (11) |"

-- ---- copies ----

INSERT INTO child VALUES ('dump_source', '
CREATE VIRTUAL TABLE d USING lsm(memtable_mb=0.0625);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1500)
INSERT INTO d SELECT i, randomblob(40) FROM c;
SELECT lsm_flush(''d'') IS NOT NULL;
INSERT INTO d VALUES (''x'', ''in the log'');
.output dump.sql
.dump
.output
');
.system sh run.sh dump_source
.output /dev/null
SELECT writefile('restore.sh',
  'sqlite3 -batch -cmd ".load $LSM_SO" restored.db < dump.sql > restore.out 2>&1' || char(10) ||
  'sqlite3 -batch -readonly -cmd ".load $LSM_SO" test.db "SELECT count(*), lsm_check(''kv2'') FROM kv2"'
  || ' > ro.out 2>&1' || char(10));
.output
.system sh restore.sh
.system cp dump_source.db copied.db
INSERT INTO child VALUES ('copies', '
ATTACH ''restored.db'' AS r;
ATTACH ''copied.db'' AS c;
ATTACH ''dump_source.db'' AS o;
SELECT count(*), lsm_check(''r.d'') FROM r.d;
SELECT count(*), lsm_check(''c.d'') FROM c.d;
SELECT (SELECT group_concat(hex(value)) FROM r.d) = (SELECT group_concat(hex(value)) FROM o.d);
DELETE FROM c.d WHERE key <= 100;
DELETE FROM r.d WHERE key > 100;
SELECT count(*) FROM c.d;
SELECT count(*) FROM r.d;
SELECT count(*) FROM o.d;
');
.system sh run.sh copies

.testcase dump_restore_and_a_file_copy_carry_the_rows_and_never_share_them
SELECT readfile('restore.out') || readfile('copies.err'), readfile('copies.out');
.check "|1501|ok 1501|ok 1 1401 100 1501"

-- ---- space ----

INSERT INTO child VALUES ('space', '
CREATE VIRTUAL TABLE s USING lsm(memtable_mb=0.25);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
INSERT INTO s SELECT randomblob(16), randomblob(100) FROM c;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
INSERT INTO s SELECT randomblob(16), randomblob(100) FROM c;
UPDATE s SET value = randomblob(100);
SELECT lsm_compact(''s'') IS NOT NULL;
SELECT (page_count - freelist_count) * page_size <= 1.3 * json_extract(lsm_stats(''s''), ''$.space.live_bytes''),
       json_extract(lsm_stats(''s''), ''$.space.live_bytes'') >= 40000 * 116
  FROM pragma_page_count, pragma_freelist_count, pragma_page_size;
');
.system sh run.sh space

.testcase after_lsm_compact_the_pages_in_use_hold_at_most_1_3_times_the_live_bytes
SELECT readfile('space.err') || readfile('space.out');
.check "1 1|1"

-- ---- compression ----

CREATE VIRTUAL TABLE kraw USING lsm;
CREATE VIRTUAL TABLE klz4 USING lsm(compression=lz4);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000)
INSERT INTO kraw SELECT i, zeroblob(200) FROM c;
INSERT INTO klz4 SELECT key, value FROM kraw;
.output /dev/null
SELECT lsm_flush('kraw'), lsm_flush('klz4');
.output

.testcase an_in_database_table_writes_its_blocks_uncompressed_unless_told_otherwise
SELECT (SELECT sum(bytes) FROM lsm_files('kraw')) > 2000 * 200,
       (SELECT sum(bytes) FROM lsm_files('klz4')) < 2000 * 50,
       (SELECT count(*) FROM kraw WHERE value = zeroblob(200)),
       (SELECT count(*) FROM klz4 WHERE value = zeroblob(200));
.check "1|1|2000|2000"

-- Blocks of 2 KiB by default: a full scan of 400 KB of rows looks up about
-- 200 blocks in the block cache (4 KiB blocks: about 100).  lsm_stats' own
-- count of live bytes is such a scan: the lookups between two calls.
CREATE VIRTUAL TABLE kb2 USING lsm;
CREATE VIRTUAL TABLE kb4 USING lsm(block_kb=4);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000)
INSERT INTO kb2 SELECT i, randomblob(200) FROM c;
INSERT INTO kb4 SELECT key, value FROM kb2;
.output /dev/null
SELECT lsm_flush('kb2'), lsm_flush('kb4');
.output

.testcase an_in_database_table_writes_2_kib_blocks_unless_told_otherwise
CREATE TEMP TABLE kb_stats1 AS SELECT lsm_stats('kb2') AS s2, lsm_stats('kb4') AS s4;
CREATE TEMP TABLE kb_stats2 AS SELECT lsm_stats('kb2') AS s2, lsm_stats('kb4') AS s4;
SELECT (SELECT count(*) FROM kb2), (SELECT count(*) FROM kb4),
       json_extract(b.s2, '$.block_cache.hits') + json_extract(b.s2, '$.block_cache.misses')
       - json_extract(a.s2, '$.block_cache.hits') - json_extract(a.s2, '$.block_cache.misses')
         BETWEEN 180 AND 230,
       json_extract(b.s4, '$.block_cache.hits') + json_extract(b.s4, '$.block_cache.misses')
       - json_extract(a.s4, '$.block_cache.hits') - json_extract(a.s4, '$.block_cache.misses')
         BETWEEN 90 AND 120
  FROM kb_stats1 AS a, kb_stats2 AS b;
.check "2000|2000|1|1"
DROP TABLE kb_stats1;
DROP TABLE kb_stats2;

-- The shared cache (128 MiB) keeps its blocks in 2 MiB slabs: its memory
-- is whole slabs, at least what it charges for its blocks, within its
-- budget and a few slabs; far from its slabs' limit, no block overflowed
-- to malloc and no slab moved to another size class.
.testcase lsm_stats_reports_the_block_caches_slabs
SELECT json_extract(s, '$.block_cache.mapped_bytes') % 2097152 = 0,
       json_extract(s, '$.block_cache.mapped_bytes') >= json_extract(s, '$.block_cache.bytes'),
       json_extract(s, '$.block_cache.bytes') > 400000,
       json_extract(s, '$.block_cache.mapped_bytes') <= 134217728 + 8 * 2097152,
       json_extract(s, '$.block_cache.overflow_bytes'),
       json_extract(s, '$.block_cache.slab_moves'),
       json_extract(s, '$.block_cache.not_cached')
  FROM (SELECT lsm_stats('kb2') AS s);
.check "1|1|1|1|0|0|0"

-- ---- temp and in-memory databases ----

.testcase a_temp_table_keeps_its_rows_in_the_temp_database
CREATE VIRTUAL TABLE temp.t USING lsm;
INSERT INTO t VALUES (1, 'temp');
SELECT (SELECT value FROM t), (SELECT count(*) FROM temp.sqlite_schema WHERE name = 't_log');
.check "temp|1"

.testcase an_in_memory_database_keeps_its_table_in_memory
ATTACH ':memory:' AS m;
CREATE VIRTUAL TABLE m.mk USING lsm(memtable_mb=0.0625);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000)
INSERT INTO m.mk SELECT i, printf('%0100d', i) FROM c;
SELECT lsm_compact('m.mk') IS NOT NULL;
SELECT count(*), lsm_check('m.mk') FROM m.mk;
.check "1 3000|ok"

.testcase a_read_inside_a_write_transaction_does_not_lock_a_later_drop
-- A block read of kd inside BEGIN must not leave its blob handle open as a
-- running statement: DROP TABLE of another table would then fail with
-- "database table is locked".
CREATE VIRTUAL TABLE kd USING lsm;
CREATE TABLE doomed(x);
INSERT INTO kd VALUES ('pre-drop', 'in an sstable');
SELECT lsm_flush('kd') IS NOT NULL;
BEGIN;
INSERT INTO kd VALUES ('in-txn', 1);
SELECT value FROM kd WHERE key = 'pre-drop';
DROP TABLE doomed;
COMMIT;
SELECT (SELECT count(*) FROM sqlite_schema WHERE name = 'doomed'),
       (SELECT value FROM kd WHERE key = 'in-txn');
.check "1 in an sstable 0|1"

-- ---- readonly ----

.testcase a_database_opened_read_only_reads_its_table
SELECT readfile('ro.out');
.check "2004|ok "
