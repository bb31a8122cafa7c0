# SPDX-License-Identifier: GPL-3.0-or-later
# Shared by the bench/ scripts (sourced, not run, after `here` is set to
# bench/): read the knobs, start nimbus on an ephemeral loopback port with a
# fresh database, seed station bench-1 with a day of observations, and
# provide run(), which runs wrk and prints requests/s.
# Knobs: the script's first argument (the nimbus binary, default
# build/release/server/nimbus), WORKERS (2), THREADS (2), CONNECTIONS (32),
# DURATION (10s).

bin=${1:-$(dirname "$here")/build/release/server/nimbus}
workers=${WORKERS:-2}
threads=${THREADS:-2}
conns=${CONNECTIONS:-32}
duration=${DURATION:-10s}

[ -x "$bin" ] || { echo "no nimbus binary at $bin (build the release preset first)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }

tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

"$bin" --listen 127.0.0.1:0 --port-file "$tmp/port" --db "$tmp/bench.db" \
    --workers "$workers" --quiet >"$tmp/log" 2>&1 &
pid=$!
i=0
while [ ! -s "$tmp/port" ]; do
    i=$((i + 1))
    [ $i -gt 200 ] && { echo "nimbus did not start:" >&2; cat "$tmp/log" >&2; exit 1; }
    sleep 0.05
done
url="http://127.0.0.1:$(cat "$tmp/port")"

# The same station and day of observations for every protocol, written over
# REST so that seeding costs nothing worth measuring.
curl -sf "$url/v1/stations" -H 'Content-Type: application/json' --data \
    '{"id":"bench-1","name":"Bench","city":"Benchton","country":"US","latitude":40.7128,"longitude":-74.006,"elevation":10}' >/dev/null
obs=
h=0
while [ $h -lt 24 ]; do
    [ -n "$obs" ] && obs="$obs,"
    obs="$obs{\"observedAt\":\"2024-05-01T$(printf %02d $h):00:00Z\",\"temperature\":1$((h % 10)).5,\"humidity\":60,\"precipitation\":0.1}"
    h=$((h + 1))
done
curl -sf "$url/v1/stations/bench-1/observations" -H 'Content-Type: application/json' \
    --data "{\"observations\":[$obs]}" >/dev/null

run() { # run LABEL WRK-ARGS... -> requests/s on stdout, latency on stderr
    echo "== $1" >&2
    shift
    out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency "$@")
    echo "$out" | sed -n '/Latency Distribution/,/99%/p' >&2
    echo "$out" | grep -E 'Non-2xx|Socket errors' >&2 || true
    echo "$out" | awk '/^Requests\/sec:/ { print $2 }'
}
