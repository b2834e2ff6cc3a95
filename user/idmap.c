/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdlib.h>
#include "idmap.h"

/* Full past 4/5: Robin Hood keeps probes short that far. */
static bool full(const struct tl_idmap *m)
{
	return (m->len + 1) * 5 > m->cap * 4;
}

/*
 * Robin Hood insertion and doubling, for both slot kinds.  place() puts
 * cur in (the map has room); for a key SAME() finds already there it sets
 * the value instead.  Returns whether it placed a slot.
 */
#define TL_RH_PLACE(place, map_t, slot_t, HOME, DIST, SAME)			\
static bool place(map_t *m, slot_t cur)						\
{										\
	size_t mask = m->cap - 1, d = 0;					\
	bool displaced = false;							\
										\
	for (size_t i = HOME(cur) & mask;; i = (i + 1) & mask, d++) {		\
		slot_t *s = &m->slots[i];					\
		size_t sd;							\
										\
		if (!s->val) {							\
			*s = cur;						\
			return true;						\
		}								\
		if (!displaced && SAME(s, cur)) {				\
			s->val = cur.val;					\
			return false;						\
		}								\
		/* the key further from home takes the slot, the other one	\
		 * moves on (ours cannot be further on then) */			\
		sd = DIST(m, i);						\
		if (sd < d) {							\
			slot_t t = *s;						\
										\
			*s = cur;						\
			cur = t;						\
			d = sd;							\
			displaced = true;					\
		}								\
	}									\
}										\
										\
static bool place##_grow(map_t *m)						\
{										\
	map_t old = *m;								\
										\
	m->cap = m->cap ? m->cap * 2 : 1024;					\
	m->slots = calloc(m->cap, sizeof(*m->slots));				\
	if (!m->slots) {							\
		*m = old;							\
		return false;							\
	}									\
	for (size_t i = 0; i < old.cap; i++) {					\
		if (old.slots[i].val)						\
			place(m, old.slots[i]);					\
	}									\
	free(old.slots);							\
	return true;								\
}

#define IDMAP_HOME(s) tl_idmap_pos_((s).key)
#define IDMAP_SAME(s, cur) ((s)->key == (cur).key)
TL_RH_PLACE(place, struct tl_idmap, struct tl_idmap_slot, IDMAP_HOME, tl_idmap_dist_, IDMAP_SAME)

/* Positions give homes: growing never reads the items. */
#define INDEX_HOME(s) ((size_t)(s).pos)
#define INDEX_SAME(s, cur) false	/* keys added are new */
TL_RH_PLACE(index_place, struct tl_idindex, struct tl_idindex_slot, INDEX_HOME, tl_idindex_dist_,
	    INDEX_SAME)

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
	if (full(m) && !place_grow(m))
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

/* ---- tl_idindex */

void tl_idindex_free(struct tl_idindex *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->len = 0;
}

bool tl_idindex_add(struct tl_idindex *m, uint64_t key, uint32_t val)
{
	if ((m->len + 1) * 5 > m->cap * 4 && !index_place_grow(m))
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
