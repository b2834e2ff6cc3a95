/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one event layout shared by the BPF collector (bpf/) and user space
 * (user/).  Fixed size so that records can be copied, logged and replayed
 * without any framing of their own.  Both halves are built from this file
 * into one binary (the skeleton embeds the BPF object), so the layout
 * needs no version; logs carry their own (TL_LOG_VERSION), and their
 * encoding of the event types and fields below must not change.
 */
#ifndef TCPLINGER_EVENTS_H
#define TCPLINGER_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* TCP states as the kernel numbers them (include/net/tcp_states.h). */
enum tl_tcp_state {
	TL_TCP_ESTABLISHED = 1,
	TL_TCP_SYN_SENT,
	TL_TCP_SYN_RECV,
	TL_TCP_FIN_WAIT1,
	TL_TCP_FIN_WAIT2,
	TL_TCP_TIME_WAIT,
	TL_TCP_CLOSE,
	TL_TCP_CLOSE_WAIT,
	TL_TCP_LAST_ACK,
	TL_TCP_LISTEN,
	TL_TCP_CLOSING,
	TL_TCP_NEW_SYN_RECV,
	TL_TCP_MAX_STATES,
};

enum tl_event_type {
	/* sock:inet_sock_set_state on a full socket: old_state -> new_state.
	 * ->CLOSE: aux = the socket's error (sk_err, a positive errno), which
	 * tells a refused or timed-out connect() from a plain close.  A birth
	 * (->SYN_SENT, ->SYN_RECV, ->LISTEN): aux = the socket's cgroup v2 id
	 * (tl_aux_cgroup(); 0: unknown), so that it costs no event of its own. */
	TL_EV_STATE = 1,
	/* The timewait sock's tw_timer was armed.  new_state = tw_substate
	 * (TIME_WAIT, or FIN_WAIT2 for an orphan waiting tcp_fin_timeout);
	 * aux = timeout in ns.  TL_F_REARM: an existing tw sock re-armed
	 * (e.g. FIN_WAIT2 substate -> TIME_WAIT when the peer's FIN arrives). */
	TL_EV_TW_START,
	/* The tw timer fired: the tw sock dies now (TIME_WAIT over).
	 * new_state = tw_substate; when TIME_WAIT, aux = time since the timer
	 * was last armed for TIME_WAIT: the kernel re-arms silently when the
	 * new expiry falls in the same wheel bucket (an orphan's FIN_WAIT2
	 * substate turning TIME_WAIT), so this is when TIME_WAIT began. */
	TL_EV_TW_EXPIRE,
	/* The tw timer was deleted before firing.  Followed at once (same CPU)
	 * by a TL_EV_TW_START with TL_F_REARM when it is only a re-arm;
	 * otherwise the tw sock was killed (SYN reuse, RST, netns exit).
	 * aux as for TL_EV_TW_EXPIRE. */
	TL_EV_TW_CANCEL,
	/* tcp:tcp_receive_reset / tcp:tcp_send_reset on a full socket. */
	TL_EV_RESET_RECV,
	TL_EV_RESET_SENT,
	/* A socket that existed when tracing started (iter/tcp).  new_state =
	 * its state (tw sockets: their substate, with TL_F_TW_SOCK); aux = how
	 * long it has been in that state: exact with TL_F_AGE_EXACT, else a
	 * lower bound. */
	TL_EV_SEED,
	/*
	 * From here on the kernel's and user space's types interleave, as
	 * they were added (logs freeze the numbers): TL_EV_USER_ONLY below
	 * tells which user space makes and the kernel never does.
	 */
	TL_EV_TICK,	/* user space: the clock moved on to ts_ns; nothing else happened */
	TL_EV_LOST,	/* user space: aux = events the kernel could not queue (ring full) */
	/* Who uses a socket, seen in process context (pid/tid/comm, always
	 * TL_F_IN_TASK).  old_state = enum tl_own_role (tl_owner_role()),
	 * new_state = the socket's state; aux per role, see there. */
	TL_EV_OWNER,
	/* User space, from /proc: pid/comm hold an fd on the socket; aux as
	 * TL_EV_OWNER's: the low 32 bits a TL_EV_STACK reference holding the
	 * holder's command line (no frames, tl_aux_cmdline()), the high the
	 * fd.  Every HOLDER of one scan has the ts of the TL_EV_SCAN before
	 * it, which replaces what earlier scans said. */
	TL_EV_HOLDER,
	TL_EV_SCAN,	/* user space: a /proc holder scan at ts_ns (no socket) */
	/* User space: a symbolized user stack, aux = its reference (> 0) as
	 * OWNER events use it, pid/comm the process it was taken in; the
	 * frames travel beside the event (the log's blob section). */
	TL_EV_STACK,
	/* iter/tcp, after a full socket's SEED: aux = the inode of its file
	 * (as /proc/PID/fd shows "socket:[inode]").  Kept by the loader to
	 * find holders; never logged or fed to the engine. */
	TL_EV_INODE,
	/* User space, from /proc, after a scan's HOLDER events (same ts): a
	 * thread of a process holding a CLOSE_WAIT socket, as it is now.
	 * pid/tid/comm the thread; new_state its state letter ('S', 'R',
	 * 'D'...); aux: the low 32 bits a TL_EV_STACK reference of its user
	 * stack, whose command-line string is the syscall it is blocked in
	 * ("accept4", "syscall_N"; "" for none), the high 32 bits one of its
	 * Python stack (0: none).  tid 0: aux counts the process's threads
	 * not listed.  Readers that do not know the type skip it. */
	TL_EV_THREAD,
	/* A connect() or bind() that failed with an error worth knowing
	 * (enum tl_call in old_state), in process context (pid/tid/comm,
	 * TL_F_IN_TASK), sk_id 0.  connect(): daddr/dport the destination,
	 * sport the port already bound (0: none); bind(): saddr/sport the
	 * address asked for.  aux = the errno (positive).  Readers that do
	 * not know the type skip it. */
	TL_EV_CONNECT_ERR,
	/* User space: the port sysctls of network namespace netns, read in it
	 * (net.ipv4.*): sport..dport ip_local_port_range, aux packed, see
	 * tl_sysctl_*().  Sent before the first event that needs them, so
	 * that a replay reasons from the same values. */
	TL_EV_SYSCTL,
	/* iter/tcp, after a full socket's SEED (same sk_id and ts): aux = the
	 * socket's cgroup v2 id (the cgroup2 directory's inode number).  Born
	 * sockets carry theirs in their birth STATE instead.  Readers that do
	 * not know the type skip it. */
	TL_EV_CGROUP,
	TL_EV_TYPE_MAX,
};

