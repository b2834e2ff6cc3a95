/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Transition-log writer: events in, compressed CRC-checked blocks out. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "logcodec.h"
#include "logframe.h"

struct tl_log_writer {
	int fd;
	bool own_fd;
	int err;		/* sticky */
	uint64_t max_size, bytes, events;
	uint32_t block_seq;
	struct tl_blkenc *enc;	/* the block being built */

	z_stream zs;
	uint8_t *out;
	size_t out_cap;
};

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int wfail(struct tl_log_writer *w, int err)
{
	if (!w->err)
		w->err = err;
	return w->err;
}

/* Section table, then the sections, as one DEFLATE stream after the
 * block header's room in out. */
static int deflate_block(struct tl_log_writer *w, const struct tl_blk_raw *raw,
			 size_t *comp_len)
{
	if (deflateReset(&w->zs) != Z_OK)
		return -EIO;
	w->zs.next_out = w->out + BHDR_LEN;
	w->zs.avail_out = (uInt)(w->out_cap - BHDR_LEN);
	for (int k = 0; k < NSEC + 1; k++) {
		w->zs.next_in = (uint8_t *)raw->part[k];
		w->zs.avail_in = (uInt)raw->len[k];
		/* Without input, Z_NO_FLUSH would only report no progress. */
		if (w->zs.avail_in && deflate(&w->zs, Z_NO_FLUSH) != Z_OK)
			return -EIO;
	}
	if (deflate(&w->zs, Z_FINISH) != Z_STREAM_END)
		return -EIO;
	*comp_len = w->out_cap - BHDR_LEN - w->zs.avail_out;
	return 0;
}

static int write_block(struct tl_log_writer *w)
{
	struct tl_blk_raw raw;
	struct bhdr bh;
	size_t comp_len, total;
	int ret;

	tl_blkenc_raw(w->enc, &raw);
	ret = deflate_block(w, &raw, &comp_len);
	if (ret)
		return ret;
	bh.seq = w->block_seq;
	bh.raw_len = (uint32_t)raw.total;
	bh.comp_len = (uint32_t)comp_len;
	bh.nevents = raw.events;
	bh.crc = (uint32_t)crc32(0, w->out + BHDR_LEN, (uInt)comp_len);
	bh.ids = raw.ids;
	bhdr_put(w->out, &bh);
	tl_put32(w->out + BHDR_CRC_AT, (uint32_t)crc32(0, w->out, BHDR_CRC_AT));
	total = BHDR_LEN + comp_len;
	if (w->max_size && w->bytes + total > w->max_size)
		return -EFBIG;
	/* One write per block: a killed writer leaves whole blocks only. */
	ret = write_all(w->fd, w->out, total);
	if (ret)
		return ret;
	w->bytes += total;
	w->events += raw.events;
	w->block_seq++;
	return 0;
}

int tl_logw_flush(struct tl_log_writer *w)
{
	int ret;

	if (w->err)
		return w->err;
	if (!tl_blkenc_events(w->enc))
		return 0;
	ret = write_block(w);
	tl_blkenc_reset(w->enc);
	return ret ? wfail(w, ret) : 0;
}

/* Under a size cap, a block is cut while it would still fit even if it
 * did not compress at all (DEFLATE adds at most 5 bytes per 16 KiB stored,
 * plus the section table): a block that does not fit is lost whole. */
static size_t block_limit(const struct tl_log_writer *w)
{
	uint64_t room, used = w->bytes + BHDR_LEN + SECTAB_MAX + 64;

	if (!w->max_size)
		return BLOCK_TARGET;
	room = w->max_size > used ? w->max_size - used : 0;
	room -= room / 1024;
	return room < BLOCK_TARGET ? (size_t)room : BLOCK_TARGET;
}

