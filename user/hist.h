/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Latency histogram for durations in ns, HDR style: values below 64 get a
 * bucket each, every power of two above splits into 64 linear sub-buckets,
 * so a bucket is never wider than 1/64 of its values (relative error of
 * the midpoint < 1.6%, in fact < 0.8%).  Fixed size, no allocation: cheap
 * to embed, copy, merge and reset.
 */
#ifndef TCPLINGER_HIST_H
#define TCPLINGER_HIST_H

#include <stdint.h>

#define TL_HIST_SUB_BITS	6
#define TL_HIST_SUB		(1u << TL_HIST_SUB_BITS)	/* 64 */
/* 64 exact buckets, then one group of 64 per msb 6..63. */
#define TL_HIST_BUCKETS		(TL_HIST_SUB + (64 - TL_HIST_SUB_BITS) * TL_HIST_SUB)
#define TL_HIST_LOG2_SLOTS	64

struct tl_hist {
	uint64_t count;
	uint64_t sum;		/* wraps only past ~584 years of total time */
	uint64_t min;		/* exact; 0 when empty */
	uint64_t max;		/* exact */
	uint64_t buckets[TL_HIST_BUCKETS];
};

void tl_hist_reset(struct tl_hist *h);
void tl_hist_add(struct tl_hist *h, uint64_t ns);
void tl_hist_merge(struct tl_hist *dst, const struct tl_hist *src);
/* Nearest rank over the buckets, p in 0..100: the midpoint of the bucket
 * holding that rank, clamped to [min, max].  p <= 0 gives the exact min,
 * p >= 100 the exact max, an empty histogram 0. */
uint64_t tl_hist_percentile(const struct tl_hist *h, double p);
/* out[i]: values in [2^i, 2^(i+1)), with 0 counted in out[0].  Exact. */
void tl_hist_log2_counts(const struct tl_hist *h, uint64_t out[TL_HIST_LOG2_SLOTS]);
/* The same in another unit (e.g. 1000 for usecs): out[i] counts values
 * whose ns / unit_ns falls in [2^i, 2^(i+1)); a bucket that straddles a
 * boundary goes by its midpoint, so this one is approximate. */
void tl_hist_log2_counts_unit(const struct tl_hist *h, uint64_t unit_ns,
			      uint64_t out[TL_HIST_LOG2_SLOTS]);

/* Bucket geometry, exposed for tests and printers. */
unsigned int tl_hist_bucket(uint64_t ns);
uint64_t tl_hist_bucket_lo(unsigned int b);
uint64_t tl_hist_bucket_hi(unsigned int b);	/* inclusive */

#endif /* TCPLINGER_HIST_H */
