/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "netns.h"

static int ns_ino(const char *path, ino_t *ino)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	*ino = st.st_ino;
	return 0;
}

/* Collects one openable path per distinct netns that might match the
 * filter: bind mounts under /run/netns, then every process's netns. */
struct ns_list {
	ino_t *ino;
	char **path;
	size_t n, cap;
	size_t denied;	/* paths we may not look at (another user's process) */
};

static void ns_add(struct ns_list *nl, const char *path, uint32_t want)
{
	size_t i, cap;
	ino_t ino;
	void *p;

	int err = ns_ino(path, &ino);

	if (err == -EACCES || err == -EPERM)
		nl->denied++;
	if (err)
		return;
	if (want && ino != want)
		return;
	for (i = 0; i < nl->n; i++)
		if (nl->ino[i] == ino)
			return;
	if (nl->n == nl->cap) {
		cap = nl->cap ? nl->cap * 2 : 16;
		p = realloc(nl->ino, cap * sizeof(*nl->ino));
		if (!p)
			return;
		nl->ino = p;
		p = realloc(nl->path, cap * sizeof(*nl->path));
		if (!p)
			return;
		nl->path = p;
		nl->cap = cap;
	}
	nl->path[nl->n] = strdup(path);
	if (!nl->path[nl->n])
		return;
	nl->ino[nl->n++] = ino;
}

static void ns_scan(struct ns_list *nl, uint32_t want)
{
	char path[300];
	struct dirent *de;
	DIR *d;

	d = opendir("/run/netns");
	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
			ns_add(nl, path, want);
		}
		closedir(d);
	}
	d = opendir("/proc");
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
		ns_add(nl, path, want);
		if (want && nl->n)
			break;
	}
	closedir(d);
}

static void ns_free(struct ns_list *nl)
{
	size_t i;

	for (i = 0; i < nl->n; i++)
		free(nl->path[i]);
	free(nl->path);
	free(nl->ino);
}

int tl_netns_foreach(uint32_t want, int (*fn)(void *ctx), void *ctx, int *skipped)
{
	struct ns_list nl = { 0 };
	int self, fd, n, total = 0, ret = 0;
	ino_t own = 0;
	size_t i;

	*skipped = 0;
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	ret = ns_ino("/proc/thread-self/ns/net", &own);
	if (ret)
		goto out;

	/* Our own netns first, without any setns(). */
	if (!want || want == own) {
		n = fn(ctx);
		if (n < 0) {
			ret = n;
			goto out;
		}
		total += n;
	}
	if (want == own)
		goto out;

	ns_scan(&nl, want);
	for (i = 0; i < nl.n; i++) {
		if (nl.ino[i] == own)
			continue;
		fd = open(nl.path[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET)) {
			if (fd >= 0)
				close(fd);
			(*skipped)++;
			continue;
		}
		close(fd);
		n = fn(ctx);
		if (setns(self, CLONE_NEWNET)) {
			/* Stranded in another netns: must not go on. */
			ret = -errno;
			goto out;
		}
		if (n < 0) {
			ret = n;
			goto out;
		}
		total += n;
	}
out:
	ns_free(&nl);
	close(self);
	return ret < 0 ? ret : total;
}

int tl_netns_exists(uint32_t ino)
{
	struct ns_list nl = { 0 };
	ino_t own = 0;
	int ret;

	if (!ns_ino("/proc/thread-self/ns/net", &own) && own == ino)
		return 1;
	ns_scan(&nl, ino);
	ret = nl.n ? 1 : nl.denied ? -EACCES : 0;	/* could be one we may not see */
	ns_free(&nl);
	return ret;
}
