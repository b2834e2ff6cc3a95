/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The names users see for TCP states and lifecycle endings. */
#include "lifecycle.h"

static const char *const state_names[] = {
	[TL_TCP_ESTABLISHED] = "ESTABLISHED",
	[TL_TCP_SYN_SENT] = "SYN_SENT",
	[TL_TCP_SYN_RECV] = "SYN_RECV",
	[TL_TCP_FIN_WAIT1] = "FIN_WAIT1",
	[TL_TCP_FIN_WAIT2] = "FIN_WAIT2",
	[TL_TCP_TIME_WAIT] = "TIME_WAIT",
	[TL_TCP_CLOSE] = "CLOSE",
	[TL_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[TL_TCP_LAST_ACK] = "LAST_ACK",
	[TL_TCP_LISTEN] = "LISTEN",
	[TL_TCP_CLOSING] = "CLOSING",
	[TL_TCP_NEW_SYN_RECV] = "NEW_SYN_RECV",
	[TL_STATE_CLOSED] = "CLOSED",
};

#define TL_END_NAME(id, name) [TL_END_##id] = name,
static const char *const end_names[] = { TL_ENDS(TL_END_NAME) };
#undef TL_END_NAME

const char *tl_state_name(int state)
{
	if (state < 0 || state > TL_STATE_CLOSED || !state_names[state])
		return "UNKNOWN";
	return state_names[state];
}

const char *tl_end_name(enum tl_end end)
{
	if ((int)end < 0 || end >= TL_END_MAX)
		return "unknown";
	return end_names[end];
}
