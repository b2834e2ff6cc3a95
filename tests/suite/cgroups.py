"""Containers: every socket carries its cgroup v2 (README "Containers").
A scenario runs from a cgroup the test makes under the cgroup2 mount
(found in /proc/self/mountinfo: /sys/fs/cgroup, or /sys/fs/cgroup/unified
on hybrid systems), joining it before it makes a socket; another runs
outside it.  Traced with and without --cgroup, live and replayed."""

import os
import tempfile
import time

from .checks import Checker, Session
from .common import TestFailure, TestSkip
from .procs import Scenario

# A wrapper that joins the cgroup, then becomes the scenario ($0).
JOIN = 'echo $$ > "%s/cgroup.procs" && exec "$0" "$@"'


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[:1] == ["cgroup2"]:
                return left.split()[4]
    return None


class Cgroups:
    def test_cgroup(self, t):
        """A fresh cgroup under the cgroup2 mount, removed at the end (once
        its processes are gone: bounded retries).  Returns (directory,
        path under the mount, id)."""
        mount = cgroup2_mount()
        if not mount:
            raise TestSkip("no cgroup2 file system mounted")
        d = tempfile.mkdtemp(prefix="tcplinger-test-", dir=mount)

        def remove():
            for _ in range(50):
                try:
                    os.rmdir(d)
                    return
                except OSError:
                    time.sleep(0.1)
        t.later(remove)
        return d, d[len(mount):], os.stat(d).st_ino

    def in_cgroup(self, t, ns, d, prog, args=()):
        """prog started in cgroup d: joined before `ip netns exec`, which
        mounts a sysfs of its own over the cgroup2 mount."""
        argv = ["sh", "-c", JOIN % d] + ns.cmd([self.scen_bin(prog)] + list(args))
        return t.own(Scenario(argv))

    def two_scenarios(self, start_in, start_out):
        """client_first in the cgroup, then server_first outside it; their
        (client_port, server_port) pairs."""
        inside = start_in("client_first", ["-p", "5301"])
        inside.finish()
        outside = start_out("server_first", ["-p", "5302"])
        outside.finish()
        return [(sc.ifact("client_port"), sc.ifact("server_port")) for sc in (inside, outside)]

    @staticmethod
    def of_pair(sess, ports):
        """The lifecycles of one client/server pair."""
        c, s = ports
        return [lc for lc in sess.lifecycles if {lc["sport"], lc["dport"]} == {c, s}]

    def traced(self, t, extra=lambda d, path: []):
        """Both scenarios under a tracer given extra(directory, path) more
        arguments.  Returns (Session, pairs, path, id, tracer)."""
        with t.scope():
            ns = t.netns()
            d, path, cg_id = self.test_cgroup(t)
            tracer = self.tracer(t, ns, extra=extra(d, path))
            tracer.start()
            pairs = self.two_scenarios(lambda p, a: self.in_cgroup(t, ns, d, p, a),
                                       lambda p, a: self.start_scenario(t, ns, p, a))
            time.sleep(0.4)
            tracer.stop()
        return Session(tracer.records, ns.inode), pairs, path, cg_id, tracer

    def check_inside(self, ck, lcs, trs, path, cg_id):
        ck.eq(len(lcs), 2, "lifecycles of the scenario in the cgroup")
        for lc in lcs + trs:
            ck.eq((lc.get("cgroup_id"), lc.get("cgroup"), lc.get("container")),
                  (cg_id, path, None), "%s conn %s: cgroup" % (lc["type"], lc["conn"]))

    def t_cgroup_json(self, t):
        sess, (inside, outside), path, cg_id, tracer = self.traced(t)
        ck = Checker()
        lcs = self.of_pair(sess, inside)
        conns = {lc["conn"] for lc in lcs}
        self.check_inside(ck, lcs, [r for r in sess.transitions if r["conn"] in conns],
                          path, cg_id)
        others = self.of_pair(sess, outside)
        ck.eq(len(others), 2, "lifecycles of the scenario outside the cgroup")
        for lc in others:
            ck.true("cgroup" in lc and lc["cgroup"] != path and lc["cgroup_id"] != cg_id,
                    "conn %s outside the cgroup: cgroup %r" % (lc["conn"], lc.get("cgroup")))
        self.verdict(ck, sess, tracer)
        return path

    def t_cgroup_filter(self, t):
        """--cgroup by its path under the mount, then by its directory:
        only the cgroup's sockets, TIME_WAIT included."""
        for form, arg in (("path", lambda d, path: path), ("directory", lambda d, path: d)):
            ck = Checker()
            sess, (inside, _), path, cg_id, tracer = self.traced(
                t, lambda d, path: ["--cgroup", arg(d, path)])
            lcs = self.of_pair(sess, inside)
            self.check_inside(ck, lcs, sess.transitions, path, cg_id)
            ck.eq(len(sess.lifecycles), 2, "--cgroup (%s): every lifecycle is the "
                  "scenario's in the cgroup" % form)
            ck.true(any(s["state"] == "TIME_WAIT" for lc in lcs for s in lc["states"]),
                    "--cgroup (%s): the client's TIME_WAIT is followed" % form)
            self.verdict(ck, sess, tracer)

    def t_cgroup_replay(self, t):
        holder = {}

        def drive(ctx):
            d, path, cg_id = self.test_cgroup(t)
            holder.update(path=path, cg_id=cg_id)
            holder["pairs"] = self.two_scenarios(
                lambda p, a: ctx.suite.in_cgroup(t, ctx.ns, d, p, a), ctx.start)

        ctx = self.recording(t, ["--print", "--json"], drive)
        live = Session(ctx.rec.records, ctx.ns.inode)
        log = ctx.rec.log
        ck = Checker()
        replayed = Session(self.replay_ok(log, ["--json"]).records(), ctx.ns.inode)
        strip = lambda lcs: sorted(
            (lc["conn"], lc.get("cgroup_id"), lc.get("cgroup"), lc.get("container"))
            for lc in lcs)
        ck.eq(strip(replayed.lifecycles), strip(live.lifecycles),
              "replayed lifecycles' cgroups against the live ones")
        inside = self.of_pair(replayed, holder["pairs"][0])
        self.check_inside(ck, inside, [], holder["path"], holder["cg_id"])
        # --cgroup in a replay: by the paths the log names
        only = Session(self.replay_ok(log, ["--json", "--cgroup", holder["path"]]).records(),
                       ctx.ns.inode)
        ck.eq(sorted(lc["conn"] for lc in only.lifecycles),
              sorted(lc["conn"] for lc in inside), "replay --cgroup: the cgroup's lifecycles")
        # text shows the path with -C
        text = self.replay_ok(log, ["-C", "--cgroup", holder["path"]]).out.decode()
        rows = [l for l in text.splitlines() if l.rstrip().endswith(" " + holder["path"])]
        ck.eq(len(rows), 1, "replay -C: rows ending with the cgroup's path (one ended)")
        self.verdict(ck, replayed, ctx.rec)

    def t_cgroup_missing(self, t):
        r = self.run_tool([self.tracer_bin(True), "--cgroup", "/tcplinger-no-such-cgroup",
                           "-d", "1"], timeout=30)
        lines = r.stderr.splitlines()
        if r.returncode != 2 or len(lines) != 1 or "no such cgroup" not in lines[0]:
            raise TestFailure("--cgroup naming no cgroup: exit %d, stderr %r" %
                              (r.returncode, r.stderr[:300]))
