/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One binary for the symbolizer (symbolize.h): an ELF file a traced
 * process maps, parsed with libdw, and its frame strings.  Every file it
 * reads is untrusted: each is opened without blocking, checked to be a
 * regular file of bounded size before a byte is read, and the names a
 * binary gives (.gnu_debuglink) are plain file names looked up inside the
 * traced process's root, never through a symbolic link.  The time spent
 * on a binary is bounded: past its budget it gets no more lookups.
 */
#ifndef TCPLINGER_SYMELF_H
#define TCPLINGER_SYMELF_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define TL_SYM_MAX_BUILD_ID	64
#define TL_SYM_MAX_FILE		(2ull << 30)	/* larger files are not read */
#define TL_SYM_FRAME_MAX	512	/* longer frame strings end in "..." */
#define TL_SYM_BUDGET_NS	1000000000ull	/* default time a binary may take */

/* One PT_LOAD: turns a file offset into an ELF virtual address. */
struct tl_symseg {
	uint64_t vaddr, off, filesz;
};

/* A compile unit's address range (DWARF addresses), by its DIE. */
struct tl_symcu {
	uint64_t lo, hi;
	Dwarf_Off die;
};

struct tl_symbin {
	uint64_t serial;		/* 0: free slot (symbolize.c's cache) */
	uint64_t last_use;
	unsigned char build_id[TL_SYM_MAX_BUILD_ID];
	size_t build_id_len;		/* 0: none, keyed by the stat fields */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	Dwfl *dwfl;
	Dwfl_Module *mod;		/* NULL when libdw rejected the file */
	GElf_Addr bias;
	struct tl_symseg *segs;
	size_t nsegs;
	struct tl_symcu *cus;		/* built on the first miss of getsrc */
	size_t ncus;
	bool cus_built;
	uint64_t spent_ns, budget_ns;	/* over budget: no more lookups */
};

/* Whether name may be a .gnu_debuglink: a plain file name. */
bool tl_symelf_debuglink_ok(const char *name);
/* Opens path (relative to dirfd, inside it as a root when in_root) to
 * read: without blocking, following no symbolic link when in_root; a
 * regular file of at most TL_SYM_MAX_FILE bytes (*st) or -1. */
int tl_symelf_open(int dirfd, const char *path, bool in_root, struct stat *st);

/* Reads the build id and the PT_LOADs of the file open on fd; false when
 * it is not ELF.  fd stays the caller's. */
bool tl_symbin_read(struct tl_symbin *b, int fd);
/* Hands fd (the file read by tl_symbin_read, st its fstat) to libdw and
 * loads its symbols and debug info at once; separate debug info is
 * looked for under /usr/lib/debug and, by .gnu_debuglink, next to path
 * inside rootfd (-1: not there).  name is the module's name.  fd is
 * consumed. */
void tl_symbin_load(struct tl_symbin *b, int fd, const struct stat *st, const char *name,
		    const char *path, int rootfd, uint64_t budget_ns);
void tl_symbin_drop(struct tl_symbin *b);
/* The ELF virtual address at file offset foff (b may be NULL). */
uint64_t tl_symbin_vaddr(const struct tl_symbin *b, uint64_t foff);
/* The frame string of ELF address vaddr ("func+0x1c (file.c:42)" or
 * "func+0x1c (base)"), offsets shown plus adj; NULL when there is no
 * symbol or the binary is over budget, or out of memory. */
char *tl_symbin_frame(struct tl_symbin *b, uint64_t vaddr, uint64_t adj, const char *base);
/* Cuts a malloc'd frame string to TL_SYM_FRAME_MAX bytes, "..." at the end. */
void tl_symelf_cap(char *frame);

#endif /* TCPLINGER_SYMELF_H */
