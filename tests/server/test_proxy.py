# SPDX-License-Identifier: GPL-3.0-or-later
"""Behind a proxy (server/http/forwarded.c), with a real nginx in front.

The test starts nginx itself, on loopback ports, from a temporary prefix
and configuration, terminating TLS with a throwaway certificate made here by
the openssl command (as root its workers run as nobody; otherwise nginx runs
as the user running the test). nginx reaches Nimbus from 127.0.0.2
(proxy_bind), the only --trusted-proxy; clients talk to nginx from 127.0.0.3
and 127.0.0.4, and straight to Nimbus from 127.0.0.1, which is not trusted.

Two nginx servers: one sets X-Forwarded-For/-Proto/-Host (and clears
Forwarded, as docs/operations.md's example does), the other sets only
Forwarded (RFC 7239) and hands Nimbus a Host of its own.

Checked: zeep through nginx over https gets an https:// soap:address and
calls through it; REST's Location and OpenAPI's servers are https through
the proxy; the WebSocket upgrade through nginx (call, subscribe, a live
observation) with a browser's Origin; the access log names the client, not
nginx; rate limits and connection limits apply per client behind the proxy;
what a client sends in forwarding headers through nginx is overwritten; the
same headers sent straight by an untrusted peer are ignored; a Host not fit
to reflect is not reflected, and --public-url pins the address whatever the
request says."""

import asyncio
import datetime
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

import requests
import websockets
import zeep
from zeep.transports import Transport

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from nimbus_harness import NimbusServer  # noqa: E402

BINARY = sys.argv.pop(1)
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PROXY_ADDR = "127.0.0.2"  # nginx's side towards Nimbus: the trusted proxy
CLIENT = "127.0.0.3"  # a client of nginx
OTHER_CLIENT = "127.0.0.4"


