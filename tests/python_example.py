#!/usr/bin/env python3
"""lsm from Python's sqlite3 module: the README's Python example.

    make && /usr/bin/python3 tests/python_example.py     # from the repository root

It loads ./lsm.so, creates a table, puts, gets, scans a range both ways, runs a
transaction that commits and one that rolls back, and reads lsm_stats as JSON.
Every step asserts what it expects, so `make test` runs this file as a test
(tests/run_python.sh).  Python's sqlite3 module must allow extensions: Debian's
/usr/bin/python3 does; some Pythons (e.g. pyenv builds) lack enable_load_extension.
LSM_EXTENSION names another build of the extension (default ./lsm).
"""
import json
import os
import sqlite3
import tempfile

EXTENSION = os.environ.get("LSM_EXTENSION", "./lsm")

with tempfile.TemporaryDirectory() as tmp:
    conn = sqlite3.connect(os.path.join(tmp, "fruit.db"))
    conn.enable_load_extension(True)
    conn.load_extension(EXTENSION)          # entry point sqlite3_lsm_init
    conn.enable_load_extension(False)

    # The rows live in an LSM tree in the directory fruit.db-kv.lsm beside fruit.db.
    conn.execute("CREATE VIRTUAL TABLE kv USING lsm")

    # Put: INSERT is a blind write, so putting a key again overwrites it.
    with conn:                              # one transaction, committed at the end
        conn.executemany("INSERT INTO kv VALUES (?, ?)",
                         [("apple", "red"), ("banana", "yellow"), ("cherry", "red")])
        conn.execute("INSERT INTO kv VALUES ('apple', 'green')")
        conn.execute("INSERT INTO kv VALUES (?, ?)", (42, b"\x00\xff"))  # any types

    # Get.
    (colour,) = conn.execute("SELECT value FROM kv WHERE key = ?", ("apple",)).fetchone()
    assert colour == "green", colour
    assert conn.execute("SELECT value FROM kv WHERE key = 'kiwi'").fetchone() is None

    # Range scan, in key order and in reverse; numbers sort before text.
    rows = conn.execute("SELECT key, value FROM kv WHERE key >= 'b' AND key < 'd' "
                        "ORDER BY key").fetchall()
    assert rows == [("banana", "yellow"), ("cherry", "red")], rows
    keys = [key for (key,) in conn.execute("SELECT key FROM kv ORDER BY key DESC")]
    assert keys == ["cherry", "banana", "apple", 42], keys

    # A transaction is all or nothing: this one fails, so neither write stays.
    try:
        with conn:
            conn.execute("DELETE FROM kv WHERE key = 'banana'")
            conn.execute("INSERT INTO kv VALUES (NULL, 'no key')")   # constraint error
    except sqlite3.IntegrityError as e:
        print("rolled back:", e)
    assert conn.execute("SELECT count(*) FROM kv WHERE key = 'banana'").fetchone() == (1,)

    # Flush the memtable to an SSTable, then read the statistics as JSON.
    conn.execute("SELECT lsm_flush('kv')")
    stats = json.loads(conn.execute("SELECT lsm_stats('kv')").fetchone()[0])
    files = sum(level["files"] for level in stats["levels"])
    assert files >= 1 and stats["memtable"]["entries"] == 0, stats
    print("SSTables:", files, " write amplification:",
          stats["writes"]["write_amplification"])

    summary = json.loads(conn.execute("SELECT lsm_compact('kv')").fetchone()[0])
    assert summary["entries_after"] == 4, summary
    conn.close()

print("python example: ok")
