#!/usr/bin/env python3
"""What each listener accepts, over real sockets: the recipient policy of the public (SMTP)
and internal (LMTP) roles with signed reply tokens, LMTP's one reply per recipient, the
connection limits, and STARTTLS (CVE-2011-0411: plaintext pipelined after STARTTLS is never
acted on).
"""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (AGENT_DOMAIN, CITIZEN_DOMAIN, HOSTNAME, SERVICE, Client,  # noqa: E402
                     DaemonTestCase, flip_bit, queued_id, split_received, wait_until)

LIMITS = {"max_message_size": "64KiB", "max_header_size": "16KiB", "idle_timeout": "2s"}


class RecipientPolicyTests(DaemonTestCase):
    """Never an open relay: each role accepts its own address forms, and a +token only when
    the gateway's key signed it for a purpose that belongs on that listener (citizen replies
    and bounces: public; agent replies: internal). 550 5.1.1 to the rest, one wording."""

    daemon_kwargs = {"limits": LIMITS}

    def tokens(self):
        d = self.daemon
        return d.token("citizen", 12, 34), d.token("agent", 12, 5), d.token("bounce", 0, 2**32 - 1)

    def public_ok(self):
        citizen, _, bounce = self.tokens()
        mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(citizen))
        return [
            SERVICE,
            "ETAT-CIVIL@MAIRIE-EXEMPLE.FR",
            "etat-civil+%s@%s" % (citizen, CITIZEN_DOMAIN),
            "etat-civil+%s@%s" % (citizen.upper(), CITIZEN_DOMAIN),  # some MTAs fold case
            "Etat-Civil+%s@%s" % (mixed, CITIZEN_DOMAIN.upper()),
            "etat-civil+%s@%s" % (bounce, CITIZEN_DOMAIN),
        ]

    def public_refused(self):
        citizen, agent, _ = self.tokens()
        # Bits of the 20 decoded octets: version, purpose (citizen → bounce), key id, case id,
        # party, first and last bit of the MAC.
        flipped = [flip_bit(citizen, b) for b in (0, 6, 8, 20, 60, 80, 159)]
        return [
            *("etat-civil+%s@%s" % (t, CITIZEN_DOMAIN) for t in flipped),
            "etat-civil+%s@%s" % (citizen[:-1], CITIZEN_DOMAIN),        # truncated
            "etat-civil+%s@%s" % (citizen[:16], CITIZEN_DOMAIN),
            "etat-civil+%sa@%s" % (citizen, CITIZEN_DOMAIN),            # extended
            "etat-civil+%s@%s" % (agent, CITIZEN_DOMAIN),               # agent token: internal
            "other+%s@%s" % (citizen, CITIZEN_DOMAIN),                  # valid token, no service
            "etat-civil+abcdefgh234567@" + CITIZEN_DOMAIN,              # the form, unsigned
            "etat-civil+abc1@" + CITIZEN_DOMAIN,                        # 1 is not base32
            "etat-civil+ab-c@" + CITIZEN_DOMAIN,
            "etat-civil+@" + CITIZEN_DOMAIN,                            # empty token
            "other@" + CITIZEN_DOMAIN,
            "helene+%s@%s" % (agent, AGENT_DOMAIN),                     # the agent form
            "etat-civil@" + AGENT_DOMAIN,
            "etat-civil@example.org",                                   # relaying
            "etat-civil@mairie-exemple.fr.evil.example",
            "postmaster@example.org",
        ]

    def internal_ok(self):
        _, agent, _ = self.tokens()
        return [
            "helene+%s@%s" % (agent, AGENT_DOMAIN),
            "anyone.at.all+%s@%s" % (agent.upper(), AGENT_DOMAIN),
            "%s+%s@%s" % ("x" * 31, agent, AGENT_DOMAIN.upper()),  # a local part of 64 octets
        ]

    def internal_refused(self):
        citizen, agent, bounce = self.tokens()
        return [
            SERVICE,                                                    # the service form
            "etat-civil+%s@%s" % (citizen, CITIZEN_DOMAIN),
            "helene+%s@%s" % (citizen, AGENT_DOMAIN),                   # citizen token: public
            "helene+%s@%s" % (bounce, AGENT_DOMAIN),                    # bounce token: public
            "helene+%s@%s" % (flip_bit(agent, 100), AGENT_DOMAIN),
            "helene+%s@%s" % (agent[:-1], AGENT_DOMAIN),
            "helene@" + AGENT_DOMAIN,                                   # no token
            "helene+abcdef@" + AGENT_DOMAIN,                            # the form, unsigned
            "helene+abc8@" + AGENT_DOMAIN,
            "+%s@%s" % (agent, AGENT_DOMAIN),                           # no base
            "helene+%s@example.org" % agent,
            "helene+%s@sub.%s" % (agent, AGENT_DOMAIN),
        ]

    # Tokens of 54+ octets behind "etat-civil+" make the local part longer than RFC 5321's 64
    # octets: refused by the address syntax (553 5.1.3) before the policy is asked.
    OVERLONG = [("public", "etat-civil+%s@%s" % ("a" * 54, CITIZEN_DOMAIN)),
                ("public", "etat-civil+%s@%s" % ("a" * 64, CITIZEN_DOMAIN)),
                ("internal", "x+%s@%s" % ("z" * 63, AGENT_DOMAIN))]

    def check(self, role, rcpt, accepted):
        lmtp = role == "internal"
        with self.daemon.client(role) as c:
            c.ehlo(lmtp=lmtp)
            c.mail()
            r = c.cmd("RCPT TO:<%s>" % rcpt)
            if accepted:
                self.assertEqual((r.code, r.lines[0][:5]), (250, "2.1.5"), (role, rcpt, r.raw))
            else:
                self.assertEqual((r.code, r.lines[0][:5]), (550, "5.1.1"), (role, rcpt, r.raw))
            c.cmd("QUIT", 221)

    def test_public_listener(self):
        for rcpt in self.public_ok():
            with self.subTest(rcpt=rcpt):
                self.check("public", rcpt, True)
        for rcpt in self.public_refused():
            with self.subTest(rcpt=rcpt):
                self.check("public", rcpt, False)

    def test_internal_listener(self):
        for rcpt in self.internal_ok():
            with self.subTest(rcpt=rcpt):
                self.check("internal", rcpt, True)
        for rcpt in self.internal_refused():
            with self.subTest(rcpt=rcpt):
                self.check("internal", rcpt, False)

    def test_a_token_of_another_key_is_refused(self):
        # A second gateway, its own key: its tokens mean nothing here, and ours nothing there.
        other = harness.Daemon(name="otherkey", limits=LIMITS, start=False)
        self.addCleanup(other.close)
        theirs = other.token("citizen", 12, 34)
        self.assertNotEqual(theirs, self.daemon.token("citizen", 12, 34))
        self.check("public", "etat-civil+%s@%s" % (theirs, CITIZEN_DOMAIN), False)
        self.check("internal", "helene+%s@%s" % (other.token("agent", 12, 5), AGENT_DOMAIN), False)

    def test_overlong_local_parts(self):
        for role, rcpt in self.OVERLONG:
            with self.subTest(rcpt=rcpt), self.daemon.client(role) as c:
                c.ehlo(lmtp=role == "internal")
                c.mail()
                r = c.cmd("RCPT TO:<%s>" % rcpt)
                self.assertIn((r.code, r.lines[0][:5]), [(553, "5.1.3"), (550, "5.1.1"),
                                                         (501, "5.1.3")], r.raw)

    def test_no_valid_recipient_means_no_data(self):
        c = self.connect()
        c.ehlo()
        c.mail()
        c.rcpt("someone@example.org", 550)
        c.cmd("DATA", 554, "5.5.1")


