// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Appending text without printf; see textbuf.h. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "units.h"
#include "textbuf.h"

#define U64_DIGITS 20	/* UINT64_MAX is 18446744073709551615 */

static const uint64_t powers_of_10[U64_DIGITS] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
	10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull,
	100000000000000ull, 1000000000000000ull, 10000000000000000ull,
	100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull,
};

void tb_release(struct tl_textbuf *tb)
{
	if (tb->heap)
		free(tb->buf);
	tb->heap = false;
}

/* Room for n more bytes, if the buffer may grow and memory allows. */
static void reserve(struct tl_textbuf *tb, size_t n)
{
	size_t size = tb->max + 1, want = tb->len + n + 1;
	char *nb;

	if (!tb->grow || n <= tb->max - tb->len || want < n)
		return;
	while (size < want)
		size = size * 2 > size ? size * 2 : want;
	nb = tb->heap ? realloc(tb->buf, size) : malloc(size);
	if (!nb)
		return;
	if (!tb->heap)
		memcpy(nb, tb->buf, tb->len);
	tb->buf = nb;
	tb->max = size - 1;
	tb->heap = true;
}

/* How many of n more bytes fit, after growing if it may. */
static size_t fit(struct tl_textbuf *tb, size_t n)
{
	size_t room;

	reserve(tb, n);
	room = tb->max - tb->len;
	return n < room ? n : room;
}

void tb_mem_cut(struct tl_textbuf *tb, const void *s, size_t n)
{
	n = fit(tb, n);
	memcpy(tb->buf + tb->len, s, n);
	tb->len += n;
}

static void fill(struct tl_textbuf *tb, char c, size_t n)
{
	n = fit(tb, n);
	memset(tb->buf + tb->len, c, n);
	tb->len += n;
}

/* Writes v's digits so that they end at end; returns where they start.
 * Two digits a step: half the divisions. */
static char *digits(char *end, uint64_t v)
{
	static const char pairs[] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";
	char *p = end;

	while (v >= 100) {
		p -= 2;
		memcpy(p, pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, pairs + 2 * v, 2);
	} else {
		*--p = (char)('0' + v);
	}
	return p;
}

void tb_mem_w(struct tl_textbuf *tb, const char *s, size_t n, int width)
{
	size_t w = width < 0 ? -(size_t)width : (size_t)width;
	size_t pad = w > n ? w - n : 0;

	if (width >= 0)
		fill(tb, ' ', pad);
	tb_mem(tb, s, n);
	if (width < 0)
		fill(tb, ' ', pad);
}

void tb_str_w(struct tl_textbuf *tb, const char *s, int width)
{
	tb_mem_w(tb, s, strlen(s), width);
}

static size_t ndigits(uint64_t v)
{
	size_t n = 1;

	while (n < U64_DIGITS && v >= powers_of_10[n])
		n++;
	return n;
}

void tb_u64(struct tl_textbuf *tb, uint64_t v)
{
	char buf[U64_DIGITS], *end = buf + sizeof(buf);
	size_t n = ndigits(v);

	/* Straight into the buffer when it has room, as it mostly has. */
	if (n <= tb->max - tb->len) {
		digits(tb->buf + tb->len + n, v);
		tb->len += n;
	} else {
		tb_mem(tb, digits(end, v), n);
	}
}

void tb_u64_w(struct tl_textbuf *tb, uint64_t v, int width)
{
	char buf[U64_DIGITS], *end = buf + sizeof(buf), *p = digits(end, v);

	tb_mem_w(tb, p, (size_t)(end - p), width);
}

