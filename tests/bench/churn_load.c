/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * churn_load [-t SECS] [-n MAX] [-a NADDR] [-p PORT] [-f INFLIGHT]: TCP
 * connection churn over loopback, as fast as the machine allows, for SECS
 * seconds (default 5) or MAX connections, whichever comes first.
 *
 * One server thread (127.0.0.1:PORT, default 7100) and one client thread
 * (main).  Connection i binds source 127.1.0.(1 + i % NADDR) (default 64
 * addresses), port SPORT_MIN + i / NADDR, so that no (address, port) pair
 * is used twice in a run; it sends one byte and gets it back.
 *
 * Without -f, one connection at a time, blocking sockets, closed in one of
 * two orders, alternating (the byte tells the server which):
 *
 *   even i, client first:  client SYN_SENT ES FIN_WAIT1 FIN_WAIT2 TIME_WAIT
 *                          server SYN_RECV ES CLOSE_WAIT LAST_ACK CLOSE
 *   odd i, server first:   server SYN_RECV ES FIN_WAIT1 FIN_WAIT2 TIME_WAIT
 *                          client SYN_SENT ES CLOSE_WAIT LAST_ACK CLOSE
 *
 * With -f INFLIGHT, INFLIGHT connections at once: both threads drive
 * non-blocking sockets through epoll, the client starts connection i + 1
 * as soon as one ends, and the client always closes first (as above).
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
 * expires (60 s), the same for either close order and any INFLIGHT;
 * bench.py checks them against real runs of each tool:
 *   transitions_tracepoint: sock:inet_sock_set_state events of TCP sockets
 *     (what tcpstates and the bpftrace script print): 10 per connection
 *     -- the side closing first CLOSE>SS (or LISTEN>SR) SS>ES ES>FW1
 *     FW1>FW2 FW2>CLOSE (the timewait sock takes over), the other CLOSE>SS
 *     (or LISTEN>SR) SS>ES ES>CW CW>LA LA>CLOSE -- plus 2 for the listener
 *     (CLOSE>LISTEN, LISTEN>CLOSE).
 *   transitions_tcplinger: `tcplinger --events` transition lines: 10 per
 *     connection (FW2>TIME_WAIT instead of FW2>CLOSE; the TIME_WAIT>CLOSE
 *     at expiry comes 60 s later, after the run; listeners are not
 *     reported).
 *
 * Prints key=value lines: pid, connections, client_first, server_first,
 * elapsed_ms, conn_per_s, transitions_tracepoint, transitions_tcplinger,
 * done=1.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
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

/* -f: at most this many connections in flight; server fds below SRV_FDS. */
#define INFLIGHT_MAX		64
#define SRV_FDS			4096
/* The epoll server's wait, and how many idle ones make a stall. */
#define SRV_TICK_MS		100
#define SRV_STALL_TICKS		(BENCH_IO_TIMEOUT_S * 1000 / SRV_TICK_MS)

struct run {
	long naddr, port, max;
	uint64_t deadline;
	long done, client_first, server_first;
};

static int listen_fd;
static atomic_long served;
static atomic_int stopping;
static atomic_long served_target = -1;	/* epoll server: stop once served */

static uint32_t src_addr(const struct run *r, long i)
{
	return 0x7f010001u + (uint32_t)(i % r->naddr);
}

static int src_port(const struct run *r, long i)
{
	return SPORT_MIN + (int)(i / r->naddr);
}

/* ---------------------------------------------------------------- one at a time */

static void *blocking_server(void *arg)
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

static void one_at_a_time(struct run *r)
{
	long i;

	for (i = 0; i < r->max; i++) {
		char order = (i & 1) ? ORDER_SERVER_FIRST : ORDER_CLIENT_FIRST, c;
		int fd;

		if ((i & 15) == 0 && mono_ns() >= r->deadline)
			break;
		fd = bench_connect(src_addr(r, i), src_port(r, i), (int)r->port);
		write_all(fd, &order, 1);
		read_exact(fd, &c, 1);
		if (c != order)
			fail("client: bad reply (connection %ld)", i);
		if (order == ORDER_SERVER_FIRST) {
			read_eof(fd);
			r->server_first++;
		} else {
			r->client_first++;
		}
		close_fd(fd);
	}
	r->done = i;
}

/* The server has answered every connection; let it finish the last one
 * (bounded), then wake it out of accept(). */
