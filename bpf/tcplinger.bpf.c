// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Collector: TCP state changes, timewait sock timers and resets, turned
 * into ring records (struct tl_wire).  Nothing but collection and filtering
 * happens here; meaning is made in user space.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "events.h"
#include "fmix64.h"

/* BPF_PROG() hands every program its ctx and all arguments, used or not */
#pragma clang diagnostic ignored "-Wunused-parameter"

#define AF_INET		2
#define AF_INET6	10
#define IPPROTO_TCP	6
#define SOCK_DEAD	0
#define PF_KTHREAD	0x00200000

/* preempt_count layout (include/linux/preempt.h) */
#define SOFTIRQ_OFFSET	0x00000100
#define HARDIRQ_MASK	0x000f0000
#define NMI_MASK	0x00f00000

/* x86-64: THREAD_SIZE = PAGE_SIZE << (2 + KASAN_STACK_ORDER) */
#define TASK_STACK_SIZE	(16384UL << (CONFIG_KASAN ? 1 : 0))

#define TCP_TIMEWAIT_SECS 60

/* Bound on the distance from our ctx up to __run_timers()' frame; no
 * more than a (guard) page so it cannot reach beyond the stack. */
#define EXPIRY_FRAME_MAX 4096

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);	/* set by the loader */
} events SEC(".maps");

/* Per-CPU memory.  Of the tw timer events just seen: a re-arm is a
 * timer_cancel then a timer_start of the same timer on the same CPU, and
 * tcp_time_wait() arms the tw timer just before tcp_done() on the full
 * sock.  And of the ring: records queued since its fill level was last
 * looked at. */
struct cpu_mem {
	__u64 cancelled;	/* timer of the last tw timer_cancel */
	__u64 started;		/* tw_key() of the last tw timer_start */
	__u64 scratch;		/* for addr_via() */
	__u32 unqueried;	/* records submitted since the last query */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_mem);
} cpu_mem SEC(".maps");

/* Records a CPU submits between two looks at the ring's fill level: the
 * look is not free, and 32 records are far below wakeup_bytes. */
#define RING_QUERY_EVERY 32

const volatile __u16 filter_lports[TL_MAX_PORT_FILTER];
const volatile __u32 n_lports;
const volatile __u16 filter_rports[TL_MAX_PORT_FILTER];
const volatile __u32 n_rports;
const volatile __u8 filter_family;
const volatile __u32 filter_netns;
/* --cgroup: a cgroup v2 id and its depth (0: the root); its descendants
 * match too.  0: any. */
const volatile __u64 filter_cgroup;
const volatile __u32 filter_cgroup_level;
const volatile __u64 wakeup_bytes = 1 << 20;
const volatile __u64 id_key;
/* Leak hunting: user stacks at connect/accept/EOF (the programs that
 * watch send/recv/close are only loaded when wanted). */
const volatile bool own_stacks;

__u64 ringbuf_drops;

/* Opened by the loader once every program is attached: attaching takes
 * tens of ms each, and a socket whose ->CLOSE is seen but whose timewait
 * start is not (its program not attached yet) would look closed without
 * TIME_WAIT.  Closed, nothing is emitted, so the trace starts at one
 * instant for every event kind. */
volatile bool gate_open;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__uint(value_size, TL_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/* Stack windows for unwinding in user space (unwind.bpf.h). */
#include "unwind.bpf.h"

extern const void tw_timer_handler __ksym;
extern const int __preempt_count __ksym __weak;
extern int CONFIG_HZ __kconfig;
extern bool CONFIG_KASAN __kconfig __weak;

/* Socket identity as filtered and reported. */
struct tl_key {
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u32 netns;
};

/* A kernel pointer as a plain number: the verifier forbids arithmetic on
 * pointers, but lets privileged programs copy their value.  Cold paths. */
static __always_inline __u64 ptr_val(const void *p)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &p);
	return v;
}

/* The same without a helper call, for hot paths: privileged programs may
 * store a pointer into a map value or the ring buffer, and what they load
 * back from there is a plain number.  slot is scratch, overwritten. */
static __always_inline __u64 addr_via(volatile __u64 *slot, const void *p)
{
	*slot = (__u64)p;
	return *slot;
}

