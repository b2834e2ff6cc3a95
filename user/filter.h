/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Which connections a session looks at.  The kernel applies these before
 * events leave it; replay applies the same rules in user space. */
#ifndef TCPLINGER_FILTER_H
#define TCPLINGER_FILTER_H

#include <stdbool.h>
#include <stdint.h>
#include "../bpf/events.h"

struct tl_filter {
	uint16_t lports[TL_MAX_PORT_FILTER];
	int n_lports;
	uint16_t rports[TL_MAX_PORT_FILTER];
	int n_rports;
	int family;		/* 0 (any), AF_INET or AF_INET6 */
	uint32_t netns;		/* netns inode; 0 = any */
	/* live --cgroup: a cgroup v2 id (0 = any) and its depth; events do
	 * not carry it, so replay filters on lifecycles instead (session.h) */
	uint64_t cgroup;
	uint32_t cgroup_level;
};

/* Clock and loss events always pass. */
bool tl_filter_match(const struct tl_filter *f, const struct tl_event *ev);
/* Whether any event may fail to match. */
bool tl_filter_active(const struct tl_filter *f);

#endif /* TCPLINGER_FILTER_H */
