"""A private PostgreSQL server that a test may restart: initdb in a temporary directory, TCP on
127.0.0.1 only on a free port, trust authentication for the role "referent", database
referent_test, fsync on (as script/with-postgres, whose shared server a test must not restart).
As root the server runs as the postgres system user (PostgreSQL refuses root).

`PgServer()` raises unittest.SkipTest when there is no PostgreSQL 15 (PG_BINDIR overrides
/usr/lib/postgresql/15/bin) or no postgres user to run it as root. `restart(mode)` is
`pg_ctl restart -m fast|immediate` (waits for the server to accept connections again);
`query(sql)` runs psql and returns the rows as lists of strings. `close()` stops the server
and removes the directory; a watcher process does the same if the test process dies first
(a CTest timeout), as the postmaster is no child of ours once pg_ctl started it.

Python 3 standard library only.
"""

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

BINDIR = os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin")
START_TIMEOUT = 90  # seconds: a loaded two-core machine


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PgServer:
    def __init__(self):
        for tool in ("initdb", "pg_ctl", "postgres", "psql"):
            if not os.access(os.path.join(BINDIR, tool), os.X_OK):
                raise unittest.SkipTest("no PostgreSQL server in %s (script/bootstrap)" % BINDIR)
        self.run_as = []
        if os.geteuid() == 0:
            if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
                raise unittest.SkipTest("running as root and there is no postgres user")
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self.dir = tempfile.mkdtemp(prefix="referent-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.port = None
        atexit.register(self.close)
        try:
            if self.run_as:
                shutil.chown(self.dir, "postgres", "postgres")
            self._server_cmd(["initdb", "-D", self.data, "-A", "trust", "-U", "referent",
                              "-E", "UTF8", "--locale=C", "--no-sync"], timeout=120)
            with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
                f.write("\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"
                        "fsync = on\n" % self.dir)
            self._start()
            self._watch()
            self.query("CREATE DATABASE referent_test", db="postgres")
        except BaseException:
            self.close()
            raise

    @property
    def conninfo(self):
        return "host=127.0.0.1 port=%d dbname=referent_test user=referent" % self.port

    def _server_cmd(self, args, timeout=START_TIMEOUT):
        p = subprocess.run(self.run_as + [os.path.join(BINDIR, args[0])] + args[1:],
                           cwd=self.dir, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise AssertionError("%s failed (%d): %s%s\n%s" % (args[0], p.returncode, p.stdout,
                                                              p.stderr, self.log_tail()))
        return p

    def _start(self):
        last = None
        for _ in range(5):  # the port found free may be taken before the server binds it
            self.port = _free_port()
            try:
                self._server_cmd(["pg_ctl", "-D", self.data, "-l", self.log, "-w",
                                  "-t", str(START_TIMEOUT), "-o", "-p %d" % self.port, "start"])
                return
            except AssertionError as e:
                last = e
        raise last

    def _watch(self):
        # Stops the server and removes the directory once this process is gone, however it
        # ends. The watcher is orphaned at once (started in the background by a shell that
        # exits): CTest, at a timeout, kills the test's descendants too, and the watcher with
        # them would leave the server running.
        # Once close() removed the directory, it has nothing left to do.
        pg_ctl = os.path.join(BINDIR, "pg_ctl")
        script = ('while kill -0 %d 2>/dev/null && [ -d %s ]; do sleep 1; done; '
                  '[ -d %s ] && { %s %s -D %s -m immediate -w -t 20 stop; rm -rf %s; }'
                  % (os.getpid(), self.dir, self.dir, " ".join(self.run_as), pg_ctl, self.data,
                     self.dir))
        subprocess.run(["sh", "-c", "(%s) </dev/null >/dev/null 2>&1 &" % script],
                       cwd="/", check=True, timeout=30)

    def restart(self, mode):
        """pg_ctl restart -m MODE, on the same port; returns once it accepts connections."""
        self._server_cmd(["pg_ctl", "-D", self.data, "-l", self.log, "-m", mode, "-w",
                          "-t", str(START_TIMEOUT), "-o", "-p %d" % self.port, "restart"])

    def query(self, sql, db="referent_test"):
        p = subprocess.run([os.path.join(BINDIR, "psql"), "-X", "-q", "-A", "-t", "-F", "\t",
                            "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", "referent", "-d", db, "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("psql %r: %s" % (sql, p.stderr))
        return [line.split("\t") for line in p.stdout.splitlines() if line]

    def log_tail(self, n=20):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def close(self):
        if self.dir is None:
            return
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run(self.run_as + [os.path.join(BINDIR, "pg_ctl"), "-D", self.data,
                                          "-m", "immediate", "-w", "-t", "30", "stop"],
                           cwd=self.dir, capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
