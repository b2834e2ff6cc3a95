/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Failed connect() and bind() calls (TL_EV_CONNECT_ERR), one report per
 * (pid, call, errno, address, netns) and second: a flood of 300 errors a
 * second is one line with a count.  Windows close on event time (ticks),
 * so a replay reports the very same lines.
 */
#ifndef TCPLINGER_CONNERR_H
#define TCPLINGER_CONNERR_H

#include <stdbool.h>
#include <stdint.h>
#include "../bpf/events.h"

struct tl_textbuf;

/* Errors of one key within one window. */
struct tl_connerr {
	uint64_t ts_ns;		/* the first one */
	uint64_t count;
	uint32_t pid;
	char comm[TL_COMM_LEN];
	uint32_t err;		/* errno */
	uint8_t call;		/* enum tl_call */
	uint8_t family;
	uint16_t port;		/* connect(): the destination's; bind(): the one asked for */
	uint16_t sport;		/* connect(): the port already bound, 0 if none */
	uint32_t netns;
	uint8_t addr[16];	/* connect(): the destination; bind(): the local address */
};

/* Windows still open, oldest first. */
struct tl_connerrs {
	struct tl_connerr *v;
	uint32_t n, cap;
};

typedef void (*tl_connerr_fn)(const struct tl_connerr *ce, void *ctx);

/* The error as one window's first (count 1). */
void tl_connerr_of(const struct tl_event *ev, struct tl_connerr *ce);
/* Same pid, call, errno, address and netns. */
bool tl_connerr_same(const struct tl_connerr *a, const struct tl_connerr *b);
/* Counts an error in its key's window; reports (fn) a window it closes. */
void tl_connerrs_add(struct tl_connerrs *t, const struct tl_event *ev, tl_connerr_fn fn,
		     void *ctx);
/* Reports and closes the windows a second old at now_ns (all: every one). */
void tl_connerrs_due(struct tl_connerrs *t, uint64_t now_ns, bool all, tl_connerr_fn fn,
		     void *ctx);
void tl_connerrs_free(struct tl_connerrs *t);

/* "EADDRNOTAVAIL", ... or "E<number>". */
const char *tl_errno_name(uint32_t err, char buf[16]);
/* {"type":"connect_error",...} without the newline. */
void tl_connerr_json(struct tl_textbuf *tb, const struct tl_connerr *ce);
/* The text line after its time stamp, without the newline: the wide
 * layout's, or narrow, which leaves out the namespace and cuts COMM to 12
 * to fit 80 columns after an 8-column time. */
void tl_connerr_text_fit(struct tl_textbuf *tb, const struct tl_connerr *ce, bool narrow);

#endif /* TCPLINGER_CONNERR_H */
