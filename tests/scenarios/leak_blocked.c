/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * leak_blocked [-6] [-p PORT]: a CLOSE_WAIT leak behind a stuck handler,
 * for `tcplinger leaks`.  serve_blocked_handoff() accepts one connection
 * and hands the fd to a handler thread that blocks (on a pipe, until the
 * line on stdin) before it ever reads.  A client thread sends a request
 * and closes: the server's socket sits in CLOSE_WAIT with the request
 * unread (EOF not seen).  After the line on stdin the handler is woken and
 * the program exits (the exit closes the socket).
 *   server: SYN_RECV ESTABLISHED CLOSE_WAIT ... (for as long as it waits)
 *   client: SYN_SENT ESTABLISHED FIN_WAIT1 FIN_WAIT2 ...
 * Facts: pid family server_port client_port leak_pid leak_fd t_close_wait
 *        ready ... t_go done
 */
#include "scen.h"
#include "leak.h"

static struct scen_opts opts;
/* main -> client: close now; main -> handler: wake up. */
static int client_gate[2], handler_gate[2];

/* Stands for a handler stuck on something else (a lock, a backend) before
 * it reads the request: the socket is neither read nor closed. */
static void *handler(void *arg)
{
	(void)arg;
	wait_byte(handler_gate[0], SCEN_STDIN_TIMEOUT_S + 10, "main (handler wake-up)");
	return NULL;
}

/* Out of line (STACK_FN): the frame the runner looks for. */
static STACK_FN int serve_blocked_handoff(int lfd, pthread_t *h)
{
	int fd = accept_conn(lfd);

	start_thread(h, handler, (void *)(intptr_t)fd);
	return fd;
}

static void *client(void *arg)
{
	int fd;

	(void)arg;
	fd = scen_connect(opts.family, opts.port);
	fact("client_port", "%d", local_port(fd));
	write_all(fd, "ping", 4);
	wait_byte(client_gate[0], SCEN_IO_TIMEOUT_S, "main (client close)");
	close_fd(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t c, h;
	int lfd, fd;

	scen_parse(argc, argv, &opts, 5102, 1);
	if (pipe2(client_gate, O_CLOEXEC) || pipe2(handler_gate, O_CLOEXEC))
		die("pipe");
	lfd = scen_listen(opts.family, opts.port, 16, 0);
	start_thread(&c, client, NULL);
	fd = serve_blocked_handoff(lfd, &h);
	/* The client closes only once the handler has the socket. */
	write_all(client_gate[1], "c", 1);
	join_thread(c);
	wait_close_wait(fd);
	hold_until_go(fd);
	write_all(handler_gate[1], "w", 1);
	join_thread(h);
	return scen_done(lfd);
}
