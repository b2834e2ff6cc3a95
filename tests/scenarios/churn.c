/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * churn [-6] [-p PORT] [-n N]: N connections as fast as possible, one
 * client thread (main) and one server thread, one server port, ephemeral
 * client ports.  Each: connect, 1-byte request, 1-byte reply, the client
 * close()s first, the server reads EOF and closes.
 *   each server: SYN_RECV ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED
 *   each client: SYN_SENT ESTABLISHED FIN_WAIT1 FIN_WAIT2 TIME_WAIT
 * N client TIME_WAITs need N free ephemeral ports: run it in a netns with
 * net.ipv4.tcp_tw_reuse=0 so no TIME_WAIT is recycled early.
 * Facts: pid family server_port n t_start t_end elapsed_ms connections done
 */
#include "scen.h"

static int listen_fd;
static long count;

static void *server(void *arg)
{
	char c;
	long i;

	(void)arg;
	for (i = 0; i < count; i++) {
		int fd = scen_accept(listen_fd);

		read_exact(fd, &c, 1);
		write_all(fd, &c, 1);
		if (read_to_eof(fd, 0) != 0)
			fail("server: data before EOF (connection %ld)", i);
		close_fd(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct scen_opts o;
	pthread_t t;
	uint64_t t0, t1;
	long i;

	scen_parse(argc, argv, &o, 5008, 1000);
	count = o.n;
	fact("n", "%ld", count);
	listen_fd = scen_listen(o.family, o.port, 1024, 0);
	start_thread(&t, server, NULL);

	t0 = now_ns();
	fact_u64("t_start", t0);
	for (i = 0; i < count; i++) {
		char c = (char)('a' + i % 26), r;
		int fd = scen_connect(o.family, o.port);

		write_all(fd, &c, 1);
		read_exact(fd, &r, 1);
		if (r != c)
			fail("client: bad reply (connection %ld)", i);
		close_fd(fd);
	}
	join_thread(t);
	t1 = now_ns();
	fact_u64("t_end", t1);
	fact_u64("elapsed_ms", (t1 - t0) / 1000000ull);
	fact("connections", "%ld", count);
	return scen_done(listen_fd);
}