void tb_i64_w(struct tl_textbuf *tb, int64_t v, int width)
{
	char buf[U64_DIGITS + 1], *end = buf + sizeof(buf), *p;

	/* Negating as unsigned holds INT64_MIN too. */
	p = digits(end, v < 0 ? -(uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	tb_mem_w(tb, p, (size_t)(end - p), width);
}

void tb_i64(struct tl_textbuf *tb, int64_t v)
{
	tb_i64_w(tb, v, 0);
}

void tb_u64_zero(struct tl_textbuf *tb, uint64_t v, int min_digits)
{
	char buf[U64_DIGITS], *end = buf + sizeof(buf), *p = digits(end, v);
	size_t n = (size_t)(end - p);

	if (min_digits > 0 && (size_t)min_digits > n)
		fill(tb, '0', (size_t)min_digits - n);
	tb_mem(tb, p, n);
}

void tb_utc_seconds(struct tl_textbuf *tb, int64_t sec)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		memset(&tm, 0, sizeof(tm));
	tb_u64_zero(tb, (uint64_t)tm.tm_year + 1900, 4);
	tb_chr(tb, '-');
	tb_u64_zero(tb, (uint64_t)tm.tm_mon + 1, 2);
	tb_chr(tb, '-');
	tb_u64_zero(tb, (uint64_t)tm.tm_mday, 2);
	tb_chr(tb, 'T');
	tb_u64_zero(tb, (uint64_t)tm.tm_hour, 2);
	tb_chr(tb, ':');
	tb_u64_zero(tb, (uint64_t)tm.tm_min, 2);
	tb_chr(tb, ':');
	tb_u64_zero(tb, (uint64_t)tm.tm_sec, 2);
}

void tb_ms(struct tl_textbuf *tb, uint64_t ns, int width)
{
	char buf[U64_DIGITS + 4], *end = buf + sizeof(buf), *p;
	uint64_t us = ns % NS_PER_MS / NS_PER_US;

	end[-3] = (char)('0' + us / 100);
	end[-2] = (char)('0' + us / 10 % 10);
	end[-1] = (char)('0' + us % 10);
	end[-4] = '.';
	p = digits(end - 4, ns / NS_PER_MS);
	tb_mem_w(tb, p, (size_t)(end - p), width);
}

/* tb_dur's candidate forms, tried in order: the first whose rounded
 * value stays under its limit fits in 5 characters. */
static const struct dur_form {
	uint64_t step;		/* ns per unit of the last digit */
	int decimals;
	uint64_t limit;		/* in steps */
	const char *unit;
} dur_forms[] = {
	{ NS_PER_US / 10, 1, 100, "us" },
	{ NS_PER_US, 0, 1000, "us" },
	{ NS_PER_MS / 10, 1, 100, "ms" },
	{ NS_PER_MS, 0, 1000, "ms" },
	{ NS_PER_SEC / 100, 2, 1000, "s" },
	{ NS_PER_SEC / 10, 1, 1000, "s" },
	{ NS_PER_SEC, 0, 10000, "s" },
	{ 360 * NS_PER_SEC, 1, 1000, "h" },
	{ 3600 * NS_PER_SEC, 0, UINT64_MAX, "h" },
};

void tb_dur(struct tl_textbuf *tb, uint64_t ns, int width)
{
	char buf[U64_DIGITS + 4], *end = buf + sizeof(buf), *p = end;
	const struct dur_form *f = dur_forms;
	uint64_t steps;

	for (;; f++) {
		/* rounded half up, without overflowing ns + step / 2 */
		steps = ns / f->step + (ns % f->step >= f->step - f->step / 2);
		if (steps < f->limit)
			break;
	}
	p -= strlen(f->unit);
	memcpy(p, f->unit, strlen(f->unit));
	for (int i = 0; i < f->decimals; i++) {
		*--p = (char)('0' + steps % 10);
		steps /= 10;
	}
	if (f->decimals)
		*--p = '.';
	p = digits(p, steps);
	tb_mem_w(tb, p, (size_t)(end - p), width);
}

void tb_ipv4(struct tl_textbuf *tb, const uint8_t addr[4])
{
	char buf[sizeof("255.255.255.255")];
	bool direct = tb->max - tb->len >= sizeof(buf) - 1;
	char *start = direct ? tb->buf + tb->len : buf, *p = start;

	for (int i = 0; i < 4; i++) {
		unsigned int b = addr[i];

		if (i)
			*p++ = '.';
		if (b >= 100)
			*p++ = (char)('0' + b / 100);
		if (b >= 10)
			*p++ = (char)('0' + b / 10 % 10);
		*p++ = (char)('0' + b % 10);
	}
	if (direct)
		tb->len += (size_t)(p - start);
	else
		tb_mem(tb, buf, (size_t)(p - buf));
}

/* RFC 5952 as glibc's inet_ntop() has it: the longest run of two or more
 * zero groups (the first of equals) is "::", and an IPv4-compatible or
 * -mapped address ends in dotted decimal. */
void tb_ipv6(struct tl_textbuf *tb, const uint8_t addr[16])
{
	static const char hex[] = "0123456789abcdef";
	unsigned int w[8];
	int best = -1, best_len = 0, run = -1, i;

	for (i = 0; i < 8; i++) {
		w[i] = (unsigned int)addr[2 * i] << 8 | addr[2 * i + 1];
		if (w[i] == 0) {
			if (run < 0)
				run = i;
			if (i - run + 1 > best_len) {
				best = run;
				best_len = i - run + 1;
			}
		} else {
			run = -1;
		}
	}
	if (best_len < 2)
		best = -1;
	for (i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + best_len) {
			if (i == best)
				tb_chr(tb, ':');
			continue;
		}
		if (i)
			tb_chr(tb, ':');
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
			tb_ipv4(tb, addr + 12);
			return;
		}
		/* "%x": no leading zeros */
		for (int shift = 12; shift >= 0; shift -= 4) {
			if (shift == 0 || w[i] >> shift)
				tb_chr(tb, hex[w[i] >> shift & 0xf]);
		}
	}
	if (best >= 0 && best + best_len == 8)
		tb_chr(tb, ':');
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (len > n)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong, surrogate or beyond U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

