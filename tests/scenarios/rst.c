/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * rst [-6] [-p PORT]: the client sets SO_LINGER {1, 0} and close()s while
 * ESTABLISHED: the kernel aborts the connection with an RST.
 * Its lifecycles, as the runner expects them: SCENARIOS["rst"] in
 * tests/suite/lifecycles.py.
 * Facts: pid family server_port client_port t_connect t_client_close
 *        t_server_reset done
 */
#include "scen.h"

static int listen_fd;

static void *server(void *arg)
{
	char buf[4];
	ssize_t n = -1;
	int fd, tries;

	(void)arg;
	fd = accept_pinged(listen_fd);
	/* Next read must fail with ECONNRESET (bounded by SO_RCVTIMEO). */
	for (tries = 0; tries < 100; tries++) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (n >= 0)
		fail("server: read returned %zd, expected ECONNRESET", n);
	if (errno != ECONNRESET)
		die("server: read (expected ECONNRESET)");
	close_told("t_server_reset", fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct scen_opts o;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	pthread_t t;
	int fd;

	fd = start_pinged(argc, argv, &o, 5005, &listen_fd, &t, server);
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		die("setsockopt(SO_LINGER)");
	if (tcp_state(fd) != TCP_ESTABLISHED)
		fail("client not ESTABLISHED before close");
	close_told("t_client_close", fd);

	join_thread(t);
	return scen_done(listen_fd);
}
