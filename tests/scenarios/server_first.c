/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * server_first [-6] [-p PORT]: the server closes first; the client (main
 * thread, so the owner is the process itself) reads EOF, sleeps 1.5 s and
 * closes.
 * Its lifecycles, as the runner expects them: SCENARIOS["server_first"] in
 * tests/suite/lifecycles.py.
 * Facts: pid family server_port client_port t_connect t_server_close
 *        t_client_eof t_client_close done
 */
#include "scen.h"

#define CLIENT_DELAY_MS 1500

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

	scen_parse(argc, argv, &o, 5002, 1);
	listen_fd = scen_listen(o.family, o.port, 16, 0);
	start_thread(&t, server, NULL);

	fact_u64("t_connect", now_ns());
	fd = scen_connect(o.family, o.port);
	fact("client_port", "%d", local_port(fd));
	write_all(fd, "ping", 4);
	read_exact(fd, resp, sizeof(resp));
	if (memcmp(resp, "pong", 4))
		fail("client: bad response");
	if (read_to_eof(fd, 0) != 0)
		fail("client: data before EOF");
	fact_u64("t_client_eof", now_ns());
	join_thread(t);
	sleep_ms(CLIENT_DELAY_MS);
	fact_u64("t_client_close", now_ns());
	close_fd(fd);

	close_fd(listen_fd);
	fact("done", "1");
	return 0;
}
