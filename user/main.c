/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tcplinger: trace TCP socket lifecycles and how long each socket lingers
 * in FIN_WAIT2, CLOSE_WAIT and TIME_WAIT.  Command line, signals and the
 * live loop: loader -> lifecycle engine -> output and reports.
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "lifecycle.h"
#include "loader.h"
#include "output.h"
#include "report.h"

#define NSEC_PER_SEC 1000000000ULL
#define POLL_MS 100

struct trace_opts {
	struct tl_filter filter;
	bool events;
	bool json;
	bool verbose;
	bool listeners;
	uint64_t interval_ns;
	uint64_t duration_ns;
	long pid;		/* 0: any */
	size_t max_conns;
	size_t ringbuf_bytes;
};

const char *argp_program_version = "tcplinger 0.1";
const char *argp_program_bug_address = NULL;

static const char doc[] =
	"Trace TCP socket lifecycles: which connections linger in FIN_WAIT2, "
	"CLOSE_WAIT and TIME_WAIT, for how long, and who owns them.\v"
	"Prints one line per finished lifecycle; --events prints every state "
	"transition instead (TIME_WAIT included, which sock:inet_sock_set_state "
	"alone cannot show).  Ctrl-C ends the trace and prints the lifecycles "
	"still open (marked incomplete) and a summary.\n\n"
	"Examples:\n"
	"  tcplinger                     # lifecycles as they end\n"
	"  tcplinger --events -L 80,443  # every transition on local ports 80/443\n"
	"  tcplinger -i 10 -d 60         # summary every 10 s, for a minute\n"
	"  tcplinger --json | jq 'select(.time_wait_ns > 0)'\n";

enum { OPT_NETNS = 1000, OPT_MAX_CONNS, OPT_RINGBUF, OPT_LISTENERS };

static const struct argp_option options[] = {
	{ "events", 'e', NULL, 0, "Print every state transition, as tcpstates does", 0 },
	{ "json", 'j', NULL, 0, "Print JSON lines (lifecycles; transitions too with --events)", 0 },
	{ "interval", 'i', "SECS", 0, "Print a per-state linger summary every SECS", 0 },
	{ "duration", 'd', "SECS", 0, "Stop after SECS", 0 },
	{ "lport", 'L', "PORT[,PORT]", 0, "Only these local ports (up to 8)", 1 },
	{ "rport", 'D', "PORT[,PORT]", 0, "Only these remote ports (up to 8)", 1 },
	{ "ipv4", '4', NULL, 0, "Only IPv4", 1 },
	{ "ipv6", '6', NULL, 0, "Only IPv6", 1 },
	{ "netns", OPT_NETNS, "INODE|PATH", 0,
	  "Only this network namespace: its inode number or a path such as "
	  "/run/netns/NAME or /proc/PID/ns/net", 1 },
	{ "pid", 'p', "PID", 0, "Only connections owned by this process", 1 },
	{ "listeners", OPT_LISTENERS, NULL, 0, "Report listening sockets too", 2 },
	{ "max-conns", OPT_MAX_CONNS, "N", 0,
	  "Track at most N connections; the least recently active are evicted "
	  "(default 1048576)", 2 },
	{ "ringbuf-size", OPT_RINGBUF, "MIB", 0, "BPF ring buffer size in MiB (default 16)", 2 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's diagnostics", 2 },
	{ 0 },
};

static void die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "tcplinger: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see tcplinger --help)\n");
	exit(2);
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* Seconds, possibly fractional: "10", "0.5". */
static bool parse_secs(const char *s, uint64_t *ns)
{
	char *end;
	double v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v > 0) || v > 1e9)
		return false;
	*ns = (uint64_t)(v * NSEC_PER_SEC);
	return *ns > 0;
}

static void parse_ports(const char *arg, uint16_t *ports, int *n, const char *what)
{
	char *copy = strdup(arg), *save = NULL, *tok;

	if (!copy)
		die_usage("out of memory parsing %s", what);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;

		if (!parse_u64(tok, 65535, &v) || v == 0)
			die_usage("invalid port '%s': expected 1-65535, comma separated", tok);
		if (*n == TL_MAX_PORT_FILTER)
			die_usage("too many ports in '%s': at most 8", arg);
		ports[(*n)++] = (uint16_t)v;
	}
	free(copy);
	if (!*n)
		die_usage("invalid port list '%s'", arg);
}

