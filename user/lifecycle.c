/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Lifecycle engine.  One record per connection, found by the opaque id of
 * its full socket and, once it has one, of its timewait sock; records in
 * FIN_WAIT1/FIN_WAIT2/CLOSING are also found by 4-tuple + netns, which is
 * how the tw sock that tcp_time_wait() creates is joined to them.
 *
 * The kernel arms the tw timer before the full socket reports ->CLOSE, and
 * sends an abortive close's RST after the ->CLOSE, and reports a tw re-arm
 * as cancel + start: so an ending is held for grace_ns of event time before
 * it is reported, to let such companions arrive.
 */
#include <stdlib.h>
#include <string.h>
#include "idmap.h"
#include "lifecycle.h"

#define DEFAULT_MAX_CONNS (1u << 20)
#define DEFAULT_GRACE_NS (5 * 1000 * 1000ULL)
#define NIL UINT32_MAX
#define CHUNK_SHIFT 12
#define CHUNK_LEN (1u << CHUNK_SHIFT)

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
};

struct conn {
	uint64_t sk_id;		/* full socket id, 0 once it became a tw sock */
	uint64_t tw_id;		/* timewait sock id, 0 until tcp_time_wait() */
	uint64_t conn;
	uint64_t start_ns;
	uint64_t enter_ns;	/* entry into the current state */
	uint64_t end_ns;
	union {
		/* Seeded and not ending: when; queued events older are in it. */
		uint64_t seed_ns;
		/* Ending by a tw cancel from FIN_WAIT2: when TIME_WAIT began. */
		uint64_t tw_entry_ns;
	};
	uint64_t dur[TL_MAX_PATH];	/* time in each finished path state */
	uint8_t path[TL_MAX_PATH];
	uint8_t npath;
	uint8_t state;		/* current state: path[npath - 1] */
	uint8_t last_full_state; /* full socket's state when it went ->CLOSE */
	uint8_t end;		/* enum tl_end once known for sure */
	uint32_t flags;
	uint32_t prev, next;	/* LRU list while open, pending list while ending */
	struct tl_tuple tuple;
	struct tl_owner owner;
};

struct list {
	uint32_t head, tail;
};

struct tl_engine {
	struct tl_engine_opts opts;
	struct tl_engine_sink sink;
	struct conn **chunks;		/* records, CHUNK_LEN a chunk: growing never
					 * copies them nor doubles the memory */
	uint32_t nchunks;
	uint32_t nconns, capconns;	/* slots in use / allocated */
	uint32_t free_head;		/* free slots, chained through next */
	struct tl_idmap ids;		/* sk_id / tw_id -> slot */
	struct tl_idmap tuples;		/* tuple hash -> slot (closing states) */
	struct list lru;		/* open records, least recently used first */
	struct list pending;		/* ending records, oldest first */
	struct tl_idmap usage_ix;	/* record slot -> index in usages: kept
					 * aside, records pay nothing without it */
	struct tl_usage *usages;	/* leak hunting only */
	uint32_t nusages, capusages;
	uint32_t *free_usages;		/* indices to reuse */
	uint32_t nfree_usages;
	uint64_t last_scan;
	uint64_t clock;			/* newest event time seen */
	uint64_t next_conn;
	struct tl_engine_stats stats;
};

static inline struct conn *at(const struct tl_engine *e, uint32_t i)
{
	return &e->chunks[i >> CHUNK_SHIFT][i & (CHUNK_LEN - 1)];
}

static bool is_closing_state(int s)
{
	return s == TL_TCP_FIN_WAIT1 || s == TL_TCP_FIN_WAIT2 || s == TL_TCP_CLOSING;
}

/* ---- lists ---------------------------------------------------------- */

static void list_push(struct tl_engine *e, struct list *l, uint32_t i)
{
	struct conn *c = at(e, i);

	c->prev = l->tail;
	c->next = NIL;
	if (l->tail != NIL)
		at(e, l->tail)->next = i;
	else
		l->head = i;
	l->tail = i;
}

static void list_del(struct tl_engine *e, struct list *l, uint32_t i)
{
	struct conn *c = at(e, i);

	if (c->prev != NIL)
		at(e, c->prev)->next = c->next;
	else
		l->head = c->next;
	if (c->next != NIL)
		at(e, c->next)->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NIL;
}

static struct list *list_of(struct tl_engine *e, const struct conn *c)
{
	return (c->flags & C_ENDING) ? &e->pending : &e->lru;
}

