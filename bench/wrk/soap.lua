-- SPDX-License-Identifier: GPL-3.0-or-later
-- wrk script: POSTs one SOAP 1.1 request (GetWeather or GetStation of one
-- station) to the URL on the command line, over and over. init() fills
-- wrk.method/headers/body, from which wrk builds its one static request.
--   wrk -s bench/wrk/soap.lua URL -- OPERATION STATION_ID
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
dofile(here .. "/report.lua")

function init(args)
  local op = args[1] or "GetWeather"
  local id = args[2] or "bench-1"
  local field = (op == "GetStation") and "id" or "stationId"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
  wrk.headers["SOAPAction"] = '"urn:nimbus:weather:v1/' .. op .. '"'
  wrk.body = '<?xml version="1.0" encoding="UTF-8"?>'
    .. '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:n="urn:nimbus:weather:v1">'
    .. '<s:Body><n:' .. op .. '><n:' .. field .. '>' .. id .. '</n:' .. field .. '></n:' .. op .. '>'
    .. '</s:Body></s:Envelope>'
end
