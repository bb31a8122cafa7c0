# SPDX-License-Identifier: GPL-3.0-or-later
"""GET /metrics and --soap-sunset against the real server.

- After SOAP 1.1, SOAP 1.2, REST and WebSocket calls under two keys (and a
  refused one), /metrics counts each by protocol, operation, code and
  client exactly, with latency, bytes, connections, storage and process
  metrics, and Debian's `promtool check metrics` accepts the whole output.
- Label values come from bounded sets only: an operation, a key name or a
  path a client invents never shows up.
- /metrics and /metrics/clients need the admin role when keys are
  configured: 401 without a key, 403 with a write key, 200 with admin (Bearer
  or Basic); an open server serves them to anyone.
- /metrics/clients (the dashboard's Clients view) agrees with /metrics.
- --soap-sunset puts Deprecation (@seconds), Sunset (HTTP-date) and Link
  rel="deprecation"/"sunset" on every SOAP answer (WSDL, result, Fault of
  1.1 and 1.2, 405) and on nothing else; the default link is /migration,
  which the server serves; --soap-sunset-link replaces it; bad values
  refuse to start.
"""

import asyncio
import base64
import email.utils
import json
import os
import shutil
import subprocess
import sys
import unittest

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from nimbus_harness import NimbusServer  # noqa: E402
import metrics_calls as mc  # noqa: E402

BINARY = sys.argv.pop(1)
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
SUNSET = "2027-06-30"
SUNSET_EPOCH = 1814313600  # 2027-06-30T00:00:00Z


def station(sid):
    return {"id": sid, "name": "Station " + sid, "city": "Berlin", "country": "DE",
            "latitude": 52.5, "longitude": 13.4}


class Metrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        args = ["--soap-sunset", SUNSET]
        for k in mc.KEYS:
            args += ["--api-key", k]
        cls.srv = NimbusServer(BINARY, args)
        cls.srv.start()
        cls.base = cls.srv.base_url

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.srv.cleanup()

    def test_counts_and_promtool(self):
        base = self.base
        st, _, body = mc.rest(base, "POST", "/v1/stations", station("M1"), key="mobile")
        self.assertEqual(st, 201, body)
        for _ in range(3):
            st, _, body = mc.soap_get_station(base, 1, "M1", key="legacy")
            self.assertEqual(st, 200, body)
        st, _, body = mc.soap_get_station(base, 2, "M1", key="legacy")
        self.assertEqual(st, 200, body)
        st, _, body = mc.soap_get_station(base, 2, "nope", key="legacy")
        self.assertEqual(st, 400, body)  # a Sender fault in 1.2
        st, _, _ = mc.rest(base, "GET", "/v1/stations/M1", key="mobile")
        self.assertEqual(st, 200)
        st, _, _ = mc.rest(base, "GET", "/v1/stations/M1", key=None)
        self.assertEqual(st, 401)
        answers = mc.ws_calls(self.srv.port, [("GetStation", {"id": "M1"}),
                                              ("GetWeather", {"stationId": "M1"}),
                                              ("NoSuchOp", {})], key="mobile")
        self.assertEqual([a["type"] for a in answers], ["result", "result", "error"])
        # An invented key name and an unknown path stay out of every label.
        st, _, _ = mc.http(base, "GET", "/v1/stations/M1",
                           headers={"Authorization": "Basic " + base64.b64encode(b"intruder:guess").decode()})
        self.assertEqual(st, 401)
        mc.http(base, "GET", "/v1/invented-path")

        headers, text = mc.scrape(base)
        self.assertEqual(headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        check = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                               capture_output=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual(check.stdout.strip() + check.stderr.strip(), b"")

        s = mc.parse(text)
        v = lambda name, **labels: mc.value(s, name, **labels)  # noqa: E731
        req = "nimbus_requests_total"
        self.assertEqual(v(req, protocol="soap11", operation="GetStation", code="OK",
                           client="legacy"), 3)
        self.assertEqual(v(req, protocol="soap12", operation="GetStation", code="OK",
                           client="legacy"), 1)
        self.assertEqual(v(req, protocol="soap12", operation="GetStation", code="NOT_FOUND",
                           client="legacy"), 1)
        self.assertEqual(v(req, protocol="rest", operation="CreateStation", code="OK",
                           client="mobile"), 1)
        self.assertEqual(v(req, protocol="rest", operation="GetStation", code="OK",
                           client="mobile"), 1)
        self.assertEqual(v(req, protocol="rest", operation="GetStation", code="UNAUTHENTICATED",
                           client="-"), 2)
        self.assertEqual(v(req, protocol="ws", operation="GetStation", code="OK",
                           client="mobile"), 1)
        self.assertEqual(v(req, protocol="ws", operation="GetWeather", code="OK",
                           client="mobile"), 1)
        self.assertEqual(v(req, protocol="ws", operation="-", code="INVALID_ARGUMENT",
                           client="mobile"), 1)
        for (name, labels) in s:
            d = dict(labels)
            self.assertNotIn("intruder", d.values())
            self.assertNotIn("NoSuchOp", d.values())
            self.assertNotIn("invented", " ".join(d.values()))
            if "client" in d:
                self.assertIn(d["client"], ("-", "ops", "legacy", "mobile"))
        self.assertEqual(v("nimbus_request_duration_seconds_count", protocol="soap11",
                           operation="GetStation"), 3)
        self.assertEqual(v("nimbus_request_duration_seconds_bucket", protocol="soap11",
                           operation="GetStation", le="+Inf"), 3)
        self.assertGreater(v("nimbus_request_duration_seconds_sum", protocol="soap11",
                             operation="GetStation"), 0)
        self.assertGreater(v("nimbus_request_bytes_total", protocol="soap11",
                             operation="GetStation"), 3 * 100)
        self.assertGreater(v("nimbus_response_bytes_total", protocol="ws",
                             operation="GetStation"), 50)
        self.assertGreaterEqual(v("nimbus_refused_total", reason="auth"), 2)
        self.assertEqual(v("nimbus_refused_total", reason="limit"), 0)
        self.assertGreaterEqual(v("nimbus_connections_open", kind="http"), 1)
        self.assertGreaterEqual(v("nimbus_storage_commit_duration_seconds_count"), 1)
        versions = [dict(lb)["version"] for (n, lb) in s if n == "nimbus_build_info"]
        self.assertEqual(len(versions), 1)
        self.assertEqual(v("nimbus_build_info", version=versions[0]), 1)
        self.assertGreater(v("process_open_fds"), 3)
        self.assertGreater(v("process_resident_memory_bytes"), 1 << 20)
        self.assertGreater(v("process_start_time_seconds"), 1.7e9)
        self.assertGreater(v("nimbus_storage_database_bytes"), 0)

        # The Clients view's JSON reads the same counters.
        st, _, body = mc.http(base, "GET", "/metrics/clients",
                              headers={"Authorization": mc.bearer("ops")})
        self.assertEqual(st, 200)
        doc = json.loads(body)
        self.assertEqual(doc["protocols"], ["soap11", "soap12", "rest", "ws"])
        rows = {(r["client"], r["operation"]): r for r in doc["rows"]}
        self.assertEqual(rows[("legacy", "GetStation")]["calls"], [3, 2, 0, 0])
        self.assertEqual(rows[("legacy", "GetStation")]["errors"], [0, 1, 0, 0])
        self.assertEqual(rows[("mobile", "GetStation")]["calls"], [0, 0, 1, 1])
        self.assertEqual(rows[("mobile", "CreateStation")]["calls"], [0, 0, 1, 0])

    def test_stream_and_storage(self):
        base = self.base
        st, _, _ = mc.rest(base, "POST", "/v1/stations", station("S9"), key="ops")
        self.assertEqual(st, 201)
        _, before = mc.scrape(base)
        b = mc.parse(before)
        obs = {"observations": [{"observedAt": "2026-01-01T00:00:%02dZ" % i, "temperature": 1.5}
                                for i in range(3)]}
        st, _, body = mc.rest(base, "POST", "/v1/stations/S9/observations", obs, key="ops")
        self.assertEqual(st, 200, body)
        st, _, body = mc.rest(base, "POST", "/v1/stations/S9/observations", obs, key="ops")
        self.assertEqual(json.loads(body)["duplicates"], 3)
        # A subscription from seq 0 reads the past from storage (a replay).
        async def replay():
            url = "ws://127.0.0.1:%d/v1/stream?access_token=%s" % (self.srv.port,
                                                                   mc.SECRETS["ops"])
            async with websockets.connect(url, ping_interval=None) as ws:
                await ws.send(json.dumps({"type": "subscribe", "id": "r", "fromSeq": 0}))
                types = []
                while len([t for t in types if t == "observation"]) < 3:
                    types.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["type"])
                _, during = mc.scrape(base)
                return mc.parse(during)
        d = asyncio.run(replay())
        _, after = mc.scrape(base)
        a = mc.parse(after)
        delta = lambda name, **lb: mc.value(a, name, **lb) - mc.value(b, name, **lb)  # noqa
        self.assertEqual(delta("nimbus_storage_observations_stored_total"), 3)
        self.assertEqual(delta("nimbus_storage_duplicates_total"), 3)
        self.assertEqual(mc.value(a, "nimbus_storage_head_seq"),
                         mc.value(b, "nimbus_storage_head_seq") + 3)
        self.assertGreaterEqual(delta("nimbus_stream_replays_total"), 1)
        self.assertEqual(mc.value(d, "nimbus_stream_subscribers"), 1)
        self.assertEqual(mc.value(d, "nimbus_connections_open", kind="websocket"), 1)
        self.assertEqual(mc.value(a, "nimbus_stream_subscribers"), 0)

    def test_admin_role(self):
        for path in ("/metrics", "/metrics/clients"):
            st, h, body = mc.http(self.base, "GET", path)
            self.assertEqual(st, 401, body)
            self.assertIn("Bearer", h["WWW-Authenticate"])
            self.assertEqual(json.loads(body)["code"], "UNAUTHENTICATED")
            st, _, body = mc.http(self.base, "GET", path,
                                  headers={"Authorization": mc.bearer("legacy")})
            self.assertEqual(st, 403, body)
            self.assertEqual(json.loads(body)["code"], "PERMISSION_DENIED")
            st, _, _ = mc.http(self.base, "GET", path,
                               headers={"Authorization": "Bearer wrong"})
            self.assertEqual(st, 401)
            st, _, _ = mc.http(self.base, "GET", path, headers={"Authorization": mc.basic("ops")})
            self.assertEqual(st, 200)
            st, h, _ = mc.http(self.base, "POST", path, b"",
                               headers={"Authorization": mc.bearer("ops")})
            self.assertEqual(st, 405)

    def test_sunset_headers(self):
        base = self.base
        answers = {
            "wsdl": mc.http(base, "GET", "/soap?wsdl"),
            "result": mc.soap_get_station(base, 1, "S-none", key="legacy"),
            "fault11": mc.soap_get_station(base, 1, "does-not-exist", key="legacy"),
            "fault12": mc.soap_get_station(base, 2, "does-not-exist"),
            "405": mc.http(base, "PUT", "/soap", b""),
        }
        for what, (st, h, _) in answers.items():
            with self.subTest(what):
                dep = h["Deprecation"]
                self.assertRegex(dep, r"^@\d+$")
                self.assertLessEqual(int(dep[1:]), SUNSET_EPOCH)
                self.assertEqual(h["Sunset"], "Wed, 30 Jun 2027 00:00:00 GMT")
                self.assertEqual(email.utils.parsedate_to_datetime(h["Sunset"]).timestamp(),
                                 SUNSET_EPOCH)
                link = h["Link"]
                url = "http://127.0.0.1:%d/migration" % self.srv.port
                self.assertIn('<%s>; rel="deprecation"' % url, link)
                self.assertIn('<%s>; rel="sunset"' % url, link)
        # Only SOAP is going away.
        for path in ("/v1/stations", "/healthz", "/v1/openapi.json"):
            st, h, _ = mc.rest(base, "GET", path, key="ops")
            self.assertIsNone(h["Deprecation"], path)
            self.assertIsNone(h["Sunset"], path)
        st, h, body = mc.http(base, "GET", "/migration")
        self.assertEqual(st, 200)
        self.assertTrue(h["Content-Type"].startswith("text/markdown"))
        self.assertIn(b"# Migrating from SOAP to REST", body)


