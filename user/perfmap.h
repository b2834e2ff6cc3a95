/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Names for JIT code from the perf map its runtime writes, /tmp/perf-PID.map
 * (node --perf-basic-prof, jcmd PID Compiler.perfmap, python -X perf): one
 * line "START SIZE name" per piece of code, START and SIZE in hex without
 * 0x, in any order.  Where two entries start at the same address the later
 * line wins (a JIT reuses memory).
 *
 * The file is written by the traced process, so nothing in it is trusted:
 * it is opened inside the process's root (as /tmp/perf-NSPID.map, its pid
 * in its own namespace) following no symbolic link, must be a regular
 * file, and only its last TL_PERFMAP_MAX_BYTES are read; when
 * TL_PERFMAP_MAX_LINES entries are kept, the table starts over with the
 * next line (the newest code matters most).  A line that does not parse is
 * skipped; control characters in names become '?', names are cut at
 * TL_PERFMAP_MAX_NAME bytes.  Runtimes append as they compile: an update
 * reads only what was added since, all again if the file was replaced or
 * shrank.
 */
#ifndef TCPLINGER_PERFMAP_H
#define TCPLINGER_PERFMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TL_PERFMAP_MAX_BYTES	(8u << 20)
#define TL_PERFMAP_MAX_LINES	(128u << 10)
#define TL_PERFMAP_MAX_NAME	256

struct tl_perfmap_sym {
	uint64_t start, size;
	uint32_t name;		/* offset in names */
	uint32_t seq;		/* line number: the later wins */
};

struct tl_perfmap {
	struct tl_perfmap_sym *syms;
	size_t nsyms, cap;
	char *names;		/* NUL-terminated names, back to back */
	size_t names_len, names_cap;
	uint32_t next_seq;
	size_t sorted;		/* syms[0..sorted) sorted, one per start */
	/* The file as read so far: bytes [base, parsed) are in the table. */
	dev_t dev;
	ino_t ino;
	uint64_t base, parsed;
	bool mid_line;		/* parsed is inside a line: skip to its end */
	char file[32];		/* its basename, "perf-NSPID.map" */
};

void tl_perfmap_init(struct tl_perfmap *pm);
/* Frees the table; pm can be used again after tl_perfmap_init(). */
void tl_perfmap_free(struct tl_perfmap *pm);
/* Adds the whole lines of buf[0..len) (the last one only if it ends in a
 * newline).  Returns the bytes consumed, or -ENOMEM. */
long tl_perfmap_parse(struct tl_perfmap *pm, const char *buf, size_t len);
/* Reads what pid's perf map gained since the last call.  0, -ENOENT when
 * there is none (the table is emptied), else a negative errno. */
int tl_perfmap_update(struct tl_perfmap *pm, int pid);
/* The name of the code holding addr, *off addr's offset in it; NULL when
 * no entry holds addr. */
const char *tl_perfmap_lookup(struct tl_perfmap *pm, uint64_t addr, uint64_t *off);

#endif /* TCPLINGER_PERFMAP_H */
