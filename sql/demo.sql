-- demo.sql — a short tour of lsm: put, get, delete, range scans, a rolled
-- back transaction, statistics and compaction.
--
--     make demo          (runs: sqlite3 :memory: < sql/demo.sql)
--
-- The database is in memory, so the table's store is in memory too: the
-- same memtable and sorted files, no write-ahead log.  Give a path,
-- USING lsm('fruit.lsm'), to keep a store on disk.
.load ./lsm
.mode box
.headers on

.print '-- CREATE VIRTUAL TABLE fruit USING lsm(background=off)'
CREATE VIRTUAL TABLE fruit USING lsm(background=off);

.print '-- put: INSERT is a blind write'
INSERT INTO fruit VALUES ('apple', 'red'), ('banana', 'yellow'), ('cherry', 'dark red'),
                         ('date', 'brown'), ('elderberry', 'purple'), ('fig', 'green');
INSERT INTO fruit VALUES ('apple', 'green');          -- overwrites, no read first
SELECT * FROM fruit;

.print '-- get: a point lookup'
SELECT value FROM fruit WHERE key = 'apple';
EXPLAIN QUERY PLAN SELECT value FROM fruit WHERE key = 'apple';

.print '-- delete: a tombstone'
DELETE FROM fruit WHERE key = 'date';
SELECT count(*) AS rows_left FROM fruit;

.print '-- range scan, ascending and descending (ORDER BY needs no sort step)'
SELECT * FROM fruit WHERE key >= 'b' AND key < 'f' ORDER BY key;
SELECT * FROM fruit WHERE key >= 'b' AND key < 'f' ORDER BY key DESC;
EXPLAIN QUERY PLAN SELECT * FROM fruit WHERE key >= 'b' AND key < 'f' ORDER BY key DESC;

.print '-- a transaction reads its own writes; ROLLBACK discards them'
BEGIN;
INSERT INTO fruit VALUES ('grape', 'violet');
DELETE FROM fruit WHERE key = 'apple';
SELECT * FROM fruit;
ROLLBACK;
SELECT * FROM fruit;

.print '-- 3000 puts and a flush, 1000 deletes and a flush: two level-0 SSTables'
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
INSERT INTO fruit SELECT printf('k%05d', i), hex(randomblob(20)) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1001 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO fruit SELECT printf('k%05d', i), hex(randomblob(20)) FROM n;
WITH RECURSIVE n(i) AS (SELECT 2001 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO fruit SELECT printf('k%05d', i), hex(randomblob(20)) FROM n;
SELECT lsm_flush('fruit') AS lsm_flush;
DELETE FROM fruit WHERE key BETWEEN 'k01000' AND 'k01999';   -- 1000 tombstones
SELECT lsm_flush('fruit') AS lsm_flush;
SELECT level, file, bytes, entries, tombstones, smallest, largest FROM lsm_files('fruit');
SELECT count(*) AS found FROM fruit WHERE key IN ('k00007', 'k01500', 'k02999', 'kiwi');
SELECT json_extract(s, '$.memtable.entries') AS memtable_entries,
       json_array_length(s, '$.levels') AS levels,
       json_extract(s, '$.writes.write_amplification') AS write_amp,
       json_extract(s, '$.reads.read_amplification') AS read_amp,
       json_extract(s, '$.space.space_amplification') AS space_amp
  FROM (SELECT lsm_stats('fruit') AS s);

.print '-- lsm_compact(): everything into one sorted run, tombstones dropped'
SELECT json_extract(r, '$.entries_before') AS entries_before,
       json_extract(r, '$.entries_after') AS entries_after,
       json_extract(r, '$.tombstones_dropped') AS tombstones_dropped
  FROM (SELECT lsm_compact() AS r);
SELECT level, file, entries, tombstones, smallest, largest FROM lsm_files('fruit');
SELECT count(*) AS rows, lsm_check('fruit') AS lsm_check FROM fruit;
