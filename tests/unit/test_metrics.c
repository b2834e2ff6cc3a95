// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The exporter's counting and exposition (metrics.c) on made-up
 * lifecycles and errors, and serve --listen's parser (listenaddr.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include "connerr.h"
#include "listenaddr.h"
#include "metrics.h"
#include "textbuf.h"
#include "units.h"
#include "unit.h"

/* An ended lifecycle through the given states, ns in each, then CLOSED. */
static struct tl_lifecycle ended(enum tl_end end, const uint8_t *states, const uint64_t *ns,
				 int n)
{
	struct tl_lifecycle lc = { .end = end, .complete = true };

	for (int i = 0; i < n; i++) {
		lc.states[i] = (struct tl_state_span){ .state = states[i], .ns = ns[i] };
		if (states[i] == TL_TCP_CLOSE_WAIT)
			lc.close_wait_ns += ns[i];
		if (states[i] == TL_TCP_TIME_WAIT)
			lc.time_wait_ns += ns[i];
		if (states[i] == TL_TCP_FIN_WAIT2)
			lc.fin_wait2_ns += ns[i];
	}
	lc.states[n].state = TL_STATE_CLOSED;
	lc.nstates = n + 1;
	return lc;
}

static char *render(const struct tl_metrics *m, bool om)
{
	static char buf[1 << 16];
	struct tl_textbuf tb;

	tb_init(&tb, buf, sizeof(buf));
	tl_metrics_render(m, om, &tb);
	return (char *)tb_cstr(&tb);
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

#define CHECK_LINE(text, line) do { \
	if (!has_line(text, line)) { \
		fprintf(stderr, "  %s:%d: no line '%s'\n", __FILE__, __LINE__, line); \
		unit_failures++; \
	} \
} while (0)

static void test_lifecycle_counts(void)
{
	static const uint8_t cw_path[] = { TL_TCP_ESTABLISHED, TL_TCP_CLOSE_WAIT, TL_TCP_LAST_ACK };
	static const uint64_t cw_ns[] = { 5 * NS_PER_MS, 1000 * NS_PER_MS, 1 * NS_PER_MS };
	static const uint8_t tw_path[] = { TL_TCP_FIN_WAIT1, TL_TCP_FIN_WAIT2, TL_TCP_TIME_WAIT };
	static const uint64_t tw_ns[] = { 1 * NS_PER_MS, 2 * NS_PER_MS, 500 * NS_PER_MS };
	struct tl_metrics m;
	struct tl_lifecycle lc;
	char *t;

	CHECK(tl_metrics_init(&m, 10, 30 * NS_PER_SEC, 0));
	lc = ended(TL_END_CLOSED, cw_path, cw_ns, 3);
	tl_metrics_lifecycle(&m, &lc);
	lc = ended(TL_END_TW_KILLED, tw_path, tw_ns, 3);
	tl_metrics_lifecycle(&m, &lc);
	/* still open (evicted): counted by its end, not in a histogram */
	lc = ended(TL_END_UNKNOWN, cw_path, cw_ns, 2);
	lc.nstates = 2;
	tl_metrics_lifecycle(&m, &lc);
	t = render(&m, false);
	CHECK_LINE(t, "# TYPE tcplinger_lifecycles_total counter");
	CHECK_LINE(t, "tcplinger_lifecycles_total{end=\"closed\"} 1");
	CHECK_LINE(t, "tcplinger_lifecycles_total{end=\"tw_killed\"} 1");
	CHECK_LINE(t, "tcplinger_lifecycles_total{end=\"unknown\"} 1");
	CHECK_LINE(t, "tcplinger_lifecycles_total{end=\"reset\"} 0");
	CHECK(!strstr(t, "end=\"none\""));
	/* 1.0 s is in le="1.0" (upper bounds are inclusive), not in 0.5 */
	CHECK_LINE(t, "tcplinger_linger_seconds_bucket{state=\"CLOSE_WAIT\",le=\"0.5\"} 0");
	CHECK_LINE(t, "tcplinger_linger_seconds_bucket{state=\"CLOSE_WAIT\",le=\"1.0\"} 1");
	CHECK_LINE(t, "tcplinger_linger_seconds_bucket{state=\"CLOSE_WAIT\",le=\"+Inf\"} 1");
	CHECK_LINE(t, "tcplinger_linger_seconds_sum{state=\"CLOSE_WAIT\"} 1.000000000");
	CHECK_LINE(t, "tcplinger_linger_seconds_count{state=\"CLOSE_WAIT\"} 1");
	CHECK_LINE(t, "tcplinger_linger_seconds_bucket{state=\"FIN_WAIT2\",le=\"0.001\"} 0");
	CHECK_LINE(t, "tcplinger_linger_seconds_bucket{state=\"FIN_WAIT2\",le=\"0.0025\"} 1");
	CHECK_LINE(t, "tcplinger_linger_seconds_sum{state=\"TIME_WAIT\"} 0.500000000");
	CHECK_LINE(t, "tcplinger_linger_seconds_count{state=\"TIME_WAIT\"} 1");
	CHECK(!strstr(t, "# EOF"));
	tl_metrics_free(&m);
}

