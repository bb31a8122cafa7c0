-- SPDX-License-Identifier: GPL-3.0-or-later
-- wrk script of the growth workload: reads spread over the seeded stations
-- PREFIX000..PREFIX(N-1), one after the other, so that no per-station cache
-- answers for storage.
--   weather:       GET /v1/stations/ID/weather
--   observations:  GET /v1/stations/ID/observations?from=T&limit=100, T a
--                  random seeded observedAt (START + i * SPACING, i below
--                  COUNT - 100), from a fixed random seed
--   feed:          GET /v1/observations?afterSeq=S&limit=100 (1.1), S a
--                  random seq below the N * COUNT seeded ones
--   feedstation:   the same for one station, every other request the one
--                  that got a single observation before the seeding
--                  (PREFIXquiet: a caught-up poller of a quiet station).
--                  For the seeded station S is drawn so that a whole page
--                  of it follows whatever the size: the seeder writes
--                  batches of BATCH consecutive observations, station after
--                  station, so the j-th batch of station k holds seqs from
--                  about (j * N + k) * BATCH; S is up to half a batch before
--                  one of them. A uniform S would give the same station a
--                  full page at 10 million (a batch of it follows almost
--                  anywhere) and an empty one half the time at 100,000
--                  (one batch each): two different answers, not growth.
--   wrk -s bench/wrk/growth.lua URL -- MODE PREFIX N START SPACING COUNT [BATCH]
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
dofile(here .. "/report.lua")

local mode, prefix, stations, start, spacing, count, batch
local i = 0
function init(args)
  mode, prefix = args[1], args[2]
  stations, start = tonumber(args[3]), tonumber(args[4])
  spacing, count = tonumber(args[5]), tonumber(args[6])
  batch = tonumber(args[7] or "1000")
  math.randomseed(42)
end

function request()
  local id = string.format("%s%03d", prefix, i % stations)
  i = i + 1
  if mode == "weather" then
    return wrk.format("GET", "/v1/stations/" .. id .. "/weather")
  end
  if mode == "feed" or mode == "feedstation" then
    local after = math.random(0, stations * count - 100)
    local station = nil
    if mode == "feedstation" then
      if i % 2 == 0 then
        station = prefix .. "quiet"
      else
        station = id
        local k = (i - 1) % stations
        local j = math.random(0, math.max(math.floor(count / batch), 1) - 1)
        after = math.max(0, (j * stations + k) * batch - math.random(0, math.floor(batch / 2)))
      end
    end
    local path = "/v1/observations?limit=100&afterSeq=" .. after
    if station then
      path = path .. "&station=" .. station
    end
    return wrk.format("GET", path)
  end
  local from = start + math.random(0, count - 101) * spacing
  return wrk.format("GET", "/v1/stations/" .. id .. "/observations?from="
    .. os.date("!%Y-%m-%dT%H:%M:%SZ", from) .. "&limit=100")
end
