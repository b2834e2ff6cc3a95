/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Cgroup ids, their paths and container ids; see cgnames.h. */
#include <stdlib.h>
#include <string.h>
#include "cgnames.h"
#include "grow.h"

void tl_cgnames_free(struct tl_cgnames *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->names[i].path);
	free(t->names);
	tl_idmap_free(&t->ix);
	memset(t, 0, sizeof(*t));
}

bool tl_cgnames_set(struct tl_cgnames *t, uint64_t id, const char *path, size_t len)
{
	struct tl_cgname *n;
	uint32_t k;
	char *p;

	/* a path is absolute, one line, and printable as it is */
	if (!id || !len || len >= TL_CGROUP_PATH_MAX || path[0] != '/' || memchr(path, '\0', len))
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			return false;
	p = strndup(path, len);
	if (!p)
		return false;
	if (tl_idmap_get(&t->ix, id, &k)) {
		n = &t->names[k];
		free(n->path);
	} else {
		if (!tl_grow(&t->names, &t->cap, t->n, sizeof(*t->names), 64) ||
		    !tl_idmap_put(&t->ix, id, (uint32_t)t->n))
			goto fail;
		n = &t->names[t->n++];
	}
	n->path = p;
	tl_container_id(p, n->container);
	return true;
fail:
	free(p);
	return false;
}

const struct tl_cgname *tl_cgnames_get(const struct tl_cgnames *t, uint64_t id)
{
	uint32_t k;

	if (!id || !t->n || !tl_idmap_get(&t->ix, id, &k))
		return NULL;
	return &t->names[k];
}

bool tl_cgroup_path_under(const char *path, const char *top)
{
	size_t n = strlen(top);

	while (n > 1 && top[n - 1] == '/')
		n--;
	if (n == 1 && top[0] == '/')
		return path[0] == '/';	/* the root holds everything */
	return !strncmp(path, top, n) && (path[n] == '\0' || path[n] == '/');
}

static bool hex64(const char *s, size_t len)
{
	if (len != TL_CONTAINER_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The id in one path component s[0, len), or NULL. */
static const char *component_id(const char *s, size_t len)
{
	static const char scope[] = ".scope";
	const size_t sl = sizeof(scope) - 1;
	const char *id;

	if (hex64(s, len))
		return s;	/* cgroupfs driver: the id is the directory */
	/* containerd's "SLICE:cri-containerd:ID" */
	if (len > TL_CONTAINER_ID_LEN && s[len - TL_CONTAINER_ID_LEN - 1] == ':' &&
	    hex64(s + len - TL_CONTAINER_ID_LEN, TL_CONTAINER_ID_LEN))
		return s + len - TL_CONTAINER_ID_LEN;
	if (len < sl + TL_CONTAINER_ID_LEN + 1 || memcmp(s + len - sl, scope, sl))
		return NULL;
	id = s + len - sl - TL_CONTAINER_ID_LEN;
	if (id[-1] != '-' || !hex64(id, TL_CONTAINER_ID_LEN))
		return NULL;
	/* "<runtime>-conmon-ID.scope" is the runtime's monitor */
	if (id - s >= 8 && !memcmp(id - 8, "-conmon-", 8))
		return NULL;
	if (id - s == 7 && !memcmp(s, "conmon-", 7))
		return NULL;
	return id;
}

bool tl_container_id(const char *path, char *out)
{
	const char *end = path + strlen(path);

	out[0] = '\0';
	/* innermost first: a container nested in a pod is the container */
	while (end > path) {
		const char *start = end;
		const char *id;

		while (start > path && start[-1] != '/')
			start--;
		id = component_id(start, (size_t)(end - start));
		if (id) {
			memcpy(out, id, TL_CONTAINER_ID_LEN);
			out[TL_CONTAINER_ID_LEN] = '\0';
			return true;
		}
		end = start > path ? start - 1 : path;
	}
	return false;
}

size_t tl_cgname_blob(uint8_t *buf, size_t cap, uint64_t id, const char *path)
{
	size_t n = strnlen(path, TL_CGROUP_PATH_MAX);

	if (cap < 8 + n)
		return 0;
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)(id >> (8 * i));
	memcpy(buf + 8, path, n);
	return 8 + n;
}

bool tl_cgname_unblob(const void *blob, size_t len, uint64_t *id, const char **path,
		      size_t *plen)
{
	const uint8_t *b = blob;

	if (len <= 8)
		return false;
	*id = 0;
	for (int i = 0; i < 8; i++)
		*id |= (uint64_t)b[i] << (8 * i);
	*path = (const char *)b + 8;
	*plen = len - 8;
	return true;
}
