/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Stack references of a live run; see stackrefs.h. */
#include <stdlib.h>
#include <string.h>
#include "idmap.h"
#include "logfile.h"
#include "procfs.h"
#include "stackrefs.h"
#include "stacks.h"
#include "symbolize.h"
#include "unwind.h"

#define CACHE_MAX (1u << 16)	/* (pid, kernel stack id) pairs remembered */

struct tl_stackrefs {
	struct tl_symbolizer *sym;
	struct tl_unwinder *unwind;	/* stacks through the CFI, over sym */
	struct tl_stacks *stacks;	/* what was passed on, by reference */
	struct tl_idmap cache;		/* pid << 32 | kernel stack id -> reference */
	tl_kstack_fn read;
	tl_stack_fn emit;
	void *ctx;
};

struct tl_stackrefs *tl_stackrefs_new(uint32_t max_stacks, int windows_fd, int upaths_fd,
				      tl_kstack_fn read, tl_stack_fn emit, void *ctx)
{
	struct tl_stackrefs *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->sym = tl_sym_new();
	r->stacks = tl_stacks_new();
	r->unwind = r->sym ? tl_unwind_new(r->sym, windows_fd, upaths_fd) : NULL;
	if (!r->sym || !r->stacks || !r->unwind) {
		tl_stackrefs_free(r);
		return NULL;
	}
	if (max_stacks)
		tl_stacks_set_max(r->stacks, max_stacks);
	r->read = read;
	r->emit = emit;
	r->ctx = ctx;
	return r;
}

void tl_stackrefs_free(struct tl_stackrefs *r)
{
	if (!r)
		return;
	tl_unwind_free(r->unwind);
	tl_sym_free(r->sym);
	tl_stacks_free(r->stacks);
	tl_idmap_free(&r->cache);
	free(r);
}

int tl_stackrefs_pump(struct tl_stackrefs *r)
{
	return tl_unwind_pump(r->unwind);
}

int tl_stackrefs_epoll_fd(const struct tl_stackrefs *r)
{
	return tl_unwind_epoll_fd(r->unwind);
}

uint64_t tl_stackrefs_dropped(const struct tl_stackrefs *r)
{
	return r ? tl_stacks_dropped(r->stacks) : 0;
}

/* The reference of a stack's bytes, passed on as a TL_EV_STACK taken in
 * ev's task the first time; 0 if it cannot be kept. */
static uint32_t intern(struct tl_stackrefs *r, const struct tl_event *ev, const char *blob,
		       size_t len)
{
	struct tl_event sev;
	bool is_new;
	uint32_t ref = tl_stacks_intern(r->stacks, blob, len, &is_new);

	if (ref && is_new) {
		sev = (struct tl_event){ .type = TL_EV_STACK, .ts_ns = ev->ts_ns, .aux = ref,
					 .pid = ev->pid, .tid = ev->tid, .flags = TL_F_IN_TASK };
		memcpy(sev.comm, ev->comm, TL_COMM_LEN);
		r->emit(&sev, blob, len, r->ctx);
	}
	return ref;
}

/* Read, symbolized (while the process lives) and passed on the first time. */
uint32_t tl_stackrefs_kernel(struct tl_stackrefs *r, const struct tl_event *ev, uint32_t kref)
{
	uint64_t key = (uint64_t)ev->pid << 32 | kref, ips[TL_STACK_DEPTH];
	char *frames[TL_UNWIND_FRAMES], cmdline[1024], blob[TL_LOG_BLOB_MAX];
	uint32_t ref;
	size_t len;
	int n;

	if (!kref || !r)
		return 0;
	if (tl_idmap_get(&r->cache, key, &ref))
		return ref;
	/* Full: not even symbolized (0 remembered: counted once). */
	if (tl_stacks_full(r->stacks)) {
		tl_stacks_note_drop(r->stacks);
		ref = 0;
		goto remember;
	}
	/* kref: the frame-pointer stack and the stack window (bpf/unwind.h) */
	n = r->read(TL_KSTACK_ID(kref), ips, TL_STACK_DEPTH, r->ctx);
	n = tl_unwind_frames(r->unwind, (int)ev->pid, kref, ips, n, frames);
	if (n <= 0)
		return 0;
	if (tl_procfs_cmdline((int)ev->pid, cmdline, sizeof(cmdline)))
		cmdline[0] = '\0';
	len = tl_stack_blob(blob, sizeof(blob), cmdline, frames, n);
	for (int i = 0; i < n; i++)
		free(frames[i]);
	ref = intern(r, ev, blob, len);
	if (!ref)
		return 0;
remember:
	if (r->cache.len >= CACHE_MAX)
		tl_idmap_free(&r->cache);
	tl_idmap_put(&r->cache, key, ref);
	return ref;
}

uint32_t tl_stackrefs_cmdline(struct tl_stackrefs *r, const struct tl_event *ev)
{
	char cmdline[1024], blob[TL_LOG_BLOB_MAX];
	size_t len;

	if (!r || tl_procfs_cmdline((int)ev->pid, cmdline, sizeof(cmdline)))
		return 0;
	len = tl_stack_blob(blob, sizeof(blob), cmdline, NULL, 0);
	return intern(r, ev, blob, len);
}

uint32_t tl_stackrefs_frames(struct tl_stackrefs *r, const struct tl_event *ev, const char *label,
			     char *const *frames, int n)
{
	char blob[TL_LOG_BLOB_MAX];
	size_t len;

	if (!r)
		return 0;
	if (tl_stacks_full(r->stacks)) {
		tl_stacks_note_drop(r->stacks);
		return 0;
	}
	len = tl_stack_blob(blob, sizeof(blob), label, frames, n);
	return intern(r, ev, blob, len);
}

uint32_t tl_stackrefs_blocked(struct tl_stackrefs *r, const struct tl_event *ev,
			      const struct tl_uwin *w, const char *label)
{
	char *frames[TL_UNWIND_FRAMES];
	uint32_t ref;
	int n = 0;

	if (!r)
		return 0;
	if (w && !tl_stacks_full(r->stacks))
		n = tl_unwind_blocked(r->unwind, w, frames);
	ref = tl_stackrefs_frames(r, ev, label, frames, n > 0 ? n : 0);
	for (int i = 0; i < n; i++)
		free(frames[i]);
	return ref;
}
