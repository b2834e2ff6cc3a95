// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The exporter's metrics: counted from the session's lifecycles and
 * connect() errors, gathered from its open lifecycles, and written out in
 * the Prometheus text format 0.0.4 or OpenMetrics 1.0.  The two differ
 * here only in a counter's family name (OpenMetrics drops _total from
 * HELP and TYPE), the content type and the closing # EOF.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "connerr.h"
#include "leaks.h"
#include "metrics.h"
#include "netsysctl.h"
#include "opensum.h"
#include "ports.h"
#include "textbuf.h"
#include "units.h"

/* 1-2.5-5 steps from 1 ms to 1 h, in ns and as the le label shows them. */
static const uint64_t bucket_ns[TL_METRICS_BUCKETS] = {
	1 * NS_PER_MS, 2500 * NS_PER_US, 5 * NS_PER_MS, 10 * NS_PER_MS, 25 * NS_PER_MS,
	50 * NS_PER_MS, 100 * NS_PER_MS, 250 * NS_PER_MS, 500 * NS_PER_MS, 1 * NS_PER_SEC,
	2500 * NS_PER_MS, 5 * NS_PER_SEC, 10 * NS_PER_SEC, 25 * NS_PER_SEC, 50 * NS_PER_SEC,
	100 * NS_PER_SEC, 250 * NS_PER_SEC, 500 * NS_PER_SEC, 1000 * NS_PER_SEC,
	2500 * NS_PER_SEC, 3600 * NS_PER_SEC,
};
static const char *const bucket_le[TL_METRICS_BUCKETS + 1] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0",
	"2.5", "5.0", "10.0", "25.0", "50.0", "100.0", "250.0", "500.0", "1000.0", "2500.0",
	"3600.0", "+Inf",
};

static const uint8_t linger_state[TL_METRICS_LINGER] = {
	TL_TCP_FIN_WAIT2, TL_TCP_CLOSE_WAIT, TL_TCP_TIME_WAIT,
};

/* The states tcplinger_sockets shows: those an open lifecycle can be in
 * (listeners and CLOSED are not open connections). */
static const uint8_t socket_states[] = {
	TL_TCP_SYN_SENT, TL_TCP_SYN_RECV, TL_TCP_ESTABLISHED, TL_TCP_FIN_WAIT1,
	TL_TCP_FIN_WAIT2, TL_TCP_CLOSING, TL_TCP_TIME_WAIT, TL_TCP_CLOSE_WAIT, TL_TCP_LAST_ACK,
};

#define OTHER_ERRNO UINT32_MAX	/* errnos past TL_METRICS_ERRNOS */

bool tl_metrics_init(struct tl_metrics *m, uint32_t top_n, uint64_t min_age_ns, long pid)
{
	memset(m, 0, sizeof(*m));
	m->top_n = top_n;
	m->min_age_ns = min_age_ns;
	m->pid = pid;
	m->open = calloc(1, sizeof(*m->open));
	m->leaks = calloc(top_n ? top_n : 1, sizeof(*m->leaks));
	if (!m->open || !m->leaks) {
		tl_metrics_free(m);
		return false;
	}
	return true;
}

void tl_metrics_free(struct tl_metrics *m)
{
	if (m->open)
		tl_opensum_free(m->open);
	free(m->open);
	free(m->leaks);
	free(m->progs);
	memset(m, 0, sizeof(*m));
}

/* ---- counting ---- */

static bool passed_through(const struct tl_lifecycle *lc, uint8_t state)
{
	for (int i = 0; i < lc->nstates; i++)
		if (lc->states[i].state == state)
			return true;
	return false;
}

static void observe(struct tl_metrics_hist *h, uint64_t ns)
{
	int b = 0;

	while (b < TL_METRICS_BUCKETS && ns > bucket_ns[b])
		b++;
	h->buckets[b]++;
	h->count++;
	h->sum_ns += ns;
}

void tl_metrics_lifecycle(struct tl_metrics *m, const struct tl_lifecycle *lc)
{
	uint64_t ns[TL_METRICS_LINGER] = { lc->fin_wait2_ns, lc->close_wait_ns, lc->time_wait_ns };

	if (lc->end < TL_END_MAX)
		m->ends[lc->end]++;
	/* only an end says how long the socket stayed: one still open, or
	 * evicted, has not finished lingering */
	if (!lc->nstates || lc->states[lc->nstates - 1].state != TL_STATE_CLOSED)
		return;
	for (int i = 0; i < TL_METRICS_LINGER; i++)
		if (ns[i] || passed_through(lc, linger_state[i]))
			observe(&m->linger[i], ns[i]);
}

