# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the WebSocket tests: a JSON client over python3-websockets,
and a raw RFC 6455 client for what websockets will not send (invalid UTF-8,
unmasked frames, hand-made fragments) or for a peer that never answers."""

import asyncio
import base64
import datetime
import json
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib"))
from nimbus_harness import NimbusServer  # noqa: E402,F401

import websockets  # noqa: E402

TIMEOUT = 10.0


def ws_url(srv, query=""):
    return "ws://127.0.0.1:%d/v1/stream%s" % (srv.port, query)


def close_code(exc):
    """The close code the server sent, from a ConnectionClosed."""
    return exc.rcvd.code if exc.rcvd is not None else None


class Client:
    """A JSON-message client. Every message is checked to be a JSON object
    with a `type`; recv_type skips nothing, so an unexpected message fails
    the test."""

    def __init__(self, ws):
        self.ws = ws
        self.n = 0

    @classmethod
    async def open(cls, srv, token=None, query="", **kw):
        headers = {"Authorization": "Bearer " + token} if token else {}
        kw.setdefault("max_size", None)
        kw.setdefault("ping_interval", None)
        ws = await websockets.connect(ws_url(srv, query), extra_headers=headers, **kw)
        return cls(ws)

    def next_id(self, prefix="m"):
        self.n += 1
        return "%s%d" % (prefix, self.n)

    async def send(self, msg):
        await self.ws.send(json.dumps(msg) if not isinstance(msg, str) else msg)

    async def recv(self, timeout=TIMEOUT):
        text = await asyncio.wait_for(self.ws.recv(), timeout)
        assert isinstance(text, str), "server sent a binary frame"
        msg = json.loads(text)
        assert isinstance(msg, dict) and "type" in msg, text
        return msg

    async def recv_type(self, type_, id_=None, timeout=TIMEOUT):
        msg = await self.recv(timeout)
        assert msg["type"] == type_, "expected %s, got %r" % (type_, msg)
        if id_ is not None:
            assert msg.get("id") == id_, "expected id %r, got %r" % (id_, msg)
        return msg

    async def call(self, op, params=None, id_=None):
        """A SINGLE operation: returns the result object, or raises
        AssertionError with the error message."""
        id_ = id_ or self.next_id("c")
        await self.send({"type": "call", "id": id_, "op": op, "params": params or {}})
        msg = await self.recv()
        assert msg.get("id") == id_, msg
        if msg["type"] == "error":
            raise AssertionError("%s failed: %r" % (op, msg))
        assert msg["type"] == "result", msg
        return msg["result"]

    async def stream(self, op, params=None, id_=None):
        """A LIST operation: returns (items, done_count)."""
        id_ = id_ or self.next_id("l")
        await self.send({"type": "call", "id": id_, "op": op, "params": params or {}})
        items = []
        while True:
            msg = await self.recv()
            assert msg.get("id") == id_, msg
            if msg["type"] == "item":
                items.append(msg["item"])
            elif msg["type"] == "done":
                return items, msg["count"]
            else:
                raise AssertionError("%s: unexpected %r" % (op, msg))

    async def close(self):
        await self.ws.close()


def station(sid, city="Springfield", country="US"):
    return {"id": sid, "name": "Station " + sid, "city": city, "country": country,
            "latitude": 10.5, "longitude": -20.25}


def rss_mb(pid):
    """Resident memory of process pid in MB (0 when /proc does not say)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def observations(n, start=0, temperature=None):
    """n observations one minute apart from 2024-05-01T00:00:00Z + start min."""
    base = datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)
    out = []
    for i in range(start, start + n):
        at = base + datetime.timedelta(minutes=i)
        out.append({"observedAt": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "temperature": temperature if temperature is not None else (i % 50) - 10.5})
    return out


# ---- raw RFC 6455 ---------------------------------------------------------------


def raw_upgrade(port, query="", headers=None, key="dGhlIHNhbXBsZSBub25jZQ=="):
    """Sends an upgrade request; returns (socket, status, header text, rest)."""
    s = socket.create_connection(("127.0.0.1", port), TIMEOUT)
    s.settimeout(TIMEOUT)
    lines = ["GET /v1/stream%s HTTP/1.1" % query, "Host: 127.0.0.1:%d" % port,
             "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13"]
    if key is not None:
        lines.append("Sec-WebSocket-Key: " + key)
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head else 0
    return s, status, head.decode("latin-1"), rest


def encode_frame(opcode, payload, fin=True, mask=True, rsv=0):
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class RawReader:
    """Reads server frames from a raw socket (server frames are unmasked)."""

    def __init__(self, sock, rest=b""):
        self.sock = sock
        self.buf = rest

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self):
        b0, b1 = self._need(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._need(8))[0]
        return b0 & 0x80 != 0, b0 & 0x0F, self._need(n)

    def until_close(self):
        """Skips data frames and pings; returns the close code."""
        while True:
            fin, op, payload = self.frame()
            if op == 8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


def run(coro):
    return asyncio.run(coro)


def b64key():
    return base64.b64encode(os.urandom(16)).decode()
