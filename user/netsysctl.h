/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The port sysctls of network namespaces (net.ipv4.ip_local_port_range,
 * ip_local_reserved_ports, tcp_tw_reuse, tcp_fin_timeout,
 * tcp_max_tw_buckets): read live inside each namespace into a
 * TL_EV_SYSCTL event, and kept per namespace from those events, so that
 * a replay reasons from the values the live run saw.
 */
#ifndef TCPLINGER_NETSYSCTL_H
#define TCPLINGER_NETSYSCTL_H

#include <stdbool.h>
#include <stdint.h>
#include "../bpf/events.h"

struct tl_netsysctl {
	uint32_t netns;
	uint16_t port_lo, port_hi;	/* ip_local_port_range */
	uint32_t reserved;		/* of those, in ip_local_reserved_ports */
	uint32_t tw_reuse;
	uint32_t fin_timeout;		/* seconds */
	uint32_t max_tw_buckets;
};

/* The values of the calling thread's netns as a TL_EV_SYSCTL at ts_ns;
 * 0, or a negative errno when the range cannot be read. */
int tl_netsysctl_read(struct tl_event *ev, uint64_t ts_ns);

/* The values an event carries. */
void tl_netsysctl_of(const struct tl_event *ev, struct tl_netsysctl *out);

/* Ephemeral ports left for connect(): the range less the reserved ones. */
static inline uint32_t tl_netsysctl_ports(const struct tl_netsysctl *s)
{
	uint32_t n = s->port_hi >= s->port_lo ? (uint32_t)(s->port_hi - s->port_lo) + 1 : 0;

	return n > s->reserved ? n - s->reserved : 0;
}

/* Namespaces seen so far, by inode; a log naming more is not believed. */
#define TL_NETSYSCTLS_MAX 1024

struct tl_netsysctls {
	struct tl_netsysctl *v;
	uint32_t n, cap;
};

/* Keeps an event's values (the newest per namespace); false when out of memory. */
bool tl_netsysctls_add(struct tl_netsysctls *t, const struct tl_event *ev);
/* The values of netns, NULL if never seen. */
const struct tl_netsysctl *tl_netsysctls_find(const struct tl_netsysctls *t, uint32_t netns);
void tl_netsysctls_free(struct tl_netsysctls *t);

#endif /* TCPLINGER_NETSYSCTL_H */
