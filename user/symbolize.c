/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* User-stack symbolization; see symbolize.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "perfmap.h"
#include "procfs.h"
#include "symelf.h"
#include "symbolize.h"

/* libdw keeps each binary, and its separate debug file, open: up to two
 * fds a cached binary. */
#define MAX_BINS	128
#define MAX_PROCS	64

enum { BIN_UNKNOWN = -1, BIN_NONE = -2 };

struct map {
	uint64_t start, end, off, ino;
	dev_t dev;
	char *path;			/* NULL: anonymous; " (deleted)" cut off */
	const char *base;		/* basename, inside path */
	bool deleted;
	bool exec;			/* mapped executable */
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
	struct tl_perfmap *perfmap;	/* its JIT's names, read on first need */
	bool perfmap_read;		/* read again for this stack already */
};

struct tl_symbolizer {
	struct tl_symbin bins[MAX_BINS];
	struct proc procs[MAX_PROCS];
	uint64_t tick, next_serial;
	unsigned int opened;
	uint64_t budget_ns;		/* time each binary may take */
};

struct tl_symbolizer *tl_sym_new(void)
{
	struct tl_symbolizer *s;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s) {
		s->next_serial = 1;
		s->budget_ns = TL_SYM_BUDGET_NS;
	}
	return s;
}

static void proc_drop(struct proc *p)
{
	for (size_t i = 0; i < p->nmaps; i++)
		free(p->maps[i].path);
	free(p->maps);
	if (p->perfmap)
		tl_perfmap_free(p->perfmap);
	free(p->perfmap);
	memset(p, 0, sizeof(*p));
}