/* The types only user space makes, as a mask of 1 << type. */
#define TL_EV_USER_ONLY ((1u << TL_EV_TICK) | (1u << TL_EV_LOST) | (1u << TL_EV_HOLDER) | \
			 (1u << TL_EV_SCAN) | (1u << TL_EV_STACK) | (1u << TL_EV_THREAD) | \
			 (1u << TL_EV_SYSCTL))

/* TL_EV_CONNECT_ERR: which call failed (old_state). */
enum tl_call {
	TL_CALL_CONNECT = 1,
	TL_CALL_BIND,
};

/* TL_EV_SYSCTL's aux: ports of the range that ip_local_reserved_ports
 * takes out (bits 0-15), tcp_tw_reuse (16-23), tcp_fin_timeout in seconds
 * (24-39, capped), tcp_max_tw_buckets (40-63, capped). */
#define TL_SYSCTL_AUX(reserved, tw_reuse, fin_timeout, max_tw)				\
	((__u64)((reserved) & 0xffff) | (__u64)((tw_reuse) & 0xff) << 16 |		\
	 (__u64)((fin_timeout) & 0xffff) << 24 | (__u64)((max_tw) & 0xffffff) << 40)

/* TL_EV_OWNER roles.  aux: the low 32 bits a stack reference (0 = none;
 * in the kernel's events a stack map id and a stack window, bpf/unwind.h;
 * in user space and logs a TL_EV_STACK's aux; tl_aux_stack()), the high 32
 * bits an fd where one is named (tl_aux_fd()). */
