// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Durations on the command line; see units.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "units.h"

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	{ "", NS_PER_SEC }, { "ms", NS_PER_MS }, { "s", NS_PER_SEC },
	{ "m", 60 * NS_PER_SEC }, { "h", 3600 * NS_PER_SEC },
};

bool tl_parse_duration(const char *s, bool zero_ok, uint64_t *ns)
{
	char *end;
	double v, total;

	/* strtod would also take blanks, signs, hex, "inf" and "nan" */
	if (!s || !((*s >= '0' && *s <= '9') || *s == '.'))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || strchr(s, 'x') || strchr(s, 'X'))
		return false;
	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
		if (strcmp(end, duration_units[i].name))
			continue;
		total = v * (double)duration_units[i].ns;
		if (!isfinite(total) || total > (double)TL_DURATION_MAX_NS)
			return false;
		*ns = (uint64_t)total;
		return zero_ok || *ns > 0;
	}
	return false;
}
