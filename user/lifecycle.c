/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Lifecycle engine: one record (struct conn, records.h) per connection,
 * rebuilt from the decoded event stream alone.
 *
 * A record lives in one of three places:
 *
 *   open      on the lru list.  Made by a birth -- STATE CLOSE->SYN_SENT,
 *             CLOSE->LISTEN or ->SYN_RECV -- or by the first event of a
 *             socket met mid-life (then C_GAP | C_START_INEXACT), by a
 *             TW_START whose full socket was never seen, or by a SEED from
 *             the start-up socket iterator (C_SEEDED).  Every STATE, and a
 *             TW_START or re-arm, moves it along its path (enter()).
 *   ending    on the pending list (C_ENDING), oldest end first.  Moved
 *             there by STATE ->CLOSE of a full socket that has no tw sock,
 *             or by TW_CANCEL of its tw sock (C_TW_CANCELLED): the kernel
 *             arms the tw timer before the full socket reports ->CLOSE,
 *             sends an abortive close's RST after the ->CLOSE, and re-arms
 *             a tw timer as cancel + start, so an ending waits grace_ns of
 *             event time for such companions.  A TW_START re-arm or a
 *             TW_EXPIRE within the grace puts a cancelled one back to open
 *             (undo_cancel()).
 *   settled   handed to the sink and freed (retire()).  settle_due() runs
 *             before every event and settles the endings whose grace ran
 *             out; close_reason() then names the end from the flags the
 *             RESET_* and STATE events left.  TW_EXPIRE settles at once
 *             (TIME_WAIT or the orphan's FIN_WAIT2 ran its course).
 *             Eviction at max_conns settles the oldest ending, else retires
 *             the least recently used open record (C_EVICTED, end unknown);
 *             tl_engine_finish() settles all endings and hands over the
 *             open records, in creation order, as incomplete.
 *
 * Two maps find records:
 *
 *   ids       the opaque socket id -> record, for both the full socket
 *             (sk_id) and, once it has one, the timewait sock (tw_id).
 *             When tcp_time_wait() hands over, the full socket's ->CLOSE
 *             only drops sk_id: the life goes on under tw_id.  An id met
 *             again by a birth or a new tw sock is a recycled address: the
 *             old record is settled with a gap (drop_stale()).
 *   tuples    4-tuple + netns -> record, holding exactly the open records
 *             in FIN_WAIT1, FIN_WAIT2 or CLOSING without a tw sock
 *             (tuples_sync()).  This is how the new tw sock of a TW_START,
 *             whose id the full socket never showed, is joined to its
 *             connection (closing_record()).
 *
 * Seeds are read while the ring fills, so an event queued before a seed
 * (ts <= seed_ns) is already in it (seed_covers()) -- unless it leaves the
 * seeded state -- and a queued birth of the seeded socket replaces the
 * seed (unless_superseded()).  A LOST makes every record that exists at
 * that point untrustworthy in O(1) (lost_upto_conn, has_gap()).  OWNER and
 * HOLDER events name the owner and fill the usage side map for leak
 * hunting; they never move a record.  A birth's STATE and a seed's
 * CGROUP name its cgroup, kept with the owner (records.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "idmap.h"
#include "lifecycle.h"
#include "records.h"
#include "sidemap.h"

#define DEFAULT_MAX_CONNS (1u << 20)
#define DEFAULT_GRACE_NS (5 * 1000 * 1000ULL)
#define NIL TL_REC_NONE

struct list {
	uint32_t head, tail;
};

struct tl_engine {
	struct tl_engine_opts opts;
	struct tl_engine_sink sink;
	struct tl_records recs;		/* by slot */
	struct tl_idindex ids;		/* sk_id / tw_id -> slot */
	struct tl_idmap tuples;		/* tuple hash -> slot (closing states) */
	struct list lru;		/* open records, least recently used first */
	struct list pending;		/* ending records, oldest first */
	struct tl_sidemap usage;	/* struct tl_usage: leak hunting only */
	uint64_t last_scan;
	uint64_t clock;			/* newest event time seen */
	uint64_t next_conn;
	uint64_t lost_upto_conn;	/* records up to this conn saw events lost */
	struct tl_engine_stats stats;
};

static inline struct conn *at(const struct tl_engine *e, uint32_t i)
{
	return tl_rec(&e->recs, i);
}

static bool is_closing_state(int s)
{
	return s == TL_TCP_FIN_WAIT1 || s == TL_TCP_FIN_WAIT2 || s == TL_TCP_CLOSING;
}

/* ---- lists ---------------------------------------------------------- */

static void list_push(struct tl_engine *e, struct list *l, uint32_t i, struct conn *c)
{
	c->prev = l->tail;
	c->next = NIL;
	if (l->tail != NIL)
		at(e, l->tail)->next = i;
	else
		l->head = i;
	l->tail = i;
}

static void list_del(struct tl_engine *e, struct list *l, struct conn *c)
{
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

/* ---- tuple map ------------------------------------------------------ */

static void tuples_del(struct tl_engine *e, uint32_t i, struct conn *c)
{
	uint32_t cur;
	uint64_t k;

	if (!(c->flags & C_IN_TUPLES))
		return;
	k = tl_rec_tuple_key(c);
	if (tl_idmap_get(&e->tuples, k, &cur) && cur == i)
		tl_idmap_del(&e->tuples, k);
	c->flags &= ~C_IN_TUPLES;
}

/* Keep the tuple map holding exactly the records a tw sock may join
 * (inline: most calls find nothing to change). */
static inline void tuples_sync(struct tl_engine *e, uint32_t i, struct conn *c)
{
	bool want = is_closing_state(tl_rec_state(c)) && !c->tw_id && !(c->flags & C_ENDING);

	if (want == !!(c->flags & C_IN_TUPLES))
		return;
	if (!want)
		tuples_del(e, i, c);
	else if (tl_idmap_put(&e->tuples, tl_rec_tuple_key(c), i))
		c->flags |= C_IN_TUPLES;
}

/* ---- records -------------------------------------------------------- */

/* The id index keeps no ids: the records hold them. */
static bool holds_id(const void *recs, uint32_t i, uint64_t id)
{
	const struct conn *c = tl_rec(recs, i);

	return c->sk_id == id || c->tw_id == id;
}

static struct conn *lookup_id(struct tl_engine *e, uint64_t id, uint32_t *idx)
{
	if (!id || !tl_idindex_get(&e->ids, id, holds_id, &e->recs, idx))
		return NULL;
	return at(e, *idx);
}

/* id: no record's yet (lookup_id() found none, or dropped it). */
static void map_id(struct tl_engine *e, uint64_t id, uint32_t i)
{
	if (id)
		tl_idindex_add(&e->ids, id, i);
}

static void unmap_id(struct tl_engine *e, uint64_t id, uint32_t i)
{
	if (id)
		tl_idindex_del(&e->ids, id, i);
}

static void release(struct tl_engine *e, uint32_t i)
{
	struct conn *c = at(e, i);

	list_del(e, list_of(e, c), c);
	unmap_id(e, c->sk_id, i);
	unmap_id(e, c->tw_id, i);
	tuples_del(e, i, c);
	tl_sidemap_del(&e->usage, i);
	tl_records_release(&e->recs, i);
	e->stats.open = e->recs.pool.used;
}

/* Whether events were missed for the record: its own gap, or a loss while
 * it existed (conns are sequential, so that is one compare). */
static bool has_gap(const struct tl_engine *e, const struct conn *c)
{
	return (c->flags & C_GAP) || c->number <= e->lost_upto_conn;
}

static void fill_lifecycle(const struct tl_engine *e, uint32_t i, uint64_t now,
			   struct tl_lifecycle *lc)
{
	const struct conn *c = at(e, i);
	const uint64_t *wide = tl_rec_wide_times(&e->recs, i, c);
	bool ended = tl_rec_state(c) == TL_STATE_CLOSED;
	int n = c->npath;

	memset(lc, 0, sizeof(*lc));
	lc->usage = tl_sidemap_get(&e->usage, i);
	lc->conn = c->number;
	tl_rec_tuple(&e->recs, c, &lc->tuple);
	tl_rec_owner(&e->recs, c, &lc->owner);
	lc->start_ns = c->start_ns;
	/* ended through an ending (end known), or a path that named CLOSED */
	if (ended)
		lc->end_ns = c->end != TL_END_NONE ? c->end_ns : 0;
	else
		lc->end_ns = now > c->start_ns ? now : c->start_ns;
	for (int k = 0; k < n; k++) {
		uint64_t ns = wide ? wide[k] : tl_rec_dur(c, k);

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
	lc->end = ended && !has_gap(e, c) ? c->end : TL_END_UNKNOWN;
	lc->complete = lc->end != TL_END_UNKNOWN;
	lc->seeded = c->flags & C_SEEDED;
	lc->start_exact = !(c->flags & C_START_INEXACT);
	lc->gap = has_gap(e, c);
	lc->evicted = c->flags & C_EVICTED;
	lc->cgroup = tl_rec_cgroup(&e->recs, c);
}

static bool cgroup_wanted(const struct tl_engine *e, const struct conn *c)
{
	return !e->opts.cgroup_wanted ||
	       e->opts.cgroup_wanted(tl_rec_cgroup(&e->recs, c), e->opts.cgroup_ctx);
}

static bool owner_wanted(const struct tl_engine *e, const struct conn *c)
{
	return (!e->opts.pid || tl_rec_owner_pid(&e->recs, c) == e->opts.pid) &&
	       cgroup_wanted(e, c);
}

/* Hands the record's lifecycle to the sink, unless it is a listener nobody
 * asked for. */
static void emit_lifecycle(struct tl_engine *e, uint32_t i, uint64_t now)
{
	struct conn *c = at(e, i);

	if (!(c->flags & C_LISTENER) || e->opts.listeners) {
		struct tl_lifecycle lc;

		if (c->flags & C_EVICTED)
			e->stats.evicted++;
		e->stats.ended++;
		if (e->sink.lifecycle && owner_wanted(e, c)) {
			fill_lifecycle(e, i, now, &lc);
			e->sink.lifecycle(&lc, e->sink.ctx);
		}
	}
}

/* Emits the record's lifecycle and frees it. */
static void retire(struct tl_engine *e, uint32_t i, uint64_t now)
{
	emit_lifecycle(e, i, now);
	release(e, i);
}

static void enter(struct tl_engine *e, uint32_t i, struct conn *c, int state, uint64_t ts);

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
		uint64_t tw_at = tl_rec_tw_entry(&e->recs, i);

		if (tw_at)
			enter(e, i, c, TL_TCP_TIME_WAIT, tw_at);
		enter(e, i, c, TL_STATE_CLOSED, c->end_ns);
	}
	if (c->end == TL_END_NONE)
		c->end = close_reason(c);
	retire(e, i, c->end_ns);
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
		retire(e, e->lru.head, e->clock);
	}
}

static uint32_t alloc_conn(struct tl_engine *e)
{
	struct conn *c;
	uint32_t i;

	while (e->recs.pool.used >= e->opts.max_conns)
		evict_one(e);
	i = tl_records_alloc(&e->recs);
	if (i == NIL)
		return NIL;
	c = at(e, i);
	c->number = ++e->next_conn;
	e->stats.open = e->recs.pool.used;
	if (e->recs.pool.used > e->stats.peak_open)
		e->stats.peak_open = e->recs.pool.used;
	list_push(e, &e->lru, i, c);
	return i;
}

static uint32_t new_conn(struct tl_engine *e, const struct tl_event *ev, int state, uint64_t start)
{
	uint32_t i = alloc_conn(e);
	struct conn *c;

	if (i == NIL)
		return NIL;
	c = at(e, i);
	if (!tl_rec_set_tuple(&e->recs, c, ev)) {
		release(e, i);
		return NIL;
	}
	c->start_ns = c->enter_ns = start;
	c->path[0] = (uint8_t)state;
	c->npath = 1;
	return i;
}

static void touch(struct tl_engine *e, uint32_t i, struct conn *c)
{
	if (!(c->flags & C_ENDING) && e->lru.tail != i) {
		list_del(e, &e->lru, c);
		list_push(e, &e->lru, i, c);
	}
}

static void take_owner(struct tl_engine *e, struct conn *c, const struct tl_event *ev)
{
	if (!(ev->flags & TL_F_IN_TASK) || !ev->pid || tl_rec_owner_pid(&e->recs, c) >= 0)
		return;
	tl_rec_set_owner(&e->recs, c, ev);
}

static void send_transition(struct tl_engine *e, const struct conn *c, uint64_t ts,
			    int old, int new, uint64_t in_old)
{
	struct tl_transition t;

	t.ts_ns = ts;
	t.conn = c->number;
	tl_rec_tuple(&e->recs, c, &t.tuple);
	tl_rec_owner(&e->recs, c, &t.owner);
	t.old_state = (uint8_t)old;
	t.new_state = (uint8_t)new;
	t.in_old_ns = in_old;
	t.cgroup = tl_rec_cgroup(&e->recs, c);
	e->sink.transition(&t, e->sink.ctx);
}

/* Inline: without a transition sink it is a test. */
static inline void emit_transition(struct tl_engine *e, const struct conn *c, uint64_t ts,
				   int old, int new, uint64_t in_old)
{
	if (e->sink.transition && (!(c->flags & C_LISTENER) || e->opts.listeners) &&
	    owner_wanted(e, c))
		send_transition(e, c, ts, old, new, in_old);
}

/* Moves the record into 'state' at ts, reporting the transition.  Entering
 * TL_STATE_CLOSED shows as "->CLOSE", the kernel's name for it. */
static void enter(struct tl_engine *e, uint32_t i, struct conn *c, int state, uint64_t ts)
{
	uint64_t in_old = ts > c->enter_ns ? ts - c->enter_ns : 0;
	int old = tl_rec_state(c);

	tl_rec_add_time(&e->recs, i, c, c->npath - 1, in_old);
	if (c->npath == TL_MAX_PATH) {
		/* A path this long is not TCP as we know it: the last slot
		 * takes the new state and keeps the time of those it replaced. */
		c->flags |= C_GAP;
		c->path[c->npath - 1] = (uint8_t)state;
	} else {
		c->path[c->npath++] = (uint8_t)state;
	}
	c->enter_ns = ts;
	emit_transition(e, c, ts, old, state == TL_STATE_CLOSED ? TL_TCP_CLOSE : state, in_old);
	tuples_sync(e, i, c);
}

/* The record's socket is gone as of ts; report once the grace is over.
 * A cancelled tw timer is not shown as ->CLOSE until then: it may be a
 * re-arm. */
static void begin_ending(struct tl_engine *e, uint32_t i, struct conn *c, uint64_t ts)
{
	if (!(c->flags & C_TW_CANCELLED))
		enter(e, i, c, TL_STATE_CLOSED, ts);
	c->end_ns = ts;
	list_del(e, &e->lru, c);
	c->flags |= C_ENDING;
	tuples_del(e, i, c);
	list_push(e, &e->pending, i, c);
}

static void end_now(struct tl_engine *e, uint32_t i, uint64_t ts, enum tl_end why)
{
	struct conn *c = at(e, i);

	enter(e, i, c, TL_STATE_CLOSED, ts);
	c->end_ns = ts;
	c->end = (uint8_t)why;
	retire(e, i, ts);
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
	retire(e, i, e->clock);
}

static bool starts_lifecycle(const struct tl_event *ev)
{
	return (ev->old_state == TL_TCP_CLOSE &&
		(ev->new_state == TL_TCP_SYN_SENT || ev->new_state == TL_TCP_LISTEN)) ||
	       ev->new_state == TL_TCP_SYN_RECV;
}

/* ---- event handlers ------------------------------------------------- */

/* Seeds are read before the ring buffer: ev was queued before c's seed,
 * which still stands as it was read. */
static bool before_seed(const struct conn *c, const struct tl_event *ev)
{
	return c && (c->flags & C_SEEDED) && c->npath == 1 && !(c->flags & C_ENDING) &&
	       ev->ts_ns <= c->seed_ns;
}

/* Such an event is already reflected in the seed -- unless it leaves the
 * seeded state: the tracepoint fires before the kernel stores the new
 * state, so a seed read in between still shows the old one. */
static bool seed_covers(const struct conn *c, const struct tl_event *ev)
{
	return before_seed(c, ev) && !(ev->type == TL_EV_STATE && ev->old_state == tl_rec_state(c));
}

/* The record in a closing state that a new tw sock takes over (the same
 * 4-tuple and netns), or NULL: how tcp_time_wait()'s tw sock is joined. */
static struct conn *closing_record(struct tl_engine *e, const struct tl_event *ev, uint32_t *idx)
{
	uint64_t key;

	if (!tl_rec_event_tuple_key(&e->recs, ev, &key) || !tl_idmap_get(&e->tuples, key, idx) ||
	    !tl_rec_tuple_is(&e->recs, at(e, *idx), ev))
		return NULL;
	return at(e, *idx);
}

/* The queue holds the birth of a socket the seed pass also listed (it was
 * born while the iterator ran): the events tell its whole life, the seed
 * only a moment of it -- for a tw sock, only if the connection it takes
 * over was followed; else the seed, which read when TIME_WAIT began, says
 * more.  The seeded record was never reported: it is forgotten, and c is
 * NULL from then on. */
static struct conn *unless_superseded(struct tl_engine *e, struct conn *c, uint32_t i,
				      const struct tl_event *ev)
{
	uint32_t j;
	bool born;

	if (!before_seed(c, ev))
		return c;
	if (ev->type == TL_EV_STATE)
		born = c->sk_id == ev->sk_id && starts_lifecycle(ev);
	else
		born = ev->type == TL_EV_TW_START && c->tw_id == ev->sk_id &&
		       !(ev->flags & TL_F_REARM) && closing_record(e, ev, &j);
	if (!born)
		return c;
	release(e, i);
	return NULL;
}

/* Why a connection that never left SYN_SENT ended, from the socket's error
 * (ev->aux): the kernel sets it before closing on an RST, on the SYN
 * retries running out and on ICMP errors.  Without one, a socket with no
 * local port is a connect() that failed to get one; with a port, the
 * application gave up (close()). */
static enum tl_end connect_end(const struct tl_event *ev)
{
	switch (ev->aux) {
	case 0:
		return ev->sport ? TL_END_CLOSED : TL_END_CONNECT_FAILED;
	case ECONNREFUSED:
		return TL_END_REFUSED;
	case ETIMEDOUT:
		return TL_END_SYN_TIMEOUT;
	default:
		return TL_END_CONNECT_FAILED;
	}
}

static void on_state(struct tl_engine *e, const struct tl_event *ev)
{
	uint32_t i;
	struct conn *c = lookup_id(e, ev->sk_id, &i);

	c = unless_superseded(e, c, i, ev);
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
		if (tl_aux_cgroup(ev))
			tl_rec_set_cgroup(&e->recs, c, tl_aux_cgroup(ev));
		take_owner(e, c, ev);
		if (fresh) {
			emit_transition(e, c, ev->ts_ns, ev->old_state, ev->new_state, 0);
			tuples_sync(e, i, c);
			return;
		}
		/* First seen mid-life: its state so far has unknown length,
		 * and what came before was missed. */
		c->flags |= C_START_INEXACT | C_GAP;
		e->stats.gaps++;
	}

	take_owner(e, c, ev);
	if (ev->flags & TL_F_ORPHAN)
		c->flags |= C_ORPHAN;
	touch(e, i, c);

	if (c->tw_id && ev->new_state == TL_TCP_CLOSE) {
		/* tcp_time_wait() handed over to the tw sock we already joined:
		 * the full socket goes away, the lifecycle goes on. */
		unmap_id(e, c->sk_id, i);
		c->sk_id = 0;
		return;
	}
	/* The full socket knows its final ports (connect() binds after
	 * CLOSE->SYN_SENT is reported). */
	if ((ev->sport || ev->dport) && !tl_rec_tuple_is(&e->recs, c, ev)) {
		tuples_del(e, i, c);
		tl_rec_set_tuple(&e->recs, c, ev);
	}
	if (tl_rec_state(c) != ev->old_state) {
		c->flags |= C_GAP;
		e->stats.gaps++;
	}
	if (ev->new_state == TL_TCP_CLOSE) {
		if (c->npath == 1 && tl_rec_state(c) == TL_TCP_SYN_SENT && !(c->flags & C_SEEDED))
			c->end = (uint8_t)connect_end(ev);
		c->last_full_state = ev->old_state;
		if (ev->flags & TL_F_TW_FULL)
			c->flags |= C_TW_FULL;
		begin_ending(e, i, c, ev->ts_ns);
		return;
	}
	enter(e, i, c, ev->new_state, ev->ts_ns);
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

	if (tl_rec_state(c) != TL_TCP_FIN_WAIT2 || ev->new_state != TL_TCP_TIME_WAIT)
		return 0;
	at = ev->ts_ns > ev->aux ? ev->ts_ns - ev->aux : 0;
	if (at < c->enter_ns)
		at = c->enter_ns;
	return at ? at : 1;
}

