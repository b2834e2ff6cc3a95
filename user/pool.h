/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Fixed-size items named by a 32-bit index, kept in chunks: growing never
 * moves nor copies them, and never needs twice the memory for a moment. */
#ifndef TCPLINGER_POOL_H
#define TCPLINGER_POOL_H

#include <stddef.h>
#include <stdint.h>

#define TL_POOL_NONE UINT32_MAX
#define TL_POOL_CHUNK_SHIFT 12
#define TL_POOL_CHUNK (1u << TL_POOL_CHUNK_SHIFT)

struct tl_pool {
	size_t itemsz;		/* at least 4: a free item holds the next free one */
	uint8_t **chunks;
	uint32_t nchunks;
	uint32_t hwm;		/* items [0, hwm) have been handed out at least once */
	uint32_t free_head;	/* freed items, newest first */
	uint32_t used;		/* items handed out and not released */
};

void tl_pool_init(struct tl_pool *p, size_t itemsz);
void tl_pool_free(struct tl_pool *p);
/* An item, its contents undefined (the most recently freed one first);
 * TL_POOL_NONE without memory or indices. */
uint32_t tl_pool_alloc(struct tl_pool *p);
void tl_pool_release(struct tl_pool *p, uint32_t i);
/* Every item free again; the memory is kept. */
void tl_pool_reset(struct tl_pool *p);

static inline void *tl_pool_at(const struct tl_pool *p, uint32_t i)
{
	return p->chunks[i >> TL_POOL_CHUNK_SHIFT] + (size_t)(i & (TL_POOL_CHUNK - 1)) * p->itemsz;
}

#endif /* TCPLINGER_POOL_H */
