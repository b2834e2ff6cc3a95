/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Stack references of a live run.  The kernel's stack ids mean nothing
 * outside the run: each stack is read, symbolized while its process
 * lives, interned, and passed on once as a TL_EV_STACK; events then carry
 * its reference instead.
 */
#ifndef TCPLINGER_STACKREFS_H
#define TCPLINGER_STACKREFS_H

#include <stddef.h>
#include <stdint.h>
#include "../bpf/events.h"
#include "../bpf/unwind.h"

/* Reads the kernel's stack kref: up to max return addresses, innermost
 * first; how many, or a negative errno. */
typedef int (*tl_kstack_fn)(uint32_t kref, uint64_t *ips, int max, void *ctx);
/* Passes on a new TL_EV_STACK and its blob. */
typedef void (*tl_stack_fn)(const struct tl_event *ev, const char *blob, size_t len, void *ctx);

struct tl_stackrefs;

/* max_stacks: distinct stacks kept (0: TL_STACKS_KEEP); windows_fd: the
 * ring of stack windows to unwind with the CFI (-1: frame pointers only);
 * upaths_fd: the collector's call-path recipes (bpf/unwind.h; -1: none).
 * NULL when out of memory. */
struct tl_stackrefs *tl_stackrefs_new(uint32_t max_stacks, int windows_fd, int upaths_fd,
				      tl_kstack_fn read, tl_stack_fn emit, void *ctx);
void tl_stackrefs_free(struct tl_stackrefs *r);
/* Unwinds the stack windows that have come in (see unwind.h). */
int tl_stackrefs_pump(struct tl_stackrefs *r);
/* Readable when stack windows have come in; -1 without a ring. */
int tl_stackrefs_epoll_fd(const struct tl_stackrefs *r);
/* The reference of the kernel's stack kref taken in ev's task; 0 if it
 * cannot be kept, or r is NULL. */
uint32_t tl_stackrefs_kernel(struct tl_stackrefs *r, const struct tl_event *ev, uint32_t kref);
/* A stack of no frames holding ev's process's command line, for sockets
 * whose making was not seen (they predate the trace); 0 likewise. */
uint32_t tl_stackrefs_cmdline(struct tl_stackrefs *r, const struct tl_event *ev);
/* A stack already in frame strings (a Python stack), with label where a
 * stack keeps its command line; 0 likewise. */
uint32_t tl_stackrefs_frames(struct tl_stackrefs *r, const struct tl_event *ev, const char *label,
			     char *const *frames, int n);
/* Where thread ev->tid, blocked in a syscall, is: w as tl_unwind_blocked()
 * takes it (NULL: no frames, the label alone), unwound while the process
 * lives; label (the syscall's name) in place of the command line. */
uint32_t tl_stackrefs_blocked(struct tl_stackrefs *r, const struct tl_event *ev,
			      const struct tl_uwin *w, const char *label);
/* Stacks not kept because the store was full. */
uint64_t tl_stackrefs_dropped(const struct tl_stackrefs *r);

#endif /* TCPLINGER_STACKREFS_H */
