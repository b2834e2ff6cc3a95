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
	fd = scen_accept(listen_fd);
	read_exact(fd, buf, sizeof(buf));
	write_all(fd, "pong", 4);
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
	fact_u64("t_server_reset", now_ns());
	close_fd(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct scen_opts o;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	pthread_t t;
	char resp[4];
	int fd;

	scen_parse(argc, argv, &o, 5005, 1);
	listen_fd = scen_listen(o.family, o.port, 16, 0);
	start_thread(&t, server, NULL);

	fact_u64("t_connect", now_ns());
	fd = scen_connect(o.family, o.port);
	fact("client_port", "%d", local_port(fd));
	write_all(fd, "ping", 4);
	read_exact(fd, resp, sizeof(resp));
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		die("setsockopt(SO_LINGER)");
	if (tcp_state(fd) != TCP_ESTABLISHED)
		fail("client not ESTABLISHED before close");
	fact_u64("t_client_close", now_ns());
	close_fd(fd);

	join_thread(t);
	close_fd(listen_fd);
	fact("done", "1");
	return 0;
}
