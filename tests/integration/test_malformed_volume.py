#!/usr/bin/env python3
"""Malformed input at volume, through the whole flow: every .eml of the repository's tests (the
bounce corpus of tests/corpus/bounces included) and a generated set of broken MIME
(broken_mime.py, seeded) go to the `public` listener over several concurrent connections, with
the processor and a relay to a recording sink running. Then:

- the daemon stays up and stops cleanly (exit 0);
- its peak memory (VmHWM, the kernel's high-water mark of resident memory) stays under a stated
  bound, with messages of up to a few MiB on every connection (three seeded sets of broken MIME,
  one under ASan, where the long lines are shorter too);
- no message vanishes: each one sent is, exactly once,
    refused   — the SMTP reply to its DATA is 4xx/5xx with an enhanced status code and a text,
    forwarded — the referent's forward (Message-ID <ID.fwd@host>) reached the sink,
    recorded  — kept in the store without a forward: a machine message (auto-reply, list) as an
                inbound message row, or a bounce/loop as a "<class>_dropped" event naming it,
    quarantined — in the spool's quarantine, corrupt/ID.msg with a non-empty corrupt/ID.reason;
  and the four counts add up to the number sent. No forward reaches the sink twice.
"""

import collections
import os
import re
import sqlite3
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import broken_mime  # noqa: E402
import harness  # noqa: E402
from harness import CITIZEN_DOMAIN, HOSTNAME, SERVICE, Daemon, wait_until  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402

AGENT = "helene@services." + CITIZEN_DOMAIN
SEED = 20260302
SEEDS = 3  # generated sets of broken MIME, one per seed (one under ASan)
CONNECTIONS = 6
# The bounds this run places its messages around (named config values of gateway.limits).
MAX_MESSAGE_SIZE = 4 << 20
MAX_HEADER_SIZE = 64 << 10
MAX_MIME_DEPTH = 16
MAX_MIME_PARTS = 300
# Peak resident memory allowed. The daemon holds at most one message per connection in its
# session, plus what each processor worker has in hand (a batch: messages, parses, renders),
# plus the allocator's and SQLite's caches. Measured on a 2-core machine: 105-150 MiB peak,
# 75-90 MiB once drained, and the same after four rounds of this load in one daemon (no
# growth). 192 MiB leaves room for a slower machine's longer backlog and stays under the
# 256 MiB the issue sets for 100 concurrent 10 MiB messages. It catches a message held whole
# per connection or per batch past its bounds, or an unbounded parse (deep nesting, huge
# headers); a small per-message leak would need a longer run to show.
PEAK_RSS_BOUND_KIB = 192 << 10
ASAN_PEAK_RSS_BOUND_KIB = 1 << 20  # ASan's shadow memory and quarantine: only a sanity bound
ENHANCED_RX = re.compile(r"^[245]\.\d{1,3}\.\d{1,3} \S")


def repository_messages():
    """(name, bytes) of every .eml under tests/, sorted by path."""
    root = os.path.join(harness.REPO, "tests")
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".eml"):
                path = os.path.join(d, f)
                with open(path, "rb") as fh:
                    out.append((os.path.relpath(path, harness.REPO), fh.read()))
    return sorted(out)


def as_received(data):
    """A file as an MX hands it over: LF line ends become CRLF (a lone CR stays, and gets the
    bare-line-ending refusal), and the last line is terminated."""
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def wire(data):
    """Dot-stuffed, with the terminating <CRLF>.<CRLF>."""
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..") + b".\r\n"


class Sent:
    def __init__(self, name, data, sender):
        self.name, self.data, self.sender = name, data, sender
        self.code = None
        self.reply = None
        self.spool_id = None


