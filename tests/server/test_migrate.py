# SPDX-License-Identifier: GPL-3.0-or-later
"""`nimbus migrate --from PATH --to URI`: a SQLite database written by a
real server (stations with awkward text, corrections, a deleted station
holding the newest seqs, a mark) is copied into an empty PostgreSQL
database, and a server on PostgreSQL then answers as the SQLite one did:
the same stations and observations with the same seqs, the same head, a
cursor the SQLite server made pages on the PostgreSQL one (the cursor key
came along), and the next write continues after the old head. Copying into
a database that holds data is refused and changes nothing; bad arguments
exit 2.

Runs on a fresh database of the pg_cluster fixture (NIMBUS_TEST_PG_URI).

Usage: test_migrate.py NIMBUS_BINARY
"""

import http.client
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nimbus_harness import NimbusServer  # noqa: E402

BINARY = os.path.abspath(sys.argv.pop(1))


def rest(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    conn.request(method, path, json.dumps(body) if body is not None else None,
                 {"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, (json.loads(data) if data else None)


def snapshot(port):
    """Everything a client can read: stations, each one's observations."""
    status, body = rest(port, "GET", "/v1/stations?limit=1000")
    assert status == 200, body
    out = {"stations": body["stations"], "observations": {}}
    for s in body["stations"]:
        status, obs = rest(port, "GET", "/v1/stations/%s/observations?limit=1000" % s["id"])
        assert status == 200, obs
        out["observations"][s["id"]] = obs["observations"]
    out["head"] = rest(port, "GET", "/healthz")[1]["seq"]
    return out


class Migrate(unittest.TestCase):
    def test_copy_keeps_everything(self):
        uri = os.environ.get("NIMBUS_TEST_PG_URI")
        self.assertTrue(uri, "NIMBUS_TEST_PG_URI is not set: run through ctest (server_migrate)")
        lite = NimbusServer(BINARY, args=["--quiet"]).start()
        try:
            stations = [("m-plain", "Oslo", None), ("m-tab\u00e9", "S\u00e3o Paulo", -2.5),
                        ("m-gone", "Bergen", 12.25)]
            for sid, city, elev in stations:
                st = {"id": sid.replace("\u00e9", ""), "name": "Back\\slash \u00e9 \u2603",
                      "city": city, "country": "NO", "latitude": 0.1 + 0.2,
                      "longitude": -179.99999999999997}
                if elev is not None:
                    st["elevation"] = elev
                self.assertEqual(rest(lite.port, "POST", "/v1/stations", st)[0], 201)
            for i in range(30):
                obs = [{"observedAt": "2024-01-01T00:%02d:00Z" % i, "temperature": i / 3,
                        "humidity": 50} for _ in range(1)]
                self.assertEqual(rest(lite.port, "POST", "/v1/stations/m-plain/observations",
                                      {"observations": obs})[0], 200)
            # A correction (the row moves to a new seq) and a station whose
            # deletion takes the newest seqs with it.
            self.assertEqual(rest(lite.port, "POST", "/v1/stations/m-plain/observations",
                                  {"observations": [{"observedAt": "2024-01-01T00:05:00Z",
                                                     "temperature": -1}]})[0], 200)
            self.assertEqual(rest(lite.port, "POST", "/v1/stations/m-gone/observations",
                                  {"observations": [{"observedAt": "2024-01-02T00:00:00Z",
                                                     "precipitation": 1.5}]})[0], 200)
            self.assertEqual(rest(lite.port, "DELETE", "/v1/stations/m-gone")[0], 204)
            status, page = rest(lite.port, "GET", "/v1/stations/m-plain/observations?limit=10")
            cursor = page["nextCursor"]
            before = snapshot(lite.port)
            lite.stop()

            cmd = [BINARY, "migrate", "--from", lite.db_path, "--to", uri]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("copied 2 stations and 30 observations", r.stdout)

            # Into a database that holds data: refused, exit 1, nothing changed.
            again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            self.assertEqual(again.returncode, 1, again.stderr)
            self.assertIn("already holds Nimbus data", again.stderr)
            bad = subprocess.run([BINARY, "migrate", "--from", lite.db_path],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(bad.returncode, 2)
            wrong_way = subprocess.run([BINARY, "migrate", "--from", uri, "--to", uri],
                                       capture_output=True, text=True, timeout=30)
            self.assertEqual(wrong_way.returncode, 1)

            with NimbusServer(BINARY, args=["--quiet"], db_path=uri) as pg:
                after = snapshot(pg.port)
                self.assertEqual(after, before)
                status, cont = rest(pg.port, "GET", "/v1/stations/m-plain/observations"
                                    "?limit=10&cursor=" + cursor)
                self.assertEqual(status, 200, cont)
                self.assertEqual(cont["observations"][0]["observedAt"], "2024-01-01T00:10:00Z")
                status, ack = rest(pg.port, "POST", "/v1/stations/m-plain/observations",
                                   {"observations": [{"observedAt": "2025-01-01T00:00:00Z"}]})
                self.assertEqual(ack["firstSeq"], before["head"] + 1)
        finally:
            lite.kill9()
            lite.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
