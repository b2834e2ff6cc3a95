// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for the log reader.  An input starting with 'T' (as a
 * log does) is read as a whole log file.  Any other input is a block's raw
 * data behind 9 bytes (a selector byte, u32 ids_before, u32 event count):
 * it is compressed and framed with valid CRCs, twice, so that the event
 * decoder itself gets fuzzed rather than stopping at a CRC.
 */
#include "fuzz_frame.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	fuzz_as_log(data, len, 2, read_all);
	return 0;
}
