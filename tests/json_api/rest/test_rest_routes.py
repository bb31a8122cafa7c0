# SPDX-License-Identifier: GPL-3.0-or-later
"""rest_routes: every REST route of the contract against the real server.

Creates, reads, updates, records (with a duplicate and a correction), pages
through both lists, asks for weather by station and by city, deletes, and
checks each answer's status, headers and JSON exactly as the contract spells
them. Single requests and their outcomes (field rules, NOT_FOUND, one
error each) are contract cases in tests/cases, checked there over SOAP,
REST and WebSocket alike. Usage: test_rest_routes.py NIMBUS_BINARY
"""

import os
import socket
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from nimbus_harness import NimbusServer  # noqa: E402
from rest_client import Client, expect_ok, expect_problem  # noqa: E402

BERLIN = {"id": "ber-1", "name": "Berlin Mitte", "city": "Berlin", "country": "DE",
          "latitude": 52.52, "longitude": 13.405, "elevation": 34.5}


def stations(c):
    # Create (201, Location, body echoes the station); numbers print as written.
    # Location is absolute, from the Host the client sent.
    r = c.post("/v1/stations", BERLIN)
    assert expect_ok(r, 201) == BERLIN
    assert r.header("Location") == "http://127.0.0.1:%d/v1/stations/ber-1" % c.port, \
        r.header("Location")
    assert b"52.52," in r.raw and b"13.405," in r.raw, r.raw
    for i in range(5):
        s = {"id": "p-%d" % i, "name": "P%d" % i, "city": "Paris", "country": "FR",
             "latitude": 48.85 + i / 10, "longitude": 2.35}
        assert expect_ok(c.post("/v1/stations", s), 201) == s
    # null is absent
    s = {"id": "sp", "name": "São Paulo Centro", "city": "São Paulo", "country": "BR",
         "latitude": -23.55, "longitude": -46.63, "elevation": None}
    got = expect_ok(c.post("/v1/stations", s), 201)
    assert "elevation" not in got and got["city"] == "São Paulo"

    # Get, ETag, 304, HEAD
    r = c.get("/v1/stations/ber-1")
    assert expect_ok(r) == BERLIN
    tag = r.header("ETag")
    assert tag and tag.startswith('"'), r.headers
    assert r.header("Cache-Control") == "no-cache"
    r304 = c.get("/v1/stations/ber-1", headers={"If-None-Match": tag})
    assert r304.status == 304 and r304.raw == b"" and r304.header("ETag") == tag
    assert c.get("/v1/stations/ber-1", headers={"If-None-Match": "W/" + tag}).status == 304
    assert c.get("/v1/stations/ber-1", headers={"If-None-Match": '"x", ' + tag}).status == 304
    assert c.get("/v1/stations/ber-1", headers={"If-None-Match": '"other"'}).status == 200
    h = c.request("HEAD", "/v1/stations/ber-1")
    assert h.status == 200 and h.raw == b"" and h.header("Content-Length") == str(len(r.raw))
    expect_problem(c.get("/v1/stations/a%00b"), "INVALID_ARGUMENT")

    # Update replaces every field: the omitted elevation becomes absent; the
    # ETag changes with the representation.
    upd = dict(BERLIN, name="Berlin Mitte 2")
    del upd["elevation"]
    del upd["id"]
    got = expect_ok(c.put("/v1/stations/ber-1", upd))
    assert got == dict(upd, id="ber-1"), got
    assert c.get("/v1/stations/ber-1", headers={"If-None-Match": tag}).status == 200
    assert expect_ok(c.put("/v1/stations/ber-1", BERLIN)) == BERLIN
    expect_problem(c.put("/v1/stations/ber-1", dict(BERLIN, id="other")), "INVALID_ARGUMENT")

    # List, ordered by id, paged by cursor until the last page has none.
    seen, cursor = [], None
    while True:
        q = "/v1/stations?limit=2" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
        page = expect_ok(c.get(q))
        assert set(page) <= {"stations", "nextCursor"}
        assert len(page["stations"]) <= 2
        seen += [s["id"] for s in page["stations"]]
        cursor = page.get("nextCursor")
        if not cursor:
            break
    assert seen == sorted(seen) and seen == ["ber-1", "p-0", "p-1", "p-2", "p-3", "p-4", "sp"]
    paris = expect_ok(c.get("/v1/stations?city=Paris&country=FR"))
    assert [s["id"] for s in paris["stations"]] == ["p-0", "p-1", "p-2", "p-3", "p-4"]
    assert "nextCursor" not in paris
    sp = expect_ok(c.get("/v1/stations?city=S%C3%A3o+Paulo"))
    assert [s["id"] for s in sp["stations"]] == ["sp"], sp
    assert expect_ok(c.get("/v1/stations?city=&limit=")) ["stations"]
    for bad in ("limit=abc", "limit=1.5", "color=red", "limit=1&limit=2", "city=%FF"):
        expect_problem(c.get("/v1/stations?" + bad), "INVALID_ARGUMENT")