void tl_sym_free(struct tl_symbolizer *s)
{
	if (!s)
		return;
	for (int i = 0; i < MAX_BINS; i++)
		tl_symbin_drop(&s->bins[i]);
	for (int i = 0; i < MAX_PROCS; i++)
		proc_drop(&s->procs[i]);
	free(s);
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

/* The process's identity, or -ESRCH if it is gone or a zombie. */
static int read_ident(int pid, uint64_t ident[3])
{
	char buf[1024], *p, *end;
	int err = tl_procfs_stat(pid, buf, sizeof(buf), &p);

	if (err)
		return err;
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
	m->dev = makedev(dmaj, dmin);
	m->bin = BIN_UNKNOWN;
	m->exec = perms[2] == 'x';
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

/* The mapping at addr (NULL: none), the maps read again first (once a
 * stack: *reread) when none held it or only anonymous memory not
 * executable then: code mapped since (dlopen, exec, a JIT, which also
 * mprotects what it reserved).  A negative errno when the process is gone
 * (and dropped). */
static int map_at(struct proc *p, uint64_t addr, bool *reread, struct map **out)
{
	struct map *m = find_map(p, addr);
	int err;

	if ((!m || (!m->path && !m->exec)) && !*reread) {
		*reread = true;
		err = load_maps(p);
		if (err) {
			proc_drop(p);
			return err;
		}
		m = find_map(p, addr);
	}
	*out = m;
	return 0;
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

/*
 * Opens the file behind a mapping, the very one the process maps: through
 * /proc/PID/map_files (privileged), else by its path inside the process's
 * root, following no symbolic link (a path swapped for a link opens
 * nothing).  Either way its device and inode must be the mapping's.
 */
static int open_mapping(int pid, const struct map *m, int *rootfd, struct stat *st)
{
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, m->start, m->end);
	fd = tl_symelf_open(AT_FDCWD, path, false, st);
	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	*rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && !m->deleted && *rootfd >= 0)
		fd = tl_symelf_open(*rootfd, m->path, true, st);
	if (fd >= 0 && (st->st_dev != m->dev || (uint64_t)st->st_ino != m->ino)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0 && *rootfd >= 0) {
		close(*rootfd);
		*rootfd = -1;
	}
	return fd;
}

static bool same_file(const struct tl_symbin *b, const struct stat *st)
{
	return b->dev == st->st_dev && b->ino == st->st_ino && b->size == st->st_size &&
	       b->mtime.tv_sec == st->st_mtim.tv_sec && b->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static struct tl_symbin *new_slot(struct tl_symbolizer *s)
{
	struct tl_symbin *lru = &s->bins[0];

	for (int i = 0; i < MAX_BINS; i++) {
		if (!s->bins[i].serial)
			return &s->bins[i];
		if (s->bins[i].last_use < lru->last_use)
			lru = &s->bins[i];
	}
	tl_symbin_drop(lru);
	return lru;
}

static struct tl_symbin *link_bin(struct tl_symbolizer *s, struct map *m, struct tl_symbin *b)
{
	m->bin = (int)(b - s->bins);
	m->bin_serial = b->serial;
	b->last_use = ++s->tick;
	return b;
}

/* The cached binary behind a file mapping, opened on first use; NULL when
 * it cannot be opened or is not ELF. */
static struct tl_symbin *map_bin(struct tl_symbolizer *s, int pid, struct map *m)
{
	struct tl_symbin tmp = { 0 }, *b;
	struct stat st;
	int fd, rootfd;
	bool ok;

	if (m->bin >= 0 && s->bins[m->bin].serial == m->bin_serial) {
		s->bins[m->bin].last_use = ++s->tick;
		return &s->bins[m->bin];
	}
	if (m->bin == BIN_NONE)
		return NULL;
	m->bin = BIN_NONE;
	fd = open_mapping(pid, m, &rootfd, &st);
	if (fd < 0)
		return NULL;
	/* The same file as before: no ELF parsing at all. */
	for (int i = 0; i < MAX_BINS; i++) {
		if (s->bins[i].serial && same_file(&s->bins[i], &st)) {
			close(fd);
			if (rootfd >= 0)
				close(rootfd);
			return link_bin(s, m, &s->bins[i]);
		}
	}
	/* Not ELF, or another copy of a known binary (a container's, a
	 * deleted one). */
	ok = tl_symbin_read(&tmp, fd);
	b = NULL;
	for (int i = 0; ok && tmp.build_id_len && i < MAX_BINS && !b; i++) {
		if (s->bins[i].serial && s->bins[i].build_id_len == tmp.build_id_len &&
		    !memcmp(s->bins[i].build_id, tmp.build_id, tmp.build_id_len))
			b = &s->bins[i];
	}
	if (!ok || b) {
		free(tmp.segs);
		close(fd);
		if (rootfd >= 0)
			close(rootfd);
		return b ? link_bin(s, m, b) : NULL;
	}
	tl_symbin_load(&tmp, fd, &st, m->base, m->path, rootfd, s->budget_ns);
	if (rootfd >= 0)
		close(rootfd);
	b = new_slot(s);
	*b = tmp;
	b->serial = s->next_serial++;
	s->opened++;
	return link_bin(s, m, b);
}

/* Code in executable memory no ELF file describes (a JIT's): named by the
 * process's perf map, read again once a stack since JITs keep adding to
 * it.  NULL when it names nothing there. */
static char *jit_frame(struct proc *p, uint64_t ip, uint64_t addr)
{
	const char *name;
	uint64_t off;
	char *str;

	if (!p->perfmap) {
		p->perfmap = malloc(sizeof(*p->perfmap));
		if (!p->perfmap)
			return NULL;
		tl_perfmap_init(p->perfmap);
	}
	if (!p->perfmap_read) {
		p->perfmap_read = true;
		tl_perfmap_update(p->perfmap, p->pid);
	}
	name = tl_perfmap_lookup(p->perfmap, addr, &off);
	if (!name || asprintf(&str, "%s+0x%" PRIx64 " [%s]", name, off + (ip - addr),
			      p->perfmap->file) < 0)
		return NULL;
	tl_symelf_cap(str);
	return str;
}

/* One frame's string (NULL when out of memory).  addr is where to look,
 * ip - addr what to add back to the offsets shown. */
static char *frame(struct tl_symbolizer *s, struct proc *p, struct map *m,
		   uint64_t ip, uint64_t addr)
{
	uint64_t adj = ip - addr, vaddr;
	struct tl_symbin *b;
	char *str;

	if (!m || !m->path || (m->path[0] != '/' && strcmp(m->path, "[vdso]") &&
			       strcmp(m->path, "[vsyscall]"))) {
		str = m && m->exec ? jit_frame(p, ip, addr) : NULL;
		if (!str && asprintf(&str, "0x%" PRIx64, ip) < 0)
			return NULL;
		return str;
	}
	if (m->path[0] == '[') {
		if (asprintf(&str, "%s+0x%" PRIx64, m->path, ip - m->start) < 0)
			return NULL;
		return str;
	}
	b = map_bin(s, p->pid, m);
	vaddr = tl_symbin_vaddr(b, addr - m->start + m->off);
	str = b ? tl_symbin_frame(b, vaddr, adj, m->base) : NULL;
	/* not ELF: JIT code in a file mapping (a memfd) */
	if (!b && m->exec)
		str = jit_frame(p, ip, addr);
	if (!str && asprintf(&str, "%s+0x%" PRIx64, m->base, vaddr + adj) < 0)
		return NULL;
	tl_symelf_cap(str);
	return str;
}

void tl_sym_set_budget(struct tl_symbolizer *s, uint64_t ns)
{
	s->budget_ns = ns;
}

/* For the unwinder (unwind.h): the mapping at addr and its binary. */
int tl_sym_module(struct tl_symbolizer *s, int pid, uint64_t addr, bool want_fd,
		  struct tl_sym_module *out)
{
	struct tl_symbin *b;
	struct proc *p;
	struct map *m;
	bool reread = false;
	struct stat st;
	int err, rootfd;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (!s || pid <= 0)
		return -EINVAL;
	err = get_proc(s, pid, &p);
	if (err)
		return err;
	err = map_at(p, addr, &reread, &m);
	if (err)
		return err;
	if (!m)
		return -ENOENT;
	out->exec = m->exec;
	out->name = m->base;
	if (!m->path || m->path[0] != '/')
		return -ENOENT;
	b = map_bin(s, pid, m);
	if (!b)
		return -ENOENT;
	out->bias = addr - tl_symbin_vaddr(b, addr - m->start + m->off);
	if (want_fd) {
		out->fd = open_mapping(pid, m, &rootfd, &st);
		if (rootfd >= 0)
			close(rootfd);
	}
	return 0;
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
	p->perfmap_read = false;
	for (int i = 0; i < n; i++) {
		/* A return address may follow a call that ends its function. */
		uint64_t addr = ips[i] && i > 0 ? ips[i] - 1 : ips[i];
		struct map *m = NULL;

		if (addr) {
			err = map_at(p, addr, &reread, &m);
			if (err)
				goto fail;
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
