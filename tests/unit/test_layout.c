// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The text width chosen for an output, and prose wrapped to a width. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "unit.h"
#include "layout.h"
#include "textbuf.h"

static char *wrapped(const char *s, size_t col, size_t cols, size_t indent)
{
	static char buf[1024];
	struct tl_textbuf tb;

	tb_init(&tb, buf, sizeof(buf));
	tl_wrap(&tb, s, strlen(s), col, cols, indent);
	return (char *)tb_cstr(&tb);
}

static void test_wrap(void)
{
	CHECK_STR(wrapped("one two three", 0, 80, 4), "one two three");
	/* "one two" is 7 columns: three would end at 13 */
	CHECK_STR(wrapped("one two three", 0, 12, 2), "one two\n  three");
	CHECK_STR(wrapped("one two three", 0, 13, 2), "one two three");
	/* the first line starts at col */
	CHECK_STR(wrapped("one two", 6, 12, 6), "one\n      two");
	/* a word longer than the room stands alone on its line */
	CHECK_STR(wrapped("a verylongword b", 0, 6, 1), "a\n verylongword\n b");
	/* blanks in a row are one */
	CHECK_STR(wrapped("a   b", 0, 80, 0), "a b");
	/* a UTF-8 character is one column: "é" twice is 2 of them */
	CHECK_STR(wrapped("\xc3\xa9\xc3\xa9 ab", 0, 5, 0), "\xc3\xa9\xc3\xa9 ab");
	CHECK_STR(wrapped("\xc3\xa9\xc3\xa9 abc", 0, 5, 0), "\xc3\xa9\xc3\xa9\nabc");
	CHECK_STR(wrapped("", 0, 80, 0), "");
}

/* A terminal (a pty) of a set size, its reading side's fd; -1 when ptys
 * cannot be had. */
static int pty_of_size(unsigned short cols, int *master)
{
	struct winsize ws = { .ws_row = 24, .ws_col = cols };
	int m = posix_openpt(O_RDWR | O_NOCTTY), s;

	if (m < 0 || grantpt(m) || unlockpt(m)) {
		if (m >= 0)
			close(m);
		return -1;
	}
	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	if (s < 0 || ioctl(s, TIOCSWINSZ, &ws)) {
		close(m);
		if (s >= 0)
			close(s);
		return -1;
	}
	*master = m;
	return s;
}

static void test_cols(void)
{
	int p[2], m, s;

	unsetenv("COLUMNS");
	CHECK(pipe(p) == 0);
	/* not a terminal: the wide layout, whatever COLUMNS says */
	CHECK_EQ_U64(tl_layout_cols(0, p[1]), TL_COLS_WIDE);
	setenv("COLUMNS", "80", 1);
	CHECK_EQ_U64(tl_layout_cols(0, p[1]), TL_COLS_WIDE);
	/* --width wins */
	CHECK_EQ_U64(tl_layout_cols(80, p[1]), 80);
	close(p[0]);
	close(p[1]);
	s = pty_of_size(100, &m);
	CHECK(s >= 0);
	if (s < 0)
		return;
	/* a terminal: COLUMNS, when a number, else its size */
	CHECK_EQ_U64(tl_layout_cols(0, s), 80);
	setenv("COLUMNS", "wide", 1);
	CHECK_EQ_U64(tl_layout_cols(0, s), 100);
	unsetenv("COLUMNS");
	CHECK_EQ_U64(tl_layout_cols(0, s), 100);
	CHECK_EQ_U64(tl_layout_cols(132, s), 132);
	CHECK(tl_layout_narrow(100) && tl_layout_narrow(80) && !tl_layout_narrow(120));
	close(s);
	close(m);
}

int main(void)
{
	RUN(test_wrap);
	RUN(test_cols);
	return UNIT_END();
}