def observations(c):
    base = "/v1/stations/ber-1/observations"
    batch = [{"observedAt": "2024-05-01T12:00:00+02:00", "temperature": 0.1, "seq": 99},
             {"stationId": "ber-1", "observedAt": "2024-05-01T11:00:00Z", "temperature": 12.25,
              "humidity": 50, "precipitation": 1.2, "windSpeed": None},
             {"observedAt": "2024-05-01T13:00:00.75", "pressure": 1013.25, "windSpeed": 3.5,
              "windDirection": 270}]
    got = expect_ok(c.post(base, {"observations": batch}))
    assert got == {"accepted": 3, "duplicates": 0, "firstSeq": got["firstSeq"],
                   "lastSeq": got["firstSeq"] + 2}, got
    first = got["firstSeq"]
    # The same again: all duplicates, nothing stored, no seq.
    assert expect_ok(c.post(base, {"observations": batch})) == {"accepted": 0, "duplicates": 3}
    # A correction of one, a duplicate of another.
    fix = [dict(batch[2], pressure=1000), batch[1]]
    got = expect_ok(c.post(base, {"observations": fix}))
    assert got == {"accepted": 1, "duplicates": 1, "firstSeq": first + 3, "lastSeq": first + 3}

    page = expect_ok(c.get(base + "?limit=2"))
    assert page["observations"] == [
        {"stationId": "ber-1", "observedAt": "2024-05-01T10:00:00Z", "temperature": 0.1,
         "seq": first},
        {"stationId": "ber-1", "observedAt": "2024-05-01T11:00:00Z", "temperature": 12.25,
         "humidity": 50, "precipitation": 1.2, "seq": first + 1}], page
    rest = expect_ok(c.get(base + "?limit=2&cursor=" + urllib.parse.quote(page["nextCursor"])))
    assert rest == {"observations": [
        {"stationId": "ber-1", "observedAt": "2024-05-01T13:00:00Z", "pressure": 1000,
         "windSpeed": 3.5, "windDirection": 270, "seq": first + 3}]}, rest
    window = expect_ok(c.get(base + "?from=2024-05-01T11:00:00Z&to=2024-05-01T15:00:00%2B02:00"))
    assert [o["observedAt"] for o in window["observations"]] == ["2024-05-01T11:00:00Z"]

    for body, needle in (({"observations": []}, "observations"),
                         ({}, "observations"),
                         ({"observations": {}}, "observations"),
                         ({"observations": [{"temperature": 1}]}, "observedAt"),
                         ({"observations": [{"observedAt": 5}]}, "observedAt"),
                         ({"observations": [{"observedAt": "2024-01-01T00:00:00Z",
                                             "temp": 1}]}, "temp"),
                         ({"observations": [{"observedAt": "2024-01-01T00:00:00Z",
                                             "temperature": "1"}]}, "temperature"),
                         ({"observations": [{"observedAt": "2024-01-01T00:00:00Z"}],
                           "stationId": "p-1"}, "stationId"),
                         ({"observations": [{"observedAt": "2024-01-01T00:00:00Z"}] * 1001},
                          "observations")):
        expect_problem(c.post(base, body), "INVALID_ARGUMENT", detail_has=needle)


