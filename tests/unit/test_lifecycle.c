/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Lifecycle engine driven by synthetic event sequences. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include "lifecycle.h"
#include "testev.h"
#include "unit.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define T0 (1000 * SEC)

enum { ES = TL_TCP_ESTABLISHED, SS = TL_TCP_SYN_SENT, SR = TL_TCP_SYN_RECV,
       FW1 = TL_TCP_FIN_WAIT1, FW2 = TL_TCP_FIN_WAIT2, TW = TL_TCP_TIME_WAIT,
       CL = TL_TCP_CLOSE, CW = TL_TCP_CLOSE_WAIT, LA = TL_TCP_LAST_ACK,
       LI = TL_TCP_LISTEN, CG = TL_TCP_CLOSING, CLOSED = TL_STATE_CLOSED };

#define MAX_SEEN 64
static struct tl_lifecycle seen[MAX_SEEN];
static int nseen;
static struct tl_transition trans[MAX_SEEN];
static int ntrans;

static void on_lc(const struct tl_lifecycle *lc, void *ctx)
{
	(void)ctx;
	if (nseen < MAX_SEEN)
		seen[nseen] = *lc;
	nseen++;
}

static void on_tr(const struct tl_transition *t, void *ctx)
{
	(void)ctx;
	if (ntrans < MAX_SEEN)
		trans[ntrans] = *t;
	ntrans++;
}

static struct tl_engine *engine(size_t max_conns)
{
	struct tl_engine_opts o = { .max_conns = max_conns };
	struct tl_engine_sink s = { .transition = on_tr, .lifecycle = on_lc };

	nseen = ntrans = 0;
	return tl_engine_new(&o, &s);
}

/* The 4-tuple of conversation n (client side; server side swaps ports). */
static struct tl_event ev_base(int type, uint64_t ts, uint64_t id, int n, bool server)
{
	uint16_t client = (uint16_t)(40000 + n);

	return loopback_event(type, ts, id, server ? 8080 : client, server ? client : 8080);
}

static void state(struct tl_engine *e, uint64_t ts, uint64_t id, int n, bool server,
		  int old, int new, uint16_t flags, uint32_t pid)
{
	struct tl_event ev = ev_base(TL_EV_STATE, ts, id, n, server);

	ev.old_state = (uint8_t)old;
	ev.new_state = (uint8_t)new;
	ev.flags = flags;
	ev.pid = pid;
	snprintf(ev.comm, sizeof(ev.comm), "proc%u", pid);
	tl_engine_feed(e, &ev);
}

/* A tw sock's or a seed's event: its (sub)state, aux (the timer's span, or
 * the seed's age) and flags. */
static struct tl_event sock_ev(int type, uint64_t ts, uint64_t id, int n, bool server,
			       int st, uint64_t aux, uint16_t flags)
{
	struct tl_event ev = ev_base(type, ts, id, n, server);

	ev.new_state = (uint8_t)st;
	ev.aux = aux;
	ev.flags = flags;
	return ev;
}

static void feed(struct tl_engine *e, struct tl_event ev)
{
	tl_engine_feed(e, &ev);
}

/* A tw sock event with the timer span of its substate. */
static void tw(struct tl_engine *e, int type, uint64_t ts, uint64_t id, int n, bool server,
	       int substate, uint16_t flags)
{
	feed(e, sock_ev(type, ts, id, n, server, substate,
			substate == TW ? 60 * SEC : 2 * SEC, flags));
}

/* The seed of a timewait sock in TIME_WAIT for age (exact, from its timer). */
static void seed_tw(struct tl_engine *e, uint64_t ts, uint64_t id, int n, uint64_t age)
{
	feed(e, sock_ev(TL_EV_SEED, ts, id, n, false, TW, age, TL_F_TW_SOCK | TL_F_AGE_EXACT));
}

/* The same conversation over IPv6: 20::1 to 20::2. */
static void to_v6(struct tl_event *ev)
{
	ev->family = AF_INET6;
	memset(ev->saddr, 0, 16);
	memset(ev->daddr, 0, 16);
	ev->saddr[0] = 0x20, ev->saddr[15] = 1;
	ev->daddr[0] = 0x20, ev->daddr[15] = 2;
}

static void simple(struct tl_engine *e, int type, uint64_t ts, uint64_t id)
{
	struct tl_event ev = ev_base(type, ts, id, 0, false);

	tl_engine_feed(e, &ev);
}

static void tick(struct tl_engine *e, uint64_t ts)
{
	simple(e, TL_EV_TICK, ts, 0);
}

/* Conversation n's socket id opens, a ms a step from T0: a client's
 * connect() (pid 100) or a server's SYN, then ESTABLISHED. */
static void connected(struct tl_engine *e, uint64_t id, int n, bool server)
{
	if (server)
		state(e, T0, id, n, true, LI, SR, 0, 0);
	else
		state(e, T0, id, n, false, CL, SS, TL_F_IN_TASK, 100);
	state(e, T0 + 1 * MS, id, n, server, server ? SR : SS, ES, 0, 0);
}

/* ... then on to FIN_WAIT2: the owner's close() (client pid 100, server
 * pid 300) at 2 ms, the FIN's ACK at 3 ms; fw1/fw2 add flags (an orphan's
 * TL_F_ORPHAN) to the two. */
static void to_fin_wait2(struct tl_engine *e, uint64_t id, int n, bool server,
			 uint16_t fw1, uint16_t fw2)
{
	uint32_t pid = server ? 300 : 100;

	connected(e, id, n, server);
	state(e, T0 + 2 * MS, id, n, server, ES, FW1, TL_F_IN_TASK | fw1, pid);
	state(e, T0 + 3 * MS, id, n, server, FW1, FW2, fw2, 0);
}

/* An orphan (TL_F_ORPHAN from FIN_WAIT1 on) whose tw sock tw_id takes over
 * in the FIN_WAIT2 substate at 3 ms. */
static void orphan_in_tw_sock(struct tl_engine *e, uint64_t id, int n, bool server,
			      uint64_t tw_id)
{
	to_fin_wait2(e, id, n, server, TL_F_ORPHAN, TL_F_ORPHAN);
	tw(e, TL_EV_TW_START, T0 + 3 * MS, tw_id, n, server, FW2, 0);
	state(e, T0 + 3 * MS, id, n, server, FW2, CL, TL_F_ORPHAN, 0);
}

