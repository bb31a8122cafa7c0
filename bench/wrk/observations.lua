-- SPDX-License-Identifier: GPL-3.0-or-later
-- Shared by record.lua and batch.lua: observedAt text for a count of
-- seconds since the epoch, cheaply (os.date once a minute, the seconds
-- from a table), and one observation as JSON.
local sec = {}
for s = 0, 59 do
  sec[s] = string.format("%02dZ", s)
end
local minute, prefix = -1, ""

function observed_at(t)
  local m = math.floor(t / 60)
  if m ~= minute then
    minute = m
    prefix = os.date("!%Y-%m-%dT%H:%M:", m * 60)
  end
  return prefix .. sec[t % 60]
end

local temps = {}
for i = 0, 99 do
  temps[i] = string.format("%.1f", -5 + i * 0.4)
end

function observation_json(t)
  return '{"observedAt":"' .. observed_at(t) .. '","temperature":' .. temps[t % 100]
    .. ',"humidity":' .. (30 + t % 60) .. ',"pressure":' .. (990 + t % 40)
    .. '.5,"windSpeed":' .. (t % 15) .. '}'
end
