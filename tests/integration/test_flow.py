#!/usr/bin/env python3
"""The whole flow over real sockets: a citizen writes, the referent receives the forward, answers
from their own address, the citizen receives the answer under the referent's name, answers
again, and the automatic cases (a stranger with a case tag, a forged agent reply, an agent's
out-of-office, the bounce corpus) never reach anyone they must not.

referentd runs from build/bin with SQLite in a temporary directory and its Maildir outbox
(relay.maildir): each outbound message lands in outbox/<recipient>/new/.
"""

import email
import email.policy
import glob
import os
import re
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CITIZEN_DOMAIN, SERVICE, DaemonTestCase, wait_until  # noqa: E402

AGENT = "helene@services." + CITIZEN_DOMAIN
COLLEAGUE = "paul@services." + CITIZEN_DOMAIN
CITIZEN = "elodie.marchand@example.org"
CORPUS = os.path.join(harness.REPO, "..", "shared", "corpus", "bounces")


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def message(headers, body):
    head = "".join("%s: %s\n" % h for h in headers)
    data = crlf(head + "\n" + body)
    return data.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n"


class FlowTests(DaemonTestCase):
    # Paul is an agent of the organisation but not of this service: a colleague not on the case.
    daemon_kwargs = {"processor_workers": 1, "limits": {"idle_timeout": "30s"}, "metrics": True,
                     "agents": [("helene", "Hélène Lefèvre", "helene@services." + CITIZEN_DOMAIN),
                                ("paul", "Paul Colin", COLLEAGUE)],
                     "service_agents": ["helene"]}

    def setUp(self):
        super().setUp()
        self.earlier = set(self.all_outbox())  # one daemon per class: earlier tests' mail

    def all_outbox(self):
        return glob.glob(os.path.join(self.daemon.dir, "outbox", "*", "new", "*"))

    def outbox(self, rcpt):
        """This test's messages to `rcpt`, oldest first."""
        files = glob.glob(os.path.join(self.daemon.dir, "outbox", rcpt.lower(), "new", "*"))
        return sorted((f for f in files if f not in self.earlier), key=os.path.getmtime)

    def wait_outbox(self, rcpt, n, what):
        wait_until(lambda: len(self.outbox(rcpt)) >= n, 20, what)
        path = self.outbox(rcpt)[n - 1]
        with open(path, "rb") as f:
            raw = f.read()
        self.assertNotIn(b"\n", raw.replace(b"\r\n", b""), "not pure CRLF: " + path)
        return email.message_from_bytes(raw, policy=email.policy.default), raw

    def send_citizen(self, sender, subject, body, extra=(), rcpt=SERVICE, msgid=None):
        headers = [("From", "Élodie Marchand <%s>" % sender if sender == CITIZEN else sender),
                   ("To", SERVICE), ("Subject", subject),
                   ("Message-ID", "<%s>" % (msgid or "%f@example.org" % time.time())),
                   ("Date", "Sat, 28 Nov 2026 10:00:00 +0100"),
                   ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=utf-8"),
                   ("Content-Transfer-Encoding", "8bit")] + list(extra)
        c = self.connect()
        r = c.send_message(message(headers, body), rcpts=(rcpt,), sender=sender)
        self.assertEqual(r.code, 250, r.raw)

    def send_agent(self, to, headers, body, sender=AGENT):
        c = self.connect("internal")
        c.ehlo(lmtp=True)
        c.mail(sender)
        c.rcpt(to)
        c.data()
        c.send(message(headers, body))
        r = c.recv_reply()
        self.assertEqual(r.code, 250, r.raw)

    def test_1_to_3_citizen_referent_citizen(self):
        year = time.strftime("%Y")
        self.send_citizen(CITIZEN, "Demande d'acte de naissance",
                          "Bonjour,\nje voudrais un acte de naissance.\nMerci", msgid="c1@example.org")
        # 1. The referent gets the forward, the citizen the acknowledgement.
        fwd, _ = self.wait_outbox(AGENT, 1, "the forward to the referent")
        number = re.search(r"\[(EC-%s-\d{6})\]" % year, fwd["Subject"]).group(1)
        self.assertIn("Élodie Marchand (%s)" % number, str(fwd["From"]))
        reply_to = fwd["Reply-To"].addresses[0].addr_spec
        self.assertTrue(reply_to.endswith("@" + harness.AGENT_DOMAIN), reply_to)
        self.assertEqual(fwd["X-Referent-Case"], number)
        self.assertIn("-- Referent %s --" % number, fwd.get_body(("plain",)).get_content())
        ack, _ = self.wait_outbox(CITIZEN, 1, "the acknowledgement")
        self.assertIn(number, ack["Subject"])
        ack_text = ack.get_body(("plain",)).get_content()
        self.assertIn("Hélène Lefèvre", ack_text)
        self.assertEqual(ack["In-Reply-To"], "<c1@example.org>")
        citizen_address = ack["Reply-To"].addresses[0].addr_spec
        self.assertTrue(citizen_address.startswith("etat-civil+"), citizen_address)

        # 2. The referent answers from their own address; the citizen gets it under their name.
        quoted = "\n".join("> " + l for l in fwd.get_body(("plain",)).get_content().splitlines())
        self.send_agent(reply_to, [("From", "Hélène Lefèvre <%s>" % AGENT), ("To", reply_to),
                                   ("Subject", "RE: " + fwd["Subject"]),
                                   ("Message-ID", "<a1@services.example>"),
                                   ("In-Reply-To", fwd["Message-ID"]),
                                   ("MIME-Version", "1.0"),
                                   ("Content-Type", "text/plain; charset=utf-8"),
                                   ("Content-Transfer-Encoding", "8bit")],
                        "Bonjour,\nvotre acte est prêt.\n\n#interne payé en régie\n\n"
                        "Le 28 nov. 2026, %s a écrit :\n%s\n" % (fwd["From"], quoted))
        rep, raw = self.wait_outbox(CITIZEN, 2, "the rewritten reply")
        self.assertIn("Hélène Lefèvre", str(rep["From"]))
        self.assertEqual(rep["From"].addresses[0].addr_spec, citizen_address)
        self.assertEqual(rep["In-Reply-To"], "<c1@example.org>")
        text = rep.get_body(("plain",)).get_content()
        self.assertIn("votre acte est prêt", text)
        self.assertIn("+33 1 23 45 67 89", text)
        self.assertNotIn("#interne", text)
        self.assertNotIn("Referent %s" % number, text)
        self.assertNotIn(harness.AGENT_DOMAIN.encode(), raw)
        self.assertNotIn(b"services.example", raw)

        # 3. The citizen answers: same case, same referent, no second acknowledgement.
        self.send_citizen(CITIZEN, "Re: " + str(rep["Subject"]), "Merci !", rcpt=citizen_address,
                          extra=[("In-Reply-To", rep["Message-ID"])], msgid="c2@example.org")
        fwd2, _ = self.wait_outbox(AGENT, 2, "the second forward")
        self.assertIn("[%s]" % number, fwd2["Subject"])
        self.assertIn(fwd["Message-ID"], str(fwd2["References"]))
        time.sleep(0.5)
        self.assertEqual(len(self.outbox(CITIZEN)), 2, "a second acknowledgement was sent")

        # 4. An unrelated mail from the same citizen: a new case, the same referent.
        self.send_citizen(CITIZEN, "Autre chose", "Une autre demande.", msgid="c3@example.org")
        fwd3, _ = self.wait_outbox(AGENT, 3, "the forward of the new case")
        number3 = re.search(r"\[(EC-%s-\d{6})\]" % year, fwd3["Subject"]).group(1)
        self.assertNotEqual(number3, number)

        # 5. A stranger writing the case tag opens a case of their own.
        self.send_citizen("mallory@evil.example", "[%s] je prends la suite" % number, "Hop",
                          msgid="m1@evil.example")
        ack_m, _ = self.wait_outbox("mallory@evil.example", 1, "the stranger's acknowledgement")
        self.assertNotEqual(ack_m["X-Referent-Case"], number)
        self.assertTrue(ack_m["Subject"].startswith("[%s]" % ack_m["X-Referent-Case"]))

    def test_5_forged_agent_replies_reach_nobody(self):
        self.send_citizen("jean@example.org", "Question", "Bonjour", msgid="j1@example.org")
        fwd, _ = self.wait_outbox(AGENT, 1, "the forward")
        reply_to = fwd["Reply-To"].addresses[0].addr_spec
        base = [("To", reply_to), ("Subject", "RE: x"), ("MIME-Version", "1.0"),
                ("Content-Type", "text/plain; charset=utf-8")]
        mark = self.daemon.log_mark()
        # From is not the agent; then the envelope sender is not.
        self.send_agent(reply_to, [("From", "mallory@evil.example")] + base, "Réponse forgée",
                        sender="mallory@evil.example")
        self.send_agent(reply_to, [("From", AGENT)] + base, "Réponse forgée",
                        sender="mallory@evil.example")
        # The referent's out-of-office never reaches the citizen.
        self.send_agent(reply_to, [("From", AGENT), ("Auto-Submitted", "auto-replied")] + base,
                        "Je suis absente.")
        # A colleague who is not on the case answers with Hélène's reply address.
        self.send_agent(reply_to, [("From", "Paul Colin <%s>" % COLLEAGUE)] + base,
                        "Je réponds à sa place.", sender=COLLEAGUE)
        wait_until(lambda: sum("agent reply refused" in l
                               for l in self.daemon.lines[mark:]) >= 4, 20, "four refusals")
        # Only the colleague hears why (one notice); unknown senders and automatic messages get
        # nothing, and nothing reached the citizen.
        notice, _ = self.wait_outbox(COLLEAGUE, 1, "the refusal notice to the colleague")
        self.assertIn("non transmise", notice["Subject"])
        self.assertIn("un autre agent", notice.get_body(("plain",)).get_content())
        time.sleep(0.5)
        self.assertEqual(len(self.outbox(COLLEAGUE)), 1)
        self.assertEqual(self.outbox("mallory@evil.example"), [])
        self.assertEqual(len(self.outbox(AGENT)), 1, "only the forward")
        self.assertEqual(len(self.outbox("jean@example.org")), 1, "only the acknowledgement")
        # Each refusal is counted by its reason.
        url = "http://127.0.0.1:%d/metrics" % self.daemon.metrics_port()
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
        for reason in ("not_an_agent", "envelope_mismatch", "automatic", "another_agents_token"):
            self.assertRegex(text, r'referent_agent_replies_refused_total\{reason="%s"\} [1-9]'
                             % reason)

    def test_6_citizen_vacation_reply_is_only_recorded(self):
        citizen = "vacances@example.org"
        self.send_citizen(citizen, "Permis de construire", "Bonjour", msgid="v1@example.org")
        self.wait_outbox(AGENT, 1, "the forward")
        ack, _ = self.wait_outbox(citizen, 1, "the acknowledgement")
        self.send_citizen(citizen, "Absent du bureau", "Je suis en congés jusqu'au 5.",
                          rcpt=ack["Reply-To"].addresses[0].addr_spec, msgid="v2@example.org",
                          extra=[("In-Reply-To", ack["Message-ID"]),
                                 ("Auto-Submitted", "auto-replied")])
        wait_until(lambda: not self.daemon.incoming_ids(), 20, "the processor")
        time.sleep(0.5)
        self.assertEqual(len(self.outbox(AGENT)), 1, "the vacation reply was forwarded")
        self.assertEqual(len(self.outbox(citizen)), 1, "the vacation reply was acknowledged")

    def test_10_a_message_delivered_twice_reaches_its_reader_once(self):
        # An MTA that saw no 250 after DATA sends the message again: same Message-ID, same From.
        citizen = "deux-fois@example.org"
        for _ in range(2):
            self.send_citizen(citizen, "Acte de mariage", "Bonjour", msgid="twice@example.org")
        self.wait_outbox(AGENT, 1, "the forward")
        self.wait_outbox(citizen, 1, "the acknowledgement")
        wait_until(lambda: not self.daemon.incoming_ids(), 20, "the processor")
        wait_until(lambda: not [n for n in self.daemon.files("outgoing") if n.endswith(".item")],
                   20, "the relay")
        self.assertEqual(len(self.outbox(AGENT)), 1, "the second copy was forwarded")
        self.assertEqual(len(self.outbox(citizen)), 1, "the second copy was acknowledged")
        # The referent's reply, delivered twice by the organisation's MTA: the citizen gets it
        # once.
        fwd, _ = self.wait_outbox(AGENT, 1, "the forward")
        reply_to = fwd["Reply-To"].addresses[0].addr_spec
        for _ in range(2):
            self.send_agent(reply_to, [("From", "Hélène Lefèvre <%s>" % AGENT), ("To", reply_to),
                                       ("Subject", "RE: " + fwd["Subject"]),
                                       ("Message-ID", "<twice-reply@services.example>"),
                                       ("In-Reply-To", fwd["Message-ID"]),
                                       ("MIME-Version", "1.0"),
                                       ("Content-Type", "text/plain; charset=utf-8")],
                            "Bonjour,\nc'est noté.\n")
        self.wait_outbox(citizen, 2, "the rewritten reply")
        wait_until(lambda: not self.daemon.incoming_ids(), 20, "the processor")
        wait_until(lambda: not [n for n in self.daemon.files("outgoing") if n.endswith(".item")],
                   20, "the relay")
        self.assertEqual(len(self.outbox(citizen)), 2, "the reply reached the citizen twice")

    def test_9_auto_responders_stop_at_the_daily_cap(self):
        # Another gateway whose auto-replies look human and open a fresh thread each time: each
        # opens a case, but acknowledgements to that address stop at max_notices_per_day (5).
        robot = "robot@other-gateway.example"
        for i in range(8):
            self.send_citizen(robot, "Dossier n°%d" % i, "Votre message nous est parvenu.",
                              msgid="robot%d@other-gateway.example" % i)
        wait_until(lambda: len(self.outbox(AGENT)) >= 8, 20, "the eight forwards")
        time.sleep(0.5)
        self.assertEqual(len(self.outbox(robot)), 5)

    @unittest.skipUnless(os.path.isdir(CORPUS), "bounce corpus not found")
    def test_bounce_corpus_opens_nothing(self):
        files = sorted(glob.glob(os.path.join(CORPUS, "*.eml")))
        self.assertTrue(files)
        c = self.connect()
        c.ehlo()
        for path in files:
            with open(path, "rb") as f:
                data = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            if not data.endswith(b"\r\n"):
                data += b"\r\n"
            data = data.replace(b"\r\n.", b"\r\n..") + b".\r\n"
            c.mail("")
            c.rcpt(SERVICE)
            c.data()
            c.send(data)
            r = c.recv_reply()
            self.assertIn(r.code, (250, 550, 554), "%s: %r" % (path, r.raw))
        wait_until(lambda: not self.daemon.incoming_ids(), 60, "the processor to drain incoming/")
        time.sleep(0.5)
        self.assertEqual([f for f in self.all_outbox() if f not in self.earlier], [],
                         "the bounce corpus made the gateway send mail")


