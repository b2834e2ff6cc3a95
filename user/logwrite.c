/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Transition-log writer: events in, compressed CRC-checked blocks out. */
#include "logcodec.h"

struct tl_log_writer {
	int fd;
	bool own_fd;
	int err;		/* sticky */
	uint64_t max_size, bytes, events;
	uint32_t block_seq;
	struct tl_idmap ids;	/* sk_id -> sequence number, never reset */
	uint32_t nids;

	/* The block being built: sections and their write cursors. */
	uint8_t *sec[NSEC];
	uint8_t *c[NSEC];
	size_t raw_len;
	uint32_t block_events, block_ids;
	uint64_t prev_ts;
	/*
	 * sk_id -> its newest slot, direct mapped.  Lossy on purpose: a miss
	 * only costs a longer encoding, and checking slot_sk makes stale
	 * entries harmless, so the table never needs clearing.
	 */
	uint32_t recent[1u << RECENT_BITS];
	struct slot *slots;
	uint64_t *slot_sk;
	uint32_t nslots;
	struct tuple *tuples;
	uint32_t ntuples;
	struct ixhash tuple_ix;
	uint8_t (*addrs)[16];
	uint32_t naddrs;
	struct ixhash addr_ix;
	uint32_t netns[NETNS_CAP];
	uint32_t nnetns;
	struct ixhash netns_ix;
	struct taskctx task;

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

static void block_reset_w(struct tl_log_writer *w)
{
	for (int k = 0; k < NSEC; k++)
		w->c[k] = w->sec[k];
	w->raw_len = 0;
	w->block_events = 0;
	w->block_ids = w->nids;
	w->prev_ts = 0;
	w->nslots = 0;
	if (w->ntuples)
		ix_reset(&w->tuple_ix);
	w->ntuples = 0;
	if (w->naddrs)
		ix_reset(&w->addr_ix);
	w->naddrs = 0;
	if (w->nnetns)
		ix_reset(&w->netns_ix);
	w->nnetns = 0;
	task_reset(&w->task);
}

/* Varint: 0 a socket never seen before (it takes the next number),
 * 1 sk_id 0, n >= 2 the socket numbered (ids - (n - 2)). */
static int seq_code(struct tl_log_writer *w, uint64_t sk_id, uint64_t *code)
{
	uint32_t seq;

	if (!sk_id) {
		*code = 1;
	} else if (tl_idmap_get(&w->ids, sk_id, &seq)) {
		*code = (uint64_t)(w->nids - seq) + 2;
	} else {
		if (w->nids == UINT32_MAX)
			return -EOVERFLOW;
		if (!tl_idmap_put(&w->ids, sk_id, w->nids + 1))
			return -ENOMEM;
		w->nids++;
		*code = 0;
	}
	return 0;
}

/* Varint: 0 + 4 bytes (IPv4: the other 12 are zero), 1 + 16 bytes, or
 * n >= 2 for the (n - 1)-th newest address of the block. */
static uint8_t *enc_addr(struct tl_log_writer *w, uint8_t *p, const uint8_t *a)
{
	uint32_t *cell = ix_find(&w->addr_ix, w->addrs, 16, a);

	if (*cell)
		return tl_put_uvarint(p, (uint64_t)(w->naddrs - (*cell - 1)) + 1);
	if (is_v4(a)) {
		*p++ = 0;
		memcpy(p, a, 4);
		p += 4;
	} else {
		*p++ = 1;
		memcpy(p, a, 16);
		p += 16;
	}
	if (w->naddrs < ADDR_CAP) {
		memcpy(w->addrs[w->naddrs], a, 16);
		*cell = ++w->naddrs;
	}
	return p;
}

/* Varint: 0 + u32, or n >= 1 for the n-th newest netns of the block. */
static uint8_t *enc_netns(struct tl_log_writer *w, uint8_t *p, uint32_t ns)
{
	uint32_t *cell = ix_find(&w->netns_ix, w->netns, 4, &ns);

	if (*cell)
		return tl_put_uvarint(p, w->nnetns - (*cell - 1));
	*p++ = 0;
	tl_put32(p, ns);
	p += 4;
	if (w->nnetns < NETNS_CAP) {
		w->netns[w->nnetns] = ns;
		*cell = ++w->nnetns;
	}
	return p;
}

/*
 * Varint (S_SOCK): 2n - 1 for the n-th newest tuple of the block, 2n for
 * it seen from the other end (the peer socket on this host), 0 for a
 * literal (S_TUPLE): family, saddr, daddr, sport, dport, netns.
 */
static void enc_tuple(struct tl_log_writer *w, const struct tuple *t, uint32_t *idx)
{
	uint32_t *cell = ix_find(&w->tuple_ix, w->tuples, sizeof(*t), t), *mcell;
	uint8_t *p;
	struct tuple m;

	if (*cell) {
		*idx = *cell - 1;
		w->c[S_SOCK] = tl_put_uvarint(w->c[S_SOCK], 2 * (uint64_t)(w->ntuples - *idx) - 1);
		return;
	}
	tuple_mirror(t, &m);
	mcell = ix_find(&w->tuple_ix, w->tuples, sizeof(m), &m);
	if (*mcell) {
		w->c[S_SOCK] = tl_put_uvarint(w->c[S_SOCK], 2 * (uint64_t)(w->ntuples - (*mcell - 1)));
	} else {
		*w->c[S_SOCK]++ = 0;
		p = w->c[S_TUPLE];
		*p++ = t->family;
		p = enc_addr(w, p, t->saddr);
		p = enc_addr(w, p, t->daddr);
		tl_put16(p, t->sport);
		tl_put16(p + 2, t->dport);
		w->c[S_TUPLE] = enc_netns(w, p + 4, t->netns);
	}
	*idx = w->ntuples;
	w->tuples[w->ntuples] = *t;
	*cell = ++w->ntuples;
}

/*
 * Every event naming a socket appends a slot to the block's list; an
 * event on the socket of an earlier slot refers to it by distance, which
 * stays small for active sockets.  Fills *s with the new slot.
 */
static int enc_sock(struct tl_log_writer *w, uint8_t *head, const struct tl_event *ev,
		    struct slot *s)
{
	struct tuple t;
	uint32_t pos;
	uint64_t code;
	int err;

