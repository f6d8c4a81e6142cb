-- test_basic.sql — put, get, delete and replace semantics, changes(),
-- RETURNING, several value columns, where stores live and DROP TABLE.
--
-- Run by tests/run_sql.sh in a fresh temporary directory:
--     sqlite3 -bail -batch test.db ".load $LSM_SO" ".read sql/test_basic.sql"
-- Each case is a .testcase named as a sentence, then a .check of its
-- output (a GLOB where whitespace matches any whitespace).
.mode list
.headers off
-- lib.txt: the lsm.so under test ($LSM_SO, exported by tests/run_sql.sh),
-- for load_extension() after .open.
.system printf '%s' "$LSM_SO" > lib.txt

CREATE VIRTUAL TABLE kv USING lsm;

.testcase insert_then_point_get_returns_the_value
INSERT INTO kv VALUES ('apple', 'red');
SELECT value FROM kv WHERE key = 'apple';
.check "red"

.testcase get_of_an_absent_key_returns_no_row
SELECT count(*) FROM kv WHERE key = 'pear';
.check "0"

.testcase insert_over_an_existing_key_overwrites_it_blindly
INSERT INTO kv VALUES ('apple', 'green');
SELECT changes(), value FROM kv WHERE key = 'apple';
.check "1|green"

.testcase insert_or_ignore_keeps_the_existing_row
INSERT OR IGNORE INTO kv VALUES ('apple', 'yellow');
SELECT changes(), value FROM kv WHERE key = 'apple';
.check "0|green"

.testcase insert_or_ignore_adds_an_absent_key
INSERT OR IGNORE INTO kv VALUES ('banana', 'yellow');
SELECT changes(), value FROM kv WHERE key = 'banana';
.check "1|yellow"

.testcase insert_or_ignore_skips_a_null_key_as_a_native_table_does
INSERT OR IGNORE INTO kv VALUES (NULL, 'nothing');
SELECT changes(), count(*) FROM kv;
.check "0|2"

.testcase insert_or_ignore_of_many_rows_counts_only_the_new_ones
INSERT OR IGNORE INTO kv VALUES ('apple', 'x'), ('cherry', 'red'), (NULL, 'y'), ('banana', 'z');
SELECT changes(), group_concat(key || '=' || value, ' ') FROM (SELECT * FROM kv ORDER BY key);
.check "1|apple=green banana=yellow cherry=red"

.testcase replace_and_insert_or_replace_are_puts
REPLACE INTO kv VALUES ('cherry', 'dark red');
INSERT OR REPLACE INTO kv VALUES ('date', 'brown');
SELECT group_concat(key || '=' || value, ' ') FROM (SELECT * FROM kv ORDER BY key);
.check "apple=green banana=yellow cherry=dark red date=brown"

.testcase update_of_a_value_column_is_a_put_of_every_matching_row
UPDATE kv SET value = upper(value) WHERE key < 'c';
SELECT changes(), group_concat(key || '=' || value, ' ') FROM (SELECT * FROM kv ORDER BY key);
.check "2|apple=GREEN banana=YELLOW cherry=dark red date=brown"

.testcase update_of_the_key_moves_the_row
UPDATE kv SET key = 'elderberry' WHERE key = 'date';
SELECT changes(), group_concat(key || '=' || value, ' ') FROM (SELECT * FROM kv ORDER BY key);
.check "1|apple=GREEN banana=YELLOW cherry=dark red elderberry=brown"

.testcase update_or_replace_of_the_key_onto_an_existing_key_replaces_that_row
UPDATE OR REPLACE kv SET key = 'apple' WHERE key = 'banana';
SELECT group_concat(key || '=' || value, ' ') FROM (SELECT * FROM kv ORDER BY key);
.check "apple=YELLOW cherry=dark red elderberry=brown"

.testcase update_or_ignore_of_the_key_onto_an_existing_key_skips_the_row
UPDATE OR IGNORE kv SET key = 'apple' WHERE key = 'cherry';
SELECT changes(), group_concat(key || '=' || value, ' ') FROM (SELECT * FROM kv ORDER BY key);
.check "0|apple=YELLOW cherry=dark red elderberry=brown"

