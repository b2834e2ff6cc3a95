// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What is open now; see opensum.h. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "grow.h"
#include "layout.h"
#include "opensum.h"
#include "summary.h"
#include "textbuf.h"

/* One socket of a headline state: what the top lists count. */
struct tl_open_sample {
	uint8_t slot;		/* index in tl_summary_headline */
	bool lower_bound;	/* age_ns is a lower bound */
	uint64_t age_ns;	/* time in the state so far */
	struct tl_open_key key;
};

static int headline_slot(int state)
{
	for (int i = 0; i < 3; i++)
		if (tl_summary_headline[i] == state)
			return i;
	return -1;
}

void tl_opensum_reset(struct tl_opensum *o)
{
	free(o->samples);
	memset(o, 0, sizeof(*o));
}

void tl_opensum_free(struct tl_opensum *o)
{
	free(o->samples);
	o->samples = NULL;
	o->nsamples = o->cap = 0;
}

static void add_sample(struct tl_opensum *o, int slot, const struct tl_lifecycle *lc)
{
	struct tl_open_sample *s;

	if (!tl_grow(&o->samples, &o->cap, o->nsamples, sizeof(*o->samples), 256)) {
		o->incomplete_top = true;
		return;
	}
	s = &o->samples[o->nsamples++];
	memset(s, 0, sizeof(*s));
	s->slot = (uint8_t)slot;
	s->age_ns = lc->states[lc->nstates - 1].ns;
	s->lower_bound = lc->seeded && !lc->start_exact && lc->nstates == 1;
	s->key.owner = lc->owner;
	s->key.lport = lc->tuple.sport;
	s->key.rport = lc->tuple.dport;
	s->key.family = lc->tuple.family;
	memcpy(s->key.raddr, lc->tuple.daddr, sizeof(s->key.raddr));
}

void tl_opensum_add(struct tl_opensum *o, const struct tl_lifecycle *lc)
{
	int n = lc->nstates, st, slot;

	if (n <= 0)
		return;
	st = lc->states[n - 1].state;
	if (st <= 0 || st >= TL_TCP_MAX_STATES)	/* ended (CLOSED) or junk */
		return;
	o->sockets++;
	/* An open lifecycle's last span runs up to now: its age in the state. */
	tl_hist_add(&o->state[st].age, lc->states[n - 1].ns);
	/* Seeded and not moved since: in the state since before tracing. */
	if (lc->seeded && !lc->start_exact && n == 1)
		o->state[st].lower_bound = true;
	slot = headline_slot(st);
	if (slot >= 0)
		add_sample(o, slot, lc);
}

/* ---- top lists: sort by (slot, key), count each run ---- */

static int cmp_owner(const struct tl_open_key *a, const struct tl_open_key *b)
{
	if (a->owner.pid != b->owner.pid)
		return a->owner.pid < b->owner.pid ? -1 : 1;
	if (a->owner.none != b->owner.none)
		return a->owner.none ? 1 : -1;
	return strncmp(a->owner.comm, b->owner.comm, sizeof(a->owner.comm));
}

static int cmp_lport(const struct tl_open_key *a, const struct tl_open_key *b)
{
	return (a->lport > b->lport) - (a->lport < b->lport);
}

static int cmp_remote(const struct tl_open_key *a, const struct tl_open_key *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->raddr, b->raddr, sizeof(a->raddr));
	if (c)
		return c;
	return (a->rport > b->rport) - (a->rport < b->rport);
}

typedef int (*key_cmp)(const struct tl_open_key *, const struct tl_open_key *);

static const key_cmp key_cmps[TL_OPEN_BY_MAX] = {
	[TL_OPEN_BY_OWNER] = cmp_owner,
	[TL_OPEN_BY_LPORT] = cmp_lport,
	[TL_OPEN_BY_REMOTE] = cmp_remote,
};

/* qsort has no context argument: the key being ranked, set around it. */
static key_cmp sort_key;

static int cmp_sample(const void *pa, const void *pb)
{
	const struct tl_open_sample *a = pa, *b = pb;

	if (a->slot != b->slot)
		return a->slot < b->slot ? -1 : 1;
	return sort_key(&a->key, &b->key);
}

