# SPDX-License-Identifier: GPL-3.0-or-later
"""The nimbus binary as an operator meets it: --help and --version, bad
options refused with exit 2, a keyless server refused beyond loopback, the
health endpoint, the access log, and a clean stop on SIGTERM and SIGINT."""

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from nimbus_harness import NimbusServer  # noqa: E402

BINARY = sys.argv.pop(1)


def run(*args, timeout=20, env=None):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=dict(os.environ, **(env or {})))


class CommandLine(unittest.TestCase):
    def test_help_lists_every_option(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for opt in ("--listen", "--workers", "--db", "--max-body", "--max-ws-message",
                    "--api-key", "--open", "--demo", "--port-file", "--quiet", "--version",
                    "--render-cache", "--ws-ping-interval", "--ws-queue", "--cors-origin",
                    "--soap-max-depth", "--soap-max-attributes", "--soap-max-namespaces",
                    "--log-file", "--log-format", "--config", "--keys", "--follow-poll"):
            self.assertIn(opt, r.stdout)

    def test_version(self):
        r = run("--version")
        self.assertEqual(r.returncode, 0)
        # The version alone on the first line (for scripts), then the
        # licence, as GNU tools print it.
        self.assertRegex(r.stdout, r"^nimbus \d+\.\d+\.\d+\nLicense GPL-3.0-or-later: ")

    def test_bad_options_exit_2_with_a_message(self):
        cases = [["--bogus"], ["--workers", "0"], ["--workers", "x"], ["--listen", "nowhere"],
                 ["--listen", "127.0.0.1:70000"], ["--max-body", "-5"], ["--max-body", "12"],
                 ["stray"], ["--demo-reseed"], ["--workers"], ["--render-cache", "-1"],
                 ["--render-cache", "lots"], ["--render-cache", ""],
                 ["--soap-max-depth", "4"], ["--soap-max-depth", "257"],
                 ["--soap-max-attributes", "0"], ["--soap-max-namespaces", "x"],
                 ["--follow-poll", "9"], ["--follow-poll", "x"], ["--follow-poll", "600001"]]
        for args in cases:
            with self.subTest(args=args):
                r = run(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("nimbus:", r.stderr)

    def test_bad_api_key_refused(self):
        with tempfile.TemporaryDirectory() as d:
            for spec in ("nosecret", "a:b:superuser", "a::read"):
                with self.subTest(spec=spec):
                    r = run("--listen", "127.0.0.1:0", "--db", os.path.join(d, "x.db"),
                            "--api-key", spec)
                    self.assertEqual(r.returncode, 1, r.stderr)
                    self.assertIn("--api-key", r.stderr)

    def test_keyless_server_stays_on_loopback(self):
        with tempfile.TemporaryDirectory() as d:
            r = run("--listen", "0.0.0.0:0", "--db", os.path.join(d, "x.db"))
            self.assertEqual(r.returncode, 1)
            self.assertIn("--open", r.stderr)

    def test_unusable_database_is_a_clear_error(self):
        r = run("--listen", "127.0.0.1:0", "--db", "/proc/nimbus/x.db")
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot open database", r.stderr)


class Running(unittest.TestCase):
    def test_health_and_access_log(self):
        with NimbusServer(BINARY) as srv:
            with urllib.request.urlopen(srv.base_url + "/healthz") as resp:
                self.assertEqual(resp.status, 200)
                self.assertEqual(resp.headers["Content-Type"], "application/json")
                body = resp.read()
                self.assertIn(b'"status":"ok"', body)
            log = srv.log_text()
            # Every line: an RFC 3339 UTC time with milliseconds, a level.
            self.assertRegex(log, r"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info access "
                                  r"w=\d+ peer=127\.0\.0\.1 proto=http op=Health "
                                  r"method=GET path=/healthz status=200 bytes=\d+ us=\d+")
            for line in log.splitlines():
                self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info|warn|error) ")

    def test_render_cache_sizes_answer_alike(self):
        """--render-cache 0 keeps nothing, 1 byte can keep nothing either (a
        body over an eighth of it is never kept), the default keeps: the
        answers are the same bytes, and a write shows at once in each."""
        answers = {}
        for size in ("0", "1", None):
            args = ["--render-cache", size] if size else []
            with NimbusServer(BINARY, args=args) as srv:
                def call(method, path, body=None):
                    req = urllib.request.Request(srv.base_url + path, method=method,
                                                 data=json.dumps(body).encode() if body else None,
                                                 headers={"Content-Type": "application/json"})
                    with urllib.request.urlopen(req) as resp:
                        return resp.read(), resp.headers.get("ETag")
                call("POST", "/v1/stations", {"id": "rc", "name": "R", "city": "C",
                                              "country": "DE", "latitude": 1, "longitude": 2})
                seen = []
                for t in (1, 2):
                    first = call("GET", "/v1/stations/rc/weather")
                    self.assertEqual(call("GET", "/v1/stations/rc/weather"), first)
                    call("POST", "/v1/stations/rc/observations",
                         {"observations": [{"observedAt": "2024-05-01T0%d:00:00Z" % t,
                                            "temperature": t}]})
                    after = call("GET", "/v1/stations/rc/weather")
                    self.assertNotEqual(after, first, size)
                    self.assertIn(b'"temperature":%d' % t, after[0])
                    seen += [first, after]
                answers[size] = seen
        self.assertEqual(answers["0"], answers[None])
        self.assertEqual(answers["1"], answers[None])

    def test_follow_poll_limits_are_accepted(self):
        """--follow-poll 10 and 600000, its limits, start a server (on
        SQLite the option has no effect; service_pg_follow checks what it
        does on PostgreSQL); 9 and 600001 exit 2 (above)."""
        for ms in ("10", "600000"):
            with NimbusServer(BINARY, args=["--follow-poll", ms]) as srv:
                with urllib.request.urlopen(srv.base_url + "/healthz") as resp:
                    self.assertEqual(resp.status, 200, ms)

    def test_second_server_on_the_same_address_exits_1(self):
        with NimbusServer(BINARY) as first:
            with tempfile.TemporaryDirectory() as d:
                r = run("--listen", "127.0.0.1:%d" % first.port, "--db", os.path.join(d, "x.db"))
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("address already in use", r.stderr)
            # The first one still has all the traffic.
            with urllib.request.urlopen(first.base_url + "/healthz") as resp:
                self.assertEqual(resp.status, 200)

    def test_second_server_on_the_same_database_exits_1(self):
        with NimbusServer(BINARY) as first:
            r = run("--listen", "127.0.0.1:0", "--db", first.db_path)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("is in use by another nimbus (pid %d)" % first.proc.pid, r.stderr)
        # Once the first has stopped, the database is free again.
        with NimbusServer(BINARY, db_path=first.db_path) as again:
            with urllib.request.urlopen(again.base_url + "/healthz") as resp:
                self.assertEqual(resp.status, 200)

    def test_connect_and_trace_are_answered_and_closed(self):
        """evhttp keeps a CONNECT's connection open for a tunnel; we make
        none, so the answer is a problem and the connection closes."""
        with NimbusServer(BINARY) as srv:
            for line in (b"CONNECT /v1/stations HTTP/1.1", b"CONNECT example.com:443 HTTP/1.1",
                         b"TRACE /v1/stations HTTP/1.1"):
                with socket.create_connection(("127.0.0.1", srv.port), 5) as s:
                    s.sendall(line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
                    data = b""
                    while True:
                        chunk = s.recv(4096)  # a timeout here is the old hang
                        if not chunk:
                            break
                        data += chunk
                    self.assertRegex(data, rb"^HTTP/1.1 40[45] ")
                    self.assertIn(b"application/problem+json", data)

    def test_ping_interval_from_the_environment(self):
        """Version 1's NIMBUS_WS_PING_INTERVAL_MS still sets the interval."""
        import base64
        with NimbusServer(BINARY, env={"NIMBUS_WS_PING_INTERVAL_MS": "300"}) as srv:
            with socket.create_connection(("127.0.0.1", srv.port), 5) as s:
                key = base64.b64encode(os.urandom(16))
                s.sendall(b"GET /v1/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                          b"Sec-WebSocket-Key: " + key + b"\r\n\r\n")
                head = b""
                while b"\r\n\r\n" not in head:
                    head += s.recv(1)
                self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
                t0 = time.monotonic()
                s.settimeout(3)
                frame = s.recv(2)
                self.assertEqual(frame[0] & 0x0F, 0x9, "a ping frame")  # opcode 9
                self.assertLess(time.monotonic() - t0, 1.5)
        r = run("--listen", "127.0.0.1:0", env={"NIMBUS_WS_PING_INTERVAL_MS": "7"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("NIMBUS_WS_PING_INTERVAL_MS", r.stderr)

    def test_readiness(self):
        """/readyz: 200 while serving; 503 naming why once storage fails
        its writes (the database's directory made read-only under it) and
        again 200 when writes commit again."""
        with NimbusServer(BINARY) as srv:
            with urllib.request.urlopen(srv.base_url + "/readyz") as resp:
                self.assertEqual(resp.status, 200)
                self.assertEqual(json.loads(resp.read())["status"], "ready")
            db = sqlite3.connect(srv.db_path)
            # A write that cannot commit: the table locked against the writer
            # by an exclusive transaction held here for a while.
            db.execute("PRAGMA busy_timeout = 0")
            db.execute("BEGIN EXCLUSIVE")
            req = urllib.request.Request(srv.base_url + "/v1/stations", method="POST",
                                         data=json.dumps({"id": "r", "name": "R", "city": "C",
                                                          "country": "DE", "latitude": 1,
                                                          "longitude": 2}).encode(),
                                         headers={"Content-Type": "application/json"})
            try:
                urllib.request.urlopen(req, timeout=30)
            except urllib.error.HTTPError as e:
                self.assertEqual(e.code, 503)
            try:
                urllib.request.urlopen(srv.base_url + "/readyz")
                self.fail("/readyz answered 200 while writes fail")
            except urllib.error.HTTPError as e:
                self.assertEqual(e.code, 503)
                body = json.loads(e.read())
                self.assertEqual(body["status"], "not ready")
                self.assertTrue(body["notReady"][0].startswith("storage: "), body)
            db.rollback()
            db.close()
            with urllib.request.urlopen(req, timeout=30) as resp:
                self.assertEqual(resp.status, 201)
            with urllib.request.urlopen(srv.base_url + "/readyz") as resp:
                self.assertEqual(resp.status, 200)

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        with NimbusServer(BINARY) as srv:
            with socket.create_connection(("127.0.0.1", srv.port), 5) as s:
                f = s.makefile("rb")
                for _ in range(300):
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    status = f.readline()
                    self.assertTrue(status.startswith(b"HTTP/1.1 200"), status)
                    length = None
                    while True:
                        line = f.readline()
                        if line in (b"\r\n", b""):
                            break
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":")[1])
                    self.assertIsNotNone(length)
                    f.read(length)

    def test_sigint_and_sigterm_stop_cleanly(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(sig=sig):
                srv = NimbusServer(BINARY).start()
                srv.stop(sig=sig)  # asserts exit code 0 and no sanitizer report
                self.assertIn("stopped", srv.log_text())
                srv.cleanup()

    def test_sigterm_during_start_up_is_a_clean_stop(self):
        # Another process holds the database, so start-up waits on SQLite's
        # busy timeout; a SIGTERM arriving then must not kill the process
        # halfway: it is held, and honoured as a clean stop once running.
        with tempfile.TemporaryDirectory() as d:
            db = os.path.join(d, "x.db")
            holder = sqlite3.connect(db, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
            proc = subprocess.Popen([BINARY, "--listen", "127.0.0.1:0", "--db", db, "--quiet"],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            try:
                time.sleep(1.0)  # well inside the 5 s busy timeout
                proc.send_signal(signal.SIGTERM)
                time.sleep(0.2)
                holder.execute("ROLLBACK")
                holder.close()
                _, err = proc.communicate(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            self.assertEqual(proc.returncode, 0, err)
            self.assertIn("SIGTERM received", err)
            self.assertIn("stopped", err)

    def test_head_sends_no_body(self):
        # A HEAD answer has the GET's Content-Length and no body bytes: a
        # client never reads a HEAD body, so stray bytes would be taken for
        # the next response on the same kept-alive connection.
        with NimbusServer(BINARY) as srv:
            with socket.create_connection(("127.0.0.1", srv.port), 5) as s:
                s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                          b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            head, sep, rest = data.partition(b"\r\n\r\n")
            self.assertTrue(sep and head.startswith(b"HTTP/1.1 200"), data)
            self.assertRegex(head.decode(), r"(?i)content-length: [1-9]")
            self.assertTrue(rest.startswith(b"HTTP/1.1 200"), data)
            _, _, body = rest.partition(b"\r\n\r\n")
            self.assertIn(b'"status":"ok"', body)

    def test_workers_share_one_port(self):
        with NimbusServer(BINARY, workers=4) as srv:
            for _ in range(40):
                with urllib.request.urlopen(srv.base_url + "/healthz") as resp:
                    self.assertEqual(resp.status, 200)
            served_by = set()
            for line in srv.log_text().splitlines():
                m = re.match(r"\S+ info access (w=\d+) ", line)
                if m:
                    served_by.add(m.group(1))
            self.assertGreater(len(served_by), 1, "SO_REUSEPORT should spread connections")


class Demo(unittest.TestCase):
    """Issue: --demo never touches a database that already holds stations
    unless --demo-reseed is given: no seeding, and no feeding either, even
    into a station that happens to share a demo station's id. A database an
    earlier --demo run seeded is the demo's own, and its feed resumes."""

    def _seq(self, srv):
        with urllib.request.urlopen(srv.base_url + "/healthz") as resp:
            return json.loads(resp.read())["seq"]

    def test_demo_leaves_a_database_with_stations_alone(self):
        srv = NimbusServer(BINARY, args=["--quiet"])
        try:
            srv.start()
            soap_create(srv.port, "cairo")  # shares an id with a demo site
            srv.stop()
            srv.args = ["--quiet", "--demo"]
            srv.start()
            self.assertEqual(self._seq(srv), 0)
            # The feeder visits every demo site within about 6 s.
            time.sleep(7)
            self.assertEqual(self._seq(srv), 0, "the demo fed a database that held stations")
            srv.stop()
            self.assertIn("leaving it alone", srv.log_text())
        finally:
            if srv.proc is not None:
                srv.kill9()
            srv.cleanup()

    def test_demo_seeds_and_feeds_an_empty_database(self):
        with NimbusServer(BINARY, args=["--quiet", "--demo"]) as srv:
            seeded = self._seq(srv)
            self.assertGreater(seeded, 0)
            deadline = time.monotonic() + 10
            while self._seq(srv) == seeded and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertGreater(self._seq(srv), seeded, "the demo feeder never recorded")

    def test_demo_resumes_feeding_its_own_database_after_a_restart(self):
        srv = NimbusServer(BINARY, args=["--quiet", "--demo"])
        try:
            srv.start()
            srv.stop()
            srv.start()  # same database, seeded by the first run
            before = self._seq(srv)
            deadline = time.monotonic() + 10
            while self._seq(srv) == before and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertGreater(self._seq(srv), before, "the demo database was not fed again")
            with urllib.request.urlopen(srv.base_url + "/v1/stations?limit=1000") as resp:
                self.assertEqual(len(json.loads(resp.read())["stations"]), 22,
                                 "a restart must not seed the demo stations twice")
            srv.stop()
            self.assertIn("resuming the feed", srv.log_text())
        finally:
            if srv.proc is not None:
                srv.kill9()
            srv.cleanup()


def soap_create(port, station_id):
    body = ('<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"'
            ' xmlns:n="urn:nimbus:weather:v1"><s:Body><n:CreateStation><n:station>'
            '<n:id>%s</n:id><n:name>Mine</n:name><n:city>Cairo</n:city><n:country>EG</n:country>'
            '<n:latitude>30</n:latitude><n:longitude>31</n:longitude>'
            '</n:station></n:CreateStation></s:Body></s:Envelope>' % station_id).encode()
    req = urllib.request.Request("http://127.0.0.1:%d/soap" % port, data=body,
                                 headers={"Content-Type": "text/xml; charset=utf-8"})
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 200, resp.status


if __name__ == "__main__":
    unittest.main(verbosity=2)
