#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""tcplinger benchmark driver (stdlib only; root; run by `make bench`).

  python3 tests/bench/bench.py --build .output [--secs 5] [--inflight-secs 3]
      [--rounds 3] [--record-secs 10] [--hold 100000]
      [--steps verify,overhead,...] [--no-profile] [--keep-log] [--out FILE]

All traffic is loopback inside network namespaces made here (one per run,
deleted after it).  The binaries are copied first, so one build is measured
from start to end.  Steps:

 Two loads (LOADS), both churn_load at full speed: one connection at a
 time (SECS per run), and 8 in flight at once (-f 8, INFLIGHT_SECS).

 verify    for each load, a small churn_load run traced by `tcplinger
           --json --events` and by tcpstates at once; the transitions each
           prints must equal churn_load's expected counts (the definition
           of "expected").
 overhead  ROUNDS rounds, each running every configuration once on each
           load (the order rotates each round): no tracer; empty BPF
           programs on tcplinger's tracepoints (the floor); tcplinger >
           /dev/null; tcplinger record -w FILE; tcplinger leaks > /dev/null
           and tcplinger record --leaks -w FILE (first load only);
           tcpstates > /dev/null; bpftrace tcpstates.bt > /dev/null.  Per
           run: conn/s, the tracer's CPU time over the load (until it is
           idle again), its wakeups, VmHWM, its own drop report, and the CPU
           other processes used meanwhile; with leak hunting, the stack
           windows taken and dropped (read from its maps).  Medians are
           reported; the ratio to no tracer is the median of the per-round
           ratios, leak hunting's cost the median of the per-round
           differences to the same tracing without it.
 loss      one more run per tool and load with its output counted
           (tcplinger --json --events, tcpstates, bpftrace) against
           churn_load's expected transitions.
 replay    RECORD_SECS of churn (first load) recorded; its replay counted
           (--json --events), then timed: `replay --json FILE > /dev/null`,
           `replay FILE -p 1` (the engine runs, no pid matches) and
           `replay --json --events`; bytes per transition on disk.
 memory    tcplinger's RSS with 0 and HOLD open connections (both ends
           tracked), then the same load under --max-conns HOLD/2: the
           evicted count must be reported.
 profile   one more churn run (first load) per tool (tcplinger, leaks,
           record, record --leaks, empty, tcpstates) with BPF run-time accounting
           (BPF_ENABLE_STATS) and, if perf is here, a system-wide perf
           record -g: ns per BPF program run, the load's CPU share inside
           the programs and what they spend it on, the tool process's top
           symbols; then perf on two replays.

Targets are printed as pass/MISS, never asserted.  Writes the tables to
.output/bench/results.md (raw numbers in results.json) and prints them.
Every tracer is stopped and every namespace deleted in finally blocks;
every wait is bounded.  Exit status 1 if a step failed.
"""

import argparse
import functools
import hashlib
import json
import os
import re
import secrets
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import testlib  # noqa: E402  (tests/testlib.py)
from report import render  # noqa: E402  (tests/bench/report.py)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
READY_MARK = testlib.READY_MARK
# The churn's server port, one per bench run: tcpstates and bpftrace see
# every namespace, and their lines are counted by port, so another bench
# running on the machine at the same time must not be counted as ours.
CHURN_PORT = 7500 + secrets.randbelow(500)   # clear of HOLD_PORT + its workers
# The loads, each measured in every configuration: (key, label, churn_load
# arguments, the option giving its seconds per run).  The first is also the
# load of the leak-hunting configurations, the record/replay and profile
# steps.
LOADS = (("serial", "one at a time", (), "secs"),
         ("inflight8", "8 in flight", ("-f", "8"), "inflight_secs"))
HOLD_PORT = 7200
RECORD_FILE = "rec.tlog"     # what record configurations write, in the run's directory
# tcplinger configurations: their drop reports (stderr) are counted; those
# that hunt leaks take stack windows and are compared with the same tracing
# without leak hunting; those that record write RECORD_FILE.
TL_KEYS = ("tcplinger", "record", "leaks", "record_leaks", "tl_events")
LEAK_BASE = {"leaks": "tcplinger", "record_leaks": "record"}
LEAK_KEYS = tuple(LEAK_BASE)
RECORD_KEYS = ("record", "record_leaks")
# The floor and the tracing it is the floor of: the tracepoints each
# attaches are compared (the floor must cover all of tcplinger's).
FLOOR_KEYS = ("empty", "tcplinger")
TRACER_READY_TIMEOUT = 40.0
TRACER_STOP_TIMEOUT = 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
NETNS_SYSCTLS = (
    "net.ipv4.tcp_tw_reuse=0",               # no TIME_WAIT recycled: counts stay exact
    "net.ipv4.ip_local_port_range=10000 65000",
    "net.ipv4.tcp_max_tw_buckets=4000000",   # every TIME_WAIT gets its bucket
    "net.core.somaxconn=65535",
)


BenchError = testlib.Failure
# testlib's run(), with the bench's longer default timeout.
run = functools.partial(testlib.run, timeout=30)


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def proc_times(pid):
    """(utime, stime) of a process (all its threads), in seconds, and
    whether it is a kernel thread; None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK,
            bool(int(fields[6]) & 0x00200000))


def proc_cpu_s(pid):
    """CPU time of a process in seconds: the scheduler's ns-exact sum over
    its threads when schedstat is there, else utime + stime (ticks)."""
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        t = proc_times(pid)
        return None if t is None else t[0] + t[1]