/* FIN_WAIT2 -> TIME_WAIT at ts: client n's tw sock tw_id starts, then its
 * full socket id reports ->CLOSE. */
static void into_time_wait(struct tl_engine *e, uint64_t ts, uint64_t id, int n, uint64_t tw_id)
{
	tw(e, TL_EV_TW_START, ts, tw_id, n, false, TW, 0);
	state(e, ts, id, n, false, FW2, CL, 0, 0);
}

static bool path_is(const struct tl_lifecycle *lc, const int *want, int n)
{
	if (lc->nstates != n)
		return false;
	for (int i = 0; i < n; i++)
		if (lc->states[i].state != want[i])
			return false;
	return true;
}

#define PATH(lc, ...) path_is(lc, (const int[]){ __VA_ARGS__ }, \
			      sizeof((int[]){ __VA_ARGS__ }) / sizeof(int))

/* Client that closes first: the TIME_WAIT the tracepoint cannot see. */
static void client_first_close_time_wait_expires(void)
{
	struct tl_engine *e = engine(0);

	state(e, T0, 1, 0, false, CL, SS, TL_F_IN_TASK, 100);
	state(e, T0 + 1 * MS, 1, 0, false, SS, ES, 0, 7);
	state(e, T0 + 10 * MS, 1, 0, false, ES, FW1, TL_F_IN_TASK, 100);
	state(e, T0 + 11 * MS, 1, 0, false, FW1, FW2, 0, 7);
	tw(e, TL_EV_TW_START, T0 + 211 * MS, 0x77, 0, false, TW, 0);
	state(e, T0 + 211 * MS + 5000, 1, 0, false, FW2, CL, 0, 7);
	CHECK_EQ_U64(nseen, 0);
	tw(e, TL_EV_TW_EXPIRE, T0 + 211 * MS + 61 * SEC, 0x77, 0, false, TW, 0);
	CHECK_EQ_U64(nseen, 1);
	CHECK(PATH(&seen[0], SS, ES, FW1, FW2, TW, CLOSED));
	CHECK_EQ_U64(seen[0].time_wait_ns, 61 * SEC);
	CHECK_EQ_U64(seen[0].fin_wait2_ns, 200 * MS);
	CHECK_EQ_U64(seen[0].close_wait_ns, 0);
	CHECK_EQ_U64(seen[0].states[1].ns, 9 * MS);
	CHECK_EQ_U64(seen[0].end, TL_END_TW_EXPIRED);
	CHECK(seen[0].complete);
	CHECK(seen[0].start_exact);
	CHECK_EQ_U64(seen[0].owner.pid, 100);
	CHECK_STR(seen[0].owner.comm, "proc100");
	CHECK_EQ_U64(seen[0].start_ns, T0);
	CHECK_EQ_U64(seen[0].end_ns, T0 + 211 * MS + 61 * SEC);
	CHECK_EQ_U64(seen[0].tuple.sport, 40000);
	/* Transitions as users should see them: FW2 -> TW -> CLOSE. */
	CHECK_EQ_U64(ntrans, 6);
	CHECK_EQ_U64(trans[4].old_state, FW2);
	CHECK_EQ_U64(trans[4].new_state, TW);
	CHECK_EQ_U64(trans[4].in_old_ns, 200 * MS);
	CHECK_EQ_U64(trans[5].old_state, TW);
	CHECK_EQ_U64(trans[5].new_state, CL);
	CHECK_EQ_U64(trans[5].in_old_ns, 61 * SEC);
	tl_engine_free(e);
}

/* Server side of a peer-first close: CLOSE_WAIT ends inside close(). */
static void server_close_wait_then_last_ack(void)
{
	struct tl_engine *e = engine(0);

	state(e, T0, 2, 0, true, LI, SR, 0, 9);
	state(e, T0 + 1 * MS, 2, 0, true, SR, ES, 0, 9);
	state(e, T0 + 5 * MS, 2, 0, true, ES, CW, 0, 9);
	state(e, T0 + 1505 * MS, 2, 0, true, CW, LA, TL_F_IN_TASK, 200);
	state(e, T0 + 1506 * MS, 2, 0, true, LA, CL, 0, 9);
	CHECK_EQ_U64(nseen, 0);	/* held for the grace: an RST may follow */
	tick(e, T0 + 1600 * MS);
	CHECK_EQ_U64(nseen, 1);
	CHECK(PATH(&seen[0], SR, ES, CW, LA, CLOSED));
	CHECK_EQ_U64(seen[0].close_wait_ns, 1500 * MS);
	CHECK_EQ_U64(seen[0].end, TL_END_CLOSED);
	CHECK_EQ_U64(seen[0].owner.pid, 200);	/* never the softirq's pid 9 */
	tl_engine_free(e);
}

/* Orphaned FIN_WAIT2: full-socket time plus the tw substate's time. */
static void orphan_fin_wait2_times_out(void)
{
	struct tl_engine *e = engine(0);

	to_fin_wait2(e, 3, 0, false, TL_F_ORPHAN, TL_F_ORPHAN);
	tw(e, TL_EV_TW_START, T0 + 3 * MS + 100, 0x88, 0, false, FW2, 0);
	state(e, T0 + 3 * MS + 200, 3, 0, false, FW2, CL, TL_F_ORPHAN, 0);
	tw(e, TL_EV_TW_EXPIRE, T0 + 2003 * MS, 0x88, 0, false, FW2, 0);
	CHECK_EQ_U64(nseen, 1);
	CHECK(PATH(&seen[0], SS, ES, FW1, FW2, CLOSED));
	CHECK_EQ_U64(seen[0].fin_wait2_ns, 2000 * MS);
	CHECK_EQ_U64(seen[0].time_wait_ns, 0);
	CHECK_EQ_U64(seen[0].end, TL_END_FIN_TIMEOUT);
	tl_engine_free(e);
}

