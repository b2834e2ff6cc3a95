/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Holder scans; see holders.h. */
#include <stdlib.h>
#include <string.h>
#include "grow.h"
#include "holders.h"
#include "procfs.h"
#include "stackrefs.h"

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

static int by_ino(const void *a, const void *b)
{
	uint64_t x = ((const struct scan_sock *)a)->ino, y = ((const struct scan_sock *)b)->ino;

	return x < y ? -1 : x > y;
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
	free(h);
	hs->n = 0;
}

void tl_holder_scan_free(struct tl_holder_scan *hs)
{
	free(hs->socks);
	hs->socks = NULL;
	hs->n = hs->cap = 0;
}
