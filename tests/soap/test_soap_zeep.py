#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""python3-zeep against the real server: load the WSDL from GET /soap?wsdl
and call every operation on both ports (SOAP 1.1 and SOAP 1.2), with Bearer,
Basic and WS-Security UsernameToken credentials, checking the answers, the
Fault shape (ServiceFault detail) and the number format (shortest text that
reads back as the same double, as JSON prints it).

Usage: test_soap_zeep.py NIMBUS_BINARY
       test_soap_zeep.py http://127.0.0.1:PORT   a server (or load balancer) already
       running with the keys below
"""
import contextlib
import os
import subprocess
import sys
import types

import requests
import zeep
from lxml import etree
from zeep.plugins import HistoryPlugin
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nimbus_harness import NimbusServer  # noqa: E402

NS = "urn:nimbus:weather:v1"
KEYS = ["admin:adm1n-secret:admin", "writer:wr1ter-secret:write", "reader:re4der-secret:read"]
PORTS = ("NimbusSoap11", "NimbusSoap12")
OPERATIONS = ("ListStations", "GetStation", "CreateStation", "UpdateStation", "DeleteStation",
              "RecordObservations", "GetObservations", "GetWeather", "GetCityWeather")


def client(base_url, auth=None, wsse=None, history=None):
    session = requests.Session()
    if auth == "admin":
        session.headers["Authorization"] = "Bearer adm1n-secret"
    elif auth == "reader-basic":
        session.auth = ("reader", "re4der-secret")
    plugins = [history] if history else []
    return zeep.Client(base_url + "/soap?wsdl", transport=Transport(session=session, timeout=30),
                       wsse=wsse, plugins=plugins)


def expect_fault(call, code, port):
    try:
        call()
    except zeep.exceptions.Fault as fault:
        detail = fault.detail
        assert detail is not None, "Fault without detail"
        got = detail.find("{%s}ServiceFault/{%s}code" % (NS, NS))
        msg = detail.find("{%s}ServiceFault/{%s}message" % (NS, NS))
        assert got is not None and got.text == code, (code, etree.tostring(detail))
        assert msg is not None and msg.text == fault.message, (msg, fault.message)
        want = "Client" if port == "NimbusSoap11" else "Sender"
        assert fault.code is not None and fault.code.endswith(want), (fault.code, want)
        return
    raise AssertionError("expected a %s Fault" % code)


def station(sid, city, lat=40.0801, elevation=None):
    s = {"id": sid, "name": "Zeep station", "city": city, "country": "NL",
         "latitude": lat, "longitude": 4.9041}
    if elevation is not None:
        s["elevation"] = elevation
    return s


def exercise(base_url, port):
    p = "z%s-" % port[-2:]
    history = HistoryPlugin()
    admin = client(base_url, auth="admin", history=history)
    svc = admin.bind("NimbusService", port)
    city = "Zeepdam" + port[-2:]

    # The WSDL's soap:address is the address we used.
    address = admin.wsdl.services["NimbusService"].ports[port].binding_options["address"]
    assert address == base_url + "/soap", address

    created = svc.CreateStation(station=station(p + "a", city, elevation=-2.5))
    assert created.id == p + "a" and created.latitude == 40.0801 and created.elevation == -2.5
    raw = etree.tostring(history.last_received["envelope"]).decode()
    assert ">40.0801<" in raw and "40.080100000000002" not in raw, raw
    svc.CreateStation(station=station(p + "b", city))
    expect_fault(lambda: svc.CreateStation(station=station(p + "a", city)), "ALREADY_EXISTS", port)
    expect_fault(lambda: svc.CreateStation(station=station(p + "c", city, lat=123.0)),
                 "INVALID_ARGUMENT", port)

    got = svc.GetStation(id=p + "a")
    assert got.name == "Zeep station" and got.country == "NL"
    expect_fault(lambda: svc.GetStation(id=p + "none"), "NOT_FOUND", port)

    updated = svc.UpdateStation(station=station(p + "a", city, lat=52.37))
    assert updated.latitude == 52.37 and updated.elevation is None

    page = svc.ListStations(city=city, limit=1)
    assert [s.id for s in page.station] == [p + "a"] and page.nextCursor
    page2 = svc.ListStations(city=city, limit=1, cursor=page.nextCursor)
    assert [s.id for s in page2.station] == [p + "b"] and page2.nextCursor is None

    rec = svc.RecordObservations(stationId=p + "a", observation=[
        {"observedAt": "2024-03-01T08:00:00+01:00", "temperature": 4.1, "humidity": 81.0},
        {"stationId": p + "a", "observedAt": "2024-03-01T08:30:00Z", "temperature": 4.6,
         "windSpeed": 3.2, "windDirection": 270.0, "pressure": 1013.2, "precipitation": 0.2},
    ])
    assert rec.accepted == 2 and rec.duplicates == 0 and rec.lastSeq == rec.firstSeq + 1
    obs = svc.GetObservations(stationId=p + "a")
    assert [o.observedAt.isoformat() for o in obs.observation] == [
        "2024-03-01T07:00:00+00:00", "2024-03-01T08:30:00+00:00"], obs
    raw = etree.tostring(history.last_received["envelope"]).decode()
    assert "2024-03-01T07:00:00Z" in raw, raw
    assert obs.observation[1].windDirection == 270.0 and obs.observation[0].seq > 0

    weather = svc.GetWeather(stationId=p + "a")
    assert weather.latest.temperature == 4.6 and weather.last24h.count == 2
    assert abs(weather.last24h.totalPrecipitation - 0.2) < 1e-9
    reports = svc.GetCityWeather(city=city, country="NL")
    assert [r.station.id for r in reports] == [p + "a", p + "b"]
    assert reports[1].latest is None
    expect_fault(lambda: svc.GetCityWeather(city="Nowhere" + p), "NOT_FOUND", port)

    # Basic as a reader: reads pass, writes are PERMISSION_DENIED.
    reader = client(base_url, auth="reader-basic").bind("NimbusService", port)
    assert reader.GetStation(id=p + "b").id == p + "b"
    expect_fault(lambda: reader.DeleteStation(id=p + "b"), "PERMISSION_DENIED", port)
    # WS-Security UsernameToken (PasswordText), right and wrong.
    wsse = client(base_url, wsse=UsernameToken("admin", "adm1n-secret")).bind("NimbusService", port)
    assert wsse.GetWeather(stationId=p + "b").station.id == p + "b"
    bad = client(base_url, wsse=UsernameToken("admin", "wrong")).bind("NimbusService", port)
    expect_fault(lambda: bad.GetStation(id=p + "b"), "UNAUTHENTICATED", port)
    anonymous = client(base_url).bind("NimbusService", port)
    expect_fault(lambda: anonymous.ListStations(), "UNAUTHENTICATED", port)

    assert svc.DeleteStation(id=p + "b") is None
    expect_fault(lambda: svc.DeleteStation(id=p + "b"), "NOT_FOUND", port)


WSS4J_STYLE = (
    '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:n="urn:nimbus:weather:v1"><s:Header><w:Security s:mustUnderstand="1" '
    'xmlns:w="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" '
    'xmlns:u="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">'
    '<u:Timestamp u:Id="TS-1"><u:Created>2024-01-01T00:00:00Z</u:Created>'
    "<u:Expires>2030-01-01T00:00:00Z</u:Expires></u:Timestamp>"
    '<w:UsernameToken u:Id="UT-1"><w:Username>reader</w:Username><w:Password Type="http://docs.'
    'oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">%s'
    "</w:Password><w:Nonce>bm9uY2U=</w:Nonce><u:Created>2024-01-01T00:00:00Z</u:Created>"
    "</w:UsernameToken></w:Security></s:Header><s:Body><n:ListStations/></s:Body></s:Envelope>")


def wss4j_style(base_url):
    """The header Java/WSS4J-style toolkits send with PasswordText: a
    Timestamp, and a Nonce and Created in the token, all skipped."""
    for secret, status in (("re4der-secret", 200), ("wrong", 500)):
        r = requests.post(base_url + "/soap", data=WSS4J_STYLE % secret, timeout=30,
                          headers={"Content-Type": "text/xml; charset=utf-8"})
        assert r.status_code == status, (secret, r.status_code, r.text)
        if status == 500:
            assert b"<nimbus:code>UNAUTHENTICATED</nimbus:code>" in r.content, r.text


def main():
    binary = sys.argv[1]
    args = []
    for k in KEYS:
        args += ["--api-key", k]
    if binary.startswith("http://"):
        # A server (or a load balancer in front of several) already running
        # with KEYS: tests/server/test_multinode.py.
        server = contextlib.nullcontext(types.SimpleNamespace(base_url=binary.rstrip("/")))
    else:
        server = NimbusServer(binary, args=args)
    with server as srv:
        # The command-line loader prints both ports and all ten operations.
        listing = subprocess.run([sys.executable, "-m", "zeep", srv.base_url + "/soap?wsdl"],
                                 capture_output=True, text=True, timeout=60, check=True).stdout
        assert "Port: NimbusSoap11" in listing and "Port: NimbusSoap12" in listing, listing
        for op in OPERATIONS:
            assert listing.count(" %s(" % op) == 2, (op, listing)
        loaded = client(srv.base_url)
        ports = loaded.wsdl.services["NimbusService"].ports
        assert sorted(ports) == sorted(PORTS), list(ports)
        ops = sorted(loaded.wsdl.bindings["{%s}NimbusSoap12Binding" % NS]._operations)
        assert len(ops) == 10, ops
        wss4j_style(srv.base_url)
        for port in PORTS:
            exercise(srv.base_url, port)
            print("ok: every operation over", port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
