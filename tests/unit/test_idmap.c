/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdlib.h>
#include "idmap.h"
#include "unit.h"

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
		}
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
	RUN(empty_map);
	return UNIT_END();
}
