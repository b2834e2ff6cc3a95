/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TCPLINGER_UNITS_H
#define TCPLINGER_UNITS_H

#include <stdbool.h>
#include <stdint.h>

#define NS_PER_US	UINT64_C(1000)
#define NS_PER_MS	UINT64_C(1000000)
#define NS_PER_SEC	UINT64_C(1000000000)

/* The most a duration on the command line may be: about 31 years. */
#define TL_DURATION_MAX_NS (UINT64_C(1000000000) * NS_PER_SEC)

/*
 * A duration as the command line gives it: a number, possibly fractional,
 * with an optional unit ms, s, m or h; a bare number is seconds ("0.5",
 * "500ms", "30s", "5m", "1h").  Zero only when zero_ok.  False on anything
 * else (no number, unknown unit, negative, past TL_DURATION_MAX_NS).
 */
bool tl_parse_duration(const char *s, bool zero_ok, uint64_t *ns);

#endif /* TCPLINGER_UNITS_H */
