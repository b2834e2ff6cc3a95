// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>
#include "pyproc.h"
#include "symelf.h"

#define MAX_MAP_LINES	65536	/* /proc/PID/maps lines read at most */
#define MAX_CANDIDATES	8	/* files tried for _PyRuntime */

/* A file the process maps that may hold the interpreter: its lowest
 * mapping. */
struct candidate {
	uint64_t start, end, off, ino;
	dev_t dev;
	char path[PATH_MAX];
};

/* The symbols looked for, their ELF addresses (0: not defined). */
enum { SYM_RUNTIME, SYM_VERSION, SYM_CODE_TYPE, SYM_UNICODE_TYPE, SYM_BYTES_TYPE, SYM_COUNT };
static const char *const sym_names[SYM_COUNT] = {
	"_PyRuntime", "Py_Version", "PyCode_Type", "PyUnicode_Type", "PyBytes_Type",
};

static int errno_of_proc(int err)
{
	return err == ENOENT ? -ESRCH : -err;
}

int tl_pyproc_read(struct tl_pyproc *p, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };
	char path[64];
	ssize_t got;

	if (!len)
		return 0;
	if (!addr || addr + len < addr || addr > (uint64_t)INT64_MAX)
		return -EFAULT;
	if (p->memfd < 0) {
		got = process_vm_readv(p->pid, &local, 1, &remote, 1, 0);
		if (got == (ssize_t)len)
			return 0;
		if (got >= 0 || errno == EFAULT)
			return -EFAULT;
		if (errno != EPERM && errno != ENOSYS)
			return -errno;
		/* Refused (seccomp, or a kernel without it): the mem file, which
		 * asks for the same ptrace access. */
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)p->pid);
		p->memfd = open(path, O_RDONLY | O_CLOEXEC);
		if (p->memfd < 0)
			return errno_of_proc(errno);
	}
	got = pread(p->memfd, buf, len, (off_t)addr);
	return got == (ssize_t)len ? 0 : -EFAULT;
}

uint64_t tl_pyproc_word(struct tl_pyproc *p, uint64_t addr)
{
	uint64_t v;

	return tl_pyproc_read(p, addr, &v, sizeof(v)) ? 0 : v;
}

/* Whether a mapped file may be the interpreter: a python binary or
 * libpython by name (not an extension module, "*.cpython-311-*.so"), or
 * the process's executable (python embedded in a program of another
 * name). */
static bool maybe_python(const char *path, const char *exe)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "python", 6) || !strncmp(base, "libpython", 9) ||
	       (*exe && !strcmp(path, exe));
}

/* The distinct files of pid's mappings that may hold the interpreter, at
 * most MAX_CANDIDATES, in address order. */
static int find_candidates(pid_t pid, struct candidate *c, size_t *n)
{
	char path[64], exe[PATH_MAX] = "", *line = NULL;
	size_t linecap = 0, lines = 0;
	ssize_t len;
	FILE *f;

	*n = 0;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	len = readlink(path, exe, sizeof(exe) - 1);
	exe[len > 0 ? len : 0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno_of_proc(errno);
	while (*n < MAX_CANDIDATES && lines++ < MAX_MAP_LINES && getline(&line, &linecap, f) > 0) {
		unsigned long long start, end, off, ino;
		unsigned int dmaj, dmin;
		char perms[8], *file, *nl;
		int pos = 0;
		bool seen = false;

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n",
			   &start, &end, perms, &off, &dmaj, &dmin, &ino, &pos) < 7 || !pos)
			continue;
		file = line + pos;
		nl = strchr(file, '\n');
		if (nl)
			*nl = 0;
		if (file[0] != '/' || !ino || strlen(file) >= sizeof(c->path) ||
		    !maybe_python(file, exe))
			continue;
		for (size_t i = 0; i < *n; i++)
			seen |= c[i].ino == ino && c[i].dev == makedev(dmaj, dmin);
		if (seen)
			continue;
		c[*n].start = start;
		c[*n].end = end;
		c[*n].off = off;
		c[*n].ino = ino;
		c[*n].dev = makedev(dmaj, dmin);
		strcpy(c[*n].path, file);
		(*n)++;
	}
	free(line);
	fclose(f);
	return 0;
}

/* Opens the very file a candidate maps: by /proc/PID/map_files (needs
 * privilege), else by its path inside the process's root, following no
 * symbolic link, and only if it is the mapping's device and inode. */