/* The tw timer's cancel was not a kill after all: the tw sock lives on. */
static void undo_cancel(struct tl_engine *e, uint32_t i, struct conn *c)
{
	list_del(e, &e->pending, c);
	c->flags &= ~(C_TW_CANCELLED | C_ENDING);
	c->end_ns = 0;	/* and seed_ns: the seed is no longer what it was */
	tl_rec_set_tw_entry(&e->recs, i, 0);
	list_push(e, &e->lru, i, c);
}

static void on_tw_start(struct tl_engine *e, const struct tl_event *ev)
{
	uint32_t i;
	struct conn *c = lookup_id(e, ev->sk_id, &i);

	c = unless_superseded(e, c, i, ev);
	if (seed_covers(c, ev))
		return;
	if (c && c->tw_id == ev->sk_id && (ev->flags & TL_F_REARM)) {
		/* Only a re-arm: the tw sock lives on, maybe in a new substate. */
		if (c->flags & C_TW_CANCELLED)
			undo_cancel(e, i, c);
		if (tl_rec_state(c) != ev->new_state)
			enter(e, i, c, ev->new_state, ev->ts_ns);
		touch(e, i, c);
		return;
	}
	if (c)
		drop_stale(e, i);	/* a new tw sock at a recycled address */

	c = closing_record(e, ev, &i);
	if (c) {
		c->tw_id = ev->sk_id;
		map_id(e, ev->sk_id, i);
		touch(e, i, c);
		if (tl_rec_state(c) != ev->new_state)
			enter(e, i, c, ev->new_state, ev->ts_ns);
		tuples_sync(e, i, c);
		return;
	}
	/* A tw sock whose full socket we never saw: with --cgroup, from a
	 * cgroup the kernel left out as likely as not. */
	if (e->opts.cgroup_wanted)
		return;
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
	tl_rec_set_tw_entry(&e->recs, i, silent_time_wait_entry(c, ev));
	begin_ending(e, i, c, ev->ts_ns);
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
		undo_cancel(e, i, c);
	} else if (c->flags & C_ENDING) {
		return;
	}
	tw_at = silent_time_wait_entry(c, ev);
	if (tw_at)
		enter(e, i, c, TL_TCP_TIME_WAIT, tw_at);
	end_now(e, i, ev->ts_ns, tl_rec_state(c) == TL_TCP_FIN_WAIT2 ? TL_END_FIN_TIMEOUT
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
			enter(e, i, c, TL_TCP_TIME_WAIT, tw_at);
		return;
	}
	if (ev->flags & TL_F_REFRESH)
		return;
	/* --cgroup: a timewait sock's cgroup is not known (the refresh of
	 * one followed from its full socket is, above) */
	if (e->opts.cgroup_wanted && (ev->flags & TL_F_TW_SOCK))
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
	/* a timewait sock has no file, an orphan's was closed: no process
	 * holds either (others learn their owner from a /proc scan) */
	if (ev->flags & (TL_F_TW_SOCK | TL_F_ORPHAN))
		c->flags |= C_OWNERLESS;
	if (ev->new_state == TL_TCP_LISTEN)
		c->flags |= C_LISTENER;
	map_id(e, ev->sk_id, i);
	tuples_sync(e, i, c);
}

