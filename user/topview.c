// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The screen of `tcplinger top`; see topview.h. */
#include <inttypes.h>
#include <stdio.h>
#include "connerr.h"
#include "leaks.h"
#include "ports.h"
#include "summary.h"
#include "textbuf.h"
#include "topview.h"
#include "units.h"

#define SECTION_ROWS 5		/* errors, pressure, leaks: at most this many each */

/* Columns of the groups table after its key column. */
#define GROUP_NUM_COLS " FIN_WAIT2 CLOSE_WAIT TIME_WAIT  TOTAL  P99_AGE  MAX_AGE"

struct screen {
	int width, height, row;
	tl_top_line_fn fn;
	void *ctx;
	struct tl_textbuf line;
	char buf[TL_TOP_MAX_WIDTH * 2 + 1];
};

static void start(struct screen *s)
{
	tb_init(&s->line, s->buf, sizeof(s->buf));
}

/* The line so far, cut to the width, as row s->row (if the screen has it). */
static void put(struct screen *s, bool title)
{
	size_t len = s->line.len < (size_t)s->width ? s->line.len : (size_t)s->width;

	while (len && s->buf[len - 1] == ' ')
		len--;
	if (!s->height || s->row < s->height)
		s->fn(s->row, s->buf, len, title, s->ctx);
	s->row++;
	start(s);
}

static void put_text(struct screen *s, const char *text, bool title)
{
	tb_str(&s->line, text);
	put(s, title);
}

/* A time in a state, right-aligned in width, in the text rows' form
 * (tb_dur: 850ms, 12.3s, 4043s, 2.8h); '+' after a lower bound, a space
 * otherwise. */
static void put_age(struct tl_textbuf *tb, uint64_t ns, bool lower_bound, int width)
{
	tb_dur(tb, ns, width - 1);
	tb_chr(tb, lower_bound ? '+' : ' ');
}

/* text in exactly width columns: padded, or with its middle elided. */
static void put_fit(struct tl_textbuf *tb, const char *text, size_t len, int width)
{
	size_t w = (size_t)width, head;

	if (len <= w) {
		tb_mem_w(tb, text, len, -width);
		return;
	}
	head = (w - 2) / 2;
	tb_mem(tb, text, head);
	tb_str(tb, "..");
	tb_mem(tb, text + len - (w - 2 - head), w - 2 - head);
}

const char *tl_topview_sort_name(enum tl_open_sort sort)
{
	static const char *const names[TL_OPEN_SORT_MAX] = {
		[TL_OPEN_SORT_COUNT] = "count",
		[TL_OPEN_SORT_MAX_AGE] = "max age",
		[TL_OPEN_SORT_P99_AGE] = "p99 age",
	};

	return sort < TL_OPEN_SORT_MAX ? names[sort] : "?";
}

static void header(struct screen *s, const struct tl_top_frame *f)
{
	uint64_t up = f->uptime_ns / NS_PER_SEC;

	tb_printf(&s->line, "tcplinger top  up %" PRIu64 ":%02" PRIu64 ":%02" PRIu64
		  "  open %" PRIu64 "  ended %" PRIu64 "  lost %" PRIu64 "  every ",
		  up / 3600, up / 60 % 60, up % 60, f->open->sockets, f->ended, f->lost);
	put_age(&s->line, f->refresh_ns, false, 1);
	tb_str(&s->line, " h:help");
	put(s, true);
}

/* ---- open sockets per state ---- */

static bool state_shown(const struct tl_opensum *o, int i, int st)
{
	return i < 3 || o->state[st].age.count;
}

static int state_rows(const struct tl_opensum *o)
{
	int rows = 1, st;

	for (int i = 0; (st = tl_summary_state_at(i)) >= 0; i++)
		rows += state_shown(o, i, st);
	return rows;
}

static void states(struct screen *s, const struct tl_opensum *o)
{
	int st;

	put_text(s, "STATE          COUNT  P50_AGE  P99_AGE  MAX_AGE   (+ lower bound)", true);
	for (int i = 0; (st = tl_summary_state_at(i)) >= 0; i++) {
		const struct tl_open_state *os = &o->state[st];

		if (!state_shown(o, i, st))
			continue;
		tb_str_w(&s->line, tl_state_name(st), -12);
		tb_u64_w(&s->line, os->age.count, 8);
		if (os->age.count) {
			tb_chr(&s->line, ' ');
			put_age(&s->line, tl_hist_percentile(&os->age, 50), os->lower_bound, 8);
			put_age(&s->line, tl_hist_percentile(&os->age, 99), os->lower_bound, 9);
			put_age(&s->line, os->age.max, os->lower_bound, 9);
		} else {
			tb_str(&s->line, "        -        -        -");
		}
		put(s, false);
	}
}

