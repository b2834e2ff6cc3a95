#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""tcplinger test runner (stdlib only).

  python3 tests/run_tests.py --build .output --san-build .output-san [-k SUBSTR] [--no-long] [--keep]

1. Unit tests: every <build>/tests/test_* and <san-build>/tests/test_*
   binary; each "ok NAME" / "not ok NAME" line it prints is one test.
2. Scenario tests on the real kernel: each in a network namespace of its
   own (ip netns add tl-<random>), traffic over loopback only.  The tracer
   (the sanitizer build, except for churn) runs with
   --json --events --netns INODE -d SECS; a scenario program
   (<build>/tests/scen_*) makes the sockets and prints key=value facts
   (ports, pid, CLOCK_BOOTTIME timestamps); the tracer's JSON lines are then
   checked against them.  tw_expiry (~62 s) runs in a thread alongside.
3. CLI tests: bad option values, running unprivileged.
4. record/replay: `tcplinger record` in a test netns while scenarios run;
   its replay must match the live output byte for byte (replayed as uid
   65534), CSV, cut and corrupted logs, foreign files, SIGKILL, a full
   disk (a 128k tmpfs), --max-size, -w -; short runs of the log reader's
   and the whole replay's fuzzers when built (<build>/tests/fuzz_logfile,
   fuzz_replay); logs crafted against replay's memory and time bounds
   (<build>/tests/gen_crafted), their peak RSS measured with GNU time.

The tests live in tests/suite/, one module a subject (see HACKING.md).

Prints "PASS name" or "FAIL name: reason" (+ details) per test, then, as the
very last line, "N passed, N failed" (", N skipped" when any were skipped).
Exit status 1 if anything failed.
"""

import argparse
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from suite import Suite  # noqa: E402  (tests/suite/)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=".output")
    ap.add_argument("--san-build", default=".output-san")
    ap.add_argument("-k", metavar="SUBSTR", help="run only the tests whose name contains SUBSTR")
    ap.add_argument("--no-long", action="store_true", help="skip tw_expiry (~62 s)")
    ap.add_argument("--keep", action="store_true", help="keep the tracer outputs even if all pass")
    args = ap.parse_args()
    suite = Suite(args)
    try:
        suite.main()
    except KeyboardInterrupt:
        suite.results.fail("runner", "interrupted")
    except Exception as e:
        suite.results.fail("runner", "exception %s: %s" % (type(e).__name__, e),
                           traceback.format_exc().splitlines()[-10:])
    finally:
        suite.cleanup()
    sys.stdout.flush()
    print(suite.results.summary(), flush=True)
    return 1 if suite.results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