/* The peer's FIN reaches the orphan's tw sock: cancel + re-arm, not a kill. */
static void orphan_fin_wait2_rearmed_to_time_wait(void)
{
	struct tl_engine *e = engine(0);

	to_fin_wait2(e, 4, 0, false, 0, TL_F_ORPHAN);
	tw(e, TL_EV_TW_START, T0 + 3 * MS, 0x99, 0, false, FW2, 0);
	state(e, T0 + 3 * MS + 10, 4, 0, false, FW2, CL, TL_F_ORPHAN, 0);
	tw(e, TL_EV_TW_CANCEL, T0 + 503 * MS, 0x99, 0, false, TW, 0);
	tw(e, TL_EV_TW_START, T0 + 503 * MS + 900, 0x99, 0, false, TW, TL_F_REARM);
	tick(e, T0 + 600 * MS);
	CHECK_EQ_U64(nseen, 0);
	tw(e, TL_EV_TW_EXPIRE, T0 + 503 * MS + 900 + 60 * SEC, 0x99, 0, false, TW, 0);
	CHECK_EQ_U64(nseen, 1);
	CHECK(PATH(&seen[0], SS, ES, FW1, FW2, TW, CLOSED));
	CHECK_EQ_U64(seen[0].fin_wait2_ns, 500 * MS + 900);
	CHECK_EQ_U64(seen[0].time_wait_ns, 60 * SEC);
	CHECK_EQ_U64(seen[0].end, TL_END_TW_EXPIRED);
	tl_engine_free(e);
}

/* A SYN reusing the 4-tuple kills the server's tw sock early. */
static void time_wait_killed_by_reuse(void)
{
	struct tl_engine *e = engine(0);

	to_fin_wait2(e, 5, 1, true, 0, 0);
	tw(e, TL_EV_TW_START, T0 + 4 * MS, 0xaa, 1, true, TW, 0);
	state(e, T0 + 4 * MS, 5, 1, true, FW2, CL, 0, 0);
	tw(e, TL_EV_TW_CANCEL, T0 + 504 * MS, 0xaa, 1, true, TW, 0);
	/* The new incarnation on the same tuple (same sk address, too). */
	state(e, T0 + 505 * MS, 5, 1, true, LI, SR, 0, 0);
	tick(e, T0 + 520 * MS);
	CHECK_EQ_U64(nseen, 1);
	CHECK(PATH(&seen[0], SR, ES, FW1, FW2, TW, CLOSED));
	CHECK_EQ_U64(seen[0].time_wait_ns, 500 * MS);
	CHECK_EQ_U64(seen[0].end, TL_END_TW_KILLED);
	CHECK_EQ_U64(seen[0].end_ns, T0 + 504 * MS);
	CHECK_EQ_U64(seen[0].owner.pid, 300);
	tl_engine_free(e);
	nseen = 0;
}

static void reset_received_in_established(void)
{
	struct tl_engine *e = engine(0);

	connected(e, 6, 0, false);
	simple(e, TL_EV_RESET_RECV, T0 + 9 * MS, 6);
	state(e, T0 + 9 * MS, 6, 0, false, ES, CL, 0, 0);
	tick(e, T0 + 1 * SEC);
	CHECK_EQ_U64(nseen, 1);
	CHECK(PATH(&seen[0], SS, ES, CLOSED));
	CHECK_EQ_U64(seen[0].end, TL_END_RESET);
	tl_engine_free(e);
}

/* SO_LINGER {1,0}: tcp_disconnect() reports ->CLOSE before the RST. */
static void reset_sent_after_close(void)
{
	struct tl_engine *e = engine(0);

	connected(e, 7, 0, false);
	state(e, T0 + 9 * MS, 7, 0, false, ES, CL, TL_F_IN_TASK, 100);
	simple(e, TL_EV_RESET_SENT, T0 + 9 * MS + 3000, 7);
	tick(e, T0 + 1 * SEC);
	CHECK_EQ_U64(nseen, 1);
	CHECK_EQ_U64(seen[0].end, TL_END_RESET);
	tl_engine_free(e);
}

static void no_timewait_bucket_left(void)
{
	struct tl_engine *e = engine(0);

	to_fin_wait2(e, 8, 0, false, 0, 0);
	state(e, T0 + 4 * MS, 8, 0, false, FW2, CL, TL_F_TW_FULL, 0);
	tick(e, T0 + 1 * SEC);
	CHECK_EQ_U64(nseen, 1);
	CHECK(PATH(&seen[0], SS, ES, FW1, FW2, CLOSED));
	CHECK_EQ_U64(seen[0].end, TL_END_TW_OVERFLOW);
	tl_engine_free(e);
}

static void simultaneous_close_passes_closing(void)
{
	struct tl_engine *e = engine(0);

	connected(e, 9, 0, false);
	state(e, T0 + 2 * MS, 9, 0, false, ES, FW1, TL_F_IN_TASK, 100);
	state(e, T0 + 3 * MS, 9, 0, false, FW1, CG, 0, 0);
	tw(e, TL_EV_TW_START, T0 + 4 * MS, 0xbb, 0, false, TW, 0);
	state(e, T0 + 4 * MS, 9, 0, false, CG, CL, 0, 0);
	tw(e, TL_EV_TW_EXPIRE, T0 + 4 * MS + 60 * SEC, 0xbb, 0, false, TW, 0);
	CHECK_EQ_U64(nseen, 1);
	CHECK(PATH(&seen[0], SS, ES, FW1, CG, TW, CLOSED));
	CHECK_EQ_U64(seen[0].end, TL_END_TW_EXPIRED);
	tl_engine_free(e);
}

/* A lost transition: the record is not trusted to its end. */
static void missing_transition_marks_gap(void)
{
	struct tl_engine *e = engine(0);
	struct tl_engine_stats st;

	connected(e, 10, 0, false);
	/* ES -> FW1 never arrived. */
	state(e, T0 + 3 * MS, 10, 0, false, FW1, FW2, 0, 0);
	into_time_wait(e, T0 + 4 * MS, 10, 0, 0xcc);
	tw(e, TL_EV_TW_EXPIRE, T0 + 4 * MS + 60 * SEC, 0xcc, 0, false, TW, 0);
	CHECK_EQ_U64(nseen, 1);
	CHECK(seen[0].gap);
	CHECK(!seen[0].complete);
	CHECK_EQ_U64(seen[0].end, TL_END_UNKNOWN);
	CHECK_EQ_U64(seen[0].time_wait_ns, 60 * SEC);
	tl_engine_stats(e, &st);
	CHECK_EQ_U64(st.gaps, 1);
	tl_engine_free(e);
}