def proc_status(pid):
    """VmRSS, VmHWM, RssAnon, RssFile in bytes; context switch counts."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                    out[k] = int(v.split()[0]) * 1024
                elif k in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"):
                    out[k] = int(v)
    except OSError:
        pass
    return out


def other_cpu_snapshot(exclude):
    """{pid: cpu s} of every user-space process but those in exclude: what
    else ran on the machine (other sessions, builds, tests)."""
    snap = {}
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in exclude:
            continue
        t = proc_times(int(d))
        if t and not t[2]:
            snap[int(d)] = t[0] + t[1]
    return snap


def other_cpu_pct(before, after, wall_s):
    """CPU % (of one CPU) used between the snapshots by the processes alive
    at the second (those that came and went in between are missed)."""
    if not wall_s:
        return None
    used = sum(max(0.0, after[p] - before.get(p, 0.0)) for p in after)
    return 100.0 * used / wall_s


def fdinfo_ids(pid, field):
    """The values of FIELD ("prog_id", "map_id") in a process's fdinfo:
    the IDs of the BPF objects it holds."""
    ids = set()
    try:
        for fd in os.listdir("/proc/%d/fdinfo" % pid):
            try:
                with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                    for line in f:
                        if line.startswith(field + ":"):
                            ids.add(int(line.split()[1]))
            except (OSError, ValueError):
                pass
    except OSError:
        pass
    return ids


def prog_ids_of(pid):
    """IDs of the BPF programs a process holds (prog and link fds)."""
    return fdinfo_ids(pid, "prog_id")


def bpf_prog_stats(ids):
    """{id: (name, run_cnt, run_time_ns)} from bpftool."""
    out = {}
    try:
        r = run(["bpftool", "-j", "prog", "show"], timeout=20, check=False)
        for p in json.loads(r.stdout or "[]"):
            if p.get("id") in ids:
                out[p["id"]] = (p.get("name", "?"), p.get("run_cnt", 0), p.get("run_time_ns", 0))
    except (BenchError, ValueError, OSError):
        pass
    return out


class BpfStats:
    """Kernel accounting of BPF program run time, on while this lives:
    BPF_ENABLE_STATS (an fd: the kernel turns it off when the fd closes,
    whatever happens to us), else the kernel.bpf_stats_enabled sysctl,
    restored on close."""

    SYS_BPF = {"x86_64": 321, "aarch64": 280}
    BPF_ENABLE_STATS = 32

    def __init__(self):
        self.fd = None
        self.old_sysctl = None
        nr = self.SYS_BPF.get(os.uname().machine)
        if nr:
            try:
                import ctypes
                libc = ctypes.CDLL(None, use_errno=True)
                attr = ctypes.create_string_buffer(8)   # enable_stats.type = BPF_STATS_RUN_TIME
                fd = libc.syscall(ctypes.c_long(nr), ctypes.c_int(self.BPF_ENABLE_STATS), attr,
                                  ctypes.c_uint(8))
                if fd >= 0:
                    self.fd = fd
                    return
            except (OSError, AttributeError):
                pass
        path = "/proc/sys/kernel/bpf_stats_enabled"
        try:
            with open(path) as f:
                self.old_sysctl = f.read().strip()
            with open(path, "w") as f:
                f.write("1")
        except OSError:
            self.old_sysctl = None

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.old_sysctl is not None:
            try:
                with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
                    f.write(self.old_sysctl)
            except OSError:
                pass
            self.old_sysctl = None


def tw_slab_objs():
    try:
        with open("/proc/slabinfo") as f:
            for line in f:
                if line.startswith("tw_sock_TCP "):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def bpf_perf_attachments():
    """[(pid, tracepoint)] of BPF programs attached through perf/raw tp."""
    try:
        r = run(["bpftool", "-j", "perf"], timeout=10, check=False)
        return [(e.get("pid"), e.get("tracepoint")) for e in json.loads(r.stdout or "[]")]
    except (BenchError, ValueError, OSError):
        return []


def bpf_map_dump(map_id):
    """bpftool's JSON dump of a map (with its BTF-formatted values), [] if
    it cannot be read."""
    try:
        r = run(["bpftool", "-j", "map", "dump", "id", str(map_id)], timeout=20, check=False)
        return json.loads(r.stdout or "[]")
    except (BenchError, ValueError, OSError):
        return []


def map_ids_of(pid):
    """{name: id} of the BPF maps a process holds."""
    out = {}
    for i in fdinfo_ids(pid, "map_id"):
        try:
            r = run(["bpftool", "-j", "map", "show", "id", str(i)], timeout=20, check=False)
            out[json.loads(r.stdout)["name"]] = i
        except (BenchError, ValueError, KeyError, OSError):
            pass
    return out


def window_stats(tracer_pid, load_pid):
    """The stack windows (bpf/unwind.bpf.h) a leak-hunting tracer took
    since it started, read from its maps while it runs: taken (every
    process: uwin_count, per CPU), taken for the load (its uwin_spent,
    within TL_UWIN_PER_PROC), dropped because the windows ring was full
    (uwin_drops in .bss).  None where a map could not be read."""
    maps = map_ids_of(tracer_pid)
    st = {"taken": None, "load": None, "dropped": None}
    for e in bpf_map_dump(maps["uwin_count"]) if "uwin_count" in maps else []:
        st["taken"] = sum(v["value"] for v in e.get("formatted", {}).get("values", []))
    for e in bpf_map_dump(maps["uwin_spent"]) if "uwin_spent" in maps else []:
        fmt = e.get("formatted", {})
        if fmt.get("key") == load_pid:
            st["load"] = fmt.get("value")
    if st["load"] is None and st["taken"] is not None:
        st["load"] = 0
    bss = next((i for n, i in maps.items() if n.endswith(".bss")), None)
    for e in bpf_map_dump(bss) if bss else []:
        for var in e.get("formatted", {}).get("value", {}).get(".bss", []):
            if "uwin_drops" in var:
                st["dropped"] = var["uwin_drops"]
    return st


def facts_of(text):
    facts = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            facts[k.strip()] = v.strip()
    return facts


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------- netns

class Netns(testlib.Netns):
    """A fresh network namespace, lo up, the bench's sysctls; close() also
    waits (bounded) for its timewait socks to be freed, so that the next
    run does not pay for them."""

    def __init__(self):
        super().__init__(prefix="tlbench-", sysctls=NETNS_SYSCTLS)

    def tw_count(self):
        """Timewait socks in this namespace (its /proc/net/sockstat)."""
        try:
            r = run(self.cmd(["cat", "/proc/net/sockstat"]), check=False, timeout=10)
            m = re.search(r"^TCP:.* tw (\d+)", r.stdout, re.M)
            return int(m.group(1)) if m else 0
        except BenchError:
            return 0

    def close(self):
        if not self.created:
            return
        mine_tw = self.tw_count()
        slab_before = tw_slab_objs()
        super().close()
        # The kernel frees the namespace's timewait socks in a worker: let
        # it finish (bounded) before the next run.
        if mine_tw > 1000 and slab_before is not None:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                n = tw_slab_objs()
                if n is None or n <= slab_before - mine_tw + 1000:
                    break
                time.sleep(0.1)
        time.sleep(0.2)


# ---------------------------------------------------------------- tools

class Tool(testlib.Proc):
    """A tool under measure: stdout to a file or /dev/null, stderr to a
    file.  Ready when READY_MARK is on stderr (ready="line") or when it has
    a BPF program on sock:inet_sock_set_state (ready="bpf")."""

    def __init__(self, name, argv, workdir, ready, stdout_path=None):
        err_path = os.path.join(workdir, "%s.%s.err" % (name, secrets.token_hex(3)))
        super().__init__(name, argv, err_path, stdout_path,
                         ready=READY_MARK if ready == "line" else self.bpf_attached,
                         ready_timeout=TRACER_READY_TIMEOUT, stop_timeout=TRACER_STOP_TIMEOUT,
                         poll=0.1)
        self.stderr = ""

    def bpf_attached(self, _):
        return any(pid == self.p.pid and tp == "inet_sock_set_state"
                   for pid, tp in bpf_perf_attachments())

    def start(self):
        super().start()
        time.sleep(0.3)   # start-up work (seeding, first poll) out of the way

    def cpu(self):
        return proc_cpu_s(self.p.pid)

    def wait_idle(self, max_s=5.0):
        """Until it uses under 2 % of a CPU (it has caught up), bounded."""
        deadline = time.monotonic() + max_s
        last = self.cpu()
        while time.monotonic() < deadline:
            time.sleep(0.25)
            now = self.cpu()
            if now is None or last is None or now - last < 0.005:
                return
            last = now

    def stop(self):
        rc = super().stop()
        self.stderr = self.stderr_text()
        return rc


def tl_lost_from_stderr(text):
    m = re.search(r"(\d+) events lost", text)
    return int(m.group(1)) if m else 0


def tl_evicted_from_stderr(text):
    m = re.search(r"(\d+) connections evicted", text)
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------- the bench

class Bench:
    def __init__(self, args):
        self.args = args
        b = os.path.join(ROOT, args.build) if not os.path.isabs(args.build) else args.build
        self.tl = os.path.join(b, "tcplinger")
        self.churn = os.path.join(b, "bench", "churn_load")
        self.hold = os.path.join(b, "bench", "hold_conns")
        self.empty_loader = os.path.join(b, "bench", "empty_loader")
        self.empty_obj = os.path.join(b, "bench", "empty.bpf.o")
        self.tcpstates = shutil.which("tcpstates") or ("/usr/sbin/tcpstates"
                                                        if os.path.exists("/usr/sbin/tcpstates") else None)
        self.bpftrace = shutil.which("bpftrace")
        self.bt_script = os.path.join(ROOT, "tests", "bench", "tcpstates.bt")
        self.perf = shutil.which("perf")
        self.outdir = os.path.dirname(os.path.abspath(args.out))
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        self.tmp = tempfile.mkdtemp(prefix="tlbench-", dir=shm)
        self.mounted_tracefs = False
        self.results = {"notes": [], "errors": [],
                        "loads": [{"key": ld[0], "label": ld[1], "args": " ".join(ld[2]),
                                   "secs": self.secs_of(ld)} for ld in LOADS]}
        self.t_start = time.monotonic()
        self.results["date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")

    # ---- helpers

    def elapsed(self):
        return time.monotonic() - self.t_start

    def error(self, what, e):
        msg = "%s: %s" % (what, e)
        if isinstance(e, BenchError) and e.details:
            msg += " | " + " / ".join(str(d) for d in e.details[-4:])
        log("ERROR " + msg)
        self.results["errors"].append(msg)

    def setup(self):
        if os.geteuid() != 0:
            raise BenchError("run as root (BPF, network namespaces)")
        for p in (self.tl, self.churn, self.hold, self.empty_loader, self.empty_obj):
            if not os.path.exists(p):
                raise BenchError("missing %s: run `make bench` (it builds everything)" % p)
        # Measure one build from start to end, whatever happens to the
        # build directory meanwhile: run copies.
        snap = os.path.join(self.tmp, "bin")
        os.makedirs(snap)
        for attr in ("tl", "churn", "hold", "empty_loader", "empty_obj"):
            src = getattr(self, attr)
            dst = os.path.join(snap, os.path.basename(src))
            shutil.copy2(src, dst)
            setattr(self, attr, dst)
        with open(self.tl, "rb") as f:
            self.results["tl_sha256"] = hashlib.sha256(f.read()).hexdigest()
        # tcpstates and bpftrace attach through tracefs tracepoint ids.
        if not os.path.isdir("/sys/kernel/tracing/events"):
            r = run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], check=False)
            if r.returncode == 0:
                self.mounted_tracefs = True
            else:
                self.results["notes"].append("tracefs not mounted and could not be: "
                                             "tcpstates/bpftrace may fail")
        os.makedirs(self.outdir, exist_ok=True)
        foreign = sorted({pid for pid, tp in bpf_perf_attachments()
                          if tp in ("inet_sock_set_state", "timer_start", "timer_cancel",
                                    "timer_expire_entry", "sys_exit_accept4", "sys_exit_accept",
                                    "sys_exit_connect", "sys_exit_bind")})
        self.results["foreign_at_start"] = foreign

    def teardown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.mounted_tracefs:
            subprocess.run(["umount", "/sys/kernel/tracing"], capture_output=True, timeout=10)

    def tools(self):
        """{key: (label, argv_fn(ns, workdir), ready)} of every tracer the
        overhead and profile steps run (tcpstates and bpftrace when here)."""
        def tl(*argv):   # tcplinger ARGV on the run's netns; FILE: the run's log
            return lambda ns, d: [self.tl] + [os.path.join(d, RECORD_FILE) if a == "FILE" else a
                                              for a in argv] + ["--netns", str(ns.inode), "-d", "300"]
        t = {"empty": ("empty BPF programs (floor)",
                       lambda ns, d: [self.empty_loader, "-d", "300", self.empty_obj], "line"),
             "tcplinger": ("tcplinger > /dev/null", tl(), "line"),
             "record": ("tcplinger record -w FILE", tl("record", "-w", "FILE"), "line"),
             "leaks": ("tcplinger leaks > /dev/null", tl("leaks"), "line"),
             "record_leaks": ("tcplinger record --leaks -w FILE",
                              tl("record", "--leaks", "-w", "FILE"), "line")}
        if self.tcpstates:
            t["tcpstates"] = ("tcpstates (libbpf-tools) > /dev/null",
                              lambda ns, d: [self.tcpstates], "bpf")
        if self.bpftrace:
            t["bpftrace"] = ("bpftrace tcpstates.bt > /dev/null",
                             lambda ns, d: [self.bpftrace, self.bt_script], "bpf")
        return t

    def configs(self):
        """[(key, label, argv_fn, ready)] of the overhead step, no tracer
        first."""
        tools = self.tools()
        for key, what in (("tcpstates", "tcpstates"), ("bpftrace", "bpftrace")):
            if key not in tools:
                self.results["notes"].append("%s not installed: skipped" % what)
        return [("none", "no tracer", None, None)] + [
            (key,) + tools[key] for key in ("empty", "tcplinger", "record", "leaks", "record_leaks",
                                            "tcpstates", "bpftrace") if key in tools]

    def secs_of(self, load):
        return getattr(self.args, load[3])

    def churn_run(self, key, argv_fn, ready, secs, stdout_path=None, n=None, hook=None,
                  load=LOADS[0]):
        """One churn_load run of a load (LOADS) in a fresh netns under a
        tool (or none).  hook(tool, res) is called after the load, before
        the tool stops (tool is None without one); it may raise.  Returns
        a dict of the measurements."""
        ns = Netns()
        d = tempfile.mkdtemp(dir=self.tmp)
        tool = None
        try:
            if argv_fn:
                tool = Tool(key, argv_fn(ns, d), d, ready, stdout_path)
                tool.start()
            argv = [self.churn, "-t", str(secs), "-p", str(CHURN_PORT)] + list(load[2])
            if n:
                argv += ["-n", str(n)]
            mine = {os.getpid()} | ({tool.p.pid} if tool else set())
            tracepoints = sorted({tp for pid, tp in bpf_perf_attachments()
                                  if pid == tool.p.pid}) if key in FLOOR_KEYS else None
            if hook and hasattr(hook, "before"):
                mine |= hook.before(tool)
            st0 = proc_status(tool.p.pid) if tool else {}
            t0 = proc_times(tool.p.pid) if tool else None
            c0 = proc_cpu_s(tool.p.pid) if tool else None
            others0 = other_cpu_snapshot(mine)
            w0 = time.monotonic()
            r = run(ns.cmd(argv), timeout=secs + 60, check=False)
            wall = time.monotonic() - w0
            others1 = other_cpu_snapshot(mine)
            f = facts_of(r.stdout)
            if r.returncode != 0 or f.get("done") != "1":
                raise BenchError("churn_load failed (%d)" % r.returncode,
                                 (r.stdout + r.stderr).splitlines()[-6:])
            res = {"conn": int(f["connections"]), "conn_per_s": float(f["conn_per_s"]),
                   "elapsed_ms": float(f["elapsed_ms"]),
                   "tp": int(f["transitions_tracepoint"]), "tl": int(f["transitions_tcplinger"]),
                   "other_cpu_pct": other_cpu_pct(others0, others1, wall)}
            if tracepoints is not None:
                res["tracepoints"] = tracepoints
            if tool:
                tool.wait_idle()
                t1 = proc_times(tool.p.pid)
                c1 = proc_cpu_s(tool.p.pid)
                st = proc_status(tool.p.pid)
                if t0 and t1:
                    res["user_s"] = t1[0] - t0[0]
                    res["sys_s"] = t1[1] - t0[1]
                if c0 is not None and c1 is not None:
                    res["cpu_s"] = c1 - c0
                res["hwm"] = st.get("VmHWM")
                res["wakeups"] = (st.get("voluntary_ctxt_switches", 0)
                                  - st0.get("voluntary_ctxt_switches", 0))
                if key in LEAK_KEYS:
                    res["windows"] = window_stats(tool.p.pid, int(f["pid"]))
                if hook:
                    hook(tool, res)
                rc = tool.stop()
                res["rc"] = rc
                res["stderr"] = tool.stderr[-2000:]
                if key in TL_KEYS:
                    res["lost"] = tl_lost_from_stderr(tool.stderr)
                if rc != 0:
                    raise BenchError("%s exited with %d" % (key, rc), tool.stderr.splitlines()[-6:])
                if key in RECORD_KEYS:
                    p = os.path.join(d, RECORD_FILE)
                    res["file_bytes"] = os.path.getsize(p) if os.path.exists(p) else None
            return res
        finally:
            if hook and hasattr(hook, "cleanup"):
                hook.cleanup()
            if tool:
                tool.close()
            ns.close()
            shutil.rmtree(d, ignore_errors=True)

    # ---- 0. verify the expected counts

    def verify(self):
        self.results["verify"] = {}
        for load in LOADS:
            try:
                self.verify_load(load)
            except BenchError as e:
                self.error("verify %s" % load[1], e)

    def verify_load(self, load):
        log("verify: expected transition counts, %s (small run)" % load[1])
        ns = Netns()
        tools = []
        try:
            tl_out = os.path.join(self.tmp, "verify.tl.json")
            tools.append(Tool("tcplinger", [self.tl, "--json", "--events", "--netns", str(ns.inode),
                                            "-d", "120"], self.tmp, "line", tl_out))
            ts_out = os.path.join(self.tmp, "verify.ts.txt")
            if self.tcpstates:
                tools.append(Tool("tcpstates", [self.tcpstates], self.tmp, "bpf", ts_out))
            for t in tools:
                t.start()
            r = run(ns.cmd([self.churn, "-n", "2000", "-p", str(CHURN_PORT)] + list(load[2])),
                    timeout=60)
            f = facts_of(r.stdout)
            for t in tools:
                t.wait_idle()
                t.stop()
            v = {"connections": int(f["connections"]),
                 "client_first": int(f["client_first"]), "server_first": int(f["server_first"]),
                 "expected_tcplinger": int(f["transitions_tcplinger"]),
                 "expected_tracepoint": int(f["transitions_tracepoint"])}
            v["tcplinger"], summary = count_tl_json(tl_out)
            v["tcplinger_lost"] = summary.get("lost")
            v["tcplinger_ok"] = v["tcplinger"] == v["expected_tcplinger"]
            if self.tcpstates:
                v["tcpstates"], _ = count_state_lines(ts_out, CHURN_PORT)
                v["tcpstates_ok"] = v["tcpstates"] == v["expected_tracepoint"]
            self.results["verify"][load[0]] = v
            if not v["tcplinger_ok"] or not v.get("tcpstates_ok", True):
                self.results["notes"].append("verify, %s: counts differ from churn_load's "
                                             "expected: %s" % (load[1], v))
        finally:
            for t in tools:
                t.close()
            ns.close()

    # ---- 1. overhead

    def overhead(self):
        """Every configuration on every load, ROUNDS rounds; within a round
        the loads take turns going first and each runs its configurations
        in an order rotated by the round."""
        cfgs = {load[0]: [c for c in self.configs() if load is LOADS[0] or c[0] not in LEAK_KEYS]
                for load in LOADS}
        rounds = {load[0]: [] for load in LOADS}
        for r in range(self.args.rounds):
            for load in LOADS[r % len(LOADS):] + LOADS[:r % len(LOADS)]:
                lc = cfgs[load[0]]
                this = {}
                for key, label, fn, ready in lc[r % len(lc):] + lc[:r % len(lc)]:
                    log("round %d/%d, %s: %s (%.0f s elapsed)" % (
                        r + 1, self.args.rounds, load[1], key, self.elapsed()))
                    try:
                        this[key] = self.churn_run(key, fn, ready, self.secs_of(load), load=load)
                        this[key].pop("stderr", None)
                    except BenchError as e:
                        self.error("round %d %s %s" % (r + 1, load[1], key), e)
                rounds[load[0]].append(this)
        self.results["rounds"] = rounds
        self.results["overhead"] = {load[0]: overhead_rows(cfgs[load[0]], rounds[load[0]])
                                    for load in LOADS}
        self.check_floor(rounds)

    def check_floor(self, rounds):
        """A note if tcplinger attached a tracepoint the floor has no empty
        program on (the floor would then be too low)."""
        seen = {key: set() for key in FLOOR_KEYS}
        for rds in rounds.values():
            for rd in rds:
                for key in FLOOR_KEYS:
                    seen[key] |= set(rd.get(key, {}).get("tracepoints", ()))
        missing = sorted(seen["tcplinger"] - seen["empty"])
        if seen["empty"] and missing:
            self.results["notes"].append(
                "the floor misses tracepoints tcplinger attaches: %s (add empty programs to "
                "tests/bench/empty.bpf.c)" % ", ".join(missing))

    # ---- 2. loss at full speed, output counted

    def loss(self):
        out = []
        passes = [("tcplinger --json --events", "tl_events",
                   lambda ns, d: [self.tl, "--json", "--events", "--netns", str(ns.inode), "-d", "300"],
                   "line", "tl")]
        if self.tcpstates:
            passes.append(("tcpstates", "tcpstates", lambda ns, d: [self.tcpstates], "bpf", "tp"))
        if self.bpftrace:
            passes.append(("bpftrace tcpstates.bt", "bpftrace",
                           lambda ns, d: [self.bpftrace, self.bt_script], "bpf", "tp"))
        for load, (label, key, fn, ready, trans) in ((ld, p) for ld in LOADS for p in passes):
            log("loss, %s: %s (%.0f s elapsed)" % (load[1], label, self.elapsed()))
            path = os.path.join(self.tmp, "loss.%s.out" % key)
            try:
                res = self.churn_run(key, fn, ready, self.secs_of(load), stdout_path=path,
                                     load=load)
                row = {"load": load[0], "label": label, "conn": res["conn"],
                       "conn_per_s": res["conn_per_s"], "expected": res[trans]}
                if key == "tl_events":
                    row["reported"], summary = count_tl_json(path)
                    row["own_report"] = "summary lost=%s" % summary.get("lost")
                else:
                    row["reported"], own = count_state_lines(path, CHURN_PORT)
                    row["own_report"] = own or ("stderr: " + first_lost_line(res.get("stderr", "")))
                row["lost"] = row["expected"] - row["reported"]
                out.append(row)
            except BenchError as e:
                self.error("loss %s, %s" % (label, load[1]), e)
            finally:
                try:
                    os.unlink(path)
                except OSError:
                    pass
        self.results["loss"] = out

    # ---- 3. record, then replay

    def replay(self):
        log("record: %d s of churn (%.0f s elapsed)" % (self.args.record_secs, self.elapsed()))
        log_path = os.path.join(self.outdir if self.args.keep_log else self.tmp, "churn.tlog")
        try:
            os.unlink(log_path)
        except OSError:
            pass
        res = self.churn_run("record", lambda ns, d: [self.tl, "record", "-w", log_path,
                                                      "--netns", str(ns.inode), "-d", "300"],
                             "line", self.args.record_secs)
        size = os.path.getsize(log_path)
        rp = {"conn": res["conn"], "expected": res["tl"], "file_bytes": size, "log_path": log_path,
              "record_lost_stderr": res.get("lost", 0), "cpu_s": res.get("cpu_s")}
        # Counted replay: every transition the recording holds.
        counted = os.path.join(self.tmp, "replay.events.json")
        with open(counted, "wb") as f:
            r = subprocess.run([self.tl, "replay", "--json", "--events", log_path], stdout=f,
                               stderr=subprocess.PIPE, timeout=300)
        if r.returncode != 0:
            raise BenchError("replay --json --events failed (%d)" % r.returncode,
                             r.stderr.decode("utf-8", "replace").splitlines()[-5:])
        rp["transitions"], summary = count_tl_json(counted)
        rp["lost"] = rp["expected"] - rp["transitions"]
        rp["summary_lost"] = summary.get("lost")
        os.unlink(counted)
        rp["bytes_per_transition"] = size / rp["transitions"] if rp["transitions"] else None
        timings = {}
        for label, argv in (("replay --json FILE > /dev/null", [self.tl, "replay", "--json", log_path]),
                            ("replay FILE -p 1 (engine, nothing printed)",
                             [self.tl, "replay", log_path, "-p", "1"]),
                            ("replay --json --events FILE > /dev/null",
                             [self.tl, "replay", "--json", "--events", log_path])):
            walls, cpus = [], []
            for _ in range(3):
                wall, cpu, rc = timed(argv)
                if rc != 0:
                    raise BenchError("%s exited with %d" % (label, rc))
                walls.append(wall)
                cpus.append(cpu)
            w = median(walls)
            timings[label] = {"wall_s": w, "cpu_s": median(cpus),
                              "per_s": rp["transitions"] / w if w else None}
        rp["timings"] = timings
        self.results["replay"] = rp

    # ---- 4. memory per tracked connection, and the cap

    def memory(self):
        n = self.args.hold
        mem = {"n": n}
        for cap in (None, n // 2):
            log("memory: %d connections held%s (%.0f s elapsed)" % (
                n, ", --max-conns %d" % cap if cap else "", self.elapsed()))
            ns = Netns()
            argv = [self.tl, "--netns", str(ns.inode), "-d", "300"]
            if cap:
                argv += ["--max-conns", str(cap)]
            tool = Tool("tcplinger", argv, self.tmp, "line")
            hold = None
            try:
                tool.start()
                time.sleep(0.5)
                st0 = proc_status(tool.p.pid)
                hold = subprocess.Popen(ns.cmd([self.hold, "-n", str(n), "-p", str(HOLD_PORT),
                                                "-t", "120"]),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, start_new_session=True)
                facts = read_facts_until(hold, "opened", 120)
                if "opened" not in facts:
                    raise BenchError("hold_conns did not open its connections", [
                        hold.stderr.read().decode("utf-8", "replace") if hold.poll() is not None
                        else "still running"])
                tool.wait_idle()
                st1 = proc_status(tool.p.pid)
                tool.stop()
                hold.stdin.write(b"go\n")
                hold.stdin.flush()
                read_facts_until(hold, "done", 120, facts)
                hold.wait(timeout=60)
                r = {"open_ms": float(facts.get("elapsed_ms", 0)),
                     "rss0": st0.get("VmRSS"), "rss1": st1.get("VmRSS"),
                     "anon0": st0.get("RssAnon"), "anon1": st1.get("RssAnon"),
                     "hwm1": st1.get("VmHWM"),
                     "lost": tl_lost_from_stderr(tool.stderr),
                     "evicted": tl_evicted_from_stderr(tool.stderr)}
                if cap:
                    mem["capped"] = dict(r, cap=cap)
                else:
                    r["per_conn_rss"] = (r["rss1"] - r["rss0"]) / (2 * n) if n else None
                    r["per_conn_anon"] = (r["anon1"] - r["anon0"]) / (2 * n) if n else None
                    mem["uncapped"] = r
            except BenchError as e:
                self.error("memory%s" % (" (cap)" if cap else ""), e)
            finally:
                tool.close()
                testlib.kill_wait(hold)
                ns.close()
        self.results["memory"] = mem

    # ---- 5. where the time goes

    def profile(self):
        """One more churn run per tool with the kernel's BPF run-time
        accounting on (ns per program run, per transition) and, when perf
        is here, perf record on the tool's process; then perf on replays."""
        prof = {"runs": {}, "replay": {}}
        self.results["profile"] = prof
        known = self.tools()
        tools = [(key,) + known[key] for key in ("tcplinger", "leaks", "record", "record_leaks",
                                                 "empty", "tcpstates") if key in known]
        if not self.perf:
            self.results["notes"].append("perf not installed: BPF run time only, no profile")
        for key, label, fn, ready in tools:
            log("profile: %s (%.0f s elapsed)" % (key, self.elapsed()))
            hook = Profiler(self, True)
            try:
                res = self.churn_run(key, fn, ready, self.args.secs, hook=hook)
                trans = res["tp"] if key == "tcpstates" else res["tl"]
                progs = sorted(hook.progs, key=lambda x: -x[2])
                prof["runs"][key] = {
                    "label": label, "conn": res["conn"], "conn_per_s": res["conn_per_s"],
                    "transitions": trans,
                    "progs": progs,
                    "bpf_ns_per_transition": sum(x[2] for x in progs) / trans if trans else None,
                    "wakeups": res.get("wakeups"), "cpu_s": res.get("cpu_s"),
                    "top": hook.top, "breakdown": hook.breakdown}
            except (BenchError, subprocess.SubprocessError, OSError) as e:
                self.error("profile %s" % key, e)
        log_path = self.results.get("replay", {}).get("log_path")
        if self.perf and log_path and os.path.exists(log_path):
            for label, argv in (("replay FILE -p 1", [self.tl, "replay", log_path, "-p", "1"]),
                                ("replay --json FILE", [self.tl, "replay", "--json", log_path])):
                data = os.path.join(self.tmp, "perf.replay.data")
                try:
                    with open(os.devnull, "wb") as null:
                        subprocess.run([self.perf, "record", "-q", "-e", "cpu-clock", "-F", "4999",
                                        "-o", data, "--"] + argv, stdin=subprocess.DEVNULL,
                                       stdout=null, stderr=subprocess.DEVNULL, timeout=120)
                    prof["replay"][label] = perf_top(self.perf, data)
                except (BenchError, subprocess.SubprocessError, OSError) as e:
                    self.error("profile %s" % label, e)

    # ---- report

    def machine(self):
        model = "?"
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        model = line.split(":", 1)[1].strip()
                        break
            with open("/proc/meminfo") as f:
                mem_kb = int(f.readline().split()[1])
        except (OSError, ValueError):
            mem_kb = 0
        rev = run(["git", "-C", ROOT, "describe", "--always", "--dirty"], check=False).stdout.strip()

        def ver(argv):
            try:
                r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
                return (r.stdout or r.stderr).strip().splitlines()[0]
            except (OSError, IndexError, subprocess.TimeoutExpired):
                return "?"
        return {"nproc": os.cpu_count(), "model": model, "kernel": os.uname().release,
                "mem_gib": mem_kb / 1048576, "rev": rev or "?",
                "bpftrace": ver([self.bpftrace, "--version"]) if self.bpftrace else "-",
                "libbpf_tools": ver(["dpkg-query", "-W", "-f=${Version}", "libbpf-tools"])}


