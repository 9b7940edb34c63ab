#!/usr/bin/env python3
"""The flow through a real SMTP relay (a recording sink on a loopback port, smtp_sink.py):
bounces of mail to citizens come back by their VERP address and reach the referent; a relay
that refuses a citizen's address makes the referent hear of it; a relay outage only grows the
queue, and every message is delivered once the relay is back, none twice; kill -9 of referentd
in mid-flow loses nothing it acknowledged.
"""

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CITIZEN_DOMAIN, SERVICE, Daemon, queued_id, wait_until  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402

AGENT = "helene@services." + CITIZEN_DOMAIN


def message(sender, subject, msgid, body="Bonjour", extra=""):
    text = ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\n%s"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n"
            % (sender, SERVICE, subject, msgid, extra, body))
    return text.encode("utf-8") + b".\r\n"


def dsn(verp, citizen):
    return ("From: MAILER-DAEMON@mx.example.org\r\nTo: <%s>\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
            "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.org\r\n\r\n"
            "Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 <%s>: user unknown\r\n--b--\r\n.\r\n"
            % (verp, citizen, citizen)).encode("utf-8")


class RelayFlowTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = SmtpSink()
        cls.addClassCleanup(cls.sink.stop)
        relay = ("{ url: %s, starttls: never, retry: [1s], workers: 2 }" % cls.sink.url())
        cls.daemon = Daemon(name=cls.__name__, processor_workers=1, relay=relay,
                            limits={"idle_timeout": "30s"}, metrics=True,
                            agents=[("helene", "Hélène Lefèvre", AGENT, "max_open_cases: 100000")])
        cls.addClassCleanup(cls.daemon.close)

    def send(self, data, sender, rcpt=SERVICE):
        with self.daemon.client() as c:
            return queued_id(c.send_message(data, rcpts=(rcpt,), sender=sender))

    def test_8_bounce_reaches_the_referent(self):
        citizen = "typo@example.org"
        self.send(message(citizen, "Carte d'identité", "b1@example.org"), citizen)
        ack = wait_until(lambda: self.sink.to(citizen), 20, "the acknowledgement")[0]
        verp = ack.mail_from
        self.assertTrue(verp.startswith("etat-civil+") and verp.endswith("@" + CITIZEN_DOMAIN),
                        verp)
        self.send(dsn(verp, citizen), "", rcpt=verp)
        notice = wait_until(lambda: [t for t in self.sink.to(AGENT)
                                     if "non remis à %s" % citizen in str(t.message()["Subject"])],
                            20, "the delivery-failure notice")[0]
        text = notice.message().get_body(("plain",)).get_content()
        self.assertIn(citizen, text)
        self.assertIn("5.1.1", text)

    def test_10_relay_refusal_reaches_the_referent(self):
        citizen = "nobody@example.org"
        self.sink.refuse.add(citizen)
        self.send(message(citizen, "Demande", "r1@example.org"), citizen)
        wait_until(lambda: [t for t in self.sink.to(AGENT)
                            if "non remis" in str(t.message()["Subject"])
                            and citizen in t.message().get_body(("plain",)).get_content()],
                   20, "the delivery-failure notice")
        self.assertEqual(self.sink.to(citizen), [])

    def test_10_refused_forward_is_recorded_and_counted(self):
        # Nobody can be told by mail when the referent's own mailbox refuses the forward: the
        # case's event log says so, and referent_delivery_failures_total counts it.
        citizen = "refusedforward@example.org"
        self.sink.refuse.add(AGENT.lower())
        try:
            self.send(message(citizen, "Refus du relais", "rf1@example.org"), citizen)

            def events():
                db = sqlite3.connect(os.path.join(self.daemon.dir, "referent.db"), timeout=10)
                try:
                    return db.execute(
                        "SELECT e.detail FROM events e JOIN cases c ON c.id = e.case_id JOIN "
                        "citizens z ON z.id = c.citizen_id WHERE z.address = ? AND "
                        "e.kind = 'delivery_failed'", (citizen,)).fetchall()
                finally:
                    db.close()

            detail = wait_until(events, 20, "the delivery_failed event")[0][0]
        finally:
            self.sink.refuse.discard(AGENT.lower())
        self.assertIn("kind=forward", detail)
        self.assertIn("status=5.1.1", detail)
        url = "http://127.0.0.1:%d/metrics" % self.daemon.metrics_port()
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
        self.assertRegex(text, r'referent_delivery_failures_total\{kind="forward"\} [1-9]')

    def test_10_relay_outage_delays_and_loses_nothing(self):
        self.sink.stop()
        subjects = ["Panne %d" % i for i in range(5)]
        try:
            for i, s in enumerate(subjects):
                self.send(message("outage%d@example.org" % i, s, "o%d@example.org" % i),
                          "outage%d@example.org" % i)
            time.sleep(5)  # the relay is down: the queue grows, nothing is lost
        finally:
            self.sink.start()
        for i, s in enumerate(subjects):
            wait_until(lambda: self.sink.to("outage%d@example.org" % i), 30, "the acknowledgement")
        forwards = [t for t in self.sink.to(AGENT)
                    if any(s in str(t.message()["Subject"]) for s in subjects)]
        wait_until(lambda: len([t for t in self.sink.to(AGENT)
                                if any(s in str(t.message()["Subject"]) for s in subjects)]) >= 5,
                   30, "the five forwards")
        ids = [t.message()["Message-ID"] for t in self.sink.to(AGENT)
               if any(s in str(t.message()["Subject"]) for s in subjects)]
        self.assertEqual(len(ids), len(set(ids)), "a forward was delivered twice")
        del forwards

    def test_10_kill9_mid_flow_loses_nothing(self):
        accepted = []
        stop = threading.Event()

        def citizens(k):
            i = 0
            while not stop.is_set():
                sender = "crash%d-%d@example.org" % (k, i)
                subject = "Crash %d-%d" % (k, i)
                try:
                    accepted.append((self.send(message(sender, subject, "%d-%d@c" % (k, i)),
                                               sender), subject))
                except (AssertionError, OSError, ConnectionError):
                    pass  # refused or cut by the kill: not acknowledged, may be lost
                i += 1
                time.sleep(0.02)  # a busy MX, not a flood: the kill lands mid-flow

        threads = [threading.Thread(target=citizens, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        time.sleep(2)
        self.daemon.kill9()
        # What was in flight at the kill: the items still in outgoing/ (queued, in a worker's
        # hands, or delivered and not yet settled). Only these may go out twice.
        in_flight = len([n for n in os.listdir(os.path.join(self.daemon.spool, "outgoing"))
                         if n.endswith(".item")])
        stop.set()
        for t in threads:
            t.join()
        self.daemon.start()
        self.assertGreater(len(accepted), 5)

        def arrived(subject):
            return [t for t in self.sink.to(AGENT)
                    if str(t.message()["Subject"]).endswith("] " + subject)]

        for _, subject in accepted:
            wait_until(lambda: arrived(subject), 60, "the forward of %s" % subject)
        twice = [s for _, s in accepted if len(arrived(s)) > 1]
        print("kill -9: %d messages acknowledged, all forwarded, %d forwarded twice (replays "
              "of the %d items in flight)" % (len(accepted), len(twice), in_flight),
              file=sys.stderr)
        self.assertLessEqual(len(twice), in_flight, "more duplicates than items in flight")
        for subject in twice:  # a replay: the very same message again, not a new one
            copies = {t.data for t in arrived(subject)}
            self.assertEqual(len(copies), 1, subject)


class QueueCommandsTests(unittest.TestCase):
    """referentctl queue and retry against a relay outage: the deferred items are listed with
    their attempts and error, and `retry --all` sends them as soon as the relay is back instead
    of at the next retry (an hour away here)."""

    def test_queue_lists_deferred_items_and_retry_sends_them_now(self):
        sink = SmtpSink()
        self.addCleanup(sink.stop)
        relay = "{ url: %s, starttls: never, retry: [1h], workers: 1 }" % sink.url()
        d = Daemon(name="queue", processor_workers=1, relay=relay,
                   limits={"idle_timeout": "30s"})
        self.addCleanup(d.close)

        def ctl(*args):
            p = subprocess.run([harness.referentctl_path(), "-c", d.config_path] + list(args),
                               capture_output=True, text=True, timeout=60, cwd=d.dir)
            self.assertEqual(p.returncode, 0, p.stderr)
            return p.stdout

        sink.stop()
        citizen = "queued@example.org"
        with d.client() as c:
            queued_id(c.send_message(message(citizen, "File", "q1@example.org"),
                                     rcpts=(SERVICE,), sender=citizen))
        items = wait_until(lambda: (lambda q: q if len(q) == 2 and all(
            i["state"] == "deferred" for i in q) else None)(json.loads(ctl("queue", "--json"))),
            20, "two deferred items")
        self.assertEqual(sorted(i["kind"] for i in items), ["acknowledgement", "forward"])
        self.assertTrue(all(i["attempts"] == 1 and i["last_error"] for i in items), items)
        self.assertIn("deferred", ctl("queue"))
        sink.start()
        self.assertEqual(ctl("retry", "--all"), "2 deferred item(s) due now\n")
        wait_until(lambda: sink.to(citizen) and sink.to(AGENT), 20, "both delivered")
        wait_until(lambda: json.loads(ctl("queue", "--json")) == [], 20, "an empty queue")
        p = subprocess.run([harness.referentctl_path(), "-c", d.config_path, "retry", "nope"],
                           capture_output=True, text=True, timeout=60, cwd=d.dir)
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    harness.main()
