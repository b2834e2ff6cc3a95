"""tcplinger top: the live view in a real terminal (a detached tmux session
of a fixed size, read with capture-pane, driven with send-keys), its counts
against ss in the namespace, its width, its keys, and batch mode."""

import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import time

from .common import SAN_ENV, TestFailure, TestSkip, run, san_env
from .ports import EXHAUST_SYSCTLS, RANGE

N_TW = 40   # linger_mix: client sockets in TIME_WAIT
N_CW = 7    # its CLOSE_WAIT server sockets (and their clients in FIN_WAIT2)
SCREEN_TIMEOUT = 40.0   # BPF loading under a sanitizer is slow
STATE_ROW = re.compile(r"^(FIN_WAIT2|CLOSE_WAIT|TIME_WAIT|[A-Z_0-9]+) +(\d+) ")


class Tmux:
    """One command in a detached tmux session of width x height, on a tmux
    server of its own; the command's exit status and the terminal's modes
    after it go to files."""

    def __init__(self, workdir, argv, width, height):
        self.sock = os.path.join(workdir, "tmux-%s.sock" % secrets.token_hex(3))
        self.rc_path = os.path.join(workdir, "top.rc")
        self.err_path = os.path.join(workdir, "top.stderr")
        self.stty_path = os.path.join(workdir, "top.stty")
        env = " ".join("%s=%s" % kv for kv in SAN_ENV.items())
        shell = "env %s %s 2>%s; echo $? >%s.tmp; stty -a >%s; mv %s.tmp %s" % (
            env, " ".join(shlex.quote(a) for a in argv), shlex.quote(self.err_path),
            self.rc_path, self.stty_path, self.rc_path, self.rc_path)
        self.width = width
        run(["tmux", "-S", self.sock, "-f", "/dev/null", "new-session", "-d", "-s", "top",
             "-x", str(width), "-y", str(height), shell])

    def tmux(self, *args, check=True):
        return run(["tmux", "-S", self.sock] + list(args), timeout=10, check=check).stdout

    def screen(self):
        """The pane's rows; wrapped rows joined (-J), so a line that did not
        fit would show longer than the width."""
        return self.tmux("capture-pane", "-p", "-J", "-t", "top").split("\n")

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "top", *keys)

    def rc(self):
        try:
            with open(self.rc_path) as f:
                return int(f.read().strip())
        except FileNotFoundError:
            return None

    def stderr(self):
        try:
            with open(self.err_path, errors="replace") as f:
                return ["stderr: " + l for l in f.read().splitlines()[-6:]]
        except FileNotFoundError:
            return []

    def close(self):
        self.tmux("kill-server", check=False)


def state_counts(lines):
    """{state: count} from the screen's open-sockets table."""
    counts = {}
    for line in lines:
        m = STATE_ROW.match(line)
        if m and m.group(1) in ("FIN_WAIT2", "CLOSE_WAIT", "TIME_WAIT", "ESTABLISHED",
                                "LAST_ACK", "SYN_SENT", "SYN_RECV", "CLOSING", "FIN_WAIT1"):
            counts.setdefault(m.group(1), int(m.group(2)))
    return counts


def ss_counts(ns):
    return {st: len(ns.ss("state", arg).splitlines())
            for st, arg in (("TIME_WAIT", "time-wait"), ("CLOSE_WAIT", "close-wait"),
                            ("FIN_WAIT2", "fin-wait-2"))}


