/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Interned keys of a fixed size: equal keys share one 32-bit index while
 * anyone holds a reference, so what many connections have in common (an
 * address, an owner) is kept once, and comparing indices compares keys.
 * Lookups are inline and are given the key size again: a constant at each
 * call site, so that hashing and comparing unroll.
 */
#ifndef TCPLINGER_INTERN_H
#define TCPLINGER_INTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "pool.h"

#define TL_INTERN_NONE TL_POOL_NONE
/* Lookups are small once specialized: inline them whatever the heuristics. */
#define TL_INTERN_INLINE static inline __attribute__((always_inline))

struct tl_intern {
	size_t keysz;
	struct tl_pool ents;	/* u32 references, 4 bytes unused, then the key */
	uint64_t *slots;	/* hash << 32 | entry index + 1; 0: empty */
	size_t cap;		/* power of two, or 0 */
	size_t len;		/* keys held */
	uint64_t seed;		/* per table, random: keys come from the network,
				 * and crafted ones must not pile up in one chain */
};

/* keysz: a multiple of 8.  Keys are read as words. */
void tl_intern_init(struct tl_intern *t, size_t keysz);
void tl_intern_free(struct tl_intern *t);
/* Drops a reference; the last one forgets the key. */
void tl_intern_unref(struct tl_intern *t, uint32_t idx);
/* Adds a key that tl_intern_slot_() did not find, at that slot. */
uint32_t tl_intern_add_(struct tl_intern *t, const void *key, uint32_t hash, size_t slot);

static inline const void *tl_intern_key(const struct tl_intern *t, uint32_t idx)
{
	return (const uint8_t *)tl_pool_at(&t->ents, idx) + sizeof(uint64_t);
}

static inline uint32_t *tl_intern_refs_(const struct tl_intern *t, uint32_t idx)
{
	return tl_pool_at(&t->ents, idx);
}

TL_INTERN_INLINE uint32_t tl_intern_hash_(uint64_t seed, const void *key, size_t n)
{
	const uint8_t *b = key;
	uint64_t h = seed ^ n, w;

#pragma GCC unroll 4
	for (size_t i = 0; i < n; i += 8) {
		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	h *= 0xff51afd7ed558ccdULL;
	return (uint32_t)(h >> 32);
}

TL_INTERN_INLINE bool tl_intern_same_(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	uint64_t u, v, diff = 0;

#pragma GCC unroll 4
	for (size_t i = 0; i < n; i += 8) {
		memcpy(&u, x + i, 8);
		memcpy(&v, y + i, 8);
		diff |= u ^ v;
	}
	return !diff;
}

/* The slot holding key, or the empty one where it would go (t->cap > 0).
 * The hash kept in the slot spares a look at entries that cannot match. */
TL_INTERN_INLINE size_t tl_intern_slot_(const struct tl_intern *t, const void *key, size_t keysz,
				     uint32_t h)
{
	size_t i;

	for (i = h & (t->cap - 1); t->slots[i]; i = (i + 1) & (t->cap - 1)) {
		uint64_t s = t->slots[i];

		if (s >> 32 == h && tl_intern_same_(tl_intern_key(t, (uint32_t)s - 1), key, keysz))
			break;
	}
	return i;
}

/* The key's index if held (no reference taken), else TL_INTERN_NONE.
 * keysz is the table's. */
TL_INTERN_INLINE uint32_t tl_intern_find(const struct tl_intern *t, const void *key, size_t keysz)
{
	size_t i;

	if (!t->cap)
		return TL_INTERN_NONE;
	i = tl_intern_slot_(t, key, keysz, tl_intern_hash_(t->seed, key, keysz));
	return t->slots[i] ? (uint32_t)t->slots[i] - 1 : TL_INTERN_NONE;
}

/* The key's index, made if new, with one more reference; TL_INTERN_NONE
 * without memory.  keysz is the table's. */
TL_INTERN_INLINE uint32_t tl_intern_ref(struct tl_intern *t, const void *key, size_t keysz)
{
	uint32_t h = tl_intern_hash_(t->seed, key, keysz), idx;
	size_t i;

	if (t->cap) {
		i = tl_intern_slot_(t, key, keysz, h);
		if (t->slots[i]) {
			idx = (uint32_t)t->slots[i] - 1;
			++*tl_intern_refs_(t, idx);
			return idx;
		}
	} else {
		i = 0;
	}
	return tl_intern_add_(t, key, h, i);
}

static inline uint32_t tl_intern_refs(const struct tl_intern *t, uint32_t idx)
{
	return *tl_intern_refs_(t, idx);
}

#endif /* TCPLINGER_INTERN_H */
