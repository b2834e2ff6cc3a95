/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The ring's records (struct tl_wire, bpf/events.h) widened to events. */
#ifndef TCPLINGER_WIRE_H
#define TCPLINGER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include "events.h"

/* Fills *ev from the ring record data of size bytes; false when the size
 * is not the one its head says (family, TL_F_IN_TASK): *ev is then
 * unspecified. */
bool tl_wire_widen(struct tl_event *ev, const void *data, size_t size);

#endif
