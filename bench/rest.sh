#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# REST throughput against a baseline measured in the same run, with SOAP
# for the same operations alongside, so the cost of each protocol's codec
# shows as a ratio.
#
#   bench/rest.sh [NIMBUS_BINARY]
#
# Starts nimbus (default: build/release/server/nimbus) on an ephemeral
# loopback port with a fresh database and station bench-1 holding a day of
# observations, then runs wrk against
#   GET /healthz                          (baseline)
#   GET /v1/stations/bench-1              (REST GetStation)
#   GET /v1/stations/bench-1/weather      (REST GetWeather)
#   SOAP GetStation, SOAP GetWeather      (the same operations over SOAP)
# Knobs (environment): WORKERS (2), THREADS (2), CONNECTIONS (32),
# DURATION (10s).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

base=$(run "GET /healthz" "$url/healthz")
rstation=$(run "REST GetStation" "$url/v1/stations/bench-1")
rweather=$(run "REST GetWeather" "$url/v1/stations/bench-1/weather")
sstation=$(run "SOAP GetStation" -s "$here/soap_post.lua" "$url/soap" -- GetStation bench-1)
sweather=$(run "SOAP GetWeather" -s "$here/soap_post.lua" "$url/soap" -- GetWeather bench-1)

echo
echo "nimbus: $workers workers; wrk: $threads threads, $conns connections, $duration each"
awk -v b="$base" -v rs="$rstation" -v rw="$rweather" -v ss="$sstation" -v sw="$sweather" 'BEGIN {
    printf "%-20s %12s %12s\n", "request", "requests/s", "vs baseline"
    printf "%-20s %12.0f %12s\n", "GET /healthz", b, "1.00"
    printf "%-20s %12.0f %12.2f\n", "REST GetStation", rs, rs / b
    printf "%-20s %12.0f %12.2f\n", "REST GetWeather", rw, rw / b
    printf "%-20s %12.0f %12.2f\n", "SOAP GetStation", ss, ss / b
    printf "%-20s %12.0f %12.2f\n", "SOAP GetWeather", sw, sw / b
}'
