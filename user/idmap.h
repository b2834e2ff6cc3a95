/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A u64 -> u32 hash map (open addressing, linear probing, backward-shift
 * deletion): compact enough for hundreds of thousands of connections. */
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
bool tl_idmap_get(const struct tl_idmap *m, uint64_t key, uint32_t *val);
bool tl_idmap_del(struct tl_idmap *m, uint64_t key);

#endif /* TCPLINGER_IDMAP_H */