class Profiler:
    """churn_run hook: BPF run-time accounting over the load (the tool's
    programs, found through its fds) and, with perf, a system-wide
    `perf record -a -g` over the load: the tool process's own profile, and
    how much of the load's CPU went into BPF programs and their wakeups."""

    def __init__(self, bench, use_perf):
        self.bench = bench
        self.use_perf = use_perf and bench.perf
        self.stats = None
        self.perf = None
        self.data = os.path.join(bench.tmp, "perf.%s.data" % secrets.token_hex(3))
        self.ids = set()
        self.before_stats = {}
        self.progs = []
        self.top = []
        self.breakdown = None

    def before(self, tool):
        self.stats = BpfStats()
        self.ids = prog_ids_of(tool.p.pid)
        self.before_stats = bpf_prog_stats(self.ids)
        if self.use_perf:
            self.perf = subprocess.Popen(
                [self.bench.perf, "record", "-q", "-a", "-g", "-e", "cpu-clock", "-F", "1999",
                 "-o", self.data],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)
            time.sleep(0.5)
            return {self.perf.pid}
        return set()

    def __call__(self, tool, res):
        after = bpf_prog_stats(self.ids)
        for pid_, (name, cnt, ns) in after.items():
            b = self.before_stats.get(pid_, (name, 0, 0))
            if cnt - b[1] > 0:
                self.progs.append((name, cnt - b[1], ns - b[2]))
        self.stats.close()
        if self.perf:
            self.perf.send_signal(signal.SIGINT)
            try:
                self.perf.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.perf.kill()
                self.perf.wait(timeout=10)
            self.top = perf_top(self.bench.perf, self.data, tool.p.pid)
            self.breakdown = perf_breakdown(self.bench.perf, self.data, tool.p.pid)

    def cleanup(self):
        if self.stats:
            self.stats.close()
        if self.perf is not None and self.perf.poll() is None:
            self.perf.kill()
            try:
                self.perf.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.unlink(self.data)
        except OSError:
            pass


