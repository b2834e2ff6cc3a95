/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Cgroup v2 ids and what they name: the path under the cgroup2 mount
 * ("/system.slice/x.service") and, where the path shows one, the
 * container id.  A live run learns the names from the cgroup2 mount
 * (cgroupfs.c) and logs them (TL_F_CGROUP_NAME); a replay learns the same
 * from the log, so both print the same paths.
 */
#ifndef TCPLINGER_CGNAMES_H
#define TCPLINGER_CGNAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "idmap.h"

#define TL_CGROUP_PATH_MAX 4096
#define TL_CONTAINER_ID_LEN 64		/* the full id, in hex */
#define TL_CONTAINER_SHORT_LEN 12	/* as `docker ps` shows it */

struct tl_cgname {
	char *path;
	char container[TL_CONTAINER_ID_LEN + 1];	/* "" if none */
};

struct tl_cgnames {
	struct tl_idmap ix;	/* cgroup id -> index in names */
	struct tl_cgname *names;
	size_t n, cap;
};

void tl_cgnames_free(struct tl_cgnames *t);
/* Names id path (len bytes, no NUL needed); a second name replaces the
 * first.  false without memory or for a path that is not one. */
bool tl_cgnames_set(struct tl_cgnames *t, uint64_t id, const char *path, size_t len);
/* NULL if id is not named. */
const struct tl_cgname *tl_cgnames_get(const struct tl_cgnames *t, uint64_t id);
/* Whether path is under (or is) the cgroup path top. */
bool tl_cgroup_path_under(const char *path, const char *top);

/* The container id a cgroup path shows, into out (TL_CONTAINER_ID_LEN + 1
 * bytes): the 64-hex-digit id of the innermost component that is one,
 * bare (cgroupfs driver: /docker/ID, /kubepods/.../ID) or in a systemd
 * scope (docker-ID.scope, cri-containerd-ID.scope, crio-ID.scope,
 * libpod-ID.scope), or after a colon (containerd's
 * SLICE:cri-containerd:ID).  Runtime monitors (crio-conmon-ID, libpod-conmon-ID)
 * are not containers.  false (out "") if there is none. */
bool tl_container_id(const char *path, char *out);

/* A TL_F_CGROUP_NAME blob: the id (8 bytes, little-endian), then the
 * path.  Returns its length (cap >= 8 + path's length). */
size_t tl_cgname_blob(uint8_t *buf, size_t cap, uint64_t id, const char *path);
/* Reads one back; false if malformed. */
bool tl_cgname_unblob(const void *blob, size_t len, uint64_t *id, const char **path,
		      size_t *plen);

#endif /* TCPLINGER_CGNAMES_H */
