#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark harness behind scripts/bench (which builds, then runs this).

Runs every workload of docs/performance.md ("scripts/bench") against its
baseline in the same run: starts fresh servers on loopback with databases
seeded through the API, pins the server to CPU 0 and the load generator to
CPU 1 where the row says so, takes the median of several runs after a
warm-up (Nimbus and baseline runs interleaved, so that a neighbour's load
hits both alike), reads the server's CPU time from /proc/PID/stat around
each run, prints one table and writes it, with the date, the machine and
the command, between the result markers of docs/performance.md.

Exit status: 0 when every workload ran and every correctness check held,
whatever the targets say (a FAIL is a measurement); 1 when a workload could
not run or a check failed (lost, reordered or duplicated observations, a
baseline that does not answer what Nimbus answers, non-2xx answers); 2 on
a usage or set-up error.
"""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
WRK_DIR = os.path.join(REPO, "bench", "wrk")
DOC = os.path.join(REPO, "docs", "performance.md")
BEGIN = "<!-- scripts/bench:results:begin -->"
END = "<!-- scripts/bench:results:end -->"
CLK_TCK = os.sysconf("SC_CLK_TCK")
NOFILE = 20000  # descriptors wanted for the idle-connection workload

# Station every read workload reads, and the day of observations it holds.
READ_STATION = "bench-1"
READ_OBSERVATIONS = 200  # one every 5 minutes; the 100-observation page is ~12 KB
SOAP_GET_WEATHER = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:n="urn:nimbus:weather:v1"><s:Body><n:GetWeather><n:stationId>%s</n:stationId>'
    "</n:GetWeather></s:Body></s:Envelope>" % READ_STATION)


class SetupError(Exception):
    """The harness cannot run at all (exit 2)."""


class WorkloadError(Exception):
    """A workload could not run, or a correctness check failed (exit 1)."""


# ---- processes -------------------------------------------------------------

class Proc:
    """A server the harness started; stopped by stop() or at exit."""

    running = []

    def __init__(self, name, argv, cpu, workdir, log_name):
        self.name = name
        self.port_file = os.path.join(workdir, log_name + ".port")
        self.log_path = os.path.join(workdir, log_name + ".log")
        argv = [a if a != "@PORTFILE@" else self.port_file for a in argv]
        self.log = open(self.log_path, "wb")
        self.pinned = cpu is not None
        self.popen = subprocess.Popen(pinned(cpu) + argv, stdout=self.log,
                                      stderr=subprocess.STDOUT, preexec_fn=raise_nofile,
                                      cwd=workdir)
        Proc.running.append(self)
        self.pid = self.popen.pid  # taskset execs the program: same pid
        deadline = time.time() + 20
        while not os.path.exists(self.port_file):
            if self.popen.poll() is not None or time.time() > deadline:
                self.stop()
                raise WorkloadError("%s did not start: %s" % (name, self.log_tail()))
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.url = "http://127.0.0.1:%d" % self.port

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-600:].decode("utf-8", "replace").strip() or "(no output)"
        except OSError:
            return "(no log)"

    def alive(self):
        if self.popen.poll() is not None:
            raise WorkloadError("%s exited (status %s): %s" % (self.name, self.popen.returncode,
                                                              self.log_tail()))

    def cpu_ticks(self):
        """utime + stime of every thread, live or finished, in clock ticks."""
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def stop(self):
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.log.close()
        if self in Proc.running:
            Proc.running.remove(self)

    @classmethod
    def stop_all(cls):
        for p in reversed(list(cls.running)):
            p.stop()


PIN = True  # set in main(): False on a machine with a single CPU


def pinned(cpu):
    return ["taskset", "-c", str(cpu)] if PIN and cpu is not None else []


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = NOFILE if hard == resource.RLIM_INFINITY else min(NOFILE, hard)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def bench_json(text, what):
    for line in text.splitlines():
        if line.startswith("BENCHJSON "):
            return json.loads(line[len("BENCHJSON "):])
    raise WorkloadError("%s printed no result: %s" % (what, text[-600:].strip()))


def run_tool(argv, cpu, timeout, what):
    """Runs a bench tool (pinned), returns (its BENCHJSON, exit status)."""
    r = subprocess.run(pinned(cpu) + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, preexec_fn=raise_nofile)
    out = r.stdout.decode("utf-8", "replace")
    err = r.stderr.decode("utf-8", "replace")
    if "BENCHJSON " not in out:
        raise WorkloadError("%s failed (status %d): %s" % (what, r.returncode, err[-600:].strip()))
    return bench_json(out, what), r.returncode, err


# ---- HTTP, just enough for seeding and comparing answers -----------------------

def raw_request(port, method, path, body=b"", headers=()):
    """One request on a fresh connection, the request line and headers exactly
    as given (wrk sends the same shape); returns (status, reason, headers as
    [(name, value)] in order, body bytes)."""
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (method, path, port)
    for name, value in headers:
        head += "%s: %s\r\n" % (name, value)
    if body:
        head += "Content-Length: %d\r\n" % len(body)
    data = head.encode() + b"\r\n" + body
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(data)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise WorkloadError("%s %s: connection closed before an answer" % (method, path))
            buf += chunk
        raw_head, rest = buf.split(b"\r\n\r\n", 1)
        lines = raw_head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        status, reason = int(parts[1]), parts[2] if len(parts) > 2 else ""
        hdrs = [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:]]
        length = next((int(v) for n, v in hdrs if n.lower() == "content-length"), 0)
        while len(rest) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, reason, hdrs, rest[:length]


def api(port, method, path, doc=None, expect=(200, 201)):
    body = json.dumps(doc, separators=(",", ":")).encode() if doc is not None else b""
    hdrs = [("Content-Type", "application/json")] if doc is not None else []
    status, _, _, data = raw_request(port, method, path, body, hdrs)
    if status not in expect:
        raise WorkloadError("%s %s answered %d: %s" % (method, path, status, data[:300]))
    return json.loads(data) if data else None


def head_seq(port):
    return api(port, "GET", "/healthz")["seq"]


def settled_seq(port):
    """The head seq once writes have stopped: a request still in flight
    when wrk quit may commit a moment later, and must count for the run
    that sent it, not the next one."""
    seq, deadline = head_seq(port), time.time() + 10
    while time.time() < deadline:
        time.sleep(0.2)
        now = head_seq(port)
        if now == seq:
            return seq
        seq = now
    raise WorkloadError("the head seq still moves 10 s after the writers stopped")


def create_station(port, sid):
    api(port, "POST", "/v1/stations", {
        "id": sid, "name": "Bench " + sid, "city": "Benchton", "country": "US",
        "latitude": 40.7128, "longitude": -74.006, "elevation": 10})


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_reads(port):
    """Station bench-1 with READ_OBSERVATIONS observations, every 5 minutes."""
    create_station(port, READ_STATION)
    start = 1714521600  # 2024-05-01T00:00:00Z
    obs = [{"observedAt": iso(start + i * 300), "temperature": round(8 + (i % 40) * 0.35, 2),
            "humidity": 50 + i % 30, "pressure": round(1008 + (i % 20) * 0.4, 1),
            "windSpeed": round((i % 12) * 0.7, 1)} for i in range(READ_OBSERVATIONS)]
    r = api(port, "POST", "/v1/stations/%s/observations" % READ_STATION, {"observations": obs})
    if r["accepted"] != READ_OBSERVATIONS:
        raise WorkloadError("seeding %s: %r" % (READ_STATION, r))


_epoch = [1000000000]


def fresh_epoch():
    """A start time no earlier write workload used (5*10^7 s apart)."""
    _epoch[0] += 50000000
    return _epoch[0]


# ---- wrk -------------------------------------------------------------------------

def wrk_argv(url, script, args, conns, duration, cpu=1):
    argv = pinned(cpu) + ["wrk", "-t1", "-c%d" % conns, "-d%ds" % duration, "--timeout", "10s",
                          "-s", os.path.join(WRK_DIR, script), url]
    return argv + (["--"] + [str(a) for a in args] if args else [])


def wrk_result(out, duration, what):
    r = bench_json(out, what)
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["socket_errors"] = r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
    if r["status_errors"]:
        raise WorkloadError("%s: %d answers were not 2xx" % (what, r["status_errors"]))
    if r["requests"] == 0:
        raise WorkloadError("%s: no request completed" % what)
    return r


def child_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def cpu_jiffies():
    """{cpu index: busy jiffies} from /proc/stat: user, nice, system and
    steal (the hypervisor's). Interrupt and softirq time is left out: on
    loopback most of it is our own traffic's, run on whichever CPU sent."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (.*)", line)
            if m:
                v = [int(x) for x in m.group(2).split()]
                out[int(m.group(1))] = v[0] + v[1] + v[2] + v[7]
    return out


def foreign_load(j0, j1, server_s, client_s, seconds):
    """Share of CPU 0 and of CPU 1 that processes other than ours (server on
    0, load generator on 1) used between two cpu_jiffies() readings."""
    shares = []
    for cpu, ours in ((0, server_s), (1, client_s)):
        if cpu not in j0 or cpu not in j1:
            return None
        busy = (j1[cpu] - j0[cpu]) / CLK_TCK
        shares.append(max(0.0, (busy - ours) / seconds))
    return shares


def cpu_ticks(pid):
    """User + system CPU ticks of a process and all its threads, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def settle(proc, still=0.3, limit=5.0):
    """Waits until proc uses no CPU for `still` seconds (at most `limit`):
    the gSOAP baseline's connection threads go on working for a while after
    its load stops, on the CPU the next measured server is pinned to, and
    measured into its p99 (30-56 ms instead of 1.5 ms) when not waited for."""
    deadline = time.time() + limit
    last = cpu_ticks(proc.pid)
    while time.time() < deadline:
        time.sleep(still)
        now = cpu_ticks(proc.pid)
        if now is None or now == last:
            return
        last = now


def measure(server, url, script, args=(), conns=50, duration=5, what="wrk"):
    """One wrk run against server; adds req/s, the server's CPU per request
    (all threads, /proc/PID/stat) and the load generator's CPU share."""
    server.alive()
    j0, c0, t0, w0 = cpu_jiffies(), child_cpu(), server.cpu_ticks(), time.time()
    r = subprocess.run(wrk_argv(url, script, args, conns, duration), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=duration + 60)
    t1, c1, j1, w1 = server.cpu_ticks(), child_cpu(), cpu_jiffies(), time.time()
    server.alive()
    res = wrk_result(r.stdout.decode("utf-8", "replace"), duration, what)
    res["cpu_us"] = (t1 - t0) / CLK_TCK * 1e6 / res["requests"]
    res["client_cpu"] = (c1 - c0) / (res["duration_us"] / 1e6)
    if PIN and server.pinned:
        res["foreign"] = foreign_load(j0, j1, (t1 - t0) / CLK_TCK, c1 - c0, w1 - w0)
    return res


def median(samples, key):
    return statistics.median(s[key] for s in samples)


def summary(samples):
    keys = [k for k in ("rps", "p99_us", "p50_us", "cpu_us", "client_cpu") if k in samples[0]]
    out = {k: median(samples, k) for k in keys} | {
        "runs": len(samples), "rps_all": [round(s["rps"]) for s in samples],
        "p99_all": [s["p99_us"] for s in samples],
        "socket_errors": sum(s["socket_errors"] for s in samples)}
    foreign = [s["foreign"] for s in samples if s.get("foreign")]
    if foreign:
        out["foreign"] = [max(f[0] for f in foreign), max(f[1] for f in foreign)]
    return out


def spread(s):
    """Largest / smallest req/s of a summary's runs, minus one."""
    return max(s["rps_all"]) / min(s["rps_all"]) - 1 if min(s["rps_all"]) else 0.0


# ---- formatting -----------------------------------------------------------------

def fmt_us(us):
    if us < 1000:
        return "%.0f µs" % us
    if us < 100000:
        return "%.2f ms" % (us / 1000)
    return "%.0f ms" % (us / 1000)


def fmt_int(x):
    return "{:,.0f}".format(x)


def pg_harness_bin():
    sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
    import pg_harness
    return pg_harness.pg_bin() or "?/?/bin"


def write_canned(port, path, canned):
    """Fetches GET path from the server on port and writes the answer to
    the file canned as baseline (a) reads it (nimbus_bench_bytes
    --response): status line, headers but those evhttp writes itself, a
    blank line, the body. Returns (status, reason, headers, body)."""
    status, reason, hdrs, body = raw_request(port, "GET", path)
    with open(canned, "wb") as f:
        f.write(("%d %s\n" % (status, reason)).encode("latin-1"))
        for n, v in hdrs:
            if n.lower() not in ("date", "content-length", "connection", "transfer-encoding"):
                f.write(("%s: %s\n" % (n, v)).encode("latin-1"))
        f.write(b"\n" + body)
    return status, reason, hdrs, body


def cell(s, unit="req/s"):
    return "%s %s · p99 %s · %.1f µs CPU/req" % (fmt_int(s["rps"]), unit, fmt_us(s["p99_us"]),
                                                 s["cpu_us"])


# ---- the harness -----------------------------------------------------------------

class Bench:
    def __init__(self, opts):
        self.o = opts
        self.build = os.path.abspath(opts.build)
        self.nimbus = os.path.join(self.build, "server", "nimbus")
        self.tool = lambda name: os.path.join(self.build, "bench", "nimbus_bench_" + name)
        for path in [self.nimbus] + [self.tool(n) for n in ("bytes", "gsoap", "ws", "seed",
                                                              "fsync")]:
            if not os.access(path, os.X_OK):
                raise SetupError("%s is missing: run scripts/bench, which builds it" % path)
        if not shutil.which("wrk"):
            raise SetupError("wrk is not installed (scripts/deps --bench)")
        base = os.path.join(self.build, "bench-run")
        os.makedirs(base, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="run-", dir=base)
        self.filesystem = filesystem(self.dir)
        self.rows = []
        self.notes = []
        self.noise = []  # (row, other load on CPU 0, on CPU 1, largest run spread)
        self.errors = []
        self.instance = 0

    # -- servers --

    def start_nimbus(self, one_worker=True, seed=True, db=None, pin=True, binary=None):
        self.instance += 1
        name = "nimbus%d" % self.instance
        # Every client here is one loopback address: the per-client limits
        # (connections, subscriptions) are not what is measured.
        argv = [binary or self.nimbus, "--listen", "127.0.0.1:0", "--port-file", "@PORTFILE@", "--db",
                db or os.path.join(self.dir, name + ".db"), "--quiet",
                "--max-connections-per-client", "0", "--max-subscriptions-per-key", "0"]
        if one_worker:
            argv += ["--workers", "1"]
        p = Proc("nimbus", argv, 0 if one_worker and pin else None, self.dir, name)
        if seed:
            seed_reads(p.port)
        return p

    def start_bytes(self, nimbus, paths):
        """Baseline (a): fetches each path's answer from nimbus, serves it
        from memory, and checks it answers those exact bytes."""
        answers, argv = {}, [self.tool("bytes"), "--listen", "127.0.0.1:0", "--port-file",
                             "@PORTFILE@"]
        for i, path in enumerate(paths):
            canned = os.path.join(self.dir, "answer%d.http" % i)
            status, _, hdrs, body = write_canned(nimbus.port, path, canned)
            if status != 200:
                raise WorkloadError("nimbus answered GET %s with %d" % (path, status))
            answers[path] = (status, hdrs, body)
            argv += ["--response", path, canned]
        self.instance += 1
        b = Proc("baseline (a)", argv, 0, self.dir, "bytes%d" % self.instance)
        for path, (status, hdrs, body) in answers.items():
            s2, _, h2, b2 = raw_request(b.port, "GET", path)
            strip = lambda hs: [(n.lower(), v) for n, v in hs if n.lower() != "date"]
            if s2 != status or b2 != body or strip(h2) != strip(hdrs):
                raise WorkloadError("baseline (a) does not answer GET %s as nimbus does:\n"
                                    "nimbus:   %d %r %r\nbaseline: %d %r %r" % (
                                        path, status, strip(hdrs), body[:200], s2, strip(h2),
                                        b2[:200]))
        return b, answers

    def start_gsoap(self, nimbus, pinned_cpu):
        self.instance += 1
        db = [a for a in nimbus.popen.args if a.endswith(".db")][0]
        g = Proc("baseline (b) gSOAP", [self.tool("gsoap"), "--listen", "127.0.0.1:0",
                                        "--port-file", "@PORTFILE@", "--db", db],
                 pinned_cpu, self.dir, "gsoap%d" % self.instance)
        self.check_soap_same(nimbus, g)
        return g

    def check_soap_same(self, nimbus, g):
        hdrs = [("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", '"urn:nimbus:weather:v1/GetWeather"')]
        body = SOAP_GET_WEATHER.encode()
        sn, _, _, bn = raw_request(nimbus.port, "POST", "/soap", body, hdrs)
        sg, _, _, bg = raw_request(g.port, "POST", "/soap", body, hdrs)
        if sn != 200 or sg != 200:
            raise WorkloadError("SOAP GetWeather: nimbus %d, gSOAP baseline %d:\n%s\n%s" % (
                sn, sg, bn[:300], bg[:300]))
        if bn == bg:
            self.soap_same = "identical bytes"
            return
        dn, dg = soap_data(bn), soap_data(bg)
        if dn != dg:
            raise WorkloadError("the gSOAP baseline's GetWeather differs in data from nimbus's:\n"
                                "nimbus:   %s\nbaseline: %s" % (dn, dg))
        self.soap_same = "same data, bytes differ"

    # -- workload pairs --

    def warm(self, server, url, script, args=(), conns=50):
        measure(server, url, script, args, conns, self.o.warmup, "warm-up")

    def pair(self, what, a, a_url, b, b_url, script, args=(), conns=50, runs=None):
        """Warm-up, then runs of a and b interleaved: their summaries and
        the ratio a/b of req/s, the median over the pairs of adjacent runs.

        Why the median of per-pair ratios rather than one median divided by
        the other: this VM's speed drifts by tens of percent within minutes
        with no other process on either core (docs/performance.md, "Noise"),
        and the two medians can then come from runs minutes apart, one fast
        and one slow. Each pair's two runs are seconds apart and see the
        same machine. Both figures are kept in the row's data."""
        self.warm(a, a_url, script, args, conns)
        self.warm(b, b_url, script, args, conns)
        sa, sb = [], []
        for _ in range(runs or self.o.pairs):
            settle(b)
            sa.append(measure(a, a_url, script, args, conns, self.o.duration, what))
            settle(a)
            sb.append(measure(b, b_url, script, args, conns, self.o.duration, what + " baseline"))
        ratios = [x["rps"] / y["rps"] for x, y in zip(sa, sb)]
        return summary(sa), summary(sb), {"ratio": statistics.median(ratios),
                                          "pair_ratios": [round(r, 3) for r in ratios],
                                          "ratio_of_medians": median(sa, "rps") / median(sb, "rps")}

    def side_by_side(self, what, a, a_url, b, b_url, script, args=(), conns=50):
        """Runs of a and b at the same time, both servers on CPU 0 and one
        wrk each on CPU 1; per run, b's CPU per request over a's (the
        inverse of their req/s ratio alone, when each is CPU-bound).

        Runs apart, Nimbus's and the baseline's figures move with this VM's
        speed, which drifts by tens of percent within minutes (the "runs
        within" spreads of the noise lines); at the same moment both see the
        same machine. Two copies of the same baseline measured this way
        agreed within 1% in every run, while their req/s moved by 30%
        (docs/performance.md, "Side by side")."""
        out = []
        for _ in range(self.o.pairs):
            settle(a)
            settle(b)
            a.alive()
            b.alive()
            # args may be a function: the write workloads need fresh
            # timestamps for every run, or they measure duplicates.
            run_args = args() if callable(args) else args
            ta, tb = a.cpu_ticks(), b.cpu_ticks()
            procs = [subprocess.Popen(wrk_argv(u, script, run_args, conns, self.o.duration),
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                     for u in (a_url, b_url)]
            outs = [p.communicate(timeout=self.o.duration + 60)[0] for p in procs]
            ca, cb = a.cpu_ticks() - ta, b.cpu_ticks() - tb
            ra, rb = [wrk_result(o.decode("utf-8", "replace"), self.o.duration, what + w)
                      for o, w in zip(outs, (" side by side", " baseline side by side"))]
            a.alive()
            b.alive()
            out.append((ca / ra["requests"], cb / rb["requests"]))
        ratios = [y / x for x, y in out]
        return {"ratio": statistics.median(ratios), "side_ratios": [round(r, 3) for r in ratios]}

    def ratio_note(self, num, paired, side=None):
        text = ("%s: Nimbus/baseline req/s of each pair of adjacent runs: %s (median %.2f; "
                "median over median %.2f)" % (
                    num, ", ".join("%.2f" % r for r in paired["pair_ratios"]), paired["ratio"],
                    paired["ratio_of_medians"]))
        if side:
            text += ("; baseline/Nimbus CPU per request side by side: %s (median %.3f, the "
                     "row's ratio)" % (", ".join("%.3f" % r for r in side["side_ratios"]),
                                       side["ratio"]))
        self.notes.append(text)

    def row(self, num, workload, nimbus, baseline, ratio, target, ok, data, note=None):
        self.rows.append({"num": num, "workload": workload, "nimbus": nimbus,
                          "baseline": baseline, "ratio": ratio, "target": target,
                          "result": "PASS" if ok else "FAIL", "data": data})
        if note:
            self.notes.append("%s: %s" % (num, note))
        print("  %s %s: %s | %s | %s | %s" % (num, workload, nimbus, baseline, ratio,
                                              "PASS" if ok else "FAIL"), flush=True)

    def error_row(self, nums, workload, err):
        done = {r["num"] for r in self.rows}
        for num in (n for n in nums if n not in done):
            self.rows.append({"num": num, "workload": workload, "nimbus": "—", "baseline": "—",
                              "ratio": "—", "target": "—", "result": "ERROR", "data": {}})
        self.errors.append("%s %s: %s" % ("/".join(nums), workload, err))
        print("  ERROR %s: %s" % (workload, err), file=sys.stderr, flush=True)

    def client_note(self, num, *summaries):
        """Notes on what may bend a row's figures: a saturated load
        generator, other processes on the pinned CPUs, runs that disagree."""
        busy = max(s.get("client_cpu", 0) for s in summaries)
        if busy > 0.9:
            self.notes.append("%s: the load generator used %.0f%% of its CPU: the figure may be "
                              "the client's limit" % (num, busy * 100))
        foreign = [s["foreign"] for s in summaries if s.get("foreign")]
        if foreign:
            f0, f1 = max(f[0] for f in foreign), max(f[1] for f in foreign)
            self.noise.append((num, f0, f1, max(spread(s) for s in summaries)))

    # -- rows 1-4: reads against baselines (a) and (b), one pinned Nimbus --

    def reads_pinned(self):
        n = self.start_nimbus()
        paths = {"1": "/v1/stations/%s/weather" % READ_STATION,
                 "2": "/v1/stations/%s" % READ_STATION,
                 "3": "/v1/stations/%s/observations?limit=100" % READ_STATION}
        labels = {"1": "REST GET /v1/stations/{id}/weather (1w)",
                  "2": "REST GET /v1/stations/{id} (1w)",
                  "3": "REST GET /v1/stations/{id}/observations?limit=100 (1w, %s)"}
        targets = {"1": 0.9, "2": 0.9, "3": 0.5}
        try:
            b, answers = self.start_bytes(n, list(paths.values()))
            size = len(answers[paths["3"]][2])
            labels["3"] %= "%.1f KB" % (size / 1000)
            for num in ("1", "2", "3"):
                if not self.wanted(num):
                    continue
                sn, sb, paired = self.pair(labels[num], n, n.url + paths[num], b,
                                           b.url + paths[num], "get.lua",
                                           runs=self.o.runs if PIN else None)
                side = self.side_by_side(labels[num], n, n.url + paths[num], b,
                                         b.url + paths[num], "get.lua") if PIN else None
                ratio = side["ratio"] if side else paired["ratio"]
                self.client_note(num, sn, sb)
                self.ratio_note(num, paired, side)
                self.row(num, labels[num], cell(sn), "(a) " + cell(sb), "%.2f" % ratio,
                         "≥ %.1f" % targets[num], ratio >= targets[num],
                         {"nimbus": sn, "baseline": sb, "ratio": ratio, "paired": paired,
                          "side_by_side": side})
            b.stop()
            if self.wanted("4"):
                self.soap_row("4", n, pinned_cpu=0)
        finally:
            Proc.stop_all()

    def soap_row(self, num, n, pinned_cpu):
        label = ("SOAP 1.1 GetWeather (1w, pinned)" if pinned_cpu is not None else
                 "SOAP 1.1 GetWeather (default workers, unpinned)")
        target = 1.5 if pinned_cpu is not None else 1.2
        g = self.start_gsoap(n, pinned_cpu)
        sn, sg, paired = self.pair(label, n, n.url + "/soap", g, g.url + "/", "soap.lua",
                                   ("GetWeather", READ_STATION))
        ratio = paired["ratio"]
        ok = ratio >= target and sn["p99_us"] < sg["p99_us"]
        self.client_note(num, sn, sg)
        self.ratio_note(num, paired)
        self.row(num, label, cell(sn), "(b) " + cell(sg), "%.2f" % ratio,
                 "≥ %.1f and p99 lower" % target, ok,
                 {"nimbus": sn, "baseline": sg, "ratio": ratio} | paired,
                 "gSOAP baseline answer checked against nimbus's: " + self.soap_same)
        g.stop()

    # -- row 5: SOAP with default workers, unpinned --

    def soap_unpinned(self):
        try:
            n = self.start_nimbus(one_worker=False)
            self.soap_row("5", n, pinned_cpu=None)
        finally:
            Proc.stop_all()

    # -- rows 6-8: writes --

    def writes(self):
        try:
            n = self.start_nimbus()
            for sid in ("bench-w", "bench-b"):
                create_station(n.port, sid)
            fs, _, _ = run_tool([self.tool("fsync"), self.dir, "200"], 1, 120, "fdatasync probe")
            self.fsync = fs
            fsync_text = "fdatasync here: median %s, p99 %s" % (fmt_us(fs["p50_us"]),
                                                               fmt_us(fs["p99_us"]))
            record_url = n.url + "/v1/stations/bench-w/observations"
            read_url = n.url + "/v1/stations/%s/weather" % READ_STATION
            if self.wanted("6") or self.wanted("7"):
                self.checked_writes(n, record_url, "record.lua", 64, self.o.warmup, 1)
            if self.wanted("6"):
                runs = [self.checked_writes(n, record_url, "record.lua", 64, self.o.duration, 1)
                        for _ in range(self.o.runs)]
                s = summary(runs)
                self.client_note("6", s)
                self.row("6", "RecordObservations, 1 observation/request, 64 connections (1w)",
                         cell(s), fsync_text + " (context)", "—", "≥ 25,000 req/s",
                         s["rps"] >= 25000, {"nimbus": s, "fsync": fs})
            if self.wanted("7"):
                self.mixed(n, read_url, record_url)
            if self.wanted("8"):
                batch_url = n.url + "/v1/stations/bench-b/observations"
                self.checked_writes(n, batch_url, "batch.lua", 4, self.o.warmup, 1000)
                runs = [self.checked_writes(n, batch_url, "batch.lua", 4, self.o.duration, 1000)
                        for _ in range(self.o.runs)]
                s = summary(runs)
                obs = s["rps"] * 1000
                self.client_note("8", s)
                self.row("8", "RecordObservations, batches of 1,000, 4 connections (1w)",
                         "%s obs/s (%s req/s) · p99 %s · %.2f µs CPU/obs" % (
                             fmt_int(obs), fmt_int(s["rps"]), fmt_us(s["p99_us"]),
                             s["cpu_us"] / 1000), fsync_text + " (context)", "—",
                         "≥ 250,000 obs/s", obs >= 250000, {"nimbus": s, "obs_per_s": obs})
        finally:
            Proc.stop_all()

    def checked_writes(self, n, url, script, conns, duration, per_request):
        """A write run whose every answered request must have stored
        per_request new observations (the head seq moves by that much,
        plus at most the requests still in flight when wrk stopped)."""
        seq0 = settled_seq(n.port)
        r = measure(n, url, script, (fresh_epoch(),), conns, duration, script)
        self.check_seq(n, seq0, r["requests"], conns, per_request, script)
        return r

    def check_seq(self, n, seq0, requests, conns, per_request, what):
        stored = settled_seq(n.port) - seq0
        low, high = requests * per_request, (requests + conns) * per_request
        if not low <= stored <= high:
            raise WorkloadError("%s: %d requests answered 2xx but the head seq moved by %d "
                                "(expected %d..%d): observations lost or duplicated" % (
                                    what, requests, stored, low, high))

    def mixed(self, n, read_url, record_url):
        """Row 7: the weather reader with 64 writers beside it, and alone."""
        with_w, alone, writers = [], [], []
        self.warm(n, read_url, "get.lua")
        for _ in range(self.o.runs):
            seq0 = settled_seq(n.port)
            j0, c0, t0, w0 = cpu_jiffies(), child_cpu(), n.cpu_ticks(), time.time()
            w = subprocess.Popen(wrk_argv(record_url, "record.lua", (fresh_epoch(),), 64,
                                          self.o.duration), stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT)
            try:
                rd = subprocess.run(wrk_argv(read_url, "get.lua", (), 50, self.o.duration),
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    timeout=self.o.duration + 60)
                wout = w.communicate(timeout=self.o.duration + 60)[0]
            except BaseException:
                w.kill()
                w.wait()
                raise
            t1, c1, j1, w1 = n.cpu_ticks(), child_cpu(), cpu_jiffies(), time.time()
            n.alive()
            r = wrk_result(rd.stdout.decode("utf-8", "replace"), self.o.duration, "reader")
            if PIN:
                r["foreign"] = foreign_load(j0, j1, (t1 - t0) / CLK_TCK, c1 - c0, w1 - w0)
            wr = wrk_result(wout.decode("utf-8", "replace"), self.o.duration, "writers")
            self.check_seq(n, seq0, wr["requests"], 64, 1, "writers beside the reader")
            r["cpu_us"] = (t1 - t0) / CLK_TCK * 1e6 / (r["requests"] + wr["requests"])
            r["client_cpu"] = (c1 - c0) / (r["duration_us"] / 1e6)
            with_w.append(r)
            writers.append(wr)
            alone.append(measure(n, read_url, "get.lua", (), 50, self.o.duration, "reader alone"))
        sw, sa, sww = summary(with_w), summary(alone), summary(writers)
        ratio = sw["p99_us"] / sa["p99_us"]
        self.client_note("7", sw, sa)
        self.row("7", "REST GET weather while 64 connections write (1w; wrk ×2 on CPU 1)",
                 "%s · writers %s req/s (CPU/req over reads + writes)" % (cell(sw),
                                                                          fmt_int(sww["rps"])),
                 "(c) no writers: " + cell(sa), "p99 ×%.2f" % ratio, "p99 ≤ 2× (c)",
                 ratio <= 2.0, {"nimbus": sw, "baseline": sa, "writers": sww, "ratio": ratio})

    # -- row 9: idle connection memory --

    def idle_memory(self):
        res = {}
        for kind in ("ws", "http"):
            try:
                n = self.start_nimbus()
                argv = [self.tool("ws"), "idle", "--connect", "127.0.0.1:%d" % n.port,
                        "--server-pid", str(n.pid), "--sessions", str(self.o.sessions),
                        "--kind", kind]
                if kind == "ws":
                    argv += ["--subscribe", READ_STATION]
                r, rc, err = run_tool(argv, 1, 300, "idle %s client" % kind)
                n.alive()
                if rc != 0 or r["failures"]:
                    raise WorkloadError("idle %s: %d connections failed: %s" % (
                        kind, r["failures"], err[-400:].strip()))
                res[kind] = r
            finally:
                Proc.stop_all()
        ws, http = res["ws"], res["http"]
        per_ws, per_http = ws["bytes_per_session"], http["bytes_per_session"]
        grown = ws["rss_open_kib"] - ws["rss_before_kib"]
        kept = ws["rss_after_close_kib"] - ws["rss_before_kib"]
        kept_share = kept / grown if grown > 0 else 0.0
        ok = per_ws <= 8192 and kept_share <= 0.10
        self.row("9", "Idle WebSocket sessions, %s, one subscription each (1w)" %
                 fmt_int(self.o.sessions),
                 "%.1f KiB/session; after close %+d KiB (%.0f%% of the growth kept)" % (
                     per_ws / 1024, kept, kept_share * 100),
                 "%s idle HTTP keep-alive: %.1f KiB/connection; after close %+d KiB" % (
                     fmt_int(self.o.sessions), per_http / 1024,
                     http["rss_after_close_kib"] - http["rss_before_kib"]),
                 "%.1f× keep-alive" % (per_ws / per_http) if per_http > 0 else "—",
                 "≤ 8 KiB/session; ≤ 10% kept after close", ok, {"ws": ws, "http": http})

    # -- row 10: fan-out --

    def fanout(self):
        runs = []
        try:
            n = self.start_nimbus()
            stations = [READ_STATION] + ["bench-%d" % i for i in (2, 3, 4)]
            for sid in stations[1:]:
                create_station(n.port, sid)
            seconds = 2 * self.o.duration
            for _ in range(self.o.runs):
                seq0 = settled_seq(n.port)
                argv = [self.tool("ws"), "fanout", "--connect", "127.0.0.1:%d" % n.port,
                        "--subscribers", "1000", "--rate", "200", "--seconds", str(seconds),
                        "--stations", ",".join(stations), "--start-epoch", str(fresh_epoch())]
                t0 = n.cpu_ticks()
                r, rc, err = run_tool(argv, 1, seconds + 120, "fan-out client")
                n.alive()
                r["server_cpu_s"] = (n.cpu_ticks() - t0) / CLK_TCK
                if rc != 0 or not r["ok"]:
                    raise WorkloadError("fan-out delivery check failed: %s %s" % (
                        json.dumps(r), err[-400:].strip()))
                moved = settled_seq(n.port) - seq0
                if moved != r["recorded"]:
                    raise WorkloadError("fan-out: %d recorded, head seq moved by %d" % (
                        r["recorded"], moved))
                runs.append(r)
        finally:
            Proc.stop_all()
        p99 = statistics.median(r["p99_us"] for r in runs)
        p50 = statistics.median(r["p50_us"] for r in runs)
        mx = max(r["max_us"] for r in runs)
        deliveries = sum(r["deliveries"] for r in runs)
        rate = statistics.median(r["rate"] for r in runs)
        cpu = statistics.median(r["server_cpu_s"] * 1e6 / r["deliveries"] for r in runs)
        client = max(r["client_cpu"] for r in runs)
        if client > 0.9:
            self.notes.append("10: the fan-out client used %.0f%% of its CPU: latencies may be "
                              "the client's" % (client * 100))
        self.row("10", "Fan-out: 1,000 WebSocket subscribers to all stations, 200 obs/s "
                 "recorded over REST (1w)",
                 "p99 %s (p50 %s, max %s) · %.1f µs server CPU/delivery; %s deliveries, none "
                 "lost, duplicated or out of order; %.0f obs/s recorded" % (
                     fmt_us(p99), fmt_us(p50), fmt_us(mx), cpu, fmt_int(deliveries), rate),
                 "—", "—", "p99 < 20 ms, every observation to every subscriber in order",
                 p99 < 20000, {"runs": runs, "p99_us": p99})

    # -- rows 12a-12c: one and two nodes on PostgreSQL next to SQLite --

    def scale_out(self):
        """RecordObservations, one observation a request, 64 connections in
        all: one node on SQLite, one node on PostgreSQL, two nodes on one
        PostgreSQL database (32 connections to each). Nothing is pinned:
        the nodes, PostgreSQL and wrk share the machine's cores, as they
        would on one host; the cluster is a throw-away one of
        tests/lib/pg_harness.py with fsync and synchronous_commit on, on
        the same filesystem as the SQLite file."""
        sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
        import pg_harness
        why = pg_harness.missing()
        if why:
            raise WorkloadError(why)
        results = {}
        if self.wanted("12a"):
            try:
                n = self.start_nimbus(seed=False, pin=False)
                results["12a"] = self.write_nodes([n])
            finally:
                Proc.stop_all()
        if not (self.wanted("12b") or self.wanted("12c")):
            return self.scale_rows(results)
        pg = pg_harness.PgCluster()
        try:
            pg.start()
        except AssertionError as e:
            pg.stop()
            self.scale_rows(results)
            raise WorkloadError("PostgreSQL cluster: %s" % e) from None
        try:
            self.pg_fs = filesystem(pg.dir)
            for num, count in (("12b", 1), ("12c", 2)):
                if not self.wanted(num):
                    continue
                uri = pg.createdb("bench_" + num)
                try:
                    nodes = [self.start_nimbus(seed=False, db=uri, pin=False)
                             for _ in range(count)]
                    results[num] = self.write_nodes(nodes)
                finally:
                    Proc.stop_all()
        finally:
            pg.stop()
            self.scale_rows(results)

    def write_nodes(self, nodes):
        """64 connections spread over nodes, each node's to a station of its
        own; the sum of their req/s. Every answered request must have
        stored one observation (the head seq, read on the first node,
        moves by the total)."""
        urls = []
        for i, n in enumerate(nodes):
            create_station(n.port, "bench-s%d" % i)
            urls.append(n.url + "/v1/stations/bench-s%d/observations" % i)
        conns = 64 // len(nodes)
        runs = []
        for k in range(self.o.runs + 1):  # the first is the warm-up
            duration = self.o.warmup if k == 0 else self.o.duration
            seq0 = settled_seq(nodes[0].port)
            t0 = [n.cpu_ticks() for n in nodes]
            procs = [subprocess.Popen(wrk_argv(u, "record.lua", (fresh_epoch(),), conns,
                                               duration, None),
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                     for u in urls]
            outs = [p.communicate(timeout=duration + 60)[0] for p in procs]
            for n in nodes:
                n.alive()
            parts = [wrk_result(o.decode("utf-8", "replace"), duration, "writers") for o in outs]
            requests = sum(r["requests"] for r in parts)
            self.check_seq(nodes[0], seq0, requests, 64, 1, "writers on %d node(s)" % len(nodes))
            if k == 0:
                continue
            cpu = sum(n.cpu_ticks() - t for n, t in zip(nodes, t0)) / CLK_TCK
            runs.append({"rps": sum(r["rps"] for r in parts),
                         "p99_us": max(r["p99_us"] for r in parts),
                         "p50_us": max(r["p50_us"] for r in parts),
                         "cpu_us": cpu * 1e6 / requests, "requests": requests,
                         "socket_errors": sum(r["socket_errors"] for r in parts)})
        return summary(runs)

    def scale_rows(self, results):
        labels = {"12a": "SQLite, 1 node", "12b": "PostgreSQL, 1 node",
                  "12c": "PostgreSQL, 2 nodes (32 connections each)"}
        base = results.get("12a")
        for num in ("12a", "12b", "12c"):
            s = results.get(num)
            if s is None:
                continue
            self.row(num, "RecordObservations, 1 observation/request, 64 connections, %s "
                     "(1w/node, unpinned)" % labels[num],
                     cell(s) + " (nimbus CPU only)",
                     "SQLite 1 node: %s req/s" % fmt_int(base["rps"]) if base else "—",
                     "%.2f" % (s["rps"] / base["rps"]) if base else "—",
                     "— (measured, no target)", True, {"nimbus": s},
                     "the runs gave %s req/s%s" % (
                         ", ".join(fmt_int(x) for x in s["rps_all"]),
                         "" if num == "12a" else "; PostgreSQL %s on %s (fsync and "
                         "synchronous_commit on, shared_buffers 64MB), its CPU not counted"
                         % (os.path.basename(os.path.dirname(pg_harness_bin())),
                            getattr(self, "pg_fs", "?"))))

    # -- row 11: growth (opt-in) --

    def growth(self):
        """Row 11: the same reads at 100,000 and at 10 million stored, on two
        servers alive at once (one seeded to each size), their runs
        interleaved: seeded one after the other and read minutes apart, the
        two sizes were also two speeds of this VM (docs/performance.md)."""
        stations, spacing, prefix, batch = 100, 120, "g-", 1000
        small, large = self.o.growth_small, self.o.growth_large
        per_small, per_large = small // stations, large // stations
        start = 1600000000
        try:
            ns, n = self.start_nimbus(seed=False), self.start_nimbus(seed=False)
            for server in (ns, n):
                for i in range(stations):
                    create_station(server.port, "%s%03d" % (prefix, i))
                # One observation, then quiet: what a caught-up feed poller
                # of it asks costs what it returns (the station's seq index).
                create_station(server.port, prefix + "quiet")
                api(server.port, "POST", "/v1/stations/%squiet/observations" % prefix,
                    {"observations": [{"observedAt": iso(start - 60), "temperature": 1}]})
            seeds = []

            def seed(server, lo, hi):
                argv = [self.tool("seed"), "--connect", "127.0.0.1:%d" % server.port, "--prefix",
                        prefix, "--stations", str(stations), "--from", str(lo), "--to", str(hi),
                        "--batch", str(batch), "--clients", "3", "--spacing", str(spacing),
                        "--start-epoch", str(start)]
                r, rc, err = run_tool(argv, 1, 7200, "growth seeder")
                server.alive()
                if rc != 0:
                    raise WorkloadError("growth seeding failed: %s %s" % (json.dumps(r),
                                                                         err[-400:].strip()))
                seeds.append(r)
                print("  seeded %s observations at %s obs/s; longest /healthz stall %.0f ms" % (
                    fmt_int(r["observations"]), fmt_int(r["obs_per_s"]), r["longest_stall_ms"]),
                    flush=True)

            seed(ns, 0, per_small)
            seed(n, 0, per_small)
            seed(n, per_small, per_large)
            # The checkpointer copies the seeding's WAL into the database
            # for a while after it: not a read's cost, nor the other's.
            settle(n, still=1.0, limit=120.0)
            at_small, at_large = {}, {}
            for mode in ("observations", "weather", "feed", "feedstation"):
                args_s = (mode, prefix, stations, start, spacing, per_small, batch)
                args_l = (mode, prefix, stations, start, spacing, per_large, batch)
                self.warm(ns, ns.url, "growth.lua", args_s)
                self.warm(n, n.url, "growth.lua", args_l)
                runs_s, runs_l = [], []
                for _ in range(self.o.runs):
                    settle(ns)
                    runs_l.append(measure(n, n.url, "growth.lua", args_l, 50, self.o.duration,
                                          "growth " + mode))
                    settle(n)
                    runs_s.append(measure(ns, ns.url, "growth.lua", args_s, 50, self.o.duration,
                                          "growth " + mode + " (small)"))
                at_small[mode], at_large[mode] = summary(runs_s), summary(runs_l)
        finally:
            Proc.stop_all()
        big = seeds[-1]
        for num, mode, label in (("11a", "observations", "GetObservations, 100/page, random "
                                  "`from`"), ("11b", "weather", "GetWeather"),
                                 ("11c", "feed", "GetObservationFeed, 100/page, random "
                                  "`afterSeq`"),
                                 ("11d", "feedstation", "GetObservationFeed of one station "
                                  "(every other a quiet one), random `afterSeq`")):
            a, b = at_large[mode], at_small[mode]
            ratio = a["p99_us"] / b["p99_us"]
            self.client_note(num, a, b)
            self.row(num, "Growth: REST %s over %d stations, %s stored vs %s (1w)" % (
                label, stations, fmt_int(large), fmt_int(small)),
                "%s: %s" % (fmt_int(large), cell(a)), "%s: %s" % (fmt_int(small), cell(b)),
                "p99 ×%.2f" % ratio, "p99 ≤ 1.5×", ratio <= 1.5,
                {"large": a, "small": b, "ratio": ratio, "seeds": seeds})
        self.notes.append(
            "11: seeding %s observations in batches of 1,000 from 3 clients: %s obs/s; "
            "/healthz probed every 100 ms (2 s timeout) during it: %d probes, %d failed, "
            "slowest answer %.0f ms, longest stall between answers %.0f ms" % (
                fmt_int(big["observations"]), fmt_int(big["obs_per_s"]), big["probes"],
                big["probe_failures"], big["probe_max_ms"], big["longest_stall_ms"]))

    # -- driver --

    def wanted(self, num):
        return not self.o.only or num in self.o.only

    def against(self, other):
        """--against: this build's server and another nimbus binary (an
        older build), side by side on rows 1 and 2's reads and row 8's
        batches: the other's CPU per request over this one's, per run.
        Decides whether a change moved the CPU a request costs, which runs
        minutes apart cannot (docs/performance.md, "Side by side")."""
        try:
            a = self.start_nimbus(binary=other)
            b = self.start_nimbus()
            create_station(a.port, "bench-b")
            create_station(b.port, "bench-b")
            for num, path, script, args, conns in (
                    ("1", "/v1/stations/%s/weather" % READ_STATION, "get.lua", (), 50),
                    ("2", "/v1/stations/%s" % READ_STATION, "get.lua", (), 50),
                    ("8", "/v1/stations/bench-b/observations", "batch.lua",
                     lambda: (fresh_epoch(),), 4)):
                if self.o.only and num not in self.o.only:
                    continue
                for s in (a, b):
                    self.warm(s, s.url + path, script, args() if callable(args) else args, conns)
                side = self.side_by_side("row %s against %s" % (num, other), b, b.url + path, a,
                                         a.url + path, script, args, conns)
                print("row %s, %s: %s's CPU per request over this build's: %s (median %.3f)"
                      % (num, path, other, ", ".join("%.3f" % r for r in side["side_ratios"]),
                         side["ratio"]), flush=True)
        finally:
            Proc.stop_all()

    def run(self):
        steps = [(("1", "2", "3", "4"), "REST and SOAP reads (pinned)", self.reads_pinned),
                 (("5",), "SOAP GetWeather (unpinned)", self.soap_unpinned),
                 (("6", "7", "8"), "writes", self.writes),
                 (("9",), "idle connection memory", self.idle_memory),
                 (("10",), "fan-out", self.fanout)]
        if self.o.growth:
            steps.append((("11a", "11b", "11c", "11d"), "growth", self.growth))
        steps.append((("12a", "12b", "12c"), "scale-out: SQLite and PostgreSQL, 1 and 2 nodes",
                      self.scale_out))
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.load_before = os.getloadavg()
        t0 = time.time()
        for nums, name, fn in steps:
            if not any(self.wanted(n) for n in nums):
                continue
            print("== %s" % name, flush=True)
            try:
                fn()
            except (WorkloadError, subprocess.TimeoutExpired, OSError) as e:
                self.error_row([n for n in nums if self.wanted(n)], name, e)
        self.elapsed = time.time() - t0
        self.load_after = os.getloadavg()


def soap_data(xml_bytes):
    """The data of a SOAP answer: the Body's content as (namespace-qualified
    tag, text, children) with prefixes and whitespace between elements gone."""
    root = ET.fromstring(xml_bytes)

    def walk(e):
        return (e.tag, (e.text or "").strip(), tuple(walk(c) for c in e))

    body = next(e for e in root if e.tag.endswith("}Body"))
    return tuple(walk(c) for c in body)


# ---- report ------------------------------------------------------------------------

def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return "%d CPUs (nproc), %s, Linux %s" % (os.cpu_count(), model, platform.release())


def build_type(build):
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            m = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", f.read(), re.M)
            return m.group(1) if m else "unknown"
    except OSError:
        return "unknown"


def git_describe():
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--",
                                "service", "json_api", "soap", "server", "generated", "wsdl",
                                "bench"], capture_output=True, text=True).stdout.strip()
        return rev + (" with uncommitted changes" if dirty else "")
    except OSError:
        return "unknown"


def filesystem(path):
    r = subprocess.run(["findmnt", "-n", "-o", "FSTYPE,SOURCE", "-T", path], capture_output=True,
                       text=True)
    return " ".join(r.stdout.split()) or "unknown"


def table(rows):
    out = ["| workload | Nimbus | baseline | ratio | target | result |",
           "| --- | --- | --- | ---: | --- | --- |"]
    for r in rows:
        out.append("| %s. %s | %s | %s | %s | %s | %s |" % (
            r["num"], r["workload"], r["nimbus"], r["baseline"], r["ratio"], r["target"],
            r["result"]))
    return "\n".join(out)


def headline(r):
    """The figures a rerun is compared on, per row."""
    d = r["data"]
    if "nimbus" in d:
        return {"rps": d["nimbus"]["rps"], "p99_us": d["nimbus"]["p99_us"]}
    if "ws" in d:
        return {"bytes_per_session": d["ws"]["bytes_per_session"]}
    if "runs" in d:
        return {"p99_us": d["p99_us"]}
    if "large" in d:
        return {"rps": d["large"]["rps"], "p99_us": d["large"]["p99_us"]}
    return {}


def drift(rows, previous):
    """How far this run's headline figures moved from the run recorded before."""
    prev = {r["num"]: r for r in previous.get("rows", [])}
    lines = []
    for r in rows:
        p = prev.get(r["num"])
        if not p or r["result"] == "ERROR":
            continue
        parts = []
        for k, v in headline(r).items():
            if k in p.get("headline", {}) and p["headline"][k]:
                parts.append("%s %+.0f%%" % (k.replace("_us", "").replace("_", " "),
                                             (v / p["headline"][k] - 1) * 100))
        if parts:
            lines.append("%s: %s" % (r["num"], ", ".join(parts)))
    return lines


def report(b, opts):
    previous = {}
    try:
        with open(DOC) as f:
            m = re.search(r"<!-- scripts/bench:data (.*?) -->", f.read(), re.S)
            previous = json.loads(m.group(1)) if m else {}
    except (OSError, ValueError):
        previous = {}
    when = b.started.strftime("%Y-%m-%d %H:%M UTC")
    command = os.environ.get("NIMBUS_BENCH_COMMAND") or " ".join(["bench/harness.py"] +
                                                                  sys.argv[1:])
    lines = [
        "Run of %s, %s (%.0f s). Machine: %s; load average %.2f before, %.2f after "
        "(the machine is shared: see \"Noise\" below). Build: %s (`release` preset), "
        "commit %s. Data on %s." % (
            when, "`%s`" % command, b.elapsed, machine(), b.load_before[0], b.load_after[0],
            build_type(b.build), git_describe(), b.filesystem),
        "",
        "Each cell: median of %d runs of %d s after a %d s warm-up (%d in rows 4-5), Nimbus "
        "and baseline runs interleaved; p99 from wrk (or from our own client for row 10); "
        "CPU/req is the server's user + system time, all threads, from /proc/PID/stat around "
        "each run, divided by the requests answered. Ratios: rows 1-3, the median over %d runs "
        "of the baseline's CPU/req over Nimbus's with both servers loaded at the same time "
        "(side by side on CPU 0, one wrk each on CPU 1); rows 4-5, the median of the req/s "
        "ratios of adjacent Nimbus and baseline runs. %s" % (
            opts.runs, opts.duration, opts.warmup, opts.pairs, opts.pairs,
            "Server pinned to CPU 0, load generator to CPU 1 (taskset) except in rows 5 and 12."
            if PIN
            else "Not pinned: this machine has one CPU."),
        "",
        table(b.rows),
    ]
    if b.notes or b.errors:
        lines += ["", "Notes:", ""] + ["- " + n for n in b.notes + ["ERROR " + e
                                                                    for e in b.errors]]
    if b.noise:
        lines += ["", "Noise in this run, per row: the most CPU that other processes took "
                  "from CPU 0 (server) / CPU 1 (load generator) during any measured run, and "
                  "how far the fastest of a figure's runs was above the slowest: " +
                  "; ".join("%s: %.0f%% / %.0f%%, runs within %.0f%%" % (num, f0 * 100, f1 * 100,
                                                                   sp * 100)
                            for num, f0, f1, sp in b.noise) + "."]
    moved = drift(b.rows, previous)
    if moved:
        lines += ["", "Change of the headline medians from the run recorded before this one "
                  "(%s): %s." % (previous.get("when", "?"), "; ".join(moved))]
    data = {"when": when, "rows": [{"num": r["num"], "result": r["result"],
                                    "headline": headline(r)} for r in b.rows]}
    lines += ["", "<!-- scripts/bench:data %s -->" % json.dumps(data, separators=(",", ":"))]
    return "\n".join(lines)


def write_doc(text):
    with open(DOC) as f:
        doc = f.read()
    i, j = doc.find(BEGIN), doc.find(END)
    if i < 0 or j < i:
        raise SetupError("%s has no %s ... %s markers" % (DOC, BEGIN, END))
    with open(DOC, "w") as f:
        f.write(doc[:i + len(BEGIN)] + "\n" + text + "\n" + doc[j:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build", "release"),
                    help="build tree with nimbus and the bench programs")
    ap.add_argument("--growth", action="store_true",
                    help="also run the growth workload (11; slow: seeds 10 million observations)")
    ap.add_argument("--runs", type=int, default=3, help="measured runs per figure (median)")
    ap.add_argument("--pairs", type=int, default=5,
                    help="runs behind each ratio of rows 1-5 (median): side by side in 1-3, "
                    "adjacent Nimbus and baseline runs in 4-5")
    ap.add_argument("--duration", type=int, default=5, help="seconds per run")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server")
    ap.add_argument("--sessions", type=int, default=5000, help="idle connections (row 9)")
    ap.add_argument("--growth-small", type=int, default=100000, help=argparse.SUPPRESS)
    ap.add_argument("--growth-large", type=int, default=10000000, help=argparse.SUPPRESS)
    ap.add_argument("--only", default="",
                    help="comma-separated rows to run (e.g. 1,4,10); the doc is then not written")
    ap.add_argument("--no-doc", action="store_true", help="print the table only")
    ap.add_argument("--keep", action="store_true", help="keep the databases and server logs")
    ap.add_argument("--against", metavar="NIMBUS",
                    help="instead of the table: this build's server against another nimbus "
                    "binary, side by side on rows 1, 2 and 8 (CPU per request; with --only, "
                    "those rows; nothing written)")
    ap.add_argument("--canned", nargs=3, metavar=("PORT", "PATH", "FILE"),
                    help="for bench/callgrind_read.sh and perf_read.sh: seed the server on PORT "
                    "as for rows 1-3, write its answer to GET PATH to FILE as baseline (a) reads it")
    opts = ap.parse_args()
    if opts.canned:
        port, path, canned = opts.canned
        seed_reads(int(port))
        write_canned(int(port), path, canned)
        return 0
    opts.only = [x.strip() for x in opts.only.split(",") if x.strip()]
    if "11" in opts.only:
        opts.only += ["11a", "11b"]
    if "12" in opts.only:
        opts.only += ["12a", "12b", "12c"]
    if any(x.startswith("11") for x in opts.only):
        opts.growth = True
    global PIN
    PIN = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None

    def stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    b = None
    try:
        b = Bench(opts)
        if opts.against:
            if not os.access(opts.against, os.X_OK):
                raise SetupError("%s is not an executable" % opts.against)
            b.against(os.path.abspath(opts.against))
            return 0
        b.run()
    except SetupError as e:
        print("scripts/bench: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("scripts/bench: interrupted", file=sys.stderr)
        return 2
    finally:
        Proc.stop_all()
        if b and not opts.keep:
            shutil.rmtree(b.dir, ignore_errors=True)
    text = report(b, opts)
    print()
    print(text.split("\n<!-- scripts/bench:data")[0])
    if b.errors:
        print("\nscripts/bench: %d workload(s) failed to run or failed a check; %s not updated"
              % (len(b.errors), os.path.relpath(DOC, REPO)), file=sys.stderr)
        return 1
    if opts.only or opts.no_doc:
        print("\n(%s not updated: %s)" % (os.path.relpath(DOC, REPO),
                                          "--only" if opts.only else "--no-doc"))
    else:
        write_doc(text)
        print("\nwritten to %s" % os.path.relpath(DOC, REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
