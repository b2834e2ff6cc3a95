/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Transition-log raw-block codec: each field's encoder sits next to its
 * decoder, so that a format change touches this file alone.  The decoder
 * trusts nothing: every reference is checked against what the block has
 * defined so far, and reads stay within RAW_PAD of a section's end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "idmap.h"
#include "logcodec.h"
#include "varint.h"

/* Per-block dictionary sizes. */
#define SLOT_CAP	65536
#define TUPLE_CAP	65536
#define ADDR_CAP	4096
#define NETNS_CAP	1024
#define COMM_SLOTS	256
#define PID_MRU		3
#define RECENT_BITS	14	/* encoder's cache of sockets' newest slots */

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

/*
 * The part of an event that the tuple dictionary holds: the event's
 * saddr through netns, laid out as there, then its family.
 */
struct tuple {
	uint8_t saddr[16];
	uint8_t daddr[16];
	uint16_t sport;
	uint16_t dport;
	uint32_t netns;
	uint8_t family;
	uint8_t zero[3];	/* keeps memcmp/hash well defined */
};
#define TUPLE_SPAN offsetof(struct tuple, family)
#define EV_AT_TUPLE(f) \
	(offsetof(struct tl_event, f) - offsetof(struct tl_event, saddr) == offsetof(struct tuple, f))
_Static_assert(EV_AT_TUPLE(daddr) && EV_AT_TUPLE(sport) && EV_AT_TUPLE(dport) &&
	       EV_AT_TUPLE(netns), "struct tuple copies tl_event's address fields as one span");

/* One per event naming a socket, newest last. */
struct slot {
	uint32_t seq;		/* decoder only */
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

/* A growing array of fixed-size entries. */
struct vec {
	void *p;
	uint32_t n, cap;
};

struct tl_blkenc {
	struct tl_idmap ids;	/* sk_id -> sequence number, never reset */
	uint32_t nids;
	uint32_t block_ids;	/* nids when the block began */

	/* The block being built: sections and their write cursors. */
	uint8_t *sec[NSEC];
	uint8_t *c[NSEC];
	uint8_t tab[SECTAB_MAX];
	size_t raw_len;		/* of the sections */
	uint32_t events;
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
};

struct tl_blkdec {
	/* A read cursor and the end of each section. */
	const uint8_t *c[NSEC], *e[NSEC];
	uint32_t nevents, count;
	uint64_t prev_ts;
	uint32_t ids;
	struct vec slots;	/* struct slot */
	struct vec tuples;	/* struct tuple */
	uint8_t (*addrs)[16];
	uint32_t naddrs;
	uint32_t netns[NETNS_CAP];
	uint32_t nnetns;
	struct taskctx task;
};

/* ---- helpers */

static inline uint64_t hash_bytes(const void *p, size_t n)
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

/* Appends the esz bytes at ent, doubling the room up to max entries. */
static inline int vec_push(struct vec *v, const void *ent, size_t esz, uint32_t max)
{
	if (v->n == v->cap) {
		uint32_t ncap = v->cap ? v->cap * 2 : 1024;
		void *np;

		if (v->n >= max)
			return -EBADMSG;
		np = realloc(v->p, ncap * esz);
		if (!np)
			return -ENOMEM;
		v->p = np;
		v->cap = ncap;
	}
	memcpy((uint8_t *)v->p + v->n++ * esz, ent, esz);
	return 0;
}

static inline struct slot *dec_slot_at(const struct tl_blkdec *d, uint32_t i)
{
	return (struct slot *)d->slots.p + i;
}

static inline struct tuple *dec_tuple_at(const struct tl_blkdec *d, uint32_t i)
{
	return (struct tuple *)d->tuples.p + i;
}

static inline uint32_t recent_of(uint64_t sk_id)
{
	return (uint32_t)((sk_id * 0x9e3779b97f4a7c15ULL) >> (64 - RECENT_BITS));
}

static inline void task_reset(struct taskctx *t)
{
	memset(t, 0, sizeof(*t));
}

static inline int mru_find(const struct taskctx *t, uint32_t pid)
{
	for (uint32_t i = 0; i < t->nmru; i++)
		if (t->mru[i] == pid)
			return (int)i;
	return -1;
}

/* Moves entry i (or a new pid when i < 0) to the front. */
static inline void mru_touch(struct taskctx *t, int i, uint32_t pid)
{
	if (i < 0)
		i = t->nmru < PID_MRU ? (int)t->nmru++ : PID_MRU - 1;
	for (; i > 0; i--)
		t->mru[i] = t->mru[i - 1];
	t->mru[0] = pid;
}

static inline struct comm_ent *comm_slot(struct taskctx *t, uint32_t pid)
{
	return &t->comm[(pid * 2654435761u) >> 24];
}

/* The comm as last seen for pid becomes comm. */
static inline void comm_remember(struct comm_ent *ce, uint32_t pid, const char *comm)
{
	ce->valid = 1;
	ce->pid = pid;
	memcpy(ce->comm, comm, TL_COMM_LEN);
}

static inline bool is_v4(const uint8_t *a)
{
	static const uint8_t zero[12];

	return !memcmp(a + 4, zero, sizeof(zero));
}

static inline void tuple_of(const struct tl_event *ev, struct tuple *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t, ev->saddr, TUPLE_SPAN);
	t->family = ev->family;
}

