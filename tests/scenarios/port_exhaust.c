/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * port_exhaust [-p PORT] [-n MAX]: a client that closes first, in a loop,
 * towards one server until connect() fails with EADDRNOTAVAIL, in a netns
 * whose ip_local_port_range holds 20 ports and tcp_tw_reuse=0 (the test
 * sets both): every closed connection leaves its local port in TIME_WAIT
 * here, so the 21st connect() finds no port.  Then -n more connect()s,
 * 10 ms apart, that fail the same way.  At most 1000 connections in all.
 * Facts: pid family server_port connections (made before the first
 *        failure) errors (EADDRNOTAVAIL seen) t_first_error done
 */
#include "scen.h"

#define MAX_CONNS 1000

/* connect() then close() first; returns 0 or the connect()'s errno. */
static int connect_close(int lfd, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = scen_addr(AF_INET, port, &ss);
	int fd = tcp_socket(AF_INET), afd;

	if (connect(fd, (struct sockaddr *)&ss, len)) {
		int err = errno;

		close_fd(fd);
		return err;
	}
	afd = scen_accept(lfd);
	close_fd(fd);		/* the client closes first: TIME_WAIT here */
	expect_eof(afd, "server");
	close_fd(afd);
	return 0;
}

int main(int argc, char **argv)
{
	struct scen_opts o;
	int lfd, err = 0, conns = 0, errors = 0;

	scen_parse(argc, argv, &o, 5040, 5);
	if (o.family != AF_INET)
		fail("IPv4 only");
	lfd = scen_listen(AF_INET, o.port, 16, 0);
	while (conns < MAX_CONNS && !(err = connect_close(lfd, o.port)))
		conns++;
	if (err != EADDRNOTAVAIL)
		fail("connect() %d: errno %d (%s), expected EADDRNOTAVAIL", conns + 1, err,
		     err ? strerror(err) : "none");
	fact("connections", "%d", conns);
	fact_u64("t_first_error", now_ns());
	errors = 1;
	for (long i = 0; i < o.n; i++) {
		sleep_ms(10);
		if (connect_close(lfd, o.port) == EADDRNOTAVAIL)
			errors++;
	}
	fact("errors", "%d", errors);
	return scen_done(lfd);
}
