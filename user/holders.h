/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Holder scans: a seed pass notes its sockets and their inodes; then
 * /proc says which processes hold them, passed on as one TL_EV_SCAN and a
 * TL_EV_HOLDER per (socket, process, fd); with stacks, then the threads
 * of each process holding a CLOSE_WAIT socket (threadscan.h), the last to
 * use its sockets first.
 */
#ifndef TCPLINGER_HOLDERS_H
#define TCPLINGER_HOLDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../bpf/events.h"
#include "idmap.h"

struct tl_stackrefs;

typedef void (*tl_emit_fn)(const struct tl_event *ev, void *ctx);

/* The sockets noted since the last scan.  Zeroed is empty. */
struct tl_holder_scan {
	struct tl_event last_seed;	/* the SEED an INODE event follows */
	struct scan_sock *socks;
	size_t n, cap;
	struct tl_idmap last_use;	/* socket id -> the thread that used it last */
};

/* Notes which thread used a socket last (TL_EV_OWNER), and forgets a
 * socket that closed. */
void tl_holder_scan_note_use(struct tl_holder_scan *hs, const struct tl_event *ev);

/* Notes a seed pass's SEED or INODE event: the socket, if it is in
 * CLOSE_WAIT or any_state. */
void tl_holder_scan_note(struct tl_holder_scan *hs, const struct tl_event *ev, bool any_state);
/* Finds who holds the noted sockets and passes it on through emit, at
 * ts; holders' command lines and threads become stacks of refs (NULL:
 * neither, nor threads).  The noted sockets are forgotten. */
void tl_holder_scan_emit(struct tl_holder_scan *hs, uint64_t ts, struct tl_stackrefs *refs,
			 tl_emit_fn emit, void *ctx);
void tl_holder_scan_free(struct tl_holder_scan *hs);

#endif /* TCPLINGER_HOLDERS_H */
