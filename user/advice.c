/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Advice for a destination under port pressure, true for Linux 6.x and
 * drawn only from what was measured (its sockets, its errors) and from
 * its namespace's sysctls as recorded: nothing is said about a cause
 * that the numbers do not show.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include "ports.h"
#include "textbuf.h"

#define TIME_WAIT_SECS 60	/* TCP_TIMEWAIT_LEN: not tunable */

static bool loopback(const struct tl_dest *d)
{
	static const uint8_t v6_lo[16] = { [15] = 1 };
	static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (d->family == AF_INET)
		return d->daddr[0] == 127;
	if (!memcmp(d->daddr, v6_lo, 16))
		return true;
	return !memcmp(d->daddr, v4_mapped, 12) && d->daddr[12] == 127;
}

static bool saw(const struct tl_pressure *pr, int err)
{
	return pr->err_mask & (1u << (err & 31));
}

/* Sentences joined with ". " */
static void say(struct tl_textbuf *tb, const char *s)
{
	if (tb->len)
		tb_str(tb, ". ");
	tb_str(tb, s);
}

static void say_tw_reuse(struct tl_textbuf *tb, const struct tl_pressure *pr)
{
	const struct tl_netsysctl *s = pr->sysctl;

	switch (s->tw_reuse) {
	case 0:
		say(tb, "net.ipv4.tcp_tw_reuse=0: 1 would let connect() take a port whose TIME_WAIT "
			"towards this destination is 1 s old (it helps the connecting side only, and "
			"needs TCP timestamps)");
		break;
	case 1:
		say(tb, "net.ipv4.tcp_tw_reuse=1 already lets connect() take ports whose TIME_WAIT is "
			"1 s old: connections are opened faster than that frees them");
		break;
	default:
		if (loopback(&pr->dest))
			say(tb, "net.ipv4.tcp_tw_reuse=2 (the default) already reuses TIME_WAIT ports "
				"1 s old for loopback destinations such as this one");
		else
			say(tb, "net.ipv4.tcp_tw_reuse=2 (the default) reuses TIME_WAIT ports for "
				"loopback only: 1 extends it to this destination (connecting side only)");
	}
}

static void say_errors(struct tl_textbuf *tb, const struct tl_pressure *pr)
{
	if (saw(pr, ECONNREFUSED))
		say(tb, "ECONNREFUSED: nothing listens at this destination (an RST answered the "
			"SYN), not a shortage of ports");
	if (saw(pr, ETIMEDOUT))
		say(tb, "ETIMEDOUT: the destination never answered the SYNs "
			"(net.ipv4.tcp_syn_retries ran out)");
	if (saw(pr, ENETUNREACH) || saw(pr, EHOSTUNREACH))
		say(tb, "ENETUNREACH/EHOSTUNREACH: no route to the destination");
	if (saw(pr, EADDRINUSE))
		say(tb, "EADDRINUSE on connect(): the port bound before connect() already has a "
			"connection to this destination; leave the port to connect() "
			"(IP_BIND_ADDRESS_NO_PORT, or no bind())");
	if (pr->bind_errors)
		tb_printf(tb, "%sbind() failed with EADDRINUSE %llu times in this namespace: a bind() "
			  "before connect() takes a local port for every destination; "
			  "IP_BIND_ADDRESS_NO_PORT lets connect() pick it per destination",
			  tb->len ? ". " : "", (unsigned long long)pr->bind_errors);
}

void tl_ports_advice(struct tl_textbuf *tb, const struct tl_pressure *pr)
{
	const struct tl_netsysctl *s = pr->sysctl;
	uint32_t ports = s ? tl_netsysctl_ports(s) : 0;
	bool short_of_ports = saw(pr, EADDRNOTAVAIL) || tl_pressure_half_used(pr);
	struct tl_textbuf own;
	char buf[2048];

	/* built apart: its sentences join from its own start */
	tb_init(&own, buf, sizeof(buf));
	if (ports && short_of_ports)
		tb_printf(&own, "net.ipv4.ip_local_port_range %u-%u gives %u local ports (%u reserved left "
			  "out) towards one destination; %llu are in use, %llu of them in TIME_WAIT",
			  s->port_lo, s->port_hi, ports, s->reserved,
			  (unsigned long long)pr->in_use, (unsigned long long)pr->time_wait);
	if (ports && pr->time_wait)
		tb_printf(&own, "%sA TIME_WAIT holds its port %d s, so about %.1f new connections per "
			  "second to this destination can be sustained",
			  own.len ? ". " : "", TIME_WAIT_SECS, (double)ports / TIME_WAIT_SECS);
	if (pr->time_wait)
		say(&own, "This side closes first (the TIME_WAIT is here, not at the peer): reuse "
			  "connections (pooling, keep-alive) or let the peer close first");
	if (s && short_of_ports)
		say_tw_reuse(&own, pr);
	if (ports && short_of_ports)
		say(&own, "Widening net.ipv4.ip_local_port_range raises the limit");
	if (pr->time_wait)
		say(&own, "Neither tcp_fin_timeout (it bounds orphaned FIN_WAIT2) nor tcp_tw_recycle "
			  "shortens TIME_WAIT: tcp_tw_recycle no longer exists (removed in Linux 4.12); SO_LINGER "
			  "{1,0} skips TIME_WAIT by resetting the connection: unsent data is lost and "
			  "the peer sees a reset");
	if (s && pr->fin_wait2)
		tb_printf(&own, "%s%llu sockets wait in FIN_WAIT2 for the peer's FIN: "
			  "net.ipv4.tcp_fin_timeout (%u s) bounds that only once the application "
			  "has closed them", own.len ? ". " : "",
			  (unsigned long long)pr->fin_wait2, s->fin_timeout);
	say_errors(&own, pr);
	if (!own.len)
		say(&own, "Nothing measured points at a cause");
	tb_mem(tb, own.buf, own.len);
}
