/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The lifecycle engine's records, one per connection, kept small: 104
 * bytes.  What connections share (addresses, owners) is interned and named
 * by an index; the times of path states take 32 bits until one needs
 * more; what few records need (long paths, a timewait entry waiting out
 * a cancel) is kept beside them.  Only lifecycle.c uses them.
 */
#ifndef TCPLINGER_RECORDS_H
#define TCPLINGER_RECORDS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "intern.h"
#include "lifecycle.h"
#include "pool.h"
#include "sidemap.h"

#define TL_REC_NONE TL_POOL_NONE

/* Record flags. */
enum {
	C_LISTENER = 1 << 0,	/* a listening socket: not a connection */
	C_SEEDED = 1 << 1,
	C_START_INEXACT = 1 << 2,
	C_GAP = 1 << 3,		/* missed events: end cannot be trusted */
	C_RESET_RECV = 1 << 4,
	C_RESET_SENT = 1 << 5,
	C_ORPHAN = 1 << 6,
	C_TW_FULL = 1 << 7,
	C_IN_TUPLES = 1 << 8,	/* present in the tuple map */
	C_ENDING = 1 << 9,	/* on the pending list, waiting out the grace */
	C_TW_CANCELLED = 1 << 10, /* ending because the tw timer was cancelled */
	C_EVICTED = 1 << 11,
	C_WIDE = 1 << 12,	/* path times are in the wide side map */
	C_OWNERLESS = 1 << 13,	/* seeded with no process holding it */
};

/* Path states whose times the record keeps itself: a path of TIME_WAIT
 * (SYN_SENT ... TIME_WAIT, CLOSED) finishes five.  Longer paths, and
 * times past 32 bits, move to the wide side map (C_WIDE). */
#define TL_REC_DURS 5

struct conn {
	uint64_t sk_id;		/* full socket id, 0 once it became a tw sock */
	uint64_t tw_id;		/* timewait sock id, 0 until tcp_time_wait() */
	uint64_t number;	/* the lifecycle's conn, 1, 2, 3...; 0: a free record */
	uint64_t start_ns;
	uint64_t enter_ns;	/* entry into the current state */
	union {
		/* Seeded and not ending: when; queued events older are in it. */
		uint64_t seed_ns;
		/* Ending (C_ENDING) or ended: when.  A record that is neither
		 * has end TL_END_NONE. */
		uint64_t end_ns;
	};
	/* Time in each finished path state, up to TL_REC_DURS of them.  Most
	 * last well under 4 s; a sum past 32 bits moves them all to the wide
	 * side map (C_WIDE). */
	uint32_t dur[TL_REC_DURS];
	uint32_t prev, next;	/* LRU list while open, pending list while ending */
	uint32_t laddr, raddr;	/* interned struct tl_addr_key; NONE while unset */
	uint32_t owner;		/* interned struct tl_owner_key; NONE: not known yet */
	uint16_t sport, dport;
	uint16_t flags;
	uint8_t path[TL_MAX_PATH];	/* the current state is path[npath - 1] */
	uint8_t npath : 4;
	uint8_t end : 4;	/* enum tl_end once known for sure */
	uint8_t last_full_state; /* full socket's state when it went ->CLOSE */
};

_Static_assert(sizeof(struct conn) == 104, "a record is 104 bytes");
_Static_assert(TL_MAX_PATH < 16 && TL_END_MAX <= 16, "npath and end take 4 bits");

static inline uint8_t tl_rec_state(const struct conn *c)
{
	return c->path[c->npath - 1];
}

/* Interned keys are made of whole words: hashing reads back what was just
 * stored the same way, which the CPU forwards at no cost. */

/* An address as records share it: the same one in another netns is
 * another key. */
struct tl_addr_key {
	uint64_t ns;		/* family | netns << 32 */
	uint64_t addr[2];
};

/* Who a socket belongs to: its owner process (pid -1: not known yet)
 * and its cgroup (0: not known), interned together since most of a
 * process's sockets share both. */
struct tl_owner_key {
	uint64_t comm[2];	/* its last byte NUL */
	int64_t pid;
	uint64_t cgroup;
};

struct tl_records {
	struct tl_pool pool;	/* struct conn */
	struct tl_intern addrs;	/* struct tl_addr_key */
	struct tl_intern owners; /* struct tl_owner_key */
	struct tl_sidemap wide;	/* uint64_t[TL_MAX_PATH]: path times past 32 bits */
	struct tl_sidemap tw_entry; /* uint64_t: a cancelled tw sock's silent
				     * TIME_WAIT entry (C_TW_CANCELLED) */
};

