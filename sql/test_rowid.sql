-- test_rowid.sql — the hidden column _rowid_: tools that address rows by
-- _rowid_ (DB Browser for SQLite 3.12 reads SELECT "_rowid_",* and edits a
-- cell with UPDATE ... WHERE "_rowid_"=?) address exactly one row, never
-- every row; _rowid_ is the key for plans too; writing it apart from the
-- key is refused.
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

CREATE VIRTUAL TABLE kv USING lsm;
INSERT INTO kv VALUES ('a', 'one'), ('b', 'two'), ('c', 'three'), (4, 'four');

.testcase the_gui_browse_query_reads_rowid_as_the_key
SELECT "_rowid_",* FROM "main"."kv" ORDER BY 1;
.check "4|4|four a|a|one b|b|two c|c|three"

.testcase select_star_and_table_info_do_not_show_rowid
SELECT group_concat(name, ' ') FROM pragma_table_info('kv');
SELECT * FROM kv WHERE key = 'a';
.check "key value a|one"

-- The exact statement the GUI prepares to edit one cell, with its two
-- parameters bound as it binds them.
.param set ?1 "'edited'"
.param set ?2 "'b'"
.testcase the_gui_cell_edit_changes_one_row_only
UPDATE "main"."kv" SET "value"=? WHERE "_rowid_"=?;
SELECT changes();
SELECT group_concat(key || '=' || value, ' ') FROM kv;
.check "1 4=four a=one b=edited c=three"
.param clear

.testcase an_integer_rowid_addresses_an_integer_key
UPDATE kv SET value = 'FOUR' WHERE "_rowid_" = 4;
SELECT changes(), (SELECT value FROM kv WHERE key = 4);
.check "1|FOUR"

.testcase a_rowid_that_is_no_key_addresses_nothing
UPDATE kv SET value = 'x' WHERE "_rowid_" = 'nope';
SELECT changes(), count(*) FROM kv WHERE value = 'x';
.check "0|0"

.testcase delete_by_rowid_deletes_one_row
DELETE FROM kv WHERE "_rowid_" = 'c';
SELECT changes(), group_concat(key, ' ') FROM kv;
.check "1|4 a b"

.testcase rowid_constraints_and_order_are_key_plans
EXPLAIN QUERY PLAN SELECT * FROM kv WHERE "_rowid_" = ?;
EXPLAIN QUERY PLAN SELECT * FROM kv WHERE _rowid_ > 'a' ORDER BY _rowid_ DESC;
.check "QUERY PLAN `--SCAN kv VIRTUAL TABLE INDEX 0:key = ? QUERY PLAN `--SCAN kv VIRTUAL TABLE INDEX 3:key > ? ORDER BY key DESC"

.testcase changing_the_key_keeps_rowid_in_step
UPDATE kv SET key = 'z' WHERE "_rowid_" = 'a';
SELECT "_rowid_", key, value FROM kv WHERE "_rowid_" = 'z';
.check "z|z|one"

.testcase a_table_with_its_own_rowid_column_keeps_it
CREATE VIRTUAL TABLE own USING lsm(':memory:', k, _rowid_);
INSERT INTO own VALUES (1, 'mine');
SELECT "_rowid_", * FROM own;
.check "mine|1|mine"

INSERT INTO child VALUES ('set_rowid', '
CREATE VIRTUAL TABLE kv USING lsm;
INSERT INTO kv VALUES (''a'', 1);
UPDATE kv SET "_rowid_" = ''z'' WHERE key = ''a'';
INSERT INTO kv(key, value, _rowid_) VALUES (''b'', 2, ''c'');
SELECT "_rowid_", key, value FROM kv;
');
.system sh run.sh set_rowid

.testcase writing_rowid_apart_from_the_key_is_refused
SELECT readfile('set_rowid.err');
.check "Runtime error near line #: cannot set _rowid_ of lsm table kv: it is the key; set key instead (19) Runtime error near line #: cannot set _rowid_ of lsm table kv: it is the key; set key instead (19)"

.testcase and_changes_nothing
SELECT readfile('set_rowid.out');
.check "a|a|1"
