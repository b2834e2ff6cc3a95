// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Writes the fuzzer's seed corpus into DIR: a few small valid logs, and
 * the raw data of their first blocks in the fuzzer's block form.
 *   gen_corpus DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <zlib.h>
#include "logfile.h"
#include "varint.h"
#include "../unit/testev.h"

#define BHDR_LEN 32

static const struct tl_log_header hdr = {
	.hostname = "fuzzhost", .kernel = "6.1.0", .options = "record -w seed",
	.boot_to_real_ns = 1700000000000000000LL, .created_real_ns = 1700000001000000000ULL,
};

static struct tl_event ev4(uint64_t ts, uint64_t sk, int type, int old, int new,
			   uint16_t sport, uint16_t dport)
{
	struct tl_event e = loopback_event(type, ts, sk, sport, dport);

	e.old_state = (uint8_t)old;
	e.new_state = (uint8_t)new;
	return e;
}

static int write_log(const char *dir, const char *name, const struct tl_event *evs, size_t n,
		     size_t per_block)
{
	struct tl_log_writer *w;
	char path[512], err[256];
	int ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (tl_logw_open(&w, path, &hdr, 0, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (size_t i = 0; i < n && !ret; i++) {
		ret = tl_logw_add(w, &evs[i]);
		if (!ret && per_block && (i + 1) % per_block == 0)
			ret = tl_logw_flush(w);
	}
	return tl_logw_close(w) || ret;
}

/* A few loopback connections, client and server side, in blocks of 24. */
static int churn(const char *dir)
{
	struct tl_event evs[12 * 8];
	uint64_t t = 1000000000000ULL;
	size_t n = 0;

	for (uint64_t i = 0; i < 8; i++, t += 35714) {
		uint64_t c = 0x1000 + i % 3, s = 0x2000 + i % 3, tw = 0x3000 + i;
		uint16_t p = (uint16_t)(40000 + i);

		evs[n] = ev4(t, c, TL_EV_STATE, 7, 2, 0, 8080);
		in_task(&evs[n++], 4242, 4242, "client");
		evs[n++] = ev4(t + 7000, s, TL_EV_STATE, 10, 3, 8080, p);
		evs[n++] = ev4(t + 9000, c, TL_EV_STATE, 2, 1, p, 8080);
		evs[n++] = ev4(t + 11000, s, TL_EV_STATE, 3, 1, 8080, p);
		evs[n] = ev4(t + 20000, c, TL_EV_STATE, 1, 4, p, 8080);
		in_task(&evs[n++], 4242, 4243, "client");
		evs[n++] = ev4(t + 23000, s, TL_EV_STATE, 1, 8, 8080, p);
		evs[n] = ev4(t + 24000, c, TL_EV_STATE, 4, 5, p, 8080);
		evs[n++].flags = TL_F_ORPHAN;
		evs[n] = ev4(t + 30000, s, TL_EV_STATE, 8, 9, 8080, p);
		in_task(&evs[n++], 777, 778, "server");
		evs[n] = ev4(t + 33000, tw, TL_EV_TW_START, 0, 6, p, 8080);
		evs[n++].aux = 60000000000ULL;
		evs[n++] = ev4(t + 33200, c, TL_EV_STATE, 5, 7, p, 8080);
		evs[n++] = ev4(t + 36000, s, TL_EV_STATE, 9, 7, 8080, p);
		evs[n] = ev4(t + 40000, tw, TL_EV_TW_EXPIRE, 0, 6, p, 8080);
		evs[n++].aux = 6999;
	}
	return write_log(dir, "log-churn", evs, n, 24);
}

/* Every type, IPv6, seeds, lost events, ticks, odd values. */
static int mixed(const char *dir)
{
	struct tl_event evs[40];
	uint64_t t = 5000000000ULL;
	size_t n = 0;

	for (int type = 1; type < TL_EV_TYPE_MAX; type++) {
		struct tl_event e = ev4(t += 1000, 0x77 + (uint64_t)type % 3, type, 1, 4, 443,
					(uint16_t)(50000 + type));

		if (type % 2) {
			e.family = AF_INET6;
			memset(e.saddr, 0, 16);
			e.saddr[0] = 0xfe;
			e.saddr[1] = 0x80;
			e.saddr[15] = (uint8_t)type;
			memset(e.daddr, 0, 16);
			e.daddr[15] = 1;
		}
		if (type == TL_EV_SEED) {
			e.flags = TL_F_AGE_EXACT | TL_F_TW_SOCK;
			e.aux = 123456789;
		}
		if (type == TL_EV_TICK || type == TL_EV_LOST)
			e = (struct tl_event){ .ts_ns = t, .type = (uint8_t)type,
					       .aux = type == TL_EV_LOST ? 17 : 0 };
		if (type == TL_EV_RESET_RECV)
			in_task(&e, 1, 1, "systemd");
		evs[n++] = e;
	}
	evs[n] = ev4(t - 5000, 0, 200, 15, 15, 1, 2);	/* out of order, odd type */
	evs[n++].flags = 0xffff;
	evs[n++] = ev4(UINT64_MAX, 0x77, TL_EV_STATE, 200, 3, 443, 50001);
	return write_log(dir, "log-mixed", evs, n, 7);
}

static int ticks(const char *dir)
{
	struct tl_event evs[20];

	for (int i = 0; i < 20; i++)
		evs[i] = (struct tl_event){ .ts_ns = 1000000000ULL * (uint64_t)i, .type = TL_EV_TICK };
	return write_log(dir, "log-ticks", evs, 20, 0) ||
	       write_log(dir, "log-empty", NULL, 0, 0);
}

/* Leak hunting: owners, a holder scan, and stacks with their bytes. */
static int leaks(const char *dir)
{
	static const char blob[] = "srv -p 80\0serve+0x12 (srv.c:40)\0main+0x30 (srv.c:90)";
	struct tl_event evs[6];
	struct tl_log_writer *w;
	char path[512], err[256];
	int ret = 0;

	evs[0] = ev4(1000, 0x10, TL_EV_STATE, TL_TCP_SYN_RECV, TL_TCP_ESTABLISHED, 80, 50000);
	evs[1] = (struct tl_event){ .ts_ns = 1001, .type = TL_EV_STACK, .aux = 1 };
	in_task(&evs[1], 77, 77, "srv");
	evs[2] = ev4(1002, 0x10, TL_EV_OWNER, TL_OWN_ACCEPT, TL_TCP_ESTABLISHED, 80, 50000);
	evs[2].aux = TL_OWN_AUX(1, 5);
	in_task(&evs[2], 77, 78, "srv");
	evs[3] = ev4(2000, 0x10, TL_EV_STATE, TL_TCP_ESTABLISHED, TL_TCP_CLOSE_WAIT, 80, 50000);
	evs[4] = (struct tl_event){ .ts_ns = 3000, .type = TL_EV_SCAN };
	evs[5] = ev4(3000, 0x10, TL_EV_HOLDER, 0, TL_TCP_CLOSE_WAIT, 80, 50000);
	evs[5].aux = TL_OWN_AUX(1, 5);
	in_task(&evs[5], 77, 77, "srv");
	snprintf(path, sizeof(path), "%s/log-leaks", dir);
	if (tl_logw_open(&w, path, &hdr, 0, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (int i = 0; i < 6 && !ret; i++)
		ret = evs[i].type == TL_EV_STACK ? tl_logw_add_blob(w, &evs[i], blob, sizeof(blob))
						 : tl_logw_add(w, &evs[i]);
	return tl_logw_close(w) || ret;
}

/* The first block of log name, in the fuzzer's block form. */
static int block_seed(const char *dir, const char *name, const char *out)
{
	static uint8_t d[1 << 16], raw[1 << 20];
	char path[512];
	FILE *f;
	size_t n, pos;
	z_stream zs = { 0 };
	uint32_t raw_len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		return 1;
	n = fread(d, 1, sizeof(d), f);
	fclose(f);
	pos = 16 + tl_get32(d + 12) + 4;
	if (pos + BHDR_LEN > n)
		return 1;
	raw_len = tl_get32(d + pos + 8);
	if (inflateInit2(&zs, -15) != Z_OK)
		return 1;
	zs.next_in = d + pos + BHDR_LEN;
	zs.avail_in = tl_get32(d + pos + 12);
	zs.next_out = raw + 9;
	zs.avail_out = raw_len;
	if (inflate(&zs, Z_FINISH) != Z_STREAM_END)
		return 1;
	inflateEnd(&zs);
	raw[0] = 'B';
	memcpy(raw + 1, d + pos + 24, 4);	/* ids before the block */
	memcpy(raw + 5, d + pos + 16, 4);	/* events */
	snprintf(path, sizeof(path), "%s/%s", dir, out);
	f = fopen(path, "wb");
	if (!f)
		return 1;
	fwrite(raw, 1, 9 + raw_len, f);
	return fclose(f) != 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	if (churn(argv[1]) || mixed(argv[1]) || ticks(argv[1]) || leaks(argv[1]) ||
	    block_seed(argv[1], "log-churn", "block-churn") ||
	    block_seed(argv[1], "log-leaks", "block-leaks") ||
	    block_seed(argv[1], "log-mixed", "block-mixed")) {
		fprintf(stderr, "gen_corpus: failed\n");
		return 1;
	}
	return 0;
}
