// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reading a log ahead on a thread: the caller sees what reading it
 * directly gives, warnings and stacks' bytes included, in the same order,
 * intact or damaged, from memory, files and pipes; stopping at any point
 * ends the thread, even one waiting for a pipe that stays open. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <zlib.h>
#include "logprefetch.h"
#include "logtest.h"

#define BHDR_LEN 32
#define EVERY 50		/* events a block */
#define STACK_EVERY 997		/* a stack with bytes of its own every that many */

/* What a reading gives, as text: warnings, events, stacks' bytes and the
 * offset read to by then, in the order they come. */
struct trace {
	char *buf;
	size_t len, cap;
	uint64_t events, warnings;
};

static void put(struct trace *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct trace *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if ((size_t)n < t->cap - t->len)
			break;
		t->cap = t->cap ? t->cap * 2 : 1 << 16;
		t->buf = realloc(t->buf, t->cap);
	}
	t->len += (size_t)n;
}

static void trace_warn(const char *msg, void *ctx)
{
	struct trace *t = ctx;

	t->warnings++;
	put(t, "W %s\n", msg);
}

static void trace_event(struct trace *t, const struct tl_event *ev, const void *blob, size_t len,
			uint64_t offset)
{
	t->events++;
	put(t, "E %u %llu %llu\n", ev->type, (unsigned long long)ev->ts_ns,
	    (unsigned long long)ev->sk_id);
	if (ev->type == TL_EV_STACK)
		put(t, "B %zu %08lx at %llu\n", len, blob ? crc32(0, blob, (uInt)len) : 0,
		    (unsigned long long)offset);
}

static struct tl_log_reader *open_log(const char *path, const uint8_t *d, size_t len,
				      struct trace *t)
{
	struct tl_log_reader *r = NULL;
	char err[256];

	if (path)
		CHECK_EQ_U64(tl_logr_open(&r, path, NULL, trace_warn, t, err, sizeof(err)), 0);
	else
		CHECK_EQ_U64(tl_logr_open_mem(&r, d, len, NULL, trace_warn, t, err, sizeof(err)), 0);
	return r;
}

/* One read's events; only the last may have bytes. */
static void trace_run(struct trace *t, const struct tl_event *evs, int n, const void *blob,
		      size_t len, uint64_t offset)
{
	for (int i = 0; i < n; i++)
		trace_event(t, &evs[i], i == n - 1 ? blob : NULL, i == n - 1 ? len : 0, offset);
}

static int read_direct(struct tl_log_reader *r, struct trace *t)
{
	struct tl_event evs[TL_LOGP_READ];
	const void *blob;
	size_t len;
	int n;

	while ((n = tl_logr_read(r, evs, TL_LOGP_READ)) > 0) {
		blob = tl_logr_blob(r, &len);
		trace_run(t, evs, n, blob, len, tl_logr_offset(r));
	}
	put(t, "end %d\n", n);
	return n;
}

static int read_ahead(struct tl_log_reader *r, struct trace *t)
{
	struct tl_log_prefetch *p;
	const struct tl_event *evs;
	const void *blob;
	size_t len;
	int n;

	CHECK_EQ_U64(tl_logp_start(&p, r), 0);
	while ((n = tl_logp_read(p, &evs)) > 0) {
		blob = tl_logp_blob(p, &len);
		trace_run(t, evs, n, blob, len, tl_logp_offset(p));
	}
	put(t, "end %d\n", n);
	/* The end stays the end. */
	CHECK_EQ_U64(tl_logp_read(p, &evs), n);
	tl_logp_stop(p);
	return n;
}

/* Churn with stacks among it, a block every EVERY events; bounds[] gets
 * where each block begins. */
static uint8_t *churn_log(const char *path, size_t conns, size_t *len, uint64_t *bounds,
			  size_t *nb)
{
	static char blob[300];
	struct tl_log_writer *w;
	struct tl_event *evs, st;
	size_t n;
	char err[256];

	evs = churn_stream(conns, 20 * MS, &n);
	CHECK_EQ_U64(tl_logw_open(&w, path, &test_hdr, 0, err, sizeof(err)), 0);
	*nb = 0;
	bounds[(*nb)++] = tl_logw_bytes(w);
	for (size_t i = 0; i < n; i++) {
		CHECK_EQ_U64(tl_logw_add(w, &evs[i]), 0);
		if (i % STACK_EVERY == 0) {
			st = (struct tl_event){ .type = TL_EV_STACK, .ts_ns = evs[i].ts_ns,
						.aux = i + 1 };
			memset(blob, 'a' + (int)(i % 26), sizeof(blob));
			CHECK_EQ_U64(tl_logw_add_blob(w, &st, blob, 1 + i % sizeof(blob)), 0);
		}
		if ((i + 1) % EVERY == 0) {
			CHECK_EQ_U64(tl_logw_flush(w), 0);
			bounds[(*nb)++] = tl_logw_bytes(w);
		}
	}
	CHECK_EQ_U64(tl_logw_close(w), 0);
	free(evs);
	return slurp(path, len);
}

