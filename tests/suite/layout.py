"""Text layouts: the default one fits 120 columns, the narrow one 80,
chosen by --width or by the width of the terminal the output goes to;
live and replayed text stay byte-identical."""

import fcntl
import os
import struct
import subprocess
import termios
import threading
import time
import tty

from .checks import Checker
from .common import TestFailure
from .ports import EXHAUST_SYSCTLS
from .common import san_env


def too_wide(text, cols, spare=lambda l: False):
    """The lines of text past cols columns (characters), but those spared."""
    return ["%d: %s" % (len(l), l) for l in text.splitlines() if len(l) > cols and not spare(l)]


def stack_or_command(line):
    """Stack frames and command lines are shown whole: they are names to
    search for, never cut or wrapped."""
    return line.startswith("      ") or line.startswith("    command: ")


def on_terminal(argv, cols, env, timeout=60):
    """argv's stdout on a pty of cols columns (raw: no \\r added);
    returns (exit status, what it wrote)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    tty.setraw(slave)
    chunks = []

    def drain():
        while True:
            try:
                b = os.read(master, 65536)
            except OSError:     # EIO: every writer is gone
                return
            if not b:
                return
            chunks.append(b)
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave,
                             stderr=subprocess.DEVNULL, env=env)
        os.close(slave)
        slave = None
        rc = p.wait(timeout=timeout)
        reader.join(10)
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    return rc, b"".join(chunks)


class Layout:
    def t_text_layouts(self, t):
        """A real trace (client-first, server-first, simultaneous close, a
        client running out of ports) recorded with --print -i 1 --open-list: every
        line of the live text fits 120 columns and the text replay is
        byte-identical to it; --width 80 fits 80; on a terminal of 80
        columns the replay takes the narrow layout by itself, on one of 132
        the wide one."""
        def drive(ctx):
            for s in ("client_first", "server_first", "simultaneous"):
                ctx.start(s).finish()
            ctx.start("port_exhaust").finish()
            time.sleep(2.2)     # the error window closes; interval summaries

        ctx = self.recording(t, ["--print", "-i", "1", "--open-list"], drive, sysctls=EXHAUST_SYSCTLS)
        with open(ctx.rec.out_path, "rb") as f:
            live = f.read()
        text = live.decode("utf-8", "replace")
        ck = Checker()
        for want in ("TIME         PID     COMM            LOCAL ", "SS>ES>FW1>FW2>TW",
                     "SR>ES>CW>LA", "connect() failed EADDRNOTAVAIL", "Port pressure towards",
                     "    advice: ", "Open now: "):
            ck.true(want in text, "live text has no %r" % want)
        ck.eq(too_wide(text, 120)[:5], [], "live text lines past 120 columns")
        wide = self.replay_ok(ctx.rec.log, ["-i", "1", "--open-list"])
        ck.true(wide.out == live, "text replay differs from the live text")
        narrow = self.replay_ok(ctx.rec.log, ["-i", "1", "--open-list", "--width", "80"])
        ntext = narrow.out.decode("utf-8", "replace")
        for want in ("TIME     PID     COMM       LPORT REMOTE                LINGER    END",
                     " TW ", "tw_expired", "connect() EADDRNOTAVAIL", "Port pressure towards"):
            ck.true(want in ntext, "--width 80 text has no %r" % want)
        ck.eq(too_wide(ntext, 80)[:5], [], "--width 80 lines past 80 columns")
        env = san_env(True)
        env.pop("COLUMNS", None)
        argv = [self.tracer_bin(True), "replay", "-i", "1", "--open-list", ctx.rec.log]
        rc, out = on_terminal(argv, 80, env)
        ck.eq(rc, 0, "replay on an 80-column terminal: exit status")
        ck.true(out == narrow.out, "replay on an 80-column terminal differs from --width 80")
        rc, out = on_terminal(argv, 132, env)
        ck.true(rc == 0 and out == live, "replay on a 132-column terminal differs from the "
                "default (120) layout")
        env["COLUMNS"] = "100"
        rc, out = on_terminal(argv, 132, env)
        ck.true(rc == 0 and out == narrow.out, "replay on a terminal with COLUMNS=100 "
                "differs from --width 80")
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors[1:] + ["live: " + l for l in
                                                               text.splitlines()[:6]])
        return "%d lines, widest %d (default), %d (narrow)" % (
            len(text.splitlines()), max(map(len, text.splitlines())),
            max(map(len, ntext.splitlines())))