static inline void tuple_to_event(const struct tuple *t, struct tl_event *ev)
{
	memcpy(ev->saddr, t, TUPLE_SPAN);
	ev->family = t->family;
}

static inline bool tuple_empty(const struct tuple *t)
{
	static const struct tuple zero;

	return !memcmp(t, &zero, sizeof(zero));
}

static inline void tuple_mirror(const struct tuple *t, struct tuple *m)
{
	*m = *t;
	memcpy(m->saddr, t->daddr, 16);
	memcpy(m->daddr, t->saddr, 16);
	m->sport = t->dport;
	m->dport = t->sport;
}

static inline uint8_t state_pred(const struct slot *s)
{
	return s->state < 16 ? (uint8_t)s->state : 0;
}

/* ---- socket numbers
 * Varint: 0 a socket never seen before (it takes the next number),
 * 1 sk_id 0, n >= 2 the socket numbered (ids - (n - 2)). */

static int enc_seq(struct tl_blkenc *e, uint64_t sk_id, uint64_t *code)
{
	uint32_t seq;

	if (!sk_id) {
		*code = 1;
	} else if (tl_idmap_get(&e->ids, sk_id, &seq)) {
		*code = (uint64_t)(e->nids - seq) + 2;
	} else {
		if (e->nids == UINT32_MAX)
			return -EOVERFLOW;
		if (!tl_idmap_put(&e->ids, sk_id, e->nids + 1))
			return -ENOMEM;
		e->nids++;
		*code = 0;
	}
	return 0;
}

static int dec_seq(struct tl_blkdec *d, uint64_t code, uint32_t *seq)
{
	if (code == 0) {
		if (d->ids == UINT32_MAX)
			return -EBADMSG;
		*seq = ++d->ids;
	} else if (code == 1) {
		*seq = 0;
	} else {
		if (code - 2 >= d->ids)
			return -EBADMSG;
		*seq = d->ids - (uint32_t)(code - 2);
	}
	return 0;
}

/* ---- addresses
 * Varint: 0 + 4 bytes (IPv4: the other 12 are zero), 1 + 16 bytes, or
 * n >= 2 for the (n - 1)-th newest address of the block. */