/* Keeps the TL_OPEN_TOP largest counts.  Runs come in key order and only a
 * larger count moves ahead: ties stay in key order. */
static void offer(struct tl_open_top *t, int by, const struct tl_open_key *key, uint64_t count)
{
	struct tl_open_count *top = t->top[by];
	int i = t->n[by] < TL_OPEN_TOP ? t->n[by]++ : TL_OPEN_TOP;

	while (i > 0 && top[i - 1].count < count) {
		if (i < TL_OPEN_TOP)
			top[i] = top[i - 1];
		i--;
	}
	if (i < TL_OPEN_TOP)
		top[i] = (struct tl_open_count){ .key = *key, .count = count };
}

static void rank_by(struct tl_opensum *o, int by)
{
	size_t i = 0, j;

	if (!o->nsamples)	/* qsort's base must not be NULL, even for none */
		return;
	sort_key = key_cmps[by];
	qsort(o->samples, o->nsamples, sizeof(*o->samples), cmp_sample);
	while (i < o->nsamples) {
		const struct tl_open_sample *s = &o->samples[i];

		for (j = i + 1; j < o->nsamples && s->slot == o->samples[j].slot &&
				!sort_key(&s->key, &o->samples[j].key); j++)
			;
		offer(&o->top[s->slot], by, &s->key, j - i);
		i = j;
	}
}

void tl_opensum_rank(struct tl_opensum *o)
{
	for (int by = 0; by < TL_OPEN_BY_MAX; by++)
		rank_by(o, by);
	tl_opensum_free(o);
}

static void collect_one(const struct tl_lifecycle *lc, void *ctx)
{
	tl_opensum_add(ctx, lc);
}

void tl_opensum_gather(struct tl_opensum *o, struct tl_engine *e, uint64_t now_ns, long pid)
{
	tl_opensum_reset(o);
	tl_engine_each_open(e, now_ns, pid, collect_one, o);
}

void tl_opensum_collect(struct tl_opensum *o, struct tl_engine *e, uint64_t now_ns, long pid)
{
	tl_opensum_gather(o, e, now_ns, pid);
	tl_opensum_rank(o);
}

/* ---- groups: sort by (key, age), one group per run of a key ---- */

static int cmp_sample_age(const void *pa, const void *pb)
{
	const struct tl_open_sample *a = pa, *b = pb;
	int c = sort_key(&a->key, &b->key);

	if (c)
		return c;
	return (a->age_ns > b->age_ns) - (a->age_ns < b->age_ns);
}

/* A run of samples of one key, oldest last. */
static void make_group(struct tl_open_group *g, const struct tl_open_sample *run, size_t n)
{
	/* nearest rank, as exact as the ages: ceil(0.99 n) - 1 */
	size_t p99 = (n * 99 + 99) / 100 - 1;

	memset(g, 0, sizeof(*g));
	g->key = run[0].key;
	g->total = n;
	g->p99_ns = run[p99].age_ns;
	g->max_ns = run[n - 1].age_ns;
	for (size_t i = 0; i < n; i++) {
		g->count[run[i].slot]++;
		g->lower_bound |= run[i].lower_bound;
	}
}

static uint64_t group_value(const struct tl_open_group *g, enum tl_open_sort sort)
{
	switch (sort) {
	case TL_OPEN_SORT_MAX_AGE:
		return g->max_ns;
	case TL_OPEN_SORT_P99_AGE:
		return g->p99_ns;
	default:
		return g->total;
	}
}

static enum tl_open_sort group_sort;

/* Largest first; equal values keep key order (by the index they had). */
static int cmp_group(const void *pa, const void *pb)
{
	const struct tl_open_group *a = pa, *b = pb;
	uint64_t va = group_value(a, group_sort), vb = group_value(b, group_sort);

	if (va != vb)
		return va > vb ? -1 : 1;
	if (a->total != b->total)
		return a->total > b->total ? -1 : 1;
	return sort_key(&a->key, &b->key);
}