void tl_metrics_connerr(struct tl_metrics *m, const struct tl_connerr *ce)
{
	int c = ce->call == TL_CALL_BIND, *n = &m->nerrs[c], i;
	struct tl_metrics_errno *v = m->errs[c];
	uint32_t err = ce->err;

	if (ce->call != TL_CALL_CONNECT && ce->call != TL_CALL_BIND)
		return;
	for (i = 0; i < *n && v[i].err < err; i++)
		;
	if (i < *n && v[i].err == err) {
		v[i].count += ce->count;
		return;
	}
	if (*n == TL_METRICS_ERRNOS) {	/* full: the last slot counts the rest */
		v[*n - 1].err = OTHER_ERRNO;
		v[*n - 1].count += ce->count;
		return;
	}
	memmove(&v[i + 1], &v[i], (size_t)(*n - i) * sizeof(*v));
	v[i] = (struct tl_metrics_errno){ .err = err, .count = ce->count };
	(*n)++;
}

void tl_metrics_prog_reset(struct tl_metrics *m, bool bpf_stats)
{
	m->bpf_stats = bpf_stats;
	m->nprogs = 0;
}

void tl_metrics_prog(struct tl_metrics *m, const char *name, uint64_t run_ns, uint64_t runs)
{
	struct tl_metrics_prog *p;

	if (m->nprogs == m->cap_progs) {
		size_t cap = m->cap_progs ? m->cap_progs * 2 : 32;

		p = realloc(m->progs, cap * sizeof(*p));
		if (!p)
			return;
		m->progs = p;
		m->cap_progs = cap;
	}
	p = &m->progs[m->nprogs++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->run_ns = run_ns;
	p->runs = runs;
}

/* ---- gauges ---- */

struct owner_count {
	char comm[24];
	uint64_t sockets;
};

static int cmp_owner(const void *pa, const void *pb)
{
	const struct owner_count *a = pa, *b = pb;

	if (a->sockets != b->sockets)
		return a->sockets > b->sockets ? -1 : 1;
	return strcmp(a->comm, b->comm);
}

/* The leak report's groups summed up per owner comm, the top_n kept. */
static void gather_leaks(struct tl_metrics *m, struct tl_engine *e, uint64_t now_ns)
{
	struct owner_count *v;
	struct tl_leaks L;
	size_t n = 0;

	m->nleaks = 0;
	m->leak_other = 0;
	tl_leaks_collect(&L, e, now_ns, m->min_age_ns, m->pid);
	v = calloc(L.ngroups ? L.ngroups : 1, sizeof(*v));
	for (uint32_t g = 0; v && g < L.ngroups; g++) {
		const struct tl_leak_group *lg = &L.groups[g];
		char comm[24];
		size_t i;

		snprintf(comm, sizeof(comm), "%.*s", TL_COMM_LEN,
			 lg->owner.comm[0] ? lg->owner.comm : "~unknown");
		for (i = 0; i < n && strcmp(v[i].comm, comm); i++)
			;
		if (i == n)
			memcpy(v[n++].comm, comm, sizeof(comm));
		v[i].sockets += lg->count;
	}
	if (!v)		/* out of memory: all of them as others */
		m->leak_other = L.sockets;
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_owner);
	for (size_t i = 0; i < n; i++) {
		if (i < m->top_n) {
			memcpy(m->leaks[i].comm, v[i].comm, sizeof(v[i].comm));
			m->leaks[i].sockets = v[i].sockets;
			m->nleaks++;
		} else {
			m->leak_other += v[i].sockets;
		}
	}
	free(v);
	tl_leaks_free(&L);
}

static void count_pressure(const struct tl_pressure *pr, void *ctx)
{
	struct tl_metrics *m = ctx;
	uint32_t range = pr->sysctl ? tl_netsysctl_ports(pr->sysctl) : 0;
	double share;

	if (!range)	/* listed for its errors alone: no share to tell */
		return;
	share = (double)pr->in_use / range;
	if (tl_pressure_half_used(pr))
		m->pressure_dests++;
	if (share > m->pressure_max)
		m->pressure_max = share;
}

