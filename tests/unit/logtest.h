/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the transition-log tests share: temporary paths, a PRNG, warning
 * collection, event builders, the expected read-back of events, writing
 * and reading whole logs, and synthetic loopback churn. */
#ifndef TCPLINGER_LOGTEST_H
#define TCPLINGER_LOGTEST_H

#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "idmap.h"
#include "logfile.h"
#include "testev.h"
#include "unit.h"

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)
#define NETNS TEST_NETNS

static uint64_t rng = 88172645463325252ULL;

static inline uint64_t rnd(void)
{
	return xorshift64(&rng);
}

static char tmpdir[] = "/tmp/tl-logfile-XXXXXX";

/* A few at a time stay valid. */
static inline const char *tmp_path(const char *name)
{
	static char paths[8][128];
	static unsigned int next;
	char *path = paths[next++ % 8];

	snprintf(path, sizeof(paths[0]), "%s/%s", tmpdir, name);
	return path;
}

/* Make tmpdir (0) or say why not (-1); tmpdir_remove() at the end. */
static inline int tmpdir_create(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

static inline void tmpdir_remove(void)
{
	if (rmdir(tmpdir))
		perror(tmpdir);
}

/* ---- warnings ---- */

#define MAX_WARN 64
struct warns {
	int n;
	char msg[MAX_WARN][256];
};

static inline void on_warn(const char *msg, void *ctx)
{
	struct warns *w = ctx;

	if (w->n < MAX_WARN)
		snprintf(w->msg[w->n], sizeof(w->msg[0]), "%s", msg);
	w->n++;
}

static inline bool warned(const struct warns *w, const char *what)
{
	for (int i = 0; i < w->n && i < MAX_WARN; i++)
		if (strstr(w->msg[i], what))
			return true;
	return false;
}

/* ---- events ---- */

static inline void set_v4(uint8_t *a, uint32_t host)
{
	memset(a, 0, 16);
	a[0] = (uint8_t)(host >> 24);
	a[1] = (uint8_t)(host >> 16);
	a[2] = (uint8_t)(host >> 8);
	a[3] = (uint8_t)host;
}

static inline struct tl_event ev_state(uint64_t ts, uint64_t sk, int old, int new, uint16_t sport,
				       uint16_t dport)
{
	struct tl_event e = loopback_event(TL_EV_STATE, ts, sk, sport, dport);

	e.old_state = (uint8_t)old;
	e.new_state = (uint8_t)new;
	return e;
}

/* What the reader must give back for in: numbered sockets, no task
 * fields outside process context, no pad. */
struct expecter {
	struct tl_idmap seqs;
	uint32_t n;
};

static inline struct tl_event expect(struct expecter *x, const struct tl_event *in)
{
	struct tl_event out = *in;
	uint32_t v;

	out.drop_seq = 0;	/* not logged */
	if (in->sk_id) {
		if (!tl_idmap_get(&x->seqs, in->sk_id, &v)) {
			v = ++x->n;
			tl_idmap_put(&x->seqs, in->sk_id, v);
		}
		out.sk_id = v;
	}
	if (!(in->flags & TL_F_IN_TASK)) {
		out.pid = out.tid = 0;
		memset(out.comm, 0, sizeof(out.comm));
	}
	return out;
}

static inline struct tl_event *expect_all(const struct tl_event *evs, size_t n)
{
	struct tl_event *out = malloc(n * sizeof(*out) + 1);
	struct expecter x = { 0 };

	for (size_t i = 0; i < n; i++)
		out[i] = expect(&x, &evs[i]);
	tl_idmap_free(&x.seqs);
	return out;
}

/* ---- writing and reading ---- */

static const struct tl_log_header test_hdr = {
	.hostname = "box", .kernel = "6.1.0-test", .options = "record -w x",
	.boot_to_real_ns = 1700000000 * SEC, .created_real_ns = 1700000100 * SEC,
};

/* flush_every > 0: a block per that many events. */
static inline int write_log(const char *path, const struct tl_event *evs, size_t n,
			    size_t flush_every, uint64_t max_size, uint64_t *bounds,
			    size_t *nbounds)
{
	struct tl_log_writer *w;
	char err[256];
	int ret = tl_logw_open(&w, path, &test_hdr, max_size, err, sizeof(err));

	if (ret) {
		fprintf(stderr, "  %s\n", err);
		return ret;
	}
	if (nbounds) {
		*nbounds = 0;
		bounds[(*nbounds)++] = tl_logw_bytes(w);
	}
	for (size_t i = 0; i < n && !ret; i++) {
		ret = tl_logw_add(w, &evs[i]);
		if (!ret && flush_every && (i + 1) % flush_every == 0) {
			ret = tl_logw_flush(w);
			if (nbounds)
				bounds[(*nbounds)++] = tl_logw_bytes(w);
		}
	}
	if (!ret) {
		uint64_t before = tl_logw_bytes(w);

		ret = tl_logw_flush(w);
		if (nbounds && tl_logw_bytes(w) != before)
			bounds[(*nbounds)++] = tl_logw_bytes(w);
	}
	if (!ret)
		CHECK_EQ_U64(tl_logw_events(w), n);
	int cret = tl_logw_close(w);

	return ret ? ret : cret;
}

static inline uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	return buf;
}

static inline void spit(const char *path, const uint8_t *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	fwrite(data, 1, len, f);
	fclose(f);
}

struct readout {
	struct tl_event *evs;
	size_t n;
	int end;		/* tl_logr_next's last return */
	struct warns w;
	struct tl_log_header h;
};

/* path NULL: from data/len (copied to an exact-size buffer, so that any
 * read past the end is caught by the sanitizers). */
