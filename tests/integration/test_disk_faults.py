#!/usr/bin/env python3
"""Disk faults with libfiu across the whole flow: referentd runs under `fiu-run -x` with the
processor and a relay to a recording sink (smtp_sink.py), and failpoints are switched at run
time with `fiu-ctrl` (see test_fsync_fault.py for the spool's own commit, and for why these
tests run on the normal build only).

Where each failpoint bites (checked with strace on this build):
  posix/io/rw/write      the spool (incoming/ at SMTP accept, outgoing/ items and retry state in
                         the processor and the relay, quarantine reasons); also the log lines,
                         which are lost while it is on
  posix/io/rw/pwrite     SQLite only: its WAL frames and the database file at checkpoints
  posix/io/sync/fdatasync SQLite only: the WAL at each commit when the store is on another file
                         system than the spool (synchronous=FULL); on the spool's, its commits
                         ride on the spool's covering flushes (syncfs, which libfiu cannot fail,
                         then a directory fsync, which it can)
  posix/io/sync/fsync    the spool's directory fsyncs and single-file fsyncs; SQLite's database
                         file at checkpoints
  posix/io/dir/rename    the spool's commit markers (incoming/, outgoing/, corrupt/)
failinfo pins errno (EIO, ENOSPC) so a failure never looks like a retryable EINTR.

Properties: a client is told 451 4.3.0 when the spool cannot commit, and what got a 451 is never
delivered; nothing that got a 250 is lost: it waits in incoming/ (store down) or outgoing/
(results unrecorded) and is delivered once the fault ends, without a restart, and without
spinning meanwhile (the processor tries again after a pause); the store holds one case per
message however many times a message was tried; the daemon stays up, and after a kill -9 in the
middle of faults it restarts cleanly and delivers the rest.
"""

import collections
import os
import re
import sqlite3
import sys
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fiu  # noqa: E402
import harness  # noqa: E402
from fiu import ENOSPC, EIO, FDATASYNC, FSYNC, PWRITE, RENAME, WRITE  # noqa: E402
from harness import CITIZEN_DOMAIN, HOSTNAME, Daemon, queued_id, wait_until  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402

AGENT = "helene@services." + CITIZEN_DOMAIN
REFUSED = b"451 4.3.0 Error: queue file write error\r\n"
DRAIN_TIMEOUT = 90.0  # the processor waits 5 s between tries; a loaded 2-core machine


