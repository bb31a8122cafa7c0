-- SPDX-License-Identifier: GPL-3.0-or-later
-- Loaded by every bench/wrk script: wrk's done() hook printing one line
-- "BENCHJSON {...}" with the figures scripts/bench reads (requests,
-- duration, errors by kind, latency percentiles in microseconds), so that
-- the harness never parses wrk's human-readable units.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,'
      .. '"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