class AbsenceTests(FlowTests):
    """The referent goes away after the case was opened: the delegate reads the case's mail,
    marked for the referent, the citizen is told once who covers, and the delegate's answer
    goes out under the delegate's card."""

    test_1_to_3_citizen_referent_citizen = None
    test_5_forged_agent_replies_reach_nobody = None
    test_6_citizen_vacation_reply_is_only_recorded = None
    test_9_auto_responders_stop_at_the_daily_cap = None
    test_10_a_message_delivered_twice_reaches_its_reader_once = None
    test_bounce_corpus_opens_nothing = None

    def test_7_absence(self):
        self.send_citizen(CITIZEN, "Livret de famille", "Bonjour", msgid="ab1@example.org")
        fwd, _ = self.wait_outbox(AGENT, 1, "the forward to the referent")
        ack, _ = self.wait_outbox(CITIZEN, 1, "the acknowledgement")
        citizen_address = ack["Reply-To"].addresses[0].addr_spec
        # Hélène is away from today, Paul covers; the daemon restarts on the new configuration.
        today = time.strftime("%Y-%m-%d")
        until = time.strftime("%Y-%m-%d", time.localtime(time.time() + 10 * 86400))
        self.daemon.stop()
        self.daemon.agents = [
            ("helene", "Hélène Lefèvre", AGENT,
             "absences: [{ from: %s, to: %s, delegate: paul }]" % (today, until)),
            ("paul", "Paul Colin", COLLEAGUE)]
        self.daemon.write_config()
        self.daemon.start()
        for n, msgid in ((1, "ab2@example.org"), (2, "ab3@example.org")):
            self.send_citizen(CITIZEN, "Re: " + str(ack["Subject"]), "Une précision",
                              rcpt=citizen_address, msgid=msgid,
                              extra=[("In-Reply-To", "<ab1@example.org>")])
            for_paul, _ = self.wait_outbox(COLLEAGUE, n, "the forward to the delegate")
            self.assertIn("Pour Hélène Lefèvre", for_paul.get_body(("plain",)).get_content())
        told, _ = self.wait_outbox(CITIZEN, 2, "the absence notice")
        self.assertIn("Paul Colin", told.get_body(("plain",)).get_content())
        time.sleep(0.5)
        self.assertEqual(len(self.outbox(CITIZEN)), 2, "the citizen is told once")
        self.assertEqual(len(self.outbox(AGENT)), 1, "Hélène gets nothing while away")
        # Paul answers: it goes out under Paul's card.
        reply_to = for_paul["Reply-To"].addresses[0].addr_spec
        self.send_agent(reply_to, [("From", "Paul Colin <%s>" % COLLEAGUE), ("To", reply_to),
                                   ("Subject", "RE: x"), ("MIME-Version", "1.0"),
                                   ("Content-Type", "text/plain; charset=utf-8")],
                        "Votre livret est prêt.", sender=COLLEAGUE)
        rep, _ = self.wait_outbox(CITIZEN, 3, "the delegate's answer")
        self.assertIn("Paul Colin", str(rep["From"]))
        self.assertIn("Votre livret est prêt.", rep.get_body(("plain",)).get_content())


