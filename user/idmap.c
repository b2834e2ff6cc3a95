/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdlib.h>
#include "idmap.h"

static size_t slot_of(uint64_t key, size_t cap)
{
	/* Keys are already well mixed ids or hashes; one multiply spreads
	 * any that are not. */
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 17) & (cap - 1);
}

static bool grow(struct tl_idmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 1024;
	struct tl_idmap_slot *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return false;
	for (size_t i = 0; i < m->cap; i++) {
		struct tl_idmap_slot *s = &m->slots[i];
		size_t j;

		if (!s->val)
			continue;
		for (j = slot_of(s->key, ncap); ns[j].val; j = (j + 1) & (ncap - 1))
			;
		ns[j] = *s;
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	return true;
}

void tl_idmap_free(struct tl_idmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->len = 0;
}

bool tl_idmap_put(struct tl_idmap *m, uint64_t key, uint32_t val)
{
	size_t i;

	if ((m->len + 1) * 2 > m->cap && !grow(m))
		return false;
	for (i = slot_of(key, m->cap); m->slots[i].val; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].key == key) {
			m->slots[i].val = val + 1;
			return true;
		}
	}
	m->slots[i].key = key;
	m->slots[i].val = val + 1;
	m->len++;
	return true;
}

static bool find(const struct tl_idmap *m, uint64_t key, size_t *pos)
{
	if (!m->cap)
		return false;
	for (size_t i = slot_of(key, m->cap); m->slots[i].val; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].key == key) {
			*pos = i;
			return true;
		}
	}
	return false;
}

bool tl_idmap_get(const struct tl_idmap *m, uint64_t key, uint32_t *val)
{
	size_t i;

	if (!find(m, key, &i))
		return false;
	*val = m->slots[i].val - 1;
	return true;
}

bool tl_idmap_del(struct tl_idmap *m, uint64_t key)
{
	size_t i, j, mask = m->cap - 1;

	if (!find(m, key, &i))
		return false;
	/* Backward-shift: pull later members of the probe run into the hole
	 * so lookups never need tombstones. */
	for (j = (i + 1) & mask; m->slots[j].val; j = (j + 1) & mask) {
		size_t home = slot_of(m->slots[j].key, m->cap);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].val = 0;
	m->len--;
	return true;
}
