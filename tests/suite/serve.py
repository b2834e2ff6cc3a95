"""tcplinger serve: a real Prometheus server (its own config, a temporary
storage directory, scraping over loopback every second) collects from the
exporter while scenarios run in a namespace; its HTTP API's answers are
checked against the scenarios' facts and ss.  promtool lints the
exposition; OpenMetrics is negotiated; bad --listen values and a port in
use give one line; the Grafana dashboard's queries name only metrics serve
exports, and Prometheus parses each."""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from . import grafana
from .checks import Checker
from .common import NS_PER_S, TestFailure, TestSkip, testlib
from .top import N_CW

PROM_READY_TIMEOUT = 60.0
SCRAPE_TIMEOUT = 30.0       # a value Prometheus must show, scraped every second
OM_ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
OM_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CW_TOLERANCE = 0.015        # s: CLOSE_WAIT sum vs the scenario's close-to-close time
TW_TOLERANCE = 0.030        # s: TIME_WAIT sum vs close to reusing connect()


def ends(end):
    return 'tcplinger_lifecycles_total{end="%s"}' % end


def linger(part, state, le=None):
    """tcplinger_linger_seconds_PART{state=STATE[,le=LE]}"""
    return 'tcplinger_linger_seconds_%s{state="%s"%s}' % (
        part, state, ',le="%s"' % le if le else "")


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def http_get(url, headers=None, timeout=10):
    """(status, headers, body text); an HTTP error status is returned too."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8", "replace")


class Prometheus(testlib.Proc):
    """prometheus scraping one target every second, on a port of its own,
    its storage in workdir; ready once /-/ready answers 200."""

    def __init__(self, workdir, target):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        conf = os.path.join(workdir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: tcplinger\n"
                    "    static_configs:\n      - targets: ['%s']\n" % target)
        argv = ["prometheus", "--config.file=" + conf,
                "--storage.tsdb.path=" + os.path.join(workdir, "prom-data"),
                "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"]
        super().__init__("prometheus", argv, os.path.join(workdir, "prometheus.err"),
                         ready=lambda p: self._ready(), ready_timeout=PROM_READY_TIMEOUT)

    def _ready(self):
        try:
            return http_get(self.url + "/-/ready", timeout=2)[0] == 200
        except OSError:
            return False

    def query(self, expr):
        """The value of expr's single series now; None when it has none."""
        status, _, body = http_get(self.url + "/api/v1/query?" +
                                   urllib.parse.urlencode({"query": expr}))
        if status != 200:
            raise TestFailure("Prometheus query %s: HTTP %d" % (expr, status), [body[:300]])
        res = json.loads(body)["data"]["result"]
        if len(res) > 1:
            raise TestFailure("Prometheus query %s: %d series, expected one" % (expr, len(res)),
                              [json.dumps(r["metric"]) for r in res[:5]])
        return float(res[0]["value"][1]) if res else None

    def wait_value(self, expr, cond, what, timeout=SCRAPE_TIMEOUT):
        """expr's value once cond(value) holds; fails after timeout."""
        deadline = time.monotonic() + timeout
        seen = None
        while True:
            seen = self.query(expr)
            if seen is not None and cond(seen):
                return seen
            if time.monotonic() > deadline:
                raise TestFailure("Prometheus: %s is %s, expected %s within %d s"
                                  % (expr, seen, what, timeout))
            time.sleep(0.3)

    def close(self):
        if self.p is not None and self.p.poll() is None:
            try:
                testlib.Proc.stop(self)
            except testlib.Failure:
                pass
        testlib.kill_wait(self.p)
        self.close_files()