class LmtpTests(DaemonTestCase):
    """RFC 2033 on the internal listener: one reply per accepted recipient after DATA."""

    daemon_kwargs = {"limits": LIMITS}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.A = "helene+%s@%s" % (cls.daemon.token("agent", 1, 1), AGENT_DOMAIN)
        cls.B = "paul+%s@%s" % (cls.daemon.token("agent", 2, 7), AGENT_DOMAIN)

    def test_greeting_and_lhlo_only(self):
        c = self.connect("internal")
        self.assertEqual(c.greeting.raw, ("220 %s LMTP Referent\r\n" % HOSTNAME).encode())
        c.cmd("EHLO t", 500, "5.5.1")
        c.cmd("HELO t", 500, "5.5.1")
        self.assertEqual(c.ehlo(lmtp=True).lines[0], HOSTNAME)
        public = self.connect("public")
        self.assertEqual(public.greeting.raw, ("220 %s ESMTP Referent\r\n" % HOSTNAME).encode())
        public.cmd("LHLO t", 500)

    def test_one_reply_per_accepted_recipient(self):
        before = self.incoming_count()
        c = self.connect("internal")
        c.ehlo(lmtp=True)
        c.mail("helene@services." + CITIZEN_DOMAIN)
        c.rcpt(self.A)
        c.rcpt(SERVICE, 550)
        c.rcpt(self.B)
        c.data()
        c.send(b"Subject: reply\r\n\r\nanswer\r\n.\r\n")
        first, second = c.recv_reply(), c.recv_reply()
        self.assertTrue(first.lines[0].startswith("2.0.0 <%s> Ok: queued as " % self.A), first)
        self.assertTrue(second.lines[0].startswith("2.0.0 <%s> Ok: queued as " % self.B), second)
        spool_id = queued_id(first)
        self.assertEqual(queued_id(second), spool_id)
        c.cmd("NOOP", 250, "2.0.0")  # and no third reply
        self.assertEqual(self.incoming_count(), before + 1)
        env = self.daemon.envelope(spool_id)
        self.assertEqual((env["role"], env["protocol"], env["rcpt"]),
                         ("internal", "LMTP", [self.A, self.B]))
        received, content = split_received(self.daemon.message_bytes(spool_id))
        self.assertEqual(received.group("proto"), b"LMTP")
        self.assertEqual(content, b"Subject: reply\r\n\r\nanswer\r\n")

    def test_refusal_after_data_is_per_recipient(self):
        before = self.incoming_count()
        c = self.connect("internal")
        c.ehlo(lmtp=True)
        c.mail()
        c.rcpt(self.A)
        c.rcpt(self.B)
        c.data()
        c.send(b"Subject: bare\r\n\r\nbare\nlf\r\n.\r\n")
        for rcpt in (self.A, self.B):
            r = c.expect(550, "5.5.2")
            self.assertIn("<%s>" % rcpt, r.text)
        c.cmd("NOOP", 250, "2.0.0")
        self.assertEqual(self.incoming_count(), before)


