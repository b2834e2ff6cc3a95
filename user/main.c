/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tcplinger: trace TCP socket lifecycles and how long each socket lingers
 * in FIN_WAIT2, CLOSE_WAIT and TIME_WAIT.  Command line and dispatch.
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cgroupfs.h"
#include "layout.h"
#include "listenaddr.h"
#include "netns.h"
#include "units.h"
#include "run.h"
#include "stacks.h"


const char *argp_program_version = "tcplinger 0.1";

enum {
	OPT_NETNS = 1000, OPT_MAX_CONNS, OPT_RINGBUF, OPT_LISTENERS, OPT_CSV,
	OPT_MAX_SIZE, OPT_PRINT, OPT_FROM, OPT_TO, OPT_LEAKS, OPT_MIN_AGE, OPT_MAX_STACKS,
	OPT_OPEN_LIST, OPT_WIDTH, OPT_LISTEN, OPT_TOP, OPT_CGROUP,
};

#define DEFAULT_MIN_AGE_NS (30 * NS_PER_SEC)
#define DEFAULT_LISTEN ":9478"
#define DEFAULT_TOP_OWNERS 10
#define MAX_TOP_OWNERS 1000
#define DURATION_HINT "expected a duration such as 10 (seconds), 500ms, 30s, 5m or 1h"

/* Option groups; each subcommand takes the ones that make sense for it. */
static const struct argp_option report_options[] = {
	{ NULL, 0, NULL, 0, "Reports:", 1 },
	{ "events", 'e', NULL, 0, "Print every state transition, as tcpstates does", 1 },
	{ "json", 'j', NULL, 0, "JSON lines (lifecycles; transitions too with --events)", 1 },
	{ "csv", OPT_CSV, NULL, 0, "CSV: one row per lifecycle, one column per state", 1 },
	{ "interval", 'i', "TIME", 0, "A per-state linger summary every TIME (10, 500ms, 30s, 5m, 1h; a bare number is seconds)", 1 },
	{ "wide", 'W', NULL, 0, "Text columns wide enough for IPv6 addresses", 1 },
	{ "width", OPT_WIDTH, "COLS", 0, "Lay text out for COLS columns: under 120, the narrow "
	  "layout that fits 80 (default: a terminal's width, else 120)", 1 },
	{ "pid", 'p', "PID", 0, "Only connections owned by this process", 1 },
	{ "listeners", OPT_LISTENERS, NULL, 0, "Report listening sockets too", 1 },
	{ "show-cgroup", 'C', NULL, 0, "Text and CSV: add each socket's cgroup (its "
	  "container's short id when it has one; JSON always has them)", 1 },
	{ "open-list", OPT_OPEN_LIST, NULL, 0,
	  "Text: at the end, list every lifecycle still open (the summary counts them)", 1 },
	{ "max-conns", OPT_MAX_CONNS, "N", 0,
	  "Track at most N connections; the least recently active are evicted "
	  "(default 1048576)", 1 },
	{ 0 },
};

static const struct argp_option filter_options[] = {
	{ NULL, 0, NULL, 0, "Filters:", 2 },
	{ "lport", 'L', "PORT[,PORT]", 0, "Only these local ports (up to 8)", 2 },
	{ "rport", 'D', "PORT[,PORT]", 0, "Only these remote ports (up to 8)", 2 },
	{ "ipv4", '4', NULL, 0, "Only IPv4", 2 },
	{ "ipv6", '6', NULL, 0, "Only IPv6", 2 },
	{ "netns", OPT_NETNS, "INODE|PATH", 0,
	  "Only this network namespace: its inode number or a path such as "
	  "/run/netns/NAME or /proc/PID/ns/net", 2 },
	{ "cgroup", OPT_CGROUP, "PATH", 0,
	  "Only sockets made in this cgroup v2 or below it: its path under the cgroup2 "
	  "mount (/system.slice/nginx.service) or its directory", 2 },
	{ 0 },
};

