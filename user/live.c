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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "units.h"
#include "cli.h"
#include "idmap.h"
#include "loader.h"
#include "logfile.h"
#include "procfs.h"
#include "session.h"
#include "stacks.h"
#include "symbolize.h"
#include "unwind.h"

#define POLL_MS 100
#define LOG_FLUSH_NS NS_PER_SEC	/* a kill -9 loses at most this much */
#define STACK_CACHE_MAX (1u << 16)	/* (pid, kernel stack id) pairs remembered */

/* A socket a holder scan looks for: its inode, and what its events say. */
struct scan_sock {
	uint64_t ino;
	struct tl_event ev;	/* its SEED, turned into HOLDER events */
};

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
	bool refreshing;		/* seeds now only update tracked sockets */
	/* Leak hunting. */
	bool scanning;			/* seeds now only list sockets to find holders of */
	bool scan_all;			/* list sockets in every state, not just CLOSE_WAIT */
	struct tl_event last_seed;	/* the SEED an INODE event follows */
	struct scan_sock *scan;		/* CLOSE_WAIT sockets of the current pass */
	size_t nscan, scan_cap;
	struct tl_symbolizer *sym;
	struct tl_unwinder *unwind;	/* stacks through the CFI, sym's */
	struct tl_stacks *stacks;	/* what was logged, by reference */
	struct tl_idmap stack_refs;	/* pid << 32 | kernel stack ref -> reference */
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

static void deliver_stack(struct live *lv, const struct tl_event *ev, const char *blob,
			  size_t len)
{
	if (lv->session)
		tl_session_add_stack(lv->session, (uint32_t)ev->aux, blob, len);
	if (lv->log && !lv->log_err) {
		int err = tl_logw_add_blob(lv->log, ev, blob, len);

		if (err) {
			lv->log_err = err;
			stop = 1;
		}
	}
}

/* The reference of a stack's bytes, delivered as a TL_EV_STACK taken in
 * ev's task the first time; 0 if it cannot be kept. */
static uint32_t intern_stack(struct live *lv, const struct tl_event *ev, const char *blob,
			     size_t len)
{
	struct tl_event sev;
	bool is_new;
	uint32_t ref = tl_stacks_intern(lv->stacks, blob, len, &is_new);

	if (ref && is_new) {
		sev = (struct tl_event){ .type = TL_EV_STACK, .ts_ns = ev->ts_ns, .aux = ref,
					 .pid = ev->pid, .tid = ev->tid, .flags = TL_F_IN_TASK };
		memcpy(sev.comm, ev->comm, TL_COMM_LEN);
		deliver_stack(lv, &sev, blob, len);
	}
	return ref;
}

/* The reference of the kernel's stack kref taken in ev's task: read,
 * symbolized (while the process lives) and logged the first time. */
static uint32_t stack_ref(struct live *lv, const struct tl_event *ev, uint32_t kref)
{
	uint64_t key = (uint64_t)ev->pid << 32 | kref, ips[TL_STACK_DEPTH];
	char *frames[TL_UNWIND_FRAMES], cmdline[1024], blob[TL_LOG_BLOB_MAX];
	uint32_t ref;
	size_t len;
	int n;

	if (!kref || !lv->sym)
		return 0;
	if (tl_idmap_get(&lv->stack_refs, key, &ref))
		return ref;
	/* Full: not even symbolized (0 remembered: counted once). */
	if (tl_stacks_full(lv->stacks)) {
		tl_stacks_note_drop(lv->stacks);
		ref = 0;
		goto remember;
	}
	/* kref: the frame-pointer stack and the stack window (bpf/unwind.h) */
	n = tl_loader_stack(lv->loader, TL_KSTACK_ID(kref), ips, TL_STACK_DEPTH);
	n = tl_unwind_frames(lv->unwind, (int)ev->pid, kref, ips, n, frames);
	if (n <= 0)
		return 0;
	if (tl_procfs_cmdline((int)ev->pid, cmdline, sizeof(cmdline)))
		cmdline[0] = '\0';
	len = tl_stack_blob(blob, sizeof(blob), cmdline, frames, n);
	for (int i = 0; i < n; i++)
		free(frames[i]);
	ref = intern_stack(lv, ev, blob, len);
	if (!ref)
		return 0;
remember:
	if (lv->stack_refs.len >= STACK_CACHE_MAX)
		tl_idmap_free(&lv->stack_refs);
	tl_idmap_put(&lv->stack_refs, key, ref);
	return ref;
}

/* A stack of no frames holding ev's process's command line, for sockets
 * whose making was not seen (they predate the trace). */
