/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Synthetic events for the tests and the corpus generators: a loopback IPv4
 * conversation in the initial network namespace, and the process context
 * an event made in a task carries. */
#ifndef TCPLINGER_TESTEV_H
#define TCPLINGER_TESTEV_H

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "../../bpf/events.h"

/* The initial network namespace's inode. */
#define TEST_NETNS 4026531840u

/* 127.0.0.1:sport -> 127.0.0.1:dport; every other field zero. */
static inline struct tl_event loopback_event(int type, uint64_t ts, uint64_t sk,
					     uint16_t sport, uint16_t dport)
{
	struct tl_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = (uint8_t)type;
	ev.ts_ns = ts;
	ev.sk_id = sk;
	ev.family = AF_INET;
	ev.saddr[0] = 127, ev.saddr[3] = 1;
	ev.daddr[0] = 127, ev.daddr[3] = 1;
	ev.sport = sport;
	ev.dport = dport;
	ev.netns = TEST_NETNS;
	return ev;
}

static inline void in_task(struct tl_event *ev, uint32_t pid, uint32_t tid, const char *comm)
{
	ev->flags |= TL_F_IN_TASK;
	ev->pid = pid;
	ev->tid = tid;
	snprintf(ev->comm, sizeof(ev->comm), "%s", comm);
}

#endif /* TCPLINGER_TESTEV_H */
