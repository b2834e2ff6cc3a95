/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdbool.h>
#include <stdlib.h>
#include "idmap.h"
#include "unit.h"

/* The Robin Hood order: along a probe run, a key is never more than one
 * slot further from home than the key before it; and the map is never
 * fuller than four slots in five. */
static bool well_formed(const struct tl_idmap *m)
{
	size_t n = 0;

	if (m->len * 5 > m->cap * 4)
		return false;
	for (size_t j = 0; j < m->cap; j++) {
		size_t i = (j - 1) & (m->cap - 1);

		if (!m->slots[j].val)
			continue;
		n++;
		if (tl_idmap_dist_(m, j) && (!m->slots[i].val ||
					     tl_idmap_dist_(m, j) > tl_idmap_dist_(m, i) + 1))
			return false;
	}
	return n == m->len;
}

/* Against a plain array as the model, through growth and deletions that
 * must shift probe runs back. */
static void matches_model_through_churn(void)
{
	enum { N = 20000 };
	static uint32_t model[N];	/* value + 1, 0 = absent */
	struct tl_idmap m = { 0 };
	uint64_t seed = 42;

	memset(model, 0, sizeof(model));
	for (int step = 0; step < 200000; step++) {
		uint32_t k, v;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		k = (uint32_t)(seed >> 33) % N;
		/* Keys that collide in the low bits stress the probing. */
		uint64_t key = (uint64_t)k << 20;

		if ((seed >> 20) & 1) {
			CHECK(tl_idmap_put(&m, key, k * 3));
			model[k] = k * 3 + 1;
		} else {
			CHECK(tl_idmap_del(&m, key) == (model[k] != 0));
			model[k] = 0;
		}
		if (step % 997 == 0) {
			size_t len = 0;

			for (uint32_t j = 0; j < N; j++) {
				bool in = tl_idmap_get(&m, (uint64_t)j << 20, &v);

				CHECK(in == (model[j] != 0));
				if (in)
					CHECK_EQ_U64(v, model[j] - 1);
				len += model[j] != 0;
			}
			CHECK_EQ_U64(m.len, len);
			CHECK(well_formed(&m));
		}
	}
	tl_idmap_free(&m);
}

/* Keys numbered in order, as a replayed log has them: runs that come and
 * go, some keys staying long; and absent keys around them. */
static void sequential_keys_stay_found(void)
{
	enum { N = 60000 };
	static uint8_t in[N];
	struct tl_idmap m = { 0 };
	uint64_t seed = 7;
	uint32_t v;

	memset(in, 0, sizeof(in));
	for (uint32_t k = 0; k < N; k++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		CHECK(tl_idmap_put(&m, k, k ^ 0x5555));
		in[k] = 1;
		/* most go soon, one in eight stays */
		if (k >= 100 && (seed >> 40) % 8) {
			uint32_t old = k - 100;

			CHECK(tl_idmap_del(&m, old) == in[old]);
			in[old] = 0;
		}
		if (k % 4999 == 0)
			CHECK(well_formed(&m));
	}
	CHECK(well_formed(&m));
	for (uint32_t k = 0; k < N; k++) {
		bool got = tl_idmap_get(&m, k, &v);

		CHECK(got == (in[k] != 0));
		if (got)
			CHECK_EQ_U64(v, k ^ 0x5555);
	}
	for (uint64_t k = N; k < 4 * N; k++)
		CHECK(!tl_idmap_get(&m, k, &v));
	tl_idmap_free(&m);
}

/* Just below growing, where probe runs are longest. */
static void full_map_finds_and_misses(void)
{
	struct tl_idmap m = { 0 };
	uint64_t seed = 99;
	uint32_t v, n = 0;

	CHECK(tl_idmap_put(&m, 0, 0));
	while ((m.len + 2) * 5 <= m.cap * 4) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		CHECK(tl_idmap_put(&m, seed | 1, n++));
	}
	CHECK(well_formed(&m));
	seed = 99;
	for (uint32_t k = 0; k < n; k++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		CHECK(tl_idmap_get(&m, seed | 1, &v) && v == k);
		CHECK(!tl_idmap_get(&m, seed & ~1ULL, &v) || (seed & ~1ULL) == 0);
	}
	tl_idmap_free(&m);
}

static void empty_map(void)
{
	struct tl_idmap m = { 0 };
	uint32_t v;

	CHECK(!tl_idmap_get(&m, 1, &v));
	CHECK(!tl_idmap_del(&m, 1));
	CHECK(tl_idmap_put(&m, 0, 7));	/* key 0 is a key like any other */
	CHECK(tl_idmap_get(&m, 0, &v) && v == 7);
	tl_idmap_free(&m);
}

int main(void)
{
	RUN(matches_model_through_churn);
	RUN(sequential_keys_stay_found);
	RUN(full_map_finds_and_misses);
	RUN(empty_map);
	return UNIT_END();
}
