// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Writes logs crafted to make replay hold much memory or spend much time
 * from few bytes: the regression inputs for those bounds.
 *   gen_crafted stacks N FILE   N stack blobs of 8 KiB, each a little different
 *   gen_crafted bigref FILE     one stack under the highest reference
 *   gen_crafted groups N FILE   N sockets in CLOSE_WAIT, each its own leak group
 *   gen_crafted lost N M FILE   N open connections, then M lost-events records
 *   gen_crafted ticks N M FILE  N open connections, then M ticks a second apart
 *   gen_crafted widejson FILE   a leak whose stacks need escaping: a JSON line past 16 KiB
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "logfile.h"
#include "stacks.h"

#define SEC 1000000000ULL
#define T0 (1000 * SEC)

static const struct tl_log_header hdr = {
	.hostname = "crafted", .kernel = "6.1.0", .options = "record --leaks -w crafted",
};

static struct tl_log_writer *w;

static void add(const struct tl_event *ev)
{
	if (tl_logw_add(w, ev)) {
		fprintf(stderr, "gen_crafted: writing failed\n");
		exit(1);
	}
}

static struct tl_event conn_ev(uint64_t ts, uint64_t sk, uint32_t n, int old, int new)
{
	struct tl_event e = {
		.ts_ns = ts, .sk_id = sk, .type = TL_EV_STATE, .family = AF_INET,
		.old_state = (uint8_t)old, .new_state = (uint8_t)new, .netns = 4026531840u,
		.sport = 8080, .dport = (uint16_t)(1024 + n % 60000),
	};

	e.saddr[0] = e.daddr[0] = 10;
	e.daddr[1] = (uint8_t)(n >> 16);
	e.daddr[2] = (uint8_t)(n >> 8);
	e.daddr[3] = (uint8_t)n;
	return e;
}

static void tick(uint64_t ts)
{
	struct tl_event e = { .ts_ns = ts, .type = TL_EV_TICK };

	add(&e);
}

static void stacks(unsigned long n, uint32_t first_ref)
{
	static char blob[TL_LOG_BLOB_MAX];
	char *frames[64], frame[128];

	snprintf(frame, sizeof(frame), "%s", "handle_request+0x1234 (/usr/lib/server/libhandler.so.1)");
	for (int i = 0; i < 64; i++)
		frames[i] = frame;
	tick(T0);
	for (unsigned long i = 0; i < n; i++) {
		struct tl_event e = { .ts_ns = T0 + i, .type = TL_EV_STACK,
				      .aux = first_ref + i };
		char cmd[64];
		size_t len;

		snprintf(cmd, sizeof(cmd), "server --worker %lu", i);
		len = tl_stack_blob(blob, sizeof(blob), cmd, frames, 64);
		/* pad to the most a blob may hold, still one valid string */
		memset(blob + len - 1, 'x', sizeof(blob) - len);
		blob[sizeof(blob) - 1] = '\0';
		if (tl_logw_add_blob(w, &e, blob, sizeof(blob))) {
			fprintf(stderr, "gen_crafted: writing failed\n");
			exit(1);
		}
	}
	tick(T0 + 2 * SEC);
}

/* After a tick at T0, n connections one ns apart each report old -> new;
 * own: each from its own process (pid 1000 + i, "server"). */
static void conns(unsigned long n, int old, int new, bool own)
{
	tick(T0);
	for (unsigned long i = 0; i < n; i++) {
		struct tl_event e = conn_ev(T0 + i, 0x100000 + i, (uint32_t)i, old, new);

		if (own) {
			e.flags = TL_F_IN_TASK;
			e.pid = e.tid = (uint32_t)(1000 + i);
			snprintf(e.comm, sizeof(e.comm), "server");
		}
		add(&e);
	}
}

static void groups(unsigned long n)
{
	conns(n, TL_TCP_ESTABLISHED, TL_TCP_CLOSE_WAIT, true);
	tick(T0 + 3600 * SEC);
}

/* n connections opened (connect() seen), one ns apart from T0. */
static void open_conns(unsigned long n)
{
	conns(n, TL_TCP_CLOSE, TL_TCP_SYN_SENT, false);
}

static void lost(unsigned long n, unsigned long m)
{
	open_conns(n);
	for (unsigned long i = 0; i < m; i++) {
		struct tl_event e = { .ts_ns = T0 + n + i, .type = TL_EV_LOST, .aux = 1 };

		add(&e);
	}
	tick(T0 + 2 * SEC);
}

static void ticks(unsigned long n, unsigned long m)
{
	open_conns(n);
	for (unsigned long i = 1; i <= m; i++)
		tick(T0 + i * SEC);
}

static void widejson(void)
{
	static char blob[TL_LOG_BLOB_MAX];
	struct tl_event st = { .ts_ns = T0, .type = TL_EV_STACK, .aux = 1 };
	struct tl_event e = conn_ev(T0 + 1, 0x100000, 1, TL_TCP_ESTABLISHED, TL_TCP_CLOSE_WAIT);
	size_t len = 0;

	tick(T0);
	/* a command line, then frames of control bytes (six bytes each as JSON) */
	len += (size_t)snprintf(blob, sizeof(blob), "server") + 1;
	while (len + 128 <= sizeof(blob)) {
		memset(blob + len, 1, 127);
		blob[len + 127] = '\0';
		len += 128;
	}
	if (tl_logw_add_blob(w, &st, blob, len)) {
		fprintf(stderr, "gen_crafted: writing failed\n");
		exit(1);
	}
	e.flags = TL_F_IN_TASK;
	e.pid = e.tid = 1000;
	snprintf(e.comm, sizeof(e.comm), "server");
	add(&e);
	e.type = TL_EV_OWNER;
	e.ts_ns++;
	e.old_state = TL_OWN_ACCEPT;
	e.aux = TL_OWN_AUX(1, 5);
	add(&e);
	e.old_state = TL_OWN_EOF;
	e.ts_ns++;
	add(&e);
	tick(T0 + 3600 * SEC);
}

int main(int argc, char **argv)
{
	char err[256];
	const char *path = argv[argc - 1];

	if (argc < 3) {
		fprintf(stderr, "usage: gen_crafted stacks N|bigref|groups N|lost N M|ticks N M|widejson FILE\n");
		return 2;
	}
	if (tl_logw_open(&w, path, &hdr, 0, err, sizeof(err))) {
		fprintf(stderr, "gen_crafted: %s\n", err);
		return 1;
	}
	if (!strcmp(argv[1], "stacks") && argc == 4)
		stacks(strtoul(argv[2], NULL, 0), 1);
	else if (!strcmp(argv[1], "bigref") && argc == 3)
		stacks(1, TL_STACKS_MAX);
	else if (!strcmp(argv[1], "groups") && argc == 4)
		groups(strtoul(argv[2], NULL, 0));
	else if (!strcmp(argv[1], "lost") && argc == 5)
		lost(strtoul(argv[2], NULL, 0), strtoul(argv[3], NULL, 0));
	else if (!strcmp(argv[1], "widejson") && argc == 3)
		widejson();
	else if (!strcmp(argv[1], "ticks") && argc == 5)
		ticks(strtoul(argv[2], NULL, 0), strtoul(argv[3], NULL, 0));
	else {
		fprintf(stderr, "gen_crafted: unknown mode or arguments\n");
		return 2;
	}
	if (tl_logw_close(w)) {
		fprintf(stderr, "gen_crafted: writing failed\n");
		return 1;
	}
	return 0;
}
