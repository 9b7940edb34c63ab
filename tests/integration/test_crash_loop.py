#!/usr/bin/env python3
"""Crash loop: twenty SMTP sessions of citizens push mail through the whole flow (spool, case,
forward to the referent, acknowledgement, relay to a recording sink) while referentd is killed
with SIGKILL at random moments ten times and restarted each time on the same spool. At the end
every message that got a 250 has its forward and its acknowledgement at the sink; every copy
delivered more than once is a byte-identical replay of an item that was in outgoing/ at a kill,
with at most one extra copy per kill that found it there (a delivery made and not yet settled
when the process died); each message opened exactly one case, and the case numbers run without
a gap. REFERENT_CRASH_SEED=N replays one run's kill moments.
"""

import os
import random
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import HOSTNAME, wait_until  # noqa: E402
from load import (AGENT, Load, Sink, TimedDaemon, asan_scale, check_flow, drained,  # noqa: E402
                  outgoing_items, quarantined)

KILLS = 10
KINDS = {"fwd": "forward", "ack": "acknowledgement"}


class CrashLoopTest(unittest.TestCase):
    def test_ten_kills_under_load_lose_nothing_and_replay_only_what_was_in_flight(self):
        seed = int(os.environ.get("REFERENT_CRASH_SEED", "0")) or random.randrange(1, 1 << 30)
        rng = random.Random(seed)
        print("crash loop: REFERENT_CRASH_SEED=%d" % seed, file=sys.stderr)
        sink = Sink()
        self.addCleanup(sink.stop)
        relay = "{ url: %s, starttls: never, retry: [1s], workers: 4 }" % sink.url()
        d = TimedDaemon(name="crashloop", processor_workers=2, relay=relay,
                        limits={"idle_timeout": "60s", "max_connections_per_ip": 100,
                                "min_free_space": 0},
                        agents=[("helene", "Hélène Lefèvre", AGENT, "max_open_cases: 100000")])
        self.addCleanup(d.close)
        # A steady stream rather than a flood: the kills land while mail is in every stage.
        load = Load(d, "k", pause=asan_scale(0.25, 1.0), sink=sink).start()
        self.addCleanup(load.stop)
        per_round = asan_scale(15, 5)  # fresh 250s before each kill: the daemon really serves

        in_flight = {}  # (source spool id, kind) -> how many kills found its item in outgoing/
        for k in range(1, KILLS + 1):
            load.wait_acked(load.count() + per_round, 120)
            time.sleep(rng.uniform(0.0, 3.0))
            d.kill9()
            items = outgoing_items(d)
            for item in items:
                key = (item["source"], item["kind"])
                in_flight[key] = in_flight.get(key, 0) + 1
            print("kill %d: %d acknowledged so far, %d items in outgoing/, %d in incoming/"
                  % (k, load.count(), len(items), len(d.incoming_ids())), file=sys.stderr)
            d.start()
        load.wait_acked(load.count() + per_round, 120)
        load.stop()
        wait_until(lambda: drained(d), asan_scale(120, 300), "incoming/ and outgoing/ drained")
        self.assertEqual(quarantined(d), {}, "quarantined under the crash loop")

        got = check_flow(self, load, sink)
        acked, uncertain, refused = load.snapshot()
        replays = 0
        for msgid, n in sorted(got.duplicates().items()):
            spool_id, _, rest = msgid.partition(".")
            kind = KINDS.get(rest.split("@")[0])
            self.assertLessEqual(n - 1, in_flight.get((spool_id, kind), 0),
                                 "%s delivered %d times, in outgoing/ at %d kills"
                                 % (msgid, n, in_flight.get((spool_id, kind), 0)))
            copies = {t.data for t in got.by_id[msgid]}
            self.assertEqual(len(copies), 1, "%s: the copies differ: not a replay" % msgid)
            replays += n - 1
        print("crash loop: %d kills, %d messages acknowledged (%d uncertain, %d refused), "
              "%d deliveries at the sink, %d duplicates (replays of the %d items in outgoing/ "
              "at the kills, %d item-kills)"
              % (KILLS, len(acked), len(uncertain), len(refused), got.total, replays,
                 len(in_flight), sum(in_flight.values())), file=sys.stderr)

        # One case per message processed, numbers without a gap, nothing recorded twice.
        self.assertEqual(d.stop(), 0)
        db = sqlite3.connect(os.path.join(d.dir, "referent.db"))
        self.addCleanup(db.close)
        numbers = sorted(int(n.rsplit("-", 1)[1])
                         for (n,) in db.execute("SELECT number FROM cases"))
        self.assertEqual(numbers, list(range(1, len(numbers) + 1)), "case numbers with a gap")
        inbound = [k for (k,) in db.execute("SELECT spool_id FROM messages WHERE direction = 'in'")]
        self.assertEqual(len(inbound), len(set(inbound)), "an inbound message recorded twice")
        self.assertEqual(len(numbers), len(inbound), "not one case per message")
        keys = set(inbound)
        for spool_id in acked.values():
            self.assertIn("%s/%s/etat-civil" % (HOSTNAME, spool_id), keys)
        citizens = db.execute("SELECT count(*), count(DISTINCT citizen_id) FROM cases").fetchone()
        self.assertEqual(citizens[0], citizens[1], "a citizen with two cases")


if __name__ == "__main__":
    harness.main()
