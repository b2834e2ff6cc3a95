/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* replay: a recorded log through the same session as live tracing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "cli.h"
#include "logfile.h"
#include "session.h"

static void warn(const char *msg, void *ctx)
{
	fprintf(stderr, "tcplinger: %s: %s\n", (const char *)ctx, msg);
}

int tl_run_replay(const struct tl_cli *cli)
{
	struct tl_session_opts sopts = {
		.fmt = cli->fmt, .events = cli->events, .interval_ns = cli->interval_ns,
		.pid = cli->pid, .max_conns = cli->max_conns, .listeners = cli->listeners,
		.wide = cli->wide || cli->filter.family == AF_INET6,
		.leaks = cli->leaks, .min_age_ns = cli->min_age_ns, .out = stdout,
	};
	struct tl_log_header h;
	struct tl_log_reader *r;
	struct tl_session *s;
	struct tl_event ev;
	uint64_t origin = 0, scans = 0;
	char err[512];
	int ret, code = 0;

	ret = tl_logr_open(&r, cli->path, &h, warn, (void *)cli->path, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "tcplinger: %s\n", err);
		return 1;
	}
	sopts.boot_to_real_ns = h.boot_to_real_ns;
	s = tl_session_new(&sopts);
	if (!s) {
		fprintf(stderr, "tcplinger: out of memory\n");
		tl_logr_close(r);
		return 1;
	}
	while ((ret = tl_logr_next(r, &ev)) > 0) {
		if (ev.type == TL_EV_STACK) {
			/* whatever the time window: later events may refer to it */
			size_t len;
			const void *blob = tl_logr_blob(r, &len);

			tl_session_add_stack(s, (uint32_t)ev.aux, blob, len);
			continue;
		}
		/* The recording began at its first tick (seeds come just before). */
		if (!origin && ev.type == TL_EV_TICK)
			origin = ev.ts_ns;
		if (cli->from_ns && (!origin || ev.ts_ns < origin + cli->from_ns))
			continue;
		if (cli->to_ns && origin && ev.ts_ns > origin + cli->to_ns)
			break;
		scans += ev.type == TL_EV_SCAN;
		if (tl_filter_match(&cli->filter, &ev))
			tl_session_feed(s, &ev);
	}
	if (cli->leaks && !scans && ret >= 0)
		fprintf(stderr, "tcplinger: warning: %s was recorded without --leaks: no stacks, "
			"holders or EOF reads are known\n", cli->path);
	if (ret < 0) {
		fprintf(stderr, "tcplinger: %s: reading stopped: %s\n", cli->path, strerror(-ret));
		code = 1;
	}
	tl_session_finish(s);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "tcplinger: writing the report failed: %s\n", strerror(errno));
		code = 1;
	}
	tl_session_free(s);
	tl_logr_close(r);
	return code;
}