class MalformedVolumeTests(unittest.TestCase):
    def setUp(self):
        self.asan = harness.built_with_asan(harness.referentd_path())
        self.sink = SmtpSink()
        self.addCleanup(self.sink.stop)
        relay = "{ url: %s, starttls: never, retry: [1s], workers: 2 }" % self.sink.url()
        limits = {"idle_timeout": "120s", "max_errors": 1000,
                  "max_message_size": "%dB" % MAX_MESSAGE_SIZE,
                  "max_header_size": "%dB" % MAX_HEADER_SIZE,
                  "max_mime_depth": MAX_MIME_DEPTH, "max_mime_parts": MAX_MIME_PARTS,
                  "max_connections_per_ip": 2 * CONNECTIONS,
                  "max_notices_per_day": 1000}
        self.d = Daemon(name="malformed", processor_workers=2, relay=relay, limits=limits,
                        agents=[("helene", "Hélène Lefèvre", AGENT, "max_open_cases: 100000")])
        self.addCleanup(self.d.close)

    def messages(self):
        out = []
        for i, (name, data) in enumerate(repository_messages()):
            # Bounces come with the null sender, as an MTA sends them.
            sender = "" if "/corpus/bounces/" in name else "file%d@example.org" % i
            out.append(Sent(name, as_received(data), sender))
        long_line = (256 << 10) if self.asan else (1 << 20)
        for seed in range(SEED, SEED + (1 if self.asan else SEEDS)):
            generated = broken_mime.generate(seed, max_header_size=MAX_HEADER_SIZE,
                                             max_mime_depth=MAX_MIME_DEPTH,
                                             max_mime_parts=MAX_MIME_PARTS, long_line=long_line,
                                             mutations=20 if self.asan else 100)
            for i, (name, data) in enumerate(generated):
                out.append(Sent("generated/%d/%s" % (seed, name), data,
                                "gen%d-%d@example.org" % (seed, i)))
        # Past max_message_size: refused after the data, nothing stored.
        big = (b"From: big@example.org\r\nSubject: big\r\n\r\n"
               + (b"x" * 998 + b"\r\n") * (MAX_MESSAGE_SIZE // 1000 + 8))
        out.append(Sent("generated/over-max-message-size", big, "big@example.org"))
        return out

    # -- sending -------------------------------------------------------------------------
    def send_all(self, todo):
        queue = collections.deque(todo)
        lock = threading.Lock()
        errors = []

        def transaction(c, m):
            c.mail(m.sender)
            c.rcpt(SERVICE)
            c.data()
            c.send(wire(m.data))
            return c.recv_reply(timeout=120)

        def worker():
            c, m = None, None
            try:
                while True:
                    with lock:
                        if not queue:
                            break
                        m = queue.popleft()
                    if c is None:
                        c = harness.Client(self.d.port(), timeout=120)
                        c.ehlo()
                    r = transaction(c, m)
                    m.code, m.reply = r.code, r.lines[0]
                    if r.code == 250:
                        m.spool_id = harness.queued_id(r)
                    if r.code == 421:  # the server closes after it: a fresh connection
                        c.close()
                        c = None
            except Exception as e:  # reported in the test's thread
                errors.append("%s: %r" % (m.name if m else "?", e))
            finally:
                if c is not None:
                    c.close()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(CONNECTIONS)]
        for t in threads:
            t.start()
        peak = 0
        while any(t.is_alive() for t in threads):
            self.d.assert_alive()
            peak = max(peak, self.d.rss_kib())
            time.sleep(0.2)
        return errors, peak

    # -- accounting ----------------------------------------------------------------------
    def store_outcomes(self):
        db = sqlite3.connect(os.path.join(self.d.dir, "referent.db"), timeout=30)
        try:
            recorded = {}
            prefix = HOSTNAME + "/"
            for spool_key, kind, case_id in db.execute(
                    "SELECT spool_id, kind, case_id FROM messages WHERE direction = 'in'"):
                spool_id = spool_key[len(prefix):].split("/")[0]
                recorded[spool_id] = (kind, case_id)
            dropped = {}
            for kind, detail in db.execute(
                    "SELECT kind, detail FROM events WHERE kind LIKE '%\\_dropped' ESCAPE '\\'"):
                dropped[detail.split(":", 1)[0]] = (kind, detail)
            return recorded, dropped
        finally:
            db.close()

    def forwards(self):
        out = collections.Counter()
        for t in self.sink.to(AGENT):
            mid = str(t.message()["Message-ID"] or "")
            m = re.match(r"^<([0-9A-Za-z]+)\.fwd@" + re.escape(HOSTNAME) + ">$", mid)
            if m:
                out[m.group(1)] += 1
        return out

    def quarantined(self, spool_id):
        reason = os.path.join(self.d.spool, "corrupt", spool_id + ".reason")
        msg = os.path.join(self.d.spool, "corrupt", spool_id + ".msg")
        if not (os.path.exists(reason) and os.path.exists(msg)):
            return None
        with open(reason, "rb") as f:
            return f.read().strip() or None

    def test_every_message_is_forwarded_recorded_quarantined_or_refused(self):
        todo = self.messages()
        started = time.monotonic()
        errors, peak_sampled = self.send_all(todo)
        sent_in = time.monotonic() - started
        self.assertEqual(errors, [], "a transaction failed without a reply")

        # The flow runs to its end: nothing left in incoming/ or outgoing/.
        def drained():
            self.d.assert_alive()
            return (not self.d.incoming_ids()
                    and not [n for n in self.d.files("outgoing") if n.endswith(".item")])
        wait_until(drained, 300 if self.asan else 120, "incoming/ and outgoing/ to drain")
        accepted = [m for m in todo if m.code == 250]
        hwm = self.vm_hwm_kib()

        forwards = self.forwards()
        recorded, dropped = self.store_outcomes()
        outcomes = collections.Counter()
        missing, twice = [], []
        for m in todo:
            if m.code != 250:
                self.assertGreaterEqual(m.code, 400, "%s: %r" % (m.name, m.reply))
                self.assertRegex(m.reply, ENHANCED_RX, "%s: refusal without a reason" % m.name)
                outcomes["refused %d %s" % (m.code, m.reply.split(" ")[0])] += 1
                continue
            found = []
            if forwards.get(m.spool_id):
                found.append("forwarded")
                if forwards[m.spool_id] > 1:
                    twice.append(m.name)
            elif m.spool_id in recorded:
                found.append("recorded " + recorded[m.spool_id][0])
            if m.spool_id in dropped:
                found.append(dropped[m.spool_id][0])
            if self.quarantined(m.spool_id):
                found.append("quarantined")
            if len(found) != 1:
                missing.append((m.name, m.spool_id, found))
                continue
            outcomes[found[0]] += 1
        report = "\n".join("  %5d %s" % (n, k) for k, n in sorted(outcomes.items()))
        sys.stderr.write("\n%d messages (%d accepted) sent in %.1fs over %d connections; "
                         "peak RSS %d KiB (sampled %d KiB)\n%s\n"
                         % (len(todo), len(accepted), sent_in, CONNECTIONS, hwm, peak_sampled,
                            report))
        self.assertEqual(missing, [], "messages with no outcome, or more than one")
        self.assertEqual(twice, [], "forwards delivered twice")
        self.assertEqual(sum(outcomes.values()), len(todo))

        # Some of each: the set really reaches every path (a generator gone tame fails here).
        by_kind = collections.Counter(k.split(" ")[0] for k in outcomes.elements())
        # (Quarantine is for what the processor cannot handle at all; malformed mail is not
        # that: past a bound it is forwarded untouched as an attachment. It is counted when it
        # happens, not required.)
        for kind in ("refused", "forwarded", "bounce_dropped", "recorded"):
            self.assertGreater(by_kind[kind], 0, "no message %s:\n%s" % (kind, report))
        # The bare-line-ending and size refusals are the documented ones.
        for m in todo:
            base = m.name.rsplit("/", 1)[-1]
            if m.name.startswith("generated/") and base.startswith("bytes-bare-"):
                self.assertEqual((m.code, m.reply.split(" ")[0]), (550, "5.5.2"), m.name)
            if base == "over-max-message-size":
                self.assertEqual((m.code, m.reply.split(" ")[0]), (552, "5.3.4"), m.name)
            if m.name.startswith("generated/") and base == "header-block-over":
                self.assertEqual((m.code, m.reply.split(" ")[0]), (552, "5.3.4"), m.name)

        bound = ASAN_PEAK_RSS_BOUND_KIB if self.asan else PEAK_RSS_BOUND_KIB
        self.assertLess(hwm, bound, "peak RSS %d KiB over the bound %d KiB" % (hwm, bound))
        self.assertEqual(self.d.stop(), 0)

    def vm_hwm_kib(self):
        with open("/proc/%d/status" % self.d.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM")


if __name__ == "__main__":
    harness.main()
