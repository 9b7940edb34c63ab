#!/usr/bin/env python3
"""referentd in a real mail system: Postfix as the organisation's MX in front of it, Postfix as
the relay behind it, and Dovecot holding the mailboxes (LMTP in, IMAP out).

    citizen (swaks, 127.0.0.2) ─┐                                  ┌─ LMTP ─ Dovecot ─ IMAP (curl)
    agent (swaks, 127.0.0.1) ───┴─ MX Postfix ─ referentd ─ relay ─┤
                                  ▲ (public: SMTP, internal: LMTP) └─ DSN ─ back to the MX

Both Postfix instances load the deployment snippets of config/postfix/ (the lines the README's
"Deploy behind Postfix" quotes) with only the loopback ports and /etc/postfix paths replaced,
plus, on the relay, two lines standing in for DNS (the citizens' provider is this Dovecot; the
organisation's MX is the test's). Through the whole chain: a new case, its acknowledgement,
the forward, the referent's answer rewritten under the referent's card, the citizen's reply in
the same case, and a bounce (Dovecot refuses an unknown citizen, the relay's DSN comes back by
the VERP address, the referent hears of it). And the MX's policy: no open relay, unknown
recipients and outsiders writing to the agents' reply domain refused, bare LF refused, the
size limit referentd's.

Everything runs on free loopback ports under temporary directories: nothing of the system's
Postfix or Dovecot (configuration, ports, queues) is read or touched.
"""

import email
import email.policy
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CITIZEN_DOMAIN, SERVICE, Client, Daemon, wait_until  # noqa: E402
import postfix  # noqa: E402
from postfix import DumpLogsOnFailure, Postfix, free_port  # noqa: E402

SNIPPETS = os.path.join(harness.REPO, "config", "postfix")
EXAMPLE_CONFIG = os.path.join(harness.REPO, "config", "referent.yaml")
README = os.path.join(harness.REPO, "README.md")
REPLY_DOMAIN = "referent.mairie-exemple.fr"  # agent_domain of config/referent.yaml
AGENT = "helene.lefevre@agents.mairie-exemple.fr"
CITIZEN = "elodie.marchand@example.org"
UNKNOWN_CITIZEN = "elodie.marchant@example.org"  # a typo: no such mailbox at the provider
OUTSIDE = "127.0.0.2"  # the Internet: outside the MX's mynetworks (127.0.0.1/32)
PASSWORDS = {AGENT: "secret-helene", CITIZEN: "secret-elodie"}
TIMEOUT = 60  # two Postfix hops and a processor on a loaded two-core (ASan) machine


def snippet(path, replace):
    """A config/postfix file with each production endpoint replaced by the test's; every
    replaced text must occur (a changed snippet fails here, not by mail going astray)."""
    with open(os.path.join(SNIPPETS, path), encoding="utf-8") as f:
        text = f.read()
    for old, new in replace.items():
        if old not in text:
            raise AssertionError("%s no longer contains %r" % (path, old))
        text = text.replace(old, new)
    return text


