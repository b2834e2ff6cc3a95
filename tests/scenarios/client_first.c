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
	int fd;

	(void)arg;
	fd = accept_pinged(listen_fd);
	expect_eof(fd, "server");
	/* A received FIN puts the socket in delayed-ACK pingpong mode (the
	 * ACK would wait ~40 ms for a FIN to ride on); ACK it now so that the
	 * client's FIN_WAIT2 lasts the whole delay. */
	set_int(fd, IPPROTO_TCP, TCP_QUICKACK, 1, "TCP_QUICKACK");
	fact_u64("t_server_eof", now_ns());
	sleep_ms(SERVER_DELAY_MS);
	close_told("t_server_close", fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct scen_opts o;
	pthread_t t;
	int fd;

	fd = start_pinged(argc, argv, &o, 5001, &listen_fd, &t, server);
	close_told("t_client_close", fd);

	join_thread(t);
	return scen_done(listen_fd);
}
