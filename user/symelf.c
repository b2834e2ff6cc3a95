/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One binary for the symbolizer; see symelf.h. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "units.h"
#include "symelf.h"

#define DEBUG_DIR "/usr/lib/debug"

/* Where find_debuginfo looks, while tl_symbin_load runs. */
struct load_ctx {
	int rootfd;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

bool tl_symelf_debuglink_ok(const char *name)
{
	size_t n = name ? strnlen(name, NAME_MAX + 1) : 0;

	return n && n <= NAME_MAX && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

int tl_symelf_open(int dirfd, const char *path, bool in_root, struct stat *st)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		/* what the process names stays in its root, through no link */
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
	};
	int fd;

	if (in_root) {
		how.flags |= O_NOFOLLOW;
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	} else {
		fd = openat(dirfd, path, (int)how.flags);
	}
	if (fd < 0)
		return -1;
	/* A FIFO or a device would block or act on the read. */
	if (fstat(fd, st) || !S_ISREG(st->st_mode) || (uint64_t)st->st_size > TL_SYM_MAX_FILE) {
		close(fd);
		return -1;
	}
	return fd;
}

static int no_find_elf(Dwfl_Module *mod, void **userdata, const char *modname,
		       Dwarf_Addr base, char **file_name, Elf **elfp)
{
	(void)mod; (void)userdata; (void)modname; (void)base; (void)file_name; (void)elfp;
	return -1;
}

/* An ELF file whose build id is want[0..len), or -1. */
static int open_with_build_id(int dirfd, const char *path, bool in_root,
			      const unsigned char *want, size_t len)
{
	const void *id;
	struct stat st;
	ssize_t idlen;
	Elf *elf;
	int fd;

	fd = tl_symelf_open(dirfd, path, in_root, &st);
	if (fd < 0)
		return -1;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	idlen = elf ? dwelf_elf_gnu_build_id(elf, &id) : -1;
	if (idlen <= 0 || (size_t)idlen != len || memcmp(id, want, len)) {
		elf_end(elf);
		close(fd);
		return -1;
	}
	elf_end(elf);
	return fd;
}

/*
 * Separate debug info from local files only: by build id under
 * /usr/lib/debug, else by .gnu_debuglink in the binary's directory or its
 * .debug/ inside the process's root, or under /usr/lib/debug (each checked
 * against the build id).  Unlike dwfl_standard_find_debuginfo this never
 * asks debuginfod, which would go to the network whenever DEBUGINFOD_URLS
 * is set and stall the tracer.
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name,
			  const char *debuglink_file, GElf_Word debuglink_crc,
			  char **debuginfo_file_name)
{
	const struct load_ctx *ctx = *userdata;
	const unsigned char *id;
	char path[PATH_MAX];
	GElf_Addr id_vaddr;
	const char *slash;
	int len, fd, n, dlen;

	(void)modname; (void)base; (void)debuglink_crc;
	len = dwfl_module_build_id(mod, &id, &id_vaddr);
	if (!ctx || len <= 0 || len > TL_SYM_MAX_BUILD_ID)
		return -1;
	n = snprintf(path, sizeof(path), DEBUG_DIR "/.build-id/%02x/", id[0]);
	for (int i = 1; i < len; i++)
		n += snprintf(path + n, sizeof(path) - n, "%02x", id[i]);
	snprintf(path + n, sizeof(path) - n, ".debug");
	fd = open_with_build_id(AT_FDCWD, path, false, id, len);
	if (fd < 0 && tl_symelf_debuglink_ok(debuglink_file) && file_name &&
	    (slash = strrchr(file_name, '/'))) {
		static const char *const fmt[] = { "%.*s/%s", "%.*s/.debug/%s", DEBUG_DIR "%.*s/%s" };

		dlen = (int)(slash - file_name);
		for (size_t i = 0; fd < 0 && i < sizeof(fmt) / sizeof(fmt[0]); i++) {
			bool in_root = i < 2;

			if (in_root && ctx->rootfd < 0)
				continue;
			if (snprintf(path, sizeof(path), fmt[i], dlen, file_name, debuglink_file) >=
			    (int)sizeof(path))
				continue;
			if (in_root && !strcmp(path, file_name))
				continue;	/* the binary itself */
			fd = open_with_build_id(in_root ? ctx->rootfd : AT_FDCWD, path, in_root,
						id, len);
		}
	}
	if (fd >= 0) {
		*debuginfo_file_name = strdup(path);
		if (!*debuginfo_file_name) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = no_find_elf,
	.find_debuginfo = find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

void tl_symbin_drop(struct tl_symbin *b)
{
	if (b->dwfl)
		dwfl_end(b->dwfl);
	free(b->segs);
	free(b->cus);
	memset(b, 0, sizeof(*b));
}

bool tl_symbin_read(struct tl_symbin *b, int fd)
{
	GElf_Phdr ph;
	const void *id;
	size_t phnum;
	ssize_t len;
	bool ok = false;
	Elf *elf;

	/* Read, not mapped: a file truncated under us cannot SIGBUS us here. */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &phnum))
		goto out;
	len = dwelf_elf_gnu_build_id(elf, &id);
	if (len > 0 && len <= TL_SYM_MAX_BUILD_ID) {
		memcpy(b->build_id, id, len);
		b->build_id_len = len;
	}
	b->segs = calloc(phnum ? phnum : 1, sizeof(*b->segs));
	if (!b->segs)
		goto out;
	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		b->segs[b->nsegs].vaddr = ph.p_vaddr;
		b->segs[b->nsegs].off = ph.p_offset;
		b->segs[b->nsegs].filesz = ph.p_filesz;
		b->nsegs++;
	}
	ok = true;