class Top:
    def _need_tmux(self):
        if not shutil.which("tmux"):
            raise TestSkip("tmux not installed (make deps)")

    def _top(self, t, ns, width, height, extra=()):
        self._need_tmux()
        argv = [self.tracer_bin(True), "top", "--netns", str(ns.inode), "-d", "500ms"]
        tm = t.own(Tmux(t.workdir, argv + list(extra), width, height))
        t.explain(lambda: ["screen:"] + ["  |" + l for l in tm.screen()] + tm.stderr())
        return tm

    def _wait_screen(self, tm, what, cond, timeout=SCREEN_TIMEOUT):
        """The screen once cond(lines) holds; fails after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            lines = tm.screen()
            if cond(lines):
                return lines
            if tm.rc() is not None:
                raise TestFailure("top exited with %d before the screen showed %s"
                                  % (tm.rc(), what))
            if time.monotonic() > deadline:
                raise TestFailure("the screen did not show %s within %d s" % (what, timeout))
            time.sleep(0.2)

    def _counts_match_ss(self, tm, ns):
        """The screen's TIME_WAIT, CLOSE_WAIT and FIN_WAIT2 counts once they
        are what linger_mix made, checked against ss at that moment."""
        want = {"TIME_WAIT": N_TW, "CLOSE_WAIT": N_CW, "FIN_WAIT2": N_CW}
        seen = []

        def shows(lines):
            got = state_counts(lines)
            seen[:] = [got]
            return all(got.get(k) == v for k, v in want.items())

        try:
            lines = self._wait_screen(tm, "the scenario's counts %s" % want, shows)
        except TestFailure as e:
            e.details.append("last counts on screen: %s, ss: %s" % (seen, ss_counts(ns)))
            raise
        ss = ss_counts(ns)
        if ss != want:
            raise TestFailure("ss shows %s, the screen %s" % (ss, state_counts(lines)))
        return lines

    @staticmethod
    def _check_width(lines, width):
        long = [l for l in lines if len(l) > width]
        if long:
            raise TestFailure("%d screen lines longer than %d columns" % (len(long), width),
                              ["%d: %s" % (len(l), l) for l in long[:5]])
        cols = [l for l in lines if "*TOTAL" in l or "*MAX_AGE" in l or "*P99_AGE" in l]
        if len(cols) != 1 or len(cols[0]) != width:
            raise TestFailure("the groups' column names span the screen's %d columns: %s"
                              % (width, [len(c) for c in cols]), cols)

    def _quit(self, tm):
        tm.keys("q")
        deadline = time.monotonic() + 15
        while tm.rc() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if tm.rc() != 0:
            raise TestFailure("after q, top's exit status is %s, expected 0" % tm.rc())
        with open(tm.stty_path) as f:
            modes = f.read().split()
        if "icanon" not in modes or "echo" not in modes:
            raise TestFailure("the terminal was not restored after q (stty -a: no icanon/echo)",
                              [" ".join(modes)])

    def t_top_80(self, t):
        """top at 80x30 traces linger_mix as it runs: the per-state counts
        are ss's, the owner's row holds its CLOSE_WAIT sockets, nothing
        passes 80 columns, s moves the sort, q exits 0 and gives the
        terminal back."""
        ns = t.netns()
        tm = self._top(t, ns, 80, 30)
        self._wait_screen(tm, "its header", lambda ls: ls[0].startswith("tcplinger top  up "))
        sc = self.start_scenario(t, ns, "linger_mix", ["-n", str(N_TW)], stdin_pipe=True)
        pid = int(sc.fact("ready") and sc.facts["pid"])
        lines = self._counts_match_ss(tm, ns)
        self._check_width(lines, 80)
        owner = [l for l in lines if l.startswith("%d %s " % (pid, self.comm_of("linger_mix")))]
        # FIN_WAIT2 CLOSE_WAIT TIME_WAIT TOTAL: the server's CLOSE_WAIT, and
        # its orphaned clients in FIN_WAIT2 if still counted as its own
        if not owner or owner[0].split()[3] != str(N_CW):
            raise TestFailure("no group row '%d scen_linger_mix' with %d CLOSE_WAIT" % (pid, N_CW),
                              owner)
        if not any("sort: count" in l for l in lines):
            raise TestFailure("the groups' title does not say 'sort: count'")
        tm.keys("s")
        self._wait_screen(tm, "sort: max age", lambda ls: any(
            "sort: max age" in l for l in ls) and any("*MAX_AGE" in l for l in ls), 10)
        tm.keys(">")
        self._wait_screen(tm, "sort: p99 age", lambda ls: any(
            "sort: p99 age" in l for l in ls) and any("*P99_AGE" in l for l in ls), 10)
        tm.keys("<")
        self._wait_screen(tm, "sort: max age again", lambda ls: any(
            "sort: max age" in l for l in ls), 10)
        tm.keys("h")
        self._wait_screen(tm, "the help", lambda ls: any(l.startswith("Keys") for l in ls), 10)
        tm.keys("x")
        self._wait_screen(tm, "the tables after the help",
                          lambda ls: any(l.startswith("STATE ") for l in ls), 10)
        self._quit(tm)
        sc.send_line()
        sc.finish()
        return "%d TIME_WAIT, %d CLOSE_WAIT, %d FIN_WAIT2 as ss; keys s > < h q" % (
            N_TW, N_CW, N_CW)

    def t_top_120(self, t):
        """top at 120x40 started after linger_mix made its sockets (seeded):
        ss's counts, the groups' key column takes the extra width, g groups
        by remote endpoint: the server's port holds the clients' TIME_WAIT
        and their orphans in FIN_WAIT2."""
        ns = t.netns()
        sc = self.start_scenario(t, ns, "linger_mix", ["-n", str(N_TW)], stdin_pipe=True)
        port = int(sc.fact("ready") and sc.facts["server_port"])
        tm = self._top(t, ns, 120, 40)
        lines = self._counts_match_ss(tm, ns)
        self._check_width(lines, 120)
        tm.keys("g")
        self._wait_screen(tm, "groups by local port",
                          lambda ls: any("by local port" in l for l in ls), 10)
        tm.keys("g")
        remote = "127.0.0.1:%d " % port
        lines = self._wait_screen(tm, "a group row for %s" % remote, lambda ls: any(
            l.startswith(remote) for l in ls), 10)
        row = [l for l in lines if l.startswith(remote)][0].split()
        want = [str(N_CW), "0", str(N_TW), str(N_TW + N_CW)]
        if row[1:5] != want:
            raise TestFailure("remote %s row: FIN_WAIT2 CLOSE_WAIT TIME_WAIT TOTAL %s, expected %s"
                              % (remote, row[1:5], want))
        self._check_width(lines, 120)
        self._quit(tm)
        sc.send_line()
        sc.finish()
        return "seeded counts as ss at 120 columns; g to remote: %d TIME_WAIT" % N_TW

    def t_top_not_a_tty(self, t):
        """top with stdout not a terminal: one line on stderr, status 2;
        with -b the same screen as text frames, the counts ss shows."""
        ns = t.netns()
        r = self.run_tool([self.tracer_bin(True), "top", "--netns", str(ns.inode)], 30)
        err = r.stderr.strip().splitlines()
        if r.returncode != 2 or len(err) != 1 or "not a terminal" not in err[0]:
            raise TestFailure("top | cat: status %d, stderr %s; expected 2 and one line"
                              % (r.returncode, err))
        sc = self.start_scenario(t, ns, "linger_mix", ["-n", str(N_TW)], stdin_pipe=True)
        sc.fact("ready")
        r = self.run_tool([self.tracer_bin(True), "top", "-b", "-n", "2", "-d", "300ms",
                           "--netns", str(ns.inode)], 60)
        frames = ["tcplinger top" + f for f in r.stdout.split("tcplinger top")[1:]]
        want = {"TIME_WAIT": N_TW, "CLOSE_WAIT": N_CW, "FIN_WAIT2": N_CW}
        got = state_counts(frames[-1].split("\n")) if frames else {}
        ss = ss_counts(ns)
        if r.returncode != 0 or len(frames) != 2 or ss != want or \
                any(got.get(k) != v for k, v in want.items()):
            raise TestFailure("top -b -n 2: status %d, %d frames, counts %s, ss %s, expected %s"
                              % (r.returncode, len(frames), got, ss, want),
                              r.stdout.splitlines()[:30] + r.stderr.splitlines()[-5:])
        long = [l for l in r.stdout.splitlines() if len(l) > 80]
        if long:
            raise TestFailure("top -b lines longer than 80 columns", long[:5])
        sc.send_line()
        sc.finish()
        return "one-line error without a terminal; -b frames match ss"

    def t_top_ports(self, t):
        """top -b while a client runs out of ports: the frame shows its
        EADDRNOTAVAIL errors with its pid, and the port pressure towards
        the server (in use, the range's 20 ports, the errors); the advice,
        longer than a line, is cut at 80 columns."""
        ns = t.netns(EXHAUST_SYSCTLS)
        out_path = t.path("top.out")
        argv = [self.tracer_bin(True), "top", "-b", "-d", "300ms", "--netns", str(ns.inode)]
        with open(out_path, "wb") as out, open(t.path("top.stderr"), "wb") as err:
            p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                 env=san_env(), start_new_session=True)
        t.later(lambda: p.poll() is None and p.kill())

        def last_frame():
            with open(out_path, errors="replace") as f:
                frames = f.read().split("tcplinger top")
            return frames[-2].splitlines() if len(frames) > 2 else []

        deadline = time.monotonic() + SCREEN_TIMEOUT
        while not last_frame() and time.monotonic() < deadline:
            time.sleep(0.2)
        sc = self.start_scenario(t, ns, "port_exhaust")
        sc.finish()
        f = {k: sc.ifact(k) for k in ("pid", "server_port", "connections", "errors")}
        ports = RANGE[1] - RANGE[0] + 1
        errs = "%d EADDRNOTAVAIL %d %s 127.0.0.1:%d" % (
            f["errors"], f["pid"], self.comm_of("port_exhaust"), f["server_port"])
        press = "%d %d %d %d 127.0.0.1:%d netns %d" % (
            f["connections"], ports, f["connections"], f["errors"], f["server_port"], ns.inode)
        deadline = time.monotonic() + 15
        while True:
            lines = last_frame()
            flat = [" ".join(l.split()) for l in lines]
            if errs in flat and press in flat:
                break
            if time.monotonic() > deadline or p.poll() is not None:
                raise TestFailure("top -b shows no rows '%s' and '%s'" % (errs, press),
                                  ["frame:"] + lines)
            time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        try:
            rc = p.wait(15)
        except subprocess.TimeoutExpired:
            raise TestFailure("top -b did not end within 15 s of SIGINT")
        advice = [l for l in lines if l.startswith("    ") and "ip_local_port_range" in l]
        long = [l for l in lines if len(l) > 80]
        if rc != 0 or long or len(advice) != 1 or len(advice[0]) != 80:
            raise TestFailure("top -b: status %d, %d lines past 80 columns, advice lines %s"
                              % (rc, len(long), [len(a) for a in advice]), long[:3] + advice)
        return "%d errors and the pressure towards port %d on screen" % (
            f["errors"], f["server_port"])