void tl_metrics_gauges(struct tl_metrics *m, struct tl_engine *e, struct tl_ports *p,
		       uint64_t now_ns)
{
	struct tl_engine_stats st;

	tl_engine_stats(e, &st);
	m->lost = st.lost;
	m->evicted = st.evicted;
	m->tracked = st.open;
	tl_opensum_gather(m->open, e, now_ns, m->pid);
	for (int s = 0; s < TL_TCP_MAX_STATES; s++)
		m->sockets[s] = m->open->state[s].age.count;
	tl_opensum_free(m->open);	/* its samples; the counts are copied */
	gather_leaks(m, e, now_ns);
	m->pressure_dests = 0;
	m->pressure_max = 0;
	/* the whole trace's errors: a scrape starts no new span */
	if (p)
		tl_ports_report(p, e, now_ns, true, count_pressure, m);
}

/* ---- exposition ---- */

struct expo {
	struct tl_textbuf *tb;
	bool om;
};

/* HELP and TYPE; a counter's family is named without _total in
 * OpenMetrics, with it in the text format. */
static void family(struct expo *x, const char *name, const char *type, const char *help)
{
	bool total = !strcmp(type, "counter") && !x->om;

	tb_printf(x->tb, "# HELP %s%s %s\n", name, total ? "_total" : "", help);
	tb_printf(x->tb, "# TYPE %s%s %s\n", name, total ? "_total" : "", type);
}

/* A label value: \, " and newline escaped as both formats say; bytes that
 * are not printable ASCII (a comm may hold any) become '?', so the value
 * is always valid UTF-8. */
static void label_value(struct tl_textbuf *tb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\' || c == '"')
			tb_chr(tb, '\\');
		if (c == '\n')
			tb_str(tb, "\\n");
		else
			tb_chr(tb, c >= 0x20 && c < 0x7f ? (char)c : '?');
	}
}

/* name{label="value"} (no label when label is NULL), then the value. */
static void sample_start(struct expo *x, const char *name, const char *label, const char *value)
{
	tb_str(x->tb, name);
	if (!label)
		return;
	tb_printf(x->tb, "{%s=\"", label);
	label_value(x->tb, value);
	tb_str(x->tb, "\"}");
}

static void sample_u64(struct expo *x, const char *name, const char *label, const char *value,
		       uint64_t v)
{
	sample_start(x, name, label, value);
	tb_printf(x->tb, " %llu\n", (unsigned long long)v);
}

/* ns as seconds, exactly. */
static void sample_secs(struct expo *x, const char *name, const char *label, const char *value,
			uint64_t ns)
{
	sample_start(x, name, label, value);
	tb_printf(x->tb, " %llu.%09llu\n", (unsigned long long)(ns / NS_PER_SEC),
		  (unsigned long long)(ns % NS_PER_SEC));
}

static void render_lifecycles(struct expo *x, const struct tl_metrics *m)
{
	family(x, "tcplinger_lifecycles", "counter",
	       "Lifecycles ended, by how they ended (unknown: evicted or events lost).");
	for (int end = TL_END_NONE + 1; end < TL_END_MAX; end++)
		sample_u64(x, "tcplinger_lifecycles_total", "end", tl_end_name(end), m->ends[end]);
}

static void render_linger(struct expo *x, const struct tl_metrics *m)
{
	family(x, "tcplinger_linger_seconds", "histogram",
	       "Time an ended lifecycle spent in FIN_WAIT2, CLOSE_WAIT or TIME_WAIT.");
	for (int i = 0; i < TL_METRICS_LINGER; i++) {
		const struct tl_metrics_hist *h = &m->linger[i];
		const char *state = tl_state_name(linger_state[i]);
		uint64_t cum = 0;

		for (int b = 0; b <= TL_METRICS_BUCKETS; b++) {
			cum += h->buckets[b];
			tb_printf(x->tb, "tcplinger_linger_seconds_bucket{state=\"%s\",le=\"%s\"} %llu\n",
				  state, bucket_le[b], (unsigned long long)cum);
		}
		sample_secs(x, "tcplinger_linger_seconds_sum", "state", state, h->sum_ns);
		sample_u64(x, "tcplinger_linger_seconds_count", "state", state, h->count);
	}
}

