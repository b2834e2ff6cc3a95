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

/* Frame-pointer unwinding from inside the syscall skips the direct caller
 * of accept() (libc's wrapper makes no frame): the syscall is made from a
 * small helper so that serve_forgetful_client() shows in the stack.
 * noipa keeps both out of line and unrenamed (no .constprop/.isra/.part). */
#if defined(__clang__)
#define STACK_FN __attribute__((noinline))
#else
#define STACK_FN __attribute__((noipa))
#endif

static struct scen_opts opts;

static STACK_FN int accept_conn(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		die("accept");
	set_timeouts(fd, SCEN_IO_TIMEOUT_S);
	return fd;
}

static STACK_FN int serve_forgetful_client(int lfd)
{
	char req[4];
	int fd = accept_conn(lfd);

	read_exact(fd, req, sizeof(req));
	if (memcmp(req, "ping", 4))
		fail("server: bad request");
	write_all(fd, "pong", 4);
	/* The bug under test: no close(fd). */
	return fd;
}

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

/* Bounded: the peer's FIN reaches a loopback socket at once. */
static void wait_close_wait(int fd)
{
	int i;

	for (i = 0; i < 1000 && tcp_state(fd) != TCP_CLOSE_WAIT; i++)
		sleep_ms(5);
	if (tcp_state(fd) != TCP_CLOSE_WAIT)
		fail("leaked socket not in CLOSE_WAIT (state %d)", tcp_state(fd));
}

int main(int argc, char **argv)
{
	pthread_t t;
	int lfd, fd;

	scen_parse(argc, argv, &opts, 5100, 1);
	lfd = scen_listen(opts.family, opts.port, 16, 0);
	start_thread(&t, client, NULL);
	fd = serve_forgetful_client(lfd);
	join_thread(t);
	wait_close_wait(fd);
	fact_u64("t_close_wait", now_ns());
	fact("leak_pid", "%d", (int)getpid());
	fact("leak_fd", "%d", fd);
	fact("ready", "1");

	wait_stdin_line(SCEN_STDIN_TIMEOUT_S);
	fact_u64("t_go", now_ns());
	close_fd(lfd);
	fact("done", "1");
	return 0;
}
