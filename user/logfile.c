// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Transition-log codec.  A log is a header then independent blocks, each
 * a DEFLATE stream of compactly encoded events.  Every piece of delta and
 * dictionary state restarts with each block, so any block can be decoded
 * (or lost) on its own; see README.md, "Log file format".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "idmap.h"
#include "logfile.h"
#include "varint.h"

#define FILE_MAGIC	"TCPLNGR"	/* with its NUL: 8 bytes */
#define FILE_MAGIC_LEN	8
#define FHDR_FIXED	16	/* magic, u16 version, u16 flags, u32 fields length */
#define FIELDS_MAX	65536
#define BLOCK_MAGIC	"TLBK"
#define BHDR_LEN	32

#define RAW_CAP		(1u << 20)	/* a block's raw length is never above */
#define BLOCK_TARGET	(256u << 10)	/* the writer cuts blocks here */
#define EV_MAX		256	/* > the most bytes one event encodes to */
#define RAW_PAD		EV_MAX	/* zeroed slack after decoded data */
#define READ_CHUNK	(256u << 10)

/* Per-block dictionary sizes. */
#define SLOT_CAP	65536
#define TUPLE_CAP	65536
#define ADDR_CAP	4096
#define NETNS_CAP	1024
#define COMM_SLOTS	256
#define PID_MRU		3
#define RECENT_BITS	14	/* writer's cache of sockets' newest slots */

enum { TAG_HOSTNAME = 1, TAG_KERNEL, TAG_OPTIONS, TAG_BOOT_TO_REAL, TAG_CREATED };

/*
 * A block's raw data is one table of section lengths then the sections:
 * each field kind goes to a section of its own, as like things compress
 * best together (zlib's Huffman tables are per run of input).
 */
enum { S_HEAD, S_SOCK, S_TUPLE, S_MORE, S_AUX, S_TASK, S_TS, NSEC };
#define SECTAB_MAX	(NSEC * 3)	/* varint lengths, each < 2^21 */

/* Event head byte: low nibble the type (15: a type byte follows). */
#define H_TYPE_ESC	0x0f
/* H_SOCK and H_REF: a new socket for this block; the socket and tuple of
 * an earlier slot; only H_REF: an earlier slot's socket, a tuple follows. */
#define H_SOCK		0x10
#define H_REF		0x20
#define H_AUX		0x40	/* aux varint */
#define H_MORE		0x80	/* states byte and flags varint */

/* In-task byte. */
#define T_PID_MASK	0x03	/* 0: pid varint; n: n-th most recent pid */
#define T_TID_PID	0x04	/* tid == pid */
#define T_TID_LAST	0x08	/* tid == the last in-task event's tid */
#define T_COMM		0x10	/* comm as last time for this pid */
#define T_RESERVED	0xe0

#define STATES_ESC	0xff	/* old and new state follow as bytes */

/* The part of an event that the tuple dictionary holds. */
struct tuple {
	uint8_t saddr[16];
	uint8_t daddr[16];
	uint32_t netns;
	uint16_t sport;
	uint16_t dport;
	uint8_t family;
	uint8_t zero[3];	/* keeps memcmp/hash well defined */
};

/* One per event naming a socket, newest last. */
struct slot {
	uint32_t seq;		/* reader only */
	uint32_t tuple;		/* index in the tuple dictionary */
	uint32_t state;		/* new_state of the event, predicts the next old_state */
};

struct comm_ent {
	uint32_t pid;
	uint32_t valid;
	char comm[TL_COMM_LEN];
};

/* pid/tid/comm state shared by encoder and decoder. */
struct taskctx {
	uint32_t mru[PID_MRU];
	uint32_t nmru;
	uint32_t last_tid;
	struct comm_ent comm[COMM_SLOTS];
};

/* Indices into an entry array, by content: open addressing, idx + 1. */
struct ixhash {
	uint32_t *tab;
	uint32_t mask;
};

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

	z_stream zs;
};

static uLong comp_cap(void)
{
	return compressBound(RAW_CAP);
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- shared helpers ---- */

static uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL, w;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	if (n - i >= 4) {
		uint32_t w4;

		memcpy(&w4, b + i, 4);
		h = (h ^ w4) * 0xc4ceb9fe1a85ec53ULL;
	}
	return h ^ (h >> 29);
}

static int ix_init(struct ixhash *h, uint32_t cap)
{
	h->tab = calloc((size_t)cap * 2, sizeof(*h->tab));
	h->mask = cap * 2 - 1;
	return h->tab ? 0 : -ENOMEM;
}

