/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * How wide text output is laid out.  Tables come in two layouts: one that
 * fits 120 columns (the default, and what a pipe or a file gets, so that
 * scripts see one stable form) and a narrow one that fits 80, for a
 * terminal narrower than 120.  Prose (advice, diagnoses) wraps at 80 in
 * both: lines of text read best that short.
 */
#ifndef TCPLINGER_LAYOUT_H
#define TCPLINGER_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#define TL_COLS_WIDE	120
#define TL_COLS_NARROW	80
#define TL_COLS_PROSE	80
#define TL_COLS_MIN	40	/* --width's bounds */
#define TL_COLS_MAX	10000

struct tl_textbuf;

/* The width to lay out output to fd for: cols when given (> 0); else, on a
 * terminal, $COLUMNS when it is a number, else the terminal's own width;
 * else (a pipe, a file, a terminal of unknown size) TL_COLS_WIDE. */
int tl_layout_cols(int cols, int fd);
/* $COLUMNS if it is a width (a whole number, 1 to TL_COLS_MAX), else 0. */
int tl_layout_columns_env(void);
/* Whether a width gets the narrow layout. */
static inline bool tl_layout_narrow(int cols)
{
	return cols < TL_COLS_WIDE;
}

/* n bytes of text (one paragraph, no newline) appended word-wrapped, the
 * first line starting at column col: no line passes cols unless a single
 * word does; later lines start with indent blanks.  A column is a
 * character (UTF-8 continuation bytes take none). */
void tl_wrap(struct tl_textbuf *tb, const char *s, size_t n, size_t col, size_t cols,
	     size_t indent);

#endif /* TCPLINGER_LAYOUT_H */