def example_max_message_size():
    """limits.max_message_size of config/referent.yaml, in octets."""
    with open(EXAMPLE_CONFIG, encoding="utf-8") as f:
        m = re.search(r"^\s*max_message_size:\s*(\d+)(B|KiB|MiB|GiB)?\b", f.read(), re.M)
    assert m, "no max_message_size in %s" % EXAMPLE_CONFIG
    unit = {"B": 1, None: 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[m.group(2)]
    return int(m.group(1)) * unit


class Dovecot:
    """A private Dovecot: its own config file, base_dir, state and Maildirs under a temporary
    directory, LMTP and IMAP on free loopback ports, passwd-file users, running in the
    foreground as this process's child (killed with it)."""

    def __init__(self, users):
        self.dir = tempfile.mkdtemp(prefix="dovecot-chain-")
        os.chmod(self.dir, 0o755)  # dovecot's unprivileged processes traverse it
        # Removes the directory once this process is gone, however it ends (dovecot itself
        # gets SIGKILL then, through setpriv's parent-death signal).
        self.guard = subprocess.Popen(
            [sys.executable, "-c", "import shutil, sys, time; sys.stdin.buffer.read(); "
             "time.sleep(1); shutil.rmtree(sys.argv[1], ignore_errors=True)", self.dir],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        self.lmtp_port, self.imap_port = free_port(), free_port()
        self.log_path = os.path.join(self.dir, "dovecot.log")
        self.config_path = os.path.join(self.dir, "dovecot.conf")
        mail = os.path.join(self.dir, "mail")
        for sub in ("run", "state", "mail"):
            os.mkdir(os.path.join(self.dir, sub), 0o755)
        shutil.chown(mail, "nobody", "nogroup")
        with open(os.path.join(self.dir, "users"), "w", encoding="utf-8") as f:
            f.write("".join("%s:{PLAIN}%s::::::\n" % u for u in users.items()))
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(self.config_text(mail))
        self.proc = None
        try:
            with open(os.path.join(self.dir, "stderr"), "wb") as err:
                self.proc = subprocess.Popen(
                    ["setpriv", "--pdeathsig", "KILL", "--", "dovecot", "-F", "-c",
                     self.config_path], stdin=subprocess.DEVNULL, stdout=err, stderr=err)
            for port, greeting in ((self.lmtp_port, b"220 "), (self.imap_port, b"* OK")):
                wait_until(lambda: self.greets(port, greeting), TIMEOUT, "dovecot on %d" % port,
                           interval=0.1)
        except BaseException:
            sys.stderr.write(self.log_tail() + "\n")
            self.close()
            raise

    def config_text(self, mail):
        d = self.dir
        return """\
instance_name = dovecot-chain
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:{mail}/%u
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
# A static userdb checks existence in the passdb: LMTP refuses unknown users with 550 5.1.1.
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
""".format(d=d, mail=mail, imap=self.imap_port, lmtp=self.lmtp_port)

    def greets(self, port, greeting):
        if self.proc.poll() is not None:
            raise AssertionError("dovecot exited with %r\n%s" % (self.proc.returncode,
                                                                self.log_tail()))
        try:
            with Client(port, greeting=False, timeout=5) as c:
                c._fill(time.monotonic() + 5)
                return c.buf.startswith(greeting)
        except OSError:
            return False

    def log_tail(self, n=60):
        out = []
        for name in ("stderr", "dovecot.log"):
            try:
                with open(os.path.join(self.dir, name), encoding="utf-8", errors="replace") as f:
                    out += f.read().splitlines()[-n:]
            except OSError:
                pass
        return "\n".join(["--- dovecot log (%s) ---" % self.dir] + out)

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if os.environ.get("REFERENT_IT_KEEP"):
            self.guard.kill()
            sys.stderr.write("kept dovecot in %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.guard.stdin.close()
        self.guard.wait(30)


class Mailbox:
    """A user's INBOX read over IMAP with curl; messages come parsed, oldest first."""

    def __init__(self, dovecot, user):
        self.url = "imap://127.0.0.1:%d/INBOX" % dovecot.imap_port
        self.user = user
        self.auth = "%s:%s" % (user, PASSWORDS[user])
        self.cache = {}  # uid -> raw bytes

    def curl(self, url, *args):
        p = subprocess.run(["curl", "--silent", "--show-error", "--max-time", "30", url, "-u",
                            self.auth] + list(args), capture_output=True, timeout=60)
        assert p.returncode == 0, "curl %s: %s" % (url, p.stderr.decode(errors="replace"))
        return p.stdout

    def raw_messages(self):
        out = self.curl(self.url, "-X", "UID SEARCH ALL").decode("ascii", "replace")
        m = re.search(r"^\* SEARCH([\d ]*)\r?$", out, re.M)
        assert m, "no SEARCH reply: %r" % out
        for uid in (int(u) for u in m.group(1).split()):
            if uid not in self.cache:
                self.cache[uid] = self.curl("%s;UID=%d" % (self.url, uid))
        return [self.cache[u] for u in sorted(self.cache)]

    def messages(self):
        return [email.message_from_bytes(r, policy=email.policy.default)
                for r in self.raw_messages()]

    def wait(self, predicate, what, timeout=TIMEOUT):
        """The first message (parsed) for which predicate(msg) holds, and its raw bytes."""
        def find():
            for raw in self.raw_messages():
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                if predicate(msg):
                    return msg, raw
            return None

        return wait_until(find, timeout, "%s in %s's mailbox" % (what, self.user),
                          interval=0.3)


def text_of(msg):
    body = msg.get_body(("plain",))
    return body.get_content() if body is not None else ""


def rfc822(headers, body):
    """A message as swaks sends it from a file: LF line ends (swaks writes CRLF)."""
    return ("".join("%s: %s\n" % h for h in headers) + "\n" + body + "\n").encode("utf-8")


def swaks(port, sender, rcpt, data, source="127.0.0.1"):
    """One SMTP transaction with swaks; returns its transcript (asserts a 250 after DATA)."""
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port),
                        "--local-interface", source, "--helo", "client.example",
                        "--from", sender, "--to", rcpt, "--data", "-", "--timeout", "60"],
                       input=data, capture_output=True, timeout=120)
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0 and re.search(r"^<-  250 .*queued as", out, re.M), \
        "swaks exit %d:\n%s%s" % (p.returncode, out, p.stderr.decode("utf-8", "replace"))
    return out


