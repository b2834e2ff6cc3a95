/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>
#include "procfs.h"
#include "unit.h"

#define CHILD_FD	100
/* ')' and spaces in comm must not derail the parsing of /proc/PID/stat. */
#define CHILD_COMM	"x) 9 9 (y)"

static int g_argc;
static char **g_argv;

static uint64_t ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (uint64_t)st.st_ino;
}

/* The parent pid from /proc/PID/stat, or -errno. */
static int ppid_of(int pid)
{
	char buf[512], *fields, state;
	int ppid, err = tl_procfs_stat(pid, buf, sizeof(buf), &fields);

	if (err)
		return err;
	return sscanf(fields, "%c %d", &state, &ppid) == 2 ? ppid : -EIO;
}

/* The comm a holder scan gives this process, found through a socket it
 * holds; false if the scan does not find it. */
static bool own_holder_comm(char comm[16])
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint64_t ino = ino_of(fd);
	struct tl_holder *h = NULL;
	size_t n = 0;
	bool ok;

	ok = fd >= 0 && !tl_procfs_holders(&ino, 1, &h, &n) && n == 1 && h[0].pid == getpid();
	if (ok)
		memcpy(comm, h[0].comm, 16);
	free(h);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Waits (bounded) for one byte on fd. */
static bool wait_byte(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	return poll(&p, 1, 10000) == 1 && read(fd, &c, 1) == 1;
}

static void reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static bool holder_is(const struct tl_holder *h, uint64_t ino, pid_t pid, int fd, const char *comm)
{
	return h->ino == ino && h->pid == pid && h->fd == fd && !strcmp(h->comm, comm);
}

