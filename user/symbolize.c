/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* User-stack symbolization; see symbolize.h. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "symbolize.h"

/* libdw keeps each binary, and its separate debug file, open: up to two
 * fds a cached binary. */
#define MAX_BINS	128
#define MAX_PROCS	64
#define MAX_BUILD_ID	64
#define DEBUG_DIR	"/usr/lib/debug"

/* One PT_LOAD: turns a file offset into an ELF virtual address. */
struct seg {
	uint64_t vaddr, off, filesz;
};

/* A compile unit's address range (DWARF addresses), by its DIE. */
struct cu_range {
	uint64_t lo, hi;
	Dwarf_Off die;
};

/* One opened, parsed binary, shared by every process mapping it. */
struct bin {
	uint64_t serial;		/* 0: free slot */
	uint64_t last_use;
	unsigned char build_id[MAX_BUILD_ID];
	size_t build_id_len;		/* 0: none, keyed by the stat fields */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	Dwfl *dwfl;
	Dwfl_Module *mod;		/* NULL when libdw rejected the file */
	GElf_Addr bias;
	struct seg *segs;
	size_t nsegs;
	struct cu_range *cus;		/* built on the first miss of getsrc */
	size_t ncus;
	bool cus_built;
};

enum { BIN_UNKNOWN = -1, BIN_NONE = -2 };

struct map {
	uint64_t start, end, off, ino;
	char *path;			/* NULL: anonymous; " (deleted)" cut off */
	const char *base;		/* basename, inside path */
	bool deleted;
	int bin;			/* slot in bins[], or BIN_* */
	uint64_t bin_serial;		/* the slot is stale when it changed */
};

struct proc {
	int pid;			/* 0: free slot */
	uint64_t last_use;
	/* starttime, startcode, startstack from /proc/PID/stat: a new
	 * process (pid reuse) or an exec (ASLR moves the stack) changes it. */
	uint64_t ident[3];
	struct map *maps;		/* sorted by start */
	size_t nmaps;
};

struct tl_symbolizer {
	struct bin bins[MAX_BINS];
	struct proc procs[MAX_PROCS];
	uint64_t tick, next_serial;
	unsigned int opened;
};

static int no_find_elf(Dwfl_Module *mod, void **userdata, const char *modname,
		       Dwarf_Addr base, char **file_name, Elf **elfp)
{
	(void)mod; (void)userdata; (void)modname; (void)base; (void)file_name; (void)elfp;
	return -1;
}

/* An ELF file whose build id is want[0..len), or -1. */
static int open_with_build_id(const char *path, const unsigned char *want, size_t len)
{
	const void *id;
	ssize_t idlen;
	Elf *elf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
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
 * /usr/lib/debug, else by .gnu_debuglink next to the binary, in its .debug/
 * or under /usr/lib/debug (checked against the build id).  Unlike
 * dwfl_standard_find_debuginfo this never asks debuginfod, which would go
 * to the network whenever DEBUGINFOD_URLS is set (distributions' shell
 * profiles may set it) and stall the tracer.
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name,
			  const char *debuglink_file, GElf_Word debuglink_crc,
			  char **debuginfo_file_name)
{
	const unsigned char *id;
	char path[PATH_MAX], dir[PATH_MAX];
	GElf_Addr id_vaddr;
	const char *slash;
	int len, fd, n;

	(void)userdata; (void)modname; (void)base; (void)debuglink_crc;
	len = dwfl_module_build_id(mod, &id, &id_vaddr);
	if (len <= 0 || len > MAX_BUILD_ID)
		return -1;
	n = snprintf(path, sizeof(path), DEBUG_DIR "/.build-id/%02x/", id[0]);
	for (int i = 1; i < len; i++)
		n += snprintf(path + n, sizeof(path) - n, "%02x", id[i]);
	snprintf(path + n, sizeof(path) - n, ".debug");
	fd = open_with_build_id(path, id, len);
	if (fd < 0 && debuglink_file && file_name && (slash = strrchr(file_name, '/'))) {
		static const char *const fmt[] = { "%s/%s", "%s/.debug/%s", DEBUG_DIR "%s/%s" };

		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file_name), file_name);
		for (size_t i = 0; fd < 0 && i < sizeof(fmt) / sizeof(fmt[0]); i++) {
			if (snprintf(path, sizeof(path), fmt[i], dir, debuglink_file) >= (int)sizeof(path))
				continue;
			if (!strcmp(path, file_name))
				continue;	/* the binary itself */
			fd = open_with_build_id(path, id, len);
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

struct tl_symbolizer *tl_sym_new(void)
{
	struct tl_symbolizer *s;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s)
		s->next_serial = 1;
	return s;
}

static void bin_drop(struct bin *b)
{
	if (b->dwfl)
		dwfl_end(b->dwfl);
	free(b->segs);
	free(b->cus);
	memset(b, 0, sizeof(*b));
}

