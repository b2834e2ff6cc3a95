/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdlib.h>
#include "units.h"
#include "leaks.h"
#include "summary.h"
#include "session.h"
#include "stacks.h"


struct tl_session {
	struct tl_session_opts opts;
	struct tl_engine *engine;
	struct tl_stacks *stacks;
	struct tl_output out;
	struct tl_summary interval;	/* since the last interval summary */
	struct tl_summary total;
	uint64_t start_ns;		/* first tick; 0 before it */
	uint64_t last_summary_ns;
	uint64_t now_ns;		/* last tick */
	uint64_t lost_before;		/* totals at the last summary */
	uint64_t evicted_before;
	bool finishing;			/* reporting what is still open */
};

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

	if (s->opts.leaks)
		return;
	tl_summary_add(&s->interval, lc);
	if (s->opts.quiet)
		return;
	/* In text mode --events shows transitions in place of lifecycles
	 * (two tables at once would not read), until those left open at the
	 * end get a table of their own. */
	if (s->opts.fmt != TL_FMT_TEXT || !s->opts.events || s->finishing)
		tl_output_lifecycle(&s->out, lc);
}

static void print_summary(struct tl_session *s, bool final)
{
	uint64_t since = final ? s->start_ns : s->last_summary_ns;
	uint64_t now = s->now_ns, lost, evicted;
	struct tl_engine_stats st;
	const struct tl_summary *rep = final ? &s->total : &s->interval;

	tl_engine_stats(s->engine, &st);
	/* An interval summary counts what happened in the interval. */
	lost = st.lost - (final ? 0 : s->lost_before);
	evicted = st.evicted - (final ? 0 : s->evicted_before);
	s->lost_before = st.lost;
	s->evicted_before = st.evicted;
	if (final) {
		tl_summary_merge(&s->total, &s->interval);
		tl_summary_reset(&s->interval);
	}
	if (s->opts.fmt == TL_FMT_JSON) {
		tl_summary_print_json(s->out.f, rep, now, now - since, final, lost, evicted);
	} else {
		/* CSV holds lifecycles only: its summaries go to stderr. */
		FILE *f = s->opts.fmt == TL_FMT_CSV ? stderr : s->out.f;
		char title[96];

		snprintf(title, sizeof(title), final ? "Summary of the whole trace (%.1f s)"
						     : "Summary of the last %.1f s",
			 (double)(now - since) / NS_PER_SEC);
		fputc('\n', f);
		tl_summary_print_text(f, rep, title, lost, evicted);
		if (s->opts.fmt == TL_FMT_TEXT)
			s->out.header_done = false;	/* repeat the header after it */
	}
	if (!final) {
		tl_summary_merge(&s->total, &s->interval);
		tl_summary_reset(&s->interval);
	}
}

static void add_leak(const struct tl_lifecycle *lc, void *ctx)
{
	struct tl_leaks *L = ctx;

	tl_leaks_add(L, lc);
}

static void print_leaks(struct tl_session *s, bool final)
{
	struct tl_leaks L;

	tl_leaks_init(&L, s->opts.min_age_ns, tl_engine_last_scan(s->engine));
	tl_engine_each_open(s->engine, s->now_ns, add_leak, &L);
	tl_leaks_finish(&L);
	if (s->opts.pid) {
		uint32_t k = 0;

		L.sockets = 0;
		for (uint32_t i = 0; i < L.ngroups; i++) {
			if (L.groups[i].owner.pid != s->opts.pid)
				continue;
			L.sockets += L.groups[i].count;
			L.groups[k++] = L.groups[i];
		}
		L.ngroups = k;
	}
	tl_output_leaks(&s->out, &L, s->stacks, s->now_ns, final);
	tl_leaks_free(&L);
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
	/* Without a use for transitions the engine need not make them. */
	if (!opts->events || opts->quiet || opts->leaks)
		sink.transition = NULL;
	s->engine = tl_engine_new(&eopts, &sink);
	s->stacks = tl_stacks_new();
	if (!s->engine || !s->stacks) {
		tl_engine_free(s->engine);
		tl_stacks_free(s->stacks);
		free(s);
		return NULL;
	}
	if (opts->max_stacks)
		tl_stacks_set_max(s->stacks, opts->max_stacks);
	tl_output_init(&s->out, opts->out, opts->fmt, opts->wide);
	s->out.boot_to_real_ns = opts->boot_to_real_ns;
	tl_summary_reset(&s->interval);
	tl_summary_reset(&s->total);
	return s;
}

void tl_session_feed(struct tl_session *s, const struct tl_event *ev)
{
	tl_engine_feed(s->engine, ev);
	if (ev->type != TL_EV_TICK)
		return;
	s->now_ns = ev->ts_ns;
	if (!s->start_ns)
		s->start_ns = s->last_summary_ns = ev->ts_ns;
	if (tl_session_interval_due(s, ev->ts_ns)) {
		if (s->opts.leaks)
			print_leaks(s, false);
		else
			print_summary(s, false);
		s->last_summary_ns = ev->ts_ns;
	}
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

void tl_session_stack_limit(struct tl_session *s, size_t bytes)
{
	tl_stacks_set_limit(s->stacks, bytes);
}

void tl_session_finish(struct tl_session *s)
{
	s->finishing = true;
	if (s->opts.leaks) {
		print_leaks(s, true);
		tl_engine_finish(s->engine, s->now_ns);
		tl_output_flush(&s->out);
		return;
	}
	if (s->opts.fmt == TL_FMT_TEXT && s->opts.events && !s->opts.quiet) {
		fprintf(s->out.f, "\nStill open at the end of the trace:\n");
		s->out.header_done = false;
	}
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

void tl_session_free(struct tl_session *s)
{
	if (!s)
		return;
	tl_engine_free(s->engine);
	tl_stacks_free(s->stacks);
	free(s);
}
