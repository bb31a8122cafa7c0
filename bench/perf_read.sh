#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Where a cached REST read's CPU goes, Nimbus against baseline (a), with
# perf: both servers pinned to CPU 0 and loaded at the same time (one
# `wrk -c50` each on CPU 1, as scripts/bench measures rows 1-3), one
# `perf record -e cpu-clock -C 0` over both, then each symbol's CPU time
# per request for each server, in nanoseconds, and the difference
# (docs/performance.md, "Side by side"). Unlike bench/callgrind_read.sh,
# which counts user-space instructions only, this sees the kernel's share
# and what instructions cost (cache misses, atomics); a symbol's figure
# moves by about 10% between runs.
#
#   bench/perf_read.sh [PATH] [TOP]     # default /v1/stations/bench-1, 30 rows
#
# Needs perf (linux-perf) and a release build with the bench programs
# (scripts/bench builds them).
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/release
P=${1:-/v1/stations/bench-1}
TOP=${2:-30}
D=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$D"' EXIT

taskset -c 0 $B/server/nimbus --listen 127.0.0.1:0 --port-file "$D/port" --db "$D/db" --quiet \
    --workers 1 2>/dev/null &
while [ ! -s "$D/port" ]; do sleep 0.2; done
/usr/bin/python3 bench/harness.py --canned "$(cat "$D/port")" "$P" "$D/canned"
taskset -c 0 $B/bench/nimbus_bench_bytes --listen 127.0.0.1:0 --port-file "$D/port2" \
    --response "$P" "$D/canned" &
while [ ! -s "$D/port2" ]; do sleep 0.2; done

taskset -c 1 wrk -t1 -c50 -d14s "http://127.0.0.1:$(cat "$D/port")$P" >"$D/wrk-nimbus" &
W1=$!
taskset -c 1 wrk -t1 -c50 -d14s "http://127.0.0.1:$(cat "$D/port2")$P" >"$D/wrk-bytes" &
W2=$!
sleep 2 # both warm, the connections open
perf record -q -e cpu-clock -C 0 -o "$D/perf.data" -- sleep 10 >/dev/null 2>&1
wait $W1 $W2
perf report -i "$D/perf.data" --no-children --sort comm,dso,symbol 2>/dev/null >"$D/report"

/usr/bin/python3 - "$D" "$TOP" <<'PY'
import collections, re, sys
d, top = sys.argv[1], int(sys.argv[2])
rps = {}
for who in ("nimbus", "bytes"):
    rps[who] = float(re.search(r"Requests/sec:\s+([\d.]+)", open(d + "/wrk-" + who).read()).group(1))
ns = {"nimbus": collections.Counter(), "bytes": collections.Counter()}
for line in open(d + "/report"):
    m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+(\S+)\s+\[.\]\s+(\S+)", line)
    if not m:
        continue
    pct, comm, dso, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4)
    who = "nimbus" if comm == "nimbus" else "bytes" if comm.startswith("nimbus_bench") else None
    if who:  # share of CPU 0's time, over requests a second: ns of CPU a request
        ns[who][(dso, sym)] += pct / 100 / rps[who] * 1e9
tn, tb = sum(ns["nimbus"].values()), sum(ns["bytes"].values())
print("req/s side by side: Nimbus %.0f, baseline (a) %.0f" % (rps["nimbus"], rps["bytes"]))
print("CPU a request: Nimbus %.0f ns, baseline (a) %.0f ns; baseline/Nimbus %.3f" % (tn, tb, tb / tn))
print("\nby object, ns a request:     Nimbus  baseline   diff")
objs = collections.defaultdict(lambda: [0.0, 0.0])
for i, who in enumerate(("nimbus", "bytes")):
    for (dso, _), v in ns[who].items():
        objs["baseline's own" if dso.startswith("nimbus_bench") else dso][i] += v
for dso, (a, b) in sorted(objs.items(), key=lambda kv: -(kv[1][0] - kv[1][1])):
    print("  %-28s %7.0f %8.0f %+7.0f" % (dso[:28], a, b, a - b))
print("\nthe %d symbols Nimbus spends most more on, ns a request:" % top)
keys = set(ns["nimbus"]) | set(ns["bytes"])
for k in sorted(keys, key=lambda k: -(ns["nimbus"][k] - ns["bytes"][k]))[:top]:
    a, b = ns["nimbus"][k], ns["bytes"][k]
    print("  %7.0f %7.0f %+6.0f  %s %s" % (a, b, a - b, k[0], k[1]))
PY