def perf_top(perf, data, pid=None):
    """[(percent, user|kernel, symbol)] of a perf.data file, self time
    (of one process's samples when pid is given)."""
    argv = [perf, "report", "-i", data, "--stdio", "--no-children", "--sort", "sym",
            "-g", "none", "--percent-limit", "0.5"]
    if pid:
        argv += ["--pid", str(pid), "--percentage", "relative"]
    r = run(argv, timeout=120, check=False)
    return parse_perf_report(r.stdout)


def perf_breakdown(perf, data, tool_pid, load_comm="churn_load"):
    """Counts over the samples of a system-wide perf record -g: busy
    (not idle), the load's, the tool's, and those of the load inside a BPF
    program, in a ring/perf buffer helper, and in the wakeup it raises
    (irq_work_queue)."""
    try:
        r = subprocess.run([perf, "script", "-i", data, "-F", "comm,pid,ip,sym"],
                           capture_output=True, text=True, timeout=120, errors="replace")
    except (subprocess.SubprocessError, OSError):
        return None
    c = {"samples": 0, "busy": 0, "load": 0, "tool": 0, "load_bpf": 0, "load_output": 0,
         "load_wakeup": 0, "helpers": {}}
    for block in r.stdout.split("\n\n"):
        lines = [l.strip() for l in block.strip().splitlines()]
        if not lines:
            continue
        head = lines[0].rsplit(None, 1)
        if len(head) != 2 or not head[1].isdigit():
            continue
        comm, pid = head[0], int(head[1])
        frames = [f.split(None, 1)[1] if len(f.split(None, 1)) == 2 else f for f in lines[1:]]
        c["samples"] += 1
        if pid == 0:
            continue
        c["busy"] += 1
        if pid == tool_pid:
            c["tool"] += 1
        if comm != load_comm:
            continue
        c["load"] += 1
        at = next((i for i, f in enumerate(frames) if f.startswith("bpf_prog_")), None)
        if at is not None:
            c["load_bpf"] += 1
            # what the program was doing: its own code, or the helper it called
            what = "%s: %s" % (frames[at].split("_", 3)[-1],
                               frames[at - 1] if at > 0 else "(program code)")
            c["helpers"][what] = c["helpers"].get(what, 0) + 1
            if any(f in ("bpf_ringbuf_submit", "bpf_ringbuf_reserve", "bpf_perf_event_output",
                         "bpf_ringbuf_output", "perf_event_output") or f.startswith("bpf_ringbuf")
                   for f in frames):
                c["load_output"] += 1
            if any(f.startswith("irq_work_queue") for f in frames):
                c["load_wakeup"] += 1
    return c


