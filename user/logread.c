/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Transition-log reader: survives truncation and bad blocks, trusts no
 * length beyond the layout's caps.  Blocks are inflated whole by
 * libdeflate, twice as fast as zlib's streaming inflate. */
#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>		/* compressBound(): the most a block can deflate to */
#include "logcodec.h"
#include "logframe.h"

#define READ_CHUNK	(256u << 10)

struct tl_log_reader {
	int fd;			/* -1: reading from memory */
	bool own_fd, eof, done;
	bool may_wait;		/* a pipe or terminal: more may come later */
	int ioerr;
	tl_log_warn_fn warn;
	void *ctx;

	/* Input window: data[pos, end) is the file from byte base + pos. */
	const uint8_t *data;
	uint8_t *buf;
	size_t pos, end, cap;
	uint64_t base;

	/* The current block, inflated, and its decoder. */
	uint8_t *raw;
	size_t raw_cap;
	struct tl_blkdec *dec;
	uint32_t version;
	const void *blob;		/* the last event's, if any */
	size_t blob_len;
	bool in_block;
	uint32_t seq, next_seq, nevents;
	uint64_t off;

	struct libdeflate_decompressor *dz;
};

static void rwarn(struct tl_log_reader *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!r->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->warn(msg, r->ctx);
}

static size_t avail(const struct tl_log_reader *r)
{
	return r->end - r->pos;
}

static int grow_buf(struct tl_log_reader *r, size_t need)
{
	size_t ncap = r->cap ? r->cap : READ_CHUNK;
	uint8_t *nb;

	while (ncap < need)
		ncap *= 2;
	nb = realloc(r->buf, ncap);
	if (!nb)
		return -ENOMEM;
	r->buf = nb;
	r->data = nb;
	r->cap = ncap;
	return 0;
}

/*
 * Makes at least need bytes readable at pos unless the input ends first;
 * returns how many are.  need is bounded by the callers (a block at most),
 * so the window never grows past that.
 */
static size_t fill(struct tl_log_reader *r, size_t need)
{
	if (avail(r) >= need || r->fd < 0 || r->eof || r->ioerr)
		return avail(r);
	/* Move what is left to the front when the room to read runs short. */
	if (r->cap - r->end < need - avail(r) || r->cap - r->end < READ_CHUNK / 4) {
		memmove(r->buf, r->buf + r->pos, avail(r));
		r->base += r->pos;
		r->end -= r->pos;
		r->pos = 0;
	}
	if (r->cap < need) {
		r->ioerr = grow_buf(r, need);
		if (r->ioerr)
			return avail(r);
	}
	while (avail(r) < need) {
		ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r->ioerr = -errno;
			break;
		}
		if (!n) {
			r->eof = true;
			break;
		}
		r->end += (size_t)n;
	}
	return avail(r);
}

/* Nothing from a header is trusted unless its CRC holds and every length
 * is within the caps. */
static bool parse_bhdr(const uint8_t *b, struct bhdr *bh)
{
	if (memcmp(b, BLOCK_MAGIC, 4) ||
	    libdeflate_crc32(0, b, BHDR_CRC_AT) != tl_get32(b + BHDR_CRC_AT))
		return false;
	bhdr_get(b, bh);
	return bh->raw_len && bh->raw_len <= RAW_CAP && bh->comp_len &&
	       bh->comp_len <= compressBound(RAW_CAP) && bh->nevents &&
	       bh->nevents <= bh->raw_len / 2;
}

static int truncated(struct tl_log_reader *r)
{
	rwarn(r, "truncated at byte %llu: the last block is incomplete",
	      (unsigned long long)(r->base + r->end));
	return 0;
}

static const uint8_t *find_magic(const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;

	while (n >= 4 && (p = memchr(p, BLOCK_MAGIC[0], n - 3))) {
		if (!memcmp(p, BLOCK_MAGIC, 4))
			return p;
		p++;
		n = (size_t)(end - p);
	}
	return NULL;
}

/*
 * After a corrupt block header at byte bad: on to the next valid one.
 * Every step moves forward, so this ends at the end of the input.
 */