static uint8_t *enc_addr(struct tl_blkenc *e, uint8_t *p, const uint8_t *a)
{
	uint32_t *cell = ix_find(&e->addr_ix, e->addrs, 16, a);

	if (*cell)
		return tl_put_uvarint(p, (uint64_t)(e->naddrs - (*cell - 1)) + 1);
	if (is_v4(a)) {
		*p++ = 0;
		memcpy(p, a, 4);
		p += 4;
	} else {
		*p++ = 1;
		memcpy(p, a, 16);
		p += 16;
	}
	if (e->naddrs < ADDR_CAP) {
		memcpy(e->addrs[e->naddrs], a, 16);
		*cell = ++e->naddrs;
	}
	return p;
}

static int dec_addr(struct tl_blkdec *d, const uint8_t **pp, uint8_t *a)
{
	uint64_t code = tl_get_uvarint(pp);
	size_t len = code == 0 ? 4 : 16;

	if (code >= 2) {
		if (code - 2 >= d->naddrs)
			return -EBADMSG;
		memcpy(a, d->addrs[d->naddrs - 1 - (code - 2)], 16);
		return 0;
	}
	memcpy(a, *pp, len);
	*pp += len;
	if (d->naddrs < ADDR_CAP)
		memcpy(d->addrs[d->naddrs++], a, 16);
	return 0;
}

/* ---- network namespaces
 * Varint: 0 + u32, or n >= 1 for the n-th newest netns of the block. */

static uint8_t *enc_netns(struct tl_blkenc *e, uint8_t *p, uint32_t ns)
{
	uint32_t *cell = ix_find(&e->netns_ix, e->netns, 4, &ns);

	if (*cell)
		return tl_put_uvarint(p, e->nnetns - (*cell - 1));
	*p++ = 0;
	tl_put32(p, ns);
	p += 4;
	if (e->nnetns < NETNS_CAP) {
		e->netns[e->nnetns] = ns;
		*cell = ++e->nnetns;
	}
	return p;
}

static int dec_netns(struct tl_blkdec *d, const uint8_t **pp, uint32_t *ns)
{
	uint64_t code = tl_get_uvarint(pp);

	if (code) {
		if (code > d->nnetns)
			return -EBADMSG;
		*ns = d->netns[d->nnetns - code];
		return 0;
	}
	*ns = tl_get32(*pp);
	*pp += 4;
	if (d->nnetns < NETNS_CAP)
		d->netns[d->nnetns++] = *ns;
	return 0;
}

/* ---- tuples
 * Varint (S_SOCK): 2n - 1 for the n-th newest tuple of the block, 2n for
 * it seen from the other end (the peer socket on this host), 0 for a
 * literal (S_TUPLE): family, saddr, daddr, sport, dport, netns. */

static void enc_tuple(struct tl_blkenc *e, const struct tuple *t, uint32_t *idx)
{
	uint32_t *cell = ix_find(&e->tuple_ix, e->tuples, sizeof(*t), t), *mcell;
	uint8_t *p;
	struct tuple m;

	if (*cell) {
		*idx = *cell - 1;
		e->c[S_SOCK] = tl_put_uvarint(e->c[S_SOCK], 2 * (uint64_t)(e->ntuples - *idx) - 1);
		return;
	}
	tuple_mirror(t, &m);
	mcell = ix_find(&e->tuple_ix, e->tuples, sizeof(m), &m);
	if (*mcell) {
		e->c[S_SOCK] = tl_put_uvarint(e->c[S_SOCK], 2 * (uint64_t)(e->ntuples - (*mcell - 1)));
	} else {
		*e->c[S_SOCK]++ = 0;
		p = e->c[S_TUPLE];
		*p++ = t->family;
		p = enc_addr(e, p, t->saddr);
		p = enc_addr(e, p, t->daddr);
		tl_put16(p, t->sport);
		tl_put16(p + 2, t->dport);
		e->c[S_TUPLE] = enc_netns(e, p + 4, t->netns);
	}
	*idx = e->ntuples;
	e->tuples[e->ntuples] = *t;
	*cell = ++e->ntuples;
}

