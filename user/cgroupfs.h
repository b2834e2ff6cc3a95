/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The cgroup2 hierarchy as the live run sees it: where it is mounted
 * (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems), what a
 * --cgroup argument names, and the path of a cgroup id.  On cgroup2 a
 * directory's inode number is the cgroup's id (the kernfs node id), which
 * the kernel gives sockets.
 */
#ifndef TCPLINGER_CGROUPFS_H
#define TCPLINGER_CGROUPFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cgnames.h"

/* The first cgroup2 mount in mountinfo (a /proc/self/mountinfo file)
 * into buf; false if there is none. */
bool tl_cgroupfs_mount(const char *mountinfo, char *buf, size_t len);

/* What --cgroup ARG names, under the mount: ARG is a path under the
 * mount ("/system.slice", "system.slice") or the directory itself
 * ("/sys/fs/cgroup/system.slice").  Fills *id, *level (0: the root) and
 * path (the cgroup's path, "/system.slice"); false with one line in err. */
bool tl_cgroupfs_resolve(const char *mount, const char *arg, uint64_t *id, uint32_t *level,
			 char *path, size_t plen, char *err, size_t errlen);

/* Paths of cgroup ids, from walks of the mount. */
struct tl_cgroupfs {
	char mount[TL_CGROUP_PATH_MAX];
	bool have_mount;
	struct tl_cgnames seen;	/* from the last walks */
	uint64_t last_walk_ns;	/* CLOCK_BOOTTIME; 0: never */
};

/* Finds the mount (have_mount false if none). */
void tl_cgroupfs_init(struct tl_cgroupfs *fs);
void tl_cgroupfs_free(struct tl_cgroupfs *fs);
/* The path of id (NULL if unknown): a miss walks the mount again, at
 * most once a second (now_ns, CLOCK_BOOTTIME). */
const char *tl_cgroupfs_path(struct tl_cgroupfs *fs, uint64_t id, uint64_t now_ns);

#endif /* TCPLINGER_CGROUPFS_H */
