/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Leak hunting logic: the engine's usage records, leak grouping and
 * diagnosis, the stack table -- driven by synthetic events. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include "leaks.h"
#include "lifecycle.h"
#include "stacks.h"
#include "testev.h"
#include "unit.h"

#define SEC 1000000000ULL
#define T0 (1000 * SEC)

enum { ES = TL_TCP_ESTABLISHED, SS = TL_TCP_SYN_SENT, SR = TL_TCP_SYN_RECV,
       CL = TL_TCP_CLOSE, CW = TL_TCP_CLOSE_WAIT, LA = TL_TCP_LAST_ACK, LI = TL_TCP_LISTEN };

/* The server side of conversation n. */
static struct tl_event ev_of(int type, uint64_t ts, uint64_t id, int n)
{
	return loopback_event(type, ts, id, 8080, (uint16_t)(40000 + n));
}

static struct tl_engine *leak_engine(void)
{
	struct tl_engine_opts o = { .usage = true };

	return tl_engine_new(&o, NULL);
}

static void state(struct tl_engine *e, uint64_t ts, uint64_t id, int n, int old, int new)
{
	struct tl_event ev = ev_of(TL_EV_STATE, ts, id, n);

	ev.old_state = (uint8_t)old;
	ev.new_state = (uint8_t)new;
	tl_engine_feed(e, &ev);
}

static void owner(struct tl_engine *e, uint64_t ts, uint64_t id, int n, int role, uint32_t pid,
		  uint32_t tid, const char *comm, uint64_t aux)
{
	struct tl_event ev = ev_of(TL_EV_OWNER, ts, id, n);

	in_task(&ev, pid, tid, comm);
	ev.old_state = (uint8_t)role;
	ev.aux = aux;
	tl_engine_feed(e, &ev);
}

static void scan(struct tl_engine *e, uint64_t ts)
{
	struct tl_event ev = { .type = TL_EV_SCAN, .ts_ns = ts };

	tl_engine_feed(e, &ev);
}

static void holder(struct tl_engine *e, uint64_t ts, uint64_t id, int n, uint32_t pid,
		   const char *comm, int fd)
{
	struct tl_event ev = ev_of(TL_EV_HOLDER, ts, id, n);

	in_task(&ev, pid, pid, comm);
	ev.aux = TL_OWN_AUX(pid % 7, fd);	/* a command line reference */
	tl_engine_feed(e, &ev);
}

/* A server socket n: accepted by pid at T0 + n ms, the peer closes at
 * T0 + 1 s. */
static void server_conn(struct tl_engine *e, uint64_t id, int n, uint32_t pid, uint32_t stack,
			int fd)
{
	uint64_t t = T0 + (uint64_t)n * 1000000;

	state(e, t, id, n, LI, SR);
	state(e, t + 1000, id, n, SR, ES);
	owner(e, t + 2000, id, n, TL_OWN_ACCEPT, pid, pid, "srv", TL_OWN_AUX(stack, fd));
	state(e, T0 + SEC, id, n, ES, CW);
}

/* Server sockets first_id.. (n 1..3) of pid 100, all from stack 7, on fds
 * 5..7. */
static void three_from_one_path(struct tl_engine *e, uint64_t first_id)
{
	for (int k = 0; k < 3; k++)
		server_conn(e, first_id + (uint64_t)k, 1 + k, 100, 7, 5 + k);
}

static void add_cb(const struct tl_lifecycle *lc, void *ctx)
{
	tl_leaks_add(ctx, lc);
}

static void collect(struct tl_engine *e, struct tl_leaks *L, uint64_t now, uint64_t min_age)
{
	tl_leaks_init(L, min_age, tl_engine_last_scan(e));
	tl_engine_each_open(e, now, 0, add_cb, L);
	tl_leaks_finish(L);
}

/* Three sockets from one code path and one from another, in one process:
 * two groups, the bigger first, ages from the CLOSE_WAIT entry. */
