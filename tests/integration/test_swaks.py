#!/usr/bin/env python3
"""A real SMTP client against referentd: swaks, plain, pipelined, with STARTTLS, and LMTP.

Each run must exit 0, and the spool must hold the message swaks sent: its headers and its body
(dot-stuffed on the wire by swaks, unstuffed on disk), behind our Received: header.
"""

import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AGENT_DOMAIN, SERVICE, DaemonTestCase, split_received  # noqa: E402

BODY = "Bonjour,\nJe demande un acte de naissance.\n.une ligne qui commence par un point\nFin"
BODY_STORED = (b"Bonjour,\r\nJe demande un acte de naissance.\r\n"
               b".une ligne qui commence par un point\r\nFin")
QUEUED = re.compile(r"^<[~-]  250 2\.0\.0 (?:<[^>]+> )?Ok: queued as ([0-9A-Za-z]+)$", re.M)


@unittest.skipUnless(shutil.which("swaks"), "swaks is not installed")
class SwaksTests(DaemonTestCase):
    daemon_kwargs = {"tls": True, "limits": {"idle_timeout": "30s"}}

    def swaks(self, *extra, port=None, to=SERVICE, subject="swaks"):
        cmd = ["swaks", "--server", "127.0.0.1", "--port", str(port or self.daemon.port()),
               "--to", to, "--from", "citoyen@example.org", "--helo", "swaks.example",
               "--header", "Subject: " + subject, "--body", BODY, "--timeout", "60"]
        cmd += list(extra)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if "TLS not available" in p.stdout + p.stderr:
            self.skipTest("swaks has no TLS: install libnet-ssleay-perl")
        self.assertEqual(p.returncode, 0, "swaks failed:\n" + p.stdout + p.stderr)
        ids = QUEUED.findall(p.stdout)
        self.assertTrue(ids, "no 'queued as' in the transcript:\n" + p.stdout)
        return ids, p.stdout

    def check_stored(self, spool_id, subject, proto):
        received, content = split_received(self.daemon.message_bytes(spool_id))
        self.assertEqual(received.group("proto").decode(), proto)
        self.assertEqual(received.group("helo"), b"swaks.example")
        headers, sep, body = content.partition(b"\r\n\r\n")
        self.assertEqual(sep, b"\r\n\r\n")
        self.assertIn(b"\r\nSubject: " + subject.encode() + b"\r\n", b"\r\n" + headers + b"\r\n")
        self.assertIn(b"\r\nFrom: citoyen@example.org\r\n", b"\r\n" + headers + b"\r\n")
        self.assertEqual(body.rstrip(b"\r\n"), BODY_STORED)
        self.assertTrue(body.endswith(b"\r\n"))
        self.assertNotIn(b"\n", content.replace(b"\r\n", b""), "bare LF stored")
        env = self.daemon.envelope(spool_id)
        self.assertEqual(env["mail-from"], "citoyen@example.org")
        return env

    def test_plain(self):
        before = len(self.daemon.incoming_ids())
        ids, _ = self.swaks(subject="plain")
        self.assertEqual(len(ids), 1)
        env = self.check_stored(ids[0], "plain", "ESMTP")
        self.assertEqual((env["tls"], env["rcpt"]), ("no", [SERVICE]))
        self.assertEqual(len(self.daemon.incoming_ids()), before + 1)

    def test_pipeline(self):
        ids, transcript = self.swaks("--pipeline", subject="pipelined")
        # swaks sends MAIL, RCPT and DATA before reading any reply.
        self.assertRegex(transcript, r" -> MAIL FROM:<citoyen@example.org>\n"
                                     r" -> RCPT TO:<[^>]+>\n -> DATA\n")
        self.check_stored(ids[0], "pipelined", "ESMTP")

    def test_starttls(self):
        ids, transcript = self.swaks("-tls", subject="tls")
        self.assertIn("=== TLS started", transcript)
        env = self.check_stored(ids[0], "tls", "ESMTPS")
        self.assertEqual(env["tls"], "yes")

    def test_starttls_with_pipeline(self):
        ids, _ = self.swaks("-tls", "--pipeline", subject="tls pipelined")
        self.check_stored(ids[0], "tls pipelined", "ESMTPS")

    def test_lmtp_on_the_internal_listener(self):
        a = "helene+%s@%s" % (self.daemon.token("agent", 1, 1), AGENT_DOMAIN)
        b = "paul+%s@%s" % (self.daemon.token("agent", 1, 2), AGENT_DOMAIN)
        ids, _ = self.swaks("--protocol", "LMTP", port=self.daemon.port("internal"),
                            to=a + "," + b, subject="lmtp")
        self.assertEqual(len(ids), 2, "one reply per recipient")
        self.assertEqual(ids[0], ids[1])
        env = self.check_stored(ids[0], "lmtp", "LMTP")
        self.assertEqual((env["role"], env["rcpt"]), ("internal", [a, b]))

    def test_refused_recipient_fails_swaks(self):
        before = len(self.daemon.incoming_ids())
        p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(self.daemon.port()),
                            "--to", "someone@example.org", "--from", "a@example.org",
                            "--timeout", "60"], capture_output=True, text=True, timeout=120)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("<** 550 5.1.1", p.stdout)
        self.assertEqual(len(self.daemon.incoming_ids()), before)


if __name__ == "__main__":
    harness.main()
