/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * leak_eof [-6] [-p PORT]: a CLOSE_WAIT leak where the EOF was seen, for
 * `tcplinger leaks`.  serve_until_eof() accepts one connection, reads the
 * request, writes the reply, then recv()s until it returns 0 (the client
 * closed) and returns without closing the fd.  The socket sits in
 * CLOSE_WAIT until a line arrives on stdin; then the program exits (the
 * exit closes it).
 *   server: SYN_RECV ESTABLISHED CLOSE_WAIT ... (for as long as it waits)
 *   client: SYN_SENT ESTABLISHED FIN_WAIT1 FIN_WAIT2 ...
 * Facts: pid family server_port client_port t_eof leak_pid leak_fd
 *        t_close_wait ready ... t_go done
 */
#include "scen.h"
#include "leak.h"

/* recv() until it returns 0; each call bounded by SO_RCVTIMEO. */
static void recv_to_eof(int fd)
{
	char buf[64];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("recv (waiting for EOF)");
		}
		if (n == 0)
			return;
		fail("server: %zd bytes of data before EOF", n);
	}
}

/* Out of line (STACK_FN): the frame the runner looks for. */
static STACK_FN int serve_until_eof(int lfd)
{
	int fd = accept_conn(lfd);

	answer_ping(fd, "server");
	recv_to_eof(fd);
	fact_u64("t_eof", now_ns());
	/* The bug under test: EOF seen, yet no close(fd). */
	return fd;
}

int main(int argc, char **argv)
{
	return run_server_leak(argc, argv, 5103, serve_until_eof);
}
