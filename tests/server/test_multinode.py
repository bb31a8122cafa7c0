# SPDX-License-Identifier: GPL-3.0-or-later
"""Two Nimbus nodes on one PostgreSQL database with HAProxy in front of them
(docs/scaling.md), all real processes on loopback: the contract's promises
must hold across nodes.

- Writes through either node, or the load balancer, get strictly increasing
  seqs that are never reused.
- A subscriber on node A receives, in seq order and exactly once, what 64
  concurrent writers record through node B and through HAProxy.
- kill -9 of node B while writers write through it loses no acknowledged
  observation; B's subscribers resume on node A with fromSeq and get every
  stored observation after what they had, with no gap and no repeat; B
  restarted replays the same to a new subscriber; a subscriber held on A
  all along gets everything, B's writes after its restart included, in
  order and once.
- Node A's kept answers (weather report, GetStation and its ETag, a city's
  weather) go stale on writes through node B.
- The contract cases (tests/cases/run_cases.py, SOAP 1.1, SOAP 1.2, REST and
  WebSocket) and python3-zeep pass through HAProxy.

The database is a fresh one of the pg_cluster fixture's cluster
(NIMBUS_TEST_PG_URI, set by tests/lib/pg_fixture.py run); HAProxy is started
here and stopped, as are the nodes, even when a check fails. Without the
variable, PostgreSQL or HAProxy, the test fails saying why.

Usage: test_multinode.py NIMBUS_BINARY
"""

import asyncio
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import pg_harness  # noqa: E402
from nimbus_harness import NimbusServer  # noqa: E402

import websockets  # noqa: E402

BINARY = os.path.abspath(sys.argv.pop(1))
KEYS = ["admin:adm1n-secret:admin", "writer:wr1ter-secret:write", "reader:re4der-secret:read"]
ADMIN = "adm1n-secret"
T0 = 1_700_000_000