/* ---- tuple key ------------------------------------------------------ */

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t tuple_key(const struct tl_tuple *t)
{
	uint64_t h = mix64(((uint64_t)t->family << 48) ^ ((uint64_t)t->sport << 32) ^
			   ((uint64_t)t->dport << 16) ^ t->netns);
	uint64_t w;

	for (int i = 0; i < 16; i += 8) {
		memcpy(&w, t->saddr + i, 8);
		h = mix64(h ^ w);
		memcpy(&w, t->daddr + i, 8);
		h = mix64(h + w);
	}
	return h;
}

static bool tuple_eq(const struct tl_tuple *a, const struct tl_tuple *b)
{
	return a->family == b->family && a->sport == b->sport && a->dport == b->dport &&
	       a->netns == b->netns && !memcmp(a->saddr, b->saddr, 16) &&
	       !memcmp(a->daddr, b->daddr, 16);
}

static void tuple_from_event(struct tl_tuple *t, const struct tl_event *ev)
{
	t->family = ev->family;
	t->sport = ev->sport;
	t->dport = ev->dport;
	t->netns = ev->netns;
	memcpy(t->saddr, ev->saddr, 16);
	memcpy(t->daddr, ev->daddr, 16);
}

static void tuples_del(struct tl_engine *e, uint32_t i)
{
	struct conn *c = at(e, i);
	uint32_t cur;
	uint64_t k;

	if (!(c->flags & C_IN_TUPLES))
		return;
	k = tuple_key(&c->tuple);
	if (tl_idmap_get(&e->tuples, k, &cur) && cur == i)
		tl_idmap_del(&e->tuples, k);
	c->flags &= ~C_IN_TUPLES;
}

/* Keep the tuple map holding exactly the records a tw sock may join. */
static void tuples_sync(struct tl_engine *e, uint32_t i)
{
	struct conn *c = at(e, i);
	bool want = is_closing_state(c->state) && !c->tw_id && !(c->flags & C_ENDING);

	if (!want) {
		tuples_del(e, i);
		return;
	}
	if (c->flags & C_IN_TUPLES)
		return;
	if (tl_idmap_put(&e->tuples, tuple_key(&c->tuple), i))
		c->flags |= C_IN_TUPLES;
}

/* ---- records -------------------------------------------------------- */

static struct conn *lookup_id(struct tl_engine *e, uint64_t id, uint32_t *idx)
{
	if (!id || !tl_idmap_get(&e->ids, id, idx))
		return NULL;
	return at(e, *idx);
}

static void map_id(struct tl_engine *e, uint64_t id, uint32_t i)
{
	if (id)
		tl_idmap_put(&e->ids, id, i);
}

static void unmap_id(struct tl_engine *e, uint64_t id, uint32_t i)
{
	uint32_t cur;

	if (id && tl_idmap_get(&e->ids, id, &cur) && cur == i)
		tl_idmap_del(&e->ids, id);
}

static void release(struct tl_engine *e, uint32_t i)
{
	struct conn *c = at(e, i);

	list_del(e, list_of(e, c), i);
	unmap_id(e, c->sk_id, i);
	unmap_id(e, c->tw_id, i);
	tuples_del(e, i);
	if (e->usage_ix.len) {
		uint32_t u;

		if (tl_idmap_get(&e->usage_ix, i, &u)) {
			e->free_usages[e->nfree_usages++] = u;
			tl_idmap_del(&e->usage_ix, i);
		}
	}
	c->flags = 0;
	c->next = e->free_head;
	e->free_head = i;
	e->nconns--;
	e->stats.open = e->nconns;
}

static void fill_lifecycle(const struct tl_engine *e, uint32_t i, uint64_t now,
			   struct tl_lifecycle *lc)
{
	const struct conn *c = at(e, i);
	bool ended = c->state == TL_STATE_CLOSED;
	int n = c->npath;
	uint32_t u;

	memset(lc, 0, sizeof(*lc));
	if (e->usage_ix.len && tl_idmap_get(&e->usage_ix, i, &u))
		lc->usage = &e->usages[u];
	lc->conn = c->conn;
	lc->tuple = c->tuple;
	lc->owner = c->owner;
	lc->start_ns = c->start_ns;
	lc->end_ns = ended ? c->end_ns : (now > c->start_ns ? now : c->start_ns);
	for (int k = 0; k < n; k++) {
		uint64_t ns = c->dur[k];

		if (k == n - 1 && !ended && lc->end_ns > c->enter_ns)
			ns += lc->end_ns - c->enter_ns;
		lc->states[k].state = c->path[k];
		lc->states[k].ns = ns;
		if (c->path[k] == TL_TCP_FIN_WAIT2)
			lc->fin_wait2_ns += ns;
		else if (c->path[k] == TL_TCP_CLOSE_WAIT)
			lc->close_wait_ns += ns;
		else if (c->path[k] == TL_TCP_TIME_WAIT)
			lc->time_wait_ns += ns;
	}
	lc->nstates = n;
	lc->end = ended && !(c->flags & C_GAP) ? c->end : TL_END_UNKNOWN;
	lc->complete = lc->end != TL_END_UNKNOWN;
	lc->seeded = c->flags & C_SEEDED;
	lc->start_exact = !(c->flags & C_START_INEXACT);
	lc->gap = c->flags & C_GAP;
	lc->evicted = c->flags & C_EVICTED;
}