def overhead_rows(cfgs, rounds):
    """The overhead table of one load: per configuration, medians over its
    rounds (a round: {key: churn_run result})."""
    rows = []
    for key, label, fn, ready in cfgs:
        runs = [rd[key] for rd in rounds if key in rd]
        ratios = [rd[key]["conn_per_s"] / rd["none"]["conn_per_s"]
                  for rd in rounds if key in rd and "none" in rd]
        trans = "tp" if key in ("tcpstates", "bpftrace") else "tl"
        cpu_us = [x["cpu_s"] / x[trans] * 1e6 for x in runs
                  if x.get("cpu_s") is not None and x[trans]]
        row = {"key": key, "label": label, "runs": len(runs),
               "conn_per_s": median([x["conn_per_s"] for x in runs]),
               "min": min((x["conn_per_s"] for x in runs), default=None),
               "max": max((x["conn_per_s"] for x in runs), default=None),
               "ratio": median(ratios),
               "cpu_us": median(cpu_us) if fn else None,
               "hwm": median([x.get("hwm") for x in runs]) if fn else None,
               "lost": sum(x.get("lost", 0) for x in runs) if key in TL_KEYS else None,
               "trans": trans,
               "user_pct": median([100 * x["user_s"] / (x["user_s"] + x["sys_s"]) for x in runs
                                   if x.get("user_s", 0) + x.get("sys_s", 0) > 0]) if fn else None,
               "wakeups_per_k": median([1000 * x["wakeups"] / x[trans] for x in runs
                                        if x.get("wakeups") is not None and x[trans]]) if fn else None,
               "other_cpu_pct": median([x.get("other_cpu_pct") for x in runs])}
        if key in RECORD_KEYS:
            bpt = [x["file_bytes"] / x["tl"] for x in runs if x.get("file_bytes") and x["tl"]]
            row["bytes_per_transition"] = median(bpt)
        if key in LEAK_KEYS:
            row.update(leak_cost(key, rounds))
        rows.append(row)
    return rows


