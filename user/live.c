/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * trace and record: events from the kernel go to the session (reports)
 * and, when recording, to the log -- both see the very same stream, ticks
 * included, which is what makes a replay identical to the live run.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "units.h"
#include "cli.h"
#include "loader.h"
#include "logfile.h"
#include "session.h"

#define POLL_MS 100
#define LOG_FLUSH_NS NS_PER_SEC	/* a kill -9 loses at most this much */

struct live {
	const struct tl_cli *cli;
	struct tl_loader *loader;
	struct tl_session *session;	/* NULL when recording without --print */
	struct tl_log_writer *log;
	uint64_t lost;			/* kernel drops already passed on */
	uint64_t last_flush_ns;
	int log_err;			/* first error writing the log */
	bool refreshing;		/* seeds now only update tracked sockets */
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
static void deliver(struct live *lv, const struct tl_event *ev)
{
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

static int on_event(const struct tl_event *ev, void *ctx)
{
	struct live *lv = ctx;

	if (lv->refreshing && ev->type == TL_EV_SEED) {
		struct tl_event copy = *ev;

		copy.flags |= TL_F_REFRESH;
		deliver(lv, &copy);
		return 0;
	}
	deliver(lv, ev);
	return 0;
}

/* Passes on the kernel's drop count, then lets the clock move on. */
static uint64_t clock_tick(struct live *lv)
{
	uint64_t t = now_ns(CLOCK_BOOTTIME), drops;
	struct tl_event ev = { .ts_ns = t };

	/* Everything reserved before t is in the ring now: take it first,
	 * so that the tick never overtakes an event older than itself. */
	tl_loader_drain(lv->loader);
	drops = tl_loader_drops(lv->loader);
	if (drops > lv->lost) {
		ev.type = TL_EV_LOST;
		ev.aux = drops - lv->lost;
		lv->lost = drops;
		deliver(lv, &ev);
	}
	ev.type = TL_EV_TICK;
	ev.aux = 0;
	deliver(lv, &ev);
	if (lv->log && !lv->log_err && t - lv->last_flush_ns >= LOG_FLUSH_NS) {
		lv->log_err = tl_logw_flush(lv->log);
		lv->last_flush_ns = t;
		if (lv->log_err)
			stop = 1;
	}
	return t;
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
	if (err == -EFBIG) {
		fprintf(stderr, "tcplinger: %s reached --max-size: recording stopped\n",
			lv->cli->path);
	} else if (err) {
		fprintf(stderr, "tcplinger: writing %s failed: %s\n", lv->cli->path, strerror(-err));
		ret = 1;
	}
	return ret;
}

static void report_losses(struct live *lv)
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
}

int tl_run_live(const struct tl_cli *cli)
{
	struct tl_session_opts sopts = {
		.fmt = cli->fmt, .events = cli->events, .interval_ns = cli->interval_ns,
		.pid = cli->pid, .max_conns = cli->max_conns, .listeners = cli->listeners,
		.wide = cli->wide || cli->filter.family == AF_INET6,
		.boot_to_real_ns = tl_boot_to_real_ns(), .out = stdout,
	};
	struct tl_loader_opts lopts = {
		.filter = cli->filter, .ringbuf_bytes = cli->ringbuf_bytes,
		.verbose = cli->verbose, .on_event = on_event,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct live lv = { .cli = cli };
	uint64_t start, t;
	char err[256];
	int ret, skipped, code = 0;

	lopts.ctx = &lv;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a closed pipe is an error to report */

	ret = tl_loader_open(&lv.loader, &lopts, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "tcplinger: %s\n", err);
		return 1;
	}
	if (cli->print) {
		lv.session = tl_session_new(&sopts);
		if (!lv.session) {
			fprintf(stderr, "tcplinger: out of memory\n");
			tl_loader_close(lv.loader);
			return 1;
		}
	}
	if (cli->path && open_log(&lv) < 0) {
		tl_session_free(lv.session);
		tl_loader_close(lv.loader);
		return 1;
	}
	/* Sockets that exist already, seeded before the ring is read so the
	 * engine can tell which queued events a seed already reflects. */
	ret = tl_loader_seed(lv.loader, &skipped);
	if (ret < 0)
		fprintf(stderr, "tcplinger: warning: could not list the sockets that exist already: "
			"%s\n", strerror(-ret));
	else if (skipped)
		fprintf(stderr, "tcplinger: warning: could not enter %d network namespace%s: their "
			"existing sockets are not known\n", skipped, skipped > 1 ? "s" : "");
	start = lv.last_flush_ns = clock_tick(&lv);
	if (cli->path)
		fprintf(stderr, "Recording TCP socket lifecycles to %s... Hit Ctrl-C to end.\n",
			strcmp(cli->path, "-") ? cli->path : "stdout");
	else
		fprintf(stderr, "Tracing TCP socket lifecycles%s... Hit Ctrl-C to end.\n",
			cli->events ? " (every transition)" : "");

	while (!stop) {
		ret = tl_loader_poll(lv.loader, POLL_MS);
		if (ret < 0 && ret != -EINTR) {
			fprintf(stderr, "tcplinger: reading events failed: %s\n", strerror(-ret));
			code = 1;
			break;
		}
		t = clock_tick(&lv);
		if (lv.session)
			fflush(stdout);
		if (cli->duration_ns && t - start >= cli->duration_ns)
			break;
	}

	clock_tick(&lv);
	/* tw socks may have turned TIME_WAIT without a trace: look again
	 * before reporting what is still open; the last tick closes it. */
	lv.refreshing = true;
	tl_loader_seed(lv.loader, &skipped);
	clock_tick(&lv);
	if (lv.session)
		tl_session_finish(lv.session);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "tcplinger: writing the report failed: %s\n", strerror(errno));
		code = 1;
	}
	report_losses(&lv);
	if (lv.log && close_log(&lv))
		code = 1;
	tl_session_free(lv.session);
	tl_loader_close(lv.loader);
	return code;
}
