/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The cgroup2 mount, --cgroup arguments and id -> path; see cgroupfs.h. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include "cgroupfs.h"

#define WALK_EVERY_NS 1000000000ULL
#define WALK_FDS 32

bool tl_cgroupfs_mount(const char *mountinfo, char *buf, size_t len)
{
	char line[4096], fstype[64], point[TL_CGROUP_PATH_MAX];
	FILE *f = fopen(mountinfo, "re");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE ... */
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(dash + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
			continue;
		/* octal escapes (\040) would need decoding: such a mount point
		 * is not one a system uses for cgroup2 */
		if (strchr(point, '\\'))
			continue;
		found = (size_t)snprintf(buf, len, "%s", point) < len;
	}
	fclose(f);
	return found;
}

static bool is_cgroup2(const char *dir, struct stat *st)
{
	struct statfs sf;

	return !stat(dir, st) && S_ISDIR(st->st_mode) && !statfs(dir, &sf) &&
	       sf.f_type == CGROUP2_SUPER_MAGIC;
}

bool tl_cgroupfs_resolve(const char *mount, const char *arg, uint64_t *id, uint32_t *level,
			 char *path, size_t plen, char *err, size_t errlen)
{
	char dir[TL_CGROUP_PATH_MAX], real[PATH_MAX], rmount[PATH_MAX];
	size_t mlen;
	struct stat st;
	const char *rel;

	if (!realpath(mount, rmount)) {
		snprintf(err, errlen, "the cgroup2 mount %s: %s", mount, strerror(errno));
		return false;
	}
	mlen = strlen(rmount);
	/* the mount's own directory named in full, or a path under it */
	if (!strncmp(arg, rmount, mlen) && (arg[mlen] == '/' || !arg[mlen]))
		rel = arg + mlen;
	else
		rel = arg;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", rmount, rel[0] == '/' ? rel + 1 : rel) >=
	    sizeof(dir) || !realpath(dir, real)) {
		snprintf(err, errlen, "--cgroup %s: no such cgroup under %s", arg, rmount);
		return false;
	}
	if (strncmp(real, rmount, mlen) || (real[mlen] != '/' && real[mlen]) ||
	    !is_cgroup2(real, &st)) {
		snprintf(err, errlen, "--cgroup %s: not a cgroup under %s", arg, rmount);
		return false;
	}
	*id = (uint64_t)st.st_ino;
	snprintf(path, plen, "%s", real[mlen] ? real + mlen : "/");
	*level = 0;
	for (const char *p = path; *p; p++)
		*level += *p == '/' && p[1];
	return true;
}

void tl_cgroupfs_init(struct tl_cgroupfs *fs)
{
	memset(fs, 0, sizeof(*fs));
	fs->have_mount = tl_cgroupfs_mount("/proc/self/mountinfo", fs->mount, sizeof(fs->mount));
}

void tl_cgroupfs_free(struct tl_cgroupfs *fs)
{
	tl_cgnames_free(&fs->seen);
}

/* nftw() takes no context. */
static struct tl_cgroupfs *walking;

static int walk_one(const char *fpath, const struct stat *st, int type, struct FTW *ftw)
{
	size_t mlen = strlen(walking->mount);
	const char *rel = fpath + mlen;

	(void)ftw;
	if (type != FTW_D)
		return FTW_CONTINUE;
	tl_cgnames_set(&walking->seen, (uint64_t)st->st_ino, rel[0] ? rel : "/",
		       rel[0] ? strlen(rel) : 1);
	return FTW_CONTINUE;
}

const char *tl_cgroupfs_path(struct tl_cgroupfs *fs, uint64_t id, uint64_t now_ns)
{
	const struct tl_cgname *n = tl_cgnames_get(&fs->seen, id);

	if (n)
		return n->path;
	if (!fs->have_mount || (fs->last_walk_ns && now_ns - fs->last_walk_ns < WALK_EVERY_NS))
		return NULL;
	fs->last_walk_ns = now_ns ? now_ns : 1;
	walking = fs;
	nftw(fs->mount, walk_one, WALK_FDS, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL);
	walking = NULL;
	n = tl_cgnames_get(&fs->seen, id);
	return n ? n->path : NULL;
}
