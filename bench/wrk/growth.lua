-- SPDX-License-Identifier: GPL-3.0-or-later
-- wrk script of the growth workload: reads spread over the seeded stations
-- PREFIX000..PREFIX(N-1), one after the other, so that no per-station cache
-- answers for storage.
--   weather:       GET /v1/stations/ID/weather
--   observations:  GET /v1/stations/ID/observations?from=T&limit=100, T a
--                  random seeded observedAt (START + i * SPACING, i below
--                  COUNT - 100), from a fixed random seed
--   wrk -s bench/wrk/growth.lua URL -- MODE PREFIX N START SPACING COUNT
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
dofile(here .. "/report.lua")

local mode, prefix, stations, start, spacing, count
local i = 0
function init(args)
  mode, prefix = args[1], args[2]
  stations, start = tonumber(args[3]), tonumber(args[4])
  spacing, count = tonumber(args[5]), tonumber(args[6])
  math.randomseed(42)
end

function request()
  local id = string.format("%s%03d", prefix, i % stations)
  i = i + 1
  if mode == "weather" then
    return wrk.format("GET", "/v1/stations/" .. id .. "/weather")
  end
  local from = start + math.random(0, count - 101) * spacing
  return wrk.format("GET", "/v1/stations/" .. id .. "/observations?from="
    .. os.date("!%Y-%m-%dT%H:%M:%SZ", from) .. "&limit=100")
end
