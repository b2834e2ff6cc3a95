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

static const char *const end_names[] = {
	[TL_END_NONE] = "none",
	[TL_END_CLOSED] = "closed",
	[TL_END_RESET] = "reset",
	[TL_END_TW_EXPIRED] = "tw_expired",
	[TL_END_TW_KILLED] = "tw_killed",
	[TL_END_FIN_TIMEOUT] = "fin_timeout",
	[TL_END_TW_OVERFLOW] = "tw_overflow",
	[TL_END_REFUSED] = "refused",
	[TL_END_SYN_TIMEOUT] = "syn_timeout",
	[TL_END_CONNECT_FAILED] = "connect_failed",
	[TL_END_UNKNOWN] = "unknown",
};

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
