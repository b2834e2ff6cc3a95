// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Transition logs, damaged: what the reader must survive or refuse.
 * Wrong magic, unknown version, truncation at every byte, bad-CRC blocks
 * skipped, bad block headers resynced (from memory, files and short pipe
 * reads), absurd lengths, random garbage and crafted blocks. */
#include <errno.h>
#include <sys/wait.h>
#include <zlib.h>
#include "logtest.h"

#define BHDR_LEN 32

/* ---- refusing what is not a log ---- */

static void wrong_magic(void)
{
	const char *path = tmp_path("notalog");
	struct readout o;
	char err[256], want[256];

	spit(path, (const uint8_t *)"hello world, not a log at all\n", 30);
	CHECK(read_log(path, NULL, 0, &o, err, sizeof(err)) < 0);
	snprintf(want, sizeof(want), "%s is not a tcplinger log", path);
	CHECK_STR(err, want);
	CHECK(read_log(NULL, (const uint8_t *)"TCP", 3, &o, err, sizeof(err)) < 0);
	spit(path, (const uint8_t *)"", 0);
	CHECK(read_log(path, NULL, 0, &o, err, sizeof(err)) < 0);
	CHECK(strstr(err, "not a tcplinger log") != NULL);
	CHECK(read_log(tmp_path("missing"), NULL, 0, &o, err, sizeof(err)) == -ENOENT);
	CHECK(strstr(err, "No such file") != NULL);
	unlink(path);
}

static void unknown_version(void)
{
	const char *path = tmp_path("v2.tlog");
	struct tl_event e = ev_state(1, 1, 1, 2, 3, 4);
	struct readout o;
	size_t len;
	uint8_t *d;
	char err[256], want[256];

	write_log(path, &e, 1, 0, 0, NULL, NULL);
	d = slurp(path, &len);
	d[8] = 7;	/* version 7, CRC left stale: version comes first */
	spit(path, d, len);
	CHECK(read_log(path, NULL, 0, &o, err, sizeof(err)) < 0);
	snprintf(want, sizeof(want),
		 "%s: log format version 7 is not supported (this tcplinger reads versions 1 to 2)",
		 path);
	CHECK_STR(err, want);
	d[8] = 1;
	d[20] ^= 1;	/* a header field: its CRC catches it */
	CHECK(read_log(NULL, d, len, &o, err, sizeof(err)) == -EBADMSG);
	CHECK(strstr(err, "corrupt") != NULL);
	free(d);
	unlink(path);
}

/* ---- damage ---- */

/* A few hundred events in blocks of 40 in the file path: the events, what
 * reading them must give back, the file's bytes and its nb bounds (the
 * file header's end, then each block's). */
struct small_log {
	const char *path;
	uint64_t bounds[64];
	size_t n, nb, len;
	struct tl_event *evs, *want;
	uint8_t *d;
};

static void small_log_write(struct small_log *l, const char *name)
{
	l->path = tmp_path(name);
	l->evs = churn_stream(30, 20 * MS, &l->n);
	CHECK_EQ_U64(write_log(l->path, l->evs, l->n, 40, 0, l->bounds, &l->nb), 0);
	l->want = expect_all(l->evs, l->n);
	l->d = slurp(l->path, &l->len);
}

static void small_log_remove(struct small_log *l)
{
	free(l->d);
	free(l->evs);
	free(l->want);
	unlink(l->path);
}

