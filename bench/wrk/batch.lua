-- SPDX-License-Identifier: GPL-3.0-or-later
-- wrk script: RecordObservations over REST in batches of SIZE observations
-- (default 1000), consecutive observedAt seconds from START on, so none is
-- a duplicate (wrk threads are 10^8 s apart).
--   wrk -s bench/wrk/batch.lua http://HOST/v1/stations/ID/observations -- START [SIZE]
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
dofile(here .. "/report.lua")
dofile(here .. "/observations.lua")

local counter = 1
function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
end

local t, size
local headers = { ["Content-Type"] = "application/json" }
function init(args)
  t = tonumber(args[1]) + (wrk.thread:get("index") - 1) * 100000000
  size = tonumber(args[2] or "1000")
end

function request()
  local parts = {}
  for i = 1, size do
    t = t + 1
    parts[i] = observation_json(t)
  end
  return wrk.format("POST", nil, headers, '{"observations":[' .. table.concat(parts, ",") .. ']}')
end
