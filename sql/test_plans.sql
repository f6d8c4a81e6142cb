-- test_plans.sql — xBestIndex: EXPLAIN QUERY PLAN shows a point get for
-- key = ?, a multi-get for key IN (...), bounded and descending scans,
-- ORDER BY consumed, LIMIT/OFFSET pushed down, the point get on the inner
-- loop of a join; and every plan returns what a native table returns.
--
-- Plans read "INDEX <idxNum>:<idxStr>" (see the table in ext/plan.c):
-- idxNum 1 = descending, 2 = ORDER BY consumed; idxStr says the plan in
-- words ("key >= ? AND key < ? ORDER BY key DESC"), the constraints in
-- xFilter argument order.
--
-- Run by tests/run_sql.sh: sqlite3 -bail -batch test.db ".load <repo>/lsm" ".read <this>"
.mode list
.headers off

CREATE VIRTUAL TABLE kv USING lsm;
CREATE TABLE nat(key PRIMARY KEY NOT NULL, value) WITHOUT ROWID;
-- 1000 integer keys 0, 2, 4, ... 1998, a few text and blob keys.
INSERT INTO kv SELECT value * 2, 'v' || (value * 2) FROM generate_series(0, 999);
INSERT INTO kv VALUES ('a', 'text a'), ('b', 'text b'), ('c', 'text c'), (x'01', 'blob');
INSERT INTO nat SELECT key, value FROM kv;

-- ---- the plans ----

.testcase key_equals_is_a_point_get
EXPLAIN QUERY PLAN SELECT value FROM kv WHERE key = 10;
.check "QUERY PLAN `--SCAN kv VIRTUAL TABLE INDEX 0:key = ?"

.testcase key_is_is_a_point_get
EXPLAIN QUERY PLAN SELECT value FROM kv WHERE key IS 10;
.check "QUERY PLAN `--SCAN kv VIRTUAL TABLE INDEX 0:key = ?"

.testcase key_in_a_list_is_a_multi_get
EXPLAIN QUERY PLAN SELECT value FROM kv WHERE key IN (10, 'a', 3);
.check "QUERY PLAN `--SCAN kv VIRTUAL TABLE INDEX 0:key IN (...)"

.testcase key_in_a_subquery_is_a_multi_get
EXPLAIN QUERY PLAN SELECT value FROM kv WHERE key IN (SELECT key FROM nat WHERE value LIKE 'text%');
.check "QUERY PLAN |--SCAN kv VIRTUAL TABLE INDEX 0:key IN (...) `--LIST SUBQUERY 1 `--SCAN nat"

.testcase two_bounds_are_one_bounded_scan
EXPLAIN QUERY PLAN SELECT * FROM kv WHERE key >= 10 AND key < 20;
.check "QUERY PLAN `--SCAN kv VIRTUAL TABLE INDEX 0:key >= ? AND key < ?"

.testcase between_is_a_bounded_scan
EXPLAIN QUERY PLAN SELECT * FROM kv WHERE key BETWEEN 10 AND 20;
.check "QUERY PLAN `--SCAN kv VIRTUAL TABLE INDEX 0:key >= ? AND key <= ?"

.testcase every_bound_is_passed_so_the_tightest_can_be_kept
EXPLAIN QUERY PLAN SELECT * FROM kv WHERE key > 10 AND key >= 12 AND key <= 30 AND key < 30;
.check "QUERY PLAN `--SCAN kv VIRTUAL TABLE INDEX 0:key > ? AND key >= ? AND key <= ? AND key < ?"

.testcase order_by_key_is_consumed
EXPLAIN QUERY PLAN SELECT * FROM kv ORDER BY key;
.check "QUERY PLAN `--SCAN kv VIRTUAL TABLE INDEX 2:ORDER BY key"

.testcase order_by_key_desc_is_consumed_as_a_reverse_scan
EXPLAIN QUERY PLAN SELECT * FROM kv WHERE key > 100 ORDER BY key DESC;
.check "QUERY PLAN `--SCAN kv VIRTUAL TABLE INDEX 3:key > ? ORDER BY key DESC"

.testcase order_by_a_value_column_needs_a_sort
EXPLAIN QUERY PLAN SELECT * FROM kv ORDER BY value;
.check "QUERY PLAN |--SCAN kv VIRTUAL TABLE INDEX 0:full scan `--USE TEMP B-TREE FOR ORDER BY"

