# SPDX-License-Identifier: GPL-3.0-or-later
"""systemd's notify protocol as a Type=notify unit sees it, without systemd:
the test binds the datagram socket systemd would, names it in NOTIFY_SOCKET
and reads what the real server sends. READY=1 must come once the server
answers (so systemd never starts a dependent too early), RELOADING=1 then
READY=1 around a SIGHUP, STOPPING=1 at SIGTERM, and a socket that is gone
must never stop the server from serving.

Usage: test_notify.py NIMBUS_BINARY
"""

import os
import re
import signal
import socket
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from nimbus_harness import NimbusServer  # noqa: E402

BINARY = sys.argv.pop(1)


def fields(datagram):
    """'A=1\\nB=x' -> {'A': '1', 'B': 'x'}, as systemd splits a message."""
    return dict(line.split("=", 1) for line in datagram.decode().split("\n") if line)


class Notify(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="nimbus-notify-")
        self.path = os.path.join(self.dir.name, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(20)

    def tearDown(self):
        self.sock.close()
        self.dir.cleanup()

    def next_message(self):
        return fields(self.sock.recv(4096))

    def test_ready_reload_stop(self):
        server = NimbusServer(BINARY, env={"NOTIFY_SOCKET": self.path})
        with server:
            ready = self.next_message()
            self.assertEqual(ready.get("READY"), "1", ready)
            # The status names where it listens; that address answers.
            m = re.search(r"listening on (http://127\.0\.0\.1:(\d+)), 2 workers",
                          ready.get("STATUS", ""))
            self.assertTrue(m, ready)
            self.assertEqual(int(m.group(2)), server.port)
            with urllib.request.urlopen(m.group(1) + "/healthz", timeout=10) as r:
                self.assertEqual(r.status, 200)

            server.proc.send_signal(signal.SIGHUP)
            reloading = self.next_message()
            self.assertEqual(reloading.get("RELOADING"), "1", reloading)
            self.assertRegex(reloading.get("MONOTONIC_USEC", ""), r"^\d+$")
            again = self.next_message()
            self.assertEqual(again.get("READY"), "1", again)
            with urllib.request.urlopen(server.base_url + "/healthz", timeout=10) as r:
                self.assertEqual(r.status, 200)
            server.stop()  # SIGTERM; asserts exit 0
            stopping = self.next_message()
            self.assertEqual(stopping.get("STOPPING"), "1", stopping)
            log = server.log_text()  # before the with block deletes it
        self.assertIn("SIGTERM received", log)
        self.assertNotIn("cannot notify", log)

    def test_without_systemd_nothing_is_sent_or_said(self):
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        server = NimbusServer(BINARY)
        server.env = env
        with server:
            server.stop()
            log = server.log_text()
        self.assertIn("SIGTERM received", log)
        self.assertNotIn("cannot notify", log)

    def test_a_socket_gone_is_logged_not_fatal(self):
        gone = os.path.join(self.dir.name, "gone")
        server = NimbusServer(BINARY, env={"NOTIFY_SOCKET": gone})
        with server:
            with urllib.request.urlopen(server.base_url + "/healthz", timeout=10) as r:
                self.assertEqual(r.status, 200)
            server.stop()
            log = server.log_text()
        self.assertIn("nimbus: cannot notify the service manager", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
