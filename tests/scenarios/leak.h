/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared parts of the CLOSE_WAIT leak programs (tests/scenarios/leak_*.c)
 * for `tcplinger leaks`; included after scen.h.  Each program makes one
 * connection over loopback ("ping", then "pong"), leaves one socket of it
 * in CLOSE_WAIT (the control: none), prints t_close_wait leak_pid leak_fd
 * ready once it is there and holds it until a line on stdin; then prints
 * t_go done and exits (the exit closes it).
 */
#ifndef TCPLINGER_LEAK_H
#define TCPLINGER_LEAK_H

#include "scen.h"

/* The function the runner looks for in a stack (e.g.
 * serve_forgetful_client()) calls accept4() or connect() itself, as real
 * code does: the helpers below are inlined into it and make no frame of
 * their own.  STACK_FN keeps that function out of line and unrenamed
 * (noipa: no .constprop/.isra/.part), as a real server's handler is. */
#if defined(__clang__)
#define STACK_FN __attribute__((noinline))
#else
#define STACK_FN __attribute__((noipa))
#endif
#define NO_FRAME static inline __attribute__((always_inline, unused))

NO_FRAME int accept_conn(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		die("accept");
	set_timeouts(fd, SCEN_IO_TIMEOUT_S);
	return fd;
}

NO_FRAME int connect_to(int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = scen_addr(family, port, &ss);
	int fd = tcp_socket(family);

	if (connect(fd, (struct sockaddr *)&ss, len))
		die("connect(port %d)", port);
	return fd;
}

/* One byte from a pipe, bounded. */
static __attribute__((unused)) void wait_byte(int rfd, int timeout_s, const char *what)
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

/* A client thread (arg: the struct scen_opts): one exchange, then close. */
static __attribute__((unused)) void *ping_client(void *arg)
{
	const struct scen_opts *o = arg;
	int fd = scen_connect(o->family, o->port);

	fact("client_port", "%d", local_port(fd));
	send_ping(fd);
	close_fd(fd);
	return NULL;
}

/* Parses the options, listens on the server port and starts ping_client()
 * on it (o must outlive the thread).  Returns the listener. */
static __attribute__((unused)) int listen_and_ping(int argc, char **argv,
						   struct scen_opts *o,
						   int def_port, pthread_t *t)
{
	int lfd = scen_setup(argc, argv, o, def_port);

	start_thread(t, ping_client, o);
	return lfd;
}

/* Bounded: the peer's FIN reaches a loopback socket at once.  Then
 * t_close_wait. */
static __attribute__((unused)) void wait_close_wait(int fd)
{
	int i;

	for (i = 0; i < 1000 && tcp_state(fd) != TCP_CLOSE_WAIT; i++)
		sleep_ms(5);
	if (tcp_state(fd) != TCP_CLOSE_WAIT)
		fail("leaked socket not in CLOSE_WAIT (state %d)", tcp_state(fd));
	fact_u64("t_close_wait", now_ns());
}

/* The leak is in place (leak_fd < 0: the control, nothing held): ready,
 * then held until the line on stdin. */
static void hold_until_go(int leak_fd)
{
	fact("leak_pid", "%d", (int)getpid());
	if (leak_fd >= 0)
		fact("leak_fd", "%d", leak_fd);
	fact("ready", "1");

	wait_stdin_line(SCEN_STDIN_TIMEOUT_S);
	fact_u64("t_go", now_ns());
}

/* main() of a server-side leak whose client is ping_client(): serve(lfd)
 * accepts the one connection and returns the fd it leaks. */
static __attribute__((unused)) int run_server_leak(int argc, char **argv, int def_port,
						   int (*serve)(int lfd))
{
	struct scen_opts o;
	pthread_t t;
	int lfd, fd;

	lfd = listen_and_ping(argc, argv, &o, def_port, &t);
	fd = serve(lfd);
	join_thread(t);
	wait_close_wait(fd);
	hold_until_go(fd);
	return scen_done(lfd); /* the leak left to the exit */
}

#endif /* TCPLINGER_LEAK_H */