/* Reports the record (unless it is a listener nobody asked for) and frees it. */
static void report(struct tl_engine *e, uint32_t i, uint64_t now)
{
	struct conn *c = at(e, i);

	if (!(c->flags & C_LISTENER) || e->opts.listeners) {
		struct tl_lifecycle lc;

		fill_lifecycle(e, i, now, &lc);
		if (c->flags & C_EVICTED)
			e->stats.evicted++;
		e->stats.ended++;
		if (e->sink.lifecycle)
			e->sink.lifecycle(&lc, e->sink.ctx);
	}
	release(e, i);
}

static void enter(struct tl_engine *e, uint32_t i, int state, uint64_t ts);

/* Why a full socket's ->CLOSE ended its life, now that late RSTs are in. */
static enum tl_end close_reason(const struct conn *c)
{
	if (c->flags & C_TW_CANCELLED)
		return TL_END_TW_KILLED;
	if ((c->flags & C_RESET_SENT) && !(c->flags & C_RESET_RECV) &&
	    c->last_full_state == TL_TCP_FIN_WAIT2 && (c->flags & C_ORPHAN))
		return TL_END_FIN_TIMEOUT;	/* tcp_keepalive_timer gave up on it */
	if (c->flags & (C_RESET_SENT | C_RESET_RECV))
		return TL_END_RESET;
	if ((c->flags & C_TW_FULL) && is_closing_state(c->last_full_state))
		return TL_END_TW_OVERFLOW;
	return TL_END_CLOSED;
}

static void settle(struct tl_engine *e, uint32_t i)
{
	struct conn *c = at(e, i);

	if (c->flags & C_TW_CANCELLED) {
		if (c->tw_entry_ns)
			enter(e, i, TL_TCP_TIME_WAIT, c->tw_entry_ns);
		enter(e, i, TL_STATE_CLOSED, c->end_ns);
	}
	if (c->end == TL_END_NONE)
		c->end = close_reason(c);
	report(e, i, c->end_ns);
}

/* Reports every ending record whose grace ran out by 'now'. */
static void settle_due(struct tl_engine *e, uint64_t now)
{
	while (e->pending.head != NIL) {
		uint32_t i = e->pending.head;

		if (at(e, i)->end_ns + e->opts.grace_ns > now)
			break;
		settle(e, i);
	}
}

static void evict_one(struct tl_engine *e)
{
	if (e->pending.head != NIL) {
		settle(e, e->pending.head);
		return;
	}
	if (e->lru.head != NIL) {
		at(e, e->lru.head)->flags |= C_EVICTED;
		report(e, e->lru.head, e->clock);
	}
}

static uint32_t alloc_conn(struct tl_engine *e)
{
	uint32_t i;

	while (e->nconns >= e->opts.max_conns)
		evict_one(e);
	if (e->free_head != NIL) {
		i = e->free_head;
		e->free_head = at(e, i)->next;
	} else {
		if (e->capconns == e->nconns) {
			struct conn **nc = realloc(e->chunks, (e->nchunks + 1) * sizeof(*nc));

			if (!nc)
				return NIL;
			e->chunks = nc;
			nc[e->nchunks] = malloc(CHUNK_LEN * sizeof(struct conn));
			if (!nc[e->nchunks])
				return NIL;
			e->nchunks++;
			e->capconns += CHUNK_LEN;
		}
		i = e->nconns;	/* no free slot: all below nconns are in use */
	}
	memset(at(e, i), 0, sizeof(struct conn));
	at(e, i)->owner.pid = -1;
	at(e, i)->conn = ++e->next_conn;
	e->nconns++;
	e->stats.open = e->nconns;
	if (e->nconns > e->stats.peak_open)
		e->stats.peak_open = e->nconns;
	list_push(e, &e->lru, i);
	return i;
}

static uint32_t new_conn(struct tl_engine *e, const struct tl_event *ev, int state, uint64_t start)
{
	uint32_t i = alloc_conn(e);
	struct conn *c;

	if (i == NIL)
		return NIL;
	c = at(e, i);
	tuple_from_event(&c->tuple, ev);
	c->start_ns = c->enter_ns = start;
	c->path[0] = c->state = (uint8_t)state;
	c->npath = 1;
	return i;
}

