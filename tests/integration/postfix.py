"""A private Postfix instance for integration tests: real Postfix, loopback only, temp dirs.

Contract: `Postfix` owns a temporary directory holding its own config_directory (main.cf,
master.cf and lookup tables), queue_directory, data_directory and log file (maillog_file, so
no syslog is needed). Its smtpd listens on a free port of 127.0.0.1 only (`port`); it never
delivers to the system: no local delivery, no aliases, and default_transport is `error:`, so
mail leaves only by what the caller routes in its tables (relay_domains the tables miss would go
by DNS, as in production: route them all).

The caller supplies what makes the instance an MX, a relay or anything else:
  main     main.cf settings, as text (main.cf syntax, continuation lines allowed) or a dict;
           they override the base settings key by key (see base_main()).
  master   master.cf lines added to the base services (a service with the same name and type
           replaces the base one), e.g. "referent unix - - n - 10 smtp" or another inet
           listener on a port from free_port(); a "127.0.0.1:<port> inet" service with this
           instance's `port` replaces its default listener (configure() it after __init__).
  maps     {file name: text}: lookup tables written to the config directory and compiled with
           `postmap hash:` (refer to them as hash:/etc/postfix/NAME, see `replace`).
  smtpd_options  extra "-o name=value" items for the main smtpd listener.
  replace  {old: new} applied to every text above, after the built-in
           "/etc/postfix/" -> "<config_directory>/", so production snippets load unchanged.

With start=False the caller may add to them with configure(main=, master=, maps=) (say, once
the ports of the programs behind it are known), then call start(). `start()` runs
`postfix -c DIR start` and waits until the listener greets with 220; `stop()`
runs `postfix -c DIR stop` and makes sure every process of the instance is gone; `close()`
stops and removes the directory (also at interpreter exit, and, through a guard process, when
the test process itself is killed). Several instances run at once: nothing is shared but the
binaries and /etc/postfix's read-only postfix-files (meta_directory).

Observations: `queue()` (postqueue -j), `flush()` (postqueue -f), `wait_queue_empty()`,
`log_text()`, `wait_for_log()`, `deliveries()` (the "to=<...>, relay=..., status=..." lines).
Failures raise AssertionError carrying the instance's log tail; `DumpLogsOnFailure` prints the
logs of a test's instances when that test fails. Needs root (Postfix drops to mail_owner) and
the postfix package; Python 3 standard library only.
"""

import atexit
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import wait_until  # noqa: E402  (one polling helper for every test)

__all__ = ["Postfix", "DumpLogsOnFailure", "available", "free_port", "wait_until",
           "parse_main", "parse_master"]  # not SelfTest: importers do not rerun it

POSTFIX = "/usr/sbin/postfix"
POSTQUEUE = "/usr/sbin/postqueue"
POSTMAP = "/usr/sbin/postmap"
POSTCONF = "/usr/sbin/postconf"
START_TIMEOUT = 60.0  # a loaded two-core machine: postfix-script checks take a few seconds


def available():
    """None when Postfix can run here, else the reason (for unittest.SkipTest)."""
    if os.geteuid() != 0:
        return "a private Postfix instance needs root"
    for tool in (POSTFIX, POSTQUEUE, POSTMAP):
        if not os.access(tool, os.X_OK):
            return "%s not found (apt-get install postfix)" % tool
    return None


