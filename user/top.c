// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcplinger top: the live trace (live.c, the very same loader, seeding and
 * engine) with a screen redrawn every refresh in place of printed lines:
 * what is open per state, the groups of lingering sockets, connect()
 * errors, port pressure and, with --leaks, CLOSE_WAIT leak groups.  The
 * screen's text comes from topview.c; this file has the terminal (ncurses),
 * the keys and batch mode.
 */
#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "connerr.h"
#include "grow.h"
#include "layout.h"
#include "leaks.h"
#include "opensum.h"
#include "ports.h"
#include "run.h"
#include "session.h"
#include "topview.h"
#include "units.h"

#define DEFAULT_REFRESH_NS (2 * NS_PER_SEC)
#define BATCH_WIDTH 80		/* when $COLUMNS does not say */
#define BATCH_GROUPS 20

struct top {
	const struct tl_cli *cli;
	struct tl_live_view view;
	bool curses;			/* the screen is ours */
	int batch_width;
	uint64_t next_ns;		/* next refresh; 0: at the next tick */
	uint64_t frames;
	enum tl_open_by by;
	enum tl_open_sort sort;
	bool help;
	struct tl_opensum open;
	struct tl_open_group *groups;
	size_t cap_groups;
	struct tl_connerr *errs;	/* totals per key since the start */
	size_t nerrs, cap_errs;
	struct tl_pressure *pressure;	/* of the frame being drawn */
	size_t npressure, cap_pressure;
};

/* ---- what a frame shows ---- */

static void add_connerr(const struct tl_connerr *ce, void *ctx)
{
	struct top *t = ctx;

	for (size_t i = 0; i < t->nerrs; i++) {
		if (tl_connerr_same(&t->errs[i], ce)) {
			t->errs[i].count += ce->count;
			return;
		}
	}
	if (tl_grow(&t->errs, &t->cap_errs, t->nerrs, sizeof(*t->errs), 16))
		t->errs[t->nerrs++] = *ce;
}

static int cmp_connerr(const void *pa, const void *pb)
{
	const struct tl_connerr *a = pa, *b = pb;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return (a->ts_ns > b->ts_ns) - (a->ts_ns < b->ts_ns);
}

static void keep_pressure(const struct tl_pressure *pr, void *ctx)
{
	struct top *t = ctx;

	if (tl_grow(&t->pressure, &t->cap_pressure, t->npressure, sizeof(*t->pressure), 8))
		t->pressure[t->npressure++] = *pr;
}

/* Fills f from the session, as of its last tick; height 0: batch. */
static void make_frame(struct top *t, struct tl_session *s, struct tl_top_frame *f,
		       struct tl_leaks *L, int height)
{
	struct tl_session_view v;
	struct tl_engine_stats st;
	size_t rows;

	tl_session_view(s, &v);
	tl_session_engine_stats(s, &st);
	tl_opensum_gather(&t->open, v.engine, v.now_ns, t->cli->pid);
	/* errors of the whole trace: the report starts no new span */
	t->npressure = 0;
	tl_ports_report(v.ports, v.engine, v.now_ns, true, keep_pressure, t);
	if (t->nerrs > 1)
		qsort(t->errs, t->nerrs, sizeof(*t->errs), cmp_connerr);
	if (t->cli->leaks)
		tl_leaks_collect(L, v.engine, v.now_ns, t->cli->min_age_ns, t->cli->pid);
	*f = (struct tl_top_frame){
		.uptime_ns = v.now_ns - v.start_ns, .refresh_ns = t->cli->interval_ns,
		.ended = st.ended, .lost = st.lost, .open = &t->open, .by = t->by, .sort = t->sort,
		.errs = t->errs, .nerrs = t->nerrs, .pressure = t->pressure,
		.npressure = t->npressure, .leaks = t->cli->leaks ? L : NULL,
		.min_age_ns = t->cli->min_age_ns, .help = t->help,
	};
	rows = tl_topview_group_rows(f, height, height ? (size_t)height : BATCH_GROUPS);
	if (rows > t->cap_groups) {
		free(t->groups);
		t->groups = calloc(rows, sizeof(*t->groups));
		t->cap_groups = t->groups ? rows : 0;
	}
	f->total_groups = tl_opensum_groups(&t->open, t->by, t->sort, t->groups, t->cap_groups);
	f->groups = t->groups;
	f->ngroups = f->total_groups < t->cap_groups ? f->total_groups : t->cap_groups;
	if (f->ngroups > rows)
		f->ngroups = rows;
}

