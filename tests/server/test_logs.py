# SPDX-License-Identifier: GPL-3.0-or-later
"""The log as an operator and a log shipper meet it: every line has an RFC
3339 UTC time with milliseconds and a level; --log-format json writes one
JSON object per line (each line parsed here on its own); --log-file is
opened again on SIGHUP after logrotate renamed it; start-up says in one
line what runs with which limits; bad log options are refused. Every
answer carries a request id (the client's X-Request-Id when well-formed,
else a new one) in its X-Request-Id header, in problem+json's requestId,
in a SOAP Fault's detail and in a WebSocket error, and the access line
names it with the caller's key."""

import asyncio
import http.client
import json
import os
import xml.etree.ElementTree as ET
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from nimbus_harness import NimbusServer  # noqa: E402

import websockets  # noqa: E402
import websockets.exceptions  # noqa: E402

BINARY = sys.argv.pop(1)
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def json_lines(text):
    """Every line parsed on its own, as a shipper reads them."""
    lines = []
    for line in text.splitlines():
        obj = json.loads(line)
        assert re.fullmatch(TIME, obj["ts"]), line
        assert obj["level"] in ("info", "warn", "error"), line
        assert isinstance(obj["msg"], str), line
        lines.append(obj)
    return lines


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class JsonLines(unittest.TestCase):
    def test_every_line_is_json_on_stderr(self):
        srv = NimbusServer(BINARY, args=["--log-format", "json"])
        srv.start()
        try:
            get(srv.base_url + "/healthz")
            get(srv.base_url + "/v1/stations/nope")
            get(srv.base_url + "/v1/stations?limit=abc")
        finally:
            srv.stop()
        try:
            lines = json_lines(srv.log_text())
        finally:
            srv.cleanup()
        started = [x for x in lines if x["msg"] == "started"]
        self.assertEqual(len(started), 1, lines)
        s = started[0]
        self.assertRegex(s["version"], r"^\d+\.\d+\.\d+$")
        self.assertRegex(s["listen"], r"^http://127\.0\.0\.1:\d+$")
        self.assertEqual(s["workers"], 2)
        self.assertEqual(s["db"], srv.db_path)
        self.assertEqual(s["access"], "open")
        self.assertEqual((s["keys"], s["key-file"], s["config"]), (0, "-", "-"))
        for limit in ("max-body", "max-ws-message", "ws-queue", "max-connections",
                      "max-connections-per-client", "request-timeout", "min-body-rate",
                      "idle-timeout", "rate", "burst", "max-subscriptions-per-key", "retention",
                      "render-cache", "ws-ping-interval", "shutdown-grace"):
            self.assertIsInstance(s[limit], (int, float), limit)
        self.assertEqual(s["max-body"], 1048576)
        # (after the harness's own health checks)
        access = [x for x in lines if x["msg"] == "access"][-3:]
        self.assertEqual([(x["op"], x["status"], x["path"]) for x in access],
                         [("Health", 200, "/healthz"), ("GetStation", 404, "/v1/stations/nope"),
                          ("ListStations", 400, "/v1/stations")])
        for x in access:
            self.assertEqual(x["level"], "info")
            self.assertEqual(x["peer"], "127.0.0.1")
            self.assertEqual(x["key"], "-")  # an open server: no key
            self.assertRegex(x["rid"], r"^[0-9a-f]{32}$")
            self.assertIsInstance(x["us"], int)
            self.assertIsInstance(x["bytes"], int)
        self.assertEqual([x["msg"] for x in lines[-2:]], ["SIGTERM received, stopping", "stopped"])

    def test_text_lines_have_time_and_level(self):
        with NimbusServer(BINARY) as srv:
            get(srv.base_url + "/healthz")
            text = srv.log_text()
        lines = text.splitlines()
        self.assertRegex(lines[0], r"^%s info nimbus: started version=\S+ "
                                   r"listen=http://127\.0\.0\.1:\d+ workers=2 db=\S+ access=open "
                                   r"keys=0 key-file=- config=- max-body=1048576 " % TIME)
        for line in lines:
            self.assertRegex(line, r"^%s (info|warn|error) (nimbus: |access )" % TIME)

    def test_errors_before_start_have_time_and_level(self):
        r = subprocess.run([BINARY, "--workers", "0"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"^%s error nimbus: --workers needs 1\.\.64, not '0'\n$" % TIME)


class LogFile(unittest.TestCase):
    def test_reopened_on_sighup_after_rename(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "nimbus.log")
            rotated = path + ".1"
            with NimbusServer(BINARY, args=["--log-file", path, "--log-format", "json"]) as srv:
                get(srv.base_url + "/healthz")
                self.assertTrue(wait_for(lambda: "Health" in open(path).read()))
                os.rename(path, rotated)  # what logrotate does
                get(srv.base_url + "/v1/stations")  # still into the renamed file
                self.assertTrue(wait_for(lambda: "ListStations" in open(rotated).read()))
                srv.proc.send_signal(signal.SIGHUP)
                self.assertTrue(wait_for(lambda: os.path.exists(path)))
                get(srv.base_url + "/v1/stations/x")
                self.assertTrue(wait_for(lambda: "GetStation" in open(path).read()))
                # Nothing on stderr: it all went to the file.
                self.assertEqual(srv.log_text(), "")
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o640)
            old = json_lines(open(rotated).read())
            new = json_lines(open(path).read())
        self.assertEqual([x["msg"] for x in old][0], "started")
        self.assertEqual([x.get("op") for x in old if x["msg"] == "access"][-2:],
                         ["Health", "ListStations"])
        msgs = [x["msg"] for x in new]
        self.assertRegex(msgs[0], r"^SIGHUP: log file .*nimbus\.log opened again$")
        self.assertEqual([x.get("op") for x in new if x["msg"] == "access"], ["GetStation"])
        self.assertEqual(msgs[-1], "stopped")

    def test_unwritable_log_file_refuses_to_start(self):
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([BINARY, "--listen", "127.0.0.1:0", "--db",
                                os.path.join(d, "x.db"), "--log-file",
                                os.path.join(d, "missing", "nimbus.log")],
                               capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, r"error nimbus: cannot open log file .*missing/nimbus\.log: "
                                   r"No such file or directory")

    def test_bad_log_format_is_refused(self):
        for value in ("xml", "JSON", ""):
            with self.subTest(value=value):
                r = subprocess.run([BINARY, "--log-format", value], capture_output=True,
                                   text=True)
                self.assertEqual(r.returncode, 2)
                self.assertIn("--log-format needs text or json", r.stderr)



