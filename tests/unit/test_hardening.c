// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Output from untrusted input: clock offsets from logs made elsewhere. */
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include "unit.h"
#include "output.h"

#define SEC UINT64_C(1000000000)

struct cap {
	char *buf;
	size_t len;
	FILE *f;
	struct tl_output out;
};

static void cap_open(struct cap *c, enum tl_format fmt)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	tl_output_init(&c->out, c->f, fmt, false);
}

/* Returns the text written; free() it. */
static char *cap_close(struct cap *c)
{
	fclose(c->f);
	return c->buf;
}

/* The text time column from any offset and event time: no overflow (the
 * sanitizer build aborts on one), clamped to the ends of the range. */
static void text_time_extreme_offsets(void)
{
	static const int64_t offs[] = { INT64_MAX, INT64_MIN, INT64_MAX - 1, -1, 0 };
	static const uint64_t times[] = { 0, 1, 5 * SEC, INT64_MAX, (uint64_t)INT64_MAX + 1,
					  UINT64_MAX };

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		for (size_t k = 0; k < sizeof(times) / sizeof(times[0]); k++) {
			struct tl_transition t;
			struct cap c;
			char *got, *row;

			memset(&t, 0, sizeof(t));
			t.ts_ns = times[k];
			t.owner.pid = -1;
			t.tuple.family = AF_INET;
			t.old_state = TL_TCP_ESTABLISHED;
			t.new_state = TL_TCP_CLOSE_WAIT;
			cap_open(&c, TL_FMT_TEXT);
			c.out.boot_to_real_ns = offs[i];
			tl_output_transition(&c.out, &t);
			got = cap_close(&c);
			row = strchr(got, '\n') + 1;
			/* HH:MM:SS.mmm and a blank */
			CHECK(strlen(row) > 13 && row[2] == ':' && row[5] == ':' && row[8] == '.' &&
			      row[12] == ' ');
			if (offs[i] == INT64_MIN)	/* at most -1: 1970 */
				CHECK(!strncmp(row, "00:00:00.000 ", 13));
			if (offs[i] == INT64_MAX && times[k])	/* INT64_MAX ns: 2262 */
				CHECK(!strncmp(row, "23:47:16.854 ", 13));
			free(got);
		}
	}
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	RUN(text_time_extreme_offsets);
	return UNIT_END();
}