/* Record i's usage, made on first need; NULL without memory. */
static struct tl_usage *usage_of(struct tl_engine *e, uint32_t i)
{
	struct tl_usage *u = tl_sidemap_get(&e->usage, i);

	if (u)
		return u;
	u = tl_sidemap_add(&e->usage, i);
	if (!u)
		return NULL;
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
	if (tl_owner_role(ev) == TL_OWN_CONNECT || tl_owner_role(ev) == TL_OWN_ACCEPT) {
		/* the process that made or took the socket is its owner */
		tl_rec_set_owner(&e->recs, c, ev);
	} else if (tl_owner_role(ev) == TL_OWN_IO || tl_owner_role(ev) == TL_OWN_EOF) {
		take_owner(e, c, ev);	/* reading and writing is using */
	}
	if (!e->opts.usage)
		return;
	u = usage_of(e, i);
	if (!u)
		return;
	switch (tl_owner_role(ev)) {
	case TL_OWN_CONNECT:
	case TL_OWN_ACCEPT:
		u->created_by = tl_owner_role(ev);
		u->create_stack = tl_aux_stack(ev);
		u->create_tid = (int32_t)ev->tid;
		u->create_fd = tl_owner_role(ev) == TL_OWN_ACCEPT ? tl_aux_fd(ev) : -1;
		break;
	case TL_OWN_EOF:
		u->eof_seen = true;
		u->eof_ns = ev->ts_ns;
		u->eof_stack = tl_aux_stack(ev);
		__attribute__((fallthrough));	/* reading is using */
	case TL_OWN_IO:
		proc_fd(&u->last, ev, -1, 0);
		u->last_tid = (int32_t)ev->tid;
		u->last_ns = ev->ts_ns;
		break;
	case TL_OWN_CLOSE_SHARED:
		if (u->nclosers < TL_USAGE_MAX)
			proc_fd(&u->closers[u->nclosers], ev, tl_aux_fd(ev),
				(int32_t)tl_aux_ppid(ev));
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
	take_owner(e, c, ev);
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
		proc_fd(&u->holders[u->nholders], ev, tl_aux_fd(ev), 0);
		u->holders[u->nholders].cmdline = tl_aux_cmdline(ev);
	}
	u->nholders++;
}

