# SPDX-License-Identifier: GPL-3.0-or-later
"""stream_feed: GetObservationFeed (contract 1.1) is the stream for clients
that can only poll. Against the real server, while three writers record at
once, one over SOAP (zeep), one over REST and one as WebSocket calls, with
corrections (a new seq for an observation already fed) and duplicates (no
new seq):

- a SOAP client generated from the served WSDL (zeep), polling
  GetObservationFeed with small pages and passing lastSeq back as afterSeq,
  sees every observation exactly once, in the order a WebSocket subscriber
  sees them, values included. The one difference is the store's: an
  original corrected before the poller reached it is not stored any more,
  so the poller gets the correction alone, at its new seq (a subscriber
  resuming with fromSeq gets the same); docs/streaming.md says so;
- the same with a station filter (repeated <station>), against a filtered
  subscription;
- lastSeq <= headSeq on every answer, and a caught-up poll returns nothing
  and the same lastSeq; polling from the start afterwards is exactly a
  WebSocket replay from the start.

Usage: test_stream_feed.py NIMBUS_BINARY
"""

import asyncio
import os
import sys
import threading
import time
import unittest

import requests
import zeep
from zeep.transports import Transport

sys.path.insert(0, os.path.dirname(__file__))
from http_stream import create, head_seq, record  # noqa: E402
from ws_util import Client, NimbusServer, observations  # noqa: E402

BINARY = sys.argv.pop(1)
STATIONS = ["soap", "rest", "ws"]
BATCHES = 25
KEEP = ("seq", "stationId", "observedAt", "temperature")


def soap_client(base_url):
    return zeep.Client(base_url + "/soap?wsdl",
                       transport=Transport(session=requests.Session(), timeout=30))


def batch(b):
    """Batch b of a writer: 3 new observations; every 4th batch also
    corrects one of the batch before (new seq) and repeats another
    unchanged (a duplicate: no seq, not fed)."""
    obs = observations(3, start=b * 3)
    if b % 4 == 3:
        prev = observations(3, start=(b - 1) * 3)
        obs += [dict(prev[0], temperature=-42.5), prev[1]]
    return obs


def pick(o):
    o = dict(o)
    if not isinstance(o["observedAt"], str):  # zeep reads xsd:dateTime
        o["observedAt"] = o["observedAt"].strftime("%Y-%m-%dT%H:%M:%SZ")
    return tuple(o.get(k) for k in KEEP)


