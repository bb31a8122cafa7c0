# SPDX-License-Identifier: GPL-3.0-or-later
"""Acknowledged means durable (contract: RecordObservations). A writer
records batches over SOAP as fast as the server acknowledges them while the
server is killed with SIGKILL at random moments and restarted on the same
database. Afterwards every acknowledged observation must be stored with the
seq its acknowledgement promised, sequence numbers must never have been
reused, and they must keep increasing across restarts.

The writer thread only records what it saw; the main thread asserts. Only a
connection-level failure (refused, reset, timeout, EOF) after the kill began
means "the server died, this batch is unacknowledged". A SOAP Fault, an HTTP
error status or a malformed or unexpected answer fails the test with the
details, and so does a connection failure while nobody was killing the
server."""

import calendar
import http.client
import os
import random
import socket
import sys
import threading
import time
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from nimbus_harness import NimbusServer  # noqa: E402

BINARY = sys.argv.pop(1)
NS = "urn:nimbus:weather:v1"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
KILLS = 5
BATCH = 5
# Generous: a sanitizer build on a busy 2-core machine is slow, and a write
# that times out while the server is alive fails the test.
WRITE_TIMEOUT = 15


# What a SIGKILLed server looks like from the client: the connection is
# refused (not listening), reset or closed early (RemoteDisconnected,
# IncompleteRead), or nothing arrives (timeout). Everything else is an answer.
CONNECTION_LOST = (ConnectionError, socket.timeout, http.client.IncompleteRead,
                   http.client.RemoteDisconnected)


class UnexpectedAnswer(Exception):
    """The server answered, but not with the operation's response."""


def soap_call(port, op, inner, timeout=10):
    """Returns the <opResponse> element. Raises one of CONNECTION_LOST when
    the connection failed, UnexpectedAnswer for anything else (a Fault, an
    HTTP error, a body that is not the response)."""
    body = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<s:Envelope xmlns:s="%s" xmlns:n="%s"><s:Body><n:%s>%s</n:%s></s:Body></s:Envelope>'
            % (ENV, NS, op, inner, op)).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/soap", body, {"Content-Type": "text/xml; charset=utf-8",
                                             "SOAPAction": '"urn:nimbus:weather:v1/%s"' % op})
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    shown = "%s: HTTP %d %s\n%s" % (op, resp.status, resp.reason,
                                    data.decode(errors="replace")[:2000])
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise UnexpectedAnswer("not XML (%s) from %s" % (e, shown)) from None
    if root.find(".//{%s}Fault" % ENV) is not None:
        raise UnexpectedAnswer("Fault from " + shown)
    if resp.status != 200:
        raise UnexpectedAnswer("error status without a Fault from " + shown)
    result = root.find(".//{%s}%sResponse" % (NS, op))
    if result is None:
        raise UnexpectedAnswer("no %sResponse in " % op + shown)
    return result


