/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * churn_load [-t SECS] [-n MAX] [-a NADDR] [-p PORT]: TCP connection churn
 * over loopback, as fast as the machine allows, for SECS seconds (default 5)
 * or MAX connections, whichever comes first.
 *
 * One server thread (127.0.0.1:PORT, default 7100) and one client thread
 * (main).  Connection i binds source 127.1.0.(1 + i % NADDR) (default 64
 * addresses), port SPORT_MIN + i / NADDR, so that no (address, port) pair
 * is used twice in a run; it sends one byte, gets it back, then closes in
 * one of two orders, alternating (the byte tells the server which):
 *
 *   even i, client first:  client SYN_SENT ES FIN_WAIT1 FIN_WAIT2 TIME_WAIT
 *                          server SYN_RECV ES CLOSE_WAIT LAST_ACK CLOSE
 *   odd i, server first:   server SYN_RECV ES FIN_WAIT1 FIN_WAIT2 TIME_WAIT
 *                          client SYN_SENT ES CLOSE_WAIT LAST_ACK CLOSE
 *
 * Every connection leaves one TIME_WAIT socket (60 s), on one side or the
 * other.  Never reusing a 4-tuple within a run means that no TIME_WAIT is
 * reused or killed early (a server-side TIME_WAIT would be, by a SYN from a
 * client port the kernel handed out again), so the transition counts below
 * are exact.  MAX is at most NADDR * (SPORT_MAX - SPORT_MIN + 1), 3.5 M with
 * the defaults.  Run it in a fresh netns each time (the last run's
 * TIME_WAITs hold its ports for 60 s) with net.ipv4.tcp_max_tw_buckets
 * above the connection count.
 *
 * Expected transitions, for a run whose tracer stops before any TIME_WAIT
 * expires (60 s); bench.py checks them against real runs of each tool:
 *   transitions_tracepoint: sock:inet_sock_set_state events of TCP sockets
 *     (what tcpstates and the bpftrace script print): 10 per connection,
 *     either order -- the side closing first CLOSE>SS (or LISTEN>SR) SS>ES
 *     ES>FW1 FW1>FW2 FW2>CLOSE (the timewait sock takes over), the other
 *     CLOSE>SS (or LISTEN>SR) SS>ES ES>CW CW>LA LA>CLOSE -- plus 2 for the
 *     listener (CLOSE>LISTEN, LISTEN>CLOSE).
 *   transitions_tcplinger: `tcplinger --events` transition lines: 10 per
 *     connection, either order (FW2>TIME_WAIT instead of FW2>CLOSE; the
 *     TIME_WAIT>CLOSE at expiry comes 60 s later, after the run; listeners
 *     are not reported).
 *
 * Prints key=value lines: pid, connections, client_first, server_first,
 * elapsed_ms, conn_per_s, transitions_tracepoint, transitions_tcplinger,
 * done=1.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include "bench.h"

/* Per connection, both ends together (see above; bench.py verifies). */
#define TP_CLIENT_FIRST		10	/* tracepoint events */
#define TP_SERVER_FIRST		10
#define TP_LISTENER		2	/* per run */
#define TL_CLIENT_FIRST		10	/* tcplinger transitions */
#define TL_SERVER_FIRST		10

/* Client source ports, bound explicitly (clear of the server's port). */
#define SPORT_MIN		10000
#define SPORT_MAX		64999

#define ORDER_CLIENT_FIRST 'c'
#define ORDER_SERVER_FIRST 's'

static int listen_fd;
static atomic_long served;
static atomic_int stopping;

static void *server(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		char c;

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (atomic_load(&stopping))
				break;	/* the listener was shut down */
			die("accept");
		}
		set_timeouts(fd, BENCH_IO_TIMEOUT_S);
		read_exact(fd, &c, 1);
		write_all(fd, &c, 1);
		if (c == ORDER_CLIENT_FIRST)
			read_eof(fd);
		else if (c != ORDER_SERVER_FIRST)
			fail("server: bad request byte %d", c);
		close_fd(fd);
		atomic_fetch_add(&served, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long secs = 5, max = 0, naddr = 64, port = 7100, i;
	uint64_t t0, t1, deadline;
	long n_client_first = 0, n_server_first = 0;
	pthread_t t;
	const struct bench_opt opts[] = {
		{ 't', &secs, 1, 600, "seconds" },
		{ 'n', &max, 1, 100000000, "count" },
		{ 'a', &naddr, 1, 250, "address count" },
		{ 'p', &port, 1, 65535, "port" },
	};
	int err;

	bench_parse(argc, argv, opts, 4, "[-t SECS] [-n MAX] [-a NADDR] [-p PORT]");
	if (port >= SPORT_MIN && port <= SPORT_MAX)
		fail("server port %ld is in the client port range %d-%d", port, SPORT_MIN, SPORT_MAX);
	if (!max || max > naddr * (SPORT_MAX - SPORT_MIN + 1))
		max = naddr * (SPORT_MAX - SPORT_MIN + 1);
	/* Whatever happens, never outlive the run by much. */
	alarm((unsigned)secs + 60);
	setvbuf(stdout, NULL, _IOLBF, 0);
	fact("pid", "%d", (int)getpid());

	listen_fd = bench_listen(0x7f000001u, (int)port, 4096);
	err = pthread_create(&t, NULL, server, NULL);
	if (err) {
		errno = err;
		die("pthread_create");
	}

	t0 = mono_ns();
	deadline = t0 + (uint64_t)secs * 1000000000ull;
	for (i = 0; i < max; i++) {
		char order = (i & 1) ? ORDER_SERVER_FIRST : ORDER_CLIENT_FIRST, r;
		int fd;

		if ((i & 15) == 0 && mono_ns() >= deadline)
			break;
		fd = bench_connect(0x7f010001u + (uint32_t)(i % naddr),
				   SPORT_MIN + (int)(i / naddr), (int)port);
		write_all(fd, &order, 1);
		read_exact(fd, &r, 1);
		if (r != order)
			fail("client: bad reply (connection %ld)", i);
		if (order == ORDER_SERVER_FIRST) {
			read_eof(fd);
			n_server_first++;
		} else {
			n_client_first++;
		}
		close_fd(fd);
	}
	t1 = mono_ns();

	/* The server has answered every connection; let it finish the last
	 * one (bounded), then wake it out of accept(). */
	for (int k = 0; k < 10000 && atomic_load(&served) < i; k++)
		usleep(1000);
	atomic_store(&stopping, 1);
	if (shutdown(listen_fd, SHUT_RDWR))
		die("shutdown(listener)");
	err = pthread_join(t, NULL);
	if (err) {
		errno = err;
		die("pthread_join");
	}
	if (atomic_load(&served) != i)
		fail("server served %ld of %ld connections", atomic_load(&served), i);
	close_fd(listen_fd);

	fact("connections", "%ld", i);
	fact("client_first", "%ld", n_client_first);
	fact("server_first", "%ld", n_server_first);
	fact("elapsed_ms", "%.1f", (double)(t1 - t0) / 1e6);
	fact("conn_per_s", "%.0f", (double)i * 1e9 / (double)(t1 - t0));
	fact("transitions_tracepoint", "%ld",
	     n_client_first * TP_CLIENT_FIRST + n_server_first * TP_SERVER_FIRST + TP_LISTENER);
	fact("transitions_tcplinger", "%ld",
	     n_client_first * TL_CLIENT_FIRST + n_server_first * TL_SERVER_FIRST);
	fact("done", "1");
	return 0;
}
