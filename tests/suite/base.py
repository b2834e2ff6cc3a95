"""The runner's core: the results, what each test gets (Test), and what
every subject shares (Base): the binaries, starting a tracer, a scenario
under a tracer, and the failure report of a scenario test."""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from .checks import Session, jline
from .common import TestFailure, TestSkip, san_env, testlib
from .procs import Scenario, Tracer


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def ok(self, name, detail=None):
        with self.lock:
            self.passed += 1
            print("PASS %s%s" % (name, " (%s)" % detail if detail else ""), flush=True)

    def fail(self, name, reason, details=()):
        with self.lock:
            self.failed += 1
            print("FAIL %s: %s" % (name, reason))
            for d in list(details)[:60]:
                for line in str(d).splitlines() or [""]:
                    print("    %s" % line[:400])
            sys.stdout.flush()

    def skip(self, name, why):
        with self.lock:
            self.skipped += 1
            print("SKIP %s: %s" % (name, why), flush=True)

    def summary(self):
        s = "%d passed, %d failed" % (self.passed, self.failed)
        if self.skipped:
            s += ", %d skipped" % self.skipped
        return s


class Test:
    """What a test function gets: its name, a directory of its own, and
    scopes.  What a scope owns (own(), netns()) is closed when the scope
    ends, however it ends; what explains a failure (explain()) is added to
    a TestFailure that leaves it.  The test's whole body is one scope; a
    helper opens its own (with t.scope():) to release its processes and
    namespace before the test goes on."""

    def __init__(self, name, workdir):
        self.name = name
        self.workdir = workdir
        self._scopes = []

    @contextlib.contextmanager
    def scope(self):
        explain = []
        with contextlib.ExitStack() as stack:
            self._scopes.append((stack, explain))
            try:
                yield
            except TestFailure as e:
                for fn in explain:
                    e.details += [l for l in fn() if l not in e.details]
                raise
            finally:
                self._scopes.pop()

    def own(self, thing, release=None):
        """release(thing) (default: thing.close()) when the current scope
        ends; returns thing."""
        if release:
            self.later(release, thing)
        else:
            self.later(thing.close)
        return thing

    def later(self, fn, *args):
        """fn(*args) when the current scope ends."""
        self._scopes[-1][0].callback(fn, *args)

    def explain(self, fn):
        """fn() (lines) goes with any TestFailure out of the current scope."""
        self._scopes[-1][1].append(fn)

    def netns(self, sysctls=()):
        """A fresh network namespace (lo up, sysctls set), owned."""
        return self.own(testlib.Netns(prefix="tl-", sysctls=sysctls))

    def path(self, *parts):
        return os.path.join(self.workdir, *parts)


def test_methods(cls):
    """(name, method name) of cls's own t_NAME methods, in source order."""
    return [(k[2:], k) for k, v in vars(cls).items() if k.startswith("t_") and callable(v)]


