/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Small helpers shared by the benchmark load programs (header only).  They
 * make real TCP sockets over loopback inside the network namespace they are
 * run in, and print results as "key=value" lines on stdout for
 * tests/bench/bench.py.  Any failed syscall ends the program with a message
 * on stderr and exit status 1; every blocking socket call has a timeout.
 */
#ifndef TCPLINGER_BENCH_H
#define TCPLINGER_BENCH_H

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
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
#define BENCH_IO_TIMEOUT_S 10

static __attribute__((unused)) uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* A numeric option: -flag N sets *val, within lo..hi. */
struct bench_opt {
	char flag;
	long *val;
	long lo, hi;
	const char *what;
};

/* Parses argv against opts (n of them, each taking a number); usage names
 * them when an option is unknown (exit status 2). */
static __attribute__((unused)) void bench_parse(int argc, char **argv,
						const struct bench_opt *opts, int n,
						const char *usage)
{
	char spec[32] = "";
	int c, k;

	prog_name = argv[0];
	for (k = 0; k < n && 2 * k + 2 < (int)sizeof(spec); k++) {
		spec[2 * k] = opts[k].flag;
		spec[2 * k + 1] = ':';
	}
	while ((c = getopt(argc, argv, spec)) != -1) {
		for (k = 0; k < n && opts[k].flag != c; k++)
			;
		if (c == '?' || k == n) {
			fprintf(stderr, "usage: %s %s\n", argv[0], usage);
			exit(2);
		}
		*opts[k].val = parse_long(optarg, opts[k].lo, opts[k].hi, opts[k].what);
	}
	if (optind != argc)
		fail("unexpected argument '%s'", argv[optind]);
}

/* 127.0.0.1 (host order 0x7f000001) or any other loopback address. */
static __attribute__((unused)) struct sockaddr_in v4addr(uint32_t host_addr,
							 int port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(host_addr);
	return a;
}

static __attribute__((unused)) int bench_listen(uint32_t host_addr, int port,
						int backlog)
{
	struct sockaddr_in a = v4addr(host_addr, port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	set_timeouts(fd, BENCH_IO_TIMEOUT_S);
	set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		die("bind(listener port %d)", port);
	if (listen(fd, backlog))
		die("listen");
	return fd;
}

/* A client socket bound to source address src and port sport, not yet
 * connected; non-blocking if nonblock.  sport 0: the port is picked by
 * connect(), which checks the whole 4-tuple (IP_BIND_ADDRESS_NO_PORT). */
static __attribute__((unused)) int bench_bound_socket(uint32_t src, int sport, int nonblock)
{
	struct sockaddr_in s = v4addr(src, sport);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		die("socket");
	if (!nonblock)
		set_timeouts(fd, BENCH_IO_TIMEOUT_S);
	if (!sport)
		set_int(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1, "IP_BIND_ADDRESS_NO_PORT");
	if (bind(fd, (struct sockaddr *)&s, sizeof(s)))
		die("bind(source %s:%d)", inet_ntoa(s.sin_addr), sport);
	return fd;
}

/* A client socket bound to source address src and port sport, connecting
 * to 127.0.0.1:port.  Non-blocking if nonblock: the handshake may still be
 * under way on return (EPOLLOUT says when it is over). */
static __attribute__((unused)) int bench_connect_mode(uint32_t src, int sport, int port,
						      int nonblock)
{
	struct sockaddr_in d = v4addr(0x7f000001u, port);
	int fd = bench_bound_socket(src, sport, nonblock);

	if (connect(fd, (struct sockaddr *)&d, sizeof(d)) && !(nonblock && errno == EINPROGRESS))
		die("connect(127.0.0.1:%d from %s:%d)", port,
		    inet_ntoa(v4addr(src, sport).sin_addr), sport);
	return fd;
}

/* Blocking, connected on return. */
static __attribute__((unused)) int bench_connect(uint32_t src, int sport, int port)
{
	return bench_connect_mode(src, sport, port, 0);
}

/* Waits for the peer's FIN: no data may come first. */
static __attribute__((unused)) void read_eof(int fd)
{
	char c;

	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read (waiting for EOF)");
		}
		if (n == 0)
			return;
		fail("read: data before EOF");
	}
}

#endif /* TCPLINGER_BENCH_H */
