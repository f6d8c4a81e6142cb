#!/bin/sh
# Runs every sql/test_*.sql through the sqlite3 shell in a fresh temporary
# directory (the shell's .testcase writes testcase-out.txt to the cwd).
set -u
top=$(pwd)
sqlite=${SQLITE3:-sqlite3}
failed=0; n=0
for f in "$top"/sql/test_*.sql; do
  [ -e "$f" ] || continue
  n=$((n + 1))
  dir=$(mktemp -d)
  if ! (cd "$dir" && "$sqlite" -bail -batch test.db ".load $top/lsm" ".read $f" > out.txt 2>&1); then
    echo "FAILED: $(basename "$f")"; sed 's/^/    /' "$dir/out.txt" | tail -20
    failed=$((failed + 1))
  else
    echo "ok: $(basename "$f")"
  fi
  rm -rf "$dir"
done
[ "$failed" -eq 0 ] || { echo "$failed of $n SQL test scripts failed"; exit 1; }
echo "all $n SQL test scripts passed"