static void groups_by_path(void)
{
	struct tl_engine *e = leak_engine();
	struct tl_leaks L;

	three_from_one_path(e, 11);
	server_conn(e, 14, 4, 100, 9, 8);
	collect(e, &L, T0 + 31 * SEC, 30 * SEC);
	CHECK_EQ_U64(L.ngroups, 2);
	CHECK_EQ_U64(L.sockets, 4);
	if (L.ngroups == 2) {
		CHECK_EQ_U64(L.groups[0].count, 3);
		CHECK_EQ_U64(L.groups[0].stack, 7);
		CHECK_EQ_U64(L.groups[0].oldest_ns, 30 * SEC);
		CHECK(L.groups[0].oldest_exact);
		CHECK_EQ_U64(L.groups[0].owner.pid, 100);
		CHECK_EQ_U64(L.groups[0].created_by, TL_OWN_ACCEPT);
		CHECK_EQ_U64(L.groups[0].usage.create_fd, 5);
		CHECK_EQ_U64(L.groups[1].count, 1);
		CHECK_EQ_U64(L.groups[1].stack, 9);
		CHECK(!L.groups[1].eof_seen);
	}
	tl_leaks_free(&L);
	/* Younger than the threshold: no leak yet. */
	collect(e, &L, T0 + 29 * SEC, 30 * SEC);
	CHECK_EQ_U64(L.ngroups, 0);
	CHECK_EQ_U64(L.sockets, 0);
	tl_leaks_free(&L);
	tl_engine_free(e);
}

/* A socket closed by its owner (CLOSE_WAIT -> LAST_ACK) is no leak; one
 * whose EOF was read makes a group of its own, with eof_seen. */
static void eof_and_closed(void)
{
	struct tl_engine *e = leak_engine();
	struct tl_leaks L;

	three_from_one_path(e, 21);
	owner(e, T0 + 2 * SEC, 22, 2, TL_OWN_EOF, 100, 101, "srv-worker", TL_OWN_AUX(3, 0));
	state(e, T0 + 3 * SEC, 23, 3, CW, LA);
	collect(e, &L, T0 + 40 * SEC, 30 * SEC);
	CHECK_EQ_U64(L.ngroups, 2);
	CHECK_EQ_U64(L.sockets, 2);
	for (uint32_t i = 0; i < L.ngroups; i++) {
		const struct tl_leak_group *g = &L.groups[i];

		CHECK_EQ_U64(g->count, 1);
		if (g->eof_seen) {
			CHECK_EQ_U64(g->usage.eof_stack, 3);
			CHECK_EQ_U64(g->usage.last_tid, 101);
			CHECK_EQ_U64(g->usage.eof_ns, T0 + 2 * SEC);
			CHECK(strstr(g->diagnosis, "read EOF") != NULL);
			CHECK(strstr(g->diagnosis, "fd 6") != NULL);
		} else {
			CHECK_EQ_U64(g->usage.create_fd, 5);
			CHECK(strstr(g->diagnosis, "never closed") != NULL ||
			      strstr(g->diagnosis, "nor closed") != NULL);
		}
	}
	tl_leaks_free(&L);
	tl_engine_free(e);
}

/* The fork case: the child closes its copy, the parent's stays. */
static void fork_copy(void)
{
	struct tl_engine *e = leak_engine();
	struct tl_leaks L;

	server_conn(e, 31, 1, 300, 4, 7);
	owner(e, T0 + SEC / 2, 31, 1, TL_OWN_CLOSE_SHARED, 301, 301, "srv", TL_OWN_AUX(300, 7));
	scan(e, T0 + 40 * SEC);
	holder(e, T0 + 40 * SEC, 31, 1, 300, "srv", 7);
	collect(e, &L, T0 + 40 * SEC, 30 * SEC);
	CHECK_EQ_U64(L.ngroups, 1);
	if (L.ngroups == 1) {
		const struct tl_leak_group *g = &L.groups[0];

		CHECK(g->holders_known);
		CHECK_EQ_U64(g->usage.nholders, 1);
		CHECK_EQ_U64(g->usage.holders[0].pid, 300);
		CHECK_EQ_U64(g->usage.holders[0].fd, 7);
		CHECK_EQ_U64(g->usage.nclosers, 1);
		CHECK_EQ_U64(g->usage.closers[0].pid, 301);
		CHECK_EQ_U64(g->usage.closers[0].ppid, 300);
		CHECK_STR(g->diagnosis, "child 301 (srv) closed its copy; parent 300 (srv) still "
			  "holds fd 7: close the socket in the parent after fork()");
	}
	tl_leaks_free(&L);
	tl_engine_free(e);
}

/* Holders from an older scan are stale: a newer scan that did not find
 * the socket's holders leaves it with none known. */
