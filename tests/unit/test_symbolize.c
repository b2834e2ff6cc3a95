/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "symelf.h"
#include "symbolize.h"
#include "unit.h"

static volatile int sink;

/* The opening brace shares its line with the first statement: at -O2 the
 * function's first address carries rows for both, so either is this line. */
static const int target_line = __LINE__ + 2;
static __attribute__((noipa)) int target(int x)
{	sink = x;
	for (int i = 0; i < x; i++)
		sink += i * sink;
	return sink;
}

static uint64_t target_ip(void)
{
	int (*volatile fn)(int) = target;

	return (uint64_t)(uintptr_t)fn;
}

static void free_all(char **out, int n)
{
	for (int i = 0; i < n; i++)
		free(out[i]);
}

static bool starts_with(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

/* "target+0xOFF (test_symbolize.c:LINE)": the line, or -1. */
static int target_frame_line(const char *s, unsigned int off)
{
	char want[64];
	int line = -1, pos = 0;

	snprintf(want, sizeof(want), "target+0x%x (test_symbolize.c:", off);
	if (!starts_with(s, want))
		return -1;
	if (sscanf(s + strlen(want), "%d)%n", &line, &pos) != 1 || s[strlen(want) + pos])
		return -1;
	return line;
}

static pid_t fork_paused(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static void reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* A function's start exactly; a return address just inside is looked up
 * at ip-1; a return address at the very start belongs to what precedes. */
static void own_function(void)
{
	struct tl_symbolizer *s = tl_sym_new();
	uint64_t ips[3] = { target_ip(), target_ip() + 0xa, target_ip() };
	char *out[3] = { 0 };
	char want[64];
	int line;

	CHECK(s);
	CHECK_EQ_U64(tl_sym_resolve(s, getpid(), ips, 3, out), 3);
	snprintf(want, sizeof(want), "target+0x0 (test_symbolize.c:%d)", target_line);
	CHECK_STR(out[0], want);
	line = target_frame_line(out[1], 0xa);
	CHECK(line >= target_line && line <= target_line + 3);
	CHECK(!starts_with(out[2], "target+"));
	CHECK(out[2] && !strstr(out[2], "(deleted)"));
	free_all(out, 3);
	tl_sym_free(s);
}

static void libc_function(void)
{
	struct tl_symbolizer *s = tl_sym_new();
	void *fn = dlsym(RTLD_DEFAULT, "getpid");
	uint64_t ip = (uint64_t)(uintptr_t)fn;
	char *out = NULL;
	const char *rest = NULL;
	int line = 0, pos = 0;
	char file[64];

	CHECK(s && fn);
	CHECK_EQ_U64(tl_sym_resolve(s, getpid(), &ip, 1, &out), 1);
	/* getpid is a weak alias of the global __getpid at the same address. */
	if (starts_with(out, "getpid+0x0 ("))
		rest = out + strlen("getpid+0x0 ");
	else if (starts_with(out, "__getpid+0x0 ("))
		rest = out + strlen("__getpid+0x0 ");
	CHECK(rest);
	/* Without libc's debug info the module is named; with it, the line. */
	if (rest && strcmp(rest, "(libc.so.6)")) {
		CHECK(sscanf(rest, "(%63[^:]:%d)%n", file, &line, &pos) == 2 && !rest[pos]);
		CHECK(line > 0 && !strchr(file, '/'));
	}
	free(out);
	tl_sym_free(s);
}

static void no_module(void)
{
	struct tl_symbolizer *s = tl_sym_new();
	void *anon = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t vdso = getauxval(AT_SYSINFO_EHDR);
	uint64_t ips[5] = { 0, 0x10, (uint64_t)(uintptr_t)anon + 8, vdso + 0x10, 0 };
	char *out[5] = { 0 };
	char want[64];

	CHECK(s && anon != MAP_FAILED && vdso);
	CHECK_EQ_U64(tl_sym_resolve(s, getpid(), ips, 5, out), 5);
	CHECK_STR(out[0], "0x0");
	CHECK_STR(out[1], "0x10");
	snprintf(want, sizeof(want), "0x%" PRIx64, ips[2]);
	CHECK_STR(out[2], want);
	CHECK_STR(out[3], "[vdso]+0x10");
	CHECK_STR(out[4], "0x0");
	free_all(out, 5);
	CHECK_EQ_U64(tl_sym_resolve(s, getpid(), ips, 0, out), 0);
	munmap(anon, 4096);
	tl_sym_free(s);
}

/* JIT code: executable anonymous memory named by /tmp/perf-PID.map; memory
 * reserved first and made executable later is read anew. */
static void jit_frames(void)
{
	struct tl_symbolizer *s = tl_sym_new();
	char *jit = mmap(NULL, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *later = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t ips[3] = { (uint64_t)(uintptr_t)jit + 0x10, (uint64_t)(uintptr_t)jit + 0x1001,
			    (uint64_t)(uintptr_t)later + 0x21 };
	char path[64], want[128], *out[3] = { 0 };
	FILE *f;

	CHECK(s && jit != MAP_FAILED && later != MAP_FAILED);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", getpid());
	f = fopen(path, "we");
	CHECK(f);
	if (!f)
		return;
	fprintf(f, "%" PRIx64 " 100 JS:*hot /srv/app.js:3\n%" PRIx64 " 40 LServer;accept()V\n",
		ips[0] - 0x10, ips[2] - 0x21);
	fclose(f);
	/* the second address is no entry's; the third not executable yet */
	CHECK_EQ_U64(tl_sym_resolve(s, getpid(), ips, 3, out), 3);
	snprintf(want, sizeof(want), "JS:*hot /srv/app.js:3+0x10 [perf-%d.map]", getpid());
	CHECK_STR(out[0], want);
	snprintf(want, sizeof(want), "0x%" PRIx64, ips[1]);
	CHECK_STR(out[1], want);
	snprintf(want, sizeof(want), "0x%" PRIx64, ips[2]);
	CHECK_STR(out[2], want);
	free_all(out, 3);
	/* compiled since, and its entry appended */
	CHECK(!mprotect(later, 4096, PROT_READ | PROT_EXEC));
	f = fopen(path, "ae");
	CHECK(f);
	if (f) {
		fprintf(f, "%" PRIx64 " 10 JS:~cold\n", ips[1] - 1);
		fclose(f);
	}
	CHECK_EQ_U64(tl_sym_resolve(s, getpid(), ips, 3, out), 3);
	snprintf(want, sizeof(want), "JS:~cold+0x1 [perf-%d.map]", getpid());
	CHECK_STR(out[1], want);
	snprintf(want, sizeof(want), "LServer;accept()V+0x21 [perf-%d.map]", getpid());
	CHECK_STR(out[2], want);
	free_all(out, 3);
	unlink(path);
	munmap(jit, 8192);
	munmap(later, 4096);
	tl_sym_free(s);
}

static int base_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	*(uint64_t *)arg = info->dlpi_addr;
	return 1;	/* the first object is the executable */
}

/* The executable's ELF header has no symbol: name and ELF address. */
static void no_symbol(void)
{
	struct tl_symbolizer *s = tl_sym_new();
	uint64_t base = 0, ips[2];
	char *out[2] = { 0 };

	CHECK(s);
	dl_iterate_phdr(base_cb, &base);
	CHECK(base);
	ips[0] = base + 0x40;
	ips[1] = base + 0x41;	/* as a return address: looked up at 0x40 */
	CHECK_EQ_U64(tl_sym_resolve(s, getpid(), ips, 2, out), 2);
	CHECK_STR(out[0], "test_symbolize+0x40");
	CHECK_STR(out[1], "test_symbolize+0x41");
	free_all(out, 2);
	tl_sym_free(s);
}

static void bad_pid(void)
{
	struct tl_symbolizer *s = tl_sym_new();
	uint64_t ip = target_ip();
	char *sentinel = (char *)"untouched", *out = sentinel;
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(0);
	CHECK(pid > 0);
	/* Reaped: the pid names no process (until reused, far away). */
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK_EQ_U64(tl_sym_resolve(s, pid, &ip, 1, &out), (uint64_t)-ESRCH);
	CHECK(out == sentinel);
	CHECK_EQ_U64(tl_sym_resolve(s, -1, &ip, 1, &out), (uint64_t)-EINVAL);
	CHECK_EQ_U64(tl_sym_resolve(s, 0, &ip, 1, &out), (uint64_t)-EINVAL);
	CHECK(out == sentinel);
	tl_sym_free(s);
}

/* Another process running the same executable reuses the parsed binary. */
static void binary_cached_across_processes(void)
{
	struct tl_symbolizer *s = tl_sym_new();
	uint64_t ips[2] = { target_ip(), target_ip() + 0xa };
	uint64_t libc_ip = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, "getpid");
	char *mine[2] = { 0 }, *child[2] = { 0 }, *again[2] = { 0 }, *lc = NULL;
	pid_t pid = fork_paused();

	CHECK(s && pid > 0);
	CHECK_EQ_U64(tl_sym_binaries_opened(s), 0);
	CHECK_EQ_U64(tl_sym_resolve(s, getpid(), ips, 2, mine), 2);
	CHECK_EQ_U64(tl_sym_binaries_opened(s), 1);
	/* A forked child's maps are the parent's as soon as fork returns. */
	CHECK_EQ_U64(tl_sym_resolve(s, pid, ips, 2, child), 2);
	CHECK_STR(child[0], mine[0]);
	CHECK_STR(child[1], mine[1]);
	CHECK_EQ_U64(tl_sym_binaries_opened(s), 1);
	CHECK_EQ_U64(tl_sym_resolve(s, pid, &libc_ip, 1, &lc), 1);
	CHECK_EQ_U64(tl_sym_binaries_opened(s), 2);
	/* Asked again, the process's cached maps serve: no binary reopened. */
	CHECK_EQ_U64(tl_sym_resolve(s, pid, ips, 2, again), 2);
	CHECK_STR(again[0], mine[0]);
	CHECK_EQ_U64(tl_sym_binaries_opened(s), 2);
	reap(pid);
	free_all(mine, 2);
	free_all(child, 2);
	free_all(again, 2);
	free(lc);
	tl_sym_free(s);
}

struct phdr_q {
	uint64_t ip, foff;
	bool found;
};

/* The executable's file offset of an address in it (its PT_LOADs). */
static int phdr_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct phdr_q *q = arg;
	uint64_t vaddr = q->ip - info->dlpi_addr;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && vaddr >= ph->p_vaddr &&
		    vaddr < ph->p_vaddr + ph->p_filesz) {
			q->foff = vaddr - ph->p_vaddr + ph->p_offset;
			q->found = true;
		}
	}
	return 1;	/* the first object is the executable */
}

