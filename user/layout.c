// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Text widths and word wrapping; see layout.h. */
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "layout.h"
#include "textbuf.h"

int tl_layout_columns_env(void)
{
	const char *s = getenv("COLUMNS");
	char *end;
	long v;

	if (!s || !*s)
		return 0;
	v = strtol(s, &end, 10);
	return *end || v <= 0 || v > TL_COLS_MAX ? 0 : (int)v;
}

int tl_layout_cols(int cols, int fd)
{
	struct winsize ws;

	if (cols > 0)
		return cols;
	if (!isatty(fd))
		return TL_COLS_WIDE;
	cols = tl_layout_columns_env();
	if (cols)
		return cols;
	if (!ioctl(fd, TIOCGWINSZ, &ws) && ws.ws_col)
		return ws.ws_col;
	return TL_COLS_WIDE;
}

/* Columns the n bytes at s take. */
static size_t width_of(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		w += ((unsigned char)s[i] & 0xc0) != 0x80;
	return w;
}

void tl_wrap(struct tl_textbuf *tb, const char *s, size_t n, size_t col, size_t cols,
	     size_t indent)
{
	size_t i = 0;
	bool first = true;

	while (i < n) {
		size_t start = i, word;

		while (i < n && s[i] != ' ')
			i++;
		word = width_of(s + start, i - start);
		if (!first && col + 1 + word > cols) {
			tb_chr(tb, '\n');
			for (size_t k = 0; k < indent; k++)
				tb_chr(tb, ' ');
			col = indent;
		} else if (!first) {
			tb_chr(tb, ' ');
			col++;
		}
		tb_mem(tb, s + start, i - start);
		col += word;
		first = false;
		while (i < n && s[i] == ' ')
			i++;	/* blanks between words become one, or the break */
	}
}
