"""What tests/run_tests.py and tests/bench/bench.py share (stdlib only):
a fresh network namespace per run, and stopping a process for good.

Netns runs its commands through the caller's run(cmd, timeout=, check=),
so that failures surface as the caller's own error type.
"""

import os
import secrets
import signal
import subprocess
import time


class Netns:
    """lo up and the given sysctls set; close() kills what runs in it and
    deletes it (bounded)."""

    def __init__(self, run, prefix="tl-", sysctls=()):
        self._run = run
        self.name = prefix + secrets.token_hex(4)
        self.created = False
        run(["ip", "netns", "add", self.name])
        self.created = True
        run(["ip", "-n", self.name, "link", "set", "lo", "up"])
        for s in sysctls:
            self.sysctl(s)
        self.inode = os.stat("/run/netns/" + self.name).st_ino

    def cmd(self, argv):
        return ["ip", "netns", "exec", self.name] + list(argv)

    def sysctl(self, setting):
        self._run(self.cmd(["sysctl", "-qw", setting]))

    def ss(self, *args):
        return self._run(self.cmd(["ss", "-tanH"] + list(args)), timeout=10).stdout

    def close(self):
        if not self.created:
            return
        # Only processes the caller started can be in the namespace.
        try:
            r = self._run(["ip", "netns", "pids", self.name], check=False, timeout=10)
            for tok in r.stdout.split():
                try:
                    os.kill(int(tok), signal.SIGKILL)
                except (ValueError, ProcessLookupError, PermissionError):
                    pass
        except Exception:  # the caller's run() error: deleting matters more
            pass
        for _ in range(50):
            r = subprocess.run(["ip", "netns", "del", self.name],
                               capture_output=True, text=True, timeout=10)
            if r.returncode == 0 or not os.path.exists("/run/netns/" + self.name):
                break
            time.sleep(0.1)
        self.created = False


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