def message(n):
    citizen = "citoyen%d@example.org" % n
    return citizen, ("From: Citoyen %d <%s>\r\nSubject: Demande %d\r\nMessage-ID: <d%d@example.org>"
                     "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                     "Bonjour, ma demande %d.\r\n" % (n, citizen, n, n, n)).encode() + b".\r\n"


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@fiu.usable
class DiskFaultTests(unittest.TestCase):
    store_elsewhere = {"test_sqlite_fdatasync_fault_holds_mail_until_it_ends"}

    def setUp(self):
        self.sink = SmtpSink()
        self.addCleanup(self.sink.stop)
        relay = "{ url: %s, starttls: never, retry: [1s], workers: 1 }" % self.sink.url()
        # The store on another file system (tmpfs) where a test needs SQLite's own flushes.
        elsewhere = self._testMethodName in self.store_elsewhere and os.path.isdir("/dev/shm")
        self.d = Daemon(start=False, name="disk", processor_workers=1, relay=relay,
                        store_dir="/dev/shm" if elsewhere else None, metrics=True,
                        limits={"max_errors": 1000, "idle_timeout": "60s",
                                "max_notices_per_day": 1000},
                        agents=[("helene", "Hélène Lefèvre", AGENT, "max_open_cases: 100000")])
        self.addCleanup(self.d.close)
        self.points = fiu.start(self, self.d)
        self.next_n = 0

    # -- mail --------------------------------------------------------------------------------
    def send(self, c=None):
        """One message from a new citizen: (n, the final reply)."""
        n = self.next_n
        self.next_n += 1
        citizen, data = message(n)
        own = c is None
        if own:
            c = self.d.client(timeout=60)
            c.ehlo()
        try:
            c.mail(citizen)
            c.rcpt()
            c.data()
            c.send(data)
            return n, c.recv_reply()
        finally:
            if own:
                c.close()

    def accepted(self, count):
        """`count` messages, each acknowledged: their spool ids."""
        ids = []
        for _ in range(count):
            _, r = self.send()
            ids.append(queued_id(r))
        return ids

    def at_sink(self, what):
        """Spool id → how many messages of kind `what` (fwd: forward to the referent, ack:
        acknowledgement to the citizen) the sink holds for it."""
        out = collections.Counter()
        for t in list(self.sink.transactions):
            mid = str(t.message()["Message-ID"] or "")
            m = re.match(r"^<([0-9A-Za-z]+)\.%s@%s>$" % (what, re.escape(HOSTNAME)), mid)
            if m:
                out[m.group(1)] += 1
        return out

    def subjects_at_sink(self):
        return [str(t.message()["Subject"]) for t in list(self.sink.transactions)]

    def tmp_files(self):
        """tmp/ but for the recycled files the spool keeps there (tmp/pool-*: never meaningful)."""
        return [n for n in self.d.files("tmp") if not n.startswith("pool-")]

    def outgoing_items(self):
        return [n for n in self.d.files("outgoing") if n.endswith(".item")]

    def wait_delivered(self, ids, timeout=DRAIN_TIMEOUT):
        """Every id forwarded and acknowledged, and the spool empty again."""
        def done():
            self.d.assert_alive()
            fwd, ack = self.at_sink("fwd"), self.at_sink("ack")
            return (all(fwd[i] and ack[i] for i in ids) and not self.d.incoming_ids()
                    and not self.outgoing_items())
        wait_until(done, timeout, "every acknowledged message delivered",
                   interval=0.2)

    def assert_each_once(self, ids):
        fwd, ack = self.at_sink("fwd"), self.at_sink("ack")
        self.assertEqual({i: (fwd[i], ack[i]) for i in ids}, {i: (1, 1) for i in ids},
                         "each message forwarded and acknowledged exactly once")

    def store(self, sql, *args):
        db = sqlite3.connect(self.d.store_path, timeout=30)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def assert_one_case_per_message(self, ids):
        keys = ["%s/%s/etat-civil" % (HOSTNAME, i) for i in ids]
        rows = self.store("SELECT spool_id, case_id FROM messages WHERE direction = 'in'")
        mine = [r for r in rows if r[0] in keys]
        self.assertEqual(sorted(r[0] for r in mine), sorted(keys), "one inbound row each")
        self.assertEqual(len({r[1] for r in mine}), len(ids), "one case each")
        # Case numbers stay gapless however often a message was tried.
        numbers = sorted(int(n.rsplit("-", 1)[1]) for (n,) in self.store("SELECT number FROM cases"))
        self.assertEqual(numbers, list(range(1, len(numbers) + 1)))

    def assert_quiet_for(self, seconds, max_cpu):
        """The daemon does not spin while a fault holds: little CPU over `seconds`."""
        before = cpu_seconds(self.d.pid)
        time.sleep(seconds)
        used = cpu_seconds(self.d.pid) - before
        self.assertLess(used, max_cpu, "referentd used %.2fs of CPU in %.0fs while a fault held"
                        % (used, seconds))

    # -- tests -------------------------------------------------------------------------------
    def test_spool_write_fault_answers_451_and_nothing_is_delivered(self):
        before = self.accepted(1)
        self.wait_delivered(before)
        c = self.d.client(timeout=60)
        self.addCleanup(c.close)
        c.ehlo()
        for errno in (EIO, ENOSPC):
            self.points.enable(WRITE, errno)
            _, r = self.send(c)
            self.assertEqual(r.raw, REFUSED)
            self.points.disable(WRITE)
            self.assertEqual(self.tmp_files(), [])
            self.assertEqual(self.d.incoming_ids(), [])
        # The fault is over: the same session goes on, no restart needed.
        _, r = self.send(c)
        after = [queued_id(r)]
        self.wait_delivered(before + after)
        self.assert_each_once(before + after)
        self.assertEqual(len(self.at_sink("fwd")), 2, "a refused message was delivered")
        self.assertEqual(self.d.files("corrupt"), [])

    def store_fault_holds_mail(self, failpoint):
        mark = self.d.log_mark()
        self.points.enable(failpoint)
        ids = self.accepted(3)  # the spool does not use this call: accepted as usual
        # The processor tried, the store failed: the messages wait in incoming/, whole.
        self.d.wait_for_log(r"warning pipeline: store: ", since=mark)
        wait_until(lambda: set(ids) <= set(self.d.incoming_ids()), 30, "messages in incoming/")
        self.assertEqual(self.d.files("corrupt"), [])
        self.assertEqual(self.at_sink("fwd"), collections.Counter())
        self.assert_quiet_for(6, max_cpu=1.0)
        # It was tried again after its pause, and failed again.
        wait_until(lambda: len([1 for line in self.d.lines[mark:]
                                if "warning pipeline: store: " in line]) >= 2,
                   30, "a second try")
        self.points.disable(failpoint)
        self.wait_delivered(ids)
        self.assert_each_once(ids)
        self.assert_one_case_per_message(ids)
        self.assertEqual(self.d.files("corrupt"), [])

    def test_sqlite_pwrite_fault_holds_mail_until_it_ends(self):
        self.store_fault_holds_mail(PWRITE)

    def test_sqlite_fdatasync_fault_holds_mail_until_it_ends(self):
        self.store_fault_holds_mail(FDATASYNC)

    def tries(self, spool_id, call, since):
        """How many times the processor logged that `call` failed for this message."""
        rx = re.compile(r"warning pipeline: %s: %s " % (spool_id, call))
        return sum(1 for line in self.d.lines[since:] if rx.search(line))

    def retried(self):
        """Messages the processor left in incoming/ for a later try, so far (/metrics: served
        over a socket, which the write failpoint leaves alone)."""
        url = "http://127.0.0.1:%d/metrics" % self.d.metrics_port()
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
        return sum(int(float(v)) for v in re.findall(
            r'^referent_messages_processed_total\{[^}]*outcome="retried"[^}]*\} (\S+)$', text,
            re.M))

    def test_processor_faults_on_outgoing_hold_mail_in_incoming(self):
        # The store records the messages, then each call of the commit to outgoing/ fails in
        # turn. While any does, the messages stay in incoming/: an input leaves only once its
        # items are durable in outgoing/. Each message is recorded once and sent once.
        self.points.enable(PWRITE)
        ids = self.accepted(3)
        self.d.wait_for_log(r"warning pipeline: store: ")
        # write (silences the log too): the metrics show the failed tries, which leave nothing
        # under tmp/ (the commit removes the files it wrote).
        self.points.enable(WRITE)
        self.points.disable(PWRITE)
        before = self.retried()
        wait_until(lambda: self.retried() >= before + 2 * len(ids), 30,
                   "two tries of each message, written in vain")
        self.assertEqual([f for f in self.d.files("tmp") if f.endswith(".item")], [])
        self.assertEqual(sorted(set(ids) & set(self.d.incoming_ids())), sorted(ids))
        self.assertEqual(self.outgoing_items(), [])
        # rename: the items cannot enter outgoing/.
        mark = self.d.log_mark()
        self.points.enable(RENAME)
        self.points.disable(WRITE)
        for i in ids:
            wait_until(lambda: self.tries(i, "rename", mark), 30, "a failed rename for " + i)
        self.assertEqual(sorted(set(ids) & set(self.d.incoming_ids())), sorted(ids))
        self.assertEqual(self.outgoing_items(), [])
        self.assertEqual(self.at_sink("fwd"), collections.Counter())
        # fsync: the items are renamed in but outgoing/ cannot be synced, so no input may be
        # removed: not at the first try, when the commit fails, nor at the next, when the
        # items are there already. (The relay is down meanwhile: a delivery it made and the
        # store recorded would rightly let the processor drop the input.)
        self.sink.stop()
        mark = self.d.log_mark()
        self.points.enable(FSYNC)
        self.points.disable(RENAME)
        for i in ids:
            wait_until(lambda: self.tries(i, "fsync", mark) >= 2, 30,
                       "two failed tries for " + i)
        self.assertEqual(sorted(set(ids) & set(self.d.incoming_ids())), sorted(ids))
        self.points.disable(FSYNC)
        self.sink.start()
        self.wait_delivered(ids)
        self.assert_each_once(ids)
        self.assert_one_case_per_message(ids)
        self.assertEqual(self.d.files("corrupt"), [])

    def test_relay_results_wait_while_the_store_fails(self):
        self.sink.stop()  # the relay is down: the items wait in outgoing/
        ids = self.accepted(3)
        wait_until(lambda: len(self.outgoing_items()) == 6 and not self.d.incoming_ids(), 30,
                   "six items in outgoing/")
        mark = self.d.log_mark()
        self.points.enable(PWRITE)
        self.sink.start()
        # Delivered, but the store cannot record it: the items stay and are not sent again.
        wait_until(lambda: all(self.at_sink("fwd")[i] and self.at_sink("ack")[i] for i in ids),
                   30, "the deliveries")
        self.d.wait_for_log(r"warning relay: results of \d+ items not recorded, kept: ",
                            since=mark)
        self.assertEqual(len(self.outgoing_items()), 6)
        self.assert_quiet_for(4, max_cpu=1.0)
        self.assert_each_once(ids)
        self.points.disable(PWRITE)
        self.wait_delivered(ids)
        self.assert_each_once(ids)
        states = self.store("SELECT state, COUNT(*) FROM deliveries GROUP BY state")
        self.assertEqual(states, [("delivered", 6)])

    def test_random_faults_under_load_lose_nothing(self):
        acked, refused, errors = [], [], []
        lock = threading.Lock()
        per_thread, threads_n = 12, 4

        def sender(k):
            try:
                with harness.Client(self.d.port(), timeout=60) as c:
                    c.ehlo()
                    for i in range(per_thread):
                        citizen, data = message(1000 + k * 100 + i)
                        c.mail(citizen)
                        c.rcpt()
                        c.data()
                        c.send(data)
                        r = c.recv_reply()
                        with lock:
                            (acked if r.code == 250 else refused).append(
                                (1000 + k * 100 + i, r))
            except Exception as e:  # reported below, in the test's thread
                errors.append(repr(e))

        for name, p in ((WRITE, 0.02), (PWRITE, 0.05), (FDATASYNC, 0.1), (FSYNC, 0.05),
                        (RENAME, 0.05)):
            self.points.enable(name, probability=p)
        threads = [threading.Thread(target=sender, args=(k,), daemon=True)
                   for k in range(threads_n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(len(acked) + len(refused), per_thread * threads_n)
        for _, r in refused:
            self.assertEqual(r.raw, REFUSED)
        # A crash in the middle of it all, then a clean start without faults.
        self.d.kill9()
        self.points.enabled.clear()
        self.d.start()
        self.points.check_preloaded()
        ids = [queued_id(r) for _, r in acked]
        self.wait_delivered(ids)
        fwd = self.at_sink("fwd")
        lost = [i for i in ids if not fwd[i]]
        self.assertEqual(lost, [])
        subjects = self.subjects_at_sink()
        for n, _ in refused:
            self.assertFalse([s for s in subjects if s.endswith("Demande %d" % n)],
                             "message %d got a 451 and was delivered" % n)
        dupes = {i: c for i, c in fwd.items() if c > 1}
        sys.stderr.write("\n%d acknowledged, %d refused with 451; forwards delivered twice: %d\n"
                         % (len(acked), len(refused), len(dupes)))
        self.assertTrue(acked and refused, "expected both outcomes")
        self.assert_one_case_per_message(ids)
        self.assertEqual(self.d.files("corrupt"), [])
        self.assertEqual(self.d.stop(), 0)


if __name__ == "__main__":
    harness.main()
