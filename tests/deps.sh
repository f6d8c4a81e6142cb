#!/bin/sh
# Installs what a fresh Debian 12 machine lacks for building and testing,
# or prints the exact command when not root.
need=""
have_pkg() { dpkg -s "$1" >/dev/null 2>&1; }
for p in libsqlite3-dev sqlite3 libxxhash-dev liblz4-dev libzstd-dev check pkg-config; do
  have_pkg "$p" || need="$need $p"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "installing:$need"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null \
    || { echo "apt-get install failed:$need"; exit 1; }
else
  echo "missing packages; run: sudo apt-get install -y$need"
  exit 1
fi
