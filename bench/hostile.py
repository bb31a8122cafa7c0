#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The worst bodies we can think of, each as large as --max-body allows, and
what each costs the server in CPU (issue 10: no body of at most --max-body
may cost more than 50 ms). Prints one row per body class: its size, the
answer (status and error code) and the server's CPU for it (user + system
of the whole process from /proc/PID/stat around the request, the highest
of three tries), next to an ordinary request's.

  bench/hostile.py [--binary build/release/server/nimbus] [--max-body BYTES]

SOAP: attributes, namespace declarations (past their limits, and just
inside them on every element), an internal-subset DTD with
entities, nesting, long element names, many small elements, a long string,
many character references. JSON (REST bodies and WebSocket calls): nesting,
many members, long keys, a long string, many \\u escapes, many numbers.
Exit status 1 when a class costs more than the bound.
"""

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BOUND_MS = 50.0
NS = "urn:nimbus:weather:v1"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def envelope(inner):
    return ('<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="%s" xmlns:n="%s">'
            "<s:Body>%s</s:Body></s:Envelope>" % (ENV, NS, inner)).encode()


def header(filler):
    """A GetStation whose Header holds filler, an entry gSOAP reads and skips."""
    return ('<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="%s" xmlns:n="%s">'
            "<s:Header>%s</s:Header><s:Body><n:GetStation><n:id>x</n:id></n:GetStation>"
            "</s:Body></s:Envelope>" % (ENV, NS, filler)).encode()


def fill(prefix, unit, suffix, size):
    """prefix + unit * k + suffix, k as large as fits in size bytes."""
    k = max(0, (size - len(prefix) - len(suffix)) // len(unit))
    return prefix + unit * k + suffix


def soap_bodies(size):
    get = lambda inner: envelope("<n:GetStation>%s</n:GetStation>" % inner)  # noqa: E731
    base = len(get("<n:id>x</n:id>"))
    room = size - base - 64
    attrs = " ".join("a%d=\"1\"" % i for i in range(room // 10))
    while len(attrs) > room:
        attrs = attrs[: attrs.rfind(" ")]
    nss = " ".join("xmlns:p%d=\"u:%d\"" % (i, i) for i in range(room // 18))
    while len(nss) > room:
        nss = nss[: nss.rfind(" ")]
    yield "SOAP attributes", get('<n:id %s>x</n:id>' % attrs)
    yield "SOAP namespace declarations", get('<n:id %s>x</n:id>' % nss)
    # Just inside the default limits (32 attributes a tag, 64 declarations
    # in scope), on every element: what the limits still let through.
    full = " ".join("a%d=\"1\"" % i for i in range(31))
    # In a Header entry gSOAP skips: it reads every element there.
    yield "SOAP 31 attributes on every element", header(fill(
        "<h>", "<x %s>x</x>" % full, "</h>", size - 300))
    scope = " ".join("xmlns:q%d=\"u:%d\"" % (i, i) for i in range(20))
    deep = "".join("<n:w%d %s>" % (i, scope.replace("xmlns:q", "xmlns:q%d_" % i)) for i in range(3))
    yield "SOAP 60 declarations in scope, many elements", header(
        "<h>" + deep + fill("", "<q2_19:x>x</q2_19:x>", "", size - 2000 - len(deep))
        + "".join("</n:w%d>" % i for i in reversed(range(3))) + "</h>")
    dtd = ('<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY a "aaaaaaaaaa">'
           + "".join('<!ENTITY e%d "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">' % i for i in range(20))
           + ']>')
    yield "SOAP DTD with entities", fill(dtd + '<s:Envelope xmlns:s="%s"><s:Body>' % ENV,
                                         "&e19;", "</s:Body></s:Envelope>", size).encode()
    depth = room // 7
    yield "SOAP nesting", get("<a>" * depth + "</a>" * depth)
    yield "SOAP long element name", get("<n:%s>x</n:%s>" % ("x" * (room // 2 - 10),
                                                          "x" * (room // 2 - 10)))
    yield "SOAP many small elements", envelope(fill("<n:GetStation>", "<n:id>x</n:id>",
                                                    "</n:GetStation>", size - 200))
    yield "SOAP long string", get("<n:id>%s</n:id>" % ("x" * room))
    yield "SOAP character references", get("<n:id>%s</n:id>" % ("&#x41;" * (room // 6)))


def json_bodies(size):
    """JSON values of at most size bytes (a REST body, or a call's params)."""
    depth = size // 2 - 10
    yield "JSON nesting", ("[" * depth + "]" * depth).encode()
    count = (size - 40) // 14  # '"k00000001":1,' is 14 bytes
    yield "JSON many members", ('{"observations":[],' + "".join(
        '"k%08d":1,' % i for i in range(count)) + '"z":1}').encode()
    yield "JSON long key", ('{"%s":1}' % ("k" * (size - 10))).encode()
    yield "JSON long string", ('{"name":"%s"}' % ("x" * (size - 12))).encode()
    yield "JSON unicode escapes", ('{"name":"%s"}' % ("\\u00e9" * ((size - 12) // 6))).encode()
    yield "JSON many numbers", fill('{"observations":[', "1.5e300,", "0]}", size).encode()
    obs = '{"observedAt":"2024-05-01T12:00:00Z","temperature":1.5},'
    yield "JSON 1000 observations", ('{"observations":[%s]}' % (obs * 1000)[:-1]).encode()


class Server:
    def __init__(self, binary, max_body):
        self.dir = tempfile.mkdtemp(prefix="nimbus-hostile-")
        port_file = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--port-file", port_file, "--workers", "1",
             "--db", os.path.join(self.dir, "db"), "--quiet", "--max-body", str(max_body),
             "--max-ws-message", str(max_body)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.05)
        self.port = int(open(port_file).read())

    def cpu_ms(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:  # a worker still busy with a body
            self.proc.kill()
            self.proc.wait()


def http(port, method, path, body, ctype):
    s = socket.create_connection(("127.0.0.1", port), TIMEOUT_S)
    head = ("%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n" % (method, path, ctype, len(body))).encode()
    s.sendall(head + body)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    body = data.split(b"\r\n\r\n", 1)[-1]
    return status, body


def code_of(body):
    text = body.decode("utf-8", "replace")
    if "<code>" in text or ":code>" in text:
        i = text.find("code>")
        return text[i + 5: text.find("<", i)]
    try:
        return json.loads(body).get("code", "")
    except ValueError:
        return ""


def ws_call(port, message):
    """One WebSocket text message (unmasked length forms as a client masks)."""
    s = socket.create_connection(("127.0.0.1", port), TIMEOUT_S)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /v1/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade"
               "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n\r\n" % key).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    mask = os.urandom(4)
    n = len(message)
    header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                              bytes([0x80 | 126]) + n.to_bytes(2, "big") if n < 65536 else
                              bytes([0x80 | 127]) + n.to_bytes(8, "big"))
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(message))
    s.sendall(header + mask + payload)
    s.settimeout(TIMEOUT_S)
    reply = s.recv(65536)
    s.close()
    return reply


TIMEOUT_S = 20


class TimedOut(Exception):
    pass


def measure(srv, send):
    worst, answer = 0.0, None
    for _ in range(3):
        before = srv.cpu_ms()
        try:
            answer = send()
        except socket.timeout:
            raise TimedOut() from None
        time.sleep(0.05)  # let the server finish what follows the answer
        worst = max(worst, srv.cpu_ms() - before)
    return worst, answer


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(REPO, "build/release/server/nimbus"))
    ap.add_argument("--max-body", type=int, default=1048576)
    opts = ap.parse_args()
    srv = [Server(opts.binary, opts.max_body)]
    rows, failed = [], False

    def station():
        http(srv[0].port, "POST", "/v1/stations", json.dumps(
            {"id": "x", "name": "X", "city": "C", "country": "DE", "latitude": 1,
             "longitude": 2}).encode(), "application/json")

    def row(name, size, send, answer_of):
        try:
            ms, reply = measure(srv[0], send)
            rows.append((name, size, answer_of(reply), ms))
        except TimedOut:
            # The worker is still at it: count it as the bound's breach it
            # is, and go on with a fresh server.
            rows.append((name, size, "no answer in %d s" % TIMEOUT_S, TIMEOUT_S * 1000.0))
            srv[0].stop()
            srv[0] = Server(opts.binary, opts.max_body)
            station()

    def status_code(reply):
        return "%d %s" % (reply[0], code_of(reply[1]))

    try:
        station()
        row("ordinary SOAP GetStation", 0, lambda: http(srv[0].port, "POST", "/soap", envelope(
            "<n:GetStation><n:id>x</n:id></n:GetStation>"), "text/xml; charset=utf-8"),
            status_code)
        for name, body in soap_bodies(opts.max_body):
            row(name, len(body), lambda: http(srv[0].port, "POST", "/soap", body,
                                              "text/xml; charset=utf-8"), status_code)
        for name, body in json_bodies(opts.max_body):
            row(name + " (REST)", len(body), lambda: http(
                srv[0].port, "POST", "/v1/stations/x/observations", body, "application/json"),
                status_code)
        # The params are the REST body with the path's stationId added.
        wrapper = b'{"type":"call","id":"1","op":"RecordObservations","params":}'
        for name, body in json_bodies(opts.max_body - len(wrapper) - 20):
            params = b'{"stationId":"x",' + body[1:] if body.startswith(b"{") else body
            call = wrapper[:-1] + params + b'}'
            if len(call) <= opts.max_body:
                row(name + " (WebSocket)", len(call), lambda: ws_call(srv[0].port, call),
                    lambda reply: "ws " + reply[:60].decode("utf-8", "replace").split('"code":"')[-1][:20])
    finally:
        srv[0].stop()
    print("%-40s %9s %-28s %9s  %s" % ("body", "bytes", "answer", "CPU ms", "<= %g ms" % BOUND_MS))
    for name, size, answer, ms in rows:
        ok = ms <= BOUND_MS
        failed |= not ok
        print("%-40s %9d %-28s %9.1f  %s" % (name, size, answer[:28], ms, "PASS" if ok else "FAIL"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
