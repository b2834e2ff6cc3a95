/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The parts of output.c that its other report writers share (leakout.c):
 * one output line at a time, and the fields every format puts the same
 * way.  Not for the rest of the program: output.h is its interface.
 */
#ifndef TCPLINGER_OUTPARTS_H
#define TCPLINGER_OUTPARTS_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "lifecycle.h"
#include "output.h"
#include "textbuf.h"

/* One output line: most fit the stack buffer; a longer one (a leak group
 * whose escaped stack and command line run long) moves to the heap, since
 * a record cut short is no longer JSON. */
struct tl_out_line {
	struct tl_textbuf tb;
	char buf[16384];
};

/* Text: the COMM column's width. */
#define TL_OUT_COMM_W		15	/* TASK_COMM_LEN - 1 */
#define TL_OUT_COMM_W_NARROW	10

struct tl_textbuf *tl_out_line_start(struct tl_out_line *l);
/* Writes the line to f (out's file) and lets its memory go. */
void tl_out_emit_to(FILE *f, struct tl_out_line *l);
void tl_out_emit(struct tl_output *out, struct tl_out_line *l);

/* ,"key":"ISO 8601 wall-clock time" of a boot time */
void tl_out_json_time(struct tl_output *out, struct tl_textbuf *tb, const char *key,
		      uint64_t boot_ns);
/* The address as text in buf; returns its length. */
size_t tl_out_fmt_addr(char buf[INET6_ADDRSTRLEN], uint8_t family, const uint8_t *addr);
const char *tl_out_jbool(bool b);
/* "conn":N,"family":..,"saddr":..,"sport":..,"daddr":..,"dport":..,"netns":N */
void tl_out_json_conn(struct tl_textbuf *tb, uint64_t conn, const struct tl_tuple *tp);
/* "pid":N,"comm":".." (null for none; "ownerless" for a socket nobody owns) */
void tl_out_json_owner(struct tl_textbuf *tb, const struct tl_owner *o);
/* Text: the row's time (HH:MM:SS.mmm, narrow HH:MM:SS) and a blank. */
void tl_out_time(struct tl_output *out, struct tl_textbuf *tb, uint64_t boot_ns);
/* Text: the PID and COMM columns. */
void tl_out_text_comm(const struct tl_output *out, struct tl_textbuf *tb,
		      const struct tl_owner *o);

/* A CSV cell of free text: control bytes '?', formulas defused, quoted
 * when needed. */
void tl_out_csv_str(struct tl_textbuf *tb, const char *s, size_t max);

/* The cgroup and container of a socket (cgout.c): JSON ,"cgroup_id":..,
 * "cgroup":..,"container":.. (nothing when the cgroup is not known); CSV
 * ,path,container; text, after padding the column begun at col_start to
 * col_w, the container's short id, else the path ("-": not known). */
void tl_out_json_cgroup(const struct tl_output *out, struct tl_textbuf *tb, uint64_t cgroup);
void tl_out_csv_cgroup(const struct tl_output *out, struct tl_textbuf *tb, uint64_t cgroup);
void tl_out_text_cgroup(const struct tl_output *out, struct tl_textbuf *tb, size_t col_start,
			int col_w, uint64_t cgroup);

#endif /* TCPLINGER_OUTPARTS_H */
