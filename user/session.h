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

struct tl_live_view;

struct tl_session_opts {
	enum tl_format fmt;
	bool events;		/* report every transition */
	bool wide;		/* text: columns wide enough for IPv6 */
	bool narrow;		/* text: the 80-column layout */
	uint64_t interval_ns;	/* summary every interval_ns of event time; 0 = none */
	long pid;		/* only lifecycles owned by pid; 0 = any */
	size_t max_conns;
	bool listeners;
	int64_t boot_to_real_ns;	/* for wall-clock times in text output */
	bool leaks;		/* report CLOSE_WAIT leaks instead of lifecycles */
	uint64_t min_age_ns;	/* leaks: time in CLOSE_WAIT that makes one */
	uint32_t max_stacks;	/* leaks: stacks kept (0: TL_STACKS_KEEP) */
	bool open_list;		/* text: list every lifecycle still open at the
				 * end, besides summing them up */
	bool show_cgroup;	/* text and CSV: the cgroup and container */
	/* --cgroup: the cgroup path (as under the cgroup2 mount) whose
	 * sockets, its descendants' included, are wanted; NULL: any.  Live,
	 * the kernel has chosen already (cgroup_in_kernel): user space only
	 * leaves out the timewait socks it cannot place. */
	const char *cgroup;
	bool cgroup_in_kernel;
	FILE *out;
	bool output_thread;	/* JSON: formatted and written on a thread of
				 * its own (outlane.h) */
	/* A live view (top, serve; NULL: none) reads the state itself:
	 * nothing is printed; each connect() error window, as it closes,
	 * goes to its connerr, each lifecycle reported to its lifecycle. */
	const struct tl_live_view *view;
};

/* What a live view makes its screen of, as of the last tick. */
struct tl_session_view {
	struct tl_engine *engine;
	struct tl_ports *ports;
	uint64_t start_ns, now_ns;	/* first and last tick */
};

struct tl_session;
struct tl_cli;
struct tl_connerr;
struct tl_ports;

/* A run's session options, as its command line says; the report goes to
 * out, text times shifted by boot_to_real_ns, laid out for --width or, by
 * default, for out's terminal (tl_layout_cols()). */
struct tl_session_opts tl_session_opts_of(const struct tl_cli *cli, FILE *out,
					  int64_t boot_to_real_ns);
struct tl_session *tl_session_new(const struct tl_session_opts *opts);
void tl_session_feed(struct tl_session *s, const struct tl_event *ev);
/* A TL_EV_STACK's frames (its blob), for the leak report: kept only with
 * opts.leaks. */
void tl_session_add_stack(struct tl_session *s, uint32_t ref, const void *blob, size_t len);
/* A TL_EV_STACK with TL_F_CGROUP_NAME: the path of a cgroup id. */
void tl_session_add_cgroup_name(struct tl_session *s, const void *blob, size_t len);
/* Caps the memory stacks may take (tl_stacks_set_limit()). */
void tl_session_stack_limit(struct tl_session *s, size_t bytes);
/* Whether a tick at ts_ns would print an interval summary or leak report
 * (live scans /proc for holders just before such a tick). */
bool tl_session_interval_due(const struct tl_session *s, uint64_t ts_ns);
/* See tl_engine_tw_in_fin_wait2(). */
bool tl_session_tw_in_fin_wait2(const struct tl_session *s);
/* Reports what is still open and the final summary, as of the last tick. */
void tl_session_finish(struct tl_session *s);
/* The stacks kept, and the counts of those refused (tl_stacks_refused(),
 * tl_stacks_dropped()). */
const struct tl_stacks *tl_session_stacks(const struct tl_session *s);
void tl_session_engine_stats(const struct tl_session *s, struct tl_engine_stats *st);
void tl_session_view(struct tl_session *s, struct tl_session_view *v);
void tl_session_free(struct tl_session *s);

#endif /* TCPLINGER_SESSION_H */