static int add_event(struct tl_log_writer *w, const struct tl_event *ev, const void *blob,
		     size_t blen)
{
	int ret;

	if (w->err)
		return w->err;
	if (!tl_blkenc_fits(w->enc, ev, blob, blen, block_limit(w))) {
		ret = tl_logw_flush(w);
		if (ret)
			return ret;
		/* even alone in a block */
		if (!tl_blkenc_fits(w->enc, ev, blob, blen, block_limit(w)))
			return wfail(w, -EFBIG);	/* full: the file stays a valid log */
	}
	ret = tl_blkenc_add(w->enc, ev, blob, blen);
	/* A half-encoded event leaves the block unusable. */
	return ret ? wfail(w, ret) : 0;
}

int tl_logw_add(struct tl_log_writer *w, const struct tl_event *ev)
{
	return add_event(w, ev, NULL, 0);
}

int tl_logw_add_blob(struct tl_log_writer *w, const struct tl_event *ev, const void *blob,
		     size_t len)
{
	if (len > TL_LOG_BLOB_MAX)
		return -EINVAL;
	return add_event(w, ev, blob ? blob : "", len);
}

uint64_t tl_logw_bytes(const struct tl_log_writer *w)
{
	return w->bytes;
}

uint64_t tl_logw_events(const struct tl_log_writer *w)
{
	return w->events;
}

static void writer_free(struct tl_log_writer *w)
{
	if (w->own_fd)
		close(w->fd);
	deflateEnd(&w->zs);
	tl_blkenc_free(w->enc);
	free(w->out);
	free(w);
}

int tl_logw_close(struct tl_log_writer *w)
{
	int ret;

	if (!w)
		return 0;
	ret = tl_logw_flush(w);
	if (w->own_fd && close(w->fd) && !ret)
		ret = -errno;
	w->own_fd = false;
	writer_free(w);
	return ret;
}

static size_t put_str_field(uint8_t *p, uint16_t tag, const char *s, size_t size)
{
	size_t n = strnlen(s, size - 1);

	tl_put16(p, tag);
	tl_put16(p + 2, (uint16_t)n);
	memcpy(p + 4, s, n);
	return 4 + n;
}

static size_t put_u64_field(uint8_t *p, uint16_t tag, uint64_t v)
{
	tl_put16(p, tag);
	tl_put16(p + 2, 8);
	tl_put64(p + 4, v);
	return 12;
}

/* Returns the header's length in buf (room for 2 KiB). */
static size_t build_header(uint8_t *buf, const struct tl_log_header *h)
{
	uint8_t *f = buf + FHDR_FIXED;
	size_t n = 0;

	memcpy(buf, FILE_MAGIC, FILE_MAGIC_LEN);
	tl_put16(buf + 8, TL_LOG_VERSION);
	tl_put16(buf + 10, 0);
	n += put_str_field(f + n, TAG_HOSTNAME, h->hostname, sizeof(h->hostname));
	n += put_str_field(f + n, TAG_KERNEL, h->kernel, sizeof(h->kernel));
	n += put_str_field(f + n, TAG_OPTIONS, h->options, sizeof(h->options));
	n += put_u64_field(f + n, TAG_BOOT_TO_REAL, (uint64_t)h->boot_to_real_ns);
	n += put_u64_field(f + n, TAG_CREATED, h->created_real_ns);
	tl_put32(buf + 12, (uint32_t)n);
	tl_put32(f + n, (uint32_t)crc32(0, buf, (uInt)(FHDR_FIXED + n)));
	return FHDR_FIXED + n + 4;
}

