/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* LEB128 varints, zigzag and little-endian helpers for the log codec. */
#ifndef TCPLINGER_VARINT_H
#define TCPLINGER_VARINT_H

#include <stdint.h>
#include <string.h>

#define TL_VARINT_MAX 10	/* bytes a u64 can take */

/* p must have room for TL_VARINT_MAX bytes; returns the new end. */
static inline uint8_t *tl_put_uvarint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/*
 * Reads at most TL_VARINT_MAX bytes whatever the input, so a caller with
 * that much readable slack past its data checks for overrun once per
 * record instead of once per byte.
 */
static inline uint64_t tl_get_uvarint(const uint8_t **pp)
{
	const uint8_t *p = *pp;
	uint64_t v = *p++;

	if (v >= 0x80) {
		v &= 0x7f;
		for (unsigned int shift = 7; shift < 64; shift += 7) {
			uint64_t b = *p++;

			v |= (b & 0x7f) << shift;
			if (b < 0x80)
				break;
		}
	}
	*pp = p;
	return v;
}

/* Small magnitudes of either sign become small unsigned numbers. */
static inline uint64_t tl_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t tl_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline void tl_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void tl_put32(uint8_t *p, uint32_t v)
{
	tl_put16(p, (uint16_t)v);
	tl_put16(p + 2, (uint16_t)(v >> 16));
}

static inline void tl_put64(uint8_t *p, uint64_t v)
{
	tl_put32(p, (uint32_t)v);
	tl_put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t tl_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t tl_get32(const uint8_t *p)
{
	return tl_get16(p) | (uint32_t)tl_get16(p + 2) << 16;
}

static inline uint64_t tl_get64(const uint8_t *p)
{
	return tl_get32(p) | (uint64_t)tl_get32(p + 4) << 32;
}

#endif /* TCPLINGER_VARINT_H */
