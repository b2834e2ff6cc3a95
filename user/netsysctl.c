/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "netsysctl.h"

#define IPV4 "/proc/sys/net/ipv4/"
/* TL_SYSCTL_AUX()'s caps */
#define FIN_TIMEOUT_MAX 0xffff
#define MAX_TW_MAX 0xffffff

/* The first line of a sysctl file (net sysctls show the reader's netns). */
static int read_line(const char *name, char *buf, size_t size)
{
	FILE *f = fopen(name, "re");
	int ret = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)size, f))
		ret = -EIO;
	fclose(f);
	return ret;
}

static uint32_t read_u32(const char *name, uint32_t def, uint32_t cap)
{
	char buf[64];
	unsigned long v;

	if (read_line(name, buf, sizeof(buf)) || sscanf(buf, "%lu", &v) != 1)
		return def;
	return v > cap ? cap : (uint32_t)v;
}

/* Ports of lo..hi that a list such as "8080,40000-40010" reserves. */
static uint32_t reserved_in(const char *list, unsigned lo, unsigned hi)
{
	const char *p = list;
	uint32_t n = 0;

	while (*p && *p != '\n') {
		unsigned a, b;
		int used = 0;

		if (sscanf(p, "%u%n", &a, &used) != 1)
			break;
		p += used;
		b = a;
		if (*p == '-' && sscanf(p + 1, "%u%n", &b, &used) == 1)
			p += 1 + used;
		if (a < lo)
			a = lo;
		if (b > hi)
			b = hi;
		if (a <= b)
			n += b - a + 1;
		if (*p != ',')
			break;
		p++;
	}
	return n;
}

int tl_netsysctl_read(struct tl_event *ev, uint64_t ts_ns)
{
	char buf[4096];
	unsigned lo, hi;
	uint32_t reserved = 0;
	struct stat st;
	int ret;

	memset(ev, 0, sizeof(*ev));
	if (stat("/proc/thread-self/ns/net", &st))
		return -errno;
	ret = read_line(IPV4 "ip_local_port_range", buf, sizeof(buf));
	if (ret)
		return ret;
	if (sscanf(buf, "%u %u", &lo, &hi) != 2 || lo > 65535 || hi > 65535)
		return -EINVAL;
	if (!read_line(IPV4 "ip_local_reserved_ports", buf, sizeof(buf)))
		reserved = reserved_in(buf, lo, hi);
	ev->type = TL_EV_SYSCTL;
	ev->ts_ns = ts_ns;
	ev->netns = (uint32_t)st.st_ino;
	ev->sport = (uint16_t)lo;
	ev->dport = (uint16_t)hi;
	ev->aux = TL_SYSCTL_AUX(reserved, read_u32(IPV4 "tcp_tw_reuse", 2, 0xff),
				read_u32(IPV4 "tcp_fin_timeout", 60, FIN_TIMEOUT_MAX),
				read_u32(IPV4 "tcp_max_tw_buckets", 0, MAX_TW_MAX));
	return 0;
}

void tl_netsysctl_of(const struct tl_event *ev, struct tl_netsysctl *out)
{
	out->netns = ev->netns;
	out->port_lo = ev->sport;
	out->port_hi = ev->dport;
	out->reserved = tl_sysctl_reserved(ev);
	out->tw_reuse = tl_sysctl_tw_reuse(ev);
	out->fin_timeout = tl_sysctl_fin_timeout(ev);
	out->max_tw_buckets = tl_sysctl_max_tw_buckets(ev);
}

const struct tl_netsysctl *tl_netsysctls_find(const struct tl_netsysctls *t, uint32_t netns)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (t->v[i].netns == netns)
			return &t->v[i];
	return NULL;
}

bool tl_netsysctls_add(struct tl_netsysctls *t, const struct tl_event *ev)
{
	struct tl_netsysctl s, *slot = (struct tl_netsysctl *)tl_netsysctls_find(t, ev->netns);

	tl_netsysctl_of(ev, &s);
	if (!slot) {
		if (t->n >= TL_NETSYSCTLS_MAX)
			return false;
		if (t->n == t->cap) {
			uint32_t cap = t->cap ? t->cap * 2 : 8;
			void *p = realloc(t->v, cap * sizeof(*t->v));

			if (!p)
				return false;
			t->v = p;
			t->cap = cap;
		}
		slot = &t->v[t->n++];
	}
	*slot = s;
	return true;
}

void tl_netsysctls_free(struct tl_netsysctls *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}