static void proc_drop(struct proc *p)
{
	for (size_t i = 0; i < p->nmaps; i++)
		free(p->maps[i].path);
	free(p->maps);
	memset(p, 0, sizeof(*p));
}

void tl_sym_free(struct tl_symbolizer *s)
{
	if (!s)
		return;
	for (int i = 0; i < MAX_BINS; i++)
		bin_drop(&s->bins[i]);
	for (int i = 0; i < MAX_PROCS; i++)
		proc_drop(&s->procs[i]);
	free(s);
}

void tl_sym_forget(struct tl_symbolizer *s, int pid)
{
	for (int i = 0; i < MAX_PROCS; i++)
		if (s->procs[i].pid == pid && pid > 0)
			proc_drop(&s->procs[i]);
}

unsigned int tl_sym_binaries_opened(const struct tl_symbolizer *s)
{
	return s->opened;
}

/* Gone processes read as ESRCH, whichever file showed it first. */
static int proc_err(int err)
{
	return err == ENOENT ? -ESRCH : -err;
}

/* Reads a small /proc file into buf, NUL-terminated; length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	ssize_t n, got = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			close(fd);
			return -err;
		}
		if (n == 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = 0;
	return got;
}

/* The process's identity, or -ESRCH if it is gone or a zombie. */
static int read_ident(int pid, uint64_t ident[3])
{
	char path[64], buf[1024], *p, *end;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return proc_err((int)-n);
	/* comm may hold spaces and parentheses: fields resume after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EIO;
	p += 2;
	if (*p == 'Z' || *p == 'X')
		return -ESRCH;
	ident[0] = ident[1] = ident[2] = 0;
	/* Field 3 is the state; starttime is 22, startcode 26, startstack 28. */
	for (int field = 3; field <= 28 && *p; field++) {
		uint64_t v = strtoull(p, &end, 10);

		if (field == 22)
			ident[0] = v;
		else if (field == 26)
			ident[1] = v;
		else if (field == 28)
			ident[2] = v;
		p = strchr(p, ' ');
		if (!p)
			break;
		p++;
	}
	return 0;
}

static int map_cmp(const void *a, const void *b)
{
	const struct map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int parse_map(char *line, struct map *m)
{
	static const char deleted[] = " (deleted)";
	unsigned long long start, end, off, ino;
	unsigned int dmaj, dmin;
	char perms[8], *path, *nl;
	size_t len;
	int pos = 0;

	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n",
		   &start, &end, perms, &off, &dmaj, &dmin, &ino, &pos) < 7 || !pos)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	m->off = off;
	m->ino = ino;
	m->bin = BIN_UNKNOWN;
	path = line + pos;
	nl = strchr(path, '\n');
	if (nl)
		*nl = 0;
	if (!*path)
		return 0;
	len = strlen(path);
	if (path[0] == '/' && len > sizeof(deleted) - 1 &&
	    !strcmp(path + len - (sizeof(deleted) - 1), deleted)) {
		path[len - (sizeof(deleted) - 1)] = 0;
		m->deleted = true;
	}
	m->path = strdup(path);
	if (!m->path)
		return -ENOMEM;
	m->base = strrchr(m->path, '/');
	m->base = m->base ? m->base + 1 : m->path;
	return 0;
}

static int load_maps(struct proc *p)
{
	struct map *maps = NULL, *nm;
	size_t n = 0, cap = 0, linecap = 0;
	char path[64], *line = NULL;
	int err = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	f = fopen(path, "re");
	if (!f)
		return proc_err(errno);
	errno = 0;
	while (getline(&line, &linecap, f) > 0) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			nm = realloc(maps, cap * sizeof(*maps));
			if (!nm) {
				err = -ENOMEM;
				break;
			}
			maps = nm;
		}
		err = parse_map(line, &maps[n]);
		if (err == -ENOMEM)
			break;
		if (!err)
			n++;
		err = 0;
	}
	if (!err && ferror(f))
		err = proc_err(errno ? errno : EIO);
	free(line);
	fclose(f);
	if (err) {
		for (size_t i = 0; i < n; i++)
			free(maps[i].path);
		free(maps);
		return err;
	}
	/* Sorted already; cheap insurance for the binary search. */
	if (n)
		qsort(maps, n, sizeof(*maps), map_cmp);
	for (size_t i = 0; i < p->nmaps; i++)
		free(p->maps[i].path);
	free(p->maps);
	p->maps = maps;
	p->nmaps = n;
	return 0;
}

static struct map *find_map(struct proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nmaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < p->maps[mid].start)
			hi = mid;
		else if (addr >= p->maps[mid].end)
			lo = mid + 1;
		else
			return &p->maps[mid];
	}
	return NULL;
}

