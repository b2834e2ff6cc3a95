/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The engine's storage: chunked pools, interned keys, side maps. */
#include <stdbool.h>
#include <stdlib.h>
#include "intern.h"
#include "pool.h"
#include "sidemap.h"
#include "unit.h"

static uint64_t next(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return *seed >> 33;
}

/* Items stay where they are across chunks; freed ones come back newest
 * first; a reset starts over from the first. */
static void pool_keeps_items_in_place(void)
{
	struct tl_pool p;
	uint32_t *first, i;

	tl_pool_init(&p, sizeof(uint32_t));
	CHECK_EQ_U64(tl_pool_alloc(&p), 0);
	first = tl_pool_at(&p, 0);
	*first = 1234;
	for (uint32_t k = 1; k < 3 * TL_POOL_CHUNK; k++) {
		CHECK_EQ_U64(tl_pool_alloc(&p), k);
		*(uint32_t *)tl_pool_at(&p, k) = k;
	}
	CHECK(tl_pool_at(&p, 0) == first);
	CHECK_EQ_U64(*first, 1234);
	CHECK_EQ_U64(*(uint32_t *)tl_pool_at(&p, 2 * TL_POOL_CHUNK + 5), 2 * TL_POOL_CHUNK + 5);
	CHECK_EQ_U64(p.nchunks, 3);
	tl_pool_release(&p, 7);
	tl_pool_release(&p, TL_POOL_CHUNK + 1);
	CHECK_EQ_U64(p.used, 3 * TL_POOL_CHUNK - 2);
	CHECK_EQ_U64(tl_pool_alloc(&p), TL_POOL_CHUNK + 1);
	CHECK_EQ_U64(tl_pool_alloc(&p), 7);
	i = tl_pool_alloc(&p);
	CHECK_EQ_U64(i, 3 * TL_POOL_CHUNK);
	CHECK_EQ_U64(p.nchunks, 4);
	tl_pool_reset(&p);
	CHECK_EQ_U64(p.used, 0);
	CHECK_EQ_U64(tl_pool_alloc(&p), 0);
	CHECK(tl_pool_at(&p, 0) == first);
	CHECK_EQ_U64(p.nchunks, 4);
	tl_pool_free(&p);
	CHECK_EQ_U64(p.nchunks, 0);
}

struct key {
	uint64_t w[3];
};

static struct key key_of(uint32_t n)
{
	/* keys that differ in one word only, and alike low bits */
	return (struct key){ { 7, (uint64_t)n << 40, n % 3 } };
}

/* Against a model of reference counts: equal keys share an index, the
 * last reference forgets the key, its index is given out again. */
static void intern_counts_references(void)
{
	enum { N = 3000 };
	static uint32_t refs[N], idx[N];
	struct tl_intern t;
	uint64_t seed = 5;

	memset(refs, 0, sizeof(refs));
	tl_intern_init(&t, sizeof(struct key));
	for (int step = 0; step < 200000; step++) {
		uint32_t n = (uint32_t)(next(&seed) % N);
		struct key k = key_of(n);

		if (next(&seed) % 3) {
			uint32_t i = tl_intern_ref(&t, &k, sizeof(k));

			CHECK(i != TL_INTERN_NONE);
			if (refs[n])
				CHECK_EQ_U64(i, idx[n]);
			idx[n] = i;
			refs[n]++;
		} else if (refs[n]) {
			tl_intern_unref(&t, idx[n]);
			refs[n]--;
		}
		if (step % 9973 == 0) {
			size_t held = 0;

			for (uint32_t j = 0; j < N; j++) {
				struct key kj = key_of(j);
				uint32_t f = tl_intern_find(&t, &kj, sizeof(kj));

				held += refs[j] != 0;
				if (!refs[j]) {
					CHECK(f == TL_INTERN_NONE);
					continue;
				}
				CHECK_EQ_U64(f, idx[j]);
				CHECK_EQ_U64(tl_intern_refs(&t, f), refs[j]);
				CHECK(!memcmp(tl_intern_key(&t, f), &kj, sizeof(kj)));
			}
			CHECK_EQ_U64(t.len, held);
			/* indices are reused: never more entries than keys held at once */
			CHECK(t.ents.hwm <= N);
		}
	}
	tl_intern_free(&t);
}

static void intern_empty_table(void)
{
	struct tl_intern t;
	struct key k = key_of(1);

	tl_intern_init(&t, sizeof(k));
	CHECK(tl_intern_find(&t, &k, sizeof(k)) == TL_INTERN_NONE);
	CHECK_EQ_U64(tl_intern_ref(&t, &k, sizeof(k)), 0);
	tl_intern_unref(&t, 0);
	CHECK(tl_intern_find(&t, &k, sizeof(k)) == TL_INTERN_NONE);
	CHECK_EQ_U64(t.len, 0);
	tl_intern_free(&t);
}

/* Items only some records have: zeroed when made, gone when deleted,
 * all gone after a clear. */
static void sidemap_items_come_and_go(void)
{
	struct tl_sidemap s;
	uint64_t *v;

	tl_sidemap_init(&s, 4 * sizeof(uint64_t));
	CHECK(!tl_sidemap_get(&s, 3));
	for (uint32_t r = 0; r < 5000; r += 2) {
		v = tl_sidemap_add(&s, r);
		CHECK(v && !v[0] && !v[3]);
		v[0] = r;
		v[3] = ~(uint64_t)r;
	}
	CHECK_EQ_U64(tl_sidemap_len(&s), 2500);
	for (uint32_t r = 0; r < 5000; r++) {
		v = tl_sidemap_get(&s, r);
		CHECK((v != NULL) == !(r % 2));
		if (v)
			CHECK(v[0] == r && v[3] == ~(uint64_t)r);
	}
	for (uint32_t r = 0; r < 5000; r += 4)
		tl_sidemap_del(&s, r);
	tl_sidemap_del(&s, 1);	/* none: nothing happens */
	CHECK_EQ_U64(tl_sidemap_len(&s), 1250);
	CHECK(!tl_sidemap_get(&s, 4));
	CHECK(tl_sidemap_get(&s, 6) && *(uint64_t *)tl_sidemap_get(&s, 6) == 6);
	v = tl_sidemap_add(&s, 4);	/* an item given back, zeroed again */
	CHECK(v && !v[0] && !v[3]);
	tl_sidemap_clear(&s);
	CHECK_EQ_U64(tl_sidemap_len(&s), 0);
	CHECK(!tl_sidemap_get(&s, 6));
	CHECK(tl_sidemap_add(&s, 6) != NULL);
	tl_sidemap_free(&s);
}

int main(void)
{
	RUN(pool_keeps_items_in_place);
	RUN(intern_counts_references);
	RUN(intern_empty_table);
	RUN(sidemap_items_come_and_go);
	return UNIT_END();
}
