/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * leak_forget [-6] [-p PORT]: a CLOSE_WAIT leak for `tcplinger leaks`.
 * serve_forgetful_client() accepts one connection, reads the request,
 * writes the reply and returns without ever closing the fd.  A client
 * thread (same process) reads the reply and closes: the server's socket
 * sits in CLOSE_WAIT, never read again (EOF not seen), until a line
 * arrives on stdin; then the program exits (the exit closes it).
 *   server: SYN_RECV ESTABLISHED CLOSE_WAIT ... (for as long as it waits)
 *   client: SYN_SENT ESTABLISHED FIN_WAIT1 FIN_WAIT2 ...
 * Facts: pid family server_port client_port leak_pid leak_fd
 *        t_close_wait ready ... t_go done
 */
#include "scen.h"
#include "leak.h"

/* Out of line (STACK_FN): the frame the runner looks for. */
static STACK_FN int serve_forgetful_client(int lfd)
{
	int fd = accept_conn(lfd);

	answer_ping(fd, "server");
	/* The bug under test: no close(fd). */
	return fd;
}

int main(int argc, char **argv)
{
	return run_server_leak(argc, argv, 5100, serve_forgetful_client);
}