static void on_lost(struct tl_engine *e, const struct tl_event *ev)
{
	e->stats.lost += ev->aux;
	/* Any record open or ending now may have missed something: none can
	 * be trusted (has_gap()).  O(1): a walk of them all per loss record
	 * made crafted logs quadratic. */
	e->lost_upto_conn = e->next_conn;
}

/* A seeded socket's cgroup, just after its seed. */
static void on_cgroup(struct tl_engine *e, const struct tl_event *ev)
{
	uint32_t i;
	struct conn *c = lookup_id(e, ev->sk_id, &i);

	if (c && c->sk_id == ev->sk_id && ev->aux)
		tl_rec_set_cgroup(&e->recs, c, ev->aux);
}

static void on_scan(struct tl_engine *e, const struct tl_event *ev)
{
	e->last_scan = ev->ts_ns;
}

/* What each event does.  LOST is taken before settling (tl_engine_feed());
 * TICK only moves the clock; STACK and INODE are not the engine's. */
static void (*const handlers[TL_EV_TYPE_MAX])(struct tl_engine *, const struct tl_event *) = {
	[TL_EV_STATE] = on_state,
	[TL_EV_TW_START] = on_tw_start,
	[TL_EV_TW_EXPIRE] = on_tw_expire,
	[TL_EV_TW_CANCEL] = on_tw_cancel,
	[TL_EV_RESET_RECV] = on_reset,
	[TL_EV_RESET_SENT] = on_reset,
	[TL_EV_SEED] = on_seed,
	[TL_EV_OWNER] = on_owner,
	[TL_EV_HOLDER] = on_holder,
	[TL_EV_SCAN] = on_scan,
	[TL_EV_CGROUP] = on_cgroup,
};

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
	tl_records_init(&e->recs);
	tl_sidemap_init(&e->usage, sizeof(struct tl_usage));
	e->lru.head = e->lru.tail = NIL;
	e->pending.head = e->pending.tail = NIL;
	return e;
}

