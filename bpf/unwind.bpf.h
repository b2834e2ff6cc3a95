/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Stack windows (see unwind.h): the current task's user registers and the
 * stack above its sp, sent on the `windows` ring for user space to unwind
 * with the CFI.  Included by tcplinger.bpf.c; x86-64 only (elsewhere no
 * window is taken and the frame-pointer stack stands alone).
 */
#ifndef TCPLINGER_UNWIND_BPF_H
#define TCPLINGER_UNWIND_BPF_H

#include "unwind.h"

#define PF_IO_WORKER	0x00000010

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 512 * 1024);	/* set by the loader */
} windows SEC(".maps");

/* What was sent already: one window per (process, frame-pointer stack,
 * the words at sp).  Without frame pointers the stack map's stack barely
 * tells call sites apart; the return address into the wrapper's caller
 * does, and it lies within a few words of sp: at sp in libc's leaf
 * wrappers, past the saved registers on glibc's cancellable path.  One
 * word was not enough: two call sites then shared a window there. */
#define UWIN_KEY_WORDS	8
struct uwin_key {
	__u32 pid;
	__u32 kstack;
	__u64 at_sp[UWIN_KEY_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct uwin_key);
	__type(value, __u32);		/* the window's id */
} uwin_seen SEC(".maps");

/* Windows sent per process: the budget. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} uwin_spent SEC(".maps");

/* Windows taken on each CPU: their ids, unique without an atomic
 * fetch-and-add (that needs a newer BPF ISA than the build targets). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} uwin_count SEC(".maps");

/* Call paths (unwind.h): offsets posted by user space, and the reference
 * each path was given. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct tl_upath_key);
	__type(value, struct tl_upath_recipe);
} upath_recipes SEC(".maps");

struct upath {
	__u32 pid;
	__u32 n;
	__u64 pc;
	__u64 ret[TL_UPATH_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct upath);
	__type(value, __u32);		/* kstack | window << TL_KSTACK_BITS */
} upath_seen SEC(".maps");

enum { UPATH_NONE, UPATH_UNKNOWN, UPATH_KNOWN };

/* The stack just above sp, read at once: most call paths' return
 * addresses lie there, and one read costs less than a read each. */
#define UPATH_SPAN_WORDS 32
struct upath_span {
	__u64 w[UPATH_SPAN_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct upath_span);
} upath_scratch SEC(".maps");

/* A place whose recipe is awaited: the windows taken there this second.
 * While user space unwinds the first (milliseconds, more for a new
 * binary), a busy server would otherwise spend its whole budget before the
 * recipe came, and never get another window; a few in flight let calls
 * from different callers through the same wrapper each have theirs. */
#define UPATH_AWAIT_WINDOWS	8
#define UPATH_AWAIT_NS		(1000 * 1000 * 1000ULL)
struct upath_await {
	__u64 since;
	__u32 taken;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tl_upath_key);
	__type(value, struct upath_await);
} upath_awaited SEC(".maps");

#define UWIN_CPU_BITS 6		/* past 64 CPUs, ids may repeat: user space checks */
__u64 uwin_drops;		/* windows the ring had no room for */

#if defined(__TARGET_ARCH_x86)
/* pt_regs in DWARF register order. */
static __always_inline void uwin_regs(__u64 *r, const struct pt_regs *p)
{
	r[0] = p->ax;	r[1] = p->dx;	r[2] = p->cx;	r[3] = p->bx;
	r[4] = p->si;	r[5] = p->di;	r[6] = p->bp;	r[7] = p->sp;
	r[8] = p->r8;	r[9] = p->r9;	r[10] = p->r10;	r[11] = p->r11;
	r[12] = p->r12;	r[13] = p->r13;	r[14] = p->r14;	r[15] = p->r15;
	r[16] = p->ip;
}

/* Reads up to TL_UWIN_BYTES from sp: whole chunks, then the last one by
 * halves, as the end of the stack allows.  Returns the bytes read. */
static __always_inline __u32 uwin_read(__u8 *data, __u64 sp)
{
	__u32 len = 0, n;

	for (int i = 0; i < TL_UWIN_BYTES / TL_UWIN_CHUNK; i++) {
		if (bpf_probe_read_user(data + len, TL_UWIN_CHUNK, (const void *)(sp + len)))
			break;
		len += TL_UWIN_CHUNK;
	}
	for (n = TL_UWIN_CHUNK / 2; n >= 8; n /= 2) {
		if (len > TL_UWIN_BYTES - n)
			break;
		if (!bpf_probe_read_user(data + len, n, (const void *)(sp + len)))
			len += n;
	}
	return len;
}

/* Whether the place awaiting its recipe (awaited: NULL for none) has
 * had its windows for this second; counts the one about to be taken. */
static __always_inline bool upath_too_soon(const struct tl_upath_key *awaited)
{
	struct upath_await *a, fresh = { .taken = 1 };
	__u64 now;

	if (!awaited)
		return false;
	now = bpf_ktime_get_ns();
	a = bpf_map_lookup_elem(&upath_awaited, awaited);
	if (a && now - a->since < UPATH_AWAIT_NS) {
		if (a->taken >= UPATH_AWAIT_WINDOWS)
			return true;
		__sync_fetch_and_add(&a->taken, 1);
		return false;
	}
	fresh.since = now;
	bpf_map_update_elem(&upath_awaited, awaited, &fresh, BPF_ANY);
	return false;
}

