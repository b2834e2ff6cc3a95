/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Failed connect() and bind() calls, seen in process context: the
 * syscall tracepoints' entry remembers the address asked for (per task),
 * their exit reports the errors that say ports ran out or the peer cannot
 * be reached.  Included by tcplinger.bpf.c after its helpers.
 *
 * Not reported: EINPROGRESS, EAGAIN, EALREADY, EISCONN -- a non-blocking
 * connect() whose later failure ends its lifecycle (refused, syn_timeout).
 */
#ifndef TCPLINGER_CONNERR_BPF_H
#define TCPLINGER_CONNERR_BPF_H

#define E_ADDRINUSE	98
#define E_ADDRNOTAVAIL	99
#define E_NETUNREACH	101
#define E_TIMEDOUT	110
#define E_CONNREFUSED	111
#define E_HOSTUNREACH	113

/* sockaddr_in and sockaddr_in6, as user space passed them. */
union user_sockaddr {
	struct {
		__u16 family;
		__be16 port;
		__u32 addr;
	} in;
	struct {
		__u16 family;
		__be16 port;
		__u32 flowinfo;
		__u8 addr[16];
	} in6;
};

/* A connect() or bind() under way in one task. */
struct call_try {
	union user_sockaddr sa;
	__u32 netns;
	__u16 sport;		/* the socket's port already bound, if any */
	__u8 call;		/* enum tl_call */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);	/* pid_tgid */
	__type(value, struct call_try);
} call_tries SEC(".maps");

static __always_inline bool call_err_wanted(long ret, __u8 call)
{
	if (call == TL_CALL_BIND)
		return ret == -E_ADDRINUSE;
	return ret == -E_ADDRNOTAVAIL || ret == -E_CONNREFUSED || ret == -E_TIMEDOUT ||
	       ret == -E_NETUNREACH || ret == -E_HOSTUNREACH || ret == -E_ADDRINUSE;
}

/* Remembers a TCP socket's connect()/bind() that the filters let pass. */
static __always_inline int on_call_enter(struct trace_event_raw_sys_enter *ctx, __u8 call)
{
	const struct sock *sk = file_tcp_sock(task_file((long)ctx->args[0]));
	struct call_try t = { .call = call };
	__u16 port, lport, rport;
	__u64 id;

	if (!gate_open || !sk)
		return 0;
	if (bpf_probe_read_user(&t.sa, sizeof(t.sa), (const void *)ctx->args[1]) &&
	    bpf_probe_read_user(&t.sa.in, sizeof(t.sa.in), (const void *)ctx->args[1]))
		return 0;
	if (t.sa.in.family != AF_INET && t.sa.in.family != AF_INET6)
		return 0;
	if (filter_family && t.sa.in.family != filter_family)
		return 0;
	t.netns = sk->__sk_common.skc_net.net->ns.inum;
	if (filter_netns && t.netns != filter_netns)
		return 0;
	t.sport = bpf_ntohs(kview(struct inet_sock, sk)->inet_sport);
	port = bpf_ntohs(t.sa.in.port);
	lport = call == TL_CALL_BIND ? port : t.sport;
	rport = call == TL_CALL_BIND ? 0 : port;
	if (n_lports && !port_in(filter_lports, n_lports, lport))
		return 0;
	if (n_rports && !port_in(filter_rports, n_rports, rport))
		return 0;
	id = bpf_get_current_pid_tgid();
	bpf_map_update_elem(&call_tries, &id, &t, BPF_ANY);
	return 0;
}

static __always_inline int on_call_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call_try *t = bpf_map_lookup_elem(&call_tries, &id);
	struct tl_event *ev;
	__u8 *addr;

	if (!t)
		return 0;
	if (!call_err_wanted(ctx->ret, t->call))
		goto out;
	ev = ev_reserve(TL_EV_CONNECT_ERR);
	if (!ev)
		goto out;
	fill_task(ev);
	ev->old_state = t->call;
	ev->aux = (__u64)-ctx->ret;
	ev->family = t->sa.in.family;
	ev->netns = t->netns;
	addr = t->call == TL_CALL_BIND ? ev->saddr : ev->daddr;
	if (ev->family == AF_INET)
		*(__u32 *)addr = t->sa.in.addr;
	else
		__builtin_memcpy(addr, t->sa.in6.addr, 16);
	if (t->call == TL_CALL_BIND) {
		ev->sport = bpf_ntohs(t->sa.in.port);
	} else {
		ev->sport = t->sport;
		ev->dport = bpf_ntohs(t->sa.in.port);
	}
	ev_submit(ev);
out:
	bpf_map_delete_elem(&call_tries, &id);
	return 0;
}

SEC("tp/syscalls/sys_enter_connect")
int tl_connect_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_call_enter(ctx, TL_CALL_CONNECT);
}

SEC("tp/syscalls/sys_exit_connect")
int tl_connect_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_call_exit(ctx);
}

SEC("tp/syscalls/sys_enter_bind")
int tl_bind_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_call_enter(ctx, TL_CALL_BIND);
}

SEC("tp/syscalls/sys_exit_bind")
int tl_bind_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_call_exit(ctx);
}

#endif /* TCPLINGER_CONNERR_BPF_H */