void tl_engine_free(struct tl_engine *e)
{
	if (!e)
		return;
	tl_idindex_free(&e->ids);
	tl_idmap_free(&e->tuples);
	tl_sidemap_free(&e->usage);
	tl_records_free(&e->recs);
	free(e);
}

void tl_engine_feed(struct tl_engine *e, const struct tl_event *ev)
{
	e->stats.events++;
	/* Seeds are read while the ring fills: their time must not hurry
	 * the endings queued behind them. */
	if (ev->ts_ns > e->clock && ev->type != TL_EV_SEED)
		e->clock = ev->ts_ns;
	/* A loss happened at some time before this one: endings still in
	 * their grace may have missed it too. */
	if (ev->type == TL_EV_LOST)
		on_lost(e, ev);
	/* Endings whose grace ran out before this event come first. */
	settle_due(e, e->clock);

	if (ev->type < TL_EV_TYPE_MAX && handlers[ev->type])
		handlers[ev->type](e, ev);
}

struct open_conn {
	uint64_t conn;
	uint32_t idx;
};

/* LSD radix sort by conn, a byte a pass and only over the bytes conns
 * use: linear in the number of records.  Returns the sorted copy. */
static struct open_conn *sort_by_conn(struct open_conn *a, struct open_conn *tmp, uint32_t n,
				      uint64_t max)
{
	for (unsigned int shift = 0; shift < 64 && (max >> shift); shift += 8) {
		uint32_t pos[257] = { 0 };
		struct open_conn *t;

		for (uint32_t k = 0; k < n; k++)
			pos[((a[k].conn >> shift) & 0xff) + 1]++;
		for (int b = 0; b < 256; b++)
			pos[b + 1] += pos[b];
		for (uint32_t k = 0; k < n; k++)
			tmp[pos[(a[k].conn >> shift) & 0xff]++] = a[k];
		t = a;
		a = tmp;
		tmp = t;
	}
	return a;
}

