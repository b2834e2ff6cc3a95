#!/usr/bin/env python3
"""bpf_ab.py [--rounds N] [--secs S] [--inflight N] BIN [BIN...]: what each
tracer binary's BPF programs cost under the same churn, binaries
alternating run by run (an A/B of collector changes: run-to-run noise here
is about +-20 ns a run, more than most changes, so each binary gets several
runs spread over the same minutes, in rotating order after a warm-up run).  Root; BIN is a tcplinger binary,
started as `BIN --netns INODE > /dev/null` on churn_load's namespace with
the kernel's BPF run-time accounting on (BPF_ENABLE_STATS); only the
programs that process holds are counted.  Prints, per binary, the median
over runs of ns per run of each program and of BPF ns per connection.
churn_load is taken from .output/bench (make bench-bins)."""
import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (tests/bench/bench.py)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def one_run(binary, churn, secs, inflight, tmp):
    """{program: ns per run}, BPF ns per connection, conn/s of one run."""
    ns = bench.Netns()
    tool = None
    stats = None
    try:
        argv = [binary, "--netns", str(ns.inode)]
        tool = bench.Tool("ab", argv, tmp, "line")
        tool.start()
        ids = bench.prog_ids_of(tool.p.pid)
        stats = bench.BpfStats()
        before = bench.bpf_prog_stats(ids)
        load = [churn, "-t", str(secs), "-p", str(bench.CHURN_PORT)]
        if inflight > 1:
            load += ["-f", str(inflight)]
        r = bench.run(ns.cmd(load), timeout=secs + 60, check=False)
        after = bench.bpf_prog_stats(ids)
        facts = bench.facts_of(r.stdout)
        if r.returncode != 0 or facts.get("done") != "1":
            raise bench.BenchError("churn_load failed (%d)" % r.returncode, r.stderr.splitlines()[-4:])
    finally:
        if stats:
            stats.close()
        if tool:
            tool.stop()
        ns.close()
    conns = int(facts["connections"])
    per_prog, total = {}, 0
    for pid, (name, cnt, t) in after.items():
        cnt0, t0 = before.get(pid, (name, 0, 0))[1:]
        if cnt > cnt0:
            per_prog[name] = (t - t0) / (cnt - cnt0)
            total += t - t0
    return per_prog, total / max(conns, 1), float(facts["conn_per_s"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--secs", type=int, default=3)
    ap.add_argument("--inflight", type=int, default=1, help="churn_load -f N (1: one at a time)")
    ap.add_argument("bins", nargs="+")
    a = ap.parse_args()
    churn = os.path.join(ROOT, ".output", "bench", "churn_load")
    if os.geteuid() != 0:
        print("bpf_ab.py: run as root", file=sys.stderr)
        return 2
    for b in a.bins + [churn]:
        if not os.access(b, os.X_OK):
            print("bpf_ab.py: %s: not an executable" % b, file=sys.stderr)
            return 2
    runs = {b: [] for b in a.bins}
    with tempfile.TemporaryDirectory(prefix="bpf_ab.") as tmp:
        # A run right after another one's namespace is torn down (its
        # timewait socks purged by a kworker) is slower: one run first that
        # counts for nothing, then the order rotates each round so that no
        # binary always comes first.
        one_run(a.bins[0], churn, a.secs, a.inflight, tmp)
        for r in range(a.rounds):
            for j in range(len(a.bins)):
                b = a.bins[(r + j) % len(a.bins)]
                runs[b].append(one_run(b, churn, a.secs, a.inflight, tmp))
    for b in a.bins:
        progs = sorted({p for r in runs[b] for p in r[0]})
        per = "; ".join("%s %.0f" % (p, statistics.median(r[0][p] for r in runs[b] if p in r[0]))
                        for p in progs)
        print("%s: BPF ns/connection %.0f (runs: %s); conn/s %.0f; ns/run: %s" % (
            b, statistics.median(r[1] for r in runs[b]),
            ", ".join("%.0f" % r[1] for r in runs[b]),
            statistics.median(r[2] for r in runs[b]), per))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except bench.BenchError as e:
        print("bpf_ab.py: %s%s" % (e, "".join("\n  " + d for d in e.details)), file=sys.stderr)
        sys.exit(1)
