/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Holder scans; see holders.h. */
#include <stdlib.h>
#include <string.h>
#include "grow.h"
#include "holders.h"
#include "procfs.h"
#include "stackrefs.h"
#include "threadscan.h"

/* A socket to find the holders of: its inode, and what its events say. */
struct scan_sock {
	uint64_t ino;
	struct tl_event ev;	/* its SEED, turned into HOLDER events */
};

void tl_holder_scan_note(struct tl_holder_scan *hs, const struct tl_event *ev, bool any_state)
{
	if (ev->type == TL_EV_SEED) {
		hs->last_seed = *ev;
		return;
	}
	if (ev->type != TL_EV_INODE || ev->sk_id != hs->last_seed.sk_id || !ev->aux ||
	    (!any_state && hs->last_seed.new_state != TL_TCP_CLOSE_WAIT))
		return;
	if (!tl_grow(&hs->socks, &hs->cap, hs->n, sizeof(*hs->socks), 256))
		return;
	hs->socks[hs->n].ino = ev->aux;
	hs->socks[hs->n].ev = hs->last_seed;
	hs->n++;
}

void tl_holder_scan_note_use(struct tl_holder_scan *hs, const struct tl_event *ev)
{
	if (ev->type == TL_EV_OWNER && tl_owner_role(ev) != TL_OWN_CLOSE_SHARED)
		tl_idmap_put(&hs->last_use, ev->sk_id, ev->tid);
	else if (ev->type == TL_EV_STATE && ev->new_state == TL_TCP_CLOSE && hs->last_use.len)
		tl_idmap_del(&hs->last_use, ev->sk_id);
}

static int by_ino(const void *a, const void *b)
{
	uint64_t x = ((const struct scan_sock *)a)->ino, y = ((const struct scan_sock *)b)->ino;

	return x < y ? -1 : x > y;
}

/* A process holding a CLOSE_WAIT socket, and the last user of that socket. */
struct stuck {
	int32_t pid, tid;	/* tid 0: not known */
};

static int by_pid(const void *a, const void *b)
{
	const struct stuck *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* Bounds what a scan reads of the processes holding CLOSE_WAIT sockets. */
#define STUCK_PROCS_MAX	64

/* The threads of every process holding a CLOSE_WAIT socket (h pairs with
 * hs->socks, both sorted by inode), the last users of its sockets first. */
static void emit_threads(struct tl_holder_scan *hs, const struct tl_holder *h, size_t nh,
			 uint64_t ts, struct tl_stackrefs *refs, tl_emit_fn emit, void *ctx)
{
	struct stuck *s = malloc((nh + 1) * sizeof(*s));
	int32_t first[TL_THREADS_SHOWN];
	size_t n = 0, procs = 0;

	if (!s)
		return;
	for (size_t i = 0, k = 0; i < nh; i++) {
		uint32_t tid = 0;

		while (k < hs->n && hs->socks[k].ino < h[i].ino)
			k++;
		if (k == hs->n)
			break;
		if (hs->socks[k].ino != h[i].ino ||
		    hs->socks[k].ev.new_state != TL_TCP_CLOSE_WAIT)
			continue;
		tl_idmap_get(&hs->last_use, hs->socks[k].ev.sk_id, &tid);
		s[n++] = (struct stuck){ .pid = h[i].pid, .tid = (int32_t)tid };
	}
	qsort(s, n, sizeof(*s), by_pid);
	for (size_t i = 0; i < n && procs < STUCK_PROCS_MAX; procs++) {
		size_t nfirst = 0, j;

		for (j = i; j < n && s[j].pid == s[i].pid; j++)
			if (s[j].tid && nfirst < TL_THREADS_SHOWN &&
			    (!nfirst || first[nfirst - 1] != s[j].tid))
				first[nfirst++] = s[j].tid;
		tl_thread_scan_emit(s[i].pid, first, nfirst, ts, refs, emit, ctx);
		i = j;
	}
	free(s);
}

void tl_holder_scan_emit(struct tl_holder_scan *hs, uint64_t ts, struct tl_stackrefs *refs,
			 tl_emit_fn emit, void *ctx)
{
	struct tl_event ev = { .type = TL_EV_SCAN, .ts_ns = ts };
	struct tl_holder *h = NULL;
	uint64_t *inos;
	size_t nh = 0;

	inos = malloc((hs->n + 1) * sizeof(*inos));
	if (!inos)
		return;
	if (hs->n)
		qsort(hs->socks, hs->n, sizeof(*hs->socks), by_ino);
	for (size_t i = 0; i < hs->n; i++)
		inos[i] = hs->socks[i].ino;
	if (hs->n && tl_procfs_holders(inos, hs->n, &h, &nh))
		nh = 0;
	free(inos);
	emit(&ev, ctx);
	/* Both sorted by inode: one walk pairs them. */
	for (size_t i = 0, k = 0; i < nh; i++) {
		while (k < hs->n && hs->socks[k].ino < h[i].ino)
			k++;
		if (k == hs->n)
			break;
		if (hs->socks[k].ino != h[i].ino)
			continue;
		ev = hs->socks[k].ev;
		ev.type = TL_EV_HOLDER;
		ev.ts_ns = ts;
		ev.old_state = 0;
		ev.flags = TL_F_IN_TASK;
		ev.pid = ev.tid = (uint32_t)h[i].pid;
		memcpy(ev.comm, h[i].comm, TL_COMM_LEN);
		ev.comm[TL_COMM_LEN - 1] = '\0';
		ev.aux = TL_OWN_AUX(tl_stackrefs_cmdline(refs, &ev), h[i].fd);
		emit(&ev, ctx);
	}
	if (refs)
		emit_threads(hs, h, nh, ts, refs, emit, ctx);
	free(h);
	hs->n = 0;
}

void tl_holder_scan_free(struct tl_holder_scan *hs)
{
	free(hs->socks);
	hs->socks = NULL;
	hs->n = hs->cap = 0;
	tl_idmap_free(&hs->last_use);
}
