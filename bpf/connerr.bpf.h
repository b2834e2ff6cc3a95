/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Failed connect() and bind() calls, seen in process context at the
 * syscall's exit: the errors that say ports ran out or the peer cannot be
 * reached.  Included by tcplinger.bpf.c after its helpers.
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

static __always_inline bool call_err_wanted(long ret, __u8 call)
{
	if (call == TL_CALL_BIND)
		return ret == -E_ADDRINUSE;
	return ret == -E_ADDRNOTAVAIL || ret == -E_CONNREFUSED || ret == -E_TIMEDOUT ||
	       ret == -E_NETUNREACH || ret == -E_HOSTUNREACH || ret == -E_ADDRINUSE;
}

#if defined(__TARGET_ARCH_x86)
/* A failed TCP connect()/bind() that the filters let pass, reported from
 * the syscall's exit alone: the user registers saved at its entry still
 * hold its arguments (fd in di, the address in si), so the common case --
 * success, or a non-blocking connect() under way -- costs a compare, with
 * no entry program and no per-task map. */
static __always_inline int on_call_exit(struct trace_event_raw_sys_exit *ctx, __u8 call)
{
	struct task_struct *task;
	const struct pt_regs *regs;
	const struct sock *sk;
	union user_sockaddr sa;
	struct tl_wire *w;
	__u16 port, sport, lport, rport;
	__u32 netns;
	__u32 *addr;
	bool v6;

	if (!gate_open || !call_err_wanted(ctx->ret, call))
		return 0;
	task = bpf_get_current_task_btf();
	regs = (const struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return 0;
	sk = file_tcp_sock(task_file((long)regs->di));
	if (!sk)
		return 0;
	if (bpf_probe_read_user(&sa, sizeof(sa), (const void *)regs->si) &&
	    bpf_probe_read_user(&sa.in, sizeof(sa.in), (const void *)regs->si))
		return 0;
	if (sa.in.family != AF_INET && sa.in.family != AF_INET6)
		return 0;
	if (filter_family && sa.in.family != filter_family)
		return 0;
	netns = sk->__sk_common.skc_net.net->ns.inum;
	if (filter_netns && netns != filter_netns)
		return 0;
	sport = bpf_ntohs(kview(struct inet_sock, sk)->inet_sport);
	port = bpf_ntohs(sa.in.port);
	lport = call == TL_CALL_BIND ? port : sport;
	rport = call == TL_CALL_BIND ? 0 : port;
	if (n_lports && !port_in(filter_lports, n_lports, lport))
		return 0;
	if (n_rports && !port_in(filter_rports, n_rports, rport))
		return 0;
	if (!cgroup_wanted(sk))
		return 0;
	v6 = sa.in.family == AF_INET6;
	barrier_var(v6);	/* see wire_reserve() */
	w = wire_reserve(TL_EV_CONNECT_ERR, v6, true);
	if (!w)
		return 0;
	w->old_state = call;
	w->aux = (__u64)-ctx->ret;
	w->family = sa.in.family;
	w->netns = netns;
	/* the address asked for; the other one is not known (zero) */
	addr = wire_addrs(w);
	if (v6) {
		__builtin_memset(addr, 0, TL_WIRE_ADDR6);
		__builtin_memcpy(addr + (call == TL_CALL_BIND ? 0 : 4), sa.in6.addr, 16);
	} else {
		addr[0] = 0;
		addr[1] = 0;
		addr[call == TL_CALL_BIND ? 0 : 1] = sa.in.addr;
	}
	if (call == TL_CALL_BIND) {
		w->sport = port;
	} else {
		w->sport = sport;
		w->dport = port;
	}
	wire_submit(w);
	return 0;
}
#else
static __always_inline int on_call_exit(struct trace_event_raw_sys_exit *ctx, __u8 call)
{
	return 0;	/* the arguments' registers are known for x86-64 only */
}
#endif

SEC("tp/syscalls/sys_exit_connect")
int tl_connect_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_call_exit(ctx, TL_CALL_CONNECT);
}

SEC("tp/syscalls/sys_exit_bind")
int tl_bind_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_call_exit(ctx, TL_CALL_BIND);
}

#endif /* TCPLINGER_CONNERR_BPF_H */