static uint32_t cmdline_ref(struct live *lv, const struct tl_event *ev)
{
	char cmdline[1024], blob[TL_LOG_BLOB_MAX];
	size_t len;

	if (!lv->stacks || tl_procfs_cmdline((int)ev->pid, cmdline, sizeof(cmdline)))
		return 0;
	len = tl_stack_blob(blob, sizeof(blob), cmdline, NULL, 0);
	return intern_stack(lv, ev, blob, len);
}

/* The kernel's stack ids mean nothing elsewhere: logs and the session see
 * references to TL_EV_STACK events instead. */
static void deliver_owner(struct live *lv, const struct tl_event *ev)
{
	struct tl_event copy = *ev;
	uint32_t low = TL_OWN_STACK(ev->aux);

	if (ev->old_state != TL_OWN_CLOSE_SHARED)
		low = stack_ref(lv, ev, low);
	copy.aux = TL_OWN_AUX(low, TL_OWN_FD(ev->aux));
	deliver(lv, &copy);
}

/* During a holder scan: the CLOSE_WAIT sockets and their inodes. */
static void scan_note(struct live *lv, const struct tl_event *ev)
{
	if (ev->type == TL_EV_SEED) {
		lv->last_seed = *ev;
		return;
	}
	if (ev->type != TL_EV_INODE || ev->sk_id != lv->last_seed.sk_id || !ev->aux ||
	    (!lv->scan_all && lv->last_seed.new_state != TL_TCP_CLOSE_WAIT))
		return;
	if (lv->nscan == lv->scan_cap) {
		size_t cap = lv->scan_cap ? lv->scan_cap * 2 : 256;
		struct scan_sock *ns = realloc(lv->scan, cap * sizeof(*ns));

		if (!ns)
			return;
		lv->scan = ns;
		lv->scan_cap = cap;
	}
	lv->scan[lv->nscan].ino = ev->aux;
	lv->scan[lv->nscan].ev = lv->last_seed;
	lv->nscan++;
}

static int by_ino(const void *a, const void *b)
{
	uint64_t x = ((const struct scan_sock *)a)->ino, y = ((const struct scan_sock *)b)->ino;

	return x < y ? -1 : x > y;
}

/* Who holds the CLOSE_WAIT sockets noted in the last seed pass: one
 * TL_EV_SCAN, then a TL_EV_HOLDER per (socket, process, fd). */
static void holder_scan(struct live *lv, uint64_t ts)
{
	struct tl_event ev = { .type = TL_EV_SCAN, .ts_ns = ts };
	struct tl_holder *hs = NULL;
	uint64_t *inos;
	size_t nh = 0;

	inos = malloc((lv->nscan + 1) * sizeof(*inos));
	if (!inos)
		return;
	if (lv->nscan)
		qsort(lv->scan, lv->nscan, sizeof(*lv->scan), by_ino);
	for (size_t i = 0; i < lv->nscan; i++)
		inos[i] = lv->scan[i].ino;
	if (lv->nscan && tl_procfs_holders(inos, lv->nscan, &hs, &nh))
		nh = 0;
	free(inos);
	deliver(lv, &ev);
	for (size_t i = 0, k = 0; i < nh; i++) {
		while (k < lv->nscan && lv->scan[k].ino < hs[i].ino)
			k++;
		if (k == lv->nscan)
			break;
		if (lv->scan[k].ino != hs[i].ino)
			continue;
		ev = lv->scan[k].ev;
		ev.type = TL_EV_HOLDER;
		ev.ts_ns = ts;
		ev.old_state = 0;
		ev.flags = TL_F_IN_TASK;
		ev.pid = ev.tid = (uint32_t)hs[i].pid;
		memcpy(ev.comm, hs[i].comm, TL_COMM_LEN);
		ev.comm[TL_COMM_LEN - 1] = '\0';
		ev.aux = TL_OWN_AUX(cmdline_ref(lv, &ev), hs[i].fd);
		deliver(lv, &ev);
	}
	free(hs);
	lv->nscan = 0;
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
	deliver(lv, &ev);
}

static bool from_ring(const struct tl_event *ev)
{
	return ev->type != TL_EV_SEED && ev->type != TL_EV_INODE;
}

static int on_event(const struct tl_event *ev, void *ctx)
{
	struct live *lv = ctx;

	/* an event queued after a drop: the loss goes in the stream here */
	if (from_ring(ev) && ev->drop_seq != lv->drop_seq) {
		lv->drop_seq = ev->drop_seq;
		pass_drops(lv, ev->ts_ns);
	}

	if (ev->type == TL_EV_SEED || ev->type == TL_EV_INODE) {
		if (lv->cli->leaks || lv->scan_all)
			scan_note(lv, ev);
		if (ev->type == TL_EV_INODE || lv->scanning)
			return 0;
	}
	if (ev->type == TL_EV_OWNER) {
		deliver_owner(lv, ev);
		return 0;
	}
	if (lv->refreshing && ev->type == TL_EV_SEED) {
		struct tl_event copy = *ev;

		copy.flags |= TL_F_REFRESH;
		deliver(lv, &copy);
		return 0;
	}
	deliver(lv, ev);
	return 0;
}