def rest(port, method, path, body=None, timeout=15):
    """(status, decoded JSON body). Raises OSError / http.client errors when
    the connection fails."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, json.dumps(body) if body is not None else None,
                     {"Authorization": "Bearer " + ADMIN, "Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    return resp.status, (json.loads(data) if data else None)


def record(port, station, times, timeout=15):
    status, body = rest(port, "POST", "/v1/stations/%s/observations" % station,
                        {"observations": [{"observedAt": iso(t), "temperature": (t % 50) / 2}
                                          for t in times]}, timeout)
    if status != 200:
        raise AssertionError("record %s: %d %s" % (station, status, body))
    return body


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def create(port, sid):
    status, body = rest(port, "POST", "/v1/stations",
                        {"id": sid, "name": "Node test", "city": "Nodeville", "country": "NO",
                         "latitude": 60.0, "longitude": 10.0})
    assert status == 201, (status, body)


def stored(port, station):
    """{observedAt: seq} of station, every page, read through port."""
    out, cursor = {}, None
    while True:
        path = "/v1/stations/%s/observations?limit=1000" % station
        if cursor:
            path += "&cursor=" + cursor
        status, body = rest(port, "GET", path)
        assert status == 200, (status, body)
        for o in body["observations"]:
            out[o["observedAt"]] = o["seq"]
        cursor = body.get("nextCursor")
        if not cursor:
            return out


class Subscriber:
    """A WebSocket subscription on its own thread: seqs received in order,
    and how the connection ended."""

    def __init__(self, port, from_seq=None, stations=None):
        self.port, self.from_seq, self.stations = port, from_seq, stations
        self.seqs, self.obs = [], []
        self.head = None
        self.error = None
        self.closed = threading.Event()
        self.ready = threading.Event()
        self._stop = False
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self):
        self.thread.start()
        if not self.ready.wait(15):
            raise AssertionError("subscription on port %d not confirmed: %s"
                                 % (self.port, self.error))
        return self

    async def _run(self):
        url = "ws://127.0.0.1:%d/v1/stream?access_token=%s" % (self.port, ADMIN)
        msg = {"type": "subscribe", "id": "s"}
        if self.from_seq is not None:
            msg["fromSeq"] = self.from_seq
        if self.stations is not None:
            msg["stations"] = self.stations
        try:
            async with websockets.connect(url, max_size=None, open_timeout=10) as ws:
                await ws.send(json.dumps(msg))
                while not self._stop:
                    try:
                        text = await asyncio.wait_for(ws.recv(), 0.2)
                    except asyncio.TimeoutError:
                        continue
                    m = json.loads(text)
                    if m["type"] == "subscribed":
                        self.head = m["seq"]
                        self.ready.set()
                    elif m["type"] == "observation":
                        self.seqs.append(m["observation"]["seq"])
                        self.obs.append(m["observation"])
                    else:
                        self.error = "unexpected message: %s" % text
                        self.ready.set()
                        return
        except Exception as e:  # noqa: BLE001 -- the connection's end is the result
            if not self._stop:
                self.error = self.error or repr(e)
        finally:
            self.ready.set()
            self.closed.set()

    def wait_for(self, seqs, timeout=30):
        """Waits until every seq of `seqs` was received."""
        want = set(seqs)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if want <= set(self.seqs):
                return True
            if self.closed.is_set():
                return False
            time.sleep(0.05)
        return False

    def stop(self):
        self._stop = True
        self.thread.join(10)


def check_order(test, seqs, what):
    for a, b in zip(seqs, seqs[1:]):
        test.assertLess(a, b, "%s: seq %d after %d (out of order or repeated)" % (what, b, a))


class MultiNode(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.uri = os.environ.get("NIMBUS_TEST_PG_URI")
        why = None if cls.uri else ("NIMBUS_TEST_PG_URI is not set: run through ctest "
                                    "(server_multinode uses the pg_cluster fixture)")
        why = why or pg_harness.haproxy_missing()
        if why:
            raise AssertionError("FAIL, not skipped: " + why)
        args = ["--quiet", "--workers", "2"]
        for k in KEYS:
            args += ["--api-key", k]
        cls.nodes = []
        cls.lb = None
        try:
            for _ in range(2):
                cls.nodes.append(NimbusServer(BINARY, db_path=cls.uri, args=args).start())
            cls.a, cls.b = cls.nodes
            cls.b_port = cls.b.port
            cls.lb = pg_harness.HAProxy([cls.a.port, cls.b.port]).start()
            deadline = time.monotonic() + 20
            while rest(cls.lb.port, "GET", "/readyz")[0] != 200:
                assert time.monotonic() < deadline, "HAProxy never passed a request"
                time.sleep(0.1)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.lb:
            cls.lb.stop()
        failed = []
        for n in cls.nodes:
            try:
                n.stop()
            except Exception as e:  # noqa: BLE001 -- reported below
                failed.append(e)
            n.cleanup()
        if failed:
            raise failed[0]

    def test_1_seqs_increase_through_every_node(self):
        create(self.lb.port, "seq-1")
        last = 0
        for i in range(30):
            port = (self.a.port, self.b.port, self.lb.port)[i % 3]
            ack = record(port, "seq-1", [T0 + 2 * i, T0 + 2 * i + 1])
            self.assertEqual(ack["accepted"], 2)
            self.assertEqual(ack["lastSeq"], ack["firstSeq"] + 1)
            self.assertGreater(ack["firstSeq"], last, "seq reused or back at write %d" % i)
            last = ack["lastSeq"]
        # Both nodes' heads reach it (node B's through its follower).
        for node in self.nodes:
            deadline = time.monotonic() + 10
            while rest(node.port, "GET", "/healthz")[1]["seq"] < last:
                self.assertLess(time.monotonic(), deadline, "a node's head stays behind")
                time.sleep(0.02)
        seqs = sorted(stored(self.a.port, "seq-1").values())
        self.assertEqual(len(seqs), 60)
        self.assertEqual(len(set(seqs)), 60)

    def test_2_subscriber_on_a_gets_64_writers_through_b_and_the_balancer(self):
        writers, batches = 64, 5
        for w in range(writers):
            create(self.lb.port, "w-%d" % w)
        head = rest(self.a.port, "GET", "/healthz")[1]["seq"]
        sub = Subscriber(self.a.port, from_seq=head).start()
        acked, errors = [], []
        lock = threading.Lock()

        def write(w):
            port = self.b.port if w % 2 == 0 else self.lb.port
            try:
                for b in range(batches):
                    t = T0 + 1000 * w + 3 * b
                    ack = record(port, "w-%d" % w, [t, t + 1, t + 2], timeout=60)
                    with lock:
                        acked.extend(range(ack["firstSeq"], ack["lastSeq"] + 1))
            except Exception as e:  # noqa: BLE001 -- reported by the main thread
                errors.append("writer %d: %r" % (w, e))

        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(len(acked), writers * batches * 3)
        self.assertEqual(len(set(acked)), len(acked), "a seq was given twice")
        ok = sub.wait_for(acked, 30)
        sub.stop()
        self.assertIsNone(sub.error)
        self.assertTrue(ok, "node A's subscriber missed %d of %d observations"
                        % (len(set(acked) - set(sub.seqs)), len(acked)))
        check_order(self, sub.seqs, "subscriber on A")
        self.assertEqual(sorted(sub.seqs), sorted(acked), "received other than what was written")

    def test_3_kill_9_of_b_mid_write(self):
        for side in "ab":
            for w in range(8):
                create(self.lb.port, "k-%s-%d" % (side, w))
        head = rest(self.b.port, "GET", "/healthz")[1]["seq"]
        filt = ["k-a-0", "k-b-0", "k-b-1"]
        subs = [Subscriber(self.b.port, from_seq=head).start(),
                Subscriber(self.b.port, from_seq=head, stations=filt).start()]
        # Held on A through B's death and restart.
        on_a = Subscriber(self.a.port, from_seq=head).start()
        acks, errors = [], []  # (station, t, seq)
        lock = threading.Lock()
        stop = threading.Event()
        killing = threading.Event()

        def write(node, side, w):
            t = T0 + 10_000_000 + 1000 * w
            while not stop.is_set():
                try:
                    ack = record(node.port, "k-%s-%d" % (side, w), [t, t + 1], timeout=30)
                except (OSError, http.client.HTTPException) as e:
                    if not (killing.is_set() and side == "b"):
                        errors.append("writer %s%d: %r" % (side, w, e))
                    return
                with lock:
                    acks.append(("k-%s-%d" % (side, w), t, ack["firstSeq"]))
                    acks.append(("k-%s-%d" % (side, w), t + 1, ack["firstSeq"] + 1))
                t += 2

        threads = [threading.Thread(target=write, args=(self.b if s == "b" else self.a, s, w))
                   for s in "ab" for w in range(8)]
        for th in threads:
            th.start()
        time.sleep(1.5)
        killing.set()
        self.b.kill9()
        time.sleep(0.5)
        stop.set()
        for th in threads:
            th.join(60)
        self.assertEqual(errors, [])
        self.assertTrue(any(s.startswith("k-b") for s, _, _ in acks), "nothing written via B")
        print("\nkill -9: %d observations acknowledged through B, %d through A; B's "
              "subscribers had %s" % (sum(s.startswith("k-b") for s, _, _ in acks),
                                      sum(s.startswith("k-a") for s, _, _ in acks),
                                      [len(sub.seqs) for sub in subs]))

        # Nothing acknowledged was lost, and with the seq it was given.
        have = {}
        for side in "ab":
            for w in range(8):
                sid = "k-%s-%d" % (side, w)
                for at, seq in stored(self.a.port, sid).items():
                    have[(sid, at)] = seq
        for sid, t, seq in acks:
            self.assertEqual(have.get((sid, iso(t))), seq, "acknowledged %s at %s" % (sid, iso(t)))

        # B's subscribers resume on A from the last seq they got.
        for i, sub in enumerate(subs):
            self.assertTrue(sub.closed.wait(10), "subscriber %d on B not cut off" % i)
            stations = sub.stations
            want = sorted(seq for (sid, _), seq in have.items()
                          if seq > head and (stations is None or sid in stations))
            last = sub.seqs[-1] if sub.seqs else head
            resumed = Subscriber(self.a.port, from_seq=last, stations=stations).start()
            ok = resumed.wait_for([s for s in want if s > last], 30)
            resumed.stop()
            self.assertIsNone(resumed.error)
            self.assertTrue(ok, "subscriber %d: resumed on A without %d observations"
                            % (i, len(set(want) - set(sub.seqs) - set(resumed.seqs))))
            seen = sub.seqs + resumed.seqs
            check_order(self, seen, "subscriber %d across the kill" % i)
            self.assertEqual(seen, want, "subscriber %d: a gap or an extra" % i)

        # B restarted on the same database and port (HAProxy's backend
        # comes back) replays the same.
        self.b.start(port=self.b_port)
        again = Subscriber(self.b.port, from_seq=head, stations=filt).start()
        want = sorted(seq for (sid, _), seq in have.items() if seq > head and sid in filt)
        ok = again.wait_for(want, 30)
        again.stop()
        self.assertTrue(ok)
        self.assertEqual(again.seqs, want)

        # What the restarted B records reaches the subscriber A held all
        # along: everything stored since head, in order, once.
        after = []
        for i in range(10):
            ack = record(self.b.port, "k-b-0", [T0 + 20_000_000 + i])
            after.append(ack["firstSeq"])
        every = sorted(set(have.values()) | set(after))
        every = [seq for seq in every if seq > head]
        ok = on_a.wait_for(every, 30)
        on_a.stop()
        self.assertIsNone(on_a.error)
        self.assertTrue(ok, "the subscriber on A missed %d observations across B's kill -9 and "
                        "restart" % len(set(every) - set(on_a.seqs)))
        check_order(self, on_a.seqs, "subscriber on A across B's kill and restart")
        self.assertEqual(on_a.seqs, every, "subscriber on A: a gap or an extra")

    def test_4_caches_follow_the_other_node(self):
        """Kept answers on A (the weather report, GetStation with its ETag,
        a city's weather) go stale on a write through B, and are served
        afresh within a notification's delay."""
        create(self.a.port, "c-1")
        record(self.a.port, "c-1", [T0 + 30_000_000])
        for _ in range(3):  # asked again: from A's kept answers
            weather = rest(self.a.port, "GET", "/v1/stations/c-1/weather")[1]
            city = rest(self.a.port, "GET", "/v1/cities/Nodeville/weather?country=NO")[1]
        self.assertEqual(weather["latest"]["temperature"], (T0 + 30_000_000) % 50 / 2)
        reports = len(city["reports"])
        etag = self.etag(self.a.port, "/v1/stations/c-1")
        self.assertEqual(etag, self.etag(self.a.port, "/v1/stations/c-1"))

        # Through B: a correction of the same observedAt, a new name, a new
        # station in the same city.
        status, body = rest(self.b.port, "POST", "/v1/stations/c-1/observations",
                            {"observations": [{"observedAt": iso(T0 + 30_000_000),
                                               "temperature": 42.5}]})
        self.assertEqual(status, 200, body)
        seq = body["lastSeq"]
        status, body = rest(self.b.port, "PUT", "/v1/stations/c-1",
                            {"id": "c-1", "name": "Renamed on B", "city": "Nodeville",
                             "country": "NO", "latitude": 60.0, "longitude": 10.0})
        self.assertEqual(status, 200, body)
        create(self.b.port, "c-2")

        deadline = time.monotonic() + 5
        while True:
            weather = rest(self.a.port, "GET", "/v1/stations/c-1/weather")[1]
            station = rest(self.a.port, "GET", "/v1/stations/c-1")[1]
            city = rest(self.a.port, "GET", "/v1/cities/Nodeville/weather?country=NO")[1]
            if (weather["latest"]["temperature"] == 42.5 and station["name"] == "Renamed on B"
                    and len(city["reports"]) == reports + 1):
                break
            self.assertLess(time.monotonic(), deadline,
                            "node A still answers from before B's writes: %r %r %r"
                            % (weather, station, city))
            time.sleep(0.02)
        self.assertEqual(weather["latest"]["seq"], seq)
        self.assertEqual(weather["station"]["name"], "Renamed on B")
        self.assertNotEqual(self.etag(self.a.port, "/v1/stations/c-1"), etag)

    @staticmethod
    def etag(port, path):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        try:
            conn.request("GET", path, headers={"Authorization": "Bearer " + ADMIN})
            resp = conn.getresponse()
            resp.read()
        finally:
            conn.close()
        assert resp.status == 200, resp.status
        return resp.getheader("ETag")

    def test_5_interop_through_haproxy(self):
        deadline = time.monotonic() + 20
        while not all(rest(n.port, "GET", "/readyz")[0] == 200 for n in self.nodes):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.1)
        # HAProxy's checks see B back (inter 500ms, rise 1): both nodes serve.
        served, deadline = set(), time.monotonic() + 10
        while served != {"node1", "node2"}:
            self.assertLess(time.monotonic(), deadline, "HAProxy sends only to %s" % served)
            conn = http.client.HTTPConnection("127.0.0.1", self.lb.port, timeout=5)
            try:
                conn.request("GET", "/readyz")
                resp = conn.getresponse()
                resp.read()
                served.add(resp.getheader("X-Served-By"))
            finally:
                conn.close()
            time.sleep(0.05)
        python = "/usr/bin/python3"
        cases = subprocess.run([python, os.path.join(HERE, "..", "cases", "run_cases.py"),
                                "--port", str(self.lb.port)],
                               capture_output=True, text=True, timeout=600)
        self.assertEqual(cases.returncode, 0, cases.stdout[-6000:] + cases.stderr[-3000:])
        print(cases.stdout.strip().splitlines()[-1])
        zeep = subprocess.run([python, os.path.join(HERE, "..", "soap", "test_soap_zeep.py"),
                               "http://127.0.0.1:%d" % self.lb.port],
                              capture_output=True, text=True, timeout=300)
        self.assertEqual(zeep.returncode, 0, zeep.stdout[-4000:] + zeep.stderr[-4000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