static void touch(struct tl_engine *e, uint32_t i)
{
	if (!(at(e, i)->flags & C_ENDING) && e->lru.tail != i) {
		list_del(e, &e->lru, i);
		list_push(e, &e->lru, i);
	}
}

static void take_owner(struct conn *c, const struct tl_event *ev)
{
	if (c->owner.pid >= 0 || !(ev->flags & TL_F_IN_TASK) || !ev->pid)
		return;
	c->owner.pid = (int32_t)ev->pid;
	memcpy(c->owner.comm, ev->comm, TL_COMM_LEN);
	c->owner.comm[TL_COMM_LEN - 1] = '\0';
}

static void emit_transition(struct tl_engine *e, const struct conn *c, uint64_t ts,
			    int old, int new, uint64_t in_old)
{
	struct tl_transition t;

	if (!e->sink.transition || ((c->flags & C_LISTENER) && !e->opts.listeners))
		return;
	t.ts_ns = ts;
	t.conn = c->conn;
	t.tuple = c->tuple;
	t.owner = c->owner;
	t.old_state = (uint8_t)old;
	t.new_state = (uint8_t)new;
	t.in_old_ns = in_old;
	e->sink.transition(&t, e->sink.ctx);
}

/* Moves the record into 'state' at ts, reporting the transition.  Entering
 * TL_STATE_CLOSED shows as "->CLOSE", the kernel's name for it. */
static void enter(struct tl_engine *e, uint32_t i, int state, uint64_t ts)
{
	struct conn *c = at(e, i);
	uint64_t in_old = ts > c->enter_ns ? ts - c->enter_ns : 0;
	int old = c->state;

	c->dur[c->npath - 1] += in_old;
	if (c->npath == TL_MAX_PATH) {
		/* A path this long is not TCP as we know it: the last slot
		 * takes the new state and keeps the time of those it replaced. */
		c->flags |= C_GAP;
		c->path[c->npath - 1] = (uint8_t)state;
	} else {
		c->path[c->npath++] = (uint8_t)state;
	}
	c->state = (uint8_t)state;
	c->enter_ns = ts;
	emit_transition(e, c, ts, old, state == TL_STATE_CLOSED ? TL_TCP_CLOSE : state, in_old);
	tuples_sync(e, i);
}

/* The record's socket is gone as of ts; report once the grace is over.
 * A cancelled tw timer is not shown as ->CLOSE until then: it may be a
 * re-arm. */
static void begin_ending(struct tl_engine *e, uint32_t i, uint64_t ts)
{
	struct conn *c = at(e, i);

	if (!(c->flags & C_TW_CANCELLED))
		enter(e, i, TL_STATE_CLOSED, ts);
	c->end_ns = ts;
	list_del(e, &e->lru, i);
	c->flags |= C_ENDING;
	tuples_del(e, i);
	list_push(e, &e->pending, i);
}

static void end_now(struct tl_engine *e, uint32_t i, uint64_t ts, enum tl_end why)
{
	struct conn *c = at(e, i);

	enter(e, i, TL_STATE_CLOSED, ts);
	c->end_ns = ts;
	c->end = (uint8_t)why;
	report(e, i, ts);
}

/* A record found by an id the kernel has reused for a new socket: whatever
 * we did not see of its end, it is over. */
static void drop_stale(struct tl_engine *e, uint32_t i)
{
	struct conn *c = at(e, i);

	if (c->flags & C_ENDING) {
		settle(e, i);
		return;
	}
	c->flags |= C_GAP;
	e->stats.gaps++;
	report(e, i, e->clock);
}

static bool starts_lifecycle(const struct tl_event *ev)
{
	return (ev->old_state == TL_TCP_CLOSE &&
		(ev->new_state == TL_TCP_SYN_SENT || ev->new_state == TL_TCP_LISTEN)) ||
	       ev->new_state == TL_TCP_SYN_RECV;
}

/* ---- event handlers ------------------------------------------------- */

/* Seeds are read before the ring buffer: a queued event older than the
 * seed of its socket is already reflected in it. */
static bool seed_covers(const struct conn *c, const struct tl_event *ev)
{
	return c && (c->flags & C_SEEDED) && c->npath == 1 && !(c->flags & C_ENDING) &&
	       ev->ts_ns <= c->seed_ns;
}