static int writer_alloc(struct tl_log_writer *w)
{
	w->enc = tl_blkenc_new();
	if (!w->enc)
		return -ENOMEM;
	/*
	 * Raw deflate: the block CRC already covers the data.  Level 2: this
	 * runs in the tracer's hot loop, and level 6 costs twice the time
	 * for 5% less.
	 */
	if (deflateInit2(&w->zs, 2, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	w->out_cap = BHDR_LEN + deflateBound(&w->zs, BLOCK_TARGET + SECTAB_MAX);
	w->out = malloc(w->out_cap);
	return w->out ? 0 : -ENOMEM;
}

static const char *file_kind(mode_t m)
{
	return S_ISLNK(m) ? "a symbolic link" : S_ISDIR(m) ? "a directory" :
	       S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device" :
	       S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

static int refuse(const char *path, mode_t m, char *err, size_t errlen)
{
	if (S_ISLNK(m))
		seterr(err, errlen, "%s is a symbolic link: not followed, give the real path", path);
	else
		seterr(err, errlen, "%s is %s: -w writes regular files only (or - for stdout)",
		       path, file_kind(m));
	return -EINVAL;
}

/*
 * Recording runs as root, often into world-writable dirs such as /tmp:
 * a symlink, FIFO, device or hard link planted at path must not make it
 * write elsewhere or block.  A new file is made 0600 with O_EXCL; an
 * existing regular file is truncated and narrowed to 0600, as before.
 */
static int open_out(const char *path, int *fd, bool *own, char *err, size_t errlen)
{
	const int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC;
	struct stat st;
	int ret;

	if (!strcmp(path, "-")) {
		*fd = STDOUT_FILENO;
		*own = false;
		return 0;
	}
	*fd = open(path, flags | O_EXCL, 0600);
	if (*fd >= 0) {
		*own = true;
		return 0;
	}
	if (errno != EEXIST)
		goto sys;
	/* Look first, so that no FIFO or device is ever opened. */
	if (lstat(path, &st))
		goto sys;
	if (!S_ISREG(st.st_mode))
		return refuse(path, st.st_mode, err, errlen);
	/* O_NONBLOCK: swapped for a FIFO meanwhile, open must not wait for a
	 * reader; O_CREAT keeps fs.protected_regular in force. */
	*fd = open(path, flags | O_NONBLOCK, 0600);
	if (*fd < 0) {
		if (errno == ELOOP)
			return refuse(path, S_IFLNK, err, errlen);
		if (errno == ENXIO)
			return refuse(path, S_IFIFO, err, errlen);
		goto sys;
	}
	*own = true;
	if (fstat(*fd, &st))
		goto sys;
	if (!S_ISREG(st.st_mode))
		return refuse(path, st.st_mode, err, errlen);
	if (st.st_nlink > 1) {
		seterr(err, errlen, "%s has other hard links: not overwritten, remove it first",
		       path);
		return -EMLINK;
	}
	if (fcntl(*fd, F_SETFL, 0) || ftruncate(*fd, 0) || fchmod(*fd, 0600))
		goto sys;
	return 0;
sys:
	ret = -errno;
	seterr(err, errlen, "%s: %s", path, strerror(-ret));
	return ret;
}

int tl_logw_open(struct tl_log_writer **out, const char *path, const struct tl_log_header *h,
		 uint64_t max_size, char *err, size_t errlen)
{
	struct tl_log_writer *w = calloc(1, sizeof(*w));
	uint8_t hdr[2048];
	size_t hlen;
	int ret;

	*out = NULL;
	if (!w) {
		seterr(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	w->fd = -1;
	w->max_size = max_size;
	ret = writer_alloc(w);
	if (ret) {
		seterr(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	hlen = build_header(hdr, h);
	if (max_size && hlen > max_size) {
		ret = -EFBIG;
		seterr(err, errlen, "%s: a size limit of %llu bytes cannot hold even the log header",
		       path, (unsigned long long)max_size);
		goto fail;
	}
	ret = open_out(path, &w->fd, &w->own_fd, err, errlen);
	if (ret)
		goto fail;
	ret = write_all(w->fd, hdr, hlen);
	if (ret) {
		seterr(err, errlen, "%s: %s", path, strerror(-ret));
		goto fail;
	}
	w->bytes = hlen;
	*out = w;
	return 0;
fail:
	writer_free(w);
	return ret;
}
