/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared helpers for the scenario programs (header only: each scenario is
 * one program).  A scenario makes real TCP sockets over loopback inside the
 * network namespace it is run in, and prints facts as "key=value" lines on
 * stdout (flushed at once) for tests/run_tests.py: ports, pid and
 * CLOCK_BOOTTIME timestamps of the actions that matter.  Any failed syscall
 * ends the program with a message on stderr and exit status 1.
 *
 * Common options:  -6 (IPv6, ::1; default IPv4, 127.0.0.1)  -p PORT (server
 * port)  -n N (a count, per scenario).  Every blocking socket gets a receive
 * and send timeout so that no wait can hang for ever.
 */
#ifndef TCPLINGER_SCEN_H
#define TCPLINGER_SCEN_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "../testprog.h"

/* How long any single blocking socket call may wait. */
#define SCEN_IO_TIMEOUT_S 15
/* How long a scenario waits for a line on stdin before giving up. */
#define SCEN_STDIN_TIMEOUT_S 300

static __attribute__((unused)) uint64_t now_ns(void)
{
	return clock_ns(CLOCK_BOOTTIME);
}

static __attribute__((unused)) void fact_u64(const char *key, uint64_t v)
{
	fact(key, "%" PRIu64, v);
}

static __attribute__((unused)) void sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ull),
		.tv_nsec = (long)(ns % 1000000000ull),
	};
	int tries = 0;

	/* EINTR can only shorten it a bounded number of times. */
	while (nanosleep(&ts, &ts)) {
		if (errno != EINTR || ++tries > 1000)
			die("nanosleep");
	}
}

static __attribute__((unused)) void sleep_ms(unsigned ms)
{
	sleep_ns((uint64_t)ms * 1000000ull);
}

struct scen_opts {
	int family;	/* AF_INET or AF_INET6 */
	int port;	/* server port */
	long n;		/* count, meaning per scenario */
};

/* Parses -6 -p PORT -n N; fills defaults first. */
static __attribute__((unused)) void scen_parse(int argc, char **argv,
					       struct scen_opts *o,
					       int def_port, long def_n)
{
	int c;

	prog_name = argv[0];
	o->family = AF_INET;
	o->port = def_port;
	o->n = def_n;
	while ((c = getopt(argc, argv, "6p:n:")) != -1) {
		switch (c) {
		case '6':
			o->family = AF_INET6;
			break;
		case 'p':
			o->port = (int)parse_long(optarg, 1, 65535, "port");
			break;
		case 'n':
			o->n = parse_long(optarg, 1, 1000000, "count");
			break;
		default:
			fprintf(stderr, "usage: %s [-6] [-p PORT] [-n N]\n", argv[0]);
			exit(2);
		}
	}
	if (optind != argc)
		fail("unexpected argument '%s'", argv[optind]);
	/* Lines, not blocks, even when stdout is a pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	fact("pid", "%d", (int)getpid());
	fact("family", "%s", o->family == AF_INET6 ? "IPv6" : "IPv4");
	fact("server_port", "%d", o->port);
}

static __attribute__((unused)) socklen_t scen_addr(int family, int port,
						   struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		a->sin6_addr = in6addr_loopback;
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*a);
}

static __attribute__((unused)) int tcp_socket(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	set_timeouts(fd, SCEN_IO_TIMEOUT_S);
	return fd;
}

/* A listener on loopback:port.  rcvbuf > 0 sets SO_RCVBUF first (accepted
 * children inherit it, and it must be set before the handshake to shape
 * the window). */
static __attribute__((unused)) int scen_listen(int family, int port,
					       int backlog, int rcvbuf)
{
	struct sockaddr_storage ss;
	socklen_t len = scen_addr(family, port, &ss);
	int fd = tcp_socket(family);

	set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	if (family == AF_INET6)
		set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
	if (rcvbuf > 0)
		set_int(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf, "SO_RCVBUF");
	if (bind(fd, (struct sockaddr *)&ss, len))
		die("bind(listener port %d)", port);
	if (listen(fd, backlog))
		die("listen");
	return fd;
}

/* Connects a new socket to loopback:port.  local_port > 0 binds that local
 * port first (with SO_REUSEADDR); rcvbuf/sndbuf > 0 are set before connect. */
static __attribute__((unused)) int scen_connect_opts(int family, int port,
						     int local_port, int rcvbuf,
						     int sndbuf)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = tcp_socket(family);

	if (rcvbuf > 0)
		set_int(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf, "SO_RCVBUF");
	if (sndbuf > 0)
		set_int(fd, SOL_SOCKET, SO_SNDBUF, sndbuf, "SO_SNDBUF");
	if (local_port > 0) {
		set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
		len = scen_addr(family, local_port, &ss);
		if (bind(fd, (struct sockaddr *)&ss, len))
			die("bind(local port %d)", local_port);
	}
	len = scen_addr(family, port, &ss);
	if (connect(fd, (struct sockaddr *)&ss, len))
		die("connect(port %d)", port);
	return fd;
}

