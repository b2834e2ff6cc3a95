/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Threads of a holding process, as they are now; see threadscan.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "proctask.h"
#include "pyframes.h"
#include "stackrefs.h"
#include "threadscan.h"

/* Moves the tids in first[] to the front of tids[], in first's order. */
static void put_first(int32_t *tids, size_t n, const int32_t *first, size_t nfirst)
{
	size_t front = 0;

	for (size_t f = 0; f < nfirst; f++) {
		for (size_t i = front; i < n; i++) {
			if (tids[i] != first[f])
				continue;
			memmove(tids + front + 1, tids + front, (i - front) * sizeof(*tids));
			tids[front++] = first[f];
			break;
		}
	}
}

static const struct tl_py_thread *py_thread(const struct tl_py_thread *py, size_t npy, int32_t tid)
{
	for (size_t i = 0; i < npy; i++)
		if (py[i].tid == tid)
			return &py[i];
	return NULL;
}

/* The user stack of a thread blocked in the kernel, from its sp and pc. */
static uint32_t native_stack(struct tl_stackrefs *refs, const struct tl_event *ev,
			     const struct tl_task_now *t)
{
	char buf[32];
	const char *label = t->syscall >= 0 ? tl_syscall_name(t->syscall, buf, sizeof(buf)) : "";
	struct tl_uwin *w = NULL;
	uint32_t ref;

	if (t->regs_known && t->pc)
		w = calloc(1, sizeof(*w));
	if (w) {
		w->pid = ev->pid;
		w->tid = ev->tid;
		w->regs[7] = t->sp;
		w->regs[16] = t->pc;
		w->len = (uint32_t)tl_task_stack((int)ev->pid, t->sp, w->data, sizeof(w->data));
	}
	ref = tl_stackrefs_blocked(refs, ev, w, label);
	free(w);
	return ref;
}

void tl_thread_scan_emit(int pid, const int32_t *first, size_t nfirst, uint64_t ts,
			 struct tl_stackrefs *refs, tl_emit_fn emit, void *ctx)
{
	struct tl_event ev = { .type = TL_EV_THREAD, .ts_ns = ts, .flags = TL_F_IN_TASK,
			       .pid = (uint32_t)pid };
	struct tl_py_thread *py = NULL;
	size_t ntids, npy = 0, shown = 0, i;
	int32_t *tids;

	if (tl_task_list(pid, &tids, &ntids))
		return;
	put_first(tids, ntids, first, nfirst);
	if (tl_py_stacks(pid, &py, &npy))
		npy = 0;
	for (i = 0; i < ntids && shown < TL_THREADS_SHOWN; i++) {
		const struct tl_py_thread *pt = py_thread(py, npy, tids[i]);
		struct tl_task_now t;
		uint32_t native, python = 0;

		if (tl_task_now(pid, tids[i], &t))
			continue;	/* it exited meanwhile */
		ev.tid = (uint32_t)t.tid;
		memcpy(ev.comm, t.comm, TL_COMM_LEN);
		ev.comm[TL_COMM_LEN - 1] = '\0';
		ev.new_state = (uint8_t)t.state;
		native = native_stack(refs, &ev, &t);
		if (pt && pt->nframes)
			python = tl_stackrefs_frames(refs, &ev, "", pt->frames, (int)pt->nframes);
		ev.aux = (uint64_t)python << 32 | native;
		emit(&ev, ctx);
		shown++;
	}
	tl_py_stacks_free(py, npy);
	free(tids);
	if (i >= ntids)
		return;
	/* the rest, counted */
	ev.tid = 0;
	ev.new_state = 0;
	memset(ev.comm, 0, sizeof(ev.comm));
	ev.aux = ntids - i;
	emit(&ev, ctx);
}
