/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <string.h>
#include "sidemap.h"

void tl_sidemap_init(struct tl_sidemap *s, size_t itemsz)
{
	memset(&s->ix, 0, sizeof(s->ix));
	tl_pool_init(&s->items, itemsz);
}

void tl_sidemap_free(struct tl_sidemap *s)
{
	tl_idmap_free(&s->ix);
	tl_pool_free(&s->items);
}

void *tl_sidemap_get(const struct tl_sidemap *s, uint32_t rec)
{
	uint32_t k;

	if (!s->ix.len || !tl_idmap_get(&s->ix, rec, &k))
		return NULL;
	return tl_pool_at(&s->items, k);
}

void *tl_sidemap_add(struct tl_sidemap *s, uint32_t rec)
{
	uint32_t k = tl_pool_alloc(&s->items);
	void *item;

	if (k == TL_POOL_NONE)
		return NULL;
	if (!tl_idmap_put(&s->ix, rec, k)) {
		tl_pool_release(&s->items, k);
		return NULL;
	}
	item = tl_pool_at(&s->items, k);
	memset(item, 0, s->items.itemsz);
	return item;
}

void tl_sidemap_del(struct tl_sidemap *s, uint32_t rec)
{
	uint32_t k;

	if (!s->ix.len || !tl_idmap_get(&s->ix, rec, &k))
		return;
	tl_idmap_del(&s->ix, rec);
	tl_pool_release(&s->items, k);
}

void tl_sidemap_clear(struct tl_sidemap *s)
{
	tl_idmap_free(&s->ix);
	tl_pool_reset(&s->items);
}
