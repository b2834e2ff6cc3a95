// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Log-linear latency histogram; see hist.h. */
#include <string.h>
#include "hist.h"

static unsigned int msb64(uint64_t v)
{
	return 63 - (unsigned int)__builtin_clzll(v);
}

unsigned int tl_hist_bucket(uint64_t ns)
{
	unsigned int msb, shift;

	if (ns < TL_HIST_SUB)
		return (unsigned int)ns;
	msb = msb64(ns);
	shift = msb - TL_HIST_SUB_BITS;
	/* (ns >> shift) is in [64, 128): the top bit picks the group. */
	return TL_HIST_SUB * (shift + 1) + (unsigned int)((ns >> shift) - TL_HIST_SUB);
}

uint64_t tl_hist_bucket_lo(unsigned int b)
{
	unsigned int shift;

	if (b < TL_HIST_SUB)
		return b;
	shift = b / TL_HIST_SUB - 1;
	return (uint64_t)(TL_HIST_SUB + b % TL_HIST_SUB) << shift;
}

uint64_t tl_hist_bucket_hi(unsigned int b)
{
	unsigned int shift = b < TL_HIST_SUB ? 0 : b / TL_HIST_SUB - 1;

	return tl_hist_bucket_lo(b) + ((1ull << shift) - 1);
}

static uint64_t bucket_mid(unsigned int b)
{
	uint64_t lo = tl_hist_bucket_lo(b);

	return lo + (tl_hist_bucket_hi(b) - lo) / 2;
}

void tl_hist_reset(struct tl_hist *h)
{
	memset(h, 0, sizeof(*h));
}

void tl_hist_add(struct tl_hist *h, uint64_t ns)
{
	if (!h->count || ns < h->min)
		h->min = ns;
	if (ns > h->max)
		h->max = ns;
	h->count++;
	h->sum += ns;
	h->buckets[tl_hist_bucket(ns)]++;
}

void tl_hist_merge(struct tl_hist *dst, const struct tl_hist *src)
{
	unsigned int i;

	if (!src->count)
		return;
	if (!dst->count || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	for (i = 0; i < TL_HIST_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
}

/* ceil(p% of count), at least 1.  The small slack keeps p = 90 of 10
 * samples at rank 9 despite binary fractions. */
static uint64_t nearest_rank(uint64_t count, double p)
{
	long double r = (long double)p * (long double)count / 100.0L;
	uint64_t rank;

	r -= 1e-9L;
	if (r <= 0)
		return 1;
	rank = (uint64_t)r;
	if ((long double)rank < r)
		rank++;
	return rank > count ? count : rank;
}

uint64_t tl_hist_percentile(const struct tl_hist *h, double p)
{
	uint64_t rank, seen = 0, v;
	unsigned int i;

	if (!h->count)
		return 0;
	if (!(p > 0))	/* also catches NaN */
		return h->min;
	if (p >= 100)
		return h->max;
	rank = nearest_rank(h->count, p);
	for (i = 0; i < TL_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank)
			break;
	}
	if (i == TL_HIST_BUCKETS)	/* counts disagree with count */
		return h->max;
	/* The extremes are known exactly: a rank in their bucket gets them. */
	if (i == tl_hist_bucket(h->max))
		return h->max;
	if (i == tl_hist_bucket(h->min))
		return h->min;
	v = bucket_mid(i);
	return v < h->min ? h->min : v > h->max ? h->max : v;
}

static unsigned int log2_slot(uint64_t v)
{
	return v ? msb64(v) : 0;
}

void tl_hist_log2_counts(const struct tl_hist *h, uint64_t out[TL_HIST_LOG2_SLOTS])
{
	unsigned int i;

	memset(out, 0, TL_HIST_LOG2_SLOTS * sizeof(out[0]));
	/* A bucket never straddles a power of two, so its lo says it all. */
	for (i = 0; i < TL_HIST_BUCKETS; i++)
		out[log2_slot(tl_hist_bucket_lo(i))] += h->buckets[i];
}

void tl_hist_log2_counts_unit(const struct tl_hist *h, uint64_t unit_ns,
			      uint64_t out[TL_HIST_LOG2_SLOTS])
{
	unsigned int i;

	if (unit_ns <= 1) {
		tl_hist_log2_counts(h, out);
		return;
	}
	memset(out, 0, TL_HIST_LOG2_SLOTS * sizeof(out[0]));
	for (i = 0; i < TL_HIST_BUCKETS; i++) {
		if (h->buckets[i])
			out[log2_slot(bucket_mid(i) / unit_ns)] += h->buckets[i];
	}
}
