"""Load through the whole citizen path, message by message: what each SMTP session was told,
and what reached the relay behind referentd.

`Load` runs SESSIONS threads, each an SMTP session on the daemon's `public` listener sending
one citizen's message after another. Every message is unique: its own citizen (so each opens
its own case, and gets a forward to the referent and an acknowledgement), Subject and
Message-ID. Each 250 is recorded with the spool id it names; a message whose data went out
but whose final reply never came (the daemon killed under it) is "uncertain": it may or may
not have been committed. Sessions reconnect by themselves when the daemon goes away and comes
back (on a new port: they ask the Daemon each time). Given the sink, the sessions hold back
while too many acknowledged messages have not reached it (a load the machine can carry).

`Delivered` indexes what a recording sink (smtp_sink.SmtpSink) received by Message-ID: the
gateway's forward of spool id S is <S.fwd@HOST>, its acknowledgement <S.ack@HOST>; each copy
is one transaction, so a duplicate is a Message-ID seen twice.

`TimedDaemon` is harness.Daemon with the arrival time of every log line (referentd's own
lines carry none), and an optional PostgreSQL store.

Python 3 standard library only.
"""

import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CITIZEN_DOMAIN, HOSTNAME, SERVICE, ConnectionClosed  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402

AGENT = "helene@services." + CITIZEN_DOMAIN
SESSIONS = 20


_asan = []


def asan_scale(normal, under_asan):
    """`under_asan` when referentd is the sanitizer build (several times slower), else `normal`."""
    if not _asan:
        with open(harness.referentd_path(), "rb") as f:
            _asan.append(b"__asan_init" in f.read())
    return under_asan if _asan[0] else normal