enum tl_own_role {
	TL_OWN_CONNECT = 1,	/* connect() made it (stack) */
	TL_OWN_ACCEPT,		/* accept()/accept4() returned it (stack, fd) */
	TL_OWN_IO,		/* a send/recv by a task other than the last one */
	TL_OWN_EOF,		/* a recv returned 0: the app saw the peer close (stack) */
	/* close() of one of several fds sharing the socket: it stays open.
	 * aux: the low 32 bits the closing task's parent tgid (tl_aux_ppid()),
	 * the high the fd. */
	TL_OWN_CLOSE_SHARED,
	TL_OWN_ROLE_MAX,
};

/* An OWNER's or HOLDER's aux from its halves (see the accessors below). */
#define TL_OWN_AUX(low, fd)	((__u64)(__u32)(low) | (__u64)(__u32)(fd) << 32)

/* Event flags. */
#define TL_F_IN_TASK	0x0001	/* fired in process context: pid/comm own it */
#define TL_F_ORPHAN	0x0002	/* SOCK_DEAD: the application already closed it */
#define TL_F_TW_FULL	0x0004	/* ->CLOSE while the netns had no timewait bucket left */
#define TL_F_REARM	0x0008	/* TW_START re-arming the tw sock just cancelled */
#define TL_F_AGE_EXACT	0x0010	/* SEED: aux is the exact time in the state */
#define TL_F_TW_SOCK	0x0020	/* SEED: the socket is a timewait sock */
#define TL_F_REFRESH	0x0040	/* SEED (user space): a re-read of sockets already
				 * tracked, to learn silent tw substate changes */
/* TL_EV_STACK (user space) that names a cgroup instead: aux 0 (no stack
 * reference, which readers that do not know the flag refuse), the blob the
 * cgroup's id (8 bytes, little-endian) then its path under the cgroup2
 * mount, so that a replay elsewhere shows the same paths. */
#define TL_F_CGROUP_NAME 0x0080

#define TL_COMM_LEN 16
/* User stack frames kept per stack (frame-pointer walk). */
#define TL_STACK_DEPTH 32

struct tl_event {
	__u64 ts_ns;		/* CLOCK_BOOTTIME */
	__u64 sk_id;		/* opaque id of the socket (full or tw): a keyed
				 * permutation of its address, never the address */
	__u64 aux;		/* per type, see enum tl_event_type */
	__u8 saddr[16];		/* local address; IPv4 in the first 4 bytes */
	__u8 daddr[16];		/* remote address */
	__u16 sport;		/* local port, host order */
	__u16 dport;		/* remote port, host order */
	__u32 netns;		/* network namespace inode number */
	__u32 pid;		/* tgid of the current task (see TL_F_IN_TASK) */
	__u32 tid;
	__u8 type;		/* enum tl_event_type */
	__u8 family;		/* AF_INET (2) or AF_INET6 (10) */
	__u8 old_state;		/* enum tl_tcp_state, 0 if not applicable */
	__u8 new_state;
	__u16 flags;		/* TL_F_* */
	__u16 drop_seq;		/* ring events: the low 16 bits of the count of
				 * events dropped (ring full) before this one was
				 * queued; user space turns a change into a
				 * TL_EV_LOST in place.  Not logged. */
	char comm[TL_COMM_LEN];
};
_Static_assert(sizeof(struct tl_event) == 96, "struct tl_event: seeds' record size, and user/wire.c sets each field");

/*
 * The ring's records: a struct tl_event without what would be zero.  A
 * head, then the addresses (4 bytes each for AF_INET, 16 for AF_INET6;
 * the local one first), then, only for events with TL_F_IN_TASK, the task.
 * Most transitions (IPv4, in softirq) take 48 bytes instead of 96: less to
 * clear, fill and carry per event.  user/wire.c widens them again.
 */