static void ix_reset(struct ixhash *h)
{
	memset(h->tab, 0, ((size_t)h->mask + 1) * sizeof(*h->tab));
}

/* The table cell holding key, or the empty cell where it would go. */
static inline uint32_t *ix_find(struct ixhash *h, const void *ents, size_t esz,
				const void *key)
{
	uint32_t i = (uint32_t)hash_bytes(key, esz) & h->mask;
	const uint8_t *e = ents;

	for (; h->tab[i]; i = (i + 1) & h->mask) {
		if (!memcmp(e + (size_t)(h->tab[i] - 1) * esz, key, esz))
			break;
	}
	return &h->tab[i];
}

static uint32_t recent_of(uint64_t sk_id)
{
	return (uint32_t)((sk_id * 0x9e3779b97f4a7c15ULL) >> (64 - RECENT_BITS));
}

static void task_reset(struct taskctx *t)
{
	memset(t, 0, sizeof(*t));
}

static int mru_find(const struct taskctx *t, uint32_t pid)
{
	for (uint32_t i = 0; i < t->nmru; i++)
		if (t->mru[i] == pid)
			return (int)i;
	return -1;
}

/* Moves entry i (or a new pid when i < 0) to the front. */
static void mru_touch(struct taskctx *t, int i, uint32_t pid)
{
	if (i < 0)
		i = t->nmru < PID_MRU ? (int)t->nmru++ : PID_MRU - 1;
	for (; i > 0; i--)
		t->mru[i] = t->mru[i - 1];
	t->mru[0] = pid;
}

static struct comm_ent *comm_slot(struct taskctx *t, uint32_t pid)
{
	return &t->comm[(pid * 2654435761u) >> 24];
}

static bool is_v4(const uint8_t *a)
{
	static const uint8_t zero[12];

	return !memcmp(a + 4, zero, sizeof(zero));
}

static void tuple_of(const struct tl_event *ev, struct tuple *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->saddr, ev->saddr, 16);
	memcpy(t->daddr, ev->daddr, 16);
	t->netns = ev->netns;
	t->sport = ev->sport;
	t->dport = ev->dport;
	t->family = ev->family;
}

static bool tuple_empty(const struct tuple *t)
{
	static const struct tuple zero;

	return !memcmp(t, &zero, sizeof(zero));
}

/* ---- writer ---- */

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

