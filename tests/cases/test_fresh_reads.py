#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""fresh_reads: a read right after an acknowledged write sees that write,
over every protocol, however the write came in. Reads are answered from
each worker's cache of rendered answers while nothing they depend on has
changed (service/freshness.c); this is the test that the cache never
serves an answer older than a write the client was told is done.

For every writing protocol (SOAP 1.1, SOAP 1.2, REST, WebSocket) and every
round: the reads below are first made on every protocol over several
connections (so both workers have them cached), then one write is made,
and the same reads are made again at once on every connection; each must
show the write:

- RecordObservations (a new observation, then a correction of it) ->
  GetWeather's latest, GetObservations' newest item, GetCityWeather;
- UpdateStation -> GetStation, ListStations, GetWeather's station;
- CreateStation -> ListStations, GetCityWeather;
- DeleteStation -> GetStation, GetWeather and GetObservations NOT_FOUND.

Usage: test_fresh_reads.py NIMBUS_BINARY
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import run_cases  # noqa: E402
from nimbus_harness import NimbusServer  # noqa: E402

KEY = "admin"
READ_CONNECTIONS = 3  # per protocol: enough that both workers serve some


class Failure(AssertionError):
    pass


def result(answer, what):
    if "result" not in answer:
        raise Failure("%s: %r" % (what, answer))
    return answer["result"]


def error_code(answer):
    return answer.get("error", {}).get("code")


def station(sid, name, city):
    return {"id": sid, "name": name, "city": city, "country": "DE",
            "latitude": 52.5, "longitude": 13.25}


class Readers:
    """READ_CONNECTIONS clients of each protocol, each on its own
    connection, kept for the whole run."""

    def __init__(self, srv):
        self.runners = [run_cases.Runner(srv) for _ in range(READ_CONNECTIONS)]

    def each(self):
        for i, r in enumerate(self.runners):
            for name in run_cases.PROTOCOLS:
                yield "%s#%d" % (name, i), r.protocols[name]

    def close(self):
        for r in self.runners:
            r.close()


def weather_reads(readers, sid, city):
    """Every read that depends on station sid, from every client."""
    seen = []
    for label, p in readers.each():
        w = result(p.call(KEY, "GetWeather", {"stationId": sid}), label + " GetWeather")
        obs = result(p.call(KEY, "GetObservations", {"stationId": sid, "limit": 1000}),
                     label + " GetObservations")
        cw = result(p.call(KEY, "GetCityWeather", {"city": city}), label + " GetCityWeather")
        st = result(p.call(KEY, "GetStation", {"id": sid}), label + " GetStation")
        ls = result(p.call(KEY, "ListStations", {"limit": 1000}), label + " ListStations")
        seen.append((label, w, obs, cw, st, ls))
    return seen


def check_observation(seen, sid, observed_at, temperature, seq):
    for label, w, obs, cw, _, _ in seen:
        latest = w["report"].get("latest", {})
        if latest.get("seq") != seq or latest.get("temperature") != temperature:
            raise Failure("%s GetWeather after the write of seq %d (%r): latest is %r"
                          % (label, seq, temperature, latest))
        items = obs.get("observations", [])
        if not any(o.get("seq") == seq and o.get("temperature") == temperature for o in items):
            raise Failure("%s GetObservations after the write of seq %d: not among %d items"
                          % (label, seq, len(items)))
        mine = [r for r in cw.get("reports", []) if r["station"]["id"] == sid]
        if len(mine) != 1 or mine[0].get("latest", {}).get("seq") != seq:
            raise Failure("%s GetCityWeather after the write of seq %d: %r" % (label, seq, mine))
        if latest.get("observedAt") != observed_at:
            raise Failure("%s GetWeather: observedAt %r, wrote %r"
                          % (label, latest.get("observedAt"), observed_at))


def check_station(seen, sid, name):
    for label, w, _, _, st, ls in seen:
        if st["station"]["name"] != name:
            raise Failure("%s GetStation after renaming to %r: %r" % (label, name, st))
        if w["report"]["station"]["name"] != name:
            raise Failure("%s GetWeather's station after renaming to %r: %r"
                          % (label, name, w["report"]["station"]))
        listed = [s for s in ls.get("stations", []) if s["id"] == sid]
        if len(listed) != 1 or listed[0]["name"] != name:
            raise Failure("%s ListStations after renaming %s to %r: %r"
                          % (label, sid, name, listed))


def run(srv):
    readers = Readers(srv)
    writer = run_cases.Runner(srv)
    checks = 0
    try:
        for n, wname in enumerate(run_cases.PROTOCOLS):
            wp = writer.protocols[wname]
            sid, city = "fresh%d" % n, "Freshtown%d" % n
            result(wp.call(KEY, "CreateStation", {"station": station(sid, "First", city)}),
                   wname + " CreateStation")
            seq = None
            for round_ in range(3):
                weather_reads(readers, sid, city)  # cached everywhere now
                at = "2024-05-01T1%d:00:00Z" % round_
                for temperature in (10.5 + round_, -3.25 - round_):  # then a correction
                    rec = result(wp.call(KEY, "RecordObservations", {
                        "stationId": sid,
                        "observations": [{"observedAt": at, "temperature": temperature}]}),
                        wname + " RecordObservations")
                    seq = rec["lastSeq"]
                    check_observation(weather_reads(readers, sid, city), sid, at, temperature,
                                      seq)
                    checks += 1
                name = "Renamed %s %d" % (wname, round_)
                result(wp.call(KEY, "UpdateStation", {"station": station(sid, name, city)}),
                       wname + " UpdateStation")
                check_station(weather_reads(readers, sid, city), sid, name)
                checks += 1
            # A second station in the city shows up in the list and the city.
            other = sid + "b"
            result(wp.call(KEY, "CreateStation", {"station": station(other, "Second", city)}),
                   wname + " CreateStation")
            for label, _, _, cw, _, ls in weather_reads(readers, sid, city):
                if other not in [s["id"] for s in ls["stations"]]:
                    raise Failure("%s ListStations after creating %s" % (label, other))
                if other not in [r["station"]["id"] for r in cw["reports"]]:
                    raise Failure("%s GetCityWeather after creating %s" % (label, other))
            checks += 1
            result(wp.call(KEY, "DeleteStation", {"id": sid}), wname + " DeleteStation")
            for label, p in readers.each():
                for op, params in (("GetStation", {"id": sid}),
                                   ("GetWeather", {"stationId": sid}),
                                   ("GetObservations", {"stationId": sid})):
                    code = error_code(p.call(KEY, op, params))
                    if code != "NOT_FOUND":
                        raise Failure("%s %s after deleting %s: %s" % (label, op, sid, code))
            checks += 1
            print("%-7s writes: every read on every protocol saw each write at once" % wname)
    finally:
        readers.close()
        writer.close()
    return checks


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    srv = NimbusServer(sys.argv[1], workers=2, args=[
        "--api-key", "%s:%s:%s" % run_cases.KEYS["admin"]])
    srv.start()
    try:
        checks = run(srv)
    except Failure as e:
        print("FAIL: %s" % e)
        srv.stop()
        return 1
    srv.stop()
    print("fresh_reads: %d write-then-read checks over %d protocols x %d connections passed"
          % (checks, len(run_cases.PROTOCOLS), READ_CONNECTIONS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