/* A typed, read-only view of a kernel address (6.2+): its fields are read
 * with plain loads the verifier guards against faults, where
 * BPF_CORE_READ() costs a bpf_probe_read_kernel() call per field.  The
 * verifier turns the call itself into a register move. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define kview(type, p) \
	((const type *)bpf_rdonly_cast((const void *)(p), bpf_core_type_id_kernel(type)))

/* A bijection, so ids never collide, and keyed so that they do not
 * reveal kernel addresses. */
static __always_inline __u64 sk_id(__u64 addr)
{
	return tl_fmix64(addr ^ id_key);
}

static __always_inline __u64 jiffies_to_ns(__u64 j)
{
	return j * (1000000000ULL / CONFIG_HZ);
}

static __always_inline bool port_in(const volatile __u16 *set, __u32 n,
				    __u16 port)
{
	__u32 i;

#pragma unroll
	for (i = 0; i < TL_MAX_PORT_FILTER; i++) {
		if (i >= n)
			break;
		if (set[i] == port)
			return true;
	}
	return false;
}

/* The cgroup v2 id of a full socket: the cgroup it was made in (an
 * accepted socket: its listener's), as cgroup_sk_alloc() set it. */
static __always_inline __u64 sk_cgroup_id(const struct sock *sk)
{
	const struct cgroup *cg = sk->sk_cgrp_data.cgroup;

	return cg ? cg->kn->id : 0;
}

/* Whether a full socket is in the --cgroup cgroup or below it: the cgroup
 * keeps its ancestors by level, so one read finds the one to compare. */
static __always_inline bool cgroup_wanted(const struct sock *sk)
{
	const struct cgroup *cg, *anc;

	if (!filter_cgroup)
		return true;
	cg = sk->sk_cgrp_data.cgroup;
	if (!cg || cg->level < (int)filter_cgroup_level)
		return false;
	/* ancestors[] is past the struct as BTF has it: no plain load */
	anc = NULL;
	bpf_probe_read_kernel(&anc, sizeof(anc), &cg->ancestors[filter_cgroup_level & 0xff]);
	return anc && kview(struct cgroup, anc)->kn->id == filter_cgroup;
}

/* Reads what the filters need and applies them; false = drop.  Plain
 * loads: skc is a BTF pointer (trusted argument, iterator or kview()).
 * The local port comes from inet_sport/tw_sport: skc_num is zeroed when a
 * closing socket gives its port back, before ->CLOSE is traced. */
static __always_inline bool read_key(const struct sock_common *skc, bool tw,
				     struct tl_key *k)
{
	__be16 sport;

	k->family = skc->skc_family;
	if (k->family != AF_INET && k->family != AF_INET6)
		return false;
	if (filter_family && k->family != filter_family)
		return false;
	k->netns = skc->skc_net.net->ns.inum;
	if (filter_netns && k->netns != filter_netns)
		return false;
	if (tw)
		sport = kview(struct inet_timewait_sock, skc)->tw_sport;
	else
		sport = kview(struct inet_sock, skc)->inet_sport;
	k->sport = bpf_ntohs(sport);
	k->dport = bpf_ntohs(skc->skc_dport);
	if (n_lports && !port_in(filter_lports, n_lports, k->sport))
		return false;
	if (n_rports && !port_in(filter_rports, n_rports, k->dport))
		return false;
	/* a timewait sock has no cgroup: user space keeps those whose full
	 * socket it followed */
	if (!tw && !cgroup_wanted(kview(struct sock, skc)))
		return false;
	return true;
}

/* A socket's addresses: 4 bytes each for AF_INET, 16 for AF_INET6 (v6). */
static __always_inline void fill_addrs(__u32 *saddr, __u32 *daddr, bool v6,
				       const struct sock_common *skc)
{
	if (!v6) {
		*saddr = skc->skc_rcv_saddr;
		*daddr = skc->skc_daddr;
		return;
	}
	for (int i = 0; i < 4; i++) {
		saddr[i] = skc->skc_v6_rcv_saddr.in6_u.u6_addr32[i];
		daddr[i] = skc->skc_v6_daddr.in6_u.u6_addr32[i];
	}
}

/* Socket fields of a seed; sk_id from addr, the socket's address. */
static __always_inline void fill_seed_sock(struct tl_event *ev, const struct sock_common *skc,
					   const struct tl_key *k, __u64 addr)
{
	ev->sk_id = sk_id(addr);
	ev->family = k->family;
	ev->sport = k->sport;
	ev->dport = k->dport;
	ev->netns = k->netns;
	fill_addrs((__u32 *)ev->saddr, (__u32 *)ev->daddr, k->family == AF_INET6, skc);
}