/* Under live_options' "Tracing:" header (every subcommand with -d has it). */
static const struct argp_option duration_options[] = {
	{ "duration", 'd', "TIME", 0, "Stop after TIME (e.g. 60, 90s, 5m)", 3 },
	{ 0 },
};

static const struct argp_option live_options[] = {
	{ NULL, 0, NULL, 0, "Tracing:", 3 },
	{ "ringbuf-size", OPT_RINGBUF, "MIB", 0, "BPF ring buffer size in MiB (default 16)", 3 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's diagnostics", 3 },
	{ 0 },
};

/* top's -d is its refresh delay, as in top(1). */
static const struct argp_option top_options[] = {
	{ NULL, 0, NULL, 0, "Screen:", 1 },
	{ "delay", 'd', "TIME", 0, "Refresh every TIME (default 2s; 500ms, 1, 5s, ...)", 1 },
	{ "batch", 'b', NULL, 0, "Plain text frames on stdout, no terminal needed "
	  "($COLUMNS wide, default 80)", 1 },
	{ "iterations", 'n', "N", 0, "End after N frames", 1 },
	{ "pid", 'p', "PID", 0, "Only sockets owned by this process", 1 },
	{ "leaks", OPT_LEAKS, NULL, 0, "Also hunt CLOSE_WAIT leaks, as the leaks subcommand does: "
	  "their groups and diagnoses", 1 },
	{ "min-age", OPT_MIN_AGE, "TIME", 0, "With --leaks: CLOSE_WAIT this long makes a leak "
	  "(default 30)", 1 },
	{ "max-conns", OPT_MAX_CONNS, "N", 0, "Track at most N connections (default 1048576)", 1 },
	{ 0 },
};

static const struct argp_option serve_options[] = {
	{ NULL, 0, NULL, 0, "Exporter:", 1 },
	{ "listen", OPT_LISTEN, "ADDR:PORT", 0, "Serve /metrics on ADDR:PORT: 127.0.0.1:9478, "
	  "[::1]:9478, or :9478 for every address (the default)", 1 },
	{ "pid", 'p', "PID", 0, "Only sockets owned by this process", 1 },
	{ "min-age", OPT_MIN_AGE, "TIME", 0, "CLOSE_WAIT this long counts in "
	  "tcplinger_close_wait_leak_sockets (default 30)", 1 },
	{ "top", OPT_TOP, "N", 0, "Owners named in tcplinger_close_wait_leak_sockets; the "
	  "rest are ~other (default 10)", 1 },
	{ "max-conns", OPT_MAX_CONNS, "N", 0, "Track at most N connections (default 1048576)", 1 },
	{ 0 },
};

static const struct argp_option record_options[] = {
	{ NULL, 0, NULL, 0, "Recording:", 4 },
	{ "write", 'w', "FILE", 0, "Write the log to FILE (- for stdout)", 4 },
	{ "max-size", OPT_MAX_SIZE, "SIZE", 0, "Stop recording before FILE passes SIZE (e.g. 100M)", 4 },
	{ "print", OPT_PRINT, NULL, 0, "Also report live, as trace does", 4 },
	{ 0 },
};

static const struct argp_option leak_options[] = {
	{ NULL, 0, NULL, 0, "Leaks:", 5 },
	{ "min-age", OPT_MIN_AGE, "TIME", 0,
	  "A socket in CLOSE_WAIT this long is a leak (default 30)", 5 },
	{ "json", 'j', NULL, 0, "JSON lines: one per group, then a summary", 5 },
	{ "interval", 'i', "TIME", 0, "A report every TIME, as well as at the end", 5 },
	{ "pid", 'p', "PID", 0, "Only sockets owned by this process", 5 },
	{ "max-conns", OPT_MAX_CONNS, "N", 0, "Track at most N connections (default 1048576)", 5 },
	{ "max-stacks", OPT_MAX_STACKS, "N", 0, "Keep at most N distinct stacks (default 16384)", 5 },
	{ "width", OPT_WIDTH, "COLS", 0, "Lay text out for COLS columns (default: a terminal's "
	  "width, else 120)", 5 },
	{ 0 },
};

static const struct argp_option record_leak_options[] = {
	{ "leaks", OPT_LEAKS, NULL, 0,
	  "Also record what `replay --leaks` needs: send/recv/close owners, user "
	  "stacks and the holders of CLOSE_WAIT sockets", 4 },
	{ "max-stacks", OPT_MAX_STACKS, "N", 0, "With --leaks: keep at most N distinct stacks "
	  "(default 16384)", 4 },
	{ 0 },
};

static const struct argp_option replay_leak_options[] = {
	{ "leaks", OPT_LEAKS, NULL, 0,
	  "Report CLOSE_WAIT leaks as of the end of the log (a log recorded with --leaks)", 4 },
	{ "min-age", OPT_MIN_AGE, "TIME", 0, "With --leaks: CLOSE_WAIT this long makes a leak "
	  "(default 30)", 4 },
	{ "max-stacks", OPT_MAX_STACKS, "N", 0, "With --leaks: keep at most N distinct stacks "
	  "(default 16384)", 4 },
	{ 0 },
};

static const struct argp_option replay_options[] = {
	{ NULL, 0, NULL, 0, "Replay:", 4 },
	{ "from", OPT_FROM, "TIME", 0, "Start TIME after the recording began", 4 },
	{ "to", OPT_TO, "TIME", 0, "Stop TIME after the recording began", 4 },
	{ 0 },
};

static const char trace_doc[] =
	"Trace TCP socket lifecycles live: which connections linger in FIN_WAIT2, "
	"CLOSE_WAIT and TIME_WAIT, for how long, and who owns them.\v"
	"Prints one line per finished lifecycle; --events prints every state "
	"transition instead (TIME_WAIT included, which sock:inet_sock_set_state "
	"alone cannot show).  Ctrl-C ends the trace and prints a summary: what "
	"ended, and what is still open, per state (--json and --csv, or "
	"--open-list, also give the open lifecycles, marked incomplete).\n\n"
	"Subcommands: trace (the default), top, serve, record, replay, leaks; "
	"`tcplinger SUBCOMMAND --help` for each.\n\n"
	"Examples:\n"
	"  tcplinger                     # lifecycles as they end\n"
	"  tcplinger --events -L 80,443  # every transition on local ports 80/443\n"
	"  tcplinger -i 10 -d 60         # summary every 10 s, for a minute\n"
	"  tcplinger --json | jq 'select(.time_wait_ns > 0)'\n";

static const char record_doc[] =
	"Record the event stream to a compact log, to replay and analyse later, "
	"on any machine.\v"
	"Examples:\n"
	"  tcplinger record -w incident.tlog -d 600\n"
	"  tcplinger record -w - -L 443 | ssh host 'cat > incident.tlog'\n";

static const char leaks_doc[] =
	"Find the code paths that never call close(): sockets the peer closed long "
	"ago (CLOSE_WAIT), grouped by process and by where they were made, with "
	"who holds them and whether the application read the EOF.\v"
	"Reports at the end (Ctrl-C, or -d) and every -i TIME.  Sockets already in "
	"CLOSE_WAIT when it starts count too, with their age as a lower bound.  "
	"Stacks need frame pointers (-fno-omit-frame-pointer) in the traced program.\n\n"
	"Examples:\n"
	"  tcplinger leaks -i 10                 # refresh every 10 s\n"
	"  tcplinger leaks --min-age 5 -d 60 --json | jq .diagnosis\n";

static const char top_doc[] =
	"A live view of what lingers now, refreshed every -d TIME: open sockets "
	"and their ages per state, the owners, local ports or peers that hold "
	"the FIN_WAIT2, CLOSE_WAIT and TIME_WAIT ones, connect() errors, port "
	"pressure and, with --leaks, CLOSE_WAIT leaks.\v"
	"Keys: q quits; s or > sorts by the next column (count, max age, p99 "
	"age), < by the previous; g groups by owner, local port or remote "
	"endpoint; space refreshes; h or ? shows help.  Needs a terminal on "
	"stdout, 40 columns or more, unless -b.\n\n"
	"Examples:\n"
	"  tcplinger top                         # the whole host\n"
	"  tcplinger top --netns /run/netns/web -L 443 -d 1\n"
	"  tcplinger top -b -n 3 -d 5s > frames.txt\n";

static const char serve_doc[] =
	"Export what lingers to Prometheus: trace live, as trace does, and serve "
	"/metrics in the Prometheus text format (OpenMetrics when the scraper asks "
	"for it).\v"
	"Metrics: lifecycles per end, linger-time histograms for FIN_WAIT2, "
	"CLOSE_WAIT and TIME_WAIT, sockets per state now, CLOSE_WAIT leaks per "
	"owner, connect() and bind() errors per errno, port pressure, and the "
	"tracer's own cost.  No label names a pid or an address (README, "
	"Exporter).\n\n"
	"Examples:\n"
	"  tcplinger serve                           # :9478, the whole host\n"
	"  tcplinger serve --listen 127.0.0.1:9478 -L 443 --min-age 10s\n";

static const char replay_doc[] =
	"Replay a recorded log through the same reports as live tracing; "
	"needs neither root nor BPF.\v"
	"Examples:\n"
	"  tcplinger replay incident.tlog -i 10\n"
	"  tcplinger replay incident.tlog --csv > lifecycles.csv\n"
	"  tcplinger replay incident.tlog --json --from 120 --to 180 | jq ...\n";

static void die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "tcplinger: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see --help)\n");
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