class Load:
    def __init__(self, daemon, tag, sessions=SESSIONS, pause=0.0, body_octets=1500, sink=None,
                 max_backlog=300):
        self.daemon = daemon
        self.tag = tag
        self.sessions = sessions
        self.pause = pause          # seconds between two messages of one session
        # With `sink`: the sessions wait while more than `max_backlog` acknowledged messages
        # have not reached it yet (two deliveries each), so a slow machine meets a load it can
        # carry and a test's length stays bounded.
        self.sink = sink
        self.max_backlog = max_backlog
        self.body = (b"Bonjour, je souhaite un acte de naissance. " * 40)[:body_octets]
        self.acked = {}             # key -> spool id
        self.subjects = {}          # key -> Subject sent
        self.uncertain = set()      # keys whose final reply never came
        self.refused = {}           # key -> reply (4xx while the daemon is unhappy)
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []

    # -- control -------------------------------------------------------------------------
    def start(self):
        for n in range(self.sessions):
            t = threading.Thread(target=self._session, args=(n,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(60)
        assert not any(t.is_alive() for t in self._threads), "a load session is stuck"

    def backlog(self):
        with self.lock:
            acked = len(self.acked)
        return acked - len(self.sink.transactions) // 2

    def count(self):
        with self.lock:
            return len(self.acked)

    def wait_acked(self, n, timeout):
        harness.wait_until(lambda: self.count() >= n, timeout, "%d acknowledged messages" % n,
                           interval=0.05)

    def snapshot(self):
        with self.lock:
            return dict(self.acked), set(self.uncertain), dict(self.refused)

    # -- one session ---------------------------------------------------------------------
    def message(self, key):
        subject = "Demande %s" % key
        head = ("From: Citoyen %s <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@load.example>"
                "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                % (key, self.citizen(key), SERVICE, subject, key))
        return subject, head.encode() + self.body + b"\r\n.\r\n"

    def citizen(self, key):
        return "%s@example.org" % key

    def _connect(self):
        port = self.daemon.ports.get("public")
        if not port or not self.daemon.running():
            return None
        c = None
        try:
            c = harness.Client(port, timeout=60, greeting=False)
            c.expect(220)
            c.ehlo()
            return c
        except (OSError, AssertionError):
            if c is not None:
                c.close()
            return None

    def _session(self, n):
        seq = 0
        c = None
        while not self._stop.is_set():
            if c is None:
                c = self._connect()
                if c is None:
                    time.sleep(0.1)
                    continue
            if self.sink is not None and self.backlog() > self.max_backlog:
                self._stop.wait(0.05)
                continue
            seq += 1
            key = "%s-%d-%d" % (self.tag, n, seq)
            subject, data = self.message(key)
            sent = False
            try:
                c.mail(self.citizen(key))
                c.rcpt()
                c.data()
                with self.lock:
                    self.subjects[key] = subject
                sent = True
                c.send(data)
                r = c.recv_reply()
                with self.lock:
                    if r.code == 250:
                        self.acked[key] = harness.queued_id(r)
                    else:
                        self.refused[key] = r.raw
                if r.code != 250:
                    c.close()
                    c = None
                    time.sleep(0.2)
                    continue
            except (OSError, ConnectionClosed, AssertionError):
                if sent:
                    with self.lock:
                        self.uncertain.add(key)
                if c is not None:
                    c.close()
                c = None
                continue
            if self.pause:
                self._stop.wait(self.pause)
        if c is not None:
            try:
                c.cmd("QUIT")
            except (OSError, AssertionError):
                pass
            c.close()


MSGID_RX = re.compile(rb"^Message-ID:[ \t]*<([^>\r\n]+)>", re.I | re.M)
SUBJECT_RX = re.compile(rb"^Subject:[ \t]*([^\r\n]*)", re.I | re.M)


class Sink(SmtpSink):
    """SmtpSink whose stop() also cuts the sessions in progress (a relay going down takes its
    open connections with it; the gateway's transports keep theirs open between messages)."""

    def __init__(self):
        self._conns = set()
        self.cut = 0
        super().__init__()

    def _session(self, conn):
        with self._lock:
            self._conns.add(conn)
        try:
            super()._session(conn)
        finally:
            with self._lock:
                self._conns.discard(conn)

    def stop(self):
        super().stop()
        with self._lock:
            conns = list(self._conns)
        self.cut = len(conns)  # each may have lost a 250 already recorded here: a duplicate
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Delivered:
    """What the sink holds, by Message-ID (each a list of transactions, in arrival order)."""

    def __init__(self, sink):
        with sink._lock:
            transactions = list(sink.transactions)
        self.by_id = {}
        for t in transactions:
            head = t.data.split(b"\r\n\r\n", 1)[0]
            m = MSGID_RX.search(head)
            if m:
                self.by_id.setdefault(m.group(1).decode(), []).append(t)
        self.total = len(transactions)

    def copies(self, spool_id, kind):
        return self.by_id.get("%s.%s@%s" % (spool_id, kind, HOSTNAME), [])

    def duplicates(self):
        """Message-ID -> number of copies, for those delivered more than once."""
        return {k: len(v) for k, v in self.by_id.items() if len(v) > 1}


def subject_of(transaction):
    m = SUBJECT_RX.search(transaction.data.split(b"\r\n\r\n", 1)[0])
    return m.group(1).decode("utf-8", "replace") if m else ""


def check_flow(test, load, sink, acks=True):
    """Every acknowledged message of `load` has its forward (to the referent, with its Subject)
    and, if `acks`, its acknowledgement (to its citizen) at `sink`. Returns the Delivered."""
    acked, _, _ = load.snapshot()
    got = Delivered(sink)
    missing = []
    for key, spool_id in acked.items():
        fwd = got.copies(spool_id, "fwd")
        if not fwd:
            missing.append("%s (%s): no forward" % (key, spool_id))
            continue
        test.assertIn(load.subjects[key], subject_of(fwd[0]), spool_id)
        test.assertEqual(fwd[0].rcpts, [AGENT], spool_id)
        if acks:
            ack = got.copies(spool_id, "ack")
            if not ack:
                missing.append("%s (%s): no acknowledgement" % (key, spool_id))
            else:
                test.assertEqual(ack[0].rcpts, [load.citizen(key)], spool_id)
    test.assertFalse(missing, "acknowledged with 250 but not delivered (%d of %d):\n%s"
                     % (len(missing), len(acked), "\n".join(sorted(missing)[:30])))
    return got


def drained(daemon):
    """incoming/ and outgoing/ hold no item: every message processed, every item delivered."""
    return (not daemon.incoming_ids()
            and not [n for n in daemon.files("outgoing") if n.endswith(".item")])


class TimedDaemon(harness.Daemon):
    """harness.Daemon that stamps each log line (time.monotonic() at arrival, in line_times,
    parallel to lines) and, with `postgresql=CONNINFO`, uses that store instead of SQLite."""

    def __init__(self, *args, postgresql=None, **kw):
        self.line_times = []
        self.postgresql = postgresql
        super().__init__(*args, **kw)

    def config_text(self):
        text = super().config_text()
        if self.postgresql:
            sqlite = "store: { sqlite: %s/referent.db }" % self.dir
            assert sqlite in text
            text = text.replace(sqlite, 'store: { postgresql: "%s" }' % self.postgresql)
        return text

    def _read_log(self, proc):
        with open(self.log_path, "a", encoding="utf-8", errors="replace") as log:
            for raw in proc.stderr:
                now = time.monotonic()
                line = raw.decode("utf-8", "replace").rstrip("\n")
                log.write(line + "\n")
                log.flush()
                with self._cond:
                    self.lines.append(line)
                    self.line_times.append(now)
                    self._cond.notify_all()
        proc.stderr.close()
        with self._cond:
            self._cond.notify_all()

    def timed_lines(self, pattern):
        """(arrival time, match) of every line matching `pattern`, over all runs."""
        rx = re.compile(pattern)
        with self._cond:
            pairs = list(zip(self.line_times, self.lines))
        return [(t, m) for t, m in ((t, rx.search(line)) for t, line in pairs) if m]


def outgoing_items(daemon):
    """The header fields of every item in outgoing/ (read while the daemon is down)."""
    out = []
    d = os.path.join(daemon.spool, "outgoing")
    for name in sorted(os.listdir(d)):
        if not name.endswith(".item"):
            continue
        fields = {"id": name[:-5]}
        with open(os.path.join(d, name), "rb") as f:
            head = f.read(65536).split(b"\n\n", 1)[0].decode("utf-8", "replace")
        for line in head.split("\n")[1:]:
            key, _, value = line.partition(": ")
            fields[key] = value
        out.append(fields)
    return out


def quarantined(daemon):
    """The messages in corrupt/, each with its reason (empty: nothing quarantined)."""
    out = {}
    d = os.path.join(daemon.spool, "corrupt")
    for name in daemon.files("corrupt"):
        if name.endswith(".reason"):
            with open(os.path.join(d, name), errors="replace") as f:
                out[name[:-7]] = f.read().strip()
    return out
