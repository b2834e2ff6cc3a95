/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What every test and bench program shares: dying with a clear message,
 * reporting facts as "key=value" lines for the driver to read, and socket
 * calls that die on failure. */
#ifndef TCPLINGER_TESTPROG_H
#define TCPLINGER_TESTPROG_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
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

/* A clock's time in ns (CLOCK_BOOTTIME for the tracer's timestamps). */
static __attribute__((unused)) uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts))
		die("clock_gettime");
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A whole number from an option's argument, within lo..hi or fatal. */
static __attribute__((unused)) long parse_long(const char *s, long lo, long hi,
					       const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || !*s || v < lo || v > hi)
		fail("bad %s '%s' (%ld..%ld)", what, s, lo, hi);
	return v;
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

/* write() or read() until all len bytes are through; EINTR retried, an
 * error (a timeout too) or, reading, EOF before the end is fatal. */
static __attribute__((unused)) void transfer_all(int fd, char *p, size_t len, int writing)
{
	while (len > 0) {
		ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die(writing ? "write" : "read");
		}
		if (n == 0 && !writing)
			fail("read: unexpected EOF (%zu bytes missing)", len);
		p += n;
		len -= (size_t)n;
	}
}

static __attribute__((unused)) void write_all(int fd, const void *buf, size_t len)
{
	transfer_all(fd, (char *)buf, len, 1);
}

/* Reads exactly len bytes; EOF or timeout before that is fatal. */
static __attribute__((unused)) void read_exact(int fd, void *buf, size_t len)
{
	transfer_all(fd, buf, len, 0);
}

static __attribute__((unused)) void close_fd(int fd)
{
	if (close(fd))
		die("close");
}

#endif /* TCPLINGER_TESTPROG_H */
