#!/bin/sh
# readme_test.sh — the README's SQL examples run as written: the first
# ```sql block after each heading below is run through the sqlite3 shell
# on a new database file, with lsm.so loaded ($LSM_SO, default ./lsm.so;
# the block's own ".load ./lsm" line is that load).  Also: LICENSE exists,
# and CHANGELOG.md has an entry for the version in ext/sqlite3_lsm.h.
# Run by make sql-test.
set -eu
top=$(pwd)
so=${LSM_SO:-$top/lsm.so}
case $so in /*) ;; *) so=$top/$so ;; esac
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
n=0
for heading in "# lsm — a log-structured merge tree inside SQLite" "### Creating a table"; do
  awk -v h="$heading" '$0 == h {f = 1} f && /^```sql/ {p = 1; next} p && /^```/ {exit} p {print}' \
    README.md | grep -v '^\.load \./lsm' > "$dir/block.sql"
  [ -s "$dir/block.sql" ] || { echo "readme_test: no sql block under '$heading'"; exit 1; }
  rm -rf "$dir/db"; mkdir "$dir/db"
  if ! (cd "$dir/db" && sqlite3 -bail -batch test.db ".load $so" ".read $dir/block.sql" \
          > "$dir/out" 2>&1); then
    echo "FAILED: README.md, the sql block under '$heading':"; sed 's/^/    /' "$dir/out"
    exit 1
  fi
  n=$((n + 1))
done
[ -s LICENSE ] || { echo "readme_test: no LICENSE"; exit 1; }
version=$(sed -n 's/^#define LSM_VERSION  *"\(.*\)"/\1/p' ext/sqlite3_lsm.h)
grep -q "^## $version " CHANGELOG.md \
  || { echo "readme_test: CHANGELOG.md has no '## $version' entry"; exit 1; }
echo "ok: README.md ($n SQL blocks run as written), LICENSE, CHANGELOG.md ($version)"