static bool copy_file(const char *from, int to)
{
	char buf[65536];
	ssize_t n;
	int fd = open(from, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (write(to, buf, n) != n) {
			n = -1;
			break;
		}
	}
	close(fd);
	return n == 0;
}

/*
 * A copy of the executable mapped whole (one mapping, offset 0) and then
 * deleted: found through /proc/PID/map_files when we may open those, with
 * offsets translated through the PT_LOADs, and recognized by its build id
 * as the binary already parsed.  Unprivileged, only the name and the file
 * offset are left.
 */
static void deleted_copy(void)
{
	struct tl_symbolizer *s = tl_sym_new();
	char tmpl[] = "/tmp/tl_symcopyXXXXXX", want[PATH_MAX + 64], path[64];
	uint64_t ip, mine_ip = target_ip();
	char *mine = NULL, *out = NULL;
	struct phdr_q q = { 0 };
	struct stat st;
	void *map = MAP_FAILED;
	long page;
	int fd, mfd;

	CHECK(s);
	fd = mkstemp(tmpl);
	CHECK(fd >= 0);
	if (fd < 0)
		goto out;
	memset(&st, 0, sizeof(st));
	CHECK(copy_file("/proc/self/exe", fd) && !fstat(fd, &st) && st.st_size);
	if (st.st_size)
		map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	unlink(tmpl);
	CHECK(map != MAP_FAILED);
	q.ip = mine_ip;
	dl_iterate_phdr(phdr_cb, &q);
	CHECK(q.found);
	if (map == MAP_FAILED || !q.found)
		goto out;
	ip = (uint64_t)(uintptr_t)map + q.foff;

	CHECK_EQ_U64(tl_sym_resolve(s, getpid(), &mine_ip, 1, &mine), 1);
	CHECK_EQ_U64(tl_sym_binaries_opened(s), 1);
	CHECK_EQ_U64(tl_sym_resolve(s, getpid(), &ip, 1, &out), 1);
	page = sysconf(_SC_PAGESIZE);
	snprintf(path, sizeof(path), "/proc/self/map_files/%" PRIx64 "-%" PRIx64,
		 (uint64_t)(uintptr_t)map, (uint64_t)(uintptr_t)map + (st.st_size + page - 1) / page * page);
	mfd = open(path, O_RDONLY | O_CLOEXEC);
	if (mfd >= 0) {
		close(mfd);
		CHECK_STR(out, mine);
		CHECK_EQ_U64(tl_sym_binaries_opened(s), 1);
	} else {
		snprintf(want, sizeof(want), "%s+0x%" PRIx64, strrchr(tmpl, '/') + 1, q.foff);
		CHECK_STR(out, want);
	}
out:
	if (map != MAP_FAILED)
		munmap(map, st.st_size);
	free(mine);
	free(out);
	tl_sym_free(s);
}

