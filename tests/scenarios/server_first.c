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
	int fd;

	(void)arg;
	fd = accept_pinged(listen_fd);
	close_told("t_server_close", fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct scen_opts o;
	pthread_t t;
	int fd;

	fd = start_pinged(argc, argv, &o, 5002, &listen_fd, &t, server);
	expect_eof(fd, "client");
	fact_u64("t_client_eof", now_ns());
	join_thread(t);
	sleep_ms(CLIENT_DELAY_MS);
	close_told("t_client_close", fd);

	return scen_done(listen_fd);
}
