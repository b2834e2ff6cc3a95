// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CLOSE_WAIT leak grouping and diagnosis; see leaks.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "units.h"
#include "grow.h"
#include "leaks.h"

/* What makes a group: owner (its name only when the pid is not known),
 * creation stack, EOF read.  Whole words, as tl_intern wants. */
struct tl_leak_key {
	int64_t pid;
	uint64_t stack_eof;
	char comm[16];
};
_Static_assert(TL_COMM_LEN <= 16, "comm fits the key");

void tl_leaks_init(struct tl_leaks *L, uint64_t min_age_ns, uint64_t last_scan)
{
	memset(L, 0, sizeof(*L));
	L->min_age_ns = min_age_ns;
	L->last_scan = last_scan;
	tl_intern_init(&L->keys, sizeof(struct tl_leak_key));
}

void tl_leaks_free(struct tl_leaks *L)
{
	free(L->groups);
	L->groups = NULL;
	L->ngroups = L->cap = 0;
	tl_intern_free(&L->keys);
	tl_idmap_free(&L->by_key);
}

/* The group of lc, or NULL if it has none yet; *kix is its key's index
 * (TL_INTERN_NONE without memory). */
static struct tl_leak_group *find_group(struct tl_leaks *L, const struct tl_lifecycle *lc,
					uint32_t stack, bool eof, uint32_t *kix)
{
	struct tl_leak_key k;
	uint32_t gi;

	memset(&k, 0, sizeof(k));
	k.pid = lc->owner.pid;
	k.stack_eof = (uint64_t)stack << 1 | eof;
	if (lc->owner.pid < 0)
		memcpy(k.comm, lc->owner.comm, strnlen(lc->owner.comm, TL_COMM_LEN - 1));
	*kix = tl_intern_ref(&L->keys, &k, sizeof(k));
	if (*kix == TL_INTERN_NONE || !tl_idmap_get(&L->by_key, *kix, &gi))
		return NULL;
	return &L->groups[gi];
}

void tl_leaks_add(struct tl_leaks *L, const struct tl_lifecycle *lc)
{
	const struct tl_state_span *last;
	const struct tl_usage *u = lc->usage;
	struct tl_leak_group *g;
	uint32_t stack = u ? u->create_stack : 0, kix;
	bool eof = u && u->eof_seen;

	if (lc->nstates < 1)
		return;
	last = &lc->states[lc->nstates - 1];
	if (last->state != TL_TCP_CLOSE_WAIT || last->ns < L->min_age_ns)
		return;
	L->sockets++;
	g = find_group(L, lc, stack, eof, &kix);
	if (!g) {
		if (kix == TL_INTERN_NONE)
			return;
		if (!tl_grow(&L->groups, &L->cap, L->ngroups, sizeof(*L->groups), 16))
			return;
		if (!tl_idmap_put(&L->by_key, kix, L->ngroups))
			return;
		g = &L->groups[L->ngroups++];
		memset(g, 0, sizeof(*g));
		g->owner = lc->owner;
		g->stack = stack;
		g->eof_seen = eof;
		g->created_by = u ? u->created_by : 0;
	}
	g->count++;
	if (g->count > 1 && last->ns <= g->oldest_ns)
		return;
	/* the oldest is the example */
	g->oldest_ns = last->ns;
	g->oldest_exact = lc->start_exact || lc->nstates > 1;
	g->conn = lc->conn;
	g->tuple = lc->tuple;
	if (u) {
		g->usage = *u;
	} else {
		memset(&g->usage, 0, sizeof(g->usage));
		g->usage.create_fd = -1;
		g->usage.last.pid = -1;
	}
	g->holders_known = L->last_scan && g->usage.holders_ns == L->last_scan;
	if (!g->holders_known)
		g->usage.nholders = 0;
}

