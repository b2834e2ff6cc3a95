/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdlib.h>
#include "cgnames.h"
#include <sys/socket.h>
#include "connerr.h"
#include "layout.h"
#include "leaks.h"
#include "ports.h"
#include "opensum.h"
#include "run.h"
#include "session.h"
#include "outlane.h"
#include "stacks.h"
#include "summary.h"
#include "threads.h"

struct tl_session {
	struct tl_session_opts opts;
	struct tl_engine *engine;
	struct tl_stacks *stacks;
	struct tl_cgnames cgnames;	/* cgroup ids' paths, as the stream says */
	struct tl_threads threads;	/* leaks: where the holders are stuck */
	struct tl_output out;
	struct tl_connerrs connerrs;	/* failed connect()s, a window per key */
	struct tl_ports *ports;		/* port pressure per destination */
	struct tl_pressure *final_pressure;	/* as of the end, before the open
						 * lifecycles are let go */
	size_t nfinal, capfinal;
	struct tl_summary interval;	/* since the last interval summary */
	struct tl_summary total;
	struct tl_opensum *open;	/* what is open at the summary's tick */
	bool hide_open;			/* at the end: the open ones are summed up,
					 * not listed */
	uint64_t start_ns;		/* first tick; 0 before it */
	uint64_t last_summary_ns;
	uint64_t now_ns;		/* last tick */
	uint64_t lost_before;		/* totals at the last summary */
	uint64_t evicted_before;
};

struct tl_session_opts tl_session_opts_of(const struct tl_cli *cli, FILE *out,
					  int64_t boot_to_real_ns)
{
	return (struct tl_session_opts){
		.fmt = cli->fmt, .events = cli->events, .interval_ns = cli->interval_ns,
		.pid = cli->pid, .max_conns = cli->max_conns, .listeners = cli->listeners,
		.wide = cli->wide || cli->filter.family == AF_INET6,
		.narrow = tl_layout_narrow(tl_layout_cols(cli->cols, out ? fileno(out) : -1)),
		.boot_to_real_ns = boot_to_real_ns, .out = out,
		.leaks = cli->leaks, .min_age_ns = cli->min_age_ns, .max_stacks = cli->max_stacks,
		.open_list = cli->open_list,
		.show_cgroup = cli->show_cgroup,
		.cgroup = cli->cgroup_path[0] ? cli->cgroup_path : NULL,
		.cgroup_in_kernel = cli->filter.cgroup != 0,
		.view = cli->view,
	};
}

/* Set as the sink only when transitions are printed (tl_session_new());
 * the engine keeps to opts.pid. */
static void on_transition(const struct tl_transition *t, void *ctx)
{
	struct tl_session *s = ctx;

	tl_output_transition(&s->out, t);
}

static void on_lifecycle(const struct tl_lifecycle *lc, void *ctx)
{
	struct tl_session *s = ctx;

	if (s->opts.view && s->opts.view->lifecycle)
		s->opts.view->lifecycle(lc, s->opts.view->ctx);
	if (s->opts.leaks || s->opts.view)
		return;
	tl_summary_add(&s->interval, lc);
	/* an ended lifecycle's path ends CLOSED; the others are still open */
	if (s->hide_open && lc->nstates && lc->states[lc->nstates - 1].state != TL_STATE_CLOSED)
		return;
	tl_output_lifecycle(&s->out, lc);
}

/* The interval's lifecycles join the whole trace's. */
static void fold_interval(struct tl_session *s)
{
	tl_summary_merge(&s->total, &s->interval);
	tl_summary_reset(&s->interval);
}

static void on_connerr(const struct tl_connerr *ce, void *ctx)
{
	struct tl_session *s = ctx;

	if (!s->opts.view)
		tl_output_connect_error(&s->out, ce);
	else if (s->opts.view->connerr)
		s->opts.view->connerr(ce, s->opts.view->ctx);
}

static void on_pressure(const struct tl_pressure *pr, void *ctx)
{
	struct tl_session *s = ctx;

	tl_output_port_pressure(&s->out, pr, false);
}

/* The final report is taken while the lifecycles are still open. */
static void keep_pressure(const struct tl_pressure *pr, void *ctx)
{
	struct tl_session *s = ctx;
	void *p;

	if (s->nfinal == s->capfinal) {
		s->capfinal = s->capfinal ? s->capfinal * 2 : 8;
		p = realloc(s->final_pressure, s->capfinal * sizeof(*s->final_pressure));
		if (!p) {
			s->capfinal = s->nfinal;
			return;
		}
		s->final_pressure = p;
	}
	s->final_pressure[s->nfinal++] = *pr;
}

