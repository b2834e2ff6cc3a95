"""Constants and error types every part of the suite uses."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import testlib  # noqa: E402  (tests/testlib.py)

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}
SANITIZER_RE = re.compile(
    r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
    r"runtime error:|==\d+==ERROR")

READY_MARK = testlib.READY_MARK
TRACER_READY_TIMEOUT = 40.0
TRACER_STOP_TIMEOUT = 30.0
SCEN_TIMEOUT = 60.0
# Seeded ages come from jiffies (HZ=250 here: 4 ms) converted to ns.
JIFFY_SLACK = 10 * NS_PER_MS

boot_ns = testlib.boot_ns
run = testlib.run
TestFailure = testlib.Failure


# Runs what follows as uid/gid 65534, no groups.
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


class TestSkip(Exception):
    pass


def san_env(sanitized=True):
    """The environment for a binary: the sanitizers' options if it has them."""
    env = dict(os.environ)
    if sanitized:
        env.update(SAN_ENV)
    return env
