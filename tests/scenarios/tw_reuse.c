/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tw_reuse [-6] [-p PORT]: connection 1: the server closes first, the
 * client closes after EOF, so the server side holds TIME_WAIT.  500 ms
 * later the client binds the same local port (SO_REUSEADDR) and connects
 * again: the SYN on the same 4-tuple kills the server's timewait sock.
 * Connection 2 then closes client first.
 * Its lifecycles, as the runner expects them: SCENARIOS["tw_reuse"] in
 * tests/suite/lifecycles.py.
 * Facts: pid family server_port client_port t_connect1 t_server_close1
 *        t_client_close1 t_connect2 client_port2 t_client_close2
 *        t_server_close2 done
 */
#include "scen.h"

#define REUSE_DELAY_MS 500

static int listen_fd;

static void *server(void *arg)
{
	int fd;

	(void)arg;
	fd = accept_pinged(listen_fd);
	close_told("t_server_close1", fd);

	fd = accept_pinged(listen_fd);
	expect_eof(fd, "server");
	close_told("t_server_close2", fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct scen_opts o;
	pthread_t t;
	int fd, port, port2;

	listen_fd = scen_setup(argc, argv, &o, 5004);
	start_thread(&t, server, NULL);

	fd = connect_told(&o, "t_connect1", &port);
	send_ping(fd);
	expect_eof(fd, "client");
	close_told("t_client_close1", fd);

	sleep_ms(REUSE_DELAY_MS);
	fact_u64("t_connect2", now_ns());
	fd = scen_connect_opts(o.family, o.port, port, 0, 0);
	port2 = local_port(fd);
	fact("client_port2", "%d", port2);
	if (port2 != port)
		fail("second connection got port %d, not %d", port2, port);
	send_ping(fd);
	close_told("t_client_close2", fd);

	join_thread(t);
	return scen_done(listen_fd);
}
