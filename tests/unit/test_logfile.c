// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Transition logs: exact round trips, damage the reader must survive,
 * writer errors, and the size the encoding reaches on churn. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "idmap.h"
#include "logfile.h"
#include "unit.h"

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)
#define NETNS 4026531840u
#define FHDR_LEN_OFF 12		/* where the file header keeps its fields length */
#define BHDR_LEN 32

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static char tmpdir[] = "/tmp/tl-logfile-XXXXXX";

/* A few at a time stay valid. */
static const char *tmp_path(const char *name)
{
	static char paths[8][128];
	static unsigned int next;
	char *path = paths[next++ % 8];

	snprintf(path, sizeof(paths[0]), "%s/%s", tmpdir, name);
	return path;
}

/* ---- warnings ---- */

#define MAX_WARN 64
struct warns {
	int n;
	char msg[MAX_WARN][256];
};

static void on_warn(const char *msg, void *ctx)
{
	struct warns *w = ctx;

	if (w->n < MAX_WARN)
		snprintf(w->msg[w->n], sizeof(w->msg[0]), "%s", msg);
	w->n++;
}

static bool warned(const struct warns *w, const char *what)
{
	for (int i = 0; i < w->n && i < MAX_WARN; i++)
		if (strstr(w->msg[i], what))
			return true;
	return false;
}

/* ---- events ---- */

static void set_v4(uint8_t *a, uint32_t host)
{
	memset(a, 0, 16);
	a[0] = (uint8_t)(host >> 24);
	a[1] = (uint8_t)(host >> 16);
	a[2] = (uint8_t)(host >> 8);
	a[3] = (uint8_t)host;
}

static struct tl_event ev_state(uint64_t ts, uint64_t sk, int old, int new, uint16_t sport,
				uint16_t dport)
{
	struct tl_event e = {
		.ts_ns = ts, .sk_id = sk, .type = TL_EV_STATE, .family = AF_INET,
		.old_state = (uint8_t)old, .new_state = (uint8_t)new,
		.sport = sport, .dport = dport, .netns = NETNS,
	};

	set_v4(e.saddr, 0x7f000001);
	set_v4(e.daddr, 0x7f000001);
	return e;
}

static void in_task(struct tl_event *e, uint32_t pid, uint32_t tid, const char *comm)
{
	e->flags |= TL_F_IN_TASK;
	e->pid = pid;
	e->tid = tid;
	snprintf(e->comm, sizeof(e->comm), "%s", comm);
}

/* What the reader must give back for in: numbered sockets, no task
 * fields outside process context, no pad. */
struct expecter {
	struct tl_idmap seqs;
	uint32_t n;
};

static struct tl_event expect(struct expecter *x, const struct tl_event *in)
{
	struct tl_event out = *in;
	uint32_t v;