void tl_records_init(struct tl_records *r);
void tl_records_free(struct tl_records *r);
/* Forgets every record at once; the memory is kept for more. */
void tl_records_clear(struct tl_records *r);
/* A record set to zero, tuple and owner unset; TL_REC_NONE without
 * memory. */
uint32_t tl_records_alloc(struct tl_records *r);
void tl_records_release(struct tl_records *r, uint32_t i);

static inline struct conn *tl_rec(const struct tl_records *r, uint32_t i)
{
	return (struct conn *)r->pool.chunks[i >> TL_POOL_CHUNK_SHIFT] + (i & (TL_POOL_CHUNK - 1));
}

/* ---- tuple: two interned addresses and the ports */

/* The event's tuple becomes the record's; false (nothing changed) without
 * memory. */
bool tl_rec_set_tuple(struct tl_records *r, struct conn *c, const struct tl_event *ev);
void tl_rec_tuple(const struct tl_records *r, const struct conn *c, struct tl_tuple *t);

static inline uint64_t tl_rec_ns_word(const struct tl_event *ev)
{
	return ev->family | (uint64_t)ev->netns << 32;
}

static inline bool tl_rec_addr_is(const struct tl_records *r, uint32_t ix, uint64_t ns,
				  const uint8_t *addr)
{
	const struct tl_addr_key *k = tl_intern_key(&r->addrs, ix);
	uint64_t a[2];

	memcpy(a, addr, 16);
	return !((k->ns ^ ns) | (k->addr[0] ^ a[0]) | (k->addr[1] ^ a[1]));
}

/* Whether the record has the event's tuple (every event asks). */
static inline bool tl_rec_tuple_is(const struct tl_records *r, const struct conn *c,
				   const struct tl_event *ev)
{
	uint64_t ns = tl_rec_ns_word(ev);

	return c->sport == ev->sport && c->dport == ev->dport &&
	       tl_rec_addr_is(r, c->laddr, ns, ev->saddr) &&
	       tl_rec_addr_is(r, c->raddr, ns, ev->daddr);
}

/* A hash of the record's tuple: interned addresses are equal when their
 * indices are. */
uint64_t tl_rec_tuple_key(const struct conn *c);
/* The same hash for the event's tuple; false if no record can have it. */
bool tl_rec_event_tuple_key(const struct tl_records *r, const struct tl_event *ev, uint64_t *key);

/* ---- owner */

static inline int32_t tl_rec_owner_pid(const struct tl_records *r, const struct conn *c)
{
	if (c->owner == TL_REC_NONE)
		return -1;
	return (int32_t)((const struct tl_owner_key *)tl_intern_key(&r->owners, c->owner))->pid;
}

static inline uint64_t tl_rec_cgroup(const struct tl_records *r, const struct conn *c)
{
	if (c->owner == TL_REC_NONE)
		return 0;
	return ((const struct tl_owner_key *)tl_intern_key(&r->owners, c->owner))->cgroup;
}

/* The record's cgroup (its owner kept; as it was without memory). */
void tl_rec_set_cgroup(struct tl_records *r, struct conn *c, uint64_t cgroup);

/* The event's process owns the record (its cgroup kept; as it was
 * without memory). */
void tl_rec_set_owner(struct tl_records *r, struct conn *c, const struct tl_event *ev);
void tl_rec_owner(const struct tl_records *r, const struct conn *c, struct tl_owner *o);

/* ---- path times */

void tl_rec_add_wide_time(struct tl_records *r, uint32_t i, struct conn *c, int k, uint64_t ns);

/* Adds ns to the time of path state k of record i. */
static inline void tl_rec_add_time(struct tl_records *r, uint32_t i, struct conn *c, int k,
				   uint64_t ns)
{
	if (!(c->flags & C_WIDE) && k < TL_REC_DURS && c->dur[k] + ns <= UINT32_MAX)
		c->dur[k] = (uint32_t)(c->dur[k] + ns);
	else
		tl_rec_add_wide_time(r, i, c, k, ns);
}

/* The times of record i's path states: times[k], or tl_rec_dur() if NULL. */
static inline const uint64_t *tl_rec_wide_times(const struct tl_records *r, uint32_t i,
						const struct conn *c)
{
	return c->flags & C_WIDE ? tl_sidemap_get(&r->wide, i) : NULL;
}

/* The time of path state k of a record without wide times. */
static inline uint64_t tl_rec_dur(const struct conn *c, int k)
{
	return k < TL_REC_DURS ? c->dur[k] : 0;
}

/* ---- a cancelled tw sock's silent TIME_WAIT entry (0: none) */

void tl_rec_set_tw_entry(struct tl_records *r, uint32_t i, uint64_t ns);
uint64_t tl_rec_tw_entry(const struct tl_records *r, uint32_t i);

#endif /* TCPLINGER_RECORDS_H */
