#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""run_cases: replays every contract case of tests/cases/<Operation>/<case>/
over SOAP 1.1, SOAP 1.2, REST and the WebSocket `call`, against ONE real
server, and requires the case's expected answer from each protocol.

The format of a case is described in README.md next to this file. The
mappings are generic, driven by the documents the server serves: the WSDL
(GET /soap?wsdl) orders request elements, names repeated fields and types
the answer; the OpenAPI document (GET /v1/openapi.json) gives each
operation's method, path, path and query parameters and success status. No
operation has code of its own here.

Prints one line per case and protocol, a summary table, and exits non-zero
if any case fails on any protocol, if a case directory is malformed, or if
an operation of the served OpenAPI document has no case directory.

Usage: run_cases.py NIMBUS_BINARY [--only SUBSTRING]... [--verbose]
       run_cases.py --port PORT [--only SUBSTRING]...   against a server (or a
       load balancer in front of several) already on 127.0.0.1:PORT, started
       with the keys below
"""

import argparse
import asyncio
import contextlib
import http.client
import json
import math
import os
import re
import sys
import time
import types
import urllib.parse
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import websockets
import websockets.exceptions

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from nimbus_harness import NimbusServer  # noqa: E402

# The keys of tests/soap/CMakeLists.txt; "wrong" is a secret no key has.
KEYS = {"admin": ("admin", "adm1n-secret", "admin"),
        "writer": ("writer", "wr1ter-secret", "write"),
        "reader": ("reader", "re4der-secret", "read")}
WRONG_SECRET = "n0t-a-valid-secret"
KEY_CHOICES = ("none", "wrong", "reader", "writer", "admin")

PROTOCOLS = ("soap11", "soap12", "rest", "ws")
PROTOCOL_TAG = {"soap11": "1", "soap12": "2", "rest": "r", "ws": "w"}

CODE_STATUS = {
    "INVALID_ARGUMENT": 400, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "PAYLOAD_TOO_LARGE": 413,
    "RESOURCE_EXHAUSTED": 429, "UNAVAILABLE": 503, "INTERNAL": 500,
}
SERVER_SIDE_CODES = ("UNAVAILABLE", "INTERNAL")  # SOAP Server / Receiver faults

CASE_FILES = {"request.json", "expect.json", "setup.json", "meta.json"}
META_KEYS = {"key", "note", "soapMessage", "movedFrom"}
SETUP_KEYS = {"op", "params", "key", "save", "error"}
ANY = "{any}"
TOKEN = re.compile(r"\{(seq(?:[+-]\d+)?|[A-Za-z][A-Za-z0-9_]*)\}")
SEQ_TOKEN = re.compile(r"seq(?:([+-]\d+))?")

XSD = "http://www.w3.org/2001/XMLSchema"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP_BINDING_NS = {1: "http://schemas.xmlsoap.org/wsdl/soap/",
                   2: "http://schemas.xmlsoap.org/wsdl/soap12/"}
ENVELOPE_NS = {1: "http://schemas.xmlsoap.org/soap/envelope/",
               2: "http://www.w3.org/2003/05/soap-envelope"}
SOAP_CTYPE = {1: "text/xml", 2: "application/soap+xml"}
TIMEOUT = 30.0


class Malformed(Exception):
    """A case directory that breaks the format, or a request that cannot
    be expressed in every protocol."""


class Violation(Exception):
    """A protocol broke its own rules (status, media type, message shape)."""


def strict_json(path):
    shown = os.path.relpath(path, HERE)

    def no_constant(name):
        raise Malformed("%s: %s is not JSON" % (shown, name))
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f, parse_constant=no_constant)
        except ValueError as e:
            raise Malformed("%s: %s" % (shown, e)) from None


# ---- cases ------------------------------------------------------------------

class Case:
    def __init__(self, op, name, path):
        self.op, self.name, self.path = op, name, path
        self.request, self.expect, self.setup, self.meta = {}, {}, [], {}

    @property
    def label(self):
        return "%s/%s" % (self.op, self.name)

    @property
    def key(self):
        return self.meta.get("key", "admin")


def tokens(value):
    """Every placeholder name used inside value."""
    if isinstance(value, str):
        return set(TOKEN.findall(value))
    if isinstance(value, dict):
        return set().union(*(tokens(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(tokens(v) for v in value)) if value else set()
    return set()


def check_tokens(value, saved, where, allow_any):
    for t in tokens(value):
        if SEQ_TOKEN.fullmatch(t) or t in ("p", "P") or t in saved:
            continue
        if t == "any" and allow_any:
            continue
        raise Malformed("%s: unknown placeholder {%s}" % (where, t))


def load_case(op, name, path):
    case = Case(op, name, path)
    files = set(os.listdir(path))
    extra = files - CASE_FILES
    if extra:
        raise Malformed("%s: unexpected file(s) %s" % (case.label, ", ".join(sorted(extra))))
    for required in ("request.json", "expect.json"):
        if required not in files:
            raise Malformed("%s: no %s" % (case.label, required))
    case.request = strict_json(os.path.join(path, "request.json"))
    if not isinstance(case.request, dict):
        raise Malformed("%s: request.json must be an object" % case.label)
    case.expect = strict_json(os.path.join(path, "expect.json"))
    e = case.expect
    if not isinstance(e, dict) or len(e) != 1 or next(iter(e)) not in ("result", "error"):
        raise Malformed("%s: expect.json must be {\"result\": {...}} or {\"error\": {...}}"
                        % case.label)
    if "result" in e and not isinstance(e["result"], dict):
        raise Malformed("%s: expect.json result must be an object" % case.label)
    if "error" in e:
        err = e["error"]
        if (not isinstance(err, dict) or set(err) - {"code", "message"}
                or err.get("code") not in CODE_STATUS
                or not isinstance(err.get("message", ""), str)):
            raise Malformed("%s: expect.json error must be {\"code\": CODE, \"message\": TEXT}"
                            " with a contract code" % case.label)
    if "setup.json" in files:
        case.setup = strict_json(os.path.join(path, "setup.json"))
        if not isinstance(case.setup, list):
            raise Malformed("%s: setup.json must be a list of calls" % case.label)
        for i, step in enumerate(case.setup):
            if (not isinstance(step, dict) or set(step) - SETUP_KEYS
                    or not isinstance(step.get("op"), str)
                    or not isinstance(step.get("params", {}), dict)
                    or step.get("key", "admin") not in KEY_CHOICES
                    or not isinstance(step.get("save", {}), dict)
                    or step.get("error", "INVALID_ARGUMENT") not in CODE_STATUS
                    or ("error" in step and "save" in step)):
                raise Malformed("%s: setup.json[%d] must be {\"op\", \"params\", \"key\"?, "
                                "\"save\"? or \"error\"?}" % (case.label, i))
    if "meta.json" in files:
        case.meta = strict_json(os.path.join(path, "meta.json"))
        if not isinstance(case.meta, dict) or set(case.meta) - META_KEYS:
            raise Malformed("%s: meta.json may hold only %s" % (case.label,
                                                                ", ".join(sorted(META_KEYS))))
        if case.key not in KEY_CHOICES:
            raise Malformed("%s: meta.json key must be one of %s" % (case.label,
                                                                     ", ".join(KEY_CHOICES)))
        if "soapMessage" in case.meta and ("error" not in e or "message" in e["error"]):
            raise Malformed("%s: soapMessage (why SOAP words the error itself) goes with an "
                            "expected error that names the code only" % case.label)
    saved = set()
    for i, step in enumerate(case.setup):
        check_tokens(step.get("params", {}), saved, "%s: setup.json[%d]" % (case.label, i), False)
        saved |= set(step.get("save", {}))
    check_tokens(case.request, saved, case.label + ": request.json", False)
    check_tokens(case.expect, saved, case.label + ": expect.json", True)
    return case


def load_cases(root, only):
    cases, problems = [], []
    for op in sorted(os.listdir(root)):
        op_dir = os.path.join(root, op)
        if not os.path.isdir(op_dir) or op.startswith((".", "_")):
            continue
        for name in sorted(os.listdir(op_dir)):
            path = os.path.join(op_dir, name)
            label = "%s/%s" % (op, name)
            if only and not any(o in label for o in only):
                continue
            if not os.path.isdir(path):
                problems.append("%s: a file where a case directory belongs" % label)
                continue
            try:
                cases.append(load_case(op, name, path))
            except Malformed as e:
                problems.append(str(e))
    return cases, problems


def substitute(value, ctx):
    """Placeholders replaced: {p} and {P} by the run's prefix (lower, upper
    case), {seq+N} by the seq N after the newest one before the case (a
    string that is only a seq placeholder becomes a number), saved setup
    values by name. {any} stays, for the comparison."""
    if isinstance(value, dict):
        return {k: substitute(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, ctx) for v in value]
    if not isinstance(value, str):
        return value

    def one(name):
        m = SEQ_TOKEN.fullmatch(name)
        if m:
            return ctx["seq"] + int(m.group(1) or 0)
        if name == "any":
            return ANY
        return ctx[name]
    whole = TOKEN.fullmatch(value)
    if whole:
        return one(whole.group(1))
    return TOKEN.sub(lambda m: str(one(m.group(1))), value)


# ---- the WSDL ---------------------------------------------------------------

class Field:
    def __init__(self, name, type_name, kind, min_occurs, max_occurs):
        self.name, self.type_name, self.kind = name, type_name, kind
        self.min, self.max = min_occurs, max_occurs

    @property
    def json(self):
        # The contract: a repeated XML element is named in the singular,
        # the JSON array in the plural.
        return self.name + "s" if self.max > 1 else self.name


def scalar_kind(base):
    if base in ("double", "float", "decimal"):
        return "number"
    if base in ("int", "long", "integer", "short", "byte", "unsignedInt", "unsignedLong",
                "nonNegativeInteger", "positiveInteger"):
        return "integer"
    return "string"


XML_CHAR = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Wsdl:
    def __init__(self, text):
        root = ET.fromstring(text)
        self.tns = root.get("targetNamespace")
        schema = root.find("{%s}types/{%s}schema" % (WSDL_NS, XSD))
        simple = {}
        for st in schema.findall("{%s}simpleType" % XSD):
            base = st.find("{%s}restriction" % XSD).get("base").split(":")[-1]
            simple[st.get("name")] = base
        self.simple = {name: scalar_kind(self._builtin(base, simple))
                       for name, base in simple.items()}
        self.complex = {ct.get("name"): self._sequence(ct)
                        for ct in schema.findall("{%s}complexType" % XSD)}
        self.elements = {}
        for el in schema.findall("{%s}element" % XSD):
            ct = el.find("{%s}complexType" % XSD)
            self.elements[el.get("name")] = self._sequence(ct) if ct is not None else []
        self.actions = {}
        for binding in root.findall("{%s}binding" % WSDL_NS):
            for version, ns in SOAP_BINDING_NS.items():
                if binding.find("{%s}binding" % ns) is None:
                    continue
                for op in binding.findall("{%s}operation" % WSDL_NS):
                    so = op.find("{%s}operation" % ns)
                    self.actions[(version, op.get("name"))] = so.get("soapAction", "")

    @staticmethod
    def _builtin(base, simple):
        seen = set()
        while base in simple and base not in seen:
            seen.add(base)
            base = simple[base]
        return base

    def _sequence(self, ct):
        fields = []
        seq = ct.find("{%s}sequence" % XSD)
        for el in (seq.findall("{%s}element" % XSD) if seq is not None else []):
            type_name = el.get("type").split(":")[-1]
            is_xsd = el.get("type").startswith(("xsd:", "xs:"))
            mx = el.get("maxOccurs", "1")
            fields.append(Field(el.get("name"), type_name,
                                scalar_kind(type_name) if is_xsd else None,
                                int(el.get("minOccurs", "1")),
                                math.inf if mx == "unbounded" else int(mx)))
        return fields

    def kind(self, field):
        if field.kind:
            return field.kind
        if field.type_name in self.simple:
            return self.simple[field.type_name]
        return "complex"

    # JSON fields -> XML, in xsd:sequence order.
    def to_xml(self, fields, obj, where):
        by_json = {f.json: f for f in fields}
        for k in obj:
            if k not in by_json:
                raise Malformed("%s: member %r has no element in the WSDL" % (where, k))
        out = []
        for f in fields:
            v = obj.get(f.json)
            if v is None:
                continue
            if f.max > 1:
                if not isinstance(v, list):
                    raise Malformed("%s.%s: a repeated field is a JSON array" % (where, f.json))
                items = v
            else:
                if isinstance(v, list):
                    raise Malformed("%s.%s: an array for an element that is not repeated"
                                    % (where, f.json))
                items = [v]
            for i, item in enumerate(items):
                sub = "%s.%s" % (where, f.json) + ("[%d]" % i if f.max > 1 else "")
                out.append("<%s>%s</%s>" % (f.name, self.value_xml(f, item, sub), f.name))
        return "".join(out)

    def value_xml(self, f, v, where):
        kind = self.kind(f)
        if kind == "complex":
            if not isinstance(v, dict):
                raise Malformed("%s: must be an object to be expressed in XML" % where)
            return self.to_xml(self.complex[f.type_name], v, where)
        if kind in ("number", "integer"):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or (
                    kind == "integer" and not isinstance(v, int)):
                raise Malformed("%s: a JSON type error is no contract case" % where)
            return repr(v) if isinstance(v, float) else str(v)
        if not isinstance(v, str):
            raise Malformed("%s: a JSON type error is no contract case" % where)
        if XML_CHAR.search(v):
            raise Malformed("%s: holds a character XML 1.0 cannot carry" % where)
        # CR, LF and tab as references, so XML's line-end and attribute
        # normalisation leaves them as sent.
        return escape(v).replace("\r", "&#13;").replace("\n", "&#10;").replace("\t", "&#9;")

    # XML -> JSON fields, typed by the WSDL.
    def from_xml(self, fields, elem, where):
        out = {f.json: [] for f in fields if f.max > 1}
        by_name = {f.name: f for f in fields}
        for child in elem:
            ns, _, local = child.tag[1:].partition("}")
            f = by_name.get(local)
            if ns != self.tns or f is None:
                raise Violation("%s: unexpected element %s" % (where, child.tag))
            kind = self.kind(f)
            if kind == "complex":
                v = self.from_xml(self.complex[f.type_name], child, where + "." + local)
            elif kind == "number":
                v = float(child.text)
            elif kind == "integer":
                v = int(child.text)
            else:
                v = child.text or ""
            if f.max > 1:
                out[f.json].append(v)
            elif f.json in out:
                raise Violation("%s: %s twice" % (where, local))
            else:
                out[f.json] = v
        return out


# ---- the OpenAPI document ------------------------------------------------------

def ref_name(schema):
    if isinstance(schema, dict) and "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    return None


class RestOp:
    def __init__(self, method, path, op):
        self.method, self.path = method.upper(), path
        params = op.get("parameters", [])
        self.path_params = [p["name"] for p in params if p["in"] == "path"]
        self.query_params = [p["name"] for p in params if p["in"] == "query"]
        # A repeated parameter (station=a&station=b) carries the JSON array
        # named in the plural, as a repeated XML element does.
        self.array_params = {p["name"] for p in params
                             if p["in"] == "query" and p.get("schema", {}).get("type") == "array"}
        body = op.get("requestBody")
        self.has_body = body is not None
        ok = sorted(s for s in op["responses"] if s.startswith("2"))
        self.status = int(ok[0])
        content = op["responses"][ok[0]].get("content", {})
        self.success_schema = ref_name(content.get("application/json", {}).get("schema"))


def openapi_ops(doc):
    ops = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                ops[op["operationId"]] = RestOp(method, path, op)
    return ops


# ---- the protocols --------------------------------------------------------------

def error_answer(code, message):
    return {"error": {"code": code, "message": message}}


class Http:
    """One keep-alive connection."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if resp.will_close:
                self.conn.close()
                self.conn = None
            headers = {k.lower(): v for k, v in resp.getheaders()}
            if resp.status != 204 and headers.get("content-length") != str(len(data)):
                raise Violation("HTTP %d without a Content-Length of its %d bytes"
                                % (resp.status, len(data)))
            return resp.status, headers, data

    def close(self):
        if self.conn:
            self.conn.close()


