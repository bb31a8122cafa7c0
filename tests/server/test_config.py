# SPDX-License-Identifier: GPL-3.0-or-later
"""--config FILE as an operator meets it: settings at the top and under
[nimbus] take effect, the command line wins over the file, and every
mistake (an unknown setting or section, a bad value, a setting given
twice, a line that is no setting, a file that cannot be read) refuses the
start with exit 2 and a message naming the file and the line."""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from nimbus_harness import NimbusServer  # noqa: E402

BINARY = sys.argv.pop(1)
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def request(url, data=None, secret=None):
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["Authorization"] = "Bearer " + secret
    req = urllib.request.Request(url, data=data, headers=headers,
                                 method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def started(srv):
    """The start-up line of a --log-format json server."""
    for line in srv.log_text().splitlines():
        obj = json.loads(line)
        if obj["msg"] == "started":
            return obj
    raise AssertionError("no start-up line:\n" + srv.log_text())


class ConfigFile(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="nimbus-conf-")
        self.conf = os.path.join(self.dir, "nimbus.conf")

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.dir])

    def write(self, text):
        with open(self.conf, "w") as f:
            f.write(text)

    def refused(self, text, message, *args):
        """Starts nimbus on a file holding text: exit 2, message in stderr."""
        self.write(text)
        r = subprocess.run([BINARY, "--config", self.conf, "--listen", "127.0.0.1:0", "--db",
                            os.path.join(self.dir, "x.db"), *args],
                           capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertRegex(r.stderr, r"^%s error nimbus: %s\n$"
                         % (TIME, re.escape(self.conf + message)))
        return r

    def test_settings_take_effect(self):
        self.write("# at the top\n"
                   "log-format = json\n"
                   "; a comment\n"
                   "[nimbus]\n"
                   "  max-body = 2048\n"
                   "cors-origin = https://a.example;https://b.example\n"
                   "api-key = ops:file-secret;1:admin\n"
                   "api-key = r:file-read:read\n"
                   "retention = 30d\n"
                   "quiet = false\n")
        with NimbusServer(BINARY, args=["--config", self.conf]) as srv:
            s = started(srv)
            self.assertEqual(s["config"], self.conf)
            self.assertEqual(s["max-body"], 2048)
            self.assertEqual(s["retention"], 30 * 86400)
            self.assertEqual((s["access"], s["keys"]), ("keys", 2))
            # A ';' in a value is the value's: no inline comments.
            self.assertEqual(request(srv.base_url + "/v1/stations", secret="file-secret;1")[0], 200)
            status, body = request(srv.base_url + "/v1/stations", data=b"x" * 3000,
                                   secret="file-secret;1")
            self.assertEqual(status, 413, body)

    def test_command_line_wins(self):
        self.write("[nimbus]\nmax-body = 2048\nlog-format = json\nquiet = true\n"
                   "api-key = a:file-secret:read\n")
        args = ["--config", self.conf, "--max-body", "4096", "--api-key", "b:cli-secret:read"]
        with NimbusServer(BINARY, args=args) as srv:
            s = started(srv)
            self.assertEqual(s["max-body"], 4096)
            # --api-key on the command line replaces the file's list.
            self.assertEqual(s["keys"], 1)
            self.assertEqual(request(srv.base_url + "/v1/stations", secret="cli-secret")[0], 200)
            self.assertEqual(request(srv.base_url + "/v1/stations", secret="file-secret")[0], 401)
            # quiet = true from the file: no access lines.
            self.assertNotIn('"msg":"access"', srv.log_text())

    def test_mistakes_name_file_and_line(self):
        self.refused("[nimbus]\nlisten = 127.0.0.1:0\nbogus = 1\n",
                     ":3: unknown setting 'bogus' (settings are the long options of nimbus "
                     "--help, without the dashes)")
        self.refused("workers = 2\n[server]\nworkers = 2\n",
                     ":3: unknown section [server]: settings go at the top or under [nimbus]")
        self.refused("\n\nworkers = 0\n", ":3: workers needs 1..64, not '0'")
        self.refused("max-body = lots\n",
                     ":1: max-body needs a whole number of bytes >= 1024, not 'lots'")
        self.refused("log-format = xml\n", ":1: log-format needs text or json, not 'xml'")
        self.refused("workers = 2\n\nworkers = 3\n", ":3: workers is set twice (first on line 1)")
        self.refused("quiet = maybe\n", ":1: quiet needs true or false, not 'maybe'")
        self.refused("db =\n", ":1: db needs a value")
        self.refused("config = other.conf\n", ":1: config cannot be set in a configuration file")
        self.refused("help = true\n", ":1: unknown setting 'help' (settings are the long options "
                                      "of nimbus --help, without the dashes)")
        self.refused("workers = 2\njust some words\nworkers = 0\n",
                     ":2: not a setting (name = value), a [section] or a comment")
        self.refused("db = %s\n" % ("x" * 300), ":1: line longer than 197 characters")
        # The first mistake is the one named.
        self.refused("bogus = 1\nworkers = 0\n", ":1: unknown setting 'bogus' (settings are the "
                                                 "long options of nimbus --help, without the "
                                                 "dashes)")
        # A value the command line would override is still checked.
        self.refused("workers = 0\n", ":1: workers needs 1..64, not '0'", "--workers", "2")

    def test_unreadable_file(self):
        r = subprocess.run([BINARY, "--config", os.path.join(self.dir, "missing.conf")],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"error nimbus: cannot read configuration file "
                                   r".*missing\.conf: No such file or directory")
        r = subprocess.run([BINARY, "--config", self.conf, "--config", self.conf],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--config is given twice", r.stderr)

    def test_help_despite_a_broken_file(self):
        self.write("bogus = 1\n")
        r = subprocess.run([BINARY, "--config", self.conf, "--help"], capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--config FILE", r.stdout)

    def test_help_says_api_key_is_for_development(self):
        r = subprocess.run([BINARY, "--help"], capture_output=True, text=True, timeout=20)
        text = re.sub(r"\s+", " ", r.stdout)
        self.assertIn("--api-key NAME:SECRET:ROLE for development only", text)
        self.assertIn("use --keys in production", text)
        for cmd in ("nimbus keys add NAME ROLE", "nimbus keys list", "nimbus keys remove NAME"):
            self.assertIn(cmd, text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