	out.pad = 0;
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

static struct tl_event *expect_all(const struct tl_event *evs, size_t n)
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
static int write_log(const char *path, const struct tl_event *evs, size_t n,
		     size_t flush_every, uint64_t max_size, uint64_t *bounds, size_t *nbounds)
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

static uint8_t *slurp(const char *path, size_t *len)
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

static void spit(const char *path, const uint8_t *data, size_t len)
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
static int read_log(const char *path, const uint8_t *data, size_t len, struct readout *o,
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
static size_t same_events(const struct tl_event *got, const struct tl_event *want, size_t n)
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

static void roundtrip(const struct tl_event *evs, size_t n, size_t flush_every)
{
	const char *path = tmp_path("rt.tlog");
	struct tl_event *want = expect_all(evs, n);
	struct readout o;
	char err[256];

	CHECK_EQ_U64(write_log(path, evs, n, flush_every, 0, NULL, NULL), 0);
	CHECK_EQ_U64(read_log(path, NULL, 0, &o, err, sizeof(err)), 0);
	CHECK_EQ_U64(o.n, n);
	CHECK_EQ_U64(o.end, 0);
	CHECK_EQ_U64(o.w.n, 0);
	if (o.n == n)
		CHECK_EQ_U64(same_events(o.evs, want, n), n);
	free(o.evs);
	free(want);
	unlink(path);
}

/* ---- synthetic streams ---- */

static const char *comms[] = { "curl", "nginx: worker", "a-very-long-comm", "x" };

/* Everything the format has to carry, at random. */
static void random_event(struct tl_event *e, uint64_t *ts, uint64_t *ids, int nids)
{
	int kind = (int)(rnd() % 100);

	memset(e, 0, sizeof(*e));
	if (kind < 2)
		*ts += rnd();			/* huge jump, even wrapping */
	else if (kind < 10)
		*ts -= rnd() % (5 * SEC);	/* out of order */
	else
		*ts += rnd() % 100000;
	e->ts_ns = *ts;
	e->type = (uint8_t)(1 + rnd() % (TL_EV_TYPE_MAX - 1));
	if (kind == 50)
		e->type = (uint8_t)(rnd() % 256);	/* not a type we know */
	if (e->type == TL_EV_TICK && kind < 90)
		return;
	int s = (int)(rnd() % (unsigned)nids);

	e->sk_id = kind < 95 ? ids[s] : 0;
	e->family = (rnd() & 3) ? AF_INET : AF_INET6;
	if (e->family == AF_INET) {
		set_v4(e->saddr, 0x7f000001);
		set_v4(e->daddr, (rnd() & 1) ? 0x7f000001 : 0x0a000000 + (uint32_t)(s % 7));
	} else {
		e->saddr[15] = 1;
		e->daddr[0] = 0x20;
		e->daddr[1] = 0x01;
		e->daddr[15] = (uint8_t)(s % 5);
	}
	e->sport = (uint16_t)(32768 + s);
	e->dport = (rnd() & 7) ? 8080 : (uint16_t)rnd();
	e->netns = (rnd() & 15) ? NETNS : (uint32_t)rnd();
	e->old_state = (uint8_t)(rnd() % 13);
	e->new_state = (uint8_t)(rnd() % 13);
	if (kind == 51) {
		e->old_state = 15;
		e->new_state = 15;
	} else if (kind == 52) {
		e->old_state = 200;
	}
	e->flags = (uint16_t)(rnd() & 0x7f);
	if (kind == 53)
		e->flags = 0xffff;
	if (kind < 80 || e->type == TL_EV_TW_START || e->type == TL_EV_SEED)
		e->aux = rnd() >> (rnd() % 64);
	/* Task fields are set either way: dropped unless in task. */
	e->pid = 1000 + (uint32_t)(rnd() % 6);
	e->tid = (rnd() & 1) ? e->pid : e->pid + (uint32_t)(rnd() % 3);
	snprintf(e->comm, sizeof(e->comm), "%s", comms[(e->pid + (rnd() % 8 == 0)) % 4]);
	if (kind == 54)
		memset(e->comm, 'z', sizeof(e->comm));	/* no NUL at all */
	if (kind == 55)
		e->comm[14] = 'q';			/* bytes past the NUL */
	e->pad = (uint16_t)rnd();
}

static struct tl_event *random_stream(size_t n)
{
	struct tl_event *evs = malloc(n * sizeof(*evs));
	uint64_t ids[300], ts = 1000 * SEC;

	for (int i = 0; i < 300; i++)
		ids[i] = rnd() | 1;
	for (size_t i = 0; i < n; i++)
		random_event(&evs[i], &ts, ids, 300);
	return evs;
}

static int cmp_ts(const void *a, const void *b)
{
	const struct tl_event *x = a, *y = b;

	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

/* Like the tracer's ids: a keyed permutation of a (slab) address. */
static uint64_t fake_sk(uint64_t slot)
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
static struct tl_event *churn_stream(size_t conns, uint64_t tw_ns, size_t *nout)
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

/* ---- round trips ---- */

static void roundtrip_random_many_blocks(void)
{
	size_t n = 200000;
	struct tl_event *evs = random_stream(n);

	roundtrip(evs, n, 0);
	/* Tiny blocks: every dictionary restarts all the time. */
	roundtrip(evs, 5000, 7);
	free(evs);
}

static void roundtrip_each_type(void)
{
	struct tl_event evs[64];
	size_t n = 0;
	uint64_t t = 100 * SEC;

	for (int type = 0; type <= 255; type += type < 12 ? 1 : 61) {
		struct tl_event e = ev_state(t += 1000, 0x1234 + (uint64_t)type, 1, 2, 40000, 80);

		e.type = (uint8_t)type;
		if (type % 2)
			in_task(&e, 1, 1, "init");
		e.aux = (uint64_t)type * 1000;
		evs[n++] = e;
	}
	/* IPv6 literal, then by dictionary. */
	for (int i = 0; i < 3; i++) {
		struct tl_event e = ev_state(t += 1, 99, 1, 4, 443, 50000);

		e.family = AF_INET6;
		memset(e.saddr, 0xfe, 16);
		memset(e.daddr, 0x20, 16);
		evs[n++] = e;
	}
	evs[n++] = (struct tl_event){ .ts_ns = t + 5, .type = TL_EV_TICK };
	evs[n++] = (struct tl_event){ .ts_ns = t + 6, .type = TL_EV_LOST, .aux = 12345 };
	/* A tick carrying fields it should not have still comes back whole. */
	evs[n] = ev_state(t + 7, 5, 1, 2, 3, 4);
	evs[n++].type = TL_EV_TICK;
	/* Extremes. */
	evs[n++] = (struct tl_event){ .ts_ns = UINT64_MAX, .type = TL_EV_TICK };
	evs[n++] = (struct tl_event){ .ts_ns = 0, .type = TL_EV_TICK, .aux = UINT64_MAX };
	evs[n] = ev_state(1, UINT64_MAX, 255, 255, 65535, 65535);
	evs[n].netns = UINT32_MAX;
	evs[n].flags = 0xffff;
	in_task(&evs[n], UINT32_MAX, 0, "");
	memset(evs[n].comm, 0xff, 16);
	n++;
	/* sk_id 0 with a tuple, and the same sk_id with a new tuple. */
	evs[n++] = ev_state(2, 0, 1, 2, 1, 2);
	evs[n++] = ev_state(3, 99, 4, 5, 1, 2);
	roundtrip(evs, n, 0);
	roundtrip(evs, n, 1);
}

static void roundtrip_churn(void)
{
	size_t n;
	struct tl_event *evs = churn_stream(30000, 1 * SEC, &n);

	roundtrip(evs, n, 0);
	free(evs);
}

static void empty_log(void)
{
	struct readout o;
	char err[256];

	CHECK_EQ_U64(write_log(tmp_path("empty.tlog"), NULL, 0, 0, 0, NULL, NULL), 0);
	CHECK_EQ_U64(read_log(tmp_path("empty.tlog"), NULL, 0, &o, err, sizeof(err)), 0);
	CHECK_EQ_U64(o.n, 0);
	CHECK_EQ_U64(o.end, 0);
	CHECK_EQ_U64(o.w.n, 0);
	free(o.evs);
	unlink(tmp_path("empty.tlog"));
}

static void header_roundtrip(void)
{
	struct tl_log_header h = { .boot_to_real_ns = -42, .created_real_ns = UINT64_MAX };
	struct tl_log_writer *w;
	struct readout o;
	char err[256];

	memset(h.hostname, 'h', sizeof(h.hostname));	/* no NUL: cut at 255 */
	snprintf(h.kernel, sizeof(h.kernel), "6.1.0-18-amd64");
	snprintf(h.options, sizeof(h.options), "record -w /tmp/x --port 80 \"quoted\"");
	CHECK_EQ_U64(tl_logw_open(&w, tmp_path("h.tlog"), &h, 0, err, sizeof(err)), 0);
	CHECK_EQ_U64(tl_logw_close(w), 0);
	CHECK_EQ_U64(read_log(tmp_path("h.tlog"), NULL, 0, &o, err, sizeof(err)), 0);
	CHECK_EQ_U64(o.h.version, TL_LOG_VERSION);
	CHECK_EQ_U64(strlen(o.h.hostname), sizeof(h.hostname) - 1);
	CHECK(!memcmp(o.h.hostname, h.hostname, sizeof(h.hostname) - 1));
	CHECK_STR(o.h.kernel, h.kernel);
	CHECK_STR(o.h.options, h.options);
	CHECK_EQ_U64(o.h.boot_to_real_ns, -42);
	CHECK_EQ_U64(o.h.created_real_ns, UINT64_MAX);
	free(o.evs);
	unlink(tmp_path("h.tlog"));
}

/* A header field from a later version is skipped. */
static void header_unknown_field(void)
{
	size_t len, flen;
	uint8_t *d, *n;
	struct readout o;
	char err[256];

	write_log(tmp_path("u.tlog"), NULL, 0, 0, 0, NULL, NULL);
	d = slurp(tmp_path("u.tlog"), &len);
	flen = d[FHDR_LEN_OFF] | (size_t)d[FHDR_LEN_OFF + 1] << 8;
	n = malloc(len + 7);
	memcpy(n, d, 16);
	memcpy(n + 16, "\x63\x00\x03\x00xyz", 7);	/* tag 99, 3 bytes */
	memcpy(n + 23, d + 16, flen);
	n[FHDR_LEN_OFF] = (uint8_t)(flen + 7);
	n[FHDR_LEN_OFF + 1] = (uint8_t)((flen + 7) >> 8);
	uint32_t crc = (uint32_t)crc32(0, n, (uInt)(16 + flen + 7));

	for (int i = 0; i < 4; i++)
		n[23 + flen + i] = (uint8_t)(crc >> (8 * i));
	CHECK_EQ_U64(read_log(NULL, n, len + 7, &o, err, sizeof(err)), 0);
	CHECK_STR(o.h.hostname, "box");
	CHECK_STR(o.h.options, "record -w x");
	CHECK_EQ_U64(o.h.created_real_ns, 1700000100 * SEC);
	free(o.evs);
	free(d);
	free(n);
	unlink(tmp_path("u.tlog"));
}

/* ---- refusing what is not a log ---- */

static void wrong_magic(void)
{
	const char *path = tmp_path("notalog");
	struct readout o;
	char err[256], want[256];

	spit(path, (const uint8_t *)"hello world, not a log at all\n", 30);
	CHECK(read_log(path, NULL, 0, &o, err, sizeof(err)) < 0);
	snprintf(want, sizeof(want), "%s is not a tcplinger log", path);
	CHECK_STR(err, want);
	CHECK(read_log(NULL, (const uint8_t *)"TCP", 3, &o, err, sizeof(err)) < 0);
	spit(path, (const uint8_t *)"", 0);
	CHECK(read_log(path, NULL, 0, &o, err, sizeof(err)) < 0);
	CHECK(strstr(err, "not a tcplinger log") != NULL);
	CHECK(read_log(tmp_path("missing"), NULL, 0, &o, err, sizeof(err)) == -ENOENT);
	CHECK(strstr(err, "No such file") != NULL);
	unlink(path);
}

static void unknown_version(void)
{
	const char *path = tmp_path("v2.tlog");
	struct tl_event e = ev_state(1, 1, 1, 2, 3, 4);
	struct readout o;
	size_t len;
	uint8_t *d;
	char err[256], want[256];

	write_log(path, &e, 1, 0, 0, NULL, NULL);
	d = slurp(path, &len);
	d[8] = 7;	/* version 7, CRC left stale: version comes first */
	spit(path, d, len);
	CHECK(read_log(path, NULL, 0, &o, err, sizeof(err)) < 0);
	snprintf(want, sizeof(want),
		 "%s: log format version 7 is not supported (this tcplinger reads versions 1 to 2)",
		 path);
	CHECK_STR(err, want);
	d[8] = 1;
	d[20] ^= 1;	/* a header field: its CRC catches it */
	CHECK(read_log(NULL, d, len, &o, err, sizeof(err)) == -EBADMSG);
	CHECK(strstr(err, "corrupt") != NULL);
	free(d);
	unlink(path);
}

/* ---- damage ---- */

/* A few hundred events in blocks of 40. */
static struct tl_event *small_log(const char *path, size_t *n, uint64_t *bounds,
				  size_t *nbounds)
{
	struct tl_event *evs = churn_stream(30, 20 * MS, n);

	CHECK_EQ_U64(write_log(path, evs, *n, 40, 0, bounds, nbounds), 0);
	return evs;
}

static void truncation_everywhere(void)
{
	const char *path = tmp_path("trunc.tlog");
	uint64_t bounds[64];
	size_t n, nb, len;
	struct tl_event *evs = small_log(path, &n, bounds, &nb);
	struct tl_event *want = expect_all(evs, n);
	uint8_t *d = slurp(path, &len);
	char err[256];
	int before = unit_failures;

	CHECK(nb >= 5);
	CHECK_EQ_U64(bounds[nb - 1], len);
	for (size_t cut = 0; cut <= len; cut++) {
		struct readout o;
		size_t whole = 0, events = 0;
		bool at_bound = false;

		for (size_t b = 0; b < nb; b++) {
			if (bounds[b] <= cut)
				whole = b;
			at_bound |= bounds[b] == cut;
		}
		int ret = read_log(NULL, d, cut, &o, err, sizeof(err));

		if (cut < bounds[0]) {
			CHECK(ret < 0);
			continue;
		}
		CHECK_EQ_U64(ret, 0);
		events = whole * 40 < n ? whole * 40 : n;
		CHECK_EQ_U64(o.end, 0);
		CHECK_EQ_U64(o.n, events);
		CHECK_EQ_U64(same_events(o.evs, want, o.n < events ? o.n : events),
			     o.n < events ? o.n : events);
		if (at_bound) {
			CHECK_EQ_U64(o.w.n, 0);
		} else {
			char msg[128];

			snprintf(msg, sizeof(msg), "truncated at byte %zu: the last block is incomplete",
				 cut);
			CHECK_EQ_U64(o.w.n, 1);
			CHECK_STR(o.w.msg[0], msg);
		}
		free(o.evs);
		if (unit_failures != before)
			break;
	}
	free(d);
	free(evs);
	free(want);
	unlink(path);
}

/* Events of every block but bad, in order. */
static void check_all_but(const struct readout *o, const struct tl_event *want, size_t n,
			  size_t per_block, size_t bad)
{
	size_t k = 0;

	CHECK_EQ_U64(o->n, n - per_block);
	for (size_t i = 0; i < n && k < o->n; i++) {
		if (i / per_block == bad)
			continue;
		if (memcmp(&o->evs[k++], &want[i], sizeof(want[i]))) {
			CHECK(!"events of intact blocks come back");
			return;
		}
	}
}

static void bad_crc_block_skipped(void)
{
	const char *path = tmp_path("flip.tlog");
	uint64_t bounds[64];
	size_t n, nb, len;
	struct tl_event *evs = small_log(path, &n, bounds, &nb);
	struct tl_event *want = expect_all(evs, n);
	uint8_t *d = slurp(path, &len);
	struct readout o;
	char err[256], msg[128];

	d[bounds[2] + BHDR_LEN + 10] ^= 0x10;	/* block 2's data */
	spit(path, d, len);
	snprintf(msg, sizeof(msg), "block 2 at byte %llu: bad CRC, skipped",
		 (unsigned long long)bounds[2]);
	/* From memory and through the file reader alike. */
	for (int via_file = 0; via_file < 2; via_file++) {
		CHECK_EQ_U64(read_log(via_file ? path : NULL, d, len, &o, err, sizeof(err)), 0);
		CHECK_EQ_U64(o.w.n, 1);
		CHECK_STR(o.w.msg[0], msg);
		check_all_but(&o, want, n, 40, 2);
		free(o.evs);
	}
	free(d);
	free(evs);
	free(want);
	unlink(path);
}

static void bad_block_header_resyncs(void)
{
	const char *path = tmp_path("hdr.tlog");
	uint64_t bounds[64];
	size_t n, nb, len;
	struct tl_event *evs = small_log(path, &n, bounds, &nb);
	struct tl_event *want = expect_all(evs, n);
	uint8_t *d = slurp(path, &len);
	struct readout o;
	char err[256], msg[128];

	d[bounds[3] + 13] ^= 0x01;	/* block 3's compressed length */
	spit(path, d, len);
	snprintf(msg, sizeof(msg), "corrupt block header at byte %llu, resuming at byte %llu",
		 (unsigned long long)bounds[3], (unsigned long long)bounds[4]);
	for (int via_file = 0; via_file < 2; via_file++) {
		CHECK_EQ_U64(read_log(via_file ? path : NULL, d, len, &o, err, sizeof(err)), 0);
		CHECK(o.w.n >= 1);
		CHECK_STR(o.w.msg[0], msg);
		CHECK(warned(&o.w, "block 4 at byte"));	/* block 3 missing */
		check_all_but(&o, want, n, 40, 3);
		free(o.evs);
	}
	free(d);
	free(evs);
	free(want);
	unlink(path);
}

static void put32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A header whose CRC holds but whose lengths are absurd is not trusted. */
static void huge_lengths(void)
{
	const char *path = tmp_path("huge.tlog");
	uint64_t bounds[64];
	size_t n, nb, len;
	struct tl_event *evs = small_log(path, &n, bounds, &nb);
	struct tl_event *want = expect_all(evs, n);
	uint8_t *d = slurp(path, &len);
	static const int fields[] = { 8, 12, 16 };	/* raw, compressed, events */

	for (size_t f = 0; f < 3; f++) {
		for (int crc_too = 0; crc_too < 2; crc_too++) {
			uint8_t *c = malloc(len);
			uint8_t *b = c + bounds[1];
			struct readout o;
			char err[256];

			memcpy(c, d, len);
			put32le(b + fields[f], 0xffffffffu);
			if (crc_too)
				put32le(b + 28, (uint32_t)crc32(0, b, 28));
			spit(path, c, len);
			for (int via_file = 0; via_file < 2; via_file++) {
				CHECK_EQ_U64(read_log(via_file ? path : NULL, c, len, &o, err,
						      sizeof(err)), 0);
				CHECK(warned(&o.w, "corrupt block header at byte"));
				check_all_but(&o, want, n, 40, 1);
				free(o.evs);
			}
			free(c);
		}
	}
	free(d);
	free(evs);
	free(want);
	unlink(path);
}

/* Garbage of every kind ends reading, never the process. */
static void random_garbage(void)
{
	const char *path = tmp_path("g.tlog");
	uint64_t bounds[64];
	size_t n, nb, len;
	struct tl_event *evs = small_log(path, &n, bounds, &nb);
	uint8_t *d = slurp(path, &len), *c = malloc(len + 4096);

	for (int round = 0; round < 3000; round++) {
		struct readout o;
		size_t clen = len;
		char err[256];

		memcpy(c, d, len);
		switch (round % 4) {
		case 0:	/* pure noise behind a valid header */
			clen = bounds[0] + rnd() % 4096;
			for (size_t i = bounds[0]; i < clen; i++)
				c[i] = (uint8_t)rnd();
			break;
		case 1:	/* a few random bytes overwritten */
			for (int k = 0; k < 1 + round % 5; k++)
				c[rnd() % len] = (uint8_t)rnd();
			break;
		case 2:	/* a run of noise */
			for (size_t i = rnd() % len, e = i + rnd() % 200; i < e && i < len; i++)
				c[i] = (uint8_t)rnd();
			break;
		case 3:	/* noise from the very start */
			clen = rnd() % 64;
			for (size_t i = 0; i < clen; i++)
				c[i] = (uint8_t)rnd();
			break;
		}
		if (!read_log(NULL, c, clen, &o, err, sizeof(err))) {
			CHECK(o.end == 0);
			CHECK(o.n <= n + 4096);
			free(o.evs);
		}
	}
	free(c);
	free(d);
	free(evs);
	unlink(path);
}

/* A block of raw data behind the file header hdr, framed with valid CRCs. */
static uint8_t *frame_block(const uint8_t *hdr, size_t hlen, const uint8_t *raw, size_t rlen,
			    uint32_t nevents, uint32_t ids, size_t *len)
{
	size_t cap = compressBound(rlen) + 64;
	uint8_t *f = malloc(hlen + BHDR_LEN + cap), *b = f + hlen;
	z_stream zs = { 0 };

	memcpy(f, hdr, hlen);
	deflateInit2(&zs, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	zs.next_in = (Bytef *)raw;
	zs.avail_in = (uInt)rlen;
	zs.next_out = b + BHDR_LEN;
	zs.avail_out = (uInt)cap;
	CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
	memcpy(b, "TLBK", 4);
	put32le(b + 4, 0);
	put32le(b + 8, (uint32_t)rlen);
	put32le(b + 12, (uint32_t)zs.total_out);
	put32le(b + 16, nevents);
	put32le(b + 20, (uint32_t)crc32(0, b + BHDR_LEN, (uInt)zs.total_out));
	put32le(b + 24, ids);
	put32le(b + 28, (uint32_t)crc32(0, b, 28));
	*len = hlen + BHDR_LEN + zs.total_out;
	deflateEnd(&zs);
	return f;
}

/*
 * Blocks whose CRCs hold but whose content is wrong (only a buggy or
 * hostile writer makes them): decoding stops at the damage with a
 * warning, never reads out of bounds.
 */
static void crafted_blocks(void)
{
	const char *path = tmp_path("craft.tlog");
	uint64_t bounds[64];
	size_t n, nb, len, rlen, flen;
	struct tl_event *evs = small_log(path, &n, bounds, &nb);
	uint8_t *d = slurp(path, &len), raw[1 << 16], *mut = malloc(sizeof(raw)), *f;
	uint32_t nev = (uint32_t)d[bounds[1] + 16];
	z_stream zs = { 0 };

	/* Block 1's raw data. */
	inflateInit2(&zs, -15);
	zs.next_in = d + bounds[1] + BHDR_LEN;
	zs.avail_in = (uInt)(bounds[2] - bounds[1] - BHDR_LEN);
	zs.next_out = raw;
	zs.avail_out = sizeof(raw);
	CHECK(inflate(&zs, Z_FINISH) == Z_STREAM_END);
	rlen = zs.total_out;
	inflateEnd(&zs);
	for (int round = 0; round < 2000; round++) {
		struct readout o;
		char err[256];
		size_t mlen = rlen;

		memcpy(mut, raw, rlen);
		if (round == 0) {
			/* Huge varints everywhere. */
			memset(mut + 7, 0xff, rlen - 8);
		} else if (round % 3 == 0) {
			mlen = rnd() % (rlen + 1);
		} else {
			for (int k = 0; k < 1 + round % 4; k++)
				mut[rnd() % rlen] = (uint8_t)rnd();
		}
		f = frame_block(d, bounds[0], mut, mlen, round % 5 ? nev : 0x7fffffff,
				(uint32_t)rnd() % 8, &flen);
		if (!read_log(NULL, f, flen, &o, err, sizeof(err))) {
			CHECK_EQ_U64(o.end, 0);
			CHECK(o.n <= nev);
			free(o.evs);
		}
		free(f);
	}
	/* A tuple code of 2^64 - 1 (regression: it wrapped to "newest"). */
	{
		static const uint8_t bad[] = {
			1, 11, 0, 0, 0, 0, 1, 0,		/* section lengths */
			0x11,					/* STATE, new socket */
			0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
			0,					/* ts */
		};
		struct readout o;
		char err[256];

		f = frame_block(d, bounds[0], bad, sizeof(bad), 1, 0, &flen);
		CHECK_EQ_U64(read_log(NULL, f, flen, &o, err, sizeof(err)), 0);
		CHECK_EQ_U64(o.n, 0);
		CHECK(warned(&o.w, "corrupt data after 0 events"));
		free(o.evs);
		free(f);
	}
	/* The unmodified block still reads whole through the same path. */
	f = frame_block(d, bounds[0], raw, rlen, nev, (uint32_t)d[bounds[1] + 24], &flen);
	{
		struct readout o;
		char err[256];

		CHECK_EQ_U64(read_log(NULL, f, flen, &o, err, sizeof(err)), 0);
		CHECK_EQ_U64(o.n, nev);
		CHECK_EQ_U64(o.w.n, 0);
		free(o.evs);
	}
	free(f);
	free(mut);
	free(d);
	free(evs);
	unlink(path);
}

/* Through a pipe fed a few bytes at a time, with a damaged block header
 * on the way: the streaming reader must resync just like from memory. */
static void pipe_short_reads(void)
{
	const char *path = tmp_path("pipe.tlog");
	uint64_t bounds[64];
	size_t n, nb, len;
	struct tl_event *evs = small_log(path, &n, bounds, &nb);
	struct tl_event *want = expect_all(evs, n);
	uint8_t *d = slurp(path, &len);
	struct readout o;
	char err[256], fdpath[64];
	int fds[2];
	pid_t pid;

	d[bounds[2] + 5] ^= 0x40;	/* block 2's sequence number */
	CHECK(!pipe(fds));
	pid = fork();
	if (!pid) {
		close(fds[0]);
		for (size_t off = 0, k = 0; off < len; k++) {
			size_t chunk = 1 + k % 7;

			if (chunk > len - off)
				chunk = len - off;
			if (write(fds[1], d + off, chunk) != (ssize_t)chunk)
				_exit(1);
			off += chunk;
			if (k % 64 == 0)
				usleep(100);
		}
		_exit(0);
	}
	close(fds[1]);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fds[0]);
	CHECK_EQ_U64(read_log(fdpath, NULL, 0, &o, err, sizeof(err)), 0);
	close(fds[0]);
	waitpid(pid, NULL, 0);
	CHECK(warned(&o.w, "corrupt block header at byte"));
	check_all_but(&o, want, n, 40, 2);
	CHECK_STR(o.h.hostname, "box");
	free(o.evs);
	free(d);
	free(evs);
	free(want);
	unlink(path);
}

/* "-" writes to stdout. */
static void write_to_stdout(void)
{
	const char *path = tmp_path("stdout.tlog");
	struct tl_event e = ev_state(5, 9, 1, 4, 1000, 2000);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), saved = dup(1);
	struct readout o;
	char err[256];

	fflush(stdout);
	dup2(fd, 1);
	close(fd);
	CHECK_EQ_U64(write_log("-", &e, 1, 0, 0, NULL, NULL), 0);
	dup2(saved, 1);
	close(saved);
	CHECK_EQ_U64(read_log(path, NULL, 0, &o, err, sizeof(err)), 0);
	CHECK_EQ_U64(o.n, 1);
	CHECK_EQ_U64(o.evs[0].sport, 1000);
	free(o.evs);
	unlink(path);
}

/* ---- writer errors ---- */

static void max_size_efbig(void)
{
	const char *path = tmp_path("cap.tlog");
	size_t n;
	struct tl_event *evs = churn_stream(3000, 20 * MS, &n);
	struct tl_event *want = expect_all(evs, n);
	struct tl_log_writer *w;
	struct readout o;
	char err[256];
	uint64_t written = 0, wbytes = 0;
	size_t i;
	int ret = 0;
	struct stat st;

	CHECK_EQ_U64(tl_logw_open(&w, path, &test_hdr, 4000, err, sizeof(err)), 0);
	for (i = 0; i < n && !ret; i++) {
		ret = tl_logw_add(w, &evs[i]);
		if (!ret && i % 50 == 49)
			ret = tl_logw_flush(w);
	}
	CHECK_EQ_U64(ret, -EFBIG);
	CHECK_EQ_U64(tl_logw_add(w, &evs[0]), -EFBIG);
	CHECK_EQ_U64(tl_logw_flush(w), -EFBIG);
	written = tl_logw_events(w);
	wbytes = tl_logw_bytes(w);
	CHECK(written > 0 && written < n);
	CHECK(wbytes <= 4000);
	CHECK_EQ_U64(tl_logw_close(w), -EFBIG);
	CHECK(!stat(path, &st));
	CHECK_EQ_U64(st.st_size, wbytes);
	CHECK_EQ_U64(read_log(path, NULL, 0, &o, err, sizeof(err)), 0);
	CHECK_EQ_U64(o.w.n, 0);
	CHECK_EQ_U64(o.n, written);
	CHECK_EQ_U64(same_events(o.evs, want, o.n), written);
	free(o.evs);
	/* A cap below the header itself. */
	CHECK_EQ_U64(tl_logw_open(&w, path, &test_hdr, 10, err, sizeof(err)), -EFBIG);
	free(evs);
	free(want);
	unlink(path);
}

static void write_errors_surface(void)
{
	struct tl_event e = ev_state(1, 1, 1, 2, 3, 4);
	struct tl_log_writer *w;
	char err[256], path[64];
	int fds[2];

	CHECK_EQ_U64(tl_logw_open(&w, "/dev/full", &test_hdr, 0, err, sizeof(err)), -ENOSPC);
	CHECK_STR(err, "/dev/full: No space left on device");
	CHECK_EQ_U64(tl_logw_open(&w, "/nonexistent/dir/x.tlog", &test_hdr, 0, err, sizeof(err)),
		     -ENOENT);
	/* A reader that goes away: EPIPE from then on. */
	signal(SIGPIPE, SIG_IGN);
	CHECK(!pipe(fds));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[1]);
	CHECK_EQ_U64(tl_logw_open(&w, path, &test_hdr, 0, err, sizeof(err)), 0);
	close(fds[0]);
	CHECK_EQ_U64(tl_logw_add(w, &e), 0);
	CHECK_EQ_U64(tl_logw_flush(w), -EPIPE);
	CHECK_EQ_U64(tl_logw_add(w, &e), -EPIPE);
	CHECK_EQ_U64(tl_logw_flush(w), -EPIPE);
	CHECK_EQ_U64(tl_logw_events(w), 0);
	CHECK_EQ_U64(tl_logw_close(w), -EPIPE);
	close(fds[1]);
	signal(SIGPIPE, SIG_DFL);
}

static void file_mode_0600(void)
{
	const char *path = tmp_path("mode.tlog");
	struct tl_log_writer *w;
	struct stat st;
	char err[256];
	mode_t old = umask(0);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);

	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ_U64(tl_logw_open(&w, path, &test_hdr, 0, err, sizeof(err)), 0);
	CHECK_EQ_U64(tl_logw_close(w), 0);
	CHECK(!stat(path, &st));
	CHECK_EQ_U64(st.st_mode & 07777, 0600);
	unlink(path);
	CHECK_EQ_U64(tl_logw_open(&w, path, &test_hdr, 0, err, sizeof(err)), 0);
	CHECK_EQ_U64(tl_logw_close(w), 0);
	CHECK(!stat(path, &st));
	CHECK_EQ_U64(st.st_mode & 07777, 0600);
	umask(old);
	unlink(path);
}