/* ---- drawing ---- */

static void curses_line(int row, const char *text, size_t len, bool title, void *ctx)
{
	(void)ctx;
	if (title)
		attron(A_BOLD);
	mvaddnstr(row, 0, text, (int)len);
	if (title)
		attroff(A_BOLD);
}

static void batch_line(int row, const char *text, size_t len, bool title, void *ctx)
{
	(void)row;
	(void)title;
	(void)ctx;
	fwrite(text, 1, len, stdout);
	putchar('\n');
}

static void draw(struct top *t, struct tl_session *s)
{
	struct tl_top_frame f;
	struct tl_leaks L;
	int height = t->curses ? LINES : 0;

	make_frame(t, s, &f, &L, height);
	if (t->curses) {
		erase();
		tl_topview_draw(&f, COLS, LINES, curses_line, t);
		refresh();
	} else {
		tl_topview_draw(&f, t->batch_width, 0, batch_line, t);
		putchar('\n');	/* frames apart */
		fflush(stdout);
	}
	if (t->cli->leaks)
		tl_leaks_free(&L);
	tl_opensum_free(&t->open);	/* the samples; the next gather resets the rest */
}

static void start_curses(struct top *t)
{
	initscr();
	cbreak();
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);
	t->curses = true;
}

/* ---- keys ---- */

/* One key: false to quit; *redraw when the screen must change now. */
static bool on_key(struct top *t, int ch, bool *redraw)
{
	*redraw = true;
	if (t->help && ch != KEY_RESIZE) {	/* any key leaves the help */
		t->help = false;
		return ch != 'q';
	}
	switch (ch) {
	case 'q':
	case 'Q':
		return false;
	case 's':
	case '>':
		t->sort = (t->sort + 1) % TL_OPEN_SORT_MAX;
		break;
	case '<':
		t->sort = (t->sort + TL_OPEN_SORT_MAX - 1) % TL_OPEN_SORT_MAX;
		break;
	case 'g':
		t->by = (t->by + 1) % TL_OPEN_BY_MAX;
		break;
	case 'h':
	case '?':
		t->help = true;
		break;
	case ' ':
	case KEY_RESIZE:
		break;
	default:
		*redraw = false;
	}
	return true;
}

static bool on_tick(void *ctx, struct tl_session *s, uint64_t now_ns)
{
	struct top *t = ctx;
	bool redraw = false, again;
	int ch;

	if (!t->cli->batch && !t->curses)
		start_curses(t);
	while (t->curses && (ch = getch()) != ERR) {
		if (!on_key(t, ch, &again))
			return false;
		redraw |= again;
	}
	if (!redraw && now_ns < t->next_ns)
		return true;
	draw(t, s);
	if (now_ns >= t->next_ns) {	/* a key's redraw keeps the rhythm */
		t->next_ns = now_ns + t->cli->interval_ns;
		t->frames++;
	}
	return !t->cli->iterations || t->frames < t->cli->iterations;
}

/* The next tick draws a frame. */
static bool on_refresh_due(void *ctx, uint64_t now_ns)
{
	const struct top *t = ctx;

	return now_ns >= t->next_ns;
}

static void on_end(void *ctx)
{
	struct top *t = ctx;

	if (t->curses)
		endwin();
	t->curses = false;
}

static int batch_width(void)
{
	int w = tl_layout_columns_env();

	return w >= TL_TOP_MIN_WIDTH && w <= TL_TOP_MAX_WIDTH ? w : BATCH_WIDTH;
}

int tl_run_top(struct tl_cli *cli)
{
	struct top t = { .cli = cli };
	int code;

	if (!cli->batch && !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "tcplinger: top: stdout is not a terminal (-b prints plain text "
			"frames instead)\n");
		return 2;
	}
	if (!cli->interval_ns)
		cli->interval_ns = DEFAULT_REFRESH_NS;
	t.batch_width = batch_width();
	t.view = (struct tl_live_view){ .refresh_due = on_refresh_due, .tick = on_tick,
					.connerr = add_connerr, .end = on_end, .ctx = &t };
	cli->view = &t.view;
	cli->print = true;	/* a session, which the view reads */
	code = tl_run_live(cli);
	on_end(&t);
	tl_opensum_reset(&t.open);
	free(t.groups);
	free(t.errs);
	free(t.pressure);
	return code;
}