out:
	elf_end(elf);
	return ok;
}

void tl_symbin_load(struct tl_symbin *b, int fd, const struct stat *st, const char *name,
		    const char *path, int rootfd, uint64_t budget_ns)
{
	struct load_ctx ctx = { .rootfd = rootfd };
	uint64_t t0 = mono_ns();
	Dwarf_Addr dbias;
	void **ud;

	b->dev = st->st_dev;
	b->ino = st->st_ino;
	b->size = st->st_size;
	b->mtime = st->st_mtim;
	b->budget_ns = budget_ns;
	b->dwfl = dwfl_begin(&dwfl_callbacks);
	if (b->dwfl) {
		dwfl_report_begin(b->dwfl);
		/* Placed at its own p_vaddr (bias 0): module addresses are ELF
		 * addresses.  path names it and steers the debuglink search;
		 * the fd is what is read. */
		b->mod = dwfl_report_elf(b->dwfl, name, path, fd, 0, true);
		dwfl_report_end(b->dwfl, NULL, NULL);
	}
	if (!b->mod) {
		close(fd);	/* consumed only on success */
	} else {
		dwfl_module_getelf(b->mod, &b->bias);
		/* Every debug-info search now, while ctx is there to say
		 * where: libdw keeps what they find (or that they failed). */
		dwfl_module_info(b->mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
		*ud = &ctx;
		dwfl_module_getsymtab(b->mod);
		dwfl_module_getdwarf(b->mod, &dbias);
		*ud = NULL;
	}
	b->spent_ns += mono_ns() - t0;
}

uint64_t tl_symbin_vaddr(const struct tl_symbin *b, uint64_t foff)
{
	const struct tl_symseg *best = NULL;

	for (size_t i = 0; b && i < b->nsegs; i++) {
		const struct tl_symseg *sg = &b->segs[i];

		if (foff >= sg->off && foff - sg->off < sg->filesz)
			return sg->vaddr + (foff - sg->off);
		if (foff >= sg->off && (!best || sg->off > best->off))
			best = sg;
	}
	/* Not inside any segment's file bytes: the nearest one below. */
	return best ? best->vaddr + (foff - best->off) : foff;
}

static int cu_range_cmp(const void *a, const void *b)
{
	const struct tl_symcu *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void build_cu_ranges(struct tl_symbin *b, Dwarf *dw)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Half version;
	uint8_t type;
	Dwarf_Die cudie;
	size_t cap = 0;

	b->cus_built = true;
	while (dwarf_get_units(dw, cu, &cu, &version, &type, &cudie, NULL) == 0) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;

		if (type != DW_UT_compile && type != DW_UT_skeleton)
			continue;
		while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0) {
			if (lo >= hi)
				continue;
			if (b->ncus == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct tl_symcu *n = realloc(b->cus, ncap * sizeof(*n));

				if (!n)
					return;
				b->cus = n;
				cap = ncap;
			}
			b->cus[b->ncus].lo = lo;
			b->cus[b->ncus].hi = hi;
			b->cus[b->ncus].die = dwarf_dieoffset(&cudie);
			b->ncus++;
		}
	}
	if (b->ncus)
		qsort(b->cus, b->ncus, sizeof(*b->cus), cu_range_cmp);
}

