/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What every test and bench program shares: dying with a clear message,
 * and reporting facts as "key=value" lines for the driver to read. */
#ifndef TCPLINGER_TESTPROG_H
#define TCPLINGER_TESTPROG_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#endif /* TCPLINGER_TESTPROG_H */