static void truncation_everywhere(void)
{
	struct small_log l;
	char err[256];
	int before = unit_failures;

	small_log_write(&l, "trunc.tlog");

	CHECK(l.nb >= 5);
	CHECK_EQ_U64(l.bounds[l.nb - 1], l.len);
	for (size_t cut = 0; cut <= l.len; cut++) {
		struct readout o;
		size_t whole = 0, events = 0;
		bool at_bound = false;

		for (size_t b = 0; b < l.nb; b++) {
			if (l.bounds[b] <= cut)
				whole = b;
			at_bound |= l.bounds[b] == cut;
		}
		int ret = read_log(NULL, l.d, cut, &o, err, sizeof(err));

		if (cut < l.bounds[0]) {
			CHECK(ret < 0);
			continue;
		}
		CHECK_EQ_U64(ret, 0);
		events = whole * 40 < l.n ? whole * 40 : l.n;
		CHECK_EQ_U64(o.end, 0);
		CHECK_EQ_U64(o.n, events);
		CHECK_EQ_U64(same_events(o.evs, l.want, o.n < events ? o.n : events),
			     o.n < events ? o.n : events);
		if (at_bound) {
			CHECK_EQ_U64(o.w.n, 0);
		} else {
			char msg[128];

			snprintf(msg, sizeof(msg), "truncated at byte %zu: the last block is incomplete",
				 cut);
			CHECK_EQ_U64(o.w.n, 1);
			CHECK_STR(o.w.msg[0], msg);
		}
		free(o.evs);
		if (unit_failures != before)
			break;
	}
	small_log_remove(&l);
}

/* Events of every block but bad, in order. */
static void check_all_but(const struct readout *o, const struct tl_event *want, size_t n,
			  size_t per_block, size_t bad)
{
	size_t k = 0;

	CHECK_EQ_U64(o->n, n - per_block);
	for (size_t i = 0; i < n && k < o->n; i++) {
		if (i / per_block == bad)
			continue;
		if (memcmp(&o->evs[k++], &want[i], sizeof(want[i]))) {
			CHECK(!"events of intact blocks come back");
			return;
		}
	}
}

static void bad_crc_block_skipped(void)
{
	struct small_log l;
	struct readout o;
	char err[256], msg[128];

	small_log_write(&l, "flip.tlog");

	l.d[l.bounds[2] + BHDR_LEN + 10] ^= 0x10;	/* block 2's data */
	spit(l.path, l.d, l.len);
	snprintf(msg, sizeof(msg), "block 2 at byte %llu: bad CRC, skipped",
		 (unsigned long long)l.bounds[2]);
	/* From memory and through the file reader alike. */
	for (int via_file = 0; via_file < 2; via_file++) {
		CHECK_EQ_U64(read_log(via_file ? l.path : NULL, l.d, l.len, &o, err, sizeof(err)), 0);
		CHECK_EQ_U64(o.w.n, 1);
		CHECK_STR(o.w.msg[0], msg);
		check_all_but(&o, l.want, l.n, 40, 2);
		free(o.evs);
	}
	small_log_remove(&l);
}

static void bad_block_header_resyncs(void)
{
	struct small_log l;
	struct readout o;
	char err[256], msg[128];

	small_log_write(&l, "hdr.tlog");

	l.d[l.bounds[3] + 13] ^= 0x01;	/* block 3's compressed length */
	spit(l.path, l.d, l.len);
	snprintf(msg, sizeof(msg), "corrupt block header at byte %llu, resuming at byte %llu",
		 (unsigned long long)l.bounds[3], (unsigned long long)l.bounds[4]);
	for (int via_file = 0; via_file < 2; via_file++) {
		CHECK_EQ_U64(read_log(via_file ? l.path : NULL, l.d, l.len, &o, err, sizeof(err)), 0);
		CHECK(o.w.n >= 1);
		CHECK_STR(o.w.msg[0], msg);
		CHECK(warned(&o.w, "block 4 at byte"));	/* block 3 missing */
		check_all_but(&o, l.want, l.n, 40, 3);
		free(o.evs);
	}
	small_log_remove(&l);
}

static void put32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A header whose CRC holds but whose lengths are absurd is not trusted. */
static void huge_lengths(void)
{
	struct small_log l;
	static const int fields[] = { 8, 12, 16 };	/* raw, compressed, events */

	small_log_write(&l, "huge.tlog");

	for (size_t f = 0; f < 3; f++) {
		for (int crc_too = 0; crc_too < 2; crc_too++) {
			uint8_t *c = malloc(l.len);
			uint8_t *b = c + l.bounds[1];
			struct readout o;
			char err[256];

			memcpy(c, l.d, l.len);
			put32le(b + fields[f], 0xffffffffu);
			if (crc_too)
				put32le(b + 28, (uint32_t)crc32(0, b, 28));
			spit(l.path, c, l.len);
			for (int via_file = 0; via_file < 2; via_file++) {
				CHECK_EQ_U64(read_log(via_file ? l.path : NULL, c, l.len, &o, err,
						      sizeof(err)), 0);
				CHECK(warned(&o.w, "corrupt block header at byte"));
				check_all_but(&o, l.want, l.n, 40, 1);
				free(o.evs);
			}
			free(c);
		}
	}
	small_log_remove(&l);
}