struct tl_wire {
	__u64 ts_ns;
	__u64 sk_id;
	__u64 aux;
	__u16 sport;
	__u16 dport;
	__u32 netns;
	__u8 type;
	__u8 family;
	__u8 old_state;
	__u8 new_state;
	__u16 flags;
	__u16 drop_seq;
};

struct tl_wire_task {
	__u32 pid;
	__u32 tid;
	char comm[TL_COMM_LEN];
};

#define TL_WIRE_ADDR4	8	/* saddr, daddr */
#define TL_WIRE_ADDR6	32
/* A record's size: its addresses (v6: AF_INET6), and the task
 * part or not. */
#define TL_WIRE_SIZE(v6, task)							\
	(sizeof(struct tl_wire) + ((v6) ? TL_WIRE_ADDR6 : TL_WIRE_ADDR4) +	\
	 ((task) ? sizeof(struct tl_wire_task) : 0))
_Static_assert(sizeof(struct tl_wire) == 40, "struct tl_wire: no padding");

/*
 * Fields that mean something else per type: read them through these.
 * TL_EV_OWNER's old_state is its role; the aux of TL_EV_OWNER and
 * TL_EV_HOLDER holds an fd in its high half and, in its low half, what
 * the role or type says: a stack reference, a parent tgid or a command
 * line's reference.
 */
static inline __u8 tl_owner_role(const struct tl_event *ev)
{
	return ev->old_state;	/* enum tl_own_role */
}

/* TL_OWN_CONNECT, TL_OWN_ACCEPT, TL_OWN_EOF: where it happened. */
static inline __u32 tl_aux_stack(const struct tl_event *ev)
{
	return (__u32)ev->aux;
}

/* TL_OWN_CLOSE_SHARED: the closing task's parent. */
static inline __u32 tl_aux_ppid(const struct tl_event *ev)
{
	return (__u32)ev->aux;
}

/* TL_EV_THREAD: its user stack and its Python stack. */
static inline __u32 tl_aux_thread_stack(const struct tl_event *ev)
{
	return (__u32)ev->aux;
}

static inline __u32 tl_aux_thread_pystack(const struct tl_event *ev)
{
	return (__u32)(ev->aux >> 32);
}

/* TL_EV_HOLDER: the TL_EV_STACK holding the holder's command line. */
static inline __u32 tl_aux_cmdline(const struct tl_event *ev)
{
	return (__u32)ev->aux;
}

/* The fd named, if any: TL_OWN_ACCEPT, TL_OWN_CLOSE_SHARED, TL_EV_HOLDER. */
static inline __s32 tl_aux_fd(const struct tl_event *ev)
{
	return (__s32)(ev->aux >> 32);
}

/* TL_EV_STATE of a birth (->SYN_SENT, ->SYN_RECV, ->LISTEN) and
 * TL_EV_CGROUP: the socket's cgroup v2 id, 0 if unknown. */
static inline __u64 tl_aux_cgroup(const struct tl_event *ev)
{
	if (ev->type == TL_EV_CGROUP)
		return ev->aux;
	if (ev->type == TL_EV_STATE && (ev->new_state == TL_TCP_SYN_SENT ||
					ev->new_state == TL_TCP_SYN_RECV ||
					ev->new_state == TL_TCP_LISTEN))
		return ev->aux;
	return 0;
}

/* TL_EV_SYSCTL's values. */
static inline __u32 tl_sysctl_reserved(const struct tl_event *ev)
{
	return (__u32)(ev->aux & 0xffff);
}

static inline __u32 tl_sysctl_tw_reuse(const struct tl_event *ev)
{
	return (__u32)(ev->aux >> 16 & 0xff);
}

static inline __u32 tl_sysctl_fin_timeout(const struct tl_event *ev)
{
	return (__u32)(ev->aux >> 24 & 0xffff);
}

static inline __u32 tl_sysctl_max_tw_buckets(const struct tl_event *ev)
{
	return (__u32)(ev->aux >> 40 & 0xffffff);
}

/* Filters set through .rodata before load; 0 means "any". */
#define TL_MAX_PORT_FILTER 8

#endif /* TCPLINGER_EVENTS_H */
