# SPDX-License-Identifier: GPL-3.0-or-later
"""Throw-away PostgreSQL clusters and HAProxy instances for tests.

A PgCluster is a fresh cluster (initdb) in a temporary directory, listening
on 127.0.0.1 on a free port, with trust authentication for the user
"nimbus". PostgreSQL refuses to run as root, so when the tests run as root
the cluster runs as an unprivileged user: "postgres" (made by Debian's
postgresql package) when it exists, else "nimbus-pg", created with useradd.
Every process started here is stopped by stop() (called by the context
manager and at interpreter exit, even after a failure), and its directory
removed.

When PostgreSQL is not installed and cannot be, missing() says why: tests
print that and FAIL, loudly, rather than skip (a suite that silently skips
its multi-node checks would pass while checking nothing).
"""

import atexit
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

USER = "nimbus"


def pg_bin():
    """The directory of the newest installed PostgreSQL server's programs,
    or None."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)
    for d in reversed(dirs):
        if os.access(os.path.join(d, "initdb"), os.X_OK):
            return d
    return None


def missing():
    """None when a cluster can be started, else a sentence saying why not."""
    if pg_bin() is None:
        return ("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
                "install Debian's postgresql (scripts/deps does)")
    return None


def haproxy_missing():
    if shutil.which("haproxy") is None:
        return "HAProxy is not installed: install Debian's haproxy (scripts/deps does)"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as():
    """(uid, gid) of the unprivileged user to run the server as, or None
    when not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nimbus-pg"):
        try:
            pw = pwd.getpwnam(name)
            return pw.pw_uid, pw.pw_gid
        except KeyError:
            pass
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    "nimbus-pg"], check=True)
    pw = pwd.getpwnam("nimbus-pg")
    return pw.pw_uid, pw.pw_gid


_live = []


def _stop_all():
    for obj in list(_live):
        try:
            obj.stop()
        except Exception:  # noqa: BLE001 -- best effort at exit
            pass


atexit.register(_stop_all)


class PgCluster:
    """A PostgreSQL cluster of its own. settings: extra postgresql.conf
    settings (name -> value)."""

    def __init__(self, settings=None):
        why = missing()
        if why:
            raise AssertionError(why)
        self.bin = pg_bin()
        self.settings = dict(settings or {})
        self.dir = tempfile.mkdtemp(prefix="nimbus-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.port = None
        self.started = False
        self.ids = _run_as()
        if self.ids:
            os.chown(self.dir, *self.ids)
            os.chmod(self.dir, 0o755)

    def _as_user(self):
        if not self.ids:
            return None
        uid, gid = self.ids

        def drop():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        return drop

    def _run(self, args, **kw):
        return subprocess.run(args, preexec_fn=self._as_user(), cwd=self.dir,
                              capture_output=True, text=True, **kw)

    def start(self):
        r = self._run([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", USER,
                       "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        if r.returncode != 0:
            raise AssertionError("initdb failed:\n" + r.stdout + r.stderr)
        conf = {"listen_addresses": "'127.0.0.1'", "unix_socket_directories": "'%s'" % self.dir,
                "max_connections": "200", "shared_buffers": "'64MB'"}
        conf.update(self.settings)
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as f:
            for k, v in conf.items():
                f.write("%s = %s\n" % (k, v))
        for attempt in range(5):
            self.port = free_port()
            r = self._run([os.path.join(self.bin, "pg_ctl"), "start", "-w", "-t", "60",
                           "-D", self.data, "-l", self.log, "-o", "-p %d" % self.port])
            if r.returncode == 0:
                self.started = True
                _live.append(self)
                return self
            time.sleep(0.2 * (attempt + 1))
        raise AssertionError("pg_ctl start failed:\n%s%s\n%s" % (r.stdout, r.stderr,
                                                                 self.log_text()))

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def uri(self, db="postgres", options=None):
        u = "postgresql://%s@127.0.0.1:%d/%s" % (USER, self.port, db)
        if options:
            u += "?options=" + options.replace(" ", "%20").replace("=", "%3D")
        return u

    def psql(self, sql, db="postgres"):
        """Runs sql; returns its output (unaligned, tuples only)."""
        r = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q", "-A", "-t",
                            "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", USER, "-d", db, "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError("psql %r failed: %s" % (sql, r.stderr))
        return r.stdout.strip()

    def createdb(self, name):
        self.psql('CREATE DATABASE "%s"' % name)
        return self.uri(name)

    def stop(self):
        if self.started:
            self._run([os.path.join(self.bin, "pg_ctl"), "stop", "-D", self.data, "-m",
                       "immediate", "-w", "-t", "30"])
            self.started = False
        if self in _live:
            _live.remove(self)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class HAProxy:
    """HAProxy on 127.0.0.1:<free port> in front of backends (ports), HTTP
    mode, round robin, health checks on /readyz, WebSocket-friendly
    timeouts: the configuration docs/scaling.md shows."""

    def __init__(self, backends):
        why = haproxy_missing()
        if why:
            raise AssertionError(why)
        self.backends = list(backends)
        self.dir = tempfile.mkdtemp(prefix="nimbus-haproxy-")
        self.cfg = os.path.join(self.dir, "haproxy.cfg")
        self.log = os.path.join(self.dir, "haproxy.log")
        self.proc = None
        self.port = None

    def config(self):
        servers = "\n".join("    server node%d 127.0.0.1:%d check inter 500ms fall 2 rise 1"
                            % (i + 1, p) for i, p in enumerate(self.backends))
        return """global
    maxconn 4096
defaults
    mode http
    option http-server-close
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    # WebSocket streams stay open and may be quiet for long
    timeout tunnel 1h
    retries 2
    option redispatch
frontend nimbus
    bind 127.0.0.1:%d
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    # which node answered, for the tests (and for whoever debugs)
    http-response set-header X-Served-By %%[srv_name]
%s
""" % (self.port, servers)

    def start(self):
        self.port = free_port()
        with open(self.cfg, "w") as f:
            f.write(self.config())
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.cfg], stdout=logf,
                                     stderr=logf, stdin=subprocess.DEVNULL)
        logf.close()
        _live.append(self)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("haproxy exited: " + self.log_text())
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("haproxy did not listen: " + self.log_text())

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self in _live:
            _live.remove(self)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
