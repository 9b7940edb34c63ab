#!/usr/bin/env python3
"""Fault injection with libfiu ("Must show"): referentd runs under `fiu-run -x` (the POSIX
preload library) and failpoints are switched at run time with `fiu-ctrl`. A failed fsync or
rename answers 451 4.3.0, leaves nothing in incoming/ or tmp/, and no 250 is ever given for a
message that is not on disk.

Failpoints: posix/io/sync/fsync (file and directory fsyncs alike), posix/io/dir/rename.
failinfo=5 pins errno to EIO, so a failure never looks like a retryable EINTR.
"""

import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fiu  # noqa: E402
import harness  # noqa: E402
from fiu import FSYNC, RENAME  # noqa: E402
from harness import AGENT_DOMAIN, Daemon, queued_id, split_received  # noqa: E402

CONTENT = b"Subject: fault\r\n\r\nbody\r\n"


@fiu.usable
class FsyncFaultTests(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(start=False, name="fiu", limits={"max_errors": 1000})
        self.addCleanup(self.d.close)
        self.points = fiu.start(self, self.d)

    def send(self, c):
        c.mail()
        c.rcpt()
        c.data()
        c.send(CONTENT + b".\r\n")
        return c.recv_reply()

    def assert_spool_holds_exactly(self, ids):
        self.assertEqual(self.d.incoming_ids(), sorted(ids))
        self.assertEqual(len(self.d.files("incoming")), 2 * len(ids), self.d.files("incoming"))
        self.assertEqual(self.d.files("tmp"), [])
        for spool_id in ids:
            self.assertEqual(split_received(self.d.message_bytes(spool_id))[1], CONTENT)

    def test_failed_fsync_answers_451_and_leaves_nothing(self):
        c = self.d.client()
        self.addCleanup(c.close)
        c.ehlo()
        first = queued_id(self.send(c))

        mark = self.d.log_mark()
        self.points.enable(FSYNC)
        r = self.send(c)
        self.assertEqual((r.code, r.lines[0]), (451, "4.3.0 Error: queue file write error"))
        self.d.wait_for_log(r"not queued: fsync .*Input/output error", since=mark)
        self.assert_spool_holds_exactly([first])

        # LMTP: the failure is reported once per accepted recipient.
        lmtp = self.d.client("internal")
        self.addCleanup(lmtp.close)
        lmtp.ehlo(lmtp=True)
        lmtp.mail()
        lmtp.rcpt("helene+%s@%s" % (self.d.token("agent", 1, 1), AGENT_DOMAIN))
        lmtp.rcpt("paul+%s@%s" % (self.d.token("agent", 1, 2), AGENT_DOMAIN))
        lmtp.data()
        lmtp.send(CONTENT + b".\r\n")
        lmtp.expect(451, "4.3.0")
        lmtp.expect(451, "4.3.0")
        self.assert_spool_holds_exactly([first])

        self.points.disable(FSYNC)
        second = queued_id(self.send(c))
        self.assert_spool_holds_exactly([first, second])
        c.cmd("QUIT", 221)
        self.assertEqual(self.d.stop(), 0)
        self.d.wait_for_log(r"stopped: messages=2 failed=2 ")

    def test_failed_rename_answers_451_and_leaves_nothing(self):
        c = self.d.client()
        self.addCleanup(c.close)
        c.ehlo()
        self.points.enable(RENAME)
        r = self.send(c)
        self.assertEqual(r.code, 451, r.raw)
        self.assert_spool_holds_exactly([])
        self.points.disable(RENAME)
        ok = queued_id(self.send(c))
        self.assert_spool_holds_exactly([ok])

    def test_random_fsync_failures_under_concurrency(self):
        acked, refused = [], []
        lock = threading.Lock()
        errors = []

        def sender():
            try:
                with harness.Client(self.d.port(), timeout=60) as c:
                    c.ehlo()
                    for _ in range(10):
                        r = self.send(c)
                        with lock:
                            if r.code == 250:
                                acked.append(queued_id(r))
                            else:
                                refused.append(r.raw)
            except Exception as e:  # reported below, in the test's thread
                errors.append(repr(e))

        self.points.enable(FSYNC, probability=0.3)
        threads = [threading.Thread(target=sender, daemon=True) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.points.disable(FSYNC)
        self.assertEqual(errors, [])
        self.assertEqual(len(acked) + len(refused), 40)
        for raw in refused:
            self.assertEqual(raw, b"451 4.3.0 Error: queue file write error\r\n")
        self.assertTrue(acked and refused, "expected both outcomes: %d acked, %d refused"
                        % (len(acked), len(refused)))
        # Every 250 is on disk, and nothing that got a 451 is.
        self.assert_spool_holds_exactly(acked)
        self.assertEqual(self.d.stop(), 0)
        self.d.wait_for_log(r"stopped: messages=%d failed=%d " % (len(acked), len(refused)))
        # A restart finds exactly the acknowledged messages, nothing partial or damaged.
        self.d.start()
        self.d.wait_for_log(r"recovered .*: %d committed, 0 partial removed, 0 moved to corrupt/$"
                            % len(acked))


if __name__ == "__main__":
    harness.main()
