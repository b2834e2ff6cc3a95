/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* serve --listen: ADDR:PORT as a socket address. */
#ifndef TCPLINGER_LISTENADDR_H
#define TCPLINGER_LISTENADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct tl_listen_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64];		/* as messages show it: "127.0.0.1:9100", "[::1]:9100" */
};

/*
 * "IPV4:PORT", "[IPV6]:PORT", "localhost:PORT" or ":PORT" (every IPv4
 * and IPv6 address), PORT 1-65535.  False on anything else, with why
 * (one phrase) in why.
 */
bool tl_listen_parse(const char *s, struct tl_listen_addr *out, char *why, size_t whylen);

#endif /* TCPLINGER_LISTENADDR_H */