static void tuple_mirror(const struct tuple *t, struct tuple *m)
{
	*m = *t;
	memcpy(m->saddr, t->daddr, 16);
	memcpy(m->daddr, t->saddr, 16);
	m->sport = t->dport;
	m->dport = t->sport;
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
static uint8_t state_pred(const struct slot *s)
{
	return s->state < 16 ? (uint8_t)s->state : 0;
}

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

int tl_logw_add(struct tl_log_writer *w, const struct tl_event *ev)
{
	size_t limit = block_limit(w);
	int ret;

	if (w->err)
		return w->err;
	if (w->raw_len + EV_MAX > limit || w->nslots >= SLOT_CAP ||
	    w->ntuples >= TUPLE_CAP) {
		ret = tl_logw_flush(w);
		if (ret)
			return ret;
		if (EV_MAX > block_limit(w))
			return wfail(w, -EFBIG);	/* full: the file stays a valid log */
	}
	ret = enc_event(w, ev);
	/* A half-encoded event leaves the block unusable. */
	return ret ? wfail(w, ret) : 0;
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

static int open_out(const char *path, int *fd, bool *own)
{
	struct stat st;

	if (!strcmp(path, "-")) {
		*fd = STDOUT_FILENO;
		*own = false;
		return 0;
	}
	*fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (*fd < 0)
		return -errno;
	*own = true;
	/* An existing file keeps its mode through O_CREAT: narrow it. */
	if (!fstat(*fd, &st) && S_ISREG(st.st_mode) && fchmod(*fd, 0600))
		return -errno;
	return 0;
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
	ret = open_out(path, &w->fd, &w->own_fd);
	if (!ret)
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

/* ---- reader ---- */

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
	if (memcmp(b, BLOCK_MAGIC, 4) || crc32(0, b, 28) != tl_get32(b + 28))
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
	size_t need = (size_t)bh->raw_len + RAW_PAD;
	int zr;

	if (r->raw_cap < need) {
		uint8_t *nr = realloc(r->raw, need);

		if (!nr) {
			*err = -ENOMEM;
			return false;
		}
		r->raw = nr;
		r->raw_cap = need;
	}
	if (inflateReset(&r->zs) != Z_OK)
		return false;
	r->zs.next_in = (Bytef *)src;
	r->zs.avail_in = bh->comp_len;
	r->zs.next_out = r->raw;
	r->zs.avail_out = bh->raw_len;
	zr = inflate(&r->zs, Z_FINISH);
	if (zr != Z_STREAM_END || r->zs.avail_out || r->zs.avail_in)
		return false;
	memset(r->raw + bh->raw_len, 0, RAW_PAD);
	return true;
}

/* Points the section cursors into raw; false if the table does not
 * describe exactly the raw data. */
static bool sections_r(struct tl_log_reader *r, const struct bhdr *bh)
{
	const uint8_t *p = r->raw, *end = r->raw + bh->raw_len;
	uint64_t len[NSEC], sum = 0;

	for (int k = 0; k < NSEC; k++) {
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
		if (crc32(0, r->data + r->pos - bh.comp_len, bh.comp_len) != bh.crc) {
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

	for (int k = 0; k < NSEC; k++)
		bad |= c[k] > r->e[k];
	return bad;
}

static int dec_event(struct tl_log_reader *r, struct tl_event *ev)
{
	static const struct tl_event zero_ev;
	const uint8_t *c[NSEC];
	struct slot s = { 0 };
	uint8_t head;
	int err = 0;

	if (r->count >= r->nevents)
		return -EBADMSG;
	memcpy(c, r->c, sizeof(c));
	/* Not memset: that becomes a slow "rep stos" here. */
	*ev = zero_ev;
	head = *c[S_HEAD]++;
	ev->type = head & H_TYPE_ESC;
	if (ev->type == H_TYPE_ESC)
		ev->type = *c[S_HEAD]++;
	if (head & (H_SOCK | H_REF)) {
		err = dec_sock(r, c, head, &s);
		if (err)
			return err;
		put_sock(r, &s, ev);
	}
	if (head & H_MORE) {
		err = dec_more(&c[S_MORE], state_pred(&s), ev);
		if (err)
			return err;
	}
	if (head & (H_SOCK | H_REF)) {
		s.state = ev->new_state;
		err = push_slot(r, &s);
		if (err)
			return err;
	}
	if (head & H_AUX)
		ev->aux = tl_get_uvarint(&c[S_AUX]);
	if (ev->flags & TL_F_IN_TASK) {
		err = dec_task(&r->task, &c[S_TASK], ev);
		if (err)
			return err;
	}
	r->prev_ts += (uint64_t)tl_unzigzag(tl_get_uvarint(&c[S_TS]));
	ev->ts_ns = r->prev_ts;
	if (overrun(r, c))
		return -EBADMSG;
	memcpy(r->c, c, sizeof(c));
	r->count++;
	return 0;
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

int tl_logr_next(struct tl_log_reader *r, struct tl_event *ev)
{
	for (;;) {
		int ret;

		if (r->in_block && r->c[S_HEAD] < r->e[S_HEAD]) {
			ret = dec_event(r, ev);
			if (!ret)
				return 1;
			if (ret != -EBADMSG) {
				r->done = true;
				r->ioerr = ret;
				return ret;
			}
			block_done(r, true);
			continue;
		}
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

static int read_header(struct tl_log_reader *r, const char *name, struct tl_log_header *h,
		       char *err, size_t errlen)
{
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
	if (version != TL_LOG_VERSION) {
		seterr(err, errlen,
		       "%s: log format version %u is not supported (this tcplinger reads version %d)",
		       name, version, TL_LOG_VERSION);
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
	if (crc32(0, b, FHDR_FIXED + flen) != tl_get32(b + FHDR_FIXED + flen))
		return bad_header(name, err, errlen, "corrupt (bad CRC)");
	if (h) {
		memset(h, 0, sizeof(*h));
		h->version = version;
		parse_fields(b + FHDR_FIXED, flen, h);
	}
	r->pos += FHDR_FIXED + flen + 4;
	return 0;
}

void tl_logr_close(struct tl_log_reader *r)
{
	if (!r)
		return;
	if (r->own_fd)
		close(r->fd);
	inflateEnd(&r->zs);
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
	if (!r->addrs || inflateInit2(&r->zs, -15) != Z_OK) {
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
