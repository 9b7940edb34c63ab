#!/usr/bin/env python3
"""referentd under a service manager: what it sends to $NOTIFY_SOCKET (sd_notify(3)).

The test plays systemd's part: it binds an AF_UNIX datagram socket in a temporary directory,
starts referentd with NOTIFY_SOCKET pointing at it, WATCHDOG_USEC=400000 (pings every 200 ms)
and WATCHDOG_PID set to referentd's own pid, and reads READY=1 with a STATUS= line, WATCHDOG=1
repeatedly while the io loop turns, and STOPPING=1 at SIGTERM, after which no ping comes even
while a transaction is still draining. SO_PASSCRED shows each datagram came from referentd
itself, as systemd's NotifyAccess=main requires.
"""

import os
import shutil
import signal
import socket
import struct
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, queued_id  # noqa: E402

WATCHDOG_USEC = 400000
READY = "READY=1\nSTATUS=serving on 2 listeners"
STOPPING = "STOPPING=1\nSTATUS=stopping"
CREDS = struct.Struct("iII")  # struct ucred: pid, uid, gid


class NotifySocket:
    """The service manager's end: a bound datagram socket that records (pid, message)."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(self.path)
        self.received = []  # (monotonic time, sender pid, text)

    def receive(self, timeout):
        """Reads every datagram that arrives within `timeout` seconds; returns the new ones."""
        deadline = time.monotonic() + timeout
        new = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return new
            self.sock.settimeout(left)
            try:
                data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(CREDS.size))
            except socket.timeout:
                return new
            pid = None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = CREDS.unpack(payload[:CREDS.size])[0]
            item = (time.monotonic(), pid, data.decode("utf-8"))
            self.received.append(item)
            new.append(item)

    def wait_for(self, text, timeout=harness.REPLY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            for item in self.received:
                if item[2] == text:
                    return item
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r within %.0fs; got %r" %
                                     (text, timeout, [m for _, _, m in self.received]))
            self.receive(min(left, 0.2))

    def close(self):
        self.sock.close()


class Notify(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="referent-notify-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.notify = NotifySocket(self.dir)
        self.addCleanup(self.notify.close)

    def start(self, watchdog_pid="$$", **kw):
        # setpriv, env and sh all exec: referentd keeps the shell's pid ($$), as systemd's
        # WATCHDOG_PID names the main process itself.
        script = 'export WATCHDOG_PID=%s; exec "$0" "$@"' % watchdog_pid
        wrapper = ["env", "NOTIFY_SOCKET=" + self.notify.path,
                   "WATCHDOG_USEC=%d" % WATCHDOG_USEC, "sh", "-c", script]
        d = Daemon(name="notify", wrapper=wrapper, **kw)
        self.addCleanup(d.close)
        return d

    def messages(self, after=0.0):
        return [m for t, _, m in self.notify.received if t > after]

    def test_ready_then_pings_then_stopping(self):
        d = self.start()
        ready_at, pid, _ = self.notify.wait_for(READY)
        self.assertEqual(pid, d.pid, "READY=1 must come from the main process")
        d.wait_for_log(r"^info referentd: watchdog: pinging systemd every 200ms$")

        self.notify.receive(1.5)
        pings = [(t, p) for t, p, m in self.notify.received if m == "WATCHDOG=1" and t > ready_at]
        self.assertGreaterEqual(len(pings), 3, self.messages())
        self.assertLessEqual(len(pings), 10, "pinging faster than every WATCHDOG_USEC/2")
        self.assertEqual({p for _, p in pings}, {d.pid})

        self.assertEqual(d.stop(), 0)
        self.notify.receive(0.2)
        stopping_at, pid, _ = self.notify.wait_for(STOPPING)
        self.assertEqual(pid, d.pid)
        self.assertNotIn("WATCHDOG=1", self.messages(after=stopping_at))
        self.assertEqual(self.messages()[0], READY)

    def test_reload_says_reloading_then_ready_and_pings_go_on(self):
        d = self.start()
        self.notify.wait_for(READY)
        d.signal(signal.SIGHUP)
        d.wait_for_log(r"reloaded: ")
        self.notify.receive(0.6)
        texts = self.messages()
        reloading = [i for i, m in enumerate(texts) if m.startswith("RELOADING=1\nMONOTONIC_USEC=")]
        self.assertEqual(len(reloading), 1, texts)
        after = texts[reloading[0] + 1:]
        self.assertIn("READY=1\nSTATUS=reloaded; serving on 2 listeners", after)
        self.assertIn("WATCHDOG=1", after)
        # A refused reload says so, and the daemon is ready again on its old configuration.
        with open(d.config_path, "a", encoding="utf-8") as f:
            f.write("bogus_key: 1\n")
        d.signal(signal.SIGHUP)
        self.notify.wait_for(
            "READY=1\nSTATUS=reload refused, previous configuration; serving on 2 listeners")
        self.assertEqual(d.stop(), 0)

    def test_no_ping_while_a_transaction_drains(self):
        d = self.start(limits={"idle_timeout": "60s", "shutdown_grace": "30s"})
        self.notify.wait_for(READY)
        c = d.client()
        self.addCleanup(c.close)
        c.ehlo()
        c.mail()
        c.rcpt()
        c.data()
        c.send(b"Subject: draining\r\n\r\nfirst half\r\n")

        mark = d.log_mark()
        d.signal(signal.SIGTERM)
        d.wait_for_log(r"stopping: no new connections", since=mark)
        stopping_at, _, _ = self.notify.wait_for(STOPPING)
        # Three ping periods with the io loop still serving the transaction: no ping, or
        # systemd (which stops watching at STOPPING=1) would be told a stopping daemon is fine.
        self.notify.receive(3 * WATCHDOG_USEC / 2 / 1e6)
        self.assertTrue(d.running(), "the transaction in flight should keep referentd up")
        self.assertNotIn("WATCHDOG=1", self.messages(after=stopping_at))

        c.send(b"second half\r\n.\r\n")
        queued_id(c.recv_reply())
        c.expect(421, "4.3.2")
        c.wait_closed()
        self.assertEqual(d.stop(), 0)

    def test_no_pings_for_another_pid(self):
        # sd_watchdog_enabled() answers no when WATCHDOG_PID names someone else (a child that
        # inherited the environment): only the process systemd watches may ping.
        d = self.start(watchdog_pid="1")
        self.notify.wait_for(READY)
        self.notify.receive(3 * WATCHDOG_USEC / 2 / 1e6)
        self.assertNotIn("WATCHDOG=1", self.messages())
        self.assertEqual(d.stop(), 0)
        self.notify.wait_for(STOPPING)


if __name__ == "__main__":
    harness.main()
