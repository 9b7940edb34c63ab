"""Integration harness: starts a real referentd on free ports and talks to it over sockets.

Contract: `Daemon` owns a temporary directory (config, spool, TLS files, the reply-token key
secret.key with mode 0600, log) and at most one referentd process. It writes a config from
keyword arguments, starts the binary, waits for "ready" (10 s), and learns the listeners'
ports from the "listening on" log lines, so every test uses port 0 and 127.0.0.1 only.
`stop()` sends SIGTERM and returns the exit code, `kill9()` simulates a crash, `restart()`
starts again on the same spool. `token()` mints a reply token with that key through
`referentctl token`. Processes are killed and directories removed on close(), at interpreter
exit, and (through setpriv's parent-death signal) when the test process itself dies.

`Client` is a raw SMTP/LMTP socket client: it sends bytes exactly as given (smtplib would
rewrite line endings) and reads whole multi-line replies with a timeout.

The binary comes from `--bin PATH` on the command line, else $REFERENT_BIN, else
build/bin/referentd or build-it/bin/referentd under the repository root. referentctl likewise
from $REFERENTCTL_BIN or the directory of referentd. Set REFERENT_IT_KEEP=1 to keep the
temporary directories (their paths are printed) and REFERENT_IT_VERBOSE=1 to print daemon logs.

Python 3 standard library only; every wait is a wait for a condition, with generous deadlines
for a loaded two-core machine.
"""

import atexit
import base64
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HOSTNAME = "mx.test.example"
CITIZEN_DOMAIN = "mairie-exemple.fr"
AGENT_DOMAIN = "agents.mairie-exemple.fr"
SERVICE = "etat-civil@" + CITIZEN_DOMAIN
READY_TIMEOUT = 10.0
REPLY_TIMEOUT = 15.0  # generous: a loaded 2-core machine, Debug build


def _binary_from_argv():
    """Removes `--bin PATH` from sys.argv (so unittest does not see it) and returns PATH."""
    argv = sys.argv
    for i, a in enumerate(argv[1:], start=1):
        if a == "--bin" and i + 1 < len(argv):
            path = argv[i + 1]
            del argv[i:i + 2]
            return path
        if a.startswith("--bin="):
            del argv[i]
            return a.split("=", 1)[1]
    return None


_ARGV_BIN = _binary_from_argv()


def referentd_path():
    candidates = [_ARGV_BIN, os.environ.get("REFERENT_BIN"),
                  os.path.join(REPO, "build", "bin", "referentd"),
                  os.path.join(REPO, "build-it", "bin", "referentd")]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return os.path.abspath(c)
    raise unittest.SkipTest("referentd not found: pass --bin PATH or set REFERENT_BIN")


def referentctl_path():
    c = os.environ.get("REFERENTCTL_BIN")
    if c and os.access(c, os.X_OK):
        return os.path.abspath(c)
    c = os.path.join(os.path.dirname(referentd_path()), "referentctl")
    if os.access(c, os.X_OK):
        return c
    raise unittest.SkipTest("referentctl not found: set REFERENTCTL_BIN")


def built_with_asan(path):
    """Whether the binary at `path` carries AddressSanitizer (its loads are scaled down)."""
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


def wait_until(predicate, timeout, what, interval=0.02):
    """Polls `predicate` until it returns a true value; raises AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def make_self_signed(directory):
    """A throw-away certificate and key (CN=test, 1 day) written into `directory`."""
    cert = os.path.join(directory, "tls.crt")
    key = os.path.join(directory, "tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                    "/CN=test", "-days", "1", "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    return cert, key


def client_tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # self-signed test certificate
    return ctx


def write_secret(path):
    """A fresh secret as `referentctl keygen` writes it: 64 random octets in hex, mode 0600
    (referentd refuses a key file that group or others can read)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(os.urandom(64).hex() + "\n")


TOKEN_RX = re.compile(r"^[a-z2-7]{32}$")


