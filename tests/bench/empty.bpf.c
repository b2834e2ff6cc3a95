// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The benchmark's floor: programs on the very tracepoints tcplinger uses
 * in plain tracing (same attach types: tp_btf, and the accept syscall
 * tracepoints) that do nothing at all.  Whatever this costs
 * is the price of the attachment itself, which no collector can avoid.
 * Loaded by tests/bench/empty_loader.c.
 */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#pragma clang diagnostic ignored "-Wunused-parameter"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/inet_sock_set_state")
int empty_state(void *ctx)
{
	return 0;
}

SEC("tp_btf/timer_start")
int empty_timer_start(void *ctx)
{
	return 0;
}

SEC("tp_btf/timer_expire_entry")
int empty_timer_expire(void *ctx)
{
	return 0;
}

SEC("tp_btf/timer_cancel")
int empty_timer_cancel(void *ctx)
{
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int empty_rst_recv(void *ctx)
{
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int empty_rst_sent(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_exit_accept4")
int empty_accept4(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_exit_accept")
int empty_accept(void *ctx)
{
	return 0;
}
