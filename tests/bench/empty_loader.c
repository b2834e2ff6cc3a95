/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * empty_loader [-d MAXSECS] OBJ: opens, loads and attaches every program of
 * the BPF object OBJ (tests/bench/empty.bpf.o), says so on stderr with the
 * same "Ctrl-C to end" mark as tcplinger, and waits for SIGINT or SIGTERM,
 * or MAXSECS (default 600) at most.  Exit status 0 on a clean stop.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_link *links[16];
	int nlinks = 0, c, err, i;
	long max_secs = 600, waited_ms = 0;

	while ((c = getopt(argc, argv, "d:")) != -1) {
		if (c != 'd') {
			fprintf(stderr, "usage: %s [-d MAXSECS] OBJ\n", argv[0]);
			return 2;
		}
		max_secs = strtol(optarg, NULL, 10);
		if (max_secs < 1 || max_secs > 3600) {
			fprintf(stderr, "empty_loader: bad -d '%s'\n", optarg);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: %s [-d MAXSECS] OBJ\n", argv[0]);
		return 2;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	libbpf_set_print(quiet);

	obj = bpf_object__open_file(argv[optind], NULL);
	if (!obj) {
		fprintf(stderr, "empty_loader: open %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "empty_loader: load: %s\n", strerror(-err));
		bpf_object__close(obj);
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		struct bpf_link *l;

		if (nlinks == (int)(sizeof(links) / sizeof(links[0]))) {
			/* a floor with programs left out would be too low */
			fprintf(stderr, "empty_loader: more than %d programs\n", nlinks);
			err = -E2BIG;
			goto out;
		}
		l = bpf_program__attach(prog);
		if (!l) {
			err = -errno;
			fprintf(stderr, "empty_loader: attach %s: %s\n",
				bpf_program__name(prog), strerror(-err));
			goto out;
		}
		links[nlinks++] = l;
	}
	fprintf(stderr, "%d empty programs attached... Hit Ctrl-C to end.\n", nlinks);
	while (!stop && waited_ms < max_secs * 1000) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 100 * 1000000L };

		nanosleep(&ts, NULL);
		waited_ms += 100;
	}
	err = 0;
out:
	for (i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	return err ? 1 : 0;
}