def free_port(host="127.0.0.1"):
    """A TCP port nobody listens on right now (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def parse_main(text):
    """main.cf text -> {key: value} in order; continuation lines (leading white space) are
    joined to their entry, comments and blank lines dropped."""
    if isinstance(text, dict):
        return {k: str(v) for k, v in text.items()}
    entries, key = {}, None
    for line in (text or "").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0] in " \t":
            if key is None:
                raise ValueError("main.cf continuation line without an entry: %r" % line)
            entries[key] += " " + stripped
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError("not a main.cf line: %r" % line)
        key = key.strip()
        entries[key] = value.strip()
    return entries


def parse_master(text):
    """master.cf text -> list of service entries (continuation lines joined), comments dropped."""
    services = []
    for line in (text or "").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0] in " \t":
            if not services:
                raise ValueError("master.cf continuation line without a service: %r" % line)
            services[-1] += "\n  " + stripped
        else:
            services.append(stripped)
    return services


def _service_key(entry):
    fields = entry.split()
    return (fields[0], fields[1]) if len(fields) > 1 else (fields[0], "")


# Every daemon a Postfix instance needs, none chrooted (a chroot would need copies of system
# files) and no local(8)/virtual(8)/pipe(8): this instance never delivers on the machine.
BASE_MASTER = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

NO_ROUTE = "error:5.4.4 no route: this test instance delivers only through its transport_maps"


def base_main(instance):
    return {
        "compatibility_level": "3.6",
        "queue_directory": instance.queue_dir,
        "data_directory": instance.data_dir,
        "meta_directory": "/etc/postfix",  # postfix-files: read only
        "maillog_file": instance.log_path,
        "maillog_file_prefixes": instance.dir,
        "syslog_name": "postfix-" + instance.name,
        "myhostname": instance.name + ".test",
        "mydomain": "test",
        "myorigin": "$myhostname",
        "inet_interfaces": "127.0.0.1",
        "inet_protocols": "ipv4",
        "mynetworks": "127.0.0.1/32",
        "mydestination": "",
        "local_recipient_maps": "",
        "local_transport": "error:5.1.1 no local delivery in this test instance",
        "alias_maps": "",
        "alias_database": "",
        # relay_transport stays Postfix's (smtp by DNS), as in production: the caller routes
        # its relay_domains in transport_maps (recipients it would not route are better
        # refused with relay_recipient_maps, which an error: relay_transport would preempt).
        "default_transport": NO_ROUTE,
        "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
        "biff": "no",
        "append_dot_mydomain": "no",
        # Tests wait for retries: the first ones come within seconds.
        "queue_run_delay": "1s",
        "minimal_backoff_time": "1s",
        "maximal_backoff_time": "10s",
        "smtp_connect_timeout": "10s",
    }


_live = set()


@atexit.register
def _close_leftovers():
    for instance in list(_live):
        instance.close()


# Runs detached from the test: when the test process dies (its end of the pipe closes), it
# stops the instance and removes its directory. After a clean close() it finds nothing to do.
_GUARD = r"""
import os, shutil, signal, subprocess, sys, time
sys.stdin.buffer.read()
top, conf, queue, postfix = sys.argv[1:5]


def ours():
    # Every Postfix process of the instance (postfix-script, master, daemons) works in its
    # queue directory: found by cwd, even mid-start, and nothing else is touched.
    pids = []
    for pid in os.listdir("/proc"):
        try:
            cwd = os.readlink("/proc/%s/cwd" % pid)
        except OSError:
            continue
        if pid.isdigit() and (cwd == queue or cwd.startswith(queue + "/")
                              or cwd.startswith(queue + " ")):
            pids.append(int(pid))
    return pids