.testcase delete_removes_the_row_and_counts_it
DELETE FROM kv WHERE key = 'cherry';
SELECT changes(), group_concat(key, ' ') FROM (SELECT * FROM kv ORDER BY key);
.check "1|apple elderberry"

.testcase delete_of_an_absent_key_changes_nothing
DELETE FROM kv WHERE key = 'fig';
SELECT changes(), count(*) FROM kv;
.check "0|2"

.testcase delete_of_every_row_empties_the_table
DELETE FROM kv;
SELECT changes(), count(*) FROM kv;
.check "2|0"

.testcase insert_returning_gives_the_rows_written
INSERT INTO kv VALUES ('fig', 'purple'), (7, x'00ff') RETURNING key, typeof(value), hex(value);
.check "fig|text|707572706C65 7|blob|00FF"

.testcase total_changes_counts_every_write_of_the_connection
SELECT total_changes() > 0;
.check "1"

-- Several value columns: the first column is the key.
CREATE VIRTUAL TABLE users USING lsm(id, name, email);

.testcase a_table_with_value_columns_keeps_each_column
INSERT INTO users VALUES (1, 'ada', 'ada@example.com'), (2, 'bob', NULL);
SELECT id, name, coalesce(email, 'null') FROM users ORDER BY id;
.check "1|ada|ada@example.com 2|bob|null"

.testcase update_of_one_column_keeps_the_others
UPDATE users SET email = 'bob@example.com' WHERE id = 2;
SELECT name, email FROM users WHERE id = 2;
.check "bob|bob@example.com"

.testcase pragma_table_info_shows_the_declared_columns
SELECT group_concat(name || ':' || pk || ':' || "notnull", ' ') FROM pragma_table_info('users');
.check "id:1:1 name:0:0 email:0:0"

.testcase constraints_on_value_columns_are_answered_over_a_scan
SELECT id FROM users WHERE name = 'bob';
.check "2"

-- Where stores live.
.testcase the_default_store_is_in_the_database
SELECT (SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_schema
          WHERE name IN ('kv_file', 'kv_log') ORDER BY name)),
       (SELECT count(*) FROM fsdir('.') WHERE name LIKE '%.lsm');
.check "kv_file kv_log|0"

.testcase a_relative_store_path_is_resolved_beside_the_database
CREATE VIRTUAL TABLE named USING lsm('named.lsm', value_a, value_b);
INSERT INTO named VALUES (1, 2);
SELECT count(*) FROM fsdir('named.lsm') WHERE name = 'named.lsm';
.check "1"

.testcase a_store_path_of_memory_keeps_no_files
CREATE VIRTUAL TABLE mem USING lsm(':memory:');
INSERT INTO mem VALUES (1, 'one');
SELECT value, (SELECT count(*) FROM fsdir('.') WHERE name LIKE '%mem%') FROM mem;
.check "one|0"

.testcase rows_survive_closing_and_reopening_the_database
.open test.db
SELECT load_extension(readfile('lib.txt')) IS NULL;
SELECT group_concat(key || '=' || quote(value), ' ') FROM (SELECT * FROM kv ORDER BY key);
.check "1 7=X'00FF' fig='purple'"

.testcase alter_table_rename_renames_the_shadow_tables
ALTER TABLE kv RENAME TO kv2;
SELECT count(*) FROM kv2;
SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_schema
  WHERE name LIKE 'kv%' AND type = 'table' ORDER BY name);
.check "2 kv2 kv2_file kv2_log"

.testcase drop_table_drops_the_shadow_tables
DROP TABLE kv2;
SELECT count(*) FROM sqlite_schema WHERE name LIKE 'kv2%';
.check "0"

.testcase drop_table_keeps_files_the_store_did_not_make
SELECT writefile('named.lsm/notes.txt', 'mine') > 0;
DROP TABLE named;
SELECT group_concat(name, ' ') FROM fsdir('named.lsm');
.check "1 named.lsm named.lsm/notes.txt"