static void ring_buffer_loss_taints_open_records(void)
{
	struct tl_engine *e = engine(0);
	struct tl_event lost = ev_base(TL_EV_LOST, T0 + 2 * MS, 0, 0, false);
	struct tl_engine_stats st;

	state(e, T0, 11, 0, false, CL, SS, TL_F_IN_TASK, 100);
	lost.aux = 5;
	tl_engine_feed(e, &lost);
	state(e, T0 + 3 * MS, 11, 0, false, SS, ES, 0, 0);
	state(e, T0 + 4 * MS, 12, 1, false, CL, SS, TL_F_IN_TASK, 100);
	tl_engine_finish(e, T0 + 10 * MS);
	CHECK_EQ_U64(nseen, 2);
	CHECK(seen[0].gap && !seen[0].complete);
	CHECK(!seen[1].gap);
	CHECK_EQ_U64(seen[1].end, TL_END_UNKNOWN);	/* still open at exit */
	tl_engine_stats(e, &st);
	CHECK_EQ_U64(st.lost, 5);
	tl_engine_free(e);
}

/* Events from different CPUs may arrive slightly out of time order. */
static void slightly_out_of_order_timestamps(void)
{
	struct tl_engine *e = engine(0);

	state(e, T0 + 10, 13, 0, false, CL, SS, TL_F_IN_TASK, 100);
	state(e, T0 + 5, 13, 0, false, SS, ES, 0, 0);
	state(e, T0 + 2 * MS, 13, 0, false, ES, CL, 0, 0);
	tick(e, T0 + 1 * SEC);
	CHECK_EQ_U64(nseen, 1);
	CHECK_EQ_U64(seen[0].states[0].ns, 0);	/* clamped, never wrapped */
	CHECK(seen[0].complete);
	tl_engine_free(e);
}

/* The kernel recycles a freed sock's address for the next socket. */
static void reused_socket_address_starts_new_lifecycle(void)
{
	struct tl_engine *e = engine(0);

	connected(e, 14, 0, false);
	state(e, T0 + 2 * MS, 14, 0, false, ES, CL, TL_F_IN_TASK, 100);
	state(e, T0 + 2 * MS + 100, 14, 1, false, CL, SS, TL_F_IN_TASK, 101);
	CHECK_EQ_U64(nseen, 1);
	CHECK_EQ_U64(seen[0].end, TL_END_CLOSED);
	CHECK(seen[0].complete);
	tl_engine_finish(e, T0 + 3 * MS);
	CHECK_EQ_U64(nseen, 2);
	CHECK_EQ_U64(seen[1].owner.pid, 101);
	CHECK(seen[1].conn != seen[0].conn);
	tl_engine_free(e);
}

static void seeded_sockets(void)
{
	struct tl_engine *e = engine(0);

	feed(e, sock_ev(TL_EV_SEED, T0, 15, 0, false, CW, 30 * SEC, 0));	/* age: a lower bound */
	seed_tw(e, T0, 0xdd, 1, 20 * SEC);
	/* Consumed after the seed but older than it: already reflected. */
	state(e, T0 - 5 * SEC, 15, 0, false, ES, CW, 0, 0);
	state(e, T0 + 2 * SEC, 15, 0, false, CW, LA, TL_F_IN_TASK, 400);
	state(e, T0 + 2 * SEC + 1 * MS, 15, 0, false, LA, CL, 0, 0);
	tw(e, TL_EV_TW_EXPIRE, T0 + 40 * SEC, 0xdd, 1, false, TW, 0);
	CHECK_EQ_U64(nseen, 2);
	CHECK(PATH(&seen[0], CW, LA, CLOSED));
	CHECK(seen[0].seeded && !seen[0].start_exact && !seen[0].gap);
	CHECK_EQ_U64(seen[0].close_wait_ns, 32 * SEC);
	CHECK_EQ_U64(seen[0].end, TL_END_CLOSED);
	CHECK(PATH(&seen[1], TW, CLOSED));
	CHECK(seen[1].seeded && seen[1].start_exact);
	CHECK_EQ_U64(seen[1].time_wait_ns, 60 * SEC);
	CHECK_EQ_U64(seen[1].end, TL_END_TW_EXPIRED);
	tl_engine_free(e);
}

static void finish_reports_open_ones_in_creation_order(void)
{
	struct tl_engine *e = engine(0);

	state(e, T0, 20, 0, false, CL, SS, TL_F_IN_TASK, 100);
	state(e, T0 + 1 * MS, 21, 1, false, CL, SS, TL_F_IN_TASK, 100);
	state(e, T0 + 2 * MS, 20, 0, false, SS, ES, 0, 0);	/* 20 now most recent */
	tl_engine_finish(e, T0 + 1 * SEC);
	CHECK_EQ_U64(nseen, 2);
	CHECK(seen[0].conn < seen[1].conn);
	CHECK(PATH(&seen[0], SS, ES));
	CHECK_EQ_U64(seen[0].states[1].ns, 998 * MS);
	CHECK_EQ_U64(seen[0].end_ns, T0 + 1 * SEC);
	CHECK(!seen[0].complete);
	CHECK_EQ_U64(seen[0].end, TL_END_UNKNOWN);
	tl_engine_free(e);
}

static void cap_evicts_least_recently_used(void)
{
	struct tl_engine *e = engine(2);
	struct tl_engine_stats st;

	state(e, T0, 30, 0, false, CL, SS, TL_F_IN_TASK, 100);
	state(e, T0 + 1, 31, 1, false, CL, SS, TL_F_IN_TASK, 100);
	state(e, T0 + 2, 30, 0, false, SS, ES, 0, 0);
	state(e, T0 + 3, 32, 2, false, CL, SS, TL_F_IN_TASK, 100);
	CHECK_EQ_U64(nseen, 1);
	CHECK(seen[0].evicted && !seen[0].complete);
	CHECK_EQ_U64(seen[0].tuple.sport, 40001);
	tl_engine_stats(e, &st);
	CHECK_EQ_U64(st.evicted, 1);
	CHECK_EQ_U64(st.open, 2);
	CHECK_EQ_U64(st.peak_open, 2);
	tl_engine_finish(e, T0 + 10);
	CHECK_EQ_U64(nseen, 3);
	tl_engine_free(e);
}

static void listeners_are_not_lifecycles(void)
{
	struct tl_engine *e = engine(0);

	state(e, T0, 40, 0, true, CL, LI, TL_F_IN_TASK, 100);
	state(e, T0 + 5 * SEC, 40, 0, true, LI, CL, TL_F_IN_TASK, 100);
	tick(e, T0 + 6 * SEC);
	tl_engine_finish(e, T0 + 7 * SEC);
	CHECK_EQ_U64(nseen, 0);
	CHECK_EQ_U64(ntrans, 0);
	tl_engine_free(e);
}