static void stale_holders(void)
{
	struct tl_engine *e = leak_engine();
	struct tl_leaks L;

	server_conn(e, 41, 1, 400, 4, 3);
	scan(e, T0 + 35 * SEC);
	holder(e, T0 + 35 * SEC, 41, 1, 400, "srv", 3);
	holder(e, T0 + 35 * SEC, 41, 1, 401, "srv-child", 3);
	collect(e, &L, T0 + 36 * SEC, 30 * SEC);
	CHECK_EQ_U64(L.ngroups, 1);
	if (L.ngroups == 1)
		CHECK_EQ_U64(L.groups[0].usage.nholders, 2);
	tl_leaks_free(&L);
	scan(e, T0 + 45 * SEC);
	collect(e, &L, T0 + 46 * SEC, 30 * SEC);
	CHECK_EQ_U64(L.ngroups, 1);
	if (L.ngroups == 1) {
		CHECK(!L.groups[0].holders_known);
		CHECK_EQ_U64(L.groups[0].usage.nholders, 0);
	}
	tl_leaks_free(&L);
	tl_engine_free(e);
}

/* A socket already in CLOSE_WAIT when tracing began: its age is a lower
 * bound, its owner comes from the holder scan. */
static void seeded_leak(void)
{
	struct tl_engine *e = leak_engine();
	struct tl_event ev = ev_of(TL_EV_SEED, T0, 51, 1);
	struct tl_leaks L;

	ev.new_state = CW;
	ev.aux = 100 * SEC;
	tl_engine_feed(e, &ev);
	scan(e, T0 + 1);
	holder(e, T0 + 1, 51, 1, 500, "old", 9);
	collect(e, &L, T0 + SEC, 30 * SEC);
	CHECK_EQ_U64(L.ngroups, 1);
	if (L.ngroups == 1) {
		const struct tl_leak_group *g = &L.groups[0];

		CHECK_EQ_U64(g->owner.pid, 500);
		CHECK_STR(g->owner.comm, "old");
		CHECK(!g->oldest_exact);
		CHECK_EQ_U64(g->oldest_ns, 101 * SEC);
		CHECK_EQ_U64(g->created_by, 0);
		CHECK_EQ_U64(g->stack, 0);
		CHECK_EQ_U64(g->usage.holders[0].fd, 9);
		CHECK_EQ_U64(g->usage.holders[0].cmdline, 500 % 7);
	}
	tl_leaks_free(&L);
	tl_engine_free(e);
}

/* Usage records are recycled with their connections: a new socket at the
 * same id starts with none. */
static void usage_recycled(void)
{
	struct tl_engine *e = leak_engine();
	struct tl_leaks L;

	server_conn(e, 61, 1, 600, 4, 3);
	owner(e, T0 + 2 * SEC, 61, 1, TL_OWN_EOF, 600, 600, "srv", 0);
	state(e, T0 + 3 * SEC, 61, 1, CW, LA);
	state(e, T0 + 3 * SEC + 100, 61, 1, LA, CL);
	/* the same id, reused for a connect()ed socket */
	state(e, T0 + 10 * SEC, 61, 2, CL, SS);
	owner(e, T0 + 10 * SEC, 61, 2, TL_OWN_CONNECT, 601, 601, "cli", TL_OWN_AUX(8, 0));
	state(e, T0 + 10 * SEC + 10, 61, 2, SS, ES);
	state(e, T0 + 11 * SEC, 61, 2, ES, CW);
	collect(e, &L, T0 + 50 * SEC, 30 * SEC);
	CHECK_EQ_U64(L.ngroups, 1);
	if (L.ngroups == 1) {
		CHECK_EQ_U64(L.groups[0].owner.pid, 601);
		CHECK_EQ_U64(L.groups[0].created_by, TL_OWN_CONNECT);
		CHECK(!L.groups[0].eof_seen);
		CHECK_EQ_U64(L.groups[0].usage.create_fd, (uint64_t)-1);
		CHECK_EQ_U64(L.groups[0].stack, 8);
	}
	tl_leaks_free(&L);
	tl_engine_free(e);
}

