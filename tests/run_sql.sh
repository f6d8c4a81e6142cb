#!/bin/sh
# Runs every sql/test_*.sql through the sqlite3 shell in a fresh temporary
# directory (the shell's .testcase writes testcase-out.txt to the cwd).
#
# LSM_SO, exported, is the absolute path of the extension under test
# (default ./lsm.so): each script is started with ".load $LSM_SO", and a
# script that needs the path again (load_extension() after .open, or a
# child sqlite3 started with .system) reads it from the environment.
set -u
top=$(pwd)
sqlite=${SQLITE3:-sqlite3}
LSM_SO=${LSM_SO:-$top/lsm.so}
case $LSM_SO in /*) ;; *) LSM_SO=$top/$LSM_SO ;; esac
export LSM_SO
[ -f "$LSM_SO" ] || { echo "run_sql.sh: $LSM_SO not found (make lsm.so)"; exit 1; }
failed=0; n=0
for f in "$top"/sql/test_*.sql; do
  [ -e "$f" ] || continue
  n=$((n + 1))
  dir=$(mktemp -d)
  if ! (cd "$dir" && "$sqlite" -bail -batch test.db ".load $LSM_SO" ".read $f" > out.txt 2>&1); then
    echo "FAILED: $(basename "$f")"; sed 's/^/    /' "$dir/out.txt" | tail -20
    failed=$((failed + 1))
  else
    echo "ok: $(basename "$f")"
  fi
  rm -rf "$dir"
done
[ "$failed" -eq 0 ] || { echo "$failed of $n SQL test scripts failed"; exit 1; }
echo "all $n SQL test scripts passed"