/* ---- size and speed ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void churn_bytes_per_event(void)
{
	const char *path = tmp_path("churn.tlog");
	size_t n, got = 0;
	/* 2 s of churn; tw socks expire after 1 s, in the same stream. */
	struct tl_event *evs = churn_stream(56000, 1 * SEC, &n);
	struct tl_log_reader *r;
	struct tl_event ev;
	struct stat st;
	char err[256];
	double t, per, dt;

	t = now_s();
	CHECK_EQ_U64(write_log(path, evs, n, 0, 0, NULL, NULL), 0);
	dt = now_s() - t;
	CHECK(!stat(path, &st));
	per = (double)st.st_size / (double)n;
	printf("# churn: %zu events, %lld bytes, %.2f bytes/event, encode %.0f ns/event\n",
	       n, (long long)st.st_size, per, dt * 1e9 / (double)n);
	CHECK(per <= 8.0);
	t = now_s();
	CHECK_EQ_U64(tl_logr_open(&r, path, NULL, NULL, NULL, err, sizeof(err)), 0);
	while (tl_logr_next(r, &ev) > 0)
		got++;
	tl_logr_close(r);
	dt = now_s() - t;
	printf("# churn: decode %.0f ns/event (%.1f M events/s)\n", dt * 1e9 / (double)n,
	       (double)n / dt / 1e6);
	CHECK_EQ_U64(got, n);
	free(evs);
	unlink(path);
}