/* The cached process, (re)reading its maps when it is new or changed. */
static int get_proc(struct tl_symbolizer *s, int pid, struct proc **out)
{
	struct proc *p = NULL, *lru = &s->procs[0];
	uint64_t ident[3];
	int err;

	err = read_ident(pid, ident);
	if (err)
		return err;
	for (int i = 0; i < MAX_PROCS; i++) {
		if (s->procs[i].pid == pid) {
			p = &s->procs[i];
			break;
		}
		if (s->procs[i].last_use < lru->last_use)
			lru = &s->procs[i];
	}
	if (p && memcmp(p->ident, ident, sizeof(ident)))
		proc_drop(p);
	else if (!p)
		proc_drop(p = lru);
	p->last_use = ++s->tick;
	if (!p->pid) {
		p->pid = pid;
		memcpy(p->ident, ident, sizeof(ident));
		err = load_maps(p);
		if (err) {
			proc_drop(p);
			return err;
		}
	}
	*out = p;
	return 0;
}

static bool is_file(int fd, struct stat *st)
{
	return !fstat(fd, st) && S_ISREG(st->st_mode);
}

/*
 * Opens the file behind a mapping: through the process's root (other mount
 * namespaces), else /proc/PID/map_files (the exact file, deleted or not,
 * but privileged), else the path as we see it.  The inode must match; a
 * root path whose inode differs (overlayfs may report another) is the
 * last resort.
 */
static int open_mapping(int pid, const struct map *m, struct stat *st)
{
	const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	char path[PATH_MAX + 64];
	struct stat sst, rst = { 0 };
	int fd, spare = -1;

	if (!m->deleted && snprintf(path, sizeof(path), "/proc/%d/root%s", pid, m->path) <
	    (int)sizeof(path)) {
		fd = open(path, flags);
		if (fd >= 0 && is_file(fd, &rst) && (uint64_t)rst.st_ino == m->ino) {
			*st = rst;
			return fd;
		}
		if (fd >= 0 && S_ISREG(rst.st_mode))
			spare = fd;
		else if (fd >= 0)
			close(fd);
	}
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, m->start, m->end);
	fd = open(path, flags);
	if (fd < 0 && !m->deleted)
		fd = open(m->path, flags);
	if (fd >= 0 && is_file(fd, &sst) && (uint64_t)sst.st_ino == m->ino) {
		if (spare >= 0)
			close(spare);
		*st = sst;
		return fd;
	}
	if (fd >= 0)
		close(fd);
	if (spare >= 0)
		*st = rst;
	return spare;
}

