// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Durations on the command line: units, bare seconds, and what is refused. */
#include <stdbool.h>
#include <stdint.h>
#include "unit.h"
#include "units.h"

static uint64_t dur(const char *s, bool zero_ok)
{
	uint64_t ns = UINT64_C(12345);	/* left alone on refusal */

	return tl_parse_duration(s, zero_ok, &ns) ? ns : UINT64_MAX;
}

static void test_units(void)
{
	CHECK_EQ_U64(dur("500ms", false), 500 * NS_PER_MS);
	CHECK_EQ_U64(dur("30s", false), 30 * NS_PER_SEC);
	CHECK_EQ_U64(dur("5m", false), 300 * NS_PER_SEC);
	CHECK_EQ_U64(dur("1h", false), 3600 * NS_PER_SEC);
	CHECK_EQ_U64(dur("1.5m", false), 90 * NS_PER_SEC);
	CHECK_EQ_U64(dur("0.25s", false), 250 * NS_PER_MS);
	CHECK_EQ_U64(dur("1ms", false), NS_PER_MS);
}

static void test_bare_seconds(void)
{
	CHECK_EQ_U64(dur("10", false), 10 * NS_PER_SEC);
	CHECK_EQ_U64(dur("0.5", false), 500 * NS_PER_MS);
	CHECK_EQ_U64(dur(".5", false), 500 * NS_PER_MS);
	CHECK_EQ_U64(dur("0", true), 0);
	CHECK_EQ_U64(dur("0s", true), 0);
	CHECK_EQ_U64(dur("1000000000", false), TL_DURATION_MAX_NS);
}

static void test_refused(void)
{
	static const char *const bad[] = {
		"", "s", "ms", "-1", "+1", " 1", "1 ", "1 s", "1sec", "1S", "1x", "5mm",
		"1d", "0x10", "inf", "nan", "1e400", "1000000001", "17h00000000",
		"10..5", "1,5",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dur(bad[i], true) != UINT64_MAX) {
			fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
			unit_failures++;
		}
	}
	CHECK_EQ_U64(dur(NULL, true), UINT64_MAX);
	/* zero only where zero makes sense (--min-age, --from) */
	CHECK_EQ_U64(dur("0", false), UINT64_MAX);
	CHECK_EQ_U64(dur("0ms", false), UINT64_MAX);
	CHECK_EQ_U64(dur("0.0000000001", false), UINT64_MAX);
}

int main(void)
{
	RUN(test_units);
	RUN(test_bare_seconds);
	RUN(test_refused);
	return UNIT_END();
}