static void on_state(struct tl_engine *e, const struct tl_event *ev)
{
	uint32_t i;
	struct conn *c = lookup_id(e, ev->sk_id, &i);

	if (ev->old_state == ev->new_state || seed_covers(c, ev))
		return;
	if (c && (c->sk_id != ev->sk_id || (c->flags & C_ENDING) || starts_lifecycle(ev))) {
		/* A reused socket address, or a tw id clash: the old record
		 * cannot receive this event. */
		drop_stale(e, i);
		c = NULL;
	}

	if (!c) {
		bool listener = ev->new_state == TL_TCP_LISTEN || ev->old_state == TL_TCP_LISTEN;
		bool fresh = starts_lifecycle(ev) || listener;

		if (ev->new_state == TL_TCP_CLOSE)
			return;	/* the end of something we never saw begin */
		if (ev->new_state == TL_TCP_SYN_RECV)
			listener = false;
		i = new_conn(e, ev, fresh ? ev->new_state : ev->old_state, ev->ts_ns);
		if (i == NIL)
			return;
		c = at(e, i);
		c->sk_id = ev->sk_id;
		map_id(e, ev->sk_id, i);
		if (listener)
			c->flags |= C_LISTENER;
		take_owner(c, ev);
		if (fresh) {
			emit_transition(e, c, ev->ts_ns, ev->old_state, ev->new_state, 0);
			tuples_sync(e, i);
			return;
		}
		/* First seen mid-life: its state so far has unknown length,
		 * and what came before was missed. */
		c->flags |= C_START_INEXACT | C_GAP;
		e->stats.gaps++;
	}

	take_owner(c, ev);
	if (ev->flags & TL_F_ORPHAN)
		c->flags |= C_ORPHAN;
	touch(e, i);

	if (c->tw_id && ev->new_state == TL_TCP_CLOSE) {
		/* tcp_time_wait() handed over to the tw sock we already joined:
		 * the full socket goes away, the lifecycle goes on. */
		unmap_id(e, c->sk_id, i);
		c->sk_id = 0;
		return;
	}
	/* The full socket knows its final ports (connect() binds after
	 * CLOSE->SYN_SENT is reported). */
	if (ev->sport || ev->dport) {
		struct tl_tuple t;

		tuple_from_event(&t, ev);
		if (!tuple_eq(&t, &c->tuple)) {
			tuples_del(e, i);
			c->tuple = t;
		}
	}
	if (c->state != ev->old_state) {
		c->flags |= C_GAP;
		e->stats.gaps++;
	}
	if (ev->new_state == TL_TCP_CLOSE) {
		c->last_full_state = ev->old_state;
		if (ev->flags & TL_F_TW_FULL)
			c->flags |= C_TW_FULL;
		begin_ending(e, i, ev->ts_ns);
		return;
	}
	enter(e, i, ev->new_state, ev->ts_ns);
	if (ev->new_state == TL_TCP_LISTEN)
		c->flags |= C_LISTENER;
}

static void on_reset(struct tl_engine *e, const struct tl_event *ev)
{
	uint32_t i;
	struct conn *c = lookup_id(e, ev->sk_id, &i);

	if (!c || c->sk_id != ev->sk_id)
		return;
	c->flags |= ev->type == TL_EV_RESET_RECV ? C_RESET_RECV : C_RESET_SENT;
}

/* When a tw sock in the FIN_WAIT2 substate is seen in TIME_WAIT, the
 * kernel re-armed its timer without a trace; ev->aux (time since it was
 * armed for TIME_WAIT) tells when.  Returns 0 if nothing was missed. */
static uint64_t silent_time_wait_entry(const struct conn *c, const struct tl_event *ev)
{
	uint64_t at;

	if (c->state != TL_TCP_FIN_WAIT2 || ev->new_state != TL_TCP_TIME_WAIT)
		return 0;
	at = ev->ts_ns > ev->aux ? ev->ts_ns - ev->aux : 0;
	if (at < c->enter_ns)
		at = c->enter_ns;
	return at ? at : 1;
}

/* The tw timer's cancel was not a kill after all: the tw sock lives on. */
static void undo_cancel(struct tl_engine *e, uint32_t i)
{
	struct conn *c = at(e, i);

	list_del(e, &e->pending, i);
	c->flags &= ~(C_TW_CANCELLED | C_ENDING);
	c->end_ns = c->tw_entry_ns = 0;
	list_push(e, &e->lru, i);
}

