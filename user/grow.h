/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Room for one more item at the end of a malloc'd array. */
#ifndef TCPLINGER_GROW_H
#define TCPLINGER_GROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Makes *arr (of *cap items of itemsz bytes, n used) hold n + 1 items,
 * doubling it from first; false when out of memory, *arr unchanged. */
static inline bool tl_grow(void *arr, size_t *cap, size_t n, size_t itemsz, size_t first)
{
	size_t c = *cap ? *cap * 2 : first;
	void *a, *na;

	if (n < *cap)
		return true;
	memcpy(&a, arr, sizeof(a));	/* arr points at any type's pointer */
	na = realloc(a, c * itemsz);
	if (!na)
		return false;
	memcpy(arr, &na, sizeof(na));
	*cap = c;
	return true;
}

#endif /* TCPLINGER_GROW_H */
