/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "hash.h"
#include "records.h"

void tl_records_init(struct tl_records *r)
{
	tl_pool_init(&r->pool, sizeof(struct conn));
	tl_intern_init(&r->addrs, sizeof(struct tl_addr_key));
	tl_intern_init(&r->owners, sizeof(struct tl_owner_key));
	tl_sidemap_init(&r->wide, TL_MAX_PATH * sizeof(uint64_t));
	tl_sidemap_init(&r->tw_entry, sizeof(uint64_t));
}

void tl_records_free(struct tl_records *r)
{
	tl_pool_free(&r->pool);
	tl_intern_free(&r->addrs);
	tl_intern_free(&r->owners);
	tl_sidemap_free(&r->wide);
	tl_sidemap_free(&r->tw_entry);
}

void tl_records_clear(struct tl_records *r)
{
	tl_pool_reset(&r->pool);
	tl_intern_free(&r->addrs);
	tl_intern_free(&r->owners);
	tl_sidemap_clear(&r->wide);
	tl_sidemap_clear(&r->tw_entry);
}

uint32_t tl_records_alloc(struct tl_records *r)
{
	uint32_t i = tl_pool_alloc(&r->pool);
	struct conn *c;

	if (i == TL_REC_NONE)
		return TL_REC_NONE;
	c = tl_rec(r, i);
	memset(c, 0, sizeof(*c));
	c->laddr = c->raddr = c->owner = TL_REC_NONE;
	return i;
}

static void put_tuple(struct tl_records *r, struct conn *c)
{
	if (c->laddr != TL_REC_NONE)
		tl_intern_unref(&r->addrs, c->laddr);
	if (c->raddr != TL_REC_NONE)
		tl_intern_unref(&r->addrs, c->raddr);
	c->laddr = c->raddr = TL_REC_NONE;
}

void tl_records_release(struct tl_records *r, uint32_t i)
{
	struct conn *c = tl_rec(r, i);

	if (c->flags & C_WIDE)
		tl_sidemap_del(&r->wide, i);
	if (c->flags & C_TW_CANCELLED)
		tl_sidemap_del(&r->tw_entry, i);
	put_tuple(r, c);
	if (c->owner != TL_REC_NONE)
		tl_intern_unref(&r->owners, c->owner);
	c->number = 0;
	tl_pool_release(&r->pool, i);
}

/* ---- tuple */

static void addr_key_of(struct tl_addr_key *k, const struct tl_event *ev, const uint8_t *addr)
{
	k->ns = tl_rec_ns_word(ev);
	memcpy(k->addr, addr, 16);
}

bool tl_rec_set_tuple(struct tl_records *r, struct conn *c, const struct tl_event *ev)
{
	struct tl_addr_key k;
	uint32_t l, rm;

	addr_key_of(&k, ev, ev->saddr);
	l = tl_intern_ref(&r->addrs, &k, sizeof(k));
	if (l == TL_REC_NONE)
		return false;
	addr_key_of(&k, ev, ev->daddr);
	rm = tl_intern_ref(&r->addrs, &k, sizeof(k));
	if (rm == TL_REC_NONE) {
		tl_intern_unref(&r->addrs, l);
		return false;
	}
	put_tuple(r, c);
	c->laddr = l;
	c->raddr = rm;
	c->sport = ev->sport;
	c->dport = ev->dport;
	return true;
}

void tl_rec_tuple(const struct tl_records *r, const struct conn *c, struct tl_tuple *t)
{
	const struct tl_addr_key *l = tl_intern_key(&r->addrs, c->laddr);
	const struct tl_addr_key *rm = tl_intern_key(&r->addrs, c->raddr);

	t->family = (uint8_t)l->ns;
	t->sport = c->sport;
	t->dport = c->dport;
	t->netns = (uint32_t)(l->ns >> 32);
	memcpy(t->saddr, l->addr, 16);
	memcpy(t->daddr, rm->addr, 16);
}

static uint64_t tuple_key(uint32_t laddr, uint32_t raddr, uint16_t sport, uint16_t dport)
{
	return tl_fmix64(((uint64_t)laddr << 32 | raddr) ^ tl_fmix64((uint64_t)sport << 16 | dport));
}