static void on_tw_start(struct tl_engine *e, const struct tl_event *ev)
{
	struct tl_tuple t;
	uint32_t i;
	struct conn *c = lookup_id(e, ev->sk_id, &i);

	if (seed_covers(c, ev))
		return;
	if (c && c->tw_id == ev->sk_id && (ev->flags & TL_F_REARM)) {
		/* Only a re-arm: the tw sock lives on, maybe in a new substate. */
		if (c->flags & C_TW_CANCELLED)
			undo_cancel(e, i);
		if (c->state != ev->new_state)
			enter(e, i, ev->new_state, ev->ts_ns);
		touch(e, i);
		return;
	}
	if (c)
		drop_stale(e, i);	/* a new tw sock at a recycled address */

	tuple_from_event(&t, ev);
	c = NULL;
	if (tl_idmap_get(&e->tuples, tuple_key(&t), &i) && tuple_eq(&at(e, i)->tuple, &t))
		c = at(e, i);
	if (c) {
		c->tw_id = ev->sk_id;
		map_id(e, ev->sk_id, i);
		touch(e, i);
		if (c->state != ev->new_state)
			enter(e, i, ev->new_state, ev->ts_ns);
		tuples_sync(e, i);
		return;
	}
	/* A tw sock whose full socket we never saw. */
	i = new_conn(e, ev, ev->new_state, ev->ts_ns);
	if (i == NIL)
		return;
	c = at(e, i);
	c->tw_id = ev->sk_id;
	c->flags |= C_START_INEXACT | C_GAP;
	e->stats.gaps++;
	map_id(e, ev->sk_id, i);
}

static void on_tw_cancel(struct tl_engine *e, const struct tl_event *ev)
{
	uint32_t i;
	struct conn *c = lookup_id(e, ev->sk_id, &i);

	if (!c || c->tw_id != ev->sk_id || (c->flags & C_ENDING) || seed_covers(c, ev))
		return;
	/* Killed, unless a re-arm start follows within the grace. */
	c->flags |= C_TW_CANCELLED;
	c->tw_entry_ns = silent_time_wait_entry(c, ev);
	begin_ending(e, i, ev->ts_ns);
}

static void on_tw_expire(struct tl_engine *e, const struct tl_event *ev)
{
	uint32_t i;
	struct conn *c = lookup_id(e, ev->sk_id, &i);
	uint64_t tw_at;

	if (!c || c->tw_id != ev->sk_id)
		return;
	if (c->flags & C_TW_CANCELLED) {
		/* What looked like a kill was the expiry detaching the timer. */
		undo_cancel(e, i);
	} else if (c->flags & C_ENDING) {
		return;
	}
	tw_at = silent_time_wait_entry(c, ev);
	if (tw_at)
		enter(e, i, TL_TCP_TIME_WAIT, tw_at);
	end_now(e, i, ev->ts_ns, c->state == TL_TCP_FIN_WAIT2 ? TL_END_FIN_TIMEOUT
							       : TL_END_TW_EXPIRED);
}

static void on_seed(struct tl_engine *e, const struct tl_event *ev)
{
	uint32_t i;
	uint64_t start;
	struct conn *c = lookup_id(e, ev->sk_id, &i);

	if (c) {
		/* Live events know this socket better, but a tw sock may have
		 * turned TIME_WAIT silently. */
		uint64_t tw_at = 0;

		if ((ev->flags & TL_F_TW_SOCK) && c->tw_id == ev->sk_id && !(c->flags & C_ENDING))
			tw_at = silent_time_wait_entry(c, ev);
		if (tw_at)
			enter(e, i, TL_TCP_TIME_WAIT, tw_at);
		return;
	}
	if (ev->flags & TL_F_REFRESH)
		return;
	start = ev->ts_ns > ev->aux ? ev->ts_ns - ev->aux : 0;
	i = new_conn(e, ev, ev->new_state, start);
	if (i == NIL)
		return;
	c = at(e, i);
	c->flags |= C_SEEDED;
	c->seed_ns = ev->ts_ns;
	if (!(ev->flags & TL_F_AGE_EXACT))
		c->flags |= C_START_INEXACT;
	if (ev->flags & TL_F_ORPHAN)
		c->flags |= C_ORPHAN;
	if (ev->flags & TL_F_TW_SOCK)
		c->tw_id = ev->sk_id;
	else
		c->sk_id = ev->sk_id;
	if (ev->new_state == TL_TCP_LISTEN)
		c->flags |= C_LISTENER;
	map_id(e, ev->sk_id, i);
	tuples_sync(e, i);
}

/* Record i's usage, made on first need; NULL without memory. */
static struct tl_usage *usage_of(struct tl_engine *e, uint32_t i)
{
	struct tl_usage *u;
	uint32_t k;

	if (tl_idmap_get(&e->usage_ix, i, &k))
		return &e->usages[k];
	if (e->nfree_usages) {
		k = e->free_usages[--e->nfree_usages];
	} else {
		if (e->nusages == e->capusages) {
			uint32_t cap = e->capusages ? e->capusages * 2 : 1024;
			struct tl_usage *nu = realloc(e->usages, cap * sizeof(*nu));
			uint32_t *nf;

			if (!nu)
				return NULL;
			e->usages = nu;
			nf = realloc(e->free_usages, cap * sizeof(*nf));
			if (!nf)
				return NULL;
			e->free_usages = nf;
			e->capusages = cap;
		}
		k = e->nusages++;
	}
	if (!tl_idmap_put(&e->usage_ix, i, k)) {
		e->free_usages[e->nfree_usages++] = k;
		return NULL;
	}
	u = &e->usages[k];
	memset(u, 0, sizeof(*u));
	u->create_fd = -1;
	u->last.pid = -1;
	return u;
}

