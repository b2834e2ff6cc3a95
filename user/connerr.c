/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "connerr.h"
#include "ports.h"
#include "textbuf.h"
#include "units.h"

#define WINDOW_NS NS_PER_SEC
/* Keys with a window open at once; past that the oldest closes early. */
#define OPEN_MAX 4096

void tl_connerr_of(const struct tl_event *ev, struct tl_connerr *ce)
{
	memset(ce, 0, sizeof(*ce));
	ce->ts_ns = ev->ts_ns;
	ce->count = 1;
	ce->pid = ev->pid;
	memcpy(ce->comm, ev->comm, sizeof(ce->comm));
	ce->err = (uint32_t)ev->aux;
	ce->call = ev->old_state;
	ce->family = ev->family;
	ce->netns = ev->netns;
	if (ce->call == TL_CALL_BIND) {
		ce->port = ev->sport;
		memcpy(ce->addr, ev->saddr, sizeof(ce->addr));
	} else {
		ce->port = ev->dport;
		ce->sport = ev->sport;
		memcpy(ce->addr, ev->daddr, sizeof(ce->addr));
	}
}

bool tl_connerr_same(const struct tl_connerr *a, const struct tl_connerr *b)
{
	return a->pid == b->pid && a->err == b->err && a->call == b->call &&
	       a->family == b->family && a->port == b->port && a->sport == b->sport &&
	       a->netns == b->netns && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static void close_at(struct tl_connerrs *t, uint32_t i, tl_connerr_fn fn, void *ctx)
{
	fn(&t->v[i], ctx);
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
	t->n--;
}

void tl_connerrs_add(struct tl_connerrs *t, const struct tl_event *ev, tl_connerr_fn fn,
		     void *ctx)
{
	struct tl_connerr ce;

	tl_connerr_of(ev, &ce);
	for (uint32_t i = 0; i < t->n; i++) {
		if (!tl_connerr_same(&t->v[i], &ce))
			continue;
		if (ev->ts_ns - t->v[i].ts_ns < WINDOW_NS) {
			t->v[i].count++;
			if (strncmp(t->v[i].comm, ce.comm, sizeof(ce.comm)))
				memcpy(t->v[i].comm, ce.comm, sizeof(ce.comm));
			return;
		}
		close_at(t, i, fn, ctx);
		break;
	}
	if (t->n >= OPEN_MAX)
		close_at(t, 0, fn, ctx);
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 16;
		void *p = realloc(t->v, cap * sizeof(*t->v));

		if (!p) {
			fn(&ce, ctx);	/* reported alone rather than lost */
			return;
		}
		t->v = p;
		t->cap = cap;
	}
	t->v[t->n++] = ce;
}

void tl_connerrs_due(struct tl_connerrs *t, uint64_t now_ns, bool all, tl_connerr_fn fn,
		     void *ctx)
{
	uint32_t i = 0;

	while (i < t->n) {
		if (all || now_ns - t->v[i].ts_ns >= WINDOW_NS)
			close_at(t, i, fn, ctx);
		else
			i++;
	}
}

void tl_connerrs_free(struct tl_connerrs *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

const char *tl_errno_name(uint32_t err, char buf[16])
{
	switch (err) {
	case EADDRINUSE:
		return "EADDRINUSE";
	case EADDRNOTAVAIL:
		return "EADDRNOTAVAIL";
	case ENETUNREACH:
		return "ENETUNREACH";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case EHOSTUNREACH:
		return "EHOSTUNREACH";
	}
	snprintf(buf, 16, "E%u", err);
	return buf;
}

static void put_json_port(struct tl_textbuf *tb, uint16_t port)
{
	if (port)
		tb_u64(tb, port);
	else
		tb_str(tb, "null");
}

void tl_connerr_json(struct tl_textbuf *tb, const struct tl_connerr *ce)
{
	bool bind = ce->call == TL_CALL_BIND;
	char ebuf[16];

	tb_str(tb, "{\"type\":\"connect_error\",\"ts_ns\":");
	tb_u64(tb, ce->ts_ns);
	tb_str(tb, ",\"pid\":");
	tb_u64(tb, ce->pid);
	tb_str(tb, ",\"comm\":");
	tb_json_str(tb, ce->comm, sizeof(ce->comm));
	tb_str(tb, bind ? ",\"call\":\"bind\",\"errno\":\"" : ",\"call\":\"connect\",\"errno\":\"");
	tb_str(tb, tl_errno_name(ce->err, ebuf));
	tb_str(tb, ce->family == AF_INET6 ? "\",\"family\":\"IPv6\"" : "\",\"family\":\"IPv4\"");
	tb_str(tb, bind ? ",\"saddr\":\"" : ",\"daddr\":\"");
	tl_put_addr(tb, ce->family, ce->addr);
	tb_str(tb, bind ? "\",\"sport\":" : "\",\"dport\":");
	put_json_port(tb, ce->port);
	if (!bind) {
		tb_str(tb, ",\"sport\":");
		put_json_port(tb, ce->sport);
	}
	tl_put_json_u64(tb, "netns", ce->netns);
	tl_put_json_u64(tb, "count", ce->count);
	tb_chr(tb, '}');
}

void tl_connerr_text_fit(struct tl_textbuf *tb, const struct tl_connerr *ce, bool narrow)
{
	char ebuf[16];
	bool bind = ce->call == TL_CALL_BIND;

	if (narrow)
		tb_str(tb, bind ? "bind()    " : "connect() ");
	else
		tb_str(tb, bind ? "bind() failed    " : "connect() failed ");
	tb_str_w(tb, tl_errno_name(ce->err, ebuf), -13);
	tb_chr(tb, ' ');
	tb_u64_w(tb, ce->pid, -7);
	tb_chr(tb, ' ');
	if (narrow) {
		tb_text_str_w(tb, ce->comm, 12, -12);
		tb_chr(tb, ' ');
	} else {
		tb_text_str_w(tb, ce->comm, sizeof(ce->comm), -16);
		tb_str(tb, bind ? " at " : " to ");
	}
	tl_put_endpoint(tb, ce->family, ce->addr, ce->port);
	if (!narrow) {
		tb_str(tb, " netns ");
		tb_u64(tb, ce->netns);
	}
	if (ce->count > 1) {
		tb_str(tb, " x");
		tb_u64(tb, ce->count);
	}
}
