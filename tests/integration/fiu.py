"""libfiu for the fault tests: referentd runs under `fiu-run -x` (the POSIX preload library)
and failpoints are switched at run time with `fiu-ctrl` through a FIFO in the daemon's
directory. failinfo pins errno (EIO by default), so a failure never looks like a retryable
EINTR.

    @fiu.usable
    class T(unittest.TestCase):
        def setUp(self):
            self.d = Daemon(start=False, ...)
            self.addCleanup(self.d.close)
            self.points = fiu.start(self, self.d)   # started, preload checked
            self.points.enable(fiu.FSYNC)           # disabled again at cleanup

`usable` skips a class when fiu-run/fiu-ctrl are missing or referentd is built with ASan:
fiu_posix_preload.so also wraps malloc, ASan's interceptors call malloc (through dlsym) before
libfiu has resolved the real one, and the process dies with SIGSEGV before main(). The fault
tests therefore run on the normal build only.
"""

import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import built_with_asan  # noqa: E402

WRITE = "posix/io/rw/write"
PWRITE = "posix/io/rw/pwrite"
FDATASYNC = "posix/io/sync/fdatasync"
FSYNC = "posix/io/sync/fsync"  # file and directory fsyncs alike
RENAME = "posix/io/dir/rename"
EIO, ENOSPC = 5, 28


def usable(cls):
    """Class decorator: skip unless libfiu's tools are installed and referentd is not ASan."""
    cls = unittest.skipUnless(shutil.which("fiu-run") and shutil.which("fiu-ctrl"),
                              "fiu-run/fiu-ctrl not installed (Debian fiu-utils)")(cls)
    set_up_class = cls.setUpClass.__func__

    def setUpClass(klass):
        set_up_class(klass)
        if built_with_asan(harness.referentd_path()):
            raise unittest.SkipTest("libfiu's POSIX preload cannot run an ASan binary")

    cls.setUpClass = classmethod(setUpClass)
    return cls


class Failpoints:
    """The failpoints of one running daemon; the test case's cleanup disables what is left."""

    def __init__(self, test, daemon, fifo):
        self.test, self.d, self.fifo = test, daemon, fifo
        self.enabled = set()
        test.addCleanup(self.disable_all)

    def command(self, text):
        p = subprocess.run(["fiu-ctrl", "-f", self.fifo, "-c", text, str(self.d.pid)],
                           capture_output=True, text=True, timeout=30)
        self.test.assertEqual(p.returncode, 0, "fiu-ctrl %r: %s" % (text, p.stdout + p.stderr))

    def enable(self, name, errno=EIO, probability=None):
        if probability is None:
            self.command("enable name=%s,failinfo=%d" % (name, errno))
        else:
            self.command("enable_random name=%s,probability=%s,failinfo=%d"
                         % (name, probability, errno))
        self.enabled.add(name)

    def disable(self, name):
        self.command("disable name=%s" % name)
        self.enabled.discard(name)

    def disable_all(self):
        if self.d.running():
            for name in list(self.enabled):
                self.disable(name)

    def check_preloaded(self):
        with open("/proc/%d/maps" % self.d.pid) as f:
            maps = f.read()
        # Without the preload, every "failure" would silently succeed.
        self.test.assertIn("fiu_posix_preload.so", maps, "fiu-run -x did not preload libfiu")


def start(test, daemon):
    """Starts `daemon` (made with start=False) under fiu-run; its Failpoints."""
    fifo = os.path.join(daemon.dir, "fiu-ctrl")
    daemon.wrapper = ["fiu-run", "-x", "-f", fifo]
    points = Failpoints(test, daemon, fifo)
    daemon.start()
    points.check_preloaded()
    return points