/* Garbage of every kind ends reading, never the process. */
static void random_garbage(void)
{
	struct small_log l;
	uint8_t *c;

	small_log_write(&l, "g.tlog");
	c = malloc(l.len + 4096);

	for (int round = 0; round < 3000; round++) {
		struct readout o;
		size_t clen = l.len;
		char err[256];

		memcpy(c, l.d, l.len);
		switch (round % 4) {
		case 0:	/* pure noise behind a valid header */
			clen = l.bounds[0] + rnd() % 4096;
			for (size_t i = l.bounds[0]; i < clen; i++)
				c[i] = (uint8_t)rnd();
			break;
		case 1:	/* a few random bytes overwritten */
			for (int k = 0; k < 1 + round % 5; k++)
				c[rnd() % l.len] = (uint8_t)rnd();
			break;
		case 2:	/* a run of noise */
			for (size_t i = rnd() % l.len, e = i + rnd() % 200; i < e && i < l.len; i++)
				c[i] = (uint8_t)rnd();
			break;
		case 3:	/* noise from the very start */
			clen = rnd() % 64;
			for (size_t i = 0; i < clen; i++)
				c[i] = (uint8_t)rnd();
			break;
		}
		if (!read_log(NULL, c, clen, &o, err, sizeof(err))) {
			CHECK(o.end == 0);
			CHECK(o.n <= l.n + 4096);
			free(o.evs);
		}
	}
	free(c);
	small_log_remove(&l);
}

