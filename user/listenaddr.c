// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "listenaddr.h"

static bool parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

bool tl_listen_parse(const char *s, struct tl_listen_addr *out, char *why, size_t whylen)
{
	const char *colon = strrchr(s, ':');
	struct sockaddr_in *in4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;
	char host[INET6_ADDRSTRLEN + 2];
	size_t hlen;
	uint16_t port;

	memset(out, 0, sizeof(*out));
	if (!colon || strchr(colon, ']')) {
		snprintf(why, whylen, "no port: expected ADDR:PORT such as 127.0.0.1:9100");
		return false;
	}
	if (!parse_port(colon + 1, &port)) {
		snprintf(why, whylen, "expected a port 1-65535 after the last ':'");
		return false;
	}
	hlen = (size_t)(colon - s);
	if (hlen >= sizeof(host)) {
		snprintf(why, whylen, "not an IP address");
		return false;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (!hlen) {		/* every address, IPv6 socket taking IPv4 too */
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_any;
	} else if (host[0] == '[' && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		in6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1) {
			snprintf(why, whylen, "not an IPv6 address between [ ]");
			return false;
		}
	} else {
		in4->sin_family = AF_INET;
		if (!strcmp(host, "localhost"))
			strcpy(host, "127.0.0.1");
		if (inet_pton(AF_INET, host, &in4->sin_addr) != 1) {
			snprintf(why, whylen, strchr(host, ':') ? "an IPv6 address goes between [ ], "
				 "as in [::1]:9100" : "not an IPv4 address (or [IPv6])");
			return false;
		}
	}
	if (out->ss.ss_family == AF_INET6) {
		in6->sin6_port = htons(port);
		out->len = sizeof(*in6);
	} else {
		in4->sin_port = htons(port);
		out->len = sizeof(*in4);
	}
	snprintf(out->text, sizeof(out->text), "%s:%u", hlen ? host[0] == '[' ?
		 strcat(host, "]") : host : "", port);
	return true;
}
