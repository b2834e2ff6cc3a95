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

static void exchange_server(int fd)
{
	char req[4];

	read_exact(fd, req, sizeof(req));
	if (memcmp(req, "ping", 4))
		fail("server: bad request");
	write_all(fd, "pong", 4);
}

static void exchange_client(int fd)
{
	char resp[4];

	write_all(fd, "ping", 4);
	read_exact(fd, resp, sizeof(resp));
	if (memcmp(resp, "pong", 4))
		fail("client: bad response");
}

static void *server(void *arg)
{
	int fd;

	(void)arg;
	fd = scen_accept(listen_fd);
	exchange_server(fd);
	fact_u64("t_server_close1", now_ns());
	close_fd(fd);

	fd = scen_accept(listen_fd);
	exchange_server(fd);
	if (read_to_eof(fd, 0) != 0)
		fail("server: data before EOF");
	fact_u64("t_server_close2", now_ns());
	close_fd(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct scen_opts o;
	pthread_t t;
	int fd, port, port2;

	scen_parse(argc, argv, &o, 5004, 1);
	listen_fd = scen_listen(o.family, o.port, 16, 0);
	start_thread(&t, server, NULL);

	fact_u64("t_connect1", now_ns());
	fd = scen_connect(o.family, o.port);
	port = local_port(fd);
	fact("client_port", "%d", port);
	exchange_client(fd);
	if (read_to_eof(fd, 0) != 0)
		fail("client: data before EOF");
	fact_u64("t_client_close1", now_ns());
	close_fd(fd);

	sleep_ms(REUSE_DELAY_MS);
	fact_u64("t_connect2", now_ns());
	fd = scen_connect_opts(o.family, o.port, port, 0, 0);
	port2 = local_port(fd);
	fact("client_port2", "%d", port2);
	if (port2 != port)
		fail("second connection got port %d, not %d", port2, port);
	exchange_client(fd);
	fact_u64("t_client_close2", now_ns());
	close_fd(fd);

	join_thread(t);
	close_fd(listen_fd);
	fact("done", "1");
	return 0;
}
