/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * hold_conns [-n N] [-a NADDR] [-p PORT] [-t SECS]: opens N TCP connections
 * over loopback and holds both ends (2N ESTABLISHED sockets) until a line
 * (or EOF) arrives on stdin, or SECS (default 120) at most; then aborts them
 * all with an RST (SO_LINGER 0), so that nothing lingers in TIME_WAIT.
 *
 * One process may hold only RLIMIT_NOFILE descriptors (its hard limit
 * cannot be raised without CAP_SYS_RESOURCE), so the connections are spread
 * over worker processes: worker k listens on 127.0.0.1:(PORT + k) (PORT
 * default 7200) and connects to itself from 127.2.0.(1 + i % NADDR)
 * (default 16 addresses), holding both ends.  The netns needs
 * net.core.somaxconn and ip_local_port_range to match.
 *
 * Prints key=value lines: pid, workers, elapsed_ms, opened (once every
 * connection is up), done=1 (after the teardown).
 */
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include "bench.h"

#define MAX_WORKERS 200

static void abort_close(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)))
		die("setsockopt(SO_LINGER)");
	close_fd(fd);
}

/* Waits until fd is readable (a line, or EOF), SECS at most; reads one
 * byte.  Returns 1 on a byte, 0 on EOF, -1 on timeout. */
static int wait_fd(int fd, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		uint64_t now = mono_ns();
		ssize_t n;
		char c;
		int r;

		if (now >= deadline)
			return -1;
		r = poll(&pfd, 1, (int)((deadline - now) / 1000000ull) + 1);
		if (r < 0 && errno != EINTR)
			die("poll");
		if (r <= 0)
			continue;
		n = read(fd, &c, 1);
		if (n < 0 && errno != EINTR)
			die("read");
		if (n == 0)
			return 0;
		if (n == 1)
			return 1;
	}
}

/* Worker k: count connections to its own listener; says "ready" with a
 * byte on ready_fd; holds them until go_fd reaches EOF. */
static void worker(int k, long count, long naddr, long port, long secs,
		   int ready_fd, int go_fd)
{
	int lfd = bench_listen(0x7f000001u, (int)port + k, 65535);
	int *fds = calloc((size_t)(2 * count + 1), sizeof(*fds));
	char c = 'r';
	long i;

	if (!fds)
		die("calloc");
	for (i = 0; i < count; i++) {
		fds[2 * i] = bench_connect(0x7f020001u + (uint32_t)(i % naddr), 0,
					   (int)port + k);
		fds[2 * i + 1] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fds[2 * i + 1] < 0)
			die("accept (worker %d, connection %ld)", k, i);
	}
	write_all(ready_fd, &c, 1);
	wait_fd(go_fd, mono_ns() + (uint64_t)secs * 1000000000ull);
	for (i = 0; i < 2 * count; i++)
		abort_close(fds[i]);
	close_fd(lfd);
	free(fds);
	exit(0);
}

int main(int argc, char **argv)
{
	long n = 100000, naddr = 16, port = 7200, secs = 120, per, left;
	int ready[2], go[2], nworkers = 0, got = 0, failed = 0, k;
	pid_t pids[MAX_WORKERS];
	uint64_t t0, deadline;
	struct rlimit rl;
	const struct bench_opt opts[] = {
		{ 'n', &n, 0, 1000000, "count" },
		{ 'a', &naddr, 1, 250, "address count" },
		{ 'p', &port, 1, 65000, "port" },
		{ 't', &secs, 1, 3600, "seconds" },
	};

	bench_parse(argc, argv, opts, 4, "[-n N] [-a NADDR] [-p PORT] [-t SECS]");
	alarm((unsigned)secs + 120);
	setvbuf(stdout, NULL, _IOLBF, 0);
	fact("pid", "%d", (int)getpid());

	/* As many descriptors per process as the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit(RLIMIT_NOFILE)");
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 1024)
		fail("RLIMIT_NOFILE hard limit %lu is too low", (unsigned long)rl.rlim_max);
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 1000000 ? 1000000 : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit(RLIMIT_NOFILE)");
	per = ((long)rl.rlim_cur - 64) / 2;
	if (per > 30000)
		per = 30000;	/* keeps each worker's port use modest */
	if (n > 0 && (n + per - 1) / per > MAX_WORKERS)
		fail("%ld connections need more than %d workers", n, MAX_WORKERS);
	if (pipe(ready) || pipe(go))
		die("pipe");

	t0 = mono_ns();
	for (left = n, k = 0; left > 0; k++) {
		long count = left < per ? left : per;
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			close(ready[0]);
			close(go[1]);
			worker(k, count, naddr, port, secs, ready[1], go[0]);
		}
		pids[nworkers++] = pid;
		left -= count;
	}
	close(ready[1]);
	close(go[0]);
	fact("workers", "%d", nworkers);

	deadline = mono_ns() + (uint64_t)secs * 1000000000ull;
	while (got < nworkers) {
		int r = wait_fd(ready[0], deadline);

		if (r <= 0) {
			failed = 1;
			break;
		}
		got++;
	}
	if (!failed) {
		fact("elapsed_ms", "%.1f", (double)(mono_ns() - t0) / 1e6);
		fact("opened", "%ld", n);
		wait_fd(STDIN_FILENO, mono_ns() + (uint64_t)secs * 1000000000ull);
	}
	close(go[1]);	/* every worker tears down and exits */
	for (k = 0; k < nworkers; k++) {
		int st;

		if (waitpid(pids[k], &st, 0) < 0)
			die("waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = 1;
	}
	if (failed)
		fail("a worker failed (%d of %d were ready)", got, nworkers);
	fact("done", "1");
	return 0;
}
