/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * simultaneous [-6] [-p PORT]: a simultaneous close that passes CLOSING,
 * made deterministic without any delay emulation.
 *
 * B (the accepted server socket) has a tiny receive buffer and never reads
 * until the end, A (the client) has a small locked send buffer.  A writes
 * non-blocking until EAGAIN: B's window closes and data stays unsent in
 * A's write queue.  A shutdown(SHUT_WR)s: FIN_WAIT1, its FIN queued behind
 * the unsent data, so it cannot leave.  B shutdown(SHUT_WR)s too (FIN_WAIT1
 * as well; B has nothing queued, its FIN leaves at once).  A receives B's
 * FIN while its own FIN is unacknowledged: FIN_WAIT1 -> CLOSING.  A drains
 * to EOF (nothing but B's FIN).  Then B drains: A's data and FIN arrive,
 * B goes FIN_WAIT2 -> TIME_WAIT and A, its FIN acked, CLOSING -> TIME_WAIT.
 * A is held 200 ms in FIN_WAIT1 and 200 ms in CLOSING.  The program checks
 * each of those states itself (TCP_INFO, polled).
 * Its lifecycles, as the runner expects them: SCENARIOS["simultaneous"] in
 * tests/suite/lifecycles.py.
 * Facts: pid family server_port client_port a_bytes a_unsent
 *        t_a_shutdown t_b_shutdown t_a_closing t_b_drain t_a_time_wait done
 */
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include "scen.h"

#define B_RCVBUF 2048		/* the kernel doubles it, floor ~4.5 KB */
#define A_SNDBUF 32768
#define MAX_WRITES 100000
#define POLL_STEP_MS 2
#define POLL_MAX 1500		/* 3 s per awaited state */
#define HOLD_MS 200		/* time A is held in FIN_WAIT1, then in CLOSING */

static const char *state_name(int s)
{
	static const char *names[] = {
		"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
		"FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
		"LISTEN", "CLOSING", "NEW_SYN_RECV",
	};

	return s >= 0 && s < (int)(sizeof(names) / sizeof(names[0])) ? names[s] : "?";
}

static void await_state(int fd, int want, const char *who)
{
	int i, s = -1;

	for (i = 0; i < POLL_MAX; i++) {
		s = tcp_state(fd);
		if (s == want)
			return;
		sleep_ms(POLL_STEP_MS);
	}
	fail("%s: state %s, expected %s", who, state_name(s), state_name(want));
}

int main(int argc, char **argv)
{
	struct scen_opts o;
	char buf[4096];
	size_t total = 0;
	int lfd, a, b, i, flags, unsent;

	scen_parse(argc, argv, &o, 5006, 1);
	memset(buf, 'x', sizeof(buf));
	lfd = scen_listen(o.family, o.port, 16, B_RCVBUF);
	a = scen_connect_opts(o.family, o.port, 0, 0, A_SNDBUF);
	fact("client_port", "%d", local_port(a));
	b = scen_accept(lfd);
	await_state(a, TCP_ESTABLISHED, "A");
	await_state(b, TCP_ESTABLISHED, "B");

	flags = fcntl(a, F_GETFL);
	if (flags < 0 || fcntl(a, F_SETFL, flags | O_NONBLOCK))
		die("fcntl(O_NONBLOCK)");
	for (i = 0; i < MAX_WRITES; i++) {
		ssize_t n = write(a, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			die("A: write");
		}
		total += (size_t)n;
	}
	if (i == MAX_WRITES)
		fail("A: send buffer never filled");
	fact("a_bytes", "%zu", total);
	if (fcntl(a, F_SETFL, flags))
		die("fcntl");

	/* The FIN must queue behind unsent data, or it would leave at once. */
	if (ioctl(a, SIOCOUTQNSD, &unsent))
		die("ioctl(SIOCOUTQNSD)");
	fact("a_unsent", "%d", unsent);
	if (unsent <= 0)
		fail("A: no unsent data, its FIN would not be held back");

	fact_u64("t_a_shutdown", now_ns());
	if (shutdown(a, SHUT_WR))
		die("A: shutdown");
	await_state(a, TCP_FIN_WAIT1, "A");
	/* Still FIN_WAIT1 a while later: the FIN is really stuck. */
	sleep_ms(HOLD_MS);
	if (tcp_state(a) != TCP_FIN_WAIT1)
		fail("A: left FIN_WAIT1 early (%s)", state_name(tcp_state(a)));

	fact_u64("t_b_shutdown", now_ns());
	if (shutdown(b, SHUT_WR))
		die("B: shutdown");
	await_state(a, TCP_CLOSING, "A");
	fact_u64("t_a_closing", now_ns());
	await_state(b, TCP_FIN_WAIT2, "B");

	/* A drains to EOF: B sent nothing but its FIN. */
	expect_eof(a, "A");
	/* A stays in CLOSING until B reads: hold it there a while. */
	sleep_ms(HOLD_MS);
	if (tcp_state(a) != TCP_CLOSING)
		fail("A: left CLOSING early (%s)", state_name(tcp_state(a)));

	fact_u64("t_b_drain", now_ns());
	size_t got = read_to_eof(b, total);

	if (got != total)
		fail("B: read %zu bytes, A wrote %zu", got, total);
	/* A's full socket is gone to TIME_WAIT: TCP_INFO shows CLOSE. */
	await_state(a, TCP_CLOSE, "A");
	fact_u64("t_a_time_wait", now_ns());
	await_state(b, TCP_CLOSE, "B");

	close_fd(a);
	close_fd(b);
	return scen_done(lfd);
}
