/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What crafted logs must not make cost: time quadratic in their events,
 * memory out of proportion to their size. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "leaks.h"
#include "lifecycle.h"
#include "stacks.h"
#include "unit.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define T0 (1000 * SEC)
/* A quadratic walk at these sizes takes minutes; linear, well under 1 s. */
#define BIG 200000
#define TIME_LIMIT_S 30

static struct tl_lifecycle seen[8];
static int nseen;

static void on_lc(const struct tl_lifecycle *lc, void *ctx)
{
	(void)ctx;
	if (lc->conn >= 1 && lc->conn <= 8)
		seen[lc->conn - 1] = *lc;
	nseen++;
}

static void feed_state(struct tl_engine *e, uint64_t ts, uint64_t id, uint32_t n, int old,
		       int new)
{
	struct tl_event ev = { .type = TL_EV_STATE, .ts_ns = ts, .sk_id = id, .family = AF_INET,
			       .old_state = (uint8_t)old, .new_state = (uint8_t)new,
			       .sport = 8080, .dport = (uint16_t)(1024 + n % 60000) };

	ev.saddr[0] = ev.daddr[0] = 10;
	ev.daddr[1] = (uint8_t)(n >> 16);
	ev.daddr[2] = (uint8_t)(n >> 8);
	ev.daddr[3] = (uint8_t)n;
	tl_engine_feed(e, &ev);
}

static void feed_lost(struct tl_engine *e, uint64_t ts)
{
	struct tl_event ev = { .type = TL_EV_LOST, .ts_ns = ts, .aux = 1 };

	tl_engine_feed(e, &ev);
}

/* Records open or ending when events are lost are tainted; later ones not. */
static void loss_taints_open_and_ending_records(void)
{
	struct tl_engine_sink s = { .lifecycle = on_lc };
	struct tl_engine *e = tl_engine_new(NULL, &s);

	nseen = 0;
	memset(seen, 0, sizeof(seen));
	/* conn 1 ends cleanly before the loss */
	feed_state(e, T0, 1, 1, TL_TCP_CLOSE, TL_TCP_SYN_SENT);
	feed_state(e, T0 + 1, 1, 1, TL_TCP_SYN_SENT, TL_TCP_CLOSE);
	/* conn 2 stays open; conn 3 is ending (in its grace) at the loss */
	feed_state(e, T0 + 2, 2, 2, TL_TCP_CLOSE, TL_TCP_SYN_SENT);
	feed_state(e, T0 + 3, 3, 3, TL_TCP_CLOSE, TL_TCP_SYN_SENT);
	feed_state(e, T0 + 10 * MS, 3, 3, TL_TCP_SYN_SENT, TL_TCP_CLOSE);
	feed_lost(e, T0 + 10 * MS + 1);
	/* conn 4 begins after it and ends cleanly */
	feed_state(e, T0 + 11 * MS, 4, 4, TL_TCP_CLOSE, TL_TCP_SYN_SENT);
	feed_state(e, T0 + 12 * MS, 4, 4, TL_TCP_SYN_SENT, TL_TCP_CLOSE);
	tl_engine_finish(e, T0 + SEC);
	CHECK_EQ_U64(nseen, 4);
	CHECK(!seen[0].gap && seen[0].complete);
	CHECK(seen[1].gap && !seen[1].complete);
	CHECK(seen[2].gap && !seen[2].complete);
	CHECK_EQ_U64(seen[2].end, TL_END_UNKNOWN);
	CHECK(!seen[3].gap && seen[3].complete);
	tl_engine_free(e);
}

/* Each loss record used to walk every open record. */
static void many_losses_with_many_open(void)
{
	struct tl_engine_sink s = { .lifecycle = on_lc };
	struct tl_engine *e = tl_engine_new(NULL, &s);
	struct tl_engine_stats st;

	nseen = 0;
	for (uint32_t i = 0; i < BIG; i++)
		feed_state(e, T0 + i, 0x100000 + i, i, TL_TCP_CLOSE, TL_TCP_SYN_SENT);
	for (uint32_t i = 0; i < BIG; i++)
		feed_lost(e, T0 + BIG + i);
	tl_engine_stats(e, &st);
	CHECK_EQ_U64(st.lost, BIG);
	tl_engine_finish(e, T0 + SEC);
	CHECK_EQ_U64(nseen, BIG);
	CHECK(seen[0].gap);
	tl_engine_free(e);
}

static struct tl_lifecycle close_wait(uint64_t conn, int32_t pid, const char *comm)
{
	struct tl_lifecycle lc;

	memset(&lc, 0, sizeof(lc));
	lc.conn = conn;
	lc.owner.pid = pid;
	snprintf(lc.owner.comm, sizeof(lc.owner.comm), "%s", comm);
	lc.nstates = 1;
	lc.states[0].state = TL_TCP_CLOSE_WAIT;
	lc.states[0].ns = 10 * SEC + conn;
	return lc;
}