/* A churn log on disk and its bytes in memory. */
struct churn {
	const char *path;
	uint64_t bounds[2048];
	size_t len, nb;
	uint8_t *d;
};

static void churn_make(struct churn *c, const char *name, size_t conns)
{
	c->path = tmp_path(name);
	c->d = churn_log(c->path, conns, &c->len, c->bounds, &c->nb);
}

static void churn_remove(struct churn *c)
{
	free(c->d);
	unlink(c->path);
}

/* Read directly and ahead, from memory and from the file: one trace. */
static void same_trace(const char *path, const uint8_t *d, size_t len, uint64_t min_warnings)
{
	struct trace direct = { 0 }, ahead = { 0 };

	spit(path, d, len);
	for (int via_file = 0; via_file < 2; via_file++) {
		struct tl_log_reader *r;

		direct.len = ahead.len = 0;
		direct.events = direct.warnings = ahead.events = ahead.warnings = 0;
		r = open_log(via_file ? path : NULL, d, len, &direct);
		read_direct(r, &direct);
		tl_logr_close(r);
		r = open_log(via_file ? path : NULL, d, len, &ahead);
		read_ahead(r, &ahead);
		tl_logr_close(r);
		/* The traces say something: many events, the damage seen. */
		CHECK(direct.events > 20000);
		CHECK(direct.warnings >= min_warnings);
		CHECK_EQ_U64(ahead.len, direct.len);
		CHECK(ahead.len == direct.len && !memcmp(ahead.buf, direct.buf, direct.len));
	}
	free(direct.buf);
	free(ahead.buf);
}

static void intact_and_damaged(void)
{
	struct churn c;

	churn_make(&c, "ahead.tlog", 3000);
	CHECK(c.nb > 500);
	same_trace(c.path, c.d, c.len, 0);
	c.d[c.bounds[5] + BHDR_LEN + 10] ^= 0x10;	/* block 5's data: bad CRC */
	c.d[c.bounds[170] + 13] ^= 0x01;		/* block 170's header: resync */
	c.d[c.bounds[171] + 13] ^= 0x01;		/* and the next: one more warning at once */
	c.d[c.bounds[400] + BHDR_LEN + 3] ^= 0x40;	/* block 400's data */
	same_trace(c.path, c.d, c.len, 4);
	/* Cut short in the middle of a block: events, then the warning. */
	same_trace(c.path, c.d, (size_t)(c.bounds[c.nb - 3] + 40), 5);
	churn_remove(&c);
}

/* Stopping before the end, at the first run and further on: the thread
 * is ended and everything freed (the sanitizers check that). */
static void stop_early(void)
{
	struct churn c;

	churn_make(&c, "stop.tlog", 3000);
	for (int runs = 0; runs < 60; runs += 7) {
		struct tl_log_prefetch *p;
		struct tl_log_reader *r;
		struct trace t = { 0 };
		const struct tl_event *evs;

		r = open_log(c.path, NULL, 0, &t);
		CHECK_EQ_U64(tl_logp_start(&p, r), 0);
		for (int i = 0; i < runs; i++)
			CHECK(tl_logp_read(p, &evs) > 0);
		tl_logp_stop(p);
		tl_logr_close(r);
		free(t.buf);
	}
	churn_remove(&c);
}

/* A pipe whose writer stays: what it sent so far is read, and a stop
 * does not wait for more. */
static void pipe_left_open(void)
{
	struct tl_log_prefetch *p;
	struct tl_log_reader *r;
	struct trace t = { 0 };
	const struct tl_event *evs;
	uint64_t got = 0, want, sent;
	struct churn c;
	char fdpath[64];
	int fds[2], n;

	churn_make(&c, "pipe.tlog", 60);
	CHECK(c.nb > 4);
	/* Only whole blocks, so that all of it can be read. */
	want = (uint64_t)(c.nb - 2) * EVERY;
	sent = c.bounds[c.nb - 2];
	CHECK_EQ_U64(pipe(fds), 0);
	CHECK(write(fds[1], c.d, sent) == (ssize_t)sent);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fds[0]);
	alarm(20);	/* a hang fails the test */
	r = open_log(fdpath, NULL, 0, &t);
	CHECK_EQ_U64(tl_logp_start(&p, r), 0);
	while (got < want && (n = tl_logp_read(p, &evs)) > 0)
		for (int i = 0; i < n; i++)
			got += evs[i].type != TL_EV_STACK;
	CHECK_EQ_U64(got, want);
	tl_logp_stop(p);
	alarm(0);
	tl_logr_close(r);
	close(fds[0]);
	close(fds[1]);
	free(t.buf);
	churn_remove(&c);
}

int main(void)
{
	if (tmpdir_create())
		return 1;
	RUN(intact_and_damaged);
	RUN(stop_early);
	RUN(pipe_left_open);
	tmpdir_remove();
	return UNIT_END();
}
