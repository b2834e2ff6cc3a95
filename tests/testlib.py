"""What tests/run_tests.py (with tests/suite/) and tests/bench/bench.py share,
stdlib only: one error type, one run(), a fresh network namespace, and one
class for every long-running tool they start (tracer, recorder, leaks,
tcpstates, ...)."""

import os
import secrets
import signal
import subprocess
import time

READY_MARK = "Ctrl-C to end"   # what tcplinger prints on stderr once it traces


class Failure(Exception):
    """A step that did not go as it must: a reason, and lines that help."""

    def __init__(self, reason, details=()):
        super().__init__(reason)
        self.reason = reason
        self.details = list(details)


def boot_ns():
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def run(cmd, timeout=15.0, check=True, **kw):
    """subprocess.run with a timeout, text output captured; raises Failure
    when it times out or (check) exits non-zero."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    except subprocess.TimeoutExpired:
        raise Failure("command timed out after %ss: %s" % (timeout, " ".join(cmd)))
    if check and r.returncode != 0:
        raise Failure("command failed (%d): %s" % (r.returncode, " ".join(cmd)),
                      (r.stdout + r.stderr).splitlines()[-10:])
    return r


def kill_wait(p, timeout=10):
    """SIGKILL a subprocess.Popen still running and reap it (bounded)."""
    if p is None or p.poll() is not None:
        return
    try:
        p.kill()
    except ProcessLookupError:
        pass
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass


class Netns:
    """A fresh network namespace, lo up and the given sysctls set; close()
    kills what runs in it and deletes it (bounded)."""

    def __init__(self, prefix="tl-", sysctls=()):
        self.name = prefix + secrets.token_hex(4)
        self.created = False
        run(["ip", "netns", "add", self.name])
        self.created = True
        try:
            run(["ip", "-n", self.name, "link", "set", "lo", "up"])
            for s in sysctls:
                self.sysctl(s)
            self.inode = os.stat("/run/netns/" + self.name).st_ino
        except BaseException:
            self.close()
            raise

    def cmd(self, argv):
        return ["ip", "netns", "exec", self.name] + list(argv)

    def sysctl(self, setting):
        run(self.cmd(["sysctl", "-qw", setting]))

    def ss(self, *args):
        return run(self.cmd(["ss", "-tanH"] + list(args)), timeout=10).stdout

    def close(self):
        if not self.created:
            return
        # Only processes the caller started can be in the namespace.
        try:
            r = run(["ip", "netns", "pids", self.name], check=False, timeout=10)
            for tok in r.stdout.split():
                try:
                    os.kill(int(tok), signal.SIGKILL)
                except (ValueError, ProcessLookupError, PermissionError):
                    pass
        except Failure:  # deleting matters more
            pass
        for _ in range(50):
            r = subprocess.run(["ip", "netns", "del", self.name],
                               capture_output=True, text=True, timeout=10)
            if r.returncode == 0 or not os.path.exists("/run/netns/" + self.name):
                break
            time.sleep(0.1)
        self.created = False


class Proc:
    """A long-running tool: stdout to a file (or /dev/null), stderr to a
    file, in a session of its own.  start() returns once it is ready: ready
    is a mark its stderr must show, or a function of the Proc.  stop() is
    SIGINT then a bounded wait (SIGKILL after it); close() kills whatever
    still runs, so it can be handed to a cleanup stack."""

    def __init__(self, name, argv, err_path, out_path=None, env=None, ready=READY_MARK,
                 ready_timeout=40.0, stop_timeout=30.0, poll=0.05):
        self.name = name
        self.argv = list(argv)
        self.err_path = err_path
        self.out_path = out_path
        self.env = env
        self.ready = ready
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.poll = poll
        self.p = None
        self.rc = None
        self.t_stop = None
        self.out_f = self.err_f = None

    def start(self):
        self.out_f = open(self.out_path or os.devnull, "wb")
        self.err_f = open(self.err_path, "wb")
        self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.out_f,
                                  stderr=self.err_f, env=self.env, start_new_session=True)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.is_ready():
                return
            if self.p.poll() is not None:
                raise Failure("%s exited (%d) before it was ready" % (self.name, self.p.returncode),
                              self.stderr_tail())
            time.sleep(self.poll)
        raise Failure("%s not ready within %ss" % (self.name, self.ready_timeout),
                      self.stderr_tail())

    def is_ready(self):
        if callable(self.ready):
            return self.ready(self)
        return self.ready in self.stderr_text()

    def stderr_text(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stderr_tail(self, n=12):
        return ["%s stderr: %s" % (self.name, l) for l in self.stderr_text().splitlines()[-n:]]

    def stop(self):
        """SIGINT, then its exit status (within stop_timeout)."""
        if self.p is None:
            raise Failure("%s never started" % self.name)
        if self.p.poll() is not None:
            raise Failure("%s exited early (%d), before it was stopped" % (
                self.name, self.p.returncode), self.stderr_tail())
        self.t_stop = boot_ns()
        self.p.send_signal(signal.SIGINT)
        try:
            self.rc = self.p.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise Failure("%s did not exit within %ss of SIGINT" % (self.name, self.stop_timeout),
                          self.stderr_tail())
        self.close_files()
        return self.rc

    def wait_exit(self, timeout):
        """For one that ends by itself (-d): its exit status."""
        try:
            self.rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise Failure("%s (%s) still running after %ss" % (
                self.name, " ".join(self.argv[1:]), timeout), self.stderr_tail())
        self.t_stop = boot_ns()
        self.close_files()
        return self.rc

    def sigkill(self):
        """SIGKILL now; returns the CLOCK_BOOTTIME of the kill."""
        if self.p.poll() is not None:
            raise Failure("%s exited early (%d), before it was killed" % (
                self.name, self.p.returncode), self.stderr_tail())
        t = boot_ns()
        self.p.kill()
        try:
            self.rc = self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise Failure("%s still there 10 s after SIGKILL" % self.name)
        self.t_stop = t
        self.close_files()
        return t

    def close_files(self):
        for f in (self.out_f, self.err_f):
            if f and not f.closed:
                f.close()

    def close(self):
        kill_wait(self.p)
        self.close_files()
