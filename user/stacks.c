// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Symbolized user stacks by reference; see stacks.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stacks.h"

#define MAX_FRAMES 64

struct entry {
	struct tl_stack st;
	char *blob;		/* the strings st points into */
	size_t len;
	uint64_t hash;
	bool used;
};

struct tl_stacks {
	struct entry *ents;	/* by reference - 1 */
	uint32_t nents;		/* references in use: 1..nents */
	uint32_t *index;	/* open addressing on hash: ref, 0 = free */
	uint32_t index_cap;
	uint32_t indexed;
	uint32_t kept, max;
	uint64_t dropped;
};

static uint64_t fnv1a(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct tl_stacks *tl_stacks_new(void)
{
	struct tl_stacks *t = calloc(1, sizeof(struct tl_stacks));

	if (t)
		t->max = TL_STACKS_KEEP;
	return t;
}

void tl_stacks_set_max(struct tl_stacks *t, uint32_t max)
{
	t->max = max;
}

bool tl_stacks_full(const struct tl_stacks *t)
{
	return t->kept >= t->max;
}

void tl_stacks_note_drop(struct tl_stacks *t)
{
	t->dropped++;
}

uint64_t tl_stacks_dropped(const struct tl_stacks *t)
{
	return t->dropped;
}

void tl_stacks_report_dropped(uint64_t dropped, uint32_t max)
{
	if (dropped)
		fprintf(stderr, "tcplinger: %llu stacks not kept: --max-stacks %u reached "
			"(their sockets show no stack)\n", (unsigned long long)dropped,
			max ? max : TL_STACKS_KEEP);
}

void tl_stacks_free(struct tl_stacks *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->nents; i++) {
		free(t->ents[i].blob);
		free((void *)t->ents[i].st.frames);
	}
	free(t->ents);
	free(t->index);
	free(t);
}

/* Splits the blob into its strings; false if it is not one. */
static bool parse(struct entry *e)
{
	const char **frames;
	char *p = e->blob, *end = e->blob + e->len;
	int n = 0;

	if (!e->len || end[-1] != '\0')
		return false;
	frames = calloc(MAX_FRAMES, sizeof(*frames));
	if (!frames)
		return false;
	e->st.cmdline = p;
	p += strlen(p) + 1;
	while (p < end && n < MAX_FRAMES) {
		frames[n++] = p;
		p += strlen(p) + 1;
	}
	e->st.frames = frames;
	e->st.nframes = n;
	return true;
}

static int index_put(struct tl_stacks *t, uint32_t ref);

static int index_grow(struct tl_stacks *t)
{
	uint32_t cap = t->index_cap ? t->index_cap * 2 : 256, *old = t->index, oldcap = t->index_cap;

	t->index = calloc(cap, sizeof(*t->index));
	if (!t->index) {
		t->index = old;
		return -ENOMEM;
	}
	t->index_cap = cap;
	t->indexed = 0;
	for (uint32_t i = 0; i < oldcap; i++)
		if (old[i])
			index_put(t, old[i]);
	free(old);
	return 0;
}

static int index_put(struct tl_stacks *t, uint32_t ref)
{
	uint32_t i;

	if ((t->indexed + 1) * 2 > t->index_cap && index_grow(t))
		return -ENOMEM;
	i = (uint32_t)t->ents[ref - 1].hash & (t->index_cap - 1);
	while (t->index[i])
		i = (i + 1) & (t->index_cap - 1);
	t->index[i] = ref;
	t->indexed++;
	return 0;
}

static int store(struct tl_stacks *t, uint32_t ref, const void *blob, size_t len)
{
	struct entry *e;

	if (!ref || ref > TL_STACKS_MAX)
		return -EINVAL;
	if (ref <= t->nents && t->ents[ref - 1].used)
		return 0;	/* the first word on a reference stands */
	if (tl_stacks_full(t)) {
		t->dropped++;
		return -ENOSPC;
	}
	if (ref > t->nents) {
		struct entry *ne = realloc(t->ents, (size_t)ref * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		memset(ne + t->nents, 0, (size_t)(ref - t->nents) * sizeof(*ne));
		t->ents = ne;
		t->nents = ref;
	}
	e = &t->ents[ref - 1];
	e->blob = malloc(len ? len : 1);
	if (!e->blob)
		return -ENOMEM;
	memcpy(e->blob, blob, len);
	e->len = len;
	if (!parse(e)) {
		free(e->blob);
		e->blob = NULL;
		return -EINVAL;
	}
	e->hash = fnv1a(blob, len);
	e->used = true;
	t->kept++;
	return index_put(t, ref);
}

int tl_stacks_add(struct tl_stacks *t, uint32_t ref, const void *blob, size_t len)
{
	return store(t, ref, blob, len);
}

uint32_t tl_stacks_intern(struct tl_stacks *t, const void *blob, size_t len, bool *is_new)
{
	uint64_t h = fnv1a(blob, len);
	uint32_t ref;

	*is_new = false;
	for (uint32_t i = t->index_cap ? (uint32_t)h & (t->index_cap - 1) : 0;
	     t->index_cap && t->index[i]; i = (i + 1) & (t->index_cap - 1)) {
		const struct entry *e = &t->ents[t->index[i] - 1];

		if (e->hash == h && e->len == len && !memcmp(e->blob, blob, len))
			return t->index[i];
	}
	ref = t->nents + 1;
	if (store(t, ref, blob, len))
		return 0;
	*is_new = true;
	return ref;
}

const struct tl_stack *tl_stacks_get(const struct tl_stacks *t, uint32_t ref)
{
	if (!t || !ref || ref > t->nents || !t->ents[ref - 1].used)
		return NULL;
	return &t->ents[ref - 1].st;
}

size_t tl_stack_blob(char *buf, size_t cap, const char *cmdline, char *const *frames, int n)
{
	size_t len = 0, k;

	if (!cap)
		return 0;
	k = strnlen(cmdline ? cmdline : "", cap - 1);
	memcpy(buf, cmdline ? cmdline : "", k);
	buf[k] = '\0';
	len = k + 1;
	for (int i = 0; i < n && i < MAX_FRAMES; i++) {
		k = strlen(frames[i]);
		if (len + k + 1 > cap)
			break;
		memcpy(buf + len, frames[i], k + 1);
		len += k + 1;
	}
	return len;
}
