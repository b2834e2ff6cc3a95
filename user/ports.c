/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "grow.h"
#include "layout.h"
#include "ports.h"
#include "textbuf.h"

/* Destinations and namespaces with errors kept; past that, ignored. */
#define DESTS_MAX 4096
#define PIDS_SEEN 16	/* distinct owners counted per destination */

struct pid_errs {
	uint32_t pid;
	char comm[TL_COMM_LEN];
	uint64_t span, total;
};

/* connect() errors towards one destination. */
struct dest_errs {
	struct tl_dest d;
	uint64_t span, total;
	uint32_t mask_span, mask_total;
	struct pid_errs pids[TL_PORTS_PIDS];
	bool reported;		/* scratch for tl_ports_report() */
};

struct ns_binds {
	uint32_t netns;
	uint64_t span, total;
};

struct tl_ports {
	struct tl_netsysctls sysctls;
	struct dest_errs *errs;
	uint32_t nerrs, caperrs;
	struct ns_binds *binds;
	uint32_t nbinds, capbinds;
};

static bool grow(void **v, uint32_t *cap, uint32_t n, size_t size)
{
	uint32_t c;
	void *p;

	if (n < *cap)
		return true;
	if (n >= DESTS_MAX)
		return false;
	c = *cap ? *cap * 2 : 8;
	p = realloc(*v, c * size);
	if (!p)
		return false;
	*v = p;
	*cap = c;
	return true;
}

struct tl_ports *tl_ports_new(void)
{
	return calloc(1, sizeof(struct tl_ports));
}

void tl_ports_free(struct tl_ports *p)
{
	if (!p)
		return;
	tl_netsysctls_free(&p->sysctls);
	free(p->errs);
	free(p->binds);
	free(p);
}

static void dest_of(const struct tl_tuple *t, struct tl_dest *d)
{
	memset(d, 0, sizeof(*d));
	d->netns = t->netns;
	d->family = t->family;
	d->dport = t->dport;
	memcpy(d->daddr, t->daddr, sizeof(d->daddr));
}

static int dest_cmp(const struct tl_dest *a, const struct tl_dest *b)
{
	if (a->netns != b->netns)
		return a->netns < b->netns ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->dport != b->dport)
		return a->dport < b->dport ? -1 : 1;
	return memcmp(a->daddr, b->daddr, sizeof(a->daddr));
}

static struct dest_errs *find_errs(struct tl_ports *p, const struct tl_dest *d)
{
	for (uint32_t i = 0; i < p->nerrs; i++)
		if (!dest_cmp(&p->errs[i].d, d))
			return &p->errs[i];
	return NULL;
}

static void count_pid(struct pid_errs *pids, const struct tl_event *ev)
{
	int i, least = 0;

	for (i = 0; i < TL_PORTS_PIDS; i++) {
		if (pids[i].total && pids[i].pid != ev->pid) {
			if (pids[i].total < pids[least].total)
				least = i;
			continue;
		}
		break;
	}
	if (i == TL_PORTS_PIDS) {
		/* full: the one with fewest errors makes room */
		i = least;
		memset(&pids[i], 0, sizeof(pids[i]));
	}
	pids[i].pid = ev->pid;
	memcpy(pids[i].comm, ev->comm, sizeof(pids[i].comm));
	pids[i].span++;
	pids[i].total++;
}

static void add_connect_err(struct tl_ports *p, const struct tl_event *ev)
{
	struct tl_dest d = { .netns = ev->netns, .family = ev->family, .dport = ev->dport };
	struct dest_errs *de;
	uint32_t bit = 1u << (ev->aux & 31);

	memcpy(d.daddr, ev->daddr, sizeof(d.daddr));
	de = find_errs(p, &d);
	if (!de) {
		if (!grow((void **)&p->errs, &p->caperrs, p->nerrs, sizeof(*p->errs)))
			return;
		de = &p->errs[p->nerrs++];
		memset(de, 0, sizeof(*de));
		de->d = d;
	}
	de->span++;
	de->total++;
	de->mask_span |= bit;
	de->mask_total |= bit;
	count_pid(de->pids, ev);
}

static struct ns_binds *find_binds(struct tl_ports *p, uint32_t netns)
{
	for (uint32_t i = 0; i < p->nbinds; i++)
		if (p->binds[i].netns == netns)
			return &p->binds[i];
	return NULL;
}

