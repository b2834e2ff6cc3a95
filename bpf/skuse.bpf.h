/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per socket, for leak hunting: who did its last send/recv, and whether
 * the application has read its EOF.  Included by tcplinger.bpf.c.
 *
 * Socket storage would do, but costs an allocation per socket and its
 * free with the socket, on every connection of a busy server.  Most
 * sockets instead keep their sk_use in a slot of an array chosen by their
 * cookie (unique for the boot, never reused): the slot is theirs while it
 * holds their cookie, and is given back once the application has closed
 * the socket, or once that socket is found gone (its cookie no longer at
 * its address: a live socket's cookie never changes).  A socket whose slot
 * is taken keeps its sk_use in socket storage.
 */
#ifndef TCPLINGER_SKUSE_BPF_H
#define TCPLINGER_SKUSE_BPF_H

struct sk_use {
	__u32 tid;
	__u32 eof;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sk_use);
} sk_use SEC(".maps");

#define SK_USE_SLOTS	65536	/* a power of two; the loader shrinks it without leak hunting */

struct sk_use_slot {
	__u64 cookie;		/* 0: free */
	__u64 addr;		/* the socket's address */
	struct sk_use use;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SK_USE_SLOTS);
	__type(key, __u32);
	__type(value, struct sk_use_slot);
} sk_use_slots SEC(".maps");

static __always_inline struct sk_use_slot *sk_use_slot(__u64 cookie)
{
	__u32 i = (__u32)cookie & (SK_USE_SLOTS - 1);

	return bpf_map_lookup_elem(&sk_use_slots, &i);
}

/* Whether the slot's socket is certainly gone: its memory now holds
 * another cookie (sock memory is only reused for socks; a failed read is
 * memory given back).  Freed but not reused yet looks alive. */
static __always_inline bool sk_use_slot_stale(const struct sk_use_slot *s)
{
	__u64 cookie = 0;

	if (!s->cookie)
		return true;
	if (bpf_probe_read_kernel(&cookie, sizeof(cookie), (const void *)(s->addr +
			bpf_core_field_offset(struct sock_common, skc_cookie))))
		return true;
	return cookie != s->cookie;
}

/* The sk_use of sk (zeroed the first time), or NULL. */
static __always_inline struct sk_use *sk_use_of(struct sock *sk)
{
	__u64 cookie = bpf_get_socket_cookie(sk);
	struct sk_use_slot *s = sk_use_slot(cookie);
	struct sk_use *u;

	if (!s)
		return NULL;
	if (s->cookie == cookie)
		return &s->use;
	u = bpf_sk_storage_get(&sk_use, sk, 0, 0);
	if (u)
		return u;
	if (!sk_use_slot_stale(s))
		return bpf_sk_storage_get(&sk_use, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	/* Two sockets claiming one free slot at once: the loser finds it
	 * taken on its next send/recv and starts over in socket storage,
	 * its first use reported again -- never one use too few. */
	s->use.tid = 0;
	s->use.eof = 0;
	addr_via(&s->addr, sk);
	s->cookie = cookie;
	return &s->use;
}

/* sk can no longer be sent on or read from: its slot is free again. */
static __always_inline void sk_use_release(const struct sock *sk)
{
	__u64 cookie = sk->__sk_common.skc_cookie.counter;
	struct sk_use_slot *s;

	if (!cookie)
		return;		/* never given one: never used */
	s = sk_use_slot(cookie);
	if (s && s->cookie == cookie)
		s->cookie = 0;
}

#endif /* TCPLINGER_SKUSE_BPF_H */
