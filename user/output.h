/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Writers for transitions and lifecycles: a bcc-like text table, or JSON
 * lines whose field names are a contract with tools and tests.  Every row
 * goes out with a single fwrite so that lines never interleave.
 */
#ifndef TCPLINGER_OUTPUT_H
#define TCPLINGER_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include "lifecycle.h"

struct tl_cgnames;

enum tl_format {
	TL_FMT_TEXT,
	TL_FMT_JSON,
	TL_FMT_CSV,	/* lifecycles only: one row each, one column per state */
};

struct tl_output {
	FILE *f;
	enum tl_format fmt;
	int64_t boot_to_real_ns;	/* CLOCK_BOOTTIME + this = wall clock */
	bool header_done;		/* text: header printed (once per output) */
	/* text: transitions shown in place of lifecycles (two tables at once
	 * would not read), until those still open at the end */
	bool transitions;
	bool at_end;
	bool wide;			/* text: address columns fit any IPv6 */
	bool narrow;			/* text: the 80-column layout (layout.h) */
	bool show_cgroup;		/* text, CSV: cgroup and container columns */
	const struct tl_cgnames *cgnames;	/* cgroup ids' paths (NULL: none) */
	/* JSON: lifecycles formatted, and every line written, on a thread of
	 * their own (outlane.h); NULL: here */
	struct tl_outlane *lane;
	/* text: the network namespace of the first row; a NETNS column from
	 * the first row in another one on (netns_col) */
	uint32_t first_netns;
	bool netns_col;
	/* text: "HH:MM:SS." of the second rows were last stamped with
	 * (clock_len 0 until the first) */
	time_t clock_sec;
	size_t clock_len;
	char clock[16];
	/* JSON, CSV: "YYYY-MM-DDTHH:MM:SS" (UTC) of the second last written */
	int64_t iso_sec;
	size_t iso_len;
	char iso[24];
};

void tl_output_init(struct tl_output *out, FILE *f, enum tl_format fmt, bool wide);
/* CLOCK_REALTIME - CLOCK_BOOTTIME at the first call, for boot_to_real_ns:
 * one process keeps one offset, so that what it prints live and the
 * offset its log records (which replay uses) give the same wall clock. */
int64_t tl_boot_to_real_ns(void);

/* A text output shows one kind of row: the header is that of the first. */
void tl_output_transition(struct tl_output *out, const struct tl_transition *t);
void tl_output_lifecycle(struct tl_output *out, const struct tl_lifecycle *lc);
/* Returns once the lane (if any) has written all it was given. */
void tl_output_drain(struct tl_output *out);
void tl_output_flush(struct tl_output *out);
/* The lifecycles still open at the end follow (text with transitions:
 * under a title of their own). */
void tl_output_at_end(struct tl_output *out);

struct tl_summary;
struct tl_opensum;
/* A summary of span_ns up to ts_ns, with what is open at ts_ns (open):
 * a JSON line, or text (on stderr for CSV, which holds lifecycles only). */
void tl_output_summary(struct tl_output *out, const struct tl_summary *sum, uint64_t ts_ns,
		       uint64_t span_ns, bool final, uint64_t lost, uint64_t evicted,
		       const struct tl_opensum *open);

struct tl_leaks;
struct tl_stacks;
struct tl_threads;
/* A leak report: a row per group (JSON: {"type":"leak",...}), and in JSON
 * a closing {"type":"leaks",...} line; with the threads of each group's
 * holder where threads (NULL: none) has them. */
void tl_output_leaks(struct tl_output *out, const struct tl_leaks *L,
		     const struct tl_stacks *stacks, const struct tl_threads *threads,
		     uint64_t ts_ns, bool final);

struct tl_connerr;
struct tl_pressure;
/* A failed connect()/bind() window (connerr.h): a JSON line or a text
 * line (on stderr for CSV). */
void tl_output_connect_error(struct tl_output *out, const struct tl_connerr *ce);
/* A destination under port pressure (ports.h), after a summary. */
void tl_output_port_pressure(struct tl_output *out, const struct tl_pressure *pr, bool final);

#endif /* TCPLINGER_OUTPUT_H */
