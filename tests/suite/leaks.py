"""CLOSE_WAIT leak hunting: `tcplinger leaks`, `record --leaks` and
`replay --leaks`, and hostile processes: what a traced program controls
(its name, its command line, the libraries it maps and what they say) must
neither stall nor forge the leak report.

Programs (tests/scenarios/leak_*.c) leave one socket in CLOSE_WAIT each,
print ready=1 once it is there and hold it until a line on stdin."""

import json
import os
import re
import shutil
import time

from .checks import Checker, fmt_s, jline
from .common import (NS_PER_S, ROOT, SANITIZER_RE, TRACER_STOP_TIMEOUT, TestFailure, TestSkip,
                     boot_ns, run)
from .layout import stack_or_command, too_wide
from .procs import Scenario

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

class LeakRun:
    """A live `leaks` report over programs holding their leaks."""

    def __init__(self, tracer, progs, recs, t_end):
        self.tracer = tracer
        self.progs = progs      # name -> Scenario
        self.recs = recs        # the report's JSON lines
        self.t_end = t_end      # a time after the report


class Leaks:
    EVIL_COMM = "\x1b[2J\x1b]0;X\x07\nFAKE"  # 15 bytes: clears, retitles, forges a line

    def leak_tracer(self, t, ns, args, tag="leaks", name="tracer", json_out=True):
        """`tcplinger leaks --json --netns INODE ARGS` (sanitized build),
        owned by t, not started yet."""
        return self.tracer(t, ns, args=["leaks"] + (["--json"] if json_out else []) +
                           ["--netns", str(ns.inode)] + list(args), tag=tag, name=name,
                           json_out=json_out)

    def leak_start(self, t, ns, names):
        """Starts each program on its own port, stdin a pipe, owned by t;
        a failure shows their facts.  Returns name -> Scenario."""
        progs = {name: self.start_scenario(t, ns, name, ["-p", str(LEAK_PROGS[name][0])],
                                           stdin_pipe=True) for name in names}
        t.explain(lambda: self.leak_facts(progs))
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

    def leak_hold(self, t, ns, names, also_stop=None, tracer_args=()):
        """A live `leaks --min-age 1`, then the programs; every leak held
        LEAK_HOLD_S past ready=1, then the tracer stopped (and also_stop(),
        while every leak is still there) and the programs ended."""
        tracer = self.leak_tracer(t, ns, ["--min-age", "1", "-d", "120"] + list(tracer_args))
        tracer.start()
        progs = self.leak_start(t, ns, names)
        self.leak_ready(progs)
        time.sleep(LEAK_HOLD_S)
        recs = tracer.stop()
        if also_stop:
            also_stop()
        t_end = boot_ns()
        self.leak_go(progs)
        return LeakRun(tracer, progs, recs, t_end)

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
        port, want_created, want_eof, fn = LEAK_PROGS[name]
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

    def t_leaks_live(self, t):
        names = list(LEAK_PROGS)
        with t.scope():
            ns = t.netns()
            lr = self.leak_hold(t, ns, names)
        ck = Checker()
        self.check_leak_report(ck, lr.recs, ns, names, lr.progs, lr.t_end, "live")
        self.check_stuck_handler(ck, lr.recs, lr.progs["leak_blocked"])
        self.leak_raise(ck, lr.progs, self.leak_lines(lr.recs), lr.tracer.stderr_tail(6))
        return "%d groups" % len(self.leak_groups(lr.recs))

    def check_stuck_handler(self, ck, recs, sc):
        """leak_blocked's group shows where its handler thread is stuck:
        in poll(), under handler() (a program built with frame pointers,
        unwound from the thread's sp and pc alone)."""
        mine = self.leak_groups(recs, sc.ifact("leak_pid"))
        ths = mine[0].get("threads") if len(mine) == 1 else None
        if not ck.true(isinstance(ths, list) and len(ths) >= 2,
                       "leak_blocked threads: expected 2+, got %r" % (ths,)):
            return
        stuck = [th for th in ths if isinstance(th, dict) and any(
            isinstance(f, str) and f.startswith("handler+0x") for f in th.get("stack") or [])]
        ck.true(len(stuck) == 1 and stuck[0].get("syscall") == "poll" and
                stuck[0].get("state") == "S",
                "leak_blocked: no thread in poll with a frame 'handler+0x...' in %r" % (ths,))

    def t_leaks_replay(self, t):
        """record while the programs leak, a live `leaks` alongside; the
        replay's report (as uid 65534) must have the live groups."""
        udir = self.unpriv_dir(t)
        log = t.path("leaks.tlog")
        names = ["leak_forget", "leak_fork", "leak_eof", "leak_client", "leak_control"]
        box = {}

        def drive(ctx):
            # Both end while every leak is still there: the log's end is
            # what replay --leaks reports on.
            box["live"] = self.leak_hold(t, ctx.ns, names, also_stop=ctx.rec.stop)

        ctx = self.recording(t, ["--leaks"], drive, sanitized=True, log=log)
        progs, live, t_end = box["live"].progs, box["live"].recs, box["live"].t_end
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
                for k in LEAK_SAME_KEYS:
                    ck.eq(rg[0].get(k), lg[0].get(k), "replay %s %s vs the live report's" % (name, k))
            else:
                ck.true(False, "%s (pid %d): %d live group(s), %d replayed" % (
                    name, pid, len(lg), len(rg)))
        ck.eq(sorted(g.get("pid") for g in self.leak_groups(recs)),
              sorted(g.get("pid") for g in self.leak_groups(live)),
              "pids of the replayed groups vs the live ones")
        # The text report fits 120 columns, and 80 with --width 80 but for
        # stack frames and command lines, which are never cut.
        for cols in (120, 80):
            tx = self.replay(log, ["--leaks", "--min-age", "1", "--width", str(cols)])
            lines = (tx.out or b"").decode("utf-8", "replace").splitlines()
            ck.true(tx.rc == 0 and sum(l.startswith("    diagnosis: ") for l in lines) == 4,
                    "text replay --width %d: exit %d, %d diagnoses" % (
                        cols, tx.rc, sum(l.startswith("    diagnosis: ") for l in lines)))
            ck.eq(too_wide("\n".join(lines), cols, stack_or_command if cols == 80 else
                           lambda l: False)[:4], [], "text replay lines past %d columns" % cols)
        self.leak_raise(ck, progs, ["replayed:"] + self.leak_lines(recs, 6) + ["live:"] +
                        self.leak_lines(live, 6), rp.details(4))
        return "%d groups, log %d bytes" % (len(self.leak_groups(recs)), os.path.getsize(log))

    # Stacks unwound with the CFI (user/unwind.c): tests/scenarios/leak_o2.c
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
        right after the folded wrapper frame."""
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

    def t_leaks_unwind(self, t):
        """record --leaks with a live `leaks` alongside while leak_o2 leaks:
        both name the guilty functions, and the replay gives the same."""
        log = t.path("unwind.tlog")
        box = {}

        def drive(ctx):
            tracer = self.leak_tracer(t, ctx.ns, ["--min-age", "1", "-d", "120"])
            tracer.start()
            sc = self.start_scenario(t, ctx.ns, "leak_o2", ["-p", str(self.LEAK_O2_PORT)],
                                     stdin_pipe=True)
            progs = box["progs"] = {"leak_o2": sc}
            t.explain(lambda: self.leak_facts(progs))
            sc.fact("ready")
            time.sleep(LEAK_HOLD_S)
            box["live"] = tracer.stop()
            ctx.rec.stop()
            self.leak_go(progs)

        self.recording(t, ["--leaks"], drive, sanitized=True, log=log)
        sc, live = box["progs"]["leak_o2"], box["live"]
        pid = sc.ifact("leak_pid")
        rp = self.replay(log, ["--leaks", "--json", "--min-age", "1"])
        if rp.rc != 0:
            raise TestFailure("replay --leaks exited with %d" % rp.rc, rp.details())
        ck = Checker()
        lg, rg = self.leak_groups(live, pid), self.leak_groups(rp.records(), pid)
        self.check_unwound_groups(ck, lg, "live")
        self.check_unwound_groups(ck, rg, "replay")

        def key(g):
            return (g.get("created_by"), g.get("eof_seen"))
        for a, b in zip(sorted(lg, key=key), sorted(rg, key=key)):
            for k in LEAK_SAME_KEYS + ("eof_stack",):
                ck.eq(b.get(k), a.get(k), "replay %s %s vs the live report's" % (key(a), k))
        self.leak_raise(ck, box["progs"], ["replayed:"] + self.leak_lines(rp.records(), 6) +
                        ["live:"] + self.leak_lines(live, 6), rp.details(4))
        return "%d groups, stack %r" % (len(lg), lg[0].get("stack")[:2] if lg else None)

    LEAK_MANY_PORT = 5130
    LEAK_MANY_N = 100

    def t_leaks_many(self, t):
        """leak_many: a -O2 server without frame pointers leaks 2 x 101
        sockets from two request loops through one guilty function, its
        stack contents different at every call: far more than the
        per-process budget of stack windows.  Exactly two groups, each
        naming read_request() and its own loop, none cut short."""
        with t.scope():
            ns = t.netns()
            tracer = self.leak_tracer(t, ns, ["--min-age", "1", "-d", "120"])
            tracer.start()
            sc = self.start_scenario(t, ns, "leak_many", ["-p", str(self.LEAK_MANY_PORT), "-n",
                                                          str(self.LEAK_MANY_N)], stdin_pipe=True)
            progs = {"leak_many": sc}
            t.explain(lambda: self.leak_facts(progs))
            sc.fact("ready")
            time.sleep(LEAK_HOLD_S)
            recs = tracer.stop()
            self.leak_go(progs)
        pid, per_path = sc.ifact("leak_pid"), sc.ifact("per_path")
        groups = self.leak_groups(recs, pid)
        ck = Checker()
        ck.eq(len(groups), 2, "groups (one per request loop)")
        for loop in ("serve_admin", "serve_public"):
            # gcc -O2 may name a clone "serve_admin.constprop.0"
            at = re.compile(r"%s(\.[a-z]+\.\d+)*\+0x" % loop)
            mine = [g for g in groups if any(isinstance(f, str) and at.match(f)
                                             for f in g.get("stack") or [])]
            if not ck.eq(len(mine), 1, "groups whose stack has %s" % loop):
                continue
            g = mine[0]
            ck.eq(g.get("count"), per_path, "%s: sockets in the group" % loop)
            ck.eq(g.get("eof_seen"), True, "%s: eof_seen" % loop)
            for key in ("stack", "eof_stack"):
                frames = g.get(key) or []
                ck.true(len(frames) > 2 and frames[1].startswith("read_request+0x") and
                        bool(at.match(frames[2])), "%s %s: not wrapper, read_request, "
                        "%s: %r" % (loop, key, loop, frames[:4]))
                ck.true("[truncated]" not in frames, "%s %s cut short: %r" % (loop, key, frames))
        self.leak_raise(ck, progs, self.leak_lines(recs, 6), [])
        return "%d groups of %s" % (len(groups), [g.get("count") for g in groups])

    def t_leaks_preexisting(self, t):
        """A leak older than the tracer: found from /proc and kernel state."""
        name = "leak_forget"
        # Held before the tracer starts: longer than its -d 2, so an age
        # counted from the tracer's start falls short of the lower bound.
        pre_s = 3.0
        with t.scope():
            ns = t.netns()
            progs = self.leak_start(t, ns, [name])
            sc = progs[name]
            self.leak_ready(progs)
            port, cport = sc.ifact("server_port"), sc.ifact("client_port")
            want = "127.0.0.1:%d 127.0.0.1:%d" % (port, cport)
            cw = [l for l in ns.ss("state", "close-wait").splitlines() if want in " ".join(l.split())]
            if len(cw) != 1:
                raise TestFailure("ss: %d CLOSE-WAIT sockets %s before tracing, expected 1" % (
                    len(cw), want), [ns.ss()] + sc.details())
            time.sleep(pre_s)
            tracer = self.leak_tracer(t, ns, ["--min-age", "0.5", "-d", "2"])
            tracer.start()
            t_traced = boot_ns()
            recs = tracer.wait_exit(2 + TRACER_STOP_TIMEOUT)
            t_end = boot_ns()
            self.leak_go(progs)
        ck = Checker()
        g = self.check_leak_group(ck, recs, ns, name, sc, t_end, "preexisting",
                                  min_age_ns=NS_PER_S // 2, seeded=True)
        if g:
            lo = t_traced - sc.ifact("t_close_wait")
            age = g.get("oldest_ns")
            ck.true(isinstance(age, int) and age >= lo, "preexisting oldest_ns: got %s, expected "
                    ">= %s (its age when the tracer was ready)" % (
                        fmt_s(age) if isinstance(age, int) else repr(age), fmt_s(lo)))
        self.check_leak_summary(ck, recs, 1, NS_PER_S // 2, "preexisting")
        self.leak_raise(ck, progs, self.leak_lines(recs), tracer.stderr_tail(6))
        return "oldest_ns %s" % fmt_s(g.get("oldest_ns")) if g else None

    # Where the holder is stuck now: tests/scenarios/leak_py_http.py, an
    # http.server whose handler waits in a streaming generator after its
    # client went away, run by the system's CPython.
    PYTHON = "/usr/bin/python3"
    LEAK_PY_PORT = 5120

    def start_py_http(self, t, ns):
        """leak_py_http.py under the system's CPython in ns, stdin a pipe."""
        try:
            ver = run([self.PYTHON, "-c", "import sys; print(sys.version_info[1])"]).stdout.strip()
        except Exception:
            raise TestSkip("%s cannot run" % self.PYTHON)
        if not (ver.isdigit() and 11 <= int(ver) <= 13):
            raise TestSkip("%s is 3.%s: Python stacks are read for 3.11-3.13" % (self.PYTHON, ver))
        script = os.path.join(ROOT, "tests", "scenarios", "leak_py_http.py")
        sc = t.own(Scenario(ns.cmd([self.PYTHON, script, "-p", str(self.LEAK_PY_PORT)]),
                            stdin_pipe=True))
        t.explain(lambda: self.leak_facts({"leak_py_http": sc}))
        return sc

    def check_py_threads(self, ck, g, sc, label):
        """The handler thread first, blocked, with the generator's and the
        handler's Python frames; the other threads after it."""
        ths = g.get("threads")
        if not ck.true(isinstance(ths, list) and ths, "%s: no threads in %r" % (label, g)):
            return
        th = ths[0]
        py = th.get("py_stack") or []
        ck.eq(th.get("tid"), sc.ifact("handler_tid"), label + " threads[0].tid (the handler)")
        ck.eq(th.get("last_user"), True, label + " threads[0].last_user")
        ck.eq(th.get("state"), "S", label + " threads[0].state")
        ck.eq(th.get("syscall"), "futex", label + " threads[0].syscall (queue.get)")
        for fn in ("stream_events", "Handler.do_GET"):
            ck.true(any(isinstance(f, str) and f.startswith(fn + " (") and
                        "leak_py_http.py:" in f for f in py),
                    "%s threads[0].py_stack: no frame '%s (...leak_py_http.py:N)' in %r" % (
                        label, fn, py))
        ck.true(isinstance(th.get("stack"), list) and len(th["stack"]) >= 3,
                "%s threads[0].stack: a native stack of 3+ frames expected, got %r" % (
                    label, th.get("stack")))
        tids = [x.get("tid") for x in ths if isinstance(x, dict)]
        ck.true(sc.ifact("pid") in tids, "%s: the main thread %d not among the threads %r" % (
            label, sc.ifact("pid"), tids))
        ck.eq(g.get("more_threads"), 0, label + " more_threads")

    def t_leaks_python(self, t):
        """record --leaks with a live `leaks` alongside while a Python
        http.server leaks: both show the handler's thread stuck in the
        streaming generator, Python frames and all; so does the replay,
        in JSON and text."""
        log = t.path("python.tlog")
        box = {}

        def drive(ctx):
            tracer = self.leak_tracer(t, ctx.ns, ["--min-age", "1", "-d", "120"])
            tracer.start()
            sc = box["sc"] = self.start_py_http(t, ctx.ns)
            sc.fact("ready")
            time.sleep(LEAK_HOLD_S)
            box["live"] = tracer.stop()
            ctx.rec.stop()
            sc.send_line()
            sc.finish()

        self.recording(t, ["--leaks"], drive, sanitized=True, log=log)
        sc, live = box["sc"], box["live"]
        pid = sc.ifact("leak_pid")
        rp = self.replay(log, ["--leaks", "--json", "--min-age", "1"])
        text = self.replay(log, ["--leaks", "--min-age", "1"])
        ck = Checker()
        ck.eq((rp.rc, text.rc), (0, 0), "replay exit statuses (JSON, text)")
        lg, rg = self.leak_groups(live, pid), self.leak_groups(rp.records(), pid)
        if ck.eq(len(lg), 1, "live groups of the server"):
            self.check_py_threads(ck, lg[0], sc, "live")
            ck.eq(lg[0].get("created_by"), "accept", "live created_by")
        if ck.eq(len(rg), 1, "replayed groups of the server") and len(lg) == 1:
            for k in LEAK_SAME_KEYS + ("threads", "more_threads"):
                ck.eq(rg[0].get(k), lg[0].get(k), "replay %s vs the live report's" % k)
        lines = (text.out or b"").decode("utf-8", "replace").splitlines()
        for want in ("now thread %d (python3, the last to use it) S in futex:" %
                     sc.ifact("handler_tid"), "stream_events (", "Handler.do_GET ("):
            ck.true(any(want in l for l in lines), "text replay: no line with %r" % want)
        self.leak_raise(ck, {"leak_py_http": sc}, ["replayed:"] + self.leak_lines(rp.records(), 4) +
                        ["live:"] + self.leak_lines(live, 4) + ["text:"] + lines[:40],
                        rp.details(4))
        th = lg[0]["threads"][0]
        return "%s in %s" % (th["py_stack"][2] if len(th.get("py_stack", [])) > 2 else None,
                             th.get("syscall"))

    # -- hostile processes

    def leaklib(self, t, name="libleak.so"):
        """tests/scenarios/lib/leaklib.c built as workdir/name (no debug info)."""
        path = t.path(name)
        run(["gcc", "-shared", "-fPIC", "-O1", "-fno-omit-frame-pointer", "-o", path,
             os.path.join(ROOT, "tests", "scenarios", "lib", "leaklib.c")])
        return path

    def leaklib_start(self, t, ns, lib, env=(), args=(), port=5106):
        """scen_leak_lib on lib (LEAK_* settings in env), stdin a pipe; a
        failure shows its facts.  Returns it."""
        sc = self.start_scenario(t, ns, "leak_lib", ["-p", str(port), "--"] + list(args),
                                 stdin_pipe=True,
                                 pre=["env", "LEAK_LIB=" + lib] + ["%s=%s" % kv for kv in env])
        t.explain(lambda: self.leak_facts({"leak_lib": sc}))
        return sc

    def leaklib_traced(self, t, lib, tracer_args, env):
        """A live `leaks --min-age 1 TRACER_ARGS` in a fresh netns, then
        scen_leak_lib on lib in it.  Returns (tracer, program)."""
        ns = t.netns()
        tracer = self.leak_tracer(t, ns, ["--min-age", "1"] + list(tracer_args))
        tracer.start()
        return tracer, self.leaklib_start(t, ns, lib, env=env)

    @staticmethod
    def lib_frames(g, fn="leaklib_descend"):
        return [f for f in g.get("stack") or [] if isinstance(f, str) and f.startswith(fn + "+0x")]

    def t_leaks_debuglink_fifo(self, t):
        """A library whose .gnu_debuglink names a FIFO: the tracer must not
        block opening it (it used to, past -d, for good), and still
        symbolize the library from its own symbols."""
        lib = self.leaklib(t)
        dbg = t.path("libleak.debug")
        with open(dbg, "wb") as f:
            f.write(b"not debug info")
        run(["objcopy", "--add-gnu-debuglink=" + dbg, lib])
        os.unlink(dbg)
        os.mkfifo(dbg)
        with t.scope():
            tracer, sc = self.leaklib_traced(t, lib, ["-d", "5"], env=[("LEAK_DEPTH", "3")])
            sc.fact("ready")
            recs = tracer.wait_exit(5 + TRACER_STOP_TIMEOUT)
            sc.send_line()
            sc.finish()
        ck = Checker()
        mine = self.leak_groups(recs, sc.ifact("leak_pid"))
        if ck.eq(len(mine), 1, "groups of the leaking pid"):
            ck.true(len(self.lib_frames(mine[0])) >= 3, "no 3 frames 'leaklib_descend+0x...' "
                    "in the stack %r" % (mine[0].get("stack"),))
        self.leak_raise(ck, {"leak_lib": sc}, self.leak_lines(recs), tracer.stderr_tail(6))
        return "%d frames" % len(mine[0].get("stack") or [])

    def t_leaks_hostile_names(self, t):
        """A process named to clear the screen and forge a report line,
        with such a command line, leaking 40 frames deep in a library whose
        file name is 200 \\x01 bytes: every JSON line must parse (one runs
        past 16 KiB once escaped) and keep the names exactly; the text
        report must hold no control byte and no forged line."""
        lib = self.leaklib(t, "\x01" * 200)
        args = ["\x1b[2J\x1b]0;Y\x07", "\nFAKE-ARG", "x" * 600]
        with t.scope():
            ns = t.netns()
            tracer = self.leak_tracer(t, ns, ["--min-age", "1", "-d", "120"])
            text = self.leak_tracer(t, ns, ["--min-age", "1", "-d", "120"], tag="text",
                                    name="text tracer", json_out=False)
            tracer.start()
            text.start()
            sc = self.leaklib_start(t, ns, lib, args=args,
                                    env=[("LEAK_DEPTH", "40"), ("LEAK_COMM", self.EVIL_COMM)])
            sc.fact("ready")
            time.sleep(LEAK_HOLD_S)
            recs = tracer.stop()
            text.rc = text.signal_stop()
            sc.send_line()
            sc.finish()
            with open(text.out_path, "rb") as f:
                out = f.read()
        ck = Checker()
        pid = sc.ifact("leak_pid")
        with open(tracer.out_path, "rb") as f:
            longest = max((len(l) for l in f), default=0)
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
        self.leak_raise(ck, {"leak_lib": sc}, self.leak_lines(recs, 4) + ["text report:"] +
                        [l[:300] for l in lines[:40]], tracer.stderr_tail(6))
        return "longest line %d bytes" % longest

    def t_leaks_path_swapped(self, t):
        """The library's path, as the tracer read it from /proc/PID/maps,
        becomes a symbolic link to another file before the tracer opens
        the library: it must read the mapped file or nothing, and never
        open the link's target (it used to, as root)."""
        import ctypes
        lib = self.leaklib(t)
        decoy = t.path("decoy")
        with open(decoy, "wb") as f:
            f.write(b"\x7fELF decoy")
        libc = ctypes.CDLL(None, use_errno=True)
        ifd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if ifd < 0:
            raise TestFailure("inotify_init1: errno %d" % ctypes.get_errno())
        t.later(os.close, ifd)
        with t.scope():
            tracer, sc = self.leaklib_traced(t, lib, ["-d", "120"], env=[("LEAK_PAUSE", "1")])
            sc.fact("pause")
            # The client's connect() stack has made the tracer read the maps.
            time.sleep(1.0)
            os.rename(lib, lib + ".old")
            os.symlink(decoy, lib)
            if libc.inotify_add_watch(ifd, os.fsencode(decoy), 0x20) < 0:  # IN_OPEN
                raise TestFailure("inotify_add_watch: errno %d" % ctypes.get_errno())
            sc.send_line()
            sc.fact("ready")
            time.sleep(LEAK_HOLD_S)
            recs = tracer.stop()
            sc.send_line()
            sc.finish()
            try:
                opened = len(os.read(ifd, 4096))
            except BlockingIOError:
                opened = 0
        ck = Checker()
        ck.eq(opened, 0, "bytes of inotify IN_OPEN events on the link's target")
        mine = self.leak_groups(recs, sc.ifact("leak_pid"))
        if ck.eq(len(mine), 1, "groups of the leaking pid"):
            ck.true(self.lib_frames(mine[0]), "no frame 'leaklib_descend+0x...' (the mapped "
                    "file, through map_files) in %r" % (mine[0].get("stack"),))
        self.leak_raise(ck, {"leak_lib": sc}, self.leak_lines(recs), tracer.stderr_tail(6))
        return None

    def t_leaks_max_stacks(self, t):
        """--max-stacks 1: one stack kept, the others refused and counted
        on stderr; every leak still reported."""
        names = ["leak_forget", "leak_eof", "leak_client"]
        with t.scope():
            lr = self.leak_hold(t, t.netns(), names, tracer_args=["--max-stacks", "1"])
        recs = lr.recs
        ck = Checker()
        groups = self.leak_groups(recs)
        ck.eq(sorted(g.get("pid") for g in groups),
              sorted(lr.progs[n].ifact("leak_pid") for n in names), "pids of the groups")
        with_stack = [g for g in groups if g.get("stack")]
        ck.true(len(with_stack) <= 1, "%d groups with a stack, at most 1 kept" % len(with_stack))
        err = lr.tracer.stderr_text()
        m = re.search(r"tcplinger: (\d+) stacks not kept: --max-stacks 1 reached", err)
        ck.true(m and int(m.group(1)) >= 2, "stderr does not count 2+ stacks not kept")
        self.leak_raise(ck, lr.progs, self.leak_lines(recs), lr.tracer.stderr_tail(6))
        return m.group(0) if m else None

    def t_leaks_jit_node(self, t):
        """A leak made in JavaScript (tests/scenarios/leak_node.js): its
        stack goes through V8's code, named by the perf map node writes."""
        from .common import TestSkip
        from .procs import Scenario
        node = shutil.which("node") or shutil.which("nodejs")
        if not node:
            raise TestSkip("node not installed (Debian: nodejs)")
        script = os.path.join(ROOT, "tests", "scenarios", "leak_node.js")
        with t.scope():
            ns = t.netns()
            tracer = self.leak_tracer(t, ns, ["--min-age", "1", "-d", "120"])
            tracer.start()
            # V8's own log goes with the test's files, not the current directory.
            sc = t.own(Scenario(ns.cmd([node, "--perf-basic-prof", "--interpreted-frames-"
                                        "native-stack", "--no-logfile-per-isolate",
                                        "--logfile=" + t.path("v8.log"), script, "-p", "5120"]),
                                stdin_pipe=True))
            progs = {"leak_node": sc}
            t.explain(lambda: self.leak_facts(progs))
            pid = sc.ifact("leak_pid")
            t.later(lambda: os.path.exists("/tmp/perf-%d.map" % pid) and
                    os.unlink("/tmp/perf-%d.map" % pid))
            sc.fact("ready")
            time.sleep(LEAK_HOLD_S)
            recs = tracer.stop()
            self.leak_go(progs)
        ck = Checker()
        mine = self.leak_groups(recs, pid)
        frames = mine[0].get("stack") if len(mine) == 1 else None
        if ck.eq(len(mine), 1, "groups with pid %d (leak_pid)" % pid):
            g = mine[0]
            ck.eq(g.get("created_by"), "connect", "created_by")
            ck.eq(g.get("dport"), 5120, "dport")
            ck.true((pid, sc.ifact("leak_fd")) in [(h.get("pid"), h.get("fd")) for h in
                                                   g.get("holders") or [] if isinstance(h, dict)],
                    "holders %r: no (%d, leak_fd)" % (g.get("holders"), pid))
            # V8 names it "JS:~dialAndForget FILE:LINE:COL" (node 20) or
            # "LazyCompile:~dialAndForget FILE:LINE" (Debian's node 18).
            want = re.compile(r"dialAndForget .*leak_node\.js:\d+(:\d+)?\+0x[0-9a-f]+ "
                              r"\[perf-%d\.map\]$" % pid)
            ck.true(isinstance(frames, list) and any(
                isinstance(fr, str) and want.search(fr) for fr in frames),
                "stack: no frame '...dialAndForget .../leak_node.js:L[:C]+0x... "
                "[perf-%d.map]' in %r" % (pid, frames))
        self.leak_raise(ck, progs, self.leak_lines(recs), tracer.stderr_tail(6))
        return next((fr for fr in frames or [] if "dialAndForget" in fr), None)
