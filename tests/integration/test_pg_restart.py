#!/usr/bin/env python3
"""PostgreSQL restarted under load: referentd keeps its cases in a private PostgreSQL server
(its own, as the shared test server must not be restarted) while twenty SMTP sessions of
citizens push mail through the whole flow to a recording sink. The server is restarted twice
in the middle of it, `pg_ctl restart -m fast` (sessions terminated, transactions rolled back)
then `-m immediate` (no shutdown at all: crash recovery at start); then the server ends the
gateway's session ten times while staying up (an operator, a pooler, a failover proxy), so the
connection is lost in the middle of a batch with a server ready to take a new one. The
processor meets each fault (a store error in its log), leaves the messages in hand for a new
try and carries on; they are done while the load goes on. At the end every message that got a
250 has its forward and its acknowledgement at the sink, none twice, nothing went to corrupt/,
each message opened exactly one case, the case numbers run without a gap, and every delivery
is recorded as delivered.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import HOSTNAME, wait_until  # noqa: E402
from load import (AGENT, Delivered, Load, Sink, TimedDaemon, asan_scale, check_flow,  # noqa
                  drained, quarantined)
from pg_server import PgServer  # noqa: E402

TERMINATIONS = 10


class PgRestartTest(unittest.TestCase):
    def test_restarts_under_load_lose_nothing_and_number_every_case_once(self):
        pg = PgServer()
        self.addCleanup(pg.close)
        sink = Sink()
        self.addCleanup(sink.stop)
        relay = "{ url: %s, starttls: never, retry: [1s], workers: 4 }" % sink.url()
        d = TimedDaemon(name="pgrestart", postgresql=pg.conninfo, processor_workers=2,
                        relay=relay,
                        limits={"idle_timeout": "60s", "max_connections_per_ip": 100,
                                "min_free_space": 0},
                        agents=[("helene", "Hélène Lefèvre", AGENT, "max_open_cases: 100000")])
        self.addCleanup(d.close)
        load = Load(d, "p", pause=asan_scale(0.5, 2.0), sink=sink).start()
        self.addCleanup(load.stop)
        per_phase = asan_scale(60, 15)

        def flowing(n):
            """n more messages through the whole flow: the gateway is busy, the store serves."""
            at = len(sink.transactions) + n
            wait_until(lambda: len(sink.transactions) >= at, 120, "%d more deliveries" % n)

        t0 = time.monotonic()
        for mode in ("fast", "immediate"):
            flowing(per_phase)
            before = load.count()
            pg.restart(mode)
            print("%5.1fs pg_ctl restart -m %s: %d messages acknowledged before it"
                  % (time.monotonic() - t0, mode, before), file=sys.stderr)
            # The gateway met it and went on: every session now open is new, so one of the
            # gateway's means it reconnected. (A restart between two transactions is met
            # silently, by a reconnection at the next one; one inside a transaction also logs
            # a warning.)
            wait_until(lambda: pg.query(
                "SELECT pid FROM pg_stat_activity WHERE datname = 'referent_test' "
                "AND pid <> pg_backend_pid()"), 60, "the gateway's new session")
        flowing(per_phase)
        # The server stays up but ends the gateway's session (an operator, a pooler or a
        # failover proxy): the connection is lost in the middle of a batch, and the server is
        # there at once to take a new one.
        ended = 0
        for _ in range(TERMINATIONS):
            flowing(per_phase // 4)
            ended += len(pg.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                                  "datname = 'referent_test' AND pid <> pg_backend_pid()"))
        print("%5.1fs %d sessions ended by the server" % (time.monotonic() - t0, ended),
              file=sys.stderr)
        # What the faults left in incoming/ is retried while the load goes on: each message
        # acknowledged so far reaches the sink before the load stops.
        acked_so_far = load.snapshot()[0].values()
        wait_until(lambda: all(Delivered(sink).copies(s, "fwd") for s in acked_so_far),
                   asan_scale(120, 240), "the forwards of the messages taken before the faults",
                   interval=0.5)
        print("%5.1fs all forwarded under load" % (time.monotonic() - t0), file=sys.stderr)
        load.stop()
        print("%5.1fs load stopped" % (time.monotonic() - t0), file=sys.stderr)
        wait_until(lambda: drained(d), asan_scale(120, 300), "incoming/ and outgoing/ drained")
        print("%5.1fs drained" % (time.monotonic() - t0), file=sys.stderr)
        self.assertEqual(quarantined(d), {}, "quarantined because of a restart")

        got = check_flow(self, load, sink)
        self.assertEqual(got.duplicates(), {}, "delivered twice")
        acked, uncertain, refused = load.snapshot()
        retried = len([1 for _ in d.timed_lines(r"warning pipeline: ")])
        print("PostgreSQL restarted twice: %d messages acknowledged (%d uncertain, %d refused), "
              "%d deliveries at the sink, none twice; %d store warnings of the processor"
              % (len(acked), len(uncertain), len(refused), got.total, retried), file=sys.stderr)

        self.assertEqual(d.stop(), 0)
        numbers = sorted(int(n.rsplit("-", 1)[1]) for (n,) in pg.query("SELECT number FROM cases"))
        self.assertEqual(numbers, list(range(1, len(numbers) + 1)), "case numbers with a gap")
        inbound = [k for (k,) in pg.query("SELECT spool_id FROM messages WHERE direction = 'in'")]
        self.assertEqual(len(inbound), len(set(inbound)), "an inbound message recorded twice")
        self.assertEqual(len(numbers), len(inbound), "not one case per message")
        keys = set(inbound)
        for spool_id in acked.values():
            self.assertIn("%s/%s/etat-civil" % (HOSTNAME, spool_id), keys)
        (total, distinct), = pg.query("SELECT count(*), count(DISTINCT citizen_id) FROM cases")
        self.assertEqual(total, distinct, "a citizen with two cases")
        # Every outbound record is delivered: the relay's reports survived the restarts too.
        self.assertEqual(pg.query("SELECT state, count(*) FROM deliveries GROUP BY state"),
                         [["delivered", str(2 * len(inbound))]])


if __name__ == "__main__":
    harness.main()
