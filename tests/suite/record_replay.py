"""Record and replay: `tcplinger record` in a test netns while scenarios
run; its replay must match the live output byte for byte (replayed as uid
65534); CSV; cut, corrupted and unreadable logs; foreign files; SIGKILL; a
full disk (a 128k tmpfs); --max-size; -w -; unsafe -w paths; logs crafted
against replay's memory and time bounds (<build>/tests/gen_crafted), their
peak RSS measured with GNU time."""

import csv
import difflib
import glob
import json
import os
import re
import shutil
import datetime
import signal
import subprocess
import time

from .checks import Checker, Session, check_lifecycle, check_summary, fmt_s, jline, names, span
from .common import (AS_NOBODY, NS_PER_MS, NS_PER_S, ROOT, SANITIZER_RE, TestFailure, TestSkip,
                     boot_ns, run, san_env)
from .procs import Recorder, Replay

CSV_STATES = ["SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "CLOSING",
              "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK", "LISTEN"]
CSV_HEADER = ("conn,family,saddr,sport,daddr,dport,netns,pid,comm,start_ns,end_ns,duration_ns,"
              "fin_wait2_ns,close_wait_ns,time_wait_ns,end,complete,seeded,start_exact,gap,"
              "evicted,path," + ",".join("in_" + s + "_ns" for s in CSV_STATES) +
              ",start_ts,end_ts")
REPLAY_TIMEOUT = 120.0
TRUNC_RE = re.compile(r"truncated at byte (\d+)")
BADCRC_RE = re.compile(r"block (\d+) at byte (\d+): bad CRC, skipped")
TS_RE = re.compile(rb'"ts_ns":(\d+)')


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


def umount(mnt):
    r = subprocess.run(["umount", mnt], capture_output=True, timeout=20)
    if r.returncode != 0:
        subprocess.run(["umount", "-l", mnt], capture_output=True, timeout=20)


class RecCtx:
    """What a recording's drive() gets: the netns (ns), the recorder (rec),
    and start() for scenario programs (all ended with the recording)."""

    def __init__(self, suite, t):
        self.suite = suite
        self.t = t
        self.ns = None
        self.rec = None
        self.scens = []

    def start(self, scen, args=()):
        sc = self.suite.start_scenario(self.t, self.ns, scen, args)
        self.scens.append(sc)
        return sc


