-- test_store_options.sql — options that do not apply to a kind of store
-- are refused at CREATE with a message naming the option and the reason,
-- and create nothing: sync= and mmap= name files that only a directory
-- store has; readonly=on on a new in-database table has nothing to read.
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

INSERT INTO child VALUES ('inapplicable', '
CREATE VIRTUAL TABLE t1 USING lsm(mmap=off);
CREATE VIRTUAL TABLE t2 USING lsm('':memory:'', sync=full);
CREATE VIRTUAL TABLE t3 USING lsm('':memory:'', mmap=on);
CREATE VIRTUAL TABLE t4 USING lsm(readonly=on);
SELECT count(*) FROM sqlite_schema;
CREATE VIRTUAL TABLE d USING lsm(''d.lsm'', mmap=off, sync=full);
CREATE VIRTUAL TABLE m USING lsm('':memory:'', bloom_bits=0);
SELECT group_concat(name, '' '') FROM sqlite_schema WHERE type = ''table'' AND sql LIKE ''CREATE VIRTUAL%'';
');
.system sh run.sh inapplicable

.testcase options_a_kind_of_store_cannot_use_are_refused_naming_why
SELECT readfile('inapplicable.err');
.check "Runtime error near line #: mmap= applies only to a store in a directory: a table in the database file reads its blocks through SQLite Runtime error near line #: sync= applies only to a store in a directory: an in-memory store (':memory:') has no files Runtime error near line #: mmap= applies only to a store in a directory: an in-memory store (':memory:') has no files Runtime error near line #: readonly=on: the new table t4 would have no store to read; create it without readonly=on"

.testcase they_create_nothing_and_the_options_that_apply_are_accepted
SELECT readfile('inapplicable.out');
.check "0 d m"
