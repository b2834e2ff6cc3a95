"""What a test asserts on the tracer's JSON lines: Checker collects every
failed expectation; Session splits a run's records; check_summary and
check_lifecycle hold what every lifecycle and summary must satisfy."""

import json

from .common import NS_PER_S


def fmt_s(ns):
    return "None" if ns is None else "%.4f s" % (ns / NS_PER_S)


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
