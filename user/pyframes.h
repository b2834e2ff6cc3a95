/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The Python stacks of a running CPython process (3.11, 3.12, 3.13), read
 * from outside as py-spy does: from its memory, without stopping it or
 * running anything in it.  For each thread of each interpreter, its
 * native thread id and its frames innermost first, as "func (file:LINE)"
 * (func is the code's qualified name, file its co_filename).  The process
 * runs on while it is read, so a thread that is busy may read torn; every
 * pointer and size read is distrusted and every walk bounded.
 */
#ifndef TCPLINGER_PYFRAMES_H
#define TCPLINGER_PYFRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TL_PY_MAX_INTERPS	64	/* interpreters walked at most */
#define TL_PY_MAX_THREADS	4096	/* threads reported at most */
#define TL_PY_MAX_FRAMES	256	/* innermost frames kept per thread */
#define TL_PY_MAX_NAME		256	/* characters of a name kept; longer ends "..." */
#define TL_PY_MAX_LINETABLE	(1u << 20)	/* larger location tables: no line */

struct tl_py_thread {
	pid_t tid;		/* native thread id (the kernel's); 0 if not known yet */
	char **frames;		/* "func (file:LINE)", or "func (file)" without a line */
	size_t nframes;
	bool truncated;		/* the chain went on past TL_PY_MAX_FRAMES or broke off */
};

/*
 * Reads the stacks of every Python thread of pid into *out (n threads,
 * free with tl_py_stacks_free).  Returns 0, or a negative errno:
 *   -ESRCH            no such process (or it exited meanwhile)
 *   -EPERM, -EACCES   its memory is not ours to read
 *   -ENOEXEC          not a CPython process (nothing it maps defines _PyRuntime)
 *   -EPROTONOSUPPORT  a CPython this does not read (before 3.11, after 3.13, free-threaded)
 *   -EFAULT           its interpreter state could not be read
 *   -ENOMEM
 * tl_py_strerror() words them for a user.
 */
int tl_py_stacks(pid_t pid, struct tl_py_thread **out, size_t *n);
void tl_py_stacks_free(struct tl_py_thread *threads, size_t n);
const char *tl_py_strerror(int err);
/* The CPython version pid runs (PY_VERSION_HEX, e.g. 0x030b02f0 for
 * 3.11.2): 0, or the errors of tl_py_stacks; *hex is 0 for a CPython
 * before 3.11. */
int tl_py_version(pid_t pid, uint32_t *hex);

struct tl_pyproc;
struct tl_pylayout;
/* The walk alone, over a process already located and a layout already
 * chosen (tests hand it forged interpreter states): 0, -EFAULT when not
 * even the first interpreter is readable, -ENOMEM. */
int tl_py_walk(struct tl_pyproc *p, const struct tl_pylayout *l, struct tl_py_thread **out,
	       size_t *n);

#endif /* TCPLINGER_PYFRAMES_H */
