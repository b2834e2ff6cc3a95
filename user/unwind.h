/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * User stacks unwound with the CFI (.eh_frame, .debug_frame) through
 * libdwfl, from the registers and stack window the collector took
 * (bpf/unwind.h), as perf --call-graph dwarf does: code built without
 * frame pointers, and the direct caller of libc's syscall wrappers (which
 * make no frame), show as they are.  Without a window the frame-pointer
 * stack stands.  Either way the stack becomes frame strings ready for the
 * stack store (stacks.h):
 *   - the innermost frames inside the C library (its syscall wrappers,
 *     whose offsets differ between glibc's single-threaded and cancellable
 *     paths) become one frame naming the outermost of them, without
 *     offset: "accept4 (libc.so.6)", so one call site is one group;
 *   - a frame outside every executable mapping ends the stack, marked by
 *     a last frame TL_UNWIND_TRUNCATED, as does a window too short.
 * Windows are unwound as they arrive, and what is kept until a stack asks
 * for it is bounded.
 */
#ifndef TCPLINGER_UNWIND_H
#define TCPLINGER_UNWIND_H

#include <stddef.h>
#include <stdint.h>
#include "../bpf/unwind.h"
#include "symbolize.h"

#define TL_UNWIND_FRAMES	64	/* frames kept at most */
#define TL_UNWIND_TRUNCATED	"[truncated]"

struct tl_unwinder;

/* ring_fd: the windows' ring (tl_loader_windows_fd), -1 for none;
 * upaths_fd: the map of call-path recipes to post to (tl_loader_upaths_fd,
 * bpf/unwind.h), -1 for none.  The symbolizer is the caller's and must
 * outlive the unwinder.  NULL when out of memory. */
struct tl_unwinder *tl_unwind_new(struct tl_symbolizer *sym, int ring_fd, int upaths_fd);
void tl_unwind_free(struct tl_unwinder *u);
/* Unwinds a window (as the ring delivers it), posts its call path's
 * recipe, and keeps its stack until an event asks for it. */
int tl_unwind_add(struct tl_unwinder *u, const struct tl_uwin *w, size_t size);
/* Takes in the windows the ring holds; a negative errno on failure. */
int tl_unwind_pump(struct tl_unwinder *u);
/* To wait for windows: readable when the ring has some; -1 without one. */
int tl_unwind_epoll_fd(const struct tl_unwinder *u);
/* Up to max return addresses of the window id taken in pid (ips[0] the
 * exact pc); *truncated when the unwinding stopped before the outermost
 * frame.  Returns how many, or -ENOENT without such a window. */
int tl_unwind_window(struct tl_unwinder *u, uint32_t id, uint32_t pid, uint64_t *ips, int max,
		     bool *truncated);
/* The frame strings of the stack kref (the kernel's reference: see
 * bpf/unwind.h) taken in pid: its window unwound, else fp_ips[0..fp_n) (the
 * frame-pointer stack); each out[i] malloc'd, the caller's.  Returns how
 * many (at most TL_UNWIND_FRAMES), 0 or a negative errno for none. */
int tl_unwind_frames(struct tl_unwinder *u, int pid, uint32_t kref, const uint64_t *fp_ips,
		     int fp_n, char **out);
/* The frame strings of a thread blocked in a syscall, from what /proc
 * tells of it: w's pid, tid, sp (regs[7]), pc (regs[16]) and the stack
 * above sp (data, len bytes, as from /proc/PID/mem); its other registers
 * are ignored, as only the CFI can recover them.  Returns as
 * tl_unwind_frames(). */
int tl_unwind_blocked(struct tl_unwinder *u, const struct tl_uwin *w, char **out);
/* Frames [0, nwrap) lie inside the C library (lib its basename): the
 * outermost's name, without its offset, stands for them all; returns the
 * new count (frames freed as needed). */
int tl_unwind_fold_wrapper(char **frames, int n, int nwrap, const char *lib);

#endif /* TCPLINGER_UNWIND_H */