static int open_candidate(pid_t pid, const struct candidate *c)
{
	char path[96];
	struct stat st;
	int fd, rootfd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
		 (int)pid, c->start, c->end);
	fd = tl_symelf_open(AT_FDCWD, path, false, &st);
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -1;
	fd = tl_symelf_open(rootfd, c->path, true, &st);
	close(rootfd);
	if (fd >= 0 && (st.st_dev != c->dev || (uint64_t)st.st_ino != c->ino)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Fills addr[] with the ELF addresses of sym_names found defined in the
 * file's .symtab or .dynsym. */
static void find_symbols(Elf *elf, uint64_t addr[SYM_COUNT])
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	memset(addr, 0, SYM_COUNT * sizeof(addr[0]));
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		GElf_Sym sym;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		data = elf_getdata(scn, NULL);
		/* gelf_getsym refuses an index past the data's end. */
		for (int i = 0; data && gelf_getsym(data, i, &sym); i++) {
			const char *name;

			if (sym.st_shndx == SHN_UNDEF || !sym.st_value || !sym.st_name)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			for (int k = 0; name && k < SYM_COUNT; k++)
				if (!addr[k] && !strcmp(name, sym_names[k]))
					addr[k] = sym.st_value;
		}
	}
}

/* The ELF virtual address that file offset off is loaded from (by the
 * PT_LOAD holding it); false when none does. */
static bool vaddr_of_offset(Elf *elf, uint64_t off, uint64_t *vaddr)
{
	size_t phnum;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &phnum))
		return false;
	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (off >= ph.p_offset && off - ph.p_offset < (ph.p_filesz ? ph.p_filesz : 1)) {
			*vaddr = ph.p_vaddr + (off - ph.p_offset);
			return true;
		}
	}
	return false;
}

/* Looks for _PyRuntime in one candidate file; true when found (p filled
 * but for the version). */
static bool locate_in(struct tl_pyproc *p, const struct candidate *c, uint64_t *version_addr)
{
	uint64_t addr[SYM_COUNT], vaddr, bias;
	bool found = false;
	Elf *elf;
	int fd;

	fd = open_candidate(p->pid, c);
	if (fd < 0)
		return false;
	/* Read, not mapped: a file truncated under us cannot SIGBUS us. */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF && vaddr_of_offset(elf, c->off, &vaddr)) {
		find_symbols(elf, addr);
		bias = c->start - vaddr;
		if (addr[SYM_RUNTIME]) {
			p->runtime = addr[SYM_RUNTIME] + bias;
			*version_addr = addr[SYM_VERSION] ? addr[SYM_VERSION] + bias : 0;
			p->code_type = addr[SYM_CODE_TYPE] ? addr[SYM_CODE_TYPE] + bias : 0;
			p->unicode_type = addr[SYM_UNICODE_TYPE] ? addr[SYM_UNICODE_TYPE] + bias : 0;
			p->bytes_type = addr[SYM_BYTES_TYPE] ? addr[SYM_BYTES_TYPE] + bias : 0;
			found = true;
		}
	}
	elf_end(elf);
	close(fd);
	return found;
}

int tl_pyproc_open(pid_t pid, struct tl_pyproc *p)
{
	struct candidate *c;
	uint64_t version_addr = 0, version;
	size_t n = 0;
	int err;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->memfd = -1;
	if (pid <= 0)
		return -ESRCH;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOEXEC;
	c = calloc(MAX_CANDIDATES, sizeof(*c));
	if (!c)
		return -ENOMEM;
	err = find_candidates(pid, c, &n);
	for (size_t i = 0; !err && i < n && !p->runtime; i++)
		locate_in(p, &c[i], &version_addr);
	free(c);
	if (err)
		return err;
	if (!p->runtime)
		return -ENOEXEC;
	/* Py_Version is an unsigned long holding PY_VERSION_HEX. */
	version = 0;
	err = version_addr ? tl_pyproc_read(p, version_addr, &version, sizeof(version)) : 0;
	if (err) {
		tl_pyproc_close(p);
		return err;
	}
	p->version = version >> 32 ? 0 : (uint32_t)version;
	return 0;
}

void tl_pyproc_close(struct tl_pyproc *p)
{
	if (p->memfd >= 0)
		close(p->memfd);
	p->memfd = -1;
}
