#!/bin/sh
# Runs the Check programs given, LSM_TEST_JOBS of them at a time (default:
# the number of CPUs; most programs keep one busy), prints each program's
# output in one piece when it ends, with its time, then a summary; fails if
# any program failed.  The slowest programs start first, so that the last
# to end is not a long one started late.  Programs do not meet: each makes
# its own temporary directories (tests/testutil.c, mkdtemp).
#
#   sh tests/run_unit.sh build/tests/test_db build/tests/test_sst ...
#   LSM_TEST_JOBS=1 sh tests/run_unit.sh ...     one at a time
#
# (Internally, `run_unit.sh --one PROGRAM DIR` runs one program for xargs.)

if [ "${1:-}" = --one ]; then
  t=$2; dir=$3
  log="$dir/$(echo "$t" | tr / _).log"
  start=$(date +%s)
  if "$t" >"$log" 2>&1; then status=passed; else status=FAILED; fi
  secs=$(( $(date +%s) - start ))
  # Printed under a lock: two programs' outputs never interleave.
  # shellcheck disable=SC2016  # the inner sh expands them
  flock "$dir/print.lock" sh -c 'cat "$1"; echo "$2: $3 in $4 s"; echo "$3 $2" >>"$5"' \
    _ "$log" "$t" "$status" "$secs" "$dir/results"
  exit 0
fi

jobs=${LSM_TEST_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
out=$(mktemp -d "${TMPDIR:-/tmp}/lsm-unit-XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
trap 'exit 130' INT TERM

# The programs that took longest under ASan+UBSan, longest first; the
# rest in the order given.
slow="test_sst test_compaction test_l0slice test_indb_write test_fault_sweep
      test_indb test_differential test_db"
ordered=
for name in $slow; do
  for t in "$@"; do
    case "$t" in */"$name"|"$name") ordered="$ordered $t" ;; esac
  done
done
for t in "$@"; do
  case " $ordered " in *" $t "*) ;; *) ordered="$ordered $t" ;; esac
done

echo "running $# test programs, $jobs at a time"
# shellcheck disable=SC2086  # one word per program
printf '%s\n' $ordered | xargs -P "$jobs" -I{} sh "$0" --one {} "$out"
: >>"$out/results"
passed=$(grep -c '^passed ' "$out/results")
failed=$(grep '^FAILED ' "$out/results" | sed 's/^FAILED //')
if [ "$passed" -ne $# ]; then
  for t in $failed; do echo "FAILED: $t"; done
  echo "$(( $# - passed )) of $# test program(s) failed or did not finish"
  exit 1
fi
echo "all $# test programs passed"