class PostfixChainTests(DumpLogsOnFailure):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        reason = postfix.available()
        for tool in ("dovecot", "swaks", "curl", "setpriv"):
            if not reason and not shutil.which(tool):
                reason = "%s not found (script/bootstrap installs it)" % tool
        if reason:
            raise unittest.SkipTest(reason)
        t0 = time.monotonic()
        cls.max_size = example_max_message_size()
        cls.dovecot = Dovecot(PASSWORDS)
        cls.addClassCleanup(cls.dovecot.close)
        cls.mx = Postfix("mx", start=False)
        cls.addClassCleanup(cls.mx.close)
        cls.relay = Postfix("relay", start=False)
        cls.addClassCleanup(cls.relay.close)
        cls.relay.configure(
            main=snippet("relay/main.cf", {}),
            master=snippet("relay/master.cf",
                           {"127.0.0.1:10025": "127.0.0.1:%d" % cls.relay.port}),
            maps={"referent_transport": snippet(
                "relay/referent_transport",
                {"127.0.0.1:24": "127.0.0.1:%d" % cls.dovecot.lmtp_port}) +
                  # Stand-ins for DNS: the citizens' provider, and the organisation's MX.
                  "example.org  lmtp:inet:127.0.0.1:%d\n" % cls.dovecot.lmtp_port +
                  "%s  smtp:[127.0.0.1]:%d\n" % (CITIZEN_DOMAIN, cls.mx.port)})
        cls.relay.start()
        cls.daemon = Daemon(
            name="chain", processor_workers=1, agent_domain=REPLY_DOMAIN,
            relay="{ url: smtp://127.0.0.1:%d, starttls: never, retry: [1s], workers: 2 }"
                  % cls.relay.port,
            limits={"idle_timeout": "30s", "max_message_size": cls.max_size},
            agents=[("helene.lefevre", "Hélène Lefèvre", AGENT)])
        cls.addClassCleanup(cls.daemon.close)
        mx_endpoints = {"[127.0.0.1]:2525": "[127.0.0.1]:%d" % cls.daemon.port("public"),
                        "[127.0.0.1]:2526": "[127.0.0.1]:%d" % cls.daemon.port("internal")}
        cls.mx.configure(
            main=snippet("mx/main.cf", {}), master=snippet("mx/master.cf", {}),
            maps={name: snippet("mx/" + name, mx_endpoints if name == "referent_transport"
                                else {})
                  for name in ("referent_transport", "referent_recipients",
                               "referent_internal")})
        cls.mx.start()
        sys.stderr.write("chain up in %.1fs: MX %d, referentd %d/%d, relay %d, Dovecot LMTP %d "
                         "IMAP %d\n" % (time.monotonic() - t0, cls.mx.port,
                                        cls.daemon.port("public"), cls.daemon.port("internal"),
                                        cls.relay.port, cls.dovecot.lmtp_port,
                                        cls.dovecot.imap_port))

    def failure_logs(self):
        yield "MX", self.mx.log_tail(80)
        yield "relay", self.relay.log_tail(80)
        yield "referentd", self.daemon.log_tail(80)
        yield "dovecot", self.dovecot.log_tail(40)

    def tearDown(self):
        self.daemon.assert_alive()
        super().tearDown()

    def citizen_writes(self, sender, rcpt, headers, body):
        return swaks(self.mx.port, sender, rcpt, rfc822(headers, body), source=OUTSIDE)

    # -- the flow through the chain --------------------------------------------------------
    def test_1_citizen_referent_citizen(self):
        citizen, agent = Mailbox(self.dovecot, CITIZEN), Mailbox(self.dovecot, AGENT)
        year = time.strftime("%Y")
        self.citizen_writes(CITIZEN, SERVICE, [
            ("From", "Élodie Marchand <%s>" % CITIZEN), ("To", SERVICE),
            ("Subject", "Demande de copie intégrale d'acte de naissance"),
            ("Message-ID", "<chain-1@example.org>"), ("Date", "Sat, 28 Nov 2026 10:00:00 +0100"),
            ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Transfer-Encoding", "8bit")],
            "Bonjour,\n\nPourriez-vous m'envoyer une copie intégrale de mon acte de naissance ?"
            "\n\nÉlodie Marchand")

        # The referent's forward and the citizen's acknowledgement, in their mailboxes.
        fwd, fwd_raw = agent.wait(lambda m: "acte de naissance" in str(m["Subject"]),
                                  "the forward")
        number = re.search(r"\[(EC-%s-\d{6})\]" % year, str(fwd["Subject"])).group(1)
        self.assertEqual(fwd["X-Referent-Case"], number)
        self.assertIn("Élodie Marchand", str(fwd["From"]))
        reply_to = fwd["Reply-To"].addresses[0].addr_spec
        self.assertTrue(reply_to.endswith("@" + REPLY_DOMAIN), reply_to)
        self.assertIn("Pourriez-vous", text_of(fwd))
        # It went MX -> referentd's public listener -> relay -> Dovecot.
        self.assertTrue([d for d in self.mx.deliveries("sent") if d["to"] == SERVICE and
                         d["relay"].endswith(":%d" % self.daemon.port("public"))],
                        self.mx.log_tail())
        self.assertRegex(fwd_raw, rb"Received: from relay\.test \(\[127\.0\.0\.1\]\)\r\n\t"
                         rb"by \S+ with LMTP")
        self.assertIn(b"by relay.test (Postfix)", fwd_raw)
        ack, _ = citizen.wait(lambda m: number in str(m["Subject"]), "the acknowledgement")
        self.assertEqual(ack["In-Reply-To"], "<chain-1@example.org>")
        self.assertIn("Hélène Lefèvre", text_of(ack))
        citizen_address = ack["Reply-To"].addresses[0].addr_spec
        self.assertTrue(citizen_address.startswith("etat-civil+"), citizen_address)

        # The referent answers from the agents' network, to the forward's reply address.
        quoted = "\n".join("> " + line for line in text_of(fwd).splitlines())
        swaks(self.mx.port, AGENT, reply_to, rfc822([
            ("From", "Hélène Lefèvre <%s>" % AGENT), ("To", reply_to),
            ("Subject", "RE: " + str(fwd["Subject"])), ("Message-ID", "<answer-1@agents.example>"),
            ("In-Reply-To", fwd["Message-ID"]), ("References", fwd["Message-ID"]),
            ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Transfer-Encoding", "8bit")],
            "Bonjour Madame,\n\nVotre copie intégrale part ce jour par courrier.\n\n"
            "#interne vérifié au registre 2026\n\nLe 28 nov. 2026, %s a écrit :\n%s"
            % (fwd["From"], quoted)))

        # The citizen reads it under the referent's name, title and contacts, not her address.
        rep, rep_raw = citizen.wait(lambda m: "part ce jour" in text_of(m), "the answer")
        self.assertIn("Hélène Lefèvre", str(rep["From"]))
        self.assertEqual(rep["From"].addresses[0].addr_spec, citizen_address)
        self.assertEqual(rep["In-Reply-To"], "<chain-1@example.org>")
        text = text_of(rep)
        self.assertIn("Officier d'état civil", text)
        self.assertIn("+33 1 23 45 67 89", text)
        self.assertNotIn("#interne", text)
        self.assertNotIn(AGENT.encode(), rep_raw)
        self.assertNotIn(REPLY_DOMAIN.encode(), rep_raw)
        self.assertNotIn(b"agents.example", rep_raw)  # the internal Message-ID

        # The citizen answers that answer: the same case, threaded on the referent's side.
        self.citizen_writes(CITIZEN, citizen_address, [
            ("From", "Élodie Marchand <%s>" % CITIZEN), ("To", str(rep["From"])),
            ("Subject", "Re: " + str(rep["Subject"])), ("Message-ID", "<chain-2@example.org>"),
            ("In-Reply-To", rep["Message-ID"]),
            ("References", "<chain-1@example.org> %s" % rep["Message-ID"]),
            ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Transfer-Encoding", "8bit")],
            "Merci beaucoup, j'ai bien noté.\n\nÉlodie")
        fwd2, _ = agent.wait(lambda m: "bien noté" in text_of(m), "the follow-up's forward")
        self.assertIn("[%s]" % number, str(fwd2["Subject"]))
        self.assertEqual(fwd2["X-Referent-Case"], number)
        self.assertIn(fwd["Message-ID"], str(fwd2["References"]))
        self.assertEqual(fwd2["Reply-To"].addresses[0].addr_spec, reply_to)
        # No second acknowledgement: the ack and the answer only.
        time.sleep(1)
        self.assertEqual(len(citizen.messages()), 2, [str(m["Subject"]) for m in
                                                      citizen.messages()])
        self.mx.wait_queue_empty()
        self.relay.wait_queue_empty()

    def test_2_bounce_comes_back_to_the_referent(self):
        agent = Mailbox(self.dovecot, AGENT)
        self.citizen_writes(UNKNOWN_CITIZEN, SERVICE, [
            ("From", UNKNOWN_CITIZEN), ("To", SERVICE), ("Subject", "Carte d'identité"),
            ("Message-ID", "<chain-bounce@example.org>"), ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=utf-8")], "Bonjour, où en est ma carte ?")
        agent.wait(lambda m: "Carte d'identité" in str(m["Subject"]), "the forward")
        # The relay's LMTP delivery of the acknowledgement fails (no such mailbox) and its DSN
        # goes to the VERP envelope sender: through the MX back into referentd.
        bounced = wait_until(lambda: [d for d in self.relay.deliveries("bounced")
                                      if d["to"] == UNKNOWN_CITIZEN], TIMEOUT, "the bounce")
        self.assertEqual(bounced[0]["dsn"], "5.1.1")
        self.mx.wait_for_log(r"from=<>, size=\d+, nrcpt=1")
        back = wait_until(lambda: [d for d in self.mx.deliveries("sent")
                                   if d["to"].startswith("etat-civil+")
                                   and d["relay"].endswith(":%d" % self.daemon.port("public"))],
                          TIMEOUT, "the DSN delivered to referentd")
        self.assertTrue(back[0]["to"].endswith("@" + CITIZEN_DOMAIN), back)
        notice, _ = agent.wait(lambda m: "non remis à %s" % UNKNOWN_CITIZEN in str(m["Subject"]),
                               "the delivery-failure notice")
        self.assertIn(UNKNOWN_CITIZEN, text_of(notice))
        self.assertIn("5.1.1", text_of(notice))
        self.mx.wait_queue_empty()
        self.relay.wait_queue_empty()

    # -- the MX's policy ------------------------------------------------------------------
    def outsider(self):
        c = Client(self.mx.port, source=OUTSIDE, timeout=30)
        self.addCleanup(c.close)
        self.assertEqual(c.greeting.code, 220)
        return c

    def test_3_no_open_relay_and_no_unknown_recipients(self):
        c = self.outsider()
        c.ehlo()
        c.mail("someone@example.net")
        c.cmd("RCPT TO:<friend@example.net>", 554, "5.7.1")       # relaying
        c.cmd("RCPT TO:<accueil@%s>" % CITIZEN_DOMAIN, 550, "5.1.1")  # not behind the MX
        # The agents' reply domain takes mail from the agents' network only.
        c.cmd("RCPT TO:<ec-1+abcdefghijklmnopqrstuvwxyz234567@%s>" % REPLY_DOMAIN, 554, "5.7.1")
        c.cmd("RCPT TO:<etat-civil+anything@%s>" % CITIZEN_DOMAIN, 250)
        c.cmd("VRFY etat-civil@%s" % CITIZEN_DOMAIN, 502)

    def test_4_smuggled_message_stays_content(self):
        # SMTP smuggling: a second transaction hidden behind "<LF>.<CR><LF>". With
        # smtpd_forbid_bare_newline = yes (normalize) only <CR><LF>.<CR><LF> ends DATA: the
        # hidden commands are the text of the one message, whose forward shows them.
        agent = Mailbox(self.dovecot, AGENT)
        c = self.outsider()
        c.ehlo()
        c.mail("smuggler@example.net")
        c.rcpt(SERVICE)
        c.data()
        c.send(b"From: smuggler@example.net\r\nSubject: innocent\r\n\r\nhello\n.\r\n"
               b"MAIL FROM:<ceo@" + CITIZEN_DOMAIN.encode() + b">\r\nRCPT TO:<" +
               SERVICE.encode() + b">\r\nDATA\r\nFrom: ceo@" + CITIZEN_DOMAIN.encode() +
               b"\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n")
        r = c.recv_reply()
        self.assertEqual(r.code, 250, r.raw)
        self.assertTrue(c.nothing_pending(1.0), "a second reply: a smuggled transaction")
        c.cmd("QUIT", 221)
        fwd, _ = agent.wait(lambda m: "innocent" in str(m["Subject"]), "the forward")
        self.assertIn("MAIL FROM:<ceo@%s>" % CITIZEN_DOMAIN, text_of(fwd))
        self.mx.wait_queue_empty()
        self.assertNotIn("from=<ceo@", self.mx.log_text())
        self.assertEqual([m for m in agent.messages() if "smuggled" in str(m["Subject"])], [])

    def test_5_size_limit_matches_referentd(self):
        c = self.outsider()
        ehlo = c.ehlo().lines
        mx_size = int(next(l.split()[1] for l in ehlo if l.startswith("SIZE ")))
        with self.daemon.client() as g:
            gateway_size = int(next(l.split()[1] for l in g.ehlo().lines
                                    if l.startswith("SIZE ")))
        self.assertEqual(gateway_size, self.max_size)
        # What the MX accepts, referentd accepts: Postfix counts its own Received: header in
        # message_size_limit and passes that size on.
        self.assertLessEqual(mx_size, gateway_size)
        self.assertGreater(int(self.relay.postconf("-h", "message_size_limit")), gateway_size)
        c.cmd("MAIL FROM:<big@example.net> SIZE=%d" % (mx_size + 1), 552, "5.3.4")
        c.cmd("MAIL FROM:<big@example.net> SIZE=%d" % mx_size, 250)
        # All the MX's connections come from one address: both transports together stay under
        # referentd's max_connections_per_ip.
        with open(EXAMPLE_CONFIG, encoding="utf-8") as f:
            per_ip = int(re.search(r"^\s*max_connections_per_ip:\s*(\d+)", f.read(), re.M)
                         .group(1))
        total = sum(int(self.mx.postconf("-h", "%s_destination_concurrency_limit" % t))
                    for t in ("referent", "referentlmtp"))
        self.assertLess(total, per_ip)

    def test_5_smtputf8_address_reaches_referentd(self):
        c = self.outsider()
        self.assertIn("SMTPUTF8", c.ehlo().lines)
        c.cmd("MAIL FROM:<élodie@example.net> SMTPUTF8", 250)
        c.rcpt(SERVICE)
        c.data()
        c.send("From: Élodie <élodie@example.net>\r\nTo: %s\r\nSubject: Café\r\n"
               "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
               "Bonjour\r\n.\r\n" % SERVICE)
        queue_id = re.search(r"queued as (\w+)", c.recv_reply().text).group(1)
        sent = wait_until(lambda: [d for d in self.mx.deliveries("sent")
                                   if d["queue_id"] == queue_id], TIMEOUT, "the delivery")
        self.assertTrue(sent[0]["relay"].endswith(":%d" % self.daemon.port("public")), sent)

    def test_6_readme_quotes_the_snippets(self):
        with open(README, encoding="utf-8") as f:
            readme = f.read()
        start = readme.find("## Deploy behind Postfix")
        self.assertGreaterEqual(start, 0, "README has no 'Deploy behind Postfix' section")
        end = readme.find("\n## ", start + 1)
        section = readme[start:end if end > 0 else len(readme)]
        for sub in ("mx", "relay"):
            for name in sorted(os.listdir(os.path.join(SNIPPETS, sub))):
                with open(os.path.join(SNIPPETS, sub, name), encoding="utf-8") as f:
                    text = f.read()
                self.assertTrue(text in section, "README's 'Deploy behind Postfix' does not "
                                "quote config/postfix/%s/%s as it is" % (sub, name))


if __name__ == "__main__":
    harness.main()
