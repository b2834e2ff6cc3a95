"""Packaging: make install / uninstall (PREFIX, DESTDIR), the man page
(renders without warnings and documents every subcommand and every option
their --help prints), the bash completion (offers the same options) and the
systemd unit (verifies, and its capabilities are enough to trace)."""

import gzip
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request

from .checks import Checker
from .common import AS_NOBODY, ROOT, SANITIZER_RE, TestFailure, TestSkip, san_env

MAN_PAGE = os.path.join(ROOT, "doc", "tcplinger.8")
COMPLETION = os.path.join(ROOT, "dist", "tcplinger.bash-completion")
DASHBOARD = os.path.join(ROOT, "dist", "grafana", "tcplinger.json")

# make install DESTDIR=D PREFIX=/usr: every path under D, and its mode.
DIR = 0o755
INSTALL_TREE = {
    "usr": DIR,
    "usr/sbin": DIR,
    "usr/sbin/tcplinger": 0o755,
    "usr/share": DIR,
    "usr/share/man": DIR,
    "usr/share/man/man8": DIR,
    "usr/share/man/man8/tcplinger.8.gz": 0o644,
    "usr/share/bash-completion": DIR,
    "usr/share/bash-completion/completions": DIR,
    "usr/share/bash-completion/completions/tcplinger": 0o644,
    "usr/lib": DIR,
    "usr/lib/systemd": DIR,
    "usr/lib/systemd/system": DIR,
    "usr/lib/systemd/system/tcplinger.service": 0o644,
    "usr/share/tcplinger": DIR,
    "usr/share/tcplinger/grafana": DIR,
    "usr/share/tcplinger/grafana/tcplinger.json": 0o644,
}
UNIT = "usr/lib/systemd/system/tcplinger.service"
UNIT_EXEC = "/usr/sbin/tcplinger serve --listen 127.0.0.1:9478"

# The exporter's metric names are a contract: the page names each.
METRICS = ("tcplinger_lifecycles_total", "tcplinger_linger_seconds", "tcplinger_sockets",
           "tcplinger_close_wait_leak_sockets", "tcplinger_events_lost_total",
           "tcplinger_connections_evicted_total")
MAN_SECTIONS = ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "JSON OUTPUT", "EXIT STATUS",
                "FILES", "EXAMPLES", "SEE ALSO")

# An option line of argp's --help: "  -e, --events ..." or "      --csv ...";
# wrapped descriptions are indented further, so "--events)" there is not one.
HELP_OPTION_RE = re.compile(r"^(?:  -(\S), |      )--([a-z0-9][a-z0-9-]*)", re.M)

# Calls the completion function `complete -p tcplinger` names with
# COMP_WORDS = the arguments after the file; prints COMPREPLY.
COMPLETE_SH = r'''
source "$1" || exit 1
shift
fn=$(complete -p tcplinger 2>/dev/null | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
[ -n "$fn" ] || { echo "no completion function registered for tcplinger" >&2; exit 1; }
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
"$fn" tcplinger "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
'''


def help_options(text):
    """{long option: its short letter or None} that a --help text lists."""
    return {m.group(2): m.group(1) for m in HELP_OPTION_RE.finditer(text)}


def listed_subcommands(main_help):
    """The subcommands the main --help names ("Subcommands: trace (the
    default), top, ...;"), wrapped lines joined."""
    m = re.search(r"Subcommands: (.*?);", " ".join(main_help.split()))
    if not m:
        raise TestFailure("the main --help names no subcommands", main_help.splitlines()[-12:])
    return [re.sub(r"\(.*?\)", "", s).strip() for s in m.group(1).split(",")]


