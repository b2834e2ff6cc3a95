/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Room for more items at the end of a malloc'd array. */
#ifndef TCPLINGER_GROW_H
#define TCPLINGER_GROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Makes *arr (of *cap items of itemsz bytes) hold need items, doubling
 * it from first; false when out of memory, *arr unchanged. */
static inline bool tl_grow_to(void *arr, size_t *cap, size_t need, size_t itemsz, size_t first)
{
	size_t c = *cap ? *cap : first;
	void *a, *na;

	if (need <= *cap)
		return true;
	while (c < need)
		c *= 2;
	memcpy(&a, arr, sizeof(a));	/* arr points at any type's pointer */
	na = realloc(a, c * itemsz);
	if (!na)
		return false;
	memcpy(arr, &na, sizeof(na));
	*cap = c;
	return true;
}

/* The same for n items used and one more to come. */
static inline bool tl_grow(void *arr, size_t *cap, size_t n, size_t itemsz, size_t first)
{
	return tl_grow_to(arr, cap, n + 1, itemsz, first);
}

#endif /* TCPLINGER_GROW_H */