/*
 * The source file and line of a module address, NULL if unknown.  libdw
 * 0.188 finds the compile unit through .debug_aranges only, which clang
 * (and so Rust) does not emit: then our own table of the CUs' ranges.
 */
static const char *src_line(struct tl_symbin *b, GElf_Addr addr, int *lineno)
{
	Dwfl_Line *l = dwfl_module_getsrc(b->mod, addr);
	size_t lo = 0, hi;
	Dwarf_Addr dbias;
	Dwarf_Line *dl;
	Dwarf_Die cudie;
	Dwarf *dw;

	if (l)
		return dwfl_lineinfo(l, NULL, lineno, NULL, NULL, NULL);
	dw = dwfl_module_getdwarf(b->mod, &dbias);
	if (!dw)
		return NULL;
	if (!b->cus_built)
		build_cu_ranges(b, dw);
	addr -= dbias;
	/* The last range starting at or below addr. */
	hi = b->ncus;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->cus[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= b->cus[lo - 1].hi || !dwarf_offdie(dw, b->cus[lo - 1].die, &cudie))
		return NULL;
	dl = dwarf_getsrc_die(&cudie, addr);
	if (!dl || dwarf_lineno(dl, lineno))
		return NULL;
	return dwarf_linesrc(dl, NULL, NULL);
}

static const char *basename_of(const char *path)
{
	const char *p = strrchr(path, '/');

	return p ? p + 1 : path;
}

char *tl_symbin_frame(struct tl_symbin *b, uint64_t vaddr, uint64_t adj, const char *base)
{
	uint64_t t0;
	GElf_Off off;
	GElf_Sym sym;
	const char *name, *file;
	char *str = NULL;
	int lineno = 0;

	if (!b->mod || b->spent_ns >= b->budget_ns)
		return NULL;
	t0 = mono_ns();
	name = dwfl_module_addrinfo(b->mod, vaddr + b->bias, &off, &sym, NULL, NULL, NULL);
	/* libdw falls back to the nearest sizeless symbol below: only a
	 * function's is meaningful (an assembly one), not a marker like
	 * __ehdr_start hundreds of kilobytes before the address. */
	if (name && !sym.st_size && GELF_ST_TYPE(sym.st_info) != STT_FUNC &&
	    GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC)
		name = NULL;
	if (name && *name) {
		file = src_line(b, vaddr + b->bias, &lineno);
		if (file && lineno > 0) {
			if (asprintf(&str, "%s+0x%" PRIx64 " (%s:%d)", name, (uint64_t)off + adj,
				     basename_of(file), lineno) < 0)
				str = NULL;
		} else if (asprintf(&str, "%s+0x%" PRIx64 " (%s)", name, (uint64_t)off + adj,
				    base) < 0) {
			str = NULL;
		}
	}
	b->spent_ns += mono_ns() - t0;
	return str;
}

void tl_symelf_cap(char *frame)
{
	if (frame && strnlen(frame, TL_SYM_FRAME_MAX + 1) > TL_SYM_FRAME_MAX)
		memcpy(frame + TL_SYM_FRAME_MAX - 3, "...", 4);
}
