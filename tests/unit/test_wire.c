// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The ring's records widened to events: each of the four shapes the
 * collector writes (IPv4/IPv6, with or without the task), and sizes that
 * do not match what the head says. */
#include <stdbool.h>
#include <stdint.h>
#include "unit.h"
#include "wire.h"

/* A record as the collector lays it out: head, addresses, task. */
static size_t build(unsigned char *buf, uint8_t family, bool task)
{
	struct tl_wire h = {
		.ts_ns = 111, .sk_id = 0xabcdef0123456789ULL, .aux = 42, .sport = 5000,
		.dport = 80, .netns = 4026531840u, .type = TL_EV_STATE, .family = family,
		.old_state = TL_TCP_ESTABLISHED, .new_state = TL_TCP_CLOSE_WAIT,
		.flags = (uint16_t)(TL_F_ORPHAN | (task ? TL_F_IN_TASK : 0)), .drop_seq = 7,
	};
	struct tl_wire_task t = { .pid = 1234, .tid = 1235, .comm = "nginx" };
	size_t alen = family == 10 ? 16 : 4, n = 0;

	memcpy(buf, &h, sizeof(h));
	n += sizeof(h);
	for (size_t i = 0; i < alen; i++)
		buf[n + i] = (unsigned char)(1 + i);		/* saddr */
	for (size_t i = 0; i < alen; i++)
		buf[n + alen + i] = (unsigned char)(101 + i);	/* daddr */
	n += 2 * alen;
	if (task) {
		memcpy(buf + n, &t, sizeof(t));
		n += sizeof(t);
	}
	return n;
}

static void check_shape(uint8_t family, bool task, size_t size)
{
	unsigned char buf[128];
	size_t alen = family == 10 ? 16 : 4;
	struct tl_event ev;
	size_t n = build(buf, family, task);

	CHECK_EQ_U64(n, size);
	memset(&ev, 0x5a, sizeof(ev));
	CHECK(tl_wire_widen(&ev, buf, n));
	CHECK_EQ_U64(ev.ts_ns, 111);
	CHECK_EQ_U64(ev.sk_id, 0xabcdef0123456789ULL);
	CHECK_EQ_U64(ev.aux, 42);
	CHECK_EQ_U64(ev.sport, 5000);
	CHECK_EQ_U64(ev.dport, 80);
	CHECK_EQ_U64(ev.netns, 4026531840u);
	CHECK_EQ_U64(ev.type, TL_EV_STATE);
	CHECK_EQ_U64(ev.family, family);
	CHECK_EQ_U64(ev.old_state, TL_TCP_ESTABLISHED);
	CHECK_EQ_U64(ev.new_state, TL_TCP_CLOSE_WAIT);
	CHECK_EQ_U64(ev.flags, TL_F_ORPHAN | (task ? TL_F_IN_TASK : 0));
	CHECK_EQ_U64(ev.drop_seq, 7);
	for (size_t i = 0; i < 16; i++) {
		CHECK_EQ_U64(ev.saddr[i], i < alen ? 1 + i : 0);
		CHECK_EQ_U64(ev.daddr[i], i < alen ? 101 + i : 0);
	}
	CHECK_EQ_U64(ev.pid, task ? 1234 : 0);
	CHECK_EQ_U64(ev.tid, task ? 1235 : 0);
	CHECK_STR(ev.comm, task ? "nginx" : "");
	/* one byte more or less than the head says: refused */
	CHECK(!tl_wire_widen(&ev, buf, n - 1));
	CHECK(!tl_wire_widen(&ev, buf, n + 1));
}

static void test_ipv4(void)
{
	check_shape(2, false, 48);
}

static void test_ipv4_task(void)
{
	check_shape(2, true, 72);
}

static void test_ipv6(void)
{
	check_shape(10, false, 72);
}

static void test_ipv6_task(void)
{
	check_shape(10, true, 96);
}

static void test_short(void)
{
	unsigned char buf[128] = { 0 };
	struct tl_event ev;

	CHECK(!tl_wire_widen(&ev, buf, 0));
	CHECK(!tl_wire_widen(&ev, buf, sizeof(struct tl_wire) - 1));
	/* a head alone: no room for even IPv4 addresses */
	CHECK(!tl_wire_widen(&ev, buf, sizeof(struct tl_wire)));
	/* an IPv4 head with the size of an IPv6 record, and the reverse */
	build(buf, 2, false);
	CHECK(!tl_wire_widen(&ev, buf, 72));
	build(buf, 10, false);
	CHECK(!tl_wire_widen(&ev, buf, 48));
}

int main(void)
{
	RUN(test_ipv4);
	RUN(test_ipv4_task);
	RUN(test_ipv6);
	RUN(test_ipv6_task);
	RUN(test_short);
	return UNIT_END();
}
