# SPDX-License-Identifier: GPL-3.0-or-later
"""A real Prometheus (Debian's `prometheus`) scrapes a running nimbus.

nimbus runs with API keys; Prometheus, on loopback with its data in a
temporary directory and a 1 s scrape interval, scrapes /metrics with the
admin key (Bearer), as docs/operations.md shows. After SOAP 1.1, SOAP 1.2
and REST calls under two keys, the test asks Prometheus's HTTP API
(/api/v1/query) for the request counters and gets the exact numbers, and
the target is "up". Both processes are stopped at the end, whatever
happens; the whole test waits at most WAIT_S for Prometheus.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from nimbus_harness import NimbusServer  # noqa: E402
import metrics_calls as mc  # noqa: E402

BINARY = sys.argv.pop(1)
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
WAIT_S = 60

CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: nimbus
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials: %s
    static_configs:
      - targets: ["127.0.0.1:%d"]
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus(unittest.TestCase):
    def test_scraped_counter_through_the_api(self):
        args = []
        for k in mc.KEYS:
            args += ["--api-key", k]
        tmp = tempfile.mkdtemp(prefix="nimbus-prometheus-")
        srv = NimbusServer(BINARY, args)
        prom = None
        log = None
        try:
            srv.start()
            base = srv.base_url
            st, _, body = mc.rest(base, "POST", "/v1/stations",
                                  {"id": "P1", "name": "P", "city": "Oslo", "country": "NO",
                                   "latitude": 59.9, "longitude": 10.7}, key="mobile")
            self.assertEqual(st, 201, body)
            for _ in range(4):
                self.assertEqual(mc.soap_get_station(base, 1, "P1", key="legacy")[0], 200)
            self.assertEqual(mc.soap_get_station(base, 2, "P1", key="legacy")[0], 200)
            for _ in range(2):
                self.assertEqual(mc.rest(base, "GET", "/v1/stations/P1", key="mobile")[0], 200)

            config = os.path.join(tmp, "prometheus.yml")
            with open(config, "w") as f:
                f.write(CONFIG % (mc.SECRETS["ops"], srv.port))
            port = free_port()
            log = open(os.path.join(tmp, "prometheus.log"), "wb")
            prom = subprocess.Popen([PROMETHEUS, "--config.file=" + config,
                                     "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                                     "--web.listen-address=127.0.0.1:%d" % port,
                                     "--log.level=warn"],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            api = "http://127.0.0.1:%d/api/v1/" % port

            def query(q):
                url = api + "query?" + urllib.parse.urlencode({"query": q})
                try:
                    with urllib.request.urlopen(url, timeout=5) as res:
                        doc = json.load(res)
                except OSError:
                    return None
                self.assertEqual(doc["status"], "success", doc)
                return doc["data"]["result"]

            want = {
                'sum(nimbus_requests_total{protocol="soap11",operation="GetStation",'
                'client="legacy",code="OK"})': 4,
                'sum(nimbus_requests_total{protocol="soap12",client="legacy"})': 1,
                'sum(nimbus_requests_total{protocol="rest",operation="GetStation",'
                'client="mobile"})': 2,
                'up{job="nimbus"}': 1,
            }
            got = {}
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline and len(got) < len(want):
                if prom.poll() is not None:
                    with open(os.path.join(tmp, "prometheus.log")) as f:
                        self.fail("prometheus exited: " + f.read())
                for q, expected in want.items():
                    result = query(q)
                    if result:
                        got[q] = float(result[0]["value"][1])
                time.sleep(0.5)
            for q, expected in want.items():
                self.assertEqual(got.get(q), expected, q)
        finally:
            if prom is not None:
                prom.terminate()
                try:
                    prom.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    prom.kill()
                    prom.wait()
            if log is not None:
                log.close()
            srv.stop()
            srv.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
