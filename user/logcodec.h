/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Transition-log codec, the part the writer (logwrite.c) and the reader
 * (logread.c) share: the layout's constants, the per-block dictionaries
 * and small helpers.  A log is a header then independent blocks, each a
 * DEFLATE stream of compactly encoded events; every piece of delta and
 * dictionary state restarts with each block, so any block can be decoded
 * (or lost) on its own.  See README.md, "Log file format".
 */
#ifndef TCPLINGER_LOGCODEC_H
#define TCPLINGER_LOGCODEC_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "idmap.h"
#include "logfile.h"
#include "varint.h"

#define FILE_MAGIC	"TCPLNGR"	/* with its NUL: 8 bytes */
#define FILE_MAGIC_LEN	8
#define FHDR_FIXED	16	/* magic, u16 version, u16 flags, u32 fields length */
#define FIELDS_MAX	65536
#define BLOCK_MAGIC	"TLBK"
#define BHDR_LEN	32

#define RAW_CAP		(1u << 20)	/* a block's raw length is never above */
#define BLOCK_TARGET	(256u << 10)	/* the writer cuts blocks here */
#define EV_MAX		256	/* > the most bytes one event encodes to */
#define RAW_PAD		EV_MAX	/* zeroed slack after decoded data */
#define READ_CHUNK	(256u << 10)

/* Per-block dictionary sizes. */
#define SLOT_CAP	65536
#define TUPLE_CAP	65536
#define ADDR_CAP	4096
#define NETNS_CAP	1024
#define COMM_SLOTS	256
#define PID_MRU		3
#define RECENT_BITS	14	/* writer's cache of sockets' newest slots */

enum { TAG_HOSTNAME = 1, TAG_KERNEL, TAG_OPTIONS, TAG_BOOT_TO_REAL, TAG_CREATED };

/*
 * A block's raw data is one table of section lengths then the sections:
 * each field kind goes to a section of its own, as like things compress
 * best together (zlib's Huffman tables are per run of input).
 */
enum { S_HEAD, S_SOCK, S_TUPLE, S_MORE, S_AUX, S_TASK, S_TS, S_BLOB, NSEC };
#define NSEC_V1		S_BLOB	/* version 1 logs have no blob section */
#define SECTAB_MAX	(NSEC * 3)	/* varint lengths, each < 2^21 */

/* Event head byte: low nibble the type (15: a type byte follows). */
#define H_TYPE_ESC	0x0f
/* H_SOCK and H_REF: a new socket for this block; the socket and tuple of
 * an earlier slot; only H_REF: an earlier slot's socket, a tuple follows. */
#define H_SOCK		0x10
#define H_REF		0x20
#define H_AUX		0x40	/* aux varint */
#define H_MORE		0x80	/* states byte and flags varint */

/* In-task byte. */
#define T_PID_MASK	0x03	/* 0: pid varint; n: n-th most recent pid */
#define T_TID_PID	0x04	/* tid == pid */
#define T_TID_LAST	0x08	/* tid == the last in-task event's tid */
#define T_COMM		0x10	/* comm as last time for this pid */
#define T_RESERVED	0xe0

#define STATES_ESC	0xff	/* old and new state follow as bytes */

/* The part of an event that the tuple dictionary holds. */
struct tuple {
	uint8_t saddr[16];
	uint8_t daddr[16];
	uint32_t netns;
	uint16_t sport;
	uint16_t dport;
	uint8_t family;
	uint8_t zero[3];	/* keeps memcmp/hash well defined */
};

/* One per event naming a socket, newest last. */
struct slot {
	uint32_t seq;		/* reader only */
	uint32_t tuple;		/* index in the tuple dictionary */
	uint32_t state;		/* new_state of the event, predicts the next old_state */
};

struct comm_ent {
	uint32_t pid;
	uint32_t valid;
	char comm[TL_COMM_LEN];
};

/* pid/tid/comm state shared by encoder and decoder. */
struct taskctx {
	uint32_t mru[PID_MRU];
	uint32_t nmru;
	uint32_t last_tid;
	struct comm_ent comm[COMM_SLOTS];
};

/* Indices into an entry array, by content: open addressing, idx + 1. */
struct ixhash {
	uint32_t *tab;
	uint32_t mask;
};

static inline uLong comp_cap(void)
{
	return compressBound(RAW_CAP);
}

static inline void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- shared helpers ---- */

static inline uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL, w;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	if (n - i >= 4) {
		uint32_t w4;

		memcpy(&w4, b + i, 4);
		h = (h ^ w4) * 0xc4ceb9fe1a85ec53ULL;
	}
	return h ^ (h >> 29);
}

static inline int ix_init(struct ixhash *h, uint32_t cap)
{
	h->tab = calloc((size_t)cap * 2, sizeof(*h->tab));
	h->mask = cap * 2 - 1;
	return h->tab ? 0 : -ENOMEM;
}

static inline void ix_reset(struct ixhash *h)
{
	memset(h->tab, 0, ((size_t)h->mask + 1) * sizeof(*h->tab));
}

/* The table cell holding key, or the empty cell where it would go. */
static inline uint32_t *ix_find(struct ixhash *h, const void *ents, size_t esz,
				const void *key)
{
	uint32_t i = (uint32_t)hash_bytes(key, esz) & h->mask;
	const uint8_t *e = ents;

	for (; h->tab[i]; i = (i + 1) & h->mask) {
		if (!memcmp(e + (size_t)(h->tab[i] - 1) * esz, key, esz))
			break;
	}
	return &h->tab[i];
}

static inline uint32_t recent_of(uint64_t sk_id)
{
	return (uint32_t)((sk_id * 0x9e3779b97f4a7c15ULL) >> (64 - RECENT_BITS));
}

static inline void task_reset(struct taskctx *t)
{
	memset(t, 0, sizeof(*t));
}

static inline int mru_find(const struct taskctx *t, uint32_t pid)
{
	for (uint32_t i = 0; i < t->nmru; i++)
		if (t->mru[i] == pid)
			return (int)i;
	return -1;
}

/* Moves entry i (or a new pid when i < 0) to the front. */
static inline void mru_touch(struct taskctx *t, int i, uint32_t pid)
{
	if (i < 0)
		i = t->nmru < PID_MRU ? (int)t->nmru++ : PID_MRU - 1;
	for (; i > 0; i--)
		t->mru[i] = t->mru[i - 1];
	t->mru[0] = pid;
}

static inline struct comm_ent *comm_slot(struct taskctx *t, uint32_t pid)
{
	return &t->comm[(pid * 2654435761u) >> 24];
}

static inline bool is_v4(const uint8_t *a)
{
	static const uint8_t zero[12];

	return !memcmp(a + 4, zero, sizeof(zero));
}

static inline void tuple_of(const struct tl_event *ev, struct tuple *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->saddr, ev->saddr, 16);
	memcpy(t->daddr, ev->daddr, 16);
	t->netns = ev->netns;
	t->sport = ev->sport;
	t->dport = ev->dport;
	t->family = ev->family;
}

static inline bool tuple_empty(const struct tuple *t)
{
	static const struct tuple zero;

	return !memcmp(t, &zero, sizeof(zero));
}

static inline void tuple_mirror(const struct tuple *t, struct tuple *m)
{
	*m = *t;
	memcpy(m->saddr, t->daddr, 16);
	memcpy(m->daddr, t->saddr, 16);
	m->sport = t->dport;
	m->dport = t->sport;
}

static inline uint8_t state_pred(const struct slot *s)
{
	return s->state < 16 ? (uint8_t)s->state : 0;
}

#endif /* TCPLINGER_LOGCODEC_H */
