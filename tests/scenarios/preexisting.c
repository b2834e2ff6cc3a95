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

int main(int argc, char **argv)
{
	struct scen_opts o;
	int lfd, e_c, e_s, cw_c, cw_s, tw_c, tw_s;
	uint64_t t_tw, t_tw_after;

	scen_parse(argc, argv, &o, 5007, 1);
	fact_u64("t_start", now_ns());
	lfd = scen_listen(o.family, o.port, 16, 0);

	e_c = scen_connect(o.family, o.port);
	e_s = scen_accept(lfd);
	exchange(e_c, e_s);
	fact("e_client_port", "%d", local_port(e_c));

	cw_c = scen_connect(o.family, o.port);
	cw_s = scen_accept(lfd);
	exchange(cw_c, cw_s);
	fact("cw_client_port", "%d", local_port(cw_c));
	close_fd(cw_s);
	if (read_to_eof(cw_c, 0) != 0)
		fail("CW client: data before EOF");
	/* ACK the FIN now, not ~40 ms later (delayed ACK): the server side is
	 * then at once an orphan FIN_WAIT2, before the tracer can start. */
	set_int(cw_c, IPPROTO_TCP, TCP_QUICKACK, 1, "TCP_QUICKACK");
	if (tcp_state(cw_c) != TCP_CLOSE_WAIT)
		fail("CW client not in CLOSE_WAIT (%d)", tcp_state(cw_c));

	tw_c = scen_connect(o.family, o.port);
	tw_s = scen_accept(lfd);
	exchange(tw_c, tw_s);
	fact("tw_client_port", "%d", local_port(tw_c));
	close_fd(tw_c);
	if (read_to_eof(tw_s, 0) != 0)
		fail("TW server: data before EOF");
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

	fact_u64("t_cw_close", now_ns());
	close_fd(cw_c);

	fact_u64("t_e_client_close", now_ns());
	close_fd(e_c);
	if (read_to_eof(e_s, 0) != 0)
		fail("E server: data before EOF");
	fact_u64("t_e_server_close", now_ns());
	close_fd(e_s);

	close_fd(lfd);
	fact("done", "1");
	return 0;
}