class ConnectionLimitTests(DaemonTestCase):
    """max_connections_per_ip and max_connections: 421 4.7.0 beyond either."""

    daemon_kwargs = {"limits": dict(LIMITS, max_connections=3, max_connections_per_ip=2,
                                    idle_timeout="30s")}
    TOO_MANY = "4.7.0 %s Error: too many connections" % HOSTNAME

    def refused(self, source=None):
        c = Client(self.daemon.port(), source=source, greeting=False)
        self.addCleanup(c.close)
        r = c.recv_reply()
        if r.code == 421:
            self.assertEqual(r.lines[0], self.TOO_MANY)
            c.wait_closed()
            return True
        self.assertEqual(r.code, 220, r.raw)
        return c

    def test_per_ip_then_total(self):
        try:
            probe = socket.socket()
            probe.bind(("127.0.0.2", 0))
            probe.close()
            other_ips = True
        except OSError:
            other_ips = False
        first = self.connect()
        second = self.connect()
        self.assertIs(self.refused(), True, "third connection from 127.0.0.1 was admitted")
        if other_ips:
            third = self.refused("127.0.0.2")
            self.assertIsNot(third, True, "127.0.0.2 refused below max_connections")
            self.assertIs(self.refused("127.0.0.3"), True, "fourth connection admitted")
            third.cmd("QUIT", 221)
        # Closing a session frees its slot (released once the server sees our close).
        first.cmd("QUIT", 221)
        first.wait_closed()
        first.close()
        def admitted():
            outcome = self.refused()
            return None if outcome is True else outcome
        c = wait_until(admitted, 15, "a slot after QUIT")
        c.cmd("NOOP", 250)
        second.cmd("NOOP", 250)


class StartTlsTests(DaemonTestCase):
    """C. STARTTLS plaintext injection (CVE-2011-0411), with a self-signed certificate."""

    daemon_kwargs = {"limits": LIMITS, "tls": True}

    def start_tls(self, c, pipelined, in_transaction=False):
        ehlo = c.ehlo()
        self.assertIn("STARTTLS", ehlo.lines)
        if in_transaction:  # a transaction in progress before STARTTLS is reset too
            c.mail()
        c.send(b"STARTTLS\r\n" + pipelined)
        c.expect(220, "2.0.0")
        c.starttls()  # asserts nothing else came in plaintext

    def test_c1_pipelined_rset_is_never_answered(self):
        c = self.connect()
        self.start_tls(c, b"RSET\r\n")
        # An answer to the injected RSET would be the first reply inside TLS.
        ehlo = c.ehlo()
        self.assertEqual(ehlo.lines[0], HOSTNAME)
        self.assertNotIn("STARTTLS", ehlo.lines)
        c.cmd("NOOP", 250)

    def test_c2_injected_mail_is_dropped_and_state_reset(self):
        before = self.incoming_count()
        c = self.connect()
        self.start_tls(c, b"MAIL FROM:<x@example.net>\r\n", in_transaction=True)
        c.cmd("MAIL FROM:<a@example.org>", 503, "5.5.1")  # back to pre-EHLO
        c.ehlo("tls.example")
        c.mail()
        c.rcpt()
        c.data()
        c.send(b"Subject: over tls\r\n\r\nsecret\r\n.\r\n")
        spool_id = queued_id(c.recv_reply())
        c.cmd("STARTTLS", 503, "5.5.1")
        c.cmd("QUIT", 221)
        self.assertEqual(self.incoming_count(), before + 1)
        env = self.daemon.envelope(spool_id)
        self.assertEqual((env["tls"], env["protocol"], env["helo"], env["mail-from"]),
                         ("yes", "ESMTPS", "tls.example", "a@example.org"))
        received, content = split_received(self.daemon.message_bytes(spool_id))
        self.assertEqual(received.group("proto"), b"ESMTPS")
        self.assertEqual(content, b"Subject: over tls\r\n\r\nsecret\r\n")

    def test_failed_handshake_does_not_hurt_the_daemon(self):
        c = self.connect()
        c.ehlo()
        c.cmd("STARTTLS", 220)
        c.send(b"this is not a TLS client hello\r\n" * 4)
        c.wait_closed()
        other = self.connect()
        other.cmd("NOOP", 250)


if __name__ == "__main__":
    harness.main()
