#!/bin/sh
# Runs each Check program given; prints a summary; fails if any failed.
failed=0
for t in "$@"; do
  if ! "$t"; then
    echo "FAILED: $t"
    failed=$((failed + 1))
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "$failed test program(s) failed"
  exit 1
fi
echo "all $# test programs passed"
