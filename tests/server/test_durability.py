"""Acknowledged means durable (contract: RecordObservations). A writer
records batches over SOAP as fast as the server acknowledges them while the
server is killed with SIGKILL at random moments and restarted on the same
database. Afterwards every acknowledged observation must be stored with the
seq its acknowledgement promised, sequence numbers must never have been
reused, and they must keep increasing across restarts."""

import calendar
import http.client
import os
import random
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


def soap_call(port, op, inner, timeout=10):
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
    root = ET.fromstring(data)
    fault = root.find(".//{%s}Fault" % ENV)
    if fault is not None:
        raise RuntimeError("fault from %s: %s" % (op, data.decode(errors="replace")))
    return root.find(".//{%s}%sResponse" % (NS, op))


def text(elem, name):
    child = elem.find("{%s}%s" % (NS, name))
    return None if child is None else child.text


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Durability(unittest.TestCase):
    def test_acknowledged_observations_survive_kill_9(self):
        srv = NimbusServer(BINARY, args=["--quiet"]).start()
        try:
            soap_call(srv.port, "CreateStation",
                      "<n:station><n:id>dur-1</n:id><n:name>Durability</n:name>"
                      "<n:city>Testville</n:city><n:country>NO</n:country>"
                      "<n:latitude>60.0</n:latitude><n:longitude>10.5</n:longitude></n:station>")
            acked = {}  # observedAt -> seq
            next_t = [1_700_000_000]

            def writer(port, stop):
                while not stop.is_set():
                    t0 = next_t[0]
                    next_t[0] += BATCH
                    inner = "<n:stationId>dur-1</n:stationId>" + "".join(
                        "<n:observation><n:observedAt>%s</n:observedAt>"
                        "<n:temperature>%d.5</n:temperature></n:observation>" % (iso(t0 + i), i)
                        for i in range(BATCH))
                    try:
                        resp = soap_call(port, "RecordObservations", inner, timeout=3)
                    except Exception:
                        return  # the server died under us: this batch is unacknowledged
                    self.assertEqual(text(resp, "accepted"), str(BATCH))
                    first, last = int(text(resp, "firstSeq")), int(text(resp, "lastSeq"))
                    self.assertEqual(last - first + 1, BATCH)
                    for i in range(BATCH):
                        acked[t0 + i] = first + i

            for cycle in range(KILLS):
                stop = threading.Event()
                th = threading.Thread(target=writer, args=(srv.port, stop))
                th.start()
                time.sleep(random.uniform(0.3, 1.0))
                srv.kill9()
                stop.set()
                th.join(10)
                self.assertFalse(th.is_alive())
                srv.start()
            self.assertGreater(len(acked), BATCH * KILLS, "the writer acknowledged too little")

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


if __name__ == "__main__":
    unittest.main(verbosity=2)
