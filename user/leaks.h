/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CLOSE_WAIT leak report: sockets whose peer closed long ago while the
 * application never did, grouped by owner process, the code path that
 * made the socket and whether the application read the EOF; each group
 * with a one-line diagnosis.  Built from the engine's open lifecycles.
 */
#ifndef TCPLINGER_LEAKS_H
#define TCPLINGER_LEAKS_H

#include <stdbool.h>
#include <stdint.h>
#include "idmap.h"
#include "intern.h"
#include "lifecycle.h"

struct tl_leak_group {
	struct tl_owner owner;	/* pid -1: not known */
	uint8_t created_by;	/* TL_OWN_CONNECT, TL_OWN_ACCEPT or 0 */
	uint32_t stack;		/* where it was made (stack reference, 0 none) */
	bool eof_seen;
	uint64_t count;
	/* The oldest socket of the group, as an example. */
	uint64_t oldest_ns;	/* its time in CLOSE_WAIT so far */
	bool oldest_exact;	/* false: a lower bound (it predates the trace) */
	uint64_t conn;
	struct tl_tuple tuple;
	struct tl_usage usage;	/* zeroed, pid -1s, if none was known */
	bool holders_known;	/* usage.holders come from the newest scan */
	char diagnosis[320];
};

struct tl_leaks {
	uint64_t min_age_ns;
	uint64_t last_scan;	/* holders from older scans are stale */
	struct tl_leak_group *groups;
	uint32_t ngroups;
	size_t cap;
	uint64_t sockets;
	/* Groups by key: one lookup per socket, not a walk of them all. */
	struct tl_intern keys;	/* struct tl_leak_key */
	struct tl_idmap by_key;	/* key index -> group index */
};

void tl_leaks_init(struct tl_leaks *L, uint64_t min_age_ns, uint64_t last_scan);
/* One open lifecycle; kept if it sits in CLOSE_WAIT for min_age_ns or more. */
void tl_leaks_add(struct tl_leaks *L, const struct tl_lifecycle *lc);
/* Sorts the groups (most sockets, then oldest, first) and writes their
 * diagnoses. */
void tl_leaks_finish(struct tl_leaks *L);
/* Keeps only the groups owned by pid (0: all), in their order. */
void tl_leaks_only_pid(struct tl_leaks *L, long pid);
void tl_leaks_free(struct tl_leaks *L);
/* init, every open connection of e at now_ns, finish, only_pid: the report
 * as of now_ns; tl_leaks_free() after. */
void tl_leaks_collect(struct tl_leaks *L, struct tl_engine *e, uint64_t now_ns,
		      uint64_t min_age_ns, long pid);

#endif /* TCPLINGER_LEAKS_H */