/* Grouping used to search every group for each socket. */
static void many_leak_groups(void)
{
	struct tl_leaks L;
	struct tl_lifecycle lc;
	uint64_t total = 0;

	tl_leaks_init(&L, SEC, 0);
	for (uint32_t i = 0; i < BIG; i++) {
		lc = close_wait(i + 1, (int32_t)(1000 + i), "server");
		tl_leaks_add(&L, &lc);
	}
	/* the same owners again join their groups */
	for (uint32_t i = 0; i < 1000; i++) {
		lc = close_wait(BIG + i + 1, (int32_t)(1000 + i), "server");
		tl_leaks_add(&L, &lc);
	}
	/* unknown owners group by name */
	lc = close_wait(BIG + 2000, -1, "a");
	tl_leaks_add(&L, &lc);
	lc = close_wait(BIG + 2001, -1, "a");
	tl_leaks_add(&L, &lc);
	lc = close_wait(BIG + 2002, -1, "b");
	tl_leaks_add(&L, &lc);
	CHECK_EQ_U64(L.ngroups, BIG + 2);
	CHECK_EQ_U64(L.sockets, BIG + 1003);
	tl_leaks_finish(&L);
	for (uint32_t i = 0; i < L.ngroups; i++)
		total += L.groups[i].count;
	CHECK_EQ_U64(total, BIG + 1003);
	CHECK_EQ_U64(L.groups[0].count, 2);
	tl_leaks_free(&L);
}

static size_t blob_of(char *buf, size_t cap, unsigned n)
{
	char cmd[32], frame[] = "handler+0x10 (/usr/bin/server)";
	char *frames[] = { frame, frame, frame };

	snprintf(cmd, sizeof(cmd), "server %u", n);
	return tl_stack_blob(buf, cap, cmd, frames, 3);
}

/* A high reference used to size an array of every lower one. */
static void stack_reference_costs_no_array(void)
{
	struct tl_stacks *t = tl_stacks_new();
	char blob[128];
	size_t len = blob_of(blob, sizeof(blob), 1);

	CHECK_EQ_U64(tl_stacks_add(t, TL_STACKS_MAX, blob, len), 0);
	CHECK(tl_stacks_get(t, TL_STACKS_MAX) != NULL);
	CHECK(tl_stacks_get(t, TL_STACKS_MAX - 1) == NULL);
	CHECK(tl_stacks_bytes(t) < 4096);
	tl_stacks_free(t);
}

/* The same bytes under many references are kept once. */
static void equal_stacks_kept_once(void)
{
	struct tl_stacks *t = tl_stacks_new();
	char blob[128];
	size_t len = blob_of(blob, sizeof(blob), 7);
	const struct tl_stack *a, *b;

	for (uint32_t ref = 1; ref <= 1000; ref++)
		CHECK_EQ_U64(tl_stacks_add(t, ref, blob, len), 0);
	a = tl_stacks_get(t, 1);
	b = tl_stacks_get(t, 1000);
	CHECK(a && a == b);
	if (a) {
		CHECK_STR(a->cmdline, "server 7");
		CHECK_EQ_U64(a->nframes, 3);
	}
	CHECK(tl_stacks_bytes(t) < 1000 * 64);
	/* the first word on a reference stands */
	len = blob_of(blob, sizeof(blob), 8);
	CHECK_EQ_U64(tl_stacks_add(t, 1, blob, len), 0);
	CHECK_STR(tl_stacks_get(t, 1)->cmdline, "server 7");
	/* live interning finds it under its first reference */
	{
		bool is_new;

		len = blob_of(blob, sizeof(blob), 7);
		CHECK_EQ_U64(tl_stacks_intern(t, blob, len, &is_new), 1);
		CHECK(!is_new);
		len = blob_of(blob, sizeof(blob), 9);
		CHECK_EQ_U64(tl_stacks_intern(t, blob, len, &is_new), 1001);
		CHECK(is_new);
	}
	tl_stacks_free(t);
}

/* Past the limit, stacks are refused and counted, not kept. */
static void stack_limit_refuses(void)
{
	struct tl_stacks *t = tl_stacks_new();
	static char blob[8192];
	const size_t limit = 100 * 1024;
	unsigned kept = 0;

	tl_stacks_set_limit(t, limit);
	for (unsigned i = 1; i <= 100; i++) {
		size_t len = blob_of(blob, sizeof(blob), i);

		memset(blob + len - 1, 'x', sizeof(blob) - len);
		blob[sizeof(blob) - 1] = '\0';
		if (!tl_stacks_add(t, i, blob, sizeof(blob)))
			kept++;
	}
	CHECK(kept >= 10 && kept < 13);
	CHECK_EQ_U64(tl_stacks_refused(t), 100 - kept);
	CHECK(tl_stacks_bytes(t) <= limit);
	CHECK(tl_stacks_get(t, 1) != NULL);
	CHECK(tl_stacks_get(t, 100) == NULL);
	CHECK_EQ_U64(tl_stacks_add(t, 200, blob, sizeof(blob)), -ENOSPC);
	tl_stacks_free(t);
}

int main(void)
{
	/* a quadratic path back would not end in time */
	alarm(TIME_LIMIT_S);
	RUN(loss_taints_open_and_ending_records);
	RUN(many_losses_with_many_open);
	RUN(many_leak_groups);
	RUN(stack_reference_costs_no_array);
	RUN(equal_stacks_kept_once);
	RUN(stack_limit_refuses);
	return UNIT_END();
}