def problem(status, raw):
    """(code, detail) of an RFC 9457 problem, checked as the contract
    spells it: its members, a type URN per code, the code's HTTP status."""
    p = json.loads(raw)
    code = p.get("code") if isinstance(p, dict) else None
    if (set(p) != {"type", "title", "status", "detail", "code", "requestId"}
            or code not in CODE_STATUS or not isinstance(p["requestId"], str)
            or p["type"] != "urn:nimbus:problem:" + code or not p["title"]
            or not isinstance(p["title"], str) or not isinstance(p["detail"], str)
            or p["status"] != status or status != CODE_STATUS[code]):
        raise Violation("HTTP %d with problem %s" % (status, raw[:300]))
    return code, p["detail"]


def auth_header(key):
    if key == "none":
        return {}
    if key == "wrong":
        return {"Authorization": "Bearer " + WRONG_SECRET}
    return {"Authorization": "Bearer " + KEYS[key][1]}


class Rest:
    name = "rest"

    def __init__(self, port, ops, wsdl):
        self.http, self.ops, self.wsdl = Http(port), ops, wsdl

    @staticmethod
    def body_member(req):
        """The request member that is the whole body: CreateStation's and
        UpdateStation's `station` (the REST body is the Station itself)."""
        return "station" if isinstance(req.get("station"), dict) else None

    def build(self, op, request):
        """(method, target, body) for a request in the contract's JSON form."""
        if op not in self.ops:
            raise Malformed("%s is not an operation of the OpenAPI document" % op)
        ro = self.ops[op]
        req = {k: v for k, v in request.items() if v is not None}
        member = self.body_member(req)
        used = set()
        path = ro.path
        for p in ro.path_params:
            names = [k for k in ("id", "stationId", "city") if k in req]
            if names:
                value = req[names[0]]
                used.add(names[0])
            elif member and isinstance(req[member], dict) and req[member].get(p) is not None:
                value = req[member][p]
            else:
                raise Malformed("%s: no request field for the path parameter {%s}" % (op, p))
            if not isinstance(value, str) or value == "":
                raise Malformed("%s: the path parameter {%s} must be a non-empty string"
                                % (op, p))
            path = path.replace("{%s}" % p, urllib.parse.quote(value, safe=""))
        query = []
        for q in ro.query_params:
            if q in ro.array_params:
                member = q + "s"
                values = req.get(member)
                if values is None or member in used:
                    continue
                if not isinstance(values, list):
                    raise Malformed("%s: %s is a JSON array (query parameter %s, repeated)"
                                    % (op, member, q))
                for v in values:
                    if isinstance(v, bool) or not isinstance(v, (str, int)) or v == "":
                        raise Malformed("%s: each of %s must be a non-empty string or integer"
                                        % (op, member))
                    query.append((q, str(v)))
                used.add(member)
                continue
            if q in req and q not in used:
                v = req[q]
                if isinstance(v, bool) or not isinstance(v, (str, int)):
                    raise Malformed("%s: query parameter %s must be a string or integer" % (op, q))
                if v == "":
                    raise Malformed("%s: an empty query value means absent in REST, so %s=\"\" "
                                    "is not expressible in every protocol" % (op, q))
                query.append((q, str(v)))
                used.add(q)
        rest = {k: v for k, v in req.items() if k not in used}
        body = None
        if ro.has_body:
            if member:
                if set(rest) != {member}:
                    raise Malformed("%s: members %s have no place in the REST request"
                                    % (op, sorted(set(rest) - {member})))
                body = rest[member]
            else:
                body = rest
        elif rest:
            raise Malformed("%s: members %s have no place in the REST request" % (op, sorted(rest)))
        target = path + ("?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
                         if query else "")
        return ro.method, target, body

    def call(self, key, op, request):
        method, target, body = self.build(op, request)
        headers = auth_header(key)
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        status, h, raw = self.http.request(method, target, data, headers)
        ctype = h.get("content-type", "")
        ro = self.ops[op]
        if status >= 400:
            if ctype != "application/problem+json":
                raise Violation("HTTP %d with Content-Type %r: %r" % (status, ctype, raw[:300]))
            code, detail = problem(status, raw)
            if json.loads(raw)["requestId"] != h.get("x-request-id"):
                raise Violation("problem's requestId is not the X-Request-Id header")
            return error_answer(code, detail)
        if status != ro.status:
            raise Violation("HTTP %d, the OpenAPI document says %d: %r" % (status, ro.status,
                                                                         raw[:300]))
        if status == 204:
            if raw:
                raise Violation("204 with a body")
            return {"result": {}}
        if not ctype.startswith("application/json"):
            raise Violation("HTTP %d with Content-Type %r" % (status, ctype))
        body = json.loads(raw)
        # A Station or WeatherReport alone is the one member of the
        # response fields (`station`, `report`) whose WSDL type it is.
        children = self.wsdl.elements.get(op + "Response", [])
        if (ro.success_schema and len(children) == 1 and children[0].max == 1
                and children[0].type_name == ro.success_schema):
            body = {children[0].json: body}
        return {"result": body}

    def close(self):
        self.http.close()


