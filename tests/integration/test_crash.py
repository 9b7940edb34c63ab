#!/usr/bin/env python3
"""Crash safety of the spool ("Must show"): a message acknowledged with 250 survives kill -9
whole; a restart removes what was never acknowledged (tmp/ leftovers, a .msg without its .env)
and moves damaged envelopes to corrupt/; under load, every 250 given before the crash is a
complete message in incoming/ after it.
"""

import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (SERVICE, ConnectionClosed, Daemon, queued_id, split_received,  # noqa
                     wait_until)

# Dot-stuffed on the wire, as a client sends it, and what the spool must hold after Received.
WIRE = (b"From: Jean Dupont <jean@example.org>\r\nSubject: acte de naissance\r\n\r\n"
        b"..une ligne qui commence par un point\r\n"
        + "Réponse attendue sous 5 jours.\r\n".encode()
        + b"z" * 998 + b"\r\n") * 50
STORED = WIRE.replace(b"\r\n..", b"\r\n.")
VALID_ENVELOPE = ("referent-envelope 1\nid: {id}\narrival: 2026-01-02T03:04:05.000006Z\n"
                  "role: public\nprotocol: ESMTP\nclient: 127.0.0.1:40000\nhelo: t\ntls: no\n"
                  "smtputf8: no\nbody: 7BIT\nmail-from: a@example.org\n"
                  "rcpt: etat-civil@mairie-exemple.fr\n")