class Feed(unittest.TestCase):
    def test_soap_poller_sees_what_a_websocket_subscriber_sees(self):
        with NimbusServer(BINARY, args=["--quiet"], workers=2) as srv:
            for sid in STATIONS:
                create(srv.port, sid)
            start = head_seq(srv.port)
            done = threading.Event()
            polled = {"all": [], "some": []}
            errors = []

            def soap_writer():
                svc = soap_client(srv.base_url).bind("NimbusService", "NimbusSoap11")
                for b in range(BATCHES):
                    svc.RecordObservations(stationId="soap", observation=batch(b))

            def rest_writer():
                for b in range(BATCHES):
                    record(srv.port, "rest", batch(b))

            def ws_writer():
                async def go():
                    ws = await Client.open(srv)
                    for b in range(BATCHES):
                        await ws.call("RecordObservations",
                                      {"stationId": "ws", "observations": batch(b)})
                    await ws.close()
                asyncio.run(go())

            def poller(name, stations, limit):
                # SOAP 1.2 for one, 1.1 for the other: both bindings.
                port = "NimbusSoap12" if stations else "NimbusSoap11"
                svc = soap_client(srv.base_url).bind("NimbusService", port)
                after = start
                try:
                    while True:
                        writing = not done.is_set()
                        r = svc.GetObservationFeed(afterSeq=after, station=stations,
                                                   limit=limit)
                        self.assertLessEqual(r.lastSeq, r.headSeq)
                        got = r.observation or []
                        self.assertEqual(r.lastSeq, got[-1].seq if got else after)
                        polled[name] += [pick(zeep.helpers.serialize_object(o)) for o in got]
                        after = r.lastSeq
                        if not got:
                            if not writing:
                                return
                            time.sleep(0.01)
                except Exception as e:  # reported by the main thread
                    errors.append(e)

            writers = [threading.Thread(target=f) for f in (soap_writer, rest_writer, ws_writer)]
            pollers = [threading.Thread(target=poller, args=("all", [], 7)),
                       threading.Thread(target=poller, args=("some", ["soap", "ws"], 5))]

            async def subscribers():
                ws = await Client.open(srv)
                await ws.send({"type": "subscribe", "id": "all", "fromSeq": start})
                await ws.send({"type": "subscribe", "id": "some", "fromSeq": start,
                               "stations": ["soap", "ws"]})
                seen = {"all": [], "some": []}
                for _ in range(2):
                    m = await ws.recv()
                    self.assertEqual(m["type"], "subscribed", m)
                for t in writers + pollers:
                    t.start()
                while any(t.is_alive() for t in writers):
                    await asyncio.sleep(0.05)
                end = head_seq(srv.port)
                done.set()
                want_some = None
                while len(seen["all"]) < end - start or \
                        (want_some is not None and len(seen["some"]) < want_some):
                    m = await ws.recv()
                    self.assertEqual(m["type"], "observation", m)
                    seen[m["id"]].append(pick(m["observation"]))
                    if len(seen["all"]) == end - start and want_some is None:
                        want_some = sum(1 for o in seen["all"] if o[1] in ("soap", "ws"))
                await ws.close()
                return seen, end

            seen, end = asyncio.run(subscribers())
            for t in pollers:
                t.join(60)
            self.assertEqual(errors, [])
            # Every observation once: 3 stations x (3 per batch + a
            # correction every 4th batch); duplicates get no seq.
            per_station = BATCHES * 3 + BATCHES // 4
            self.assertEqual(end - start, 3 * per_station)
            self.assertEqual([o[0] for o in seen["all"]], list(range(start + 1, end + 1)))
            for name in ("all", "some"):
                self.same_stream(polled[name], seen[name])
            self.assertEqual({o[1] for o in polled["some"]}, {"soap", "ws"})
            corrections = sum(1 for o in polled["all"] if o[3] == -42.5)
            self.assertEqual(corrections, 3 * (BATCHES // 4))
            # Afterwards, polling from the start is exactly a replay from
            # the start: the stored observations, in seq order.
            replay = asyncio.run(self.replay(srv, start, end))
            svc = soap_client(srv.base_url).bind("NimbusService", "NimbusSoap11")
            after, again = start, []
            while after < end:
                r = svc.GetObservationFeed(afterSeq=after, limit=1000)
                again += [pick(zeep.helpers.serialize_object(o)) for o in r.observation]
                after = r.lastSeq
            self.assertEqual(again, replay)
            self.assertEqual(len(again), 3 * BATCHES * 3)
            # Caught up: nothing more, the same lastSeq, headSeq the end.
            r = svc.GetObservationFeed(afterSeq=end)
            self.assertEqual((r.observation, r.lastSeq, r.headSeq), ([], end, end))
            print("%d observations (%d corrections) from SOAP, REST and WebSocket writers: the "
                  "SOAP pollers saw what the WebSocket subscribers saw" % (end - start, corrections))

    def same_stream(self, polled, seen):
        """polled is what a subscriber saw, in its order, but for an
        original that was corrected before the poller got to it: the
        store holds one version of an observation, so the poller sees the
        correction alone, at its new seq. Every observation reaches the
        poller once, with its final values."""
        later = {}
        for o in reversed(seen):
            later.setdefault((o[1], o[2]), o[0])
        i = 0
        for o in seen:
            if i < len(polled) and polled[i] == o:
                i += 1
                continue
            superseded = later[(o[1], o[2])] > o[0]
            self.assertTrue(superseded, "the poller missed %r" % (o,))
            self.assertIn((o[1], o[2]), {(p[1], p[2]) for p in polled[i:]})
        self.assertEqual(i, len(polled), "the poller saw %r, which no subscriber saw"
                         % (polled[i:i + 1],))
        self.assertEqual(len({(o[1], o[2], o[0]) for o in polled}), len(polled))

    async def replay(self, srv, start, end):
        ws = await Client.open(srv)
        await ws.send({"type": "subscribe", "id": "r", "fromSeq": start})
        await ws.recv_type("subscribed", "r")
        out = []
        while not out or out[-1][0] < end:
            out.append(pick((await ws.recv_type("observation", "r"))["observation"]))
        await ws.close()
        return out


if __name__ == "__main__":
    unittest.main(verbosity=2)
