/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Appending text to a fixed buffer without printf: output rows are built
 * piece by piece, and printf parsing a format for every piece took nearly
 * half of a replay's time.  Each appender writes exactly what
 * the printf conversion named beside it would.  A fixed buffer drops what
 * does not fit as snprintf drops it: it keeps the first bytes of the text
 * and always has room left for a terminating NUL.  A growing one
 * (tb_init_grow) moves to the heap instead, so that no record is cut;
 * only when memory runs out does it drop text like a fixed one.
 */
#ifndef TCPLINGER_TEXTBUF_H
#define TCPLINGER_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct tl_textbuf {
	char *buf;
	size_t len;	/* bytes written */
	size_t max;	/* len never passes it: size - 1 */
	bool grow;	/* may move to a larger buffer */
	bool heap;	/* buf is ours to free (tb_release) */
};

/* size >= 1 */
static inline void tb_init(struct tl_textbuf *tb, char *buf, size_t size)
{
	tb->buf = buf;
	tb->len = 0;
	tb->max = size - 1;
	tb->grow = tb->heap = false;
}

/* Starts in buf (size >= 1), moves to the heap when that is full;
 * tb_release() frees what it took. */
static inline void tb_init_grow(struct tl_textbuf *tb, char *buf, size_t size)
{
	tb_init(tb, buf, size);
	tb->grow = true;
}

void tb_release(struct tl_textbuf *tb);

/* n bytes at s, or what fits of them when the buffer cannot grow. */
void tb_mem_cut(struct tl_textbuf *tb, const void *s, size_t n);

static inline void tb_mem(struct tl_textbuf *tb, const void *s, size_t n)
{
	/* Inline, a copy of a constant size (a literal's) is a move or two. */
	if (__builtin_expect(n <= tb->max - tb->len, 1)) {
		memcpy(tb->buf + tb->len, s, n);
		tb->len += n;
	} else {
		tb_mem_cut(tb, s, n);
	}
}

/* "%s" */
static inline void tb_str(struct tl_textbuf *tb, const char *s)
{
	tb_mem(tb, s, strlen(s));
}

/* "%c" */
static inline void tb_chr(struct tl_textbuf *tb, char c)
{
	if (tb->len < tb->max)
		tb->buf[tb->len++] = c;
	else
		tb_mem_cut(tb, &c, 1);
}

/* The text so far, NUL-terminated. */
static inline const char *tb_cstr(struct tl_textbuf *tb)
{
	tb->buf[tb->len] = '\0';
	return tb->buf;
}

/* Widths are printf's: text shorter than a field of width n gets blanks
 * in front up to n characters, in a field of width -n blanks after it
 * ("%-*s"); longer text is never cut. */

/* "%*s", and "%*.*s" of n bytes. */
void tb_str_w(struct tl_textbuf *tb, const char *s, int width);
void tb_mem_w(struct tl_textbuf *tb, const char *s, size_t n, int width);
/* "%" PRIu64, "%*" PRIu64 */
void tb_u64(struct tl_textbuf *tb, uint64_t v);
void tb_u64_w(struct tl_textbuf *tb, uint64_t v, int width);
/* "%" PRId64, "%*" PRId64 */
void tb_i64(struct tl_textbuf *tb, int64_t v);
void tb_i64_w(struct tl_textbuf *tb, int64_t v, int width);
/* "%0*" PRIu64: at least min_digits digits, zeros in front. */
void tb_u64_zero(struct tl_textbuf *tb, uint64_t v, int min_digits);
/* A duration in ns as milliseconds to the microsecond, "1234.567", in a
 * field of width: "%*s" of "%" PRIu64 ".%03" PRIu64. */
void tb_ms(struct tl_textbuf *tb, uint64_t ns, int width);
/* A duration in ns in at most 5 characters, its unit picked for its size,
 * two or three significant digits, rounded: "0.4us" "8.1us" "999us"
 * "1.5ms" "201ms" "1.50s" "60.7s" "9999s" "27.8h" (past 999.5 h, whole
 * hours, wider), in a field of width. */
void tb_dur(struct tl_textbuf *tb, uint64_t ns, int width);
/* Seconds since the epoch (>= 0) as UTC in ISO 8601, strftime's
 * "%Y-%m-%dT%H:%M:%S" under gmtime_r(). */
void tb_utc_seconds(struct tl_textbuf *tb, int64_t sec);
/* An address as inet_ntop() writes it. */
void tb_ipv4(struct tl_textbuf *tb, const uint8_t addr[4]);
void tb_ipv6(struct tl_textbuf *tb, const uint8_t addr[16]);
/* The string at s (at most max bytes, less at a NUL) as a JSON string,
 * quotes included: '"' and '\\' escaped, control characters (C0, DEL and
 * C1) as \u00XX, other valid UTF-8 kept, any other byte read as Latin-1
 * (\u00XX). */
void tb_json_str(struct tl_textbuf *tb, const char *s, size_t max);
/* The string at s (at most max bytes, less at a NUL) made safe for a
 * terminal, for any text a traced process chose (comm, command line,
 * file and symbol names): printable ASCII and UTF-8 from U+00A0 kept,
 * '\\' doubled, every other byte (controls, DEL, C1 controls, invalid
 * UTF-8) as \xNN.  tb_text_str_w pads the result as tb_mem_w does. */
void tb_text_str(struct tl_textbuf *tb, const char *s, size_t max);
void tb_text_str_w(struct tl_textbuf *tb, const char *s, size_t max, int width);
/* Anything else: printf itself, for rows written rarely. */
void tb_printf(struct tl_textbuf *tb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* TCPLINGER_TEXTBUF_H */