static void stop_blocking_server(long n)
{
	for (int k = 0; k < 10000 && atomic_load(&served) < n; k++)
		usleep(1000);
	atomic_store(&stopping, 1);
	if (shutdown(listen_fd, SHUT_RDWR))
		die("shutdown(listener)");
}

/* ---------------------------------------------------------------- in flight */

/* Edge-triggered: each step goes as far as it can, until EAGAIN. */
static void epoll_add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events | EPOLLET, .data.u64 = data };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		die("epoll_ctl(ADD)");
}

/* read() of one byte on a non-blocking socket: 1, 0 at EOF, -1 if none
 * is there yet. */
static int read_byte_nb(int fd, char *c)
{
	for (;;) {
		ssize_t n = read(fd, c, 1);

		if (n >= 0)
			return (int)n;
		if (errno == EAGAIN)
			return -1;
		if (errno != EINTR)
			die("read");
	}
}

enum srv_state { SRV_REQUEST, SRV_EOF };

/* One accepted connection, as far as it can go now: the request is
 * echoed, then the client's FIN closes it.  1 once it is closed. */
static int serve_step(int fd, unsigned char *state)
{
	char c;
	int n;

	while ((n = read_byte_nb(fd, &c)) >= 0) {
		if (state[fd] == SRV_EOF) {
			if (n)
				fail("server: data before EOF");
			close_fd(fd);
			return 1;
		}
		if (!n)
			fail("server: EOF before the request");
		if (c != ORDER_CLIENT_FIRST)
			fail("server: bad request byte %d", c);
		if (write(fd, &c, 1) != 1)	/* an empty send buffer */
			die("write");
		state[fd] = SRV_EOF;
	}
	return 0;
}

static void accept_all(int ep, unsigned char *state, long *open)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EAGAIN)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		if (fd >= SRV_FDS)
			fail("server: fd %d over %d", fd, SRV_FDS);
		state[fd] = SRV_REQUEST;
		epoll_add(ep, fd, EPOLLIN, (uint64_t)fd);
		(*open)++;
	}
}

static void *epoll_server(void *arg)
{
	static unsigned char state[SRV_FDS];
	struct epoll_event evs[64];
	long open = 0, n_served = 0, idle = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	(void)arg;
	if (ep < 0)
		die("epoll_create1");
	epoll_add(ep, listen_fd, EPOLLIN, (uint64_t)listen_fd);
	while (n_served != atomic_load(&served_target)) {
		int n = epoll_wait(ep, evs, 64, SRV_TICK_MS);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		if (n == 0 && (open || atomic_load(&served_target) >= 0) &&
		    ++idle >= SRV_STALL_TICKS)
			fail("server: no progress for %d s (%ld of %ld served)",
			     BENCH_IO_TIMEOUT_S, n_served, atomic_load(&served_target));
		if (n > 0)
			idle = 0;
		for (int k = 0; k < n; k++) {
			int fd = (int)evs[k].data.u64;

			if (fd == listen_fd) {
				accept_all(ep, state, &open);
			} else if (serve_step(fd, state)) {
				open--;
				atomic_store(&served, ++n_served);
			}
		}
	}
	close_fd(ep);
	return NULL;
}

struct flight {
	int fd;		/* -1: free */
	int sent;	/* the request is out; the reply is awaited */
	long i;
};

static void flight_start(int ep, struct flight *f, int slot, const struct run *r, long i)
{
	f->fd = bench_connect_mode(src_addr(r, i), src_port(r, i), (int)r->port, 1);
	f->sent = 0;
	f->i = i;
	epoll_add(ep, f->fd, EPOLLIN | EPOLLOUT, (uint64_t)slot);
}

/* One client connection, as far as it can go now: once connected, the
 * request; once the reply is in, the close.  1 once it is closed. */
static int flight_step(struct flight *f)
{
	char c = ORDER_CLIENT_FIRST;
	int n;

	if (!f->sent) {
		ssize_t w = write(f->fd, &c, 1);

		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;	/* still connecting */
		if (w != 1)
			die("write (connection %ld)", f->i);
		f->sent = 1;
	}
	n = read_byte_nb(f->fd, &c);
	if (n < 0)
		return 0;
	if (n == 0 || c != ORDER_CLIENT_FIRST)
		fail("client: bad reply (connection %ld)", f->i);
	close_fd(f->fd);
	f->fd = -1;
	return 1;
}

