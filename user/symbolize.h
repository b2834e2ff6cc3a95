/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * User-stack symbolization with libdw.  Each binary (keyed by its GNU
 * build id, else by device, inode, size and mtime) is opened and parsed
 * once and shared by every process that maps it; each process's
 * /proc/PID/maps is cached too.  Both caches are bounded (LRU: 128
 * binaries, each holding up to two fds; 64 processes).  Separate debug
 * info is looked for locally only, never through debuginfod.  Files are
 * read as symelf.h says: the exact mapped file, nothing that could block,
 * a bounded time per binary.  Not thread-safe: one symbolizer per thread.
 *
 * Frame strings (offsets in lowercase hex; a return address is looked up
 * at ip-1 but its offset is shown for ip itself):
 *	func+0x1c (file.c:42)	symbol and source line (file's basename)
 *	func+0x1c (libc.so.6)	symbol, no line info (module's basename)
 *	libfoo.so+0x1234	no symbol: the ELF virtual address, as
 *				addr2line -e libfoo.so takes it (the file
 *				offset if the file cannot be opened)
 *	[vdso]+0x9c0		offset into the vdso (also [vsyscall])
 *	name+0x1c [perf-PID.map]  JIT code (executable memory that is no
 *				ELF file) named by the perf map its
 *				runtime writes (perfmap.h); PID as the
 *				process sees itself
 *	0x7f12345678		no module nor perf map entry: anonymous
 *				memory, 0
 * A frame string longer than TL_SYM_FRAME_MAX (512) bytes ends in "...".
 */
#ifndef TCPLINGER_SYMBOLIZE_H
#define TCPLINGER_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>

struct tl_symbolizer;

/* NULL when out of memory. */
struct tl_symbolizer *tl_sym_new(void);
void tl_sym_free(struct tl_symbolizer *s);
/* Symbolizes n user-space addresses of the live process pid (ips[0] is
 * the innermost frame, an exact instruction address; the others are
 * return addresses: looked up at ip-1).  Each out[i] receives a malloc'd
 * string the caller frees.  Returns n, or a negative errno if the process
 * is gone (-ESRCH) or unreadable (then out[] is untouched). */
int tl_sym_resolve(struct tl_symbolizer *s, int pid, const uint64_t *ips, int n, char **out);
/* The mapping at addr in the live process pid (for the unwinder). */
struct tl_sym_module {
	bool exec;		/* the mapping is executable */
	const char *name;	/* its file's basename (valid until pid's maps change) */
	uint64_t bias;		/* address minus ELF virtual address */
	int fd;			/* the file, opened as every file here, or -1; the caller's */
};
/* 0 with *out filled when a file mapping holds addr, -ENOENT (out->exec
 * still says whether memory there is executable) when its ELF cannot be
 * read or none does, else a negative errno.  want_fd: also open it. */
int tl_sym_module(struct tl_symbolizer *s, int pid, uint64_t addr, bool want_fd,
		  struct tl_sym_module *out);
/* The time each binary may take to parse and look up in (default 1 s):
 * past it, its frames show as libfoo.so+0x1234. */
void tl_sym_set_budget(struct tl_symbolizer *s, uint64_t ns);
/* How many binaries were opened and parsed since tl_sym_new(), counting
 * a re-open after eviction again: a measure of the cache's hit rate. */
unsigned int tl_sym_binaries_opened(const struct tl_symbolizer *s);

#endif /* TCPLINGER_SYMBOLIZE_H */
