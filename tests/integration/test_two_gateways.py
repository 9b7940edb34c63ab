#!/usr/bin/env python3
"""Two gateways, one PostgreSQL: two referentd, each with its own spool, listeners and
hostname, share one case store (a private schema of the server script/with-postgres starts,
named by REFERENT_TEST_PG) and relay to one recording sink (smtp_sink.py).

What must hold whichever gateway a message lands on:
- a citizen's follow-ups (In-Reply-To, reply token) stay in the citizen's one case, with one
  referent, also when the first message and its follow-up reach both gateways at the same
  instant, in either order of processing;
- case numbers stay unique and gapless under concurrent load on both;
- kill -9 of one gateway leaves the other accepting and processing, and the killed one's
  spool drains after its restart; every message acknowledged with 250 is forwarded.

The MX in front is played first by the test itself (each message to one gateway, the other
when the first refuses the connection: the races and the kill are then exact), then by a real
Postfix (postfix.py) spreading the load with transport_maps randmap:{...}: follow-ups land on
either gateway, and kill -9 of one under the MX's deliveries leaves the MX deferring and
delivering to the other, nothing lost.

Without REFERENT_TEST_PG the test skips, loudly.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CITIZEN_DOMAIN, HOSTNAME, SERVICE, Daemon, queued_id, wait_until  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402
import postfix  # noqa: E402
from postfix import Postfix, free_port  # noqa: E402

AGENTS = [("helene", "Hélène Lefèvre", "helene@services." + CITIZEN_DOMAIN,
           "max_open_cases: 100000"),
          ("paul", "Paul Martin", "paul@services." + CITIZEN_DOMAIN, "max_open_cases: 100000")]
AGENT_ADDRESSES = {a[2] for a in AGENTS}
FORWARD_SUBJECT = re.compile(r"^.*\[(EC-\d{4}-\d{6})\] (.*)$")
TOKEN_ADDRESS = re.compile(r"etat-civil\+[a-z2-7]{32}@" + re.escape(CITIZEN_DOMAIN))


def message(sender, subject, msgid, in_reply_to=None, to=SERVICE, references=None):
    """A citizen's message; a follow-up names its parent in In-Reply-To and the thread so far
    in References (`references`, oldest first; by default the parent alone), as mail clients
    do."""
    extra = ""
    if in_reply_to:
        refs = references or [in_reply_to]
        extra = "In-Reply-To: <%s>\r\nReferences: %s\r\n" % (
            in_reply_to, " ".join("<%s>" % r for r in refs))
    text = ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\n%s"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "Bonjour,\r\n\r\n%s\r\n" % (sender, to, subject, msgid, extra, subject))
    return text.encode("utf-8") + b".\r\n"


class Gateway(Daemon):
    """A harness Daemon with its own hostname, on the shared PostgreSQL store."""

    def __init__(self, hostname, conninfo, secret, **kw):
        self.hostname = hostname
        self.conninfo = conninfo
        self.shared_secret = secret  # one key for all: a token minted by one verifies on both
        super().__init__(**kw)

    def config_text(self):
        text = super().config_text()
        text = text.replace("secret_files: [%s]" % self.secret_path,
                            "secret_files: [%s]" % self.shared_secret, 1)
        text = text.replace("  hostname: %s\n" % HOSTNAME, "  hostname: %s\n" % self.hostname, 1)
        store = 'store: { postgresql: "%s" }' % self.conninfo
        text, n = re.subn(r"^store: .*$", store, text, count=1, flags=re.M)
        assert n == 1, "no store line in the harness configuration"
        return text


def skip_loudly(why):
    sys.stderr.write("\n*** %s: the two-gateway test is SKIPPED (run under "
                     "script/with-postgres) ***\n\n" % why)
    raise unittest.SkipTest(why)


class TwoGateways(unittest.TestCase):
    """Two gateways on a private schema, relaying to one sink; the checks both classes use."""

    listen_ports = (0, 0)  # public listeners' ports (0: any free one, new at each start)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        pg = os.environ.get("REFERENT_TEST_PG")
        if not pg:
            skip_loudly("REFERENT_TEST_PG is not set")
        if not shutil.which("psql"):
            skip_loudly("psql is not installed")
        cls.asan = harness.built_with_asan(harness.referentd_path())
        cls.load = 12 if cls.asan else 30  # new citizens per load phase
        # A private schema: other tests on the same server never see these rows.
        cls.schema = "twogw_%d_%s" % (os.getpid(), cls.__name__.lower())
        cls.admin = pg
        cls.psql_admin("DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s"
                       % (cls.schema, cls.schema))
        cls.addClassCleanup(cls.psql_admin, "DROP SCHEMA IF EXISTS %s CASCADE" % cls.schema)
        cls.conninfo = "%s options='-c search_path=%s'" % (pg, cls.schema)
        cls.sink = SmtpSink()
        cls.addClassCleanup(cls.sink.stop)
        cls.seen = 0  # sink transactions indexed so far
        cls.by_subject = {}  # citizen's subject -> [(case number, recipients, transaction)]
        cls.secret_dir = tempfile.mkdtemp(prefix="referent-twogw-")
        cls.addClassCleanup(shutil.rmtree, cls.secret_dir, True)
        secret = os.path.join(cls.secret_dir, "secret.key")
        harness.write_secret(secret)
        relay = "{ url: %s, starttls: never, retry: [1s], workers: 2 }" % cls.sink.url()
        cls.gateways = [Gateway("gw%d.test.example" % i, cls.conninfo, secret, name="gw%d" % i,
                                start=False, processor_workers=2, relay=relay,
                                limits={"idle_timeout": "30s"}, agents=AGENTS,
                                listen=[("127.0.0.1", cls.listen_ports[i - 1], "smtp", "public"),
                                        ("127.0.0.1", 0, "lmtp", "internal")])
                        for i in (1, 2)]
        for g in cls.gateways:
            cls.addClassCleanup(g.close)
        # One after the other, from this thread: setpriv's parent-death signal follows the
        # thread that started the process. (Gateways starting together on an empty database
        # are the case store's own test: shared_store_test.cpp.)
        for g in cls.gateways:
            g.start(timeout=60)

    # -- the store, read directly ---------------------------------------------------------
    @classmethod
    def psql_admin(cls, sql):
        return cls._psql(cls.admin, sql)

    def sql(self, sql):
        """Rows of a query on the gateways' schema, as lists of text."""
        out = self._psql(self.conninfo, sql)
        return [line.split("|") for line in out.splitlines() if line]

    @staticmethod
    def _psql(conninfo, sql):
        p = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                            "-d", conninfo, "-c", sql],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, "psql: %s" % p.stderr
        return p.stdout

    def cases_of(self, citizen):
        """[(number, referent)] of the citizen's cases."""
        return [tuple(r) for r in self.sql(
            "SELECT c.number, c.referent FROM cases c JOIN citizens z ON z.id = c.citizen_id "
            "WHERE z.address_key = lower('%s') ORDER BY c.id" % citizen)]

    # -- the MX's part --------------------------------------------------------------------
    def send(self, data, sender, first=0, rcpt=SERVICE):
        """Delivers to gateway `first`, else to the other when it refuses the connection (an
        MX with two routes). Returns the index of the gateway that said 250."""
        for i in (first, 1 - first):
            g = self.gateways[i]
            if not g.running():
                continue
            try:
                with harness.Client(g.port()) as c:
                    queued_id(c.send_message(data, rcpts=(rcpt,), sender=sender))
                return i
            except (ConnectionRefusedError, ConnectionResetError, harness.ConnectionClosed):
                continue
        raise AssertionError("no gateway accepted the message from %s" % sender)

    def forwards(self, subject):
        """The forwards of the citizen's `subject` at the sink (to one of the agents), as
        [(case number, [recipients], transaction)]."""
        cls = type(self)
        with self.sink._lock:
            new = self.sink.transactions[cls.seen:]
        cls.seen += len(new)
        for t in new:
            if not AGENT_ADDRESSES & {r.lower() for r in t.rcpts}:
                continue
            m = FORWARD_SUBJECT.match(str(t.message()["Subject"]))
            if m:
                cls.by_subject.setdefault(m.group(2), []).append(
                    (m.group(1), [r.lower() for r in t.rcpts], t))
        return cls.by_subject.get(subject, [])

    def wait_forwarded(self, subjects, timeout=60):
        for s in subjects:
            wait_until(lambda: self.forwards(s), timeout, "the forward of %r" % s)

    def assert_one_case_one_referent(self, citizen, subjects):
        cases = self.cases_of(citizen)
        self.assertEqual(len(cases), 1, "%s has cases %r" % (citizen, cases))
        number, referent = cases[0]
        agent = [a for a in AGENTS if a[0] == referent]
        self.assertTrue(agent, "%s: referent %r" % (number, referent))
        for s in subjects:
            for forwarded_in, rcpts, _ in self.forwards(s):
                self.assertEqual(forwarded_in, number, s)
                self.assertEqual(rcpts, [agent[0][2]], s)
        history = self.sql("SELECT h.agent FROM referent_history h JOIN cases c ON "
                           "c.id = h.case_id WHERE c.number = '%s'" % number)
        self.assertEqual(history, [[referent]], number)
        return number

    def tearDown(self):
        for g in self.gateways:
            g.assert_alive()
        super().tearDown()

    def assert_numbers_gapless(self):
        numbers = [r[0] for r in self.sql("SELECT number FROM cases ORDER BY number")]
        self.assertTrue(numbers)
        year = numbers[0][3:7]
        want = ["EC-%s-%06d" % (year, i) for i in range(1, len(numbers) + 1)]
        self.assertEqual(numbers, want, "case numbers are not unique and gapless")