/* A block of raw data behind the file header hdr, framed with valid CRCs. */
static uint8_t *frame_block(const uint8_t *hdr, size_t hlen, const uint8_t *raw, size_t rlen,
			    uint32_t nevents, uint32_t ids, size_t *len)
{
	size_t cap = compressBound(rlen) + 64;
	uint8_t *f = malloc(hlen + BHDR_LEN + cap), *b = f + hlen;
	z_stream zs = { 0 };

	memcpy(f, hdr, hlen);
	deflateInit2(&zs, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	zs.next_in = (Bytef *)raw;
	zs.avail_in = (uInt)rlen;
	zs.next_out = b + BHDR_LEN;
	zs.avail_out = (uInt)cap;
	CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
	memcpy(b, "TLBK", 4);
	put32le(b + 4, 0);
	put32le(b + 8, (uint32_t)rlen);
	put32le(b + 12, (uint32_t)zs.total_out);
	put32le(b + 16, nevents);
	put32le(b + 20, (uint32_t)crc32(0, b + BHDR_LEN, (uInt)zs.total_out));
	put32le(b + 24, ids);
	put32le(b + 28, (uint32_t)crc32(0, b, 28));
	*len = hlen + BHDR_LEN + zs.total_out;
	deflateEnd(&zs);
	return f;
}

/*
 * Blocks whose CRCs hold but whose content is wrong (only a buggy or
 * hostile writer makes them): decoding stops at the damage with a
 * warning, never reads out of bounds.
 */
static void crafted_blocks(void)
{
	struct small_log l;
	size_t rlen, flen;
	uint8_t raw[1 << 16], *mut = malloc(sizeof(raw)), *f;
	uint32_t nev;
	z_stream zs = { 0 };

	small_log_write(&l, "craft.tlog");
	nev = (uint32_t)l.d[l.bounds[1] + 16];

	/* Block 1's raw data. */
	inflateInit2(&zs, -15);
	zs.next_in = l.d + l.bounds[1] + BHDR_LEN;
	zs.avail_in = (uInt)(l.bounds[2] - l.bounds[1] - BHDR_LEN);
	zs.next_out = raw;
	zs.avail_out = sizeof(raw);
	CHECK(inflate(&zs, Z_FINISH) == Z_STREAM_END);
	rlen = zs.total_out;
	inflateEnd(&zs);
	for (int round = 0; round < 2000; round++) {
		struct readout o;
		char err[256];
		size_t mlen = rlen;

		memcpy(mut, raw, rlen);
		if (round == 0) {
			/* Huge varints everywhere. */
			memset(mut + 7, 0xff, rlen - 8);
		} else if (round % 3 == 0) {
			mlen = rnd() % (rlen + 1);
		} else {
			for (int k = 0; k < 1 + round % 4; k++)
				mut[rnd() % rlen] = (uint8_t)rnd();
		}
		f = frame_block(l.d, l.bounds[0], mut, mlen, round % 5 ? nev : 0x7fffffff,
				(uint32_t)rnd() % 8, &flen);
		if (!read_log(NULL, f, flen, &o, err, sizeof(err))) {
			CHECK_EQ_U64(o.end, 0);
			CHECK(o.n <= nev);
			free(o.evs);
		}
		free(f);
	}
	/* A tuple code of 2^64 - 1 (regression: it wrapped to "newest"). */
	{
		static const uint8_t bad[] = {
			1, 11, 0, 0, 0, 0, 1, 0,		/* section lengths */
			0x11,					/* STATE, new socket */
			0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
			0,					/* ts */
		};
		struct readout o;
		char err[256];

		f = frame_block(l.d, l.bounds[0], bad, sizeof(bad), 1, 0, &flen);
		CHECK_EQ_U64(read_log(NULL, f, flen, &o, err, sizeof(err)), 0);
		CHECK_EQ_U64(o.n, 0);
		CHECK(warned(&o.w, "corrupt data after 0 events"));
		free(o.evs);
		free(f);
	}
	/* The unmodified block still reads whole through the same path. */
	f = frame_block(l.d, l.bounds[0], raw, rlen, nev, (uint32_t)l.d[l.bounds[1] + 24], &flen);
	{
		struct readout o;
		char err[256];

		CHECK_EQ_U64(read_log(NULL, f, flen, &o, err, sizeof(err)), 0);
		CHECK_EQ_U64(o.n, nev);
		CHECK_EQ_U64(o.w.n, 0);
		free(o.evs);
	}
	free(f);
	free(mut);
	small_log_remove(&l);
}

/* Through a pipe fed a few bytes at a time, with a damaged block header
 * on the way: the streaming reader must resync just like from memory. */
static void pipe_short_reads(void)
{
	struct small_log l;
	struct readout o;
	char err[256], fdpath[64];
	int fds[2];
	pid_t pid;

	small_log_write(&l, "pipe.tlog");

	l.d[l.bounds[2] + 5] ^= 0x40;	/* block 2's sequence number */
	CHECK(!pipe(fds));
	pid = fork();
	if (!pid) {
		close(fds[0]);
		for (size_t off = 0, k = 0; off < l.len; k++) {
			size_t chunk = 1 + k % 7;

			if (chunk > l.len - off)
				chunk = l.len - off;
			if (write(fds[1], l.d + off, chunk) != (ssize_t)chunk)
				_exit(1);
			off += chunk;
			if (k % 64 == 0)
				usleep(100);
		}
		_exit(0);
	}
	close(fds[1]);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fds[0]);
	CHECK_EQ_U64(read_log(fdpath, NULL, 0, &o, err, sizeof(err)), 0);
	close(fds[0]);
	waitpid(pid, NULL, 0);
	CHECK(warned(&o.w, "corrupt block header at byte"));
	check_all_but(&o, l.want, l.n, 40, 2);
	CHECK_STR(o.h.hostname, "box");
	free(o.evs);
	small_log_remove(&l);
}

int main(void)
{
	if (tmpdir_create())
		return 1;
	RUN(wrong_magic);
	RUN(unknown_version);
	RUN(truncation_everywhere);
	RUN(bad_crc_block_skipped);
	RUN(bad_block_header_resyncs);
	RUN(huge_lengths);
	RUN(random_garbage);
	RUN(crafted_blocks);
	RUN(pipe_short_reads);
	tmpdir_remove();
	return UNIT_END();
}
