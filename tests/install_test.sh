#!/bin/sh
# install_test.sh — make install into a temporary DESTDIR, then use the
# installed files as the README says: .load the extension by its path,
# ask pkg-config for the version and flags, build tests/static_link.c
# against the installed header and archive and run it; then make
# uninstall and check that nothing is left.  Run by make static-test.
set -eu
top=$(pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
fail() { echo "install test: $*"; exit 1; }

make -s --no-print-directory install DESTDIR="$dest" PREFIX=/usr/local > "$dest/make.out" 2>&1 \
  || { cat "$dest/make.out"; fail "make install failed"; }
root=$dest/usr/local
for f in lib/lsm.so lib/libsqlite3_lsm.a include/sqlite3_lsm.h include/sqlite3_lsm_engine.h \
         lib/pkgconfig/sqlite3-lsm.pc; do
  [ -f "$root/$f" ] || fail "missing $root/$f"
done
want=$(sed -n 's/^#define LSM_VERSION  *"\(.*\)"/\1/p' ext/sqlite3_lsm.h)

# .load by path (the README's way), from another directory.
got=$(cd / && sqlite3 :memory: ".load $root/lib/lsm" "SELECT lsm_version();" 2>&1) || true
[ "$got" = "$want" ] || fail ".load $root/lib/lsm: got '$got', want '$want'"

# pkg-config, with the DESTDIR as the sysroot of the installed paths.
export PKG_CONFIG_PATH="$root/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest"
got=$(pkg-config --modversion sqlite3-lsm)
[ "$got" = "$want" ] || fail "pkg-config --modversion: got '$got', want '$want'"
ext=$(pkg-config --variable=extension sqlite3-lsm)
[ "$ext" = "$dest/usr/local/lib/lsm" ] || fail "pkg-config --variable=extension: got '$ext'"
got=$(sqlite3 :memory: ".load $ext" "SELECT count(*) FROM pragma_module_list WHERE name = 'lsm';")
[ "$got" = 1 ] || fail ".load of the pkg-config extension path: got '$got'"

# A program built from the installed header and archive alone.
${CC:-cc} -std=c11 -Wall -Wextra -Werror -o "$dest/static_link" tests/static_link.c \
  $(pkg-config --cflags --libs sqlite3-lsm) \
  || fail "cannot build tests/static_link.c against the installed files"
"$dest/static_link" > "$dest/run.out" 2>&1 || { cat "$dest/run.out"; fail "static_link failed"; }

make -s --no-print-directory uninstall DESTDIR="$dest" PREFIX=/usr/local > /dev/null
left=$(cd "$dest" && find usr -type f)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "install test: ok (install, .load, pkg-config, static link, uninstall)"