def weather(c):
    w = expect_ok(c.get("/v1/stations/ber-1/weather"))
    assert w == {"station": BERLIN,
                 "latest": {"stationId": "ber-1", "observedAt": "2024-05-01T13:00:00Z",
                            "pressure": 1000, "windSpeed": 3.5, "windDirection": 270,
                            "seq": w["latest"]["seq"]},
                 "last24h": {"count": 3, "minTemperature": 0.1, "maxTemperature": 12.25,
                             "meanTemperature": 6.175, "totalPrecipitation": 1.2}}, w
    assert expect_ok(c.get("/v1/stations/p-0/weather")) == {"station": expect_ok(
        c.get("/v1/stations/p-0"))}
    city = expect_ok(c.get("/v1/cities/Paris/weather"))
    assert [r["station"]["id"] for r in city["reports"]] == ["p-0", "p-1", "p-2", "p-3", "p-4"]
    assert expect_ok(c.get("/v1/cities/Berlin/weather?country=DE"))["reports"][0] == w
    sp = expect_ok(c.get("/v1/cities/S%C3%A3o%20Paulo/weather"))
    assert sp["reports"][0]["station"]["id"] == "sp"
    expect_problem(c.get("/v1/cities/Paris/weather?city=Paris"), "INVALID_ARGUMENT")


def delete(c):
    r = c.delete("/v1/stations/ber-1")
    assert r.status == 204 and r.raw == b"" and r.header("Content-Length") is None, r.headers


def http_manners(c):
    expect_problem(c.get("/v1/nothing"), "NOT_FOUND", detail_has="/v1/nothing")
    expect_problem(c.get("/v1"), "NOT_FOUND")
    expect_problem(c.get("/elsewhere"), "NOT_FOUND")
    for method, path, allow in (("PATCH", "/v1/stations/p-1", "GET, HEAD, PUT, DELETE, OPTIONS"),
                                ("DELETE", "/v1/stations", "GET, HEAD, POST, OPTIONS"),
                                ("PUT", "/v1/cities/Paris/weather", "GET, HEAD, OPTIONS"),
                                ("POST", "/v1/openapi.json", "GET, HEAD, OPTIONS")):
        r = c.request(method, path, body={} if method != "DELETE" else None)
        p = expect_problem(r, "INVALID_ARGUMENT", status=405)
        assert p["title"] == "Method not allowed" and r.header("Allow") == allow, r.headers
    r = c.request("OPTIONS", "/v1/stations")
    assert r.status == 204 and r.header("Allow") == "GET, HEAD, POST, OPTIONS"
    p = expect_problem(c.post("/v1/stations", "id=x", ctype="application/x-www-form-urlencoded"),
                       "INVALID_ARGUMENT", status=415)
    assert p["title"] == "Unsupported media type"
    expect_problem(c.post("/v1/stations", b"{}", ctype=None), "INVALID_ARGUMENT", status=415)
    assert c.post("/v1/stations", {"id": "cs"}, ctype="application/json; charset=utf-8").status == 400
    assert c.post("/v1/stations", {"id": "cs"}, ctype='application/json;charset="UTF-8"').status == 400
    # JSON is UTF-8: a body declared otherwise, or compressed, is not guessed at.
    expect_problem(c.post("/v1/stations", {"id": "cs"}, ctype="application/json; charset=latin1"),
                   "INVALID_ARGUMENT", status=415, detail_has="UTF-8")
    expect_problem(c.post("/v1/stations", b"\x1f\x8b\x08\x00", headers={"Content-Encoding": "gzip"}),
                   "INVALID_ARGUMENT", status=415, detail_has="Content-Encoding gzip")
    # evhttp decodes query values into C strings: %00 must not cut one short.
    for query in ("city=Paris%00x", "country=FR%00", "limit=5%00", "cursor=%00"):
        expect_problem(c.get("/v1/stations?" + query), "INVALID_ARGUMENT",
                       detail_has='"%s"' % query.split("=")[0])
    expect_problem(c.get("/v1/stations/p-1/observations?from=2024-01-01T00:00:00Z%00junk"),
                   "INVALID_ARGUMENT", detail_has='"from"')
    # A malformed %-escape is an error, in the query as in the path, not
    # three characters of a city's name.
    for query in ("city=%zz", "city=Par%4", "country=%"):
        expect_problem(c.get("/v1/stations?" + query), "INVALID_ARGUMENT",
                       detail_has='"%s" has a malformed %%-escape' % query.split("=")[0])
    expect_problem(c.get("/v1/stations/%zz"), "INVALID_ARGUMENT", detail_has="not valid text")
    # Integers: past int64 is out of range (not "not an integer"); 10.0 is 10.
    for limit in ("99999999999999999999", "-99999999999999999999", "9223372036854775808"):
        expect_problem(c.get("/v1/stations?limit=" + limit), "INVALID_ARGUMENT",
                       detail_has="limit must be between 1 and 1000")
    expect_problem(c.get("/v1/stations?limit=1.5"), "INVALID_ARGUMENT",
                   detail_has="limit must be an integer")
    assert c.get("/v1/stations?limit=1.0").status == 200
    # Bad UTF-8 is said as such before a value's own rule.
    for query in ("from=%FF", "to=%FF", "from=2024-01-01T00:00:00Z%FF"):
        expect_problem(c.get("/v1/stations/p-1/observations?" + query), "INVALID_ARGUMENT",
                       detail_has="must be valid UTF-8")
    # Endpoints beside the REST API refuse with problem+json too.
    r = c.post("/healthz", {})
    expect_problem(r, "INVALID_ARGUMENT", status=405)
    assert r.header("Allow") == "GET, HEAD"
    expect_problem(c.post("/v1/stations", '{"id": "x",\n  "name": }'), "INVALID_ARGUMENT",
                   detail_has="line 2, column")
    expect_problem(c.post("/v1/stations", "[1]"), "INVALID_ARGUMENT", detail_has="object")
    expect_problem(c.post("/v1/stations", ""), "INVALID_ARGUMENT", detail_has="malformed JSON")
    # Keep-alive: all of the above went over one connection unless the
    # server asked to close.
    assert c.get("/v1/stations/p-1").status == 200


