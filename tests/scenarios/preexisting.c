/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * preexisting [-6] [-p PORT]: sockets made before the tracer starts.
 *   E:  an ESTABLISHED pair
 *   CW: server closed first, the client (still open) sits in CLOSE_WAIT;
 *       the server side is an orphan FIN_WAIT2 timewait sock
 *   TW: client closed first, then the server: the client is in TIME_WAIT
 * Prints "ready=1" (with the TIME_WAIT entry time), then waits for a line
 * on stdin and closes what is left: the CW client (CLOSE_WAIT -> LAST_ACK
 * -> CLOSED) and E, client first (the E server: CLOSE_WAIT -> LAST_ACK ->
 * CLOSED; the E client ends in TIME_WAIT).
 * Facts: pid family server_port t_start e_client_port cw_client_port tw_client_port
 *        t_tw (before the close that sends the TIME_WAIT-making FIN)
 *        t_tw_after (after it) ready t_go t_cw_close t_e_client_close
 *        t_e_server_close done
 */
#include "scen.h"

static void exchange(int c, int s)
{
	char buf[4];

	write_all(c, "ping", 4);
	read_exact(s, buf, sizeof(buf));
	write_all(s, "pong", 4);
	read_exact(c, buf, sizeof(buf));
}

/* A connected pair (*c the client, *s its accepted peer) that has
 * exchanged ping and pong; port_key names the client's port. */
static void open_pair(const struct scen_opts *o, int lfd, int *c, int *s,
		      const char *port_key)
{
	*c = scen_connect(o->family, o->port);
	*s = scen_accept(lfd);
	exchange(*c, *s);
	fact(port_key, "%d", local_port(*c));
}

int main(int argc, char **argv)
{
	struct scen_opts o;
	int lfd, e_c, e_s, cw_c, cw_s, tw_c, tw_s;
	uint64_t t_tw, t_tw_after;

	scen_parse(argc, argv, &o, 5007, 1);
	fact_u64("t_start", now_ns());
	lfd = scen_listen(o.family, o.port, 16, 0);

	open_pair(&o, lfd, &e_c, &e_s, "e_client_port");

	open_pair(&o, lfd, &cw_c, &cw_s, "cw_client_port");
	close_fd(cw_s);
	expect_eof(cw_c, "CW client");
	/* ACK the FIN now, not ~40 ms later (delayed ACK): the server side is
	 * then at once an orphan FIN_WAIT2, before the tracer can start. */
	set_int(cw_c, IPPROTO_TCP, TCP_QUICKACK, 1, "TCP_QUICKACK");
	if (tcp_state(cw_c) != TCP_CLOSE_WAIT)
		fail("CW client not in CLOSE_WAIT (%d)", tcp_state(cw_c));

	open_pair(&o, lfd, &tw_c, &tw_s, "tw_client_port");
	close_fd(tw_c);
	expect_eof(tw_s, "TW server");
	t_tw = now_ns();
	close_fd(tw_s);
	t_tw_after = now_ns();
	fact_u64("t_tw", t_tw);
	fact_u64("t_tw_after", t_tw_after);

	if (tcp_state(e_c) != TCP_ESTABLISHED || tcp_state(e_s) != TCP_ESTABLISHED)
		fail("E pair not ESTABLISHED");
	fact("ready", "1");

	wait_stdin_line(SCEN_STDIN_TIMEOUT_S);
	fact_u64("t_go", now_ns());

	close_told("t_cw_close", cw_c);

	close_told("t_e_client_close", e_c);
	expect_eof(e_s, "E server");
	close_told("t_e_server_close", e_s);

	return scen_done(lfd);
}
