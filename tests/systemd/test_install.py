#!/usr/bin/env python3
"""`cmake --install` of this build puts every file in its FHS place.

Staged as a package (DESTDIR=TMP, --prefix /usr): /usr/sbin/referentd and referentctl,
/usr/lib/systemd/system/referentd.service (the unit as shipped),
/usr/lib/sysusers.d/referent.conf, /etc/referent/referent.yaml (naming the installed
templates), /usr/share/referent/templates/..., /usr/share/doc/referent/README.md, and nothing
else. Installed under another prefix: every file stays under it, the unit's ExecStart= and -c
name the installed binary and configuration (systemd-analyze verify accepts it), and a second
install keeps an edited configuration.

$CMAKE_COMMAND and $REFERENT_BUILD_DIR come from CTest (else cmake and build/).
"""

import os
import shutil
import stat
import subprocess
import tempfile
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CMAKE = os.environ.get("CMAKE_COMMAND", "cmake")
BUILD = os.environ.get("REFERENT_BUILD_DIR", os.path.join(REPO, "build"))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def tree(root):
    """Every file and symlink under `root`, as paths relative to it."""
    out = set()
    for d, _, files in os.walk(root):
        for name in files:
            out.add(os.path.relpath(os.path.join(d, name), root))
    return out


def installed_config(templates):
    """config/referent.yaml as installed: organisation.templates names the installed copy
    (the relative default would be looked up in the service's working directory)."""
    source = read(os.path.join(REPO, "config", "referent.yaml"))
    line = b"\n  templates: templates "
    assert source.count(line) == 1, "config/referent.yaml: no single %r line" % line
    return source.replace(line, b"\n  templates: " + templates.encode() + b" ")


def repo_files(sub):
    return sorted(tree(os.path.join(REPO, sub)))


class Install(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="referent-install-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def install(self, prefix, destdir=None):
        env = dict(os.environ)
        env.pop("DESTDIR", None)
        if destdir is not None:
            assert os.path.isabs(destdir) and destdir != "/"  # never the real /usr
            env["DESTDIR"] = destdir
        p = subprocess.run([CMAKE, "--install", BUILD, "--prefix", prefix], env=env,
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def assert_executable(self, path):
        mode = os.stat(path).st_mode
        self.assertTrue(stat.S_ISREG(mode) and mode & 0o111, path)

    def test_package_layout_with_prefix_usr(self):
        stage = os.path.join(self.tmp, "stage")
        self.install("/usr", destdir=stage)
        want = {
            "usr/sbin/referentd": None,
            "usr/sbin/referentctl": None,
            "usr/lib/systemd/system/referentd.service": "systemd/referentd.service",
            "usr/lib/sysusers.d/referent.conf": "systemd/referent.sysusers",
            "etc/referent/referent.yaml": "config/referent.yaml",
            "usr/share/doc/referent/README.md": "README.md",
        }
        for t in repo_files("templates"):
            want[os.path.join("usr/share/referent/templates", t)] = os.path.join("templates", t)
        self.assertEqual(sorted(tree(stage)), sorted(want))
        for installed, source in want.items():
            with self.subTest(file=installed):
                path = os.path.join(stage, installed)
                if source is None:
                    self.assert_executable(path)
                elif installed.endswith(".yaml"):
                    self.assertEqual(read(path), installed_config("/usr/share/referent/templates"))
                else:  # prefix /usr: the unit is the shipped file, byte for byte
                    self.assertEqual(read(path), read(os.path.join(REPO, source)))

    def test_other_prefix_keeps_everything_under_it_and_the_unit_names_it(self):
        prefix = os.path.join(self.tmp, "opt", "referent")
        self.install(prefix)
        files = tree(self.tmp)
        self.assertTrue(files)
        for f in files:
            self.assertTrue(os.path.join(self.tmp, f).startswith(prefix + os.sep), f)

        unit = os.path.join(prefix, "lib/systemd/system/referentd.service")
        config = os.path.join(prefix, "etc/referent/referent.yaml")
        text = read(unit).decode("utf-8")
        self.assertIn("\nExecStart=%s/sbin/referentd -c %s\n" % (prefix, config), text)
        self.assertIn("\nExecStartPre=%s/sbin/referentd -c %s --check-config\n" %
                      (prefix, config), text)
        self.assertIn("Documentation=file://%s/share/doc/referent/README.md" % prefix, text)
        self.assertNotIn("/usr/sbin/referentd", text)
        self.assert_executable(os.path.join(prefix, "sbin/referentd"))
        templates = os.path.join(prefix, "share/referent/templates")
        self.assertEqual(read(config), installed_config(templates))
        self.assertTrue(os.path.isdir(os.path.join(templates, "fr")))
        self.assertTrue(os.path.isfile(os.path.join(prefix, "share/doc/referent/README.md")))

        analyze = shutil.which("systemd-analyze")
        if analyze:
            p = subprocess.run([analyze, "verify", "--man=no", unit], capture_output=True,
                               text=True, timeout=120)
            self.assertEqual((p.returncode, p.stderr), (0, ""))

        # An operator's configuration survives a reinstall (an upgrade by hand).
        with open(config, "a", encoding="utf-8") as f:
            f.write("# edited by the operator\n")
        out = self.install(prefix)
        self.assertIn("Keeping: %s" % config, out)
        self.assertTrue(read(config).endswith(b"# edited by the operator\n"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