def head_on_the_wire(port):
    """HEAD answers carry the GET's Content-Length but no body bytes, so the
    next response on the same connection starts right after the headers
    (evhttp itself would write the body). Checked on a raw socket, since
    http.client never reads a HEAD body."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    for path in ("/v1/openapi.json", "/v1/stations/p-1", "/v1/stations/ghost"):
        s.sendall(("HEAD %s HTTP/1.1\r\nHost: t\r\n\r\n" % path).encode())
    s.sendall(b"GET /v1/stations/p-1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    rest = data
    for status in (b"200", b"200", b"404"):
        head, sep, rest = rest.partition(b"\r\n\r\n")
        assert sep and head.startswith(b"HTTP/1.1 " + status), data[:400]
        length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:")]
        assert length and length[0] > 0, head
    head, sep, body = rest.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and body.startswith(b'{"id":"p-1"'), rest[:400]


def content_length_on_the_wire(port):
    """Every answer with a body has exactly one Content-Length, the body's
    length, whoever writes it (evhttp for HTTP/1.1 and kept-alive HTTP/1.0
    answers, nimbus_http_reply for a closing HTTP/1.0 one)."""
    for request in (b"GET /v1/stations/p-1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                    b"GET /v1/stations/ghost HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                    b"GET /v1/stations/p-1 HTTP/1.0\r\n\r\n",
                    b"GET /v1/stations/ghost HTTP/1.0\r\n\r\n",
                    b"GET /v1/stations/p-1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            assert chunk, (request, data)
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lengths = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")]
        assert len(lengths) == 1, (request, head)
        while len(body) < lengths[0]:
            chunk = s.recv(65536)
            assert chunk, (request, head, body)
            body += chunk
        assert len(body) == lengths[0] and body.startswith(b"{"), (request, head, body)
        s.close()


def main():
    binary = sys.argv[1]
    with NimbusServer(binary, workers=2) as srv:
        c = Client(srv.port)
        stations(c)
        observations(c)
        weather(c)
        delete(c)
        http_manners(c)
        head_on_the_wire(srv.port)
        content_length_on_the_wire(srv.port)
        c.close()
    print("rest_routes: ok")


if __name__ == "__main__":
    main()
