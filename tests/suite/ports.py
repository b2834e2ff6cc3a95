"""Ports running out: failed connect()s (connect_error) and the port
pressure per destination (port_pressure) with its advice, live and
replayed."""

import time

from .checks import Checker, jline
from .common import TestFailure

RANGE = (40000, 40019)
EXHAUST_SYSCTLS = ("net.ipv4.ip_local_port_range=%d %d" % RANGE, "net.ipv4.tcp_tw_reuse=0")


def by_type(records, kind):
    return [r for r in records if r.get("type") == kind]


def check_exhaustion(ck, records, f, ns_inode, where):
    """What a client that ran out of ports must show in records."""
    pid, port = f["pid"], f["server_port"]
    errs = by_type(records, "connect_error")
    mine = [e for e in errs if e.get("pid") == pid and e.get("errno") == "EADDRNOTAVAIL"]
    ck.true(mine, "%s: connect_error objects with pid %d and errno EADDRNOTAVAIL (got %s)"
            % (where, pid, [jline(e) for e in errs[:3]]))
    ck.eq(sum(e.get("count", 0) for e in mine), f["errors"],
          "%s: EADDRNOTAVAIL counted over the connect_error objects" % where)
    for e in mine[:1]:
        ck.eq((e.get("daddr"), e.get("dport"), e.get("netns"), e.get("call")),
              ("127.0.0.1", port, ns_inode, "connect"), where + ": connect_error destination")
    pressure = [p for p in by_type(records, "port_pressure")
                if p.get("dport") == port and p.get("daddr") == "127.0.0.1"]
    ck.true(pressure, where + ": a port_pressure object for the destination")
    with_errors = [p for p in pressure if p.get("connect_errors", 0) > 0]
    ck.true(with_errors, where + ": a port_pressure object with connect_errors > 0")
    for p in with_errors[:1]:
        ck.eq((p.get("local_ports"), p.get("netns")), (RANGE[1] - RANGE[0] + 1, ns_inode),
              where + ": port_pressure local_ports and netns")
        ck.eq(p.get("in_use"), f["connections"], where + ": port_pressure in_use")
        ck.eq(p.get("time_wait"), f["connections"], where + ": port_pressure time_wait")
        ck.true(any(q.get("pid") == pid and q.get("errors", 0) > 0 for q in p.get("pids", [])),
                "%s: pid %d with errors among %s" % (where, pid, p.get("pids")))
        advice = p.get("advice", "")
        ck.true("%d-%d" % RANGE in advice and "ip_local_port_range" in advice,
                where + ": advice names the range: " + advice)
        ck.true("tcp_tw_reuse=0" in advice, where + ": advice on tcp_tw_reuse: " + advice)
    final = [p for p in pressure if p.get("final") is True]
    ck.eq([p.get("connect_errors") for p in final], [f["errors"]],
          where + ": final port_pressure counts every error")


class Ports:
    def t_port_exhaust(self, t):
        """A client closing first until EADDRNOTAVAIL: connect_error objects
        with its pid, a port_pressure object for its destination with the
        netns's 20 ports, its errors and advice; the same from a replay."""
        facts = {}

        def drive(ctx):
            sc = ctx.start("port_exhaust")
            sc.finish()
            facts.update({k: sc.ifact(k) for k in ("pid", "server_port", "connections",
                                                   "errors")})
            time.sleep(2.2)     # the error window closes; two interval summaries

        ctx = self.recording(t, ["--print", "--json", "-i", "1"], drive, sysctls=EXHAUST_SYSCTLS)
        live = ctx.rec.records
        ck = Checker()
        check_exhaustion(ck, live, facts, ctx.ns.inode, "live")
        rp = self.replay_ok(ctx.rec.log, ["--json", "-i", "1"])
        with open(ctx.rec.out_path, "rb") as f:
            live_bytes = f.read()
        ck.true(rp.out == live_bytes, "replay --json -i 1 is byte-identical to the live output")
        check_exhaustion(ck, rp.records(), facts, ctx.ns.inode, "replay")
        text = self.replay_ok(ctx.rec.log, ["-i", "1"]).out.decode("utf-8", "replace")
        ck.true("connect() failed EADDRNOTAVAIL" in text and "Port pressure towards 127.0.0.1:%d"
                % facts.get("server_port", 0) in text, "text replay shows both")
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors)
        return "%d connections, %d errors" % (facts["connections"], facts["errors"])
