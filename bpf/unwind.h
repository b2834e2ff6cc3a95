/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * User-stack windows for unwinding with the CFI in user space (user/unwind.h),
 * shared by the BPF collector and user space.  At accept/connect/EOF-read the
 * collector takes, besides its frame-pointer stack, the user registers and
 * the stack above sp -- once per call path (see below; before that path is
 * known, once per (process, frame-pointer stack, words at sp)), within a
 * per-process budget -- and sends them on a ring of their own, so that the
 * events ring never waits behind 8 KiB records.
 */
#ifndef TCPLINGER_UNWIND_EVENTS_H
#define TCPLINGER_UNWIND_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TL_UWIN_BYTES	8192	/* stack bytes above sp, as perf --call-graph dwarf */
#define TL_UWIN_CHUNK	512	/* read in chunks: a read crossing the stack's end fails whole */
#define TL_UWIN_NREGS	17	/* DWARF x86-64: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip */
#define TL_UWIN_PER_PROC 64	/* windows a process may send */

/* A TL_EV_OWNER's stack reference from the kernel: the low TL_KSTACK_BITS
 * the stack map id + 1 (0: none), the rest the window's id (0: none). */
#define TL_KSTACK_BITS		14
#define TL_KSTACK_ID(ref)	((ref) & ((1u << TL_KSTACK_BITS) - 1))
#define TL_KSTACK_WINDOW(ref)	((ref) >> TL_KSTACK_BITS)
#define TL_KSTACK_WINDOW_MAX	((1u << (32 - TL_KSTACK_BITS)) - 1)

struct tl_uwin {
	__u32 id;		/* > 0, as the owner event's reference names it */
	__u32 pid;
	__u32 tid;
	__u32 kstack;		/* the frame-pointer stack's reference (map id + 1) */
	__u32 len;		/* bytes of data read from regs[7] (sp) up */
	__u32 pad;
	__u64 regs[TL_UWIN_NREGS];
	__u8 data[TL_UWIN_BYTES];
};

/*
 * Call paths: how the collector knows a call path again without walking the
 * stack.  Without frame pointers the words near sp tell call sites apart
 * only while the caller's registers and locals there stay the same; in a
 * real server they change with every call, so each call would cost a window
 * and a stack walk, and once the budget is spent the stacks would stop at
 * the wrapper.  Having unwound a window with the CFI, user space knows where
 * each return address lay above sp: it posts those offsets per (process, pc
 * in the wrapper, return address into the wrapper's caller), and where that
 * return address itself lies under the key whose ret1 is 0.  A later call
 * from there reads just those words; the same return addresses are the same
 * call path (to TL_UPATH_DEPTH frames past the wrapper), and the reference
 * taken the first time (stack map id and window) is reused.  Frame sizes
 * are fixed per pc, so offsets learned on one path can only misread another
 * path that differs from two frames past the wrapper on: its words then
 * differ, a miss, never a merge.
 */
#define TL_UPATH_DEPTH	12

struct tl_upath_key {
	__u32 pid;
	__u32 pad;
	__u64 pc;		/* in the wrapper, at the syscall */
	__u64 ret1;		/* the return address into its caller; 0: where it is */
};

struct tl_upath_recipe {
	__u32 n;			/* offsets that follow */
	__u16 off[TL_UPATH_DEPTH];	/* bytes above sp of each return address */
};

#endif /* TCPLINGER_UNWIND_EVENTS_H */
