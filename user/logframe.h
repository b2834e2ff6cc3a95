/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Transition-log container, the part the writer (logwrite.c) and the
 * reader (logread.c) share: a file header, then blocks, each a header
 * and the DEFLATE stream of one raw block (logcodec.h), both CRC-checked
 * so that a reader can skip what is damaged and find the next block.
 * See README.md, "Log file format".
 */
#ifndef TCPLINGER_LOGFRAME_H
#define TCPLINGER_LOGFRAME_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "logfile.h"
#include "varint.h"

#define FILE_MAGIC	"TCPLNGR"	/* with its NUL: 8 bytes */
#define FILE_MAGIC_LEN	8
#define FHDR_FIXED	16	/* magic, u16 version, u16 flags, u32 fields length */
#define FIELDS_MAX	65536
#define BLOCK_MAGIC	"TLBK"
#define BHDR_LEN	32
#define BHDR_CRC_AT	28	/* the header's own CRC covers the bytes before */

/* File header fields: u16 tag, u16 length, the value. */
enum { TAG_HOSTNAME = 1, TAG_KERNEL, TAG_OPTIONS, TAG_BOOT_TO_REAL, TAG_CREATED };

/* A block header but its magic and its own CRC. */
struct bhdr {
	uint32_t seq, raw_len, comp_len, nevents, crc, ids;
};

/* Writes the header's magic and fields; its CRC is the caller's. */
static inline void bhdr_put(uint8_t *b, const struct bhdr *bh)
{
	memcpy(b, BLOCK_MAGIC, 4);
	tl_put32(b + 4, bh->seq);
	tl_put32(b + 8, bh->raw_len);
	tl_put32(b + 12, bh->comp_len);
	tl_put32(b + 16, bh->nevents);
	tl_put32(b + 20, bh->crc);
	tl_put32(b + 24, bh->ids);
}

static inline void bhdr_get(const uint8_t *b, struct bhdr *bh)
{
	bh->seq = tl_get32(b + 4);
	bh->raw_len = tl_get32(b + 8);
	bh->comp_len = tl_get32(b + 12);
	bh->nevents = tl_get32(b + 16);
	bh->crc = tl_get32(b + 20);
	bh->ids = tl_get32(b + 24);
}

static inline void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

#endif /* TCPLINGER_LOGFRAME_H */
