/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "filter.h"

static bool port_in(const uint16_t *ports, int n, uint16_t port)
{
	if (!n)
		return true;
	for (int i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

bool tl_filter_match(const struct tl_filter *f, const struct tl_event *ev)
{
	if (ev->type == TL_EV_TICK || ev->type == TL_EV_LOST || ev->type == TL_EV_SCAN ||
	    ev->type == TL_EV_STACK || ev->type == TL_EV_THREAD || ev->type == TL_EV_SYSCTL)
		return true;
	if (f->family && ev->family != f->family)
		return false;
	if (f->netns && ev->netns != f->netns)
		return false;
	return port_in(f->lports, f->n_lports, ev->sport) &&
	       port_in(f->rports, f->n_rports, ev->dport);
}

bool tl_filter_active(const struct tl_filter *f)
{
	return f->family || f->netns || f->n_lports || f->n_rports;
}