/* ---- groups of lingering sockets ---- */

static int key_width(int width)
{
	return width - (int)(sizeof(GROUP_NUM_COLS) - 1);
}

static void groups(struct screen *s, const struct tl_top_frame *f)
{
	static const char *const by_name[TL_OPEN_BY_MAX] = { "owner", "local port", "remote" };
	static const char *const key_col[TL_OPEN_BY_MAX] = { "PID COMM", "LPORT", "REMOTE" };
	/* the column each sort goes by: TOTAL, MAX_AGE, P99_AGE */
	static const char *const cols[TL_OPEN_SORT_MAX] = {
		[TL_OPEN_SORT_COUNT] = " FIN_WAIT2 CLOSE_WAIT TIME_WAIT *TOTAL  P99_AGE  MAX_AGE",
		[TL_OPEN_SORT_MAX_AGE] = " FIN_WAIT2 CLOSE_WAIT TIME_WAIT  TOTAL  P99_AGE *MAX_AGE",
		[TL_OPEN_SORT_P99_AGE] = " FIN_WAIT2 CLOSE_WAIT TIME_WAIT  TOTAL *P99_AGE  MAX_AGE",
	};
	int kw = key_width(s->width);

	tb_printf(&s->line, "Lingering sockets by %s: %zu group%s  sort: %s  (s/g: change)",
		  by_name[f->by], f->total_groups, f->total_groups == 1 ? "" : "s",
		  tl_topview_sort_name(f->sort));
	put(s, true);
	tb_str_w(&s->line, key_col[f->by], -kw);
	tb_str(&s->line, cols[f->sort]);
	put(s, true);
	for (size_t i = 0; i < f->ngroups; i++) {
		const struct tl_open_group *g = &f->groups[i];
		char kbuf[128];
		struct tl_textbuf key;

		tb_init(&key, kbuf, sizeof(kbuf));
		tl_opensum_key_text(&key, f->by, &g->key);
		put_fit(&s->line, kbuf, key.len, kw);
		tb_u64_w(&s->line, g->count[0], 10);
		tb_u64_w(&s->line, g->count[1], 11);
		tb_u64_w(&s->line, g->count[2], 10);
		tb_u64_w(&s->line, g->total, 7);
		tb_chr(&s->line, ' ');
		put_age(&s->line, g->p99_ns, g->lower_bound, 8);
		put_age(&s->line, g->max_ns, g->lower_bound, 9);
		put(s, false);
	}
	if (f->total_groups > f->ngroups) {
		tb_printf(&s->line, "... %zu more", f->total_groups - f->ngroups);
		put(s, false);
	}
}

/* ---- connect errors, port pressure, leaks ---- */

static size_t shown(size_t n)
{
	return n < SECTION_ROWS ? n : SECTION_ROWS;
}

static void connect_errors(struct screen *s, const struct tl_top_frame *f)
{
	put_text(s, "Connect errors since start", true);
	put_text(s, "  COUNT ERRNO            PID COMM             TO", true);
	for (size_t i = 0; i < shown(f->nerrs); i++) {
		const struct tl_connerr *ce = &f->errs[i];
		char name[16];

		tb_u64_w(&s->line, ce->count, 7);
		tb_chr(&s->line, ' ');
		tb_str_w(&s->line, tl_errno_name(ce->err, name), -13);
		tb_u64_w(&s->line, ce->pid, 7);
		tb_chr(&s->line, ' ');
		tb_text_str_w(&s->line, ce->comm, TL_COMM_LEN, -16);
		tb_chr(&s->line, ' ');
		tl_put_endpoint(&s->line, ce->family, ce->addr, ce->port);
		put(s, false);
	}
}

