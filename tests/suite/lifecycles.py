"""Lifecycles on the real kernel: a scenario program (tests/scenarios/*.c)
makes the sockets in a netns of its own while the tracer watches, and
prints key=value facts (ports, pid, CLOCK_BOOTTIME times); the tracer's
JSON lines are checked against them.

A scenario of one client and one server socket is a row of SCENARIOS: the
path each side must take, how it ends, and its timing checks.  Adding one
takes the C program and its row (see HACKING.md)."""

import dataclasses
import re
import time

from .checks import Checker, Session, check_lifecycle, check_summary, fmt_s, jline, names, span
from .common import (JIFFY_SLACK, NS_PER_MS, NS_PER_S, TRACER_STOP_TIMEOUT, TestFailure, boot_ns,
                     run)

MS = NS_PER_MS


@dataclasses.dataclass
class Path:
    """The states one lifecycle goes through (kernel names, space-separated);
    end: its end reason when the path ends CLOSED (else it is still open
    when the tracer stops: incomplete, end "unknown")."""
    states: str
    end: str = None


@dataclasses.dataclass
class Pair:
    """One scenario of a client and a server socket on one 4-tuple.

    client, server: the Path of each side's lifecycle, or a list of Paths
      when the 4-tuple is used again (in start order; labels "client#1", ...).
    timing: checks run once the paths are checked, each made by near(),
      within(), eq() or above() below (or any function (ck, lcs, facts)).
    prog: the program (scen_PROG) when it is not the row's name; args its
      arguments.  names: labels for the sides, e.g. {"client": "A"}.
    sysctls, duration (the tracer's -d), stdin_pipe, drive: as
      Base.scenario() takes them; drive's dict joins the facts.
    long: runs in a thread alongside the others (skipped with --no-long).
    """
    client: object
    server: object
    timing: list = dataclasses.field(default_factory=list)
    prog: str = None
    args: tuple = ()
    family: str = "IPv4"
    names: dict = dataclasses.field(default_factory=dict)
    sysctls: tuple = ()
    duration: int = 60
    stdin_pipe: bool = False
    drive: object = None
    long: bool = False


# -- what a timing check compares.  A lifecycle value is the name of a
# field of its JSON line or a function of it; an expected value a number
# or a function of the facts (the scenario's numeric facts, "t_stop" the
# tracer's stop time, "comm" the owner's, and what drive returned).

def since(a, b):
    """The time from fact a to fact b."""
    return lambda f: f[b] - f[a]


def fact(key, plus=0):
    return lambda f: f[key] + plus


def spans(*states):
    """The time a lifecycle spent in these states."""
    return lambda lc: sum(span(lc, s) for s in states)


def _value(x, obj):
    if callable(x):
        return x(obj)
    if isinstance(x, str):
        return obj.get(x)
    return x


def near(who, actual, expected, tol, what):
    """actual within tol of expected."""
    def check(ck, lcs, f):
        if lcs.get(who):
            ck.near(_value(actual, lcs[who]), _value(expected, f), tol, what)
    return check


def within(who, actual, lo, hi, what):
    """lo <= actual <= hi."""
    def check(ck, lcs, f):
        if lcs.get(who):
            ck.within(_value(actual, lcs[who]), _value(lo, f), _value(hi, f), what)
    return check


def eq(who, actual, expected, what):
    def check(ck, lcs, f):
        if lcs.get(who):
            ck.eq(_value(actual, lcs[who]), _value(expected, f), what)
    return check


def above(who, field, lo, what):
    """what: a message with a %r for the value."""
    def check(ck, lcs, f):
        if lcs.get(who):
            v = lcs[who].get(field)
            ck.true(isinstance(v, int) and v > lo, what % (v,))
    return check


def one_after_other(first, second):
    """Two lifecycles of one 4-tuple: conn ids of their own, and the first
    ended by the time the second began."""
    def check(ck, lcs, f):
        a, b = lcs.get(first), lcs.get(second)
        if a and b:
            ck.true(a.get("conn") != b.get("conn"), "both %s lifecycles have conn %r" % (
                first.split("#")[0], a.get("conn")))
            ck.true(a.get("end_ns", 0) <= b.get("start_ns", 0) + 5 * MS,
                    "%s ends after %s starts" % (first, second))
    return check


