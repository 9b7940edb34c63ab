#!/usr/bin/env python3
"""SMTP over real sockets: the vectors of shared/vectors/README.md (A, B, D, H; C is in
test_listeners.py) and what lands in the spool: stored bytes, Received: header, envelope.

Each test reads like a transcript: what the client writes (raw bytes, in the writes the vector
asks for) and the replies it must get. The sans-IO unit tests cover every byte offset; here a
sample runs end to end through the listener, the connection coroutine and the durable spool.
"""

import datetime
import email.utils
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (CITIZEN_DOMAIN, HOSTNAME, SERVICE, DaemonTestCase, queued_id,  # noqa
                     split_received)

MAX_SIZE = 64 * 1024
LIMITS = {"max_message_size": "64KiB", "max_header_size": "16KiB", "idle_timeout": "2s"}
IDLE = 2.0
MARGIN = 8.0  # loaded machine: the 421 may come late, never early

# P of the vectors: a whole second transaction hidden behind a fake end of data.
SMUGGLED = (b"MAIL FROM:<admin@" + CITIZEN_DOMAIN.encode() + b">\r\n"
            b"RCPT TO:<" + SERVICE.encode() + b">\r\n"
            b"DATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n")


def message_of_size(n, subject=b"size"):
    """Message content of exactly n octets (CRLFs included), then the end-of-data line."""
    head = b"Subject: " + subject + b"\r\n\r\n"
    body_len = n - len(head)
    assert body_len >= 2
    lines, left = [], body_len
    while left > 0:
        take = min(left, 900)
        if take < 2:  # never leave a one-octet remainder: fold it into the previous line
            prev = lines.pop()
            lines.append(b"x" * (len(prev) - 1) + b"\r\n")
            take = 3
        lines.append(b"x" * (take - 2) + b"\r\n")
        left -= take
    content = head + b"".join(lines)
    assert len(content) == n, (len(content), n)
    return content


class SmugglingTests(DaemonTestCase):
    """A. Only CRLF.CRLF ends DATA (CVE-2023-51764/51765/51766)."""

    daemon_kwargs = {"limits": LIMITS}

    def open_data(self):
        c = self.connect()
        c.ehlo()
        c.mail()
        c.rcpt()
        c.data()
        return c

    def assert_one_refusal_then_in_sync(self, c):
        r = c.recv_reply()
        self.assertEqual((r.code, r.lines[0][:5]), (550, "5.5.2"), r.raw)
        # Had the smuggled MAIL/RCPT/DATA been acted on, their replies would come before these.
        c.cmd("NOOP", 250, "2.0.0")
        c.cmd("QUIT", 221)
        c.wait_closed()

    def smuggle(self, first_part):
        before = self.incoming_count()
        c = self.open_data()
        c.send(first_part + SMUGGLED)
        self.assert_one_refusal_then_in_sync(c)
        self.assertEqual(self.incoming_count(), before, "a smuggled message was spooled")

    def test_a1_bare_lf_dot_crlf(self):
        self.smuggle(b"Subject: one\r\n\r\nbody\n.\r\n")

    def test_a2_bare_lf_dot_lf(self):
        self.smuggle(b"Subject: one\r\n\r\nbody\n.\n")

    def test_a3_bare_cr_dot_cr(self):
        self.smuggle(b"Subject: one\r\n\r\nbody\r.\r")

    def test_a4_crlf_dot_lf(self):
        self.smuggle(b"Subject: one\r\n\r\nbody\r\n.\n")

    def test_a5_terminator_split_before_lf(self):
        before = self.incoming_count()
        c = self.open_data()
        c.send(b"Subject: x\r\n\r\nbody\r\n.\r")
        # ".\r" is not the end: nothing may be answered yet (a negative check needs a wait).
        self.assertTrue(c.nothing_pending(0.3), "replied before the final LF")
        c.send(b"\n")
        spool_id = queued_id(c.recv_reply())
        c.cmd("QUIT", 221)
        self.assertEqual(self.incoming_count(), before + 1)
        _, content = split_received(self.daemon.message_bytes(spool_id))
        self.assertEqual(content, b"Subject: x\r\n\r\nbody\r\n")

    def test_a6_split_at_every_offset_gives_one_250(self):
        content = b"Subject: x\r\n\r\nbody\r\n.\r\n"
        before = self.incoming_count()
        c = self.connect()
        c.ehlo()
        ids = []
        for cut in range(len(content) + 1):
            c.mail()
            c.rcpt()
            c.data()
            c.send(content[:cut])
            c.send(content[cut:])
            ids.append(queued_id(c.recv_reply()))
        # The next command's reply is the first one pending: no extra reply from any split.
        c.cmd("NOOP", 250, "2.0.0")
        c.cmd("QUIT", 221)
        self.assertEqual(len(set(ids)), len(content) + 1)
        self.assertEqual(self.incoming_count(), before + len(content) + 1)
        for i in ids:
            _, stored = split_received(self.daemon.message_bytes(i))
            self.assertEqual(stored, b"Subject: x\r\n\r\nbody\r\n")

    def test_a7_nul_is_never_truncated(self):
        content = b"Subject: x\r\n\r\na\0b\r\n"
        outcomes = []
        for _ in range(2):
            before = self.incoming_count()
            c = self.open_data()
            c.send(content + b".\r\n")
            r = c.recv_reply()
            outcomes.append(r.code)
            if r.code == 250:
                _, stored = split_received(self.daemon.message_bytes(queued_id(r)))
                self.assertEqual(stored, content)
                self.assertEqual(self.incoming_count(), before + 1)
            else:
                self.assertGreaterEqual(r.code, 500, r.raw)
                self.assertEqual(self.incoming_count(), before)
            c.cmd("QUIT", 221)
        self.assertEqual(outcomes[0], outcomes[1], "NUL handled inconsistently")