/* The destinations short of ports, with each summary. */
static void print_pressure(struct tl_session *s, bool final)
{
	if (!final) {
		tl_ports_report(s->ports, s->engine, s->now_ns, false, on_pressure, s);
		return;
	}
	for (size_t i = 0; i < s->nfinal; i++)
		tl_output_port_pressure(&s->out, &s->final_pressure[i], true);
}

/* Failed connect()s and the sysctls that judge them; -p keeps its own. */
static void feed_ports(struct tl_session *s, const struct tl_event *ev)
{
	if (ev->type == TL_EV_CONNECT_ERR) {
		if (s->opts.pid && ev->pid != (uint32_t)s->opts.pid)
			return;
		if (!s->opts.leaks)
			tl_connerrs_add(&s->connerrs, ev, on_connerr, s);
	}
	tl_ports_feed(s->ports, ev);
}

static void print_summary(struct tl_session *s, bool final)
{
	uint64_t since = final ? s->start_ns : s->last_summary_ns;
	struct tl_engine_stats st;
	uint64_t lost, evicted;

	tl_engine_stats(s->engine, &st);
	/* An interval summary counts what happened in the interval. */
	lost = st.lost - (final ? 0 : s->lost_before);
	evicted = st.evicted - (final ? 0 : s->evicted_before);
	s->lost_before = st.lost;
	s->evicted_before = st.evicted;
	if (final)
		fold_interval(s);
	/* before the summary, which stays the report's last line */
	print_pressure(s, final);
	tl_output_summary(&s->out, final ? &s->total : &s->interval, s->now_ns,
			  s->now_ns - since, final, lost, evicted, s->open);
	if (!final)
		fold_interval(s);
}

static void print_leaks(struct tl_session *s, bool final)
{
	struct tl_leaks L;

	tl_leaks_collect(&L, s->engine, s->now_ns, s->opts.min_age_ns, s->opts.pid);
	tl_output_leaks(&s->out, &L, s->stacks, &s->threads, s->now_ns, final);
	tl_leaks_free(&L);
}

/* --cgroup, live: the kernel chose the full sockets already. */
static bool any_cgroup(uint64_t cgroup, void *ctx)
{
	(void)cgroup;
	(void)ctx;
	return true;
}

/* --cgroup in a replay: by the paths the log names. */
static bool cgroup_under(uint64_t cgroup, void *ctx)
{
	struct tl_session *s = ctx;
	const struct tl_cgname *n = tl_cgnames_get(&s->cgnames, cgroup);

	return n && tl_cgroup_path_under(n->path, s->opts.cgroup);
}

struct tl_session *tl_session_new(const struct tl_session_opts *opts)
{
	struct tl_engine_opts eopts = { .max_conns = opts->max_conns, .listeners = opts->listeners,
					.usage = opts->leaks, .pid = opts->pid };
	struct tl_engine_sink sink = { .transition = on_transition, .lifecycle = on_lifecycle };
	struct tl_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->opts = *opts;
	sink.ctx = s;
	if (opts->cgroup) {
		eopts.cgroup_wanted = opts->cgroup_in_kernel ? any_cgroup : cgroup_under;
		eopts.cgroup_ctx = s;
	}
	/* Without a use for transitions the engine need not make them. */
	if (!opts->events || opts->leaks)
		sink.transition = NULL;
	s->engine = tl_engine_new(&eopts, &sink);
	s->stacks = tl_stacks_new();
	s->ports = tl_ports_new();
	s->open = calloc(1, sizeof(*s->open));
	if (!s->engine || !s->stacks || !s->ports || !s->open) {
		tl_session_free(s);
		return NULL;
	}
	if (opts->max_stacks)
		tl_stacks_set_max(s->stacks, opts->max_stacks);
	tl_output_init(&s->out, opts->out, opts->fmt, opts->wide);
	s->out.boot_to_real_ns = opts->boot_to_real_ns;
	s->out.transitions = opts->events;
	s->out.narrow = opts->narrow;
	s->out.show_cgroup = opts->show_cgroup;
	s->out.cgnames = &s->cgnames;
	if (opts->output_thread && opts->fmt == TL_FMT_JSON && !opts->view)
		s->out.lane = tl_outlane_start(&s->out);
	tl_summary_reset(&s->interval);
	tl_summary_reset(&s->total);
	return s;
}

