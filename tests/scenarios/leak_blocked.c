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

/* Frame-pointer unwinding from inside the syscall skips the direct caller
 * of accept() (libc's wrapper makes no frame): the syscall is made from a
 * small helper so that serve_blocked_handoff() shows in the stack.
 * noipa keeps both out of line and unrenamed (no .constprop/.isra/.part). */
#if defined(__clang__)
#define STACK_FN __attribute__((noinline))
#else
#define STACK_FN __attribute__((noipa))
#endif

static struct scen_opts opts;
/* main -> client: close now; main -> handler: wake up. */
static int client_gate[2], handler_gate[2];

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

/* Stands for a handler stuck on something else (a lock, a backend) before
 * it reads the request: the socket is neither read nor closed. */
static void *handler(void *arg)
{
	(void)arg;
	wait_byte(handler_gate[0], SCEN_STDIN_TIMEOUT_S + 10, "main (handler wake-up)");
	return NULL;
}

static STACK_FN int accept_conn(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		die("accept");
	set_timeouts(fd, SCEN_IO_TIMEOUT_S);
	return fd;
}

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
	fact_u64("t_close_wait", now_ns());
	fact("leak_pid", "%d", (int)getpid());
	fact("leak_fd", "%d", fd);
	fact("ready", "1");

	wait_stdin_line(SCEN_STDIN_TIMEOUT_S);
	fact_u64("t_go", now_ns());
	write_all(handler_gate[1], "w", 1);
	join_thread(h);
	close_fd(lfd);
	fact("done", "1");
	return 0;
}