def text(elem, name):
    child = elem.find("{%s}%s" % (NS, name))
    return None if child is None else child.text


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Durability(unittest.TestCase):
    def test_acknowledged_observations_survive_kill_9(self):
        # server_durability_pg: the same on PostgreSQL (NIMBUS_TEST_PG_URI,
        # a fresh database of the pg_cluster fixture's cluster).
        srv = NimbusServer(BINARY, args=["--quiet"],
                           db_path=os.environ.get("NIMBUS_TEST_PG_URI")).start()
        try:
            soap_call(srv.port, "CreateStation",
                      "<n:station><n:id>dur-1</n:id><n:name>Durability</n:name>"
                      "<n:city>Testville</n:city><n:country>NO</n:country>"
                      "<n:latitude>60.0</n:latitude><n:longitude>10.5</n:longitude></n:station>")
            # What the writers saw, in order. Appended by one writer thread
            # at a time, read by the main thread once that writer is joined.
            acks = []        # (cycle, t0, accepted, firstSeq, lastSeq)
            unexpected = []  # (cycle, batch t0, description)
            deaths = []      # (cycle, batch t0, exception) after the kill began
            next_t = [1_700_000_000]

            def writer(cycle, port, killing, stop):
                while not stop.is_set():
                    t0 = next_t[0]
                    next_t[0] += BATCH
                    inner = "<n:stationId>dur-1</n:stationId>" + "".join(
                        "<n:observation><n:observedAt>%s</n:observedAt>"
                        "<n:temperature>%d.5</n:temperature></n:observation>" % (iso(t0 + i), i)
                        for i in range(BATCH))
                    try:
                        resp = soap_call(port, "RecordObservations", inner, timeout=WRITE_TIMEOUT)
                    except CONNECTION_LOST as e:
                        if killing.is_set():
                            deaths.append((cycle, t0, repr(e)))  # unacknowledged
                        else:
                            unexpected.append((cycle, t0, "connection failed while the server "
                                               "was not being killed: %r" % e))
                        return
                    except Exception as e:  # noqa: BLE001 -- reported by the main thread
                        unexpected.append((cycle, t0, "%s: %s" % (type(e).__name__, e)))
                        return
                    try:
                        acks.append((cycle, t0, text(resp, "accepted"),
                                     int(text(resp, "firstSeq")), int(text(resp, "lastSeq"))))
                    except (TypeError, ValueError) as e:
                        unexpected.append((cycle, t0, "malformed acknowledgement (%s): %s"
                                           % (e, ET.tostring(resp, encoding="unicode"))))
                        return

            for cycle in range(KILLS):
                killing, stop = threading.Event(), threading.Event()
                th = threading.Thread(target=writer, args=(cycle, srv.port, killing, stop),
                                      daemon=True)
                th.start()
                time.sleep(random.uniform(0.3, 1.0))
                # A server that stopped by itself (a crash, a sanitizer
                # report) is not one we killed: say so instead of counting
                # its refusals as the kill.
                self.assertIsNone(srv.proc.poll(), "nimbus exited with %s before cycle %d's "
                                  "kill" % (srv.proc.returncode, cycle))
                killing.set()
                srv.kill9()
                stop.set()
                th.join(WRITE_TIMEOUT + 10)
                self.assertFalse(th.is_alive(), "writer of cycle %d hangs" % cycle)
                self.assertEqual(unexpected, [], "the server answered a write with something "
                                 "other than an acknowledgement, or dropped it while alive")
                srv.start()

            acked = {}  # observedAt -> seq
            last_seq = 0
            for cycle, t0, accepted, first, last in acks:
                where = "cycle %d, batch at %s" % (cycle, iso(t0))
                self.assertEqual(accepted, str(BATCH), where)
                self.assertEqual(last - first + 1, BATCH, where)
                # One writer, one request at a time: every acknowledgement
                # promises seqs after the previous one's, across restarts too.
                self.assertGreater(first, last_seq, "seq went back: " + where)
                last_seq = last
                for i in range(BATCH):
                    acked[t0 + i] = first + i
            self.assertGreater(len(acked), BATCH * KILLS,
                               "the writer acknowledged too little; its writes ended with %r"
                               % deaths)

            stored = {}
            cursor = None
            while True:
                inner = "<n:stationId>dur-1</n:stationId><n:limit>1000</n:limit>"
                if cursor:
                    inner += "<n:cursor>%s</n:cursor>" % cursor
                resp = soap_call(srv.port, "GetObservations", inner)
                for obs in resp.findall("{%s}observation" % NS):
                    t = calendar.timegm(time.strptime(text(obs, "observedAt"),
                                                      "%Y-%m-%dT%H:%M:%SZ"))
                    stored[t] = int(text(obs, "seq"))
                cursor = text(resp, "nextCursor")
                if not cursor:
                    break
            for t, seq in acked.items():
                self.assertIn(t, stored, "acknowledged observation %s lost" % iso(t))
                self.assertEqual(stored[t], seq, "seq of %s changed" % iso(t))
            seqs = sorted(stored.values())
            self.assertEqual(len(seqs), len(set(seqs)), "a seq was reused")

            # New writes after the last restart continue the sequence.
            resp = soap_call(srv.port, "RecordObservations",
                             "<n:stationId>dur-1</n:stationId><n:observation>"
                             "<n:observedAt>2030-01-01T00:00:00Z</n:observedAt></n:observation>")
            self.assertGreater(int(text(resp, "firstSeq")), max(seqs))
            srv.stop()
        except BaseException:
            print(srv.log_text()[-5000:])
            srv.kill9()
            raise
        srv.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