/* A seed pass that only looks for the holders of CLOSE_WAIT sockets. */
static void scan_holders(struct live *lv, uint64_t ts)
{
	int skipped;

	lv->scanning = true;
	lv->nscan = 0;
	tl_loader_seed(lv->loader, &skipped);
	lv->scanning = false;
	holder_scan(lv, ts);
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
	if (lv->cli->leaks && lv->session && tl_session_report_due(lv->session, t))
		scan_holders(lv, t);
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

/* Is stdout a pipe or socket whose reader may go away? */
static bool out_watchable(void)
{
	struct stat st;

	return !fstat(STDOUT_FILENO, &st) && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
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
	if (lv->stacks)
		tl_stacks_report_dropped(tl_stacks_dropped(lv->stacks), lv->cli->max_stacks);
}

int tl_run_live(const struct tl_cli *cli)
{
	struct tl_session_opts sopts = {
		.fmt = cli->fmt, .events = cli->events, .interval_ns = cli->interval_ns,
		.pid = cli->pid, .max_conns = cli->max_conns, .listeners = cli->listeners,
		.wide = cli->wide || cli->filter.family == AF_INET6,
		.boot_to_real_ns = tl_boot_to_real_ns(), .out = stdout,
		.leaks = cli->leaks, .min_age_ns = cli->min_age_ns, .max_stacks = cli->max_stacks,
	};
	struct tl_loader_opts lopts = {
		.filter = cli->filter, .ringbuf_bytes = cli->ringbuf_bytes,
		.verbose = cli->verbose, .on_event = on_event, .leaks = cli->leaks,
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
	if (cli->leaks) {
		lv.sym = tl_sym_new();
		lv.stacks = tl_stacks_new();
		if (lv.stacks && cli->max_stacks)
			tl_stacks_set_max(lv.stacks, cli->max_stacks);
		lv.unwind = tl_unwind_new(lv.sym, tl_loader_windows_fd(lv.loader));
		if (!lv.sym || !lv.stacks || !lv.unwind) {
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
	lv.scan_all = true;
	ret = tl_loader_seed(lv.loader, &skipped);
	lv.scan_all = false;
	if (ret < 0)
		fprintf(stderr, "tcplinger: warning: could not list the sockets that exist already: "
			"%s\n", strerror(-ret));
	else if (skipped)
		fprintf(stderr, "tcplinger: warning: could not enter %d network namespace%s: their "
			"existing sockets are not known\n", skipped, skipped > 1 ? "s" : "");
	holder_scan(&lv, now_ns(CLOCK_BOOTTIME));
	lv.watch_out = (cli->print || (cli->path && !strcmp(cli->path, "-"))) && out_watchable();
	start = lv.last_flush_ns = clock_tick(&lv);
	if (cli->path)
		fprintf(stderr, "Recording TCP socket lifecycles to %s... Hit Ctrl-C to end.\n",
			strcmp(cli->path, "-") ? cli->path : "stdout");
	else if (cli->leaks)
		fprintf(stderr, "Watching for sockets in CLOSE_WAIT for %.1f s or more... "
			"Hit Ctrl-C to end.\n", (double)cli->min_age_ns / NS_PER_SEC);
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
		if (out_failed(&lv)) {
			/* The log, if any, is still closed properly below. */
			if (lv.log && !lv.log_err && !strcmp(cli->path, "-"))
				lv.log_err = -lv.out_err;
			code = 1;
			break;
		}
		if (cli->duration_ns && t - start >= cli->duration_ns)
			break;
	}

	clock_tick(&lv);
	/* tw socks may have turned TIME_WAIT without a trace: look again
	 * before reporting what is still open; the last tick closes it. */
	lv.refreshing = true;
	lv.nscan = 0;
	tl_loader_seed(lv.loader, &skipped);
	if (cli->leaks)
		holder_scan(&lv, now_ns(CLOCK_BOOTTIME));
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
	report_losses(&lv);
	if (lv.log && close_log(&lv))
		code = 1;
out:
	tl_session_free(lv.session);
	tl_loader_close(lv.loader);
	tl_unwind_free(lv.unwind);
	tl_sym_free(lv.sym);
	tl_stacks_free(lv.stacks);
	tl_idmap_free(&lv.stack_refs);
	free(lv.scan);
	return code;
}
