#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""tcplinger test runner (stdlib only).

  python3 tests/run_tests.py --build .output --san-build .output-san [-k SUBSTR] [--no-long] [--keep]

1. Unit tests: every <build>/tests/test_* and <san-build>/tests/test_*
   binary; each "ok NAME" / "not ok NAME" line it prints is one test.
2. Scenario tests on the real kernel: each in a network namespace of its
   own (ip netns add tl-<random>), traffic over loopback only.  The tracer
   (the sanitizer build, except for churn) runs with
   --json --events --netns INODE -d SECS; a scenario program
   (<build>/tests/scen_*) makes the sockets and prints key=value facts
   (ports, pid, CLOCK_BOOTTIME timestamps); the tracer's JSON lines are then
   checked against them.  tw_expiry (~62 s) runs in a thread alongside.
3. CLI tests: bad option values, running unprivileged.

Prints "PASS name" or "FAIL name: reason" (+ details) per test, then, as the
very last line, "N passed, N failed" (", N skipped" when any were skipped).
Exit status 1 if anything failed.
"""

import argparse
import glob
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}
SANITIZER_RE = re.compile(
    r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
    r"runtime error:|==\d+==ERROR")

READY_MARK = "Ctrl-C to end"
TRACER_READY_TIMEOUT = 40.0
TRACER_STOP_TIMEOUT = 30.0
SCEN_TIMEOUT = 60.0
CMD_TIMEOUT = 15.0
# Seeded ages come from jiffies (HZ=250 here: 4 ms) converted to ns.
JIFFY_SLACK = 10 * NS_PER_MS


def boot_ns():
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def fmt_s(ns):
    return "None" if ns is None else "%.4f s" % (ns / NS_PER_S)


class TestFailure(Exception):
    def __init__(self, reason, details=()):
        super().__init__(reason)
        self.reason = reason
        self.details = list(details)


class TestSkip(Exception):
    pass


# ---------------------------------------------------------------- reporting

class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def ok(self, name):
        with self.lock:
            self.passed += 1
            print("PASS %s" % name, flush=True)

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


def run(cmd, timeout=CMD_TIMEOUT, check=True, **kw):
    """subprocess.run with a timeout; raises TestFailure on error."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    except subprocess.TimeoutExpired:
        raise TestFailure("command timed out after %ss: %s" % (timeout, " ".join(cmd)))
    if check and r.returncode != 0:
        raise TestFailure("command failed (%d): %s" % (r.returncode, " ".join(cmd)),
                          (r.stdout + r.stderr).splitlines()[-10:])
    return r


# ---------------------------------------------------------------- netns

class Netns:
    """A fresh network namespace with lo up; deleted on close()."""

    def __init__(self):
        self.name = "tl-" + secrets.token_hex(5)
        self.created = False
        self.procs = []
        run(["ip", "netns", "add", self.name])
        self.created = True
        run(["ip", "-n", self.name, "link", "set", "lo", "up"])
        self.inode = os.stat("/run/netns/" + self.name).st_ino

    def sysctl(self, setting):
        run(["ip", "netns", "exec", self.name, "sysctl", "-qw", setting])

    def cmd(self, argv):
        return ["ip", "netns", "exec", self.name] + list(argv)

    def ss(self, *args):
        return run(self.cmd(["ss", "-tanH"] + list(args)), timeout=10).stdout

    def close(self):
        if not self.created:
            return
        # Only processes this test started can be in the namespace.
        try:
            r = run(["ip", "netns", "pids", self.name], check=False, timeout=10)
            for tok in r.stdout.split():
                try:
                    os.kill(int(tok), signal.SIGKILL)
                except (ValueError, ProcessLookupError, PermissionError):
                    pass
        except TestFailure:
            pass
        for _ in range(50):
            r = subprocess.run(["ip", "netns", "del", self.name],
                               capture_output=True, text=True, timeout=10)
            if r.returncode == 0 or not os.path.exists("/run/netns/" + self.name):
                break
            time.sleep(0.1)
        self.created = False


# ---------------------------------------------------------------- processes

