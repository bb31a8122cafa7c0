-- SPDX-License-Identifier: GPL-3.0-or-later
-- wrk script: POSTs one SOAP 1.1 request to /soap, over and over.
-- Usage: wrk -s bench/soap_post.lua URL -- OPERATION STATION_ID
--   OPERATION is GetWeather or GetStation.
local body
local headers = {
  ["Content-Type"] = "text/xml; charset=utf-8",
}

function init(args)
  local op = args[1] or "GetWeather"
  local id = args[2] or "bench-1"
  local field = (op == "GetStation") and "id" or "stationId"
  headers["SOAPAction"] = '"urn:nimbus:weather:v1/' .. op .. '"'
  body = '<?xml version="1.0" encoding="UTF-8"?>'
    .. '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:n="urn:nimbus:weather:v1">'
    .. '<s:Body><n:' .. op .. '><n:' .. field .. '>' .. id .. '</n:' .. field .. '></n:' .. op .. '>'
    .. '</s:Body></s:Envelope>'
end

function request()
  return wrk.format("POST", "/soap", headers, body)
end

function done(summary, latency, requests)
  if summary.errors.status > 0 then
    io.stderr:write(string.format("non-200 answers: %d\n", summary.errors.status))
  end
end
