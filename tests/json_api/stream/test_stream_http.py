# SPDX-License-Identifier: GPL-3.0-or-later
"""stream_http: server-sent events and NDJSON on GET /v1/stream (contract
1.1), against the real server:

- the request chooses (an upgrade, Accept: text/event-stream,
  application/x-ndjson, else 426); the 200 carries Cache-Control: no-store
  and X-Accel-Buffering: no, and each event is written as it happens (it
  arrives while nothing else is being written);
- refusals before the stream starts are problem+json with the usual
  statuses (unknown station, fromSeq beyond the head, snapshot with fromSeq,
  heartbeat out of range, a query parameter nobody knows, POST, no key, a
  foreign Origin, the subscription limit shared with WebSocket);
- SSE, NDJSON and WebSocket subscribers get the same observations in the
  same order while several writers record at once;
- Last-Event-ID resumes as fromSeq (and wins over the URL's fromSeq and
  snapshot), also across a restart of the server on the same database;
- curl -N reads NDJSON line by line as it comes;
- a reader that stops reading while tens of thousands of observations are
  recorded keeps the server's memory bounded and then gets every one, in
  order (or `lagged`, which ends the response, and resumes with
  Last-Event-ID);
- an idle SSE stream gets comment lines; a stopping server ends every
  stream.

Usage: test_stream_http.py NIMBUS_BINARY
"""

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from http_stream import HttpStream, StreamClosed, create, head_seq, record  # noqa: E402
from ws_util import Client, NimbusServer, observations, rss_mb, run, station  # noqa: E402

BINARY = sys.argv.pop(1)
with open(BINARY, "rb") as _f:
    _binary = _f.read()
    SANITIZED = b"__asan_init" in _binary or b"__tsan_init" in _binary
SSE = "text/event-stream"
NDJSON = "application/x-ndjson"
KEYS = ["--api-key", "admin:adm1n-secret:admin", "--api-key", "reader:re4der-secret:read"]
ADMIN = {"Authorization": "Bearer adm1n-secret"}