static void proc_fd(struct tl_proc_fd *p, const struct tl_event *ev, int32_t fd, int32_t ppid)
{
	p->pid = (int32_t)ev->pid;
	p->fd = fd;
	p->ppid = ppid;
	p->cmdline = 0;
	memcpy(p->comm, ev->comm, TL_COMM_LEN);
	p->comm[TL_COMM_LEN - 1] = '\0';
}

static void on_owner(struct tl_engine *e, const struct tl_event *ev)
{
	uint32_t i;
	struct conn *c = lookup_id(e, ev->sk_id, &i);
	struct tl_usage *u;

	if (!c || c->sk_id != ev->sk_id || !(ev->flags & TL_F_IN_TASK) || !ev->pid)
		return;
	if (ev->old_state == TL_OWN_CONNECT || ev->old_state == TL_OWN_ACCEPT) {
		/* the process that made or took the socket is its owner */
		c->owner.pid = (int32_t)ev->pid;
		memcpy(c->owner.comm, ev->comm, TL_COMM_LEN);
		c->owner.comm[TL_COMM_LEN - 1] = '\0';
	} else if (ev->old_state == TL_OWN_IO || ev->old_state == TL_OWN_EOF) {
		take_owner(c, ev);	/* reading and writing is using */
	}
	if (!e->opts.usage)
		return;
	u = usage_of(e, i);
	if (!u)
		return;
	switch (ev->old_state) {
	case TL_OWN_CONNECT:
	case TL_OWN_ACCEPT:
		u->created_by = ev->old_state;
		u->create_stack = TL_OWN_STACK(ev->aux);
		u->create_tid = (int32_t)ev->tid;
		u->create_fd = ev->old_state == TL_OWN_ACCEPT ? TL_OWN_FD(ev->aux) : -1;
		break;
	case TL_OWN_EOF:
		u->eof_seen = true;
		u->eof_ns = ev->ts_ns;
		u->eof_stack = TL_OWN_STACK(ev->aux);
		__attribute__((fallthrough));	/* reading is using */
	case TL_OWN_IO:
		proc_fd(&u->last, ev, -1, 0);
		u->last_tid = (int32_t)ev->tid;
		u->last_ns = ev->ts_ns;
		break;
	case TL_OWN_CLOSE_SHARED:
		if (u->nclosers < TL_USAGE_MAX)
			proc_fd(&u->closers[u->nclosers], ev, TL_OWN_FD(ev->aux),
				(int32_t)TL_OWN_STACK(ev->aux));
		u->nclosers++;
		break;
	default:
		break;
	}
}

/* A /proc scan found ev->pid holding the socket as fd aux. */
static void on_holder(struct tl_engine *e, const struct tl_event *ev)
{
	uint32_t i;
	struct conn *c = lookup_id(e, ev->sk_id, &i);
	struct tl_usage *u;

	if (!c || c->sk_id != ev->sk_id)
		return;
	/* a socket that existed before tracing has no other owner */
	take_owner(c, ev);
	if (!e->opts.usage)
		return;
	u = usage_of(e, i);
	if (!u)
		return;
	if (u->holders_ns != ev->ts_ns) {
		u->holders_ns = ev->ts_ns;
		u->nholders = 0;
	}
	if (u->nholders < TL_USAGE_MAX) {
		proc_fd(&u->holders[u->nholders], ev, TL_OWN_FD(ev->aux), 0);
		u->holders[u->nholders].cmdline = TL_OWN_STACK(ev->aux);
	}
	u->nholders++;
}

static void on_lost(struct tl_engine *e, const struct tl_event *ev)
{
	e->stats.lost += ev->aux;
	/* Any open record may have missed something: none can be trusted. */
	for (uint32_t i = e->lru.head; i != NIL; i = at(e, i)->next)
		at(e, i)->flags |= C_GAP;
	for (uint32_t i = e->pending.head; i != NIL; i = at(e, i)->next)
		at(e, i)->flags |= C_GAP;
}

/* ---- public --------------------------------------------------------- */

