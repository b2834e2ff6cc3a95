/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A tracing session as the user sees it: the decoded event stream goes in
 * (live from the kernel or replayed from a log), lifecycles, transitions
 * and summaries come out.  TICK events carry the clock: interval summaries
 * fall on them, so a replay gives the very same output as the live run.
 */
#ifndef TCPLINGER_SESSION_H
#define TCPLINGER_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "lifecycle.h"
#include "output.h"

struct tl_session_opts {
	enum tl_format fmt;
	bool events;		/* report every transition */
	bool quiet;		/* report nothing per connection */
	bool wide;		/* text: columns wide enough for IPv6 */
	uint64_t interval_ns;	/* summary every interval_ns of event time; 0 = none */
	long pid;		/* only lifecycles owned by pid; 0 = any */
	size_t max_conns;
	bool listeners;
	int64_t boot_to_real_ns;	/* for wall-clock times in text output */
	FILE *out;
};

struct tl_session;

struct tl_session *tl_session_new(const struct tl_session_opts *opts);
void tl_session_feed(struct tl_session *s, const struct tl_event *ev);
/* Reports what is still open and the final summary, as of the last tick. */
void tl_session_finish(struct tl_session *s);
void tl_session_engine_stats(const struct tl_session *s, struct tl_engine_stats *st);
void tl_session_free(struct tl_session *s);

#endif /* TCPLINGER_SESSION_H */
