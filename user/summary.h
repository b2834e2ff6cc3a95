/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-state linger summary over ended lifecycles: one histogram per TCP
 * state, counts by end reason.  FIN_WAIT2, CLOSE_WAIT and TIME_WAIT are
 * the headline: they are where sockets linger after the application is
 * done with them.
 */
#ifndef TCPLINGER_SUMMARY_H
#define TCPLINGER_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>
#include "hist.h"
#include "lifecycle.h"

struct tl_textbuf;
struct tl_opensum;

struct tl_summary {
	/* By enum tl_tcp_state; fed by complete lifecycles only, since an
	 * incomplete one's durations are mere lower bounds. */
	struct tl_hist state[TL_TCP_MAX_STATES];
	uint64_t ends[TL_END_MAX];	/* every lifecycle, by end reason */
	uint64_t lifecycles;
	uint64_t complete;
	uint64_t incomplete;
};

/* The headline states, in print order. */
extern const int tl_summary_headline[3];
/* The i-th state in print order: the headline ones, then the rest in
 * kernel order; -1 past the last. */
int tl_summary_state_at(int i);

void tl_summary_reset(struct tl_summary *rep);
void tl_summary_add(struct tl_summary *rep, const struct tl_lifecycle *lc);
void tl_summary_merge(struct tl_summary *dst, const struct tl_summary *src);

/* Multi-line human summary: table, log2 histograms, end reasons, then
 * what is open now when open is not NULL. */
void tl_summary_text(struct tl_textbuf *tb, const struct tl_summary *rep, const char *title,
		     uint64_t lost_events, uint64_t evicted, const struct tl_opensum *open);
/* One JSON line, {"type":"summary",...}: "ts" after "ts_ns" unless ts_iso
 * (the wall-clock time, made by the caller) is NULL, "open" unless open is. */
void tl_summary_json(struct tl_textbuf *tb, const struct tl_summary *rep, uint64_t ts_ns,
		     const char *ts_iso, uint64_t interval_ns, bool final, uint64_t lost,
		     uint64_t evicted, const struct tl_opensum *open);

#endif /* TCPLINGER_SUMMARY_H */