static void add_bind_err(struct tl_ports *p, const struct tl_event *ev)
{
	struct ns_binds *b = find_binds(p, ev->netns);

	if (!b) {
		if (!grow((void **)&p->binds, &p->capbinds, p->nbinds, sizeof(*p->binds)))
			return;
		b = &p->binds[p->nbinds++];
		memset(b, 0, sizeof(*b));
		b->netns = ev->netns;
	}
	b->span++;
	b->total++;
}

void tl_ports_feed(struct tl_ports *p, const struct tl_event *ev)
{
	if (ev->type == TL_EV_SYSCTL)
		tl_netsysctls_add(&p->sysctls, ev);
	else if (ev->type == TL_EV_CONNECT_ERR && ev->old_state == TL_CALL_BIND)
		add_bind_err(p, ev);
	else if (ev->type == TL_EV_CONNECT_ERR)
		add_connect_err(p, ev);
}

bool tl_ports_active(const struct tl_ports *p)
{
	return p->sysctls.n || p->nerrs || p->nbinds;
}

/* ---- the report ---- */

/* An open lifecycle on a local port of its namespace's range. */
struct use {
	struct tl_dest d;
	uint8_t state;
	int32_t pid;
	char comm[TL_COMM_LEN];
};

struct uses {
	struct tl_ports *p;
	struct use *v;
	size_t n, cap;
	bool nomem;
};

static void collect_use(const struct tl_lifecycle *lc, void *ctx)
{
	struct uses *u = ctx;
	const struct tl_netsysctl *s = tl_netsysctls_find(&u->p->sysctls, lc->tuple.netns);
	struct use *x;

	if (!lc->tuple.sport || !lc->nstates || u->nomem)
		return;
	if (s && (lc->tuple.sport < s->port_lo || lc->tuple.sport > s->port_hi))
		return;
	if (!tl_grow(&u->v, &u->cap, u->n, sizeof(*u->v), 256)) {
		u->nomem = true;
		return;
	}
	x = &u->v[u->n];
	dest_of(&lc->tuple, &x->d);
	/* no range known: only destinations with errors are looked at */
	if (!s && !find_errs(u->p, &x->d))
		return;
	x->state = lc->states[lc->nstates - 1].state;
	x->pid = lc->owner.pid;
	memcpy(x->comm, lc->owner.comm, sizeof(x->comm));
	u->n++;
}

static int use_cmp(const void *a, const void *b)
{
	return dest_cmp(&((const struct use *)a)->d, &((const struct use *)b)->d);
}

/* Adds (or finds) pid in the listed pids; NULL when the list is full. */
static struct tl_dest_pid *list_pid(struct tl_pressure *pr, uint32_t pid, const char *comm)
{
	for (int i = 0; i < pr->npids; i++)
		if (pr->pids[i].pid == pid)
			return &pr->pids[i];
	if (pr->npids == TL_PORTS_PIDS)
		return NULL;
	memset(&pr->pids[pr->npids], 0, sizeof(pr->pids[0]));
	pr->pids[pr->npids].pid = pid;
	memcpy(pr->pids[pr->npids].comm, comm, TL_COMM_LEN);
	return &pr->pids[pr->npids++];
}

/* The pids with errors first, most errors first. */
static void list_error_pids(struct tl_pressure *pr, const struct dest_errs *de, bool final)
{
	bool taken[TL_PORTS_PIDS] = { false };

	for (int k = 0; k < TL_PORTS_PIDS; k++) {
		int best = -1;

		for (int i = 0; i < TL_PORTS_PIDS; i++) {
			uint64_t n = final ? de->pids[i].total : de->pids[i].span;

			if (!taken[i] && n &&
			    (best < 0 || n > (final ? de->pids[best].total : de->pids[best].span)))
				best = i;
		}
		if (best < 0)
			break;
		taken[best] = true;
		list_pid(pr, de->pids[best].pid, de->pids[best].comm)->errors =
			final ? de->pids[best].total : de->pids[best].span;
	}
}

/* Then the owners of the sockets in use, most sockets first. */
static void list_owner_pids(struct tl_pressure *pr, const struct use *u, size_t n)
{
	struct tl_dest_pid seen[PIDS_SEEN];
	int nseen = 0;

	for (size_t k = 0; k < n; k++) {
		int i;

		if (u[k].pid < 0)
			continue;
		for (i = 0; i < nseen && seen[i].pid != (uint32_t)u[k].pid; i++)
			;
		if (i == nseen) {
			if (nseen == PIDS_SEEN)
				continue;
			memset(&seen[i], 0, sizeof(seen[i]));
			seen[i].pid = (uint32_t)u[k].pid;
			memcpy(seen[i].comm, u[k].comm, TL_COMM_LEN);
			nseen++;
		}
		seen[i].sockets++;
	}
	for (int k = 0; k < nseen; k++) {
		struct tl_dest_pid *dp;
		int best = k;

		for (int i = k + 1; i < nseen; i++)
			if (seen[i].sockets > seen[best].sockets)
				best = i;
		if (best != k) {
			struct tl_dest_pid t = seen[k];

			seen[k] = seen[best];
			seen[best] = t;
		}
		dp = list_pid(pr, seen[k].pid, seen[k].comm);
		if (dp)
			dp->sockets = seen[k].sockets;
	}
}

