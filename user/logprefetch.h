/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading a transition log ahead: a thread of its own inflates and decodes
 * the blocks into a bounded queue of event batches while the caller runs
 * the engine on the ones before.  What the caller sees is what reading
 * the log with tl_logr_read(r, evs, TL_LOGP_READ) would give, in the same
 * order: the same events, and each of the reader's warnings passed to warn
 * (on the caller's thread) just before the events of the read that met it.
 */
#ifndef TCPLINGER_LOGPREFETCH_H
#define TCPLINGER_LOGPREFETCH_H

#include <stdint.h>
#include "logfile.h"

#define TL_LOGP_READ 64		/* events per tl_logr_read the order is that of */

struct tl_log_prefetch;

/* Takes over reading r until tl_logp_stop, r's warnings still going to
 * the function it was opened with; r stays the caller's to close after.
 * Without a thread (none could be made) it reads on the caller's.
 * Returns 0 or -ENOMEM. */
int tl_logp_start(struct tl_log_prefetch **out, struct tl_log_reader *r);
/* The next events, in *evs until the next call: how many, 0 at the end of
 * the log, or the reader's negative errno (after the events before it).
 * A TL_EV_STACK is the last of its run. */
int tl_logp_read(struct tl_log_prefetch *p, const struct tl_event **evs);
/* tl_logr_blob and tl_logr_offset as they were when the last event
 * tl_logp_read gave was read. */
const void *tl_logp_blob(const struct tl_log_prefetch *p, size_t *len);
uint64_t tl_logp_offset(const struct tl_log_prefetch *p);
/* Stops reading ahead (at any point) and frees p. */
void tl_logp_stop(struct tl_log_prefetch *p);

#endif /* TCPLINGER_LOGPREFETCH_H */