def until_gone(ns, local, timeout):
    """Polls ss until no socket has this local address: the time it was
    seen gone (between two clock reads around ss), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t0 = boot_ns()
        out = ns.ss()
        t1 = boot_ns()
        if not any(l.split()[3:4] == [local] for l in out.splitlines()):
            return (t0 + t1) // 2
        time.sleep(0.1)
    return None


def drive_orphan_fw2(sc, ns, tracer):
    """Until the client's orphaned FIN_WAIT2 is gone (fin_timeout 2 s); the
    server's CLOSE_WAIT is still there when the tracer stops."""
    sc.fact("waiting")
    gone = until_gone(ns, "127.0.0.1:%d" % sc.ifact("client_port"), 8)
    if gone is None:
        raise TestFailure("client FIN_WAIT2 still there 8 s after close", sc.details())
    time.sleep(0.6)
    tracer.stop()
    sc.send_line()
    sc.finish()
    return {"gone": gone}


def drive_tw_expiry(sc, ns, tracer):
    """Polls ss until the client's TIME_WAIT is gone: the last time it was
    listed and the first it was not."""
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
        # Close to the expiry, poll back to back: the window between the
        # last ss that lists it and the first that does not is the measure.
        near_end = first is not None and boot_ns() - first > 58 * NS_PER_S
        time.sleep(0 if near_end else 0.1)
    if gone is None:
        raise TestFailure("client TIME_WAIT still there after 75 s", sc.details())
    return {"first": first, "last": last, "gone": gone}


def tw_lifetime_as_ss_saw_it(ck, lcs, f):
    """TIME_WAIT began when the server's FIN arrived (during its close());
    it ended between the last ss that listed it and the first that did not."""
    lo = f["last"] - f["t_server_close"]
    hi = f["gone"] - f["t_server_close"]
    ck.true(hi - lo < 400 * MS, "ss observation too coarse: [%s, %s]" % (fmt_s(lo), fmt_s(hi)))
    if lcs.get("client"):
        ck.near(lcs["client"].get("time_wait_ns"), (lo + hi) // 2, 200 * MS,
                "client time_wait_ns vs ss-observed lifetime [%s, %s]" % (fmt_s(lo), fmt_s(hi)))


CLIENT_CLOSES_FIRST = Path("SYN_SENT ESTABLISHED FIN_WAIT1 FIN_WAIT2 TIME_WAIT")
SERVER_CLOSES_SECOND = Path("SYN_RECV ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED", end="closed")
CLIENT_FIRST_TIMING = [
    eq("client", "pid", fact("pid"), "client pid (connect() is in the main thread)"),
    # The server's ACK of the FIN is delayed (~40 ms, CLOSE_WAIT enters
    # pingpong mode), so FIN_WAIT2 is a bit under 200 ms.
    near("client", "fin_wait2_ns", 200 * MS, 50 * MS, "client fin_wait2_ns"),
    near("client", spans("FIN_WAIT1", "FIN_WAIT2"), since("t_client_close", "t_server_close"),
         15 * MS, "client FIN_WAIT1+FIN_WAIT2 vs close-to-close time"),
    near("client", spans("TIME_WAIT"), since("t_server_close", "t_stop"), 100 * MS,
         "client TIME_WAIT age at exit"),
    near("server", "close_wait_ns", 200 * MS, 50 * MS, "server close_wait_ns"),
    near("server", "close_wait_ns", since("t_client_close", "t_server_close"), 15 * MS,
         "server close_wait_ns vs close-to-close time"),
]

