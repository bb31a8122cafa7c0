# SPDX-License-Identifier: GPL-3.0-or-later
"""TLS (server/http/tls.c) with real clients: a self-signed certificate made
here with the openssl command, then REST with curl, SOAP with zeep (whose
WSDL must name an https:// address), the WebSocket stream with python
websockets over wss://; TLS 1.1 refused and 1.2 and 1.3 taken; SIGHUP
reading a new certificate without dropping an open connection (and a bad
one keeping the old); plain HTTP on the TLS port not hurting anyone; and a
missing key refused at start."""

import asyncio
import http.client
import json
import os
import signal
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


def make_cert(directory, name, cn="127.0.0.1"):
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=" + cn, "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def fingerprint(port):
    pem = ssl.get_server_certificate(("127.0.0.1", port))
    return ssl.PEM_cert_to_DER_cert(pem)


class Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="nimbus-tls-")
        cls.cert, cls.key = make_cert(cls.dir, "server")

    def server(self, cert=None, key=None):
        return NimbusServer(BINARY, args=["--tls-cert", cert or self.cert,
                                          "--tls-key", key or self.key])

    def context(self, cafile=None):
        return ssl.create_default_context(cafile=cafile or self.cert)

    def test_every_protocol_over_tls(self):
        with self.server() as srv:
            base = "https://127.0.0.1:%d" % srv.port
            station = {"id": "tls-1", "name": "T", "city": "Berlin", "country": "DE",
                       "latitude": 52.5, "longitude": 13.4}
            r = subprocess.run(["curl", "-sS", "--cacert", self.cert, "-X", "POST",
                                "-H", "Content-Type: application/json",
                                "-d", json.dumps(station), "-o", "/dev/null",
                                "-w", "%{http_code}", base + "/v1/stations"],
                               capture_output=True, text=True, check=True)
            self.assertEqual(r.stdout, "201")
            r = subprocess.run(["curl", "-sS", "--cacert", self.cert, base + "/v1/stations/tls-1"],
                               capture_output=True, text=True, check=True)
            self.assertEqual(json.loads(r.stdout)["name"], "T")

            session = requests.Session()
            session.verify = self.cert
            session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
            wsdl = session.get(base + "/soap?wsdl").text
            self.assertIn('location="%s/soap"' % base, wsdl)
            client = zeep.Client(base + "/soap?wsdl", transport=Transport(session=session))
            got = client.service.GetStation(id="tls-1")
            self.assertEqual(got.name, "T")

            async def stream():
                async with websockets.connect("wss://127.0.0.1:%d/v1/stream" % srv.port,
                                              ssl=self.context(), ping_interval=None) as ws:
                    await ws.send(json.dumps({"type": "call", "id": "1", "op": "GetStation",
                                              "params": {"id": "tls-1"}}))
                    return json.loads(await asyncio.wait_for(ws.recv(), 10))
            answer = asyncio.run(stream())
            self.assertEqual(answer["type"], "result")
            self.assertEqual(answer["result"]["station"]["city"], "Berlin")

    def test_protocol_versions(self):
        with self.server() as srv:
            for version, ok in ((ssl.TLSVersion.TLSv1_1, False), (ssl.TLSVersion.TLSv1_2, True),
                                (ssl.TLSVersion.TLSv1_3, True)):
                ctx = self.context()
                ctx.minimum_version = ctx.maximum_version = version
                if version == ssl.TLSVersion.TLSv1_1:
                    ctx.set_ciphers("ALL:@SECLEVEL=0")
                c = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=10)
                try:
                    c.request("GET", "/healthz")
                    status = c.getresponse().status
                except (ssl.SSLError, ConnectionError):
                    status = None
                finally:
                    c.close()
                self.assertEqual(status == 200, ok, version)

    def test_sighup_reloads_without_dropping(self):
        cert, key = make_cert(self.dir, "live")
        with self.server(cert, key) as srv:
            before = fingerprint(srv.port)
            kept = http.client.HTTPSConnection("127.0.0.1", srv.port, context=self.context(cert),
                                               timeout=10)
            kept.request("GET", "/healthz")
            self.assertEqual(kept.getresponse().read()[:1], b"{")
            # A broken file: the old certificate stays.
            with open(key, "w") as f:
                f.write("not a key")
            srv.proc.send_signal(signal.SIGHUP)
            time.sleep(0.5)
            self.assertEqual(fingerprint(srv.port), before)
            self.assertIn("keeping the TLS certificate in use", srv.log_text())
            # A new pair: taken for new connections, the open one goes on.
            new_cert, new_key = make_cert(self.dir, "next")
            os.replace(new_cert, cert)
            os.replace(new_key, key)
            srv.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 5
            while fingerprint(srv.port) == before and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertNotEqual(fingerprint(srv.port), before)
            kept.request("GET", "/healthz")
            self.assertEqual(kept.getresponse().status, 200)
            kept.close()
            self.assertIsNone(srv.proc.poll(), "SIGHUP must not stop the server")

    def test_plain_http_on_the_tls_port(self):
        with self.server() as srv:
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
            try:
                c.request("GET", "/healthz")
                c.getresponse().read()
            except (ConnectionError, http.client.HTTPException, OSError):
                pass
            finally:
                c.close()
            h = http.client.HTTPSConnection("127.0.0.1", srv.port, context=self.context(),
                                            timeout=10)
            h.request("GET", "/healthz")
            self.assertEqual(h.getresponse().status, 200)
            h.close()

    def test_bad_files_refused_at_start(self):
        r = subprocess.run([BINARY, "--listen", "127.0.0.1:0", "--db",
                            os.path.join(self.dir, "x.db"), "--tls-cert", self.cert,
                            "--tls-key", os.path.join(self.dir, "missing.key")],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("missing.key", r.stderr)
        r = subprocess.run([BINARY, "--tls-cert", self.cert], capture_output=True, text=True,
                           timeout=20)
        self.assertEqual(r.returncode, 2)
        self.assertIn("go together", r.stderr)


if __name__ == "__main__":
    unittest.main()
