"""The Grafana dashboard dist/grafana/tcplinger.json read as the serve
test checks it: its structure, the metric names its queries use, and the
queries as Prometheus gets them once Grafana has put in its variables."""

import json
import os
import re

from .common import ROOT, TestFailure

DASHBOARD = os.path.join(ROOT, "dist", "grafana", "tcplinger.json")
MIN_SCHEMA = 36             # Grafana 9.0
DS_UID = "${datasource}"
INSTANCE_QUERY = "label_values(tcplinger_sockets, instance)"

METRIC_RE = re.compile(r"\btcplinger_[a-z_]+")
HIST_SUFFIX_RE = re.compile(r"_(bucket|sum|count)$")
# A selector with label matchers: tcplinger_sockets{instance=~"...", state="..."}
SELECTOR_RE = re.compile(r"\b(tcplinger_[a-z_]+)\{([^}]*)\}")
MATCHER_RE = re.compile(r'([a-zA-Z_]\w*)\s*(=~|=)\s*"([^"]*)"')
ALTERNATION_RE = re.compile(r"^\w+(\|\w+)*$")
# What Grafana puts in place of its variables; what the test's Prometheus
# can answer (a scrape a second, so 1m holds many samples).
SUBSTITUTES = (("$__rate_interval", "1m"), ("${instance}", ".*"), ("$instance", ".*"))


def load():
    """The dashboard, parsed; a TestFailure when it is not JSON."""
    try:
        with open(DASHBOARD) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise TestFailure("%s: %s" % (os.path.relpath(DASHBOARD, ROOT), e))


def variable_query(var):
    """A query variable's query: a string, or {"query": ...} since Grafana 9."""
    q = var.get("query")
    return q.get("query") if isinstance(q, dict) else q


def check_structure(ck, dash):
    """Schema version, the datasource and instance variables, and every
    panel with a title and targets on the datasource variable."""
    ck.true(isinstance(dash.get("schemaVersion"), int) and dash["schemaVersion"] >= MIN_SCHEMA,
            "schemaVersion %r, expected %d or later" % (dash.get("schemaVersion"), MIN_SCHEMA))
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource", {})
    ck.eq((ds.get("type"), ds.get("query")), ("datasource", "prometheus"),
          "the datasource variable (type, query)")
    inst = variables.get("instance", {})
    ck.eq((inst.get("type"), variable_query(inst), inst.get("datasource", {}).get("uid")),
          ("query", INSTANCE_QUERY, DS_UID), "the instance variable (type, query, datasource)")
    panels = dash.get("panels") or []
    ck.true(panels, "no panels")
    for i, p in enumerate(panels):
        title = p.get("title") or "panel #%d" % (i + 1)
        ck.true(p.get("title"), "%s: no title" % title)
        ck.eq(p.get("datasource", {}).get("uid"), DS_UID, "%s: the panel's datasource" % title)
        targets = p.get("targets") or []
        ck.true(targets, "%s: no targets" % title)
        for tg in targets:
            ck.true(tg.get("expr"), "%s: target %s has no expr" % (title, tg.get("refId")))
            ck.eq(tg.get("datasource", {}).get("uid"), DS_UID,
                  "%s: target %s's datasource" % (title, tg.get("refId")))


def queries(dash):
    """[(where, PromQL)]: every panel target's expr, as the dashboard writes it."""
    return [("%s/%s" % (p.get("title"), tg.get("refId")), tg["expr"])
            for p in dash.get("panels") or [] for tg in p.get("targets") or [] if tg.get("expr")]


def variable_queries(dash):
    """[(where, query)] of the query variables (label_values(METRIC, ...))."""
    return [("variable " + v.get("name", "?"), variable_query(v) or "")
            for v in dash.get("templating", {}).get("list", []) if v.get("type") == "query"]


def families_of(exposition):
    """{family: type} from the # TYPE lines of a text-format scrape."""
    return {l.split()[2]: l.split()[3] for l in exposition.splitlines()
            if l.startswith("# TYPE ") and len(l.split()) == 4}


def family_of(name, families):
    """The exported family a metric name in a query belongs to, or None:
    itself, or a histogram's _bucket, _sum or _count series."""
    if name in families:
        return name
    base = HIST_SUFFIX_RE.sub("", name)
    return base if base != name and families.get(base) == "histogram" else None


def substituted(expr):
    """expr as Grafana sends it to Prometheus, its variables replaced."""
    for var, value in SUBSTITUTES:
        expr = expr.replace(var, value)
    return expr


def label_probes(expr):
    """Selectors that must each find series, one per value that expr's
    matchers on labels other than instance name (state=~"A|B": state="A"
    and state="B"), so that a misspelt label or value shows."""
    probes = []
    for sel in SELECTOR_RE.finditer(expr):
        for label, op, value in MATCHER_RE.findall(sel.group(2)):
            if label == "instance":
                continue
            if op == "=" or ALTERNATION_RE.match(value):
                probes += ['%s{%s="%s"}' % (sel.group(1), label, v) for v in value.split("|")]
            else:
                probes.append('%s{%s=~"%s"}' % (sel.group(1), label, value))
    return probes
