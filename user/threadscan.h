/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where a process holding a leaked socket is stuck now: its threads read
 * from /proc while it runs on (proctask.h), each blocked one's user stack
 * unwound from its sp and pc with the CFI, and its Python stack when it
 * runs CPython (pyframes.h), passed on as TL_EV_THREAD events whose
 * stacks are TL_EV_STACK references, so that a replay shows them too.
 */
#ifndef TCPLINGER_THREADSCAN_H
#define TCPLINGER_THREADSCAN_H

#include <stddef.h>
#include <stdint.h>
#include "holders.h"
#include "threads.h"

struct tl_stackrefs;

/* The threads of pid at ts: those in first[0, nfirst) (the last to use
 * its sockets) first, then the others by tid, TL_THREADS_SHOWN at most;
 * then, if there are more, one event counting them. */
void tl_thread_scan_emit(int pid, const int32_t *first, size_t nfirst, uint64_t ts,
			 struct tl_stackrefs *refs, tl_emit_fn emit, void *ctx);

#endif /* TCPLINGER_THREADSCAN_H */