static bool resync(struct tl_log_reader *r, uint64_t bad)
{
	struct bhdr bh;

	r->pos++;
	for (;;) {
		const uint8_t *q = find_magic(r->data + r->pos, avail(r));
		size_t left;

		if (!q) {
			/* Keep a tail that may begin a magic; read on. */
			if (avail(r) > 3)
				r->pos = r->end - 3;
			left = avail(r);
			if (fill(r, left + 1) <= left)
				break;
			continue;
		}
		r->pos = (size_t)(q - r->data);
		if (fill(r, BHDR_LEN) < BHDR_LEN || parse_bhdr(r->data + r->pos, &bh)) {
			rwarn(r, "corrupt block header at byte %llu, resuming at byte %llu",
			      (unsigned long long)bad, (unsigned long long)(r->base + r->pos));
			return true;
		}
		r->pos++;
	}
	if (!r->ioerr)
		rwarn(r, "corrupt block header at byte %llu, nothing readable after it",
		      (unsigned long long)bad);
	r->pos = r->end;
	return false;
}

static bool inflate_block(struct tl_log_reader *r, const uint8_t *src, const struct bhdr *bh,
			  int *err)
{
	size_t need = (size_t)bh->raw_len + RAW_PAD, used;

	if (r->raw_cap < need) {
		uint8_t *nr = realloc(r->raw, need);

		if (!nr) {
			*err = -ENOMEM;
			return false;
		}
		r->raw = nr;
		r->raw_cap = need;
	}
	/* It must fill raw_len exactly and end where the block does. */
	if (libdeflate_deflate_decompress_ex(r->dz, src, bh->comp_len, r->raw, bh->raw_len,
					     &used, NULL) != LIBDEFLATE_SUCCESS ||
	    used != bh->comp_len)
		return false;
	memset(r->raw + bh->raw_len, 0, RAW_PAD);
	return true;
}

static bool block_start_r(struct tl_log_reader *r, const struct bhdr *bh, uint64_t off)
{
	if (!tl_blkdec_start(r->dec, r->raw, bh->raw_len, r->version, bh->nevents, bh->ids))
		return false;
	r->in_block = true;
	r->seq = bh->seq;
	r->off = off;
	r->nevents = bh->nevents;
	return true;
}

/* 1: a block is ready to decode; 0: end of log; negative errno. */
static int next_block(struct tl_log_reader *r)
{
	for (;;) {
		struct bhdr bh;
		uint64_t off;
		size_t n = fill(r, BHDR_LEN);
		int err = 0;

		if (r->ioerr)
			return r->ioerr;
		if (!n)
			return 0;
		if (n < BHDR_LEN)
			return truncated(r);
		off = r->base + r->pos;
		if (!parse_bhdr(r->data + r->pos, &bh)) {
			if (!resync(r, off))
				return r->ioerr;
			continue;
		}
		n = fill(r, BHDR_LEN + (size_t)bh.comp_len);
		if (r->ioerr)
			return r->ioerr;
		if (n < BHDR_LEN + (size_t)bh.comp_len)
			return truncated(r);
		if (bh.seq != r->next_seq)
			rwarn(r, "block %u at byte %llu: expected block %u, some are missing",
			      bh.seq, (unsigned long long)off, r->next_seq);
		r->next_seq = bh.seq + 1;
		r->pos += BHDR_LEN + (size_t)bh.comp_len;
		if (libdeflate_crc32(0, r->data + r->pos - bh.comp_len, bh.comp_len) != bh.crc) {
			rwarn(r, "block %u at byte %llu: bad CRC, skipped", bh.seq,
			      (unsigned long long)off);
			continue;
		}
		if (!inflate_block(r, r->data + r->pos - bh.comp_len, &bh, &err) ||
		    !block_start_r(r, &bh, off)) {
			if (err)
				return err;
			rwarn(r, "block %u at byte %llu: corrupt data, skipped", bh.seq,
			      (unsigned long long)off);
			continue;
		}
		return 1;
	}
}

static void block_done(struct tl_log_reader *r, bool corrupt)
{
	uint32_t count = tl_blkdec_count(r->dec);

	if (corrupt || !tl_blkdec_consumed(r->dec))
		rwarn(r, "block %u at byte %llu: corrupt data after %u events, rest skipped",
		      r->seq, (unsigned long long)r->off, count);
	else if (count != r->nevents)
		rwarn(r, "block %u at byte %llu: %u events where %u were announced",
		      r->seq, (unsigned long long)r->off, count, r->nevents);
	r->in_block = false;
}