def leak_cost(key, rounds):
    """What leak hunting adds to the same tracing without it (tcplinger for
    leaks, record for record --leaks): points of no-tracer conn/s, the
    median of each round's difference (the runs of a round share the
    machine's state), and the stack windows taken, medians over runs."""
    base = LEAK_BASE[key]
    pts = [100 * (rd[base]["conn_per_s"] - rd[key]["conn_per_s"]) / rd["none"]["conn_per_s"]
           for rd in rounds if key in rd and base in rd and "none" in rd]
    wins = [x["windows"] for x in (rd[key] for rd in rounds if key in rd) if x.get("windows")]
    return {"base": base, "points_over_base": median(pts), "points_per_round": pts,
            "windows": {k: median([w[k] for w in wins]) for k in ("taken", "load", "dropped")}
            if wins else None}


# ---------------------------------------------------------------- counting

def count_tl_json(path):
    """(transition lines, final summary dict) of tcplinger --json output."""
    n = 0
    summary = {}
    tail = b""
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 22)
            if not chunk:
                break
            buf = tail + chunk
            cut = buf.rfind(b"\n") + 1
            n += buf[:cut].count(b'{"type":"transition"')
            tail = buf[cut:]
    n += tail.count(b'{"type":"transition"')
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 65536))
        for line in f.read().splitlines():
            if line.startswith(b'{"type":"summary"'):
                try:
                    summary = json.loads(line)
                except ValueError:
                    pass
    return n, summary


