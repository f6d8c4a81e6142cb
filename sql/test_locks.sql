-- test_locks.sql — how a directory store is locked between processes: a
-- database opened read-only opens its stores read-only (shared lock, no
-- file changed); read-only opens share, a writer is kept out; a writer
-- waits up to the busy timeout for a store another process holds; a
-- readonly=on open works without write permission on the store.
--
-- Run by tests/run_sql.sh: sqlite3 -bail -batch test.db ".load $LSM_SO" ".read <this>"
-- Each process is a child sqlite3 run by .system; their output lands in
-- files that the checks read back.
.mode list
.headers off

-- lsm.so copied here, readable by every user (the repository may not be).
.system mkdir lib && cp "$LSM_SO" lib/lsm.so && chmod 755 . lib lib/lsm.so
-- hold.sh NAME DB SECONDS [SQLITE3 OPTIONS]: a process that opens table kv
-- of DB, says so by creating file NAME.held, and keeps it open SECONDS.
.output /dev/null
SELECT writefile('hold.sh',
  'db=$2; secs=$3; name=$1; shift 3' || char(10) ||
  'sqlite3 -batch "$@" -cmd ".load ./lib/lsm.so" "$db" "SELECT count(*) FROM kv;" ".system touch $name.held" ".system sleep $secs" > $name.out 2>&1 &' || char(10) ||
  'while [ ! -e $name.held ] && [ ! -s $name.out ]; do sleep 0.02; done' || char(10));
-- q.sh NAME DB SQL [SQLITE3 OPTIONS]: run SQL in a new process; NAME.out.
SELECT writefile('q.sh',
  'name=$1; db=$2; sql=$3; shift 3' || char(10) ||
  'sqlite3 -batch "$@" -cmd ".load ./lib/lsm.so" "$db" "$sql" > $name.out 2>&1' || char(10) ||
  'exit 0' || char(10));
-- state.sh: the store's file names and checksums, to compare before and after.
SELECT writefile('state.sh', 'cd store.db-kv.lsm && ls -l --time-style=+ | awk ''{print $1, $5, $6}'' && md5sum *' || char(10));
.output

.system sh q.sh make store.db "CREATE VIRTUAL TABLE kv USING lsm('store.db-kv.lsm'); INSERT INTO kv SELECT value, 'v' || value FROM generate_series(1, 100);"
.system sh state.sh > before.txt

-- ---- a read-only database ----

.system sh q.sh ro store.db "SELECT count(*), max(value) FROM kv;" -readonly
.system sh state.sh > after.txt

.testcase a_read_only_database_reads_its_store
SELECT readfile('ro.out');
.check "100|v99"

.testcase and_changes_no_file_of_it
SELECT readfile('before.txt') = readfile('after.txt'), CAST(readfile('after.txt') AS TEXT) LIKE '%.wal%MANIFEST%';
.check "1|1"

.system sh q.sh ro_write store.db "SELECT lsm_flush('kv');" -readonly
.system sh q.sh ro_write2 store.db "SELECT lsm_compact();" -readonly

.testcase writes_through_a_read_only_database_are_refused
SELECT readfile('ro_write.out');
SELECT json_array_length(readfile('ro_write2.out'), '$.tables');
.check "Error: stepping, lsm_flush: cannot modify kv: the database was opened read-only (8) 0"

-- While one read-only process has the store open, another one can open
-- it too (the lock is shared), and a writer cannot.
.system sh hold.sh holder store.db 3 -readonly
.system sh q.sh ro2 store.db "SELECT count(*) FROM kv;" -readonly
.system sh q.sh rw store.db "SELECT count(*) FROM kv;"

.testcase read_only_processes_share_the_store_and_keep_a_writer_out
SELECT readfile('ro2.out');
SELECT readfile('rw.out');
.check "100 Error: in prepare, the store is locked by another process (lock file */store.db-kv.lsm/LOCK) (5)"

-- ---- the busy timeout ----

-- holder2 waits for holder to close the store, then holds it 3 seconds.
.system sh hold.sh holder2 store.db 3 -cmd ".timeout 20000"
.system sh q.sh busy0 store.db "SELECT count(*) FROM kv;"
.system sh q.sh busy_short store.db "SELECT count(*) FROM kv;" -cmd ".timeout 200"
.system sh q.sh busy_long store.db "SELECT count(*) FROM kv;" -cmd ".timeout 20000"

.testcase without_a_busy_timeout_a_locked_store_fails_at_once
SELECT readfile('busy0.out');
.check "Error: in prepare, the store is locked by another process (lock file */store.db-kv.lsm/LOCK) (5)"

.testcase a_short_busy_timeout_waits_then_fails
SELECT readfile('busy_short.out');
.check "Error: in prepare, the store is locked by another process (lock file */store.db-kv.lsm/LOCK) (5)"

.testcase a_long_enough_busy_timeout_waits_for_the_other_process
SELECT readfile('busy_long.out');
.check "100"

-- ---- readonly=on without write permission ----

-- As another user (root runs this as nobody), or with the files made
-- read-only for a user who is not root: LOCK cannot be opened for writing,
-- and neither can the database files (SQLite then opens them read-only).
.system sh q.sh make_ro ro.db "CREATE VIRTUAL TABLE r USING lsm('store.db-kv.lsm', readonly=on);"
.system chmod 644 ro.db
.system sh state.sh > before2.txt
.output /dev/null
SELECT writefile('as_other.sh',
  'if [ "$(id -u)" = 0 ]; then' || char(10) ||
  '  exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"' || char(10) ||
  'fi' || char(10) ||
  'chmod 555 store.db-kv.lsm && chmod 444 store.db-kv.lsm/* store.db ro.db' || char(10) ||
  '"$@"; rc=$?' || char(10) ||
  'chmod 755 store.db-kv.lsm && chmod 644 store.db-kv.lsm/* store.db ro.db; exit $rc' || char(10));
.output
.system sh as_other.sh sqlite3 -batch -cmd ".load ./lib/lsm.so" ro.db "SELECT count(*), min(key) FROM r;" > ro_perm.out 2>&1
.system sh as_other.sh sqlite3 -batch -cmd ".load ./lib/lsm.so" store.db "SELECT count(*) FROM kv;" > ro_perm_rw.out 2>&1
.system sh state.sh > after2.txt

.testcase readonly_on_opens_a_store_whose_lock_file_it_cannot_write
SELECT readfile('ro_perm.out');
.check "100|1"

.testcase a_database_the_user_cannot_write_opens_its_store_read_only_too
SELECT readfile('ro_perm_rw.out'), readfile('before2.txt') = readfile('after2.txt');
.check "100 |1"
