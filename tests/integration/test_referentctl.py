#!/usr/bin/env python3
"""referentctl's store commands against a store filled by the flow, while referentd runs:
cases (table, filters, --json), show (messages, referents, events), close and reopen, absence
add / list / end (the running daemon routes the next mail to the delegate at once), export (the
files are the bytes received and sent), purge (reports; its effect is the store's contract
suite, which moves the clock past retention_days), --help on
each command, and the exit codes: 2 for a usage error or a refused request, 1 when the store
cannot be used.
"""

import datetime
import json
import os
import re
import sqlite3
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_flow  # noqa: E402
from test_flow import AGENT, COLLEAGUE  # noqa: E402


class ReferentctlTests(test_flow.FlowTests):
    pass


# Only this file's tests: the flow's own run in test_flow.py.
for name in [n for n in dir(test_flow.FlowTests) if n.startswith("test")]:
    setattr(ReferentctlTests, name, None)


def ctl(daemon, *args, config=None):
    return subprocess.run([harness.referentctl_path(), "-c", config or daemon.config_path]
                          + list(args), capture_output=True, text=True, timeout=60,
                          cwd=daemon.dir)


class Commands(ReferentctlTests):
    def ok(self, *args):
        p = ctl(self.daemon, *args)
        self.assertEqual(p.returncode, 0, "%s: %s" % (args, p.stderr))
        return p.stdout

    def case_of(self, sender, subject, msgid):
        self.send_citizen(sender, subject, "Bonjour", msgid=msgid)
        ack, _ = self.wait_outbox(sender, 1, "the acknowledgement to %s" % sender)
        return ack["X-Referent-Case"]

    def test_cases_show_close_reopen(self):
        first = self.case_of("lea@example.org", "Naissance", "c1@example.org")
        second = self.case_of("marc@example.org", "Décès", "c2@example.org")
        table = self.ok("cases")
        self.assertTrue(table.startswith("CASE "), table)
        self.assertIn(first, table)
        self.assertIn(second, table)
        listed = json.loads(self.ok("cases", "--json", "--agent", "helene", "--status", "open"))
        numbers = [c["number"] for c in listed]
        self.assertIn(first, numbers)
        lea = [c for c in listed if c["number"] == first][0]
        self.assertEqual((lea["citizen"], lea["referent"], lea["status"], lea["closed"]),
                         ("lea@example.org", "helene", "open", None))
        self.assertEqual(json.loads(self.ok("cases", "--json", "--overdue")), [])

        shown = json.loads(self.ok("show", first, "--json"))
        self.assertEqual(shown["case"]["number"], first)
        kinds = [(m["direction"], m["kind"]) for m in shown["messages"]]
        self.assertEqual(kinds[0], ("in", "human"))
        self.assertIn(("out", "forward"), kinds)
        self.assertIn(("out", "acknowledgement"), kinds)
        self.assertEqual(shown["referents"][0]["agent"], "helene")
        self.assertIn("created", [e["kind"] for e in shown["events"]])
        text = self.ok("show", first)
        self.assertIn("lea@example.org", text)
        self.assertIn("events", text)

        self.assertIn(first + ": closed", self.ok("close", first))
        self.assertEqual(ctl(self.daemon, "close", first).returncode, 2)  # already closed
        closed = json.loads(self.ok("cases", "--json", "--status", "closed"))
        self.assertEqual([c["number"] for c in closed], [first])
        self.assertIn(first + ": open", self.ok("reopen", first))
        self.assertEqual(ctl(self.daemon, "reopen", first).returncode, 2)  # already open
        events = [e["kind"] for e in json.loads(self.ok("show", first, "--json"))["events"]]
        self.assertIn("closed", events)
        self.assertIn("reopened", events)

    def test_absence_routes_the_next_mail_to_the_delegate(self):
        self.case_of("nina@example.org", "Passeport", "a0@example.org")
        self.wait_outbox(AGENT, 1, "the first forward to Hélène")
        today = datetime.date.today()
        later = today + datetime.timedelta(days=3)
        out = self.ok("absence", "add", "helene", "--from", today.isoformat(), "--to",
                      later.isoformat(), "--delegate", "paul")
        self.assertIn("delegate paul", out)
        listed = json.loads(self.ok("absence", "list", "--json"))
        self.assertIn({"agent": "helene", "from": today.isoformat(), "to": later.isoformat(),
                       "delegate": "paul", "source": "stored"}, listed)
        try:
            # Nina's follow-up: her case's mail goes to the delegate while Hélène is away.
            self.send_citizen("nina@example.org", "Re: Passeport", "Encore moi",
                              msgid="a1@example.org",
                              extra=[("In-Reply-To", "<a0@example.org>")])
            fwd, _ = self.wait_outbox(COLLEAGUE, 1, "the forward to the delegate")
            self.assertIn("Passeport", str(fwd["Subject"]))
        finally:
            self.assertIn("1 stored absence(s) ended", self.ok("absence", "end", "helene"))
        self.send_citizen("omar@example.org", "Permis", "Bonjour", msgid="a2@example.org")
        fwd, _ = self.wait_outbox(AGENT, 2, "the forward to Hélène again")
        self.assertIn("Permis", str(fwd["Subject"]))

    def test_export_round_trips_what_is_held(self):
        number = self.case_of("Export.Me@example.org", "Accès", "e1@example.org")
        fwd, fwd_raw = self.wait_outbox(AGENT, 1, "the forward")
        ack, ack_raw = self.wait_outbox("export.me@example.org", 1, "the acknowledgement")
        target = os.path.join(self.daemon.dir, "export")
        out = self.ok("export", "--citizen", "export.me@EXAMPLE.org", target)
        self.assertIn("1 cases", out)
        with open(os.path.join(target, "citizen.json"), encoding="utf-8") as f:
            doc = json.load(f)
        self.assertEqual(doc["citizen"], "Export.Me@example.org")
        self.assertEqual([c["number"] for c in doc["cases"]], [number])
        files = {m["kind"]: m["file"] for m in doc["cases"][0]["messages"]}
        self.assertEqual(set(files), {"human", "forward", "acknowledgement"})

        def read(rel):
            with open(os.path.join(target, rel), "rb") as f:
                return f.read()

        self.assertIn(b"Bonjour", read(files["human"]))
        # The outbound messages as they left (the Maildir adds its Return-Path line first).
        self.assertEqual(read(files["forward"]), fwd_raw.split(b"\r\n", 1)[1])
        self.assertEqual(read(files["acknowledgement"]), ack_raw.split(b"\r\n", 1)[1])
        self.assertIn("created", [e["kind"] for e in doc["cases"][0]["events"]])
        # A second export never mixes with the first; an unknown citizen has no case.
        self.assertEqual(ctl(self.daemon, "export", "--citizen", "export.me@example.org",
                             target).returncode, 2)
        self.assertIn("no case", self.ok("export", "--citizen", "nobody@example.org",
                                         os.path.join(self.daemon.dir, "none")))

    def test_purge_leaves_no_body_behind(self):
        number = self.case_of("old@example.org", "Ancien", "o1@example.org")
        self.wait_outbox(AGENT, 1, "the forward")
        self.assertIn(number + ": closed", self.ok("close", number))
        # Two years and a day later (730 days of retention): the clock is the store's.
        db = sqlite3.connect(os.path.join(self.daemon.dir, "referent.db"), timeout=10)
        with db:
            db.execute("UPDATE cases SET closed_at = closed_at - 731 * 86400 WHERE number = ?",
                       (number,))
        out = self.ok("purge")
        self.assertRegex(out, r"^purged: 1 cases, [3-9] messages, 1 citizens pseudonymised\n$")
        left = db.execute("SELECT COUNT(*) FROM messages m JOIN cases c ON c.id = m.case_id "
                          "WHERE c.number = ? AND (m.raw IS NOT NULL OR m.subject <> '')",
                          (number,)).fetchone()[0]
        self.assertEqual(left, 0)
        db.close()
        shown = json.loads(self.ok("show", number, "--json"))
        self.assertTrue(shown["case"]["citizen"].endswith("@purged.invalid"))
        self.assertFalse(any(m["body_kept"] for m in shown["messages"]))
        self.assertIn("created", [e["kind"] for e in shown["events"]])  # the log stays
        self.assertIn("no case", self.ok("export", "--citizen", "old@example.org",
                                         os.path.join(self.daemon.dir, "gone")))

    def test_purge_reports_and_respects_retention(self):
        # Nothing here is past its retention (730 days): a dry run and a run change nothing.
        self.case_of("kept@example.org", "Garde", "p1@example.org")
        self.assertEqual(self.ok("purge", "--dry-run"),
                         "would purge: 0 cases, 0 messages, 0 citizens pseudonymised\n")
        self.assertEqual(self.ok("purge"),
                         "purged: 0 cases, 0 messages, 0 citizens pseudonymised\n")
        self.assertEqual(ctl(self.daemon, "purge", "now").returncode, 2)

    def write(self, name, data):
        path = os.path.join(self.daemon.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_explain_shows_the_decisions_and_changes_nothing(self):
        before = json.loads(self.ok("cases", "--json"))
        mail = test_flow.crlf("From: Zoé <zoe@example.org>\nTo: %s\nSubject: Carte grise\n"
                              "Message-ID: <x1@example.org>\n\nBonjour\n" % test_flow.SERVICE)
        path = self.write("zoe.eml", mail)
        text = self.ok("explain", path)
        self.assertIn("class: human", text)
        m = re.search(r"^forward +%s +(EC-\d{4}-\d{6})" % re.escape(AGENT), text, re.M)
        self.assertTrue(m, text)
        number = m.group(1)
        self.assertRegex(text, r"(?m)^acknowledgement +zoe@example\.org +%s" % number)
        self.assertRegex(text, r"(?m)^created ")
        self.assertIn("--- forward to %s ---" % AGENT, text)
        self.assertEqual(json.loads(self.ok("cases", "--json")), before)  # nothing changed
        # The real message then gets the very number the dry run showed: no sequence moved.
        self.send_citizen("zoe@example.org", "Carte grise", "Bonjour", msgid="x1@example.org")
        ack, _ = self.wait_outbox("zoe@example.org", 1, "the acknowledgement")
        self.assertEqual(ack["X-Referent-Case"], number)
        # A reply from a colleague not on the case, through the agents' listener: refused.
        fwd, _ = self.wait_outbox(AGENT, 1, "the forward")
        agent_to = fwd["Reply-To"].addresses[0].addr_spec
        forged = test_flow.crlf("From: Paul <%s>\nTo: %s\nSubject: Re: Carte grise\n"
                                "Message-ID: <f1@example.org>\n\nVoici\n" % (COLLEAGUE, agent_to))
        text = self.ok("explain", self.write("forged.eml", forged), "--listener", "internal")
        self.assertNotIn("zoe@example.org", re.split(r"\ndecisions\n", text)[0].split(
            "would send")[1])
        self.assertRegex(text, r"(?m)^reply_refused +%s" % re.escape(COLLEAGUE))

    def test_stats_counts_the_flow(self):
        before = json.loads(self.ok("stats", "--json"))
        cases_before = sum(r["cases"] for r in before["rows"] if r["referent"] == "helene")
        self.case_of("stats@example.org", "Statistiques", "st1@example.org")
        doc = json.loads(self.ok("stats", "--json"))
        row = [r for r in doc["rows"] if (r["service"], r["referent"]) ==
               ("etat-civil", "helene")][0]
        self.assertEqual(row["cases"], cases_before + 1)
        self.assertGreaterEqual(row["open"], 1)
        self.assertEqual(row["overdue"], 0)
        text = self.ok("stats", "--since", "2020-01-01")
        self.assertTrue(text.startswith("since 2020-01-01\nSERVICE "), text)

    def test_every_command_speaks_json(self):
        number = self.case_of("json@example.org", "Json", "js1@example.org")
        self.assertEqual(json.loads(self.ok("close", number, "--json"))["status"], "closed")
        self.assertEqual(json.loads(self.ok("reopen", number, "--json"))["status"], "open")
        done = json.loads(self.ok("assign", number, "paul", "--reason", "renfort", "--json"))
        self.assertEqual((done["referent"], done["previous"], done["queued"]),
                         ("paul", "helene", 2))
        self.assertEqual(set(json.loads(self.ok("purge", "--dry-run", "--json"))),
                         {"dry_run", "cases", "messages", "citizens"})
        self.assertEqual(json.loads(self.ok("retry", "--all", "--json")), {"due_now": 0})
        pub = os.path.join(self.daemon.dir, "pub")
        self.assertEqual(set(json.loads(self.ok("directory", "--out", pub, "--json"))),
                         {"html", "json"})
        ex = json.loads(self.ok("export", "--citizen", "json@example.org",
                                os.path.join(self.daemon.dir, "exp"), "--json"))
        self.assertEqual(ex["cases"], 1)
        path = self.write("j.eml", test_flow.crlf(
            "From: j2@example.org\nTo: %s\nSubject: x\nMessage-ID: <j2@example.org>\n\nx\n"
            % test_flow.SERVICE))
        explained = json.loads(self.ok("explain", path, "--json"))
        self.assertEqual(explained["class"], "human")
        self.assertEqual(sorted(m["kind"] for m in explained["would_send"]),
                         ["acknowledgement", "forward"])
        today = datetime.date.today().isoformat()
        self.assertEqual(json.loads(self.ok("absence", "add", "paul", "--from", today, "--to",
                                            today, "--json"))["agent"], "paul")
        self.assertEqual(json.loads(self.ok("absence", "end", "paul", "--json"))["ended"], 1)

    def test_usage_and_refusals_exit_2_and_help_exits_0(self):
        for cmd in (["cases"], ["show"], ["close"], ["reopen"], ["absence"], ["export"],
                    ["purge"], ["directory"], ["explain"], ["stats"], ["queue"], ["retry"],
                    ["spool"], ["requeue"], ["assign"]):
            p = ctl(self.daemon, *cmd, "--help")
            self.assertEqual(p.returncode, 0, cmd)
            self.assertTrue(p.stdout.startswith("usage: referentctl " + cmd[0]), p.stdout)
        for args in (["cases", "--status", "pending"], ["cases", "--limit", "0"],
                     ["cases", "--bogus"], ["cases", "--service", "nope"],
                     ["cases", "--agent", "nobody"], ["show"], ["show", "EC-1999-000001"],
                     ["close", "EC-1999-000001"], ["absence"], ["absence", "add", "helene"],
                     ["absence", "add", "helene", "--from", "2026-02-30", "--to", "2026-03-01"],
                     ["absence", "add", "helene", "--from", "2026-03-02", "--to", "2026-03-01"],
                     ["absence", "add", "nobody", "--from", "2026-03-01", "--to", "2026-03-02"],
                     ["absence", "add", "helene", "--from", "2026-03-01", "--to", "2026-03-02",
                      "--delegate", "helene"],
                     ["absence", "end", "nobody"], ["export", "x"],
                     ["export", "--citizen", "a@example.org"], ["directory"], ["explain"],
                     ["explain", "x.eml", "--listener", "side"], ["stats", "--since", "2026-13-01"],
                     ["stats", "extra"], ["retry"], ["retry", "x", "--all"], ["requeue"],
                     ["queue", "x"], ["spool", "x"]):
            p = ctl(self.daemon, *args)
            self.assertEqual(p.returncode, 2, "%s: %s %s" % (args, p.stdout, p.stderr))
            self.assertTrue(p.stderr.startswith("referentctl: "), p.stderr)

    def test_store_that_cannot_be_opened_exits_1(self):
        path = os.path.join(self.daemon.dir, "unreachable.yaml")
        with open(self.daemon.config_path, encoding="utf-8") as f:
            text = f.read()
        text = text.replace("sqlite: %s/referent.db" % self.daemon.dir,
                            "sqlite: %s/missing/dir/referent.db" % self.daemon.dir)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        p = ctl(self.daemon, "cases", config=path)
        self.assertEqual(p.returncode, 1, p.stderr)


class SpoolCommands(unittest.TestCase):
    """referentctl spool and requeue, with the processor held (processor_workers: 0): a message
    in incoming/, one quarantined by hand with its reason, and its way back."""

    def test_spool_lists_and_requeue_puts_back(self):
        d = harness.Daemon(name="spoolcmd", processor_workers=0)
        self.addCleanup(d.close)
        ids = []
        for i in range(2):
            with d.client() as c:
                r = c.send_message(b"Subject: s%d\r\n\r\nBonjour\r\n.\r\n" % i)
                ids.append(harness.queued_id(r))
        corrupt = os.path.join(d.spool, "corrupt")
        for ext in ("msg", "env"):
            os.rename(os.path.join(d.spool, "incoming", "%s.%s" % (ids[1], ext)),
                      os.path.join(corrupt, "%s.%s" % (ids[1], ext)))
        with open(os.path.join(corrupt, ids[1] + ".reason"), "w") as f:
            f.write("unknown service urbanisme\n")
        p = ctl(d, "spool", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        listed = {e["id"]: e for e in json.loads(p.stdout)}
        self.assertEqual(listed[ids[0]]["where"], "incoming")
        self.assertEqual(listed[ids[0]]["role"], "public")
        self.assertEqual(listed[ids[1]]["where"], "corrupt")
        self.assertEqual(listed[ids[1]]["reason"], "unknown service urbanisme")
        self.assertIn("unknown service urbanisme", ctl(d, "spool").stdout)
        self.assertEqual(ctl(d, "requeue", "0000000000nosuchid").returncode, 2)
        p = ctl(d, "requeue", ids[1])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(d.incoming_ids()), sorted(ids))
        self.assertEqual(os.listdir(corrupt), [])
        # An envelope that does not read back stays where it is.
        for ext in ("msg", "env"):
            os.rename(os.path.join(d.spool, "incoming", "%s.%s" % (ids[1], ext)),
                      os.path.join(corrupt, "%s.%s" % (ids[1], ext)))
        with open(os.path.join(corrupt, ids[1] + ".env"), "w") as f:
            f.write("garbage\n")
        self.assertEqual(ctl(d, "requeue", ids[1]).returncode, 2)
        self.assertTrue(os.path.exists(os.path.join(corrupt, ids[1] + ".msg")))


if __name__ == "__main__":
    unittest.main()
