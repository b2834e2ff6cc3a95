// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The output lane: JSON lifecycles formatted on its thread and the lines
 * formatted here (short, and longer than a slot) come out byte for byte
 * as without it, in the same order, drained at each flush. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "outlane.h"
#include "output.h"
#include "outparts.h"
#include "textbuf.h"
#include "unit.h"

#define SEC 1000000000ULL

static struct tl_lifecycle mk_lifecycle(uint64_t i)
{
	struct tl_lifecycle lc;

	memset(&lc, 0, sizeof(lc));
	lc.conn = i;
	lc.tuple.family = AF_INET;
	lc.tuple.sport = (uint16_t)(1024 + i % 60000);
	lc.tuple.dport = 443;
	lc.tuple.netns = 4026531840u;
	lc.tuple.saddr[0] = 10;
	lc.tuple.saddr[3] = (uint8_t)i;
	lc.tuple.daddr[0] = 192;
	lc.tuple.daddr[2] = (uint8_t)(i >> 8);
	lc.owner.pid = i % 7 ? (int32_t)(1000 + i % 50) : -1;
	snprintf(lc.owner.comm, sizeof(lc.owner.comm), "p%llu", (unsigned long long)(i % 13));
	lc.start_ns = 3 * SEC + i * 12345;
	lc.end_ns = lc.start_ns + 1000 + i % 977;
	lc.states[0] = (struct tl_state_span){ TL_TCP_SYN_SENT, 1000 };
	lc.states[1] = (struct tl_state_span){ TL_TCP_ESTABLISHED, i % 977 };
	lc.states[2] = (struct tl_state_span){ TL_STATE_CLOSED, 0 };
	lc.nstates = 3;
	lc.end = TL_END_CLOSED;
	lc.complete = i % 3 != 0;
	return lc;
}

/* The same stream, with a lane or not: what it wrote, free() it. */
static char *write_stream(bool lane, size_t *len)
{
	static char big[600 << 10];	/* longer than any slot */
	struct tl_output out;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	tl_output_init(&out, f, TL_FMT_JSON, false);
	out.boot_to_real_ns = 1700000000 * SEC;
	if (lane) {
		out.lane = tl_outlane_start(&out);
		CHECK(out.lane != NULL);
	}
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	for (uint64_t i = 0; i < 20000; i++) {
		struct tl_lifecycle lc = mk_lifecycle(i);

		tl_output_lifecycle(&out, &lc);
		if (i % 7 == 0) {
			struct tl_out_line l;

			tb_str(tl_out_line_start(&l), "{\"type\":\"note\",\"n\":");
			tb_u64(&l.tb, i);
			tb_str(&l.tb, "}\n");
			tl_out_emit(&out, &l);
		}
		if (i == 9000) {
			struct tl_out_line l;

			tb_str(tl_out_line_start(&l), big);
			tl_out_emit(&out, &l);
		}
		/* After a flush it is all in the FILE. */
		if (i == 15000) {
			tl_output_flush(&out);
			CHECK(*len > 15000 * 300);
			CHECK(strstr(buf, "\"conn\":15000,") != NULL);
		}
	}
	tl_output_flush(&out);
	tl_outlane_stop(out.lane);
	fclose(f);
	return buf;
}

static void same_bytes_in_order(void)
{
	size_t len_sync, len_lane;
	char *sync = write_stream(false, &len_sync);
	char *lane = write_stream(true, &len_lane);

	CHECK(len_sync > 20000 * 300);
	CHECK_EQ_U64(len_lane, len_sync);
	CHECK(len_lane == len_sync && !memcmp(lane, sync, len_sync));
	free(sync);
	free(lane);
}

/* A reader that left: the lane's write takes the SIGPIPE that ends the
 * process, as a write on the caller's thread did. */
static void reader_gone_ends_process(void)
{
	int fds[2], status = 0;
	pid_t pid;

	CHECK_EQ_U64(pipe(fds), 0);
	close(fds[0]);
	pid = fork();
	if (!pid) {
		FILE *f = fdopen(fds[1], "w");
		struct tl_output out;

		signal(SIGPIPE, SIG_DFL);
		alarm(20);
		tl_output_init(&out, f, TL_FMT_JSON, false);
		out.lane = tl_outlane_start(&out);
		for (uint64_t i = 0; i < 100000; i++) {
			struct tl_lifecycle lc = mk_lifecycle(i);

			tl_output_lifecycle(&out, &lc);
		}
		tl_outlane_stop(out.lane);
		_exit(0);
	}
	close(fds[1]);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE);
}

int main(void)
{
	RUN(same_bytes_in_order);
	RUN(reader_gone_ends_process);
	return UNIT_END();
}
