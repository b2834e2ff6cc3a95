/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What is open now, for the summaries: per state, how many sockets are in
 * it and how long they have been there, and for the lingering states
 * (FIN_WAIT2, CLOSE_WAIT, TIME_WAIT) who holds them, on which local ports
 * and towards which peers.  Summaries of ended lifecycles alone said
 * "TIME_WAIT 0" while thousands sat in it.
 */
#ifndef TCPLINGER_OPENSUM_H
#define TCPLINGER_OPENSUM_H

#include <stdbool.h>
#include <stdint.h>
#include "hist.h"
#include "lifecycle.h"

#define TL_OPEN_TOP 5		/* entries in each top list */

/* What the top lists count by; a key holds the fields of all three. */
enum tl_open_by {
	TL_OPEN_BY_OWNER,
	TL_OPEN_BY_LPORT,
	TL_OPEN_BY_REMOTE,
	TL_OPEN_BY_MAX,
};

struct tl_open_key {
	struct tl_owner owner;
	uint16_t lport;
	uint16_t rport;
	uint8_t family;
	uint8_t raddr[16];
};

struct tl_open_count {
	struct tl_open_key key;
	uint64_t count;
};

/* Most sockets first; equal counts in key order. */
struct tl_open_top {
	int n[TL_OPEN_BY_MAX];
	struct tl_open_count top[TL_OPEN_BY_MAX][TL_OPEN_TOP];
};

struct tl_open_state {
	struct tl_hist age;	/* time in the state so far, one per socket */
	bool lower_bound;	/* some ages are lower bounds: sockets still in
				 * the state they were in when tracing began */
};

struct tl_opensum {
	uint64_t sockets;
	struct tl_open_state state[TL_TCP_MAX_STATES];
	struct tl_open_top top[3];	/* by index in tl_summary_headline */
	/* the headline states' sockets, until tl_opensum_rank() counts them */
	struct tl_open_sample *samples;
	size_t nsamples, cap;
	bool incomplete_top;	/* out of memory: top lists miss sockets */
};

void tl_opensum_reset(struct tl_opensum *o);
/* One open lifecycle as tl_engine_each_open() gives it. */
void tl_opensum_add(struct tl_opensum *o, const struct tl_lifecycle *lc);
/* Makes the top lists out of what was added; frees the samples. */
void tl_opensum_rank(struct tl_opensum *o);
void tl_opensum_free(struct tl_opensum *o);
/* reset, then add every open connection of e at now_ns owned by pid (0: any) */
void tl_opensum_gather(struct tl_opensum *o, struct tl_engine *e, uint64_t now_ns, long pid);
/* gather, then rank */
void tl_opensum_collect(struct tl_opensum *o, struct tl_engine *e, uint64_t now_ns, long pid);

/* The sockets of the headline states that share a key (its `by` fields),
 * for a live view that sorts them. */
struct tl_open_group {
	struct tl_open_key key;
	uint64_t count[3];	/* by index in tl_summary_headline */
	uint64_t total;
	uint64_t p99_ns, max_ns;	/* their time in the state so far (nearest rank) */
	bool lower_bound;	/* some ages are lower bounds */
};

enum tl_open_sort {
	TL_OPEN_SORT_COUNT,
	TL_OPEN_SORT_MAX_AGE,
	TL_OPEN_SORT_P99_AGE,
	TL_OPEN_SORT_MAX,
};

/* Between tl_opensum_add() (or _gather()) and tl_opensum_rank(): the first
 * max groups by `by`, largest `sort` first (ties: most sockets, then key
 * order), into out.  Returns how many groups there are in all. */
size_t tl_opensum_groups(struct tl_opensum *o, enum tl_open_by by, enum tl_open_sort sort,
			 struct tl_open_group *out, size_t max);

struct tl_textbuf;
/* "Open now" table and top lists, for the text summary. */
void tl_opensum_text(struct tl_textbuf *tb, const struct tl_opensum *o);
/* A top list entry's key as text: "4321 app", "8080", "10.0.0.1:80" or
 * "[::1]:80". */
void tl_opensum_key_text(struct tl_textbuf *tb, enum tl_open_by by, const struct tl_open_key *k);
/* ,"open":{"TIME_WAIT":{...},...} to append to the JSON summary object. */
void tl_opensum_json(struct tl_textbuf *tb, const struct tl_opensum *o);

#endif /* TCPLINGER_OPENSUM_H */
