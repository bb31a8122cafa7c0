# SPDX-License-Identifier: GPL-3.0-or-later
"""The connection guard (server/http/conn.c) against real sockets: the
limits on connections in all and per client address (HTTP and WebSocket
alike), each at the limit and one past it; the request deadline against
trickling clients (while others are served); the minimum body rate; the
idle timeout; and accepting with too few descriptors, which must pause,
not spin, and recover.

Client addresses: everything is loopback, and Linux lets a client bind any
127.x.y.z, so 127.0.0.1 and 127.0.0.2 are two clients.
"""

import asyncio
import http.client
import json
import os
import resource
import socket
import sys
import time
import unittest

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from nimbus_harness import NimbusServer  # noqa: E402

BINARY = sys.argv.pop(1)


def connect(port, source="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def get(s, path="/healthz"):
    """One GET on an open socket; returns (status, body), or None when the
    server closed or reset the connection instead."""
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
        f = s.makefile("rb")
        line = f.readline()
        if not line:
            return None
        status = int(line.split()[1])
        length = 0
        while True:
            h = f.readline()
            if h in (b"\r\n", b""):
                break
            if h.lower().startswith(b"content-length:"):
                length = int(h.split(b":")[1])
        return status, f.read(length)
    except (ConnectionError, socket.timeout):
        return None


def refused(answer):
    """A refusal is a 503 problem with RESOURCE_EXHAUSTED, or (when the
    connection was closed before the client read it) no answer at all."""
    if answer is None:
        return True
    status, body = answer
    return status == 503 and json.loads(body).get("code") == "RESOURCE_EXHAUSTED"


def eventually(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def served(port, source="127.0.0.1"):
    """A fresh connection from source gets a 200 for /healthz."""
    try:
        s = connect(port, source)
    except OSError:
        return False
    try:
        a = get(s)
        return a is not None and a[0] == 200
    finally:
        s.close()


class Limits(unittest.TestCase):
    def test_per_client_limit_at_and_past(self):
        with NimbusServer(BINARY, args=["--max-connections-per-client", "5"]) as srv:
            held = [connect(srv.port) for _ in range(5)]
            for s in held:  # at the limit: all five served
                self.assertEqual(get(s)[0], 200)
            extra = connect(srv.port)
            self.assertTrue(refused(get(extra)), "a sixth connection from one address")
            extra.close()
            self.assertTrue(served(srv.port, "127.0.0.2"))  # another client is unaffected
            held.pop().close()  # one freed: room again
            self.assertTrue(eventually(lambda: served(srv.port)))
            for s in held:
                s.close()
            self.assertIn("status=503", srv.log_text())

    def test_total_limit_at_and_past(self):
        with NimbusServer(BINARY, args=["--max-connections", "6",
                                        "--max-connections-per-client", "0"]) as srv:
            held = [connect(srv.port, "127.0.0.%d" % (i + 1)) for i in range(6)]
            for s in held:
                self.assertEqual(get(s)[0], 200)
            extra = connect(srv.port, "127.0.0.9")
            self.assertTrue(refused(get(extra)), "a seventh connection in all")
            extra.close()
            held.pop().close()
            self.assertTrue(eventually(lambda: served(srv.port, "127.0.0.9")))
            for s in held:
                s.close()

    def test_websockets_count_with_http(self):
        async def run(port):
            ws = [await websockets.connect("ws://127.0.0.1:%d/v1/stream" % port,
                                           ping_interval=None) for _ in range(2)]
            s = connect(port)
            self.assertEqual(get(s)[0], 200)  # two sessions and one HTTP: at the limit
            extra = connect(port)
            self.assertTrue(refused(get(extra)), "a fourth connection beside two sessions")
            extra.close()
            await ws[0].close()  # a session closes: room again
            ok = False
            for _ in range(100):
                if served(port):
                    ok = True
                    break
                await asyncio.sleep(0.05)
            self.assertTrue(ok)
            s.close()
            await ws[1].close()

        with NimbusServer(BINARY, args=["--max-connections-per-client", "3"]) as srv:
            asyncio.run(run(srv.port))


class Deadlines(unittest.TestCase):
    def test_trickling_clients_are_closed_while_others_are_served(self):
        count = 200
        with NimbusServer(BINARY, args=["--request-timeout", "2",
                                        "--max-connections-per-client", "0"]) as srv:
            socks = []
            for i in range(count):
                s = connect(srv.port, "127.0.1.%d" % (1 + i))
                s.setblocking(False)
                socks.append(s)
            head = b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Padding: " + b"a" * 200
            start = time.monotonic()
            closed_at = {}
            slowest_normal = 0.0
            sent = 0
            while time.monotonic() - start < 8 and len(closed_at) < count:
                # every trickler sends one more byte every 0.5 s
                if time.monotonic() - start >= sent * 0.5:
                    for i, s in enumerate(socks):
                        if i not in closed_at and sent < len(head):
                            try:
                                s.send(head[sent:sent + 1])
                            except OSError:
                                closed_at[i] = time.monotonic() - start
                    sent += 1
                for i, s in enumerate(socks):
                    if i in closed_at:
                        continue
                    try:
                        data = s.recv(4096)
                        if data == b"" or data.startswith(b"HTTP/1.1 408"):
                            closed_at[i] = time.monotonic() - start
                    except BlockingIOError:
                        pass
                    except OSError:
                        closed_at[i] = time.monotonic() - start
                t0 = time.monotonic()
                self.assertTrue(served(srv.port, "127.0.0.1"))
                slowest_normal = max(slowest_normal, time.monotonic() - t0)
                time.sleep(0.05)
            for s in socks:
                s.close()
            self.assertEqual(len(closed_at), count,
                             "tricklers still open after 8 s with a 2 s deadline")
            self.assertGreaterEqual(min(closed_at.values()), 1.5)  # not before the deadline
            self.assertLess(max(closed_at.values()), 6.0)
            self.assertLess(slowest_normal, 2.0, "normal requests waited behind tricklers")
            self.assertIn("status=408", srv.log_text())

    def test_minimum_body_rate(self):
        with NimbusServer(BINARY, args=["--request-timeout", "1", "--min-body-rate", "20000",
                                        "--max-body", "2000000"]) as srv:
            body = b'{"observations":[' + b" " * 60000 + b"]}"
            head = (b"POST /v1/stations/x/observations HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
            # Too slow: 4 KB/s earns 1 s plus 0.2 s for every second it sends.
            s = connect(srv.port)
            s.sendall(head)
            t0 = time.monotonic()
            closed = None
            s.settimeout(0.25)
            for off in range(0, len(body), 1000):
                try:
                    s.send(body[off:off + 1000])
                    data = s.recv(4096)
                    if data == b"" or data.startswith(b"HTTP/1.1 408"):
                        closed = time.monotonic() - t0
                        break
                except socket.timeout:
                    continue
                except OSError:
                    closed = time.monotonic() - t0
                    break
            s.close()
            self.assertIsNotNone(closed, "a slow upload was never cut off")
            self.assertLess(closed, 5)
            # Fair: the same body at ~200 KB/s arrives whole and is answered
            # (an empty batch is refused: what matters is that it was read).
            s = connect(srv.port)
            s.sendall(head)
            for off in range(0, len(body), 10000):
                s.sendall(body[off:off + 10000])
                time.sleep(0.05)
            s.settimeout(10)
            answer = s.recv(64)
            self.assertTrue(answer.startswith(b"HTTP/1.1 4") and b" 408 " not in answer, answer)
            s.close()

    def test_each_request_on_a_connection_has_its_own_deadline(self):
        """The deadline timer is left armed between requests (conn.c,
        arm_by): the next request on the connection must still get its own
        full --request-timeout from its first byte, no less (a timer left
        from the request before fires first and is re-armed) and no more
        (one left far out by a large body's allowance is brought in)."""
        with NimbusServer(BINARY, args=["--request-timeout", "2", "--min-body-rate", "1000",
                                        "--max-body", "200000"]) as srv:
            def half_sent_request_gets_its_own_deadline(s):
                t0 = time.monotonic()
                s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                s.settimeout(10)
                data = s.recv(4096)
                self.assertTrue(data == b"" or data.startswith(b"HTTP/1.1 408"), data)
                elapsed = time.monotonic() - t0
                self.assertGreaterEqual(elapsed, 1.8)
                self.assertLess(elapsed, 3.5)
                s.close()

            # After a quick request: the half-sent second one starts 1 s
            # into the first one's 2 s, and is cut off 2 s after its start.
            s = connect(srv.port)
            self.assertEqual(get(s)[0], 200)
            time.sleep(1)
            half_sent_request_gets_its_own_deadline(s)

            # After a 100 KB body sent over 3 s, at a fair rate: it was
            # still arriving at its first deadline, which then moved out by
            # what it had sent (~70 s). The next request still has 2 s.
            s = connect(srv.port)
            body = b'{"observations":[' + b" " * 100000 + b"]}"
            s.sendall(b"POST /v1/stations/x/observations HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
            for off in range(0, len(body), 10000):
                s.sendall(body[off:off + 10000])
                time.sleep(0.3)
            s.settimeout(10)
            answer = b""
            while b"\r\n\r\n" not in answer:
                answer += s.recv(4096)
            self.assertTrue(answer.startswith(b"HTTP/1.1 4") and b" 408 " not in answer, answer)
            length = int(answer.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            rest = answer.split(b"\r\n\r\n", 1)[1]
            while len(rest) < length:
                rest += s.recv(4096)
            half_sent_request_gets_its_own_deadline(s)

    def test_idle_connection_closed(self):
        with NimbusServer(BINARY, args=["--idle-timeout", "1"]) as srv:
            s = connect(srv.port)
            self.assertEqual(get(s)[0], 200)
            t0 = time.monotonic()
            s.settimeout(10)
            self.assertEqual(s.recv(1), b"")
            self.assertLess(time.monotonic() - t0, 4)
            s.close()


class RateLimits(unittest.TestCase):
    """REST side of the per-key rate limit (the bucket's arithmetic is
    tests/service/test_ratelimit.c's)."""

    def test_rest_429_with_retry_after_per_key(self):
        keys = ["--api-key", "a:sa-secret:read", "--api-key", "b:sb-secret:read"]
        with NimbusServer(BINARY, args=keys + ["--rate", "2", "--burst", "4"]) as srv:
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)

            def call(secret):
                c.request("GET", "/v1/stations", headers={"Authorization": "Bearer " + secret})
                r = c.getresponse()
                return r.status, dict(r.getheaders()), r.read()

            for _ in range(4):  # the burst, at the limit
                self.assertEqual(call("sa-secret")[0], 200)
            status, headers, body = call("sa-secret")  # one past
            self.assertEqual(status, 429)
            self.assertEqual(headers.get("Retry-After"), "1")
            self.assertEqual(json.loads(body)["code"], "RESOURCE_EXHAUSTED")
            self.assertEqual(call("sb-secret")[0], 200)  # the other key's own bucket
            time.sleep(0.6)  # 2 a second: one more call
            self.assertEqual(call("sa-secret")[0], 200)
            self.assertEqual(call("sa-secret")[0], 429)

    def test_websocket_calls_and_subscriptions(self):
        """Calls over the stream take from the key's rate; subscriptions
        count per key across connections, at the limit and one past."""
        async def run(port):
            headers = {"Authorization": "Bearer sa-secret"}
            a = await websockets.connect("ws://127.0.0.1:%d/v1/stream" % port,
                                         extra_headers=headers, ping_interval=None)
            b = await websockets.connect("ws://127.0.0.1:%d/v1/stream" % port,
                                         extra_headers=headers, ping_interval=None)

            async def ask(ws, msg):
                await ws.send(json.dumps(msg))
                return json.loads(await asyncio.wait_for(ws.recv(), 10))

            for i in range(2):
                self.assertEqual((await ask(a, {"type": "subscribe", "id": "a%d" % i}))["type"],
                                 "subscribed")
            self.assertEqual((await ask(b, {"type": "subscribe", "id": "b0"}))["type"],
                             "subscribed")  # three in all: at the limit
            refused = await ask(b, {"type": "subscribe", "id": "b1"})
            self.assertEqual((refused["type"], refused["code"]), ("error", "RESOURCE_EXHAUSTED"))
            self.assertIn("subscriptions per API key", refused["message"])
            self.assertEqual((await ask(a, {"type": "unsubscribe", "id": "a0"}))["type"],
                             "unsubscribed")
            self.assertEqual((await ask(b, {"type": "subscribe", "id": "b2"}))["type"],
                             "subscribed")
            await a.close()
            await b.close()

        keys = ["--api-key", "a:sa-secret:read"]
        with NimbusServer(BINARY, args=keys + ["--max-subscriptions-per-key", "3"]) as srv:
            asyncio.run(run(srv.port))

        async def calls(port):
            ws = await websockets.connect("ws://127.0.0.1:%d/v1/stream" % port,
                                          extra_headers={"Authorization": "Bearer sa-secret"},
                                          ping_interval=None)
            answers = []
            for i in range(3):
                await ws.send(json.dumps({"type": "call", "id": str(i), "op": "ListStations",
                                          "params": {}}))
                while True:
                    m = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if m["type"] in ("done", "result", "error"):
                        answers.append(m)
                        break
            await ws.close()
            return answers

        with NimbusServer(BINARY, args=keys + ["--rate", "0.5", "--burst", "2"]) as srv:
            answers = asyncio.run(calls(srv.port))
            self.assertEqual([m["type"] for m in answers[:2]], ["done", "done"])
            self.assertEqual((answers[2]["type"], answers[2]["code"]),
                             ("error", "RESOURCE_EXHAUSTED"))
            self.assertIn("retry in 2 s", answers[2]["message"])

    def test_soap_credentials_and_rate_before_the_body(self):
        """SOAP takes a call from the key's rate and checks Bearer/Basic
        credentials (and the role SOAPAction names) before it reads the
        body: a body that is not even XML gets UNAUTHENTICATED,
        PERMISSION_DENIED or RESOURCE_EXHAUSTED, never a parse error. A
        UsernameToken caller is admitted once its header is read."""
        ns = "urn:nimbus:weather:v1"
        env11 = "http://schemas.xmlsoap.org/soap/envelope/"

        def envelope(header=""):
            return ('<s:Envelope xmlns:s="%s" xmlns:n="%s">%s<s:Body><n:ListStations/>'
                    "</s:Body></s:Envelope>" % (env11, ns, header)).encode()

        token = ('<s:Header><w:Security xmlns:w="http://docs.oasis-open.org/wss/2004/01/oasis-'
                 '200401-wss-wssecurity-secext-1.0.xsd"><w:UsernameToken><w:Username>b'
                 "</w:Username><w:Password>sb-secret</w:Password></w:UsernameToken>"
                 "</w:Security></s:Header>")
        keys = ["--api-key", "a:sa-secret:read", "--api-key", "b:sb-secret:read"]
        with NimbusServer(BINARY, args=keys + ["--rate", "1", "--burst", "3"]) as srv:
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)

            def call(body, secret=None, action=None, version=1):
                h = {"Content-Type": "text/xml; charset=utf-8"}
                if version == 2:
                    h = {"Content-Type": "application/soap+xml; charset=utf-8"
                         + ('; action="%s/%s"' % (ns, action) if action else "")}
                elif action:
                    h["SOAPAction"] = '"%s/%s"' % (ns, action)
                if secret:
                    h["Authorization"] = "Bearer " + secret
                c.request("POST", "/soap", body=body, headers=h)
                r = c.getresponse()
                data = r.read().decode()
                code = data.split("<nimbus:code>")[1].split("<")[0] if "<nimbus:code>" in data else None
                return r.status, r.getheader("Retry-After"), code

            # Not XML at all: credentials decide before any parsing.
            self.assertEqual(call(b"not xml", "wrong-secret"), (500, None, "UNAUTHENTICATED"))
            self.assertEqual(call(b"not xml", "sa-secret", action="DeleteStation"),
                             (500, None, "PERMISSION_DENIED"))
            self.assertEqual(call(b"not xml", "sa-secret", action="DeleteStation", version=2),
                             (400, None, "PERMISSION_DENIED"))
            # Refused calls took nothing from a's bucket; admitted ones do,
            # even when the body then turns out not to be XML.
            for _ in range(3):
                self.assertEqual(call(b"not xml", "sa-secret"), (500, None, "INVALID_ARGUMENT"))
            status, retry, code = call(b"not xml", "sa-secret")
            self.assertEqual((status, code), (500, "RESOURCE_EXHAUSTED"))
            self.assertEqual(retry, "1")
            # b over UsernameToken: its own bucket, at the limit and one past.
            for _ in range(3):
                self.assertEqual(call(envelope(token))[0], 200)
            status, retry, code = call(envelope(token))
            self.assertEqual((status, code), (500, "RESOURCE_EXHAUSTED"))
            self.assertEqual(retry, "1")
            time.sleep(1.1)  # one more call a second
            self.assertEqual(call(envelope(), "sa-secret")[0], 200)

    def test_open_server_limits_each_address(self):
        with NimbusServer(BINARY, args=["--rate", "1", "--burst", "2"]) as srv:
            def status(source):
                s = connect(srv.port, source)
                try:
                    return get(s, "/v1/stations")[0]
                finally:
                    s.close()
            self.assertEqual([status("127.0.0.1") for _ in range(3)], [200, 200, 429])
            self.assertEqual(status("127.0.0.2"), 200)


class Descriptors(unittest.TestCase):
    def test_running_out_of_descriptors_pauses_and_recovers(self):
        def low_limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

        srv = NimbusServer(BINARY, workers=1, args=["--max-connections", "0"])
        srv.popen_kwargs = {"preexec_fn": low_limit}
        srv.start()
        try:
            pid = srv.proc.pid

            def cpu():
                with open("/proc/%d/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

            socks = [connect(srv.port) for _ in range(120)]  # past the 64 descriptors
            c0 = cpu()
            time.sleep(3)
            used = cpu() - c0
            self.assertLess(used, 1.5, "the server spun on accept: %.2f s of CPU in 3 s" % used)
            for s in socks:
                s.close()
            self.assertTrue(eventually(lambda: served(srv.port), 10))
        finally:
            srv.stop()
        log = srv.log_text()
        self.assertIn("cannot accept connections", log)
        self.assertLess(log.count("cannot accept connections"), 5, log[-2000:])


if __name__ == "__main__":
    unittest.main()
