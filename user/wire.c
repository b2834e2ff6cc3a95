// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The ring's records widened to struct tl_event: what the kernel left out
 * is zero. */
#include <string.h>
#include <sys/socket.h>
#include "wire.h"

bool tl_wire_widen(struct tl_event *ev, const void *data, size_t size)
{
	const unsigned char *p = data;
	struct tl_wire h;
	bool v6, task;

	if (size < sizeof(h))
		return false;
	memcpy(&h, p, sizeof(h));
	v6 = h.family == AF_INET6;
	task = h.flags & TL_F_IN_TASK;
	if (size != TL_WIRE_SIZE(v6, task))
		return false;
	/* field by field: clearing all 96 bytes first costs more here than
	 * the copies, at a few million events a second */
	ev->ts_ns = h.ts_ns;
	ev->sk_id = h.sk_id;
	ev->aux = h.aux;
	ev->sport = h.sport;
	ev->dport = h.dport;
	ev->netns = h.netns;
	ev->type = h.type;
	ev->family = h.family;
	ev->old_state = h.old_state;
	ev->new_state = h.new_state;
	ev->flags = h.flags;
	ev->drop_seq = h.drop_seq;
	p += sizeof(h);
	if (v6) {
		memcpy(ev->saddr, p, 16);
		memcpy(ev->daddr, p + 16, 16);
		p += TL_WIRE_ADDR6;
	} else {
		memset(ev->saddr, 0, sizeof(ev->saddr));
		memset(ev->daddr, 0, sizeof(ev->daddr));
		memcpy(ev->saddr, p, 4);
		memcpy(ev->daddr, p + 4, 4);
		p += TL_WIRE_ADDR4;
	}
	if (task) {
		struct tl_wire_task t;

		memcpy(&t, p, sizeof(t));
		ev->pid = t.pid;
		ev->tid = t.tid;
		memcpy(ev->comm, t.comm, sizeof(ev->comm));
	} else {
		ev->pid = 0;
		ev->tid = 0;
		memset(ev->comm, 0, sizeof(ev->comm));
	}
	return true;
}
