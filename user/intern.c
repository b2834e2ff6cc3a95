/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include "intern.h"

void tl_intern_init(struct tl_intern *t, size_t keysz)
{
	memset(t, 0, sizeof(*t));
	t->keysz = keysz;
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)t;
	tl_pool_init(&t->ents, sizeof(uint64_t) + keysz);
}

void tl_intern_free(struct tl_intern *t)
{
	tl_pool_free(&t->ents);
	free(t->slots);
	tl_intern_init(t, t->keysz);
}

static size_t home(uint64_t slot, size_t cap)
{
	return (size_t)(slot >> 32) & (cap - 1);
}

static bool grow(struct tl_intern *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 64;
	uint64_t *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return false;
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->slots[i])
			continue;
		for (j = home(t->slots[i], ncap); ns[j]; j = (j + 1) & (ncap - 1))
			;
		ns[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
	return true;
}

uint32_t tl_intern_add_(struct tl_intern *t, const void *key, uint32_t hash, size_t slot)
{
	uint32_t idx;

	if ((t->len + 1) * 2 > t->cap) {
		if (!grow(t))
			return TL_INTERN_NONE;
		slot = tl_intern_slot_(t, key, t->keysz, hash);
	}
	idx = tl_pool_alloc(&t->ents);
	if (idx == TL_INTERN_NONE)
		return TL_INTERN_NONE;
	*tl_intern_refs_(t, idx) = 1;
	memcpy((uint8_t *)tl_pool_at(&t->ents, idx) + sizeof(uint64_t), key, t->keysz);
	t->slots[slot] = (uint64_t)hash << 32 | (idx + 1);
	t->len++;
	return idx;
}

void tl_intern_unref(struct tl_intern *t, uint32_t idx)
{
	size_t i, j, mask = t->cap - 1;
	const void *key;

	if (--*tl_intern_refs_(t, idx))
		return;
	key = tl_intern_key(t, idx);
	i = tl_intern_slot_(t, key, t->keysz, tl_intern_hash_(t->seed, key, t->keysz));
	/* Backward-shift: pull later members of the probe run into the hole
	 * so lookups never need tombstones. */
	for (j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
		size_t hj = home(t->slots[j], t->cap);

		if (((j - hj) & mask) >= ((j - i) & mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i] = 0;
	t->len--;
	tl_pool_release(&t->ents, idx);
}
