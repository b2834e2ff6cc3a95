/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Loader: opens, configures, loads and attaches the BPF collector, and
 * hands its events to a callback. */
#ifndef TCPLINGER_LOADER_H
#define TCPLINGER_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../bpf/events.h"
#include "filter.h"

typedef void (*tl_event_fn)(const struct tl_event *ev, void *ctx);

struct tl_loader_opts {
	struct tl_filter filter;
	size_t ringbuf_bytes;	/* 0 = default; rounded up to a power of two */
	bool verbose;		/* let libbpf print its own diagnostics */
	bool leaks;		/* watch send/recv/close and take user stacks */
	tl_event_fn on_event;	/* what the ring buffer delivers */
	void *ctx;
};

struct tl_loader;

/* Checks privileges and BTF, then opens, loads and attaches.  On failure
 * returns a negative errno and writes one line saying what is wrong and
 * what to do into err. */
int tl_loader_open(struct tl_loader **out, const struct tl_loader_opts *opts,
		   char *err, size_t errlen);
/* Emits a TL_EV_SEED for every matching socket that exists now (iter/tcp,
 * in every network namespace), each full socket's followed by a
 * TL_EV_INODE, through fn: each pass says what its seeds are for.
 * Returns the number seeded or a negative errno; *skipped counts
 * namespaces not entered. */
int tl_loader_seed(struct tl_loader *l, tl_event_fn fn, void *ctx, int *skipped);
/* Waits up to timeout_ms for events and hands them to on_event.
 * Returns events handled, or a negative errno (-EINTR on a signal). */
int tl_loader_poll(struct tl_loader *l, int timeout_ms);
/* Readable when events have come in. */
int tl_loader_epoll_fd(const struct tl_loader *l);
/* Hands over what is queued now without waiting. */
int tl_loader_drain(struct tl_loader *l);
/* The user stack a TL_EV_OWNER refers to (aux's low 32 bits, > 0): up to
 * max return addresses, innermost first.  Returns how many, or a negative
 * errno when the stack is no longer known. */
int tl_loader_stack(struct tl_loader *l, uint32_t ref, uint64_t *ips, int max);
/* The fd of the stack windows' ring (bpf/unwind.h). */
int tl_loader_windows_fd(const struct tl_loader *l);
/* The fd of the call-path recipes' map (bpf/unwind.h). */
int tl_loader_upaths_fd(const struct tl_loader *l);
/* Events the kernel could not queue since load (ring buffer full). */
uint64_t tl_loader_drops(struct tl_loader *l);
/* fn for each loaded program of the collector: its name and the time and
 * runs the kernel counted for it (kernel.bpf_stats_enabled; 0 while off).
 * Returns the number of programs, or a negative errno. */
int tl_loader_prog_stats(const struct tl_loader *l,
			 void (*fn)(const char *name, uint64_t run_ns, uint64_t runs, void *ctx),
			 void *ctx);
void tl_loader_close(struct tl_loader *l);

#endif /* TCPLINGER_LOADER_H */