class Base:
    """Shared by every subject (a mixin of Suite)."""

    # Tests that take minutes: run in a thread alongside the others,
    # skipped with --no-long.
    LONG = ()

    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.san = os.path.abspath(args.san_build)
        self.results = Results()
        self.workroot = tempfile.mkdtemp(prefix="tcplinger-tests-")

    # -- what a test needs

    def scen_bin(self, name):
        p = os.path.join(self.build, "tests", "scen_" + name)
        if not os.access(p, os.X_OK):
            raise TestFailure("scenario binary missing: %s" % p)
        return p

    @staticmethod
    def comm_of(name):
        return ("scen_" + name)[:15]

    def tracer_bin(self, sanitized):
        return os.path.join(self.san if sanitized else self.build, "tcplinger")

    def selected(self, name):
        return not self.args.k or self.args.k in name

    def start_scenario(self, t, ns, prog, args=(), stdin_pipe=False, pre=()):
        """scen_PROG ARGS in ns (pre: argv before it, e.g. env), owned by t."""
        argv = ns.cmd(list(pre) + [self.scen_bin(prog)] + list(args))
        return t.own(Scenario(argv, stdin_pipe=stdin_pipe))

    def run_tool(self, argv, timeout, **kw):
        """argv with the sanitizers' environment, output captured; fails if
        it runs past timeout."""
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                  env=san_env(), stdin=subprocess.DEVNULL, **kw)
        except subprocess.TimeoutExpired:
            raise TestFailure("did not exit within %d s: %s" % (timeout, " ".join(argv)))

    def unpriv_dir(self, t):
        """A world-readable dir for files uid 65534 must read."""
        if not shutil.which("setpriv"):
            raise TestSkip("setpriv not installed")
        d = tempfile.mkdtemp(prefix="unpriv-", dir=t.workdir)
        for p in (self.workroot, t.workdir, d):
            os.chmod(p, 0o755)
        return d

    def binary_copy(self, d, sanitized=True):
        """A copy of the tracer in d (from unpriv_dir), for uid 65534 to run."""
        src = self.tracer_bin(sanitized)
        if not os.access(src, os.X_OK):
            raise TestFailure("tracer binary missing: %s" % src)
        binary = os.path.join(d, "tcplinger")
        if not os.path.exists(binary):
            shutil.copy(src, binary)
            os.chmod(binary, 0o755)
        return binary

    def tracer(self, t, ns, sanitized=True, args=None, duration=60, extra=(), tag="tracer",
               name="tracer", json_out=True):
        """A tracer on ns, owned by t and explaining t's failures, not started
        yet: `tcplinger --json --events --netns INODE -d DURATION EXTRA`, or
        `tcplinger ARGS` when args is given."""
        if args is None:
            args = ["--json", "--events", "--netns", str(ns.inode), "-d", str(duration)]
            args += list(extra)
        tr = t.own(Tracer(self.tracer_bin(sanitized), args, t.workdir, sanitized,
                          tag=tag, name=name, json_out=json_out))
        t.explain(tr.stderr_tail)
        return tr

    def scenario(self, t, scen, scen_args=(), sysctls=(), sanitized=True,
                 duration=60, drive=None, stdin_pipe=False, settle=0.4):
        """Netns + tracer + scenario; drive(sc, ns, tracer) runs the
        scenario's course and returns a dict of extra facts; the tracer is
        stopped afterwards, everything ended before this returns.
        Returns (Session, scenario, extra, tracer)."""
        with t.scope():
            ns = t.netns(sysctls)
            self.scen_bin(scen)
            tracer = self.tracer(t, ns, sanitized, duration=duration)
            tracer.start()
            sc = self.start_scenario(t, ns, scen, scen_args, stdin_pipe=stdin_pipe)
            extra = {}
            if drive:
                extra = drive(sc, ns, tracer) or {}
            else:
                sc.finish()
            if tracer.t_stop is None:
                time.sleep(settle)
                tracer.stop()
            extra.setdefault("t_stop", tracer.t_stop)
            return Session(tracer.records, ns.inode), sc, extra, tracer

    def verdict(self, ck, sess, tracer, sc=None, lcs=None):
        if not ck.errors:
            return
        d = list(ck.errors)
        shown = lcs if lcs is not None else sess.lifecycles
        d.append("lifecycle lines (%d in all):" % len(sess.lifecycles))
        d += ["  " + jline(lc) for lc in shown[:8]]
        if sess.summaries:
            d.append("summary: " + jline(sess.summaries[-1]))
        if sc:
            d += sc.details()
        d += tracer.stderr_tail(8)
        raise TestFailure(ck.errors[0], d)

    # -- running

    def tests(self):
        """[(name, function of a Test)] of every subject, in its order."""
        return []

    def run_test(self, name, fn):
        if not self.selected(name):
            return
        t = Test(name, tempfile.mkdtemp(prefix=name + "-", dir=self.workroot))
        try:
            with t.scope():
                detail = fn(t)
        except TestSkip as e:
            self.results.skip(name, str(e))
        except TestFailure as e:
            self.results.fail(name, e.reason, e.details)
        except Exception as e:  # a bug in the test itself is a failure too
            self.results.fail(name, "exception %s: %s" % (type(e).__name__, e),
                              traceback.format_exc().splitlines()[-8:])
        else:
            self.results.ok(name, detail if isinstance(detail, str) else None)

    def main(self):
        print("# unit tests", flush=True)
        self.unit_tests()
        if os.geteuid() != 0:
            self.results.fail("scenarios", "the scenario tests need root (network namespaces, BPF)")
            return
        print("# scenario tests (tracer: %s, churn: %s)" % (
            self.tracer_bin(True), self.tracer_bin(False)), flush=True)
        tests = self.tests()
        long_ones = [(n, fn) for n, fn in tests if n in self.LONG and self.selected(n)]
        threads = []
        for name, fn in long_ones:
            if self.args.no_long:
                self.results.skip(name, "--no-long")
                continue
            th = threading.Thread(target=self.run_test, args=(name, fn), name=name)
            th.start()
            threads.append(th)
        try:
            for name, fn in tests:
                if name not in self.LONG:
                    self.run_test(name, fn)
        finally:
            for th in threads:
                th.join(200)
                if th.is_alive():
                    self.results.fail(th.name, "test thread still running after 200 s")

    def cleanup(self):
        if self.results.failed or self.args.keep:
            print("# tracer outputs kept in %s" % self.workroot)
        else:
            shutil.rmtree(self.workroot, ignore_errors=True)