class TwoGatewaysTests(TwoGateways):
    """The MX played by the test: each message to one gateway, the other if refused."""

    # -- the properties -------------------------------------------------------------------
    def test_1_follow_ups_on_either_gateway_stay_in_one_case(self):
        citizens = ["suivi%d@example.org" % i for i in range(4)]
        for n, citizen in enumerate(citizens):
            first = "Demande %d" % n
            self.send(message(citizen, first, "suivi%d.0@example.org" % n), citizen, first=n % 2)
            self.wait_forwarded([first])
            ack = wait_until(lambda: self.sink.to(citizen), 30, "the acknowledgement")[0]
            token = TOKEN_ADDRESS.search(ack.data.decode("utf-8", "replace"))
            self.assertTrue(token, "no reply address in the acknowledgement")
            subjects = [first]
            # Follow-ups on alternating gateways: by In-Reply-To, then by the reply token.
            for k in range(1, 4):
                s = "Complement %d.%d" % (n, k)
                subjects.append(s)
                thread = ["suivi%d.%d@example.org" % (n, j) for j in range(k)]
                self.send(message(citizen, s, "suivi%d.%d@example.org" % (n, k),
                                  in_reply_to=thread[-1], references=thread),
                          citizen, first=(n + k) % 2)
            s = "Reponse %d" % n
            subjects.append(s)
            self.send(message(citizen, s, "suivi%d.tok@example.org" % n, to=token.group(0)),
                      citizen, first=(n + 1) % 2, rcpt=token.group(0))
            self.wait_forwarded(subjects)
            self.assert_one_case_one_referent(citizen, subjects)

    def race(self, pairs):
        """Sends each (gateway, sender, data) pair's two messages so that their final dots
        leave at the same instant, each to its gateway; returns when both are accepted."""
        errors = []

        def one(gateway, sender, data, barrier):
            try:
                with self.gateways[gateway].client() as c:
                    c.ehlo()
                    c.mail(sender)
                    c.rcpt(SERVICE)
                    c.data()
                    c.send(data[:-3])  # all but ".\r\n"
                    barrier.wait(30)
                    c.send(b".\r\n")
                    queued_id(c.recv_reply())
            except BaseException as e:  # noqa: B902 — reported below
                errors.append(e)

        threads = []
        for pair in pairs:
            barrier = threading.Barrier(2)
            threads += [threading.Thread(target=one, args=args + (barrier,)) for args in pair]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def test_2_first_message_and_follow_up_racing_on_both_gateways(self):
        n = 6 if self.asan else 12
        pairs, expected = [], []
        for i in range(n):
            citizen = "course%d@example.org" % i
            first, follow = "Course %d" % i, "Course %d, suite" % i
            m1 = message(citizen, first, "course%d.1@example.org" % i)
            m2 = message(citizen, follow, "course%d.2@example.org" % i,
                         in_reply_to="course%d.1@example.org" % i)
            pairs.append([(i % 2, citizen, m1), (1 - i % 2, citizen, m2)])
            expected.append((citizen, [first, follow]))
        # A few at a time: the pairs race each other as well as within themselves.
        for k in range(0, n, 3):
            self.race(pairs[k:k + 3])
        for citizen, subjects in expected:
            self.wait_forwarded(subjects)
            self.assert_one_case_one_referent(citizen, subjects)

    def test_3_two_first_messages_at_once_get_one_referent(self):
        # Two unrelated first messages: two cases (nothing links them), one referent (sticky).
        n = 4 if self.asan else 8
        pairs, expected = [], []
        for i in range(n):
            citizen = "double%d@example.org" % i
            a, b = "Double %d A" % i, "Double %d B" % i
            pairs.append([(0, citizen, message(citizen, a, "double%d.a@example.org" % i)),
                          (1, citizen, message(citizen, b, "double%d.b@example.org" % i))])
            expected.append((citizen, [a, b]))
        self.race(pairs)
        for citizen, subjects in expected:
            self.wait_forwarded(subjects)
            cases = self.cases_of(citizen)
            self.assertEqual(len(cases), 2, cases)
            self.assertEqual(len({r for _, r in cases}), 1, "%s: two referents %r"
                             % (citizen, cases))

    def test_4_concurrent_load_on_both_gateways(self):
        subjects = []
        lock = threading.Lock()
        errors = []

        def citizens(k):
            try:
                for i in range(k, self.load, 3):
                    sender = "charge%d@example.org" % i
                    s = "Charge %d" % i
                    self.send(message(sender, s, "charge%d@example.org" % i), sender,
                              first=i % 2)
                    with lock:
                        subjects.append(s)
            except BaseException as e:  # noqa: B902 — reported below
                errors.append(e)

        threads = [threading.Thread(target=citizens, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        self.wait_forwarded(subjects)
        self.assert_numbers_gapless()

    def test_5_kill9_of_one_gateway(self):
        gw1, gw2 = self.gateways
        accepted = []  # (subject, gateway index)
        lock = threading.Lock()
        stop = threading.Event()

        def citizens(k):
            i = 0
            while not stop.is_set():
                sender = "panne%d-%d@example.org" % (k, i)
                s = "Panne %d-%d" % (k, i)
                try:
                    # Mostly to gw1, so that its spool holds mail when it dies.
                    g = self.send(message(sender, s, "panne%d-%d@example.org" % (k, i)),
                                  sender, first=0 if i % 4 else 1)
                    with lock:
                        accepted.append((s, g))
                except (AssertionError, OSError):
                    pass  # refused or cut by the kill: not acknowledged
                i += 1

        threads = [threading.Thread(target=citizens, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: len(accepted) >= 10, 60, "ten messages accepted")
            # Kill gw1 while its incoming/ holds accepted, unprocessed mail (best effort).
            try:
                wait_until(lambda: gw1.incoming_ids(), 10, "mail waiting in gw1", interval=0.001)
            except AssertionError:
                pass
            gw1.kill9()
            left = gw1.incoming_ids()
            in_flight = len([n for n in gw1.files("outgoing") if n.endswith(".item")])
            with lock:
                at_kill = len(accepted)
            # gw2 alone accepts and processes what comes next.
            wait_until(lambda: len(accepted) >= at_kill + 10, 60, "ten messages while gw1 is down")
            with lock:  # (one accepted by gw1 just before the kill may be counted after it)
                while_down = [s for s, g in accepted[at_kill:] if g == 1]
            self.assertGreaterEqual(len(while_down), 8)
            self.wait_forwarded(while_down)
            self.assertEqual(gw1.incoming_ids(), left, "gw1's spool changed while it was down")
        finally:
            stop.set()
            for t in threads:
                t.join()
        gw1.start()
        wait_until(lambda: not gw1.incoming_ids(), 60, "gw1's spool to drain")
        subjects = [s for s, _ in accepted]
        self.wait_forwarded(subjects)
        twice = [s for s in subjects if len(self.forwards(s)) > 1]
        print("kill -9 of gw1: %d messages acknowledged (%d by gw2 while gw1 was down), %d "
              "waiting in gw1's incoming/ and %d items in its outgoing/ at the kill; all "
              "forwarded after the restart, %d twice (replays of those in flight)" %
              (len(subjects), len(while_down), len(left), in_flight, len(twice)),
              file=sys.stderr)
        # Twice only: an item the relay sent just before the kill (still in outgoing/), or a
        # message gw1 stored whose 250 the kill cut off, so the MX gave it to gw2 as well
        # (still in incoming/). Better twice than never.
        self.assertLessEqual(len(twice), in_flight + len(left),
                             "more duplicates than messages and items in flight")
        self.assert_numbers_gapless()



class PostfixSpreadsTests(TwoGateways):
    """A real Postfix MX in front (postfix.py), spreading the service's mail over both gateways
    with transport_maps randmap:{...}; a delivery to a gateway that is down is deferred and
    tried again, on either."""

    @classmethod
    def setUpClass(cls):
        why = postfix.available()
        if why:
            raise unittest.SkipTest(why)
        # Fixed ports: the MX's map names them, and a restarted gateway must be found again.
        cls.listen_ports = (free_port(), free_port())
        super().setUpClass()
        cls.mx = Postfix("mx", start=False)
        cls.addClassCleanup(cls.mx.close)
        cls.mx.configure(main={
            "relay_domains": CITIZEN_DOMAIN,
            "recipient_delimiter": "+",
            "transport_maps": "randmap:{smtp:[127.0.0.1]:%d, smtp:[127.0.0.1]:%d}"
                              % cls.listen_ports,
            # Under referentd's limits.max_connections_per_ip on each gateway.
            "smtp_destination_concurrency_limit": "8",
            "smtp_connect_timeout": "5s",
        })
        cls.mx.start()

    def submit(self, data, sender):
        with harness.Client(self.mx.port) as c:
            c.ehlo("citizen.example.org")
            c.mail(sender)
            c.rcpt(SERVICE)
            c.data()
            c.send(data)
            r = c.recv_reply()
            self.assertEqual(r.code, 250, r.raw)

    def per_gateway(self):
        """{gateway hostname: inbound messages recorded}: the spool keys name the gateway."""
        return {k: int(n) for k, n in self.sql(
            "SELECT split_part(spool_id, '/', 1), count(*) FROM messages WHERE direction = 'in' "
            "GROUP BY 1")}

    def test_1_follow_ups_spread_by_the_mx_stay_in_one_case(self):
        n = 6 if self.asan else 12
        threads = {}
        for i in range(n):
            citizen = "mx%d@example.org" % i
            self.submit(message(citizen, "MX %d" % i, "mx%d.0@example.org" % i), citizen)
            threads[citizen] = ["MX %d" % i]
        for k in (1, 2):
            for i in range(n):
                citizen = "mx%d@example.org" % i
                s = "MX %d suite %d" % (i, k)
                thread = ["mx%d.%d@example.org" % (i, j) for j in range(k)]
                self.submit(message(citizen, s, "mx%d.%d@example.org" % (i, k),
                                    in_reply_to=thread[-1], references=thread), citizen)
                threads[citizen].append(s)
        for citizen, subjects in threads.items():
            self.wait_forwarded(subjects, timeout=90)
            self.assert_one_case_one_referent(citizen, subjects)
        spread = self.per_gateway()
        print("Postfix spread %r" % spread, file=sys.stderr)
        self.assertEqual(set(spread), {g.hostname for g in self.gateways}, spread)

    def test_2_kill9_while_the_mx_delivers(self):
        gw1 = self.gateways[0]
        n = 12 if self.asan else 40
        subjects = []
        for i in range(n):
            if i == n // 3:
                gw1.kill9()  # the MX defers what it had for gw1 and tries again
                left = gw1.incoming_ids()
                # Processed before the kill, its forward not yet handed on: also gw1's to send.
                queued = []
                for name in gw1.files("outgoing"):
                    with open(os.path.join(gw1.spool, "outgoing", name), "rb") as f:
                        queued.append(f.read())
            citizen = "mxpanne%d@example.org" % i
            subjects.append("MX panne %d" % i)
            self.submit(message(citizen, subjects[-1], "mxpanne%d@example.org" % i), citizen)
        # gw1 is down: the MX hands everything to gw2 (what gw1 stored waits in its spool).
        # Deferred mail is retried at once rather than after its backoff, each time to a
        # gateway drawn again: a message that drew the dead one a few times still gets through.
        def drained():
            if not self.mx.queue():
                return True
            self.mx.flush()
            return False
        try:
            wait_until(drained, 240, "the MX's queue to empty", interval=5)
        except AssertionError as e:  # why each message is still there (its delay_reason)
            raise AssertionError("%s\n%s\n%s" % (e, self.mx.queue_text(),
                                                 self.mx.log_tail())) from None
        waiting = set()
        for spool_id in left:
            m = re.search(rb"^Subject: (.*?)\r$", gw1.message_bytes(spool_id), re.M)
            if m:
                waiting.add(m.group(1).decode())
        for item in queued:
            waiting.update("MX panne %s" % k.decode()
                           for k in re.findall(rb"MX panne (\d+)(?!\d)", item))
        self.wait_forwarded([s for s in subjects if s not in waiting], timeout=90)
        gw1.start()
        wait_until(lambda: not gw1.incoming_ids(), 60, "gw1's spool to drain")
        self.wait_forwarded(subjects, timeout=90)
        print("kill -9 behind Postfix: %d messages through the MX, %d held in gw1's spool "
              "until its restart, all forwarded; deliveries %r" %
              (n, len(waiting), self.per_gateway()), file=sys.stderr)
        self.assert_numbers_gapless()


if __name__ == "__main__":
    harness.main()
