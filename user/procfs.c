/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Process facts from /proc; see procfs.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "grow.h"
#include "procfs.h"

/* Reads up to len-1 bytes of /proc/PID/NAME into buf, NUL-terminated:
 * the length, or -errno (-ESRCH when the process is gone). */
static ssize_t read_proc(int pid, const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n, got = 0;
	int fd, err;

	if (pid <= 0 || !buf || !len)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((size_t)got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* Reading a process that just exited. */
			err = errno == ENOENT ? ESRCH : errno;
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

ssize_t tl_procfs_read(int pid, const char *name, char *buf, size_t len)
{
	return read_proc(pid, name, buf, len);
}

int tl_procfs_cmdline(int pid, char *buf, size_t len)
{
	ssize_t n = read_proc(pid, "cmdline", buf, len);

	if (n < 0)
		return (int)n;
	/* The last argument's NUL (and setproctitle padding) is no separator. */
	while (n > 0 && !buf[n - 1])
		n--;
	buf[n] = 0;
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	return 0;
}

/* /proc/PID/comm without the newline, truncated to len-1 bytes. */
static int read_comm(int pid, char *buf, size_t len)
{
	char tmp[64], *nl;
	ssize_t n = read_proc(pid, "comm", tmp, sizeof(tmp));

	if (n < 0)
		return (int)n;
	/* Only the newline the kernel adds: a comm may hold one of its own. */
	nl = n > 0 && tmp[n - 1] == '\n' ? &tmp[n - 1] : NULL;
	if (nl)
		*nl = 0;
	n = (ssize_t)strnlen(tmp, len - 1);
	memcpy(buf, tmp, (size_t)n);
	buf[n] = 0;
	return 0;
}

int tl_procfs_stat(int pid, char *buf, size_t len, char **fields)
{
	ssize_t n = read_proc(pid, "stat", buf, len);
	char *p;

	if (n < 0)
		return (int)n;
	/* "pid (comm) state ...": the fields resume after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EIO;
	*fields = p + 2;
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int holder_cmp(const void *a, const void *b)
{
	const struct tl_holder *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->fd < y->fd ? -1 : x->fd > y->fd;
}

/* A positive decimal number and nothing else, else -1. */
static long parse_num(const char *s)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (long)INT32_MAX / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

struct scan {
	const uint64_t *keys;	/* sorted, unique */
	size_t nkeys;
	struct tl_holder *v;
	size_t n, cap;
};

/* The directory open at fd (consumed), or NULL. */
static DIR *dir_of(int fd)
{
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d && fd >= 0)
		close(fd);
	return d;
}

/* Adds the matching fds listed in the fd directory open at dfd
 * (consumed); how many it found, or -ENOMEM.  *empty: it lists none. */
static int scan_fds(struct scan *sc, int dfd, int pid, bool *empty)
{
	char link[64];
	struct dirent *de;
	int found = 0;
	DIR *d;

	*empty = true;
	d = dir_of(dfd);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		long fd = parse_num(de->d_name);
		uint64_t ino;
		char *end;
		ssize_t len;

		if (fd < 0)
			continue;
		*empty = false;
		/* No stat: the link alone says whether it is a socket and which. */
		len = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (len < 9 || memcmp(link, "socket:[", 8))
			continue;
		link[len] = 0;
		ino = strtoull(link + 8, &end, 10);
		if (*end != ']' || !bsearch(&ino, sc->keys, sc->nkeys, sizeof(*sc->keys), u64_cmp))
			continue;
		if (!tl_grow(&sc->v, &sc->cap, sc->n, sizeof(*sc->v), 64)) {
			closedir(d);
			return -ENOMEM;
		}
		memset(&sc->v[sc->n], 0, sizeof(sc->v[sc->n]));
		sc->v[sc->n].ino = ino;
		sc->v[sc->n].pid = pid;
		sc->v[sc->n].fd = (int32_t)fd;
		sc->n++;
		found++;
	}
	closedir(d);
	return found;
}

/*
 * A thread-group leader that exited before its threads is a zombie with no
 * fd table of its own (unprivileged, its fd directory cannot even be
 * opened); the fds are still held, visible through any other thread.
 * Kernel threads (no fds either) cost one more directory read.
 */
static int scan_other_thread(struct scan *sc, int procfd, int pid)
{
	char path[64];
	struct dirent *de;
	bool empty;
	int fd, ret = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%d/task", pid);
	d = dir_of(openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		long tid = parse_num(de->d_name);

		if (tid <= 0 || tid == pid)
			continue;
		snprintf(path, sizeof(path), "%d/task/%ld/fd", pid, tid);
		fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue;	/* that thread just exited */
		if (fd < 0)
			break;		/* not ours: none of them is */
		ret = scan_fds(sc, fd, pid, &empty);
		if (ret || !empty)
			break;
	}
	closedir(d);
	return ret;
}

static int scan_pid(struct scan *sc, int procfd, int pid)
{
	size_t first = sc->n;
	char path[32], comm[16];
	bool empty = false;
	int fd, ret;

	snprintf(path, sizeof(path), "%d/fd", pid);
	fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno != EACCES && errno != EPERM)
		return 0;	/* gone */
	ret = fd < 0 ? 0 : scan_fds(sc, fd, pid, &empty);
	if (!ret && (fd < 0 || empty))
		ret = scan_other_thread(sc, procfd, pid);
	if (ret <= 0)
		return ret;
	if (read_comm(pid, comm, sizeof(comm))) {
		sc->n = first;	/* exited meanwhile */
		return 0;
	}
	for (size_t i = first; i < sc->n; i++)
		memcpy(sc->v[i].comm, comm, sizeof(comm));
	return 0;
}

int tl_procfs_holders(const uint64_t *inos, size_t n, struct tl_holder **out, size_t *nout)
{
	struct scan sc = { 0 };
	struct dirent *de;
	uint64_t *keys;
	size_t nkeys = 0;
	int procfd, err = 0;
	DIR *d;

	*out = NULL;
	*nout = 0;
	if (!n)
		return 0;
	if (!inos)
		return -EINVAL;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	memcpy(keys, inos, n * sizeof(*keys));
	qsort(keys, n, sizeof(*keys), u64_cmp);
	for (size_t i = 0; i < n; i++)
		if (!nkeys || keys[nkeys - 1] != keys[i])
			keys[nkeys++] = keys[i];
	sc.keys = keys;
	sc.nkeys = nkeys;

	procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = procfd >= 0 ? fdopendir(procfd) : NULL;
	if (!d) {
		err = -errno;
		if (procfd >= 0)
			close(procfd);
		free(keys);
		return err;
	}
	/* /proc lists thread-group leaders only: one entry per process. */
	while (!err && (de = readdir(d))) {
		long pid = parse_num(de->d_name);

		if (pid > 0)
			err = scan_pid(&sc, dirfd(d), (int)pid);
	}
	closedir(d);
	free(keys);
	if (err) {
		free(sc.v);
		return err;
	}
	if (!sc.n) {
		free(sc.v);
		return 0;
	}
	qsort(sc.v, sc.n, sizeof(*sc.v), holder_cmp);
	*out = sc.v;
	*nout = sc.n;
	return 0;
}
