"""Unit tests: every <build>/tests/test_* and <san-build>/tests/test_*
binary; each "ok NAME" / "not ok NAME" line it prints is one test, named
BUILD/BINARY/NAME."""

import glob
import os
import re
import subprocess

from .common import ROOT, SANITIZER_RE, san_env


class Unit:
    def unit_tests(self):
        sources = sorted(glob.glob(os.path.join(ROOT, "tests", "unit", "test_*.c")))
        names = [os.path.basename(s)[:-2] for s in sources]
        for build in (self.build, self.san):
            tag = os.path.basename(build.rstrip("/"))
            sanitized = build == self.san
            found = sorted(p for p in glob.glob(os.path.join(build, "tests", "test_*"))
                           if os.access(p, os.X_OK) and not p.endswith(".d"))
            have = {os.path.basename(p) for p in found}
            for n in names:
                if n not in have and self.selected("%s/%s" % (tag, n)):
                    self.results.fail("%s/%s" % (tag, n), "unit-test binary not built")
            for path in found:
                self.unit_binary(tag, path, sanitized)

    def unit_binary(self, tag, path, sanitized):
        prefix = "%s/%s" % (tag, os.path.basename(path))
        try:
            r = subprocess.run([path], capture_output=True, text=True, timeout=300,
                               env=san_env(sanitized), stdin=subprocess.DEVNULL, cwd=ROOT)
        except subprocess.TimeoutExpired:
            if self.selected(prefix):
                self.results.fail(prefix, "timed out after 300 s")
            return
        err = r.stderr.splitlines()
        counted_ok = counted_bad = 0
        final = None
        for line in r.stdout.splitlines():
            m = re.match(r"^(not ok|ok) (\S+)", line)
            if m:
                name = "%s/%s" % (prefix, m.group(2))
                if m.group(1) == "ok":
                    counted_ok += 1
                    if self.selected(name):
                        self.results.ok(name)
                else:
                    counted_bad += 1
                    if self.selected(name):
                        self.results.fail(name, "not ok", err[-20:])
                continue
            m = re.match(r"^(\d+) passed, (\d+) failed$", line)
            if m:
                final = (int(m.group(1)), int(m.group(2)))
        if not self.selected(prefix):
            return
        problems = []
        if final is None:
            problems.append("no final 'N passed, N failed' line")
        elif final != (counted_ok, counted_bad):
            problems.append("final line says %d/%d, counted %d/%d" % (
                final + (counted_ok, counted_bad)))
        if r.returncode != (1 if counted_bad else 0):
            problems.append("exit status %d" % r.returncode)
        if sanitized and SANITIZER_RE.search(r.stderr):
            problems.append("sanitizer report")
        if counted_ok + counted_bad == 0:
            problems.append("no tests ran")
        if problems:
            self.results.fail(prefix, "; ".join(problems),
                              ["stdout: " + l for l in r.stdout.splitlines()[-5:]] +
                              ["stderr: " + l for l in err[-25:]])
