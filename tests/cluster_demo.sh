#!/bin/sh
# make cluster-demo: three lsm nodes (build/lsm-node) on 127.0.0.1, a table
# written through the dqlite shell (go-dqlite), the leader SIGKILLed, a new
# leader elected and read from, the killed node restarted and caught up.
# Ports CLUSTER_DEMO_PORT .. +2 (default 29001); everything it starts and
# makes is removed at the end, also when it fails.
set -u
cd "$(dirname "$0")/.."
NODE=build/lsm-node
CLI=build/lsm-cluster
if [ ! -x "$NODE" ] || ! command -v dqlite >/dev/null 2>&1; then
  echo "cluster-demo needs build/lsm-node and the dqlite shell; run: apt-get install -y libdqlite-dev go-dqlite"
  exit 1
fi
PORT=${CLUSTER_DEMO_PORT:-29001}
DIR=$(mktemp -d /tmp/lsm-cluster-demo-XXXXXX)
A1=127.0.0.1:$PORT; A2=127.0.0.1:$((PORT + 1)); A3=127.0.0.1:$((PORT + 2))
ALL=$A1,$A2,$A3
PIDS=""

cleanup() {
  for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

addr() { eval echo "\$A$1"; }
start() {   # start node $1 (2 and 3 join through node 1 the first time)
  join=""; [ "$1" != 1 ] && join="--join $A1"
  $NODE --id "$1" --address "$(addr "$1")" --dir "$DIR/n$1" --latency-ms 40 $join \
    2>>"$DIR/n$1.log" &
  eval "PID$1=$!"
  PIDS="$PIDS $!"
}
say() { printf '\n== %s\n' "$*"; }
shell() {   # the shell prints its usage after an error: keep only the error
  echo "\$ dqlite -s $ALL demo.db \"$1\""
  dqlite -s "$ALL" demo.db "$1" 2>&1 | sed '/^Usage:/,$d'
}

say "three nodes on $A1 $A2 $A3 (data in $DIR)"
start 1; sleep 0.3; start 2; start 3
for i in $(seq 1 100); do
  [ "$($CLI -s $A1 nodes 2>/dev/null | grep -c voter)" = 3 ] && break
  sleep 0.1
done
$CLI -s $A1 nodes

say "a table in the database file, written and read through the dqlite shell"
shell "CREATE VIRTUAL TABLE kv USING lsm"
shell "INSERT INTO kv VALUES('apple', 'red')"
shell "INSERT INTO kv VALUES('banana', 'yellow')"
shell "INSERT INTO kv VALUES('cherry', 'red')"
shell "DELETE FROM kv WHERE key = 'banana'"
shell "SELECT key, value FROM kv ORDER BY key"
shell "SELECT lsm_flush('kv')"
shell "SELECT level, file, entries FROM lsm_files('kv')"

say "a directory store is refused: its files would stay on one host"
shell "CREATE VIRTUAL TABLE local USING lsm('local.lsm')"

LEADER=$($CLI -s $ALL leader | cut -d' ' -f1)
say "kill -9 the leader, node $LEADER"
eval "kill -9 \$PID$LEADER"
T0=$(date +%s%N)
NEW=""
for i in $(seq 1 300); do
  NEW=$($CLI -s $ALL leader 2>/dev/null | cut -d' ' -f1)
  [ -n "$NEW" ] && [ "$NEW" != "$LEADER" ] && break
  sleep 0.05
done
echo "node $NEW leads after $(( ($(date +%s%N) - T0) / 1000000 )) ms"

say "the rows, read from the new leader; one more written while node $LEADER is down"
shell "SELECT key, value FROM kv ORDER BY key"
shell "INSERT INTO kv VALUES('date', 'brown')"

say "node $LEADER restarted; leadership handed to it; it has every row"
start "$LEADER"
for i in $(seq 1 100); do
  $CLI -s $ALL transfer "$LEADER" 2>/dev/null
  [ "$($CLI -s $ALL leader 2>/dev/null | cut -d' ' -f1)" = "$LEADER" ] && break
  sleep 0.2
done
$CLI -s $ALL leader
shell "SELECT key, value FROM kv ORDER BY key"
shell "SELECT level, file, entries FROM lsm_files('kv')"
shell "SELECT lsm_check('kv')"

say "done: stopping the nodes and removing $DIR"