/* Connect() binds its port only after reporting CLOSE->SYN_SENT. */
static void tuple_follows_the_socket(void)
{
	struct tl_engine *e = engine(0);
	struct tl_event ev = ev_base(TL_EV_STATE, T0, 50, 0, false);

	ev.sport = 0;
	ev.old_state = CL;
	ev.new_state = SS;
	ev.flags = TL_F_IN_TASK;
	ev.pid = 100;
	tl_engine_feed(e, &ev);
	state(e, T0 + 1 * MS, 50, 0, false, SS, ES, 0, 0);
	state(e, T0 + 2 * MS, 50, 0, false, ES, FW1, TL_F_IN_TASK, 100);
	state(e, T0 + 3 * MS, 50, 0, false, FW1, FW2, 0, 0);
	into_time_wait(e, T0 + 4 * MS, 50, 0, 0xee);	/* joins by port 40000 */
	tw(e, TL_EV_TW_EXPIRE, T0 + 64 * SEC, 0xee, 0, false, TW, 0);
	CHECK_EQ_U64(nseen, 1);
	CHECK_EQ_U64(seen[0].tuple.sport, 40000);
	CHECK(PATH(&seen[0], SS, ES, FW1, FW2, TW, CLOSED));
	CHECK_EQ_U64(seen[0].end, TL_END_TW_EXPIRED);
	tl_engine_free(e);
}

/* A tw sock for a connection we never saw still gets a lifecycle. */
static void orphan_timewait_without_full_socket(void)
{
	struct tl_engine *e = engine(0);

	tw(e, TL_EV_TW_START, T0, 0xff, 3, false, TW, 0);
	tw(e, TL_EV_TW_EXPIRE, T0 + 60 * SEC, 0xff, 3, false, TW, 0);
	CHECK_EQ_U64(nseen, 1);
	CHECK(PATH(&seen[0], TW, CLOSED));
	CHECK(!seen[0].start_exact);
	CHECK_EQ_U64(seen[0].time_wait_ns, 60 * SEC);
	tl_engine_free(e);
}

/* An orphan's tw sock turns TIME_WAIT without a trace when the re-armed
 * expiry falls in the same timer-wheel bucket: expiry tells when. */
static void silent_rearm_found_at_expiry(void)
{
	struct tl_engine *e = engine(0);

	orphan_in_tw_sock(e, 60, 0, false, 0x600);
	/* FIN at T0 + 203 ms, silently; the timer fires 61.1 s after that. */
	feed(e, sock_ev(TL_EV_TW_EXPIRE, T0 + 203 * MS + 61100 * MS, 0x600, 0, false,
			TW, 61100 * MS, 0));
	CHECK_EQ_U64(nseen, 1);
	CHECK(PATH(&seen[0], SS, ES, FW1, FW2, TW, CLOSED));
	CHECK_EQ_U64(seen[0].fin_wait2_ns, 200 * MS);
	CHECK_EQ_U64(seen[0].time_wait_ns, 61100 * MS);
	CHECK_EQ_U64(seen[0].end, TL_END_TW_EXPIRED);
	/* The transition is reported with the time it really happened. */
	CHECK_EQ_U64(trans[ntrans - 2].new_state, TW);
	CHECK_EQ_U64(trans[ntrans - 2].ts_ns, T0 + 203 * MS);
	tl_engine_free(e);
}

static void silent_rearm_then_killed(void)
{
	struct tl_engine *e = engine(0);

	orphan_in_tw_sock(e, 61, 0, true, 0x610);
	/* TIME_WAIT since T0 + 503 ms */
	feed(e, sock_ev(TL_EV_TW_CANCEL, T0 + 1003 * MS, 0x610, 0, true, TW, 500 * MS, 0));
	tick(e, T0 + 1100 * MS);
	CHECK_EQ_U64(nseen, 1);
	CHECK(PATH(&seen[0], SR, ES, FW1, FW2, TW, CLOSED));
	CHECK_EQ_U64(seen[0].fin_wait2_ns, 500 * MS);
	CHECK_EQ_U64(seen[0].time_wait_ns, 500 * MS);
	CHECK_EQ_U64(seen[0].end, TL_END_TW_KILLED);
	tl_engine_free(e);
}

/* At exit the tracer re-reads the tw socks it tracks. */
static void refresh_seed_finds_silent_time_wait(void)
{
	struct tl_engine *e = engine(0);

	orphan_in_tw_sock(e, 62, 0, false, 0x620);
	feed(e, sock_ev(TL_EV_SEED, T0 + 10 * SEC, 0x620, 0, false, TW, 9 * SEC,
			TL_F_TW_SOCK | TL_F_AGE_EXACT | TL_F_REFRESH));
	/* A socket the stream never showed is not invented at exit. */
	feed(e, sock_ev(TL_EV_SEED, T0 + 10 * SEC, 0x621, 1, false, ES, 0, TL_F_REFRESH));
	tl_engine_finish(e, T0 + 10 * SEC);
	CHECK_EQ_U64(nseen, 1);
	CHECK(PATH(&seen[0], SS, ES, FW1, FW2, TW));
	CHECK_EQ_U64(seen[0].fin_wait2_ns, 1 * SEC - 3 * MS);
	CHECK_EQ_U64(seen[0].time_wait_ns, 9 * SEC);
	CHECK(!seen[0].complete);
	tl_engine_free(e);
}

/* Seeds are read while the ring fills: they must not hurry the endings
 * queued behind them (here an abortive close's late RST). */
static void seeds_do_not_move_the_clock(void)
{
	struct tl_engine *e = engine(0);

	feed(e, sock_ev(TL_EV_SEED, T0 + 1 * SEC, 70, 5, false, ES, 0, 0));
	connected(e, 71, 0, false);
	state(e, T0 + 2 * MS, 71, 0, false, ES, CL, TL_F_IN_TASK, 100);
	simple(e, TL_EV_RESET_SENT, T0 + 2 * MS + 5000, 71);
	tick(e, T0 + 2 * SEC);
	CHECK_EQ_U64(nseen, 1);
	CHECK_EQ_U64(seen[0].end, TL_END_RESET);
	tl_engine_free(e);
}

/* A queued tw start older than the tw's seed: the tw was born while the
 * seed pass ran, and joins its full socket (seen mid-life here, so the
 * lifecycle stays incomplete); the seed made no second lifecycle. */
