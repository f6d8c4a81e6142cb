#!/bin/sh
# Runs tests/python_example.py (the README's Python example) against ./lsm.so.
# Uses $PYTHON if set, else the first of /usr/bin/python3 and python3 whose
# sqlite3 module can load extensions (pyenv builds often cannot).  With none
# it says so and what to install, and skips rather than fails: the example
# needs Python, the product does not.
set -u
can_load() {
  "$1" -c 'import sqlite3; sqlite3.connect(":memory:").enable_load_extension(True)' \
    >/dev/null 2>&1
}
py=""
for c in ${PYTHON:-} /usr/bin/python3 python3; do
  if command -v "$c" >/dev/null 2>&1 && can_load "$c"; then py=$c; break; fi
done
if [ -z "$py" ]; then
  echo "skipped: tests/python_example.py: no python3 whose sqlite3 module can load" \
       "extensions (Debian: apt-get install python3)"
  exit 0
fi
if "$py" tests/python_example.py > /dev/null; then
  echo "ok: tests/python_example.py ($py)"
else
  echo "FAILED: tests/python_example.py ($py)"
  exit 1
fi