static void in_flight(struct run *r, int inflight)
{
	struct flight fl[INFLIGHT_MAX];
	struct epoll_event evs[INFLIGHT_MAX];
	long next = 0, active = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		die("epoll_create1");
	for (int k = 0; k < inflight; k++) {
		fl[k].fd = -1;
		if (next < r->max) {
			flight_start(ep, &fl[k], k, r, next++);
			active++;
		}
	}
	while (active) {
		int n = epoll_wait(ep, evs, INFLIGHT_MAX, BENCH_IO_TIMEOUT_S * 1000);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		if (n == 0)
			fail("client: no progress for %d s", BENCH_IO_TIMEOUT_S);
		for (int k = 0; k < n; k++) {
			int slot = (int)evs[k].data.u64;
			struct flight *f = &fl[slot];

			/* a stale event of a connection closed in this batch */
			if (f->fd < 0 || !flight_step(f))
				continue;
			r->client_first++;
			active--;
			if (next < r->max && mono_ns() < r->deadline) {
				flight_start(ep, f, slot, r, next++);
				active++;
			}
		}
	}
	close_fd(ep);
	r->done = r->client_first;
}

/* ---------------------------------------------------------------- main */

static void thread_start(pthread_t *t, void *(*fn)(void *))
{
	int err = pthread_create(t, NULL, fn, NULL);

	if (err) {
		errno = err;
		die("pthread_create");
	}
}

static void thread_join(pthread_t t)
{
	int err = pthread_join(t, NULL);

	if (err) {
		errno = err;
		die("pthread_join");
	}
}

int main(int argc, char **argv)
{
	long secs = 5, inflight = 0;
	struct run r = { .naddr = 64, .port = 7100 };
	uint64_t t0, t1;
	pthread_t t;
	const struct bench_opt opts[] = {
		{ 't', &secs, 1, 600, "seconds" },
		{ 'n', &r.max, 1, 100000000, "count" },
		{ 'a', &r.naddr, 1, 250, "address count" },
		{ 'p', &r.port, 1, 65535, "port" },
		{ 'f', &inflight, 1, INFLIGHT_MAX, "in-flight count" },
	};

	bench_parse(argc, argv, opts, 5, "[-t SECS] [-n MAX] [-a NADDR] [-p PORT] [-f INFLIGHT]");
	if (r.port >= SPORT_MIN && r.port <= SPORT_MAX)
		fail("server port %ld is in the client port range %d-%d", r.port, SPORT_MIN, SPORT_MAX);
	if (!r.max || r.max > r.naddr * (SPORT_MAX - SPORT_MIN + 1))
		r.max = r.naddr * (SPORT_MAX - SPORT_MIN + 1);
	/* Whatever happens, never outlive the run by much. */
	alarm((unsigned)secs + 60);
	setvbuf(stdout, NULL, _IOLBF, 0);
	fact("pid", "%d", (int)getpid());

	listen_fd = bench_listen(0x7f000001u, (int)r.port, 4096);
	if (inflight && fcntl(listen_fd, F_SETFL, O_NONBLOCK))
		die("fcntl(listener, O_NONBLOCK)");
	thread_start(&t, inflight ? epoll_server : blocking_server);

	t0 = mono_ns();
	r.deadline = t0 + (uint64_t)secs * 1000000000ull;
	if (inflight)
		in_flight(&r, (int)inflight);
	else
		one_at_a_time(&r);
	t1 = mono_ns();

	if (inflight)
		atomic_store(&served_target, r.done);
	else
		stop_blocking_server(r.done);
	thread_join(t);
	if (atomic_load(&served) != r.done)
		fail("server served %ld of %ld connections", atomic_load(&served), r.done);
	close_fd(listen_fd);

	fact("connections", "%ld", r.done);
	fact("client_first", "%ld", r.client_first);
	fact("server_first", "%ld", r.server_first);
	fact("elapsed_ms", "%.1f", (double)(t1 - t0) / 1e6);
	fact("conn_per_s", "%.0f", (double)r.done * 1e9 / (double)(t1 - t0));
	fact("transitions_tracepoint", "%ld",
	     r.client_first * TP_CLIENT_FIRST + r.server_first * TP_SERVER_FIRST + TP_LISTENER);
	fact("transitions_tcplinger", "%ld",
	     r.client_first * TL_CLIENT_FIRST + r.server_first * TL_SERVER_FIRST);
	fact("done", "1");
	return 0;
}
