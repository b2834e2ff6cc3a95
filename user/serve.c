// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcplinger serve: the live trace (live.c: the very same loader, seeding
 * and engine, through a live view as top uses) exported to Prometheus on
 * /metrics.  libmicrohttpd answers on threads of its own; the engine is
 * the tracing loop's alone.  So a scrape only asks: it bumps `wanted` and
 * waits; the loop, at its next tick (within about 100 ms), looks at every
 * socket again (live.c's refresh pass: a tw sock may turn TIME_WAIT
 * without a trace), gathers the gauges, renders the exposition in both formats and hands the finished
 * text over under the mutex.  Metrics are thus as fresh as the scrape,
 * and nothing is gathered while nobody scrapes.
 */
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "listenaddr.h"
#include "loader.h"
#include "metrics.h"
#include "run.h"
#include "session.h"
#include "textbuf.h"
#include "units.h"

#define SCRAPE_WAIT_SEC 5	/* BPF loading aside, a tick comes within 0.1 s */
#define MAX_CLIENTS 32
#define CLIENT_TIMEOUT_SEC 15
#define BPF_STATS_PATH "/proc/sys/kernel/bpf_stats_enabled"

struct serve {
	const struct tl_cli *cli;
	struct tl_listen_addr addr;
	struct tl_live_view view;
	/* the tracing loop's own */
	struct tl_metrics metrics;
	struct tl_loader *loader;
	/* shared with the HTTP threads, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t wanted, rendered;	/* scrape generations asked for, served */
	char *text[2];			/* [openmetrics]: the last exposition */
	size_t len[2];
	bool ended;			/* the trace is over: no more renders */
};

/* ---- the tracing loop's side ---- */

static void on_started(void *ctx, struct tl_loader *l)
{
	struct serve *s = ctx;

	s->loader = l;
	fprintf(stderr, "Serving metrics on http://%s/metrics... Hit Ctrl-C to end.\n",
		s->addr.text);
}

static void on_lifecycle(const struct tl_lifecycle *lc, void *ctx)
{
	struct serve *s = ctx;

	tl_metrics_lifecycle(&s->metrics, lc);
}

static void on_connerr(const struct tl_connerr *ce, void *ctx)
{
	struct serve *s = ctx;

	tl_metrics_connerr(&s->metrics, ce);
}

static void add_prog(const char *name, uint64_t run_ns, uint64_t runs, void *ctx)
{
	tl_metrics_prog(ctx, name, run_ns, runs);
}

static bool bpf_stats_enabled(void)
{
	FILE *f = fopen(BPF_STATS_PATH, "re");
	int c = f ? fgetc(f) : EOF;

	if (f)
		fclose(f);
	return c == '1';
}

/* The tracer's own cost: CPU time, and its programs' run time. */
static void gather_cost(struct serve *s)
{
	struct tl_metrics *m = &s->metrics;
	struct rusage ru;
	bool stats = bpf_stats_enabled();

	if (!getrusage(RUSAGE_SELF, &ru))
		m->cpu_ns = ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * NS_PER_SEC +
			((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * NS_PER_US;
	tl_metrics_prog_reset(m, stats && s->loader);
	if (stats && s->loader && tl_loader_prog_stats(s->loader, add_prog, m) < 0)
		m->bpf_stats = false;
}

static char *render(const struct tl_metrics *m, bool om, size_t *len)
{
	struct tl_textbuf tb;
	char first[1];
	char *out;

	tb_init_grow(&tb, first, sizeof(first));
	tl_metrics_render(m, om, &tb);
	*len = tb.len;
	out = malloc(tb.len + 1);
	if (out)
		memcpy(out, tb.buf, tb.len);
	tb_release(&tb);
	return out;
}

/* A scrape waits: the next tick renders what is open. */
static bool on_refresh_due(void *ctx, uint64_t now_ns)
{
	struct serve *s = ctx;
	bool due;

	(void)now_ns;
	pthread_mutex_lock(&s->mu);
	due = s->wanted != s->rendered;
	pthread_mutex_unlock(&s->mu);
	return due;
}

static bool on_tick(void *ctx, struct tl_session *session, uint64_t now_ns)
{
	struct serve *s = ctx;
	struct tl_session_view v;
	uint64_t want;
	char *text[2];
	size_t len[2];

	pthread_mutex_lock(&s->mu);
	want = s->wanted;
	pthread_mutex_unlock(&s->mu);
	if (want == s->rendered)	/* only this thread moves rendered */
		return true;
	tl_session_view(session, &v);
	tl_metrics_gauges(&s->metrics, v.engine, v.ports, now_ns);
	gather_cost(s);
	for (int om = 0; om < 2; om++)
		text[om] = render(&s->metrics, om, &len[om]);
	pthread_mutex_lock(&s->mu);
	for (int om = 0; om < 2; om++) {
		if (!text[om])	/* out of memory: the last one stays */
			continue;
		free(s->text[om]);
		s->text[om] = text[om];
		s->len[om] = len[om];
	}
	s->rendered = want;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return true;
}

static void on_end(void *ctx)
{
	struct serve *s = ctx;

	pthread_mutex_lock(&s->mu);
	s->ended = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* ---- the HTTP side ---- */

static const char index_page[] =
	"<html><head><title>tcplinger</title></head><body>\n"
	"<h1>tcplinger</h1>\n"
	"<p>TCP socket lifecycles: how long sockets linger in FIN_WAIT2, CLOSE_WAIT and "
	"TIME_WAIT.</p>\n"
	"<p><a href=\"/metrics\">Metrics</a></p>\n"
	"</body></html>\n";

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned int status,
			       const char *type, void *body, size_t len, bool owned)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (owned)
		r = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	else
		r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned int status,
				    const char *text)
{
	return respond(conn, status, "text/plain; charset=utf-8", (void *)text, strlen(text),
		       false);
}

/* Asks the loop for a fresh exposition, waits for it (bounded), copies
 * it.  NULL: none yet (tracing has not started, or out of memory). */
static char *fresh_metrics(struct serve *s, bool om, size_t *len)
{
	struct timespec until;
	uint64_t mine;
	char *copy = NULL;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += SCRAPE_WAIT_SEC;
	pthread_mutex_lock(&s->mu);
	mine = ++s->wanted;
	while (s->rendered < mine && !s->ended)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
			break;
	/* late or over: the last one, if any, is the best there is */
	if (s->text[om]) {
		copy = malloc(s->len[om] ? s->len[om] : 1);
		if (copy) {
			memcpy(copy, s->text[om], s->len[om]);
			*len = s->len[om];
		}
	}
	pthread_mutex_unlock(&s->mu);
	return copy;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct serve *s = cls;
	const char *accept;
	size_t len = 0;
	char *body;
	bool om;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (!strcmp(url, "/"))
		return respond(conn, MHD_HTTP_OK, "text/html; charset=utf-8", (void *)index_page,
			       sizeof(index_page) - 1, false);
	if (strcmp(url, "/metrics"))
		return respond_text(conn, MHD_HTTP_NOT_FOUND, "not found: see /metrics\n");
	accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	om = tl_metrics_wants_openmetrics(accept);
	body = fresh_metrics(s, om, &len);
	if (!body)
		return respond_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				    "tracing has not started yet\n");
	return respond(conn, MHD_HTTP_OK, om ? TL_METRICS_TYPE_OPENMETRICS : TL_METRICS_TYPE_TEXT,
		       body, len, true);
}

