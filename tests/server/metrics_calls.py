# SPDX-License-Identifier: GPL-3.0-or-later
"""Calls over every protocol, for the metrics tests (test_metrics.py,
test_prometheus.py) and what they read back: SOAP 1.1 and 1.2 as raw
envelopes (a key by HTTP Basic), REST (Bearer), a WebSocket `call`
(access_token), and GET /metrics parsed into {(name, labels): value}."""

import asyncio
import base64
import json
import re
import urllib.error
import urllib.request

import websockets

NS = "urn:nimbus:weather:v1"
ENV = {1: "http://schemas.xmlsoap.org/soap/envelope/",
       2: "http://www.w3.org/2003/05/soap-envelope"}
CTYPE = {1: "text/xml; charset=utf-8", 2: "application/soap+xml; charset=utf-8"}

KEYS = ["ops:ops-secret:admin", "legacy:legacy-secret:write", "mobile:mobile-secret:write"]
SECRETS = {"ops": "ops-secret", "legacy": "legacy-secret", "mobile": "mobile-secret"}


def http(base, method, path, body=None, headers=None):
    """(status, headers, body bytes); HTTP errors are answers too."""
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.headers, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def basic(key):
    return "Basic " + base64.b64encode(("%s:%s" % (key, SECRETS[key])).encode()).decode()


def bearer(key):
    return "Bearer " + SECRETS[key]


def soap(base, version, body, key=None):
    env = ('<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="%s" xmlns:n="%s">'
           "<s:Body>%s</s:Body></s:Envelope>" % (ENV[version], NS, body)).encode()
    headers = {"Content-Type": CTYPE[version]}
    if key:
        headers["Authorization"] = basic(key)
    return http(base, "POST", "/soap", env, headers)


def soap_get_station(base, version, station_id, key=None):
    return soap(base, version, "<n:GetStation><n:id>%s</n:id></n:GetStation>" % station_id, key)


def rest(base, method, path, doc=None, key=None):
    headers = {"Content-Type": "application/json"} if doc is not None else {}
    if key:
        headers["Authorization"] = bearer(key)
    body = json.dumps(doc).encode() if doc is not None else None
    return http(base, method, path, body, headers)


def ws_calls(port, calls, key=None):
    """Sends each (op, params) as a `call` on one connection; returns the
    answers in order."""
    url = "ws://127.0.0.1:%d/v1/stream" % port
    if key:
        url += "?access_token=" + SECRETS[key]

    async def run():
        answers = []
        async with websockets.connect(url, ping_interval=None) as ws:
            for i, (op, params) in enumerate(calls):
                await ws.send(json.dumps({"type": "call", "id": str(i), "op": op,
                                          "params": params}))
                answers.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        return answers
    return asyncio.run(run())


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(base, key="ops"):
    status, headers, body = http(base, "GET", "/metrics",
                                 headers={"Authorization": bearer(key)} if key else {})
    assert status == 200, (status, body)
    return headers, body.decode()


def parse(text):
    """{(name, frozenset(labels)): float} of every sample."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)