class StickyTests(FlowTests):
    """Two referents in the service (sticky policy, the default): a returning citizen keeps
    their referent even when the other one has fewer open cases."""

    daemon_kwargs = dict(FlowTests.daemon_kwargs, service_agents=["helene", "paul"])
    test_1_to_3_citizen_referent_citizen = None
    test_5_forged_agent_replies_reach_nobody = None
    test_6_citizen_vacation_reply_is_only_recorded = None
    test_9_auto_responders_stop_at_the_daily_cap = None
    test_10_a_message_delivered_twice_reaches_its_reader_once = None
    test_bounce_corpus_opens_nothing = None

    def referent_of(self, sender, subject, msgid):
        before = {AGENT: len(self.outbox(AGENT)), COLLEAGUE: len(self.outbox(COLLEAGUE))}
        self.send_citizen(sender, subject, "Bonjour", msgid=msgid)
        return wait_until(lambda: [a for a in (AGENT, COLLEAGUE)
                                   if len(self.outbox(a)) > before[a]], 20, "the forward")[0]

    def test_4_returning_citizen_keeps_the_referent(self):
        self.assertEqual(self.referent_of("anne@example.org", "Acte", "s1@example.org"), AGENT)
        self.assertEqual(self.referent_of("bob@example.org", "Acte", "s2@example.org"), COLLEAGUE)
        self.assertEqual(self.referent_of("carl@example.org", "Acte", "s3@example.org"), AGENT)
        # Hélène has two open cases, Paul one: least loaded would pick Paul; Anne's new,
        # unrelated request stays with Hélène.
        self.assertEqual(self.referent_of("anne@example.org", "Autre sujet", "s4@example.org"),
                         AGENT)


