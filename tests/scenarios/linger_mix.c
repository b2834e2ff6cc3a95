/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * linger_mix [-6] [-p PORT] [-n N]: what an incident looks like, small.
 *   N client-first closes: each client closes, the server reads EOF and
 *     closes: N client sockets sit in TIME_WAIT (towards the server port).
 *   CW_COUNT connections whose client closes while the server keeps its
 *     accepted socket: CW_COUNT server sockets sit in CLOSE_WAIT on the
 *     server port, held by this process (their clients are orphans in
 *     FIN_WAIT2).
 * Prints "ready=1" once all are in place, then holds the CLOSE_WAIT sockets
 * until a line on stdin, closes them and exits.
 * Facts: pid family server_port time_wait close_wait ready t_ready done
 */
#include "scen.h"

#define CW_COUNT 7

int main(int argc, char **argv)
{
	struct scen_opts o;
	int lfd, cw[CW_COUNT], i;

	scen_parse(argc, argv, &o, 5020, 40);
	lfd = scen_listen(o.family, o.port, 64, 0);
	for (i = 0; i < o.n; i++) {
		int c = scen_connect(o.family, o.port), s = scen_accept(lfd);

		close_fd(c);
		expect_eof(s, "TIME_WAIT pair's server");
		close_fd(s);
	}
	for (i = 0; i < CW_COUNT; i++) {
		int c = scen_connect(o.family, o.port);

		cw[i] = scen_accept(lfd);
		close_fd(c);
		expect_eof(cw[i], "CLOSE_WAIT pair's server");
		if (tcp_state(cw[i]) != TCP_CLOSE_WAIT)
			fail("server socket %d not in CLOSE_WAIT (%d)", i, tcp_state(cw[i]));
	}
	fact("time_wait", "%ld", o.n);
	fact("close_wait", "%d", CW_COUNT);
	fact_u64("t_ready", now_ns());
	fact("ready", "1");

	wait_stdin_line(SCEN_STDIN_TIMEOUT_S);
	for (i = 0; i < CW_COUNT; i++)
		close_fd(cw[i]);
	close_fd(lfd);
	fact("done", "1");
	return 0;
}
