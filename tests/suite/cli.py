"""The command line: bad option values, running without the privileges it
needs, a missing kernel BTF, and a reader of its output that goes away."""

import os
import shutil
import subprocess
import time

from .checks import Checker
from .common import (AS_NOBODY, READY_MARK, SANITIZER_RE, TRACER_READY_TIMEOUT, TestFailure,
                     TestSkip, san_env, testlib)

# cli_bad_NAME: these arguments must fail with one line on stderr.
CLI_BAD = {
    "cli_bad_interval": ["-i", "0"],
    "cli_bad_port": ["-L", "notaport"],
    "cli_bad_netns": ["--netns", "abc"],
    "cli_bad_duration_unit": ["-d", "5x"],
    "cli_bad_min_age": ["leaks", "--min-age", "-1s"],
    "cli_netns_not_a_netns": ["--netns", "/etc/hostname"],
    "cli_netns_no_such_inode": ["--netns", "1"],
}

class Cli:
    def data_tests(self):
        return [(name, lambda t, args=args: self.cli_bad(t, args))
                for name, args in CLI_BAD.items()]

    @staticmethod
    def one_error_line(r, d):
        """r failed (not killed) with exactly one stderr line: that line."""
        lines = r.stderr.splitlines()
        if r.returncode == 0:
            raise TestFailure("exit status 0", d)
        if r.returncode < 0:
            raise TestFailure("killed by signal %d" % -r.returncode, d)
        if len(lines) != 1:
            raise TestFailure("%d stderr lines, expected exactly 1" % len(lines), d)
        return lines[0]

    def cli_bad(self, t, args):
        binary = self.tracer_bin(True)
        if not os.access(binary, os.X_OK):
            raise TestFailure("tracer binary missing: %s" % binary)
        r = self.run_tool([binary] + args, 20)
        d = ["exit %d" % r.returncode] + ["stderr: " + l for l in r.stderr.splitlines()[-20:]] + \
            ["stdout: " + l for l in r.stdout.splitlines()[-5:]]
        return self.one_error_line(r, d)

    def t_cli_missing_targets(self, t):
        """-p naming a process that is gone, --netns naming a namespace that
        is not there: one line and exit status 2 before anything is loaded;
        replay's -p only filters the log, so it is not checked there."""
        binary = self.tracer_bin(True)
        gone = subprocess.Popen(["true"])
        gone.wait()
        ns = t.netns()
        ck = Checker()
        for args, want in ((["-p", str(gone.pid)], "no such process"),
                           (["leaks", "-p", str(gone.pid)], "no such process"),
                           (["--netns", "1"], "no network namespace"),
                           (["--netns", os.path.join(t.workdir, "nowhere")], "no such file")):
            r = self.run_tool([binary] + args + ["-d", "1"], 20)
            d = ["%s: exit %d" % (" ".join(args), r.returncode)] + r.stderr.splitlines()[-5:]
            line = self.one_error_line(r, d)
            ck.eq(r.returncode, 2, " ".join(args) + " exit status")
            ck.true(want in line, "%s: %r does not say %r" % (" ".join(args), line, want))
        # Names that exist pass the check (the tracer then runs for -d).
        for args in (["-p", str(os.getpid())], ["--netns", str(ns.inode)],
                     ["--netns", "/proc/%d/ns/net" % os.getpid()]):
            r = self.run_tool([binary] + args + ["-d", "200ms"], 60)
            ck.eq(r.returncode, 0, " ".join(args) + " exit status; stderr: %s" % r.stderr[-300:])
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:])

    def t_cli_unprivileged(self, t):
        binary = self.binary_copy(self.unpriv_dir(t))
        r = self.run_tool(AS_NOBODY + [binary, "--json"], 20, cwd=os.path.dirname(binary))
        det = ["exit %d" % r.returncode] + ["stderr: " + l for l in r.stderr.splitlines()[-20:]]
        if r.returncode == 0:
            raise TestFailure("exit status 0 as uid 65534", det)
        line = self.one_error_line(r, det)
        if "root" not in line.lower():
            raise TestFailure("stderr line does not mention root", det)

    def t_reader_gone(self, t):
        """`tcplinger | head -1` while traffic flows: the tracer notices
        its reader left and exits by itself within 2 s, status 1, quietly."""
        binary = self.tracer_bin(True)
        modes = [("text", [], ["head", "-n", "1"]),
                 ("json", ["--json", "--events"], ["head", "-n", "1"]),
                 ("record", ["record", "-w", "-"], ["head", "-c", "64"])]
        ck = Checker()
        notes = []
        for tag, args, reader_argv in modes:
            with t.scope():
                took, rc, err = self.reader_leaves(t, tag, [binary] + args, reader_argv)
            lines = [l for l in err.splitlines() if l.strip() and READY_MARK not in l]
            if SANITIZER_RE.search(err):
                raise TestFailure("%s: sanitizer report" % tag, err.splitlines()[-30:])
            ck.eq(rc, 1, tag + " exit status")
            ck.true(took <= 2.0, "%s: exited %.2f s after its reader, expected <= 2 s" % (
                tag, took))
            ck.eq(lines, [], tag + " stderr besides the banner")
            notes.append("%s %.2f s" % (tag, took))
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:])
        return ", ".join(notes)

    def reader_leaves(self, t, tag, argv, reader_argv):
        """argv | reader_argv in a netns of churn, until the reader exits;
        then (seconds the tracer took to exit after it, its status, its
        stderr)."""
        ns = t.netns(self.CHURN_SYSCTLS)
        err_path = t.path(tag + ".err")
        with open(err_path, "wb") as err_f:
            tr = t.own(subprocess.Popen(argv + ["--netns", str(ns.inode), "-d", "60"],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=err_f, env=san_env(), start_new_session=True), testlib.kill_wait)
        rd = t.own(subprocess.Popen(reader_argv, stdin=tr.stdout, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL), testlib.kill_wait)
        tr.stdout.close()   # the reader holds the only read end

        def err():
            with open(err_path, errors="replace") as f:
                return f.read()
        deadline = time.monotonic() + TRACER_READY_TIMEOUT
        while READY_MARK not in err():
            if tr.poll() is not None or time.monotonic() > deadline:
                raise TestFailure("%s: tracer not ready (exit %s)" % (tag, tr.poll()),
                                  err().splitlines())
            time.sleep(0.05)
        self.start_scenario(t, ns, "churn", ["-n", "1000000", "-p", "5008"])
        try:
            rd.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise TestFailure("%s: the reader got nothing within 30 s" % tag)
        t_gone = time.monotonic()
        try:
            rc = tr.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise TestFailure("%s: tracer still running 15 s after its reader exited" % tag)
        return time.monotonic() - t_gone, rc, err()

    def caps_run(self, t, caps, args):
        """The sanitizer build as uid 65534 with only these ambient
        capabilities (setpriv names: bpf, perfmon, syslog, ...)."""
        binary = self.binary_copy(self.unpriv_dir(t))
        cs = ",".join(["-all"] + ["+" + c for c in caps])
        argv = AS_NOBODY + ["--inh-caps=" + cs, "--ambient-caps=" + cs, "--bounding-set=" + cs,
                            binary] + list(args)
        r = self.run_tool(argv, 40, cwd=os.path.dirname(binary))
        if SANITIZER_RE.search(r.stderr):
            raise TestFailure("sanitizer report", r.stderr.splitlines()[-30:])
        return r, ["argv: " + " ".join(argv), "exit %d" % r.returncode] + \
            ["stderr: " + l for l in r.stderr.splitlines()[-10:]]

    def t_cli_caps_no_syslog(self, t):
        """CAP_BPF + CAP_PERFMON without CAP_SYSLOG: the line names CAP_SYSLOG."""
        with open("/proc/sys/kernel/kptr_restrict") as f:
            kptr = int(f.read())
        with open("/proc/sys/kernel/perf_event_paranoid") as f:
            paranoid = int(f.read())
        if kptr == 0 and paranoid <= 1:
            raise TestSkip("kallsyms addresses are shown to everyone here")
        if kptr >= 2:
            raise TestSkip("kptr_restrict=2 hides kallsyms addresses from root too")
        r, det = self.caps_run(t, ["bpf", "perfmon"], ["-d", "1"])
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        if r.returncode != 1 or len(lines) != 1:
            raise TestFailure("expected exit 1 and one stderr line", det)
        if "lacks CAP_SYSLOG" not in lines[0] or not lines[0].startswith("tcplinger: "):
            raise TestFailure("the line does not name CAP_SYSLOG", det)
        return lines[0]

    def t_cli_caps_minimal(self, t):
        """The README's minimal set traces as uid 65534, without warnings
        (but for network namespaces it cannot enter: CAP_SYS_ADMIN)."""
        r, det = self.caps_run(t, ["bpf", "perfmon", "syslog", "dac_read_search"],
                               ["--json", "-d", "1"])
        other = [l for l in r.stderr.splitlines() if l.strip() and READY_MARK not in l
                 and "could not enter" not in l]
        if r.returncode != 0 or other:
            raise TestFailure("expected exit 0 and no warnings", det)
        if '"type":"summary"' not in r.stdout:
            raise TestFailure("no summary on stdout", det + r.stdout.splitlines()[-3:])

    def t_cli_btf_empty(self, t):
        """An empty /sys/kernel/btf/vmlinux (bind-mounted in a mount
        namespace of the test's own): a clear line, not libbpf's ESRCH."""
        btf = "/sys/kernel/btf/vmlinux"
        if not os.path.exists(btf) or not shutil.which("unshare"):
            raise TestSkip("no %s or no unshare" % btf)
        empty = t.path("empty")
        open(empty, "wb").close()
        script = 'mount --bind "$1" %s && exec "$2" -d 1' % btf
        r = self.run_tool(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                           empty, self.tracer_bin(True)], 40)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        det = ["exit %d" % r.returncode] + ["stderr: " + l for l in lines[-10:]]
        want = "tcplinger: kernel BTF at %s is empty, not BTF: " % btf
        if r.returncode != 1 or len(lines) != 1 or not lines[0].startswith(want):
            raise TestFailure("expected exit 1 and one line beginning %r" % want, det)
        return lines[0]
