#!/usr/bin/env python3
"""Templates across a live reload (SIGHUP): the gateway parses its templates once, at load; a
reload loads them again from disk, so the next forward and the next acknowledgement carry the
edited text (body, banner and subject), and a reload refused for a broken template leaves the
templates that were running (not the broken file, not the first version).
"""

import email
import email.policy
import os
import shutil
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import REPO, SERVICE, Daemon, wait_until  # noqa: E402

AGENT = "helene@services.mairie-exemple.fr"


def mail(sender, subject, msgid):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\n\r\nBonjour\r\n.\r\n"
            % (sender, SERVICE, subject, msgid)).encode()


class TemplateReloadTests(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(name="tplreload", processor_workers=1, start=False)
        self.addCleanup(self.d.close)
        self.templates = os.path.join(self.d.dir, "templates")
        shutil.copytree(os.path.join(REPO, "templates"), self.templates)
        base = self.d.config_text
        here = self.templates
        self.d.config_text = lambda: base().replace(os.path.join(REPO, "templates"), here)
        self.d.write_config()
        self.d.start()

    def edit(self, name, old, new):
        path = os.path.join(self.templates, "fr", name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertIn(old, text, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new))

    def reload(self, expect):
        mark = self.d.log_mark()
        self.d.signal(signal.SIGHUP)
        return self.d.wait_for_log(expect, since=mark)

    def box(self, rcpt):
        path = os.path.join(self.d.dir, "outbox", rcpt.lower(), "new")
        return sorted(os.path.join(path, f) for f in os.listdir(path)) \
            if os.path.isdir(path) else []

    def send(self, sender, subject, n):
        """One citizen's first message → (its forward, its acknowledgement), parsed."""
        # The new forward is the file that was not there before: Maildir names do not sort by
        # time (their microseconds are not zero-padded).
        earlier = set(self.box(AGENT))
        with self.d.client() as c:
            self.assertEqual(c.send_message(mail(sender, subject, "t%d@example.org" % n),
                                            sender=sender).code, 250)
        wait_until(lambda: set(self.box(AGENT)) - earlier, 30, "the forward of message %d" % n)
        wait_until(lambda: self.box(sender), 30, "the acknowledgement of message %d" % n)
        new = sorted(set(self.box(AGENT)) - earlier)
        self.assertEqual(len(new), 1, "one forward for message %d" % n)
        out = []
        for path in (new[0], self.box(sender)[0]):
            with open(path, "rb") as f:
                out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return out

    @staticmethod
    def texts(msg):
        return (msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content(),
                str(msg["Subject"]))

    def assert_second_version(self, fwd, ack):
        """The acknowledgement (text, HTML, subject) and the forward's banner of the edited
        templates."""
        text, html, subject = self.texts(ack)
        self.assertIn("Version deux : nous accusons réception", text)
        self.assertIn("Version deux : nous accusons réception", html)
        self.assertIn("Version deux", subject)
        self.assertIn("Version deux, premier message de l’usager",
                      fwd.get_body(("plain",)).get_content())

    def test_edited_templates_apply_after_reload_and_a_refused_reload_keeps_them(self):
        fwd, ack = self.send("one@example.org", "Premier", 1)
        text, html, subject = self.texts(ack)
        self.assertIn("Nous accusons réception", text)
        self.assertIn("Nous accusons réception", html)
        self.assertNotIn("Version deux", subject)
        self.assertIn("Premier message de l’usager", fwd.get_body(("plain",)).get_content())

        self.edit("acknowledgement.txt.mustache", "Nous accusons réception",
                  "Version deux : nous accusons réception")
        self.edit("acknowledgement.html.mustache", "Nous accusons réception",
                  "Version deux : nous accusons réception")
        with open(os.path.join(self.templates, "fr", "acknowledgement.subject.mustache"),
                  encoding="utf-8") as f:
            old_subject = f.read()
        with open(os.path.join(self.templates, "fr", "acknowledgement.subject.mustache"), "w",
                  encoding="utf-8") as f:
            f.write("Version deux : " + old_subject)
        self.edit("forward_banner.txt.mustache", "Premier message de l’usager",
                  "Version deux, premier message de l’usager")
        self.reload(r"reloaded: ")

        self.assert_second_version(*self.send("two@example.org", "Second", 2))

        # A broken template: the reload is refused, the second version stays in use.
        self.edit("acknowledgement.txt.mustache", "Version deux : nous accusons réception",
                  "Version trois {{#case.number}} sans fin")
        self.reload(r"reload refused, the running configuration stays")
        fwd, ack = self.send("three@example.org", "Troisième", 3)
        self.assert_second_version(fwd, ack)
        self.assertNotIn("Version trois", self.texts(ack)[0])
        self.d.assert_alive()


if __name__ == "__main__":
    harness.main()
