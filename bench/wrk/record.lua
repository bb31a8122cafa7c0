-- SPDX-License-Identifier: GPL-3.0-or-later
-- wrk script: RecordObservations over REST, one observation per request,
-- each with a new observedAt (START + n seconds for the n-th request of
-- this wrk thread; threads are 10^8 s apart), so none is a duplicate.
--   wrk -s bench/wrk/record.lua http://HOST/v1/stations/ID/observations -- START
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
dofile(here .. "/report.lua")
dofile(here .. "/observations.lua")

local counter = 1
function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
end

local t
local headers = { ["Content-Type"] = "application/json" }
function init(args)
  t = tonumber(args[1]) + (wrk.thread:get("index") - 1) * 100000000
end

function request()
  t = t + 1
  return wrk.format("POST", nil, headers, '{"observations":[' .. observation_json(t) .. ']}')
end
