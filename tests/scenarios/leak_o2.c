/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * leak_o2 [-6] [-p PORT]: CLOSE_WAIT leaks in a program built as
 * distributions build them (gcc -O2 -g, no frame pointers: see the
 * Makefile), each guilty function calling accept()/connect()/read() itself,
 * with no helper between it and libc's wrapper.  Frame pointers cannot name
 * these functions; the CFI can.  Each leak is made twice: first while the
 * process is single-threaded, then, after a thread has run, on glibc's
 * cancellable path -- the same call site, so one group each:
 *   serve_and_forget()   accept(), answers, never closes      (PORT)
 *   dial_and_forget()    connect() to PORT+1, never closes
 *   take_reader()        accept(); drain_and_forget() read()s to EOF,
 *                        never closes                          (PORT)
 * A forked child (no threads of its own) is every peer.
 * Facts: pid family server_port leak_pid leak_fds (comma-separated)
 *        t_close_wait ready ... t_go done
 */
#include <sys/wait.h>
#include "scen.h"
#include "leak.h"

#define GUILTY __attribute__((noinline))
#define ROUNDS 4	/* -n: rounds (default 2), at most this */
#define PER_ROUND 3

static GUILTY int serve_and_forget(int lfd)
{
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		die("accept");
	answer_ping(fd, "server");
	return fd;	/* the bug: no close(fd) */
}

static GUILTY int dial_and_forget(int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = scen_addr(family, port, &ss);
	int fd = tcp_socket(family);

	if (connect(fd, (struct sockaddr *)&ss, len))
		die("connect(port %d)", port);
	send_ping(fd);
	return fd;	/* the bug: no close(fd), the EOF never read */
}

static GUILTY int take_reader(int lfd)
{
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		die("accept");
	return fd;
}

static GUILTY void drain_and_forget(int fd)
{
	char buf[64];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		die("read");
	/* the bug: EOF read, no close(fd) */
}

/* The peer of every leak: one process, never threaded. */
static void peer(const struct scen_opts *o, int lfd2, int gate)
{
	for (long r = 0; r < o->n; r++) {
		int fd = scen_connect(o->family, o->port);

		send_ping(fd);
		close_fd(fd);
		fd = scen_accept(lfd2);
		answer_ping(fd, "peer");
		wait_byte(gate, SCEN_IO_TIMEOUT_S, "the leaker (peer close)");
		close_fd(fd);
		fd = scen_connect(o->family, o->port);
		write_all(fd, "ping", 4);
		close_fd(fd);
	}
	exit(0);
}

/* Forks the peer, which serves lfd2 and dials lfd; gate: its end of the
 * pipe on which we say "close now". */
static pid_t spawn_peer(const struct scen_opts *o, int lfd, int lfd2, int gate[2])
{
	pid_t child = pipe2(gate, O_CLOEXEC) ? -1 : fork();

	if (child == 0) {
		close_fd(lfd);
		peer(o, lfd2, gate[0]);
	}
	if (child < 0)
		die("pipe or fork");
	close_fd(lfd2);
	return child;
}

static void *idle(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	struct scen_opts o;
	int lfd, lfd2, gate[2], fds[ROUNDS * PER_ROUND], n = 0, status;
	char list[128] = "";
	pthread_t t;
	pid_t child;

	scen_parse(argc, argv, &o, 5110, 2);
	if (o.n < 2 || o.n > ROUNDS)
		fail("-n: 2 to %d rounds (one single-threaded, then threaded)", ROUNDS);
	lfd = scen_listen(o.family, o.port, 16, 0);
	lfd2 = scen_listen(o.family, o.port + 1, 16, 0);
	child = spawn_peer(&o, lfd, lfd2, gate);
	/* The round count comes from the command line, as a server's loop
	 * runs until told otherwise: each call below is one call site. */
	for (long r = 0; r < o.n; r++) {
		/* a thread has run: glibc takes the cancellable path from now on */
		if (r == 1) {
			start_thread(&t, idle, NULL);
			join_thread(t);
		}
		fds[n++] = serve_and_forget(lfd);
		fds[n++] = dial_and_forget(o.family, o.port + 1);
		write_all(gate[1], "c", 1);
		fds[n] = take_reader(lfd);
		drain_and_forget(fds[n++]);
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the peer failed");
	for (int i = 0; i < n; i++) {
		wait_close_wait(fds[i]);
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%d", i ? "," : "",
			 fds[i]);
	}
	fact("leak_fds", "%s", list);
	hold_until_go(-1);
	return scen_done(lfd);
}