int tl_logr_read(struct tl_log_reader *r, struct tl_event *evs, int max)
{
	int n = 0;

	r->blob = NULL;
	r->blob_len = 0;
	while (n < max) {
		int ret;

		if (r->in_block && tl_blkdec_more(r->dec)) {
			ret = tl_blkdec_read(r->dec, evs, max, &n, &r->blob, &r->blob_len);
			if (ret == -EBADMSG) {
				block_done(r, true);
				continue;
			}
			if (ret) {
				r->done = true;
				r->ioerr = ret;
				r->in_block = false;
				return n ? n : ret;
			}
			if (n && evs[n - 1].type == TL_EV_STACK)
				return n;
			continue;
		}
		/* A batch holds one block's events: the next block is read
		 * when asked for, as one event at a time would. */
		if (n)
			return n;
		if (r->in_block)
			block_done(r, false);
		if (r->done)
			return r->ioerr;
		ret = next_block(r);
		if (ret <= 0) {
			r->done = true;
			r->ioerr = ret;
			return ret;
		}
	}
	return n;
}

int tl_logr_next(struct tl_log_reader *r, struct tl_event *ev)
{
	return tl_logr_read(r, ev, 1);
}

static int bad_header(const char *name, char *err, size_t errlen, const char *what)
{
	seterr(err, errlen, "%s: %s log header", name, what);
	return -EBADMSG;
}

static void parse_fields(const uint8_t *f, size_t len, struct tl_log_header *h)
{
	size_t off = 0;

	while (len - off >= 4) {
		uint16_t tag = tl_get16(f + off), n = tl_get16(f + off + 2);
		const uint8_t *v = f + off + 4;

		if (n > len - off - 4)
			break;
		off += 4 + (size_t)n;
		switch (tag) {
		case TAG_HOSTNAME:
			snprintf(h->hostname, sizeof(h->hostname), "%.*s", (int)n, (const char *)v);
			break;
		case TAG_KERNEL:
			snprintf(h->kernel, sizeof(h->kernel), "%.*s", (int)n, (const char *)v);
			break;
		case TAG_OPTIONS:
			snprintf(h->options, sizeof(h->options), "%.*s", (int)n, (const char *)v);
			break;
		case TAG_BOOT_TO_REAL:
			if (n == 8)
				h->boot_to_real_ns = (int64_t)tl_get64(v);
			break;
		case TAG_CREATED:
			if (n == 8)
				h->created_real_ns = tl_get64(v);
			break;
		default:	/* from a later version: skip */
			break;
		}
	}
}

static int read_header(struct tl_log_reader *r, const char *name, struct tl_log_header *hout,
		       char *err, size_t errlen)
{
	struct tl_log_header tmp, *h = hout ? hout : &tmp;
	size_t n = fill(r, FHDR_FIXED);
	const uint8_t *b = r->data + r->pos;
	uint32_t flen, version;

	if (r->ioerr) {
		seterr(err, errlen, "%s: %s", name, strerror(-r->ioerr));
		return r->ioerr;
	}
	if (!n) {
		seterr(err, errlen, "%s is empty, not a tcplinger log", name);
		return -EINVAL;
	}
	if (memcmp(b, FILE_MAGIC, n < FILE_MAGIC_LEN ? n : FILE_MAGIC_LEN)) {
		seterr(err, errlen, "%s is not a tcplinger log", name);
		return -EINVAL;
	}
	if (n < 10)
		return bad_header(name, err, errlen, "truncated");
	version = tl_get16(b + 8);
	if (version < TL_LOG_VERSION_MIN || version > TL_LOG_VERSION) {
		seterr(err, errlen,
		       "%s: log format version %u is not supported (this tcplinger reads versions %d to %d)",
		       name, version, TL_LOG_VERSION_MIN, TL_LOG_VERSION);
		return -ENOTSUP;
	}
	if (n < FHDR_FIXED)
		return bad_header(name, err, errlen, "truncated");
	flen = tl_get32(b + 12);
	if (flen > FIELDS_MAX)
		return bad_header(name, err, errlen, "corrupt");
	n = fill(r, FHDR_FIXED + flen + 4);
	b = r->data + r->pos;
	if (r->ioerr) {
		seterr(err, errlen, "%s: %s", name, strerror(-r->ioerr));
		return r->ioerr;
	}
	if (n < FHDR_FIXED + flen + 4)
		return bad_header(name, err, errlen, "truncated");
	if (libdeflate_crc32(0, b, FHDR_FIXED + flen) != tl_get32(b + FHDR_FIXED + flen))
		return bad_header(name, err, errlen, "corrupt (bad CRC)");
	memset(h, 0, sizeof(*h));
	h->version = version;
	parse_fields(b + FHDR_FIXED, flen, h);
	/* No clock is that far off (~146 years): a crafted header. */
	if (h->boot_to_real_ns > TL_BOOT_TO_REAL_MAX || h->boot_to_real_ns < -TL_BOOT_TO_REAL_MAX) {
		seterr(err, errlen, "%s: corrupt log header: clock offset %lld ns is out of range",
		       name, (long long)h->boot_to_real_ns);
		return -EBADMSG;
	}
	r->pos += FHDR_FIXED + flen + 4;
	r->version = version;
	return 0;
}

