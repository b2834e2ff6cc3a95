/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Lifecycle engine: rebuilds each TCP connection's life from decoded
 * tl_events.  Pure C, no BPF: live tracing and replay feed it the same
 * stream, so a session gives the same report both ways.  Decisions depend
 * only on the events (and their timestamps), never on the wall clock.
 */
#ifndef TCPLINGER_LIFECYCLE_H
#define TCPLINGER_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../bpf/events.h"

/* Pseudo-state that closes every lifecycle ("CLOSED" in output). */
#define TL_STATE_CLOSED TL_TCP_MAX_STATES
/* States kept per lifecycle; a longer path folds into the last slot. */
#define TL_MAX_PATH 8

struct tl_tuple {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint16_t sport;		/* local */
	uint16_t dport;		/* remote */
	uint32_t netns;
	uint8_t saddr[16];
	uint8_t daddr[16];
};

/* Who owns the socket, learnt from process-context events only. */
struct tl_owner {
	int32_t pid;		/* -1: not known (yet) */
	char comm[TL_COMM_LEN];
	bool none;		/* pid -1 because no process holds it: a timewait
				 * sock or an orphan that predates the trace */
};

/* How a lifecycle ended: the enum's tail, the name users see, and why.
 * One list makes both, so they cannot drift apart. */
#define TL_ENDS(X)							\
	X(NONE, "none")			/* still open */			\
	X(CLOSED, "closed")		/* closed without TIME_WAIT on this side */ \
	X(RESET, "reset")		/* an RST (sent or received) ended it */ \
	X(TW_EXPIRED, "tw_expired")	/* TIME_WAIT ran its full course */	\
	X(TW_KILLED, "tw_killed")	/* tw sock killed early: SYN/connect	\
					 * reuse, RST, netns exit */		\
	X(FIN_TIMEOUT, "fin_timeout")	/* orphaned FIN_WAIT2 gave up after	\
					 * tcp_fin_timeout */			\
	X(TW_OVERFLOW, "tw_overflow")	/* no timewait bucket left		\
					 * (tcp_max_tw_buckets) */		\
	X(REFUSED, "refused")		/* connect() answered by an RST */	\
	X(SYN_TIMEOUT, "syn_timeout")	/* connect(): no answer to the SYNs	\
					 * (tcp_syn_retries) */			\
	X(CONNECT_FAILED, "connect_failed") /* connect() failed before or	\
					 * without an answer: no local port	\
					 * left (EADDRNOTAVAIL), ICMP		\
					 * unreachable, ... */			\
	X(UNKNOWN, "unknown")		/* tracer stopped, evicted or events lost */

#define TL_END_ENUM(id, name) TL_END_##id,
enum tl_end {
	TL_ENDS(TL_END_ENUM)
	TL_END_MAX,
};
#undef TL_END_ENUM

/* Holders and closers kept per socket; more are counted, not kept. */
#define TL_USAGE_MAX 4

struct tl_proc_fd {
	int32_t pid;
	int32_t fd;		/* -1: not known */
	int32_t ppid;		/* closers: the closing process's parent; else 0 */
	uint32_t cmdline;	/* holders: a stack reference with the command line */
	char comm[TL_COMM_LEN];
};

/* What process-context hooks and /proc scans told about the socket's
 * users: the ground for leak hunting.  Stack references are those of
 * TL_EV_STACK (0 = none). */
struct tl_usage {
	uint8_t created_by;	/* TL_OWN_CONNECT, TL_OWN_ACCEPT or 0: unknown */
	bool eof_seen;		/* the application read the peer's FIN */
	uint32_t create_stack;
	int32_t create_tid;
	int32_t create_fd;	/* accept()'s fd, -1 if unknown */
	uint32_t eof_stack;
	uint64_t eof_ns;
	struct tl_proc_fd last;	/* last process to send/recv (pid -1: none) */
	int32_t last_tid;
	uint64_t last_ns;
	int nclosers;		/* close() of a shared copy, all counted */
	struct tl_proc_fd closers[TL_USAGE_MAX];
	uint64_t holders_ns;	/* the scan the holders below come from */
	int nholders;
	struct tl_proc_fd holders[TL_USAGE_MAX];
};

struct tl_state_span {
	uint8_t state;		/* enum tl_tcp_state or TL_STATE_CLOSED */
	uint64_t ns;		/* time spent in it */
};

/* One transition as the user should see it: TIME_WAIT made visible. */
struct tl_transition {
	uint64_t ts_ns;
	uint64_t conn;
	struct tl_tuple tuple;
	struct tl_owner owner;
	uint8_t old_state;
	uint8_t new_state;	/* TL_TCP_CLOSE when the lifecycle ends */
	uint64_t in_old_ns;	/* time spent in old_state; 0 if unknown */
	uint64_t cgroup;	/* the socket's cgroup v2 id; 0 if unknown */
};