class Soap:
    def __init__(self, port, version, wsdl):
        self.http, self.version, self.wsdl = Http(port), version, wsdl
        self.name = "soap1%d" % version

    def build(self, op, request):
        if op not in self.wsdl.elements:
            raise Malformed("%s has no request element in the WSDL" % op)
        inner = self.wsdl.to_xml(self.wsdl.elements[op], request, op)
        return ('<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="%s"><s:Body>'
                '<%s xmlns="%s">%s</%s></s:Body></s:Envelope>'
                % (ENVELOPE_NS[self.version], op, self.wsdl.tns, inner, op)).encode()

    def call(self, key, op, request):
        body = self.build(op, request)
        action = self.wsdl.actions.get((self.version, op), "")
        headers = auth_header(key)
        if self.version == 1:
            headers["Content-Type"] = "text/xml; charset=utf-8"
            headers["SOAPAction"] = '"%s"' % action
        else:
            headers["Content-Type"] = 'application/soap+xml; charset=utf-8; action="%s"' % action
        status, h, raw = self.http.request("POST", "/soap", body, headers)
        if not h.get("content-type", "").startswith(SOAP_CTYPE[self.version]):
            raise Violation("Content-Type %r for SOAP 1.%d" % (h.get("content-type"),
                                                               self.version))
        env = ENVELOPE_NS[self.version]
        root = ET.fromstring(raw)
        if root.tag != "{%s}Envelope" % env:
            raise Violation("answer is %s, not a SOAP 1.%d Envelope" % (root.tag, self.version))
        payload = list(root.find("{%s}Body" % env))
        if len(payload) != 1:
            raise Violation("the Body holds %d elements" % len(payload))
        elem = payload[0]
        if elem.tag == "{%s}Fault" % env:
            return self.fault(elem, status, h.get("x-request-id"))
        if status != 200:
            raise Violation("HTTP %d for an answer that is not a Fault" % status)
        if elem.tag != "{%s}%sResponse" % (self.wsdl.tns, op):
            raise Violation("answer element %s" % elem.tag)
        return {"result": self.wsdl.from_xml(self.wsdl.elements[op + "Response"], elem,
                                             op + "Response")}

    def fault(self, fault, status, request_id):
        env, tns = ENVELOPE_NS[self.version], self.wsdl.tns
        if self.version == 1:
            fcode, reason, detail = (fault.findtext("faultcode"), fault.findtext("faultstring"),
                                     fault.find("detail"))
        else:
            fcode = fault.findtext("{%s}Code/{%s}Value" % (env, env))
            reason = fault.findtext("{%s}Reason/{%s}Text" % (env, env))
            detail = fault.find("{%s}Detail" % env)
        sf = detail.find("{%s}ServiceFault" % tns) if detail is not None else None
        if sf is None:
            raise Violation("Fault %s without a ServiceFault detail: %s" % (fcode, reason))
        code, message = sf.findtext("{%s}code" % tns), sf.findtext("{%s}message" % tns)
        server_side = code in SERVER_SIDE_CODES
        want_code = {1: ("Client", "Server"), 2: ("Sender", "Receiver")}[self.version][server_side]
        want_status = 500 if self.version == 1 or server_side else 400
        problems = []
        if not (fcode or "").endswith(":" + want_code):
            problems.append("faultcode %s, want %s" % (fcode, want_code))
        if status != want_status:
            problems.append("HTTP %d, want %d" % (status, want_status))
        if reason != message:
            problems.append("fault reason %r differs from ServiceFault message %r"
                            % (reason, message))
        # Beside ServiceFault: the request's id, as the X-Request-Id header says it.
        rid = detail.findtext("{%s}requestId" % tns) if detail is not None else None
        if not rid or rid != request_id:
            problems.append("detail's requestId %r, X-Request-Id %r" % (rid, request_id))
        if problems:
            raise Violation("; ".join(problems) + " (code %s)" % code)
        return error_answer(code, message)

    def close(self):
        self.http.close()