size_t tl_opensum_groups(struct tl_opensum *o, enum tl_open_by by, enum tl_open_sort sort,
			 struct tl_open_group *out, size_t max)
{
	struct tl_open_group *all;
	size_t i = 0, j, n = 0;

	if (!o->nsamples)
		return 0;
	all = calloc(o->nsamples, sizeof(*all));
	if (!all) {
		o->incomplete_top = true;
		return 0;
	}
	sort_key = key_cmps[by];
	qsort(o->samples, o->nsamples, sizeof(*o->samples), cmp_sample_age);
	for (; i < o->nsamples; i = j) {
		for (j = i + 1; j < o->nsamples && !sort_key(&o->samples[i].key, &o->samples[j].key);
		     j++)
			;
		make_group(&all[n++], &o->samples[i], j - i);
	}
	group_sort = sort;
	qsort(all, n, sizeof(*all), cmp_group);
	memcpy(out, all, (n < max ? n : max) * sizeof(*out));
	free(all);
	return n;
}

/* ---- output ---- */

static bool state_shown(const struct tl_opensum *o, int st)
{
	return headline_slot(st) >= 0 || o->state[st].age.count;
}

/* A column of ages: ' ', 12 wide, then '+' for a lower bound (or a
 * space before the next column). */
static void put_age(struct tl_textbuf *tb, uint64_t ns, bool lower_bound, bool last)
{
	tb_chr(tb, ' ');
	tb_ms(tb, ns, 12);
	if (lower_bound || !last)
		tb_chr(tb, lower_bound ? '+' : ' ');
}

static void print_table(struct tl_textbuf *tb, const struct tl_opensum *o)
{
	bool any_lower = false;
	int i, st;

	tb_printf(tb, "\nOpen now: %" PRIu64 " sockets\n%-12s %8s %12s  %12s  %12s\n", o->sockets,
		"STATE", "COUNT", "P50_AGE_ms", "P99_AGE_ms", "MAX_AGE_ms");
	for (i = 0; (st = tl_summary_state_at(i)) >= 0; i++) {
		const struct tl_open_state *s = &o->state[st];

		if (!state_shown(o, st))
			continue;
		tb_printf(tb, "%-12s %8" PRIu64, tl_state_name(st), s->age.count);
		if (!s->age.count) {
			tb_printf(tb, " %12s  %12s  %12s\n", "-", "-", "-");
			continue;
		}
		/* the median and the 99th may be exact even when the max is not,
		 * but which are is not known: mark all three */
		put_age(tb, tl_hist_percentile(&s->age, 50), s->lower_bound, false);
		put_age(tb, tl_hist_percentile(&s->age, 99), s->lower_bound, false);
		put_age(tb, s->age.max, s->lower_bound, true);
		tb_chr(tb, '\n');
		any_lower |= s->lower_bound;
	}
	if (any_lower)
		tb_str(tb, "+ a lower bound: some sockets were in this state before tracing began\n");
}

/* A top list entry's key, as text ("4321 app", "8080", "10.0.0.1:80",
 * "[::1]:80") or as JSON fields. */
static void put_key(struct tl_textbuf *tb, int by, const struct tl_open_key *k, bool json)
{
	if (by == TL_OPEN_BY_LPORT) {
		tb_printf(tb, json ? "\"port\":%u" : "%u", k->lport);
	} else if (by == TL_OPEN_BY_REMOTE) {
		bool v6 = k->family == AF_INET6;

		tb_str(tb, json ? "\"addr\":\"" : v6 ? "[" : "");
		if (v6)
			tb_ipv6(tb, k->raddr);
		else
			tb_ipv4(tb, k->raddr);
		tb_printf(tb, json ? "\",\"port\":%u" : v6 ? "]:%u" : ":%u", k->rport);
	} else if (k->owner.pid < 0) {
		if (json)
			tb_str(tb, k->owner.none ? "\"pid\":null,\"comm\":null,\"ownerless\":true"
						 : "\"pid\":null,\"comm\":null");
		else
			tb_str(tb, k->owner.none ? "(none)" : "-");
	} else if (json) {
		tb_printf(tb, "\"pid\":%" PRId32 ",\"comm\":", k->owner.pid);
		tb_json_str(tb, k->owner.comm, sizeof(k->owner.comm));
	} else {
		tb_printf(tb, "%" PRId32 " ", k->owner.pid);
		tb_text_str(tb, k->owner.comm, sizeof(k->owner.comm));
	}
}