/* A symbol name longer than any frame string may be. */
#define NAME100 "long_name_long_name_long_name_long_name_long_name_" \
		"long_name_long_name_long_name_long_name_long_name_"
static __attribute__((noipa, used)) int long_named(int x) __asm__(NAME100 NAME100 NAME100
								  NAME100 NAME100 NAME100);
static __attribute__((noipa, used)) int long_named(int x)
{
	sink = x;
	return sink + 1;
}

static void frame_capped(void)
{
	struct tl_symbolizer *s = tl_sym_new();
	int (*volatile fn)(int) = long_named;
	uint64_t ip = (uint64_t)(uintptr_t)fn;
	char *out = NULL;

	CHECK(s);
	CHECK_EQ_U64(tl_sym_resolve(s, getpid(), &ip, 1, &out), 1);
	CHECK(out && strlen(out) == TL_SYM_FRAME_MAX && !strncmp(out, NAME100, 100) &&
	      !strcmp(out + TL_SYM_FRAME_MAX - 3, "..."));
	free(out);
	tl_sym_free(s);
}

/* Past its time budget a binary gets no symbol lookups. */
static void over_budget(void)
{
	struct tl_symbolizer *s = tl_sym_new();
	uint64_t ip = target_ip();
	char *out = NULL;

	CHECK(s);
	tl_sym_set_budget(s, 1);
	CHECK_EQ_U64(tl_sym_resolve(s, getpid(), &ip, 1, &out), 1);
	CHECK(starts_with(out, "test_symbolize+0x"));
	free(out);
	tl_sym_free(s);
}

