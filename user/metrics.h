/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What `tcplinger serve` exports, and its exposition as text: the
 * Prometheus text format 0.0.4 or OpenMetrics 1.0.  Counters grow with
 * the lifecycles and connect() errors the session hands over; gauges are
 * taken from the engine's open lifecycles (the open-socket summary, the
 * leak report, port pressure) when a scrape asks for them.  No threads,
 * no I/O: serve.c owns both.  Every label has a bounded set of values
 * (README, "Exporter").
 */
#ifndef TCPLINGER_METRICS_H
#define TCPLINGER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lifecycle.h"

struct tl_connerr;
struct tl_opensum;
struct tl_ports;
struct tl_textbuf;

/* The upper bounds of tcplinger_linger_seconds, 1 ms to 1 h (+Inf apart). */
#define TL_METRICS_BUCKETS 21
/* FIN_WAIT2, CLOSE_WAIT, TIME_WAIT */
#define TL_METRICS_LINGER 3
/* errnos counted per call; past this, E<n> names fold into the last */
#define TL_METRICS_ERRNOS 32

struct tl_metrics_hist {
	uint64_t buckets[TL_METRICS_BUCKETS + 1];	/* not cumulative; last: +Inf */
	uint64_t count;
	uint64_t sum_ns;
};

struct tl_metrics_errno {
	uint32_t err;
	uint64_t count;
};

struct tl_metrics_owner {
	char comm[24];		/* the label value, "~unknown" when not known */
	uint64_t sockets;
};

struct tl_metrics_prog {
	char name[48];
	uint64_t run_ns, runs;
};

struct tl_metrics {
	/* counters, since the start */
	uint64_t ends[TL_END_MAX];
	struct tl_metrics_hist linger[TL_METRICS_LINGER];
	struct tl_metrics_errno errs[2][TL_METRICS_ERRNOS];	/* connect(), bind() */
	int nerrs[2];
	uint64_t lost, evicted;
	uint64_t cpu_ns;		/* the process's, user + system */
	/* gauges, as of the last tl_metrics_gauges() */
	uint64_t tracked;		/* connections the engine tracks */
	uint64_t sockets[TL_TCP_MAX_STATES];
	struct tl_metrics_owner *leaks;	/* the top_n owners, most sockets first */
	size_t nleaks;
	uint64_t leak_other;		/* sockets of the owners past top_n */
	uint64_t pressure_dests;	/* destinations at half their port range or more */
	double pressure_max;		/* the highest share of a range in use */
	/* BPF run time, only while kernel.bpf_stats_enabled is 1 */
	bool bpf_stats;
	struct tl_metrics_prog *progs;
	size_t nprogs, cap_progs;
	/* reused between gatherings */
	struct tl_opensum *open;
	uint32_t top_n;
	uint64_t min_age_ns;
	long pid;
};

/* top_n owners in the leak gauge, CLOSE_WAIT for min_age_ns makes a leak,
 * pid (0: any) as -p.  False when out of memory. */
bool tl_metrics_init(struct tl_metrics *m, uint32_t top_n, uint64_t min_age_ns, long pid);
void tl_metrics_free(struct tl_metrics *m);

/* A lifecycle the engine reported: its end, and if it ended, its time in
 * each lingering state it passed through. */
void tl_metrics_lifecycle(struct tl_metrics *m, const struct tl_lifecycle *lc);
/* A connect() or bind() error window as it closes. */
void tl_metrics_connerr(struct tl_metrics *m, const struct tl_connerr *ce);
/* The gauges, from e's open lifecycles and the port report of p at now_ns
 * (p may be NULL), and the engine's counts. */
void tl_metrics_gauges(struct tl_metrics *m, struct tl_engine *e, struct tl_ports *p,
		       uint64_t now_ns);
/* The programs' run time, replacing the last ones (bpf_stats on). */
void tl_metrics_prog_reset(struct tl_metrics *m, bool bpf_stats);
void tl_metrics_prog(struct tl_metrics *m, const char *name, uint64_t run_ns, uint64_t runs);

/* The whole exposition: OpenMetrics 1.0 (with its # EOF) when openmetrics,
 * else the Prometheus text format 0.0.4. */
void tl_metrics_render(const struct tl_metrics *m, bool openmetrics, struct tl_textbuf *tb);

#define TL_METRICS_TYPE_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define TL_METRICS_TYPE_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* Whether an Accept header asks for OpenMetrics (NULL: no header). */
bool tl_metrics_wants_openmetrics(const char *accept);

#endif /* TCPLINGER_METRICS_H */