static void fill_errors(struct tl_ports *p, struct tl_pressure *pr, struct dest_errs *de,
			bool final)
{
	struct ns_binds *b = find_binds(p, pr->dest.netns);

	if (b)
		pr->bind_errors = final ? b->total : b->span;
	if (!de)
		return;
	de->reported = true;
	pr->errors = final ? de->total : de->span;
	pr->err_mask = final ? de->mask_total : de->mask_span;
	list_error_pids(pr, de, final);
}

bool tl_pressure_half_used(const struct tl_pressure *pr)
{
	uint32_t ports = pr->sysctl ? tl_netsysctl_ports(pr->sysctl) : 0;

	return ports && pr->in_use * 2 >= ports;
}

static bool worth_report(const struct tl_pressure *pr)
{
	return pr->errors || tl_pressure_half_used(pr);
}

void tl_ports_report(struct tl_ports *p, struct tl_engine *e, uint64_t now_ns, bool final,
		     void (*fn)(const struct tl_pressure *pr, void *ctx), void *ctx)
{
	struct uses u = { .p = p };
	struct tl_pressure pr;
	size_t i, j;

	if (!tl_ports_active(p))
		return;
	for (i = 0; i < p->nerrs; i++)
		p->errs[i].reported = false;
	tl_engine_each_open(e, now_ns, 0, collect_use, &u);
	if (u.n)
		qsort(u.v, u.n, sizeof(*u.v), use_cmp);
	for (i = 0; i < u.n; i = j) {
		memset(&pr, 0, sizeof(pr));
		pr.dest = u.v[i].d;
		pr.sysctl = tl_netsysctls_find(&p->sysctls, pr.dest.netns);
		for (j = i; j < u.n && !dest_cmp(&u.v[j].d, &pr.dest); j++) {
			pr.in_use++;
			pr.time_wait += u.v[j].state == TL_TCP_TIME_WAIT;
			pr.fin_wait2 += u.v[j].state == TL_TCP_FIN_WAIT2;
		}
		fill_errors(p, &pr, find_errs(p, &pr.dest), final);
		if (!worth_report(&pr))
			continue;
		list_owner_pids(&pr, &u.v[i], j - i);
		fn(&pr, ctx);
	}
	/* destinations with errors and no port in use */
	for (i = 0; i < p->nerrs; i++) {
		if (p->errs[i].reported)
			continue;
		memset(&pr, 0, sizeof(pr));
		pr.dest = p->errs[i].d;
		pr.sysctl = tl_netsysctls_find(&p->sysctls, pr.dest.netns);
		fill_errors(p, &pr, &p->errs[i], final);
		if (worth_report(&pr))
			fn(&pr, ctx);
	}
	free(u.v);
	if (final)
		return;
	for (i = 0; i < p->nerrs; i++) {
		p->errs[i].span = 0;
		p->errs[i].mask_span = 0;
		for (int k = 0; k < TL_PORTS_PIDS; k++)
			p->errs[i].pids[k].span = 0;
	}
	for (i = 0; i < p->nbinds; i++)
		p->binds[i].span = 0;
}

/* ---- writing it ---- */

void tl_put_addr(struct tl_textbuf *tb, uint8_t family, const uint8_t *addr)
{
	if (family == AF_INET6)
		tb_ipv6(tb, addr);
	else
		tb_ipv4(tb, addr);
}

void tl_put_endpoint(struct tl_textbuf *tb, uint8_t family, const uint8_t *addr, uint16_t port)
{
	tb_str(tb, family == AF_INET6 ? "[" : "");
	tl_put_addr(tb, family, addr);
	tb_str(tb, family == AF_INET6 ? "]:" : ":");
	tb_u64(tb, port);
}

void tl_put_json_u64(struct tl_textbuf *tb, const char *key, uint64_t v)
{
	tb_printf(tb, ",\"%s\":%llu", key, (unsigned long long)v);
}