def flip_bit(token, bit):
    """`token` with one bit of its 20 decoded octets flipped, re-encoded in lower case."""
    raw = bytearray(base64.b32decode(token.upper()))
    raw[bit // 8] ^= 0x80 >> (bit % 8)
    return base64.b32encode(bytes(raw)).decode("ascii").lower()


def _yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


DEFAULT_LIMITS = {"idle_timeout": "2s", "shutdown_grace": "5s"}

_live = set()


@atexit.register
def _kill_leftovers():
    for d in list(_live):
        d.close()


class Daemon:
    """One referentd with its own temporary directory. Use as a context manager or close()."""

    def __init__(self, limits=None, tls=False, wrapper=None, start=True, name="it",
                 listen=None, processor_workers=0, relay=None, agents=None,
                 service_agents=None, trusted_authserv_ids=(), metrics=False,
                 agent_domain=AGENT_DOMAIN, store_dir=None):
        self.dir = tempfile.mkdtemp(prefix="referent-%s-" % name)
        # The SQLite store; `store_dir` puts it elsewhere (another file system), removed at close.
        self.store_dir = store_dir and tempfile.mkdtemp(prefix="referent-%s-" % name, dir=store_dir)
        self.store_path = os.path.join(self.store_dir or self.dir, "referent.db")
        self.spool = os.path.join(self.dir, "spool")
        self.config_path = os.path.join(self.dir, "referent.yaml")
        self.secret_path = os.path.join(self.dir, "secret.key")
        write_secret(self.secret_path)
        self._tokens = {}
        self.log_path = os.path.join(self.dir, "referentd.log")
        self.limits = dict(DEFAULT_LIMITS)
        self.limits.update(limits or {})
        self.tls_files = make_self_signed(self.dir) if tls else None
        self.wrapper = list(wrapper or [])
        self.listen = listen or [("127.0.0.1", 0, "smtp", "public"),
                                 ("127.0.0.1", 0, "lmtp", "internal")]
        # 0 holds mail in incoming/ (the protocol tests read it there); the flow tests run it.
        self.processor_workers = processor_workers
        self.relay = relay or "{ maildir: %s/outbox }" % self.dir
        self.agents = agents or [("helene", "Hélène Lefèvre", "helene@services." + CITIZEN_DOMAIN)]
        self.service_agents = service_agents or [a[0] for a in self.agents]
        self.trusted = list(trusted_authserv_ids)
        self.agent_domain = agent_domain  # the agents' reply addresses
        self.metrics = metrics  # serve /metrics on a free loopback port (metrics_port())
        self.proc = None
        self._expected_exit = False
        self.ports = {}  # role -> port
        self.lines = []  # every log line of every run, in order
        self._cond = threading.Condition()
        self._reader = None
        self._run_start = 0  # index in self.lines where the current run's log starts
        self.write_config()
        _live.add(self)
        if start:
            try:
                self.start()
            except BaseException:
                self.close()
                raise

    # -- configuration -------------------------------------------------------------------
    def config_text(self):
        lim = ", ".join("%s: %s" % (k, _yaml_scalar(v)) for k, v in self.limits.items())
        listen = "\n".join("    - { address: %s, port: %d, protocol: %s, role: %s }" % l
                           for l in self.listen)
        tls = ""
        if self.tls_files:
            tls = "  tls: { certificate: %s, key: %s }\n" % self.tls_files
        return (
            "gateway:\n"
            "  hostname: %(host)s\n"
            "  listen:\n%(listen)s\n"
            "%(tls)s"
            "  secret_files: [%(secret)s]\n"
            "%(trusted)s"
            "  spool: %(spool)s\n"
            "  limits: { %(lim)s }\n"
            "  processor_workers: %(workers)d\n"
            "store: { sqlite: %(db)s }\n"
            "relay: %(relay)s\n"
            "organisation: { name: Test, citizen_domain: %(cd)s, agent_domain: %(ad)s,"
            " templates: %(tpl)s }\n"
            "services:\n"
            "  - { id: etat-civil, name: État civil, address: %(svc)s, case_prefix: EC,"
            " agents: [%(agent_ids)s] }\n"
            "agents:\n%(agents)s"
            "ops: { metrics_listen: \"%(metrics)s\" }\n"
        ) % {"metrics": "127.0.0.1:0" if self.metrics else "","host": HOSTNAME, "listen": listen, "tls": tls, "db": self.store_path,
             "spool": self.spool, "lim": lim, "cd": CITIZEN_DOMAIN, "ad": self.agent_domain,
             "svc": SERVICE, "tpl": os.path.join(REPO, "templates"), "secret": self.secret_path,
             "workers": self.processor_workers, "relay": self.relay,
             "trusted": ("  trusted_authserv_ids: [%s]\n" % ", ".join(self.trusted)
                         if self.trusted else ""),
             "agent_ids": ", ".join(self.service_agents),
             "agents": "".join("  - { id: %s, name: %s, title: Officier d'état civil,"
                               " email: %s, phone: +33 1 23 45 67 89,"
                               " hours: du lundi au vendredi%s }\n"
                               % (a[0], a[1], a[2], (", " + a[3]) if len(a) > 3 else "")
                               for a in self.agents)}

    def write_config(self):
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(self.config_text())

    def token(self, purpose, case=1, party=1):
        """A reply token for this daemon's key: `referentctl token` (purpose citizen, agent
        or bounce). Each distinct token is minted once."""
        key = (purpose, case, party)
        if key not in self._tokens:
            p = subprocess.run([referentctl_path(), "-c", self.config_path, "token", "--purpose",
                                purpose, "--case", str(case), "--party", str(party)],
                               capture_output=True, text=True, timeout=60, cwd=self.dir)
            assert p.returncode == 0, "referentctl token: %r %s" % (p.returncode, p.stderr)
            token = p.stdout.rstrip("\n")
            assert TOKEN_RX.match(token), "not a token: %r" % p.stdout
            self._tokens[key] = token
        return self._tokens[key]

    # -- process -------------------------------------------------------------------------
    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def command(self):
        # setpriv: the daemon gets SIGKILL if this test process dies (CTest timeout, ^C).
        # fiu-run and setpriv both exec, so self.proc.pid is referentd's own pid.
        guard = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []
        return guard + self.wrapper + [referentd_path(), "-c", self.config_path]

    def start(self, timeout=READY_TIMEOUT):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        with self._cond:
            self._run_start = len(self.lines)
        self.ports = {}
        self._expected_exit = False
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     cwd=self.dir)
        self._reader = threading.Thread(target=self._read_log, args=(self.proc,), daemon=True)
        self._reader.start()
        try:
            self.wait_for_log(r"info referentd: ready$", timeout)
        except AssertionError:
            raise AssertionError("referentd did not become ready (exit %r)\n%s" %
                                 (self.proc.poll(), self.log_tail()))
        for line in self.run_lines():
            m = re.search(r"listening on 127\.0\.0\.1:(\d+) protocol=(\w+) role=(\w+)", line)
            if m:
                self.ports[m.group(3)] = int(m.group(1))
        return self

    def run_to_exit(self, *args, timeout=30.0):
        """Runs referentd with this config (plus `args`) expecting it to exit by itself:
        returns (exit code, stdout, stderr). Kills it and fails if it is still running."""
        cmd = self.command() + list(args)
        with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=self.dir) as p:
            try:
                out, err = p.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
                raise AssertionError("referentd did not exit within %.0fs:\n%s" %
                                     (timeout, err.decode("utf-8", "replace")))
        return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    def _read_log(self, proc):
        with open(self.log_path, "a", encoding="utf-8", errors="replace") as log:
            for raw in proc.stderr:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                log.write(line + "\n")
                log.flush()
                with self._cond:
                    self.lines.append(line)
                    self._cond.notify_all()
        proc.stderr.close()
        with self._cond:
            self._cond.notify_all()

    def run_lines(self):
        """Log lines of the current (or last) run."""
        with self._cond:
            return self.lines[self._run_start:]

    def log_tail(self, n=40):
        return "\n".join(["--- referentd log (%s) ---" % self.log_path] + self.lines[-n:])

    def wait_for_log(self, pattern, timeout=REPLY_TIMEOUT, since=None):
        """Waits for a log line of this run matching `pattern` (re.search); returns the match.
        `since`: only lines at index >= since in self.lines."""
        rx = re.compile(pattern)
        start = self._run_start if since is None else since
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines[start:]:
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                reader_done = self._reader is not None and not self._reader.is_alive()
                if left <= 0 or reader_done:
                    raise AssertionError("no log line matching %r\n%s" %
                                         (pattern, self.log_tail()))
                self._cond.wait(min(left, 0.5))

    def log_mark(self):
        with self._cond:
            return len(self.lines)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _wait_exit(self, timeout):
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("referentd (pid %d) still running after %.0fs\n%s" %
                                 (self.proc.pid, timeout, self.log_tail()))
        if self._reader:
            self._reader.join(5)
        return code

    def signal(self, signo):
        if signo in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
            self._expected_exit = True
        self.proc.send_signal(signo)

    def stop(self, timeout=30.0):
        """SIGTERM and wait: returns the exit code."""
        self._expected_exit = True
        if not self.running():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        return self._wait_exit(timeout)

    def kill9(self):
        self._expected_exit = True
        if self.running():
            self.proc.kill()
        return self._wait_exit(10)

    def restart(self):
        if self.running():
            self.stop()
        return self.start()

    def close(self):
        if self.proc is not None and self.proc.poll() is not None and not self._expected_exit:
            sys.stderr.write("referentd exited unexpectedly with %r\n%s\n" %
                             (self.proc.returncode, self.log_tail(80)))
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if os.environ.get("REFERENT_IT_VERBOSE"):
            sys.stderr.write(self.log_tail(200) + "\n")
        _live.discard(self)
        if os.environ.get("REFERENT_IT_KEEP"):
            sys.stderr.write("kept %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
            if self.store_dir:
                shutil.rmtree(self.store_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- observations --------------------------------------------------------------------
    def metrics_port(self):
        return int(self.wait_for_log(r"metrics on 127\.0\.0\.1:0 port=(\d+)").group(1))

    def port(self, role="public"):
        return self.ports[role]

    def assert_alive(self):
        if self.proc is None or self.proc.poll() is None or self._expected_exit:
            return
        raise AssertionError("referentd died (exit %r)\n%s" % (self.proc.returncode,
                                                               self.log_tail(80)))

    def client(self, role="public", **kw):
        self.assert_alive()
        return Client(self.port(role), **kw)

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def files(self, sub):
        d = os.path.join(self.spool, sub)
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def incoming_ids(self):
        return sorted(n[:-4] for n in self.files("incoming") if n.endswith(".env"))

    def message_bytes(self, spool_id, sub="incoming"):
        with open(os.path.join(self.spool, sub, spool_id + ".msg"), "rb") as f:
            return f.read()

    def envelope(self, spool_id, sub="incoming"):
        with open(os.path.join(self.spool, sub, spool_id + ".env"), "rb") as f:
            return parse_envelope(f.read())


def parse_envelope(data):
    """The envelope file as a dict; 'rcpt' is a list. Raises AssertionError when malformed."""
    text = data.decode("utf-8")
    lines = text.split("\n")
    assert lines[0] == "referent-envelope 1", "bad first line %r" % lines[0]
    assert lines[-1] == "", "envelope does not end with a newline"
    env = {"rcpt": []}
    for line in lines[1:-1]:
        key, sep, value = line.partition(": ")
        if not sep and line.endswith(":"):
            key, value = line[:-1], ""
        assert key, "bad envelope line %r" % line
        if key == "rcpt":
            env["rcpt"].append(value)
        else:
            assert key not in env, "duplicate key %r" % key
            env[key] = value
    return env


RECEIVED_RX = re.compile(
    rb"\AReceived: from (?P<helo>[^\r\n]*) \(\[(?P<ip>[^\]\r\n]*)\]\)\r\n"
    rb"\tby (?P<by>\S+) \(Referent\) with (?P<proto>\S+) id (?P<id>[0-9A-Za-z]+)"
    rb"(?:\r\n\tfor <(?P<for>[^>\r\n]*)>)?; (?P<date>[^\r\n]+)\r\n")


def split_received(stored):
    """(match of our Received: header, the message bytes after it)."""
    m = RECEIVED_RX.match(stored)
    assert m, "stored message does not start with our Received header: %r" % stored[:300]
    return m, stored[m.end():]


# -- raw client ----------------------------------------------------------------------------

class Reply:
    def __init__(self, code, lines, raw):
        self.code = code    # int
        self.lines = lines  # text after "NNN-" / "NNN " on each line
        self.raw = raw      # bytes as received, CRLFs included

    @property
    def text(self):
        return "\n".join(self.lines)

    def __repr__(self):
        return "Reply(%r)" % self.raw


class ConnectionClosed(AssertionError):
    pass


class Client:
    """A raw socket to a listener. send() writes bytes as given, in one sendall()."""

    def __init__(self, port, host="127.0.0.1", timeout=REPLY_TIMEOUT, source=None,
                 greeting=True):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False
        try:
            self.greeting = self.recv_reply() if greeting else None
        except BaseException:  # a refused or cut greeting: the caller never gets the socket
            self.sock.close()
            raise

    @property
    def local_port(self):
        return self.sock.getsockname()[1]

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no complete reply within %.1fs; have %r" %
                                 (self.timeout, self.buf[:200]))
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
        self.buf += chunk

    def recv_reply(self, timeout=None):
        """Reads one whole reply (all its "NNN-" lines and the final "NNN " line)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        lines, raws, code = [], [], None
        while True:
            nl = self.buf.find(b"\r\n")
            if nl < 0:
                if self.eof:
                    raise ConnectionClosed("connection closed; partial reply %r" %
                                           (b"".join(raws) + self.buf))
                self._fill(deadline)
                continue
            raw, self.buf = self.buf[:nl + 2], self.buf[nl + 2:]
            line = raw[:-2].decode("utf-8", "replace")
            m = re.match(r"^(\d{3})([ -]|$)(.*)$", line)
            assert m, "malformed reply line %r" % raw
            if code is not None:
                assert int(m.group(1)) == code, "reply code changed mid-reply: %r" % raw
            code = int(m.group(1))
            lines.append(m.group(3))
            raws.append(raw)
            if m.group(2) != "-":
                return Reply(code, lines, b"".join(raws))

    def expect(self, code, enhanced=None, timeout=None):
        r = self.recv_reply(timeout)
        assert r.code == code, "expected %d, got %r" % (code, r.raw)
        if enhanced is not None:
            assert r.lines[0].startswith(enhanced + " ") or r.lines[0] == enhanced, \
                "expected %d %s, got %r" % (code, enhanced, r.raw)
        return r

    def cmd(self, line, code=None, enhanced=None):
        """Sends one command line (CRLF added) and reads its reply."""
        self.send(line + "\r\n")
        return self.expect(code, enhanced) if code is not None else self.recv_reply()

    def wait_closed(self, timeout=None):
        """Asserts the server closes the connection without sending anything more, then
        closes our side (the server lingers, reading, until we do)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.eof:
            self._fill(deadline)
        assert self.buf == b"", "unexpected bytes before close: %r" % self.buf[:300]
        self.close()

    def nothing_pending(self, wait=0.0):
        """True when no byte is buffered or readable (after at most `wait` seconds)."""
        if self.buf:
            return False
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return False
        r, _, _ = select.select([self.sock], [], [], wait)
        return not r

    def starttls(self):
        """Upgrades the socket to TLS after a 220 to STARTTLS (caller sends STARTTLS)."""
        assert self.buf == b"", "plaintext after the STARTTLS reply: %r" % self.buf
        raw = self.sock
        raw.settimeout(self.timeout)
        self.sock = client_tls_context().wrap_socket(raw, server_hostname=None)
        return self.sock

    # The usual prefix of a transaction.
    def ehlo(self, name="t", lmtp=False):
        return self.cmd(("LHLO " if lmtp else "EHLO ") + name, 250)

    def mail(self, sender="a@example.org", params="", code=250):
        return self.cmd("MAIL FROM:<%s>%s" % (sender, params), code)

    def rcpt(self, rcpt=SERVICE, code=250):
        return self.cmd("RCPT TO:<%s>" % rcpt, code)

    def data(self):
        return self.cmd("DATA", 354)

    def send_message(self, content, rcpts=(SERVICE,), sender="a@example.org", ehlo=True):
        """EHLO (optional), MAIL, RCPT..., DATA, content (already dot-stuffed, with its final
        CRLF.CRLF) and returns the final reply."""
        if ehlo:
            self.ehlo()
        self.mail(sender)
        for r in rcpts:
            self.rcpt(r)
        self.data()
        self.send(content)
        return self.recv_reply()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


QUEUED_RX = re.compile(r"Ok: queued as ([0-9A-Za-z]+)$")


def queued_id(reply):
    """The spool id of a "250 2.0.0 Ok: queued as ID" reply (LMTP: "<rcpt> Ok: ...")."""
    assert reply.code == 250, "not accepted: %r" % reply.raw
    m = QUEUED_RX.search(reply.lines[0])
    assert m, "no spool id in %r" % reply.raw
    return m.group(1)


class DaemonTestCase(unittest.TestCase):
    """One daemon for the whole class (started in setUpClass, always closed)."""

    daemon_kwargs = {}
    daemon = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.daemon = Daemon(name=cls.__name__, **cls.daemon_kwargs)
        cls.addClassCleanup(cls.daemon.close)

    def tearDown(self):
        self.daemon.assert_alive()  # a crash shows here, with the log, not as later refusals
        super().tearDown()

    def connect(self, role="public", **kw):
        c = self.daemon.client(role, **kw)
        self.addCleanup(c.close)
        return c

    def incoming_count(self):
        return len(self.daemon.incoming_ids())


def main():
    """unittest.main() with `--bin PATH` already taken out of argv."""
    unittest.main(verbosity=2)