void tl_opensum_key_text(struct tl_textbuf *tb, enum tl_open_by by, const struct tl_open_key *k)
{
	put_key(tb, by, k, false);
}

#define TOP_INDENT 25

/* "STATE by WHAT" then "item (count), ...", wrapped to the prose width. */
static void print_top_line(struct tl_textbuf *tb, const char *state, const char *what,
			   const struct tl_open_top *t, int by)
{
	size_t col = TOP_INDENT;

	tb_printf(tb, "%-12s by %-*s", state, TOP_INDENT - 16, what);
	for (int i = 0; i < t->n[by]; i++) {
		char buf[160];
		struct tl_textbuf item;

		tb_init(&item, buf, sizeof(buf));
		put_key(&item, by, &t->top[by][i].key, false);
		tb_printf(&item, " (%" PRIu64 ")", t->top[by][i].count);
		if (i && col + 2 + item.len >= TL_COLS_PROSE) {
			tb_printf(tb, ",\n%*s", TOP_INDENT, "");
			col = TOP_INDENT;
		} else if (i) {
			tb_str(tb, ", ");
			col += 2;
		}
		tb_mem(tb, buf, item.len);
		col += item.len;
	}
	tb_chr(tb, '\n');
}

void tl_opensum_text(struct tl_textbuf *tb, const struct tl_opensum *o)
{
	static const char *const what[TL_OPEN_BY_MAX] = { "owner", "lport", "remote" };

	print_table(tb, o);
	for (int slot = 0; slot < 3; slot++) {
		const struct tl_open_top *t = &o->top[slot];

		if (!o->state[tl_summary_headline[slot]].age.count)
			continue;
		for (int by = 0; by < TL_OPEN_BY_MAX; by++)
			print_top_line(tb, tl_state_name(tl_summary_headline[slot]), what[by], t, by);
	}
	if (o->incomplete_top)
		tb_str(tb, "(out of memory: the top lists miss sockets)\n");
}

static void json_top(struct tl_textbuf *tb, const struct tl_open_top *t)
{
	static const char *const key[TL_OPEN_BY_MAX] = { "owners", "local_ports", "remote" };

	tb_str(tb, ",\"top\":{");
	for (int by = 0; by < TL_OPEN_BY_MAX; by++) {
		tb_printf(tb, "%s\"%s\":[", by ? "," : "", key[by]);
		for (int i = 0; i < t->n[by]; i++) {
			tb_str(tb, i ? ",{" : "{");
			put_key(tb, by, &t->top[by][i].key, true);
			tb_printf(tb, ",\"count\":%" PRIu64 "}", t->top[by][i].count);
		}
		tb_chr(tb, ']');
	}
	tb_chr(tb, '}');
}

void tl_opensum_json(struct tl_textbuf *tb, const struct tl_opensum *o)
{
	bool first = true;
	int i, st;

	tb_str(tb, ",\"open\":{");
	for (i = 0; (st = tl_summary_state_at(i)) >= 0; i++) {
		const struct tl_hist *h = &o->state[st].age;
		int slot = headline_slot(st);

		if (!state_shown(o, st))
			continue;
		tb_printf(tb, "%s\"%s\":{\"count\":%" PRIu64 ",\"p50_ns\":%" PRIu64
			",\"p99_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64 ",\"lower_bound\":%s",
			first ? "" : ",", tl_state_name(st), h->count, tl_hist_percentile(h, 50),
			tl_hist_percentile(h, 99), h->max,
			o->state[st].lower_bound ? "true" : "false");
		if (slot >= 0)
			json_top(tb, &o->top[slot]);
		tb_chr(tb, '}');
		first = false;
	}
	tb_chr(tb, '}');
}