static int dec_tuple(struct tl_blkdec *d, const uint8_t **c, uint32_t *idx)
{
	uint64_t code = tl_get_uvarint(&c[S_SOCK]), k = code / 2 + (code & 1);
	struct tuple t;
	int err;

	if (code & 1) {
		if (k > d->tuples.n)
			return -EBADMSG;
		*idx = d->tuples.n - (uint32_t)k;
		return 0;
	}
	if (code) {
		if (k > d->tuples.n)
			return -EBADMSG;
		tuple_mirror(dec_tuple_at(d, d->tuples.n - (uint32_t)k), &t);
	} else {
		const uint8_t **pp = &c[S_TUPLE];

		memset(&t, 0, sizeof(t));
		t.family = *(*pp)++;
		err = dec_addr(d, pp, t.saddr);
		if (!err)
			err = dec_addr(d, pp, t.daddr);
		if (err)
			return err;
		t.sport = tl_get16(*pp);
		t.dport = tl_get16(*pp + 2);
		*pp += 4;
		err = dec_netns(d, pp, &t.netns);
		if (err)
			return err;
	}
	*idx = d->tuples.n;
	return vec_push(&d->tuples, &t, sizeof(t), TUPLE_CAP);
}

/* ---- sockets
 * Every event naming a socket appends a slot to the block's list; an
 * event on the socket of an earlier slot refers to it by distance
 * (S_SOCK varint, with H_REF), which stays small for active sockets;
 * else comes its number.  A tuple follows unless H_SOCK and H_REF say
 * it is the slot's. */

/* Fills *s with the new slot. */
static int enc_sock(struct tl_blkenc *e, uint8_t *head, const struct tl_event *ev,
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
	pos = e->recent[recent_of(ev->sk_id)];
	if (pos < e->nslots && e->slot_sk[pos] == ev->sk_id) {
		*s = e->slots[pos];
		e->c[S_SOCK] = tl_put_uvarint(e->c[S_SOCK], e->nslots - 1 - pos);
		if (!memcmp(&e->tuples[s->tuple], &t, sizeof(t))) {
			*head |= H_SOCK | H_REF;
		} else {
			*head |= H_REF;
			enc_tuple(e, &t, &s->tuple);
		}
		return 0;
	}
	*head |= H_SOCK;
	err = enc_seq(e, ev->sk_id, &code);
	if (err)
		return err;
	e->c[S_SOCK] = tl_put_uvarint(e->c[S_SOCK], code);
	enc_tuple(e, &t, &s->tuple);
	return 0;
}

static int dec_sock(struct tl_blkdec *d, const uint8_t **c, uint8_t head, struct slot *s)
{
	uint64_t code = tl_get_uvarint(&c[S_SOCK]);
	int err;

	if (head & H_REF) {
		if (code >= d->slots.n)
			return -EBADMSG;
		*s = *dec_slot_at(d, d->slots.n - 1 - (uint32_t)code);
		return head & H_SOCK ? 0 : dec_tuple(d, c, &s->tuple);
	}
	err = dec_seq(d, code, &s->seq);
	if (err)
		return err;
	s->state = 0;
	return dec_tuple(d, c, &s->tuple);
}

static void enc_push_slot(struct tl_blkenc *e, uint64_t sk_id, struct slot *s, uint8_t state)
{
	s->state = state;
	e->recent[recent_of(sk_id)] = e->nslots;
	e->slot_sk[e->nslots] = sk_id;
	e->slots[e->nslots++] = *s;
}

/* ---- states and flags (S_MORE, with H_MORE)
 * The old state is sent as its difference from the socket's last new
 * state, mostly 0; then the flags varint. */

static uint8_t *enc_more(uint8_t *p, const struct tl_event *ev, uint8_t pred)
{
	uint8_t old = ev->old_state, new = ev->new_state;

	if (old < 16 && new < 16 && ((old ^ pred) << 4 | new) != STATES_ESC) {
		*p++ = (uint8_t)((old ^ pred) << 4 | new);
	} else {
		*p++ = STATES_ESC;
		*p++ = old;
		*p++ = new;
	}
	return tl_put_uvarint(p, ev->flags);
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

/* ---- task (S_TASK, with TL_F_IN_TASK)
 * The in-task byte (T_*), then what it does not say: pid varint, tid
 * varint, comm length byte and bytes. */

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
		comm_remember(ce, ev->pid, ev->comm);
	}
	*tb = b;
	return p;
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
	comm_remember(ce, ev->pid, ev->comm);
	return 0;
}

