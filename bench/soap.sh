#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# SOAP throughput against a baseline measured in the same run.
#
#   bench/soap.sh [NIMBUS_BINARY]
#
# Starts nimbus (default: build/release/server/nimbus) on an ephemeral
# loopback port with a fresh database and one station with a day of
# observations (bench/lib.sh), then runs wrk against
#   GET /healthz               (baseline: evhttp + dispatch, no protocol work)
#   SOAP GetStation            (parse, one-row read, serialize)
#   SOAP GetWeather            (parse, latest + 24 h summary, serialize)
# and prints requests/s and each SOAP figure as a fraction of the baseline.
# Knobs (environment): WORKERS (2), THREADS (2), CONNECTIONS (32),
# DURATION (10s).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

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
