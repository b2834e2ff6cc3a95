// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for the log reader.  An input starting with 'T' (as a
 * log does) is read as a whole log file.  Any other input is a block's raw
 * data behind 9 bytes (a selector byte, u32 ids_before, u32 event count):
 * it is compressed and framed with valid CRCs, twice, so that the event
 * decoder itself gets fuzzed rather than stopping at a CRC.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "logfile.h"
#include "varint.h"

#define FHDR_LEN	20	/* magic, version, flags, fields length 0, CRC */
#define BHDR_LEN	32
#define RAW_MAX		(1u << 20)

static void quiet(const char *msg, void *ctx)
{
	(void)msg;
	(void)ctx;
}

/* Read one event at a time, then in batches: the same events either way. */
static void read_all(const uint8_t *data, size_t len)
{
	enum { BATCH = 5, MAXEV = 4096 };
	static struct tl_event one[MAXEV], evs[BATCH];
	struct tl_log_reader *r;
	struct tl_log_header h;
	char err[256];
	int n = 0, k = 0, ret, end;

	if (tl_logr_open_mem(&r, data, len, &h, quiet, NULL, err, sizeof(err)))
		return;
	while ((end = tl_logr_next(r, &one[n < MAXEV ? n : MAXEV - 1])) > 0)
		n++;
	tl_logr_close(r);
	if (tl_logr_open_mem(&r, data, len, &h, quiet, NULL, err, sizeof(err)))
		abort();
	for (; (ret = tl_logr_read(r, evs, BATCH)) > 0; k += ret) {
		for (int j = 0; j < ret; j++) {
			if (k + j >= n || (k + j < MAXEV - 1 &&
					   memcmp(&evs[j], &one[k + j], sizeof(evs[j]))))
				abort();
			if (evs[j].type == TL_EV_STACK && j != ret - 1)
				abort();
		}
	}
	if (ret != end || k != n)
		abort();
	tl_logr_close(r);
}

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

static void read_block(const uint8_t *data, size_t len)
{
	const uint8_t *raw = data + 9;
	size_t raw_len = len - 9, cap = compressBound(raw_len) + 64;
	size_t blen, total;
	uint8_t *f = malloc(FHDR_LEN + 2 * (BHDR_LEN + cap)), *b;

	if (!f)
		return;
	memcpy(f, "TCPLNGR", 8);
	tl_put16(f + 8, TL_LOG_VERSION);
	tl_put16(f + 10, 0);
	tl_put32(f + 12, 0);
	tl_put32(f + 16, (uint32_t)crc32(0, f, 16));
	b = f + FHDR_LEN;
	blen = deflate_raw(raw, raw_len, b + BHDR_LEN, cap);
	put_block(b, 0, (uint32_t)raw_len, (uint32_t)blen, tl_get32(data + 5), tl_get32(data + 1));
	/* The same again: its state must not leak into the next block. */
	memcpy(b + BHDR_LEN + blen, b, BHDR_LEN + blen);
	put_block(b + BHDR_LEN + blen, 1, (uint32_t)raw_len, (uint32_t)blen, tl_get32(data + 5),
		  tl_get32(data + 1));
	total = FHDR_LEN + 2 * (BHDR_LEN + blen);
	read_all(f, total);
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len && data[0] == 'T')
		read_all(data, len);
	else if (len >= 9 && len - 9 <= RAW_MAX)
		read_block(data, len);
	return 0;
}
