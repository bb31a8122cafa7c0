# SPDX-License-Identifier: GPL-3.0-or-later
"""The key file as an operator meets it: `nimbus keys add|list|remove`
(a new secret printed once and stored nowhere, only a salted SHA-256 of it;
the file 0600), a world-readable key file refused by the server and the
tool, and SIGHUP reading the file again under a running server without
dropping a connection: a new key works at once, a removed one gets 401 over
REST and SOAP, an open WebSocket stays connected (its subscription keeps
delivering; its new calls are checked against the new keys), a broken file
keeps the keys in use. The last test reloads many times while clients call
with the key: the tsan preset runs it to check the swap between the
reloading thread and the workers."""

import asyncio
import base64
import hashlib
import http.client
import json
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from nimbus_harness import NimbusServer  # noqa: E402

import websockets  # noqa: E402

BINARY = sys.argv.pop(1)
SECRET_RE = r"[A-Za-z0-9_-]{43}"
ENV11 = "http://schemas.xmlsoap.org/soap/envelope/"


def keys(*args, check=True):
    r = subprocess.run([BINARY, "keys", *args], capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    if check:
        assert r.returncode == 0, (args, r.returncode, r.stderr)
    return r


def add(path, name, role):
    r = keys("add", name, role, "--keys", path)
    secret = r.stdout.strip()
    assert re.fullmatch(SECRET_RE, secret), r.stdout
    return secret


def get(url, secret=None):
    headers = {"Authorization": "Bearer " + secret} if secret else {}
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def post_json(url, body, secret):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": "Bearer " + secret,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def soap_list(port, name, secret):
    """ListStations over SOAP 1.1 with HTTP Basic: (status, body)."""
    body = ('<?xml version="1.0"?><s:Envelope xmlns:s="%s" xmlns:n="urn:nimbus:weather:v1">'
            '<s:Body><n:ListStations/></s:Body></s:Envelope>' % ENV11).encode()
    auth = base64.b64encode(("%s:%s" % (name, secret)).encode()).decode()
    req = urllib.request.Request("http://127.0.0.1:%d/soap" % port, data=body,
                                 headers={"Content-Type": "text/xml; charset=utf-8",
                                          "SOAPAction": '"urn:nimbus:weather:v1/ListStations"',
                                          "Authorization": "Basic " + auth})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def key_lines(path):
    with open(path) as f:
        return [line.split() for line in f if line.strip() and not line.startswith("#")]


class Tool(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="nimbus-keys-")
        self.path = os.path.join(self.dir, "keys")

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.dir])

    def test_add_list_remove(self):
        ops = add(self.path, "ops", "admin")
        reader = add(self.path, "dash.board_1", "read")
        self.assertNotEqual(ops, reader)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        r = keys("list", "--keys", self.path)
        rows = [line.split() for line in r.stdout.splitlines()]
        self.assertEqual(rows[0], ["NAME", "ROLE", "ADDED"])
        self.assertEqual([row[:2] for row in rows[1:]], [["ops", "admin"], ["dash.board_1", "read"]])
        for row in rows[1:]:
            self.assertRegex(row[2], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        keys("remove", "ops", "--keys", self.path)
        r = keys("list", "--keys", self.path)
        self.assertEqual([line.split()[0] for line in r.stdout.splitlines()[1:]], ["dash.board_1"])
        # Mistakes: a name twice, no such key, a bad role or name, no file named.
        r = keys("add", "dash.board_1", "read", "--keys", self.path, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("already has a key named 'dash.board_1'", r.stderr)
        self.assertEqual(r.stdout, "")
        r = keys("remove", "ops", "--keys", self.path, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no key named 'ops'", r.stderr)
        for args in (["add", "x", "root"], ["add", "a b", "read"], ["add", "x"], ["list", "x"],
                     ["frobnicate"], []):
            with self.subTest(args=args):
                r = keys(*args, "--keys", self.path, check=False)
                self.assertEqual(r.returncode, 2, r.stderr)
        r = keys("list", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--keys FILE", r.stderr)

    def test_file_holds_a_salted_hash_never_the_secret(self):
        secrets = {name: add(self.path, name, "write") for name in ("a", "b")}
        with open(self.path, "rb") as f:
            raw = f.read()
        for secret in secrets.values():
            self.assertNotIn(secret.encode(), raw)
        lines = key_lines(self.path)
        self.assertEqual(len(lines), 2)
        salts = set()
        for name, role, hashed, _added in lines:
            scheme, salt, digest = hashed.split(":")
            self.assertEqual((scheme, role), ("sha256", "write"))
            self.assertRegex(salt, r"^[0-9a-f]{32}$")
            salts.add(salt)
            # The hash is SHA-256 of the salt's bytes, then the secret.
            want = hashlib.sha256(bytes.fromhex(salt) + secrets[name].encode()).hexdigest()
            self.assertEqual(digest, want)
        self.assertEqual(len(salts), 2, "every key has a salt of its own")

    def test_world_readable_key_file_refused(self):
        add(self.path, "ops", "admin")
        os.chmod(self.path, 0o644)
        r = keys("list", "--keys", self.path, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("may be read by every user", r.stderr)
        r = subprocess.run([BINARY, "--listen", "127.0.0.1:0", "--db",
                            os.path.join(self.dir, "x.db"), "--keys", self.path],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, r"error nimbus: --keys: key file .*keys may be read by every "
                                   r"user \(mode 0644\); refusing it: chmod o-rwx")
        os.chmod(self.path, 0o602)
        r = keys("list", "--keys", self.path, check=False)
        self.assertIn("may be written by every user", r.stderr)
        os.chmod(self.path, 0o640)  # the group may: a service's group, say
        keys("list", "--keys", self.path)

    def test_an_edit_keeps_the_files_mode(self):
        add(self.path, "a", "read")
        os.chmod(self.path, 0o640)
        add(self.path, "b", "read")
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o640)

    def test_config_file_names_the_key_file(self):
        conf = os.path.join(self.dir, "nimbus.conf")
        with open(conf, "w") as f:
            f.write("[nimbus]\nkeys = %s\n" % self.path)
        r = keys("add", "ops", "admin", "--config", conf)
        self.assertRegex(r.stdout.strip(), SECRET_RE)
        self.assertEqual([line[0] for line in key_lines(self.path)], ["ops"])
        with open(conf, "w") as f:
            f.write("[nimbus]\nlisten = 127.0.0.1:0\n")
        r = keys("list", "--config", conf, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("sets no keys file", r.stderr)

    def test_broken_line_named(self):
        add(self.path, "ops", "admin")
        with open(self.path, "a") as f:
            f.write("bad line here\n")
        r = keys("list", "--keys", self.path, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"keys:6: a key's role must be read, write or admin")


class Server(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="nimbus-keys-")
        self.path = os.path.join(self.dir, "keys")

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.dir])

    def reload(self, srv, count):
        before = srv.log_text().count("SIGHUP: ")
        srv.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: srv.log_text().count("SIGHUP: ") > before),
                        srv.log_text())
        self.assertIn("read again: %d key" % count, srv.log_text().splitlines()[-1])

    def test_sighup_reload(self):
        old = add(self.path, "old", "write")
        with NimbusServer(BINARY, args=["--keys", self.path]) as srv:
            url = srv.base_url + "/v1/stations"
            self.assertEqual(get(url)[0], 401)
            self.assertEqual(get(url, old)[0], 200)
            status, _ = post_json(url, {"id": "k-1", "name": "K", "city": "C", "country": "DE",
                                        "latitude": 1, "longitude": 2}, old)
            self.assertEqual(status, 201)

            async def scenario():
                # A stream opened with the old key, subscribed before the reload.
                ws = await websockets.connect(
                    "ws://127.0.0.1:%d/v1/stream" % srv.port, ping_interval=None,
                    extra_headers={"Authorization": "Bearer " + old})
                await ws.send(json.dumps({"type": "subscribe", "id": "s", "stations": ["k-1"]}))
                self.assertEqual(json.loads(await asyncio.wait_for(ws.recv(), 10))["type"],
                                 "subscribed")
                new = add(self.path, "new", "write")
                keys("remove", "old", "--keys", self.path)
                # Not yet: the server has the old file until SIGHUP.
                self.assertEqual(get(url, new)[0], 401)
                self.assertEqual(get(url, old)[0], 200)
                await asyncio.get_running_loop().run_in_executor(None, self.reload, srv, 1)
                self.assertEqual(get(url, new)[0], 200)
                status, body = get(url, old)
                self.assertEqual(status, 401, body)
                self.assertEqual(json.loads(body)["code"], "UNAUTHENTICATED")
                self.assertEqual(soap_list(srv.port, "new", new)[0], 200)
                status, body = soap_list(srv.port, "old", old)
                self.assertEqual(status, 500, body)
                self.assertIn(b"UNAUTHENTICATED", body)
                # The stream is still there and still delivers...
                status, _ = post_json(url + "/k-1/observations", {"observations": [
                    {"observedAt": "2024-05-01T12:00:00Z", "temperature": 21.5}]}, new)
                self.assertEqual(status, 200)
                msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                self.assertEqual((msg["type"], msg["id"]), ("observation", "s"))
                # ...but its new calls meet the new keys, on the same connection.
                await ws.send(json.dumps({"type": "subscribe", "id": "t", "stations": ["k-1"]}))
                msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                self.assertEqual((msg["type"], msg["id"], msg["code"]),
                                 ("error", "t", "UNAUTHENTICATED"))
                self.assertRegex(msg["requestId"], r"^[0-9a-f]{32}$")
                pong = await ws.ping()
                await asyncio.wait_for(pong, 10)
                await ws.close()
                return new

            new = asyncio.run(scenario())
            # A broken file keeps the keys in use.
            with open(self.path, "a") as f:
                f.write("oops\n")
            srv.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: "keeping the API keys in use" in srv.log_text()))
            self.assertRegex(srv.log_text(), r"error nimbus: SIGHUP: keeping the API keys in use: "
                                             r".*keys:\d+: a key line is NAME ROLE")
            self.assertEqual(get(url, new)[0], 200)
            log = srv.log_text()
        # The access lines name the key, '-' when none was valid.
        self.assertRegex(log, r"proto=rest op=ListStations method=GET path=/v1/stations "
                              r"status=200 bytes=\d+ us=\d+ key=new rid=[0-9a-f]{32}")
        self.assertRegex(log, r"proto=rest op=ListStations method=GET path=/v1/stations "
                              r"status=401 bytes=\d+ us=\d+ key=- ")
        self.assertRegex(log, r"proto=soap op=ListStations .*status=200 .*key=new ")
        self.assertRegex(log, r"proto=ws op=- status=101 .*key=old rid=[0-9a-f]{32}")

    def test_role_and_permission(self):
        reader = add(self.path, "r", "read")
        with NimbusServer(BINARY, args=["--keys", self.path]) as srv:
            status, body = post_json(srv.base_url + "/v1/stations", {
                "id": "x", "name": "X", "city": "C", "country": "DE", "latitude": 1,
                "longitude": 2}, reader)
            self.assertEqual(status, 403, body)
            log = srv.log_text()
        # A key whose role falls short is still named.
        self.assertRegex(log, r"op=CreateStation .*status=403 .*key=r ")

    def test_empty_key_file_lets_nobody_in(self):
        open(self.path, "w").close()
        os.chmod(self.path, 0o600)
        with NimbusServer(BINARY, args=["--keys", self.path]) as srv:
            self.assertEqual(get(srv.base_url + "/v1/stations")[0], 401)
            self.assertIn("holds no keys: every call is refused", srv.log_text())

    def test_api_key_beside_key_file(self):
        add(self.path, "ops", "admin")
        r = subprocess.run([BINARY, "--listen", "127.0.0.1:0", "--db",
                            os.path.join(self.dir, "x.db"), "--keys", self.path,
                            "--api-key", "ops:dev-secret:read"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("API key name 'ops' is in the key file too", r.stderr)
        with NimbusServer(BINARY, args=["--keys", self.path, "--api-key", "dev:dev-secret:read"]) \
                as srv:
            self.assertEqual(get(srv.base_url + "/v1/stations", "dev-secret")[0], 200)
            # A reload keeps the --api-key keys.
            self.reload(srv, 1)
            self.assertEqual(get(srv.base_url + "/v1/stations", "dev-secret")[0], 200)

    def test_reloads_while_clients_call(self):
        """Workers check keys while the main thread swaps them: under the
        tsan preset a race between the two fails this test."""
        stable = add(self.path, "stable", "read")
        with NimbusServer(BINARY, args=["--keys", self.path]) as srv:
            stop = threading.Event()
            failures = []

            def client():
                # One keep-alive connection each: the reloads, not
                # connections opening and closing, are what is tested (and
                # a descriptor number a worker just closed, reused by the
                # reload's open(), is a false positive of TSan's io_sync=0
                # under libevent's deferred epoll_ctl; tests/tsan.supp).
                conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
                while not stop.is_set():
                    conn.request("GET", "/v1/stations",
                                 headers={"Authorization": "Bearer " + stable})
                    resp = conn.getresponse()
                    resp.read()
                    if resp.status != 200:
                        failures.append(resp.status)
                conn.close()

            threads = [threading.Thread(target=client) for _ in range(4)]
            for t in threads:
                t.start()
            try:
                for i in range(10):
                    add(self.path, "k%d" % i, "read")
                    srv.proc.send_signal(signal.SIGHUP)
                    time.sleep(0.05)
                    keys("remove", "k%d" % i, "--keys", self.path)
                    srv.proc.send_signal(signal.SIGHUP)
                    time.sleep(0.05)
            finally:
                stop.set()
                for t in threads:
                    t.join()
            self.assertEqual(failures, [])
            self.assertTrue(wait_for(lambda: srv.log_text().count("read again") == 20),
                            srv.log_text()[-3000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
