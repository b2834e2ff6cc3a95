/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A tiny unit-test harness: RUN(test) prints "ok NAME" or "not ok NAME",
 * UNIT_END() prints "N passed, N failed" and returns the exit code. */
#ifndef TCPLINGER_UNIT_H
#define TCPLINGER_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int unit_failures, unit_passed, unit_failed;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		unit_failures++; \
	} \
} while (0)

#define CHECK_EQ_U64(a, b) do { \
	uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b); \
	if (a_ != b_) { \
		fprintf(stderr, "  %s:%d: %s == %" PRIu64 ", expected %s == %" PRIu64 "\n", \
			__FILE__, __LINE__, #a, a_, #b, b_); \
		unit_failures++; \
	} \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	if (!a_ || !b_ || strcmp(a_, b_)) { \
		fprintf(stderr, "  %s:%d: %s == \"%s\", expected \"%s\"\n", \
			__FILE__, __LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
		unit_failures++; \
	} \
} while (0)

#define RUN(test) do { \
	int before_ = unit_failures; \
	test(); \
	if (unit_failures == before_) { printf("ok %s\n", #test); unit_passed++; } \
	else { printf("not ok %s\n", #test); unit_failed++; } \
	fflush(stdout); \
} while (0)

/* xorshift64: a repeatable pseudo-random stream from *state (never 0). */
static inline uint64_t xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

#define UNIT_END() (printf("%d passed, %d failed\n", unit_passed, unit_failed), unit_failed ? 1 : 0)

#endif /* TCPLINGER_UNIT_H */