static uint32_t parse_netns(const char *arg)
{
	uint64_t v;
	struct stat st;

	if (parse_u64(arg, UINT32_MAX, &v) && v)
		return (uint32_t)v;
	if (strchr(arg, '/') && stat(arg, &st) == 0)
		return (uint32_t)st.st_ino;
	die_usage("invalid --netns '%s': expected an inode number or a namespace file "
		  "such as /run/netns/NAME", arg);
	return 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct trace_opts *o = state->input;
	uint64_t v;

	switch (key) {
	case 'e':
		o->events = true;
		break;
	case 'j':
		o->json = true;
		break;
	case 'v':
		o->verbose = true;
		break;
	case 'i':
		if (!parse_secs(arg, &o->interval_ns))
			die_usage("invalid --interval '%s': expected a positive number of seconds", arg);
		break;
	case 'd':
		if (!parse_secs(arg, &o->duration_ns))
			die_usage("invalid --duration '%s': expected a positive number of seconds", arg);
		break;
	case 'L':
		parse_ports(arg, o->filter.lports, &o->filter.n_lports, "--lport");
		break;
	case 'D':
		parse_ports(arg, o->filter.rports, &o->filter.n_rports, "--rport");
		break;
	case '4':
	case '6':
		if (o->filter.family)
			die_usage("%s", "-4 and -6 exclude each other");
		o->filter.family = key == '4' ? AF_INET : AF_INET6;
		break;
	case OPT_NETNS:
		o->filter.netns = parse_netns(arg);
		break;
	case 'p':
		if (!parse_u64(arg, INT_MAX, &v) || !v)
			die_usage("invalid --pid '%s': expected a process id", arg);
		o->pid = (long)v;
		break;
	case OPT_LISTENERS:
		o->listeners = true;
		break;
	case OPT_MAX_CONNS:
		if (!parse_u64(arg, UINT32_MAX - 1, &v) || !v)
			die_usage("invalid --max-conns '%s': expected a positive count", arg);
		o->max_conns = (size_t)v;
		break;
	case OPT_RINGBUF:
		if (!parse_u64(arg, 1024, &v) || !v)
			die_usage("invalid --ringbuf-size '%s': expected 1-1024 (MiB)", arg);
		o->ringbuf_bytes = (size_t)v << 20;
		break;
	case ARGP_KEY_ARG:
		die_usage("unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ---- live session --------------------------------------------------- */

struct session {
	const struct trace_opts *opts;
	struct tl_engine *engine;
	struct tl_output out;
	struct tl_report interval;	/* since the last interval summary */
	struct tl_report total;
	uint64_t lost;			/* kernel drops already fed to the engine */
	bool refreshing;		/* seeds now only update tracked sockets */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static bool owner_wanted(const struct session *s, const struct tl_owner *owner)
{
	return !s->opts->pid || owner->pid == s->opts->pid;
}

static void on_transition(const struct tl_transition *t, void *ctx)
{
	struct session *s = ctx;

	if (s->opts->events && owner_wanted(s, &t->owner))
		tl_output_transition(&s->out, t);
}

static void on_lifecycle(const struct tl_lifecycle *lc, void *ctx)
{
	struct session *s = ctx;

	if (!owner_wanted(s, &lc->owner))
		return;
	tl_report_add(&s->interval, lc);
	/* In text mode --events shows transitions in place of lifecycles:
	 * two tables in one stream would not read. */
	if (s->opts->json || !s->opts->events)
		tl_output_lifecycle(&s->out, lc);
}

static int on_event(const struct tl_event *ev, void *ctx)
{
	struct session *s = ctx;

	if (s->refreshing && ev->type == TL_EV_SEED) {
		struct tl_event copy = *ev;

		copy.flags |= TL_F_REFRESH;
		tl_engine_feed(s->engine, &copy);
		return 0;
	}
	tl_engine_feed(s->engine, ev);
	return 0;
}

/* Hands the kernel's drop count to the engine, which distrusts what it
 * has open; then lets the clock move on for endings in their grace. */
static void clock_tick(struct session *s, struct tl_loader *l)
{
	uint64_t t = now_boot_ns(), drops;
	struct tl_event ev = { .ts_ns = t };

	/* Everything reserved before t is in the ring now: take it first. */
	tl_loader_drain(l);
	drops = tl_loader_drops(l);
	if (drops > s->lost) {
		ev.type = TL_EV_LOST;
		ev.aux = drops - s->lost;
		s->lost = drops;
		tl_engine_feed(s->engine, &ev);
	}
	ev.type = TL_EV_TICK;
	ev.aux = 0;
	tl_engine_feed(s->engine, &ev);
}

static void print_summary(struct session *s, uint64_t now, uint64_t since, bool final)
{
	struct tl_engine_stats st;
	const struct tl_report *rep = final ? &s->total : &s->interval;

	tl_engine_stats(s->engine, &st);
	if (final)
		tl_report_merge(&s->total, &s->interval);
	if (s->opts->json) {
		tl_report_print_json(s->out.f, rep, now, now - since, final, s->lost, st.evicted);
	} else {
		char title[96];

		snprintf(title, sizeof(title), final ? "Summary of the whole trace (%.1f s)"
						     : "Summary of the last %.1f s",
			 (double)(now - since) / NSEC_PER_SEC);
		fputc('\n', s->out.f);
		tl_report_print_text(s->out.f, rep, title, s->lost, st.evicted);
		s->out.header_done = false;	/* repeat the header after a summary */
	}
	if (!final) {
		tl_report_merge(&s->total, &s->interval);
		tl_report_reset(&s->interval);
	}
}

static int run_trace(const struct trace_opts *opts)
{
	struct tl_engine_opts eopts = { .max_conns = opts->max_conns, .listeners = opts->listeners };
	struct tl_loader_opts lopts = { .filter = opts->filter, .ringbuf_bytes = opts->ringbuf_bytes,
					.verbose = opts->verbose, .on_event = on_event };
	struct session *s = calloc(1, sizeof(*s));
	struct tl_engine_sink sink;
	struct tl_loader *l = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t start, last_summary, now;
	char err[256];
	int ret;

	if (!s) {
		fprintf(stderr, "tcplinger: out of memory\n");
		return 1;
	}
	s->opts = opts;
	sink = (struct tl_engine_sink){ .transition = on_transition, .lifecycle = on_lifecycle, .ctx = s };
	s->engine = tl_engine_new(&eopts, &sink);
	tl_output_init(&s->out, stdout, opts->json ? TL_FMT_JSON : TL_FMT_TEXT, false);
	s->out.boot_to_real_ns = tl_boot_to_real_ns();
	tl_report_reset(&s->interval);
	tl_report_reset(&s->total);
	lopts.ctx = s;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	ret = tl_loader_open(&l, &lopts, err, sizeof(err));
	if (ret < 0 || !s->engine) {
		fprintf(stderr, "tcplinger: %s\n", ret < 0 ? err : "out of memory");
		tl_engine_free(s->engine);
		free(s);
		return 1;
	}
	/* Sockets that exist already: seeded before the ring is read, so the
	 * engine can tell which queued events a seed already reflects. */
	ret = tl_loader_seed(l);
	if (ret < 0 && opts->verbose)
		fprintf(stderr, "tcplinger: could not list existing sockets: %s\n", strerror(-ret));
	start = last_summary = now_boot_ns();
	fprintf(stderr, "Tracing TCP socket lifecycles%s... Hit Ctrl-C to end.\n",
		opts->events ? " (every transition)" : "");

	while (!stop) {
		ret = tl_loader_poll(l, POLL_MS);
		if (ret < 0 && ret != -EINTR) {
			fprintf(stderr, "tcplinger: reading events failed: %s\n", strerror(-ret));
			break;
		}
		clock_tick(s, l);
		now = now_boot_ns();
		if (opts->interval_ns && now - last_summary >= opts->interval_ns) {
			print_summary(s, now, last_summary, false);
			last_summary = now;
		}
		tl_output_flush(&s->out);
		if (opts->duration_ns && now - start >= opts->duration_ns)
			break;
	}

	clock_tick(s, l);
	/* tw socks may have turned TIME_WAIT without a trace: look again
	 * before reporting what is still open. */
	s->refreshing = true;
	tl_loader_seed(l);
	now = now_boot_ns();
	tl_engine_finish(s->engine, now);
	print_summary(s, now, start, true);
	tl_output_flush(&s->out);
	if (s->lost)
		fprintf(stderr, "tcplinger: %llu events lost: the ring buffer was full "
			"(try --ringbuf-size or narrower filters)\n", (unsigned long long)s->lost);
	{
		struct tl_engine_stats st;

		tl_engine_stats(s->engine, &st);
		if (st.evicted)
			fprintf(stderr, "tcplinger: %llu connections evicted by --max-conns %zu\n",
				(unsigned long long)st.evicted, opts->max_conns);
	}
	tl_loader_close(l);
	tl_engine_free(s->engine);
	free(s);
	return 0;
}

int main(int argc, char **argv)
{
	struct trace_opts opts = { 0 };
	struct argp argp = { options, parse_opt, NULL, doc, NULL, NULL, NULL };

	/* `tcplinger trace ...` and `tcplinger ...` are the same. */
	if (argc > 1 && !strcmp(argv[1], "trace")) {
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	if (argp_parse(&argp, argc, argv, 0, NULL, &opts))
		return 2;
	return run_trace(&opts);
}
