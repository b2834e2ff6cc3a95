/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * leak_client [-6] [-p PORT]: a client-side CLOSE_WAIT leak, for
 * `tcplinger leaks`.  dial_and_forget() connects to a server thread (same
 * process), sends a request, reads the reply and returns without closing
 * the fd.  Then the server closes its side: the client's socket sits in
 * CLOSE_WAIT, never read again (EOF not seen), until a line arrives on
 * stdin; then the program exits (the exit closes it).
 *   client: SYN_SENT ESTABLISHED CLOSE_WAIT ... (for as long as it waits)
 *   server: SYN_RECV ESTABLISHED FIN_WAIT1 FIN_WAIT2 ...
 * Facts: pid family server_port client_port leak_pid leak_fd t_close_wait
 *        ready ... t_go done
 */
#include "scen.h"
#include "leak.h"

static int listen_fd;
/* main -> server: the reply has been read, close now. */
static int server_gate[2];

/* Out of line (STACK_FN): the frame the runner looks for. */
static STACK_FN int dial_and_forget(int family, int port)
{
	int fd = connect_to(family, port);

	send_ping(fd);
	/* The bug under test: no close(fd), and no read to see the EOF. */
	return fd;
}

static void *server(void *arg)
{
	int fd;

	(void)arg;
	fd = scen_accept(listen_fd);
	answer_ping(fd, "server");
	/* A FIN queued behind the reply would be consumed by the client's
	 * read of the reply (a read that empties the segment holding the FIN
	 * passes the FIN too): close only once the reply has been read, so
	 * that the EOF stays unread. */
	wait_byte(server_gate[0], SCEN_IO_TIMEOUT_S, "main (server close)");
	close_fd(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct scen_opts o;
	pthread_t t;
	int fd;

	scen_parse(argc, argv, &o, 5104, 1);
	if (pipe2(server_gate, O_CLOEXEC))
		die("pipe");
	listen_fd = scen_listen(o.family, o.port, 16, 0);
	start_thread(&t, server, NULL);
	fd = dial_and_forget(o.family, o.port);
	fact("client_port", "%d", local_port(fd));
	write_all(server_gate[1], "c", 1);
	join_thread(t);
	wait_close_wait(fd);
	hold_until_go(fd);
	return scen_done(listen_fd);
}