/* ---- blobs (S_BLOB, every TL_EV_STACK): length varint, bytes */

static uint8_t *enc_blob(uint8_t *p, const void *blob, size_t blen)
{
	p = tl_put_uvarint(p, blob ? blen : 0);
	if (blob) {
		memcpy(p, blob, blen);
		p += blen;
	}
	return p;
}

static int dec_blob(const uint8_t **pp, const uint8_t *end, const void **blob, size_t *blen)
{
	uint64_t n = tl_get_uvarint(pp);

	if (*pp > end || n > TL_LOG_BLOB_MAX || n > (uint64_t)(end - *pp))
		return -EBADMSG;
	*blob = *pp;
	*blen = n;
	*pp += n;
	return 0;
}

/* ---- events
 * Head byte (S_HEAD), [type byte], then per the head: socket, states and
 * flags, aux varint (S_AUX); per the type a blob; per TL_F_IN_TASK the
 * task; always the timestamp as a zigzag delta (S_TS). */

/* The caller made sure EV_MAX bytes are free in all sections together. */
static int enc_event(struct tl_blkenc *e, const struct tl_event *ev)
{
	uint8_t *head = e->c[S_HEAD]++;
	struct slot s;
	size_t len = 0;
	int err;

	*head = ev->type < H_TYPE_ESC ? ev->type : H_TYPE_ESC;
	if (*head == H_TYPE_ESC)
		*e->c[S_HEAD]++ = ev->type;
	err = enc_sock(e, head, ev, &s);
	if (err)
		return err;
	if (ev->old_state || ev->new_state || ev->flags) {
		*head |= H_MORE;
		e->c[S_MORE] = enc_more(e->c[S_MORE], ev, state_pred(&s));
	}
	if (*head & (H_SOCK | H_REF))
		enc_push_slot(e, ev->sk_id, &s, ev->new_state);
	if (ev->aux) {
		*head |= H_AUX;
		e->c[S_AUX] = tl_put_uvarint(e->c[S_AUX], ev->aux);
	}
	if (ev->flags & TL_F_IN_TASK)
		e->c[S_TASK] = enc_task(&e->task, e->c[S_TASK], ev);
	e->c[S_TS] = tl_put_uvarint(e->c[S_TS], tl_zigzag((int64_t)(ev->ts_ns - e->prev_ts)));
	e->prev_ts = ev->ts_ns;
	for (int k = 0; k < NSEC; k++)
		len += (size_t)(e->c[k] - e->sec[k]);
	e->raw_len = len;
	e->events++;
	return 0;
}

/* Events read at most EV_MAX bytes over all sections, which RAW_PAD
 * covers: overruns are caught once per event. */
static bool overrun(const struct tl_blkdec *d, const uint8_t *const *c)
{
	bool bad = false;

#pragma GCC unroll 8
	for (int k = 0; k < NSEC; k++)
		bad |= c[k] > d->e[k];
	return bad;
}

/* One event at the cursors c.  It is made in a local copy: stores to it
 * cannot alias the decoder's state, which then stays in registers. */
