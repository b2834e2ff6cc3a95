// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Symbolized user stacks by reference; see stacks.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "grow.h"
#include "hash.h"
#include "idmap.h"
#include "stacks.h"

#define MAX_FRAMES 64
/* What a reference costs besides its blob: the map's slot, with room. */
#define REF_COST 32
/* What a distinct blob costs in the hash index, as counted since the
 * index was a table of u32s kept at most half full. */
#define INDEX_COST (2 * sizeof(uint32_t))

/* One distinct blob: a log may name the same bytes by many references. */
struct entry {
	struct tl_stack st;
	char *blob;		/* the strings st points into */
	size_t len;
	uint64_t hash;
	uint32_t ref;		/* the first reference that named it */
	uint32_t next;		/* the next entry of the same hash: index + 1, 0 none */
};

struct tl_stacks {
	struct entry *ents;	/* distinct blobs, by index */
	uint32_t nents;
	size_t cap;
	struct tl_idmap refs;	/* reference -> entry index */
	struct tl_idmap by_hash;	/* hash -> newest entry of that hash */
	uint32_t max_ref;	/* the highest reference stored */
	uint64_t seed;		/* blobs come from logs: crafted ones must not collide */
	size_t bytes, limit;	/* memory held and its cap (0: none) */
	uint64_t refused;
	uint32_t max;		/* distinct stacks kept at most (nents) */
	uint64_t dropped;
};

struct tl_stacks *tl_stacks_new(void)
{
	struct tl_stacks *t = calloc(1, sizeof(struct tl_stacks));

	if (t && getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)t;
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
	return t->nents >= t->max;
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
	tl_idmap_free(&t->by_hash);
	tl_idmap_free(&t->refs);
	free(t);
}

void tl_stacks_set_limit(struct tl_stacks *t, size_t bytes)
{
	t->limit = bytes;
}

size_t tl_stacks_bytes(const struct tl_stacks *t)
{
	return t->bytes;
}

uint64_t tl_stacks_refused(const struct tl_stacks *t)
{
	return t->refused;
}

/* Splits the blob into its strings (a frames array of just their number);
 * false if it is not one. */
static bool parse(struct entry *e)
{
	const char **frames;
	char *p, *end = e->blob + e->len;
	int n = 0;

	if (!e->len || end[-1] != '\0')
		return false;
	p = e->blob + strlen(e->blob) + 1;
	for (char *q = p; q < end && n < MAX_FRAMES; q += strlen(q) + 1)
		n++;
	frames = calloc(n ? (size_t)n : 1, sizeof(*frames));
	if (!frames)
		return false;
	e->st.cmdline = e->blob;
	for (int k = 0; k < n; k++) {
		frames[k] = p;
		p += strlen(p) + 1;
	}
	e->st.frames = frames;
	e->st.nframes = n;
	return true;
}

/* Files entry ix under its hash; false without memory. */
static bool index_put(struct tl_stacks *t, uint32_t ix)
{
	struct entry *e = &t->ents[ix];
	uint32_t newest;

	e->next = tl_idmap_get(&t->by_hash, e->hash, &newest) ? newest + 1 : 0;
	return tl_idmap_put(&t->by_hash, e->hash, ix);
}

/* The entry holding these bytes, or -1. */
static int64_t find(const struct tl_stacks *t, const void *blob, size_t len, uint64_t h)
{
	uint32_t ix;

	if (!tl_idmap_get(&t->by_hash, h, &ix))
		return -1;
	for (uint32_t i = ix + 1; i; i = t->ents[i - 1].next) {
		const struct entry *e = &t->ents[i - 1];

		if (e->len == len && !memcmp(e->blob, blob, len))
			return i - 1;
	}
	return -1;
}

/* Whether cost more bytes stay within the limit; counts a refusal if not. */
static bool afford(struct tl_stacks *t, size_t cost)
{
	if (!t->limit || (t->bytes <= t->limit && cost <= t->limit - t->bytes))
		return true;
	t->refused++;
	return false;
}

static int store(struct tl_stacks *t, uint32_t ref, const void *blob, size_t len)
{
	uint64_t h;
	int64_t ix;
	struct entry *e;
	uint32_t cur;

	if (!ref || ref > TL_STACKS_MAX)
		return -EINVAL;
	if (tl_idmap_get(&t->refs, ref, &cur))
		return 0;	/* the first word on a reference stands */
	h = tl_hash_bytes(t->seed, blob, len);
	ix = find(t, blob, len, h);
	if (ix < 0 && tl_stacks_full(t)) {
		t->dropped++;
		return -ENOSPC;
	}
	if (ix < 0) {
		struct entry ne = { .len = len, .hash = h, .ref = ref };
		size_t cost = len + sizeof(ne) + INDEX_COST + REF_COST;

		if (!afford(t, cost))
			return -ENOSPC;
		if (!tl_grow(&t->ents, &t->cap, t->nents, sizeof(*t->ents), 64))
			return -ENOMEM;
		ne.blob = malloc(len ? len : 1);
		if (!ne.blob)
			return -ENOMEM;
		memcpy(ne.blob, blob, len);
		if (!parse(&ne)) {
			free(ne.blob);
			return -EINVAL;
		}
		e = &t->ents[t->nents];
		*e = ne;
		if (!tl_idmap_put(&t->refs, ref, t->nents) || !index_put(t, t->nents)) {
			tl_idmap_del(&t->refs, ref);
			free(ne.blob);
			free((void *)ne.st.frames);
			return -ENOMEM;
		}
		t->nents++;
		t->bytes += cost + (size_t)e->st.nframes * sizeof(*e->st.frames);
	} else {
		/* the same bytes again under another name: only the name */
		if (!afford(t, REF_COST))
			return -ENOSPC;
		if (!tl_idmap_put(&t->refs, ref, (uint32_t)ix))
			return -ENOMEM;
		t->bytes += REF_COST;
	}
	if (ref > t->max_ref)
		t->max_ref = ref;
	return 0;
}

int tl_stacks_add(struct tl_stacks *t, uint32_t ref, const void *blob, size_t len)
{
	return store(t, ref, blob, len);
}

uint32_t tl_stacks_intern(struct tl_stacks *t, const void *blob, size_t len, bool *is_new)
{
	int64_t ix = find(t, blob, len, tl_hash_bytes(t->seed, blob, len));
	uint32_t ref = t->max_ref + 1;

	*is_new = false;
	if (ix >= 0)
		return t->ents[ix].ref;
	if (store(t, ref, blob, len))
		return 0;
	*is_new = true;
	return ref;
}

const struct tl_stack *tl_stacks_get(const struct tl_stacks *t, uint32_t ref)
{
	uint32_t ix;

	if (!t || !ref || !tl_idmap_get(&t->refs, ref, &ix))
		return NULL;
	return &t->ents[ix].st;
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