def make_cert(directory):
    cert = os.path.join(directory, "proxy.pem")
    key = os.path.join(directory, "proxy.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONFIG = """\
# nginx for tests/server/test_proxy.py: two TLS servers in front of one Nimbus.
{user}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;

    # A WebSocket upgrade passes Upgrade and Connection on; other requests
    # send no Connection header, so upstream connections are kept alive.
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      '';
    }}
    upstream nimbus {{
        server 127.0.0.1:{upstream};
        keepalive 8;
    }}

    # X-Forwarded-* (docs/operations.md's example).
    server {{
        listen 127.0.0.1:{port_x} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            proxy_pass http://nimbus;
            proxy_bind {proxy_addr};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header Forwarded "";
            proxy_read_timeout 1h;
        }}
    }}

    # Forwarded (RFC 7239) alone; Nimbus gets the upstream's own Host.
    server {{
        listen 127.0.0.1:{port_f} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            proxy_pass http://nimbus;
            proxy_bind {proxy_addr};
            proxy_http_version 1.1;
            proxy_set_header Host 127.0.0.1:{upstream};
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Forwarded "for=\\"$remote_addr\\";proto=$scheme;host=\\"$http_host\\"";
            proxy_set_header X-Forwarded-For "";
            proxy_set_header X-Forwarded-Proto "";
            proxy_set_header X-Forwarded-Host "";
        }}
    }}
}}
"""


class Nginx:
    """nginx in the foreground from a temporary prefix, in front of upstream."""

    def __init__(self, upstream, cert, key):
        self.prefix = tempfile.mkdtemp(prefix="nimbus-nginx-")
        # Its workers (nobody, when we are root) read their temp folders here.
        os.chmod(self.prefix, 0o755)
        self.upstream, self.cert, self.key = upstream, cert, key
        self.proc = None

    def start(self):
        for _ in range(5):  # a port taken between free_port() and nginx: again
            self.port_x, self.port_f = free_port(), free_port()
            conf = os.path.join(self.prefix, "nginx.conf")
            with open(conf, "w") as f:
                f.write(CONFIG.format(
                    user="user nobody nogroup;" if os.geteuid() == 0 else "",
                    prefix=self.prefix, upstream=self.upstream, port_x=self.port_x,
                    port_f=self.port_f, cert=self.cert, key=self.key, proxy_addr=PROXY_ADDR))
            self.proc = subprocess.Popen([NGINX, "-p", self.prefix, "-c", conf,
                                          "-e", os.path.join(self.prefix, "error.log")],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port_x), 0.5).close()
                    socket.create_connection(("127.0.0.1", self.port_f), 0.5).close()
                    return self
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise AssertionError("nginx did not start:\n" + self.error_log())

    def error_log(self):
        try:
            with open(os.path.join(self.prefix, "error.log"), errors="replace") as f:
                return f.read()[-5000:]
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: the master waits for its workers
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        shutil.rmtree(self.prefix, ignore_errors=True)


class Stack:
    """Nimbus (trusting 127.0.0.2) with nginx in front."""

    def __init__(self, cert, key, args=()):
        self.cert, self.key = cert, key
        self.nimbus = NimbusServer(BINARY, args=["--trusted-proxy", PROXY_ADDR] + list(args))
        self.nginx = None

    def __enter__(self):
        self.nimbus.start()
        try:
            self.nginx = Nginx(self.nimbus.port, self.cert, self.key).start()
        except Exception:
            self.nimbus.kill9()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.nginx:
            self.nginx.stop()
            if exc_type is not None:
                print("---- nginx error log ----\n" + self.nginx.error_log())
            self.nginx.cleanup()
        return self.nimbus.__exit__(exc_type, exc, tb)

    def url(self, forwarded=False):
        return "https://127.0.0.1:%d" % (self.nginx.port_f if forwarded else self.nginx.port_x)

    def context(self):
        return ssl.create_default_context(cafile=self.cert)

    def https(self, method, path, body=None, headers=None, source=CLIENT, forwarded=False):
        """One request through nginx from source; (status, headers, body)."""
        port = self.nginx.port_f if forwarded else self.nginx.port_x
        c = http.client.HTTPSConnection("127.0.0.1", port, context=self.context(), timeout=10,
                                        source_address=(source, 0))
        try:
            h = dict(headers or {})
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                h.setdefault("Content-Type", "application/json")
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def direct(self, method, path, body=None, headers=None):
        """One request straight to Nimbus from 127.0.0.1 (not trusted)."""
        c = http.client.HTTPConnection("127.0.0.1", self.nimbus.port, timeout=10)
        try:
            h = dict(headers or {})
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                h.setdefault("Content-Type", "application/json")
            c.putrequest(method, path, skip_host="Host" in h)
            if data is not None:
                h["Content-Length"] = str(len(data))
            for k, v in h.items():
                c.putheader(k, v)
            c.endheaders(data)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()


def station(sid):
    return {"id": sid, "name": "Proxy " + sid, "city": "Berlin", "country": "DE",
            "latitude": 52.5, "longitude": 13.4}


def soap_address(wsdl):
    start = wsdl.index('location="') + len('location="')
    return wsdl[start:wsdl.index('"', start)]


def access_lines(srv, marker):
    """Access-log lines of the server that mention marker (a unique path)."""
    return [line for line in srv.log_text().splitlines() if marker in line]


SPOOF = {
    "Forwarded": 'for=198.51.100.66;proto=https;host="evil.example"',
    "X-Forwarded-For": "198.51.100.66",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "evil.example",
}


class BehindNginx(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="nimbus-proxy-")
        cls.cert, cls.key = make_cert(cls.dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def stack(self, *args):
        return Stack(self.cert, self.key, args)

    def test_soap_rest_and_websocket_through_nginx(self):
        with self.stack() as st:
            base = st.url()
            # REST: Location is where the client can follow it, over https.
            status, headers, _ = st.https("POST", "/v1/stations", station("px-1"))
            self.assertEqual(status, 201)
            self.assertEqual(headers["location"], base + "/v1/stations/px-1")
            session = requests.Session()
            session.verify = self.cert
            session.trust_env = False
            r = session.get(headers["location"])
            self.assertEqual((r.status_code, r.json()["name"]), (200, "Proxy px-1"))
            status, headers, body = st.https("GET", "/v1/openapi.json")
            self.assertEqual(json.loads(body)["servers"], [{"url": base}])
            self.assertIn("X-Forwarded-Host", headers.get("vary", ""))

            # SOAP: zeep reads the WSDL through nginx, gets an https address
            # and calls through it.
            wsdl = session.get(base + "/soap?wsdl").text
            self.assertEqual(soap_address(wsdl), base + "/soap")
            client = zeep.Client(base + "/soap?wsdl", transport=Transport(session=session))
            for binding in client.wsdl.services["NimbusService"].ports.values():
                self.assertEqual(binding.binding_options["address"], base + "/soap")
            got = client.service.GetStation(id="px-1")
            self.assertEqual(got.name, "Proxy px-1")

            # The WebSocket upgrade through nginx, from a page of the
            # proxy's origin: a call, a subscription, a live observation.
            async def stream():
                async with websockets.connect(
                        "wss://127.0.0.1:%d/v1/stream" % st.nginx.port_x, ssl=st.context(),
                        origin=base, ping_interval=None) as ws:
                    async def ask(msg):
                        await ws.send(json.dumps(msg))
                        return json.loads(await asyncio.wait_for(ws.recv(), 10))
                    answer = await ask({"type": "call", "id": "1", "op": "GetStation",
                                        "params": {"id": "px-1"}})
                    self.assertEqual(answer["result"]["station"]["name"], "Proxy px-1")
                    subscribed = await ask({"type": "subscribe", "id": "s",
                                            "stations": ["px-1"]})
                    self.assertEqual(subscribed["type"], "subscribed")
                    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
                    obs = {"observations": [{"observedAt": now.isoformat().replace("+00:00", "Z"),
                                             "temperature": 21.5}]}
                    status, _, _ = await asyncio.to_thread(
                        st.https, "POST", "/v1/stations/px-1/observations", obs)
                    self.assertEqual(status, 200)
                    event = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    self.assertEqual(event["type"], "observation")
                    self.assertEqual(event["observation"]["temperature"], 21.5)
            asyncio.run(stream())

            # A page of another origin is still refused through the proxy.
            async def foreign():
                with self.assertRaises(websockets.exceptions.InvalidStatusCode) as refused:
                    await websockets.connect("wss://127.0.0.1:%d/v1/stream" % st.nginx.port_x,
                                             ssl=st.context(), origin="https://evil.example")
                self.assertEqual(refused.exception.status_code, 403)
            asyncio.run(foreign())

    def test_forwarded_header_through_nginx(self):
        """nginx's second server speaks RFC 7239 only, and passes Nimbus its
        own upstream Host: every fact comes from Forwarded."""
        with self.stack() as st:
            base = st.url(forwarded=True)
            status, headers, _ = st.https("POST", "/v1/stations", station("pf-1"), forwarded=True)
            self.assertEqual(status, 201)
            self.assertEqual(headers["location"], base + "/v1/stations/pf-1")
            status, _, body = st.https("GET", "/soap?wsdl", forwarded=True)
            self.assertEqual(soap_address(body.decode()), base + "/soap")
            st.https("GET", "/v1/stations/pf-1?log-marker", source=OTHER_CLIENT, forwarded=True)
            time.sleep(0.2)
            lines = access_lines(st.nimbus, "/v1/stations/pf-1")
            self.assertTrue(lines)
            self.assertTrue(all(OTHER_CLIENT in line and PROXY_ADDR not in line
                                for line in lines), lines)

    def test_access_log_names_the_client(self):
        with self.stack() as st:
            st.https("GET", "/v1/stations/log-one", source=CLIENT)
            st.https("GET", "/v1/stations/log-two", source=OTHER_CLIENT)
            st.direct("GET", "/v1/stations/log-three", headers=SPOOF)
            time.sleep(0.2)
            for marker, who in (("log-one", CLIENT), ("log-two", OTHER_CLIENT),
                                ("log-three", "127.0.0.1")):
                lines = access_lines(st.nimbus, "/v1/stations/" + marker)
                self.assertEqual(len(lines), 1, marker)
                self.assertIn(who, lines[0])
                self.assertNotIn(PROXY_ADDR, lines[0])
                self.assertNotIn("198.51.100.66", lines[0])

    def test_client_headers_through_nginx_are_overwritten(self):
        """What a client sends in forwarding headers does not survive nginx:
        the configuration sets (or clears) every one."""
        with self.stack() as st:
            base = st.url()
            status, _, body = st.https("GET", "/soap?wsdl", headers=SPOOF)
            self.assertEqual(soap_address(body.decode()), base + "/soap")
            status, headers, _ = st.https("POST", "/v1/stations", station("px-2"), headers=SPOOF)
            self.assertEqual(headers["location"], base + "/v1/stations/px-2")

    def test_untrusted_peer_is_not_believed(self):
        """The same headers straight from 127.0.0.1, which is no trusted
        proxy: ignored; and a Host not fit to reflect falls back to the
        listening address."""
        with self.stack() as st:
            own = "http://127.0.0.1:%d" % st.nimbus.port
            status, _, body = st.direct("GET", "/soap?wsdl", headers=SPOOF)
            self.assertEqual(status, 200)
            self.assertEqual(soap_address(body.decode()), own + "/soap")
            status, headers, _ = st.direct("POST", "/v1/stations", station("pd-1"), headers=SPOOF)
            self.assertEqual((status, headers["location"]), (201, own + "/v1/stations/pd-1"))
            status, _, body = st.direct("GET", "/v1/openapi.json", headers=SPOOF)
            self.assertEqual(json.loads(body)["servers"], [{"url": own}])
            # Any well-formed Host is the client's own business...
            _, _, body = st.direct("GET", "/soap?wsdl", headers={"Host": "name.example:81"})
            self.assertEqual(soap_address(body.decode()), "http://name.example:81/soap")
            # ...but nothing that is not a host name gets into the document.
            for host in ('evil.example"><x', "evil.example/path", "a b", "user@evil.example",
                         "evil.example:99999", "[::1"):
                _, _, body = st.direct("GET", "/soap?wsdl", headers={"Host": host})
                self.assertEqual(soap_address(body.decode()), own + "/soap", host)
            # Malformed forwarding headers from the trusted proxy itself
            # (here: a client's, passed on by nginx's X-Forwarded-For
            # append) cannot break anything either.
            status, _, body = st.https("GET", "/soap?wsdl",
                                       headers={"X-Forwarded-For": '"[::1, junk\x7f, ;;'})
            self.assertEqual(status, 200)
            self.assertEqual(soap_address(body.decode()), st.url() + "/soap")

    def test_public_url_pins_the_address(self):
        with self.stack("--public-url", "https://api.example.com/nimbus/") as st:
            pinned = "https://api.example.com/nimbus"
            for status, headers, body in (st.direct("GET", "/soap?wsdl",
                                                    headers={"Host": "evil.example"}),
                                          st.https("GET", "/soap?wsdl")):
                self.assertEqual(soap_address(body.decode()), pinned + "/soap")
            status, headers, _ = st.https("POST", "/v1/stations", station("pp-1"))
            self.assertEqual(headers["location"], pinned + "/v1/stations/pp-1")
            status, headers, body = st.direct("GET", "/v1/openapi.json",
                                              headers={"Host": "evil.example"})
            self.assertEqual(json.loads(body)["servers"], [{"url": pinned}])
            self.assertNotIn("vary", headers)

    def test_rate_limit_per_client_behind_the_proxy(self):
        """On a server without keys the rate limit is per client address:
        behind nginx, per client of nginx, not one bucket for the proxy;
        and a peer that is not trusted cannot spend another's."""
        with self.stack("--rate", "0.05", "--burst", "2") as st:
            def status(source):
                return st.https("GET", "/v1/stations", source=source)[0]
            self.assertEqual([status(CLIENT) for _ in range(3)], [200, 200, 429])
            self.assertEqual(status(OTHER_CLIENT), 200)
            spoof = {"X-Forwarded-For": OTHER_CLIENT, "Forwarded": "for=" + OTHER_CLIENT}
            self.assertEqual([st.direct("GET", "/v1/stations", headers=spoof)[0]
                              for _ in range(3)], [200, 200, 429])
            self.assertEqual(status(OTHER_CLIENT), 200)  # its second call: still its own
            # SOAP takes from the same bucket.
            envelope = ('<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/'
                        'soap/envelope/"><s:Body><ListStations xmlns="urn:nimbus:weather:v1"/>'
                        '</s:Body></s:Envelope>')
            c = http.client.HTTPSConnection("127.0.0.1", st.nginx.port_x, context=st.context(),
                                            timeout=10, source_address=(CLIENT, 0))
            c.request("POST", "/soap", body=envelope, headers={"Content-Type": "text/xml"})
            r = c.getresponse()
            body = r.read().decode()
            c.close()
            self.assertIn("RESOURCE_EXHAUSTED", body)
            self.assertIsNotNone(r.getheader("Retry-After"))

    def test_connection_limit_and_the_proxy(self):
        """--max-connections-per-client counts connections when they are
        accepted, before any header says whom they carry: a trusted proxy's
        are bound by --max-connections alone, anyone else's by both."""
        with self.stack("--max-connections-per-client", "2") as st:
            async def hold(url, ssl_ctx, n):
                sockets = []
                try:
                    for i in range(n):
                        ws = await websockets.connect(url, ssl=ssl_ctx, ping_interval=None,
                                                      open_timeout=5)
                        sockets.append(ws)
                        await ws.send(json.dumps({"type": "call", "id": str(i),
                                                  "op": "ListStations", "params": {}}))
                        while json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] != "done":
                            pass
                    return len(sockets), None
                except Exception as e:  # the one refused
                    return len(sockets), e
                finally:
                    for ws in sockets:
                        await ws.close()
            through = asyncio.run(hold("wss://127.0.0.1:%d/v1/stream" % st.nginx.port_x,
                                       st.context(), 5))
            self.assertEqual(through, (5, None))
            opened, refused = asyncio.run(hold("ws://127.0.0.1:%d/v1/stream" % st.nimbus.port,
                                               None, 3))
            self.assertEqual(opened, 2)
            self.assertIsNotNone(refused)


class Options(unittest.TestCase):
    def test_bad_values_refuse_to_start(self):
        for args, says in ((["--trusted-proxy", "10.0.0.1/8"], "is not a network"),
                           (["--trusted-proxy", "proxy.example"], "is not a network"),
                           (["--trusted-proxy", ""], "needs a network"),
                           (["--public-url", "api.example.com"], "http:// or https://"),
                           (["--public-url", "https://api.example.com/?x=<y>"], "path"),
                           (["--public-url", "https://u@api.example.com"], "host")):
            r = subprocess.run([BINARY] + args, capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(args[0] + ": ", r.stderr)
            self.assertIn(says, r.stderr)
        r = subprocess.run([BINARY, "--help"], capture_output=True, text=True, timeout=20)
        self.assertIn("--trusted-proxy CIDR", r.stdout)
        self.assertIn("--public-url URL", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