class Options(unittest.TestCase):
    def run_nimbus(self, *args):
        return subprocess.run([BINARY, "--listen", "127.0.0.1:0", "--db", "/nonexistent/x.db"]
                              + list(args), capture_output=True, timeout=20)

    def test_bad_values_refused(self):
        for bad in ("2027-02-30", "30.06.2027", "2027-06-30T25:00:00Z", "2027-06-30T10:00:00",
                    "", "1969-12-31"):
            r = self.run_nimbus("--soap-sunset", bad)
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn(b"--soap-sunset needs", r.stderr)
        r = self.run_nimbus("--soap-sunset", SUNSET, "--soap-sunset-link", "ftp://x")
        self.assertEqual(r.returncode, 2)
        r = self.run_nimbus("--soap-sunset", SUNSET, "--soap-sunset-link", "https://a/b c")
        self.assertEqual(r.returncode, 2)
        r = self.run_nimbus("--soap-sunset-link", "https://example.org/guide")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"goes with --soap-sunset", r.stderr)

    def test_link_and_second_and_open_server(self):
        srv = NimbusServer(BINARY, ["--soap-sunset", "2027-01-15T12:30:00Z",
                                    "--soap-sunset-link", "https://example.org/nimbus/rest"])
        with srv:
            st, h, _ = mc.http(srv.base_url, "GET", "/soap?wsdl")
            self.assertEqual(h["Sunset"], "Fri, 15 Jan 2027 12:30:00 GMT")
            self.assertEqual(h["Link"], '<https://example.org/nimbus/rest>; rel="deprecation", '
                                        '<https://example.org/nimbus/rest>; rel="sunset"')
            # An open server shows its metrics to anyone.
            st, _, body = mc.http(srv.base_url, "GET", "/metrics")
            self.assertEqual(st, 200)
            self.assertIn(b'nimbus_requests_total{protocol="soap11",operation="-",code="OK",'
                          b'client="-"} 1', body)
        srv = NimbusServer(BINARY, [])
        with srv:
            st, h, _ = mc.http(srv.base_url, "GET", "/soap?wsdl")
            self.assertEqual(st, 200)
            self.assertIsNone(h["Deprecation"])
            self.assertIsNone(h["Link"])


if __name__ == "__main__":
    unittest.main()