static __always_inline struct cpu_mem *cpu_mem_slot(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_mem, &zero);
}

/* The parts of a ring record after its head (struct tl_wire). */
static __always_inline __u32 *wire_addrs(struct tl_wire *w)
{
	return (__u32 *)(w + 1);
}

static __always_inline struct tl_wire_task *wire_task(struct tl_wire *w, bool v6)
{
	return (struct tl_wire_task *)((char *)(w + 1) + (v6 ? TL_WIRE_ADDR6 : TL_WIRE_ADDR4));
}

/* Only process context names the socket's owner: elsewhere the current
 * task is whoever the softirq interrupted, not worth a copy. */
static __always_inline void fill_task(struct tl_wire_task *wt)
{
	const struct task_struct *t = bpf_get_current_task_btf();

	wt->pid = t->tgid;
	wt->tid = t->pid;
	/* two loads where bpf_get_current_comm() runs strscpy: the kernel
	 * keeps comm NUL-padded to its 16 bytes */
	((__u64 *)wt->comm)[0] = ((const __u64 *)t->comm)[0];
	((__u64 *)wt->comm)[1] = ((const __u64 *)t->comm)[1];
}

/* Waking the reader for every event would cost more than the event: it
 * polls every 100 ms anyway, and is woken early only once the ring holds
 * wakeup_bytes, which a CPU looks at every RING_QUERY_EVERY records. */
static __always_inline void wire_submit(struct tl_wire *w)
{
	struct cpu_mem *c = cpu_mem_slot();
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (c && ++c->unqueried >= RING_QUERY_EVERY) {
		c->unqueried = 0;
		if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
			flags = BPF_RB_FORCE_WAKEUP;
	}
	bpf_ringbuf_submit(w, flags);
}

/*
 * A ring record with its head filled but for the socket fields (zero),
 * room for addresses of the family's size (v6: AF_INET6) and, with task,
 * the current task filled in; NULL when the ring is full.  The verifier
 * wants each reservation's size a constant, hence the four calls, and
 * must see that the parts written later fit: v6 and task must each be a
 * value of their own, tested again as such (barrier_var()), not a test
 * the compiler redoes on the family, whose "not AF_INET6" the verifier
 * cannot keep.
 */
static __always_inline struct tl_wire *wire_reserve(__u8 type, bool v6, bool task)
{
	struct tl_wire *w;

	barrier_var(task);

	if (v6)
		w = task ? bpf_ringbuf_reserve(&events, TL_WIRE_SIZE(1, 1), 0) :
			   bpf_ringbuf_reserve(&events, TL_WIRE_SIZE(1, 0), 0);
	else
		w = task ? bpf_ringbuf_reserve(&events, TL_WIRE_SIZE(0, 1), 0) :
			   bpf_ringbuf_reserve(&events, TL_WIRE_SIZE(0, 0), 0);
	if (!w) {
		__sync_fetch_and_add(&ringbuf_drops, 1);
		return NULL;
	}
	/* ring buffer memory is not zeroed: the head is, the rest filled */
	__builtin_memset(w, 0, sizeof(*w));
	w->drop_seq = (__u16)ringbuf_drops;
	w->type = type;
	w->ts_ns = bpf_ktime_get_boot_ns();
	if (task) {
		w->flags = TL_F_IN_TASK;
		fill_task(wire_task(w, v6));
	}
	return w;
}

/* A record on the socket skc (tw: a timewait sock's) whose key k passed
 * the filters, its socket fields filled, obj the socket itself (its id);
 * NULL when the ring is full. */
static __always_inline struct tl_wire *wire_reserve_keyed(__u8 type, const struct sock_common *skc,
							  const struct tl_key *k, const void *obj,
							  bool task)
{
	bool v6 = k->family == AF_INET6;
	struct tl_wire *w;

	barrier_var(v6);	/* see wire_reserve() */
	w = wire_reserve(type, v6, task);
	if (!w)
		return NULL;
	w->sk_id = sk_id(addr_via(&w->sk_id, obj));
	w->family = k->family;
	w->sport = k->sport;
	w->dport = k->dport;
	w->netns = k->netns;
	fill_addrs(wire_addrs(w), wire_addrs(w) + (v6 ? 4 : 1), v6, skc);
	return w;
}