/* The id of the window for this stack (kstack: map id + 1), taking it now
 * the first time within the process's budget; 0 when there is none.
 * awaited: the place whose recipe is missing, if it is. */
static __always_inline __u32 uwin_take(__u32 kstack, const struct tl_upath_key *awaited)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct uwin_key k = { .kstack = kstack };
	struct pt_regs *regs;
	struct tl_uwin *w;
	__u32 *seen, *spent, *count, one = 1, zero = 0, id;
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (!kstack || kstack > TL_KSTACK_ID(~0u) || (t->flags & (PF_KTHREAD | PF_IO_WORKER)))
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(t);
	if (!regs)
		return 0;
	k.pid = pid_tgid >> 32;
	if (bpf_probe_read_user(k.at_sp, sizeof(k.at_sp), (const void *)regs->sp))
		return 0;
	seen = bpf_map_lookup_elem(&uwin_seen, &k);
	if (seen)
		return *seen;
	spent = bpf_map_lookup_elem(&uwin_spent, &k.pid);
	if ((spent && *spent >= TL_UWIN_PER_PROC) || upath_too_soon(awaited))
		return 0;
	count = bpf_map_lookup_elem(&uwin_count, &zero);
	if (!count)
		return 0;
	w = bpf_ringbuf_reserve(&windows, sizeof(*w), 0);
	if (!w) {
		__sync_fetch_and_add(&uwin_drops, 1);
		return 0;
	}
	id = ((*count)++ << UWIN_CPU_BITS | (bpf_get_smp_processor_id() &
		((1u << UWIN_CPU_BITS) - 1))) % TL_KSTACK_WINDOW_MAX + 1;
	w->id = id;
	w->pid = k.pid;
	w->tid = (__u32)pid_tgid;
	w->kstack = kstack;
	w->pad = 0;
	uwin_regs(w->regs, regs);
	w->len = uwin_read(w->data, w->regs[7]);
	/* unwound as it comes: its recipe is wanted soon (a wakeup per
	 * window; the budget bounds them) */
	bpf_ringbuf_submit(w, 0);
	bpf_map_update_elem(&uwin_seen, &k, &id, BPF_ANY);
	if (spent)
		__sync_fetch_and_add(spent, 1);
	else
		bpf_map_update_elem(&uwin_spent, &k.pid, &one, BPF_NOEXIST);
	return id;
}

/* The word at sp + off (off 8-aligned, as user space posts them). */
static __always_inline long upath_word(const struct upath_span *span, __u64 sp, __u16 off,
				       __u64 *word)
{
	if (span && off < sizeof(*span)) {
		*word = span->w[(off / 8) & (UPATH_SPAN_WORDS - 1)];
		return 0;
	}
	return bpf_probe_read_user(word, sizeof(*word), (const void *)(sp + off));
}

/* The current call path as its recipe reads it: UPATH_KNOWN, else
 * UPATH_UNKNOWN with *rk naming the recipe missing (no window of this
 * place unwound yet), or UPATH_NONE (a word unreadable, a kernel thread). */
static __always_inline int upath_of(struct upath *p, struct tl_upath_key *rk)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct tl_upath_recipe *r;
	struct upath_span *span;
	struct pt_regs *regs;
	__u32 n, zero = 0;
	__u64 sp;

	if (t->flags & (PF_KTHREAD | PF_IO_WORKER))
		return UPATH_NONE;
	regs = (struct pt_regs *)bpf_task_pt_regs(t);
	if (!regs)
		return UPATH_NONE;
	sp = regs->sp;
	rk->pid = bpf_get_current_pid_tgid() >> 32;
	rk->pc = regs->ip;
	r = bpf_map_lookup_elem(&upath_recipes, rk);
	if (!r || !r->n)
		return UPATH_UNKNOWN;
	span = bpf_map_lookup_elem(&upath_scratch, &zero);
	if (span && bpf_probe_read_user(span, sizeof(*span), (const void *)sp))
		span = NULL;	/* the stack ends sooner: a read each */
	if (upath_word(span, sp, r->off[0], &rk->ret1))
		return UPATH_NONE;
	r = bpf_map_lookup_elem(&upath_recipes, rk);
	if (!r)
		return UPATH_UNKNOWN;
	n = r->n;
	p->pid = rk->pid;
	p->pc = rk->pc;
	p->n = n;
	for (__u32 i = 0; i < TL_UPATH_DEPTH; i++) {
		if (i >= n)
			break;
		if (upath_word(span, sp, r->off[i], &p->ret[i]))
			return UPATH_NONE;
	}
	return UPATH_KNOWN;
}
#else
static __always_inline __u32 uwin_take(__u32 kstack, const struct tl_upath_key *awaited)
{
	return 0;
}

static __always_inline int upath_of(struct upath *p, struct tl_upath_key *rk)
{
	return UPATH_NONE;
}
#endif

#endif /* TCPLINGER_UNWIND_BPF_H */