class RecordReplay:
    def recording(self, t, args, drive, sanitized=True, sysctls=(), log=None,
                  stdout_path=None, settle=0.5):
        """Netns + `tcplinger record -w LOG --netns INODE ARGS`.  drive(ctx)
        starts scenarios with ctx.start() and may end the recorder itself
        (wait_exit, sigkill, stop); otherwise it is stopped with SIGINT after
        `settle` s.  Returns ctx (ctx.rec: the recorder)."""
        ctx = RecCtx(self, t)
        with t.scope():
            ctx.ns = t.netns(sysctls)
            ctx.rec = t.own(Recorder(self.tracer_bin(sanitized), ctx.ns.inode, t.workdir,
                                     sanitized, log or t.path("rec.tlog"), args,
                                     stdout_path=stdout_path))
            t.explain(ctx.rec.stderr_tail)
            t.explain(lambda: [l for sc in ctx.scens for l in sc.details()[:4]])
            ctx.rec.start()
            drive(ctx)
            if ctx.rec.rc is None:
                time.sleep(settle)
                ctx.rec.stop()
            return ctx

    def replay(self, log, args=(), sanitized=True, unprivileged=None, out_path=None,
               timeout=REPLAY_TIMEOUT):
        """`tcplinger replay ARGS LOG`; unprivileged: a dir holding a copy of
        the binary, run as uid/gid 65534.  stdout to out_path if given."""
        binary = self.tracer_bin(sanitized)
        if not os.access(binary, os.X_OK):
            raise TestFailure("tracer binary missing: %s" % binary)
        argv = [binary, "replay"] + list(args) + [log]
        if unprivileged:
            argv = AS_NOBODY + [self.binary_copy(unprivileged, sanitized), "replay"] + \
                list(args) + [log]
        out_f = open(out_path, "wb") if out_path else subprocess.PIPE
        try:
            r = subprocess.run(argv, stdout=out_f, stderr=subprocess.PIPE, timeout=timeout,
                               env=san_env(sanitized), stdin=subprocess.DEVNULL,
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

    @staticmethod
    def churn_forever(ctx, port=5008):
        """churn that goes on until killed (~10k conn/s); returns it once
        it is under way."""
        sc = ctx.start("churn", ["-n", "1000000", "-p", str(port)])
        sc.fact("t_start", timeout=20)
        return sc

    # Continuous churn: wide ephemeral range, TIME_WAIT reuse on loopback.
    CHURN_SYSCTLS = ("net.ipv4.ip_local_port_range=10000 65000", "net.ipv4.tcp_tw_reuse=2")

    def multiblock_log(self, t):
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

        ctx = self.recording(t, [], drive, sanitized=False,
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

    def t_record_replay_identical(self, t):
        udir = self.unpriv_dir(t)
        log = t.path("live.tlog")
        n_churn = 2000

        def drive(ctx):
            # tw_reuse re-binds its client port: done before churn's
            # TIME_WAITs hold ephemeral ports it could have been given.
            scs = [ctx.start(s) for s in ("client_first", "server_first", "tw_reuse")]
            for sc in scs:
                sc.finish()
            ctx.start("churn", ["-n", str(n_churn)]).finish()
            time.sleep(1.2)     # an interval summary or two

        ctx = self.recording(t, ["--print", "--json", "--events", "-i", "1"], drive,
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
        # Wall clock beside boot time: one offset for the whole session,
        # and that offset is now's.
        offsets = set()
        for tr in sess.transitions:
            wall = datetime.datetime.strptime(tr.get("ts", ""), "%Y-%m-%dT%H:%M:%S.%fZ")
            wall = wall.replace(tzinfo=datetime.timezone.utc).timestamp()
            offsets.add(round(wall - tr["ts_ns"] / 1e9, 3))
        ck.true(len(offsets) in (1, 2) and (not offsets or abs(
            min(offsets) - (time.time() - time.clock_gettime(time.CLOCK_BOOTTIME))) < 5),
                "wall-clock ts minus ts_ns: %s" % sorted(offsets)[:4])
        size = os.path.getsize(log)
        per = size / max(1, len(sess.transitions))
        ck.true(len(sess.transitions) > 0 and per <= 16,
                "%.2f bytes per transition line (%d bytes, %d transitions), expected <= 16" % (
                    per, size, len(sess.transitions)))
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + rp.details(4) + rec.stderr_tail(6))
        return "%d lifecycles, %d transitions, log %d bytes: %.2f bytes/transition" % (
            len(sess.lifecycles), len(sess.transitions), size, per)

    def t_open_summary(self, t):
        """Interval summaries count what is open now: per state, the sockets
        that ss shows in TIME_WAIT, CLOSE_WAIT and FIN_WAIT2, with the
        CLOSE_WAIT owner and local port; then, once the server has closed,
        its peers' orphans gone from FIN_WAIT2 to TIME_WAIT; a replay gives
        the same."""
        n_tw, samples, after, facts = 40, [], [], {}

        def drive(ctx):
            sc = self.start_scenario(t, ctx.ns, "linger_mix", ["-n", str(n_tw)], stdin_pipe=True)
            ctx.scens.append(sc)
            sc.fact("ready")
            # a few interval summaries while ss looks at the same sockets
            sample(ctx, samples, 3.5)
            # The server closes its CLOSE_WAITs: their clients, orphans
            # whose timewait socks sit in substate FIN_WAIT2, turn TIME_WAIT
            # on its FIN, mostly without a trace (the timer's re-arm stays
            # in its wheel bucket).
            sc.send_line()
            sc.finish()
            facts.update(sc.int_facts())
            time.sleep(0.3)
            sample(ctx, after, 3.5)

        def sample(ctx, into, secs):
            end = time.monotonic() + secs
            while time.monotonic() < end:
                counts = [len(ctx.ns.ss("state", st).splitlines())
                          for st in ("time-wait", "close-wait", "fin-wait-2")]
                into.append((boot_ns(), counts))
                time.sleep(0.2)

        ctx = self.recording(t, ["--print", "--json", "-i", "1"], drive, sanitized=True)
        ck = Checker()
        live = [r for r in ctx.rec.records if r.get("type") == "summary"]
        during = [s for s in live if not s.get("final") and
                  samples and samples[0][0] <= s.get("ts_ns", 0) <= samples[-1][0]]
        ck.true(len(during) >= 2, "%d interval summaries while ss looked, expected >= 2" % len(during))
        ck.true(all(c == [n_tw, 7, 7] for _, c in samples),
                "ss (TIME_WAIT, CLOSE_WAIT, FIN_WAIT2) counts %s, the scenario made [%d, 7, 7]"
                % (sorted(set(tuple(c) for _, c in samples)), n_tw))
        for s in during:
            ts = s.get("ts_ns")
            _, near = min(samples, key=lambda x: abs(x[0] - ts))
            op = s.get("open") or {}
            got = [op.get(st, {}).get("count") for st in ("TIME_WAIT", "CLOSE_WAIT", "FIN_WAIT2")]
            ck.eq(got, near, "summary at %d: open (TIME_WAIT, CLOSE_WAIT, FIN_WAIT2) vs ss" % ts)
            cw = op.get("CLOSE_WAIT", {})
            top = cw.get("top", {})
            owners, ports = top.get("owners") or [{}], top.get("local_ports") or [{}]
            ck.eq((owners[0].get("pid"), owners[0].get("count")), (facts.get("pid"), 7),
                  "summary at %d: top CLOSE_WAIT owner (pid, count)" % ts)
            ck.eq((ports[0].get("port"), ports[0].get("count")), (facts.get("server_port"), 7),
                  "summary at %d: top CLOSE_WAIT local port (port, count)" % ts)
            tw = op.get("TIME_WAIT", {})
            ck.true(0 < tw.get("p50_ns", 0) <= tw.get("p99_ns", 0) <= tw.get("max_ns", 0) <
                    ts - facts.get("t_ready", ts) + 10 * NS_PER_S,
                    "summary at %d: TIME_WAIT ages p50 <= p99 <= max, under the scenario's age: %s"
                    % (ts, jline(tw)))
            rem = tw.get("top", {}).get("remote") or [{}]
            ck.eq((rem[0].get("port"), rem[0].get("count")), (facts.get("server_port"), n_tw),
                  "summary at %d: top TIME_WAIT remote (port, count)" % ts)
        later = [s for s in live if not s.get("final") and
                 after and after[0][0] <= s.get("ts_ns", 0) <= after[-1][0]]
        ck.true(len(later) >= 2, "%d interval summaries after the server closed, expected >= 2"
                % len(later))
        ck.true(all(c == [n_tw + 7, 0, 0] for _, c in after),
                "ss counts after the server closed %s, expected [%d, 0, 0]"
                % (sorted(set(tuple(c) for _, c in after)), n_tw + 7))
        for s in later:
            op = s.get("open") or {}
            got = [op.get(st, {}).get("count") for st in ("TIME_WAIT", "CLOSE_WAIT", "FIN_WAIT2")]
            ck.eq(got, [n_tw + 7, 0, 0], "summary at %d, after the server closed: open "
                  "(TIME_WAIT, CLOSE_WAIT, FIN_WAIT2) vs ss" % s.get("ts_ns"))
        rp = self.replay_ok(ctx.rec.log, ["--json", "-i", "1"])
        replayed = [r for r in rp.records() if r.get("type") == "summary"]
        ck.eq([s.get("open") for s in replayed], [s.get("open") for s in live],
              "open counts of every summary, replay vs live")
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + ["live summary: " + jline(s)
                                                             for s in during[:2]])
        return "%d interval summaries matched ss: %d TIME_WAIT, 7 CLOSE_WAIT, 7 FIN_WAIT2" % (
            len(during), n_tw)

    def t_replay_csv(self, t):
        facts = {}

        def drive(ctx):
            sc = ctx.start("client_first")
            sc.finish()
            facts.update(sc.facts)

        ctx = self.recording(t, [], drive, sanitized=True)
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
            ck.eq(r["in_TIME_WAIT_ns"], r["time_wait_ns"], lab + " in_TIME_WAIT_ns == time_wait_ns")
            ck.eq(r["in_CLOSE_WAIT_ns"], r["close_wait_ns"], lab + " in_CLOSE_WAIT_ns == close_wait_ns")
            for st, ns_ in lc_spans(lc).items():
                ck.eq(r["in_" + st + "_ns"], str(ns_), "%s in_%s_ns vs --json states" % (lab, st))
            for k in ("start_ts", "end_ts"):
                ck.eq(r[k], lc.get(k), "%s %s vs --json" % (lab, k))
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

    def t_replay_truncated(self, t):
        data, log, blocks, full = self.multiblock_log(t)
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
            path = t.path("cut-%d.tlog" % cut)
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
        clean = t.path("clean-prefix.tlog")
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

    def t_replay_corrupt_block(self, t):
        data, log, blocks, full = self.multiblock_log(t)
        full_t = [tkey(r) for r in full.records() if r.get("type") == "transition"]
        # Events from different CPUs may reach the log slightly out of
        # order: leave a margin at the block's edges.
        margin = 5 * NS_PER_MS

        # Event times around a block: the last transition in the replay of
        # the blocks before it, and of those up to it.
        last_ts_cache = {}

        def last_ts(upto):
            if upto not in last_ts_cache:
                p = t.path("prefix-%d.tlog" % upto)
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
        path = t.path("corrupt.tlog")
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

    def t_replay_foreign_file(self, t):
        empty = t.path("empty")
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

        ctx = self.recording(t, [], drive, sanitized=True)
        with open(ctx.rec.log, "rb") as f:
            data = bytearray(f.read())
        voff = LOG_VERSION_OFFSET
        ver = int.from_bytes(data[voff:voff + 2], "little")
        ck.eq(ver, 2, "version field of a fresh log (u16 at byte %d)" % voff)
        bumped = t.path("bumped.tlog")
        data[voff:voff + 2] = (ver + 1).to_bytes(2, "little")
        with open(bumped, "wb") as f:
            f.write(data)
        one_error(bumped, "version", "log with version %d" % (ver + 1))
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + details)

    def t_record_sigkill(self, t):
        obs = {}

        def drive(ctx):
            sc = self.churn_forever(ctx)
            time.sleep(3.0)
            if sc.p.poll() is not None:
                raise TestFailure("churn ended (%s) before the recorder was killed" % sc.p.poll(),
                                  sc.details())
            obs["t"] = ctx.rec.sigkill()

        ctx = self.recording(t, [], drive, sanitized=False, sysctls=self.CHURN_SYSCTLS)
        out = t.path("replay.out")
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

    def t_record_disk_full(self, t):
        mnt = t.path("tmpfs")
        os.mkdir(mnt)
        run(["mount", "-t", "tmpfs", "-o", "size=128k,mode=0755", "tmpfs", mnt])
        t.later(umount, mnt)
        log = os.path.join(mnt, "full.tlog")

        def drive(ctx):
            self.churn_forever(ctx)
            ctx.rec.wait_exit(30)

        ctx = self.recording(t, [], drive, sanitized=True, log=log,
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

    def t_record_max_size(self, t):
        def drive(ctx):
            self.churn_forever(ctx)
            ctx.rec.wait_exit(30)

        ctx = self.recording(t, ["--max-size", "64K"], drive, sanitized=True,
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

    def t_record_stdout(self, t):
        out = t.path("stdout.tlog")
        facts = {}

        def drive(ctx):
            sc = ctx.start("client_first")
            sc.finish()
            facts.update(sc.facts)

        ctx = self.recording(t, [], drive, sanitized=True, log="-", stdout_path=out)
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

    # -- logs crafted against replay's bounds (tests/fuzz/gen_crafted.c)

    def crafted_log(self, t, *args):
        gen = os.path.join(self.build, "tests", "gen_crafted")
        if not os.access(gen, os.X_OK):
            raise TestFailure("generator missing: %s (make test-bins)" % gen)
        path = t.path("-".join(str(a) for a in args) + ".tlog")
        r = subprocess.run([gen] + [str(a) for a in args] + [path], capture_output=True,
                           text=True, timeout=120)
        if r.returncode != 0:
            raise TestFailure("gen_crafted %s failed: %s" % (args, r.stderr.strip()))
        return path

    def replay_measured(self, t, log, args, timeout):
        """Replays with the plain build (sanitizers would skew memory): returns
        (stdout lines, stderr, seconds, peak RSS in MiB).  The RSS comes from
        GNU time: a child's ru_maxrss as python sees it includes python's own
        RSS from before the exec."""
        timer = "/usr/bin/time"
        if not os.access(timer, os.X_OK):
            raise TestSkip("no %s (Debian package time) to measure peak RSS" % timer)
        rss_path = t.path("rss")
        out_path = t.path("out.txt")
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

    def t_replay_crafted_memory(self, t):
        """Stack blobs that deflate packs a hundredfold, and a stack under the
        top reference, must not make replay hold much more than the log."""
        ck = Checker()
        notes = []
        log = self.crafted_log(t, "stacks", 40000)
        size_mb = os.path.getsize(log) / 2**20
        _, err, secs, rss = self.replay_measured(t, log, [], 60)
        notes.append("stacks %.1f MiB: %.0f MiB" % (size_mb, rss))
        ck.true(rss < 32, "without --leaks, no stacks are kept: peak RSS %.0f MiB < 32 MiB "
                "(a %.1f MiB log of 40000 8 KiB blobs)" % (rss, size_mb))
        _, err, secs, rss = self.replay_measured(t, log, ["--leaks"], 60)
        bound = 16 * size_mb + 4 + 32
        notes.append("--leaks %.0f MiB" % rss)
        ck.true(rss < bound, "--leaks: peak RSS %.0f MiB < %.0f MiB (16 x log + 4 MiB + 32 MiB)"
                % (rss, bound))
        ck.true(re.search(r"warning: .*: \d+ stacks skipped", err) is not None,
                "the skipped stacks are counted in a warning")
        # --max-stacks refusals are counted as such, not as memory ones
        log = self.crafted_log(t, "stacks", 50)
        _, err, secs, rss = self.replay_measured(t, log, ["--leaks", "--max-stacks", "3"], 60)
        ck.true(re.search(r"tcplinger: 47 stacks not kept: --max-stacks 3 reached", err)
                is not None and "stacks skipped" not in err,
                "--max-stacks 3 of 50 stacks: 47 counted once, as not kept: %r" % err)
        log = self.crafted_log(t, "bigref")
        _, err, secs, rss = self.replay_measured(t, log, ["--leaks"], 60)
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

    def t_replay_crafted_time(self, t):
        """Many leak groups and many losses with many open connections: linear
        work takes a second, the quadratic paths these replace a minute."""
        ck = Checker()
        notes = []
        log = self.crafted_log(t, "groups", 200000)
        lines, err, secs, rss = self.replay_measured(t, log, ["--leaks", "--json"], 15)
        last = json.loads(lines[-1]) if lines else {}
        ck.eq(last.get("groups"), 200000, "leak groups of 200000 owners")
        ck.true(secs < 15, "--leaks with 200000 groups in %.1f s" % secs)
        notes.append("200000 groups: %.1f s" % secs)
        log = self.crafted_log(t, "lost", 200000, 40000)
        lines, err, secs, rss = self.replay_measured(t, log, ["--json"], 15)
        last = json.loads(lines[-1]) if lines else {}
        ck.eq(last.get("lost"), 40000, "lost events counted")
        ck.eq(last.get("incomplete"), 200000, "every connection open at a loss is incomplete")
        ck.true(secs < 15, "40000 losses with 200000 open in %.1f s" % secs)
        notes.append("40000 losses x 200000 open: %.1f s" % secs)
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + notes)
        return ", ".join(notes)

    # -- hardening

    def t_record_unsafe_path(self, t):
        """-w in a world-writable dir holding a symlink, a FIFO nobody
        reads, a directory or a hard link: one line, exit 1, nothing
        touched, and no open() that waits."""
        d = t.path("sticky")
        os.mkdir(d)
        os.chmod(d, 0o1777)
        target = t.path("precious")
        with open(target, "w") as f:
            f.write("keep me\n")
        os.chmod(target, 0o644)
        cases = {
            "link.tlog": ("is a symbolic link", lambda p: os.symlink(target, p)),
            "dangling.tlog": ("is a symbolic link",
                              lambda p: os.symlink(t.path("nowhere"), p)),
            "fifo.tlog": ("is a FIFO", os.mkfifo),
            "dir.tlog": ("is a directory", os.mkdir),
            "hard.tlog": ("has other hard links", lambda p: os.link(target, p)),
        }
        binary = self.tracer_bin(True)
        ck = Checker()
        details = []
        for name, (needle, make) in cases.items():
            path = os.path.join(d, name)
            make(path)
            r = self.run_tool([binary, "record", "-w", path, "-d", "30"], 40)
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
        ck.true(not os.path.lexists(t.path("nowhere")),
                "the dangling symlink's target was created")
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + details)


    def t_replay_unreadable(self, t):
        """A log none of whose blocks can be read: exit 1 with a line
        saying so; a log of a header only is an empty recording: exit 0."""
        def drive(ctx):
            ctx.start("client_first").finish()

        ctx = self.recording(t, [], drive, sanitized=False)
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
            path = t.path("unreadable-%d.tlog" % len(details))
            with open(path, "wb") as f:
                f.write(content)
            rp = self.replay(path, ["--json"])
            want = "tcplinger: %s: no block of the log could be read" % path
            ok = ck.eq(rp.rc, 1, what + ": exit status")
            ok &= ck.eq(rp.err_lines[-1:], [want], what + ": last stderr line")
            if not ok:
                details += rp.details(4)
            details.append(what)
        path = t.path("header-only.tlog")
        with open(path, "wb") as f:
            f.write(hdr)
        rp = self.replay(path, ["--json"])
        if not ck.eq((rp.rc, rp.err_lines), (0, []), "header-only log: exit status, stderr"):
            details += rp.details(4)
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + details)
