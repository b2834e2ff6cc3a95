/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Port pressure per destination (netns, family, daddr, dport): the local
 * ports in use towards it (its open lifecycles, TIME_WAIT included)
 * against the namespace's ephemeral range, the connect() errors and the
 * pids behind them, and advice drawn from the namespace's sysctls and
 * from what was measured only.  A destination is reported in a summary
 * when it holds half of its range or had a connect() error since the
 * last one.
 */
#ifndef TCPLINGER_PORTS_H
#define TCPLINGER_PORTS_H

#include <stdbool.h>
#include <stdint.h>
#include "../bpf/events.h"
#include "lifecycle.h"
#include "netsysctl.h"

struct tl_textbuf;

#define TL_PORTS_PIDS 4		/* pids listed per destination */

struct tl_dest {
	uint32_t netns;
	uint8_t family;
	uint16_t dport;
	uint8_t daddr[16];
};

struct tl_dest_pid {
	uint32_t pid;
	char comm[TL_COMM_LEN];
	uint64_t errors;
	uint64_t sockets;	/* open towards the destination now */
};

/* One destination as a summary reports it. */
struct tl_pressure {
	struct tl_dest dest;
	const struct tl_netsysctl *sysctl;	/* NULL: not known */
	uint64_t in_use, time_wait, fin_wait2;
	uint64_t errors;			/* connect() errors in the summary's span */
	uint64_t bind_errors;			/* the netns's bind() EADDRINUSE, same span */
	uint32_t err_mask;			/* errnos seen (1 << (errno & 31)) */
	struct tl_dest_pid pids[TL_PORTS_PIDS];
	int npids;
};

/* Whether pr holds half of its namespace's local port range or more (the
 * level at which it is reported); false when the range is not known. */
bool tl_pressure_half_used(const struct tl_pressure *pr);

struct tl_ports;

struct tl_ports *tl_ports_new(void);
void tl_ports_free(struct tl_ports *p);
/* Takes TL_EV_SYSCTL and TL_EV_CONNECT_ERR; ignores the rest. */
void tl_ports_feed(struct tl_ports *p, const struct tl_event *ev);
/* Whether a report could show anything (sysctls or errors seen). */
bool tl_ports_active(const struct tl_ports *p);
/* The destinations to report now: fn for each, in address order, over
 * the open lifecycles of e.  final: the errors of the whole trace, else
 * those since the last call, which starts a new span. */
void tl_ports_report(struct tl_ports *p, struct tl_engine *e, uint64_t now_ns, bool final,
		     void (*fn)(const struct tl_pressure *pr, void *ctx), void *ctx);

/* The advice for a destination, as one line of text. */
void tl_ports_advice(struct tl_textbuf *tb, const struct tl_pressure *pr);
/* {"type":"port_pressure",...} without the newline. */
void tl_pressure_json(struct tl_textbuf *tb, const struct tl_pressure *pr, bool final);
/* A text block, newline-terminated. */
void tl_pressure_text(struct tl_textbuf *tb, const struct tl_pressure *pr);

/* Pieces the connect() error lines share: an address (IPv4 or IPv6), an
 * endpoint "addr:port" ("[addr]:port" for IPv6), and ,"key":v. */
void tl_put_addr(struct tl_textbuf *tb, uint8_t family, const uint8_t *addr);
void tl_put_endpoint(struct tl_textbuf *tb, uint8_t family, const uint8_t *addr, uint16_t port);
void tl_put_json_u64(struct tl_textbuf *tb, const char *key, uint64_t v);

#endif /* TCPLINGER_PORTS_H */