static int by_size(const void *a, const void *b)
{
	const struct tl_leak_group *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->oldest_ns != y->oldest_ns)
		return x->oldest_ns > y->oldest_ns ? -1 : 1;
	return x->conn < y->conn ? -1 : x->conn > y->conn;
}

/* A holder that is not the closer: the copy left behind. */
static const struct tl_proc_fd *other_holder(const struct tl_usage *u, int32_t closer)
{
	int n = u->nholders < TL_USAGE_MAX ? u->nholders : TL_USAGE_MAX;

	for (int i = 0; i < n; i++)
		if (u->holders[i].pid != closer)
			return &u->holders[i];
	return NULL;
}

static void diagnose(struct tl_leak_group *g)
{
	const struct tl_usage *u = &g->usage;
	const struct tl_owner *o = &g->owner;
	int nclosers = u->nclosers < TL_USAGE_MAX ? u->nclosers : TL_USAGE_MAX;
	char *d = g->diagnosis;
	size_t n = sizeof(g->diagnosis);
	int fd = u->nholders ? u->holders[0].fd : u->create_fd;

	for (int i = nclosers - 1; i >= 0; i--) {
		const struct tl_proc_fd *c = &u->closers[i], *h = other_holder(u, c->pid);

		if (!h)
			continue;
		if (c->ppid == h->pid)
			snprintf(d, n, "child %d (%s) closed its copy; parent %d (%s) still holds "
				 "fd %d: close the socket in the parent after fork()",
				 c->pid, c->comm, h->pid, h->comm, h->fd);
		else
			snprintf(d, n, "%d (%s) closed its copy; %d (%s) still holds fd %d "
				 "(inherited or passed on): close every copy",
				 c->pid, c->comm, h->pid, h->comm, h->fd);
		return;
	}
	if (g->holders_known && !u->nholders) {
		snprintf(d, n, "no process holds an fd on it any more: it is in flight "
			 "(SCM_RIGHTS) or the kernel keeps it");
		return;
	}
	if (u->eof_seen) {
		snprintf(d, n, "%d (%s) read EOF (recv returned 0) but never closed fd %d: "
			 "close() is missing after the read that returns 0", o->pid, o->comm, fd);
		return;
	}
	if (u->last.pid >= 0) {
		snprintf(d, n, "the peer closed; %d (%s) never read the EOF nor closed fd %d: "
			 "thread %d, the last to use it, is blocked elsewhere or dropped the fd",
			 o->pid, o->comm, fd, u->last_tid);
		return;
	}
	if (o->pid >= 0)
		snprintf(d, n, "the peer closed; %d (%s) has not read from fd %d nor closed it "
			 "since tracing began", o->pid, o->comm, fd);
	else
		snprintf(d, n, "the peer closed; its owner never closed it");
}

void tl_leaks_finish(struct tl_leaks *L)
{
	if (L->ngroups > 1)
		qsort(L->groups, L->ngroups, sizeof(*L->groups), by_size);
	for (uint32_t i = 0; i < L->ngroups; i++)
		diagnose(&L->groups[i]);
}

void tl_leaks_only_pid(struct tl_leaks *L, long pid)
{
	uint32_t k = 0;

	if (!pid)
		return;
	L->sockets = 0;
	for (uint32_t i = 0; i < L->ngroups; i++) {
		if (L->groups[i].owner.pid != pid)
			continue;
		L->sockets += L->groups[i].count;
		L->groups[k++] = L->groups[i];
	}
	L->ngroups = k;
}

static void add_open(const struct tl_lifecycle *lc, void *ctx)
{
	tl_leaks_add(ctx, lc);
}

void tl_leaks_collect(struct tl_leaks *L, struct tl_engine *e, uint64_t now_ns,
		      uint64_t min_age_ns, long pid)
{
	tl_leaks_init(L, min_age_ns, tl_engine_last_scan(e));
	tl_engine_each_open(e, now_ns, 0, add_open, L);
	tl_leaks_finish(L);
	tl_leaks_only_pid(L, pid);
}