const void *tl_logr_blob(const struct tl_log_reader *r, size_t *len)
{
	*len = r->blob_len;
	return r->blob;
}

bool tl_logr_would_wait(const struct tl_log_reader *r)
{
	size_t n = avail(r);

	if (!r->may_wait || r->eof || r->done || r->ioerr ||
	    (r->in_block && tl_blkdec_more(r->dec)))
		return false;
	/* The next block whole in the buffer: no wait for it. */
	return n < BHDR_LEN || n - BHDR_LEN < tl_get32(r->data + r->pos + 12);
}

void tl_logr_redirect_warn(struct tl_log_reader *r, tl_log_warn_fn warn, void *ctx,
			   tl_log_warn_fn *old, void **old_ctx)
{
	*old = r->warn;
	*old_ctx = r->ctx;
	r->warn = warn;
	r->ctx = ctx;
}

uint64_t tl_logr_offset(const struct tl_log_reader *r)
{
	return r->base + r->pos;
}

void tl_logr_close(struct tl_log_reader *r)
{
	if (!r)
		return;
	if (r->own_fd)
		close(r->fd);
	libdeflate_free_decompressor(r->dz);
	tl_blkdec_free(r->dec);
	free(r->buf);
	free(r->raw);
	free(r);
}

static struct tl_log_reader *reader_new(tl_log_warn_fn warn, void *ctx)
{
	struct tl_log_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->fd = -1;
	r->warn = warn;
	r->ctx = ctx;
	r->dec = tl_blkdec_new();
	r->dz = libdeflate_alloc_decompressor();
	if (!r->dec || !r->dz) {
		tl_logr_close(r);
		return NULL;
	}
	return r;
}

static int reader_start(struct tl_log_reader **out, struct tl_log_reader *r, const char *name,
			struct tl_log_header *h, char *err, size_t errlen)
{
	int ret = read_header(r, name, h, err, errlen);

	if (ret) {
		tl_logr_close(r);
		return ret;
	}
	*out = r;
	return 0;
}

int tl_logr_open_mem(struct tl_log_reader **out, const void *data, size_t len,
		     struct tl_log_header *h, tl_log_warn_fn warn, void *ctx,
		     char *err, size_t errlen)
{
	struct tl_log_reader *r = reader_new(warn, ctx);

	*out = NULL;
	if (!r) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->data = data;
	r->end = len;
	r->eof = true;
	return reader_start(out, r, "<memory>", h, err, errlen);
}

int tl_logr_open(struct tl_log_reader **out, const char *path, struct tl_log_header *h,
		 tl_log_warn_fn warn, void *ctx, char *err, size_t errlen)
{
	struct tl_log_reader *r = reader_new(warn, ctx);
	struct stat st;

	*out = NULL;
	if (!r) {
		seterr(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (!strcmp(path, "-")) {
		r->fd = STDIN_FILENO;
	} else {
		r->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (r->fd < 0) {
			int ret = -errno;

			seterr(err, errlen, "%s: %s", path, strerror(-ret));
			tl_logr_close(r);
			return ret;
		}
		r->own_fd = true;
	}
	r->may_wait = fstat(r->fd, &st) || !S_ISREG(st.st_mode);
	if (grow_buf(r, READ_CHUNK)) {
		seterr(err, errlen, "%s: out of memory", path);
		tl_logr_close(r);
		return -ENOMEM;
	}
	return reader_start(out, r, path, h, err, errlen);
}