void tl_pressure_json(struct tl_textbuf *tb, const struct tl_pressure *pr, bool final)
{
	const struct tl_netsysctl *s = pr->sysctl;

	tb_str(tb, "{\"type\":\"port_pressure\",\"final\":");
	tb_str(tb, final ? "true" : "false");
	tl_put_json_u64(tb, "netns", pr->dest.netns);
	tb_str(tb, pr->dest.family == AF_INET6 ? ",\"family\":\"IPv6\",\"daddr\":\""
					       : ",\"family\":\"IPv4\",\"daddr\":\"");
	tl_put_addr(tb, pr->dest.family, pr->dest.daddr);
	tb_str(tb, "\",\"dport\":");
	tb_u64(tb, pr->dest.dport);
	tb_str(tb, ",\"local_ports\":");
	if (s) {
		tb_printf(tb, "%u,\"port_range\":[%u,%u],\"reserved\":%u", tl_netsysctl_ports(s),
			  s->port_lo, s->port_hi, s->reserved);
	} else {
		tb_str(tb, "null,\"port_range\":null,\"reserved\":null");
	}
	tl_put_json_u64(tb, "in_use", pr->in_use);
	tl_put_json_u64(tb, "time_wait", pr->time_wait);
	tl_put_json_u64(tb, "fin_wait2", pr->fin_wait2);
	tl_put_json_u64(tb, "connect_errors", pr->errors);
	tl_put_json_u64(tb, "bind_errors", pr->bind_errors);
	tb_str(tb, ",\"pids\":[");
	for (int i = 0; i < pr->npids; i++) {
		tb_str(tb, i ? ",{\"pid\":" : "{\"pid\":");
		tb_u64(tb, pr->pids[i].pid);
		tb_str(tb, ",\"comm\":");
		tb_json_str(tb, pr->pids[i].comm, TL_COMM_LEN);
		tl_put_json_u64(tb, "errors", pr->pids[i].errors);
		tl_put_json_u64(tb, "sockets", pr->pids[i].sockets);
		tb_chr(tb, '}');
	}
	tb_str(tb, "],\"advice\":");
	{
		char buf[2048];
		struct tl_textbuf a;

		tb_init(&a, buf, sizeof(buf));
		tl_ports_advice(&a, pr);
		tb_json_str(tb, tb_cstr(&a), a.len);
	}
	tb_chr(tb, '}');
}

/* How many of the destination's ports are taken. */
static void pressure_counts(struct tl_textbuf *tb, const struct tl_pressure *pr)
{
	const struct tl_netsysctl *s = pr->sysctl;

	tb_u64(tb, pr->in_use);
	if (s) {
		tb_printf(tb, " of %u local ports in use (%u-%u)", tl_netsysctl_ports(s),
			  s->port_lo, s->port_hi);
	} else {
		tb_str(tb, " local ports in use (range not known)");
	}
	tb_str(tb, ", ");
	tb_u64(tb, pr->time_wait);
	tb_str(tb, " in TIME_WAIT, ");
	tb_u64(tb, pr->errors);
	tb_str(tb, " connect() errors");
}

/* The headline and the advice are prose: wrapped at TL_COLS_PROSE. */
void tl_pressure_text(struct tl_textbuf *tb, const struct tl_pressure *pr)
{
	char buf[2048];
	struct tl_textbuf t;

	tb_str(tb, "Port pressure towards ");
	tl_put_endpoint(tb, pr->dest.family, pr->dest.daddr, pr->dest.dport);
	tb_str(tb, " (netns ");
	tb_u64(tb, pr->dest.netns);
	tb_str(tb, "):\n    ");
	tb_init(&t, buf, sizeof(buf));
	pressure_counts(&t, pr);
	tl_wrap(tb, t.buf, t.len, 4, TL_COLS_PROSE, 4);
	tb_chr(tb, '\n');
	for (int i = 0; i < pr->npids; i++) {
		tb_str(tb, "    pid ");
		tb_u64_w(tb, pr->pids[i].pid, -7);
		tb_chr(tb, ' ');
		tb_text_str_w(tb, pr->pids[i].comm, TL_COMM_LEN, -16);
		tb_chr(tb, ' ');
		tb_u64(tb, pr->pids[i].errors);
		tb_str(tb, " errors, ");
		tb_u64(tb, pr->pids[i].sockets);
		tb_str(tb, " sockets\n");
	}
	tb_init(&t, buf, sizeof(buf));
	tl_ports_advice(&t, pr);
	tb_str(tb, "    advice: ");
	tl_wrap(tb, t.buf, t.len, 12, TL_COLS_PROSE, 12);
	tb_chr(tb, '\n');
}