def count_state_lines(path, port):
    """(transition lines of the churn's port, own drop report) of tcpstates
    or tcpstates.bt output: ... LADDR LPORT RADDR RPORT OLD -> NEW MS."""
    n = 0
    lost = 0
    port = str(port)
    with open(path, "r", errors="replace") as f:
        for line in f:
            if " -> " not in line:
                m = re.search(r"[Ll]ost (\d+) events", line)
                if m:
                    lost += int(m.group(1))
                continue
            t = line.split()
            try:
                i = t.index("->")
            except ValueError:
                continue
            if i < 4 or t[i - 1] == "OLDSTATE":
                continue
            if t[i - 4] == port or t[i - 2] == port:
                n += 1
    return n, ("own report: %d lost" % lost if lost else "")


def first_lost_line(text):
    tot = sum(int(m) for m in re.findall(r"lost (\d+) events", text, re.I))
    return "%d lost" % tot if tot else "none"


def read_facts_until(p, key, timeout, facts=None):
    """key=value lines from p.stdout (a binary pipe) until key appears,
    timeout seconds at most."""
    facts = {} if facts is None else facts
    deadline = time.monotonic() + timeout
    fd = p.stdout.fileno()
    buf = getattr(p, "_bench_buf", b"")
    while key not in facts:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([fd], [], [], min(left, 0.5))
        if not r:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            k, sep, v = line.decode("utf-8", "replace").partition("=")
            if sep:
                facts[k] = v
    p._bench_buf = buf
    return facts


