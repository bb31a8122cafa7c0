# SPDX-License-Identifier: GPL-3.0-or-later
"""WebSocket endpoint against python3-websockets and a raw RFC 6455 client,
on the real server: access (401 before the upgrade), subscribe / unsubscribe
/ resume from a seq, streamed calls, error messages that leave the
connection open, close codes 1002/1003/1007/1009, ping/pong and keepalive,
fragmented messages, abrupt disconnects, shutdown with 1001, and the
dashboard's static files."""

import asyncio
import json
import os
import socket
import struct
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from ws_util import (Client, NimbusServer, RawReader, b64key, close_code,  # noqa: E402
                     encode_frame, observations, raw_upgrade, run, station, ws_url)

import websockets  # noqa: E402
import websockets.exceptions  # noqa: E402

BINARY = sys.argv.pop(1)
KEYS = ["--api-key", "reader:reader-secret:read", "--api-key", "writer:writer-secret:write",
        "--api-key", "admin:admin-secret:admin"]
MAX_MSG = 65536
PING_MS = 500


def http(srv, method, path, headers=None):
    req = urllib.request.Request(srv.base_url + path, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class Stream(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = NimbusServer(BINARY, args=KEYS + ["--max-ws-message", str(MAX_MSG),
                                                    "--ws-ping-interval", str(PING_MS)],
                               workers=2)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    # ---- access ------------------------------------------------------------

    def test_upgrade_needs_a_key(self):
        for query, headers in (("", {}), ("", {"Authorization": "Bearer wrong"}),
                               ("?access_token=wrong", {})):
            s, status, head, rest = raw_upgrade(self.srv.port, query, headers)
            self.assertEqual(status, 401, head)
            self.assertIn("application/problem+json", head)
            length = int([ln.split(":")[1] for ln in head.split("\r\n")
                          if ln.lower().startswith("content-length")][0])
            while len(rest) < length:
                rest += s.recv(4096)
            body = json.loads(rest[:length])
            self.assertEqual(body["code"], "UNAUTHENTICATED")
            self.assertEqual(body["status"], 401)
            s.close()

        async def client_refused():
            with self.assertRaises(websockets.exceptions.InvalidStatusCode) as cm:
                await websockets.connect(ws_url(self.srv))
            self.assertEqual(cm.exception.status_code, 401)
        run(client_refused())

    def test_upgrade_with_each_kind_of_key(self):
        import base64
        basic = "Basic " + base64.b64encode(b"reader:reader-secret").decode()
        for query, headers in (("?access_token=reader-secret", {}),
                               ("", {"Authorization": "Bearer writer-secret"}),
                               ("", {"Authorization": basic})):
            s, status, head, _ = raw_upgrade(self.srv.port, query, headers)
            self.assertEqual(status, 101, head)
            self.assertIn("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", head)
            s.sendall(encode_frame(8, struct.pack("!H", 1000)))
            self.assertEqual(RawReader(s).until_close(), 1000)
            s.close()
        # An encoded NUL must not cut the token down to a valid key.
        s, status, head, _ = raw_upgrade(self.srv.port, "?access_token=reader-secret%00junk")
        self.assertEqual(status, 401, head)
        s.close()

    def test_cross_origin_upgrade_is_refused(self):
        q = "?access_token=reader-secret"
        s, status, head, _ = raw_upgrade(self.srv.port, q, {"Origin": "http://evil.example"},
                                         key=b64key())
        self.assertEqual(status, 403, head)
        self.assertIn("application/problem+json", head)
        s.close()
        same = "http://127.0.0.1:%d" % self.srv.port
        s, status, head, _ = raw_upgrade(self.srv.port, q, {"Origin": same}, key=b64key())
        self.assertEqual(status, 101, head)
        s.close()
        # Without a valid key the answer is 401 from any page (the contract's
        # rule for upgrades comes before the origin check).
        s, status, head, _ = raw_upgrade(self.srv.port, "", {"Origin": "http://evil.example"},
                                         key=b64key())
        self.assertEqual(status, 401, head)
        s.close()

    def test_not_an_upgrade(self):
        status, headers, body = http(self.srv, "GET", "/v1/stream",
                                     {"Authorization": "Bearer reader-secret"})
        self.assertEqual(status, 426)
        self.assertEqual(headers.get("Sec-WebSocket-Version"), "13")
        problem = json.loads(body)
        self.assertEqual((problem["code"], problem["status"], problem["title"]),
                         ("INVALID_ARGUMENT", 426, "Upgrade required"))
        status, headers, body = http(self.srv, "POST", "/v1/stream",
                                     {"Authorization": "Bearer reader-secret"})
        self.assertEqual((status, json.loads(body)["status"]), (405, 405))
        s, status, head, _ = raw_upgrade(self.srv.port, "?access_token=reader-secret",
                                         key="not-a-key")
        self.assertEqual(status, 400, head)
        s.close()

    # ---- subscriptions -----------------------------------------------------

    def test_subscribe_unsubscribe_live(self):
        async def go():
            w = await Client.open(self.srv, "writer-secret")
            r = await Client.open(self.srv, "reader-secret")
            await w.call("CreateStation", {"station": station("live-1")})
            await w.call("CreateStation", {"station": station("live-2")})
            await r.send({"type": "subscribe", "id": "a", "stations": ["live-1"]})
            sub = await r.recv_type("subscribed", "a")
            self.assertIsInstance(sub["seq"], int)
            await r.send({"type": "subscribe", "id": "all"})
            await r.recv_type("subscribed", "all")
            res1 = await w.call("RecordObservations",
                                {"stationId": "live-1", "observations": observations(3)})
            res2 = await w.call("RecordObservations",
                                {"stationId": "live-2", "observations": observations(2)})
            self.assertEqual(res1["accepted"], 3)
            self.assertGreater(res1["firstSeq"], sub["seq"])
            got = {"a": [], "all": []}
            for _ in range(3 + 5):
                m = await r.recv_type("observation")
                got[m["id"]].append(m["observation"])
            self.assertEqual([o["seq"] for o in got["a"]],
                             list(range(res1["firstSeq"], res1["lastSeq"] + 1)))
            self.assertTrue(all(o["stationId"] == "live-1" for o in got["a"]))
            self.assertEqual([o["seq"] for o in got["all"]],
                             list(range(res1["firstSeq"], res2["lastSeq"] + 1)))
            self.assertEqual(got["a"][0]["observedAt"], "2024-05-01T00:00:00Z")
            await r.send({"type": "unsubscribe", "id": "a"})
            await r.recv_type("unsubscribed", "a")
            await r.send({"type": "unsubscribe", "id": "a"})
            err = await r.recv_type("error", "a")
            self.assertEqual(err["code"], "NOT_FOUND")
            await r.send({"type": "unsubscribe", "id": "all"})
            await r.recv_type("unsubscribed", "all")
            await w.call("RecordObservations",
                         {"stationId": "live-1", "observations": observations(2, 100)})
            # Nothing more for r: the next message is the answer to a call.
            st = await r.call("GetStation", {"id": "live-1"})
            self.assertEqual(st["station"]["id"], "live-1")
            await r.close()
            await w.close()
        run(go())

    def test_soap_write_reaches_subscribers_on_every_worker(self):
        """An observation recorded over SOAP reaches WebSocket subscribers,
        whichever worker each of them (and the SOAP request) landed on."""
        async def go():
            w = await Client.open(self.srv, "writer-secret")
            await w.call("CreateStation", {"station": station("soap-1")})
            subs = []
            for i in range(8):  # SO_REUSEPORT spreads them over both workers
                c = await Client.open(self.srv, "reader-secret")
                await c.send({"type": "subscribe", "id": "s%d" % i, "stations": ["soap-1"]})
                await c.recv_type("subscribed", "s%d" % i)
                subs.append(c)
            body = ('<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://schemas'
                    '.xmlsoap.org/soap/envelope/" xmlns:n="urn:nimbus:weather:v1"><s:Body>'
                    "<n:RecordObservations><n:stationId>soap-1</n:stationId><n:observation>"
                    "<n:observedAt>2024-05-01T20:00:00+08:00</n:observedAt>"
                    "<n:temperature>0.1</n:temperature></n:observation>"
                    "</n:RecordObservations></s:Body></s:Envelope>").encode()
            loop = asyncio.get_running_loop()

            def post():
                req = urllib.request.Request(
                    self.srv.base_url + "/soap", data=body, method="POST",
                    headers={"Content-Type": "text/xml; charset=utf-8",
                             "SOAPAction": '"urn:nimbus:weather:v1/RecordObservations"',
                             "Authorization": "Bearer writer-secret"})
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status, r.read()
            status, data = await loop.run_in_executor(None, post)
            self.assertEqual(status, 200, data)
            for i, c in enumerate(subs):
                o = (await c.recv_type("observation", "s%d" % i))["observation"]
                self.assertEqual((o["stationId"], o["observedAt"], o["temperature"]),
                                 ("soap-1", "2024-05-01T12:00:00Z", 0.1))
                await c.close()
            await w.close()
        run(go())

    def test_resume_from_seq(self):
        async def go():
            w = await Client.open(self.srv, "writer-secret")
            await w.call("CreateStation", {"station": station("resume-1")})
            res = await w.call("RecordObservations",
                               {"stationId": "resume-1", "observations": observations(10)})
            first, last = res["firstSeq"], res["lastSeq"]
            r = await Client.open(self.srv, query="?access_token=reader-secret")
            await r.send({"type": "subscribe", "id": "s", "stations": ["resume-1"],
                          "fromSeq": first + 2})
            sub = await r.recv_type("subscribed", "s")
            self.assertGreaterEqual(sub["seq"], last)
            seqs = []
            for _ in range(7):
                seqs.append((await r.recv_type("observation", "s"))["observation"]["seq"])
            self.assertEqual(seqs, list(range(first + 3, last + 1)))
            res2 = await w.call("RecordObservations",
                                {"stationId": "resume-1", "observations": observations(4, 50)})
            for _ in range(4):
                seqs.append((await r.recv_type("observation", "s"))["observation"]["seq"])
            self.assertEqual(seqs[7:], list(range(res2["firstSeq"], res2["lastSeq"] + 1)))
            # fromSeq past the head, unknown station, bad values, id reuse.
            head = res2["lastSeq"]
            cases = [({"fromSeq": head + 1000}, "INVALID_ARGUMENT"),
                     ({"stations": ["no-such-station"]}, "NOT_FOUND"),
                     ({"stations": ["bad id!"]}, "INVALID_ARGUMENT"),
                     ({"stations": []}, "INVALID_ARGUMENT"),
                     ({"stations": "resume-1"}, "INVALID_ARGUMENT"),
                     ({"fromSeq": -1}, "INVALID_ARGUMENT"),
                     ({"fromSeq": "3"}, "INVALID_ARGUMENT")]
            for i, (extra, code) in enumerate(cases):
                msg = dict({"type": "subscribe", "id": "bad%d" % i}, **extra)
                await r.send(msg)
                err = await r.recv_type("error", "bad%d" % i)
                self.assertEqual(err["code"], code, (extra, err))
            await r.send({"type": "subscribe", "id": "s"})
            self.assertEqual((await r.recv_type("error", "s"))["code"], "INVALID_ARGUMENT")
            await r.close()
            await w.close()
        run(go())

    def test_resume_while_writing_has_no_gap_or_duplicate(self):
        async def go():
            w = await Client.open(self.srv, "writer-secret")
            await w.call("CreateStation", {"station": station("race-1")})
            await w.call("RecordObservations",
                         {"stationId": "race-1", "observations": observations(50)})
            stop = asyncio.Event()

            async def writer():
                i = 50
                while not stop.is_set():
                    await w.call("RecordObservations",
                                 {"stationId": "race-1", "observations": observations(5, i)})
                    i += 5
            task = asyncio.create_task(writer())
            await asyncio.sleep(0.1)
            r = await Client.open(self.srv, "reader-secret")
            await r.send({"type": "subscribe", "id": "x", "stations": ["race-1"],
                          "fromSeq": 0})
            await r.recv_type("subscribed", "x")
            seqs = []
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                seqs.append((await r.recv_type("observation", "x"))["observation"]["seq"])
            stop.set()
            await task
            stored, _ = await w.stream("GetObservations", {"stationId": "race-1"})
            stored_seqs = sorted(o["seq"] for o in stored)
            # Whatever arrived so far is exactly the stored prefix, in order.
            self.assertEqual(seqs, stored_seqs[:len(seqs)])
            while len(seqs) < len(stored_seqs):
                seqs.append((await r.recv_type("observation", "x"))["observation"]["seq"])
            self.assertEqual(seqs, stored_seqs)
            await r.close()
            await w.close()
        run(go())

    # ---- calls -------------------------------------------------------------

    def test_streamed_and_single_calls(self):
        async def go():
            a = await Client.open(self.srv, "admin-secret")
            ids = ["list-%03d" % i for i in range(230)]
            for sid in reversed(ids):
                await a.call("CreateStation", {"station": station(sid, city="Listville")})
            items, count = await a.stream("ListStations", {"city": "Listville"})
            self.assertEqual(count, 230)
            self.assertEqual([s["id"] for s in items], ids)
            items, count = await a.stream("ListStations", {"city": "Listville", "limit": 30})
            self.assertEqual((count, [s["id"] for s in items]), (30, ids[:30]))
            await a.call("RecordObservations",
                         {"stationId": "list-000", "observations": observations(1000)})
            await a.call("RecordObservations",
                         {"stationId": "list-000", "observations": observations(250, 1000)})
            items, count = await a.stream("GetObservations", {"stationId": "list-000"})
            self.assertEqual(count, 1250)
            self.assertEqual([o["observedAt"] for o in items],
                             [o["observedAt"] for o in observations(1250)])
            items, count = await a.stream("GetObservations",
                                          {"stationId": "list-000", "limit": 1000})
            self.assertEqual(count, 1000)
            self.assertEqual(items[-1]["observedAt"], observations(1000)[-1]["observedAt"])
            items, count = await a.stream("GetCityWeather", {"city": "Listville"})
            self.assertEqual(count, 230)
            self.assertEqual(items[0]["station"]["id"], "list-000")
            self.assertEqual(items[0]["latest"]["observedAt"], observations(1250)[-1]["observedAt"])
            got = await a.call("GetStation", {"id": "list-007"})
            self.assertEqual(got, {"station": station("list-007", city="Listville")})
            renamed = dict(station("list-007", city="Listville"), name="Renamed", elevation=12.5)
            got = await a.call("UpdateStation", {"id": "list-007", "station": renamed})
            self.assertEqual(got, {"station": renamed})
            weather = await a.call("GetWeather", {"stationId": "list-000"})
            self.assertEqual(weather["report"]["station"]["id"], "list-000")
            self.assertEqual(weather["report"]["last24h"]["count"], 1250)  # all within 24 h
            self.assertEqual(await a.call("DeleteStation", {"id": "list-229"}), {})
            # Single requests every protocol can make (limit 0, an unknown
            # station, a station with only an id, a reader's DeleteStation)
            # are contract cases in tests/cases; these check this session's
            # delete and errors only a WebSocket call can have.
            for op, params, code in (("NoSuchOp", {}, "INVALID_ARGUMENT"),
                                     ("GetStation", {"id": "list-229"}, "NOT_FOUND"),
                                     ("GetStation", {}, "INVALID_ARGUMENT")):
                await a.send({"type": "call", "id": "e", "op": op, "params": params})
                err = await a.recv_type("error", "e")
                self.assertEqual(err["code"], code, (op, params, err))
            await a.send({"type": "call", "id": "p", "op": "GetStation", "params": [1]})
            self.assertEqual((await a.recv_type("error", "p"))["code"], "INVALID_ARGUMENT")
            await a.close()
        run(go())

    def test_hostile_params_for_every_operation(self):
        """Every operation, fed wrong types and edge values, answers with a
        result or an error message; the connection and the server stay up."""
        ops = ["ListStations", "GetStation", "CreateStation", "UpdateStation", "DeleteStation",
               "RecordObservations", "GetObservations", "GetWeather", "GetCityWeather"]
        junk = [None, {}, {"id": 5}, {"id": ""}, {"id": "x" * 5000}, {"stationId": ["a"]},
                {"station": "s"}, {"station": {"id": "h1", "latitude": "north"}},
                {"station": {"id": "h1", "name": "\u0001", "city": "c", "country": "NZ",
                             "latitude": 1e308, "longitude": -1e308}},
                {"stationId": "h1", "observations": "many"},
                {"stationId": "h1", "observations": [None, 1, "x"]},
                {"stationId": "h1", "observations": [{"observedAt": "yesterday"}]},
                {"stationId": "h1", "observations": [{"observedAt": "2024-05-01T00:00:00Z",
                                                      "temperature": "hot"}]},
                {"stationId": "h1", "observations": [{"observedAt": "2024-05-01T00:00:00Z"}] * 1001},
                {"limit": -1}, {"limit": 2 ** 62}, {"limit": 1.5}, {"cursor": "garbage"},
                {"cursor": "c" * 500}, {"from": 12}, {"to": "2024-13-45T99:00:00Z"},
                {"city": {"a": 1}}, {"city": "", "country": "xx"}]

        async def go():
            a = await Client.open(self.srv, "admin-secret")
            n = 0
            for op in ops:
                for params in junk:
                    n += 1
                    await a.send({"type": "call", "id": "h%d" % n, "op": op, "params": params})
                    while True:
                        m = await a.recv()
                        self.assertEqual(m["id"], "h%d" % n, m)
                        if m["type"] in ("result", "error", "done"):
                            break
                        self.assertEqual(m["type"], "item", m)
                    if m["type"] == "error":
                        self.assertIn(m["code"], ("INVALID_ARGUMENT", "NOT_FOUND"), (op, params, m))
            await a.send({"type": "unsubscribe", "id": "probe"})  # still serving
            self.assertEqual((await a.recv_type("error", "probe"))["code"], "NOT_FOUND")
            await a.close()
        run(go())

    def test_malformed_messages_get_errors_and_the_connection_stays(self):
        async def go():
            r = await Client.open(self.srv, "reader-secret")
            cases = [("{not json", None), ("[1,2]", None), ("42", None),
                     (json.dumps({"type": "nope", "id": "x"}), "x"),
                     (json.dumps({"id": "y"}), "y"),
                     (json.dumps({"type": "subscribe", "id": 5}), None),
                     (json.dumps({"type": "subscribe", "id": ""}), None),
                     (json.dumps({"type": "subscribe", "id": "i" * 65}), None),
                     (json.dumps({"type": "call", "id": "z"}), "z"),
                     # A misspelt member must not silently mean something else
                     # ("fromseq" would otherwise subscribe live from now).
                     (json.dumps({"type": "subscribe", "id": "u", "fromseq": 0}), "u"),
                     (json.dumps({"type": "unsubscribe", "id": "v", "extra": 1}), "v"),
                     (json.dumps({"type": "call", "id": "w", "op": "ListStations",
                                  "parms": {}}), "w"),
                     ('{"type":"call","type":"call","id":"d"}', None),
                     ('{"type":"call","id":"n","op":"GetStation","params":{"id":"a\\u0000"}}',
                      None),  # U+0000 in a string is refused as malformed
                     ('{"type":"call","id":"b","op":"ListStations","params":{"limit":%d}}'
                      % 10 ** 30, None)]  # so is an integer past 64 bits
            for text, id_ in cases:
                await r.send(text)
                err = await r.recv_type("error")
                self.assertEqual(err["id"], id_, (text, err))
                self.assertEqual(err["code"], "INVALID_ARGUMENT", (text, err))
                self.assertTrue(err["message"])
            # A 64-character (not byte) id is fine.
            long_id = "\u00e9" * 64
            await r.send({"type": "unsubscribe", "id": long_id})
            self.assertEqual((await r.recv_type("error", long_id))["code"], "NOT_FOUND")
            items, _ = await r.stream("ListStations", {"limit": 1})
            self.assertLessEqual(len(items), 1)
            await r.close()
        run(go())

    # ---- protocol ------------------------------------------------------------

    def _raw(self):
        s, status, head, rest = raw_upgrade(self.srv.port, "?access_token=reader-secret",
                                            key=b64key())
        self.assertEqual(status, 101, head)
        return s, RawReader(s, rest)

    def test_invalid_utf8_closes_1007(self):
        s, rd = self._raw()
        s.sendall(encode_frame(1, b'{"type":"call","id":"\xff\xfe"}'))
        self.assertEqual(rd.until_close(), 1007)
        s.close()
        # Split across fragments, the bad sequence is still caught.
        s, rd = self._raw()
        s.sendall(encode_frame(1, b'{"a":"\xe2', fin=False) + encode_frame(0, b'\x28\xa1"}'))
        self.assertEqual(rd.until_close(), 1007)
        s.close()

    def test_too_big_closes_1009(self):
        async def go():
            r = await Client.open(self.srv, "reader-secret")
            base = json.dumps({"type": "call", "id": "big", "op": "GetStation",
                               "params": {"id": "nope"}})
            base += " " * (MAX_MSG - len(base))  # JSON whitespace: no unknown member
            self.assertEqual(len(base), MAX_MSG)
            await r.send(base)  # exactly at the limit: served
            self.assertEqual((await r.recv_type("error", "big"))["code"], "NOT_FOUND")
            await r.send("x" * (MAX_MSG + 1))
            with self.assertRaises(websockets.exceptions.ConnectionClosed) as cm:
                await r.recv()
            self.assertEqual(close_code(cm.exception), 1009)
        run(go())

    def test_binary_closes_1003(self):
        async def go():
            r = await Client.open(self.srv, "reader-secret")
            await r.ws.send(b"\x00\x01")
            with self.assertRaises(websockets.exceptions.ConnectionClosed) as cm:
                await r.recv()
            self.assertEqual(close_code(cm.exception), 1003)
        run(go())

    def test_protocol_violations_close_1002(self):
        for frame in (encode_frame(1, b"{}", mask=False),  # clients must mask
                      encode_frame(1, b"{}", rsv=4),  # no extension negotiated
                      encode_frame(0, b"{}"),  # continuation with nothing to continue
                      encode_frame(9, b"p", fin=False),  # fragmented control frame
                      encode_frame(3, b""),  # reserved opcode
                      encode_frame(8, b"\x03")):  # close body too short for its code
            s, rd = self._raw()
            s.sendall(frame)
            self.assertEqual(rd.until_close(), 1002, frame)
            s.close()

    def test_fragments_and_interleaved_ping(self):
        s, rd = self._raw()
        msg = json.dumps({"type": "unsubscribe", "id": "frag"}).encode()
        s.sendall(encode_frame(1, msg[:5], fin=False) + encode_frame(9, b"hi") +
                  encode_frame(0, msg[5:12], fin=False) + encode_frame(0, msg[12:]))
        fin, op, payload = rd.frame()
        self.assertEqual((op, payload), (10, b"hi"))  # pong first, echoing the ping
        fin, op, payload = rd.frame()
        self.assertEqual(op, 1)
        self.assertEqual(json.loads(payload)["id"], "frag")
        s.sendall(encode_frame(8, struct.pack("!H", 1000) + b"bye"))
        self.assertEqual(rd.until_close(), 1000)
        s.settimeout(5)
        self.assertEqual(s.recv(10), b"")  # the server closes TCP after the handshake
        s.close()

    def test_ping_pong_and_keepalive(self):
        async def go():
            r = await Client.open(self.srv, "reader-secret")
            waiter = await r.ws.ping(b"are you there")
            await asyncio.wait_for(waiter, 5)
            # Idle for several keepalive intervals: websockets answers the
            # server's pings, so the connection lives on.
            await asyncio.sleep(PING_MS * 4 / 1000)
            await r.send({"type": "unsubscribe", "id": "probe"})  # still serving
            self.assertEqual((await r.recv_type("error", "probe"))["code"], "NOT_FOUND")
            await r.close()
        run(go())
        # A peer that never answers gets pinged, then dropped.
        s, rd = self._raw()
        start = time.monotonic()
        fin, op, payload = rd.frame()
        self.assertEqual(op, 9)
        with self.assertRaises(EOFError):
            while True:
                rd.frame()
        self.assertLess(time.monotonic() - start, PING_MS * 6 / 1000)
        s.close()

    def test_abrupt_disconnects(self):
        async def go():
            clients = []
            for i in range(20):
                c = await Client.open(self.srv, "reader-secret")
                await c.send({"type": "subscribe", "id": "s"})
                await c.send({"type": "call", "id": "l", "op": "ListStations", "params": {}})
                clients.append(c)
            for c in clients:
                c.ws.transport.abort()
        run(go())
        for cut in (1, 2, 6, 20):  # mid-header, mid-mask, mid-payload
            s, rd = self._raw()
            s.sendall(encode_frame(1, json.dumps({"type": "subscribe", "id": "q"}).encode())[:cut])
            s.close()
        s, rd = self._raw()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # RST
        async def still_serving():
            w = await Client.open(self.srv, "writer-secret")
            await w.call("CreateStation", {"station": station("abrupt-1")})
            await w.call("RecordObservations",
                         {"stationId": "abrupt-1", "observations": observations(3)})
            await w.close()
        run(still_serving())


class Shutdown(unittest.TestCase):
    def test_sessions_get_1001_at_shutdown(self):
        srv = NimbusServer(BINARY, workers=2)
        srv.start()
        try:
            async def go():
                clients = [await Client.open(srv) for _ in range(4)]
                for c in clients:
                    await c.send({"type": "subscribe", "id": "s"})
                    await c.recv_type("subscribed", "s")
                loop = asyncio.get_running_loop()
                stopping = loop.run_in_executor(None, srv.stop)
                for c in clients:
                    with self.assertRaises(websockets.exceptions.ConnectionClosed) as cm:
                        await c.recv()
                    self.assertEqual(close_code(cm.exception), 1001)
                await stopping
            run(go())
        finally:
            if srv.proc:
                srv.stop()


class Dashboard(unittest.TestCase):
    def test_static_files(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "index.html"), "w") as f:
                f.write("<!doctype html><title>t</title>")
            os.mkdir(os.path.join(d, "js"))
            with open(os.path.join(d, "js", "app.js"), "w") as f:
                f.write("console.log(1);")
            with open(os.path.join(d, ".secret"), "w") as f:
                f.write("no")
            with NimbusServer(BINARY, args=["--static-dir", d], workers=1) as srv:
                status, headers, body = http(srv, "GET", "/")
                self.assertEqual((status, body), (200, b"<!doctype html><title>t</title>"))
                self.assertTrue(headers["Content-Type"].startswith("text/html"))
                status, headers, body = http(srv, "GET", "/static/js/app.js")
                self.assertEqual((status, body), (200, b"console.log(1);"))
                self.assertTrue(headers["Content-Type"].startswith("text/javascript"))
                for path in ("/static/.secret", "/static/js/../index.html",
                             "/static/%2e%2e/index.html", "/static/missing.js", "/static/js",
                             "/static/", "/static//etc/passwd"):
                    status, headers, _ = http(srv, "GET", path)
                    self.assertEqual(status, 404, path)
                    self.assertIn("problem+json", headers.get("Content-Type", ""))
                status, _, _ = http(srv, "POST", "/")
                self.assertEqual(status, 405)


if __name__ == "__main__":
    unittest.main(verbosity=2)
