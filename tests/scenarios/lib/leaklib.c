/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The shared object leak_lib.c loads: it makes the leaked socket depth
 * frames deep inside itself, so that the creation stack runs through a
 * library the tests name and shape (a hostile file name, a
 * .gnu_debuglink to a FIFO).  Built by the test runner:
 *   gcc -shared -fPIC -O1 -fno-omit-frame-pointer leaklib.c
 */
static volatile int sink;

/* Not a tail call: each level keeps its frame on the stack. */
__attribute__((noipa)) int leaklib_descend(int lfd, int depth, int (*accept_fn)(int))
{
	int fd = depth <= 1 ? accept_fn(lfd) : leaklib_descend(lfd, depth - 1, accept_fn);

	sink = fd;
	return sink;
}

__attribute__((noipa)) int leaklib_serve(int lfd, int depth, int (*accept_fn)(int))
{
	int fd = leaklib_descend(lfd, depth, accept_fn);

	sink = fd;
	return sink;
}
