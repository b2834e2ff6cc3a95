/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdlib.h>
#include "idmap.h"

/* Full past 4/5: Robin Hood keeps probes short that far. */
static bool full(const struct tl_idmap *m)
{
	return (m->len + 1) * 5 > m->cap * 4;
}

/* Sets the key's value, placing the key if it is absent (the map has
 * room).  Returns whether it was placed. */
static bool place(struct tl_idmap *m, struct tl_idmap_slot cur)
{
	size_t mask = m->cap - 1, d = 0;
	bool displaced = false;

	for (size_t i = tl_idmap_slot_(cur.key, m->cap);; i = (i + 1) & mask, d++) {
		struct tl_idmap_slot *s = &m->slots[i];
		size_t sd;

		if (!s->val) {
			*s = cur;
			return true;
		}
		if (!displaced && s->key == cur.key) {
			s->val = cur.val;
			return false;
		}
		/* Robin Hood: the key further from home takes the slot, the
		 * other one moves on (ours cannot be further on then). */
		sd = tl_idmap_dist_(m, i);
		if (sd < d) {
			struct tl_idmap_slot t = *s;

			*s = cur;
			cur = t;
			d = sd;
			displaced = true;
		}
	}
}

static bool grow(struct tl_idmap *m)
{
	struct tl_idmap old = *m;

	m->cap = m->cap ? m->cap * 2 : 1024;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		*m = old;
		return false;
	}
	for (size_t i = 0; i < old.cap; i++) {
		if (old.slots[i].val)
			place(m, old.slots[i]);
	}
	free(old.slots);
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
	/* Grows even for a key that is there: rare, and one pass finds or
	 * places. */
	if (full(m) && !grow(m))
		return false;
	m->len += place(m, (struct tl_idmap_slot){ .key = key, .val = val + 1 });
	return true;
}

bool tl_idmap_del(struct tl_idmap *m, uint64_t key)
{
	size_t i, j, mask = m->cap - 1;

	if (!tl_idmap_find_(m, key, &i))
		return false;
	/* Backward-shift: the keys after it that are away from home move one
	 * slot back, so lookups never need tombstones. */
	for (j = (i + 1) & mask; m->slots[j].val && tl_idmap_dist_(m, j); j = (j + 1) & mask) {
		m->slots[i] = m->slots[j];
		i = j;
	}
	m->slots[i].val = 0;
	m->len--;
	return true;
}

/* ---- tl_idindex: the same Robin Hood order, on positions alone */

static void index_place(struct tl_idindex *m, struct tl_idindex_slot cur)
{
	size_t mask = m->cap - 1, d = 0;

	for (size_t i = cur.pos & mask;; i = (i + 1) & mask, d++) {
		struct tl_idindex_slot *s = &m->slots[i];
		size_t sd;

		if (!s->val) {
			*s = cur;
			return;
		}
		sd = tl_idindex_dist_(m, i);
		if (sd < d) {
			struct tl_idindex_slot t = *s;

			*s = cur;
			cur = t;
			d = sd;
		}
	}
}

static bool index_grow(struct tl_idindex *m)
{
	struct tl_idindex old = *m;

	m->cap = m->cap ? m->cap * 2 : 1024;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		*m = old;
		return false;
	}
	/* positions give homes: growing never reads the items */
	for (size_t i = 0; i < old.cap; i++) {
		if (old.slots[i].val)
			index_place(m, old.slots[i]);
	}
	free(old.slots);
	return true;
}

void tl_idindex_free(struct tl_idindex *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->len = 0;
}

bool tl_idindex_add(struct tl_idindex *m, uint64_t key, uint32_t val)
{
	if ((m->len + 1) * 5 > m->cap * 4 && !index_grow(m))
		return false;
	index_place(m, (struct tl_idindex_slot){ .pos = (uint32_t)tl_idmap_pos_(key), .val = val + 1 });
	m->len++;
	return true;
}

bool tl_idindex_del(struct tl_idindex *m, uint64_t key, uint32_t val)
{
	uint32_t pos = (uint32_t)tl_idmap_pos_(key);
	size_t i, j, mask = m->cap - 1, d = 0;

	if (!m->cap)
		return false;
	/* Two keys of one item with one position share a slot's contents:
	 * either slot serves the key that stays. */
	for (i = pos & mask;; i = (i + 1) & mask, d++) {
		if (!m->slots[i].val || tl_idindex_dist_(m, i) < d)
			return false;
		if (m->slots[i].pos == pos && m->slots[i].val == val + 1)
			break;
	}
	for (j = (i + 1) & mask; m->slots[j].val && tl_idindex_dist_(m, j); j = (j + 1) & mask) {
		m->slots[i] = m->slots[j];
		i = j;
	}
	m->slots[i].val = 0;
	m->len--;
	return true;
}