/* The open records in creation order, so output is reproducible, of the
 * owner pid only if pid > 0.  The records are read in memory order and
 * sorting touches none of them.  *buf is to be freed; NULL without memory. */
static struct open_conn *open_in_order(struct tl_engine *e, long pid, uint32_t *n, void **buf)
{
	size_t len = (size_t)e->recs.pool.used + 1;
	struct open_conn *order = malloc(2 * len * sizeof(*order));

	*n = 0;
	*buf = order;
	if (!order)
		return NULL;
	for (uint32_t i = 0; i < e->recs.pool.hwm; i++) {
		const struct conn *c = at(e, i);

		if (c->number && !(c->flags & C_ENDING) &&
		    (pid <= 0 || tl_rec_owner_pid(&e->recs, c) == pid))
			order[(*n)++] = (struct open_conn){ .conn = c->number, .idx = i };
	}
	return sort_by_conn(order, order + len, *n, e->next_conn);
}

/* Forgets every record at once, as if each had been released. */
static void drop_all(struct tl_engine *e)
{
	tl_idindex_free(&e->ids);
	tl_idmap_free(&e->tuples);
	tl_sidemap_clear(&e->usage);
	tl_records_clear(&e->recs);
	e->lru.head = e->lru.tail = NIL;
	e->pending.head = e->pending.tail = NIL;
	e->stats.open = 0;
}

