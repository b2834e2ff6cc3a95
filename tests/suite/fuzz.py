"""Short runs of the libFuzzer targets of the plain build, when built
(<build>/tests/fuzz_*), from the seeds in tests/fuzz/."""

import os
import re
import shutil
import subprocess

from .common import ROOT, TestFailure, TestSkip


class Fuzz:
    def run_fuzzer(self, t, name, corpus_dir, secs, timeout, extra=()):
        """A libFuzzer target of the plain build for secs, from a copy of
        tests/fuzz/<corpus_dir>; fails on any finding."""
        fuzzer = os.path.join(self.build, "tests", name)
        if not os.access(fuzzer, os.X_OK):
            raise TestSkip("no fuzzer binary at %s (not built)" % fuzzer)
        corpus = t.path("corpus")
        src = os.path.join(ROOT, "tests", "fuzz", corpus_dir)
        if os.path.isdir(src):
            shutil.copytree(src, corpus)
        else:
            os.mkdir(corpus)
        try:
            r = subprocess.run([fuzzer, "-max_total_time=%d" % secs] + list(extra) + [corpus],
                               capture_output=True, text=True, timeout=timeout, cwd=t.workdir,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise TestFailure("fuzzer still running %d s after start (-max_total_time=%d)"
                              % (timeout, secs))
        tail = ["fuzzer: " + l for l in (r.stdout + r.stderr).splitlines()[-25:]]
        if r.returncode != 0:
            raise TestFailure("fuzzer exited with %d" % r.returncode, tail)
        m = re.findall(r"#(\d+)\s+DONE", r.stderr)
        return "%s runs%s" % (m[-1] if m else "?", "" if os.path.isdir(src) else
                              " (no tests/fuzz/%s: started empty)" % corpus_dir)

    def t_replay_fuzz_logfile(self, t):
        """The log reader's fuzzer (tests/fuzz/fuzz_logfile.c) for 20 s."""
        return self.run_fuzzer(t, "fuzz_logfile", "corpus", 20, 90)

    def t_replay_fuzz_replay(self, t):
        """The whole replay's fuzzer (tests/fuzz/fuzz_replay.c) for 20 s."""
        return self.run_fuzzer(t, "fuzz_replay", "corpus", 20, 120, ["-rss_limit_mb=4096"])

    def t_fuzz_symbolize(self, t):
        """The symbolizer's ELF/DWARF reading, fuzzed for 15 s from the seeds."""
        return self.run_fuzzer(t, "fuzz_symbolize", "corpus-symbolize", 15, 90,
                               ["-rss_limit_mb=2048"])
