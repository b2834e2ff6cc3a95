/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Threads of the newest holder scan; see threads.h. */
#include <stdlib.h>
#include <string.h>
#include "grow.h"
#include "threads.h"

void tl_threads_feed(struct tl_threads *t, const struct tl_event *ev)
{
	struct tl_thread *th;

	if (ev->type == TL_EV_SCAN) {
		t->n = t->nrest = 0;
		return;
	}
	if (ev->type != TL_EV_THREAD || t->n + t->nrest >= TL_THREADS_KEEP)
		return;
	if (!ev->tid) {
		if (!tl_grow(&t->rest, &t->rest_cap, t->nrest, sizeof(*t->rest), 16))
			return;
		t->rest[t->nrest++] = (struct tl_thread_rest){ .pid = (int32_t)ev->pid,
							      .count = ev->aux };
		return;
	}
	if (!tl_grow(&t->v, &t->cap, t->n, sizeof(*t->v), 16))
		return;
	th = &t->v[t->n++];
	th->pid = (int32_t)ev->pid;
	th->tid = (int32_t)ev->tid;
	th->state = (char)ev->new_state;
	memcpy(th->comm, ev->comm, TL_COMM_LEN);
	th->comm[TL_COMM_LEN - 1] = '\0';
	th->stack = tl_aux_thread_stack(ev);
	th->pystack = tl_aux_thread_pystack(ev);
}

size_t tl_threads_of(const struct tl_threads *t, int32_t pid, int32_t tid,
		     const struct tl_thread **out, size_t max, uint64_t *more)
{
	size_t n = 0;

	*more = 0;
	for (size_t i = 0; i < t->nrest; i++)
		if (t->rest[i].pid == pid)
			*more += t->rest[i].count;
	for (size_t i = 0; i < t->n && n < max; i++)
		if (t->v[i].pid == pid && t->v[i].tid == tid)
			out[n++] = &t->v[i];
	for (size_t i = 0; i < t->n && n < max; i++)
		if (t->v[i].pid == pid && t->v[i].tid != tid)
			out[n++] = &t->v[i];
	return n;
}

void tl_threads_free(struct tl_threads *t)
{
	free(t->v);
	free(t->rest);
	memset(t, 0, sizeof(*t));
}