/* Bytes with an optional K, M or G (powers of 1024). */
static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	}
	if (*end || !v || v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static void parse_ports(const char *arg, uint16_t *ports, int *n)
{
	char *copy = strdup(arg), *save = NULL, *tok;

	if (!copy)
		die_usage("out of memory parsing '%s'", arg);
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

static bool is_netns_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok = fd >= 0 && ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET;

	if (fd >= 0)
		close(fd);
	return ok;
}

static uint32_t parse_netns(const char *arg)
{
	uint64_t v;
	struct stat st;

	if (parse_u64(arg, UINT32_MAX, &v) && v)
		return (uint32_t)v;
	if (!strchr(arg, '/'))
		die_usage("invalid --netns '%s': expected an inode number or a namespace file "
			  "such as /run/netns/NAME", arg);
	if (stat(arg, &st))
		die_usage("--netns '%s': no such file", arg);
	if (!is_netns_file(arg))
		die_usage("--netns '%s' is not a network namespace", arg);
	return (uint32_t)st.st_ino;
}

/* --cgroup, live: the cgroup must exist; its id and depth go to the
 * kernel, its path to the session. */
static void resolve_cgroup(struct tl_cli *c)
{
	char mount[TL_CGROUP_PATH_MAX], err[TL_CGROUP_PATH_MAX + 128], path[TL_CGROUP_PATH_MAX];

	if (!c->cgroup_path[0])
		return;
	if (!tl_cgroupfs_mount("/proc/self/mountinfo", mount, sizeof(mount)))
		die_usage("--cgroup %s: no cgroup2 file system is mounted", c->cgroup_path);
	if (!tl_cgroupfs_resolve(mount, c->cgroup_path, &c->filter.cgroup, &c->filter.cgroup_level,
				 path, sizeof(path), err, sizeof(err)))
		die_usage("%s", err);
	snprintf(c->cgroup_path, sizeof(c->cgroup_path), "%s", path);
}

/* Live modes only: a replay's -p, --netns and --cgroup name what the log
 * holds. */
static void check_live_targets(struct tl_cli *c)
{
	char num[24];
	int found;

	resolve_cgroup(c);
	snprintf(num, sizeof(num), "%ld", c->pid);
	if (c->pid && kill((pid_t)c->pid, 0) && errno == ESRCH)
		die_usage("-p %s: no such process", num);
	snprintf(num, sizeof(num), "%u", c->filter.netns);
	found = c->filter.netns ? tl_netns_exists(c->filter.netns) : 1;
	if (!found)
		die_usage("--netns %s: no network namespace has this inode", num);
	if (found < 0)
		die_usage("--netns %s: no network namespace found with this inode (some processes' "
			  "are hidden from us: name it by path, /proc/PID/ns/net)", num);
}

/* --listen checked before anything is traced; its defaults set. */
static void check_serve_options(struct tl_cli *c)
{
	struct tl_listen_addr a;
	char why[128], msg[160];

	if (!c->listen)
		c->listen = DEFAULT_LISTEN;
	if (!c->top_n)
		c->top_n = DEFAULT_TOP_OWNERS;
	if (!tl_listen_parse(c->listen, &a, why, sizeof(why))) {
		snprintf(msg, sizeof(msg), "invalid --listen '%%s': %s", why);
		die_usage(msg, c->listen);
	}
}

static void set_format(struct tl_cli *c, enum tl_format fmt)
{
	if (c->fmt != TL_FMT_TEXT && c->fmt != fmt)
		die_usage("%s", "--json and --csv exclude each other");
	c->fmt = fmt;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct tl_cli *c = state->input;
	uint64_t v;

	switch (key) {
	case 'e':
		c->events = true;
		break;
	case 'W':
		c->wide = true;
		break;
	case 'j':
		set_format(c, TL_FMT_JSON);
		break;
	case OPT_CSV:
		set_format(c, TL_FMT_CSV);
		break;
	case 'v':
		c->verbose = true;
		break;
	case 'i':
		if (!tl_parse_duration(arg, false, &c->interval_ns))
			die_usage("invalid --interval '%s': " DURATION_HINT, arg);
		break;
	case 'd':
		if (c->top && !tl_parse_duration(arg, false, &c->interval_ns))
			die_usage("invalid --delay '%s': " DURATION_HINT, arg);
		if (!c->top && !tl_parse_duration(arg, false, &c->duration_ns))
			die_usage("invalid --duration '%s': " DURATION_HINT, arg);
		break;
	case 'b':
		c->batch = true;
		break;
	case 'n':
		if (!parse_u64(arg, UINT32_MAX, &v) || !v)
			die_usage("invalid --iterations '%s': expected a positive count", arg);
		c->iterations = v;
		break;
	case 'L':
		parse_ports(arg, c->filter.lports, &c->filter.n_lports);
		break;
	case 'D':
		parse_ports(arg, c->filter.rports, &c->filter.n_rports);
		break;
	case '4':
	case '6':
		if (c->filter.family && c->filter.family != (key == '4' ? AF_INET : AF_INET6))
			die_usage("%s", "-4 and -6 exclude each other");
		c->filter.family = key == '4' ? AF_INET : AF_INET6;
		break;
	case 'C':
		c->show_cgroup = true;
		break;
	case OPT_CGROUP:
		if (!arg[0] || strlen(arg) >= sizeof(c->cgroup_path) - 1)
			die_usage("invalid --cgroup '%s': expected a cgroup's path", arg);
		/* a replay takes the path as the log names it, under the mount */
		snprintf(c->cgroup_path, sizeof(c->cgroup_path), "%s%s", arg[0] == '/' ? "" : "/",
			 arg);
		break;
	case OPT_NETNS:
		c->filter.netns = parse_netns(arg);
		break;
	case 'p':
		if (!parse_u64(arg, INT_MAX, &v) || !v)
			die_usage("invalid --pid '%s': expected a process id", arg);
		c->pid = (long)v;
		break;
	case OPT_LISTENERS:
		c->listeners = true;
		break;
	case OPT_OPEN_LIST:
		c->open_list = true;
		break;
	case OPT_WIDTH:
		if (!parse_u64(arg, TL_COLS_MAX, &v) || v < TL_COLS_MIN)
			die_usage("invalid --width '%s': expected a number of columns, 40 to 10000", arg);
		c->cols = (int)v;
		break;
	case OPT_MAX_CONNS:
		if (!parse_u64(arg, UINT32_MAX - 1, &v) || !v)
			die_usage("invalid --max-conns '%s': expected a positive count", arg);
		c->max_conns = (size_t)v;
		break;
	case OPT_MAX_STACKS:
		if (!parse_u64(arg, TL_STACKS_MAX, &v) || !v)
			die_usage("invalid --max-stacks '%s': expected a positive count", arg);
		c->max_stacks = (uint32_t)v;
		break;
	case OPT_RINGBUF:
		if (!parse_u64(arg, 1024, &v) || !v)
			die_usage("invalid --ringbuf-size '%s': expected 1-1024 (MiB)", arg);
		c->ringbuf_bytes = (size_t)v << 20;
		break;
	case 'w':
		c->path = arg;
		break;
	case OPT_MAX_SIZE:
		if (!parse_size(arg, &c->max_size))
			die_usage("invalid --max-size '%s': expected bytes, or a number with K, M or G", arg);
		break;
	case OPT_PRINT:
		c->print = true;
		break;
	case OPT_LEAKS:
		c->leaks = true;
		break;
	case OPT_MIN_AGE:
		if (!tl_parse_duration(arg, true, &c->min_age_ns))
			die_usage("invalid --min-age '%s': " DURATION_HINT, arg);
		c->min_age_set = true;
		break;
	case OPT_LISTEN:
		c->listen = arg;
		break;
	case OPT_TOP:
		if (!parse_u64(arg, MAX_TOP_OWNERS, &v) || !v)
			die_usage("invalid --top '%s': expected a count, 1 to 1000", arg);
		c->top_n = (uint32_t)v;
		break;
	case OPT_FROM:
		if (!tl_parse_duration(arg, true, &c->from_ns))
			die_usage("invalid --from '%s': " DURATION_HINT " since the recording began", arg);
		break;
	case OPT_TO:
		if (!tl_parse_duration(arg, false, &c->to_ns))
			die_usage("invalid --to '%s': " DURATION_HINT " since the recording began", arg);
		break;
	case ARGP_KEY_ARG:
		if (c->path || !c->want_file)
			die_usage("unexpected argument '%s'", arg);
		c->path = arg;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* Joins option groups into one table for argp. */
static struct argp_option *options_of(const struct argp_option *const *groups)
{
	size_t n = 0, k = 0;
	struct argp_option *all;

	for (int g = 0; groups[g]; g++)
		for (const struct argp_option *o = groups[g]; o->name || o->doc; o++)
			n++;
	all = calloc(n + 1, sizeof(*all));
	if (!all) {
		fprintf(stderr, "tcplinger: out of memory\n");
		exit(1);
	}
	for (int g = 0; groups[g]; g++)
		for (const struct argp_option *o = groups[g]; o->name || o->doc; o++)
			all[k++] = *o;
	return all;
}

static void record_cmdline(struct tl_cli *c, int argc, char **argv)
{
	size_t len = 0;

	for (int i = 0; i < argc && len < sizeof(c->cmdline) - 1; i++)
		len += (size_t)snprintf(c->cmdline + len, sizeof(c->cmdline) - len, "%s%s",
					i ? " " : "", argv[i]);
}

int main(int argc, char **argv)
{
	static const struct argp_option *const trace_groups[] = {
		report_options, filter_options, duration_options, live_options, NULL };
	static const struct argp_option *const top_groups[] = {
		top_options, filter_options, live_options, NULL };
	static const struct argp_option *const replay_groups[] = {
		report_options, filter_options, replay_options, replay_leak_options, NULL };
	static const struct argp_option *const leaks_groups[] = {
		leak_options, filter_options, duration_options, live_options, NULL };
	static const struct argp_option *const serve_groups[] = {
		serve_options, filter_options, live_options, NULL };
	static const struct argp_option *const record_groups[] = {
		record_options, record_leak_options, report_options, filter_options,
		duration_options, live_options, NULL };
	const char *cmd = "trace";
	struct tl_cli cli = { .fmt = TL_FMT_TEXT };
	struct argp argp = { .parser = parse_opt };

	record_cmdline(&cli, argc, argv);
	if (argc > 1 && (!strcmp(argv[1], "trace") || !strcmp(argv[1], "record") ||
			 !strcmp(argv[1], "replay") || !strcmp(argv[1], "leaks") ||
			 !strcmp(argv[1], "top") || !strcmp(argv[1], "serve"))) {
		static char name[32];

		cmd = argv[1];
		snprintf(name, sizeof(name), "tcplinger %s", cmd);	/* for --help */
		argv[1] = name;
		argv++;
		argc--;
	}
	if (!strcmp(cmd, "record")) {
		argp.options = options_of(record_groups);
		argp.doc = record_doc;
	} else if (!strcmp(cmd, "leaks")) {
		argp.options = options_of(leaks_groups);
		argp.doc = leaks_doc;
		cli.leaks = true;
	} else if (!strcmp(cmd, "top")) {
		argp.options = options_of(top_groups);
		argp.doc = top_doc;
		cli.top = true;
	} else if (!strcmp(cmd, "serve")) {
		argp.options = options_of(serve_groups);
		argp.doc = serve_doc;
	} else if (!strcmp(cmd, "replay")) {
		argp.options = options_of(replay_groups);
		argp.doc = replay_doc;
		argp.args_doc = "FILE";
		cli.want_file = true;
	} else {
		argp.options = options_of(trace_groups);
		argp.doc = trace_doc;
	}
	if (argp_parse(&argp, argc, argv, 0, NULL, &cli))
		return 2;
	free((void *)argp.options);

	if (!cli.min_age_set)
		cli.min_age_ns = DEFAULT_MIN_AGE_NS;
	else if (!cli.leaks && strcmp(cmd, "serve"))
		die_usage("%s", "--min-age goes with --leaks");
	if (cli.max_stacks && !cli.leaks)
		die_usage("%s", "--max-stacks goes with --leaks");
	if (cli.leaks && !strcmp(cmd, "replay") && (cli.fmt == TL_FMT_CSV || cli.events))
		die_usage("%s", "--leaks prints its own report: not with --csv or --events");
	if (!strcmp(cmd, "replay")) {
		if (!cli.path)
			die_usage("%s", "replay needs a log FILE");
		if (cli.to_ns && cli.to_ns <= cli.from_ns)
			die_usage("%s", "--to must come after --from");
		return tl_run_replay(&cli);
	}
	if (cli.top) {
		check_live_targets(&cli);
		return tl_run_top(&cli);
	}
	if (!strcmp(cmd, "serve")) {
		check_serve_options(&cli);
		check_live_targets(&cli);
		return tl_run_serve(&cli);
	}
	if (!strcmp(cmd, "record")) {
		if (!cli.path)
			die_usage("%s", "record needs -w FILE (or -w - for stdout)");
		if (!strcmp(cli.path, "-") && cli.print)
			die_usage("%s", "--print and -w - would share stdout");
	} else {
		cli.print = true;	/* trace is record without a log, printing */
	}
	check_live_targets(&cli);
	return tl_run_live(&cli);
}
