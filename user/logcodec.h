/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Transition-log raw-block codec: events to the bytes of one block and
 * back (logcodec.c).  It knows nothing of files, CRCs or compression: the
 * container around it (logframe.h, logwrite.c, logread.c) frames, deflates
 * and checks each block.  Every piece of delta and dictionary state
 * restarts with each block, so any block can be decoded (or lost) on its
 * own; only socket numbering runs on, and each block's header says where
 * it stood.  See README.md, "Log file format".
 */
#ifndef TCPLINGER_LOGCODEC_H
#define TCPLINGER_LOGCODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "logfile.h"

#define RAW_CAP		(1u << 20)	/* a block's raw length is never above */
#define BLOCK_TARGET	(256u << 10)	/* the writer cuts blocks here */
#define EV_MAX		256	/* > the most bytes one event encodes to */
#define RAW_PAD		EV_MAX	/* zeroed slack the decoder needs after raw data */

/*
 * A block's raw data is one table of section lengths then the sections:
 * each field kind goes to a section of its own, as like things compress
 * best together (zlib's Huffman tables are per run of input).
 */
enum { S_HEAD, S_SOCK, S_TUPLE, S_MORE, S_AUX, S_TASK, S_TS, S_BLOB, NSEC };
#define NSEC_V1		S_BLOB	/* version 1 logs have no blob section */
#define SECTAB_MAX	(NSEC * 3)	/* varint lengths, each < 2^21 */

/* A built block's raw data in pieces, in order: the section table, then
 * each section.  Valid until the encoder is next used. */
struct tl_blk_raw {
	const uint8_t *part[NSEC + 1];
	size_t len[NSEC + 1];
	size_t total;		/* the block header's raw length */
	uint32_t events;
	uint32_t ids;		/* sockets numbered before this block */
};

struct tl_blkenc;
struct tl_blkdec;

struct tl_blkenc *tl_blkenc_new(void);
void tl_blkenc_free(struct tl_blkenc *e);
/* Starts a new block (socket numbering goes on). */
void tl_blkenc_reset(struct tl_blkenc *e);
/* Whether the block can take ev (and its blob, if any) without its raw
 * data passing limit or a dictionary filling up. */
bool tl_blkenc_fits(const struct tl_blkenc *e, const struct tl_event *ev, const void *blob,
		    size_t blen, size_t limit);
/* Encodes ev; blob (NULL: none) travels with a TL_EV_STACK.  A negative
 * errno leaves the block unusable. */
int tl_blkenc_add(struct tl_blkenc *e, const struct tl_event *ev, const void *blob,
		  size_t blen);
uint32_t tl_blkenc_events(const struct tl_blkenc *e);
/* The block so far, its section table included. */
void tl_blkenc_raw(struct tl_blkenc *e, struct tl_blk_raw *raw);

struct tl_blkdec *tl_blkdec_new(void);
void tl_blkdec_free(struct tl_blkdec *d);
/* Starts decoding raw[0, len), followed by RAW_PAD zero bytes, a block of
 * a log of format version that announced nevents events and ids sockets
 * numbered before it.  false: the section table does not fit the data. */
bool tl_blkdec_start(struct tl_blkdec *d, const uint8_t *raw, size_t len, uint32_t version,
		     uint32_t nevents, uint32_t ids);
/* Whether events are left to decode. */
bool tl_blkdec_more(const struct tl_blkdec *d);
/* Events of the block into evs[*n, max), up to its end or to a
 * TL_EV_STACK, whose bytes *blob and *blen then point to (they stay
 * where they are until the next call).  Returns 0, -EBADMSG for corrupt
 * data or another negative errno. */
int tl_blkdec_read(struct tl_blkdec *d, struct tl_event *evs, int max, int *n,
		   const void **blob, size_t *blen);
uint32_t tl_blkdec_count(const struct tl_blkdec *d);	/* events decoded */
/* Whether every section was read to its very end. */
bool tl_blkdec_consumed(const struct tl_blkdec *d);

#endif /* TCPLINGER_LOGCODEC_H */