static __attribute__((unused)) int scen_connect(int family, int port)
{
	return scen_connect_opts(family, port, 0, 0, 0);
}

static __attribute__((unused)) int scen_accept(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		die("accept");
	set_timeouts(fd, SCEN_IO_TIMEOUT_S);
	return fd;
}

/* The port of an address getsockname() or getpeername() filled in. */
static __attribute__((unused)) int addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static __attribute__((unused)) int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		die("getsockname");
	return addr_port(&ss);
}

/* Parses the options and listens on the server port (backlog 16): the
 * start of most scenarios. */
static __attribute__((unused)) int scen_setup(int argc, char **argv,
					      struct scen_opts *o, int def_port)
{
	scen_parse(argc, argv, o, def_port, 1);
	return scen_listen(o->family, o->port, 16, 0);
}

/* A client connection to the server port: t_key is the time just before
 * connect(), client_port its local port (also in *port unless NULL). */
static __attribute__((unused)) int connect_told(const struct scen_opts *o,
						const char *t_key, int *port)
{
	int fd, p;

	fact_u64(t_key, now_ns());
	fd = scen_connect(o->family, o->port);
	p = local_port(fd);
	fact("client_port", "%d", p);
	if (port)
		*port = p;
	return fd;
}

/* The client's half of the exchange: "ping", then the "pong" read. */
static __attribute__((unused)) void send_ping(int fd)
{
	char resp[4];

	write_all(fd, "ping", 4);
	read_exact(fd, resp, sizeof(resp));
	if (memcmp(resp, "pong", 4))
		fail("client: bad response");
}

/* The server's half; who names the side in the failure. */
static __attribute__((unused)) void answer_ping(int fd, const char *who)
{
	char req[4];

	read_exact(fd, req, sizeof(req));
	if (memcmp(req, "ping", 4))
		fail("%s: bad request", who);
	write_all(fd, "pong", 4);
}

/* The server's connection once it has answered the ping. */
static __attribute__((unused)) int accept_pinged(int lfd)
{
	int fd = scen_accept(lfd);

	answer_ping(fd, "server");
	return fd;
}

/* key = the time the close() begins, then the close(). */
static __attribute__((unused)) void close_told(const char *key, int fd)
{
	fact_u64(key, now_ns());
	close_fd(fd);
}

/* The end of main(): the listener closed, done=1. */
static __attribute__((unused)) int scen_done(int lfd)
{
	close_fd(lfd);
	fact("done", "1");
	return 0;
}

/* Reads until EOF (bounded by the socket's receive timeout per read and by
 * max_bytes in all); returns the number of data bytes read before EOF. */
static __attribute__((unused)) size_t read_to_eof(int fd, size_t max_bytes)
{
	char buf[4096];
	size_t total = 0;

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read (waiting for EOF)");
		}
		if (n == 0)
			return total;
		total += (size_t)n;
		if (total > max_bytes)
			fail("read: more than %zu bytes before EOF", max_bytes);
	}
}

/* The peer's FIN must come before any data; who names the side. */
static __attribute__((unused)) void expect_eof(int fd, const char *who)
{
	if (read_to_eof(fd, 0) != 0)
		fail("%s: data before EOF", who);
}

/* tcpi_state of a full socket (kernel numbering, 1 = ESTABLISHED ...). */
static __attribute__((unused)) int tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		die("getsockopt(TCP_INFO)");
	return ti.tcpi_state;
}

/* Blocks until a line arrives on stdin (or EOF); fatal after timeout_s. */
static __attribute__((unused)) void wait_stdin_line(int timeout_s)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000ull;
	char c;

	for (;;) {
		uint64_t now = now_ns();
		int r;

		if (now >= deadline)
			fail("no line on stdin within %d s", timeout_s);
		r = poll(&pfd, 1, (int)((deadline - now) / 1000000ull) + 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("poll(stdin)");
		}
		if (r == 0)
			continue;
		ssize_t n = read(STDIN_FILENO, &c, 1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read(stdin)");
		}
		if (n == 0 || c == '\n')
			return;
	}
}

static __attribute__((unused)) void start_thread(pthread_t *t,
						 void *(*fn)(void *), void *arg)
{
	int err = pthread_create(t, NULL, fn, arg);

	if (err) {
		errno = err;
		die("pthread_create");
	}
}

static __attribute__((unused)) void join_thread(pthread_t t)
{
	int err = pthread_join(t, NULL);

	if (err) {
		errno = err;
		die("pthread_join");
	}
}

/* The start of a one-connection scenario: the options, the listener (in
 * *lfd before server() starts in *t), then the client's connection
 * (t_connect, client_port) once it has sent "ping" and read "pong". */
static __attribute__((unused)) int start_pinged(int argc, char **argv,
						struct scen_opts *o, int def_port,
						int *lfd, pthread_t *t,
						void *(*server)(void *))
{
	int fd;

	*lfd = scen_setup(argc, argv, o, def_port);
	start_thread(t, server, NULL);
	fd = connect_told(o, "t_connect", NULL);
	send_ping(fd);
	return fd;
}

#endif /* TCPLINGER_SCEN_H */
