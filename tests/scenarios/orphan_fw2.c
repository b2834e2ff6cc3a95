/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * orphan_fw2 [-6] [-p PORT]: run with net.ipv4.tcp_fin_timeout set low
 * (the runner uses 2 s).  The client sends a request and close()s: its
 * socket is an orphan in FIN_WAIT2.  The server accepts but never reads nor
 * closes, so no FIN comes back and the orphan FIN_WAIT2 expires after
 * tcp_fin_timeout.  The server stays in CLOSE_WAIT until a line arrives on
 * stdin; then the program closes it and exits.
 * Its lifecycles, as the runner expects them: SCENARIOS["orphan_fw2"] in
 * tests/suite/lifecycles.py.
 * Facts: pid family server_port client_port t_connect t_client_close
 *        server_state_cw waiting ... t_server_close done
 */
#include "scen.h"

int main(int argc, char **argv)
{
	struct scen_opts o;
	int lfd, cfd, sfd, i;

	lfd = scen_setup(argc, argv, &o, 5003);

	cfd = connect_told(&o, "t_connect", NULL);
	sfd = scen_accept(lfd);
	write_all(cfd, "ping", 4);
	close_told("t_client_close", cfd);

	/* The FIN reaches the server at once over loopback. */
	for (i = 0; i < 200 && tcp_state(sfd) != TCP_CLOSE_WAIT; i++)
		sleep_ms(5);
	if (tcp_state(sfd) != TCP_CLOSE_WAIT)
		fail("server socket not in CLOSE_WAIT (state %d)", tcp_state(sfd));
	fact("server_state_cw", "1");
	fact("waiting", "1");

	wait_stdin_line(SCEN_STDIN_TIMEOUT_S);
	close_told("t_server_close", sfd);
	return scen_done(lfd);
}
