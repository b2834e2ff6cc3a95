/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Transition logs: the decoded event stream written compactly for replay
 * on any machine.  Layout (all integers little-endian): see README.md,
 * "Log file format".
 */
#ifndef TCPLINGER_LOGFILE_H
#define TCPLINGER_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../bpf/events.h"

#define TL_LOG_VERSION 2
#define TL_LOG_VERSION_MIN 1	/* the oldest this reader still reads */
/* The most bytes a TL_EV_STACK's blob may have. */
#define TL_LOG_BLOB_MAX 8192

/* What only the recording host knows. */
struct tl_log_header {
	uint32_t version;		/* TL_LOG_VERSION; filled by the reader */
	char hostname[256];
	char kernel[128];		/* uname release */
	char options[512];		/* the recording's command line */
	int64_t boot_to_real_ns;	/* CLOCK_BOOTTIME + this = wall clock */
	uint64_t created_real_ns;	/* wall clock when recording began */
};
/* The reader refuses a header whose boot_to_real_ns is further from 0. */
#define TL_BOOT_TO_REAL_MAX (INT64_C(1) << 62)

struct tl_log_writer;
struct tl_log_reader;

/* path "-" writes to stdout.  Files are created 0600.  max_size 0 = no cap.
 * Errors: negative errno and one line in err. */
int tl_logw_open(struct tl_log_writer **out, const char *path, const struct tl_log_header *h,
		 uint64_t max_size, char *err, size_t errlen);
/* Buffers one event (a block is written once its buffer is full).
 * Returns 0, -EFBIG once max_size would be passed (nothing more is
 * written), or a negative errno from writing (e.g. -ENOSPC). */
int tl_logw_add(struct tl_log_writer *w, const struct tl_event *ev);
/* The same for an event that carries bytes of its own (TL_EV_STACK):
 * len at most TL_LOG_BLOB_MAX. */
int tl_logw_add_blob(struct tl_log_writer *w, const struct tl_event *ev, const void *blob,
		     size_t len);
/* Compresses and writes what is buffered as one block (no-op if empty). */
int tl_logw_flush(struct tl_log_writer *w);
uint64_t tl_logw_bytes(const struct tl_log_writer *w);	/* written so far */
uint64_t tl_logw_events(const struct tl_log_writer *w);
/* Flushes and closes; returns the first error met, if any. */
int tl_logw_close(struct tl_log_writer *w);

/* Problems the reader survives (bad CRC, truncation) are passed to warn
 * as one line each; reading goes on. */
typedef void (*tl_log_warn_fn)(const char *msg, void *ctx);

int tl_logr_open(struct tl_log_reader **out, const char *path, struct tl_log_header *h,
		 tl_log_warn_fn warn, void *ctx, char *err, size_t errlen);
/* The same from memory (for tests and fuzzing); data must outlive r. */
int tl_logr_open_mem(struct tl_log_reader **out, const void *data, size_t len,
		     struct tl_log_header *h, tl_log_warn_fn warn, void *ctx,
		     char *err, size_t errlen);
/* 1: *ev holds the next event; 0: end of log; negative errno: cannot go on. */
int tl_logr_next(struct tl_log_reader *r, struct tl_event *ev);
/* The same for up to max events at once: how many evs holds, 0 at the end
 * of the log, or a negative errno (after the events before it).  A
 * TL_EV_STACK is the last of its batch. */
int tl_logr_read(struct tl_log_reader *r, struct tl_event *evs, int max);
/* The bytes of the last event just returned if it is a TL_EV_STACK, valid
 * until the next call; NULL with *len 0 if it has none. */
const void *tl_logr_blob(const struct tl_log_reader *r, size_t *len);
/* true when the next read may have to wait for input that is not there
 * yet (a pipe's writer still at work); never for a file or memory. */
bool tl_logr_would_wait(const struct tl_log_reader *r);
/* Sends r's warnings to warn and ctx from now on; *old and *old_ctx get
 * where they went. */
void tl_logr_redirect_warn(struct tl_log_reader *r, tl_log_warn_fn warn, void *ctx,
			   tl_log_warn_fn *old, void **old_ctx);
/* Bytes of the input consumed so far (header and blocks read). */
uint64_t tl_logr_offset(const struct tl_log_reader *r);
void tl_logr_close(struct tl_log_reader *r);

#endif /* TCPLINGER_LOGFILE_H */
