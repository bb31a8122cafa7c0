#!/bin/sh
# SOAP throughput against a baseline measured in the same run.
#
#   bench/soap.sh [NIMBUS_BINARY]
#
# Starts nimbus (default: build/release/server/nimbus) on an ephemeral
# loopback port with a fresh database, creates one station with a day of
# observations over SOAP, then runs wrk against
#   GET /healthz               (baseline: evhttp + dispatch, no protocol work)
#   SOAP GetStation            (parse, one-row read, serialize)
#   SOAP GetWeather            (parse, latest + 24 h summary, serialize)
# and prints requests/s and each SOAP figure as a fraction of the baseline.
# Knobs (environment): WORKERS (2), THREADS (2), CONNECTIONS (32),
# DURATION (10s).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
bin=${1:-$repo/build/release/server/nimbus}
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

soap() {
    curl -sf "$url/soap" -H 'Content-Type: text/xml; charset=utf-8' --data "<?xml version=\"1.0\"?>
<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:n=\"urn:nimbus:weather:v1\">
<s:Body>$1</s:Body></s:Envelope>" >/dev/null
}
soap '<n:CreateStation><n:station><n:id>bench-1</n:id><n:name>Bench</n:name><n:city>Benchton</n:city>
<n:country>US</n:country><n:latitude>40.7128</n:latitude><n:longitude>-74.006</n:longitude>
<n:elevation>10</n:elevation></n:station></n:CreateStation>'
obs=
h=0
while [ $h -lt 24 ]; do
    obs="$obs<n:observation><n:observedAt>2024-05-01T$(printf %02d $h):00:00Z</n:observedAt>
<n:temperature>1$((h % 10)).5</n:temperature><n:humidity>60</n:humidity><n:precipitation>0.1</n:precipitation></n:observation>"
    h=$((h + 1))
done
soap "<n:RecordObservations><n:stationId>bench-1</n:stationId>$obs</n:RecordObservations>"

rate() { # wrk output -> requests/s
    awk '/^Requests\/sec:/ { print $2 }'
}
run() {
    echo "== $1" >&2
    shift
    out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency "$@")
    echo "$out" | sed -n '/Latency Distribution/,/99%/p' >&2
    echo "$out" | grep -E 'Non-2xx|Socket errors' >&2 || true
    echo "$out" | rate
}

base=$(run "GET /healthz" "$url/healthz")
station=$(run "SOAP GetStation" -s "$here/soap_post.lua" "$url/soap" -- GetStation bench-1)
weather=$(run "SOAP GetWeather" -s "$here/soap_post.lua" "$url/soap" -- GetWeather bench-1)

echo
echo "nimbus: $workers workers; wrk: $threads threads, $conns connections, $duration each"
awk -v b="$base" -v s="$station" -v w="$weather" 'BEGIN {
    printf "%-20s %12s %10s\n", "request", "requests/s", "vs baseline"
    printf "%-20s %12.0f %10s\n", "GET /healthz", b, "1.00"
    printf "%-20s %12.0f %10.2f\n", "SOAP GetStation", s, s / b
    printf "%-20s %12.0f %10.2f\n", "SOAP GetWeather", w, w / b
}'