class CrashTests(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(name="crash", limits={"max_message_size": "10MiB"})
        self.addCleanup(self.d.close)

    def send(self, wire):
        with self.d.client() as c:
            reply = c.send_message(wire + b".\r\n")
            return queued_id(reply)

    def assert_whole(self, spool_id, expected):
        received, content = split_received(self.d.message_bytes(spool_id))
        self.assertEqual(received.group("id").decode(), spool_id)
        self.assertEqual(content, expected)
        env = self.d.envelope(spool_id)
        self.assertEqual((env["id"], env["rcpt"]), (spool_id, [SERVICE]))

    def test_acknowledged_message_survives_kill_9(self):
        spool_id = self.send(WIRE)
        self.assertEqual(self.d.kill9(), -9)
        self.assertEqual(self.d.incoming_ids(), [spool_id])
        self.assert_whole(spool_id, STORED)

        self.d.start()
        self.d.wait_for_log(r"recovered .*: 1 committed, 0 partial removed, 0 moved to corrupt/$")
        self.assertEqual(self.d.incoming_ids(), [spool_id])
        self.assert_whole(spool_id, STORED)
        second = self.send(b"Subject: after restart\r\n\r\nx\r\n")
        self.assertEqual(self.d.incoming_ids(), sorted([spool_id, second]))
        self.assertEqual(self.d.stop(), 0)

    def test_restart_cleans_leftovers_and_quarantines_damage(self):
        acked = self.send(WIRE)
        self.assertEqual(self.d.kill9(), -9)
        tmp = os.path.join(self.d.spool, "tmp")
        incoming = os.path.join(self.d.spool, "incoming")
        corrupt = os.path.join(self.d.spool, "corrupt")

        def write(path, data):
            with open(path, "wb") as f:
                f.write(data)

        # What a crash in the middle of a commit leaves: never acknowledged.
        write(os.path.join(tmp, "0000000000000000aaaaaa.msg"), b"Subject: half\r\n")
        write(os.path.join(tmp, "0000000000000000aaaaaa.env"), b"referent-envelope 1\nid: 00")
        os.mkdir(os.path.join(tmp, "stray-dir"))
        write(os.path.join(tmp, "stray-dir", "x"), b"x")
        write(os.path.join(incoming, "0000000000000001bbbbbb.msg"), b"Subject: orphan\r\n\r\n")
        # Damage: the envelope cannot be trusted, so the pair goes to corrupt/.
        garbage = "0000000000000002cccccc"
        write(os.path.join(incoming, garbage + ".msg"), b"Subject: g\r\n\r\nbody\r\n")
        write(os.path.join(incoming, garbage + ".env"), b"\x00\xffthis is not an envelope")
        lonely = "0000000000000003dddddd"
        write(os.path.join(incoming, lonely + ".env"), VALID_ENVELOPE.format(id=lonely).encode())
        mismatch = "0000000000000004eeeeee"
        write(os.path.join(incoming, mismatch + ".msg"), b"Subject: m\r\n\r\nbody\r\n")
        write(os.path.join(incoming, mismatch + ".env"),
              VALID_ENVELOPE.format(id="0000000000000005ffffff").encode())
        truncated = "0000000000000006aaaaaa"
        write(os.path.join(incoming, truncated + ".msg"), b"Subject: t\r\n\r\nbody\r\n")
        write(os.path.join(incoming, truncated + ".env"),
              VALID_ENVELOPE.format(id=truncated).encode()[:-1])  # no final newline

        self.d.start()
        self.d.wait_for_log(r"recovered .*: 1 committed, 4 partial removed, 4 moved to corrupt/$")
        self.assertEqual(self.d.files("tmp"), [])
        self.assertEqual(self.d.files("incoming"), [acked + ".env", acked + ".msg"])
        self.assert_whole(acked, STORED)
        moved = self.d.files("corrupt")
        for spool_id in (garbage, lonely, mismatch, truncated):
            self.assertIn(spool_id + ".env", moved)
            self.assertIn(spool_id + ".reason", moved)
        for spool_id in (garbage, mismatch, truncated):
            self.assertIn(spool_id + ".msg", moved)
        with open(os.path.join(corrupt, garbage + ".msg"), "rb") as f:
            self.assertEqual(f.read(), b"Subject: g\r\n\r\nbody\r\n", "bytes kept for a human")
        # And the daemon serves as usual.
        fresh = self.send(b"Subject: after recovery\r\n\r\nx\r\n")
        self.assert_whole(fresh, b"Subject: after recovery\r\n\r\nx\r\n")
        self.assertEqual(self.d.stop(), 0)

    def test_every_250_survives_kill_9_under_load(self):
        acked = {}          # spool id -> stored bytes expected
        sent = set()        # every content a client finished sending
        lock = threading.Lock()
        stop = threading.Event()
        port = self.d.port()

        def sender(n):
            try:
                with harness.Client(port, timeout=30) as c:
                    c.ehlo()
                    seq = 0
                    while not stop.is_set():
                        seq += 1
                        content = b"Subject: load %d.%d\r\n\r\n" % (n, seq) + b"y" * (n * 500)
                        content += b"\r\n..dot %d.%d\r\n" % (n, seq)
                        c.mail()
                        c.rcpt()
                        c.data()
                        with lock:
                            sent.add(content.replace(b"\r\n..", b"\r\n."))
                        c.send(content + b".\r\n")
                        spool_id = queued_id(c.recv_reply())
                        with lock:
                            acked[spool_id] = content.replace(b"\r\n..", b"\r\n.")
            except (OSError, ConnectionClosed, AssertionError):
                pass  # the daemon died under us: expected

        threads = [threading.Thread(target=sender, args=(n,), daemon=True) for n in range(1, 5)]
        for t in threads:
            t.start()
        wait_until(lambda: len(acked) >= 40, 60, "40 acknowledged messages")
        self.d.kill9()
        stop.set()
        for t in threads:
            t.join(30)
        with lock:
            acked_now = dict(acked)

        self.d.start()
        self.d.wait_for_log(r"recovered .*: \d+ committed, \d+ partial removed, "
                            r"0 moved to corrupt/$")
        self.assertEqual(self.d.files("tmp"), [])
        present = set(self.d.incoming_ids())
        missing = set(acked_now) - present
        self.assertFalse(missing, "acknowledged but lost: %s" % sorted(missing))
        for spool_id in present:
            received, content = split_received(self.d.message_bytes(spool_id))
            if spool_id in acked_now:
                self.assertEqual(content, acked_now[spool_id], spool_id)
            else:  # committed just before the kill, the 250 lost in flight: still whole
                self.assertIn(content, sent, spool_id)
            self.assertEqual(self.d.envelope(spool_id)["id"], spool_id)
        self.assertEqual(len(self.d.files("incoming")), 2 * len(present), "unpaired files")
        self.assertEqual(self.d.stop(), 0)


if __name__ == "__main__":
    harness.main()