static bool same_file(const struct bin *b, const struct stat *st)
{
	return b->dev == st->st_dev && b->ino == st->st_ino && b->size == st->st_size &&
	       b->mtime.tv_sec == st->st_mtim.tv_sec && b->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Reads the build id and the PT_LOADs; false when fd is not ELF. */
static bool read_elf(int fd, struct bin *b)
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
	if (len > 0 && len <= MAX_BUILD_ID) {
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

static struct bin *new_slot(struct tl_symbolizer *s)
{
	struct bin *lru = &s->bins[0];

	for (int i = 0; i < MAX_BINS; i++) {
		if (!s->bins[i].serial)
			return &s->bins[i];
		if (s->bins[i].last_use < lru->last_use)
			lru = &s->bins[i];
	}
	bin_drop(lru);
	return lru;
}

static struct bin *link_bin(struct tl_symbolizer *s, struct map *m, struct bin *b)
{
	m->bin = (int)(b - s->bins);
	m->bin_serial = b->serial;
	b->last_use = ++s->tick;
	return b;
}

/* The cached binary behind a file mapping, opened on first use; NULL when
 * it cannot be opened or is not ELF. */
static struct bin *map_bin(struct tl_symbolizer *s, int pid, struct map *m)
{
	struct bin tmp = { 0 }, *b;
	struct stat st;
	int fd;

	if (m->bin >= 0 && s->bins[m->bin].serial == m->bin_serial) {
		s->bins[m->bin].last_use = ++s->tick;
		return &s->bins[m->bin];
	}
	if (m->bin == BIN_NONE)
		return NULL;
	m->bin = BIN_NONE;
	fd = open_mapping(pid, m, &st);
	if (fd < 0)
		return NULL;
	/* The same file as before: no ELF parsing at all. */
	for (int i = 0; i < MAX_BINS; i++) {
		if (s->bins[i].serial && same_file(&s->bins[i], &st)) {
			close(fd);
			return link_bin(s, m, &s->bins[i]);
		}
	}
	if (!read_elf(fd, &tmp)) {
		free(tmp.segs);
		close(fd);
		return NULL;
	}
	/* Another copy of a known binary (a container's, a deleted one). */
	for (int i = 0; tmp.build_id_len && i < MAX_BINS; i++) {
		b = &s->bins[i];
		if (b->serial && b->build_id_len == tmp.build_id_len &&
		    !memcmp(b->build_id, tmp.build_id, tmp.build_id_len)) {
			free(tmp.segs);
			close(fd);
			return link_bin(s, m, b);
		}
	}
	tmp.dev = st.st_dev;
	tmp.ino = st.st_ino;
	tmp.size = st.st_size;
	tmp.mtime = st.st_mtim;
	tmp.dwfl = dwfl_begin(&dwfl_callbacks);
	if (tmp.dwfl) {
		dwfl_report_begin(tmp.dwfl);
		/* Placed at its own p_vaddr (bias 0): module addresses are ELF
		 * addresses.  The plain path names it and steers the debuglink
		 * search; the fd is what is read. */
		tmp.mod = dwfl_report_elf(tmp.dwfl, m->base, m->path, fd, 0, true);
		dwfl_report_end(tmp.dwfl, NULL, NULL);
		if (tmp.mod)
			dwfl_module_getelf(tmp.mod, &tmp.bias);
	}
	if (!tmp.mod)
		close(fd);	/* consumed only on success */
	b = new_slot(s);
	*b = tmp;
	b->serial = s->next_serial++;
	s->opened++;
	return link_bin(s, m, b);
}

/* The ELF virtual address at addr in mapping m. */
static uint64_t to_vaddr(const struct bin *b, const struct map *m, uint64_t addr)
{
	uint64_t foff = addr - m->start + m->off;
	const struct seg *best = NULL;

	for (size_t i = 0; b && i < b->nsegs; i++) {
		const struct seg *sg = &b->segs[i];

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
	const struct cu_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void build_cu_ranges(struct bin *b, Dwarf *dw)
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
				struct cu_range *n = realloc(b->cus, ncap * sizeof(*n));

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
static const char *src_line(struct bin *b, GElf_Addr addr, int *lineno)
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

/* One frame's string (NULL when out of memory).  addr is where to look,
 * ip - addr what to add back to the offsets shown. */
static char *frame(struct tl_symbolizer *s, struct proc *p, struct map *m,
		   uint64_t ip, uint64_t addr)
{
	uint64_t adj = ip - addr, vaddr;
	GElf_Off off;
	GElf_Sym sym;
	const char *name, *file;
	struct bin *b;
	char *str;
	int lineno = 0;

	if (!m || !m->path || (m->path[0] != '/' && strcmp(m->path, "[vdso]") &&
			       strcmp(m->path, "[vsyscall]"))) {
		if (asprintf(&str, "0x%" PRIx64, ip) < 0)
			return NULL;
		return str;
	}
	if (m->path[0] == '[') {
		if (asprintf(&str, "%s+0x%" PRIx64, m->path, ip - m->start) < 0)
			return NULL;
		return str;
	}
	b = map_bin(s, p->pid, m);
	vaddr = to_vaddr(b, m, addr);
	if (b && b->mod) {
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
				if (asprintf(&str, "%s+0x%" PRIx64 " (%s:%d)", name,
					     (uint64_t)off + adj, basename_of(file), lineno) < 0)
					return NULL;
			} else if (asprintf(&str, "%s+0x%" PRIx64 " (%s)", name,
					    (uint64_t)off + adj, m->base) < 0) {
				return NULL;
			}
			return str;
		}
	}
	if (asprintf(&str, "%s+0x%" PRIx64, m->base, vaddr + adj) < 0)
		return NULL;
	return str;
}

int tl_sym_resolve(struct tl_symbolizer *s, int pid, const uint64_t *ips, int n, char **out)
{
	bool reread = false;
	struct proc *p;
	char **tmp;
	int err;

	if (!s || pid <= 0 || n < 0 || (n && (!ips || !out)))
		return -EINVAL;
	err = get_proc(s, pid, &p);
	if (err)
		return err;
	tmp = calloc(n ? n : 1, sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		/* A return address may follow a call that ends its function. */
		uint64_t addr = ips[i] && i > 0 ? ips[i] - 1 : ips[i];
		struct map *m = addr ? find_map(p, addr) : NULL;

		/* Mapped since we read the maps (dlopen, exec, JIT)? */
		if (!m && addr && !reread) {
			reread = true;
			err = load_maps(p);
			if (err) {
				proc_drop(p);
				goto fail;
			}
			m = find_map(p, addr);
		}
		tmp[i] = frame(s, p, m, ips[i], addr);
		if (!tmp[i]) {
			err = -ENOMEM;
			goto fail;
		}
	}
	memcpy(out, tmp, n * sizeof(*out));
	free(tmp);
	return n;
fail:
	for (int i = 0; i < n; i++)
		free(tmp[i]);
	free(tmp);
	return err;
}
