/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who uses a socket, seen in process context: accept() (its owner, and
 * with leak hunting where it was made), and for leak hunting only (the
 * loader loads those programs then) a close() that leaves another copy
 * open and send/recv (the first use by each thread, and the EOF read).
 * Included by tcplinger.bpf.c.
 */
#ifndef TCPLINGER_OWNERS_BPF_H
#define TCPLINGER_OWNERS_BPF_H

#define S_IFMT		00170000
#define S_IFSOCK	0140000

struct file___old {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

/* The struct file behind fd in the current task, or NULL.  Plain loads
 * from the trusted task on; only the fd array, indexed by a number the
 * verifier cannot bound, takes a helper call. */
static __always_inline const struct file *task_file(long fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	const struct fdtable *fdt = t->files->fdt;
	struct file *f = NULL;

	if (fd < 0 || !fdt || fd >= fdt->max_fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fdt->fd[fd]);
	return f ? kview(struct file, f) : NULL;
}

/* The TCP sock of a socket file, or NULL. */
static __always_inline const struct sock *file_tcp_sock(const struct file *f)
{
	const struct sock *sk;
	__u16 family;

	if (!f || (f->f_inode->i_mode & S_IFMT) != S_IFSOCK)
		return NULL;
	sk = kview(struct socket, f->private_data)->sk;
	if (!sk || sk->sk_protocol != IPPROTO_TCP)
		return NULL;
	family = sk->__sk_common.skc_family;
	return family == AF_INET || family == AF_INET6 ? sk : NULL;
}

static __always_inline long file_refs(const struct file *f)
{
	/* file_ref_t (6.13+) counts from 0 for one reference */
	if (bpf_core_field_exists(f->f_ref))
		return f->f_ref.refcnt.counter + 1;
	return kview(struct file___old, f)->f_count.counter;
}

static __always_inline int on_accept(struct trace_event_raw_sys_exit *ctx)
{
	const struct sock *sk;
	long fd = ctx->ret;

	if (fd < 0)
		return 0;
	sk = file_tcp_sock(task_file(fd));
	if (sk)
		emit_owner(ctx, sk, TL_OWN_ACCEPT, TL_OWN_AUX(0, fd));
	return 0;
}

SEC("tp/syscalls/sys_exit_accept4")
int tl_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept(ctx);
}

SEC("tp/syscalls/sys_exit_accept")
int tl_accept(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept(ctx);
}

/* close() of an fd whose file another fd (a fork's copy, a dup) still
 * holds: the socket stays open, which is how a fork-inherited copy leaks. */
SEC("tp/syscalls/sys_enter_close")
int tl_close(struct trace_event_raw_sys_enter *ctx)
{
	long fd = (long)ctx->args[0];
	const struct file *f = task_file(fd);
	const struct sock *sk;
	__u32 ppid;

	if (!f || file_refs(f) < 2)
		return 0;
	sk = file_tcp_sock(f);
	if (!sk)
		return 0;
	ppid = bpf_get_current_task_btf()->real_parent->tgid;
	emit_owner(ctx, sk, TL_OWN_CLOSE_SHARED, TL_OWN_AUX(ppid, fd));
	return 0;
}

/* send/recv: an event only when another thread takes over the socket,
 * and once for the EOF read; sk_use remembers. */
static __always_inline int on_io(void *ctx, struct sock *sk, int ret, bool recv)
{
	struct sk_use *u;
	struct tl_key k;
	__u32 tid;

	if (!gate_open || !sk || sk->sk_protocol != IPPROTO_TCP ||
	    !read_key(&sk->__sk_common, false, &k))
		return 0;
	u = sk_use_of(sk);
	if (!u)
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	if (recv && ret == 0 && !u->eof) {
		u->eof = 1;
		u->tid = tid;
		emit_owner(ctx, sk, TL_OWN_EOF, 0);
	} else if (u->tid != tid) {
		u->tid = tid;
		emit_owner(ctx, sk, TL_OWN_IO, 0);
	}
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(tl_recv, struct sock *sk, int ret, int flags)
{
	return on_io(ctx, sk, ret, true);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(tl_send, struct sock *sk, int ret, int flags)
{
	return on_io(ctx, sk, ret, false);
}

#endif /* TCPLINGER_OWNERS_BPF_H */