SCENARIOS = {
    "client_first": Pair(client=CLIENT_CLOSES_FIRST, server=SERVER_CLOSES_SECOND,
                         timing=CLIENT_FIRST_TIMING),
    "client_first_v6": Pair(prog="client_first", args=("-6",), family="IPv6",
                            client=CLIENT_CLOSES_FIRST, server=SERVER_CLOSES_SECOND,
                            timing=CLIENT_FIRST_TIMING),
    "server_first": Pair(
        client=Path("SYN_SENT ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED", end="closed"),
        server=Path("SYN_RECV ESTABLISHED FIN_WAIT1 FIN_WAIT2 TIME_WAIT"),
        timing=[
            eq("client", "pid", fact("pid"), "client owner pid"),
            eq("client", "comm", lambda f: f["comm"], "client owner comm"),
            near("client", "close_wait_ns", 1500 * MS, 50 * MS, "client close_wait_ns"),
            near("client", "close_wait_ns", since("t_server_close", "t_client_close"), 15 * MS,
                 "client close_wait_ns vs close-to-close time"),
            near("server", "fin_wait2_ns", 1500 * MS, 100 * MS, "server fin_wait2_ns"),
            near("server", spans("FIN_WAIT1", "FIN_WAIT2"), since("t_server_close", "t_client_close"),
                 15 * MS, "server FIN_WAIT1+FIN_WAIT2 vs close-to-close time"),
        ]),
    "orphan_fw2": Pair(
        client=Path("SYN_SENT ESTABLISHED FIN_WAIT1 FIN_WAIT2 CLOSED", end="fin_timeout"),
        server=Path("SYN_RECV ESTABLISHED CLOSE_WAIT"),
        sysctls=("net.ipv4.tcp_fin_timeout=2",), stdin_pipe=True, drive=drive_orphan_fw2,
        timing=[
            within("client", "fin_wait2_ns", 1900 * MS, 2500 * MS, "client fin_wait2_ns"),
            near("client", "end_ns", fact("gone"), 200 * MS, "client end_ns vs ss-observed end"),
            above("server", "close_wait_ns", 2 * NS_PER_S, "server close_wait_ns %r not > 2 s"),
            near("server", "close_wait_ns", since("t_client_close", "t_stop"), 100 * MS,
                 "server close_wait_ns vs tracer stop time"),
        ]),
    "tw_reuse": Pair(
        client=[Path("SYN_SENT ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED", end="closed"),
                Path("SYN_SENT ESTABLISHED FIN_WAIT1 FIN_WAIT2 TIME_WAIT")],
        server=[Path("SYN_RECV ESTABLISHED FIN_WAIT1 FIN_WAIT2 TIME_WAIT CLOSED", end="tw_killed"),
                Path("SYN_RECV ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED", end="closed")],
        timing=[
            one_after_other("server#1", "server#2"),
            near("server#1", "time_wait_ns", 500 * MS, 100 * MS, "server#1 time_wait_ns"),
            near("server#1", "time_wait_ns", since("t_client_close1", "t_connect2"), 30 * MS,
                 "server#1 time_wait_ns vs close-to-reconnect time"),
        ]),
    "rst": Pair(
        client=Path("SYN_SENT ESTABLISHED CLOSED", end="reset"),
        server=Path("SYN_RECV ESTABLISHED CLOSED", end="reset"),
        timing=[within(who, "end_ns", fact("t_client_close"), fact("t_server_reset", 5 * MS),
                       who + " end_ns vs the abortive close") for who in ("client", "server")]),
    "simultaneous": Pair(
        names={"client": "A", "server": "B"},
        client=Path("SYN_SENT ESTABLISHED FIN_WAIT1 CLOSING TIME_WAIT"),
        server=Path("SYN_RECV ESTABLISHED FIN_WAIT1 FIN_WAIT2 TIME_WAIT"),
        timing=[
            near("A", spans("FIN_WAIT1"), since("t_a_shutdown", "t_b_shutdown"), 20 * MS,
                 "A FIN_WAIT1 span"),
            within("A", spans("CLOSING"), lambda f: f["t_b_drain"] - f["t_b_shutdown"] - 20 * MS,
                   lambda f: f["t_a_time_wait"] - f["t_b_shutdown"] + 20 * MS, "A CLOSING span"),
            within("B", spans("FIN_WAIT1"), 0, 20 * MS, "B FIN_WAIT1 span"),
            within("B", "fin_wait2_ns", lambda f: f["t_b_drain"] - f["t_a_closing"] - 20 * MS,
                   lambda f: f["t_a_time_wait"] - f["t_b_shutdown"] + 20 * MS, "B fin_wait2_ns"),
        ]),
    # TIME_WAIT runs its course (~62 s).
    "tw_expiry": Pair(
        prog="client_first", duration=110, drive=drive_tw_expiry, long=True,
        client=Path("SYN_SENT ESTABLISHED FIN_WAIT1 FIN_WAIT2 TIME_WAIT CLOSED", end="tw_expired"),
        server=SERVER_CLOSES_SECOND,
        timing=[tw_lifetime_as_ss_saw_it]),
}
# The same paths and timings over IPv6.
SCENARIOS["server_first_v6"] = dataclasses.replace(SCENARIOS["server_first"], prog="server_first",
                                                   args=("-6",), family="IPv6")