static void stacks_table(void)
{
	struct tl_stacks *t = tl_stacks_new();
	char *frames[] = { "a+0x1 (a.c:1)", "b+0x2 (libc.so.6)", "0x7f00" };
	char blob[64], other[64];
	size_t len = tl_stack_blob(blob, sizeof(blob), "prog -x", frames, 3), olen;
	const struct tl_stack *st;
	bool is_new;

	CHECK_EQ_U64(len, strlen("prog -x") + 1 + 14 + 18 + 7);
	CHECK_EQ_U64(tl_stacks_intern(t, blob, len, &is_new), 1);
	CHECK(is_new);
	CHECK_EQ_U64(tl_stacks_intern(t, blob, len, &is_new), 1);
	CHECK(!is_new);
	olen = tl_stack_blob(other, sizeof(other), "", frames + 1, 2);
	CHECK_EQ_U64(tl_stacks_intern(t, other, olen, &is_new), 2);
	st = tl_stacks_get(t, 1);
	CHECK(st != NULL);
	if (st) {
		CHECK_STR(st->cmdline, "prog -x");
		CHECK_EQ_U64(st->nframes, 3);
		CHECK_STR(st->frames[2], "0x7f00");
	}
	CHECK(tl_stacks_get(t, 3) == NULL);
	CHECK(tl_stacks_get(t, 0) == NULL);
	/* replay: references as logged, gaps allowed, bad blobs refused */
	CHECK_EQ_U64(tl_stacks_add(t, 5, blob, len), 0);
	CHECK(tl_stacks_get(t, 4) == NULL);
	CHECK(tl_stacks_get(t, 5) != NULL);
	CHECK(tl_stacks_add(t, 6, "no-nul", 6) < 0);
	CHECK(tl_stacks_add(t, 7, "", 0) < 0);
	CHECK(tl_stacks_add(t, TL_STACKS_MAX + 1, blob, len) < 0);
	CHECK(tl_stacks_get(t, 6) == NULL);
	/* a blob too small for all frames keeps the inner ones */
	len = tl_stack_blob(blob, 24, "prog", frames, 3);
	CHECK_EQ_U64(len, 5 + 14);
	tl_stacks_free(t);
}

/* Without leak hunting, owner events name the owner and keep nothing. */
/* A long run meets ever more distinct stacks: past the cap they are
 * refused and counted, those kept stay, and a known one is still found. */
static void stacks_capped(void)
{
	struct tl_stacks *t = tl_stacks_new();
	char *frames[1], blob[64], f[32];
	size_t len, first_len = 0;
	char first[64];
	bool is_new;
	uint32_t ref;

	CHECK(t);
	tl_stacks_set_max(t, 3);
	frames[0] = f;
	for (int i = 0; i < 10; i++) {
		snprintf(f, sizeof(f), "title-%d", i);
		len = tl_stack_blob(blob, sizeof(blob), f, frames, 1);
		if (!i) {
			memcpy(first, blob, len);
			first_len = len;
		}
		ref = tl_stacks_intern(t, blob, len, &is_new);
		CHECK_EQ_U64(ref, i < 3 ? (uint64_t)i + 1 : 0);
	}
	CHECK(tl_stacks_full(t));
	CHECK_EQ_U64(tl_stacks_dropped(t), 7);
	CHECK_EQ_U64(tl_stacks_intern(t, first, first_len, &is_new), 1);
	CHECK(!is_new);
	CHECK_STR(tl_stacks_get(t, 1)->cmdline, "title-0");
	/* the same bytes under another reference: a name, not a new stack */
	CHECK_EQ_U64(tl_stacks_add(t, 9, first, first_len), 0);
	snprintf(f, sizeof(f), "title-new");
	len = tl_stack_blob(blob, sizeof(blob), f, frames, 1);
	CHECK(tl_stacks_add(t, 10, blob, len) == -ENOSPC);
	CHECK_EQ_U64(tl_stacks_add(t, 2, first, first_len), 0);	/* known already */
	tl_stacks_note_drop(t);
	CHECK_EQ_U64(tl_stacks_dropped(t), 9);
	tl_stacks_free(t);
}

static void no_usage(void)
{
	struct tl_engine *e = tl_engine_new(NULL, NULL);
	struct tl_leaks L;

	server_conn(e, 71, 1, 700, 4, 3);
	scan(e, T0 + 40 * SEC);
	holder(e, T0 + 40 * SEC, 71, 1, 701, "other", 3);
	collect(e, &L, T0 + 40 * SEC, 30 * SEC);
	CHECK_EQ_U64(L.ngroups, 1);
	if (L.ngroups == 1) {
		CHECK_EQ_U64(L.groups[0].owner.pid, 700);
		CHECK_EQ_U64(L.groups[0].created_by, 0);
		CHECK_EQ_U64(L.groups[0].usage.nholders, 0);
	}
	tl_leaks_free(&L);
	tl_engine_free(e);
}

int main(void)
{
	RUN(groups_by_path);
	RUN(eof_and_closed);
	RUN(fork_copy);
	RUN(stale_holders);
	RUN(seeded_leak);
	RUN(usage_recycled);
	RUN(stacks_table);
	RUN(no_usage);
	RUN(stacks_capped);
	return UNIT_END();
}