uint64_t tl_rec_tuple_key(const struct conn *c)
{
	return tuple_key(c->laddr, c->raddr, c->sport, c->dport);
}

bool tl_rec_event_tuple_key(const struct tl_records *r, const struct tl_event *ev, uint64_t *key)
{
	struct tl_addr_key k;
	uint32_t l, rm;

	addr_key_of(&k, ev, ev->saddr);
	l = tl_intern_find(&r->addrs, &k, sizeof(k));
	addr_key_of(&k, ev, ev->daddr);
	rm = tl_intern_find(&r->addrs, &k, sizeof(k));
	if (l == TL_REC_NONE || rm == TL_REC_NONE)
		return false;
	*key = tuple_key(l, rm, ev->sport, ev->dport);
	return true;
}

/* ---- owner */

/* The record's owner key becomes k. */
static void set_owner_key(struct tl_records *r, struct conn *c, const struct tl_owner_key *k)
{
	uint32_t o = tl_intern_ref(&r->owners, k, sizeof(*k));

	if (o == TL_REC_NONE)
		return;
	if (c->owner != TL_REC_NONE)
		tl_intern_unref(&r->owners, c->owner);
	c->owner = o;
}

void tl_rec_set_owner(struct tl_records *r, struct conn *c, const struct tl_event *ev)
{
	struct tl_owner_key k;
	union {
		uint64_t w;
		uint8_t b[8];
	} last = { .w = ~0ULL };

	memcpy(k.comm, ev->comm, TL_COMM_LEN);
	last.b[7] = 0;
	k.comm[1] &= last.w;	/* comm[TL_COMM_LEN - 1] = '\0', kept a word */
	k.pid = (int32_t)ev->pid;
	k.cgroup = tl_rec_cgroup(r, c);
	set_owner_key(r, c, &k);
}

void tl_rec_set_cgroup(struct tl_records *r, struct conn *c, uint64_t cgroup)
{
	struct tl_owner_key k = { .pid = -1 };

	if (c->owner != TL_REC_NONE)
		k = *(const struct tl_owner_key *)tl_intern_key(&r->owners, c->owner);
	if (k.cgroup == cgroup)
		return;
	k.cgroup = cgroup;
	set_owner_key(r, c, &k);
}

void tl_rec_owner(const struct tl_records *r, const struct conn *c, struct tl_owner *o)
{
	const struct tl_owner_key *k;

	if (c->owner == TL_REC_NONE ||
	    (k = tl_intern_key(&r->owners, c->owner))->pid < 0) {
		memset(o, 0, sizeof(*o));
		o->pid = -1;
		o->none = c->flags & C_OWNERLESS;
		return;
	}
	o->pid = (int32_t)k->pid;
	o->none = false;
	memcpy(o->comm, k->comm, TL_COMM_LEN);
}

/* ---- path times */

void tl_rec_add_wide_time(struct tl_records *r, uint32_t i, struct conn *c, int k, uint64_t ns)
{
	uint64_t *wide;

	if (c->flags & C_WIDE) {
		wide = tl_sidemap_get(&r->wide, i);
	} else {
		wide = tl_sidemap_add(&r->wide, i);
		if (!wide) {
			/* out of memory: the most it can hold */
			if (k < TL_REC_DURS)
				c->dur[k] = UINT32_MAX;
			return;
		}
		for (int j = 0; j < TL_MAX_PATH; j++)
			wide[j] = tl_rec_dur(c, j);
		c->flags |= C_WIDE;
	}
	wide[k] += ns;
}

/* ---- timewait entry */

void tl_rec_set_tw_entry(struct tl_records *r, uint32_t i, uint64_t ns)
{
	uint64_t *at = tl_sidemap_get(&r->tw_entry, i);

	if (!ns) {
		if (at)
			tl_sidemap_del(&r->tw_entry, i);
		return;
	}
	if (!at)
		at = tl_sidemap_add(&r->tw_entry, i);
	if (at)
		*at = ns;
}

uint64_t tl_rec_tw_entry(const struct tl_records *r, uint32_t i)
{
	const uint64_t *at = tl_sidemap_get(&r->tw_entry, i);

	return at ? *at : 0;
}
