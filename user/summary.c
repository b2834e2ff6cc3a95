// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-state linger summary; see summary.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "opensum.h"
#include "layout.h"
#include "units.h"
#include "summary.h"
#include "textbuf.h"

const int tl_summary_headline[3] = {
	TL_TCP_FIN_WAIT2, TL_TCP_CLOSE_WAIT, TL_TCP_TIME_WAIT,
};


static bool is_headline(int state)
{
	return state == TL_TCP_FIN_WAIT2 || state == TL_TCP_CLOSE_WAIT ||
	       state == TL_TCP_TIME_WAIT;
}

void tl_summary_reset(struct tl_summary *rep)
{
	memset(rep, 0, sizeof(*rep));
}

/* One sample per visited state: the lifecycle's whole time in it.  A first
 * span whose start is not exact is only a lower bound: it stays out. */
static void add_spans(struct tl_summary *rep, const struct tl_lifecycle *lc)
{
	uint64_t ns[TL_TCP_MAX_STATES] = { 0 };
	bool seen[TL_TCP_MAX_STATES] = { false };
	int i, n = lc->nstates;

	if (n > TL_MAX_PATH + 1)
		n = TL_MAX_PATH + 1;
	for (i = lc->start_exact ? 0 : 1; i < n; i++) {
		int st = lc->states[i].state;

		if (st <= 0 || st >= TL_TCP_MAX_STATES)	/* CLOSED or junk */
			continue;
		ns[st] += lc->states[i].ns;
		seen[st] = true;
	}
	for (i = 1; i < TL_TCP_MAX_STATES; i++)
		if (seen[i])
			tl_hist_add(&rep->state[i], ns[i]);
}

void tl_summary_add(struct tl_summary *rep, const struct tl_lifecycle *lc)
{
	rep->lifecycles++;
	if ((unsigned int)lc->end < TL_END_MAX)
		rep->ends[lc->end]++;
	if (!lc->complete) {
		rep->incomplete++;
		return;
	}
	rep->complete++;
	add_spans(rep, lc);
}

void tl_summary_merge(struct tl_summary *dst, const struct tl_summary *src)
{
	int i;

	for (i = 0; i < TL_TCP_MAX_STATES; i++)
		tl_hist_merge(&dst->state[i], &src->state[i]);
	for (i = 0; i < TL_END_MAX; i++)
		dst->ends[i] += src->ends[i];
	dst->lifecycles += src->lifecycles;
	dst->complete += src->complete;
	dst->incomplete += src->incomplete;
}

int tl_summary_state_at(int i)
{
	int rest = i - 3, st;

	if (i < 3)
		return tl_summary_headline[i];
	for (st = 1; st < TL_TCP_MAX_STATES; st++) {
		if (is_headline(st))
			continue;
		if (rest-- == 0)
			return st;
	}
	return -1;
}

static bool state_shown(const struct tl_summary *rep, int st)
{
	return is_headline(st) || rep->state[st].count;
}

/* ns as ms with 3 decimals, exact (no double rounding). */
static const char *fmt_ms(char *buf, size_t len, uint64_t ns)
{
	snprintf(buf, len, "%" PRIu64 ".%03" PRIu64, ns / NS_PER_MS,
		 ns % NS_PER_MS / NS_PER_US);
	return buf;
}

static void print_table(struct tl_textbuf *tb, const struct tl_summary *rep)
{
	char b[4][32];
	int i, st;

	tb_printf(tb, "%-12s %8s %12s %12s %12s %12s\n",
		"STATE", "COUNT", "P50_ms", "P90_ms", "P99_ms", "MAX_ms");
	for (i = 0; (st = tl_summary_state_at(i)) >= 0; i++) {
		const struct tl_hist *h = &rep->state[st];

		if (!state_shown(rep, st))
			continue;
		if (!h->count) {
			tb_printf(tb, "%-12s %8d %12s %12s %12s %12s\n",
				tl_state_name(st), 0, "-", "-", "-", "-");
			continue;
		}
		tb_printf(tb, "%-12s %8" PRIu64 " %12s %12s %12s %12s\n",
			tl_state_name(st), h->count,
			fmt_ms(b[0], sizeof(b[0]), tl_hist_percentile(h, 50)),
			fmt_ms(b[1], sizeof(b[1]), tl_hist_percentile(h, 90)),
			fmt_ms(b[2], sizeof(b[2]), tl_hist_percentile(h, 99)),
			fmt_ms(b[3], sizeof(b[3]), h->max));
	}
}

/* Range of log2 slot i; slot 0 also holds 0. */
static uint64_t slot_lo(int i)
{
	return i ? (uint64_t)1 << i : 0;
}

static uint64_t slot_hi(int i)
{
	return i < 63 ? ((uint64_t)2 << i) - 1 : UINT64_MAX;
}

static void print_stars(struct tl_textbuf *tb, uint64_t val, uint64_t val_max, int width)
{
	int stars = (int)((long double)val * width / val_max), i;

	for (i = 0; i < width; i++)
		tb_chr(tb, i < stars ? '*' : ' ');
}