class Scenario:
    """A scenario program; its stdout key=value facts are collected by a
    reader thread."""

    def __init__(self, argv, stdin_pipe=False):
        self.argv = argv
        self.lines = []
        self.facts = {}
        self.cond = threading.Condition()
        self.eof = False
        self.stderr = []
        self.p = subprocess.Popen(
            argv, stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        self.t_out = threading.Thread(target=self._read_out, daemon=True)
        self.t_err = threading.Thread(target=self._read_err, daemon=True)
        self.t_out.start()
        self.t_err.start()

    def _read_out(self):
        for line in self.p.stdout:
            line = line.rstrip("\n")
            with self.cond:
                self.lines.append(line)
                if "=" in line:
                    k, v = line.split("=", 1)
                    self.facts[k] = v
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def _read_err(self):
        for line in self.p.stderr:
            self.stderr.append(line.rstrip("\n"))

    def fact(self, key, timeout=SCEN_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while key not in self.facts:
                left = deadline - time.monotonic()
                if self.eof or left <= 0:
                    raise TestFailure(
                        "scenario gave no '%s' (%s)" % (
                            key, "exited %s" % self.p.poll() if self.eof else "timeout"),
                        self.details())
                self.cond.wait(min(left, 0.5))
            return self.facts[key]

    def ifact(self, key, timeout=SCEN_TIMEOUT):
        v = self.fact(key, timeout)
        try:
            return int(v)
        except ValueError:
            raise TestFailure("scenario fact %s=%r is not an integer" % (key, v))

    def send_line(self):
        try:
            self.p.stdin.write("go\n")
            self.p.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise TestFailure("cannot write to scenario stdin: %s" % e, self.details())

    def finish(self, timeout=SCEN_TIMEOUT):
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TestFailure("scenario did not exit within %ss" % timeout, self.details())
        self.t_out.join(5)
        self.t_err.join(5)
        if rc != 0:
            raise TestFailure("scenario exited with %d" % rc, self.details())
        if self.facts.get("done") != "1":
            raise TestFailure("scenario did not print done=1", self.details())

    def details(self):
        d = ["scenario: " + " ".join(self.argv)]
        d += ["  out: " + l for l in self.lines[-15:]]
        d += ["  err: " + l for l in self.stderr[-10:]]
        return d

    def kill(self):
        if self.p.poll() is None:
            try:
                self.p.kill()
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            try:
                if f:
                    f.close()
            except OSError:
                pass


class Tracer:
    """tcplinger --json --events --netns INODE, stdout/stderr to files."""

    def __init__(self, binary, inode, workdir, sanitized, duration=60, extra=()):
        self.binary = binary
        self.argv = [binary, "--json", "--events", "--netns", str(inode),
                     "-d", str(duration)] + list(extra)
        self.sanitized = sanitized
        self.out_path = os.path.join(workdir, "tracer.out")
        self.err_path = os.path.join(workdir, "tracer.err")
        self.p = None
        self.rc = None
        self.t_stop = None
        self.records = []
        self.bad_lines = []

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise TestFailure("tracer binary missing: %s" % self.binary)
        env = dict(os.environ)
        if self.sanitized:
            env.update(SAN_ENV)
        self.out_f = open(self.out_path, "wb")
        self.err_f = open(self.err_path, "wb")
        self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                  stdout=self.out_f, stderr=self.err_f,
                                  env=env, start_new_session=True)
        deadline = time.monotonic() + TRACER_READY_TIMEOUT
        while time.monotonic() < deadline:
            if READY_MARK in self.stderr_text():
                return
            if self.p.poll() is not None:
                raise TestFailure("tracer exited (%d) before it was ready" % self.p.returncode,
                                  self.stderr_tail())
            time.sleep(0.05)
        raise TestFailure("tracer not ready (no '%s') within %ss" % (READY_MARK, TRACER_READY_TIMEOUT),
                          self.stderr_tail())

    def stderr_text(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stderr_tail(self, n=12):
        return ["tracer stderr: " + l for l in self.stderr_text().splitlines()[-n:]]

    def stop(self):
        """SIGINT, wait, parse.  Returns the records."""
        if self.p is None:
            raise TestFailure("tracer never started")
        if self.p.poll() is not None:
            raise TestFailure("tracer exited early (%d), before it was stopped" % self.p.returncode,
                              self.stderr_tail())
        self.t_stop = boot_ns()
        self.p.send_signal(signal.SIGINT)
        try:
            self.rc = self.p.wait(timeout=TRACER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TestFailure("tracer did not exit within %ss of SIGINT" % TRACER_STOP_TIMEOUT,
                              self.stderr_tail())
        self.out_f.close()
        self.err_f.close()
        self.parse()
        err = self.stderr_text()
        if self.sanitized and SANITIZER_RE.search(err):
            raise TestFailure("sanitizer report on tracer stderr", self.stderr_tail(40))
        if self.rc != 0:
            raise TestFailure("tracer exited with %d after SIGINT" % self.rc, self.stderr_tail())
        if self.bad_lines:
            raise TestFailure("%d stdout line(s) are not JSON objects" % len(self.bad_lines),
                              self.bad_lines[:5])
        return self.records

    def parse(self):
        self.records = []
        self.bad_lines = []
        with open(self.out_path, "rb") as f:
            for raw in f:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    self.bad_lines.append(line[:300])
                    continue
                if not isinstance(rec, dict):
                    self.bad_lines.append(line[:300])
                    continue
                self.records.append(rec)

    def kill(self):
        if self.p is not None and self.p.poll() is None:
            try:
                self.p.kill()
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for f in (getattr(self, "out_f", None), getattr(self, "err_f", None)):
            if f and not f.closed:
                f.close()


# ---------------------------------------------------------------- checks

def names(lc):
    return [s.get("state") for s in lc.get("states") or []]


def span(lc, state):
    """Total ns spent in `state` according to the states list."""
    return sum(s.get("ns", 0) for s in lc.get("states") or [] if s.get("state") == state)


def jline(rec):
    s = json.dumps(rec, separators=(",", ":"))
    return s if len(s) < 1500 else s[:1500] + "..."


class Checker:
    """Collects every failed expectation of a test."""

    def __init__(self):
        self.errors = []

    def true(self, cond, what):
        if not cond:
            self.errors.append(what)
        return bool(cond)

    def eq(self, actual, expected, what):
        return self.true(actual == expected, "%s: got %r, expected %r" % (what, actual, expected))

    def near(self, actual, expected, tol, what):
        if not isinstance(actual, int):
            return self.true(False, "%s: got %r, expected a number" % (what, actual))
        return self.true(abs(actual - expected) <= tol, "%s: got %s, expected %s +- %s" % (
            what, fmt_s(actual), fmt_s(expected), fmt_s(tol)))

    def within(self, actual, lo, hi, what):
        if not isinstance(actual, int):
            return self.true(False, "%s: got %r, expected a number" % (what, actual))
        return self.true(lo <= actual <= hi, "%s: got %s, expected in [%s, %s]" % (
            what, fmt_s(actual), fmt_s(lo), fmt_s(hi)))


class Session:
    """The parsed output of one tracer run."""

    def __init__(self, records, inode):
        self.records = records
        self.inode = inode
        self.lifecycles = [r for r in records if r.get("type") == "lifecycle"]
        self.transitions = [r for r in records if r.get("type") == "transition"]
        self.summaries = [r for r in records if r.get("type") == "summary"]
        self.by_conn = {}
        for t in self.transitions:
            self.by_conn.setdefault(t.get("conn"), []).append(t)

    def find(self, sport, dport):
        return [lc for lc in self.lifecycles
                if lc.get("sport") == sport and lc.get("dport") == dport]

    def one(self, ck, sport, dport, label):
        found = self.find(sport, dport)
        if len(found) != 1:
            ck.true(False, "%s: %d lifecycles with sport %s dport %s, expected 1" % (
                label, len(found), sport, dport))
            return None
        return found[0]


def check_summary(ck, sess):
    """The summary: exactly one, final, last line; counts consistent."""
    if not ck.eq(len(sess.summaries), 1, "number of summary lines"):
        return None
    s = sess.summaries[0]
    ck.true(sess.records and sess.records[-1] is s, "summary is not the last line")
    ck.eq(s.get("final"), True, "summary final")
    ck.eq(s.get("lost"), 0, "summary lost")
    ck.eq(s.get("evicted"), 0, "summary evicted")
    total = len(sess.lifecycles)
    incomplete = sum(1 for lc in sess.lifecycles if lc.get("complete") is not True)
    ck.eq(s.get("incomplete"), incomplete, "summary incomplete")
    ck.true(s.get("lifecycles") in (total, total - incomplete),
            "summary lifecycles: got %r, expected %d (all) or %d (complete)" % (
                s.get("lifecycles"), total, total - incomplete))
    ends = s.get("ends")
    if ck.true(isinstance(ends, dict), "summary ends is not an object"):
        counted = {}
        for lc in sess.lifecycles:
            counted[lc.get("end")] = counted.get(lc.get("end"), 0) + 1
        for k, n in counted.items():
            if k == "unknown" and k not in ends:
                continue
            ck.eq(ends.get(k, 0), n, "summary ends[%s]" % k)
        for k, n in ends.items():
            if n and k not in counted:
                ck.true(False, "summary ends[%s] = %r but no lifecycle ended so" % (k, n))
    return s


def check_lifecycle(ck, sess, lc, label, path, end=None, family="IPv4",
                    seeded=False, pid=None, comm=None):
    """Exact path; end/complete; tuple; span totals; transitions agree."""
    if lc is None:
        return
    addr = "::1" if family == "IPv6" else "127.0.0.1"
    ck.eq(lc.get("family"), family, label + " family")
    ck.eq(lc.get("saddr"), addr, label + " saddr")
    ck.eq(lc.get("daddr"), addr, label + " daddr")
    ck.eq(lc.get("netns"), sess.inode, label + " netns")
    ck.eq(names(lc), path, label + " states")
    closed = bool(path) and path[-1] == "CLOSED"
    ck.eq(lc.get("complete"), closed, label + " complete")
    if closed:
        ck.eq(lc.get("end"), end, label + " end")
        ck.eq(lc["states"][-1].get("ns") if lc.get("states") else None, 0,
              label + " CLOSED span")
    else:
        ck.eq(lc.get("end"), "unknown", label + " end")
    ck.eq(lc.get("seeded"), seeded, label + " seeded")
    ck.eq(lc.get("gap"), False, label + " gap")
    ck.eq(lc.get("evicted"), False, label + " evicted")
    if not seeded:
        ck.eq(lc.get("start_exact"), True, label + " start_exact")
    # Owner: unknown, or the scenario process.
    if pid is not None:
        ck.true(lc.get("pid") in (None, pid), "%s pid: got %r, expected %d or null" % (
            label, lc.get("pid"), pid))
        if lc.get("pid") == pid and comm is not None:
            ck.eq(lc.get("comm"), comm, label + " comm")
    # Times add up.
    start, endt, dur = lc.get("start_ns"), lc.get("end_ns"), lc.get("duration_ns")
    if all(isinstance(x, int) for x in (start, endt, dur)):
        ck.eq(dur, endt - start, label + " duration_ns == end_ns - start_ns")
        total = sum(s.get("ns", 0) for s in lc.get("states") or [])
        ck.true(abs(total - dur) <= 1000, "%s: states sum %d != duration_ns %d" % (
            label, total, dur))
    else:
        ck.true(False, "%s: start/end/duration not integers" % label)
    for key, st in (("fin_wait2_ns", "FIN_WAIT2"), ("close_wait_ns", "CLOSE_WAIT"),
                    ("time_wait_ns", "TIME_WAIT")):
        v = lc.get(key)
        ck.true(isinstance(v, int) and abs(v - span(lc, st)) <= 1000,
                "%s %s = %r, states say %d" % (label, key, v, span(lc, st)))
    check_transitions(ck, sess, lc, label)


def check_transitions(ck, sess, lc, label):
    """--events: the transition lines of this conn replay its states."""
    st = names(lc)
    trans = sess.by_conn.get(lc.get("conn"), [])
    pairs = [(t.get("old"), t.get("new")) for t in trans]
    # An opening transition into the first state may or may not be printed.
    while pairs and st and pairs[0][1] == st[0]:
        pairs.pop(0)
        trans = trans[1:]
    want = []
    for a, b in zip(st, st[1:]):
        want.append((a, b))
    got = [(a, "CLOSED" if b in ("CLOSE", "CLOSED") and st and st[-1] == "CLOSED"
            and i == len(pairs) - 1 else b) for i, (a, b) in enumerate(pairs)]
    if not ck.eq(got, want, label + " transitions (old,new)"):
        return
    prev = 0
    for i, t in enumerate(trans):
        for k in ("sport", "dport", "saddr", "daddr", "family", "netns"):
            if t.get(k) != lc.get(k):
                ck.true(False, "%s transition %d %s %r != lifecycle's %r" % (
                    label, i, k, t.get(k), lc.get(k)))
                return
        ts = t.get("ts_ns")
        if not ck.true(isinstance(ts, int) and ts >= prev,
                       "%s transition %d ts_ns %r goes back" % (label, i, ts)):
            return
        prev = ts
        old_span = lc["states"][i].get("ns")
        io = t.get("in_old_ns")
        if not (lc.get("seeded") and i == 0):
            ck.true(isinstance(io, int) and abs(io - old_span) <= 1000,
                    "%s transition %s->%s in_old_ns %r, states say %r" % (
                        label, t.get("old"), t.get("new"), io, old_span))


def check_pid_all(ck, sess, pid, comm):
    for lc in sess.lifecycles:
        p = lc.get("pid")
        ck.true(p in (None, pid), "conn %s pid %r: expected %d or null" % (lc.get("conn"), p, pid))
        if p == pid:
            ck.eq(lc.get("comm"), comm, "conn %s comm" % lc.get("conn"))


# ---------------------------------------------------------------- the suite

class Suite:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.san = os.path.abspath(args.san_build)
        self.results = Results()
        self.workroot = tempfile.mkdtemp(prefix="tcplinger-tests-")

    # -- helpers

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

    def run_test(self, name, fn):
        if not self.selected(name):
            return
        workdir = tempfile.mkdtemp(prefix=name + "-", dir=self.workroot)
        try:
            fn(workdir)
        except TestSkip as e:
            self.results.skip(name, str(e))
        except TestFailure as e:
            self.results.fail(name, e.reason, e.details)
        except Exception as e:  # a bug in the test itself is a failure too
            self.results.fail(name, "exception %s: %s" % (type(e).__name__, e),
                              traceback.format_exc().splitlines()[-8:])
        else:
            self.results.ok(name)

    def scenario(self, workdir, scen, scen_args=(), sysctls=(), sanitized=True,
                 duration=60, drive=None, stdin_pipe=False, settle=0.4):
        """Netns + tracer + scenario; drive(sc, ns, tracer) runs the
        scenario's course and returns a dict of extra facts; the tracer is
        stopped afterwards.  Returns (Session, scenario, extra, tracer)."""
        ns = tracer = sc = None
        try:
            ns = Netns()
            for s in sysctls:
                ns.sysctl(s)
            tracer = Tracer(self.tracer_bin(sanitized), ns.inode, workdir, sanitized,
                            duration=duration)
            argv = ns.cmd([self.scen_bin(scen)] + list(scen_args))
            extra = {}
            tracer.start()
            sc = Scenario(argv, stdin_pipe=stdin_pipe)
            try:
                if drive:
                    extra = drive(sc, ns, tracer) or {}
                else:
                    sc.finish()
                if tracer.t_stop is None:
                    time.sleep(settle)
                    tracer.stop()
                records = tracer.records
            except TestFailure as e:
                e.details += tracer.stderr_tail()
                raise
            extra.setdefault("t_stop", tracer.t_stop)
            return Session(records, ns.inode), sc, extra, tracer
        finally:
            if sc:
                sc.kill()
            if tracer:
                tracer.kill()
            if ns:
                ns.close()

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

    # -- unit tests

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
        env = dict(os.environ)
        if sanitized:
            env.update(SAN_ENV)
        try:
            r = subprocess.run([path], capture_output=True, text=True, timeout=300,
                               env=env, stdin=subprocess.DEVNULL, cwd=ROOT)
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

    # -- scenario tests

    def t_client_first(self, workdir, v6=False):
        name = "client_first"
        fam = "IPv6" if v6 else "IPv4"
        sess, sc, extra, tr = self.scenario(workdir, name, ["-6"] if v6 else [])
        f = {k: int(v) for k, v in sc.facts.items() if k.startswith("t_") or k.endswith("port") or k == "pid"}
        port, cport, pid = f["server_port"], f["client_port"], f["pid"]
        ck = Checker()
        check_summary(ck, sess)
        ck.eq(len(sess.lifecycles), 2, "number of lifecycles")
        cli = sess.one(ck, cport, port, "client")
        srv = sess.one(ck, port, cport, "server")
        comm = self.comm_of(name)
        check_lifecycle(ck, sess, cli, "client",
                        ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"],
                        family=fam, pid=pid, comm=comm)
        check_lifecycle(ck, sess, srv, "server",
                        ["SYN_RECV", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"],
                        end="closed", family=fam, pid=pid, comm=comm)
        delay = f["t_server_close"] - f["t_client_close"]
        if cli:
            ck.eq(cli.get("pid"), pid, "client pid (connect() is in the main thread)")
            # The server's ACK of the FIN is delayed (~40 ms, CLOSE_WAIT
            # enters pingpong mode), so FIN_WAIT2 is a bit under 200 ms.
            ck.near(cli.get("fin_wait2_ns"), 200 * NS_PER_MS, 50 * NS_PER_MS, "client fin_wait2_ns")
            ck.near(span(cli, "FIN_WAIT1") + span(cli, "FIN_WAIT2"), delay, 15 * NS_PER_MS,
                    "client FIN_WAIT1+FIN_WAIT2 vs close-to-close time")
            ck.near(span(cli, "TIME_WAIT"), extra["t_stop"] - f["t_server_close"], 100 * NS_PER_MS,
                    "client TIME_WAIT age at exit")
        if srv:
            ck.near(srv.get("close_wait_ns"), 200 * NS_PER_MS, 50 * NS_PER_MS, "server close_wait_ns")
            ck.near(srv.get("close_wait_ns"), delay, 15 * NS_PER_MS, "server close_wait_ns vs close-to-close time")
        self.verdict(ck, sess, tr, sc)

    def t_server_first(self, workdir):
        name = "server_first"
        sess, sc, extra, tr = self.scenario(workdir, name)
        f = {k: int(v) for k, v in sc.facts.items() if k.startswith("t_") or k.endswith("port") or k == "pid"}
        port, cport, pid = f["server_port"], f["client_port"], f["pid"]
        ck = Checker()
        check_summary(ck, sess)
        ck.eq(len(sess.lifecycles), 2, "number of lifecycles")
        cli = sess.one(ck, cport, port, "client")
        srv = sess.one(ck, port, cport, "server")
        comm = self.comm_of(name)
        check_lifecycle(ck, sess, cli, "client",
                        ["SYN_SENT", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"],
                        end="closed", pid=pid, comm=comm)
        check_lifecycle(ck, sess, srv, "server",
                        ["SYN_RECV", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"],
                        pid=pid, comm=comm)
        delay = f["t_client_close"] - f["t_server_close"]
        if cli:
            ck.eq(cli.get("pid"), pid, "client owner pid")
            ck.eq(cli.get("comm"), comm, "client owner comm")
            ck.near(cli.get("close_wait_ns"), 1500 * NS_PER_MS, 50 * NS_PER_MS, "client close_wait_ns")
            ck.near(cli.get("close_wait_ns"), delay, 15 * NS_PER_MS, "client close_wait_ns vs close-to-close time")
        if srv:
            ck.near(srv.get("fin_wait2_ns"), 1500 * NS_PER_MS, 100 * NS_PER_MS, "server fin_wait2_ns")
            ck.near(span(srv, "FIN_WAIT1") + span(srv, "FIN_WAIT2"), delay, 15 * NS_PER_MS,
                    "server FIN_WAIT1+FIN_WAIT2 vs close-to-close time")
        self.verdict(ck, sess, tr, sc)

    def t_orphan_fw2(self, workdir):
        name = "orphan_fw2"
        obs = {}

        def drive(sc, ns, tracer):
            sc.fact("waiting")
            port, cport = sc.ifact("server_port"), sc.ifact("client_port")
            local = "127.0.0.1:%d" % cport
            # Poll until the client's FIN_WAIT2 is gone (fin_timeout 2 s).
            deadline = time.monotonic() + 8
            gone = None
            while time.monotonic() < deadline:
                t0 = boot_ns()
                out = ns.ss()
                t1 = boot_ns()
                if not any(l.split()[3:4] == [local] for l in out.splitlines()):
                    gone = (t0 + t1) // 2
                    break
                time.sleep(0.1)
            if gone is None:
                raise TestFailure("client FIN_WAIT2 still there 8 s after close", sc.details())
            obs["gone"] = gone
            time.sleep(0.6)
            tracer.stop()
            sc.send_line()
            sc.finish()
            return {}

        sess, sc, extra, tr = self.scenario(workdir, name, sysctls=["net.ipv4.tcp_fin_timeout=2"],
                                            drive=drive, stdin_pipe=True)
        f = {k: int(v) for k, v in sc.facts.items() if k.startswith("t_") or k.endswith("port") or k == "pid"}
        port, cport, pid = f["server_port"], f["client_port"], f["pid"]
        ck = Checker()
        check_summary(ck, sess)
        ck.eq(len(sess.lifecycles), 2, "number of lifecycles")
        cli = sess.one(ck, cport, port, "client")
        srv = sess.one(ck, port, cport, "server")
        check_lifecycle(ck, sess, cli, "client",
                        ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "CLOSED"],
                        end="fin_timeout", pid=pid, comm=self.comm_of(name))
        check_lifecycle(ck, sess, srv, "server", ["SYN_RECV", "ESTABLISHED", "CLOSE_WAIT"],
                        pid=pid, comm=self.comm_of(name))
        if cli:
            ck.within(cli.get("fin_wait2_ns"), 1900 * NS_PER_MS, 2500 * NS_PER_MS, "client fin_wait2_ns")
            ck.near(cli.get("end_ns"), obs["gone"], 200 * NS_PER_MS, "client end_ns vs ss-observed end")
        if srv:
            ck.true(isinstance(srv.get("close_wait_ns"), int) and srv["close_wait_ns"] > 2 * NS_PER_S,
                    "server close_wait_ns %r not > 2 s" % srv.get("close_wait_ns"))
            ck.near(srv.get("close_wait_ns"), tr.t_stop - f["t_client_close"], 100 * NS_PER_MS,
                    "server close_wait_ns vs tracer stop time")
        self.verdict(ck, sess, tr, sc)

    def t_tw_reuse(self, workdir):
        name = "tw_reuse"
        sess, sc, extra, tr = self.scenario(workdir, name)
        f = {k: int(v) for k, v in sc.facts.items() if k.startswith("t_") or k.endswith("port") or k.endswith("port2") or k == "pid"}
        port, cport, pid = f["server_port"], f["client_port"], f["pid"]
        ck = Checker()
        check_summary(ck, sess)
        ck.eq(len(sess.lifecycles), 4, "number of lifecycles")
        srvs = sorted(sess.find(port, cport), key=lambda lc: lc.get("start_ns", 0))
        clis = sorted(sess.find(cport, port), key=lambda lc: lc.get("start_ns", 0))
        comm = self.comm_of(name)
        if ck.eq(len(srvs), 2, "server lifecycles on the 4-tuple"):
            s1, s2 = srvs
            check_lifecycle(ck, sess, s1, "server#1",
                            ["SYN_RECV", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSED"],
                            end="tw_killed", pid=pid, comm=comm)
            check_lifecycle(ck, sess, s2, "server#2",
                            ["SYN_RECV", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"],
                            end="closed", pid=pid, comm=comm)
            ck.true(s1.get("conn") != s2.get("conn"), "both server lifecycles have conn %r" % s1.get("conn"))
            ck.near(s1.get("time_wait_ns"), 500 * NS_PER_MS, 100 * NS_PER_MS, "server#1 time_wait_ns")
            ck.near(s1.get("time_wait_ns"), f["t_connect2"] - f["t_client_close1"], 30 * NS_PER_MS,
                    "server#1 time_wait_ns vs close-to-reconnect time")
            ck.true(s1.get("end_ns", 0) <= s2.get("start_ns", 0) + 5 * NS_PER_MS,
                    "server#1 ends after server#2 starts")
        if ck.eq(len(clis), 2, "client lifecycles on the 4-tuple"):
            c1, c2 = clis
            check_lifecycle(ck, sess, c1, "client#1",
                            ["SYN_SENT", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"],
                            end="closed", pid=pid, comm=comm)
            check_lifecycle(ck, sess, c2, "client#2",
                            ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"],
                            pid=pid, comm=comm)
        self.verdict(ck, sess, tr, sc)

    def t_rst(self, workdir):
        name = "rst"
        sess, sc, extra, tr = self.scenario(workdir, name)
        f = {k: int(v) for k, v in sc.facts.items() if k.startswith("t_") or k.endswith("port") or k == "pid"}
        port, cport, pid = f["server_port"], f["client_port"], f["pid"]
        ck = Checker()
        check_summary(ck, sess)
        ck.eq(len(sess.lifecycles), 2, "number of lifecycles")
        cli = sess.one(ck, cport, port, "client")
        srv = sess.one(ck, port, cport, "server")
        comm = self.comm_of(name)
        check_lifecycle(ck, sess, cli, "client", ["SYN_SENT", "ESTABLISHED", "CLOSED"],
                        end="reset", pid=pid, comm=comm)
        check_lifecycle(ck, sess, srv, "server", ["SYN_RECV", "ESTABLISHED", "CLOSED"],
                        end="reset", pid=pid, comm=comm)
        for lc, label in ((cli, "client"), (srv, "server")):
            if lc:
                ck.within(lc.get("end_ns"), f["t_client_close"], f["t_server_reset"] + 5 * NS_PER_MS,
                          label + " end_ns vs the abortive close")
        self.verdict(ck, sess, tr, sc)

    def t_simultaneous(self, workdir):
        name = "simultaneous"
        sess, sc, extra, tr = self.scenario(workdir, name)
        f = {k: int(v) for k, v in sc.facts.items() if k.startswith("t_") or k.endswith("port") or k == "pid"}
        port, cport, pid = f["server_port"], f["client_port"], f["pid"]
        ck = Checker()
        check_summary(ck, sess)
        ck.eq(len(sess.lifecycles), 2, "number of lifecycles")
        a = sess.one(ck, cport, port, "A (client)")
        b = sess.one(ck, port, cport, "B (server)")
        comm = self.comm_of(name)
        check_lifecycle(ck, sess, a, "A", ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "CLOSING", "TIME_WAIT"],
                        pid=pid, comm=comm)
        check_lifecycle(ck, sess, b, "B", ["SYN_RECV", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"],
                        pid=pid, comm=comm)
        tol = 20 * NS_PER_MS
        if a:
            ck.near(span(a, "FIN_WAIT1"), f["t_b_shutdown"] - f["t_a_shutdown"], tol, "A FIN_WAIT1 span")
            ck.within(span(a, "CLOSING"), f["t_b_drain"] - f["t_b_shutdown"] - tol,
                      f["t_a_time_wait"] - f["t_b_shutdown"] + tol, "A CLOSING span")
        if b:
            ck.within(span(b, "FIN_WAIT1"), 0, tol, "B FIN_WAIT1 span")
            ck.within(b.get("fin_wait2_ns"), f["t_b_drain"] - f["t_a_closing"] - tol,
                      f["t_a_time_wait"] - f["t_b_shutdown"] + tol, "B fin_wait2_ns")
        self.verdict(ck, sess, tr, sc)

    def t_preexisting(self, workdir):
        name = "preexisting"
        ns = tracer = sc = None
        try:
            ns = Netns()
            argv = ns.cmd([self.scen_bin(name)])
            sc = Scenario(argv, stdin_pipe=True)
            sc.fact("ready")
            t_ready = boot_ns()
            # Everything in place before the tracer starts (ss, bounded).
            want = {(sc.ifact("e_client_port"), "ESTAB"), (sc.ifact("cw_client_port"), "CLOSE-WAIT"),
                    (sc.ifact("tw_client_port"), "TIME-WAIT")}
            port = sc.ifact("server_port")
            for _ in range(40):
                seen = set()
                for l in ns.ss().splitlines():
                    fl = l.split()
                    if len(fl) >= 5:
                        seen.add((fl[3].rsplit(":", 1)[-1], fl[4].rsplit(":", 1)[-1], fl[0]))
                ok = all((str(p), str(port), st) in seen for p, st in want) and \
                    ((str(port), str(sc.ifact("cw_client_port")), "FIN-WAIT-2") in seen)
                if ok:
                    break
                time.sleep(0.05)
            else:
                raise TestFailure("sockets not in the expected states before tracing",
                                  ["ss: %s" % (x,) for x in sorted(seen)])
            tracer = Tracer(self.tracer_bin(True), ns.inode, workdir, True, duration=60)
            try:
                tracer.start()
                t_traced = boot_ns()
                time.sleep(1.0)
                sc.send_line()
                sc.finish()
                time.sleep(0.5)
                records = tracer.stop()
            except TestFailure as e:
                e.details += tracer.stderr_tail()
                raise
            sess = Session(records, ns.inode)
        finally:
            if sc:
                sc.kill()
            if tracer:
                tracer.kill()
            if ns:
                ns.close()
        f = {k: int(v) for k, v in sc.facts.items() if k.startswith("t_") or k.endswith("port") or k == "pid"}
        port, pid = f["server_port"], f["pid"]
        comm = self.comm_of(name)
        ck = Checker()
        check_summary(ck, sess)
        ck.eq(len(sess.lifecycles), 5, "number of lifecycles (E x2, CW x2, TW client)")
        e_c = sess.one(ck, f["e_client_port"], port, "E client")
        e_s = sess.one(ck, port, f["e_client_port"], "E server")
        cw_c = sess.one(ck, f["cw_client_port"], port, "CW client")
        cw_s = sess.one(ck, port, f["cw_client_port"], "CW server")
        tw_c = sess.one(ck, f["tw_client_port"], port, "TW client")
        ck.eq(len(sess.find(port, f["tw_client_port"])), 0, "lifecycles of the TW pair's server (gone before tracing)")
        kw = dict(seeded=True, pid=pid, comm=comm)
        check_lifecycle(ck, sess, e_c, "E client", ["ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"], **kw)
        check_lifecycle(ck, sess, e_s, "E server", ["ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"],
                        end="closed", **kw)
        check_lifecycle(ck, sess, cw_c, "CW client", ["CLOSE_WAIT", "LAST_ACK", "CLOSED"], end="closed", **kw)
        check_lifecycle(ck, sess, cw_s, "CW server", ["FIN_WAIT2", "TIME_WAIT"], **kw)
        check_lifecycle(ck, sess, tw_c, "TW client", ["TIME_WAIT"], **kw)
        for lc, label in ((e_c, "E client"), (e_s, "E server"), (cw_c, "CW client"),
                          (cw_s, "CW server"), (tw_c, "TW client")):
            if not lc:
                continue
            # Exact: within the socket's real life before tracing; an upper
            # bound: no later than the seeding, no earlier than the socket.
            # Seeded times come from jiffies-based kernel stamps: allow
            # a couple of jiffies (HZ=250: 4 ms) either way.
            hi = t_ready if lc.get("start_exact") else t_traced
            ck.within(lc.get("start_ns"), f["t_start"] - JIFFY_SLACK, hi + JIFFY_SLACK,
                      "%s start_ns (start_exact %r)" % (label, lc.get("start_exact")))
        if tw_c:
            ck.eq(tw_c.get("start_exact"), True, "TW client start_exact")
            ck.near(tw_c.get("time_wait_ns"), tracer.t_stop - f["t_tw"], 100 * NS_PER_MS,
                    "TW client time_wait_ns vs (tracer stop - TIME_WAIT entry)")
            ck.near(tw_c.get("start_ns"), f["t_tw"], 100 * NS_PER_MS, "TW client start_ns vs TIME_WAIT entry")
        if cw_c:
            cw = cw_c.get("close_wait_ns")
            ck.within(cw, f["t_cw_close"] - t_traced, f["t_cw_close"] - f["t_start"] + 10 * NS_PER_MS,
                      "CW client close_wait_ns (at least the traced part, at most its real age)")
        self.verdict(ck, sess, tracer, sc)

    def t_churn(self, workdir, n=10000):
        name = "churn"
        sess, sc, extra, tr = self.scenario(
            workdir, name, ["-n", str(n)], sysctls=["net.ipv4.tcp_tw_reuse=0"],
            sanitized=False, duration=180, settle=1.5)
        port, pid = sc.ifact("server_port"), sc.ifact("pid")
        ck = Checker()
        check_summary(ck, sess)
        ck.eq(len(sess.lifecycles), 2 * n, "number of lifecycles")
        srv_path = ["SYN_RECV", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"]
        servers = [lc for lc in sess.lifecycles if lc.get("sport") == port]
        clients = [lc for lc in sess.lifecycles if lc.get("dport") == port]
        ck.eq(len(servers), n, "server lifecycles")
        ck.eq(len(clients), n, "client lifecycles")
        bad_srv = [lc for lc in servers if names(lc) != srv_path or lc.get("end") != "closed"
                   or lc.get("complete") is not True]
        ck.eq(len(bad_srv), 0, "server lifecycles not %s/closed/complete" % ",".join(srv_path))
        bad_cli = [lc for lc in clients if names(lc)[-1:] != ["TIME_WAIT"] or lc.get("complete") is not False
                   or names(lc)[:2] != ["SYN_SENT", "ESTABLISHED"]]
        ck.eq(len(bad_cli), 0, "client lifecycles not SYN_SENT,ESTABLISHED..TIME_WAIT incomplete")
        cports = [lc.get("sport") for lc in clients]
        ck.eq(len(set(cports)), n, "distinct client ports")
        ck.eq(sorted(cports), sorted(lc.get("dport") for lc in servers), "server/client port pairing")
        flags = [lc for lc in sess.lifecycles if lc.get("gap") or lc.get("evicted")
                 or lc.get("netns") != sess.inode or lc.get("pid") not in (None, pid)]
        ck.eq(len(flags), 0, "lifecycles with gap/evicted/wrong netns/wrong pid")
        paths = {}
        for lc in clients:
            paths[",".join(names(lc))] = paths.get(",".join(names(lc)), 0) + 1
        if ck.errors:
            ck.errors.append("client paths: %s" % paths)
            ck.errors.append("scenario elapsed_ms=%s" % sc.facts.get("elapsed_ms"))
        self.verdict(ck, sess, tr, sc, lcs=(bad_srv[:3] + bad_cli[:3] + flags[:2]))

    def t_tw_expiry(self, workdir):
        name = "client_first"
        obs = {}

        def drive(sc, ns, tracer):
            sc.finish()
            cport, port = sc.ifact("client_port"), sc.ifact("server_port")
            local, peer = "127.0.0.1:%d" % cport, "127.0.0.1:%d" % port
            first = last = gone = None
            deadline = time.monotonic() + 75
            while time.monotonic() < deadline:
                t0 = boot_ns()
                out = ns.ss("state", "time-wait")
                t1 = boot_ns()
                present = any(l.split()[-2:] == [local, peer] for l in out.splitlines())
                if present:
                    if first is None:
                        first = t0
                    last = t0    # the snapshot was taken after t0 ...
                elif first is not None:
                    gone = t1    # ... and this one before t1
                    break
                elif boot_ns() - sc.ifact("t_server_close") > 2 * NS_PER_S:
                    raise TestFailure("client TIME_WAIT never seen by ss", sc.details())
                time.sleep(0.1)
            if gone is None:
                raise TestFailure("client TIME_WAIT still there after 75 s", sc.details())
            obs.update(first=first, last=last, gone=gone)
            return {}

        sess, sc, extra, tr = self.scenario(workdir, name, drive=drive, duration=110)
        f = {k: int(v) for k, v in sc.facts.items() if k.startswith("t_") or k.endswith("port") or k == "pid"}
        port, cport, pid = f["server_port"], f["client_port"], f["pid"]
        ck = Checker()
        check_summary(ck, sess)
        ck.eq(len(sess.lifecycles), 2, "number of lifecycles")
        cli = sess.one(ck, cport, port, "client")
        srv = sess.one(ck, port, cport, "server")
        check_lifecycle(ck, sess, cli, "client",
                        ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSED"],
                        end="tw_expired", pid=pid, comm=self.comm_of(name))
        check_lifecycle(ck, sess, srv, "server",
                        ["SYN_RECV", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"],
                        end="closed", pid=pid, comm=self.comm_of(name))
        # TIME_WAIT began when the server's FIN arrived (during its close());
        # it ended between the last ss that listed it and the first that did not.
        lifetime_lo = obs["last"] - f["t_server_close"]
        lifetime_hi = obs["gone"] - f["t_server_close"]
        ss_life = (lifetime_lo + lifetime_hi) // 2
        ck.true(lifetime_hi - lifetime_lo < 400 * NS_PER_MS,
                "ss observation too coarse: [%s, %s]" % (fmt_s(lifetime_lo), fmt_s(lifetime_hi)))
        if cli:
            ck.near(cli.get("time_wait_ns"), ss_life, 200 * NS_PER_MS,
                    "client time_wait_ns vs ss-observed lifetime [%s, %s]" % (
                        fmt_s(lifetime_lo), fmt_s(lifetime_hi)))
        self.verdict(ck, sess, tr, sc)

    # -- CLI tests

    def t_cli_bad(self, workdir, args):
        binary = self.tracer_bin(True)
        if not os.access(binary, os.X_OK):
            raise TestFailure("tracer binary missing: %s" % binary)
        env = dict(os.environ)
        env.update(SAN_ENV)
        try:
            r = subprocess.run([binary] + args, capture_output=True, text=True, timeout=20,
                               env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise TestFailure("did not exit within 20 s")
        lines = r.stderr.splitlines()
        d = ["exit %d" % r.returncode] + ["stderr: " + l for l in lines[-20:]] + \
            ["stdout: " + l for l in r.stdout.splitlines()[-5:]]
        if r.returncode == 0:
            raise TestFailure("exit status 0", d)
        if r.returncode < 0:
            raise TestFailure("killed by signal %d" % -r.returncode, d)
        if len(lines) != 1:
            raise TestFailure("%d stderr lines, expected exactly 1" % len(lines), d)
        return lines[0]

    def t_cli_unprivileged(self, workdir):
        src = self.tracer_bin(True)
        if not os.access(src, os.X_OK):
            raise TestFailure("tracer binary missing: %s" % src)
        if not shutil.which("setpriv"):
            raise TestSkip("setpriv not installed")
        d = tempfile.mkdtemp(prefix="unpriv-", dir=workdir)
        os.chmod(workdir, 0o755)
        os.chmod(self.workroot, 0o755)
        os.chmod(d, 0o755)
        binary = os.path.join(d, "tcplinger")
        shutil.copy(src, binary)
        os.chmod(binary, 0o755)
        env = dict(os.environ)
        env.update(SAN_ENV)
        try:
            r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                binary, "--json"], capture_output=True, text=True,
                               timeout=20, env=env, stdin=subprocess.DEVNULL, cwd=d)
        except subprocess.TimeoutExpired:
            raise TestFailure("did not exit within 20 s")
        lines = r.stderr.splitlines()
        det = ["exit %d" % r.returncode] + ["stderr: " + l for l in lines[-20:]]
        if r.returncode == 0:
            raise TestFailure("exit status 0 as uid 65534", det)
        if r.returncode < 0:
            raise TestFailure("killed by signal %d" % -r.returncode, det)
        if len(lines) != 1:
            raise TestFailure("%d stderr lines, expected exactly 1" % len(lines), det)
        if "root" not in lines[0].lower():
            raise TestFailure("stderr line does not mention root", det)

    # -- driver

    def main(self):
        print("# unit tests", flush=True)
        self.unit_tests()
        if os.geteuid() != 0:
            self.results.fail("scenarios", "the scenario tests need root (network namespaces, BPF)")
            return
        print("# scenario tests (tracer: %s, churn: %s)" % (
            self.tracer_bin(True), self.tracer_bin(False)), flush=True)
        long_thread = None
        if self.selected("tw_expiry"):
            if self.args.no_long:
                self.results.skip("tw_expiry", "--no-long")
            else:
                long_thread = threading.Thread(
                    target=self.run_test, args=("tw_expiry", self.t_tw_expiry))
                long_thread.start()
        try:
            tests = [
                ("cli_bad_interval", lambda w: self.t_cli_bad(w, ["-i", "0"])),
                ("cli_bad_port", lambda w: self.t_cli_bad(w, ["-L", "notaport"])),
                ("cli_bad_netns", lambda w: self.t_cli_bad(w, ["--netns", "abc"])),
                ("cli_unprivileged", self.t_cli_unprivileged),
                ("client_first", self.t_client_first),
                ("client_first_v6", lambda w: self.t_client_first(w, v6=True)),
                ("server_first", self.t_server_first),
                ("orphan_fw2", self.t_orphan_fw2),
                ("tw_reuse", self.t_tw_reuse),
                ("rst", self.t_rst),
                ("simultaneous", self.t_simultaneous),
                ("preexisting", self.t_preexisting),
                ("churn", self.t_churn),
            ]
            for name, fn in tests:
                self.run_test(name, fn)
        finally:
            if long_thread:
                long_thread.join(200)
                if long_thread.is_alive():
                    self.results.fail("tw_expiry", "test thread still running after 200 s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=".output")
    ap.add_argument("--san-build", default=".output-san")
    ap.add_argument("-k", metavar="SUBSTR", help="run only the tests whose name contains SUBSTR")
    ap.add_argument("--no-long", action="store_true", help="skip tw_expiry (~62 s)")
    ap.add_argument("--keep", action="store_true", help="keep the tracer outputs even if all pass")
    args = ap.parse_args()
    suite = Suite(args)
    try:
        suite.main()
    except KeyboardInterrupt:
        suite.results.fail("runner", "interrupted")
    except Exception as e:
        suite.results.fail("runner", "exception %s: %s" % (type(e).__name__, e),
                           traceback.format_exc().splitlines()[-10:])
    finally:
        if suite.results.failed or args.keep:
            print("# tracer outputs kept in %s" % suite.workroot)
        else:
            shutil.rmtree(suite.workroot, ignore_errors=True)
    sys.stdout.flush()
    print(suite.results.summary(), flush=True)
    return 1 if suite.results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
