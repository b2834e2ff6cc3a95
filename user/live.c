/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * trace and record: events from the kernel go to the session (reports)
 * and, when recording, to the log -- both see the very same stream, ticks
 * included, which is what makes a replay identical to the live run.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "units.h"
#include "cgroupfs.h"
#include "holders.h"
#include "loader.h"
#include "logfile.h"
#include "netns.h"
#include "netsysctl.h"
#include "run.h"
#include "session.h"
#include "stackrefs.h"
#include "stacks.h"

#define POLL_MS 100
#define LOG_FLUSH_NS NS_PER_SEC	/* a kill -9 loses at most this much */

struct live {
	const struct tl_cli *cli;
	struct tl_loader *loader;
	struct tl_session *session;	/* NULL when recording without --print */
	struct tl_log_writer *log;
	uint64_t lost;			/* kernel drops already passed on */
	uint16_t drop_seq;		/* drop_seq of the last ring event */
	uint64_t last_flush_ns;
	int log_err;			/* first error writing the log */
	bool watch_out;			/* stdout is a pipe or socket we write to */
	int out_err;			/* errno that ended writing to stdout */
	/* Leak hunting (refs NULL without it). */
	struct tl_stackrefs *refs;
	struct tl_holder_scan holders;
	/* Namespaces whose port sysctls were read (or tried) */
	uint32_t ns_read[TL_NETSYSCTLS_MAX];
	uint32_t n_ns_read;
	uint32_t last_ns;		/* of the last event, read already */
	uint64_t sysctl_ts;		/* time stamp for the sysctl events read now */
	/* Cgroups: their paths, and the ids already named in the stream */
	struct tl_cgroupfs cgfs;
	struct tl_idmap cg_named;
	uint64_t cg_last;		/* the last cgroup found in cg_named */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Every event of the session passes here, in order. */
static void deliver(const struct tl_event *ev, void *ctx)
{
	struct live *lv = ctx;

	if (lv->session)
		tl_session_feed(lv->session, ev);
	if (lv->log && !lv->log_err) {
		int err = tl_logw_add(lv->log, ev);

		if (err) {
			lv->log_err = err;
			stop = 1;
		}
	}
}

/* A TL_EV_STACK's bytes go to the log with it. */
static void log_blob(struct live *lv, const struct tl_event *ev, const void *blob, size_t len)
{
	if (lv->log && !lv->log_err) {
		int err = tl_logw_add_blob(lv->log, ev, blob, len);

		if (err) {
			lv->log_err = err;
			stop = 1;
		}
	}
}

static void deliver_stack(const struct tl_event *ev, const char *blob, size_t len, void *ctx)
{
	struct live *lv = ctx;

	if (lv->session)
		tl_session_add_stack(lv->session, (uint32_t)ev->aux, blob, len);
	log_blob(lv, ev, blob, len);
}

/* The path of a cgroup that a socket names, passed on once, before the
 * event naming it: a replay elsewhere then shows the same path.  A cgroup
 * removed before it could be looked up stays a number.  Out of line: the
 * common case, a cgroup named already, must not pay for its buffers. */
static __attribute__((noinline)) bool name_new_cgroup(struct live *lv, const struct tl_event *ev,
						      uint64_t id)
{
	struct tl_event nev = { .type = TL_EV_STACK, .flags = TL_F_CGROUP_NAME,
				.ts_ns = ev->ts_ns };
	uint8_t blob[8 + TL_CGROUP_PATH_MAX];
	const char *path;
	size_t len;

	path = tl_cgroupfs_path(&lv->cgfs, id, now_ns(CLOCK_BOOTTIME));
	if (!path || !tl_idmap_put(&lv->cg_named, id, 0))
		return false;
	len = tl_cgname_blob(blob, sizeof(blob), id, path);
	if (!len)
		return true;
	if (lv->session)
		tl_session_add_cgroup_name(lv->session, blob, len);
	log_blob(lv, &nev, blob, len);
	return true;
}

static void name_cgroup(struct live *lv, const struct tl_event *ev)
{
	uint64_t id = tl_aux_cgroup(ev);
	uint32_t seen;

	/* sockets come in runs from one cgroup */
	if (!id || id == lv->cg_last)
		return;
	if ((lv->cg_named.len && tl_idmap_get(&lv->cg_named, id, &seen)) ||
	    name_new_cgroup(lv, ev, id))
		lv->cg_last = id;
}

static int read_kernel_stack(uint32_t kref, uint64_t *ips, int max, void *ctx)
{
	struct live *lv = ctx;

	return tl_loader_stack(lv->loader, kref, ips, max);
}

/* The kernel's stack ids mean nothing elsewhere: logs and the session see
 * references to TL_EV_STACK events instead. */
static void deliver_owner(struct live *lv, const struct tl_event *ev)
{
	struct tl_event copy = *ev;
	uint32_t low = tl_aux_ppid(ev);

	if (tl_owner_role(ev) != TL_OWN_CLOSE_SHARED)
		low = tl_stackrefs_kernel(lv->refs, ev, low);
	copy.aux = TL_OWN_AUX(low, tl_aux_fd(ev));
	deliver(&copy, lv);
}

/* Who holds the sockets the last seed pass noted. */
static void emit_holders(struct live *lv, uint64_t ts)
{
	tl_holder_scan_emit(&lv->holders, ts, lv->refs, deliver, lv);
}

/* Passes on the drops the kernel counted so far, at ts: records open now
 * may have missed events, the engine must know before it settles any. */
static void pass_drops(struct live *lv, uint64_t ts)
{
	uint64_t drops = tl_loader_drops(lv->loader);
	struct tl_event ev = { .type = TL_EV_LOST, .ts_ns = ts };

	if (drops <= lv->lost)
		return;
	ev.aux = drops - lv->lost;
	lv->lost = drops;
	deliver(&ev, lv);
}

static bool ns_was_read(const struct live *lv, uint32_t netns)
{
	for (uint32_t i = 0; i < lv->n_ns_read; i++)
		if (lv->ns_read[i] == netns)
			return true;
	return false;
}

/* In each namespace visited: its port sysctls, for port pressure. */
static int send_sysctls_here(void *ctx)
{
	struct live *lv = ctx;
	struct tl_event ev;

	if (tl_netsysctl_read(&ev, lv->sysctl_ts))
		return 0;
	if (!ns_was_read(lv, ev.netns) && lv->n_ns_read < TL_NETSYSCTLS_MAX)
		lv->ns_read[lv->n_ns_read++] = ev.netns;
	deliver(&ev, lv);
	return 1;
}

static void send_sysctls(struct live *lv, uint32_t netns, uint64_t ts)
{
	int skipped;

	lv->sysctl_ts = ts;
	tl_netns_foreach(netns, send_sysctls_here, lv, &skipped);
}

/* A namespace first seen after start-up gets its sysctls read before its
 * first event goes on (once: a namespace that is gone stays unknown). */
static void sysctls_of_new_netns(struct live *lv, const struct tl_event *ev)
{
	if (!ev->netns || ev->netns == lv->last_ns)
		return;
	lv->last_ns = ev->netns;
	if (ns_was_read(lv, ev->netns) || lv->n_ns_read == TL_NETSYSCTLS_MAX)
		return;
	lv->ns_read[lv->n_ns_read++] = ev->netns;
	send_sysctls(lv, ev->netns, ev->ts_ns);
}

/* What the ring buffer delivers (seeds come through their own passes). */
static void on_ring_event(const struct tl_event *ev, void *ctx)
{
	struct live *lv = ctx;

	/* an event queued after a drop: the loss goes in the stream here */
	if (ev->drop_seq != lv->drop_seq) {
		lv->drop_seq = ev->drop_seq;
		pass_drops(lv, ev->ts_ns);
	}
	if (lv->refs)	/* whose threads a holder scan shows first */
		tl_holder_scan_note_use(&lv->holders, ev);
	sysctls_of_new_netns(lv, ev);
	name_cgroup(lv, ev);
	if (ev->type == TL_EV_OWNER)
		deliver_owner(lv, ev);
	else
		deliver(ev, lv);
}

/* The first seed pass: the sockets that exist already, and, whatever
 * their state, their holders (their owners). */
static void on_first_seed(const struct tl_event *ev, void *ctx)
{
	struct live *lv = ctx;

	tl_holder_scan_note(&lv->holders, ev, true);
	if (ev->type == TL_EV_CGROUP)
		name_cgroup(lv, ev);
	if (ev->type == TL_EV_SEED || ev->type == TL_EV_CGROUP)
		deliver(ev, lv);
}

/* A seed pass that only looks for the holders of CLOSE_WAIT sockets. */
static void on_leak_seed(const struct tl_event *ev, void *ctx)
{
	struct live *lv = ctx;

	tl_holder_scan_note(&lv->holders, ev, false);
}

/* The last seed pass: seeds now only update tracked sockets. */
static void on_refresh_seed(const struct tl_event *ev, void *ctx)
{
	struct live *lv = ctx;
	struct tl_event copy = *ev;

	if (lv->cli->leaks)
		tl_holder_scan_note(&lv->holders, ev, false);
	if (ev->type != TL_EV_SEED)
		return;
	copy.flags |= TL_F_REFRESH;
	deliver(&copy, lv);
}

/* Where the CLOSE_WAIT sockets are held now, for the leak report. */
static void rescan_leak_holders(struct live *lv, uint64_t ts)
{
	int skipped;

	tl_loader_seed(lv->loader, on_leak_seed, lv, &skipped);
	emit_holders(lv, ts);
}

/* Passes on the kernel's drop count, then lets the clock move on. */
static uint64_t clock_tick(struct live *lv)
{
	uint64_t t = now_ns(CLOCK_BOOTTIME);
	struct tl_event ev = { .ts_ns = t };

	/* Everything reserved before t is in the ring now: take it first,
	 * so that the tick never overtakes an event older than itself. */
	tl_loader_drain(lv->loader);
	pass_drops(lv, t);
	if (lv->cli->leaks && lv->session && tl_session_interval_due(lv->session, t))
		rescan_leak_holders(lv, t);
	ev.type = TL_EV_TICK;
	ev.aux = 0;
	deliver(&ev, lv);
	if (lv->log && !lv->log_err && t - lv->last_flush_ns >= LOG_FLUSH_NS) {
		lv->log_err = tl_logw_flush(lv->log);
		lv->last_flush_ns = t;
		if (lv->log_err)
			stop = 1;
	}
	return t;
}

/* Is stdout a pipe or socket whose reader may go away? */
static bool out_watchable(void)
{
	struct stat st;

	return !fstat(STDOUT_FILENO, &st) && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

/* Whether the open sockets are about to be counted (an interval summary
 * due, or the view's next read) while the kernel may hold a state change
 * the trace cannot show (tl_engine_tw_in_fin_wait2()): then they are
 * listed again before the tick. */
static bool open_read_soon(struct live *lv)
{
	const struct tl_live_view *v = lv->cli->view;
	uint64_t now = now_ns(CLOCK_BOOTTIME);
	bool reading;

	if (!lv->session)
		return false;
	if (v)
		reading = v->refresh_due && v->refresh_due(v->ctx, now);
	else
		reading = !lv->cli->leaks && tl_session_interval_due(lv->session, now);
	return reading && tl_session_tw_in_fin_wait2(lv->session);
}

/* Events handled, after waiting up to POLL_MS for them.  Hunting leaks,
 * stack windows wake the wait too: each is unwound as it comes, so that
 * the collector learns its call path (bpf/unwind.h) at once. */
static int wait_events(struct live *lv)
{
	struct pollfd p[2] = {
		{ .fd = tl_loader_epoll_fd(lv->loader), .events = POLLIN },
		{ .fd = lv->refs ? tl_stackrefs_epoll_fd(lv->refs) : -1, .events = POLLIN },
	};

	if (p[1].fd < 0)
		return tl_loader_poll(lv->loader, POLL_MS);
	if (poll(p, 2, POLL_MS) < 0 && errno != EINTR)
		return -errno;
	tl_stackrefs_pump(lv->refs);
	return tl_loader_poll(lv->loader, 0);
}

/*
 * After each poll: has writing to stdout failed, or its reader gone
 * (`tcplinger | head -1`)?  Checked even when nothing was written, so a
 * tracer whose output nobody reads stops within a poll.
 */
static bool reader_left(const struct live *lv)
{
	struct pollfd p = { .fd = STDOUT_FILENO };

	return lv->watch_out && poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

/* Flushes the report: 0, or why writing it failed.  The failed write may
 * be long past and its errno gone: a reader that left is EPIPE. */
static int flush_out(const struct live *lv)
{
	errno = 0;
	if (!fflush(stdout) && !ferror(stdout))
		return 0;
	return reader_left(lv) ? EPIPE : errno ? errno : EIO;
}

static bool out_failed(struct live *lv)
{
	if (lv->session)
		lv->out_err = flush_out(lv);
	if (!lv->out_err && reader_left(lv))
		lv->out_err = EPIPE;
	return lv->out_err != 0;
}

static int open_log(struct live *lv)
{
	struct tl_log_header h = { .version = TL_LOG_VERSION };
	struct utsname u;
	char err[256];
	int ret;

	gethostname(h.hostname, sizeof(h.hostname) - 1);
	if (!uname(&u))
		snprintf(h.kernel, sizeof(h.kernel), "%s", u.release);
	snprintf(h.options, sizeof(h.options), "%s", lv->cli->cmdline);
	h.boot_to_real_ns = tl_boot_to_real_ns();
	h.created_real_ns = now_ns(CLOCK_REALTIME);
	ret = tl_logw_open(&lv->log, lv->cli->path, &h, lv->cli->max_size, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "tcplinger: %s\n", err);
	return ret;
}

/* Says how the log ended; returns the exit code. */
static int close_log(struct live *lv)
{
	int err = lv->log_err, ret = 0;
	int cerr = tl_logw_close(lv->log);

	if (!err && cerr && cerr != -EFBIG)
		err = cerr;
	if (err == -EPIPE && !strcmp(lv->cli->path, "-")) {
		ret = 1;	/* the reader went away: nothing to say to it */
	} else if (err == -EFBIG) {
		fprintf(stderr, "tcplinger: %s reached --max-size: recording stopped\n",
			lv->cli->path);
	} else if (err) {
		fprintf(stderr, "tcplinger: writing %s failed: %s\n", lv->cli->path, strerror(-err));
		ret = 1;
	}
	return ret;
}

/* What the run could not keep, on stderr. */
static void warn_losses(struct live *lv)
{
	struct tl_engine_stats st = { 0 };

	if (lv->lost)
		fprintf(stderr, "tcplinger: %llu events lost: the ring buffer was full "
			"(try --ringbuf-size or narrower filters)\n", (unsigned long long)lv->lost);
	if (lv->session)
		tl_session_engine_stats(lv->session, &st);
	if (st.evicted)
		fprintf(stderr, "tcplinger: %llu connections evicted by the --max-conns cap\n",
			(unsigned long long)st.evicted);
	if (lv->refs)
		tl_stacks_report_dropped(tl_stackrefs_dropped(lv->refs), lv->cli->max_stacks);
}

int tl_run_live(const struct tl_cli *cli)
{
	struct tl_session_opts sopts = tl_session_opts_of(cli, stdout, tl_boot_to_real_ns());
	struct tl_loader_opts lopts = {
		.filter = cli->filter, .ringbuf_bytes = cli->ringbuf_bytes,
		.verbose = cli->verbose, .on_event = on_ring_event, .leaks = cli->leaks,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct live lv = { .cli = cli };
	uint64_t start, t;
	char err[256];
	int ret, skipped, code = 0;

	lopts.ctx = &lv;
	tl_cgroupfs_init(&lv.cgfs);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a closed pipe is an error to report */

	ret = tl_loader_open(&lv.loader, &lopts, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "tcplinger: %s\n", err);
		return 1;
	}
	if (cli->leaks) {
		lv.refs = tl_stackrefs_new(cli->max_stacks, tl_loader_windows_fd(lv.loader),
					  tl_loader_upaths_fd(lv.loader),
					  read_kernel_stack, deliver_stack, &lv);
		if (!lv.refs) {
			fprintf(stderr, "tcplinger: out of memory\n");
			code = 1;
			goto out;
		}
	}
	if (cli->print) {
		lv.session = tl_session_new(&sopts);
		if (!lv.session) {
			fprintf(stderr, "tcplinger: out of memory\n");
			code = 1;
			goto out;
		}
	}
	if (cli->path && open_log(&lv) < 0) {
		code = 1;
		goto out;
	}
	/* Sockets that exist already, seeded before the ring is read so the
	 * engine can tell which queued events a seed already reflects; their
	 * owners are whoever holds them now (/proc). */
	ret = tl_loader_seed(lv.loader, on_first_seed, &lv, &skipped);
	if (ret < 0)
		fprintf(stderr, "tcplinger: warning: could not list the sockets that exist already: "
			"%s\n", strerror(-ret));
	else if (skipped)
		fprintf(stderr, "tcplinger: warning: could not enter %d network namespace%s: their "
			"existing sockets are not known\n", skipped, skipped > 1 ? "s" : "");
	emit_holders(&lv, now_ns(CLOCK_BOOTTIME));
	send_sysctls(&lv, cli->filter.netns, now_ns(CLOCK_BOOTTIME));
	lv.watch_out = (cli->print || (cli->path && !strcmp(cli->path, "-"))) && out_watchable();
	start = lv.last_flush_ns = clock_tick(&lv);
	if (cli->path)
		fprintf(stderr, "Recording TCP socket lifecycles to %s... Hit Ctrl-C to end.\n",
			strcmp(cli->path, "-") ? cli->path : "stdout");
	else if (cli->view) {
		/* the view says it all */
	} else if (cli->leaks)
		fprintf(stderr, "Watching for sockets in CLOSE_WAIT for %.1f s or more... "
			"Hit Ctrl-C to end.\n", (double)cli->min_age_ns / NS_PER_SEC);
	else
		fprintf(stderr, "Tracing TCP socket lifecycles%s... Hit Ctrl-C to end.\n",
			cli->events ? " (every transition)" : "");
	if (cli->view && cli->view->started)
		cli->view->started(cli->view->ctx, lv.loader);

	while (!stop) {
		ret = wait_events(&lv);
		if (ret < 0 && ret != -EINTR) {
			fprintf(stderr, "tcplinger: reading events failed: %s\n", strerror(-ret));
			code = 1;
			break;
		}
		if (open_read_soon(&lv))
			tl_loader_seed(lv.loader, on_refresh_seed, &lv, &skipped);
		t = clock_tick(&lv);
		if (out_failed(&lv)) {
			/* The log, if any, is still closed properly below. */
			if (lv.log && !lv.log_err && !strcmp(cli->path, "-"))
				lv.log_err = -lv.out_err;
			code = 1;
			break;
		}
		if (cli->duration_ns && t - start >= cli->duration_ns)
			break;
		if (cli->view && !cli->view->tick(cli->view->ctx, lv.session, t))
			break;
	}
	if (cli->view)
		cli->view->end(cli->view->ctx);

	clock_tick(&lv);
	/* tw socks may have turned TIME_WAIT without a trace: look again
	 * before reporting what is still open; the last tick closes it. */
	tl_loader_seed(lv.loader, on_refresh_seed, &lv, &skipped);
	if (cli->leaks)
		emit_holders(&lv, now_ns(CLOCK_BOOTTIME));
	clock_tick(&lv);
	if (lv.session && !lv.out_err)
		tl_session_finish(lv.session);
	if (!lv.out_err && lv.session)
		lv.out_err = flush_out(&lv);
	/* A reader that left (EPIPE) needs no message, only the status. */
	if (lv.out_err && lv.out_err != EPIPE)
		fprintf(stderr, "tcplinger: writing the report failed: %s\n", strerror(lv.out_err));
	if (lv.out_err)
		code = 1;
	warn_losses(&lv);
	if (lv.log && close_log(&lv))
		code = 1;
out:
	tl_session_free(lv.session);
	tl_loader_close(lv.loader);
	tl_stackrefs_free(lv.refs);
	tl_holder_scan_free(&lv.holders);
	tl_cgroupfs_free(&lv.cgfs);
	tl_idmap_free(&lv.cg_named);
	return code;
}
