/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * leak_control [-6] [-p PORT]: the control for `tcplinger leaks`: the same
 * exchange as leak_forget, but both sides close.  The client thread closes
 * first; the server reads the EOF, stays in CLOSE_WAIT for 1.2 s (longer
 * than the runner's --min-age, so it has been a candidate) and closes.
 * Nothing is left in CLOSE_WAIT: it must never be reported.  Then it waits
 * for a line on stdin, like the leaking programs.
 *   server: SYN_RECV ESTABLISHED CLOSE_WAIT (~1.2 s) LAST_ACK CLOSED
 *   client: SYN_SENT ESTABLISHED FIN_WAIT1 FIN_WAIT2 TIME_WAIT
 * Facts: pid family server_port client_port leak_pid t_server_close ready
 *        ... t_go done
 */
#include "scen.h"
#include "leak.h"

#define CLOSE_WAIT_MS 1200

int main(int argc, char **argv)
{
	struct scen_opts o;
	pthread_t t;
	int lfd, fd;

	lfd = listen_and_ping(argc, argv, &o, 5105, &t);
	fd = scen_accept(lfd);
	answer_ping(fd, "server");
	expect_eof(fd, "server");
	join_thread(t);
	if (tcp_state(fd) != TCP_CLOSE_WAIT)
		fail("server socket not in CLOSE_WAIT after EOF (state %d)", tcp_state(fd));
	sleep_ms(CLOSE_WAIT_MS);
	close_told("t_server_close", fd);
	hold_until_go(-1);
	return scen_done(lfd);
}