def raw(port, method, path, body=None, headers=None):
    """(status, headers with lower-case names, body) of one request."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body, headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


SOAP_NS = {"s": "http://schemas.xmlsoap.org/soap/envelope/", "n": "urn:nimbus:weather:v1"}
SOAP_GET = ('<?xml version="1.0"?><s:Envelope xmlns:s="%s" xmlns:n="%s"><s:Body><n:GetStation>'
            '<n:id>nope</n:id></n:GetStation></s:Body></s:Envelope>'
            % (SOAP_NS["s"], SOAP_NS["n"])).encode()
ID = r"^[0-9a-f]{32}$"


class RequestId(unittest.TestCase):
    """One server with a key: requests with and without an X-Request-Id of
    their own, over REST, SOAP and the WebSocket, then the access lines."""

    @classmethod
    def setUpClass(cls):
        cls.srv = NimbusServer(BINARY, args=["--api-key", "ops:ops-secret:admin",
                                             "--api-key", "viewer:view-secret:read",
                                             "--log-format", "json"])
        cls.srv.start()
        cls.auth = {"Authorization": "Bearer ops-secret"}

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.lines = json_lines(cls.srv.log_text())
        cls.srv.cleanup()

    def test_rest(self):
        port = self.srv.port
        # Theirs, well-formed: kept, in the header and the problem.
        status, h, body = raw(port, "GET", "/v1/stations/nope",
                              headers=dict(self.auth, **{"X-Request-Id": "client-1.A_b"}))
        self.assertEqual(status, 404)
        self.assertEqual(h["x-request-id"], "client-1.A_b")
        self.assertEqual(json.loads(body)["requestId"], "client-1.A_b")
        # None, or one that is not well-formed: a new one, never theirs.
        for theirs in (None, "has space", "x" * 129, "quote\"", "caf\u00e9"):
            with self.subTest(theirs=theirs):
                headers = dict(self.auth)
                if theirs is not None:
                    headers["X-Request-Id"] = theirs.encode("utf-8").decode("latin-1")
                status, h, body = raw(port, "GET", "/v1/stations/nope", headers=headers)
                self.assertRegex(h["x-request-id"], ID)
                self.assertEqual(json.loads(body)["requestId"], h["x-request-id"])
        # Successes carry one too, and so do answers without a key.
        status, h, _ = raw(port, "GET", "/v1/stations", headers=self.auth)
        self.assertEqual(status, 200)
        self.assertRegex(h["x-request-id"], ID)
        status, h, body = raw(port, "GET", "/v1/stations", headers={"X-Request-Id": "no-key"})
        self.assertEqual((status, h["x-request-id"], json.loads(body)["requestId"]),
                         (401, "no-key", "no-key"))

    def test_soap_fault_detail(self):
        for version, ctype in ((1, "text/xml; charset=utf-8"),
                               (2, "application/soap+xml; charset=utf-8")):
            with self.subTest(version=version):
                body = SOAP_GET
                env = SOAP_NS["s"]
                if version == 2:
                    env = "http://www.w3.org/2003/05/soap-envelope"
                    body = body.replace(SOAP_NS["s"].encode(), env.encode())
                headers = dict(self.auth, **{"Content-Type": ctype,
                                             "X-Request-Id": "soap-%d" % version})
                status, h, data = raw(self.srv.port, "POST", "/soap", body, headers)
                self.assertEqual(h["x-request-id"], "soap-%d" % version)
                root = ET.fromstring(data)
                detail = root.find(".//{%s}Detail" % env if version == 2 else ".//detail")
                self.assertIsNotNone(detail, data)
                self.assertEqual(detail.findtext("{%s}requestId" % SOAP_NS["n"]),
                                 "soap-%d" % version)
                self.assertEqual(detail.findtext("{%s}ServiceFault/{%s}code"
                                                 % (SOAP_NS["n"], SOAP_NS["n"])), "NOT_FOUND")

    def test_websocket(self):
        async def run():
            url = "ws://127.0.0.1:%d/v1/stream" % self.srv.port
            # A refused upgrade is problem+json with the id.
            with self.assertRaises(websockets.exceptions.InvalidStatusCode) as cm:
                await websockets.connect(url, extra_headers={"X-Request-Id": "ws-refused"})
            self.assertEqual(cm.exception.status_code, 401)
            self.assertEqual(cm.exception.headers["X-Request-Id"], "ws-refused")
            # An accepted one says its id in the 101, and every error on it
            # quotes that id.
            ws = await websockets.connect(url, ping_interval=None, extra_headers=dict(
                self.auth, **{"X-Request-Id": "ws-session"}))
            self.assertEqual(ws.response_headers["X-Request-Id"], "ws-session")
            await ws.send(json.dumps({"type": "call", "id": "c", "op": "GetStation",
                                      "params": {"id": "nope"}}))
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            self.assertEqual((msg["type"], msg["code"], msg["requestId"]),
                             ("error", "NOT_FOUND", "ws-session"))
            await ws.close()
        asyncio.run(run())

    def test_zz_access_lines(self):
        """After the others (unittest runs them in name order): every
        access line has a key ('-' when none was valid) and an id, the
        client's where it gave a good one."""
        self.srv.stop()
        lines = json_lines(self.srv.log_text())
        access = [x for x in lines if x["msg"] == "access"]
        for x in access:
            self.assertIn(x["key"], ("ops", "viewer", "-"), x)
            self.assertTrue(x["rid"] == "-" or re.fullmatch(r"[A-Za-z0-9._-]{1,128}", x["rid"]), x)
        by_rid = {x["rid"]: x for x in access}
        self.assertEqual((by_rid["client-1.A_b"]["key"], by_rid["client-1.A_b"]["status"]),
                         ("ops", 404))
        self.assertEqual((by_rid["no-key"]["key"], by_rid["no-key"]["status"]), ("-", 401))
        self.assertEqual((by_rid["soap-1"]["proto"], by_rid["soap-1"]["key"]), ("soap", "ops"))
        self.assertEqual(by_rid["soap-2"]["op"], "GetStation")
        self.assertEqual((by_rid["ws-refused"]["status"], by_rid["ws-refused"]["key"]), (401, "-"))
        self.assertEqual((by_rid["ws-session"]["status"], by_rid["ws-session"]["key"]),
                         (101, "ops"))
        self.srv.start()  # for tearDownClass

if __name__ == "__main__":
    unittest.main(verbosity=2)