def timed(argv):
    """(wall s, user+sys s, rc) of one run, stdout to /dev/null."""
    t0 = time.monotonic()
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=null, stderr=subprocess.DEVNULL)
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            p.returncode = 0
    wall = time.monotonic() - t0
    rc = os.waitstatus_to_exitcode(status)
    return wall, ru.ru_utime + ru.ru_stime, rc


def parse_perf_report(text):
    """[(percent, kind, symbol)] from perf report --stdio --sort sym."""
    out = []
    for line in text.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+\[(.)\]\s+(.+?)\s*$", line)
        if m:
            out.append((float(m.group(1)), "user" if m.group(2) == "." else "kernel", m.group(3)))
    return out



def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=".output")
    ap.add_argument("--secs", type=int, default=5,
                    help="seconds of churn per run, one connection at a time (default 5)")
    ap.add_argument("--inflight-secs", type=int, default=3,
                    help="seconds of churn per run, 8 connections in flight (default 3)")
    ap.add_argument("--rounds", type=int, default=3, help="overhead rounds (default 3)")
    ap.add_argument("--record-secs", type=int, default=10, help="churn recorded for replay (default 10)")
    ap.add_argument("--hold", type=int, default=100000, help="connections held for memory (default 100000)")
    ap.add_argument("--no-profile", action="store_true", help="skip the profile step")
    ap.add_argument("--steps", default="verify,overhead,loss,replay,memory,profile",
                    help="comma-separated steps to run (default: all)")
    ap.add_argument("--keep-log", action="store_true", help="keep the recorded log (.output/bench/churn.tlog)")
    ap.add_argument("--out", default=os.path.join(ROOT, ".output", "bench", "results.md"))
    args = ap.parse_args()
    if not (1 <= args.secs <= 60 and 1 <= args.inflight_secs <= 60 and 1 <= args.rounds <= 20
            and 1 <= args.record_secs <= 120
            and 0 <= args.hold <= 1000000):
        ap.error("out of range")

    cmdline = "make bench" if os.environ.get("MAKELEVEL") else " ".join(
        ["python3"] + [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    b = Bench(args)
    status = 0
    try:
        b.setup()
        b.results["machine"] = b.machine()
        steps = [("verify", b.verify), ("overhead", b.overhead), ("loss", b.loss),
                 ("replay", b.replay), ("memory", b.memory), ("profile", b.profile)]
        wanted = set(args.steps.split(","))
        if args.no_profile:
            wanted.discard("profile")
        for name, fn in steps:
            if name not in wanted:
                continue
            try:
                fn()
            except BenchError as e:
                b.error(name, e)
            except (OSError, subprocess.SubprocessError, KeyError, ValueError) as e:
                b.error(name, BenchError("%s: %s" % (type(e).__name__, e)))
    except BenchError as e:
        b.error("setup", e)
        status = 1
    finally:
        b.teardown()
    if "machine" not in b.results:
        print("\n".join(b.results["errors"]), file=sys.stderr)
        return 1
    wall = b.elapsed()
    text = render(b, b.results, cmdline, wall)
    with open(args.out, "w") as f:
        f.write(text + "\n")
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(b.results, f, indent=1, default=str)
    print(text)
    print("\nwritten to %s (%.0f s)" % (os.path.relpath(args.out, os.getcwd()), wall))
    return 1 if b.results["errors"] or status else 0


if __name__ == "__main__":
    sys.exit(main())
