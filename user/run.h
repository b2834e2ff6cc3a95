/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The run modes (trace and record live, replay from a log) and the
 * options they take, as main.c parses them from the command line. */
#ifndef TCPLINGER_RUN_H
#define TCPLINGER_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "filter.h"
#include "output.h"

struct tl_session;
struct tl_connerr;
struct tl_lifecycle;
struct tl_loader;

/* A live view in place of the printed report (top, serve). */
struct tl_live_view {
	/* Tracing has begun (loaded, seeded, first tick); NULL: not needed. */
	void (*started)(void *ctx, struct tl_loader *l);
	/* Before the tick at about now_ns: whether the view reads the open
	 * sockets at it.
	 * If timewait socks in substate FIN_WAIT2 are tracked, every socket is
	 * listed again first, as the end of a trace does (one may have turned
	 * TIME_WAIT without a trace: tl_engine_tw_in_fin_wait2()).  NULL:
	 * never. */
	bool (*refresh_due)(void *ctx, uint64_t now_ns);
	/* After each tick (about every 100 ms): false ends the trace. */
	bool (*tick)(void *ctx, struct tl_session *s, uint64_t now_ns);
	/* Each connect() error window as it closes. */
	void (*connerr)(const struct tl_connerr *ce, void *ctx);
	/* Each lifecycle the engine reports (ended, or let go at the end);
	 * NULL: not needed. */
	void (*lifecycle)(const struct tl_lifecycle *lc, void *ctx);
	/* The trace ends: the terminal goes back as it was. */
	void (*end)(void *ctx);
	void *ctx;
};

struct tl_cli {
	struct tl_filter filter;
	enum tl_format fmt;
	bool events;
	bool wide;
	int cols;		/* --width; 0: the terminal's (layout.h) */
	bool verbose;
	bool listeners;
	bool open_list;		/* text: list the lifecycles open at the end */
	bool show_cgroup;	/* -C: text and CSV show cgroups and containers */
	/* --cgroup: the cgroup's path under the cgroup2 mount ("" for none);
	 * live, its id and depth are in filter */
	char cgroup_path[4096];
	bool print;		/* record: also report live */
	bool leaks;		/* leaks, record --leaks, replay --leaks */
	uint64_t min_age_ns;	/* leaks: CLOSE_WAIT this long makes one */
	bool min_age_set;
	uint64_t interval_ns;
	uint64_t duration_ns;
	uint64_t from_ns, to_ns;	/* replay: window from the recording's start; to 0 = end */
	long pid;		/* 0: any */
	size_t max_conns;
	uint32_t max_stacks;	/* leaks: 0 = TL_STACKS_KEEP */
	size_t ringbuf_bytes;
	uint64_t max_size;	/* record: bytes, 0 = no cap */
	const char *path;	/* record: -w; replay: the log */
	bool want_file;		/* replay: FILE is an argument */
	char cmdline[512];	/* as recorded in a log's header */
	/* top */
	bool top;		/* -d is the refresh delay (interval_ns) */
	const struct tl_live_view *view;	/* NULL: print the report */
	bool batch;		/* -b: plain text frames, no terminal needed */
	uint64_t iterations;	/* -n: frames before it ends; 0 = no end */
	/* serve */
	const char *listen;	/* --listen ADDR:PORT, checked by main.c */
	uint32_t top_n;		/* --top: owners named in the leak gauge */
};

/* trace and record: live from the kernel.  Returns the exit code. */
int tl_run_live(const struct tl_cli *cli);
/* top: a live view of what lingers now.  Returns the exit code. */
int tl_run_top(struct tl_cli *cli);
/* serve: a Prometheus exporter of the live trace.  Returns the exit code. */
int tl_run_serve(struct tl_cli *cli);
/* replay: from a log.  Returns the exit code. */
int tl_run_replay(const struct tl_cli *cli);
struct tl_log_reader;
struct tl_log_header;
/* The same for a log already open (named name in messages), its report to
 * out; r is left open.  *warnings (NULL: none) counts the damage the reader
 * got past.  For tests and fuzzing. */
int tl_replay_run(const struct tl_cli *cli, struct tl_log_reader *r,
		  const struct tl_log_header *h, const char *name, FILE *out,
		  const uint64_t *warnings);

#endif /* TCPLINGER_RUN_H */
