// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Histogram accuracy against exact percentiles, and the linger report. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "unit.h"
#include "hist.h"
#include "opensum.h"
#include "summary.h"
#include "textbuf.h"

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)
#define N 20000

/* Big structs live here, not on the stack. */
static struct tl_hist h, h2, h3;
static struct tl_summary rep;
static struct tl_opensum open_sum;
static uint64_t data[N];

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	return xorshift64(&rng_state);
}

static double rng_unit(void)	/* (0, 1] */
{
	return ((rng() >> 11) + 1) * (1.0 / 9007199254740992.0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank on the sorted data; p in tenths of a percent. */
static uint64_t exact_pct(const uint64_t *sorted, size_t n, unsigned int p10)
{
	uint64_t rank = ((uint64_t)p10 * n + 999) / 1000;

	if (rank == 0)
		rank = 1;
	return sorted[rank - 1];
}

static void check_against_exact(uint64_t *v, size_t n)
{
	static const unsigned int p10s[] = {
		0, 1, 10, 50, 100, 250, 500, 750, 900, 950, 990, 999, 1000,
	};
	uint64_t sum = 0;
	size_t i;

	tl_hist_reset(&h);
	for (i = 0; i < n; i++) {
		tl_hist_add(&h, v[i]);
		sum += v[i];
	}
	qsort(v, n, sizeof(v[0]), cmp_u64);
	CHECK_EQ_U64(h.count, n);
	CHECK_EQ_U64(h.sum, sum);
	CHECK_EQ_U64(h.min, v[0]);
	CHECK_EQ_U64(h.max, v[n - 1]);
	CHECK_EQ_U64(tl_hist_percentile(&h, 0), v[0]);
	CHECK_EQ_U64(tl_hist_percentile(&h, 100), v[n - 1]);
	for (i = 0; i < sizeof(p10s) / sizeof(p10s[0]); i++) {
		uint64_t want = exact_pct(v, n, p10s[i]);
		uint64_t got = tl_hist_percentile(&h, p10s[i] / 10.0);
		uint64_t err = got > want ? got - want : want - got;

		/* Same bucket as the true rank, hence < 1/64 off. */
		CHECK_EQ_U64(tl_hist_bucket(got), tl_hist_bucket(want));
		if (err * 64 > want) {
			fprintf(stderr, "  p%.1f: got %" PRIu64 " want %" PRIu64 "\n",
				p10s[i] / 10.0, got, want);
			CHECK(err * 64 <= want);
		}
	}
}

static void test_hist_geometry(void)
{
	uint64_t v;
	unsigned int b;

	CHECK_EQ_U64(tl_hist_bucket(0), 0);
	CHECK_EQ_U64(tl_hist_bucket(63), 63);
	CHECK_EQ_U64(tl_hist_bucket(127), 127);	/* still one value per bucket */
	CHECK_EQ_U64(tl_hist_bucket(128), 128);
	CHECK_EQ_U64(tl_hist_bucket(129), 128);
	CHECK_EQ_U64(tl_hist_bucket(UINT64_MAX), TL_HIST_BUCKETS - 1);
	CHECK_EQ_U64(tl_hist_bucket_hi(TL_HIST_BUCKETS - 1), UINT64_MAX);
	/* Buckets tile the whole range, each at most 1/64 of its values. */
	for (b = 0; b + 1 < TL_HIST_BUCKETS; b++) {
		uint64_t lo = tl_hist_bucket_lo(b), hi = tl_hist_bucket_hi(b);

		if (tl_hist_bucket_lo(b + 1) != hi + 1 || tl_hist_bucket(lo) != b ||
		    tl_hist_bucket(hi) != b || (hi - lo) * 64 > lo) {
			fprintf(stderr, "  bad bucket %u [%" PRIu64 ", %" PRIu64 "]\n",
				b, lo, hi);
			CHECK(0);
			break;
		}
	}
	for (v = 1; v && v < UINT64_MAX / 3; v = v * 3 + 1) {
		b = tl_hist_bucket(v);
		CHECK(tl_hist_bucket_lo(b) <= v && v <= tl_hist_bucket_hi(b));
	}
}

static void test_hist_uniform(void)
{
	size_t i;

	for (i = 0; i < N; i++)
		data[i] = 1 + rng() % SEC;
	check_against_exact(data, N);
}

static void test_hist_exponential(void)
{
	size_t i;

	for (i = 0; i < N; i++)
		data[i] = (uint64_t)(-log(rng_unit()) * 50.0 * MS);
	check_against_exact(data, N);
}

static void test_hist_small_values(void)
{
	size_t i;

	for (i = 0; i < N; i++)
		data[i] = rng() % 300;
	check_against_exact(data, N);
	/* Below 128 every value has its own bucket: exact. */
	CHECK_EQ_U64(tl_hist_percentile(&h, 10), exact_pct(data, N, 100));
}

static void test_hist_single_value(void)
{
	size_t i;

	for (i = 0; i < 1000; i++)
		data[i] = 60 * SEC + 123;
	check_against_exact(data, 1000);
	/* Clamped to [min, max], so every percentile is the value itself. */
	CHECK_EQ_U64(tl_hist_percentile(&h, 50), 60 * SEC + 123);
	CHECK_EQ_U64(tl_hist_percentile(&h, 1), 60 * SEC + 123);
	CHECK_EQ_U64(tl_hist_percentile(&h, 99.9), 60 * SEC + 123);
}

static void test_hist_two_clusters(void)
{
	size_t i;

	/* 70% around 1 ms, 30% around 60 s: p50 must sit in the first,
	 * p90 in the second. */
	for (i = 0; i < N; i++)
		data[i] = i % 10 < 7 ? MS + rng() % (MS / 10) : 60 * SEC + rng() % SEC;
	check_against_exact(data, N);
	CHECK(tl_hist_percentile(&h, 50) < 2 * MS);
	CHECK(tl_hist_percentile(&h, 70) < 2 * MS);
	CHECK(tl_hist_percentile(&h, 71) > 59 * SEC);
	CHECK(tl_hist_percentile(&h, 90) > 59 * SEC);
}

static void test_hist_nearest_rank_small(void)
{
	static const uint64_t v[] = { 10, 20, 30, 40, 50, 60, 70, 80, 90, 100 };
	size_t i;

	tl_hist_reset(&h);
	for (i = 0; i < 10; i++)
		tl_hist_add(&h, v[i]);
	/* Exact buckets below 128: the textbook nearest-rank answers. */
	CHECK_EQ_U64(tl_hist_percentile(&h, 0), 10);
	CHECK_EQ_U64(tl_hist_percentile(&h, 10), 10);
	CHECK_EQ_U64(tl_hist_percentile(&h, 11), 20);
	CHECK_EQ_U64(tl_hist_percentile(&h, 50), 50);
	CHECK_EQ_U64(tl_hist_percentile(&h, 90), 90);
	CHECK_EQ_U64(tl_hist_percentile(&h, 90.1), 100);
	CHECK_EQ_U64(tl_hist_percentile(&h, 100), 100);
	CHECK_EQ_U64(h.sum, 550);
}

static void test_hist_empty(void)
{
	uint64_t out[TL_HIST_LOG2_SLOTS];
	int i, nz = 0;

	tl_hist_reset(&h);
	CHECK_EQ_U64(h.count, 0);
	CHECK_EQ_U64(tl_hist_percentile(&h, 0), 0);
	CHECK_EQ_U64(tl_hist_percentile(&h, 50), 0);
	CHECK_EQ_U64(tl_hist_percentile(&h, 100), 0);
	tl_hist_log2_counts(&h, out);
	for (i = 0; i < TL_HIST_LOG2_SLOTS; i++)
		nz += out[i] != 0;
	CHECK_EQ_U64(nz, 0);
}

static void test_hist_merge(void)
{
	size_t i;

	tl_hist_reset(&h);
	tl_hist_reset(&h2);
	tl_hist_reset(&h3);
	for (i = 0; i < N; i++) {
		uint64_t v = 1000 + rng() % (10 * SEC);

		tl_hist_add(&h, v);
		tl_hist_add(i % 3 ? &h2 : &h3, v);
	}
	tl_hist_merge(&h2, &h3);
	CHECK(!memcmp(&h, &h2, sizeof(h)));

	/* Into an empty one: min must come from src, not the zeroed dst. */
	tl_hist_reset(&h2);
	tl_hist_merge(&h2, &h);
	CHECK(!memcmp(&h, &h2, sizeof(h)));
	CHECK(h2.min >= 1000);

	/* An empty src changes nothing. */
	tl_hist_reset(&h3);
	tl_hist_merge(&h2, &h3);
	CHECK(!memcmp(&h, &h2, sizeof(h)));

	tl_hist_reset(&h2);
	tl_hist_add(&h2, 5);
	tl_hist_reset(&h3);
	tl_hist_add(&h3, 7 * SEC);
	tl_hist_merge(&h2, &h3);
	CHECK_EQ_U64(h2.min, 5);
	CHECK_EQ_U64(h2.max, 7 * SEC);
	CHECK_EQ_U64(h2.count, 2);
	CHECK_EQ_U64(tl_hist_percentile(&h2, 50), 5);
}

static void test_hist_huge(void)
{
	const uint64_t day = 86400 * SEC;
	uint64_t out[TL_HIST_LOG2_SLOTS];

	tl_hist_reset(&h);
	tl_hist_add(&h, 60 * SEC);
	tl_hist_add(&h, 3 * day);
	tl_hist_add(&h, 400 * day);
	tl_hist_add(&h, UINT64_MAX);
	CHECK_EQ_U64(h.min, 60 * SEC);
	CHECK_EQ_U64(h.max, UINT64_MAX);
	CHECK_EQ_U64(tl_hist_percentile(&h, 100), UINT64_MAX);
	CHECK_EQ_U64(tl_hist_percentile(&h, 0), 60 * SEC);
	CHECK_EQ_U64(tl_hist_bucket(tl_hist_percentile(&h, 25)), tl_hist_bucket(60 * SEC));
	CHECK_EQ_U64(tl_hist_bucket(tl_hist_percentile(&h, 50)), tl_hist_bucket(3 * day));
	CHECK_EQ_U64(tl_hist_bucket(tl_hist_percentile(&h, 75)), tl_hist_bucket(400 * day));
	CHECK_EQ_U64(tl_hist_bucket(tl_hist_percentile(&h, 99)), TL_HIST_BUCKETS - 1);
	tl_hist_log2_counts(&h, out);
	CHECK_EQ_U64(out[35], 1);	/* 60 s = 6e10 ns: 2^35 .. 2^36 */
	CHECK_EQ_U64(out[47], 1);	/* 3 days = 2.6e14: 2^47 .. 2^48 */
	CHECK_EQ_U64(out[54], 1);	/* 400 days = 3.5e16: 2^54 .. 2^55 */
	CHECK_EQ_U64(out[63], 1);
}

static void test_hist_log2(void)
{
	static const uint64_t v[] = { 0, 1, 2, 3, 4, 7, 8, 1000, 1023, 1024, 1500 * 1000 };
	uint64_t out[TL_HIST_LOG2_SLOTS], total = 0;
	size_t i;

	tl_hist_reset(&h);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		tl_hist_add(&h, v[i]);
	tl_hist_log2_counts(&h, out);
	CHECK_EQ_U64(out[0], 2);
	CHECK_EQ_U64(out[1], 2);
	CHECK_EQ_U64(out[2], 2);
	CHECK_EQ_U64(out[3], 1);
	CHECK_EQ_U64(out[9], 2);
	CHECK_EQ_U64(out[10], 1);
	CHECK_EQ_U64(out[20], 1);	/* 1.5e6: 2^20 = 1048576 */
	for (i = 0; i < TL_HIST_LOG2_SLOTS; i++)
		total += out[i];
	CHECK_EQ_U64(total, h.count);

	/* In usecs: 0..1023 ns -> 0 us, 1024 ns -> 1 us, 1500 us -> 2^10. */
	tl_hist_log2_counts_unit(&h, 1000, out);
	CHECK_EQ_U64(out[0], 10);
	CHECK_EQ_U64(out[10], 1);
}

/* ---- report ---- */

struct span { int state; uint64_t ns; };

static struct tl_lifecycle mk_lc(const struct span *sp, int n, enum tl_end end,
				 bool complete)
{
	struct tl_lifecycle lc;
	int i;

	memset(&lc, 0, sizeof(lc));
	lc.owner.pid = -1;
	lc.end = end;
	lc.complete = complete;
	lc.start_exact = true;
	for (i = 0; i < n; i++) {
		lc.states[i].state = (uint8_t)sp[i].state;
		lc.states[i].ns = sp[i].ns;
		lc.end_ns += sp[i].ns;
	}
	lc.nstates = n;
	return lc;
}

/* A lifecycle for the report: its path, end and linger times. */
struct lc_case {
	const struct span *sp;
	int n;
	enum tl_end end;
	bool complete;
	uint64_t fin_wait2_ns, close_wait_ns, time_wait_ns;
};

static void add_case(const struct lc_case *c)
{
	struct tl_lifecycle lc = mk_lc(c->sp, c->n, c->end, c->complete);

	lc.fin_wait2_ns = c->fin_wait2_ns;
	lc.close_wait_ns = c->close_wait_ns;
	lc.time_wait_ns = c->time_wait_ns;
	tl_summary_add(&rep, &lc);
}

static void test_report_add(void)
{
	/* Active close, TIME_WAIT ran out. */
	static const struct span active[] = {
		{ TL_TCP_SYN_SENT, 1 * MS }, { TL_TCP_ESTABLISHED, 10 * SEC },
		{ TL_TCP_FIN_WAIT1, 2 * MS }, { TL_TCP_FIN_WAIT2, 5 * MS },
		{ TL_TCP_TIME_WAIT, 60 * SEC }, { TL_STATE_CLOSED, 0 },
	};
	static const struct span passive[] = {
		{ TL_TCP_SYN_RECV, 3 * MS }, { TL_TCP_ESTABLISHED, 20 * SEC },
		{ TL_TCP_CLOSE_WAIT, 7 * SEC }, { TL_TCP_LAST_ACK, 1 * MS },
		{ TL_STATE_CLOSED, 0 },
	};
	static const struct span reset[] = {
		{ TL_TCP_ESTABLISHED, 5 * SEC }, { TL_STATE_CLOSED, 0 },
	};
	static const struct span open_tw[] = {
		{ TL_TCP_ESTABLISHED, 99 * SEC }, { TL_TCP_FIN_WAIT1, 1 * MS },
		{ TL_TCP_FIN_WAIT2, 1 * MS }, { TL_TCP_TIME_WAIT, 30 * SEC },
	};
	/* Orphan whose FIN_WAIT2 timed out in its tw sock. */
	static const struct span orphan[] = {
		{ TL_TCP_ESTABLISHED, 1 * SEC }, { TL_TCP_FIN_WAIT1, 1 * MS },
		{ TL_TCP_FIN_WAIT2, 60 * SEC }, { TL_STATE_CLOSED, 0 },
	};
	static const struct span killed[] = {
		{ TL_TCP_SYN_SENT, 1 * MS }, { TL_TCP_ESTABLISHED, 1 * SEC },
		{ TL_TCP_FIN_WAIT1, 1 * MS }, { TL_TCP_FIN_WAIT2, 1 * MS },
		{ TL_TCP_TIME_WAIT, 2 * SEC }, { TL_STATE_CLOSED, 0 },
	};
	/* TIME_WAIT visited with 0 ns (no bucket): still one sample. */
	static const struct span overflow[] = {
		{ TL_TCP_ESTABLISHED, 2 * SEC }, { TL_TCP_FIN_WAIT1, 1 * MS },
		{ TL_TCP_FIN_WAIT2, 1 * MS }, { TL_TCP_TIME_WAIT, 0 },
		{ TL_STATE_CLOSED, 0 },
	};
	/* Each path with its end and the linger times it sums up to. */
	static const struct lc_case cases[] = {
		{ active, 6, TL_END_TW_EXPIRED, true, 5 * MS, 0, 60 * SEC },
		{ passive, 5, TL_END_CLOSED, true, 0, 7 * SEC, 0 },
		{ reset, 2, TL_END_RESET, true, 0, 0, 0 },
		{ open_tw, 4, TL_END_UNKNOWN, false, 1 * MS, 0, 30 * SEC },
		{ orphan, 4, TL_END_FIN_TIMEOUT, true, 60 * SEC, 0, 0 },
		{ killed, 6, TL_END_TW_KILLED, true, 1 * MS, 0, 2 * SEC },
		{ overflow, 5, TL_END_TW_OVERFLOW, true, 1 * MS, 0, 0 },
	};

	tl_summary_reset(&rep);

	add_case(&cases[0]);
	CHECK_EQ_U64(rep.state[TL_TCP_FIN_WAIT2].count, 1);
	CHECK_EQ_U64(rep.state[TL_TCP_FIN_WAIT2].max, 5 * MS);
	CHECK_EQ_U64(rep.state[TL_TCP_TIME_WAIT].max, 60 * SEC);
	CHECK_EQ_U64(rep.state[TL_TCP_SYN_SENT].sum, 1 * MS);
	CHECK_EQ_U64(rep.state[TL_TCP_ESTABLISHED].sum, 10 * SEC);

	for (size_t k = 1; k < sizeof(cases) / sizeof(cases[0]); k++)
		add_case(&cases[k]);

	CHECK_EQ_U64(rep.lifecycles, 7);
	CHECK_EQ_U64(rep.complete, 6);
	CHECK_EQ_U64(rep.incomplete, 1);
	CHECK_EQ_U64(rep.ends[TL_END_NONE], 0);
	CHECK_EQ_U64(rep.ends[TL_END_CLOSED], 1);
	CHECK_EQ_U64(rep.ends[TL_END_RESET], 1);
	CHECK_EQ_U64(rep.ends[TL_END_TW_EXPIRED], 1);
	CHECK_EQ_U64(rep.ends[TL_END_TW_KILLED], 1);
	CHECK_EQ_U64(rep.ends[TL_END_FIN_TIMEOUT], 1);
	CHECK_EQ_U64(rep.ends[TL_END_TW_OVERFLOW], 1);
	CHECK_EQ_U64(rep.ends[TL_END_UNKNOWN], 1);

	/* The incomplete one (99 s ESTABLISHED, 30 s TIME_WAIT) fed nothing. */
	CHECK_EQ_U64(rep.state[TL_TCP_ESTABLISHED].count, 6);
	CHECK_EQ_U64(rep.state[TL_TCP_ESTABLISHED].max, 20 * SEC);
	CHECK_EQ_U64(rep.state[TL_TCP_ESTABLISHED].sum, 39 * SEC);
	CHECK_EQ_U64(rep.state[TL_TCP_FIN_WAIT2].count, 4);
	CHECK_EQ_U64(rep.state[TL_TCP_FIN_WAIT2].sum, 5 * MS + 60 * SEC + 2 * MS);
	CHECK_EQ_U64(rep.state[TL_TCP_FIN_WAIT2].max, 60 * SEC);
	CHECK_EQ_U64(rep.state[TL_TCP_TIME_WAIT].count, 3);
	CHECK_EQ_U64(rep.state[TL_TCP_TIME_WAIT].min, 0);
	CHECK_EQ_U64(rep.state[TL_TCP_TIME_WAIT].sum, 62 * SEC);
	CHECK_EQ_U64(rep.state[TL_TCP_CLOSE_WAIT].count, 1);
	CHECK_EQ_U64(rep.state[TL_TCP_CLOSE_WAIT].max, 7 * SEC);
	CHECK_EQ_U64(rep.state[TL_TCP_LAST_ACK].count, 1);
	CHECK_EQ_U64(rep.state[TL_TCP_SYN_RECV].count, 1);
	CHECK_EQ_U64(rep.state[TL_TCP_SYN_SENT].count, 2);
	CHECK_EQ_U64(rep.state[TL_TCP_FIN_WAIT1].count, 4);
	CHECK_EQ_U64(rep.state[TL_TCP_CLOSE].count, 0);
	CHECK_EQ_U64(rep.state[TL_TCP_LISTEN].count, 0);

	tl_summary_reset(&rep);
	CHECK_EQ_U64(rep.lifecycles, 0);
	CHECK_EQ_U64(rep.state[TL_TCP_ESTABLISHED].count, 0);
}

static void test_report_headline_once(void)
{
	/* A path that re-enters TIME_WAIT in two slots still is one visit. */
	static const struct span sp[] = {
		{ TL_TCP_ESTABLISHED, SEC }, { TL_TCP_FIN_WAIT1, MS },
		{ TL_TCP_TIME_WAIT, 10 * SEC }, { TL_TCP_TIME_WAIT, 50 * SEC },
		{ TL_STATE_CLOSED, 0 },
	};
	struct tl_lifecycle lc = mk_lc(sp, 5, TL_END_TW_EXPIRED, true);

	lc.time_wait_ns = 60 * SEC;
	tl_summary_reset(&rep);
	tl_summary_add(&rep, &lc);
	CHECK_EQ_U64(rep.state[TL_TCP_TIME_WAIT].count, 1);
	CHECK_EQ_U64(rep.state[TL_TCP_TIME_WAIT].sum, 60 * SEC);
	CHECK_EQ_U64(rep.state[TL_TCP_FIN_WAIT2].count, 0);
}

/* What was written, as a string the caller frees. */
static char *captured(struct tl_textbuf *tb)
{
	char *s = strndup(tb->buf, tb->len);

	tb_release(tb);
	return s;
}

static char *capture_json(uint64_t ts, uint64_t interval, bool final,
			  uint64_t lost, uint64_t evicted)
{
	char small[64];
	struct tl_textbuf tb;

	tb_init_grow(&tb, small, sizeof(small));
	tl_summary_json(&tb, &rep, ts, NULL, interval, final, lost, evicted, NULL);
	return captured(&tb);
}

static char *capture_text(const char *title, uint64_t lost, uint64_t evicted)
{
	char small[64];
	struct tl_textbuf tb;

	tb_init_grow(&tb, small, sizeof(small));
	tl_summary_text(&tb, &rep, title, lost, evicted, NULL);
	return captured(&tb);
}

static void fill_small_report(void)
{
	static const struct span sp[] = {
		{ TL_TCP_ESTABLISHED, 2000 }, { TL_TCP_FIN_WAIT1, 0 },
		{ TL_TCP_FIN_WAIT2, 0 }, { TL_TCP_TIME_WAIT, 60 * SEC },
		{ TL_STATE_CLOSED, 0 },
	};
	static const struct span cw[] = {
		{ TL_TCP_ESTABLISHED, 2000 }, { TL_TCP_CLOSE_WAIT, 1500 * 1000 },
		{ TL_TCP_LAST_ACK, 100 }, { TL_STATE_CLOSED, 0 },
	};
	struct tl_lifecycle lc;

	tl_summary_reset(&rep);
	lc = mk_lc(sp, 5, TL_END_TW_EXPIRED, true);
	lc.time_wait_ns = 60 * SEC;
	tl_summary_add(&rep, &lc);
	lc = mk_lc(cw, 4, TL_END_CLOSED, true);
	lc.close_wait_ns = 1500 * 1000;
	tl_summary_add(&rep, &lc);
	lc = mk_lc(sp, 2, TL_END_UNKNOWN, false);
	tl_summary_add(&rep, &lc);
}

static void test_report_json(void)
{
	char want[4096], *got;
	int n;

	fill_small_report();
	n = snprintf(want, sizeof(want),
		"{\"type\":\"summary\",\"ts_ns\":123456789,\"interval_ns\":1000000000,"
		"\"final\":true,\"lifecycles\":3,\"incomplete\":1,\"lost\":4,\"evicted\":5,"
		"\"ends\":{\"%s\":1,\"%s\":0,\"%s\":1,\"%s\":0,\"%s\":0,\"%s\":0,"
		"\"%s\":0,\"%s\":0,\"%s\":0,\"%s\":1},"
		"\"states\":{"
		"\"FIN_WAIT2\":{\"count\":1,\"p50_ns\":0,\"p90_ns\":0,\"p99_ns\":0,"
		"\"max_ns\":0,\"log2_ns\":[[0,1,1]]},"
		"\"CLOSE_WAIT\":{\"count\":1,\"p50_ns\":1500000,\"p90_ns\":1500000,"
		"\"p99_ns\":1500000,\"max_ns\":1500000,\"log2_ns\":[[1048576,2097151,1]]},"
		"\"TIME_WAIT\":{\"count\":1,\"p50_ns\":60000000000,\"p90_ns\":60000000000,"
		"\"p99_ns\":60000000000,\"max_ns\":60000000000,"
		"\"log2_ns\":[[34359738368,68719476735,1]]},"
		"\"ESTABLISHED\":{\"count\":2,\"p50_ns\":2000,\"p90_ns\":2000,\"p99_ns\":2000,"
		"\"max_ns\":2000,\"log2_ns\":[[1024,2047,2]]},"
		"\"FIN_WAIT1\":{\"count\":1,\"p50_ns\":0,\"p90_ns\":0,\"p99_ns\":0,"
		"\"max_ns\":0,\"log2_ns\":[[0,1,1]]},"
		"\"LAST_ACK\":{\"count\":1,\"p50_ns\":100,\"p90_ns\":100,\"p99_ns\":100,"
		"\"max_ns\":100,\"log2_ns\":[[64,127,1]]}}}\n",
		tl_end_name(TL_END_CLOSED), tl_end_name(TL_END_RESET),
		tl_end_name(TL_END_TW_EXPIRED), tl_end_name(TL_END_TW_KILLED),
		tl_end_name(TL_END_FIN_TIMEOUT), tl_end_name(TL_END_TW_OVERFLOW),
		tl_end_name(TL_END_REFUSED), tl_end_name(TL_END_SYN_TIMEOUT),
		tl_end_name(TL_END_CONNECT_FAILED), tl_end_name(TL_END_UNKNOWN));
	CHECK(n > 0 && (size_t)n < sizeof(want));
	got = capture_json(123456789, SEC, true, 4, 5);
	CHECK_STR(got, want);
	free(got);

	/* Empty: the headline states are there all the same. */
	tl_summary_reset(&rep);
	got = capture_json(1, 2, false, 0, 0);
	CHECK(strstr(got, "\"final\":false,\"lifecycles\":0,\"incomplete\":0,") != NULL);
	CHECK(strstr(got, "\"states\":{\"FIN_WAIT2\":{\"count\":0,\"p50_ns\":0,"
		      "\"p90_ns\":0,\"p99_ns\":0,\"max_ns\":0,\"log2_ns\":[]},"
		      "\"CLOSE_WAIT\":{\"count\":0,") != NULL);
	CHECK(strstr(got, "\"TIME_WAIT\":{\"count\":0,\"p50_ns\":0,\"p90_ns\":0,"
		      "\"p99_ns\":0,\"max_ns\":0,\"log2_ns\":[]}}}\n") != NULL);
	CHECK(strchr(got, '\n') == got + strlen(got) - 1);
	free(got);
}

/* A seeded lifecycle's first span is a lower bound: not a sample. */
static void test_report_inexact_start(void)
{
	static const struct span sp[] = {
		{ TL_TCP_CLOSE_WAIT, 3600 * SEC }, { TL_TCP_LAST_ACK, 1 * MS },
		{ TL_STATE_CLOSED, 0 },
	};
	struct tl_lifecycle lc = mk_lc(sp, 3, TL_END_CLOSED, true);

	lc.start_exact = false;
	lc.close_wait_ns = 3600 * SEC;
	tl_summary_reset(&rep);
	tl_summary_add(&rep, &lc);
	CHECK_EQ_U64(rep.state[TL_TCP_CLOSE_WAIT].count, 0);
	CHECK_EQ_U64(rep.state[TL_TCP_LAST_ACK].count, 1);
	CHECK_EQ_U64(rep.complete, 1);
}

static void test_report_text(void)
{
	static const struct span sp[] = {
		{ TL_TCP_ESTABLISHED, 2 * SEC }, { TL_TCP_FIN_WAIT1, 2 * MS },
		{ TL_TCP_FIN_WAIT2, 3 * MS + 456 * 1000 }, { TL_TCP_TIME_WAIT, 60 * SEC },
		{ TL_STATE_CLOSED, 0 },
	};
	/* CLOSE_WAIT has no sample but, as a headline state, keeps its row. */
	static const char head[] =
		"tcplinger: 1 lifecycles (1 complete, 0 incomplete)\n"
		"STATE           COUNT       P50_ms       P90_ms       P99_ms       MAX_ms\n"
		"FIN_WAIT2           1        3.456        3.456        3.456        3.456\n"
		"CLOSE_WAIT          0            -            -            -            -\n"
		"TIME_WAIT           1    60000.000    60000.000    60000.000    60000.000\n"
		"ESTABLISHED         1     2000.000     2000.000     2000.000     2000.000\n"
		"FIN_WAIT1           1        2.000        2.000        2.000        2.000\n"
		"\nFIN_WAIT2:\n"
		"     usecs               : count    distribution\n"
		"         0 -> 1          : 0        |                                        |\n";
	struct tl_lifecycle lc = mk_lc(sp, 5, TL_END_TW_EXPIRED, true);
	char want[256], *got;

	lc.fin_wait2_ns = 3 * MS + 456 * 1000;
	lc.time_wait_ns = 60 * SEC;
	tl_summary_reset(&rep);
	tl_summary_add(&rep, &lc);
	got = capture_text("tcplinger", 7, 8);
	if (getenv("UNIT_VERBOSE"))
		fputs(got, stderr);
	CHECK(!strncmp(got, head, strlen(head)));
	/* 3456 us: 2^11 .. 2^12 - 1, the last FIN_WAIT2 row. */
	CHECK(strstr(got, "      2048 -> 4095       : 1        |****************************************|\n"
		      "\nTIME_WAIT:\n     msecs               : count    distribution\n") != NULL);
	/* 60000 ms: the last TIME_WAIT row. */
	CHECK(strstr(got, "     32768 -> 65535      : 1        |****************************************|\n\nends:") != NULL);
	/* wrapped at 80 columns */
	snprintf(want, sizeof(want), "\nends: %s=0 %s=0 %s=1 %s=0 %s=0 %s=0\n      %s=0 %s=0 %s=0 %s=0\n"
		 "7 events lost, 8 evicted\n",
		 tl_end_name(TL_END_CLOSED), tl_end_name(TL_END_RESET),
		 tl_end_name(TL_END_TW_EXPIRED), tl_end_name(TL_END_TW_KILLED),
		 tl_end_name(TL_END_FIN_TIMEOUT), tl_end_name(TL_END_TW_OVERFLOW),
		 tl_end_name(TL_END_REFUSED), tl_end_name(TL_END_SYN_TIMEOUT),
		 tl_end_name(TL_END_CONNECT_FAILED), tl_end_name(TL_END_UNKNOWN));
	CHECK(strlen(got) > strlen(want) &&
	      !strcmp(got + strlen(got) - strlen(want), want));
	CHECK(!strstr(got, "CLOSE_WAIT:\n"));	/* no histogram without samples */
	free(got);
}

static void test_report_merge(void)
{
	static struct tl_summary a;

	fill_small_report();
	tl_summary_reset(&a);
	tl_summary_merge(&a, &rep);
	tl_summary_merge(&a, &rep);
	CHECK_EQ_U64(a.lifecycles, 6);
	CHECK_EQ_U64(a.incomplete, 2);
	CHECK_EQ_U64(a.ends[TL_END_TW_EXPIRED], 2);
	CHECK_EQ_U64(a.state[TL_TCP_ESTABLISHED].count, 4);
	CHECK_EQ_U64(a.state[TL_TCP_TIME_WAIT].max, 60 * SEC);
}

/* ---- what is open now ---- */

/* An open lifecycle: path ending in state, age ns in it so far. */
static struct tl_lifecycle open_lc(int state, uint64_t age, int32_t pid, const char *comm,
				   uint16_t lport, uint8_t raddr_last, uint16_t rport)
{
	static const struct span sp[] = {
		{ TL_TCP_ESTABLISHED, 5 * SEC }, { TL_TCP_FIN_WAIT1, MS },
	};
	struct tl_lifecycle lc = mk_lc(sp, 2, TL_END_UNKNOWN, false);

	lc.states[2].state = (uint8_t)state;
	lc.states[2].ns = age;
	lc.nstates = 3;
	lc.owner.pid = pid;
	if (comm)
		snprintf(lc.owner.comm, sizeof(lc.owner.comm), "%s", comm);
	lc.owner.none = pid < 0 && !comm;
	lc.tuple.family = AF_INET;
	lc.tuple.sport = lport;
	lc.tuple.dport = rport;
	lc.tuple.daddr[0] = 10;
	lc.tuple.daddr[3] = raddr_last;
	return lc;
}

/* What tl_opensum_text() or tl_opensum_json() wrote of open_sum. */
static char *capture_open(void (*write)(struct tl_textbuf *, const struct tl_opensum *))
{
	char small[64];
	struct tl_textbuf tb;

	tb_init_grow(&tb, small, sizeof(small));
	write(&tb, &open_sum);
	return captured(&tb);
}

static void test_open_ages(void)
{
	struct tl_lifecycle lc;
	uint64_t i;

	/* nothing open: nothing to rank (and no qsort of NULL) */
	tl_opensum_reset(&open_sum);
	tl_opensum_rank(&open_sum);
	CHECK_EQ_U64(open_sum.sockets, 0);
	CHECK_EQ_U64(open_sum.top[2].n[TL_OPEN_BY_OWNER], 0);
	/* TIME_WAIT ages 1..100 s: p50 50 s, p99 99 s, max 100 s. */
	for (i = 1; i <= 100; i++) {
		lc = open_lc(TL_TCP_TIME_WAIT, i * SEC, -1, NULL, (uint16_t)(40000 + i), 1, 80);
		tl_opensum_add(&open_sum, &lc);
	}
	/* ended (path ends CLOSED): not open, not counted */
	lc = open_lc(TL_STATE_CLOSED, 0, -1, NULL, 1, 1, 80);
	tl_opensum_add(&open_sum, &lc);
	tl_opensum_rank(&open_sum);
	const struct tl_hist *h = &open_sum.state[TL_TCP_TIME_WAIT].age;

	CHECK_EQ_U64(open_sum.sockets, 100);
	CHECK_EQ_U64(h->count, 100);
	CHECK_EQ_U64(h->max, 100 * SEC);
	/* the histogram's bucket of the true rank: under 1/64 off */
	CHECK(tl_hist_bucket(tl_hist_percentile(h, 50)) == tl_hist_bucket(50 * SEC));
	CHECK(tl_hist_bucket(tl_hist_percentile(h, 99)) == tl_hist_bucket(99 * SEC));
	CHECK(!open_sum.state[TL_TCP_TIME_WAIT].lower_bound);
	CHECK(open_sum.samples == NULL);	/* ranking freed them */
	tl_opensum_reset(&open_sum);
}

static void test_open_lower_bound(void)
{
	static const struct span seeded[] = { { TL_TCP_CLOSE_WAIT, 7 * SEC } };
	struct tl_lifecycle lc = mk_lc(seeded, 1, TL_END_UNKNOWN, false);

	tl_opensum_reset(&open_sum);
	lc.seeded = true;
	lc.start_exact = false;
	tl_opensum_add(&open_sum, &lc);
	/* seeded, but it moved since: its entry into TIME_WAIT was seen */
	lc = open_lc(TL_TCP_TIME_WAIT, SEC, -1, NULL, 1, 1, 80);
	lc.seeded = true;
	lc.start_exact = false;
	tl_opensum_add(&open_sum, &lc);
	tl_opensum_rank(&open_sum);
	CHECK(open_sum.state[TL_TCP_CLOSE_WAIT].lower_bound);
	CHECK(!open_sum.state[TL_TCP_TIME_WAIT].lower_bound);
	CHECK_EQ_U64(open_sum.state[TL_TCP_CLOSE_WAIT].age.max, 7 * SEC);
	char *txt = capture_open(tl_opensum_text);

	CHECK(strstr(txt, "CLOSE_WAIT          1     7000.000+     7000.000+     7000.000+\n") != NULL);
	CHECK(strstr(txt, "TIME_WAIT           1     1000.000      1000.000      1000.000\n") != NULL);
	CHECK(strstr(txt, "+ a lower bound") != NULL);
	free(txt);
	tl_opensum_reset(&open_sum);
}

static void test_open_top(void)
{
	struct tl_lifecycle lc;
	int i;

	tl_opensum_reset(&open_sum);
	/* CLOSE_WAIT: pid 7 holds 6 on port 8080, pid 3 holds 2, pids 9..14
	 * one each; peers 10.0.0.1..8 */
	for (i = 0; i < 6; i++) {
		lc = open_lc(TL_TCP_CLOSE_WAIT, SEC, 7, "app", 8080, (uint8_t)(1 + i % 2), 5000);
		tl_opensum_add(&open_sum, &lc);
	}
	for (i = 0; i < 2; i++) {
		lc = open_lc(TL_TCP_CLOSE_WAIT, SEC, 3, "other", 9090, 3, 5000);
		tl_opensum_add(&open_sum, &lc);
	}
	for (i = 9; i <= 14; i++) {
		lc = open_lc(TL_TCP_CLOSE_WAIT, SEC, i, "one", (uint16_t)(1000 + i), (uint8_t)i, 5000);
		tl_opensum_add(&open_sum, &lc);
	}
	/* TIME_WAIT held by no one; ESTABLISHED gets no top list */
	lc = open_lc(TL_TCP_TIME_WAIT, SEC, -1, NULL, 5000, 1, 80);
	tl_opensum_add(&open_sum, &lc);
	lc = open_lc(TL_TCP_ESTABLISHED, SEC, 7, "app", 5000, 1, 80);
	tl_opensum_add(&open_sum, &lc);
	tl_opensum_rank(&open_sum);

	const struct tl_open_top *cw = &open_sum.top[1];	/* CLOSE_WAIT */
	const struct tl_open_top *tw = &open_sum.top[2];

	CHECK_EQ_U64(tl_summary_headline[1], TL_TCP_CLOSE_WAIT);
	CHECK_EQ_U64(cw->n[TL_OPEN_BY_OWNER], TL_OPEN_TOP);
	CHECK_EQ_U64(cw->top[TL_OPEN_BY_OWNER][0].key.owner.pid, 7);
	CHECK_EQ_U64(cw->top[TL_OPEN_BY_OWNER][0].count, 6);
	CHECK_EQ_U64(cw->top[TL_OPEN_BY_OWNER][1].key.owner.pid, 3);
	CHECK_EQ_U64(cw->top[TL_OPEN_BY_OWNER][1].count, 2);
	/* ties of one: the lowest keys, in order */
	for (i = 2; i < TL_OPEN_TOP; i++) {
		CHECK_EQ_U64(cw->top[TL_OPEN_BY_OWNER][i].key.owner.pid, 9 + i - 2);
		CHECK_EQ_U64(cw->top[TL_OPEN_BY_OWNER][i].count, 1);
	}
	CHECK_EQ_U64(cw->top[TL_OPEN_BY_LPORT][0].key.lport, 8080);
	CHECK_EQ_U64(cw->top[TL_OPEN_BY_LPORT][0].count, 6);
	CHECK_EQ_U64(cw->top[TL_OPEN_BY_LPORT][1].key.lport, 9090);
	CHECK_EQ_U64(cw->top[TL_OPEN_BY_LPORT][2].key.lport, 1009);
	/* peers 10.0.0.1 and .2 three each, .3 two */
	CHECK_EQ_U64(cw->top[TL_OPEN_BY_REMOTE][0].key.raddr[3], 1);
	CHECK_EQ_U64(cw->top[TL_OPEN_BY_REMOTE][0].count, 3);
	CHECK_EQ_U64(cw->top[TL_OPEN_BY_REMOTE][1].key.raddr[3], 2);
	CHECK_EQ_U64(cw->top[TL_OPEN_BY_REMOTE][2].count, 2);
	CHECK_EQ_U64(tw->n[TL_OPEN_BY_OWNER], 1);
	CHECK(tw->top[TL_OPEN_BY_OWNER][0].key.owner.none);
	CHECK_EQ_U64(open_sum.top[0].n[TL_OPEN_BY_OWNER], 0);	/* FIN_WAIT2: none */

	char *js = capture_open(tl_opensum_json);

	CHECK(strstr(js, ",\"open\":{\"FIN_WAIT2\":{\"count\":0,\"p50_ns\":0,\"p99_ns\":0,"
		     "\"max_ns\":0,\"lower_bound\":false,\"top\":{\"owners\":[],"
		     "\"local_ports\":[],\"remote\":[]}},") == js);
	CHECK(strstr(js, "\"CLOSE_WAIT\":{\"count\":14,\"p50_ns\":1000000000,"
		     "\"p99_ns\":1000000000,\"max_ns\":1000000000,\"lower_bound\":false,"
		     "\"top\":{\"owners\":[{\"pid\":7,\"comm\":\"app\",\"count\":6},"
		     "{\"pid\":3,\"comm\":\"other\",\"count\":2},") != NULL);
	CHECK(strstr(js, "\"local_ports\":[{\"port\":8080,\"count\":6},{\"port\":9090,\"count\":2},")
	      != NULL);
	CHECK(strstr(js, "\"remote\":[{\"addr\":\"10.0.0.1\",\"port\":5000,\"count\":3},") != NULL);
	CHECK(strstr(js, "\"TIME_WAIT\":{\"count\":1,") != NULL);
	CHECK(strstr(js, "\"owners\":[{\"pid\":null,\"comm\":null,\"ownerless\":true,\"count\":1}]")
	      != NULL);
	/* ESTABLISHED is open too, without a top list */
	CHECK(strstr(js, "\"ESTABLISHED\":{\"count\":1,\"p50_ns\":1000000000,\"p99_ns\":1000000000,"
		     "\"max_ns\":1000000000,\"lower_bound\":false}") != NULL);
	free(js);

	char *txt = capture_open(tl_opensum_text);

	CHECK(strstr(txt, "\nOpen now: 16 sockets\n") == txt);
	CHECK(strstr(txt, "CLOSE_WAIT   by owner    7 app (6), 3 other (2), 9 one (1), 10 one (1),\n"
		     "                         11 one (1)\n") != NULL);
	CHECK(strstr(txt, "CLOSE_WAIT   by lport    8080 (6), 9090 (2), 1009 (1), 1010 (1), 1011 (1)\n")
	      != NULL);
	CHECK(strstr(txt, "TIME_WAIT    by owner    (none) (1)\n") != NULL);
	CHECK(strstr(txt, "FIN_WAIT2    by") == NULL);
	for (char *l = txt; *l; ) {	/* 80 columns */
		char *nl = strchr(l, '\n');

		CHECK(nl && nl - l < 80);
		if (!nl)
			break;
		l = nl + 1;
	}
	free(txt);
	tl_opensum_reset(&open_sum);
}

int main(void)
{
	RUN(test_hist_geometry);
	RUN(test_hist_uniform);
	RUN(test_hist_exponential);
	RUN(test_hist_small_values);
	RUN(test_hist_single_value);
	RUN(test_hist_two_clusters);
	RUN(test_hist_nearest_rank_small);
	RUN(test_hist_empty);
	RUN(test_hist_merge);
	RUN(test_hist_huge);
	RUN(test_hist_log2);
	RUN(test_report_add);
	RUN(test_report_headline_once);
	RUN(test_report_json);
	RUN(test_report_inexact_start);
	RUN(test_report_text);
	RUN(test_report_merge);
	RUN(test_open_ages);
	RUN(test_open_lower_bound);
	RUN(test_open_top);
	return UNIT_END();
}
