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
4. record/replay: `tcplinger record` in a test netns while scenarios run;
   its replay must match the live output byte for byte (replayed as uid
   65534), CSV, cut and corrupted logs, foreign files, SIGKILL, a full
   disk (a 128k tmpfs), --max-size, -w -; short runs of the log reader's
   and the whole replay's fuzzers when built (<build>/tests/fuzz_logfile,
   fuzz_replay); logs crafted against replay's memory and time bounds
   (<build>/tests/gen_crafted), their peak RSS measured with GNU time.

Prints "PASS name" or "FAIL name: reason" (+ details) per test, then, as the
very last line, "N passed, N failed" (", N skipped" when any were skipped).
Exit status 1 if anything failed.
"""

import argparse
import csv
import difflib
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testlib  # noqa: E402  (tests/testlib.py)

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

class Netns(testlib.Netns):
    """A fresh network namespace with lo up; deleted on close()."""

    def __init__(self):
        super().__init__(run, prefix="tl-")


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

    def int_facts(self):
        """The numeric facts: times (t_*), ports (*port, *port2) and pid."""
        return {k: int(v) for k, v in self.facts.items()
                if k.startswith("t_") or k.endswith("port") or k.endswith("port2") or k == "pid"}

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
        testlib.kill_wait(self.p)
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
        testlib.kill_wait(self.p)
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


# ---------------------------------------------------------------- record / replay

CSV_STATES = ["SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "CLOSING",
              "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK", "LISTEN"]
CSV_HEADER = ("conn,family,saddr,sport,daddr,dport,netns,pid,comm,start_ns,end_ns,duration_ns,"
              "fin_wait2_ns,close_wait_ns,time_wait_ns,end,complete,seeded,start_exact,gap,"
              "evicted,path," + ",".join(s + "_ns" for s in CSV_STATES))
RECORD_STOP_TIMEOUT = 30.0
REPLAY_TIMEOUT = 120.0
TRUNC_RE = re.compile(r"truncated at byte (\d+)")
BADCRC_RE = re.compile(r"block (\d+) at byte (\d+): bad CRC, skipped")
TS_RE = re.compile(rb'"ts_ns":(\d+)')


class Recorder(Tracer):
    """tcplinger record -w LOG --netns INODE [ARGS]; stdout/stderr to files
    (stdout is the log itself with -w -)."""

    def __init__(self, binary, inode, workdir, sanitized, log, args=(), tag="record",
                 stdout_path=None):
        super().__init__(binary, inode, workdir, sanitized)
        self.log = log
        self.argv = [binary, "record", "-w", log, "--netns", str(inode),
                     "-d", "120"] + list(args)
        self.out_path = stdout_path or os.path.join(workdir, tag + ".out")
        self.err_path = os.path.join(workdir, tag + ".err")
        self.json_out = "--print" in args and "--json" in args

    def parse(self):
        if self.json_out:
            super().parse()
        else:
            self.records, self.bad_lines = [], []

    def _closed(self):
        for f in (self.out_f, self.err_f):
            if not f.closed:
                f.close()
        err = self.stderr_text()
        if self.sanitized and SANITIZER_RE.search(err):
            raise TestFailure("sanitizer report on recorder stderr", self.stderr_tail(40))

    def wait_exit(self, timeout=RECORD_STOP_TIMEOUT):
        """For a recorder that ends by itself: its exit status."""
        try:
            self.rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TestFailure("recorder did not end by itself within %ss" % timeout,
                              self.stderr_tail())
        self._closed()
        return self.rc

    def sigkill(self):
        """SIGKILL now; returns the CLOCK_BOOTTIME of the kill."""
        if self.p.poll() is not None:
            raise TestFailure("recorder exited early (%d), before it was killed" % self.p.returncode,
                              self.stderr_tail())
        t = boot_ns()
        self.p.kill()
        try:
            self.rc = self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise TestFailure("recorder still there 10 s after SIGKILL")
        self.t_stop = t
        self._closed()
        return t

    def stderr_lines(self):
        return self.stderr_text().splitlines()


class RecCtx:
    """What a recording's drive() gets: the netns, the recorder, and start()
    for scenario programs (all killed when the recording ends)."""

    def __init__(self, suite):
        self.suite = suite
        self.ns = None
        self.rec = None
        self.scens = []

    def start(self, scen, args=()):
        sc = Scenario(self.ns.cmd([self.suite.scen_bin(scen)] + list(args)))
        self.scens.append(sc)
        return sc


class Replay:
    """One finished `tcplinger replay` run."""

    def __init__(self, argv, rc, out, err, out_path=None):
        self.argv, self.rc, self.out, self.err, self.out_path = argv, rc, out, err, out_path
        self.err_lines = err.splitlines()
        self._records = None

    def details(self, n=8):
        d = ["replay: %s" % " ".join(self.argv), "exit %d" % self.rc]
        d += ["stderr: " + l for l in self.err_lines[-n:]]
        if self.out is not None:
            d += ["stdout: " + l for l in self.out.decode("utf-8", "replace").splitlines()[-4:]]
        return d

    def records(self):
        """The JSON lines of stdout; a non-JSON line fails the test."""
        if self._records is None:
            recs = []
            for i, raw in enumerate(self.out.split(b"\n")):
                if not raw.strip():
                    continue
                try:
                    rec = json.loads(raw)
                except ValueError:
                    rec = None
                if not isinstance(rec, dict):
                    raise TestFailure("replay stdout line %d is not a JSON object" % (i + 1),
                                      [raw[:300].decode("utf-8", "replace")] + self.details())
                recs.append(rec)
            self._records = recs
        return self._records


def tkey(t):
    """What identifies a transition whatever conn id it was given."""
    return (t.get("ts_ns"), t.get("family"), t.get("saddr"), t.get("sport"), t.get("daddr"),
            t.get("dport"), t.get("old"), t.get("new"))


def is_subsequence(small, big):
    """Every item of small appears in big, in the same order."""
    it = iter(big)
    return all(any(y == x for y in it) for x in small)


def diff_excerpt(a, b, name_a, name_b, context=3, width=12):
    """The first difference between two outputs, as a short unified diff."""
    la, lb = a.split(b"\n"), b.split(b"\n")
    i = 0
    while i < len(la) and i < len(lb) and la[i] == lb[i]:
        i += 1
    lo = max(0, i - context)
    d = ["%s: %d bytes, %d lines; %s: %d bytes, %d lines; first difference at line %d" % (
        name_a, len(a), len(la), name_b, len(b), len(lb), i + 1)]
    for l in difflib.unified_diff([x.decode("utf-8", "replace")[:300] for x in la[lo:i + width]],
                                  [x.decode("utf-8", "replace")[:300] for x in lb[lo:i + width]],
                                  name_a, name_b, lineterm="", n=context):
        d.append(l)
    return d[:40]


def lc_spans(lc):
    return {st: span(lc, st) for st in CSV_STATES}


# The log layout (user/logfile.c; README.md, "Log file format"): an 8-byte
# magic, u16 version, u16 flags, u32 length of the header fields, the
# fields, u32 CRC; then blocks: a 32-byte header ("TLBK", u32 seq, raw
# length, compressed length, events, CRC of the data, ids, CRC of the
# header) and the compressed data.  All little-endian.
LOG_MAGIC = b"TCPLNGR\0"
LOG_VERSION_OFFSET = 8
LOG_BHDR_LEN = 32


def log_blocks(data):
    """[(offset, length)] of every block of a whole log, header included."""
    u32 = lambda o: int.from_bytes(data[o:o + 4], "little")
    if data[:8] != LOG_MAGIC or len(data) < 20:
        raise TestFailure("the recorded log does not begin with the magic %r" % LOG_MAGIC)
    pos = 16 + u32(12) + 4
    blocks = []
    while pos < len(data):
        if data[pos:pos + 4] != b"TLBK" or pos + LOG_BHDR_LEN > len(data):
            raise TestFailure("the recorded log has no block header at byte %d (of %d)" % (
                pos, len(data)), ["blocks so far: %s" % blocks[:20]])
        if u32(pos + 4) != len(blocks):
            raise TestFailure("block at byte %d has seq %d, expected %d" % (
                pos, u32(pos + 4), len(blocks)))
        n = LOG_BHDR_LEN + u32(pos + 12)
        blocks.append((pos, n))
        pos += n
    if pos != len(data):
        raise TestFailure("the recorded log's last block passes its end (%d > %d)" % (pos, len(data)))
    return blocks


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
            detail = fn(workdir)
        except TestSkip as e:
            self.results.skip(name, str(e))
        except TestFailure as e:
            self.results.fail(name, e.reason, e.details)
        except Exception as e:  # a bug in the test itself is a failure too
            self.results.fail(name, "exception %s: %s" % (type(e).__name__, e),
                              traceback.format_exc().splitlines()[-8:])
        else:
            self.results.ok(name, detail if isinstance(detail, str) else None)

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
        f = sc.int_facts()
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
        f = sc.int_facts()
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
        f = sc.int_facts()
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
        f = sc.int_facts()
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
        f = sc.int_facts()
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
        f = sc.int_facts()
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
            # and one that shows only what the scenario owns (-p)
            pdir = os.path.join(workdir, "by-pid")
            os.makedirs(pdir)
            by_pid = Tracer(self.tracer_bin(False), ns.inode, pdir, False, duration=60,
                            extra=["-p", str(sc.ifact("pid"))])
            try:
                tracer.start()
                by_pid.start()
                t_traced = boot_ns()
                time.sleep(1.0)
                sc.send_line()
                sc.finish()
                time.sleep(0.5)
                records = tracer.stop()
                pid_records = by_pid.stop()
            except TestFailure as e:
                e.details += tracer.stderr_tail() + by_pid.stderr_tail()
                raise
            sess = Session(records, ns.inode)
            pid_sess = Session(pid_records, ns.inode)
        finally:
            if sc:
                sc.kill()
            for t in (tracer, by_pid):
                if t:
                    t.kill()
            if ns:
                ns.close()
        f = sc.int_facts()
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
        # Owners from /proc: the scenario holds E x2 and the CW client; the
        # TIME_WAIT and the orphan FIN_WAIT2 are held by no process.
        for lc, label in ((e_c, "E client"), (e_s, "E server"), (cw_c, "CW client")):
            if lc:
                ck.eq((lc.get("pid"), lc.get("comm")), (pid, comm), label + " owner (pid, comm)")
        for lc, label in ((tw_c, "TW client"), (cw_s, "CW server")):
            if lc:
                ck.eq((lc.get("pid"), lc.get("ownerless")), (None, True), label + " (pid, ownerless)")
        mine = sorted((lc.get("sport"), lc.get("dport"), lc.get("pid"), lc.get("comm"))
                      for lc in pid_sess.lifecycles)
        ck.eq(mine, sorted([(f["e_client_port"], port, pid, comm), (port, f["e_client_port"], pid, comm),
                            (f["cw_client_port"], port, pid, comm)]),
              "-p %d: the lifecycles of the sockets it held before tracing" % pid)
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
        f = sc.int_facts()
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

    # -- truth at start-up (the tracer started in the middle of churn)

    def timed_tracer(self, workdir, ns, tag, sanitized, duration, extra=()):
        """A tracer that stops by itself after `duration` s; its records."""
        wd = os.path.join(workdir, tag)
        os.makedirs(wd, exist_ok=True)
        tr = Tracer(self.tracer_bin(sanitized), ns.inode, wd, sanitized, duration=duration,
                    extra=extra)
        tr.start()
        try:
            tr.rc = tr.p.wait(timeout=duration + TRACER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            tr.kill()
            raise TestFailure("%s: tracer did not stop after -d %s" % (tag, duration),
                              tr.stderr_tail())
        tr.out_f.close()
        tr.err_f.close()
        tr.parse()
        if tr.rc != 0 or tr.bad_lines or (sanitized and SANITIZER_RE.search(tr.stderr_text())):
            raise TestFailure("%s: tracer exited %s (%d bad lines)" % (tag, tr.rc, len(tr.bad_lines)),
                              tr.bad_lines[:3] + tr.stderr_tail(20))
        return tr

    def t_startup_truth(self, workdir, rounds=3):
        """Started in the middle of server-first churn, the tracer never
        reports a socket that went to TIME_WAIT as closed without it."""
        ns, sc = Netns(), None
        try:
            ns.sysctl("net.ipv4.tcp_max_tw_buckets=2000000")
            ns.sysctl("net.ipv4.ip_local_port_range=10000 65000")
            sc = Scenario(ns.cmd([self.scen_bin("server_churn"), "-n", "300"]), stdin_pipe=True)
            port = sc.ifact("server_port")
            sc.fact("running")
            time.sleep(1.0)
            ck = Checker()
            details, shown = [], []
            for r in range(rounds):
                tr = self.timed_tracer(workdir, ns, "round%d" % r, sanitized=(r == rounds - 1),
                                       duration=2)
                sess = Session(tr.records, ns.inode)
                lcs = sess.lifecycles
                done = [lc for lc in lcs if lc.get("complete")]
                invented = [lc for lc in done if lc.get("end") == "closed" and len(names(lc)) >= 2
                            and names(lc)[-2] in ("FIN_WAIT1", "FIN_WAIT2", "CLOSING")]
                tw = [lc for lc in lcs if lc.get("sport") == port and "TIME_WAIT" in names(lc)]
                lost = sess.summaries[-1].get("lost") if sess.summaries else None
                details.append("round %d: %d lifecycles, %d complete, %d server TIME_WAITs, "
                               "lost %s, %d ended closed from a closing state"
                               % (r, len(lcs), len(done), len(tw), lost, len(invented)))
                ck.eq(len(invented), 0, "round %d: complete lifecycles ended 'closed' from "
                      "FIN_WAIT1/FIN_WAIT2/CLOSING" % r)
                ck.true(len(done) >= 100, "round %d: at least 100 complete lifecycles (got %d)"
                        % (r, len(done)))
                ck.true(len(tw) >= 100, "round %d: at least 100 server TIME_WAITs (got %d)"
                        % (r, len(tw)))
                shown += invented[:3]
                time.sleep(0.5)
            # the load only has to run through the rounds: it is killed below
            if sc.p.poll() is not None:
                ck.true(False, "the churn exited (%s) during the rounds" % sc.p.returncode)
            overflow = run(ns.cmd(["nstat", "-az", "TcpExtTCPTimeWaitOverflow"])).stdout
            m = re.search(r"TcpExtTCPTimeWaitOverflow\s+(\d+)", overflow)
            ck.true(m is not None and int(m.group(1)) == 0,
                    "the namespace had timewait buckets free (TcpExtTCPTimeWaitOverflow 0): %s"
                    % overflow.strip().splitlines()[-1:])
            if ck.errors:
                raise TestFailure(ck.errors[0], ck.errors + details
                                  + ["  " + jline(lc) for lc in shown[:6]])
            return "; ".join(details)
        finally:
            if sc:
                sc.kill()
            ns.close()

    def t_connect_fail(self, workdir):
        """Refused, timed-out and port-less connect()s get their own end."""
        sysctls = ["net.ipv4.tcp_syn_retries=1", "net.ipv4.ip_local_port_range=40000 40003"]
        sess, sc, extra, tr = self.scenario(workdir, "connect_fail", sysctls=sysctls,
                                            settle=0.5)
        f = sc.int_facts()
        port, pid = f["server_port"], f["pid"]
        ck = Checker()
        check_summary(ck, sess)
        failed = [lc for lc in sess.lifecycles if names(lc) == ["SYN_SENT", "CLOSED"]]
        by_end = {}
        for lc in failed:
            by_end.setdefault(lc.get("end"), []).append(lc)
        ck.eq(sorted((e, len(v)) for e, v in by_end.items()),
              [("connect_failed", 1), ("refused", 1), ("syn_timeout", 1)],
              "SYN_SENT -> CLOSED lifecycles by end")
        for end, dport in (("refused", int(sc.facts["refused_port"])),
                           ("syn_timeout", int(sc.facts["timeout_port"])),
                           ("connect_failed", port)):
            for lc in by_end.get(end, [])[:1]:
                ck.eq(lc.get("dport"), dport, end + " dport")
                ck.eq((lc.get("pid"), lc.get("complete")), (pid, True), end + " (pid, complete)")
                if end == "connect_failed":
                    ck.eq(lc.get("sport"), None, end + " sport (no port: null, never 0)")
                else:
                    ck.true(isinstance(lc.get("sport"), int) and 40000 <= lc["sport"] <= 40003,
                            "%s sport %r in the netns's port range" % (end, lc.get("sport")))
        for lc in by_end.get("syn_timeout", [])[:1]:
            # tcp_syn_retries=1: the SYN, one retry after 1 s, given up 2 s later
            ck.within(lc.get("duration_ns"), 2500 * NS_PER_MS,
                      f["t_timeout_end"] - f["t_timeout_start"] + 50 * NS_PER_MS,
                      "syn_timeout duration_ns (about 3 s, within the failed connect())")
        ends = sess.summaries[-1].get("ends", {}) if sess.summaries else {}
        ck.eq([ends.get(k) for k in ("refused", "syn_timeout", "connect_failed")], [1, 1, 1],
              "summary ends refused/syn_timeout/connect_failed")
        self.verdict(ck, sess, tr, sc, lcs=failed)

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

    # -- record / replay

    def recording(self, workdir, args, drive, sanitized=True, sysctls=(), log=None,
                  stdout_path=None, settle=0.5):
        """Netns + `tcplinger record -w LOG --netns INODE ARGS`.  drive(ctx)
        starts scenarios with ctx.start() and may end the recorder itself
        (wait_exit, sigkill, stop); otherwise it is stopped with SIGINT after
        `settle` s.  Returns ctx (ctx.rec: the recorder)."""
        ctx = RecCtx(self)
        try:
            ctx.ns = Netns()
            for s in sysctls:
                ctx.ns.sysctl(s)
            log = log or os.path.join(workdir, "rec.tlog")
            ctx.rec = Recorder(self.tracer_bin(sanitized), ctx.ns.inode, workdir, sanitized,
                               log, args, stdout_path=stdout_path)
            try:
                ctx.rec.start()
                drive(ctx)
                if ctx.rec.rc is None:
                    time.sleep(settle)
                    ctx.rec.stop()
            except TestFailure as e:
                e.details += ctx.rec.stderr_tail()
                for sc in ctx.scens:
                    e.details += sc.details()[:4]
                raise
            return ctx
        finally:
            for sc in ctx.scens:
                sc.kill()
            if ctx.rec:
                ctx.rec.kill()
            if ctx.ns:
                ctx.ns.close()

    def replay(self, log, args=(), sanitized=True, unprivileged=None, out_path=None,
               timeout=REPLAY_TIMEOUT):
        """`tcplinger replay ARGS LOG`; unprivileged: a dir holding a copy of
        the binary, run as uid/gid 65534.  stdout to out_path if given."""
        binary = self.tracer_bin(sanitized)
        if not os.access(binary, os.X_OK):
            raise TestFailure("tracer binary missing: %s" % binary)
        if unprivileged:
            copy = os.path.join(unprivileged, "tcplinger")
            if not os.path.exists(copy):
                shutil.copy(binary, copy)
                os.chmod(copy, 0o755)
            binary = copy
        argv = [binary, "replay"] + list(args) + [log]
        if unprivileged:
            argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + argv
        env = dict(os.environ)
        if sanitized:
            env.update(SAN_ENV)
        out_f = open(out_path, "wb") if out_path else subprocess.PIPE
        try:
            r = subprocess.run(argv, stdout=out_f, stderr=subprocess.PIPE, timeout=timeout,
                               env=env, stdin=subprocess.DEVNULL,
                               cwd=unprivileged or os.path.dirname(os.path.abspath(log)))
        except subprocess.TimeoutExpired:
            raise TestFailure("replay did not end within %ss: %s" % (timeout, " ".join(argv)))
        finally:
            if out_path:
                out_f.close()
        rp = Replay(argv, r.returncode, None if out_path else r.stdout,
                    r.stderr.decode("utf-8", "replace"), out_path)
        if sanitized and SANITIZER_RE.search(rp.err):
            raise TestFailure("sanitizer report on replay stderr",
                              rp.details(40))
        if rp.rc < 0:
            raise TestFailure("replay killed by signal %d" % -rp.rc, rp.details())
        return rp

    def replay_ok(self, log, args=(), **kw):
        rp = self.replay(log, args, **kw)
        if rp.rc != 0:
            raise TestFailure("replay exited with %d" % rp.rc, rp.details())
        return rp

    def unpriv_dir(self, workdir):
        """A world-readable dir for files uid 65534 must read."""
        if not shutil.which("setpriv"):
            raise TestSkip("setpriv not installed")
        d = tempfile.mkdtemp(prefix="unpriv-", dir=workdir)
        for p in (self.workroot, workdir, d):
            os.chmod(p, 0o755)
        return d

    @staticmethod
    def churn_forever(ctx, port=5008):
        """churn that goes on until killed (~10k conn/s); returns it once
        it is under way."""
        sc = ctx.start("churn", ["-n", "1000000", "-p", str(port)])
        sc.fact("t_start", timeout=20)
        return sc

    # Continuous churn: wide ephemeral range, TIME_WAIT reuse on loopback.
    CHURN_SYSCTLS = ("net.ipv4.ip_local_port_range=10000 65000", "net.ipv4.tcp_tw_reuse=2")

    def multiblock_log(self, workdir):
        """A log of four bursts of churn about a second apart (so several
        blocks: one at least every second), and its full replay.  Made
        once, shared by the tests that only read it.  Returns (log bytes,
        path, blocks, full Replay)."""
        if getattr(self, "_multiblock", None):
            return self._multiblock

        def drive(ctx):
            for i in range(4):
                ctx.start("churn", ["-n", "1500", "-p", str(5010 + i)]).finish()
                time.sleep(1.1)

        ctx = self.recording(workdir, [], drive, sanitized=False,
                             sysctls=["net.ipv4.tcp_tw_reuse=0"], settle=0.2)
        with open(ctx.rec.log, "rb") as f:
            data = f.read()
        blocks = log_blocks(data)
        if len(blocks) < 3:
            raise TestFailure("log of %d bytes has %d blocks, expected at least 3" % (
                len(data), len(blocks)), ["blocks (offset, length): %s" % blocks[:10]])
        full = self.replay_ok(ctx.rec.log, ["--json", "--events"])
        if full.err.strip():
            raise TestFailure("replay of the intact log warned", full.details())
        full.records()
        self._multiblock = (data, ctx.rec.log, blocks, full)
        return self._multiblock

    def t_record_replay_identical(self, workdir):
        udir = self.unpriv_dir(workdir)
        log = os.path.join(workdir, "live.tlog")
        n_churn = 2000

        def drive(ctx):
            # tw_reuse re-binds its client port: done before churn's
            # TIME_WAITs hold ephemeral ports it could have been given.
            scs = [ctx.start(s) for s in ("client_first", "server_first", "tw_reuse")]
            for sc in scs:
                sc.finish()
            ctx.start("churn", ["-n", str(n_churn)]).finish()
            time.sleep(1.2)     # an interval summary or two

        ctx = self.recording(workdir, ["--print", "--json", "--events", "-i", "1"], drive,
                             sanitized=True, sysctls=["net.ipv4.tcp_tw_reuse=0"], log=log)
        rec = ctx.rec
        ck = Checker()
        mode = os.stat(log).st_mode & 0o7777
        ck.eq(oct(mode), oct(0o600), "log file mode")
        with open(rec.out_path, "rb") as f:
            live = f.read()
        sess = Session(rec.records, ctx.ns.inode)
        want = 2 * n_churn + 2 + 2 + 4
        ck.eq(len(sess.lifecycles), want, "live lifecycles")
        tw = [lc for lc in sess.lifecycles if "TIME_WAIT" in names(lc)]
        ck.true(len(tw) >= n_churn, "live lifecycles with TIME_WAIT: %d, expected >= %d" % (
            len(tw), n_churn))
        ck.true(len(sess.summaries) >= 2, "live output has %d summaries, expected interval "
                "ones and a final one" % len(sess.summaries))
        copy = os.path.join(udir, "copy.tlog")
        shutil.copy(log, copy)
        os.chmod(copy, 0o644)
        rp = self.replay(copy, ["--json", "--events", "-i", "1"], unprivileged=udir)
        if rp.rc != 0:
            ck.true(False, "replay as uid 65534 exited with %d" % rp.rc)
        elif rp.out != live:
            ck.true(False, "replay (as uid 65534) differs from the live output")
            ck.errors += diff_excerpt(live, rp.out, "live", "replay")
        size = os.path.getsize(log)
        per = size / max(1, len(sess.transitions))
        ck.true(len(sess.transitions) > 0 and per <= 16,
                "%.2f bytes per transition line (%d bytes, %d transitions), expected <= 16" % (
                    per, size, len(sess.transitions)))
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + rp.details(4) + rec.stderr_tail(6))
        return "%d lifecycles, %d transitions, log %d bytes: %.2f bytes/transition" % (
            len(sess.lifecycles), len(sess.transitions), size, per)

    def t_replay_csv(self, workdir):
        facts = {}

        def drive(ctx):
            sc = ctx.start("client_first")
            sc.finish()
            facts.update(sc.facts)

        ctx = self.recording(workdir, [], drive, sanitized=True)
        log = ctx.rec.log
        with open(ctx.rec.out_path, "rb") as f:
            out = f.read()
        ck = Checker()
        ck.eq(out, b"", "record stdout without --print")
        rj = self.replay_ok(log, ["--json"])
        rc = self.replay_ok(log, ["--csv"])
        lcs = [r for r in rj.records() if r.get("type") == "lifecycle"]
        text = rc.out.decode("utf-8", "replace")
        lines = text.splitlines()
        ck.eq(lines[0] if lines else None, CSV_HEADER, "CSV header")
        rows = list(csv.reader(lines[1:]))
        ck.eq(len(rows), len(lcs), "CSV rows vs --json lifecycles")
        ck.eq(len(lcs), 2, "lifecycles")
        hdr = CSV_HEADER.split(",")
        by_conn = {str(lc.get("conn")): lc for lc in lcs}
        port, cport = int(facts["server_port"]), int(facts["client_port"])
        seen_paths = {}
        for i, row in enumerate(rows):
            if not ck.eq(len(row), len(hdr), "CSV row %d field count" % (i + 1)):
                continue
            r = dict(zip(hdr, row))
            lc = by_conn.get(r["conn"])
            if not ck.true(lc is not None, "CSV row %d conn %s not in --json" % (i + 1, r["conn"])):
                continue
            lab = "row conn %s" % r["conn"]
            for k in ("family", "saddr", "sport", "daddr", "dport", "netns", "start_ns", "end_ns",
                      "duration_ns", "fin_wait2_ns", "close_wait_ns", "time_wait_ns", "end"):
                ck.eq(r[k], str(lc.get(k)), "%s %s" % (lab, k))
            for k in ("complete", "seeded", "start_exact", "gap", "evicted"):
                ck.true(r[k].lower() in (("true", "1") if lc.get(k) else ("false", "0")),
                        "%s %s = %r, --json says %r" % (lab, k, r[k], lc.get(k)))
            ck.true(r["pid"] == str(lc.get("pid")) if lc.get("pid") is not None
                    else r["pid"] in ("", "-"), "%s pid %r, --json %r" % (lab, r["pid"], lc.get("pid")))
            ck.eq(r["TIME_WAIT_ns"], r["time_wait_ns"], lab + " TIME_WAIT_ns == time_wait_ns")
            ck.eq(r["CLOSE_WAIT_ns"], r["close_wait_ns"], lab + " CLOSE_WAIT_ns == close_wait_ns")
            for st, ns_ in lc_spans(lc).items():
                ck.eq(r[st + "_ns"], str(ns_), "%s %s_ns vs --json states" % (lab, st))
            path = names(lc)
            ck.true(r["path"] in (">".join(path), ">".join(path[:-1] if path[-1:] == ["CLOSED"]
                                                          else path)),
                    "%s path %r, --json states %s" % (lab, r["path"], path))
            seen_paths[(int(r["sport"]), int(r["dport"]))] = r["path"]
        ck.true(seen_paths.get((cport, port), "").startswith(
            "SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>TIME_WAIT"),
            "client row path %r" % seen_paths.get((cport, port)))
        ck.true(seen_paths.get((port, cport), "").startswith(
            "SYN_RECV>ESTABLISHED>CLOSE_WAIT>LAST_ACK"),
            "server row path %r" % seen_paths.get((port, cport)))
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + ["csv: " + l for l in lines[:6]] +
                              rc.details(4))

    def t_replay_truncated(self, workdir):
        data, log, blocks, full = self.multiblock_log(workdir)
        full_recs = full.records()
        full_trans = [json.dumps(r, sort_keys=True) for r in full_recs
                      if r.get("type") == "transition"]
        full_lcs = {json.dumps(r, sort_keys=True) for r in full_recs
                    if r.get("type") == "lifecycle" and r.get("complete") is True}
        (om, nm), (ol, nl) = blocks[len(blocks) // 2], blocks[-1]
        ob, nb = max(blocks[:-1], key=lambda b: b[1])
        cuts = [("middle of the last block", ol + nl // 2),
                ("middle of a middle block", om + nm // 2),
                ("middle of the biggest block", ob + nb // 2),
                ("3 bytes into the last block", ol + 3),
                ("last byte missing", len(data) - 1)]
        cuts = [c for i, c in enumerate(cuts) if c[1] not in [x[1] for x in cuts[:i]]]
        ck = Checker()
        counts = {}
        for what, cut in cuts:
            path = os.path.join(workdir, "cut-%d.tlog" % cut)
            with open(path, "wb") as f:
                f.write(data[:cut])
            rp = self.replay(path, ["--json", "--events"])
            lab = "cut at %d (%s)" % (cut, what)
            if not ck.eq(rp.rc, 0, lab + " exit status"):
                ck.errors += rp.details(4)
                continue
            warn = [l for l in rp.err_lines if "truncated at byte" in l]
            if ck.eq(len(warn), 1, lab + ": stderr lines with 'truncated at byte'"):
                off = int(TRUNC_RE.search(warn[0]).group(1))
                start = max([o for o, _ in blocks if o <= cut] or [0])
                ck.true(start <= off <= cut, "%s: warning says byte %d, expected in [%d, %d] "
                        "(the incomplete block's start .. the cut)" % (lab, off, start, cut))
            else:
                ck.errors += rp.details(4)
            recs = rp.records()
            # The tail: lifecycles still open at the cut, then the summary.
            first_open = next((i for i, r in enumerate(recs) if r.get("type") == "lifecycle"
                               and r.get("complete") is not True), len(recs))
            trans = [json.dumps(r, sort_keys=True) for r in recs[:first_open]
                     if r.get("type") == "transition"]
            lcs = [json.dumps(r, sort_keys=True) for r in recs[:first_open]
                   if r.get("type") == "lifecycle"]
            counts[cut] = len(trans)
            if not ck.true(is_subsequence(trans, full_trans),
                           "%s: its %d transitions are not, in order, among the full replay's %d"
                           % (lab, len(trans), len(full_trans))):
                bad = next((t for t in trans if t not in set(full_trans)), None)
                ck.errors.append("  e.g. %s" % (bad or "(all present, order differs)")[:300])
            notin = [l for l in lcs if l not in full_lcs]
            ck.eq(len(notin), 0, lab + ": finished lifecycles not in the full replay")
            ck.true(any(r.get("type") == "summary" for r in recs[-1:]),
                    lab + ": output does not end with a summary")
        # Everything before the cut: a later cut reports at least as much,
        # and a cut in the last block keeps all the earlier blocks' events.
        by_off = sorted(counts)
        for a, b in zip(by_off, by_off[1:]):
            ck.true(counts[a] <= counts[b], "cut at %d reports %d transitions, the later cut at "
                    "%d only %d" % (a, counts[a], b, counts[b]))
        clean = os.path.join(workdir, "clean-prefix.tlog")
        with open(clean, "wb") as f:
            f.write(data[:ol])
        rp = self.replay(clean, ["--json", "--events"])
        if ck.eq(rp.rc, 0, "replay of the blocks before the last exit status"):
            n_before = sum(1 for r in rp.records() if r.get("type") == "transition")
            ck.true(n_before > 0 and counts.get(ol + nl // 2, 0) >= n_before,
                    "cut in the last block reports %s transitions, the blocks before it alone %d"
                    % (counts.get(ol + nl // 2), n_before))
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + [
                "log %d bytes, blocks (offset, length): %s" % (len(data), blocks[:12]),
                "full replay: %d transitions" % len(full_trans)])
        return "%d blocks; transitions per cut: %s of %d" % (
            len(blocks), ", ".join("%d@%d" % (counts[c], c) for c in by_off), len(full_trans))

    def t_replay_corrupt_block(self, workdir):
        data, log, blocks, full = self.multiblock_log(workdir)
        full_t = [tkey(r) for r in full.records() if r.get("type") == "transition"]
        # Events from different CPUs may reach the log slightly out of
        # order: leave a margin at the block's edges.
        margin = 5 * NS_PER_MS

        # Event times around a block: the last transition in the replay of
        # the blocks before it, and of those up to it.
        last_ts_cache = {}

        def last_ts(upto):
            if upto not in last_ts_cache:
                p = os.path.join(workdir, "prefix-%d.tlog" % upto)
                with open(p, "wb") as f:
                    f.write(data[:upto])
                rp = self.replay_ok(p, ["--json", "--events"])
                last_ts_cache[upto] = max([t.get("ts_ns") for t in rp.records()
                                           if t.get("type") == "transition"] or [0])
            return last_ts_cache[upto]

        # The biggest block with transitions inside it and after it (where
        # the blocks fall depends on timing: the last burst may end the
        # traffic in the block that holds it).
        candidates = []
        for i in range(1, len(blocks) - 1):
            off, n = blocks[i]
            tb, ta = last_ts(off), last_ts(off + n)
            if any(tb + margin < t[0] < ta - margin for t in full_t) and \
                    any(t[0] > ta for t in full_t):
                candidates.append((n, i, tb, ta))
        if not candidates:
            raise TestFailure("no block of the log has transitions inside and after it",
                              ["blocks (offset, length): %s" % blocks[:12]])
        n, k, t_before, t_after = max(candidates)
        off = blocks[k][0]
        bad = bytearray(data)
        mid = off + n // 2
        for i in range(mid - 2, mid + 2):
            bad[i] ^= 0x5A
        path = os.path.join(workdir, "corrupt.tlog")
        with open(path, "wb") as f:
            f.write(bad)
        rp = self.replay(path, ["--json", "--events"])
        ck = Checker()
        ck.eq(rp.rc, 0, "exit status")
        warn = [l for l in rp.err_lines if "CRC" in l]
        if ck.eq(len(warn), 1, "stderr lines about a CRC"):
            m = BADCRC_RE.search(warn[0])
            if ck.true(m, "warning %r is not 'block N at byte OFFSET: bad CRC, skipped'" % warn[0]):
                ck.eq(int(m.group(1)), k, "block number in the warning")
                ck.eq(int(m.group(2)), off, "warning's byte offset")
        others = [l for l in rp.err_lines if l.strip() and "CRC" not in l]
        ck.eq(others, [], "other stderr lines")
        got_t = [tkey(r) for r in rp.records() if r.get("type") == "transition"] if rp.rc == 0 else []
        inside = [t for t in full_t if t_before + margin < t[0] < t_after - margin]
        ck.true(inside, "the bad block's time range (%d, %d) has no transitions in the full replay"
                % (t_before, t_after))
        leaked = [t for t in got_t if t_before + margin < t[0] < t_after - margin]
        ck.eq(len(leaked), 0, "transitions from the skipped block's time range")
        later_full = [t for t in full_t if t[0] > t_after]
        later_got = [t for t in got_t if t[0] > t_after]
        ck.true(later_full and later_got, "transitions after the bad block: %d in the replay, "
                "%d in the full one" % (len(later_got), len(later_full)))
        ck.true(later_full[-1:] == later_got[-1:], "last transition %s, the full replay's %s" % (
            later_got[-1:], later_full[-1:]))
        missing = set(later_full) - set(later_got)
        ck.true(len(missing) <= len(later_full) // 10,
                "%d of the %d transitions after the bad block are missing" % (
                    len(missing), len(later_full)))
        early = [t for t in full_t if t[0] <= t_before - margin]
        ck.eq([t for t in got_t if t[0] <= t_before - margin], early,
              "transitions before the bad block")
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + rp.details(6) + [
                "blocks (offset, length): %s; corrupted #%d at %d" % (blocks[:12], k, mid)])
        return "block %d of %d skipped; %d/%d later transitions kept" % (
            k, len(blocks), len(later_got), len(later_full))

    def t_replay_foreign_file(self, workdir):
        empty = os.path.join(workdir, "empty")
        open(empty, "wb").close()
        ck = Checker()
        details = []

        def one_error(path, needle, what):
            rp = self.replay(path, ["--json"])
            lines = [l for l in rp.err_lines if l.strip()]
            ok = ck.eq(rp.rc, 1, what + " exit status")
            ok &= ck.eq(len(lines), 1, what + " stderr lines")
            ok &= ck.true(any(needle in l for l in lines), "%s: stderr does not say %r" % (what, needle))
            ok &= ck.eq(rp.out, b"", what + " stdout")
            if not ok:
                details.extend(rp.details(4))

        one_error("/bin/ls", "not a tcplinger log", "/bin/ls")
        one_error(empty, "not a tcplinger log", "empty file")

        def drive(ctx):
            ctx.start("client_first").finish()

        ctx = self.recording(workdir, [], drive, sanitized=True)
        with open(ctx.rec.log, "rb") as f:
            data = bytearray(f.read())
        voff = LOG_VERSION_OFFSET
        ver = int.from_bytes(data[voff:voff + 2], "little")
        ck.eq(ver, 2, "version field of a fresh log (u16 at byte %d)" % voff)
        bumped = os.path.join(workdir, "bumped.tlog")
        data[voff:voff + 2] = (ver + 1).to_bytes(2, "little")
        with open(bumped, "wb") as f:
            f.write(data)
        one_error(bumped, "version", "log with version %d" % (ver + 1))
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + details)

    def t_record_sigkill(self, workdir):
        obs = {}

        def drive(ctx):
            sc = self.churn_forever(ctx)
            time.sleep(3.0)
            if sc.p.poll() is not None:
                raise TestFailure("churn ended (%s) before the recorder was killed" % sc.p.poll(),
                                  sc.details())
            obs["t"] = ctx.rec.sigkill()

        ctx = self.recording(workdir, [], drive, sanitized=False, sysctls=self.CHURN_SYSCTLS)
        out = os.path.join(workdir, "replay.out")
        rp = self.replay(ctx.rec.log, ["--json", "--events"], sanitized=False, out_path=out)
        if rp.rc != 0:
            raise TestFailure("replay of the killed recording exited with %d" % rp.rc, rp.details())
        last = None
        n = 0
        with open(out, "rb") as f:
            for raw in f:
                if raw.startswith(b'{"type":"transition"'):
                    m = TS_RE.search(raw)
                    if m:
                        n += 1
                        last = max(last or 0, int(m.group(1)))
        t = obs["t"]
        size = os.path.getsize(ctx.rec.log)
        if last is None:
            raise TestFailure("no transitions in the replay (log %d bytes)" % size, rp.details())
        lag = t - last
        if not (0 <= lag <= 1200 * NS_PER_MS):
            raise TestFailure("last transition %s before the SIGKILL, expected within 1.2 s" %
                              fmt_s(lag), rp.details() + ["log %d bytes, %d transitions" % (size, n)])
        return "log %d bytes, %d transitions, the last %s before the kill%s" % (
            size, n, fmt_s(lag), "; replay warned: " + rp.err_lines[0] if rp.err_lines else "")

    def t_record_disk_full(self, workdir):
        mnt = os.path.join(workdir, "tmpfs")
        os.mkdir(mnt)
        run(["mount", "-t", "tmpfs", "-o", "size=128k,mode=0755", "tmpfs", mnt])
        try:
            log = os.path.join(mnt, "full.tlog")

            def drive(ctx):
                self.churn_forever(ctx)
                ctx.rec.wait_exit(30)

            ctx = self.recording(workdir, [], drive, sanitized=True, log=log,
                                 sysctls=self.CHURN_SYSCTLS)
            rec = ctx.rec
            lines = rec.stderr_lines()
            ck = Checker()
            ck.eq(rec.rc, 1, "recorder exit status")
            enospc = [l for l in lines if "No space left on device" in l]
            if ck.eq(len(enospc), 1, "stderr lines with 'No space left on device'"):
                ck.eq(enospc[0], "tcplinger: writing %s failed: No space left on device" % log,
                      "the error line")
            size = os.path.getsize(log)
            rp = self.replay(log, ["--json", "--events"])
            ck.eq(rp.rc, 0, "replay of the partial log exit status")
            n = sum(1 for r in rp.records() if r.get("type") == "transition") if rp.rc == 0 else 0
            ck.true(n > 0, "the partial log (%d bytes) replays no transitions" % size)
            if ck.errors:
                raise TestFailure(ck.errors[0], ck.errors[1:] + rec.stderr_tail() + rp.details(4))
            return "stopped at %d bytes; %d transitions replayed%s" % (
                size, n, " (replay: %s)" % rp.err_lines[0] if rp.err_lines else "")
        finally:
            r = subprocess.run(["umount", mnt], capture_output=True, timeout=20)
            if r.returncode != 0:
                subprocess.run(["umount", "-l", mnt], capture_output=True, timeout=20)

    def t_record_max_size(self, workdir):
        def drive(ctx):
            self.churn_forever(ctx)
            ctx.rec.wait_exit(30)

        ctx = self.recording(workdir, ["--max-size", "64K"], drive, sanitized=True,
                             sysctls=self.CHURN_SYSCTLS)
        rec = ctx.rec
        ck = Checker()
        ck.eq(rec.rc, 0, "recorder exit status")
        lines = rec.stderr_lines()
        hit = [l for l in lines if "reached --max-size" in l]
        if ck.eq(len(hit), 1, "stderr lines with 'reached --max-size'"):
            ck.eq(hit[0], "tcplinger: %s reached --max-size: recording stopped" % rec.log,
                  "the --max-size line")
        size = os.path.getsize(rec.log)
        ck.true(size <= 65536, "log is %d bytes, more than --max-size 64K" % size)
        # Traffic never stopped: a capped log should hold events, not just
        # its header.
        with open(rec.log, "rb") as f:
            nblocks = len(log_blocks(f.read()))
        ck.true(size >= 16384 and nblocks > 0, "log is %d bytes with %d blocks: expected 16K..64K "
                "of events under continuous traffic" % (size, nblocks))
        rp = self.replay(rec.log, ["--json", "--events"])
        ck.eq(rp.rc, 0, "replay exit status")
        ck.eq([l for l in rp.err_lines if l.strip()], [], "replay stderr (the log should be whole)")
        n = sum(1 for r in rp.records() if r.get("type") == "transition") if rp.rc == 0 else 0
        ck.true(n > 0, "the replay has no transitions")
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + rec.stderr_tail() + rp.details(4))
        return "%d bytes, %d transitions" % (size, n)

    def t_record_stdout(self, workdir):
        out = os.path.join(workdir, "stdout.tlog")
        facts = {}

        def drive(ctx):
            sc = ctx.start("client_first")
            sc.finish()
            facts.update(sc.facts)

        ctx = self.recording(workdir, [], drive, sanitized=True, log="-", stdout_path=out)
        rp = self.replay_ok(out, ["--json", "--events"])
        sess = Session(rp.records(), ctx.ns.inode)
        port, cport = int(facts["server_port"]), int(facts["client_port"])
        ck = Checker()
        ck.eq([l for l in rp.err_lines if l.strip()], [], "replay stderr")
        check_summary(ck, sess)
        ck.eq(len(sess.lifecycles), 2, "number of lifecycles")
        cli = sess.one(ck, cport, port, "client")
        srv = sess.one(ck, port, cport, "server")
        pid, comm = int(facts["pid"]), self.comm_of("client_first")
        check_lifecycle(ck, sess, cli, "client",
                        ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"],
                        pid=pid, comm=comm)
        check_lifecycle(ck, sess, srv, "server",
                        ["SYN_RECV", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"],
                        end="closed", pid=pid, comm=comm)
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + [jline(r) for r in rp.records()[:8]] +
                              ctx.rec.stderr_tail())
        return "%d bytes on stdout" % os.path.getsize(out)

    def run_fuzzer(self, workdir, name, corpus_dir, secs, timeout, extra=()):
        """A libFuzzer target of the plain build for secs, from a copy of
        tests/fuzz/<corpus_dir>; fails on any finding."""
        fuzzer = os.path.join(self.build, "tests", name)
        if not os.access(fuzzer, os.X_OK):
            raise TestSkip("no fuzzer binary at %s (not built)" % fuzzer)
        corpus = os.path.join(workdir, "corpus")
        src = os.path.join(ROOT, "tests", "fuzz", corpus_dir)
        if os.path.isdir(src):
            shutil.copytree(src, corpus)
        else:
            os.mkdir(corpus)
        try:
            r = subprocess.run([fuzzer, "-max_total_time=%d" % secs] + list(extra) + [corpus],
                               capture_output=True, text=True, timeout=timeout, cwd=workdir,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise TestFailure("fuzzer still running %d s after start (-max_total_time=%d)"
                              % (timeout, secs))
        tail = ["fuzzer: " + l for l in (r.stdout + r.stderr).splitlines()[-25:]]
        if r.returncode != 0:
            raise TestFailure("fuzzer exited with %d" % r.returncode, tail)
        m = re.findall(r"#(\d+)\s+DONE", r.stderr)
        return "%s runs%s" % (m[-1] if m else "?", "" if os.path.isdir(src) else
                              " (no tests/fuzz/%s: started empty)" % corpus_dir)

    def t_fuzz_logfile(self, workdir):
        return self.run_fuzzer(workdir, "fuzz_logfile", "corpus", 20, 90)

    def t_fuzz_replay(self, workdir):
        """The whole replay's fuzzer (tests/fuzz/fuzz_replay.c) for 20 s."""
        return self.run_fuzzer(workdir, "fuzz_replay", "corpus", 20, 120, ["-rss_limit_mb=4096"])

    def t_fuzz_symbolize(self, workdir):
        """The symbolizer's ELF/DWARF reading, fuzzed for 15 s from the seeds."""
        return self.run_fuzzer(workdir, "fuzz_symbolize", "corpus-symbolize", 15, 90,
                               ["-rss_limit_mb=2048"])

    # -- logs crafted against replay's bounds (tests/fuzz/gen_crafted.c)

    def crafted_log(self, workdir, *args):
        gen = os.path.join(self.build, "tests", "gen_crafted")
        if not os.access(gen, os.X_OK):
            raise TestFailure("generator missing: %s (make test-bins)" % gen)
        path = os.path.join(workdir, "-".join(str(a) for a in args) + ".tlog")
        r = subprocess.run([gen] + [str(a) for a in args] + [path], capture_output=True,
                           text=True, timeout=120)
        if r.returncode != 0:
            raise TestFailure("gen_crafted %s failed: %s" % (args, r.stderr.strip()))
        return path

    def replay_measured(self, workdir, log, args, timeout):
        """Replays with the plain build (sanitizers would skew memory): returns
        (stdout lines, stderr, seconds, peak RSS in MiB).  The RSS comes from
        GNU time: a child's ru_maxrss as python sees it includes python's own
        RSS from before the exec."""
        timer = "/usr/bin/time"
        if not os.access(timer, os.X_OK):
            raise TestSkip("no %s (Debian package time) to measure peak RSS" % timer)
        rss_path = os.path.join(workdir, "rss")
        out_path = os.path.join(workdir, "out.txt")
        argv = [self.tracer_bin(False), "replay"] + list(args) + [log]
        with open(out_path, "wb") as out:
            t0 = time.monotonic()
            p = subprocess.Popen([timer, "-f", "%M", "-o", rss_path] + argv, stdout=out,
                                 stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
            try:
                _, err = p.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.communicate()
                raise TestFailure("replay did not end within %s s (a quadratic path?): %s"
                                  % (timeout, " ".join(argv)))
            secs = time.monotonic() - t0
        err_text = err.decode("utf-8", "replace")
        if p.returncode != 0:
            raise TestFailure("replay exited with %d: %s" % (p.returncode, " ".join(argv)),
                              err_text.splitlines()[-8:])
        with open(rss_path) as f:
            rss_kib = int(f.read().split()[-1])
        with open(out_path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return lines, err_text, secs, rss_kib / 1024.0

    def t_replay_crafted_memory(self, workdir):
        """Stack blobs that deflate packs a hundredfold, and a stack under the
        top reference, must not make replay hold much more than the log."""
        ck = Checker()
        notes = []
        log = self.crafted_log(workdir, "stacks", 40000)
        size_mb = os.path.getsize(log) / 2**20
        _, err, secs, rss = self.replay_measured(workdir, log, [], 60)
        notes.append("stacks %.1f MiB: %.0f MiB" % (size_mb, rss))
        ck.true(rss < 32, "without --leaks, no stacks are kept: peak RSS %.0f MiB < 32 MiB "
                "(a %.1f MiB log of 40000 8 KiB blobs)" % (rss, size_mb))
        _, err, secs, rss = self.replay_measured(workdir, log, ["--leaks"], 60)
        bound = 16 * size_mb + 4 + 32
        notes.append("--leaks %.0f MiB" % rss)
        ck.true(rss < bound, "--leaks: peak RSS %.0f MiB < %.0f MiB (16 x log + 4 MiB + 32 MiB)"
                % (rss, bound))
        ck.true(re.search(r"warning: .*: \d+ stacks skipped", err) is not None,
                "the skipped stacks are counted in a warning")
        # --max-stacks refusals are counted as such, not as memory ones
        log = self.crafted_log(workdir, "stacks", 50)
        _, err, secs, rss = self.replay_measured(workdir, log, ["--leaks", "--max-stacks", "3"], 60)
        ck.true(re.search(r"tcplinger: 47 stacks not kept: --max-stacks 3 reached", err)
                is not None and "stacks skipped" not in err,
                "--max-stacks 3 of 50 stacks: 47 counted once, as not kept: %r" % err)
        log = self.crafted_log(workdir, "bigref")
        _, err, secs, rss = self.replay_measured(workdir, log, ["--leaks"], 60)
        notes.append("bigref %.0f MiB" % rss)
        ck.true(rss < 24, "--leaks: one stack under the top reference: peak RSS %.0f MiB < 24 MiB"
                % rss)
        # the small crafted seeds, under the sanitizers
        for seed in sorted(glob.glob(os.path.join(ROOT, "tests", "fuzz", "corpus", "log-crafted-*"))):
            for args in (["--leaks", "--json"], ["--events"]):
                rp = self.replay_ok(seed, args)
                ck.true(rp.out, "%s %s: some output" % (os.path.basename(seed), " ".join(args)))
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + notes)
        return ", ".join(notes)

    def t_replay_crafted_time(self, workdir):
        """Many leak groups and many losses with many open connections: linear
        work takes a second, the quadratic paths these replace a minute."""
        ck = Checker()
        notes = []
        log = self.crafted_log(workdir, "groups", 200000)
        lines, err, secs, rss = self.replay_measured(workdir, log, ["--leaks", "--json"], 15)
        last = json.loads(lines[-1]) if lines else {}
        ck.eq(last.get("groups"), 200000, "leak groups of 200000 owners")
        ck.true(secs < 15, "--leaks with 200000 groups in %.1f s" % secs)
        notes.append("200000 groups: %.1f s" % secs)
        log = self.crafted_log(workdir, "lost", 200000, 40000)
        lines, err, secs, rss = self.replay_measured(workdir, log, ["--json"], 15)
        last = json.loads(lines[-1]) if lines else {}
        ck.eq(last.get("lost"), 40000, "lost events counted")
        ck.eq(last.get("incomplete"), 200000, "every connection open at a loss is incomplete")
        ck.true(secs < 15, "40000 losses with 200000 open in %.1f s" % secs)
        notes.append("40000 losses x 200000 open: %.1f s" % secs)
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + notes)
        return ", ".join(notes)

    # -- CLOSE_WAIT leak hunting: `tcplinger leaks`, `replay --leaks`
    #
    # Programs (tests/scenarios/leak_*.c) that leave one socket in
    # CLOSE_WAIT each, print ready=1 once it is there and hold it until a
    # line on stdin.  Each: (port, created_by, eof_seen, the function that
    # must show in the creation stack); None for the control, which closes
    # properly and must never be reported.

    LEAK_PROGS = {
        "leak_forget": (5100, "accept", False, "serve_forgetful_client"),
        "leak_fork": (5101, "accept", False, "serve_forked_client"),
        "leak_blocked": (5102, "accept", False, "serve_blocked_handoff"),
        "leak_eof": (5103, "accept", True, "serve_until_eof"),
        "leak_client": (5104, "connect", False, "dial_and_forget"),
        "leak_control": (5105, None, None, None),
    }
    # How long every leak is held past ready=1 before the report (--min-age 1).
    LEAK_HOLD_S = 1.5
    # What replay --leaks must reproduce of each live group.
    LEAK_SAME_KEYS = ("pid", "comm", "count", "eof_seen", "created_by", "stack", "holders",
                      "closed_by", "diagnosis")

    def leak_tracer(self, ns, workdir, args, tag="leaks"):
        """`tcplinger leaks --json --netns INODE ARGS` (sanitized build), not
        started yet."""
        tr = Tracer(self.tracer_bin(True), ns.inode, workdir, True)
        tr.argv = [tr.binary, "leaks", "--json", "--netns", str(ns.inode)] + list(args)
        tr.out_path = os.path.join(workdir, tag + ".out")
        tr.err_path = os.path.join(workdir, tag + ".err")
        return tr

    @staticmethod
    def leak_wait_exit(tr, timeout):
        """For a leaks tracer given -d: waits until it ends by itself, then
        checks it as Tracer.stop() does.  Returns its records."""
        try:
            tr.rc = tr.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            tr.kill()
            raise TestFailure("tracer (%s) still running after %ss" % (
                " ".join(tr.argv[1:]), timeout), tr.stderr_tail())
        tr.t_stop = boot_ns()
        tr.out_f.close()
        tr.err_f.close()
        tr.parse()
        if SANITIZER_RE.search(tr.stderr_text()):
            raise TestFailure("sanitizer report on tracer stderr", tr.stderr_tail(40))
        if tr.rc != 0:
            raise TestFailure("tracer exited with %d at the end of -d" % tr.rc, tr.stderr_tail())
        if tr.bad_lines:
            raise TestFailure("%d stdout line(s) are not JSON objects" % len(tr.bad_lines),
                              tr.bad_lines[:5])
        return tr.records

    def leak_start(self, ns, names, scens):
        """Starts each program on its own port, stdin a pipe; each is also
        appended to scens (the caller kills them).  Returns name -> Scenario."""
        progs = {}
        for name in names:
            sc = Scenario(ns.cmd([self.scen_bin(name), "-p", str(self.LEAK_PROGS[name][0])]),
                          stdin_pipe=True)
            scens.append(sc)
            progs[name] = sc
        return progs

    @staticmethod
    def leak_ready(progs):
        """Until every program has printed ready=1: each leak is in place."""
        for sc in progs.values():
            sc.fact("ready")

    @staticmethod
    def leak_go(progs):
        """Ends the leaks: "go" to every program, then each must finish."""
        for sc in progs.values():
            sc.send_line()
        for sc in progs.values():
            sc.finish()

    @staticmethod
    def leak_groups(recs, pid=None):
        """The `leak` lines; those of that pid only, if given."""
        return [r for r in recs if r.get("type") == "leak" and (pid is None or r.get("pid") == pid)]

    def leak_guard(self, box, body):
        """body(); a TestFailure gets the stderr of box["tracer"] and the
        facts of box["progs"].  After it, box["scens"], box["tracer"] and
        box["ns"] (those there) are killed or closed."""
        try:
            return body()
        except TestFailure as e:
            if box.get("tracer"):
                e.details += [l for l in box["tracer"].stderr_tail() if l not in e.details]
            e.details += self.leak_facts(box.get("progs", {}))
            raise
        finally:
            for sc in box.get("scens", ()):
                sc.kill()
            if box.get("tracer"):
                box["tracer"].kill()
            if box.get("ns"):
                box["ns"].close()

    def leak_hold(self, box, ns, workdir, names, scens, also_stop=None):
        """A live `leaks --min-age 1` (box["tracer"]), then the programs
        (box["progs"], also appended to scens); every leak held LEAK_HOLD_S
        past ready=1, then the tracer stopped (and also_stop(), while every
        leak is still there) and the programs ended.  Returns (its records,
        a time after the report)."""
        tracer = box["tracer"] = self.leak_tracer(ns, workdir, ["--min-age", "1", "-d", "120"])
        tracer.start()
        progs = box["progs"] = self.leak_start(ns, names, scens)
        self.leak_ready(progs)
        time.sleep(self.LEAK_HOLD_S)
        recs = tracer.stop()
        if also_stop:
            also_stop()
        t_end = boot_ns()
        self.leak_go(progs)
        return recs, t_end

    @staticmethod
    def leak_lines(recs, n=12):
        """Report lines for failure details, wrapped: a details line is cut
        at 400 characters."""
        out = ["leaks output (%d lines):" % len(recs)]
        for r in recs[:n]:
            s = json.dumps(r, separators=(",", ":"))[:2400]
            out += ["  " + ("" if i == 0 else "  ") + s[i:i + 360] for i in range(0, len(s), 360)]
        return out

    @staticmethod
    def leak_facts(progs):
        d = []
        for name, sc in progs.items():
            d.append("%s: %s" % (name, " ".join("%s=%s" % kv for kv in sc.facts.items())))
            d += ["  err: " + l for l in sc.stderr[-3:]]
        return d

    def leak_raise(self, ck, progs, report, more):
        """Fails on the first failed expectation, if any; details: the rest,
        the report lines, the programs' facts and more."""
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + report + self.leak_facts(progs) + more)

    def check_leak_summary(self, ck, recs, n, min_age_ns, label):
        """The last line: the one final `leaks` line, counting n groups of
        one socket each; as many `leak` lines."""
        sums = [r for r in recs if r.get("type") == "leaks"]
        ck.eq(len(self.leak_groups(recs)), n, label + ": number of leak lines")
        if not ck.eq(len(sums), 1, label + ": number of 'leaks' summary lines"):
            return
        s = sums[0]
        ck.true(recs[-1] is s, label + ": the 'leaks' summary is not the last line")
        ck.eq(s.get("final"), True, label + ": summary final")
        ck.eq(s.get("groups"), n, label + ": summary groups")
        ck.eq(s.get("sockets"), n, label + ": summary sockets")
        ck.eq(s.get("min_age_ns"), min_age_ns, label + ": summary min_age_ns")
        ck.true(isinstance(s.get("ts_ns"), int), label + ": summary ts_ns %r is not an integer"
                % (s.get("ts_ns"),))

    def check_leak_group(self, ck, recs, ns, name, sc, t_end, label, min_age_ns=NS_PER_S,
                         seeded=False):
        """The one group of program `name` (by its leak_pid): owner, count,
        how it was made, who holds it, its oldest socket.  t_end: a time
        after the report.  seeded: the socket was made before tracing, so
        what only its creation shows (stack, cmdline) may be missing, and
        created_by may be "unknown" (an accept may be inferred from the
        kernel's state, never a connect).  Returns the group or None."""
        port, want_created, want_eof, fn = self.LEAK_PROGS[name]
        lab = "%s %s" % (label, name)
        pid, fd = sc.ifact("leak_pid"), sc.ifact("leak_fd")
        cport, t_cw = sc.ifact("client_port"), sc.ifact("t_close_wait")
        comm = self.comm_of(name)
        mine = self.leak_groups(recs, pid)
        if not ck.eq(len(mine), 1, "%s: groups with pid %d (leak_pid)" % (lab, pid)):
            return None
        g = mine[0]
        ck.eq(g.get("comm"), comm, lab + " comm")
        ck.eq(g.get("count"), 1, lab + " count")
        ck.eq(g.get("eof_seen"), want_eof, lab + " eof_seen")
        created = ("unknown", want_created) if seeded else (want_created,)
        ck.true(g.get("created_by") in created, "%s created_by: got %r, expected %s" % (
            lab, g.get("created_by"), " or ".join(map(repr, created))))
        if not seeded:
            frames = g.get("stack")
            ck.true(isinstance(frames, list) and any(
                isinstance(fr, str) and fr.startswith(fn + "+0x") for fr in frames),
                "%s stack: no frame '%s+0x...' in %r" % (lab, fn, frames))
        holders = [(h.get("pid"), h.get("fd")) for h in g.get("holders") or []
                   if isinstance(h, dict)]
        closers = [c.get("pid") for c in g.get("closed_by") or [] if isinstance(c, dict)]
        diag = g.get("diagnosis")
        ck.true(isinstance(diag, str) and diag.strip(), "%s diagnosis: got %r, expected a line "
                "of text" % (lab, diag))
        if name == "leak_fork":
            child = sc.ifact("child_pid")
            ck.eq(holders, [(pid, fd)], lab + " holders (pid, fd): the parent only")
            ck.true(child in closers, "%s closed_by pids: got %r, expected the child %d among "
                    "them" % (lab, closers, child))
            for who, p in (("parent", pid), ("child", child)):
                ck.true(isinstance(diag, str) and re.search(r"\b%d\b" % p, diag),
                        "%s diagnosis %r does not name the %s, pid %d" % (lab, diag, who, p))
        else:
            ck.true((pid, fd) in holders, "%s holders (pid, fd): got %r, expected (%d, %d) "
                    "among them" % (lab, holders, pid, fd))
            ck.eq(closers, [], lab + " closed_by pids (no copy was closed)")
        for h in g.get("holders") or []:
            if isinstance(h, dict) and h.get("pid") == pid:
                ck.eq(h.get("comm"), comm, lab + " holder comm")
        # The socket entered CLOSE_WAIT just before t_close_wait (the
        # program polls for it): its age can exceed t_end - t_close_wait
        # only by that poll's few ms; 1 s of slack.
        ck.within(g.get("oldest_ns"), min_age_ns, t_end - t_cw + NS_PER_S,
                  lab + " oldest_ns (>= --min-age, <= the time since CLOSE_WAIT + 1 s)")
        local, peer = (cport, port) if want_created == "connect" else (port, cport)
        ck.eq((g.get("sport"), g.get("dport")), (local, peer), lab + " (sport, dport)")
        ck.eq((g.get("family"), g.get("saddr"), g.get("daddr")), ("IPv4", "127.0.0.1", "127.0.0.1"),
              lab + " (family, saddr, daddr)")
        ck.eq(g.get("netns"), ns.inode, lab + " netns")
        cmd = g.get("cmdline")
        ck.true(isinstance(cmd, str) and cmd.startswith(self.scen_bin(name)) or
                (seeded and cmd is None),
                "%s cmdline: got %r, expected it to begin with %s" % (lab, cmd, self.scen_bin(name)))
        return g

    def check_leak_control(self, ck, recs, sc, label):
        """The control closed both sides: no group of its pid or its pair."""
        pid, port, cport = sc.ifact("leak_pid"), sc.ifact("server_port"), sc.ifact("client_port")
        found = [jline(g) for g in self.leak_groups(recs) if
                 g.get("pid") == pid or (g.get("sport"), g.get("dport")) in ((port, cport), (cport, port))]
        ck.eq(found, [], "%s leak_control (pid %d, ports %d/%d): groups" % (label, pid, port, cport))

    def check_leak_report(self, ck, recs, ns, names, progs, t_end, label):
        """A group for each leaking program of names, none for the control
        (the last of names), and the summary."""
        for name in names[:-1]:
            self.check_leak_group(ck, recs, ns, name, progs[name], t_end, label)
        self.check_leak_control(ck, recs, progs["leak_control"], label)
        self.check_leak_summary(ck, recs, len(names) - 1, NS_PER_S, label)

    def t_leaks_live(self, workdir):
        names = list(self.LEAK_PROGS)
        box = {"scens": []}

        def body():
            ns = box["ns"] = Netns()
            return self.leak_hold(box, ns, workdir, names, box["scens"])

        recs, t_end = self.leak_guard(box, body)
        ck = Checker()
        self.check_leak_report(ck, recs, box["ns"], names, box["progs"], t_end, "live")
        self.leak_raise(ck, box["progs"], self.leak_lines(recs), box["tracer"].stderr_tail(6))
        return "%d groups" % len(self.leak_groups(recs))

    def t_leaks_replay(self, workdir):
        """record while the programs leak, a live `leaks` alongside; the
        replay's report (as uid 65534) must have the live groups."""
        udir = self.unpriv_dir(workdir)
        log = os.path.join(workdir, "leaks.tlog")
        names = ["leak_forget", "leak_fork", "leak_eof", "leak_client", "leak_control"]
        box = {}

        def drive(ctx):
            # Both end while every leak is still there: the log's end is
            # what replay --leaks reports on.
            box["live"] = self.leak_hold(box, ctx.ns, workdir, names, ctx.scens, ctx.rec.stop)

        ctx = self.leak_guard(box, lambda: self.recording(workdir, ["--leaks"], drive,
                                                          sanitized=True, log=log))
        progs, (live, t_end) = box["progs"], box["live"]
        copy = os.path.join(udir, "copy.tlog")
        shutil.copy(log, copy)
        os.chmod(copy, 0o644)
        rp = self.replay(copy, ["--leaks", "--json", "--min-age", "1"], unprivileged=udir)
        if rp.rc != 0:
            raise TestFailure("replay --leaks as uid 65534 exited with %d" % rp.rc,
                              rp.details() + self.leak_lines(live))
        recs = rp.records()
        ck = Checker()
        ck.eq([l for l in rp.err_lines if l.strip()], [], "replay stderr (the log is whole)")
        self.check_leak_report(ck, recs, ctx.ns, names, progs, t_end, "replay")
        for name in names[:-1]:
            pid = progs[name].ifact("leak_pid")
            lg, rg = self.leak_groups(live, pid), self.leak_groups(recs, pid)
            if len(lg) == 1 and len(rg) == 1:
                for k in self.LEAK_SAME_KEYS:
                    ck.eq(rg[0].get(k), lg[0].get(k), "replay %s %s vs the live report's" % (name, k))
            else:
                ck.true(False, "%s (pid %d): %d live group(s), %d replayed" % (
                    name, pid, len(lg), len(rg)))
        ck.eq(sorted(g.get("pid") for g in self.leak_groups(recs)),
              sorted(g.get("pid") for g in self.leak_groups(live)),
              "pids of the replayed groups vs the live ones")
        self.leak_raise(ck, progs, ["replayed:"] + self.leak_lines(recs, 6) + ["live:"] +
                        self.leak_lines(live, 6), rp.details(4))
        return "%d groups, log %d bytes" % (len(self.leak_groups(recs)), os.path.getsize(log))

    # -- Stacks unwound with the CFI (user/unwind.c): tests/scenarios/leak_o2.c
    # leaks from a -O2 -g program without frame pointers, each leak made
    # once single-threaded and once on glibc's cancellable path.  Each
    # group: (created_by, eof_seen, the function in its stack, the one in
    # its eof_stack).
    LEAK_O2_PORT = 5110
    LEAK_O2_GROUPS = [
        ("accept", False, "serve_and_forget", None),
        ("connect", False, "dial_and_forget", None),
        ("accept", True, "take_reader", "drain_and_forget"),
    ]

    def check_unwound_groups(self, ck, groups, label):
        """One group of two sockets per call site of leak_o2: its function
        in the stack, no frame past the wrapper left unnamed."""
        for created, eof, fn, eof_fn in self.LEAK_O2_GROUPS:
            mine = [g for g in groups if g.get("created_by") == created and
                    g.get("eof_seen") == eof]
            if not ck.eq(len(mine), 1, "%s %s (eof %s): groups" % (label, created, eof)):
                continue
            g = mine[0]
            ck.eq(g.get("count"), 2, "%s %s: sockets in the group (single- and "
                  "multi-threaded: one call site)" % (label, fn))
            for key, want in (("stack", fn), ("eof_stack", eof_fn)):
                frames = g.get(key) if want else None
                if want and ck.true(isinstance(frames, list) and any(
                        isinstance(fr, str) and fr.startswith(want + "+0x") for fr in frames),
                        "%s %s: no frame '%s+0x...' in %r" % (label, key, want, frames)):
                    ck.true(frames[1].startswith(want + "+0x"), "%s %s: %s is not the "
                            "frame after the wrapper in %r" % (label, key, want, frames))
                    ck.true("+0x" not in frames[0], "%s %s: the wrapper frame %r has an "
                            "offset" % (label, key, frames[0]))

    def t_leaks_unwind(self, workdir):
        """record --leaks with a live `leaks` alongside while leak_o2 leaks:
        both name the guilty functions, and the replay gives the same."""
        log = os.path.join(workdir, "unwind.tlog")
        box = {}

        def drive(ctx):
            tracer = box["tracer"] = self.leak_tracer(ctx.ns, workdir,
                                                      ["--min-age", "1", "-d", "120"])
            tracer.start()
            sc = Scenario(ctx.ns.cmd([self.scen_bin("leak_o2"), "-p", str(self.LEAK_O2_PORT)]),
                          stdin_pipe=True)
            ctx.scens.append(sc)
            box["progs"] = {"leak_o2": sc}
            sc.fact("ready")
            time.sleep(self.LEAK_HOLD_S)
            box["live"] = tracer.stop()
            ctx.rec.stop()
            self.leak_go(box["progs"])

        self.leak_guard(box, lambda: self.recording(workdir, ["--leaks"], drive,
                                                    sanitized=True, log=log))
        sc, live = box["progs"]["leak_o2"], box["live"]
        pid = sc.ifact("leak_pid")
        rp = self.replay(log, ["--leaks", "--json", "--min-age", "1"])
        if rp.rc != 0:
            raise TestFailure("replay --leaks exited with %d" % rp.rc, rp.details())
        ck = Checker()
        lg, rg = self.leak_groups(live, pid), self.leak_groups(rp.records(), pid)
        self.check_unwound_groups(ck, lg, "live")
        self.check_unwound_groups(ck, rg, "replay")
        key = lambda g: (g.get("created_by"), g.get("eof_seen"))
        for a, b in zip(sorted(lg, key=key), sorted(rg, key=key)):
            for k in self.LEAK_SAME_KEYS + ("eof_stack",):
                ck.eq(b.get(k), a.get(k), "replay %s %s vs the live report's" % (key(a), k))
        self.leak_raise(ck, box["progs"], ["replayed:"] + self.leak_lines(rp.records(), 6) +
                        ["live:"] + self.leak_lines(live, 6), rp.details(4))
        return "%d groups, stack %r" % (len(lg), lg[0].get("stack")[:2] if lg else None)

    def t_leaks_preexisting(self, workdir):
        """A leak older than the tracer: found from /proc and kernel state."""
        name = "leak_forget"
        # Held before the tracer starts: longer than its -d 2, so an age
        # counted from the tracer's start falls short of the lower bound.
        pre_s = 3.0
        box = {"scens": []}

        def body():
            ns = box["ns"] = Netns()
            progs = box["progs"] = self.leak_start(ns, [name], box["scens"])
            sc = progs[name]
            self.leak_ready(progs)
            port, cport = sc.ifact("server_port"), sc.ifact("client_port")
            want = "127.0.0.1:%d 127.0.0.1:%d" % (port, cport)
            cw = [l for l in ns.ss("state", "close-wait").splitlines() if want in " ".join(l.split())]
            if len(cw) != 1:
                raise TestFailure("ss: %d CLOSE-WAIT sockets %s before tracing, expected 1" % (
                    len(cw), want), [ns.ss()] + sc.details())
            time.sleep(pre_s)
            tracer = box["tracer"] = self.leak_tracer(ns, workdir, ["--min-age", "0.5", "-d", "2"])
            tracer.start()
            t_traced = boot_ns()
            recs = self.leak_wait_exit(tracer, 2 + TRACER_STOP_TIMEOUT)
            t_end = boot_ns()
            self.leak_go(progs)
            return sc, recs, t_traced, t_end

        sc, recs, t_traced, t_end = self.leak_guard(box, body)
        ck = Checker()
        g = self.check_leak_group(ck, recs, box["ns"], name, sc, t_end, "preexisting",
                                  min_age_ns=NS_PER_S // 2, seeded=True)
        if g:
            lo = t_traced - sc.ifact("t_close_wait")
            age = g.get("oldest_ns")
            ck.true(isinstance(age, int) and age >= lo, "preexisting oldest_ns: got %s, expected "
                    ">= %s (its age when the tracer was ready)" % (
                        fmt_s(age) if isinstance(age, int) else repr(age), fmt_s(lo)))
        self.check_leak_summary(ck, recs, 1, NS_PER_S // 2, "preexisting")
        self.leak_raise(ck, box["progs"], self.leak_lines(recs), box["tracer"].stderr_tail(6))
        return "oldest_ns %s" % fmt_s(g.get("oldest_ns")) if g else None

    # -- hardening

    def t_record_unsafe_path(self, workdir):
        """-w in a world-writable dir holding a symlink, a FIFO nobody
        reads, a directory or a hard link: one line, exit 1, nothing
        touched, and no open() that waits."""
        d = os.path.join(workdir, "sticky")
        os.mkdir(d)
        os.chmod(d, 0o1777)
        target = os.path.join(workdir, "precious")
        with open(target, "w") as f:
            f.write("keep me\n")
        os.chmod(target, 0o644)
        cases = {
            "link.tlog": ("is a symbolic link", lambda p: os.symlink(target, p)),
            "dangling.tlog": ("is a symbolic link",
                              lambda p: os.symlink(os.path.join(workdir, "nowhere"), p)),
            "fifo.tlog": ("is a FIFO", os.mkfifo),
            "dir.tlog": ("is a directory", os.mkdir),
            "hard.tlog": ("has other hard links", lambda p: os.link(target, p)),
        }
        binary = self.tracer_bin(True)
        env = dict(os.environ)
        env.update(SAN_ENV)
        ck = Checker()
        details = []
        for name, (needle, make) in cases.items():
            path = os.path.join(d, name)
            make(path)
            argv = [binary, "record", "-w", path, "-d", "30"]
            try:
                r = subprocess.run(argv, capture_output=True, text=True, timeout=40,
                                   env=env, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise TestFailure("%s: record did not exit within 40 s" % name)
            lines = [l for l in r.stderr.splitlines() if l.strip()]
            ok = ck.eq(r.returncode, 1, name + " exit status")
            ok &= ck.eq(len(lines), 1, name + " stderr lines")
            want = "tcplinger: %s %s" % (path, needle)
            ok &= ck.true(lines and lines[0].startswith(want),
                          "%s: stderr does not begin with %r" % (name, want))
            if not ok:
                details += ["%s: %s" % (name, l) for l in r.stderr.splitlines()[-4:]]
        with open(target) as f:
            ck.eq(f.read(), "keep me\n", "content of the symlinks' and hard link's target")
        ck.eq(oct(os.stat(target).st_mode & 0o7777), oct(0o644), "mode of the target")
        ck.true(not os.path.lexists(os.path.join(workdir, "nowhere")),
                "the dangling symlink's target was created")
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + details)

    def t_reader_gone(self, workdir):
        """`tcplinger | head -1` while traffic flows: the tracer notices
        its reader left and exits by itself within 2 s, status 1, quietly."""
        binary = self.tracer_bin(True)
        env = dict(os.environ)
        env.update(SAN_ENV)
        modes = [("text", [], ["head", "-n", "1"]),
                 ("json", ["--json", "--events"], ["head", "-n", "1"]),
                 ("record", ["record", "-w", "-"], ["head", "-c", "64"])]
        ck = Checker()
        notes = []
        for tag, args, reader_argv in modes:
            ns = tr = rd = None
            err_path = os.path.join(workdir, tag + ".err")
            try:
                ns = Netns()
                for sysctl in self.CHURN_SYSCTLS:
                    ns.sysctl(sysctl)
                with open(err_path, "wb") as err_f:
                    tr = subprocess.Popen([binary] + args + ["--netns", str(ns.inode),
                                                             "-d", "60"],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=err_f, env=env, start_new_session=True)
                rd = subprocess.Popen(reader_argv, stdin=tr.stdout, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
                tr.stdout.close()   # the reader holds the only read end
                deadline = time.monotonic() + TRACER_READY_TIMEOUT
                while READY_MARK not in open(err_path, errors="replace").read():
                    if tr.poll() is not None or time.monotonic() > deadline:
                        raise TestFailure("%s: tracer not ready (exit %s)" % (tag, tr.poll()),
                                          open(err_path, errors="replace").read().splitlines())
                    time.sleep(0.05)
                sc = Scenario(ns.cmd([self.scen_bin("churn"), "-n", "1000000", "-p", "5008"]))
                try:
                    try:
                        rd.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        raise TestFailure("%s: the reader got nothing within 30 s" % tag)
                    t_gone = time.monotonic()
                    try:
                        rc = tr.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        raise TestFailure("%s: tracer still running 15 s after its reader "
                                          "exited" % tag)
                    took = time.monotonic() - t_gone
                finally:
                    sc.kill()
                err = open(err_path, errors="replace").read()
                lines = [l for l in err.splitlines() if l.strip() and READY_MARK not in l]
                if SANITIZER_RE.search(err):
                    raise TestFailure("%s: sanitizer report" % tag, err.splitlines()[-30:])
                ck.eq(rc, 1, tag + " exit status")
                ck.true(took <= 2.0, "%s: exited %.2f s after its reader, expected <= 2 s" % (
                    tag, took))
                ck.eq(lines, [], tag + " stderr besides the banner")
                notes.append("%s %.2f s" % (tag, took))
            finally:
                if rd:
                    testlib.kill_wait(rd)
                if tr:
                    testlib.kill_wait(tr)
                if ns:
                    ns.close()
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:])
        return ", ".join(notes)

    def caps_run(self, workdir, caps, args):
        """The sanitizer build as uid 65534 with only these ambient
        capabilities (setpriv names: bpf, perfmon, syslog, ...)."""
        d = self.unpriv_dir(workdir)
        binary = os.path.join(d, "tcplinger")
        if not os.path.exists(binary):
            shutil.copy(self.tracer_bin(True), binary)
            os.chmod(binary, 0o755)
        cs = ",".join(["-all"] + ["+" + c for c in caps])
        env = dict(os.environ)
        env.update(SAN_ENV)
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "--inh-caps=" + cs, "--ambient-caps=" + cs, "--bounding-set=" + cs,
                binary] + list(args)
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=40, env=env,
                               stdin=subprocess.DEVNULL, cwd=d)
        except subprocess.TimeoutExpired:
            raise TestFailure("did not exit within 40 s: %s" % " ".join(argv))
        if SANITIZER_RE.search(r.stderr):
            raise TestFailure("sanitizer report", r.stderr.splitlines()[-30:])
        return r, ["argv: " + " ".join(argv), "exit %d" % r.returncode] + \
            ["stderr: " + l for l in r.stderr.splitlines()[-10:]]

    def t_cli_caps_no_syslog(self, workdir):
        """CAP_BPF + CAP_PERFMON without CAP_SYSLOG: the line names CAP_SYSLOG."""
        with open("/proc/sys/kernel/kptr_restrict") as f:
            kptr = int(f.read())
        with open("/proc/sys/kernel/perf_event_paranoid") as f:
            paranoid = int(f.read())
        if kptr == 0 and paranoid <= 1:
            raise TestSkip("kallsyms addresses are shown to everyone here")
        if kptr >= 2:
            raise TestSkip("kptr_restrict=2 hides kallsyms addresses from root too")
        r, det = self.caps_run(workdir, ["bpf", "perfmon"], ["-d", "1"])
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        if r.returncode != 1 or len(lines) != 1:
            raise TestFailure("expected exit 1 and one stderr line", det)
        if "lacks CAP_SYSLOG" not in lines[0] or not lines[0].startswith("tcplinger: "):
            raise TestFailure("the line does not name CAP_SYSLOG", det)
        return lines[0]

    def t_cli_caps_minimal(self, workdir):
        """The README's minimal set traces as uid 65534, without warnings
        (but for network namespaces it cannot enter: CAP_SYS_ADMIN)."""
        r, det = self.caps_run(workdir, ["bpf", "perfmon", "syslog", "dac_read_search"],
                               ["--json", "-d", "1"])
        other = [l for l in r.stderr.splitlines() if l.strip() and READY_MARK not in l
                 and "could not enter" not in l]
        if r.returncode != 0 or other:
            raise TestFailure("expected exit 0 and no warnings", det)
        if '"type":"summary"' not in r.stdout:
            raise TestFailure("no summary on stdout", det + r.stdout.splitlines()[-3:])

    def t_cli_btf_empty(self, workdir):
        """An empty /sys/kernel/btf/vmlinux (bind-mounted in a mount
        namespace of the test's own): a clear line, not libbpf's ESRCH."""
        btf = "/sys/kernel/btf/vmlinux"
        if not os.path.exists(btf) or not shutil.which("unshare"):
            raise TestSkip("no %s or no unshare" % btf)
        empty = os.path.join(workdir, "empty")
        open(empty, "wb").close()
        env = dict(os.environ)
        env.update(SAN_ENV)
        script = 'mount --bind "$1" %s && exec "$2" -d 1' % btf
        argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", empty,
                self.tracer_bin(True)]
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=40, env=env,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise TestFailure("did not exit within 40 s")
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        det = ["exit %d" % r.returncode] + ["stderr: " + l for l in lines[-10:]]
        want = "tcplinger: kernel BTF at %s is empty, not BTF: " % btf
        if r.returncode != 1 or len(lines) != 1 or not lines[0].startswith(want):
            raise TestFailure("expected exit 1 and one line beginning %r" % want, det)
        return lines[0]

    def t_replay_unreadable(self, workdir):
        """A log none of whose blocks can be read: exit 1 with a line
        saying so; a log of a header only is an empty recording: exit 0."""
        def drive(ctx):
            ctx.start("client_first").finish()

        ctx = self.recording(workdir, [], drive, sanitized=False)
        with open(ctx.rec.log, "rb") as f:
            data = f.read()
        blocks = log_blocks(data)
        if not blocks:
            raise TestFailure("the recording has no block")
        hdr = data[:blocks[0][0]]
        bad_crc = bytearray(data)
        for off, n in blocks:
            bad_crc[off + LOG_BHDR_LEN + (n - LOG_BHDR_LEN) // 2] ^= 0xff
        cases = [("every block's data corrupt", bytes(bad_crc)),
                 ("garbage after the header", hdr + b"\x55" * 4096),
                 ("the first block cut short", data[:blocks[0][0] + blocks[0][1] // 2])]
        ck = Checker()
        details = []
        for what, content in cases:
            path = os.path.join(workdir, "unreadable-%d.tlog" % len(details))
            with open(path, "wb") as f:
                f.write(content)
            rp = self.replay(path, ["--json"])
            want = "tcplinger: %s: no block of the log could be read" % path
            ok = ck.eq(rp.rc, 1, what + ": exit status")
            ok &= ck.eq(rp.err_lines[-1:], [want], what + ": last stderr line")
            if not ok:
                details += rp.details(4)
            details.append(what)
        path = os.path.join(workdir, "header-only.tlog")
        with open(path, "wb") as f:
            f.write(hdr)
        rp = self.replay(path, ["--json"])
        if not ck.eq((rp.rc, rp.err_lines), (0, []), "header-only log: exit status, stderr"):
            details += rp.details(4)
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + details)
    # -- hostile processes: what a traced program controls (its name, its
    # command line, the libraries it maps and what they say) must neither
    # stall nor forge the leak report.

    EVIL_COMM = "\x1b[2J\x1b]0;X\x07\nFAKE"  # 15 bytes: clears, retitles, forges a line

    def leaklib(self, workdir, name="libleak.so"):
        """tests/scenarios/lib/leaklib.c built as workdir/name (no debug info)."""
        path = os.path.join(workdir, name)
        run(["gcc", "-shared", "-fPIC", "-O1", "-fno-omit-frame-pointer", "-o", path,
             os.path.join(ROOT, "tests", "scenarios", "lib", "leaklib.c")])
        return path

    def leaklib_start(self, ns, scens, lib, env=(), args=(), port=5106):
        """scen_leak_lib on lib (LEAK_* settings in env), stdin a pipe."""
        argv = ["env", "LEAK_LIB=" + lib] + ["%s=%s" % kv for kv in env] + [
            self.scen_bin("leak_lib"), "-p", str(port), "--"] + list(args)
        sc = Scenario(ns.cmd(argv), stdin_pipe=True)
        scens.append(sc)
        return sc

    @staticmethod
    def lib_frames(g, fn="leaklib_descend"):
        return [f for f in g.get("stack") or [] if isinstance(f, str) and f.startswith(fn + "+0x")]

    def t_leaks_debuglink_fifo(self, workdir):
        """A library whose .gnu_debuglink names a FIFO: the tracer must not
        block opening it (it used to, past -d, for good), and still
        symbolize the library from its own symbols."""
        lib = self.leaklib(workdir)
        dbg = os.path.join(workdir, "libleak.debug")
        with open(dbg, "wb") as f:
            f.write(b"not debug info")
        run(["objcopy", "--add-gnu-debuglink=" + dbg, lib])
        os.unlink(dbg)
        os.mkfifo(dbg)
        box = {"scens": []}

        def body():
            ns = box["ns"] = Netns()
            tracer = box["tracer"] = self.leak_tracer(ns, workdir, ["--min-age", "1", "-d", "5"])
            tracer.start()
            sc = self.leaklib_start(ns, box["scens"], lib, env=[("LEAK_DEPTH", "3")])
            box["progs"] = {"leak_lib": sc}
            sc.fact("ready")
            recs = self.leak_wait_exit(tracer, 5 + TRACER_STOP_TIMEOUT)
            sc.send_line()
            sc.finish()
            return sc, recs

        sc, recs = self.leak_guard(box, body)
        ck = Checker()
        mine = self.leak_groups(recs, sc.ifact("leak_pid"))
        if ck.eq(len(mine), 1, "groups of the leaking pid"):
            ck.true(len(self.lib_frames(mine[0])) >= 3, "no 3 frames 'leaklib_descend+0x...' "
                    "in the stack %r" % (mine[0].get("stack"),))
        self.leak_raise(ck, box["progs"], self.leak_lines(recs), box["tracer"].stderr_tail(6))
        return "%d frames" % len(mine[0].get("stack") or [])

    def t_leaks_hostile_names(self, workdir):
        """A process named to clear the screen and forge a report line,
        with such a command line, leaking 40 frames deep in a library whose
        file name is 200 \\x01 bytes: every JSON line must parse (one runs
        past 16 KiB once escaped) and keep the names exactly; the text
        report must hold no control byte and no forged line."""
        lib = self.leaklib(workdir, "\x01" * 200)
        args = ["\x1b[2J\x1b]0;Y\x07", "\nFAKE-ARG", "x" * 600]
        box = {"scens": []}

        def body():
            ns = box["ns"] = Netns()
            tracer = box["tracer"] = self.leak_tracer(ns, workdir, ["--min-age", "1", "-d", "120"])
            text = Tracer(self.tracer_bin(True), ns.inode, workdir, True)
            text.argv = [text.binary, "leaks", "--netns", str(ns.inode), "--min-age", "1",
                         "-d", "120"]
            text.out_path = os.path.join(workdir, "text.out")
            text.err_path = os.path.join(workdir, "text.err")
            box["text"] = text
            tracer.start()
            text.start()
            sc = self.leaklib_start(ns, box["scens"], lib, args=args,
                                    env=[("LEAK_DEPTH", "40"), ("LEAK_COMM", self.EVIL_COMM)])
            box["progs"] = {"leak_lib": sc}
            sc.fact("ready")
            time.sleep(self.LEAK_HOLD_S)
            recs = tracer.stop()
            text.p.send_signal(signal.SIGINT)
            try:
                text.rc = text.p.wait(timeout=TRACER_STOP_TIMEOUT)
            finally:
                text.kill()
            sc.send_line()
            sc.finish()
            with open(text.out_path, "rb") as f:
                return sc, recs, f.read(), text

        try:
            sc, recs, out, text = self.leak_guard(box, body)
        finally:
            if box.get("text"):
                box["text"].kill()
        ck = Checker()
        pid = sc.ifact("leak_pid")
        with open(box["tracer"].out_path, "rb") as f:
            longest = max((len(l) for l in f), default=0)
        ck.true(longest > 16384, "longest JSON line %d bytes: the test meant one past 16 KiB"
                % longest)
        mine = self.leak_groups(recs, pid)
        if ck.eq(len(mine), 1, "groups of the leaking pid"):
            g = mine[0]
            ck.eq(g.get("comm"), self.EVIL_COMM, "comm, as JSON keeps it")
            frames = self.lib_frames(g)
            ck.true(len(frames) >= 20 and all(f.endswith(" (" + "\x01" * 200 + ")")
                                               for f in frames),
                    "stack: expected 20+ frames 'leaklib_descend+0x... (<200 x \\x01>)', got %r"
                    % (g.get("stack"),))
            ck.true(isinstance(g.get("cmdline"), str) and " ".join(args) in g["cmdline"],
                    "cmdline %r does not hold the arguments" % (g.get("cmdline"),))
        ck.eq(text.rc, 0, "text tracer exit status")
        ck.true(SANITIZER_RE.search(text.stderr_text()) is None, "sanitizer report (text tracer)")
        bad = sorted({b for b in out if (b < 0x20 and b != 0x0a) or b == 0x7f})
        ck.eq(bad, [], "control bytes in the text report")
        lines = out.decode("utf-8", "replace").splitlines()
        ck.eq([l for l in lines if l.startswith("FAKE")], [], "forged lines in the text report")
        esc = "\\x1b[2J\\x1b]0;X\\x07\\x0aFAKE"
        ck.true(any(("held by %d (%s)" % (pid, esc)) in l for l in lines),
                "no 'held by %d (%s)' line in the text report" % (pid, esc))
        ck.true(any(l.startswith("      leaklib_descend+0x") and "\\x01" * 200 in l for l in lines),
                "no escaped library frame in the text report")
        self.leak_raise(ck, box["progs"], self.leak_lines(recs, 4) + ["text report:"] +
                        [l[:300] for l in lines[:40]], box["tracer"].stderr_tail(6))
        return "longest line %d bytes" % longest

    def t_leaks_path_swapped(self, workdir):
        """The library's path, as the tracer read it from /proc/PID/maps,
        becomes a symbolic link to another file before the tracer opens
        the library: it must read the mapped file or nothing, and never
        open the link's target (it used to, as root)."""
        import ctypes
        lib = self.leaklib(workdir)
        decoy = os.path.join(workdir, "decoy")
        with open(decoy, "wb") as f:
            f.write(b"\x7fELF decoy")
        libc = ctypes.CDLL(None, use_errno=True)
        ifd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if ifd < 0:
            raise TestFailure("inotify_init1: errno %d" % ctypes.get_errno())
        box = {"scens": []}

        def body():
            ns = box["ns"] = Netns()
            tracer = box["tracer"] = self.leak_tracer(ns, workdir, ["--min-age", "1", "-d", "120"])
            tracer.start()
            sc = self.leaklib_start(ns, box["scens"], lib, env=[("LEAK_PAUSE", "1")])
            box["progs"] = {"leak_lib": sc}
            sc.fact("pause")
            # The client's connect() stack has made the tracer read the maps.
            time.sleep(1.0)
            os.rename(lib, lib + ".old")
            os.symlink(decoy, lib)
            if libc.inotify_add_watch(ifd, os.fsencode(decoy), 0x20) < 0:  # IN_OPEN
                raise TestFailure("inotify_add_watch: errno %d" % ctypes.get_errno())
            sc.send_line()
            sc.fact("ready")
            time.sleep(self.LEAK_HOLD_S)
            recs = tracer.stop()
            sc.send_line()
            sc.finish()
            try:
                opened = len(os.read(ifd, 4096))
            except BlockingIOError:
                opened = 0
            return sc, recs, opened

        try:
            sc, recs, opened = self.leak_guard(box, body)
        finally:
            os.close(ifd)
        ck = Checker()
        ck.eq(opened, 0, "bytes of inotify IN_OPEN events on the link's target")
        mine = self.leak_groups(recs, sc.ifact("leak_pid"))
        if ck.eq(len(mine), 1, "groups of the leaking pid"):
            ck.true(self.lib_frames(mine[0]), "no frame 'leaklib_descend+0x...' (the mapped "
                    "file, through map_files) in %r" % (mine[0].get("stack"),))
        self.leak_raise(ck, box["progs"], self.leak_lines(recs), box["tracer"].stderr_tail(6))
        return None

    def t_leaks_max_stacks(self, workdir):
        """--max-stacks 1: one stack kept, the others refused and counted
        on stderr; every leak still reported."""
        names = ["leak_forget", "leak_eof", "leak_client"]
        box = {"scens": []}

        def body():
            ns = box["ns"] = Netns()
            tracer = box["tracer"] = self.leak_tracer(
                ns, workdir, ["--min-age", "1", "-d", "120", "--max-stacks", "1"])
            tracer.start()
            progs = box["progs"] = self.leak_start(ns, names, box["scens"])
            self.leak_ready(progs)
            time.sleep(self.LEAK_HOLD_S)
            recs = tracer.stop()
            self.leak_go(progs)
            return recs

        recs = self.leak_guard(box, body)
        ck = Checker()
        groups = self.leak_groups(recs)
        ck.eq(sorted(g.get("pid") for g in groups),
              sorted(box["progs"][n].ifact("leak_pid") for n in names), "pids of the groups")
        with_stack = [g for g in groups if g.get("stack")]
        ck.true(len(with_stack) <= 1, "%d groups with a stack, at most 1 kept" % len(with_stack))
        err = box["tracer"].stderr_text()
        m = re.search(r"tcplinger: (\d+) stacks not kept: --max-stacks 1 reached", err)
        ck.true(m and int(m.group(1)) >= 2, "stderr does not count 2+ stacks not kept")
        self.leak_raise(ck, box["progs"], self.leak_lines(recs), box["tracer"].stderr_tail(6))
        return m.group(0) if m else None

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
                ("record_replay_identical", self.t_record_replay_identical),
                ("replay_csv", self.t_replay_csv),
                ("replay_truncated", self.t_replay_truncated),
                ("replay_corrupt_block", self.t_replay_corrupt_block),
                ("replay_foreign_file", self.t_replay_foreign_file),
                ("record_sigkill", self.t_record_sigkill),
                ("record_disk_full", self.t_record_disk_full),
                ("record_max_size", self.t_record_max_size),
                ("record_stdout", self.t_record_stdout),
                ("replay_fuzz_logfile", self.t_fuzz_logfile),
                ("leaks_live", self.t_leaks_live),
                ("leaks_replay", self.t_leaks_replay),
                ("leaks_preexisting", self.t_leaks_preexisting),
                ("leaks_unwind", self.t_leaks_unwind),
                ("startup_truth", self.t_startup_truth),
                ("connect_fail", self.t_connect_fail),
                ("replay_fuzz_replay", self.t_fuzz_replay),
                ("replay_crafted_memory", self.t_replay_crafted_memory),
                ("replay_crafted_time", self.t_replay_crafted_time),
                ("record_unsafe_path", self.t_record_unsafe_path),
                ("reader_gone", self.t_reader_gone),
                ("cli_caps_no_syslog", self.t_cli_caps_no_syslog),
                ("cli_caps_minimal", self.t_cli_caps_minimal),
                ("cli_btf_empty", self.t_cli_btf_empty),
                ("replay_unreadable", self.t_replay_unreadable),
                ("fuzz_symbolize", self.t_fuzz_symbolize),
                ("leaks_debuglink_fifo", self.t_leaks_debuglink_fifo),
                ("leaks_hostile_names", self.t_leaks_hostile_names),
                ("leaks_max_stacks", self.t_leaks_max_stacks),
                ("leaks_path_swapped", self.t_leaks_path_swapped),
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