-- LIMIT and OFFSET are left to SQLite (ext/plan.c: SQLite 3.40 offers them
-- while a WHERE term it does not show the table is still to be checked).
.testcase limit_and_offset_are_left_to_sqlite_with_the_order_consumed
EXPLAIN QUERY PLAN SELECT * FROM kv ORDER BY key DESC LIMIT 3 OFFSET 2;
.check "QUERY PLAN `--SCAN kv VIRTUAL TABLE INDEX 3:ORDER BY key DESC"

.testcase limit_is_left_to_sqlite_after_a_range
EXPLAIN QUERY PLAN SELECT * FROM kv WHERE key >= 100 LIMIT 5;
.check "QUERY PLAN `--SCAN kv VIRTUAL TABLE INDEX 0:key >= ?"

.testcase limit_is_not_pushed_down_past_a_constraint_sqlite_checks
EXPLAIN QUERY PLAN SELECT * FROM kv WHERE value LIKE 'v1%' LIMIT 5;
.check "QUERY PLAN `--SCAN kv VIRTUAL TABLE INDEX 0:full scan"

.testcase a_constraint_on_a_value_column_is_left_to_sqlite
EXPLAIN QUERY PLAN SELECT * FROM kv WHERE value = 'v10';
.check "QUERY PLAN `--SCAN kv VIRTUAL TABLE INDEX 0:full scan"

.testcase a_key_constraint_with_another_collation_is_left_to_sqlite
EXPLAIN QUERY PLAN SELECT * FROM kv WHERE key = 'A' COLLATE NOCASE;
.check "QUERY PLAN `--SCAN kv VIRTUAL TABLE INDEX 0:full scan"

CREATE TABLE probe(k);
INSERT INTO probe VALUES (4), (5), ('b'), (1998);

.testcase a_join_puts_the_point_get_on_the_inner_loop
EXPLAIN QUERY PLAN SELECT probe.k, kv.value FROM probe JOIN kv ON kv.key = probe.k;
.check "QUERY PLAN |--SCAN probe `--SCAN kv VIRTUAL TABLE INDEX 0:key = ?"

.testcase a_join_written_the_other_way_round_gets_the_same_plan
EXPLAIN QUERY PLAN SELECT probe.k, kv.value FROM kv JOIN probe ON kv.key = probe.k;
.check "QUERY PLAN |--SCAN probe `--SCAN kv VIRTUAL TABLE INDEX 0:key = ?"

.testcase a_left_join_uses_the_point_get_too
EXPLAIN QUERY PLAN SELECT probe.k, kv.value FROM probe LEFT JOIN kv ON kv.key = probe.k;
.check "QUERY PLAN |--SCAN probe `--SCAN kv VIRTUAL TABLE INDEX 0:key = ? LEFT-JOIN"

-- ---- the answers ----

.testcase a_point_get_finds_the_row
SELECT value FROM kv WHERE key = 10;
SELECT count(*) FROM kv WHERE key = 11;
SELECT value FROM kv WHERE key = 10.0;
.check "v10 0 v10"

.testcase a_multi_get_returns_each_present_key_once_in_key_order
SELECT group_concat(quote(key), ' ') FROM kv WHERE key IN (30, 'a', 3, x'01', 10, 10.0, 'zz', NULL, 10);
.check "10 30 'a' X'01'"

.testcase a_multi_get_in_descending_order
SELECT group_concat(quote(key), ' ') FROM (SELECT key FROM kv WHERE key IN (30, 'a', 10) ORDER BY key DESC);
.check "'a' 30 10"

.testcase the_tightest_bounds_win
SELECT group_concat(key, ' ') FROM kv WHERE key > 10 AND key >= 12 AND key <= 20 AND key < 20;
SELECT group_concat(key, ' ') FROM kv WHERE key >= 10 AND key > 10 AND key < 16 AND key <= 16;
.check "12 14 16 18 12 14"

.testcase bounds_between_stored_keys_work
SELECT group_concat(key, ' ') FROM kv WHERE key > 9.5 AND key < 14.5;
.check "10 12 14"

.testcase a_number_bound_includes_the_text_and_blob_keys_above_it
SELECT group_concat(quote(key), ' ') FROM kv WHERE key > 1996;
.check "1998 'a' 'b' 'c' X'01'"

