/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Hashing for the cold tables.  The hot ones (intern.h, idmap.h) keep
 * hashes tuned to their keys.
 */
#ifndef TCPLINGER_HASH_H
#define TCPLINGER_HASH_H

#include <stddef.h>
#include <stdint.h>
#include "../bpf/fmix64.h"

/* Bytes of any length (FNV-1a, mixed); seed: keys that come from outside
 * must not be made to collide. */
static inline uint64_t tl_hash_bytes(uint64_t seed, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;

	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ULL;
	}
	return tl_fmix64(h);
}

#endif /* TCPLINGER_HASH_H */