static void test_openmetrics(void)
{
	struct tl_metrics m;
	char *t;

	CHECK(tl_metrics_init(&m, 10, 30 * NS_PER_SEC, 0));
	t = render(&m, true);
	CHECK_LINE(t, "# TYPE tcplinger_lifecycles counter");
	CHECK_LINE(t, "# TYPE tcplinger_events_lost counter");
	CHECK_LINE(t, "tcplinger_events_lost_total 0");
	CHECK_LINE(t, "# TYPE tcplinger_sockets gauge");
	CHECK(!strstr(t, "# TYPE tcplinger_lifecycles_total"));
	CHECK(strlen(t) > 6 && !strcmp(t + strlen(t) - 6, "# EOF\n"));
	CHECK(tl_metrics_wants_openmetrics("application/openmetrics-text;version=1.0.0,"
					   "text/plain;version=0.0.4;q=0.5"));
	CHECK(!tl_metrics_wants_openmetrics("text/plain"));
	CHECK(!tl_metrics_wants_openmetrics(NULL));
	tl_metrics_free(&m);
}

static void test_errors_and_labels(void)
{
	struct tl_connerr ce = { .call = TL_CALL_CONNECT, .err = EADDRNOTAVAIL, .count = 3 };
	struct tl_metrics m;
	char *t;

	CHECK(tl_metrics_init(&m, 2, 30 * NS_PER_SEC, 0));
	tl_metrics_connerr(&m, &ce);
	ce.count = 2;
	tl_metrics_connerr(&m, &ce);
	ce.err = ECONNREFUSED;
	tl_metrics_connerr(&m, &ce);
	ce.call = TL_CALL_BIND;
	ce.err = EADDRINUSE;
	tl_metrics_connerr(&m, &ce);
	/* what gather_leaks() leaves: owners' names as the kernel gave them */
	snprintf(m.leaks[0].comm, sizeof(m.leaks[0].comm), "a\"b\\c\nd\x80");
	m.leaks[0].sockets = 4;
	m.nleaks = 1;
	m.leak_other = 2;
	tl_metrics_prog_reset(&m, true);
	tl_metrics_prog(&m, "tl_state", 1500 * NS_PER_MS, 7);
	t = render(&m, false);
	CHECK_LINE(t, "tcplinger_connect_errors_total{errno=\"EADDRNOTAVAIL\"} 5");
	CHECK_LINE(t, "tcplinger_connect_errors_total{errno=\"ECONNREFUSED\"} 2");
	CHECK_LINE(t, "tcplinger_bind_errors_total{errno=\"EADDRINUSE\"} 2");
	CHECK_LINE(t, "tcplinger_close_wait_leak_sockets{comm=\"a\\\"b\\\\c\\nd?\"} 4");
	CHECK_LINE(t, "tcplinger_close_wait_leak_sockets{comm=\"~other\"} 2");
	CHECK_LINE(t, "tcplinger_bpf_run_seconds_total{program=\"tl_state\"} 1.500000000");
	CHECK_LINE(t, "tcplinger_bpf_runs_total{program=\"tl_state\"} 7");
	tl_metrics_prog_reset(&m, false);
	t = render(&m, false);
	CHECK(!strstr(t, "tcplinger_bpf_run_seconds"));
	tl_metrics_free(&m);
}

static void test_listen_parse(void)
{
	static const char *const bad[] = {
		"9100", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
		"127.0.0.1:-1", "127.0.0.1:91x", "300.1.1.1:9100", "::1:9100", "[::1]",
		"[::g]:9100", "host.example:9100", "",
	};
	struct tl_listen_addr a;
	char why[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (tl_listen_parse(bad[i], &a, why, sizeof(why)) || !why[0]) {
			fprintf(stderr, "  --listen '%s' taken, or no reason\n", bad[i]);
			unit_failures++;
		}
	}
	CHECK(tl_listen_parse("127.0.0.1:9100", &a, why, sizeof(why)));
	CHECK_EQ_U64(a.ss.ss_family, AF_INET);
	CHECK_EQ_U64(ntohs(((struct sockaddr_in *)&a.ss)->sin_port), 9100);
	CHECK_STR(a.text, "127.0.0.1:9100");
	CHECK(tl_listen_parse("[::1]:65535", &a, why, sizeof(why)));
	CHECK_EQ_U64(a.ss.ss_family, AF_INET6);
	CHECK_STR(a.text, "[::1]:65535");
	CHECK(tl_listen_parse(":1", &a, why, sizeof(why)));
	CHECK_EQ_U64(a.ss.ss_family, AF_INET6);
	CHECK_STR(a.text, ":1");
	CHECK(tl_listen_parse("localhost:9100", &a, why, sizeof(why)));
	CHECK_STR(a.text, "127.0.0.1:9100");
}

int main(void)
{
	RUN(test_lifecycle_counts);
	RUN(test_openmetrics);
	RUN(test_errors_and_labels);
	RUN(test_listen_parse);
	return UNIT_END();
}
