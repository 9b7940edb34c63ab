#!/usr/bin/env python3
"""/metrics and /healthz of a running referentd (ops.metrics_listen on a free loopback port):
scraped while citizens' mail flows in from several connections, the counters match what was
sent (messages queued, refusals by code, messages processed by class, deliveries by kind), the
histograms count every transaction, the queue gauges drain to zero, and the output passes
`promtool check metrics` when Prometheus's promtool is installed. /healthz answers 200 with one
line per check and 503 once the relay stops answering; unknown paths get 404, other methods
405, a malformed request 400.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CITIZEN_DOMAIN, SERVICE, DaemonTestCase, wait_until  # noqa: E402

SENDERS = 4
PER_SENDER = 15


def message(i):
    return ("From: citoyen%d@example.org\r\nTo: %s\r\nSubject: Demande %d\r\n"
            "Message-ID: <m%d@example.org>\r\n\r\nBonjour\r\n.\r\n" % (i, SERVICE, i, i)).encode()


def samples(text):
    """{(name, frozenset(labels)): value} of a text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(s, name, **labels):
    want = frozenset(labels.items())
    return sum(v for (n, l), v in s.items() if n == name and want <= l)


class MetricsTests(DaemonTestCase):
    daemon_kwargs = {"processor_workers": 1, "metrics": True,
                     "limits": {"idle_timeout": "30s", "max_notices_per_day": 1000}}

    def get(self, path, method="GET"):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.daemon.metrics_port(), path),
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def scrape(self):
        status, headers, body = self.get("/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        return body

    def test_counters_match_the_load(self):
        d = self.daemon
        scraped = []
        stop = threading.Event()

        def scraper():  # scrapes all along the load: the endpoint answers while mail flows
            while not stop.is_set():
                scraped.append(samples(self.scrape()))

        t = threading.Thread(target=scraper)
        t.start()

        def sender(k):
            with d.client() as c:
                c.ehlo()
                for j in range(PER_SENDER):
                    i = k * PER_SENDER + j
                    c.mail("citoyen%d@example.org" % i)
                    c.rcpt()
                    c.data()
                    c.send(message(i))
                    c.expect(250)

        senders = [threading.Thread(target=sender, args=(k,)) for k in range(SENDERS)]
        for s in senders:
            s.start()
        for s in senders:
            s.join()
        with d.client() as c:  # two refusals: an unknown recipient, then DATA without RCPT
            c.ehlo()
            c.mail("x@example.org")
            c.rcpt("nobody@" + CITIZEN_DOMAIN, code=550)
            c.cmd("DATA", 554)
        n = SENDERS * PER_SENDER
        wait_until(lambda: value(samples(self.scrape()), "referent_deliveries_total",
                                 outcome="delivered") >= 2 * n, 60, "every forward and ack out")
        # Delivered items leave outgoing/ once their results are recorded and flushed (the
        # settling thread, a little after the attempts counted above).
        wait_until(lambda: value(samples(self.scrape()), "referent_queue_items",
                                 state="outbound") == 0, 60, "delivered items settled")
        stop.set()
        t.join()
        self.assertGreater(len(scraped), 1)
        s = samples(self.scrape())
        self.assertEqual(value(s, "referent_messages_received_total", role="public",
                               outcome="queued"), n)
        self.assertEqual(value(s, "referent_smtp_transaction_seconds_count", role="public"), n)
        self.assertEqual(value(s, "referent_smtp_refusals_total", role="public", code="550",
                               status="5.1.1"), 1)
        self.assertEqual(value(s, "referent_smtp_refusals_total", code="554"), 1)
        self.assertEqual(value(s, "referent_messages_processed_total", role="public",
                               outcome="done"), n)
        self.assertEqual(value(s, "referent_messages_processed_total", **{"class": "human"}), n)
        self.assertEqual(value(s, "referent_processing_seconds_count"), n)
        self.assertEqual(value(s, "referent_deliveries_total", kind="forward",
                               outcome="delivered"), n)
        self.assertEqual(value(s, "referent_deliveries_total", kind="acknowledgement",
                               outcome="delivered"), n)
        self.assertEqual(value(s, "referent_delivery_delay_seconds_count"), 2 * n)
        for state in ("incoming", "outbound", "deferred", "corrupt"):
            self.assertEqual(value(s, "referent_queue_items", state=state), 0, state)
        self.assertEqual(value(s, "referent_cases", state="open"), n)  # one case per citizen
        self.assertEqual(value(s, "referent_cases", state="overdue"), 0)
        # Counters never go down between scrapes.
        for earlier, later in zip(scraped, scraped[1:]):
            for key, v in earlier.items():
                if key[0].endswith("_total"):
                    self.assertLessEqual(v, later.get(key, 0), key)

    def test_promtool_accepts_the_output(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool not installed (Debian package prometheus)")
        p = subprocess.run([promtool, "check", "metrics"], input=self.scrape(),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_healthz_paths_and_methods(self):
        status, _, body = self.get("/healthz")
        self.assertEqual(status, 200, body)
        self.assertEqual(body, "spool: ok\nstore: ok\nrelay: ok\n")
        self.assertEqual(self.get("/nope")[0], 404)
        self.assertEqual(self.get("/metrics", method="POST")[0], 405)
        status, headers, body = self.get("/metrics", method="HEAD")
        self.assertEqual((status, body), (200, ""))
        with socket.create_connection(("127.0.0.1", self.daemon.metrics_port()), 10) as s:
            s.sendall(b"garbage\r\n\r\n")
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 400 "))
        with socket.create_connection(("127.0.0.1", self.daemon.metrics_port()), 10) as s:
            s.sendall(b"GET /" + b"a" * 9000)  # no end of headers within 8 KiB
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 400 "))


class HealthTests(unittest.TestCase):
    def test_relay_that_stops_answering_turns_healthz_503(self):
        port = socket.socket()
        port.bind(("127.0.0.1", 0))
        dead = port.getsockname()[1]
        port.close()  # nothing listens there: every attempt is a refused connection
        relay = "{ url: smtp://127.0.0.1:%d, starttls: never, retry: [1s], workers: 1 }" % dead
        with harness.Daemon(name="health", processor_workers=1, metrics=True, relay=relay,
                            limits={"idle_timeout": "30s"}) as d:
            def health():
                url = "http://127.0.0.1:%d/healthz" % d.metrics_port()
                try:
                    with urllib.request.urlopen(url, timeout=10) as r:
                        return r.status, r.read().decode()
                except urllib.error.HTTPError as e:
                    return e.code, e.read().decode()
            self.assertEqual(health()[0], 200)  # no attempt yet
            with d.client() as c:
                self.assertEqual(c.send_message(message(1), sender="citoyen1@example.org").code,
                                 250)
            status, body = wait_until(lambda: (lambda h: h if h[0] == 503 else None)(health()),
                                      30, "healthz 503")
            self.assertIn("relay: last attempt failed:", body)
            self.assertIn("spool: ok\nstore: ok\n", body)


if __name__ == "__main__":
    unittest.main()
