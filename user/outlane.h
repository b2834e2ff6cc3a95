/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The output lane: JSON lifecycles formatted and written on a thread of
 * their own while the engine goes on.  The lines the caller's thread
 * formats itself (summaries, connect() errors...) queue behind them as
 * text, so the stream keeps its order.  A replay's output is its biggest
 * cost after the engine's; this moves it to the other core.
 */
#ifndef TCPLINGER_OUTLANE_H
#define TCPLINGER_OUTLANE_H

#include <stddef.h>
#include "output.h"

struct tl_outlane;

/* A lane for out, formatting with a copy of it as it is now (its cgnames
 * shared: tl_outlane_drain before changing them).  NULL when no thread or
 * memory could be had: the caller writes as before. */
struct tl_outlane *tl_outlane_start(const struct tl_output *out);
void tl_outlane_lifecycle(struct tl_outlane *l, const struct tl_lifecycle *lc);
void tl_outlane_text(struct tl_outlane *l, const char *buf, size_t len);
/* Returns once everything queued is written to out's FILE. */
void tl_outlane_drain(struct tl_outlane *l);
/* Drains, ends the thread, frees l. */
void tl_outlane_stop(struct tl_outlane *l);

#endif /* TCPLINGER_OUTLANE_H */
