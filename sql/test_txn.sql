-- test_txn.sql — BEGIN / COMMIT / ROLLBACK, nested savepoints, reads of a
-- transaction's own writes, statements that write the table they read,
-- lsm_flush and lsm_compact inside a transaction, and two connections of
-- one process sharing a store.  (A statement that fails part way is in
-- test_errors.sql: an expected error must run in a child process.)
--
-- Run by tests/run_sql.sh: sqlite3 -bail -batch test.db ".load $LSM_SO" ".read <this>"
.mode list
.headers off
-- lib.txt: the lsm.so under test ($LSM_SO, exported by tests/run_sql.sh),
-- for a second connection.
.system printf '%s' "$LSM_SO" > lib.txt

CREATE VIRTUAL TABLE kv USING lsm;
INSERT INTO kv VALUES (1, 'one'), (2, 'two'), (3, 'three');

.testcase commit_applies_every_write
BEGIN;
INSERT INTO kv VALUES (4, 'four');
UPDATE kv SET value = 'TWO' WHERE key = 2;
DELETE FROM kv WHERE key = 3;
COMMIT;
SELECT group_concat(key || '=' || value, ' ') FROM kv;
.check "1=one 2=TWO 4=four"

.testcase rollback_discards_every_write
BEGIN;
INSERT INTO kv VALUES (5, 'five');
DELETE FROM kv WHERE key = 1;
UPDATE kv SET value = 'changed';
ROLLBACK;
SELECT group_concat(key || '=' || value, ' ') FROM kv;
.check "1=one 2=TWO 4=four"

.testcase a_transaction_reads_its_own_writes_through_every_plan
BEGIN;
INSERT INTO kv VALUES (5, 'five'), ('x', 'ex');
DELETE FROM kv WHERE key = 1;
SELECT group_concat(key, ' ') FROM kv;
SELECT value FROM kv WHERE key = 5;
SELECT count(*) FROM kv WHERE key = 1;
SELECT group_concat(key, ' ') FROM kv WHERE key IN (1, 2, 5, 'x');
SELECT group_concat(key, ' ') FROM (SELECT key FROM kv WHERE key > 1 AND key < 'y' ORDER BY key DESC);
ROLLBACK;
.check "2 4 5 x five 0 2 5 x x 5 4 2"

.testcase insert_or_ignore_sees_the_transactions_own_writes
BEGIN;
INSERT INTO kv VALUES (6, 'six');
INSERT OR IGNORE INTO kv VALUES (6, 'ignored');
SELECT changes(), value FROM kv WHERE key = 6;
DELETE FROM kv WHERE key = 6;
INSERT OR IGNORE INTO kv VALUES (6, 'again');
SELECT changes(), value FROM kv WHERE key = 6;
ROLLBACK;
.check "0|six 1|again"

.testcase savepoints_nest_and_roll_back_to_the_right_point
BEGIN;
INSERT INTO kv VALUES (10, 'a');
SAVEPOINT s1;
INSERT INTO kv VALUES (11, 'b');
SAVEPOINT s2;
INSERT INTO kv VALUES (12, 'c');
DELETE FROM kv WHERE key = 10;
ROLLBACK TO s2;
SELECT group_concat(key, ' ') FROM kv WHERE key >= 10;
INSERT INTO kv VALUES (13, 'd');
RELEASE s2;
SELECT group_concat(key, ' ') FROM kv WHERE key >= 10;
ROLLBACK TO s1;
SELECT group_concat(key, ' ') FROM kv WHERE key >= 10;
INSERT INTO kv VALUES (14, 'e');
COMMIT;
SELECT group_concat(key, ' ') FROM kv WHERE key >= 10;
.check "10 11 10 11 13 10 10 14"

.testcase rollback_to_a_savepoint_twice_keeps_it_open
BEGIN;
SAVEPOINT s;
INSERT INTO kv VALUES (20, 'x');
ROLLBACK TO s;
INSERT INTO kv VALUES (21, 'y');
ROLLBACK TO s;
SELECT count(*) FROM kv WHERE key >= 20;
COMMIT;
.check "0"

.testcase a_savepoint_outside_begin_is_a_transaction
SAVEPOINT outer_sp;
INSERT INTO kv VALUES (30, 'x');
SAVEPOINT inner_sp;
INSERT INTO kv VALUES (31, 'y');
ROLLBACK TO outer_sp;
SELECT count(*) FROM kv WHERE key >= 30;
INSERT INTO kv VALUES (32, 'z');
RELEASE outer_sp;
SELECT group_concat(key, ' ') FROM kv WHERE key >= 30;
.check "0 32"

