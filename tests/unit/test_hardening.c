// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Output from untrusted input: process names in CSV, clock offsets from
 * logs made elsewhere. */
#include <arpa/inet.h>
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

static struct tl_lifecycle mk_lifecycle(const char *comm)
{
	struct tl_lifecycle lc;

	memset(&lc, 0, sizeof(lc));
	lc.conn = 1;
	lc.tuple.family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", lc.tuple.saddr);
	inet_pton(AF_INET, "127.0.0.1", lc.tuple.daddr);
	lc.tuple.sport = 1000;
	lc.tuple.dport = 2000;
	lc.owner.pid = 7;
	memcpy(lc.owner.comm, comm, strnlen(comm, TL_COMM_LEN));
	lc.states[0].state = TL_TCP_ESTABLISHED;
	lc.nstates = 1;
	return lc;
}

/* The comm cell of the (only) row. */
static char *csv_comm(const char *comm)
{
	static char cell[64];
	struct tl_lifecycle lc = mk_lifecycle(comm);
	struct cap c;
	char *got, *row, *p, *end;

	cap_open(&c, TL_FMT_CSV);
	tl_output_lifecycle(&c.out, &lc);
	got = cap_close(&c);
	row = strchr(got, '\n') + 1;
	p = strstr(row, ",7,") + 3;
	end = strstr(p, ",0,0,0,");	/* start_ns, end_ns, duration_ns... */
	snprintf(cell, sizeof(cell), "%.*s", end ? (int)(end - p) : 0, p);
	CHECK(strchr(row, '\n') == row + strlen(row) - 1);	/* one line */
	free(got);
	return cell;
}

static void csv_formula_cells_neutralized(void)
{
	CHECK_STR(csv_comm("=cmd|'/c calc'"), "\"'=cmd|'/c calc'\"");
	CHECK_STR(csv_comm("+1+1"), "\"'+1+1\"");
	CHECK_STR(csv_comm("-2+3"), "\"'-2+3\"");
	CHECK_STR(csv_comm("@SUM(A1)"), "\"'@SUM(A1)\"");
	CHECK_STR(csv_comm("=a\"b,c"), "\"'=a\"\"b,c\"");
	/* Only the first character matters; plain names stay bare. */
	CHECK_STR(csv_comm("nginx=1"), "nginx=1");
	CHECK_STR(csv_comm("kworker/0:1-ev"), "kworker/0:1-ev");
	CHECK_STR(csv_comm("a,b"), "\"a,b\"");
}

static void csv_control_bytes_replaced(void)
{
	CHECK_STR(csv_comm("a\nb\rc\td\x1b[31m"), "a?b?c?d?[31m");
	CHECK_STR(csv_comm("\x7f" "del"), "?del");
	/* A tab or CR first is no formula once replaced. */
	CHECK_STR(csv_comm("\t=x"), "?=x");
	CHECK_STR(csv_comm("\x01,\x02"), "\"?,?\"");
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
	RUN(csv_formula_cells_neutralized);
	RUN(csv_control_bytes_replaced);
	RUN(text_time_extreme_offsets);
	return UNIT_END();
}
