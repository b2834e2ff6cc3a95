/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * leak_many [-6] [-p PORT] [-n N]: a busy server's CLOSE_WAIT leak, in a
 * program built as distributions build them (gcc -O2 -g, no frame
 * pointers: see the Makefile).  Two request loops, serve_admin() on PORT
 * and serve_public() on PORT+1, each call read_request(), which accept()s,
 * reads the request into a buffer on its stack -- so the words near sp
 * differ at every call, as in any real server -- and returns without
 * close().  After one request on each port and a lull, N more arrive on
 * each back to back: far more leaks than the collector's per-process
 * budget of stack windows, each of which must still be named by its call
 * path, two frames up.
 * Facts: pid leak_pid per_path (N + 1) t_close_wait ready ... t_go done
 */
#include <sys/wait.h>
#include "scen.h"
#include "leak.h"

#define GUILTY __attribute__((noinline))
#define MAX_N 200
#define LULL_MS 300

static unsigned long admin_bytes, public_bytes;

static GUILTY int read_request(int lfd, unsigned long *bytes)
{
	char req[64];
	int fd = accept(lfd, NULL, NULL);
	ssize_t n;

	if (fd < 0)
		die("accept");
	while ((n = read(fd, req, sizeof(req))) > 0)
		*bytes += (unsigned long)n + (unsigned char)req[n - 1];
	if (n < 0)
		die("read");
	return fd;	/* the bug: the EOF read, no close(fd) */
}

static GUILTY void serve_admin(int lfd, long n, int *fds)
{
	for (long i = 0; i < n; i++)
		fds[i] = read_request(lfd, &admin_bytes);
}

static GUILTY void serve_public(int lfd, long n, int *fds)
{
	for (long i = n - 1; i >= 0; i--)
		fds[i] = read_request(lfd, &public_bytes);
}

/* The clients, one process: a request on each port, a lull, then N
 * requests on each, back to back. */
static void clients(const struct scen_opts *o)
{
	char req[32];

	for (long i = 0; i < o->n + 1; i++) {
		if (i == 1)
			sleep_ms(LULL_MS);
		for (int p = 0; p < 2; p++) {
			int fd = scen_connect(o->family, o->port + p);
			int len = snprintf(req, sizeof(req), "GET /%c/%ld", p ? 'p' : 'a', i);

			write_all(fd, req, (size_t)len);
			close_fd(fd);
		}
	}
	exit(0);
}

int main(int argc, char **argv)
{
	static int admin[MAX_N + 1], public[MAX_N + 1];
	struct scen_opts o;
	int lfd, lfd2, status;
	pid_t child;

	scen_parse(argc, argv, &o, 5130, 100);
	if (o.n < 1 || o.n > MAX_N)
		fail("-n: 1 to %d requests per loop", MAX_N);
	lfd = scen_listen(o.family, o.port, MAX_N + 8, 0);
	lfd2 = scen_listen(o.family, o.port + 1, MAX_N + 8, 0);
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0)
		clients(&o);
	/* one request loop after the other: the second's queue waits */
	serve_admin(lfd, o.n + 1, admin);
	serve_public(lfd2, o.n + 1, public);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the clients failed");
	for (long i = 0; i <= o.n; i++) {
		wait_close_wait(admin[i]);
		wait_close_wait(public[i]);
	}
	fact("per_path", "%ld", o.n + 1);
	hold_until_go(-1);
	close_fd(lfd2);
	return scen_done(lfd);
}