static inline int dec_event(struct tl_blkdec *d, const uint8_t **c, struct tl_event *out,
			    const void **blob, size_t *blen)
{
	static const struct tl_event zero_ev;
	struct tl_event ev = zero_ev;
	struct slot s = { 0 };
	uint8_t head;
	int err = 0;

	if (d->count >= d->nevents)
		return -EBADMSG;
	head = *c[S_HEAD]++;
	ev.type = head & H_TYPE_ESC;
	if (ev.type == H_TYPE_ESC)
		ev.type = *c[S_HEAD]++;
	if (head & (H_SOCK | H_REF)) {
		err = dec_sock(d, c, head, &s);
		if (err)
			return err;
		ev.sk_id = s.seq;
		tuple_to_event(dec_tuple_at(d, s.tuple), &ev);
	}
	if (head & H_MORE) {
		err = dec_more(&c[S_MORE], state_pred(&s), &ev);
		if (err)
			return err;
	}
	if (head & (H_SOCK | H_REF)) {
		s.state = ev.new_state;
		err = vec_push(&d->slots, &s, sizeof(s), SLOT_CAP);
		if (err)
			return err;
	}
	if (head & H_AUX)
		ev.aux = tl_get_uvarint(&c[S_AUX]);
	if (ev.type == TL_EV_STACK) {
		err = dec_blob(&c[S_BLOB], d->e[S_BLOB], blob, blen);
		if (err)
			return err;
	}
	if (ev.flags & TL_F_IN_TASK) {
		err = dec_task(&d->task, &c[S_TASK], &ev);
		if (err)
			return err;
	}
	d->prev_ts += (uint64_t)tl_unzigzag(tl_get_uvarint(&c[S_TS]));
	ev.ts_ns = d->prev_ts;
	if (overrun(d, c))
		return -EBADMSG;
	*out = ev;
	d->count++;
	return 0;
}

/* ---- blocks: the encoder */

struct tl_blkenc *tl_blkenc_new(void)
{
	struct tl_blkenc *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	for (int k = 0; k < NSEC; k++) {
		e->sec[k] = malloc(BLOCK_TARGET);
		if (!e->sec[k])
			goto fail;
	}
	e->slots = malloc(SLOT_CAP * sizeof(*e->slots));
	e->slot_sk = malloc(SLOT_CAP * sizeof(*e->slot_sk));
	e->tuples = malloc(TUPLE_CAP * sizeof(*e->tuples));
	e->addrs = malloc(ADDR_CAP * sizeof(*e->addrs));
	if (!e->slots || !e->slot_sk || !e->tuples || !e->addrs ||
	    ix_init(&e->tuple_ix, TUPLE_CAP) || ix_init(&e->addr_ix, ADDR_CAP) ||
	    ix_init(&e->netns_ix, NETNS_CAP))
		goto fail;
	tl_blkenc_reset(e);
	return e;
fail:
	tl_blkenc_free(e);
	return NULL;
}

void tl_blkenc_free(struct tl_blkenc *e)
{
	if (!e)
		return;
	tl_idmap_free(&e->ids);
	for (int k = 0; k < NSEC; k++)
		free(e->sec[k]);
	free(e->slots);
	free(e->slot_sk);
	free(e->tuples);
	free(e->tuple_ix.tab);
	free(e->addrs);
	free(e->addr_ix.tab);
	free(e->netns_ix.tab);
	free(e);
}

void tl_blkenc_reset(struct tl_blkenc *e)
{
	for (int k = 0; k < NSEC; k++)
		e->c[k] = e->sec[k];
	e->raw_len = 0;
	e->events = 0;
	e->block_ids = e->nids;
	e->prev_ts = 0;
	e->nslots = 0;
	if (e->ntuples)
		ix_reset(&e->tuple_ix);
	e->ntuples = 0;
	if (e->naddrs)
		ix_reset(&e->addr_ix);
	e->naddrs = 0;
	if (e->nnetns)
		ix_reset(&e->netns_ix);
	e->nnetns = 0;
	task_reset(&e->task);
}

bool tl_blkenc_fits(const struct tl_blkenc *e, const struct tl_event *ev, const void *blob,
		    size_t blen, size_t limit)
{
	size_t need = EV_MAX + (blob ? blen + 4 : 0) + (ev->type == TL_EV_STACK ? 4 : 0);

	return e->raw_len + need <= limit && e->nslots < SLOT_CAP && e->ntuples < TUPLE_CAP;
}

