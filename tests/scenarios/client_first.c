/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * client_first [-6] [-p PORT]: one connection, a small request/response,
 * then the client close()s first.  The server reads EOF, waits 200 ms and
 * closes.  The server ACKs the FIN at once (TCP_QUICKACK), so FIN_WAIT1 is
 * brief and FIN_WAIT2 lasts the 200 ms.
 * Its lifecycles, as the runner expects them: SCENARIOS["client_first"] in
 * tests/suite/lifecycles.py.
 * Facts: pid family server_port client_port t_connect t_client_close
 *        t_server_eof t_server_close done
 */
#include "scen.h"

#define SERVER_DELAY_MS 200

static int listen_fd;

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
	if (read_to_eof(fd, 0) != 0)
		fail("server: data before EOF");
	/* A received FIN puts the socket in delayed-ACK pingpong mode (the
	 * ACK would wait ~40 ms for a FIN to ride on); ACK it now so that the
	 * client's FIN_WAIT2 lasts the whole delay. */
	set_int(fd, IPPROTO_TCP, TCP_QUICKACK, 1, "TCP_QUICKACK");
	fact_u64("t_server_eof", now_ns());
	sleep_ms(SERVER_DELAY_MS);
	fact_u64("t_server_close", now_ns());
	close_fd(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct scen_opts o;
	pthread_t t;
	char resp[4];
	int fd;

	scen_parse(argc, argv, &o, 5001, 1);
	listen_fd = scen_listen(o.family, o.port, 16, 0);
	start_thread(&t, server, NULL);

	fact_u64("t_connect", now_ns());
	fd = scen_connect(o.family, o.port);
	fact("client_port", "%d", local_port(fd));
	write_all(fd, "ping", 4);
	read_exact(fd, resp, sizeof(resp));
	if (memcmp(resp, "pong", 4))
		fail("client: bad response");
	fact_u64("t_client_close", now_ns());
	close_fd(fd);

	join_thread(t);
	close_fd(listen_fd);
	fact("done", "1");
	return 0;
}