static void *block_on(void *arg)
{
	char c;

	while (read(*(int *)arg, &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/*
 * Our TCP socket and both ends of a socketpair, then a child that keeps
 * only a dup of the TCP socket at CHILD_FD.  A thread of ours must not
 * make us appear twice.
 */
static void holders(void)
{
	char mycomm[16] = "";
	int tcp, sp[2], ready[2], hold[2], thr_pipe[2];
	uint64_t inos[5];
	struct tl_holder *h = NULL;
	size_t n = 99;
	pthread_t thr;
	pid_t me = getpid(), child;
	int ti = 0;

	prctl(PR_GET_NAME, mycomm);
	tcp = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(tcp >= 0);
	CHECK(!socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
	CHECK(!pipe(ready) && !pipe(hold) && !pipe(thr_pipe));
	CHECK(!pthread_create(&thr, NULL, block_on, &thr_pipe[0]));
	/* Any order, duplicates too. */
	inos[0] = ino_of(sp[1]);
	inos[1] = ino_of(tcp);
	inos[2] = ino_of(sp[0]);
	inos[3] = ino_of(tcp);
	inos[4] = 1ULL << 40;	/* sockfs inodes are 32-bit: no such socket */

	CHECK_EQ_U64(tl_procfs_holders(inos, 5, &h, &n), 0);
	CHECK_EQ_U64(n, 3);
	if (n == 3 && h) {
		/* Sorted by inode. */
		CHECK(h[0].ino < h[1].ino && h[1].ino < h[2].ino);
		for (size_t i = 0; i < n; i++) {
			int fd = h[i].ino == inos[1] ? tcp : h[i].ino == inos[2] ? sp[0] : sp[1];

			CHECK(holder_is(&h[i], h[i].ino, me, fd, mycomm));
		}
	}
	free(h);

	child = fork();
	if (child == 0) {
		prctl(PR_SET_NAME, CHILD_COMM);
		if (dup2(tcp, CHILD_FD) != CHILD_FD)
			_exit(1);
		close(tcp);
		close(sp[0]);
		close(sp[1]);
		close(hold[1]);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		block_on(&hold[0]);
		_exit(0);
	}
	CHECK(child > 0);
	close(ready[1]);
	close(hold[0]);
	CHECK(wait_byte(ready[0]));

	h = NULL;
	CHECK_EQ_U64(tl_procfs_holders(inos, 4, &h, &n), 0);
	CHECK_EQ_U64(n, 4);
	if (n == 4 && h) {
		/* The TCP socket twice, ordered by pid; the pair's ends once. */
		for (size_t i = 0; i < n; i++)
			ti += h[i].ino == inos[1];
		CHECK_EQ_U64(ti, 2);
		for (size_t i = 0; i + 1 < n; i++) {
			if (h[i].ino != inos[1] || h[i + 1].ino != inos[1])
				continue;
			if (me < child) {
				CHECK(holder_is(&h[i], inos[1], me, tcp, mycomm));
				CHECK(holder_is(&h[i + 1], inos[1], child, CHILD_FD, CHILD_COMM));
			} else {
				CHECK(holder_is(&h[i], inos[1], child, CHILD_FD, CHILD_COMM));
				CHECK(holder_is(&h[i + 1], inos[1], me, tcp, mycomm));
			}
		}
		for (size_t i = 0; i + 1 < n; i++)
			CHECK(h[i].ino <= h[i + 1].ino);
	}
	free(h);

	/* The child's names (its comm: holder_is above) and parent. */
	CHECK_EQ_U64(ppid_of(child), me);
	{
		char mine[4096], its[4096];

		CHECK_EQ_U64(tl_procfs_cmdline(me, mine, sizeof(mine)), 0);
		CHECK_EQ_U64(tl_procfs_cmdline(child, its, sizeof(its)), 0);
		CHECK_STR(its, mine);
	}

	close(hold[1]);
	reap(child);
	close(ready[0]);
	close(thr_pipe[1]);
	pthread_join(thr, NULL);
	close(thr_pipe[0]);
	close(tcp);
	close(sp[0]);
	close(sp[1]);
}

/* Closed sockets and inodes nobody has: nothing, and no allocation. */
static void no_holders(void)
{
	struct tl_holder *h = (struct tl_holder *)&h;
	size_t n = 99;
	uint64_t *many = calloc(5000, sizeof(*many));
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint64_t ino = ino_of(fd);

	CHECK(fd >= 0 && ino && many);
	close(fd);
	CHECK_EQ_U64(tl_procfs_holders(&ino, 1, &h, &n), 0);
	CHECK_EQ_U64(n, 0);
	CHECK(h == NULL);
	for (size_t i = 0; many && i < 5000; i++)
		many[i] = (1ULL << 40) + i * 7919;
	CHECK_EQ_U64(tl_procfs_holders(many, 5000, &h, &n), 0);
	CHECK_EQ_U64(n, 0);
	CHECK_EQ_U64(tl_procfs_holders(many, 0, &h, &n), 0);
	CHECK_EQ_U64(n, 0);
	free(many);
}

static bool leader_is_zombie(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	bool z = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		z = p[1] == ' ' && p[2] == 'Z';
	if (f)
		fclose(f);
	return z;
}

static void *child_thread(void *arg)
{
	for (;;)
		pause();
	return arg;
}

/* A process whose main thread exited while another runs on: the fds are
 * reached through that thread. */
static void holders_of_zombie_leader(void)
{
	struct timespec ms = { 0, 1000000 };
	int tcp = socket(AF_INET, SOCK_STREAM, 0);
	uint64_t ino = ino_of(tcp);
	struct tl_holder *h = NULL;
	size_t n = 0;
	pid_t child;
	int i;

	CHECK(tcp >= 0);
	child = fork();
	if (child == 0) {
		pthread_t t;

		if (dup2(tcp, CHILD_FD) != CHILD_FD || close(tcp) ||
		    pthread_create(&t, NULL, child_thread, NULL))
			_exit(1);
		pthread_exit(NULL);
	}
	CHECK(child > 0);
	close(tcp);
	/* Bounded: 10 s at most. */
	for (i = 0; i < 10000 && !leader_is_zombie(child); i++)
		nanosleep(&ms, NULL);
	CHECK(leader_is_zombie(child));
	CHECK_EQ_U64(tl_procfs_holders(&ino, 1, &h, &n), 0);
	CHECK_EQ_U64(n, 1);
	if (n == 1 && h)
		CHECK(h[0].ino == ino && h[0].pid == child && h[0].fd == CHILD_FD);
	free(h);
	reap(child);
}

static void own_names(void)
{
	char want[4096] = "", buf[4096], comm[16] = "";
	size_t len = 0;

	for (int i = 0; i < g_argc; i++)
		len += snprintf(want + len, sizeof(want) - len, "%s%s", i ? " " : "", g_argv[i]);
	CHECK_EQ_U64(tl_procfs_cmdline(getpid(), buf, sizeof(buf)), 0);
	CHECK_STR(buf, want);
	/* Truncated to len - 1 bytes. */
	CHECK_EQ_U64(tl_procfs_cmdline(getpid(), buf, 5), 0);
	want[4] = 0;
	CHECK_STR(buf, want);
	CHECK_EQ_U64(tl_procfs_cmdline(getpid(), buf, 1), 0);
	CHECK_STR(buf, "");

	prctl(PR_GET_NAME, comm);
	CHECK(own_holder_comm(buf));
	CHECK_STR(buf, comm);

	CHECK_EQ_U64(ppid_of(getpid()), getppid());
	CHECK_EQ_U64(ppid_of(1), 0);
}

static void gone_process(void)
{
	char buf[64], *fields;
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	CHECK(pid > 0);
	CHECK(waitpid(pid, NULL, 0) == pid);
	CHECK_EQ_U64(tl_procfs_cmdline(pid, buf, sizeof(buf)), (uint64_t)-ESRCH);
	CHECK_EQ_U64(tl_procfs_stat(pid, buf, sizeof(buf), &fields), (uint64_t)-ESRCH);
	CHECK_EQ_U64(ppid_of(pid), (uint64_t)-ESRCH);
	CHECK_EQ_U64(ppid_of(-1), (uint64_t)-EINVAL);
	CHECK_EQ_U64(tl_procfs_stat(getpid(), buf, 0, &fields), (uint64_t)-EINVAL);
}

/* A name may hold a newline of its own: only the kernel's is cut. */
static void comm_with_newline(void)
{
	char mine[16] = "", buf[16];

	prctl(PR_GET_NAME, mine);
	CHECK(!prctl(PR_SET_NAME, "\x1b[2J\nFAKE"));
	CHECK(own_holder_comm(buf));
	CHECK_STR(buf, "\x1b[2J\nFAKE");
	prctl(PR_SET_NAME, mine);
}

int main(int argc, char **argv)
{
	g_argc = argc;
	g_argv = argv;
	RUN(holders);
	RUN(no_holders);
	RUN(holders_of_zombie_leader);
	RUN(own_names);
	RUN(gone_process);
	RUN(comm_with_newline);
	return UNIT_END();
}