class Serve:
    def _need_prometheus(self):
        if not shutil.which("prometheus") or not shutil.which("promtool"):
            raise TestSkip("prometheus not installed (make deps)")

    def _serve(self, t, ns, listen, extra=()):
        """tcplinger serve on ns, started (the sanitized build)."""
        tr = self.tracer(t, ns, args=["serve", "--listen", listen, "--netns", str(ns.inode)]
                         + list(extra), tag="serve", name="serve", json_out=False)
        tr.start()
        return tr

    def _prometheus(self, t, target):
        prom = t.own(Prometheus(t.workdir, target))
        t.explain(lambda: prom.stderr_tail(8))
        prom.start()
        prom.wait_value('up{job="tcplinger"}', lambda v: v == 1, "1 (scraped)")
        return prom

    @staticmethod
    def _expect(prom, when, want, sums):
        """want: {expr: value}; sums: {expr: (seconds, tolerance)}: what
        Prometheus answers now, every mismatch in one failure."""
        got = {e: prom.query(e) for e in list(want) + list(sums)}
        bad = ["%s is %s, expected %s" % (e, got[e], v) for e, v in want.items() if got[e] != v]
        bad += ["%s is %s, expected %.4f within %.3f" % (e, got[e], v, tol)
                for e, (v, tol) in sums.items() if got[e] is None or abs(got[e] - v) > tol]
        if bad:
            raise TestFailure("after %s, %d value(s) in Prometheus are not the scenario's"
                              % (when, len(bad)), bad)

    def t_serve_prometheus(self, t):
        """Prometheus scrapes serve while server_first (one CLOSE_WAIT of
        1.5 s) then tw_reuse (one TIME_WAIT of 0.5 s killed by a reusing
        SYN) run: lifecycle counts per end, the CLOSE_WAIT and TIME_WAIT
        histograms' counts, buckets and sums against the scenarios' times,
        and the TIME_WAIT gauge against ss."""
        self._need_prometheus()
        ns = t.netns()
        port = free_port()
        tr = self._serve(t, ns, "127.0.0.1:%d" % port)
        prom = self._prometheus(t, "127.0.0.1:%d" % port)
        q = prom.wait_value

        sc = self.start_scenario(t, ns, "server_first")
        sc.finish()
        f = sc.int_facts()
        cw = (f["t_client_close"] - f["t_server_close"]) / NS_PER_S
        q(linger("count", "CLOSE_WAIT"), lambda v: v >= 1, "1")
        self._expect(prom, "server_first", {
            ends("closed"): 1, linger("count", "CLOSE_WAIT"): 1,
            linger("bucket", "CLOSE_WAIT", "1.0"): 0, linger("bucket", "CLOSE_WAIT", "2.5"): 1,
        }, {linger("sum", "CLOSE_WAIT"): (cw, CW_TOLERANCE)})

        sc = self.start_scenario(t, ns, "tw_reuse")
        sc.finish()
        f = sc.int_facts()
        tw = (f["t_connect2"] - f["t_client_close1"]) / NS_PER_S
        q(ends("tw_killed"), lambda v: v >= 1, "1")
        q(ends("closed"), lambda v: v >= 3, "3")
        self._expect(prom, "tw_reuse", {
            ends("tw_killed"): 1, ends("closed"): 3, ends("reset"): 0,
            linger("count", "TIME_WAIT"): 1, linger("bucket", "TIME_WAIT", "0.25"): 0,
            linger("bucket", "TIME_WAIT", "1.0"): 1,
        }, {linger("sum", "TIME_WAIT"): (tw, TW_TOLERANCE)})

        # server_first's server and tw_reuse's second client sit in TIME_WAIT
        t.explain(lambda: ["ss: " + l for l in ns.ss().splitlines()] + [
            "exporter: " + l for l in http_get("http://127.0.0.1:%d/metrics" % port)[2]
            .splitlines() if l.startswith("tcplinger_sockets{") and not l.endswith(" 0")])
        ss_tw = len(ns.ss("state", "time-wait").splitlines())
        seen = q('tcplinger_sockets{state="TIME_WAIT"}', lambda v: v == ss_tw, "%d (ss)" % ss_tw)
        ss_now = len(ns.ss("state", "time-wait").splitlines())
        if ss_tw != 2 or ss_now != seen:
            raise TestFailure("TIME_WAIT: ss shows %d then %d, Prometheus %s; expected 2"
                              % (ss_tw, ss_now, seen))
        tr.stop()
        return "closed 3, tw_killed 1, CLOSE_WAIT sum %.3f s (want %.3f), TIME_WAIT gauge %d" % (
            prom.query(linger("sum", "CLOSE_WAIT")) or 0, cw, ss_tw)

    def t_serve_formats(self, t):
        """serve on [::1] --min-age 0: linger_mix's CLOSE_WAIT sockets in the
        leak gauge under its comm; the text format passes promtool check metrics;
        an OpenMetrics Accept header gets OpenMetrics, ending # EOF; / links
        to /metrics, other paths are 404."""
        self._need_prometheus()
        ns = t.netns()
        port = free_port(socket.AF_INET6, "::1")
        tr = self._serve(t, ns, "[::1]:%d" % port, ["--min-age", "0"])
        base = "http://[::1]:%d" % port
        sc = self.start_scenario(t, ns, "tw_reuse")
        sc.finish()
        # linger_mix holds N_CW CLOSE_WAIT sockets until told to go on
        mix = self.start_scenario(t, ns, "linger_mix", ["-n", "4"], stdin_pipe=True)
        mix.fact("ready")
        leak = 'tcplinger_close_wait_leak_sockets{comm="%s"} %d' % (
            self.comm_of("linger_mix"), N_CW)
        deadline = time.monotonic() + 15
        while leak not in http_get(base + "/metrics")[2].splitlines():
            if time.monotonic() > deadline:
                raise TestFailure("no line '%s' within 15 s" % leak,
                                  [l for l in http_get(base + "/metrics")[2].splitlines()
                                   if "leak_sockets{" in l])
            time.sleep(0.3)
        status, hdr, text = http_get(base + "/metrics")
        if status != 200 or hdr.get("Content-Type") != TEXT_TYPE:
            raise TestFailure("GET /metrics: %d, %s; expected 200, %s"
                              % (status, hdr.get("Content-Type"), TEXT_TYPE))
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                              capture_output=True, timeout=30)
        if lint.returncode != 0 or lint.stdout.strip() or lint.stderr.strip():
            raise TestFailure("promtool check metrics: exit %d" % lint.returncode,
                              (lint.stdout + lint.stderr).splitlines()[:20])
        families = [l.split()[2] for l in text.splitlines() if l.startswith("# TYPE ")]
        helps = [l.split()[2] for l in text.splitlines() if l.startswith("# HELP ")]
        if families != helps or len(families) < 10:
            raise TestFailure("HELP and TYPE lines do not pair up", families + helps)
        status, hdr, om = http_get(base + "/metrics", {"Accept": OM_ACCEPT})
        if status != 200 or hdr.get("Content-Type") != OM_TYPE or not om.endswith("\n# EOF\n"):
            raise TestFailure("GET /metrics (OpenMetrics): %d, %s, ends %r; expected 200, %s, "
                              "# EOF" % (status, hdr.get("Content-Type"), om[-20:], OM_TYPE))
        if "# TYPE tcplinger_lifecycles counter" not in om or \
                'tcplinger_lifecycles_total{end="tw_killed"} 1\n' not in om:
            raise TestFailure("OpenMetrics: no counter family tcplinger_lifecycles with "
                              "tw_killed 1", om.splitlines()[:12])
        status, hdr, index = http_get(base + "/")
        status404 = http_get(base + "/nope")[0]
        if status != 200 or 'href="/metrics"' not in index or status404 != 404:
            raise TestFailure("GET /: %d (link: %s), GET /nope: %d; expected 200 with a link, "
                              "404" % (status, 'href="/metrics"' in index, status404))
        mix.send_line()
        mix.finish()
        tr.stop()
        return "promtool clean, OpenMetrics negotiated, on [::1]"

    def t_serve_grafana_dashboard(self, t):
        """dist/grafana/tcplinger.json parses; schema 36+; the datasource and
        instance variables; every panel has a title and targets; every
        metric its queries name is a family (# TYPE) of a real scrape of
        serve (a histogram's _bucket/_sum/_count by its family); with
        Prometheus scraping serve, promtool query instant runs each query
        (variables substituted), every label value a selector matches on
        finds series and the instance variable lists serve's address."""
        dash = grafana.load()
        ck = Checker()
        grafana.check_structure(ck, dash)
        ns = t.netns()
        port = free_port()
        target = "127.0.0.1:%d" % port
        tr = self._serve(t, ns, target)
        status, _, text = http_get("http://%s/metrics" % target)
        families = grafana.families_of(text)
        if status != 200 or "tcplinger_sockets" not in families:
            raise TestFailure("GET /metrics: %d, families %s" % (status, sorted(families)))
        exprs = grafana.queries(dash)
        names = set()
        for where, expr in exprs + grafana.variable_queries(dash):
            for name in grafana.METRIC_RE.findall(expr):
                names.add(name)
                ck.true(grafana.family_of(name, families),
                        "%s: %s is not a metric serve exports (families: %s)"
                        % (where, name, " ".join(sorted(families))))
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors)
        if not shutil.which("prometheus") or not shutil.which("promtool"):
            tr.stop()
            return "%d metric names exported; prometheus not installed: queries not run" % len(
                names)

        prom = self._prometheus(t, target)
        for where, expr in exprs:
            q = grafana.substituted(expr)
            if "$" in q:
                ck.true(False, "%s: a variable the test does not know in %s" % (where, expr))
                continue
            r = subprocess.run(["promtool", "query", "instant", prom.url, q], capture_output=True,
                               text=True, timeout=30, stdin=subprocess.DEVNULL)
            ck.true(r.returncode == 0, "%s: promtool query instant %r: exit %d: %s" % (
                where, q, r.returncode, (r.stderr or r.stdout).strip()[:300]))
            for sel in grafana.label_probes(q):
                ck.true(prom.query("count(%s)" % sel), "%s: %s finds no series" % (where, sel))
        status, _, body = http_get(prom.url + "/api/v1/label/instance/values?" +
                                   urllib.parse.urlencode({"match[]": "tcplinger_sockets"}))
        instances = json.loads(body).get("data") if status == 200 else body[:200]
        ck.eq(instances, [target], "the instance variable's values (%s)" % grafana.INSTANCE_QUERY)
        if ck.errors:
            raise TestFailure(ck.errors[0], ck.errors)
        tr.stop()
        return "%d panels, %d queries, %d metric names: exported and parsed" % (
            len(dash["panels"]), len(exprs), len(names))

    def t_serve_bad_listen(self, t):
        """Bad --listen values exit 2 and a port in use exits 1, each with
        one line on stderr, before anything is traced."""
        binary = self.tracer_bin(True)
        fails = []
        for value in ("9100", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "1.2.3:9100",
                      "::1:9100", "[::1]", "nohost.invalid:80"):
            r = self.run_tool([binary, "serve", "--listen", value], 30)
            err = r.stderr.strip().splitlines()
            if r.returncode != 2 or len(err) != 1 or "--listen" not in err[0]:
                fails.append("--listen %s: exit %d, stderr %s" % (value, r.returncode, err))
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            addr = "127.0.0.1:%d" % s.getsockname()[1]
            r = self.run_tool([binary, "serve", "--listen", addr], 30)
        err = r.stderr.strip().splitlines()
        want = "tcplinger: cannot listen on %s: Address already in use" % addr
        if r.returncode != 1 or err != [want]:
            fails.append("port in use: exit %d, stderr %s; expected 1, [%r]"
                         % (r.returncode, err, want))
        if fails:
            raise TestFailure("%d bad --listen case(s) failed" % len(fails), fails)
        return "8 bad values exit 2, a port in use exits 1, one line each"