static void debuglink_names(void)
{
	char longname[NAME_MAX + 2];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(tl_symelf_debuglink_ok("libc.so.6.debug"));
	CHECK(tl_symelf_debuglink_ok("..debug"));
	CHECK(!tl_symelf_debuglink_ok(NULL));
	CHECK(!tl_symelf_debuglink_ok(""));
	CHECK(!tl_symelf_debuglink_ok("."));
	CHECK(!tl_symelf_debuglink_ok(".."));
	CHECK(!tl_symelf_debuglink_ok("../../etc/shadow"));
	CHECK(!tl_symelf_debuglink_ok("/etc/shadow"));
	CHECK(!tl_symelf_debuglink_ok("a/b"));
	CHECK(!tl_symelf_debuglink_ok(longname));
	longname[NAME_MAX] = '\0';
	CHECK(tl_symelf_debuglink_ok(longname));
}

/* A FIFO, a link out of the root, a name climbing out: nothing opened,
 * nothing blocks. */
static void untrusted_opens(void)
{
	char dir[] = "/tmp/tl_symopenXXXXXX", path[PATH_MAX];
	struct stat st;
	int dfd, fd;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	CHECK(!mkfifo(path, 0600));
	CHECK(tl_symelf_open(AT_FDCWD, path, false, &st) < 0);
	snprintf(path, sizeof(path), "%s/hosts", dir);
	CHECK(!symlink("/etc/hosts", path));
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(dfd >= 0);
	CHECK(tl_symelf_open(dfd, "/fifo", true, &st) < 0);
	CHECK(tl_symelf_open(dfd, "/hosts", true, &st) < 0);
	CHECK(tl_symelf_open(dfd, "/../../../etc/hosts", true, &st) < 0);
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	close(fd);
	fd = tl_symelf_open(dfd, "/file", true, &st);
	CHECK(fd >= 0 && S_ISREG(st.st_mode));
	if (fd >= 0)
		close(fd);
	close(dfd);
	for (const char *const *n = (const char *const[]){ "fifo", "hosts", "file", NULL }; *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *n);
		unlink(path);
	}
	rmdir(dir);
}

