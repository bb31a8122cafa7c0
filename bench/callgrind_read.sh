#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Instructions per cached REST read, Nimbus against baseline (a), with
# callgrind (docs/performance.md, "Side by side"): repeatable to about 200
# instructions a request, so it decides between two versions even while
# the machine's speed drifts. One keep-alive connection; 300 requests to
# warm up, counters zeroed, 2,000 requests, then the per-function costs
# of both in build/release/bench-run/callgrind-{nimbus,bytes}.out.
#
#   bench/callgrind_read.sh [PATH]      # default /v1/stations/bench-1
#
# Needs valgrind (scripts/deps --bench) and a release build with the bench
# programs (scripts/bench builds them, or: cmake --build --preset release
# --target nimbus_bench).
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/release
P=${1:-/v1/stations/bench-1}
OUT=$B/bench-run
mkdir -p "$OUT"
D=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$D"' EXIT

cat > "$D/load.py" <<'PY'
import socket, sys
port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
req = b"GET %s HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nUser-Agent: wrk\r\n\r\n" % path.encode()
s = socket.create_connection(("127.0.0.1", port)); f = s.makefile("rb")
for _ in range(n):
    s.sendall(req); line = f.readline(); assert b" 200 " in line, line
    length = 0
    while (h := f.readline()) not in (b"\r\n", b""):
        if h.lower().startswith(b"content-length:"): length = int(h.split(b":")[1])
    f.read(length)
PY

# measure NAME PORTFILE PID: warm up, zero, 2,000 requests, dump.
measure() {
    while [ ! -s "$2" ]; do sleep 0.2; done
    /usr/bin/python3 "$D/load.py" "$(cat "$2")" 300 "$P"
    callgrind_control -z "$3" >/dev/null 2>&1
    /usr/bin/python3 "$D/load.py" "$(cat "$2")" 2000 "$P"
    callgrind_control -d "$3" >/dev/null 2>&1
    kill "$3"; wait "$3" 2>/dev/null || true
    cp "$D/$1.out.1" "$OUT/callgrind-$1.out"
    total=$(callgrind_annotate "$OUT/callgrind-$1.out" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    echo "$1: $((total / 2000)) instructions a request"
}

valgrind --tool=callgrind --callgrind-out-file="$D/nimbus.out" $B/server/nimbus \
    --listen 127.0.0.1:0 --port-file "$D/port" --db "$D/db" --quiet --workers 1 2>/dev/null &
NPID=$!
while [ ! -s "$D/port" ]; do sleep 0.2; done
/usr/bin/python3 bench/harness.py --canned "$(cat "$D/port")" "$P" "$D/canned"
measure nimbus "$D/port" $NPID

valgrind --tool=callgrind --callgrind-out-file="$D/bytes.out" $B/bench/nimbus_bench_bytes \
    --listen 127.0.0.1:0 --port-file "$D/port2" --response "$P" "$D/canned" 2>/dev/null &
measure bytes "$D/port2" $!
echo "per function: callgrind_annotate $OUT/callgrind-nimbus.out (self cost; divide by 2,000)"