struct tl_lifecycle {
	uint64_t conn;		/* stable id, sequential per session */
	struct tl_tuple tuple;
	struct tl_owner owner;
	uint64_t start_ns;	/* entry into the first state (CLOCK_BOOTTIME) */
	uint64_t end_ns;	/* end, or "now" for one still open */
	int nstates;
	struct tl_state_span states[TL_MAX_PATH + 1];	/* ends with CLOSED if ended */
	uint64_t fin_wait2_ns;	/* full socket + orphan tw FIN_WAIT2 substate */
	uint64_t close_wait_ns;
	uint64_t time_wait_ns;
	enum tl_end end;
	bool complete;		/* end observed with a known reason */
	bool seeded;		/* existed before tracing began */
	bool start_exact;	/* false: start_ns is an upper bound (age a lower bound) */
	bool gap;		/* events were missed for it */
	bool evicted;		/* pushed out by the memory cap */
	uint64_t cgroup;	/* the socket's cgroup v2 id; 0 if unknown */
	const struct tl_usage *usage;	/* NULL if none seen; valid during the callback */
};

struct tl_engine_sink {
	void (*transition)(const struct tl_transition *t, void *ctx);	/* may be NULL */
	void (*lifecycle)(const struct tl_lifecycle *lc, void *ctx);	/* may be NULL */
	void *ctx;
};

struct tl_engine_opts {
	size_t max_conns;	/* cap on tracked connections; 0 = default */
	uint64_t grace_ns;	/* wait for late RST / re-arm before ending; 0 = default */
	bool listeners;		/* report listening sockets' lifecycles too */
	bool usage;		/* keep tl_usage records (leak hunting); else
				 * owner events only name the owner */
	long pid;		/* only what this process owns reaches the sink
				 * (tl_engine_each_open() aside); 0 = all */
	/* --cgroup: only sockets whose cgroup id this accepts reach the sink
	 * and tl_engine_each_open(), and a timewait sock whose full socket
	 * was not followed (its cgroup is not known) is not tracked at all.
	 * NULL: any. */
	bool (*cgroup_wanted)(uint64_t cgroup, void *ctx);
	void *cgroup_ctx;
};

struct tl_engine_stats {
	uint64_t events;
	uint64_t open;		/* connections tracked now */
	uint64_t peak_open;
	uint64_t ended;		/* lifecycles reported */
	uint64_t evicted;	/* lifecycles pushed out by max_conns */
	uint64_t lost;		/* events the kernel dropped (from TL_EV_LOST) */
	uint64_t gaps;		/* transitions that did not follow from the known state */
};

struct tl_engine;

struct tl_engine *tl_engine_new(const struct tl_engine_opts *opts,
				const struct tl_engine_sink *sink);
void tl_engine_free(struct tl_engine *e);
/* Events should come in ring-buffer order; small ts disorder is fine. */
void tl_engine_feed(struct tl_engine *e, const struct tl_event *ev);
/* End of stream: settle what is pending, then report every lifecycle
 * still open as incomplete (end unknown) with its age up to now_ns. */
void tl_engine_finish(struct tl_engine *e, uint64_t now_ns);
void tl_engine_stats(const struct tl_engine *e, struct tl_engine_stats *out);
/* Calls fn for every connection open now (not listeners), oldest first,
 * as if it ended at now_ns; only those process pid owns if pid > 0 (left
 * out before anything is built for them); nothing changes. */
void tl_engine_each_open(struct tl_engine *e, uint64_t now_ns, long pid,
			 void (*fn)(const struct tl_lifecycle *lc, void *ctx), void *ctx);
/* Whether a timewait sock in substate FIN_WAIT2 is tracked: on its peer's
 * FIN it turns TIME_WAIT, and the only trace of that, its timer's re-arm,
 * is not made when the new expiry falls in the timer's wheel bucket.  Only
 * a fresh look at the kernel's sockets (a refresh seed) then tells. */
bool tl_engine_tw_in_fin_wait2(const struct tl_engine *e);
/* Time of the newest /proc holder scan (TL_EV_SCAN), 0 if none: holders
 * from an older one are stale. */
uint64_t tl_engine_last_scan(const struct tl_engine *e);

const char *tl_state_name(int state);	/* "ESTABLISHED", ..., "CLOSED" */
const char *tl_end_name(enum tl_end end);	/* "closed", "reset", ... */

#endif /* TCPLINGER_LIFECYCLE_H */
