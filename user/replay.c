/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* replay: a recorded log through the same session as live tracing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "logfile.h"
#include "logprefetch.h"
#include "run.h"
#include "session.h"
#include "stacks.h"

/* Stacks kept may take this much memory per byte of log read, plus a
 * floor: deflate packs repeated blobs a thousandfold, and a crafted log
 * must not turn megabytes into gigabytes. */
#define STACK_BYTES_PER_LOG_BYTE 16
#define STACK_BYTES_FLOOR (4u << 20)
/* stdout's buffer: static, as stdout is flushed at exit (glibc takes no
 * size without the buffer itself). */
static char stdout_buf[1u << 20];

struct replay {
	const struct tl_cli *cli;
	uint64_t events;	/* read from the log */
	struct tl_log_prefetch *p;	/* the log, decoded ahead */
	struct tl_session *s;
	bool filtered;		/* some events may not pass cli->filter */
	uint64_t origin;	/* the recording began at its first tick */
	uint64_t scans;
};

/* The reader's warnings, printed and counted. */
struct warnings {
	const char *path;
	uint64_t count;
};

static void warn(const char *msg, void *ctx)
{
	struct warnings *w = ctx;

	w->count++;
	fprintf(stderr, "tcplinger: %s: %s\n", w->path, msg);
}

/* Feeds one event (the last of its batch if a TL_EV_STACK); false once
 * past --to. */
static bool replay_one(struct replay *rp, const struct tl_event *ev)
{
	const struct tl_cli *cli = rp->cli;

	if (ev->type == TL_EV_STACK && (ev->flags & TL_F_CGROUP_NAME)) {
		size_t len;
		const void *blob = tl_logp_blob(rp->p, &len);

		tl_session_add_cgroup_name(rp->s, blob, len);
		return true;
	}
	if (ev->type == TL_EV_STACK) {
		/* whatever the time window: later events may refer to it */
		size_t len;
		const void *blob = tl_logp_blob(rp->p, &len);

		tl_session_stack_limit(rp->s, STACK_BYTES_PER_LOG_BYTE * tl_logp_offset(rp->p) +
					      STACK_BYTES_FLOOR);
		tl_session_add_stack(rp->s, (uint32_t)ev->aux, blob, len);
		return true;
	}
	/* Namespaces' sysctls hold whatever the time window */
	if (ev->type == TL_EV_SYSCTL) {
		tl_session_feed(rp->s, ev);
		return true;
	}
	/* The recording began at its first tick (seeds come just before). */
	if (!rp->origin && ev->type == TL_EV_TICK)
		rp->origin = ev->ts_ns;
	if (cli->from_ns && (!rp->origin || ev->ts_ns < rp->origin + cli->from_ns))
		return true;
	if (cli->to_ns && rp->origin && ev->ts_ns > rp->origin + cli->to_ns)
		return false;
	rp->scans += ev->type == TL_EV_SCAN;
	if (!rp->filtered || tl_filter_match(&cli->filter, ev))
		tl_session_feed(rp->s, ev);
	return true;
}

int tl_replay_run(const struct tl_cli *cli, struct tl_log_reader *r,
		  const struct tl_log_header *h, const char *name, FILE *out,
		  const uint64_t *warnings)
{
	struct tl_session_opts sopts = tl_session_opts_of(cli, out, h->boot_to_real_ns);
	const struct tl_stacks *stacks;
	struct tl_session *s;
	const struct tl_event *evs;
	struct replay rp = { .cli = cli, .filtered = tl_filter_active(&cli->filter) };
	bool more = true;
	int ret, code = 0;

	/* Formatting on the other core; a terminal gets its lines as they come. */
	sopts.output_thread = !isatty(fileno(out));
	s = tl_session_new(&sopts);
	if (!s || tl_logp_start(&rp.p, r)) {
		fprintf(stderr, "tcplinger: out of memory\n");
		tl_session_free(s);
		return 1;
	}
	rp.s = s;
	while (more && (ret = tl_logp_read(rp.p, &evs)) > 0) {
		rp.events += (uint64_t)ret;
		for (int k = 0; k < ret && more; k++)
			more = replay_one(&rp, &evs[k]);
	}
	tl_logp_stop(rp.p);
	if (!more)
		ret = 0;	/* stopped at --to */
	if (cli->leaks && !rp.scans && ret >= 0)
		fprintf(stderr, "tcplinger: warning: %s was recorded without --leaks: no stacks, "
			"holders or EOF reads are known\n", name);
	/* Two caps, each counted once: memory for the log's size, and
	 * --max-stacks. */
	stacks = tl_session_stacks(s);
	if (tl_stacks_refused(stacks))
		fprintf(stderr, "tcplinger: warning: %s: %llu stacks skipped: they would take "
			"more memory than a log of this size can need\n", name,
			(unsigned long long)tl_stacks_refused(stacks));
	if (ret < 0) {
		fprintf(stderr, "tcplinger: %s: reading stopped: %s\n", name, strerror(-ret));
		code = 1;
	} else if (!rp.events && warnings && *warnings) {
		/* Damaged past reading: not an empty recording. */
		fprintf(stderr, "tcplinger: %s: no block of the log could be read\n", name);
		code = 1;
	}
	tl_session_finish(s);
	if (fflush(out) || ferror(out)) {
		fprintf(stderr, "tcplinger: writing the report failed: %s\n", strerror(errno));
		code = 1;
	}
	tl_stacks_report_dropped(tl_stacks_dropped(stacks), cli->max_stacks);
	tl_session_free(s);
	return code;
}

int tl_run_replay(const struct tl_cli *cli)
{
	struct tl_log_header h;
	struct tl_log_reader *r;
	struct warnings w = { .path = cli->path };
	char err[512];
	int ret;

	ret = tl_logr_open(&r, cli->path, &h, warn, &w, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "tcplinger: %s\n", err);
		return 1;
	}
	/* A report to a file or a pipe is written a megabyte at a time, not
	 * a page at a time; a terminal keeps its lines as they come. */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, stdout_buf, _IOFBF, sizeof(stdout_buf));
	ret = tl_replay_run(cli, r, &h, cli->path, stdout, &w.count);
	tl_logr_close(r);
	return ret;
}