/* The same for a socket whose key is still to be read and filtered. */
static __always_inline struct tl_wire *wire_reserve_sock(__u8 type, const struct sock_common *skc,
							 bool tw, const void *obj)
{
	struct tl_key k;

	if (!read_key(skc, tw, &k))
		return NULL;
	return wire_reserve_keyed(type, skc, &k, obj, false);
}

/* A user stack of the current task as a reference for TL_EV_OWNER's aux:
 * the stack map id + 1 and the id of its stack window (unwind.h), 0 when
 * none could be taken. */
static __always_inline __u32 user_stack(void *ctx)
{
	struct tl_upath_key place = {};
	struct upath path = {};
	int known = upath_of(&path, &place);
	__u32 kstack, ref, *seen;
	long id;

	/* a call path seen before: its reference, without a stack walk */
	if (known == UPATH_KNOWN) {
		seen = bpf_map_lookup_elem(&upath_seen, &path);
		if (seen)
			return *seen;
	}
	id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	kstack = id < 0 ? 0 : (__u32)id + 1;
	ref = kstack | uwin_take(kstack, known == UPATH_UNKNOWN ? &place : NULL) << TL_KSTACK_BITS;
	if (known == UPATH_KNOWN && TL_KSTACK_WINDOW(ref))
		bpf_map_update_elem(&upath_seen, &path, &ref, BPF_ANY);
	return ref;
}

/* The roles whose aux carries where in the program it happened. */
static __always_inline bool role_has_stack(__u8 role)
{
	return role == TL_OWN_CONNECT || role == TL_OWN_ACCEPT || role == TL_OWN_EOF;
}

/* TL_EV_OWNER for a full TCP socket (a BTF pointer), in process context;
 * the user stack is or'ed into aux's low half for the roles that have
 * one, and taken only for sockets the filters let through. */
static __always_inline void emit_owner(void *ctx, const struct sock *sk, __u8 role, __u64 aux)
{
	struct tl_wire *w;
	struct tl_key k;

	if (!gate_open || !read_key(&sk->__sk_common, false, &k))
		return;
	if (own_stacks && role_has_stack(role))
		aux |= user_stack(ctx);
	w = wire_reserve_keyed(TL_EV_OWNER, &sk->__sk_common, &k, sk, true);
	if (!w)
		return;
	w->old_state = role;	/* tl_owner_role() */
	w->new_state = sk->__sk_common.skc_state;
	w->aux = aux;
	wire_submit(w);
}

/* Leak hunting: who did a socket's last send/recv, and its EOF read. */
#include "skuse.bpf.h"

/* Key tying a tw sock to the full sock it replaces: tcp_time_wait()
 * copies the port pair and the hash. */
static __always_inline __u64 tw_key(const struct sock_common *skc)
{
	return (__u64)skc->skc_portpair << 32 | skc->skc_hash;
}

/*
 * Process context, exact: nothing of NMI, hardirq or softirq serving in
 * preempt_count.  Bottom halves merely disabled (SOFTIRQ_DISABLE_OFFSET)
 * is still the owner running, e.g. release_sock() draining the backlog.
 */
static __always_inline bool in_task_pc(void)
{
	const int *pc = bpf_this_cpu_ptr(&__preempt_count);

	return !(*pc & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_OFFSET));
}

/*
 * Process context without __preempt_count (absent from kallsyms unless
 * CONFIG_KALLSYMS_ALL): interrupts and softirqs run on the per-CPU irq
 * stack, so the tracepoint arguments (ctx, on the caller's stack) lie in
 * the task's stack only in process context -- or in ksoftirqd, which
 * serves softirqs on its own stack.
 */
static __always_inline bool in_task_stack(const void *ctx, volatile __u64 *scratch)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 base = (__u64)t->stack;
	const char *comm = t->comm;

	if (addr_via(scratch, ctx) - base >= TASK_STACK_SIZE)
		return false;
	if (!(t->flags & PF_KTHREAD))
		return true;
	return !(comm[0] == 'k' && comm[1] == 's' && comm[2] == 'o' &&
		 comm[3] == 'f' && comm[4] == 't' && comm[5] == 'i' &&
		 comm[6] == 'r' && comm[7] == 'q' && comm[8] == 'd');
}

