/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The threads of a running process from /proc; see proctask.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "grow.h"
#include "procfs.h"
#include "proctask.h"
#include "../bpf/unwind.h"

static int tid_cmp(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return x < y ? -1 : x > y;
}

int tl_task_list(int pid, int32_t **tids, size_t *n)
{
	char path[32];
	struct dirent *d;
	size_t cap = 0;
	DIR *dir;

	*tids = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((d = readdir(dir)) && *n < TL_TASKS_MAX) {
		long tid = strtol(d->d_name, NULL, 10);

		if (tid <= 0)
			continue;
		if (!tl_grow(tids, &cap, *n, sizeof(**tids), 16)) {
			closedir(dir);
			return -ENOMEM;
		}
		(*tids)[(*n)++] = (int32_t)tid;
	}
	closedir(dir);
	qsort(*tids, *n, sizeof(**tids), tid_cmp);
	return 0;
}

/* "nr arg1 .. arg6 sp pc" (hex but nr), "-1 sp pc" outside a syscall, or
 * "running". */
static void parse_syscall(const char *s, struct tl_task_now *t)
{
	uint64_t w[8];
	int n = 0;
	char *end;
	long nr;

	t->syscall = -1;
	nr = strtol(s, &end, 10);
	if (end == s)
		return;	/* "running" */
	for (s = end; n < 8; s = end) {
		w[n] = strtoull(s, &end, 16);
		if (end == s)
			break;
		n++;
	}
	if (n < 2)
		return;
	t->syscall = nr >= 0 ? (int32_t)nr : -1;
	t->sp = w[n - 2];
	t->pc = w[n - 1];
	t->regs_known = true;
}

int tl_task_now(int pid, int32_t tid, struct tl_task_now *t)
{
	char name[64], buf[512], *fields;
	ssize_t n;

	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->syscall = -1;
	t->state = '?';
	snprintf(name, sizeof(name), "task/%d/stat", tid);
	n = tl_procfs_read(pid, name, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	/* "tid (comm) S ...": the comm may hold spaces and ')' */
	fields = strrchr(buf, ')');
	if (fields && fields[1] == ' ')
		t->state = fields[2];
	snprintf(name, sizeof(name), "task/%d/comm", tid);
	n = tl_procfs_read(pid, name, t->comm, sizeof(t->comm));
	if (n > 0 && t->comm[n - 1] == '\n')
		t->comm[n - 1] = '\0';
	snprintf(name, sizeof(name), "task/%d/syscall", tid);
	if (tl_procfs_read(pid, name, buf, sizeof(buf)) > 0)
		parse_syscall(buf, t);
	return 0;
}

size_t tl_task_stack(int pid, uint64_t sp, uint8_t *buf, size_t len)
{
	char path[32];
	size_t got = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* in chunks, as the collector reads: the stack's end stops the last */
	while (got < len) {
		size_t want = len - got < TL_UWIN_CHUNK ? len - got : TL_UWIN_CHUNK;

		n = pread(fd, buf + got, want, (off_t)(sp + got));
		if (n <= 0)
			break;
		got += (size_t)n;
		if ((size_t)n < want)
			break;
	}
	close(fd);
	return got;
}

#if defined(__x86_64__)
/* The syscalls a thread holding a socket is usually found in. */
static const struct {
	int32_t nr;
	const char *name;
} names[] = {
	{ 0, "read" }, { 1, "write" }, { 3, "close" }, { 7, "poll" }, { 16, "ioctl" },
	{ 17, "pread64" }, { 18, "pwrite64" }, { 19, "readv" }, { 20, "writev" },
	{ 23, "select" }, { 24, "sched_yield" }, { 34, "pause" }, { 35, "nanosleep" },
	{ 40, "sendfile" }, { 42, "connect" }, { 43, "accept" }, { 44, "sendto" },
	{ 45, "recvfrom" }, { 46, "sendmsg" }, { 47, "recvmsg" }, { 48, "shutdown" },
	{ 61, "wait4" }, { 72, "fcntl" }, { 73, "flock" }, { 74, "fsync" },
	{ 128, "rt_sigtimedwait" }, { 130, "rt_sigsuspend" }, { 202, "futex" },
	{ 230, "clock_nanosleep" }, { 232, "epoll_wait" }, { 247, "waitid" },
	{ 257, "openat" }, { 270, "pselect6" }, { 271, "ppoll" }, { 281, "epoll_pwait" },
	{ 288, "accept4" }, { 299, "recvmmsg" }, { 307, "sendmmsg" },
	{ 426, "io_uring_enter" }, { 441, "epoll_pwait2" }, { 449, "futex_waitv" },
};
#endif

const char *tl_syscall_name(int32_t nr, char *buf, size_t len)
{
#if defined(__x86_64__)
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].nr == nr)
			return names[i].name;
#endif
	snprintf(buf, len, "syscall_%" PRId32, nr);
	return buf;
}