def tree_of(root):
    """{path relative to root: mode} of everything under root; a symlink or
    other non-regular file has mode None."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            plain = not os.path.islink(p) and (os.path.isdir(p) or os.path.isfile(p))
            found[os.path.relpath(p, root)] = (st.st_mode & 0o7777) if plain else None
    return found


def unit_settings(path):
    """{key: [values]} of a unit file, comments skipped."""
    settings = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and line[0] not in "#;[" and "=" in line:
                k, v = line.split("=", 1)
                settings.setdefault(k.strip(), []).append(v.strip())
    return settings


class Packaging:
    # -- helpers

    def make(self, *args, output=None):
        """make -C ROOT args, with the tracer of the build under test (or of
        output), umask 022 as a package build has."""
        argv = ["make", "-C", ROOT, "--no-print-directory", "OUTPUT=" + (output or self.build)] + \
            list(args)
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                               stdin=subprocess.DEVNULL, preexec_fn=lambda: os.umask(0o022))
        except subprocess.TimeoutExpired:
            raise TestFailure("did not exit within 300 s: " + " ".join(argv))
        if r.returncode != 0:
            raise TestFailure("%s: exit %d" % (" ".join(argv[3:]), r.returncode),
                              (r.stdout + r.stderr).splitlines()[-15:])
        return r

    def installed(self, t, name, *args):
        """A fresh DESTDIR t.path(name) after make install args, of the
        tracer under test as it is (-o: never rebuilt by a test)."""
        dest = t.path(name)
        os.makedirs(dest)
        self.make("-o", os.path.join(self.build, "tcplinger"), "install", "DESTDIR=" + dest, *args)
        return dest

    def help_of(self, sub):
        """`tcplinger [SUB] --help` of the plain build, or None if this build
        has no such subcommand (its usage line does not name it)."""
        argv = [self.tracer_bin(False)] + ([] if sub == "trace" else [sub]) + ["--help"]
        r = self.run_tool(argv, 20)
        usage = "Usage: tcplinger " + ("[" if sub == "trace" else sub + " ")
        if r.returncode != 0 or not r.stdout.startswith(usage):
            return None
        return r.stdout

    def subcommand_helps(self):
        """{subcommand: its --help} for every subcommand the main --help
        lists (each must have one) and serve when this build has it."""
        main = self.help_of("trace")
        if main is None:
            raise TestFailure("tcplinger --help failed")
        helps = {}
        for sub in listed_subcommands(main):
            helps[sub] = self.help_of(sub)
            if helps[sub] is None:
                raise TestFailure("tcplinger %s --help failed, yet --help lists %s" % (sub, sub))
        if "serve" not in helps:
            serve = self.help_of("serve")
            if serve is not None:
                helps["serve"] = serve
        return helps

    def man_text(self):
        """The page as man -l renders it at 80 columns (ASCII, no
        overstrike), and its stderr."""
        env = dict(os.environ, LC_ALL="C", MANWIDTH="80")
        env.pop("MAN_KEEP_FORMATTING", None)
        if not shutil.which("man"):
            raise TestFailure("man is not installed (make deps installs man-db)")
        r = subprocess.run(["man", "--warnings", "-l", MAN_PAGE], capture_output=True, text=True,
                           timeout=60, env=env, stdin=subprocess.DEVNULL)
        return r, re.sub(r".\x08", "", r.stdout)

    def check_documented(self, ck, page, sub, text):
        """Every option of sub's --help is in the page, with its short form."""
        opts = help_options(text)
        ck.true(len(opts) >= 3, "tcplinger %s --help: only %d options parsed" % (sub, len(opts)))
        for name, short in sorted(opts.items()):
            if not re.search(r"(?<![\w-])--%s(?![\w-])" % re.escape(name), page):
                ck.true(False, "tcplinger %s --%s is not in the man page" % (sub, name))
            elif short and ("-%s, --%s" % (short, name)) not in page:
                ck.true(False, "the man page does not give tcplinger %s --%s as -%s, --%s" % (
                    sub, name, short, name))
        return len(opts)

    def complete(self, *words):
        """What the installed completion offers for the command line words
        (the last one being completed)."""
        r = subprocess.run(["bash", "--norc", "--noprofile", "-c", COMPLETE_SH, "bash",
                            COMPLETION] + list(words), capture_output=True, text=True,
                           timeout=20, stdin=subprocess.DEVNULL)
        if r.returncode != 0 or r.stderr:
            raise TestFailure("completing %r: exit %d" % (" ".join(words), r.returncode),
                              r.stderr.splitlines()[-10:])
        return [l for l in r.stdout.splitlines() if l]

    # -- tests

    def t_packaging_install_tree(self, t):
        """make install DESTDIR=D PREFIX=/usr lays out exactly INSTALL_TREE;
        the installed tracer is the build's and runs, the page is the
        repository's, gzip -9n (no name, no time: reproducible), and the unit
        runs the installed path.  Without PREFIX, all of it under /usr/local.
        With no tracer built, install would build it first (make -n)."""
        nobuild = t.path("nobuild")
        dry = self.make("-n", "install", "DESTDIR=" + t.path("unused"), output=nobuild).stdout
        link = re.search(r"^.* -o %s/tcplinger$" % re.escape(nobuild), dry, re.M)
        first_install = dry.find("install -m 0755")
        if not link or first_install < link.start():
            raise TestFailure("make install does not build a missing tracer before installing it",
                              dry.splitlines()[-8:])
        dest = self.installed(t, "destdir", "PREFIX=/usr")
        ck = Checker()
        got = tree_of(dest)
        for path in sorted(set(got) | set(INSTALL_TREE)):
            want, have = INSTALL_TREE.get(path), got.get(path, "missing")
            if have != want:
                ck.true(False, "%s: %s, expected %s" % (
                    path, "unexpected" if want is None else have if have in ("missing", None)
                    else oct(have), "nothing" if want is None else oct(want)))
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors)

        sbin = os.path.join(dest, "usr/sbin/tcplinger")
        with open(sbin, "rb") as a, open(self.tracer_bin(False), "rb") as b:
            ck.true(a.read() == b.read(), "usr/sbin/tcplinger differs from %s" %
                    self.tracer_bin(False))
        r = self.run_tool([sbin, "--version"], 20)
        ck.eq((r.returncode, r.stdout.strip()), (0, "tcplinger 0.1"), "installed tcplinger --version")

        gz = os.path.join(dest, "usr/share/man/man8/tcplinger.8.gz")
        with open(gz, "rb") as f:
            head = f.read(10)
        ck.eq((head[:2], head[3] & 0x08, head[4:8]), (b"\x1f\x8b", 0, b"\0\0\0\0"),
              "gzip header (magic, FNAME flag, mtime): gzip -n")
        with gzip.open(gz, "rb") as a, open(MAN_PAGE, "rb") as b:
            ck.true(a.read() == b.read(), "tcplinger.8.gz is not doc/tcplinger.8")
        with open(os.path.join(dest, "usr/share/bash-completion/completions/tcplinger"), "rb") as a, \
                open(COMPLETION, "rb") as b:
            ck.true(a.read() == b.read(), "the completion is not dist/tcplinger.bash-completion")
        with open(os.path.join(dest, "usr/share/tcplinger/grafana/tcplinger.json"), "rb") as a, \
                open(DASHBOARD, "rb") as b:
            ck.true(a.read() == b.read(), "the dashboard is not dist/grafana/tcplinger.json")
        ck.eq(unit_settings(os.path.join(dest, UNIT)).get("ExecStart"), [UNIT_EXEC],
              "the unit's ExecStart")

        local = self.installed(t, "destdir-local")
        for path in ("usr/local/sbin/tcplinger", "usr/local/share/man/man8/tcplinger.8.gz",
                     "usr/local/share/bash-completion/completions/tcplinger",
                     "usr/local/lib/systemd/system/tcplinger.service",
                     "usr/local/share/tcplinger/grafana/tcplinger.json"):
            ck.true(os.path.isfile(os.path.join(local, path)), "default PREFIX: no %s" % path)
        ck.eq(unit_settings(os.path.join(local, "usr/local/lib/systemd/system/tcplinger.service"))
              .get("ExecStart"), [UNIT_EXEC.replace("/usr/", "/usr/local/")],
              "default PREFIX: the unit's ExecStart")
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors)
        return "%d paths" % len(got)

    def t_packaging_uninstall(self, t):
        """make uninstall removes every file install wrote and nothing else:
        files of other packages in the same directories stay; share/tcplinger,
        tcplinger's own, goes."""
        dest = self.installed(t, "destdir", "PREFIX=/usr")
        others = ["usr/sbin/other-tool", "usr/share/man/man8/other-tool.8.gz",
                  "usr/lib/systemd/system/other.service"]
        for p in others:
            with open(os.path.join(dest, p), "w") as f:
                f.write("not tcplinger's\n")
        self.make("uninstall", "DESTDIR=" + dest, "PREFIX=/usr")
        files = sorted(p for p, mode in tree_of(dest).items()
                       if not os.path.isdir(os.path.join(dest, p)))
        if files != sorted(others):
            raise TestFailure("after make uninstall: files %s, expected only %s" % (files, others))
        if os.path.exists(os.path.join(dest, "usr/share/tcplinger")):
            raise TestFailure("after make uninstall: usr/share/tcplinger is still there")
        self.make("uninstall", "DESTDIR=" + dest, "PREFIX=/usr")  # again: nothing to remove

    def t_packaging_man_renders(self, t):
        """man -l renders doc/tcplinger.8 with groff's warnings on and says
        nothing on stderr; groff -man -ww and, where installed, mandoc -T
        lint find nothing either."""
        r, text = self.man_text()
        d = ["man stderr: " + l for l in r.stderr.splitlines()[:20]]
        if r.returncode != 0 or r.stderr or "TCPLINGER(8)" not in text:
            raise TestFailure("man -l: exit %d, %d stderr lines" % (
                r.returncode, len(r.stderr.splitlines())), d)
        g = subprocess.run(["groff", "-man", "-ww", "-z", MAN_PAGE], capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
        if g.returncode != 0 or g.stderr:
            raise TestFailure("groff -man -ww -z: warnings", g.stderr.splitlines()[:20])
        ck = Checker()
        for section in MAN_SECTIONS:
            ck.true(re.search(r"^%s$" % section, text, re.M), "no %s section" % section)
        wide = [l for l in text.splitlines() if len(l.expandtabs()) > 80]
        ck.true(not wide, "%d rendered lines wider than 80 columns: %r" % (len(wide), wide[:2]))
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors)
        if not shutil.which("mandoc"):
            return "mandoc not installed: not linted"
        m = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", MAN_PAGE], capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
        if m.returncode != 0 or m.stdout or m.stderr:
            raise TestFailure("mandoc -T lint", (m.stdout + m.stderr).splitlines()[:20])

    def t_packaging_man_options(self, t):
        """The page names every subcommand (serve too), every long option
        that each subcommand's --help prints (with its short form), the
        exporter's metric names and the JSON types; an option added without
        its documentation fails here.  serve's options: packaging_man_serve."""
        helps = self.subcommand_helps()
        helps.pop("serve", None)
        _, text = self.man_text()
        page = " ".join(text.split())
        ck = Checker()
        count = 0
        for sub in list(helps) + ["serve"]:
            ck.true(("tcplinger " + sub) in page, "the page has no tcplinger %s" % sub)
        for sub, help_text in helps.items():
            count += self.check_documented(ck, page, sub, help_text)
        for name in METRICS:
            ck.true(re.search(r"\b%s\b" % name, page), "the page does not name %s" % name)
        for typ in ("lifecycle", "transition", "summary", "leak", "leaks"):
            ck.true('"type":"%s"' % typ in page, 'the page does not describe "type":"%s"' % typ)
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors)
        return "%d subcommands, %d options" % (len(helps), count)

    def t_packaging_man_serve(self, t):
        """Every option of `tcplinger serve --help` is in the page (skipped
        where this build has no serve)."""
        serve = self.help_of("serve")
        if serve is None:
            raise TestSkip("this build has no serve subcommand")
        _, text = self.man_text()
        ck = Checker()
        n = self.check_documented(ck, " ".join(text.split()), "serve", serve)
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors)
        return "%d options" % n

    def t_packaging_completion(self, t):
        """The completion parses (bash -n) and completes: subcommands, a
        network namespace under /run/netns for --netns (both spellings), a
        replay log and a record file, pids for -p."""
        n = subprocess.run(["bash", "-n", COMPLETION], capture_output=True, text=True, timeout=20)
        if n.returncode != 0 or n.stderr:
            raise TestFailure("bash -n: exit %d" % n.returncode, n.stderr.splitlines()[:10])
        ns = t.netns()
        log = t.path("incident.tlog")
        open(log, "w").close()
        ck = Checker()
        ck.eq(self.complete("tcplinger", "rec"), ["record"], "tcplinger rec<TAB>")
        ck.eq(self.complete("tcplinger", "le"), ["leaks"], "tcplinger le<TAB>")
        ck.true("/run/netns/" + ns.name in self.complete("tcplinger", "--netns", ""),
                "tcplinger --netns <TAB> does not offer /run/netns/" + ns.name)
        ck.eq(self.complete("tcplinger", "top", "--netns", "=", "/run/netns/" + ns.name[:6]),
              ["/run/netns/" + n for n in sorted(os.listdir("/run/netns"))
               if n.startswith(ns.name[:6])], "tcplinger top --netns=/run/netns/<prefix><TAB>")
        ck.eq(self.complete("tcplinger", "replay", t.path("incid")), [log],
              "tcplinger replay <dir>/incid<TAB>")
        ck.eq(self.complete("tcplinger", "record", "-w", t.path("incid")), [log],
              "tcplinger record -w <dir>/incid<TAB>")
        ck.true(str(os.getpid()) in self.complete("tcplinger", "-p", str(os.getpid())),
                "tcplinger -p <own pid><TAB> does not offer it")
        ck.eq(self.complete("tcplinger", "leaks", "--min-age", ""), [],
              "tcplinger leaks --min-age <TAB> (a TIME)")
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors)

    def t_packaging_completion_options(self, t):
        """For each subcommand, `tcplinger SUB --<TAB>` offers exactly the
        long options its --help prints (serve when this build has it)."""
        helps = self.subcommand_helps()
        ck = Checker()
        for sub, help_text in helps.items():
            words = ["tcplinger"] + ([] if sub == "trace" else [sub]) + ["--"]
            offered = sorted(self.complete(*words))
            wanted = sorted("--" + o for o in help_options(help_text))
            ck.eq(offered, wanted, "tcplinger %s --<TAB>" % sub)
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors)
        return ", ".join(helps) + ("" if "serve" in helps else " (no serve in this build)")

    def t_packaging_unit(self, t):
        """systemd-analyze verify finds nothing wrong with the installed unit
        (ExecStart under DESTDIR), and its exposure stays at or under 4.0;
        it does not set ProtectKernelTunables=, which hides /proc/kallsyms
        from tracing."""
        dest = self.installed(t, "destdir", "PREFIX=/usr")
        unit = os.path.join(dest, UNIT)
        settings = unit_settings(unit)
        if settings.get("ProtectKernelTunables", ["no"])[-1] not in ("no", "false", "0"):
            raise TestFailure("the unit sets ProtectKernelTunables=: /proc/kallsyms is then "
                              "hidden and tracing cannot start")
        if not shutil.which("systemd-analyze"):
            raise TestSkip("systemd-analyze not installed")
        v = subprocess.run(["systemd-analyze", "verify", "--man=no", "--recursive-errors=no",
                            "--root=" + dest, unit], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        if v.returncode != 0 or v.stdout or v.stderr:
            raise TestFailure("systemd-analyze verify: exit %d" % v.returncode,
                              (v.stdout + v.stderr).splitlines()[:20])
        s = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--root=" + dest,
                            "--threshold=40", "--no-pager", unit], capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        level = re.search(r"Overall exposure level for \S+: (\S+ \S+)", s.stdout)
        if s.returncode != 0:
            raise TestFailure("systemd-analyze security: exposure %s, more than 4.0" % (
                level.group(1) if level else "?"), [l for l in s.stdout.splitlines() if "✗" in l])
        return "exposure " + (level.group(1) if level else "?")

    def t_packaging_unit_caps(self, t):
        """The unit's capabilities (ambient = bounding set) are enough to
        trace as an unprivileged user: the tracer runs with exactly them as
        uid 65534; with serve in this build, the unit's command itself
        answers /metrics."""
        dest = self.installed(t, "destdir", "PREFIX=/usr")
        settings = unit_settings(os.path.join(dest, UNIT))
        ambient = sorted(" ".join(settings.get("AmbientCapabilities", [])).split())
        bounding = sorted(" ".join(settings.get("CapabilityBoundingSet", [])).split())
        if not ambient or ambient != bounding:
            raise TestFailure("AmbientCapabilities %s and CapabilityBoundingSet %s differ" % (
                ambient, bounding))
        if settings.get("DynamicUser") != ["yes"]:
            raise TestFailure("the unit does not run as a dynamic (unprivileged) user")
        caps = [c[len("CAP_"):].lower() for c in ambient]
        r, det = self.caps_run(t, caps, ["--json", "-d", "1"])
        if r.returncode != 0 or '"type":"summary"' not in r.stdout:
            raise TestFailure("tracing with the unit's capabilities %s failed" % ",".join(caps),
                              det)
        if self.help_of("serve") is None:
            return "traced with %s (no serve in this build)" % ",".join(caps)
        return self.serve_as_unit(t, caps, settings["ExecStart"][0])

    def serve_as_unit(self, t, caps, exec_start):
        """The unit's ExecStart (its port swapped for a free one) as uid
        65534 with caps: /metrics answers with tcplinger_sockets."""
        binary = self.binary_copy(self.unpriv_dir(t))
        port = free_port()
        args = exec_start.split()[1:]
        args = [re.sub(r":9478$", ":%d" % port, a) for a in args]
        cs = ",".join(["-all"] + ["+" + c for c in caps])
        argv = AS_NOBODY + ["--inh-caps=" + cs, "--ambient-caps=" + cs, "--bounding-set=" + cs,
                            binary] + args
        err = open(t.path("serve.err"), "w+")
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
                             cwd=os.path.dirname(binary), env=san_env())
        t.own(p, release=lambda p: (p.kill(), p.wait(10)))
        body, deadline = None, time.monotonic() + 40
        while body is None and time.monotonic() < deadline and p.poll() is None:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as u:
                    body = u.read().decode("utf-8", "replace")
            except OSError:
                time.sleep(0.2)
        err.seek(0)
        d = ["argv: " + " ".join(argv)] + ["stderr: " + l for l in err.read().splitlines()[-10:]]
        if body is None:
            raise TestFailure("serve as the unit runs it: no /metrics within 40 s (exit %s)" %
                              p.poll(), d)
        if SANITIZER_RE.search("\n".join(d)):
            raise TestFailure("sanitizer report", d)
        if not re.search(r"^(# TYPE )?tcplinger_sockets\b", body, re.M):
            raise TestFailure("/metrics has no tcplinger_sockets", d + body.splitlines()[:10])
        return "serve answered /metrics with %s" % ",".join(caps)


def free_port():
    """A loopback TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
