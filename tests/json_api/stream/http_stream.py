# SPDX-License-Identifier: GPL-3.0-or-later
"""A client of GET /v1/stream's HTTP framings (contract 1.1) on a raw socket,
for the stream tests: it sends the request, reads the response head, then
parses server-sent events (RFC text/event-stream: event, id, data, comment
lines, a blank line ending an event) or NDJSON lines as they arrive. Raw,
so that a test sees exactly what the server wrote and when, can shrink the
socket's receive buffer to play a slow reader, and notices the end of the
response (the server closes the connection)."""

import http.client
import json
import socket
import time
import urllib.parse

from ws_util import station

TIMEOUT = 10.0


class StreamClosed(Exception):
    """The server ended the response."""


class HttpStream:
    def __init__(self, port, query=None, accept="text/event-stream", headers=None,
                 rcvbuf=None, timeout=TIMEOUT):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        target = "/v1/stream"
        if query:
            target += "?" + (query if isinstance(query, str)
                             else urllib.parse.urlencode(query, doseq=True))
        lines = ["GET %s HTTP/1.1" % target, "Host: 127.0.0.1:%d" % port]
        if accept:
            lines.append("Accept: " + accept)
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        self.closed = False
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        head = head.decode("latin-1").split("\r\n")
        self.status = int(head[0].split(" ")[1])
        self.headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.body = None
        if self.status != 200 and "content-length" in self.headers:
            n = int(self.headers["content-length"])
            while len(self.buf) < n:
                self._fill()
            self.body = json.loads(self.buf[:n])
        self.comments = 0

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            self.closed = True
            raise StreamClosed("the server closed the stream")
        self.buf += chunk

    def line(self):
        while b"\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("utf-8")

    def event(self):
        """The next SSE event as (event, id or None, data as JSON); comment
        lines are counted, not returned."""
        event, id_, data = "message", None, None
        while True:
            line = self.line()
            if line == "":
                if data is not None:
                    return event, id_, json.loads(data)
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "id":
                id_ = value
            elif field == "data":
                data = value if data is None else data + "\n" + value
            else:
                raise AssertionError("unexpected SSE field %r" % line)

    def message(self):
        """The next NDJSON line as JSON."""
        line = self.line()
        assert line, "an empty NDJSON line"
        return json.loads(line)

    def next(self):
        """The next message as the WebSocket's would be, whatever the
        framing: {"type": ..., ...} (SSE: the event with its data's
        members, and "_id" its id)."""
        if self.headers.get("content-type") == "application/x-ndjson":
            return self.message()
        event, id_, data = self.event()
        if event == "observation":
            return {"type": event, "observation": data, "_id": id_}
        return dict(data, type=event, _id=id_)

    def wait_closed(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self._fill()
        except StreamClosed:
            return True
        except socket.timeout:
            return False
        return False

    def close(self):
        self.sock.close()


# ---- REST helpers for the stream tests ----------------------------------------


def rest(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    conn.request(method, path, data, h)
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, json.loads(raw) if raw else None


def record(port, sid, obs, headers=None):
    status, body = rest(port, "POST", "/v1/stations/%s/observations" % sid,
                        {"observations": obs}, headers)
    assert status == 200, (status, body)
    return body


def create(port, sid, headers=None):
    status, body = rest(port, "POST", "/v1/stations", station(sid), headers)
    assert status == 201, (status, body)


def head_seq(port):
    return rest(port, "GET", "/healthz")[1]["seq"]
