/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdlib.h>
#include <string.h>
#include "pool.h"

void tl_pool_init(struct tl_pool *p, size_t itemsz)
{
	memset(p, 0, sizeof(*p));
	p->itemsz = itemsz < sizeof(uint32_t) ? sizeof(uint32_t) : itemsz;
	p->free_head = TL_POOL_NONE;
}

void tl_pool_free(struct tl_pool *p)
{
	for (uint32_t k = 0; k < p->nchunks; k++)
		free(p->chunks[k]);
	free(p->chunks);
	tl_pool_init(p, p->itemsz);
}

uint32_t tl_pool_alloc(struct tl_pool *p)
{
	uint32_t i = p->free_head;

	if (i != TL_POOL_NONE) {
		memcpy(&p->free_head, tl_pool_at(p, i), sizeof(p->free_head));
		p->used++;
		return i;
	}
	if (p->hwm == TL_POOL_NONE)
		return TL_POOL_NONE;
	if (p->hwm == (uint64_t)p->nchunks * TL_POOL_CHUNK) {
		uint8_t **nc = realloc(p->chunks, (p->nchunks + 1) * sizeof(*nc));

		if (!nc)
			return TL_POOL_NONE;
		p->chunks = nc;
		/* malloc, not calloc: items are set up by their user, and pages
		 * never reached stay untouched */
		nc[p->nchunks] = malloc(TL_POOL_CHUNK * p->itemsz);
		if (!nc[p->nchunks])
			return TL_POOL_NONE;
		p->nchunks++;
	}
	p->used++;
	return p->hwm++;
}

void tl_pool_release(struct tl_pool *p, uint32_t i)
{
	memcpy(tl_pool_at(p, i), &p->free_head, sizeof(p->free_head));
	p->free_head = i;
	p->used--;
}

void tl_pool_reset(struct tl_pool *p)
{
	p->hwm = p->used = 0;
	p->free_head = TL_POOL_NONE;
}
