/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * leak_fork [-6] [-p PORT]: a CLOSE_WAIT leak through fork inheritance, for
 * `tcplinger leaks`.  A client process (forked first) connects;
 * serve_forked_client() accepts and fork()s a child that reads the
 * request, writes the reply, close()s its copy of the socket and exits.
 * The parent never closes its own copy.  Once the child is gone the
 * client closes: the socket sits in CLOSE_WAIT, held by the parent only,
 * until a line arrives on stdin; then the program exits (the exit closes
 * it).
 *   server: SYN_RECV ESTABLISHED CLOSE_WAIT ... (for as long as it waits)
 *   client: SYN_SENT ESTABLISHED FIN_WAIT1 FIN_WAIT2 ...
 * Facts: pid family server_port client_pid child_pid client_port leak_pid
 *        leak_fd t_close_wait ready ... t_go done
 */
#include <signal.h>
#include <sys/wait.h>
#include "scen.h"
#include "leak.h"

/* Accepts, forks the handler; returns the parent's copy of the socket.
 * Out of line (STACK_FN): the frame the runner looks for. */
static STACK_FN int serve_forked_client(int lfd, pid_t *child)
{
	int fd = accept_conn(lfd);
	pid_t p = fork();

	if (p < 0)
		die("fork");
	if (p == 0) {
		answer_ping(fd, "child");
		close_fd(fd);
		_exit(0);
	}
	*child = p;
	/* The bug under test: the parent keeps its copy open. */
	return fd;
}

/* waitpid, bounded; the process must have exited with status 0. */
static void reap(pid_t pid, const char *what)
{
	int i, st;

	for (i = 0; i < 2 * SCEN_IO_TIMEOUT_S * 100; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r < 0 && errno != EINTR)
			die("waitpid(%s)", what);
		if (r == pid) {
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				fail("%s %d ended badly (status 0x%x)", what, (int)pid, st);
			return;
		}
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	fail("%s %d still running after %d s", what, (int)pid, 2 * SCEN_IO_TIMEOUT_S);
}

static int peer_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len))
		die("getpeername");
	return addr_port(&ss);
}

/* The client process: never holds a copy of the server's socket (forked
 * before the accept).  Closes when the parent says so. */
static void run_client(struct scen_opts *o, int go_rfd)
{
	int fd = scen_connect(o->family, o->port);

	send_ping(fd);
	wait_byte(go_rfd, SCEN_IO_TIMEOUT_S, "the parent");
	close_fd(fd);
	_exit(0);
}

int main(int argc, char **argv)
{
	struct scen_opts o;
	pid_t client, child;
	int lfd, fd, gate[2];

	lfd = scen_setup(argc, argv, &o, 5101);
	if (pipe2(gate, O_CLOEXEC))
		die("pipe");
	client = fork();
	if (client < 0)
		die("fork");
	if (client == 0) {
		close_fd(lfd);
		close_fd(gate[1]);
		run_client(&o, gate[0]);
	}
	close_fd(gate[0]);
	fact("client_pid", "%d", (int)client);

	fd = serve_forked_client(lfd, &child);
	fact("child_pid", "%d", (int)child);
	/* The child's close() first, then the client's FIN: the socket
	 * enters CLOSE_WAIT with the parent's copy the only one. */
	reap(child, "child");
	write_all(gate[1], "c", 1);
	reap(client, "client");
	close_fd(gate[1]);
	wait_close_wait(fd);
	fact("client_port", "%d", peer_port(fd));
	hold_until_go(fd);
	return scen_done(lfd);
}