static void render_gauges(struct expo *x, const struct tl_metrics *m)
{
	family(x, "tcplinger_sockets", "gauge", "TCP sockets open now, by state.");
	for (size_t i = 0; i < sizeof(socket_states); i++)
		sample_u64(x, "tcplinger_sockets", "state", tl_state_name(socket_states[i]),
			   m->sockets[socket_states[i]]);
	family(x, "tcplinger_close_wait_leak_sockets", "gauge",
	       "Sockets in CLOSE_WAIT for --min-age or longer, by owner command (the top "
	       "--top owners, the rest as ~other).");
	for (size_t i = 0; i < m->nleaks; i++)
		sample_u64(x, "tcplinger_close_wait_leak_sockets", "comm", m->leaks[i].comm,
			   m->leaks[i].sockets);
	sample_u64(x, "tcplinger_close_wait_leak_sockets", "comm", "~other", m->leak_other);
	family(x, "tcplinger_connections_tracked", "gauge",
	       "Connections the tracer follows now (--max-conns caps them).");
	sample_u64(x, "tcplinger_connections_tracked", NULL, NULL, m->tracked);
	family(x, "tcplinger_port_pressure_destinations", "gauge",
	       "Destinations (netns, address, port) whose connections use half or more of "
	       "the local port range.");
	sample_u64(x, "tcplinger_port_pressure_destinations", NULL, NULL, m->pressure_dests);
	family(x, "tcplinger_port_pressure_max_ratio", "gauge",
	       "The largest share of a local port range one destination uses (0 to 1).");
	tb_printf(x->tb, "tcplinger_port_pressure_max_ratio %.6f\n", m->pressure_max);
}

static void render_errors(struct expo *x, const struct tl_metrics *m)
{
	static const char *const fam[2] = { "tcplinger_connect_errors", "tcplinger_bind_errors" };
	static const char *const help[2] = {
		"Failed connect() calls, by errno.", "Failed bind() calls, by errno.",
	};
	char name[48], ebuf[16];

	for (int c = 0; c < 2; c++) {
		family(x, fam[c], "counter", help[c]);
		snprintf(name, sizeof(name), "%s_total", fam[c]);
		for (int i = 0; i < m->nerrs[c]; i++) {
			const struct tl_metrics_errno *e = &m->errs[c][i];

			sample_u64(x, name, "errno", e->err == OTHER_ERRNO ? "~other" :
				   tl_errno_name(e->err, ebuf), e->count);
		}
	}
}

static void render_cost(struct expo *x, const struct tl_metrics *m)
{
	family(x, "tcplinger_events_lost", "counter",
	       "Events the kernel dropped: the ring buffer was full.");
	sample_u64(x, "tcplinger_events_lost_total", NULL, NULL, m->lost);
	family(x, "tcplinger_connections_evicted", "counter",
	       "Connections no longer followed: the --max-conns cap was reached.");
	sample_u64(x, "tcplinger_connections_evicted_total", NULL, NULL, m->evicted);
	family(x, "tcplinger_process_cpu_seconds", "counter",
	       "CPU time of the tracer's process, user and system.");
	sample_secs(x, "tcplinger_process_cpu_seconds_total", NULL, NULL, m->cpu_ns);
	if (!m->bpf_stats)
		return;
	family(x, "tcplinger_bpf_run_seconds", "counter",
	       "Time the kernel spent in each BPF program (kernel.bpf_stats_enabled=1).");
	for (size_t i = 0; i < m->nprogs; i++)
		sample_secs(x, "tcplinger_bpf_run_seconds_total", "program", m->progs[i].name,
			    m->progs[i].run_ns);
	family(x, "tcplinger_bpf_runs", "counter",
	       "Runs of each BPF program (kernel.bpf_stats_enabled=1).");
	for (size_t i = 0; i < m->nprogs; i++)
		sample_u64(x, "tcplinger_bpf_runs_total", "program", m->progs[i].name,
			   m->progs[i].runs);
}

void tl_metrics_render(const struct tl_metrics *m, bool openmetrics, struct tl_textbuf *tb)
{
	struct expo x = { .tb = tb, .om = openmetrics };

	render_lifecycles(&x, m);
	render_linger(&x, m);
	render_gauges(&x, m);
	render_errors(&x, m);
	render_cost(&x, m);
	if (openmetrics)
		tb_str(tb, "# EOF\n");
}

bool tl_metrics_wants_openmetrics(const char *accept)
{
	return accept && strstr(accept, "application/openmetrics-text");
}