	memset(s, 0, sizeof(*s));
	tuple_of(ev, &t);
	if (!ev->sk_id && tuple_empty(&t))
		return 0;
	pos = w->recent[recent_of(ev->sk_id)];
	if (pos < w->nslots && w->slot_sk[pos] == ev->sk_id) {
		*s = w->slots[pos];
		w->c[S_SOCK] = tl_put_uvarint(w->c[S_SOCK], w->nslots - 1 - pos);
		if (!memcmp(&w->tuples[s->tuple], &t, sizeof(t))) {
			*head |= H_SOCK | H_REF;
		} else {
			*head |= H_REF;
			enc_tuple(w, &t, &s->tuple);
		}
		return 0;
	}
	*head |= H_SOCK;
	err = seq_code(w, ev->sk_id, &code);
	if (err)
		return err;
	w->c[S_SOCK] = tl_put_uvarint(w->c[S_SOCK], code);
	enc_tuple(w, &t, &s->tuple);
	return 0;
}

static void push_slot_w(struct tl_log_writer *w, uint64_t sk_id, struct slot *s,
			uint8_t state)
{
	s->state = state;
	w->recent[recent_of(sk_id)] = w->nslots;
	w->slot_sk[w->nslots] = sk_id;
	w->slots[w->nslots++] = *s;
}

/* The old state is sent as its difference from the socket's last new
 * state, mostly 0. */
static uint8_t *enc_states(uint8_t *p, uint8_t old, uint8_t new, uint8_t pred)
{
	if (old < 16 && new < 16 && ((old ^ pred) << 4 | new) != STATES_ESC) {
		*p++ = (uint8_t)((old ^ pred) << 4 | new);
	} else {
		*p++ = STATES_ESC;
		*p++ = old;
		*p++ = new;
	}
	return p;
}

static size_t comm_len(const char *comm)
{
	size_t n = TL_COMM_LEN;

	while (n && !comm[n - 1])
		n--;
	return n;
}

static uint8_t *enc_task(struct taskctx *t, uint8_t *p, const struct tl_event *ev)
{
	uint8_t *tb = p++, b = 0;
	int i = mru_find(t, ev->pid);
	struct comm_ent *ce;

	if (i >= 0)
		b |= (uint8_t)(i + 1);
	else
		p = tl_put_uvarint(p, ev->pid);
	mru_touch(t, i, ev->pid);
	if (ev->tid == ev->pid)
		b |= T_TID_PID;
	else if (ev->tid == t->last_tid)
		b |= T_TID_LAST;
	else
		p = tl_put_uvarint(p, ev->tid);
	t->last_tid = ev->tid;
	ce = comm_slot(t, ev->pid);
	if (ce->valid && ce->pid == ev->pid && !memcmp(ce->comm, ev->comm, TL_COMM_LEN)) {
		b |= T_COMM;
	} else {
		size_t n = comm_len(ev->comm);

		*p++ = (uint8_t)n;
		memcpy(p, ev->comm, n);
		p += n;
		ce->valid = 1;
		ce->pid = ev->pid;
		memcpy(ce->comm, ev->comm, TL_COMM_LEN);
	}
	*tb = b;
	return p;
}

/* The caller made sure EV_MAX bytes are free in all sections together. */
static int enc_event(struct tl_log_writer *w, const struct tl_event *ev)
{
	uint8_t *head = w->c[S_HEAD]++;
	struct slot s;
	size_t len = 0;
	int err;

	*head = ev->type < H_TYPE_ESC ? ev->type : H_TYPE_ESC;
	if (*head == H_TYPE_ESC)
		*w->c[S_HEAD]++ = ev->type;
	err = enc_sock(w, head, ev, &s);
	if (err)
		return err;
	if (ev->old_state || ev->new_state || ev->flags) {
		*head |= H_MORE;
		w->c[S_MORE] = enc_states(w->c[S_MORE], ev->old_state, ev->new_state,
					  state_pred(&s));
		w->c[S_MORE] = tl_put_uvarint(w->c[S_MORE], ev->flags);
	}
	if (*head & (H_SOCK | H_REF))
		push_slot_w(w, ev->sk_id, &s, ev->new_state);
	if (ev->aux) {
		*head |= H_AUX;
		w->c[S_AUX] = tl_put_uvarint(w->c[S_AUX], ev->aux);
	}
	if (ev->flags & TL_F_IN_TASK)
		w->c[S_TASK] = enc_task(&w->task, w->c[S_TASK], ev);
	w->c[S_TS] = tl_put_uvarint(w->c[S_TS], tl_zigzag((int64_t)(ev->ts_ns - w->prev_ts)));
	w->prev_ts = ev->ts_ns;
	for (int k = 0; k < NSEC; k++)
		len += (size_t)(w->c[k] - w->sec[k]);
	w->raw_len = len;
	w->block_events++;
	return 0;
}

static void put_bhdr(uint8_t *b, uint32_t seq, uint32_t raw_len, uint32_t comp_len,
		     uint32_t nevents, uint32_t crc, uint32_t ids)
{
	memcpy(b, BLOCK_MAGIC, 4);
	tl_put32(b + 4, seq);
	tl_put32(b + 8, raw_len);
	tl_put32(b + 12, comp_len);
	tl_put32(b + 16, nevents);
	tl_put32(b + 20, crc);
	tl_put32(b + 24, ids);
	tl_put32(b + 28, (uint32_t)crc32(0, b, 28));
}

/* Section table, then the sections, as one DEFLATE stream at out. */
static int deflate_block(struct tl_log_writer *w, size_t *comp_len)
{
	uint8_t tab[SECTAB_MAX], *t = tab;

	for (int k = 0; k < NSEC; k++)
		t = tl_put_uvarint(t, (uint64_t)(w->c[k] - w->sec[k]));
	if (deflateReset(&w->zs) != Z_OK)
		return -EIO;
	w->zs.next_out = w->out + BHDR_LEN;
	w->zs.avail_out = (uInt)(w->out_cap - BHDR_LEN);
	w->zs.next_in = tab;
	w->zs.avail_in = (uInt)(t - tab);
	if (deflate(&w->zs, Z_NO_FLUSH) != Z_OK)
		return -EIO;
	for (int k = 0; k < NSEC; k++) {
		w->zs.next_in = w->sec[k];
		w->zs.avail_in = (uInt)(w->c[k] - w->sec[k]);
		/* Without input, Z_NO_FLUSH would only report no progress. */
		if (w->zs.avail_in && deflate(&w->zs, Z_NO_FLUSH) != Z_OK)
			return -EIO;
	}
	if (deflate(&w->zs, Z_FINISH) != Z_STREAM_END)
		return -EIO;
	*comp_len = w->out_cap - BHDR_LEN - w->zs.avail_out;
	w->raw_len += (size_t)(t - tab);
	return 0;
}

static int write_block(struct tl_log_writer *w)
{
	size_t comp_len, total;
	int ret = deflate_block(w, &comp_len);

	if (ret)
		return ret;
	put_bhdr(w->out, w->block_seq, (uint32_t)w->raw_len, (uint32_t)comp_len,
		 w->block_events, (uint32_t)crc32(0, w->out + BHDR_LEN, (uInt)comp_len),
		 w->block_ids);
	total = BHDR_LEN + comp_len;
	if (w->max_size && w->bytes + total > w->max_size)
		return -EFBIG;
	/* One write per block: a killed writer leaves whole blocks only. */
	ret = write_all(w->fd, w->out, total);
	if (ret)
		return ret;
	w->bytes += total;
	w->events += w->block_events;
	w->block_seq++;
	return 0;
}

int tl_logw_flush(struct tl_log_writer *w)
{
	int ret;

	if (w->err)
		return w->err;
	if (!w->block_events)
		return 0;
	ret = write_block(w);
	block_reset_w(w);
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
	size_t need = EV_MAX + (blob ? blen + 4 : 0) + (ev->type == TL_EV_STACK ? 4 : 0);
	int ret;

	if (w->err)
		return w->err;
	if (w->raw_len + need > block_limit(w) || w->nslots >= SLOT_CAP ||
	    w->ntuples >= TUPLE_CAP) {
		ret = tl_logw_flush(w);
		if (ret)
			return ret;
		if (need > block_limit(w))
			return wfail(w, -EFBIG);	/* full: the file stays a valid log */
	}
	/* every TL_EV_STACK has its bytes, if none */
	if (ev->type == TL_EV_STACK) {
		w->c[S_BLOB] = tl_put_uvarint(w->c[S_BLOB], blob ? blen : 0);
		if (blob) {
			memcpy(w->c[S_BLOB], blob, blen);
			w->c[S_BLOB] += blen;
		}
	}
	ret = enc_event(w, ev);
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
	tl_idmap_free(&w->ids);
	free(w->slot_sk);
	for (int k = 0; k < NSEC; k++)
		free(w->sec[k]);
	free(w->slots);
	free(w->tuples);
	free(w->tuple_ix.tab);
	free(w->addrs);
	free(w->addr_ix.tab);
	free(w->netns_ix.tab);
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
	for (int k = 0; k < NSEC; k++) {
		w->sec[k] = malloc(BLOCK_TARGET);
		if (!w->sec[k])
			return -ENOMEM;
	}
	w->slots = malloc(SLOT_CAP * sizeof(*w->slots));
	w->slot_sk = malloc(SLOT_CAP * sizeof(*w->slot_sk));
	w->tuples = malloc(TUPLE_CAP * sizeof(*w->tuples));
	w->addrs = malloc(ADDR_CAP * sizeof(*w->addrs));
	if (!w->slots || !w->slot_sk || !w->tuples || !w->addrs ||
	    ix_init(&w->tuple_ix, TUPLE_CAP) || ix_init(&w->addr_ix, ADDR_CAP) ||
	    ix_init(&w->netns_ix, NETNS_CAP))
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
	block_reset_w(w);
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
