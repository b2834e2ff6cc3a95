/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the fuzz targets share: an input that is not a log file is a
 * block's raw data behind 9 bytes (a selector byte, u32 ids_before, u32
 * event count), compressed and framed with valid CRCs into a log, so that
 * the event decoder itself is fuzzed rather than stopping at a CRC.
 */
#ifndef TCPLINGER_FUZZ_FRAME_H
#define TCPLINGER_FUZZ_FRAME_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "logfile.h"
#include "varint.h"

#define FHDR_LEN	20	/* magic, version, flags, fields length 0, CRC */
#define BHDR_LEN	32
#define RAW_MAX		(1u << 20)
#define FRAME_PREFIX	9

static size_t deflate_raw(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	static z_stream zs;
	static int ready;

	if (!ready) {
		if (deflateInit2(&zs, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			abort();
		ready = 1;
	}
	deflateReset(&zs);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		abort();
	return cap - zs.avail_out;
}

static void put_block(uint8_t *b, uint32_t seq, uint32_t raw_len, uint32_t comp_len,
		      uint32_t nevents, uint32_t ids)
{
	memcpy(b, "TLBK", 4);
	tl_put32(b + 4, seq);
	tl_put32(b + 8, raw_len);
	tl_put32(b + 12, comp_len);
	tl_put32(b + 16, nevents);
	tl_put32(b + 20, (uint32_t)crc32(0, b + BHDR_LEN, comp_len));
	tl_put32(b + 24, ids);
	tl_put32(b + 28, (uint32_t)crc32(0, b, 28));
}

/* A log of `copies` blocks, each holding the raw data of input (len >=
 * FRAME_PREFIX); its length, *out to be freed, or 0 without memory. */
static size_t frame_blocks(const uint8_t *input, size_t len, int copies, uint8_t **out)
{
	const uint8_t *raw = input + FRAME_PREFIX;
	size_t raw_len = len - FRAME_PREFIX, cap = compressBound(raw_len) + 64, blen;
	uint32_t nevents = tl_get32(input + 5), ids = tl_get32(input + 1);
	uint8_t *f = malloc(FHDR_LEN + (size_t)copies * (BHDR_LEN + cap)), *b;

	*out = f;
	if (!f)
		return 0;
	memcpy(f, "TCPLNGR", 8);
	tl_put16(f + 8, TL_LOG_VERSION);
	tl_put16(f + 10, 0);
	tl_put32(f + 12, 0);
	tl_put32(f + 16, (uint32_t)crc32(0, f, 16));
	b = f + FHDR_LEN;
	blen = deflate_raw(raw, raw_len, b + BHDR_LEN, cap);
	put_block(b, 0, (uint32_t)raw_len, (uint32_t)blen, nevents, ids);
	/* The same again: its state must not leak into the next block. */
	for (int k = 1; k < copies; k++) {
		uint8_t *next = b + (size_t)k * (BHDR_LEN + blen);

		memcpy(next + BHDR_LEN, b + BHDR_LEN, blen);
		put_block(next, (uint32_t)k, (uint32_t)raw_len, (uint32_t)blen, nevents, ids);
	}
	return FHDR_LEN + (size_t)copies * (BHDR_LEN + blen);
}

/* An input starting with 'T' (as a log does) is a whole log file, any
 * other a block's raw data, framed `copies` times: fn gets the log. */
static void fuzz_as_log(const uint8_t *data, size_t len, int copies,
			void (*fn)(const uint8_t *log, size_t len))
{
	uint8_t *f;
	size_t n;

	if (len && data[0] == 'T') {
		fn(data, len);
		return;
	}
	if (len < FRAME_PREFIX || len - FRAME_PREFIX > RAW_MAX)
		return;
	n = frame_blocks(data, len, copies, &f);
	if (n)
		fn(f, n);
	free(f);
}

#endif /* TCPLINGER_FUZZ_FRAME_H */