static void json_byte_escape(struct tl_textbuf *tb, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };

	tb_mem(tb, esc, sizeof(esc));
}

void tb_json_str(struct tl_textbuf *tb, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max), i = 0, k;

	tb_chr(tb, '"');
	while (i < n) {
		unsigned char c = p[i];

		/* Plain ASCII goes out a run at a time. */
		for (k = i; k < n && p[k] >= 0x20 && p[k] < 0x7f && p[k] != '"' && p[k] != '\\'; k++)
			;
		if (k > i) {
			tb_mem(tb, p + i, k - i);
			i = k;
			continue;
		}
		if (c == '"' || c == '\\') {
			tb_chr(tb, '\\');
			tb_chr(tb, (char)c);
			i++;
		} else if (c == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] < 0xa0) {
			json_byte_escape(tb, p[i + 1]);	/* a C1 control, U+0080..U+009F */
			i += 2;
		} else if (c >= 0x80 && (k = utf8_seq(p + i, n - i))) {
			tb_mem(tb, p + i, k);
			i += k;
		} else {
			json_byte_escape(tb, c);
			i++;
		}
	}
	tb_chr(tb, '"');
}

static void hex_byte_escape(struct tl_textbuf *tb, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 0xf] };

	tb_mem(tb, esc, sizeof(esc));
}

void tb_text_str(struct tl_textbuf *tb, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max), i = 0, k;

	while (i < n) {
		for (k = i; k < n && p[k] >= 0x20 && p[k] < 0x7f && p[k] != '\\'; k++)
			;
		if (k > i) {
			tb_mem(tb, p + i, k - i);
			i = k;
			continue;
		}
		/* U+0080..U+009F (C2 80..C2 9F) are C1 controls: a terminal
		 * may take U+009B as a control sequence introducer. */
		if (p[i] >= 0x80 && (k = utf8_seq(p + i, n - i)) && !(p[i] == 0xc2 && p[i + 1] < 0xa0)) {
			tb_mem(tb, p + i, k);
			i += k;
		} else if (p[i] == '\\') {
			tb_mem(tb, "\\\\", 2);
			i++;
		} else {
			hex_byte_escape(tb, p[i++]);
		}
	}
}

void tb_text_str_w(struct tl_textbuf *tb, const char *s, size_t max, int width)
{
	char buf[256];
	struct tl_textbuf t;

	tb_init_grow(&t, buf, sizeof(buf));
	tb_text_str(&t, s, max);
	tb_mem_w(tb, t.buf, t.len, width);
	tb_release(&t);
}

void tb_printf(struct tl_textbuf *tb, const char *fmt, ...)
{
	size_t room = tb->max + 1 - tb->len;	/* with the NUL */
	va_list ap, again;
	int n;

	va_start(ap, fmt);
	va_copy(again, ap);
	n = vsnprintf(tb->buf + tb->len, room, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= room && tb->grow) {
		reserve(tb, (size_t)n);
		room = tb->max + 1 - tb->len;
		n = vsnprintf(tb->buf + tb->len, room, fmt, again);
	}
	va_end(again);
	if (n < 0 || room <= 1)
		return;
	tb->len += (size_t)n < room ? (size_t)n : room - 1;
}
