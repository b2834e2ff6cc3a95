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

/* The id of the window for this stack (kstack: map id + 1), taking it now
 * the first time within the process's budget; 0 when there is none. */
static __always_inline __u32 uwin_take(__u32 kstack)
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
	if (spent && *spent >= TL_UWIN_PER_PROC)
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
	/* read on demand, when an owner event names it: no wakeup */
	bpf_ringbuf_submit(w, BPF_RB_NO_WAKEUP);
	bpf_map_update_elem(&uwin_seen, &k, &id, BPF_ANY);
	if (spent)
		__sync_fetch_and_add(spent, 1);
	else
		bpf_map_update_elem(&uwin_spent, &k.pid, &one, BPF_NOEXIST);
	return id;
}
#else
static __always_inline __u32 uwin_take(__u32 kstack)
{
	return 0;
}
#endif

#endif /* TCPLINGER_UNWIND_BPF_H */
