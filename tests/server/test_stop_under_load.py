# SPDX-License-Identifier: GPL-3.0-or-later
"""A clean stop while writes and reads pour in loses nothing (the operator's
SIGTERM, not a crash: kill -9 is test_durability's).

Writers POST one observation per request over REST as fast as they are
answered, readers GET the weather beside them, so that at the SIGTERM some
writes are still waiting to be parsed (a worker defers a write's parsing
while reads wait: nimbus_http_defer), some are queued for the writer
thread, and some are being committed. Then:

- the server exits 0 within the grace period, with no sanitizer report;
- every write that was answered 2xx is stored, with the seqs it was given
  (single observations and batches of 1,000 alike);
- every request that was on the wire a good while before the signal got an
  answer: a stop may refuse new connections, but what it has taken in, it
  answers (the server reads nothing more from a connection whose request
  waits for its answer, so a request sent before the signal cannot be
  dropped unread without being a bug).
"""

import http.client
import json
import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from nimbus_harness import NimbusServer  # noqa: E402

BINARY = sys.argv.pop(1)
WRITERS = 24
BATCHERS = 10  # RecordObservations of BATCH observations each
BATCH = 1000
READERS = 8
# A request sent this long before the signal must have been answered.
SETTLED = 0.2


class Client(threading.Thread):
    def __init__(self, port, index, write, stop_at, batch=1):
        super().__init__(daemon=True)
        self.port, self.index, self.write, self.stop_at = port, index, write, stop_at
        self.batch = batch
        self.acked = []       # the seqs of acknowledged observations
        self.unanswered = []  # send times of requests that got no answer
        self.errors = []

    def run(self):
        conn = None
        n = 0
        while time.monotonic() < self.stop_at[0] + 3:
            if conn is None:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
                    conn.connect()
                except OSError:
                    conn = None
                    if time.monotonic() > self.stop_at[0]:
                        return  # the server stopped listening: done
                    time.sleep(0.01)
                    continue
            n += 1
            t = 1700000000 + self.index * 10000000 + n * self.batch
            sent = time.monotonic()
            try:
                if self.write:
                    body = json.dumps({"observations": [{
                        "observedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t + k)),
                        "temperature": 1.5} for k in range(self.batch)]})
                    conn.request("POST", "/v1/stations/s/observations", body,
                                 {"Content-Type": "application/json"})
                else:
                    conn.request("GET", "/v1/stations/s/weather")
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException):
                self.unanswered.append(sent)
                conn.close()
                conn = None
                continue
            if resp.status >= 300:
                if resp.status != 503:  # UNAVAILABLE while stopping is an answer
                    self.errors.append("HTTP %d: %r" % (resp.status, data[:200]))
                continue
            if self.write:
                answer = json.loads(data)
                self.acked.extend(range(answer["firstSeq"], answer["lastSeq"] + 1))
            if resp.will_close:
                conn.close()
                conn = None


class StopUnderLoad(unittest.TestCase):
    def test_sigterm_under_load_loses_nothing(self):
        srv = NimbusServer(BINARY, workers=2).start()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            conn.request("POST", "/v1/stations", json.dumps({
                "id": "s", "name": "S", "city": "C", "country": "DE",
                "latitude": 1, "longitude": 2}), {"Content-Type": "application/json"})
            self.assertEqual(conn.getresponse().status, 201)
            conn.close()
            stop_at = [time.monotonic() + 1e9]
            clients = [Client(srv.port, i, i < WRITERS + BATCHERS, stop_at,
                              BATCH if WRITERS <= i < WRITERS + BATCHERS else 1)
                       for i in range(WRITERS + BATCHERS + READERS)]
            for c in clients:
                c.start()
            time.sleep(2.0)
            stop_at[0] = time.monotonic()
            srv.stop(timeout=30)  # asserts exit 0 and a clean log
        finally:
            if srv.proc is not None:
                srv.kill9()
        for c in clients:
            c.join(30)
        errors = [e for c in clients for e in c.errors]
        self.assertEqual(errors, [])
        early = [t for c in clients for t in c.unanswered if t < stop_at[0] - SETTLED]
        self.assertEqual(early, [], "requests sent over %.1f s before SIGTERM got no answer"
                         % SETTLED)
        acked = sorted(seq for c in clients for seq in c.acked)
        self.assertGreater(len(acked), 100)

        srv.start()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
            stored, cursor = {}, ""
            while True:
                conn.request("GET", "/v1/stations/s/observations?limit=1000"
                             + ("&cursor=" + cursor if cursor else ""))
                resp = conn.getresponse()
                page = json.loads(resp.read())
                self.assertEqual(resp.status, 200, page)
                stored.update((o["seq"], o) for o in page["observations"])
                cursor = page.get("nextCursor", "")
                if not cursor:
                    break
            conn.close()
        finally:
            srv.stop()
        missing = [seq for seq in acked if seq not in stored]
        self.assertEqual(missing, [], "acknowledged writes missing after the stop")
        print("%d writes acknowledged before the stop, all stored" % len(acked))


if __name__ == "__main__":
    unittest.main()
