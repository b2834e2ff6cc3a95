/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A u64 -> u32 hash map (open addressing, Robin Hood linear probing,
 * backward-shift deletion): compact enough for hundreds of thousands of
 * connections, as it may fill four slots in five. */
#ifndef TCPLINGER_IDMAP_H
#define TCPLINGER_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Packed: 12 bytes a slot instead of 16, a quarter of the map's memory. */
struct tl_idmap_slot {
	uint64_t key;
	uint32_t val;	/* value + 1; 0 marks an empty slot */
} __attribute__((packed));

struct tl_idmap {
	struct tl_idmap_slot *slots;
	size_t cap;	/* power of two, or 0 */
	size_t len;
};

void tl_idmap_free(struct tl_idmap *m);
/* Inserts or replaces.  Returns false only when out of memory. */
bool tl_idmap_put(struct tl_idmap *m, uint64_t key, uint32_t val);
bool tl_idmap_del(struct tl_idmap *m, uint64_t key);

/*
 * Keys are random-looking ids, or numbers handed out in order (a replayed
 * log numbers its sockets 1, 2, 3...; record indices).  Each run of 64
 * consecutive keys goes to slots three apart from a place the rest of the
 * key picks at random: keys used together share cache lines, and the run
 * leaves room between its keys for others (a solid run would make long
 * probes).
 */
static inline uint64_t tl_idmap_pos_(uint64_t key)
{
	uint64_t base = ((key >> 6) * 0x9e3779b97f4a7c15ULL) >> 32;

	return key * 3 + base;
}

static inline size_t tl_idmap_slot_(uint64_t key, size_t cap)
{
	return (size_t)tl_idmap_pos_(key) & (cap - 1);
}

/* How far the key in slot i is from its home slot. */
static inline size_t tl_idmap_dist_(const struct tl_idmap *m, size_t i)
{
	return (i - tl_idmap_slot_(m->slots[i].key, m->cap)) & (m->cap - 1);
}

static inline bool tl_idmap_find_(const struct tl_idmap *m, uint64_t key, size_t *pos)
{
	if (!m->cap)
		return false;
	for (size_t i = tl_idmap_slot_(key, m->cap), d = 0; m->slots[i].val;
	     i = (i + 1) & (m->cap - 1), d++) {
		if (m->slots[i].key == key) {
			*pos = i;
			return true;
		}
		/* a key nearer its home than ours would be: ours is not here */
		if (tl_idmap_dist_(m, i) < d)
			return false;
	}
	return false;
}

/* Inline: every event looks its socket up. */
static inline bool tl_idmap_get(const struct tl_idmap *m, uint64_t key, uint32_t *val)
{
	size_t i;

	if (!tl_idmap_find_(m, key, &i))
		return false;
	*val = m->slots[i].val - 1;
	return true;
}

/*
 * The same placement for keys that their items keep themselves (a
 * record's socket ids): a slot holds the item's index and the low 32 bits
 * of the key's position, 8 bytes instead of 12.  A lookup confirms a slot
 * whose position matches by asking the item (holds()), which the caller
 * was about to read anyway; positions of other keys seldom match.
 */
struct tl_idindex_slot {
	uint32_t pos;	/* tl_idmap_pos_(key), low 32 bits: home is pos & (cap - 1) */
	uint32_t val;	/* index + 1; 0 marks an empty slot */
};

struct tl_idindex {
	struct tl_idindex_slot *slots;
	size_t cap;	/* power of two, or 0 */
	size_t len;
};

/* Whether item val holds key (inlined into each lookup). */
typedef bool (*tl_idindex_holds_fn)(const void *ctx, uint32_t val, uint64_t key);

void tl_idindex_free(struct tl_idindex *m);
/* Adds a key that is not in the index yet; false only when out of
 * memory. */
bool tl_idindex_add(struct tl_idindex *m, uint64_t key, uint32_t val);
/* Removes key's entry if it names item val.  Two keys of one item may
 * share a position and so a slot's contents: key is one that item val
 * was added with and has not been removed. */
bool tl_idindex_del(struct tl_idindex *m, uint64_t key, uint32_t val);

static inline size_t tl_idindex_dist_(const struct tl_idindex *m, size_t i)
{
	return (i - m->slots[i].pos) & (m->cap - 1);
}

static inline __attribute__((always_inline)) bool
tl_idindex_get(const struct tl_idindex *m, uint64_t key, tl_idindex_holds_fn holds,
	       const void *ctx, uint32_t *val)
{
	uint32_t pos = (uint32_t)tl_idmap_pos_(key);
	size_t mask = m->cap - 1;

	if (!m->cap)
		return false;
	for (size_t i = pos & mask, d = 0; m->slots[i].val; i = (i + 1) & mask, d++) {
		if (m->slots[i].pos == pos && holds(ctx, m->slots[i].val - 1, key)) {
			*val = m->slots[i].val - 1;
			return true;
		}
		if (tl_idindex_dist_(m, i) < d)
			return false;
	}
	return false;
}

#endif /* TCPLINGER_IDMAP_H */
