# SPDX-License-Identifier: GPL-3.0-or-later
"""A small REST client for the json_api integration tests (stdlib only).

One persistent http.client connection per client, so every test also
exercises keep-alive; every response is checked for Content-Length and, for
errors, for a well-formed problem+json body (RFC 9457 members plus `code`).
"""

import base64
import http.client
import json
import os
import re

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

CODE_STATUS = {
    "INVALID_ARGUMENT": 400, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "PAYLOAD_TOO_LARGE": 413,
    "RESOURCE_EXHAUSTED": 429, "UNAVAILABLE": 503, "INTERNAL": 500,
}


def table_rows():
    """The operations as the source declares them: (Name, role, kind, method,
    path, status), from NIMBUS_OPERATIONS (service/nimbus_operations.h) and
    the REST binding table (json_api/rest/rest_binding.c). Tests compare the
    running server against these, so a row or a binding that the server does
    not serve, or serves differently, fails."""
    with open(os.path.join(REPO, "service", "nimbus_operations.h")) as f:
        text = f.read()
    block = text[text.index("#define NIMBUS_OPERATIONS(X)"):text.index("typedef enum nimbus_op")]
    ops = re.findall(r"X\((\w+),\s*(\w+),\s*(\w+),\s*(\w+)\)", block.replace("\\\n", " "))
    with open(os.path.join(REPO, "json_api", "rest", "rest_binding.c")) as f:
        bindings = f.read()
    rows = []
    for name, snake, role, kind in ops:
        m = re.search(r"nimbus_rest_binding_t rest_%s = \{(.*?)\n\};" % snake, bindings, re.S)
        assert m, "no REST binding rest_%s for %s" % (snake, name)
        body = m.group(1)
        method = re.search(r'\.method = "(\w+)"', body).group(1)
        path = re.search(r'\.path = "([^"]+)"', body).group(1)
        status = int(re.search(r"\.status = (\d+)", body).group(1))
        rows.append((name, role, kind, method, path, status))
    return rows


class Response:
    def __init__(self, resp, body):
        self.status = resp.status
        self.headers = {k.lower(): v for k, v in resp.getheaders()}
        self.raw = body
        ctype = self.headers.get("content-type", "")
        self.json = json.loads(body) if body and "json" in ctype else None

    def header(self, name):
        return self.headers.get(name.lower())


class Client:
    def __init__(self, port, auth=None):
        self.port = port
        self.auth = auth
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def close(self):
        self.conn.close()

    def request(self, method, path, body=None, headers=None, ctype="application/json"):
        h = dict(headers or {})
        if self.auth and "Authorization" not in h:
            h["Authorization"] = self.auth
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
            if ctype:
                h.setdefault("Content-Type", ctype)
        self.conn.request(method, path, body=data, headers=h)
        resp = self.conn.getresponse()
        raw = resp.read()
        r = Response(resp, raw)
        if r.status not in (204, 304):
            assert r.header("content-length") == str(len(raw)) or method == "HEAD", \
                (method, path, r.headers)
        if resp.will_close:
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def bearer(secret):
    return "Bearer " + secret


def basic(name, secret):
    return "Basic " + base64.b64encode(("%s:%s" % (name, secret)).encode()).decode()


def expect_ok(r, status=200):
    assert r.status == status, (status, r.status, r.raw)
    return r.json


def expect_problem(r, code, status=None, detail_has=None):
    """Asserts r is problem+json for code (and HTTP status, which defaults
    to the code's); returns the problem."""
    want = status or CODE_STATUS[code]
    assert r.status == want, (want, r.status, r.raw)
    assert r.header("content-type") == "application/problem+json", r.headers
    p = r.json
    assert set(p) == {"type", "title", "status", "detail", "code", "requestId"}, p
    # The id a user quotes is the one the answer's header carries.
    assert p["requestId"] == r.header("x-request-id"), (p, r.headers)
    assert p["code"] == code and p["status"] == want, p
    assert p["type"] == "urn:nimbus:problem:" + code, p
    assert isinstance(p["title"], str) and p["title"], p
    if detail_has:
        assert detail_has in p["detail"], (detail_has, p["detail"])
    return p