/* ->CLOSE from a state that would have gone to TIME_WAIT, with no tw
 * sock armed for it just before and the netns at its bucket limit:
 * inet_twsk_alloc() failed. */
static __always_inline bool tw_full(const struct sock *sk)
{
	const struct net *net = sk->__sk_common.skc_net.net;
	struct cpu_mem *c = cpu_mem_slot();
	int refs, max;
	__u64 key;

	if (c) {
		key = c->started;
		c->started = 0;
		if (key == tw_key(&sk->__sk_common))
			return false;
	}
	/* Embedded with tw_refcount since 6.1; older kernels: no flag. */
	if (!bpf_core_field_exists(net->ipv4.tcp_death_row.tw_refcount) ||
	    !bpf_core_field_exists(net->ipv4.tcp_death_row.sysctl_max_tw_buckets))
		return false;
	refs = net->ipv4.tcp_death_row.tw_refcount.refs.counter;
	max = net->ipv4.tcp_death_row.sysctl_max_tw_buckets;
	return refs - 1 >= max;
}

static __always_inline int on_state(const void *ctx, const struct sock *sk, int oldstate,
				    int newstate, bool use_pc)
{
	struct cpu_mem *c;
	struct tl_wire *w;
	struct tl_key k;
	bool in_task;

	if (!gate_open || sk->sk_protocol != IPPROTO_TCP ||
	    !read_key(&sk->__sk_common, false, &k))
		return 0;
	if (use_pc) {
		in_task = in_task_pc();
	} else {
		c = cpu_mem_slot();
		if (!c)
			return 0;
		in_task = in_task_stack(ctx, &c->scratch);
	}
	w = wire_reserve_keyed(TL_EV_STATE, &sk->__sk_common, &k, sk, in_task);
	if (!w)
		return 0;
	if (newstate == TL_TCP_CLOSE)
		w->aux = (__u32)sk->sk_err;
	else if (newstate == TL_TCP_SYN_SENT || newstate == TL_TCP_SYN_RECV ||
		 newstate == TL_TCP_LISTEN)
		w->aux = sk_cgroup_id(sk);	/* a birth: tl_aux_cgroup() */
	if (sk->__sk_common.skc_flags & (1UL << SOCK_DEAD))
		w->flags |= TL_F_ORPHAN;
	if (newstate == TL_TCP_CLOSE &&
	    (oldstate == TL_TCP_FIN_WAIT1 || oldstate == TL_TCP_FIN_WAIT2 ||
	     oldstate == TL_TCP_CLOSING) && tw_full(sk))
		w->flags |= TL_F_TW_FULL;
	w->old_state = oldstate;
	w->new_state = newstate;
	wire_submit(w);
	if (!own_stacks)
		return 0;
	/* connect(): where the socket was made, for leak hunting */
	if (in_task && oldstate == TL_TCP_CLOSE && newstate == TL_TCP_SYN_SENT)
		emit_owner((void *)ctx, sk, TL_OWN_CONNECT, 0);
	else if (newstate == TL_TCP_CLOSE && (sk->__sk_common.skc_flags & (1UL << SOCK_DEAD)))
		sk_use_release(sk);	/* closed by the application: no more send/recv */
	return 0;
}

/* Two variants of one program: the loader loads this one only when the
 * kernel can resolve __preempt_count, the other one otherwise. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tl_state, const struct sock *sk, const int oldstate,
	     const int newstate)
{
	if (&__preempt_count)
		return on_state(ctx, sk, oldstate, newstate, true);
	return on_state(ctx, sk, oldstate, newstate, false);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tl_state_stk, const struct sock *sk, const int oldstate,
	     const int newstate)
{
	return on_state(ctx, sk, oldstate, newstate, false);
}

/* Time since the tw timer was last armed for TIME_WAIT.  The kernel may
 * re-arm it without a trace (when the new expiry falls in the same wheel
 * bucket, as for an orphan's FIN_WAIT2 substate turning TIME_WAIT), but it
 * always updates expires, and TIME_WAIT is always armed for
 * TCP_TIMEWAIT_LEN. */
static __always_inline __u64 tw_since_armed(const struct inet_timewait_sock *tw)
{
	long len = TCP_TIMEWAIT_SECS * (long)CONFIG_HZ;
	long left = (long)(tw->tw_timer.expires - bpf_jiffies64());

	if (left > len)
		left = len;
	return jiffies_to_ns(len - left);
}