class Ws:
    """WebSocket `call`s: one connection per key, kept for the whole run.
    admin and writer present their key as Authorization: Bearer, reader
    as ?access_token=, so both ways are used. A key the upgrade refuses
    (none, wrong) gets the refusal (HTTP 401 problem+json) as its answer."""
    name = "ws"

    def __init__(self, port, wsdl):
        self.port, self.wsdl = port, wsdl
        self.loop = asyncio.new_event_loop()
        self.conns = {}
        self.n = 0

    def _target(self, key):
        if key == "reader":
            return "/v1/stream?access_token=" + urllib.parse.quote(KEYS[key][1], safe=""), {}
        return "/v1/stream", auth_header(key)

    async def _open(self, key):
        target, headers = self._target(key)
        try:
            return await websockets.connect("ws://127.0.0.1:%d%s" % (self.port, target),
                                            extra_headers=headers, max_size=None,
                                            ping_interval=None, open_timeout=TIMEOUT)
        except websockets.exceptions.InvalidStatusCode:
            return self._refusal(target, headers)

    def _refusal(self, target, headers):
        """The refused upgrade again, over plain HTTP, to read its problem."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        h = dict(headers, Upgrade="websocket", Connection="Upgrade")
        h["Sec-WebSocket-Version"] = "13"
        h["Sec-WebSocket-Key"] = "dGhlIHNhbXBsZSBub25jZQ=="
        conn.request("GET", target, headers=h)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        if resp.getheader("Content-Type") != "application/problem+json":
            raise Violation("upgrade refused with HTTP %d, %r" % (resp.status, raw[:300]))
        return error_answer(*problem(resp.status, raw))

    def call(self, key, op, request):
        return self.loop.run_until_complete(self._call(key, op, request))

    async def _call(self, key, op, request):
        conn = self.conns.get(key)
        if conn is None:
            conn = await self._open(key)
            if isinstance(conn, dict):
                return conn  # refused: asked again for every case
            self.conns[key] = conn
        self.n += 1
        cid = "c%d" % self.n
        await conn.send(json.dumps({"type": "call", "id": cid, "op": op, "params": request}))
        items = []
        try:
            while True:
                msg = json.loads(await asyncio.wait_for(conn.recv(), TIMEOUT))
                if msg.get("id") != cid:
                    raise Violation("message for another id: %r" % msg)
                t = msg.get("type")
                if t == "item":
                    items.append(msg["item"])
                elif t == "done":
                    if msg.get("count") != len(items):
                        raise Violation("done count %r after %d items" % (msg.get("count"),
                                                                         len(items)))
                    lists = [f for f in self.wsdl.elements.get(op + "Response", []) if f.max > 1]
                    if len(lists) != 1:
                        raise Violation("%s streamed items, but its response has no one list"
                                        % op)
                    return {"result": {lists[0].json: items}, "streamed": True}
                elif t == "result" and not items:
                    return {"result": msg["result"]}
                elif t == "error" and not items:
                    if set(msg) != {"type", "id", "code", "message", "requestId"}:
                        raise Violation("error message members %s" % sorted(msg))
                    return error_answer(msg["code"], msg["message"])
                else:
                    raise Violation("unexpected message %r" % msg)
        except (Violation, asyncio.TimeoutError, websockets.exceptions.ConnectionClosed):
            # The connection is out of step now: the next call opens another.
            self.conns.pop(key, None)
            await conn.close()
            raise

    def close(self):
        for conn in self.conns.values():
            self.loop.run_until_complete(conn.close())
        self.loop.close()


# ---- running a case ----------------------------------------------------------------

def compare(want, got, where="", out=None):
    """Differences between an expected value ({any} matches any string) and
    an answer, as readable lines."""
    out = [] if out is None else out
    if want == ANY:
        if not isinstance(got, str):
            out.append("%s: want any string, got %s" % (where or "answer", json.dumps(got)))
    elif isinstance(want, dict):
        if not isinstance(got, dict):
            out.append("%s: want an object, got %s" % (where or "answer", json.dumps(got)))
            return out
        for k in sorted(set(want) | set(got)):
            sub = "%s.%s" % (where, k) if where else k
            if k not in got:
                out.append("%s: missing (want %s)" % (sub, json.dumps(want[k], ensure_ascii=False)))
            elif k not in want:
                out.append("%s: unexpected %s" % (sub, json.dumps(got[k], ensure_ascii=False)))
            else:
                compare(want[k], got[k], sub, out)
    elif isinstance(want, list):
        if not isinstance(got, list):
            out.append("%s: want an array, got %s" % (where, json.dumps(got)))
        elif len(want) != len(got):
            out.append("%s: want %d items, got %d" % (where, len(want), len(got)))
            for i, (w, g) in enumerate(zip(want, got)):
                compare(w, g, "%s[%d]" % (where, i), out)
        else:
            for i, (w, g) in enumerate(zip(want, got)):
                compare(w, g, "%s[%d]" % (where, i), out)
    elif isinstance(want, (int, float)) and not isinstance(want, bool):
        if isinstance(got, bool) or not isinstance(got, (int, float)) or got != want:
            out.append("%s: want %s, got %s" % (where, json.dumps(want), json.dumps(got)))
    elif want != got:
        out.append("%s: want %s, got %s" % (where, json.dumps(want, ensure_ascii=False),
                                            json.dumps(got, ensure_ascii=False)))
    return out


def dig(value, path):
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


class Runner:
    def __init__(self, srv):
        self.srv = srv
        self.health = Http(srv.port)
        self.known_seq = 0
        status, _, wsdl_text = self.health.request("GET", "/soap?wsdl")
        assert status == 200, status
        self.wsdl = Wsdl(wsdl_text)
        status, _, doc = self.health.request("GET", "/v1/openapi.json")
        assert status == 200, status
        self.ops = openapi_ops(json.loads(doc))
        self.rest = Rest(srv.port, self.ops, self.wsdl)
        self.protocols = {"soap11": Soap(srv.port, 1, self.wsdl),
                          "soap12": Soap(srv.port, 2, self.wsdl),
                          "rest": self.rest, "ws": Ws(srv.port, self.wsdl)}

    def close(self):
        for p in self.protocols.values():
            p.close()
        self.health.close()

    def head_seq(self):
        """The newest seq before a case: the head /healthz reports, or the
        newest seq an answer gave this run when that is newer. Behind a
        load balancer /healthz comes from any node, and a node's head
        (what its subscribers have had) may trail, by a notification's
        delay, a write another node acknowledged a moment ago."""
        status, _, raw = self.health.request("GET", "/healthz")
        assert status == 200, (status, raw)
        return max(json.loads(raw)["seq"], self.known_seq)

    def saw(self, got):
        """Notes the newest seq an answer acknowledged (RecordObservations)."""
        result = got.get("result") if isinstance(got, dict) else None
        if isinstance(result, dict) and isinstance(result.get("lastSeq"), int):
            self.known_seq = max(self.known_seq, result["lastSeq"])

    def check_expressible(self, case):
        """Raises Malformed unless the request (and every setup call) can be
        sent over every protocol. Placeholders are filled with stand-ins."""
        ctx = {"p": "c000x-", "P": "C000X-", "seq": 1}
        for step in case.setup:
            for name in step.get("save", {}):
                ctx[name] = "saved"
        for step in case.setup:
            if step["op"] not in self.ops:
                raise Malformed("%s: setup op %s is not an operation" % (case.label, step["op"]))
            self.rest.build(step["op"], substitute(step.get("params", {}), ctx))
        req = substitute(case.request, ctx)
        try:
            self.protocols["soap11"].build(case.op, req)
            self.rest.build(case.op, req)
        except Malformed as e:
            raise Malformed("%s: %s" % (case.label, e)) from None

    def run(self, case, index, protocol):
        """Runs a case over one protocol; returns (answer, differences)."""
        prefix = prefix_of(index, protocol)
        ctx = {"p": prefix, "P": prefix.upper(), "seq": self.head_seq()}
        for i, step in enumerate(case.setup):
            try:
                got = self.rest.call(step.get("key", "admin"), step["op"],
                                     substitute(step.get("params", {}), ctx))
            except (Violation, OSError, http.client.HTTPException, ValueError) as e:
                return {"violation": str(e)}, ["setup.json[%d] %s: %s" % (i, step["op"], e)]
            self.saw(got)
            if "error" in step:
                if got.get("error", {}).get("code") != step["error"]:
                    return got, ["setup.json[%d] %s: want error %s, got %s" % (
                        i, step["op"], step["error"], show(got))]
                continue
            if "error" in got:
                return got, ["setup.json[%d] %s failed: %s" % (i, step["op"], show(got))]
            for name, path in step.get("save", {}).items():
                try:
                    ctx[name] = dig(got["result"], path)
                except (KeyError, IndexError, ValueError, TypeError):
                    return got, ["setup.json[%d] %s: no %s in %s" % (
                        i, step["op"], path, json.dumps(got["result"]))]
        request = substitute(case.request, ctx)
        want = substitute(case.expect, ctx)
        try:
            got = self.protocols[protocol].call(case.key, case.op, request)
        except Violation as e:
            return {"violation": str(e)}, ["protocol violation: %s" % e]
        except (OSError, http.client.HTTPException, ET.ParseError, ValueError,
                asyncio.TimeoutError, websockets.exceptions.WebSocketException) as e:
            return {"violation": repr(e)}, ["no usable answer: %r" % e]
        self.saw(got)
        if got.pop("streamed", False) and "result" in want:
            # A streamed list is its items alone (no nextCursor, no lastSeq
            # or headSeq): only the list is compared.
            want = {"result": {k: v for k, v in want["result"].items() if isinstance(v, list)}}
        if "error" in want and "message" not in want["error"] and "error" in got:
            want = {"error": dict(want["error"], message=got["error"]["message"])}
        return got, compare(want, got)


def prefix_of(index, protocol):
    return "c%s%s-" % (base36(index), PROTOCOL_TAG[protocol])


def unprefix(text, index, protocol):
    """A message with the run's prefix written as the placeholders again,
    so messages of different runs compare."""
    p = prefix_of(index, protocol)
    return text.replace(p, "{p}").replace(p.upper(), "{P}")


def base36(n):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    s = ""
    for _ in range(3):
        n, r = divmod(n, 36)
        s = digits[r] + s
    return s


def show(value):
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binary", nargs="?")
    ap.add_argument("--port", type=int, help="use the server already listening on this port")
    ap.add_argument("--only", action="append", default=[],
                    help="run only cases whose Operation/case label contains this")
    ap.add_argument("--verbose", action="store_true", help="print every answer")
    args = ap.parse_args()
    started = time.monotonic()

    cases, problems = load_cases(HERE, args.only)
    server_args = []
    for name, secret, role in KEYS.values():
        server_args += ["--api-key", "%s:%s:%s" % (name, secret, role)]
    results = {}  # (op, protocol) -> [passed, total]
    failures = 0
    if args.port:
        server = contextlib.nullcontext(types.SimpleNamespace(port=args.port))
    else:
        server = NimbusServer(args.binary, args=server_args + ["--quiet"], workers=2)
    with server as srv:
        runner = Runner(srv)
        try:
            served = sorted(runner.ops)
            if not args.only:
                have = {c.op for c in cases} | {p.split("/")[0] for p in problems}
                for op in served:
                    if op not in have:
                        problems.append("%s: an operation of the OpenAPI document has no case "
                                        "directory" % op)
            runnable = []
            for c in cases:
                try:
                    if c.op not in runner.ops:
                        raise Malformed("%s: %s is not an operation of the OpenAPI document"
                                        % (c.label, c.op))
                    runner.check_expressible(c)
                    runnable.append(c)
                except Malformed as e:
                    problems.append(str(e))
            for index, case in enumerate(runnable):
                answers = {}
                for protocol in PROTOCOLS:
                    answers[protocol] = runner.run(case, index, protocol)
                # Without an expected message, the protocols must still
                # agree with each other (SOAP aside where gSOAP words the
                # error itself, see meta.json soapMessage).
                if "error" in case.expect and "message" not in case.expect["error"]:
                    exempt = ("soap11", "soap12") if "soapMessage" in case.meta else ()
                    texts = {p: unprefix(a[0]["error"]["message"], index, p)
                             for p, a in answers.items() if "error" in a[0] and p not in exempt}
                    ref = texts.get("rest")
                    for p, text in texts.items():
                        if text != ref:
                            answers[p][1].append("message %r differs from REST's %r" % (text, ref))
                for protocol in PROTOCOLS:
                    got, diffs = answers[protocol]
                    cell = results.setdefault((case.op, protocol), [0, 0])
                    cell[1] += 1
                    if diffs:
                        failures += 1
                        print("FAIL %-6s %s" % (protocol, case.label))
                        for d in diffs:
                            print("       " + d)
                        print("       got: " + show(got))
                    else:
                        cell[0] += 1
                        print("PASS %-6s %s" % (protocol, case.label))
                        if args.verbose:
                            print("       got: " + show(got))
        finally:
            runner.close()

    for p in problems:
        print("MALFORMED " + p)
    ops = sorted({op for op, _ in results})
    print()
    print("%-20s" % "operation" + "".join("%10s" % p for p in PROTOCOLS))
    totals = {p: [0, 0] for p in PROTOCOLS}
    for op in ops:
        row = "%-20s" % op
        for p in PROTOCOLS:
            passed, total = results.get((op, p), [0, 0])
            totals[p][0] += passed
            totals[p][1] += total
            row += "%10s" % ("%d/%d" % (passed, total))
        print(row)
    print("%-20s" % "all" + "".join("%10s" % ("%d/%d" % tuple(totals[p])) for p in PROTOCOLS))
    n_cases = totals["rest"][1]
    print("%d cases over %d protocols: %d failures, %d malformed or missing; %.1f s"
          % (n_cases, len(PROTOCOLS), failures, len(problems), time.monotonic() - started))
    return 1 if failures or problems or not n_cases else 0


if __name__ == "__main__":
    sys.exit(main())
