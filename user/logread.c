/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Transition-log reader: survives truncation and bad blocks, trusts no
 * length beyond the layout's caps.  Blocks are inflated whole by
 * libdeflate, twice as fast as zlib's streaming inflate. */
#include <libdeflate.h>
#include "logcodec.h"

struct tl_log_reader {
	int fd;			/* -1: reading from memory */
	bool own_fd, eof, done;
	int ioerr;
	tl_log_warn_fn warn;
	void *ctx;

	/* Input window: data[pos, end) is the file from byte base + pos. */
	const uint8_t *data;
	uint8_t *buf;
	size_t pos, end, cap;
	uint64_t base;

	/* The current block: a read cursor and the end of each section. */
	uint8_t *raw;
	size_t raw_cap;
	const uint8_t *c[NSEC], *e[NSEC];
	int nsec;			/* sections a block of this version has */
	const uint8_t *blob;		/* the last event's, if any */
	size_t blob_len;
	bool in_block;
	uint32_t seq, next_seq, nevents, count;
	uint64_t off;
	uint64_t prev_ts;
	uint32_t ids;
	struct slot *slots;
	uint32_t nslots, slots_cap;
	struct tuple *tuples;
	uint32_t ntuples, tuples_cap;
	uint8_t (*addrs)[16];
	uint32_t naddrs;
	uint32_t netns[NETNS_CAP];
	uint32_t nnetns;
	struct taskctx task;

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

struct bhdr {
	uint32_t seq, raw_len, comp_len, nevents, crc, ids;
};

/* Nothing from a header is trusted unless its CRC holds and every length
 * is within the caps. */
static bool parse_bhdr(const uint8_t *b, struct bhdr *bh)
{
	if (memcmp(b, BLOCK_MAGIC, 4) || libdeflate_crc32(0, b, 28) != tl_get32(b + 28))
		return false;
	bh->seq = tl_get32(b + 4);
	bh->raw_len = tl_get32(b + 8);
	bh->comp_len = tl_get32(b + 12);
	bh->nevents = tl_get32(b + 16);
	bh->crc = tl_get32(b + 20);
	bh->ids = tl_get32(b + 24);
	return bh->raw_len && bh->raw_len <= RAW_CAP && bh->comp_len &&
	       bh->comp_len <= comp_cap() && bh->nevents && bh->nevents <= bh->raw_len / 2;
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

/* Points the section cursors into raw; false if the table does not
 * describe exactly the raw data. */
static bool sections_r(struct tl_log_reader *r, const struct bhdr *bh)
{
	const uint8_t *p = r->raw, *end = r->raw + bh->raw_len;
	uint64_t len[NSEC] = { 0 }, sum = 0;

	for (int k = 0; k < r->nsec; k++) {
		len[k] = tl_get_uvarint(&p);
		if (len[k] > RAW_CAP)
			return false;
		sum += len[k];
	}
	if (p > end || sum != (uint64_t)(end - p))
		return false;
	for (int k = 0; k < NSEC; k++) {
		r->c[k] = p;
		p += len[k];
		r->e[k] = p;
	}
	return true;
}

static bool block_start_r(struct tl_log_reader *r, const struct bhdr *bh, uint64_t off)
{
	if (!sections_r(r, bh))
		return false;
	r->in_block = true;
	r->seq = bh->seq;
	r->off = off;
	r->nevents = bh->nevents;
	r->count = 0;
	r->prev_ts = 0;
	r->ids = bh->ids;
	r->nslots = r->ntuples = r->naddrs = r->nnetns = 0;
	task_reset(&r->task);
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

static int push_tuple(struct tl_log_reader *r, const struct tuple *t)
{
	if (r->ntuples == r->tuples_cap) {
		uint32_t ncap = r->tuples_cap ? r->tuples_cap * 2 : 1024;
		struct tuple *nt;

		if (r->ntuples >= TUPLE_CAP)
			return -EBADMSG;
		nt = realloc(r->tuples, ncap * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		r->tuples = nt;
		r->tuples_cap = ncap;
	}
	r->tuples[r->ntuples++] = *t;
	return 0;
}

static int push_slot(struct tl_log_reader *r, const struct slot *s)
{
	if (r->nslots == r->slots_cap) {
		uint32_t ncap = r->slots_cap ? r->slots_cap * 2 : 1024;
		struct slot *ns;

		if (r->nslots >= SLOT_CAP)
			return -EBADMSG;
		ns = realloc(r->slots, ncap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		r->slots = ns;
		r->slots_cap = ncap;
	}
	r->slots[r->nslots++] = *s;
	return 0;
}

static int dec_addr(struct tl_log_reader *r, const uint8_t **pp, uint8_t *a)
{
	uint64_t code = tl_get_uvarint(pp);
	size_t len = code == 0 ? 4 : 16;

	if (code >= 2) {
		if (code - 2 >= r->naddrs)
			return -EBADMSG;
		memcpy(a, r->addrs[r->naddrs - 1 - (code - 2)], 16);
		return 0;
	}
	memcpy(a, *pp, len);
	*pp += len;
	if (r->naddrs < ADDR_CAP)
		memcpy(r->addrs[r->naddrs++], a, 16);
	return 0;
}

static int dec_netns(struct tl_log_reader *r, const uint8_t **pp, uint32_t *ns)
{
	uint64_t code = tl_get_uvarint(pp);

	if (code) {
		if (code > r->nnetns)
			return -EBADMSG;
		*ns = r->netns[r->nnetns - code];
		return 0;
	}
	*ns = tl_get32(*pp);
	*pp += 4;
	if (r->nnetns < NETNS_CAP)
		r->netns[r->nnetns++] = *ns;
	return 0;
}

static int dec_tuple(struct tl_log_reader *r, const uint8_t **c, uint32_t *idx)
{
	uint64_t code = tl_get_uvarint(&c[S_SOCK]), k = code / 2 + (code & 1);
	struct tuple t;
	int err;

	if (code & 1) {
		if (k > r->ntuples)
			return -EBADMSG;
		*idx = r->ntuples - (uint32_t)k;
		return 0;
	}
	if (code) {
		if (k > r->ntuples)
			return -EBADMSG;
		tuple_mirror(&r->tuples[r->ntuples - k], &t);
	} else {
		const uint8_t **pp = &c[S_TUPLE];

		memset(&t, 0, sizeof(t));
		t.family = *(*pp)++;
		err = dec_addr(r, pp, t.saddr);
		if (!err)
			err = dec_addr(r, pp, t.daddr);
		if (err)
			return err;
		t.sport = tl_get16(*pp);
		t.dport = tl_get16(*pp + 2);
		*pp += 4;
		err = dec_netns(r, pp, &t.netns);
		if (err)
			return err;
	}
	*idx = r->ntuples;
	return push_tuple(r, &t);
}

static int dec_sock(struct tl_log_reader *r, const uint8_t **c, uint8_t head,
		    struct slot *s)
{
	uint64_t code = tl_get_uvarint(&c[S_SOCK]);

	if (head & H_REF) {
		if (code >= r->nslots)
			return -EBADMSG;
		*s = r->slots[r->nslots - 1 - code];
		return head & H_SOCK ? 0 : dec_tuple(r, c, &s->tuple);
	}
	if (code == 0) {
		if (r->ids == UINT32_MAX)
			return -EBADMSG;
		s->seq = ++r->ids;
	} else if (code == 1) {
		s->seq = 0;
	} else {
		if (code - 2 >= r->ids)
			return -EBADMSG;
		s->seq = r->ids - (uint32_t)(code - 2);
	}
	s->state = 0;
	return dec_tuple(r, c, &s->tuple);
}

static void put_sock(const struct tl_log_reader *r, const struct slot *s,
		     struct tl_event *ev)
{
	const struct tuple *t = &r->tuples[s->tuple];

	ev->sk_id = s->seq;
	memcpy(ev->saddr, t->saddr, 16);
	memcpy(ev->daddr, t->daddr, 16);
	ev->sport = t->sport;
	ev->dport = t->dport;
	ev->netns = t->netns;
	ev->family = t->family;
}

static int dec_task(struct taskctx *t, const uint8_t **pp, struct tl_event *ev)
{
	uint8_t b = *(*pp)++;
	uint32_t i = b & T_PID_MASK;
	struct comm_ent *ce;

	if (b & T_RESERVED)
		return -EBADMSG;
	if (i) {
		if (i > t->nmru)
			return -EBADMSG;
		ev->pid = t->mru[i - 1];
	} else {
		ev->pid = (uint32_t)tl_get_uvarint(pp);
	}
	mru_touch(t, (int)i - 1, ev->pid);
	if (b & T_TID_PID)
		ev->tid = ev->pid;
	else if (b & T_TID_LAST)
		ev->tid = t->last_tid;
	else
		ev->tid = (uint32_t)tl_get_uvarint(pp);
	t->last_tid = ev->tid;
	ce = comm_slot(t, ev->pid);
	if (b & T_COMM) {
		if (!ce->valid || ce->pid != ev->pid)
			return -EBADMSG;
		memcpy(ev->comm, ce->comm, TL_COMM_LEN);
		return 0;
	}
	i = *(*pp)++;
	if (i > TL_COMM_LEN)
		return -EBADMSG;
	memcpy(ev->comm, *pp, i);
	*pp += i;
	ce->valid = 1;
	ce->pid = ev->pid;
	memcpy(ce->comm, ev->comm, TL_COMM_LEN);
	return 0;
}

static int dec_more(const uint8_t **pp, uint8_t pred, struct tl_event *ev)
{
	const uint8_t *p = *pp;
	uint8_t st = *p++;
	uint64_t flags;

	if (st == STATES_ESC) {
		ev->old_state = p[0];
		ev->new_state = p[1];
		p += 2;
	} else {
		ev->old_state = (st >> 4) ^ pred;
		ev->new_state = st & 15;
	}
	flags = tl_get_uvarint(&p);
	*pp = p;
	if (flags > UINT16_MAX)
		return -EBADMSG;
	ev->flags = (uint16_t)flags;
	return 0;
}

/* Events read at most EV_MAX bytes over all sections, which RAW_PAD
 * covers: overruns are caught once per event. */
static bool overrun(const struct tl_log_reader *r, const uint8_t *const *c)
{
	bool bad = false;

#pragma GCC unroll 8
	for (int k = 0; k < NSEC; k++)
		bad |= c[k] > r->e[k];
	return bad;
}

/* One event at the cursors c.  It is made in a local copy: stores to it
 * cannot alias the reader's state, which then stays in registers. */
static inline int dec_event(struct tl_log_reader *r, const uint8_t **c, struct tl_event *out)
{
	static const struct tl_event zero_ev;
	struct tl_event ev = zero_ev;
	struct slot s = { 0 };
	uint8_t head;
	int err = 0;

	if (r->count >= r->nevents)
		return -EBADMSG;
	head = *c[S_HEAD]++;
	ev.type = head & H_TYPE_ESC;
	if (ev.type == H_TYPE_ESC)
		ev.type = *c[S_HEAD]++;
	if (head & (H_SOCK | H_REF)) {
		err = dec_sock(r, c, head, &s);
		if (err)
			return err;
		put_sock(r, &s, &ev);
	}
	if (head & H_MORE) {
		err = dec_more(&c[S_MORE], state_pred(&s), &ev);
		if (err)
			return err;
	}
	if (head & (H_SOCK | H_REF)) {
		s.state = ev.new_state;
		err = push_slot(r, &s);
		if (err)
			return err;
	}
	if (head & H_AUX)
		ev.aux = tl_get_uvarint(&c[S_AUX]);
	if (ev.type == TL_EV_STACK) {
		uint64_t n = tl_get_uvarint(&c[S_BLOB]);

		if (c[S_BLOB] > r->e[S_BLOB] || n > TL_LOG_BLOB_MAX ||
		    n > (uint64_t)(r->e[S_BLOB] - c[S_BLOB]))
			return -EBADMSG;
		r->blob = c[S_BLOB];
		r->blob_len = n;
		c[S_BLOB] += n;
	}
	if (ev.flags & TL_F_IN_TASK) {
		err = dec_task(&r->task, &c[S_TASK], &ev);
		if (err)
			return err;
	}
	r->prev_ts += (uint64_t)tl_unzigzag(tl_get_uvarint(&c[S_TS]));
	ev.ts_ns = r->prev_ts;
	if (overrun(r, c))
		return -EBADMSG;
	*out = ev;
	r->count++;
	return 0;
}

/* Events of the current block into evs[*n, max), up to its end or to a
 * TL_EV_STACK (its blob must stay where it is until the next call).
 * Returns 0 or the error that stopped it. */
static int dec_events(struct tl_log_reader *r, struct tl_event *evs, int max, int *n)
{
	const uint8_t *c[NSEC];
	int err = 0;

	memcpy(c, r->c, sizeof(c));
	while (*n < max && c[S_HEAD] < r->e[S_HEAD]) {
		err = dec_event(r, c, &evs[*n]);
		if (err)
			break;
		if (evs[(*n)++].type == TL_EV_STACK)
			break;
	}
	memcpy(r->c, c, sizeof(c));
	return err;
}

static void block_done(struct tl_log_reader *r, bool corrupt)
{
	for (int k = 0; k < NSEC; k++)
		corrupt |= r->c[k] != r->e[k];
	if (corrupt)
		rwarn(r, "block %u at byte %llu: corrupt data after %u events, rest skipped",
		      r->seq, (unsigned long long)r->off, r->count);
	else if (r->count != r->nevents)
		rwarn(r, "block %u at byte %llu: %u events where %u were announced",
		      r->seq, (unsigned long long)r->off, r->count, r->nevents);
	r->in_block = false;
}

int tl_logr_read(struct tl_log_reader *r, struct tl_event *evs, int max)
{
	int n = 0;

	r->blob = NULL;
	r->blob_len = 0;
	while (n < max) {
		int ret;

		if (r->in_block && r->c[S_HEAD] < r->e[S_HEAD]) {
			ret = dec_events(r, evs, max, &n);
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
	r->nsec = version == 1 ? NSEC_V1 : NSEC;
	return 0;
}

const void *tl_logr_blob(const struct tl_log_reader *r, size_t *len)
{
	*len = r->blob_len;
	return r->blob;
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
	free(r->buf);
	free(r->raw);
	free(r->slots);
	free(r->tuples);
	free(r->addrs);
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
	r->addrs = malloc(ADDR_CAP * sizeof(*r->addrs));
	r->dz = libdeflate_alloc_decompressor();
	if (!r->addrs || !r->dz) {
		libdeflate_free_decompressor(r->dz);
		free(r->addrs);
		free(r);
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
	if (grow_buf(r, READ_CHUNK)) {
		seterr(err, errlen, "%s: out of memory", path);
		tl_logr_close(r);
		return -ENOMEM;
	}
	return reader_start(out, r, path, h, err, errlen);
}
