/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One screen of `tcplinger top`, laid out as lines of text from what the
 * summaries compute (opensum.h, ports.h, connerr.h, leaks.h): the same
 * lines for the terminal and for batch mode.  Every line fits the width
 * (cut, never wrapped); a wider screen gives the key columns the room.
 */
#ifndef TCPLINGER_TOPVIEW_H
#define TCPLINGER_TOPVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "opensum.h"

#define TL_TOP_MIN_WIDTH 40
#define TL_TOP_MAX_WIDTH 400	/* wider screens get blank space */

struct tl_connerr;
struct tl_pressure;
struct tl_leaks;

struct tl_top_frame {
	uint64_t uptime_ns;		/* since the trace began */
	uint64_t refresh_ns;
	uint64_t ended;			/* lifecycles that ended */
	uint64_t lost;			/* events the kernel dropped */
	const struct tl_opensum *open;	/* ranked or not: its state table */
	enum tl_open_by by;
	enum tl_open_sort sort;
	const struct tl_open_group *groups;	/* sorted, ngroups of total_groups */
	size_t ngroups, total_groups;
	const struct tl_connerr *errs;	/* totals since the start, most first */
	size_t nerrs;
	const struct tl_pressure *pressure;
	size_t npressure;
	const struct tl_leaks *leaks;	/* NULL: not hunting leaks */
	uint64_t min_age_ns;		/* leaks: CLOSE_WAIT this long */
	bool help;			/* the keys, in place of the tables */
};

/* row from 0, text without a newline, len <= width; title: a heading. */
typedef void (*tl_top_line_fn)(int row, const char *text, size_t len, bool title, void *ctx);

/* Lays the frame out in width columns (clamped to the bounds above) and
 * at most height rows (0: as many as it needs): fn for each line.  The
 * groups table takes the rows the other sections leave.  Returns the
 * number of rows. */
int tl_topview_draw(const struct tl_top_frame *f, int width, int height, tl_top_line_fn fn,
		    void *ctx);

/* How many group rows fit in height rows with everything else (0 height:
 * max); what to ask tl_opensum_groups() for. */
size_t tl_topview_group_rows(const struct tl_top_frame *f, int height, size_t max);

/* "count", "max age", "p99 age" */
const char *tl_topview_sort_name(enum tl_open_sort sort);

#endif /* TCPLINGER_TOPVIEW_H */