class PipeliningAndBoundsTests(DaemonTestCase):
    """B (pipelining) and D (limits)."""

    daemon_kwargs = {"limits": LIMITS}

    def test_b2_content_before_354_is_a_synchronization_error(self):
        before = self.incoming_count()
        c = self.connect()
        c.ehlo()
        c.mail()
        c.rcpt()
        c.send(b"DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n")
        c.expect(554, "5.5.0")
        c.wait_closed()
        self.assertEqual(self.incoming_count(), before)

    def test_b3_pipelined_transaction_in_order(self):
        before = self.incoming_count()
        token_rcpt = "etat-civil+%s@%s" % (self.daemon.token("citizen", 7, 8), CITIZEN_DOMAIN)
        c = self.connect()
        ehlo = c.ehlo()
        self.assertIn("PIPELINING", ehlo.lines)
        c.send(("MAIL FROM:<a@example.org>\r\nRCPT TO:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                % (SERVICE, token_rcpt)).encode())
        c.expect(250, "2.1.0")
        c.expect(250, "2.1.5")
        c.expect(250, "2.1.5")
        c.expect(354)
        c.send(b"Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        spool_id = queued_id(c.recv_reply())
        c.expect(221)
        c.wait_closed()
        self.assertEqual(self.incoming_count(), before + 1)
        env = self.daemon.envelope(spool_id)
        self.assertEqual(env["rcpt"], [SERVICE, token_rcpt])
        received, content = split_received(self.daemon.message_bytes(spool_id))
        self.assertIsNone(received.group("for"), "two recipients: no 'for' clause")
        self.assertEqual(content, b"Subject: pipelined\r\n\r\nbody\r\n")

    def test_b4_ten_thousand_noops_are_cut_at_the_bound(self):
        c = self.connect()
        c.send(b"NOOP\r\n" * 10000)
        for i in range(50):
            r = c.recv_reply()
            self.assertEqual((r.code, r.lines[0]), (250, "2.0.0 Ok"), "reply %d: %r" % (i, r.raw))
        c.expect(421, "4.7.0")
        c.wait_closed()

    def test_too_many_errors_closes_the_session(self):
        c = self.connect()
        c.send(b"BOGUS\r\n" * 10)
        for _ in range(10):
            c.expect(500, "5.5.2")
        c.expect(421, "4.7.0")
        c.wait_closed()

    def test_command_length_at_the_bound_and_past_it(self):
        c = self.connect()
        at_bound = b"XBOGUS " + b"a" * (512 - 7 - 2) + b"\r\n"
        self.assertEqual(len(at_bound), 512)
        c.send(at_bound)
        r = c.expect(500, "5.5.2")
        self.assertNotIn("too long", r.text)
        c.send(b"XBOGUS " + b"a" * (513 - 7 - 2) + b"\r\n")
        r = c.expect(500, "5.5.2")
        self.assertIn("line too long", r.text)
        c.cmd("NOOP", 250)

    def test_d1_thousand_octet_command(self):
        c = self.connect()
        c.ehlo()
        c.send(b"MAIL FROM:<" + b"a" * 980 + b"@example.org>\r\n")
        r = c.expect(500, "5.5.2")
        self.assertIn("line too long", r.text)
        c.mail()  # the session is still in step
        c.cmd("QUIT", 221)

    def test_d2_local_part_and_domain_too_long(self):
        c = self.connect()
        c.ehlo()
        r = c.cmd("MAIL FROM:<%s@example.org>" % ("a" * 65))
        self.assertIn(r.code, (501, 553), r.raw)
        labels = ".".join(["a" * 63] * 4)  # 255 octets
        r = c.cmd("MAIL FROM:<a@%s.example>" % labels)  # > 255 octets
        self.assertIn(r.code, (501, 553), r.raw)
        c.mail("a@" + ".".join(["a" * 63] * 3) + ".example")  # 199 octets: fine

    def test_d3_hundred_and_one_recipients(self):
        # Tokens first: minting 101 of them (one referentctl each) outlasts the idle timeout.
        rcpts = ["etat-civil+%s@%s" % (self.daemon.token("citizen", i, 1), CITIZEN_DOMAIN)
                 for i in range(101)]
        c = self.connect()
        c.ehlo()
        c.mail()
        c.send("".join("RCPT TO:<%s>\r\n" % r for r in rcpts))
        for i in range(100):
            c.expect(250, "2.1.5")
        c.expect(452, "4.5.3")
        c.data()
        spool_id = queued_id(c.cmd("Subject: many\r\n\r\nx\r\n."))
        self.assertEqual(len(self.daemon.envelope(spool_id)["rcpt"]), 100)

    def test_d4_one_megabyte_line_is_bounded(self):
        before = self.incoming_count()
        c = self.connect()
        c.ehlo()
        c.mail()
        c.rcpt()
        c.data()
        c.send(b"Subject: long\r\n\r\n" + b"y" * 1000000 + b"\r\n.\r\n")
        c.expect(552, "5.3.4")
        c.cmd("NOOP", 250)
        self.assertEqual(self.incoming_count(), before)

    def idle_after_flood(self, in_data):
        d = self.daemon
        c = self.connect()
        if in_data:
            c.ehlo()
            c.mail()
            c.rcpt()
            c.data()
        rss_before = d.rss_kib()
        chunk = b"z" * (1 << 20)
        for _ in range(10):
            c.send(chunk)
        sent_at = time.monotonic()
        r = c.expect(421, "4.4.2", timeout=IDLE + MARGIN + 20)
        elapsed = time.monotonic() - sent_at
        self.assertEqual(r.lines[0], "4.4.2 %s Error: timeout exceeded" % HOSTNAME)
        self.assertGreater(elapsed, IDLE - 0.5, "closed before the idle timeout")
        self.assertLess(elapsed, IDLE + MARGIN)
        c.wait_closed()
        growth_mib = (d.rss_kib() - rss_before) / 1024.0
        self.assertLess(growth_mib, 50, "RSS grew by %.1f MiB" % growth_mib)

    def test_d5_ten_megabytes_without_crlf_then_idle(self):
        self.idle_after_flood(in_data=False)

    def test_d5_ten_megabytes_without_crlf_in_data_then_idle(self):
        before = self.incoming_count()
        self.idle_after_flood(in_data=True)
        self.assertEqual(self.incoming_count(), before)

    def test_idle_timeout_after_greeting(self):
        c = self.connect()
        start = time.monotonic()
        c.expect(421, "4.4.2", timeout=IDLE + MARGIN + 10)
        self.assertGreater(time.monotonic() - start, IDLE - 0.5)
        c.wait_closed()

    def test_d6_declared_size_over_the_limit(self):
        c = self.connect()
        ehlo = c.ehlo()
        self.assertIn("SIZE %d" % MAX_SIZE, ehlo.lines)
        c.cmd("MAIL FROM:<a@example.org> SIZE=99999999999", 552, "5.3.4")
        c.cmd("MAIL FROM:<a@example.org> SIZE=%d" % (MAX_SIZE + 1), 552, "5.3.4")
        c.cmd("MAIL FROM:<a@example.org> SIZE=%d" % MAX_SIZE, 250, "2.1.0")

    def test_d7_malformed_sizes(self):
        c = self.connect()
        c.ehlo()
        for size in ("18446744073709551617", "18446744073709551616", "-1", ""):
            c.cmd("MAIL FROM:<a@example.org> SIZE=%s" % size, 501, "5.5.4")
        c.mail()  # nothing was half-accepted

    def test_d8_body_at_the_limit_and_one_octet_over(self):
        c = self.connect()
        c.ehlo()
        before = self.incoming_count()
        over = message_of_size(MAX_SIZE + 1)
        c.mail()
        c.rcpt()
        c.data()
        c.send(over + b".\r\n")  # read to the end of DATA, then refused
        c.expect(552, "5.3.4")
        self.assertEqual(self.incoming_count(), before)
        self.assertEqual(self.daemon.files("tmp"), [])

        exact = message_of_size(MAX_SIZE)
        c.mail()
        c.rcpt()
        c.data()
        c.send(exact + b".\r\n")
        spool_id = queued_id(c.recv_reply())
        _, stored = split_received(self.daemon.message_bytes(spool_id))
        self.assertEqual(stored, exact)
        self.assertEqual(self.incoming_count(), before + 1)

    def test_header_block_over_the_limit(self):
        c = self.connect()
        c.ehlo()
        c.mail()
        c.rcpt()
        c.data()
        headers = b"".join(b"X-Filler-%05d: %s\r\n" % (i, b"h" * 60) for i in range(300))
        c.send(b"Subject: big header\r\n" + headers + b"\r\nbody\r\n.\r\n")  # > 16 KiB
        r = c.expect(552, "5.3.4")
        self.assertIn("header", r.text)

    def test_starttls_not_offered_without_tls(self):
        c = self.connect()
        ehlo = c.ehlo()
        self.assertNotIn("STARTTLS", ehlo.lines)
        c.cmd("STARTTLS", 502, "5.5.1")


class StoredBytesTests(DaemonTestCase):
    """H. Dot-unstuffing, and the Received header and envelope written with each message."""

    daemon_kwargs = {"limits": LIMITS}

    def stored_after(self, content):
        c = self.connect()
        spool_id = queued_id(c.send_message(content))
        c.cmd("QUIT", 221)
        return split_received(self.daemon.message_bytes(spool_id))[1]

    def test_h1_dot_dot_hello(self):
        self.assertEqual(self.stored_after(b"Subject: h1\r\n\r\n..hello\r\n.\r\n"),
                         b"Subject: h1\r\n\r\n.hello\r\n")

    def test_h2_dot_dot(self):
        self.assertEqual(self.stored_after(b"Subject: h2\r\n\r\n..\r\n...\r\n.\r\n"),
                         b"Subject: h2\r\n\r\n.\r\n..\r\n")

    def test_h3_empty_message(self):
        self.assertEqual(self.stored_after(b".\r\n"), b"")

    def test_eight_bit_and_long_lines_are_kept(self):
        content = ("Subject: =?UTF-8?Q?=C3=A9t=C3=A9?=\r\n\r\nÉté à la mairie\r\n".encode()
                   + b"\xff\xfe raw octets\r\n" + b"w" * 2000 + b"\r\n")
        self.assertEqual(self.stored_after(content + b".\r\n"), content)

    def test_received_header_and_envelope_fields(self):
        c = self.connect()
        c.ehlo("client.example")
        c.mail("Citoyen.Dupont@example.org", " BODY=8BITMIME")
        c.rcpt()
        c.data()
        before = datetime.datetime.now(datetime.timezone.utc)
        spool_id = queued_id(c.cmd("Subject: fields\r\n\r\nx\r\n."))
        after = datetime.datetime.now(datetime.timezone.utc)
        self.daemon.wait_for_log(r"info spool: %s: queued role=public size=\d+ nrcpt=1$"
                                 % spool_id)

        received, content = split_received(self.daemon.message_bytes(spool_id))
        self.assertEqual(received.group("helo"), b"client.example")
        self.assertEqual(received.group("ip"), b"127.0.0.1")
        self.assertEqual(received.group("by"), HOSTNAME.encode())
        self.assertEqual(received.group("proto"), b"ESMTP")
        self.assertEqual(received.group("id").decode(), spool_id)
        self.assertEqual(received.group("for").decode(), SERVICE)
        when = email.utils.parsedate_to_datetime(received.group("date").decode())
        slack = datetime.timedelta(seconds=2)
        self.assertTrue(before - slack <= when <= after + slack, when)
        self.assertEqual(content, b"Subject: fields\r\n\r\nx\r\n")

        env = self.daemon.envelope(spool_id)
        arrival = datetime.datetime.strptime(env.pop("arrival"), "%Y-%m-%dT%H:%M:%S.%fZ")
        arrival = arrival.replace(tzinfo=datetime.timezone.utc)
        self.assertTrue(before - slack <= arrival <= after + slack, arrival)
        self.assertEqual(env, {
            "id": spool_id, "role": "public", "protocol": "ESMTP",
            "client": "127.0.0.1:%d" % c.local_port, "helo": "client.example", "tls": "no",
            "smtputf8": "no", "body": "8BITMIME", "mail-from": "Citoyen.Dupont@example.org",
            "rcpt": [SERVICE]})

    def test_envelope_lines_cannot_be_forged(self):
        c = self.connect()
        c.send(b"EHLO a\rrcpt: x@evil.example\r\n")
        c.expect(500, "5.5.2")  # a CR inside a command line is refused before any parser
        c.ehlo()
        for bad in (b"MAIL FROM:<\"a\rrcpt: x@evil.example\"@example.org>\r\n",
                    b"MAIL FROM:<a\x00b@example.org>\r\n",
                    b"MAIL FROM:<a\rb@example.org>\r\n"):
            c.send(bad)
            r = c.recv_reply()
            self.assertEqual(r.code // 100, 5, (bad, r.raw))
        c.mail('"quoted local"@example.org')
        c.rcpt()
        c.data()
        env = self.daemon.envelope(queued_id(c.cmd("Subject: q\r\n\r\nx\r\n.")))
        self.assertEqual((env["mail-from"], env["rcpt"]), ('"quoted local"@example.org', [SERVICE]))

    def test_helo_null_sender_and_smtputf8_in_the_envelope(self):
        c = self.connect()
        c.cmd("HELO old.example", 250)
        c.mail("")  # the null sender: a bounce
        c.rcpt()
        c.data()
        env = self.daemon.envelope(queued_id(c.cmd("Subject: dsn\r\n\r\nx\r\n.")))
        self.assertEqual((env["protocol"], env["helo"], env["mail-from"], env["body"]),
                         ("SMTP", "old.example", "<>", "7BIT"))

        c.ehlo("utf8.example")
        c.mail("jos\u00e9@example.org", " SMTPUTF8")
        c.rcpt()
        c.data()
        spool_id = queued_id(c.cmd("Subject: utf8\r\n\r\nx\r\n."))
        env = self.daemon.envelope(spool_id)
        self.assertEqual((env["protocol"], env["smtputf8"], env["mail-from"]),
                         ("UTF8SMTP", "yes", "jos\u00e9@example.org"))
        received, _ = split_received(self.daemon.message_bytes(spool_id))
        self.assertEqual(received.group("proto"), b"UTF8SMTP")


if __name__ == "__main__":
    harness.main()
