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

/* Frame-pointer unwinding from inside the syscall skips the direct caller
 * of connect() (libc's wrapper makes no frame): the syscall is made from a
 * small helper so that dial_and_forget() shows in the stack.
 * noipa keeps both out of line and unrenamed (no .constprop/.isra/.part). */
#if defined(__clang__)
#define STACK_FN __attribute__((noinline))
#else
#define STACK_FN __attribute__((noipa))
#endif

static int listen_fd;
/* main -> server: the reply has been read, close now. */
static int server_gate[2];

static STACK_FN int connect_to(int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = scen_addr(family, port, &ss);
	int fd = tcp_socket(family);

	if (connect(fd, (struct sockaddr *)&ss, len))
		die("connect(port %d)", port);
	return fd;
}

static STACK_FN int dial_and_forget(int family, int port)
{
	char resp[4];
	int fd = connect_to(family, port);

	write_all(fd, "ping", 4);
	read_exact(fd, resp, sizeof(resp));
	if (memcmp(resp, "pong", 4))
		fail("client: bad response");
	/* The bug under test: no close(fd), and no read to see the EOF. */
	return fd;
}

/* One byte from a pipe, bounded. */
static void wait_byte(int rfd, int timeout_s, const char *what)
{
	struct pollfd pfd = { .fd = rfd, .events = POLLIN };
	char c;
	int r;

	do
		r = poll(&pfd, 1, timeout_s * 1000);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		die("poll(%s)", what);
	if (r == 0)
		fail("nothing from %s within %d s", what, timeout_s);
	if (read(rfd, &c, 1) != 1)
		die("read(%s)", what);
}

static void *server(void *arg)
{
	char req[4];
	int fd;

	(void)arg;
	fd = scen_accept(listen_fd);
	read_exact(fd, req, sizeof(req));
	if (memcmp(req, "ping", 4))
		fail("server: bad request");
	write_all(fd, "pong", 4);
	/* A FIN queued behind the reply would be consumed by the client's
	 * read of the reply (a read that empties the segment holding the FIN
	 * passes the FIN too): close only once the reply has been read, so
	 * that the EOF stays unread. */
	wait_byte(server_gate[0], SCEN_IO_TIMEOUT_S, "main (server close)");
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
	fact_u64("t_close_wait", now_ns());
	fact("leak_pid", "%d", (int)getpid());
	fact("leak_fd", "%d", fd);
	fact("ready", "1");

	wait_stdin_line(SCEN_STDIN_TIMEOUT_S);
	fact_u64("t_go", now_ns());
	close_fd(listen_fd);
	fact("done", "1");
	return 0;
}