.testcase a_table_joining_a_transaction_inside_a_savepoint_rolls_back_with_it
CREATE VIRTUAL TABLE late USING lsm;
BEGIN;
SAVEPOINT s;
INSERT INTO late VALUES (1, 'x');
ROLLBACK TO s;
INSERT INTO late VALUES (2, 'y');
COMMIT;
SELECT group_concat(key, ' ') FROM late;
.check "2"

-- ---- statements that write the table they read ----

CREATE VIRTUAL TABLE big USING lsm(memtable_mb=0.0625);
INSERT INTO big SELECT value, 'v' FROM generate_series(1, 3000);

.testcase an_update_of_every_row_terminates_and_changes_each_row_once
UPDATE big SET value = value || 'x';
SELECT changes(), count(*), min(value), max(value) FROM big;
.check "3000|3000|vx|vx"

.testcase an_insert_select_from_the_same_table_terminates_and_doubles_it
INSERT INTO big SELECT key + 1000000, value FROM big;
SELECT changes(), count(*), min(key), max(key) FROM big;
.check "3000|6000|1|1003000"

.testcase the_same_inside_a_transaction_with_pending_writes
BEGIN;
INSERT INTO big VALUES (0, 'pending');
UPDATE big SET value = value || 'y' WHERE key < 1000000;
INSERT INTO big SELECT key + 2000000, value FROM big WHERE key < 1000000;
SELECT count(*), count(DISTINCT value) FROM big;
ROLLBACK;
SELECT count(*), count(DISTINCT value) FROM big;
.check "9002|3 6000|1"

.testcase a_delete_driven_by_a_subquery_on_the_same_table
DELETE FROM big WHERE key IN (SELECT key FROM big WHERE key > 1000000);
SELECT changes(), count(*) FROM big;
.check "3000|3000"

.testcase an_update_of_the_key_over_a_range_moves_each_row_once
UPDATE big SET key = key + 10000 WHERE key <= 100;
SELECT changes(), count(*), min(key), max(key) FROM big;
.check "100|3000|101|10100"

-- ---- lsm_flush and lsm_compact act on committed data ----

CREATE VIRTUAL TABLE fl USING lsm(background=off);
INSERT INTO fl VALUES (1, 'committed');

.testcase flush_inside_a_transaction_leaves_the_pending_writes_pending
BEGIN;
INSERT INTO fl VALUES (2, 'pending');
SELECT json_extract(lsm_flush('fl'), '$.tables[0]');
SELECT sum(entries) FROM lsm_files('fl');
SELECT count(*) FROM fl;
ROLLBACK;
SELECT group_concat(key || '=' || value, ' ') FROM fl;
.check "main.fl 1 2 1=committed"

.testcase compact_inside_a_transaction_leaves_the_pending_writes_pending
BEGIN;
DELETE FROM fl WHERE key = 1;
SELECT json_extract(lsm_compact('fl'), '$.entries_after');
SELECT count(*) FROM fl;
ROLLBACK;
SELECT group_concat(key || '=' || value, ' ') FROM fl;
.check "1 0 1=committed"

-- ---- two connections of this process share the store ----
-- Connection 1 opens another database file whose table names the same
-- store directory: two writers of one database file would wait on
-- SQLite's own file lock, which has nothing to do with lsm.

CREATE VIRTUAL TABLE shared USING lsm;
INSERT INTO shared VALUES ('k', 'from 0');
.connection 1
.open other.db
.output /dev/null
SELECT load_extension(readfile('lib.txt'));
.output
CREATE VIRTUAL TABLE shared USING lsm('test.db-shared.lsm');

.testcase a_second_connection_sees_the_first_ones_commits
SELECT value FROM shared WHERE key = 'k';
.check "from 0"

.testcase an_open_transaction_is_private_until_commit
BEGIN;
INSERT INTO shared VALUES ('t', 'from 1');
.connection 0
SELECT count(*) FROM shared WHERE key = 't';
.connection 1
COMMIT;
.connection 0
SELECT value FROM shared WHERE key = 't';
.check "0 from 1"

.testcase concurrent_commits_to_one_key_the_last_wins
BEGIN;
INSERT INTO shared VALUES ('race', 'first');
.connection 1
BEGIN;
INSERT INTO shared VALUES ('race', 'second');
.connection 0
COMMIT;
.connection 1
COMMIT;
SELECT value FROM shared WHERE key = 'race';
.connection 0
SELECT value FROM shared WHERE key = 'race';
.check "second second"

.testcase a_rollback_in_one_connection_leaves_the_other_alone
BEGIN;
DELETE FROM shared;
.connection 1
SELECT count(*) FROM shared;
.connection 0
ROLLBACK;
SELECT count(*) FROM shared;
.check "3 3"

.connection close 1