/* bcc's print_log2_hist layout, so the numbers read the same way. */
static void print_log2(struct tl_textbuf *tb, const uint64_t *vals, const char *unit)
{
	int i, idx_max = -1, stars, width;
	uint64_t val_max = 0;

	for (i = 0; i < TL_HIST_LOG2_SLOTS; i++) {
		if (vals[i])
			idx_max = i;
		if (vals[i] > val_max)
			val_max = vals[i];
	}
	if (idx_max < 0)
		return;
	stars = idx_max <= 32 ? 40 : 20;
	width = idx_max <= 32 ? 10 : 20;
	tb_printf(tb, "%*s%-*s : count    distribution\n", idx_max <= 32 ? 5 : 15, "",
		idx_max <= 32 ? 19 : 29, unit);
	for (i = 0; i <= idx_max; i++) {
		tb_printf(tb, "%*" PRIu64 " -> %-*" PRIu64 " : %-8" PRIu64 " |",
			width, slot_lo(i), width, slot_hi(i), vals[i]);
		print_stars(tb, vals[i], val_max, stars);
		tb_str(tb, "|\n");
	}
}

static void print_hists(struct tl_textbuf *tb, const struct tl_summary *rep)
{
	uint64_t vals[TL_HIST_LOG2_SLOTS];
	int i;

	for (i = 0; i < 3; i++) {
		int st = tl_summary_headline[i];
		const struct tl_hist *h = &rep->state[st];
		/* Keep the row count readable: msecs once it reaches 10 ms. */
		bool ms = h->max >= 10 * NS_PER_MS;

		if (!h->count)
			continue;
		tb_printf(tb, "\n%s:\n", tl_state_name(st));
		tl_hist_log2_counts_unit(h, ms ? NS_PER_MS : NS_PER_US, vals);
		print_log2(tb, vals, ms ? "msecs" : "usecs");
	}
}

/* "ends: closed=N reset=N ...", wrapped at TL_COLS_PROSE. */
static void print_ends(struct tl_textbuf *tb, const struct tl_summary *rep)
{
	char buf[512];
	struct tl_textbuf t;

	tb_init(&t, buf, sizeof(buf));
	for (int e = TL_END_NONE + 1; e < TL_END_MAX; e++)
		tb_printf(&t, "%s%s=%" PRIu64, e > TL_END_NONE + 1 ? " " : "", tl_end_name(e),
			  rep->ends[e]);
	tb_str(tb, "\nends: ");
	tl_wrap(tb, t.buf, t.len, 6, TL_COLS_PROSE, 6);
	tb_chr(tb, '\n');
}

void tl_summary_text(struct tl_textbuf *tb, const struct tl_summary *rep, const char *title,
		     uint64_t lost_events, uint64_t evicted, const struct tl_opensum *open)
{
	tb_printf(tb, "%s: %" PRIu64 " lifecycles (%" PRIu64 " complete, %" PRIu64
		" incomplete)\n", title ? title : "summary", rep->lifecycles,
		rep->complete, rep->incomplete);
	print_table(tb, rep);
	print_hists(tb, rep);
	print_ends(tb, rep);
	tb_printf(tb, "%" PRIu64 " events lost, %" PRIu64 " evicted\n",
		lost_events, evicted);
	if (open)
		tl_opensum_text(tb, open);
}

static void json_state(struct tl_textbuf *tb, const struct tl_hist *h, int st)
{
	uint64_t vals[TL_HIST_LOG2_SLOTS];
	bool first = true;
	int i;

	tb_printf(tb, "\"%s\":{\"count\":%" PRIu64 ",\"p50_ns\":%" PRIu64
		",\"p90_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64
		",\"log2_ns\":[", tl_state_name(st), h->count,
		tl_hist_percentile(h, 50), tl_hist_percentile(h, 90),
		tl_hist_percentile(h, 99), h->max);
	tl_hist_log2_counts(h, vals);
	for (i = 0; i < TL_HIST_LOG2_SLOTS; i++) {
		if (!vals[i])
			continue;
		tb_printf(tb, "%s[%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]", first ? "" : ",",
			slot_lo(i), slot_hi(i), vals[i]);
		first = false;
	}
	tb_str(tb, "]}");
}

void tl_summary_json(struct tl_textbuf *tb, const struct tl_summary *rep, uint64_t ts_ns,
		     const char *ts_iso, uint64_t interval_ns, bool final, uint64_t lost,
		     uint64_t evicted, const struct tl_opensum *open)
{
	int e, i, st;
	bool first = true;

	tb_printf(tb, "{\"type\":\"summary\",\"ts_ns\":%" PRIu64, ts_ns);
	if (ts_iso)
		tb_printf(tb, ",\"ts\":\"%s\"", ts_iso);
	tb_printf(tb, ",\"interval_ns\":%" PRIu64 ",\"final\":%s,\"lifecycles\":%" PRIu64
		",\"incomplete\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"evicted\":%" PRIu64
		",\"ends\":{", interval_ns, final ? "true" : "false", rep->lifecycles,
		rep->incomplete, lost, evicted);
	for (e = TL_END_NONE + 1; e < TL_END_MAX; e++)
		tb_printf(tb, "%s\"%s\":%" PRIu64, e > TL_END_NONE + 1 ? "," : "",
			tl_end_name(e), rep->ends[e]);
	tb_str(tb, "},\"states\":{");
	for (i = 0; (st = tl_summary_state_at(i)) >= 0; i++) {
		if (!state_shown(rep, st))
			continue;
		if (!first)
			tb_chr(tb, ',');
		json_state(tb, &rep->state[st], st);
		first = false;
	}
	tb_chr(tb, '}');
	if (open)
		tl_opensum_json(tb, open);
	tb_str(tb, "}\n");
}