if os.path.isdir(conf):
    subprocess.run([postfix, "-c", conf, "stop"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)
for _ in range(50):
    pids = ours()
    if not pids:
        break
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    time.sleep(0.1)
shutil.rmtree(top, ignore_errors=True)
"""


class Postfix:
    """One private Postfix instance. Use as a context manager or call close()."""

    def __init__(self, name="postfix", main=None, master=None, maps=None, smtpd_options=(),
                 replace=None, start=True, keep=None):
        if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
            raise ValueError("instance name: lower case letters, digits and '-': %r" % name)
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="postfix-%s-" % name)
        os.chmod(self.dir, 0o755)  # Postfix daemons run as mail_owner and must traverse it
        self.config_dir = os.path.join(self.dir, "etc")
        self.queue_dir = os.path.join(self.dir, "spool")
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "postfix.log")
        self._guard = None
        self._start_guard()  # from here on, the directory goes even if this process dies
        _live.add(self)
        os.mkdir(self.config_dir, 0o755)
        os.mkdir(self.queue_dir, 0o755)  # postfix start creates its subdirectories
        os.mkdir(self.data_dir, 0o700)
        pw = pwd.getpwnam("postfix")  # mail_owner writes master.lock and caches there
        os.chown(self.data_dir, pw.pw_uid, pw.pw_gid)
        self.port = free_port()
        self.replace = {"/etc/postfix/": self.config_dir + "/"}
        self.replace.update(replace or {})
        self.main = base_main(self)
        self.smtpd_options = list(smtpd_options)
        self.master = []
        self.maps = {}
        self.keep = bool(os.environ.get("REFERENT_IT_KEEP")) if keep is None else keep
        self.running = False
        self.master_pid = None
        self._saved_log = ""
        try:
            self.configure(main, master, maps)
            if start:
                self.start()
        except BaseException:
            self.close()
            raise

    # -- configuration -------------------------------------------------------------------
    def _subst(self, text):
        if text is None:
            return None
        if isinstance(text, dict):
            return {k: self._subst(v) for k, v in text.items()}
        text = str(text)
        for old, new in self.replace.items():
            text = text.replace(old, new)
        return text

    def configure(self, main=None, master=None, maps=None):
        """Adds main.cf settings (overriding), master.cf services (replacing those of the same
        name and type) and tables (replacing those of the same name), with `replace` applied,
        and writes the configuration. A running instance needs reload() for main.cf and
        master.cf; its daemons reread changed tables by themselves."""
        self.main.update(parse_main(self._subst(main)))
        keys = {_service_key(e): i for i, e in enumerate(self.master)}
        for entry in parse_master(self._subst(master)):
            if _service_key(entry) in keys:
                self.master[keys[_service_key(entry)]] = entry
            else:
                keys[_service_key(entry)] = len(self.master)
                self.master.append(entry)
        self.maps.update({k: self._subst(v) for k, v in (maps or {}).items()})
        self.write_config()

    def path(self, name):
        """A file of this instance's config directory."""
        return os.path.join(self.config_dir, name)

    def listener(self):
        words = ["127.0.0.1:%d" % self.port, "inet", "n", "-", "n", "-", "-", "smtpd"]
        return " ".join(words) + "".join("\n  " + o for o in self.smtpd_options)

    def main_cf(self):
        return "".join("%s = %s\n" % kv for kv in self.main.items())

    def master_cf(self):
        extra = {_service_key(e): e for e in self.master}
        lines = []
        for entry in [self.listener()] + parse_master(BASE_MASTER):
            lines.append(extra.pop(_service_key(entry), entry))
        lines.extend(extra.values())
        return "\n".join(lines) + "\n"

    def write_config(self):
        """Writes main.cf, master.cf and the tables (compiled)."""
        with open(self.path("main.cf"), "w", encoding="utf-8") as f:
            f.write(self.main_cf())
        with open(self.path("master.cf"), "w", encoding="utf-8") as f:
            f.write(self.master_cf())
        for name, text in self.maps.items():
            self.set_map(name, text, subst=False)

    def set_map(self, name, text, subst=True):
        """(Re)writes the lookup table `name` and compiles it (postmap hash:)."""
        text = self._subst(text) if subst else text
        self.maps[name] = text
        with open(self.path(name), "w", encoding="utf-8") as f:
            f.write(text if text.endswith("\n") or not text else text + "\n")
        self._run([POSTMAP, "-c", self.config_dir, "hash:" + self.path(name)])

    def postconf(self, *args):
        """`postconf -c DIR ARGS...` (e.g. "-h", "message_size_limit"): its stdout."""
        return self._run([POSTCONF, "-c", self.config_dir] + list(args)).stdout

    # -- process -------------------------------------------------------------------------
    def _run(self, cmd, timeout=START_TIMEOUT, check=True):
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s: no exit within %.0fs\n%s" %
                                 (" ".join(cmd), timeout, self.log_tail()))
        if check and p.returncode != 0:
            raise AssertionError("%s: exit %d\n%s%s\n%s" % (" ".join(cmd), p.returncode,
                                                           p.stdout, p.stderr, self.log_tail()))
        return p

    def _pidfile(self):
        return os.path.join(self.queue_dir, "pid", "master.pid")

    def _start_guard(self):
        if self._guard is None:
            self._guard = subprocess.Popen(
                [sys.executable, "-c", _GUARD, self.dir, self.config_dir, self.queue_dir,
                 POSTFIX], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True)

    def start(self, timeout=START_TIMEOUT):
        """`postfix -c DIR start`, then waits for the 220 greeting on `port`."""
        self._start_guard()
        self._run([POSTFIX, "-c", self.config_dir, "start"], timeout=timeout)
        self.running = True
        try:
            with open(self._pidfile()) as f:
                self.master_pid = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            raise AssertionError("postfix %s started without a master pid\n%s" %
                                 (self.name, self.log_tail()))
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                    if s.recv(512).startswith(b"220"):
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("postfix %s: no 220 on port %d within %.0fs\n%s" %
                                     (self.name, self.port, timeout, self.log_tail()))
            time.sleep(0.1)

    def reload(self):
        """`postfix -c DIR reload`: main.cf and master.cf changes take effect."""
        self._run([POSTFIX, "-c", self.config_dir, "reload"])

    def processes(self):
        """Pids of this instance's processes: every Postfix program works in its queue
        directory, so they are found by their cwd (also mid-start), and nothing else is."""
        pids = []
        for pid in os.listdir("/proc"):
            try:
                cwd = os.readlink("/proc/%s/cwd" % pid)
            except OSError:
                continue  # gone, a zombie, or not a process
            if pid.isdigit() and (cwd == self.queue_dir or cwd.startswith(self.queue_dir + "/")
                                  or cwd.startswith(self.queue_dir + " ")):  # " (deleted)"
                pids.append(int(pid))
        return pids

    def stop(self, timeout=START_TIMEOUT):
        """`postfix -c DIR stop`; then every process of the instance is gone (killed if it
        lingers 10 seconds)."""
        if not self.running:
            return
        self.running = False
        self._run([POSTFIX, "-c", self.config_dir, "stop"], timeout=timeout, check=False)
        try:
            wait_until(lambda: not self.processes(), 10, "postfix %s to stop" % self.name)
        except AssertionError:
            for _ in range(50):
                pids = self.processes()
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                time.sleep(0.1)

    def close(self):
        """Stops the instance and removes its directory (kept with REFERENT_IT_KEEP=1)."""
        try:
            self.stop()
        finally:
            self._saved_log = self.log_text()
            if self.keep:
                sys.stderr.write("kept postfix %s in %s\n" % (self.name, self.dir))
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
            if self._guard is not None:
                if self.keep:
                    self._guard.kill()  # it would remove the directory
                else:
                    self._guard.stdin.close()
                try:
                    self._guard.wait(30)
                except subprocess.TimeoutExpired:
                    self._guard.kill()
                self._guard = None
            _live.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- queue -----------------------------------------------------------------------------
    def queue(self):
        """The queue as `postqueue -j` lists it: one dict per message (queue_name, queue_id,
        sender, recipients [{address, delay_reason?}], ...)."""
        out = self._run([POSTQUEUE, "-c", self.config_dir, "-j"]).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def queue_text(self):
        """`postqueue -p` as text (for messages)."""
        return self._run([POSTQUEUE, "-c", self.config_dir, "-p"]).stdout

    def flush(self):
        """`postqueue -f`: deferred mail is tried now."""
        self._run([POSTQUEUE, "-c", self.config_dir, "-f"])

    def wait_queue_empty(self, timeout=60):
        try:
            wait_until(lambda: not self.queue(), timeout, "an empty queue", interval=0.3)
        except AssertionError:
            raise AssertionError("postfix %s: queue not empty after %.0fs\n%s\n%s" %
                                 (self.name, timeout, self.queue_text(), self.log_tail()))

    # -- log -------------------------------------------------------------------------------
    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return self._saved_log

    def log_tail(self, n=60):
        lines = self.log_text().splitlines()[-n:]
        return "\n".join(["--- postfix %s log (%s) ---" % (self.name, self.log_path)] + lines)

    def log_mark(self):
        return len(self.log_text().splitlines())

    def wait_for_log(self, pattern, timeout=60, since=0):
        """The first match of `pattern` (re.search) in a log line at index >= since."""
        rx = re.compile(pattern)

        def find():
            for line in self.log_text().splitlines()[since:]:
                m = rx.search(line)
                if m:
                    return m
            return None

        try:
            return wait_until(find, timeout, "a log line matching %r" % pattern, interval=0.1)
        except AssertionError as e:
            raise AssertionError("postfix %s: %s\n%s" % (self.name, e, self.log_tail()))

    DELIVERY_RX = re.compile(
        r"\]: (?P<queue_id>[0-9A-F]+): to=<(?P<to>[^>]*)>,(?: orig_to=<[^>]*>,)?"
        r" relay=(?P<relay>[^,]+), .*?dsn=(?P<dsn>[\d.]+), status=(?P<status>\w+)"
        r" \((?P<detail>.*)\)$")

    def deliveries(self, status=None):
        """Delivery attempts from the log, oldest first: dicts with queue_id, to, relay
        (e.g. "127.0.0.1[127.0.0.1]:2525"), dsn, status (sent, deferred, bounced), detail."""
        out = []
        for line in self.log_text().splitlines():
            m = self.DELIVERY_RX.search(line)
            if m and (status is None or m.group("status") == status):
                out.append(m.groupdict())
        return out


