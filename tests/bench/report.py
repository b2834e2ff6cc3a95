# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The benchmark's report: bench.py's results as the Markdown of
results.md, each measure beside its target (pass/MISS, never asserted)."""


# Targets (reported as pass/miss, never asserted).
T_OVERHEAD_PCT = 3.0
# Points of no-tracer conn/s above the empty-program floor, per configuration.
T_FLOOR_POINTS = {"tcplinger": 1.5, "record": 2.5}
T_CPU_US = 0.5
# Replay speed, transitions/s, by the start of the timing's label.
T_REPLAY_PER_S = (("replay --json FILE", 10e6), ("replay FILE -p 1", 15e6))
T_BYTES_PER_TRANSITION = 8.0
T_BYTES_PER_CONN = 128.0
T_LEAK_POINTS = 5.0     # leak hunting's cost over the same tracing without it


def fmt_num(x, spec="{:,.0f}"):
    return "-" if x is None else spec.format(x)


def verdict(ok):
    return "n/a" if ok is None else ("pass" if ok else "MISS")


def bpf_ns_per_conn(run):
    """BPF run time per connection of a profile run, None without it."""
    if not run or not run.get("conn") or run.get("bpf_ns_per_transition") is None:
        return None
    return run["bpf_ns_per_transition"] * run["transitions"] / run["conn"]


def leak_section(rows, prof_runs):
    """Leak hunting beside the same tracing without it, from the overhead
    rounds: its cost in points of no-tracer conn/s, and its stack windows;
    from the profile runs, the BPF run time it adds per connection."""
    leak = [r for r in rows if "points_over_base" in r]
    if not leak:
        return []
    L = ["### Leak hunting at full churn (one at a time)", "",
         "| Configuration | vs no tracer | without leak hunting | cost: points of no-tracer conn/s "
         "(each round) | BPF run time added per connection (as points) | "
         "stack windows taken: all / the load's | windows dropped (ring full) |",
         "|---|---:|---:|---:|---:|---:|---:|"]
    none = next((r for r in rows if r["key"] == "none"), {})
    for r in leak:
        base = next((x for x in rows if x["key"] == r["base"]), {})
        w = r.get("windows") or {}
        ns = [bpf_ns_per_conn(prof_runs.get(k)) for k in (r["key"], r["base"])]
        added = None if None in ns else ns[0] - ns[1]
        L.append("| %s | %s | %s: %s | %s (%s) | %s | %s / %s | %s |" % (
            r["label"], pct(r["ratio"]), base.get("label", r["base"]), pct(base.get("ratio")),
            fmt_num(r["points_over_base"], "{:+.1f}"),
            ", ".join("%+.1f" % p for p in r["points_per_round"]) or "-",
            "-" if added is None else "%s ns (%s)" % (fmt_num(added, "{:+,.0f}"), fmt_num(
                added * none["conn_per_s"] / 1e7 if none.get("conn_per_s") else None, "{:+.1f}")),
            fmt_num(w.get("taken")), fmt_num(w.get("load")), fmt_num(w.get("dropped"))))
    L.append("")
    L.append("Cost: in each round, (conn/s without leak hunting − conn/s with it) ÷ that round's "
             "no-tracer conn/s, in points; the median over rounds. The load accepts, connects and "
             "reads EOF on every connection, each a point where a window may be taken (the "
             "user registers and up to 8 KiB of stack, once per process, call site and words at "
             "sp, at most 64 per process). BPF run time added: from the profile runs (BPF_ENABLE_STATS), "
             "the programs' run time per connection with leak hunting minus without; as points, "
             "÷ the no-tracer time per connection (1 ÷ its median conn/s): the cost if all of it "
             "delays the load's ping-pong, a steadier estimate than conn/s on a busy machine. "
             "Windows: read from the tracer's maps at the end of each "
             "run (medians): taken by every process the tracer saw, by the load, and those the "
             "windows ring had no room for (the frame-pointer stack then stands).")
    L.append("")
    return L


def pct(ratio):
    return "-" if ratio is None else "%.1f %%" % (100 * ratio)


# What each load of bench.LOADS does, for the report's header.
LOAD_WHAT = {"serial": "one connection at a time, close order alternating (client first / "
                       "server first)",
             "inflight8": "8 connections in flight at once (epoll, non-blocking sockets; a new "
                          "one starts as each ends), client closes first"}


def overhead_table(load, rows, loss):
    """The side-by-side table of one load's configurations."""
    if not rows:
        return []
    L = ["## Connection churn, %s, side by side (medians)" % load["label"], "",
         "| Configuration | conn/s | min - max | vs no tracer | events lost | "
         "tracer CPU µs/transition (user %) | tracer wakeups /1k transitions | "
         "tracer peak RSS | other processes' CPU |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lost = r["lost"]
        if r["key"] in ("tcpstates", "bpftrace"):
            lr = next((x for x in loss if x.get("load") == load["key"]
                       and x["label"].startswith(r["key"])), None)
            lost = lr["lost"] if lr else None
        L.append("| %s | %s | %s - %s | %s | %s | %s | %s | %s | %s |" % (
            r["label"], fmt_num(r["conn_per_s"]), fmt_num(r["min"]), fmt_num(r["max"]),
            "-" if r["ratio"] is None or r["key"] == "none" else "%.1f %%" % (100 * r["ratio"]),
            "-" if lost is None else "%d" % lost,
            "-" if r["cpu_us"] is None else "%.3f (%.0f %%)" % (r["cpu_us"], r["user_pct"] or 0),
            fmt_num(r["wakeups_per_k"], "{:,.1f}"),
            "-" if r["hwm"] is None else "%.1f MiB" % (r["hwm"] / 1048576),
            fmt_num(r["other_cpu_pct"], "{:.0f} %")))
    L.append("")
    return L


def load_targets(load, rows, loss):
    """The Targets rows of one load: tcplinger's and record's overhead, to
    no tracer, to the floor and to tcpstates; events lost (the counted
    pass and their own drop reports); tracer CPU."""
    L = []
    key_row = {r["key"]: r for r in rows}
    emp, tsr = key_row.get("empty"), key_row.get("tcpstates")
    on = load["label"] + ": "
    for key in ("tcplinger", "record"):
        r = key_row.get(key)
        if not r or r["ratio"] is None:
            continue
        ov = 100 * (1 - r["ratio"])
        L.append("| %s%s overhead ≤ %.0f %% of no-tracer conn/s | %.1f %% | %s |" % (
            on, r["label"], T_OVERHEAD_PCT, ov, verdict(ov <= T_OVERHEAD_PCT)))
        if emp and emp["ratio"] is not None:
            pts = 100 * (emp["ratio"] - r["ratio"])
            L.append("| %s%s within %.1f points of the empty-program floor | %.1f points "
                     "(floor %.1f %% overhead) | %s |" % (
                         on, r["label"], T_FLOOR_POINTS[key], pts, 100 * (1 - emp["ratio"]),
                         verdict(pts <= T_FLOOR_POINTS[key])))
        if tsr and tsr["ratio"] is not None:
            L.append("| %s%s lower overhead than tcpstates | %.1f %% vs %.1f %% | %s |" % (
                on, r["label"], ov, 100 * (1 - tsr["ratio"]), verdict(r["ratio"] > tsr["ratio"])))
    tle = next((x for x in loss if x.get("load") == load["key"]
                and x["label"].startswith("tcplinger")), None)
    if tle:
        L.append("| %s0 lost events at max churn, default settings (--json --events, counted) | "
                 "%d lost, %s | %s |" % (on, tle["lost"], tle["own_report"],
                                         verdict(tle["lost"] == 0)))
    for key in ("tcplinger", "record"):
        r = key_row.get(key)
        if r and r["lost"] is not None:
            L.append("| %s0 lost events, %s (own drop report, all rounds) | %d | %s |" % (
                on, r["label"], r["lost"], verdict(r["lost"] == 0)))
    for key in ("tcplinger", "record"):
        r = key_row.get(key)
        if r and r["cpu_us"] is not None:
            L.append("| %s%s tracer CPU ≤ %.1f µs per transition | %.3f µs | %s |" % (
                on, r["label"], T_CPU_US, r["cpu_us"], verdict(r["cpu_us"] <= T_CPU_US)))
    return L


def render(b, res, cmdline, wall_s):
    m = res["machine"]
    L = []
    L.append("# tcplinger benchmark results")
    L.append("")
    L.append("- Date: %s; tcplinger %s (binary sha256 %s)" % (
        res.get("date", "?"), m["rev"], res.get("tl_sha256", "?")[:12]))
    L.append("- Machine: %d CPUs, %s; kernel %s; %.1f GiB RAM" % (
        m["nproc"], m["model"], m["kernel"], m["mem_gib"]))
    L.append("- Tools: %s; libbpf-tools %s" % (m["bpftrace"], m["libbpf_tools"]))
    L.append("- Command: `%s` (%.0f s)" % (cmdline, wall_s))
    a = b.args
    loads = res.get("loads", [])
    L.append("- Loads: tests/bench/churn_load, 1 client + 1 server thread over loopback in a fresh "
             "netns per run, 1-byte request/reply, 64 client addresses, no (address, port) pair "
             "used twice; %d rounds, configurations in rotating order. %s." % (
                 a.rounds, "; ".join("**%s** (%s): %s, %d s per run" % (
                     ld["label"], "`churn_load %s`" % ld["args"] if ld["args"] else "default",
                     LOAD_WHAT.get(ld["key"], "?"), ld["secs"]) for ld in loads)))
    if res.get("foreign_at_start"):
        L.append("- Noise: other processes had BPF programs on the same tracepoints during the run "
                 "(pids %s): their cost is in every configuration." % ", ".join(
                     str(p) for p in res["foreign_at_start"]))
    L.append("")

    overhead = res.get("overhead", {})
    for ld in loads:
        L.extend(overhead_table(ld, overhead.get(ld["key"], []), res.get("loss", [])))
    if overhead:
        L.append("vs no tracer: median over rounds of conn/s ÷ the same round's no-tracer conn/s. "
                 "Events lost: tcplinger's own drop report (stderr), summed over its runs; "
                 "tcpstates/bpftrace: expected − printed in the counted pass below. "
                 "CPU: the tracer process's CPU time (schedstat) from the start of the load until "
                 "it is idle after it, per transition (tcplinger's transitions for tcplinger, tracepoint "
                 "events for tcpstates/bpftrace), with the user-space share of utime+stime; the BPF programs' own "
                 "cost is in conn/s (see the BPF run time below). Wakeups: the tracer's voluntary "
                 "context switches. Other processes' CPU: what every other long-lived process on the "
                 "machine used during the runs, in % of one CPU (noise; 0 on a quiet machine).")
        L.append("")

    rows = overhead.get(loads[0]["key"], []) if loads else []
    L.extend(leak_section(rows, (res.get("profile") or {}).get("runs", {})))

    loss = res.get("loss", [])
    verified = res.get("verify") or {}
    label_of = {ld["key"]: ld["label"] for ld in loads}
    if loss or verified:
        L.append("## Event loss at full churn (output counted)")
        L.append("")
        if verified:
            L.append("Expected counts checked on a small run of each load first: %s. "
                     "Per connection, either close order: 10 tcplinger transitions, 10 tracepoint "
                     "events (+2 per run for the listener)." % "; ".join(
                         "%s, %d connections: tcplinger %d of %d%s" % (
                             label_of.get(k, k), v["connections"], v["tcplinger"],
                             v["expected_tcplinger"],
                             (", tcpstates %d of %d" % (v["tcpstates"], v["expected_tracepoint"]))
                             if "tcpstates" in v else "")
                         for k, v in verified.items()))
            L.append("")
        L.append("| Load | Tool | connections | conn/s | expected | reported | lost | own report |")
        L.append("|---|---|---:|---:|---:|---:|---:|---|")
        for r in loss:
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                label_of.get(r.get("load"), "-"), r["label"], fmt_num(r["conn"]),
                fmt_num(r["conn_per_s"]), fmt_num(r["expected"]), fmt_num(r["reported"]),
                fmt_num(r["lost"]), r["own_report"] or "-"))
        L.append("")

    rp = res.get("replay")
    if rp:
        L.append("## Record and replay")
        L.append("")
        L.append("Recorded %d s of churn: %s connections, %s transitions replayed (expected %s, "
                 "summary lost=%s), %s bytes: **%.2f bytes per transition** on disk. Recorder CPU "
                 "%.3f µs/transition." % (
                     b.args.record_secs, fmt_num(rp["conn"]), fmt_num(rp["transitions"]),
                     fmt_num(rp["expected"]), rp["summary_lost"], fmt_num(rp["file_bytes"]),
                     rp["bytes_per_transition"] or 0,
                     (rp["cpu_s"] or 0) / max(rp["transitions"], 1) * 1e6))
        L.append("")
        L.append("| Replay (median of 3) | wall s | CPU s | transitions/s |")
        L.append("|---|---:|---:|---:|")
        for label, t in rp["timings"].items():
            L.append("| `%s` | %.3f | %.3f | %s |" % (label, t["wall_s"], t["cpu_s"],
                                                      fmt_num(t["per_s"])))
        L.append("")

    mem = res.get("memory", {})
    if mem.get("uncapped") or mem.get("capped"):
        L.append("## Memory per tracked connection")
        L.append("")
        u = mem.get("uncapped")
        if u:
            L.append("tcplinger > /dev/null while tests/bench/hold_conns holds %s connections "
                     "(both ends tracked: %s sockets; opened in %.1f s):" % (
                         fmt_num(mem["n"]), fmt_num(2 * mem["n"]), u["open_ms"] / 1000))
            L.append("")
            L.append("| | 0 connections | %s connections | per tracked connection |" % fmt_num(mem["n"]))
            L.append("|---|---:|---:|---:|")
            L.append("| VmRSS | %.1f MiB | %.1f MiB | **%.0f B** |" % (
                u["rss0"] / 1048576, u["rss1"] / 1048576, u["per_conn_rss"]))
            L.append("| RssAnon (heap) | %.1f MiB | %.1f MiB | %.0f B |" % (
                u["anon0"] / 1048576, u["anon1"] / 1048576, u["per_conn_anon"]))
            L.append("")
        c = mem.get("capped")
        if c:
            L.append("With `--max-conns %s`: %s connections evicted reported on stderr%s; VmRSS %.1f MiB "
                     "(peak %.1f MiB)." % (
                         fmt_num(c["cap"]), "no" if c["evicted"] is None else fmt_num(c["evicted"]),
                         "" if c["evicted"] is None else " (expected %s)" % fmt_num(2 * mem["n"] - c["cap"]),
                         c["rss1"] / 1048576, c["hwm1"] / 1048576))
            L.append("")

    L.append("## Targets")
    L.append("")
    L.append("| Target | measured | verdict |")
    L.append("|---|---|---|")
    for ld in loads:
        L.extend(load_targets(ld, overhead.get(ld["key"], []), loss))
    for r in rows:
        if r.get("points_over_base") is not None:
            base = next((x for x in rows if x["key"] == r["base"]), None)
            L.append("| leak hunting ≤ plain tracing + %.0f points of conn/s: %s vs %s | "
                     "%+.1f points | %s |" % (
                         T_LEAK_POINTS, r["label"], base["label"] if base else r["base"],
                         r["points_over_base"], verdict(r["points_over_base"] <= T_LEAK_POINTS)))
    if rp:
        L.append("| 0 lost events, record at max churn for %d s (replay counted) | %d | %s |" % (
            b.args.record_secs, rp["lost"], verdict(rp["lost"] == 0)))
    if rp:
        for label, t in rp["timings"].items():
            target = next((v for start, v in T_REPLAY_PER_S if label.startswith(start)), None)
            if target is None:
                continue
            L.append("| replay ≥ %.0f M transitions/s: `%s` | %.2f M/s | %s |" % (
                target / 1e6, label, (t["per_s"] or 0) / 1e6,
                verdict((t["per_s"] or 0) >= target)))
        if rp["bytes_per_transition"]:
            L.append("| ≤ %.0f bytes per transition on disk | %.2f B | %s |" % (
                T_BYTES_PER_TRANSITION, rp["bytes_per_transition"],
                verdict(rp["bytes_per_transition"] <= T_BYTES_PER_TRANSITION)))
    u = mem.get("uncapped")
    if u:
        L.append("| ≤ %.0f B per tracked connection (VmRSS) | %.0f B | %s |" % (
            T_BYTES_PER_CONN, u["per_conn_rss"], verdict(u["per_conn_rss"] <= T_BYTES_PER_CONN)))
    c = mem.get("capped")
    if c:
        L.append("| evictions reported at --max-conns %s | %s | %s |" % (
            fmt_num(c["cap"]), "none" if c["evicted"] is None else fmt_num(c["evicted"]),
            verdict(c["evicted"] is not None and c["evicted"] > 0)))
    L.append("")

    prof = res.get("profile") or {}
    if prof.get("runs"):
        L.append("## Where the time goes")
        L.append("")
        L.append("One more churn run per tool (one connection at a time) with the kernel's BPF "
                 "run-time accounting on "
                 "(BPF_ENABLE_STATS; it adds two clock reads per program run) and a system-wide "
                 "`perf record -a -g -e cpu-clock`.")
        L.append("")
        L.append("| Tool | conn/s | BPF ns per transition | BPF programs: runs, ns/run | "
                 "tool wakeups /1k transitions |")
        L.append("|---|---:|---:|---|---:|")
        for key, p in prof["runs"].items():
            L.append("| %s | %s | %s | %s | %s |" % (
                p["label"], fmt_num(p["conn_per_s"]), fmt_num(p["bpf_ns_per_transition"]),
                "; ".join("%s %s × %.0f ns" % (n, fmt_num(c), t / c) for n, c, t in p["progs"] if c),
                fmt_num(1000 * p["wakeups"] / p["transitions"] if p.get("wakeups") is not None
                        and p["transitions"] else None, "{:,.1f}")))
        L.append("")
        if any(p.get("breakdown") for p in prof["runs"].values()):
            L.append("System-wide `perf record -a -g` over the same runs: the share of the load's "
                     "(churn_load's) CPU samples spent inside BPF programs, inside their output "
                     "helper (ring buffer / perf buffer), and in the wakeup that helper raises "
                     "(`irq_work_queue`: a self-IPI, under virtualization a VM exit); the tool "
                     "process's share of the busy samples.")
            L.append("")
            L.append("| Tool | load samples | in BPF programs | in output helper | in its wakeup "
                     "(irq_work) | tool process (of busy) |")
            L.append("|---|---:|---:|---:|---:|---:|")
            for key, p in prof["runs"].items():
                b = p.get("breakdown")
                if not b or not b["load"]:
                    continue
                L.append("| %s | %d | %.1f %% | %.1f %% | %.1f %% | %.1f %% |" % (
                    p["label"], b["load"], 100 * b["load_bpf"] / b["load"],
                    100 * b["load_output"] / b["load"], 100 * b["load_wakeup"] / b["load"],
                    100 * b["tool"] / max(b["busy"], 1)))
            L.append("")
            for key, p in prof["runs"].items():
                b = p.get("breakdown")
                if not b or not b["load_bpf"] or key == "empty":
                    continue
                top = sorted(b["helpers"].items(), key=lambda x: -x[1])[:8]
                L.append("%s: the load's samples inside BPF programs, by what the program was "
                         "doing (%d samples): %s." % (
                             p["label"], b["load_bpf"],
                             ", ".join("%s %.0f %%" % (k, 100 * v / b["load_bpf"]) for k, v in top)))
                L.append("")
        for key, p in prof["runs"].items():
            if not p["top"] or key == "empty":
                continue
            user = [x for x in p["top"] if x[1] == "user"]
            kern = [x for x in p["top"] if x[1] == "kernel"]
            L.append("%s, its own process, perf self time: user space %.1f %%, kernel %.1f %% "
                     "(symbols ≥ 0.5 %%). Top user-space symbols: %s. Top kernel symbols: %s." % (
                         p["label"], sum(x[0] for x in user), sum(x[0] for x in kern),
                         ", ".join("`%s` %.1f %%" % (x[2], x[0]) for x in user[:10]) or "-",
                         ", ".join("`%s` %.1f %%" % (x[2], x[0]) for x in kern[:6]) or "-"))
            L.append("")
        for label, top in (prof.get("replay") or {}).items():
            L.append("`tcplinger %s`, perf self time: %s." % (
                label, ", ".join("`%s` %.1f %%" % (x[2], x[0]) for x in top[:12]) or "-"))
            L.append("")

    if res["notes"] or res["errors"]:
        L.append("## Notes")
        L.append("")
        for n in res["notes"]:
            L.append("- " + n)
        for e in res["errors"]:
            L.append("- FAILED: " + e)
        L.append("")
    return "\n".join(L)