void tl_session_feed(struct tl_session *s, const struct tl_event *ev)
{
	tl_engine_feed(s->engine, ev);
	if (s->opts.leaks)
		tl_threads_feed(&s->threads, ev);
	if (ev->type == TL_EV_CONNECT_ERR || ev->type == TL_EV_SYSCTL)
		feed_ports(s, ev);
	if (ev->type != TL_EV_TICK)
		return;
	s->now_ns = ev->ts_ns;
	tl_connerrs_due(&s->connerrs, ev->ts_ns, false, on_connerr, s);
	if (!s->start_ns)
		s->start_ns = s->last_summary_ns = ev->ts_ns;
	if (tl_session_interval_due(s, ev->ts_ns)) {
		if (s->opts.view) {
			/* the view reads the state itself */
		} else if (s->opts.leaks) {
			print_leaks(s, false);
		} else {
			tl_opensum_collect(s->open, s->engine, s->now_ns, s->opts.pid);
			print_summary(s, false);
		}
		s->last_summary_ns = ev->ts_ns;
	}
}

bool tl_session_tw_in_fin_wait2(const struct tl_session *s)
{
	return tl_engine_tw_in_fin_wait2(s->engine);
}

bool tl_session_interval_due(const struct tl_session *s, uint64_t ts_ns)
{
	return s->opts.interval_ns && s->start_ns && ts_ns - s->last_summary_ns >= s->opts.interval_ns;
}

void tl_session_add_stack(struct tl_session *s, uint32_t ref, const void *blob, size_t len)
{
	/* only the leak report shows stacks: do not hold them for nothing */
	if (s->opts.leaks)
		tl_stacks_add(s->stacks, ref, blob, len);
}

void tl_session_add_cgroup_name(struct tl_session *s, const void *blob, size_t len)
{
	const char *path;
	uint64_t id;
	size_t plen;

	if (!tl_cgname_unblob(blob, len, &id, &path, &plen))
		return;
	tl_output_drain(&s->out);	/* the lane may be reading the names */
	tl_cgnames_set(&s->cgnames, id, path, plen);
}

void tl_session_stack_limit(struct tl_session *s, size_t bytes)
{
	tl_stacks_set_limit(s->stacks, bytes);
}

void tl_session_finish(struct tl_session *s)
{
	if (s->opts.view) {
		tl_engine_finish(s->engine, s->now_ns);
		return;
	}
	if (s->opts.leaks) {
		print_leaks(s, true);
		tl_engine_finish(s->engine, s->now_ns);
		tl_output_flush(&s->out);
		return;
	}
	tl_connerrs_due(&s->connerrs, s->now_ns, true, on_connerr, s);
	/* what is open, summed up before the engine lets it go */
	tl_opensum_collect(s->open, s->engine, s->now_ns, s->opts.pid);
	s->hide_open = s->opts.fmt == TL_FMT_TEXT && !s->opts.open_list;
	tl_output_at_end(&s->out);
	/* ports in use are those open before the engine lets them go */
	tl_ports_report(s->ports, s->engine, s->now_ns, true, keep_pressure, s);
	tl_engine_finish(s->engine, s->now_ns);
	print_summary(s, true);
	tl_output_flush(&s->out);
}

const struct tl_stacks *tl_session_stacks(const struct tl_session *s)
{
	return s->stacks;
}

void tl_session_engine_stats(const struct tl_session *s, struct tl_engine_stats *st)
{
	tl_engine_stats(s->engine, st);
}

void tl_session_view(struct tl_session *s, struct tl_session_view *v)
{
	*v = (struct tl_session_view){ .engine = s->engine, .ports = s->ports,
				       .start_ns = s->start_ns, .now_ns = s->now_ns };
}

void tl_session_free(struct tl_session *s)
{
	if (s) {
		tl_outlane_stop(s->out.lane);
		tl_engine_free(s->engine);
		tl_stacks_free(s->stacks);
		tl_cgnames_free(&s->cgnames);
		tl_threads_free(&s->threads);
		tl_connerrs_free(&s->connerrs);
		tl_ports_free(s->ports);
		free(s->final_pressure);
		if (s->open)
			tl_opensum_free(s->open);
		free(s->open);
	}
	free(s);
}
