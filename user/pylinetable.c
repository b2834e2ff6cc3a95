// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>
#include "pylinetable.h"

/* The kinds of entry (CPython's _PyCodeLocationInfoKind). */
enum {
	LOC_ONE_LINE0 = 10,	/* 10..12: the line moves by kind - 10 */
	LOC_ONE_LINE2 = 12,
	LOC_NO_COLUMNS = 13,
	LOC_LONG = 14,
	LOC_NONE = 15,
};

#define LINE_MAX_SANE	(1 << 30)

struct cursor {
	const uint8_t *p, *end;
	bool bad;
};

/* An unsigned varint: 6-bit chunks, least significant first, bit 6 set on
 * every chunk but the last; bytes with bit 7 set start the next entry. */
static uint32_t varint(struct cursor *c)
{
	uint32_t v = 0;

	for (unsigned int shift = 0; ; shift += 6) {
		if (c->p == c->end || (*c->p & 0x80) || shift > 30) {
			c->bad = true;
			return 0;
		}
		v |= (uint32_t)(*c->p & 0x3f) << shift;
		if (!(*c->p++ & 0x40))
			return v;
	}
}

/* A signed varint: the magnitude shifted left once, the sign in bit 0. */
static int64_t svarint(struct cursor *c)
{
	uint32_t u = varint(c);

	return u & 1 ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
}

static void skip(struct cursor *c, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		c->bad = true;
	else
		c->p += n;
}

int tl_py_line(const uint8_t *tab, size_t len, int firstlineno, int64_t unit)
{
	struct cursor c = { .p = tab, .end = tab + len };
	int64_t line = firstlineno, addr = 0;

	if (unit < 0)
		return firstlineno;
	while (tab && c.p < c.end) {
		uint8_t first = *c.p++;
		int kind = (first >> 3) & 15;
		bool none = false;

		if (!(first & 0x80))
			return 0;	/* an entry must start with bit 7 set */
		if (kind == LOC_NONE) {
			none = true;
		} else if (kind == LOC_LONG) {
			line += svarint(&c);
			varint(&c);	/* end line, start and end columns */
			varint(&c);
			varint(&c);
		} else if (kind == LOC_NO_COLUMNS) {
			line += svarint(&c);
		} else if (kind >= LOC_ONE_LINE0 && kind <= LOC_ONE_LINE2) {
			line += kind - LOC_ONE_LINE0;
			skip(&c, 2);	/* start and end columns */
		} else {
			skip(&c, 1);	/* short form: the columns */
		}
		if (c.bad || line < -LINE_MAX_SANE || line > LINE_MAX_SANE)
			return 0;
		addr += (first & 7) + 1;
		if (unit < addr)
			return none || line < 1 ? 0 : (int)line;
	}
	return 0;
}