static void seeded_time_wait_is_not_doubled(void)
{
	struct tl_engine *e = engine(0);

	seed_tw(e, T0 + 1 * SEC, 0x720, 0, 1 * SEC);
	state(e, T0 - 5 * MS, 72, 0, false, FW1, FW2, 0, 0);
	into_time_wait(e, T0, 72, 0, 0x720);
	tw(e, TL_EV_TW_EXPIRE, T0 + 60 * SEC, 0x720, 0, false, TW, 0);
	tl_engine_finish(e, T0 + 61 * SEC);
	CHECK_EQ_U64(nseen, 1);
	CHECK(PATH(&seen[0], FW1, FW2, TW, CLOSED));
	CHECK(!seen[0].complete && seen[0].gap && !seen[0].seeded);
	CHECK_EQ_U64(seen[0].time_wait_ns, 60 * SEC);
	tl_engine_free(e);
}

/* The seed pass listed the tw of a connection born after tracing began
 * (its events queued behind the seeds): the lifecycle is whole and ends
 * tw_expired, never "closed" without TIME_WAIT. */
static void seed_of_a_tw_born_during_seeding(void)
{
	struct tl_engine *e = engine(0);

	seed_tw(e, T0 + 10 * MS, 0x730, 0, 2 * MS);
	to_fin_wait2(e, 73, 0, false, 0, 0);
	into_time_wait(e, T0 + 8 * MS, 73, 0, 0x730);
	tw(e, TL_EV_TW_EXPIRE, T0 + 60 * SEC + 8 * MS, 0x730, 0, false, TW, 0);
	tl_engine_finish(e, T0 + 61 * SEC);
	CHECK_EQ_U64(nseen, 1);
	CHECK(PATH(&seen[0], SS, ES, FW1, FW2, TW, CLOSED));
	CHECK(seen[0].complete && !seen[0].seeded && !seen[0].gap);
	CHECK_EQ_U64(seen[0].end, TL_END_TW_EXPIRED);
	CHECK_EQ_U64(seen[0].time_wait_ns, 60 * SEC);
	tl_engine_free(e);
}

/* The seed pass listed a tw born after tracing began, but the connection
 * it took over was not followed (it predates the trace): the seed, which
 * knows when TIME_WAIT began, stands, and the queued start is in it. */
static void seed_of_a_tw_whose_connection_was_not_followed(void)
{
	struct tl_engine *e = engine(0);

	seed_tw(e, T0 + 10 * MS, 0x740, 0, 2 * MS);
	tw(e, TL_EV_TW_START, T0 + 8 * MS, 0x740, 0, false, TW, 0);
	tw(e, TL_EV_TW_EXPIRE, T0 + 60 * SEC + 8 * MS, 0x740, 0, false, TW, 0);
	tl_engine_finish(e, T0 + 61 * SEC);
	CHECK_EQ_U64(nseen, 1);
	CHECK(PATH(&seen[0], TW, CLOSED));
	CHECK(seen[0].complete && seen[0].seeded && seen[0].start_exact && !seen[0].gap);
	CHECK_EQ_U64(seen[0].start_ns, T0 + 8 * MS);
	CHECK_EQ_U64(seen[0].end, TL_END_TW_EXPIRED);
	tl_engine_free(e);
}

/* connect()s that never got established, told apart by the socket's error
 * on its ->CLOSE (and a port of 0: none was found). */
static void failed_connects_have_their_own_ends(void)
{
	static const struct {
		uint64_t err;
		uint16_t sport;
		enum tl_end end;
	} cases[] = {
		{ ECONNREFUSED, 40000, TL_END_REFUSED },
		{ ETIMEDOUT, 40001, TL_END_SYN_TIMEOUT },
		{ EHOSTUNREACH, 40002, TL_END_CONNECT_FAILED },
		{ 0, 0, TL_END_CONNECT_FAILED },
		{ 0, 40003, TL_END_CLOSED },	/* close() while connecting */
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct tl_engine *e = engine(0);
		struct tl_event ev = ev_base(TL_EV_STATE, T0, 80 + k, 0, false);

		ev.sport = cases[k].sport;
		ev.old_state = CL;
		ev.new_state = SS;
		ev.flags = TL_F_IN_TASK;
		ev.pid = 100;
		tl_engine_feed(e, &ev);
		ev.ts_ns = T0 + 1 * MS;
		ev.old_state = SS;
		ev.new_state = CL;
		ev.aux = cases[k].err;
		tl_engine_feed(e, &ev);
		if (cases[k].err == ECONNREFUSED)
			simple(e, TL_EV_RESET_RECV, T0 + 1 * MS, 80 + k);
		tick(e, T0 + 1 * SEC);
		CHECK_EQ_U64(nseen, 1);
		CHECK(PATH(&seen[0], SS, CLOSED));
		CHECK_EQ_U64(seen[0].end, cases[k].end);
		CHECK(seen[0].complete);
		tl_engine_free(e);
	}
}

/* If an expiry's detach is ever taken for a kill, the expiry corrects it. */
static void expiry_after_cancel_is_an_expiry(void)
{
	struct tl_engine *e = engine(0);

	to_fin_wait2(e, 73, 0, false, 0, 0);
	into_time_wait(e, T0 + 4 * MS, 73, 0, 0x730);
	tw(e, TL_EV_TW_CANCEL, T0 + 4 * MS + 60 * SEC, 0x730, 0, false, TW, 0);
	tw(e, TL_EV_TW_EXPIRE, T0 + 4 * MS + 60 * SEC + 100, 0x730, 0, false, TW, 0);
	tick(e, T0 + 70 * SEC);
	CHECK_EQ_U64(nseen, 1);
	CHECK_EQ_U64(seen[0].end, TL_END_TW_EXPIRED);
	CHECK(PATH(&seen[0], SS, ES, FW1, FW2, TW, CLOSED));
	tl_engine_free(e);
}

/* A connection first met mid-life (evicted earlier, or its start
 * missed) is never reported complete: its first span is unknown. */
