# SPDX-License-Identifier: GPL-3.0-or-later
"""Start and stop a real `nimbus` server for integration tests.

Every integration test talks to the real binary on 127.0.0.1 with an
ephemeral port: the server binds port 0 and writes the port it got to a
file, which we poll. At teardown the server gets SIGTERM and must exit 0;
its stderr is scanned for sanitizer reports, so a leak or an undefined
behaviour anywhere in the request path fails the test that caused it.
"""

import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "ERROR: ThreadSanitizer",
    "WARNING: ThreadSanitizer",
)


class ServerError(AssertionError):
    pass


class NimbusServer:
    """A nimbus process on 127.0.0.1:<ephemeral>, with its own database.

    args: extra command-line arguments (e.g. ["--api-key", "ops:s3cret:admin"]).
    db_path: reuse a database file (default: a fresh one in a temp dir).
    """

    def __init__(self, binary, args=None, workers=2, db_path=None, env=None,
                 start_timeout=20.0):
        self.binary = os.path.abspath(binary)
        self.args = list(args or [])
        self.workers = workers
        self.tmpdir = tempfile.mkdtemp(prefix="nimbus-test-")
        self.db_path = db_path or os.path.join(self.tmpdir, "nimbus.db")
        self.port_file = os.path.join(self.tmpdir, "port")
        self.log_path = os.path.join(self.tmpdir, "server.log")
        self.env = dict(os.environ, **(env or {}))
        self.start_timeout = start_timeout
        self.proc = None
        self.port = None
        # Extra subprocess.Popen arguments (e.g. preexec_fn to lower a limit).
        self.popen_kwargs = {}
        self._log = None
        self._logs_seen = []

    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self, port=None):
        """Starts the server (again, on the same database). With port, binds
        that port instead of an ephemeral one (e.g. to restart in place)."""
        if self.proc is not None:
            raise ServerError("server already running")
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        listen = "127.0.0.1:%d" % (port if port is not None else 0)
        cmd = [self.binary, "--listen", listen, "--port-file", self.port_file,
               "--db", self.db_path, "--workers", str(self.workers)] + self.args
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log,
                                     env=self.env, **self.popen_kwargs)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError("nimbus exited with %s during start-up:\n%s"
                                  % (self.proc.returncode, self.log_text()))
            try:
                with open(self.port_file) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    self._wait_healthy(deadline)
                    return self
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        self.kill9()
        raise ServerError("nimbus did not start in %.0fs:\n%s"
                          % (self.start_timeout, self.log_text()))

    def _wait_healthy(self, deadline):
        tls = "--tls-cert" in self.args
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1) as raw:
                    s = raw
                    if tls:  # the health check trusts whatever certificate it gets
                        ctx = ssl.create_default_context()
                        ctx.check_hostname = False
                        ctx.verify_mode = ssl.CERT_NONE
                        s = ctx.wrap_socket(raw)
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              b"Connection: close\r\n\r\n")
                    # Read to the server's close, not just the status line:
                    # the server counts this connection (per client and in
                    # all) until it has closed it, and a test that opens
                    # connections up to a limit right after start must not
                    # find the probe still counted. The count is given back
                    # before the socket is closed (conn.c, release), so EOF
                    # here means it is gone.
                    answer = b""
                    while True:
                        try:
                            chunk = s.recv(4096)
                        except ssl.SSLError:  # a close without close_notify is a close
                            break
                        if not chunk:
                            break
                        answer += chunk
                    if s is not raw:
                        s.close()
                    if answer.startswith(b"HTTP/1.1 200"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise ServerError("nimbus never answered /healthz")

    def kill9(self):
        """Kills the server without warning (a crash); the db stays."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        self._close_log()
        self._check_log(allow_unclean=True)
        self.proc = None

    def stop(self, timeout=20.0, sig=signal.SIGTERM):
        """Sends sig (SIGTERM); asserts the server exits 0 within timeout
        with no sanitizer report."""
        if self.proc is None:
            return
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            self._close_log()
            raise ServerError("nimbus did not stop within %.0fs of signal %s:\n%s"
                              % (timeout, sig, self.log_text()))
        self.proc = None
        self._close_log()
        self._check_log()
        if rc != 0:
            raise ServerError("nimbus exited with %d:\n%s" % (rc, self.log_text()))

    def _close_log(self):
        if self._log:
            self._log.close()
            self._log = None

    def log_text(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def _check_log(self, allow_unclean=False):
        text = self.log_text()
        for marker in SANITIZER_MARKERS:
            if marker in text:
                raise ServerError("sanitizer report in server log:\n" + text)

    def cleanup(self):
        """Removes the temporary directory (database and log)."""
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.stop()
            else:
                if self.proc is not None:
                    self.proc.kill()
                    self.proc.wait()
                    self.proc = None
                self._close_log()
                # Show the server's side of the story with the failure.
                print("---- nimbus log ----\n" + self.log_text()[-20000:])
        finally:
            if exc_type is None:
                self.cleanup()
        return False
