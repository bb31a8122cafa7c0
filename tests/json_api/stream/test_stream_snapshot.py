# SPDX-License-Identifier: GPL-3.0-or-later
"""stream_snapshot: `snapshot` and `heartbeat` (contract 1.1) against the
real server, in all three framings (WebSocket subscribe, SSE and NDJSON
query parameters).

A writer records without pause (one observation a call, stations in turn,
now and then a correction of an older observation, which has the greatest
seq but not the greatest observedAt) while
subscribers with snapshot and heartbeat=1 start one after another, every
station or two of them. For each:

- `subscribed` and `snapshot` carry the same HEAD, and the snapshot holds
  exactly the latest observation (greatest observedAt) of each of its
  stations in its version as of HEAD, checked against every version the
  writer stored (with the seqs its calls returned);
- the live observations that follow are exactly those of its stations with
  seq > HEAD, in seq order: snapshot + live never misses or repeats one at
  the seam (an original corrected before the session read it from storage
  may be skipped: only its correction is stored);
- once the writer stops, a heartbeat comes with the service's newest seq,
  and no heartbeat ever names a seq lower than an observation already sent.

Usage: test_stream_snapshot.py NIMBUS_BINARY
"""

import asyncio
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from http_stream import HttpStream, create, head_seq, record  # noqa: E402
from ws_util import Client, NimbusServer, observations  # noqa: E402

BINARY = sys.argv.pop(1)
STATIONS = ["a", "b", "c"]
WRITE_S = 2.5
DEADLINE_S = 30


class Snapshot(unittest.TestCase):
    def test_snapshot_then_live_never_misses_or_repeats(self):
        with NimbusServer(BINARY, args=["--quiet"], workers=2) as srv:
            history = []  # every version stored: (seq, stationId, observedAt, temperature)

            def write(sid, obs):
                r = record(srv.port, sid, obs)
                for i, o in enumerate(obs):  # one a call, but for the first two
                    if "firstSeq" in r:
                        history.append({"stationId": sid, "seq": r["firstSeq"] + i, **o})

            for sid in STATIONS:
                create(srv.port, sid)
                write(sid, observations(2))
            stop = threading.Event()
            final = {}  # "end": the head once the writer has stopped

            def writer():
                minute = {sid: 2 for sid in STATIONS}
                n = 0
                while not stop.is_set():
                    sid = STATIONS[n % 3]
                    if n % 7 == 6:
                        # A correction of the one before the latest: the
                        # greatest seq, not the greatest observedAt.
                        obs = observations(1, start=minute[sid] - 2, temperature=n % 40)
                    else:
                        obs = observations(1, start=minute[sid])
                        minute[sid] += 1
                    write(sid, obs)
                    n += 1

            subscribers = []  # (name, stations, messages)
            errors = []

            def read_http(name, stations, accept):
                msgs = []
                subscribers.append((name, stations, msgs))
                s = HttpStream(srv.port, {"snapshot": "true", "heartbeat": 1,
                                          "station": stations or []}, accept=accept,
                               timeout=DEADLINE_S)
                try:
                    self.assertEqual(s.status, 200)
                    while not self.finished(msgs, final):
                        msgs.append(s.next())
                except Exception as e:
                    errors.append((name, e))
                finally:
                    s.close()

            def read_ws(name, stations):
                msgs = []
                subscribers.append((name, stations, msgs))

                async def go():
                    ws = await Client.open(srv)
                    sub = {"type": "subscribe", "id": name, "snapshot": True, "heartbeat": 1}
                    if stations:
                        sub["stations"] = stations
                    await ws.send(sub)
                    while not self.finished(msgs, final):
                        m = await ws.recv(DEADLINE_S)
                        self.assertEqual(m.pop("id"), name)
                        msgs.append(m)
                    await ws.close()
                try:
                    asyncio.run(go())
                except Exception as e:
                    errors.append((name, e))

            w = threading.Thread(target=writer)
            w.start()
            readers = []
            kinds = [("ws", None), ("sse", "text/event-stream"), ("ndjson", "application/x-ndjson")]
            for i in range(9):
                time.sleep(WRITE_S / 10)
                kind, accept = kinds[i % 3]
                stations = ["a", "c"] if i % 2 else None
                name = "%s%d" % (kind, i)
                t = threading.Thread(target=read_ws if kind == "ws" else read_http,
                                     args=(name, stations) if kind == "ws"
                                     else (name, stations, accept))
                t.start()
                readers.append(t)
            time.sleep(WRITE_S / 10)
            stop.set()
            w.join()
            final["end"] = head_seq(srv.port)
            for t in readers:
                t.join(DEADLINE_S + 5)
            self.assertEqual(errors, [])
            self.assertEqual([o["seq"] for o in history],
                             list(range(history[0]["seq"], final["end"] + 1)))
            for name, stations, msgs in subscribers:
                self.check(name, stations, msgs, history, final["end"])
            print("%d observations recorded while %d subscribers started with a snapshot: "
                  "no gap, no repeat" % (len(history), len(subscribers)))

    @staticmethod
    def finished(msgs, final):
        return "end" in final and any(m["type"] == "heartbeat" and m["seq"] == final["end"]
                                      for m in msgs)

    def check(self, name, stations, msgs, history, end):
        mine = [o for o in history if not stations or o["stationId"] in stations]
        self.assertEqual([m["type"] for m in msgs[:2]], ["subscribed", "snapshot"], name)
        head = msgs[0]["seq"]
        self.assertEqual(msgs[1]["seq"], head, name)
        # The latest (greatest observedAt) of each station as of HEAD, in
        # its version as of HEAD.
        latest = {}
        for o in mine:
            if o["seq"] <= head and o["observedAt"] >= latest.get(o["stationId"], {}).get(
                    "observedAt", ""):
                latest[o["stationId"]] = o
        snap = {o["stationId"]: o for o in msgs[1]["observations"]}
        self.assertEqual(snap, latest, name)
        live, sent = [], head
        for m in msgs[2:]:
            if m["type"] == "observation":
                live.append(m["observation"])
                sent = m["observation"]["seq"]
            else:
                self.assertEqual(m["type"], "heartbeat", (name, m))
                self.assertGreaterEqual(m["seq"], sent, (name, m))
        seqs = [o["seq"] for o in live]
        self.assertEqual(seqs, sorted(set(seqs)), name)  # in order, none twice
        self.assertTrue(not seqs or seqs[0] > head, name)
        # Every version after HEAD, but for an original already corrected
        # when the session caught up from storage (it is stored no more).
        later = {}
        for o in mine:
            later[(o["stationId"], o["observedAt"])] = o["seq"]
        want = [o for o in mine if o["seq"] > head]
        i = 0
        for o in want:
            if i < len(live) and live[i] == o:
                i += 1
            else:
                self.assertGreater(later[(o["stationId"], o["observedAt"])], o["seq"],
                                   (name, "missed", o))
        self.assertEqual(i, len(live), (name, "unexpected", live[i:i + 1]))
        self.assertEqual(msgs[-1], {"type": "heartbeat", "seq": end} if "_id" not in msgs[-1]
                         else {"type": "heartbeat", "seq": end, "_id": str(end)}, name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