static void mid_life_records_are_incomplete(void)
{
	struct tl_engine *e = engine(1);

	connected(e, 74, 0, false);
	state(e, T0 + 2 * MS, 75, 1, false, CL, SS, TL_F_IN_TASK, 100);	/* evicts 74 */
	CHECK_EQ_U64(nseen, 1);
	CHECK(seen[0].evicted);
	state(e, T0 + 3 * MS, 74, 0, false, ES, CW, 0, 0);	/* evicts 75 */
	state(e, T0 + 4 * MS, 74, 0, false, CW, LA, TL_F_IN_TASK, 100);
	state(e, T0 + 5 * MS, 74, 0, false, LA, CL, 0, 0);
	tick(e, T0 + 1 * SEC);
	CHECK_EQ_U64(nseen, 3);
	CHECK(!seen[2].complete && seen[2].gap && !seen[2].start_exact);
	CHECK_EQ_U64(seen[2].end, TL_END_UNKNOWN);
	tl_engine_free(e);
}

/* Past TL_MAX_PATH states the last slot folds the rest, keeping time. */
static void long_path_keeps_its_time(void)
{
	struct tl_engine *e = engine(0);
	uint64_t ts = T0;
	uint64_t total = 0;

	int prev = SS;

	state(e, ts, 76, 0, false, CL, SS, TL_F_IN_TASK, 100);
	for (int k = 0; k < 10; k++) {
		int next = k % 2 ? ES : CW;

		state(e, ts + 1 * MS, 76, 0, false, prev, next, 0, 0);
		prev = next;
		ts += 1 * MS;
	}
	tl_engine_finish(e, ts + 1 * MS);
	CHECK_EQ_U64(nseen, 1);
	for (int k = 0; k < seen[0].nstates; k++)
		total += seen[0].states[k].ns;
	CHECK_EQ_U64(seen[0].nstates, TL_MAX_PATH);
	CHECK_EQ_U64(total, ts + 1 * MS - T0);
	CHECK(seen[0].gap);
	tl_engine_free(e);
}

/* Paths longer than the record keeps times for inline (TIME_WAIT's six
 * states) keep every state's own time, ended or still open. */
static void long_paths_keep_each_state_time(void)
{
	static const int next[] = { ES, CW, ES, CW, ES, CW };
	struct tl_engine *e = engine(0);
	uint64_t ts = T0;
	int prev = SS;

	/* 77: SS and six more states, then CLOSED; 78: the same, open */
	for (uint64_t id = 77; id <= 78; id++) {
		ts = T0;
		prev = SS;
		state(e, ts, id, (int)id, false, CL, SS, TL_F_IN_TASK, 100);
		for (int k = 0; k < 6; k++) {
			ts += (uint64_t)(k + 1) * MS;
			state(e, ts, id, (int)id, false, prev, next[k], 0, 0);
			prev = next[k];
		}
	}
	state(e, ts + 7 * MS, 77, 77, false, prev, CL, 0, 0);
	tl_engine_finish(e, ts + 1 * SEC);
	CHECK_EQ_U64(nseen, 2);
	for (int l = 0; l < 2 && nseen == 2; l++) {
		CHECK_EQ_U64(seen[l].nstates, l ? 7 : 8);
		for (int k = 0; k < 7 && k < seen[l].nstates; k++)
			CHECK_EQ_U64(seen[l].states[k].ns, k < 6 || !l ? (uint64_t)(k + 1) * MS
							      : 1 * SEC);
	}
	CHECK(nseen == 2 && PATH(&seen[0], SS, ES, CW, ES, CW, ES, CW, CLOSED));
	tl_engine_free(e);
}

/* Times past 32 bits of ns (about 4.3 s) are kept whole, before and after
 * the first one, and the ones around the limit too. */
static void long_states_keep_exact_time(void)
{
	struct tl_engine *e = engine(0);
	const uint64_t lim = UINT32_MAX;	/* still fits 32 bits */
	uint64_t ts = T0;

	state(e, ts, 80, 0, true, LI, SR, 0, 0);
	ts += lim;
	state(e, ts, 80, 0, true, SR, ES, 0, 0);
	ts += 3 * 86400 * SEC + 7;		/* three days ESTABLISHED */
	state(e, ts, 80, 0, true, ES, CW, 0, 0);
	ts += lim + 1;
	state(e, ts, 80, 0, true, CW, LA, TL_F_IN_TASK, 100);
	ts += 3;
	state(e, ts, 80, 0, true, LA, CL, 0, 0);
	tick(e, ts + 1 * SEC);
	CHECK_EQ_U64(nseen, 1);
	CHECK(PATH(&seen[0], SR, ES, CW, LA, CLOSED));
	CHECK_EQ_U64(seen[0].states[0].ns, lim);
	CHECK_EQ_U64(seen[0].states[1].ns, 3 * 86400 * SEC + 7);
	CHECK_EQ_U64(seen[0].states[2].ns, lim + 1);
	CHECK_EQ_U64(seen[0].close_wait_ns, lim + 1);
	CHECK_EQ_U64(seen[0].states[3].ns, 3);
	CHECK_EQ_U64(seen[0].end_ns - seen[0].start_ns, ts - T0);
	/* and one still open at the end, its current state long too */
	state(e, ts, 81, 1, true, LI, SR, 0, 0);
	state(e, ts + 5, 81, 1, true, SR, ES, 0, 0);
	tl_engine_finish(e, ts + 5 + 100 * SEC);
	CHECK_EQ_U64(nseen, 2);
	CHECK_EQ_U64(seen[1].states[1].ns, 100 * SEC);
	tl_engine_free(e);
}

/* With opts.pid, only what that process owns reaches the sink; the
 * counts still cover everything. */
static void pid_filter_keeps_to_the_owner(void)
{
	struct tl_engine_opts o = { .pid = 100 };
	struct tl_engine_sink s = { .transition = on_tr, .lifecycle = on_lc };
	struct tl_engine_stats st;
	struct tl_engine *e;

	nseen = ntrans = 0;
	e = tl_engine_new(&o, &s);
	state(e, T0, 90, 0, false, CL, SS, TL_F_IN_TASK, 100);
	state(e, T0 + 1 * MS, 91, 1, false, CL, SS, TL_F_IN_TASK, 200);
	state(e, T0 + 2 * MS, 90, 0, false, SS, CL, 0, 0);
	state(e, T0 + 3 * MS, 91, 1, false, SS, CL, 0, 0);
	state(e, T0 + 4 * MS, 92, 2, false, CL, SS, 0, 0);	/* no owner yet */
	tl_engine_finish(e, T0 + 1 * SEC);
	tl_engine_stats(e, &st);
	CHECK_EQ_U64(nseen, 1);
	CHECK_EQ_U64(seen[0].owner.pid, 100);
	CHECK_EQ_U64(ntrans, 2);
	CHECK_EQ_U64(trans[0].owner.pid, 100);
	CHECK_EQ_U64(trans[1].owner.pid, 100);
	CHECK_EQ_U64(st.ended, 3);
	tl_engine_free(e);
}