class HttpFramings(unittest.TestCase):
    def test_chosen_by_the_request_and_flushed_event_by_event(self):
        with NimbusServer(BINARY, args=["--quiet"]) as srv:
            create(srv.port, "a")
            record(srv.port, "a", observations(2))
            for accept, ctype in ((SSE, SSE), (NDJSON, NDJSON),
                                  ("application/json;q=0.5, text/event-stream", SSE),
                                  ("text/event-stream;q=0.2, application/x-ndjson;q=0.9",
                                   NDJSON)):
                s = HttpStream(srv.port, {"station": "a"}, accept=accept)
                self.assertEqual(s.status, 200)
                self.assertEqual(s.headers["content-type"], ctype)
                self.assertEqual(s.headers["cache-control"], "no-store")
                self.assertEqual(s.headers["x-accel-buffering"], "no")
                self.assertEqual(s.headers["connection"], "close")
                self.assertNotIn("content-length", s.headers)
                sub = s.next()
                self.assertEqual(sub["type"], "subscribed")
                self.assertEqual(sub["seq"], head_seq(srv.port))
                if ctype == NDJSON:
                    self.assertEqual(set(sub), {"type", "seq"})  # no id
                # One event, then nothing else is written: it must arrive
                # on its own, not when a buffer fills or the stream ends.
                r = record(srv.port, "a", observations(1, start=100 + sub["seq"]))
                m = s.next()
                self.assertEqual(m["type"], "observation")
                self.assertEqual(m["observation"]["seq"], r["lastSeq"])
                if ctype == SSE:
                    self.assertEqual(m["_id"], str(r["lastSeq"]))
                else:
                    self.assertEqual(set(m), {"type", "observation"})
                s.close()
            # Anything else is still the WebSocket's 426; an upgrade wins.
            for accept in (None, "*/*", "application/json", "text/event-stream;q=0"):
                s = HttpStream(srv.port, accept=accept)
                self.assertEqual(s.status, 426, accept)
                self.assertEqual(s.headers["content-type"], "application/problem+json")
                s.close()

    def test_refused_before_the_stream_starts(self):
        with NimbusServer(BINARY, args=["--quiet", "--max-subscriptions-per-key", "3"]
                          + KEYS) as srv:
            create(srv.port, "a", ADMIN)
            head = head_seq(srv.port)
            auth = {"Authorization": "Bearer re4der-secret"}
            cases = [
                ({"station": "nope"}, 404, "NOT_FOUND", "station nope does not exist"),
                ({"station": "bad id"}, 400, "INVALID_ARGUMENT", None),
                ({"fromSeq": head + 1}, 400, "INVALID_ARGUMENT",
                 "fromSeq %d is greater than the newest seq %d" % (head + 1, head)),
                ({"fromSeq": "-1"}, 400, "INVALID_ARGUMENT", "fromSeq must be an integer >= 0"),
                ({"fromSeq": "x"}, 400, "INVALID_ARGUMENT", "fromSeq must be an integer >= 0"),
                ({"fromSeq": 0, "snapshot": "true"}, 400, "INVALID_ARGUMENT", None),
                ({"snapshot": "yes"}, 400, "INVALID_ARGUMENT", "snapshot must be true or false"),
                ({"heartbeat": 0}, 400, "INVALID_ARGUMENT",
                 "heartbeat must be between 1 and 300 seconds"),
                ({"heartbeat": 301}, 400, "INVALID_ARGUMENT",
                 "heartbeat must be between 1 and 300 seconds"),
                ({"fromseq": 1}, 400, "INVALID_ARGUMENT", 'unknown query parameter "fromseq"'),
                ({"heartbeat": [1, 2]}, 400, "INVALID_ARGUMENT",
                 "query parameter heartbeat is given more than once"),
            ]
            for accept in (SSE, NDJSON):
                for query, status, code, message in cases:
                    s = HttpStream(srv.port, query, accept=accept, headers=auth)
                    self.assertEqual((s.status, s.body["code"]), (status, code), (query, s.body))
                    self.assertEqual(s.headers["content-type"], "application/problem+json")
                    if message:
                        self.assertEqual(s.body["detail"], message)
                    s.close()
                s = HttpStream(srv.port, accept=accept, headers={"Last-Event-ID": "x"})
                self.assertEqual(s.status, 401)  # the key comes first
                s.close()
                s = HttpStream(srv.port, accept=accept, headers=dict(auth, **{"Last-Event-ID": "x"}))
                self.assertEqual(s.body["detail"], "Last-Event-ID must be an integer >= 0")
                s.close()
            # Keys as on the WebSocket: none or a wrong one is 401, the
            # header wins over access_token, a read key is enough.
            s = HttpStream(srv.port)
            self.assertEqual(s.status, 401)
            self.assertIn("www-authenticate", s.headers)
            s.close()
            s = HttpStream(srv.port, {"access_token": "wrong"})
            self.assertEqual(s.status, 401)
            s.close()
            s = HttpStream(srv.port, {"access_token": "re4der-secret"})
            self.assertEqual(s.status, 200)
            s.close()
            # heartbeat at its limits is a stream (0 and 301 are refused above).
            for hb in (1, 300):
                s = HttpStream(srv.port, {"heartbeat": hb}, headers=auth)
                self.assertEqual(s.status, 200, hb)
                s.close()
            # A foreign page may not open a stream in a visitor's name.
            s = HttpStream(srv.port, headers=dict(auth, Origin="http://evil.example"))
            self.assertEqual((s.status, s.body["code"]), (403, "PERMISSION_DENIED"))
            s.close()
            # Not a GET.
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            conn.request("POST", "/v1/stream", b"", dict(auth, Accept=SSE))
            resp = conn.getresponse()
            self.assertEqual((resp.status, resp.getheader("Allow")), (405, "GET"))
            resp.read()
            conn.close()
            # The subscription limit counts WebSocket and HTTP framings
            # alike: 3 in all for this key.
            run(self.three_subscriptions(srv))

    async def three_subscriptions(self, srv):
        auth = {"Authorization": "Bearer re4der-secret"}
        ws = await Client.open(srv, token="re4der-secret")
        await ws.send({"type": "subscribe", "id": "w"})
        await ws.recv_type("subscribed", "w")
        a = HttpStream(srv.port, accept=SSE, headers=auth)
        b = HttpStream(srv.port, accept=NDJSON, headers=auth)
        self.assertEqual((a.status, b.status), (200, 200))
        c = HttpStream(srv.port, accept=SSE, headers=auth)
        self.assertEqual((c.status, c.body["code"]), (429, "RESOURCE_EXHAUSTED"))
        c.close()
        a.close()
        # The closed stream's subscription is given back.
        deadline = time.monotonic() + 10
        while True:
            c = HttpStream(srv.port, accept=SSE, headers=auth)
            if c.status == 200 or time.monotonic() > deadline:
                break
            c.close()
            time.sleep(0.05)
        self.assertEqual(c.status, 200)
        c.close()
        b.close()
        await ws.close()

    def test_same_observations_in_the_same_order_as_the_websocket(self):
        writers, batches = 3, 30
        with NimbusServer(BINARY, args=["--quiet"], workers=2) as srv:
            for i in range(writers):
                create(srv.port, "w%d" % i)
            start = head_seq(srv.port)
            sse = HttpStream(srv.port, {"fromSeq": start}, accept=SSE)
            nd = HttpStream(srv.port, {"fromSeq": start}, accept=NDJSON)
            filtered = HttpStream(srv.port, {"fromSeq": start, "station": ["w0", "w2"]},
                                  accept=SSE)
            self.assertEqual((sse.next()["type"], nd.next()["type"], filtered.next()["type"]),
                             ("subscribed",) * 3)

            def write(i):
                for b in range(batches):
                    obs = observations(3, start=b * 3)
                    if b % 5 == 4:  # a correction of the batch before
                        obs[0] = dict(observations(1, start=(b - 1) * 3)[0], temperature=-99)
                    record(srv.port, "w%d" % i, obs)

            ws_seqs = run(self.websocket_while(srv, start, write, writers))
            end = head_seq(srv.port)
            got = {}
            for name, s in (("sse", sse), ("ndjson", nd)):
                seqs = []
                while len(seqs) < end - start:
                    m = s.next()
                    self.assertEqual(m["type"], "observation", m)
                    seqs.append((m["observation"]["seq"], m["observation"]["stationId"]))
                got[name] = seqs
                s.close()
            self.assertEqual(got["sse"], ws_seqs)
            self.assertEqual(got["ndjson"], ws_seqs)
            self.assertEqual([s for s, _ in ws_seqs], list(range(start + 1, end + 1)))
            want = [x for x in ws_seqs if x[1] in ("w0", "w2")]
            seqs = []
            while len(seqs) < len(want):
                seqs.append((lambda o: (o["seq"], o["stationId"]))(filtered.next()["observation"]))
            self.assertEqual(seqs, want)
            filtered.close()
            print("%d observations (corrections included) from %d writers: SSE, NDJSON and "
                  "WebSocket alike" % (end - start, writers))

    async def websocket_while(self, srv, start, write, writers):
        ws = await Client.open(srv)
        await ws.send({"type": "subscribe", "id": "all", "fromSeq": start})
        await ws.recv_type("subscribed", "all")
        threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            await __import__("asyncio").sleep(0.05)
        for t in threads:
            t.join()
        end = head_seq(srv.port)
        seqs = []
        while len(seqs) < end - start:
            o = (await ws.recv_type("observation", "all"))["observation"]
            seqs.append((o["seq"], o["stationId"]))
        await ws.close()
        return seqs

    def test_last_event_id_resumes_even_across_a_restart(self):
        srv = NimbusServer(BINARY, args=["--quiet"])
        try:
            srv.start()
            create(srv.port, "a")
            record(srv.port, "a", observations(3))
            s = HttpStream(srv.port, {"snapshot": "true", "station": "a"})
            self.assertEqual(s.next()["type"], "subscribed")
            snap = s.next()
            self.assertEqual((snap["type"], snap["_id"], len(snap["observations"])),
                             ("snapshot", "3", 1))
            r = record(srv.port, "a", observations(2, start=10))
            last = None
            for _ in range(2):
                last = s.next()["_id"]
            self.assertEqual(last, str(r["lastSeq"]))
            s.close()
            # Away: more is recorded, and the server restarts in place.
            missed1 = record(srv.port, "a", observations(2, start=20))
            port = srv.port
            srv.stop()
            srv.start(port)
            missed2 = record(srv.port, "a", observations(1, start=30))
            # The EventSource comes back with its URL as it was (snapshot,
            # even a stale fromSeq) and Last-Event-ID: a resume, no snapshot.
            s = HttpStream(srv.port, {"snapshot": "true", "station": "a"},
                           headers={"Last-Event-ID": last})
            self.assertEqual(s.next()["type"], "subscribed")
            ids = [s.next()["_id"] for _ in range(3)]
            self.assertEqual(ids, [str(x) for x in (missed1["firstSeq"], missed1["lastSeq"],
                                                    missed2["lastSeq"])])
            live = record(srv.port, "a", observations(1, start=40))
            m = s.next()
            self.assertEqual((m["type"], m["_id"]), ("observation", str(live["lastSeq"])))
            s.close()
            s = HttpStream(srv.port, {"fromSeq": 1}, accept=NDJSON,
                           headers={"Last-Event-ID": str(live["lastSeq"] - 1)})
            self.assertEqual(s.next()["type"], "subscribed")
            self.assertEqual(s.next()["observation"]["seq"], live["lastSeq"])
            s.close()
            srv.stop()
        finally:
            if srv.proc is not None:
                srv.kill9()
            srv.cleanup()

    def test_curl_reads_ndjson_as_it_comes(self):
        with NimbusServer(BINARY, args=["--quiet"]) as srv:
            create(srv.port, "a")
            curl = subprocess.Popen(
                ["curl", "-sS", "-N", "--max-time", "20", "-H", "Accept: " + NDJSON,
                 "http://127.0.0.1:%d/v1/stream?station=a&heartbeat=1" % srv.port],
                stdout=subprocess.PIPE, text=True)
            try:
                self.assertEqual(json.loads(curl.stdout.readline())["type"], "subscribed")
                for i in range(3):
                    r = record(srv.port, "a", observations(1, start=i))
                    m = json.loads(curl.stdout.readline())
                    self.assertEqual((m["type"], m["observation"]["seq"]),
                                     ("observation", r["lastSeq"]))
                m = json.loads(curl.stdout.readline())
                self.assertEqual(m, {"type": "heartbeat", "seq": r["lastSeq"]})
            finally:
                curl.kill()
                curl.wait()

    def test_slow_reader_gets_everything_with_bounded_memory(self):
        total, batch = 40000, 1000
        env = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16"}
        with NimbusServer(BINARY, args=["--quiet", "--ws-queue", "65536"], env=env) as srv:
            create(srv.port, "slow")
            slow = HttpStream(srv.port, accept=SSE, rcvbuf=4096, timeout=30)
            first = slow.next()
            self.assertEqual(first["type"], "subscribed")
            base = rss_mb(srv.proc.pid)
            peak = base
            for i in range(total // batch):
                record(srv.port, "slow", observations(batch, start=i * batch))
                peak = max(peak, rss_mb(srv.proc.pid))
            seqs, resumes = [], 0
            while len(seqs) < total:
                try:
                    m = slow.next()
                except StreamClosed:
                    # lagged ended the response: back with Last-Event-ID.
                    resumes += 1
                    slow = HttpStream(srv.port, headers={"Last-Event-ID": str(seqs[-1])})
                    self.assertEqual(slow.next()["type"], "subscribed")
                    continue
                if m["type"] == "lagged":
                    self.assertEqual(m["lastSeq"], seqs[-1] if seqs else first["seq"])
                    continue
                self.assertEqual(m["type"], "observation", m)
                seqs.append(m["observation"]["seq"])
            self.assertEqual(seqs, list(range(first["seq"] + 1, first["seq"] + 1 + total)))
            slow.close()
            print("slow SSE reader: %d observations, %d resumes; RSS %.0f -> peak %.0f MB"
                  % (total, resumes, base, peak))
            # What the stalled reader owes (~7 MB of events) is not held: a
            # queue of --ws-queue and the kernel's buffers are.
            self.assertLess(peak - base, 48 if SANITIZED else 14)

    def test_idle_comments_and_shutdown(self):
        with NimbusServer(BINARY, args=["--quiet", "--ws-ping-interval", "100"]) as srv:
            sse = HttpStream(srv.port)
            nd = HttpStream(srv.port, accept=NDJSON)
            self.assertEqual((sse.next()["type"], nd.next()["type"]), ("subscribed",) * 2)
            time.sleep(0.5)
            create(srv.port, "a")
            r = record(srv.port, "a", observations(1))
            self.assertEqual(sse.next()["observation"]["seq"], r["lastSeq"])
            self.assertGreaterEqual(sse.comments, 2)  # one per quiet interval
            self.assertEqual(nd.next()["observation"]["seq"], r["lastSeq"])
            srv.stop()  # the streams end, the server exits 0
            self.assertTrue(sse.wait_closed())
            self.assertTrue(nd.wait_closed())


if __name__ == "__main__":
    unittest.main(verbosity=2)
