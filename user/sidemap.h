/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Items of a fixed size that only a few records need, found by the
 * record's index: the others pay nothing for them. */
#ifndef TCPLINGER_SIDEMAP_H
#define TCPLINGER_SIDEMAP_H

#include <stddef.h>
#include <stdint.h>
#include "idmap.h"
#include "pool.h"

struct tl_sidemap {
	struct tl_idmap ix;	/* record index -> item index */
	struct tl_pool items;
};

void tl_sidemap_init(struct tl_sidemap *s, size_t itemsz);
void tl_sidemap_free(struct tl_sidemap *s);
/* The record's item, or NULL. */
void *tl_sidemap_get(const struct tl_sidemap *s, uint32_t rec);
/* A zeroed item for a record that has none; NULL without memory. */
void *tl_sidemap_add(struct tl_sidemap *s, uint32_t rec);
void tl_sidemap_del(struct tl_sidemap *s, uint32_t rec);
/* Forgets every item; the memory is kept for more. */
void tl_sidemap_clear(struct tl_sidemap *s);

static inline size_t tl_sidemap_len(const struct tl_sidemap *s)
{
	return s->ix.len;
}

#endif /* TCPLINGER_SIDEMAP_H */
