"""The processes a test starts: a scenario program (its key=value facts),
the tracer and the recorder (testlib.Proc with tcplinger's checks on how
it ended), and a finished `tcplinger replay`."""

import json
import os
import subprocess
import threading
import time

from .common import (SANITIZER_RE, SCEN_TIMEOUT, TRACER_READY_TIMEOUT, TRACER_STOP_TIMEOUT,
                     TestFailure, san_env, testlib)


class Scenario:
    """A scenario program; its stdout key=value facts are collected by a
    reader thread."""

    def __init__(self, argv, stdin_pipe=False):
        self.argv = argv
        self.lines = []
        self.facts = {}
        self.cond = threading.Condition()
        self.eof = False
        self.stderr = []
        self.p = subprocess.Popen(
            argv, stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        self.t_out = threading.Thread(target=self._read_out, daemon=True)
        self.t_err = threading.Thread(target=self._read_err, daemon=True)
        self.t_out.start()
        self.t_err.start()

    def _read_out(self):
        for line in self.p.stdout:
            line = line.rstrip("\n")
            with self.cond:
                self.lines.append(line)
                if "=" in line:
                    k, v = line.split("=", 1)
                    self.facts[k] = v
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def _read_err(self):
        for line in self.p.stderr:
            self.stderr.append(line.rstrip("\n"))

    def fact(self, key, timeout=SCEN_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while key not in self.facts:
                left = deadline - time.monotonic()
                if self.eof or left <= 0:
                    raise TestFailure(
                        "scenario gave no '%s' (%s)" % (
                            key, "exited %s" % self.p.poll() if self.eof else "timeout"),
                        self.details())
                self.cond.wait(min(left, 0.5))
            return self.facts[key]

    def ifact(self, key, timeout=SCEN_TIMEOUT):
        v = self.fact(key, timeout)
        try:
            return int(v)
        except ValueError:
            raise TestFailure("scenario fact %s=%r is not an integer" % (key, v))

    def int_facts(self):
        """The numeric facts: times (t_*), ports (*port, *port2) and pid."""
        return {k: int(v) for k, v in self.facts.items()
                if k.startswith("t_") or k.endswith("port") or k.endswith("port2") or k == "pid"}

    def send_line(self):
        try:
            self.p.stdin.write("go\n")
            self.p.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise TestFailure("cannot write to scenario stdin: %s" % e, self.details())

    def finish(self, timeout=SCEN_TIMEOUT):
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise TestFailure("scenario did not exit within %ss" % timeout, self.details())
        self.t_out.join(5)
        self.t_err.join(5)
        if rc != 0:
            raise TestFailure("scenario exited with %d" % rc, self.details())
        if self.facts.get("done") != "1":
            raise TestFailure("scenario did not print done=1", self.details())

    def details(self):
        d = ["scenario: " + " ".join(self.argv)]
        d += ["  out: " + l for l in self.lines[-15:]]
        d += ["  err: " + l for l in self.stderr[-10:]]
        return d

    def close(self):
        testlib.kill_wait(self.p)
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            try:
                if f:
                    f.close()
            except OSError:
                pass

class Tracer(testlib.Proc):
    """tcplinger ARGS (the binary's own arguments), stdout and stderr to
    WORKDIR/TAG.out and .err.  stop() and wait_exit() return its JSON
    records once it ended well: exit 0, no sanitizer report, every line
    a JSON object (when json_out)."""

    def __init__(self, binary, args, workdir, sanitized, tag="tracer", name="tracer",
                 out_path=None, json_out=True):
        super().__init__(name, [binary] + list(args), os.path.join(workdir, tag + ".err"),
                         out_path or os.path.join(workdir, tag + ".out"),
                         env=san_env(sanitized), ready_timeout=TRACER_READY_TIMEOUT,
                         stop_timeout=TRACER_STOP_TIMEOUT)
        self.binary = binary
        self.sanitized = sanitized
        self.json_out = json_out
        self.records = []
        self.bad_lines = []

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise TestFailure("tracer binary missing: %s" % self.binary)
        super().start()

    def stop(self):
        """SIGINT, wait, parse.  Returns the records."""
        super().stop()
        return self.ended_well("after SIGINT")

    def wait_exit(self, timeout):
        """For a tracer given -d: waits until it ends by itself.  Returns
        its records."""
        super().wait_exit(timeout)
        return self.ended_well("at the end of -d")

    def signal_stop(self):
        """SIGINT; its exit status, whatever it is (for a caller that
        checks it with the rest)."""
        return testlib.Proc.stop(self)

    def ended_well(self, when):
        self.parse()
        self.no_sanitizer_report()
        if self.rc != 0:
            raise TestFailure("%s exited with %d %s" % (self.name, self.rc, when),
                              self.stderr_tail())
        if self.bad_lines:
            raise TestFailure("%d stdout line(s) are not JSON objects" % len(self.bad_lines),
                              self.bad_lines[:5])
        return self.records

    def no_sanitizer_report(self):
        if self.sanitized and SANITIZER_RE.search(self.stderr_text()):
            raise TestFailure("sanitizer report on %s stderr" % self.name, self.stderr_tail(40))

    def parse(self):
        self.records = []
        self.bad_lines = []
        if not self.json_out:
            return
        with open(self.out_path, "rb") as f:
            for raw in f:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    self.bad_lines.append(line[:300])
                    continue
                if not isinstance(rec, dict):
                    self.bad_lines.append(line[:300])
                    continue
                self.records.append(rec)


class Recorder(Tracer):
    """tcplinger record -w LOG --netns INODE -d 120 [ARGS]; stdout to a file
    (the log itself with -w -).  It may also end by itself (wait_exit) or
    be killed (sigkill): then only a sanitizer report fails it."""

    def __init__(self, binary, inode, workdir, sanitized, log, args=(), stdout_path=None):
        super().__init__(binary, ["record", "-w", log, "--netns", str(inode), "-d", "120"]
                         + list(args), workdir, sanitized, tag="record", name="recorder",
                         out_path=stdout_path, json_out="--print" in args and "--json" in args)
        self.log = log

    def wait_exit(self, timeout=30.0):
        """Its exit status, once it ended by itself."""
        testlib.Proc.wait_exit(self, timeout)
        self.no_sanitizer_report()
        return self.rc

    def sigkill(self):
        t = super().sigkill()
        self.no_sanitizer_report()
        return t

    def stderr_lines(self):
        return self.stderr_text().splitlines()


class Replay:
    """One finished `tcplinger replay` run."""

    def __init__(self, argv, rc, out, err, out_path=None):
        self.argv, self.rc, self.out, self.err, self.out_path = argv, rc, out, err, out_path
        self.err_lines = err.splitlines()
        self._records = None

    def details(self, n=8):
        d = ["replay: %s" % " ".join(self.argv), "exit %d" % self.rc]
        d += ["stderr: " + l for l in self.err_lines[-n:]]
        if self.out is not None:
            d += ["stdout: " + l for l in self.out.decode("utf-8", "replace").splitlines()[-4:]]
        return d

    def records(self):
        """The JSON lines of stdout; a non-JSON line fails the test."""
        if self._records is None:
            recs = []
            for i, raw in enumerate(self.out.split(b"\n")):
                if not raw.strip():
                    continue
                try:
                    rec = json.loads(raw)
                except ValueError:
                    rec = None
                if not isinstance(rec, dict):
                    raise TestFailure("replay stdout line %d is not a JSON object" % (i + 1),
                                      [raw[:300].decode("utf-8", "replace")] + self.details())
                recs.append(rec)
            self._records = recs
        return self._records

