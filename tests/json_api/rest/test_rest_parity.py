# SPDX-License-Identifier: GPL-3.0-or-later
"""rest_parity: one scenario through SOAP (python3-zeep) and through REST
(http.client) against the same server; the answers must carry identical
data (the contract: "The SOAP and REST answers to the same request carry the
same data").

The scenario creates, updates, reads, records with duplicates and a
correction, pages through both lists with each protocol's own cursors, asks
for weather by station and by city, deletes, and provokes INVALID_ARGUMENT,
UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, ALREADY_EXISTS and
PAYLOAD_TOO_LARGE. (RESOURCE_EXHAUSTED, UNAVAILABLE and INTERNAL cannot be
provoked from a client of a healthy server; their mapping is covered by the
codec and fault unit tests.)

Single requests and their outcomes (field rules, limits, one error each)
are contract cases in tests/cases, replayed there over SOAP 1.1, SOAP 1.2,
REST and WebSocket; this scenario keeps what needs a sequence of calls.

Both runs share one server, so each uses its own station-id prefix and gets
its own sequence numbers: answers are compared after replacing the prefix
and making seqs relative to the run's first one. Cursors are opaque, so only
their presence is compared. Error answers must agree on code and message.
Usage: test_rest_parity.py NIMBUS_BINARY
"""

import datetime
import os
import sys
import urllib.parse

import requests
import zeep
from zeep.helpers import serialize_object
from zeep.transports import Transport

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from nimbus_harness import NimbusServer  # noqa: E402
from rest_client import Client, bearer, basic  # noqa: E402

NS = "urn:nimbus:weather:v1"
KEYS = {"admin": ("boss", "adm1n-secret"), "reader": ("viewer", "re4der-secret")}
SEQ_KEYS = ("seq", "firstSeq", "lastSeq")


def scenario(p):
    """The steps, as (role, operation, params in the contract's JSON form).
    p is the run's prefix; role None means no credentials."""
    city = p + "ville"

    def st(sid, lat=40.0801, elevation=None, name="Parity station"):
        s = {"id": p + sid, "name": name, "city": city, "country": "NL", "latitude": lat,
             "longitude": 4.9041}
        if elevation is not None:
            s["elevation"] = elevation
        return s

    obs = [{"observedAt": "2024-03-01T08:00:00+01:00", "temperature": 4.1, "humidity": 81.5},
           {"stationId": p + "a", "observedAt": "2024-03-01T08:30:00Z", "temperature": 4.6,
            "windSpeed": 3.2, "windDirection": 270, "pressure": 1013.2, "precipitation": 0.2},
           {"observedAt": "2024-03-01T09:30:00Z", "temperature": -0.35, "precipitation": 1.1}]
    fixed = dict(obs[2], temperature=-0.4)
    steps = [
        ("admin", "CreateStation", {"station": st("a", elevation=-2.5)}),
        ("admin", "CreateStation", {"station": st("b")}),
        ("admin", "CreateStation", {"station": st("c", lat=-12.125)}),
        ("admin", "CreateStation", {"station": st("a")}),
        ("admin", "GetStation", {"id": p + "a"}),
        ("admin", "GetStation", {"id": p + "zz"}),
        ("admin", "UpdateStation", {"station": st("a", lat=52.37, name="Renamed")}),
        ("admin", "UpdateStation", {"station": st("zz")}),
        ("admin", "RecordObservations", {"stationId": p + "a", "observations": obs}),
        ("admin", "RecordObservations", {"stationId": p + "a", "observations": obs}),
        ("admin", "RecordObservations", {"stationId": p + "a", "observations": [obs[0], fixed]}),
        ("admin", "RecordObservations", {"stationId": p + "a", "observations": [
            {"observedAt": "2024-03-02T00:00:00Z"},
            {"observedAt": "2024-03-02T01:00:00Z", "humidity": 101}]}),
        ("admin", "RecordObservations", {"stationId": p + "a", "observations": [
            {"stationId": p + "b", "observedAt": "2024-03-02T00:00:00Z"}]}),
        ("admin", "RecordObservations", {"stationId": p + "zz", "observations": obs[:1]}),
        ("admin", "GetObservations", {"stationId": p + "a", "from": "2024-03-01T07:30:00Z",
                                      "to": "2024-03-01T09:30:00Z"}),
        ("admin", "GetObservations", {"stationId": p + "zz"}),
        ("admin", "GetWeather", {"stationId": p + "a"}),
        ("admin", "GetWeather", {"stationId": p + "b"}),
        ("admin", "GetWeather", {"stationId": p + "zz"}),
        ("admin", "GetCityWeather", {"city": city}),
        ("admin", "GetCityWeather", {"city": city, "country": "NL"}),
        ("admin", "GetCityWeather", {"city": city, "country": "DE"}),
        ("reader", "GetStation", {"id": p + "b"}),
        ("reader", "CreateStation", {"station": st("r")}),
        ("reader", "DeleteStation", {"id": p + "b"}),
        (None, "GetStation", {"id": p + "b"}),
        (None, "ListStations", {}),
        ("admin", "DeleteStation", {"id": p + "c"}),
        ("admin", "GetStation", {"id": p + "c"}),
        ("admin", "DeleteStation", {"id": p + "c"}),
    ]
    return steps