class DumpLogsOnFailure(unittest.TestCase):
    """Mixin base: when a test fails, prints the text of every (title, text) pair that
    `failure_logs()` yields (override it; e.g. each instance's log_tail())."""

    def failure_logs(self):
        return []

    def run(self, result=None):
        before = _problems(result)
        result = super().run(result)
        if result is not None and _problems(result) > before:
            for title, text in self.failure_logs():
                sys.stderr.write("\n===== %s =====\n%s\n" % (title, text))
        return result


def _problems(result):
    if result is None:
        return 0
    return len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)


class SelfTest(unittest.TestCase):
    """Two instances at once: A relays a test domain to B through its transport table; B
    holds the message (a `hold` access action) so the queue helpers see it; stop and close
    leave no process and no directory."""

    def setUp(self):
        reason = available()
        if reason:
            self.skipTest(reason)

    def test_two_instances_relay_and_clean_up(self):
        b = Postfix("selftest-b", main={"relay_domains": "b.test",
                                        "transport_maps": "hash:/etc/postfix/transport",
                                        "smtpd_recipient_restrictions":
                                            "check_recipient_access hash:/etc/postfix/hold"},
                    maps={"hold": "held@b.test HOLD\n", "transport": "b.test discard:\n"})
        self.addCleanup(b.close)
        a = Postfix("selftest-a", main={"relay_domains": "b.test",
                                        "transport_maps": "hash:/etc/postfix/transport",
                                        "smtpd_forbid_bare_newline": "yes"},
                    maps={"transport": "b.test smtp:[127.0.0.1]:%d\n" % b.port})
        self.addCleanup(a.close)
        self.assertEqual(a.postconf("-h", "transport_maps").strip(),
                         "hash:%s/transport" % a.config_dir)
        # From 127.0.0.2: a client outside mynetworks (127.0.0.1/32), as the Internet is.
        with socket.create_connection(("127.0.0.1", a.port), timeout=30,
                                      source_address=("127.0.0.2", 0)) as s:
            f = s.makefile("rwb")

            def say(line, code):
                if line:
                    f.write(line.encode() + b"\r\n")
                    f.flush()
                while True:
                    reply = f.readline()
                    if reply[3:4] != b"-":
                        break
                self.assertTrue(reply.startswith(code.encode()), (line, reply))

            say(None, "220")
            say("EHLO selftest", "250")
            say("MAIL FROM:<s@a.test>", "250")
            say("RCPT TO:<elsewhere@c.test>", "554")  # no open relay
            say("RCPT TO:<held@b.test>", "250")
            say("DATA", "354")
            say("Subject: self test\r\n\r\nhello\r\n.", "250")
            say("QUIT", "221")
        sent = wait_until(lambda: a.deliveries("sent"), 60, "delivery from a to b")
        self.assertEqual(sent[0]["relay"], "127.0.0.1[127.0.0.1]:%d" % b.port)
        a.wait_queue_empty()
        held = wait_until(b.queue, 60, "the held message in b's queue")
        self.assertEqual(held[0]["queue_name"], "hold")
        self.assertEqual(held[0]["recipients"][0]["address"], "held@b.test")
        b.flush()  # held mail stays held: flush only hurries deferred mail
        self.assertEqual(len(b.queue()), 1)
        self.assertTrue(a.processes())
        a.close()
        self.assertFalse(os.path.exists(a.dir))
        self.assertEqual(a.processes(), [])
        self.assertTrue(b.running)
        self.assertTrue(b.processes())


if __name__ == "__main__":
    unittest.main(verbosity=2)