int tl_blkenc_add(struct tl_blkenc *e, const struct tl_event *ev, const void *blob,
		  size_t blen)
{
	/* every TL_EV_STACK has its bytes, if none */
	if (ev->type == TL_EV_STACK)
		e->c[S_BLOB] = enc_blob(e->c[S_BLOB], blob, blen);
	return enc_event(e, ev);
}

uint32_t tl_blkenc_events(const struct tl_blkenc *e)
{
	return e->events;
}

void tl_blkenc_raw(struct tl_blkenc *e, struct tl_blk_raw *raw)
{
	uint8_t *t = e->tab;

	for (int k = 0; k < NSEC; k++) {
		raw->part[k + 1] = e->sec[k];
		raw->len[k + 1] = (size_t)(e->c[k] - e->sec[k]);
		t = tl_put_uvarint(t, raw->len[k + 1]);
	}
	raw->part[0] = e->tab;
	raw->len[0] = (size_t)(t - e->tab);
	raw->total = raw->len[0] + e->raw_len;
	raw->events = e->events;
	raw->ids = e->block_ids;
}

/* ---- blocks: the decoder */

struct tl_blkdec *tl_blkdec_new(void)
{
	struct tl_blkdec *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->addrs = malloc(ADDR_CAP * sizeof(*d->addrs));
	if (!d->addrs) {
		free(d);
		return NULL;
	}
	return d;
}

void tl_blkdec_free(struct tl_blkdec *d)
{
	if (!d)
		return;
	free(d->slots.p);
	free(d->tuples.p);
	free(d->addrs);
	free(d);
}

/* Points the section cursors into raw; false if the table does not
 * describe exactly the raw data. */
static bool dec_sections(struct tl_blkdec *d, const uint8_t *raw, size_t raw_len, int nsec)
{
	const uint8_t *p = raw, *end = raw + raw_len;
	uint64_t len[NSEC] = { 0 }, sum = 0;

	for (int k = 0; k < nsec; k++) {
		len[k] = tl_get_uvarint(&p);
		if (len[k] > RAW_CAP)
			return false;
		sum += len[k];
	}
	if (p > end || sum != (uint64_t)(end - p))
		return false;
	for (int k = 0; k < NSEC; k++) {
		d->c[k] = p;
		p += len[k];
		d->e[k] = p;
	}
	return true;
}

bool tl_blkdec_start(struct tl_blkdec *d, const uint8_t *raw, size_t len, uint32_t version,
		     uint32_t nevents, uint32_t ids)
{
	if (!dec_sections(d, raw, len, version == 1 ? NSEC_V1 : NSEC))
		return false;
	d->nevents = nevents;
	d->count = 0;
	d->prev_ts = 0;
	d->ids = ids;
	d->slots.n = d->tuples.n = d->naddrs = d->nnetns = 0;
	task_reset(&d->task);
	return true;
}

bool tl_blkdec_more(const struct tl_blkdec *d)
{
	return d->c[S_HEAD] < d->e[S_HEAD];
}

int tl_blkdec_read(struct tl_blkdec *d, struct tl_event *evs, int max, int *n,
		   const void **blob, size_t *blen)
{
	const uint8_t *c[NSEC];
	int err = 0;

	memcpy(c, d->c, sizeof(c));
	while (*n < max && c[S_HEAD] < d->e[S_HEAD]) {
		err = dec_event(d, c, &evs[*n], blob, blen);
		if (err)
			break;
		if (evs[(*n)++].type == TL_EV_STACK)
			break;
	}
	memcpy(d->c, c, sizeof(c));
	return err;
}

uint32_t tl_blkdec_count(const struct tl_blkdec *d)
{
	return d->count;
}

bool tl_blkdec_consumed(const struct tl_blkdec *d)
{
	for (int k = 0; k < NSEC; k++)
		if (d->c[k] != d->e[k])
			return false;
	return true;
}