# ---- SOAP -----------------------------------------------------------------

class Soap:
    def __init__(self, base_url):
        self.bound = {}
        for role in (None, "admin", "reader"):
            session = requests.Session()
            if role == "admin":
                session.headers["Authorization"] = bearer(KEYS["admin"][1])
            elif role == "reader":
                session.auth = KEYS["reader"]
            c = zeep.Client(base_url + "/soap?wsdl",
                            transport=Transport(session=session, timeout=60))
            self.bound[role] = c.bind("NimbusService", "NimbusSoap11")

    def call(self, role, op, params):
        kw = dict(params)
        if op == "RecordObservations":
            kw["observation"] = kw.pop("observations")
        try:
            result = getattr(self.bound[role], op)(**kw)
        except zeep.exceptions.Fault as fault:
            code = fault.detail.find("{%s}ServiceFault/{%s}code" % (NS, NS)).text
            return {"error": code, "message": fault.message}
        return soap_fields(op, serialize_object(result))


def clean(v):
    """zeep values to JSON-like values: None (absent) dropped, dateTimes in
    the contract's output form."""
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items() if x is not None and x != []}
    if isinstance(v, list):
        return [clean(x) for x in v]
    if isinstance(v, datetime.datetime):
        return v.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return v


def soap_fields(op, r):
    r = clean(r)
    if op == "ListStations":
        return {"stations": r.get("station", []), **cursor_of(r)}
    if op == "GetObservations":
        return {"observations": r.get("observation", []), **cursor_of(r)}
    if op == "GetCityWeather":
        return {"reports": r if isinstance(r, list) else r.get("report", [])}
    if op == "DeleteStation":
        return {}
    return r


def cursor_of(r):
    return {"nextCursor": r["nextCursor"]} if r.get("nextCursor") else {}


# ---- REST -----------------------------------------------------------------

class Rest:
    def __init__(self, port):
        self.clients = {None: Client(port), "admin": Client(port, bearer(KEYS["admin"][1])),
                        "reader": Client(port, basic(*KEYS["reader"]))}

    def call(self, role, op, params):
        c = self.clients[role]
        q = urllib.parse.quote
        if op == "ListStations":
            r = c.get("/v1/stations?" + urllib.parse.urlencode(params))
        elif op == "GetStation":
            r = c.get("/v1/stations/" + q(params["id"], safe=""))
        elif op == "CreateStation":
            r = c.post("/v1/stations", params["station"])
        elif op == "UpdateStation":
            r = c.put("/v1/stations/" + q(params["station"]["id"]), params["station"])
        elif op == "DeleteStation":
            r = c.delete("/v1/stations/" + q(params["id"], safe=""))
        elif op == "RecordObservations":
            r = c.post("/v1/stations/%s/observations" % q(params["stationId"]),
                       {"observations": params["observations"]})
        elif op == "GetObservations":
            rest = {k: v for k, v in params.items() if k != "stationId"}
            r = c.get("/v1/stations/%s/observations?%s" % (q(params["stationId"]),
                                                           urllib.parse.urlencode(rest)))
        elif op == "GetWeather":
            r = c.get("/v1/stations/%s/weather" % q(params["stationId"]))
        elif op == "GetCityWeather":
            query = "?country=" + q(params["country"]) if "country" in params else ""
            r = c.get("/v1/cities/%s/weather%s" % (q(params["city"], safe=""), query))
        else:
            raise AssertionError(op)
        if r.status >= 400:
            assert r.header("Content-Type") == "application/problem+json", r.headers
            return {"error": r.json["code"], "message": r.json["detail"]}
        if r.status == 204:
            return {}
        return r.json


