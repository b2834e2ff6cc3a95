/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * leak_lib [-p PORT] [-- ARG...]: leak_forget's CLOSE_WAIT leak, with the
 * accept() made inside a shared object (tests/scenarios/lib/leaklib.c):
 *   LEAK_LIB    the library's path (required)
 *   LEAK_DEPTH  frames of recursion inside it before accept() (default 1)
 *   LEAK_COMM   a process name to take first (prctl PR_SET_NAME)
 *   LEAK_PAUSE  if set: once the client has connected, print pause=1 and
 *               wait for a line on stdin before the accept
 * ARGs after "--" only lengthen the command line.
 * Facts: pid family server_port client_port leak_pid leak_fd
 *        t_close_wait ready ... t_go done
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include "scen.h"
#include "leak.h"

typedef int (*lib_serve_fn)(int lfd, int depth, int (*accept_fn)(int));

static lib_serve_fn lib_serve;
static int depth = 1;
static bool pause_first;

static STACK_FN int serve_through_library(int lfd)
{
	int fd;

	if (pause_first) {
		/* The client's connect() is made: wait for the runner. */
		sleep_ms(200);
		fact("pause", "1");
		wait_stdin_line(SCEN_STDIN_TIMEOUT_S);
	}
	fd = lib_serve(lfd, depth, accept_conn);

	answer_ping(fd, "server");
	/* The bug under test: no close(fd). */
	return fd;
}

int main(int argc, char **argv)
{
	const char *lib = getenv("LEAK_LIB"), *comm = getenv("LEAK_COMM");
	const char *d = getenv("LEAK_DEPTH");
	void *h;
	int n = argc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			n = i;
			break;
		}
	}
	pause_first = getenv("LEAK_PAUSE") != NULL;
	if (d)
		depth = atoi(d);
	if (depth < 1 || depth > 1000)
		fail("bad LEAK_DEPTH '%s'", d);
	if (comm && prctl(PR_SET_NAME, comm))
		die("prctl(PR_SET_NAME)");
	if (!lib)
		fail("LEAK_LIB is not set");
	h = dlopen(lib, RTLD_NOW);
	if (!h)
		fail("dlopen: %s", dlerror());
	lib_serve = (lib_serve_fn)dlsym(h, "leaklib_serve");
	if (!lib_serve)
		fail("dlsym(leaklib_serve): %s", dlerror());
	return run_server_leak(n, argv, 5106, serve_through_library);
}
