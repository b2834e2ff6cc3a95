/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdbool.h>
#include <stdlib.h>
#include "idmap.h"
#include "unit.h"

/* The Robin Hood order: along a probe run, a key is never more than one
 * slot further from home than the key before it; and the map is never
 * fuller than four slots in five.  For either map kind. */
static bool rh_well_formed(const void *m, size_t cap, size_t len,
			   bool (*used)(const void *m, size_t i),
			   size_t (*dist)(const void *m, size_t i))
{
	size_t n = 0;

	if (len * 5 > cap * 4)
		return false;
	for (size_t j = 0; j < cap; j++) {
		size_t i = (j - 1) & (cap - 1);

		if (!used(m, j))
			continue;
		n++;
		if (dist(m, j) && (!used(m, i) || dist(m, j) > dist(m, i) + 1))
			return false;
	}
	return n == len;
}

static bool map_used(const void *m, size_t i)
{
	return ((const struct tl_idmap *)m)->slots[i].val;
}

static size_t map_dist(const void *m, size_t i)
{
	return tl_idmap_dist_(m, i);
}

static bool well_formed(const struct tl_idmap *m)
{
	return rh_well_formed(m, m->cap, m->len, map_used, map_dist);
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

/* ---- tl_idindex: items keep their keys */

static uint64_t item_key[2][30000];	/* an item's two keys; 0: none */

static bool item_holds(const void *ctx, uint32_t val, uint64_t key)
{
	(void)ctx;
	return item_key[0][val] == key || item_key[1][val] == key;
}

static bool index_used(const void *m, size_t i)
{
	return ((const struct tl_idindex *)m)->slots[i].val;
}

static size_t index_dist(const void *m, size_t i)
{
	return tl_idindex_dist_(m, i);
}

static bool index_well_formed(const struct tl_idindex *m)
{
	return rh_well_formed(m, m->cap, m->len, index_used, index_dist);
}

/* Items that gain and drop keys (random ones and numbers in order, one or
 * two each), against the items themselves as the model. */
static void index_matches_items_through_churn(void)
{
	enum { N = 30000 };
	struct tl_idindex m = { 0 };
	uint64_t seed = 5, next = 1;
	uint32_t v;

	memset(item_key, 0, sizeof(item_key));
	for (int step = 0; step < 300000; step++) {
		uint32_t it, w;
		uint64_t *k;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		it = (uint32_t)(seed >> 33) % N;
		w = (seed >> 20) & 1;
		k = &item_key[w][it];
		if (*k) {
			CHECK(tl_idindex_del(&m, *k, it));
			*k = 0;
		} else {
			*k = (seed >> 21) & 1 ? next++ : seed | 1;
			CHECK(tl_idindex_add(&m, *k, it));
		}
		if (step % 4999 == 0) {
			size_t len = 0;

			for (uint32_t j = 0; j < N; j++) {
				for (int x = 0; x < 2; x++) {
					if (!item_key[x][j])
						continue;
					len++;
					CHECK(tl_idindex_get(&m, item_key[x][j], item_holds, NULL, &v) &&
					      v == j);
				}
			}
			CHECK_EQ_U64(m.len, len);
			CHECK(index_well_formed(&m));
			CHECK(!tl_idindex_get(&m, next, item_holds, NULL, &v));
		}
	}
	tl_idindex_free(&m);
}

static int by_pos(const void *a, const void *b)
{
	uint32_t x = (uint32_t)tl_idmap_pos_(*(const uint64_t *)a);
	uint32_t y = (uint32_t)tl_idmap_pos_(*(const uint64_t *)b);

	return x < y ? -1 : x > y;
}

/* Keys whose 32-bit positions collide: the item tells them apart, and
 * deleting one leaves the other found; two keys of one item that collide
 * leave one slot for the one that stays. */
static void index_colliding_positions(void)
{
	enum { N = 1 << 18 };
	uint64_t *keys = malloc(N * sizeof(*keys)), seed = 3, a = 0, b = 0;
	struct tl_idindex m = { 0 };
	uint32_t v;

	CHECK(keys != NULL);
	if (!keys)
		return;
	for (int i = 0; i < N; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		keys[i] = seed;
	}
	qsort(keys, N, sizeof(*keys), by_pos);
	for (int i = 1; i < N && !a; i++) {
		if (!by_pos(&keys[i - 1], &keys[i]) && keys[i - 1] != keys[i]) {
			a = keys[i - 1];
			b = keys[i];
		}
	}
	free(keys);
	CHECK(a && b);	/* about eight such pairs among 2^18 keys */
	memset(item_key, 0, sizeof(item_key));
	item_key[0][1] = a;
	item_key[0][2] = b;
	CHECK(tl_idindex_add(&m, a, 1) && tl_idindex_add(&m, b, 2));
	CHECK(tl_idindex_get(&m, a, item_holds, NULL, &v) && v == 1);
	CHECK(tl_idindex_get(&m, b, item_holds, NULL, &v) && v == 2);
	CHECK(tl_idindex_del(&m, a, 1));
	item_key[0][1] = 0;
	CHECK(!tl_idindex_get(&m, a, item_holds, NULL, &v));
	CHECK(tl_idindex_get(&m, b, item_holds, NULL, &v) && v == 2);
	/* item 2 takes a as its second key, then lets b go */
	item_key[1][2] = a;
	CHECK(tl_idindex_add(&m, a, 2));
	CHECK(tl_idindex_del(&m, b, 2));
	item_key[0][2] = 0;
	CHECK(tl_idindex_get(&m, a, item_holds, NULL, &v) && v == 2);
	CHECK(!tl_idindex_get(&m, b, item_holds, NULL, &v));
	CHECK_EQ_U64(m.len, 1);
	CHECK(!tl_idindex_del(&m, a, 1));
	tl_idindex_free(&m);
	CHECK(!tl_idindex_get(&m, a, item_holds, NULL, &v) && !tl_idindex_del(&m, a, 2));
}

int main(void)
{
	RUN(matches_model_through_churn);
	RUN(sequential_keys_stay_found);
	RUN(full_map_finds_and_misses);
	RUN(empty_map);
	RUN(index_matches_items_through_churn);
	RUN(index_colliding_positions);
	return UNIT_END();
}