void tl_engine_finish(struct tl_engine *e, uint64_t now_ns)
{
	struct open_conn *order;
	uint32_t n;
	void *buf;

	if (now_ns < e->clock)
		now_ns = e->clock;
	while (e->pending.head != NIL)
		settle(e, e->pending.head);
	if (!e->recs.pool.used)
		return;
	order = open_in_order(e, 0, &n, &buf);
	if (!order) {
		while (e->lru.head != NIL)
			retire(e, e->lru.head, now_ns);
		return;
	}
	for (uint32_t k = 0; k < n; k++) {
		/* records far apart in memory: ask for the next ones early */
		if (k + 8 < n) {
			const char *next = (const char *)at(e, order[k + 8].idx);

			__builtin_prefetch(next);
			__builtin_prefetch(next + 64);
		}
		emit_lifecycle(e, order[k].idx, now_ns);
	}
	free(buf);
	drop_all(e);
}

void tl_engine_each_open(struct tl_engine *e, uint64_t now_ns, long pid,
			 void (*fn)(const struct tl_lifecycle *lc, void *ctx), void *ctx)
{
	struct open_conn *order;
	struct tl_lifecycle lc;
	uint32_t n;
	void *buf;

	if (now_ns < e->clock)
		now_ns = e->clock;
	order = open_in_order(e, pid, &n, &buf);
	if (!order)
		return;
	for (uint32_t k = 0; k < n; k++) {
		const struct conn *c = at(e, order[k].idx);

		if ((c->flags & C_LISTENER) || !cgroup_wanted(e, c))
			continue;
		fill_lifecycle(e, order[k].idx, now_ns, &lc);
		fn(&lc, ctx);
	}
	free(buf);
}

bool tl_engine_tw_in_fin_wait2(const struct tl_engine *e)
{
	for (uint32_t i = 0; i < e->recs.pool.hwm; i++) {
		const struct conn *c = at(e, i);

		if (c->number && c->tw_id && tl_rec_state(c) == TL_TCP_FIN_WAIT2 && !(c->flags & C_ENDING))
			return true;
	}
	return false;
}

uint64_t tl_engine_last_scan(const struct tl_engine *e)
{
	return e->last_scan;
}

void tl_engine_stats(const struct tl_engine *e, struct tl_engine_stats *out)
{
	*out = e->stats;
}
