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

#define CLOSE_WAIT_MS 1200

static struct scen_opts opts;

static void *client(void *arg)
{
	char resp[4];
	int fd;

	(void)arg;
	fd = scen_connect(opts.family, opts.port);
	fact("client_port", "%d", local_port(fd));
	write_all(fd, "ping", 4);
	read_exact(fd, resp, sizeof(resp));
	if (memcmp(resp, "pong", 4))
		fail("client: bad response");
	close_fd(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	char req[4];
	int lfd, fd;

	scen_parse(argc, argv, &opts, 5105, 1);
	lfd = scen_listen(opts.family, opts.port, 16, 0);
	start_thread(&t, client, NULL);
	fd = scen_accept(lfd);
	read_exact(fd, req, sizeof(req));
	if (memcmp(req, "ping", 4))
		fail("server: bad request");
	write_all(fd, "pong", 4);
	if (read_to_eof(fd, 0) != 0)
		fail("server: data before EOF");
	join_thread(t);
	if (tcp_state(fd) != TCP_CLOSE_WAIT)
		fail("server socket not in CLOSE_WAIT after EOF (state %d)", tcp_state(fd));
	sleep_ms(CLOSE_WAIT_MS);
	fact_u64("t_server_close", now_ns());
	close_fd(fd);
	fact("leak_pid", "%d", (int)getpid());
	fact("ready", "1");

	wait_stdin_line(SCEN_STDIN_TIMEOUT_S);
	fact_u64("t_go", now_ns());
	close_fd(lfd);
	fact("done", "1");
	return 0;
}