.testcase a_text_bound_excludes_the_numbers_below_it
SELECT group_concat(quote(key), ' ') FROM kv WHERE key < 'b' AND key >= '';
.check "'a'"

.testcase a_descending_scan_returns_the_range_backwards
SELECT group_concat(key, ' ') FROM (SELECT key FROM kv WHERE key >= 10 AND key <= 20 ORDER BY key DESC);
.check "20 18 16 14 12 10"

.testcase an_empty_or_inverted_range_returns_nothing
SELECT count(*) FROM kv WHERE key > 20 AND key < 10;
SELECT count(*) FROM kv WHERE key > 20 AND key <= 20;
SELECT count(*) FROM kv WHERE key >= 20 AND key <= 20;
.check "0 0 1"

.testcase a_null_bound_or_key_matches_nothing
SELECT count(*) FROM kv WHERE key > NULL;
SELECT count(*) FROM kv WHERE key = NULL;
SELECT count(*) FROM kv WHERE key IS NULL;
SELECT count(*) FROM kv WHERE key < 10 AND key >= NULL;
.check "0 0 0 0"

.testcase limit_and_offset_return_the_right_rows_both_ways
SELECT group_concat(key, ' ') FROM (SELECT key FROM kv ORDER BY key LIMIT 3 OFFSET 2);
SELECT group_concat(quote(key), ' ') FROM (SELECT key FROM kv ORDER BY key DESC LIMIT 3 OFFSET 2);
SELECT group_concat(key, ' ') FROM (SELECT key FROM kv WHERE key >= 100 AND key < 'a' ORDER BY key LIMIT -1 OFFSET 948);
SELECT count(*) FROM (SELECT key FROM kv LIMIT 0);
.check "4 6 8 'b' 'a' 1998 1996 1998 0"

.testcase a_limit_with_a_value_constraint_counts_matching_rows_only
SELECT group_concat(key, ' ') FROM (SELECT key FROM kv WHERE value LIKE 'v1%' ORDER BY key LIMIT 3);
.check "10 12 14"

.testcase a_nocase_constraint_on_the_key_is_answered_by_sqlite
SELECT group_concat(key, ' ') FROM kv WHERE key = 'A' COLLATE NOCASE;
.check "a"

.testcase a_join_returns_what_a_native_join_returns
SELECT group_concat(probe.k || '=' || kv.value, ' ') FROM probe JOIN kv ON kv.key = probe.k;
SELECT group_concat(probe.k || '=' || coalesce(kv.value, 'none'), ' ') FROM probe LEFT JOIN kv ON kv.key = probe.k;
.check "4=v4 b=text b 1998=v1998 4=v4 5=none b=text b 1998=v1998"

-- Every plan against the native table: each line is 1 when they agree.
.testcase every_plan_agrees_with_a_native_table
SELECT (SELECT group_concat(key) FROM kv WHERE key BETWEEN 100 AND 200)
     = (SELECT group_concat(key) FROM nat WHERE key BETWEEN 100 AND 200);
SELECT (SELECT group_concat(key) FROM (SELECT key FROM kv WHERE key < 50 ORDER BY key DESC))
     = (SELECT group_concat(key) FROM (SELECT key FROM nat WHERE key < 50 ORDER BY key DESC));
SELECT (SELECT group_concat(quote(key)) FROM (SELECT key FROM kv WHERE key >= 1990 ORDER BY key))
     = (SELECT group_concat(quote(key)) FROM (SELECT key FROM nat WHERE key >= 1990 ORDER BY key));
SELECT (SELECT group_concat(key) FROM kv WHERE key IN (SELECT value * 3 FROM generate_series(0, 700)))
     = (SELECT group_concat(key) FROM nat WHERE key IN (SELECT value * 3 FROM generate_series(0, 700)));
SELECT (SELECT count(*) FROM kv WHERE value > 'v5') = (SELECT count(*) FROM nat WHERE value > 'v5');
SELECT (SELECT group_concat(key) FROM (SELECT key FROM kv ORDER BY key DESC LIMIT 10 OFFSET 20))
     = (SELECT group_concat(key) FROM (SELECT key FROM nat ORDER BY key DESC LIMIT 10 OFFSET 20));
.check "1 1 1 1 1 1"
