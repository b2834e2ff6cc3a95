/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * connect_fail [-p PORT]: three connect()s that never get established, in
 * a netns with net.ipv4.tcp_syn_retries=1 and ip_local_port_range
 * "40000 40003" (the test sets both):
 *   refused:   to PORT + 1, where nothing listens: the RST answers the SYN
 *              (ECONNREFUSED)           client SYN_SENT CLOSED, end refused
 *   timeout:   to PORT + 2, a listener whose accept queue is full (backlog
 *              0 and one connection never accepted): its SYNs are dropped
 *              until the retries run out (ETIMEDOUT, about 3 s)
 *                                       client SYN_SENT CLOSED, end syn_timeout
 *   no port:   to PORT once the 4 local ports are taken by connections held
 *              open to it (EADDRNOTAVAIL) client SYN_SENT CLOSED, no local
 *              port, end connect_failed
 * Facts: pid family server_port refused_port t_timeout_start timeout_port
 *        t_timeout_end timeout_errno eaddrnotavail done
 */
#include "scen.h"

#define HELD 4	/* the netns's ephemeral ports */

/* connect() that is expected to fail; returns its errno. */
static int connect_err(int port)
{
	struct sockaddr_storage ss;
	socklen_t len = scen_addr(AF_INET, port, &ss);
	int fd = tcp_socket(AF_INET), err = 0;

	if (connect(fd, (struct sockaddr *)&ss, len) == 0)
		fail("connect(port %d) succeeded", port);
	err = errno;
	close_fd(fd);
	return err;
}

int main(int argc, char **argv)
{
	struct scen_opts o;
	int lfd, full_fd, queued, held[HELD], err, i;

	scen_parse(argc, argv, &o, 5030, 1);
	if (o.family != AF_INET)
		fail("IPv4 only");
	lfd = scen_listen(AF_INET, o.port, 16, 0);

	err = connect_err(o.port + 1);
	if (err != ECONNREFUSED)
		fail("refused: errno %d (%s), expected ECONNREFUSED", err, strerror(err));
	fact("refused_port", "%d", o.port + 1);

	/* backlog 0 holds one connection: the next SYNs are dropped */
	full_fd = scen_listen(AF_INET, o.port + 2, 0, 0);
	queued = scen_connect(AF_INET, o.port + 2);
	sleep_ms(100);
	fact_u64("t_timeout_start", now_ns());
	err = connect_err(o.port + 2);
	fact_u64("t_timeout_end", now_ns());
	fact("timeout_port", "%d", o.port + 2);
	fact("timeout_errno", "%d", err);
	if (err != ETIMEDOUT)
		fail("timeout: errno %d (%s), expected ETIMEDOUT", err, strerror(err));
	close_fd(queued);
	close_fd(full_fd);

	/* the queued connection's port may linger: wait until HELD connect */
	for (i = 0; i < HELD; i++)
		held[i] = scen_connect(AF_INET, o.port);
	err = connect_err(o.port);
	if (err != EADDRNOTAVAIL)
		fail("no port: errno %d (%s), expected EADDRNOTAVAIL", err, strerror(err));
	fact("eaddrnotavail", "1");
	for (i = 0; i < HELD; i++)
		close_fd(held[i]);
	return scen_done(lfd);
}
