/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What every test and bench program shares: dying with a clear message,
 * reporting facts as "key=value" lines for the driver to read, and socket
 * calls that die on failure. */
#ifndef TCPLINGER_TESTPROG_H
#define TCPLINGER_TESTPROG_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Set from argv[0] by main(). */
static const char *prog_name = "tcplinger-test";

__attribute__((format(printf, 1, 2), noreturn, unused))
static void die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "%s: ", prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	fflush(stdout);
	exit(1);
}

/* Like die() but for logic failures where errno means nothing. */
__attribute__((format(printf, 1, 2), noreturn, unused))
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stdout);
	exit(1);
}

/* One "key=value" line, flushed: the runner reads these as they come. */
__attribute__((format(printf, 2, 3), unused))
static void fact(const char *key, const char *fmt, ...)
{
	va_list ap;

	flockfile(stdout);
	printf("%s=", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	funlockfile(stdout);
}

/* Socket calls that die on failure. */
static __attribute__((unused)) void set_int(int fd, int level, int opt,
					    int val, const char *name)
{
	if (setsockopt(fd, level, opt, &val, sizeof(val)))
		die("setsockopt(%s=%d)", name, val);
}

static __attribute__((unused)) void set_timeouts(int fd, int secs)
{
	struct timeval tv = { .tv_sec = secs, .tv_usec = 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		die("setsockopt(SO_RCVTIMEO)");
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		die("setsockopt(SO_SNDTIMEO)");
}

static __attribute__((unused)) void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		p += n;
		len -= (size_t)n;
	}
}

/* Reads exactly len bytes; EOF or timeout before that is fatal. */
static __attribute__((unused)) void read_exact(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (n == 0)
			fail("read: unexpected EOF (%zu bytes missing)", len);
		p += n;
		len -= (size_t)n;
	}
}

static __attribute__((unused)) void close_fd(int fd)
{
	if (close(fd))
		die("close");
}

#endif /* TCPLINGER_TESTPROG_H */