/* Leak-hunting events: owners, holders, scans, and stacks with their
 * bytes, which must come back whole, block boundaries or not. */
static void stacks_and_owners(void)
{
	const char *path = tmp_path("stacks.tlog");
	struct tl_log_header h = { .version = TL_LOG_VERSION };
	struct tl_log_writer *w;
	struct tl_log_reader *r;
	struct tl_event in[6], out, *want;
	static char big[TL_LOG_BLOB_MAX];
	const char small[] = "prog\0main+0x1 (m.c:3)";
	char err[256];
	int i, n = 0;

	memset(in, 0, sizeof(in));
	memset(big, 'f', sizeof(big));
	for (i = 0; i < (int)sizeof(big); i += 64)
		big[i + 63] = '\0';
	in[0] = ev_state(1000, 7, TL_TCP_CLOSE, TL_TCP_SYN_SENT, 0, 80);
	in[1] = (struct tl_event){ .type = TL_EV_STACK, .ts_ns = 1001, .aux = 1, .pid = 42,
				   .tid = 43, .flags = TL_F_IN_TASK, .comm = "prog" };
	in[2] = ev_state(1002, 7, 0, TL_TCP_SYN_SENT, 40000, 80);
	in[2].type = TL_EV_OWNER;
	in[2].old_state = TL_OWN_CONNECT;
	in[2].flags = TL_F_IN_TASK;
	in[2].pid = 42;
	in[2].tid = 43;
	memcpy(in[2].comm, "prog", 5);
	in[2].aux = TL_OWN_AUX(1, 5);
	in[3] = (struct tl_event){ .type = TL_EV_SCAN, .ts_ns = 2000 };
	in[4] = in[1];
	in[4].aux = 2;
	in[4].ts_ns = 2001;
	in[5] = in[2];
	in[5].type = TL_EV_HOLDER;
	in[5].old_state = 0;
	in[5].ts_ns = 2000;
	in[5].aux = 5;

	CHECK(tl_logw_open(&w, path, &h, 0, err, sizeof(err)) == 0);
	CHECK(tl_logw_add(w, &in[0]) == 0);
	CHECK(tl_logw_add_blob(w, &in[1], small, sizeof(small)) == 0);
	CHECK(tl_logw_add(w, &in[2]) == 0);
	CHECK(tl_logw_flush(w) == 0);
	CHECK(tl_logw_add(w, &in[3]) == 0);
	CHECK(tl_logw_add_blob(w, &in[4], big, sizeof(big)) == 0);
	CHECK(tl_logw_add_blob(w, &in[4], big, sizeof(big) + 1) == -EINVAL);
	CHECK(tl_logw_add(w, &in[5]) == 0);
	CHECK(tl_logw_close(w) == 0);

	want = expect_all(in, 6);
	CHECK(tl_logr_open(&r, path, NULL, NULL, NULL, err, sizeof(err)) == 0);
	while (tl_logr_next(r, &out) > 0 && n < 6) {
		size_t len;
		const char *blob = tl_logr_blob(r, &len);

		CHECK(!memcmp(&out, &want[n], sizeof(out)));
		if (n == 1) {
			CHECK_EQ_U64(len, sizeof(small));
			CHECK(blob && !memcmp(blob, small, sizeof(small)));
		} else if (n == 4) {
			CHECK_EQ_U64(len, sizeof(big));
			CHECK(blob && !memcmp(blob, big, sizeof(big)));
		} else {
			CHECK(blob == NULL && len == 0);
		}
		n++;
	}
	CHECK_EQ_U64(n, 6);
	tl_logr_close(r);
	free(want);
	unlink(path);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(roundtrip_each_type);
	RUN(roundtrip_random_many_blocks);
	RUN(roundtrip_churn);
	RUN(empty_log);
	RUN(header_roundtrip);
	RUN(header_unknown_field);
	RUN(wrong_magic);
	RUN(unknown_version);
	RUN(stacks_and_owners);
	RUN(truncation_everywhere);
	RUN(bad_crc_block_skipped);
	RUN(bad_block_header_resyncs);
	RUN(huge_lengths);
	RUN(random_garbage);
	RUN(crafted_blocks);
	RUN(pipe_short_reads);
	RUN(write_to_stdout);
	RUN(max_size_efbig);
	RUN(write_errors_surface);
	RUN(file_mode_0600);
	RUN(churn_bytes_per_event);
	if (rmdir(tmpdir))
		perror(tmpdir);
	return UNIT_END();
}