/* The timewait sock around a tw timer (container_of). */
static __always_inline const struct inet_timewait_sock *tw_of(const struct timer_list *timer)
{
	return kview(struct inet_timewait_sock, (const char *)timer -
		     bpf_core_field_offset(struct inet_timewait_sock, tw_timer));
}

static __always_inline int on_tw_timer(const struct inet_timewait_sock *tw, __u8 type,
				       __u16 flags, __u64 aux)
{
	struct tl_wire *w = wire_reserve_sock(type, &tw->__tw_common, true, tw);

	if (!w)
		return 0;
	w->new_state = tw->tw_substate;
	w->flags = flags;
	if (type != TL_EV_TW_START && w->new_state == TL_TCP_TIME_WAIT)
		aux = tw_since_armed(tw);
	w->aux = aux;
	wire_submit(w);
	return 0;
}

/* The three timer programs see every timer in the system: one load and
 * one compare before leaving for anything but a tw timer. */
SEC("tp_btf/timer_start")
int BPF_PROG(tl_tw_start, struct timer_list *timer, unsigned long expires)
{
	const struct inet_timewait_sock *tw;
	__u16 flags = 0;
	struct cpu_mem *c;
	__u64 t, aux;
	long left;

	if ((const void *)timer->function != &tw_timer_handler || !gate_open)
		return 0;
	c = cpu_mem_slot();
	if (!c)
		return 0;

	tw = tw_of(timer);
	t = addr_via(&c->started, timer);
	/* A tw killed right here may be freed and its memory armed again as
	 * a new tw: a first arm holds only the bhash, ehash and timer
	 * references, a re-arm also its caller's lookup. */
	if (c->cancelled == t && tw->__tw_common.skc_refcnt.refs.counter > 3)
		flags |= TL_F_REARM;
	c->cancelled = 0;
	c->started = tw_key(&tw->__tw_common);
	/* the argument is the wheel bucket's expiry, rounded: use the
	 * timer's own */
	left = (long)(timer->expires - bpf_jiffies64());
	aux = left > 0 ? jiffies_to_ns(left) : 0;
	return on_tw_timer(tw, TL_EV_TW_START, flags, aux);
}

SEC("tp_btf/timer_expire_entry")
int BPF_PROG(tl_tw_expire, struct timer_list *timer, unsigned long baseclk)
{
	struct cpu_mem *c;

	if ((const void *)timer->function != &tw_timer_handler || !gate_open)
		return 0;

	c = cpu_mem_slot();
	if (c)
		c->cancelled = 0;
	return on_tw_timer(tw_of(timer), TL_EV_TW_EXPIRE, 0, 0);
}

SEC("tp_btf/timer_cancel")
int BPF_PROG(tl_tw_cancel, struct timer_list *timer)
{
	struct cpu_mem *c;

	if ((const void *)timer->function != &tw_timer_handler || !gate_open)
		return 0;
	c = cpu_mem_slot();
	if (!c)
		return 0;

	/*
	 * Expiry detaches the timer, tracing timer_cancel, just before
	 * timer_expire_entry: __run_timers() first moves due timers onto
	 * list heads on its own stack, so the timer's pprev then lies just
	 * above our tracepoint arguments.  A kill or re-arm finds the timer
	 * still in the wheel (per-CPU base or a neighbour timer).
	 */
	if ((__u64)timer->entry.pprev - addr_via(&c->cancelled, ctx) < EXPIRY_FRAME_MAX) {
		c->cancelled = 0;
		return 0;
	}
	addr_via(&c->cancelled, timer);
	return on_tw_timer(tw_of(timer), TL_EV_TW_CANCEL, 0, 0);
}

static __always_inline int on_reset(const struct sock *sk, __u8 type)
{
	struct tl_wire *w;
	int state;

	if (!sk || !gate_open)
		return 0;
	/* only full sockets: not tw or request socks (sk_fullsock()) */
	state = sk->__sk_common.skc_state;
	if (state == TL_TCP_TIME_WAIT || state == TL_TCP_NEW_SYN_RECV)
		return 0;
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	w = wire_reserve_sock(type, &sk->__sk_common, false, sk);
	if (!w)
		return 0;
	w->old_state = state;
	w->new_state = state;
	if (sk->__sk_common.skc_flags & (1UL << SOCK_DEAD))
		w->flags = TL_F_ORPHAN;
	wire_submit(w);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tl_rst_recv, struct sock *sk)
{
	return on_reset(sk, TL_EV_RESET_RECV);
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tl_rst_sent, const struct sock *sk, const struct sk_buff *skb)
{
	return on_reset(sk, TL_EV_RESET_SENT);
}

