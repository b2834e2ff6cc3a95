// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The benchmark's floor: programs on the very tracepoints plain `tcplinger`
 * attaches (same attach types: tp_btf, and the accept, connect and bind
 * syscall exit tracepoints) that do nothing at all.  Whatever this costs
 * is the price of the attachment itself, which no collector can avoid.
 * Keep it in step with what the tracer attaches without --leaks (`bpftool
 * perf` while it runs; bench.py notes any tracepoint missing here).
 * Loaded by tests/bench/empty_loader.c.
 */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#pragma clang diagnostic ignored "-Wunused-parameter"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* A program that returns at once, attached at SEC. */
#define EMPTY_PROG(sec, name)		\
	SEC(sec)			\
	int name(void *ctx)		\
	{				\
		return 0;		\
	}

EMPTY_PROG("tp_btf/inet_sock_set_state", empty_state)
EMPTY_PROG("tp_btf/timer_start", empty_timer_start)
EMPTY_PROG("tp_btf/timer_expire_entry", empty_timer_expire)
EMPTY_PROG("tp_btf/timer_cancel", empty_timer_cancel)
EMPTY_PROG("tp_btf/tcp_receive_reset", empty_rst_recv)
EMPTY_PROG("tp_btf/tcp_send_reset", empty_rst_sent)
EMPTY_PROG("tp/syscalls/sys_exit_accept4", empty_accept4)
EMPTY_PROG("tp/syscalls/sys_exit_accept", empty_accept)
EMPTY_PROG("tp/syscalls/sys_exit_connect", empty_connect)
EMPTY_PROG("tp/syscalls/sys_exit_bind", empty_bind)