/*
 * The path of a mapping, read from /proc/PID/maps, is made a link to
 * another file before the binary is opened: the symbolizer must read the
 * mapped file (map_files) or nothing, and never open the link's target.
 */
static void path_swapped(void)
{
	struct tl_symbolizer *s = tl_sym_new();
	char dir[] = "/tmp/tl_symswapXXXXXX", prog[PATH_MAX], old[PATH_MAX], decoy[PATH_MAX];
	char ev[4096];
	uint64_t ip, first = target_ip();
	struct phdr_q q = { 0 };
	char *out = NULL, *mine = NULL;
	struct stat st = { 0 };
	void *map = MAP_FAILED;
	int fd, ifd = -1;

	CHECK(s && mkdtemp(dir));
	snprintf(prog, sizeof(prog), "%s/prog", dir);
	snprintf(old, sizeof(old), "%s/prog.old", dir);
	snprintf(decoy, sizeof(decoy), "%s/decoy", dir);
	fd = open(prog, O_RDWR | O_CREAT | O_CLOEXEC, 0700);
	CHECK(fd >= 0 && copy_file("/proc/self/exe", fd) && !fstat(fd, &st));
	if (fd >= 0 && st.st_size)
		map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (fd >= 0)
		close(fd);
	fd = open(decoy, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	q.ip = first;
	dl_iterate_phdr(phdr_cb, &q);
	CHECK(map != MAP_FAILED && q.found);
	if (map == MAP_FAILED || !q.found)
		goto out;
	/* The maps are read (and kept) with the path still the file's. */
	CHECK_EQ_U64(tl_sym_resolve(s, getpid(), &first, 1, &mine), 1);
	CHECK(!rename(prog, old) && !symlink(decoy, prog));
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	CHECK(ifd >= 0 && inotify_add_watch(ifd, decoy, IN_OPEN) >= 0);
	ip = (uint64_t)(uintptr_t)map + q.foff;
	CHECK_EQ_U64(tl_sym_resolve(s, getpid(), &ip, 1, &out), 1);
	CHECK(read(ifd, ev, sizeof(ev)) < 0 && errno == EAGAIN);
	/* map_files, when we may open it, gives the mapped file's symbols;
	 * else only the name is left. */
	CHECK(out && (!strcmp(out, mine) || starts_with(out, "prog+0x")));
out:
	if (ifd >= 0)
		close(ifd);
	if (map != MAP_FAILED)
		munmap(map, st.st_size);
	unlink(prog);
	unlink(old);
	unlink(decoy);
	rmdir(dir);
	free(mine);
	free(out);
	tl_sym_free(s);
}

int main(void)
{
	RUN(own_function);
	RUN(libc_function);
	RUN(no_module);
	RUN(jit_frames);
	RUN(no_symbol);
	RUN(bad_pid);
	RUN(binary_cached_across_processes);
	RUN(deleted_copy);
	RUN(frame_capped);
	RUN(over_budget);
	RUN(debuglink_names);
	RUN(untrusted_opens);
	RUN(path_swapped);
	return UNIT_END();
}