/* Age of a timewait sock in its substate at this moment. */
static __always_inline __u64 tw_age(const struct tcp_timewait_sock *tcptw,
				    __u8 substate, __u16 *flags)
{
	const struct inet_timewait_sock *tw = &tcptw->tw_sk;
	__u32 now_ms;

	if (substate == TL_TCP_TIME_WAIT) {
		*flags |= TL_F_AGE_EXACT;
		return tw_since_armed(tw);
	}
	if (bpf_core_field_exists(tw->tw_entry_stamp)) {
		/* ms of tcp_clock_ns(), i.e. CLOCK_MONOTONIC */
		now_ms = bpf_ktime_get_ns() / 1000000;
		return (__u64)(__u32)(now_ms - tw->tw_entry_stamp) * 1000000;
	}
	return 0;
}

SEC("iter/tcp")
int tl_seed(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_timewait_sock *tw;
	struct tl_event ev = {};
	struct tcp_sock *tp;
	struct tl_key k;
	int state;

	if (!skc)
		return 0;
	state = skc->skc_state;
	/* CLOSE: not connected yet, or gone already (the iterator holds a
	 * reference on what it batched): its ending is in the ring */
	if (state == TL_TCP_LISTEN || state == TL_TCP_NEW_SYN_RECV || state == TL_TCP_CLOSE)
		return 0;
	if (!read_key(skc, state == TL_TCP_TIME_WAIT, &k))
		return 0;

	ev.type = TL_EV_SEED;
	ev.ts_ns = bpf_ktime_get_boot_ns();
	if (state == TL_TCP_TIME_WAIT) {
		tw = bpf_skc_to_tcp_timewait_sock(skc);
		if (!tw)
			return 0;
		ev.new_state = tw->tw_sk.tw_substate;
		ev.flags = TL_F_TW_SOCK;
		ev.aux = tw_age(tw, ev.new_state, &ev.flags);
		fill_seed_sock(&ev, skc, &k, ptr_val(tw));
	} else {
		tp = bpf_skc_to_tcp_sock(skc);
		if (!tp)
			return 0;
		ev.new_state = state;
		/* Entered on receiving a segment: rcv_tstamp is no earlier.
		 * Whole jiffies only, less one, so the age stays a lower
		 * bound whatever the jiffy's phase. */
		if (state == TL_TCP_ESTABLISHED || state == TL_TCP_CLOSE_WAIT ||
		    state == TL_TCP_FIN_WAIT2) {
			__u32 j = (__u32)bpf_jiffies64() - tp->rcv_tstamp;

			ev.aux = j > 1 ? jiffies_to_ns(j - 1) : 0;
		}
		if (skc->skc_flags & (1UL << SOCK_DEAD))
			ev.flags |= TL_F_ORPHAN;
		fill_seed_sock(&ev, skc, &k, ptr_val(tp));
	}
	bpf_seq_write(ctx->meta->seq, &ev, sizeof(ev));
	if (state != TL_TCP_TIME_WAIT && tp->inet_conn.icsk_inet.sk.sk_socket) {
		/* the inode /proc/PID/fd shows: the one after the socket */
		struct socket_alloc *sa = (void *)tp->inet_conn.icsk_inet.sk.sk_socket;

		ev.type = TL_EV_INODE;
		ev.flags = 0;
		ev.aux = kview(struct socket_alloc, sa)->vfs_inode.i_ino;
		bpf_seq_write(ctx->meta->seq, &ev, sizeof(ev));
	}
	if (state != TL_TCP_TIME_WAIT) {
		ev.type = TL_EV_CGROUP;
		ev.flags = 0;
		ev.aux = sk_cgroup_id(&tp->inet_conn.icsk_inet.sk);
		if (ev.aux)
			bpf_seq_write(ctx->meta->seq, &ev, sizeof(ev));
	}
	return 0;
}

/* Who uses a socket, seen in process context. */
#include "owners.bpf.h"

/* ---- failed connect() and bind() ------------------------------------ */

#include "connerr.bpf.h"
