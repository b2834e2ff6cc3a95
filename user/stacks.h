/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Symbolized user stacks by reference.  A live run interns each stack
 * once and logs it as a TL_EV_STACK; a replay learns the same references
 * from the log, so both report the same code paths.  A stack's bytes (its
 * "blob") are the command line of the process it was taken in, then each
 * frame, every string NUL-terminated.
 */
#ifndef TCPLINGER_STACKS_H
#define TCPLINGER_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TL_STACKS_MAX (1u << 20)	/* references above are refused */
/* Stacks kept by default: every distinct (command line, stack) costs up
 * to a few KiB and a long run sees ever more (a process title per
 * connection), so past the cap they are refused and counted. */
#define TL_STACKS_KEEP 16384

struct tl_stack {
	const char *cmdline;	/* "" if unknown */
	int nframes;
	const char *const *frames;
};

struct tl_stacks;

struct tl_stacks *tl_stacks_new(void);
void tl_stacks_free(struct tl_stacks *t);
/* Stores blob as reference ref (replay); equal blobs are kept once.
 * Returns 0, or -EINVAL for a malformed blob or a reference out of range,
 * -ENOSPC past the limit, -ENOMEM. */
int tl_stacks_add(struct tl_stacks *t, uint32_t ref, const void *blob, size_t len);
/* The reference of blob, stored under a new one if unseen (*is_new).
 * Returns 0 when it cannot be stored. */
uint32_t tl_stacks_intern(struct tl_stacks *t, const void *blob, size_t len, bool *is_new);
/* Caps the memory kept (blobs, frames, references) at about bytes; what
 * would pass it is refused and counted.  0: no cap (the default). */
void tl_stacks_set_limit(struct tl_stacks *t, size_t bytes);
size_t tl_stacks_bytes(const struct tl_stacks *t);	/* memory kept now */
uint64_t tl_stacks_refused(const struct tl_stacks *t);	/* stacks refused by the cap */
/* At most max stacks kept (default TL_STACKS_KEEP); more are refused. */
void tl_stacks_set_max(struct tl_stacks *t, uint32_t max);
bool tl_stacks_full(const struct tl_stacks *t);
/* Counts a stack not kept because the store is full (the store counts
 * those it refuses itself). */
void tl_stacks_note_drop(struct tl_stacks *t);
uint64_t tl_stacks_dropped(const struct tl_stacks *t);
/* Says on stderr how many stacks were not kept, if any. */
void tl_stacks_report_dropped(uint64_t dropped, uint32_t max);
/* NULL if unknown (never stored, or its log block was lost). */
const struct tl_stack *tl_stacks_get(const struct tl_stacks *t, uint32_t ref);
/* Writes the blob of cmdline and frames into buf (at most cap bytes,
 * dropping outer frames that do not fit); returns its length. */
size_t tl_stack_blob(char *buf, size_t cap, const char *cmdline, char *const *frames, int n);

#endif /* TCPLINGER_STACKS_H */