/* A tw sock joins the record with its very tuple: not one with the same
 * ports in another netns or of another family. */
static void tw_sock_joins_same_tuple_only(void)
{
	struct tl_engine *e = engine(0);
	struct tl_event ev;

	/* IPv6 connection in netns A ... */
	ev = ev_base(TL_EV_STATE, T0, 60, 5, false);
	to_v6(&ev);
	for (int k = 0; k < 3; k++) {
		static const int from[] = { CL, SS, ES }, to[] = { SS, ES, FW1 };

		ev.ts_ns = T0 + (uint64_t)k * MS;
		ev.old_state = (uint8_t)from[k];
		ev.new_state = (uint8_t)to[k];
		tl_engine_feed(e, &ev);
	}
	/* ... and the same in IPv4, in another netns */
	state(e, T0, 61, 5, false, CL, SS, 0, 0);
	state(e, T0 + 1 * MS, 61, 5, false, SS, ES, 0, 0);
	state(e, T0 + 2 * MS, 61, 5, false, ES, FW1, 0, 0);
	/* a tw sock for the IPv4 one, but in yet another netns: a stranger */
	ev = sock_ev(TL_EV_TW_START, T0 + 3 * MS, 0x600, 5, false, TW, 60 * SEC, 0);
	ev.netns = 1;
	tl_engine_feed(e, &ev);
	/* the IPv6 one's own */
	ev = sock_ev(TL_EV_TW_START, T0 + 4 * MS, 0x601, 5, false, TW, 60 * SEC, 0);
	to_v6(&ev);
	tl_engine_feed(e, &ev);
	tl_engine_finish(e, T0 + 1 * SEC);
	CHECK_EQ_U64(nseen, 3);
	/* creation order: the IPv6 record joined, the IPv4 one did not */
	CHECK_EQ_U64(seen[0].tuple.family, AF_INET6);
	CHECK(PATH(&seen[0], SS, ES, FW1, TW));
	CHECK_EQ_U64(seen[0].tuple.daddr[15], 2);
	CHECK_EQ_U64(seen[1].tuple.family, AF_INET);
	CHECK(PATH(&seen[1], SS, ES, FW1));
	CHECK_EQ_U64(seen[2].tuple.netns, 1);
	CHECK(PATH(&seen[2], TW));
	tl_engine_free(e);
}

static void names(void)
{
	CHECK_STR(tl_state_name(TL_TCP_FIN_WAIT2), "FIN_WAIT2");
	CHECK_STR(tl_state_name(TL_STATE_CLOSED), "CLOSED");
	CHECK_STR(tl_state_name(99), "UNKNOWN");
	CHECK_STR(tl_end_name(TL_END_TW_KILLED), "tw_killed");
	CHECK_STR(tl_end_name(TL_END_FIN_TIMEOUT), "fin_timeout");
}

/* Many overlapping connections through the maps, with deletions. */
static void many_connections(void)
{
	struct tl_engine *e = engine(0);
	struct tl_engine_stats st;
	const int n = 5000;

	for (int k = 0; k < n; k++)
		state(e, T0 + k, 1000 + k, k, false, CL, SS, TL_F_IN_TASK, 100);
	for (int k = 0; k < n; k++) {
		state(e, T0 + n + k, 1000 + k, k, false, SS, ES, 0, 0);
		state(e, T0 + 2 * n + k, 1000 + k, k, false, ES, FW1, TL_F_IN_TASK, 100);
		state(e, T0 + 3 * n + k, 1000 + k, k, false, FW1, FW2, 0, 0);
	}
	for (int k = 0; k < n; k++) {
		tw(e, TL_EV_TW_START, T0 + 4 * n + k, 0x100000 + k, k, false, TW, 0);
		state(e, T0 + 4 * n + k, 1000 + k, k, false, FW2, CL, 0, 0);
	}
	for (int k = 0; k < n; k++)
		tw(e, TL_EV_TW_EXPIRE, T0 + 60 * SEC + k, 0x100000 + k, k, false, TW, 0);
	tl_engine_stats(e, &st);
	CHECK_EQ_U64(nseen, n);
	CHECK_EQ_U64(st.ended, n);
	CHECK_EQ_U64(st.open, 0);
	CHECK_EQ_U64(st.peak_open, n);
	CHECK_EQ_U64(st.gaps, 0);
	tl_engine_free(e);
}

int main(void)
{
	RUN(client_first_close_time_wait_expires);
	RUN(server_close_wait_then_last_ack);
	RUN(orphan_fin_wait2_times_out);
	RUN(orphan_fin_wait2_rearmed_to_time_wait);
	RUN(time_wait_killed_by_reuse);
	RUN(reset_received_in_established);
	RUN(reset_sent_after_close);
	RUN(no_timewait_bucket_left);
	RUN(simultaneous_close_passes_closing);
	RUN(missing_transition_marks_gap);
	RUN(ring_buffer_loss_taints_open_records);
	RUN(slightly_out_of_order_timestamps);
	RUN(reused_socket_address_starts_new_lifecycle);
	RUN(seeded_sockets);
	RUN(finish_reports_open_ones_in_creation_order);
	RUN(cap_evicts_least_recently_used);
	RUN(listeners_are_not_lifecycles);
	RUN(tuple_follows_the_socket);
	RUN(orphan_timewait_without_full_socket);
	RUN(silent_rearm_found_at_expiry);
	RUN(silent_rearm_then_killed);
	RUN(refresh_seed_finds_silent_time_wait);
	RUN(seeds_do_not_move_the_clock);
	RUN(seeded_time_wait_is_not_doubled);
	RUN(seed_of_a_tw_born_during_seeding);
	RUN(seed_of_a_tw_whose_connection_was_not_followed);
	RUN(failed_connects_have_their_own_ends);
	RUN(expiry_after_cancel_is_an_expiry);
	RUN(mid_life_records_are_incomplete);
	RUN(long_path_keeps_its_time);
	RUN(long_paths_keep_each_state_time);
	RUN(long_states_keep_exact_time);
	RUN(pid_filter_keeps_to_the_owner);
	RUN(tw_sock_joins_same_tuple_only);
	RUN(names);
	RUN(many_connections);
	return UNIT_END();
}
