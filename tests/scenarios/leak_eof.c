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

/* Frame-pointer unwinding from inside the syscall skips the direct caller
 * of accept() (libc's wrapper makes no frame): the syscall is made from a
 * small helper so that serve_until_eof() shows in the stack.
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

static STACK_FN int serve_until_eof(int lfd)
{
	char req[4];
	int fd = accept_conn(lfd);

	read_exact(fd, req, sizeof(req));
	if (memcmp(req, "ping", 4))
		fail("server: bad request");
	write_all(fd, "pong", 4);
	recv_to_eof(fd);
	fact_u64("t_eof", now_ns());
	/* The bug under test: EOF seen, yet no close(fd). */
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

	scen_parse(argc, argv, &opts, 5103, 1);
	lfd = scen_listen(opts.family, opts.port, 16, 0);
	start_thread(&t, client, NULL);
	fd = serve_until_eof(lfd);
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
