# SPDX-License-Identifier: GPL-3.0-or-later
"""rest_access: credentials, roles, CORS and --max-body over REST.

Keys (--api-key NAME:SECRET:ROLE) presented as Bearer and as Basic; a
missing, wrong or malformed key gets UNAUTHENTICATED (401 with
WWW-Authenticate), a key whose role is too small PERMISSION_DENIED (403), in
the same problem+json as every other error. CORS headers appear for GET from
an allowed origin only. A body over --max-body gets PAYLOAD_TOO_LARGE.
Usage: test_rest_access.py NIMBUS_BINARY
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from nimbus_harness import NimbusServer  # noqa: E402
from rest_client import Client, basic, bearer, expect_ok, expect_problem  # noqa: E402

STATION = {"id": "s1", "name": "One", "city": "Oslo", "country": "NO", "latitude": 59.9,
           "longitude": 10.75}
OBS = {"observations": [{"observedAt": "2024-01-01T00:00:00Z", "temperature": -3.5}]}
KEYS = ["--api-key", "reader:r-secret:read", "--api-key", "writer:w-secret:write",
        "--api-key", "boss:a-secret:admin"]
ORIGIN = "https://dash.example"


def access(port):
    anon = Client(port)
    for path in ("/v1/stations", "/v1/stations/s1", "/v1/cities/Oslo/weather"):
        r = anon.get(path)
        expect_problem(r, "UNAUTHENTICATED")
        assert "Bearer" in r.header("WWW-Authenticate") and "Basic" in r.header("WWW-Authenticate")
    expect_problem(anon.post("/v1/stations", STATION), "UNAUTHENTICATED")
    # Credentials come before the body: no key, or too small a role, is
    # refused whatever the body holds.
    expect_problem(anon.post("/v1/stations", "{not json"), "UNAUTHENTICATED")
    expect_problem(Client(port, bearer("r-secret")).post("/v1/stations", "{not json"),
                   "PERMISSION_DENIED")
    expect_problem(Client(port, bearer("w-secret")).post("/v1/stations", "{not json"),
                   "INVALID_ARGUMENT", detail_has="malformed JSON")
    for auth in (bearer("nope"), basic("reader", "w-secret"), basic("ghost", "r-secret"),
                 "Basic !!!", "Digest abc", "Bearer"):
        expect_problem(Client(port, auth).get("/v1/stations"), "UNAUTHENTICATED")

    reader_bearer, reader_basic = Client(port, bearer("r-secret")), Client(port, basic("reader", "r-secret"))
    writer = Client(port, basic("writer", "w-secret"))
    admin = Client(port, bearer("a-secret"))
    for c in (reader_bearer, reader_basic):
        expect_problem(c.post("/v1/stations", STATION), "PERMISSION_DENIED")
    assert expect_ok(writer.post("/v1/stations", STATION), 201) == STATION
    for c in (reader_bearer, reader_basic, writer, admin):
        assert expect_ok(c.get("/v1/stations/s1")) == STATION
        assert expect_ok(c.get("/v1/stations"))["stations"] == [STATION]
    expect_problem(reader_basic.put("/v1/stations/s1", STATION), "PERMISSION_DENIED")
    expect_problem(reader_bearer.post("/v1/stations/s1/observations", OBS), "PERMISSION_DENIED")
    assert expect_ok(writer.post("/v1/stations/s1/observations", OBS))["accepted"] == 1
    assert expect_ok(writer.put("/v1/stations/s1", STATION)) == STATION
    expect_problem(writer.delete("/v1/stations/s1"), "PERMISSION_DENIED")
    expect_problem(reader_bearer.delete("/v1/stations/s1"), "PERMISSION_DENIED")
    expect_problem(anon.delete("/v1/stations/s1"), "UNAUTHENTICATED")
    assert admin.delete("/v1/stations/s1").status == 204
    # The role check comes before the lookup: a reader learns nothing of
    # stations it may not delete.
    expect_problem(reader_basic.delete("/v1/stations/ghost"), "PERMISSION_DENIED")
    expect_problem(admin.delete("/v1/stations/ghost"), "NOT_FOUND")
    # The document describing the API is public.
    assert anon.get("/v1/openapi.json").status == 200


def cors(port):
    c = Client(port)
    assert expect_ok(c.post("/v1/stations", STATION), 201)
    r = c.get("/v1/stations/s1", headers={"Origin": ORIGIN})
    assert r.header("Access-Control-Allow-Origin") == ORIGIN and r.header("Vary") == "Origin"
    assert "ETag" in r.header("Access-Control-Expose-Headers")
    r = c.get("/v1/stations/s1", headers={"Origin": "https://evil.example"})
    assert r.status == 200 and r.header("Access-Control-Allow-Origin") is None
    assert r.header("Vary") == "Origin"
    r = c.get("/v1/stations/s1")
    assert r.header("Access-Control-Allow-Origin") is None
    r = c.get("/v1/stations/ghost", headers={"Origin": ORIGIN})
    assert r.status == 404 and r.header("Access-Control-Allow-Origin") == ORIGIN
    r = c.request("OPTIONS", "/v1/stations/s1", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert r.status == 204 and r.header("Access-Control-Allow-Origin") == ORIGIN
    assert r.header("Access-Control-Allow-Methods") == "GET, HEAD"
    assert "Authorization" in r.header("Access-Control-Allow-Headers")
    # Writes are not opened to other origins.
    r = c.put("/v1/stations/s1", STATION, headers={"Origin": ORIGIN})
    assert r.status == 200 and r.header("Access-Control-Allow-Origin") is None
    r = c.request("OPTIONS", "/v1/stations/s1", headers={"Origin": "https://evil.example"})
    assert r.status == 204 and r.header("Access-Control-Allow-Origin") is None
    assert r.header("Vary") == "Origin", r.headers  # a cache must not reuse it for ORIGIN


def max_body(port):
    c = Client(port)
    big = dict(STATION, id="big", name="x" * 100)
    small = len(b'{"observations":[]}')
    assert small < 2048
    obs = {"observations": [{"observedAt": "2024-01-01T%02d:00:00Z" % (i % 24),
                             "temperature": 1.5} for i in range(60)]}
    expect_problem(c.post("/v1/stations/s1/observations", obs), "PAYLOAD_TOO_LARGE",
                   detail_has="2048")
    # Just under the limit is read and judged on its content.
    pad = 2048 - len(('{"id":"big","name":"","city":"Oslo","country":"NO","latitude":59.9,'
                      '"longitude":10.75}').encode())
    big["name"] = "y" * pad
    body = ('{"id":"big","name":"%s","city":"Oslo","country":"NO","latitude":59.9,'
            '"longitude":10.75}' % big["name"]).encode()
    assert len(body) == 2048
    expect_problem(c.post("/v1/stations", body), "INVALID_ARGUMENT", detail_has="name")
    expect_problem(c.post("/v1/stations", body + b" "), "PAYLOAD_TOO_LARGE")


def main():
    binary = sys.argv[1]
    with NimbusServer(binary, args=KEYS, workers=2) as srv:
        access(srv.port)
    with NimbusServer(binary, args=["--cors-origin", "https://other.example, " + ORIGIN,
                                    "--max-body", "2048"], workers=1) as srv:
        cors(srv.port)
        max_body(srv.port)
    with NimbusServer(binary, args=["--cors-origin", "*"], workers=1) as srv:
        c = Client(srv.port)
        r = c.get("/v1/stations", headers={"Origin": "https://any.example"})
        assert r.header("Access-Control-Allow-Origin") == "*" and r.header("Vary") is None
        # "*" allows whatever Origin says, an empty one too (as version 1 did).
        r = c.get("/v1/stations", headers={"Origin": ""})
        assert r.header("Access-Control-Allow-Origin") == "*", r.headers
        r = c.request("OPTIONS", "/v1/stations", headers={
            "Origin": "", "Access-Control-Request-Method": "GET"})
        assert r.status == 204 and r.header("Access-Control-Allow-Methods"), r.headers
    print("rest_access: ok")


if __name__ == "__main__":
    main()
