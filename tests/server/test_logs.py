# SPDX-License-Identifier: GPL-3.0-or-later
"""The log as an operator and a log shipper meet it: every line has an RFC
3339 UTC time with milliseconds and a level; --log-format json writes one
JSON object per line (each line parsed here on its own); --log-file is
opened again on SIGHUP after logrotate renamed it; start-up says in one
line what runs with which limits; bad log options are refused."""

import json
import os
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
                                   r"max-body=1048576 " % TIME)
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