class Lifecycles:
    LONG = tuple(name for name, p in SCENARIOS.items() if p.long)

    def data_tests(self):
        return [(name, lambda t, name=name, p=p: self.pair_test(t, name, p))
                for name, p in SCENARIOS.items()]

    def pair_test(self, t, name, p):
        """Runs scenario p and checks its lifecycles against its row."""
        prog = p.prog or name
        sess, sc, extra, tr = self.scenario(t, prog, p.args, sysctls=p.sysctls, drive=p.drive,
                                            stdin_pipe=p.stdin_pipe, duration=p.duration)
        f = dict(sc.int_facts(), comm=self.comm_of(prog))
        f.update(extra)
        port, cport, pid = f["server_port"], f["client_port"], f["pid"]
        ck = Checker()
        check_summary(ck, sess)
        sides = (("client", cport, port, p.client), ("server", port, cport, p.server))
        want = [(side, sport, dport, paths if isinstance(paths, list) else [paths])
                for side, sport, dport, paths in sides]
        ck.eq(len(sess.lifecycles), sum(len(w[3]) for w in want), "number of lifecycles")
        lcs = {}
        for side, sport, dport, paths in want:
            label = p.names.get(side, side)
            if len(paths) == 1:
                lcs[label] = sess.one(ck, sport, dport,
                                      label if label == side else "%s (%s)" % (label, side))
                labelled = [(label, paths[0])]
            else:
                found = sorted(sess.find(sport, dport), key=lambda lc: lc.get("start_ns", 0))
                if not ck.eq(len(found), len(paths), "%s lifecycles on the 4-tuple" % side):
                    continue
                labelled = []
                for i, lc in enumerate(found):
                    lcs["%s#%d" % (label, i + 1)] = lc
                    labelled.append(("%s#%d" % (label, i + 1), paths[i]))
            for lab, path in labelled:
                check_lifecycle(ck, sess, lcs[lab], lab, path.states.split(), end=path.end,
                                family=p.family, pid=pid, comm=f["comm"])
        for check in p.timing:
            check(ck, lcs, f)
        self.verdict(ck, sess, tr, sc)

    def t_preexisting(self, t):
        name = "preexisting"
        with t.scope():
            ns = t.netns()
            sc = self.start_scenario(t, ns, name, stdin_pipe=True)
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
            tracer = self.tracer(t, ns, duration=60)
            # and one that shows only what the scenario owns (-p)
            by_pid = self.tracer(t, ns, False, duration=60, extra=["-p", str(sc.ifact("pid"))],
                                 tag="by-pid")
            tracer.start()
            by_pid.start()
            t_traced = boot_ns()
            time.sleep(1.0)
            sc.send_line()
            sc.finish()
            time.sleep(0.5)
            sess = Session(tracer.stop(), ns.inode)
            pid_sess = Session(by_pid.stop(), ns.inode)
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

    def t_churn(self, t, n=10000):
        name = "churn"
        sess, sc, extra, tr = self.scenario(
            t, name, ["-n", str(n)], sysctls=["net.ipv4.tcp_tw_reuse=0"],
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

    def t_startup_truth(self, t, rounds=3):
        """Started in the middle of server-first churn, the tracer never
        reports a socket that went to TIME_WAIT as closed without it."""
        ns = t.netns(["net.ipv4.tcp_max_tw_buckets=2000000",
                      "net.ipv4.ip_local_port_range=10000 65000"])
        sc = self.start_scenario(t, ns, "server_churn", ["-n", "300"], stdin_pipe=True)
        port = sc.ifact("server_port")
        sc.fact("running")
        time.sleep(1.0)
        ck = Checker()
        details, shown = [], []
        for r in range(rounds):
            with t.scope():   # a tracer that stops by itself after 2 s
                tr = self.tracer(t, ns, sanitized=(r == rounds - 1), duration=2,
                                 tag="round%d" % r, name="tracer (round %d)" % r)
                tr.start()
                sess = Session(tr.wait_exit(2 + TRACER_STOP_TIMEOUT), ns.inode)
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
        # the load only has to run through the rounds: it is killed when the test ends
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

    def t_connect_fail(self, t):
        """Refused, timed-out and port-less connect()s get their own end."""
        sysctls = ["net.ipv4.tcp_syn_retries=1", "net.ipv4.ip_local_port_range=40000 40003"]
        sess, sc, extra, tr = self.scenario(t, "connect_fail", sysctls=sysctls,
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