static void port_pressure(struct screen *s, const struct tl_top_frame *f)
{
	put_text(s, "Port pressure", true);
	put_text(s, "  IN_USE  PORTS TIME_WAIT ERRORS  DESTINATION", true);
	for (size_t i = 0; i < shown(f->npressure); i++) {
		const struct tl_pressure *pr = &f->pressure[i];

		tb_u64_w(&s->line, pr->in_use, 8);
		if (pr->sysctl)
			tb_u64_w(&s->line, tl_netsysctl_ports(pr->sysctl), 7);
		else
			tb_str(&s->line, "      ?");
		tb_u64_w(&s->line, pr->time_wait, 10);
		tb_u64_w(&s->line, pr->errors, 7);
		tb_str(&s->line, "  ");
		tl_put_endpoint(&s->line, pr->dest.family, pr->dest.daddr, pr->dest.dport);
		tb_printf(&s->line, " netns %u", pr->dest.netns);
		put(s, false);
		tb_str(&s->line, "    ");
		tl_ports_advice(&s->line, pr);
		put(s, false);
	}
}

static void leaks(struct screen *s, const struct tl_top_frame *f)
{
	const struct tl_leaks *L = f->leaks;

	tb_printf(&s->line, "CLOSE_WAIT leaks (%.1f s or more): %" PRIu64 " socket%s in %u group%s",
		  (double)f->min_age_ns / NS_PER_SEC, L->sockets, L->sockets == 1 ? "" : "s",
		  L->ngroups, L->ngroups == 1 ? "" : "s");
	put(s, true);
	put_text(s, "  COUNT   OLDEST     PID COMM             DIAGNOSIS", true);
	for (size_t i = 0; i < shown(L->ngroups); i++) {
		const struct tl_leak_group *g = &L->groups[i];

		tb_u64_w(&s->line, g->count, 7);
		tb_chr(&s->line, ' ');
		put_age(&s->line, g->oldest_ns, !g->oldest_exact, 9);
		tb_i64_w(&s->line, g->owner.pid, 7);
		tb_chr(&s->line, ' ');
		tb_text_str_w(&s->line, g->owner.comm, TL_COMM_LEN, -16);
		tb_chr(&s->line, ' ');
		tb_str(&s->line, g->diagnosis);
		put(s, false);
	}
}

static void help(struct screen *s)
{
	static const char *const lines[] = {
		"Keys",
		"  q        quit",
		"  s or >   sort the groups by the next column: count, max age, p99 age",
		"  <        sort by the previous column",
		"  g        group by the next key: owner, local port, remote endpoint",
		"  space    refresh now",
		"  h or ?   this help; any key goes back",
		"",
		"Ages are the time each socket has spent in its state so far; '+' marks",
		"a lower bound (the socket was in that state before tracing began).",
		"Groups count the sockets in FIN_WAIT2, CLOSE_WAIT and TIME_WAIT.",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		put_text(s, lines[i], i == 0);
}

/* Rows each section other than the groups takes, blank line before included. */
static int other_rows(const struct tl_top_frame *f)
{
	int rows = 1 + 1 + state_rows(f->open);

	if (f->nerrs)
		rows += 3 + (int)shown(f->nerrs);
	if (f->npressure)
		rows += 3 + 2 * (int)shown(f->npressure);
	if (f->leaks)
		rows += 3 + (int)shown(f->leaks->ngroups);
	return rows + 1 + 2;	/* the groups' blank line, title, column names */
}

size_t tl_topview_group_rows(const struct tl_top_frame *f, int height, size_t max)
{
	int left = height - other_rows(f) - 1;	/* one for "... N more" */

	if (!height)
		return max;
	if (left < 3)
		left = 3;	/* a small screen cuts what comes after them */
	return (size_t)left < max ? (size_t)left : max;
}

int tl_topview_draw(const struct tl_top_frame *f, int width, int height, tl_top_line_fn fn,
		    void *ctx)
{
	struct screen s;

	s.width = width < TL_TOP_MIN_WIDTH ? TL_TOP_MIN_WIDTH
		: width > TL_TOP_MAX_WIDTH ? TL_TOP_MAX_WIDTH : width;
	s.height = height;
	s.row = 0;
	s.fn = fn;
	s.ctx = ctx;
	start(&s);
	header(&s, f);
	put(&s, false);
	if (f->help) {
		help(&s);
		return s.row;
	}
	states(&s, f->open);
	put(&s, false);
	groups(&s, f);
	if (f->nerrs) {
		put(&s, false);
		connect_errors(&s, f);
	}
	if (f->npressure) {
		put(&s, false);
		port_pressure(&s, f);
	}
	if (f->leaks) {
		put(&s, false);
		leaks(&s, f);
	}
	return s.height && s.row > s.height ? s.height : s.row;
}