# ---- comparison -------------------------------------------------------------

def normalize(v, prefix, base):
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k in SEQ_KEYS:
                out[k] = x - base
            elif k == "nextCursor":
                out[k] = "<cursor>"
            else:
                out[k] = normalize(x, prefix, base)
        return out
    if isinstance(v, list):
        return [normalize(x, prefix, base) for x in v]
    if isinstance(v, str):
        return v.replace(prefix, "P-")
    return v


def run(proto, prefix):
    """Runs the scenario plus the paged walks; returns the answers and the
    run's seq base (the seq before its first stored observation)."""
    answers = []
    base = None
    for role, op, params in scenario(prefix):
        got = proto.call(role, op, params)
        if op == "RecordObservations" and base is None and "firstSeq" in got:
            base = got["firstSeq"] - 1
        answers.append((op, params, got))
    # Page through both lists with this protocol's own cursors.
    for op, params, key in (("GetObservations", {"stationId": prefix + "a", "limit": 1},
                             "observations"),
                            ("ListStations", {"city": prefix + "ville", "limit": 1},
                             "stations")):
        pages = 0
        while True:
            got = proto.call("admin", op, params)
            answers.append((op, params, got))
            pages += 1
            assert len(got[key]) <= 1, got
            if "nextCursor" not in got:
                break
            params = dict(params, cursor=got["nextCursor"])
        assert pages >= 2, (op, pages)
    return answers, base


def too_large(soap, rest, prefix):
    """A batch over --max-body is PAYLOAD_TOO_LARGE on both (messages name
    each protocol's own byte count, so only the code is compared)."""
    batch = [{"observedAt": "2024-04-01T00:%02d:%02dZ" % (i // 60, i % 60), "temperature": 1.5,
              "humidity": 50.25, "pressure": 1000.5} for i in range(1000)]
    params = {"stationId": prefix + "a", "observations": batch}
    s = soap.call("admin", "RecordObservations", params)
    r = rest.call("admin", "RecordObservations", params)
    assert s["error"] == r["error"] == "PAYLOAD_TOO_LARGE", (s, r)


def main():
    binary = sys.argv[1]
    args = ["--max-body", "65536"]
    for role, (name, secret) in KEYS.items():
        args += ["--api-key", "%s:%s:%s" % (name, secret, "read" if role == "reader" else role)]
    with NimbusServer(binary, args=args, workers=2) as srv:
        soap, rest = Soap(srv.base_url), Rest(srv.port)
        soap_answers, soap_base = run(soap, "SOAPX-")
        rest_answers, rest_base = run(rest, "RESTX-")
        assert soap_base is not None and rest_base is not None
        assert len(soap_answers) == len(rest_answers)
        errors = set()
        for (op, params, s), (_, _, r) in zip(soap_answers, rest_answers):
            ns, nr = normalize(s, "SOAPX-", soap_base), normalize(r, "RESTX-", rest_base)
            assert ns == nr, "%s %s:\n SOAP %s\n REST %s" % (op, normalize(params, "SOAPX-", 0),
                                                            ns, nr)
            if "error" in ns:
                errors.add(ns["error"])
        assert errors == {"INVALID_ARGUMENT", "UNAUTHENTICATED", "PERMISSION_DENIED",
                          "NOT_FOUND", "ALREADY_EXISTS"}, errors
        too_large(soap, rest, "SOAPX-")
        print("rest_parity: %d answers identical over SOAP and REST" % len(soap_answers))


if __name__ == "__main__":
    main()