/* The listening socket, made here so that its error can be told. */
static int listen_on(const struct tl_listen_addr *a)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, zero = 0;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->ss.ss_family == AF_INET6)	/* ":PORT" takes IPv4 too */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) || listen(fd, 64)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static struct MHD_Daemon *start_http(struct serve *s, int fd)
{
	unsigned int flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD |
		MHD_USE_THREAD_PER_CONNECTION;

	if (s->addr.ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CLIENTS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CLIENT_TIMEOUT_SEC,
				MHD_OPTION_END);
}

static bool init_sync(struct serve *s)
{
	pthread_condattr_t ca;
	bool ok;

	if (pthread_condattr_init(&ca))
		return false;
	ok = !pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) && !pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (ok && pthread_mutex_init(&s->mu, NULL)) {
		pthread_cond_destroy(&s->cv);
		ok = false;
	}
	return ok;
}

int tl_run_serve(struct tl_cli *cli)
{
	struct serve *s = calloc(1, sizeof(*s));
	struct MHD_Daemon *http;
	char why[128];
	int fd, code;

	if (!s || !init_sync(s)) {
		free(s);
		fprintf(stderr, "tcplinger: out of memory\n");
		return 1;
	}
	s->cli = cli;
	if (!tl_listen_parse(cli->listen, &s->addr, why, sizeof(why))) {
		fprintf(stderr, "tcplinger: invalid --listen '%s': %s\n", cli->listen, why);
		code = 2;
		goto out_sync;
	}
	if (!tl_metrics_init(&s->metrics, cli->top_n, cli->min_age_ns, cli->pid)) {
		fprintf(stderr, "tcplinger: out of memory\n");
		code = 1;
		goto out_sync;
	}
	fd = listen_on(&s->addr);
	if (fd < 0) {
		fprintf(stderr, "tcplinger: cannot listen on %s: %s\n", s->addr.text, strerror(-fd));
		code = 1;
		goto out_metrics;
	}
	http = start_http(s, fd);
	if (!http) {
		fprintf(stderr, "tcplinger: cannot serve HTTP on %s\n", s->addr.text);
		close(fd);
		code = 1;
		goto out_metrics;
	}
	s->view = (struct tl_live_view){ .started = on_started, .refresh_due = on_refresh_due,
					 .tick = on_tick,
					 .connerr = on_connerr, .lifecycle = on_lifecycle,
					 .end = on_end, .ctx = s };
	cli->view = &s->view;
	cli->print = true;	/* a session, which the view reads */
	code = tl_run_live(cli);
	on_end(s);
	MHD_stop_daemon(http);	/* its threads, and fd, are gone after this */
out_metrics:
	tl_metrics_free(&s->metrics);
out_sync:
	free(s->text[0]);
	free(s->text[1]);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return code;
}
