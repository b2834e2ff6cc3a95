/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The unwinder over windows this process takes of its own stack, as the
 * collector takes them of a traced one, and the folding of libc's frames. */
#include <stdbool.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>
#include "unwind.h"
#include "unit.h"

#if defined(__x86_64__)
static struct tl_uwin win;

/* The registers in DWARF order and the stack above sp, up to len bytes
 * (as far as the stack goes), into win. */
static __attribute__((noinline)) void take_window(uint32_t len)
{
	uint64_t r[TL_UWIN_NREGS];
	struct iovec local = { win.data, len }, remote;
	ssize_t n;

	__asm__ volatile(
		"mov %%rax, 0(%0)\n\tmov %%rdx, 8(%0)\n\tmov %%rcx, 16(%0)\n\t"
		"mov %%rbx, 24(%0)\n\tmov %%rsi, 32(%0)\n\tmov %%rdi, 40(%0)\n\t"
		"mov %%rbp, 48(%0)\n\tmov %%rsp, 56(%0)\n\tmov %%r8, 64(%0)\n\t"
		"mov %%r9, 72(%0)\n\tmov %%r10, 80(%0)\n\tmov %%r11, 88(%0)\n\t"
		"mov %%r12, 96(%0)\n\tmov %%r13, 104(%0)\n\tmov %%r14, 112(%0)\n\t"
		"mov %%r15, 120(%0)\n\tlea 0(%%rip), %%rax\n\tmov %%rax, 128(%0)\n\t"
		: : "r"(r) : "rax", "memory");
	remote.iov_base = (void *)(uintptr_t)r[7];
	remote.iov_len = len;
	/* a partial read at the stack's end is what the collector gets too */
	n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	memcpy(win.regs, r, sizeof(r));
	win.len = n > 0 ? (uint32_t)n : 0;
	win.pid = win.tid = (uint32_t)getpid();
	win.id++;
}

static volatile int sink;

static __attribute__((noinline)) void guilty_caller(uint32_t len)
{
	take_window(len);
	sink++;	/* no tail call: this frame stays */
}

static bool has_frame(char **frames, int n, const char *fn)
{
	size_t k = strlen(fn);

	for (int i = 0; i < n; i++)
		if (!strncmp(frames[i], fn, k) && !strncmp(frames[i] + k, "+0x", 3))
			return true;
	return false;
}

static void free_frames(char **frames, int n)
{
	for (int i = 0; i < n; i++)
		free(frames[i]);
}

static int unwind_own(uint32_t len, char **frames)
{
	struct tl_symbolizer *sym = tl_sym_new();
	struct tl_unwinder *u = tl_unwind_new(sym, -1, -1);
	uint32_t kref;
	int n = -1;

	if (!sym || !u)
		goto out;
	guilty_caller(len);
	CHECK_EQ_U64(tl_unwind_add(u, &win, sizeof(win)), 0);
	kref = 1 | win.id << TL_KSTACK_BITS;
	n = tl_unwind_frames(u, (int)getpid(), kref, NULL, 0, frames);
	/* unwound once: the window is gone */
	if (n >= 0)
		CHECK_EQ_U64(tl_unwind_frames(u, (int)getpid(), kref, NULL, 0, frames + n), 0);
out:
	tl_unwind_free(u);
	tl_sym_free(sym);
	return n;
}

static void test_unwinds_own_window(void)
{
	char *frames[TL_UNWIND_FRAMES];
	int n = unwind_own(TL_UWIN_BYTES, frames);

	CHECK(n >= 3);
	if (n < 3)
		return;
	CHECK(has_frame(frames, n, "take_window"));
	CHECK(has_frame(frames, n, "guilty_caller"));
	CHECK(has_frame(frames, n, "unwind_own"));
	CHECK(has_frame(frames, n, "test_unwinds_own_window"));
	free_frames(frames, n);
}

/* A window too short for the callers: what it holds, then the mark. */
static void test_short_window_truncates(void)
{
	char *frames[TL_UNWIND_FRAMES];
	int n = unwind_own(64, frames);

	CHECK(n >= 2);
	if (n < 2)
		return;
	CHECK(has_frame(frames, n, "take_window"));
	CHECK_STR(frames[n - 1], TL_UNWIND_TRUNCATED);
	CHECK(!has_frame(frames, n, "test_short_window_truncates"));
	free_frames(frames, n);
}
#endif

static void test_window_unknown(void)
{
	struct tl_symbolizer *sym = tl_sym_new();
	struct tl_unwinder *u = tl_unwind_new(sym, -1, -1);
	struct tl_uwin bad = { .id = 7, .len = TL_UWIN_BYTES + 1 };
	uint64_t ips[4];
	bool truncated;

	CHECK(u != NULL);
	CHECK(tl_unwind_add(u, &bad, sizeof(bad)) < 0);
	bad.len = 16;
	CHECK(tl_unwind_add(u, &bad, offsetof(struct tl_uwin, data) + 8) < 0);
	CHECK(tl_unwind_window(u, 7, 0, ips, 4, &truncated) < 0);
	tl_unwind_free(u);
	tl_sym_free(sym);
}

static void test_fold_wrapper(void)
{
	char *f[4];
	int n;

	f[0] = strdup("__syscall_cancel_arch+0x2c (syscall_cancel.S:56)");
	f[1] = strdup("accept4+0x58 (accept4.c:31)");
	f[2] = strdup("serve+0xa (server.c:28)");
	f[3] = strdup("main+0x10 (server.c:90)");
	n = tl_unwind_fold_wrapper(f, 4, 2, "libc.so.6");
	CHECK_EQ_U64(n, 3);
	CHECK_STR(f[0], "accept4 (libc.so.6)");
	CHECK_STR(f[1], "serve+0xa (server.c:28)");
	CHECK_STR(f[2], "main+0x10 (server.c:90)");
	free_frames(f, n);

	/* no symbol: the library alone; nothing to fold: as it was */
	f[0] = strdup("libc.so.6+0x10af63");
	f[1] = strdup("serve+0xa (server.c:28)");
	n = tl_unwind_fold_wrapper(f, 2, 1, "libc.so.6");
	CHECK_EQ_U64(n, 2);
	CHECK_STR(f[0], "libc.so.6");
	CHECK_EQ_U64(tl_unwind_fold_wrapper(f, 2, 0, "libc.so.6"), 2);
	CHECK_STR(f[0], "libc.so.6");
	free_frames(f, n);
}

int main(void)
{
#if defined(__x86_64__)
	RUN(test_unwinds_own_window);
	RUN(test_short_window_truncates);
#endif
	RUN(test_window_unknown);
	RUN(test_fold_wrapper);
	return UNIT_END();
}