class HandoverTests(FlowTests):
    """referentctl assign while referentd runs: the citizen gets the handover notice with the
    new card, the new referent the history and can answer it, the former referent's reply is
    refused politely (naming the new referent), and the citizen's reply addresses keep working."""

    test_1_to_3_citizen_referent_citizen = None
    test_5_forged_agent_replies_reach_nobody = None
    test_6_citizen_vacation_reply_is_only_recorded = None
    test_9_auto_responders_stop_at_the_daily_cap = None
    test_10_a_message_delivered_twice_reaches_its_reader_once = None
    test_bounce_corpus_opens_nothing = None

    def assign(self, *args):
        import subprocess
        return subprocess.run([harness.referentctl_path(), "-c", self.daemon.config_path,
                               "assign"] + list(args), capture_output=True, text=True,
                              timeout=60, cwd=self.daemon.dir)

    def test_7_handover(self):
        self.send_citizen(CITIZEN, "Mariage", "Bonjour, pour notre mariage…", msgid="h1@example.org")
        fwd, _ = self.wait_outbox(AGENT, 1, "the forward to Hélène")
        ack, _ = self.wait_outbox(CITIZEN, 1, "the acknowledgement")
        number = ack["X-Referent-Case"]
        self.assertEqual(self.assign(number, "paul").returncode, 2)  # no reason
        self.assertEqual(self.assign("EC-1999-000001", "paul", "--reason", "x").returncode, 2)
        self.assertEqual(self.assign(number, "nobody", "--reason", "x").returncode, 2)
        p = self.assign(number, "paul", "--reason", "mobilité")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("paul (was helene)", p.stdout)
        self.assertEqual(self.assign(number, "paul", "--reason", "encore").returncode, 2)

        notice, _ = self.wait_outbox(CITIZEN, 2, "the handover notice")
        self.assertIn("Paul Colin", notice.get_body(("plain",)).get_content())
        self.assertEqual(notice["Reply-To"].addresses[0].addr_spec,
                         ack["Reply-To"].addresses[0].addr_spec)
        history, raw = self.wait_outbox(COLLEAGUE, 1, "the history for Paul")
        names = [part.get_filename() for part in history.iter_attachments()]
        self.assertEqual(names, ["message-1.eml"])
        self.assertIn(b"Bonjour, pour notre mariage", raw)

        # Hélène answers the old forward: refused, told who the referent is now.
        old = fwd["Reply-To"].addresses[0].addr_spec
        base = [("Subject", "RE: x"), ("MIME-Version", "1.0"),
                ("Content-Type", "text/plain; charset=utf-8")]
        self.send_agent(old, [("From", AGENT), ("To", old)] + base, "Ma réponse")
        refusal, _ = self.wait_outbox(AGENT, 2, "the refusal to the former referent")
        text = refusal.get_body(("plain",)).get_content()
        self.assertIn("Paul Colin", text)
        # Paul answers the history: it goes to the citizen under Paul's name.
        new = history["Reply-To"].addresses[0].addr_spec
        self.send_agent(new, [("From", COLLEAGUE), ("To", new)] + base, "Je reprends votre dossier.",
                        sender=COLLEAGUE)
        rep, _ = self.wait_outbox(CITIZEN, 3, "Paul's answer")
        self.assertIn("Paul Colin", str(rep["From"]))
        self.assertNotIn("Ma réponse", rep.get_body(("plain",)).get_content())
        # The citizen's reply address still works, and reaches Paul.
        self.send_citizen(CITIZEN, "Re: Mariage", "Merci", rcpt=notice["Reply-To"].addresses[0].addr_spec,
                          msgid="h2@example.org", extra=[("In-Reply-To", rep["Message-ID"])])
        self.wait_outbox(COLLEAGUE, 2, "the citizen's answer, forwarded to Paul")