struct tl_engine *tl_engine_new(const struct tl_engine_opts *opts,
				const struct tl_engine_sink *sink)
{
	struct tl_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	if (opts)
		e->opts = *opts;
	if (!e->opts.max_conns)
		e->opts.max_conns = DEFAULT_MAX_CONNS;
	if (e->opts.max_conns > NIL - 1)
		e->opts.max_conns = NIL - 1;
	if (!e->opts.grace_ns)
		e->opts.grace_ns = DEFAULT_GRACE_NS;
	if (sink)
		e->sink = *sink;
	e->free_head = NIL;
	e->lru.head = e->lru.tail = NIL;
	e->pending.head = e->pending.tail = NIL;
	return e;
}

void tl_engine_free(struct tl_engine *e)
{
	if (!e)
		return;
	tl_idmap_free(&e->ids);
	tl_idmap_free(&e->tuples);
	tl_idmap_free(&e->usage_ix);
	free(e->usages);
	free(e->free_usages);
	for (uint32_t k = 0; k < e->nchunks; k++)
		free(e->chunks[k]);
	free(e->chunks);
	free(e);
}

void tl_engine_feed(struct tl_engine *e, const struct tl_event *ev)
{
	e->stats.events++;
	/* Seeds are read while the ring fills: their time must not hurry
	 * the endings queued behind them. */
	if (ev->ts_ns > e->clock && ev->type != TL_EV_SEED)
		e->clock = ev->ts_ns;
	/* Endings whose grace ran out before this event come first. */
	settle_due(e, e->clock);

	switch (ev->type) {
	case TL_EV_STATE:
		on_state(e, ev);
		break;
	case TL_EV_TW_START:
		on_tw_start(e, ev);
		break;
	case TL_EV_TW_EXPIRE:
		on_tw_expire(e, ev);
		break;
	case TL_EV_TW_CANCEL:
		on_tw_cancel(e, ev);
		break;
	case TL_EV_RESET_RECV:
	case TL_EV_RESET_SENT:
		on_reset(e, ev);
		break;
	case TL_EV_SEED:
		on_seed(e, ev);
		break;
	case TL_EV_LOST:
		on_lost(e, ev);
		break;
	case TL_EV_OWNER:
		on_owner(e, ev);
		break;
	case TL_EV_HOLDER:
		on_holder(e, ev);
		break;
	case TL_EV_SCAN:
		e->last_scan = ev->ts_ns;
		break;
	case TL_EV_TICK:
	default:
		break;
	}
}

struct open_conn {
	uint64_t conn;
	uint32_t idx;
};

static int by_conn(const void *a, const void *b)
{
	uint64_t x = ((const struct open_conn *)a)->conn, y = ((const struct open_conn *)b)->conn;

	return x < y ? -1 : x > y;
}

/* The open records in creation order, so output is reproducible: the
 * ids sit in the array, sorting touches no record.  NULL without memory. */
static struct open_conn *open_in_order(struct tl_engine *e, uint32_t *n)
{
	struct open_conn *order = malloc(((size_t)e->nconns + 1) * sizeof(*order));

	*n = 0;
	if (!order)
		return NULL;
	for (uint32_t i = e->lru.head; i != NIL; i = at(e, i)->next)
		order[(*n)++] = (struct open_conn){ .conn = at(e, i)->conn, .idx = i };
	qsort(order, *n, sizeof(*order), by_conn);
	return order;
}

void tl_engine_finish(struct tl_engine *e, uint64_t now_ns)
{
	struct open_conn *order;
	uint32_t n;

	if (now_ns < e->clock)
		now_ns = e->clock;
	while (e->pending.head != NIL)
		settle(e, e->pending.head);
	if (!e->nconns)
		return;
	order = open_in_order(e, &n);
	if (!order) {
		while (e->lru.head != NIL)
			report(e, e->lru.head, now_ns);
		return;
	}
	for (uint32_t k = 0; k < n; k++)
		report(e, order[k].idx, now_ns);
	free(order);
}

void tl_engine_each_open(struct tl_engine *e, uint64_t now_ns,
			 void (*fn)(const struct tl_lifecycle *lc, void *ctx), void *ctx)
{
	struct open_conn *order;
	struct tl_lifecycle lc;
	uint32_t n;

	if (now_ns < e->clock)
		now_ns = e->clock;
	order = open_in_order(e, &n);
	if (!order)
		return;
	for (uint32_t k = 0; k < n; k++) {
		if (at(e, order[k].idx)->flags & C_LISTENER)
			continue;
		fill_lifecycle(e, order[k].idx, now_ns, &lc);
		fn(&lc, ctx);
	}
	free(order);
}

uint64_t tl_engine_last_scan(const struct tl_engine *e)
{
	return e->last_scan;
}

void tl_engine_stats(const struct tl_engine *e, struct tl_engine_stats *out)
{
	*out = e->stats;
}
