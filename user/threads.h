/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The threads of the processes holding CLOSE_WAIT sockets, as the newest
 * holder scan saw them (TL_EV_THREAD events, live or replayed), for the
 * leak report: where the holder is stuck now.
 */
#ifndef TCPLINGER_THREADS_H
#define TCPLINGER_THREADS_H

#include <stddef.h>
#include <stdint.h>
#include "../bpf/events.h"

#define TL_THREADS_SHOWN	8	/* threads of a process a scan passes on */
#define TL_THREADS_KEEP	4096	/* threads kept from one scan at most */

struct tl_thread {
	int32_t pid, tid;
	char state;		/* /proc's letter */
	char comm[TL_COMM_LEN];
	uint32_t stack;		/* user stack; its command line the syscall */
	uint32_t pystack;	/* Python stack, 0: none */
};

struct tl_threads {
	struct tl_thread *v;
	size_t n, cap;
	/* threads not listed, per process: pid, count */
	struct tl_thread_rest { int32_t pid; uint64_t count; } *rest;
	size_t nrest, rest_cap;
};

/* A TL_EV_SCAN starts over; a TL_EV_THREAD is kept. */
void tl_threads_feed(struct tl_threads *t, const struct tl_event *ev);
/* Up to max threads of pid into out, thread tid (0: none) first, the
 * others in the scan's order; *more: those the scan did not list.
 * Returns how many; 0 when the newest scan did not read pid. */
size_t tl_threads_of(const struct tl_threads *t, int32_t pid, int32_t tid,
		     const struct tl_thread **out, size_t max, uint64_t *more);
void tl_threads_free(struct tl_threads *t);

#endif /* TCPLINGER_THREADS_H */
