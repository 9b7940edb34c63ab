#!/usr/bin/env python3
"""Live reload (SIGHUP) of a running referentd: a valid change takes effect for new sessions
and new decisions while a session open across the reload completes on the old settings; a new
listener starts and a removed one stops accepting; an agent's new name is on the next
forward; an invalid file, or a change that needs a restart, is refused with every reason in
the log and the daemon keeps serving on the configuration it had.
"""

import email
import email.policy
import os
import re
import signal
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CITIZEN_DOMAIN, SERVICE, Daemon, wait_until  # noqa: E402

AGENT = "helene@services." + CITIZEN_DOMAIN


def mail(sender, subject, msgid):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\n\r\nBonjour\r\n.\r\n"
            % (sender, SERVICE, subject, msgid)).encode()


class ReloadTests(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(name="reload", processor_workers=1,
                        limits={"idle_timeout": "30s", "max_recipients": 100})
        self.addCleanup(self.d.close)

    def reload(self, expect):
        mark = self.d.log_mark()
        self.d.signal(signal.SIGHUP)
        return self.d.wait_for_log(expect, since=mark)

    def outbox(self, rcpt):
        box = os.path.join(self.d.dir, "outbox", rcpt.lower(), "new")
        return sorted(os.listdir(box)) if os.path.isdir(box) else []

    def test_valid_change_applies_to_new_sessions_only(self):
        d = self.d
        old = d.client()  # a session open across the reload, mid-transaction
        old.ehlo()
        old.mail("early@example.org")
        old.rcpt()
        d.limits["max_recipients"] = 1
        d.listen = d.listen + [("127.0.0.2", 0, "smtp", "public")]
        d.agents = [("helene", "Hélène Martin", AGENT)]
        d.write_config()
        self.reload(r"reloaded: 3 listeners")
        line = d.wait_for_log(r"listening on 127\.0\.0\.2:(\d+) protocol=smtp role=public")
        extra_port = int(line.group(1))
        # The old session finishes on the settings it began with: a second recipient is fine.
        old.rcpt(SERVICE)
        old.data()
        old.send(mail("early@example.org", "Avant", "r0@example.org"))
        self.assertEqual(old.recv_reply().code, 250)
        old.close()
        # A new session has the new limit.
        with d.client() as c:
            c.ehlo()
            c.mail("late@example.org")
            c.rcpt()
            c.rcpt(SERVICE, code=452)
        # The new listener accepts; the next forward carries the agent's new name.
        with harness.Client(extra_port, host="127.0.0.2") as c:
            self.assertEqual(c.send_message(mail("new@example.org", "Après", "r1@example.org"),
                                            sender="new@example.org").code, 250)
        wait_until(lambda: len(self.outbox(AGENT)) >= 2, 20, "two forwards")
        wait_until(lambda: self.outbox("new@example.org"), 20, "the acknowledgement")
        acks = [os.path.join(d.dir, "outbox", "new@example.org", "new", f)
                for f in self.outbox("new@example.org")]
        with open(acks[0], "rb") as f:
            ack = email.message_from_bytes(f.read(), policy=email.policy.default)
        self.assertIn("Hélène Martin", ack.get_body(("plain",)).get_content())
        self.assertIn("Hélène Martin", str(ack["From"]))
        # Removing the listener again: it stops accepting.
        d.listen = d.listen[:2]
        d.write_config()
        self.reload(r"reloaded: 2 listeners")
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.2", extra_port), timeout=2).close()

    def test_invalid_or_restart_only_changes_are_refused_and_serving_goes_on(self):
        d = self.d
        good = d.config_text()
        with open(d.config_path, "w", encoding="utf-8") as f:
            f.write(good.replace("max_recipients: 100", "max_recipients: 0"))
        line = self.reload(r"reload refused, the running configuration stays: 1 problem")
        self.assertIsNotNone(line)
        self.assertTrue(any(re.search(r"referent\.yaml:\d+:\d+: gateway\.limits\.max_recipients",
                                      l) for l in d.lines), d.log_tail())
        with open(d.config_path, "w", encoding="utf-8") as f:
            f.write(good.replace("%s/referent.db" % d.dir, "%s/other.db" % d.dir))
        self.reload(r"reload refused.*changed keys need a restart: store")
        # Still serving, on the old limits (two recipients are fine).
        with d.client() as c:
            c.ehlo()
            c.mail("still@example.org")
            c.rcpt()
            c.rcpt(SERVICE)
        d.assert_alive()


if __name__ == "__main__":
    harness.main()
