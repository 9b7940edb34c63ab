#!/usr/bin/env python3
"""The daemon's life: exit codes at start (0 ok, 1 environment, 2 configuration, key files
included), config checking from referentd and referentctl, referentctl keygen and token,
SIGTERM with sessions in every state, SIGHUP, and the 452 answered at MAIL when the spool's
disk is nearly full.
"""

import os
import re
import signal
import ssl
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (HOSTNAME, Daemon, queued_id, referentctl_path, split_received,  # noqa
                     wait_until)

SHUTTING_DOWN = "4.3.2 %s Service shutting down" % HOSTNAME
DIAGNOSTIC = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<key>[^:\n]+): .+$",
                        re.M)


class StartupExitCodes(unittest.TestCase):
    def daemon(self, **kw):
        d = Daemon(start=False, name="exit", **kw)
        self.addCleanup(d.close)
        return d

    def test_valid_config_starts_and_stops_with_0(self):
        d = self.daemon()
        d.start()
        self.assertEqual(set(d.ports), {"public", "internal"})
        self.assertEqual(d.stop(), 0)
        d.wait_for_log(r"^info referentd: stopped: messages=0 failed=0 batches=0 fsyncs=0$")

    def test_port_in_use_exits_1(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            d = self.daemon(listen=[("127.0.0.1", port, "smtp", "public")])
            code, _, err = d.run_to_exit()
        self.assertEqual(code, 1, err)
        self.assertIn(str(port), err)
        self.assertNotRegex(err, r"(?m)referentd: ready$")

    def test_second_listener_port_in_use_exits_1(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            d = self.daemon(listen=[("127.0.0.1", 0, "smtp", "public"),
                                    ("127.0.0.1", port, "lmtp", "internal")])
            code, _, err = d.run_to_exit()
        self.assertEqual(code, 1, err)

    def test_spool_under_a_regular_file_exits_1(self):
        d = self.daemon()
        blocker = os.path.join(d.dir, "not-a-directory")
        with open(blocker, "w") as f:
            f.write("x")
        d.spool = os.path.join(blocker, "spool")
        d.write_config()
        code, _, err = d.run_to_exit()
        self.assertEqual(code, 1, err)
        self.assertIn("spool", err)
        self.assertNotRegex(err, r"(?m)referentd: ready$")

    def test_spool_is_a_regular_file_exits_1(self):
        d = self.daemon()
        with open(d.spool, "w") as f:
            f.write("x")
        code, _, err = d.run_to_exit()
        self.assertEqual(code, 1, err)

    def test_unreadable_tls_files_exit_1(self):
        d = self.daemon()
        d.tls_files = (os.path.join(d.dir, "missing.crt"), os.path.join(d.dir, "missing.key"))
        d.write_config()
        code, _, err = d.run_to_exit()
        self.assertEqual(code, 1, err)
        self.assertIn("tls", err)

    def test_tls_key_not_matching_the_certificate_exits_1(self):
        d = self.daemon(tls=True)
        other = os.path.join(d.dir, "other")
        os.mkdir(other)
        _, wrong_key = harness.make_self_signed(other)
        d.tls_files = (d.tls_files[0], wrong_key)
        d.write_config()
        code, _, err = d.run_to_exit()
        self.assertEqual(code, 1, err)

    def test_key_file_problems_exit_2(self):
        # The operator must fix these (systemd does not restart on 2); the spool is untouched.
        d = self.daemon()
        os.chmod(d.secret_path, 0o644)
        code, _, err = d.run_to_exit()
        self.assertEqual(code, 2, err)
        self.assertIn("%s: readable by group or others (chmod 600)" % d.secret_path, err)
        os.unlink(d.secret_path)
        code, _, err = d.run_to_exit()
        self.assertEqual(code, 2, err)
        self.assertIn("%s: No such file or directory" % d.secret_path, err)
        fd = os.open(d.secret_path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"x" * 31 + b"\n")
        os.close(fd)
        code, _, err = d.run_to_exit()
        self.assertEqual(code, 2, err)
        self.assertIn("%s: 31 octets of secret, at least 32 needed" % d.secret_path, err)
        self.assertNotRegex(err, r"(?m)referentd: ready$")
        self.assertFalse(os.path.exists(d.spool), "the spool was created")

    def test_usage_errors_exit_2(self):
        d = self.daemon()
        code, _, err = d.run_to_exit("--no-such-option")
        self.assertEqual(code, 2, err)
        missing = os.path.join(d.dir, "missing.yaml")
        p = subprocess.run([harness.referentd_path(), "-c", missing], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(missing, p.stderr)


class ConfigChecking(unittest.TestCase):
    """Every problem printed as FILE:LINE:COL: key: reason, all in one run; exit 2."""

    def setUp(self):
        self.d = Daemon(start=False, name="config")
        self.addCleanup(self.d.close)
        text = self.d.config_text()
        # Three independent mistakes on known lines.
        text = text.replace("  limits: { ", "  limits: { max_errors: 0, no_such_limit: 1, ")
        text = text.replace("name: Hélène Lefèvre",
                            'name: "Agent Smith\\r\\nBcc: victim@example.net"')
        self.bad = os.path.join(self.d.dir, "bad.yaml")
        with open(self.bad, "w", encoding="utf-8") as f:
            f.write(text)
        lines = text.split("\n")
        self.limits_line = next(i for i, l in enumerate(lines, 1) if "limits:" in l)
        self.agent_line = next(i for i, l in enumerate(lines, 1) if "Agent Smith" in l)

    def check_diagnostics(self, output):
        found = [m.groupdict() for m in DIAGNOSTIC.finditer(output)]
        self.assertTrue(found, "no FILE:LINE:COL: lines in:\n" + output)
        for f in found:
            self.assertEqual(f["file"], self.bad, f)
        keys = {(f["key"], int(f["line"])) for f in found}
        self.assertIn(("gateway.limits.max_errors", self.limits_line), keys, output)
        self.assertIn(("gateway.limits.no_such_limit", self.limits_line), keys, output)
        self.assertIn(("agents[0].name", self.agent_line), keys, output)

    def test_referentd_refuses_to_start_with_2(self):
        code, _, err = self.d.run_to_exit("-c", self.bad)  # the last -c wins
        self.assertEqual(code, 2, err)
        self.check_diagnostics(err)
        self.assertNotIn("listening", err)

    def test_referentd_check_config(self):
        p = subprocess.run([harness.referentd_path(), "-c", self.bad, "--check-config"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.check_diagnostics(p.stdout + p.stderr)
        p = subprocess.run([harness.referentd_path(), "-c", self.d.config_path,
                            "--check-config"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("%s: ok" % self.d.config_path, p.stdout)
        self.assertFalse(os.path.exists(self.d.spool), "--check-config created the spool")

    def test_referentctl_check_config(self):
        ctl = referentctl_path()
        p = subprocess.run([ctl, "-c", self.bad, "check-config"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.check_diagnostics(p.stdout + p.stderr)
        p = subprocess.run([ctl, "-c", self.d.config_path, "check-config"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("%s: ok" % self.d.config_path, p.stdout)


class KeygenAndToken(unittest.TestCase):
    """referentctl keygen writes a key referentd accepts; referentctl token mints with it."""

    def ctl(self, *args):
        return subprocess.run([referentctl_path()] + list(args), capture_output=True,
                              text=True, timeout=30)

    def test_keygen_then_token_then_delivery(self):
        d = Daemon(start=False, name="keygen")
        self.addCleanup(d.close)
        os.unlink(d.secret_path)
        p = self.ctl("keygen", d.secret_path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(os.stat(d.secret_path).st_mode & 0o777, 0o600)
        with open(d.secret_path) as f:
            key = f.read()
        self.assertRegex(key, r"\A[0-9a-f]{128}\n\Z")

        p = self.ctl("keygen", d.secret_path)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("%s: exists; refusing to overwrite" % d.secret_path, p.stderr)
        with open(d.secret_path) as f:
            self.assertEqual(f.read(), key)

        token = d.token("citizen", 41, 42)
        d.start()
        with d.client() as c:
            c.ehlo()
            c.mail()
            c.rcpt("etat-civil+%s@%s" % (token, harness.CITIZEN_DOMAIN))
            c.cmd("QUIT", 221)
        self.assertEqual(d.stop(), 0)

    def test_token_usage_errors_exit_2(self):
        d = Daemon(start=False, name="token")
        self.addCleanup(d.close)
        good = ["--purpose", "agent", "--case", "1", "--party", "2"]
        p = self.ctl("-c", d.config_path, "token", *good)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"\A[a-z2-7]{32}\n\Z")
        for bad in (["--purpose", "nobody", "--case", "1", "--party", "2"],
                    ["--purpose", "agent", "--case", "4294967296", "--party", "2"],
                    ["--purpose", "agent", "--case", "-1", "--party", "2"],
                    ["--purpose", "agent", "--case", "1"],
                    good + ["--case", "3"]):
            with self.subTest(args=bad):
                p = self.ctl("-c", d.config_path, "token", *bad)
                self.assertEqual((p.returncode, p.stdout), (2, ""), p.stderr)
        os.chmod(d.secret_path, 0o640)
        p = self.ctl("-c", d.config_path, "token", *good)
        self.assertEqual((p.returncode, p.stdout), (2, ""), p.stderr)
        self.assertIn("readable by group or others", p.stderr)


class Signals(unittest.TestCase):
    def daemon(self, **limits):
        d = Daemon(limits=limits, name="signals")
        self.addCleanup(d.close)
        return d

    def client(self, d, role="public"):
        c = d.client(role)
        self.addCleanup(c.close)
        return c

    def test_sigterm_with_an_idle_client(self):
        d = self.daemon(idle_timeout="60s")
        c = self.client(d)
        c.ehlo()
        lmtp = self.client(d, "internal")
        d.signal(signal.SIGTERM)
        r = c.expect(421, "4.3.2")
        self.assertEqual(r.lines[0], SHUTTING_DOWN)
        c.wait_closed()
        lmtp.expect(421, "4.3.2")
        lmtp.wait_closed()
        self.assertEqual(d.stop(), 0)
        d.wait_for_log(r"^info referentd: stopped: messages=0 failed=0 ")

    def test_sigterm_in_the_middle_of_data_lets_it_finish(self):
        d = self.daemon(idle_timeout="60s", shutdown_grace="30s")
        port = d.port()
        in_data = self.client(d)
        in_data.ehlo()
        in_data.mail()
        in_data.rcpt()
        in_data.data()
        in_data.send(b"Subject: late\r\n\r\nfirst half\r\n")
        after_rcpt = self.client(d)  # MAIL given: its transaction is in flight too
        after_rcpt.ehlo()
        after_rcpt.mail()
        after_rcpt.rcpt()
        idle = self.client(d)

        mark = d.log_mark()
        d.signal(signal.SIGTERM)
        d.wait_for_log(r"stopping: no new connections", since=mark)
        idle.expect(421, "4.3.2")

        def refused():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                return False
            except ConnectionRefusedError:
                return True
        wait_until(refused, 15, "the listener to close")

        in_data.send(b"second half\r\n.\r\n")
        first = queued_id(in_data.recv_reply())
        in_data.expect(421, "4.3.2")
        in_data.wait_closed()

        after_rcpt.data()
        after_rcpt.send(b"Subject: later\r\n\r\nbody\r\n.\r\n")
        second = queued_id(after_rcpt.recv_reply())
        after_rcpt.expect(421, "4.3.2")
        after_rcpt.wait_closed()

        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.incoming_ids(), sorted([first, second]))
        _, content = split_received(d.message_bytes(first))
        self.assertEqual(content, b"Subject: late\r\n\r\nfirst half\r\nsecond half\r\n")
        d.wait_for_log(r"^info referentd: stopped: messages=2 failed=0 ")

    def test_sigterm_with_a_client_stuck_in_data_beyond_the_grace(self):
        d = self.daemon(idle_timeout="60s", shutdown_grace="1s")
        c = self.client(d)
        c.ehlo()
        c.mail()
        c.rcpt()
        c.data()
        c.send(b"Subject: stuck\r\n\r\nand then nothing")
        start = time.monotonic()
        d.signal(signal.SIGTERM)
        r = c.expect(421, "4.3.2", timeout=20)
        self.assertEqual(r.lines[0], SHUTTING_DOWN)
        c.wait_closed()
        self.assertEqual(d.stop(timeout=20), 0)
        elapsed = time.monotonic() - start
        self.assertGreater(elapsed, 0.8, "the grace period was not given")
        self.assertLess(elapsed, 10, "took %.1fs to stop" % elapsed)
        d.wait_for_log(r"grace period over: closing 1 connections")
        self.assertEqual(d.incoming_ids(), [])
        self.assertEqual(d.files("tmp"), [])

    def test_grace_ends_while_a_client_is_in_the_tls_handshake(self):
        # Regression: the forced close arrived between STARTTLS and the end of the handshake;
        # ServerSession::tls_started() then asserted (SIGABRT in Debug builds). Now the forced
        # close cancels the handshake itself: the client's handshake fails, the daemon exits 0.
        d = Daemon(tls=True, limits={"shutdown_grace": "1s", "idle_timeout": "60s"},
                   name="signals")
        self.addCleanup(d.close)
        c = self.client(d)
        c.ehlo()
        c.cmd("STARTTLS", 220)
        d.signal(signal.SIGTERM)
        d.wait_for_log(r"grace period over: closing 1 connections")
        with self.assertRaises((ssl.SSLError, OSError)):
            c.starttls()
            c.recv_reply()
        self.assertEqual(d.stop(timeout=20), 0)

    def test_client_that_never_reads_does_not_delay_the_stop(self):
        # The daemon's replies fill the socket buffers and its write blocks; the grace period
        # must still bound the stop (the forced close cancels writes, not only reads).
        d = self.daemon(idle_timeout="60s", shutdown_grace="1s", max_nonmail_commands="100000")
        c = self.client(d)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.sock.settimeout(0.5)
        sent = 0
        try:
            while sent < 20_000_000:  # until our send blocks: the daemon stopped reading
                sent += c.sock.send(b"EHLO flood.example\r\n" * 4096)
        except (socket.timeout, BlockingIOError):
            pass
        start = time.monotonic()
        d.signal(signal.SIGTERM)
        self.assertEqual(d.stop(timeout=30), 0)
        self.assertLess(time.monotonic() - start, 8.0, "stop waited for the idle timeout")

    def test_second_sigterm_closes_at_once(self):
        d = self.daemon(idle_timeout="60s", shutdown_grace="60s")
        c = self.client(d)
        c.ehlo()
        c.mail()
        c.rcpt()
        c.data()
        c.send(b"Subject: slow\r\n\r\n")
        mark = d.log_mark()
        d.signal(signal.SIGTERM)
        d.wait_for_log(r"stopping", since=mark)
        start = time.monotonic()
        d.signal(signal.SIGTERM)
        c.expect(421, "4.3.2", timeout=10)
        self.assertEqual(d.stop(timeout=20), 0)
        self.assertLess(time.monotonic() - start, 8.0)
        d.wait_for_log(r"second signal: closing 1 connections")

    def test_client_stalled_in_the_tls_handshake_does_not_delay_the_stop(self):
        # STARTTLS answered, then the client never sends a ClientHello: the daemon should exit
        # about shutdown_grace after SIGTERM; it waits for idle_timeout instead.
        d = Daemon(tls=True, limits={"shutdown_grace": "1s", "idle_timeout": "6s"},
                   name="signals")
        self.addCleanup(d.close)
        c = self.client(d)
        c.ehlo()
        c.cmd("STARTTLS", 220)
        start = time.monotonic()
        d.signal(signal.SIGTERM)
        self.assertEqual(d.stop(timeout=30), 0)
        self.assertLess(time.monotonic() - start, 4.0, "stop waited for the idle timeout")

    def test_sighup_is_ignored(self):
        d = self.daemon()
        c = self.client(d)
        c.ehlo()
        mark = d.log_mark()
        d.signal(signal.SIGHUP)
        d.wait_for_log(r"SIGHUP", since=mark)
        self.assertTrue(d.running())
        c.cmd("NOOP", 250)  # the session in progress is untouched
        fresh = self.client(d)
        spool_id = queued_id(fresh.send_message(b"Subject: after hup\r\n\r\nx\r\n.\r\n"))
        mark = d.log_mark()
        d.signal(signal.SIGHUP)  # twice: the handler is re-armed
        d.wait_for_log(r"SIGHUP", since=mark)
        fresh.cmd("NOOP", 250)
        for session in (c, fresh):
            session.cmd("QUIT", 221)
            session.wait_closed()
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.incoming_ids(), [spool_id])

    def test_sigint_stops_like_sigterm(self):
        d = self.daemon()
        c = self.client(d)
        d.signal(signal.SIGINT)
        c.expect(421, "4.3.2")
        c.wait_closed()
        self.assertEqual(d._wait_exit(30), 0)


class DiskSpace(unittest.TestCase):
    """min_free_space: MAIL gets 452 4.3.1 when the spool's disk cannot take the message."""

    def free_bytes(self, path):
        st = os.statvfs(path)
        return st.f_bavail * st.f_frsize

    def test_nearly_full_disk_refuses_at_mail(self):
        d = Daemon(limits={"min_free_space": "1TiB"}, name="disk")
        self.addCleanup(d.close)
        if self.free_bytes(d.spool) >= 1 << 40:
            self.skipTest("more than 1 TiB free: cannot simulate a full disk")
        c = d.client()
        self.addCleanup(c.close)
        c.ehlo()
        c.cmd("MAIL FROM:<a@example.org>", 452, "4.3.1")
        c.cmd("MAIL FROM:<a@example.org> SIZE=1000", 452, "4.3.1")
        c.cmd("RCPT TO:<%s>" % harness.SERVICE, 503)  # no transaction was opened
        self.assertEqual(d.incoming_ids(), [])

    def test_declared_size_against_free_space(self):
        probe = Daemon(start=False, name="disk")
        self.addCleanup(probe.close)
        free = self.free_bytes(probe.dir)
        headroom = 512 << 20
        if not (headroom * 3 <= free <= (1 << 40)):
            self.skipTest("free space %d outside the range this test needs" % free)
        # Leave 512 MiB usable above min_free_space: SIZE=1GiB cannot fit, a small one can.
        d = Daemon(limits={"min_free_space": free - headroom, "max_message_size": "2GiB",
                           "max_header_size": "256KiB"}, name="disk")
        self.addCleanup(d.close)
        c = d.client()
        self.addCleanup(c.close)
        c.ehlo()
        c.cmd("MAIL FROM:<a@example.org> SIZE=%d" % (1 << 30), 452, "4.3.1")
        c.cmd("MAIL FROM:<a@example.org> SIZE=1000", 250)
        c.rcpt()
        c.data()
        queued_id(c.cmd("Subject: fits\r\n\r\nx\r\n."))


if __name__ == "__main__":
    harness.main()