class AuthenticatedRepliesTests(FlowTests):
    """With trusted_authserv_ids, an agent's reply goes out only when our MX's topmost
    Authentication-Results says DKIM or DMARC passed for the agent's own domain."""

    daemon_kwargs = dict(FlowTests.daemon_kwargs, trusted_authserv_ids=["mx.test.example"])

    # The inherited scenarios would need the header on every reply: run only this one.
    test_1_to_3_citizen_referent_citizen = None
    test_5_forged_agent_replies_reach_nobody = None
    test_6_citizen_vacation_reply_is_only_recorded = None
    test_9_auto_responders_stop_at_the_daily_cap = None
    test_10_a_message_delivered_twice_reaches_its_reader_once = None
    test_bounce_corpus_opens_nothing = None

    def test_authentication_results(self):
        self.send_citizen("anne@example.org", "Question", "Bonjour", msgid="an1@example.org")
        fwd, _ = self.wait_outbox(AGENT, 1, "the forward")
        reply_to = fwd["Reply-To"].addresses[0].addr_spec
        base = [("From", "Hélène Lefèvre <%s>" % AGENT), ("To", reply_to), ("Subject", "RE: x"),
                ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=utf-8")]
        domain = AGENT.split("@")[1]
        refused = [
            [],  # no header at all
            [("Authentication-Results", "mx.test.example; dkim=pass header.d=evil.example")],
            [("Authentication-Results", "mx.test.example; dkim=fail header.d=%s" % domain)],
            [("Authentication-Results", "evil.example; dkim=pass header.d=%s" % domain),
             ("Authentication-Results", "mx.test.example; dkim=pass header.d=%s" % domain)],
        ]
        mark = self.daemon.log_mark()
        for extra in refused:
            self.send_agent(reply_to, extra + base, "Réponse")
        wait_until(lambda: sum("agent reply refused" in l
                               for l in self.daemon.lines[mark:]) >= len(refused), 20,
                   "the refusals")
        self.assertEqual(len(self.outbox("anne@example.org")), 1, "only the acknowledgement")
        self.send_agent(reply_to, [("Authentication-Results",
                                    "mx.test.example; spf=pass smtp.mailfrom=%s;"
                                    " dkim=pass header.d=%s header.s=sel" % (domain, domain))]
                        + base, "Réponse authentifiée")
        rep, _ = self.wait_outbox("anne@example.org", 2, "the authenticated reply")
        self.assertIn("Réponse authentifiée", rep.get_body(("plain",)).get_content())
        notices = self.outbox(AGENT)[1:]
        self.assertEqual(len(notices), len(refused), "one refusal notice per refused reply")


if __name__ == "__main__":
    harness.main()
