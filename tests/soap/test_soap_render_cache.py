#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""soap_render_cache: SOAP answers served from the worker's render cache are
byte for byte the answers the server renders when it keeps nothing.

Two servers start from copies of one seeded database (so they hold the same
data and the same cursor key): one with the default --render-cache, one with
--render-cache 0. The same requests go to both, in the same order, each sent
twice in a row so the second can come from the cache: every read of the
WSDL over SOAP 1.1 and 1.2, with the variants that parse to the same request
but make gSOAP echo other namespace URIs (an Envelope of the other version
than the Content-Type, xsi and xsd of 1999, SOAP-ENC of the other version),
other prefixes, comments and whitespace, a compressed body, ids that take
gSOAP's own id resolution, bodies the host starts itself or leaves to
gSOAP's soap_begin_recv, every way of presenting credentials, wrong ones,
Faults (NOT_FOUND, INVALID_ARGUMENT), and writes in between whose effects
the following reads must show. Status, headers (but Date) and body must be
identical. Finally a station renamed in both databases behind the servers'
backs shows that the cache was really answering: the caching server still
sends the kept envelope, the other reads the new name.

Usage: test_soap_render_cache.py NIMBUS_BINARY
"""
import gzip
import http.client
import os
import re
import shutil
import sqlite3
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nimbus_harness import NimbusServer  # noqa: E402

NS = "urn:nimbus:weather:v1"
ENV = {1: "http://schemas.xmlsoap.org/soap/envelope/",
       2: "http://www.w3.org/2003/05/soap-envelope"}
ENC = {1: "http://schemas.xmlsoap.org/soap/encoding/",
       2: "http://www.w3.org/2003/05/soap-encoding"}
CTYPE = {1: "text/xml; charset=utf-8", 2: "application/soap+xml; charset=utf-8"}
# 40 attributes on a tag (past the kept scratch) needs more than the
# default --soap-max-attributes.
KEYS = ["--api-key", "reader:re4der-secret:read", "--api-key", "writer:wr1ter-secret:write",
        "--api-key", "admin:adm1n-secret:admin", "--soap-max-attributes", "64"]
READER = {"Authorization": "Bearer re4der-secret"}
WRITER = {"Authorization": "Bearer wr1ter-secret"}
ADMIN = {"Authorization": "Bearer adm1n-secret"}
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = ("http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-"
                 "profile-1.0#PasswordText")


def envelope(version, body, header="", attrs="", prefix="s", prolog=True):
    return (('<?xml version="1.0" encoding="UTF-8"?>' if prolog else "")
            + '<%s:Envelope xmlns:%s="%s" xmlns:n="%s"%s>%s<%s:Body>%s</%s:Body></%s:Envelope>'
            % (prefix, prefix, ENV[version], NS, attrs, header, prefix, body, prefix,
               prefix)).encode()


def username_token(name, secret):
    return ('<s:Header><w:Security xmlns:w="%s"><w:UsernameToken><w:Username>%s</w:Username>'
            '<w:Password Type="%s">%s</w:Password></w:UsernameToken></w:Security></s:Header>'
            % (WSSE, name, PASSWORD_TEXT, secret))


def station(sid, name, city, country):
    return ("<n:station><n:id>%s</n:id><n:name>%s</n:name><n:city>%s</n:city>"
            "<n:country>%s</n:country><n:latitude>52.52</n:latitude>"
            "<n:longitude>13.405</n:longitude></n:station>" % (sid, name, city, country))


def observation(at, temperature):
    return ("<n:observation><n:observedAt>%s</n:observedAt><n:temperature>%s</n:temperature>"
            "<n:humidity>61</n:humidity></n:observation>" % (at, temperature))


def post(conn, body, version=1, headers=None, request_id=None):
    """One POST /soap; (status, headers but Date, body)."""
    h = {"Content-Type": CTYPE[version]}
    h.update(READER if headers is None else headers)
    if request_id:
        h["X-Request-Id"] = request_id
    conn.request("POST", "/soap", body=body, headers=h)
    resp = conn.getresponse()
    data = resp.read()
    kept = sorted((k.lower(), v) for k, v in resp.getheaders() if k.lower() != "date")
    return resp.status, kept, data


class Pair:
    """The caching and the non-caching server, one keep-alive connection
    each; every request goes to both and their answers must be equal."""

    def __init__(self, cached, uncached):
        self.conns = [http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
                      for s in (cached, uncached)]
        self.requests = 0

    def both(self, label, body, version=1, headers=None, repeat=2):
        """Sends the request `repeat` times to both; returns the last answer."""
        for i in range(repeat):
            # One id for both: an answer served from the cache carries the
            # request's own id, never the one it was rendered for.
            rid = "pair-%d" % self.requests
            got = [post(c, body, version, headers, rid) for c in self.conns]
            self.requests += 1
            if dict(got[0][1]).get("x-request-id") != rid:
                raise AssertionError("%s: X-Request-Id %r, sent %r"
                                     % (label, dict(got[0][1]).get("x-request-id"), rid))
            if got[0] != got[1]:
                raise AssertionError(
                    "%s (send %d): the caching server answered differently\ncached:   %r\n"
                    "uncached: %r" % (label, i + 1, got[0], got[1]))
        return got[1]

    def ok(self, label, body, version=1, headers=None, repeat=2):
        status, _, data = self.both(label, body, version, headers, repeat)
        assert status == 200, (label, status, data[:600])
        return data

    def fault(self, label, body, version=1, headers=None):
        status, _, data = self.both(label, body, version, headers)
        assert status in (400, 401, 403, 404, 500), (label, status, data[:600])
        assert b"Fault" in data, (label, data[:600])
        return data

    def close(self):
        for c in self.conns:
            c.close()


def seed(srv):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    for sid, name, city, country in (("b1", "Mitte", "Berlin", "DE"),
                                     ("b2", "Tegel", "Berlin", "DE"),
                                     ("p1", "Montsouris", "Paris", "FR"),
                                     ("h1", "Fuhlsbuettel", "Hamburg", "DE")):
        status, _, data = post(conn, envelope(1, "<n:CreateStation>%s</n:CreateStation>"
                                              % station(sid, name, city, country)),
                               headers=WRITER)
        assert status == 200, data
    obs = "".join(observation("2024-05-01T%02d:00:00Z" % h, 10 + h * 0.25) for h in range(12))
    for sid in ("b1", "b2", "p1"):
        status, _, data = post(conn, envelope(1, "<n:RecordObservations><n:stationId>%s"
                                              "</n:stationId>%s</n:RecordObservations>"
                                              % (sid, obs)), headers=WRITER)
        assert status == 200, data
    conn.close()


def reads(p, round_name):
    """Every read, in its variants; answers must match between the servers."""
    gw = "<n:GetWeather><n:stationId>b1</n:stationId></n:GetWeather>"
    for v in (1, 2):
        tag = "%s v%d" % (round_name, v)
        p.ok(tag + " GetWeather", envelope(v, gw), v)
        p.ok(tag + " GetStation", envelope(v, "<n:GetStation><n:id>b2</n:id></n:GetStation>"), v)
        p.ok(tag + " ListStations", envelope(v, "<n:ListStations/>"), v)
        p.ok(tag + " ListStations nil", envelope(
            v, '<n:ListStations xsi:nil="true" xmlns:xsi='
               '"http://www.w3.org/2001/XMLSchema-instance"/>'), v)
        p.ok(tag + " ListStations Berlin", envelope(
            v, "<n:ListStations><n:city>Berlin</n:city><n:country>DE</n:country>"
               "</n:ListStations>"), v)
        first = p.ok(tag + " ListStations limit", envelope(
            v, "<n:ListStations><n:limit>1</n:limit></n:ListStations>"), v)
        cursor = re.search(rb"<nimbus:nextCursor>([^<]+)<", first).group(1).decode()
        p.ok(tag + " ListStations cursor", envelope(
            v, "<n:ListStations><n:limit>2</n:limit><n:cursor>%s</n:cursor></n:ListStations>"
               % cursor), v)
        p.ok(tag + " GetObservations", envelope(
            v, "<n:GetObservations><n:stationId>b1</n:stationId></n:GetObservations>"), v)
        # The same instant written two ways: one request to the core.
        for at in ("2024-05-01T05:00:00Z", "2024-05-01T07:00:00+02:00"):
            page = p.ok(tag + " GetObservations from " + at, envelope(
                v, "<n:GetObservations><n:stationId>b1</n:stationId><n:from>%s</n:from>"
                   "<n:to>2024-05-01T10:00:00Z</n:to><n:limit>2</n:limit></n:GetObservations>"
                   % at), v)
        cursor = re.search(rb"<nimbus:nextCursor>([^<]+)<", page).group(1).decode()
        p.ok(tag + " GetObservations cursor", envelope(
            v, "<n:GetObservations><n:stationId>b1</n:stationId><n:from>%s</n:from>"
               "<n:to>2024-05-01T10:00:00Z</n:to><n:limit>2</n:limit><n:cursor>%s</n:cursor>"
               "</n:GetObservations>" % (at, cursor)), v)
        p.ok(tag + " GetCityWeather", envelope(
            v, "<n:GetCityWeather><n:city>Berlin</n:city></n:GetCityWeather>"), v)
        p.ok(tag + " GetCityWeather DE", envelope(
            v, "<n:GetCityWeather><n:city>berlin</n:city><n:country>DE</n:country>"
               "</n:GetCityWeather>"), v)
        # What gSOAP echoes in the answer's Envelope besides the table.
        other = 3 - v
        p.ok(tag + " Envelope of the other version", envelope(other, gw), v)
        p.ok(tag + " xsi and xsd of 1999", envelope(
            v, gw, attrs=' xmlns:xsi="http://www.w3.org/1999/XMLSchema-instance"'
                         ' xmlns:xsd="http://www.w3.org/1999/XMLSchema"'), v)
        p.ok(tag + " SOAP-ENC of the other version", envelope(
            v, gw, attrs=' xmlns:e="%s"' % ENC[other]), v)
        p.ok(tag + " prefixes, comments, whitespace", envelope(
            v, '\n  <!-- a comment -->\n  <w:GetWeather xmlns:w="%s">\n    <w:stationId>b1'
               '</w:stationId>\n  </w:GetWeather>\n' % NS, prefix="soapenv", prolog=False), v)
        p.ok(tag + " ids for gSOAP to resolve", envelope(
            v, '<n:GetWeather e:id="w1" xmlns:e="%s"><n:stationId>b1</n:stationId>'
               '</n:GetWeather>' % ENC[v]), v)
        p.ok(tag + " gzip", gzip.compress(envelope(v, gw)), v,
             dict(READER, **{"Content-Encoding": "gzip"}))
        # Every way of presenting the reader's key, and wrong ones.
        p.ok(tag + " UsernameToken", envelope(v, gw, header=username_token(
            "reader", "re4der-secret")), v, {})
        p.ok(tag + " Basic", envelope(v, gw), v,
             {"Authorization": "Basic cmVhZGVyOnJlNGRlci1zZWNyZXQ="})
        p.fault(tag + " no key", envelope(v, gw), v, {})
        p.fault(tag + " wrong key", envelope(v, gw), v, {"Authorization": "Bearer nope"})
        p.fault(tag + " wrong UsernameToken", envelope(v, gw, header=username_token(
            "reader", "nope")), v, {})
        # Faults, which are never kept.
        p.fault(tag + " NOT_FOUND", envelope(
            v, "<n:GetWeather><n:stationId>zz</n:stationId></n:GetWeather>"), v)
        p.fault(tag + " INVALID_ARGUMENT", envelope(
            v, "<n:GetWeather><n:stationId>bad id!</n:stationId></n:GetWeather>"), v)
        p.fault(tag + " limit 0", envelope(
            v, "<n:ListStations><n:limit>0</n:limit></n:ListStations>"), v)
        p.fault(tag + " bad from", envelope(
            v, "<n:GetObservations><n:stationId>b1</n:stationId><n:from>yesterday</n:from>"
               "</n:GetObservations>"), v)
        p.fault(tag + " GetStation nil", envelope(
            v, '<n:GetStation xsi:nil="true" xmlns:xsi='
               '"http://www.w3.org/2001/XMLSchema-instance"/>'), v)


def same_answers(p, round_name):
    """Bodies that gSOAP reads alike get the same bytes, whichever way the
    host started the message: one starting with '<' takes the host's own
    soap_begin_recv, a leading newline or byte order mark gSOAP's; so does
    a body after one that filled more attribute slots than are kept."""
    plain = envelope(1, "<n:GetStation><n:id>b2</n:id></n:GetStation>")
    want = p.ok(round_name + " plain", plain)
    for label, body in (("newline", b"\n" + plain), ("BOM", b"\xef\xbb\xbf" + plain),
                        ("no prolog", envelope(1, "<n:GetStation><n:id>b2</n:id></n:GetStation>",
                                               prolog=False))):
        got = p.ok(round_name + " " + label, body)
        assert got == want, (label, got, want)
    many = " ".join('a%d="v"' % i for i in range(40))
    p.ok(round_name + " 40 attributes", envelope(
        1, "<n:GetStation %s><n:id>b2</n:id></n:GetStation>" % many))
    assert p.ok(round_name + " plain after many", plain) == want
    p.ok(round_name + " a 20 KB attribute", envelope(
        1, '<n:GetStation x="%s"><n:id>b2</n:id></n:GetStation>' % ("v" * 20000)))
    p.fault(round_name + " malformed", plain[:-20])
    assert p.ok(round_name + " plain again", plain) == want


def writes(p, round_name):
    """Writes (sent once to each server) whose effects the next reads show."""
    w = round_name + " write"
    p.ok(w + " RecordObservations", envelope(
        1, "<n:RecordObservations><n:stationId>b1</n:stationId>%s</n:RecordObservations>"
           % observation("2024-05-01T13:00:00Z", 21.5)), 1, WRITER, repeat=1)
    p.ok(w + " UpdateStation", envelope(
        2, "<n:UpdateStation>%s</n:UpdateStation>" % station("b2", "Tegel Nord", "Berlin", "DE")),
        2, WRITER, repeat=1)
    p.ok(w + " DeleteStation", envelope(
        1, "<n:DeleteStation><n:id>p1</n:id></n:DeleteStation>"), 1, ADMIN, repeat=1)
    p.fault(w + " GetStation deleted", envelope(
        1, "<n:GetStation><n:id>p1</n:id></n:GetStation>"))
    p.ok(w + " CreateStation", envelope(
        1, "<n:CreateStation>%s</n:CreateStation>" % station("p1", "Montsouris", "Paris", "FR")),
        1, WRITER, repeat=1)


def rename_behind_the_back(servers):
    for srv in servers:
        db = sqlite3.connect(srv.db_path, timeout=10)
        db.execute("UPDATE stations SET name = 'Renamed' WHERE id = 'h1'")
        db.commit()
        db.close()


def main(binary):
    seeded = NimbusServer(binary, args=KEYS, workers=1)
    seeded.start()
    seed(seeded)
    seeded.stop()  # a clean stop checkpoints the WAL into the file
    cached = NimbusServer(binary, args=KEYS, workers=1, db_path=seeded.db_path)
    uncached = NimbusServer(binary, args=KEYS + ["--render-cache", "0"], workers=1)
    shutil.copyfile(seeded.db_path, uncached.db_path)
    try:
        with cached, uncached:
            p = Pair(cached, uncached)
            reads(p, "before")
            same_answers(p, "begin")
            writes(p, "first")
            reads(p, "after")
            writes(p, "second")
            reads(p, "again")
            get = envelope(1, "<n:GetStation><n:id>h1</n:id></n:GetStation>")
            p.ok("h1 before the rename", get)
            rename_behind_the_back((cached, uncached))
            kept = [post(c, get) for c in p.conns]
            assert b"Fuhlsbuettel" in kept[0][2], kept[0]
            assert b"Renamed" in kept[1][2], kept[1]
            p.close()
            print("soap_render_cache: %d requests answered alike by both servers; the cache "
                  "answered" % p.requests)
    finally:
        for srv in (seeded, cached, uncached):
            srv.cleanup()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