static inline int read_log(const char *path, const uint8_t *data, size_t len, struct readout *o,
			   char *err, size_t errlen)
{
	struct tl_log_reader *r;
	uint8_t *copy = NULL;
	size_t cap = 1024;
	int ret;

	memset(o, 0, sizeof(*o));
	if (path) {
		ret = tl_logr_open(&r, path, &o->h, on_warn, &o->w, err, errlen);
	} else {
		copy = malloc(len ? len : 1);
		memcpy(copy, data, len);
		ret = tl_logr_open_mem(&r, copy, len, &o->h, on_warn, &o->w, err, errlen);
	}
	if (ret) {
		free(copy);
		return ret;
	}
	o->evs = malloc(cap * sizeof(*o->evs));
	for (;;) {
		if (o->n == cap) {
			cap *= 2;
			o->evs = realloc(o->evs, cap * sizeof(*o->evs));
		}
		o->end = tl_logr_next(r, &o->evs[o->n]);
		if (o->end <= 0)
			break;
		o->n++;
	}
	/* The end stays the end. */
	CHECK_EQ_U64(tl_logr_next(r, &o->evs[o->n]), o->end);
	tl_logr_close(r);
	free(copy);
	return 0;
}

/* The first n of got equal want exactly; returns how many matched. */
static inline size_t same_events(const struct tl_event *got, const struct tl_event *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (memcmp(&got[i], &want[i], sizeof(*got))) {
			fprintf(stderr, "  event %zu differs: type %u/%u ts %llu/%llu sk %llu/%llu\n",
				i, got[i].type, want[i].type, (unsigned long long)got[i].ts_ns,
				(unsigned long long)want[i].ts_ns, (unsigned long long)got[i].sk_id,
				(unsigned long long)want[i].sk_id);
			return i;
		}
	}
	return n;
}

/* ---- synthetic churn ---- */

static inline int cmp_ts(const void *a, const void *b)
{
	const struct tl_event *x = a, *y = b;

	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

/* Like the tracer's ids: a keyed permutation of a (slab) address. */
static inline uint64_t fake_sk(uint64_t slot)
{
	uint64_t x = 0xffff888100000000ULL + slot * 2304;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * Loopback churn: a client connects to 127.0.0.1:8080 and closes first,
 * 28k connections a second, 12 events each; sockets come from reused
 * slab slots, tw socks expire tw_ns later; a tick every 10 ms.
 */
static inline struct tl_event *churn_stream(size_t conns, uint64_t tw_ns, size_t *nout)
{
	enum { ES = TL_TCP_ESTABLISHED, SS = TL_TCP_SYN_SENT, SR = TL_TCP_SYN_RECV,
	       FW1 = TL_TCP_FIN_WAIT1, FW2 = TL_TCP_FIN_WAIT2, TW = TL_TCP_TIME_WAIT,
	       CL = TL_TCP_CLOSE, CW = TL_TCP_CLOSE_WAIT, LA = TL_TCP_LAST_ACK,
	       LI = TL_TCP_LISTEN };
	const uint64_t gap = SEC / 28000, t0 = 5000 * SEC;
	size_t cap = conns * 12 + (size_t)((conns * gap + tw_ns) / (10 * MS)) + 16, n = 0;
	struct tl_event *evs = malloc(cap * sizeof(*evs));

	for (size_t i = 0; i < conns; i++) {
		uint64_t t = t0 + i * gap + rnd() % 3000;
		uint64_t c = fake_sk(i % 2048), s = fake_sk(2048 + i % 2048);
		uint64_t tw = fake_sk(4096 + i % 65536);
		uint16_t port = (uint16_t)(32768 + i % 28232);
		struct tl_event *e = &evs[n];

#define J() (rnd() % 1500)
		e[0] = ev_state(t, c, CL, SS, 0, 8080);
		in_task(&e[0], 4242, 4242, "client");
		e[1] = ev_state(t + 7000 + J(), s, LI, SR, 8080, port);
		e[2] = ev_state(t + 9000 + J(), c, SS, ES, port, 8080);
		e[3] = ev_state(t + 11000 + J(), s, SR, ES, 8080, port);
		e[4] = ev_state(t + 20000 + J(), c, ES, FW1, port, 8080);
		in_task(&e[4], 4242, 4242, "client");
		e[5] = ev_state(t + 23000 + J(), s, ES, CW, 8080, port);
		e[6] = ev_state(t + 24000 + J(), c, FW1, FW2, port, 8080);
		e[6].flags = TL_F_ORPHAN;
		e[7] = ev_state(t + 30000 + J(), s, CW, LA, 8080, port);
		in_task(&e[7], 777, 778, "server");
		e[8] = ev_state(t + 33000 + J(), tw, 0, TW, port, 8080);
		e[8].type = TL_EV_TW_START;
		e[8].aux = tw_ns;
		e[9] = ev_state(e[8].ts_ns + 200, c, FW2, CL, port, 8080);
		e[9].flags = TL_F_ORPHAN;
		e[10] = ev_state(t + 36000 + J(), s, LA, CL, 8080, port);
		e[11] = ev_state(e[8].ts_ns + tw_ns + rnd() % (4 * MS), tw, 0, TW, port, 8080);
		e[11].type = TL_EV_TW_EXPIRE;
		e[11].aux = e[11].ts_ns - e[8].ts_ns;
#undef J
		n += 12;
	}
	for (uint64_t t = t0; t < t0 + conns * gap + tw_ns && n < cap; t += 10 * MS)
		evs[n++] = (struct tl_event){ .ts_ns = t, .type = TL_EV_TICK };
	qsort(evs, n, sizeof(*evs), cmp_ts);
	*nout = n;
	return evs;
}

#endif /* TCPLINGER_LOGTEST_H */
