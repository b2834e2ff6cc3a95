/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * server_churn [-p PORT] [-n SECS]: connections at about 6,000 a second
 * until a line arrives on stdin (fatal after SECS seconds), 4 client threads against 4 server threads sharing one
 * listener, so that about 8 are in flight at any moment.  Clients take
 * ephemeral ports on 64 source addresses (127.1.0.1-64, IPv4 only): the
 * server's TIME_WAITs (60 s each) must not use up the 4-tuples.  Each: connect, 1-byte request, 1-byte reply, then the SERVER
 * close()s first and the client reads EOF and closes:
 *   each server: SYN_RECV ESTABLISHED FIN_WAIT1 FIN_WAIT2 TIME_WAIT CLOSED
 *                (TIME_WAIT ends early, tw_killed, if a 4-tuple comes
 *                 round again)
 *   each client: SYN_SENT ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED
 * It is the load to start a tracer in the middle of: every lifecycle ends
 * within a millisecond or so, and each server side goes through TIME_WAIT.
 * Facts: pid family server_port running connections done
 */
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include "scen.h"

#define THREADS 4
/* Per client thread: heavy churn, yet a load the tracer and its seed pass
 * (every TIME_WAIT of the last 60 s) keep up with on a small machine. */
#define CONN_PER_S_PER_THREAD 1500

static int listen_fd, port;
static atomic_int stopping, clients_done;
static atomic_long served, made;

static void *server(void *arg)
{
	char c;

	(void)arg;
	/* polled, not blocked in accept(): a shutdown() of the listener does
	 * not wake every waiter */
	while (!atomic_load(&clients_done)) {
		struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
		int fd;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;	/* another thread took it */
			die("accept");
		}
		/* blocking I/O, bounded by the socket's timeouts */
		fcntl(fd, F_SETFL, 0);
		read_exact(fd, &c, 1);
		write_all(fd, &c, 1);
		close_fd(fd);	/* first: TIME_WAIT on this side */
		atomic_fetch_add(&served, 1);
	}
	return NULL;
}

/* A connection from 127.1.0.(1 + k), its port chosen at connect(). */
static int connect_from(unsigned int k)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	int fd = tcp_socket(AF_INET);

	src.sin_addr.s_addr = htonl(0x7f010001 + k);
	set_int(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1, "IP_BIND_ADDRESS_NO_PORT");
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)))
		die("bind(127.1.0.%u)", k + 1);
	{
		struct sockaddr_storage ss;
		socklen_t len = scen_addr(AF_INET, port, &ss);

		if (connect(fd, (struct sockaddr *)&ss, len))
			die("connect(port %d)", port);
	}
	return fd;
}

static void *client(void *arg)
{
	char c = 'x', r;

	(void)arg;
	uint64_t t0 = now_ns();

	for (unsigned int i = (unsigned int)(long)arg, n = 0; !atomic_load(&stopping); i++, n++) {
		uint64_t due = t0 + (uint64_t)n * (1000000000ull / CONN_PER_S_PER_THREAD);
		int fd;

		if (due > now_ns())
			sleep_ns(due - now_ns());
		fd = connect_from(i % 64);

		write_all(fd, &c, 1);
		read_exact(fd, &r, 1);
		expect_eof(fd, "client");
		close_fd(fd);
		atomic_fetch_add(&made, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t srv[THREADS], cli[THREADS];
	struct scen_opts o;
	int i;

	scen_parse(argc, argv, &o, 5020, 8);
	if (o.family != AF_INET)
		fail("IPv4 only");
	port = o.port;
	listen_fd = scen_listen(o.family, o.port, 1024, 0);
	for (i = 0; i < THREADS; i++)
		start_thread(&srv[i], server, NULL);
	for (i = 0; i < THREADS; i++)
		start_thread(&cli[i], client, (void *)(long)(i * 16));
	fact("running", "1");
	wait_stdin_line((int)o.n);
	atomic_store(&stopping, 1);
	for (i = 0; i < THREADS; i++)
		join_thread(cli[i]);
	/* every connection was served: the servers may go */
	atomic_store(&clients_done, 1);
	for (i = 0; i < THREADS; i++)
		join_thread(srv[i]);
	fact("connections", "%ld", atomic_load(&made));
	return scen_done(listen_fd);
}
